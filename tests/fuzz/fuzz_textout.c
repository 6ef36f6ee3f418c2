/*
 * fuzz_textout.c - fuzz target: the terminal/log escaper and the JSON
 * string writer (textout.h)
 *
 * The first byte selects the terminal flags; the rest is the text.  The
 * terminal form must be valid UTF-8 without C0 (but the kept tab and line
 * feed), DEL or C1, and escaping it again must change nothing; the bounded
 * copy must be a prefix of it; the JSON literal must be valid UTF-8 with
 * no raw control byte, start and end with a quote and have every quote
 * inside escaped.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "textout.h"

/* fuzz_clean_text - valid UTF-8, no control byte but those flags keep */
static void
fuzz_clean_text(const char *s, size_t len, int flags)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, n;

	while (i < len) {
		if ((n = textout_utf8_len(p + i, len - i)) == 0)
			abort();
		if (n == 1 && (p[i] < 0x20 || p[i] == 0x7f) &&
		    !(p[i] == '\t' && (flags & TEXTOUT_KEEP_TAB)) &&
		    !(p[i] == '\n' && (flags & TEXTOUT_KEEP_NL)))
			abort();
		if (n == 2 && p[i] == 0xc2 && p[i + 1] < 0xa0)
			abort();
		i += n;
	}
}

/* fuzz_term - the terminal form, escaped twice, and the bounded copy */
static void
fuzz_term(const char *s, size_t len, int flags)
{
	char *t = NULL, *t2 = NULL, buf[97];
	size_t tlen = 0, t2len = 0;
	FILE *fp;

	if ((fp = open_memstream(&t, &tlen)) == NULL)
		return;
	textout_term(fp, s, len, flags);
	fclose(fp);
	fuzz_clean_text(t, tlen, flags);
	if ((fp = open_memstream(&t2, &t2len)) == NULL)
		abort();
	textout_term(fp, t, tlen, flags);
	fclose(fp);
	if (t2len != tlen || memcmp(t, t2, tlen) != 0)
		abort();
	if (memchr(s, '\0', len) == NULL) {
		textout_clean(buf, sizeof(buf), s, len, flags);
		if (strlen(buf) >= sizeof(buf) || strncmp(buf, t, strlen(buf)))
			abort();
	}
	free(t2);
	free(t);
}

/* fuzz_json - the JSON string literal */
static void
fuzz_json(const char *s, size_t len)
{
	char *j = NULL;
	size_t jlen = 0, i;
	FILE *fp;

	if ((fp = open_memstream(&j, &jlen)) == NULL)
		return;
	textout_json_literal(fp, s, len);
	fclose(fp);
	fuzz_clean_text(j, jlen, 0);
	if (jlen < 2 || j[0] != '"' || j[jlen - 1] != '"')
		abort();
	for (i = 1; i < jlen - 1; i++) {
		if (j[i] == '\\')
			i++;		/* an escape: the next byte is its own */
		else if (j[i] == '"')
			abort();
	}
	if (i != jlen - 1)
		abort();		/* a backslash escaped the closing quote */
	free(j);
}

/* LLVMFuzzerTestOneInput - flags byte, then the text */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int flags;

	if (size < 1)
		return 0;
	flags = data[0] & (TEXTOUT_KEEP_TAB | TEXTOUT_KEEP_NL);
	fuzz_term((const char *)data + 1, size - 1, flags);
	fuzz_json((const char *)data + 1, size - 1);
	return 0;
}
