/*
 * router.c - gatewayd-router: route acknowledged messages into jobs
 *
 * Start-up: common child init, open the spool, read the lookup tables and
 * prepare the directive store's directory (while still root), drop
 * privileges (chroot into the spool), open the directive store (inside
 * the spool), route whatever incoming/ holds, then IPC_READY.  A reload
 * restarts the router, which is how the tables are re-read on SIGHUP.
 * Each message is scanned once (msginfo.h) for the content conditions,
 * display names and directive IDs.  After
 * that, IPC_MSG_NEW frames from the master name new messages.  A batch's
 * jobs are written and the workers woken (IPC_JOB_NEW through the master)
 * at once; one spool_sync() at most ROUTER_SYNC_MS later makes the jobs
 * of every batch since the last one durable, and only then is each
 * message unlinked from incoming/.  The message itself was durable before
 * its 250, so a crash before that sync loses nothing: the message is
 * still in incoming/ and is routed again, its jobs found in place or
 * written again (a job that was delivered meanwhile may be delivered
 * twice: at least once, as a crash between a delivery and the removal of
 * its job).  A message whose incoming file is gone was routed already;
 * one whose unlink waits for the sync is not routed again; one that
 * cannot be parsed is quarantined, never dropped.
 *
 * Nothing waits for a network lookup (LDAP): a routing decision, a
 * recipient check or an end-of-DATA check whose lookup answers "pending"
 * is parked (router_wait.h) and made again, by the same function, when
 * the answer lands; the rest of the router goes on meanwhile.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "bounce.h"
#include "router_notice.h"
#include "cfg.h"
#include "directive.h"
#include "envelope.h"
#include "ipc.h"
#include "log.h"
#include "lookup.h"
#include "msginfo.h"
#include "proc.h"
#include "router.h"
#include "router_recog.h"
#include "router_wait.h"
#include "rules.h"
#include "sandbox.h"
#include "spool.h"
#include "spool_admin.h"
#include "xmalloc.h"

/* The qids of one batch that went to one connector. */
struct router_notify {
	char *connector;
	char **qids;
	size_t nqids;
};

struct router {
	struct cfg *cfg;
	struct spool *spool;
	struct event_base *base;
	struct ipc *ipc;
	struct event *scan_ev;
	struct event *exit_ev;
	int stopping;
	struct router_notify *notify;
	size_t nnotify;
	struct lookup **lookups;	/* one per cfg->lookups */
	struct directive_store *store;	/* NULL while unavailable */
	struct router_recog *recog;	/* questions to the recognizer */
	char **parts;			/* new messages to route after the sync */
	size_t nparts;
	struct event *defer_ev;		/* routes deferred messages again */
	struct router_waits *waits;	/* requests that wait for a lookup */
	struct event *rerun_ev;		/* a lookup answered: decide them again */
	struct event *unlink_ev;	/* incoming/ unlinks to the disk */
	struct event *sync_ev;		/* routed jobs to the disk */
	int chrooted;
	int store_tried;	/* the SQLite store was opened (or tried) */
	struct router_notice *notice;	/* notices to senders (notice.h) */
};

/* Collected qids of a directory scan. */
struct router_list {
	char **qids;
	size_t n;
};

/* router_note - remember that connector got a job for qid in this batch */
static void
router_note(struct router *r, const char *connector, const char *qid)
{
	struct router_notify *nt = NULL;
	size_t i;

	for (i = 0; i < r->nnotify; i++)
		if (strcmp(r->notify[i].connector, connector) == 0)
			nt = &r->notify[i];
	if (nt == NULL) {
		r->notify = xreallocarray(r->notify, r->nnotify + 1,
		    sizeof(*r->notify));
		nt = &r->notify[r->nnotify++];
		memset(nt, 0, sizeof(*nt));
		nt->connector = xstrdup(connector);
	}
	nt->qids = xreallocarray(nt->qids, nt->nqids + 1, sizeof(*nt->qids));
	nt->qids[nt->nqids++] = xstrdup(qid);
}

/* router_send_one - IPC_JOB_NEW frames for one connector, split to the caps */
static void
router_send_one(struct router *r, const struct router_notify *nt)
{
	const char *strv[IPC_MAX_STRINGS + 1];
	size_t i = 0, n, bytes;

	while (i < nt->nqids) {
		strv[0] = nt->connector;
		n = 1;
		bytes = strlen(nt->connector) + 1;
		while (i < nt->nqids && n < IPC_MAX_STRINGS &&
		    bytes + strlen(nt->qids[i]) + 1 <= IPC_MAX_PAYLOAD) {
			bytes += strlen(nt->qids[i]) + 1;
			strv[n++] = nt->qids[i++];
		}
		strv[n] = NULL;
		if (ipc_send_strings(r->ipc, IPC_JOB_NEW, strv) == -1)
			log_warnx("cannot notify worker %s of %zu jobs",
			    nt->connector, n - 1);
	}
}

/* router_unlink_timer - the unlinks of the last sync, on disk at last */
static void
router_unlink_timer(evutil_socket_t fd, short ev, void *arg)
{
	struct router *r = arg;

	(void)fd;
	(void)ev;
	if (spool_sync_unlinks(r->spool) == -1)
		log_warn("fsync of incoming/");
}

/*
 * router_sync_now - make the jobs routed so far durable (spool_sync),
 * then unlink their messages from incoming/.  Those unlinks reach the
 * disk with the next sync of anyone, which under load is a few
 * milliseconds away, and at the latest ROUTER_UNLINK_SYNC seconds later
 * by the timer.
 */
static int
router_sync_now(struct router *r)
{
	struct timeval tv = { ROUTER_UNLINK_SYNC, 0 };
	int rc;

	if (r->sync_ev != NULL)
		evtimer_del(r->sync_ev);
	rc = spool_sync(r->spool);
	if (spool_unlinks_pending(r->spool) &&
	    !evtimer_pending(r->unlink_ev, NULL))
		evtimer_add(r->unlink_ev, &tv);
	return rc;
}

/*
 * router_synced - the receiver says a sync of the spool started at *ts and
 * worked (IPC_SYNCED, after its commits): the routed messages it wrote
 * whose jobs were written before that are durable, and their incoming/
 * files go without a sync of ours (spool_synced).  Under a steady load
 * the receiver syncs every few milliseconds, so the router's own sync,
 * ROUTER_SYNC_MS after a batch, is left for the messages of others (the
 * workers' notices and DSNs) and for a quiet receiver.
 */
static void
router_synced(struct router *r, const struct timespec *ts)
{
	struct timeval tv = { ROUTER_UNLINK_SYNC, 0 }, due;
	struct timespec oldest, now;
	long long ms;

	if (spool_synced(r->spool, ts) == 0)
		return;
	/* our own sync is due ROUTER_SYNC_MS after the oldest still waiting */
	evtimer_del(r->sync_ev);
	if (spool_routed_oldest(r->spool, &oldest) == 0) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		ms = ROUTER_SYNC_MS - ((long long)(now.tv_sec - oldest.tv_sec) *
		    1000 + (now.tv_nsec - oldest.tv_nsec) / 1000000);
		due.tv_sec = 0;
		due.tv_usec = ms > 0 ? (long)ms * 1000 : 0;
		evtimer_add(r->sync_ev, &due);
	}
	if (spool_unlinks_pending(r->spool) &&
	    !evtimer_pending(r->unlink_ev, NULL))
		evtimer_add(r->unlink_ev, &tv);
}

/* router_sync_timer - the routed jobs of the last ROUTER_SYNC_MS */
static void
router_sync_timer(evutil_socket_t fd, short ev, void *arg)
{
	struct router *r = arg;
	struct timeval tv = { ROUTER_UNLINK_SYNC, 0 };
	size_t n = spool_routed_count(r->spool);

	(void)fd;
	(void)ev;
	if (router_sync_now(r) == -1) {
		log_warn("spool sync after routing %zu messages (they stay in "
		    "incoming/ until one succeeds)", n);
		evtimer_add(r->sync_ev, &tv);
	}
}

/*
 * router_sync_soon - the jobs of this batch reach the disk with the next sync,
 * at most ROUTER_SYNC_MS from now (at once when ROUTER_SYNC_MAX messages
 * wait): one sync for the batches of that time, not one for each.  The
 * workers may deliver them before: the messages stay in incoming/ until
 * the sync, so a crash has them routed again (at least once).
 */
static int
router_sync_soon(struct router *r)
{
	struct timeval tv = { 0, ROUTER_SYNC_MS * 1000 };

	if (spool_routed_count(r->spool) >= ROUTER_SYNC_MAX ||
	    r->sync_ev == NULL)
		return router_sync_now(r);
	if (!evtimer_pending(r->sync_ev, NULL))
		evtimer_add(r->sync_ev, &tv);
	return 0;
}

/* router_send_notify - wake the workers of this batch, then forget it */
static void
router_send_notify(struct router *r)
{
	size_t i, j;

	for (i = 0; i < r->nnotify; i++) {
		if (r->ipc != NULL)
			router_send_one(r, &r->notify[i]);
		for (j = 0; j < r->notify[i].nqids; j++)
			free(r->notify[i].qids[j]);
		free(r->notify[i].qids);
		free(r->notify[i].connector);
	}
	free(r->notify);
	r->notify = NULL;
	r->nnotify = 0;
}

/* router_log - the log lines of one routed message */
static void
router_log(const char *qid, const struct envelope *jobs, size_t njobs)
{
	char line[1024], addr[512], text[1024];
	size_t i, j, len = 0;
	int n;

	line[0] = '\0';
	for (i = 0; i < njobs; i++) {
		if (strcmp(jobs[i].connector, RULES_ROUTER_CONNECTOR) == 0)
			continue;
		n = snprintf(line + len, sizeof(line) - len, "%s%s (%zu rcpt)",
		    len ? ", " : "", jobs[i].connector, jobs[i].nrcpt);
		if (n < 0 || (size_t)n >= sizeof(line) - len)
			break;
		len += (size_t)n;
	}
	if (len > 0)
		log_info("%s: routed to %s", qid, line);
	for (i = 0; i < njobs; i++) {
		if (strcmp(jobs[i].connector, RULES_ROUTER_CONNECTOR) != 0)
			continue;
		for (j = 0; j < jobs[i].nrcpt; j++) {
			const struct envelope_rcpt *rc = &jobs[i].rcpt[j];

			log_clean(addr, sizeof(addr), rc->addr, strlen(rc->addr));
			log_clean(text, sizeof(text), rc->text ? rc->text : "",
			    rc->text ? strlen(rc->text) : 0);
			log_info("%s: to=<%s>, status=failed (%d %s %s)", qid,
			    addr, rc->code, rc->status, text);
		}
	}
}

/* router_parse_errno - does this errno mean "the file is unreadable"? */
static int
router_parse_errno(int e)
{
	return e == EBADMSG || e == EFBIG;
}

/* router_quarantine - move an unparsable incoming file aside */
static void
router_quarantine(struct router *r, const char *qid, const char *why)
{
	char err[SPOOL_ERRLEN];

	if (spool_quarantine(r->spool, SPOOL_INCOMING, NULL, qid, err,
	    sizeof(err)) == -1)
		log_warnx("%s: cannot quarantine unreadable message (%s): %s",
		    qid, why, err);
	else
		log_warnx("%s: unreadable message quarantined in corrupt/: %s",
		    qid, why);
}

static int router_route_one(struct router *, const char *);
static void router_store_retry(struct router *);
static void router_env(struct router *, struct rules_env *);

/*
 * router_park - a request waits for a lookup's answer (router_wait.h):
 * 1 parked, 0 the list is full (it takes its temporary failure now)
 */
static int
router_park(struct router *r, int type, const char *const *sv, size_t n,
    const struct rules_recog *recog)
{
	if (router_wait_add(r->waits, type, sv, n, recog) == 0) {
		log_debug("%s: %s waits for a lookup (%zu waiting)", sv[0],
		    type == IPC_RCPT_CHECK ? "recipient check" : type ==
		    IPC_DATA_CHECK ? "end-of-DATA check" : "message",
		    router_wait_count(r->waits));
		return 1;
	}
	log_warnx("%s: %zu requests wait for lookups already: temporary "
	    "failure", sv[0], router_wait_count(r->waits));
	return 0;
}

/* router_again - scan incoming/ again in ROUTER_DEFER_INTERVAL seconds */
static void
router_again(struct router *r)
{
	struct timeval tv = { ROUTER_DEFER_INTERVAL, 0 };

	if (r->defer_ev != NULL && !evtimer_pending(r->defer_ev, NULL))
		evtimer_add(r->defer_ev, &tv);
}

/*
 * router_deferred - does a recipient wait for a temporary failure (a
 * lookup that cannot answer now)?  Then log it, keep the message in
 * incoming/ and route it again later: nothing is written, nothing bounced.
 */
static int
router_deferred(struct router *r, const char *qid, const struct envelope *jobs,
    size_t njobs)
{
	const struct envelope_rcpt *rc;
	char addr[512], text[1024];
	size_t i, j;
	int n = 0;

	for (i = 0; i < njobs; i++) {
		if (strcmp(jobs[i].connector, RULES_ROUTER_CONNECTOR) != 0)
			continue;
		for (j = 0; j < jobs[i].nrcpt; j++) {
			rc = &jobs[i].rcpt[j];
			if (rc->code < 400 || rc->code > 499)
				continue;
			log_clean(addr, sizeof(addr), rc->addr, strlen(rc->addr));
			log_clean(text, sizeof(text), rc->text ? rc->text : "",
			    rc->text ? strlen(rc->text) : 0);
			log_info("%s: to=<%s>, status=deferred (%d %s %s), "
			    "routing again in %d s", qid, addr, rc->code,
			    rc->status, text, ROUTER_DEFER_INTERVAL);
			n++;
		}
	}
	if (n > 0)
		router_again(r);
	return n > 0;
}

/*
 * router_bounce - the DSN for recipients the router failed (the job in
 * failed/_router), routed at once; left there when it cannot be written,
 * for the next periodic scan
 */
static int
router_bounce(const char *qid, time_t mtime, off_t size, void *arg)
{
	struct router *r = arg;
	char dsn[SPOOL_QID_LEN + 1], err[SPOOL_ERRLEN];
	struct bounce_opts o;

	(void)mtime;
	(void)size;
	memset(&o, 0, sizeof(o));
	o.hostname = r->cfg->smtp.hostname;
	o.postmaster = r->cfg->postmaster;
	o.success_action = "delivered";
	if (bounce_failed_job(&o, r->spool, RULES_ROUTER_CONNECTOR, qid,
	    SPOOL_FAILED, dsn, err, sizeof(err)) == -1)
		log_warnx("%s: unroutable recipients kept in failed/_router "
		    "for their notice: %s", qid, err);
	else if (dsn[0] != '\0')
		router_route_one(r, dsn);
	return 0;
}

/* router_recog_ask - the recognizer reads qid (once per stale period) */
static void
router_recog_ask(struct router *r, const char *qid, int keep)
{
	const char *strv[3] = { qid, keep ? "1" : "0", NULL };
	time_t now = time(NULL);

	if (router_recog_waiting(r->recog, qid, now,
	    r->cfg->recognize.timeout + ROUTER_RECOG_STALE))
		return;
	if (r->ipc == NULL || ipc_send_strings(r->ipc, IPC_RECOG_REQ,
	    strv) == -1) {
		log_warnx("%s: cannot ask the recognizer", qid);
		return;
	}
	router_recog_asked(r->recog, qid, now);
	log_info("%s: waiting for the recognizer (routing sheet)", qid);
}

/* router_split - the parts replace the message for the split recipients */
static int
router_split(struct router *r, const char *qid, const struct envelope *msg,
    const struct rules_env *env, const struct envelope *jobs, size_t njobs)
{
	const struct rules_part *p;
	char err[SPOOL_ERRLEN], **qids = NULL;
	size_t n = 0, i;
	int rc;

	rc = router_recog_parts(r->spool, r->cfg, msg, env, &qids, &n, err,
	    sizeof(err));
	if (rc == -1)
		log_warnx("%s: cannot write the parts of the scan (routing "
		    "again in %d s): %s", qid, ROUTER_DEFER_INTERVAL, err);
	else if (njobs > 0)
		rc = spool_route(r->spool, qid, jobs, njobs, err, sizeof(err));
	else
		rc = spool_incoming_done(r->spool, qid, err, sizeof(err));
	for (i = 0; i < n; i++) {
		p = &env->recog->parts[i];
		if (rc == 0)
			log_info("%s: part %zu/%zu is %s: sheet page %u, pages "
			    "%u-%u, directive %s%s", qid, i + 1, n, qids[i],
			    p->sheet_page, p->first, p->last, p->id[0] ?
			    p->id : "none", p->kind == RULES_PART_SEPARATOR ?
			    " (separator)" : "");
		r->parts = xreallocarray(r->parts, r->nparts + 1,
		    sizeof(*r->parts));
		r->parts[r->nparts++] = qids[i];
	}
	free(qids);
	if (rc == -1 && n > 0)
		log_warnx("%s: %s", qid, err);
	return rc;
}

/* router_jobs - write the jobs (or the parts), log, remember whom to wake */
static void
router_jobs(struct router *r, const char *qid, const struct envelope *msg,
    const struct rules_env *env, struct envelope *jobs, size_t njobs)
{
	char err[SPOOL_ERRLEN];
	size_t i;

	if (env->nsplit > 0) {
		if (router_split(r, qid, msg, env, jobs, njobs) == -1) {
			router_again(r);
			return;
		}
	} else if (spool_route(r->spool, qid, jobs, njobs, err,
	    sizeof(err)) == -1) {
		log_warnx("%s: cannot write jobs (routing again in %d s): %s",
		    qid, ROUTER_DEFER_INTERVAL, err);
		router_again(r);
		return;
	}
	router_log(qid, jobs, njobs);
	for (i = 0; i < njobs; i++)
		if (strcmp(jobs[i].connector, RULES_ROUTER_CONNECTOR) != 0)
			router_note(r, jobs[i].connector, qid);
		else
			router_bounce(qid, 0, 0, r);
}

/*
 * router_log_params - what the workers' delivery lines carry (gatewayd(8)
 * LOGGING): "routed" (when, seconds.microseconds) and "message-id" on
 * every recipient of every job
 */
static void
router_log_params(struct envelope *jobs, size_t njobs,
    const struct msginfo *mi)
{
	char routed[32], mid[ROUTER_MSGID_MAX];
	const char *v;
	struct timespec ts;
	size_t i, k, len;

	clock_gettime(CLOCK_REALTIME, &ts);
	snprintf(routed, sizeof(routed), "%lld.%06ld", (long long)ts.tv_sec,
	    ts.tv_nsec / 1000);
	mid[0] = '\0';
	if ((v = msginfo_header(mi, "Message-ID")) != NULL) {
		v += strspn(v, " \t\r\n");
		len = strcspn(v, " \t\r\n,");
		if (len < sizeof(mid))
			snprintf(mid, sizeof(mid), "%.*s", (int)len, v);
	}
	for (i = 0; i < njobs; i++)
		for (k = 0; k < jobs[i].nrcpt; k++) {
			envelope_rcpt_set_param(&jobs[i].rcpt[k], "routed",
			    routed);
			if (mid[0] != '\0')
				envelope_rcpt_set_param(&jobs[i].rcpt[k],
				    "message-id", mid);
		}
}

/*
 * router_route_msg - route one message of a batch (recog: the
 * recognizer's answer for it, or NULL); 1 routed, 0 not
 */
static int
router_route_msg(struct router *r, const char *qid,
    const struct rules_recog *recog)
{
	struct envelope msg, *jobs = NULL;
	char err[SPOOL_ERRLEN];
	struct rules_env env;
	char conn[SPOOL_NAME_MAX];
	struct msginfo mi;
	size_t njobs = 0;
	off_t off;
	int fd = -1, rc, deferred = 0, parked = 0;

	if (spool_routed_pending(r->spool, qid))
		return 0;	/* routed, its unlink waits for the sync */
	memset(&msg, 0, sizeof(msg));
	if (spool_incoming_open(r->spool, qid, &msg, &off, &fd, err,
	    sizeof(err)) == -1) {
		if (errno == ENOENT)
			return 0;	/* routed already */
		if (router_parse_errno(errno))
			router_quarantine(r, qid, err);
		else
			log_warnx("%s: cannot read incoming message: %s", qid,
			    err);
		return 0;
	}
	if ((rc = router_notice_job(r->notice, r->spool, qid, &msg, conn,
	    sizeof(conn))) != 0) {
		if (fd != -1)
			close(fd);
		if (rc == 1)
			router_note(r, conn, qid);
		envelope_clear(&msg);
		return rc == 1;
	}
	/*
	 * The header first: unless a rule, a notice or a directive looks at
	 * the rest (env.need_body), routing needs no more, and a 100 KB scan
	 * is not read and parsed to route it
	 */
	memset(&mi, 0, sizeof(mi));
	if (fd != -1 && msginfo_scan_header_fd(fd, off, &mi) == -1)
		log_warn("%s: reading the message for routing", qid);
	memset(&env, 0, sizeof(env));
	env.mi = &mi;
	router_env(r, &env);
	env.recog = recog;
	router_wait_begin(r->waits);
	rc = rules_route_env(r->cfg, &msg, &env, &jobs, &njobs);
	if (env.need_body) {
		rules_free_jobs(jobs, njobs);
		jobs = NULL;
		njobs = 0;
		rules_env_clear(&env);
		msginfo_free(&mi);
		if (fd != -1 && msginfo_scan_fd(fd, off,
		    r->cfg->directives.body_scan, &mi) == -1)
			log_warn("%s: reading the message for routing", qid);
		router_wait_begin(r->waits);
		rc = rules_route_env(r->cfg, &msg, &env, &jobs, &njobs);
	}
	if (fd != -1)
		close(fd);
	router_log_params(jobs, njobs, &mi);
	msginfo_free(&mi);
	if (rc == -1)
		router_quarantine(r, qid, "no recipients");
	else if (env.pending && router_park(r, IPC_MSG_NEW, &qid, 1, recog))
		parked = 1;				/* stays */
	else if (env.recog_needed)
		router_recog_ask(r, qid, env.recog_keep);	/* stays */
	else if (router_deferred(r, qid, jobs, njobs))
		deferred = 1;				/* stays */
	else
		router_jobs(r, qid, &msg, &env, jobs, njobs);
	rules_free_jobs(jobs, njobs);
	rules_env_clear(&env);
	envelope_clear(&msg);
	return rc == 0 && !env.recog_needed && !deferred && !parked;
}

/* router_route_one - route one message of a batch; 1 routed, 0 not */
static int
router_route_one(struct router *r, const char *qid)
{
	if (router_wait_has(r->waits, IPC_MSG_NEW, qid))
		return 0;	/* its lookup answers first */
	return router_route_msg(r, qid, NULL);
}

/* router_more - route the parts written by this batch (after its sync) */
static void
router_more(struct router *r)
{
	char **parts = r->parts;
	size_t n = r->nparts, i, routed = 0;

	r->parts = NULL;
	r->nparts = 0;
	for (i = 0; i < n; i++) {
		routed += router_route_one(r, parts[i]);
		free(parts[i]);
	}
	free(parts);
	if (routed > 0 && router_sync_now(r) == -1)
		log_warn("spool sync after routing %zu parts", routed);
	router_send_notify(r);
}

/*
 * router_notice_due - a message whose jobs may all have ended (a worker
 * recorded one for a notice, notice.h): its notice, routed at once
 */
static void
router_notice_due(struct router *r, const char *qid)
{
	char nq[SPOOL_QID_LEN + 1];

	/* its incoming/ file, kept until the sync, would say "busy" */
	if (spool_routed_pending(r->spool, qid) && router_sync_now(r) == -1)
		log_warn("%s: spool sync before its notice", qid);
	if (router_notice_check(r->notice, r->spool, qid, nq) != 1)
		return;
	if (router_route_one(r, nq) && router_sync_now(r) == -1)
		log_warn("%s: spool sync after routing the notice", nq);
	router_send_notify(r);
}

/*
 * router_batch - route a batch, notify, sync soon (router_sync_soon); a
 * queue ID not in incoming/ may name a message whose notice is due
 */
static void
router_batch(struct router *r, char *const *qids, size_t n)
{
	size_t i, routed = 0;
	char *done = xcalloc(n ? n : 1, 1);

	for (i = 0; i < n; i++) {
		if (!spool_qid_valid(qids[i])) {
			log_warnx("ignoring malformed queue ID from the master");
			done[i] = 1;
			continue;
		}
		done[i] = (char)router_route_one(r, qids[i]);
		routed += (size_t)done[i];
	}
	if (routed > 0 && router_sync_soon(r) == -1)
		log_warn("spool sync after routing %zu messages", routed);
	router_send_notify(r);
	router_more(r);
	for (i = 0; i < n; i++)
		if (!done[i])
			router_notice_due(r, qids[i]);
	free(done);
}

/* router_notice_scan - every message with notice records (lost wake-ups) */
static void
router_notice_scan(struct router *r)
{
	char **qids;
	size_t n, i;

	n = router_notice_pending(r->spool, &qids);
	for (i = 0; i < n; i++) {
		router_notice_due(r, qids[i]);
		free(qids[i]);
	}
	free(qids);
}

/*
 * router_route_now - route one message outside a batch (recog: the
 * recognizer's answer, or NULL): sync, wake the workers, route its parts
 */
static void
router_route_now(struct router *r, const char *qid,
    const struct rules_recog *recog)
{
	if (router_route_msg(r, qid, recog) > 0 && router_sync_now(r) == -1)
		log_warn("spool sync after routing %s", qid);
	router_send_notify(r);
	router_more(r);
	/* the parts are durable (or the message waits): the files can go,
	   unless it waits for a lookup with this answer */
	if (recog != NULL && !router_wait_has(r->waits, IPC_MSG_NEW, qid))
		(void)spool_recog_clear(r->spool, qid, RULES_RECOG_MAX_PARTS);
}

/* router_recog_done - the recognizer's answer: route the message with it */
static void
router_recog_done(struct router *r, const char *qid, const char *status,
    const char *reason)
{
	struct rules_recog *rg = xcalloc(1, sizeof(*rg));
	char err[SPOOL_ERRLEN];

	router_recog_forget(r->recog, qid);
	if (router_recog_load(r->spool, qid, status, reason, rg, err,
	    sizeof(err)) == -1) {
		log_warnx("%s: %s", qid, err);
		rg->status = RULES_RECOG_UNREADABLE;
		snprintf(rg->reason, sizeof(rg->reason), "the recognizer's "
		    "answer could not be used");
	}
	log_info("%s: recognizer: %s%s%s", qid, rg->status ==
	    RULES_RECOG_SHEETS ? "routing sheets found" : rg->status ==
	    RULES_RECOG_NONE ? "no routing sheet" : "unreadable",
	    rg->reason[0] ? ": " : "", rg->reason);
	router_route_now(r, qid, rg);
	free(rg);
}

/* router_collect - spool_scan callback: remember a qid */
static int
router_collect(const char *qid, time_t mtime, off_t size, void *arg)
{
	struct router_list *l = arg;

	(void)mtime;
	(void)size;
	l->qids = xreallocarray(l->qids, l->n + 1, sizeof(*l->qids));
	l->qids[l->n++] = xstrdup(qid);
	return 0;
}

/* router_scan - route everything incoming/ holds, in batches */
static void
router_scan(struct router *r)
{
	struct router_list l = { NULL, 0 };
	size_t i, n;

	if (spool_scan(r->spool, SPOOL_INCOMING, NULL, router_collect,
	    &l) == -1)
		log_warn("scan of incoming/");
	for (i = 0; i < l.n; i += n) {
		n = l.n - i < ROUTER_BATCH_MAX ? l.n - i : ROUTER_BATCH_MAX;
		router_batch(r, l.qids + i, n);
	}
	if (l.n > 0)
		log_debug("scan of incoming/ found %zu messages", l.n);
	for (i = 0; i < l.n; i++)
		free(l.qids[i]);
	free(l.qids);
	router_notice_scan(r);
}

/* router_scan_timer - the periodic safety scan */
static void
router_scan_timer(evutil_socket_t fd, short ev, void *arg)
{
	struct router *r = arg;
	struct timeval tv = { ROUTER_SCAN_INTERVAL, 0 };

	(void)fd;
	(void)ev;
	if (r->stopping)
		return;
	router_store_retry(r);
	router_scan(r);
	/* notices that could not be written earlier (bounce.c) */
	if (spool_scan(r->spool, SPOOL_FAILED, RULES_ROUTER_CONNECTOR,
	    router_bounce, r) == 0 && router_sync_now(r) == 0)
		router_send_notify(r);
	evtimer_add(r->scan_ev, &tv);
}

/* router_defer_timer - route again what waited for a temporary failure */
static void
router_defer_timer(evutil_socket_t fd, short ev, void *arg)
{
	struct router *r = arg;

	(void)fd;
	(void)ev;
	if (!r->stopping)
		router_scan(r);
}

/* router_exit_check - leave once the last frames are written */
static void
router_exit_check(evutil_socket_t fd, short ev, void *arg)
{
	struct router *r = arg;
	struct timeval tv = { 0, 50000 };
	static int tries;

	(void)fd;
	(void)ev;
	if (r->ipc == NULL || ipc_pending(r->ipc) == 0 || ++tries > 100) {
		event_base_loopbreak(r->base);
		return;
	}
	evtimer_add(r->exit_ev, &tv);
}

/*
 * router_requeue - gatewayctl queue requeue: the control child moved every
 * job of these messages to hold/; link each message back into incoming/,
 * drop its held jobs, and route it again with the current rules.
 */
static void
router_requeue(struct router *r, const char **qids, size_t n)
{
	char err[SPOOL_ERRLEN], *ok[IPC_MAX_STRINGS];
	size_t i, nok = 0;
	int k;

	for (i = 0; i < n; i++) {
		if (!spool_qid_valid(qids[i])) {
			log_warnx("requeue: malformed queue ID from the master");
			continue;
		}
		/* its incoming/ file, kept until the sync, would be unlinked
		 * by that sync after the link back: sync first */
		if (spool_routed_pending(r->spool, qids[i]) &&
		    router_sync_now(r) == -1) {
			log_warn("%s: requeue: spool sync", qids[i]);
			continue;
		}
		if ((k = spool_requeue_held(r->spool, qids[i], err,
		    sizeof(err))) == -1) {
			log_warnx("%s: requeue failed: %s", qids[i], err);
			continue;
		}
		log_info("%s: requeued by the operator (%d held job%s "
		    "removed)", qids[i], k, k == 1 ? "" : "s");
		ok[nok++] = (char *)qids[i];
	}
	if (nok > 0)
		router_batch(r, ok, nok);
}

/* router_answer - IPC_RCPT_ANSWER: the verdict for check id */
static void
router_answer(struct router *r, const char *id, const struct rules_verdict *v,
    const char *what)
{
	const char *ans[5];
	char code[8];

	snprintf(code, sizeof(code), "%d", v->code);
	ans[0] = id;
	ans[1] = code;
	ans[2] = v->status;
	ans[3] = v->text;
	ans[4] = NULL;
	if (r->ipc == NULL || ipc_send_strings(r->ipc, IPC_RCPT_ANSWER,
	    ans) == -1)
		log_warnx("cannot answer a %s check", what);
}

/*
 * router_rcpt_decide - what routing would do with one recipient of a
 * session (rules_check_rcpt): ID, rcpt, from, client, auth, listener;
 * answered now, or parked until its lookup answers
 */
static void
router_rcpt_decide(struct router *r, const char *const *sv)
{
	struct rules_verdict v;
	struct rules_env env;
	struct envelope msg;

	memset(&msg, 0, sizeof(msg));
	msg.from = (char *)sv[2];
	msg.client = (char *)sv[3];
	msg.auth = sv[4][0] != '\0' ? (char *)sv[4] : NULL;
	msg.listener = (char *)sv[5];
	msg.size = -1;
	memset(&env, 0, sizeof(env));
	router_env(r, &env);
	router_wait_begin(r->waits);
	rules_check_rcpt(r->cfg, &msg, &env, sv[1], &v);
	if (env.pending && router_park(r, IPC_RCPT_CHECK, sv, 6, NULL))
		return;
	router_answer(r, sv[0], &v, "recipient");
}

/* router_rcpt_check - IPC_RCPT_CHECK: decode, then decide */
static void
router_rcpt_check(struct router *r, const struct ipc_frame *f)
{
	const char *sv[7];

	if (ipc_strings(f, sv, 7) != 6)
		fatalx("malformed %s frame from the master",
		    ipc_type_name(f->type));
	router_rcpt_decide(r, sv);
}

/*
 * router_data_verdict - the end-of-DATA answer for a finished message:
 * the first permanent failure when every recipient would fail
 * permanently, else 250 (temporary failures defer after the commit);
 * 1 when it cannot be told before a lookup answers
 */
static int
router_data_verdict(struct router *r, const struct envelope *msg,
    struct msginfo *mi, struct rules_verdict *out)
{
	struct rules_verdict v;
	struct rules_env env;
	size_t i;
	int pending = 0;

	memset(&env, 0, sizeof(env));
	env.mi = mi;
	router_env(r, &env);
	memset(out, 0, sizeof(*out));
	router_wait_begin(r->waits);
	for (i = 0; i < msg->nrcpt; i++) {
		env.pending = 0;
		rules_check_rcpt(r->cfg, msg, &env, msg->rcpt[i].addr, &v);
		if (env.pending) {
			pending = 1;	/* the others' queries start too */
			continue;
		}
		if (v.code < 500) {
			out->code = 250;
			snprintf(out->status, sizeof(out->status), "2.0.0");
			return 0;
		}
		if (out->code == 0)
			*out = v;
	}
	return pending;
}

/*
 * router_data_decide - route a message the receiver has not committed
 * yet (receive/<qid>) without writing anything, so that a message no
 * recipient can take is refused after the dot, not bounced: ID, qid;
 * answered now, or parked until its lookups answer
 */
static void
router_data_decide(struct router *r, const char *const *sv)
{
	struct rules_verdict v;
	char err[SPOOL_ERRLEN];
	struct envelope msg;
	struct msginfo mi;
	off_t off;
	int fd = -1, parked = 0;

	memset(&v, 0, sizeof(v));
	memset(&msg, 0, sizeof(msg));
	memset(&mi, 0, sizeof(mi));
	v.code = 250;
	snprintf(v.status, sizeof(v.status), "2.0.0");
	if (spool_received_open(r->spool, sv[1], &msg, &off, &fd, err,
	    sizeof(err)) == -1)
		log_warnx("%s: end-of-DATA check: %s", sv[1], err);
	else {
		if (msginfo_scan_fd(fd, off, r->cfg->directives.body_scan,
		    &mi) == -1)
			log_warn("%s: reading the message for its check", sv[1]);
		else if (router_data_verdict(r, &msg, &mi, &v) == 1 &&
		    !(parked = router_park(r, IPC_DATA_CHECK, sv, 2, NULL))) {
			v.code = 250;	/* commit: routing defers, never bounces */
			snprintf(v.status, sizeof(v.status), "2.0.0");
			v.text[0] = '\0';
		}
		close(fd);
	}
	msginfo_free(&mi);
	envelope_clear(&msg);
	if (!parked)
		router_answer(r, sv[0], &v, "message");
}

/* router_data_check - IPC_DATA_CHECK: decode, then decide */
static void
router_data_check(struct router *r, const struct ipc_frame *f)
{
	const char *sv[3];

	if (ipc_strings(f, sv, 3) != 2)
		fatalx("malformed %s frame from the master",
		    ipc_type_name(f->type));
	router_data_decide(r, sv);
}

/*
 * router_rerun - lookups answered: make the decisions that wait for those
 * keys again (router_wait.h; a request still undecided parks again); once
 * none waits, the tables forget the answers they kept for them
 */
static void
router_rerun(evutil_socket_t fd, short ev, void *arg)
{
	struct router *r = arg;
	struct router_wait *w;
	size_t n, i;

	(void)fd;
	(void)ev;
	w = router_wait_take_landed(r->waits, &n);
	for (i = 0; i < n; i++) {
		if (w[i].type == IPC_RCPT_CHECK)
			router_rcpt_decide(r, (const char *const *)w[i].sv);
		else if (w[i].type == IPC_DATA_CHECK)
			router_data_decide(r, (const char *const *)w[i].sv);
		else if (!r->stopping)
			router_route_now(r, w[i].sv[0], w[i].recog);
	}
	router_wait_done(w, n);
	for (i = 0; router_wait_count(r->waits) == 0 && r->lookups != NULL &&
	    i < r->cfg->nlookups; i++)
		lookup_release(r->lookups[i]);
}

/*
 * router_landed - the answer for key landed: its waiters decide again,
 * from the loop (a get may fail every query while a decision is made,
 * before that decision parks)
 */
static void
router_landed(void *arg, const struct lookup *table, const char *key)
{
	struct router *r = arg;

	router_wait_landed(r->waits, table, key);
	event_active(r->rerun_ev, EV_TIMEOUT, 0);
}

/* router_asked - the decision being made waits for key in table */
static void
router_asked(void *arg, const struct lookup *table, const char *key)
{
	struct router *r = arg;

	router_wait_asked(r->waits, table, key);
}

/* router_ipc - a frame from the master */
static void
router_ipc(struct ipc *ipc, const struct ipc_frame *f, void *arg)
{
	struct router *r = arg;
	const char *strv[IPC_MAX_STRINGS], *why;
	struct timespec ts;
	int n;

	(void)ipc;
	switch (f->type) {
	case IPC_MSG_NEW:
		if ((n = ipc_strings(f, strv, IPC_MAX_STRINGS)) == -1)
			fatalx("malformed %s frame from the master",
			    ipc_type_name(f->type));
		if (!r->stopping)
			router_batch(r, (char *const *)strv, (size_t)n);
		break;
	case IPC_SYNCED:
		if (ipc_synced(f, &ts, &why) == -1)
			fatalx("malformed %s frame from the master: %s",
			    ipc_type_name(f->type), why);
		router_synced(r, &ts);
		break;
	case IPC_REQUEUE:
		if ((n = ipc_strings(f, strv, IPC_MAX_STRINGS)) == -1)
			fatalx("malformed %s frame from the master",
			    ipc_type_name(f->type));
		if (!r->stopping)
			router_requeue(r, strv, (size_t)n);
		break;
	case IPC_RECOG_DONE:
		if (ipc_recog(f, strv, &why) == -1)
			fatalx("malformed %s frame from the master: %s",
			    ipc_type_name(f->type), why);
		if (!r->stopping)
			router_recog_done(r, strv[0], strv[1], strv[2]);
		break;
	case IPC_RCPT_CHECK:
		router_rcpt_check(r, f);
		break;
	case IPC_DATA_CHECK:
		router_data_check(r, f);
		break;
	case IPC_SHUTDOWN:
		log_debug("shutting down");
		r->stopping = 1;
		router_exit_check(-1, 0, r);
		break;
	default:
		fatalx("unexpected %s frame from the master",
		    ipc_type_name(f->type));
	}
}

/* router_ipc_closed - the master went away: nothing left to do */
static void
router_ipc_closed(struct ipc *ipc, void *arg)
{
	struct router *r = arg;

	(void)ipc;
	log_debug("master closed the connection, exiting");
	r->ipc = NULL;
	r->stopping = 1;
	event_base_loopbreak(r->base);
}

/* router_lookup_ldap - is this an LDAP lookup (queried over the network)? */
static int
router_lookup_ldap(const struct cfg_lookup *lk)
{
	return lk->type != NULL && strcmp(lk->type, "ldap") == 0;
}

/* router_sandbox_role - the router's filter: with inet sockets for LDAP */
static enum sandbox_role
router_sandbox_role(const struct cfg *cfg)
{
	size_t i;

	if (cfg->directives.store == CFG_DIR_STORE_POSTGRESQL)
		return SANDBOX_ROUTER_NET;	/* the shared directive store */
	for (i = 0; i < cfg->nlookups; i++)
		if (router_lookup_ldap(&cfg->lookups[i]))
			return SANDBOX_ROUTER_NET;
	return SANDBOX_ROUTER;
}

/* router_lookups - read every lookup table (before the privilege drop) */
static void
router_lookups(struct router *r)
{
	char err[LOOKUP_ERRLEN];
	size_t i;

	if (r->cfg->nlookups == 0)
		return;
	r->lookups = xcalloc(r->cfg->nlookups, sizeof(*r->lookups));
	for (i = 0; i < r->cfg->nlookups; i++) {
		const struct cfg_lookup *lk = &r->cfg->lookups[i];

		if (router_lookup_ldap(lk))
			r->lookups[i] = lookup_ldap_open(lk, err, sizeof(err));
		else
			r->lookups[i] = lookup_open(lk->format, lk->path, err,
			    sizeof(err));
		/* never bounce for an operator's mistake: 451 at RCPT, wait in incoming/ */
		if (r->lookups[i] == NULL) {
			log_warnx("lookup %s: %s: its recipients are deferred "
			    "until the table is read again (reload)", lk->name,
			    err);
			continue;
		}
		log_debug("lookup %s: %s ready", lk->name,
		    router_lookup_ldap(lk) ? lk->ldap.uri : lk->path);
	}
}

/* router_attach - the network tables work on the loop (router_landed) */
static void
router_attach(struct router *r)
{
	size_t i;

	for (i = 0; r->lookups != NULL && i < r->cfg->nlookups; i++)
		lookup_attach(r->lookups[i], r->base, router_landed,
		    router_asked, r);
}

/*
 * router_store_open_pg - the PostgreSQL directive store, before the drop:
 * its password file is read now, the connection is made at the first use
 * (and made again at the next use after a failure, which defers)
 */
static void
router_store_open_pg(struct router *r)
{
	char err[DIRECTIVE_ERRLEN];

	r->store = directive_store_open_pg(&r->cfg->directives.pg, 0, err,
	    sizeof(err));
	if (r->store == NULL)
		log_warnx("%s: directives deferred until a reload reads it",
		    err);
}

/* router_store_open - the SQLite directive store, after the chroot */
static void
router_store_open(struct router *r, int chrooted)
{
	char path[4096], err[DIRECTIVE_ERRLEN];

	if (r->cfg->directives.store == CFG_DIR_STORE_POSTGRESQL)
		return;		/* router_store_open_pg */
	if (directive_store_path(chrooted ? "/" : r->cfg->spool, path,
	    sizeof(path)) == -1)
		fatalx("directive store path too long");
	if (!chrooted) {
		snprintf(err, sizeof(err), "%s/%s", r->cfg->spool,
		    DIRECTIVE_STORE_DIR);
		if (mkdir(err, 0750) == -1 && errno != EEXIST)
			fatal("mkdir %s", err);
	}
	if ((r->store = directive_store_open(path, 1, err, sizeof(err))) == NULL)
		log_warnx("%s: directives deferred until it opens (tried again "
		    "every %d s)", err, ROUTER_SCAN_INTERVAL);
}

/* router_store_retry - the periodic scan opens a store that was unavailable */
static void
router_store_retry(struct router *r)
{
	char path[4096], err[DIRECTIVE_ERRLEN];

	if (r->store != NULL || !r->store_tried ||
	    r->cfg->directives.store == CFG_DIR_STORE_POSTGRESQL ||
	    directive_store_path(r->chrooted ? "/" :
	    r->cfg->spool, path, sizeof(path)) == -1)
		return;
	r->store = directive_store_open(path, 1, err, sizeof(err));
	if (r->store != NULL)
		log_info("directive store open");
}

/*
 * router_store_first - rules_env's store_open: the SQLite store is opened
 * at the first message that names a directive, not at start, so a router
 * that routes none never maps SQLite's code and page cache (a megabyte of
 * its memory); a failed open is tried again by the periodic scan
 */
static struct directive_store *
router_store_first(void *arg)
{
	struct router *r = arg;

	if (r->store == NULL && !r->store_tried) {
		r->store_tried = 1;
		router_store_open(r, r->chrooted);
	}
	return r->store;
}

/* router_env - a rules_env with the router's tables and store */
static void
router_env(struct router *r, struct rules_env *env)
{
	env->lookups = r->lookups;
	env->store = r->store;
	env->store_open = router_store_first;
	env->store_arg = r;
	env->now = time(NULL);
}

/* router_free_tables - close the lookup tables and the store */
static void
router_free_tables(struct router *r)
{
	size_t i;

	for (i = 0; r->lookups != NULL && i < r->cfg->nlookups; i++)
		lookup_close(r->lookups[i]);
	free(r->lookups);
	directive_store_close(r->store);
}

/*
 * router_claims - whose sync claims cover whose messages: the receiver's
 * (IPC_SYNCED) for the files its user owns in incoming/; run without
 * root, every process is the same user
 */
static void
router_claims(struct router *r)
{
	struct passwd *pw;
	uid_t uid = geteuid();

	if (uid == 0)
		uid = (pw = getpwnam(r->cfg->receiver_user)) != NULL &&
		    pw->pw_uid != 0 ? pw->pw_uid : (uid_t)-1;
	spool_set_claim_owner(r->spool, uid);
}

/* main - gatewayd-router */
int
main(int argc, char **argv)
{
	struct proc_opts opts;
	struct router r;
	struct timeval tv = { ROUTER_SCAN_INTERVAL, 0 };
	char err[SPOOL_ERRLEN];
	int chrooted;

	memset(&r, 0, sizeof(r));
	memset(&opts, 0, sizeof(opts));
	r.cfg = proc_child_init(argc, argv, "router", &opts);
	r.recog = router_recog_new();
	r.spool = spool_open(r.cfg->spool, 0, (uid_t)-1, (gid_t)-1, err,
	    sizeof(err));
	if (r.spool == NULL)
		fatalx("spool %s: %s", r.cfg->spool, err);
	tzset();	/* day and hour conditions: read the zone before chroot */
	router_lookups(&r);
	r.notice = router_notice_new(r.cfg);	/* templates: before chroot */
	/* directive/ is made by the master (spool_prepare): nothing to chown */
	chrooted = geteuid() == 0;
	r.chrooted = chrooted;
	if (r.cfg->directives.store == CFG_DIR_STORE_POSTGRESQL)
		router_store_open_pg(&r);
	router_claims(&r);
	proc_drop_privileges(r.cfg->user, r.cfg->spool);
	/* the SQLite store: at its first use (router_store_first) */

	r.base = proc_event_base();
	r.ipc = ipc_new(r.base, PROC_FD_IPC, router_ipc, router_ipc_closed, &r);
	if (r.ipc == NULL)
		fatalx("cannot use the master socket");
	r.scan_ev = evtimer_new(r.base, router_scan_timer, &r);
	r.exit_ev = evtimer_new(r.base, router_exit_check, &r);
	r.defer_ev = evtimer_new(r.base, router_defer_timer, &r);
	r.rerun_ev = event_new(r.base, -1, 0, router_rerun, &r);
	r.unlink_ev = evtimer_new(r.base, router_unlink_timer, &r);
	r.sync_ev = evtimer_new(r.base, router_sync_timer, &r);
	if (r.scan_ev == NULL || r.exit_ev == NULL || r.defer_ev == NULL ||
	    r.rerun_ev == NULL || r.unlink_ev == NULL || r.sync_ev == NULL)
		fatalx("evtimer_new failed");
	r.waits = router_wait_new();
	router_attach(&r);
	sandbox_enter(router_sandbox_role(r.cfg), r.cfg->sandbox, 0);

	router_scan(&r);
	if (ipc_send(r.ipc, IPC_READY, NULL, 0) == -1)
		fatalx("cannot send IPC_READY");
	evtimer_add(r.scan_ev, &tv);
	event_base_dispatch(r.base);

	event_free(r.scan_ev);
	event_free(r.exit_ev);
	event_free(r.defer_ev);
	event_free(r.unlink_ev);
	event_free(r.sync_ev);
	if (r.ipc != NULL)
		ipc_free(r.ipc);
	router_free_tables(&r);	/* their events first */
	event_free(r.rerun_ev);
	router_wait_free(r.waits);
	event_base_free(r.base);
	spool_close(r.spool);
	router_recog_free(r.recog);
	router_notice_free(r.notice);
	cfg_free(r.cfg);
	return 0;
}
