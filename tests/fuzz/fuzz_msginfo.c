/*
 * fuzz_msginfo.c - fuzz target: the routing scan of a message (msginfo.h),
 * whole and header only, as the router runs them
 *
 * The input is a message.  Checked: no crash or sanitizer report; the
 * header-only scan finds exactly the top-level headers the whole scan
 * finds, in the same order with the same values, scans no more bytes than
 * the whole one and says it is header only; the kept text stays within
 * its budget.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "msginfo.h"

#define TEXT_MAX	4096

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct msginfo all, head;
	size_t i;

	msginfo_scan_buf((const char *)data, size, TEXT_MAX, &all);
	msginfo_scan_header_buf((const char *)data, size, &head);
	if (all.header_only || !head.header_only || head.size > all.size ||
	    all.size != size || all.textlen > TEXT_MAX || head.textlen != 0 ||
	    head.nhdr != all.nhdr)
		abort();
	for (i = 0; i < all.nhdr; i++)
		if (strcmp(all.hdr[i].name, head.hdr[i].name) != 0 ||
		    strcmp(all.hdr[i].value, head.hdr[i].value) != 0)
			abort();
	msginfo_free(&all);
	msginfo_free(&head);
	return 0;
}
