/*
 * scan.c - routing sheets in scanned documents: format detection and the
 * entry points (scan.h)
 *
 * The format is decided by the caller from the content (scan_sniff) or
 * the MIME type and file name (scan_format_named); scan_find() and
 * scan_cut() go by the content only, and hand the work to the reader of
 * that format: scan_pdf.c (pdftoppm, qpdf), scan_tiff.c (libtiff),
 * scan_img.c (libjpeg, libpng).  The barcode search is scan_code.c.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "scan.h"
#include "scan_int.h"

static const struct {
	const char		*name;	/* MIME type, or ".suffix" */
	enum scan_format	 format;
} scan_names[] = {
	{ "application/pdf", SCAN_PDF }, { "application/x-pdf", SCAN_PDF },
	{ "image/tiff", SCAN_TIFF }, { "image/tif", SCAN_TIFF },
	{ "image/x-tiff", SCAN_TIFF }, { "image/jpeg", SCAN_JPEG },
	{ "image/jpg", SCAN_JPEG }, { "image/pjpeg", SCAN_JPEG },
	{ "image/png", SCAN_PNG }, { "image/x-png", SCAN_PNG },
	{ ".pdf", SCAN_PDF }, { ".tif", SCAN_TIFF }, { ".tiff", SCAN_TIFF },
	{ ".jpg", SCAN_JPEG }, { ".jpeg", SCAN_JPEG }, { ".jpe", SCAN_JPEG },
	{ ".png", SCAN_PNG },
};

/* scan_err - format a reason into err (truncated, always terminated) */
void
scan_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* scan_pixels_ok - 0 if a w x h page may be decoded, else -1 with err */
int
scan_pixels_ok(uint64_t w, uint64_t h, const struct scan_limits *lim,
    char *err, size_t errlen)
{
	if (w == 0 || h == 0 || w > UINT32_MAX || h > UINT32_MAX) {
		scan_err(err, errlen, "page of %llux%llu pixels",
		    (unsigned long long)w, (unsigned long long)h);
		return -1;
	}
	if (w * h > lim->max_pixels) {
		scan_err(err, errlen, "page of %llux%llu pixels is over the "
		    "limit of %llu", (unsigned long long)w, (unsigned long long)h,
		    (unsigned long long)lim->max_pixels);
		return -1;
	}
	return 0;
}

/* scan_write_all - write len bytes to fd; 0 or -1 with err */
int
scan_write_all(int fd, const void *buf, size_t len, char *err, size_t errlen)
{
	const unsigned char *p = buf;
	ssize_t n;

	while (len > 0) {
		if ((n = write(fd, p, len)) == -1) {
			if (errno == EINTR)
				continue;
			scan_err(err, errlen, "write: %s", strerror(errno));
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* scan_sniff - the format of a document by its first bytes */
enum scan_format
scan_sniff(const void *buf, size_t len)
{
	const unsigned char *p = buf;

	if (len >= 5 && memcmp(p, "%PDF-", 5) == 0)
		return SCAN_PDF;
	if (len >= 4 && (memcmp(p, "II*\0", 4) == 0 || memcmp(p, "MM\0*", 4) == 0 ||
	    memcmp(p, "II+\0", 4) == 0 || memcmp(p, "MM\0+", 4) == 0))
		return SCAN_TIFF;
	if (len >= 3 && p[0] == 0xff && p[1] == 0xd8 && p[2] == 0xff)
		return SCAN_JPEG;
	if (len >= 8 && memcmp(p, "\x89PNG\r\n\x1a\n", 8) == 0)
		return SCAN_PNG;
	return SCAN_UNKNOWN;
}

/* scan_name_lookup - the format of a MIME type or ".suffix" of length len */
static enum scan_format
scan_name_lookup(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < sizeof(scan_names) / sizeof(scan_names[0]); i++)
		if (strlen(scan_names[i].name) == len &&
		    strncasecmp(scan_names[i].name, s, len) == 0)
			return scan_names[i].format;
	return SCAN_UNKNOWN;
}

/* scan_format_named - the format named by a MIME type or a file name suffix */
enum scan_format
scan_format_named(const char *mime_type, const char *filename)
{
	enum scan_format f = SCAN_UNKNOWN;
	const char *dot;

	if (mime_type != NULL) {
		while (*mime_type == ' ' || *mime_type == '\t')
			mime_type++;
		f = scan_name_lookup(mime_type, strcspn(mime_type, "; \t"));
	}
	if (f == SCAN_UNKNOWN && filename != NULL &&
	    (dot = strrchr(filename, '.')) != NULL)
		f = scan_name_lookup(dot, strlen(dot));
	return f;
}

/* scan_find - search the first pages of a document for routing sheets */
int
scan_find(const void *buf, size_t len, const struct scan_limits *lim,
    struct scan_result *res, char *err, size_t errlen)
{
	int rc;

	memset(res, 0, sizeof(*res));
	res->format = scan_sniff(buf, len);
	switch (res->format) {
	case SCAN_PDF:
		rc = scan_pdf_find(buf, len, lim, res, err, errlen);
		break;
	case SCAN_TIFF:
		rc = scan_tiff_find(buf, len, lim, res, err, errlen);
		break;
	case SCAN_JPEG:
		rc = scan_jpeg_find(buf, len, lim, res, err, errlen);
		break;
	case SCAN_PNG:
		rc = scan_png_find(buf, len, lim, res, err, errlen);
		break;
	default:
		scan_err(err, errlen, "not a PDF, TIFF, JPEG or PNG document");
		rc = -1;
	}
	if (rc == -1) {
		free(res->sheets);
		res->sheets = NULL;
		res->nsheets = 0;
	}
	return rc;
}

/* scan_result_free - release what scan_find() allocated */
void
scan_result_free(struct scan_result *res)
{
	if (res == NULL)
		return;
	free(res->sheets);
	res->sheets = NULL;
	res->nsheets = 0;
}

/* scan_cut - write some pages of a document, unchanged, to fd */
int
scan_cut(const void *buf, size_t len, unsigned first, unsigned last,
    const unsigned *skip, size_t nskip, int fd, char *err, size_t errlen)
{
	size_t i;

	if (first > last) {
		scan_err(err, errlen, "empty page range %u-%u", first, last);
		return -1;
	}
	switch (scan_sniff(buf, len)) {
	case SCAN_PDF:
		return scan_pdf_cut(buf, len, first, last, skip, nskip, fd,
		    err, errlen);
	case SCAN_TIFF:
		return scan_tiff_cut(buf, len, first, last, skip, nskip, fd,
		    err, errlen);
	case SCAN_JPEG:
	case SCAN_PNG:
		for (i = 0; i < nskip; i++)
			if (skip[i] == 0)
				break;
		if (first != 0 || last != 0 || i < nskip) {
			scan_err(err, errlen, "an image has only page 0");
			return -1;
		}
		return scan_write_all(fd, buf, len, err, errlen);
	default:
		scan_err(err, errlen, "not a PDF, TIFF, JPEG or PNG document");
		return -1;
	}
}
