/*
 * router_recog.c - the router's side of routing-sheet recognition
 *
 * The questions in flight (a small table: only scans waiting for the
 * recognizer are in it), the strict reader of the recognizer's result
 * file, and the writer of the parts as new messages.  See router_recog.h.
 *
 * The result file (recognize/<qid>.result), one field per line:
 *   gatewayd-recognize 1
 *   status sheets | none | unreadable
 *   reason <printable text>
 *   part <directive|separator|none> <id or -> <sheet page> <first> <last>
 *   end
 * with one part line per recognize/<qid>.<n> (n from 1), pages 1-based:
 * the parts follow each other from page 1 without gaps, a part behind a
 * sheet starts at its sheet, and only the first part may have none.
 */
#include "config.h"

#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cfg.h"
#include "envelope.h"
#include "router_recog.h"
#include "rules.h"
#include "spool.h"
#include "xmalloc.h"

struct router_recog_ask {
	char qid[SPOOL_QID_LEN + 1];
	time_t asked;
};

struct router_recog {
	struct router_recog_ask *ask;
	size_t n;
};

/* router_recog_new - an empty table of questions */
struct router_recog *
router_recog_new(void)
{
	return xcalloc(1, sizeof(struct router_recog));
}

/* router_recog_free - forget every question */
void
router_recog_free(struct router_recog *rr)
{
	if (rr == NULL)
		return;
	free(rr->ask);
	free(rr);
}

/* router_recog_find - the index of qid, or -1 */
static ssize_t
router_recog_find(const struct router_recog *rr, const char *qid)
{
	size_t i;

	for (i = 0; i < rr->n; i++)
		if (strcmp(rr->ask[i].qid, qid) == 0)
			return (ssize_t)i;
	return -1;
}

/* router_recog_waiting - asked less than stale seconds ago? */
int
router_recog_waiting(const struct router_recog *rr, const char *qid,
    time_t now, time_t stale)
{
	ssize_t i = router_recog_find(rr, qid);

	return i >= 0 && now - rr->ask[i].asked < stale;
}

/* router_recog_asked - remember that qid was asked at now */
void
router_recog_asked(struct router_recog *rr, const char *qid, time_t now)
{
	ssize_t i = router_recog_find(rr, qid);

	if (i < 0) {
		rr->ask = xreallocarray(rr->ask, rr->n + 1, sizeof(*rr->ask));
		i = (ssize_t)rr->n++;
		snprintf(rr->ask[i].qid, sizeof(rr->ask[i].qid), "%s", qid);
	}
	rr->ask[i].asked = now;
}

/* router_recog_forget - the answer came */
void
router_recog_forget(struct router_recog *rr, const char *qid)
{
	ssize_t i = router_recog_find(rr, qid);

	if (i < 0)
		return;
	rr->ask[i] = rr->ask[--rr->n];
}

/* rr_read_all - the whole file behind fd, at most max bytes, NUL-ended */
static char *
rr_read_all(int fd, size_t max, size_t *lenp)
{
	struct stat st;
	char *buf;
	size_t len = 0;
	ssize_t n;

	if (fstat(fd, &st) == -1)
		return NULL;
	if (st.st_size < 0 || (uintmax_t)st.st_size > max) {
		errno = EFBIG;
		return NULL;
	}
	buf = xmalloc((size_t)st.st_size + 1);
	while (len < (size_t)st.st_size) {
		n = read(fd, buf + len, (size_t)st.st_size - len);
		if (n <= 0) {
			if (n == 0)
				errno = EIO;	/* shrank under us */
			free(buf);
			return NULL;
		}
		len += (size_t)n;
	}
	buf[len] = '\0';
	*lenp = len;
	return buf;
}

/* rr_number - a page number 0..100000 in decimal */
static int
rr_number(const char *s, unsigned int *out)
{
	unsigned long v;
	char *end;

	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (*end != '\0' || errno != 0 || v > 100000)
		return -1;
	*out = (unsigned int)v;
	return 0;
}

/* rr_id_valid - a directive ID as the scan library gives it */
static int
rr_id_valid(const char *s)
{
	size_t n = strlen(s), i;

	if (n == 0 || n >= RULES_SHEET_ID_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]))
			return 0;
	return 1;
}

/* rr_part - one "part" line's fields (after the keyword) */
static int
rr_part(char *line, struct rules_recog *out)
{
	static const char *const kinds[] = { "none", "directive", "separator",
	    NULL };
	char *f[5], *save = NULL;
	struct rules_part *p;
	int i, k;

	for (i = 0; i < 5; i++)
		if ((f[i] = strtok_r(i ? NULL : line, " ", &save)) == NULL)
			return -1;
	if (strtok_r(NULL, " ", &save) != NULL ||
	    out->nparts >= RULES_RECOG_MAX_PARTS)
		return -1;
	p = &out->parts[out->nparts];
	memset(p, 0, sizeof(*p));
	for (k = 0; kinds[k] != NULL && strcmp(kinds[k], f[0]) != 0; k++)
		;
	if (kinds[k] == NULL)
		return -1;
	p->kind = k;
	if (strcmp(f[1], "-") != 0) {
		if (!rr_id_valid(f[1]))
			return -1;
		snprintf(p->id, sizeof(p->id), "%s", f[1]);
	}
	if (rr_number(f[2], &p->sheet_page) == -1 ||
	    rr_number(f[3], &p->first) == -1 ||
	    rr_number(f[4], &p->last) == -1 ||
	    (p->kind != RULES_PART_NONE && p->sheet_page == 0) ||
	    (p->kind == RULES_PART_DIRECTIVE && p->id[0] == '\0'))
		return -1;
	out->nparts++;
	return 0;
}

/* rr_line - one line of the result file; 1 at "end", 0 more, -1 bad */
static int
rr_line(char *line, size_t no, struct rules_recog *out)
{
	static const char *const st[] = { "", "sheets", "none", "unreadable",
	    NULL };
	const unsigned char *c;
	int i;

	for (c = (const unsigned char *)line; *c != '\0'; c++)
		if (*c < 0x20 || *c >= 0x7f)
			return -1;
	if (no == 0)
		return strcmp(line, "gatewayd-recognize 1") == 0 ? 0 : -1;
	if (strcmp(line, "end") == 0)
		return 1;
	if (strncmp(line, "status ", 7) == 0 && out->status == 0) {
		for (i = 1; st[i] != NULL && strcmp(st[i], line + 7) != 0; i++)
			;
		if (st[i] == NULL)
			return -1;
		out->status = i;
		return 0;
	}
	if (strncmp(line, "reason ", 7) == 0) {
		snprintf(out->reason, sizeof(out->reason), "%s", line + 7);
		return 0;
	}
	if (strncmp(line, "part ", 5) == 0)
		return rr_part(line + 5, out);
	return -1;
}

/* rr_pages - the parts cover pages 1..n in order, each sheet first in its part */
static int
rr_pages(const struct rules_recog *out)
{
	const struct rules_part *p;
	unsigned int next = 1;
	size_t i;

	for (i = 0; i < out->nparts; i++) {
		p = &out->parts[i];
		if (p->first != next || p->last < p->first ||
		    (p->kind == RULES_PART_NONE ? p->sheet_page != 0 || i != 0 :
		    p->sheet_page != p->first))
			return -1;
		next = p->last + 1;
	}
	return 0;
}

/* router_recog_parse - the whole result text, strictly (router_recog.h) */
int
router_recog_parse(char *text, struct rules_recog *out)
{
	char *line = text, *nl;
	size_t no = 0;
	int r = 0;

	while (r == 0 && *line != '\0') {
		if ((nl = strchr(line, '\n')) == NULL)
			return -1;	/* every line ends */
		*nl = '\0';
		r = rr_line(line, no++, out);
		line = nl + 1;
	}
	if (r != 1 || *line != '\0' || out->status == 0)
		return -1;
	if (out->status == RULES_RECOG_SHEETS && out->nparts == 0)
		return -1;
	if (out->status != RULES_RECOG_SHEETS && out->nparts != 0)
		return -1;
	return rr_pages(out);
}

/* router_recog_load - the answer into out (router_recog.h) */
int
router_recog_load(struct spool *sp, const char *qid, const char *status,
    const char *reason, struct rules_recog *out, char *err, size_t errlen)
{
	char *text;
	size_t len;
	int fd, rc;

	memset(out, 0, sizeof(*out));
	if (strcmp(status, "ok") != 0) {
		out->status = RULES_RECOG_UNREADABLE;
		snprintf(out->reason, sizeof(out->reason), "%s", reason);
		return 0;
	}
	if ((fd = spool_recog_open(sp, qid, "result", 0, err, errlen)) == -1)
		return -1;
	text = rr_read_all(fd, ROUTER_RECOG_RESULT_MAX, &len);
	close(fd);
	if (text == NULL) {
		snprintf(err, errlen, "recognizer result of %s: %s", qid,
		    strerror(errno));
		return -1;
	}
	rc = strlen(text) == len ? router_recog_parse(text, out) : -1;
	free(text);
	if (rc == -1) {
		memset(out, 0, sizeof(*out));
		snprintf(err, errlen, "recognizer result of %s is malformed",
		    qid);
	}
	return rc;
}

/* rr_rcpt - a split recipient with its sheet parameters */
static void
rr_rcpt(struct envelope *env, const struct rules_split *sp,
    const struct rules_part *p, size_t i, size_t n, const char *orig)
{
	static const char *const kinds[] = { "none", "directive", "separator" };
	struct envelope_rcpt *r = envelope_add_rcpt(env, sp->addr);
	char buf[64];
	size_t j;

	for (j = 0; j < sp->src->nparams && j + 6 < ENVELOPE_MAX_PARAMS; j++)
		if (strncmp(sp->src->params[j].name, "sheet", 5) != 0)
			envelope_rcpt_set_param(r, sp->src->params[j].name,
			    sp->src->params[j].value);
	envelope_rcpt_set_param(r, "sheet", kinds[p->kind]);
	if (p->id[0] != '\0')
		envelope_rcpt_set_param(r, "sheet-directive", p->id);
	if (p->sheet_page > 0) {
		snprintf(buf, sizeof(buf), "%u", p->sheet_page);
		envelope_rcpt_set_param(r, "sheet-page", buf);
	}
	snprintf(buf, sizeof(buf), "%u-%u", p->first, p->last);
	envelope_rcpt_set_param(r, "sheet-pages", buf);
	snprintf(buf, sizeof(buf), "%zu/%zu", i + 1, n);
	envelope_rcpt_set_param(r, "sheet-part", buf);
	envelope_rcpt_set_param(r, "sheet-scan", orig);
}

/* rr_copy - the part file behind fd into a new message m */
static int
rr_copy(int fd, struct spool_msg *m, size_t max, char *err, size_t errlen)
{
	char buf[16384];
	size_t total = 0;
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		total += (size_t)n;
		if (total > max) {
			snprintf(err, errlen, "a part is over %zu bytes", max);
			return -1;
		}
		if (spool_msg_write(m, buf, (size_t)n) == -1) {
			snprintf(err, errlen, "writing a part: %s",
			    strerror(errno));
			return -1;
		}
	}
	if (n == -1 || spool_msg_flush(m) == -1) {
		snprintf(err, errlen, "copying a part: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* rr_part_msg - part i as a new message in tmp/, or NULL */
static struct spool_msg *
rr_part_msg(struct spool *sp, const struct cfg *cfg, const struct envelope *msg,
    const struct rules_env *env, size_t i, char *err, size_t errlen)
{
	const struct rules_part *p = &env->recog->parts[i];
	struct envelope penv, tmpl;
	struct spool_msg *m = NULL;
	struct stat st;
	char name[24];
	size_t j;
	int fd;

	snprintf(name, sizeof(name), "%zu", i + 1);
	if ((fd = spool_recog_open(sp, msg->id, name, 0, err, errlen)) == -1)
		return NULL;
	memset(&penv, 0, sizeof(penv));
	tmpl = *msg;
	tmpl.rcpt = NULL;
	tmpl.nrcpt = 0;
	envelope_copy(&penv, &tmpl);
	penv.kind = ENVELOPE_MESSAGE;
	spool_qid_new(sp, penv.id);
	penv.size = fstat(fd, &st) == 0 ? st.st_size : -1;
	for (j = 0; j < env->nsplit; j++)
		rr_rcpt(&penv, &env->split[j], p, i, env->recog->nparts, msg->id);
	if ((m = spool_msg_create(sp, &penv, err, errlen)) != NULL &&
	    rr_copy(fd, m, 2 * cfg->smtp.max_message_size + 65536, err,
	    errlen) == -1) {
		spool_msg_abort(m);
		m = NULL;
	}
	close(fd);
	envelope_clear(&penv);
	return m;
}

/* router_recog_parts - the parts as new messages (router_recog.h) */
int
router_recog_parts(struct spool *sp, const struct cfg *cfg,
    const struct envelope *msg, const struct rules_env *env, char ***qids,
    size_t *nqids, char *err, size_t errlen)
{
	size_t n = env->recog->nparts, i, done;
	struct spool_msg **m = xcalloc(n, sizeof(*m));
	int *ok = xcalloc(n, sizeof(*ok));

	*qids = xcalloc(n, sizeof(**qids));
	*nqids = 0;
	for (i = 0; i < n; i++) {
		if ((m[i] = rr_part_msg(sp, cfg, msg, env, i, err,
		    errlen)) == NULL) {
			*nqids = i;
			while (i-- > 0)
				spool_msg_abort(m[i]);
			free(m);
			free(ok);
			return -1;
		}
		(*qids)[i] = xstrdup(spool_msg_id(m[i]));
	}
	done = spool_commit(sp, m, n, ok);
	*nqids = n;
	free(m);
	free(ok);
	if (done != n) {
		snprintf(err, errlen, "%zu of %zu parts could not be committed",
		    n - done, n);
		return -1;
	}
	return 0;
}
