/*
 * fuzz_recog_result.c - fuzz target: the router's reader of the
 * recognizer's result file (router_recog_parse)
 *
 * The input is a result file as a compromised recognizer could write it
 * (at most ROUTER_RECOG_RESULT_MAX bytes, cut at the first NUL as
 * router_recog_load does).  A parsed result must keep the format's
 * promises: a known status, parts only with "sheets", at most
 * RULES_RECOG_MAX_PARTS of them covering pages 1..n in order, terminated
 * IDs and reason.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "router_recog.h"
#include "rules.h"

/* fuzz_check - abort unless out keeps the promises of a parsed result */
static void
fuzz_check(const struct rules_recog *out)
{
	unsigned int next = 1;
	size_t i;

	if (out->status < RULES_RECOG_SHEETS || out->status > RULES_RECOG_UNREADABLE ||
	    out->nparts > RULES_RECOG_MAX_PARTS ||
	    (out->status == RULES_RECOG_SHEETS) != (out->nparts > 0) ||
	    memchr(out->reason, '\0', sizeof(out->reason)) == NULL)
		abort();
	for (i = 0; i < out->nparts; i++) {
		const struct rules_part *p = &out->parts[i];

		if (memchr(p->id, '\0', sizeof(p->id)) == NULL ||
		    p->first != next || p->last < p->first ||
		    (p->kind == RULES_PART_DIRECTIVE && p->id[0] == '\0'))
			abort();
		next = p->last + 1;
	}
}

/* LLVMFuzzerTestOneInput - parse one result file */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rules_recog *out;
	char *text;

	if (size > ROUTER_RECOG_RESULT_MAX)
		size = ROUTER_RECOG_RESULT_MAX;
	if ((text = malloc(size + 1)) == NULL ||
	    (out = calloc(1, sizeof(*out))) == NULL) {
		free(text);
		return 0;
	}
	memcpy(text, data, size);
	text[size] = '\0';
	if (router_recog_parse(text, out) == 0)
		fuzz_check(out);
	free(out);
	free(text);
	return 0;
}
