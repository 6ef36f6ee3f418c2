/*
 * failover.h - a rule's failover connector after a permanent failure
 *
 * The router gives a recipient of a rule with "failover: NAME" the
 * parameter failover=NAME (rules.h).  When that recipient fails
 * permanently (a 5xx from the connector, or its lifetime ran out), the
 * worker does not bounce it: failover_job() writes a new job for NAME
 * with those recipients and the same message (spool_job_failover), and
 * marks them in the old job with "failed-over" (bounce.c sends no notice
 * for them).  The new job's recipients carry "failover-from" instead of
 * "failover", so a failover happens once: if NAME fails too, the sender
 * gets the bounce from NAME's worker.
 */
#ifndef GW_FAILOVER_H
#define GW_FAILOVER_H

#include <stddef.h>

#include "bounce.h"
#include "envelope.h"
#include "spool.h"

struct cfg;

#define FAILOVER_PARAM		"failover"	/* set by the router */
#define FAILOVER_PARAM_DONE	BOUNCE_PARAM_FAILED_OVER /* "NAME" or "NAME as QID" */
#define FAILOVER_PARAM_FROM	"failover-from"	/* on the new job's rcpts */
#define FAILOVER_MAX		4		/* hand-offs a job reports */

/* A job written for another connector (its worker must be told). */
struct failover_handoff {
	char connector[SPOOL_NAME_MAX];
	char qid[SPOOL_QID_LEN + 1];
};

/*
 * Hand the failed recipients of job (an active job of connector from)
 * that carry a failover connector to it: one new job per connector.  A
 * recipient whose connector is unknown or from itself stays failed (it is
 * bounced); one whose job cannot be written is deferred with the reason
 * (451 4.3.0), so that the hand-off is tried again.  Fills at most max
 * hand-offs into out and returns their number; *deferred (may be NULL)
 * gets the number of recipients deferred.  Logs each hand-off.
 */
size_t failover_job(const struct cfg *, struct spool *, const char *from,
    struct envelope *job, struct failover_handoff *out, size_t max,
    size_t *deferred);

#endif
