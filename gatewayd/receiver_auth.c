/*
 * receiver_auth.c - SMTP AUTH with Cyrus SASL (see receiver_auth.h)
 *
 * sasldb: pwcheck_method auxprop with the sasldb plugin and sasldb_path;
 * every mechanism the installed plugins offer that needs no more than a
 * stored secret works (PLAIN, LOGIN, CRAM-MD5, SCRAM-*).  saslauthd:
 * pwcheck_method saslauthd with saslauthd_path; only PLAIN and LOGIN can
 * work (saslauthd checks plaintext passwords), so the default mechanism
 * list is restricted to them.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <sasl/sasl.h>
#include <sasl/saslutil.h>

#include "cfg.h"
#include "log.h"
#include "receiver_auth.h"
#include "xmalloc.h"

#define RAUTH_SERVICE	"smtp"
#define RAUTH_B64MAX	16384		/* encoded challenge/response */
#define RAUTH_TABLE	1024		/* clients tracked for the rate limit */
#define RAUTH_MECHLEN	512

struct rauth {
	sasl_conn_t *conn;
	char mech[64];
	char user[256];
};

struct rauth_fail {
	char ip[64];
	unsigned int count;
	time_t first;
};

static const struct cfg *rauth_cfg;
static char rauth_mechs[RAUTH_MECHLEN];
static struct rauth_fail rauth_fails[RAUTH_TABLE];

/* rauth_getopt - every SASL option comes from the configuration */
static int
rauth_getopt(void *context, const char *plugin, const char *option,
    const char **result, unsigned *len)
{
	const struct cfg_sasl *s = &rauth_cfg->sasl;
	int sasldb = s->backend == CFG_SASL_SASLDB;

	*result = NULL;
	if (strcmp(option, "pwcheck_method") == 0)
		*result = sasldb ? "auxprop" : "saslauthd";
	else if (strcmp(option, "auxprop_plugin") == 0 && sasldb)
		*result = "sasldb";
	else if (strcmp(option, "sasldb_path") == 0)
		*result = s->sasldb_path;
	else if (strcmp(option, "saslauthd_path") == 0)
		*result = s->saslauthd_path;
	else if (strcmp(option, "mech_list") == 0)
		*result = s->mechanisms != NULL ? s->mechanisms : sasldb ?
		    "PLAIN LOGIN CRAM-MD5 SCRAM-SHA-1 SCRAM-SHA-256" :
		    "PLAIN LOGIN";
	else if (strcmp(option, "log_level") == 0)
		*result = "3";		/* warnings; never passwords */
	if (*result == NULL)
		return SASL_FAIL;
	if (len != NULL)
		*len = (unsigned)strlen(*result);
	return SASL_OK;
}

/* rauth_log - SASL's messages into ours */
static int
rauth_log(void *context, int level, const char *message)
{
	char clean[512];

	if (level <= SASL_LOG_WARN)
		log_info("sasl: %s", log_clean(clean, sizeof(clean), message,
		    strlen(message)));
	return SASL_OK;
}

static const sasl_callback_t rauth_callbacks[] = {
	/* SASL stores every callback as int (*)(void); via void (*)(void) */
	{ SASL_CB_GETOPT, (int (*)(void))(void (*)(void))rauth_getopt, NULL },
	{ SASL_CB_LOG, (int (*)(void))(void (*)(void))rauth_log, NULL },
	{ SASL_CB_LIST_END, NULL, NULL }
};

/* rauth_init - load the plugins (before chroot/privilege drop) */
int
rauth_init(const struct cfg *cfg)
{
	sasl_conn_t *conn;
	const char *list;
	unsigned len;
	int n, r;

	rauth_cfg = cfg;
	if ((r = sasl_server_init(rauth_callbacks, "gatewayd")) != SASL_OK) {
		log_warnx("sasl_server_init: %s", sasl_errstring(r, NULL, NULL));
		return -1;
	}
	if (sasl_server_new(RAUTH_SERVICE, cfg->smtp.hostname, NULL, NULL, NULL,
	    NULL, 0, &conn) != SASL_OK) {
		log_warnx("sasl_server_new failed");
		return -1;
	}
	r = sasl_listmech(conn, NULL, "", " ", "", &list, &len, &n);
	if (r != SASL_OK || n == 0 || len >= sizeof(rauth_mechs)) {
		log_warnx("SASL offers no usable mechanism (install "
		    "libsasl2-modules, check sasl.mechanisms)");
		sasl_dispose(&conn);
		return -1;
	}
	memcpy(rauth_mechs, list, len);
	rauth_mechs[len] = '\0';
	sasl_dispose(&conn);
	log_info("SMTP AUTH with %s (%s): %s", cfg->sasl.backend ==
	    CFG_SASL_SASLDB ? "sasldb" : "saslauthd", cfg->sasl.backend ==
	    CFG_SASL_SASLDB ? cfg->sasl.sasldb_path : cfg->sasl.saslauthd_path,
	    rauth_mechs);
	return 0;
}

/* rauth_mechanisms - what EHLO advertises */
const char *
rauth_mechanisms(void)
{
	return rauth_mechs;
}

/* rauth_new - a fresh SASL connection for one exchange */
struct rauth *
rauth_new(const char *hostname, const char *client_ip)
{
	struct rauth *a = xcalloc(1, sizeof(*a));
	sasl_security_properties_t sp;

	(void)client_ip;
	if (sasl_server_new(RAUTH_SERVICE, hostname, NULL, NULL, NULL, NULL, 0,
	    &a->conn) != SASL_OK) {
		free(a);
		return NULL;
	}
	memset(&sp, 0, sizeof(sp));
	sp.max_ssf = 0;			/* no SASL security layer over SMTP */
	sp.maxbufsize = 0;
	sp.security_flags = SASL_SEC_NOANONYMOUS;
	sasl_setprop(a->conn, SASL_SEC_PROPS, &sp);
	return a;
}

/* rauth_result - map a SASL status to a reply */
static enum rauth_result
rauth_result(struct rauth *a, int r, const char *out, unsigned outlen,
    char *reply, size_t replylen)
{
	char b64[RAUTH_B64MAX];
	const void *user;
	unsigned n;

	switch (r) {
	case SASL_OK:
		if (sasl_getprop(a->conn, SASL_USERNAME, &user) != SASL_OK ||
		    user == NULL)
			break;
		snprintf(a->user, sizeof(a->user), "%s", (const char *)user);
		snprintf(reply, replylen, "235 2.7.0 Authentication successful");
		return RAUTH_OK;
	case SASL_CONTINUE:
		if (sasl_encode64(out, outlen, b64, sizeof(b64), &n) != SASL_OK)
			break;
		snprintf(reply, replylen, "334 %.*s", (int)n, b64);
		return RAUTH_CONTINUE;
	case SASL_NOMECH:
		snprintf(reply, replylen, "504 5.5.4 Unrecognized authentication type");
		return RAUTH_FAIL;
	case SASL_BADPROT:
	case SASL_BADPARAM:
		snprintf(reply, replylen, "501 5.5.2 Error: malformed authentication data");
		return RAUTH_FAIL;
	case SASL_TRYAGAIN:
	case SASL_UNAVAIL:
		snprintf(reply, replylen, "454 4.7.0 Temporary authentication failure");
		return RAUTH_FAIL;
	default:
		snprintf(reply, replylen, "535 5.7.8 Error: authentication failed");
		return RAUTH_FAIL;
	}
	snprintf(reply, replylen, "454 4.7.0 Temporary authentication failure");
	return RAUTH_FAIL;
}

/* rauth_decode - base64 text to bytes; "=" is the empty response */
static int
rauth_decode(const char *in, size_t len, char *out, size_t outlen,
    unsigned *n)
{
	if (len == 1 && in[0] == '=') {
		*n = 0;
		return 0;
	}
	if (len >= RAUTH_B64MAX ||
	    sasl_decode64(in, (unsigned)len, out, (unsigned)outlen, n) != SASL_OK)
		return -1;
	return 0;
}

/* rauth_start - AUTH mech [initial-response] */
enum rauth_result
rauth_start(struct rauth *a, const char *mech, const char *initial,
    char *reply, size_t replylen)
{
	char in[RAUTH_B64MAX];
	const char *out = NULL;
	unsigned inlen = 0, outlen = 0;
	int r;

	snprintf(a->mech, sizeof(a->mech), "%s", mech);
	if (initial != NULL && rauth_decode(initial, strlen(initial), in,
	    sizeof(in), &inlen) == -1) {
		snprintf(reply, replylen, "501 5.5.2 Error: malformed base64");
		return RAUTH_FAIL;
	}
	r = sasl_server_start(a->conn, mech, initial != NULL ? in : NULL,
	    inlen, &out, &outlen);
	explicit_bzero(in, sizeof(in));
	return rauth_result(a, r, out, outlen, reply, replylen);
}

/* rauth_step - one response line */
enum rauth_result
rauth_step(struct rauth *a, const char *line, size_t len, char *reply,
    size_t replylen)
{
	char in[RAUTH_B64MAX];
	const char *out = NULL;
	unsigned inlen = 0, outlen = 0;
	int r;

	if (rauth_decode(line, len, in, sizeof(in), &inlen) == -1) {
		snprintf(reply, replylen, "501 5.5.2 Error: malformed base64");
		return RAUTH_FAIL;
	}
	r = sasl_server_step(a->conn, in, inlen, &out, &outlen);
	explicit_bzero(in, sizeof(in));
	return rauth_result(a, r, out, outlen, reply, replylen);
}

/* rauth_user - the authenticated identity */
const char *
rauth_user(struct rauth *a)
{
	return a->user;
}

/* rauth_mech - the mechanism of the exchange */
const char *
rauth_mech(struct rauth *a)
{
	return a->mech;
}

/* rauth_free - dispose of the SASL connection (no state survives) */
void
rauth_free(struct rauth *a)
{
	if (a == NULL)
		return;
	sasl_dispose(&a->conn);
	explicit_bzero(a, sizeof(*a));
	free(a);
}

/* rauth_slot - the table entry of ip, or NULL */
static struct rauth_fail *
rauth_slot(const char *ip, int create, long window)
{
	struct rauth_fail *f, *victim = NULL;
	time_t now = time(NULL);
	size_t i;

	for (i = 0; i < RAUTH_TABLE; i++) {
		f = &rauth_fails[i];
		if (f->ip[0] != '\0' && now - f->first >= window)
			f->ip[0] = '\0';	/* expired */
		if (f->ip[0] != '\0' && strcmp(f->ip, ip) == 0)
			return f;
		/* prefer a free slot, else the entry whose window began first */
		if (victim == NULL || (victim->ip[0] != '\0' &&
		    (f->ip[0] == '\0' || f->first < victim->first)))
			victim = f;
	}
	if (!create)
		return NULL;
	f = victim;
	snprintf(f->ip, sizeof(f->ip), "%s", ip);
	f->count = 0;
	f->first = now;
	return f;
}

/* rauth_blocked - has ip failed too often in the window? */
int
rauth_blocked(const char *ip, size_t max, long window)
{
	struct rauth_fail *f = rauth_slot(ip, 0, window);

	return f != NULL && f->count >= max;
}

/* rauth_failed - count a failure of ip */
void
rauth_failed(const char *ip, long window)
{
	rauth_slot(ip, 1, window)->count++;
}
