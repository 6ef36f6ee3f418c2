/*
 * control_log.c - a message's lines of the log file: "queue log ID"
 *
 * The daemon writes its log to syslog (or stderr); log.history_file names
 * the file those lines end up in.  The control child that serves "queue
 * log" opens it before it drops its privileges (control_fork() calls
 * control_log_prepare()), so the file may stay readable by root and adm
 * only, and it is opened afresh at each request: a log rotated since
 * the start is read where it is now.  After the drop the child holds
 * that one read-only descriptor; it reads at most LOGTAIL_SCAN bytes from
 * the end and answers only lines that contain the queue ID asked for
 * (logtail.h), escaped (textout.h).  The master checks at start and at
 * each reload that the file can be opened, and says so in its log when
 * it cannot.  doc/security.md has the why.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "cfg.h"
#include "control.h"
#include "control_int.h"
#include "log.h"
#include "logtail.h"
#include "spool.h"
#include "spool_admin.h"
#include "textout.h"
#include "xmalloc.h"

static int log_fd = -1;			/* in a control child: the file */
static int log_errno;			/* why it is not open */

/* control_log_check - start and reload: warn when the file cannot be read */
void
control_log_check(const struct cfg *cfg)
{
	char clean[256];
	int fd;

	if (cfg->log.history_file == NULL)
		return;
	if ((fd = logtail_open(cfg->log.history_file)) == -1) {
		log_warnx("warning: log.history_file %s: %s: gatewayctl queue "
		    "log cannot read it", log_clean(clean, sizeof(clean),
		    cfg->log.history_file, strlen(cfg->log.history_file)),
		    errno == EINVAL ? "not a regular file" : strerror(errno));
		return;
	}
	(void)close(fd);
}

/* control_log_prepare - in a control child, before the drop: open the file */
void
control_log_prepare(const struct cfg *cfg)
{
	log_errno = 0;
	if (cfg->log.history_file != NULL &&
	    (log_fd = logtail_open(cfg->log.history_file)) == -1)
		log_errno = errno;
}

/* log_line - one line, escaped; a cut line says so */
static void
log_line(FILE *fp, const struct logtail_line *l, int json)
{
	struct textout_json j;

	if (json) {
		textout_json_init(&j, fp);
		textout_json_object(&j, NULL);
		textout_json_strn(&j, "line", l->text, l->len);
		textout_json_bool(&j, "cut", l->cut);
		textout_json_close(&j);
		textout_json_end(&j);
		return;
	}
	textout_term(fp, l->text, l->len, TEXTOUT_KEEP_TAB);
	fputs(l->cut ? " [...]\n" : "\n", fp);
}

/* log_unreadable - the E line for a file that is not set or not open */
static void
log_unreadable(FILE *fp, const char *path)
{
	if (path == NULL) {
		fprintf(fp, "E%d log.history_file is not set: no log file to "
		    "read (gatewayd.yaml(5))\n", EX_CONFIG);
		return;
	}
	fprintf(fp, "E%d log.history_file ", EX_UNAVAILABLE);
	textout_terms(fp, path, 0);
	fprintf(fp, ": %s\n", log_errno == EINVAL ? "not a regular file" :
	    strerror(log_errno));
}

/*
 * control_queue_log - queue log ID: the last lines of the log file that
 * name the message, oldest first (a control child)
 */
int
control_queue_log(const struct control_req *req, struct spool *sp, FILE *fp,
    int notify)
{
	const char *path = master_cfg()->log.history_file;
	struct logtail_line *lines;
	ssize_t n, i;

	(void)sp;
	(void)notify;
	if (req->argc != 3) {
		fprintf(fp, "E%d usage: queue log ID\n", EX_USAGE);
		return 0;
	}
	if (!spool_qid_valid(req->argv[2])) {
		fprintf(fp, "E%d not a queue ID: ", EX_DATAERR);
		textout_terms(fp, req->argv[2], 0);
		fputc('\n', fp);
		return 0;
	}
	if (log_fd == -1) {
		log_unreadable(fp, path);
		return 0;
	}
	lines = xcalloc(LOGTAIL_MAX_LINES, sizeof(*lines));
	n = logtail_grep(log_fd, req->argv[2], LOGTAIL_SCAN, lines,
	    LOGTAIL_MAX_LINES);
	if (n == -1)
		fprintf(fp, "E%d log.history_file: read: %s\n", EX_IOERR,
		    strerror(errno));
	for (i = 0; i < n; i++)
		log_line(fp, &lines[i], req->json);
	free(lines);
	return 0;
}

/*
 * log_outcome - "sent|failed RELAY to=<ADDR> (CODE X.Y.Z TEXT)" from a
 * delivery line of worker_log.c's shape; 0 for any other line
 */
static int
log_outcome(const char *l, char *out, size_t outlen)
{
	const char *addr, *ae, *relay, *re, *st, *se, *dt, *de;

	if ((addr = strstr(l, ": to=<")) == NULL)
		return 0;
	addr += 6;
	if ((ae = strstr(addr, ">, relay=")) == NULL)
		return 0;
	relay = ae + 9;
	if ((re = strchr(relay, '[')) == NULL ||
	    (st = strstr(re, ", status=")) == NULL)
		return 0;
	st += 9;
	if ((se = strchr(st, ' ')) == NULL || se[1] != '(' ||
	    (de = strstr(se, "), rule=")) == NULL)
		return 0;
	if (!((se - st == 4 && strncmp(st, "sent", 4) == 0) ||
	    (se - st == 6 && strncmp(st, "failed", 6) == 0)))
		return 0;
	dt = se + 2;
	snprintf(out, outlen, "%.*s %.*s to=<%.*s> (%.*s)\n", (int)(se - st),
	    st, (int)(re - relay), relay, (int)(ae - addr), addr,
	    (int)(de - dt), dt);
	return 1;
}

/*
 * control_queue_state_log - queue state ID; for a message no longer in
 * the spool, the outcome of each delivery the log names (a control child)
 * when log.history_file is readable.  A web user's ownership of a message
 * that left the spool cannot be checked here: the web child answers only
 * the user who sent it (doc/security.md).
 */
int
control_queue_state_log(const struct control_req *req, struct spool *sp,
    FILE *fp, int notify)
{
	struct spool_loc locs[SPOOL_MAX_LOCS];
	struct logtail_line *lines;
	char out[LOGTAIL_LINE_MAX + 16];
	ssize_t n, i;
	int found = 0;

	if (req->argc != 3 || !spool_qid_valid(req->argv[2]) ||
	    log_fd == -1 || spool_locate(sp, req->argv[2], locs,
	    SPOOL_MAX_LOCS) > 0)
		return control_queue_state(req, sp, fp, notify);
	lines = xcalloc(LOGTAIL_MAX_LINES, sizeof(*lines));
	n = logtail_grep(log_fd, req->argv[2], LOGTAIL_SCAN, lines,
	    LOGTAIL_MAX_LINES);
	for (i = 0; i < n; i++)
		if (log_outcome(lines[i].text, out, sizeof(out))) {
			textout_term(fp, out, strlen(out), TEXTOUT_KEEP_NL);
			found = 1;
		}
	free(lines);
	if (!found)
		return control_queue_state(req, sp, fp, notify);
	return 0;
}
