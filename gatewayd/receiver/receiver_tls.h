/*
 * receiver_tls.h - TLS server contexts of the receiver (OpenSSL 3)
 *
 * One SSL_CTX per listener with tls other than none, built before the
 * privilege drop (the key file is usually readable by root only), with
 * the listener's TLS policy (tlspolicy.h; by default TLS 1.2 minimum,
 * forward-secret AEAD ciphers for TLS 1.2, OpenSSL's TLS 1.3 suites, DH
 * parameters chosen by OpenSSL), no compression, no renegotiation.  The private key lives only in
 * the receiver; a reload starts a new receiver, which reads the files
 * again.
 */
#ifndef GW_RECEIVER_TLS_H
#define GW_RECEIVER_TLS_H

#include <stddef.h>

#include <openssl/ssl.h>

struct cfg_listener;

/* The context of a listener; fatal with the OpenSSL reason on error. */
SSL_CTX *receiver_tls_ctx(const struct cfg_listener *);
/* "TLSv1.3:TLS_AES_256_GCM_SHA384" of an established connection. */
const char *receiver_tls_describe(SSL *, char *buf, size_t len);

#endif
