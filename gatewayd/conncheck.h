/*
 * conncheck.h - warnings about connector settings for gatewayd -n
 *
 * gatewayd -n does not load the connectors (their init() may create
 * directories or read secrets, and the connector ABI has no check-only
 * entry point), so settings that are valid but weaken security are
 * looked at here, from the configuration tree: today the smtp
 * connector's auth.tls (credentials over unverified TLS or cleartext).
 * The pipe connector's settings are checked by its own parser, compiled
 * in (connectors/pipe_config.c, which calls nothing of the worker).
 * The connector logs the same warning when its worker starts.
 */
#ifndef GW_CONNCHECK_H
#define GW_CONNCHECK_H

#include <stdio.h>

struct cfg;

/*
 * Settings a connector would refuse at its start, checked with its own
 * parser where it has one that needs nothing of the worker (pipe): 0, or
 * -1 with the first error (file:line:column) in err.
 */
int conncheck_errors(const struct cfg *, char *err, size_t errlen);
/* Print one "warning:" line per weakened setting to out; their number. */
unsigned int conncheck_warnings(const struct cfg *, FILE *out);

#endif
