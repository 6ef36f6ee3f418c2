/*
 * router_wait.c - the router's requests that wait for a lookup (router_wait.h)
 *
 * A plain array: requests are parked and taken all at once when an answer
 * lands, so nothing is searched but the message IDs (router_wait_has).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "router_wait.h"
#include "rules.h"
#include "xmalloc.h"

struct router_waits {
	struct router_wait *w;
	size_t n, cap;			/* cap doubles: parking stays cheap */
};

/* router_wait_new - an empty list */
struct router_waits *
router_wait_new(void)
{
	return xcalloc(1, sizeof(struct router_waits));
}

/* router_wait_add - park one request, its strings copied */
int
router_wait_add(struct router_waits *l, int type, const char *const *sv,
    size_t n, const struct rules_recog *recog)
{
	struct router_wait *w;
	size_t i;

	if (l->n >= ROUTER_WAIT_MAX || n > ROUTER_WAIT_STRINGS)
		return -1;
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 16;
		l->w = xreallocarray(l->w, l->cap, sizeof(*l->w));
	}
	w = &l->w[l->n++];
	memset(w, 0, sizeof(*w));
	w->type = type;
	for (i = 0; i < n; i++)
		w->sv[i] = xstrdup(sv[i]);
	if (recog != NULL) {
		w->recog = xmalloc(sizeof(*w->recog));
		memcpy(w->recog, recog, sizeof(*w->recog));
	}
	return 0;
}

/* router_wait_has - is a request of type for id parked? */
int
router_wait_has(const struct router_waits *l, int type, const char *id)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (l->w[i].type == type && l->w[i].sv[0] != NULL &&
		    strcmp(l->w[i].sv[0], id) == 0)
			return 1;
	return 0;
}

/* router_wait_count - how many wait */
size_t
router_wait_count(const struct router_waits *l)
{
	return l->n;
}

/* router_wait_take - every parked request; the list is empty after */
struct router_wait *
router_wait_take(struct router_waits *l, size_t *n)
{
	struct router_wait *w = l->w;

	*n = l->n;
	l->w = NULL;
	l->n = 0;
	l->cap = 0;
	return w;
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
	if (l == NULL)
		return;
	router_wait_done(l->w, l->n);
	free(l);
}
