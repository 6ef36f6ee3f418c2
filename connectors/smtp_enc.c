/*
 * smtp_enc.c - the DATA encoder of the smtp connector
 *
 * What goes on the wire is always clean SMTP text (RFC 5321 2.3.8, 4.5.2,
 * 4.5.3.1.6): CRLF, LF alone and CR alone each end a line and are sent as
 * CRLF; a line that starts with "." is sent with one more "."; and no
 * line is longer than 998 octets.  A longer line is broken where the
 * limit falls: a header line is folded (CRLF and a space: the field stays
 * one field, RFC 5322 2.2.3), a body line gets a CRLF (its content is
 * otherwise kept; Postfix does the same).  The end of data (CRLF "."
 * CRLF) is produced by smtp_enc_finish() so the caller can send it in
 * the same write as the last body bytes.  No I/O, no allocation.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "smtp.h"

/* smtp_enc_init - start of a message (in its header) */
void
smtp_enc_init(struct smtp_enc *e)
{
	memset(e, 0, sizeof(*e));
	e->in_headers = 1;
}

/* smtp_enc_eol - end the current line */
static size_t
smtp_enc_eol(struct smtp_enc *e, char *out)
{
	if (e->linelen == 0)
		e->in_headers = 0;	/* the empty line ends the header */
	e->linelen = 0;
	out[0] = '\r';
	out[1] = '\n';
	return 2;
}

/* smtp_enc_byte - one content byte (not CR or LF) */
static size_t
smtp_enc_byte(struct smtp_enc *e, unsigned char c, char *out)
{
	size_t n = 0;

	if (e->linelen >= SMTP_OUT_LINE_MAX) {
		out[n++] = '\r';
		out[n++] = '\n';
		e->folded++;
		if (e->in_headers) {
			out[n++] = ' ';
			e->linelen = 1;
		} else
			e->linelen = 0;
	}
	if (e->linelen == 0 && c == '.') {
		out[n++] = '.';
		e->linelen++;
	}
	out[n++] = (char)c;
	e->linelen++;
	return n;
}

/* smtp_enc_next - the next c at or after from (end: none), cached in *at */
static const unsigned char *
smtp_enc_next(const unsigned char *from, const unsigned char *end, int c,
    const unsigned char **at)
{
	const unsigned char *q;

	if (*at == NULL || *at < from) {
		q = memchr(from, c, (size_t)(end - from));
		*at = q != NULL ? q : end;
	}
	return *at;
}

/*
 * smtp_enc_feed - encode n bytes; returns the bytes written to out.  A
 * line's first byte and a byte at the length limit go one at a time
 * (dot-stuffing, breaking); the rest of the line is copied as one run,
 * found with memchr (each search's answer is kept until passed, so the
 * whole input is searched once for CR and once for LF).
 */
size_t
smtp_enc_feed(struct smtp_enc *e, const void *in, size_t n, char *out)
{
	const unsigned char *p = in, *end = p + n, *lf = NULL, *cr = NULL, *stop;
	size_t o = 0, run;

	while (p < end) {
		if (e->cr) {
			e->cr = 0;
			o += smtp_enc_eol(e, out + o);
			if (*p == '\n') {
				p++;
				continue;
			}
		}
		if (*p == '\r' || *p == '\n') {
			if (*p++ == '\r')
				e->cr = 1;
			else
				o += smtp_enc_eol(e, out + o);
			continue;
		}
		if (e->linelen == 0 || e->linelen >= SMTP_OUT_LINE_MAX) {
			o += smtp_enc_byte(e, *p++, out + o);
			continue;
		}
		stop = smtp_enc_next(p, end, '\n', &lf);
		if (smtp_enc_next(p, end, '\r', &cr) < stop)
			stop = cr;
		run = (size_t)(stop - p);
		if (run > (size_t)(SMTP_OUT_LINE_MAX - e->linelen))
			run = (size_t)(SMTP_OUT_LINE_MAX - e->linelen);
		memcpy(out + o, p, run);
		o += run;
		p += run;
		e->linelen += run;
	}
	return o;
}

/* smtp_enc_finish - terminate the last line and the data */
size_t
smtp_enc_finish(struct smtp_enc *e, char *out)
{
	size_t o = 0;

	if (e->cr) {
		e->cr = 0;
		o += smtp_enc_eol(e, out);
	} else if (e->linelen > 0)
		o += smtp_enc_eol(e, out);
	memcpy(out + o, ".\r\n", 3);
	return o + 3;
}

/* smtp_has_8bit - any byte with the high bit set? */
int
smtp_has_8bit(const void *buf, size_t n)
{
	const unsigned char *p = buf;
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] & 0x80)
			return 1;
	return 0;
}

/* smtp_xtext - xtext-encode in (RFC 3461 4: "+" HEX for specials) */
int
smtp_xtext(char *out, size_t outlen, const char *in)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p;
	size_t o = 0;

	for (p = (const unsigned char *)in; *p != '\0'; p++) {
		if (o + 4 > outlen)
			return -1;
		if (*p >= '!' && *p <= '~' && *p != '+' && *p != '=')
			out[o++] = (char)*p;
		else {
			out[o++] = '+';
			out[o++] = hex[*p >> 4];
			out[o++] = hex[*p & 15];
		}
	}
	if (o >= outlen)
		return -1;
	out[o] = '\0';
	return 0;
}

/* smtp_dsn_word - is v a non-empty run of the characters in set? */
static int
smtp_dsn_word(const char *v, const char *set, size_t max)
{
	size_t n;

	if (v == NULL || (n = strlen(v)) == 0 || n > max)
		return 0;
	return strspn(v, set) == n;
}

/* smtp_dsn_mail_params - " RET=... ENVID=..." for MAIL FROM */
int
smtp_dsn_mail_params(char *out, size_t outlen, const char *ret,
    const char *envid)
{
	char x[3 * 100 + 1];
	int n;

	if (outlen == 0)
		return -1;
	out[0] = '\0';
	if (ret != NULL && strcasecmp(ret, "FULL") != 0 &&
	    strcasecmp(ret, "HDRS") != 0)
		ret = NULL;
	if (envid != NULL && (envid[0] == '\0' || strlen(envid) > 100 ||
	    smtp_xtext(x, sizeof(x), envid) == -1))
		envid = NULL;
	n = snprintf(out, outlen, "%s%s%s%s", ret ? " RET=" : "",
	    ret ? ret : "", envid ? " ENVID=" : "", envid ? x : "");
	return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

/* smtp_dsn_rcpt_params - " NOTIFY=... ORCPT=type;xtext" for RCPT TO */
int
smtp_dsn_rcpt_params(char *out, size_t outlen, const char *notify,
    const char *orcpt)
{
	char type[64], x[3 * 500 + 1];
	const char *semi = orcpt ? strchr(orcpt, ';') : NULL;
	size_t tlen = semi ? (size_t)(semi - orcpt) : 0;
	int n;

	if (outlen == 0)
		return -1;
	out[0] = '\0';
	if (!smtp_dsn_word(notify, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz,", 64))
		notify = NULL;
	if (semi == NULL || tlen == 0 || tlen >= sizeof(type) ||
	    strlen(semi + 1) == 0 || strlen(semi + 1) > 500)
		orcpt = NULL;
	else {
		memcpy(type, orcpt, tlen);
		type[tlen] = '\0';
		if (!smtp_dsn_word(type, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghij"
		    "klmnopqrstuvwxyz0123456789-", sizeof(type)) ||
		    smtp_xtext(x, sizeof(x), semi + 1) == -1)
			orcpt = NULL;
	}
	n = snprintf(out, outlen, "%s%s%s%s%s%s", notify ? " NOTIFY=" : "",
	    notify ? notify : "", orcpt ? " ORCPT=" : "", orcpt ? type : "",
	    orcpt ? ";" : "", orcpt ? x : "");
	return n < 0 || (size_t)n >= outlen ? -1 : 0;
}
