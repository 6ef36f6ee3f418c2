/*
 * stats_ring.h - the last hour of counters, one snapshot a minute
 *
 * The master takes a snapshot of its counter totals (stats.h) at each
 * minute boundary and keeps the last STATS_RING_LEN of them; the rows of
 * "stats history" (gatewayctl stats --history, the web console's chart)
 * are the differences between consecutive snapshots, and a last row for
 * the current minute from the live totals.  Fixed size, no allocation,
 * no I/O: a snapshot is STATS_RING_NKEYS numbers and a time.
 *
 * Time only moves forward here: a snapshot for the minute already held
 * is ignored (a timer that fired a little early), and one for an older
 * minute (the clock was set back) empties the ring first, so every row
 * covers a positive span.  Totals never go backwards (they saturate), but
 * a difference is taken as 0 if one did.
 */
#ifndef GW_STATS_RING_H
#define GW_STATS_RING_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "stats.h"

#define STATS_RING_LEN		60	/* snapshots: 59 whole minutes + the current */
#define STATS_RING_NKEYS	6

/* The counters kept, in row order (stats.h names), NULL-terminated. */
extern const char *const stats_ring_keys[];

struct stats_ring_snap {
	time_t minute;			/* a multiple of 60 */
	uint64_t v[STATS_RING_NKEYS];
};

struct stats_ring {
	struct stats_ring_snap s[STATS_RING_LEN];
	size_t head;			/* the slot the next snapshot takes */
	size_t n;			/* snapshots held */
};

struct stats_ring_row {
	time_t start;			/* the snapshot's minute */
	time_t seconds;			/* to the next one; 0 for the current row */
	int current;			/* the minute still running */
	uint64_t d[STATS_RING_NKEYS];
};

void stats_ring_init(struct stats_ring *);
/*
 * Record totals as they are at the start of the minute holding now.
 * Returns 1 if a snapshot was added, 0 if that minute is held already.
 */
int stats_ring_push(struct stats_ring *, time_t now, const struct stats *);
/*
 * The rows, oldest first, into rows[STATS_RING_LEN]: one per pair of
 * consecutive snapshots and the current minute (totals minus the newest
 * snapshot).  Returns their number, 0 when the ring is empty.
 */
size_t stats_ring_rows(const struct stats_ring *, const struct stats *,
    struct stats_ring_row *rows);

#endif
