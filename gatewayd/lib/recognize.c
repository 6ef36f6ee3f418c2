/*
 * recognize.c - the address, subject and body recognisers (recognize.h)
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "directive.h"
#include "msginfo.h"
#include "oneoff.h"
#include "recognize.h"

/* recognize_token - the first ED:<id> token in text */
int
recognize_token(const char *text, size_t len, int brackets, char *out,
    size_t outlen)
{
	size_t i, j, start = brackets ? 1 : 0;

	for (i = 0; i + start + 3 < len; i++) {
		const char *p = text + i;

		if (brackets && p[0] != '[')
			continue;
		if (!brackets && i > 0 && isalnum((unsigned char)p[-1]))
			continue;
		if (strncasecmp(p + start, "ED", 2) != 0 ||
		    (p[start + 2] != ':' && (brackets || p[start + 2] != '-')))
			continue;
		p += start + 3;
		for (j = 0; i + start + 3 + j < len &&
		    isalnum((unsigned char)p[j]); j++)
			;
		if (j < 4 || j >= DIRECTIVE_ID_MAX || j >= outlen)
			continue;
		if (brackets && (i + start + 3 + j >= len || p[j] != ']'))
			continue;
		memcpy(out, p, j);
		out[j] = '\0';
		return 0;
	}
	return -1;
}

/* recognize_address - ed-<id>@gw, or the local part as a keyword */
static enum recognize_kind
recognize_address(const struct recognize_input *in, char *out, size_t outlen)
{
	const char *at;
	size_t len;

	if (in->dest != NULL && in->dest->type == ONEOFF_DIRECTIVE) {
		snprintf(out, outlen, "%s", in->dest->id);
		return RECOGNIZE_ID;
	}
	at = strrchr(in->rcpt, '@');
	len = at ? (size_t)(at - in->rcpt) : strlen(in->rcpt);
	if (len == 0 || len >= outlen)
		return RECOGNIZE_NONE;
	memcpy(out, in->rcpt, len);
	out[len] = '\0';
	return RECOGNIZE_KEYWORD;
}

/* recognize_subject - "[ED:<id>]" in the Subject: */
static enum recognize_kind
recognize_subject(const struct recognize_input *in, char *out, size_t outlen)
{
	const char *subj;

	if (in->mi == NULL || (subj = msginfo_header(in->mi, "Subject")) == NULL)
		return RECOGNIZE_NONE;
	return recognize_token(subj, strlen(subj), 1, out, outlen) == 0 ?
	    RECOGNIZE_ID : RECOGNIZE_NONE;
}

/* recognize_body - "ED:<id>" in the (bounded) text of the body */
static enum recognize_kind
recognize_body(const struct recognize_input *in, char *out, size_t outlen)
{
	if (in->mi == NULL || in->mi->text == NULL)
		return RECOGNIZE_NONE;
	return recognize_token(in->mi->text, in->mi->textlen, 0, out,
	    outlen) == 0 ? RECOGNIZE_ID : RECOGNIZE_NONE;
}

const struct recognizer recognize_list[] = {
	{ "address", recognize_address },
	{ "subject", recognize_subject },
	{ "body", recognize_body },
	{ NULL, NULL }
};
