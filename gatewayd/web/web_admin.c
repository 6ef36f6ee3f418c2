/*
 * web_admin.c - the queue console of gatewayd-web (admins only)
 *
 * /admin: status and counters, the last hour's chart, pause and resume;
 * /admin/queue: the queue, filtered by state, connector and sender;
 * /admin/message?id=QID: one message's envelope and its actions (while
 * it is queued) and its log lines (web_console.c); /admin/confirm: every
 * action is asked again on a page of its own; /admin/action (POST): the
 * action.  Each is the control request gatewayctl sends ("status",
 * "stats", "stats history", "queue list|show|log|hold|release|delete|
 * retry", "pause", "resume"), for the logged-in user: the control child
 * runs it only for an admin (web.admins, admin_group) and logs each
 * action as an operator's (reads are not logged), so a refusal there is
 * a 403 here.  Answers are shown as the preformatted
 * text gatewayctl prints, escaped; queue IDs become links.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <microhttpd.h>

#include "cfg.h"
#include "spool.h"
#include "web.h"
#include "web_admin.h"
#include "web_console.h"
#include "web_ctl.h"
#include "web_form.h"

/* The actions: name in forms, the two words of the request, its label. */
static const struct web_admin_op {
	const char *op, *w0, *w1, *label;
	int needs_id;
} web_admin_ops[] = {
	{ "hold", "queue", "hold", "Hold", 1 },
	{ "release", "queue", "release", "Release", 1 },
	{ "retry", "queue", "retry", "Retry now", 1 },
	{ "delete", "queue", "delete", "Delete", 1 },
	{ "pause-receive", "pause", "receive", "Pause receiving", 0 },
	{ "resume-receive", "resume", "receive", "Resume receiving", 0 },
	{ "pause-delivery", "pause", "delivery", "Pause delivery", 0 },
	{ "resume-delivery", "resume", "delivery", "Resume delivery", 0 },
};
#define WEB_ADMIN_NOPS	(sizeof(web_admin_ops) / sizeof(web_admin_ops[0]))

/* web_admin_arg - a query argument, or NULL */
static const char *
web_admin_arg(struct web_req *r, const char *name)
{
	const char *v = MHD_lookup_connection_value(r->conn,
	    MHD_GET_ARGUMENT_KIND, name);

	return v != NULL && *v != '\0' ? v : NULL;
}

/* web_admin_fail - the error page of a failed request */
static void
web_admin_fail(struct web_req *r, const struct web_answer *a)
{
	if (strncmp(a->reason, "permission denied", 17) == 0)
		web_error(r, MHD_HTTP_FORBIDDEN, "The queue console is for "
		    "administrators only.");
	else
		web_error(r, a->code == 65 ? MHD_HTTP_BAD_REQUEST :
		    MHD_HTTP_SERVICE_UNAVAILABLE, a->reason);
}

/* web_admin_ask - a request of plain words; -1 with the error page set */
static int
web_admin_ask(struct web_req *r, int argc, const char *const *argv,
    struct web_answer *a)
{
	if (web_ctl_words(r->w->cfg->control_socket, r->session->user, argc,
	    argv, a) == 0)
		return 0;
	web_admin_fail(r, a);
	return -1;
}

/* web_admin_pre - answer text, escaped, queue IDs at line starts as links */
static void
web_admin_pre(struct web_buf *b, const char *id, const char *text)
{
	char line[1024], qid[SPOOL_QID_LEN + 1];
	const char *p = text, *nl;
	size_t n;

	web_buf_printf(b, "<pre id=\"%s\">", id);
	while (*p != '\0') {
		nl = strchr(p, '\n');
		n = nl ? (size_t)(nl - p) : strlen(p);
		snprintf(line, sizeof(line), "%.*s", (int)n, p);
		snprintf(qid, sizeof(qid), "%.*s", SPOOL_QID_LEN, line);
		if (strlen(line) >= SPOOL_QID_LEN && spool_qid_valid(qid)) {
			web_buf_printf(b, "<a href=\"/admin/message?id=%s\">%s"
			    "</a>", qid, qid);
			web_html(b, line + SPOOL_QID_LEN);
		} else
			web_html(b, line);
		web_buf_str(b, "\n");
		p += n + (nl ? 1 : 0);
	}
	web_buf_str(b, "</pre>");
}

/* web_admin_opform - a button that asks to confirm op (on id) */
static void
web_admin_opform(struct web_buf *b, const struct web_admin_op *o,
    const char *id)
{
	web_buf_printf(b, "<form method=\"get\" action=\"/admin/confirm\" "
	    "class=\"inline\"><input type=\"hidden\" name=\"op\" value=\"%s\">",
	    o->op);
	if (id != NULL)
		web_buf_printf(b, "<input type=\"hidden\" name=\"id\" "
		    "value=\"%s\">", id);
	web_buf_printf(b, "<button type=\"submit\" id=\"op-%s\">%s</button>"
	    "</form> ", o->op, o->label);
}

/* web_admin_home - GET /admin: status, counters, pause and resume */
static void
web_admin_home(struct web_req *r)
{
	const char *st[] = { "status" }, *sx[] = { "stats" };
	struct web_answer a, c;
	size_t i;

	if (web_admin_ask(r, 1, st, &a) == -1)
		return;
	if (web_admin_ask(r, 1, sx, &c) == -1) {
		web_answer_free(&a);
		return;
	}
	web_html_head(&r->body, "Queue console", r->session);
	web_buf_str(&r->body, "<p><a href=\"/admin/queue\" id=\"queue-link\">"
	    "The queue</a></p><h2>Status</h2>");
	web_admin_pre(&r->body, "status", a.text);
	web_buf_str(&r->body, "<p>");
	for (i = 0; i < WEB_ADMIN_NOPS; i++)
		if (!web_admin_ops[i].needs_id)
			web_admin_opform(&r->body, &web_admin_ops[i], NULL);
	web_buf_str(&r->body, "</p><h2>Counters</h2>");
	web_admin_pre(&r->body, "stats", c.text);
	web_console_chart(r);
	web_html_foot(&r->body);
	web_answer_free(&a);
	web_answer_free(&c);
}

/* web_admin_filter - a labelled filter field of the queue page */
static void
web_admin_filter(struct web_req *r, const char *name, const char *label)
{
	const char *v = web_admin_arg(r, name);

	web_buf_printf(&r->body, "<label for=\"f-%s\">%s</label> <input "
	    "type=\"text\" id=\"f-%s\" name=\"%s\" value=\"", name, label,
	    name, name);
	web_html(&r->body, v ? v : "");
	web_buf_str(&r->body, "\"> ");
}

/* web_admin_queue - GET /admin/queue?state=&connector=&sender= */
static void
web_admin_queue(struct web_req *r)
{
	static const char *const keys[] = { "state", "connector", "sender" };
	const char *argv[8], *v;
	struct web_answer a;
	int argc = 0;
	size_t i;

	argv[argc++] = "queue";
	argv[argc++] = "list";
	for (i = 0; i < 3; i++)
		if ((v = web_admin_arg(r, keys[i])) != NULL) {
			argv[argc++] = i == 0 ? "--state" : i == 1 ?
			    "--connector" : "--sender";
			argv[argc++] = v;
		}
	if (web_admin_ask(r, argc, argv, &a) == -1)
		return;
	web_html_head(&r->body, "The queue", r->session);
	web_buf_str(&r->body, "<form method=\"get\" action=\"/admin/queue\">");
	web_admin_filter(r, "state", "State");
	web_admin_filter(r, "connector", "Connector");
	web_admin_filter(r, "sender", "Sender");
	web_buf_str(&r->body, "<button type=\"submit\">Filter</button></form>"
	    "<p>States: incoming, queue, active, deferred, hold, failed. "
	    "Open a queue ID for its envelope and actions.</p>");
	web_admin_pre(&r->body, "queue", a.text);
	web_html_foot(&r->body);
	web_answer_free(&a);
}

/* web_admin_qid - the id argument when it is a queue ID, else 404 */
static const char *
web_admin_qid(struct web_req *r, const char *id)
{
	if (id != NULL && spool_qid_valid(id))
		return id;
	web_error(r, MHD_HTTP_NOT_FOUND, "No such queue ID.");
	return NULL;
}

/*
 * web_admin_message - GET /admin/message?id=QID: envelope and actions
 * while the message is queued, and its log lines, queued or gone (66)
 */
static void
web_admin_message(struct web_req *r)
{
	const char *id = web_admin_qid(r, web_admin_arg(r, "id"));
	const char *argv[] = { "queue", "show", id };
	struct web_answer a;
	size_t i;
	int gone;

	if (id == NULL)
		return;
	gone = web_ctl_words(r->w->cfg->control_socket, r->session->user, 3,
	    argv, &a) == -1;
	if (gone && a.code != 66) {
		web_admin_fail(r, &a);
		return;
	}
	web_html_head(&r->body, id, r->session);
	if (gone)
		web_buf_str(&r->body, "<p id=\"gone\">Not in the queue: "
		    "delivered, bounced, deleted, or never here.</p>");
	else {
		web_buf_str(&r->body, "<p>");
		for (i = 0; i < WEB_ADMIN_NOPS; i++)
			if (web_admin_ops[i].needs_id)
				web_admin_opform(&r->body, &web_admin_ops[i],
				    id);
		web_buf_str(&r->body, "</p>");
		web_admin_pre(&r->body, "envelope", a.text);
	}
	web_console_log(r, id);
	web_html_foot(&r->body);
	web_answer_free(&a);
}

/* web_admin_op - the action named by a form or query field, or NULL (400) */
static const struct web_admin_op *
web_admin_op(struct web_req *r, const char *name, const char **id)
{
	size_t i;

	for (i = 0; name != NULL && i < WEB_ADMIN_NOPS; i++)
		if (strcmp(web_admin_ops[i].op, name) == 0) {
			if (!web_admin_ops[i].needs_id)
				*id = NULL;
			else if ((*id = web_admin_qid(r, *id)) == NULL)
				return NULL;
			return &web_admin_ops[i];
		}
	web_error(r, MHD_HTTP_BAD_REQUEST, "No such action.");
	return NULL;
}

/* web_admin_confirm - GET /admin/confirm?op=OP[&id=QID]: ask once more */
static void
web_admin_confirm(struct web_req *r)
{
	const char *id = web_admin_arg(r, "id");
	const struct web_admin_op *o;

	if ((o = web_admin_op(r, web_admin_arg(r, "op"), &id)) == NULL)
		return;
	web_html_head(&r->body, "Confirm", r->session);
	web_buf_printf(&r->body, "<p>%s%s%s?</p><form method=\"post\" "
	    "action=\"/admin/action\"><input type=\"hidden\" name=\"csrf\" "
	    "value=\"%s\"><input type=\"hidden\" name=\"op\" value=\"%s\">",
	    o->label, id ? " " : "", id ? id : "", r->session->csrf, o->op);
	if (id != NULL)
		web_buf_printf(&r->body, "<input type=\"hidden\" name=\"id\" "
		    "value=\"%s\">", id);
	web_buf_printf(&r->body, "<button type=\"submit\" class=\"danger\" "
	    "id=\"confirm\">Yes: %s</button> <a href=\"/admin\">Cancel</a>"
	    "</form>", o->label);
	web_html_foot(&r->body);
}

/* web_admin_action - POST /admin/action: run the confirmed action */
static void
web_admin_action(struct web_req *r)
{
	const char *id = web_form_get(r->form, "id");
	const struct web_admin_op *o;
	const char *argv[3];
	struct web_answer a;

	if ((o = web_admin_op(r, web_form_get(r->form, "op"), &id)) == NULL)
		return;
	argv[0] = o->w0;
	argv[1] = o->w1;
	argv[2] = id;
	if (web_admin_ask(r, id ? 3 : 2, argv, &a) == -1)
		return;
	web_html_head(&r->body, "Done", r->session);
	web_buf_printf(&r->body, "<p class=\"ok\" id=\"done\">%s%s%s: done."
	    "</p>", o->label, id ? " " : "", id ? id : "");
	web_admin_pre(&r->body, "answer", a.text);
	web_buf_str(&r->body, "<p><a href=\"/admin/queue\">The queue</a> "
	    "&middot; <a href=\"/admin\">Status</a></p>");
	web_html_foot(&r->body);
	web_answer_free(&a);
}

/* web_admin - the pages under /admin (web_admin.h) */
void
web_admin(struct web_req *r, const char *rest)
{
	if (r->post && strcmp(rest, "/action") == 0)
		web_admin_action(r);
	else if (r->post)
		web_error(r, MHD_HTTP_METHOD_NOT_ALLOWED, "not here");
	else if (*rest == '\0' || strcmp(rest, "/") == 0)
		web_admin_home(r);
	else if (strcmp(rest, "/queue") == 0)
		web_admin_queue(r);
	else if (strcmp(rest, "/message") == 0)
		web_admin_message(r);
	else if (strcmp(rest, "/confirm") == 0)
		web_admin_confirm(r);
	else
		web_error(r, MHD_HTTP_NOT_FOUND, "There is no such page.");
}
