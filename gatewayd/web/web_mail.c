/*
 * web_mail.c - a submission's recipient, message and SMTP replies
 * (web_mail.h)
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "addr.h"
#include "oneoff.h"
#include "spool.h"
#include "web_mail.h"

#define WEB_MAIL_B64_LINE	57	/* input bytes per base64 line (76 out) */
#define WEB_MAIL_7BIT_LINE	900	/* longest note line sent as 7bit */

/* web_mail_id_ok - a directive ID: letters and digits */
static int
web_mail_id_ok(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && n < ONEOFF_ID_MAX && strspn(s, "ABCDEFGHIJKLMNOPQRSTU"
	    "VWXYZabcdefghijklmnopqrstuvwxyz0123456789") == n;
}

/* web_mail_rcpt - the recipient of a destination (web_mail.h) */
int
web_mail_rcpt(const char *kind, const char *to, const char *gwdomain,
    const char *prefix, char *out, size_t outlen, char *err, size_t errlen)
{
	char num[ONEOFF_NUMBER_MAX + 2];
	const char *why;
	int n;

	if (kind == NULL || to == NULL || *to == '\0') {
		snprintf(err, errlen, "Enter a destination.");
		return -1;
	}
	if (strcmp(kind, "email") == 0) {
		if (addr_valid(to, &why) != 0 || strchr(to, '@') == NULL) {
			snprintf(err, errlen, "Not an e-mail address.");
			return -1;
		}
		n = snprintf(out, outlen, "%s", to);
	} else if (gwdomain == NULL) {
		snprintf(err, errlen, "This gateway has no domain for fax "
		    "numbers and routing sheets (relay.local_domains).");
		return -1;
	} else if (strcmp(kind, "fax") == 0) {
		if (oneoff_number(to, strlen(to), num, sizeof(num), 1) == -1) {
			snprintf(err, errlen, "Not a fax number.");
			return -1;
		}
		n = snprintf(out, outlen, "FAX=%s@%s", num, gwdomain);
	} else if (strcmp(kind, "directive") == 0) {
		if (strncasecmp(to, "ED:", 3) == 0)
			to += 3;
		if (!web_mail_id_ok(to)) {
			snprintf(err, errlen, "Not a routing sheet code.");
			return -1;
		}
		n = snprintf(out, outlen, "%s%s@%s", prefix, to, gwdomain);
	} else {
		snprintf(err, errlen, "Choose e-mail, fax or routing sheet.");
		return -1;
	}
	if (n < 0 || (size_t)n >= outlen || addr_valid(out, &why) != 0) {
		snprintf(err, errlen, "The destination is too long or malformed.");
		return -1;
	}
	return 0;
}

/* web_mail_from - user, or user@sender_domain, or user@hostname */
void
web_mail_from(const char *user, const char *sender_domain,
    const char *hostname, char *out, size_t outlen)
{
	if (strchr(user, '@') != NULL)
		snprintf(out, outlen, "%s", user);
	else
		snprintf(out, outlen, "%s@%s", user, sender_domain ?
		    sender_domain : hostname);
}

/* web_mail_b64_word - n bytes as base64, no line break */
static void
web_mail_b64_word(FILE *fp, const unsigned char *p, size_t n)
{
	static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmn"
	    "opqrstuvwxyz0123456789+/";
	unsigned long v;
	size_t k;

	for (k = 0; k < n; k += 3) {
		v = (unsigned long)p[k] << 16;
		if (k + 1 < n)
			v |= (unsigned long)p[k + 1] << 8;
		if (k + 2 < n)
			v |= p[k + 2];
		fputc(tab[v >> 18 & 63], fp);
		fputc(tab[v >> 12 & 63], fp);
		fputc(k + 1 < n ? tab[v >> 6 & 63] : '=', fp);
		fputc(k + 2 < n ? tab[v & 63] : '=', fp);
	}
}

/* web_mail_b64 - len bytes as base64 lines of 76 characters, CRLF */
static void
web_mail_b64(FILE *fp, const unsigned char *p, size_t len)
{
	size_t i, n;

	for (i = 0; i < len; i += WEB_MAIL_B64_LINE) {
		n = len - i < WEB_MAIL_B64_LINE ? len - i : WEB_MAIL_B64_LINE;
		web_mail_b64_word(fp, p + i, n);
		fputs("\r\n", fp);
	}
}

/* web_mail_ascii - printable ASCII (and tabs) only, at most max bytes */
static int
web_mail_ascii(const char *s, size_t max)
{
	size_t n = 0;

	for (; *s != '\0'; s++, n++)
		if (n >= max || (*s != '\t' && ((unsigned char)*s < ' ' ||
		    (unsigned char)*s >= 0x7f)))
			return 0;
	return 1;
}

/* web_mail_utf8_len - bytes of the UTF-8 sequence that starts at s (1..4) */
static size_t
web_mail_utf8_len(const char *s)
{
	unsigned char c = (unsigned char)*s;
	size_t n = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1, i;

	for (i = 1; i < n; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			return 1;
	return n;
}

/* web_mail_subject - Subject:, in RFC 2047 encoded-words when not ASCII */
static void
web_mail_subject(FILE *fp, const char *s)
{
	char clean[WEB_MAIL_SUBJECT_MAX + 1];
	size_t i, n = 0, start, k;

	for (i = 0; s[i] != '\0' && n < WEB_MAIL_SUBJECT_MAX; i++)
		clean[n++] = (unsigned char)s[i] < ' ' || s[i] == 0x7f ? ' ' : s[i];
	clean[n] = '\0';
	if (web_mail_ascii(clean, WEB_MAIL_SUBJECT_MAX)) {
		fprintf(fp, "Subject: %s\r\n", clean);
		return;
	}
	fputs("Subject:", fp);
	for (start = 0; start < n; start = i) {
		/* whole characters, at most 45 bytes (60 encoded) a word */
		for (i = start; i < n && (k = web_mail_utf8_len(clean + i)) <=
		    45 - (i - start) && i + k <= n; i += k)
			;
		if (i == start)
			i = start + 1;
		fputs(" =?UTF-8?B?", fp);
		/* base64 of one short run: no line break inside */
		web_mail_b64_word(fp, (const unsigned char *)clean + start,
		    i - start);
		fputs("?=", fp);
		if (i < n)
			fputs("\r\n", fp);
	}
	fputs("\r\n", fp);
}

/* web_mail_basename - a file name without its directory, cleaned */
static void
web_mail_basename(const char *name, char *out, size_t outlen)
{
	const char *b = name, *p;
	size_t n = 0;

	for (p = name; *p != '\0'; p++)
		if (*p == '/' || *p == '\\')
			b = p + 1;
	for (; *b != '\0' && n + 1 < outlen; b++)
		out[n++] = (unsigned char)*b < ' ' || *b == 0x7f || *b == '"' ?
		    '_' : *b;
	out[n] = '\0';
	if (n == 0)
		snprintf(out, outlen, "document");
}

/* web_mail_type_ok - "type/subtype" of token characters */
static int
web_mail_type_ok(const char *t)
{
	const char *slash = strchr(t, '/');
	size_t n = strlen(t);

	return slash != NULL && slash != t && slash[1] != '\0' && n < 100 &&
	    strspn(t, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789!#$&^_.+-/") == n && strchr(slash + 1, '/') == NULL;
}

/* web_mail_file - one attachment part */
static void
web_mail_file(FILE *fp, const struct web_mail *m, const struct web_mail_file *f)
{
	char name[WEB_MAIL_NAME_MAX + 1];
	const unsigned char *p;

	web_mail_basename(f->name, name, sizeof(name));
	fprintf(fp, "--%s\r\nContent-Type: %s\r\n", m->boundary,
	    web_mail_type_ok(f->type) ? f->type : "application/octet-stream");
	if (web_mail_ascii(name, WEB_MAIL_NAME_MAX))
		fprintf(fp, "Content-Disposition: attachment; filename=\"%s\"\r\n",
		    name);
	else {
		/* RFC 2231: every byte outside a safe set percent-encoded */
		fputs("Content-Disposition: attachment;\r\n filename*=UTF-8''", fp);
		for (p = (const unsigned char *)name; *p != '\0'; p++)
			if (isalnum(*p) || strchr(".-_", *p) != NULL)
				fputc(*p, fp);
			else
				fprintf(fp, "%%%02X", *p);
		fputs("\r\n", fp);
	}
	fputs("Content-Transfer-Encoding: base64\r\n\r\n", fp);
	web_mail_b64(fp, f->data, f->len);
}

/* web_mail_note_7bit - may the note go as 7bit lines? */
static int
web_mail_note_7bit(const char *s)
{
	size_t line = 0;

	for (; *s != '\0'; s++) {
		if (*s == '\r' || *s == '\n') {
			line = 0;
			continue;
		}
		if ((unsigned char)*s >= 0x7f || ((unsigned char)*s < ' ' &&
		    *s != '\t') || ++line > WEB_MAIL_7BIT_LINE)
			return 0;
	}
	return 1;
}

/* web_mail_note - the note's part: lines as CRLF, dot-stuffed (7bit) */
static void
web_mail_note(FILE *fp, const struct web_mail *m)
{
	const char *s = m->note;
	int bol = 1;

	fprintf(fp, "--%s\r\nContent-Type: text/plain; charset=utf-8\r\n",
	    m->boundary);
	if (!web_mail_note_7bit(s)) {
		fputs("Content-Transfer-Encoding: base64\r\n\r\n", fp);
		web_mail_b64(fp, (const unsigned char *)s, strlen(s));
		return;
	}
	fputs("Content-Transfer-Encoding: 7bit\r\n\r\n", fp);
	for (; *s != '\0'; s++) {
		if (*s == '\r' || *s == '\n') {
			if (*s == '\r' && s[1] == '\n')
				s++;
			fputs("\r\n", fp);
			bol = 1;
			continue;
		}
		if (bol && *s == '.')
			fputc('.', fp);
		fputc(*s, fp);
		bol = 0;
	}
	if (!bol)
		fputs("\r\n", fp);
}

/* web_mail_write - the message as DATA text (web_mail.h) */
int
web_mail_write(FILE *fp, const struct web_mail *m)
{
	char date[64];
	time_t t = (time_t)m->date;
	struct tm tm;
	size_t i;

	if (localtime_r(&t, &tm) == NULL || strftime(date, sizeof(date),
	    "%a, %d %b %Y %H:%M:%S %z", &tm) == 0)
		return -1;
	fprintf(fp, "Date: %s\r\nFrom: <%s>\r\nTo: <%s>\r\n", date, m->from,
	    m->to);
	web_mail_subject(fp, m->subject);
	fprintf(fp, "Message-ID: <%s@%s>\r\nMIME-Version: 1.0\r\n"
	    "Content-Type: multipart/mixed; boundary=\"%s\"\r\n\r\n"
	    "This is a MIME message with %zu document(s).\r\n", m->msgid,
	    m->msgid_domain, m->boundary, m->nfiles);
	web_mail_note(fp, m);
	for (i = 0; i < m->nfiles; i++)
		web_mail_file(fp, m, &m->files[i]);
	fprintf(fp, "--%s--\r\n", m->boundary);
	return fflush(fp) == 0 && !ferror(fp) ? 0 : -1;
}

/* web_mail_reply - the code of a reply line and whether more follow */
int
web_mail_reply(const char *line, int *code, int *more)
{
	if (strlen(line) < 3 || line[0] < '2' || line[0] > '5' ||
	    !isdigit((unsigned char)line[1]) || !isdigit((unsigned char)line[2]) ||
	    (line[3] != '\0' && line[3] != ' ' && line[3] != '-'))
		return -1;
	*code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
	*more = line[3] == '-';
	return 0;
}

/* web_mail_qid - the queue ID after "queued as " */
int
web_mail_qid(const char *line, char *qid, size_t qidlen)
{
	const char *p = strstr(line, "queued as ");
	size_t n;

	if (p == NULL)
		return -1;
	p += 10;
	n = strcspn(p, " \r\n");
	if (n != SPOOL_QID_LEN || qidlen <= n)
		return -1;
	memcpy(qid, p, n);
	qid[n] = '\0';
	return spool_qid_valid(qid) ? 0 : -1;
}
