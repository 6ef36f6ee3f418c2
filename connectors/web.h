/*
 * web.h - what the webdav and http connectors share (web*.c)
 *
 * Both send the documents of a message to an HTTP(S) server with
 * libcurl: webdav.c PUTs each one under a templated path (MKCOL for the
 * missing collections), http.c POSTs each one as multipart/form-data with
 * its metadata.  The documents and their names are the folder connector's:
 * folder_mime.c, folder_template.c and the document keys of
 * folder_config.c are compiled into both (folder.h).
 *
 * web_config.c reads the settings they share (url, auth, auth_file,
 * tls_verify, ca_file, timeouts, store) and, in init(), the secret and the
 * CA file (in check(), what the gateway's user can read of them);
 * web_parse.c builds request URLs, parses auth files and status lines
 * and maps HTTP statuses to results (no libcurl, no gw_* calls: the unit
 * tests link it alone); web_curl.c sets up one easy handle, runs a
 * request and maps its outcome; web_doc.c turns the message into
 * documents, puts each in a memory file and calls the connector's send
 * function for each, per recipient unit.
 *
 * Only <gatewayd/connector.h> and these connectors' own headers are
 * included: the shared objects build outside the tree.
 */
#ifndef GW_WEB_H
#define GW_WEB_H

#include <limits.h>
#include <stddef.h>
#include <sys/types.h>

#include <curl/curl.h>

#include <gatewayd/connector.h>

#include "folder.h"

#define WEB_URL_MAX	4096		/* a request URL */
#define WEB_SECRET_MAX	4096		/* an auth file */
#define WEB_STATUS_MAX	256		/* a status line kept */
#define WEB_TEXT_MAX	1536		/* a result text */
#define WEB_BODY_MAX	300		/* response body bytes kept for a result */

enum web_auth { WEB_AUTH_NONE = 0, WEB_AUTH_BASIC, WEB_AUTH_BEARER };

/* Shared settings of a webdav or http connector instance. */
struct web {
	const char *who;		/* "webdav" or "http", for messages */
	char url[WEB_URL_MAX];
	enum web_auth auth;
	char auth_file[PATH_MAX];
	char *secret;			/* "user:password" or a token; wiped */
	int tls_verify;
	char ca_file[PATH_MAX];
	char *ca;			/* the CA file's PEM, read at init() */
	size_t calen;
	long connect_timeout, timeout;	/* seconds */
	int allow_query;		/* http: the URL may carry a query */
	int file_template_set;
	int checking;			/* check(): run as the user, keep nothing */
	const struct gw_node *auth_node, *ca_node; /* positions, while parsing */
	struct folder docs;		/* documents and names (folder.h) */
};

/* The outcome of a request, or of a delivery, for the recipients. */
struct web_result {
	enum gw_result result;
	int code;			/* SMTP reply code */
	char status[8];			/* enhanced status code */
	char text[WEB_TEXT_MAX];
};

/* web_config.c */
void web_config_init(struct web *, const char *);
int web_config_key(struct web *, const struct gw_node *, char *, size_t);
int web_config_finish(struct web *, const struct gw_node *, char *, size_t);
void web_config_free(struct web *);

/* web_parse.c */
int web_url_check(const char *, int, char *, size_t);
int web_url_join(const char *, const char *, const char *, int, char *,
    size_t);
int web_secret_parse(enum web_auth, char *, size_t *, char *, size_t);
int web_status_line(const char *, size_t, char *, size_t);
void web_clean_text(const char *, size_t, char *, size_t);
void web_map_status(long, struct web_result *);
void web_result_set(struct web_result *, enum gw_result, int, const char *);

/* web_curl.c: one request on a handle made for a delivery */
struct web_req {
	CURL *h;
	const struct web *w;
	char status[WEB_STATUS_MAX];	/* the last status line */
	char body[WEB_BODY_MAX + 1];	/* the start of the response body */
	size_t bodylen;
	long code;			/* HTTP status, 0 if none */
	struct curl_slist *headers;
};

/* A memory file the upload reads from. */
struct web_src {
	int fd;
	off_t off, size;
};

int web_curl_global(char *, size_t);
void web_curl_global_end(void);
int web_req_init(struct web_req *, const struct web *, char *, size_t);
void web_req_free(struct web_req *);
void web_req_upload(struct web_req *, struct web_src *);
void web_req_plain(struct web_req *);
int web_req_run(struct web_req *, const char *, const char *,
    struct web_result *);
size_t web_src_read(char *, size_t, size_t, void *);
int web_src_seek(void *, curl_off_t, int);

/* One document ready to send, in a memory file. */
struct web_file {
	struct web_src src;
	char sha256[65];
	char name[NAME_MAX + 1];	/* from file_template */
	const struct folder_doc *doc;
	unsigned int counter;		/* its number in the message */
};

/* The recipients that share one copy, and what their templates give. */
struct web_unit {
	const struct gw_envelope *env;
	const struct folder_msg *m;
	size_t *idx, n;			/* indices into env->rcpt */
	struct folder_fields fl;
	char dir[FOLDER_TEMPLATE_MAX];	/* path_template expanded */
};

/* Send one document; 0 when the server took it, -1 with res set. */
typedef int (*web_send_fn)(void *, const struct web_unit *,
    const struct web_file *, struct web_result *);

/* web_doc.c */
void web_doc_deliver(const struct web *, const struct gw_envelope *,
    struct gw_message *, struct web_req *, web_send_fn, void *);

#endif
