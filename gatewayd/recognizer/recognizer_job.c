/*
 * recognizer_job.c - the recognizer's job child: sheets in one message
 *
 * Runs in a forked child under resource limits (recognizer.c).  Reads
 * incoming/<qid>, parses it with GMime, searches each scanned attachment
 * (PDF, TIFF, JPEG, PNG: scan.h) for routing sheets in MIME order, and
 * splits the first attachment that holds sheets: pages before the first
 * sheet are one part (kind none), each sheet starts a part that runs to
 * the page before the next sheet; a separator sheet's part takes the
 * directive of the part before it.  Each part is the whole message again
 * with that attachment replaced by its cut document (the sheet page
 * removed unless keep), written as recognize/<qid>.<n>; the other MIME
 * parts are kept in every part.  An attachment left without a page (a
 * one-image sheet) is removed from its part.  The result file is
 * written last (format: router_recog.c).
 */
#include "config.h"

#include <sys/mman.h>
#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gmime/gmime.h>

#include "cfg.h"
#include "envelope.h"
#include "recognizer.h"
#include "rules.h"
#include "scan.h"
#include "spool.h"
#include "xmalloc.h"

#define RJ_MAX_LEAVES	256	/* MIME leaves looked at */
#define RJ_MAX_DEPTH	16	/* multipart nesting followed */

/* A leaf of the MIME tree and where it hangs. */
struct rj_leaf {
	GMimePart *part;
	GMimeMultipart *parent;		/* NULL: the message body itself */
	int index;			/* in parent */
};

struct rj_tree {
	GMimeMessage *msg;
	struct rj_leaf leaf[RJ_MAX_LEAVES];
	size_t n;
};

/* The message being read. */
struct rj {
	struct spool *sp;
	const struct cfg *cfg;
	const char *qid;
	int keep;
	unsigned char *buf;		/* the message as received */
	size_t len;
	size_t split;			/* leaf index of the split attachment */
	GByteArray *doc;		/* its decoded bytes */
	struct scan_result res;
	struct rules_part parts[RULES_RECOG_MAX_PARTS];
	size_t nparts;
};

/* rj_read - the message body of incoming/<qid> into memory */
static int
rj_read(struct rj *j, char *err, size_t errlen)
{
	struct envelope env;
	size_t cap = 2 * j->cfg->smtp.max_message_size + 65536, len = 0;
	off_t off;
	ssize_t n;
	int fd;

	memset(&env, 0, sizeof(env));
	if (spool_incoming_open(j->sp, j->qid, &env, &off, &fd, err,
	    errlen) == -1)
		return -1;
	envelope_clear(&env);
	j->buf = xmalloc(cap);
	while (len < cap && (n = read(fd, j->buf + len, cap - len)) > 0)
		len += (size_t)n;
	close(fd);
	j->len = len;
	return 0;
}

/* rj_walk - the leaves of the MIME tree, depth first */
static void
rj_walk(struct rj_tree *t, GMimeObject *obj, GMimeMultipart *parent,
    int index, int depth)
{
	GMimeMultipart *mp;
	int i, n;

	if (obj == NULL || depth > RJ_MAX_DEPTH || t->n >= RJ_MAX_LEAVES)
		return;
	if (GMIME_IS_MULTIPART(obj)) {
		mp = GMIME_MULTIPART(obj);
		n = g_mime_multipart_get_count(mp);
		for (i = 0; i < n; i++)
			rj_walk(t, g_mime_multipart_get_part(mp, i), mp, i,
			    depth + 1);
	} else if (GMIME_IS_PART(obj)) {
		t->leaf[t->n].part = GMIME_PART(obj);
		t->leaf[t->n].parent = parent;
		t->leaf[t->n++].index = index;
	}
}

/* rj_parse - the message as a GMime tree with its leaves, or -1 */
static int
rj_parse(const struct rj *j, struct rj_tree *t)
{
	GMimeStream *s;
	GMimeParser *p;

	memset(t, 0, sizeof(*t));
	s = g_mime_stream_mem_new_with_buffer((const char *)j->buf, j->len);
	p = g_mime_parser_new_with_stream(s);
	g_mime_parser_set_format(p, GMIME_FORMAT_MESSAGE);
	t->msg = g_mime_parser_construct_message(p, NULL);
	g_object_unref(p);
	g_object_unref(s);
	if (t->msg == NULL)
		return -1;
	rj_walk(t, g_mime_message_get_mime_part(t->msg), NULL, 0, 0);
	return 0;
}

/* rj_format - the scan format of a leaf, SCAN_UNKNOWN if not a scan */
static enum scan_format
rj_format(GMimePart *part)
{
	GMimeContentType *ct = g_mime_object_get_content_type(GMIME_OBJECT(part));
	char *type = ct ? g_mime_content_type_get_mime_type(ct) : NULL;
	enum scan_format f;

	f = scan_format_named(type ? type : "", g_mime_part_get_filename(part));
	g_free(type);
	return f;
}

/* rj_decode - the decoded content of a leaf (free with g_byte_array_unref) */
static GByteArray *
rj_decode(GMimePart *part)
{
	GMimeDataWrapper *dw = g_mime_part_get_content(part);
	GMimeStream *mem;
	GByteArray *ba;

	if (dw == NULL)
		return NULL;
	mem = g_mime_stream_mem_new();
	g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(mem), FALSE);
	if (g_mime_data_wrapper_write_to_stream(dw, mem) < 0) {
		g_byte_array_unref(g_mime_stream_mem_get_byte_array(
		    GMIME_STREAM_MEM(mem)));
		g_object_unref(mem);
		return NULL;
	}
	ba = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem));
	g_object_unref(mem);
	return ba;
}

/* rj_plan - the parts of the split attachment from its sheets */
static void
rj_plan(struct rj *j)
{
	const struct scan_result *r = &j->res;
	const char *prev = "";
	struct rules_part *p;
	size_t k;

	j->nparts = 0;
	if (r->sheets[0].page > 0) {
		p = &j->parts[j->nparts++];
		memset(p, 0, sizeof(*p));
		p->first = 1;
		p->last = r->sheets[0].page;
	}
	for (k = 0; k < r->nsheets && j->nparts < RULES_RECOG_MAX_PARTS; k++) {
		p = &j->parts[j->nparts++];
		memset(p, 0, sizeof(*p));
		p->kind = r->sheets[k].kind == SCAN_CODE_DIRECTIVE ?
		    RULES_PART_DIRECTIVE : RULES_PART_SEPARATOR;
		snprintf(p->id, sizeof(p->id), "%s",
		    p->kind == RULES_PART_DIRECTIVE ? r->sheets[k].id : prev);
		prev = p->id;
		p->sheet_page = r->sheets[k].page + 1;
		p->first = r->sheets[k].page + 1;
		p->last = k + 1 < r->nsheets ? r->sheets[k + 1].page :
		    r->npages;
	}
	if (k < r->nsheets)	/* more sheets than parts: no page is lost */
		j->parts[j->nparts - 1].last = r->npages;
}

/* rj_search - find the first scanned attachment with sheets; 0, 1 none, -1 */
static int
rj_search(struct rj *j, const struct rj_tree *t, char *reason, size_t len)
{
	struct scan_limits lim;
	char err[SCAN_ERRLEN];
	size_t i, nscans = 0;
	GByteArray *ba;

	memset(&lim, 0, sizeof(lim));
	lim.max_pages = j->cfg->recognize.max_pages;
	lim.dpi = j->cfg->recognize.dpi;
	lim.max_pixels = j->cfg->recognize.max_pixels;
	lim.pdftoppm = j->cfg->recognize.pdftoppm;
	for (i = 0; i < t->n; i++) {
		if (rj_format(t->leaf[i].part) == SCAN_UNKNOWN ||
		    (ba = rj_decode(t->leaf[i].part)) == NULL)
			continue;
		nscans++;
		memset(&j->res, 0, sizeof(j->res));
		if (scan_find(ba->data, ba->len, &lim, &j->res, err,
		    sizeof(err)) == -1) {
			snprintf(reason, len, "%s", err);
			g_byte_array_unref(ba);
			return -1;
		}
		if (j->res.nsheets > 0) {
			j->split = i;
			j->doc = ba;
			return 0;
		}
		g_byte_array_unref(ba);
		scan_result_free(&j->res);
	}
	snprintf(reason, len, nscans == 0 ? "no scanned document in the "
	    "message" : "no sheet in the first pages of %zu document%s",
	    nscans, nscans == 1 ? "" : "s");
	return 1;
}

/* rj_cut - the pages of part p as a new document, into a byte array */
static GByteArray *
rj_cut(const struct rj *j, const struct rules_part *p, char *err,
    size_t errlen)
{
	unsigned int skip = p->sheet_page - 1;
	size_t nskip = p->sheet_page > 0 && !j->keep ? 1 : 0;
	GByteArray *ba;
	struct stat st;
	int fd;

	if ((fd = memfd_create("gatewayd-cut", MFD_CLOEXEC)) == -1) {
		snprintf(err, errlen, "memfd_create: %s", strerror(errno));
		return NULL;
	}
	if (scan_cut(j->doc->data, j->doc->len, p->first - 1, p->last - 1,
	    &skip, nskip, fd, err, errlen) == -1 || fstat(fd, &st) == -1) {
		close(fd);
		return NULL;
	}
	ba = g_byte_array_sized_new((guint)st.st_size);
	g_byte_array_set_size(ba, (guint)st.st_size);
	if (pread(fd, ba->data, (size_t)st.st_size, 0) != st.st_size) {
		snprintf(err, errlen, "reading the cut document back");
		g_byte_array_unref(ba);
		ba = NULL;
	}
	close(fd);
	return ba;
}

/* rj_replace - the split attachment of tree t becomes part p's pages */
static int
rj_replace(const struct rj *j, struct rj_tree *t, const struct rules_part *p,
    char *err, size_t errlen)
{
	const struct rj_leaf *lf = &t->leaf[j->split];
	unsigned int pages = p->last - p->first + 1;
	GMimeDataWrapper *dw;
	GMimeStream *s;
	GMimeTextPart *tp;
	GByteArray *ba;

	if (p->sheet_page > 0 && !j->keep)
		pages--;
	if (pages == 0 && lf->parent != NULL) {
		g_object_unref(g_mime_multipart_remove_at(lf->parent,
		    lf->index));
		return 0;
	}
	if (pages == 0) {
		tp = g_mime_text_part_new_with_subtype("plain");
		g_mime_text_part_set_text(tp, "The scan held only its "
		    "routing sheet.\n");
		g_mime_message_set_mime_part(t->msg, GMIME_OBJECT(tp));
		g_object_unref(tp);
		return 0;
	}
	if (pages == j->res.npages)
		return 0;	/* nothing to cut */
	if ((ba = rj_cut(j, p, err, errlen)) == NULL)
		return -1;
	s = g_mime_stream_mem_new_with_byte_array(ba);
	dw = g_mime_data_wrapper_new_with_stream(s, GMIME_CONTENT_ENCODING_DEFAULT);
	g_mime_part_set_content(lf->part, dw);
	g_mime_part_set_content_encoding(lf->part, GMIME_CONTENT_ENCODING_BASE64);
	g_object_unref(dw);
	g_object_unref(s);
	return 0;
}

/* rj_write_msg - the message of tree t as recognize/<qid>.<n> */
static int
rj_write_msg(const struct rj *j, struct rj_tree *t, size_t n, char *err,
    size_t errlen)
{
	GMimeFormatOptions *fo;
	GMimeStream *s;
	char name[24];
	int fd, rc;

	snprintf(name, sizeof(name), "%zu", n);
	if ((fd = spool_recog_open(j->sp, j->qid, name, 1, err,
	    errlen)) == -1)
		return -1;
	s = g_mime_stream_fs_new(fd);	/* closes fd */
	fo = g_mime_format_options_new();
	g_mime_format_options_set_newline_format(fo, GMIME_NEWLINE_FORMAT_DOS);
	rc = g_mime_object_write_to_stream(GMIME_OBJECT(t->msg), fo, s) < 0 ||
	    g_mime_stream_flush(s) != 0 ? -1 : 0;
	g_mime_format_options_free(fo);
	g_object_unref(s);
	if (rc == -1)
		snprintf(err, errlen, "writing part %zu: %s", n,
		    strerror(errno));
	return rc;
}

/* rj_parts - write every part as a message of its own */
static int
rj_parts(struct rj *j, char *err, size_t errlen)
{
	struct rj_tree t;
	size_t i;
	int rc = 0;

	for (i = 0; i < j->nparts && rc == 0; i++) {
		if (rj_parse(j, &t) == -1 || t.n <= j->split) {
			snprintf(err, errlen, "the message parsed differently");
			rc = -1;
		} else if ((rc = rj_replace(j, &t, &j->parts[i], err,
		    errlen)) == 0)
			rc = rj_write_msg(j, &t, i + 1, err, errlen);
		if (t.msg != NULL)
			g_object_unref(t.msg);
	}
	return rc;
}

/* rj_clean - the reason as one printable line */
static void
rj_clean(char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
			*s = '?';
}

/* rj_result - recognize/<qid>.result, written last */
static int
rj_result(const struct rj *j, const char *status, char *reason, char *err,
    size_t errlen)
{
	const char *kinds[] = { "none", "directive", "separator" };
	const struct rules_part *p;
	FILE *fp;
	size_t i;
	int fd;

	if ((fd = spool_recog_open(j->sp, j->qid, "result", 1, err,
	    errlen)) == -1)
		return -1;
	if ((fp = fdopen(fd, "w")) == NULL) {
		close(fd);
		snprintf(err, errlen, "fdopen: %s", strerror(errno));
		return -1;
	}
	rj_clean(reason);
	fprintf(fp, "gatewayd-recognize 1\nstatus %s\nreason %.200s\n", status,
	    reason);
	for (i = 0; strcmp(status, "sheets") == 0 && i < j->nparts; i++) {
		p = &j->parts[i];
		fprintf(fp, "part %s %s %u %u %u\n", kinds[p->kind],
		    p->id[0] ? p->id : "-", p->sheet_page, p->first, p->last);
	}
	fprintf(fp, "end\n");
	if (fclose(fp) != 0) {
		snprintf(err, errlen, "writing the result: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* recognizer_job - the job child's work for qid (recognizer.h) */
int
recognizer_job(struct spool *sp, const struct cfg *cfg, const char *qid,
    int keep, char *err, size_t errlen)
{
	struct rj j;
	struct rj_tree t;
	char reason[SCAN_ERRLEN];
	int r;

	memset(&j, 0, sizeof(j));
	j.sp = sp;
	j.cfg = cfg;
	j.qid = qid;
	j.keep = keep;
	if (rj_read(&j, err, errlen) == -1)
		return -1;
	g_mime_init();
	if (rj_parse(&j, &t) == -1) {
		snprintf(reason, sizeof(reason), "the message is not MIME");
		return rj_result(&j, "unreadable", reason, err, errlen);
	}
	r = rj_search(&j, &t, reason, sizeof(reason));
	g_object_unref(t.msg);
	if (r != 0)
		return rj_result(&j, r == 1 ? "none" : "unreadable", reason,
		    err, errlen);
	rj_plan(&j);
	if (rj_parts(&j, reason, sizeof(reason)) == -1)
		return rj_result(&j, "unreadable", reason, err, errlen);
	snprintf(reason, sizeof(reason), "%zu sheet%s in %u page%s",
	    j.res.nsheets, j.res.nsheets == 1 ? "" : "s", j.res.npages,
	    j.res.npages == 1 ? "" : "s");
	return rj_result(&j, "sheets", reason, err, errlen);
}
