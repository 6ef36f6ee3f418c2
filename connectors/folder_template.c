/*
 * folder_template.c - name templates and safe names for the folder connector
 *
 * A template is literal text with fields in braces and strftime(3)
 * conversions of the arrival time:
 *
 *   path_template: "%Y/%m/{fax|nofax}"   file_template: "{qid}-{counter:2}{ext}"
 *
 * Fields: qid, sender, sender_local, sender_domain, rcpt, rcpt_local,
 * rcpt_domain, client, subject, filename, file (the name without its
 * extension), ext (".pdf", or ""), counter (the document's number in the
 * message; {counter:N} pads to N digits), the router's fax, name and
 * company, and param:NAME for any router parameter.  {field|text} gives
 * text when the field is empty.  A literal '/' separates directories; the
 * value of a field or a conversion never does ('/' and '\' become '_').
 *
 * Every name component is then made safe: no control characters, no
 * invalid UTF-8, no leading dot (so never "." or ".."), no empty name,
 * at most name_max bytes (a file keeps its extension), and with the
 * "windows" policy none of <>:"|?* and no trailing dot or space and no
 * reserved device name (CON, NUL, COM1...); "ascii" also replaces every
 * non-ASCII character.  This file calls neither GMime nor gw_*: the unit
 * tests link it alone.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "folder.h"

/* Where the expansion writes, and the first error. */
struct expand {
	char *out;
	size_t len, cap;
	int overflow;
	char *err;
	size_t errlen;
};

static const char *const folder_rcpt_fields[] = {
	"rcpt", "rcpt_local", "rcpt_domain", "fax", "name", "company", NULL
};

/* utf8_seq - length of the valid UTF-8 sequence at s (0: invalid); *cp */
static size_t
utf8_seq(const unsigned char *s, size_t n, unsigned long *cp)
{
	size_t len, i;
	unsigned long c;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, c = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, c = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, c = s[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if ((len == 3 && c < 0x800) || (len == 4 && (c < 0x10000 ||
	    c > 0x10ffff)) || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

/* folder_clean_field - a value without separators, controls, bad UTF-8 */
void
folder_clean_field(const char *in, size_t inlen,
    const struct folder_policy *pol, char *out, size_t outlen)
{
	const unsigned char *s = (const unsigned char *)in;
	size_t i = 0, o = 0, n;
	unsigned long cp;

	while (i < inlen && s[i] != '\0') {
		n = utf8_seq(s + i, inlen - i, &cp);
		if (n == 0 || (pol->charset == FOLDER_ASCII && cp >= 0x80))
			cp = '_';
		else if (cp == '\t' || cp == '\r' || cp == '\n')
			cp = ' ';
		else if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f))
			cp = '_';
		else if (cp == '/' || cp == '\\')
			cp = '_';
		else if (pol->charset != FOLDER_POSIX && cp < 0x80 &&
		    strchr("<>:\"|?*", (int)cp) != NULL)
			cp = '_';
		if (n == 0)
			n = 1;
		if (cp < 0x80) {
			if (o + 2 > outlen)
				break;
			out[o++] = (char)cp;
		} else {
			if (o + n + 1 > outlen)
				break;
			memcpy(out + o, s + i, n);
			o += n;
		}
		i += n;
	}
	if (outlen > 0)
		out[o] = '\0';
}

/* folder_split_ext - offset of the extension (the last '.', not first) */
void
folder_split_ext(const char *name, size_t *stem)
{
	const char *dot = strrchr(name, '.');
	size_t len = strlen(name);

	if (dot == NULL || dot == name || len - (size_t)(dot - name) > 16 ||
	    dot[1] == '\0')
		*stem = len;
	else
		*stem = (size_t)(dot - name);
}

/* utf8_cut - largest length <= max that ends on a character boundary */
static size_t
utf8_cut(const char *s, size_t max)
{
	while (max > 0 && ((unsigned char)s[max] & 0xc0) == 0x80)
		max--;
	return max;
}

/* folder_reserved - a Windows device name (CON, NUL, COM1, LPT9...) */
static int
folder_reserved(const char *s)
{
	static const char *const dev[] = { "CON", "PRN", "AUX", "NUL", NULL };
	size_t stem = strcspn(s, ".");
	int i;

	while (stem > 0 && s[stem - 1] == ' ')
		stem--;
	for (i = 0; dev[i] != NULL; i++)
		if (stem == 3 && strncasecmp(s, dev[i], 3) == 0)
			return 1;
	return stem == 4 && (strncasecmp(s, "COM", 3) == 0 ||
	    strncasecmp(s, "LPT", 3) == 0) && s[3] >= '1' && s[3] <= '9';
}

/* folder_trim - remove spaces (Windows: and dots) at the end, spaces at the start */
static void
folder_trim(char *s, int windows)
{
	size_t len = strlen(s), lead;

	while (len > 0 && (s[len - 1] == ' ' || (windows && s[len - 1] == '.')))
		s[--len] = '\0';
	lead = strspn(s, " ");
	memmove(s, s + lead, len - lead + 1);
}

/* folder_clean_component - make one name component safe, in place */
void
folder_clean_component(char *s, size_t cap, const struct folder_policy *pol,
    int is_file)
{
	char tmp[FOLDER_FIELD_MAX * 2];
	size_t i, stem, ext, max;
	int win = pol->charset == FOLDER_WINDOWS;

	folder_clean_field(s, strlen(s), pol, tmp, sizeof(tmp));
	folder_trim(tmp, win);
	for (i = 0; tmp[i] == '.'; i++)
		tmp[i] = '_';
	if (tmp[0] == '\0')
		snprintf(tmp, sizeof(tmp), "_");
	if (win && folder_reserved(tmp)) {
		memmove(tmp + 1, tmp, strnlen(tmp, sizeof(tmp) - 2) + 1);
		tmp[0] = '_';
		tmp[sizeof(tmp) - 1] = '\0';
	}
	max = pol->name_max < cap ? pol->name_max : cap - 1;
	if (strlen(tmp) > max) {
		stem = strlen(tmp);
		if (is_file)
			folder_split_ext(tmp, &stem);
		ext = strlen(tmp) - stem;
		if (ext * 2 > max)
			ext = 0, stem = strlen(tmp);
		i = utf8_cut(tmp, max - ext);
		memmove(tmp + i, tmp + stem, ext + 1);
		tmp[i + ext] = '\0';
		folder_trim(tmp, win);
		if (tmp[0] == '\0')
			snprintf(tmp, sizeof(tmp), "_");
	}
	snprintf(s, cap, "%s", tmp);
}

/* ex_put - append bytes to the expansion */
static void
ex_put(struct expand *ex, const char *s, size_t n)
{
	if (ex->len + n + 1 > ex->cap) {
		ex->overflow = 1;
		return;
	}
	memcpy(ex->out + ex->len, s, n);
	ex->len += n;
	ex->out[ex->len] = '\0';
}

/* ex_put_field - append a cleaned value */
static void
ex_put_field(struct expand *ex, const char *v, const struct folder_policy *pol)
{
	char buf[FOLDER_FIELD_MAX];

	folder_clean_field(v, strlen(v), pol, buf, sizeof(buf));
	ex_put(ex, buf, strlen(buf));
}

/* addr_part - local part (which 0) or domain (1) of an address, in buf */
static const char *
addr_part(const char *addr, int which, char *buf, size_t len)
{
	const char *at = addr ? strrchr(addr, '@') : NULL;

	if (addr == NULL)
		return "";
	if (at == NULL)
		return which == 0 ? addr : "";
	if (which == 1)
		return at + 1;
	snprintf(buf, len, "%.*s", (int)(at - addr), addr);
	return buf;
}

/* field_value - the value of a field; NULL if the name is unknown */
static const char *
field_value(const struct folder_fields *f, const char *name, const char *arg,
    char *buf, size_t len)
{
	const char *fn = f && f->filename ? f->filename : "";
	size_t stem;

	if (strcmp(name, "qid") == 0)
		return f && f->qid ? f->qid : "";
	if (strcmp(name, "sender") == 0)
		return f && f->sender ? f->sender : "";
	if (strcmp(name, "sender_local") == 0 || strcmp(name, "sender_domain") == 0)
		return addr_part(f ? f->sender : NULL, name[7] == 'd', buf, len);
	if (strcmp(name, "rcpt") == 0)
		return f && f->rcpt ? f->rcpt : "";
	if (strcmp(name, "rcpt_local") == 0 || strcmp(name, "rcpt_domain") == 0)
		return addr_part(f ? f->rcpt : NULL, name[5] == 'd', buf, len);
	if (strcmp(name, "client") == 0)
		return f && f->client ? f->client : "";
	if (strcmp(name, "subject") == 0)
		return f && f->subject ? f->subject : "";
	if (strcmp(name, "filename") == 0)
		return fn;
	if (strcmp(name, "file") == 0 || strcmp(name, "ext") == 0) {
		folder_split_ext(fn, &stem);
		if (name[0] == 'e')
			return fn + stem;
		snprintf(buf, len, "%.*s", (int)stem, fn);
		return buf;
	}
	if (strcmp(name, "counter") == 0) {
		snprintf(buf, len, "%0*u", arg ? atoi(arg) : 1,
		    f ? f->counter : 1);
		return buf;
	}
	if (strcmp(name, "fax") == 0 || strcmp(name, "name") == 0 ||
	    strcmp(name, "company") == 0 || strcmp(name, "param") == 0) {
		if (strcmp(name, "param") == 0)
			name = arg;
		if (f == NULL || f->param == NULL || name == NULL)
			return "";
		arg = f->param(f->param_ctx, name);
		return arg ? arg : "";
	}
	return NULL;
}

/* ex_field - expand "{name[:arg][|default]}" at *p (after the brace) */
static int
ex_field(struct expand *ex, const char **p, const struct folder_fields *f,
    const struct folder_policy *pol)
{
	char spec[128], buf[FOLDER_FIELD_MAX], *arg, *def;
	const char *end = strchr(*p, '}'), *v;
	int iscounter;

	if (end == NULL || (size_t)(end - *p) >= sizeof(spec)) {
		snprintf(ex->err, ex->errlen, "unterminated or too long field "
		    "at '{%.20s'", *p);
		return -1;
	}
	snprintf(spec, sizeof(spec), "%.*s", (int)(end - *p), *p);
	*p = end + 1;
	if ((def = strchr(spec, '|')) != NULL)
		*def++ = '\0';
	if ((arg = strchr(spec, ':')) != NULL)
		*arg++ = '\0';
	iscounter = strcmp(spec, "counter") == 0;
	if ((arg != NULL) != (strcmp(spec, "param") == 0 || (iscounter &&
	    arg != NULL)) || (arg != NULL && (arg[0] == '\0' || (iscounter &&
	    (strlen(arg) != 1 || !isdigit((unsigned char)arg[0])))))) {
		snprintf(ex->err, ex->errlen, "bad field {%s%s%s}: use "
		    "{counter:N} (N a digit) or {param:NAME}", spec,
		    arg ? ":" : "", arg ? arg : "");
		return -1;
	}
	if ((v = field_value(f, spec, arg, buf, sizeof(buf))) == NULL) {
		snprintf(ex->err, ex->errlen, "unknown field {%s}", spec);
		return -1;
	}
	ex_put_field(ex, v[0] == '\0' && def != NULL ? def : v, pol);
	return 0;
}

/* ex_time - expand one strftime conversion at *p (after the '%') */
static int
ex_time(struct expand *ex, const char **p, const struct folder_fields *f,
    const struct folder_policy *pol)
{
	char fmt[16], out[256];
	size_t n = 1;
	struct tm tm;
	time_t t = f ? f->arrival : 0;
	const char *s = *p;

	fmt[0] = '%';
	while (*s != '\0' && strchr("_-0^#", *s) != NULL && n < 4)
		fmt[n++] = *s++;
	while (isdigit((unsigned char)*s) && n < 6)
		fmt[n++] = *s++;
	if (*s == 'E' || *s == 'O')
		fmt[n++] = *s++;
	if (*s == '\0' || strchr("aAbBcCdDeFgGhHIjklmMpPrRsStTuUVwWxXyYzZ%",
	    *s) == NULL) {
		snprintf(ex->err, ex->errlen, "bad time conversion '%%%.1s'",
		    *s ? s : "");
		return -1;
	}
	fmt[n++] = *s++;
	fmt[n] = '\0';
	*p = s;
	if (f != NULL && f->utc)
		gmtime_r(&t, &tm);
	else
		localtime_r(&t, &tm);
	/* fmt is one conversion checked above. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
	if (strftime(out, sizeof(out), fmt, &tm) == 0)
		out[0] = '\0';
#pragma GCC diagnostic pop
	ex_put_field(ex, out, pol);
	return 0;
}

/* folder_join - clean each component of raw into out ("a/b"; files: one) */
static int
folder_join(char *raw, const struct folder_policy *pol, int is_file,
    char *out, size_t outlen)
{
	char comp[NAME_MAX * 4 + 1], *c, *save = NULL;
	size_t len = 0;

	out[0] = '\0';
	for (c = strtok_r(raw, "/", &save); c != NULL;
	    c = strtok_r(NULL, "/", &save)) {
		snprintf(comp, sizeof(comp), "%s", c);
		folder_clean_component(comp, NAME_MAX + 1, pol, is_file);
		if (len + strlen(comp) + 2 > outlen)
			return -1;
		len += (size_t)snprintf(out + len, outlen - len, "%s%s",
		    len ? "/" : "", comp);
	}
	if (is_file && out[0] == '\0')
		snprintf(out, outlen, "_");
	return 0;
}

/*
 * folder_template_run - expand tmpl with f (NULL: only check it) into out;
 * -1 with a message in err
 */
static int
folder_template_run(const char *tmpl, const struct folder_fields *f,
    const struct folder_policy *pol, int is_file, char *out, size_t outlen,
    char *err, size_t errlen)
{
	char raw[FOLDER_TEMPLATE_MAX * 4];
	struct expand ex = { raw, 0, sizeof(raw), 0, err, errlen };
	const char *p = tmpl;
	int r = 0;

	raw[0] = '\0';
	while (*p != '\0' && r == 0) {
		if (*p == '{') {
			p++;
			r = ex_field(&ex, &p, f, pol);
		} else if (*p == '%') {
			p++;
			r = ex_time(&ex, &p, f, pol);
		} else if (*p == '}') {
			snprintf(err, errlen, "'}' without '{'");
			r = -1;
		} else if ((unsigned char)*p < 0x20 || *p == 0x7f) {
			snprintf(err, errlen, "control character in template");
			r = -1;
		} else if (*p == '/' && is_file) {
			snprintf(err, errlen, "a file name template cannot "
			    "contain '/' (directories go in path_template)");
			r = -1;
		} else
			ex_put(&ex, p++, 1);
	}
	if (r == 0 && ex.overflow) {
		snprintf(err, errlen, "expanded name too long");
		r = -1;
	}
	if (r == 0 && folder_join(raw, pol, is_file, out, outlen) == -1) {
		snprintf(err, errlen, "expanded path too long");
		r = -1;
	}
	return r;
}

/* folder_template_check - validate a template; -1 with err */
int
folder_template_check(const char *tmpl, int is_file, char *err, size_t errlen)
{
	struct folder_policy pol = { FOLDER_POSIX, 255 };
	char out[FOLDER_TEMPLATE_MAX * 4];

	return folder_template_run(tmpl, NULL, &pol, is_file, out, sizeof(out),
	    err, errlen);
}

/* folder_template_uses_rcpt - does tmpl name a per-recipient field? */
int
folder_template_uses_rcpt(const char *tmpl)
{
	char pat[2][32];
	int i;

	if (strstr(tmpl, "{param:") != NULL)
		return 1;
	for (i = 0; folder_rcpt_fields[i] != NULL; i++) {
		snprintf(pat[0], sizeof(pat[0]), "{%s}", folder_rcpt_fields[i]);
		snprintf(pat[1], sizeof(pat[1]), "{%s|", folder_rcpt_fields[i]);
		if (strstr(tmpl, pat[0]) != NULL || strstr(tmpl, pat[1]) != NULL)
			return 1;
	}
	return 0;
}

/*
 * folder_template_expand - expand tmpl into a safe relative path (is_file:
 * one file name); -1 when it cannot be made to fit
 */
int
folder_template_expand(const char *tmpl, const struct folder_fields *f,
    const struct folder_policy *pol, int is_file, char *out, size_t outlen)
{
	char err[256];

	return folder_template_run(tmpl, f, pol, is_file, out, outlen, err,
	    sizeof(err));
}
