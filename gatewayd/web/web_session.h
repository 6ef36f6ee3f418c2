/*
 * web_session.h - gatewayd-web's sessions, CSRF tokens and login limits
 *
 * A session is a random ID (32 bytes of RAND_bytes, in hex) sent only in
 * a cookie, bound to the user name, its start and its last use; it ends
 * at web.session_lifetime after the login, at web.idle_timeout without a
 * request, or at logout.  Each session has its own random CSRF token,
 * which every form carries in a hidden field and every POST must send
 * back (compared in constant time).  At most web.max_sessions are kept:
 * a new one replaces an expired one, else the least recently used.
 * Nothing here keeps a password.
 *
 * Login limits: failures are counted per key ("a:" client address, "u:"
 * user name) in a fixed table; a key with web.login_max_failures failures
 * within web.login_failure_window is refused until its first failure
 * leaves the window, without the password being checked.  A full table
 * replaces its oldest entry.  No I/O; tests/check_web_form.c tests it.
 */
#ifndef GW_WEB_SESSION_H
#define GW_WEB_SESSION_H

#include <stddef.h>
#include <time.h>

#define WEB_TOKEN_BYTES	32
#define WEB_TOKEN_LEN	(2 * WEB_TOKEN_BYTES)
#define WEB_USER_MAX	256
#define WEB_LIMIT_TABLE	1024

struct web_session {
	char id[WEB_TOKEN_LEN + 1];	/* "" when the slot is free */
	char csrf[WEB_TOKEN_LEN + 1];
	char user[WEB_USER_MAX];
	time_t created, last;
	int admin;			/* shows the queue console (the control
					   child decides what it may do) */
	int send;			/* shows "Send documents" (web.send) */
};

struct web_sessions {
	struct web_session *v;
	size_t max;
	time_t lifetime, idle;
};

struct web_limit {
	char key[WEB_USER_MAX + 4];
	unsigned int count;
	time_t first;
};

struct web_limits {
	struct web_limit v[WEB_LIMIT_TABLE];
	unsigned int max_failures;
	time_t window;
};

/* A random token (hex); 0, or -1 when no random bytes could be had. */
int web_token(char out[WEB_TOKEN_LEN + 1]);
/* Is candidate (maybe NULL) the token, compared in constant time? */
int web_token_eq(const char *token, const char *candidate);

void web_sessions_init(struct web_sessions *, size_t max, time_t lifetime,
    time_t idle);
void web_sessions_free(struct web_sessions *);
/* A new session for user; NULL when no random bytes could be had. */
struct web_session *web_session_new(struct web_sessions *, const char *user,
    time_t now);
/* The live session of a cookie value (its last use set to now), or NULL. */
struct web_session *web_session_find(struct web_sessions *, const char *id,
    time_t now);
void web_session_end(struct web_session *);
/* Is token the session's CSRF token? */
int web_csrf_ok(const struct web_session *, const char *token);

/* Is key refused now?  Counting failures and forgetting a key. */
int web_limit_blocked(struct web_limits *, const char *key, time_t now);
void web_limit_fail(struct web_limits *, const char *key, time_t now);
void web_limit_clear(struct web_limits *, const char *key);

#endif
