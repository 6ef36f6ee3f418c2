/*
 * scan_tiff.c - TIFF scans: every frame, up to max_pages, to grey (libtiff)
 *
 * The document is read from memory through libtiff's client I/O; its
 * errors go to the caller's err through a per-handle handler (nothing on
 * stderr) and libtiff refuses any single allocation past a bound derived
 * from max_pixels.  A frame's declared size is checked before its raster
 * is allocated; TIFFReadRGBAImage handles every photometric and codec
 * libtiff knows (bilevel G3/G4, LZW, grey, palette, RGB, YCbCr JPEG).
 * scan_tiff_cut.c writes frames back raw through the same memory I/O.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <tiffio.h>

#include "scan.h"
#include "scan_int.h"
#include "xmalloc.h"

#define TIFF_ALLOC_SLACK	(16U << 20)

/* tm_read - client I/O: read from the memory document */
static tmsize_t
tm_read(thandle_t h, void *p, tmsize_t n)
{
	struct scan_tiffmem *m = h;
	size_t k;

	if (n < 0 || m->off >= m->len)
		return 0;
	k = m->len - m->off < (size_t)n ? m->len - m->off : (size_t)n;
	memcpy(p, m->buf + m->off, k);
	m->off += k;
	return (tmsize_t)k;
}

/* tm_write - client I/O: write, growing the buffer (write handles only) */
static tmsize_t
tm_write(thandle_t h, void *p, tmsize_t n)
{
	struct scan_tiffmem *m = h;
	size_t need;

	if (!m->writable || n < 0 || m->off > SIZE_MAX - (size_t)n)
		return -1;
	need = m->off + (size_t)n;
	if (need > m->cap) {
		m->cap = need > 2 * m->cap ? need : 2 * m->cap;
		m->buf = xreallocarray(m->buf, m->cap, 1);
	}
	if (m->off > m->len)
		memset(m->buf + m->len, 0, m->off - m->len);
	memcpy(m->buf + m->off, p, (size_t)n);
	m->off = need;
	if (need > m->len)
		m->len = need;
	return n;
}

/* tm_seek - client I/O: seek (past the end only when writing) */
static toff_t
tm_seek(thandle_t h, toff_t off, int whence)
{
	struct scan_tiffmem *m = h;
	uint64_t base = whence == SEEK_CUR ? m->off :
	    whence == SEEK_END ? m->len : 0;

	if (off > UINT64_MAX - base || base + off > SIZE_MAX ||
	    (!m->writable && base + off > m->len))
		return (toff_t)-1;
	m->off = (size_t)(base + off);
	return m->off;
}

/* tm_close - client I/O: nothing to close (the buffer is the caller's) */
static int
tm_close(thandle_t h)
{
	(void)h;
	return 0;
}

/* tm_size - client I/O: the document's length */
static toff_t
tm_size(thandle_t h)
{
	return ((struct scan_tiffmem *)h)->len;
}

/* tm_map - client I/O: a read handle maps the buffer itself */
static int
tm_map(thandle_t h, void **base, toff_t *size)
{
	struct scan_tiffmem *m = h;

	if (m->writable)
		return 0;
	*base = m->buf;
	*size = m->len;
	return 1;
}

/* tm_unmap - client I/O: nothing to unmap */
static void
tm_unmap(thandle_t h, void *base, toff_t size)
{
	(void)h;
	(void)base;
	(void)size;
}

/* tm_error - libtiff's error handler: keep the first message */
static int
tm_error(TIFF *tif, void *arg, const char *module, const char *fmt, va_list ap)
{
	struct scan_tiffmem *m = arg;

	(void)tif;
	(void)module;
	if (m->err != NULL && m->errlen > 0 && !m->errset) {
		vsnprintf(m->err, m->errlen, fmt, ap);
		m->errset = 1;
	}
	return 1;
}

/* tm_warning - libtiff's warning handler: ignore */
static int
tm_warning(TIFF *tif, void *arg, const char *module, const char *fmt, va_list ap)
{
	(void)tif;
	(void)arg;
	(void)module;
	(void)fmt;
	(void)ap;
	return 1;
}

/* scan_tiff_open - a libtiff handle on m (mode "r", "w" or "w8") */
TIFF *
scan_tiff_open(struct scan_tiffmem *m, const char *mode, uint64_t maxalloc)
{
	TIFFOpenOptions *o;
	TIFF *tif;

	m->errset = 0;
	if ((o = TIFFOpenOptionsAlloc()) == NULL)
		return NULL;
	if (maxalloc > 0 && maxalloc < (uint64_t)INT64_MAX)
		TIFFOpenOptionsSetMaxSingleMemAlloc(o, (tmsize_t)maxalloc);
	TIFFOpenOptionsSetErrorHandlerExtR(o, tm_error, m);
	TIFFOpenOptionsSetWarningHandlerExtR(o, tm_warning, m);
	tif = TIFFClientOpenExt("scan", mode, m, tm_read, tm_write, tm_seek,
	    tm_close, tm_size, tm_map, tm_unmap, o);
	TIFFOpenOptionsFree(o);
	if (tif == NULL && !m->errset)
		scan_err(m->err, m->errlen, "unreadable TIFF");
	return tif;
}

/* tiff_gray - decode the current frame of tif into g; 0 or -1 with err */
static int
tiff_gray(TIFF *tif, struct scan_tiffmem *m, const struct scan_limits *lim,
    struct scan_gray *g)
{
	char emsg[1024];
	uint32_t w = 0, h = 0, *rgba;
	size_t i, n;

	if (!TIFFGetField(tif, TIFFTAG_IMAGEWIDTH, &w) ||
	    !TIFFGetField(tif, TIFFTAG_IMAGELENGTH, &h)) {
		scan_err(m->err, m->errlen, "TIFF frame without a size");
		return -1;
	}
	if (scan_pixels_ok(w, h, lim, m->err, m->errlen) == -1)
		return -1;
	if (!TIFFRGBAImageOK(tif, emsg)) {
		scan_err(m->err, m->errlen, "TIFF frame: %s", emsg);
		return -1;
	}
	n = (size_t)w * h;
	if ((rgba = malloc(n * sizeof(*rgba))) == NULL) {
		scan_err(m->err, m->errlen, "out of memory for %zu pixels", n);
		return -1;
	}
	m->errset = 0;
	if (!TIFFReadRGBAImageOriented(tif, w, h, rgba, ORIENTATION_TOPLEFT, 1)) {
		if (!m->errset)
			scan_err(m->err, m->errlen, "TIFF frame: cannot decode");
		free(rgba);
		return -1;
	}
	/* grey in place: byte i of the buffer is never ahead of pixel i */
	g->px = (unsigned char *)rgba;
	for (i = 0; i < n; i++)
		g->px[i] = (unsigned char)((TIFFGetR(rgba[i]) * 77 +
		    TIFFGetG(rgba[i]) * 151 + TIFFGetB(rgba[i]) * 28) >> 8);
	g->w = w;
	g->h = h;
	return 0;
}

/* scan_tiff_find - count the frames and search the first max_pages */
int
scan_tiff_find(const void *buf, size_t len, const struct scan_limits *lim,
    struct scan_result *res, char *err, size_t errlen)
{
	struct scan_tiffmem m = { (unsigned char *)buf, len, len, 0, 0,
	    err, errlen, 0 };
	struct scan_gray g;
	TIFF *tif;
	unsigned i, n;
	int rc = 0;

	if ((tif = scan_tiff_open(&m, "r", 4 * lim->max_pixels +
	    TIFF_ALLOC_SLACK)) == NULL)
		return -1;
	res->npages = TIFFNumberOfDirectories(tif);
	n = res->npages < lim->max_pages ? res->npages : lim->max_pages;
	for (i = 0; i < n && rc == 0; i++) {
		if (i > 0 && !TIFFSetDirectory(tif, (tdir_t)i)) {
			if (!m.errset)
				scan_err(err, errlen, "TIFF frame %u unreadable", i + 1);
			rc = -1;
			break;
		}
		if ((rc = tiff_gray(tif, &m, lim, &g)) == 0) {
			scan_page_search(res, i, &g);
			free(g.px);
			res->searched++;
		}
	}
	TIFFClose(tif);
	return rc;
}
