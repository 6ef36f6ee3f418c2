/*
 * failover.c - re-route permanently failed recipients to the failover
 * connector of their rule (failover.h)
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bounce.h"
#include "cfg.h"
#include "failover.h"
#include "log.h"
#include "xmalloc.h"

/* failover_target - the connector rcpt fails over to now, or NULL */
static const char *
failover_target(const struct cfg *cfg, const char *from,
    const struct envelope *job, const struct envelope_rcpt *r)
{
	const char *to;
	char addr[512];

	if (r->state != RCPT_FAILED ||
	    (to = envelope_rcpt_param(r, FAILOVER_PARAM)) == NULL ||
	    envelope_rcpt_param(r, FAILOVER_PARAM_DONE) != NULL ||
	    envelope_rcpt_param(r, BOUNCE_PARAM_SENT) != NULL)
		return NULL;
	if (strcmp(to, from) != 0 && cfg_connector(cfg, to) != NULL &&
	    spool_name_valid(to))
		return to;
	log_clean(addr, sizeof(addr), r->addr, strlen(r->addr));
	log_warnx("%s: to=<%s>: failover connector '%.64s' is %s, bounced",
	    job->id, addr, to, strcmp(to, from) == 0 ? "this one" :
	    "not configured");
	return NULL;
}

/* failover_rename - rename the parameter old of r to name with value */
static void
failover_rename(struct envelope_rcpt *r, const char *old, const char *name,
    const char *value)
{
	if (envelope_rcpt_rename_param(r, old, name, value) == -1)
		envelope_rcpt_set_param(r, name, value);
}

/* failover_new_job - the job for connector to: header of job, no rcpts */
static void
failover_new_job(struct envelope *fo, const struct envelope *job,
    const char *to)
{
	struct envelope hdr = *job;	/* read by envelope_copy only */

	hdr.rcpt = NULL;
	hdr.nrcpt = 0;
	memset(fo, 0, sizeof(*fo));
	envelope_copy(fo, &hdr);
	envelope_put(fo, &fo->connector, xstrdup(to));
	envelope_put(fo, &fo->last_error, NULL);
	fo->attempts = 0;
	fo->next_attempt = 0;
}

/* failover_add_rcpt - a pending copy of r (failover -> failover-from) */
static void
failover_add_rcpt(struct envelope *fo, const struct envelope_rcpt *r,
    const char *from)
{
	struct envelope_rcpt *n = envelope_add_rcpt(fo, r->addr);
	size_t i;

	for (i = 0; i < r->nparams; i++)
		envelope_rcpt_set_param(n, r->params[i].name,
		    r->params[i].value);
	failover_rename(n, FAILOVER_PARAM, FAILOVER_PARAM_FROM, from);
}

/* failover_log - the line about a recipient handed over */
static void
failover_log(const struct envelope *job, const char *from,
    const struct envelope_rcpt *r, const char *done)
{
	char addr[512], text[1100];

	log_clean(addr, sizeof(addr), r->addr, strlen(r->addr));
	log_clean(text, sizeof(text), r->text ? r->text : "",
	    r->text ? strlen(r->text) : 0);
	log_info("%s: to=<%s>, connector=%s, status=failover to %s (%d %s %s), "
	    "attempts=%u", job->id, addr, from, done, r->code, r->status, text,
	    job->attempts);
}

/* failover_defer - the hand-off failed: defer r with the reason */
static void
failover_defer(const struct envelope *job, struct envelope_rcpt *r,
    const char *to, const char *err)
{
	char addr[512], *t;

	log_clean(addr, sizeof(addr), r->addr, strlen(r->addr));
	log_warnx("%s: to=<%s>: cannot fail over to %s (deferred): %s",
	    job->id, addr, to, err);
	r->state = RCPT_DEFERRED;
	r->code = 451;
	snprintf(r->status, sizeof(r->status), "4.3.0");
	xasprintf(&t, "failover to %s failed: %s", to, err);
	envelope_rcpt_put_text(r, t);
}

/* failover_one - hand every failed rcpt of job bound for to; -1 error */
static int
failover_one(struct spool *sp, const char *from, struct envelope *job,
    const char *to, const unsigned char *mine, char qid[SPOOL_QID_LEN + 1],
    size_t *deferred)
{
	char err[SPOOL_ERRLEN], done[SPOOL_NAME_MAX + SPOOL_QID_LEN + 8];
	struct envelope fo;
	size_t i;
	int rc;

	failover_new_job(&fo, job, to);
	for (i = 0; i < job->nrcpt; i++)
		if (mine[i])
			failover_add_rcpt(&fo, &job->rcpt[i], from);
	rc = spool_job_failover(sp, from, &fo, err, sizeof(err));
	if (strcmp(fo.id, job->id) == 0)
		snprintf(done, sizeof(done), "%s", to);
	else
		snprintf(done, sizeof(done), "%s as %s", to, fo.id);
	for (i = 0; i < job->nrcpt; i++) {
		if (!mine[i])
			continue;
		if (rc == -1) {
			failover_defer(job, &job->rcpt[i], to, err);
			if (deferred != NULL)
				(*deferred)++;
			continue;
		}
		failover_log(job, from, &job->rcpt[i], done);
		failover_rename(&job->rcpt[i], FAILOVER_PARAM,
		    FAILOVER_PARAM_DONE, done);
	}
	memcpy(qid, fo.id, SPOOL_QID_LEN + 1);
	envelope_clear(&fo);
	return rc;
}

/* failover_job - hand failed recipients to their failover connectors */
size_t
failover_job(const struct cfg *cfg, struct spool *sp, const char *from,
    struct envelope *job, struct failover_handoff *out, size_t max,
    size_t *deferred)
{
	char to[SPOOL_NAME_MAX], qid[SPOOL_QID_LEN + 1], **tgt;
	unsigned char *mine;
	const char *t;
	size_t i, j, n = 0;

	if (deferred != NULL)
		*deferred = 0;
	if (job->nrcpt == 0)
		return 0;
	tgt = xcalloc(job->nrcpt, sizeof(*tgt));
	mine = xcalloc(job->nrcpt, 1);
	for (i = 0; i < job->nrcpt; i++)
		if ((t = failover_target(cfg, from, job, &job->rcpt[i])) != NULL)
			tgt[i] = xstrdup(t);
	for (i = 0; i < job->nrcpt; i++) {
		if (tgt[i] == NULL)
			continue;
		snprintf(to, sizeof(to), "%s", tgt[i]);
		/* every failed rcpt bound for the same connector: one job */
		for (j = i; j < job->nrcpt; j++) {
			mine[j] = tgt[j] != NULL && strcmp(tgt[j], to) == 0;
			if (mine[j]) {
				free(tgt[j]);
				tgt[j] = NULL;
			}
		}
		if (failover_one(sp, from, job, to, mine, qid,
		    deferred) == 0 && n < max && out != NULL) {
			snprintf(out[n].connector, sizeof(out[n].connector),
			    "%s", to);
			memcpy(out[n].qid, qid, sizeof(out[n].qid));
			n++;
		}
		memset(mine, 0, job->nrcpt);
	}
	free(tgt);
	free(mine);
	return n;
}
