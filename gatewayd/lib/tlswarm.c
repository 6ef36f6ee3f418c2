/*
 * tlswarm.c - one TLS handshake in memory before a process forks
 * (tlswarm.h)
 */
#include "config.h"

#include <sys/mman.h>

#include <link.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

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

/*
 * tlswarm_forget_cb - for libcrypto and libssl, drop this process's page
 * table entries of their code (MADV_DONTNEED on their executable, not
 * writable, segments, whole pages inside them only).  The code stays in
 * the page cache, shared with every process that runs it; a call into it
 * here faults it back.  Without this the handshake's server half and key
 * generation, run here only, stay mapped here alone: 3 MiB of this
 * process's PSS where the deliverers do no TLS (performance.md).
 */
static int
tlswarm_forget_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
	uintptr_t pg = (uintptr_t)sysconf(_SC_PAGESIZE), start, end;
	const ElfW(Phdr) *ph;
	int i;

	(void)size;
	(void)arg;
	if (info->dlpi_name == NULL ||
	    (strstr(info->dlpi_name, "/libcrypto.so") == NULL &&
	    strstr(info->dlpi_name, "/libssl.so") == NULL))
		return 0;
	for (i = 0; i < info->dlpi_phnum; i++) {
		ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X) ||
		    (ph->p_flags & PF_W))
			continue;
		start = (info->dlpi_addr + ph->p_vaddr + pg - 1) & ~(pg - 1);
		end = (info->dlpi_addr + ph->p_vaddr + ph->p_memsz) & ~(pg - 1);
		if (end > start)
			(void)madvise((void *)start, end - start, MADV_DONTNEED);
	}
	return 0;
}

/* tlswarm_forget_code - OpenSSL's code out of this process's mappings */
void
tlswarm_forget_code(void)
{
	(void)dl_iterate_phdr(tlswarm_forget_cb, NULL);
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
	tlswarm_forget_code();	/* what was fetched stays, the code goes */
	return rc;
}
