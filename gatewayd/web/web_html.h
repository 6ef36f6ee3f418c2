/*
 * web_html.h - gatewayd-web's output: a bounded growing buffer and the
 * one HTML escaper every page goes through
 *
 * Every string that reaches a page from a user, a directive or the
 * daemon is written with web_html(): & < > " ' become entities, control
 * characters and bytes that are not valid UTF-8 become U+FFFD, so no
 * field can open a tag, leave an attribute or break the encoding.  A
 * buffer stops growing at WEB_BUF_MAX and remembers that it was cut
 * (the page is then answered 500, never sent half).
 */
#ifndef GW_WEB_HTML_H
#define GW_WEB_HTML_H

#include <stddef.h>

#define WEB_BUF_MAX	(8u * 1024 * 1024)

struct web_buf {
	char *data;
	size_t len, cap;
	int cut;			/* a write did not fit in WEB_BUF_MAX */
};

void web_buf_add(struct web_buf *, const char *s, size_t len);
void web_buf_str(struct web_buf *, const char *s);
void web_buf_printf(struct web_buf *, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Hand the bytes over (the caller frees them); the buffer is empty again. */
char *web_buf_take(struct web_buf *, size_t *len);
void web_buf_free(struct web_buf *);

/* s escaped for HTML text and attribute values. */
void web_html(struct web_buf *, const char *s);

struct web_session;

/*
 * The page around a body: head with title and stylesheet, the header bar
 * (with the session: the user, the queue console for an admin, logout).
 */
void web_html_head(struct web_buf *, const char *title,
    const struct web_session *);
void web_html_foot(struct web_buf *);
/* The stylesheet the pages link to (/style.css). */
const char *web_html_css(void);

#endif
