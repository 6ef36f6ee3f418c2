/*
 * deliver.h - the deliverer: the connector's code in a process of its own
 *
 * See deliver.c.  Used by a worker's delivery child: it starts one
 * deliverer, hands it each job, and writes the results to the spool.
 */
#ifndef GW_DELIVER_H
#define GW_DELIVER_H

#include <stddef.h>
#include <sys/types.h>

#include <gatewayd/connector.h>

#include "capi.h"
#include "envelope.h"

struct deliverer {
	pid_t pid;
	int fd;		/* socket to it; -1 when not running */
};

/*
 * Fork the deliverer.  It keeps only the descriptors 0-2, its socket and
 * keep[] (what the connector's init() opened), puts the Landlock ruleset
 * hide in force (landlock_ruleset() made it from the spool while root;
 * -1: none), and serves jobs until its socket closes, then calls the
 * connector's fini().  The caller becomes non-dumpable.  0, or -1
 * (logged).
 */
int deliverer_start(struct deliverer *, const struct gw_connector *,
    void *ctx, const int *keep, size_t nkeep, int hide);
/*
 * Deliver a job: env is the loaded job, job its connector view made with
 * capi_job_init(env, datafd, off).  On 0 every recipient of job carries
 * the connector's result.  On -1 the deliverer died or answered wrongly:
 * it is stopped (start another), and err says why ("connector crashed:
 * killed by signal 11").
 */
int deliverer_call(struct deliverer *, struct capi_job *job,
    const struct envelope *env, int datafd, off_t off, char *err,
    size_t errlen);
/* Stop it (SIGKILL, reap); its wait status in *status when not NULL. */
void deliverer_stop(struct deliverer *, int *status);

#endif
