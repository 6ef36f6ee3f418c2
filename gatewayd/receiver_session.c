/*
 * receiver_session.c - one ESMTP session of the receiver
 *
 * States: CMD (reading command lines), DATA (streaming the message into
 * tmp/), COMMIT (parked, reading disabled, until the commit thread has
 * made the message durable), CLOSING (last reply queued; freed once it is
 * written).  Every complete line in the input buffer is handled in order
 * (PIPELINING); replies collect in the bufferevent's output and leave
 * together when the callback returns.
 *
 * DATA: only <CRLF>.<CRLF> ends the message: the "." line must follow a
 * line that ended in CRLF, so "\n.\n", "\n.\r\n" and "\r\n.\n" never end
 * it.  Dot-unstuffing applies to lines that start after a CRLF.  Bare LFs
 * are stored as received.  Long lines are streamed in pieces so memory
 * stays bounded; a message over the size limit is read to its end, not
 * stored, and refused with 552.
 *
 * Relay control at RCPT: local domains and local addresses are accepted
 * from anyone, except local parts that could route elsewhere (user%ext,
 * ext!user, "user@ext") from clients outside relay.allow; any other
 * recipient only from clients in relay.allow.
 */
#include "config.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
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
#include "receiver_session.h"
#include "smtp_parse.h"
#include "spool.h"
#include "xmalloc.h"

#define RS_HELO_MAX	255		/* HELO text kept */
#define RS_DATA_CHUNK	(64 * 1024)	/* a longer line is streamed in pieces */
#define RS_LOGTEXT	300		/* cleaned client text in log lines */

enum rs_state {
	RS_CMD,
	RS_DATA,
	RS_COMMIT,
	RS_CLOSING
};

struct rsession {
	TAILQ_ENTRY(rsession) entry;
	struct receiver *rcv;
	struct bufferevent *bev;
	enum rs_state state;
	int dead;			/* client gone while the commit runs */
	char ip[64];
	const char *listener;
	int relay_ok;			/* client is in relay.allow */

	int esmtp;			/* EHLO (else HELO) */
	char helo[RS_HELO_MAX + 1];	/* cleaned; "" before HELO/EHLO */

	/* transaction */
	int in_mail;
	char from[ADDR_BUFLEN];
	enum smtp_body body;
	struct envelope env;		/* recipients; the rest filled at DATA */
	struct spool_msg *msg;
	char qid[SPOOL_QID_LEN + 1];
	unsigned long long msg_bytes;	/* client bytes after unstuffing */
	int too_big;
	int write_errno;
	int line_start;			/* next data byte starts a line */
	int prev_crlf;			/* the previous data line ended in CRLF */
	char last_byte;			/* last data byte consumed */

	/* command input */
	char *line;			/* one command line (max_line_length) */
	size_t linecap;
	int discard;			/* skipping the rest of an overlong line */

	/* counters for limits and the disconnect log line */
	size_t ncommands;		/* non-mail commands since the last MAIL */
	size_t nerrors;
	size_t nmessages;
	size_t nrejected;
	size_t ntotal;			/* every command */
};

static void rsession_input(struct rsession *);

/* rs_clean - untrusted text for a log line */
static const char *
rs_clean(char *dst, size_t dstlen, const char *src)
{
	return log_clean(dst, dstlen, src, strlen(src));
}

/* rsession_reply - queue one reply line (CRLF added) */
static void __attribute__((format(printf, 2, 3)))
rsession_reply(struct rsession *s, const char *fmt, ...)
{
	struct evbuffer *out = bufferevent_get_output(s->bev);
	va_list ap;

	va_start(ap, fmt);
	evbuffer_add_vprintf(out, fmt, ap);
	va_end(ap);
	evbuffer_add(out, "\r\n", 2);
}

/* rsession_close - the last reply is queued: stop reading, free once written */
static void
rsession_close(struct rsession *s)
{
	s->state = RS_CLOSING;
	bufferevent_disable(s->bev, EV_READ);
}

/* rsession_count_error - count a client mistake; 421 and close at the limit */
static void
rsession_count_error(struct rsession *s)
{
	s->nerrors++;
	s->nrejected++;
	if (s->nerrors >= s->rcv->cfg->smtp.max_errors) {
		rsession_reply(s, "421 4.7.0 %s Error: too many errors",
		    s->rcv->hostname);
		log_info("too many errors from [%s]: closing", s->ip);
		rsession_close(s);
	}
}

/*
 * rsession_error - a reply for a client mistake: counted, logged, and
 * the session closed with 421 when the error limit is reached
 */
static void
rsession_error(struct rsession *s, const char *verb, const char *reply)
{
	rsession_reply(s, "%s", reply);
	log_info("reject: %s from [%s]: %s", verb, s->ip, reply);
	rsession_count_error(s);
}

/* rsession_reset - forget the transaction (RSET, HELO, after DATA) */
static void
rsession_reset(struct rsession *s)
{
	if (s->msg != NULL)
		spool_msg_abort(s->msg);
	s->msg = NULL;
	s->in_mail = 0;
	s->from[0] = '\0';
	s->body = SMTP_BODY_DEFAULT;
	envelope_clear(&s->env);
	s->qid[0] = '\0';
	s->msg_bytes = 0;
	s->too_big = 0;
	s->write_errno = 0;
}

/* rsession_free - close the connection and free everything */
static void
rsession_free(struct rsession *s)
{
	struct receiver *r = s->rcv;
	char helo[RS_LOGTEXT];

	log_info("disconnect from [%s] helo=%s commands=%zu messages=%zu "
	    "rejected=%zu", s->ip, s->helo[0] ? rs_clean(helo, sizeof(helo),
	    s->helo) : "-", s->ntotal, s->nmessages, s->nrejected);
	rsession_reset(s);
	TAILQ_REMOVE(&r->sessions, s, entry);
	r->nsessions--;
	bufferevent_free(s->bev);
	free(s->line);
	free(s);
	receiver_session_gone(r);
}

/* rsession_maybe_free - free a closing session once its output is written */
static void
rsession_maybe_free(struct rsession *s)
{
	if (s->state == RS_CLOSING &&
	    evbuffer_get_length(bufferevent_get_output(s->bev)) == 0)
		rsession_free(s);
}

/* rsession_set_helo - keep a cleaned copy of the HELO/EHLO argument */
static void
rsession_set_helo(struct rsession *s, const char *arg, size_t len)
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

/* rsession_helo - HELO and EHLO */
static void
rsession_helo(struct rsession *s, const struct smtp_cmd *cmd)
{
	const struct cfg_smtp *c = &s->rcv->cfg->smtp;

	rsession_reset(s);
	rsession_set_helo(s, cmd->arg, cmd->arglen);
	s->esmtp = cmd->verb == SMTP_EHLO;
	if (!s->esmtp) {
		rsession_reply(s, "250 %s", s->rcv->hostname);
		return;
	}
	rsession_reply(s, "250-%s", s->rcv->hostname);
	rsession_reply(s, "250-PIPELINING");
	rsession_reply(s, "250-SIZE %zu", c->max_message_size);
	rsession_reply(s, "250-8BITMIME");
	rsession_reply(s, "250 ENHANCEDSTATUSCODES");
}

/* rsession_mail - MAIL FROM */
static void
rsession_mail(struct rsession *s, const struct smtp_cmd *cmd)
{
	const struct cfg_smtp *c = &s->rcv->cfg->smtp;

	if (s->helo[0] == '\0') {
		rsession_error(s, "MAIL", "503 5.5.1 Error: send HELO/EHLO first");
		return;
	}
	if (s->in_mail) {
		rsession_error(s, "MAIL", "503 5.5.1 Error: nested MAIL command");
		return;
	}
	if (cmd->size >= 0 && (unsigned long long)cmd->size >
	    (unsigned long long)c->max_message_size) {
		rsession_error(s, "MAIL", "552 5.3.4 Message size exceeds "
		    "fixed maximum message size");
		return;
	}
	s->in_mail = 1;
	snprintf(s->from, sizeof(s->from), "%s", cmd->path);
	s->body = cmd->body;
	s->ncommands = 0;
	rsession_reply(s, "250 2.1.0 Ok");
}

/* rsession_rcpt_denied - relay control; NULL when the recipient may pass */
static const char *
rsession_rcpt_denied(struct rsession *s, const char *addr)
{
	const struct cfg *cfg = s->rcv->cfg;
	int local;

	if (addr_is_postmaster(addr))
		return NULL;		/* RFC 5321 4.5.1: always accepted */
	local = cfg_local_domain(cfg, addr_domain(addr)) ||
	    cfg_local_address(cfg, addr);
	if (local) {
		if (addr_hidden(addr) && !s->relay_ok)
			return "550 5.7.1 Error: this address form is not "
			    "accepted (relaying denied)";
		return NULL;
	}
	if (s->relay_ok)
		return NULL;
	return "550 5.7.1 Error: relaying denied";
}

/* rsession_rcpt - RCPT TO */
static void
rsession_rcpt(struct rsession *s, const struct smtp_cmd *cmd)
{
	const char *denied;
	char from[RS_LOGTEXT], to[RS_LOGTEXT];

	if (!s->in_mail) {
		rsession_error(s, "RCPT", "503 5.5.1 Error: need MAIL command");
		return;
	}
	if ((denied = rsession_rcpt_denied(s, cmd->path)) != NULL) {
		rsession_reply(s, "%s", denied);
		log_info("reject: RCPT from [%s]: %s; from=<%s> to=<%s>",
		    s->ip, denied, rs_clean(from, sizeof(from), s->from),
		    rs_clean(to, sizeof(to), cmd->path));
		rsession_count_error(s);
		return;
	}
	if (s->env.nrcpt >= s->rcv->cfg->smtp.max_recipients ||
	    envelope_add_rcpt(&s->env, cmd->path) == NULL) {
		s->nrejected++;
		rsession_reply(s, "452 4.5.3 Error: too many recipients");
		log_info("reject: RCPT from [%s]: 452 4.5.3 too many recipients "
		    "(%zu); to=<%s>", s->ip, s->env.nrcpt,
		    rs_clean(to, sizeof(to), cmd->path));
		return;
	}
	rsession_reply(s, "250 2.1.5 Ok");
}

/* rsession_envelope - fill the envelope of the message being received */
static void
rsession_envelope(struct rsession *s)
{
	struct envelope *e = &s->env;
	struct timeval tv;

	gettimeofday(&tv, NULL);
	e->version = ENVELOPE_VERSION;
	e->kind = ENVELOPE_MESSAGE;
	spool_qid_new(0, e->id);
	e->arrival_us = (int64_t)tv.tv_sec * 1000000 + tv.tv_usec;
	e->listener = xstrdup(s->listener);
	e->client = xstrdup(s->ip);
	e->client_name = xstrdup("");
	e->helo = xstrdup(s->helo);
	e->auth = NULL;
	e->proto = xstrdup(s->esmtp ? "ESMTP" : "SMTP");
	e->body = xstrdup(s->body == SMTP_BODY_8BITMIME ? "8BITMIME" : "7BIT");
	e->size = -1;
	e->from = xstrdup(s->from);
}

/* rsession_received - the Received: header at the top of the message */
static int
rsession_received(struct rsession *s)
{
	char date[64], rcpt[ADDR_BUFLEN + 16], buf[2048];
	struct tm tm;
	time_t now = time(NULL);
	int n;

	localtime_r(&now, &tm);
	if (strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S %z", &tm) == 0)
		return -1;
	rcpt[0] = '\0';
	if (s->env.nrcpt == 1)
		snprintf(rcpt, sizeof(rcpt), "\r\n\tfor <%s>", s->env.rcpt[0].addr);
	n = snprintf(buf, sizeof(buf), "Received: from %s (unknown [%s])\r\n"
	    "\tby %.255s (gatewayd) with %s id %s%s; %s\r\n", s->helo, s->ip,
	    s->rcv->hostname, s->esmtp ? "ESMTP" : "SMTP", s->qid, rcpt, date);
	if (n < 0 || (size_t)n >= sizeof(buf))
		return -1;
	return spool_msg_write(s->msg, buf, (size_t)n);
}

/* rsession_data_cmd - DATA: create the spool file, then read the message */
static void
rsession_data_cmd(struct rsession *s)
{
	char err[SPOOL_ERRLEN];

	if (!s->in_mail) {
		rsession_error(s, "DATA", "503 5.5.1 Error: need MAIL command");
		return;
	}
	if (s->env.nrcpt == 0) {
		rsession_error(s, "DATA", "503 5.5.1 Error: need RCPT command");
		return;
	}
	rsession_envelope(s);
	snprintf(s->qid, sizeof(s->qid), "%s", s->env.id);
	s->msg = spool_msg_create(s->rcv->spool, &s->env, err, sizeof(err));
	if (s->msg == NULL || rsession_received(s) == -1) {
		int nospace = errno == ENOSPC || errno == EDQUOT || errno == EFBIG;

		log_warnx("%s: cannot create the queue file: %s", s->qid,
		    s->msg == NULL ? err : strerror(errno));
		rsession_reply(s, nospace ? "452 4.3.1 Insufficient system storage" :
		    "451 4.3.0 Error: queue file write error");
		rsession_reset(s);
		return;
	}
	s->state = RS_DATA;
	s->line_start = 1;
	s->prev_crlf = 1;
	s->last_byte = '\n';
	rsession_reply(s, "354 End data with <CR><LF>.<CR><LF>");
}

/* rsession_simple - verbs that need no transaction state */
static void
rsession_simple(struct rsession *s, const struct smtp_cmd *cmd)
{
	switch (cmd->verb) {
	case SMTP_RSET:
		rsession_reset(s);
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
		    "RSET NOOP QUIT VRFY HELP");
		break;
	default:
		rsession_error(s, smtp_verb_name(cmd->verb),
		    "502 5.5.1 Error: command not implemented");
		break;
	}
}

/* rsession_command - dispatch one parsed command line */
static void
rsession_command(struct rsession *s, const char *line, size_t len)
{
	struct smtp_cmd cmd;

	s->ntotal++;
	if (s->rcv->shutting_down && !s->in_mail) {
		rsession_reply(s, "421 4.3.2 %s Service shutting down",
		    s->rcv->hostname);
		rsession_close(s);
		return;
	}
	if (smtp_parse(line, len, &cmd) == -1) {
		rsession_error(s, smtp_verb_name(cmd.verb), cmd.reply);
		return;
	}
	if (cmd.verb != SMTP_MAIL && cmd.verb != SMTP_RCPT &&
	    cmd.verb != SMTP_DATA && cmd.verb != SMTP_QUIT &&
	    ++s->ncommands > s->rcv->cfg->smtp.max_commands) {
		rsession_reply(s, "421 4.7.0 %s Error: too many commands",
		    s->rcv->hostname);
		log_info("too many commands from [%s]: closing", s->ip);
		rsession_close(s);
		return;
	}
	switch (cmd.verb) {
	case SMTP_HELO:
	case SMTP_EHLO:
		rsession_helo(s, &cmd);
		break;
	case SMTP_MAIL:
		rsession_mail(s, &cmd);
		break;
	case SMTP_RCPT:
		rsession_rcpt(s, &cmd);
		break;
	case SMTP_DATA:
		rsession_data_cmd(s);
		break;
	default:
		rsession_simple(s, &cmd);
		break;
	}
}

/* rsession_line_too_long - the reply for an overlong command line */
static void
rsession_line_too_long(struct rsession *s)
{
	s->ntotal++;
	rsession_error(s, "command", "500 5.5.2 Error: line too long");
}

/*
 * rsession_command_input - take one command line from the input buffer;
 * 1 when something was consumed, 0 when more input is needed
 */
static int
rsession_command_input(struct rsession *s)
{
	struct evbuffer *in = bufferevent_get_input(s->bev);
	size_t len = evbuffer_get_length(in), eol_len = 0, n;
	struct evbuffer_ptr p;

	if (len == 0)
		return 0;
	p = evbuffer_search_eol(in, NULL, &eol_len, EVBUFFER_EOL_CRLF);
	if (p.pos == -1) {
		if (len < s->linecap)
			return 0;
		/* bounded memory: drop what we have, finish at the line end */
		evbuffer_drain(in, len);
		s->discard = 1;
		return 0;
	}
	n = (size_t)p.pos;
	if (s->discard || n + 2 > s->linecap) {
		evbuffer_drain(in, n + eol_len);
		s->discard = 0;
		rsession_line_too_long(s);
		return 1;
	}
	if (evbuffer_remove(in, s->line, n) != (int)n)
		panic("evbuffer_remove short read");
	evbuffer_drain(in, eol_len);
	rsession_command(s, s->line, n);
	return 1;
}

/* rsession_data_write - message bytes: count, check the limit, store */
static void
rsession_data_write(struct rsession *s, const char *buf, size_t len)
{
	s->msg_bytes += len;
	if (s->too_big || s->write_errno)
		return;
	if (s->msg_bytes > s->rcv->cfg->smtp.max_message_size) {
		s->too_big = 1;
		return;
	}
	if (spool_msg_write(s->msg, buf, len) == -1)
		s->write_errno = errno ? errno : EIO;
}

/* rsession_data_piece - move n input bytes to the message; eol: ends a line */
static void
rsession_data_piece(struct rsession *s, size_t n, int eol)
{
	struct evbuffer *in = bufferevent_get_input(s->bev);
	char buf[8192];
	int first = 1, crlf = 0;
	size_t k, off;

	while (n > 0) {
		k = n < sizeof(buf) ? n : sizeof(buf);
		if (evbuffer_remove(in, buf, k) != (int)k)
			panic("evbuffer_remove short read");
		n -= k;
		off = 0;
		if (first && s->line_start && s->prev_crlf && buf[0] == '.')
			off = 1;	/* dot-unstuffing */
		first = 0;
		if (eol && n == 0)
			crlf = (k >= 2 ? buf[k - 2] : s->last_byte) == '\r';
		rsession_data_write(s, buf + off, k - off);
		s->last_byte = buf[k - 1];
		s->line_start = 0;
	}
	if (eol) {
		s->line_start = 1;
		s->prev_crlf = crlf;
	}
}

/* rsession_data_end - "." seen: refuse, or park the session for the commit */
static void
rsession_data_end(struct rsession *s)
{
	char from[RS_LOGTEXT];
	int e;

	s->state = RS_CMD;
	if (s->too_big) {
		log_info("%s: reject: message from [%s] too big (%llu bytes); "
		    "from=<%s>", s->qid, s->ip, s->msg_bytes,
		    rs_clean(from, sizeof(from), s->from));
		s->nrejected++;
		rsession_reply(s, "552 5.3.4 Error: message size exceeds fixed "
		    "maximum message size");
		rsession_reset(s);
		return;
	}
	if (s->write_errno || spool_msg_flush(s->msg) == -1) {
		e = s->write_errno ? s->write_errno : errno;
		log_warnx("%s: queue file write error: %s", s->qid, strerror(e));
		rsession_reply(s, e == ENOSPC || e == EDQUOT || e == EFBIG ?
		    "452 4.3.1 Insufficient system storage" :
		    "451 4.3.0 Error: queue file write error");
		rsession_reset(s);
		return;
	}
	s->state = RS_COMMIT;
	bufferevent_disable(s->bev, EV_READ);
	receiver_commit_submit(s->rcv, s, s->msg);
	s->msg = NULL;		/* the commit thread owns it now */
}

/*
 * rsession_data_input - take message text from the input buffer; 1 when
 * something was consumed, 0 when more input is needed
 */
static int
rsession_data_input(struct rsession *s)
{
	struct evbuffer *in = bufferevent_get_input(s->bev);
	size_t len = evbuffer_get_length(in), eol_len = 0, n;
	struct evbuffer_ptr p;
	char dot[3];

	if (len == 0)
		return 0;
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
		rsession_data_end(s);
		return 1;
	}
	rsession_data_piece(s, n, 1);
	return 1;
}

/* rsession_input - handle everything complete in the input buffer */
static void
rsession_input(struct rsession *s)
{
	for (;;) {
		int progress;

		if (s->state == RS_CMD)
			progress = rsession_command_input(s);
		else if (s->state == RS_DATA)
			progress = rsession_data_input(s);
		else
			break;
		if (!progress)
			break;
	}
}

/* rsession_read_cb - input arrived */
static void
rsession_read_cb(struct bufferevent *bev, void *arg)
{
	struct rsession *s = arg;

	rsession_input(s);
	rsession_maybe_free(s);
}

/* rsession_write_cb - output drained */
static void
rsession_write_cb(struct bufferevent *bev, void *arg)
{
	rsession_maybe_free(arg);
}

/* rsession_event_cb - EOF, error or timeout */
static void
rsession_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct rsession *s = arg;

	if ((what & BEV_EVENT_TIMEOUT) && (what & BEV_EVENT_READING) &&
	    (s->state == RS_CMD || s->state == RS_DATA)) {
		log_info("timeout from [%s] in %s", s->ip,
		    s->state == RS_DATA ? "DATA" : "command phase");
		rsession_reply(s, "421 4.4.2 %s Error: timeout exceeded",
		    s->rcv->hostname);
		rsession_close(s);
		return;
	}
	if (s->state == RS_CLOSING && (what & BEV_EVENT_EOF) &&
	    !(what & BEV_EVENT_WRITING)) {
		/* the client half-closed after QUIT: still send our reply */
		rsession_maybe_free(s);
		return;
	}
	if (s->state != RS_CLOSING && s->state != RS_COMMIT)
		log_info("lost connection from [%s]%s", s->ip,
		    s->state == RS_DATA ? " in DATA" : "");
	if (s->state == RS_COMMIT) {
		s->dead = 1;
		bufferevent_disable(bev, EV_READ | EV_WRITE);
		return;
	}
	rsession_free(s);
}

/* rsession_committed - the commit of this session's message ended */
void
rsession_committed(struct rsession *s, const char *qid, int ok)
{
	char from[RS_LOGTEXT];

	if (ok) {
		log_info("%s: from=<%s>, size=%llu, nrcpt=%zu, client=%s", qid,
		    rs_clean(from, sizeof(from), s->from), s->msg_bytes,
		    s->env.nrcpt, s->ip);
		s->nmessages++;
	} else {
		log_warnx("%s: commit failed: message from [%s] not accepted",
		    qid, s->ip);
	}
	if (s->dead) {
		rsession_free(s);
		return;
	}
	if (ok)
		rsession_reply(s, "250 2.0.0 Ok: queued as %s", qid);
	else
		rsession_reply(s, "451 4.3.0 Error: queue file write error");
	rsession_reset(s);
	s->state = RS_CMD;
	bufferevent_enable(s->bev, EV_READ);
	rsession_input(s);	/* commands pipelined behind the message */
	if (s->rcv->shutting_down && s->state == RS_CMD && !s->in_mail) {
		rsession_reply(s, "421 4.3.2 %s Service shutting down",
		    s->rcv->hostname);
		rsession_close(s);
	}
	rsession_maybe_free(s);
}

/* rsession_shutdown_all - see receiver_session.h */
void
rsession_shutdown_all(struct receiver *r, int force)
{
	struct rsession *s, *next;

	for (s = TAILQ_FIRST(&r->sessions); s != NULL; s = next) {
		next = TAILQ_NEXT(s, entry);
		if (force) {
			if (s->state == RS_COMMIT) {
				s->dead = 1;
				bufferevent_disable(s->bev, EV_READ | EV_WRITE);
			} else if (!s->dead) {
				rsession_free(s);
			}
			continue;
		}
		if (s->state == RS_CMD && !s->in_mail) {
			rsession_reply(s, "421 4.3.2 %s Service shutting down",
			    r->hostname);
			rsession_close(s);
			rsession_maybe_free(s);
		}
	}
}

/* rsession_new - set up a session on an accepted socket */
struct rsession *
rsession_new(struct receiver *r, evutil_socket_t fd, const struct sockaddr *sa,
    int salen, const char *listener)
{
	struct rsession *s = xcalloc(1, sizeof(*s));
	struct timeval tv = { r->cfg->smtp.idle_timeout, 0 };
	int one = 1;

	s->rcv = r;
	s->listener = listener;
	net_ntop(sa, s->ip, sizeof(s->ip));
	s->relay_ok = net_list_match(&r->cfg->relay.allow, sa);
	s->linecap = r->cfg->smtp.max_line_length;
	s->line = xmalloc(s->linecap + 1);
	if (sa->sa_family == AF_INET || sa->sa_family == AF_INET6)
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	s->bev = bufferevent_socket_new(r->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (s->bev == NULL)
		fatalx("bufferevent_socket_new failed");
	bufferevent_setcb(s->bev, rsession_read_cb, rsession_write_cb,
	    rsession_event_cb, s);
	bufferevent_set_timeouts(s->bev, &tv, &tv);
	bufferevent_enable(s->bev, EV_READ | EV_WRITE);
	TAILQ_INSERT_TAIL(&r->sessions, s, entry);
	r->nsessions++;
	log_info("connect from [%s] on %s%s", s->ip, listener,
	    s->relay_ok ? " (relay allowed)" : "");
	rsession_reply(s, "220 %s ESMTP gatewayd", r->hostname);
	(void)salen;
	return s;
}
