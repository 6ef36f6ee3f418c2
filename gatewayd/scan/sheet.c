/*
 * sheet.c - one-page PDF routing and separator sheets with a QR code
 * (sheet.h)
 *
 * libharu reports errors through a handler; the handler only records the
 * first error, and sheet_save() checks it before saving, so a sheet is
 * either complete or not written.  Text is drawn in the standard
 * Helvetica font: anything outside printable ASCII becomes '?', and a
 * line too long for its place is cut, so it never runs under the QR code
 * or off the page.  The QR code's side is fixed in points whatever the
 * payload (bigger modules for a short one): about 5 cm on a routing
 * sheet, 7 cm on a separator, at least 4 modules of quiet zone, and a
 * margin of 2 cm from every edge on A4 and Letter alike, so a scan at
 * 150 dpi, skewed or cropped by the scanner, still holds the whole code.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <hpdf.h>
#include <qrencode.h>

#include "directive.h"
#include "scan.h"
#include "sheet.h"

#define SHEET_MARGIN	56.0f	/* points: 2 cm */
#define SHEET_QR_SIDE	144.0f	/* a routing sheet's QR code: 5 cm */
#define SHEET_SEP_SIDE	200.0f	/* a separator's: 7 cm */
#define SHEET_MODULE_MAX 8.0f	/* a short payload's modules, at most */
#define SHEET_GAP	28.0f	/* QR code to text: its quiet zone */
#define SHEET_LINE_MAX	160

struct sheet {
	HPDF_Doc pdf;
	HPDF_Page page;
	HPDF_Font font, bold;
	HPDF_STATUS error;
	float y, top;
	float qr_left, qr_bottom;	/* text above qr_bottom ends at qr_left */
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

/* sheet_paper_parse - "a4" or "letter" */
int
sheet_paper_parse(const char *name, enum sheet_paper *paper)
{
	if (strcasecmp(name, "a4") == 0)
		*paper = SHEET_A4;
	else if (strcasecmp(name, "letter") == 0)
		*paper = SHEET_LETTER;
	else
		return -1;
	return 0;
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

/* sheet_right - where a line at the current height must end */
static float
sheet_right(const struct sheet *s, float size)
{
	if (s->y - size < s->qr_bottom)
		return HPDF_Page_GetWidth(s->page) - SHEET_MARGIN;
	return s->qr_left - SHEET_GAP;
}

/* sheet_text_at - one line at x (x < 0: centred), then down */
static void
sheet_text_at(struct sheet *s, HPDF_Font font, float size, float x,
    const char *text)
{
	char buf[SHEET_LINE_MAX];
	float right, width;
	HPDF_UINT fit;

	sheet_ascii(buf, sizeof(buf), text);
	HPDF_Page_SetFontAndSize(s->page, font, size);
	right = sheet_right(s, size);
	if (x < 0) {
		width = HPDF_Page_TextWidth(s->page, buf);
		x = (HPDF_Page_GetWidth(s->page) - width) / 2;
		if (x < SHEET_MARGIN)
			x = SHEET_MARGIN;
	}
	fit = HPDF_Page_MeasureText(s->page, buf, right - x, HPDF_FALSE, NULL);
	if (fit < strlen(buf))
		buf[fit] = '\0';	/* cut, never under the QR code */
	HPDF_Page_BeginText(s->page);
	HPDF_Page_TextOut(s->page, x, s->y - size, buf);
	HPDF_Page_EndText(s->page);
	s->y -= size * 1.4f;
}

/* sheet_text - one line at the left margin, then down */
static void
sheet_text(struct sheet *s, HPDF_Font font, float size, const char *text)
{
	sheet_text_at(s, font, size, SHEET_MARGIN, text);
}

/*
 * sheet_qr - payload as a QR code of the given side, its top left corner
 * at (x0, top); the module size is side / width
 */
static int
sheet_qr(struct sheet *s, const char *payload, float x0, float top,
    float side)
{
	QRcode *qr = QRcode_encodeString(payload, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
	float m;
	int x, y;

	if (qr == NULL)
		return -1;
	m = side / (float)qr->width;
	if (m > SHEET_MODULE_MAX)
		m = SHEET_MODULE_MAX;
	HPDF_Page_SetRGBFill(s->page, 0, 0, 0);
	for (y = 0; y < qr->width; y++)
		for (x = 0; x < qr->width; x++)
			if (qr->data[y * qr->width + x] & 1)
				HPDF_Page_Rectangle(s->page, x0 + (float)x * m,
				    top - (float)(y + 1) * m, m, m);
	HPDF_Page_Fill(s->page);
	s->qr_left = x0;
	s->qr_bottom = top - (float)qr->width * m;
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

/* sheet_rcpt_line - "N. channel: address  (name=value, ...)" */
static void
sheet_rcpt_line(char *line, size_t len, const struct directive *d, size_t i)
{
	size_t j, n;

	n = (size_t)snprintf(line, len, "%zu. %s: %s", i + 1,
	    d->rcpt[i].channel, d->rcpt[i].address[0] ?
	    d->rcpt[i].address : "(the scanned message)");
	for (j = 0; j < d->rcpt[i].nparams && n < len; j++)
		n += (size_t)snprintf(line + n, len - n, "%s%s=%s",
		    j ? ", " : "  (", d->rcpt[i].params[j].name,
		    d->rcpt[i].params[j].value);
	if (d->rcpt[i].nparams > 0 && n < len)
		snprintf(line + n, len - n, ")");
}

/* sheet_body - the texts of a routing sheet */
static void
sheet_body(struct sheet *s, const struct directive *d)
{
	char line[SHEET_LINE_MAX * 2], when[40];
	size_t i;

	sheet_text(s, s->bold, 14, "gatewayd routing sheet");
	sheet_text(s, s->bold, 22, d->title);
	snprintf(line, sizeof(line), "Owner: %s", d->owner);
	sheet_text(s, s->font, 11, line);
	sheet_date(when, sizeof(when), (long long)d->expires);
	snprintf(line, sizeof(line), "Expires: %s", when);
	sheet_text(s, s->font, 11, line);
	if (s->y > s->qr_bottom - SHEET_GAP)	/* below the QR code */
		s->y = s->qr_bottom - SHEET_GAP;
	snprintf(line, sizeof(line), "ED:%s", d->id);
	sheet_text(s, s->bold, 48, line);
	s->y -= 10;
	sheet_text(s, s->bold, 13, "Recipients");
	for (i = 0; i < d->nrcpt && s->y > SHEET_MARGIN + 90; i++) {
		sheet_rcpt_line(line, sizeof(line), d, i);
		sheet_text(s, s->font, 11, line);
	}
	s->y = SHEET_MARGIN + 66;
	sheet_text(s, s->bold, 10, "How to use this sheet");
	sheet_text(s, s->font, 9, "Put it on top of the document, face up, and "
	    "scan the whole stack to the gateway's address.");
	sheet_text(s, s->font, 9, "Several documents in one scan: each behind "
	    "its own routing sheet, or a separator sheet between them");
	sheet_text(s, s->font, 9, "(gatewayctl directive separator). The sheet "
	    "page is taken out of the document that is delivered.");
	sheet_text(s, s->font, 9, "Without a scanner: write the ED: code in the "
	    "subject of the message.");
}

/* sheet_separator_body - the texts and code of a separator sheet */
static int
sheet_separator_body(struct sheet *s)
{
	float x0 = (HPDF_Page_GetWidth(s->page) - SHEET_SEP_SIDE) / 2;

	sheet_text_at(s, s->bold, 28, -1, "SEPARATOR SHEET");
	s->y -= 20;
	s->qr_bottom = s->y;	/* full width above the code */
	if (sheet_qr(s, SCAN_SEPARATOR_PAYLOAD, x0, s->y, SHEET_SEP_SIDE) == -1)
		return -1;
	s->y = s->qr_bottom - 30;
	sheet_text_at(s, s->bold, 18, -1,
	    "Separator sheet: place between documents");
	s->y -= 10;
	sheet_text_at(s, s->font, 11, -1, "In a scanned stack, the gateway "
	    "starts a new document after this page.");
	sheet_text_at(s, s->font, 11, -1, "The routing does not change: the "
	    "next document goes where the one before it went.");
	sheet_text_at(s, s->font, 11, -1, "This page itself is taken out of "
	    "the documents that are delivered.");
	return 0;
}

/* sheet_start - a new document of one page of the given paper */
static int
sheet_start(struct sheet *s, enum sheet_paper paper, const char *title,
    char *err, size_t errlen)
{
	memset(s, 0, sizeof(*s));
	if ((s->pdf = HPDF_New(sheet_error, s)) == NULL) {
		snprintf(err, errlen, "cannot start a PDF document");
		return -1;
	}
	HPDF_SetInfoAttr(s->pdf, HPDF_INFO_TITLE, title);
	HPDF_SetInfoAttr(s->pdf, HPDF_INFO_CREATOR, "gatewayd");
	s->page = HPDF_AddPage(s->pdf);
	HPDF_Page_SetSize(s->page, paper == SHEET_LETTER ?
	    HPDF_PAGE_SIZE_LETTER : HPDF_PAGE_SIZE_A4, HPDF_PAGE_PORTRAIT);
	s->font = HPDF_GetFont(s->pdf, "Helvetica", NULL);
	s->bold = HPDF_GetFont(s->pdf, "Helvetica-Bold", NULL);
	s->top = HPDF_Page_GetHeight(s->page) - SHEET_MARGIN;
	s->y = s->top;
	s->qr_left = HPDF_Page_GetWidth(s->page) - SHEET_MARGIN;
	return 0;
}

/* sheet_stream - the finished document written to out (name for errors) */
static int
sheet_stream(struct sheet *s, FILE *out, const char *name, char *err,
    size_t errlen)
{
	HPDF_BYTE buf[8192];
	HPDF_UINT32 n, left;

	if (HPDF_SaveToStream(s->pdf) != HPDF_OK || s->error != 0)
		return 0;	/* sheet_save reports s->error */
	HPDF_ResetStream(s->pdf);
	/* exactly the stream's size: reading at its end is an error */
	for (left = HPDF_GetStreamSize(s->pdf); left > 0 && s->error == 0;
	    left -= n) {
		n = left < sizeof(buf) ? left : (HPDF_UINT32)sizeof(buf);
		if (HPDF_ReadFromStream(s->pdf, buf, &n) != HPDF_OK || n == 0)
			return 0;
		if (fwrite(buf, 1, n, out) != n)
			break;
	}
	if (fflush(out) == EOF || ferror(out)) {
		snprintf(err, errlen, "%s: %s", name, strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * sheet_save - check the document, write it to out, or to path ("-":
 * stdout) when out is NULL, and free it
 */
static int
sheet_save(struct sheet *s, const char *path, FILE *out, char *err,
    size_t errlen)
{
	int rc = 0;

	if (s->error == 0 && out != NULL)
		rc = sheet_stream(s, out, path, err, errlen);
	else if (s->error == 0 && strcmp(path, "-") == 0)
		rc = sheet_stream(s, stdout, "standard output", err, errlen);
	else if (s->error == 0)
		HPDF_SaveToFile(s->pdf, path);
	HPDF_Free(s->pdf);
	if (rc == 0 && s->error != 0) {
		snprintf(err, errlen, "%s: PDF error 0x%04x", path,
		    (unsigned)s->error);
		rc = -1;
	}
	return rc;
}

/* sheet_render - the routing sheet of d into path or out (sheet_save) */
static int
sheet_render(const struct directive *d, enum sheet_paper paper,
    const char *path, FILE *out, char *err, size_t errlen)
{
	struct sheet s;
	float x0;

	if (sheet_start(&s, paper, "gatewayd routing sheet", err, errlen) == -1)
		return -1;
	x0 = HPDF_Page_GetWidth(s.page) - SHEET_MARGIN - SHEET_QR_SIDE;
	if (s.error == 0 && sheet_qr(&s, d->id, x0, s.top, SHEET_QR_SIDE) == -1) {
		snprintf(err, errlen, "cannot encode the QR code");
		HPDF_Free(s.pdf);
		return -1;
	}
	if (s.error == 0)
		sheet_body(&s, d);
	return sheet_save(&s, path, out, err, errlen);
}

/* sheet_write - the routing sheet of d into path */
int
sheet_write(const struct directive *d, enum sheet_paper paper,
    const char *path, char *err, size_t errlen)
{
	return sheet_render(d, paper, path, NULL, err, errlen);
}

/* sheet_write_stream - the routing sheet of d written to out */
int
sheet_write_stream(const struct directive *d, enum sheet_paper paper,
    FILE *out, char *err, size_t errlen)
{
	return sheet_render(d, paper, "routing sheet", out, err, errlen);
}

/* sheet_separator - a separator sheet into path or out (sheet_save) */
static int
sheet_separator(enum sheet_paper paper, const char *path, FILE *out,
    char *err, size_t errlen)
{
	struct sheet s;

	if (sheet_start(&s, paper, "gatewayd separator sheet", err,
	    errlen) == -1)
		return -1;
	if (s.error == 0 && sheet_separator_body(&s) == -1) {
		snprintf(err, errlen, "cannot encode the QR code");
		HPDF_Free(s.pdf);
		return -1;
	}
	return sheet_save(&s, path, out, err, errlen);
}

/* sheet_write_separator - a separator sheet into path */
int
sheet_write_separator(enum sheet_paper paper, const char *path, char *err,
    size_t errlen)
{
	return sheet_separator(paper, path, NULL, err, errlen);
}

/* sheet_write_separator_stream - a separator sheet written to out */
int
sheet_write_separator_stream(enum sheet_paper paper, FILE *out, char *err,
    size_t errlen)
{
	return sheet_separator(paper, "separator sheet", out, err, errlen);
}
