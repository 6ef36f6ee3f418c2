/*
 * web_html.c - the bounded page buffer, the HTML escaper and the page
 * frame of gatewayd-web (web_html.h)
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "web_html.h"
#include "web_session.h"
#include "xmalloc.h"

/* web_buf_add - append len bytes, or mark the buffer cut */
void
web_buf_add(struct web_buf *b, const char *s, size_t len)
{
	size_t cap;

	if (b->cut || len > WEB_BUF_MAX - b->len) {
		b->cut = 1;
		return;
	}
	if (b->len + len + 1 > b->cap) {
		cap = b->cap ? b->cap : 4096;
		while (cap < b->len + len + 1)
			cap *= 2;
		b->data = xreallocarray(b->data, cap, 1);
		b->cap = cap;
	}
	memcpy(b->data + b->len, s, len);
	b->len += len;
	b->data[b->len] = '\0';
}

/* web_buf_str - append a string */
void
web_buf_str(struct web_buf *b, const char *s)
{
	web_buf_add(b, s, strlen(s));
}

/* web_buf_printf - append formatted text (the project's own strings only) */
void
web_buf_printf(struct web_buf *b, const char *fmt, ...)
{
	char small[1024], *big = NULL;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n < sizeof(small)) {
		web_buf_add(b, small, (size_t)n);
		return;
	}
	va_start(ap, fmt);
	if (vasprintf(&big, fmt, ap) >= 0)
		web_buf_add(b, big, (size_t)n);
	va_end(ap);
	free(big);
}

/* web_buf_take - the bytes, now the caller's */
char *
web_buf_take(struct web_buf *b, size_t *len)
{
	char *d = b->data ? b->data : xstrdup("");

	*len = b->len;
	memset(b, 0, sizeof(*b));
	return d;
}

/* web_buf_free - drop the bytes */
void
web_buf_free(struct web_buf *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}

/* web_utf8_len - length of the valid UTF-8 sequence at s, 0 if none */
static size_t
web_utf8_len(const unsigned char *s)
{
	size_t n, i;
	unsigned int c;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4;
	else
		return 0;
	for (i = 1; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	c = n == 2 ? (s[0] & 0x1fu) << 6 | (s[1] & 0x3fu) :
	    n == 3 ? (s[0] & 0x0fu) << 12 | (s[1] & 0x3fu) << 6 | (s[2] & 0x3fu) :
	    (s[0] & 0x07u) << 18 | (s[1] & 0x3fu) << 12 | (s[2] & 0x3fu) << 6 |
	    (s[3] & 0x3fu);
	if ((n == 3 && (c < 0x800 || (c >= 0xd800 && c <= 0xdfff))) ||
	    (n == 4 && (c < 0x10000 || c > 0x10ffff)) ||
	    (c >= 0x80 && c <= 0x9f))
		return 0;		/* overlong, surrogate, C1 control */
	return n;
}

/* web_html - s escaped for text and quoted attribute values */
void
web_html(struct web_buf *b, const char *s)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	size_t n;

	while (*p != '\0') {
		switch (*p) {
		case '&': web_buf_str(b, "&amp;"); p++; continue;
		case '<': web_buf_str(b, "&lt;"); p++; continue;
		case '>': web_buf_str(b, "&gt;"); p++; continue;
		case '"': web_buf_str(b, "&quot;"); p++; continue;
		case '\'': web_buf_str(b, "&#39;"); p++; continue;
		}
		if ((*p < 0x20 && *p != '\t') || *p == 0x7f ||
		    (n = web_utf8_len(p)) == 0) {
			web_buf_str(b, "\xef\xbf\xbd");	/* U+FFFD */
			p++;
			continue;
		}
		web_buf_add(b, (const char *)p, n);
		p += n;
	}
}

/* The stylesheet (/style.css): small, readable on a phone, visible focus. */
static const char web_css[] =
    "body{font-family:system-ui,sans-serif;margin:0;color:#222;"
    "background:#fafafa}"
    "header{background:#234;color:#fff;padding:.6em 1em;display:flex;"
    "flex-wrap:wrap;gap:1em;align-items:center}"
    "header a{color:#fff}header button{color:#fff;background:#456;"
    "border:1px solid #fff;border-radius:3px}"
    "header form{margin:0 0 0 auto}"
    "main{max-width:60em;margin:1em auto;padding:0 1em}"
    "table{border-collapse:collapse;width:100%}"
    "th,td{text-align:left;padding:.4em;border-bottom:1px solid #ddd;"
    "vertical-align:top}"
    "input,select,button{font:inherit;padding:.3em;margin:.1em 0}"
    "textarea{width:100%;box-sizing:border-box;font:inherit}"
    "input[type=text],input[type=password],input[type=date]{width:100%;"
    "max-width:24em;box-sizing:border-box}"
    "a:focus,input:focus,select:focus,button:focus{outline:3px solid #f90}"
    ".err{background:#fdd;border:1px solid #c00;padding:.5em}"
    ".ok{background:#dfd;border:1px solid #080;padding:.5em}"
    "fieldset{margin:.5em 0;border:1px solid #ccc}"
    "button.danger{color:#fff;background:#a00;border:0}"
    "form.inline{display:inline}pre{overflow-x:auto;background:#fff;"
    "border:1px solid #ddd;padding:.5em}"
    "@media (max-width:40em){td,th{display:block;border:0}"
    "tr{border-bottom:1px solid #ccc;display:block}}";

/* web_html_css - the stylesheet */
const char *
web_html_css(void)
{
	return web_css;
}

/* web_html_head - doctype, head, the header bar (with logout when a user) */
void
web_html_head(struct web_buf *b, const char *title,
    const struct web_session *s)
{
	web_buf_str(b, "<!DOCTYPE html>\n<html lang=\"en\"><head>"
	    "<meta charset=\"utf-8\">"
	    "<meta name=\"viewport\" content=\"width=device-width,"
	    "initial-scale=1\"><title>");
	web_html(b, title);
	web_buf_str(b, " - gatewayd</title>"
	    "<link rel=\"stylesheet\" href=\"/style.css\"></head>"
	    "<body><header><strong>gatewayd</strong>");
	if (s != NULL) {
		web_buf_str(b, "<nav><a href=\"/sheets\">My routing sheets</a>");
		if (s->send)
			web_buf_str(b, " <a href=\"/send\">Send documents</a>");
		if (s->admin)
			web_buf_str(b, " <a href=\"/admin\">Queue console</a>");
		web_buf_str(b, "</nav><span>Signed in as ");
		web_html(b, s->user);
		web_buf_str(b, "</span><form method=\"post\" action=\"/logout\">"
		    "<input type=\"hidden\" name=\"csrf\" value=\"");
		web_html(b, s->csrf);
		web_buf_str(b, "\"><button type=\"submit\">Log out</button>"
		    "</form>");
	}
	web_buf_str(b, "</header><main><h1>");
	web_html(b, title);
	web_buf_str(b, "</h1>\n");
}

/* web_html_foot - close the page */
void
web_html_foot(struct web_buf *b)
{
	web_buf_str(b, "</main></body></html>\n");
}
