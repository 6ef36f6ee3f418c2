/*
 * receiver_auth.h - SMTP AUTH for the receiver (Cyrus libsasl2 server API)
 *
 * rauth_init() runs before the privilege drop: it loads the SASL plugins
 * and fixes the options (sasl.* in the configuration) through a getopt
 * callback, so no /etc/sasl2 file is read.  Each AUTH command gets a fresh
 * sasl_conn_t that is disposed of when the exchange ends, whether it
 * succeeded, failed or was aborted with "*" (CVE-2011-1720: no state
 * survives from one exchange or mechanism to the next).
 *
 * With sasl.backend saslauthd, PLAIN and LOGIN are done here instead and
 * the password check is a request on saslauthd's socket made from the
 * event loop: rauth_start/rauth_step return RAUTH_PENDING and the answer
 * (or a timeout) comes later to the done callback, so a slow saslauthd
 * delays only the session that asked.
 *
 * Failures are counted per client address in a bounded table; a client
 * over sasl.auth_max_failures within the window is refused until the
 * window ends.  Passwords are never logged.
 */
#ifndef GW_RECEIVER_AUTH_H
#define GW_RECEIVER_AUTH_H

#include <stddef.h>

struct cfg;
struct event_base;
struct rauth;

enum rauth_result {
	RAUTH_OK = 0,		/* authenticated: rauth_user() */
	RAUTH_CONTINUE,		/* send "334 " + challenge */
	RAUTH_FAIL,		/* reply holds the reply line */
	RAUTH_PENDING,		/* saslauthd asked: the answer comes to done() */
};

/*
 * The answer of a pending check: RAUTH_OK or RAUTH_FAIL and the reply
 * line.  Called from the event loop at most once and never after
 * rauth_free(), which may be called inside it.
 */
typedef void (*rauth_done_fn)(void *arg, enum rauth_result, const char *reply);

/* Load the plugins and settings; 0, or -1 (logged). */
int rauth_init(const struct cfg *);
/* The space-separated mechanisms to advertise ("" when none). */
const char *rauth_mechanisms(void);
/* A new exchange (AUTH mech [initial-response]); base and done for saslauthd. */
struct rauth *rauth_new(const char *hostname, const char *client_ip,
    struct event_base *base, rauth_done_fn done, void *arg);
enum rauth_result rauth_start(struct rauth *, const char *mech,
    const char *initial, char *reply, size_t replylen);
/* One client response line (base64). */
enum rauth_result rauth_step(struct rauth *, const char *line, size_t len,
    char *reply, size_t replylen);
/* The authenticated identity after RAUTH_OK. */
const char *rauth_user(struct rauth *);
/* The mechanism in use (for logs). */
const char *rauth_mech(struct rauth *);
void rauth_free(struct rauth *);

/* Failure rate limit per client address. */
int rauth_blocked(const char *ip, size_t max, long window);
void rauth_failed(const char *ip, long window);

#endif
