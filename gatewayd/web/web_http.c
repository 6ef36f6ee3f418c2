/*
 * web_http.c - gatewayd-web's HTTP side on libmicrohttpd
 *
 * One handler for every request: the body of a POST is collected (at
 * most WEB_FORM_MAX bytes, urlencoded forms only), the session cookie
 * looked up, the page run (web_pages.c), and its answer sent with the
 * same security headers on every response: a Content-Security-Policy
 * that allows nothing but this site's stylesheet and forms (no script at
 * all), no framing, no sniffing, no referrer, no caching.  Cookies are
 * HttpOnly, SameSite=Strict, and Secure when web.cookie_secure.
 */
#include "config.h"

#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <microhttpd.h>

#include "cfg.h"
#include "log.h"
#include "web.h"
#include "web_form.h"
#include "web_http.h"
#include "xmalloc.h"

#define WEB_COOKIE	"gw_session"

/* One request's state between the handler's calls. */
struct web_upload {
	struct web_buf body;
	int too_big;
};

/* web_redirect - answer 303 See Other to location */
void
web_redirect(struct web_req *r, const char *location)
{
	r->status = MHD_HTTP_SEE_OTHER;
	snprintf(r->location, sizeof(r->location), "%s", location);
}

/* web_error - an error page */
void
web_error(struct web_req *r, int status, const char *msg)
{
	char title[64];

	web_buf_free(&r->body);
	r->status = status;
	r->type = "text/html; charset=utf-8";
	r->location[0] = '\0';
	snprintf(title, sizeof(title), "%s", status == 403 ? "Forbidden" :
	    status == 404 ? "Not found" : status == 429 ? "Too many attempts" :
	    status < 500 ? "Request refused" : "Service unavailable");
	web_html_head(&r->body, title, r->session);
	web_buf_str(&r->body, "<p class=\"err\" role=\"alert\">");
	web_html(&r->body, msg);
	web_buf_str(&r->body, "</p><p><a href=\"/\">Back</a></p>");
	web_html_foot(&r->body);
}

/* web_csrf - the POST carries the session's CSRF token, or 403 */
int
web_csrf(struct web_req *r)
{
	const char *t = r->form ? web_form_get(r->form, "csrf") : NULL;

	if (r->session != NULL && web_csrf_ok(r->session, t))
		return 1;
	log_warnx("web: %s %s from %s refused: missing or wrong CSRF token",
	    r->method, r->path, r->client);
	web_error(r, MHD_HTTP_FORBIDDEN, "This form has no valid security "
	    "token (it is too old, or it was not sent by this site). "
	    "Reload the page and try again.");
	return 0;
}

/* web_session_cookie - set the session cookie, or expire it (id NULL) */
void
web_session_cookie(struct web_req *r, const char *id)
{
	snprintf(r->cookie, sizeof(r->cookie), "%s=%s; Path=/; HttpOnly; "
	    "SameSite=Strict%s; Max-Age=%lld", WEB_COOKIE, id ? id : "",
	    r->w->cfg->web.cookie_secure ? "; Secure" : "",
	    id ? (long long)r->w->cfg->web.session_lifetime : 0LL);
}

/* web_http_client - the client's address as text */
static void
web_http_client(struct MHD_Connection *conn, char *buf, size_t len)
{
	const union MHD_ConnectionInfo *ci;
	const struct sockaddr *sa;

	snprintf(buf, len, "unknown");
	ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (ci == NULL || (sa = ci->client_addr) == NULL)
		return;
	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)
		    sa)->sin_addr, buf, (socklen_t)len);
	else if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)
		    sa)->sin6_addr, buf, (socklen_t)len);
}

/* web_http_headers - the headers every answer carries */
static void
web_http_headers(struct MHD_Response *resp, const struct web_req *r)
{
	MHD_add_response_header(resp, "Content-Security-Policy",
	    "default-src 'none'; style-src 'self'; img-src 'self'; "
	    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'");
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(resp, "X-Frame-Options", "DENY");
	MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
	MHD_add_response_header(resp, "Cache-Control", "no-store");
	if (r->w->cfg->web.tls)
		MHD_add_response_header(resp, "Strict-Transport-Security",
		    "max-age=31536000");
	if (r->type != NULL)
		MHD_add_response_header(resp, "Content-Type", r->type);
	if (r->location[0] != '\0')
		MHD_add_response_header(resp, "Location", r->location);
	if (r->cookie[0] != '\0')
		MHD_add_response_header(resp, "Set-Cookie", r->cookie);
	if (r->disposition[0] != '\0')
		MHD_add_response_header(resp, "Content-Disposition",
		    r->disposition);
}

/* web_http_send - queue the page's answer */
static enum MHD_Result
web_http_send(struct web_req *r)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;
	size_t len;
	char *data;

	if (r->body.cut)
		web_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "page too large");
	data = web_buf_take(&r->body, &len);
	resp = MHD_create_response_from_buffer(len, data,
	    MHD_RESPMEM_MUST_FREE);
	if (resp == NULL) {
		free(data);
		return MHD_NO;
	}
	web_http_headers(resp, r);
	ret = MHD_queue_response(r->conn, (unsigned)r->status, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* web_http_form - the body of a POST as a form, or an error answer */
static int
web_http_form(struct web_req *r, struct web_upload *u, struct web_form *f)
{
	const char *ct = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_CONTENT_TYPE);
	char err[128];

	if (u->too_big) {
		web_error(r, MHD_HTTP_CONTENT_TOO_LARGE, "form too large");
		return -1;
	}
	if (ct == NULL || strncasecmp(ct, "application/x-www-form-urlencoded",
	    33) != 0) {
		web_error(r, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, "forms only");
		return -1;
	}
	if (web_form_parse(f, u->body.data ? u->body.data : "", u->body.len,
	    err, sizeof(err)) == -1) {
		web_error(r, MHD_HTTP_BAD_REQUEST, err);
		return -1;
	}
	r->form = f;
	return 0;
}

/* web_http_answer - the whole request is in: run its page */
static enum MHD_Result
web_http_answer(struct web *w, struct MHD_Connection *conn, const char *url,
    const char *method, struct web_upload *u)
{
	struct web_form form;
	struct web_req r;
	enum MHD_Result ret;

	memset(&r, 0, sizeof(r));
	memset(&form, 0, sizeof(form));
	r.w = w;
	r.conn = conn;
	r.method = method;
	r.path = url;
	r.status = MHD_HTTP_OK;
	r.type = "text/html; charset=utf-8";
	web_http_client(conn, r.client, sizeof(r.client));
	r.session = web_session_find(&w->sessions,
	    MHD_lookup_connection_value(conn, MHD_COOKIE_KIND, WEB_COOKIE),
	    time(NULL));
	r.post = strcmp(method, "POST") == 0;
	if (!r.post && strcmp(method, "GET") != 0 &&
	    strcmp(method, "HEAD") != 0)
		web_error(&r, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed");
	else if (!r.post || web_http_form(&r, u, &form) == 0)
		web_pages(&r);
	ret = web_http_send(&r);
	web_form_free(&form);
	return ret;
}

/* web_http_handler - libmicrohttpd's access handler (called per chunk) */
enum MHD_Result
web_http_handler(void *cls, struct MHD_Connection *conn, const char *url,
    const char *method, const char *version, const char *data,
    size_t *size, void **ctx)
{
	struct web_upload *u = *ctx;

	(void)version;
	if (u == NULL) {
		*ctx = xcalloc(1, sizeof(*u));
		return MHD_YES;
	}
	if (*size != 0) {
		if (u->too_big || *size > WEB_FORM_MAX - u->body.len)
			u->too_big = 1;
		else
			web_buf_add(&u->body, data, *size);
		*size = 0;
		return MHD_YES;
	}
	return web_http_answer(cls, conn, url, method, u);
}

/* web_http_done - a request ended: drop its state (the body may hold a password) */
void
web_http_done(void *cls, struct MHD_Connection *conn, void **ctx,
    enum MHD_RequestTerminationCode why)
{
	struct web_upload *u = *ctx;

	(void)cls;
	(void)conn;
	(void)why;
	if (u == NULL)
		return;
	if (u->body.data != NULL)
		explicit_bzero(u->body.data, u->body.cap);
	web_buf_free(&u->body);
	free(u);
	*ctx = NULL;
}
