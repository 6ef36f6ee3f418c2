/*
 * lookup_ldap.c - the ldap lookup backend (lookup.h), router only
 *
 * A get is one search: the filter template expanded with the key
 * (lookup_filter_expand, RFC 4515 escapes), the values of one attribute
 * of every entry found are the answer.  One connection per table, made
 * at the first query (ldap_initialize with every configured URI, tried in
 * order), StartTLS when asked, then a simple bind when a bind DN is set;
 * it is kept for the next queries and dropped on any error, and a search
 * that fails on a kept connection is tried once more on a new one (the
 * server may have closed an idle connection or restarted).  After a
 * failed connection no new one is tried for LOOKUP_LDAP_HOLD seconds:
 * queries fail at once meanwhile, so a dead server costs one timeout, not
 * one per recipient.  Every failure is a temporary one (-1): the router
 * defers the message, it never bounces it.
 *
 * The calls are libldap's synchronous ones, bounded by the lookup's
 * timeout: LDAP_OPT_NETWORK_TIMEOUT for each connect, LDAP_OPT_TIMEOUT
 * for StartTLS and the bind, the search's own time limit for the search.
 * The router waits for them (it routes one message at a time); the
 * receiver never does.
 *
 * Before the privilege drop (lookup_ldap_open): the bind password is read
 * from its file (kept in memory, wiped at close, never logged) and, for
 * ldaps:// or StartTLS, a TLS context is made with the CA file (read
 * then: the router runs chrooted into the spool afterwards); every
 * connection uses that context.  No connection is made then, so a server
 * that is down at start-up does not stop the router.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <ldap.h>

#include "cfg.h"
#include "log.h"
#include "lookup.h"
#include "xmalloc.h"

#define LOOKUP_LDAP_HOLD	5	/* seconds without a new connection */
#define LOOKUP_LDAP_PASSMAX	1024	/* bytes of a bind password file */
#define LOOKUP_LDAP_VALMAX	1024	/* bytes of one value */
#define LOOKUP_LDAP_FILTERMAX	2048

struct lookup_ldap {
	char *name;			/* the lookup's name, for log lines */
	char *uri;
	char *base;
	int scope;
	char *filter;
	char *attrs[2];
	char *bind_dn;			/* NULL: anonymous, no bind */
	char *pass;			/* the bind password, wiped at close */
	size_t passlen;
	int start_tls;
	int require_cert;		/* LDAP_OPT_X_TLS_* */
	int timeout;
	void *tls_ctx;			/* made before the drop, or NULL */
	LDAP *ld;			/* NULL until used, and after an error */
	time_t hold_until;		/* no new connection before */
	char **vals;			/* the last answer */
	size_t nvals;
};

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
	char buf[LOOKUP_LDAP_PASSMAX + 1];
	struct stat sb;
	ssize_t r;
	size_t len = 0;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1) {
		lookup_ldap_err(err, errlen, t->name, path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &sb) == -1 || !S_ISREG(sb.st_mode)) {
		close(fd);
		lookup_ldap_err(err, errlen, t->name, path, "not a regular file");
		return -1;
	}
	while (len < sizeof(buf) - 1 &&
	    (r = read(fd, buf + len, sizeof(buf) - 1 - len)) > 0)
		len += (size_t)r;
	close(fd);
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		len--;
	if (len == 0 || len >= LOOKUP_LDAP_PASSMAX) {
		explicit_bzero(buf, sizeof(buf));
		lookup_ldap_err(err, errlen, t->name, path,
		    "empty, or longer than 1023 bytes");
		return -1;
	}
	t->pass = xmalloc(len + 1);
	memcpy(t->pass, buf, len);
	t->pass[len] = '\0';
	t->passlen = len;
	explicit_bzero(buf, sizeof(buf));
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
	if ((rc = ldap_initialize(&ld, t->uri)) != LDAP_SUCCESS) {
		lookup_ldap_err(err, errlen, t->name, "uri", ldap_err2string(rc));
		return -1;
	}
	if ((c->tls_ca_file != NULL && (rc = ldap_set_option(ld,
	    LDAP_OPT_X_TLS_CACERTFILE, c->tls_ca_file)) != LDAP_OPT_SUCCESS) ||
	    (rc = ldap_set_option(ld, LDAP_OPT_X_TLS_REQUIRE_CERT,
	    &t->require_cert)) != LDAP_OPT_SUCCESS ||
	    (rc = ldap_set_option(ld, LDAP_OPT_X_TLS_NEWCTX, &zero)) !=
	    LDAP_OPT_SUCCESS ||
	    ldap_get_option(ld, LDAP_OPT_X_TLS_CTX, &t->tls_ctx) !=
	    LDAP_OPT_SUCCESS || t->tls_ctx == NULL) {
		ldap_unbind_ext_s(ld, NULL, NULL);
		lookup_ldap_err(err, errlen, t->name, c->tls_ca_file ?
		    c->tls_ca_file : "TLS", "cannot make the TLS context "
		    "(CA file unreadable or invalid?)");
		return -1;
	}
	/* our reference to the context outlives the template handle */
	ldap_unbind_ext_s(ld, NULL, NULL);
	return 0;
}

/* lookup_ldap_drop - forget the connection after an error */
static void
lookup_ldap_drop(struct lookup_ldap *t)
{
	if (t->ld != NULL)
		ldap_unbind_ext_s(t->ld, NULL, NULL);
	t->ld = NULL;
}

/* lookup_ldap_fail - log a failure, drop the connection, hold off */
static int
lookup_ldap_fail(struct lookup_ldap *t, const char *what, int rc)
{
	char *diag = NULL;

	if (t->ld != NULL)
		(void)ldap_get_option(t->ld, LDAP_OPT_DIAGNOSTIC_MESSAGE, &diag);
	log_warnx("lookup %s: %s: %s%s%s (temporary failure)", t->name, what,
	    ldap_err2string(rc), diag && *diag ? ": " : "", diag ? diag : "");
	ldap_memfree(diag);
	lookup_ldap_drop(t);
	t->hold_until = time(NULL) + LOOKUP_LDAP_HOLD;
	return -1;
}

/* lookup_ldap_options - the options of a new connection */
static int
lookup_ldap_options(struct lookup_ldap *t)
{
	struct timeval tv = { t->timeout, 0 };
	int v3 = LDAP_VERSION3;

	if (ldap_set_option(t->ld, LDAP_OPT_PROTOCOL_VERSION, &v3) ||
	    ldap_set_option(t->ld, LDAP_OPT_REFERRALS, LDAP_OPT_OFF) ||
	    ldap_set_option(t->ld, LDAP_OPT_RESTART, LDAP_OPT_ON) ||
	    ldap_set_option(t->ld, LDAP_OPT_NETWORK_TIMEOUT, &tv) ||
	    ldap_set_option(t->ld, LDAP_OPT_TIMEOUT, &tv))
		return -1;
	if (t->tls_ctx != NULL &&
	    (ldap_set_option(t->ld, LDAP_OPT_X_TLS_REQUIRE_CERT,
	    &t->require_cert) ||
	    ldap_set_option(t->ld, LDAP_OPT_X_TLS_CTX, t->tls_ctx)))
		return -1;
	return 0;
}

/* lookup_ldap_connect - a connection, new if needed; 0 or -1 */
static int
lookup_ldap_connect(struct lookup_ldap *t)
{
	struct berval cred;
	int rc;

	if (t->ld != NULL)
		return 0;
	if (time(NULL) < t->hold_until)
		return -1;	/* logged when it failed */
	if ((rc = ldap_initialize(&t->ld, t->uri)) != LDAP_SUCCESS) {
		t->ld = NULL;
		return lookup_ldap_fail(t, "connect", rc);
	}
	if (lookup_ldap_options(t) == -1)
		return lookup_ldap_fail(t, "options", LDAP_OTHER);
	if (t->start_tls && !ldap_tls_inplace(t->ld) &&
	    (rc = ldap_start_tls_s(t->ld, NULL, NULL)) != LDAP_SUCCESS)
		return lookup_ldap_fail(t, "StartTLS", rc);
	if (t->bind_dn == NULL)
		return 0;
	cred.bv_val = t->pass;
	cred.bv_len = t->passlen;
	rc = ldap_sasl_bind_s(t->ld, t->bind_dn, LDAP_SASL_SIMPLE, &cred, NULL,
	    NULL, NULL);
	if (rc != LDAP_SUCCESS)
		return lookup_ldap_fail(t, "bind", rc);
	return 0;
}

/* lookup_ldap_clear - forget the last answer */
static void
lookup_ldap_clear(struct lookup_ldap *t)
{
	size_t i;

	for (i = 0; i < t->nvals; i++)
		free(t->vals[i]);
	free(t->vals);
	t->vals = NULL;
	t->nvals = 0;
}

/* lookup_ldap_add - one value of the answer (once, bounded) */
static void
lookup_ldap_add(struct lookup_ldap *t, const struct berval *bv)
{
	size_t i;

	if (bv->bv_len == 0 || bv->bv_len > LOOKUP_LDAP_VALMAX ||
	    memchr(bv->bv_val, '\0', bv->bv_len) != NULL ||
	    t->nvals >= LOOKUP_MAX_VALUES)
		return;
	for (i = 0; i < t->nvals; i++)
		if (strlen(t->vals[i]) == bv->bv_len &&
		    strncasecmp(t->vals[i], bv->bv_val, bv->bv_len) == 0)
			return;
	t->vals = xreallocarray(t->vals, t->nvals + 1, sizeof(*t->vals));
	t->vals[t->nvals] = xmalloc(bv->bv_len + 1);
	memcpy(t->vals[t->nvals], bv->bv_val, bv->bv_len);
	t->vals[t->nvals++][bv->bv_len] = '\0';
}

/* lookup_ldap_collect - the attribute's values of every entry */
static void
lookup_ldap_collect(struct lookup_ldap *t, LDAPMessage *res)
{
	struct berval **bv;
	LDAPMessage *e;
	size_t i;

	for (e = ldap_first_entry(t->ld, res); e != NULL;
	    e = ldap_next_entry(t->ld, e)) {
		if ((bv = ldap_get_values_len(t->ld, e, t->attrs[0])) == NULL)
			continue;
		for (i = 0; bv[i] != NULL; i++)
			lookup_ldap_add(t, bv[i]);
		ldap_value_free_len(bv);
	}
}

/* lookup_ldap_search - one search; LDAP result code */
static int
lookup_ldap_search(struct lookup_ldap *t, const char *filter)
{
	struct timeval tv = { t->timeout, 0 };
	LDAPMessage *res = NULL;
	int rc;

	rc = ldap_search_ext_s(t->ld, t->base, t->scope, filter, t->attrs, 0,
	    NULL, NULL, &tv, LOOKUP_MAX_VALUES, &res);
	if (rc == LDAP_SUCCESS || rc == LDAP_SIZELIMIT_EXCEEDED) {
		lookup_ldap_collect(t, res);
		rc = LDAP_SUCCESS;
	}
	ldap_msgfree(res);
	return rc;
}

/* lookup_ldap_get - search the directory for key */
static int
lookup_ldap_get(void *ctx, const char *key, const char *const **vals,
    size_t *n)
{
	struct lookup_ldap *t = ctx;
	char filter[LOOKUP_LDAP_FILTERMAX];
	int rc, reused, tries;

	lookup_ldap_clear(t);
	if (lookup_filter_expand(t->filter, key, filter, sizeof(filter)) == -1)
		return 1;	/* no such key can exist */
	for (tries = 0; tries < 2; tries++) {
		reused = t->ld != NULL;
		if (lookup_ldap_connect(t) == -1)
			return -1;
		if ((rc = lookup_ldap_search(t, filter)) == LDAP_SUCCESS)
			break;
		if (!reused || tries == 1 ||
		    (rc != LDAP_SERVER_DOWN && rc != LDAP_CONNECT_ERROR)) {
			lookup_ldap_clear(t);
			return lookup_ldap_fail(t, "search", rc);
		}
		log_debug("lookup %s: connection lost (%s), reconnecting",
		    t->name, ldap_err2string(rc));
		lookup_ldap_clear(t);
		lookup_ldap_drop(t);
	}
	if (t->nvals == 0)
		return 1;
	*vals = (const char *const *)t->vals;
	*n = t->nvals;
	return 0;
}

/* lookup_ldap_close - drop the connection, wipe the password */
static void
lookup_ldap_close(void *ctx)
{
	struct lookup_ldap *t = ctx;

	if (t == NULL)
		return;
	lookup_ldap_drop(t);
	lookup_ldap_clear(t);
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
	"ldap", NULL, lookup_ldap_get, lookup_ldap_close
};

/* lookup_ldap_open - an LDAP table from its settings (before the drop) */
struct lookup *
lookup_ldap_open(const struct cfg_lookup *c, char *err, size_t errlen)
{
	const struct cfg_ldap *d = &c->ldap;
	struct lookup_ldap *t;

	t = xcalloc(1, sizeof(*t));
	t->name = xstrdup(c->name);
	t->uri = xstrdup(d->uri);
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
