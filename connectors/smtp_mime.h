/*
 * smtp_mime.h - 8-bit to quoted-printable conversion of the smtp connector
 *
 * For an upstream without 8BITMIME (RFC 6152 3: a message with 8-bit
 * content must then be converted or refused).  Two passes over the same
 * message: the first (analyse) walks the MIME structure and decides, per
 * entity, whether its body must be converted, or refuses the message; the
 * second (emit) writes the converted message through a callback.  Only
 * text bodies (text/ types, or no Content-Type where text/plain is the
 * default) labelled 7bit, 8bit or nothing are converted: their
 * Content-Transfer-Encoding becomes quoted-printable (RFC 2045 6.7).
 * Refused: 8-bit bytes in a header (of the message or of a part), in a
 * message or non-text part, in a part labelled binary, base64 or
 * quoted-printable, in a preamble or an epilogue.  Bounded: nesting depth,
 * number of parts, header field and boundary lengths.  The MIME structure
 * (boundaries, nesting, digest defaults) is the tree's one scanner,
 * gatewayd/lib/mimescan.c, compiled into the connector.  No I/O, no
 * allocation.
 */
#ifndef GW_SMTP_MIME_H
#define GW_SMTP_MIME_H

#include <stddef.h>

#include "mimescan.h"

#define SMTP_MIME_DEPTH		16	/* nested multiparts followed */
#define SMTP_MIME_PARTS		4096	/* entities a plan can hold */
#define SMTP_MIME_FIELD		MIMESCAN_FIELD	/* a Content-* field, unfolded */
#define SMTP_MIME_PIECE		1024	/* longer lines go in pieces */
#define SMTP_MIME_OBUF		16384

typedef int (*smtp_mime_out_fn)(void *arg, const char *buf, size_t len);

struct smtp_mime {
	/* the plan (kept from the analysis for the emit pass) */
	unsigned char conv[SMTP_MIME_PARTS / 8];
	unsigned int nconverted;
	/* the pass */
	int emit;
	smtp_mime_out_fn out;
	void *arg;
	char why[256];			/* why the message is refused */
	int refused, failed;
	int state;			/* SMTP_MIME_S_* (smtp_mime.c) */
	unsigned int nent, cur;		/* entities seen, the current one */
	struct mimescan scan;		/* the MIME structure */
	/* the current entity's header */
	int kind, cte, mimever, converting, body8;
	char field[SMTP_MIME_FIELD];
	size_t fieldlen;
	int fieldkind;
	/* line assembly */
	char line[SMTP_MIME_PIECE];
	size_t linelen;
	int linecont, cr;
	/* quoted-printable encoder */
	size_t qpcol;
	int qpws;
	char obuf[SMTP_MIME_OBUF];
	size_t olen;
};

/* Clear everything, the plan included. */
void smtp_mime_init(struct smtp_mime *);
/* Start a pass: analyse (emit 0, out NULL) or emit through out. */
void smtp_mime_begin(struct smtp_mime *, int emit, smtp_mime_out_fn out,
    void *arg);
/* Feed message bytes; -1 once refused (why) or once out failed. */
int smtp_mime_feed(struct smtp_mime *, const void *buf, size_t n);
/* End of the message; -1 when refused or out failed. */
int smtp_mime_finish(struct smtp_mime *);

#endif
