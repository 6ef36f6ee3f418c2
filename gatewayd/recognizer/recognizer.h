/*
 * recognizer.h - the recognizer process (gatewayd-recognizer): routing
 * sheets in scanned attachments, read under hard resource limits
 *
 * The router asks (IPC_RECOG_REQ qid keep, through the master); the
 * recognizer forks one job child per question (at most
 * recognize.concurrency at a time, the rest wait in a bounded queue).
 * The job child sets its limits (RLIMIT_AS, RLIMIT_CPU, RLIMIT_FSIZE,
 * RLIMIT_NPROC: the uid's tasks at its start plus recognize.processes,
 * no core), opens incoming/<qid> read-only, finds the
 * scanned attachments (GMime), searches each for sheets (scan.h) and,
 * when there are sheets, writes one complete message per part into
 * recognize/<qid>.<n> and the result file recognize/<qid>.result
 * (format: router_recog.c).  The parent answers IPC_RECOG_DONE qid
 * "ok" once the child exited 0, or "unreadable" with the reason when
 * it failed, crashed, hit a limit or ran past recognize.timeout (then
 * it is SIGKILLed).
 *
 * Runs as the queue user without chroot (pdftoppm is a program), with
 * the spool hidden by Landlock but incoming/ (read) and recognize/
 * (write), and a seccomp deny list (sandbox.h).
 */
#ifndef GW_RECOGNIZER_H
#define GW_RECOGNIZER_H

#include <stddef.h>

struct cfg;
struct spool;

#define RECOGNIZER_QUEUE_MAX	10000	/* questions waiting; more are dropped */
#define RECOGNIZER_EXIT_FAIL	65	/* job child: the scan could not be handled */

/*
 * The job child's work for qid (recognizer_job.c): 0 when the result
 * file is written (sheets, none, or an unreadable scan), -1 with err
 * when nothing could be written.
 */
int recognizer_job(struct spool *, const struct cfg *, const char *qid,
    int keep, char *err, size_t errlen);

#endif
