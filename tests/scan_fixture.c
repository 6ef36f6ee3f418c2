/*
 * scan_fixture.c - make the pages the scan tests start from
 *
 *   scan_fixture sheet ID OUT.pdf
 *	the routing sheet gatewayctl prints for a directive ID (sheet.c)
 *   scan_fixture qr PAYLOAD DPI OUT.pgm
 *	an A4 page at DPI with lines of "text" and a QR code of PAYLOAD
 *	(a separator sheet, or any payload)
 *   scan_fixture page SEED DPI OUT.pgm
 *	an A4 page at DPI with lines of "text" and no code
 *
 * The scan tests turn these into scans (rotation, noise, JPEG, TIFF, PDF)
 * with ImageMagick, libtiff's tools and img2pdf.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <qrencode.h>

#include "directive.h"
#include "sheet.h"

#define A4_W_MM		210
#define A4_H_MM		297
#define QR_MODULE_MM	1.8

struct page {
	unsigned char	*px;
	unsigned	 w, h, dpi;
};

/* mm - millimetres to pixels */
static unsigned
mm(const struct page *p, double v)
{
	return (unsigned)(v * p->dpi / 25.4);
}

/* box - fill a black rectangle (clipped) */
static void
box(struct page *p, unsigned x0, unsigned y0, unsigned w, unsigned h)
{
	unsigned x, y;

	for (y = y0; y < y0 + h && y < p->h; y++)
		for (x = x0; x < x0 + w && x < p->w; x++)
			p->px[(size_t)y * p->w + x] = 0;
}

/* text - lines of word-like bars from y_mm down, pseudo-random by seed */
static void
text(struct page *p, double y_mm, unsigned seed)
{
	double x, y, wl;

	srand(seed);
	for (y = y_mm; y < A4_H_MM - 25; y += 6)
		for (x = 25; x < A4_W_MM - 40; x += wl + 2.5) {
			wl = 4 + rand() % 18;
			box(p, mm(p, x), mm(p, y), mm(p, wl), mm(p, 2.4));
		}
}

/* qr - the QR code of payload at (x_mm, y_mm) */
static int
qr(struct page *p, const char *payload, double x_mm, double y_mm)
{
	QRcode *q = QRcode_encodeString(payload, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
	int x, y;

	if (q == NULL)
		return -1;
	for (y = 0; y < q->width; y++)
		for (x = 0; x < q->width; x++)
			if (q->data[y * q->width + x] & 1)
				box(p, mm(p, x_mm + x * QR_MODULE_MM),
				    mm(p, y_mm + y * QR_MODULE_MM),
				    mm(p, x_mm + (x + 1) * QR_MODULE_MM) -
				    mm(p, x_mm + x * QR_MODULE_MM),
				    mm(p, y_mm + (y + 1) * QR_MODULE_MM) -
				    mm(p, y_mm + y * QR_MODULE_MM));
	QRcode_free(q);
	return 0;
}

/* write_pgm - the page as binary PGM with its resolution in a comment */
static int
write_pgm(const struct page *p, const char *path)
{
	FILE *f = fopen(path, "wb");
	int rc;

	if (f == NULL)
		return -1;
	fprintf(f, "P5\n%u %u\n255\n", p->w, p->h);
	rc = fwrite(p->px, 1, (size_t)p->w * p->h, f) == (size_t)p->w * p->h;
	return fclose(f) == 0 && rc ? 0 : -1;
}

/* new_page - a white A4 page at dpi */
static void
new_page(struct page *p, const char *dpi)
{
	p->dpi = (unsigned)atoi(dpi);
	if (p->dpi < 50 || p->dpi > 1200) {
		fprintf(stderr, "scan_fixture: bad resolution %s\n", dpi);
		exit(2);
	}
	p->w = mm(p, A4_W_MM);
	p->h = mm(p, A4_H_MM);
	p->px = malloc((size_t)p->w * p->h);
	if (p->px == NULL)
		exit(1);
	memset(p->px, 255, (size_t)p->w * p->h);
}

/* page_done - write the page and free it; the exit status */
static int
page_done(struct page *p, const char *path)
{
	int rc = write_pgm(p, path);

	free(p->px);
	return rc == 0 ? 0 : 1;
}

int
main(int argc, char **argv)
{
	struct directive d;
	struct page p;
	char err[256];

	if (argc == 4 && strcmp(argv[1], "sheet") == 0) {
		memset(&d, 0, sizeof(d));
		snprintf(d.id, sizeof(d.id), "%s", argv[2]);
		d.title = "Scan test";
		d.owner = "tester";
		if (sheet_write(&d, SHEET_A4, argv[3], err,
		    sizeof(err)) == -1) {
			fprintf(stderr, "scan_fixture: %s\n", err);
			return 1;
		}
		return 0;
	}
	if (argc == 5 && strcmp(argv[1], "qr") == 0) {
		new_page(&p, argv[3]);
		if (qr(&p, argv[2], 120, 25) == -1) {
			free(p.px);
			return 1;
		}
		text(&p, 90, 1);
		return page_done(&p, argv[4]);
	}
	if (argc == 5 && strcmp(argv[1], "page") == 0) {
		new_page(&p, argv[3]);
		text(&p, 25, (unsigned)atoi(argv[2]));
		return page_done(&p, argv[4]);
	}
	fprintf(stderr, "usage: scan_fixture sheet ID OUT.pdf | qr PAYLOAD DPI "
	    "OUT.pgm | page SEED DPI OUT.pgm\n");
	return 2;
}
