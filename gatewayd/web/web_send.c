/*
 * web_send.c - "Send documents": upload files to an address, a fax
 * number or one of the user's routing sheets, and follow the message
 *
 * GET /send: the form (multipart/form-data: files, destination, subject,
 * note, the CSRF token).  POST /send: the message composed here
 * (web_mail.h) and sent through the receiver as an SMTP session
 * authenticated as the logged-in user (web_submit.h), so that it is
 * received, checked, routed and logged like a scanner's; the receiver's
 * refusal (a recipient no rule routes: 550) is shown with its text; the
 * receiver or the channel down is a 503 and nothing is queued.  Queued:
 * 303 to /send/QID (POST/redirect/GET).  GET /send/QID: "queue state QID"
 * asked of the control child for the user, who sees only messages whose
 * authenticated sender they are (an admin: all).  A message no longer in
 * the queue was delivered or bounced: the page says so to the user who
 * sent it from this web child (a table of recent queue IDs) and answers
 * 404 to anyone else.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>

#include <microhttpd.h>

#include "cfg.h"
#include "directive.h"
#include "directive_cmd.h"
#include "log.h"
#include "spool.h"
#include "web.h"
#include "web_ctl.h"
#include "web_form.h"
#include "web_mail.h"
#include "web_submit.h"
#include "xmalloc.h"

/* web_send_options - the user's routing sheets as options (none: nothing) */
static void
web_send_options(struct web_req *r)
{
	const char *argv[] = { "list", "--dump" };
	struct web_answer a;
	struct directive d;
	char *p, *next;

	if (web_ctl_directive(r->w->cfg->control_socket, r->session->user, 2,
	    argv, &a) == -1)
		return;
	for (p = a.text; p != NULL && *p != '\0'; p = next) {
		for (next = strchr(p, '\n'); next != NULL && next[1] != '\0' &&
		    strncmp(next + 1, "d ", 2) != 0; next = strchr(next + 1, '\n'))
			;
		if (next != NULL)
			*next++ = '\0';
		if (directive_dump_parse(p, &d) == -1)
			break;
		web_buf_printf(&r->body, "<option value=\"%s\">", d.id);
		web_html(&r->body, d.title);
		web_buf_printf(&r->body, " (ED:%s)</option>", d.id);
		directive_clear(&d);
	}
	web_answer_free(&a);
}

/* web_send_value - a field the user already filled in (after an error) */
static const char *
web_send_value(const struct web_req *r, const char *name)
{
	const char *v = r->form ? web_form_get(r->form, name) : NULL;

	return v ? v : "";
}

/* web_send_form - GET /send: the form, an error above it when msg */
static void
web_send_form(struct web_req *r, int status, const char *msg)
{
	struct web_buf *b = &r->body;

	web_buf_free(b);
	r->status = status;
	web_html_head(b, "Send documents", r->session);
	if (msg != NULL) {
		web_buf_str(b, "<p class=\"err\" role=\"alert\" id=\"send-error\">");
		web_html(b, msg);
		web_buf_str(b, "</p>");
	}
	web_buf_str(b, "<form method=\"post\" action=\"/send\" id=\"send-form\" "
	    "enctype=\"multipart/form-data\"><input type=\"hidden\" "
	    "name=\"csrf\" value=\"");
	web_html(b, r->session->csrf);
	web_buf_printf(b, "\"><p><label for=\"files\">Documents (at most %d "
	    "files, %zu KB in all)</label><br><input type=\"file\" id=\"files\" "
	    "name=\"files\" multiple required></p>"
	    "<p><label for=\"kind\">Send to</label><br><select id=\"kind\" "
	    "name=\"kind\"><option value=\"email\">E-mail address</option>"
	    "<option value=\"fax\">Fax number</option><option value=\"directive\">"
	    "One of my routing sheets</option></select></p>"
	    "<p><label for=\"to\">Address or fax number</label><br>"
	    "<input type=\"text\" id=\"to\" name=\"to\" value=\"",
	    WEB_MAIL_FILES, r->w->max_upload / 1024);
	web_html(b, web_send_value(r, "to"));
	web_buf_str(b, "\"></p><p><label for=\"directive\">Routing sheet</label>"
	    "<br><select id=\"directive\" name=\"directive\"><option "
	    "value=\"\">(none)</option>");
	web_send_options(r);
	web_buf_str(b, "</select></p><p><label for=\"subject\">Subject</label>"
	    "<br><input type=\"text\" id=\"subject\" name=\"subject\" "
	    "maxlength=\"200\" value=\"");
	web_html(b, web_send_value(r, "subject"));
	web_buf_str(b, "\"></p><p><label for=\"note\">Note</label><br>"
	    "<textarea id=\"note\" name=\"note\" rows=\"5\" maxlength=\"8000\">");
	web_html(b, web_send_value(r, "note"));
	web_buf_str(b, "</textarea></p><p><button type=\"submit\">Send</button>"
	    "</p></form><p>The documents go through the gateway like a "
	    "scanner's mail: its rules decide where they may go.</p>");
	web_html_foot(b);
}

/* web_send_remember - a queue ID the user sent (for the status page) */
static void
web_send_remember(struct web *w, const char *qid, const char *user)
{
	struct web_sent *e;

	if (w->sent == NULL)
		w->sent = xcalloc(WEB_SENT_MAX, sizeof(*w->sent));
	e = &w->sent[w->nsent++ % WEB_SENT_MAX];
	snprintf(e->qid, sizeof(e->qid), "%s", qid);
	snprintf(e->user, sizeof(e->user), "%s", user);
}

/* web_send_sender - who sent qid from here: the user, or NULL */
static const char *
web_send_sender(const struct web *w, const char *qid)
{
	size_t i;

	for (i = 0; w->sent != NULL && i < WEB_SENT_MAX; i++)
		if (strcmp(w->sent[i].qid, qid) == 0)
			return w->sent[i].user;
	return NULL;
}

/* web_send_compose - the DATA text of the form's message; NULL on error */
static char *
web_send_compose(struct web_req *r, const char *from, const char *rcpt,
    size_t *len)
{
	const char *subject = web_form_get(r->form, "subject");
	const char *note = web_form_get(r->form, "note");
	char tok[WEB_TOKEN_LEN + 1], boundary[64], msgid[48], *text = NULL;
	struct web_mail m;
	FILE *fp;
	int rc;

	if (web_token(tok) == -1 || (fp = open_memstream(&text, len)) == NULL)
		return NULL;
	snprintf(boundary, sizeof(boundary), "=_gw%.32s", tok);
	snprintf(msgid, sizeof(msgid), "%.24s.web", tok + 32);
	memset(&m, 0, sizeof(m));
	m.from = from;
	m.to = rcpt;
	m.subject = subject ? subject : "";
	m.note = note ? note : "";
	m.msgid_domain = r->w->cfg->smtp.hostname;
	m.boundary = boundary;
	m.msgid = msgid;
	m.date = (long long)time(NULL);
	m.files = r->files->v;
	m.nfiles = r->files->n;
	rc = web_mail_write(fp, &m);
	if (fclose(fp) != 0 || rc == -1) {
		free(text);
		return NULL;
	}
	return text;
}

/* web_send_rcpt - the form's destination as a recipient; -1 (form shown) */
static int
web_send_rcpt(struct web_req *r, char *rcpt, size_t len)
{
	const struct cfg *cfg = r->w->cfg;
	const char *kind = web_form_get(r->form, "kind");
	const char *to = web_form_get(r->form, "to");
	const char *dir = web_form_get(r->form, "directive");
	char err[256];

	if (kind != NULL && strcmp(kind, "directive") == 0 && dir != NULL &&
	    *dir != '\0')
		to = dir;
	while (to != NULL && *to == ' ')
		to++;
	if (web_mail_rcpt(kind, to, cfg->relay.nlocal_domains ?
	    cfg->relay.local_domains[0] : NULL, cfg->directives.prefix, rcpt,
	    len, err, sizeof(err)) == 0)
		return 0;
	web_send_form(r, MHD_HTTP_BAD_REQUEST, err);
	return -1;
}

/* web_send_post - POST /send: compose, submit, redirect to the status */
static void
web_send_post(struct web_req *r)
{
	char from[320], rcpt[320], loc[64], clean[WEB_USER_MAX];
	struct web_submit s;
	size_t len;
	char *text;
	int rc;

	if (r->files == NULL || r->files->n == 0) {
		web_send_form(r, MHD_HTTP_BAD_REQUEST, "Choose at least one "
		    "document to send.");
		return;
	}
	if (web_send_rcpt(r, rcpt, sizeof(rcpt)) == -1)
		return;
	web_mail_from(r->session->user, r->w->cfg->web.sender_domain,
	    r->w->cfg->smtp.hostname, from, sizeof(from));
	if ((text = web_send_compose(r, from, rcpt, &len)) == NULL) {
		web_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "The message "
		    "could not be composed.");
		return;
	}
	rc = web_submit(r->w->handoff, r->session->user, r->client, from, rcpt,
	    text, len, &s);
	free(text);
	log_clean(clean, sizeof(clean), r->session->user,
	    strlen(r->session->user));
	if (rc == 0) {
		log_info("web: %s: sent by user=%s from %s, %zu file(s)", s.qid,
		    clean, r->client, r->files->n);
		web_send_remember(r->w, s.qid, r->session->user);
		snprintf(loc, sizeof(loc), "/send/%s", s.qid);
		web_redirect(r, loc);
	} else if (rc == -1 && s.code >= 500)
		web_send_form(r, 422, s.reply);	/* Unprocessable Content */
	else {
		log_warnx("web: submission of user=%s from %s not sent: %s",
		    clean, r->client, s.reply);
		web_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, s.code ? s.reply :
		    "The gateway cannot take documents now (the receiver is "
		    "not running). Nothing was sent; try again later.");
	}
}

/* web_send_state_text - one "STATE CONNECTOR TEXT" line for people */
static void
web_send_state_line(struct web_buf *b, char *line)
{
	static const struct { const char *state, *text; } states[] = {
		{ "incoming", "received, being routed" },
		{ "queue", "queued for delivery" },
		{ "active", "being delivered" },
		{ "deferred", "deferred, will be tried again" },
		{ "hold", "held" },
		{ "failed", "failed" },
		{ "sent", "delivered" },	/* from the log: gone */
	};
	char *conn, *text;
	size_t i;

	if ((conn = strchr(line, ' ')) == NULL)
		return;
	*conn++ = '\0';
	text = strchr(conn, ' ');
	if (text != NULL)
		*text++ = '\0';
	for (i = 0; i < sizeof(states) / sizeof(states[0]); i++)
		if (strcmp(line, states[i].state) == 0)
			break;
	web_buf_printf(b, "<li class=\"state-%s\">", i < sizeof(states) /
	    sizeof(states[0]) ? states[i].state : "other");
	web_html(b, i < sizeof(states) / sizeof(states[0]) ? states[i].text :
	    line);
	if (strcmp(conn, "-") != 0) {
		web_buf_str(b, " (");
		web_html(b, conn);
		web_buf_str(b, ")");
	}
	if (text != NULL && *text != '\0') {
		web_buf_str(b, ": ");
		web_html(b, text);
	}
	web_buf_str(b, "</li>");
}

/* web_send_done - is a "queue state" answer the outcome read from the log? */
static int
web_send_done(const char *text)
{
	return strncmp(text, "sent ", 5) == 0 || (strncmp(text, "failed ", 7)
	    == 0 && strstr(text, " to=<") != NULL);
}

/* web_send_status_page - the page of a message's state (text NULL: gone) */
static void
web_send_status_page(struct web_req *r, const char *qid, char *text)
{
	struct web_buf *b = &r->body;
	char *line, *save = NULL;

	web_html_head(b, "Sent documents", r->session);
	web_buf_printf(b, "<p class=\"ok\">Your documents were accepted by the "
	    "gateway.</p><p>Queue ID: <code id=\"qid\">%s</code></p>"
	    "<div id=\"state\">", qid);
	if (text == NULL)
		web_buf_str(b, "<p id=\"gone\">No longer in the queue: delivered "
		    "or bounced (a failure is reported to you by e-mail).</p>");
	else {
		web_buf_printf(b, "<p>%s</p><ul>", web_send_done(text) ?
		    "No longer in the queue; the log says:" : "In the queue:");
		for (line = strtok_r(text, "\n", &save); line != NULL;
		    line = strtok_r(NULL, "\n", &save))
			web_send_state_line(b, line);
		web_buf_str(b, "</ul>");
	}
	web_buf_printf(b, "</div><p><a href=\"/send/%s\" id=\"refresh\">Refresh"
	    "</a> &middot; <a href=\"/send\">Send more documents</a></p>", qid);
	web_html_foot(b);
}

/* web_send_status - GET /send/QID: the message's state for this user */
static void
web_send_status(struct web_req *r, const char *qid)
{
	const char *argv[] = { "queue", "state", qid };
	const char *by;
	struct web_answer a;

	if (!spool_qid_valid(qid)) {
		web_error(r, MHD_HTTP_NOT_FOUND, "No such message.");
		return;
	}
	by = web_send_sender(r->w, qid);
	if (web_ctl_words(r->w->cfg->control_socket, r->session->user, 3,
	    argv, &a) == 0) {
		/* the control child cannot tell who sent a message gone */
		if (web_send_done(a.text) && !r->session->admin &&
		    (by == NULL || strcmp(by, r->session->user) != 0))
			web_error(r, by ? MHD_HTTP_FORBIDDEN : MHD_HTTP_NOT_FOUND,
			    by ? "This message was sent by another user." :
			    "No such message in the queue.");
		else
			web_send_status_page(r, qid, a.text);
		web_answer_free(&a);
		return;
	}
	if (a.code == EX_NOPERM || (by != NULL && strcmp(by,
	    r->session->user) != 0 && !r->session->admin))
		web_error(r, MHD_HTTP_FORBIDDEN, "This message was sent by "
		    "another user.");
	else if (a.code == EX_NOINPUT && by != NULL)
		web_send_status_page(r, qid, NULL);
	else if (a.code == EX_NOINPUT)
		web_error(r, MHD_HTTP_NOT_FOUND, "No such message in the queue.");
	else
		web_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, a.reason);
}

/* web_send - the pages under /send (web.h) */
void
web_send(struct web_req *r, const char *rest)
{
	if (!r->w->cfg->web.send)
		web_error(r, MHD_HTTP_NOT_FOUND, "Sending documents is turned "
		    "off on this gateway.");
	else if (*rest == '\0' && r->post)
		web_send_post(r);
	else if (r->post)
		web_error(r, MHD_HTTP_METHOD_NOT_ALLOWED, "not here");
	else if (*rest == '\0')
		web_send_form(r, MHD_HTTP_OK, NULL);
	else if (rest[0] == '/')
		web_send_status(r, rest + 1);
	else
		web_error(r, MHD_HTTP_NOT_FOUND, "There is no such page.");
}
