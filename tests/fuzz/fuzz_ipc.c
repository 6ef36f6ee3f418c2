/*
 * fuzz_ipc.c - fuzz target: the IPC frame decoder and payload splitters
 *
 * The input is a byte stream as the master reads it from a child: split
 * into frames with ipc_decode() until it needs more bytes or refuses a
 * header, and each complete frame's payload given to ipc_strings() and
 * ipc_qids() as the master does (MSG_NEW, JOB_NEW).  Every string handed
 * back must lie inside the payload and end at a NUL within it.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "ipc.h"

/* fuzz_inside - s is a NUL-terminated string within the payload */
static void
fuzz_inside(const struct ipc_frame *f, const char *s)
{
	const char *p = (const char *)f->data;

	if (s < p || s >= p + f->len || memchr(s, '\0', (size_t)(p + f->len - s)) == NULL)
		abort();
}

/* fuzz_payload - the splitters on one frame, with a few limits */
static void
fuzz_payload(const struct ipc_frame *f)
{
	static const char *sv[IPC_MAX_STRINGS];
	static const size_t max[] = { 1, 2, 5, IPC_MAX_STRINGS };
	struct timespec ts;
	const char *why;
	size_t i;
	int n, j, k;

	for (i = 0; i < sizeof(max) / sizeof(max[0]); i++) {
		n = ipc_strings(f, sv, max[i]);
		if (n < -1 || n > (int)max[i] || (f->len == 0 && n != 0))
			abort();
		for (j = 0; j < n; j++)
			fuzz_inside(f, sv[j]);
	}
	for (k = 0; k < 2; k++) {
		why = NULL;
		n = ipc_qids(f, k, sv, IPC_MAX_STRINGS, &why);
		if (n == -1 ? why == NULL : n < 1 + k)
			abort();
		for (j = 0; j < n; j++)
			fuzz_inside(f, sv[j]);
	}
	why = NULL;
	if (ipc_synced(f, &ts, &why) == -1 ? why == NULL :
	    ts.tv_nsec < 0 || ts.tv_nsec > 999999999 || ts.tv_sec < 0)
		abort();
	(void)ipc_type_name(f->type);
}

/* LLVMFuzzerTestOneInput - decode a stream of frames */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ipc_frame f;
	const char *why;
	size_t off = 0;
	ssize_t n;

	for (;;) {
		why = NULL;
		n = ipc_decode(data + off, size - off, &f, &why);
		if (n == 0)
			break;
		if (n < 0) {
			if (why == NULL)
				abort();
			break;
		}
		if ((size_t)n > size - off || (size_t)n != 8 + f.len ||
		    f.len > IPC_MAX_PAYLOAD || f.type == 0 ||
		    f.type >= IPC_TYPE_MAX || f.data != data + off + 8)
			abort();
		fuzz_payload(&f);
		off += (size_t)n;
	}
	return 0;
}
