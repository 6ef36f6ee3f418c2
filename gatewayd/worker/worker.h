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

#endif
