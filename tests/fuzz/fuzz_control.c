/*
 * fuzz_control.c - fuzz target: the control socket's request line parser
 *
 * The input is one request line as the master reads it (at most
 * CONTROL_MAX_REQUEST bytes, up to the first newline, NUL-terminated)
 * given to control_parse().  On success there is at least one word, and
 * every word and option value lies inside the line without spaces.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "control_int.h"
#include "fuzz.h"

/* fuzz_word - s is a non-empty word of line, without a space */
static void
fuzz_word(const char *line, size_t len, const char *s)
{
	if (s == NULL)
		return;
	if (s < line || s >= line + len || *s == '\0' || strchr(s, ' ') != NULL)
		abort();
}

/* LLVMFuzzerTestOneInput - parse one request line */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct control_req *req;
	char err[256], *line;
	const char *nl;
	size_t len;
	int i;

	if (size > CONTROL_MAX_REQUEST)
		size = CONTROL_MAX_REQUEST;
	nl = memchr(data, '\n', size);
	len = nl ? (size_t)(nl - (const char *)data) : size;
	if ((line = malloc(len + 1)) == NULL ||
	    (req = calloc(1, sizeof(*req))) == NULL) {
		free(line);
		return 0;
	}
	memcpy(line, data, len);
	line[len] = '\0';
	req->older_than = -1;
	err[0] = '\0';
	if (control_parse(req, line, err, sizeof(err)) == -1) {
		if (err[0] == '\0' || memchr(err, '\0', sizeof(err)) == NULL)
			abort();
	} else {
		if (req->argc < 1 || req->argc > CONTROL_MAX_ARGS)
			abort();
		for (i = 0; i < req->argc; i++)
			fuzz_word(line, len, req->argv[i]);
		fuzz_word(line, len, req->connector);
		fuzz_word(line, len, req->state);
		fuzz_word(line, len, req->sender);
		fuzz_word(line, len, req->recipient);
		if (req->older_than < -1)
			abort();
	}
	free(req);
	free(line);
	return 0;
}
