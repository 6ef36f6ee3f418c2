/*
 * cfgcheck.h - run every connector's check() for gatewayd -n and
 * gatewayctl check
 *
 * A connector is code the core does not know, so neither the master (root)
 * nor gatewayctl loads one into its own address space.  For each configured
 * instance cfgcheck forks a child that drops to the gateway's user (when
 * root) and execs gatewayd-worker -C with the configuration text on
 * PROC_FD_CONFIG (a sealed memfd, as for a real worker).  The worker
 * loads the object with the loader's checks and runs its check() entry
 * point (worker/worker_check.c); cfgcheck relays what it printed and
 * judges by its exit status.  Each check is bounded by CFGCHECK_TIMEOUT.
 * See doc/security.md.
 */
#ifndef GW_CFGCHECK_H
#define GW_CFGCHECK_H

#include <stddef.h>
#include <stdio.h>

#define CFGCHECK_TIMEOUT	30	/* seconds for one connector's check */
#define CFGCHECK_OUTPUT		8192	/* bytes of a check's output kept */

struct cfg;

/*
 * Check every connector instance of cfg.  text/len is the configuration
 * as validated (NULL: read it again from path).  Each line a check
 * printed goes to out after "prog: ".  Returns the number of instances
 * whose settings were refused or could not be checked.
 */
unsigned int cfgcheck_connectors(const struct cfg *cfg, const char *path,
    const char *text, size_t len, const char *prog, FILE *out);

#endif
