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

/* JPEG and PNG pages are decoded at most this long (DCT scaling). */
#define SCAN_DECODE_SIDE	2000

struct scan_gray {
	unsigned char	*px;
	unsigned	 w, h;
};

/* scan.c */
void scan_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int scan_pixels_ok(uint64_t w, uint64_t h, const struct scan_limits *lim,
    char *err, size_t errlen);
int scan_write_all(int fd, const void *buf, size_t len, char *err, size_t errlen);

/* scan_code.c: search one page; adds at most one sheet to res */
void scan_page_search(struct scan_result *res, unsigned page,
    const struct scan_gray *g);
/* the kind of a code's payload (0: not ours); id gets a directive ID */
int scan_payload(const char *data, size_t len, int plain_ok, char *id,
    size_t idlen);

/* scan_pdf.c */
int scan_pdf_find(const void *, size_t, const struct scan_limits *,
    struct scan_result *, char *, size_t);
int scan_pdf_cut(const void *, size_t, unsigned, unsigned, const unsigned *,
    size_t, int, char *, size_t);

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
int scan_jpeg_find(const void *, size_t, const struct scan_limits *,
    struct scan_result *, char *, size_t);
int scan_png_find(const void *, size_t, const struct scan_limits *,
    struct scan_result *, char *, size_t);

#endif
