/*
 * router_wait.h - the router's requests that wait for a lookup's answer
 *
 * A network lookup (LDAP) never makes the router wait: a get it cannot
 * answer yet answers LOOKUP_PENDING and starts the query (lookup.h).  The
 * request that asked - a recipient check (IPC_RCPT_CHECK), an end-of-DATA
 * check (IPC_DATA_CHECK) or a message to route - is parked here with what
 * it needs to be decided again (the frame's strings, the recognizer's
 * answer) and with the keys its decision waits for (the (table, key)
 * pairs that answered pending while it was made, router_wait_asked(), at
 * most ROUTER_WAIT_KEYS of them).  When the answer for a key lands
 * (router_wait_landed()), only the requests parked on that key are taken
 * (router_wait_take_landed()) and decided again; one that is still not
 * decided parks again, on the keys it still waits for.  So an answer
 * costs as many decisions as it has waiters, not one per parked request.
 * A request parked without keys is taken by every answer, as all were
 * before.  The list is bounded (ROUTER_WAIT_MAX): past it the request
 * takes its temporary failure at once (451 at RCPT, a deferred message).
 */
#ifndef GW_ROUTER_WAIT_H
#define GW_ROUTER_WAIT_H

#include <stddef.h>

struct rules_recog;

#define ROUTER_WAIT_MAX		4096	/* requests parked at once */
#define ROUTER_WAIT_STRINGS	6	/* strings of one request */
#define ROUTER_WAIT_KEYS	8	/* keys a request is parked on */
#define ROUTER_WAIT_LANDED_MAX	4096	/* answers between two runs; more:
					   every request is taken */

/* One parked request (owned by the list, then by who took it). */
struct router_wait {
	int type;			/* IPC_RCPT_CHECK, IPC_DATA_CHECK, IPC_MSG_NEW */
	char *sv[ROUTER_WAIT_STRINGS + 1];	/* NULL-terminated */
	struct rules_recog *recog;	/* a message's recognizer answer, or NULL */
};

struct router_waits;

struct router_waits *router_wait_new(void);
void router_wait_free(struct router_waits *);
/* A decision starts: forget the keys the previous one asked for. */
void router_wait_begin(struct router_waits *);
/* During a decision: a get of key in table answered pending. */
void router_wait_asked(struct router_waits *, const void *table,
    const char *key);
/*
 * Park a request of type with n strings (and a copy of recog) on the keys
 * asked since router_wait_begin(); 0, -1 full.
 */
int router_wait_add(struct router_waits *, int type, const char *const *sv,
    size_t n, const struct rules_recog *recog);
/* Is a request of type whose first string is id parked? */
int router_wait_has(const struct router_waits *, int type, const char *id);
/* How many are parked. */
size_t router_wait_count(const struct router_waits *);
/* The answer for key in table landed: its waiters are to be taken. */
void router_wait_landed(struct router_waits *, const void *table,
    const char *key);
/*
 * Take the requests parked on the keys landed since the last call, each
 * once (and those parked without keys); *n of them.  Every request when
 * more than ROUTER_WAIT_LANDED_MAX answers landed.
 */
struct router_wait *router_wait_take_landed(struct router_waits *, size_t *n);
/* Take every parked request (the list is then empty); *n of them. */
struct router_wait *router_wait_take(struct router_waits *, size_t *n);
/* Free what router_wait_take or router_wait_take_landed returned. */
void router_wait_done(struct router_wait *, size_t n);

#endif
