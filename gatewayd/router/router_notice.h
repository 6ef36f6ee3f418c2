/*
 * router_notice.h - the router's part of the notices to the sender
 * (router_notice.c; the whole path is in notice.h)
 */
#ifndef GW_ROUTER_NOTICE_H
#define GW_ROUTER_NOTICE_H

#include <stddef.h>

#include "envelope.h"
#include "spool.h"

struct cfg;
struct router_notice;

/* Load the rules' templates (before the chroot). */
struct router_notice *router_notice_new(const struct cfg *);
void router_notice_free(struct router_notice *);
/* Every job of qid ended? Then its notice; 1 with out to route. */
int router_notice_check(struct router_notice *, struct spool *,
    const char *qid, char out[SPOOL_QID_LEN + 1]);
/* A notice message in incoming/: write its job; 1, 0 (not one), -1. */
int router_notice_job(struct router_notice *, struct spool *,
    const char *qid, const struct envelope *msg, char *conn, size_t connlen);
/* The queue IDs that have records in notice/, sorted (caller frees). */
size_t router_notice_pending(struct spool *, char ***qids);

#endif
