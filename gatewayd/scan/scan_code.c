/*
 * scan_code.c - find the routing sheet's code on one grey page (zbar)
 *
 * A sheet's QR code is large (5 cm; modules of 6.9 points for the IDs
 * gatewayd makes, 3.9 for the longest), so a page is first searched
 * reduced to about 50 dpi (SCAN_SEARCH_SIDE): fast, and the averaging is
 * a despeckle of its own.  When that finds nothing, the page is
 * thresholded, cleaned by a 3x3 majority filter (salt and pepper noise,
 * grey JPEG haze) and looked at for QR finder patterns (1:1:3:1:1 runs
 * across, confirmed down): only a page that shows three, placed as a QR
 * code's are, is read again cleaned, then at three times the resolution
 * (SCAN_FINE_SIDE), plain and cleaned.  A content page thus costs one
 * zbar pass at 50 dpi, on every second row and column.  zbar reads only
 * QR and the 1-D codes that can carry letters (Code 128, 39, 93: the
 * others hold digits only, never "ED:<id>" nor a plain ID we take); a
 * payload that is not ours is ignored.
 */
#include "config.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <zbar.h>

#include "scan.h"
#include "scan_int.h"
#include "xmalloc.h"

#define SCAN_ZBAR_DENSITY	2	/* zbar scans every 2nd row, column */
#define SCAN_FINDER_MAX		32	/* finder-like centres looked at a page */

/* A finder-like centre: the sum of its hits, and its width in pixels. */
struct scan_finder {
	uint64_t	 sx, sy;
	unsigned	 hits, size;
};
#define SCAN_ID_MIN		4

/* scan_id_valid - 1 if s[0..len) is a directive ID: [A-Za-z0-9]{4,63} */
static int
scan_id_valid(const char *s, size_t len)
{
	size_t i;

	if (len < SCAN_ID_MIN || len >= SCAN_ID_MAX)
		return 0;
	for (i = 0; i < len; i++)
		if (!isalnum((unsigned char)s[i]) || (unsigned char)s[i] > 0x7f)
			return 0;
	return 1;
}

/* scan_payload - the kind of a code's payload (0: not ours) */
int
scan_payload(const char *data, size_t len, int plain_ok, char *id, size_t idlen)
{
	size_t sl = strlen(SCAN_SEPARATOR_PAYLOAD);

	while (len > 0 && isspace((unsigned char)data[len - 1]))
		len--;
	while (len > 0 && isspace((unsigned char)data[0])) {
		data++;
		len--;
	}
	if (len == sl && memcmp(data, SCAN_SEPARATOR_PAYLOAD, sl) == 0)
		return SCAN_CODE_SEPARATOR;
	if (len > 3 && strncasecmp(data, "ED", 2) == 0 &&
	    (data[2] == ':' || data[2] == '-')) {
		data += 3;
		len -= 3;
	} else if (!plain_ok)
		return 0;
	if (!scan_id_valid(data, len) || len >= idlen)
		return 0;
	memcpy(id, data, len);
	id[len] = '\0';
	return SCAN_CODE_DIRECTIVE;
}

/* scan_plain_ok - 1 if a symbol type may carry a bare directive ID */
static int
scan_plain_ok(zbar_symbol_type_t t)
{
	switch (t) {
	case ZBAR_EAN2: case ZBAR_EAN5: case ZBAR_EAN8: case ZBAR_UPCE:
	case ZBAR_ISBN10: case ZBAR_UPCA: case ZBAR_EAN13: case ZBAR_ISBN13:
	case ZBAR_DATABAR: case ZBAR_DATABAR_EXP: case ZBAR_I25:
	case ZBAR_CODABAR:
		return 0;
	default:
		return 1;
	}
}

/* scan_zbar - decode the codes of g; the best one into sh, 1 if found */
static int
scan_zbar(zbar_image_scanner_t *sc, const struct scan_gray *g,
    struct scan_sheet *sh)
{
	const zbar_symbol_t *sym;
	zbar_image_t *img;
	char id[SCAN_ID_MAX];
	int kind, found = 0;

	img = zbar_image_create();
	zbar_image_set_format(img, zbar_fourcc('Y', '8', '0', '0'));
	zbar_image_set_size(img, g->w, g->h);
	zbar_image_set_data(img, g->px, (unsigned long)g->w * g->h, NULL);
	if (zbar_scan_image(sc, img) > 0) {
		for (sym = zbar_image_first_symbol(img); sym != NULL;
		    sym = zbar_symbol_next(sym)) {
			kind = scan_payload(zbar_symbol_get_data(sym),
			    zbar_symbol_get_data_length(sym),
			    scan_plain_ok(zbar_symbol_get_type(sym)), id, sizeof(id));
			if (kind == 0 || (found && sh->kind == SCAN_CODE_DIRECTIVE))
				continue;
			sh->kind = kind;
			memcpy(sh->id, id, sizeof(sh->id));
			if (kind == SCAN_CODE_SEPARATOR)
				sh->id[0] = '\0';
			found = 1;
		}
	}
	zbar_image_destroy(img);
	return found;
}

/* scan_otsu - the threshold that best splits the histogram of g */
static unsigned
scan_otsu(const struct scan_gray *g)
{
	uint64_t hist[256] = { 0 }, n = (uint64_t)g->w * g->h, wb = 0;
	double sum = 0, sumb = 0, best = -1, mb, mf, v;
	unsigned t, th = 128;
	size_t i;

	for (i = 0; i < n; i++)
		hist[g->px[i]]++;
	for (t = 0; t < 256; t++)
		sum += (double)t * hist[t];
	for (t = 0; t < 256; t++) {
		wb += hist[t];
		if (wb == 0 || wb == n)
			continue;
		sumb += (double)t * hist[t];
		mb = sumb / wb;
		mf = (sum - sumb) / (n - wb);
		v = (double)wb * (n - wb) * (mb - mf) * (mb - mf);
		if (v > best) {
			best = v;
			th = t;
		}
	}
	return th;
}

/* scan_binary - g thresholded (Otsu) into out: 0 dark, 255 light */
static void
scan_binary(const struct scan_gray *g, struct scan_gray *out)
{
	unsigned th = scan_otsu(g);
	size_t i, n = (size_t)g->w * g->h;

	out->w = g->w;
	out->h = g->h;
	out->px = xmalloc(n);
	for (i = 0; i < n; i++)
		out->px[i] = g->px[i] <= th ? 0 : 255;
}

/* scan_clean - each pixel of binary b the majority of its 3x3, into out */
static void
scan_clean(const struct scan_gray *b, struct scan_gray *out)
{
	const unsigned char *p = b->px;
	size_t w = b->w, x, y, i;
	unsigned n;

	out->w = b->w;
	out->h = b->h;
	out->px = xmalloc(w * b->h);
	memcpy(out->px, p, w * b->h);	/* the border stays as it is */
	for (y = 1; y + 1 < b->h; y++)
		for (x = 1; x + 1 < w; x++) {
			i = y * w + x;
			n = (p[i - w - 1] == 0) + (p[i - w] == 0) +
			    (p[i - w + 1] == 0) + (p[i - 1] == 0) + (p[i] == 0) +
			    (p[i + 1] == 0) + (p[i + w - 1] == 0) +
			    (p[i + w] == 0) + (p[i + w + 1] == 0);
			out->px[i] = n >= 5 ? 0 : 255;
		}
}

/* scan_runs_ok - 1 if five runs are in the ratio 1:1:3:1:1 of a QR finder */
static int
scan_runs_ok(const unsigned r[5])
{
	unsigned total = r[0] + r[1] + r[2] + r[3] + r[4], i;

	if (total < 7)
		return 0;	/* modules under a pixel */
	/*
	 * in modules (sevenths of the total), a pixel of slack either way
	 * for small modules: 1-runs within 0.5-1.5, the centre within 2-4
	 */
	for (i = 0; i < 5; i++)
		if (i != 2 && (r[i] * 14 + 14 < total ||
		    r[i] * 14 > 3 * total + 14))
			return 0;
	return r[2] * 7 + 7 >= 2 * total && r[2] * 7 <= 4 * total + 7;
}

/* scan_finder_down - the 1:1:3:1:1 test down column x through dark (x, y) */
static int
scan_finder_down(const struct scan_gray *b, unsigned x, unsigned y)
{
	unsigned r[5] = { 0 }, k;
	long yy;

#define DARK(row)	(b->px[(size_t)(row) * b->w + x] == 0)
	for (yy = (long)y; yy >= 0 && DARK(yy); yy--)
		r[2]++;
	for (k = 2; k-- > 0;)		/* light, then dark, upwards */
		for (; yy >= 0 && DARK(yy) == (k == 0); yy--)
			r[k]++;
	for (yy = (long)y + 1; yy < (long)b->h && DARK(yy); yy++)
		r[2]++;
	for (k = 3; k < 5; k++)		/* light, then dark, downwards */
		for (; yy < (long)b->h && DARK(yy) == (k == 4); yy++)
			r[k]++;
#undef DARK
	return scan_runs_ok(r);
}

/* scan_finder_add - a hit at (x, y) joins a centre near it, or starts one */
static size_t
scan_finder_add(struct scan_finder *c, size_t n, unsigned x, unsigned y,
    unsigned size)
{
	unsigned cx, cy;
	size_t i;

	for (i = 0; i < n; i++) {
		cx = (unsigned)(c[i].sx / c[i].hits);
		cy = (unsigned)(c[i].sy / c[i].hits);
		if (cx + size >= x && x + size >= cx && cy + size >= y &&
		    y + size >= cy) {
			c[i].sx += x;
			c[i].sy += y;
			c[i].hits++;
			return n;
		}
	}
	if (n == SCAN_FINDER_MAX)
		return n;
	c[n].sx = x;
	c[n].sy = y;
	c[n].hits = 1;
	c[n].size = size;
	return n + 1;
}

/* scan_dist2 - the squared distance of two centres */
static double
scan_dist2(const struct scan_finder *a, const struct scan_finder *b)
{
	double dx = (double)a->sx / a->hits - (double)b->sx / b->hits;
	double dy = (double)a->sy / a->hits - (double)b->sy / b->hits;

	return dx * dx + dy * dy;
}

/*
 * scan_finder_corner - 1 if a is the corner of a QR code's three finders
 * a, b, c: b and c as far from a, and from each other by the diagonal
 */
static int
scan_finder_corner(const struct scan_finder *a, const struct scan_finder *b,
    const struct scan_finder *c)
{
	double ab = scan_dist2(a, b), ac = scan_dist2(a, c), bc = scan_dist2(b, c);
	double min = (double)a->size * a->size;	/* at least a finder apart */

	if (b->size > 2 * a->size || a->size > 2 * b->size ||
	    c->size > 2 * a->size || a->size > 2 * c->size)
		return 0;
	return ab >= min && ac >= min && ab < 1.6 * ac && ac < 1.6 * ab &&
	    bc > 0.7 * (ab + ac) && bc < 1.3 * (ab + ac);
}

/* scan_finder_triangle - 1 if three of the n centres lie as a QR's do */
static int
scan_finder_triangle(const struct scan_finder *c, size_t n)
{
	size_t i, j, k;

	for (i = 0; i < n; i++)
		for (j = i + 1; j < n; j++)
			for (k = j + 1; k < n; k++)
				if (scan_finder_corner(&c[i], &c[j], &c[k]) ||
				    scan_finder_corner(&c[j], &c[i], &c[k]) ||
				    scan_finder_corner(&c[k], &c[i], &c[j]))
					return 1;
	return 0;
}

/*
 * scan_finder_hint - 1 if binary page b shows three QR finder patterns
 * (1:1:3:1:1 across and down) placed as a QR code's are
 */
static int
scan_finder_hint(const struct scan_gray *b)
{
	struct scan_finder c[SCAN_FINDER_MAX];
	unsigned r[5], x, y, start, len, cx;
	const unsigned char *row;
	size_t n = 0;

	for (y = 0; y < b->h; y++) {
		row = b->px + (size_t)y * b->w;
		memset(r, 0, sizeof(r));
		for (x = 0; x < b->w; x = start + len) {
			start = x;
			for (len = 0; start + len < b->w &&
			    row[start + len] == row[start]; len++)
				;
			memmove(r, r + 1, 4 * sizeof(r[0]));
			r[4] = len;
			if (row[start] != 0 || !scan_runs_ok(r))
				continue;	/* the last run must be dark */
			cx = start - r[3] - r[2] + r[2] / 2;
			if (scan_finder_down(b, cx, y))
				n = scan_finder_add(c, n, cx, y,
				    r[0] + r[1] + r[2] + r[3] + r[4]);
		}
	}
	return scan_finder_triangle(c, n);
}

/* scan_look - g, then g cleaned if it shows finders (or always_clean) */
static int
scan_look(zbar_image_scanner_t *sc, const struct scan_gray *g,
    struct scan_sheet *sh, int always_clean)
{
	struct scan_gray bin = { NULL, 0, 0 }, clean = { NULL, 0, 0 };
	int hint, r = SCAN_PAGE_NONE;

	if (scan_zbar(sc, g, sh))
		return SCAN_PAGE_FOUND;
	if (g->w < 3 || g->h < 3)
		return SCAN_PAGE_NONE;
	scan_binary(g, &bin);
	scan_clean(&bin, &clean);
	hint = scan_finder_hint(&bin) || scan_finder_hint(&clean);
	free(bin.px);
	if (hint || always_clean)
		r = scan_zbar(sc, &clean, sh) ? SCAN_PAGE_FOUND :
		    hint ? SCAN_PAGE_FINER : SCAN_PAGE_NONE;
	free(clean.px);
	return r;
}

/* scan_look_fine - the second look: g at most SCAN_FINE_SIDE long */
static int
scan_look_fine(zbar_image_scanner_t *sc, const struct scan_gray *g,
    struct scan_sheet *sh)
{
	struct scan_gray fine = { NULL, 0, 0 };
	int r;

	if (g->w <= SCAN_FINE_SIDE && g->h <= SCAN_FINE_SIDE)
		return scan_look(sc, g, sh, 1);
	scan_shrink_page(g, SCAN_FINE_SIDE, &fine);
	r = scan_look(sc, &fine, sh, 1);
	free(fine.px);
	return r;
}

/* scan_scanner - a zbar scanner for the codes a sheet may carry */
static zbar_image_scanner_t *
scan_scanner(void)
{
	static const zbar_symbol_type_t syms[] = { ZBAR_QRCODE, ZBAR_CODE128,
	    ZBAR_CODE39, ZBAR_CODE93 };
	zbar_image_scanner_t *sc = zbar_image_scanner_create();
	size_t i;

	zbar_image_scanner_set_config(sc, ZBAR_NONE, ZBAR_CFG_ENABLE, 0);
	for (i = 0; i < sizeof(syms) / sizeof(syms[0]); i++)
		zbar_image_scanner_set_config(sc, syms[i], ZBAR_CFG_ENABLE, 1);
	/* every second row and column: a finder's centre is 3 modules high */
	zbar_image_scanner_set_config(sc, ZBAR_NONE, ZBAR_CFG_X_DENSITY,
	    SCAN_ZBAR_DENSITY);
	zbar_image_scanner_set_config(sc, ZBAR_NONE, ZBAR_CFG_Y_DENSITY,
	    SCAN_ZBAR_DENSITY);
	return sc;
}

/* scan_page_search - search one page; add its sheet, if any, to res */
int
scan_page_search(struct scan_result *res, unsigned page,
    const struct scan_gray *g, int fine)
{
	struct scan_gray small = { NULL, 0, 0 };
	zbar_image_scanner_t *sc = scan_scanner();
	struct scan_sheet sh;
	int r;

	memset(&sh, 0, sizeof(sh));
	if (fine)
		r = scan_look_fine(sc, g, &sh);
	else if (g->w <= SCAN_SEARCH_SIDE && g->h <= SCAN_SEARCH_SIDE)
		r = scan_look(sc, g, &sh, 0);
	else {
		scan_shrink_page(g, SCAN_SEARCH_SIDE, &small);
		r = scan_look(sc, &small, &sh, 0);
		free(small.px);
		if (r == SCAN_PAGE_FINER)	/* the finer page is at hand */
			r = scan_look_fine(sc, g, &sh);
	}
	zbar_image_scanner_destroy(sc);
	if (r == SCAN_PAGE_FOUND) {
		sh.page = page;
		res->sheets = xreallocarray(res->sheets, res->nsheets + 1,
		    sizeof(*res->sheets));
		res->sheets[res->nsheets++] = sh;
	}
	return fine && r == SCAN_PAGE_FINER ? SCAN_PAGE_NONE : r;
}
