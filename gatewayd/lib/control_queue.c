/*
 * control_queue.c - the queue commands, run in an unprivileged control child
 *
 * list and show read the spool.  hold, release, delete, retry, requeue and
 * expire change it with renames (or, for expire, by claiming the job into
 * active/ exactly like a worker, which keeps the worker away from it), and
 * never touch a job in active/: that one is being delivered, and the
 * operator is told to try again.  After a change the master is told, so
 * the worker's ready list follows (IPC_JOB_NEW) and the router re-routes
 * requeued messages (IPC_REQUEUE); stale entries elsewhere are harmless
 * because a worker skips a job it cannot claim.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "cfg.h"
#include "control_proto.h"
#include "envelope.h"
#include "ipc.h"
#include "proc.h"
#include "spool.h"
#include "spool_admin.h"
#include "textout.h"
#include "xmalloc.h"

#define QUEUE_BATCH	500	/* queue IDs per notification frame */
#define QUEUE_DELETE_PROCS	8	/* processes sharing a delete ALL */
#define QUEUE_SWEEP_PROCS	8	/* processes sharing a sweep of trash/ */
#define QUEUE_DELETE_MIN	64	/* jobs at least per such process */

struct queue_list {
	const struct control_req *req;
	struct spool *sp;
	FILE *fp;
	enum spool_state state;
	const char *connector;
	time_t now;
};

/* queue_match - does env pass the list filters? */
static int
queue_match(const struct control_req *req, const struct envelope *env,
    time_t now)
{
	size_t i;

	if (req->older_than >= 0 &&
	    now - (time_t)(env->arrival_us / 1000000) < req->older_than)
		return 0;
	if (req->sender != NULL && fnmatch(req->sender, env->from,
	    FNM_CASEFOLD) != 0)
		return 0;
	if (req->recipient == NULL)
		return 1;
	for (i = 0; i < env->nrcpt; i++)
		if (fnmatch(req->recipient, env->rcpt[i].addr,
		    FNM_CASEFOLD) == 0)
			return 1;
	return 0;
}

/* queue_result_fmt - "451 4.2.0 text" into buf; the length it needs */
static size_t
queue_result_fmt(char *buf, size_t len, const struct envelope_rcpt *r)
{
	int n;

	if (r->code == 0)
		n = snprintf(buf, len, "%s", r->text ? r->text : "");
	else
		n = snprintf(buf, len, "%d%s%s %s", r->code,
		    r->status[0] ? " " : "", r->status, r->text ? r->text : "");
	return n < 0 ? 0 : (size_t)n;
}

/* queue_json_result - a recipient's last result as a member */
static void
queue_json_result(struct textout_json *j, const char *key,
    const struct envelope_rcpt *r)
{
	char small[1024], *buf = small;
	size_t n;

	if ((n = queue_result_fmt(small, sizeof(small), r)) >= sizeof(small)) {
		buf = xmalloc(n + 1);
		n = queue_result_fmt(buf, n + 1, r);
	}
	textout_json_strn(j, key, buf, n);
	if (buf != small)
		free(buf);
}

/*
 * queue_json - one JSON Lines record: the fields of postqueue -j
 * (queue_name, queue_id, arrival_time, message_size, forced_expire,
 * sender, recipients[].address, recipients[].delay_reason) and more.
 * As there, delay_reason is present only for a recipient still waiting
 * after a failed attempt; next_attempt is 0 unless the job is deferred.
 */
static void
queue_json(FILE *fp, enum spool_state st, const char *connector,
    const struct envelope *env, off_t size, time_t next)
{
	const struct envelope_rcpt *r;
	struct textout_json j;
	size_t i;

	textout_json_init(&j, fp);
	textout_json_object(&j, NULL);
	textout_json_str(&j, "queue_name", spool_state_name(st));
	textout_json_str(&j, "queue_id", env->id);
	textout_json_str(&j, "connector", connector ? connector : "");
	textout_json_int(&j, "arrival_time", env->arrival_us / 1000000);
	textout_json_int(&j, "message_size", (long long)size);
	textout_json_bool(&j, "forced_expire", 0);
	textout_json_uint(&j, "attempts", env->attempts);
	textout_json_int(&j, "next_attempt", (long long)next);
	textout_json_str(&j, "sender", env->from);
	textout_json_str(&j, "last_error", env->last_error ?
	    env->last_error : "");
	textout_json_array(&j, "recipients");
	for (i = 0; i < env->nrcpt; i++) {
		r = &env->rcpt[i];
		textout_json_object(&j, NULL);
		textout_json_str(&j, "address", r->addr);
		textout_json_str(&j, "state", envelope_rcpt_state_name(r->state));
		textout_json_int(&j, "next_attempt",
		    r->state == RCPT_DEFERRED ? (long long)next : 0);
		if (r->state == RCPT_DEFERRED || (r->state == RCPT_PENDING &&
		    r->code != 0))
			queue_json_result(&j, "delay_reason", r);
		if (r->code != 0 || r->text != NULL)
			queue_json_result(&j, "result", r);
		textout_json_close(&j);
	}
	textout_json_close(&j);
	textout_json_close(&j);
	textout_json_end(&j);
}

/*
 * queue_table - the human form of one entry; the sender, recipients and
 * results are escaped (textout.h): they come from SMTP clients and
 * upstream servers
 */
static void
queue_table(FILE *fp, enum spool_state st, const char *connector,
    const struct envelope *env, off_t size)
{
	char when[32];
	time_t arrival = (time_t)(env->arrival_us / 1000000);
	struct tm tm;
	size_t i;

	localtime_r(&arrival, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
	fprintf(fp, "%-20s %-9s %-12s %8lld %s ", env->id,
	    spool_state_name(st), connector ? connector : "-",
	    (long long)size, when);
	textout_terms(fp, env->from[0] ? env->from : "<>", 0);
	fputc('\n', fp);
	for (i = 0; i < env->nrcpt; i++) {
		fprintf(fp, "%44s", "");
		textout_terms(fp, env->rcpt[i].addr, 0);
		fprintf(fp, " %s%s",
		    envelope_rcpt_state_name(env->rcpt[i].state),
		    env->rcpt[i].text ? ": " : "");
		textout_terms(fp, env->rcpt[i].text, 0);
		fputc('\n', fp);
	}
}

/* queue_list_one - spool_list callback: print one entry if it matches */
static int
queue_list_one(const char *qid, const struct envelope *env, const char *err,
    void *arg)
{
	struct queue_list *ql = arg;
	off_t size;

	if (env == NULL) {
		fprintf(ql->fp, "E%d %s: unreadable: %s\n", EX_DATAERR, qid, err);
		return 0;
	}
	if (!queue_match(ql->req, env, ql->now))
		return 0;
	/* jobs routed by older versions did not record the size */
	size = env->size >= 0 ? env->size :
	    spool_message_size(ql->sp, qid, ql->connector);
	if (ql->req->json)
		queue_json(ql->fp, ql->state, ql->connector, env, size,
		    ql->state == SPOOL_DEFERRED ? env->next_attempt : 0);
	else
		queue_table(ql->fp, ql->state, ql->connector, env, size);
	return 0;
}

/* queue_list_part - list this process's share of every directory */
static void
queue_list_part(struct queue_list *ql, int want, unsigned int part,
    unsigned int nparts)
{
	const struct control_req *req = ql->req;
	char **names = NULL;
	size_t n = 0, i;
	int st;

	if ((want == -1 || want == SPOOL_INCOMING) && req->connector == NULL)
		spool_list(ql->sp, SPOOL_INCOMING, NULL, part, nparts,
		    queue_list_one, ql);
	if (spool_connectors(ql->sp, &names, &n) == -1)
		return;
	for (st = SPOOL_QUEUE; st < SPOOL_NSTATES; st++) {
		if (want != -1 && want != st)
			continue;
		for (i = 0; i < n; i++) {
			if (req->connector && strcmp(req->connector, names[i]))
				continue;
			ql->state = (enum spool_state)st;
			ql->connector = names[i];
			spool_list(ql->sp, ql->state, names[i], part, nparts,
			    queue_list_one, ql);
		}
	}
	spool_free_names(names, n);
}

/*
 * queue_helper_fork - fork a helper process writing into an anonymous
 * memory file: in the parent that file (the helper's pid in *pid), or -1
 * if there is none (the caller does the work itself); in the helper -2,
 * with *out the stream to write.  A helper outlives no control child
 * (killed, or its master gone).
 */
static int
queue_helper_fork(const char *name, FILE *fp, FILE **out, pid_t *pid)
{
	pid_t parent = getpid();
	int fd;

	if ((fd = memfd_create(name, MFD_CLOEXEC)) == -1)
		return -1;
	fflush(fp);		/* nothing buffered may be written twice */
	if ((*pid = fork()) == -1) {
		close(fd);
		return -1;
	}
	if (*pid != 0)
		return fd;
	proc_die_with(parent, SIGKILL);
	if ((*out = fdopen(fd, "w")) == NULL)
		_exit(1);
	(void)setvbuf(*out, NULL, _IOFBF, 256 * 1024);
	return -2;
}

/*
 * queue_list_helper - fork a process that lists half of the entries into
 * an anonymous memory file (the listing is bound by the open, read and
 * close of every job file, so two processes take about half the time);
 * returns the file, or -1 to list everything here
 */
static int
queue_list_helper(struct queue_list *ql, int want, pid_t *pid)
{
	FILE *out;
	int fd;

	if ((fd = queue_helper_fork("queue-list", ql->fp, &out, pid)) != -2)
		return fd;
	ql->fp = out;
	queue_list_part(ql, want, 1, 2);
	_exit(fclose(out) == 0 ? 0 : 1);
}

/*
 * queue_helper_merge - wait for a helper, then copy what it wrote; what:
 * the work that is incomplete if it failed
 */
static void
queue_helper_merge(FILE *fp, int fd, pid_t pid, const char *what)
{
	char buf[65536];
	ssize_t r;
	int status;

	while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fprintf(fp, "E%d the %s is incomplete: its helper "
		    "process failed\n", EX_SOFTWARE, what);
	else if (lseek(fd, 0, SEEK_SET) == 0)
		while ((r = read(fd, buf, sizeof(buf))) > 0)
			fwrite_unlocked(buf, 1, (size_t)r, fp);
	close(fd);
}

/* control_queue_list - queue list [filters] */
int
control_queue_list(const struct control_req *req, struct spool *sp,
    FILE *fp, int notify)
{
	struct queue_list ql = { req, sp, fp, SPOOL_INCOMING, NULL, time(NULL) };
	int want = -1, fd;
	pid_t pid;

	(void)notify;
	if (req->state != NULL &&
	    (want = spool_state_from_name(req->state)) == -1) {
		fprintf(fp, "E%d --state %s: not one of incoming, queue, "
		    "active, deferred, hold, failed\n", EX_USAGE, req->state);
		return 0;
	}
	if (!req->json)
		fprintf(fp, "%-20s %-9s %-12s %8s %-19s %s\n", "QUEUE-ID",
		    "STATE", "CONNECTOR", "SIZE", "ARRIVAL", "SENDER/RECIPIENTS");
	if ((fd = queue_list_helper(&ql, want, &pid)) == -1) {
		queue_list_part(&ql, want, 0, 1);
		return 0;
	}
	queue_list_part(&ql, want, 0, 2);
	queue_helper_merge(fp, fd, pid, "listing");
	return 0;
}

/*
 * queue_show_body - the message after its envelope, for people: line ends
 * as LF, control characters but tabs escaped (the headers and the body
 * are the sender's text); a line that would read as the protocol's
 * "E<code> <text>" failure line has its E escaped (\x45), so a sender
 * cannot make gatewayctl report an error and exit with a code of theirs
 */
static void
queue_show_body(struct spool *sp, FILE *fp, const char *qid,
    const char *connector)
{
	char err[SPOOL_ERRLEN], *line = NULL;
	size_t cap = 0, off;
	ssize_t n;
	FILE *in;
	int fd, code;

	if ((fd = spool_message_open(sp, qid, connector, err,
	    sizeof(err))) == -1) {
		fprintf(fp, "E%d %s: %s\n", EX_NOINPUT, qid, err);
		return;
	}
	if ((in = fdopen(fd, "r")) == NULL) {
		fprintf(fp, "E%d %s: %s\n", EX_OSERR, qid, strerror(errno));
		close(fd);
		return;
	}
	fputs("\n", fp);
	while ((n = getline(&line, &cap, in)) > 0) {
		if (line[n - 1] == '\n')
			n -= n > 1 && line[n - 2] == '\r' ? 2 : 1;
		if (control_errline(line, (size_t)n, &code, &off)) {
			fputs("\\x45", fp);
			textout_term(fp, line + 1, (size_t)n - 1,
			    TEXTOUT_KEEP_TAB);
		} else
			textout_term(fp, line, (size_t)n, TEXTOUT_KEEP_TAB);
		fputc('\n', fp);
	}
	free(line);
	fclose(in);
}

/*
 * queue_routed - how many leading locations to pass over: the incoming/
 * file of a routed message (it waits for the router's next sync, at most
 * ROUTER_SYNC_MS) when its jobs were found too; they stand for it
 */
static int
queue_routed(const struct spool_loc *locs, int n)
{
	return n > 1 && locs[0].state == SPOOL_INCOMING;
}

/* queue_show_one - envelope of one location */
static void
queue_show_one(const struct control_req *req, struct spool *sp, FILE *fp,
    const char *qid, const struct spool_loc *l)
{
	const char *c = l->state == SPOOL_INCOMING ? NULL : l->connector;
	char err[SPOOL_ERRLEN], *text;
	struct envelope env;
	size_t len;

	memset(&env, 0, sizeof(env));
	if (spool_job_read(sp, l->state, c, qid, &env, err, sizeof(err)) == -1) {
		fprintf(fp, "E%d %s: %s\n", EX_DATAERR, qid, err);
		return;
	}
	if (env.size < 0)
		env.size = spool_message_size(sp, qid, c);
	if (req->json)
		queue_json(fp, l->state, c, &env, env.size,
		    l->state == SPOOL_DEFERRED ? l->mtime : 0);
	else if (envelope_format(&env, &text, &len) == 0) {
		fprintf(fp, "# %s%s%s\n", spool_state_name(l->state),
		    c ? "/" : "", c ? c : "");
		/* the format escapes C0 and DEL; C1 and non-UTF-8 are left */
		textout_term(fp, text, len, TEXTOUT_KEEP_NL);
		free(text);
	}
	envelope_clear(&env);
}

/* control_queue_show - queue show ID... [--body] */
int
control_queue_show(const struct control_req *req, struct spool *sp,
    FILE *fp, int notify)
{
	struct spool_loc locs[SPOOL_MAX_LOCS];
	int i, j, k, n;

	(void)notify;
	if (req->argc < 3)
		fprintf(fp, "E%d usage: queue show ID... [--body]\n", EX_USAGE);
	for (i = 2; i < req->argc; i++) {
		if (!spool_qid_valid(req->argv[i])) {
			fprintf(fp, "E%d %s: not a queue ID\n", EX_DATAERR,
			    req->argv[i]);
			continue;
		}
		if ((n = spool_locate(sp, req->argv[i], locs,
		    SPOOL_MAX_LOCS)) <= 0) {
			fprintf(fp, "E%d %s: no such message\n", EX_NOINPUT,
			    req->argv[i]);
			continue;
		}
		for (j = k = queue_routed(locs, n); j < n; j++)
			queue_show_one(req, sp, fp, req->argv[i], &locs[j]);
		if (req->body && !req->json)
			queue_show_body(sp, fp, req->argv[i],
			    locs[k].state == SPOOL_INCOMING ? NULL :
			    locs[k].connector);
	}
	return 0;
}

/* queue_state_text - why a job waits: its last error, else a result */
static const char *
queue_state_text(const struct envelope *env, char *buf, size_t len)
{
	size_t i;

	if (env->last_error != NULL && *env->last_error != '\0')
		return env->last_error;
	for (i = 0; i < env->nrcpt; i++)
		if (env->rcpt[i].text != NULL) {
			snprintf(buf, len, "%d %s %s", env->rcpt[i].code,
			    env->rcpt[i].status, env->rcpt[i].text);
			return buf;
		}
	return "";
}

/*
 * control_queue_state - queue state ID: "STATE CONNECTOR TEXT" per place
 * the message is (CONNECTOR "-" for incoming).  For gatewayd-web acting
 * for a user who is not an admin, only a message whose authenticated
 * sender (the envelope's auth) is that user: else E77, told apart from
 * "no such message" (E66) only for the message's own sender.
 */
int
control_queue_state(const struct control_req *req, struct spool *sp,
    FILE *fp, int notify)
{
	struct spool_loc locs[SPOOL_MAX_LOCS];
	char err[SPOOL_ERRLEN], buf[600], line[1024];
	struct envelope env;
	const char *c, *qid = req->argc == 3 ? req->argv[2] : "";
	int i, n, tries = 0, mine = req->as_user[0] == '\0' || req->as_admin;
	char *out = NULL;
	size_t outlen = 0;
	FILE *mem;

	(void)notify;
	if (!spool_qid_valid(qid)) {
		fprintf(fp, "E%d usage: queue state ID\n", EX_USAGE);
		return 0;
	}
again:
	if ((n = spool_locate(sp, qid, locs, SPOOL_MAX_LOCS)) <= 0) {
		/*
		 * A job moving against the order of the look (deferred/ or
		 * hold/ back to active/ or queue/) can be missed: look again.
		 */
		if (n == 0 && tries++ < 3)
			goto again;
		fprintf(fp, "E%d %s: no such message\n", EX_NOINPUT, qid);
		return 0;
	}
	if ((mem = open_memstream(&out, &outlen)) == NULL)
		return -1;
	for (i = queue_routed(locs, n); i < n; i++) {
		c = locs[i].state == SPOOL_INCOMING ? NULL : locs[i].connector;
		memset(&env, 0, sizeof(env));
		if (spool_job_read(sp, locs[i].state, c, qid, &env, err,
		    sizeof(err)) == -1) {
			/*
			 * Moved meanwhile (the router took it from incoming/,
			 * a worker from queue/): look again, or a message in
			 * the middle of its first move would read as gone.
			 */
			if (errno == ENOENT && tries++ < 3) {
				fclose(mem);
				free(out);
				out = NULL;
				outlen = 0;
				goto again;
			}
			continue;
		}
		if (env.auth != NULL && strcmp(env.auth, req->as_user) == 0)
			mine = 1;
		snprintf(line, sizeof(line), "%s %s %s\n",
		    spool_state_name(locs[i].state), c ? c : "-",
		    queue_state_text(&env, buf, sizeof(buf)));
		textout_term(mem, line, strlen(line), TEXTOUT_KEEP_NL);
		envelope_clear(&env);
	}
	fclose(mem);
	if (!mine)
		fprintf(fp, "E%d %s: permission denied: not a message you "
		    "sent\n", EX_NOPERM, qid);
	else if (outlen == 0)
		fprintf(fp, "E%d %s: no such message\n", EX_NOINPUT, qid);
	else
		fputs(out, fp);
	free(out);
	return 0;
}

/* ---- actions ---- */

enum queue_op { OP_HOLD, OP_RELEASE, OP_DELETE, OP_RETRY, OP_REQUEUE,
	OP_EXPIRE };

static const char *const queue_op_names[] = {
	"hold", "release", "delete", "retry", "requeue", "expire"
};

/* Queue IDs to announce to one worker (or, connector "", the router). */
struct queue_note {
	uint32_t type;			/* IPC_JOB_NEW, IPC_JOB_FAILED, IPC_REQUEUE */
	char connector[SPOOL_NAME_MAX];
	const char *qids[QUEUE_BATCH + 2];
	char ids[QUEUE_BATCH][SPOOL_QID_LEN + 1];
	size_t n;
};

struct queue_act {
	const struct control_req *req;
	struct spool *sp;
	FILE *fp;
	int notify;
	enum queue_op op;
	struct queue_note *notes;
	size_t nnotes;
	int all;		/* ALL: a job gone meanwhile is no error */
	int scanned;		/* ALL: locations from the scan, maybe stale */
	unsigned long done, failed, expired;
};

/* queue_flush - send one note's frame to the master */
static void
queue_flush(struct queue_act *a, struct queue_note *nt)
{
	size_t i, k = 0;

	if (nt->n == 0)
		return;
	if (nt->connector[0] != '\0')
		nt->qids[k++] = nt->connector;
	for (i = 0; i < nt->n; i++)
		nt->qids[k++] = nt->ids[i];
	nt->qids[k] = NULL;
	if (a->notify != -1 &&
	    ipc_write_strings(a->notify, nt->type, nt->qids) == -1)
		fprintf(a->fp, "warning: cannot notify the master: %s (the "
		    "change is picked up by the next scan)\n", strerror(errno));
	nt->n = 0;
}

/* queue_flush_worker - IPC_FLUSH: ask a worker to try its jobs at once */
static int
queue_flush_worker(struct queue_act *a, const char *connector)
{
	const char *sv[2] = { connector, NULL };

	return ipc_write_strings(a->notify, IPC_FLUSH, sv);
}

/* queue_note - remember a queue ID to announce */
static void
queue_note(struct queue_act *a, uint32_t type, const char *connector,
    const char *qid)
{
	struct queue_note *nt = NULL;
	size_t i;

	for (i = 0; i < a->nnotes; i++)
		if (a->notes[i].type == type &&
		    strcmp(a->notes[i].connector, connector) == 0)
			nt = &a->notes[i];
	if (nt == NULL) {
		/*
		 * queue retry: the worker first ends a suspension of its
		 * destination (worker.c), so that the jobs are tried at once
		 */
		if (a->op == OP_RETRY && type == IPC_JOB_NEW &&
		    a->notify != -1 && queue_flush_worker(a, connector) == -1)
			fprintf(a->fp, "warning: cannot notify the master: %s\n",
			    strerror(errno));
		a->notes = xreallocarray(a->notes, a->nnotes + 1,
		    sizeof(*a->notes));
		nt = &a->notes[a->nnotes++];
		memset(nt, 0, sizeof(*nt));
		nt->type = type;
		snprintf(nt->connector, sizeof(nt->connector), "%s", connector);
	}
	snprintf(nt->ids[nt->n++], SPOOL_QID_LEN + 1, "%s", qid);
	if (nt->n == QUEUE_BATCH)
		queue_flush(a, nt);
}

/* queue_busy - a job in active/ cannot be touched */
static void
queue_busy(struct queue_act *a, const char *qid, const char *connector)
{
	fprintf(a->fp, "E%d %s: being delivered by %s right now; try again "
	    "in a moment\n", EX_TEMPFAIL, qid, connector);
	a->failed++;
}

static void queue_note(struct queue_act *, uint32_t, const char *,
    const char *);

/* queue_expire_job - claim, mark every open recipient failed, to failed/ */
static int
queue_expire_job(struct queue_act *a, const char *qid,
    const struct spool_loc *l)
{
	char err[SPOOL_ERRLEN];
	struct envelope env;
	off_t off;
	size_t i;
	int fd;

	if (spool_job_claim(a->sp, l->connector, qid, l->state) == -1)
		return -1;
	if (spool_job_load(a->sp, l->connector, qid, &env, &fd, &off, err,
	    sizeof(err)) == -1) {
		(void)spool_job_move(a->sp, l->connector, qid, SPOOL_ACTIVE,
		    l->state);
		fprintf(a->fp, "E%d %s: %s\n", EX_DATAERR, qid, err);
		return 1;
	}
	close(fd);
	for (i = 0; i < env.nrcpt; i++) {
		struct envelope_rcpt *r = &env.rcpt[i];

		if (r->state == RCPT_DONE || r->state == RCPT_FAILED)
			continue;
		r->state = RCPT_FAILED;
		r->code = 554;
		snprintf(r->status, sizeof(r->status), "5.4.7");
		envelope_rcpt_put_text(r, xstrdup("expired by operator"));
	}
	envelope_put(&env, &env.last_error,
	    xstrdup("554 5.4.7 expired by operator"));
	if (spool_job_update(a->sp, l->connector, qid, &env, SPOOL_FAILED,
	    err, sizeof(err)) == -1) {
		(void)spool_job_move(a->sp, l->connector, qid, SPOOL_ACTIVE,
		    l->state);
		fprintf(a->fp, "E%d %s: %s\n", EX_IOERR, qid, err);
		envelope_clear(&env);
		return 1;
	}
	envelope_clear(&env);
	queue_note(a, IPC_JOB_FAILED, l->connector, qid);
	a->expired++;
	return 0;
}

/* queue_move - rename a job, and announce it to its worker if ready */
static int
queue_move(struct queue_act *a, const char *qid, const struct spool_loc *l,
    enum spool_state to)
{
	if (spool_job_move(a->sp, l->connector, qid, l->state, to) == -1)
		return -1;
	if (to == SPOOL_QUEUE)
		queue_note(a, IPC_JOB_NEW, l->connector, qid);
	return 0;
}

/*
 * queue_job_op - apply the operation to one job: 0 done, 1 reported,
 * 2 nothing to do (said why), -1 with errno.
 */
static int
queue_job_op(struct queue_act *a, const char *qid, const struct spool_loc *l)
{
	char err[SPOOL_ERRLEN];
	enum spool_state st = l->state;

	switch (a->op) {
	case OP_HOLD:
		if (st == SPOOL_QUEUE || st == SPOOL_DEFERRED)
			return queue_move(a, qid, l, SPOOL_HOLD);
		break;
	case OP_RELEASE:
		if (st == SPOOL_HOLD)
			return queue_move(a, qid, l, SPOOL_QUEUE);
		break;
	case OP_RETRY:
		if (st == SPOOL_DEFERRED)
			return queue_move(a, qid, l, SPOOL_QUEUE);
		break;
	case OP_DELETE:
		if (spool_job_delete(a->sp, st, l->connector, qid, err,
		    sizeof(err)) == 0)
			return 0;
		if (errno == ENOENT)
			return -1;
		fprintf(a->fp, "E%d %s: %s\n", EX_IOERR, qid, err);
		return 1;
	case OP_EXPIRE:
		if (st != SPOOL_FAILED)
			return queue_expire_job(a, qid, l);
		break;
	case OP_REQUEUE:
		break;
	}
	fprintf(a->fp, "%s: %s/%s: nothing to %s\n", qid, spool_state_name(st),
	    l->connector, queue_op_names[a->op]);
	return 2;
}

/* queue_requeue - hold every job of the message, then ask the router */
static void
queue_requeue(struct queue_act *a, const char *qid, struct spool_loc *locs,
    int n)
{
	int i, j;

	for (i = 0; i < n; i++)
		if (locs[i].state == SPOOL_ACTIVE) {
			queue_busy(a, qid, locs[i].connector);
			return;
		}
	for (i = 0; i < n; i++) {
		if (locs[i].state == SPOOL_HOLD ||
		    spool_job_move(a->sp, locs[i].connector, qid,
		    locs[i].state, SPOOL_HOLD) == 0)
			continue;
		/* Claimed meanwhile: put the others back as they were. */
		for (j = 0; j < i; j++)
			if (locs[j].state != SPOOL_HOLD)
				(void)spool_job_move(a->sp, locs[j].connector,
				    qid, SPOOL_HOLD, locs[j].state);
		queue_busy(a, qid, locs[i].connector);
		return;
	}
	queue_note(a, IPC_REQUEUE, "", qid);
	fprintf(a->fp, "%s: requeued for routing (%d job%s)\n", qid, n,
	    n == 1 ? "" : "s");
	a->done++;
}

/*
 * queue_fresh - a job of a scanned location moved meanwhile: where is
 * it now?  1 (l updated), 0 gone (delivered or removed since the scan)
 */
static int
queue_fresh(struct queue_act *a, const char *qid, struct spool_loc *l)
{
	struct spool_loc locs[SPOOL_MAX_LOCS];
	int i, n;

	n = spool_locate(a->sp, qid, locs, SPOOL_MAX_LOCS);
	for (i = 0; i < n; i++)
		if (locs[i].state != SPOOL_INCOMING &&
		    strcmp(locs[i].connector, l->connector) == 0) {
			*l = locs[i];
			return 1;
		}
	return 0;
}

/*
 * queue_loc_op - the operation on one located job, as queue_job_op (0, 1,
 * 2), or -1: busy.  With locations from the ALL scan, a job that moved
 * since is looked up again (one locate), so the result is the one a
 * fresh locate would have given; 3: gone meanwhile, nothing to say.
 */
static int
queue_loc_op(struct queue_act *a, const char *qid, struct spool_loc *l)
{
	int r = -1;

	if (l->state != SPOOL_ACTIVE && (r = queue_job_op(a, qid, l)) != -1)
		return r;
	if (!a->scanned || (l->state != SPOOL_ACTIVE && errno != ENOENT))
		return -1;
	if (!queue_fresh(a, qid, l))
		return 3;
	return l->state == SPOOL_ACTIVE ? -1 : queue_job_op(a, qid, l);
}

/* queue_at - apply the operation to the jobs of qid found at locs */
static void
queue_at(struct queue_act *a, const char *qid, struct spool_loc *locs, int n)
{
	const char *c = a->req->connector;
	int i, r, any = 0;

	/*
	 * A routed message whose incoming/ file waits for the router's sync:
	 * the operation is on its jobs (a requeue's link back is made by the
	 * router, which syncs first).
	 */
	if (queue_routed(locs, n)) {
		locs++;
		n--;
	}
	if (locs[0].state == SPOOL_INCOMING) {
		fprintf(a->fp, "E%d %s: not routed yet; try again in a "
		    "moment\n", EX_TEMPFAIL, qid);
		a->failed++;
		return;
	}
	if (a->op == OP_REQUEUE) {
		queue_requeue(a, qid, locs, n);
		return;
	}
	for (i = 0; i < n; i++) {
		if (c != NULL && strcmp(c, locs[i].connector) != 0)
			continue;
		any = 1;
		if ((r = queue_loc_op(a, qid, &locs[i])) == -1) {
			/* retry ALL: being tried right now is what was asked */
			if (!(a->all && a->op == OP_RETRY))
				queue_busy(a, qid, locs[i].connector);
			continue;
		}
		if (r == 0) {
			fprintf(a->fp, "%s: %s (%s)\n", qid, a->op == OP_DELETE ?
			    "deleted" : a->op == OP_HOLD ? "held" :
			    a->op == OP_EXPIRE ? "expired, moved to failed" :
			    "queued for delivery", locs[i].connector);
			a->done++;
		} else if (r == 1)
			a->failed++;
	}
	if (!any) {
		fprintf(a->fp, "E%d %s: no job for connector %s\n", EX_NOINPUT,
		    qid, c);
		a->failed++;
	}
}

/* queue_one - apply the operation to every job of one queue ID */
static void
queue_one(struct queue_act *a, const char *qid)
{
	struct spool_loc locs[SPOOL_MAX_LOCS];
	int n;

	if (!spool_qid_valid(qid)) {
		fprintf(a->fp, "E%d %s: not a queue ID\n", EX_DATAERR, qid);
		a->failed++;
		return;
	}
	if ((n = spool_locate(a->sp, qid, locs, SPOOL_MAX_LOCS)) <= 0) {
		if (a->all)
			return;		/* delivered or removed since the scan */
		fprintf(a->fp, "E%d %s: no such message\n", EX_NOINPUT, qid);
		a->failed++;
		return;
	}
	queue_at(a, qid, locs, n);
}

/* One entry of the ALL scan: a queue ID in a state of a connector. */
struct queue_ent {
	char qid[SPOOL_QID_LEN + 1];
	unsigned char state;	/* enum spool_state */
	unsigned short conn;	/* index in the sorted connector names */
};

struct queue_all {
	struct queue_ent *v;
	size_t n, cap;
	enum spool_state state;
	unsigned short conn;
};

/* queue_all_add - spool_ids callback: collect an entry */
static int
queue_all_add(const char *qid, void *arg)
{
	struct queue_all *qa = arg;
	struct queue_ent *e;

	if (qa->n == qa->cap) {
		qa->cap = qa->cap ? qa->cap * 2 : 4096;
		qa->v = xreallocarray(qa->v, qa->cap, sizeof(*qa->v));
	}
	e = &qa->v[qa->n++];
	memcpy(e->qid, qid, sizeof(e->qid));
	e->state = (unsigned char)qa->state;
	e->conn = qa->conn;
	return 0;
}

/* queue_ent_cmp - qsort: by queue ID, then in spool_locate's order */
static int
queue_ent_cmp(const void *pa, const void *pb)
{
	const struct queue_ent *a = pa, *b = pb;
	int d = memcmp(a->qid, b->qid, SPOOL_QID_LEN);

	if (d != 0)
		return d;
	if (a->conn != b->conn)
		return a->conn < b->conn ? -1 : 1;
	return (int)a->state - (int)b->state;
}

/*
 * queue_all_scan - one readdir of incoming/ and of every state directory
 * of every connector (no stat per entry), sorted by queue ID; the
 * incoming entries get connector index 0, the connectors 1..n
 */
static void
queue_all_scan(struct queue_act *a, struct queue_all *qa, char **names,
    size_t n)
{
	size_t i;
	int st;

	qa->state = SPOOL_INCOMING;
	qa->conn = 0;
	(void)spool_ids(a->sp, SPOOL_INCOMING, NULL, queue_all_add, qa);
	for (i = 0; i < n && i < 65535; i++)
		for (st = SPOOL_QUEUE; st < SPOOL_NSTATES; st++) {
			qa->state = (enum spool_state)st;
			qa->conn = (unsigned short)(i + 1);
			(void)spool_ids(a->sp, (enum spool_state)st, names[i],
			    queue_all_add, qa);
		}
	if (qa->n > 1)
		qsort(qa->v, qa->n, sizeof(*qa->v), queue_ent_cmp);
}

/*
 * queue_all_wanted - does the group of one queue ID have a job ALL
 * selects: not in active/, of --connector if given?
 */
static int
queue_all_wanted(struct queue_act *a, const struct queue_ent *e, size_t n,
    char **names)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (e[i].state != SPOOL_INCOMING && e[i].state != SPOOL_ACTIVE &&
		    (a->req->connector == NULL ||
		    strcmp(a->req->connector, names[e[i].conn - 1]) == 0))
			return 1;
	return 0;
}

/* queue_all_run - the operation on the groups of entries from..to-1 */
static void
queue_all_run(struct queue_act *a, const struct queue_all *qa, char **names,
    size_t from, size_t to)
{
	struct spool_loc locs[SPOOL_MAX_LOCS];
	size_t i, j, k;

	for (i = from; i < to && !ferror(a->fp); i = j) {	/* client gone */
		for (j = i + 1; j < to && memcmp(qa->v[j].qid, qa->v[i].qid,
		    SPOOL_QID_LEN) == 0;)
			j++;
		if (!queue_all_wanted(a, &qa->v[i], j - i, names))
			continue;
		if (!a->scanned) {
			queue_one(a, qa->v[i].qid);
			continue;
		}
		for (k = 0; k < j - i && k < SPOOL_MAX_LOCS; k++) {
			memset(&locs[k], 0, sizeof(locs[k]));
			locs[k].state = (enum spool_state)qa->v[i + k].state;
			if (qa->v[i + k].conn > 0)
				snprintf(locs[k].connector,
				    sizeof(locs[k].connector), "%s",
				    names[qa->v[i + k].conn - 1]);
		}
		queue_at(a, qa->v[i].qid, locs, (int)k);
	}
}

/* queue_all_cut - a chunk boundary near at that splits no queue ID */
static size_t
queue_all_cut(const struct queue_all *qa, size_t at)
{
	while (at > 0 && at < qa->n && memcmp(qa->v[at].qid,
	    qa->v[at - 1].qid, SPOOL_QID_LEN) == 0)
		at++;
	return at < qa->n ? at : qa->n;
}

/*
 * queue_all_helper - fork a process that deletes the chunk from..to-1,
 * its lines into an anonymous memory file; the file, or -1 (then the
 * caller does that chunk itself)
 */
static int
queue_all_helper(struct queue_act *a, const struct queue_all *qa,
    char **names, size_t from, size_t to, pid_t *pid)
{
	FILE *out;
	int fd;

	if ((fd = queue_helper_fork("queue-delete", a->fp, &out, pid)) != -2)
		return fd;
	a->fp = out;
	queue_all_run(a, qa, names, from, to);
	_exit(fclose(out) == 0 ? 0 : 1);
}

/*
 * queue_all_delete - delete ALL in QUEUE_DELETE_PROCS processes, each a
 * contiguous run of queue IDs, their lines copied in order: a delete is
 * two renames into trash/ (spool_job_delete), and the renames of several
 * processes overlap their waits for the directory blocks (the files are
 * unlinked after the answer, control_queue_sweep).  A delete sends no
 * notification, so the processes need not share the master socket.
 */
static void
queue_all_delete(struct queue_act *a, const struct queue_all *qa,
    char **names)
{
	int fds[QUEUE_DELETE_PROCS];
	pid_t pids[QUEUE_DELETE_PROCS];
	size_t cut[QUEUE_DELETE_PROCS + 1], np, k;

	np = qa->n / QUEUE_DELETE_MIN;
	np = np < 1 ? 1 : np > QUEUE_DELETE_PROCS ? QUEUE_DELETE_PROCS : np;
	cut[0] = 0;
	for (k = 1; k < np; k++)
		cut[k] = queue_all_cut(qa, qa->n / np * k);
	cut[np] = qa->n;
	for (k = 1; k < np; k++)
		fds[k] = cut[k] < cut[k + 1] ? queue_all_helper(a, qa, names,
		    cut[k], cut[k + 1], &pids[k]) : -2;
	queue_all_run(a, qa, names, cut[0], cut[1]);
	for (k = 1; k < np; k++) {
		if (fds[k] >= 0 && ferror(a->fp))
			(void)kill(pids[k], SIGKILL);	/* its client is gone */
		if (fds[k] == -1)
			queue_all_run(a, qa, names, cut[k], cut[k + 1]);
		else if (fds[k] >= 0)
			queue_helper_merge(a->fp, fds[k], pids[k], "deletion");
	}
}

/*
 * queue_all - every queue ID with a job (of --connector if given), in
 * queue ID order.  The locations come from one scan of the directories
 * instead of a locate per queue ID (about 15 system calls each), so a
 * million jobs cost little more than their unlinks or renames; requeue,
 * which moves every job of a message together, still locates each.
 */
static void
queue_all(struct queue_act *a)
{
	struct queue_all qa;
	char **names;
	size_t n;

	memset(&qa, 0, sizeof(qa));
	a->all = 1;
	if (spool_connectors(a->sp, &names, &n) == -1)
		return;
	queue_all_scan(a, &qa, names, n);
	a->scanned = a->op != OP_REQUEUE;
	if (a->op == OP_DELETE)
		queue_all_delete(a, &qa, names);
	else
		queue_all_run(a, &qa, names, 0, qa.n);
	spool_free_names(names, n);
	free(qa.v);
}

/* control_queue_action - hold|release|delete|retry|requeue|expire ID...|ALL */
int
control_queue_action(const struct control_req *req, struct spool *sp,
    FILE *fp, int notify)
{
	struct queue_act a;
	char buf[64];
	const char *sv[2] = { buf, NULL };
	size_t i;
	int op;

	memset(&a, 0, sizeof(a));
	a.req = req;
	a.sp = sp;
	a.fp = fp;
	a.notify = notify;
	for (op = 0; op <= OP_EXPIRE; op++)
		if (strcmp(req->argv[1], queue_op_names[op]) == 0)
			a.op = (enum queue_op)op;
	if (req->argc < 3 && !(a.op == OP_RETRY && req->connector)) {
		fprintf(fp, "E%d usage: queue %s ID... | ALL\n", EX_USAGE,
		    req->argv[1]);
		return 0;
	}
	if (req->argc < 3 || (req->argc == 3 && strcmp(req->argv[2],
	    "ALL") == 0))
		queue_all(&a);
	else
		for (op = 2; op < req->argc; op++)
			queue_one(&a, req->argv[op]);
	for (i = 0; i < a.nnotes; i++)
		queue_flush(&a, &a.notes[i]);
	free(a.notes);
	if (a.expired > 0 && notify != -1) {
		snprintf(buf, sizeof(buf), "bounced=%lu", a.expired);
		(void)ipc_write_strings(notify, IPC_WORKER_STATS, sv);
	}
	return 0;
}

/*
 * control_queue_sweep - unlink what deletes left in trash/ (moved there
 * by spool_job_remove), in up to QUEUE_SWEEP_PROCS processes: an unlink
 * waits for the file system to free the blocks (synchronously where it
 * is mounted with discard), and the waits of several processes overlap.
 * The helpers end with the caller.  Returns the number unlinked.
 */
int
control_queue_sweep(struct spool *sp)
{
	pid_t pids[QUEUE_SWEEP_PROCS], parent = getpid();
	unsigned int k, np = QUEUE_SWEEP_PROCS;
	int p[2], n, total = 0;

	if (spool_trash_empty(sp))
		return 0;
	if (pipe2(p, O_CLOEXEC) == -1)
		return spool_trash_sweep(sp, 0, 1);
	for (k = 1; k < np; k++)
		if ((pids[k] = fork()) == 0) {
			proc_die_with(parent, SIGKILL);
			n = spool_trash_sweep(sp, k, np);
			_exit(write(p[1], &n, sizeof(n)) == sizeof(n) ? 0 : 1);
		}
	close(p[1]);
	for (k = 0; k < np; k++)
		if (k == 0 || pids[k] == -1)	/* no helper: here */
			total += (n = spool_trash_sweep(sp, k, np)) > 0 ? n : 0;
	for (k = 1; k < np; k++)
		while (pids[k] > 0 && waitpid(pids[k], NULL, 0) == -1 &&
		    errno == EINTR)
			;
	while (read(p[0], &n, sizeof(n)) == sizeof(n))
		total += n > 0 ? n : 0;
	close(p[0]);
	return total;
}

/* queue_check_cb - print one problem */
static void
queue_check_cb(const struct spool_problem *p, void *arg)
{
	FILE *fp = arg;

	fprintf(fp, "%s: %s%s\n", p->path, p->what, p->repaired ?
	    " (moved to corrupt/)" : "");
}

/* control_queue_check - queue check [--repair] */
int
control_queue_check(const struct control_req *req, struct spool *sp,
    FILE *fp, int notify)
{
	int n;

	(void)notify;
	n = spool_check(sp, req->repair, 3600, queue_check_cb, fp);
	if (n == -1)
		fprintf(fp, "E%d spool: %s\n", EX_IOERR, strerror(errno));
	else if (n == 0)
		fprintf(fp, "queue is consistent\n");
	else
		fprintf(fp, "E%d %d problem%s found%s\n", req->repair ? 0 :
		    EX_DATAERR, n, n == 1 ? "" : "s", req->repair ?
		    ", quarantined in corrupt/" : "; run with --repair to "
		    "quarantine them");
	return 0;
}

struct queue_sizes {
	unsigned long *count;
	char oldest[SPOOL_QID_LEN + 1];
};

/* queue_size_one - spool_scan callback: count, and the smallest ID */
static int
queue_size_one(const char *qid, time_t mtime, off_t size, void *arg)
{
	struct queue_sizes *qs = arg;

	(void)mtime;
	(void)size;
	(*qs->count)++;
	if (qs->oldest[0] == '\0' || strcmp(qid, qs->oldest) < 0)
		snprintf(qs->oldest, sizeof(qs->oldest), "%s", qid);
	return 0;
}

/* control_queue_sizes - files per state, and the oldest message's age */
void
control_queue_sizes(struct spool *sp, unsigned long sizes[], time_t *oldest)
{
	struct queue_sizes qs;
	char **names;
	size_t n, i;
	int st;
	unsigned long long us;

	memset(&qs, 0, sizeof(qs));
	memset(sizes, 0, SPOOL_NSTATES * sizeof(sizes[0]));
	*oldest = 0;
	qs.count = &sizes[SPOOL_INCOMING];
	spool_scan_unrouted(sp, queue_size_one, &qs);
	if (spool_connectors(sp, &names, &n) == 0) {
		for (st = SPOOL_QUEUE; st < SPOOL_NSTATES; st++)
			for (i = 0; i < n; i++) {
				qs.count = &sizes[st];
				spool_scan(sp, (enum spool_state)st, names[i],
				    queue_size_one, &qs);
			}
		spool_free_names(names, n);
	}
	/* A queue ID starts with 14 hex digits of arrival microseconds. */
	if (qs.oldest[0] != '\0' && sscanf(qs.oldest, "%14llx", &us) == 1 &&
	    time(NULL) > (time_t)(us / 1000000))
		*oldest = time(NULL) - (time_t)(us / 1000000);
}
