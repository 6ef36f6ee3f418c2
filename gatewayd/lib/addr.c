/*
 * addr.c - RFC 5321 mailbox and path syntax (see addr.h)
 *
 * The grammar is RFC 5321 section 4.1.2 without SMTPUTF8: dot-atom or
 * quoted-string local part, domain or address literal.  Everything is
 * checked byte by byte against the end pointer, so the input needs no NUL.
 */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "addr.h"

/* addr_atext - RFC 5322 atext: letters, digits and !#$%&'*+-/=?^_`{|}~ */
static int
addr_atext(int c, int utf8)
{
	if (c >= 0x80)
		return utf8;		/* RFC 6531 UTF8-non-ascii */
	if (c <= 0x20)
		return 0;
	if (isalnum(c))
		return 1;
	return strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL;
}

/* addr_ldh - letter, digit or hyphen (domain labels); U-labels with utf8 */
static int
addr_ldh(int c, int utf8)
{
	return (c < 0x80 && isalnum(c)) || c == '-' || (c >= 0x80 && utf8);
}

/* addr_utf8_valid - well-formed UTF-8 (no overlongs, no surrogates) */
int
addr_utf8_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + len;

	while (p < end) {
		unsigned char c = *p;
		size_t n, i;
		unsigned long cp;

		if (c < 0x80) {
			p++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) { n = 1; cp = c & 0x1f; }
		else if (c >= 0xe0 && c <= 0xef) { n = 2; cp = c & 0x0f; }
		else if (c >= 0xf0 && c <= 0xf4) { n = 3; cp = c & 0x07; }
		else
			return 0;
		if ((size_t)(end - p) <= n)
			return 0;
		for (i = 1; i <= n; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (p[i] & 0x3f);
		}
		if ((n == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
		    (n == 3 && (cp < 0x10000 || cp > 0x10ffff)))
			return 0;
		p += n + 1;
	}
	return 1;
}

/* addr_fail - set the reason and return the status */
static int
addr_fail(const char **why, const char *reason, int status)
{
	if (why != NULL)
		*why = reason;
	return status;
}

/* addr_scan_quoted - quoted-string local part; *pp is at the opening quote */
static int
addr_scan_quoted(const char **pp, const char *end, const char **why, int utf8)
{
	const char *p = *pp + 1;

	while (p < end && *p != '"') {
		unsigned char c = (unsigned char)*p;

		if (c == '\\') {
			if (p + 1 >= end)
				break;
			c = (unsigned char)p[1];
			if (c < 32 || c > 126)
				return addr_fail(why, "bad quoted pair in local part",
				    ADDR_ELOCAL);
			p += 2;
			continue;
		}
		if (c < 32 || (c > 126 && !(utf8 && c >= 0x80)))
			return addr_fail(why, "bad character in quoted local part",
			    ADDR_ELOCAL);
		p++;
	}
	if (p >= end)
		return addr_fail(why, "unterminated quoted local part", ADDR_ESYNTAX);
	if (p == *pp + 1)
		return addr_fail(why, "empty local part", ADDR_ELOCAL);
	*pp = p + 1;
	return ADDR_OK;
}

/* addr_scan_dotatom - dot-atom local part: atoms separated by single dots */
static int
addr_scan_dotatom(const char **pp, const char *end, const char **why, int utf8)
{
	const char *p = *pp;

	for (;;) {
		const char *atom = p;

		while (p < end && addr_atext((unsigned char)*p, utf8))
			p++;
		if (p == atom)
			return addr_fail(why, p == *pp ? "empty local part" :
			    "bad dots in local part", ADDR_ELOCAL);
		if (p < end && *p == '.') {
			p++;
			continue;
		}
		break;
	}
	if (p < end && *p != '@' && *p != '>')
		return addr_fail(why, "bad character in local part", ADDR_ELOCAL);
	*pp = p;
	return ADDR_OK;
}

/* addr_scan_literal - [IPv4] or [IPv6:...]; *pp is at '[' */
static int
addr_scan_literal(const char **pp, const char *end, const char **why)
{
	const char *p = *pp + 1, *close;
	unsigned char bin[16];
	char text[64];
	size_t n;
	int af = AF_INET;

	close = memchr(p, ']', (size_t)(end - p));
	if (close == NULL)
		return addr_fail(why, "unterminated address literal", ADDR_EDOMAIN);
	if ((size_t)(close - p) > 5 && strncasecmp(p, "IPv6:", 5) == 0) {
		af = AF_INET6;
		p += 5;
	}
	n = (size_t)(close - p);
	if (n == 0 || n >= sizeof(text))
		return addr_fail(why, "bad address literal", ADDR_EDOMAIN);
	memcpy(text, p, n);
	text[n] = '\0';
	if (memchr(text, '\0', n) != NULL || inet_pton(af, text, bin) != 1)
		return addr_fail(why, "bad address literal", ADDR_EDOMAIN);
	*pp = close + 1;
	return ADDR_OK;
}

/* addr_scan_domain - dot-separated LDH labels or an address literal */
static int
addr_scan_domain(const char **pp, const char *end, const char **why, int utf8)
{
	const char *p = *pp, *start = *pp;

	if (p < end && *p == '[') {
		int r = addr_scan_literal(pp, end, why);

		if (r == ADDR_OK && (size_t)(*pp - start) > ADDR_DOMAIN_MAX)
			return addr_fail(why, "domain too long", ADDR_ETOOLONG);
		return r;
	}
	for (;;) {
		const char *label = p;

		while (p < end && addr_ldh((unsigned char)*p, utf8))
			p++;
		if (p == label)
			return addr_fail(why, p == start ? "missing domain" :
			    "empty label in domain", ADDR_EDOMAIN);
		if (*label == '-' || p[-1] == '-')
			return addr_fail(why, "label starts or ends with a hyphen",
			    ADDR_EDOMAIN);
		if ((size_t)(p - label) > ADDR_LABEL_MAX)
			return addr_fail(why, "domain label too long", ADDR_ETOOLONG);
		if (p < end && *p == '.') {
			p++;
			continue;
		}
		break;
	}
	if ((size_t)(p - start) > ADDR_DOMAIN_MAX)
		return addr_fail(why, "domain too long", ADDR_ETOOLONG);
	*pp = p;
	return ADDR_OK;
}

/* addr_scan_mailbox - local@domain (or bare postmaster) from p; sets *after */
static int
addr_scan_mailbox(const char *p, const char *end, const char **after,
    const char **why, int utf8)
{
	const char *start = p;
	int r;

	if (p >= end)
		return addr_fail(why, "empty address", ADDR_ESYNTAX);
	if (*p == '"')
		r = addr_scan_quoted(&p, end, why, utf8);
	else
		r = addr_scan_dotatom(&p, end, why, utf8);
	if (r != ADDR_OK)
		return r;
	if ((size_t)(p - start) > ADDR_LOCAL_MAX)
		return addr_fail(why, "local part too long", ADDR_ETOOLONG);
	if (p >= end || *p != '@') {
		if ((size_t)(p - start) == 10 &&
		    strncasecmp(start, "postmaster", 10) == 0) {
			*after = p;
			return ADDR_OK;
		}
		return addr_fail(why, "missing domain", ADDR_EDOMAIN);
	}
	p++;
	if ((r = addr_scan_domain(&p, end, why, utf8)) != ADDR_OK)
		return r;
	*after = p;
	return ADDR_OK;
}

/* addr_parse_path - parse "<mailbox>" or "<>" (see addr.h) */
int
addr_parse_path(const char *s, size_t len, char *out, size_t outlen,
    const char **rest, const char **why)
{
	return addr_parse_path_utf8(s, len, out, outlen, rest, why, 0);
}

/* addr_parse_path_utf8 - addr_parse_path, RFC 6531 addresses when utf8 */
int
addr_parse_path_utf8(const char *s, size_t len, char *out, size_t outlen,
    const char **rest, const char **why, int utf8)
{
	const char *end = s + len, *p, *after;
	size_t n;
	int r;

	if (outlen > 0)
		out[0] = '\0';
	if (len == 0 || s[0] != '<')
		return addr_fail(why, "address must be in angle brackets",
		    ADDR_ESYNTAX);
	p = s + 1;
	if (p < end && *p == '@')
		return addr_fail(why, "source routes are not accepted", ADDR_EROUTE);
	if (p < end && *p == '>') {
		after = p;
	} else if ((r = addr_scan_mailbox(p, end, &after, why, utf8)) != ADDR_OK) {
		return r;
	}
	if (after >= end || *after != '>')
		return addr_fail(why, "bad character in address", ADDR_ESYNTAX);
	n = (size_t)(after - p);
	if (utf8 && !addr_utf8_valid(p, n))
		return addr_fail(why, "invalid UTF-8 in address", ADDR_ESYNTAX);
	if (n + 2 > ADDR_PATH_MAX)
		return addr_fail(why, "address too long", ADDR_ETOOLONG);
	if (n >= outlen)
		return addr_fail(why, "address too long", ADDR_ETOOLONG);
	memcpy(out, p, n);
	out[n] = '\0';
	if (rest != NULL)
		*rest = after + 1;
	return ADDR_OK;
}

/* addr_valid - is a whole string (no brackets) one valid mailbox? */
int
addr_valid(const char *addr, const char **why)
{
	const char *end = addr + strlen(addr), *after;
	int r;

	if ((r = addr_scan_mailbox(addr, end, &after, why, 0)) != ADDR_OK)
		return r;
	if (after != end)
		return addr_fail(why, "bad character in address", ADDR_ESYNTAX);
	if ((size_t)(end - addr) + 2 > ADDR_PATH_MAX)
		return addr_fail(why, "address too long", ADDR_ETOOLONG);
	return ADDR_OK;
}

/* addr_domain - the part after the last '@' (domains never contain one) */
const char *
addr_domain(const char *addr)
{
	const char *at = strrchr(addr, '@');

	return at != NULL ? at + 1 : "";
}

/* addr_local_len - bytes before the domain's '@' */
size_t
addr_local_len(const char *addr)
{
	const char *at = strrchr(addr, '@');

	return at != NULL ? (size_t)(at - addr) : strlen(addr);
}

/*
 * addr_hidden - could the local part route elsewhere (%, !, quoted @)?
 * A quoted local part without them is a one-off form ("FAX=+1 (603)
 * 555-0100"@gw), not a relay form.
 */
int
addr_hidden(const char *addr)
{
	size_t i, n = addr_local_len(addr);

	for (i = 0; i < n; i++)
		if (addr[i] == '%' || addr[i] == '!' || addr[i] == '@')
			return 1;
	return 0;
}

/* addr_is_postmaster - the bare RFC 5321 postmaster address */
int
addr_is_postmaster(const char *addr)
{
	return strcasecmp(addr, "postmaster") == 0;
}

/* addr_status_name - name of an addr_status value */
const char *
addr_status_name(int status)
{
	switch (status) {
	case ADDR_OK:		return "ok";
	case ADDR_ESYNTAX:	return "syntax";
	case ADDR_ELOCAL:	return "local-part";
	case ADDR_EDOMAIN:	return "domain";
	case ADDR_ETOOLONG:	return "too-long";
	case ADDR_EROUTE:	return "source-route";
	}
	return "unknown";
}

/* addr_is_8bit - any byte >= 0x80 (an SMTPUTF8 address)? */
int
addr_is_8bit(const char *addr)
{
	for (; *addr != '\0'; addr++)
		if ((unsigned char)*addr >= 0x80)
			return 1;
	return 0;
}
