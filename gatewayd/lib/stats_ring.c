/*
 * stats_ring.c - the last hour of counters, one snapshot a minute
 * (stats_ring.h)
 */
#include "config.h"

#include <string.h>

#include "stats_ring.h"

const char *const stats_ring_keys[STATS_RING_NKEYS + 1] = {
	"received", "delivered", "deferred", "bounced", "connections",
	"connections_refused", NULL
};

/* stats_ring_init - empty */
void
stats_ring_init(struct stats_ring *r)
{
	memset(r, 0, sizeof(*r));
}

/* stats_ring_at - the i-th snapshot held, oldest first */
static const struct stats_ring_snap *
stats_ring_at(const struct stats_ring *r, size_t i)
{
	return &r->s[(r->head + STATS_RING_LEN - r->n + i) % STATS_RING_LEN];
}

/* stats_ring_fill - the kept counters of totals into v */
static void
stats_ring_fill(uint64_t v[STATS_RING_NKEYS], const struct stats *totals)
{
	size_t k;

	for (k = 0; k < STATS_RING_NKEYS; k++)
		v[k] = stats_get(totals, stats_ring_keys[k]);
}

/* stats_ring_push - a snapshot for the minute of now, once per minute */
int
stats_ring_push(struct stats_ring *r, time_t now, const struct stats *totals)
{
	time_t minute = now - ((now % 60) + 60) % 60;
	struct stats_ring_snap *s;

	if (r->n > 0) {
		const struct stats_ring_snap *last = stats_ring_at(r, r->n - 1);

		if (minute == last->minute)
			return 0;
		if (minute < last->minute)
			stats_ring_init(r);	/* the clock went back */
	}
	s = &r->s[r->head];
	s->minute = minute;
	stats_ring_fill(s->v, totals);
	r->head = (r->head + 1) % STATS_RING_LEN;
	if (r->n < STATS_RING_LEN)
		r->n++;
	return 1;
}

/* stats_ring_diff - b - a per counter, 0 where a counter went back */
static void
stats_ring_diff(uint64_t d[STATS_RING_NKEYS], const uint64_t a[],
    const uint64_t b[])
{
	size_t k;

	for (k = 0; k < STATS_RING_NKEYS; k++)
		d[k] = b[k] >= a[k] ? b[k] - a[k] : 0;
}

/* stats_ring_rows - per-minute differences, the current minute last */
size_t
stats_ring_rows(const struct stats_ring *r, const struct stats *totals,
    struct stats_ring_row *rows)
{
	const struct stats_ring_snap *a, *b;
	uint64_t now[STATS_RING_NKEYS];
	size_t i;

	for (i = 0; i + 1 < r->n; i++) {
		a = stats_ring_at(r, i);
		b = stats_ring_at(r, i + 1);
		rows[i].start = a->minute;
		rows[i].seconds = b->minute - a->minute;
		rows[i].current = 0;
		stats_ring_diff(rows[i].d, a->v, b->v);
	}
	if (r->n == 0)
		return 0;
	a = stats_ring_at(r, r->n - 1);
	stats_ring_fill(now, totals);
	rows[i].start = a->minute;
	rows[i].seconds = 0;
	rows[i].current = 1;
	stats_ring_diff(rows[i].d, a->v, now);
	return r->n;
}
