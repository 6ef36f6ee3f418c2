/*
 * scan_pdf_img.c - a PDF page that is one JPEG image, taken out as it is
 * (scan_int.h)
 *
 * Most MFPs write each PDF page as one DCT (JPEG) image drawn over the
 * page and nothing else.  Such a page is searched by decoding its JPEG
 * with libjpeg at the search size (DCT scaling: a fraction of the work
 * of a full decode, scan_img.c) instead of rasterising it with pdftoppm,
 * which decodes the image at full size and then scales it down.  Only a
 * page whose content stream holds nothing but q, Q, cm and one Do, of an
 * image XObject filtered by DCTDecode alone, without a mask, a Decode
 * array or annotations, qualifies; any other page goes to pdftoppm (and
 * so does one whose JPEG libjpeg refuses: scan_pdf.c).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <qpdf/qpdf-c.h>

#include "scan.h"
#include "scan_int.h"

#define PDF_IMG_NAME_MAX	64

/* pdf_img_regular - 1 if c may be part of a name or an operator */
static int
pdf_img_regular(unsigned char c)
{
	return c > ' ' && c < 0x7f && strchr("()<>[]{}/%", c) == NULL;
}

/* pdf_img_word - the length of the regular characters at p[i..len) */
static size_t
pdf_img_word(const unsigned char *p, size_t i, size_t len)
{
	size_t k = i;

	while (k < len && pdf_img_regular(p[k]))
		k++;
	return k - i;
}

/*
 * scan_pdf_img_content - 1 if content p[0..len) is only numbers, names and
 * the operators q, Q, cm and one Do, whose operand (a "/" and the name)
 * goes to name
 */
int
scan_pdf_img_content(const unsigned char *p, size_t len, char *name,
    size_t namelen)
{
	size_t i = 0, n, last = 0, lastlen = 0;
	int dos = 0;

	while (i < len) {
		if (p[i] == ' ' || (p[i] >= '\t' && p[i] <= '\r') || p[i] == 0) {
			i++;
			continue;
		}
		if (p[i] == '/') {
			last = i + 1;
			lastlen = pdf_img_word(p, i + 1, len);
			i += 1 + lastlen;
			continue;
		}
		if ((n = pdf_img_word(p, i, len)) == 0)
			return 0;	/* strings, arrays, dictionaries */
		if (strspn((const char *)p + i, "0123456789+-.") >= n) {
			i += n;		/* a number */
			continue;
		}
		if (n == 2 && memcmp(p + i, "Do", 2) == 0) {
			if (++dos > 1 || lastlen == 0 || lastlen + 2 > namelen ||
			    memchr(p + last, '#', lastlen) != NULL)
				return 0;
			name[0] = '/';
			memcpy(name + 1, p + last, lastlen);
			name[lastlen + 1] = '\0';
		} else if (!(n == 1 && (p[i] == 'q' || p[i] == 'Q')) &&
		    !(n == 2 && memcmp(p + i, "cm", 2) == 0))
			return 0;
		i += n;
	}
	return dos == 1;
}

/* pdf_img_dct - 1 if image stream im is a plain DCT image */
static int
pdf_img_dct(qpdf_data q, qpdf_oh im)
{
	qpdf_oh d, f, mask;

	if (!qpdf_oh_is_stream(q, im))
		return 0;
	d = qpdf_oh_get_dict(q, im);
	f = qpdf_oh_get_key(q, d, "/Filter");
	if (qpdf_oh_is_array(q, f) && qpdf_oh_get_array_n_items(q, f) == 1)
		f = qpdf_oh_get_array_item(q, f, 0);
	mask = qpdf_oh_get_key(q, d, "/ImageMask");
	return qpdf_oh_is_name_and_equals(q, qpdf_oh_get_key(q, d, "/Subtype"),
	    "/Image") && qpdf_oh_is_name_and_equals(q, f, "/DCTDecode") &&
	    !(qpdf_oh_is_bool(q, mask) && qpdf_oh_get_bool_value(q, mask)) &&
	    !qpdf_oh_has_key(q, d, "/Decode") && !qpdf_oh_has_key(q, d, "/SMask") &&
	    !qpdf_oh_has_key(q, d, "/Mask");
}

/*
 * scan_pdf_img_jpeg - if page i of q is one plain JPEG image, its bytes
 * (malloc'd, the caller frees) and 1; else 0
 */
int
scan_pdf_img_jpeg(qpdf_data q, unsigned i, unsigned char **jpeg,
    size_t *len)
{
	char name[PDF_IMG_NAME_MAX];
	unsigned char *content = NULL;
	size_t clen = 0;
	qpdf_oh page, xo, im;
	int ok;

	*jpeg = NULL;
	*len = 0;
	page = qpdf_get_page_n(q, i);
	if (qpdf_oh_has_key(q, page, "/Annots") ||
	    (qpdf_oh_get_page_content_data(q, page, &content, &clen) &
	    QPDF_ERRORS))
		ok = 0;
	else
		ok = scan_pdf_img_content(content, clen, name, sizeof(name));
	free(content);
	if (!ok)
		return 0;
	xo = qpdf_oh_get_key(q, qpdf_oh_get_key(q, page, "/Resources"),
	    "/XObject");
	im = qpdf_oh_get_key(q, xo, name);
	if (!pdf_img_dct(q, im) || (qpdf_oh_get_stream_data(q, im, qpdf_dl_none,
	    NULL, jpeg, len) & QPDF_ERRORS)) {
		free(*jpeg);
		*jpeg = NULL;
		return 0;
	}
	return 1;
}
