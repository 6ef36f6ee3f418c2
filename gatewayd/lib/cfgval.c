/*
 * cfgval.c - the parsers of configuration values (cfgval.h)
 *
 * One number reader with a table of suffixes per kind; the host:port
 * split the smtp connector used for its "hosts", now everyone's.  The
 * explanations name the syntax the same way everywhere.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "cfgval.h"

#define CFGVAL_HOSTCHARS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ" \
	"0123456789.-_:"

static const unsigned long long cfgval_size_mult[] = {
	1024, 1024, 1024 * 1024, 1024 * 1024, 1024 * 1024 * 1024,
	1024 * 1024 * 1024, 1024ULL * 1024 * 1024 * 1024,
	1024ULL * 1024 * 1024 * 1024
};
static const unsigned long long cfgval_time_mult[] = { 1, 60, 3600, 86400 };

/* A unit a bound is shown in. */
struct cfgval_unit {
	unsigned long long n;
	const char *suffix;
};

/* cfgval_number - digits with an optional unit suffix, overflow-checked */
static int
cfgval_number(const char *s, const char *units, const unsigned long long *mult,
    unsigned long long *out)
{
	unsigned long long v = 0, m = 1;
	const char *u;

	if (s == NULL || *s < '0' || *s > '9')
		return -1;
	for (; *s >= '0' && *s <= '9'; s++) {
		if (v > (~0ULL - (unsigned long long)(*s - '0')) / 10)
			return -1;
		v = v * 10 + (unsigned long long)(*s - '0');
	}
	if (*s != '\0') {
		if (units == NULL || (u = strchr(units, *s)) == NULL ||
		    s[1] != '\0')
			return -1;
		m = mult[u - units];
	}
	if (v != 0 && m > ~0ULL / v)
		return -1;
	*out = v * m;
	return 0;
}

/* cfgval_bool - true/false, yes/no, on/off */
int
cfgval_bool(const char *s, int *out)
{
	static const char *const yes[] = { "true", "yes", "on" };
	static const char *const no[] = { "false", "no", "off" };
	size_t i;

	for (i = 0; s != NULL && i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = 1;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = 0;
			return 0;
		}
	}
	return -1;
}

/* cfgval_count - decimal digits */
int
cfgval_count(const char *s, unsigned long long *out)
{
	return cfgval_number(s, NULL, NULL, out);
}

/* cfgval_size - bytes, with K, M or G */
int
cfgval_size(const char *s, unsigned long long *out)
{
	return cfgval_number(s, "kKmMgGtT", cfgval_size_mult, out);
}

/* cfgval_duration - seconds, with s, m, h or d */
int
cfgval_duration(const char *s, unsigned long long *out)
{
	return cfgval_number(s, "smhd", cfgval_time_mult, out);
}

/* cfgval_hostport - "host", "host:port", "[v6]", "[v6]:port" or "v6" */
int
cfgval_hostport(const char *s, char *host, size_t hostlen,
    unsigned int *port)
{
	const char *colon, *end, *h = s;
	unsigned long long p = 0;
	size_t n;

	if (s == NULL)
		return -1;
	end = s + strlen(s);
	if (s[0] == '[') {
		if ((colon = strchr(s, ']')) == NULL)
			return -1;
		n = (size_t)(colon - s - 1);
		h = s + 1;
		colon = colon[1] == ':' ? colon + 1 : colon[1] ? NULL : end;
		if (colon == NULL)
			return -1;
	} else if ((colon = strchr(s, ':')) != NULL &&
	    strchr(colon + 1, ':') == NULL)
		n = (size_t)(colon - s);
	else {
		n = strlen(s);
		colon = end;
	}
	if (n == 0 || n >= hostlen || strspn(h, CFGVAL_HOSTCHARS) < n)
		return -1;
	if (*colon == ':' && (cfgval_count(colon + 1, &p) == -1 || p < 1 ||
	    p > 65535))
		return -1;
	memcpy(host, h, n);
	host[n] = '\0';
	*port = (unsigned int)p;
	return 0;
}

/* cfgval_mode - an octal file mode up to 0777 */
int
cfgval_mode(const char *s, unsigned int *out)
{
	unsigned int v = 0;
	size_t n;

	if (s == NULL || (n = strlen(s)) == 0 || n > 4 ||
	    strspn(s, "01234567") != n)
		return -1;
	for (; *s != '\0'; s++)
		v = v * 8 + (unsigned int)(*s - '0');
	if (v > 0777)
		return -1;
	*out = v;
	return 0;
}

/* cfgval_syntax - what a kind accepts */
const char *
cfgval_syntax(enum cfgval_kind k)
{
	switch (k) {
	case CFGVAL_BOOL:
		return "true, false, yes, no, on or off";
	case CFGVAL_COUNT:
		return "an integer";
	case CFGVAL_SIZE:
		return "an integer with an optional K, M, G or T suffix";
	case CFGVAL_DURATION:
		return "seconds, or an integer with an s, m, h or d suffix";
	case CFGVAL_HOSTPORT:
		return "a host name or address with an optional :port "
		    "([2001:db8::1]:25 for IPv6 with a port)";
	case CFGVAL_MODE:
		return "an octal mode such as 0640";
	}
	return "a value";
}

/* cfgval_fmt - v in the largest unit of its kind that divides it */
static void
cfgval_fmt(enum cfgval_kind k, unsigned long long v, char *buf, size_t len)
{
	static const struct cfgval_unit time[] = { { 86400, "d" },
	    { 3600, "h" }, { 60, "m" }, { 1, "s" } };
	static const struct cfgval_unit size[] = {
	    { 1024ULL * 1024 * 1024 * 1024, "T" }, { 1024 * 1024 * 1024, "G" },
	    { 1024 * 1024, "M" }, { 1024, "K" }, { 1, "" } };
	const struct cfgval_unit *u = k == CFGVAL_DURATION ? time : size;
	size_t i;

	if (k != CFGVAL_DURATION && k != CFGVAL_SIZE) {
		snprintf(buf, len, "%llu", v);
		return;
	}
	for (i = 0; u[i].n > 1 && (v == 0 || v % u[i].n != 0); i++)
		;
	snprintf(buf, len, "%llu%s", v / u[i].n, u[i].suffix);
}

/* cfgval_explain - what a key of that kind and range must be */
void
cfgval_explain(enum cfgval_kind k, unsigned long long lo,
    unsigned long long hi, char *buf, size_t len)
{
	char l[32], h[32];

	cfgval_fmt(k, lo, l, sizeof(l));
	cfgval_fmt(k, hi, h, sizeof(h));
	switch (k) {
	case CFGVAL_COUNT:
		snprintf(buf, len, "a number from %s to %s", l, h);
		break;
	case CFGVAL_SIZE:
		snprintf(buf, len, "a size from %s to %s (%s)", l, h,
		    cfgval_syntax(k));
		break;
	case CFGVAL_DURATION:
		snprintf(buf, len, "a time from %s to %s (%s)", l, h,
		    cfgval_syntax(k));
		break;
	case CFGVAL_BOOL:
		snprintf(buf, len, "true or false (%s)", cfgval_syntax(k));
		break;
	default:
		snprintf(buf, len, "%s", cfgval_syntax(k));
		break;
	}
}
