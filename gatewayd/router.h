/*
 * router.h - the router process (gatewayd-router): incoming/ -> jobs
 *
 * The router takes each acknowledged message from incoming/, applies the
 * routing rules (rules.h), writes one job per connector in one batch with
 * one spool_sync(), and only then tells the master which worker has work
 * (IPC_JOB_NEW).  It scans incoming/ at start-up and every
 * ROUTER_SCAN_INTERVAL seconds, so a lost notification only delays.
 */
#ifndef GW_ROUTER_H
#define GW_ROUTER_H

#define ROUTER_SCAN_INTERVAL	60	/* seconds between safety scans */
#define ROUTER_BATCH_MAX	512	/* messages per spool_sync() */

#endif
