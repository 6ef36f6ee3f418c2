/*
 * scan_int.h - what the scan readers share (scan.c, scan_code.c, scan_pdf.c,
 * scan_tiff.c, scan_img.c); not for other modules
 *
 * A reader turns its pages, from the first, into 8-bit grey rasters (one
 * byte a pixel, no padding) and hands each to scan_page_search(), which
 * adds what it finds to the result.  Every reader checks a page's declared
 * size against lim->max_pixels before it allocates the raster.  Errors go
 * to the caller's err buffer; nothing here logs.
 */
#ifndef GW_SCAN_INT_H
#define GW_SCAN_INT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "scan.h"

/*
 * A page is searched at most SCAN_SEARCH_SIDE long (about 50 dpi on A4 or
 * Letter: a sheet's QR module, 3.9 to 6.9 points, is 3 to 5 pixels there);
 * a page that shows a code-like region there without a decode is looked
 * at again at most SCAN_FINE_SIDE long (scan_page_search, SCAN_PAGE_FINER).
 * The readers decode straight to these sizes where the format allows.
 */
#define SCAN_SEARCH_SIDE	600
#define SCAN_FINE_SIDE		1800

/* scan_page_search's answers */
enum { SCAN_PAGE_NONE = 0, SCAN_PAGE_FOUND, SCAN_PAGE_FINER };

struct scan_gray {
	unsigned char	*px;
	unsigned	 w, h;
};

/* scan_shrink.c: a page reduced (box filter) while its rows are decoded */
struct scan_shrink {
	unsigned	 iw, ih;	/* the input page */
	struct scan_gray out;
	unsigned	*xmap;		/* input column -> output column */
	unsigned	*xcnt;		/* input columns of each output column */
	uint64_t	*acc;		/* darkness summed in the output row */
	unsigned char	*split;		/* bilevel rows: see scan_shrink_splits */
	unsigned	 y, oy, ycnt;	/* input rows seen; output row; its rows */
};
void scan_shrink_init(struct scan_shrink *, unsigned iw, unsigned ih,
    unsigned side);
void scan_shrink_gray(struct scan_shrink *, const unsigned char *row);
void scan_shrink_bits(struct scan_shrink *, const unsigned char *row,
    int one_black);
void scan_shrink_done(struct scan_shrink *, struct scan_gray *);
void scan_shrink_free(struct scan_shrink *);
void scan_shrink_page(const struct scan_gray *, unsigned side,
    struct scan_gray *);

/* scan.c */
void scan_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int scan_pixels_ok(uint64_t w, uint64_t h, const struct scan_limits *lim,
    char *err, size_t errlen);
int scan_write_all(int fd, const void *buf, size_t len, char *err, size_t errlen);

/*
 * scan_code.c: search one page, adds at most one sheet to res.  fine 0:
 * the first look, at most SCAN_SEARCH_SIDE long; SCAN_PAGE_FINER when g
 * is no longer than that and shows a code-like region without a decode
 * (the reader may then give the page again, up to SCAN_FINE_SIDE long,
 * with fine 1); a longer g gets its second look here.
 */
int scan_page_search(struct scan_result *res, unsigned page,
    const struct scan_gray *g, int fine);
/* the kind of a code's payload (0: not ours); id gets a directive ID */
int scan_payload(const char *data, size_t len, int plain_ok, char *id,
    size_t idlen);

/* scan_pdf.c */
int scan_pdf_find(const void *, size_t, const struct scan_limits *,
    struct scan_result *, char *, size_t);
int scan_pdf_cut(const void *, size_t, unsigned, unsigned, const unsigned *,
    size_t, int, char *, size_t);

/* scan_pdf_img.c: a page that is one plain JPEG image (qpdf_data q) */
struct _qpdf_data;
int scan_pdf_img_content(const unsigned char *, size_t, char *name,
    size_t namelen);
int scan_pdf_img_jpeg(struct _qpdf_data *q, unsigned page,
    unsigned char **jpeg, size_t *len);

/* scan_tiff.c: libtiff on a document in memory (write handles grow buf) */
struct tiff;
struct scan_tiffmem {
	unsigned char	*buf;
	size_t		 len, cap, off;
	int		 writable;
	char		*err;		/* libtiff's first error goes here */
	size_t		 errlen;
	int		 errset;
};
struct tiff *scan_tiff_open(struct scan_tiffmem *, const char *mode,
    uint64_t maxalloc);
int scan_tiff_find(const void *, size_t, const struct scan_limits *,
    struct scan_result *, char *, size_t);
/* scan_tiff_cut.c */
int scan_tiff_cut(const void *, size_t, unsigned, unsigned, const unsigned *,
    size_t, int, char *, size_t);

/* scan_img.c */
int scan_jpeg_gray(const void *, size_t, const struct scan_limits *,
    unsigned side, struct scan_gray *, char *, size_t);
int scan_jpeg_find(const void *, size_t, const struct scan_limits *,
    struct scan_result *, char *, size_t);
int scan_png_find(const void *, size_t, const struct scan_limits *,
    struct scan_result *, char *, size_t);

#endif
