/*
 * web_parse.c - URLs, auth files, status lines and the status mapping of
 * the webdav and http connectors
 *
 * Nothing here does I/O, calls libcurl or gw_*: the unit tests
 * (check_web) link this file alone.  Every output is bounded by the
 * caller's buffer; an input that does not fit is an error, never cut.
 *
 * Status mapping (the sysadmin's view of an HTTP answer):
 *   2xx                  delivered (250 2.0.0)
 *   408, 429             deferred: the server asks to come back (451 4.3.0)
 *   401, 403             bounced: not allowed (550 5.7.1)
 *   413                  bounced: too big for the server (552 5.3.4)
 *   415                  bounced: a type the server refuses (554 5.6.1)
 *   other 4xx            bounced (550 5.0.0)
 *   5xx                  deferred (451 4.3.0)
 *   1xx, 3xx, others     deferred (451 4.3.0): redirects are not followed
 *                        and a wrong URL must not lose mail
 */
#include <stdio.h>
#include <string.h>

#include "web.h"

/* web_result_set - fill a result's class, codes and text */
void
web_result_set(struct web_result *res, enum gw_result r, int code,
    const char *status)
{
	res->result = r;
	res->code = code;
	snprintf(res->status, sizeof(res->status), "%s", status);
}

/* web_map_status - the result class and codes of an HTTP status */
void
web_map_status(long code, struct web_result *res)
{
	if (code >= 200 && code <= 299)
		web_result_set(res, GW_RESULT_OK, 250, "2.0.0");
	else if (code == 408 || code == 429)
		web_result_set(res, GW_RESULT_TEMPFAIL, 451, "4.3.0");
	else if (code == 401 || code == 403)
		web_result_set(res, GW_RESULT_PERMFAIL, 550, "5.7.1");
	else if (code == 413)
		web_result_set(res, GW_RESULT_PERMFAIL, 552, "5.3.4");
	else if (code == 415)
		web_result_set(res, GW_RESULT_PERMFAIL, 554, "5.6.1");
	else if (code >= 400 && code <= 499)
		web_result_set(res, GW_RESULT_PERMFAIL, 550, "5.0.0");
	else
		web_result_set(res, GW_RESULT_TEMPFAIL, 451, "4.3.0");
}

/*
 * web_url_check - an http:// or https:// URL with a host, without user
 * information (credentials belong in auth_file) or a fragment, and
 * without a query unless allow_query; -1 with err
 */
int
web_url_check(const char *url, int allow_query, char *err, size_t errlen)
{
	const char *p, *auth;
	size_t i, alen;

	if (strncmp(url, "http://", 7) == 0)
		auth = url + 7;
	else if (strncmp(url, "https://", 8) == 0)
		auth = url + 8;
	else
		return snprintf(err, errlen, "must start with http:// or "
		    "https://"), -1;
	alen = strcspn(auth, "/?#");
	if (alen == 0)
		return snprintf(err, errlen, "has no host"), -1;
	if (memchr(auth, '@', alen) != NULL)
		return snprintf(err, errlen, "must not hold a user or a "
		    "password: put them in auth_file"), -1;
	for (i = 0; url[i] != '\0'; i++)
		if ((unsigned char)url[i] <= 0x20 || (unsigned char)url[i] >=
		    0x7f)
			return snprintf(err, errlen, "holds a space, a control "
			    "or a non-ASCII byte (percent-encode it)"), -1;
	if (strchr(url, '#') != NULL)
		return snprintf(err, errlen, "must not hold a fragment "
		    "('#')"), -1;
	p = strchr(auth, '?');
	if (p != NULL && !allow_query)
		return snprintf(err, errlen, "must not hold a query ('?'): "
		    "document paths are appended to it"), -1;
	return 0;
}

/* url_put - append n bytes; -1 when they do not fit */
static int
url_put(char *out, size_t outlen, size_t *len, const char *s, size_t n)
{
	if (*len + n + 1 > outlen)
		return -1;
	memcpy(out + *len, s, n);
	*len += n;
	out[*len] = '\0';
	return 0;
}

/* url_put_segments - percent-encode rel ("a/b c"), '/' kept between segments */
static int
url_put_segments(char *out, size_t outlen, size_t *len, const char *rel)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p;
	char enc[3];
	int r = 0;

	for (p = (const unsigned char *)rel; *p != '\0' && r == 0; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || strchr("-._~/", *p) != NULL) {
			r = url_put(out, outlen, len, (const char *)p, 1);
			continue;
		}
		enc[0] = '%';
		enc[1] = hex[*p >> 4];
		enc[2] = hex[*p & 15];
		r = url_put(out, outlen, len, enc, 3);
	}
	return r;
}

/*
 * web_url_join - base, then dir and name (each may be "" or NULL) as
 * percent-encoded path segments, '/' between them; collection: end with
 * '/'.  -1 when it does not fit.
 */
int
web_url_join(const char *base, const char *dir, const char *name,
    int collection, char *out, size_t outlen)
{
	size_t len = 0;
	const char *parts[2] = { dir, name };
	int i;

	if (outlen == 0 || url_put(out, outlen, &len, base, strlen(base)) == -1)
		return -1;
	for (i = 0; i < 2; i++) {
		if (parts[i] == NULL || parts[i][0] == '\0')
			continue;
		if (out[len - 1] != '/' && url_put(out, outlen, &len, "/",
		    1) == -1)
			return -1;
		if (url_put_segments(out, outlen, &len, parts[i]) == -1)
			return -1;
	}
	if (collection && out[len - 1] != '/' &&
	    url_put(out, outlen, &len, "/", 1) == -1)
		return -1;
	return 0;
}

/*
 * web_secret_parse - the text of an auth file, in place: one line ("\n"
 * or "\r\n" at its end allowed), no control character; basic: "user:
 * password" with a user; bearer: a token without spaces.  *len is the
 * text's length before and after.  -1 with err.
 */
int
web_secret_parse(enum web_auth auth, char *buf, size_t *len, char *err,
    size_t errlen)
{
	size_t n = *len, i;

	if (n > 0 && buf[n - 1] == '\n')
		n--;
	if (n > 0 && buf[n - 1] == '\r')
		n--;
	buf[n] = '\0';
	*len = n;
	if (n == 0)
		return snprintf(err, errlen, "is empty"), -1;
	for (i = 0; i < n; i++)
		if ((unsigned char)buf[i] < 0x20 || buf[i] == 0x7f)
			return snprintf(err, errlen, "must be one line without "
			    "control characters (byte %zu)", i + 1), -1;
	if (auth == WEB_AUTH_BASIC && (buf[0] == ':' ||
	    strchr(buf, ':') == NULL))
		return snprintf(err, errlen, "must hold user:password for "
		    "auth: basic"), -1;
	if (auth == WEB_AUTH_BEARER && strchr(buf, ' ') != NULL)
		return snprintf(err, errlen, "must hold the token alone for "
		    "auth: bearer (no spaces, no \"Bearer\" prefix)"), -1;
	return 0;
}

/*
 * web_clean_text - untrusted server text for a result: printable ASCII,
 * every run of white space or control bytes as one space, trimmed
 */
void
web_clean_text(const char *in, size_t inlen, char *out, size_t outlen)
{
	size_t i, o = 0;
	int space = 0;

	if (outlen == 0)
		return;
	for (i = 0; i < inlen && in[i] != '\0' && o + 1 < outlen; i++) {
		unsigned char c = (unsigned char)in[i];

		if (c <= 0x20 || c >= 0x7f) {
			space = o > 0;
			continue;
		}
		if (space && o + 2 < outlen)
			out[o++] = ' ';
		space = 0;
		out[o++] = (char)c;
	}
	out[o] = '\0';
}

/*
 * web_status_line - if the header line is a status line ("HTTP/1.1 403
 * Forbidden\r\n": "HTTP/", a version, a space, three digits), its clean
 * text in out and 1; else 0
 */
int
web_status_line(const char *line, size_t len, char *out, size_t outlen)
{
	const char *sp;
	size_t i;

	if (len < 5 || strncmp(line, "HTTP/", 5) != 0 ||
	    (sp = memchr(line, ' ', len)) == NULL ||
	    (size_t)(sp - line) + 4 > len)
		return 0;
	for (i = 1; i <= 3; i++)
		if (sp[i] < '0' || sp[i] > '9')
			return 0;
	web_clean_text(line, len, out, outlen);
	return 1;
}
