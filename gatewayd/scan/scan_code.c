/*
 * scan_code.c - find the routing sheet's code on one grey page (zbar)
 *
 * A sheet's QR code is large, so the page is first searched at a reduced
 * size (fast, and averaging is a despeckle of its own), then at the size
 * it was decoded at, then once more after a threshold and a 3x3 majority
 * filter, which clears salt-and-pepper noise and grey JPEG haze.  QR is
 * read in any rotation; 1-D codes are enabled too.  A payload that is
 * not ours (a product code on a delivery note) is ignored; plain IDs are
 * not taken from EAN/UPC-family symbols, which are product numbers.
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

#define SCAN_REDUCED_SIDE	1200	/* first pass: at most this long */
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

/* scan_reduce - g shrunk by an integer factor f (box average) into out */
static void
scan_reduce(const struct scan_gray *g, unsigned f, struct scan_gray *out)
{
	unsigned x, y, i, j, sum;

	out->w = g->w / f;
	out->h = g->h / f;
	out->px = xmalloc((size_t)out->w * out->h);
	for (y = 0; y < out->h; y++)
		for (x = 0; x < out->w; x++) {
			sum = 0;
			for (j = 0; j < f; j++)
				for (i = 0; i < f; i++)
					sum += g->px[(size_t)(y * f + j) * g->w + x * f + i];
			out->px[(size_t)y * out->w + x] = (unsigned char)(sum / (f * f));
		}
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

/* scan_clean - g thresholded, then each pixel the majority of its 3x3 */
static void
scan_clean(const struct scan_gray *g, struct scan_gray *out)
{
	unsigned th = scan_otsu(g), x, y, n;
	size_t w = g->w;
	unsigned char *bin;

	bin = xmalloc(w * g->h);
	for (size_t i = 0; i < w * g->h; i++)
		bin[i] = g->px[i] <= th;
	out->w = g->w;
	out->h = g->h;
	out->px = xmalloc(w * g->h);
	for (y = 0; y < g->h; y++)
		for (x = 0; x < g->w; x++) {
			if (x == 0 || y == 0 || x + 1 == g->w || y + 1 == g->h) {
				out->px[y * w + x] = bin[y * w + x] ? 0 : 255;
				continue;
			}
			n = bin[(y - 1) * w + x - 1] + bin[(y - 1) * w + x] +
			    bin[(y - 1) * w + x + 1] + bin[y * w + x - 1] +
			    bin[y * w + x] + bin[y * w + x + 1] +
			    bin[(y + 1) * w + x - 1] + bin[(y + 1) * w + x] +
			    bin[(y + 1) * w + x + 1];
			out->px[y * w + x] = n >= 5 ? 0 : 255;
		}
	free(bin);
}

/* scan_passes - reduced, full size, cleaned: 1 when one finds a code */
static int
scan_passes(zbar_image_scanner_t *sc, const struct scan_gray *g,
    struct scan_sheet *sh)
{
	struct scan_gray small = { NULL, 0, 0 }, clean = { NULL, 0, 0 };
	unsigned side = g->w > g->h ? g->w : g->h;
	unsigned f = (side + SCAN_REDUCED_SIDE - 1) / SCAN_REDUCED_SIDE;
	const struct scan_gray *base = g;
	int found = 0;

	if (f > 1 && g->w / f >= 16 && g->h / f >= 16) {
		scan_reduce(g, f, &small);
		base = &small;
		found = scan_zbar(sc, &small, sh);
	}
	if (!found && base != g)
		found = scan_zbar(sc, g, sh);
	if (!found && base->w >= 3 && base->h >= 3) {
		scan_clean(base, &clean);
		found = scan_zbar(sc, &clean, sh);
	}
	free(small.px);
	free(clean.px);
	return found;
}

/* scan_page_search - search one page; add its sheet, if any, to res */
void
scan_page_search(struct scan_result *res, unsigned page,
    const struct scan_gray *g)
{
	zbar_image_scanner_t *sc;
	struct scan_sheet sh;

	memset(&sh, 0, sizeof(sh));
	sc = zbar_image_scanner_create();
	zbar_image_scanner_set_config(sc, 0, ZBAR_CFG_ENABLE, 1);
	if (scan_passes(sc, g, &sh)) {
		sh.page = page;
		res->sheets = xreallocarray(res->sheets, res->nsheets + 1,
		    sizeof(*res->sheets));
		res->sheets[res->nsheets++] = sh;
	}
	zbar_image_scanner_destroy(sc);
}
