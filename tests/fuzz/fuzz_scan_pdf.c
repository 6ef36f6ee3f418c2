/*
 * fuzz_scan_pdf.c - fuzz target: the PDF reader of the scan library, as far
 * as it runs in process
 *
 * A PDF input is parsed by qpdf (pages counted, each MediaBox checked);
 * a page that is one JPEG image (scan_pdf_img.c: its content stream
 * tokenised, its image dictionary checked) is decoded by libjpeg and
 * searched with zbar.  Any other page would go to pdftoppm, which is not
 * there (/nonexistent): that scan is unreadable, with a reason.  Other
 * inputs are left alone.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "scan.h"

/* LLVMFuzzerTestOneInput - search the first pages of one PDF */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct scan_limits lim = { 3, 100, 4000000, "/nonexistent" };
	struct scan_result res;
	char err[SCAN_ERRLEN];
	size_t i;

	if (scan_sniff(data, size) != SCAN_PDF)
		return 0;
	err[0] = '\0';
	if (scan_find(data, size, &lim, &res, err, sizeof(err)) == -1) {
		if (err[0] == '\0' || memchr(err, '\0', sizeof(err)) == NULL)
			abort();
		return 0;
	}
	if (res.format != SCAN_PDF || res.searched > lim.max_pages ||
	    res.searched > res.npages || res.nsheets > res.searched)
		abort();
	for (i = 0; i < res.nsheets; i++)
		if (res.sheets[i].page >= res.searched ||
		    (i > 0 && res.sheets[i].page <= res.sheets[i - 1].page))
			abort();
	scan_result_free(&res);
	return 0;
}
