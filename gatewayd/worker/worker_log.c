/*
 * worker_log.c - the delivery log line of a recipient, in Postfix's shape
 *
 *   QID: to=<ADDR>, relay=NAME[TYPE], delay=D, delays=a/b/c/d, dsn=X.Y.Z,
 *   status=sent|deferred|failed (CODE X.Y.Z TEXT), rule=RULE,
 *   message-id=<ID>, attempts=N
 *
 * so that tools written for Postfix's logs (pflogsumm and the like) read
 * it.  delay is from arrival to now; delays splits it (seconds, two
 * decimals, as Postfix): a arrival to routed (the receiver and the
 * router), b routed to this attempt's claim (queue and backoff), c claim
 * to the connector's call (the job loaded, handed to the deliverer), d the
 * connector's call (connection and transmission).  gatewayd(8) documents
 * the format; tests/e2e_ops_log.py parses it.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "envelope.h"
#include "failover.h"
#include "log.h"
#include "worker.h"

/* worker_now_us - the wall clock in microseconds (arrival is one too) */
int64_t
worker_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* worker_param_us - a "seconds.micro" parameter in microseconds, or 0 */
static int64_t
worker_param_us(const struct envelope_rcpt *r, const char *name)
{
	const char *v = envelope_rcpt_param(r, name);
	long long s = 0, us = 0;

	if (v == NULL || sscanf(v, "%lld.%6lld", &s, &us) < 1 || s < 0)
		return 0;
	return (int64_t)s * 1000000 + us;
}

/* worker_span - seconds between two times, 0 when unknown or negative */
static double
worker_span(int64_t from, int64_t to)
{
	return from == 0 || to == 0 || to < from ? 0.0 :
	    (double)(to - from) / 1e6;
}

/* worker_delays - "a/b/c/d" as Postfix writes it: 0, or two decimals */
static void
worker_delays(char *buf, size_t len, const double v[4])
{
	size_t off = 0, i;
	int n;

	buf[0] = '\0';
	for (i = 0; i < 4 && off < len; i++) {
		n = v[i] < 0.005 ? snprintf(buf + off, len - off, "%s0",
		    i ? "/" : "") : snprintf(buf + off, len - off, "%s%.2f",
		    i ? "/" : "", v[i]);
		if (n < 0)
			return;
		off += (size_t)n;
	}
}

/*
 * worker_log_rcpt - the one line about a recipient's result; t is NULL
 * when the connector was not called (a suspended destination)
 */
void
worker_log_rcpt(const char *name, const char *type,
    const struct envelope *env, const struct envelope_rcpt *r,
    const struct worker_times *t)
{
	char addr[512], text[1100], mid[300], delays[64];
	const char *status, *rule, *v;
	int64_t now = worker_now_us(), routed = worker_param_us(r, "routed");
	double d[4];

	if (r->state == RCPT_FAILED &&
	    envelope_rcpt_param(r, FAILOVER_PARAM_DONE) != NULL)
		return;		/* failover.c logged the hand-off */
	status = r->state == RCPT_DONE ? "sent" :
	    r->state == RCPT_FAILED ? "failed" : "deferred";
	log_clean(addr, sizeof(addr), r->addr, strlen(r->addr));
	log_clean(text, sizeof(text), r->text ? r->text : "",
	    r->text ? strlen(r->text) : 0);
	d[0] = worker_span(env->arrival_us, routed);
	d[1] = worker_span(routed, t ? t->claimed : now);
	d[2] = t ? worker_span(t->claimed, t->handed) : 0.0;
	d[3] = t ? worker_span(t->handed, t->done) : 0.0;
	worker_delays(delays, sizeof(delays), d);
	rule = envelope_rcpt_param(r, "rule");
	v = envelope_rcpt_param(r, "message-id");
	log_clean(mid, sizeof(mid), v ? v : "", v ? strlen(v) : 0);
	log_info("%s: to=<%s>, relay=%s[%s], delay=%.2f, delays=%s, dsn=%s, "
	    "status=%s (%d %s %s), rule=%s, message-id=%s, attempts=%u",
	    env->id, addr, name, type, worker_span(env->arrival_us, now),
	    delays, r->status[0] ? r->status : "-", status, r->code,
	    r->status, text,
	    rule ? rule : "-", mid[0] ? mid : "-", env->attempts);
}
