/*
 * fuzz_cfgval.c - fuzz target: the configuration value parsers (cfgval.h)
 *
 * The input is one value (cut at its first NUL).  Every parser runs on it.
 * Checked: no crash or sanitizer report; a count parsed prints back as the
 * same digits (without leading zeros); a size or a duration is a count
 * times its unit; a mode is at most 0777; a host:port's host is a prefix
 * of the input's characters, shorter than its buffer, and its port is 0
 * or 1 to 65535; a boolean is 0 or 1.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfgval.h"
#include "fuzz.h"

/* fuzz_numbers - count, size and duration agree with each other */
static void
fuzz_numbers(const char *s)
{
	unsigned long long c, v;
	char back[32];
	const char *d = s;

	if (cfgval_count(s, &c) == 0) {
		while (d[0] == '0' && d[1] != '\0')
			d++;
		snprintf(back, sizeof(back), "%llu", c);
		if (strcmp(back, d) != 0)
			abort();
		if (cfgval_size(s, &v) != 0 || v != c ||
		    cfgval_duration(s, &v) != 0 || v != c)
			abort();
	}
	if (cfgval_size(s, &v) == 0 && cfgval_count(s, &c) != 0 &&
	    (c = strlen(s)) > 0 && strchr("kKmMgGtT", s[c - 1]) == NULL)
		abort();
	if (cfgval_duration(s, &v) == 0 && cfgval_count(s, &c) != 0 &&
	    (c = strlen(s)) > 0 && strchr("smhd", s[c - 1]) == NULL)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1), host[64];
	unsigned int port = 7, mode;
	int b = 7;

	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	fuzz_numbers(s);
	if (cfgval_bool(s, &b) == 0 && b != 0 && b != 1)
		abort();
	if (cfgval_mode(s, &mode) == 0 && mode > 0777)
		abort();
	if (cfgval_hostport(s, host, sizeof(host), &port) == 0 &&
	    (strlen(host) == 0 || strlen(host) >= sizeof(host) ||
	    strstr(s, host) == NULL || port > 65535))
		abort();
	free(s);
	return 0;
}
