/*
 * router_wait.c - the router's requests that wait for a lookup (router_wait.h)
 *
 * Requests live in slots (an array that doubles up to ROUTER_WAIT_MAX,
 * freed slots reused); each parking gets a new sequence number.  A hash
 * table maps each (table, key) that something waits for to the slots and
 * sequence numbers of its waiters.  A request taken through one key
 * leaves stale references in its other keys' lists: they are recognised
 * by the sequence number (the slot is free or holds a later request),
 * skipped, and dropped when that key lands or its list must grow.  So an
 * answer costs its waiters, and parking costs its keys.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "router_wait.h"
#include "rules.h"
#include "xmalloc.h"

#define RW_BUCKETS	1024		/* hash chains of the keys */

/* A slot: a parked request, or free (seq 0). */
struct rw_slot {
	struct router_wait w;
	unsigned long seq;
};

/* A waiter of a key: valid while its slot still has that seq. */
struct rw_ref {
	size_t slot;
	unsigned long seq;
};

/* A (table, key) that requests wait for, and its waiters. */
struct rw_key {
	const void *table;
	char *key;			/* NULL: the requests without keys */
	struct rw_ref *refs;
	size_t n, cap;
	struct rw_key *next;		/* hash chain */
};

/* A (table, key) asked or landed. */
struct rw_name {
	const void *table;
	char *key;
};

struct router_waits {
	struct rw_slot *slots;
	size_t *spare;			/* freed slot indices, a stack */
	size_t cap, hi, nspare;		/* allocated, ever used, freed */
	size_t n;			/* parked */
	unsigned long seq;
	struct rw_key *hash[RW_BUCKETS];
	struct rw_key any;		/* parked without keys */
	struct rw_name asked[ROUTER_WAIT_KEYS];
	size_t nasked;
	struct rw_name *landed;
	size_t nlanded, caplanded;
	int landed_all;			/* too many answers: take them all */
};

/* router_wait_new - an empty list */
struct router_waits *
router_wait_new(void)
{
	return xcalloc(1, sizeof(struct router_waits));
}

/* rw_hash - the chain of (table, key): FNV-1a */
static size_t
rw_hash(const void *table, const char *key)
{
	uint64_t h = 1469598103934665603ULL ^ (uint64_t)(uintptr_t)table;

	for (; *key != '\0'; key++)
		h = (h ^ (unsigned char)*key) * 1099511628211ULL;
	return (size_t)(h % RW_BUCKETS);
}

/* rw_key_find - the entry of (table, key), made when create; or NULL */
static struct rw_key *
rw_key_find(struct router_waits *l, const void *table, const char *key,
    int create)
{
	size_t h = rw_hash(table, key);
	struct rw_key *k;

	for (k = l->hash[h]; k != NULL; k = k->next)
		if (k->table == table && strcmp(k->key, key) == 0)
			return k;
	if (!create)
		return NULL;
	k = xcalloc(1, sizeof(*k));
	k->table = table;
	k->key = xstrdup(key);
	k->next = l->hash[h];
	l->hash[h] = k;
	return k;
}

/* rw_key_unlink - take (table, key)'s entry out of the table and free it */
static void
rw_key_unlink(struct router_waits *l, struct rw_key *k)
{
	struct rw_key **pp;

	for (pp = &l->hash[rw_hash(k->table, k->key)]; *pp != NULL;
	    pp = &(*pp)->next)
		if (*pp == k) {
			*pp = k->next;
			break;
		}
	free(k->key);
	free(k->refs);
	free(k);
}

/* rw_live - does the reference still name its parked request? */
static int
rw_live(const struct router_waits *l, const struct rw_ref *r)
{
	return r->slot < l->hi && l->slots[r->slot].seq == r->seq;
}

/* rw_ref_add - one more waiter of k; stale ones go before the list grows */
static void
rw_ref_add(struct router_waits *l, struct rw_key *k, size_t slot,
    unsigned long seq)
{
	size_t i, j;

	if (k->n == k->cap) {
		for (i = j = 0; i < k->n; i++)
			if (rw_live(l, &k->refs[i]))
				k->refs[j++] = k->refs[i];
		k->n = j;
	}
	if (k->n == k->cap) {
		k->cap = k->cap ? k->cap * 2 : 4;
		k->refs = xreallocarray(k->refs, k->cap, sizeof(*k->refs));
	}
	k->refs[k->n].slot = slot;
	k->refs[k->n++].seq = seq;
}

/* rw_slot_new - a free slot's index (the list is not full) */
static size_t
rw_slot_new(struct router_waits *l)
{
	if (l->nspare > 0)
		return l->spare[--l->nspare];
	if (l->hi == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 16;
		if (l->cap > ROUTER_WAIT_MAX)
			l->cap = ROUTER_WAIT_MAX;
		l->slots = xreallocarray(l->slots, l->cap, sizeof(*l->slots));
		l->spare = xreallocarray(l->spare, l->cap, sizeof(*l->spare));
	}
	return l->hi++;
}

/* rw_names_clear - forget n asked or landed names */
static void
rw_names_clear(struct rw_name *v, size_t *n)
{
	size_t i;

	for (i = 0; i < *n; i++)
		free(v[i].key);
	*n = 0;
}

/* router_wait_begin - a new decision: no key asked yet */
void
router_wait_begin(struct router_waits *l)
{
	rw_names_clear(l->asked, &l->nasked);
}

/* router_wait_asked - the decision waits for key in table (kept once) */
void
router_wait_asked(struct router_waits *l, const void *table, const char *key)
{
	size_t i;

	for (i = 0; i < l->nasked; i++)
		if (l->asked[i].table == table &&
		    strcmp(l->asked[i].key, key) == 0)
			return;
	if (l->nasked == ROUTER_WAIT_KEYS)
		return;	/* woken by one of these, it parks again on the rest */
	l->asked[l->nasked].table = table;
	l->asked[l->nasked++].key = xstrdup(key);
}

/* router_wait_add - park one request, its strings copied, on its keys */
int
router_wait_add(struct router_waits *l, int type, const char *const *sv,
    size_t n, const struct rules_recog *recog)
{
	struct router_wait *w;
	size_t i, slot;

	if (l->n >= ROUTER_WAIT_MAX || n > ROUTER_WAIT_STRINGS) {
		router_wait_begin(l);
		return -1;
	}
	slot = rw_slot_new(l);
	l->slots[slot].seq = ++l->seq;
	w = &l->slots[slot].w;
	memset(w, 0, sizeof(*w));
	w->type = type;
	for (i = 0; i < n; i++)
		w->sv[i] = xstrdup(sv[i]);
	if (recog != NULL) {
		w->recog = xmalloc(sizeof(*w->recog));
		memcpy(w->recog, recog, sizeof(*w->recog));
	}
	for (i = 0; i < l->nasked; i++)
		rw_ref_add(l, rw_key_find(l, l->asked[i].table,
		    l->asked[i].key, 1), slot, l->seq);
	if (l->nasked == 0)
		rw_ref_add(l, &l->any, slot, l->seq);
	l->n++;
	router_wait_begin(l);
	return 0;
}

/* router_wait_has - is a request of type for id parked? */
int
router_wait_has(const struct router_waits *l, int type, const char *id)
{
	const struct router_wait *w;
	size_t i;

	for (i = 0; i < l->hi; i++) {
		w = &l->slots[i].w;
		if (l->slots[i].seq != 0 && w->type == type &&
		    w->sv[0] != NULL && strcmp(w->sv[0], id) == 0)
			return 1;
	}
	return 0;
}

/* router_wait_count - how many wait */
size_t
router_wait_count(const struct router_waits *l)
{
	return l->n;
}

/* router_wait_landed - an answer for key in table: remember it */
void
router_wait_landed(struct router_waits *l, const void *table, const char *key)
{
	if (l->nlanded == ROUTER_WAIT_LANDED_MAX) {
		l->landed_all = 1;
		return;
	}
	if (l->nlanded == l->caplanded) {
		l->caplanded = l->caplanded ? l->caplanded * 2 : 16;
		l->landed = xreallocarray(l->landed, l->caplanded,
		    sizeof(*l->landed));
	}
	l->landed[l->nlanded].table = table;
	l->landed[l->nlanded++].key = xstrdup(key);
}

/* rw_take_refs - move k's live waiters to out (*nout of them); k empty */
static void
rw_take_refs(struct router_waits *l, struct rw_key *k,
    struct router_wait **out, size_t *nout, size_t *cap)
{
	size_t i, s;

	if (*nout + k->n > *cap) {
		*cap = *nout + k->n;
		*out = xreallocarray(*out, *cap, sizeof(**out));
	}
	for (i = 0; i < k->n; i++) {
		if (!rw_live(l, &k->refs[i]))
			continue;
		s = k->refs[i].slot;
		(*out)[(*nout)++] = l->slots[s].w;
		l->slots[s].seq = 0;
		l->spare[l->nspare++] = s;
		l->n--;
	}
	k->n = 0;
}

/* router_wait_take_landed - the waiters of the keys landed since last */
struct router_wait *
router_wait_take_landed(struct router_waits *l, size_t *n)
{
	struct router_wait *out = NULL;
	struct rw_key *k;
	size_t i, cap = 0;

	*n = 0;
	if (l->landed_all) {
		rw_names_clear(l->landed, &l->nlanded);
		l->landed_all = 0;
		return router_wait_take(l, n);
	}
	for (i = 0; i < l->nlanded; i++)
		if ((k = rw_key_find(l, l->landed[i].table, l->landed[i].key,
		    0)) != NULL) {
			rw_take_refs(l, k, &out, n, &cap);
			rw_key_unlink(l, k);
		}
	if (l->nlanded > 0)
		rw_take_refs(l, &l->any, &out, n, &cap);
	rw_names_clear(l->landed, &l->nlanded);
	return out;
}

/* rw_seq_cmp - parking order of two slots */
static int
rw_seq_cmp(const void *a, const void *b, void *arg)
{
	const struct rw_slot *s = arg;
	unsigned long x = s[*(const size_t *)a].seq;
	unsigned long y = s[*(const size_t *)b].seq;

	return x < y ? -1 : x > y;
}

/* router_wait_take - every parked request, in parking order; empty after */
struct router_wait *
router_wait_take(struct router_waits *l, size_t *n)
{
	struct router_wait *out;
	size_t i, k = 0, *order;

	*n = 0;
	out = xcalloc(l->n ? l->n : 1, sizeof(*out));
	order = xcalloc(l->hi ? l->hi : 1, sizeof(*order));
	for (i = 0; i < l->hi; i++)
		if (l->slots[i].seq != 0)
			order[k++] = i;
	qsort_r(order, k, sizeof(*order), rw_seq_cmp, l->slots);
	for (i = 0; i < k; i++)
		out[i] = l->slots[order[i]].w;
	free(order);
	for (i = 0; i < RW_BUCKETS; i++)
		while (l->hash[i] != NULL)
			rw_key_unlink(l, l->hash[i]);
	l->any.n = 0;
	l->hi = l->nspare = l->n = 0;	/* every slot free again */
	*n = k;
	return out;
}

/* router_wait_done - free taken requests */
void
router_wait_done(struct router_wait *w, size_t n)
{
	size_t i, j;

	for (i = 0; i < n; i++) {
		for (j = 0; w[i].sv[j] != NULL; j++)
			free(w[i].sv[j]);
		free(w[i].recog);
	}
	free(w);
}

/* router_wait_free - the list and what it holds */
void
router_wait_free(struct router_waits *l)
{
	struct router_wait *w;
	size_t n;

	if (l == NULL)
		return;
	w = router_wait_take(l, &n);
	router_wait_done(w, n);
	router_wait_begin(l);
	rw_names_clear(l->landed, &l->nlanded);
	free(l->landed);
	free(l->any.refs);
	free(l->slots);
	free(l->spare);
	free(l);
}
