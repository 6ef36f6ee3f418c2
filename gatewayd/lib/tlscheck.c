/*
 * tlscheck.c - check the TLS certificate and key files (see tlscheck.h)
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/ssl.h>

#include "cfg.h"
#include "tlscheck.h"
#include "tlspolicy.h"

/* tlscheck_error - FILE:LINE:COLUMN: listeners[i].KEY: message */
static int
tlscheck_error(const struct cfg *c, size_t i, const char *key,
    const struct cfg_pos *pos, char *err, size_t errlen, const char *what,
    const char *path, const char *why)
{
	snprintf(err, errlen, "%s:%zu:%zu: listeners[%zu].%s: %s %.200s: %s",
	    c->file, pos->line, pos->column, i, key, what, path, why);
	return -1;
}

/* tlscheck_ssl_reason - the first OpenSSL error of the queue, as text */
static const char *
tlscheck_ssl_reason(void)
{
	unsigned long e = ERR_get_error();
	const char *r = e != 0 ? ERR_reason_error_string(e) : NULL;

	ERR_clear_error();
	return r != NULL ? r : "not usable";
}

/* tlscheck_readable - can path be opened for reading? errno text or NULL */
static const char *
tlscheck_readable(const char *path)
{
	FILE *f = fopen(path, "r");

	if (f == NULL)
		return strerror(errno);
	fclose(f);
	return NULL;
}

/* tlscheck_no_passphrase - an encrypted key is refused, never prompted for */
static int
tlscheck_no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf; (void)size; (void)rwflag; (void)u;
	return 0;
}

/* tlscheck_key - the private key of path, or NULL */
static EVP_PKEY *
tlscheck_key(const char *path)
{
	EVP_PKEY *pkey;
	FILE *f;

	if ((f = fopen(path, "r")) == NULL)
		return NULL;
	pkey = PEM_read_PrivateKey(f, NULL, tlscheck_no_passphrase, NULL);
	fclose(f);
	return pkey;
}

/* tlscheck_listener - load the pair of one listener into a scratch context */
static int
tlscheck_listener(const struct cfg *c, size_t i, SSL_CTX *ctx, char *err,
    size_t errlen)
{
	const struct cfg_listener *l = &c->listeners[i];
	const char *why;
	EVP_PKEY *pkey;
	int match;

	if ((why = tlscheck_readable(l->tls_cert)) != NULL)
		return tlscheck_error(c, i, "tls_cert", &l->tls_cert_pos, err,
		    errlen, "cannot read", l->tls_cert, why);
	if ((why = tlscheck_readable(l->tls_key)) != NULL)
		return tlscheck_error(c, i, "tls_key", &l->tls_key_pos, err,
		    errlen, "cannot read", l->tls_key, why);
	if (SSL_CTX_use_certificate_chain_file(ctx, l->tls_cert) != 1)
		return tlscheck_error(c, i, "tls_cert", &l->tls_cert_pos, err,
		    errlen, "no usable PEM certificate in", l->tls_cert,
		    tlscheck_ssl_reason());
	if ((pkey = tlscheck_key(l->tls_key)) == NULL)
		return tlscheck_error(c, i, "tls_key", &l->tls_key_pos, err,
		    errlen, "no usable PEM private key in", l->tls_key,
		    tlscheck_ssl_reason());
	match = X509_check_private_key(SSL_CTX_get0_certificate(ctx), pkey);
	EVP_PKEY_free(pkey);		/* OpenSSL wipes the key material */
	ERR_clear_error();
	if (match != 1)
		return tlscheck_error(c, i, "tls_key", &l->tls_key_pos, err,
		    errlen, "the key in", l->tls_key,
		    "does not match the certificate (tls_cert)");
	return 0;
}

/* tlscheck_policy_of - the listener's TLS policy as tlspolicy.h takes it */
void
tlscheck_policy_of(const struct cfg_listener *l, struct tlspolicy *p)
{
	p->min_version = l->tlspol.min_version;
	p->max_version = l->tlspol.max_version;
	p->ciphers = l->tlspol.ciphers;
	p->ciphersuites = l->tlspol.ciphersuites;
	p->dh_params = l->tlspol.dh_params;
}

/* tlscheck_policy - versions, cipher lists and DH parameters of a listener */
static int
tlscheck_policy(const struct cfg *c, size_t i, SSL_CTX *ctx, char *err,
    size_t errlen)
{
	static const char *const keys[] = { "tls_min_version",
	    "tls_max_version", "tls_ciphers", "tls_ciphersuites",
	    "tls_dh_params" };
	const struct cfg_listener *l = &c->listeners[i];
	const char *key = keys[0];
	struct tlspolicy p;
	char why[256];
	size_t k;

	tlscheck_policy_of(l, &p);
	if (tlspolicy_apply(ctx, &p, 1, TLSCHECK_CIPHERS, &key, why,
	    sizeof(why)) == 0)
		return 0;
	for (k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
		if (strcmp(keys[k], key) == 0)
			break;
	if (k == sizeof(keys) / sizeof(keys[0]))
		k = 0;
	snprintf(err, errlen, "%s:%zu:%zu: listeners[%zu].%s: %s", c->file,
	    l->tlspol.pos[k].line, l->tlspol.pos[k].column, i, keys[k], why);
	return -1;
}

/* tlscheck_warnings - gatewayd -n: listeners that accept TLS 1.0 or 1.1 */
unsigned int
tlscheck_warnings(const struct cfg *c, FILE *out)
{
	const struct cfg_listener *l;
	struct tlspolicy p;
	unsigned int n = 0;
	size_t i;

	for (i = 0; i < c->nlisteners; i++) {
		l = &c->listeners[i];
		tlscheck_policy_of(l, &p);
		if (l->tls == CFG_TLS_NONE || !tlspolicy_legacy(&p))
			continue;
		fprintf(out, "gatewayd: warning: %s:%zu:%zu: listener %s: "
		    "tls_min_version is %s: TLS 1.0 and 1.1 are obsolete "
		    "(RFC 8996) and run at OpenSSL security level 0\n",
		    c->file, l->tlspol.pos[0].line, l->tlspol.pos[0].column,
		    l->name, l->tlspol.min_version);
		n++;
	}
	return n;
}

/* tlscheck_config - every listener with TLS */
int
tlscheck_config(const struct cfg *c, char *err, size_t errlen)
{
	SSL_CTX *ctx;
	size_t i;
	int r;

	for (i = 0; i < c->nlisteners; i++) {
		if (c->listeners[i].tls == CFG_TLS_NONE)
			continue;
		if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL) {
			snprintf(err, errlen, "SSL_CTX_new: %s",
			    tlscheck_ssl_reason());
			return -1;
		}
		r = tlscheck_listener(c, i, ctx, err, errlen);
		if (r == 0)
			r = tlscheck_policy(c, i, ctx, err, errlen);
		SSL_CTX_free(ctx);
		if (r == -1)
			return -1;
	}
	return 0;
}
