/*
 * spool_admin.h - operator actions on the spool (gatewayctl queue ...)
 *
 * Built on spool.h; these functions work from the spool's directory
 * descriptor with paths relative to it, so they run in an unprivileged
 * control child or a chrooted router alike.  Same conventions as spool.h:
 * 0 or a count on success, -1 with errno and a reason in err.
 */
#ifndef GW_SPOOL_ADMIN_H
#define GW_SPOOL_ADMIN_H

#include <stddef.h>
#include <sys/types.h>

#include "spool.h"

#define SPOOL_MAX_LOCS	64

/* One place a queue ID lives: incoming/<qid> or <state>/<connector>/<qid>. */
struct spool_loc {
	enum spool_state state;
	char connector[SPOOL_NAME_MAX];	/* "" for incoming */
	time_t mtime;
	off_t size;
};

/* Every place qid lives (incoming and every job); returns the count or -1. */
int spool_locate(struct spool *, const char *qid, struct spool_loc *locs,
    size_t max);
/*
 * Remove a job that is not active (its file, then its data link) into
 * trash/, where spool_trash_sweep() unlinks it.
 */
int spool_job_remove(struct spool *, enum spool_state, const char *connector,
    const char *qid, char *err, size_t errlen);
/*
 * spool_job_remove for the operator's delete: where it removes the last
 * job of a message routed so recently that its incoming/ file still waits
 * for the router's sync, that file goes too, so that the message is not
 * listed as incoming meanwhile nor routed again after a crash.
 */
int spool_job_delete(struct spool *, enum spool_state, const char *connector,
    const char *qid, char *err, size_t errlen);
/* Remove an unrouted message incoming/<qid>. */
int spool_incoming_remove(struct spool *, const char *qid, char *err,
    size_t errlen);
/*
 * Open the message of qid read-only (data/<qid>.<connector>, or incoming/
 * when connector is NULL), positioned at the first message byte.
 */
int spool_message_open(struct spool *, const char *qid, const char *connector,
    char *err, size_t errlen);
/* Size of the spooled message file of qid (data link, or incoming/), -1 if none. */
off_t spool_message_size(struct spool *, const char *qid, const char *connector);
/*
 * Requeue (router): link the data of the held jobs of qid back to
 * incoming/<qid> and fsync incoming/, then remove those jobs and their data
 * links.  Returns the number of jobs removed (0: nothing held), or -1.
 */
int spool_requeue_held(struct spool *, const char *qid, char *err,
    size_t errlen);

/* A problem found by spool_check. */
struct spool_problem {
	const char *path;		/* relative to the spool */
	const char *what;		/* why it is a problem */
	int repaired;			/* moved to corrupt/ */
};
typedef void (*spool_check_cb)(const struct spool_problem *, void *arg);
/*
 * Look for stray tmp files older than tmp_age seconds, unparsable
 * envelopes, jobs without their data link, data links without a job and
 * files that are not queue IDs; with repair, move each into corrupt/.
 * Active jobs are skipped (a worker holds them).  Returns the number of
 * problems, or -1 when the spool cannot be read.
 */
int spool_check(struct spool *, int repair, time_t tmp_age, spool_check_cb,
    void *arg);

#endif
