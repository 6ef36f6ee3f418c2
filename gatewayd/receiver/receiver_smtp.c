/*
 * receiver_smtp.c - what is said on a receiver session (see
 * receiver_session.h): commands, AUTH, DATA and BDAT text, relay policy,
 * the envelope and the Received: header
 *
 * DATA: only <CRLF>.<CRLF> ends the message: the "." line must follow a
 * line that ended in CRLF, so "\n.\n", "\n.\r\n", "\r\n.\n", "\r.\r" and
 * NUL variants never end it.  Dot-unstuffing applies to lines that start
 * after a CRLF.  Bare CR or LF in the text closes the session with 521
 * (smtp.bare_lf: reject) or is stored as CRLF (normalize); either way it
 * never ends the message.  BDAT chunks follow the same smtp.bare_lf policy
 * (a CRLF may straddle two chunks; a CR that ends the last chunk is bare).
 * A message over the size or header limit is read to its end, not stored,
 * and refused with 552.
 *
 * PIPELINING (RFC 2920 section 3.1): EHLO, DATA, VRFY, EXPN, TURN, QUIT
 * and NOOP, plus HELO and AUTH, must end a group; a client that sends more
 * behind them is refused with 554 and the session closed.  RSET, MAIL,
 * RCPT, BDAT and message text may be followed at once.  Bytes behind
 * STARTTLS are thrown away (receiver_session.c).
 *
 * Relay control at RCPT: local domains and local addresses are accepted
 * from anyone, except local parts that could route elsewhere (user%ext,
 * ext!user, "user@ext") from clients that may not relay; any other
 * recipient only from clients in relay.allow, or authenticated clients on
 * a listener with relay_authenticated.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "addr.h"
#include "cfg.h"
#include "envelope.h"
#include "log.h"
#include "receiver.h"
#include "receiver_auth.h"
#include "receiver_limits.h"
#include "receiver_session.h"
#include "smtp_parse.h"
#include "spool.h"
#include "xmalloc.h"

#define RS_DATA_CHUNK	(64 * 1024)	/* a longer line is streamed in pieces */
#define RS_REPLY	600

/* rsmtp_count_error - count a client mistake; 421 and close at the limit */
void
rsmtp_count_error(struct rsession *s)
{
	s->nerrors++;
	s->nrejected++;
	if (s->nerrors >= s->rcv->cfg->smtp.max_errors &&
	    s->state != RS_CLOSING) {
		rsession_reply(s, "421 4.7.0 %s Error: too many errors",
		    s->rcv->hostname);
		log_info("too many errors from [%s]: closing", s->ip);
		rsession_close(s);
	}
}

/* rsmtp_error - a counted, logged reply for a client mistake */
static void
rsmtp_error(struct rsession *s, const char *verb, const char *reply)
{
	rsession_reply(s, "%s", reply);
	log_info("reject: %s from [%s]: %s", verb, s->ip, reply);
	rsmtp_count_error(s);
}

/* rsmtp_reset - forget the transaction (RSET, HELO, after the message) */
void
rsmtp_reset(struct rsession *s)
{
	if (s->msg != NULL)
		spool_msg_abort(s->msg);
	s->msg = NULL;
	s->in_mail = 0;
	receiver_tx_close(s->rcv, &s->tx_counted);
	s->from[0] = '\0';
	s->body = SMTP_BODY_DEFAULT;
	s->smtputf8 = 0;
	s->ret = SMTP_RET_NONE;
	s->envid[0] = '\0';
	envelope_clear(&s->env);
	s->qid[0] = '\0';
	s->msg_bytes = 0;
	s->too_big = 0;
	s->header_too_big = 0;
	s->write_errno = 0;
	s->bdat_mode = 0;
	s->bdat_left = 0;
	s->bdat_last = 0;
	s->bdat_error = NULL;
}

/* rsmtp_sync - refuse input pipelined behind a command that ends a group */
static int
rsmtp_sync(struct rsession *s, enum smtp_verb verb)
{
	size_t n;

	if (rsession_pending(s) == 0)
		return 0;
	n = rsession_discard_input(s);
	log_info("reject: [%s]: improper command pipelining after %s (%zu "
	    "byte(s)): closing", s->ip, smtp_verb_name(verb), n);
	rsession_reply(s, "554 5.5.0 %s Error: improper command pipelining "
	    "after %s", s->rcv->hostname, smtp_verb_name(verb));
	s->nrejected++;
	rsmtp_reset(s);
	rsession_close(s);
	return -1;
}

/* rsmtp_set_helo - keep a cleaned copy of the HELO/EHLO argument */
static void
rsmtp_set_helo(struct rsession *s, const char *arg, size_t len)
{
	size_t i;

	if (len > RS_HELO_MAX)
		len = RS_HELO_MAX;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)arg[i];

		/* it goes into Received: and logs: printable, no comment chars */
		s->helo[i] = (c > 0x20 && c < 0x7f && c != '(' && c != ')' &&
		    c != '\\') ? (char)c : '_';
	}
	s->helo[len] = '\0';
}

/* rsmtp_starttls_offered - may the client say STARTTLS now? */
static int
rsmtp_starttls_offered(const struct rsession *s)
{
	return !s->tls && (s->lcfg->tls == CFG_TLS_OPTIONAL ||
	    s->lcfg->tls == CFG_TLS_REQUIRED);
}

/* rsmtp_auth_offered - may the client say AUTH now? */
static int
rsmtp_auth_offered(const struct rsession *s)
{
	return s->lcfg->auth && s->rcv->auth_ready &&
	    (s->tls || s->lcfg->auth_plaintext);
}

/* rsmtp_helo - HELO and EHLO */
static void
rsmtp_helo(struct rsession *s, const struct smtp_cmd *cmd)
{
	const struct cfg_smtp *c = &s->rcv->cfg->smtp;
	const struct cfg_listener *l = s->lcfg;

	rsmtp_reset(s);
	rsmtp_set_helo(s, cmd->arg, cmd->arglen);
	s->esmtp = cmd->verb == SMTP_EHLO;
	if (!s->esmtp) {
		rsession_reply(s, "250 %s", s->rcv->hostname);
		return;
	}
	rsession_reply(s, "250-%s", s->rcv->hostname);
	rsession_reply(s, "250-PIPELINING");
	rsession_reply(s, "250-SIZE %zu", c->max_message_size);
	rsession_reply(s, "250-8BITMIME");
	if (rsmtp_starttls_offered(s))
		rsession_reply(s, "250-STARTTLS");
	if (rsmtp_auth_offered(s))
		rsession_reply(s, "250-AUTH %s", rauth_mechanisms());
	if (l->dsn)
		rsession_reply(s, "250-DSN");
	if (l->smtputf8)
		rsession_reply(s, "250-SMTPUTF8");
	if (l->chunking)
		rsession_reply(s, "250-CHUNKING");
	rsession_reply(s, "250 ENHANCEDSTATUSCODES");
}

/* rsmtp_need_tls - tls: required and not yet: 530 */
static int
rsmtp_need_tls(struct rsession *s, const char *verb)
{
	if (s->lcfg->tls != CFG_TLS_REQUIRED || s->tls)
		return 0;
	rsmtp_error(s, verb, "530 5.7.0 Must issue a STARTTLS command first");
	return 1;
}

/* rsmtp_mail - MAIL FROM */
static void
rsmtp_mail(struct rsession *s, const struct smtp_cmd *cmd)
{
	const struct cfg_smtp *c = &s->rcv->cfg->smtp;
	const char *limit;

	if (rsmtp_need_tls(s, "MAIL"))
		return;
	if (s->helo[0] == '\0') {
		rsmtp_error(s, "MAIL", "503 5.5.1 Error: send HELO/EHLO first");
		return;
	}
	if (s->dnsq != NULL) {
		/* FCrDNS of the client still under way (dns.timeout at most) */
		s->state = RS_DNSWAIT;
		rsession_hold(s);
		return;
	}
	if (s->lcfg->require_auth && s->auth_user == NULL && !s->anon_ok) {
		rsmtp_error(s, "MAIL", "530 5.7.0 Authentication required");
		return;
	}
	if (s->in_mail) {
		rsmtp_error(s, "MAIL", "503 5.5.1 Error: nested MAIL command");
		return;
	}
	if (cmd->size >= 0 && (unsigned long long)cmd->size >
	    (unsigned long long)c->max_message_size) {
		rsmtp_error(s, "MAIL", "552 5.3.4 Message size exceeds "
		    "fixed maximum message size");
		return;
	}
	if ((limit = rlimits_mail(s, cmd->size)) != NULL) {
		s->nrejected++;
		rsession_reply(s, "%s", limit);
		return;
	}
	s->mail_size = cmd->size;
	s->in_mail = 1;
	receiver_tx_open(s->rcv, &s->tx_counted);
	snprintf(s->from, sizeof(s->from), "%s", cmd->path);
	s->body = cmd->body;
	s->smtputf8 = cmd->smtputf8;
	s->ret = cmd->ret;
	snprintf(s->envid, sizeof(s->envid), "%s", cmd->envid);
	s->ncommands = 0;
	rsession_reply(s, "250 2.1.0 Ok");
}

/* rsmtp_rcpt_denied - relay control; NULL when the recipient may pass */
static const char *
rsmtp_rcpt_denied(struct rsession *s, const char *addr)
{
	const struct cfg *cfg = s->rcv->cfg;
	int local, relay;

	relay = s->relay_ok || (s->auth_user != NULL &&
	    s->lcfg->relay_authenticated);
	if (addr_is_postmaster(addr))
		return NULL;		/* RFC 5321 4.5.1: always accepted */
	local = cfg_local_domain(cfg, addr_domain(addr)) ||
	    cfg_local_address(cfg, addr);
	if (local) {
		if (addr_hidden(addr) && !relay)
			return "550 5.7.1 Error: this address form is not "
			    "accepted (relaying denied)";
		return NULL;
	}
	if (relay)
		return NULL;
	return "550 5.7.1 Error: relaying denied";
}

/* rsmtp_rcpt - RCPT TO */
static void
rsmtp_rcpt(struct rsession *s, const struct smtp_cmd *cmd)
{
	const char *denied;
	char from[RS_LOGTEXT], to[RS_LOGTEXT];

	if (!s->in_mail) {
		rsmtp_error(s, "RCPT", "503 5.5.1 Error: need MAIL command");
		return;
	}
	if ((denied = rsmtp_rcpt_denied(s, cmd->path)) != NULL) {
		rsession_reply(s, "%s", denied);
		log_info("reject: RCPT from [%s]: %s; from=<%s> to=<%s>",
		    s->ip, denied, rs_clean(from, sizeof(from), s->from),
		    rs_clean(to, sizeof(to), cmd->path));
		rsmtp_count_error(s);
		return;
	}
	if ((denied = rlimits_rcpt(s)) != NULL) {
		s->nrejected++;
		rsession_reply(s, "%s", denied);
		return;
	}
	if (s->rcv->cfg->smtp.rcpt_check && !addr_is_postmaster(cmd->path) &&
	    s->env.nrcpt < s->rcv->cfg->smtp.max_recipients) {
		rrcpt_ask(s, cmd->path, cmd->notify, cmd->orcpt);
		return;
	}
	rsmtp_rcpt_add(s, cmd->path, cmd->notify, cmd->orcpt);
}

/* rsmtp_rcpt_add - see receiver_session.h */
void
rsmtp_rcpt_add(struct rsession *s, const char *addr, const char *notify,
    const char *orcpt)
{
	struct envelope_rcpt *rc;
	char to[RS_LOGTEXT];

	if (s->env.nrcpt >= s->rcv->cfg->smtp.max_recipients ||
	    (rc = envelope_add_rcpt(&s->env, addr)) == NULL) {
		s->nrejected++;
		rsession_reply(s, "452 4.5.3 Error: too many recipients");
		log_info("reject: RCPT from [%s]: 452 4.5.3 too many recipients "
		    "(%zu); to=<%s>", s->ip, s->env.nrcpt,
		    rs_clean(to, sizeof(to), addr));
		return;
	}
	if (notify[0] != '\0')
		envelope_rcpt_set_param(rc, "notify", notify);
	if (orcpt[0] != '\0')
		envelope_rcpt_set_param(rc, "orcpt", orcpt);
	rsession_reply(s, "250 2.1.5 Ok");
}

/* rsmtp_proto - RFC 3848/6531 protocol name: ESMTP, ESMTPSA, UTF8SMTPS... */
static const char *
rsmtp_proto(const struct rsession *s, char *buf, size_t len)
{
	if (!s->esmtp)
		return "SMTP";
	snprintf(buf, len, "%s%s%s", s->smtputf8 ? "UTF8SMTP" : "ESMTP",
	    s->tls ? "S" : "", s->auth_user != NULL ? "A" : "");
	return buf;
}

/* rsmtp_envelope - fill the envelope of the message being received */
static void
rsmtp_envelope(struct rsession *s)
{
	struct envelope *e = &s->env;
	struct timeval tv;
	char proto[16];

	gettimeofday(&tv, NULL);
	e->version = ENVELOPE_VERSION;
	e->kind = ENVELOPE_MESSAGE;
	spool_qid_new(s->rcv->spool, e->id);
	e->arrival_us = (int64_t)tv.tv_sec * 1000000 + tv.tv_usec;
	e->listener = xstrdup(s->lst->name);
	e->client = xstrdup(s->ip);
	e->client_name = xstrdup("");
	e->helo = xstrdup(s->helo);
	e->auth = s->auth_user != NULL ? xstrdup(s->auth_user) : NULL;
	e->proto = xstrdup(rsmtp_proto(s, proto, sizeof(proto)));
	e->body = xstrdup(s->body == SMTP_BODY_8BITMIME ? "8BITMIME" : "7BIT");
	e->size = -1;
	e->from = xstrdup(s->from);
	if (s->ret != SMTP_RET_NONE)
		e->ret = xstrdup(s->ret == SMTP_RET_FULL ? "FULL" : "HDRS");
	if (s->envid[0] != '\0')
		e->envid = xstrdup(s->envid);
}

/* rsmtp_received - the Received: header at the top of the message */
static int
rsmtp_received(struct rsession *s)
{
	char date[64], rcpt[ADDR_BUFLEN + 16], buf[2048], proto[16];
	char tls[sizeof(s->tls_desc) + 4], auth[300];
	struct tm tm;
	time_t now = time(NULL);
	size_t i;
	int n;

	localtime_r(&now, &tm);
	if (strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S %z", &tm) == 0)
		return -1;
	rcpt[0] = tls[0] = auth[0] = '\0';
	if (s->env.nrcpt == 1)
		snprintf(rcpt, sizeof(rcpt), "\r\n\tfor <%s>", s->env.rcpt[0].addr);
	if (s->tls)
		snprintf(tls, sizeof(tls), " (%s)", s->tls_desc);
	if (s->auth_user != NULL) {
		n = snprintf(auth, sizeof(auth), "\r\n\t(Authenticated sender: %.200s)",
		    s->auth_user);
		/* the identity is client text: keep the comment well-formed */
		for (i = sizeof("\r\n\t(Authenticated sender: ") - 1;
		    n > 0 && i < (size_t)n - 1 && auth[i] != '\0'; i++)
			if ((unsigned char)auth[i] < 0x21 || auth[i] == 0x7f ||
			    auth[i] == '(' || auth[i] == ')' || auth[i] == '\\')
				auth[i] = '_';
	}
	n = snprintf(buf, sizeof(buf), "Received: from %s (unknown [%s])%s\r\n"
	    "\tby %.255s (gatewayd) with %s%s id %s%s; %s\r\n", s->helo, s->ip,
	    auth, s->rcv->hostname, rsmtp_proto(s, proto, sizeof(proto)), tls,
	    s->qid, rcpt, date);
	if (n < 0 || (size_t)n >= sizeof(buf))
		return -1;
	return spool_msg_write(s->msg, buf, (size_t)n);
}

/* rsmtp_begin_message - create the spool file; NULL, or the reply */
static const char *
rsmtp_begin_message(struct rsession *s)
{
	char err[SPOOL_ERRLEN];
	const char *limit;
	int tries;


	if ((limit = rlimits_data(s, s->mail_size)) != NULL) {
		rsmtp_reset(s);
		return limit;
	}
	rsmtp_envelope(s);
	for (tries = 1; ; tries++) {
		snprintf(s->qid, sizeof(s->qid), "%s", s->env.id);
		s->msg = spool_msg_receive(s->rcv->spool, &s->env, err,
		    sizeof(err));
		if (s->msg != NULL || errno != EEXIST ||
		    tries >= SPOOL_QID_TRIES)
			break;
		/* receive/<qid> is taken (spool.h): never share it, draw again */
		spool_qid_new(s->rcv->spool, s->env.id);
	}
	if (s->msg == NULL || rsmtp_received(s) == -1) {
		int nospace = errno == ENOSPC || errno == EDQUOT || errno == EFBIG;

		log_warnx("%s: cannot create the queue file: %s", s->qid,
		    s->msg == NULL ? err : strerror(errno));
		rsmtp_reset(s);
		return nospace ? "452 4.3.1 Insufficient system storage" :
		    "451 4.3.0 Error: queue file write error";
	}
	s->in_header = 1;
	s->hdr_line_empty = 1;
	s->header_bytes = 0;
	return NULL;
}

/* rsmtp_data_cmd - DATA: create the spool file, then read the message */
static void
rsmtp_data_cmd(struct rsession *s)
{
	const char *err;

	if (!s->in_mail) {
		rsmtp_error(s, "DATA", "503 5.5.1 Error: need MAIL command");
		return;
	}
	if (s->env.nrcpt == 0) {
		rsmtp_error(s, "DATA", "503 5.5.1 Error: need RCPT command");
		return;
	}
	if (s->bdat_mode) {
		rsmtp_error(s, "DATA", "503 5.5.1 Error: DATA after BDAT");
		return;
	}
	if ((err = rsmtp_begin_message(s)) != NULL) {
		rsession_reply(s, "%s", err);
		return;
	}
	s->state = RS_DATA;
	s->line_start = 1;
	s->prev_crlf = 1;
	s->last_byte = '\n';
	rsession_reply(s, "354 End data with <CR><LF>.<CR><LF>");
}

/* rsmtp_finish - end of the message: refuse, or park for the commit */
static void
rsmtp_finish(struct rsession *s)
{
	char from[RS_LOGTEXT];
	int e;

	s->state = RS_CMD;
	if (s->too_big || s->header_too_big) {
		log_info("%s: reject: message from [%s] too big (%llu bytes%s); "
		    "from=<%s>", s->qid, s->ip, s->msg_bytes, s->header_too_big ?
		    ", header over the limit" : "",
		    rs_clean(from, sizeof(from), s->from));
		s->nrejected++;
		rsession_reply(s, s->header_too_big ? "552 5.3.4 Error: message "
		    "header size exceeds the limit" : "552 5.3.4 Error: message "
		    "size exceeds fixed maximum message size");
		rsmtp_reset(s);
		return;
	}
	if (s->write_errno || spool_msg_flush(s->msg) == -1) {
		e = s->write_errno ? s->write_errno : errno;
		log_warnx("%s: queue file write error: %s", s->qid, strerror(e));
		rsession_reply(s, e == ENOSPC || e == EDQUOT || e == EFBIG ?
		    "452 4.3.1 Insufficient system storage" :
		    "451 4.3.0 Error: queue file write error");
		rsmtp_reset(s);
		return;
	}
	if (!rrcpt_data_ask(s))
		rsmtp_commit(s);
}

/* rsmtp_commit - see receiver_session.h */
void
rsmtp_commit(struct rsession *s)
{
	s->state = RS_COMMIT;
	rsession_hold(s);
	receiver_tx_close(s->rcv, &s->tx_counted);
	receiver_commit_submit(s->rcv, s, s->msg);
	s->msg = NULL;		/* the commit thread owns it now */
}

/*
 * rsmtp_data_lines - the run of complete lines at the start of the input's
 * first contiguous segment that the line-by-line path would store as they
 * are: each ends in CRLF, holds no other CR, and does not start with a dot
 * (so no unstuffing and no end of data in it).  The run is stored with one
 * copy, from the input buffer to the message's write buffer, and drained;
 * its bytes, the limits and the header scan are those of the lines one by
 * one.  0 when the input does not start with such a line.
 */
static int
rsmtp_data_lines(struct rsession *s, struct evbuffer *in)
{
	struct evbuffer_iovec v;
	const char *start, *p, *end, *lf;

	if (!s->line_start || evbuffer_peek(in, -1, NULL, &v, 1) < 1)
		return 0;
	start = p = v.iov_base;
	end = p + v.iov_len;
	while (p < end && *p != '.' &&
	    (lf = memchr(p, '\n', (size_t)(end - p))) != NULL &&
	    lf > p && lf[-1] == '\r' &&
	    memchr(p, '\r', (size_t)(lf - 1 - p)) == NULL)
		p = lf + 1;
	if (p == start)
		return 0;
	rsession_data_write(s, start, (size_t)(p - start));
	evbuffer_drain(in, (size_t)(p - start));
	s->last_byte = '\n';
	s->prev_crlf = 1;
	return 1;
}

/*
 * rsmtp_data_input - take message text from the input buffer; 1 when
 * something was consumed, 0 when more input is needed
 */
int
rsmtp_data_input(struct rsession *s)
{
	struct evbuffer *in = bufferevent_get_input(s->bev);
	size_t len = evbuffer_get_length(in), eol_len = 0, n;
	struct evbuffer_ptr p;
	char dot[3];

	if (len == 0)
		return 0;
	if (rsmtp_data_lines(s, in))
		return 1;
	p = evbuffer_search_eol(in, NULL, &eol_len, EVBUFFER_EOL_LF);
	if (p.pos == -1) {
		if (len < RS_DATA_CHUNK)
			return 0;
		rsession_data_piece(s, RS_DATA_CHUNK, 0);
		return 1;
	}
	n = (size_t)p.pos + eol_len;
	if (n == 3 && s->line_start && s->prev_crlf &&
	    evbuffer_copyout(in, dot, 3) == 3 && memcmp(dot, ".\r\n", 3) == 0) {
		evbuffer_drain(in, 3);
		rsmtp_finish(s);
		return 1;
	}
	rsession_data_piece(s, n, 1);
	return 1;
}

/* rsmtp_bdat_end - the last byte of a chunk was read */
static void
rsmtp_bdat_end(struct rsession *s)
{
	s->state = RS_CMD;
	if (s->bdat_error != NULL) {
		rsmtp_error(s, "BDAT", s->bdat_error);
		s->bdat_error = NULL;
		return;
	}
	if (s->bdat_last) {
		if (rsession_text_end(s) == -1)
			return;
		rsmtp_finish(s);
		return;
	}
	if (s->too_big || s->header_too_big) {
		rsmtp_finish(s);	/* 552, transaction over */
		return;
	}
	rsession_reply(s, "250 2.0.0 Ok: %llu octets received", s->msg_bytes);
}

/* rsmtp_bdat_input - the bytes of a BDAT chunk, streamed */
int
rsmtp_bdat_input(struct rsession *s)
{
	struct evbuffer *in = bufferevent_get_input(s->bev);
	size_t len = evbuffer_get_length(in), k;
	char buf[RS_TEXT_PIECE];

	if (s->bdat_left == 0) {
		rsmtp_bdat_end(s);
		return 1;
	}
	if (len == 0)
		return 0;
	k = len < sizeof(buf) ? len : sizeof(buf);
	if (k > s->bdat_left)
		k = (size_t)s->bdat_left;
	if (evbuffer_remove(in, buf, k) != (int)k)
		panic("evbuffer_remove short read");
	s->bdat_left -= k;
	if (s->bdat_error != NULL) {
		rsession_data_write(s, buf, k);	/* refused chunk: dropped */
		return 1;
	}
	/* the same smtp.bare_lf policy as DATA, across chunk boundaries */
	if (rsession_data_text(s, buf, k) == -1)
		return 1;
	s->last_byte = buf[k - 1];
	return 1;
}

/* rsmtp_bdat - BDAT size [LAST] (RFC 3030): the chunk follows at once */
static void
rsmtp_bdat(struct rsession *s, const struct smtp_cmd *cmd)
{
	const char *err = NULL;

	if (!s->in_mail)
		err = "503 5.5.1 Error: need MAIL command";
	else if (s->env.nrcpt == 0)
		err = "503 5.5.1 Error: need RCPT command";
	else if (!s->bdat_mode) {
		if ((err = rsmtp_begin_message(s)) == NULL) {
			s->bdat_mode = 1;
			s->last_byte = '\n';	/* no CR pending */
		}
	}
	/* the chunk is read (and dropped after an error) before the reply */
	s->bdat_left = (unsigned long long)cmd->chunk;
	s->bdat_last = cmd->last;
	s->bdat_error = err;
	s->state = RS_BDAT;
}

/* rsmtp_auth_done - the end of an AUTH exchange, good or bad */
static void
rsmtp_auth_done(struct rsession *s, enum rauth_result r, const char *reply)
{
	const struct cfg_smtp *c = &s->rcv->cfg->smtp;
	char user[RS_LOGTEXT];

	if (r == RAUTH_CONTINUE) {
		s->state = RS_AUTH;
		rsession_reply(s, "%s", reply);
		return;
	}
	if (r == RAUTH_PENDING) {
		/* saslauthd is asked: no input is taken until it answers */
		s->state = RS_AUTHWAIT;
		rsession_hold(s);
		return;
	}
	s->state = RS_CMD;
	if (r == RAUTH_OK) {
		s->auth_user = xstrdup(rauth_user(s->auth));
		log_info("AUTH from [%s]: method=%s, username=%s", s->ip,
		    rauth_mech(s->auth), rs_clean(user, sizeof(user), s->auth_user));
		rsession_reply(s, "%s", reply);
	} else {
		log_info("reject: AUTH from [%s]: method=%s: %s", s->ip,
		    rauth_mech(s->auth), reply);
		if (reply[0] == '5')
			rauth_failed(s->ip, (long)c->auth_failure_window);
		rsession_reply(s, "%s", reply);
		rsmtp_count_error(s);
	}
	rauth_free(s->auth);
	s->auth = NULL;
}

/* rsmtp_auth_answer - saslauthd answered (receiver_auth.h rauth_done_fn) */
static void
rsmtp_auth_answer(void *arg, enum rauth_result r, const char *reply)
{
	struct rsession *s = arg;

	if (s->state != RS_AUTHWAIT) {
		/* closed meanwhile (session time limit): the answer is moot */
		rauth_free(s->auth);
		s->auth = NULL;
		return;
	}
	rsmtp_auth_done(s, r, reply);
	rsession_resume(s);
}

/* rsmtp_auth - AUTH mechanism [initial-response] (RFC 4954) */
static void
rsmtp_auth(struct rsession *s, const struct smtp_cmd *cmd)
{
	const struct cfg_smtp *c = &s->rcv->cfg->smtp;
	char mech[64], initial[RS_REPLY * 4], reply[RS_REPLY * 4];
	const char *sp;
	size_t mlen;

	if (rsmtp_need_tls(s, "AUTH"))
		return;
	if (!rsmtp_auth_offered(s) || !s->esmtp) {
		rsmtp_error(s, "AUTH", "503 5.5.1 Error: authentication not enabled");
		return;
	}
	if (s->auth_user != NULL || s->in_mail) {
		rsmtp_error(s, "AUTH", s->in_mail ? "503 5.5.1 Error: MAIL "
		    "transaction in progress" : "503 5.5.1 Error: already "
		    "authenticated");
		return;
	}
	if (rauth_blocked(s->ip, c->auth_max_failures,
	    (long)c->auth_failure_window)) {
		log_info("reject: AUTH from [%s]: too many failures", s->ip);
		rsession_reply(s, "421 4.7.0 %s Error: too many failed "
		    "authentication attempts, try later", s->rcv->hostname);
		rsession_close(s);
		return;
	}
	sp = memchr(cmd->arg, ' ', cmd->arglen);
	mlen = sp != NULL ? (size_t)(sp - cmd->arg) : cmd->arglen;
	if (mlen >= sizeof(mech) || (sp != NULL && cmd->arglen - mlen - 1 >=
	    sizeof(initial))) {
		rsmtp_error(s, "AUTH", "501 5.5.4 Syntax: AUTH mechanism");
		return;
	}
	memcpy(mech, cmd->arg, mlen);
	mech[mlen] = '\0';
	if (sp != NULL) {
		memcpy(initial, sp + 1, cmd->arglen - mlen - 1);
		initial[cmd->arglen - mlen - 1] = '\0';
	}
	/* a fresh SASL connection per exchange (CVE-2011-1720) */
	if ((s->auth = rauth_new(s->rcv->hostname, s->ip, s->rcv->base,
	    rsmtp_auth_answer, s)) == NULL) {
		rsession_reply(s, "454 4.7.0 Temporary authentication failure");
		return;
	}
	rsmtp_auth_done(s, rauth_start(s->auth, mech, sp != NULL ? initial :
	    NULL, reply, sizeof(reply)), reply);
	explicit_bzero(initial, sizeof(initial));
}

/* rsmtp_auth_line - one client line inside an AUTH exchange */
void
rsmtp_auth_line(struct rsession *s, const char *line, size_t len)
{
	char reply[RS_REPLY * 4];

	if (len == 1 && line[0] == '*') {
		log_info("AUTH from [%s]: method=%s: aborted by the client",
		    s->ip, rauth_mech(s->auth));
		rauth_free(s->auth);
		s->auth = NULL;
		s->state = RS_CMD;
		rsession_reply(s, "501 5.7.0 Authentication aborted");
		rsmtp_count_error(s);
		return;
	}
	if (rsmtp_sync(s, SMTP_AUTH) == -1)
		return;
	rsmtp_auth_done(s, rauth_step(s->auth, line, len, reply, sizeof(reply)),
	    reply);
	explicit_bzero(s->line, s->linecap);
}

/* rsmtp_starttls - STARTTLS (RFC 3207) */
static void
rsmtp_starttls(struct rsession *s)
{
	if (s->tls) {
		rsmtp_error(s, "STARTTLS", "554 5.5.1 Error: TLS already active");
		return;
	}
	if (!rsmtp_starttls_offered(s)) {
		rsmtp_error(s, "STARTTLS", "502 5.5.1 Error: command not "
		    "implemented");
		return;
	}
	rsession_starttls(s);
}

/* rsmtp_simple - verbs that need no transaction state */
static void
rsmtp_simple(struct rsession *s, const struct smtp_cmd *cmd)
{
	switch (cmd->verb) {
	case SMTP_RSET:
		rsmtp_reset(s);
		rsession_reply(s, "250 2.0.0 Ok");
		break;
	case SMTP_NOOP:
		rsession_reply(s, "250 2.0.0 Ok");
		break;
	case SMTP_QUIT:
		rsession_reply(s, "221 2.0.0 Bye");
		rsession_close(s);
		break;
	case SMTP_VRFY:
		rsession_reply(s, "252 2.5.2 Cannot VRFY user, but will accept "
		    "message and attempt delivery");
		break;
	case SMTP_HELP:
		rsession_reply(s, "214 2.0.0 Commands: HELO EHLO MAIL RCPT DATA "
		    "BDAT RSET NOOP QUIT VRFY HELP STARTTLS AUTH");
		break;
	default:
		rsmtp_error(s, smtp_verb_name(cmd->verb),
		    "502 5.5.1 Error: command not implemented");
		break;
	}
}

/* rsmtp_flags - the extensions this session may use */
static unsigned int
rsmtp_flags(const struct rsession *s)
{
	unsigned int f = s->rcv->cfg->smtp.strict_rfc5321 ? SMTP_PARSE_STRICT : 0;

	if (!s->esmtp)
		return f;
	if (s->lcfg->smtputf8)
		f |= SMTP_EXT_SMTPUTF8;
	if (s->lcfg->dsn)
		f |= SMTP_EXT_DSN;
	if (s->smtputf8)
		f |= SMTP_EXT_UTF8_ADDR;
	return f;
}

/*
 * rsmtp_group_end - must this verb be the last of a pipelined group?
 * RFC 2920 section 3.1: EHLO, DATA, VRFY, EXPN, TURN, QUIT and NOOP; any
 * extension command unless its RFC says otherwise (AUTH; STARTTLS drops
 * what follows instead; BDAT may be pipelined, RFC 3030).  HELO changes
 * state like EHLO, and a client that has not seen PIPELINING in an EHLO
 * reply may not pipeline at all.
 */
static int
rsmtp_group_end(enum smtp_verb v)
{
	switch (v) {
	case SMTP_HELO:
	case SMTP_EHLO:
	case SMTP_DATA:
	case SMTP_VRFY:
	case SMTP_EXPN:
	case SMTP_TURN:
	case SMTP_QUIT:
	case SMTP_NOOP:
	case SMTP_AUTH:
		return 1;
	default:
		return 0;
	}
}

/* rsmtp_dispatch - run one parsed command */
static void
rsmtp_dispatch(struct rsession *s, const struct smtp_cmd *cmd)
{
	switch (cmd->verb) {
	case SMTP_HELO:
	case SMTP_EHLO:
		rsmtp_helo(s, cmd);
		break;
	case SMTP_MAIL:
		rsmtp_mail(s, cmd);
		break;
	case SMTP_RCPT:
		rsmtp_rcpt(s, cmd);
		break;
	case SMTP_DATA:
		rsmtp_data_cmd(s);
		break;
	case SMTP_BDAT:
		rsmtp_bdat(s, cmd);
		break;
	case SMTP_AUTH:
		rsmtp_auth(s, cmd);
		break;
	case SMTP_STARTTLS:
		rsmtp_starttls(s);
		break;
	default:
		rsmtp_simple(s, cmd);
		break;
	}
}

/*
 * rsmtp_http - an HTTP request line (GET, POST, CONNECT...): a
 * cross-protocol attack or a confused client; close at once, as Postfix
 * does with smtpd_forbidden_commands
 */
static void
rsmtp_http(struct rsession *s, const char *line, size_t len)
{
	char method[16];
	size_t n = 0;

	while (n < len && n < sizeof(method) - 1 && line[n] != ' ')
		n++;
	memcpy(method, line, n);
	method[n] = '\0';
	log_info("reject: [%s] sent an HTTP request (%s) on the SMTP port: "
	    "closing", s->ip, method);
	s->nrejected++;
	rsmtp_reset(s);
	rsession_discard_input(s);
	rsession_reply(s, "221 2.7.0 %s Error: HTTP request on an SMTP port: "
	    "closing", s->rcv->hostname);
	rsession_close(s);
}

/* rsmtp_command - parse, check and run one command line */
void
rsmtp_command(struct rsession *s, const char *line, size_t len)
{
	struct smtp_cmd cmd;

	s->ntotal++;
	if (smtp_is_http(line, len)) {
		rsmtp_http(s, line, len);
		return;
	}
	if (s->rcv->shutting_down && !s->in_mail) {
		rsession_reply(s, "421 4.3.2 %s Service shutting down",
		    s->rcv->hostname);
		rsession_close(s);
		return;
	}
	if (smtp_parse_ext(line, len, rsmtp_flags(s), &cmd) == -1) {
		rsmtp_error(s, smtp_verb_name(cmd.verb), cmd.reply);
		if (cmd.verb == SMTP_BDAT && s->state != RS_CLOSING) {
			/* the chunk that follows cannot be found: give up */
			rsession_reply(s, "421 4.7.0 %s Error: bad BDAT command",
			    s->rcv->hostname);
			rsession_close(s);
		}
		return;
	}
	if (cmd.verb == SMTP_BDAT && !s->lcfg->chunking) {
		rsmtp_error(s, "BDAT", "502 5.5.1 Error: command not implemented");
		return;
	}
	if (rsmtp_group_end(cmd.verb) && rsmtp_sync(s, cmd.verb) == -1)
		return;
	if (cmd.verb != SMTP_MAIL && cmd.verb != SMTP_RCPT &&
	    cmd.verb != SMTP_DATA && cmd.verb != SMTP_BDAT &&
	    cmd.verb != SMTP_QUIT &&
	    ++s->ncommands > s->rcv->cfg->smtp.max_commands) {
		rsession_reply(s, "421 4.7.0 %s Error: too many commands",
		    s->rcv->hostname);
		log_info("too many commands from [%s]: closing", s->ip);
		rsession_close(s);
		return;
	}
	rsmtp_dispatch(s, &cmd);
	if (cmd.verb == SMTP_AUTH)
		explicit_bzero(s->line, s->linecap);
}
