/*
 * fuzz_scan_img.c - fuzz target: the JPEG and PNG readers of the scan library
 *
 * A JPEG or PNG input is decoded to grey (libjpeg with DCT scaling, libpng
 * with its transformations) under a small pixel limit and searched with
 * zbar (reduced, full size, thresholded).  Other inputs are left alone.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "scan.h"

/* LLVMFuzzerTestOneInput - search one image */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct scan_limits lim = { 1, 100, 4000000, "/nonexistent" };
	struct scan_result res;
	char err[SCAN_ERRLEN];
	enum scan_format f = scan_sniff(data, size);

	if (f != SCAN_JPEG && f != SCAN_PNG)
		return 0;
	err[0] = '\0';
	if (scan_find(data, size, &lim, &res, err, sizeof(err)) == -1) {
		if (err[0] == '\0' || memchr(err, '\0', sizeof(err)) == NULL)
			abort();
		return 0;
	}
	if (res.format != f || res.npages != 1 || res.searched != 1 ||
	    res.nsheets > 1 || (res.nsheets == 1 && res.sheets[0].page != 0))
		abort();
	scan_result_free(&res);
	return 0;
}
