/*
 * recognize.h - how a message names its directive: the recogniser list
 *
 * Each recogniser looks at one place and returns a candidate: a directive
 * ID, or a keyword to look up.  They are tried in the order of
 * recognize_list: address (ed-<id>@gw, else the local part as a keyword),
 * subject ("[ED:<id>]"), body ("ED:<id>" or "ED-<id>" in the text
 * parts).  A new recogniser (a barcode reader on the attachments) is one
 * more entry in that table.
 */
#ifndef GW_RECOGNIZE_H
#define GW_RECOGNIZE_H

#include <stddef.h>

struct msginfo;
struct oneoff_dest;

enum recognize_kind { RECOGNIZE_NONE = 0, RECOGNIZE_ID, RECOGNIZE_KEYWORD };

struct recognize_input {
	const char *rcpt;			/* the recipient address */
	const struct oneoff_dest *dest;		/* its parsed form */
	const struct msginfo *mi;		/* the message, or NULL */
};

struct recognizer {
	const char *name;
	/* A candidate into out; RECOGNIZE_NONE if this one finds nothing. */
	enum recognize_kind (*find)(const struct recognize_input *, char *out,
	    size_t outlen);
};

/* The recognisers in the order they are tried, ending with a NULL name. */
extern const struct recognizer recognize_list[];
/* Find "ED:<id>"/"ED-<id>" (or "[ED:<id>]" with brackets) in text; 0 found. */
int recognize_token(const char *text, size_t len, int brackets, char *out,
    size_t outlen);

#endif
