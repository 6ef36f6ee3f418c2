/*
 * envelope.h - the text envelope at the head of every spool file
 *
 * A message file (tmp/, incoming/, data/) and a job file (queue/, active/,
 * deferred/, hold/, failed/) both start with an envelope a person can
 * read: a version line, one "key value" line per field, recipients, and
 * an "end" line.  A message file continues with the message exactly as
 * received.  Values are escaped so that no byte from a client or an
 * upstream server can start a new line or forge a field: bytes below
 * 0x21, 0x7f and '\' are written as \xHH (text fields keep spaces).
 *
 *   gatewayd-envelope 1
 *   id 0006152f1a2b3c4d0001
 *   kind message | job
 *   arrival 1764311000.123456
 *   listener smtp
 *   client 127.0.0.1
 *   client-name localhost
 *   helo scanner1.example.com
 *   auth -
 *   proto ESMTP
 *   body 8BITMIME
 *   size 12345
 *   from sender@example.com          ("<>" for the null sender)
 *   ret FULL | HDRS                   (optional: DSN RET of MAIL FROM)
 *   envid <xtext-decoded ENVID>       (optional: DSN ENVID of MAIL FROM)
 *   connector archive                 (job only)
 *   attempts 0                        (job only)
 *   next-attempt 0                    (job only, epoch seconds)
 *   last-error 451 4.4.1 text         (job only)
 *   rcpt <state> <address> [<code> <status> <text>]
 *   param <name> <value>              (applies to the rcpt line above it)
 *   end
 *
 * A job's envelope is version 2: its first line says
 * "gatewayd-envelope 2" and its last one carries the CRC-32C of every
 * byte before that line, as eight lower-case hex digits ("end
 * 1a2b3c4d").  The parser checks it, so a job file that was rewritten in
 * place (spool.c reuses the inodes of ended jobs) and then cut short,
 * mixed with an earlier job's bytes or left with them by a power
 * failure, is refused rather than read as another job; the spool's
 * loader also checks the queue ID and connector against the file's name.
 * A message file (written once, its size sealed in place) is version 1,
 * a plain "end"; version 1 jobs (from before the checksum) still parse.
 *
 * Recipient states: pending, done, deferred, failed.
 *
 * DSN data (RFC 3461): "ret" and "envid" are per message and optional
 * (absent in envelopes of messages without them, and in envelopes written
 * before they existed).  Per recipient, the receiver stores the NOTIFY
 * parameter as "param notify SUCCESS,DELAY" (upper case, comma list, or
 * "NEVER") and ORCPT as "param orcpt rfc822;user@example.com"; the
 * worker records the DSN it sent for a recipient as "param dsn-sent
 * delayed|failed|delivered", or "passed" when the next hop took the
 * recipient with its DSN request (it sends the notices then).
 */
#ifndef GW_ENVELOPE_H
#define GW_ENVELOPE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#define ENVELOPE_VERSION	1
#define ENVELOPE_VERSION_SUM	2	/* a job's: "end" with a checksum */
#define ENVELOPE_MAX_SIZE	(1024 * 1024)	/* envelope text cap */
#define ENVELOPE_MAX_RCPT	10000
#define ENVELOPE_MAX_PARAMS	32
#define ENVELOPE_QID_LEN	20
/*
 * The size of a message file to be sealed by the spool (spool.c): the
 * field is written as ENVELOPE_SIZE_WIDTH zeros, fixed width, and the
 * spool overwrites it with the final size, zero-padded, when the message
 * is complete ("size 000000010240").  The parser takes leading zeros in
 * that field.
 */
#define ENVELOPE_SIZE_SEAL	(-2)
#define ENVELOPE_SIZE_WIDTH	12

enum envelope_kind { ENVELOPE_MESSAGE = 0, ENVELOPE_JOB = 1 };

enum rcpt_state {
	RCPT_PENDING = 0,
	RCPT_DONE,
	RCPT_DEFERRED,
	RCPT_FAILED
};

/*
 * Ownership: every string and array of an envelope belongs to it.  The
 * ones envelope_parse() makes lie in one block (the pool: a copy of the
 * envelope text, split and unescaped in place, and the arrays), marked by
 * the "pooled" bits; the others are allocations of their own.  Only the
 * functions below free or replace them, so code elsewhere never frees a
 * string of an envelope: it replaces one with envelope_put(),
 * envelope_rcpt_put_text() or envelope_rcpt_set_param().
 */
#define ENVELOPE_POOLED_NAME	0x01	/* envelope_param */
#define ENVELOPE_POOLED_VALUE	0x02
#define ENVELOPE_POOLED_ADDR	0x01	/* envelope_rcpt */
#define ENVELOPE_POOLED_TEXT	0x02
#define ENVELOPE_POOLED_PARAMS	0x04

struct envelope_param {
	char *name;
	char *value;
	unsigned char pooled;		/* ENVELOPE_POOLED_NAME | _VALUE */
};

struct envelope_rcpt {
	char *addr;			/* no angle brackets */
	enum rcpt_state state;
	int code;			/* last SMTP-style result code, 0 if none */
	char status[16];		/* enhanced status "X.Y.Z", "" if none */
	char *text;			/* last result text, NULL if none */
	struct envelope_param *params;	/* routing data from the router */
	size_t nparams;
	unsigned char pooled;		/* ENVELOPE_POOLED_ADDR | _TEXT | _PARAMS */
};

struct envelope {
	int version;
	enum envelope_kind kind;
	char id[ENVELOPE_QID_LEN + 1];
	int64_t arrival_us;		/* microseconds since the epoch */
	char *listener;
	char *client;			/* numeric address */
	char *client_name;		/* "" if unknown */
	char *helo;
	char *auth;			/* NULL if not authenticated */
	char *proto;			/* "SMTP", "ESMTP" */
	char *body;			/* "7BIT", "8BITMIME" */
	off_t size;			/* message bytes after the envelope; -1 unknown,
					   ENVELOPE_SIZE_SEAL to format (above) */
	char *from;			/* "" for the null sender */
	char *ret;			/* DSN RET "FULL"/"HDRS", NULL if not given */
	char *envid;			/* DSN ENVID, NULL if not given */
	/* job fields */
	char *connector;
	unsigned int attempts;
	time_t next_attempt;
	char *last_error;
	struct envelope_rcpt *rcpt;
	size_t nrcpt;
	char *pool;			/* envelope_parse's block, or NULL */
	uint32_t pooled;		/* which string fields and the rcpt
					   array lie in the pool */
};

/*
 * The value of a hex digit (either case), -1 if c is not one: the one
 * decoder of \xHH, %HH and =HH escapes in the tree.
 */
int envelope_hexdigit(int c);
/* Free every field (not the struct itself) and zero it. */
void envelope_clear(struct envelope *);
/* Deep copy of src into dst (dst must be clear). */
void envelope_copy(struct envelope *dst, const struct envelope *src);
/*
 * Replace a string field of env (&env->last_error, &env->connector, ...)
 * with value, a string of its own (or NULL), which env takes.
 */
void envelope_put(struct envelope *, char **field, char *value);
/* Replace a recipient's result text with text (taken, or NULL). */
void envelope_rcpt_put_text(struct envelope_rcpt *, char *text);
/* Append a recipient (copies addr); returns it. */
struct envelope_rcpt *envelope_add_rcpt(struct envelope *, const char *addr);
/* Add a routing parameter to a recipient (copies). */
void envelope_rcpt_set_param(struct envelope_rcpt *, const char *name, const char *value);
const char *envelope_rcpt_param(const struct envelope_rcpt *, const char *name);
/* Rename parameter old to name with value; 0, or -1 if there is no old. */
int envelope_rcpt_rename_param(struct envelope_rcpt *, const char *old,
    const char *name, const char *value);
const char *envelope_rcpt_state_name(enum rcpt_state);

/*
 * Serialise into a malloc'd buffer (*out, *outlen).  Returns 0, or -1 if
 * a field is unusable (missing id, too large).
 */
int envelope_format(const struct envelope *, char **out, size_t *outlen);
/*
 * Parse an envelope from the start of buf.  On success returns 0, fills
 * env and sets *consumed to the offset of the first message byte.  On
 * failure returns -1 with a reason ("line 7: unknown key 'x'") in err.
 * Strict: unknown keys, a missing version line or "end", duplicate
 * single fields and bad numbers are errors.
 */
/*
 * envelope_length - the bytes of the envelope at the start of buf[0..len)
 * up to and including its "end" line, 0 when no end line is complete
 */
size_t envelope_length(const char *buf, size_t len);
/* envelope_crc32c - CRC-32C of buf[0..len), as a job's "end" line has it */
uint32_t envelope_crc32c(const void *buf, size_t len);
int envelope_parse(const char *buf, size_t len, struct envelope *env,
    size_t *consumed, char *err, size_t errlen);

/* Escape helpers, exposed for tests and for other text that is stored. */
size_t envelope_escape(char *dst, size_t dstlen, const char *src, int keep_spaces);
int envelope_unescape(char *s);

#endif
