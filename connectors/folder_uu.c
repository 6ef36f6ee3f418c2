/*
 * folder_uu.c - uuencoded blocks in a text: find them, decode them
 *
 * Old scanners, fax gateways and mail clients still put files into plain
 * text bodies as uuencode(1) blocks:
 *
 *   begin 644 scan.pdf
 *   M)5!$1BTQ+C0*...           (a length character, then 4 chars per 3 bytes)
 *   `                           (a line of length 0)
 *   end
 *
 * folder_uu_find() returns where such blocks are in a buffer and the name
 * and mode of each; folder_uu_decode() turns one block into its bytes.
 * The finder is strict about the "begin" line (three or four octal
 * digits, a name) and needs the "end" line, so a text that only mentions
 * "begin" is not mistaken for a file; body lines it cannot decode (a
 * character outside the uuencode alphabet, a line shorter than its
 * length character says) are skipped and the block marked damaged.  Both
 * are linear in the input and stop at their caps (max blocks; a block
 * ends at the next "begin" line if "end" is missing, which then is not a
 * block).  Neither allocates more than the decoded size nor logs: plain C,
 * no GMime, so the unit tests and the fuzz target take it alone.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdlib.h>
#include <string.h>

#include "folder.h"

#define UU_CHAR(c)	((unsigned char)(((c) - ' ') & 0x3f))
#define UU_VALID(c)	((c) >= ' ' && (c) <= '`')

/* uu_line_end - the end of the line starting at p (excluding CR LF) */
static size_t
uu_line_end(const char *t, size_t len, size_t p, size_t *next)
{
	const char *nl = memchr(t + p, '\n', len - p);
	size_t e = nl ? (size_t)(nl - t) : len;

	*next = nl ? e + 1 : len;
	if (e > p && t[e - 1] == '\r')
		e--;
	return e;
}

/* uu_begin - parse "begin MODE NAME"; 1 and fills b when it is one */
static int
uu_begin(const char *l, size_t n, struct folder_uu_block *b)
{
	size_t i = 6, d = 0, nl;
	unsigned int mode = 0;

	if (n < 10 || memcmp(l, "begin ", 6) != 0)
		return 0;
	while (i < n && l[i] >= '0' && l[i] <= '7' && d < 5) {
		mode = mode * 8 + (unsigned int)(l[i++] - '0');
		d++;
	}
	if (d < 3 || d > 4 || i >= n || l[i] != ' ')
		return 0;
	while (i < n && l[i] == ' ')
		i++;
	nl = n - i;
	while (nl > 0 && (l[i + nl - 1] == ' ' || l[i + nl - 1] == '\t'))
		nl--;
	if (nl == 0 || memchr(l + i, '\0', nl) != NULL)
		return 0;
	if (nl >= sizeof(b->name))
		nl = sizeof(b->name) - 1;
	memcpy(b->name, l + i, nl);
	b->name[nl] = '\0';
	b->mode = mode;
	return 1;
}

/* uu_is_end - the "end" line (trailing blanks allowed) */
static int
uu_is_end(const char *l, size_t n)
{
	while (n > 3 && (l[n - 1] == ' ' || l[n - 1] == '\t'))
		n--;
	return n == 3 && memcmp(l, "end", 3) == 0;
}

/*
 * uu_close - from the line after a begin at p, find its "end"; the offset
 * after the end line, or 0 when another begin or the text's end comes first
 */
static size_t
uu_close(const char *t, size_t len, size_t p)
{
	struct folder_uu_block dummy;
	size_t e, next;

	while (p < len) {
		e = uu_line_end(t, len, p, &next);
		if (uu_is_end(t + p, e - p))
			return next;
		if (uu_begin(t + p, e - p, &dummy))
			return 0;
		p = next;
	}
	return 0;
}

/* folder_uu_find - up to max blocks of t; *more: more were there */
size_t
folder_uu_find(const char *t, size_t len, struct folder_uu_block *b,
    size_t max, int *more)
{
	size_t p = 0, e, next, n = 0, close;
	struct folder_uu_block cur;

	*more = 0;
	while (p < len) {
		e = uu_line_end(t, len, p, &next);
		memset(&cur, 0, sizeof(cur));
		if (!uu_begin(t + p, e - p, &cur)) {
			p = next;
			continue;
		}
		if ((close = uu_close(t, len, next)) == 0) {
			p = next;	/* no end: text, not a file */
			continue;
		}
		if (n == max) {
			*more = 1;
			break;
		}
		cur.start = p;
		cur.data = next;
		cur.end = close;
		b[n++] = cur;
		p = close;
	}
	return n;
}

/* uu_line - decode one body line into out; its byte count, -1 if bad */
static long
uu_line(const char *l, size_t n, unsigned char *out)
{
	size_t want, i, o = 0;
	unsigned char c[4];
	int k;

	if (n == 0)
		return -1;
	want = UU_CHAR(l[0]);
	if (want == 0)
		return 0;
	if (n - 1 < (want + 2) / 3 * 4)
		return -1;
	for (i = 1; o < want; i += 4) {
		for (k = 0; k < 4; k++) {
			if (!UU_VALID(l[i + k]))
				return -1;
			c[k] = UU_CHAR(l[i + k]);
		}
		out[o++] = (unsigned char)(c[0] << 2 | c[1] >> 4);
		if (o < want)
			out[o++] = (unsigned char)(c[1] << 4 | c[2] >> 2);
		if (o < want)
			out[o++] = (unsigned char)(c[2] << 6 | c[3]);
	}
	return (long)want;
}

/*
 * folder_uu_decode - the bytes of block b of t (malloc'd, *len bytes);
 * *damaged counts the lines that could not be decoded.  -1 on ENOMEM.
 */
int
folder_uu_decode(const char *t, const struct folder_uu_block *b,
    unsigned char **out, size_t *len, unsigned int *damaged)
{
	size_t p = b->data, e, next;
	unsigned char *buf;
	long got;
	int ended = 0;

	*len = 0;
	*damaged = 0;
	/* 63 significant bytes decode to at most 45: 3/4 of the text bounds it */
	if ((buf = malloc((b->end - b->data) * 3 / 4 + 1)) == NULL)
		return -1;
	while (p < b->end) {
		e = uu_line_end(t, b->end, p, &next);
		if (uu_is_end(t + p, e - p))
			break;
		if (ended) {
			p = next;	/* after the empty line: only "end" */
			continue;
		}
		got = uu_line(t + p, e - p, buf + *len);
		if (got < 0)
			(*damaged)++;
		else if (got == 0)
			ended = 1;
		else
			*len += (size_t)got;
		p = next;
	}
	*out = buf;
	return 0;
}

/*
 * folder_uu_name - the name on the first "begin MODE NAME" line of t (an
 * x-uuencode part's head); 1 and name set, 0 when there is none
 */
int
folder_uu_name(const char *t, size_t len, char *name, size_t size)
{
	struct folder_uu_block b;
	size_t p = 0, e, next;

	while (p < len) {
		e = uu_line_end(t, len, p, &next);
		memset(&b, 0, sizeof(b));
		if (next < len || e < len) {	/* a whole line only */
			if (uu_begin(t + p, e - p, &b) && size > 0) {
				strncpy(name, b.name, size - 1);
				name[size - 1] = '\0';
				return 1;
			}
		}
		p = next;
	}
	return 0;
}
