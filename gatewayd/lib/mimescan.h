/*
 * mimescan.h - the one MIME structure scanner: boundaries, nesting, parts
 *
 * A bounded, streaming walk over the MIME structure of a message, line by
 * line, for every place that follows multipart boundaries: msginfo.c (the
 * router's scan), the smtp connector's 8-bit converter and the folder
 * connector's bound before GMime parses (GMime stays where a full parse is
 * needed).  The caller cuts the message into lines, without their line
 * ends, and feeds each line, or each piece of a line too long for its
 * buffer; the scanner says what the line is (a header line, the empty line
 * that ends a header, a body line, a preamble or epilogue line, a
 * delimiter that opens a part, or one that closes a multipart) and keeps
 * the stack of open multiparts.  It reads each entity's Content-Type
 * itself (unfolded, at most MIMESCAN_FIELD octets).
 *
 * One syntax (RFC 2046 5.1.1): a delimiter is a whole line of "--", the
 * boundary, optionally "--" (the close delimiter), then only spaces or
 * tabs.  It is looked for in headers, bodies, preambles and epilogues,
 * innermost level first; a delimiter of an outer level closes the inner
 * ones.  A line that comes in pieces is never a delimiter.  A multipart
 * without a usable boundary (1 to MIMESCAN_BOUNDARY octets), or one nested
 * deeper than max_depth, is opaque: its body is one body.  The parts of a
 * multipart/digest default to message/rfc822.  With MIMESCAN_MESSAGES the
 * body of a message/rfc822 entity is scanned as a message (a header, then
 * its own structure); without it, it is a body.
 *
 * Limits: max_depth open multiparts (at most MIMESCAN_DEPTH), max_parts
 * parts (0: counted, not limited), max_messages attached messages opened.
 * The first limit passed is named in why; the scan goes on consistently,
 * so a caller may stop there or carry on.  No I/O, no allocation.
 */
#ifndef GW_MIMESCAN_H
#define GW_MIMESCAN_H

#include <stddef.h>
#include <sys/types.h>

#define MIMESCAN_DEPTH		100	/* open multiparts, at most */
#define MIMESCAN_BOUNDARY	200	/* RFC 2046 says 70 */
#define MIMESCAN_FIELD		8192	/* a Content-Type field, unfolded */
#define MIMESCAN_TOKEN		64	/* a type or subtype */

#define MIMESCAN_MESSAGES	0x01	/* open message/rfc822 bodies */

/* What a line is. */
enum mimescan_what {
	MIMESCAN_HEADER,	/* a line (or piece) of an entity's header */
	MIMESCAN_HEADER_END,	/* the empty line after it: see ct, multipart, message */
	MIMESCAN_BODY,		/* a line of a body (a leaf's, or an opaque one) */
	MIMESCAN_OUTSIDE,	/* a preamble or an epilogue line */
	MIMESCAN_OPEN,		/* a delimiter: a part of level `level` starts */
	MIMESCAN_CLOSE		/* a close delimiter: level `level` ends */
};

/* A Content-Type value, parsed. */
struct mimescan_ctype {
	char type[MIMESCAN_TOKEN];	/* lower case; "" when unreadable */
	char subtype[MIMESCAN_TOKEN];	/* lower case */
	char boundary[MIMESCAN_BOUNDARY + 1];	/* "" when none or unusable */
};

struct mimescan_level {
	char boundary[MIMESCAN_BOUNDARY + 1];
	size_t blen;
	int digest;			/* its parts default to message/rfc822 */
};

struct mimescan {
	/* settings (mimescan_init) */
	unsigned int max_depth, max_parts, max_messages;
	int flags;
	/* results */
	const char *why;		/* the first limit passed, or NULL */
	unsigned int depth, parts, messages;
	int level;			/* OPEN, CLOSE: the level, 0 outermost */
	int rfc822_default;		/* the current entity defaults to message/rfc822 */
	struct mimescan_ctype ct;	/* HEADER_END: the entity's type */
	int multipart;			/* HEADER_END: a level opened (preamble follows) */
	int message;			/* HEADER_END: an attached message's header follows */
	/* private */
	int state;
	struct mimescan_level lv[MIMESCAN_DEPTH];
	char field[MIMESCAN_FIELD];
	size_t fieldlen;
	int ct_seen, in_ct, field_over;
};

/* A scanner at the start of a message's header. */
void mimescan_init(struct mimescan *, unsigned int max_depth,
    unsigned int max_parts, unsigned int max_messages, int flags);
/*
 * One line without its line end, or one piece of it: start, the piece
 * begins the line; end, the line ends with it.  Says what it is.
 */
enum mimescan_what mimescan_line(struct mimescan *, const char *p, size_t n,
    int start, int end);

/* Parse a Content-Type value (after the colon); -1 when unreadable. */
int mimescan_ctype(const char *value, size_t len, struct mimescan_ctype *);
/*
 * The value of parameter name of a structured header value (RFC 2045:
 * "; name=token" or a quoted string, comments allowed), copied into out
 * (cut to outlen - 1).  Returns its full length, or -1 when absent.
 */
ssize_t mimescan_param(const char *value, size_t len, const char *name,
    char *out, size_t outlen);
/* The first token of a header value (as Content-Transfer-Encoding's). */
void mimescan_word(const char *value, size_t len, char *out, size_t outlen);

#endif
