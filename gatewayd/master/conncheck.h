/*
 * conncheck.h - warnings about connector settings for gatewayd -n
 *
 * gatewayd -n does not load the connectors (their init() may create
 * directories or read secrets, and the connector ABI has no check-only
 * entry point), so settings that are valid but weaken security are
 * looked at here, from the configuration tree: today the smtp
 * connector's auth.tls (credentials over unverified TLS or cleartext).
 * The connector logs the same warning when its worker starts.
 */
#ifndef GW_CONNCHECK_H
#define GW_CONNCHECK_H

#include <stdio.h>

struct cfg;

/* Print one "warning:" line per weakened setting to out; their number. */
unsigned int conncheck_warnings(const struct cfg *, FILE *out);

#endif
