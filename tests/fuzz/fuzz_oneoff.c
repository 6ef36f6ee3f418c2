/*
 * fuzz_oneoff.c - fuzz target: one-off address formats (fax numbers,
 * name/company/number, option flags, directive IDs)
 *
 * The first byte picks the gateway flag and the default for bare numbers;
 * the rest is the recipient address.  A parsed result must be
 * NUL-terminated in every field and name a known type; a refused one must
 * say why.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "oneoff.h"
#include "fuzz.h"

/* fuzz_terminated - is the field NUL-terminated inside its array? */
#define fuzz_terminated(a)	(strnlen((a), sizeof(a)) < sizeof(a))

/* LLVMFuzzerTestOneInput - parse one recipient */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct oneoff_dest d;
	char err[256], *addr, num[64];
	int rc;

	if (size < 1)
		return 0;
	if ((addr = malloc(size)) == NULL)
		return 0;
	memcpy(addr, data + 1, size - 1);
	addr[size - 1] = '\0';
	memset(&d, 0, sizeof(d));
	err[0] = '\0';
	rc = oneoff_parse(addr, data[0] & 1, (enum oneoff_default)((data[0] >> 1) % 3),
	    "ed-", &d, err, sizeof(err));
	if (rc == 0) {
		if (!fuzz_terminated(d.number) || !fuzz_terminated(d.name) ||
		    !fuzz_terminated(d.company) || !fuzz_terminated(d.flags) ||
		    !fuzz_terminated(d.id) ||
		    oneoff_type_from_name(oneoff_type_name(d.type)) != (int)d.type)
			abort();
	} else if (rc != -1 || err[0] == '\0')
		abort();
	if (oneoff_number(addr, strlen(addr), num, sizeof(num), data[0] & 8) == 0 &&
	    !fuzz_terminated(num))
		abort();
	free(addr);
	return 0;
}
