/*
 * fuzz_envelope.c - fuzz target: the spool's text envelope parser
 *
 * The input is a queue file (envelope, then message).  What parses must
 * format again, and the formatted text must parse to the same text: a
 * queue file the spool wrote is one it can read back.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "envelope.h"
#include "fuzz.h"

/* fuzz_roundtrip - format env, parse that, format again: same bytes */
static void
fuzz_roundtrip(const struct envelope *env)
{
	struct envelope again;
	char *out = NULL, *out2 = NULL, err[256];
	size_t outlen = 0, outlen2 = 0, used = 0;

	if (envelope_format(env, &out, &outlen) != 0)
		return;		/* allowed: "a field is unusable" */
	memset(&again, 0, sizeof(again));
	if (envelope_parse(out, outlen, &again, &used, err, sizeof(err)) != 0 ||
	    used != outlen)
		abort();
	if (envelope_format(&again, &out2, &outlen2) != 0 ||
	    outlen2 != outlen || memcmp(out, out2, outlen) != 0)
		abort();
	envelope_clear(&again);
	free(out);
	free(out2);
}

/* LLVMFuzzerTestOneInput - parse one queue file */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct envelope env;
	char err[256], *buf;
	size_t used = 0;

	if ((buf = malloc(size ? size : 1)) == NULL)
		return 0;
	memcpy(buf, data, size);
	memset(&env, 0, sizeof(env));
	err[0] = '\0';
	if (envelope_parse(buf, size, &env, &used, err, sizeof(err)) == 0) {
		if (used > size)
			abort();
		fuzz_roundtrip(&env);
	} else if (err[0] == '\0')
		abort();
	envelope_clear(&env);
	free(buf);
	return 0;
}
