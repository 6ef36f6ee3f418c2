/*
 * fuzz_rfc2047.c - fuzz target: the RFC 2047 encoded-word decoder
 * (rfc2047.h) as msginfo.c runs it on header values and display names
 *
 * The input is a header value (cut at its first NUL).  Checked: no crash
 * or sanitizer report, the output is at most RFC2047_GROWTH times the
 * input, a value without "=?" is left alone (NULL), and decoding the
 * output again stays within the bound too.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "rfc2047.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *in = malloc(size + 1), *out, *again;
	size_t len;

	if (in == NULL)
		return 0;
	memcpy(in, data, size);
	in[size] = '\0';
	len = strlen(in);
	out = rfc2047_decode(in);
	if (out == NULL) {
		if (strstr(in, "=?") != NULL && strstr(in, "=?") < in + len)
			abort();
		free(in);
		return 0;
	}
	if (strlen(out) > len * RFC2047_GROWTH)
		abort();
	if ((again = rfc2047_decode(out)) != NULL &&
	    strlen(again) > strlen(out) * RFC2047_GROWTH)
		abort();
	free(again);
	free(out);
	free(in);
	return 0;
}
