/*
 * oneoff.c - parse one-off destinations out of the local part (oneoff.h)
 *
 * The local part is unquoted first (RFC 5321 quoted-string: a backslash
 * escapes the next character), then split at '^' into the destination and
 * its option flags, and the destination at '/' into name, company and
 * target.  Every field is bounded; anything that does not fit is an error,
 * never truncated silently.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "oneoff.h"

#define ONEOFF_LOCAL_MAX	256

/* oneoff_seterr - fill err and return -1 */
static int
oneoff_seterr(char *err, size_t errlen, const char *why)
{
	if (errlen > 0)
		snprintf(err, errlen, "%s", why);
	return -1;
}

/* oneoff_type_name - the name of a destination type */
const char *
oneoff_type_name(enum oneoff_type t)
{
	switch (t) {
	case ONEOFF_FAX:	return "fax";
	case ONEOFF_DIRECTIVE:	return "directive";
	case ONEOFF_DID:	return "did";
	default:		return "email";
	}
}

/* oneoff_type_from_name - the type of a name, or -1 */
int
oneoff_type_from_name(const char *s)
{
	static const enum oneoff_type all[] = { ONEOFF_EMAIL, ONEOFF_FAX,
	    ONEOFF_DIRECTIVE, ONEOFF_DID };
	size_t i;

	for (i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		if (strcasecmp(s, oneoff_type_name(all[i])) == 0)
			return (int)all[i];
	return -1;
}

/* oneoff_default_parse - "auto", "fax" or "email" */
int
oneoff_default_parse(const char *s, enum oneoff_default *def)
{
	if (strcmp(s, "auto") == 0)
		*def = ONEOFF_DEFAULT_AUTO;
	else if (strcmp(s, "fax") == 0)
		*def = ONEOFF_DEFAULT_FAX;
	else if (strcmp(s, "email") == 0)
		*def = ONEOFF_DEFAULT_EMAIL;
	else
		return -1;
	return 0;
}

/*
 * oneoff_number - digits and an optional leading '+'; with separators,
 * spaces, '(', ')', '-' and '.' are allowed and dropped
 */
int
oneoff_number(const char *s, size_t len, char *out, size_t outlen,
    int separators)
{
	size_t i, n = 0, digits = 0;

	if (outlen < 2)
		return -1;
	for (i = 0; i < len; i++) {
		if (isdigit((unsigned char)s[i])) {
			if (n + 1 >= outlen || ++digits > ONEOFF_NUMBER_MAX)
				return -1;
			out[n++] = s[i];
		} else if (s[i] == '+' && digits == 0 && n == 0) {
			out[n++] = '+';
		} else if (!separators || strchr(" ()-.", s[i]) == NULL)
			return -1;
	}
	out[n] = '\0';
	return digits > 0 ? 0 : -1;
}

/* oneoff_unquote - the local part of addr, unquoted, into buf */
static int
oneoff_unquote(const char *addr, char *buf, size_t buflen)
{
	const char *at = strrchr(addr, '@');
	size_t len = at ? (size_t)(at - addr) : strlen(addr), i, n = 0;

	if (len == 0)
		return -1;
	if (addr[0] != '"') {
		if (len >= buflen)
			return -1;
		memcpy(buf, addr, len);
		buf[len] = '\0';
		return 0;
	}
	if (len < 2 || addr[len - 1] != '"')
		return -1;
	for (i = 1; i < len - 1; i++) {
		if (addr[i] == '\\' && i + 1 < len - 1)
			i++;
		if (n + 1 >= buflen)
			return -1;
		buf[n++] = addr[i];
	}
	buf[n] = '\0';
	return n > 0 ? 0 : -1;
}

/* oneoff_field - copy a name or company field, '_' becoming a space */
static int
oneoff_field(char *dst, size_t dstlen, const char *s, size_t len)
{
	size_t i;

	if (len == 0 || len >= dstlen)
		return -1;
	for (i = 0; i < len; i++) {
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return -1;
		dst[i] = s[i] == '_' ? ' ' : s[i];
	}
	dst[len] = '\0';
	return 0;
}

/* oneoff_flag_add - append a flag to the comma-separated list */
static int
oneoff_flag_add(struct oneoff_dest *d, const char *s, size_t len)
{
	size_t cur = strlen(d->flags), i;

	if (len == 0 || cur + len + 2 > sizeof(d->flags))
		return -1;
	if (cur > 0)
		d->flags[cur++] = ',';
	for (i = 0; i < len; i++) {
		if (s[i] == ',' || (unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return -1;
		d->flags[cur++] = (char)toupper((unsigned char)s[i]);
	}
	d->flags[cur] = '\0';
	return 0;
}

/* oneoff_flag - one "^FLAG" or "^KEY=value" option */
static int
oneoff_flag(struct oneoff_dest *d, const char *s, size_t len, char *err,
    size_t errlen)
{
	if (len > 5 && strncasecmp(s, "NAME=", 5) == 0) {
		if (oneoff_field(d->name, sizeof(d->name), s + 5, len - 5) == -1)
			return oneoff_seterr(err, errlen, "bad NAME= option");
	} else if (len > 8 && strncasecmp(s, "COMPANY=", 8) == 0) {
		if (oneoff_field(d->company, sizeof(d->company), s + 8,
		    len - 8) == -1)
			return oneoff_seterr(err, errlen, "bad COMPANY= option");
	} else if (len >= 4 && strncasecmp(s, "FAX=", 4) == 0) {
		if (oneoff_number(s + 4, len - 4, d->number, sizeof(d->number),
		    1) == -1)
			return oneoff_seterr(err, errlen, "bad fax number");
		d->type = ONEOFF_FAX;
	} else if (oneoff_flag_add(d, s, len) == -1)
		return oneoff_seterr(err, errlen, "bad or too many option flags");
	return 0;
}

/* oneoff_target - the last '/' field: FAX=, DID=, DTMF=, a number, or none */
static int
oneoff_target(struct oneoff_dest *d, const char *s, size_t len,
    enum oneoff_default def, char *err, size_t errlen)
{
	if (len >= 4 && strncasecmp(s, "FAX=", 4) == 0) {
		if (oneoff_number(s + 4, len - 4, d->number,
		    sizeof(d->number), 1) == -1)
			return oneoff_seterr(err, errlen, "bad fax number");
		d->type = ONEOFF_FAX;
		return 0;
	}
	if ((len >= 4 && strncasecmp(s, "DID=", 4) == 0) ||
	    (len >= 5 && strncasecmp(s, "DTMF=", 5) == 0)) {
		size_t skip = s[1] == 'I' || s[1] == 'i' ? 4 : 5;

		if (oneoff_number(s + skip, len - skip, d->number,
		    sizeof(d->number), 0) == -1 || d->number[0] == '+')
			return oneoff_seterr(err, errlen, "bad DID/DTMF digits");
		d->type = ONEOFF_DID;
		return 0;
	}
	if (def != ONEOFF_DEFAULT_EMAIL && oneoff_number(s, len, d->number,
	    sizeof(d->number), def == ONEOFF_DEFAULT_FAX) == 0) {
		d->type = ONEOFF_FAX;
		return 0;
	}
	d->number[0] = '\0';
	return 1;	/* not a number */
}

/* oneoff_fields - "name/company/target" or "name/target" or "target" */
static int
oneoff_fields(struct oneoff_dest *d, const char *s, size_t len,
    enum oneoff_default def, char *err, size_t errlen)
{
	const char *f[3];
	size_t flen[3], n = 0, i;
	const char *p = s, *end = s + len, *slash;
	int r;

	for (;;) {
		slash = memchr(p, '/', (size_t)(end - p));
		if (n == 3)
			return oneoff_seterr(err, errlen, "too many '/' fields");
		f[n] = p;
		flen[n++] = slash ? (size_t)(slash - p) : (size_t)(end - p);
		if (slash == NULL)
			break;
		p = slash + 1;
	}
	for (i = 0; i < n; i++)
		if (flen[i] == 0)
			return oneoff_seterr(err, errlen, "empty '/' field");
	r = oneoff_target(d, f[n - 1], flen[n - 1], def, err, errlen);
	if (r == -1)
		return -1;
	if (n == 1)
		return r;
	if (r == 1)
		return oneoff_seterr(err, errlen,
		    "name and company fields need a FAX= number");
	if (oneoff_field(d->name, sizeof(d->name), f[0], flen[0]) == -1 ||
	    (n == 3 && oneoff_field(d->company, sizeof(d->company), f[1],
	    flen[1]) == -1))
		return oneoff_seterr(err, errlen, "bad name or company field");
	return 0;
}

/* oneoff_parse - the destination named by a recipient address */
int
oneoff_parse(const char *addr, int gateway, enum oneoff_default def,
    const char *prefix, struct oneoff_dest *d, char *err, size_t errlen)
{
	char local[ONEOFF_LOCAL_MAX];
	const char *caret, *p;
	size_t plen = prefix ? strlen(prefix) : 0, dlen;
	int r;

	memset(d, 0, sizeof(*d));
	if (errlen > 0)
		err[0] = '\0';
	if (!gateway)
		return 0;
	if (oneoff_unquote(addr, local, sizeof(local)) == -1)
		return oneoff_seterr(err, errlen, "bad local part");
	if (plen > 0 && strlen(local) > plen &&
	    strncasecmp(local, prefix, plen) == 0 &&
	    strpbrk(local + plen, "^/=") == NULL) {
		if (strlen(local + plen) >= sizeof(d->id))
			return oneoff_seterr(err, errlen, "directive ID too long");
		snprintf(d->id, sizeof(d->id), "%s", local + plen);
		d->type = ONEOFF_DIRECTIVE;
		return 0;
	}
	caret = strchr(local, '^');
	dlen = caret ? (size_t)(caret - local) : strlen(local);
	if ((r = oneoff_fields(d, local, dlen, def, err, errlen)) == -1)
		return -1;
	for (p = caret; p != NULL; p = caret) {
		p++;
		caret = strchr(p, '^');
		dlen = caret ? (size_t)(caret - p) : strlen(p);
		if (dlen == 0)
			return oneoff_seterr(err, errlen, "empty '^' option");
		if (oneoff_flag(d, p, dlen, err, errlen) == -1)
			return -1;
	}
	if (d->type == ONEOFF_EMAIL && (d->name[0] || d->company[0] ||
	    d->flags[0]))
		return oneoff_seterr(err, errlen,
		    "options need a fax number destination");
	return 0;
}
