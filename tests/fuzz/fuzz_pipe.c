/*
 * fuzz_pipe.c - fuzz target: the pipe connector's argv templates, its
 * exit status mapping and the DSN line made of a command's output
 * (connectors/pipe_argv.c, compiled in)
 *
 * The input is NUL-separated: a template, then values for the sender,
 * the queue ID and two recipients' address, fax, name, company and flags.
 * A template the check accepts must expand; every argument must be
 * NUL-terminated and shorter than PIPE_ARG_MAX; a refused one must say
 * why.  The whole input is also the output of a command: the DSN line
 * must stay inside a small buffer and hold printable ASCII only.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../connectors/pipe.h"
#include "../../connectors/pipe_argv.c"
#include "fuzz.h"

/* fuzz_pipe_argv - check and expand the template with the values */
static void
fuzz_pipe_argv(char *const *s, size_t n)
{
	const char *rcpt[5][2];
	char *tmpl[2] = { "/bin/x", s[0] };
	struct pipe_values v;
	struct pipe_argv a;
	unsigned int uses = 0;
	char err[256] = "";
	size_t i, k;

	if (pipe_template_check(s[0], 0, &uses, err, sizeof(err)) == -1) {
		if (err[0] == '\0')
			abort();
		return;
	}
	memset(&v, 0, sizeof(v));
	v.sender = n > 1 ? s[1] : "";
	v.queue_id = n > 2 ? s[2] : "";
	v.nrcpt = 2;
	for (k = 0; k < 5; k++) {
		rcpt[k][0] = n > 3 + k ? s[3 + k] : "";
		rcpt[k][1] = n > 8 + k ? s[8 + k] : "";
		v.rcpt[PIPE_F_RECIPIENT + k] = rcpt[k];
	}
	v.files = (const char *const *)s;
	v.nfiles = n;
	if (pipe_argv_build(tmpl, 2, &v, &a, err, sizeof(err)) == -1) {
		if (err[0] == '\0' || a.v != NULL)
			abort();
		return;
	}
	for (i = 0; i < a.n; i++)
		if (strnlen(a.v[i], PIPE_ARG_MAX) >= PIPE_ARG_MAX)
			abort();
	if (a.v[a.n] != NULL)
		abort();
	pipe_argv_free(&a);
}

/* fuzz_pipe_line - the DSN line of the input as a command's output */
static void
fuzz_pipe_line(const uint8_t *data, size_t size)
{
	struct pipe_outcome o;
	struct pipe_result r;
	char small[24];
	size_t i;

	pipe_first_line((const char *)data, size, small, sizeof(small));
	for (i = 0; i < sizeof(small) && small[i] != '\0'; i++)
		if (small[i] < 0x20 || small[i] > 0x7e)
			abort();
	if (i == sizeof(small))
		abort();
	memset(&o, 0, sizeof(o));
	o.status = size > 0 ? data[0] << 8 | (data[size - 1] & 0x7f) : 0;
	if ((o.out = malloc(size + 1)) == NULL)
		return;
	memcpy(o.out, data, size);
	o.out[size] = '\0';
	o.outlen = size;
	pipe_exit_map(&o, "cmd", &r);
	if (strnlen(r.text, sizeof(r.text)) >= sizeof(r.text) ||
	    (r.code != 250 && r.code != 451 && r.code != 550))
		abort();
	free(o.out);
}

/* LLVMFuzzerTestOneInput - split at NUL bytes, then both checks */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf, *s[16] = { NULL }, *p, *end;
	size_t n = 0;

	if ((buf = malloc(size + 1)) == NULL)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	end = buf + size;
	for (p = buf; n < 16 && p <= end; p += strlen(p) + 1)
		s[n++] = p;
	fuzz_pipe_argv(s, n);
	free(buf);
	fuzz_pipe_line(data, size);
	return 0;
}
