/*
 * router.h - the router process (gatewayd-router): incoming/ -> jobs
 *
 * The router takes each acknowledged message from incoming/, applies the
 * routing rules (rules.h), writes one job per connector, and tells the
 * master which worker has work (IPC_JOB_NEW).  The jobs reach the disk
 * with one spool_sync() at most ROUTER_SYNC_MS later, or at once when
 * ROUTER_SYNC_MAX messages wait for it; the message stays in incoming/
 * until then (router.c).  It scans incoming/ at start-up and every
 * ROUTER_SCAN_INTERVAL seconds, so a lost notification only delays.
 * A message with a recipient that cannot be decided now (a lookup that
 * answers with a temporary failure, 4xx) is not routed at all: it stays
 * in incoming/ and is routed again after ROUTER_DEFER_INTERVAL seconds,
 * so a temporary failure never becomes a bounce.
 */
#ifndef GW_ROUTER_H
#define GW_ROUTER_H

#define ROUTER_SCAN_INTERVAL	60	/* seconds between safety scans */
#define ROUTER_UNLINK_SYNC	1	/* seconds: incoming/ unlinks on disk */
#define ROUTER_BATCH_MAX	512	/* messages routed per batch */
#define ROUTER_SYNC_MS		50	/* routed jobs to the disk within */
#define ROUTER_SYNC_MAX		512	/* or at once when this many wait */
#define ROUTER_DEFER_INTERVAL	10	/* seconds before deferred ones again */
#define ROUTER_MSGID_MAX	256	/* a Message-ID longer is not logged */

#endif
