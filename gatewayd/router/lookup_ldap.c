/*
 * lookup_ldap.c - the ldap lookup backend (lookup.h), router only
 *
 * A get is one search: the filter template expanded with the key
 * (lookup_filter_expand, RFC 4515 escapes), the values of one attribute
 * of every entry found are the answer.  Every failure is a temporary one
 * (-1): the router defers the message or answers 451, it never bounces.
 *
 * Nothing here waits (the router serves every session and message from
 * one event loop).  A get of a key without an answer starts a search
 * (ldap_search_ext, by message ID) and answers LOOKUP_PENDING; a second
 * get of the same key meanwhile joins it.  The connection's descriptor
 * (LDAP_OPT_DESC) is watched by the loop; its answers are read with
 * ldap_result() and a zero timeout; each landed answer is kept (a small
 * table, LOOKUP_LDAP_KEPT entries, LOOKUP_LDAP_KEEP_MAX seconds at most)
 * and the router is told which key landed, which runs again the decisions
 * that wait for that key: their gets now answer from the kept entries.  The router forgets them
 * (lookup_release) once nothing waits, so the next question asks the
 * directory again, as before.
 *
 * One connection per table, made at the first query and kept for the next
 * ones; many searches are in flight on it at once.  It is opened without
 * blocking too: LDAP_OPT_CONNECT_ASYNC (the first request answers
 * LDAP_X_CONNECTING; it is sent again when the socket is writable), then
 * StartTLS when asked (ldap_start_tls, by message ID), then a simple bind
 * (ldap_sasl_bind by message ID; anonymous when no bind DN is set, so
 * that every connection proves the server answers before searches go
 * out).  Two steps cannot be made non-blocking with libldap, and are
 * bounded by LDAP_OPT_NETWORK_TIMEOUT (the lookup's timeout, at most
 * LOOKUP_LDAP_NET_MAX seconds): the TLS handshake after StartTLS
 * (ldap_install_tls) and, for ldaps://, the whole connect (libldap starts
 * TLS inside it).  Each query has a timer of the lookup's timeout: when
 * it fires the connection is dropped and every query on it fails; after
 * a failed connection no new one is tried for LOOKUP_LDAP_HOLD seconds
 * (gets fail at once meanwhile), so a dead server costs one timeout, not
 * one per recipient.  A kept connection that the server closed (idle
 * timeout, restart) is opened again once for the searches it carried.
 *
 * Before the privilege drop (lookup_ldap_open): the bind password is read
 * from its file (kept in memory, wiped at close, never logged) and, for
 * ldaps:// or StartTLS, a TLS context is made with the CA file (read
 * then: the router runs chrooted into the spool afterwards); every
 * connection uses that context.  No connection is made then, so a server
 * that is down at start-up does not stop the router.  libldap itself is
 * loaded then too (ll_load), not linked.
 */
#include "config.h"

#include <sys/queue.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <ldap.h>

#include "cfg.h"
#include "dlsyms.h"
#include "log.h"
#include "lookup.h"
#include "secretfile.h"
#include "xmalloc.h"

#ifndef TAILQ_FOREACH_SAFE	/* BSD's, not in glibc's sys/queue.h */
#define TAILQ_FOREACH_SAFE(var, head, field, tvar)			\
	for ((var) = TAILQ_FIRST(head);					\
	    (var) != NULL && ((tvar) = TAILQ_NEXT(var, field), 1);	\
	    (var) = (tvar))
#endif

#define LOOKUP_LDAP_HOLD	5	/* seconds without a new connection */
#define LOOKUP_LDAP_VALMAX	1024	/* bytes of one value */
#define LOOKUP_LDAP_WHYLEN	512	/* a password file's error */
#define LOOKUP_LDAP_FILTERMAX	2048
#define LOOKUP_LDAP_INFLIGHT	256	/* keys asked at once, per table */
#define LOOKUP_LDAP_KEPT	1024	/* answers and questions, per table */
#define LOOKUP_LDAP_KEEP_MAX	60	/* seconds an answer is kept (+2 timeouts) */
#define LOOKUP_LDAP_NET_MAX	2	/* seconds: connect, TLS handshake */

/* The steps of the connection. */
enum lookup_ldap_state {
	LL_DOWN = 0,		/* no connection */
	LL_CONNECTING,		/* TCP connect under way (socket writable) */
	LL_STARTTLS,		/* the StartTLS answer awaited */
	LL_BINDING,		/* the bind answer awaited */
	LL_READY		/* searches go out */
};

struct lookup_ldap;

/* One key: asked (answer LOOKUP_PENDING), or answered and kept. */
struct lookup_ldap_query {
	TAILQ_ENTRY(lookup_ldap_query) link;	/* oldest first */
	struct lookup_ldap *t;
	char *key;
	char *filter;
	int answer;			/* LOOKUP_PENDING, 0, 1 or -1 */
	int msgid;			/* its search on the connection, or -1 */
	int resent;			/* sent again after a lost connection */
	struct event *timer;		/* its deadline while pending */
	char **vals;
	size_t nvals;
	time_t landed;
};
TAILQ_HEAD(lookup_ldap_queries, lookup_ldap_query);

struct lookup_ldap {
	char *name;			/* the lookup's name, for log lines */
	char *uri;			/* every URI, for the TLS template */
	char **uris;			/* one each, tried in order */
	size_t nuris, cur;
	char *base;
	int scope;
	char *filter;
	char *attrs[2];
	char *bind_dn;			/* NULL: anonymous bind */
	char *pass;			/* the bind password, wiped at close */
	size_t passlen;
	int start_tls;
	int require_cert;		/* LDAP_OPT_X_TLS_* */
	int timeout;
	void *tls_ctx;			/* made before the drop, or NULL */
	LDAP *ld;			/* NULL until used, and after an error */
	int state;			/* enum lookup_ldap_state */
	int op_msgid;			/* the StartTLS or bind request */
	int kept;			/* a search was answered on it */
	struct event *io;		/* the connection's descriptor */
	struct event *conn_timer;	/* bounds opening a connection */
	time_t hold_until;		/* no new connection before */
	struct event_base *evbase;	/* NULL: not attached, gets fail */
	void (*landed)(void *, const char *);	/* told which key landed */
	void *landed_arg;
	struct lookup_ldap_queries queries;
	size_t nqueries, npending;
};

/*
 * libldap is loaded by ll_load() when an ldap table is opened, before the
 * router drops its privileges, chroots and enters its sandbox: a router
 * without one maps neither libldap nor GnuTLS, p11-kit, Nettle, GMP and
 * Cyrus SASL behind it (about 2.3 MiB of PSS in the router).
 */
#define LL_FUNCS(X) X(ldap_abandon_ext) X(ldap_err2string) \
	X(ldap_first_entry) X(ldap_get_option) X(ldap_get_values_len) \
	X(ldap_initialize) X(ldap_install_tls) X(ldap_memfree) \
	X(ldap_msgfree) X(ldap_msgid) X(ldap_msgtype) X(ldap_next_entry) \
	X(ldap_parse_result) X(ldap_result) X(ldap_sasl_bind) \
	X(ldap_search_ext) X(ldap_set_option) X(ldap_start_tls) \
	X(ldap_tls_inplace) X(ldap_unbind_ext) X(ldap_unbind_ext_s) \
	X(ldap_value_free_len)
#define LL_POINTER(f)	__typeof__(f) *f;
#define LL_SYMBOL(f)	{ #f, (void **)&ll.f },

static struct {
	LL_FUNCS(LL_POINTER)
} ll;

/*
 * LDAP_OPT_ON is the address of liblber's ber_pvt_opt_on, which would link
 * liblber; libldap takes any pointer but LDAP_OPT_OFF (NULL) as on.
 */
static int ll_on = 1;
#define LL_OPT_ON	((void *)&ll_on)

static const struct dlsym_entry ll_symbols[] = { LL_FUNCS(LL_SYMBOL) };

/* ll_load - load libldap once; -1 with err if it cannot be */
static int
ll_load(const char *name, char *err, size_t errlen)
{
	static void *lib;
	char why[512];

	if (dlsyms_load(&lib, LDAP_SONAME, "libldap-2.5-0", ll_symbols,
	    sizeof(ll_symbols) / sizeof(ll_symbols[0]), why, sizeof(why)) == 0)
		return 0;
	snprintf(err, errlen, "ldap lookup %s: %s", name, why);
	return -1;
}

/* lookup_ldap_err - fill err, return NULL */
static void *
lookup_ldap_err(char *err, size_t errlen, const char *name, const char *what,
    const char *why)
{
	snprintf(err, errlen, "ldap lookup %s: %s: %s", name, what, why);
	return NULL;
}

/* lookup_ldap_password - read the bind password file (before the drop) */
static int
lookup_ldap_password(struct lookup_ldap *t, const char *path, char *err,
    size_t errlen)
{
	char why[LOOKUP_LDAP_WHYLEN];

	if ((t->pass = secretfile_read(path, 0, &t->passlen, why,
	    sizeof(why))) == NULL) {
		lookup_ldap_err(err, errlen, t->name, "bind_password_file", why);
		return -1;
	}
	return 0;
}

/* lookup_ldap_tls - the TLS context, with the CA file read now */
static int
lookup_ldap_tls(struct lookup_ldap *t, const struct cfg_ldap *c, char *err,
    size_t errlen)
{
	LDAP *ld = NULL;
	int zero = 0, rc;

	if (!c->start_tls && strstr(c->uri, "ldaps://") == NULL &&
	    strstr(c->uri, "LDAPS://") == NULL)
		return 0;
	if ((rc = ll.ldap_initialize(&ld, t->uri)) != LDAP_SUCCESS) {
		lookup_ldap_err(err, errlen, t->name, "uri", ll.ldap_err2string(rc));
		return -1;
	}
	if ((c->tls_ca_file != NULL && (rc = ll.ldap_set_option(ld,
	    LDAP_OPT_X_TLS_CACERTFILE, c->tls_ca_file)) != LDAP_OPT_SUCCESS) ||
	    (rc = ll.ldap_set_option(ld, LDAP_OPT_X_TLS_REQUIRE_CERT,
	    &t->require_cert)) != LDAP_OPT_SUCCESS ||
	    (rc = ll.ldap_set_option(ld, LDAP_OPT_X_TLS_NEWCTX, &zero)) !=
	    LDAP_OPT_SUCCESS ||
	    ll.ldap_get_option(ld, LDAP_OPT_X_TLS_CTX, &t->tls_ctx) !=
	    LDAP_OPT_SUCCESS || t->tls_ctx == NULL) {
		ll.ldap_unbind_ext_s(ld, NULL, NULL);
		lookup_ldap_err(err, errlen, t->name, c->tls_ca_file ?
		    c->tls_ca_file : "TLS", "cannot make the TLS context "
		    "(CA file unreadable or invalid?)");
		return -1;
	}
	/* our reference to the context outlives the template handle */
	ll.ldap_unbind_ext_s(ld, NULL, NULL);
	return 0;
}


static void lookup_ldap_opening(struct lookup_ldap *);
static void lookup_ldap_broken(struct lookup_ldap *, const char *, int);
static void lookup_ldap_send_all(struct lookup_ldap *);

/* lookup_ldap_drop - forget the connection (its searches are not told) */
static void
lookup_ldap_drop(struct lookup_ldap *t)
{
	struct lookup_ldap_query *q;

	if (t->io != NULL)
		event_free(t->io);
	t->io = NULL;
	if (t->conn_timer != NULL)
		evtimer_del(t->conn_timer);
	if (t->ld != NULL)
		ll.ldap_unbind_ext(t->ld, NULL, NULL);	/* sends, never waits */
	t->ld = NULL;
	t->state = LL_DOWN;
	t->op_msgid = -1;
	t->kept = 0;
	TAILQ_FOREACH(q, &t->queries, link)
		q->msgid = -1;
}

/* lookup_ldap_clear - free the answer of a query */
static void
lookup_ldap_clear(struct lookup_ldap_query *q)
{
	size_t i;

	for (i = 0; i < q->nvals; i++)
		free(q->vals[i]);
	free(q->vals);
	q->vals = NULL;
	q->nvals = 0;
}

/* lookup_ldap_free - forget a query (asked or answered) */
static void
lookup_ldap_free(struct lookup_ldap *t, struct lookup_ldap_query *q)
{
	TAILQ_REMOVE(&t->queries, q, link);
	t->nqueries--;
	if (q->answer == LOOKUP_PENDING)
		t->npending--;
	if (q->timer != NULL)
		event_free(q->timer);
	lookup_ldap_clear(q);
	free(q->key);
	free(q->filter);
	free(q);
}

/* lookup_ldap_land - a query has its answer: keep it, tell the router */
static void
lookup_ldap_land(struct lookup_ldap *t, struct lookup_ldap_query *q,
    int answer)
{
	if (q->answer != LOOKUP_PENDING)
		return;
	q->answer = answer;
	q->landed = time(NULL);
	q->msgid = -1;
	t->npending--;
	if (q->timer != NULL)
		evtimer_del(q->timer);
	if (t->landed != NULL)
		t->landed(t->landed_arg, q->key);
}

/* lookup_ldap_fail - log, drop the connection, fail its queries, hold off */
static void
lookup_ldap_fail(struct lookup_ldap *t, const char *what, int rc)
{
	struct lookup_ldap_query *q, *next;
	char *diag = NULL;

	if (t->ld != NULL)
		(void)ll.ldap_get_option(t->ld, LDAP_OPT_DIAGNOSTIC_MESSAGE, &diag);
	log_warnx("lookup %s: %s: %s%s%s (temporary failure, %zu queries)",
	    t->name, what, ll.ldap_err2string(rc), diag && *diag ? ": " : "",
	    diag ? diag : "", t->npending);
	ll.ldap_memfree(diag);
	lookup_ldap_drop(t);
	t->cur = 0;
	t->hold_until = time(NULL) + LOOKUP_LDAP_HOLD;
	TAILQ_FOREACH_SAFE(q, &t->queries, link, next)
		lookup_ldap_land(t, q, -1);
}

/*
 * lookup_ldap_broken - opening a connection failed: the next URI is
 * tried at once, and after the last one every query fails
 */
static void
lookup_ldap_broken(struct lookup_ldap *t, const char *what, int rc)
{
	char *diag = NULL;

	if (t->cur + 1 >= t->nuris) {
		lookup_ldap_fail(t, what, rc);
		return;
	}
	if (t->ld != NULL)
		(void)ll.ldap_get_option(t->ld, LDAP_OPT_DIAGNOSTIC_MESSAGE, &diag);
	log_warnx("lookup %s: %s: %s: %s%s%s, trying %s", t->name,
	    t->uris[t->cur], what, ll.ldap_err2string(rc), diag && *diag ? ": " :
	    "", diag ? diag : "", t->uris[t->cur + 1]);
	ll.ldap_memfree(diag);
	lookup_ldap_drop(t);
	t->cur++;
	lookup_ldap_opening(t);
}

/*
 * lookup_ldap_lost - the connection broke: a kept one (the server closed
 * it while idle, or restarted) is opened again once for its searches,
 * a new one fails them
 */
static void
lookup_ldap_lost(struct lookup_ldap *t, const char *what, int rc)
{
	struct lookup_ldap_query *q;
	int again = t->kept && (rc == LDAP_SERVER_DOWN ||
	    rc == LDAP_CONNECT_ERROR);

	if (t->state != LL_READY) {
		lookup_ldap_broken(t, what, rc);
		return;
	}
	TAILQ_FOREACH(q, &t->queries, link)
		if (q->answer == LOOKUP_PENDING && q->resent)
			again = 0;
	if (!again) {
		lookup_ldap_fail(t, what, rc);
		return;
	}
	log_debug("lookup %s: connection lost (%s), reconnecting for %zu "
	    "queries", t->name, ll.ldap_err2string(rc), t->npending);
	lookup_ldap_drop(t);
	t->cur = 0;
	TAILQ_FOREACH(q, &t->queries, link)
		q->resent = q->answer == LOOKUP_PENDING;
	if (t->npending > 0)
		lookup_ldap_opening(t);
}

/* lookup_ldap_net - the bound of a connect and of a TLS handshake */
static struct timeval
lookup_ldap_net(const struct lookup_ldap *t)
{
	struct timeval tv = { t->timeout < LOOKUP_LDAP_NET_MAX ? t->timeout :
	    LOOKUP_LDAP_NET_MAX, 0 };

	return tv;
}

/* lookup_ldap_options - the options of a new connection */
static int
lookup_ldap_options(struct lookup_ldap *t)
{
	struct timeval tv = { t->timeout, 0 }, net = lookup_ldap_net(t);
	int v3 = LDAP_VERSION3;

	if (ll.ldap_set_option(t->ld, LDAP_OPT_PROTOCOL_VERSION, &v3) ||
	    ll.ldap_set_option(t->ld, LDAP_OPT_REFERRALS, LDAP_OPT_OFF) ||
	    ll.ldap_set_option(t->ld, LDAP_OPT_RESTART, LL_OPT_ON) ||
	    ll.ldap_set_option(t->ld, LDAP_OPT_NETWORK_TIMEOUT, &net) ||
	    ll.ldap_set_option(t->ld, LDAP_OPT_TIMEOUT, &tv))
		return -1;
	/* ldaps:// starts TLS inside libldap's connect: that one is bounded */
	if (strncasecmp(t->uris[t->cur], "ldaps://", 8) != 0 &&
	    ll.ldap_set_option(t->ld, LDAP_OPT_CONNECT_ASYNC, LL_OPT_ON))
		return -1;
	if (t->tls_ctx != NULL &&
	    (ll.ldap_set_option(t->ld, LDAP_OPT_X_TLS_REQUIRE_CERT,
	    &t->require_cert) ||
	    ll.ldap_set_option(t->ld, LDAP_OPT_X_TLS_CTX, t->tls_ctx)))
		return -1;
	return 0;
}

static void lookup_ldap_io(evutil_socket_t, short, void *);

/* lookup_ldap_watch - the loop watches the connection (EV_READ or EV_WRITE) */
static int
lookup_ldap_watch(struct lookup_ldap *t, short what)
{
	int fd = -1;

	if (t->io != NULL)
		event_free(t->io);
	t->io = NULL;
	if (ll.ldap_get_option(t->ld, LDAP_OPT_DESC, &fd) != LDAP_OPT_SUCCESS ||
	    fd < 0)
		return -1;
	t->io = event_new(t->evbase, fd, what | (what == EV_READ ?
	    EV_PERSIST : 0), lookup_ldap_io, t);
	if (t->io == NULL || event_add(t->io, NULL) == -1)
		return -1;
	return 0;
}

/* lookup_ldap_bind - send the bind (anonymous without a bind DN) */
static int
lookup_ldap_bind(struct lookup_ldap *t)
{
	struct berval cred = { 0, NULL };

	if (t->bind_dn != NULL) {
		cred.bv_val = t->pass;
		cred.bv_len = t->passlen;
	}
	return ll.ldap_sasl_bind(t->ld, t->bind_dn != NULL ? t->bind_dn : "",
	    LDAP_SASL_SIMPLE, &cred, NULL, NULL, &t->op_msgid);
}

/*
 * lookup_ldap_opening - the first request of a connection (StartTLS or
 * the bind), opening it first if needed; sent again while connecting
 */
static void
lookup_ldap_opening(struct lookup_ldap *t)
{
	struct timeval net = lookup_ldap_net(t);
	int rc, tls;

	if (t->ld == NULL) {
		rc = ll.ldap_initialize(&t->ld, t->uris[t->cur]);
		if (rc != LDAP_SUCCESS) {
			t->ld = NULL;
			lookup_ldap_broken(t, "connect", rc);
			return;
		}
		if (lookup_ldap_options(t) == -1) {
			lookup_ldap_fail(t, "options", LDAP_OTHER);
			return;
		}
		t->state = LL_CONNECTING;
		evtimer_add(t->conn_timer, &net);
	}
	tls = t->start_tls && !ll.ldap_tls_inplace(t->ld);
	rc = tls ? ll.ldap_start_tls(t->ld, NULL, NULL, &t->op_msgid) :
	    lookup_ldap_bind(t);
	if (rc == LDAP_X_CONNECTING) {
		if (lookup_ldap_watch(t, EV_WRITE) == -1)
			lookup_ldap_broken(t, "connect", LDAP_LOCAL_ERROR);
		return;
	}
	if (rc != LDAP_SUCCESS) {
		lookup_ldap_broken(t, rc == LDAP_SERVER_DOWN ||
		    rc == LDAP_CONNECT_ERROR ? "connect" : tls ? "StartTLS" :
		    "bind", rc);
		return;
	}
	t->state = tls ? LL_STARTTLS : LL_BINDING;
	if (lookup_ldap_watch(t, EV_READ) == -1)
		lookup_ldap_broken(t, "connect", LDAP_LOCAL_ERROR);
}

/* lookup_ldap_conn_timer - a connection that does not open in time */
static void
lookup_ldap_conn_timer(evutil_socket_t fd, short what, void *arg)
{
	struct lookup_ldap *t = arg;

	(void)fd;
	(void)what;
	if (t->state != LL_DOWN && t->state != LL_READY)
		lookup_ldap_broken(t, "connect", LDAP_TIMEOUT);
}

/* lookup_ldap_opened - the answer to StartTLS or to the bind */
static void
lookup_ldap_opened(struct lookup_ldap *t, LDAPMessage *res)
{
	const char *what = t->state == LL_STARTTLS ? "StartTLS" : "bind";
	int rc, err = LDAP_OTHER;

	rc = ll.ldap_parse_result(t->ld, res, &err, NULL, NULL, NULL, NULL, 0);
	if (rc != LDAP_SUCCESS || err != LDAP_SUCCESS) {
		lookup_ldap_broken(t, what, rc != LDAP_SUCCESS ? rc : err);
		return;
	}
	if (t->state == LL_STARTTLS) {
		/* the handshake: bounded by LDAP_OPT_NETWORK_TIMEOUT */
		if ((rc = ll.ldap_install_tls(t->ld)) != LDAP_SUCCESS) {
			lookup_ldap_broken(t, "TLS handshake", rc);
			return;
		}
		if (t->bind_dn != NULL) {
			if ((rc = lookup_ldap_bind(t)) != LDAP_SUCCESS) {
				lookup_ldap_broken(t, "bind", rc);
				return;
			}
			t->state = LL_BINDING;
			return;
		}
	}
	t->state = LL_READY;
	t->op_msgid = -1;
	evtimer_del(t->conn_timer);
	log_debug("lookup %s: connected to %s", t->name, t->uris[t->cur]);
	lookup_ldap_send_all(t);
}

/* lookup_ldap_send - one search out on the ready connection; 0 or -1 */
static int
lookup_ldap_send(struct lookup_ldap *t, struct lookup_ldap_query *q)
{
	struct timeval tv = { t->timeout, 0 };
	int rc;

	rc = ll.ldap_search_ext(t->ld, t->base, t->scope, q->filter, t->attrs, 0,
	    NULL, NULL, &tv, LOOKUP_MAX_VALUES, &q->msgid);
	if (rc != LDAP_SUCCESS) {
		q->msgid = -1;
		lookup_ldap_lost(t, "search", rc);
		return -1;
	}
	return 0;
}

/* lookup_ldap_send_all - the searches that waited for the connection */
static void
lookup_ldap_send_all(struct lookup_ldap *t)
{
	struct lookup_ldap_query *q;
	size_t n = 0;

	TAILQ_FOREACH(q, &t->queries, link) {
		if (q->answer != LOOKUP_PENDING || q->msgid != -1)
			continue;
		if (lookup_ldap_send(t, q) == -1)
			return;		/* failed or sent again from scratch */
		n++;
	}
	if (n > 0)
		log_debug("lookup %s: %zu searches sent, %zu in flight",
		    t->name, n, t->npending);
}

/* lookup_ldap_add - one value of the answer (once, bounded) */
static void
lookup_ldap_add(struct lookup_ldap_query *q, const struct berval *bv)
{
	size_t i;

	if (bv->bv_len == 0 || bv->bv_len > LOOKUP_LDAP_VALMAX ||
	    memchr(bv->bv_val, '\0', bv->bv_len) != NULL ||
	    q->nvals >= LOOKUP_MAX_VALUES)
		return;
	for (i = 0; i < q->nvals; i++)
		if (strlen(q->vals[i]) == bv->bv_len &&
		    strncasecmp(q->vals[i], bv->bv_val, bv->bv_len) == 0)
			return;
	q->vals = xreallocarray(q->vals, q->nvals + 1, sizeof(*q->vals));
	q->vals[q->nvals] = xmalloc(bv->bv_len + 1);
	memcpy(q->vals[q->nvals], bv->bv_val, bv->bv_len);
	q->vals[q->nvals++][bv->bv_len] = '\0';
}

/* lookup_ldap_answer - a search's entries and result: the query lands */
static void
lookup_ldap_answer(struct lookup_ldap *t, struct lookup_ldap_query *q,
    LDAPMessage *res)
{
	struct berval **bv;
	LDAPMessage *e;
	int rc, err = LDAP_OTHER;
	size_t i;

	rc = ll.ldap_parse_result(t->ld, res, &err, NULL, NULL, NULL, NULL, 0);
	if (rc != LDAP_SUCCESS || (err != LDAP_SUCCESS &&
	    err != LDAP_SIZELIMIT_EXCEEDED)) {
		log_warnx("lookup %s: search: %s (temporary failure)", t->name,
		    ll.ldap_err2string(rc != LDAP_SUCCESS ? rc : err));
		lookup_ldap_land(t, q, -1);
		return;
	}
	for (e = ll.ldap_first_entry(t->ld, res); e != NULL;
	    e = ll.ldap_next_entry(t->ld, e)) {
		if ((bv = ll.ldap_get_values_len(t->ld, e, t->attrs[0])) == NULL)
			continue;
		for (i = 0; bv[i] != NULL; i++)
			lookup_ldap_add(q, bv[i]);
		ll.ldap_value_free_len(bv);
	}
	t->kept = 1;
	lookup_ldap_land(t, q, q->nvals > 0 ? 0 : 1);
}

/* lookup_ldap_dispatch - one complete answer from the server */
static void
lookup_ldap_dispatch(struct lookup_ldap *t, LDAPMessage *res)
{
	struct lookup_ldap_query *q;
	int id = ll.ldap_msgid(res);

	if ((t->state == LL_STARTTLS || t->state == LL_BINDING) &&
	    id == t->op_msgid) {
		lookup_ldap_opened(t, res);
		return;
	}
	if (ll.ldap_msgtype(res) == LDAP_RES_EXTENDED && id == 0) {
		lookup_ldap_lost(t, "notice of disconnection", LDAP_SERVER_DOWN);
		return;
	}
	TAILQ_FOREACH(q, &t->queries, link)
		if (q->answer == LOOKUP_PENDING && q->msgid == id) {
			lookup_ldap_answer(t, q, res);
			return;
		}
	/* an answer to a search that timed out before: nobody waits */
}

/* lookup_ldap_io - the connection is readable (or, connecting, writable) */
static void
lookup_ldap_io(evutil_socket_t fd, short what, void *arg)
{
	struct lookup_ldap *t = arg;
	struct timeval zero = { 0, 0 };
	LDAPMessage *res;
	int rc, err = LDAP_SERVER_DOWN;

	(void)fd;
	(void)what;
	if (t->state == LL_CONNECTING) {
		lookup_ldap_opening(t);
		return;
	}
	while (t->ld != NULL) {
		res = NULL;
		rc = ll.ldap_result(t->ld, LDAP_RES_ANY, LDAP_MSG_ALL, &zero, &res);
		if (rc == 0)
			break;
		if (rc == -1) {
			(void)ll.ldap_get_option(t->ld, LDAP_OPT_RESULT_CODE, &err);
			lookup_ldap_lost(t, "connection", err);
			break;
		}
		lookup_ldap_dispatch(t, res);
		ll.ldap_msgfree(res);
	}
}

/* lookup_ldap_timer - a query had no answer in time: the server hangs */
static void
lookup_ldap_timer(evutil_socket_t fd, short what, void *arg)
{
	struct lookup_ldap_query *q = arg;
	struct lookup_ldap *t = q->t;

	(void)fd;
	(void)what;
	log_warnx("lookup %s: no answer in %d s", t->name, t->timeout);
	if (q->msgid != -1 && t->ld != NULL)
		(void)ll.ldap_abandon_ext(t->ld, q->msgid, NULL, NULL);
	lookup_ldap_fail(t, t->state == LL_READY ? "search" : "connect",
	    LDAP_TIMEOUT);
}

/* lookup_ldap_find - the query of key (asked or kept), or NULL */
static struct lookup_ldap_query *
lookup_ldap_find(struct lookup_ldap *t, const char *key)
{
	struct lookup_ldap_query *q, *next;
	/* longer than two queries: a decision that needs several converges */
	time_t old = time(NULL) - LOOKUP_LDAP_KEEP_MAX - 2 * t->timeout;

	TAILQ_FOREACH_SAFE(q, &t->queries, link, next) {
		if (q->answer != LOOKUP_PENDING && q->landed < old) {
			lookup_ldap_free(t, q);
			continue;
		}
		if (strcmp(q->key, key) == 0)
			return q;
	}
	return NULL;
}

/* lookup_ldap_ask - a new query for key: sent now or once connected */
static struct lookup_ldap_query *
lookup_ldap_ask(struct lookup_ldap *t, const char *key, const char *filter)
{
	struct timeval tv = { t->timeout, 0 };
	struct lookup_ldap_query *q, *old, *next;

	TAILQ_FOREACH_SAFE(old, &t->queries, link, next)
		if (t->nqueries >= LOOKUP_LDAP_KEPT &&
		    old->answer != LOOKUP_PENDING)
			lookup_ldap_free(t, old);
	q = xcalloc(1, sizeof(*q));
	q->t = t;
	q->key = xstrdup(key);
	q->filter = xstrdup(filter);
	q->answer = LOOKUP_PENDING;
	q->msgid = -1;
	if ((q->timer = evtimer_new(t->evbase, lookup_ldap_timer, q)) == NULL)
		fatalx("evtimer_new failed");
	evtimer_add(q->timer, &tv);
	TAILQ_INSERT_TAIL(&t->queries, q, link);
	t->nqueries++;
	t->npending++;
	if (t->state == LL_READY) {
		if (lookup_ldap_send(t, q) == 0)
			log_debug("lookup %s: search #%d sent, %zu in flight",
			    t->name, q->msgid, t->npending);
	} else if (t->state == LL_DOWN)
		lookup_ldap_opening(t);
	return q;
}

/* lookup_ldap_get - the kept answer for key, or ask the directory */
static int
lookup_ldap_get(void *ctx, const char *key, const char *const **vals,
    size_t *n)
{
	struct lookup_ldap *t = ctx;
	struct lookup_ldap_query *q;
	char filter[LOOKUP_LDAP_FILTERMAX];

	if (lookup_filter_expand(t->filter, key, filter, sizeof(filter)) == -1)
		return 1;	/* no such key can exist */
	if ((q = lookup_ldap_find(t, key)) == NULL) {
		if (t->evbase == NULL) {
			log_warnx("lookup %s: not attached to an event loop",
			    t->name);
			return -1;
		}
		if (time(NULL) < t->hold_until)
			return -1;	/* logged when it failed */
		if (t->npending >= LOOKUP_LDAP_INFLIGHT ||
		    t->nqueries >= LOOKUP_LDAP_KEPT + LOOKUP_LDAP_INFLIGHT) {
			log_warnx("lookup %s: %zu queries in flight already "
			    "(temporary failure)", t->name, t->npending);
			return -1;
		}
		q = lookup_ldap_ask(t, key, filter);
	}
	if (q->answer == 0) {
		*vals = (const char *const *)q->vals;
		*n = q->nvals;
	}
	return q->answer;
}

/* lookup_ldap_attach - the event loop the table works on */
static void
lookup_ldap_attach(void *ctx, struct event_base *base,
    void (*landed)(void *, const char *), void *arg)
{
	struct lookup_ldap *t = ctx;

	t->evbase = base;
	t->landed = landed;
	t->landed_arg = arg;
	t->conn_timer = evtimer_new(base, lookup_ldap_conn_timer, t);
	if (t->conn_timer == NULL)
		fatalx("evtimer_new failed");
}

/* lookup_ldap_release - forget the kept answers (nothing waits for them) */
static void
lookup_ldap_release(void *ctx)
{
	struct lookup_ldap *t = ctx;
	struct lookup_ldap_query *q, *next;

	TAILQ_FOREACH_SAFE(q, &t->queries, link, next)
		if (q->answer != LOOKUP_PENDING)
			lookup_ldap_free(t, q);
}

/* lookup_ldap_close - drop the connection, wipe the password */
static void
lookup_ldap_close(void *ctx)
{
	struct lookup_ldap *t = ctx;
	size_t i;

	if (t == NULL)
		return;
	lookup_ldap_drop(t);
	while (!TAILQ_EMPTY(&t->queries))
		lookup_ldap_free(t, TAILQ_FIRST(&t->queries));
	if (t->conn_timer != NULL)
		event_free(t->conn_timer);
	for (i = 0; i < t->nuris; i++)
		free(t->uris[i]);
	free(t->uris);
	if (t->pass != NULL)
		explicit_bzero(t->pass, t->passlen);
	free(t->pass);
	free(t->name);
	free(t->uri);
	free(t->base);
	free(t->filter);
	free(t->attrs[0]);
	free(t->bind_dn);
	/* tls_ctx: libldap has no public call to release it (process life) */
	free(t);
}

static const struct lookup_backend lookup_ldap_backend = {
	"ldap", NULL, lookup_ldap_get, lookup_ldap_close, lookup_ldap_attach,
	lookup_ldap_release
};

/* lookup_ldap_uris - the URIs, one each (libldap would stop at the first) */
static void
lookup_ldap_uris(struct lookup_ldap *t)
{
	char *copy = xstrdup(t->uri), *u, *save = NULL;

	for (u = strtok_r(copy, " \t", &save); u != NULL;
	    u = strtok_r(NULL, " \t", &save)) {
		t->uris = xreallocarray(t->uris, t->nuris + 1, sizeof(*t->uris));
		t->uris[t->nuris++] = xstrdup(u);
	}
	if (t->nuris == 0) {	/* the loader refuses it: keep a valid table */
		t->uris = xcalloc(1, sizeof(*t->uris));
		t->uris[t->nuris++] = xstrdup(t->uri);
	}
	free(copy);
}

/* lookup_ldap_open - an LDAP table from its settings (before the drop) */
struct lookup *
lookup_ldap_open(const struct cfg_lookup *c, char *err, size_t errlen)
{
	const struct cfg_ldap *d = &c->ldap;
	struct lookup_ldap *t;

	if (ll_load(c->name, err, errlen) == -1)
		return NULL;
	t = xcalloc(1, sizeof(*t));
	TAILQ_INIT(&t->queries);
	t->op_msgid = -1;
	t->name = xstrdup(c->name);
	t->uri = xstrdup(d->uri);
	lookup_ldap_uris(t);
	t->base = xstrdup(d->base);
	t->scope = d->scope == NULL || strcmp(d->scope, "sub") == 0 ?
	    LDAP_SCOPE_SUBTREE : strcmp(d->scope, "one") == 0 ?
	    LDAP_SCOPE_ONELEVEL : LDAP_SCOPE_BASE;
	t->filter = xstrdup(d->filter);
	t->attrs[0] = xstrdup(d->attribute);
	t->bind_dn = d->bind_dn != NULL ? xstrdup(d->bind_dn) : NULL;
	t->start_tls = d->start_tls;
	t->timeout = (int)d->timeout;
	t->require_cert = d->tls_verify ? LDAP_OPT_X_TLS_DEMAND :
	    LDAP_OPT_X_TLS_NEVER;
	if ((d->bind_password_file != NULL && lookup_ldap_password(t,
	    d->bind_password_file, err, errlen) == -1) ||
	    lookup_ldap_tls(t, d, err, errlen) == -1) {
		lookup_ldap_close(t);
		return NULL;
	}
	return lookup_new(&lookup_ldap_backend, t);
}
