/*
 * sheet.c - one-page PDF routing sheet with a QR code (sheet.h)
 *
 * libharu reports errors through a handler; the handler only records the
 * first error, and sheet_write() checks it before saving, so a sheet is
 * either complete or not written.  Text is drawn in the standard
 * Helvetica font: anything outside printable ASCII becomes '?'.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <hpdf.h>
#include <qrencode.h>

#include "directive.h"
#include "sheet.h"

#define SHEET_MARGIN	56.0f	/* points */
#define SHEET_MODULE	5.0f	/* one QR module */
#define SHEET_LINE_MAX	160

struct sheet {
	HPDF_Doc pdf;
	HPDF_Page page;
	HPDF_Font font, bold;
	HPDF_STATUS error;
	float y, top;
};

/* sheet_error - libharu's error handler: remember the first error */
static void
sheet_error(HPDF_STATUS error, HPDF_STATUS detail, void *arg)
{
	struct sheet *s = arg;

	(void)detail;
	if (s->error == 0)
		s->error = error;
}

/* sheet_ascii - printable ASCII copy of s */
static void
sheet_ascii(char *dst, size_t dstlen, const char *s)
{
	size_t n = 0;

	for (; s != NULL && *s != '\0' && n + 1 < dstlen; s++)
		dst[n++] = (*s >= 0x20 && *s < 0x7f) ? *s : '?';
	dst[n] = '\0';
}

/* sheet_text - one line of text at the current position, then down */
static void
sheet_text(struct sheet *s, HPDF_Font font, float size, const char *text)
{
	char buf[SHEET_LINE_MAX];

	sheet_ascii(buf, sizeof(buf), text);
	HPDF_Page_BeginText(s->page);
	HPDF_Page_SetFontAndSize(s->page, font, size);
	HPDF_Page_TextOut(s->page, SHEET_MARGIN, s->y - size, buf);
	HPDF_Page_EndText(s->page);
	s->y -= size * 1.4f;
}

/* sheet_qr - the ID as a QR code, top right */
static int
sheet_qr(struct sheet *s, const char *id, float top)
{
	QRcode *qr = QRcode_encodeString(id, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
	float x0, y0;
	int x, y;

	if (qr == NULL)
		return -1;
	x0 = HPDF_Page_GetWidth(s->page) - SHEET_MARGIN -
	    (float)qr->width * SHEET_MODULE;
	y0 = top;
	HPDF_Page_SetRGBFill(s->page, 0, 0, 0);
	for (y = 0; y < qr->width; y++)
		for (x = 0; x < qr->width; x++)
			if (qr->data[y * qr->width + x] & 1)
				HPDF_Page_Rectangle(s->page,
				    x0 + (float)x * SHEET_MODULE,
				    y0 - (float)(y + 1) * SHEET_MODULE,
				    SHEET_MODULE, SHEET_MODULE);
	HPDF_Page_Fill(s->page);
	QRcode_free(qr);
	return 0;
}

/* sheet_date - a time for the sheet, "never" for 0 */
static void
sheet_date(char *buf, size_t len, long long t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (t == 0 || gmtime_r(&tt, &tm) == NULL)
		snprintf(buf, len, "never");
	else
		strftime(buf, len, "%Y-%m-%d %H:%M UTC", &tm);
}

/* sheet_body - the texts of the page */
static void
sheet_body(struct sheet *s, const struct directive *d)
{
	char line[SHEET_LINE_MAX * 2], when[40];
	size_t i, j, n;

	sheet_text(s, s->bold, 14, "gatewayd routing sheet");
	sheet_text(s, s->bold, 22, d->title);
	snprintf(line, sizeof(line), "Owner: %s", d->owner);
	sheet_text(s, s->font, 11, line);
	sheet_date(when, sizeof(when), (long long)d->expires);
	snprintf(line, sizeof(line), "Expires: %s", when);
	sheet_text(s, s->font, 11, line);
	if (s->y > s->top - 150)	/* below the QR code */
		s->y = s->top - 150;
	snprintf(line, sizeof(line), "ED:%s", d->id);
	sheet_text(s, s->bold, 48, line);
	s->y -= 10;
	sheet_text(s, s->bold, 13, "Recipients");
	for (i = 0; i < d->nrcpt && s->y > SHEET_MARGIN + 20; i++) {
		n = (size_t)snprintf(line, sizeof(line), "%zu. %s: %s", i + 1,
		    d->rcpt[i].channel, d->rcpt[i].address[0] ?
		    d->rcpt[i].address : "(the scanned message)");
		for (j = 0; j < d->rcpt[i].nparams && n < sizeof(line); j++)
			n += (size_t)snprintf(line + n, sizeof(line) - n, "%s%s=%s",
			    j ? ", " : "  (", d->rcpt[i].params[j].name,
			    d->rcpt[i].params[j].value);
		if (d->rcpt[i].nparams > 0 && n < sizeof(line))
			snprintf(line + n, sizeof(line) - n, ")");
		sheet_text(s, s->font, 11, line);
	}
	s->y = SHEET_MARGIN + 24;
	sheet_text(s, s->font, 9, "Put this sheet on top of the document and "
	    "scan it to the gateway, or write the ED: code in the subject.");
}

/* sheet_write - the routing sheet of d into path */
int
sheet_write(const struct directive *d, const char *path, char *err,
    size_t errlen)
{
	struct sheet s;
	float top;

	memset(&s, 0, sizeof(s));
	if ((s.pdf = HPDF_New(sheet_error, &s)) == NULL) {
		snprintf(err, errlen, "cannot start a PDF document");
		return -1;
	}
	HPDF_SetInfoAttr(s.pdf, HPDF_INFO_TITLE, "gatewayd routing sheet");
	HPDF_SetInfoAttr(s.pdf, HPDF_INFO_CREATOR, "gatewayctl");
	s.page = HPDF_AddPage(s.pdf);
	HPDF_Page_SetSize(s.page, HPDF_PAGE_SIZE_A4, HPDF_PAGE_PORTRAIT);
	s.font = HPDF_GetFont(s.pdf, "Helvetica", NULL);
	s.bold = HPDF_GetFont(s.pdf, "Helvetica-Bold", NULL);
	top = HPDF_Page_GetHeight(s.page) - SHEET_MARGIN;
	s.y = top;
	s.top = top;
	if (s.error == 0 && sheet_qr(&s, d->id, top) == -1) {
		snprintf(err, errlen, "cannot encode the QR code");
		HPDF_Free(s.pdf);
		return -1;
	}
	if (s.error == 0)
		sheet_body(&s, d);
	if (s.error == 0)
		HPDF_SaveToFile(s.pdf, path);
	HPDF_Free(s.pdf);
	if (s.error != 0) {
		snprintf(err, errlen, "%s: PDF error 0x%04x", path,
		    (unsigned)s.error);
		return -1;
	}
	return 0;
}
