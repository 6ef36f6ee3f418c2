/*
 * web_curl.c - one libcurl easy handle per delivery, one request at a time
 *
 * The handle is made in the deliverer (after the worker's fork) and kept
 * for the delivery's requests, so they share a connection.  It speaks
 * HTTP and HTTPS only, follows no redirect, sends no signal, verifies the
 * server's certificate and name unless tls_verify is no (with ca_file's
 * certificates, read at init(), or the system's), authenticates with the
 * auth file's secret (basic or bearer) and bounds the connection and the
 * whole request by the configured timeouts.  The result of a request is
 * the status mapping of web_parse.c with the server's status line and the
 * start of its answer in the text, or, when there was no answer, a
 * deferral that says why: connection refused (4.4.1), timeout (4.4.2),
 * certificate not verified (4.7.5), anything else (4.4.0).
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <curl/curl.h>

#include "web.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "out-of-tree"
#endif

/* web_curl_global - libcurl's global set-up, once per worker; -1 with err */
int
web_curl_global(char *err, size_t errlen)
{
	CURLcode c = curl_global_init(CURL_GLOBAL_DEFAULT);

	if (c != CURLE_OK) {
		snprintf(err, errlen, "libcurl: %s", curl_easy_strerror(c));
		return -1;
	}
	return 0;
}

/* web_curl_global_end - the worker is done with libcurl */
void
web_curl_global_end(void)
{
	curl_global_cleanup();
}

/* on_header - keep the last status line (a 100 Continue is followed by another) */
static size_t
on_header(char *buf, size_t size, size_t n, void *arg)
{
	struct web_req *rq = arg;

	(void)web_status_line(buf, n * size, rq->status, sizeof(rq->status));
	return n * size;
}

/* on_body - keep the first bytes of the answer, drop the rest */
static size_t
on_body(char *buf, size_t size, size_t n, void *arg)
{
	struct web_req *rq = arg;
	size_t room = WEB_BODY_MAX - rq->bodylen, len = n * size;

	if (room > len)
		room = len;
	memcpy(rq->body + rq->bodylen, buf, room);
	rq->bodylen += room;
	rq->body[rq->bodylen] = '\0';
	return len;
}

/* web_src_read - upload callback: the next bytes of a memory file */
size_t
web_src_read(char *buf, size_t size, size_t n, void *arg)
{
	struct web_src *s = arg;
	ssize_t r;

	do
		r = pread(s->fd, buf, size * n, s->off);
	while (r == -1 && errno == EINTR);
	if (r == -1)
		return CURL_READFUNC_ABORT;
	s->off += r;
	return (size_t)r;
}

/* web_src_seek - rewind (for a retried request or an authentication) */
int
web_src_seek(void *arg, curl_off_t off, int origin)
{
	struct web_src *s = arg;

	if (origin != SEEK_SET || off < 0 || off > s->size)
		return CURL_SEEKFUNC_CANTSEEK;
	s->off = (off_t)off;
	return CURL_SEEKFUNC_OK;
}

/* req_headers - no "Expect: 100-continue" wait; the bearer token */
static int
req_headers(struct web_req *rq, const struct web *w)
{
	char hdr[WEB_SECRET_MAX + 32];
	struct curl_slist *l, *t;
	int r = 0;

	if ((l = curl_slist_append(NULL, "Expect:")) == NULL)
		return -1;
	rq->headers = l;
	if (w->auth == WEB_AUTH_BEARER) {
		snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s",
		    w->secret);
		t = curl_slist_append(l, hdr);
		explicit_bzero(hdr, sizeof(hdr));
		if (t == NULL)
			return -1;
	} else if (w->auth == WEB_AUTH_BASIC) {
		r |= curl_easy_setopt(rq->h, CURLOPT_HTTPAUTH,
		    (long)CURLAUTH_BASIC) != CURLE_OK;
		r |= curl_easy_setopt(rq->h, CURLOPT_USERPWD, w->secret) !=
		    CURLE_OK;
	}
	r |= curl_easy_setopt(rq->h, CURLOPT_HTTPHEADER, l) != CURLE_OK;
	return r ? -1 : 0;
}

/* req_tls - verification, and the CA file's certificates */
static int
req_tls(struct web_req *rq, const struct web *w)
{
	struct curl_blob blob;
	int r = 0;

	r |= curl_easy_setopt(rq->h, CURLOPT_SSL_VERIFYPEER,
	    (long)w->tls_verify) != CURLE_OK;
	r |= curl_easy_setopt(rq->h, CURLOPT_SSL_VERIFYHOST,
	    w->tls_verify ? 2L : 0L) != CURLE_OK;
	if (w->ca != NULL) {
		blob.data = w->ca;
		blob.len = w->calen;
		blob.flags = CURL_BLOB_COPY;
		r |= curl_easy_setopt(rq->h, CURLOPT_CAINFO_BLOB, &blob) !=
		    CURLE_OK;
	}
	return r ? -1 : 0;
}

/* web_req_init - a handle with the instance's options; -1 with err */
int
web_req_init(struct web_req *rq, const struct web *w, char *err,
    size_t errlen)
{
	char ua[64];
	int r = 0;

	memset(rq, 0, sizeof(*rq));
	rq->w = w;
	if ((rq->h = curl_easy_init()) == NULL) {
		snprintf(err, errlen, "%s: libcurl: cannot make a handle",
		    w->who);
		return -1;
	}
	snprintf(ua, sizeof(ua), "gatewayd-%s/%s", w->who, PACKAGE_VERSION);
	r |= curl_easy_setopt(rq->h, CURLOPT_NOSIGNAL, 1L) != CURLE_OK;
	r |= curl_easy_setopt(rq->h, CURLOPT_PROTOCOLS_STR, "http,https") !=
	    CURLE_OK;
	r |= curl_easy_setopt(rq->h, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK;
	r |= curl_easy_setopt(rq->h, CURLOPT_USERAGENT, ua) != CURLE_OK;
	r |= curl_easy_setopt(rq->h, CURLOPT_CONNECTTIMEOUT,
	    w->connect_timeout) != CURLE_OK;
	r |= curl_easy_setopt(rq->h, CURLOPT_TIMEOUT, w->timeout) != CURLE_OK;
	r |= curl_easy_setopt(rq->h, CURLOPT_HEADERFUNCTION, on_header) !=
	    CURLE_OK;
	r |= curl_easy_setopt(rq->h, CURLOPT_HEADERDATA, rq) != CURLE_OK;
	r |= curl_easy_setopt(rq->h, CURLOPT_WRITEFUNCTION, on_body) !=
	    CURLE_OK;
	r |= curl_easy_setopt(rq->h, CURLOPT_WRITEDATA, rq) != CURLE_OK;
	if (r != 0 || req_tls(rq, w) == -1 || req_headers(rq, w) == -1) {
		snprintf(err, errlen, "%s: libcurl: an option was refused",
		    w->who);
		web_req_free(rq);
		return -1;
	}
	return 0;
}

/* web_req_free - the handle and its header list */
void
web_req_free(struct web_req *rq)
{
	if (rq->h != NULL)
		curl_easy_cleanup(rq->h);
	curl_slist_free_all(rq->headers);
	rq->h = NULL;
	rq->headers = NULL;
}

/* web_req_upload - the next request sends src as its body (PUT) */
void
web_req_upload(struct web_req *rq, struct web_src *src)
{
	src->off = 0;
	curl_easy_setopt(rq->h, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(rq->h, CURLOPT_READFUNCTION, web_src_read);
	curl_easy_setopt(rq->h, CURLOPT_READDATA, src);
	curl_easy_setopt(rq->h, CURLOPT_SEEKFUNCTION, web_src_seek);
	curl_easy_setopt(rq->h, CURLOPT_SEEKDATA, src);
	curl_easy_setopt(rq->h, CURLOPT_INFILESIZE_LARGE,
	    (curl_off_t)src->size);
}

/* web_req_plain - the next request sends no body (MKCOL) */
void
web_req_plain(struct web_req *rq)
{
	curl_easy_setopt(rq->h, CURLOPT_HTTPGET, 1L);
}

/* req_failed - no answer: a deferral that says why */
static void
req_failed(struct web_req *rq, CURLcode c, const char *method,
    const char *url, const char *detail, struct web_result *res)
{
	const char *st = "4.4.0";

	if (c == CURLE_COULDNT_CONNECT || c == CURLE_COULDNT_RESOLVE_HOST)
		st = "4.4.1";
	else if (c == CURLE_OPERATION_TIMEDOUT)
		st = "4.4.2";
	else if (c == CURLE_PEER_FAILED_VERIFICATION ||
	    c == CURLE_SSL_CACERT_BADFILE)
		st = "4.7.5";
	web_result_set(res, GW_RESULT_TEMPFAIL, 451, st);
	snprintf(res->text, sizeof(res->text), "%s: %s %s: %s%s%s",
	    rq->w->who, method, url, curl_easy_strerror(c),
	    detail[0] ? ": " : "", detail);
}

/* req_answer - the mapping of the server's status, its line and body */
static void
req_answer(struct web_req *rq, const char *method, const char *url,
    struct web_result *res)
{
	char body[WEB_BODY_MAX + 1];
	char *ctype = NULL;

	web_map_status(rq->code, res);
	body[0] = '\0';
	curl_easy_getinfo(rq->h, CURLINFO_CONTENT_TYPE, &ctype);
	if (res->result != GW_RESULT_OK && (ctype == NULL ||
	    strncasecmp(ctype, "text/html", 9) != 0))
		web_clean_text(rq->body, rq->bodylen, body, sizeof(body));
	snprintf(res->text, sizeof(res->text), "%s: %s %s: %s%s%s",
	    rq->w->who, method, url, rq->status[0] ? rq->status : "no status",
	    body[0] ? ": " : "", body);
}

/*
 * web_req_run - one request (method "PUT", "MKCOL", "POST"...) to url;
 * res is set from the outcome.  Returns the HTTP status, or -1 when
 * there was no answer.
 */
int
web_req_run(struct web_req *rq, const char *method, const char *url,
    struct web_result *res)
{
	char detail[CURL_ERROR_SIZE + 1], clean[CURL_ERROR_SIZE + 1];
	CURLcode c;

	rq->status[0] = '\0';
	rq->bodylen = 0;
	rq->body[0] = '\0';
	rq->code = 0;
	detail[0] = '\0';
	curl_easy_setopt(rq->h, CURLOPT_ERRORBUFFER, detail);
	curl_easy_setopt(rq->h, CURLOPT_URL, url);
	curl_easy_setopt(rq->h, CURLOPT_CUSTOMREQUEST,
	    strcmp(method, "POST") == 0 ? NULL : method);
	c = curl_easy_perform(rq->h);
	curl_easy_setopt(rq->h, CURLOPT_ERRORBUFFER, NULL);
	if (c == CURLE_OK)
		curl_easy_getinfo(rq->h, CURLINFO_RESPONSE_CODE, &rq->code);
	if (c != CURLE_OK || rq->code == 0) {
		web_clean_text(detail, strlen(detail), clean, sizeof(clean));
		req_failed(rq, c, method, url, clean, res);
		return -1;
	}
	req_answer(rq, method, url, res);
	return (int)rq->code;
}
