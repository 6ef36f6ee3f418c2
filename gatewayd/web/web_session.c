/*
 * web_session.c - sessions, CSRF tokens and login limits (web_session.h)
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "web_session.h"
#include "xmalloc.h"

/* web_sessions_init - an empty table of max sessions */
void
web_sessions_init(struct web_sessions *s, size_t max, time_t lifetime,
    time_t idle)
{
	s->v = xcalloc(max, sizeof(*s->v));
	s->max = max;
	s->lifetime = lifetime;
	s->idle = idle;
}

/* web_sessions_free - forget every session */
void
web_sessions_free(struct web_sessions *s)
{
	if (s->v != NULL)
		OPENSSL_cleanse(s->v, s->max * sizeof(*s->v));
	free(s->v);
	s->v = NULL;
}

/* web_token - WEB_TOKEN_BYTES random bytes in hex; -1 without randomness */
int
web_token(char out[WEB_TOKEN_LEN + 1])
{
	static const char digits[] = "0123456789abcdef";
	unsigned char r[WEB_TOKEN_BYTES];
	size_t i;

	if (RAND_bytes(r, sizeof(r)) != 1)
		return -1;
	for (i = 0; i < sizeof(r); i++) {
		out[2 * i] = digits[r[i] >> 4];
		out[2 * i + 1] = digits[r[i] & 15];
	}
	out[WEB_TOKEN_LEN] = '\0';
	OPENSSL_cleanse(r, sizeof(r));
	return 0;
}

/* web_session_live - is the slot a session that has not expired? */
static int
web_session_live(const struct web_sessions *s, const struct web_session *e,
    time_t now)
{
	return e->id[0] != '\0' && now - e->created < s->lifetime &&
	    now - e->last < s->idle;
}

/* web_session_new - a fresh session in a free, expired or oldest slot */
struct web_session *
web_session_new(struct web_sessions *s, const char *user, time_t now)
{
	struct web_session *e = &s->v[0];
	size_t i;

	for (i = 0; i < s->max; i++) {
		if (!web_session_live(s, &s->v[i], now)) {
			e = &s->v[i];
			break;
		}
		if (s->v[i].last < e->last)
			e = &s->v[i];
	}
	web_session_end(e);
	if (web_token(e->id) == -1 || web_token(e->csrf) == -1) {
		web_session_end(e);
		return NULL;
	}
	snprintf(e->user, sizeof(e->user), "%s", user);
	e->created = e->last = now;
	return e;
}

/* web_token_eq - a token equal to a well-formed candidate, in constant time */
int
web_token_eq(const char *token, const char *candidate)
{
	return candidate != NULL && strlen(candidate) == WEB_TOKEN_LEN &&
	    token[0] != '\0' &&
	    CRYPTO_memcmp(token, candidate, WEB_TOKEN_LEN) == 0;
}

/* web_session_find - the live session with this ID */
struct web_session *
web_session_find(struct web_sessions *s, const char *id, time_t now)
{
	size_t i;

	if (id == NULL || strlen(id) != WEB_TOKEN_LEN)
		return NULL;
	for (i = 0; i < s->max; i++) {
		if (!web_token_eq(s->v[i].id, id))
			continue;
		if (!web_session_live(s, &s->v[i], now)) {
			web_session_end(&s->v[i]);
			return NULL;
		}
		s->v[i].last = now;
		return &s->v[i];
	}
	return NULL;
}

/* web_session_end - the slot is free again */
void
web_session_end(struct web_session *e)
{
	OPENSSL_cleanse(e, sizeof(*e));
}

/* web_csrf_ok - does the form carry the session's token? */
int
web_csrf_ok(const struct web_session *e, const char *token)
{
	return web_token_eq(e->csrf, token);
}

/* web_limit_slot - the entry of key, or NULL */
static struct web_limit *
web_limit_slot(struct web_limits *l, const char *key)
{
	size_t i;

	for (i = 0; i < WEB_LIMIT_TABLE; i++)
		if (l->v[i].key[0] != '\0' && strcmp(l->v[i].key, key) == 0)
			return &l->v[i];
	return NULL;
}

/* web_limit_blocked - too many failures of key in the window? */
int
web_limit_blocked(struct web_limits *l, const char *key, time_t now)
{
	struct web_limit *e = web_limit_slot(l, key);

	if (e == NULL)
		return 0;
	if (now - e->first >= l->window) {
		memset(e, 0, sizeof(*e));
		return 0;
	}
	return e->count >= l->max_failures;
}

/* web_limit_fail - one more failure of key */
void
web_limit_fail(struct web_limits *l, const char *key, time_t now)
{
	struct web_limit *e = web_limit_slot(l, key);
	size_t i;

	if (e != NULL && now - e->first >= l->window)
		memset(e, 0, sizeof(*e));
	if (e == NULL || e->key[0] == '\0') {
		e = &l->v[0];
		for (i = 0; i < WEB_LIMIT_TABLE; i++) {
			if (l->v[i].key[0] == '\0' ||
			    now - l->v[i].first >= l->window) {
				e = &l->v[i];
				break;
			}
			if (l->v[i].first < e->first)
				e = &l->v[i];
		}
		memset(e, 0, sizeof(*e));
		snprintf(e->key, sizeof(e->key), "%s", key);
		e->first = now;
	}
	e->count++;
}

/* web_limit_clear - forget key (a good login) */
void
web_limit_clear(struct web_limits *l, const char *key)
{
	struct web_limit *e = web_limit_slot(l, key);

	if (e != NULL)
		memset(e, 0, sizeof(*e));
}
