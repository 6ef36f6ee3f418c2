/*
 * tlspolicy.c - TLS versions, ciphers and DH parameters (see tlspolicy.h)
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include "tlspolicy.h"

/* The suites TLS 1.0 and 1.1 need (no AEAD before TLS 1.2). */
#define TLSPOLICY_LEGACY_CIPHERS "ECDHE-ECDSA-AES128-SHA:ECDHE-RSA-AES128-SHA:" \
	"ECDHE-ECDSA-AES256-SHA:ECDHE-RSA-AES256-SHA:" \
	"DHE-RSA-AES128-SHA:DHE-RSA-AES256-SHA:AES128-SHA:AES256-SHA"

static const struct {
	const char *name;
	int version;
} tlspolicy_versions[] = {
	{ "TLSv1", TLS1_VERSION },
	{ "TLSv1.0", TLS1_VERSION },
	{ "TLSv1.1", TLS1_1_VERSION },
	{ "TLSv1.2", TLS1_2_VERSION },
	{ "TLSv1.3", TLS1_3_VERSION },
	{ NULL, 0 }
};

/* tlspolicy_error - fill err and key; -1 */
static int __attribute__((format(printf, 5, 6)))
tlspolicy_error(const char **key, const char *k, char *err, size_t errlen,
    const char *fmt, ...)
{
	va_list ap;

	*key = k;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

/* tlspolicy_reason - the first OpenSSL error of the queue, as text */
static const char *
tlspolicy_reason(void)
{
	unsigned long e = ERR_get_error();
	const char *r = e != 0 ? ERR_reason_error_string(e) : NULL;

	ERR_clear_error();
	return r != NULL ? r : "not usable";
}

/* tlspolicy_version - TLS1_VERSION..TLS1_3_VERSION, or -1 */
int
tlspolicy_version(const char *name)
{
	size_t i;

	for (i = 0; tlspolicy_versions[i].name != NULL; i++)
		if (strcmp(tlspolicy_versions[i].name, name) == 0)
			return tlspolicy_versions[i].version;
	return -1;
}

/* tlspolicy_legacy - is the minimum below TLS 1.2? */
int
tlspolicy_legacy(const struct tlspolicy *p)
{
	return p->min_version != NULL &&
	    tlspolicy_version(p->min_version) != -1 &&
	    tlspolicy_version(p->min_version) < TLS1_2_VERSION;
}

/* tlspolicy_set_versions - tls_min_version and tls_max_version */
static int
tlspolicy_set_versions(SSL_CTX *ctx, const struct tlspolicy *p,
    const char **key, char *err, size_t errlen)
{
	int min = TLS1_2_VERSION, max = 0;

	if (p->min_version != NULL &&
	    (min = tlspolicy_version(p->min_version)) == -1)
		return tlspolicy_error(key, "tls_min_version", err, errlen,
		    "unknown TLS version '%.40s' (TLSv1, TLSv1.1, TLSv1.2 or "
		    "TLSv1.3)", p->min_version);
	if (p->max_version != NULL &&
	    (max = tlspolicy_version(p->max_version)) == -1)
		return tlspolicy_error(key, "tls_max_version", err, errlen,
		    "unknown TLS version '%.40s' (TLSv1, TLSv1.1, TLSv1.2 or "
		    "TLSv1.3)", p->max_version);
	if (max != 0 && max < min)
		return tlspolicy_error(key, "tls_max_version", err, errlen,
		    "%s is below tls_min_version %s", p->max_version,
		    p->min_version != NULL ? p->min_version : "TLSv1.2");
	if (min < TLS1_2_VERSION)	/* OpenSSL 3 refuses them above level 0 */
		SSL_CTX_set_security_level(ctx, 0);
	if (!SSL_CTX_set_min_proto_version(ctx, min) ||
	    !SSL_CTX_set_max_proto_version(ctx, max))
		return tlspolicy_error(key, "tls_min_version", err, errlen,
		    "cannot set the TLS versions: %s", tlspolicy_reason());
	return 0;
}

/* tlspolicy_cipher_text - the TLS 1.2 list to set, or NULL for OpenSSL's */
static const char *
tlspolicy_cipher_text(const struct tlspolicy *p, int server,
    const char *dflt, char *buf, size_t len)
{
	int dh_none = server && p->dh_params != NULL &&
	    strcmp(p->dh_params, "none") == 0;
	const char *base = p->ciphers;

	if (base == NULL && tlspolicy_legacy(p))
		snprintf(buf, len, "%s%s%s", dflt != NULL ? dflt : "DEFAULT",
		    dflt != NULL ? ":" TLSPOLICY_LEGACY_CIPHERS : "",
		    dh_none ? ":!kDHE" : "");
	else if (base == NULL && dflt == NULL && !dh_none)
		return NULL;
	else
		snprintf(buf, len, "%s%s", base != NULL ? base :
		    dflt != NULL ? dflt : "DEFAULT", dh_none ? ":!kDHE" : "");
	return buf;
}

/* tlspolicy_set_ciphers - tls_ciphers and tls_ciphersuites */
static int
tlspolicy_set_ciphers(SSL_CTX *ctx, const struct tlspolicy *p, int server,
    const char *dflt, const char **key, char *err, size_t errlen)
{
	char buf[2048];
	const char *list;

	list = tlspolicy_cipher_text(p, server, dflt, buf, sizeof(buf));
	if (list != NULL && SSL_CTX_set_cipher_list(ctx, list) != 1)
		return tlspolicy_error(key, "tls_ciphers", err, errlen,
		    "the cipher list selects no cipher: %s",
		    tlspolicy_reason());
	if (p->ciphersuites == NULL)
		return 0;
	if (*p->ciphersuites == '\0' ||
	    SSL_CTX_set_ciphersuites(ctx, p->ciphersuites) != 1)
		return tlspolicy_error(key, "tls_ciphersuites", err, errlen,
		    "the TLS 1.3 suite list selects no suite%s%s",
		    *p->ciphersuites == '\0' ? " (turn TLS 1.3 off with "
		    "tls_max_version: TLSv1.2)" : ": ",
		    *p->ciphersuites == '\0' ? "" : tlspolicy_reason());
	return 0;
}

/* tlspolicy_set_dh - tls_dh_params: auto, none or a PEM file */
static int
tlspolicy_set_dh(SSL_CTX *ctx, const struct tlspolicy *p, const char **key,
    char *err, size_t errlen)
{
	EVP_PKEY *dh;
	BIO *bio;

	if (p->dh_params == NULL || strcmp(p->dh_params, "auto") == 0)
		return SSL_CTX_set_dh_auto(ctx, 1) == 1 ? 0 :
		    tlspolicy_error(key, "tls_dh_params", err, errlen,
		    "cannot choose DH parameters: %s", tlspolicy_reason());
	if (strcmp(p->dh_params, "none") == 0)
		return 0;			/* !kDHE in the cipher list */
	if ((bio = BIO_new_file(p->dh_params, "r")) == NULL)
		return tlspolicy_error(key, "tls_dh_params", err, errlen,
		    "cannot read %.200s: %s", p->dh_params, tlspolicy_reason());
	dh = PEM_read_bio_Parameters(bio, NULL);
	BIO_free(bio);
	if (dh == NULL || !EVP_PKEY_is_a(dh, "DH")) {
		EVP_PKEY_free(dh);
		return tlspolicy_error(key, "tls_dh_params", err, errlen,
		    "no PEM DH parameters in %.200s", p->dh_params);
	}
	if (SSL_CTX_set0_tmp_dh_pkey(ctx, dh) != 1) {
		EVP_PKEY_free(dh);
		return tlspolicy_error(key, "tls_dh_params", err, errlen,
		    "DH parameters of %.200s refused: %s", p->dh_params,
		    tlspolicy_reason());
	}
	return 0;
}

/* tlspolicy_usable - does some cipher fit the versions allowed? */
static int
tlspolicy_usable(SSL_CTX *ctx, const char **key, char *err, size_t errlen)
{
	STACK_OF(SSL_CIPHER) *sk;
	SSL *ssl;
	int n;

	if ((ssl = SSL_new(ctx)) == NULL)
		return tlspolicy_error(key, "tls_ciphers", err, errlen,
		    "SSL_new: %s", tlspolicy_reason());
	sk = SSL_get1_supported_ciphers(ssl);
	n = sk != NULL ? sk_SSL_CIPHER_num(sk) : 0;
	sk_SSL_CIPHER_free(sk);
	SSL_free(ssl);
	ERR_clear_error();
	if (n <= 0)
		return tlspolicy_error(key, "tls_ciphers", err, errlen,
		    "no cipher of tls_ciphers or tls_ciphersuites can be used "
		    "with the TLS versions allowed");
	return 0;
}

/* tlspolicy_apply - the whole policy on ctx */
int
tlspolicy_apply(SSL_CTX *ctx, const struct tlspolicy *p, int server,
    const char *default_ciphers, const char **key, char *err, size_t errlen)
{
	if (tlspolicy_set_versions(ctx, p, key, err, errlen) == -1 ||
	    tlspolicy_set_ciphers(ctx, p, server, default_ciphers, key, err,
	    errlen) == -1)
		return -1;
	if (server && tlspolicy_set_dh(ctx, p, key, err, errlen) == -1)
		return -1;
	return tlspolicy_usable(ctx, key, err, errlen);
}

/* tlspolicy_describe - protocol and cipher, as Postfix logs them */
const char *
tlspolicy_describe(const SSL *ssl, char *buf, size_t len)
{
	const SSL_CIPHER *c = SSL_get_current_cipher(ssl);
	int alg = 0, bits = c != NULL ? SSL_CIPHER_get_bits(c, &alg) : 0;

	snprintf(buf, len, "%s with cipher %s (%d/%d bits)",
	    SSL_get_version(ssl), c != NULL ? SSL_CIPHER_get_name(c) : "none",
	    bits, alg);
	return buf;
}
