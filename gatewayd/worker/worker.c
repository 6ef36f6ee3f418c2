/*
 * worker.c - gatewayd-worker: deliver the jobs of one connector instance
 *
 * Start-up, in the fixed order: common child init; open the spool; load
 * and check the connector (an unusable connector exits 78, EX_CONFIG, and
 * the master does not restart it); call its init() while still privileged;
 * drop privileges (no chroot: connectors write outside the spool); move
 * jobs left in active/ back to queue/; read queue/<name> into the ready
 * FIFO and deferred/<name> into a min-heap by next attempt (the only full
 * scans); fork the delivery children; IPC_READY.
 *
 * The parent is event-driven and never calls the connector.  Each child
 * loops: read a job request, claim it, call deliver(), apply the results
 * (done, deferred with exponential backoff, failed after the lifetime or
 * a permanent error), answer.  A child that dies holding a job makes the
 * parent defer that job with the reason, and a new child takes its place.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "bounce.h"
#include "notice.h"
#include "capi.h"
#include "cfg.h"
#include "deliver.h"
#include "envelope.h"
#include "failover.h"
#include "ipc.h"
#include "landlock.h"
#include "loader.h"
#include "log.h"
#include "net.h"
#include "proc.h"
#include "sandbox.h"
#include "spool.h"
#include "stats.h"
#include "worker.h"
#include "xmalloc.h"

#define WORKER_KEEP_MAX	32	/* descriptors a connector's init() may open */

enum worker_outcome {
	WORKER_GONE = 1,	/* claim failed: the job is elsewhere or done */
	WORKER_DONE,
	WORKER_DEFERRED,
	WORKER_FAILED,
	WORKER_ERROR		/* could not load, update or release; left */
};

/* Parent -> child: deliver this job (fixed size, SOCK_SEQPACKET). */
struct worker_req {
	char qid[SPOOL_QID_LEN + 1];
	int from;		/* SPOOL_QUEUE, SPOOL_DEFERRED or SPOOL_FAILED */
};

/* Child -> parent: what became of it. */
struct worker_rep {
	char qid[SPOOL_QID_LEN + 1];
	int outcome;
	time_t next_attempt;
	char dsn[SPOOL_QID_LEN + 1];	/* a DSN injected for the job, or "" */
	int noticed;		/* the ended job was recorded for a notice */
	struct failover_handoff fo[FAILOVER_MAX];	/* jobs for other workers */
	int unreachable;	/* the destination could not be reached at all */
	int code;		/* then: the result every recipient got */
	char status[16];
	char text[256];
};

struct worker_child {
	pid_t pid;		/* -1: slot empty */
	int fd;			/* -1 with pid > 0: retired (worker_retire) */
	struct event *ev;
	int busy;
	time_t idle_since;
	struct worker_req job;
};

struct worker_ready {
	TAILQ_ENTRY(worker_ready) entry;
	struct worker_ready *free_next;	/* on the free list */
	struct worker_req job;
};

/*
 * The ready entries and the deferred heap, which the parent writes job
 * after job, live in memory the delivery children do not inherit
 * (MADV_DONTFORK).  Taken from the heap, they were scattered over pages
 * the children share with the parent, and every such page the parent
 * wrote after a fork stayed behind in the children forked before it, a
 * private copy for each generation of children (doc/performance.md).
 */
#define WORKER_READY_CHUNK	(64 * 1024)

struct worker_chunk {
	struct worker_chunk *next;
};
TAILQ_HEAD(worker_readyq, worker_ready);

struct worker_timed {
	time_t when;
	int held;		/* deferred because the destination was unreachable */
	char qid[SPOOL_QID_LEN + 1];
};

struct worker {
	struct cfg *cfg;
	const struct cfg_connector *conn;
	const char *name;
	struct spool *spool;
	struct loader ld;
	void *ctx;
	unsigned int instance;	/* queue ID instance from the master (-i) */
	int hide;		/* Landlock ruleset hiding the spool, or -1 */
	int keep[WORKER_KEEP_MAX];	/* what the connector's init() opened */
	size_t nkeep;
	struct deliverer dl;	/* a delivery child's connector process */
	enum sandbox_role sbrole;	/* DELIVERY, or DELIVERY_EXEC (GW_NEED_EXEC) */

	struct event_base *base;
	struct ipc *ipc;
	struct event *sigchld_ev, *due_ev, *scan_ev, *stop_ev, *respawn_ev;
	int stopping;
	int paused;		/* gatewayctl pause delivery: hand out no job */
	/*
	 * Destination unreachable (see worker_suspend): ready jobs are
	 * deferred without an attempt until a probe gets through.
	 */
	int suspended;
	int probe;		/* the suspension interval is over: try one job */
	int why_code;		/* the unreachable result that suspended it */
	char why_status[16];
	char why_text[256];
	struct event *suspend_ev, *drain_ev;
	struct stats stats;	/* counter deltas not yet sent to the master */

	struct worker_child *children;
	int nchildren;		/* slots: the connector's concurrency */
	/*
	 * Slow start (worker_grow): children are forked up to window, which
	 * starts at initial_concurrency, grows by one after window answered
	 * jobs (credit counts them) and starts again when nothing is left to
	 * do, as Postfix's destination concurrency does with its default
	 * positive feedback (1/window) and a destination queue that empties
	 */
	int window, credit;
	int spawn_wait;		/* an idle child died: none until respawn_ev */
	struct event *retire_ev;
	int tpl_fd;		/* the template's socket, or -1 */
	pid_t tpl_pid;

	struct worker_readyq ready;
	size_t nready;
	struct worker_ready *ready_free;	/* entries of ready_chunks */
	struct worker_chunk *ready_chunks;
	struct worker_timed *heap;
	size_t nheap, heapcap;
};

static struct worker worker;

static void worker_call(struct worker *, struct capi_job *,
    const struct envelope *, int, off_t);

/* ---- outcome of an attempt (children, and the parent after a crash) ---- */

/* worker_backoff - min(max_backoff, min_backoff * 2^(attempts-1)) */
static time_t
worker_backoff(const struct cfg_retry *rt, unsigned int attempts)
{
	time_t b = rt->min_backoff > 0 ? rt->min_backoff : 1;
	time_t max = rt->max_backoff > 0 ? rt->max_backoff : b;
	unsigned int i;

	for (i = 1; i < attempts && b < max; i++)
		b *= 2;
	return b < max ? b : max;
}

/* worker_last_error - "code status text" of the first rcpt in that state */
static void
worker_last_error(struct envelope *env, enum rcpt_state state)
{
	size_t i;
	char *t;

	for (i = 0; i < env->nrcpt; i++) {
		struct envelope_rcpt *r = &env->rcpt[i];

		if (r->state != state)
			continue;
		xasprintf(&t, "%d %s %s", r->code, r->status,
		    r->text ? r->text : "");
		envelope_put(env, &env->last_error, t);
		return;
	}
}

/* worker_settle - count the attempt, apply the lifetime, pick the outcome */
static enum worker_outcome
worker_settle(struct worker *w, struct envelope *env, time_t now)
{
	time_t lifetime = w->conn->retry.lifetime;
	time_t arrival = (time_t)(env->arrival_us / 1000000);
	size_t i, ndef = 0, nfail = 0;
	char *t;

	env->attempts++;
	for (i = 0; i < env->nrcpt; i++) {
		struct envelope_rcpt *r = &env->rcpt[i];

		if (r->state == RCPT_PENDING)
			r->state = RCPT_DEFERRED;
		if (r->state == RCPT_DEFERRED && lifetime > 0 &&
		    now - arrival > lifetime) {
			r->state = RCPT_FAILED;
			xasprintf(&t, "%s (gave up after lifetime)",
			    r->text ? r->text : "temporary failure");
			envelope_rcpt_put_text(r, t);
		}
		ndef += r->state == RCPT_DEFERRED;
		nfail += r->state == RCPT_FAILED;
	}
	if (ndef > 0) {
		worker_last_error(env, RCPT_DEFERRED);
		env->next_attempt = now + worker_backoff(&w->conn->retry,
		    env->attempts);
		return WORKER_DEFERRED;
	}
	if (nfail > 0) {
		worker_last_error(env, RCPT_FAILED);
		return WORKER_FAILED;
	}
	return WORKER_DONE;
}

/*
 * worker_failover - hand permanently failed recipients to the failover
 * connector of their rule (failover.h); a hand-off that could not be
 * written defers its recipients, so the job is tried again
 */
static enum worker_outcome
worker_failover(struct worker *w, struct envelope *env,
    enum worker_outcome out, struct failover_handoff *fo)
{
	size_t ndef = 0;

	if (out == WORKER_DONE)
		return out;
	(void)failover_job(w->cfg, w->spool, w->name, env, fo, FAILOVER_MAX,
	    &ndef);
	if (ndef == 0 || out == WORKER_DEFERRED)
		return out;
	worker_last_error(env, RCPT_DEFERRED);
	env->next_attempt = time(NULL) + worker_backoff(&w->conn->retry,
	    env->attempts);
	return WORKER_DEFERRED;
}

/* worker_bounce_opts - how this worker writes its DSNs */
static void
worker_bounce_opts(const struct worker *w, struct bounce_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->hostname = w->cfg->smtp.hostname;
	o->postmaster = w->cfg->postmaster;
	o->delay_warning = w->conn->retry.delay_warning;
	o->lifetime = w->conn->retry.lifetime;
	o->success_action = strcmp(w->conn->type, "smtp") == 0 ? "relayed" :
	    "delivered";
}

/*
 * worker_bounce - the DSNs an attempt made due; a failed job whose
 * notices went out (or were not wanted) is then removed like a done one
 */
static enum worker_outcome
worker_bounce(struct worker *w, struct envelope *env, int fd, off_t off,
    enum worker_outcome out, char dsn[SPOOL_QID_LEN + 1])
{
	struct bounce_opts o;
	char err[SPOOL_ERRLEN];
	int rc;

	worker_bounce_opts(w, &o);
	rc = bounce_job(&o, w->spool, env, fd, off, time(NULL), dsn, err,
	    sizeof(err));
	if (rc == -1)
		log_warnx("%s: cannot write a delivery status notification "
		    "(tried again later): %s", env->id, err);
	if (out == WORKER_FAILED && rc >= 0)
		return WORKER_DONE;
	return out;
}

/*
 * worker_release - a claimed job that could not be loaded or updated (a
 * spool error: ENOSPC, EIO, ENOMEM...) goes back to deferred/ with the
 * envelope it has, tried again after min_backoff, instead of waiting in
 * active/ for the next start of the worker.  That envelope may not know
 * of the attempt, so recipients it reached can get the message again
 * (at least once).  DEFERRED with *next set; GONE when the job left active/
 * meanwhile; ERROR when even that rename failed.
 */
static enum worker_outcome
worker_release(struct worker *w, const char *qid, time_t *next)
{
	time_t wait = w->conn->retry.min_backoff > 0 ?
	    w->conn->retry.min_backoff : 1;

	if (spool_job_move(w->spool, w->name, qid, SPOOL_ACTIVE,
	    SPOOL_DEFERRED) == -1) {
		if (errno == ENOENT)
			return WORKER_GONE;
		log_warn("%s: cannot return the job to deferred/ either (it "
		    "stays in active/ until the worker restarts)", qid);
		return WORKER_ERROR;
	}
	*next = time(NULL) + wait;
	log_warnx("%s: job returned to deferred/ after a spool error, next "
	    "attempt in %llds", qid, (long long)wait);
	return WORKER_DEFERRED;
}

/*
 * worker_commit - write the outcome to the spool; when that fails the
 * job is released (worker_release) and its outcome is what that says.
 * An ended job whose message owes its sender a notice is recorded first
 * (notice.h); *noticed then tells the caller to wake the router.
 */
static enum worker_outcome
worker_commit(struct worker *w, const char *qid, struct envelope *env,
    enum worker_outcome out, int *noticed)
{
	char err[SPOOL_ERRLEN];
	enum spool_state to;
	int rc;

	*noticed = 0;
	if (out == WORKER_DONE) {
		if ((rc = notice_job_end(w->spool, w->name, qid, env, err,
		    sizeof(err))) >= 0) {
			*noticed = rc;
			return out;
		}
		log_warnx("%s: cannot end the job: %s", qid, err);
		out = worker_release(w, qid, &env->next_attempt);
		return out == WORKER_GONE ? WORKER_DONE : out;
	}
	to = out == WORKER_DEFERRED ? SPOOL_DEFERRED : SPOOL_FAILED;
	if (spool_job_update(w->spool, w->name, qid, env, to, err,
	    sizeof(err)) == 0)
		return out;
	log_warnx("%s: cannot move the job to %s: %s", qid,
	    spool_state_name(to), err);
	return worker_release(w, qid, &env->next_attempt);
}

/* worker_parse_errno - does this errno mean "the file is unreadable"? */
static int
worker_parse_errno(int e)
{
	return e == EBADMSG || e == EFBIG;
}

/*
 * worker_load - load an active job; quarantine it when unparsable or
 * when its data link is missing.  -1: gone or quarantined; -2: a spool
 * error left it in active/ (the caller releases it: worker_release).
 */
static int
worker_load(struct worker *w, const char *qid, struct envelope *env,
    int *datafd, off_t *off)
{
	char err[SPOOL_ERRLEN], qerr[SPOOL_ERRLEN];

	memset(env, 0, sizeof(*env));
	*datafd = -1;
	if (spool_job_load(w->spool, w->name, qid, env, datafd, off, err,
	    sizeof(err)) == 0)
		return 0;
	if (errno == ENOENT) {
		/* the job left active/, or its data link is missing */
		if (spool_quarantine(w->spool, SPOOL_ACTIVE, w->name, qid,
		    qerr, sizeof(qerr)) == 0)
			log_warnx("%s: job quarantined in corrupt/: %s", qid,
			    err);
		return -1;
	}
	if (!worker_parse_errno(errno)) {
		log_warnx("%s: cannot load job: %s", qid, err);
		return -2;
	}
	/* torn by a power failure, its message is routed again: the job only */
	if (spool_quarantine_torn(w->spool, SPOOL_ACTIVE, w->name, qid,
	    qerr, sizeof(qerr)) == 1) {
		log_warnx("%s: torn job moved to corrupt/, the message is "
		    "routed again from incoming/: %s", qid, err);
		return -1;
	}
	if (spool_quarantine(w->spool, SPOOL_ACTIVE, w->name, qid, qerr,
	    sizeof(qerr)) == -1)
		log_warnx("%s: unreadable job (%s), cannot quarantine: %s",
		    qid, err, qerr);
	else
		log_warnx("%s: unreadable job quarantined in corrupt/: %s",
		    qid, err);
	return -1;
}

/* ---- delivery child ---- */

/* worker_bounce_failed - a job kept in failed/: send its DSN, remove it */
static void
worker_bounce_failed(struct worker *w, const struct worker_req *req,
    struct worker_rep *rep)
{
	struct bounce_opts o;
	char err[SPOOL_ERRLEN];

	worker_bounce_opts(w, &o);
	if (bounce_failed_job(&o, w->spool, w->name, req->qid, SPOOL_FAILED,
	    rep->dsn, err, sizeof(err)) == -1) {
		if (errno != ENOENT)
			log_warnx("%s: failed job kept (its notice is tried "
			    "again later): %s", req->qid, err);
		rep->outcome = WORKER_ERROR;
	} else
		rep->outcome = WORKER_DONE;
}

/*
 * worker_unreachable - did the attempt not reach the destination at all?
 * Every recipient handed to the connector came back deferred with the
 * enhanced status 4.4.1 (RFC 3463 "no answer from host": connection
 * refused or timed out at every address); the smtp connector says so
 * only when no host of its list answered.
 */
static void
worker_unreachable(const struct capi_job *job, struct worker_rep *rep)
{
	const struct envelope_rcpt *r;
	size_t i;

	if (job->nrcpt == 0)
		return;
	for (i = 0; i < job->nrcpt; i++) {
		r = job->rcpts[i].rcpt;
		if (r->state != RCPT_DEFERRED || strcmp(r->status, "4.4.1") != 0)
			return;
	}
	r = job->rcpts[0].rcpt;
	rep->unreachable = 1;
	rep->code = r->code;
	snprintf(rep->status, sizeof(rep->status), "%s", r->status);
	snprintf(rep->text, sizeof(rep->text), "%s", r->text ? r->text : "");
}

/* worker_deliver - claim, deliver and settle one job (in a child) */
static void
worker_deliver(struct worker *w, const struct worker_req *req,
    struct worker_rep *rep)
{
	struct worker_times t = { 0, 0, 0 };
	struct capi_job job;
	struct envelope env;
	enum worker_outcome out;
	off_t off;
	size_t i;
	int fd, rc;

	if (req->from == SPOOL_FAILED) {
		worker_bounce_failed(w, req, rep);
		return;
	}
	if (spool_job_claim(w->spool, w->name, req->qid,
	    (enum spool_state)req->from) == -1) {
		if (errno != ENOENT)
			log_warn("%s: cannot claim job", req->qid);
		rep->outcome = WORKER_GONE;
		return;
	}
	t.claimed = worker_now_us();
	if ((rc = worker_load(w, req->qid, &env, &fd, &off)) != 0) {
		rep->outcome = rc == -2 ? worker_release(w, req->qid,
		    &rep->next_attempt) : WORKER_ERROR;
		return;
	}
	capi_job_init(&job, &env, fd, off);
	t.handed = worker_now_us();
	if (job.nrcpt > 0)
		worker_call(w, &job, &env, fd, off);
	t.done = worker_now_us();
	capi_job_results(&job, &env);
	worker_unreachable(&job, rep);
	out = worker_settle(w, &env, time(NULL));
	out = worker_failover(w, &env, out, rep->fo);
	for (i = 0; i < job.nrcpt; i++)
		worker_log_rcpt(w->name, w->conn->type, &env,
		    job.rcpts[i].rcpt, &t);
	capi_job_free(&job);
	out = worker_bounce(w, &env, fd, off, out, rep->dsn);
	close(fd);
	rep->outcome = worker_commit(w, req->qid, &env, out, &rep->noticed);
	rep->next_attempt = env.next_attempt;
	envelope_clear(&env);
}

/*
 * worker_call - the connector's part of a job, in the deliverer (deliver.c);
 * a deliverer that dies or lies defers every recipient with the reason,
 * and the next job gets a new one
 */
static void
worker_call(struct worker *w, struct capi_job *job, const struct envelope *env,
    int fd, off_t off)
{
	char why[256];
	size_t i;

	if (w->dl.fd == -1 && deliverer_start(&w->dl, w->ld.conn, w->ctx,
	    w->keep, w->nkeep, w->hide) == -1)
		snprintf(why, sizeof(why), "cannot start the connector process");
	else if (deliverer_call(&w->dl, job, env, fd, off, why,
	    sizeof(why)) == 0)
		return;
	log_warnx("%s: delivery child died (%s)", env->id, why);
	for (i = 0; i < job->nrcpt; i++)
		gw_rcpt_set_result(&job->rcpts[i], GW_RESULT_TEMPFAIL, 451,
		    "4.3.0", "%s", why);
}

/* worker_child_end - let the deliverer finish (fini) within a bound */
static void
worker_child_end(struct worker *w)
{
	int i, status;

	if (w->dl.pid <= 0)
		return;
	close(w->dl.fd);
	w->dl.fd = -1;
	for (i = 0; i < 50; i++) {
		if (waitpid(w->dl.pid, &status, WNOHANG) != 0) {
			w->dl.pid = -1;
			return;
		}
		usleep(100000);
	}
	deliverer_stop(&w->dl, NULL);
}

/* worker_child_main - a delivery child's loop; never returns */
static void __attribute__((noreturn))
worker_child_main(struct worker *w, int fd)
{
	struct worker_req req;
	struct worker_rep rep;
	ssize_t n;

	if (deliverer_start(&w->dl, w->ld.conn, w->ctx, w->keep, w->nkeep,
	    w->hide) == -1)
		log_warnx("cannot start the connector process (tried again "
		    "at the first job)");
	for (;;) {
		n = recv(fd, &req, sizeof(req), 0);
		if (n == -1 && errno == EINTR)
			continue;
		if (n != (ssize_t)sizeof(req))
			break;	/* EOF: the parent is done with us */
		req.qid[SPOOL_QID_LEN] = '\0';
		if (!spool_qid_valid(req.qid) || (req.from != SPOOL_QUEUE &&
		    req.from != SPOOL_DEFERRED && req.from != SPOOL_FAILED))
			panic("bad job request from the worker parent");
		memset(&rep, 0, sizeof(rep));
		memcpy(rep.qid, req.qid, sizeof(rep.qid));
		worker_deliver(w, &req, &rep);
		if (send(fd, &rep, sizeof(rep), MSG_NOSIGNAL) !=
		    (ssize_t)sizeof(rep))
			break;
	}
	worker_child_end(w);	/* the deliverer calls the connector's fini */
	_exit(0);
}

/* ---- parent: ready FIFO and deferred heap ---- */

/* worker_nofork_map - n bytes (page multiple) the children do not inherit */
static void *
worker_nofork_map(void *old, size_t oldlen, size_t len)
{
	void *p;

	if (old == NULL)
		p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE |
		    MAP_ANONYMOUS, -1, 0);
	else
		p = mremap(old, oldlen, len, MREMAP_MAYMOVE);
	if (p == MAP_FAILED)
		fatal("mmap of %zu bytes for the job index", len);
	if (madvise(p, len, MADV_DONTFORK) == -1)
		fatal("madvise(MADV_DONTFORK)");
	return p;
}

/*
 * worker_ready_chunk_free - put every entry of chunk k on the free list
 * (it holds no entry of the FIFO)
 */
static void
worker_ready_chunk_free(struct worker *w, struct worker_chunk *k)
{
	struct worker_ready *r;
	char *p = (char *)k + sizeof(struct worker_ready);
	size_t i, n = WORKER_READY_CHUNK / sizeof(struct worker_ready) - 1;

	for (i = 0; i < n; i++) {
		r = (struct worker_ready *)(void *)(p + i * sizeof(*r));
		r->free_next = w->ready_free;
		w->ready_free = r;
	}
}

/* worker_ready_new - an entry from the chunks (a new chunk if none free) */
static struct worker_ready *
worker_ready_new(struct worker *w)
{
	struct worker_chunk *k;
	struct worker_ready *r;

	if (w->ready_free == NULL) {
		k = worker_nofork_map(NULL, 0, WORKER_READY_CHUNK);
		k->next = w->ready_chunks;
		w->ready_chunks = k;
		worker_ready_chunk_free(w, k);
	}
	r = w->ready_free;
	w->ready_free = r->free_next;
	memset(r, 0, sizeof(*r));
	return r;
}

/*
 * worker_ready_put - an entry taken off the FIFO back to the free list;
 * once the FIFO is empty, every chunk but one is unmapped (a backlog's
 * memory goes back; a mapping per job would cost more than the job)
 */
static void
worker_ready_put(struct worker *w, struct worker_ready *r)
{
	struct worker_chunk *k;

	r->free_next = w->ready_free;
	w->ready_free = r;
	if (w->nready > 0 || w->ready_chunks == NULL ||
	    w->ready_chunks->next == NULL)
		return;
	while ((k = w->ready_chunks->next) != NULL) {
		w->ready_chunks->next = k->next;
		munmap(k, WORKER_READY_CHUNK);
	}
	w->ready_free = NULL;
	worker_ready_chunk_free(w, w->ready_chunks);
}

/* worker_ready_add - append a job to the ready FIFO (or the head) */
static void
worker_ready_add(struct worker *w, const char *qid, int from, int head)
{
	struct worker_ready *r = worker_ready_new(w);

	snprintf(r->job.qid, sizeof(r->job.qid), "%s", qid);
	r->job.from = from;
	if (head)
		TAILQ_INSERT_HEAD(&w->ready, r, entry);
	else
		TAILQ_INSERT_TAIL(&w->ready, r, entry);
	w->nready++;
}

/* worker_heap_swap - exchange two heap entries */
static void
worker_heap_swap(struct worker *w, size_t a, size_t b)
{
	struct worker_timed t = w->heap[a];

	w->heap[a] = w->heap[b];
	w->heap[b] = t;
}

/* worker_heap_push - add a deferred job by next attempt */
static void
worker_heap_push(struct worker *w, const char *qid, time_t when, int held)
{
	size_t i, p, n;

	if (w->nheap == w->heapcap) {
		/* 4096 entries: whole pages, whatever an entry's size */
		n = w->heapcap ? w->heapcap * 2 : 4096;
		if (n > SIZE_MAX / sizeof(*w->heap))
			fatalx("too many deferred jobs");
		w->heap = worker_nofork_map(w->heap, w->heapcap *
		    sizeof(*w->heap), n * sizeof(*w->heap));
		w->heapcap = n;
	}
	i = w->nheap++;
	w->heap[i].when = when;
	w->heap[i].held = held;
	snprintf(w->heap[i].qid, sizeof(w->heap[i].qid), "%s", qid);
	for (; i > 0; i = p) {
		p = (i - 1) / 2;
		if (w->heap[p].when <= w->heap[i].when)
			break;
		worker_heap_swap(w, i, p);
	}
}

/* worker_heap_down - restore the heap order below entry i */
static void
worker_heap_down(struct worker *w, size_t i)
{
	size_t l, m;

	for (;;) {
		l = 2 * i + 1;
		m = i;
		if (l < w->nheap && w->heap[l].when < w->heap[m].when)
			m = l;
		if (l + 1 < w->nheap && w->heap[l + 1].when < w->heap[m].when)
			m = l + 1;
		if (m == i)
			break;
		worker_heap_swap(w, i, m);
		i = m;
	}
}

/* worker_heap_pop - remove the earliest entry into out */
static void
worker_heap_pop(struct worker *w, struct worker_timed *out)
{
	*out = w->heap[0];
	w->heap[0] = w->heap[--w->nheap];
	worker_heap_down(w, 0);
}

/*
 * worker_release_held - the destination answers again: the jobs deferred
 * only because it was unreachable (by the suspension, without an attempt,
 * or by an attempt that found no host) are ready now, not at the backoff
 * their attempts grew to
 */
static size_t
worker_release_held(struct worker *w)
{
	size_t i, k = 0, n = 0;

	for (i = 0; i < w->nheap; i++) {
		if (w->heap[i].held) {
			worker_ready_add(w, w->heap[i].qid, SPOOL_DEFERRED, 0);
			n++;
		} else
			w->heap[k++] = w->heap[i];
	}
	w->nheap = k;
	for (i = k / 2; i-- > 0;)
		worker_heap_down(w, i);
	return n;
}

/* worker_due_schedule - arm the timer for the earliest deferred job */
static void
worker_due_schedule(struct worker *w)
{
	struct timeval tv = { 0, 0 };
	time_t now = time(NULL);

	if (w->nheap == 0) {
		evtimer_del(w->due_ev);
		return;
	}
	if (w->heap[0].when > now)
		tv.tv_sec = w->heap[0].when - now;
	evtimer_add(w->due_ev, &tv);
}

/* ---- parent: children ---- */

static void worker_child_event(evutil_socket_t, short, void *);
static void worker_dispatch(struct worker *);
static void worker_count(struct worker *, int);
static void worker_count_add(struct worker *, int);
static void worker_count_send(struct worker *);
static void worker_reachability(struct worker *, const struct worker_rep *);
static void worker_window_reset(struct worker *);
static int worker_busy(const struct worker *);
static void worker_stop_check(struct worker *);

/* worker_notify_dsn - tell the router (through the master) of a new DSN */
static void
worker_notify_dsn(struct worker *w, const char *dsn)
{
	const char *strv[2] = { dsn, NULL };

	if (dsn[0] == '\0' || !spool_qid_valid(dsn))
		return;
	if (w->ipc == NULL || ipc_send_strings(w->ipc, IPC_MSG_NEW,
	    strv) == -1)
		log_warnx("%s: cannot notify the router of the DSN (it finds "
		    "it at its next scan)", dsn);
}

/* worker_notify_failover - tell the workers of failover jobs (through the master) */
static void
worker_notify_failover(struct worker *w, struct failover_handoff *fo)
{
	const char *strv[3];
	size_t i;

	for (i = 0; i < FAILOVER_MAX; i++) {
		fo[i].connector[sizeof(fo[i].connector) - 1] = '\0';
		fo[i].qid[SPOOL_QID_LEN] = '\0';
		if (!spool_name_valid(fo[i].connector) ||
		    !spool_qid_valid(fo[i].qid))
			continue;
		strv[0] = fo[i].connector;
		strv[1] = fo[i].qid;
		strv[2] = NULL;
		if (w->ipc == NULL || ipc_send_strings(w->ipc, IPC_JOB_NEW,
		    strv) == -1)
			log_warnx("%s: cannot notify worker %s of its failover "
			    "job (it finds it at its next scan)", fo[i].qid,
			    fo[i].connector);
	}
}

/*
 * worker_child_start - a delivery child's set-up, then its loop; never
 * returns.  It dies with the worker parent: a worker that restarts
 * requeues the jobs of active/, which an orphan must not go on updating.
 */
static void __attribute__((noreturn))
worker_child_start(struct worker *w, int i, int fd, pid_t parent)
{
	proc_die_with(parent, SIGKILL);
	(void)prctl(PR_SET_NAME, "gatewayd-worker");	/* not the template's */
	signal(SIGCHLD, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	/* the parent's instance, a sub-instance of its own (spool.h) */
	spool_qid_setup(w->instance, (unsigned int)i + 1);
	sandbox_enter(w->sbrole, w->cfg->sandbox, 1);
	worker_child_main(w, fd);
}

/*
 * The template: the delivery children are forked from a process forked
 * once, before the first of them, that does nothing but fork them.  Its
 * memory does not change, so a child forked under load shares its pages
 * with every other child instead of keeping, alone, each page of the
 * worker parent's heap that the parent wrote since (550 KiB a child at
 * 20 sessions against 350 for children forked together).  A child is
 * forked by a middle process that exits at once, so it is reparented to
 * the worker parent (a child subreaper): the parent reaps it, sees its
 * death and kills it as before.  The template answers the child's pid
 * with its socket (SCM_RIGHTS) only once the child is the parent's; the
 * child waits for that before it sets its death signal.  Without a
 * template (it could not start, or died) the parent forks them itself.
 */

/* worker_tpl_send - a spawned child's pid (-1: failed) with its socket */
static int
worker_tpl_send(int sock, pid_t pid, int fd)
{
	struct iovec iov = { &pid, sizeof(pid) };

	return net_sendfd(sock, &iov, 1, fd, MSG_NOSIGNAL) ==
	    (ssize_t)sizeof(pid) ? 0 : -1;
}

/* worker_tpl_main - the template's loop: a slot number in, a child out */
static void __attribute__((noreturn))
worker_tpl_main(struct worker *w, int sock, pid_t parent)
{
	int slot, sv[2], go[2], pp[2], status;
	pid_t mid, pid;
	char b = 'g';
	ssize_t n;

	for (;;) {
		n = recv(sock, &slot, sizeof(slot), 0);
		if (n == -1 && errno == EINTR)
			continue;
		if (n != (ssize_t)sizeof(slot) || slot < 0 ||
		    slot >= w->nchildren)
			_exit(0);	/* the parent is gone, or closed us */
		pid = -1;
		if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0,
		    sv) == -1) {
			(void)worker_tpl_send(sock, -1, -1);
			continue;
		}
		if (pipe2(go, O_CLOEXEC) == -1) {
			close(sv[0]);
			close(sv[1]);
			(void)worker_tpl_send(sock, -1, -1);
			continue;
		}
		if (pipe2(pp, O_CLOEXEC) == -1) {
			close(sv[0]);
			close(sv[1]);
			close(go[0]);
			close(go[1]);
			(void)worker_tpl_send(sock, -1, -1);
			continue;
		}
		if ((mid = fork()) == 0) {
			close(sock);
			close(sv[0]);
			close(go[1]);
			close(pp[0]);
			if ((pid = fork()) == 0) {
				close(pp[1]);
				/* the middle one gone: ours is the parent's */
				while (read(go[0], &b, 1) == -1 && errno == EINTR)
					;
				close(go[0]);
				worker_child_start(w, slot, sv[1], parent);
			}
			(void)write(pp[1], &pid, sizeof(pid));
			_exit(0);
		}
		close(sv[1]);
		close(go[0]);
		close(pp[1]);
		if (mid == -1 || read(pp[0], &pid, sizeof(pid)) !=
		    (ssize_t)sizeof(pid))
			pid = -1;
		if (mid != -1)
			while (waitpid(mid, &status, 0) == -1 && errno == EINTR)
				;
		close(pp[0]);
		if (pid > 0)
			(void)write(go[1], &b, 1);
		close(go[1]);
		(void)worker_tpl_send(sock, pid, pid > 0 ? sv[0] : -1);
		close(sv[0]);
	}
}

/* worker_tpl_start - fork the template (the worker parent a subreaper) */
static void
worker_tpl_start(struct worker *w)
{
	pid_t pid, parent = getpid();
	int sv[2];

	w->tpl_fd = -1;
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) == -1 ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == -1) {
		log_warn("no template for the delivery children");
		return;
	}
	if ((pid = fork()) == -1) {
		log_warn("fork of the delivery children's template");
		close(sv[0]);
		close(sv[1]);
		return;
	}
	if (pid == 0) {
		proc_die_with(parent, SIGKILL);
		/* its name in ps and /proc/PID/comm */
		(void)prctl(PR_SET_NAME, WORKER_TEMPLATE_NAME);
		signal(SIGCHLD, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		close(sv[0]);
		if (w->ipc != NULL)
			close(ipc_fd(w->ipc));
		worker_tpl_main(w, sv[1], parent);
	}
	close(sv[1]);
	w->tpl_fd = sv[0];
	w->tpl_pid = pid;
}

/* worker_tpl_stop - no more template: the parent forks the children */
static void
worker_tpl_stop(struct worker *w, const char *why)
{
	if (w->tpl_fd == -1)
		return;
	if (why != NULL)
		log_warnx("delivery children's template: %s (the worker forks "
		    "them itself)", why);
	close(w->tpl_fd);
	w->tpl_fd = -1;
	(void)kill(w->tpl_pid, SIGKILL);
	(void)waitpid(w->tpl_pid, NULL, 0);
}

/* worker_tpl_spawn - a child for slot i from the template: pid, socket */
static pid_t
worker_tpl_spawn(struct worker *w, int i, int *fd)
{
	pid_t pid = -1;
	struct iovec iov = { &pid, sizeof(pid) };
	ssize_t n;
	int count;

	*fd = -1;
	if (send(w->tpl_fd, &i, sizeof(i), MSG_NOSIGNAL) != (ssize_t)sizeof(i)) {
		worker_tpl_stop(w, strerror(errno));
		return -1;
	}
	n = net_recvfd(w->tpl_fd, &iov, 1, fd, &count, 0, NULL);
	if (n != (ssize_t)sizeof(pid) || pid <= 0 || count != 1) {
		if (*fd != -1)
			close(*fd);
		*fd = -1;
	}
	if (n != (ssize_t)sizeof(pid)) {
		worker_tpl_stop(w, n == -1 ? strerror(errno) : "gone");
		return -1;
	}
	if (*fd == -1) {
		log_warnx("the template could not fork a delivery child");
		if (pid > 0)
			(void)kill(pid, SIGKILL);	/* reaped by worker_sigchld */
		return -1;
	}
	return pid;
}

/* worker_spawn - fork the delivery child of slot i */
static int
worker_spawn(struct worker *w, int i)
{
	struct worker_child *c = &w->children[i];
	pid_t pid, parent = getpid();
	int sv[2], j;

	if (w->tpl_fd != -1) {
		if ((pid = worker_tpl_spawn(w, i, &sv[0])) != -1)
			goto forked;
		if (w->tpl_fd != -1)
			return -1;	/* this one failed; the template lives */
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == -1) {
		log_warn("socketpair for a delivery child");
		return -1;
	}
	if ((pid = fork()) == -1) {
		log_warn("fork of a delivery child");
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	if (pid == 0) {
		close(sv[0]);
		if (w->ipc != NULL)
			close(ipc_fd(w->ipc));
		for (j = 0; j < w->nchildren; j++)
			if (w->children[j].pid > 0 && w->children[j].fd != -1)
				close(w->children[j].fd);
		worker_child_start(w, i, sv[1], parent);
	}
	close(sv[1]);
forked:
	c->pid = pid;
	c->fd = sv[0];
	c->busy = 0;
	c->idle_since = time(NULL);
	c->ev = event_new(w->base, c->fd, EV_READ | EV_PERSIST,
	    worker_child_event, c);
	if (c->ev == NULL)
		fatalx("event_new for a delivery child");
	event_add(c->ev, NULL);
	log_debug("delivery child %ld started", (long)pid);
	return 0;
}

/*
 * worker_parent_release - worker_release in the parent: the job goes on
 * the deferred heap (held: deferred for an unreachable destination, and
 * counted at once, like the batch it belongs to)
 */
static enum worker_outcome
worker_parent_release(struct worker *w, const char *qid, int held)
{
	enum worker_outcome out;
	time_t next;

	out = worker_release(w, qid, &next);
	if (out == WORKER_DEFERRED)
		worker_heap_push(w, qid, next, held);
	if (held)
		worker_count(w, out);
	return out;
}

/*
 * worker_parent_settle - settle an active job in the parent, without the
 * connector: every recipient still to do gets the given temporary
 * result, then the job goes through the lifetime, failover and DSNs like
 * a delivery.  With staged non-NULL a deferred outcome is only staged
 * (spool_job_stage) and the envelope is left in *staged for the caller
 * to commit; otherwise the outcome is written at once.  Returns the outcome,
 * or 0 when the job could not be loaded.
 */
static enum worker_outcome
worker_parent_settle(struct worker *w, const char *qid, int code,
    const char *status, const char *reason, struct envelope *staged)
{
	struct failover_handoff fo[FAILOVER_MAX];
	char dsn[SPOOL_QID_LEN + 1], err[SPOOL_ERRLEN];
	struct envelope env;
	enum worker_outcome out;
	off_t off;
	size_t i;
	int fd, rc, noticed = 0;

	memset(fo, 0, sizeof(fo));
	dsn[0] = '\0';
	if ((rc = worker_load(w, qid, &env, &fd, &off)) == -1)
		return 0;	/* not claimed yet, or settled already */
	if (rc == -2)
		return worker_parent_release(w, qid, staged != NULL);
	for (i = 0; i < env.nrcpt; i++) {
		struct envelope_rcpt *r = &env.rcpt[i];

		if (r->state != RCPT_PENDING && r->state != RCPT_DEFERRED)
			continue;
		r->state = RCPT_DEFERRED;
		r->code = code;
		snprintf(r->status, sizeof(r->status), "%s", status);
		envelope_rcpt_put_text(r, xstrdup(reason));
	}
	out = worker_settle(w, &env, time(NULL));
	out = worker_failover(w, &env, out, fo);
	for (i = 0; i < env.nrcpt; i++)
		if (env.rcpt[i].state != RCPT_DONE &&
		    strncmp(env.rcpt[i].text ? env.rcpt[i].text : "", reason,
		    strlen(reason)) == 0)
			worker_log_rcpt(w->name, w->conn->type, &env,
			    &env.rcpt[i], NULL);
	out = worker_bounce(w, &env, fd, off, out, dsn);
	close(fd);
	if (out == WORKER_DEFERRED && staged != NULL &&
	    spool_job_stage(w->spool, w->name, qid, &env, SPOOL_DEFERRED, err,
	    sizeof(err)) == 0) {
		*staged = env;		/* committed by the caller */
		memset(&env, 0, sizeof(env));
	} else {
		out = worker_commit(w, qid, &env, out, &noticed);
		if (out == WORKER_DEFERRED)
			worker_heap_push(w, qid, env.next_attempt,
			    staged != NULL);
		if (staged != NULL)
			worker_count(w, out);
	}
	worker_notify_dsn(w, dsn);
	if (noticed)
		worker_notify_dsn(w, qid);	/* the router checks the notice */
	worker_notify_failover(w, fo);
	envelope_clear(&env);
	return out;
}

/* worker_crash_job - defer the job a dead child held, with the reason */
static void
worker_crash_job(struct worker *w, const char *qid, const char *reason)
{
	(void)worker_parent_settle(w, qid, 451, "4.3.0", reason, NULL);
}

/* worker_child_close - the parent's end of a child's socket, and its event */
static void
worker_child_close(struct worker_child *c)
{
	if (c->ev != NULL)
		event_free(c->ev);
	c->ev = NULL;
	if (c->fd != -1)
		close(c->fd);
	c->fd = -1;
}

/* worker_child_gone - a child died (status from waitpid) */
static void
worker_child_gone(struct worker *w, struct worker_child *c, int status)
{
	char reason[128];
	int retired = c->fd == -1;	/* told to end after its idle time */

	if (WIFSIGNALED(status))
		snprintf(reason, sizeof(reason), "connector crashed: killed by "
		    "signal %d%s", WTERMSIG(status), WTERMSIG(status) ==
		    SIGSYS ? " (a system call the seccomp sandbox forbids)" :
		    "");
	else
		snprintf(reason, sizeof(reason), "connector crashed: exited "
		    "with status %d", WEXITSTATUS(status));
	worker_child_close(c);
	c->pid = -1;
	if (retired) {
		/* not a death */
		log_debug("delivery child ended after %lld s idle",
		    (long long)w->conn->max_idle);
	} else if (c->busy) {
		log_warnx("%s: delivery child died (%s)", c->job.qid, reason);
		worker_crash_job(w, c->job.qid, reason);
		worker_due_schedule(w);		/* arm the timer for its retry */
		c->busy = 0;
		if (!w->stopping)
			worker_spawn(w, (int)(c - w->children));
	} else if (!w->stopping) {
		struct timeval tv = { 1, 0 };

		log_warnx("idle delivery child died (%s)", reason + 19);
		w->spawn_wait = 1;	/* no fork loop for a crashing start */
		evtimer_add(w->respawn_ev, &tv);
	}
	if (w->stopping)
		worker_stop_check(w);
	else
		worker_dispatch(w);
}

/* worker_child_eof - a child's socket closed: reap it */
static void
worker_child_eof(struct worker *w, struct worker_child *c)
{
	int status = 0;
	pid_t r;

	r = waitpid(c->pid, &status, WNOHANG);
	if (r == 0) {
		kill(c->pid, SIGKILL);
		r = waitpid(c->pid, &status, 0);
	}
	if (r == -1)
		status = 0;
	worker_child_gone(w, c, status);
}

/* worker_child_event - an answer (or EOF) from a delivery child */
static void
worker_child_event(evutil_socket_t fd, short ev, void *arg)
{
	struct worker_child *c = arg;
	struct worker *w = &worker;
	struct worker_rep rep;
	ssize_t n;

	(void)ev;
	n = recv(fd, &rep, sizeof(rep), MSG_DONTWAIT);
	if (n == -1 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n != (ssize_t)sizeof(rep) || !c->busy) {
		worker_child_eof(w, c);
		return;
	}
	rep.qid[SPOOL_QID_LEN] = '\0';
	rep.dsn[SPOOL_QID_LEN] = '\0';
	worker_notify_dsn(w, rep.dsn);
	if (rep.noticed)
		worker_notify_dsn(w, c->job.qid);	/* the router checks the notice */
	worker_notify_failover(w, rep.fo);
	c->busy = 0;
	c->idle_since = time(NULL);
	if (c->job.from != SPOOL_FAILED) {
		worker_count(w, rep.outcome);
		worker_reachability(w, &rep);
	}
	if (w->nready == 0 && worker_busy(w) == 0)
		worker_window_reset(w);	/* nothing left: the next burst */
	if (rep.outcome == WORKER_DEFERRED)
		worker_heap_push(w, c->job.qid, rep.next_attempt,
		    rep.unreachable);	/* released when it answers again */
	worker_due_schedule(w);
	if (w->stopping)
		worker_stop_check(w);
	else
		worker_dispatch(w);
}

/* worker_count_add - count an outcome */
static void
worker_count_add(struct worker *w, int outcome)
{
	if (outcome == WORKER_DONE)
		(void)stats_add(&w->stats, "delivered", 1);
	else if (outcome == WORKER_DEFERRED)
		(void)stats_add(&w->stats, "deferred", 1);
	else if (outcome == WORKER_FAILED)
		(void)stats_add(&w->stats, "bounced", 1);
}

/* worker_count_send - send the counter deltas to the master */
static void
worker_count_send(struct worker *w)
{
	const char *strv[8];
	char buf[256];

	if (w->ipc != NULL && stats_encode(&w->stats, buf, sizeof(buf), strv,
	    8) > 0)
		(void)ipc_send_strings(w->ipc, IPC_WORKER_STATS, strv);
}

/* worker_count - count an outcome and send the deltas to the master */
static void
worker_count(struct worker *w, int outcome)
{
	worker_count_add(w, outcome);
	worker_count_send(w);
}

/* worker_idle_child - a live child without a job, or NULL */
static struct worker_child *
worker_idle_child(struct worker *w)
{
	int i;

	for (i = 0; i < w->nchildren; i++)
		if (w->children[i].pid > 0 && !w->children[i].busy &&
		    w->children[i].fd != -1)
			return &w->children[i];
	return NULL;
}

/* worker_window_initial - the slow start's first window */
static int
worker_window_initial(const struct worker *w)
{
	int n = w->conn->initial_concurrency;

	return n < 1 ? 1 : n > w->nchildren ? w->nchildren : n;
}

/* worker_window_reset - the slow start from its first window again */
static void
worker_window_reset(struct worker *w)
{
	w->window = worker_window_initial(w);
	w->credit = 0;
}

/* worker_live - children that can take a job now or later */
static int
worker_live(const struct worker *w)
{
	int i, n = 0;

	for (i = 0; i < w->nchildren; i++)
		n += w->children[i].pid > 0 && w->children[i].fd != -1;
	return n;
}

/*
 * worker_grow - a new child for a ready job when every live one is busy,
 * up to the window (children are forked on demand, as Postfix's master
 * does, and end after max_idle); NULL if none.  Without the window a
 * burst of ready jobs forks a child for each job that comes while the
 * others start (fork, deliverer, a new upstream connection), up to
 * concurrency, whatever the load needs.
 */
static struct worker_child *
worker_grow(struct worker *w)
{
	int i;

	if (w->spawn_wait || worker_live(w) >= w->window)
		return NULL;
	for (i = 0; i < w->nchildren; i++)
		if (w->children[i].pid <= 0)
			return worker_spawn(w, i) == 0 ? &w->children[i] : NULL;
	return NULL;
}

/* worker_hand - give ready job r to child c; -1 if the child is gone */
static int
worker_hand(struct worker *w, struct worker_child *c, struct worker_ready *r)
{
	TAILQ_REMOVE(&w->ready, r, entry);
	w->nready--;
	c->job = r->job;
	worker_ready_put(w, r);
	if (send(c->fd, &c->job, sizeof(c->job), MSG_NOSIGNAL) !=
	    (ssize_t)sizeof(c->job)) {
		/* Not handed over: back to the head, reap the child. */
		worker_ready_add(w, c->job.qid, c->job.from, 1);
		worker_child_eof(w, c);
		return -1;
	}
	c->busy = 1;
	return 0;
}

/*
 * worker_dispatch_suspended - the destination is unreachable: only jobs
 * kept in failed/ for their DSN go to children, and the probe once the
 * interval is over; the drain event defers the other ready jobs.
 */
static void
worker_dispatch_suspended(struct worker *w)
{
	struct worker_ready *r, *next;
	struct worker_child *c;
	struct timeval now = { 0, 0 };
	int waiting = 0;

	for (r = TAILQ_FIRST(&w->ready); r != NULL; r = next) {
		next = TAILQ_NEXT(r, entry);
		if (r->job.from != SPOOL_FAILED && !w->probe) {
			waiting = 1;
			continue;
		}
		if ((c = worker_idle_child(w)) == NULL)
			break;
		if (r->job.from != SPOOL_FAILED) {
			log_info("%s: trying the unreachable destination again",
			    r->job.qid);
			w->probe = 0;
		}
		if (worker_hand(w, c, r) == -1)
			return;
	}
	if (waiting && !evtimer_pending(w->drain_ev, NULL))
		evtimer_add(w->drain_ev, &now);
}

/* worker_dispatch - hand ready jobs to idle children */
static void
worker_dispatch(struct worker *w)
{
	struct worker_ready *r;
	struct worker_child *c;

	if (w->stopping || w->paused)
		return;
	if (w->suspended) {
		worker_dispatch_suspended(w);
		return;
	}
	while ((r = TAILQ_FIRST(&w->ready)) != NULL &&
	    ((c = worker_idle_child(w)) != NULL || (c = worker_grow(w)) != NULL))
		if (worker_hand(w, c, r) == -1)
			return;
}

/*
 * worker_retire - end the children idle for max_idle beyond the
 * first WORKER_MIN_CHILDREN: their socket is closed, they call the
 * connector's fini and exit, and the slot is free once they are reaped
 */
static void
worker_retire(evutil_socket_t fd, short ev, void *arg)
{
	struct worker *w = arg;
	struct timeval tv = { w->conn->max_idle / 4 + 1, 0 };
	struct worker_child *c;
	time_t now = time(NULL);
	int i, live = worker_live(w);

	(void)fd;
	(void)ev;
	if (w->stopping)
		return;
	for (i = w->nchildren - 1; i >= 0 && live > WORKER_MIN_CHILDREN; i--) {
		c = &w->children[i];
		if (c->pid <= 0 || c->busy || c->fd == -1 ||
		    now - c->idle_since < w->conn->max_idle)
			continue;
		worker_child_close(c);	/* it reads EOF and ends */
		live--;
	}
	evtimer_add(w->retire_ev, &tv);
}

/* ---- parent: an unreachable destination ---- */

/* worker_send_state - tell the master (gatewayctl status) of a suspension */
static void
worker_send_state(struct worker *w, const struct worker_rep *rep)
{
	char since[32], why[320];
	const char *strv[4] = { "delivering", NULL, NULL, NULL };

	if (rep != NULL) {
		snprintf(since, sizeof(since), "%lld", (long long)time(NULL));
		snprintf(why, sizeof(why), "%d %s %s", rep->code, rep->status,
		    rep->text);
		strv[0] = "suspended";
		strv[1] = since;
		strv[2] = why;
	}
	if (w->ipc != NULL && ipc_send_strings(w->ipc, IPC_WORKER_STATE,
	    strv) == -1)
		log_warnx("cannot tell the master of the delivery state");
}

/*
 * worker_suspend - an attempt could not reach the destination at all
 * (worker_unreachable).  Like Postfix's dead destinations: for the
 * connector's min_backoff no job is tried; the ready ones are deferred at
 * once with that reason, group-committed and without a connection
 * attempt; then one job probes the destination.  Any attempt that reaches
 * it ends the suspension, and so do gatewayctl resume delivery and
 * gatewayctl queue retry (IPC_FLUSH).
 */
static void
worker_suspend(struct worker *w, const struct worker_rep *rep)
{
	struct timeval tv = { w->conn->retry.min_backoff > 0 ?
	    w->conn->retry.min_backoff : 1, 0 };

	if (!w->suspended) {
		char text[300];

		w->suspended = 1;
		worker_send_state(w, rep);
		log_clean(text, sizeof(text), rep->text, strlen(rep->text));
		log_warnx("destination unreachable (%d %s %s): delivery "
		    "suspended; jobs are deferred without an attempt, one is "
		    "tried again in %ld s", rep->code, rep->status, text,
		    (long)tv.tv_sec);
	}
	w->probe = 0;
	w->why_code = rep->code;
	snprintf(w->why_status, sizeof(w->why_status), "%s", rep->status);
	snprintf(w->why_text, sizeof(w->why_text), "%s", rep->text);
	evtimer_add(w->suspend_ev, &tv);
}

/* worker_unsuspend - the destination answered: normal delivery again */
static void
worker_unsuspend(struct worker *w, const char *why)
{
	if (!w->suspended)
		return;
	w->suspended = 0;
	w->probe = 0;
	evtimer_del(w->suspend_ev);
	worker_send_state(w, NULL);
	log_info("delivery resumed: %s; %zu jobs deferred meanwhile are "
	    "ready again", why, worker_release_held(w));
	worker_due_schedule(w);
	worker_dispatch(w);
}

/* worker_suspend_over - the interval is over: probe with one job */
static void
worker_suspend_over(evutil_socket_t fd, short ev, void *arg)
{
	struct worker *w = arg;
	struct timeval tv = { w->conn->retry.min_backoff > 0 ?
	    w->conn->retry.min_backoff : 1, 0 };

	struct worker_timed t;
	struct worker_ready *r;

	(void)fd;
	(void)ev;
	w->probe = 1;
	evtimer_add(w->suspend_ev, &tv);	/* again if the probe is lost */
	/* nothing ready: the next deferred job probes, before its time */
	TAILQ_FOREACH(r, &w->ready, entry)
		if (r->job.from != SPOOL_FAILED)
			break;
	if (r == NULL && w->nheap > 0) {
		worker_heap_pop(w, &t);
		worker_ready_add(w, t.qid, SPOOL_DEFERRED, 1);
		worker_due_schedule(w);
	}
	worker_dispatch(w);
}

/*
 * worker_reachability - what an attempt says about the destination: an
 * answer widens the window (one more child after window answers), an
 * unreachable destination starts it again at initial_concurrency
 */
static void
worker_reachability(struct worker *w, const struct worker_rep *rep)
{
	if (rep->unreachable) {
		worker_window_reset(w);
		worker_suspend(w, rep);
	} else if (rep->outcome == WORKER_DONE ||
	    rep->outcome == WORKER_DEFERRED || rep->outcome == WORKER_FAILED) {
		if (w->window < w->nchildren && ++w->credit >= w->window) {
			w->window++;
			w->credit = 0;
		}
		worker_unsuspend(w, "the destination answered");
	}
}

/*
 * worker_defer_batch - defer jobs without an attempt while suspended:
 * claim, settle and stage each (spool_job_stage), one spool_sync for all,
 * then commit; a failed sync falls back to the one-by-one durable update
 */
static void
worker_defer_batch(struct worker *w, const struct worker_req *jobs, size_t n)
{
	struct envelope *envs = xcalloc(n, sizeof(*envs));
	char err[SPOOL_ERRLEN], reason[320];
	size_t i, ns = 0;
	int synced;

	snprintf(reason, sizeof(reason), "delivery temporarily suspended: %s",
	    w->why_text);
	for (i = 0; i < n; i++) {
		if (spool_job_claim(w->spool, w->name, jobs[i].qid,
		    (enum spool_state)jobs[i].from) == -1) {
			if (errno != ENOENT)
				log_warn("%s: cannot claim job", jobs[i].qid);
			continue;
		}
		(void)worker_parent_settle(w, jobs[i].qid, w->why_code,
		    w->why_status, reason, &envs[ns]);
		if (envs[ns].id[0] != '\0')
			ns++;		/* staged */
	}
	synced = ns == 0 || spool_sync(w->spool) == 0;
	if (!synced)
		log_warn("spool sync of %zu deferred jobs (writing them one "
		    "by one)", ns);
	for (i = 0; i < ns; i++) {
		enum worker_outcome out = WORKER_DEFERRED;
		int noticed;	/* a deferral ends no job */

		if (!synced)
			out = worker_commit(w, envs[i].id, &envs[i], out,
			    &noticed);
		else if (spool_job_commit_staged(w->spool, w->name, envs[i].id,
		    SPOOL_DEFERRED, err, sizeof(err)) == -1) {
			log_warnx("%s: cannot move the job to deferred: %s",
			    envs[i].id, err);
			out = worker_release(w, envs[i].id,
			    &envs[i].next_attempt);
		}
		if (out == WORKER_DEFERRED)
			worker_heap_push(w, envs[i].id, envs[i].next_attempt,
			    1);
		worker_count_add(w, out);
		envelope_clear(&envs[i]);
	}
	worker_count_send(w);
	free(envs);
}

/* worker_drain - defer a batch of ready jobs of the suspended destination */
static void
worker_drain(evutil_socket_t fd, short ev, void *arg)
{
	struct worker *w = arg;
	struct worker_req jobs[WORKER_DEFER_BATCH];
	struct worker_ready *r, *next;
	size_t n = 0;

	(void)fd;
	(void)ev;
	if (!w->suspended || w->stopping || w->paused)
		return;
	for (r = TAILQ_FIRST(&w->ready); r != NULL && n < WORKER_DEFER_BATCH;
	    r = next) {
		next = TAILQ_NEXT(r, entry);
		if (r->job.from == SPOOL_FAILED)
			continue;
		jobs[n++] = r->job;
		TAILQ_REMOVE(&w->ready, r, entry);
		w->nready--;
		worker_ready_put(w, r);
	}
	if (n == 0)
		return;
	worker_defer_batch(w, jobs, n);
	worker_due_schedule(w);
	worker_dispatch(w);	/* the next batch, the probe, DSN jobs */
}

/* worker_sigchld - reap children that died without us noticing EOF */
static void
worker_sigchld(evutil_socket_t sig, short ev, void *arg)
{
	struct worker *w = arg;
	int status, i;
	pid_t pid;

	(void)sig;
	(void)ev;
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (i = 0; i < w->nchildren; i++)
			if (w->children[i].pid == pid) {
				worker_child_gone(w, &w->children[i], status);
				break;
			}
	}
}

/* worker_respawn - back to the minimum of children (an idle one died) */
static void
worker_respawn(evutil_socket_t fd, short ev, void *arg)
{
	struct worker *w = arg;
	int i;

	(void)fd;
	(void)ev;
	w->spawn_wait = 0;
	for (i = 0; i < w->nchildren && !w->stopping &&
	    worker_live(w) < WORKER_MIN_CHILDREN; i++)
		if (w->children[i].pid <= 0)
			worker_spawn(w, i);
	worker_dispatch(w);
}

/* ---- parent: timers, scans, IPC, shutdown ---- */

/* worker_due - move deferred jobs whose time has come to the ready FIFO */
static void
worker_due(evutil_socket_t fd, short ev, void *arg)
{
	struct worker *w = arg;
	struct worker_timed t;
	time_t now = time(NULL);

	(void)fd;
	(void)ev;
	while (w->nheap > 0 && w->heap[0].when <= now) {
		worker_heap_pop(w, &t);
		worker_ready_add(w, t.qid, SPOOL_DEFERRED, 0);
	}
	worker_due_schedule(w);
	worker_dispatch(w);
}

/* worker_scan_queue - spool_ids callback: a ready job */
static int
worker_scan_queue(const char *qid, void *arg)
{
	worker_ready_add(arg, qid, SPOOL_QUEUE, 0);
	return 0;
}

/* worker_scan_deferred - spool_scan callback: a deferred job */
static int
worker_scan_deferred(const char *qid, time_t mtime, off_t size, void *arg)
{
	(void)size;
	worker_heap_push(arg, qid, mtime, 0);
	return 0;
}

/* worker_scan_failed - spool_ids callback: a job kept for its DSN */
static int
worker_scan_failed(const char *qid, void *arg)
{
	worker_ready_add(arg, qid, SPOOL_FAILED, 0);
	return 0;
}

/* worker_busy - number of children holding a job */
static int
worker_busy(const struct worker *w)
{
	int i, n = 0;

	for (i = 0; i < w->nchildren; i++)
		n += w->children[i].pid > 0 && w->children[i].busy;
	return n;
}

/* worker_idle_scan - when idle, look for jobs moved into queue/ unannounced */
static void
worker_idle_scan(evutil_socket_t fd, short ev, void *arg)
{
	struct worker *w = arg;
	struct timeval tv = { WORKER_SCAN_INTERVAL, 0 };

	(void)fd;
	(void)ev;
	if (w->stopping)
		return;
	if (w->nready == 0 && worker_busy(w) == 0) {
		if (spool_ids(w->spool, SPOOL_QUEUE, w->name,
		    worker_scan_queue, w) == -1)
			log_warn("scan of queue/%s", w->name);
		if (spool_ids(w->spool, SPOOL_FAILED, w->name,
		    worker_scan_failed, w) == -1)
			log_warn("scan of failed/%s", w->name);
		worker_dispatch(w);
	}
	evtimer_add(w->scan_ev, &tv);
}

/* worker_exit - close the children's sockets, reap them, leave the loop */
static void
worker_exit(struct worker *w)
{
	int i, tries, status;

	for (i = 0; i < w->nchildren; i++) {
		struct worker_child *c = &w->children[i];

		if (c->pid <= 0)
			continue;
		worker_child_close(c);
		for (tries = 0; tries < 50; tries++) {
			if (waitpid(c->pid, &status, WNOHANG) != 0)
				break;
			usleep(100000);
		}
		if (tries == 50) {
			kill(c->pid, SIGKILL);
			waitpid(c->pid, &status, 0);
		}
		c->pid = -1;
	}
	worker_tpl_stop(w, NULL);
	event_base_loopbreak(w->base);
}

/* worker_stop_check - exit once no child holds a job */
static void
worker_stop_check(struct worker *w)
{
	if (worker_busy(w) == 0)
		worker_exit(w);
}

/* worker_stop_timeout - children took too long: kill them and go */
static void
worker_stop_timeout(evutil_socket_t fd, short ev, void *arg)
{
	struct worker *w = arg;
	int i;

	(void)fd;
	(void)ev;
	log_warnx("%d deliveries still running after %d s, stopping them "
	    "(their jobs are retried at the next start)", worker_busy(w),
	    WORKER_STOP_TIMEOUT);
	for (i = 0; i < w->nchildren; i++)
		if (w->children[i].pid > 0 && w->children[i].busy)
			kill(w->children[i].pid, SIGKILL);
	worker_exit(w);
}

/* worker_stop - stop handing out jobs; exit when the children are done */
static void
worker_stop(struct worker *w)
{
	struct timeval tv = { WORKER_STOP_TIMEOUT, 0 };

	if (w->stopping)
		return;
	w->stopping = 1;
	evtimer_del(w->scan_ev);
	evtimer_del(w->due_ev);
	evtimer_del(w->respawn_ev);
	evtimer_del(w->retire_ev);
	evtimer_del(w->suspend_ev);
	evtimer_del(w->drain_ev);
	if (worker_busy(w) == 0) {
		worker_exit(w);
		return;
	}
	evtimer_add(w->stop_ev, &tv);
}

/* worker_job_new - IPC_JOB_NEW (or JOB_FAILED, from = SPOOL_FAILED): connector, qid... */
static void
worker_job_new(struct worker *w, const struct ipc_frame *f, int from)
{
	const char *strv[IPC_MAX_STRINGS];
	int n, i;

	if ((n = ipc_strings(f, strv, IPC_MAX_STRINGS)) < 1)
		fatalx("malformed %s frame from the master",
		    ipc_type_name(f->type));
	if (strcmp(strv[0], w->name) != 0) {
		log_warnx("jobs for connector %.64s sent to worker %s, ignored",
		    strv[0], w->name);
		return;
	}
	for (i = 1; i < n; i++) {
		if (spool_qid_valid(strv[i]))
			worker_ready_add(w, strv[i], from, 0);
		else
			log_warnx("ignoring malformed queue ID from the master");
	}
	worker_dispatch(w);
}

/* worker_flush - IPC_FLUSH: connector (gatewayctl queue retry) */
static void
worker_flush(struct worker *w, const struct ipc_frame *f)
{
	const char *strv[2];

	if (ipc_strings(f, strv, 2) != 1)
		fatalx("malformed FLUSH frame from the master");
	if (strcmp(strv[0], w->name) != 0) {
		log_warnx("FLUSH for connector %.64s sent to worker %s, ignored",
		    strv[0], w->name);
		return;
	}
	worker_unsuspend(w, "gatewayctl queue retry");
}

/* worker_ipc - a frame from the master */
static void
worker_ipc(struct ipc *ipc, const struct ipc_frame *f, void *arg)
{
	struct worker *w = arg;

	(void)ipc;
	switch (f->type) {
	case IPC_JOB_NEW:
		if (!w->stopping)
			worker_job_new(w, f, SPOOL_QUEUE);
		break;
	case IPC_JOB_FAILED:
		if (!w->stopping)
			worker_job_new(w, f, SPOOL_FAILED);
		break;
	case IPC_FLUSH:
		worker_flush(w, f);
		break;
	case IPC_SHUTDOWN:
		log_debug("shutting down");
		worker_stop(w);
		break;
	case IPC_PAUSE:
	case IPC_RESUME:
		w->paused = f->type == IPC_PAUSE;
		log_info("delivery %s by the operator", w->paused ? "paused" :
		    "resumed");
		if (!w->paused)
			worker_unsuspend(w, "by the operator");
		worker_dispatch(w);
		break;
	default:
		fatalx("unexpected %s frame from the master",
		    ipc_type_name(f->type));
	}
}

/* worker_ipc_closed - the master went away: stop like a shutdown */
static void
worker_ipc_closed(struct ipc *ipc, void *arg)
{
	struct worker *w = arg;

	(void)ipc;
	log_debug("master closed the connection, stopping");
	w->ipc = NULL;
	worker_stop(w);
}

/* ---- start-up ---- */

/* worker_fds - which descriptors below len are open (map[fd] = 1) */
static void
worker_fds(unsigned char *map, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		map[i] = fcntl((int)i, F_GETFD) != -1;
}

/* worker_load_connector - load, check and init the connector, or exit 78 */
static void
worker_load_connector(struct worker *w)
{
	unsigned char open_before[1024], open_after[1024];
	char err[CFG_ERRLEN];
	size_t i;

	if (loader_open(w->cfg->connector_dir, w->conn->type, &w->ld, err,
	    sizeof(err)) == -1)
		worker_refuse("%s", err);
	log_debug("loaded connector %s %s from %s", w->ld.conn->name,
	    w->ld.conn->version, w->ld.path);
	err[0] = '\0';
	worker_fds(open_before, sizeof(open_before));
	if (w->ld.conn->init != NULL &&
	    w->ld.conn->init(w->conn->settings, &w->ctx, err,
	    sizeof(err)) == -1)
		worker_refuse("connector %s (%s): %s", w->name, w->ld.path,
		    err[0] ? err : "init failed");
	worker_fds(open_after, sizeof(open_after));
	for (i = 0; i < sizeof(open_after) && w->nkeep < WORKER_KEEP_MAX; i++)
		if (open_after[i] && !open_before[i])
			w->keep[w->nkeep++] = (int)i;
}

/* worker_send_info - tell the master which connector this is (status) */
static void
worker_send_info(struct worker *w)
{
	char abi[16];
	const char *info[] = { w->ld.conn->name, w->ld.conn->version, abi,
	    w->ld.path, NULL };

	snprintf(abi, sizeof(abi), "%u", (unsigned)w->ld.conn->abi_version);
	if (ipc_send_strings(w->ipc, IPC_WORKER_INFO, info) == -1)
		log_warnx("cannot send the connector's description");
}

/* worker_spool_dirs - the ids connectors give what they make (capi.c) */
static void
worker_spool_dirs(struct worker *w)
{
	uid_t uid = (uid_t)-1;
	gid_t gid = (gid_t)-1;
	struct passwd *pw;

	if (geteuid() == 0 && w->cfg->user != NULL &&
	    (pw = getpwnam(w->cfg->user)) != NULL) {
		uid = pw->pw_uid;
		gid = pw->pw_gid;
	}
	capi_set_run_ids(uid, gid);
}

/*
 * worker_spool_make - after the drop: the connector's directories, made by
 * the spool user itself (the master made them already; a reload may add)
 */
static void
worker_spool_make(struct worker *w)
{
	char err[SPOOL_ERRLEN];

	if (spool_connector_init(w->spool, w->name, (uid_t)-1, (gid_t)-1, err,
	    sizeof(err)) == -1)
		log_warnx("spool directories of %s: %s", w->name, err);
}

/* worker_recover - active/ back to queue/, then the two start-up scans */
static void
worker_recover(struct worker *w)
{
	int n;

	if ((n = spool_recover_staged(w->spool, w->name)) == -1)
		log_warn("removal of the staged job files of %s", w->name);
	else if (n > 0)
		log_info("%d unfinished job updates of %s dropped (their jobs "
		    "keep the last durable state)", n, w->name);
	if ((n = spool_recover_active(w->spool, w->name)) == -1)
		log_warn("recovery of active/%s", w->name);
	else if (n > 0)
		log_info("%d interrupted jobs of %s requeued", n, w->name);
	if (spool_ids(w->spool, SPOOL_QUEUE, w->name, worker_scan_queue,
	    w) == -1)
		log_warn("scan of queue/%s", w->name);
	if (spool_scan(w->spool, SPOOL_DEFERRED, w->name,
	    worker_scan_deferred, w) == -1)
		log_warn("scan of deferred/%s", w->name);
	if (spool_ids(w->spool, SPOOL_FAILED, w->name, worker_scan_failed,
	    w) == -1)
		log_warn("scan of failed/%s", w->name);
	log_debug("%zu jobs ready, %zu deferred", w->nready, w->nheap);
}

/* worker_events - the event base, the master socket and the timers */
static void
worker_events(struct worker *w)
{
	struct timeval tv = { WORKER_SCAN_INTERVAL, 0 };

	w->base = proc_event_base();
	w->ipc = ipc_new(w->base, PROC_FD_IPC, worker_ipc, worker_ipc_closed,
	    w);
	if (w->ipc == NULL)
		fatalx("cannot use the master socket");
	w->sigchld_ev = evsignal_new(w->base, SIGCHLD, worker_sigchld, w);
	w->due_ev = evtimer_new(w->base, worker_due, w);
	w->scan_ev = evtimer_new(w->base, worker_idle_scan, w);
	w->stop_ev = evtimer_new(w->base, worker_stop_timeout, w);
	w->respawn_ev = evtimer_new(w->base, worker_respawn, w);
	w->retire_ev = evtimer_new(w->base, worker_retire, w);
	w->suspend_ev = evtimer_new(w->base, worker_suspend_over, w);
	w->drain_ev = evtimer_new(w->base, worker_drain, w);
	if (w->sigchld_ev == NULL || w->due_ev == NULL || w->scan_ev == NULL ||
	    w->stop_ev == NULL || w->respawn_ev == NULL || w->retire_ev == NULL ||
	    w->suspend_ev == NULL || w->drain_ev == NULL)
		fatalx("cannot create the worker's events");
	event_add(w->sigchld_ev, NULL);
	evtimer_add(w->scan_ev, &tv);
}

/* main - gatewayd-worker -n NAME */
int
main(int argc, char **argv)
{
	struct proc_opts opts;
	struct worker *w = &worker;
	char err[SPOOL_ERRLEN];
	int i;

	memset(&opts, 0, sizeof(opts));
	TAILQ_INIT(&w->ready);
	w->tpl_fd = -1;
	w->cfg = proc_child_init(argc, argv, "worker", &opts);
	if (opts.connector == NULL ||
	    (w->conn = cfg_connector(w->cfg, opts.connector)) == NULL) {
		log_warnx("no connector instance named '%s' in %s",
		    opts.connector ? opts.connector : "",
		    opts.config_name ? opts.config_name : "the configuration");
		exit(WORKER_EXIT_CONFIG);
	}
	if (opts.check)
		return worker_check_run(w->cfg, w->conn);
	w->name = w->conn->name;
	w->paused = opts.paused;	/* -P: the master's pause state */
	w->instance = opts.qid_instance;
	log_set_tag(w->name);
	w->spool = spool_open(w->cfg->spool, 0, (uid_t)-1, (gid_t)-1, err,
	    sizeof(err));
	if (w->spool == NULL)
		fatalx("spool %s: %s", w->cfg->spool, err);
	worker_spool_dirs(w);
	worker_load_connector(w);
	/* the deliverers' rules, made while root can reach the spool */
	w->hide = landlock_ruleset(w->cfg->spool, NULL, "deliverers");
	proc_drop_privileges(w->cfg->user, NULL);
	worker_spool_make(w);
	signal(SIGPIPE, SIG_IGN);

	worker_recover(w);
	worker_events(w);
	w->nchildren = w->conn->concurrency < 1 ? 1 :
	    w->conn->concurrency > WORKER_CHILDREN_MAX ? WORKER_CHILDREN_MAX :
	    w->conn->concurrency;
	/* child i makes IDs with sub-instance i + 1 (spool.h) */
	if (w->nchildren > (int)SPOOL_QID_SUB_MAX)
		w->nchildren = (int)SPOOL_QID_SUB_MAX;
	w->children = xcalloc((size_t)w->nchildren, sizeof(*w->children));
	worker_window_reset(w);
	/* what the connector declares it needs (connector.h): exec */
	w->sbrole = GW_CONNECTOR_NEEDS(w->ld.conn) & GW_NEED_EXEC ?
	    SANDBOX_DELIVERY_EXEC : SANDBOX_DELIVERY;
	sandbox_prepare(w->sbrole, w->cfg->sandbox);
	for (i = 0; i < w->nchildren; i++)
		w->children[i].pid = -1;
	sandbox_report(w->sbrole, w->cfg->sandbox);
	worker_tpl_start(w);
	for (i = 0; i < w->nchildren && i < WORKER_MIN_CHILDREN; i++)
		if (worker_spawn(w, i) == -1)
			fatalx("cannot start the delivery children");
	worker_send_info(w);
	if (ipc_send(w->ipc, IPC_READY, NULL, 0) == -1)
		fatalx("cannot send IPC_READY");
	log_info("connector %s (%s %s) ready, up to %d delivery processes, "
	    "%zu jobs queued, %zu deferred", w->name, w->ld.conn->name,
	    w->ld.conn->version, w->nchildren, w->nready, w->nheap);
	worker_retire(-1, 0, w);	/* and every max_idle / 4 */
	worker_due_schedule(w);
	worker_dispatch(w);
	event_base_dispatch(w->base);
	if (w->ld.conn->fini != NULL)
		w->ld.conn->fini(w->ctx);
	return 0;
}
