/*
 * tlscheck.h - check the TLS certificate and key files of the listeners
 *
 * Used by the master for gatewayd -n, at start-up and before a reload is
 * accepted, so a missing, unreadable, malformed or mismatched certificate
 * or key is reported with FILE:LINE:COLUMN of its key in the
 * configuration instead of killing the receiver later.  The key is loaded
 * into a throw-away OpenSSL context that is freed (and wiped by OpenSSL)
 * before the function returns.  The TLS policy (versions, cipher lists,
 * DH parameters; tlspolicy.h) is set on the same context, so a list that
 * selects nothing is a configuration error too.
 */
#ifndef GW_TLSCHECK_H
#define GW_TLSCHECK_H

#include <stddef.h>
#include <stdio.h>

struct cfg;
struct cfg_listener;
struct tlspolicy;

/* Mozilla "intermediate" TLS 1.2 ciphers of the listeners: ECDHE/DHE, AEAD. */
#define TLSCHECK_CIPHERS "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:" \
	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:" \
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:" \
	"DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384"

/* 0 when every listener with TLS has a usable pair; -1 with err. */
int tlscheck_config(const struct cfg *, char *err, size_t errlen);
/* The TLS policy keys of a listener (strings owned by the listener). */
void tlscheck_policy_of(const struct cfg_listener *, struct tlspolicy *);
/* gatewayd -n: print a warning per listener allowing TLS 1.0/1.1; count. */
unsigned int tlscheck_warnings(const struct cfg *, FILE *out);

#endif
