/*
 * bounce.c - compose and inject delivery status notifications (RFC 3464)
 *
 * The DSN is a multipart/report (RFC 6522) with three parts: a short text
 * for people, a message/delivery-status part with one block per reported
 * recipient, and the original message (message/rfc822, RET=FULL, the
 * default for failures) or its header only (text/rfc822-headers: RET=HDRS,
 * delay and success notices, postmaster copies).  Every generated line
 * ends with CRLF; text that came from clients or upstream servers is cut
 * down to printable ASCII before it goes into a header or a status field.
 * The message enters the spool like a received one (tmp/ then one
 * commit) from the null sender, so the router routes it normally.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "bounce.h"
#include "notice.h"
#include "log.h"
#include "xmalloc.h"

#define BOUNCE_FIELD_MAX	900	/* bytes of one generated field value */
#define BOUNCE_CHUNK		65536

/* bounce_notify_has - does the NOTIFY list ask for kind (NULL = default)? */
static int
bounce_notify_has(const struct bounce_opts *o, const char *notify,
    const char *kind)
{
	char list[128], *tok, *save;

	if (notify == NULL || notify[0] == '\0')
		return strcmp(kind, "FAILURE") == 0 ||
		    (strcmp(kind, "DELAY") == 0 && o->delay_warning > 0);
	snprintf(list, sizeof(list), "%s", notify);
	for (tok = strtok_r(list, ",", &save); tok != NULL;
	    tok = strtok_r(NULL, ",", &save))
		if (strcasecmp(tok, kind) == 0)
			return strcmp(kind, "DELAY") != 0 ||
			    o->delay_warning > 0;
	return 0;
}

/* bounce_select - the action due now for each recipient */
size_t
bounce_select(const struct bounce_opts *o, const struct envelope *job,
    time_t now, enum bounce_action *actions)
{
	time_t arrival = (time_t)(job->arrival_us / 1000000);
	const char *sent, *notify;
	size_t i, n = 0;

	for (i = 0; i < job->nrcpt; i++) {
		const struct envelope_rcpt *r = &job->rcpt[i];

		actions[i] = BOUNCE_NONE;
		sent = envelope_rcpt_param(r, BOUNCE_PARAM_SENT);
		notify = envelope_rcpt_param(r, BOUNCE_PARAM_NOTIFY);
		if (sent != NULL && strcmp(sent, "delayed") != 0)
			continue;	/* a final notice went already */
		if (envelope_rcpt_param(r, BOUNCE_PARAM_FAILED_OVER) != NULL)
			continue;	/* another connector has it now */
		if (r->state == RCPT_FAILED && notice_replaces_bounce(r))
			continue;	/* the sender gets a notice (notice.h) */
		if (r->state == RCPT_FAILED &&
		    bounce_notify_has(o, notify, "FAILURE"))
			actions[i] = BOUNCE_FAILED;
		else if (r->state == RCPT_DONE &&
		    bounce_notify_has(o, notify, "SUCCESS"))
			actions[i] = BOUNCE_DELIVERED;
		else if (r->state == RCPT_DEFERRED && sent == NULL &&
		    o->delay_warning > 0 && now - arrival >= o->delay_warning &&
		    bounce_notify_has(o, notify, "DELAY"))
			actions[i] = BOUNCE_DELAYED;
		n += actions[i] != BOUNCE_NONE;
	}
	return n;
}

/* ---- composing ---- */

struct bounce_out {
	bounce_write_fn fn;
	void *arg;
	int failed;
};

/* bounce_put - write raw bytes */
static void
bounce_put(struct bounce_out *b, const void *buf, size_t len)
{
	if (!b->failed && len > 0 && b->fn(b->arg, buf, len) == -1)
		b->failed = 1;
}

/* bounce_printf - one generated line (the caller ends it with \r\n) */
static void __attribute__((format(printf, 2, 3)))
bounce_printf(struct bounce_out *b, const char *fmt, ...)
{
	char line[2048];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0)
		b->failed = 1;
	else
		bounce_put(b, line, (size_t)n < sizeof(line) ? (size_t)n :
		    sizeof(line) - 1);
}

/* bounce_clean - printable ASCII only (others become '?'), capped */
static const char *
bounce_clean(char *dst, size_t dstlen, const char *src)
{
	size_t i;

	for (i = 0; src != NULL && src[i] != '\0' && i + 1 < dstlen; i++)
		dst[i] = (src[i] >= 0x20 && src[i] < 0x7f) ? src[i] : '?';
	dst[i] = '\0';
	return dst;
}

/* bounce_date - RFC 5322 date-time of t (UTC) */
static const char *
bounce_date(char *buf, size_t len, time_t t)
{
	static const char *days[] = { "Sun", "Mon", "Tue", "Wed", "Thu",
	    "Fri", "Sat" };
	static const char *months[] = { "Jan", "Feb", "Mar", "Apr", "May",
	    "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	struct tm tm;

	gmtime_r(&t, &tm);
	snprintf(buf, len, "%s, %d %s %d %02d:%02d:%02d +0000",
	    days[tm.tm_wday], tm.tm_mday, months[tm.tm_mon],
	    tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
	return buf;
}

/* bounce_worst - the action that names the notice */
static enum bounce_action
bounce_worst(const struct envelope *job, const enum bounce_action *a)
{
	enum bounce_action w = BOUNCE_NONE;
	size_t i;

	for (i = 0; i < job->nrcpt; i++)
		if (a[i] == BOUNCE_FAILED ||
		    (a[i] == BOUNCE_DELAYED && w != BOUNCE_FAILED) ||
		    (a[i] == BOUNCE_DELIVERED && w == BOUNCE_NONE))
			w = a[i];
	return w;
}

/* bounce_headers - the DSN's own header */
static void
bounce_headers(struct bounce_out *b, const struct bounce_opts *o,
    enum bounce_action worst, const char *to, const char *qid, time_t now)
{
	char date[64], addr[512];

	bounce_printf(b, "From: MAILER-DAEMON@%s (Mail Delivery System)\r\n",
	    o->hostname);
	bounce_printf(b, "To: <%s>\r\n", bounce_clean(addr, sizeof(addr), to));
	bounce_printf(b, "Subject: %s\r\n", worst == BOUNCE_FAILED ?
	    "Undelivered Mail Returned to Sender" : worst == BOUNCE_DELAYED ?
	    "Delayed Mail (still being retried)" :
	    "Successful Mail Delivery Report");
	bounce_printf(b, "Date: %s\r\n", bounce_date(date, sizeof(date), now));
	bounce_printf(b, "Message-ID: <%s@%s>\r\n", qid, o->hostname);
	bounce_printf(b, "Auto-Submitted: auto-replied\r\n");
	bounce_printf(b, "MIME-Version: 1.0\r\n");
	bounce_printf(b, "Content-Type: multipart/report; "
	    "report-type=delivery-status;\r\n\tboundary=\"%s/%s\"\r\n",
	    qid, o->hostname);
	bounce_printf(b, "\r\nThis is a MIME-encapsulated message.\r\n\r\n");
}

/* bounce_text - the part for people */
static void
bounce_text(struct bounce_out *b, const struct bounce_opts *o,
    const struct envelope *job, const enum bounce_action *a,
    enum bounce_action worst)
{
	char addr[512], text[BOUNCE_FIELD_MAX];
	size_t i;

	bounce_printf(b, "Content-Description: Notification\r\n"
	    "Content-Type: text/plain; charset=us-ascii\r\n\r\n");
	bounce_printf(b, "This is the mail system at host %s.\r\n\r\n",
	    o->hostname);
	if (worst == BOUNCE_FAILED)
		bounce_printf(b, "Your message could not be delivered to one "
		    "or more recipients.\r\nIt is attached below.\r\n\r\n");
	else if (worst == BOUNCE_DELAYED)
		bounce_printf(b, "Your message could not be delivered yet to "
		    "one or more recipients.\r\nIt will be tried again; you "
		    "do not need to send it again.\r\n\r\n");
	else
		bounce_printf(b, "Your message was delivered to the "
		    "recipients below, as you asked.\r\n\r\n");
	for (i = 0; i < job->nrcpt; i++) {
		if (a[i] == BOUNCE_NONE)
			continue;
		bounce_printf(b, "<%s>: %s\r\n", bounce_clean(addr,
		    sizeof(addr), job->rcpt[i].addr), bounce_clean(text,
		    sizeof(text), job->rcpt[i].text ? job->rcpt[i].text :
		    "no details"));
	}
	bounce_printf(b, "\r\n");
}

/* bounce_rcpt_status - per-recipient fields of the delivery-status part */
static void
bounce_rcpt_status(struct bounce_out *b, const struct bounce_opts *o,
    const struct envelope *job, const struct envelope_rcpt *r,
    enum bounce_action a, time_t now)
{
	static const char *names[] = { "", "delayed", "failed", "delivered" };
	char addr[512], text[BOUNCE_FIELD_MAX], date[64];
	const char *orcpt = envelope_rcpt_param(r, BOUNCE_PARAM_ORCPT);
	const char *status = r->status[0] ? r->status : a == BOUNCE_FAILED ?
	    "5.0.0" : a == BOUNCE_DELAYED ? "4.0.0" : "2.0.0";

	bounce_printf(b, "\r\n");
	if (orcpt != NULL && strchr(orcpt, ';') != NULL)
		bounce_printf(b, "Original-Recipient: %s\r\n",
		    bounce_clean(addr, sizeof(addr), orcpt));
	bounce_printf(b, "Final-Recipient: rfc822; %s\r\n",
	    bounce_clean(addr, sizeof(addr), r->addr));
	bounce_printf(b, "Action: %s\r\n", a == BOUNCE_DELIVERED ?
	    o->success_action : names[a]);
	bounce_printf(b, "Status: %s\r\n", status);
	if (r->code != 0)
		bounce_printf(b, "Diagnostic-Code: smtp; %d %s %s\r\n",
		    r->code, status, bounce_clean(text, sizeof(text),
		    r->text ? r->text : ""));
	bounce_printf(b, "Last-Attempt-Date: %s\r\n",
	    bounce_date(date, sizeof(date), now));
	if (a == BOUNCE_DELAYED && o->lifetime > 0)
		bounce_printf(b, "Will-Retry-Until: %s\r\n", bounce_date(date,
		    sizeof(date), (time_t)(job->arrival_us / 1000000) +
		    o->lifetime));
}

/* bounce_status - the message/delivery-status part */
static void
bounce_status(struct bounce_out *b, const struct bounce_opts *o,
    const struct envelope *job, const enum bounce_action *a, time_t now)
{
	char date[64], envid[512];
	size_t i;

	bounce_printf(b, "Content-Description: Delivery report\r\n"
	    "Content-Type: message/delivery-status\r\n\r\n");
	bounce_printf(b, "Reporting-MTA: dns; %s\r\n", o->hostname);
	bounce_printf(b, "X-Gatewayd-Queue-ID: %s\r\n", job->id);
	if (job->envid != NULL && job->envid[0] != '\0')
		bounce_printf(b, "Original-Envelope-Id: %s\r\n",
		    bounce_clean(envid, sizeof(envid), job->envid));
	bounce_printf(b, "Arrival-Date: %s\r\n", bounce_date(date,
	    sizeof(date), (time_t)(job->arrival_us / 1000000)));
	for (i = 0; i < job->nrcpt; i++)
		if (a[i] != BOUNCE_NONE)
			bounce_rcpt_status(b, o, job, &job->rcpt[i], a[i], now);
	bounce_printf(b, "\r\n");
}

/* bounce_header_copy - copy buf up to the empty line ending the header */
static size_t
bounce_header_copy(const char *buf, size_t n, char *out, int *bol, int *pcr,
    int *end)
{
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		if (*pcr) {
			*pcr = 0;
			if (buf[i] == '\n')
				break;
			out[o++] = '\r';
			*bol = 0;
		}
		if (*bol && buf[i] == '\n')
			break;
		if (*bol && buf[i] == '\r') {
			*pcr = 1;	/* maybe CRLF of the empty line */
			continue;
		}
		out[o++] = buf[i];
		*bol = buf[i] == '\n';
	}
	*end = i < n;
	return o;
}

/* bounce_original - the original message, or its header only */
static void
bounce_original(struct bounce_out *b, int fd, off_t off, int full)
{
	static char buf[BOUNCE_CHUNK], out[BOUNCE_CHUNK + 1];
	int bol = 1, pcr = 0, end = 0, last = '\n';
	ssize_t n = 0;
	size_t o;

	while (!end && (n = pread(fd, buf, sizeof(buf), off)) > 0) {
		off += n;
		if (full) {
			bounce_put(b, buf, (size_t)n);
			last = buf[n - 1];
			continue;
		}
		o = bounce_header_copy(buf, (size_t)n, out, &bol, &pcr, &end);
		bounce_put(b, out, o);
		if (o > 0)
			last = out[o - 1];
	}
	if (n < 0)
		b->failed = 1;
	if (last != '\n')
		bounce_put(b, "\r\n", 2);
}

/* bounce_compose - the whole DSN message */
int
bounce_compose(const struct bounce_opts *o, const struct envelope *job,
    const enum bounce_action *actions, const char *to, const char *qid,
    int datafd, off_t off, int full, time_t now, bounce_write_fn fn, void *arg)
{
	struct bounce_out b = { fn, arg, 0 };
	enum bounce_action worst = bounce_worst(job, actions);

	bounce_headers(&b, o, worst, to, qid, now);
	bounce_printf(&b, "--%s/%s\r\n", qid, o->hostname);
	bounce_text(&b, o, job, actions, worst);
	bounce_printf(&b, "--%s/%s\r\n", qid, o->hostname);
	bounce_status(&b, o, job, actions, now);
	bounce_printf(&b, "--%s/%s\r\n", qid, o->hostname);
	bounce_printf(&b, "Content-Description: %s\r\nContent-Type: %s\r\n\r\n",
	    full ? "Undelivered Message" : "Message Headers",
	    full ? "message/rfc822" : "text/rfc822-headers");
	if (datafd != -1)
		bounce_original(&b, datafd, off, full);
	bounce_printf(&b, "\r\n--%s/%s--\r\n", qid, o->hostname);
	return b.failed ? -1 : 0;
}

/* ---- injecting ---- */

/* bounce_spool_write - bounce_write_fn into a spool message */
static int
bounce_spool_write(void *arg, const void *buf, size_t len)
{
	return spool_msg_write(arg, buf, len);
}

/* bounce_recipient - who gets the notice; NULL when it is dropped */
static const char *
bounce_recipient(const struct bounce_opts *o, const struct envelope *job,
    enum bounce_action *a)
{
	size_t i;
	int failed = 0;

	if (job->from != NULL && job->from[0] != '\0')
		return job->from;
	/* null sender: failures to the postmaster, nothing else, no loop */
	for (i = 0; i < job->nrcpt; i++) {
		if (a[i] != BOUNCE_FAILED)
			a[i] = BOUNCE_NONE;
		failed += a[i] == BOUNCE_FAILED;
		if (a[i] == BOUNCE_FAILED && o->postmaster != NULL &&
		    strcasecmp(job->rcpt[i].addr, o->postmaster) == 0)
			return NULL;
	}
	return failed > 0 ? o->postmaster : NULL;
}

/* bounce_envelope - the envelope of the DSN message */
static void
bounce_envelope(struct envelope *env, const struct bounce_opts *o,
    const char *to, int eightbit)
{
	struct envelope_rcpt *r;

	memset(env, 0, sizeof(*env));
	env->kind = ENVELOPE_MESSAGE;
	env->arrival_us = 0;
	env->listener = xstrdup("bounce");
	env->client = xstrdup("");
	env->client_name = xstrdup("");
	env->helo = xstrdup(o->hostname);
	env->proto = xstrdup("DSN");
	env->body = xstrdup(eightbit ? "8BITMIME" : "7BIT");
	env->size = -1;
	env->from = xstrdup("");
	if ((r = envelope_add_rcpt(env, to)) == NULL)
		fatalx("out of memory");
	envelope_rcpt_set_param(r, BOUNCE_PARAM_NOTIFY, "NEVER");
}

/* bounce_write - create, write and commit the DSN; -1 with err */
static int
bounce_write(const struct bounce_opts *o, struct spool *sp,
    const struct envelope *job, const enum bounce_action *a, const char *to,
    int full, int datafd, off_t off, time_t now, char dsn[SPOOL_QID_LEN + 1],
    char *err, size_t errlen)
{
	struct envelope env;
	struct spool_msg *m = NULL;
	struct timespec ts;
	int tries, ok = 0;

	bounce_envelope(&env, o, to, full && job->body != NULL &&
	    strcasecmp(job->body, "8BITMIME") == 0);
	for (tries = 0; m == NULL && tries < SPOOL_QID_TRIES; tries++) {
		spool_qid_new(sp, env.id);
		clock_gettime(CLOCK_REALTIME, &ts);
		env.arrival_us = (int64_t)ts.tv_sec * 1000000 +
		    ts.tv_nsec / 1000;
		m = spool_msg_create(sp, &env, err, errlen);
		if (m == NULL && errno != EEXIST)
			break;
	}
	if (m != NULL && bounce_compose(o, job, a, to, env.id, datafd, off,
	    full, now, bounce_spool_write, m) == -1) {
		snprintf(err, errlen, "%s: cannot write the DSN: %s", env.id,
		    strerror(errno));
		spool_msg_abort(m);
		m = NULL;
	}
	if (m != NULL && (spool_msg_flush(m) == -1 ||
	    spool_commit(sp, &m, 1, &ok) != 1 || !ok)) {
		snprintf(err, errlen, "%s: cannot commit the DSN: %s", env.id,
		    strerror(errno));
		ok = 0;
	}
	if (ok)
		memcpy(dsn, env.id, SPOOL_QID_LEN + 1);
	envelope_clear(&env);
	return ok ? 0 : -1;
}

/* bounce_mark - remember the notices sent (or suppressed) */
static void
bounce_mark(struct envelope *job, const enum bounce_action *a)
{
	static const char *names[] = { "", "delayed", "failed", "delivered" };
	size_t i;

	for (i = 0; i < job->nrcpt; i++) {
		if (a[i] != BOUNCE_NONE)
			envelope_rcpt_set_param(&job->rcpt[i],
			    BOUNCE_PARAM_SENT, names[a[i]]);
	}
}

/* bounce_job - send the notices due for job; 1 sent, 0 none, -1 error */
int
bounce_job(const struct bounce_opts *o, struct spool *sp, struct envelope *job,
    int datafd, off_t off, time_t now, char dsn[SPOOL_QID_LEN + 1], char *err,
    size_t errlen)
{
	enum bounce_action *a;
	const char *to;
	size_t i;
	int full = 0, rc = 0;

	dsn[0] = '\0';
	if (job->nrcpt == 0)
		return 0;
	a = xcalloc(job->nrcpt, sizeof(*a));
	if (bounce_select(o, job, now, a) == 0) {
		free(a);
		return 0;
	}
	if ((to = bounce_recipient(o, job, a)) == NULL) {
		for (i = 0; i < job->nrcpt; i++)
			if (job->rcpt[i].state == RCPT_FAILED &&
			    envelope_rcpt_param(&job->rcpt[i],
			    BOUNCE_PARAM_SENT) == NULL) {
				log_info("%s: failure of a message from <> to "
				    "a recipient is not bounced (%s)", job->id,
				    o->postmaster ? "the postmaster itself "
				    "failed" : "no postmaster configured");
				break;
			}
		bounce_mark(job, a);
		free(a);
		return 0;
	}
	for (i = 0; i < job->nrcpt; i++)
		full |= a[i] == BOUNCE_FAILED;
	if (job->ret != NULL && strcasecmp(job->ret, "HDRS") == 0)
		full = 0;
	if (job->from == NULL || job->from[0] == '\0')
		full = 0;	/* the postmaster gets the header only */
	if (bounce_write(o, sp, job, a, to, full, datafd, off, now, dsn, err,
	    errlen) == -1)
		rc = -1;
	else {
		bounce_mark(job, a);
		log_info("%s: sender delivery status notification: %s", job->id,
		    dsn);
		rc = 1;
	}
	free(a);
	return rc;
}

/* bounce_failed_job - report a job kept in failed/, then remove it */
int
bounce_failed_job(const struct bounce_opts *o, struct spool *sp,
    const char *connector, const char *qid, enum spool_state from,
    char dsn[SPOOL_QID_LEN + 1], char *err, size_t errlen)
{
	struct envelope env;
	off_t off;
	int fd, rc;

	dsn[0] = '\0';
	if (spool_job_claim(sp, connector, qid, from) == -1) {
		snprintf(err, errlen, "claim: %s", strerror(errno));
		return -1;
	}
	if (spool_job_load(sp, connector, qid, &env, &fd, &off, err,
	    errlen) == -1) {
		(void)spool_job_move(sp, connector, qid, SPOOL_ACTIVE, from);
		return -1;
	}
	rc = bounce_job(o, sp, &env, fd, off, time(NULL), dsn, err, errlen);
	close(fd);
	if (rc >= 0 && notice_job_end(sp, connector, qid, &env, err,
	    errlen) == -1) {
		rc = -1;
		/* not left in active/: failed/ again, the notice may repeat */
		(void)spool_job_move(sp, connector, qid, SPOOL_ACTIVE, from);
	} else if (rc == -1)
		(void)spool_job_move(sp, connector, qid, SPOOL_ACTIVE,
		    SPOOL_FAILED);
	envelope_clear(&env);
	return rc;
}
