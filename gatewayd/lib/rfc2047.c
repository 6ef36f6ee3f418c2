/*
 * rfc2047.c - RFC 2047 encoded-words to UTF-8 (see rfc2047.h)
 */
#include "config.h"

#include <ctype.h>
#include <iconv.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "rfc2047.h"
#include "xmalloc.h"

#define RFC2047_CHARSET_MAX	64

/* windows-1252 0x80..0x9F (0 = undefined, kept as U+FFFD) */
static const unsigned short rfc2047_cp1252[32] = {
	0x20AC, 0, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,
	0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0, 0x017D, 0,
	0, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
	0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0, 0x017E, 0x0178
};

struct rfc2047_word {
	char charset[RFC2047_CHARSET_MAX];
	char enc;			/* 'B' or 'Q' */
	const char *text;		/* encoded text */
	size_t textlen;
	const char *end;		/* just past "?=" */
};

/* rfc2047_parse - an encoded-word at p, or -1 */
static int
rfc2047_parse(const char *p, struct rfc2047_word *w)
{
	const char *cs = p + 2, *q, *star;
	size_t len;

	if (p[0] != '=' || p[1] != '?')
		return -1;
	if ((q = strchr(cs, '?')) == NULL || q == cs)
		return -1;
	len = (size_t)(q - cs);
	if ((star = memchr(cs, '*', len)) != NULL)	/* RFC 2231 language */
		len = (size_t)(star - cs);
	if (len == 0 || len >= sizeof(w->charset))
		return -1;
	memcpy(w->charset, cs, len);
	w->charset[len] = '\0';
	if (strspn(w->charset, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRS"
	    "TUVWXYZ0123456789-_.:+") != len)
		return -1;
	w->enc = (char)toupper((unsigned char)q[1]);
	if ((w->enc != 'B' && w->enc != 'Q') || q[2] != '?')
		return -1;
	w->text = q + 3;
	for (q = w->text; *q != '\0' && !(q[0] == '?' && q[1] == '='); q++)
		if (*q == ' ' || *q == '\t' || *q == '\r' || *q == '\n')
			return -1;
	if (*q == '\0')
		return -1;
	w->textlen = (size_t)(q - w->text);
	w->end = q + 2;
	return 0;
}

/* rfc2047_b64 - value of a base64 digit, or -1 */
static int
rfc2047_b64(int c)
{
	const char *d = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789+/";
	const char *p = c != '\0' ? strchr(d, c) : NULL;

	return p != NULL ? (int)(p - d) : -1;
}

/* rfc2047_hex - value of a hex digit, or -1 */
static int
rfc2047_hex(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = toupper(c);
	return c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* rfc2047_bytes - the encoded text as bytes into out (room textlen); -1 bad */
static long
rfc2047_bytes(const struct rfc2047_word *w, unsigned char *out)
{
	unsigned long acc = 0;
	size_t i, n = 0;
	int bits = 0, v, h, l;

	for (i = 0; i < w->textlen; i++) {
		char c = w->text[i];

		if (w->enc == 'B') {
			if (c == '=')
				break;
			if ((v = rfc2047_b64(c)) == -1)
				return -1;
			acc = (acc << 6) | (unsigned long)v;
			if ((bits += 6) >= 8) {
				bits -= 8;
				out[n++] = (unsigned char)(acc >> bits);
			}
		} else if (c == '_')
			out[n++] = ' ';
		else if (c == '=' && i + 2 < w->textlen &&
		    (h = rfc2047_hex(w->text[i + 1])) != -1 &&
		    (l = rfc2047_hex(w->text[i + 2])) != -1) {
			out[n++] = (unsigned char)(h * 16 + l);
			i += 2;
		} else if (c == '=')
			return -1;
		else
			out[n++] = (unsigned char)c;
	}
	return (long)n;
}

/* rfc2047_put_cp - one code point as UTF-8 */
static size_t
rfc2047_put_cp(char *o, unsigned int cp)
{
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xC0 | (cp >> 6));
		o[1] = (char)(0x80 | (cp & 0x3F));
		return 2;
	}
	o[0] = (char)(0xE0 | (cp >> 12));
	o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
	o[2] = (char)(0x80 | (cp & 0x3F));
	return 3;
}

/* rfc2047_iconv - bytes of charset to UTF-8 through iconv; -1 if not */
static long
rfc2047_iconv(const char *charset, const unsigned char *in, size_t n,
    char *out, size_t room)
{
	iconv_t cd = iconv_open("UTF-8", charset);
	char *ip = (char *)(void *)(uintptr_t)in, *op = out;
	size_t il = n, ol = room;

	if (cd == (iconv_t)-1)
		return -1;
	if (iconv(cd, &ip, &il, &op, &ol) == (size_t)-1 ||
	    iconv(cd, NULL, NULL, &op, &ol) == (size_t)-1) {
		iconv_close(cd);
		return -1;
	}
	iconv_close(cd);
	return (long)(op - out);
}

/* rfc2047_convert - decoded bytes to UTF-8 at out (room 3 * n); -1 if not */
static long
rfc2047_convert(const char *charset, const unsigned char *in, size_t n,
    char *out)
{
	size_t i, o = 0;
	int latin1 = strcasecmp(charset, "ISO-8859-1") == 0 ||
	    strcasecmp(charset, "ISO_8859-1") == 0 ||
	    strcasecmp(charset, "latin1") == 0;
	int cp1252 = strcasecmp(charset, "windows-1252") == 0 ||
	    strcasecmp(charset, "cp1252") == 0;

	if (strcasecmp(charset, "UTF-8") == 0 ||
	    strcasecmp(charset, "US-ASCII") == 0) {
		memcpy(out, in, n);
		return (long)n;
	}
	if (!latin1 && !cp1252)
		return rfc2047_iconv(charset, in, n, out, 3 * n);
	for (i = 0; i < n; i++) {
		unsigned int cp = in[i];

		if (cp1252 && cp >= 0x80 && cp < 0xA0)
			cp = rfc2047_cp1252[cp - 0x80] != 0 ?
			    rfc2047_cp1252[cp - 0x80] : 0xFFFD;
		o += rfc2047_put_cp(out + o, cp);
	}
	return (long)o;
}

/* rfc2047_word_decode - one word appended at out; -1 when it stays as is */
static long
rfc2047_word_decode(const struct rfc2047_word *w, char *out)
{
	unsigned char *bytes = xmalloc(w->textlen + 1);
	long n, o;

	n = rfc2047_bytes(w, bytes);
	o = n < 0 ? -1 : rfc2047_convert(w->charset, bytes, (size_t)n, out);
	free(bytes);
	return o;
}

/* rfc2047_decode - every encoded-word of value, in UTF-8 */
char *
rfc2047_decode(const char *value)
{
	size_t len = strlen(value), o = 0, i;
	struct rfc2047_word w;
	const char *p = value, *gap = NULL;
	char *out;
	long n;

	if (strstr(value, "=?") == NULL)
		return NULL;
	out = xmalloc(len * RFC2047_GROWTH + 1);
	while (*p != '\0') {
		if (rfc2047_parse(p, &w) == 0 &&
		    (n = rfc2047_word_decode(&w, out + o)) >= 0) {
			if (gap != NULL) {	/* only spaces since the last word */
				memmove(out + o - (size_t)(p - gap), out + o,
				    (size_t)n);
				o -= (size_t)(p - gap);
			}
			for (i = o; i < o + (size_t)n; i++)
				if ((unsigned char)out[i] < 0x20 && out[i] != '\t')
					out[i] = ' ';
			o += (size_t)n;
			p = w.end;
			gap = p;
			continue;
		}
		if (*p != ' ' && *p != '\t')
			gap = NULL;
		out[o++] = *p++;
	}
	out[o] = '\0';
	return out;
}
