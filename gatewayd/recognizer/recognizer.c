/*
 * recognizer.c - gatewayd-recognizer: read scans for routing sheets
 *
 * Start-up: common child init, open the spool (and make recognize/ in
 * developer mode), drop privileges (no chroot: the job children run
 * pdftoppm), hide the spool but incoming/ and recognize/ with Landlock,
 * enter the seccomp deny list, then IPC_READY.  Each IPC_RECOG_REQ
 * becomes a job child with its own resource limits and a wall-clock
 * timer (recognizer.h); the answer goes back through the master.  A
 * question already queued or running is not asked twice.  On
 * IPC_SHUTDOWN the running job children are killed (the router asks
 * again after a restart) and the process exits.
 */
#include "config.h"

#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "cfg.h"
#include "ipc.h"
#include "landlock.h"
#include "log.h"
#include "proc.h"
#include "recognizer.h"
#include "sandbox.h"
#include "spool.h"
#include "xmalloc.h"

/* A question: waiting in the queue (pid 0) or running in a job child. */
struct rcg_job {
	char qid[SPOOL_QID_LEN + 1];
	int keep;
	pid_t pid;
	int timed_out;
	struct event *timer;
	struct rcg *owner;
	struct rcg_job *next;
};

struct rcg {
	struct cfg *cfg;
	struct spool *spool;
	struct event_base *base;
	struct ipc *ipc;
	struct event *sigchld_ev;
	struct rcg_job *jobs;		/* queued and running, in order */
	size_t njobs;
	int running;
	int stopping;
};

/* rcg_limit - one resource limit, soft and hard */
static void
rcg_limit(int res, rlim_t soft, rlim_t hard)
{
	struct rlimit rl = { soft, hard };

	if (setrlimit(res, &rl) == -1)
		log_warn("setrlimit %d", res);
}

/*
 * rcg_uid_tasks - the tasks of this real uid now (RLIMIT_NPROC counts
 * threads too), summed from /proc/<pid>/status; -1 when /proc cannot say
 */
static long
rcg_uid_tasks(void)
{
	char path[64], buf[4096], *p;
	struct dirent *de;
	long total = 0;
	ssize_t n;
	DIR *d;
	int fd;

	if ((d = opendir("/proc")) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] < '1' || de->d_name[0] > '9' ||
		    strlen(de->d_name) > 20)
			continue;
		snprintf(path, sizeof(path), "%.20s/status", de->d_name);
		if ((fd = openat(dirfd(d), path, O_RDONLY | O_CLOEXEC)) == -1)
			continue;	/* gone meanwhile */
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n <= 0)
			continue;
		buf[n] = '\0';
		if ((p = strstr(buf, "\nUid:")) == NULL ||
		    strtoul(p + 6, NULL, 10) != (unsigned long)getuid())
			continue;
		p = strstr(buf, "\nThreads:");
		total += p != NULL ? strtol(p + 10, NULL, 10) : 1;
	}
	closedir(d);
	return total;
}

/*
 * rcg_nproc - RLIMIT_NPROC counts every task of the uid, which the router,
 * the workers and their children share: the job child may start
 * recognize.processes more than the uid runs when it starts (its own
 * helpers, pdftoppm; a fork bomb stops there), within the hard limit
 */
static void
rcg_nproc(const struct cfg_recognize *rc)
{
	struct rlimit rl;
	long tasks = rcg_uid_tasks();
	rlim_t want = rc->processes;

	if (tasks < 0)
		log_warn("counting the processes of uid %u in /proc: the "
		    "limit is recognize.processes alone", (unsigned)getuid());
	else
		want += (rlim_t)tasks;
	if (getrlimit(RLIMIT_NPROC, &rl) == 0 && rl.rlim_max != RLIM_INFINITY &&
	    want > rl.rlim_max)
		want = rl.rlim_max;
	rcg_limit(RLIMIT_NPROC, want, want);
}

/* rcg_limits - the job child's limits (recognize.*) */
static void
rcg_limits(const struct cfg_recognize *rc)
{
#ifndef GW_SANITIZERS
	/* the sanitizer runtimes reserve terabytes of address space */
	rcg_limit(RLIMIT_AS, rc->memory, rc->memory);
#endif
	/* SIGXCPU at the soft limit, SIGKILL a second later */
	rcg_limit(RLIMIT_CPU, (rlim_t)rc->cpu_time, (rlim_t)rc->cpu_time + 1);
	rcg_limit(RLIMIT_FSIZE, rc->max_output, rc->max_output);
	rcg_nproc(rc);
	rcg_limit(RLIMIT_CORE, 0, 0);
}

/* rcg_child - the job child: limits, then the work; never returns */
static void __attribute__((noreturn))
rcg_child(struct rcg *g, const struct rcg_job *j)
{
	char err[256];

	signal(SIGCHLD, SIG_DFL);
	signal(SIGPIPE, SIG_DFL);
	close(PROC_FD_IPC);	/* the master hears the recognizer, not a job */
	rcg_limits(&g->cfg->recognize);
	if (recognizer_job(g->spool, g->cfg, j->qid, j->keep, err,
	    sizeof(err)) == -1) {
		log_warnx("%s: recognition failed: %s", j->qid, err);
		_exit(RECOGNIZER_EXIT_FAIL);
	}
	_exit(0);
}

/* rcg_timeout - a job child ran past recognize.timeout: kill it */
static void
rcg_timeout(evutil_socket_t fd, short ev, void *arg)
{
	struct rcg_job *j = arg;

	(void)fd;
	(void)ev;
	if (j->pid > 0) {
		j->timed_out = 1;
		kill(j->pid, SIGKILL);
	}
}

/* rcg_start - fork the job child of j */
static void
rcg_start(struct rcg *g, struct rcg_job *j)
{
	struct timeval tv = { g->cfg->recognize.timeout, 0 };

	(void)spool_recog_clear(g->spool, j->qid, 64);	/* an older attempt */
	if ((j->pid = fork()) == -1) {
		log_warn("%s: fork of a recognition job", j->qid);
		j->pid = -1;	/* answered unreadable by rcg_reap_one */
		return;
	}
	if (j->pid == 0)
		rcg_child(g, j);
	g->running++;
	j->timer = evtimer_new(g->base, rcg_timeout, j);
	if (j->timer == NULL)
		fatalx("evtimer_new failed");
	evtimer_add(j->timer, &tv);
	log_debug("%s: recognition job %ld started", j->qid, (long)j->pid);
}

/* rcg_answer - IPC_RECOG_DONE for a finished job */
static void
rcg_answer(struct rcg *g, const char *qid, const char *status,
    const char *reason)
{
	const char *strv[4] = { qid, status, reason, NULL };

	if (strcmp(status, "ok") != 0)
		log_info("%s: recognition: unreadable: %s", qid, reason);
	if (g->ipc != NULL && ipc_send_strings(g->ipc, IPC_RECOG_DONE,
	    strv) == -1)
		log_warnx("%s: cannot send the recognition answer", qid);
}

/* rcg_reason - why a job child's status means "unreadable" */
static void
rcg_reason(const struct rcg *g, const struct rcg_job *j, int status,
    char *buf, size_t len)
{
	if (j->timed_out)
		snprintf(buf, len, "the scan took longer than %lld s to read",
		    (long long)g->cfg->recognize.timeout);
	else if (WIFSIGNALED(status) && (WTERMSIG(status) == SIGXCPU ||
	    WTERMSIG(status) == SIGKILL))
		snprintf(buf, len, "the scan needed more than its CPU time "
		    "(%lld s) or memory", (long long)g->cfg->recognize.cpu_time);
	else if (WIFSIGNALED(status))
		snprintf(buf, len, "reading the scan failed (signal %d: a "
		    "resource limit or a malformed file)", WTERMSIG(status));
	else
		snprintf(buf, len, "reading the scan failed (exit %d)",
		    WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}

/* rcg_unlink - take j out of the list and free it */
static void
rcg_unlink(struct rcg *g, struct rcg_job *j)
{
	struct rcg_job **pp;

	for (pp = &g->jobs; *pp != NULL; pp = &(*pp)->next)
		if (*pp == j) {
			*pp = j->next;
			break;
		}
	if (j->timer != NULL)
		event_free(j->timer);
	g->njobs--;
	free(j);
}

/* rcg_schedule - start queued jobs while there is room */
static void
rcg_schedule(struct rcg *g)
{
	struct rcg_job *j, *next;
	char reason[64];

	for (j = g->jobs; j != NULL && !g->stopping; j = next) {
		next = j->next;
		if (j->pid != 0)
			continue;
		if (g->running >= g->cfg->recognize.concurrency)
			break;
		rcg_start(g, j);
		if (j->pid == -1) {
			snprintf(reason, sizeof(reason), "the recognizer "
			    "could not start a job");
			rcg_answer(g, j->qid, "unreadable", reason);
			rcg_unlink(g, j);
		}
	}
}

/* rcg_reap - collect finished job children and answer for them */
static void
rcg_reap(evutil_socket_t fd, short ev, void *arg)
{
	struct rcg *g = arg;
	struct rcg_job *j;
	char reason[IPC_RECOG_REASON_MAX];
	int status;
	pid_t pid;

	(void)fd;
	(void)ev;
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (j = g->jobs; j != NULL && j->pid != pid; j = j->next)
			;
		if (j == NULL)
			continue;
		g->running--;
		if (WIFEXITED(status) && WEXITSTATUS(status) == 0 &&
		    !j->timed_out)
			rcg_answer(g, j->qid, "ok", "");
		else {
			rcg_reason(g, j, status, reason, sizeof(reason));
			rcg_answer(g, j->qid, "unreadable", reason);
		}
		rcg_unlink(g, j);
	}
	rcg_schedule(g);
}

/* rcg_request - IPC_RECOG_REQ: queue the question unless it is there */
static void
rcg_request(struct rcg *g, const char *qid, int keep)
{
	struct rcg_job *j, **pp;

	for (pp = &g->jobs; *pp != NULL; pp = &(*pp)->next)
		if (strcmp((*pp)->qid, qid) == 0)
			return;		/* asked again: the answer will come */
	if (g->njobs >= RECOGNIZER_QUEUE_MAX) {
		log_warnx("%s: recognition queue full, the router will ask "
		    "again", qid);
		return;
	}
	j = xcalloc(1, sizeof(*j));
	snprintf(j->qid, sizeof(j->qid), "%s", qid);
	j->keep = keep;
	j->owner = g;
	*pp = j;
	g->njobs++;
	rcg_schedule(g);
}

/* rcg_stop - kill the running job children and leave the loop */
static void
rcg_stop(struct rcg *g)
{
	struct rcg_job *j;

	g->stopping = 1;
	for (j = g->jobs; j != NULL; j = j->next)
		if (j->pid > 0)
			kill(j->pid, SIGKILL);
	while (g->running > 0 && waitpid(-1, NULL, 0) > 0)
		g->running--;
	event_base_loopbreak(g->base);
}

/* rcg_ipc - a frame from the master */
static void
rcg_ipc(struct ipc *ipc, const struct ipc_frame *f, void *arg)
{
	struct rcg *g = arg;
	const char *sv[3], *why;

	(void)ipc;
	switch (f->type) {
	case IPC_RECOG_REQ:
		if (ipc_recog(f, sv, &why) == -1)
			fatalx("malformed %s frame from the master: %s",
			    ipc_type_name(f->type), why);
		if (!g->stopping)
			rcg_request(g, sv[0], strcmp(sv[1], "1") == 0);
		break;
	case IPC_SHUTDOWN:
		log_debug("shutting down");
		rcg_stop(g);
		break;
	default:
		fatalx("unexpected %s frame from the master",
		    ipc_type_name(f->type));
	}
}

/* rcg_ipc_closed - the master went away */
static void
rcg_ipc_closed(struct ipc *ipc, void *arg)
{
	struct rcg *g = arg;

	(void)ipc;
	g->ipc = NULL;
	rcg_stop(g);
}

/* What the recognizer keeps of the spool: it reads incoming/, writes its own. */
static const struct landlock_allow rcg_allow[] = {
	{ "incoming", 0 }, { SPOOL_RECOG_DIR, 1 }, { NULL, 0 }
};

/* rcg_sandbox - the Landlock rules in force, then the seccomp deny list */
static void
rcg_sandbox(struct rcg *g, int hide)
{
	char err[512];

	if (hide >= 0 && landlock_enforce(hide, err, sizeof(err)) == -1)
		fatalx("%s", err);
	sandbox_enter(SANDBOX_RECOGNIZER, g->cfg->sandbox, 0);
}

/* main - gatewayd-recognizer */
int
main(int argc, char **argv)
{
	struct proc_opts opts;
	struct rcg g;
	char err[SPOOL_ERRLEN];
	int hide;

	memset(&g, 0, sizeof(g));
	memset(&opts, 0, sizeof(opts));
	g.cfg = proc_child_init(argc, argv, "recognizer", &opts);
	g.spool = spool_open(g.cfg->spool, 0, (uid_t)-1, (gid_t)-1, err,
	    sizeof(err));
	if (g.spool == NULL)
		fatalx("spool %s: %s", g.cfg->spool, err);
	/* root made it (spool_prepare); a developer-mode spool may lack it */
	if (mkdirat(spool_dirfd(g.spool), SPOOL_RECOG_DIR, 0700) == -1 &&
	    errno != EEXIST)
		fatal("mkdir %s/%s", g.cfg->spool, SPOOL_RECOG_DIR);
	/* made while root (landlock.h): incoming/ read, its own directory */
	hide = landlock_ruleset(g.cfg->spool, rcg_allow, "recognizer");
	proc_drop_privileges(g.cfg->user, NULL);
	if ((g.base = event_base_new()) == NULL)
		fatalx("event_base_new failed");
	g.ipc = ipc_new(g.base, PROC_FD_IPC, rcg_ipc, rcg_ipc_closed, &g);
	if (g.ipc == NULL)
		fatalx("cannot use the master socket");
	g.sigchld_ev = evsignal_new(g.base, SIGCHLD, rcg_reap, &g);
	if (g.sigchld_ev == NULL || event_add(g.sigchld_ev, NULL) == -1)
		fatalx("cannot watch SIGCHLD");
	rcg_sandbox(&g, hide);
	if (ipc_send(g.ipc, IPC_READY, NULL, 0) == -1)
		fatalx("cannot send IPC_READY");
	event_base_dispatch(g.base);

	while (g.jobs != NULL)
		rcg_unlink(&g, g.jobs);
	event_free(g.sigchld_ev);
	if (g.ipc != NULL)
		ipc_free(g.ipc);
	event_base_free(g.base);
	spool_close(g.spool);
	cfg_free(g.cfg);
	return 0;
}
