/*
 * msginfo.h - a light, bounded scan of a message for the router
 *
 * One pass over the message (any size, constant memory): the top-level
 * headers (unfolded, each capped), and the MIME structure from the
 * Content-Type/Content-Disposition headers of each part: how many
 * attachments there are and their content types, and the decoded text of
 * the text/plain parts up to a byte budget (for directive IDs printed in
 * the body).  Top-level header values are kept with their RFC 2047
 * encoded-words decoded to UTF-8, so rules and recognisers see the text
 * people wrote; display names are decoded the same way.  Not a full MIME parser: enough to route on, never more
 * than MSGINFO_* limits of anything.
 */
#ifndef GW_MSGINFO_H
#define GW_MSGINFO_H

#include <stddef.h>
#include <sys/types.h>

#define MSGINFO_LINE_MAX	8192	/* longer lines are split */
#define MSGINFO_HEADER_MAX	4096	/* one unfolded header */
#define MSGINFO_HEADERS_MAX	256	/* top-level headers kept */
#define MSGINFO_ATTACH_MAX	256	/* attachment types kept (count goes on) */
#define MSGINFO_DEPTH_MAX	8	/* nested multiparts followed */
#define MSGINFO_NAME_MAX	256	/* an attachment's file name */

struct msginfo_header {
	char *name;
	char *value;			/* RFC 2047 words decoded to UTF-8 (rfc2047.h) */
	char *raw;			/* as received when that differs, else NULL */
};

struct msginfo {
	struct msginfo_header *hdr;
	size_t nhdr;
	size_t nattach;			/* attachments seen */
	char **attach_types;		/* lower-case "type/subtype", up to MSGINFO_ATTACH_MAX */
	char **attach_names;		/* their file names (NULL: none given) */
	size_t ntypes;
	char *text;			/* decoded text/plain, NUL-terminated */
	size_t textlen;
	size_t size;			/* bytes scanned */
	int header_only;		/* msginfo_scan_header_*: no body seen */
};

/*
 * Scan the message in fd from offset off to its end; text_max bounds the
 * text kept.  Returns 0, or -1 on a read error (errno set).
 */
int msginfo_scan_fd(int fd, off_t off, size_t text_max, struct msginfo *);
/* The same over a buffer (tests). */
int msginfo_scan_buf(const char *buf, size_t len, size_t text_max, struct msginfo *);
/*
 * The top-level header only (what routing needs unless a rule, a notice or
 * a directive looks further: rules_env.need_body): reading stops after
 * it; no text, no parts but what the top-level header says the message
 * is; size is the header's; header_only is set.
 */
int msginfo_scan_header_fd(int fd, off_t off, struct msginfo *);
int msginfo_scan_header_buf(const char *buf, size_t len, struct msginfo *);
/* The first top-level header of that name (case-insensitive), or NULL. */
const char *msginfo_header(const struct msginfo *, const char *name);
/* The display name given to addr in To: or Cc:, into out; 0 found, -1 not. */
int msginfo_display_name(const struct msginfo *, const char *addr, char *out,
    size_t outlen);
void msginfo_free(struct msginfo *);

#endif
