/*
 * smtp_reply.c - bounded parser of SMTP replies (RFC 5321 4.2)
 *
 * A reply is one or more lines "DDD-text" ending with "DDD text" (or a
 * bare "DDD").  The parser takes lines one at a time (the reader has
 * already capped their length), refuses what a hostile server could use
 * to confuse it (a NUL, a code outside 200..599, codes that change within
 * a reply, more than SMTP_REPLY_MAX_LINES lines) and keeps at most
 * SMTP_REPLY_TEXT_MAX bytes of text.  The text is kept as sent, control
 * characters included: the worker's logging and the spool escape it.
 * No I/O, no allocation.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "smtp.h"

/* smtp_reply_init - an empty reply */
void
smtp_reply_init(struct smtp_reply *r)
{
	memset(r, 0, sizeof(*r));
}

/* smtp_reply_status - length of an enhanced status "C.S.D" at s, or 0 */
static size_t
smtp_reply_status(const char *s, size_t len, int code)
{
	size_t i = 0, n;
	int part;

	if (len < 5 || s[0] != (char)('0' + code / 100) || s[1] != '.')
		return 0;
	i = 2;
	for (part = 0; part < 2; part++) {
		for (n = 0; i < len && isdigit((unsigned char)s[i]); i++)
			n++;
		if (n < 1 || n > 3)
			return 0;
		if (part == 0) {
			if (i >= len || s[i] != '.')
				return 0;
			i++;
		}
	}
	if (i < len && s[i] != ' ')
		return 0;
	return i;
}

/* smtp_reply_append - add one line's text (after code and status) */
static void
smtp_reply_append(struct smtp_reply *r, const char *s, size_t len)
{
	size_t room;

	while (len > 0 && *s == ' ') {
		s++;
		len--;
	}
	if (len == 0)
		return;
	if (r->textlen > 0 && r->textlen + 1 < sizeof(r->text))
		r->text[r->textlen++] = ' ';
	room = sizeof(r->text) - 1 - r->textlen;
	if (len > room)
		len = room;
	memcpy(r->text + r->textlen, s, len);
	r->textlen += len;
	r->text[r->textlen] = '\0';
}

/* smtp_reply_kw - does the EHLO line s start with keyword kw (then end or space)? */
static int
smtp_reply_kw(const char *s, size_t len, const char *kw, size_t *after)
{
	size_t n = strlen(kw);

	if (len < n || strncasecmp(s, kw, n) != 0 ||
	    (len > n && s[n] != ' ' && s[n] != '='))
		return 0;
	*after = len > n ? n + 1 : n;
	return 1;
}

/* smtp_reply_caps - record one EHLO keyword line */
static void
smtp_reply_caps(struct smtp_caps *c, const char *s, size_t len)
{
	char num[24];
	size_t a, n;

	if (smtp_reply_kw(s, len, "PIPELINING", &a))
		c->pipelining = 1;
	else if (smtp_reply_kw(s, len, "8BITMIME", &a))
		c->eightbitmime = 1;
	else if (smtp_reply_kw(s, len, "SMTPUTF8", &a))
		c->smtputf8 = 1;
	else if (smtp_reply_kw(s, len, "DSN", &a))
		c->dsn = 1;
	else if (smtp_reply_kw(s, len, "STARTTLS", &a))
		c->starttls = 1;
	else if (smtp_reply_kw(s, len, "ENHANCEDSTATUSCODES", &a))
		c->enhanced = 1;
	else if (smtp_reply_kw(s, len, "SIZE", &a)) {
		n = len - a < sizeof(num) - 1 ? len - a : sizeof(num) - 1;
		memcpy(num, s + a, n);
		num[n] = '\0';
		if (n > 0 && strspn(num, "0123456789") == n)
			c->size = strtoull(num, NULL, 10);
	} else if (smtp_reply_kw(s, len, "AUTH", &a)) {
		n = len - a;
		if (n >= sizeof(c->auth) - 1)
			n = sizeof(c->auth) - 1;
		memcpy(c->auth, s + a, n);
		c->auth[n] = '\0';
	}
}

/* smtp_reply_code - the three-digit code at the start of line, or -1 */
static int
smtp_reply_code(const char *line, size_t len)
{
	if (len < 3 || !isdigit((unsigned char)line[0]) ||
	    !isdigit((unsigned char)line[1]) ||
	    !isdigit((unsigned char)line[2]))
		return -1;
	if (len > 3 && line[3] != ' ' && line[3] != '-')
		return -1;
	return (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
}

/*
 * smtp_reply_line - add one line (no CRLF): 1 complete, 0 more to come,
 * -1 malformed with *why
 */
int
smtp_reply_line(struct smtp_reply *r, const char *line, size_t len,
    struct smtp_caps *caps, const char **why)
{
	const char *t;
	size_t tl, sl;
	int code;

	*why = NULL;
	if (r->done) {
		*why = "reply already complete";
		return -1;
	}
	if (memchr(line, '\0', len) != NULL) {
		*why = "NUL byte in reply";
		return -1;
	}
	if ((code = smtp_reply_code(line, len)) < 200 || code > 599) {
		*why = "malformed reply code";
		return -1;
	}
	if (r->nlines > 0 && code != r->code) {
		*why = "reply code changes within a multi-line reply";
		return -1;
	}
	if (++r->nlines > SMTP_REPLY_MAX_LINES) {
		*why = "too many lines in a multi-line reply";
		return -1;
	}
	r->code = code;
	t = len > 4 ? line + 4 : line + len;
	tl = len > 4 ? len - 4 : 0;
	if (caps != NULL && r->nlines > 1)
		smtp_reply_caps(caps, t, tl);
	if ((sl = smtp_reply_status(t, tl, code)) > 0) {
		if (r->status[0] == '\0')
			snprintf(r->status, sizeof(r->status), "%.*s",
			    (int)sl, t);
		t += sl;
		tl -= sl;
	}
	smtp_reply_append(r, t, tl);
	if (len > 3 && line[3] == '-')
		return 0;
	r->done = 1;
	return 1;
}
