/*
 * web_mail.h - the message a "Send documents" submission makes, and the
 * SMTP replies the web child reads (no I/O: check_web_mail)
 *
 * web_mail_rcpt() turns the form's destination into the recipient the
 * receiver is given: an e-mail address as it is (addr_valid), a fax
 * number as the one-off address FAX=<number>@<gateway domain> (the first
 * of relay.local_domains; oneoff.h), a directive ID as
 * <prefix><ID>@<gateway domain>.  web_mail_write() writes the message as
 * DATA text (CRLF, dot-stuffed, without the final dot): Date, From, To,
 * Subject (RFC 2047 when not ASCII), Message-ID, MIME-Version and a
 * multipart/mixed body: the note as text/plain (7bit when it is short
 * lines of ASCII, else base64), then each file base64 with its name
 * (without a directory; RFC 2231 when not ASCII) and content type (a
 * type/subtype token, else application/octet-stream).
 */
#ifndef GW_WEB_MAIL_H
#define GW_WEB_MAIL_H

#include <stddef.h>
#include <stdio.h>

#define WEB_MAIL_FILES		10	/* files in one submission */
#define WEB_MAIL_NAME_MAX	200	/* bytes of a file name kept */
#define WEB_MAIL_SUBJECT_MAX	300
#define WEB_MAIL_NOTE_MAX	(16u * 1024)
#define WEB_MAIL_REPLY_MAX	512	/* bytes of one SMTP reply line */

struct web_mail_file {
	char name[WEB_MAIL_NAME_MAX + 1];	/* as the browser sent it */
	char type[128];
	const unsigned char *data;
	size_t len;
};

struct web_mail {
	const char *from, *to;		/* addresses, no brackets */
	const char *subject, *note;	/* UTF-8 from the form, may be "" */
	const char *msgid_domain;
	const char *boundary;		/* unique: random hex */
	const char *msgid;		/* local part of the Message-ID */
	long long date;			/* seconds since the epoch */
	const struct web_mail_file *files;
	size_t nfiles;
};

/*
 * The recipient for a destination: kind "email", "fax" or "directive",
 * to the address, number or ID; 0, or -1 with a reason for the user.
 */
int web_mail_rcpt(const char *kind, const char *to, const char *gwdomain,
    const char *prefix, char *out, size_t outlen, char *err, size_t errlen);
/* The sender address of a login name (see gatewayd.yaml(5) web.sender_domain). */
void web_mail_from(const char *user, const char *sender_domain,
    const char *hostname, char *out, size_t outlen);
/* The message as DATA text to fp; 0, or -1 on a write error. */
int web_mail_write(FILE *fp, const struct web_mail *m);
/*
 * One reply line: its code (200..599) and whether more lines follow
 * ("250-"); -1 when it is not a reply line.
 */
int web_mail_reply(const char *line, int *code, int *more);
/* The queue ID of "250 ... queued as QID", into qid; 0, or -1 when none. */
int web_mail_qid(const char *line, char *qid, size_t qidlen);

#endif
