/*
 * fuzz_uu.c - fuzz target: the uuencoded block finder and decoder of the
 * folder connector (connectors/folder_uu.c) as folder_mime.c runs them on
 * a plain-text body
 *
 * The input is the text.  Checked: no crash or sanitizer report, at most
 * the cap of blocks, blocks in order inside the text and apart, each
 * name non-empty and terminated, and each decoded block at most 3/4 of
 * its text (the decoder's allocation bound).
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../connectors/folder_uu.c"
#include "fuzz.h"

#define FUZZ_UU_MAX	16

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct folder_uu_block b[FUZZ_UU_MAX];
	const char *t = (const char *)data;
	unsigned char *out;
	size_t n, i, len, prev = 0;
	unsigned int bad;
	char name[64];
	int more;

	n = folder_uu_find(t, size, b, FUZZ_UU_MAX, &more);
	if (n > FUZZ_UU_MAX)
		abort();
	for (i = 0; i < n; i++) {
		if (b[i].start < prev || b[i].data <= b[i].start ||
		    b[i].end <= b[i].data || b[i].end > size ||
		    b[i].name[0] == '\0' ||
		    memchr(b[i].name, '\0', sizeof(b[i].name)) == NULL)
			abort();
		prev = b[i].end;
		if (folder_uu_decode(t, &b[i], &out, &len, &bad) == -1)
			continue;
		if (len > (b[i].end - b[i].data) * 3 / 4)
			abort();
		free(out);
	}
	(void)folder_uu_name(t, size, name, sizeof(name));
	return 0;
}
