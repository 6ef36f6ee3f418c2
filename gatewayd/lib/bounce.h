/*
 * bounce.h - delivery status notifications (RFC 3464) from job envelopes
 *
 * After each attempt the worker (and the router, for recipients it could
 * not route) asks bounce_job() whether a recipient now needs a DSN: a
 * permanent failure (NOTIFY absent or with FAILURE), a success (NOTIFY
 * with SUCCESS), or a delay past delay_warning (NOTIFY absent or with
 * DELAY).  One multipart/report message covers every such recipient of
 * the job; it is written into the spool from the null sender with a new
 * queue ID, committed (durable in incoming/), and the recipients are
 * marked "param dsn-sent <action>" so none is reported twice.  Mail from
 * the null sender is never bounced: its failures go to the postmaster
 * (when configured, headers only, and never when the postmaster is the
 * failed recipient) or are dropped with a log line.  A failed recipient
 * handed to its failover connector ("param failed-over", failover.h) gets
 * no notice from this job.
 */
#ifndef GW_BOUNCE_H
#define GW_BOUNCE_H

#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#include "envelope.h"
#include "spool.h"

#define BOUNCE_PARAM_SENT	"dsn-sent"
#define BOUNCE_PARAM_NOTIFY	"notify"
#define BOUNCE_PARAM_ORCPT	"orcpt"
#define BOUNCE_PARAM_FAILED_OVER "failed-over"	/* failover.h: no notice */

enum bounce_action {
	BOUNCE_NONE = 0,
	BOUNCE_DELAYED,
	BOUNCE_FAILED,
	BOUNCE_DELIVERED
};

struct bounce_opts {
	const char *hostname;		/* Reporting-MTA and From: domain */
	const char *postmaster;		/* NULL: null-sender failures are dropped */
	time_t delay_warning;		/* 0: no delay notices */
	time_t lifetime;		/* for Will-Retry-Until; 0 unknown */
	const char *success_action;	/* "relayed" or "delivered" */
};

/* Where the composer writes; returns 0, -1 on a write error. */
typedef int (*bounce_write_fn)(void *arg, const void *buf, size_t len);

/*
 * Which action each recipient of job needs now (actions[i]); returns the
 * number of recipients to report.
 */
size_t bounce_select(const struct bounce_opts *, const struct envelope *job,
    time_t now, enum bounce_action *actions);
/*
 * Write the DSN message (headers and body, CRLF line ends) for the
 * recipients with an action, to address to, with queue ID qid; the
 * original comes from datafd at off (full message, or only its header).
 */
int bounce_compose(const struct bounce_opts *, const struct envelope *job,
    const enum bounce_action *actions, const char *to, const char *qid,
    int datafd, off_t off, int full, time_t now, bounce_write_fn, void *arg);
/*
 * Report what is due for job (recipients marked on success).  Returns 1
 * when a DSN was committed (its queue ID in dsn), 0 when nothing had to
 * be sent (or it was dropped), -1 when the DSN could not be written (err;
 * nothing marked: the caller keeps the job and tries again later).
 */
int bounce_job(const struct bounce_opts *, struct spool *, struct envelope *job,
    int datafd, off_t off, time_t now, char dsn[SPOOL_QID_LEN + 1],
    char *err, size_t errlen);
/*
 * A job kept in state from (failed/) of connector: claim it, report it,
 * remove it.  Returns 1 with dsn, 0 (removed, nothing sent), -1 (left or
 * put back in failed/, err says why).
 */
int bounce_failed_job(const struct bounce_opts *, struct spool *,
    const char *connector, const char *qid, enum spool_state from,
    char dsn[SPOOL_QID_LEN + 1], char *err, size_t errlen);

#endif
