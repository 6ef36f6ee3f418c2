/*
 * router_wait.h - the router's requests that wait for a lookup's answer
 *
 * A network lookup (LDAP) never makes the router wait: a get it cannot
 * answer yet answers LOOKUP_PENDING and starts the query (lookup.h).  The
 * request that asked - a recipient check (IPC_RCPT_CHECK), an end-of-DATA
 * check (IPC_DATA_CHECK) or a message to route - is parked here with what
 * it needs to be decided again (the frame's strings, the recognizer's
 * answer), and the router runs the very same decision again each time an
 * answer lands; one that is still not decided parks again.  The list is
 * bounded (ROUTER_WAIT_MAX): past it the request takes its temporary
 * failure at once (451 at RCPT, a deferred message).
 */
#ifndef GW_ROUTER_WAIT_H
#define GW_ROUTER_WAIT_H

#include <stddef.h>

struct rules_recog;

#define ROUTER_WAIT_MAX		4096	/* requests parked at once */
#define ROUTER_WAIT_STRINGS	6	/* strings of one request */

/* One parked request (owned by the list, then by who took it). */
struct router_wait {
	int type;			/* IPC_RCPT_CHECK, IPC_DATA_CHECK, IPC_MSG_NEW */
	char *sv[ROUTER_WAIT_STRINGS + 1];	/* NULL-terminated */
	struct rules_recog *recog;	/* a message's recognizer answer, or NULL */
};

struct router_waits;

struct router_waits *router_wait_new(void);
void router_wait_free(struct router_waits *);
/* Park a request of type with n strings (and a copy of recog); 0, -1 full. */
int router_wait_add(struct router_waits *, int type, const char *const *sv,
    size_t n, const struct rules_recog *recog);
/* Is a request of type whose first string is id parked? */
int router_wait_has(const struct router_waits *, int type, const char *id);
/* How many are parked. */
size_t router_wait_count(const struct router_waits *);
/* Take every parked request (the list is then empty); *n of them. */
struct router_wait *router_wait_take(struct router_waits *, size_t *n);
/* Free what router_wait_take returned. */
void router_wait_done(struct router_wait *, size_t n);

#endif
