/*
 * stats.h - counters: the frames children send and the master's totals
 *
 * A child counts events in a struct stats and sends the deltas since its
 * last frame as IPC strings "key=N" (IPC_RECV_STATS, IPC_WORKER_STATS); the
 * master adds them to its totals, which therefore survive child restarts.
 * Keys are [a-z0-9_.] (at most STATS_KEY_MAX - 1 bytes), values decimal
 * without sign or leading zeros and at most UINT64_MAX.  stats_decode()
 * refuses a frame with a malformed string, a key not in the list below or
 * a key given twice, and then adds nothing.
 *
 * Keys in use: connections, connections_refused, received,
 * reject.<code>[.<enhanced>] (receiver; code 4xx or 5xx, enhanced
 * "c.sss.ddd" of the same class); delivered, deferred, bounced (worker,
 * one per job attempt outcome).  Totals saturate at UINT64_MAX.
 */
#ifndef GW_STATS_H
#define GW_STATS_H

#include <stddef.h>
#include <stdint.h>

#define STATS_KEY_MAX		64
#define STATS_MAX_KEYS		512	/* distinct keys kept; more are dropped */

struct stats_counter {
	char key[STATS_KEY_MAX];
	uint64_t value;
};

struct stats {
	struct stats_counter *v;
	size_t n, cap;
};

/* Is key usable as a counter name? */
/* The core counter names (always shown, even at zero), NULL-terminated. */
extern const char *const stats_core[];
int stats_key_valid(const char *key);
/* Is key one of the counters above (what stats_decode() accepts)? */
int stats_key_known(const char *key);
/* Add delta to key (created at 0); -1 if the key is invalid or the table full. */
int stats_add(struct stats *, const char *key, uint64_t delta);
uint64_t stats_get(const struct stats *, const char *key);
/* Sort the counters by key (for output). */
void stats_sort(struct stats *);
void stats_clear(struct stats *);
/*
 * The nonzero counters as "key=N" strings in buf, pointers in strv (NULL
 * terminated, at most max - 1 entries), and reset them to 0.  Returns the
 * number of strings; counters that did not fit stay for the next frame.
 */
size_t stats_encode(struct stats *, char *buf, size_t buflen,
    const char **strv, size_t max);
/* Strictly decode n "key=N" strings into total; -1 (nothing added) if one is malformed. */
int stats_decode(const char *const *strv, size_t n, struct stats *total);

#endif
