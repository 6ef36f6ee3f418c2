/*
 * receiver_tls.c - TLS server contexts of the receiver (see receiver_tls.h)
 */
#include "config.h"

#include <stdio.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "cfg.h"
#include "log.h"
#include "receiver_tls.h"
#include "tlscheck.h"
#include "tlspolicy.h"

/* rtls_fatal - the first OpenSSL error of the queue, and exit */
static void __attribute__((noreturn))
rtls_fatal(const struct cfg_listener *l, const char *what, const char *file)
{
	char err[256];
	unsigned long e = ERR_get_error();

	ERR_error_string_n(e, err, sizeof(err));
	fatalx("listener %s: %s %s: %s", l->name, what, file ? file : "",
	    e != 0 ? err : "unknown error");
}

/* receiver_tls_ctx - load the certificate chain and key of a listener */
SSL_CTX *
receiver_tls_ctx(const struct cfg_listener *l)
{
	static const unsigned char sid[] = "gatewayd";
	const char *key;
	char why[256];
	struct tlspolicy p;
	SSL_CTX *ctx;

	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL)
		rtls_fatal(l, "SSL_CTX_new", NULL);
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
	    SSL_OP_CIPHER_SERVER_PREFERENCE);
	tlscheck_policy_of(l, &p);
	if (tlspolicy_apply(ctx, &p, 1, TLSCHECK_CIPHERS, &key, why,
	    sizeof(why)) == -1)
		fatalx("listener %s: %s: %s", l->name, key, why);
	if (tlspolicy_legacy(&p))
		log_warnx("listener %s: tls_min_version %s: TLS 1.0 and 1.1 are "
		    "accepted (OpenSSL security level 0)", l->name,
		    p.min_version);
	if (!SSL_CTX_set_session_id_context(ctx, sid, sizeof(sid) - 1))
		rtls_fatal(l, "session id context", NULL);
	/*
	 * One TLS 1.3 session ticket, not OpenSSL's two: a client resumes
	 * one session at a time, and each ticket costs a write and its
	 * encryption in every handshake.
	 */
	if (!SSL_CTX_set_num_tickets(ctx, 1))
		rtls_fatal(l, "session tickets", NULL);
	if (SSL_CTX_use_certificate_chain_file(ctx, l->tls_cert) != 1)
		rtls_fatal(l, "cannot load the certificate", l->tls_cert);
	if (SSL_CTX_use_PrivateKey_file(ctx, l->tls_key, SSL_FILETYPE_PEM) != 1)
		rtls_fatal(l, "cannot load the private key", l->tls_key);
	if (SSL_CTX_check_private_key(ctx) != 1)
		rtls_fatal(l, "the key does not match the certificate", l->tls_key);
	log_info("listener %s: TLS (%s) with certificate %s, %s to %s", l->name,
	    l->tls == CFG_TLS_IMPLICIT ? "implicit" :
	    l->tls == CFG_TLS_REQUIRED ? "STARTTLS required" : "STARTTLS",
	    l->tls_cert, p.min_version != NULL ? p.min_version : "TLSv1.2",
	    p.max_version != NULL ? p.max_version : "TLSv1.3");
	return ctx;
}

/* receiver_tls_describe - protocol and cipher of a connection */
const char *
receiver_tls_describe(SSL *ssl, char *buf, size_t len)
{
	snprintf(buf, len, "%s:%s", SSL_get_version(ssl),
	    SSL_get_cipher_name(ssl));
	return buf;
}
