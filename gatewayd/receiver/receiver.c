/*
 * receiver.c - gatewayd-receiver: the SMTP receiver process
 *
 * Start-up order (proc.h): load the configuration from the master, open
 * the spool, then drop privileges (chroot into the spool when root), then
 * listen on the sockets the master bound (fds PROC_FD_LISTEN..).  Sessions
 * live in receiver_session.c; this file owns the listeners, the link to
 * the master and the group-commit thread.
 *
 * Group commit: a session that reached the end of DATA is parked and its
 * spool_msg queued here.  The commit thread takes everything queued so
 * far as one batch, calls spool_commit() once, and hands the results back
 * through a pipe the loop watches.  The loop answers each session (never
 * 250 before the commit said ok) and sends IPC_MSG_NEW for the batch.
 *
 * Gathering: a sync costs about the same for one message as for twenty,
 * so before it the thread waits for sessions that are inside a
 * transaction (MAIL accepted, their message not submitted yet), until
 * they have all submitted, the batch holds RECEIVER_GATHER_MAX messages,
 * or the oldest message of the batch has waited RECEIVER_GATHER_US since
 * its submission (time spent behind the previous sync counts).  A lone
 * session never waits: its transaction ended when it submitted.  A 250
 * still follows the batch's sync, as before.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "cfg.h"
#include "ipc.h"
#include "log.h"
#include "proc.h"
#include "receiver.h"
#include "receiver_auth.h"
#include "receiver_dns.h"
#include "receiver_limits.h"
#include "receiver_session.h"
#include "receiver_tls.h"
#include "sandbox.h"
#include "spool.h"
#include "stats.h"
#include "xmalloc.h"

#define RECEIVER_TICK_MS	100	/* shutdown progress check */
#define RECEIVER_GATHER_US	1000	/* longest wait of a message for others */
#define RECEIVER_GATHER_MAX	64	/* a batch this big goes at once */

struct receiver_commit {
	struct receiver_commit *next;
	struct rsession *session;
	struct spool_msg *msg;
	char qid[SPOOL_QID_LEN + 1];
	struct timespec submitted;	/* CLOCK_MONOTONIC */
	int ok;
};

static void receiver_stop_listening(struct receiver *);

/* receiver_commit_batch - commit one batch (commit thread) */
static void
receiver_commit_batch(struct receiver *r, struct receiver_commit *batch)
{
	struct receiver_commit *c;
	struct spool_msg **msgs;
	size_t n = 0, i;
	int *ok;

	for (c = batch; c != NULL; c = c->next)
		n++;
	msgs = xcalloc(n, sizeof(*msgs));
	ok = xcalloc(n, sizeof(*ok));
	for (i = 0, c = batch; c != NULL; c = c->next, i++)
		msgs[i] = c->msg;
	spool_commit(r->spool, msgs, n, ok);
	for (i = 0, c = batch; c != NULL; c = c->next, i++) {
		c->msg = NULL;		/* spool_commit freed it */
		c->ok = ok[i];
	}
	free(msgs);
	free(ok);
}

/* receiver_commit_gather - wait for open transactions (lock held) */
static void
receiver_commit_gather(struct receiver *r)
{
	struct timespec until = r->queue->submitted;

	until.tv_nsec += RECEIVER_GATHER_US * 1000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	while (!r->stop && r->nqueued < RECEIVER_GATHER_MAX &&
	    atomic_load_explicit(&r->open_tx, memory_order_relaxed) > 0)
		if (pthread_cond_timedwait(&r->cond, &r->lock, &until) ==
		    ETIMEDOUT)
			break;
}

/* receiver_commit_main - the commit thread: take all, commit, hand back */
static void *
receiver_commit_main(void *arg)
{
	struct receiver *r = arg;
	struct receiver_commit *batch, *last;
	ssize_t n;

	pthread_mutex_lock(&r->lock);
	for (;;) {
		while (r->queue == NULL && !r->stop)
			pthread_cond_wait(&r->cond, &r->lock);
		if (r->queue == NULL)
			break;
		receiver_commit_gather(r);
		batch = r->queue;
		r->queue = NULL;
		r->queue_tail = &r->queue;
		r->nqueued = 0;
		pthread_mutex_unlock(&r->lock);

		receiver_commit_batch(r, batch);

		pthread_mutex_lock(&r->lock);
		for (last = batch; last->next != NULL; last = last->next)
			;
		*r->done_tail = batch;
		r->done_tail = &last->next;
		pthread_mutex_unlock(&r->lock);
		/* a full pipe already holds a wake-up: EAGAIN is fine */
		do {
			n = write(r->wake[1], "c", 1);
		} while (n == -1 && errno == EINTR);
		pthread_mutex_lock(&r->lock);
	}
	pthread_mutex_unlock(&r->lock);
	return NULL;
}

/* receiver_commit_submit - queue a finished message (see receiver.h) */
void
receiver_commit_submit(struct receiver *r, struct rsession *s,
    struct spool_msg *msg)
{
	struct receiver_commit *c = xcalloc(1, sizeof(*c));

	c->session = s;
	c->msg = msg;
	snprintf(c->qid, sizeof(c->qid), "%s", spool_msg_id(msg));
	clock_gettime(CLOCK_MONOTONIC, &c->submitted);
	r->inflight++;
	pthread_mutex_lock(&r->lock);
	*r->queue_tail = c;
	r->queue_tail = &c->next;
	r->nqueued++;
	pthread_cond_signal(&r->cond);
	pthread_mutex_unlock(&r->lock);
}

/* receiver_tx_open - a session's transaction began (receiver.h) */
void
receiver_tx_open(struct receiver *r, int *counted)
{
	if (*counted)
		return;
	*counted = 1;
	atomic_fetch_add_explicit(&r->open_tx, 1, memory_order_relaxed);
}

/* receiver_tx_close - it was submitted or reset (receiver.h) */
void
receiver_tx_close(struct receiver *r, int *counted)
{
	if (!*counted)
		return;
	*counted = 0;
	atomic_fetch_sub_explicit(&r->open_tx, 1, memory_order_relaxed);
}

/*
 * receiver_synced - tell the router when the last sync of the spool that
 * worked started (IPC_SYNCED): the jobs it wrote before that are on disk
 * too, and it need not sync them itself (spool_synced)
 */
static void
receiver_synced(struct receiver *r)
{
	struct timespec ts;
	char buf[48];
	const char *strv[2] = { buf, NULL };

	if (spool_last_sync(r->spool, &ts) == -1 ||
	    (ts.tv_sec == r->synced_sent.tv_sec &&
	    ts.tv_nsec == r->synced_sent.tv_nsec))
		return;
	if (ipc_synced_format(buf, sizeof(buf), &ts) == -1 ||
	    ipc_send_strings(r->ipc, IPC_SYNCED, strv) == -1) {
		log_warnx("cannot send SYNCED to the master");
		return;
	}
	r->synced_sent = ts;
}

/* receiver_notify - IPC_MSG_NEW for the committed qids, split into frames */
static void
receiver_notify(struct receiver *r, struct receiver_commit *list)
{
	const char *strv[IPC_MAX_STRINGS + 1];
	struct receiver_commit *c;
	size_t n = 0, bytes = 0;

	receiver_synced(r);
	for (c = list; c != NULL; c = c->next) {
		size_t len = strlen(c->qid) + 1;

		if (!c->ok)
			continue;
		if (n == IPC_MAX_STRINGS || bytes + len > IPC_MAX_PAYLOAD) {
			strv[n] = NULL;
			if (ipc_send_strings(r->ipc, IPC_MSG_NEW, strv) == -1)
				log_warnx("cannot send MSG_NEW to the master");
			n = 0;
			bytes = 0;
		}
		strv[n++] = c->qid;
		bytes += len;
		receiver_count(r, "received");
	}
	if (n > 0) {
		strv[n] = NULL;
		if (ipc_send_strings(r->ipc, IPC_MSG_NEW, strv) == -1)
			log_warnx("cannot send MSG_NEW to the master");
	}
}

/* receiver_wake_cb - results from the commit thread: answer the sessions */
static void
receiver_wake_cb(evutil_socket_t fd, short what, void *arg)
{
	struct receiver *r = arg;
	struct receiver_commit *list, *c, *next;
	char buf[256];

	while (read(fd, buf, sizeof(buf)) > 0)
		;
	pthread_mutex_lock(&r->lock);
	list = r->done;
	r->done = NULL;
	r->done_tail = &r->done;
	pthread_mutex_unlock(&r->lock);
	if (list == NULL)
		return;
	receiver_notify(r, list);
	for (c = list; c != NULL; c = next) {
		next = c->next;
		r->inflight--;
		rsession_committed(c->session, c->qid, c->ok);
		free(c);
	}
	receiver_session_gone(r);
}

/* receiver_commit_start - the thread and its wake-up pipe */
static void
receiver_commit_start(struct receiver *r)
{
	pthread_condattr_t ca;
	sigset_t all, old;
	int e;

	if (pipe2(r->wake, O_NONBLOCK | O_CLOEXEC) == -1)
		fatal("pipe");
	r->queue_tail = &r->queue;
	r->done_tail = &r->done;
	if ((e = pthread_mutex_init(&r->lock, NULL)) != 0 ||
	    (e = pthread_condattr_init(&ca)) != 0 ||
	    (e = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC)) != 0 ||
	    (e = pthread_cond_init(&r->cond, &ca)) != 0) {
		errno = e;
		fatal("pthread init");
	}
	pthread_condattr_destroy(&ca);
	r->wake_ev = event_new(r->base, r->wake[0], EV_READ | EV_PERSIST,
	    receiver_wake_cb, r);
	if (r->wake_ev == NULL || event_add(r->wake_ev, NULL) == -1)
		fatalx("cannot watch the commit pipe");
	/* signals belong to the loop thread */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	if ((e = pthread_create(&r->thread, NULL, receiver_commit_main, r)) != 0) {
		errno = e;
		fatal("pthread_create");
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

/* receiver_commit_stop - let the thread finish its queue and join it */
static void
receiver_commit_stop(struct receiver *r)
{
	pthread_mutex_lock(&r->lock);
	r->stop = 1;
	pthread_cond_signal(&r->cond);
	pthread_mutex_unlock(&r->lock);
	pthread_join(r->thread, NULL);
}

/* receiver_shutdown_tick - exit when idle; force sessions after the grace */
static void
receiver_shutdown_tick(evutil_socket_t fd, short what, void *arg)
{
	struct receiver *r = arg;

	r->shutdown_ticks++;
	if (r->shutdown_ticks == RECEIVER_SHUTDOWN_GRACE * 1000 /
	    RECEIVER_TICK_MS && r->nsessions > 0) {
		log_warnx("shutdown: closing %zu session(s) still open after "
		    "%d s", r->nsessions, RECEIVER_SHUTDOWN_GRACE);
		rsession_shutdown_all(r, 1);
	}
	receiver_session_gone(r);
}

/* receiver_shutdown - stop accepting, let open transactions finish */
static void
receiver_shutdown(struct receiver *r, const char *why)
{
	struct timeval tv = { 0, RECEIVER_TICK_MS * 1000 };

	if (r->shutting_down)
		return;
	r->shutting_down = 1;
	log_info("shutting down (%s): %zu session(s) open", why, r->nsessions);
	receiver_stop_listening(r);
	r->shutdown_ev = event_new(r->base, -1, EV_PERSIST,
	    receiver_shutdown_tick, r);
	if (r->shutdown_ev == NULL || event_add(r->shutdown_ev, &tv) == -1)
		fatalx("cannot arm the shutdown timer");
	rsession_shutdown_all(r, 0);
	receiver_session_gone(r);
}

static struct stats receiver_stats;
static struct event *receiver_stats_ev;

/* receiver_stats_flush - send the counter deltas to the master */
static void
receiver_stats_flush(evutil_socket_t fd, short what, void *arg)
{
	struct receiver *r = arg;
	const char *strv[64];
	char buf[4096];

	(void)fd;
	(void)what;
	while (r->ipc != NULL && stats_encode(&receiver_stats, buf, sizeof(buf),
	    strv, 64) > 0)
		if (ipc_send_strings(r->ipc, IPC_RECV_STATS, strv) == -1)
			break;
}

/* receiver_session_gone - at shutdown, leave the loop once all is done */
void
receiver_session_gone(struct receiver *r)
{
	if (!r->shutting_down || r->nsessions > 0 || r->inflight > 0)
		return;
	/* the counters of the last second go too (a reload keeps them) */
	receiver_stats_flush(-1, 0, r);
	/* the last MSG_NEW must reach the master before we go */
	if (r->ipc != NULL && ipc_pending(r->ipc) > 0 &&
	    r->shutdown_ticks < (RECEIVER_SHUTDOWN_GRACE + 5) * 1000 /
	    RECEIVER_TICK_MS)
		return;
	event_base_loopexit(r->base, NULL);
}

/* receiver_count - count an event; flushed within a second */
void
receiver_count(struct receiver *r, const char *key)
{
	struct timeval tv = { 1, 0 };

	(void)stats_add(&receiver_stats, key, 1);
	if (receiver_stats_ev == NULL &&
	    (receiver_stats_ev = evtimer_new(r->base, receiver_stats_flush,
	    r)) == NULL)
		return;
	if (!evtimer_pending(receiver_stats_ev, NULL))
		evtimer_add(receiver_stats_ev, &tv);
}

/* receiver_count_reply - "reject.<code>[.<x.y.z>]" for a 4xx/5xx reply */
void
receiver_count_reply(struct receiver *r, struct evbuffer *out, size_t off)
{
	char line[24], key[40];
	struct evbuffer_ptr p;
	ssize_t n;
	size_t i;

	if (evbuffer_ptr_set(out, &p, off, EVBUFFER_PTR_SET) == -1 ||
	    (n = evbuffer_copyout_from(out, &p, line, sizeof(line) - 1)) < 3)
		return;
	line[n] = '\0';
	if ((line[0] != '4' && line[0] != '5') || line[3] == '-' || line[1] < '0' ||
	    line[1] > '9' || line[2] < '0' || line[2] > '9')
		return;
	for (i = 4; line[3] == ' ' && i < (size_t)n &&
	    ((line[i] >= '0' && line[i] <= '9') || line[i] == '.'); i++)
		;
	if (i > 8 && line[4] == line[0] && line[5] == '.')
		snprintf(key, sizeof(key), "reject.%.3s.%.*s", line,
		    (int)(i - 4), line + 4);
	else
		snprintf(key, sizeof(key), "reject.%.3s", line);
	while (key[strlen(key) - 1] == '.')
		key[strlen(key) - 1] = '\0';
	if (!stats_key_known(key))	/* the master would refuse the frame */
		snprintf(key, sizeof(key), "reject.%.3s", line);
	receiver_count(r, key);
}

/* receiver_ipc - a frame from the master */
static void
receiver_ipc(struct ipc *ipc, const struct ipc_frame *f, void *arg)
{
	struct receiver *r = arg;
	const char *sv[5];

	switch (f->type) {
	case IPC_RCPT_ANSWER:
		rrcpt_answer(r, sv, ipc_strings(f, sv, 5));
		break;
	case IPC_SHUTDOWN:
		receiver_shutdown(r, "master request");
		break;
	case IPC_PAUSE:
	case IPC_RESUME:
		r->paused = f->type == IPC_PAUSE;
		log_info("receiving %s by the operator", r->paused ? "paused" :
		    "resumed");
		break;
	default:
		fatalx("unexpected %s from the master", ipc_type_name(f->type));
	}
}

/* receiver_ipc_closed - the master went away: nothing to live for */
static void
receiver_ipc_closed(struct ipc *ipc, void *arg)
{
	log_warnx("master socket closed: exiting");
	exit(0);
}

/* receiver_signal - SIGTERM/SIGINT by hand: same as a master shutdown */
static void
receiver_signal(evutil_socket_t sig, short what, void *arg)
{
	receiver_shutdown(arg, sig == SIGTERM ? "SIGTERM" : "SIGINT");
}

/* receiver_accept - a new connection on a listener */
static void
receiver_accept(struct evconnlistener *lev, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct receiver_listener *l = arg;
	struct receiver *r = l->rcv;
	static const char busy[] = "421 4.3.2 Too many connections, try again later\r\n";
	char ip[64];
	ssize_t n;

	/* close-on-exec already: LEV_OPT_CLOSE_ON_EXEC accepts with SOCK_CLOEXEC */
	if (r->paused) {
		static const char paused[] = "421 4.3.2 Service paused, try "
		    "again later\r\n";

		(void)!write(fd, paused, sizeof(paused) - 1);
		close(fd);
		receiver_count(r, "connections_refused");
		receiver_count(r, "reject.421.4.3.2");
		log_info("reject: connect from [%s]: receiving paused",
		    net_ntop(sa, ip, sizeof(ip)));
		return;
	}
	receiver_count(r, "connections");
	if (r->shutting_down || r->nsessions >= r->cfg->smtp.max_sessions) {
		n = write(fd, busy, sizeof(busy) - 1);
		(void)n;
		close(fd);
		log_info("reject: connect from [%s]: too many sessions (%zu)",
		    net_ntop(sa, ip, sizeof(ip)), r->nsessions);
		return;
	}
	rsession_new(r, fd, sa, salen, l, NULL);
}

/* receiver_accept_retry - re-enable a listener after a pause */
static void
receiver_accept_retry(evutil_socket_t fd, short what, void *arg)
{
	struct receiver_listener *l = arg;

	if (l->lev != NULL)
		evconnlistener_enable(l->lev);
}

/* receiver_accept_error - accept failed (EMFILE...): pause one second */
static void
receiver_accept_error(struct evconnlistener *lev, void *arg)
{
	struct receiver_listener *l = arg;
	struct timeval tv = { 1, 0 };
	int e = EVUTIL_SOCKET_ERROR();

	errno = e;
	log_warn("accept on listener %s", l->name);
	evconnlistener_disable(lev);
	evtimer_add(l->retry_ev, &tv);
}

/* receiver_listen - wrap the inherited listening sockets */
static void
receiver_listen(struct receiver *r, int nlisteners)
{
	size_t i;

	if (nlisteners < 1 || (size_t)nlisteners > r->cfg->nlisteners)
		fatalx("%d listening socket(s) passed for %zu configured",
		    nlisteners, r->cfg->nlisteners);
	r->nlisteners = (size_t)nlisteners;
	r->listeners = xcalloc(r->nlisteners, sizeof(*r->listeners));
	for (i = 0; i < r->nlisteners; i++) {
		struct receiver_listener *l = &r->listeners[i];
		int fd = PROC_FD_LISTEN + (int)i;

		l->rcv = r;
		l->name = r->cfg->listeners[i].name;
		l->cfg = &r->cfg->listeners[i];
		l->ssl_ctx = r->tls_ctx[i];
		if (evutil_make_socket_nonblocking(fd) == -1)
			fatal("listening socket %d", fd);
		/* backlog 0: already listening with the configured backlog */
		l->lev = evconnlistener_new(r->base, receiver_accept, l,
		    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 0, fd);
		if (l->lev == NULL)
			fatalx("cannot listen on descriptor %d", fd);
		evconnlistener_set_error_cb(l->lev, receiver_accept_error);
		l->retry_ev = evtimer_new(r->base, receiver_accept_retry, l);
		if (l->retry_ev == NULL)
			fatalx("evtimer_new");
	}
}

/* receiver_stop_listening - close the listeners (the master keeps its copy) */
static void
receiver_stop_listening(struct receiver *r)
{
	size_t i;

	for (i = 0; i < r->nlisteners; i++) {
		struct receiver_listener *l = &r->listeners[i];

		if (l->lev != NULL)
			evconnlistener_free(l->lev);
		l->lev = NULL;
		if (l->retry_ev != NULL)
			event_free(l->retry_ev);
		l->retry_ev = NULL;
	}
}

/* receiver_tls_load - the TLS contexts, read while still privileged */
static void
receiver_tls_load(struct receiver *r)
{
	size_t i;

	r->tls_ctx = xcalloc(r->cfg->nlisteners, sizeof(*r->tls_ctx));
	for (i = 0; i < r->cfg->nlisteners; i++)
		if (r->cfg->listeners[i].tls != CFG_TLS_NONE)
			r->tls_ctx[i] = receiver_tls_ctx(&r->cfg->listeners[i]);
}

/*
 * receiver_auth_load - SASL, when a listener offers AUTH; nonzero when
 * the receiver must not chroot: sasldb and saslauthd live outside the
 * spool and are opened at each authentication
 */
static int
receiver_auth_load(struct receiver *r)
{
	size_t i;

	for (i = 0; i < r->cfg->nlisteners; i++)
		if (r->cfg->listeners[i].auth)
			break;
	if (i == r->cfg->nlisteners)
		return 0;
	if (rauth_init(r->cfg) == -1) {
		log_warnx("SMTP AUTH is not available: not offered");
		return 0;
	}
	r->auth_ready = 1;
	if (geteuid() == 0)
		log_info("AUTH is enabled: the receiver is not chrooted (the "
		    "SASL %s is outside the spool)", r->cfg->sasl.backend ==
		    CFG_SASL_SASLDB ? "database" : "saslauthd socket");
	return 1;
}

/*
 * receiver_dns_load - the resolver for the FCrDNS of clients, when a host
 * name in relay.allow or an anonymous_allow needs it: set up before the
 * chroot (resolv.conf, UDP sockets)
 */
static void
receiver_dns_load(struct receiver *r)
{
	int need = r->cfg->relay.allow.nnames > 0;
	size_t i;

	for (i = 0; i < r->cfg->nlisteners; i++)
		if (r->cfg->listeners[i].anonymous_allow.nnames > 0)
			need = 1;
	if (need)
		(void)rdns_init(r->base, &r->cfg->dns);
}

/* receiver_signals - graceful stop on SIGTERM/SIGINT */
static void
receiver_signals(struct receiver *r)
{
	static const int sigs[] = { SIGTERM, SIGINT };
	size_t i;

	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		struct event *ev = evsignal_new(r->base, sigs[i],
		    receiver_signal, r);

		if (ev == NULL || event_add(ev, NULL) == -1)
			fatalx("cannot watch signal %d", sigs[i]);
	}
}

int
main(int argc, char **argv)
{
	static struct receiver rcv;
	struct receiver *r = &rcv;
	struct proc_opts opts;
	char err[SPOOL_ERRLEN];

	r->cfg = proc_child_init(argc, argv, "receiver", &opts);
	r->paused = opts.paused;	/* -P: the master's pause state */
	TAILQ_INIT(&r->sessions);
	r->hostname = r->cfg->smtp.hostname;
	signal(SIGPIPE, SIG_IGN);
	tzset();

	/* the queue's group may read and link what it writes (spool_prepare) */
	umask(007);
	/* privileged part: everything that needs a path outside the spool */
	r->spool = spool_open(r->cfg->spool, 0, (uid_t)-1, (gid_t)-1, err,
	    sizeof(err));
	if (r->spool == NULL)
		fatalx("spool %s: %s", r->cfg->spool, err);
	r->base = proc_event_base();
	receiver_tls_load(r);
	receiver_dns_load(r);
	rlimits_init(r);
	/* its own user: the queue's directories are not the receiver's */
	proc_drop_privileges(r->cfg->receiver_user, receiver_auth_load(r) ?
	    NULL : r->cfg->spool);

	receiver_commit_start(r);
	receiver_listen(r, opts.nlisteners);
	receiver_web_start(r, PROC_FD_HANDOFF(opts.nlisteners));
	receiver_signals(r);
	r->ipc = ipc_new(r->base, PROC_FD_IPC, receiver_ipc,
	    receiver_ipc_closed, r);
	sandbox_enter(SANDBOX_RECEIVER, r->cfg->sandbox, 0);
	if (ipc_send(r->ipc, IPC_READY, NULL, 0) == -1)
		fatalx("cannot send READY");
	log_info("ready: %zu listener(s), hostname %s, gatewayd %s",
	    r->nlisteners, r->hostname, PACKAGE_VERSION);

	event_base_dispatch(r->base);

	receiver_commit_stop(r);
	log_info("stopped");
	return 0;
}
