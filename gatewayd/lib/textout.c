/*
 * textout.c - escaping for every output format (textout.h): the terminal
 * and log escaper, and the one JSON writer of the tree
 *
 * Both escapers walk the text one step at a time: a step is a byte or a
 * valid UTF-8 character, written as it is or replaced by an escape.  Runs
 * of plain bytes go out in one write; the unlocked stdio calls are safe
 * because every writer is single-threaded (and a queue listing writes a
 * million strings).
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "textout.h"

#define TEXTOUT_ESCLEN	8	/* the longest escape, "\u009b", and a NUL */

static const char textout_hex[] = "0123456789abcdef";

/* textout_utf8_len - length of the valid UTF-8 character at s, or 0 */
size_t
textout_utf8_len(const unsigned char *s, size_t len)
{
	uint32_t cp;
	size_t n, i;

	if (len == 0)
		return 0;
	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, cp = s[0] & 0x07;
	else
		return 0;	/* continuation byte, C0/C1 overlong lead, > U+10FFFF */
	if (len < n)
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 ||
	    cp > 0x10ffff)) || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;	/* overlong, beyond Unicode, or a surrogate */
	return n;
}

/* textout_esc - prefix followed by two hex digits of c; the length */
static size_t
textout_esc(char *esc, const char *prefix, unsigned char c)
{
	size_t n = strlen(prefix);

	memcpy(esc, prefix, n);
	esc[n++] = textout_hex[c >> 4];
	esc[n++] = textout_hex[c & 15];
	esc[n] = '\0';
	return n;
}

/* textout_c1 - is s a UTF-8 encoded C1 control (C2 80..C2 9F)? */
static int
textout_c1(const unsigned char *s, size_t n)
{
	return n == 2 && s[0] == 0xc2 && s[1] < 0xa0;
}

/*
 * textout_term_step - the terminal form of the character at s: its escape
 * (the length returned) or 0 to copy it; *used is the input it covers
 */
static size_t
textout_term_step(const unsigned char *s, size_t len, int flags, char *esc,
    size_t *used)
{
	size_t n;

	*used = 1;
	if (s[0] < 0x20 || s[0] == 0x7f) {
		if ((s[0] == '\t' && (flags & TEXTOUT_KEEP_TAB)) ||
		    (s[0] == '\n' && (flags & TEXTOUT_KEEP_NL)))
			return 0;
		return textout_esc(esc, "\\x", s[0]);
	}
	if (s[0] < 0x80)
		return 0;
	if ((n = textout_utf8_len(s, len)) == 0)
		return textout_esc(esc, "\\x", s[0]);
	*used = n;
	return textout_c1(s, n) ? textout_esc(esc, "\\u00", s[1]) : 0;
}

static size_t textout_json_step(const unsigned char *, size_t, char *,
    size_t *);

/*
 * textout_escaped - write len bytes, plain runs as they are and each
 * sequence the step escapes as its escape (json: the JSON escapes, else
 * the terminal ones with flags)
 */
static void
textout_escaped(FILE *fp, const char *s, size_t len, int flags, int json)
{
	const unsigned char *p = (const unsigned char *)s, *run = p,
	    *end = p + len;
	char esc[TEXTOUT_ESCLEN];
	size_t n, used;

	for (; p < end; p += used) {
		/* printable ASCII needs no step (JSON: but for " and \) */
		if (*p >= 0x20 && *p < 0x7f && (!json || (*p != '"' &&
		    *p != '\\'))) {
			used = 1;
			continue;
		}
		n = json ? textout_json_step(p, (size_t)(end - p), esc, &used) :
		    textout_term_step(p, (size_t)(end - p), flags, esc, &used);
		if (n == 0)
			continue;
		fwrite_unlocked(run, 1, (size_t)(p - run), fp);
		fwrite_unlocked(esc, 1, n, fp);
		run = p + used;
	}
	fwrite_unlocked(run, 1, (size_t)(p - run), fp);
}

/* textout_term - write len bytes with the terminal escapes */
void
textout_term(FILE *fp, const char *s, size_t len, int flags)
{
	textout_escaped(fp, s, len, flags, 0);
}

/* textout_terms - textout_term of a C string */
void
textout_terms(FILE *fp, const char *s, int flags)
{
	if (s != NULL)
		textout_term(fp, s, strlen(s), flags);
}

/* textout_clean - the terminal escapes into a bounded buffer */
const char *
textout_clean(char *dst, size_t dstlen, const char *src, size_t srclen,
    int flags)
{
	const unsigned char *p = (const unsigned char *)src;
	char esc[TEXTOUT_ESCLEN];
	size_t i = 0, o = 0, n, used;

	if (dstlen == 0)
		return dst;
	while (i < srclen && p[i] != '\0') {
		n = textout_term_step(p + i, srclen - i, flags, esc, &used);
		if (o + (n ? n : used) >= dstlen)
			break;
		if (n)
			memcpy(dst + o, esc, n);
		else
			memcpy(dst + o, p + i, used);
		o += n ? n : used;
		i += used;
	}
	dst[o] = '\0';
	return dst;
}

/* textout_json_step - like textout_term_step, in a JSON string */
static size_t
textout_json_step(const unsigned char *s, size_t len, char *esc,
    size_t *used)
{
	size_t n;

	*used = 1;
	if (s[0] == '"' || s[0] == '\\') {
		esc[0] = '\\';
		esc[1] = (char)s[0];
		return 2;
	}
	if (s[0] < 0x20 || s[0] == 0x7f)
		return textout_esc(esc, "\\u00", s[0]);
	if (s[0] < 0x80)
		return 0;
	if ((n = textout_utf8_len(s, len)) == 0) {
		memcpy(esc, "\\ufffd", 6);
		return 6;
	}
	*used = n;
	return textout_c1(s, n) ? textout_esc(esc, "\\u00", s[1]) : 0;
}

/* textout_json_literal - a JSON string literal, quotes included */
void
textout_json_literal(FILE *fp, const char *s, size_t len)
{
	putc_unlocked('"', fp);
	textout_escaped(fp, s, len, 0, 1);
	putc_unlocked('"', fp);
}

/* textout_json_init - start writing JSON values to fp */
void
textout_json_init(struct textout_json *j, FILE *fp)
{
	memset(j, 0, sizeof(*j));
	j->fp = fp;
}

/* textout_json_value - the comma and the key before a value */
static void
textout_json_value(struct textout_json *j, const char *key)
{
	if (j->depth > 0 && j->count[j->depth])
		putc_unlocked(',', j->fp);
	j->count[j->depth] = 1;
	if (key != NULL) {
		textout_json_literal(j->fp, key, strlen(key));
		putc_unlocked(':', j->fp);
	}
}

/* textout_json_open - '{' or '[' */
static void
textout_json_open(struct textout_json *j, const char *key, int c)
{
	/* a bug of the caller: the writer needs nothing of the daemon's log */
	if (j->depth == TEXTOUT_JSON_DEPTH)
		abort();
	textout_json_value(j, key);
	putc_unlocked(c, j->fp);
	j->count[++j->depth] = 0;
	j->closer[j->depth] = c == '{' ? '}' : ']';
}

/* textout_json_object - open an object */
void
textout_json_object(struct textout_json *j, const char *key)
{
	textout_json_open(j, key, '{');
}

/* textout_json_array - open an array */
void
textout_json_array(struct textout_json *j, const char *key)
{
	textout_json_open(j, key, '[');
}

/* textout_json_close - close the innermost object or array */
void
textout_json_close(struct textout_json *j)
{
	if (j->depth == 0)
		abort();	/* closed more than opened: a bug */
	putc_unlocked(j->closer[j->depth--], j->fp);
}

/* textout_json_str - a string (NULL writes null) */
void
textout_json_str(struct textout_json *j, const char *key, const char *s)
{
	if (s == NULL)
		textout_json_null(j, key);
	else
		textout_json_strn(j, key, s, strlen(s));
}

/* textout_json_strn - a string of len bytes (NUL bytes included) */
void
textout_json_strn(struct textout_json *j, const char *key, const char *s,
    size_t len)
{
	textout_json_value(j, key);
	textout_json_literal(j->fp, s, len);
}

/*
 * textout_json_digits - v in decimal, after a minus sign if neg: a queue
 * listing writes five numbers per job, and fprintf's format parsing cost
 * more than the rest of the record
 */
static void
textout_json_digits(FILE *fp, unsigned long long v, int neg)
{
	char buf[24], *p = buf + sizeof(buf);

	do
		*--p = (char)('0' + v % 10);
	while ((v /= 10) != 0);
	if (neg)
		*--p = '-';
	fwrite_unlocked(p, 1, (size_t)(buf + sizeof(buf) - p), fp);
}

/* textout_json_int - a signed number */
void
textout_json_int(struct textout_json *j, const char *key, long long v)
{
	textout_json_value(j, key);
	/* the magnitude as unsigned: -LLONG_MIN does not fit a long long */
	textout_json_digits(j->fp, v < 0 ? 0ULL - (unsigned long long)v :
	    (unsigned long long)v, v < 0);
}

/* textout_json_uint - an unsigned number */
void
textout_json_uint(struct textout_json *j, const char *key,
    unsigned long long v)
{
	textout_json_value(j, key);
	textout_json_digits(j->fp, v, 0);
}

/* textout_json_bool - true or false */
void
textout_json_bool(struct textout_json *j, const char *key, int v)
{
	textout_json_value(j, key);
	fputs(v ? "true" : "false", j->fp);
}

/* textout_json_null - null */
void
textout_json_null(struct textout_json *j, const char *key)
{
	textout_json_value(j, key);
	fputs("null", j->fp);
}

/* textout_json_end - a newline after a top-level value */
void
textout_json_end(struct textout_json *j)
{
	if (j->depth != 0)
		abort();	/* ended with a value still open: a bug */
	putc_unlocked('\n', j->fp);
}
