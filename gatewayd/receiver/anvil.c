/*
 * anvil.c - per client address event rates (see anvil.h)
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include "anvil.h"
#include "xmalloc.h"

#define ANVIL_IP_MAX	64

struct anvil_entry {
	char ip[ANVIL_IP_MAX];		/* "" = free */
	time_t first[ANVIL_NKINDS];	/* start of the current window */
	unsigned long count[ANVIL_NKINDS];
	struct anvil_entry *next;	/* hash chain */
	TAILQ_ENTRY(anvil_entry) lru;	/* least recently seen first */
};

struct anvil {
	struct anvil_entry *entries;
	struct anvil_entry **buckets;
	size_t slots, nbuckets, used;
	TAILQ_HEAD(, anvil_entry) lru;
};

/* anvil_hash - FNV-1a of the address text */
static size_t
anvil_hash(const struct anvil *a, const char *ip)
{
	uint32_t h = 2166136261u;

	for (; *ip != '\0'; ip++)
		h = (h ^ (unsigned char)*ip) * 16777619u;
	return h % a->nbuckets;
}

/* anvil_new - an empty table of slots entries */
struct anvil *
anvil_new(size_t slots)
{
	struct anvil *a = xcalloc(1, sizeof(*a));

	a->slots = slots > 0 ? slots : 1;
	a->nbuckets = a->slots * 2 + 1;
	a->entries = xcalloc(a->slots, sizeof(*a->entries));
	a->buckets = xcalloc(a->nbuckets, sizeof(*a->buckets));
	TAILQ_INIT(&a->lru);
	return a;
}

/* anvil_free - release the table */
void
anvil_free(struct anvil *a)
{
	if (a == NULL)
		return;
	free(a->entries);
	free(a->buckets);
	free(a);
}

/* anvil_unlink - take e out of its hash chain */
static void
anvil_unlink(struct anvil *a, struct anvil_entry *e)
{
	struct anvil_entry **pp = &a->buckets[anvil_hash(a, e->ip)];

	while (*pp != NULL && *pp != e)
		pp = &(*pp)->next;
	if (*pp == e)
		*pp = e->next;
	e->next = NULL;
}

/* anvil_find - the entry of ip, made (evicting the oldest) if needed */
static struct anvil_entry *
anvil_find(struct anvil *a, const char *ip)
{
	size_t b = anvil_hash(a, ip);
	struct anvil_entry *e;

	for (e = a->buckets[b]; e != NULL; e = e->next)
		if (strcmp(e->ip, ip) == 0) {
			TAILQ_REMOVE(&a->lru, e, lru);
			TAILQ_INSERT_TAIL(&a->lru, e, lru);
			return e;
		}
	if (a->used < a->slots)
		e = &a->entries[a->used++];
	else {
		e = TAILQ_FIRST(&a->lru);	/* the address seen longest ago */
		TAILQ_REMOVE(&a->lru, e, lru);
		anvil_unlink(a, e);
	}
	memset(e, 0, sizeof(*e));
	snprintf(e->ip, sizeof(e->ip), "%s", ip);
	e->next = a->buckets[b];
	a->buckets[b] = e;
	TAILQ_INSERT_TAIL(&a->lru, e, lru);
	return e;
}

/* anvil_hit - count one event unless it would pass the limit */
int
anvil_hit(struct anvil *a, const char *ip, enum anvil_kind kind,
    unsigned long limit, time_t window, time_t now)
{
	struct anvil_entry *e;

	if (limit == 0 || kind < 0 || kind >= ANVIL_NKINDS)
		return 0;
	e = anvil_find(a, ip);
	if (e->count[kind] == 0 || now - e->first[kind] >= window ||
	    now < e->first[kind]) {	/* a new window (or the clock went back) */
		e->first[kind] = now;
		e->count[kind] = 0;
	}
	if (e->count[kind] >= limit)
		return 1;
	e->count[kind]++;
	return 0;
}

/* anvil_count - addresses in the table */
size_t
anvil_count(const struct anvil *a)
{
	return a->used;
}
