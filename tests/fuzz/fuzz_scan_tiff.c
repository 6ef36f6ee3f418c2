/*
 * fuzz_scan_tiff.c - fuzz target: the TIFF reader of the scan library
 *
 * The input is searched as a scan (scan_find: libtiff through the memory
 * client I/O, every frame to grey, zbar) under small limits, then cut
 * (scan_cut: frames copied raw) to /dev/null.  Inputs that are not TIFF
 * are left alone: the PDF reader runs a program and the image formats
 * have fuzz_scan_img.
 */
#include "config.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "fuzz.h"
#include "scan.h"

/* LLVMFuzzerTestOneInput - search, then cut, one TIFF */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct scan_limits lim = { 3, 100, 4000000, "/nonexistent" };
	static const unsigned skip[] = { 1 };
	struct scan_result res;
	char err[SCAN_ERRLEN];
	size_t i;
	int fd;

	if (scan_sniff(data, size) != SCAN_TIFF)
		return 0;
	if (scan_find(data, size, &lim, &res, err, sizeof(err)) == 0) {
		if (res.format != SCAN_TIFF || res.searched > lim.max_pages ||
		    res.searched > res.npages || res.nsheets > res.searched)
			abort();
		for (i = 0; i < res.nsheets; i++)
			if (res.sheets[i].page >= res.searched)
				abort();
		scan_result_free(&res);
	}
	if ((fd = open("/dev/null", O_WRONLY)) != -1) {
		(void)scan_cut(data, size, 0, 2, skip, 1, fd, err, sizeof(err));
		close(fd);
	}
	return 0;
}
