/*
 * router_notice.c - the router's part of the notices to the sender
 * (notice.h): when the last job of a message has ended, read the records
 * its workers left in notice/, decide, hold the per-sender bound, commit
 * the notice and route it straight to the rule's connector.
 *
 * The router is the one process that can tell "every recipient of this
 * message is done": the jobs of a message are spread over several
 * connectors' workers, each of which sees only its own.  The spool shows
 * the rest: while any job of the message lives, its data link
 * data/<qid>.<connector> does (a failover job links its own before the
 * failed job ends), and incoming/<qid> while it is being routed.  A
 * worker that ends a job with a notice sends IPC_MSG_NEW with the
 * message's queue ID; the router, finding no incoming/ file for it,
 * checks here.  The periodic scan checks every record too, so a lost
 * wake-up only delays.  The bound per sender is kept in memory (a fixed
 * table, oldest entry reused): it starts again when the router does.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "cfg.h"
#include "log.h"
#include "notice.h"
#include "router_notice.h"
#include "spool.h"
#include "xmalloc.h"

#define RN_RATE_SLOTS	1024		/* senders remembered */
#define RN_RATE_WINDOW	3600		/* seconds */
#define RN_SENDER_MAX	256

/* The templates of one rule (kinds NOTICE_SUCCESS, NOTICE_FAILURE). */
struct rn_rule {
	struct notice_template t[2];
};

/* Notices sent to a sender in the current window. */
struct rn_rate {
	char sender[RN_SENDER_MAX];
	time_t start;
	unsigned int count;
};

struct router_notice {
	const struct cfg *cfg;
	struct rn_rule *rules;		/* one per cfg->rules */
	struct notice_template builtin[2];
	struct rn_rate rate[RN_RATE_SLOTS];
};

/* rn_read - a template file (before the chroot); -1 with the reason */
static int
rn_read(const char *dir, const char *file, struct notice_template *t,
    char *err, size_t errlen)
{
	char path[4096], *buf;
	ssize_t n;
	int fd, rc = -1;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, file) >=
	    sizeof(path)) {
		snprintf(err, errlen, "path too long");
		return -1;
	}
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1) {
		snprintf(err, errlen, "%s", strerror(errno));
		return -1;
	}
	buf = xmalloc(NOTICE_TEMPLATE_MAX + 1);
	if ((n = read(fd, buf, NOTICE_TEMPLATE_MAX + 1)) < 0)
		snprintf(err, errlen, "%s", strerror(errno));
	else
		rc = notice_template_parse(buf, (size_t)n, t, err, errlen);
	close(fd);
	free(buf);
	return rc;
}

/* router_notice_new - load every rule's templates (before the chroot) */
struct router_notice *
router_notice_new(const struct cfg *cfg)
{
	static const char *const files[2] = { "success.txt", "failure.txt" };
	struct router_notice *rn = xcalloc(1, sizeof(*rn));
	const struct cfg_rule *ru;
	char err[512];
	size_t i, k;

	rn->cfg = cfg;
	notice_template_default(NOTICE_SUCCESS, &rn->builtin[0]);
	notice_template_default(NOTICE_FAILURE, &rn->builtin[1]);
	rn->rules = xcalloc(cfg->nrules ? cfg->nrules : 1, sizeof(*rn->rules));
	for (i = 0; i < cfg->nrules; i++) {
		ru = &cfg->rules[i];
		if (ru->notify.template_dir == NULL ||
		    (!ru->notify.success && !ru->notify.failure))
			continue;
		for (k = 0; k < 2; k++)
			if (rn_read(ru->notify.template_dir, files[k],
			    &rn->rules[i].t[k], err, sizeof(err)) == -1)
				log_warnx("rule %s: notice template %s/%s: %s "
				    "(the built-in text is used)", ru->name,
				    ru->notify.template_dir, files[k], err);
	}
	return rn;
}

/* router_notice_free - release the templates */
void
router_notice_free(struct router_notice *rn)
{
	size_t i;

	if (rn == NULL)
		return;
	for (i = 0; i < rn->cfg->nrules; i++) {
		notice_template_free(&rn->rules[i].t[0]);
		notice_template_free(&rn->rules[i].t[1]);
	}
	notice_template_free(&rn->builtin[0]);
	notice_template_free(&rn->builtin[1]);
	free(rn->rules);
	free(rn);
}

/* rn_rule - the rule of that name, or NULL (gone after a reload) */
static const struct cfg_rule *
rn_rule(const struct router_notice *rn, const char *name, size_t *idx)
{
	size_t i;

	for (i = 0; name != NULL && i < rn->cfg->nrules; i++)
		if (strcmp(rn->cfg->rules[i].name, name) == 0) {
			*idx = i;
			return &rn->cfg->rules[i];
		}
	return NULL;
}

/* rn_rate_ok - may sender get one more notice now?  (counts it) */
static int
rn_rate_ok(struct router_notice *rn, const char *sender, size_t max,
    time_t now)
{
	struct rn_rate *e = NULL, *oldest = &rn->rate[0];
	size_t i;

	for (i = 0; i < RN_RATE_SLOTS && e == NULL; i++) {
		if (strcasecmp(rn->rate[i].sender, sender) == 0)
			e = &rn->rate[i];
		else if (rn->rate[i].start < oldest->start)
			oldest = &rn->rate[i];
	}
	if (e == NULL) {
		e = oldest;
		snprintf(e->sender, sizeof(e->sender), "%s", sender);
		e->start = now;
		e->count = 0;
	}
	if (now - e->start >= RN_RATE_WINDOW) {
		e->start = now;
		e->count = 0;
	}
	if (e->count >= max)
		return 0;
	e->count++;
	return 1;
}

/* rn_envelope - the notice message's envelope: <> to sender via conn */
static void
rn_envelope(struct envelope *env, const char *sender, const char *conn,
    const char *hostname)
{
	struct envelope_rcpt *r;
	struct timespec ts;

	memset(env, 0, sizeof(*env));
	env->kind = ENVELOPE_MESSAGE;
	clock_gettime(CLOCK_REALTIME, &ts);
	env->arrival_us = (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
	env->listener = xstrdup("notice");
	env->client = xstrdup("");
	env->client_name = xstrdup("");
	env->helo = xstrdup(hostname);
	env->proto = xstrdup("NOTICE");
	env->body = xstrdup("8BITMIME");
	env->size = -1;
	env->from = xstrdup("");
	if ((r = envelope_add_rcpt(env, sender)) == NULL)
		fatalx("out of memory");
	envelope_rcpt_set_param(r, "notify", "NEVER");
	envelope_rcpt_set_param(r, NOTICE_PARAM_VIA, conn);
}

/* rn_write - compose the notice into a new incoming/ message; 0 or -1 */
static int
rn_write(struct router_notice *rn, struct spool *sp, struct envelope *env,
    const struct notice_template *t, const struct notice_info *in,
    enum notice_kind k, char out[SPOOL_QID_LEN + 1])
{
	const char *host = rn->cfg->smtp.hostname;
	char err[SPOOL_ERRLEN], from[300], *text = NULL;
	struct spool_msg *m = NULL;
	size_t len = 0;
	FILE *fp;
	int i, ok = 0;

	snprintf(from, sizeof(from), "MAILER-DAEMON@%s (Mail Delivery System)",
	    host);
	if ((fp = open_memstream(&text, &len)) == NULL)
		return -1;
	i = notice_compose(fp, t, in, k, from, host, time(NULL));
	if (fclose(fp) != 0 || i == -1) {
		log_warnx("%s: cannot compose the notice: %s", in->qid,
		    strerror(errno));
		free(text);
		return -1;
	}
	for (i = 0; i < SPOOL_QID_TRIES && m == NULL; i++) {
		spool_qid_new(sp, env->id);
		if ((m = spool_msg_create(sp, env, err, sizeof(err))) == NULL &&
		    errno != EEXIST)
			break;
	}
	if (m != NULL && (spool_msg_write(m, text, len) == -1 ||
	    spool_msg_flush(m) == -1)) {
		spool_msg_abort(m);
		m = NULL;
	}
	if (m != NULL && spool_commit(sp, &m, 1, &ok) == 1 && ok)
		memcpy(out, env->id, SPOOL_QID_LEN + 1);
	else
		log_warnx("%s: cannot write the notice (tried again later): %s",
		    in->qid, m == NULL ? err : strerror(errno));
	free(text);
	return ok ? 0 : -1;
}

/* rn_load - the records of qid, one per connector that has one */
static size_t
rn_load(struct spool *sp, const char *qid, struct envelope **jobs,
    char ***names)
{
	char **conns, name[SPOOL_QID_LEN + SPOOL_NAME_MAX + 2], err[256];
	size_t nc, i, n = 0;

	*jobs = NULL;
	*names = NULL;
	if (spool_connectors(sp, &conns, &nc) == -1)
		return 0;
	for (i = 0; i < nc; i++) {
		snprintf(name, sizeof(name), "%s.%s", qid, conns[i]);
		*jobs = xreallocarray(*jobs, n + 1, sizeof(**jobs));
		memset(&(*jobs)[n], 0, sizeof(**jobs));
		if (spool_notice_read(sp, name, &(*jobs)[n], err,
		    sizeof(err)) == -1) {
			if (errno != ENOENT)
				log_warnx("%s: notice record: %s", qid, err);
			envelope_clear(&(*jobs)[n]);
			continue;
		}
		*names = xreallocarray(*names, n + 1, sizeof(**names));
		(*names)[n++] = xstrdup(name);
	}
	spool_free_names(conns, nc);
	return n;
}

/* rn_forget - remove the records (the notice is durable or not due) */
static void
rn_forget(struct spool *sp, const char *qid, char **names, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (spool_notice_remove(sp, names[i]) == -1)
			log_warn("%s: cannot remove notice/%s", qid, names[i]);
}

/* rn_send - the due notice of the records (rate bound held); 1 sent */
static int
rn_send(struct router_notice *rn, struct spool *sp, const char *qid,
    const struct envelope *jobs, size_t n, char out[SPOOL_QID_LEN + 1])
{
	const struct notice_template *t;
	const struct cfg_rule *ru;
	struct notice_info in;
	struct envelope env;
	enum notice_kind k;
	const char *rname;
	size_t ri = 0;
	int rc;

	if ((k = notice_decide(jobs, n, &rname)) == NOTICE_NONE)
		return 0;
	if ((ru = rn_rule(rn, rname, &ri)) == NULL) {
		log_warnx("%s: no notice: rule %s is gone", qid, rname ?
		    rname : "-");
		return 0;
	}
	if (!rn_rate_ok(rn, jobs[0].from, ru->notify.max_per_hour,
	    time(NULL))) {
		log_warnx("%s: no %s notice to <%s>: %zu notices in the last "
		    "hour (rule %s, notify.max_per_hour)", qid, k ==
		    NOTICE_SUCCESS ? "success" : "failure", jobs[0].from,
		    ru->notify.max_per_hour, ru->name);
		return 0;
	}
	t = &rn->rules[ri].t[k == NOTICE_SUCCESS ? 0 : 1];
	if (t->body == NULL)
		t = &rn->builtin[k == NOTICE_SUCCESS ? 0 : 1];
	memset(&in, 0, sizeof(in));
	in.qid = qid;
	in.sender = jobs[0].from;
	in.arrival = (time_t)(jobs[0].arrival_us / 1000000);
	in.jobs = jobs;
	in.njobs = n;
	in.subject = jobs[0].nrcpt ? envelope_rcpt_param(&jobs[0].rcpt[0],
	    NOTICE_PARAM_SUBJECT) : NULL;
	in.docs = jobs[0].nrcpt ? envelope_rcpt_param(&jobs[0].rcpt[0],
	    NOTICE_PARAM_DOCS) : NULL;
	rn_envelope(&env, jobs[0].from, ru->notify.connector,
	    rn->cfg->smtp.hostname);
	rc = rn_write(rn, sp, &env, t, &in, k, out);
	if (rc == 0)
		log_info("%s: %s notice to <%s> is %s (connector %s)", qid,
		    k == NOTICE_SUCCESS ? "success" : "failure", jobs[0].from,
		    out, ru->notify.connector);
	envelope_clear(&env);
	return rc == 0 ? 1 : -1;
}

/*
 * router_notice_check - qid's jobs may all have ended: when no work is
 * left, send the notice its records call for and remove them.  1 with
 * the notice's queue ID in out (route it), 0 nothing to send now.
 */
int
router_notice_check(struct router_notice *rn, struct spool *sp,
    const char *qid, char out[SPOOL_QID_LEN + 1])
{
	struct envelope *jobs;
	char **names;
	size_t n, i;
	int rc = 0;

	out[0] = '\0';
	if (spool_notice_busy(sp, qid) != 0)
		return 0;	/* work left, or cannot tell: the scan retries */
	if ((n = rn_load(sp, qid, &jobs, &names)) == 0)
		return 0;
	if ((rc = rn_send(rn, sp, qid, jobs, n, out)) >= 0)
		rn_forget(sp, qid, names, n);
	for (i = 0; i < n; i++) {
		envelope_clear(&jobs[i]);
		free(names[i]);
	}
	free(jobs);
	free(names);
	return rc == 1;
}

/*
 * router_notice_job - a notice message in incoming/ (from <>, one
 * recipient with notice-via): its job for that connector, written
 * with spool_route (durable at the next spool_sync).  1 written (the
 * connector in conn), 0 not a notice, -1 error (it stays in incoming/).
 */
int
router_notice_job(struct router_notice *rn, struct spool *sp,
    const char *qid, const struct envelope *msg, char *conn, size_t connlen)
{
	char err[SPOOL_ERRLEN];
	struct envelope job;
	const char *via;
	int rc;

	if (msg->from == NULL || msg->from[0] != '\0' || msg->nrcpt != 1 ||
	    (via = envelope_rcpt_param(&msg->rcpt[0], NOTICE_PARAM_VIA)) ==
	    NULL || cfg_connector(rn->cfg, via) == NULL)
		return 0;
	envelope_copy(&job, msg);
	job.kind = ENVELOPE_JOB;
	job.connector = xstrdup(via);
	rc = spool_route(sp, qid, &job, 1, err, sizeof(err));
	envelope_clear(&job);
	if (rc == -1) {
		log_warnx("%s: cannot write the notice's job (will retry): %s",
		    qid, err);
		return -1;
	}
	snprintf(conn, connlen, "%s", via);
	log_info("%s: notice to <%s> routed to connector %s", qid,
	    msg->rcpt[0].addr, via);
	return 1;
}

/* router_notice_pending - queue IDs with records in notice/ (free them) */
size_t
router_notice_pending(struct spool *sp, char ***qids)
{
	char **names;
	size_t n, i, k = 0;

	*qids = NULL;
	if (spool_notice_list(sp, &names, &n) == -1) {
		log_warn("scan of %s/", SPOOL_NOTICE_DIR);
		return 0;
	}
	for (i = 0; i < n; i++) {
		names[i][SPOOL_QID_LEN] = '\0';
		if (k > 0 && strcmp((*qids)[k - 1], names[i]) == 0)
			continue;
		*qids = xreallocarray(*qids, k + 1, sizeof(**qids));
		(*qids)[k++] = xstrdup(names[i]);
	}
	spool_free_names(names, n);
	return k;
}
