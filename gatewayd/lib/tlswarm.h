/*
 * tlswarm.h - one TLS handshake in memory before a process forks
 *
 * OpenSSL 3 fetches the algorithms a handshake needs (key exchange,
 * signature, hash, cipher, the decoders of the peer's certificate) on
 * first use and keeps them in process-wide caches.  Fetched in each of
 * the smtp connector's twenty deliverers, they cost each about 440 KiB of
 * private heap; fetched once in the worker parent, before it forks them,
 * they are shared.  tlswarm_client() runs a full handshake of a client
 * SSL made from ctx (its certificate check off for this one connection)
 * against a throwaway server in the same process, over a BIO pair: no
 * socket, no file, a fresh P-256 key and self-signed certificate.
 */
#ifndef GW_TLSWARM_H
#define GW_TLSWARM_H

#include <openssl/ssl.h>

/*
 * 0, or -1 if the handshake did not complete (nothing else changes).
 * Either way the process's mappings of OpenSSL's code are dropped after
 * it (tlswarm_forget_code): the algorithms fetched stay in its heap, for
 * the processes it forks.
 */
int tlswarm_client(SSL_CTX *ctx);
/*
 * Drop this process's page table entries of libcrypto's and libssl's
 * code: pages it ran once (a check, a warm-up) no longer count in its
 * memory; they stay in the page cache and fault back if it runs them.
 */
void tlswarm_forget_code(void);
/* The throwaway server's context: a fresh P-256 key, its certificate. */
SSL_CTX *tlswarm_server(void);

#endif
