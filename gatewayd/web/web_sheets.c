/*
 * web_sheets.c - "My routing sheets": list, create, edit and delete the
 * user's directives, and download their printable sheets
 *
 * Every read and change is a "directive ..." request to the control
 * socket for the logged-in user (web_ctl.h); the control child decides
 * what that user may see: their own directives, or all for an admin.  A
 * directive of another user is answered E77 there, 403 here.  The PDF
 * is made here by sheet.c from the same "dump" gatewayctl reads, so it
 * is the sheet `gatewayctl directive sheet` prints.  Recipients have a
 * channel (email, fax with the name and company printed on the cover,
 * folder), an address or number, and for a fax the optional name and
 * company (the parameters "name" and "company").
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
#include "sheet.h"
#include "web.h"
#include "web_ctl.h"
#include "web_form.h"
#include "web_sheet_form.h"
#include "web_sheets.h"
#include "xmalloc.h"

#define WEB_ARGV_MAX	(8 + 6 * WEB_RCPT_MAX)

/* web_sheets_ask - one directive request for the session's user */
static int
web_sheets_ask(struct web_req *r, int argc, const char *const *argv,
    struct web_answer *a)
{
	return web_ctl_directive(r->w->cfg->control_socket, r->session->user,
	    argc, argv, a);
}

/* web_sheets_fail - the page for a refused request */
static void
web_sheets_fail(struct web_req *r, const struct web_answer *a)
{
	if (a->code == EX_NOPERM)
		web_error(r, MHD_HTTP_FORBIDDEN, "This routing sheet belongs "
		    "to another user.");
	else if (a->code == EX_DATAERR && strcmp(a->reason,
	    "no such directive") == 0)
		web_error(r, MHD_HTTP_NOT_FOUND, "There is no such routing "
		    "sheet.");
	else if (a->code == EX_DATAERR || a->code == EX_USAGE)
		web_error(r, MHD_HTTP_BAD_REQUEST, a->reason);
	else
		web_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, a->reason);
}

/*
 * web_sheets_argv - the words of "create" or "update ID" for d; the
 * strings it makes go to store (freed by the caller, store[0..*nstore))
 */
static int
web_sheets_argv(const struct directive *d, const char *id,
    const char **argv, char **store, size_t *nstore)
{
	int n = 0;
	size_t i, k;

	argv[n++] = id ? "update" : "create";
	if (id != NULL)
		argv[n++] = id;
	argv[n++] = "--title";
	argv[n++] = d->title;
	if (d->expires != 0 || id != NULL) {
		xasprintf(&store[(*nstore)++], "@%lld", (long long)d->expires);
		argv[n++] = d->expires ? "--expires" : "--no-expires";
		if (d->expires)
			argv[n++] = store[*nstore - 1];
	}
	for (i = 0; i < d->nrcpt && n + 6 <= WEB_ARGV_MAX; i++) {
		xasprintf(&store[(*nstore)++], "%s:%s", d->rcpt[i].channel,
		    d->rcpt[i].address);
		argv[n++] = "--rcpt";
		argv[n++] = store[*nstore - 1];
		for (k = 0; k < d->rcpt[i].nparams && k < 2; k++) {
			xasprintf(&store[(*nstore)++], "%s=%s",
			    d->rcpt[i].params[k].name,
			    d->rcpt[i].params[k].value);
			argv[n++] = "--param";
			argv[n++] = store[*nstore - 1];
		}
	}
	return n;
}

/* web_sheets_param - a recipient's parameter, or "" */
static const char *
web_sheets_param(const struct directive_rcpt *rc, const char *name)
{
	size_t k;

	for (k = 0; rc != NULL && k < rc->nparams; k++)
		if (strcmp(rc->params[k].name, name) == 0)
			return rc->params[k].value;
	return "";
}

/* web_sheets_date - an expiry as YYYY-MM-DD, "" for none */
static const char *
web_sheets_date(char *buf, size_t len, int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	buf[0] = '\0';
	if (t != 0 && gmtime_r(&tt, &tm) != NULL)
		strftime(buf, len, "%Y-%m-%d", &tm);
	return buf;
}

/* web_sheets_input - a labelled text input of row i (or i 0: no row) */
static void
web_sheets_input(struct web_buf *b, const char *label, const char *name,
    int i, const char *type, const char *value)
{
	char id[48];

	if (i > 0)
		snprintf(id, sizeof(id), "%s%d", name, i);
	else
		snprintf(id, sizeof(id), "%s", name);
	web_buf_printf(b, "<p><label for=\"%s\">", id);
	web_html(b, label);
	web_buf_printf(b, "</label><br><input type=\"%s\" id=\"%s\" "
	    "name=\"%s\" value=\"", type, id, id);
	web_html(b, value);
	web_buf_str(b, "\"></p>");
}

/* web_sheets_rcpt_row - the fieldset of recipient row i (rc NULL: empty) */
static void
web_sheets_rcpt_row(struct web_buf *b, int i, const struct directive_rcpt *rc)
{
	static const char *const labels[] = { "E-mail", "Fax", "Folder" };
	size_t k;

	web_buf_printf(b, "<fieldset><legend>Recipient %d</legend><p>"
	    "<label for=\"ch%d\">Channel</label><br><select id=\"ch%d\" "
	    "name=\"ch%d\"><option value=\"\">(none)</option>", i, i, i, i);
	for (k = 0; web_sheet_channels[k] != NULL; k++)
		web_buf_printf(b, "<option value=\"%s\"%s>%s</option>",
		    web_sheet_channels[k], rc && strcmp(rc->channel,
		    web_sheet_channels[k]) == 0 ? " selected" : "", labels[k]);
	web_buf_str(b, "</select></p>");
	web_sheets_input(b, "Address, fax number or folder", "addr", i, "text",
	    rc ? rc->address : "");
	web_sheets_input(b, "Name (fax cover)", "name", i, "text",
	    web_sheets_param(rc, "name"));
	web_sheets_input(b, "Company (fax cover)", "company", i, "text",
	    web_sheets_param(rc, "company"));
	web_buf_str(b, "</fieldset>");
}

/* web_sheets_form - the form of a new (id NULL) or existing directive */
static void
web_sheets_form(struct web_req *r, const struct directive *d, const char *id,
    const char *msg)
{
	struct web_buf *b = &r->body;
	char date[16];
	int i, rows;

	if (msg != NULL) {
		web_buf_str(b, "<p class=\"err\" role=\"alert\" id=\"form-error\">");
		web_html(b, msg);
		web_buf_str(b, "</p>");
	}
	web_buf_str(b, "<form method=\"post\" id=\"sheet-form\" action=\"/sheets/");
	web_html(b, id ? id : "new");
	web_buf_str(b, "\"><input type=\"hidden\" name=\"csrf\" value=\"");
	web_html(b, r->session->csrf);
	web_buf_str(b, "\">");
	web_sheets_input(b, "Title", "title", 0, "text", d ? d->title : "");
	web_sheets_input(b, "Expires (empty: never)", "expires", 0, "date",
	    web_sheets_date(date, sizeof(date), d ? d->expires : 0));
	rows = d ? (int)d->nrcpt + 2 : 3;
	rows = rows > WEB_RCPT_MAX ? WEB_RCPT_MAX : rows;
	for (i = 1; i <= rows; i++)
		web_sheets_rcpt_row(b, i, d && (size_t)i <= d->nrcpt ?
		    &d->rcpt[i - 1] : NULL);
	web_buf_str(b, "<p><button type=\"submit\">Save</button></p></form>");
}

/* web_sheets_get - "dump ID" into d; -1 with the error page set */
static int
web_sheets_get(struct web_req *r, const char *id, struct directive *d)
{
	const char *argv[] = { "dump", id };
	struct web_answer a;

	if (web_sheets_ask(r, 2, argv, &a) == -1) {
		web_sheets_fail(r, &a);
		return -1;
	}
	if (directive_dump_parse(a.text, d) == -1) {
		web_answer_free(&a);
		web_error(r, MHD_HTTP_BAD_GATEWAY, "malformed answer");
		return -1;
	}
	web_answer_free(&a);
	return 0;
}

/* web_sheets_row_html - one directive as a row of the list */
static void
web_sheets_row_html(struct web_buf *b, const struct directive *d)
{
	char date[16];

	web_buf_printf(b, "<tr><td><a href=\"/sheets/%s\">", d->id);
	web_html(b, d->title);
	web_buf_printf(b, "</a></td><td><code>ED:%s</code></td><td>", d->id);
	web_html(b, d->owner);
	web_buf_printf(b, "</td><td>%zu</td><td>%s</td><td>"
	    "<a href=\"/sheets/%s/sheet.pdf?paper=a4\">A4</a> "
	    "<a href=\"/sheets/%s/sheet.pdf?paper=letter\">Letter</a></td></tr>",
	    d->nrcpt, d->expires ? web_sheets_date(date, sizeof(date),
	    d->expires) : "never", d->id, d->id);
}

/*
 * web_sheets_list_html - the directives of a "list --dump" answer as
 * table rows: each starts at a line "d ..."; -1 if one is malformed
 */
static int
web_sheets_list_html(struct web_buf *b, char *text, size_t *count)
{
	struct directive d;
	char *p = text, *next;

	*count = 0;
	while (*p != '\0') {
		for (next = strchr(p, '\n'); next != NULL && next[1] != '\0' &&
		    strncmp(next + 1, "d ", 2) != 0; next = strchr(next + 1, '\n'))
			;
		if (next != NULL)
			*next++ = '\0';
		if (directive_dump_parse(p, &d) == -1)
			return -1;
		web_sheets_row_html(b, &d);
		directive_clear(&d);
		(*count)++;
		if (next == NULL)
			break;
		p = next;
	}
	return 0;
}

/* web_sheets_list - GET /sheets: the user's directives (all for an admin) */
static void
web_sheets_list(struct web_req *r)
{
	const char *argv[] = { "list", "--dump" };
	struct web_answer a;
	struct web_buf rows = { 0 };
	size_t n;

	if (web_sheets_ask(r, 2, argv, &a) == -1) {
		web_sheets_fail(r, &a);
		return;
	}
	if (web_sheets_list_html(&rows, a.text, &n) == -1) {
		web_answer_free(&a);
		web_buf_free(&rows);
		web_error(r, MHD_HTTP_BAD_GATEWAY, "malformed answer");
		return;
	}
	web_answer_free(&a);
	web_html_head(&r->body, "My routing sheets", r->session);
	web_buf_str(&r->body, "<p><a href=\"/sheets/new\" id=\"new-sheet\">"
	    "New routing sheet</a></p><p>Separator sheet (between two "
	    "documents of one scan): <a id=\"separator-a4\" href=\"/sheets/"
	    "separator.pdf?paper=a4\">A4</a> &middot; <a id=\"separator-letter"
	    "\" href=\"/sheets/separator.pdf?paper=letter\">Letter</a></p>");
	if (n == 0)
		web_buf_str(&r->body, "<p id=\"no-sheets\">You have no routing "
		    "sheets yet.</p>");
	else {
		web_buf_str(&r->body, "<table id=\"sheets\"><thead><tr><th>Title"
		    "</th><th>Code</th><th>Owner</th><th>Recipients</th>"
		    "<th>Expires</th><th>Print</th></tr></thead><tbody>");
		web_buf_add(&r->body, rows.data, rows.len);
		web_buf_str(&r->body, "</tbody></table>");
	}
	web_buf_free(&rows);
	web_html_foot(&r->body);
}

/* web_sheets_new - GET /sheets/new: an empty form */
static void
web_sheets_new(struct web_req *r)
{
	web_html_head(&r->body, "New routing sheet", r->session);
	web_sheets_form(r, NULL, NULL, NULL);
	web_html_foot(&r->body);
}

/* web_sheets_show - GET /sheets/ID: the sheet, its downloads, its form */
static void
web_sheets_show(struct web_req *r, const char *id)
{
	struct directive d;
	struct web_buf *b = &r->body;

	if (web_sheets_get(r, id, &d) == -1)
		return;
	web_html_head(b, d.title, r->session);
	web_buf_printf(b, "<p>Code on the sheet: <code id=\"sheet-code\">ED:%s"
	    "</code>. Owner: ", d.id);
	web_html(b, d.owner);
	web_buf_printf(b, ".</p><p>Print: <a id=\"pdf-a4\" href=\"/sheets/%s/"
	    "sheet.pdf?paper=a4\">routing sheet (A4)</a> &middot; <a "
	    "id=\"pdf-letter\" href=\"/sheets/%s/sheet.pdf?paper=letter\">"
	    "routing sheet (Letter)</a></p><h2>Change</h2>", d.id, d.id);
	web_sheets_form(r, &d, d.id, NULL);
	web_buf_printf(b, "<h2>Delete</h2><p><a id=\"delete\" href=\"/sheets/"
	    "%s/delete\">Delete this routing sheet</a></p>", d.id);
	web_html_foot(b);
	directive_clear(&d);
}

/* web_sheets_save - POST /sheets/new or /sheets/ID: create or update */
static void
web_sheets_save(struct web_req *r, const char *id)
{
	const char *argv[WEB_ARGV_MAX];
	char *store[WEB_ARGV_MAX], err[256], where[64];
	struct directive d;
	struct web_answer a;
	size_t nstore = 0, i;
	int argc, rc;

	if (web_sheets_from_form(r->form, &d, err, sizeof(err)) == -1) {
		r->status = MHD_HTTP_BAD_REQUEST;
		web_html_head(&r->body, id ? "Change routing sheet" :
		    "New routing sheet", r->session);
		web_sheets_form(r, d.title ? &d : NULL, id, err);
		web_html_foot(&r->body);
		directive_clear(&d);
		return;
	}
	argc = web_sheets_argv(&d, id, argv, store, &nstore);
	rc = web_sheets_ask(r, argc, argv, &a);
	for (i = 0; i < nstore; i++)
		free(store[i]);
	directive_clear(&d);
	if (rc == -1) {
		web_sheets_fail(r, &a);
		return;
	}
	if (id == NULL) {
		a.text[strcspn(a.text, "\n")] = '\0';
		if (!directive_id_valid(a.text)) {
			web_answer_free(&a);
			web_error(r, MHD_HTTP_BAD_GATEWAY, "malformed answer");
			return;
		}
		id = a.text;
	}
	snprintf(where, sizeof(where), "/sheets/%s", id);
	web_answer_free(&a);
	web_redirect(r, where);
}

/* web_sheets_delete - GET: ask to confirm; POST: delete */
static void
web_sheets_delete(struct web_req *r, const char *id)
{
	const char *argv[] = { "delete", id };
	struct directive d;
	struct web_answer a;

	if (r->post) {
		if (web_sheets_ask(r, 2, argv, &a) == -1)
			web_sheets_fail(r, &a);
		else
			web_redirect(r, "/sheets");
		web_answer_free(&a);
		return;
	}
	if (web_sheets_get(r, id, &d) == -1)
		return;
	web_html_head(&r->body, "Delete routing sheet", r->session);
	web_buf_str(&r->body, "<p>Delete the routing sheet <strong>");
	web_html(&r->body, d.title);
	web_buf_printf(&r->body, "</strong> (ED:%s)? Printed copies stop "
	    "working.</p><form method=\"post\" action=\"/sheets/%s/delete\">"
	    "<input type=\"hidden\" name=\"csrf\" value=\"%s\">"
	    "<button type=\"submit\" class=\"danger\" id=\"confirm-delete\">"
	    "Delete</button> <a href=\"/sheets/%s\">Cancel</a></form>",
	    d.id, d.id, r->session->csrf, d.id);
	web_html_foot(&r->body);
	directive_clear(&d);
}

/* web_sheets_paper - the paper= argument or the default; -1: error page */
static int
web_sheets_paper(struct web_req *r, enum sheet_paper *paper)
{
	const char *name = MHD_lookup_connection_value(r->conn,
	    MHD_GET_ARGUMENT_KIND, "paper");

	if (sheet_paper_parse(name ? name : r->w->cfg->directives.paper,
	    paper) == -1) {
		web_error(r, MHD_HTTP_BAD_REQUEST, "paper: a4 or letter");
		return -1;
	}
	return 0;
}

/* web_sheets_reply_pdf - a rendered PDF (rc 0) as the download file */
static void
web_sheets_reply_pdf(struct web_req *r, int rc, char *pdf, size_t len,
    const char *file)
{
	if (rc == -1) {
		free(pdf);
		web_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "the sheet could "
		    "not be made");
		return;
	}
	r->type = "application/pdf";
	snprintf(r->disposition, sizeof(r->disposition), "attachment; "
	    "filename=\"%s.pdf\"", file);
	web_buf_add(&r->body, pdf, len);
	free(pdf);
}

/* web_sheets_pdf - GET /sheets/ID/sheet.pdf?paper=a4|letter */
static void
web_sheets_pdf(struct web_req *r, const char *id)
{
	enum sheet_paper paper;
	struct directive d;
	char err[256], file[64], *pdf = NULL;
	size_t len = 0;
	FILE *fp;
	int rc = -1;

	if (web_sheets_paper(r, &paper) == -1 ||
	    web_sheets_get(r, id, &d) == -1)
		return;
	if ((fp = open_memstream(&pdf, &len)) != NULL) {
		rc = sheet_write_stream(&d, paper, fp, err, sizeof(err));
		if (fclose(fp) != 0)
			rc = -1;
	}
	directive_clear(&d);
	snprintf(file, sizeof(file), "routing-sheet-%s", id);
	web_sheets_reply_pdf(r, rc, pdf, len, file);
}

/* web_sheets_separator - GET /sheets/separator.pdf?paper=a4|letter */
static void
web_sheets_separator(struct web_req *r)
{
	enum sheet_paper paper;
	char err[256], *pdf = NULL;
	size_t len = 0;
	FILE *fp;
	int rc = -1;

	if (web_sheets_paper(r, &paper) == -1)
		return;
	if ((fp = open_memstream(&pdf, &len)) != NULL) {
		rc = sheet_write_separator_stream(paper, fp, err, sizeof(err));
		if (fclose(fp) != 0)
			rc = -1;
	}
	web_sheets_reply_pdf(r, rc, pdf, len, "separator-sheet");
}

/* web_sheets - the pages under /sheets (web_sheets.h) */
void
web_sheets(struct web_req *r, const char *rest)
{
	char id[DIRECTIVE_ID_MAX];
	const char *tail;
	size_t n;

	if (*rest == '\0' || strcmp(rest, "/") == 0) {
		if (r->post)
			web_error(r, MHD_HTTP_METHOD_NOT_ALLOWED, "not here");
		else
			web_sheets_list(r);
		return;
	}
	if (strcmp(rest, "/separator.pdf") == 0 && !r->post) {
		web_sheets_separator(r);
		return;
	}
	if (strcmp(rest, "/new") == 0) {
		if (r->post)
			web_sheets_save(r, NULL);
		else
			web_sheets_new(r);
		return;
	}
	n = strcspn(rest + 1, "/");
	tail = rest + 1 + n;
	if (n >= sizeof(id)) {
		web_error(r, MHD_HTTP_NOT_FOUND, "There is no such page.");
		return;
	}
	memcpy(id, rest + 1, n);
	id[n] = '\0';
	if (!directive_id_valid(id))
		web_error(r, MHD_HTTP_NOT_FOUND, "There is no such page.");
	else if (*tail == '\0')
		r->post ? web_sheets_save(r, id) : web_sheets_show(r, id);
	else if (strcmp(tail, "/delete") == 0)
		web_sheets_delete(r, id);
	else if (strcmp(tail, "/sheet.pdf") == 0 && !r->post)
		web_sheets_pdf(r, id);
	else
		web_error(r, MHD_HTTP_NOT_FOUND, "There is no such page.");
}
