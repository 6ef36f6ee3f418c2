/*
 * receiver_dns.c - forward-confirmed reverse DNS of clients with evdns
 * (see receiver_dns.h)
 *
 * A query is PTR first, then A or AAAA of the PTR name, each an evdns
 * request on the receiver's loop, under one timer of dns.timeout.  A
 * query that timed out or was cancelled by its session still has an
 * evdns request out: it is freed by that request's callback (evdns always
 * calls back, at the latest after its own timeout), never before.
 */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/dns.h>
#include <event2/event.h>
#include <event2/util.h>

#include "cfg.h"
#include "log.h"
#include "receiver_dns.h"
#include "xmalloc.h"

struct rdns_entry {
	char key[INET6_ADDRSTRLEN];	/* the address; "" = free slot */
	char name[RDNS_NAME_MAX];	/* confirmed name, "" = none */
	time_t expires;
};

struct rdns_query {
	rdns_done_fn done;
	void *arg;
	int family;			/* AF_INET or AF_INET6 */
	unsigned char addr[16];
	char key[INET6_ADDRSTRLEN];
	char name[RDNS_NAME_MAX];	/* the PTR name being confirmed */
	int ttl;			/* of the PTR record */
	int pending;			/* an evdns request is out */
	int finished;			/* answered, timed out or cancelled */
	struct event *timer;
};

static struct {
	struct event_base *base;
	struct evdns_base *dns;
	time_t timeout;
	struct rdns_entry cache[RDNS_CACHE];
} rdns;

/* rdns_now - seconds of the monotonic clock */
static time_t
rdns_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

/* rdns_cache_get - a live cache entry for the address: 1 and name, or 0 */
static int
rdns_cache_get(const char *key, char *name, size_t namelen)
{
	time_t now = rdns_now();
	size_t i;

	for (i = 0; i < RDNS_CACHE; i++) {
		struct rdns_entry *e = &rdns.cache[i];

		if (e->key[0] == '\0' || strcmp(e->key, key) != 0)
			continue;
		if (e->expires <= now) {
			e->key[0] = '\0';
			return 0;
		}
		snprintf(name, namelen, "%s", e->name);
		return 1;
	}
	return 0;
}

/* rdns_cache_put - remember an answer for ttl seconds (bounded table) */
static void
rdns_cache_put(const char *key, const char *name, int ttl)
{
	struct rdns_entry *e, *victim = &rdns.cache[0];
	time_t now = rdns_now();
	size_t i;

	if (ttl <= 0)
		return;
	for (i = 0; i < RDNS_CACHE; i++) {
		e = &rdns.cache[i];
		if (e->key[0] == '\0' || e->expires <= now ||
		    strcmp(e->key, key) == 0) {
			victim = e;
			break;
		}
		if (e->expires < victim->expires)
			victim = e;
	}
	snprintf(victim->key, sizeof(victim->key), "%s", key);
	snprintf(victim->name, sizeof(victim->name), "%s", name);
	victim->expires = now + ttl;
}

/* rdns_free - release a query whose evdns request has ended */
static void
rdns_free(struct rdns_query *q)
{
	if (q->timer != NULL)
		event_free(q->timer);
	free(q);
}

/*
 * rdns_finish - the query's answer: name confirmed ("" none, NULL failed:
 * not cached); call the session, free the query once evdns is done
 */
static void
rdns_finish(struct rdns_query *q, const char *name, int ttl)
{
	rdns_done_fn done = q->done;

	if (name != NULL)
		rdns_cache_put(q->key, name, ttl);
	q->finished = 1;
	q->done = NULL;
	event_del(q->timer);
	if (done != NULL)
		done(q->arg, name != NULL && name[0] != '\0' ? name : NULL);
	if (!q->pending)
		rdns_free(q);
}

/* rdns_failed - a resolver error: logged, not confirmed, not cached */
static void
rdns_failed(struct rdns_query *q, const char *what, int result)
{
	log_info("FCrDNS of [%s]: %s lookup failed: %s: not confirmed", q->key,
	    what, evdns_err_to_string(result));
	rdns_finish(q, NULL, 0);
}

/* rdns_fwd_cb - A or AAAA of the PTR name: does it hold the address? */
static void
rdns_fwd_cb(int result, char type, int count, int ttl, void *addresses,
    void *arg)
{
	struct rdns_query *q = arg;
	size_t alen = q->family == AF_INET ? 4 : 16;
	int i;

	q->pending = 0;
	if (q->finished) {
		rdns_free(q);
		return;
	}
	if (ttl > q->ttl)
		ttl = q->ttl;
	if (result == DNS_ERR_NOTEXIST || result == DNS_ERR_NODATA) {
		rdns_finish(q, "", ttl > 0 ? ttl : RDNS_NEG_TTL);
		return;
	}
	if (result != DNS_ERR_NONE) {
		rdns_failed(q, "address", result);
		return;
	}
	for (i = 0; i < count; i++)
		if ((type == DNS_IPv4_A || type == DNS_IPv6_AAAA) &&
		    memcmp((unsigned char *)addresses + (size_t)i * alen,
		    q->addr, alen) == 0) {
			rdns_finish(q, q->name, ttl);
			return;
		}
	log_info("FCrDNS of [%s]: %s does not resolve to it: not confirmed",
	    q->key, q->name);
	rdns_finish(q, "", ttl);
}

/* rdns_set_name - keep the PTR name in lower case without the root dot */
static int
rdns_set_name(struct rdns_query *q, const char *name)
{
	size_t i, len = strlen(name);

	if (len > 0 && name[len - 1] == '.')
		len--;
	if (len == 0 || len >= sizeof(q->name))
		return -1;
	for (i = 0; i < len; i++)
		q->name[i] = (char)tolower((unsigned char)name[i]);
	q->name[len] = '\0';
	return 0;
}

/* rdns_ptr_cb - the PTR answer: then resolve the name forward */
static void
rdns_ptr_cb(int result, char type, int count, int ttl, void *addresses,
    void *arg)
{
	struct rdns_query *q = arg;
	struct evdns_request *req;

	q->pending = 0;
	if (q->finished) {
		rdns_free(q);
		return;
	}
	if (result == DNS_ERR_NOTEXIST || result == DNS_ERR_NODATA ||
	    (result == DNS_ERR_NONE && (count < 1 || type != DNS_PTR))) {
		rdns_finish(q, "", RDNS_NEG_TTL);
		return;
	}
	if (result != DNS_ERR_NONE) {
		rdns_failed(q, "PTR", result);
		return;
	}
	if (rdns_set_name(q, ((char **)addresses)[0]) == -1) {
		rdns_finish(q, "", RDNS_NEG_TTL);
		return;
	}
	q->ttl = ttl;
	q->pending = 1;
	req = q->family == AF_INET ?
	    evdns_base_resolve_ipv4(rdns.dns, q->name, DNS_QUERY_NO_SEARCH,
	    rdns_fwd_cb, q) :
	    evdns_base_resolve_ipv6(rdns.dns, q->name, DNS_QUERY_NO_SEARCH,
	    rdns_fwd_cb, q);
	if (req == NULL) {
		q->pending = 0;
		rdns_failed(q, "address", DNS_ERR_UNKNOWN);
	}
}

/* rdns_timeout_cb - dns.timeout passed: not confirmed */
static void
rdns_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct rdns_query *q = arg;

	log_info("FCrDNS of [%s]: no answer within %lld s: not confirmed",
	    q->key, (long long)rdns.timeout);
	rdns_finish(q, NULL, 0);
}

/* rdns_key - family, address bytes and text of a client (v4-mapped: v4) */
static int
rdns_key(const struct sockaddr *sa, struct rdns_query *q)
{
	const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;

	if (sa->sa_family == AF_INET) {
		q->family = AF_INET;
		memcpy(q->addr, &((const struct sockaddr_in *)sa)->sin_addr, 4);
	} else if (sa->sa_family == AF_INET6 &&
	    IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
		q->family = AF_INET;
		memcpy(q->addr, s6->sin6_addr.s6_addr + 12, 4);
	} else if (sa->sa_family == AF_INET6) {
		q->family = AF_INET6;
		memcpy(q->addr, &s6->sin6_addr, 16);
	} else
		return -1;
	if (inet_ntop(q->family, q->addr, q->key, sizeof(q->key)) == NULL)
		return -1;
	return 0;
}

/* rdns_fcrdns - see receiver_dns.h */
struct rdns_query *
rdns_fcrdns(const struct sockaddr *sa, rdns_done_fn done, void *arg,
    char *name, size_t namelen)
{
	struct rdns_query *q = xcalloc(1, sizeof(*q));
	struct timeval tv = { rdns.timeout, 0 };
	struct evdns_request *req;

	name[0] = '\0';
	if (rdns.dns == NULL || rdns_key(sa, q) == -1 ||
	    rdns_cache_get(q->key, name, namelen)) {
		free(q);
		return NULL;
	}
	q->done = done;
	q->arg = arg;
	if ((q->timer = evtimer_new(rdns.base, rdns_timeout_cb, q)) == NULL ||
	    evtimer_add(q->timer, &tv) == -1)
		fatalx("cannot arm a DNS timer");
	q->pending = 1;
	req = q->family == AF_INET ?
	    evdns_base_resolve_reverse(rdns.dns, (struct in_addr *)(void *)
	    q->addr, 0, rdns_ptr_cb, q) :
	    evdns_base_resolve_reverse_ipv6(rdns.dns, (struct in6_addr *)(void *)
	    q->addr, 0, rdns_ptr_cb, q);
	if (req == NULL) {
		log_info("FCrDNS of [%s]: cannot send the PTR query: not "
		    "confirmed", q->key);
		rdns_free(q);
		return NULL;
	}
	return q;
}

/* rdns_cancel - the session is gone (see receiver_dns.h) */
void
rdns_cancel(struct rdns_query *q)
{
	if (q == NULL || q->finished)
		return;
	q->finished = 1;
	q->done = NULL;
	event_del(q->timer);
	if (!q->pending)
		rdns_free(q);
}

/* rdns_ready - is the resolver set up? */
int
rdns_ready(void)
{
	return rdns.dns != NULL;
}

/* rdns_init - see receiver_dns.h */
int
rdns_init(struct event_base *base, const struct cfg_dns *c)
{
	char t[16];
	size_t i;
	int rc;

	evutil_secure_rng_init();	/* query IDs: seeded before the chroot */
	rdns.base = base;
	rdns.timeout = c->timeout;
	if ((rdns.dns = evdns_base_new(base,
	    EVDNS_BASE_DISABLE_WHEN_INACTIVE)) == NULL) {
		log_warnx("cannot create the DNS resolver");
		return -1;
	}
	for (i = 0; i < c->nnameservers; i++)
		if (evdns_base_nameserver_ip_add(rdns.dns,
		    c->nameservers[i]) != 0)
			log_warnx("dns.nameservers: cannot use %s",
			    c->nameservers[i]);
	if (c->nnameservers == 0 && (rc = evdns_base_resolv_conf_parse(
	    rdns.dns, DNS_OPTION_NAMESERVERS | DNS_OPTION_MISC,
	    "/etc/resolv.conf")) != 0)
		log_warnx("/etc/resolv.conf: cannot use it (evdns error %d)", rc);
	snprintf(t, sizeof(t), "%lld", (long long)c->timeout);
	if (evdns_base_set_option(rdns.dns, "timeout:", t) != 0 ||
	    evdns_base_set_option(rdns.dns, "attempts:", "1") != 0 ||
	    evdns_base_set_option(rdns.dns, "randomize-case:", "0") != 0)
		log_warnx("cannot set the DNS resolver's options");
	if (evdns_base_count_nameservers(rdns.dns) == 0) {
		log_warnx("no DNS server: host names in anonymous_allow and "
		    "relay.allow will not match");
		return -1;
	}
	return 0;
}
