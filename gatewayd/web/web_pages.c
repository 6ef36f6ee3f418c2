/*
 * web_pages.c - gatewayd-web's dispatch, the login and logout pages
 *
 * Paths: / (to the sheets or the login), /style.css, /login (GET the
 * form, POST the credentials), /logout (POST), /sheets... (web_sheets.c),
 * /send... (web_send.c, sending documents), /admin... (web_admin.c, the
 * queue console).
 * Every page but the login and the stylesheet needs a session; every
 * POST but the login needs the session's CSRF token.  The login form is
 * protected by a token of its own, sent both in a cookie and in the form
 * (a cross-site page can do neither), and by the login limits
 * (web_session.h): a client address or a user name with too many recent
 * failures is answered 429 without its password being checked.  Logins,
 * failures and refusals are logged with the user name and the client's
 * address; a password never is.
 */
#include "config.h"

#include <fnmatch.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <microhttpd.h>

#include "cfg.h"
#include "log.h"
#include "web.h"
#include "web_form.h"
#include "web_admin.h"
#include "web_ctl.h"
#include "web_sheets.h"

#define WEB_LOGIN_COOKIE	"gw_login"

/* web_login_form - the login page (an error above the form when msg) */
static void
web_login_form(struct web_req *r, int status, const char *msg,
    const char *user)
{
	char tok[WEB_TOKEN_LEN + 1];

	web_buf_free(&r->body);
	if (web_token(tok) == -1) {
		web_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "no random bytes");
		return;
	}
	r->status = status;
	snprintf(r->cookie, sizeof(r->cookie), "%s=%s; Path=/login; HttpOnly; "
	    "SameSite=Strict%s", WEB_LOGIN_COOKIE, tok,
	    r->w->cfg->web.cookie_secure ? "; Secure" : "");
	web_html_head(&r->body, "Log in", NULL);
	if (msg != NULL) {
		web_buf_str(&r->body, "<p class=\"err\" role=\"alert\" "
		    "id=\"login-error\">");
		web_html(&r->body, msg);
		web_buf_str(&r->body, "</p>");
	}
	web_buf_str(&r->body, "<form method=\"post\" action=\"/login\">"
	    "<input type=\"hidden\" name=\"login_token\" value=\"");
	web_html(&r->body, tok);
	web_buf_str(&r->body, "\"><p><label for=\"user\">User name</label><br>"
	    "<input type=\"text\" id=\"user\" name=\"user\" required "
	    "autocomplete=\"username\" autofocus value=\"");
	web_html(&r->body, user ? user : "");
	web_buf_str(&r->body, "\"></p><p><label for=\"password\">Password"
	    "</label><br><input type=\"password\" id=\"password\" "
	    "name=\"password\" required autocomplete=\"current-password\">"
	    "</p><p><button type=\"submit\">Log in</button></p></form>"
	    "<p>Use the name and password you use to send mail through this "
	    "gateway.</p>");
	web_html_foot(&r->body);
}

/* web_login_user_ok - a user name as it may be checked: printable, bounded */
static int
web_login_user_ok(const char *u)
{
	size_t n = strlen(u);

	if (n == 0 || n >= WEB_USER_MAX)
		return 0;
	for (; *u != '\0'; u++)
		if ((unsigned char)*u <= ' ' || *u == 0x7f)
			return 0;
	return 1;
}

/* web_login_allowed - is the user in web.users (none: everyone)? */
static int
web_login_allowed(const struct cfg *cfg, const char *user)
{
	size_t i;

	for (i = 0; i < cfg->web.nusers; i++)
		if (fnmatch(cfg->web.users[i], user, 0) == 0)
			return 1;
	return cfg->web.nusers == 0;
}

/* web_login_admin - may the user use the queue console (the control child says)? */
static int
web_login_admin(struct web_req *r, const char *user)
{
	const char *argv[] = { "status" };
	struct web_answer a;
	int ok;

	ok = web_ctl_words(r->w->cfg->control_socket, user, 1, argv, &a) == 0;
	web_answer_free(&a);
	return ok;
}

/* web_login_done - a good password: the session, its cookie, the sheets */
static void
web_login_done(struct web_req *r, const char *user, const char *ukey)
{
	struct web_session *s;
	char clean[WEB_USER_MAX];

	log_clean(clean, sizeof(clean), user, strlen(user));
	if (!web_login_allowed(r->w->cfg, user)) {
		log_warnx("web: login of user=%s from %s refused: not in "
		    "web.users", clean, r->client);
		web_login_form(r, MHD_HTTP_FORBIDDEN, "This account may not "
		    "use these pages.", user);
		return;
	}
	web_limit_clear(&r->w->limits, ukey);
	if ((s = web_session_new(&r->w->sessions, user, time(NULL))) == NULL) {
		web_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "no random bytes");
		return;
	}
	log_info("web: login user=%s from %s", clean, r->client);
	s->admin = web_login_admin(r, user);
	s->send = r->w->cfg->web.send;
	r->session = s;
	web_session_cookie(r, s->id);
	web_redirect(r, "/sheets");
}

/* web_login - POST /login: token, limits, password, session */
static void
web_login(struct web_req *r)
{
	const char *user = web_form_get(r->form, "user");
	const char *pass = web_form_get(r->form, "password");
	char akey[80], ukey[WEB_USER_MAX + 4], clean[WEB_USER_MAX];
	time_t now = time(NULL);
	int ok;

	if (!web_token_eq(web_form_get(r->form, "login_token") ?
	    web_form_get(r->form, "login_token") : "",
	    MHD_lookup_connection_value(r->conn, MHD_COOKIE_KIND,
	    WEB_LOGIN_COOKIE))) {
		web_login_form(r, MHD_HTTP_FORBIDDEN, "The login form expired. "
		    "Please try again.", NULL);
		return;
	}
	if (user == NULL || pass == NULL || !web_login_user_ok(user)) {
		web_login_form(r, MHD_HTTP_BAD_REQUEST, "Enter a user name and "
		    "a password.", NULL);
		return;
	}
	log_clean(clean, sizeof(clean), user, strlen(user));
	snprintf(akey, sizeof(akey), "a:%s", r->client);
	snprintf(ukey, sizeof(ukey), "u:%s", user);
	if (web_limit_blocked(&r->w->limits, akey, now) ||
	    web_limit_blocked(&r->w->limits, ukey, now)) {
		log_warnx("web: login of user=%s from %s refused: too many "
		    "failed attempts", clean, r->client);
		web_login_form(r, MHD_HTTP_TOO_MANY_REQUESTS, "Too many failed "
		    "attempts. Wait a few minutes and try again.", user);
		return;
	}
	if ((ok = web_auth_check(user, pass)) == 1) {
		web_login_done(r, user, ukey);
		return;
	}
	if (ok == -1) {
		web_login_form(r, MHD_HTTP_SERVICE_UNAVAILABLE, "The password "
		    "cannot be checked now. Try again later.", user);
		return;
	}
	web_limit_fail(&r->w->limits, akey, now);
	web_limit_fail(&r->w->limits, ukey, now);
	log_warnx("web: login failed for user=%s from %s", clean, r->client);
	web_login_form(r, MHD_HTTP_FORBIDDEN, "Wrong user name or password.",
	    user);
}

/* web_logout - POST /logout: end the session, expire its cookie */
static void
web_logout(struct web_req *r)
{
	char clean[WEB_USER_MAX];

	if (!web_csrf(r))
		return;
	log_clean(clean, sizeof(clean), r->session->user,
	    strlen(r->session->user));
	log_info("web: logout user=%s from %s", clean, r->client);
	web_session_end(r->session);
	r->session = NULL;
	web_session_cookie(r, NULL);
	web_redirect(r, "/login");
}

/* web_pages_under - is path the prefix itself or below it? */
static int
web_pages_under(const char *path, const char *prefix)
{
	size_t n = strlen(prefix);

	return strncmp(path, prefix, n) == 0 &&
	    (path[n] == '\0' || path[n] == '/');
}

/* web_pages - run the page of a request (web.h) */
void
web_pages(struct web_req *r)
{
	if (strcmp(r->path, "/style.css") == 0 && !r->post) {
		r->type = "text/css; charset=utf-8";
		web_buf_str(&r->body, web_html_css());
	} else if (strcmp(r->path, "/") == 0 && !r->post)
		web_redirect(r, r->session ? "/sheets" : "/login");
	else if (strcmp(r->path, "/login") == 0) {
		if (r->post)
			web_login(r);
		else if (r->session != NULL)
			web_redirect(r, "/sheets");
		else
			web_login_form(r, MHD_HTTP_OK, NULL, NULL);
	} else if (strcmp(r->path, "/logout") == 0 && r->post)
		web_logout(r);
	else if (web_pages_under(r->path, "/sheets") ||
	    web_pages_under(r->path, "/admin") ||
	    web_pages_under(r->path, "/send")) {
		if (r->session == NULL && !r->post)
			web_redirect(r, "/login");
		else if (r->post && !web_csrf(r))
			;
		else if (strncmp(r->path, "/sheets", 7) == 0)
			web_sheets(r, r->path + 7);
		else if (strncmp(r->path, "/send", 5) == 0)
			web_send(r, r->path + 5);
		else
			web_admin(r, r->path + 6);
	} else
		web_error(r, MHD_HTTP_NOT_FOUND, "There is no such page.");
}
