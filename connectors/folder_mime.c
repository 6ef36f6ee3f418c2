/*
 * folder_mime.c - a message into documents, with GMime 3
 *
 * First a cheap pass over the raw message finds where it stops being
 * reasonable: more than max_parts MIME parts, multiparts nested deeper than
 * max_depth, or more than max_depth attached messages (the tree's one
 * MIME structure scanner, gatewayd/lib/mimescan.c).  GMime then parses
 * only the part before that point (a decoding bomb costs one linear scan),
 * and the walk over the tree is bounded the same way.  The documents are
 * every attachment and every inline part that is not text (scans arrive as
 * image/... or application/pdf parts, sometimes without a name), the text
 * body when the settings keep it, attached messages either opened or filed
 * as .eml (GMime writes back the bytes it parsed), uuencoded files
 * (x-uuencode parts, which GMime decodes, and "begin ... end" blocks in
 * plain-text bodies, found by folder_uu.c, at most max_parts in all);
 * names come from GMime (RFC 2231 with charsets and continuations,
 * RFC 2047, name= when filename= is missing) or are made from the queue ID
 * with an extension for the content type.  Whatever is skipped or damaged
 * is noted for the job result.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <gmime/gmime.h>

#include <gatewayd/connector.h>

#include "folder.h"
#include "mimescan.h"

#define SCAN_LINE	1000		/* bytes of a line the scan looks at */
#define UU_TEXT_MAX	(16 * 1024 * 1024)	/* text searched for blocks */
#define UU_HEAD		4096		/* bytes of a part searched for its name */

/* State of the bounding scan. */
struct scan {
	struct mimescan ms;
	int crlf;			/* the first line ends in CR LF */
	off_t cut;			/* -1: parse everything */
	const char *why;
};

/* Walk state. */
struct walk {
	const struct folder *f;
	const struct gw_envelope *env;
	struct folder_msg *m;
	unsigned int parts;
	GMimeObject *text, *html;	/* body candidates */
	size_t attachments;
};

static const struct { const char *type, *ext; } folder_types[] = {
	{ "application/pdf", "pdf" }, { "image/tiff", "tif" },
	{ "image/jpeg", "jpg" }, { "image/png", "png" }, { "image/gif", "gif" },
	{ "image/bmp", "bmp" }, { "image/webp", "webp" },
	{ "text/plain", "txt" }, { "text/html", "html" }, { "text/csv", "csv" },
	{ "text/xml", "xml" }, { "application/xml", "xml" },
	{ "application/json", "json" }, { "application/zip", "zip" },
	{ "application/msword", "doc" }, { "application/rtf", "rtf" },
	{ "application/vnd.ms-excel", "xls" },
	{ "application/vnd.openxmlformats-officedocument."
	  "wordprocessingml.document", "docx" },
	{ "application/vnd.openxmlformats-officedocument."
	  "spreadsheetml.sheet", "xlsx" },
	{ "message/rfc822", "eml" }, { "text/calendar", "ics" },
	{ "application/postscript", "ps" }, { "image/svg+xml", "svg" },
};

/* folder_mime_ext - file extension for a content type ("bin" if unknown) */
const char *
folder_mime_ext(const char *type)
{
	size_t i;

	for (i = 0; i < sizeof(folder_types) / sizeof(folder_types[0]); i++)
		if (strcasecmp(type, folder_types[i].type) == 0)
			return folder_types[i].ext;
	return "bin";
}

/* mime_type_of - a content type for a file name by its extension */
static const char *
mime_type_of(const char *name)
{
	const char *dot = strrchr(name, '.');
	size_t i;

	for (i = 0; dot != NULL && i < sizeof(folder_types) /
	    sizeof(folder_types[0]); i++)
		if (strcasecmp(dot + 1, folder_types[i].ext) == 0)
			return folder_types[i].type;
	return "application/octet-stream";
}

/* folder_note - add a remark for the job result (capped) */
void
folder_note(struct folder_msg *m, const char *fmt, ...)
{
	size_t len = strlen(m->notes);
	va_list ap;

	if (len + 8 >= sizeof(m->notes))
		return;
	if (len > 0)
		len += (size_t)snprintf(m->notes + len, sizeof(m->notes) - len,
		    "; ");
	va_start(ap, fmt);
	vsnprintf(m->notes + len, sizeof(m->notes) - len, fmt, ap);
	va_end(ap);
}

/* folder_mime_init - GMime, once per process */
void
folder_mime_init(void)
{
	static int done;

	if (!done)
		g_mime_init();
	done = 1;
}

/* scan_line - account one line (with its line end, cut at SCAN_LINE);
 * 0 to go on, 1 to cut before it */
static int
scan_line(struct scan *s, const char *line, size_t len)
{
	int whole = len > 0 && line[len - 1] == '\n';

	if (whole)
		len--;
	if (whole && len > 0 && line[len - 1] == '\r')
		len--;
	mimescan_line(&s->ms, line, len, 1, whole);
	s->why = s->ms.why;
	return s->why != NULL;
}

/* folder_scan - where to stop parsing (s->cut), reading the message once */
static int
folder_scan(const struct folder *f, struct gw_message *msg, struct scan *s)
{
	char buf[65536], line[SCAN_LINE];
	size_t ll = 0;
	off_t pos = 0, start = 0;
	ssize_t n, i;

	memset(s, 0, sizeof(*s));
	mimescan_init(&s->ms, f->max_depth, f->max_parts, f->max_depth,
	    MIMESCAN_MESSAGES);
	s->cut = -1;
	if (gw_message_rewind(msg) == -1)
		return -1;
	while ((n = gw_message_read(msg, buf, sizeof(buf))) > 0) {
		for (i = 0; i < n; i++, pos++) {
			if (ll < SCAN_LINE)
				line[ll++] = buf[i];
			if (buf[i] != '\n')
				continue;
			if (start == 0)
				s->crlf = ll >= 2 && line[ll - 2] == '\r';
			if (scan_line(s, line, ll)) {
				s->cut = start;
				return 0;
			}
			ll = 0;
			start = pos + 1;
		}
	}
	return n < 0 ? -1 : 0;
}

/* doc_add - append a document (takes a reference on obj) */
static struct folder_doc *
doc_add(struct folder_msg *m, enum folder_doc_kind kind, GMimeObject *obj,
    const char *orig, const char *name, const char *type)
{
	struct folder_doc *d;

	if (m->ndocs == m->cap) {
		m->cap = m->cap ? m->cap * 2 : 8;
		m->docs = g_realloc_n(m->docs, m->cap, sizeof(*m->docs));
	}
	d = &m->docs[m->ndocs++];
	memset(d, 0, sizeof(*d));
	d->kind = kind;
	d->obj = obj ? g_object_ref(obj) : NULL;
	d->orig_name = orig ? g_strdup(orig) : NULL;
	d->name = g_strdup(name);
	d->content_type = g_strdup(type);
	d->crlf = m->crlf;
	return d;
}

/* doc_name - the original name, with an extension added when it has none */
static char *
doc_name(const struct walk *w, const char *orig, const char *type)
{
	const char *ext = folder_mime_ext(type);
	size_t stem;

	if (orig == NULL || orig[0] == '\0')
		return g_strdup_printf("%s-%zu.%s", w->env->queue_id,
		    w->m->ndocs + 1, ext);
	folder_split_ext(orig, &stem);
	if (orig[stem] == '\0' && strcmp(ext, "bin") != 0)
		return g_strdup_printf("%s.%s", orig, ext);
	return g_strdup(orig);
}

/* base64_damaged - does the raw base64 text hold junk or stop short? */
static int
base64_damaged(GMimePart *part)
{
	GMimeDataWrapper *dw = g_mime_part_get_content(part);
	GMimeStream *s;
	char buf[8192];
	unsigned long good = 0, bad = 0, pad = 0;
	ssize_t n, i;

	if (dw == NULL || (s = g_mime_data_wrapper_get_stream(dw)) == NULL)
		return 0;
	g_mime_stream_reset(s);
	while ((n = g_mime_stream_read(s, buf, sizeof(buf))) > 0)
		for (i = 0; i < n; i++) {
			unsigned char c = (unsigned char)buf[i];

			if (c == '=')
				pad++;
			else if ((c >= 'A' && c <= 'Z') || (c >= 'a' &&
			    c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
			    c == '/')
				if (pad)	/* data after the padding */
					bad++;
				else
					good++;
			else if (!strchr(" \t\r\n", c))
				bad++;
		}
	g_mime_stream_reset(s);
	return bad > 0 || (good + pad) % 4 != 0;
}

/* uu_part_name - the file name on an x-uuencode part's begin line */
static int
uu_part_name(GMimePart *part, char *name, size_t size)
{
	GMimeDataWrapper *dw = g_mime_part_get_content(part);
	GMimeStream *s;
	char buf[UU_HEAD];
	ssize_t n;

	if (dw == NULL || (s = g_mime_data_wrapper_get_stream(dw)) == NULL)
		return 0;
	g_mime_stream_reset(s);
	n = g_mime_stream_read(s, buf, sizeof(buf));
	g_mime_stream_reset(s);
	return n > 0 && folder_uu_name(buf, (size_t)n, name, size);
}

/* uu_text - the decoded bytes of a text part (no charset conversion) */
static GByteArray *
uu_text(struct walk *w, GMimePart *part)
{
	GMimeDataWrapper *dw = g_mime_part_get_content(part);
	GMimeStream *mem;
	GByteArray *ba;

	if (dw == NULL)
		return NULL;
	ba = g_byte_array_new();
	mem = g_mime_stream_mem_new_with_byte_array(ba);
	g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(mem), FALSE);
	if (g_mime_data_wrapper_write_to_stream(dw, mem) < 0 ||
	    ba->len > UU_TEXT_MAX) {
		if (ba->len > UU_TEXT_MAX)
			folder_note(w->m, "a text of more than %d bytes was not "
			    "searched for uuencoded files", UU_TEXT_MAX);
		g_byte_array_unref(ba);
		ba = NULL;
	}
	g_object_unref(mem);
	return ba;
}

/* uu_block_doc - one decoded block as a document */
static void
uu_block_doc(struct walk *w, const char *t, const struct folder_uu_block *b)
{
	struct folder_doc *d;
	unsigned char *bytes;
	unsigned int bad;
	size_t len;
	char *name;

	if (folder_uu_decode(t, b, &bytes, &len, &bad) == -1) {
		folder_note(w->m, "%.80s: out of memory", b->name);
		return;
	}
	name = doc_name(w, b->name, mime_type_of(b->name));
	d = doc_add(w->m, FOLDER_DOC_BYTES, NULL, b->name, name,
	    mime_type_of(b->name));
	d->bytes = bytes;
	d->nbytes = len;
	w->attachments++;
	if (bad > 0) {
		d->damaged = 1;
		folder_note(w->m, "%.80s: %u damaged uuencoded lines skipped",
		    name, bad);
	}
	g_free(name);
}

/*
 * walk_uu_text - file the uuencoded blocks of a plain-text part; with the
 * parts seen they stay within max_parts (the rest is noted, not filed)
 */
static void
walk_uu_text(struct walk *w, GMimePart *part)
{
	struct folder_uu_block *b;
	GByteArray *ba;
	size_t n, i, room;
	int more;

	if (w->parts >= w->f->max_parts || (ba = uu_text(w, part)) == NULL)
		return;
	if (ba->len < 10 || memmem(ba->data, ba->len, "begin ", 6) == NULL) {
		g_byte_array_unref(ba);
		return;
	}
	room = w->f->max_parts - w->parts;
	b = g_malloc_n(room, sizeof(*b));
	n = folder_uu_find((const char *)ba->data, ba->len, b, room, &more);
	for (i = 0; i < n; i++)
		uu_block_doc(w, (const char *)ba->data, &b[i]);
	w->parts += (unsigned int)n;
	if (more)
		folder_note(w->m, "uuencoded files after the first %zu of a "
		    "text skipped (max_parts)", n);
	g_free(b);
	g_byte_array_unref(ba);
}

static void walk_object(struct walk *, GMimeObject *, unsigned int, int);

/* walk_part - a leaf: a document, or a body candidate */
static void
walk_part(struct walk *w, GMimeObject *obj, int top)
{
	GMimePart *part = GMIME_PART(obj);
	GMimeContentType *ct = g_mime_object_get_content_type(obj);
	const char *fn = g_mime_part_get_filename(part);
	const char *disp = g_mime_object_get_disposition(obj);
	char *type = ct ? g_mime_content_type_get_mime_type(ct) :
	    g_strdup("application/octet-stream");
	int text = ct && g_mime_content_type_is_type(ct, "text", "*");
	struct folder_doc *d;
	char *name, uuname[FOLDER_UU_NAME_MAX];

	if (fn == NULL && text && (disp == NULL ||
	    strcasecmp(disp, "attachment") != 0)) {
		if (g_mime_content_type_is_type(ct, "text", "plain"))
			walk_uu_text(w, part);
		if (top && w->text == NULL &&
		    g_mime_content_type_is_type(ct, "text", "plain"))
			w->text = obj;
		else if (top && w->html == NULL &&
		    g_mime_content_type_is_type(ct, "text", "html"))
			w->html = obj;
		g_free(type);
		return;
	}
	if (fn == NULL && g_mime_part_get_content_encoding(part) ==
	    GMIME_CONTENT_ENCODING_UUENCODE && uu_part_name(part, uuname,
	    sizeof(uuname)))
		fn = uuname;
	name = doc_name(w, fn, type);
	d = doc_add(w->m, FOLDER_DOC_PART, obj, fn, name, type);
	w->attachments++;
	if (g_mime_part_get_content_encoding(part) ==
	    GMIME_CONTENT_ENCODING_BASE64 && base64_damaged(part)) {
		d->damaged = 1;
		folder_note(w->m, "%.80s: damaged base64, wrote what could be "
		    "decoded", name);
	}
	g_free(name);
	g_free(type);
}

/* walk_message_part - an attached message: file it or open it */
static void
walk_message_part(struct walk *w, GMimeObject *obj, unsigned int depth)
{
	GMimeMessage *em = g_mime_message_part_get_message(
	    GMIME_MESSAGE_PART(obj));
	const char *subj, *fn;
	char *name;

	if (em == NULL)
		return;
	if (!w->f->messages_as_files) {
		walk_object(w, g_mime_message_get_mime_part(em), depth + 1, 0);
		return;
	}
	subj = g_mime_message_get_subject(em);
	fn = g_mime_object_get_content_disposition_parameter(obj, "filename");
	if (fn != NULL && fn[0] != '\0')
		name = doc_name(w, fn, "message/rfc822");
	else
		name = subj && subj[0] ? g_strdup_printf("%s.eml", subj) :
		    doc_name(w, NULL, "message/rfc822");
	doc_add(w->m, FOLDER_DOC_EMBEDDED, GMIME_OBJECT(em), NULL, name,
	    "message/rfc822");
	w->attachments++;
	g_free(name);
}

/* walk_object - visit obj at depth; top: may hold the message body */
static void
walk_object(struct walk *w, GMimeObject *obj, unsigned int depth, int top)
{
	GMimeMultipart *mp;
	int i, n;

	if (obj == NULL)
		return;
	if (depth > w->f->max_depth) {
		folder_note(w->m, "parts nested deeper than %u skipped",
		    w->f->max_depth);
		return;
	}
	if (++w->parts > w->f->max_parts) {
		if (w->parts == w->f->max_parts + 1)
			folder_note(w->m, "parts after the first %u skipped",
			    w->f->max_parts);
		return;
	}
	if (GMIME_IS_MULTIPART(obj)) {
		mp = GMIME_MULTIPART(obj);
		n = g_mime_multipart_get_count(mp);
		for (i = 0; i < n; i++)
			walk_object(w, g_mime_multipart_get_part(mp, i),
			    depth + 1, top);
	} else if (GMIME_IS_MESSAGE_PART(obj))
		walk_message_part(w, obj, depth);
	else if (GMIME_IS_PART(obj))
		walk_part(w, obj, top);
}

/* folder_parse - parse (the sane prefix of) the message with GMime */
static GMimeMessage *
folder_parse(struct gw_message *msg, off_t cut)
{
	GMimeParserOptions *opts;
	GMimeParser *parser;
	GMimeMessage *m;
	GMimeStream *s;
	const char *fallback[] = { "UTF-8", "ISO-8859-1", NULL };
	off_t start;
	int fd;

	if ((fd = gw_message_fd(msg, &start)) == -1 || (fd = dup(fd)) == -1)
		return NULL;
	s = g_mime_stream_fs_new_with_bounds(fd, start,
	    cut >= 0 ? start + cut : -1);
	parser = g_mime_parser_new_with_stream(s);
	g_mime_parser_set_format(parser, GMIME_FORMAT_MESSAGE);
	opts = g_mime_parser_options_new();
	g_mime_parser_options_set_rfc2047_compliance_mode(opts,
	    GMIME_RFC_COMPLIANCE_LOOSE);
	g_mime_parser_options_set_parameter_compliance_mode(opts,
	    GMIME_RFC_COMPLIANCE_LOOSE);
	g_mime_parser_options_set_address_compliance_mode(opts,
	    GMIME_RFC_COMPLIANCE_LOOSE);
	g_mime_parser_options_set_fallback_charsets(opts, fallback);
	m = g_mime_parser_construct_message(parser, opts);
	g_mime_parser_options_free(opts);
	g_object_unref(parser);
	g_object_unref(s);
	return m;
}

/* folder_body - add the text body as a document when the settings say so */
static void
folder_body(struct walk *w)
{
	GMimeObject *b = w->text ? w->text : w->html;
	char *name;

	if (b == NULL || w->f->body == FOLDER_BODY_NEVER ||
	    (w->f->body == FOLDER_BODY_AUTO && w->attachments > 0))
		return;
	name = g_strdup_printf("%s.%s", w->env->queue_id, b == w->text ?
	    "txt" : "html");
	doc_add(w->m, FOLDER_DOC_TEXT, b, NULL, name, b == w->text ?
	    "text/plain" : "text/html");
	g_free(name);
}

/* folder_raw_doc - the message itself, as <qid>.eml */
static void
folder_raw_doc(struct folder_msg *m, const struct gw_envelope *env)
{
	char name[128];

	snprintf(name, sizeof(name), "%s.eml", env->queue_id);
	doc_add(m, FOLDER_DOC_RAW, NULL, NULL, name, "message/rfc822");
}

/* folder_mime_read - the documents of a message per the settings */
void
folder_mime_read(const struct folder *f, const struct gw_envelope *env,
    struct gw_message *msg, struct folder_msg *m)
{
	struct walk w;
	struct scan *s = g_malloc0(sizeof(*s));
	GMimeMessage *gm = NULL;

	memset(m, 0, sizeof(*m));
	memset(&w, 0, sizeof(w));
	w.f = f;
	w.env = env;
	w.m = m;
	if (f->mode != FOLDER_ATTACHMENTS)
		folder_raw_doc(m, env);
	if (folder_scan(f, msg, s) == 0)
		gm = folder_parse(msg, s->cut);
	m->crlf = s->crlf;
	if (s->cut >= 0)
		folder_note(m, "%s: the message was read up to byte %lld only",
		    s->why, (long long)s->cut);
	g_free(s);
	if (gm == NULL) {
		folder_note(m, "the message could not be parsed");
	} else {
		m->message = gm;
		m->subject = g_strdup(g_mime_message_get_subject(gm));
		m->message_id = g_strdup(g_mime_message_get_message_id(gm));
		if (f->mode != FOLDER_MESSAGE) {
			walk_object(&w, g_mime_message_get_mime_part(gm), 0, 1);
			folder_body(&w);
		}
	}
	if (f->mode == FOLDER_ATTACHMENTS && m->ndocs == 0) {
		folder_note(m, "nothing to extract: filed the message itself");
		folder_raw_doc(m, env);
	}
}

/* write_all - write a buffer to fd (folder_write.c's loop) */
static int
write_all(int fd, const char *p, size_t n)
{
	return folder_write_all(fd, p, n);
}

/* copy_raw - the whole message as received */
static int
copy_raw(struct gw_message *msg, int fd)
{
	char buf[65536];
	ssize_t n;

	if (gw_message_rewind(msg) == -1)
		return -1;
	while ((n = gw_message_read(msg, buf, sizeof(buf))) > 0)
		if (write_all(fd, buf, (size_t)n) == -1)
			return -1;
	if (n < 0 && errno == 0)
		errno = EIO;
	return n < 0 ? -1 : 0;
}

/*
 * write_embedded - an attached message as it was: GMime keeps its headers
 * raw and its parts' bytes, and gives back the line ends of the message
 * (CR LF as SMTP carries it; the parser drops the CRs)
 */
static int
write_embedded(const struct folder_doc *d, GMimeStream *out)
{
	GMimeFormatOptions *fo = g_mime_format_options_new();
	int r;

	g_mime_format_options_set_newline_format(fo, d->crlf ?
	    GMIME_NEWLINE_FORMAT_DOS : GMIME_NEWLINE_FORMAT_UNIX);
	r = g_mime_object_write_to_stream(GMIME_OBJECT(d->obj), fo, out) < 0 ?
	    -1 : 0;
	g_mime_format_options_free(fo);
	return r;
}

/* folder_mime_write - write the document's bytes to fd; -1 with errno */
int
folder_mime_write(const struct folder_doc *d, struct gw_message *msg, int fd)
{
	GMimeStream *out;
	char *text;
	int r = 0, dfd;

	if (d->kind == FOLDER_DOC_RAW)
		return copy_raw(msg, fd);
	if (d->kind == FOLDER_DOC_BYTES)
		return write_all(fd, (const char *)d->bytes, d->nbytes);
	if (d->kind == FOLDER_DOC_TEXT) {
		text = g_mime_text_part_get_text(GMIME_TEXT_PART(d->obj));
		r = write_all(fd, text ? text : "", text ? strlen(text) : 0);
		g_free(text);
		return r;
	}
	if ((dfd = dup(fd)) == -1)
		return -1;
	out = g_mime_stream_fs_new(dfd);
	errno = 0;
	if (d->kind == FOLDER_DOC_EMBEDDED)
		r = write_embedded(d, out);
	else if (g_mime_part_get_content(GMIME_PART(d->obj)) != NULL)
		r = g_mime_data_wrapper_write_to_stream(g_mime_part_get_content(
		    GMIME_PART(d->obj)), out) < 0 ? -1 : 0;
	if (r == 0 && g_mime_stream_flush(out) == -1)
		r = -1;
	g_object_unref(out);
	if (r == -1 && errno == 0)
		errno = EIO;
	return r;
}

/* folder_msg_free - release the documents and the message */
void
folder_msg_free(struct folder_msg *m)
{
	size_t i;

	for (i = 0; i < m->ndocs; i++) {
		if (m->docs[i].obj != NULL)
			g_object_unref(m->docs[i].obj);
		g_free(m->docs[i].name);
		g_free(m->docs[i].orig_name);
		g_free(m->docs[i].content_type);
		free(m->docs[i].bytes);
	}
	g_free(m->docs);
	g_free(m->subject);
	g_free(m->message_id);
	if (m->message != NULL)
		g_object_unref(m->message);
	memset(m, 0, sizeof(*m));
}
