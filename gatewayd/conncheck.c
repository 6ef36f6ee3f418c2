/*
 * conncheck.c - warnings about connector settings (see conncheck.h)
 */
#include "config.h"

#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <gatewayd/connector.h>

#include "cfg.h"
#include "conncheck.h"
#include "../connectors/pipe.h"

/* conncheck_child - the entry key of map m, or NULL */
static const struct gw_node *
conncheck_child(const struct gw_node *m, const char *key)
{
	const struct gw_node *n;

	if (m == NULL || m->type != GW_NODE_MAP)
		return NULL;
	for (n = m->child; n != NULL; n = n->next)
		if (n->key != NULL && strcmp(n->key, key) == 0)
			return n;
	return NULL;
}

/* conncheck_value - the text of a scalar node, or dflt */
static const char *
conncheck_value(const struct gw_node *n, const char *dflt)
{
	if (n == NULL || n->type != GW_NODE_SCALAR || n->value == NULL)
		return dflt;
	return n->value;
}

/* conncheck_true - the connectors' spelling of a true boolean */
static int
conncheck_true(const char *v)
{
	return strcasecmp(v, "true") == 0 || strcasecmp(v, "yes") == 0 ||
	    strcasecmp(v, "on") == 0;
}

/* conncheck_smtp - the smtp connector's auth.tls and starttls */
static unsigned int
conncheck_smtp(const struct cfg *c, const struct cfg_connector *cc, FILE *out)
{
	const struct gw_node *auth, *tls;
	const char *t, *st, *cleartext;
	unsigned int n = 0;

	auth = conncheck_child(cc->settings, "auth");
	if (auth == NULL || auth->type != GW_NODE_MAP)
		return 0;
	tls = conncheck_child(auth, "tls");
	t = conncheck_value(tls, "verify");
	st = conncheck_value(conncheck_child(cc->settings, "starttls"),
	    "opportunistic");
	cleartext = conncheck_value(conncheck_child(auth, "cleartext"),
	    "false");
	if (strcmp(t, "encrypt") == 0 || strcmp(t, "none") == 0) {
		fprintf(out, "gatewayd: warning: %s:%u:%u: connector %s: "
		    "auth.tls is %s: the relay password %s%s\n", c->file,
		    tls->line, tls->column, cc->name, t, strcmp(t, "none") ?
		    "is sent over TLS without checking the upstream's "
		    "certificate" : "may be sent without TLS", strcmp(t,
		    "none") == 0 && conncheck_true(cleartext) ? ", PLAIN and "
		    "LOGIN in the clear (auth.cleartext)" : "");
		n++;
	}
	if (strcmp(t, "none") != 0 && conncheck_true(cleartext)) {
		fprintf(out, "gatewayd: warning: %s:%u:%u: connector %s: "
		    "auth.cleartext has no effect while auth.tls is %s (AUTH "
		    "only over TLS; auth.tls: none allows cleartext)\n",
		    c->file, auth->line, auth->column, cc->name, t);
		n++;
	}
	if (strcmp(t, "none") != 0 && strcmp(st, "none") == 0) {
		fprintf(out, "gatewayd: warning: %s:%u:%u: connector %s: auth "
		    "is set but starttls is none: AUTH is never sent (auth.tls "
		    "is %s), every delivery is deferred\n", c->file,
		    auth->line, auth->column, cc->name, t);
		n++;
	}
	return n;
}

/* conncheck_smtp_tls - the smtp connector's tls_min_version below TLS 1.2 */
static unsigned int
conncheck_smtp_tls(const struct cfg *c, const struct cfg_connector *cc,
    FILE *out)
{
	const struct gw_node *n = conncheck_child(cc->settings,
	    "tls_min_version");
	const char *v = conncheck_value(n, NULL);

	if (v == NULL || (strcmp(v, "TLSv1") != 0 &&
	    strcmp(v, "TLSv1.0") != 0 && strcmp(v, "TLSv1.1") != 0))
		return 0;
	fprintf(out, "gatewayd: warning: %s:%u:%u: connector %s: "
	    "tls_min_version is %s: TLS 1.0 and 1.1 are obsolete (RFC 8996) "
	    "and run at OpenSSL security level 0\n", c->file, n->line,
	    n->column, cc->name, v);
	return 1;
}

/*
 * conncheck_errors - settings the connector itself would refuse at its
 * start: the pipe connector's, by its own parser (connectors/pipe_config.c)
 */
int
conncheck_errors(const struct cfg *c, char *err, size_t errlen)
{
	struct pipe_cfg pc;
	struct passwd *pw;
	uid_t uid = geteuid();
	size_t i;
	int rc = 0;

	if (uid == 0 && c->user != NULL && (pw = getpwnam(c->user)) != NULL)
		uid = pw->pw_uid;	/* what the workers will run as */
	for (i = 0; i < c->nconnectors && rc == 0; i++) {
		if (strcmp(c->connectors[i].type, "pipe") != 0)
			continue;
		rc = pipe_config(&pc, c->connectors[i].settings, uid, err,
		    errlen);
		pipe_config_free(&pc);
	}
	return rc;
}

/* conncheck_warnings - every connector instance, by type */
unsigned int
conncheck_warnings(const struct cfg *c, FILE *out)
{
	unsigned int n = 0;
	size_t i;

	for (i = 0; i < c->nconnectors; i++)
		if (strcmp(c->connectors[i].type, "smtp") == 0)
			n += conncheck_smtp(c, &c->connectors[i], out) +
			    conncheck_smtp_tls(c, &c->connectors[i], out);
	return n;
}
