/*
 * notice.h - notices to the person who sent a document (rules[].notify)
 *
 * HP DSS tells the person at the scanner whether the scan arrived.  A rule
 * with notify makes the router mark each recipient it routes with
 *   param notice success,failure[,bounce]   what to report
 *   param notice-rule <rule>                whose templates and connector
 *   param notice-subject <Subject:>         for the text
 *   param notice-docs <name, name...>       the attachments' names
 * (never for mail from the null sender: a notice, a DSN).  The params
 * travel with the recipient into its job.  When a job ends (every
 * recipient done or failed), notice_job_end() records its final envelope
 * in notice/<qid>.<connector> (spool.h) before removing the job, and the
 * worker sends IPC_MSG_NEW with the message's queue ID.  The router is
 * the one place that sees every job of a message end: it checks that no
 * work is left (spool_notice_busy: no incoming/ file, no data link of
 * any connector), reads every record of the message and, when one is
 * due, commits the notice as a new message from the null sender whose
 * recipient carries "param notice-via <connector>" (routed to that
 * connector, not by the rules), then removes the records.
 *
 * A failure notice replaces the DSN bounce of a recipient unless the rule
 * says bounce: yes or the client asked for DSNs itself (NOTIFY=...): one
 * mail per failure.  Delay DSNs are unchanged.
 *
 * Composition is plain text from a template: an optional "Subject:"
 * line, an empty line, the body; {queue_id}, {sender}, {subject},
 * {arrival}, {documents}, {destinations}, {reason} and {result} are
 * replaced.  These functions never log.
 */
#ifndef GW_NOTICE_H
#define GW_NOTICE_H

#include <stddef.h>
#include <stdio.h>
#include <time.h>

#include "envelope.h"
#include "spool.h"

#define NOTICE_PARAM		"notice"
#define NOTICE_PARAM_RULE	"notice-rule"
#define NOTICE_PARAM_SUBJECT	"notice-subject"
#define NOTICE_PARAM_DOCS	"notice-docs"
#define NOTICE_PARAM_VIA	"notice-via"
#define NOTICE_VALUE_MAX	900	/* subject and document list, bytes */
#define NOTICE_TEMPLATE_MAX	(16 * 1024)	/* a template file */
#define NOTICE_TEXT_MAX		(256 * 1024)	/* an expanded notice */

struct cfg_rule;
struct msginfo;

enum notice_kind { NOTICE_NONE = 0, NOTICE_SUCCESS, NOTICE_FAILURE };

/* A template: subject line and body (malloc'd). */
struct notice_template {
	char *subject;
	char *body;
};

/* What a notice says (the records of one message). */
struct notice_info {
	const char *qid;
	const char *sender;
	const char *subject;		/* of the original, may be NULL */
	const char *docs;		/* "a.pdf, b.tif", may be NULL */
	time_t arrival;
	const struct envelope *jobs;	/* the ended jobs' envelopes */
	size_t njobs;
};

/* The router: mark a recipient routed by rule (msg from a real sender). */
void notice_params(struct envelope_rcpt *, const struct cfg_rule *,
    const struct envelope *msg, const struct msginfo *);
/* Does this job carry a notice for its sender? */
int notice_wanted(const struct envelope *job);
/* Does the notice of this recipient replace its failure DSN? */
int notice_replaces_bounce(const struct envelope_rcpt *);
/*
 * A job ended: record it (when it carries a notice) and remove it and its
 * data link.  1 recorded (tell the router), 0 removed only, -1 with err
 * (nothing removed: the caller keeps the job).
 */
int notice_job_end(struct spool *, const char *connector, const char *qid,
    const struct envelope *job, char *err, size_t errlen);
/* Which notice the ended jobs call for; *rule the rule named first. */
enum notice_kind notice_decide(const struct envelope *jobs, size_t n,
    const char **rule);
/* Parse template text; -1 with err when it is not one. */
int notice_template_parse(const char *text, size_t len,
    struct notice_template *, char *err, size_t errlen);
/* The built-in template of a kind. */
void notice_template_default(enum notice_kind, struct notice_template *);
void notice_template_free(struct notice_template *);
/*
 * Write the notice (headers and body, CR LF line ends) to fp; from is
 * the From: address, hostname names the Message-ID.  0, or -1 when it
 * would pass NOTICE_TEXT_MAX or on a write error.
 */
int notice_compose(FILE *fp, const struct notice_template *,
    const struct notice_info *, enum notice_kind, const char *from,
    const char *hostname, time_t now);

#endif
