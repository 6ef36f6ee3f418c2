/*
 * tlswarm.c - one TLS handshake in memory before a process forks
 * (tlswarm.h)
 */
#include "config.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "tlswarm.h"

#define TLSWARM_ROUNDS	16	/* handshake steps of each side, at most */

/* tlswarm_cert - a self-signed certificate of key, valid for a minute */
static X509 *
tlswarm_cert(EVP_PKEY *key)
{
	X509 *x;

	if ((x = X509_new()) == NULL)
		return NULL;
	if (X509_set_version(x, X509_VERSION_3) != 1 ||
	    ASN1_INTEGER_set(X509_get_serialNumber(x), 1) != 1 ||
	    X509_gmtime_adj(X509_getm_notBefore(x), 0) == NULL ||
	    X509_gmtime_adj(X509_getm_notAfter(x), 60) == NULL ||
	    X509_set_pubkey(x, key) != 1 ||
	    X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN",
	    MBSTRING_ASC, (const unsigned char *)"tlswarm", -1, -1, 0) != 1 ||
	    X509_set_issuer_name(x, X509_get_subject_name(x)) != 1 ||
	    X509_sign(x, key, EVP_sha256()) == 0) {
		X509_free(x);
		return NULL;
	}
	return x;
}

/* tlswarm_server - the throwaway server's context (tlswarm.h) */
SSL_CTX *
tlswarm_server(void)
{
	EVP_PKEY *key;
	X509 *cert = NULL;
	SSL_CTX *sctx = NULL;

	if ((key = EVP_EC_gen("P-256")) == NULL ||
	    (cert = tlswarm_cert(key)) == NULL ||
	    (sctx = SSL_CTX_new(TLS_server_method())) == NULL ||
	    SSL_CTX_use_certificate(sctx, cert) != 1 ||
	    SSL_CTX_use_PrivateKey(sctx, key) != 1) {
		SSL_CTX_free(sctx);
		sctx = NULL;
	}
	X509_free(cert);	/* the context holds its own references */
	EVP_PKEY_free(key);
	return sctx;
}

/* tlswarm_client - a handshake of a client of ctx in memory (tlswarm.h) */
int
tlswarm_client(SSL_CTX *ctx)
{
	SSL_CTX *sctx;
	SSL *c = NULL, *s = NULL;
	BIO *bc = NULL, *bs = NULL;
	char buf[1];
	int i, cdone = 0, sdone = 0, rc = -1;

	if ((sctx = tlswarm_server()) == NULL ||
	    (c = SSL_new(ctx)) == NULL || (s = SSL_new(sctx)) == NULL ||
	    BIO_new_bio_pair(&bc, 0, &bs, 0) != 1)
		goto out;
	SSL_set_verify(c, SSL_VERIFY_NONE, NULL);	/* the throwaway peer */
	SSL_set_bio(c, bc, bc);
	SSL_set_bio(s, bs, bs);
	SSL_set_connect_state(c);
	SSL_set_accept_state(s);
	for (i = 0; i < TLSWARM_ROUNDS && !(cdone && sdone); i++) {
		if (!cdone)
			cdone = SSL_do_handshake(c) == 1;
		if (!sdone)
			sdone = SSL_do_handshake(s) == 1;
	}
	/* a record each way: the record layer's cipher too */
	if (cdone && sdone && SSL_write(c, "w", 1) == 1 &&
	    SSL_read(s, buf, 1) == 1 && SSL_write(s, "w", 1) == 1 &&
	    SSL_read(c, buf, 1) == 1)
		rc = 0;
out:
	SSL_free(c);		/* each frees its end of the pair */
	SSL_free(s);
	SSL_CTX_free(sctx);
	ERR_clear_error();	/* nothing of this for the connector's errors */
	return rc;
}
