/*
 * web.h - gatewayd-web, the self-service pages (what its files share)
 *
 * web.c: start-up (listening socket and TLS files read as root, the
 * privilege drop, Landlock and seccomp), the master's IPC, shutdown;
 * web_http.c: libmicrohttpd's request handler, bodies, cookies, the
 * session check and the responses; web_pages.c: the pages (login, my
 * routing sheets, the sheet PDF); web_auth.c: the password check through
 * Cyrus SASL; web_session.c, web_form.c, web_html.c, web_ctl.c: sessions
 * and limits, form bodies, HTML output, the control socket.
 */
#ifndef GW_WEB_H
#define GW_WEB_H

#include <stddef.h>

#include "web_html.h"
#include "web_mail.h"
#include "web_session.h"

struct cfg;
struct MHD_Connection;
struct web_form;

/* The files of a multipart/form-data POST (web_http.c). */
struct web_files {
	struct web_mail_file v[WEB_MAIL_FILES];
	unsigned char *data[WEB_MAIL_FILES];
	size_t cap[WEB_MAIL_FILES];
	size_t n, total;
	int too_big;		/* over web.max_upload or WEB_MAIL_FILES files */
};

/* Queue IDs of recent submissions and their users (web_send.c). */
#define WEB_SENT_MAX	1024
struct web_sent {
	char qid[24];
	char user[WEB_USER_MAX];
};

struct web {
	const struct cfg *cfg;
	struct web_sessions sessions;
	struct web_limits limits;
	int handoff;			/* the hand-off socket (handoff.h), -1 */
	size_t max_upload;		/* bytes of files in one submission */
	struct web_sent *sent;		/* WEB_SENT_MAX, a ring */
	size_t nsent;
};

/* What a page handler gets: the request, and where its answer goes. */
struct web_req {
	struct web *w;
	struct MHD_Connection *conn;
	const char *method, *path;
	int post;
	const struct web_form *form;	/* POST: the parsed body */
	const struct web_files *files;	/* POST multipart: its files */
	struct web_session *session;	/* NULL when not logged in */
	char client[64];		/* the client's address */
	/* the answer */
	int status;
	const char *type;		/* Content-Type */
	struct web_buf body;
	char location[512];		/* a redirect (303) when set */
	char cookie[512];		/* a Set-Cookie header when set */
	char disposition[128];		/* Content-Disposition when set */
};

/* web_http.c */
/* Set a page answer: status, and a redirect when location is not NULL. */
void web_redirect(struct web_req *, const char *location);
/* An error page with a status code and a message. */
void web_error(struct web_req *, int status, const char *msg);
/* Does the POST carry this session's CSRF token?  Else answers 403. */
int web_csrf(struct web_req *);
/* Set-Cookie of the session (id NULL: expire it). */
void web_session_cookie(struct web_req *, const char *id);

/* web_pages.c: dispatch of a request to its page */
void web_pages(struct web_req *);

/* web_send.c: /send, the form; /send/QID, a message's status */
void web_send(struct web_req *, const char *rest);

/* web_auth.c */
int web_auth_init(const struct cfg *);
/* 1 when the password is right, 0 when not, -1 when the backend failed. */
int web_auth_check(const char *user, const char *pass);

#endif
