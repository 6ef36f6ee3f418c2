/*
 * control_history.c - the last hour of counters: "stats history"
 *
 * A timer of the master's loop takes a snapshot of the counter totals
 * (control_ops.c) at each minute boundary into a ring (stats_ring.h): no
 * disk, no work on a message's path, STATS_RING_LEN snapshots of
 * STATS_RING_NKEYS numbers.  "stats history" (gatewayctl stats
 * --history, the web console's chart) is answered by a control child
 * from its copy of the ring: one row per minute, oldest first, the
 * current minute last, as a table or as JSON Lines (textout.h).
 */
#include "config.h"

#include <stdio.h>
#include <sys/time.h>
#include <sysexits.h>
#include <time.h>

#include <event2/event.h>

#include "control.h"
#include "control_int.h"
#include "log.h"
#include "stats_ring.h"
#include "textout.h"

static struct stats_ring history_ring;
static struct event *history_ev;

/* history_arm - the timer for the next minute boundary (a little after) */
static void
history_arm(void)
{
	struct timeval now, tv;

	(void)gettimeofday(&now, NULL);
	tv.tv_sec = 59 - now.tv_sec % 60;
	tv.tv_usec = 1000000 - now.tv_usec + 50000;	/* 50 ms late */
	if (tv.tv_usec >= 1000000) {
		tv.tv_sec++;
		tv.tv_usec -= 1000000;
	}
	if (evtimer_add(history_ev, &tv) == -1)
		log_warnx("control: the counter history timer: evtimer_add");
}

/*
 * history_tick - a minute began: its snapshot.  A timer that fires a
 * little early re-arms for the boundary it missed and takes nothing.
 */
static void
history_tick(evutil_socket_t fd, short ev, void *arg)
{
	(void)fd;
	(void)ev;
	(void)arg;
	(void)stats_ring_push(&history_ring, time(NULL), control_totals());
	history_arm();
}

/* control_history_start - the first snapshot (all zero) and the timer */
void
control_history_start(struct event_base *base)
{
	stats_ring_init(&history_ring);
	(void)stats_ring_push(&history_ring, time(NULL), control_totals());
	if ((history_ev = evtimer_new(base, history_tick, NULL)) == NULL)
		fatalx("control: the counter history timer");
	history_arm();
}

/* history_minute - "2026-12-05T17:09Z" */
static const char *
history_minute(time_t t, char *buf, size_t len)
{
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(buf, len, "%Y-%m-%dT%H:%MZ", &tm) == 0)
		snprintf(buf, len, "%lld", (long long)t);
	return buf;
}

/* history_json - one row as a JSON object on a line of its own */
static void
history_json(FILE *fp, const struct stats_ring_row *row)
{
	struct textout_json j;
	char minute[32];
	size_t k;

	textout_json_init(&j, fp);
	textout_json_object(&j, NULL);
	textout_json_int(&j, "time", (long long)row->start);
	textout_json_str(&j, "minute", history_minute(row->start, minute,
	    sizeof(minute)));
	textout_json_int(&j, "seconds", (long long)row->seconds);
	textout_json_bool(&j, "current", row->current);
	for (k = 0; k < STATS_RING_NKEYS; k++)
		textout_json_uint(&j, stats_ring_keys[k], row->d[k]);
	textout_json_close(&j);
	textout_json_end(&j);
}

/* history_text - one row of the table; the current minute marked '*' */
static void
history_text(FILE *fp, const struct stats_ring_row *row)
{
	char minute[32];
	size_t k;

	fprintf(fp, "%-17s%c", history_minute(row->start, minute,
	    sizeof(minute)), row->current ? '*' : ' ');
	for (k = 0; k < STATS_RING_NKEYS; k++)
		fprintf(fp, " %*llu", k < 4 ? 9 : 11,
		    (unsigned long long)row->d[k]);
	fputc('\n', fp);
}

/*
 * control_stats_history - stats history: the counters' differences per
 * minute over the last hour, oldest first (a control child)
 */
int
control_stats_history(const struct control_req *req, struct spool *sp,
    FILE *fp, int notify)
{
	struct stats_ring_row rows[STATS_RING_LEN];
	size_t n, i;

	(void)sp;
	(void)notify;
	if (req->argc != 2) {
		fprintf(fp, "E%d usage: stats history\n", EX_USAGE);
		return 0;
	}
	n = stats_ring_rows(&history_ring, control_totals(), rows);
	if (!req->json)
		fprintf(fp, "%-18s %9s %9s %9s %9s %11s %11s\n", "minute (UTC)",
		    "received", "delivered", "deferred", "bounced",
		    "connections", "refused");
	for (i = 0; i < n; i++) {
		if (req->json)
			history_json(fp, &rows[i]);
		else
			history_text(fp, &rows[i]);
	}
	return 0;
}
