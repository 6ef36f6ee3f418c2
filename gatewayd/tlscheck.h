/*
 * tlscheck.h - check the TLS certificate and key files of the listeners
 *
 * Used by the master for gatewayd -n, at start-up and before a reload is
 * accepted, so a missing, unreadable, malformed or mismatched certificate
 * or key is reported with FILE:LINE:COLUMN of its key in the
 * configuration instead of killing the receiver later.  The key is loaded
 * into a throw-away OpenSSL context that is freed (and wiped by OpenSSL)
 * before the function returns.
 */
#ifndef GW_TLSCHECK_H
#define GW_TLSCHECK_H

#include <stddef.h>

struct cfg;

/* 0 when every listener with TLS has a usable pair; -1 with err. */
int tlscheck_config(const struct cfg *, char *err, size_t errlen);

#endif
