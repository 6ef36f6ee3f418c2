/*
 * receiver.h - the receiver process (gatewayd-receiver)
 *
 * One process, one libevent loop, many SMTP sessions (receiver_session.c).
 * A finished message is handed to the commit thread, which makes every
 * message finished since its last round durable with one spool_commit();
 * the loop then answers each session and tells the master (IPC_MSG_NEW).
 */
#ifndef GW_RECEIVER_H
#define GW_RECEIVER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <sys/queue.h>
#include <time.h>

struct event;
struct event_base;
struct evbuffer;
struct evconnlistener;
struct cfg;
struct ipc;
struct spool;
struct spool_msg;
struct rsession;
struct receiver_commit;

#define RECEIVER_SHUTDOWN_GRACE	30	/* seconds open sessions get at shutdown */

struct receiver_listener {
	struct receiver *rcv;
	struct evconnlistener *lev;
	const char *name;		/* cfg listener name */
	const struct cfg_listener *cfg;
	struct ssl_ctx_st *ssl_ctx;	/* SSL_CTX, NULL when tls is none */
	struct event *retry_ev;		/* re-enable after an accept error */
	int web;			/* the pseudo-listener of web submissions */
};

struct receiver {
	struct event_base *base;
	struct cfg *cfg;
	struct spool *spool;
	struct ipc *ipc;
	struct timespec synced_sent;	/* the last IPC_SYNCED time sent */
	const char *hostname;
	int auth_ready;			/* SASL initialised: AUTH can be offered */

	struct receiver_listener *listeners;
	size_t nlisteners;
	struct ssl_ctx_st **tls_ctx;	/* per configured listener, NULL if no TLS */
	/* web submissions (receiver_web.c): their socket and pseudo-listener */
	struct event *web_ev;
	struct receiver_listener web_listener;
	struct cfg_listener *web_lcfg;

	TAILQ_HEAD(rsession_list, rsession) sessions;
	size_t nsessions;

	int shutting_down;
	int paused;			/* gatewayctl pause receive: answer 421 */
	struct event *shutdown_ev;	/* periodic check while stopping */
	unsigned int shutdown_ticks;

	/* group commit: loop -> thread (queue), thread -> loop (done) */
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct receiver_commit *queue, **queue_tail;
	struct receiver_commit *done, **done_tail;
	int stop;
	int wake[2];			/* pipe: the thread wakes the loop */
	struct event *wake_ev;
	size_t inflight;		/* submitted, result not yet handled */
	size_t nqueued;			/* in queue (under lock) */
	/*
	 * Sessions inside a transaction (MAIL accepted, the message not yet
	 * submitted): the commit thread waits a little for them before a
	 * sync (receiver.c, gathering); changed by the loop only.
	 */
	atomic_uint open_tx;
};

/* Queue a finished message for the next group commit (the session is parked). */
void receiver_commit_submit(struct receiver *, struct rsession *,
    struct spool_msg *);
/*
 * A session's transaction opened (MAIL accepted) or ended (submitted for
 * the commit, or reset); both idempotent per session.
 */
void receiver_tx_open(struct receiver *, int *counted);
void receiver_tx_close(struct receiver *, int *counted);
/* Count an event (stats.h key); the deltas go to the master within a second. */
void receiver_count(struct receiver *, const char *key);
/* Count the reply queued in out after offset off when it is a 4xx/5xx. */
void receiver_count_reply(struct receiver *, struct evbuffer *out, size_t off);
/*
 * receiver_web.c: take web submissions from the hand-off socket fd (a
 * closed descriptor: none), each a session on the listener "web".
 */
void receiver_web_start(struct receiver *, int fd);
/* A session was freed: at shutdown, maybe it was the last one. */
void receiver_session_gone(struct receiver *);

#endif
