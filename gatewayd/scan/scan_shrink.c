/*
 * scan_shrink.c - a page reduced row by row while it is decoded (scan_int.h)
 *
 * The readers hand their rows to a shrinker, from the top, as 8-bit grey
 * or as 1-bit bilevel rows, and never hold the page at full resolution:
 * each output pixel is the average of the input pixels that fall into it
 * (a box filter over a non-integer factor: every input row and column
 * belongs to exactly one output row and column), which also despeckles.
 * Sums are of "darkness" (255 - grey), so that white bytes of a bilevel
 * row, most of a page, are skipped without a look at their bits.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "scan.h"
#include "scan_int.h"
#include "xmalloc.h"

#define SHRINK_SPLIT_SLOW	0xff	/* see scan_shrink_splits */

/* The number of set bits of each byte value. */
#define B2(n)	n, n + 1, n + 1, n + 2
#define B4(n)	B2(n), B2(n + 1), B2(n + 1), B2(n + 2)
#define B6(n)	B4(n), B4(n + 1), B4(n + 1), B4(n + 2)
static const unsigned char shrink_bits_set[256] = { B6(0), B6(1), B6(1), B6(2) };
#undef B2
#undef B4
#undef B6

/* scan_shrink_size - the output size of iw x ih with its longer side <= side */
static void
scan_shrink_size(unsigned iw, unsigned ih, unsigned side, unsigned *ow,
    unsigned *oh)
{
	unsigned long long long_side = iw > ih ? iw : ih;

	if (side == 0 || long_side <= side) {
		*ow = iw;
		*oh = ih;
		return;
	}
	*ow = (unsigned)((unsigned long long)iw * side / long_side);
	*oh = (unsigned)((unsigned long long)ih * side / long_side);
	if (*ow == 0)
		*ow = 1;
	if (*oh == 0)
		*oh = 1;
}

/*
 * scan_shrink_splits - for each byte of a bilevel row whose 8 pixels fall
 * into at most 3 output columns from the column of its first pixel: how
 * many fall into the first (low nibble) and the second (high nibble);
 * SHRINK_SPLIT_SLOW for the others (a short last byte, a finer factor)
 */
static void
scan_shrink_splits(struct scan_shrink *s)
{
	unsigned i, k1, k2, x0, n = (s->iw + 7) / 8;

	s->split = xmalloc(n);
	for (i = 0; i < n; i++) {
		x0 = i * 8;
		if (x0 + 7 >= s->iw || s->xmap[x0 + 7] > s->xmap[x0] + 2) {
			s->split[i] = SHRINK_SPLIT_SLOW;
			continue;
		}
		for (k1 = 0; k1 < 8 && s->xmap[x0 + k1] == s->xmap[x0]; k1++)
			;
		for (k2 = 0; k1 + k2 < 8 &&
		    s->xmap[x0 + k1 + k2] == s->xmap[x0] + 1; k2++)
			;
		s->split[i] = (unsigned char)(k1 | k2 << 4);
	}
}

/* scan_shrink_init - a shrinker of an iw x ih page to at most side long */
void
scan_shrink_init(struct scan_shrink *s, unsigned iw, unsigned ih,
    unsigned side)
{
	unsigned x;

	memset(s, 0, sizeof(*s));
	s->iw = iw;
	s->ih = ih;
	scan_shrink_size(iw, ih, side, &s->out.w, &s->out.h);
	s->out.px = xmalloc((size_t)s->out.w * s->out.h);
	memset(s->out.px, 255, (size_t)s->out.w * s->out.h);	/* rows a bad file lacks */
	s->xmap = xreallocarray(NULL, iw, sizeof(*s->xmap));
	s->xcnt = xcalloc(s->out.w, sizeof(*s->xcnt));
	s->acc = xcalloc(s->out.w, sizeof(*s->acc));
	for (x = 0; x < iw; x++) {
		s->xmap[x] = (unsigned)((unsigned long long)x * s->out.w / iw);
		s->xcnt[s->xmap[x]]++;
	}
	scan_shrink_splits(s);
}

/* scan_shrink_flush - the summed rows become output row s->oy */
static void
scan_shrink_flush(struct scan_shrink *s)
{
	unsigned char *o;
	unsigned x;

	if (s->ycnt == 0)
		return;
	o = s->out.px + (size_t)s->oy * s->out.w;
	for (x = 0; x < s->out.w; x++)
		o[x] = (unsigned char)(255 - s->acc[x] / ((uint64_t)s->xcnt[x] *
		    s->ycnt));
	memset(s->acc, 0, s->out.w * sizeof(*s->acc));
	s->ycnt = 0;
}

/* scan_shrink_next - account for one more input row; 0 if past the page */
static int
scan_shrink_next(struct scan_shrink *s)
{
	unsigned oy;

	if (s->y >= s->ih)
		return 0;
	oy = (unsigned)((unsigned long long)s->y * s->out.h / s->ih);
	if (oy != s->oy)
		scan_shrink_flush(s);
	s->oy = oy;
	s->ycnt++;
	s->y++;
	return 1;
}

/* scan_shrink_gray - add the next input row, iw bytes of 8-bit grey */
void
scan_shrink_gray(struct scan_shrink *s, const unsigned char *row)
{
	unsigned x;

	if (!scan_shrink_next(s))
		return;
	for (x = 0; x < s->iw; x++)
		s->acc[s->xmap[x]] += 255U - row[x];
}

/*
 * scan_shrink_bits - add the next input row, iw bits packed from the most
 * significant bit; a set bit is black when one_black, else white
 */
void
scan_shrink_bits(struct scan_shrink *s, const unsigned char *row,
    int one_black)
{
	unsigned i, k, x, c, nbytes = (s->iw + 7) / 8;
	uint64_t word, white = one_black ? 0 : ~(uint64_t)0;
	unsigned char b, m1, m2;

	if (!scan_shrink_next(s))
		return;
	for (i = 0; i < nbytes; i++) {
		if (i % 8 == 0 && i + 8 <= nbytes) {
			memcpy(&word, row + i, sizeof(word));
			if (word == white) {
				i += 7;		/* 64 white pixels */
				continue;
			}
		}
		b = one_black ? row[i] : (unsigned char)~row[i];
		if (b == 0)
			continue;	/* eight white pixels */
		if ((k = s->split[i]) != SHRINK_SPLIT_SLOW) {
			/* pixels 0..k1-1 in column c, k1..k1+k2-1 in c+1, the
			 * rest in c+2: a mask of each, its set bits counted */
			c = s->xmap[i * 8];
			m1 = (unsigned char)(0xff00 >> (k & 15));
			m2 = (unsigned char)(0xff00 >> ((k & 15) + (k >> 4)));
			s->acc[c] += 255U * shrink_bits_set[b & m1];
			if ((k & 15) < 8)
				s->acc[c + 1] += 255U * shrink_bits_set[b & m2 & ~m1];
			if ((k & 15) + (k >> 4) < 8)
				s->acc[c + 2] += 255U * shrink_bits_set[b & ~m2 & 0xff];
			continue;
		}
		for (k = 0, x = i * 8; k < 8 && x < s->iw; k++, x++)
			if (b & (0x80 >> k))
				s->acc[s->xmap[x]] += 255;
	}
}

/* scan_shrink_done - the reduced page into g (the caller frees g->px) */
void
scan_shrink_done(struct scan_shrink *s, struct scan_gray *g)
{
	scan_shrink_flush(s);
	*g = s->out;
	s->out.px = NULL;
	scan_shrink_free(s);
}

/* scan_shrink_free - release a shrinker (its output too, if not taken) */
void
scan_shrink_free(struct scan_shrink *s)
{
	free(s->out.px);
	free(s->xmap);
	free(s->xcnt);
	free(s->acc);
	free(s->split);
	memset(s, 0, sizeof(*s));
}

/* scan_shrink_page - a whole grey page g reduced to at most side into out */
void
scan_shrink_page(const struct scan_gray *g, unsigned side,
    struct scan_gray *out)
{
	struct scan_shrink s;
	unsigned y;

	scan_shrink_init(&s, g->w, g->h, side);
	for (y = 0; y < g->h; y++)
		scan_shrink_gray(&s, g->px + (size_t)y * g->w);
	scan_shrink_done(&s, out);
}
