/*
 * scan.h - routing sheets in scanned documents: find them, cut the pages
 *
 * A scanned attachment (PDF, TIFF, JPEG or PNG) is read page by page, up
 * to a limit; each page is rasterised to grey and searched for a barcode
 * (zbar: QR and the common 1-D codes).  A code whose payload is a
 * directive ID (4 or more letters and digits, optionally written
 * "ED:<id>") marks a routing sheet; SCAN_SEPARATOR_PAYLOAD marks a plain
 * separator sheet.  scan_cut() writes a subset of the pages as a new
 * document of the same format without re-encoding them (PDF page
 * objects copied, TIFF frames copied raw), so every kept page is
 * byte-identical in content.
 *
 * These functions parse untrusted input: the caller runs them in a
 * process of its own under resource limits (the recognizer's job child),
 * never in the master, the receiver or the router.
 */
#ifndef GW_SCAN_H
#define GW_SCAN_H

#include <stddef.h>
#include <stdint.h>

#define SCAN_SEPARATOR_PAYLOAD	"GATEWAYD-SEPARATOR"
#define SCAN_ID_MAX		64	/* a directive ID and its NUL */
#define SCAN_ERRLEN		256

enum scan_format { SCAN_UNKNOWN = 0, SCAN_PDF, SCAN_TIFF, SCAN_JPEG, SCAN_PNG };

enum scan_code_kind { SCAN_CODE_DIRECTIVE = 1, SCAN_CODE_SEPARATOR };

struct scan_limits {
	unsigned	 max_pages;	/* pages searched, from the first */
	unsigned	 dpi;		/* rasterising resolution (PDF) */
	uint64_t	 max_pixels;	/* per decoded page; more is refused */
	const char	*pdftoppm;	/* the PDF rasteriser program */
};

struct scan_sheet {
	unsigned		 page;		/* 0-based page index */
	enum scan_code_kind	 kind;
	char			 id[SCAN_ID_MAX];	/* kind DIRECTIVE */
};

struct scan_result {
	enum scan_format	 format;
	unsigned		 npages;	/* pages in the document */
	unsigned		 searched;	/* pages rasterised and searched */
	struct scan_sheet	*sheets;	/* in page order */
	size_t			 nsheets;
};

/* The format of a document by its first bytes. */
enum scan_format scan_sniff(const void *buf, size_t len);
/* The format named by a MIME type or file name suffix; SCAN_UNKNOWN if none. */
enum scan_format scan_format_named(const char *mime_type, const char *filename);
/* Search the first pages for sheets; 0, or -1 (unreadable) with err. */
int scan_find(const void *buf, size_t len, const struct scan_limits *lim,
    struct scan_result *res, char *err, size_t errlen);
void scan_result_free(struct scan_result *);
/*
 * Write pages first..last (0-based, inclusive) except the nskip pages in
 * skip to fd as a document of the same format; 0 or -1 with err.  A
 * single-image format (JPEG, PNG) has one page: cutting it to nothing is
 * the caller's case (the attachment is dropped), not scan_cut()'s.
 */
int scan_cut(const void *buf, size_t len, unsigned first, unsigned last,
    const unsigned *skip, size_t nskip, int fd, char *err, size_t errlen);

#endif
