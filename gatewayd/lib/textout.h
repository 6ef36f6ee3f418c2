/*
 * textout.h - escaping for every output format, decided once
 *
 * Text that reaches an operator (gatewayctl's tables, log lines) or a
 * script (JSON) may hold bytes an attacker chose: envelope addresses,
 * HELO names, upstream replies, header values, directive fields.  This
 * module is the only place that decides how such text is written.
 *
 * Terminal and log text (textout_term, textout_clean): valid printable
 * UTF-8 is kept as it is; a C0 control byte, DEL and a byte that is not
 * part of valid UTF-8 (a raw 0x9b CSI, a truncated or overlong sequence,
 * an encoded surrogate) become \xHH; a C1 control encoded in UTF-8
 * (U+0080..U+009F, bytes C2 80..C2 9F) becomes \u0080..\u009f.  A
 * backslash is kept: the result is made of printable characters only, so
 * escaping it again changes nothing (text cleaned once before a log call
 * is not escaped twice) - at the price that a literal "\x1b" in the input
 * reads like an escape.  JSON is the exact form.
 *
 * JSON (struct textout_json): always valid UTF-8 JSON.  '"' and '\'
 * are escaped, every C0 control, DEL and C1 control is written \u00XX,
 * and each byte that is not part of valid UTF-8 becomes U+FFFD (written
 * \ufffd), so the replacement is visible and the output still parses with
 * a strict decoder.  The writer places the commas: callers say what they
 * write, never how it is punctuated.  It writes to a FILE; use
 * open_memstream(3) for a buffer.
 */
#ifndef GW_TEXTOUT_H
#define GW_TEXTOUT_H

#include <stddef.h>
#include <stdio.h>

/* Flags of the terminal escaper: controls that a whole text may keep. */
#define TEXTOUT_KEEP_TAB	0x01
#define TEXTOUT_KEEP_NL		0x02	/* line feeds (not carriage returns) */

/* Write len bytes of s to fp with the terminal escapes. */
void textout_term(FILE *fp, const char *s, size_t len, int flags);
/* The same for a C string (NULL writes nothing). */
void textout_terms(FILE *fp, const char *s, int flags);
/*
 * Escape len bytes of src (stopping at a NUL) into dst, always terminated
 * when dstlen > 0, never cutting an escape or a UTF-8 character: a result
 * that does not fit is cut short.  Returns dst.
 */
const char *textout_clean(char *dst, size_t dstlen, const char *src,
    size_t srclen, int flags);
/* Length of the valid UTF-8 character at s (1..4), 0 if s[0] starts none. */
size_t textout_utf8_len(const unsigned char *s, size_t len);

#define TEXTOUT_JSON_DEPTH	16

struct textout_json {
	FILE *fp;
	int depth;			/* open objects and arrays */
	unsigned char count[TEXTOUT_JSON_DEPTH + 1];	/* 1: has a member */
	char closer[TEXTOUT_JSON_DEPTH + 1];	/* '}' or ']' per level */
};

/* Start writing JSON values to fp. */
void textout_json_init(struct textout_json *, FILE *fp);
/*
 * Each value is written with a key when it is a member of an object
 * (key != NULL) and without one in an array or at the top level.
 */
void textout_json_object(struct textout_json *, const char *key);
void textout_json_array(struct textout_json *, const char *key);
/* Close the innermost object or array. */
void textout_json_close(struct textout_json *);
void textout_json_str(struct textout_json *, const char *key, const char *s);
void textout_json_strn(struct textout_json *, const char *key, const char *s,
    size_t len);
void textout_json_int(struct textout_json *, const char *key, long long v);
void textout_json_uint(struct textout_json *, const char *key,
    unsigned long long v);
void textout_json_bool(struct textout_json *, const char *key, int v);
void textout_json_null(struct textout_json *, const char *key);
/* After a top-level value: a newline (JSON Lines), ready for the next. */
void textout_json_end(struct textout_json *);
/* A JSON string literal of len bytes of s, quotes included. */
void textout_json_literal(FILE *fp, const char *s, size_t len);

#endif
