/*
 * web_console.c - the queue console's chart of the last hour and a
 * message's log lines
 *
 * Both are the requests gatewayctl sends: "stats history --json" (drawn
 * by web_chart.c) and "queue log QID" (the lines as gatewayctl prints
 * them: escaped for a terminal by the control child, then for HTML
 * here).  A failure of either is shown in its section; the rest of the
 * page stands.  Whether log.history_file is set is read from the
 * configuration the web child was started with.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "cfg.h"
#include "web.h"
#include "web_chart.h"
#include "web_console.h"
#include "web_ctl.h"

/* web_console_error - a section's failure, in place of its content */
static void
web_console_error(struct web_req *r, const char *id, const char *reason)
{
	web_buf_printf(&r->body, "<p class=\"err\" id=\"%s\">", id);
	web_html(&r->body, reason);
	web_buf_str(&r->body, "</p>");
}

/* web_console_chart - the counters of the last hour (web_console.h) */
void
web_console_chart(struct web_req *r)
{
	static const char *const argv[] = { "stats", "history", "--json" };
	struct web_answer a;

	web_buf_str(&r->body, "<h2>The last hour</h2>");
	if (web_ctl_words(r->w->cfg->control_socket, r->session->user, 3,
	    argv, &a) == -1) {
		web_console_error(r, "chart-error", a.reason);
		return;
	}
	(void)web_chart_history(&r->body, a.text);
	web_answer_free(&a);
}

/* web_console_lines - text escaped a line at a time (web_html() takes no \n) */
static void
web_console_lines(struct web_req *r, char *text)
{
	char *line, *save = NULL;

	for (line = strtok_r(text, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		web_html(&r->body, line);
		web_buf_str(&r->body, "\n");
	}
}

/* web_console_log - the message's lines of the log file (web_console.h) */
void
web_console_log(struct web_req *r, const char *qid)
{
	const char *argv[] = { "queue", "log", qid };
	struct web_answer a;

	web_buf_str(&r->body, "<h2>The log</h2>");
	if (r->w->cfg->log.history_file == NULL) {
		web_buf_str(&r->body, "<p id=\"log-none\">The log is not "
		    "configured: set log.history_file to the file syslog "
		    "writes the mail facility to (gatewayd.yaml(5)).</p>");
		return;
	}
	if (web_ctl_words(r->w->cfg->control_socket, r->session->user, 3,
	    argv, &a) == -1) {
		web_console_error(r, "log-error", a.reason);
		return;
	}
	if (a.text[0] == '\0')
		web_buf_str(&r->body, "<p id=\"log-empty\">The end of the log "
		    "names this message nowhere.</p>");
	else {
		web_buf_str(&r->body, "<pre id=\"log\">");
		web_console_lines(r, a.text);
		web_buf_str(&r->body, "</pre>");
	}
	web_answer_free(&a);
}
