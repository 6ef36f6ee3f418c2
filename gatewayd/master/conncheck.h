/*
 * conncheck.h - warnings about connector settings for gatewayd -n
 *
 * The master loads no connector (their check() runs in a worker started
 * as the gateway's user, lib/cfgcheck.c, and says only valid or not), so
 * settings that are valid but weaken security are looked at here, from
 * the configuration tree: today the smtp connector's auth.tls
 * (credentials over unverified TLS or cleartext), the webdav and http
 * connectors' tls_verify: no and auth_file over http://.  The connector
 * logs the same warning when its worker starts.
 */
#ifndef GW_CONNCHECK_H
#define GW_CONNCHECK_H

#include <stdio.h>

struct cfg;

/* Print one "warning:" line per weakened setting to out; their number. */
unsigned int conncheck_warnings(const struct cfg *, FILE *out);

#endif
