/*
 * smtp_auth.c - client AUTH (RFC 4954) through Cyrus libsasl2
 *
 * AUTH is only sent over the channel auth.tls allows: by default TLS with
 * a verified certificate (chain and host name), "encrypt" any TLS, "none"
 * a cleartext session as well; any other session is refused before a
 * byte of the credentials goes out (smtp_auth_channel).  The mechanisms
 * tried are those both the server announces and the settings allow
 * (default PLAIN LOGIN CRAM-MD5), in libsasl2's order of preference.
 * Mechanisms that send the password in the clear (PLAIN, LOGIN) are only
 * used inside TLS unless auth.cleartext is set.  No SASL security layer
 * is negotiated (max_ssf 0).  The password was read in init(); the SASL
 * secret handed to the library is wiped after each exchange.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sasl/sasl.h>
#include <sasl/saslutil.h>

#include "smtp.h"

#define SMTP_AUTH_B64_MAX	8192
/* libsasl2 stores callbacks as int (*)(void); void (*)(void) is the generic cast */
#define SMTP_AUTH_CB(f)		((int (*)(void))(void (*)(void))(f))

struct smtp_auth_state {
	struct smtp *s;
	sasl_secret_t *secret;
	size_t secretlen;
};

/* smtp_auth_init - libsasl2's client side, once per worker (before fork) */
int
smtp_auth_init(char *err, size_t errlen)
{
	static int done;
	int rc;

	if (done)
		return 0;
	if ((rc = sasl_client_init(NULL)) != SASL_OK) {
		snprintf(err, errlen, "smtp: sasl_client_init: %s",
		    sasl_errstring(rc, NULL, NULL));
		return -1;
	}
	done = 1;
	return 0;
}

/* smtp_auth_tls_name - the auth.tls value, for messages */
static const char *
smtp_auth_tls_name(enum smtp_auth_tls t)
{
	return t == SMTP_AUTH_TLS_VERIFY ? "verify" :
	    t == SMTP_AUTH_TLS_ENCRYPT ? "encrypt" : "none";
}

/* smtp_auth_channel - may the credentials go over this session? */
int
smtp_auth_channel(const struct smtp *s, const struct smtp_conn *c,
    struct smtp_fail *f)
{
	const char *why;

	if (s->auth_tls == SMTP_AUTH_TLS_NONE ||
	    (c->tls && (c->io.verified ||
	    s->auth_tls == SMTP_AUTH_TLS_ENCRYPT)))
		return 0;
	if (c->tls) {
		smtp_fail_set(f, 451, "4.7.5", "not sending AUTH to %s: its "
		    "TLS certificate is not verified (%s; auth.tls: verify "
		    "needs a certificate that ca_file or the system store "
		    "trusts, for the host name)", c->label,
		    c->io.verify_err[0] ? c->io.verify_err : "unknown");
		return -1;
	}
	why = s->starttls == SMTP_TLS_NONE ? "starttls is none" :
	    c->caps.starttls ? "STARTTLS was not used" :
	    "the upstream does not offer STARTTLS";
	smtp_fail_set(f, 451, "4.7.4", "not sending AUTH to %s without TLS "
	    "(%s; auth.tls: %s)", c->label, why,
	    smtp_auth_tls_name(s->auth_tls));
	return -1;
}

/* smtp_auth_simple - SASL_CB_USER / SASL_CB_AUTHNAME */
static int
smtp_auth_simple(void *ctx, int id, const char **result, unsigned *len)
{
	struct smtp_auth_state *st = ctx;

	if (id != SASL_CB_USER && id != SASL_CB_AUTHNAME)
		return SASL_BADPARAM;
	*result = st->s->username;
	if (len != NULL)
		*len = (unsigned)strlen(st->s->username);
	return SASL_OK;
}

/* smtp_auth_pass - SASL_CB_PASS */
static int
smtp_auth_pass(sasl_conn_t *conn, void *ctx, int id, sasl_secret_t **psecret)
{
	struct smtp_auth_state *st = ctx;

	(void)conn;
	if (id != SASL_CB_PASS)
		return SASL_BADPARAM;
	if (st->secret == NULL) {
		st->secretlen = sizeof(sasl_secret_t) + st->s->passlen + 1;
		if ((st->secret = calloc(1, st->secretlen)) == NULL)
			return SASL_NOMEM;
		st->secret->len = (unsigned long)st->s->passlen;
		memcpy(st->secret->data, st->s->password, st->s->passlen);
	}
	*psecret = st->secret;
	return SASL_OK;
}

/* smtp_auth_mechs - offered AND allowed (AND safe without TLS) mechanisms */
static void
smtp_auth_mechs(const struct smtp *s, const struct smtp_conn *c, char *out,
    size_t outlen)
{
	char offered[SMTP_AUTH_MECHS_MAX], *tok, *save;
	char allowed[SMTP_AUTH_MECHS_MAX + 2];
	char want[SMTP_AUTH_MECHS_MAX + 2];
	size_t len = 0;

	out[0] = '\0';
	snprintf(offered, sizeof(offered), "%s", c->caps.auth);
	snprintf(allowed, sizeof(allowed), " %s ", s->mechanisms);
	for (tok = strtok_r(offered, " ", &save); tok != NULL;
	    tok = strtok_r(NULL, " ", &save)) {
		snprintf(want, sizeof(want), " %s ", tok);
		if (strcasestr(allowed, want) == NULL)
			continue;
		if (!c->tls && !s->auth_cleartext &&
		    (strcasecmp(tok, "PLAIN") == 0 ||
		    strcasecmp(tok, "LOGIN") == 0))
			continue;
		if (len + strlen(tok) + 2 > outlen)
			break;
		len += (size_t)snprintf(out + len, outlen - len, "%s%s",
		    len ? " " : "", tok);
	}
}

/* smtp_auth_send - base64 of (data, len) as one line ("=" when empty) */
static int
smtp_auth_send(struct smtp *s, struct smtp_conn *c, const char *prefix,
    const char *data, unsigned len, struct smtp_fail *f)
{
	char b64[SMTP_AUTH_B64_MAX];
	unsigned outlen = 0;
	int rc;

	if (len > 0 && sasl_encode64(data, len, b64, sizeof(b64),
	    &outlen) != SASL_OK) {
		smtp_fail_set(f, 454, "4.7.0", "AUTH: response too long");
		return -1;
	}
	b64[outlen] = '\0';
	if (prefix != NULL)
		rc = smtp_io_printf(&c->io, s->t_command, "%s %s\r\n", prefix,
		    outlen ? b64 : "=");
	else
		rc = smtp_io_printf(&c->io, s->t_command, "%s\r\n", b64);
	explicit_bzero(b64, sizeof(b64));
	if (rc == -1 || smtp_io_flush(&c->io, s->t_command) == -1) {
		smtp_fail_set(f, 451, "4.4.2", "AUTH with %s: %s", c->label,
		    c->io.err);
		return -1;
	}
	return 0;
}

/* smtp_auth_exchange - the challenge/response loop after AUTH */
static int
smtp_auth_exchange(struct smtp *s, struct smtp_conn *c, sasl_conn_t *conn,
    const char *mech, struct smtp_fail *f)
{
	char in[SMTP_AUTH_B64_MAX];
	struct smtp_reply r;
	const char *out;
	unsigned inlen, outlen;
	int rc;

	for (;;) {
		if (smtp_io_reply(&c->io, &r, NULL, s->t_command) == -1) {
			smtp_fail_set(f, 451, "4.4.2", "AUTH %s with %s: %s",
			    mech, c->label, c->io.err);
			return -1;
		}
		if (r.code == 235)
			return 0;
		if (r.code != 334) {
			smtp_fail_set(f, r.code / 100 == 5 ? 535 : 454,
			    r.status[0] ? r.status : "4.7.0",
			    "authentication with %s failed (AUTH %s): %d %s",
			    c->label, mech, r.code, r.text);
			return -1;
		}
		if (sasl_decode64(r.text, (unsigned)r.textlen, in, sizeof(in),
		    &inlen) != SASL_OK ||
		    (rc = sasl_client_step(conn, in, inlen, NULL, &out,
		    &outlen)) < 0) {
			explicit_bzero(in, sizeof(in));
			(void)smtp_auth_send(s, c, NULL, "*", 1, f);
			smtp_fail_set(f, 454, "4.7.0", "AUTH %s with %s: bad "
			    "challenge", mech, c->label);
			return -1;
		}
		explicit_bzero(in, sizeof(in));
		if (smtp_auth_send(s, c, NULL, out, outlen, f) == -1)
			return -1;
	}
}

/* smtp_auth_props - no security layer; refuse anonymous mechanisms */
static void
smtp_auth_props(sasl_conn_t *conn)
{
	sasl_security_properties_t p;

	memset(&p, 0, sizeof(p));
	p.min_ssf = 0;
	p.max_ssf = 0;
	p.maxbufsize = 0;
	p.security_flags = SASL_SEC_NOANONYMOUS;
	(void)sasl_setprop(conn, SASL_SEC_PROPS, &p);
}

/* smtp_auth - authenticate the session; -1 with f set */
int
smtp_auth(struct smtp *s, struct smtp_conn *c, struct smtp_fail *f)
{
	struct smtp_auth_state st = { s, NULL, 0 };
	sasl_callback_t cb[] = {
		{ SASL_CB_USER, SMTP_AUTH_CB(smtp_auth_simple), &st },
		{ SASL_CB_AUTHNAME, SMTP_AUTH_CB(smtp_auth_simple), &st },
		{ SASL_CB_PASS, SMTP_AUTH_CB(smtp_auth_pass), &st },
		{ SASL_CB_LIST_END, NULL, NULL }
	};
	char mechs[SMTP_AUTH_MECHS_MAX], cmd[64];
	sasl_conn_t *conn = NULL;
	const char *out = NULL, *mech = NULL;
	unsigned outlen = 0;
	int rc = -1, src;

	smtp_auth_mechs(s, c, mechs, sizeof(mechs));
	if (mechs[0] == '\0') {
		smtp_fail_set(f, 454, "4.7.0", "%s offers no usable AUTH "
		    "mechanism (offered: %s; allowed: %s%s)", c->label,
		    c->caps.auth[0] ? c->caps.auth : "none", s->mechanisms,
		    c->tls || s->auth_cleartext ? "" :
		    "; PLAIN and LOGIN need TLS");
		return -1;
	}
	if (sasl_client_new("smtp", s->hosts[c->host].name, NULL, NULL, cb, 0,
	    &conn) != SASL_OK) {
		smtp_fail_set(f, 454, "4.7.0", "AUTH: cannot start libsasl2");
		return -1;
	}
	smtp_auth_props(conn);
	src = sasl_client_start(conn, mechs, NULL, &out, &outlen, &mech);
	if (src != SASL_OK && src != SASL_CONTINUE) {
		smtp_fail_set(f, 454, "4.7.0", "AUTH with %s: %s", c->label,
		    sasl_errdetail(conn));
		goto done;
	}
	snprintf(cmd, sizeof(cmd), "AUTH %s", mech);
	if (out != NULL) {
		if (smtp_auth_send(s, c, cmd, out, outlen, f) == -1)
			goto done;
	} else if (smtp_io_printf(&c->io, s->t_command, "%s\r\n", cmd) == -1 ||
	    smtp_io_flush(&c->io, s->t_command) == -1) {
		smtp_fail_set(f, 451, "4.4.2", "AUTH with %s: %s", c->label,
		    c->io.err);
		goto done;
	}
	rc = smtp_auth_exchange(s, c, conn, mech, f);
done:
	sasl_dispose(&conn);
	if (st.secret != NULL) {
		explicit_bzero(st.secret, st.secretlen);
		free(st.secret);
	}
	return rc;
}
