/*
 * msginfo.c - one bounded pass over a message: headers, MIME parts, text
 *
 * The message is split into lines (a line longer than MSGINFO_LINE_MAX is
 * cut into pieces); the tree's MIME structure scanner (mimescan.h) says
 * what each line is and follows the multipart boundaries, up to
 * MSGINFO_DEPTH_MAX levels; this file reads the parts' headers and text.
 * Every copy is bounded; nothing here trusts the message.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "envelope.h"
#include "mimescan.h"
#include "msginfo.h"
#include "rfc2047.h"
#include "xmalloc.h"

#define MI_TYPE_MAX	128
#define MI_READ_CHUNK	65536
#define MI_HEADER_CHUNK	16384	/* headers only: most headers fit in one */

enum mi_body { MI_SKIP = 0, MI_TEXT };
enum mi_cte { MI_CTE_RAW = 0, MI_CTE_BASE64, MI_CTE_QP };

struct mi_state {
	struct msginfo *mi;
	size_t text_max;
	int in_header, top;
	int headers_only;		/* stop at the end of the top-level header */
	int stop;			/* ... which came */
	char hbuf[MSGINFO_HEADER_MAX];
	size_t hlen;
	/* the part whose headers are being read */
	char ctype[MI_TYPE_MAX];
	int attachment;			/* disposition attachment or a file name */
	char fname[MSGINFO_NAME_MAX];	/* filename=, else name=, "" if none */
	enum mi_cte cte;
	enum mi_body body;
	struct mimescan scan;
	unsigned int b64acc;
	int b64bits;
	char line[MSGINFO_LINE_MAX + 1];
	size_t linelen;
	int linecont;			/* the line buffer continues a line */
};

/* mi_text_add - append decoded text within the budget */
static void
mi_text_add(struct mi_state *st, const char *s, size_t len)
{
	struct msginfo *mi = st->mi;

	if (mi->textlen >= st->text_max)
		return;
	if (len > st->text_max - mi->textlen)
		len = st->text_max - mi->textlen;
	if (mi->text == NULL)
		mi->text = xmalloc(st->text_max + 1);
	memcpy(mi->text + mi->textlen, s, len);
	mi->textlen += len;
	mi->text[mi->textlen] = '\0';
}

/* mi_b64_value - the value of a base64 character, -1 if none */
static int
mi_b64_value(int c)
{
	static const char a[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const char *p = c ? strchr(a, c) : NULL;

	return p ? (int)(p - a) : -1;
}

/* mi_text_line - decode one body line of a text part */
static void
mi_text_line(struct mi_state *st, const char *s, size_t len)
{
	char out[MSGINFO_LINE_MAX + 1];
	size_t i, n = 0;
	int v;

	if (st->cte == MI_CTE_BASE64) {
		for (i = 0; i < len; i++) {
			if ((v = mi_b64_value((unsigned char)s[i])) < 0)
				continue;
			st->b64acc = (st->b64acc << 6) | (unsigned int)v;
			if ((st->b64bits += 6) >= 8) {
				st->b64bits -= 8;
				out[n++] = (char)((st->b64acc >> st->b64bits) & 0xff);
			}
		}
	} else if (st->cte == MI_CTE_QP) {
		for (i = 0; i < len; i++) {
			if (s[i] == '=' && i + 2 < len + 0 && envelope_hexdigit(s[i + 1]) >= 0 &&
			    envelope_hexdigit(s[i + 2]) >= 0) {
				out[n++] = (char)(envelope_hexdigit(s[i + 1]) * 16 + envelope_hexdigit(s[i + 2]));
				i += 2;
			} else if (s[i] == '=' && i + 1 == len)
				break;	/* soft line break */
			else
				out[n++] = s[i];
		}
		if (len == 0 || s[len - 1] != '=')
			out[n++] = '\n';
	} else {
		memcpy(out, s, len);
		n = len;
		out[n++] = '\n';
	}
	mi_text_add(st, out, n);
}

/* mi_param - is the parameter present with a value? */
static int
mi_param(const char *value, const char *name)
{
	char v[8];

	return mimescan_param(value, strlen(value), name, v, sizeof(v)) > 0 ?
	    0 : -1;
}

/* mi_fname - the part's file name from parameter name, if present */
static void
mi_fname(struct mi_state *st, const char *value, const char *name)
{
	char v[MSGINFO_NAME_MAX];

	if (mimescan_param(value, strlen(value), name, v, sizeof(v)) > 0)
		memcpy(st->fname, v, sizeof(st->fname));
}

/* mi_name - a file name parameter, its RFC 2047 words decoded */
static char *
mi_name(const char *raw)
{
	char *d = rfc2047_decode(raw);

	return d != NULL ? d : xstrdup(raw);
}

/* mi_part_header - what a Content-* header says about the part */
static void
mi_part_header(struct mi_state *st, const char *name, const char *value)
{
	size_t i;

	if (strcasecmp(name, "Content-Type") == 0) {
		for (i = 0; value[i] != '\0' && value[i] != ';' &&
		    value[i] != ' ' && i + 1 < sizeof(st->ctype); i++)
			st->ctype[i] = (char)tolower((unsigned char)value[i]);
		st->ctype[i] = '\0';
		if (mi_param(value, "name") == 0) {
			st->attachment = 1;
			if (st->fname[0] == '\0')
				mi_fname(st, value, "name");
		}
	} else if (strcasecmp(name, "Content-Disposition") == 0) {
		if (strncasecmp(value, "attachment", 10) == 0 ||
		    mi_param(value, "filename") == 0)
			st->attachment = 1;
		mi_fname(st, value, "filename");
	} else if (strcasecmp(name, "Content-Transfer-Encoding") == 0) {
		st->cte = strncasecmp(value, "base64", 6) == 0 ? MI_CTE_BASE64 :
		    strncasecmp(value, "quoted-printable", 16) == 0 ? MI_CTE_QP :
		    MI_CTE_RAW;
	}
}

/* mi_header_flush - the header collected in hbuf is complete */
static void
mi_header_flush(struct mi_state *st)
{
	struct msginfo *mi = st->mi;
	char *colon, *v;

	if (st->hlen == 0)
		return;
	st->hbuf[st->hlen] = '\0';
	st->hlen = 0;
	if ((colon = strchr(st->hbuf, ':')) == NULL)
		return;
	*colon = '\0';
	for (v = colon + 1; *v == ' ' || *v == '\t'; v++)
		;
	mi_part_header(st, st->hbuf, v);
	if (st->top && mi->nhdr < MSGINFO_HEADERS_MAX) {
		mi->hdr = xreallocarray(mi->hdr, mi->nhdr + 1, sizeof(*mi->hdr));
		mi->hdr[mi->nhdr].name = xstrdup(st->hbuf);
		mi->hdr[mi->nhdr].value = rfc2047_decode(v);
		mi->hdr[mi->nhdr].raw = NULL;
		if (mi->hdr[mi->nhdr].value != NULL)
			mi->hdr[mi->nhdr].raw = xstrdup(v);
		else
			mi->hdr[mi->nhdr].value = xstrdup(v);
		mi->nhdr++;
	}
}

/* mi_part_begin - the headers of a part start */
static void
mi_part_begin(struct mi_state *st)
{
	st->in_header = 1;
	st->hlen = 0;
	st->ctype[0] = '\0';
	st->attachment = 0;
	st->fname[0] = '\0';
	st->cte = MI_CTE_RAW;
	st->body = MI_SKIP;
	st->b64acc = 0;
	st->b64bits = 0;
}

/* mi_part_body - the headers of a part ended: decide what its body is */
static void
mi_part_body(struct mi_state *st)
{
	struct msginfo *mi = st->mi;
	int text;

	mi_header_flush(st);
	if (st->top && st->headers_only)
		st->stop = 1;
	st->in_header = 0;
	st->top = 0;
	text = st->ctype[0] == '\0' || strcmp(st->ctype, "text/plain") == 0;
	if (!st->attachment && (text || strncmp(st->ctype, "text/", 5) == 0)) {
		st->body = text ? MI_TEXT : MI_SKIP;
		return;
	}
	if (strncmp(st->ctype, "multipart/", 10) == 0)
		return;
	mi->nattach++;
	if (mi->ntypes < MSGINFO_ATTACH_MAX) {
		mi->attach_types = xreallocarray(mi->attach_types,
		    mi->ntypes + 1, sizeof(*mi->attach_types));
		mi->attach_names = xreallocarray(mi->attach_names,
		    mi->ntypes + 1, sizeof(*mi->attach_names));
		mi->attach_names[mi->ntypes] = st->fname[0] ?
		    mi_name(st->fname) : NULL;
		mi->attach_types[mi->ntypes++] = xstrdup(st->ctype[0] ?
		    st->ctype : "application/octet-stream");
	}
}

/* mi_header_line - a line (or piece) of a part's header */
static void
mi_header_line(struct mi_state *st, const char *s, size_t len, int start)
{
	if (!start || ((s[0] == ' ' || s[0] == '\t') && st->hlen > 0)) {
		while (start && len > 0 && (*s == ' ' || *s == '\t'))
			s++, len--;
		if (st->hlen + 1 + len < sizeof(st->hbuf)) {
			if (start)
				st->hbuf[st->hlen++] = ' ';
			memcpy(st->hbuf + st->hlen, s, len);
			st->hlen += len;
		}
		return;
	}
	mi_header_flush(st);
	if (len >= sizeof(st->hbuf))
		len = sizeof(st->hbuf) - 1;
	memcpy(st->hbuf, s, len);
	st->hlen = len;
}

/* mi_line - one line of the message (no line end), or a piece of one */
static void
mi_line(struct mi_state *st, const char *s, size_t len, int start, int end)
{
	switch (mimescan_line(&st->scan, s, len, start, end)) {
	case MIMESCAN_HEADER:
		mi_header_line(st, s, len, start);
		break;
	case MIMESCAN_HEADER_END:
		mi_part_body(st);
		break;
	case MIMESCAN_OPEN:
		mi_part_begin(st);
		break;
	case MIMESCAN_CLOSE:
		st->body = MI_SKIP;
		break;
	case MIMESCAN_BODY:
		if (st->body == MI_TEXT)
			mi_text_line(st, s, len);
		break;
	case MIMESCAN_OUTSIDE:
		break;
	}
}

/* mi_feed - split data into lines */
static void
mi_feed(struct mi_state *st, const char *data, size_t len)
{
	size_t i;

	st->mi->size += len;
	for (i = 0; i < len; i++) {
		if (data[i] == '\n') {
			if (st->linelen > 0 && st->line[st->linelen - 1] == '\r')
				st->linelen--;
			mi_line(st, st->line, st->linelen, !st->linecont, 1);
			st->linelen = 0;
			st->linecont = 0;
			if (st->stop) {
				st->mi->size -= len - i - 1;	/* not scanned */
				return;
			}
			continue;
		}
		if (st->linelen >= MSGINFO_LINE_MAX) {
			mi_line(st, st->line, st->linelen, !st->linecont, 0);
			st->linelen = 0;
			st->linecont = 1;
		}
		st->line[st->linelen++] = data[i];
	}
}

/* mi_start - a fresh state */
static struct mi_state *
mi_start(struct msginfo *mi, size_t text_max)
{
	struct mi_state *st = xcalloc(1, sizeof(*st));

	memset(mi, 0, sizeof(*mi));
	st->mi = mi;
	st->text_max = text_max;
	st->top = 1;
	mimescan_init(&st->scan, MSGINFO_DEPTH_MAX, 0, 0, 0);
	mi_part_begin(st);
	return st;
}

/* mi_finish - the last line and the end */
static void
mi_finish(struct mi_state *st)
{
	if (st->linelen > 0)
		mi_line(st, st->line, st->linelen, !st->linecont, 0);
	if (st->in_header)
		mi_part_body(st);
	free(st);
}

/* msginfo_scan_buf - scan a message held in memory */
int
msginfo_scan_buf(const char *buf, size_t len, size_t text_max,
    struct msginfo *mi)
{
	struct mi_state *st = mi_start(mi, text_max);

	mi_feed(st, buf, len);
	mi_finish(st);
	return 0;
}

/* msginfo_scan_header_buf - the top-level header of a message in memory */
int
msginfo_scan_header_buf(const char *buf, size_t len, struct msginfo *mi)
{
	struct mi_state *st = mi_start(mi, 0);

	st->headers_only = 1;
	mi->header_only = 1;
	mi_feed(st, buf, len);
	mi_finish(st);
	return 0;
}

/* mi_scan_fd - scan fd from off to the end, or to the end of the header */
static int
mi_scan_fd(int fd, off_t off, size_t text_max, int headers_only,
    struct msginfo *mi)
{
	struct mi_state *st = mi_start(mi, text_max);
	size_t chunk = headers_only ? MI_HEADER_CHUNK : MI_READ_CHUNK;
	char *buf = xmalloc(chunk);
	ssize_t n;
	int rc = 0;

	st->headers_only = headers_only;
	mi->header_only = headers_only;
	while (!st->stop) {
		n = pread(fd, buf, chunk, off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = n == 0 ? 0 : -1;
			break;
		}
		mi_feed(st, buf, (size_t)n);
		off += n;
	}
	free(buf);
	mi_finish(st);
	return rc;
}

/* msginfo_scan_fd - scan the message in fd from off to the end */
int
msginfo_scan_fd(int fd, off_t off, size_t text_max, struct msginfo *mi)
{
	return mi_scan_fd(fd, off, text_max, 0, mi);
}

/* msginfo_scan_header_fd - the top-level header only (msginfo.h) */
int
msginfo_scan_header_fd(int fd, off_t off, struct msginfo *mi)
{
	return mi_scan_fd(fd, off, 0, 1, mi);
}

/* msginfo_header - the first top-level header of that name */
const char *
msginfo_header(const struct msginfo *mi, const char *name)
{
	size_t i;

	for (i = 0; i < mi->nhdr; i++)
		if (strcasecmp(mi->hdr[i].name, name) == 0)
			return mi->hdr[i].value;
	return NULL;
}

/* mi_name_before - the display name that ends just before pos in v */
static int
mi_name_before(const char *v, const char *pos, char *out, size_t outlen)
{
	const char *start = pos, *end = pos;
	int inq = 0;
	size_t n = 0;

	while (start > v && (start[-1] != ',' || inq)) {
		if (start[-1] == '"')
			inq = !inq;
		start--;
	}
	while (start < end && (*start == ' ' || *start == '\t' || *start == '"'))
		start++;
	while (end > start && (end[-1] == ' ' || end[-1] == '\t' ||
	    end[-1] == '"'))
		end--;
	for (; start < end && n + 1 < outlen; start++)
		if ((unsigned char)*start >= 0x20 && *start != '\\')
			out[n++] = *start;
	out[n] = '\0';
	return n > 0 ? 0 : -1;
}

/* mi_name_decode - the display name's encoded-words, decoded in place */
static int
mi_name_decode(char *out, size_t outlen)
{
	char *d = rfc2047_decode(out);

	if (d != NULL) {
		snprintf(out, outlen, "%s", d);
		free(d);
	}
	return 0;
}

/* msginfo_display_name - the display name of addr in To: or Cc: */
int
msginfo_display_name(const struct msginfo *mi, const char *addr, char *out,
    size_t outlen)
{
	size_t i, alen = strlen(addr);
	const char *v, *p, *hv;

	for (i = 0; i < mi->nhdr; i++) {
		if (strcasecmp(mi->hdr[i].name, "To") != 0 &&
		    strcasecmp(mi->hdr[i].name, "Cc") != 0)
			continue;
		/* the address structure of the header as received */
		hv = mi->hdr[i].raw != NULL ? mi->hdr[i].raw : mi->hdr[i].value;
		for (v = hv; (p = strchr(v, '<')) != NULL; v = p + 1) {
			if (strncasecmp(p + 1, addr, alen) == 0 &&
			    p[alen + 1] == '>')
				return mi_name_before(hv, p, out, outlen) == 0 ?
				    mi_name_decode(out, outlen) : -1;
		}
	}
	return -1;
}

/* msginfo_free - release what a scan kept */
void
msginfo_free(struct msginfo *mi)
{
	size_t i;

	for (i = 0; i < mi->nhdr; i++) {
		free(mi->hdr[i].name);
		free(mi->hdr[i].raw);
		free(mi->hdr[i].value);
	}
	free(mi->hdr);
	for (i = 0; i < mi->ntypes; i++)
		free(mi->attach_types[i]);
	for (i = 0; i < mi->ntypes && mi->attach_names != NULL; i++)
		free(mi->attach_names[i]);
	free(mi->attach_types);
	free(mi->attach_names);
	free(mi->text);
	memset(mi, 0, sizeof(*mi));
}
