/*
 * fuzz_addr.c - fuzz target: RFC 5321/6531 path and address syntax
 *
 * The first byte selects SMTPUTF8; the rest is given to addr_parse_path
 * (as the receiver does, only when it starts with '<'), and as a
 * NUL-terminated address to the other addr.h functions.  A parsed
 * address must satisfy addr_valid() and fit ADDR_BUFLEN.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "fuzz.h"

/* fuzz_path - parse a path; check what comes out */
static void
fuzz_path(const char *s, size_t len, int utf8)
{
	char out[ADDR_BUFLEN];
	const char *rest = NULL, *why = NULL;
	int st;

	st = addr_parse_path_utf8(s, len, out, sizeof(out), &rest, &why, utf8);
	(void)addr_status_name(st);
	if (st != ADDR_OK) {
		if (why == NULL)
			abort();
		return;
	}
	if (rest == NULL || rest <= s || rest > s + len ||
	    strnlen(out, sizeof(out)) == sizeof(out))
		abort();
	if (!utf8 && addr_is_8bit(out))
		abort();
	if (utf8 && !addr_utf8_valid(out, strlen(out)))
		abort();
	(void)addr_domain(out);
	if (addr_local_len(out) > strlen(out))
		abort();
	(void)addr_hidden(out);
	(void)addr_is_postmaster(out);
}

/* LLVMFuzzerTestOneInput - one path, one address */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *why;
	char *s;
	size_t len;

	if (size < 1)
		return 0;
	len = size - 1;
	if ((s = malloc(len + 1)) == NULL)
		return 0;
	memcpy(s, data + 1, len);
	if (len > 0 && s[0] == '<')
		fuzz_path(s, len, data[0] & 1);
	s[len] = '\0';
	if (strlen(s) == len) {
		why = NULL;
		if (addr_valid(s, &why) != 0 && why == NULL)
			abort();
		(void)addr_domain(s);
		(void)addr_local_len(s);
		(void)addr_hidden(s);
		(void)addr_is_8bit(s);
		(void)addr_is_postmaster(s);
	}
	(void)addr_utf8_valid(s, len);
	free(s);
	return 0;
}
