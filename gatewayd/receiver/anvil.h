/*
 * anvil.h - per client address event rates over a window, as Postfix's anvil
 *
 * A bounded table of client addresses, each with a counter per kind of
 * event (connection, message, recipient) that restarts when its window
 * has passed.  Lookups go through a hash of the address; when the table
 * is full, the address seen least recently is forgotten (it starts again
 * from zero).  Nothing here logs or allocates after anvil_new(): the
 * receiver (receiver_limits.c) decides what to answer.  Used by the one
 * receiver process, so a limit applies to the whole gateway; a reload
 * starts a new receiver with an empty table.
 */
#ifndef GW_ANVIL_H
#define GW_ANVIL_H

#include <stddef.h>
#include <time.h>

enum anvil_kind { ANVIL_CONN = 0, ANVIL_MSG, ANVIL_RCPT, ANVIL_NKINDS };

struct anvil;

/* A table for at most slots addresses (at least 1). */
struct anvil *anvil_new(size_t slots);
void anvil_free(struct anvil *);
/*
 * One event of kind for ip at now, against at most limit per window
 * seconds: 0 when it is allowed (and counted), 1 when it would exceed
 * the limit (not counted).  limit 0 allows everything and counts nothing.
 */
int anvil_hit(struct anvil *, const char *ip, enum anvil_kind kind,
    unsigned long limit, time_t window, time_t now);
/* Addresses tracked now (tests). */
size_t anvil_count(const struct anvil *);

#endif
