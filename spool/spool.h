/*
 * spool.h - the maildir-style spool: the only code that knows spool paths
 *
 * Layout under the spool directory (every state change is one rename(2)):
 *   receive/<qid>              message being received (not acknowledged)
 *   tmp/<name>                 job, copy or state file being written
 *   tmp/spare.<n>              an ended job's file, for a new job (spool.c)
 *   incoming/<qid>             acknowledged message, not yet routed
 *   data/<qid>.<connector>     hard link to the message, one per job
 *   queue/<connector>/<qid>    job ready for delivery
 *   active/<connector>/<qid>   job claimed by its worker
 *   deferred/<connector>/<qid> job waiting; its mtime is the next attempt
 *   hold/<connector>/<qid>     job parked by an operator or a rule
 *   failed/<connector>/<qid>   job with permanent failures (kept for the bounce)
 *   corrupt/<name>             quarantined files that could not be parsed
 *   notice/<qid>.<connector>   final envelope of an ended job whose message
 *                              owes its sender a notice (spool_notice.c)
 *
 * A message file and a job file start with an envelope (envelope.h).  The
 * job references its message as data/<qid>.<connector>; when the job ends
 * both are unlinked (the job renamed to a spare when one is free), and
 * the message's inode goes when its last link does, so no reference
 * count is kept anywhere.
 *
 * No file is ever replaced by another one: names are created O_EXCL and
 * renamed with RENAME_NOREPLACE (link+unlink where unsupported); the only
 * renames over an existing name rewrite a file with a new version of
 * itself (an active job's envelope, an operator state file).  A name
 * already taken is an error with errno EEXIST.
 *
 * Functions return 0 on success and -1 on failure with errno set and, where
 * they take one, a reason in err.  None of them logs.
 */
#ifndef GW_SPOOL_H
#define GW_SPOOL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "envelope.h"

#define SPOOL_QID_LEN		ENVELOPE_QID_LEN
#define SPOOL_NAME_MAX		64	/* connector name */
#define SPOOL_ERRLEN		256

enum spool_state {
	SPOOL_INCOMING = 0,
	SPOOL_QUEUE,
	SPOOL_ACTIVE,
	SPOOL_DEFERRED,
	SPOOL_HOLD,
	SPOOL_FAILED,
	SPOOL_NSTATES
};

struct spool;
struct spool_msg;

/*
 * Queue IDs.  20 lowercase hex digits, TTTTTTTTTTTTTT II SSSS:
 *   T  the time part: microseconds since the epoch (14 digits);
 *   I  the instance (0..255): a slot the master gives each child it
 *      starts (gatewayd-* -i), unique among its live children, those of
 *      a draining generation included; 0 in a process that never called
 *      spool_qid_setup (a test, a tool);
 *   S  the top SPOOL_QID_SUB_BITS bits: the sub-instance (0 for the
 *      process itself, 1 + slot for a worker's delivery child), the low
 *      SPOOL_QID_COUNT_BITS bits: a counter.
 * Sorting the names sorts by time of creation.
 *
 * Why no two are ever equal:
 * - two processes alive at the same time differ in I or S;
 * - within a process the (time, counter) pair only grows, under a
 *   mutex, even when the clock steps back (the time part then stays
 *   where it was and the counter, wrapping into the time, moves it);
 * - across restarts the time part starts at a floor derived from the
 *   spool at the first ID (spool_qid_floor: the newest change time of
 *   tmp/, incoming/ and data/, where every message file is made, plus
 *   SPOOL_QID_MARGIN_US), so a clock set back while the daemon was down
 *   does not hand out the times of the IDs still queued.  Three fstat
 *   calls: nothing scans the queue.
 * - a clock stepped back while the daemon ran, then a restart before it
 *   caught up: the master marks the clock in <spool>/qidfloor every
 *   SPOOL_QID_HW_PERIOD seconds (spool_qid_highwater, never backwards),
 *   and the floor is at least that mark plus one period and a second.
 * And should all that fail (the mark lost with the spool's root), the
 * spool never replaces a file: tmp/<qid> is created O_EXCL (the caller
 * draws another ID on EEXIST), every rename that could meet an existing
 * name uses RENAME_NOREPLACE (or link+unlink), so a duplicate ID makes
 * a commit fail (451, nothing acknowledged) or routing wait (the router
 * retries until the other message's data link is gone), never replaces
 * an acknowledged file.
 */
#define SPOOL_QID_SUB_BITS	7
#define SPOOL_QID_COUNT_BITS	9
#define SPOOL_QID_SUB_MAX	((1u << SPOOL_QID_SUB_BITS) - 1)
#define SPOOL_QID_MARGIN_US	1000000	/* added to the derived floor */
#define SPOOL_QID_TRIES		5	/* IDs drawn when the name is taken */
#define SPOOL_QID_HW_FILE	"qidfloor"	/* the clock's high-water mark */
#define SPOOL_QID_HW_PERIOD	10	/* seconds between two marks */

/* A generator's state; the functions below keep one per process. */
struct spool_qidgen {
	uint64_t last_us;		/* time part of the last ID */
	unsigned int counter;		/* of the last ID, < 1 << COUNT_BITS */
	unsigned int instance;		/* 0..255 */
	unsigned int sub;		/* 0..SPOOL_QID_SUB_MAX */
};

/* Is s a well-formed queue ID? */
int spool_qid_valid(const char *s);
/*
 * Start a generator whose every ID has a time part of at least floor_us
 * (instance and sub are taken modulo their ranges).
 */
void spool_qidgen_init(struct spool_qidgen *, unsigned int instance,
    unsigned int sub, uint64_t floor_us);
/* The next ID of a generator with the clock at now_us (not thread-safe). */
void spool_qidgen_next(struct spool_qidgen *, uint64_t now_us,
    char out[SPOOL_QID_LEN + 1]);
/*
 * The floor for the time part of a process's IDs: the newest mtime of
 * receive/, tmp/, incoming/ and data/ in microseconds plus
 * SPOOL_QID_MARGIN_US, or the mark of qidfloor plus SPOOL_QID_HW_PERIOD
 * and a second if that is later.
 */
uint64_t spool_qid_floor(struct spool *);
/*
 * The master, every SPOOL_QID_HW_PERIOD seconds: write the clock (in
 * microseconds) to <spool>/qidfloor (0644, atomically and durably) unless
 * the mark there is ahead of it.  0, or -1 with err.
 */
int spool_qid_highwater(struct spool *, char *err, size_t errlen);
/*
 * This process's place among the ID makers: the instance the master
 * gave it and its sub-instance (call again in a forked child that makes
 * IDs, with its own sub).  Keeps the time part reached so far.
 */
void spool_qid_setup(unsigned int instance, unsigned int sub);
/*
 * A new queue ID from the process's generator (thread-safe).  The first
 * call takes the floor from sp (NULL: no floor).
 */
void spool_qid_new(struct spool *sp, char out[SPOOL_QID_LEN + 1]);
/* Is s a valid connector name for the spool ([a-z0-9_][a-z0-9_-]*, < SPOOL_NAME_MAX)? */
int spool_name_valid(const char *s);
const char *spool_state_name(enum spool_state);
int spool_state_from_name(const char *);

/*
 * Open a spool at path.  With create, make missing directories (mode 0700)
 * and, when owner is not (uid_t)-1, chown what it made to owner:group.
 * Checks that the directory is not group or world writable.
 */
struct spool *spool_open(const char *path, int create, uid_t owner,
    gid_t group, char *err, size_t errlen);
/*
 * Owners of a spool run by root (spool_prepare): the queue's user owns
 * every directory but receive/, which the receiver's user owns.
 */
struct spool_owners {
	uid_t uid;		/* queue user: router, workers, control */
	gid_t gid;
	uid_t recv_uid;		/* receiver user (network-facing) */
	gid_t recv_gid;
};

/*
 * Root only: make or repair the layout so that nothing an unprivileged
 * process can write is ever followed by root.  Everything is fd-relative
 * from the spool directory and no symbolic link is followed (a symlink
 * where a directory belongs is refused):
 *   <spool>           root:root 0755 (a spool that the queue user owned,
 *                     as before this layout, is taken over by root)
 *   receive/          recv_uid:gid 2750: the receiver writes here; setgid
 *                     so its files belong to the queue's group (0660)
 *   incoming/         uid:recv_gid 1730: the receiver renames into it; the
 *                     sticky bit keeps it from removing or replacing
 *                     anything it did not create
 *   every other one,  uid:gid 0700
 *   and extra[]
 * A directory found with an owner other than the expected one (or, for
 * a repair, the queue user) is refused, not chowned.
 */
int spool_prepare(const char *path, const struct spool_owners *,
    const char *const *extra, char *err, size_t errlen);

/*
 * Use an already open directory descriptor (after chroot: path "/").  The
 * spool keeps its own duplicate: the caller still owns dirfd.
 */
struct spool *spool_open_fd(int dirfd, char *err, size_t errlen);
void spool_close(struct spool *);
int spool_dirfd(const struct spool *);

/*
 * Operator state that outlives a restart (the pause state): the small
 * text file <spool>/<name>, name made of lowercase letters.  write
 * replaces it atomically and durably (NULL or "" text removes it); read
 * returns a malloc'd NUL-terminated copy, or NULL with errno (ENOENT when
 * there is none, EFBIG past max bytes).
 */
int spool_state_write(struct spool *, const char *name, const char *text,
    char *err, size_t errlen);
char *spool_state_read(struct spool *, const char *name, size_t max);
/* Create the per-connector directories of every state. */
int spool_connector_init(struct spool *, const char *connector, uid_t owner,
    gid_t group, char *err, size_t errlen);

/* ---- receiver: write, then group commit ---- */

/*
 * The receiver: create receive/<env->id> exclusively (0600; 0660 when
 * receive/ is setgid, see spool_prepare) and write the envelope; EEXIST
 * when the name is taken (draw another ID: spool_qid_new).
 */
struct spool_msg *spool_msg_receive(struct spool *, const struct envelope *,
    char *err, size_t errlen);
/* The same in tmp/, for the queue's own messages (DSNs): 0600; EEXIST too. */
struct spool_msg *spool_msg_create(struct spool *, const struct envelope *,
    char *err, size_t errlen);
/* Append message bytes (buffered); -1 on a write error (ENOSPC...). */
int spool_msg_write(struct spool_msg *, const void *buf, size_t len);
/* Bytes of message written so far. */
off_t spool_msg_size(const struct spool_msg *);
const char *spool_msg_id(const struct spool_msg *);
/*
 * The message is complete: seal it (its size into the envelope's size
 * field, written as a fixed-width placeholder until then) and flush the
 * buffer to the kernel; -1 on error.  No spool_msg_write after it.
 * spool_commit seals a message not flushed yet.
 */
int spool_msg_flush(struct spool_msg *);
/* Remove the tmp file and free. */
void spool_msg_abort(struct spool_msg *);
/*
 * Make a batch durable and visible with one sync: seal each file, rename
 * each receive/<qid> (or tmp/<qid>) to incoming/<qid>, then one syncfs(2)
 * for the whole batch (where there is no syncfs: fdatasync each file
 * before its rename, then fsync incoming/).  A file in incoming/ whose
 * length is not its sealed size is one a crash caught before that sync
 * returned: never acknowledged, refused by spool_incoming_open (EBADMSG).
 * ok[i] is set to 1 for each message now safe in incoming/ (0 for one
 * that failed, its file removed: a write or sync error, or
 * incoming/<qid> already there, which is left as it was).  Frees every
 * spool_msg.  Returns the number committed.
 * Thread-safe with respect to other spool_msg objects.
 */
size_t spool_commit(struct spool *, struct spool_msg **msgs, size_t n, int *ok);

/* ---- router ---- */

/*
 * Open incoming/<qid>: parse its envelope; *fd is read-only, positioned at
 * the body (*body_offset).  EBADMSG for a file that cannot be parsed or
 * whose length is not its sealed size (spool_commit).
 */
int spool_incoming_open(struct spool *, const char *qid, struct envelope *env,
    off_t *body_offset, int *fd, char *err, size_t errlen);
/*
 * The same for receive/<qid>: a message the receiver has finished and
 * flushed but not committed (the end-of-DATA check, smtp.rcpt_check).
 */
int spool_received_open(struct spool *, const char *qid, struct envelope *env,
    off_t *body_offset, int *fd, char *err, size_t errlen);
/*
 * Route an incoming message: for each job (env.connector set, env.kind
 * JOB) link data/<qid>.<connector> and write queue/<connector>/<qid>
 * (or failed/<connector>/<qid> when every recipient of it is failed,
 * or hold/<connector>/<qid> when a pending one has the parameter "hold"),
 * then unlink incoming/<qid>.  Not durable until spool_sync().  The
 * unlink of incoming/<qid> is done by spool_sync() (or spool_close()),
 * after the jobs are on disk, so a crash never leaves a message without
 * its jobs.  njobs must be at least 1.
 * Idempotent: re-routing after a crash finds the data link (the same
 * inode) and the job written before it and keeps them; a data link of
 * that name to another file is an error (EEXIST).
 */
int spool_route(struct spool *, const char *qid, const struct envelope *jobs,
    size_t njobs, char *err, size_t errlen);
/*
 * The message is finished without jobs (the recognizer's parts replaced
 * it): unlink incoming/<qid> at the next spool_sync(), after whatever was
 * written before is durable.
 */
int spool_incoming_done(struct spool *, const char *qid, char *err,
    size_t errlen);
/*
 * Make everything written since the last call durable (syncfs or dir
 * fsyncs), then unlink the incoming/ files whose jobs it made durable.
 * Those unlinks reach the disk with the next sync of anyone (the
 * receiver's commits, the next spool_sync) or spool_sync_unlinks(): a
 * crash of the machine before that brings the message back to incoming/,
 * routed again idempotently (spool_route), as Postfix leaves the removal
 * of a delivered queue file to the file system.
 */
int spool_sync(struct spool *);
/* unlinks of spool_sync() not yet on disk? */
int spool_unlinks_pending(struct spool *);
/*
 * Messages routed (spool_route, spool_incoming_done) whose incoming/ file
 * waits for the next spool_sync(): how many, and is qid one of them?
 */
size_t spool_routed_count(struct spool *);
int spool_routed_pending(struct spool *, const char *qid);
/* put them on disk (one fsync of incoming/, nothing when none) */
int spool_sync_unlinks(struct spool *);
/*
 * Sync claims (syncfs only).  spool_last_sync: when the last syncfs this
 * handle made (spool_commit, spool_sync) started, CLOCK_MONOTONIC; -1 when
 * none has worked yet.  Every write that ended before that time was on
 * disk when it returned: the receiver sends it with the messages it
 * acknowledged (IPC_SYNCED).
 * spool_set_claim_owner: the router trusts such a claim for the messages
 * owned by uid (the receiver's own: a receiver that lies can lose only
 * what it could lose anyway), and only where incoming/, data/ and tmp/
 * (so queue/) are on the spool's file system; (uid_t)-1: for none.
 * spool_synced: a claim that a sync of the file system started at *start
 * and worked: the routed messages of that owner whose jobs were written
 * before it are done as spool_sync would (their incoming/ files
 * unlinked), without a sync of our own; returns how many.
 */
int spool_last_sync(struct spool *, struct timespec *start);
void spool_set_claim_owner(struct spool *, uid_t uid);
size_t spool_synced(struct spool *, const struct timespec *start);
/* When the oldest routed message still waiting was routed; -1 for none. */
int spool_routed_oldest(struct spool *, struct timespec *done);

/*
 * ---- recognizer: recognize/<qid>.<name> (spool_recog.c) ----
 * The recognizer's output for a message: "result" and the parts "1",
 * "2"...  (name: 1 to 15 lowercase letters and digits).  write: created
 * exclusively, 0600, never through a symbolic link; read: O_NOFOLLOW and
 * a regular file, else ELOOP/EINVAL.  clear removes result and parts 1
 * to maxparts (a missing name is no error).
 */
#define SPOOL_RECOG_DIR		"recognize"
int spool_recog_open(struct spool *, const char *qid, const char *name,
    int write, char *err, size_t errlen);
int spool_recog_clear(struct spool *, const char *qid, unsigned int maxparts);
/*
 * ---- notices to the sender: notice/<qid>.<connector> (spool_notice.c) ----
 * put: a worker records the final envelope of an ended job (durable; a
 * record of that name already there is kept, no error).  list: the names
 * there (free with spool_free_names).  read, remove: one record.  busy:
 * does message qid still have work (incoming/<qid> or a data link of any
 * connector)?  1, 0, or -1 when it cannot be told.
 */
#define SPOOL_NOTICE_DIR	"notice"
int spool_notice_name_valid(const char *name);
int spool_notice_put(struct spool *, const struct envelope *job, char *err,
    size_t errlen);
int spool_notice_list(struct spool *, char ***names, size_t *n);
int spool_notice_read(struct spool *, const char *name, struct envelope *env,
    char *err, size_t errlen);
int spool_notice_remove(struct spool *, const char *name);
int spool_notice_busy(struct spool *, const char *qid);

/*
 * Move an unreadable file from a state directory to corrupt/ (quarantine);
 * a name already in corrupt/ gets a suffix .1 .. .9, never replaced.
 */
int spool_quarantine(struct spool *, enum spool_state, const char *connector,
    const char *qid, char *err, size_t errlen);
/*
 * An unreadable job of a message still in incoming/ (a job file torn by
 * a power failure before the router's sync: the router routes the
 * message again and writes the job anew): move the job alone to
 * corrupt/, leaving the data link for the job to come.  1 when done, 0
 * when the message is not in incoming/ (quarantine it: spool_quarantine),
 * -1 on an error.
 */
int spool_quarantine_torn(struct spool *, enum spool_state,
    const char *connector, const char *qid, char *err, size_t errlen);

/* ---- worker ---- */

/* Claim: rename queue/<c>/<qid> (or deferred/) to active/<c>/<qid>. */
int spool_job_claim(struct spool *, const char *connector, const char *qid,
    enum spool_state from);
/* Load an active job: its envelope, and a read-only fd on its data with the message offset. */
int spool_job_load(struct spool *, const char *connector, const char *qid,
    struct envelope *env, int *datafd, off_t *body_offset, char *err, size_t errlen);
/* Every recipient done: unlink the job and its data link. */
int spool_job_done(struct spool *, const char *connector, const char *qid);
/*
 * Rewrite the active job with env (results, attempts, last error) and
 * move it to state (SPOOL_DEFERRED: mtime = env->next_attempt; SPOOL_FAILED;
 * SPOOL_HOLD; SPOOL_QUEUE).  A file of that name in state is an error
 * (EEXIST): the job, with its new envelope, stays in active/.
 */
int spool_job_update(struct spool *, const char *connector, const char *qid,
    const struct envelope *env, enum spool_state to, char *err, size_t errlen);
/*
 * Group commit of many job updates (a worker deferring the queue of an
 * unreachable destination): spool_job_stage writes the new envelope of an
 * active job to tmp/ without fsync; one spool_sync() then makes every
 * staged file durable, and spool_job_commit_staged renames it over
 * active/<c>/<qid> and moves the job to state to.  Until its commit the
 * job keeps its old envelope, so a crash at any point leaves either the
 * old envelope in active/ (tried again after the restart) or the new one.
 */
int spool_job_stage(struct spool *, const char *connector, const char *qid,
    const struct envelope *env, enum spool_state to, char *err, size_t errlen);
int spool_job_commit_staged(struct spool *, const char *connector,
    const char *qid, enum spool_state to, char *err, size_t errlen);
/*
 * Move a job between states without rewriting it (deferred -> queue,
 * hold -> queue); EEXIST when the target name is taken.
 */
int spool_job_move(struct spool *, const char *connector, const char *qid,
    enum spool_state from, enum spool_state to);

/*
 * Failover: hand recipients of the active job (from, job->id) to another
 * connector.  job is a job envelope for job->connector with only those
 * recipients.  Links data/<qid>.<from> as data/<qid>.<connector> and
 * writes the job into queue/<connector>/ (hold/ when a pending recipient
 * has the parameter "hold"); when that connector already has a job or
 * data of this queue ID (the message fanned out to it), the message is
 * copied under a new queue ID made with spool_qid_new(), written
 * into job->id.  Durable (files and directories fsynced) when it returns
 * 0.  -1 with err: nothing was handed over, except after a failed final
 * fsync, when the job may still be delivered (at least once).  A job
 * file already there is an error (EEXIST), never replaced.
 */
int spool_job_failover(struct spool *, const char *from, struct envelope *job,
    char *err, size_t errlen);

/* ---- scanning and recovery ---- */

/*
 * Call cb for each entry of a state directory (connector NULL for
 * incoming).  mtime is the file's mtime (next attempt for deferred).
 * Stops early and returns cb's value if nonzero.
 */
typedef int (*spool_scan_cb)(const char *qid, time_t mtime, off_t size, void *arg);
int spool_scan(struct spool *, enum spool_state, const char *connector,
    spool_scan_cb cb, void *arg);
/*
 * spool_scan of incoming/ without the files that have data/ links: those
 * messages are routed, their incoming/ file waits for the router's next
 * sync, and their jobs are where they are counted (as in spool_list).
 * The router's own scan at start takes them too: it routes them again.
 */
int spool_scan_unrouted(struct spool *, spool_scan_cb cb, void *arg);
/*
 * The same without mtime and size: cb gets each regular entry's queue ID
 * from readdir alone, no stat per entry (a queue of a million jobs is read
 * in the time of its directory blocks).  Stops early and returns cb's
 * value if nonzero, -1 if the directory cannot be read.
 */
typedef int (*spool_ids_cb)(const char *qid, void *arg);
int spool_ids(struct spool *, enum spool_state, const char *connector,
    spool_ids_cb cb, void *arg);
/*
 * Listing: call cb with the parsed envelope of each entry of a state
 * directory, or with env NULL and the reason when one cannot be parsed.
 * One open, read and close per entry (and an fstat in incoming/), so
 * 100,000 jobs list in a fraction of a second; where built with liburing
 * and io_uring is allowed, those three are linked in batches of 64 files
 * per system call (spool_list.c; not in incoming/).  An entry moved away
 * meanwhile is skipped.
 * With nparts > 1 only the entries whose name hashes to part are read, so
 * nparts processes can share a listing.  In incoming/, a file with data/
 * links is skipped: the message is routed (its file waits for the router's
 * next sync) and its jobs are where it is listed.  Stops early and returns
 * cb's value if nonzero, -1 if the directory cannot be read.
 */
typedef int (*spool_list_cb)(const char *qid, const struct envelope *env,
    const char *err, void *arg);
int spool_list(struct spool *, enum spool_state, const char *connector,
    unsigned int part, unsigned int nparts, spool_list_cb cb, void *arg);
/*
 * spool_list_plain(1): list every entry by the plain path (open, read,
 * close), io_uring or not; for comparing the two.  spool_list_batched():
 * the entries this process has read whole through io_uring batches.
 */
void spool_list_plain(int on);
unsigned long spool_list_batched(void);
/* Names of the connector directories present (for listing); caller frees with spool_free_names. */
int spool_connectors(struct spool *, char ***names, size_t *n);
void spool_free_names(char **names, size_t n);
/*
 * Removed jobs wait in trash/ until swept: unlink the trash/ files (those
 * whose name hashes to part of nparts, so that processes can share the
 * work; every one with 0, 1), number removed or -1; is trash/ empty?
 */
int spool_trash_sweep(struct spool *, unsigned int part, unsigned int nparts);
int spool_trash_empty(struct spool *);
/*
 * Start-up: remove every tmp/ file; returns the number of unfinished ones
 * removed (spare job files not counted) or -1.
 */
int spool_recover_tmp(struct spool *);
/* Start-up: remove every receive/ file (unacknowledged); number or -1. */
int spool_recover_received(struct spool *);
/*
 * Start-up of a worker (which may restart alone): remove the job updates
 * of this connector left in tmp/ (tmp/<qid>.<connector>.upd, staged or
 * half-written when the worker or a delivery child died); count or -1.
 * New jobs staged by the router (tmp/<qid>.<connector>.job) are not
 * touched: the router may be writing them at that moment.
 */
int spool_recover_staged(struct spool *, const char *connector);
/*
 * Start-up of a worker: move every active/<c>/ job back to queue/<c>/;
 * returns count or -1.  A job whose name is taken in queue/ stays.
 */
int spool_recover_active(struct spool *, const char *connector);
/* Read any job's envelope by state (for gatewayctl). */
int spool_job_read(struct spool *, enum spool_state, const char *connector,
    const char *qid, struct envelope *env, char *err, size_t errlen);

#endif
