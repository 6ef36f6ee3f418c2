/*
 * web_http.c - gatewayd-web's HTTP side on libmicrohttpd
 *
 * One handler for every request: the body of a POST is collected (at
 * most WEB_FORM_MAX bytes of an urlencoded form; or, for the "Send
 * documents" form, multipart/form-data read by libmicrohttpd's post
 * processor: its text fields as a form of at most WEB_FORM_MAX bytes,
 * its files at most web.max_upload bytes and WEB_MAIL_FILES files, the
 * rest read and dropped, then answered 413), the session cookie
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
	struct web_buf body;		/* urlencoded (multipart: its text fields) */
	int too_big;
	struct MHD_PostProcessor *pp;	/* multipart/form-data */
	struct web_files files;
	size_t max_upload;
	int bad;			/* the post processor failed */
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

	if (u->too_big || u->files.too_big) {
		web_error(r, MHD_HTTP_CONTENT_TOO_LARGE, u->files.too_big ?
		    "The files are too large or too many for one submission." :
		    "form too large");
		return -1;
	}
	if (u->bad) {
		web_error(r, MHD_HTTP_BAD_REQUEST, "malformed form data");
		return -1;
	}
	if (u->pp != NULL)
		r->files = &u->files;
	else if (ct == NULL || strncasecmp(ct, "application/x-www-form-urlencoded",
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

/* web_http_files_free - the files of an upload */
static void
web_http_files_free(struct web_files *f)
{
	size_t i;

	for (i = 0; i < WEB_MAIL_FILES; i++)
		free(f->data[i]);
	memset(f, 0, sizeof(*f));
}

/* web_http_file_add - bytes of file field i; -1 over the limits */
static int
web_http_file_add(struct web_upload *u, const char *data, size_t size)
{
	struct web_files *f = &u->files;
	size_t i = f->n - 1, cap;

	if (size > u->max_upload - f->total)
		return -1;
	if (f->v[i].len + size > f->cap[i]) {
		cap = f->cap[i] ? f->cap[i] : 65536;
		while (cap < f->v[i].len + size)
			cap *= 2;
		f->data[i] = xreallocarray(f->data[i], cap, 1);
		f->cap[i] = cap;
	}
	memcpy(f->data[i] + f->v[i].len, data, size);
	f->v[i].len += size;
	f->v[i].data = f->data[i];
	f->total += size;
	return 0;
}

/* web_http_file_start - a new file field: name and type kept */
static int
web_http_file_start(struct web_upload *u, const char *filename,
    const char *type)
{
	struct web_files *f = &u->files;

	if (f->n == WEB_MAIL_FILES)
		return -1;
	snprintf(f->v[f->n].name, sizeof(f->v[f->n].name), "%s", filename);
	snprintf(f->v[f->n].type, sizeof(f->v[f->n].type), "%s",
	    type ? type : "");
	f->n++;
	return 0;
}

/* web_http_field - text of a field, urlencoded into u->body */
static void
web_http_field(struct web_upload *u, const char *key, const char *data,
    size_t size, uint64_t off)
{
	const char *p, *s;
	size_t i;

	if (off == 0) {
		web_buf_str(&u->body, u->body.len ? "&" : "");
		for (p = key; *p != '\0'; p++)
			web_buf_printf(&u->body, "%%%02X", (unsigned char)*p);
		web_buf_str(&u->body, "=");
	}
	for (i = 0; i < size; i++) {
		s = data + i;
		web_buf_printf(&u->body, "%%%02X", (unsigned char)*s);
	}
	if (u->body.len > WEB_FORM_MAX)
		u->too_big = 1;
}

/* web_http_post_iter - libmicrohttpd's post processor: one piece of a field */
static enum MHD_Result
web_http_post_iter(void *cls, enum MHD_ValueKind kind, const char *key,
    const char *filename, const char *type, const char *enc,
    const char *data, uint64_t off, size_t size)
{
	struct web_upload *u = cls;

	(void)kind;
	(void)enc;
	if (u->too_big || u->files.too_big)
		return MHD_YES;		/* read on, answer 413 at the end */
	if (filename == NULL) {
		web_http_field(u, key, data, size, off);
		return MHD_YES;
	}
	if (*filename == '\0')
		return MHD_YES;		/* a file input left empty */
	if ((off == 0 && web_http_file_start(u, filename, type) == -1) ||
	    (size > 0 && web_http_file_add(u, data, size) == -1)) {
		web_http_files_free(&u->files);
		u->files.too_big = 1;
	}
	return MHD_YES;
}

/* web_http_multipart - a multipart/form-data POST: its post processor */
static void
web_http_multipart(struct web *w, struct MHD_Connection *conn,
    const char *method, struct web_upload *u)
{
	const char *ct = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_CONTENT_TYPE);

	if (strcmp(method, "POST") != 0 || ct == NULL ||
	    strncasecmp(ct, "multipart/form-data", 19) != 0)
		return;
	u->max_upload = w->max_upload;
	u->pp = MHD_create_post_processor(conn, 65536, web_http_post_iter, u);
	if (u->pp == NULL)
		u->bad = 1;
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
		*ctx = u = xcalloc(1, sizeof(*u));
		web_http_multipart(cls, conn, method, u);
		return MHD_YES;
	}
	if (*size != 0 && u->pp != NULL) {
		if (!u->bad && MHD_post_process(u->pp, data, *size) != MHD_YES)
			u->bad = 1;
		*size = 0;
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
	if (u->pp != NULL)
		MHD_destroy_post_processor(u->pp);
	web_http_files_free(&u->files);
	free(u);
	*ctx = NULL;
}
