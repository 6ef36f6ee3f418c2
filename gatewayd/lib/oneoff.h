/*
 * oneoff.h - one-off address formats in the local part of a recipient
 *
 * At a gateway domain the local part of a recipient may name a
 * destination by itself:
 *
 *   6038901957@gw                          a fax number (default type auto)
 *   FAX=16038901957@gw                     a fax number
 *   "FAX=+1 (603) 890-1957"@gw             spaces and parens need quoting
 *   Jane_Doe/Acme_Inc/FAX=16038901957@gw   name / company / number ('_' = space)
 *   16038901957^COMPANY=Acme^NOCOVER@gw    option flags after '^'
 *   DID=5551234@gw, DTMF=1234@gw           inbound fax: dialled digits
 *   ed-K7Q2M9XA@gw                         an embedded directive ID
 *
 * Numbers are normalised to digits with an optional leading '+'.  The
 * option flags NAME=, COMPANY= and FAX= set those fields; any other flag
 * (NOCOVER, PRIORITY=HIGH) is kept in "flags", comma-separated.  Anything
 * else is an e-mail address (or a keyword the rules route).  Addresses at
 * other domains are always e-mail.  The parsed fields become the
 * recipient parameters type, fax, name, company, flags, directive (see
 * oneoff_params) that travel with the job to the connector.
 */
#ifndef GW_ONEOFF_H
#define GW_ONEOFF_H

#include <stddef.h>

#define ONEOFF_NUMBER_MAX	32	/* digits of a fax number or DID */
#define ONEOFF_FIELD_MAX	128	/* name, company */
#define ONEOFF_FLAGS_MAX	256
#define ONEOFF_ID_MAX		64	/* directive ID */

enum oneoff_type {
	ONEOFF_EMAIL = 0,
	ONEOFF_FAX,
	ONEOFF_DIRECTIVE,
	ONEOFF_DID
};

/* What a bare local part is: ONEOFF_DEFAULT_AUTO digits = fax, else e-mail. */
enum oneoff_default {
	ONEOFF_DEFAULT_AUTO = 0,	/* only digits (optional '+') = fax */
	ONEOFF_DEFAULT_FAX,		/* digits with separators too */
	ONEOFF_DEFAULT_EMAIL		/* bare numbers are e-mail */
};

struct oneoff_dest {
	enum oneoff_type type;
	char number[ONEOFF_NUMBER_MAX + 2];	/* fax or DID digits, '+' kept */
	char name[ONEOFF_FIELD_MAX];
	char company[ONEOFF_FIELD_MAX];
	char flags[ONEOFF_FLAGS_MAX];
	char id[ONEOFF_ID_MAX];			/* directive ID */
};

/*
 * Parse the recipient addr.  gateway says whether its domain is a gateway
 * domain (else the result is ONEOFF_EMAIL and nothing is parsed); prefix
 * is the directive address prefix ("ed-").  Returns 0, or -1 for a
 * malformed one-off address with a short reason in err.
 */
int oneoff_parse(const char *addr, int gateway, enum oneoff_default def,
    const char *prefix, struct oneoff_dest *d, char *err, size_t errlen);
/* Parse "auto", "fax", "email"; -1 if none of them. */
int oneoff_default_parse(const char *s, enum oneoff_default *def);
/* The name of a type ("email", "fax", "directive", "did"). */
const char *oneoff_type_name(enum oneoff_type);
/* The type of that name, or -1. */
int oneoff_type_from_name(const char *);
/* Normalise a phone number into out (digits, optional leading '+'); 0 or -1. */
int oneoff_number(const char *s, size_t len, char *out, size_t outlen,
    int separators);

#endif
