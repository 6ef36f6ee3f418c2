/*
 * saslopt.h - Cyrus SASL's options taken from the configuration (sasl.*)
 *
 * Shared by the receiver (SMTP AUTH) and gatewayd-web (its login form
 * checks the same credentials): pwcheck_method, the sasldb plugin and
 * path or the saslauthd socket, the mechanism list, and SASL's own log
 * messages into ours at warning level (never a password).
 */
#ifndef GW_SASLOPT_H
#define GW_SASLOPT_H

#include <sasl/sasl.h>

struct cfg;

/* The callbacks for sasl_server_init(), reading cfg (kept, not copied). */
const sasl_callback_t *saslopt_callbacks(const struct cfg *cfg);

#endif
