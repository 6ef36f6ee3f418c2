/*
 * fuzz_mimescan.c - fuzz target: the MIME structure scanner (mimescan.h)
 *
 * The input is a message.  It is scanned three ways, as the tree's three
 * callers cut lines: whole lines (LF, CR stripped), pieces of at most 97
 * octets (so long header fields and delimiters arrive in pieces), and
 * with attached messages opened.  Checked: no crash or sanitizer report,
 * the depth never passes its limit or MIMESCAN_DEPTH, OPEN and CLOSE name
 * an open level, a limit is named only on the line that passes it (the
 * name then stays, though the depth may fall again), and a header's end
 * that opens a multipart leaves a boundary of 1 to MIMESCAN_BOUNDARY
 * octets on top of the stack.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "mimescan.h"

#define FUZZ_PIECE	97

/* fuzz_check - the invariants after one line */
static void
fuzz_check(const struct mimescan *s, enum mimescan_what w, unsigned int before,
    const char *why_before)
{
	if (s->depth > s->max_depth || s->depth > MIMESCAN_DEPTH)
		abort();
	if ((w == MIMESCAN_OPEN || w == MIMESCAN_CLOSE) &&
	    (s->level < 0 || (unsigned int)s->level >= before))
		abort();
	if (w == MIMESCAN_HEADER_END && s->multipart &&
	    (s->depth != before + 1 || s->lv[s->depth - 1].blen == 0 ||
	    s->lv[s->depth - 1].blen > MIMESCAN_BOUNDARY))
		abort();
	if (why_before != NULL && s->why != why_before)
		abort();
	if (why_before == NULL && s->why != NULL &&
	    (s->parts <= s->max_parts || s->max_parts == 0) &&
	    s->messages <= s->max_messages && s->depth < s->max_depth)
		abort();
}

/* fuzz_scan - one pass: lines cut at piece octets (0: whole lines) */
static void
fuzz_scan(struct mimescan *s, const char *p, size_t size, size_t piece)
{
	const char *end = p + size, *nl;
	size_t n, k, off;
	unsigned int before;
	const char *why;
	enum mimescan_what w;

	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		n = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
		k = n > 0 && p[n - 1] == '\r' ? n - 1 : n;
		for (off = 0; off == 0 || off < k; off += n) {
			n = piece == 0 || k - off <= piece ? k - off : piece;
			before = s->depth;
			why = s->why;
			w = mimescan_line(s, p + off, n, off == 0,
			    off + n == k);
			fuzz_check(s, w, before, why);
			if (n == 0)
				break;
		}
		p = nl != NULL ? nl + 1 : end;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mimescan *s = malloc(sizeof(*s));

	if (s == NULL)
		return 0;
	mimescan_init(s, 8, 0, 0, 0);
	fuzz_scan(s, (const char *)data, size, 0);
	mimescan_init(s, 16, 0, 0, 0);
	fuzz_scan(s, (const char *)data, size, FUZZ_PIECE);
	mimescan_init(s, 3, 5, 2, MIMESCAN_MESSAGES);
	fuzz_scan(s, (const char *)data, size, 0);
	free(s);
	return 0;
}
