/*
 * capi.h - the worker's side of the connector API (gw_* functions)
 *
 * The worker turns a job envelope into what a connector sees (struct
 * gw_envelope, one struct gw_rcpt per recipient still to deliver, a
 * struct gw_message reading the spooled data), calls the connector, and
 * copies the results back into the envelope.
 */
#ifndef GW_CAPI_H
#define GW_CAPI_H

#include <stddef.h>
#include <sys/types.h>

#include <gatewayd/connector.h>

#include "envelope.h"

#define CAPI_TEXT_MAX	512		/* result text cap, in bytes */

struct gw_rcpt {
	struct envelope_rcpt *rcpt;	/* the job's recipient */
	enum gw_result result;
	int code;
	char status[16];
	char text[CAPI_TEXT_MAX + 1];
	int dsn_passed;			/* gw_rcpt_dsn_passed() was called */
};

struct gw_message {
	int fd;				/* read-only, not owned */
	off_t start;			/* offset of the first message byte */
	off_t size;			/* message bytes, -1 = up to end of file */
	off_t pos;			/* read position from start */
};

struct capi_job {
	struct gw_envelope env;
	struct gw_message msg;
	struct gw_rcpt *rcpts;
	struct gw_rcpt **rcptv;
	size_t nrcpt;
};

/*
 * Build the connector's view of a job: only recipients in state pending or
 * deferred are handed over.  The job keeps pointers into env, which must
 * outlive it.  Also sets the queue ID that gw_log() prefixes.
 */
void capi_job_init(struct capi_job *, struct envelope *env, int datafd,
    off_t body_offset);
/*
 * Copy the results into the envelope: OK -> done, PERMFAIL -> failed,
 * TEMPFAIL or no result -> deferred, with code, status and text (codes
 * and statuses that contradict the result are replaced by defaults).
 * A recipient done by a next hop that took over its DSN request gets
 * "param dsn-sent passed" (the worker then sends it no success notice).
 */
void capi_job_results(struct capi_job *, struct envelope *env);
void capi_job_free(struct capi_job *);
/* The queue ID gw_log() puts at the start of a line (NULL: none). */
void capi_set_qid(const char *qid);
void capi_set_run_ids(uid_t uid, gid_t gid);

#endif
