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

/*
 * fuzz_change - what the worker does to a parsed envelope (its strings in
 * the parser's pool): replace a field, a result and a param, add a param
 * and a recipient, then format; ASan sees a free of pooled memory
 */
static void
fuzz_change(struct envelope *env)
{
	char *out = NULL;
	size_t outlen = 0;

	envelope_put(env, &env->last_error, strdup("451 4.2.0 fuzz"));
	envelope_put(env, &env->from, strdup("f@z"));
	if (env->nrcpt > 0) {
		envelope_rcpt_put_text(&env->rcpt[0], strdup("again"));
		if (env->rcpt[0].nparams > 0)
			envelope_rcpt_set_param(&env->rcpt[0],
			    env->rcpt[0].params[0].name, "v");
		envelope_rcpt_set_param(&env->rcpt[env->nrcpt - 1], "fz", "1");
		(void)envelope_rcpt_rename_param(&env->rcpt[0], "fz", "fy",
		    "2");
	}
	if (env->nrcpt < ENVELOPE_MAX_RCPT)
		(void)envelope_add_rcpt(env, "n@z");
	if (envelope_format(env, &out, &outlen) == 0)
		free(out);
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
		fuzz_change(&env);
	} else if (err[0] == '\0')
		abort();
	envelope_clear(&env);
	free(buf);
	return 0;
}
