/*
 * worker.h - the worker process (gatewayd-worker -n NAME)
 *
 * One worker per configured connector instance.  The parent process keeps
 * the queue state (a FIFO of ready jobs and a min-heap of deferred ones by
 * next attempt) and hands one job at a time to each of its delivery
 * children over a socketpair; a child claims the job, calls the connector
 * and writes the outcome to the spool.  A child that dies mid-job only
 * defers that job.
 */
#ifndef GW_WORKER_H
#define GW_WORKER_H

#define WORKER_EXIT_CONFIG	78	/* EX_CONFIG: the master does not restart */
#define WORKER_STOP_TIMEOUT	30	/* seconds to let children finish at shutdown */
#define WORKER_SCAN_INTERVAL	60	/* seconds between idle rescans of queue/ */
#define WORKER_DEFER_BATCH	256	/* jobs deferred per spool sync while suspended */
#define WORKER_CHILDREN_MAX	256	/* cap on concurrency */
#define WORKER_MIN_CHILDREN	1	/* delivery children kept when idle */
#define WORKER_TEMPLATE_NAME	"gatewayd-templ"	/* the children's template */

#include <stdint.h>

struct cfg;
struct cfg_connector;
struct envelope;
struct envelope_rcpt;

/* When the parts of one attempt happened (microseconds since the epoch). */
struct worker_times {
	int64_t claimed;	/* the job claimed by a delivery child */
	int64_t handed;		/* handed to the connector (deliverer) */
	int64_t done;		/* its results back */
};

/* The wall clock in microseconds (worker_log.c). */
int64_t worker_now_us(void);
/* The delivery log line of a recipient (worker_log.c); t NULL: no call. */
void worker_log_rcpt(const char *name, const char *type,
    const struct envelope *, const struct envelope_rcpt *,
    const struct worker_times *t);
/* -C: load the connector and run its check(); an exit status (worker_check.c) */
int worker_check_run(const struct cfg *, const struct cfg_connector *);
/* Log why the settings are refused, tell the master, exit 78 (worker_check.c). */
void worker_refuse(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));

#endif
