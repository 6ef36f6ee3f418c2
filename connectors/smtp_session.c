/*
 * smtp_session.c - one SMTP client session of the smtp connector
 *
 * Opening: the configured hosts in order (a host that failed within the
 * last host_skip seconds, in any delivery process of the connector, is
 * passed over while another one is left), each
 * of its addresses, then greeting, EHLO (HELO when EHLO is refused),
 * STARTTLS per the policy, EHLO again, AUTH (only over the channel
 * auth.tls allows: smtp_auth_channel).  A host that fails any of
 * these steps is left for the next one; the last failure is what the
 * recipients are deferred with.
 *
 * The transaction sends every recipient of the job at once: with
 * PIPELINING, MAIL, all RCPTs and DATA go out in one write; the message
 * follows through the encoder, and the final "." travels with its last
 * bytes.  Each recipient gets the result of its own RCPT reply, or of the
 * reply to the data.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <gatewayd/connector.h>

#include "smtp.h"
#include "smtp_mime.h"
#include "tlspolicy.h"

#define SMTP_CHUNK	(16 * 1024)	/* read, encoded and written at once */
#define SMTP_PARAMS_MAX	1700	/* ORCPT of 500 octets, xtext */

/* smtp_fail_set - record why a step failed */
void
smtp_fail_set(struct smtp_fail *f, int code, const char *status,
    const char *fmt, ...)
{
	va_list ap;

	f->code = code;
	snprintf(f->status, sizeof(f->status), "%s", status);
	va_start(ap, fmt);
	vsnprintf(f->text, sizeof(f->text), fmt, ap);
	va_end(ap);
}

/* smtp_cmd - send one command line and read its reply; -1 on I/O error */
static int __attribute__((format(printf, 5, 6)))
smtp_cmd(struct smtp_conn *c, struct smtp_reply *r, struct smtp_caps *caps,
    int timeout, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = smtp_io_vprintf(&c->io, timeout, fmt, ap);
	va_end(ap);
	if (rc == -1 || smtp_io_flush(&c->io, timeout) == -1)
		return -1;
	return smtp_io_reply(&c->io, r, caps, timeout);
}

/* smtp_numeric - is name a numeric IPv4 or IPv6 address? */
static int
smtp_numeric(const char *name)
{
	unsigned char buf[16];

	return inet_pton(AF_INET, name, buf) == 1 ||
	    inet_pton(AF_INET6, name, buf) == 1;
}

/* smtp_connect - connect to one of the host's addresses */
static struct smtp_conn *
smtp_connect(struct smtp *s, size_t i, struct smtp_fail *f)
{
	struct smtp_host *h = &s->hosts[i];
	struct addrinfo hints, *res, *ai;
	struct smtp_conn *c;
	char addr[INET6_ADDRSTRLEN] = "";
	int rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	if ((rc = getaddrinfo(h->name, h->port, &hints, &res)) != 0) {
		smtp_fail_set(f, 451, "4.4.3", "cannot resolve %s: %s",
		    h->name, gai_strerror(rc));
		return NULL;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		freeaddrinfo(res);
		smtp_fail_set(f, 451, "4.3.0", "out of memory");
		return NULL;
	}
	smtp_io_init(&c->io);
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		getnameinfo(ai->ai_addr, ai->ai_addrlen, addr, sizeof(addr),
		    NULL, 0, NI_NUMERICHOST);
		if (smtp_io_connect(&c->io, ai->ai_addr, ai->ai_addrlen,
		    s->t_connect) == 0)
			break;
		smtp_fail_set(f, 451, "4.4.1", "connect to %s[%s]:%s: %s",
		    h->name, addr, h->port, c->io.err);
	}
	freeaddrinfo(res);
	if (ai == NULL) {
		free(c);
		return NULL;
	}
	c->host = i;
	snprintf(c->label, sizeof(c->label), "%s[%s]:%s", h->name, addr,
	    h->port);
	return c;
}

/* smtp_ehlo - EHLO (HELO when refused); -1 with f set */
static int
smtp_ehlo(struct smtp *s, struct smtp_conn *c, struct smtp_fail *f)
{
	struct smtp_reply r;

	if (smtp_cmd(c, &r, &c->caps, s->t_command, "EHLO %s\r\n",
	    s->helo) == -1)
		goto ioerr;
	if (r.code == 250)
		return 0;
	memset(&c->caps, 0, sizeof(c->caps));
	if (r.code / 100 == 5 && smtp_cmd(c, &r, NULL, s->t_command,
	    "HELO %s\r\n", s->helo) == -1)
		goto ioerr;
	if (r.code == 250)
		return 0;
	smtp_fail_set(f, 451, "4.4.0", "%s refused HELO/EHLO: %d %s",
	    c->label, r.code, r.text);
	return -1;
ioerr:
	smtp_fail_set(f, 451, "4.4.2", "%s during EHLO: %s", c->label,
	    c->io.err);
	return -1;
}

/* smtp_starttls - STARTTLS per the policy, then EHLO again */
static int
smtp_starttls(struct smtp *s, struct smtp_conn *c, struct smtp_fail *f)
{
	const char *name = s->hosts[c->host].name;
	struct smtp_reply r;
	char how[160];

	if (s->starttls == SMTP_TLS_NONE)
		return 0;
	if (!c->caps.starttls) {
		if (s->starttls == SMTP_TLS_OPPORTUNISTIC)
			return 0;
		smtp_fail_set(f, 451, "4.7.4", "TLS is required (starttls: "
		    "required) but %s does not offer STARTTLS", c->label);
		return -1;
	}
	if (smtp_cmd(c, &r, NULL, s->t_command, "STARTTLS\r\n") == -1) {
		smtp_fail_set(f, 451, "4.4.2", "%s during STARTTLS: %s",
		    c->label, c->io.err);
		return -1;
	}
	if (r.code != 220) {
		smtp_fail_set(f, 451, "4.7.4", "%s refused STARTTLS: %d %s",
		    c->label, r.code, r.text);
		return -1;
	}
	if (smtp_io_starttls(&c->io, s->ssl_ctx, smtp_numeric(name) ? NULL :
	    name, s->verify_name ? s->verify_name : name, s->verify,
	    s->t_command) == -1) {
		smtp_fail_set(f, 451, "4.7.5", "STARTTLS with %s: %s",
		    c->label, c->io.err);
		return -1;
	}
	c->tls = 1;
	gw_log(GW_LOG_INFO, "TLS connection established to %s: %s%s",
	    c->label, tlspolicy_describe(c->io.ssl, how, sizeof(how)),
	    c->io.verified ? " (verified)" : " (not verified)");
	return smtp_ehlo(s, c, f);
}

/* smtp_setup - greeting, EHLO, TLS, AUTH on a connected session */
static int
smtp_setup(struct smtp *s, struct smtp_conn *c, struct smtp_fail *f)
{
	struct smtp_reply r;

	if (smtp_io_reply(&c->io, &r, NULL, s->t_greeting) == -1) {
		smtp_fail_set(f, 451, "4.4.2", "no greeting from %s: %s",
		    c->label, c->io.err);
		return -1;
	}
	if (r.code != 220) {
		smtp_fail_set(f, 451, "4.3.0", "%s greeted with %d %s%s%s",
		    c->label, r.code, r.status, r.status[0] ? " " : "",
		    r.text);
		return -1;
	}
	if (smtp_ehlo(s, c, f) == -1 || smtp_starttls(s, c, f) == -1)
		return -1;
	if (s->username == NULL)
		return 0;
	if (smtp_auth_channel(s, c, f) == -1)
		return -1;
	if (c->caps.auth[0] == '\0') {
		smtp_fail_set(f, 451, "4.7.0", "auth is configured but %s "
		    "does not offer AUTH%s", c->label, c->tls ? "" :
		    " (without TLS)");
		return -1;
	}
	return smtp_auth(s, c, f);
}

/* smtp_session_close - QUIT (when asked and possible) and free */
void
smtp_session_close(struct smtp *s, struct smtp_conn *c, int quit)
{
	struct smtp_reply r;

	if (c == NULL)
		return;
	if (quit && c->io.fd != -1)
		(void)smtp_cmd(c, &r, NULL, s->t_command < 5 ? s->t_command :
		    5, "QUIT\r\n");
	smtp_io_close(&c->io);
	if (s->conn == c)
		s->conn = NULL;
	free(c);
}

/* smtp_dead - until when host i is skipped (shared by the children) */
static time_t
smtp_dead(const struct smtp *s, size_t i)
{
	return __atomic_load_n(&s->dead_until[i], __ATOMIC_RELAXED);
}

/* smtp_set_dead - skip host i until then (0: no more) */
static void
smtp_set_dead(struct smtp *s, size_t i, time_t until)
{
	__atomic_store_n(&s->dead_until[i], until, __ATOMIC_RELAXED);
}

/* smtp_session_open - a ready session with the first host that works */
struct smtp_conn *
smtp_session_open(struct smtp *s, struct smtp_fail *f)
{
	struct smtp_conn *c;
	time_t now = time(NULL);
	size_t i, nalive = 0;

	smtp_fail_set(f, 451, "4.4.1", "no upstream host configured");
	for (i = 0; i < s->nhosts; i++)
		nalive += smtp_dead(s, i) <= now;
	for (i = 0; i < s->nhosts; i++) {
		if (nalive > 0 && smtp_dead(s, i) > now)
			continue;	/* skipped while another one is left */
		if ((c = smtp_connect(s, i, f)) == NULL) {
			smtp_set_dead(s, i, now + s->host_skip);
			gw_log(GW_LOG_INFO, "smtp: %s", f->text);
			continue;
		}
		if (smtp_setup(s, c, f) == 0) {
			smtp_set_dead(s, i, 0);
			c->last_used = now;
			return c;
		}
		gw_log(GW_LOG_INFO, "smtp: %s", f->text);
		if (strncmp(f->status, "4.4.", 4) == 0)
			smtp_set_dead(s, i, now + s->host_skip);
		smtp_session_close(s, c, c->io.fd != -1 &&
		    strncmp(f->status, "4.4.2", 5) != 0);
	}
	return NULL;
}

/* smtp_session_reset - RSET before reusing a session; -1 if unusable */
int
smtp_session_reset(struct smtp *s, struct smtp_conn *c)
{
	struct smtp_reply r;

	if (smtp_cmd(c, &r, NULL, s->t_command, "RSET\r\n") == -1)
		return -1;
	return r.code == 250 ? 0 : -1;
}

/* ---- the transaction ---- */

struct smtp_txn {
	struct smtp *s;
	struct smtp_conn *c;
	const struct gw_envelope *env;
	int *state;		/* per rcpt: 0 to send, 1 sent, 2 accepted, 3 settled */
	size_t nsent, naccepted;
	int eightbit;
	int utf8;
	struct smtp_mime *mime;	/* 8-bit to quoted-printable, or NULL */
};

/* smtp_ascii - only printable ASCII (no controls, no 8-bit)? */
static int
smtp_ascii(const char *s, int *utf8)
{
	const unsigned char *p;

	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p < 0x20 || *p == 0x7f)
			return 0;
		if (*p >= 0x80)
			*utf8 = 1;
	}
	return 1;
}

/* smtp_result - a recipient's result from a reply to cmd */
static void
smtp_result(struct smtp_txn *t, size_t i, const struct smtp_reply *r,
    const char *cmd)
{
	struct gw_rcpt *rc = t->env->rcpt[i];
	char status[16];
	int cls = r->code / 100;

	snprintf(status, sizeof(status), "%s", r->status[0] ? r->status :
	    cls == 2 ? "2.0.0" : cls == 4 ? "4.0.0" : "5.0.0");
	t->state[i] = 3;
	if (cls == 2) {
		gw_rcpt_set_result(rc, GW_RESULT_OK, r->code, status,
		    "relayed to %s: %s", t->c->label, r->text);
		if (t->c->caps.dsn)
			gw_rcpt_dsn_passed(rc);	/* RFC 3461 5.2.2 */
	} else
		gw_rcpt_set_result(rc, cls == 5 ? GW_RESULT_PERMFAIL :
		    GW_RESULT_TEMPFAIL, r->code, status,
		    "host %s said: %s (in reply to %s)", t->c->label,
		    r->text, cmd);
}

/* smtp_result_all - the same result for every recipient still open */
static void
smtp_result_all(struct smtp_txn *t, int minstate, const struct smtp_reply *r,
    const char *cmd)
{
	size_t i;

	for (i = 0; i < t->env->nrcpt; i++)
		if (t->state[i] >= minstate && t->state[i] < 3)
			smtp_result(t, i, r, cmd);
}

/* smtp_fail_all - every open recipient failed with f (tempfail unless 5xx) */
static void
smtp_fail_all(struct smtp_txn *t, const struct smtp_fail *f)
{
	size_t i;

	for (i = 0; i < t->env->nrcpt; i++) {
		if (t->state[i] == 3)
			continue;
		t->state[i] = 3;
		gw_rcpt_set_result(t->env->rcpt[i], f->code / 100 == 5 ?
		    GW_RESULT_PERMFAIL : GW_RESULT_TEMPFAIL, f->code,
		    f->status, "%s", f->text);
	}
}

/* smtp_lost - an I/O failure mid-transaction: defer what is open */
static int
smtp_lost(struct smtp_txn *t, const char *when)
{
	struct smtp_fail f;

	smtp_fail_set(&f, 451, "4.4.2", "lost connection with %s %s: %s",
	    t->c->label, when, t->c->io.err);
	smtp_fail_all(t, &f);
	return -1;
}

/* smtp_scan_8bit - does the message hold 8-bit bytes? -1 on read error */
static int
smtp_scan_8bit(struct gw_message *msg)
{
	char buf[SMTP_CHUNK];
	ssize_t n;
	int found = 0;

	gw_message_rewind(msg);
	while (!found && (n = gw_message_read(msg, buf, sizeof(buf))) > 0)
		found = smtp_has_8bit(buf, (size_t)n);
	gw_message_rewind(msg);
	return n < 0 && !found ? -1 : found;
}

/*
 * smtp_plan_8bit - for an upstream without 8BITMIME: plan the conversion
 * of the 8-bit text bodies to quoted-printable; -1 with f when the
 * message cannot be read or converted
 */
static int
smtp_plan_8bit(struct smtp_txn *t, struct gw_message *msg,
    struct smtp_fail *f)
{
	char buf[SMTP_CHUNK];
	ssize_t n;

	if ((t->mime = malloc(sizeof(*t->mime))) == NULL) {
		smtp_fail_set(f, 451, "4.3.0", "out of memory");
		return -1;
	}
	smtp_mime_init(t->mime);
	smtp_mime_begin(t->mime, 0, NULL, NULL);
	gw_message_rewind(msg);
	while ((n = gw_message_read(msg, buf, sizeof(buf))) > 0)
		if (smtp_mime_feed(t->mime, buf, (size_t)n) == -1)
			break;
	gw_message_rewind(msg);
	if (n < 0) {
		smtp_fail_set(f, 451, "4.3.0", "cannot read the spooled "
		    "message");
		return -1;
	}
	if (smtp_mime_finish(t->mime) == -1) {
		smtp_fail_set(f, 554, "5.6.3", "message has 8-bit content "
		    "that cannot be converted for %s, which does not support "
		    "8BITMIME: %s", t->c->label, t->mime->why);
		return -1;
	}
	gw_log(GW_LOG_INFO, "smtp: %s does not support 8BITMIME: %u 8-bit "
	    "text part%s converted to quoted-printable", t->c->label,
	    t->mime->nconverted, t->mime->nconverted == 1 ? "" : "s");
	return 0;
}

/* smtp_precheck - what the upstream's extensions allow; 0 go on, -1 done */
static int
smtp_precheck(struct smtp_txn *t, struct gw_message *msg)
{
	const struct smtp_caps *caps = &t->c->caps;
	struct smtp_fail f;
	size_t i;
	int utf8 = 0, r8;

	if (!smtp_ascii(t->env->sender, &t->utf8)) {
		smtp_fail_set(&f, 553, "5.1.7", "unusable sender address");
		smtp_fail_all(t, &f);
		return -1;
	}
	if (caps->size > 0 && t->env->size > 0 &&
	    (unsigned long long)t->env->size > caps->size) {
		smtp_fail_set(&f, 552, "5.3.4", "message size %lld exceeds "
		    "the limit of %s (%llu)", (long long)t->env->size,
		    t->c->label, caps->size);
		smtp_fail_all(t, &f);
		return -1;
	}
	if (t->utf8 && !caps->smtputf8) {
		smtp_fail_set(&f, 553, "5.6.7", "non-ASCII sender address "
		    "and %s does not support SMTPUTF8", t->c->label);
		smtp_fail_all(t, &f);
		return -1;
	}
	t->eightbit = strcasecmp(t->env->body_type, "8BITMIME") == 0;
	if (!caps->eightbitmime && (r8 = smtp_scan_8bit(msg)) != 0) {
		if (r8 < 0)
			smtp_fail_set(&f, 451, "4.3.0", "cannot read the "
			    "spooled message");
		if (r8 < 0 || smtp_plan_8bit(t, msg, &f) == -1) {
			smtp_fail_all(t, &f);
			return -1;
		}
	}
	for (i = 0; i < t->env->nrcpt; i++) {
		utf8 = 0;
		if (!smtp_ascii(gw_rcpt_address(t->env->rcpt[i]), &utf8))
			gw_rcpt_set_result(t->env->rcpt[i], GW_RESULT_PERMFAIL,
			    553, "5.1.3", "unusable recipient address");
		else if (utf8 && !caps->smtputf8)
			gw_rcpt_set_result(t->env->rcpt[i], GW_RESULT_PERMFAIL,
			    553, "5.6.7", "non-ASCII recipient address and %s "
			    "does not support SMTPUTF8", t->c->label);
		else {
			t->utf8 |= utf8;
			continue;
		}
		t->state[i] = 3;
	}
	return 0;
}

/* smtp_mail_params - the MAIL FROM parameters for this upstream */
static void
smtp_mail_params(struct smtp_txn *t, char *out, size_t outlen)
{
	const struct gw_envelope *e = t->env;
	char dsn[400];

	dsn[0] = '\0';
	if (t->c->caps.dsn && GW_ENVELOPE_HAS(e, dsn_envid) &&
	    smtp_dsn_mail_params(dsn, sizeof(dsn), e->dsn_ret,
	    e->dsn_envid) == -1)
		dsn[0] = '\0';
	snprintf(out, outlen, "%s%s%s", t->eightbit && t->c->caps.eightbitmime ?
	    " BODY=8BITMIME" : "", t->utf8 ? " SMTPUTF8" : "", dsn);
}

/* smtp_rcpt_params - the RCPT TO parameters of recipient i */
static void
smtp_rcpt_params(struct smtp_txn *t, size_t i, char *out, size_t outlen)
{
	const struct gw_rcpt *r = t->env->rcpt[i];

	out[0] = '\0';
	if (t->c->caps.dsn && smtp_dsn_rcpt_params(out, outlen,
	    gw_rcpt_param(r, "notify"), gw_rcpt_param(r, "orcpt")) == -1)
		out[0] = '\0';
}

/* smtp_send_envelope - queue (RSET,) MAIL and the RCPTs (and DATA) */
static int
smtp_send_envelope(struct smtp_txn *t, int pipelined, int rset)
{
	struct smtp_io *io = &t->c->io;
	char params[SMTP_PARAMS_MAX];
	int to = t->s->t_command;
	size_t i;

	smtp_mail_params(t, params, sizeof(params));
	if (rset && smtp_io_printf(io, to, "RSET\r\n") == -1)
		return -1;
	if (smtp_io_printf(io, to, "MAIL FROM:<%s>%s\r\n", t->env->sender,
	    params) == -1)
		return -1;
	if (!pipelined)
		return smtp_io_flush(io, to);
	for (i = 0; i < t->env->nrcpt; i++) {
		if (t->state[i] != 0)
			continue;
		smtp_rcpt_params(t, i, params, sizeof(params));
		if (smtp_io_printf(io, to, "RCPT TO:<%s>%s\r\n",
		    gw_rcpt_address(t->env->rcpt[i]), params) == -1)
			return -1;
		t->state[i] = 1;
		t->nsent++;
	}
	if (smtp_io_printf(io, to, "DATA\r\n") == -1)
		return -1;
	return smtp_io_flush(io, to);
}

/* smtp_rcpt_replies - the RCPT replies (sending each first if not pipelined) */
static int
smtp_rcpt_replies(struct smtp_txn *t, int pipelined)
{
	char params[SMTP_PARAMS_MAX];
	struct smtp_reply r;
	size_t i;

	for (i = 0; i < t->env->nrcpt; i++) {
		if (pipelined ? t->state[i] != 1 : t->state[i] != 0)
			continue;
		if (!pipelined) {
			smtp_rcpt_params(t, i, params, sizeof(params));
			if (smtp_cmd(t->c, &r, NULL, t->s->t_command,
			    "RCPT TO:<%s>%s\r\n",
			    gw_rcpt_address(t->env->rcpt[i]), params) == -1)
				return -1;
			t->nsent++;
		} else if (smtp_io_reply(&t->c->io, &r, NULL,
		    t->s->t_command) == -1)
			return -1;
		t->state[i] = 1;
		if (r.code / 100 == 2) {
			t->state[i] = 2;
			t->naccepted++;
		} else
			smtp_result(t, i, &r, "RCPT TO");
	}
	return 0;
}

struct smtp_sink {
	struct smtp_txn *t;
	struct smtp_enc enc;
	char *out;			/* SMTP_ENC_OUTMAX(SMTP_CHUNK) bytes */
};

/* smtp_sink_write - encode bytes and queue them on the connection */
static int
smtp_sink_write(void *arg, const char *buf, size_t len)
{
	struct smtp_sink *k = arg;
	size_t n;

	while (len > 0) {
		n = len < SMTP_CHUNK ? len : SMTP_CHUNK;
		if (smtp_io_write(&k->t->c->io, k->out, smtp_enc_feed(&k->enc,
		    buf, n, k->out), k->t->s->t_data) == -1)
			return -1;
		buf += n;
		len -= n;
	}
	return 0;
}

/* smtp_send_body - the message through the converter (if any) */
static int
smtp_send_body(struct smtp_txn *t, struct gw_message *msg,
    struct smtp_sink *k)
{
	static char in[SMTP_CHUNK];
	ssize_t got;

	if (t->mime != NULL)
		smtp_mime_begin(t->mime, 1, smtp_sink_write, k);
	gw_message_rewind(msg);
	while ((got = gw_message_read(msg, in, sizeof(in))) > 0)
		if ((t->mime != NULL ? smtp_mime_feed(t->mime, in,
		    (size_t)got) : smtp_sink_write(k, in, (size_t)got)) == -1)
			return -1;
	if (got < 0) {
		snprintf(t->c->io.err, sizeof(t->c->io.err),
		    "cannot read the spooled message");
		return -1;
	}
	return t->mime != NULL ? smtp_mime_finish(t->mime) : 0;
}

/* smtp_send_data - the encoded message and the final dot, in large writes */
static int
smtp_send_data(struct smtp_txn *t, struct gw_message *msg)
{
	static char out[SMTP_ENC_OUTMAX(SMTP_CHUNK)];
	struct smtp_sink k;
	size_t n;

	k.t = t;
	k.out = out;
	smtp_enc_init(&k.enc);
	if (smtp_send_body(t, msg, &k) == -1)
		return -1;
	n = smtp_enc_finish(&k.enc, out);
	if (k.enc.folded > 0)
		gw_log(GW_LOG_INFO, "smtp: %llu lines longer than %d octets "
		    "were broken", k.enc.folded, SMTP_OUT_LINE_MAX);
	if (smtp_io_write(&t->c->io, out, n, t->s->t_data) == -1)
		return -1;
	return smtp_io_flush(&t->c->io, t->s->t_data);
}

/* smtp_data - after the DATA reply: the message and its final reply */
static int
smtp_data(struct smtp_txn *t, const struct smtp_reply *dr,
    struct gw_message *msg)
{
	struct smtp_reply r;

	if (dr->code != 354) {
		smtp_result_all(t, 2, dr, "DATA");
		return dr->code == 421 ? -1 : 0;
	}
	if (t->naccepted == 0) {
		/* RFC 2920 3.1: every RCPT failed but DATA got 354 */
		if (smtp_io_write(&t->c->io, ".\r\n", 3, t->s->t_command) ==
		    -1 || smtp_io_flush(&t->c->io, t->s->t_command) == -1 ||
		    smtp_io_reply(&t->c->io, &r, NULL, t->s->t_command) == -1)
			return smtp_lost(t, "after an empty DATA");
		return 0;
	}
	if (smtp_send_data(t, msg) == -1)
		return smtp_lost(t, "while sending the message");
	if (smtp_io_reply(&t->c->io, &r, NULL, t->s->t_data) == -1)
		return smtp_lost(t, "waiting for the reply to the message");
	smtp_result_all(t, 2, &r, "end of DATA");
	return r.code == 421 ? -1 : 0;
}

/*
 * smtp_transaction - MAIL, RCPTs, DATA; -1 when the session is unusable,
 * SMTP_STALE when the RSET sent ahead of them failed (nothing settled: a
 * DATA the server may have accepted is never followed by the message)
 */
static int
smtp_transaction(struct smtp_txn *t, struct gw_message *msg)
{
	int pipelined = t->c->caps.pipelining, rset = t->c->rset;
	struct smtp_reply mr, dr, rr;

	t->c->rset = 0;
	if (smtp_send_envelope(t, pipelined, rset) == -1)
		return rset ? SMTP_STALE : smtp_lost(t, "sending MAIL FROM");
	if (rset && (smtp_io_reply(&t->c->io, &rr, NULL, t->s->t_command) ==
	    -1 || rr.code != 250))
		return SMTP_STALE;
	if (smtp_io_reply(&t->c->io, &mr, NULL, t->s->t_command) == -1)
		return smtp_lost(t, "in reply to MAIL FROM");
	if (mr.code / 100 != 2 && !pipelined) {
		smtp_result_all(t, 0, &mr, "MAIL FROM");
		return mr.code == 421 ? -1 : 0;
	}
	if (smtp_rcpt_replies(t, pipelined) == -1)
		return smtp_lost(t, "in reply to RCPT TO");
	if (pipelined && smtp_io_reply(&t->c->io, &dr, NULL,
	    t->s->t_command) == -1)
		return smtp_lost(t, "in reply to DATA");
	if (mr.code / 100 != 2) {
		/* pipelined: the RCPT replies were read, MAIL decides */
		smtp_result_all(t, 0, &mr, "MAIL FROM");
		if (dr.code == 354)
			return -1;	/* confused server: drop it */
		return mr.code == 421 ? -1 : 0;
	}
	if (!pipelined) {
		if (t->naccepted == 0)
			return 0;
		if (smtp_cmd(t->c, &dr, NULL, t->s->t_command,
		    "DATA\r\n") == -1)
			return smtp_lost(t, "in reply to DATA");
	}
	return smtp_data(t, &dr, msg);
}

/* smtp_session_send - one transaction for the job's recipients */
int
smtp_session_send(struct smtp *s, struct smtp_conn *c,
    const struct gw_envelope *env, struct gw_message *msg)
{
	struct smtp_txn t;
	int rc = 0;

	memset(&t, 0, sizeof(t));
	t.s = s;
	t.c = c;
	t.env = env;
	if ((t.state = calloc(env->nrcpt ? env->nrcpt : 1,
	    sizeof(*t.state))) == NULL) {
		gw_log(GW_LOG_WARNING, "smtp: out of memory");
		return -1;
	}
	if (smtp_precheck(&t, msg) == 0)
		rc = smtp_transaction(&t, msg);
	free(t.mime);
	free(t.state);
	return rc;
}
