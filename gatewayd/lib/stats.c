/*
 * stats.c - counter tables and their strict key=value wire form (stats.h)
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stats.h"
#include "xmalloc.h"

/* stats_key_valid - [a-z0-9_.]+, bounded */
int
stats_key_valid(const char *key)
{
	size_t i;

	if (key == NULL || key[0] == '\0')
		return 0;
	for (i = 0; key[i] != '\0'; i++) {
		if (i >= STATS_KEY_MAX - 1)
			return 0;
		if (!((key[i] >= 'a' && key[i] <= 'z') ||
		    (key[i] >= '0' && key[i] <= '9') || key[i] == '_' ||
		    key[i] == '.'))
			return 0;
	}
	return 1;
}

/* stats_find - the counter of key, or NULL */
static struct stats_counter *
stats_find(const struct stats *s, const char *key)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if (strcmp(s->v[i].key, key) == 0)
			return &s->v[i];
	return NULL;
}

/* stats_add - add delta to a counter, creating it */
int
stats_add(struct stats *s, const char *key, uint64_t delta)
{
	struct stats_counter *c;

	if (!stats_key_valid(key))
		return -1;
	if ((c = stats_find(s, key)) == NULL) {
		if (s->n >= STATS_MAX_KEYS)
			return -1;
		if (s->n == s->cap) {
			s->cap = s->cap ? s->cap * 2 : 32;
			s->v = xreallocarray(s->v, s->cap, sizeof(*s->v));
		}
		c = &s->v[s->n++];
		snprintf(c->key, sizeof(c->key), "%s", key);
		c->value = 0;
	}
	/* Saturate rather than wrap: a counter never goes backwards. */
	c->value = delta > UINT64_MAX - c->value ? UINT64_MAX :
	    c->value + delta;
	return 0;
}

/* stats_get - a counter's value, 0 when absent */
uint64_t
stats_get(const struct stats *s, const char *key)
{
	const struct stats_counter *c = stats_find(s, key);

	return c ? c->value : 0;
}

/* stats_cmp - qsort by key */
static int
stats_cmp(const void *a, const void *b)
{
	return strcmp(((const struct stats_counter *)a)->key,
	    ((const struct stats_counter *)b)->key);
}

/* stats_sort - counters in key order */
void
stats_sort(struct stats *s)
{
	if (s->n > 1)
		qsort(s->v, s->n, sizeof(*s->v), stats_cmp);
}

/* stats_clear - free the table */
void
stats_clear(struct stats *s)
{
	free(s->v);
	memset(s, 0, sizeof(*s));
}

/* stats_encode - nonzero counters as "key=N", reset those sent */
size_t
stats_encode(struct stats *s, char *buf, size_t buflen, const char **strv,
    size_t max)
{
	size_t i, n = 0, off = 0;
	int len;

	for (i = 0; i < s->n && n + 1 < max; i++) {
		if (s->v[i].value == 0)
			continue;
		len = snprintf(buf + off, buflen - off, "%s=%llu", s->v[i].key,
		    (unsigned long long)s->v[i].value);
		if (len < 0 || (size_t)len + 1 > buflen - off)
			break;
		strv[n++] = buf + off;
		off += (size_t)len + 1;
		s->v[i].value = 0;
	}
	strv[n] = NULL;
	return n;
}

/* The counters of stats.h: every key a child may send but reject.* */
const char *const stats_core[] = {
	"connections", "connections_refused", "received", "delivered",
	"deferred", "bounced", NULL
};

/* stats_digits - n to max ASCII digits at p; their count, or 0 */
static size_t
stats_digits(const char *p, size_t min, size_t max)
{
	size_t n = 0;

	while (n < max && p[n] >= '0' && p[n] <= '9')
		n++;
	return n >= min ? n : 0;
}

/* stats_reject_known - "reject.CODE" or "reject.CODE.C.SSS.DDD" */
static int
stats_reject_known(const char *key)
{
	const char *p = key + 7;
	size_t n;

	if (strncmp(key, "reject.", 7) != 0 || (p[0] != '4' && p[0] != '5') ||
	    stats_digits(p, 3, 3) != 3)
		return 0;
	if (p[3] == '\0')
		return 1;
	/* The enhanced code's class is the reply's class (RFC 3463). */
	if (p[3] != '.' || p[4] != p[0] || p[5] != '.')
		return 0;
	p += 6;
	if ((n = stats_digits(p, 1, 3)) == 0 || p[n] != '.')
		return 0;
	p += n + 1;
	n = stats_digits(p, 1, 3);
	return n != 0 && p[n] == '\0';
}

/* stats_key_known - a core counter or a well-formed reject.* key */
int
stats_key_known(const char *key)
{
	size_t i;

	if (!stats_key_valid(key))
		return 0;
	for (i = 0; stats_core[i] != NULL; i++)
		if (strcmp(key, stats_core[i]) == 0)
			return 1;
	return stats_reject_known(key);
}

/* stats_parse_one - "key=N" into key and value; -1 if malformed */
static int
stats_parse_one(const char *str, char key[STATS_KEY_MAX], uint64_t *value)
{
	const char *eq = strchr(str, '=');
	const char *p;
	uint64_t v = 0, d;
	size_t klen;

	if (eq == NULL || (klen = (size_t)(eq - str)) == 0 ||
	    klen >= STATS_KEY_MAX)
		return -1;
	memcpy(key, str, klen);
	key[klen] = '\0';
	if (!stats_key_known(key))
		return -1;
	p = eq + 1;
	if (*p == '\0' || (p[0] == '0' && p[1] != '\0'))
		return -1;
	for (; *p != '\0'; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		d = (uint64_t)(*p - '0');
		if (v > UINT64_MAX / 10 ||
		    (v == UINT64_MAX / 10 && d > UINT64_MAX % 10))
			return -1;
		v = v * 10 + d;
	}
	*value = v;
	return 0;
}

/* stats_same_key - do two "key=N" strings name the same key? */
static int
stats_same_key(const char *a, const char *b)
{
	size_t la = strcspn(a, "="), lb = strcspn(b, "=");

	return la == lb && memcmp(a, b, la) == 0;
}

/* stats_decode - check every string first, then add them all */
int
stats_decode(const char *const *strv, size_t n, struct stats *total)
{
	char key[STATS_KEY_MAX];
	uint64_t v;
	size_t i, j;

	for (i = 0; i < n; i++) {
		if (strv[i] == NULL ||
		    stats_parse_one(strv[i], key, &v) == -1)
			goto bad;
		for (j = 0; j < i; j++)
			if (stats_same_key(strv[i], strv[j]))
				goto bad;	/* the encoder sends a key once */
	}
	for (i = 0; i < n; i++) {
		(void)stats_parse_one(strv[i], key, &v);
		(void)stats_add(total, key, v);
	}
	return 0;
bad:
	errno = EINVAL;
	return -1;
}
