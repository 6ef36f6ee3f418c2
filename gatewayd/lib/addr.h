/*
 * addr.h - RFC 5321 mailbox and path syntax
 *
 * addr_parse_path() reads one "<local@domain>" path from an SMTP command
 * argument.  It accepts dot-atom and quoted-string local parts, domain
 * names made of letter/digit/hyphen labels and address literals
 * ([192.0.2.1], [IPv6:2001:db8::1]).  It refuses source routes
 * (<@a,@b:user@d>), 8-bit bytes, and parts over the RFC 5321 size limits.
 * The address comes out without the angle brackets and as written (case is
 * kept; compare domains case-insensitively).  The null path "<>" gives an
 * empty address; whether it is allowed is the caller's business.  The bare
 * "<postmaster>" (RFC 5321 4.5.1) is accepted and has no domain.
 *
 * addr_hidden() tells whether a local part could hide another address
 * (user%ext, ext!user, "user@ext"): the receiver refuses those at a local
 * domain from clients that may not relay, so they cannot open a relay.
 */
#ifndef GW_ADDR_H
#define GW_ADDR_H

#include <stddef.h>

#define ADDR_LOCAL_MAX	64	/* octets in a local part */
#define ADDR_DOMAIN_MAX	255	/* octets in a domain */
#define ADDR_LABEL_MAX	63	/* octets in a domain label */
#define ADDR_PATH_MAX	256	/* octets in a path, brackets included */
/* Enough for any address addr_parse_path() returns, plus the NUL. */
#define ADDR_BUFLEN	(ADDR_PATH_MAX - 2 + 1)

/* Reason classes of addr_parse_path(). */
enum addr_status {
	ADDR_OK = 0,
	ADDR_ESYNTAX,		/* not <...>, junk, bad character */
	ADDR_ELOCAL,		/* bad local part */
	ADDR_EDOMAIN,		/* bad domain or address literal */
	ADDR_ETOOLONG,		/* local part, label, domain or path too long */
	ADDR_EROUTE		/* source route: refused */
};

/*
 * Parse a path starting at s[0] (which must be '<'), at most len bytes.
 * On ADDR_OK the address is in out (NUL-terminated, "" for "<>") and
 * *rest points just past the '>'.  On failure *why (if not NULL) is a
 * short English reason.  outlen should be at least ADDR_BUFLEN.
 */
int addr_parse_path(const char *s, size_t len, char *out, size_t outlen,
    const char **rest, const char **why);
/*
 * The same, also accepting RFC 6531 (SMTPUTF8) addresses when utf8 is set:
 * UTF-8 in local parts and domain labels, checked to be well-formed.
 */
int addr_parse_path_utf8(const char *s, size_t len, char *out, size_t outlen,
    const char **rest, const char **why, int utf8);
/* Is s (len bytes) well-formed UTF-8? */
int addr_utf8_valid(const char *s, size_t len);
/* Has the address a byte outside US-ASCII? */
int addr_is_8bit(const char *addr);
/* Check a whole address without brackets ("user@example.com"). */
int addr_valid(const char *addr, const char **why);
/* The domain of an address (after its last '@'), "" if none. */
const char *addr_domain(const char *addr);
/* Length of the local part (bytes before the domain's '@'). */
size_t addr_local_len(const char *addr);
/* Does the local part hide another address ('%', '!', '@' or quoted)? */
int addr_hidden(const char *addr);
/* Is the address the bare "postmaster" (any case, no domain)? */
int addr_is_postmaster(const char *addr);
/* Short name of a status, for messages and tests. */
const char *addr_status_name(int status);

#endif
