/*
 * tlspolicy.h - protocol versions, cipher lists and DH parameters of a TLS
 * context, shared by the receiver's listeners and the smtp connector
 *
 * The policy is text as the configuration spells it; tlspolicy_apply()
 * checks it and sets it on an OpenSSL 3 context, or says what is wrong
 * and which key holds the mistake.  It never logs (the connector and the
 * daemon log differently), so it is linked into both.
 *
 * Versions: TLSv1, TLSv1.1, TLSv1.2, TLSv1.3; the default is TLS 1.2 up to
 * the highest.  OpenSSL 3 refuses TLS 1.0 and 1.1 at its default security
 * level 1 and Debian's level 2, so a policy whose minimum is below TLS 1.2
 * runs at security level 0 (as "@SECLEVEL=0" in a cipher list would) and,
 * unless tls_ciphers is set, adds the CBC suites those versions need.
 * DH parameters (servers only): "auto" (the default: OpenSSL picks a
 * group matching the key), "none" (no DHE suite is negotiated) or a PEM
 * file of DH parameters.
 */
#ifndef GW_TLSPOLICY_H
#define GW_TLSPOLICY_H

#include <stddef.h>

#include <openssl/ssl.h>

struct tlspolicy {
	const char *min_version;	/* NULL = TLSv1.2 */
	const char *max_version;	/* NULL = the highest OpenSSL knows */
	const char *ciphers;		/* TLS 1.2 and older, NULL = built-in list */
	const char *ciphersuites;	/* TLS 1.3, NULL = OpenSSL's */
	const char *dh_params;		/* servers: FILE, auto, none; NULL = auto */
};

/* TLS1_VERSION..TLS1_3_VERSION for a name, or -1. */
int tlspolicy_version(const char *name);
/* Does the policy allow TLS 1.0 or 1.1? */
int tlspolicy_legacy(const struct tlspolicy *);
/*
 * Set the policy on ctx (server: DH parameters too; default_ciphers is the
 * caller's TLS 1.2 list when ciphers is NULL).  0, or -1 with err and
 * *key set to the name of the key at fault ("tls_min_version"...).
 */
int tlspolicy_apply(SSL_CTX *, const struct tlspolicy *, int server,
    const char *default_ciphers, const char **key, char *err, size_t errlen);
/* "TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)". */
const char *tlspolicy_describe(const SSL *, char *buf, size_t len);

#endif
