/*
 * receiver_dns.h - forward-confirmed reverse DNS of clients (receiver)
 *
 * A host name in a listener's anonymous_allow or in relay.allow matches a
 * client when the client's address has a PTR record naming that host and
 * the name resolves back (A or AAAA) to the address: FCrDNS.  The lookups
 * run in the receiver's libevent loop with libevent's evdns, so a slow
 * resolver delays only the session that asked.
 *
 * rdns_init() runs before the privilege drop and the chroot: it reads
 * /etc/resolv.conf (or takes dns.nameservers) and opens the UDP sockets.
 * Answers are cached per address for the smallest TTL of the records
 * (a negative answer for RDNS_NEG_TTL), in a table of RDNS_CACHE entries
 * (the entry that expires first makes room).  A lookup that does not end
 * within dns.timeout, or a resolver error, is "not confirmed": logged, not
 * cached.
 */
#ifndef GW_RECEIVER_DNS_H
#define GW_RECEIVER_DNS_H

#include <stddef.h>
#include <sys/socket.h>

struct cfg_dns;
struct event_base;
struct rdns_query;

#define RDNS_NAME_MAX	256		/* a host name and its NUL */
#define RDNS_CACHE	1024		/* cached addresses */
#define RDNS_NEG_TTL	60		/* seconds a "no PTR" answer is kept */

/*
 * The end of a lookup: the confirmed host name (lower case, no trailing
 * dot), or NULL when there is none.  Called from the event loop once,
 * never after rdns_cancel().
 */
typedef void (*rdns_done_fn)(void *arg, const char *name);

/* Set up the resolver (before the chroot); 0, or -1 (logged). */
int rdns_init(struct event_base *, const struct cfg_dns *);
/* Is the resolver set up? */
int rdns_ready(void);
/*
 * Start the FCrDNS lookup of an address.  NULL when the cache answers at
 * once: name (namelen >= RDNS_NAME_MAX) holds the confirmed name or "";
 * else the pending query, answered through done.
 */
struct rdns_query *rdns_fcrdns(const struct sockaddr *, rdns_done_fn done,
    void *arg, char *name, size_t namelen);
/* The session is gone: done will not be called. */
void rdns_cancel(struct rdns_query *);

#endif
