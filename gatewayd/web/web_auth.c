/*
 * web_auth.c - gatewayd-web's password check: the configured SASL backend
 * (sasl.*), as SMTP AUTH uses it
 *
 * sasl_server_new() and sasl_checkpass() with the receiver's options
 * (saslopt.c): sasldb through the auxprop plugin, or saslauthd.  The
 * check blocks the web child's request thread for at most the backend's
 * own time (saslauthd: its socket).  The password is only passed on,
 * never logged or kept: the caller wipes its copy.
 */
#include "config.h"

#include <string.h>

#include <sasl/sasl.h>

#include "cfg.h"
#include "log.h"
#include "saslopt.h"
#include "web.h"

#define WEB_AUTH_SERVICE	"smtp"	/* the same credentials as SMTP AUTH */

static const struct cfg *web_auth_cfg;

/* web_auth_init - load the SASL plugins (before the privilege drop) */
int
web_auth_init(const struct cfg *cfg)
{
	int r;

	web_auth_cfg = cfg;
	if ((r = sasl_server_init(saslopt_callbacks(cfg), "gatewayd")) !=
	    SASL_OK) {
		log_warnx("web: sasl_server_init: %s",
		    sasl_errstring(r, NULL, NULL));
		return -1;
	}
	log_info("web: logins checked with %s (%s)", cfg->sasl.backend ==
	    CFG_SASL_SASLDB ? "sasldb" : "saslauthd", cfg->sasl.backend ==
	    CFG_SASL_SASLDB ? cfg->sasl.sasldb_path : cfg->sasl.saslauthd_path);
	return 0;
}

/* web_auth_check - is pass the password of user? */
int
web_auth_check(const char *user, const char *pass)
{
	sasl_conn_t *conn;
	int r;

	if (sasl_server_new(WEB_AUTH_SERVICE, web_auth_cfg->smtp.hostname,
	    NULL, NULL, NULL, NULL, 0, &conn) != SASL_OK)
		return -1;
	r = sasl_checkpass(conn, user, (unsigned)strlen(user), pass,
	    (unsigned)strlen(pass));
	sasl_dispose(&conn);
	if (r == SASL_OK)
		return 1;
	if (r == SASL_BADAUTH || r == SASL_NOUSER || r == SASL_NOVERIFY ||
	    r == SASL_DISABLED || r == SASL_EXPIRED)
		return 0;
	log_warnx("web: password check failed: %s", sasl_errstring(r, NULL,
	    NULL));
	return -1;
}
