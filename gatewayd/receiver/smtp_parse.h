/*
 * smtp_parse.h - the SMTP command line parser of the receiver
 *
 * smtp_parse() takes one command line without its CRLF and fills a struct
 * smtp_cmd: the verb, its argument, and for MAIL and RCPT the path and
 * the ESMTP parameters.  On a syntax error it returns -1 and cmd->reply
 * holds the exact reply line to send (no CRLF), e.g.
 * "501 5.5.4 Syntax: MAIL FROM:<address>".  It allocates nothing: the
 * argument points into the line, the path is copied into cmd.
 *
 * Accepted like Postfix: verbs in any case, one or more spaces after the
 * verb, a space after "FROM:"/"TO:", a path without angle brackets
 * ("MAIL FROM:user@host", as device firmware sends it), and a source route
 * in MAIL FROM (RFC 5321 4.1.2: accepted, the route ignored).  Refused:
 * NUL bytes, junk after the path, unknown or repeated parameters (555),
 * source routes in RCPT TO, a non-ASCII address outside an SMTPUTF8
 * transaction (553 5.6.7).  With SMTP_PARSE_STRICT (smtp.strict_rfc5321)
 * paths without brackets and source routes are refused.
 */
#ifndef GW_SMTP_PARSE_H
#define GW_SMTP_PARSE_H

#include <stddef.h>

#include "addr.h"

#define SMTP_REPLY_MAX	160
#define SMTP_ENVID_MAX	100		/* RFC 3461: ENVID, decoded */
#define SMTP_ORCPT_MAX	500		/* RFC 3461: ORCPT, decoded */
#define SMTP_NOTIFY_MAX	32		/* "SUCCESS,FAILURE,DELAY" */

/* smtp_parse_ext() flags: which extensions the session offers */
#define SMTP_EXT_SMTPUTF8	0x01	/* MAIL ... SMTPUTF8 */
#define SMTP_EXT_DSN		0x02	/* RET, ENVID, NOTIFY, ORCPT */
#define SMTP_EXT_UTF8_ADDR	0x04	/* RCPT inside an SMTPUTF8 transaction */
#define SMTP_PARSE_STRICT	0x08	/* RFC 5321 paths only: <...>, no route */

enum smtp_ret { SMTP_RET_NONE = 0, SMTP_RET_FULL, SMTP_RET_HDRS };

enum smtp_verb {
	SMTP_UNKNOWN = 0,
	SMTP_HELO,
	SMTP_EHLO,
	SMTP_MAIL,
	SMTP_RCPT,
	SMTP_DATA,
	SMTP_RSET,
	SMTP_NOOP,
	SMTP_QUIT,
	SMTP_VRFY,
	SMTP_HELP,
	SMTP_EXPN,
	SMTP_STARTTLS,
	SMTP_AUTH,
	SMTP_BDAT,
	SMTP_TURN			/* RFC 821; recognised only to refuse it */
};

enum smtp_body {
	SMTP_BODY_DEFAULT = 0,		/* no BODY= parameter */
	SMTP_BODY_7BIT,
	SMTP_BODY_8BITMIME
};

struct smtp_cmd {
	enum smtp_verb verb;
	const char *arg;		/* into the line: text after the verb, spaces trimmed */
	size_t arglen;			/* 0 when there is no argument */
	/* MAIL and RCPT */
	char path[ADDR_BUFLEN];		/* address without brackets; "" for <> */
	int addr_status;		/* ADDR_* of the path when it was refused */
	/* MAIL parameters */
	long long size;			/* SIZE=, -1 when absent */
	enum smtp_body body;
	int smtputf8;			/* SMTPUTF8 given */
	enum smtp_ret ret;		/* RET= */
	char envid[SMTP_ENVID_MAX + 1];	/* ENVID=, xtext-decoded, "" when absent */
	/* RCPT parameters (DSN) */
	char notify[SMTP_NOTIFY_MAX];	/* NOTIFY= upper case, "" when absent */
	char orcpt[SMTP_ORCPT_MAX + 1];	/* ORCPT=, xtext-decoded, "" when absent */
	/* BDAT */
	long long chunk;		/* chunk size, -1 when not BDAT */
	int last;			/* BDAT ... LAST */
	unsigned int flags;		/* the SMTP_EXT_* flags it was parsed with */
	char reply[SMTP_REPLY_MAX];	/* on error: the reply line */
};

/* Parse one line (len bytes, no CRLF).  0 ok, -1 error with cmd->reply set. */
int smtp_parse(const char *line, size_t len, struct smtp_cmd *cmd);
/* The same with extensions (SMTP_EXT_* flags) accepted. */
int smtp_parse_ext(const char *line, size_t len, unsigned int flags,
    struct smtp_cmd *cmd);
/*
 * Decode RFC 3461 xtext ("+HH" escapes, upper-case hex) into out
 * (NUL-terminated).  Returns the decoded length or -1 when the syntax is
 * bad or out (outlen bytes) is too small.
 */
int smtp_xtext_decode(const char *in, size_t len, char *out, size_t outlen);
/*
 * Is the line an HTTP request ("GET / HTTP/1.1", POST, CONNECT, HEAD,
 * PUT...)?  Such a line on an SMTP port is a cross-protocol attack or a
 * confused client: the session is closed at once, as Postfix does.
 */
int smtp_is_http(const char *line, size_t len);
/* The verb as text ("MAIL"), "UNKNOWN" for SMTP_UNKNOWN. */
const char *smtp_verb_name(enum smtp_verb);

#endif
