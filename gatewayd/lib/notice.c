/*
 * notice.c - notices to the sender: recipient marks, the end of a job,
 * the decision and the text (see notice.h for the whole path)
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "bounce.h"
#include "cfg.h"
#include "msginfo.h"
#include "notice.h"
#include "xmalloc.h"

/* The parameter failover.c gives a failover job's recipients (worker/). */
#define NOTICE_FAILOVER_FROM	"failover-from"

static const char notice_success_text[] =
    "Subject: Delivered: {subject}\n"
    "\n"
    "Your document was delivered to every destination.\n"
    "\n"
    "Queue ID:     {queue_id}\n"
    "Received:     {arrival}\n"
    "Documents:    {documents}\n"
    "\n"
    "Destinations:\n"
    "{destinations}\n";

static const char notice_failure_text[] =
    "Subject: Not delivered: {subject}\n"
    "\n"
    "Your document could not be delivered to every destination.\n"
    "\n"
    "Queue ID:     {queue_id}\n"
    "Received:     {arrival}\n"
    "Documents:    {documents}\n"
    "Reason:       {reason}\n"
    "\n"
    "Destinations:\n"
    "{destinations}\n";

/* notice_clean - value text for a line: controls become spaces, capped */
static void
notice_clean(char *dst, size_t len, const char *src)
{
	size_t i;

	for (i = 0; src != NULL && src[i] != '\0' && i + 1 < len; i++)
		dst[i] = (unsigned char)src[i] < 0x20 || src[i] == 0x7f ? ' ' :
		    src[i];
	dst[i] = '\0';
}

/* notice_docs - the attachments' names, comma-separated, capped */
static void
notice_docs(const struct msginfo *mi, char *out, size_t len)
{
	char name[MSGINFO_NAME_MAX];
	size_t i, n = 0;

	out[0] = '\0';
	for (i = 0; mi != NULL && i < mi->ntypes; i++) {
		notice_clean(name, sizeof(name), mi->attach_names &&
		    mi->attach_names[i] ? mi->attach_names[i] :
		    mi->attach_types[i]);
		if (n + strlen(name) + 3 >= len) {
			if (n + 4 < len)
				memcpy(out + n, "...", 4);
			return;
		}
		n += (size_t)snprintf(out + n, len - n, "%s%s", n ? ", " : "",
		    name);
	}
}

/* notice_params - mark a recipient that rule routes (notice.h) */
void
notice_params(struct envelope_rcpt *r, const struct cfg_rule *rule,
    const struct envelope *msg, const struct msginfo *mi)
{
	char v[NOTICE_VALUE_MAX];

	if ((!rule->notify.success && !rule->notify.failure) ||
	    msg->from == NULL || msg->from[0] == '\0')
		return;
	snprintf(v, sizeof(v), "%s%s%s%s", rule->notify.success ? "success" :
	    "", rule->notify.success && rule->notify.failure ? "," : "",
	    rule->notify.failure ? "failure" : "",
	    rule->notify.bounce ? ",bounce" : "");
	envelope_rcpt_set_param(r, NOTICE_PARAM, v);
	envelope_rcpt_set_param(r, NOTICE_PARAM_RULE, rule->name);
	notice_clean(v, sizeof(v), mi ? msginfo_header(mi, "Subject") : NULL);
	if (v[0] != '\0')
		envelope_rcpt_set_param(r, NOTICE_PARAM_SUBJECT, v);
	notice_docs(mi, v, sizeof(v));
	if (v[0] != '\0')
		envelope_rcpt_set_param(r, NOTICE_PARAM_DOCS, v);
}

/* notice_has - does a comma list hold word? */
static int
notice_has(const char *list, const char *word)
{
	size_t n = strlen(word);
	const char *p;

	for (p = list; p != NULL && *p != '\0'; p = strchr(p, ',') ?
	    strchr(p, ',') + 1 : NULL)
		if (strncmp(p, word, n) == 0 && (p[n] == ',' || p[n] == '\0'))
			return 1;
	return 0;
}

/* notice_wanted - does this job carry a notice for its sender? */
int
notice_wanted(const struct envelope *job)
{
	size_t i;

	for (i = 0; i < job->nrcpt; i++)
		if (envelope_rcpt_param(&job->rcpt[i], NOTICE_PARAM) != NULL)
			return 1;
	return 0;
}

/* notice_replaces_bounce - a failure notice instead of the failure DSN? */
int
notice_replaces_bounce(const struct envelope_rcpt *r)
{
	const char *n = envelope_rcpt_param(r, NOTICE_PARAM);

	return n != NULL && notice_has(n, "failure") &&
	    !notice_has(n, "bounce") &&
	    envelope_rcpt_param(r, BOUNCE_PARAM_NOTIFY) == NULL;
}

/* notice_job_end - record an ended job that carries a notice, remove it */
int
notice_job_end(struct spool *sp, const char *connector, const char *qid,
    const struct envelope *job, char *err, size_t errlen)
{
	int recorded = 0;

	if (notice_wanted(job)) {
		if (spool_notice_put(sp, job, err, errlen) == -1)
			return -1;
		recorded = 1;
	}
	if (spool_job_done(sp, connector, qid) == -1) {
		snprintf(err, errlen, "cannot remove the ended job: %s",
		    strerror(errno));
		return -1;
	}
	return recorded;
}

/*
 * notice_taken_over - is a failed-over recipient's outcome among the
 * records (a failover job of the same queue ID)?  A copy under another
 * queue ID reports on its own.
 */
static int
notice_taken_over(const struct envelope *jobs, size_t n,
    const struct envelope_rcpt *r)
{
	size_t i, j;

	for (i = 0; i < n; i++)
		for (j = 0; j < jobs[i].nrcpt; j++)
			if (strcasecmp(jobs[i].rcpt[j].addr, r->addr) == 0 &&
			    envelope_rcpt_param(&jobs[i].rcpt[j],
			    NOTICE_FAILOVER_FROM) != NULL)
				return 1;
	return 0;
}

/* notice_decide - which notice the ended jobs call for (notice.h) */
enum notice_kind
notice_decide(const struct envelope *jobs, size_t n, const char **rule)
{
	int failed = 0, want_s = 0, want_f = 0, open = 0;
	const struct envelope_rcpt *r;
	const char *v;
	size_t i, j;

	*rule = NULL;
	for (i = 0; i < n; i++)
		for (j = 0; j < jobs[i].nrcpt; j++) {
			r = &jobs[i].rcpt[j];
			if (envelope_rcpt_param(r, BOUNCE_PARAM_FAILED_OVER)) {
				/* its failover job reports, or another notice */
				open += !notice_taken_over(jobs, n, r);
				continue;
			}
			open += r->state != RCPT_DONE && r->state != RCPT_FAILED;
			if ((v = envelope_rcpt_param(r, NOTICE_PARAM)) == NULL)
				continue;
			if (*rule == NULL)
				*rule = envelope_rcpt_param(r, NOTICE_PARAM_RULE);
			want_s |= notice_has(v, "success");
			if (r->state == RCPT_FAILED) {
				failed = 1;
				want_f |= notice_has(v, "failure");
			}
		}
	if (open > 0)
		return NOTICE_NONE;
	if (failed)
		return want_f ? NOTICE_FAILURE : NOTICE_NONE;
	return want_s ? NOTICE_SUCCESS : NOTICE_NONE;
}

/* notice_template_parse - "Subject: ..." line, empty line, body */
int
notice_template_parse(const char *text, size_t len,
    struct notice_template *t, char *err, size_t errlen)
{
	const char *nl, *body = text, *base = text;
	size_t sl;

	memset(t, 0, sizeof(*t));
	if (len > NOTICE_TEMPLATE_MAX || memchr(text, '\0', len) != NULL) {
		snprintf(err, errlen, "larger than %d bytes or not text",
		    NOTICE_TEMPLATE_MAX);
		return -1;
	}
	if (len >= 8 && strncasecmp(text, "Subject:", 8) == 0) {
		if ((nl = memchr(text, '\n', len)) != NULL &&
		    (size_t)(nl + 2 - text) < len && nl[1] == '\r')
			nl++;	/* CR LF line ends */
		if (nl == NULL || (size_t)(nl + 1 - text) >= len ||
		    nl[1] != '\n') {
			snprintf(err, errlen, "the Subject: line must be "
			    "followed by an empty line");
			return -1;
		}
		for (text += 8; *text == ' ' || *text == '\t'; text++)
			;
		sl = (size_t)(nl - text);
		while (sl > 0 && (text[sl - 1] == '\r' || text[sl - 1] == '\n'))
			sl--;
		t->subject = xstrndup(text, sl);
		body = nl + 2;
	}
	t->body = xstrndup(body, len - (size_t)(body - base));
	return 0;
}

/* notice_template_default - the built-in text of a kind */
void
notice_template_default(enum notice_kind k, struct notice_template *t)
{
	const char *text = k == NOTICE_SUCCESS ? notice_success_text :
	    notice_failure_text;
	char err[64];

	if (notice_template_parse(text, strlen(text), t, err,
	    sizeof(err)) == -1)
		abort();	/* a bug in the texts above */
}

/* notice_template_free - release a template */
void
notice_template_free(struct notice_template *t)
{
	free(t->subject);
	free(t->body);
	memset(t, 0, sizeof(*t));
}

/* A notice being written: bounded. */
struct notice_out {
	FILE *fp;
	size_t bytes;
	int error;
};

/* notice_put - append bytes, turning LF into CR LF; sticky errors */
static void
notice_put(struct notice_out *o, const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n && !o->error; i++) {
		if (++o->bytes > NOTICE_TEXT_MAX) {
			o->error = EFBIG;
			return;
		}
		if (s[i] == '\r')
			continue;
		if ((s[i] == '\n' && fputc('\r', o->fp) == EOF) ||
		    fputc(s[i], o->fp) == EOF)
			o->error = EIO;
	}
}

/* notice_puts - append a string */
static void
notice_puts(struct notice_out *o, const char *s)
{
	notice_put(o, s, strlen(s));
}

/* notice_rcpt_line - "  <addr>: delivered (250 2.0.0 text)" */
static void
notice_rcpt_line(struct notice_out *o, const struct envelope_rcpt *r)
{
	char line[1200], text[700], addr[300];

	notice_clean(addr, sizeof(addr), r->addr);
	notice_clean(text, sizeof(text), r->text);
	snprintf(line, sizeof(line), "  %s: %s (%d %s %s)\n", addr,
	    envelope_rcpt_param(r, BOUNCE_PARAM_FAILED_OVER) ? "handed to "
	    "the failover connector" : r->state == RCPT_DONE ? "delivered" :
	    "failed", r->code, r->status, text);
	notice_puts(o, line);
}

/* notice_reason - the first failure's text */
static void
notice_reason(const struct notice_info *in, char *out, size_t len)
{
	const struct envelope_rcpt *r;
	char text[700];
	size_t i, j;

	out[0] = '\0';
	for (i = 0; i < in->njobs; i++)
		for (j = 0; j < in->jobs[i].nrcpt; j++) {
			r = &in->jobs[i].rcpt[j];
			if (r->state != RCPT_FAILED ||
			    envelope_rcpt_param(r, BOUNCE_PARAM_FAILED_OVER))
				continue;
			notice_clean(text, sizeof(text), r->text);
			snprintf(out, len, "%d %s %s", r->code, r->status, text);
			return;
		}
}

/* notice_field - the value of one {name}; 0, or -1 if unknown */
static int
notice_field(struct notice_out *o, const char *name, size_t n,
    const struct notice_info *in, enum notice_kind k)
{
	char v[NOTICE_VALUE_MAX + 64];
	struct tm tm;
	size_t i, j;

#define IS(s) (n == sizeof(s) - 1 && memcmp(name, s, n) == 0)
	if (IS("queue_id"))
		notice_puts(o, in->qid);
	else if (IS("sender"))
		notice_clean(v, sizeof(v), in->sender), notice_puts(o, v);
	else if (IS("subject"))
		notice_clean(v, sizeof(v), in->subject ? in->subject :
		    "(no subject)"), notice_puts(o, v);
	else if (IS("documents"))
		notice_clean(v, sizeof(v), in->docs ? in->docs : "(none)"),
		    notice_puts(o, v);
	else if (IS("arrival")) {
		gmtime_r(&in->arrival, &tm);
		strftime(v, sizeof(v), "%Y-%m-%d %H:%M:%S UTC", &tm);
		notice_puts(o, v);
	} else if (IS("result"))
		notice_puts(o, k == NOTICE_SUCCESS ? "delivered" :
		    "not delivered");
	else if (IS("reason"))
		notice_reason(in, v, sizeof(v)), notice_puts(o, v);
	else if (IS("destinations")) {
		for (i = 0; i < in->njobs; i++)
			for (j = 0; j < in->jobs[i].nrcpt; j++)
				notice_rcpt_line(o, &in->jobs[i].rcpt[j]);
	} else
		return -1;
#undef IS
	return 0;
}

/* notice_expand - a template text with its {fields} replaced */
static void
notice_expand(struct notice_out *o, const char *t,
    const struct notice_info *in, enum notice_kind k)
{
	const char *open, *close;

	while (*t != '\0' && !o->error) {
		if ((open = strchr(t, '{')) == NULL ||
		    (close = strchr(open, '}')) == NULL) {
			notice_puts(o, t);
			return;
		}
		notice_put(o, t, (size_t)(open - t));
		if (notice_field(o, open + 1, (size_t)(close - open - 1), in,
		    k) == -1)
			notice_put(o, open, (size_t)(close + 1 - open));
		t = close + 1;
	}
}


/*
 * notice_b64 - base64 of n bytes into out (4 * ((n + 2) / 3) + 1 bytes),
 * NUL-terminated; here rather than OpenSSL's EVP_EncodeBlock, so the
 * router and the worker need no libcrypto (its relocations alone are
 * 400 KiB of private memory in each process that maps it)
 */
static void
notice_b64(unsigned char *out, const unsigned char *in, size_t n)
{
	static const char a[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	unsigned long v;
	size_t i;

	for (i = 0; i + 2 < n; i += 3) {
		v = (unsigned long)in[i] << 16 | (unsigned long)in[i + 1] << 8 |
		    in[i + 2];
		*out++ = a[v >> 18 & 63];
		*out++ = a[v >> 12 & 63];
		*out++ = a[v >> 6 & 63];
		*out++ = a[v & 63];
	}
	if (i < n) {
		v = (unsigned long)in[i] << 16 |
		    (i + 1 < n ? (unsigned long)in[i + 1] << 8 : 0);
		*out++ = a[v >> 18 & 63];
		*out++ = a[v >> 12 & 63];
		*out++ = i + 1 < n ? a[v >> 6 & 63] : '=';
		*out++ = '=';
	}
	*out = '\0';
}
/* notice_subject - the Subject: header, RFC 2047 words when not ASCII */
static void
notice_subject(struct notice_out *o, const char *text)
{
	unsigned char b64[128];
	size_t i, n, len = strlen(text);
	int ascii = 1;

	for (i = 0; i < len; i++)
		ascii &= (unsigned char)text[i] < 0x80;
	notice_puts(o, "Subject: ");
	if (ascii) {
		notice_puts(o, text);
		notice_puts(o, "\n");
		return;
	}
	for (i = 0; i < len; i += n) {
		n = len - i > 45 ? 45 : len - i;
		while (i + n < len && ((unsigned char)text[i + n] & 0xc0) == 0x80)
			n--;	/* never cut a UTF-8 sequence */
		notice_b64(b64, (const unsigned char *)text + i, n);
		notice_puts(o, i ? "\n =?UTF-8?B?" : "=?UTF-8?B?");
		notice_puts(o, (const char *)b64);
		notice_puts(o, "?=");
	}
	notice_puts(o, "\n");
}

/* notice_compose - the notice message (notice.h) */
int
notice_compose(FILE *fp, const struct notice_template *t,
    const struct notice_info *in, enum notice_kind k, const char *from,
    const char *hostname, time_t now)
{
	struct notice_out o = { fp, 0, 0 }, so = { NULL, 0, 0 };
	const char *kind = k == NOTICE_SUCCESS ? "success" : "failure";
	char *subj = NULL, subject[400], hdr[700], to[300];
	size_t slen = 0;
	struct tm tm;

	if ((so.fp = open_memstream(&subj, &slen)) == NULL)
		return -1;
	notice_expand(&so, t->subject ? t->subject : "{result}: {subject}",
	    in, k);
	fclose(so.fp);
	notice_clean(subject, sizeof(subject), subj);
	free(subj);
	notice_clean(to, sizeof(to), in->sender);
	snprintf(hdr, sizeof(hdr), "From: %s\nTo: <%s>\n", from, to);
	notice_puts(&o, hdr);
	notice_subject(&o, subject);
	localtime_r(&now, &tm);
	strftime(hdr, sizeof(hdr), "Date: %a, %d %b %Y %H:%M:%S %z\n", &tm);
	notice_puts(&o, hdr);
	snprintf(hdr, sizeof(hdr), "Message-ID: <%s.%s.notice@%s>\n"
	    "X-Gatewayd-Notice: %s; queue-id=%s\n", in->qid, kind, hostname,
	    kind, in->qid);
	notice_puts(&o, hdr);
	notice_puts(&o, "Auto-Submitted: auto-replied\nMIME-Version: 1.0\n"
	    "Content-Type: text/plain; charset=utf-8\n"
	    "Content-Transfer-Encoding: 8bit\n\n");
	notice_expand(&o, t->body, in, k);
	if (o.error == 0 && fflush(fp) == EOF)
		o.error = EIO;
	errno = o.error;
	return o.error ? -1 : 0;
}
