/*
 * receiver_auth.c - SMTP AUTH with Cyrus SASL (see receiver_auth.h)
 *
 * sasldb: pwcheck_method auxprop with the sasldb plugin and sasldb_path;
 * every mechanism the installed plugins offer that needs no more than a
 * stored secret works (PLAIN, LOGIN, CRAM-MD5, SCRAM-*).  saslauthd:
 * PLAIN and LOGIN only (saslauthd checks plaintext passwords), done here
 * rather than by the SASL library, which would ask saslauthd with a
 * blocking call: the request (four counted strings: login, password,
 * service, realm; the answer one counted string, "OK ..." or "NO ...")
 * goes over a non-blocking socket on the receiver's event loop, with
 * sasl.saslauthd_timeout.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/un.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <sasl/sasl.h>
#include <sasl/saslutil.h>

#include "cfg.h"
#include "log.h"
#include "receiver_auth.h"
#include "saslopt.h"
#include "xmalloc.h"

#define RAUTH_SERVICE	"smtp"
#define RAUTH_B64MAX	16384		/* encoded challenge/response */
#define RAUTH_TABLE	1024		/* clients tracked for the rate limit */
#define RAUTH_MECHLEN	512

#define RAUTH_FIELD	256		/* saslauthd's limit per string */

struct rauth {
	sasl_conn_t *conn;		/* sasldb; NULL with saslauthd */
	char mech[64];
	char user[256];
	/* saslauthd */
	struct event_base *base;
	rauth_done_fn done;
	void *arg;
	int login_step;			/* LOGIN: 0 wants the user, 1 the password */
	char pass[RAUTH_FIELD];
	struct bufferevent *sd;		/* the request under way */
};

struct rauth_fail {
	char ip[64];
	unsigned int count;
	time_t first;
};

static const struct cfg *rauth_cfg;
static char rauth_mechs[RAUTH_MECHLEN];
static struct rauth_fail rauth_fails[RAUTH_TABLE];

/* rauth_offered - is mech (any case) in the advertised list? */
static int
rauth_offered(const char *mech)
{
	const char *p = rauth_mechs;
	size_t n = strlen(mech);

	while (*p != '\0') {
		size_t w = strcspn(p, " ");

		if (w == n && strncasecmp(p, mech, n) == 0)
			return 1;
		p += w;
		p += strspn(p, " ");
	}
	return 0;
}

/* rauth_keep_plain - saslauthd: only PLAIN and LOGIN stay; how many */
static int
rauth_keep_plain(void)
{
	char kept[RAUTH_MECHLEN] = "";
	int n = 0;

	if (rauth_offered("PLAIN")) {
		strcpy(kept, "PLAIN");
		n++;
	}
	if (rauth_offered("LOGIN")) {
		strcat(kept, n ? " LOGIN" : "LOGIN");
		n++;
	}
	memcpy(rauth_mechs, kept, sizeof(kept));
	return n;
}

/* rauth_init - load the plugins (before chroot/privilege drop) */
int
rauth_init(const struct cfg *cfg)
{
	sasl_conn_t *conn;
	const char *list;
	unsigned len;
	int n, r;

	rauth_cfg = cfg;
	if ((r = sasl_server_init(saslopt_callbacks(cfg), "gatewayd")) !=
	    SASL_OK) {
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
	if (cfg->sasl.backend != CFG_SASL_SASLDB && rauth_keep_plain() == 0) {
		log_warnx("sasl.mechanisms: saslauthd needs PLAIN or LOGIN");
		return -1;
	}
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

/* rauth_saslauthd - is saslauthd the backend? */
static int
rauth_saslauthd(void)
{
	return rauth_cfg->sasl.backend != CFG_SASL_SASLDB;
}

/* rauth_new - a fresh SASL connection for one exchange */
struct rauth *
rauth_new(const char *hostname, const char *client_ip,
    struct event_base *base, rauth_done_fn done, void *arg)
{
	struct rauth *a = xcalloc(1, sizeof(*a));
	sasl_security_properties_t sp;

	(void)client_ip;
	a->base = base;
	a->done = done;
	a->arg = arg;
	if (rauth_saslauthd())
		return a;		/* PLAIN and LOGIN done here */
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

/* ---- saslauthd: PLAIN and LOGIN here, the check on the event loop ---- */

/* rauth_sd_fail - a failure reply; RAUTH_FAIL */
static int
rauth_sd_fail(char *reply, size_t replylen, const char *text)
{
	snprintf(reply, replylen, "%s", text);
	return RAUTH_FAIL;
}

/* rauth_sd_put - one counted string of the request at *len in buf */
static void
rauth_sd_put(unsigned char *buf, size_t *len, const char *s)
{
	size_t n = strlen(s);		/* < RAUTH_FIELD: checked on input */

	buf[(*len)++] = (unsigned char)(n >> 8);
	buf[(*len)++] = (unsigned char)(n & 0xff);
	memcpy(buf + *len, s, n);
	*len += n;
}

/* rauth_sd_finish - end the request and pass the answer on */
static void
rauth_sd_finish(struct rauth *a, enum rauth_result r, const char *reply)
{
	bufferevent_free(a->sd);
	a->sd = NULL;
	explicit_bzero(a->pass, sizeof(a->pass));
	a->done(a->arg, r, reply);	/* may free a: nothing after this */
}

/* rauth_sd_read - saslauthd's answer: a counted "OK ..." or "NO ..." */
static void
rauth_sd_read(struct bufferevent *bev, void *arg)
{
	struct rauth *a = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	char answer[RAUTH_FIELD + 3];
	uint16_t n;

	if (evbuffer_get_length(in) < sizeof(n))
		return;
	evbuffer_copyout(in, &n, sizeof(n));
	n = ntohs(n);
	if (n >= sizeof(answer) || n < 2) {
		log_warnx("saslauthd (%s): malformed answer",
		    rauth_cfg->sasl.saslauthd_path);
		rauth_sd_finish(a, RAUTH_FAIL,
		    "454 4.7.0 Temporary authentication failure");
		return;
	}
	if (evbuffer_get_length(in) < sizeof(n) + n)
		return;
	evbuffer_drain(in, sizeof(n));
	evbuffer_remove(in, answer, n);
	answer[n] = '\0';
	if (strncmp(answer, "OK", 2) == 0)
		rauth_sd_finish(a, RAUTH_OK, "235 2.7.0 Authentication "
		    "successful");
	else if (strncmp(answer, "NO", 2) == 0)
		rauth_sd_finish(a, RAUTH_FAIL, "535 5.7.8 Error: "
		    "authentication failed");
	else {
		log_warnx("saslauthd (%s): unexpected answer",
		    rauth_cfg->sasl.saslauthd_path);
		rauth_sd_finish(a, RAUTH_FAIL,
		    "454 4.7.0 Temporary authentication failure");
	}
}

/* rauth_sd_event - saslauthd closed, failed or did not answer in time */
static void
rauth_sd_event(struct bufferevent *bev, short what, void *arg)
{
	struct rauth *a = arg;

	(void)bev;
	if (what & BEV_EVENT_TIMEOUT)
		log_warnx("saslauthd (%s): no answer within %lld s",
		    rauth_cfg->sasl.saslauthd_path,
		    (long long)rauth_cfg->sasl.saslauthd_timeout);
	else
		log_warnx("saslauthd (%s): connection closed without an "
		    "answer", rauth_cfg->sasl.saslauthd_path);
	rauth_sd_finish(a, RAUTH_FAIL,
	    "454 4.7.0 Temporary authentication failure");
}

/*
 * rauth_sd_ask - send the request; RAUTH_PENDING, or RAUTH_FAIL.  The
 * request (about 1 KB at most) goes out with one write(2) on the fresh
 * socket from a buffer that is wiped at once, so no copy of the password
 * stays in a libevent buffer; the bufferevent only reads the answer.
 */
static int
rauth_sd_ask(struct rauth *a, char *reply, size_t replylen)
{
	struct timeval tv = { rauth_cfg->sasl.saslauthd_timeout, 0 };
	const char *path = rauth_cfg->sasl.saslauthd_path;
	unsigned char req[4 * (RAUTH_FIELD + 2)];
	struct sockaddr_un sun;
	size_t len = 0;
	ssize_t n;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path) || (fd = socket(AF_UNIX,
	    SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) == -1) {
		log_warnx("saslauthd (%s): cannot make a socket", path);
		explicit_bzero(a->pass, sizeof(a->pass));
		return rauth_sd_fail(reply, replylen,
		    "454 4.7.0 Temporary authentication failure");
	}
	memcpy(sun.sun_path, path, strlen(path));
	rauth_sd_put(req, &len, a->user);
	rauth_sd_put(req, &len, a->pass);
	rauth_sd_put(req, &len, RAUTH_SERVICE);
	rauth_sd_put(req, &len, "");
	explicit_bzero(a->pass, sizeof(a->pass));
	errno = 0;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1 ||
	    (n = write(fd, req, len)) != (ssize_t)len) {
		log_warnx("saslauthd (%s): %s", path, errno ? strerror(errno) :
		    "short write");
		explicit_bzero(req, sizeof(req));
		close(fd);
		return rauth_sd_fail(reply, replylen,
		    "454 4.7.0 Temporary authentication failure");
	}
	explicit_bzero(req, sizeof(req));
	if ((a->sd = bufferevent_socket_new(a->base, fd,
	    BEV_OPT_CLOSE_ON_FREE)) == NULL) {
		close(fd);
		return rauth_sd_fail(reply, replylen,
		    "454 4.7.0 Temporary authentication failure");
	}
	bufferevent_setcb(a->sd, rauth_sd_read, NULL, rauth_sd_event, a);
	bufferevent_set_timeouts(a->sd, &tv, NULL);
	bufferevent_enable(a->sd, EV_READ);
	return RAUTH_PENDING;
}

/* rauth_sd_field - a user name or password: no NUL, short enough */
static int
rauth_sd_field(char *dst, const char *src, size_t len)
{
	if (len >= RAUTH_FIELD || memchr(src, '\0', len) != NULL)
		return -1;
	memcpy(dst, src, len);
	dst[len] = '\0';
	return 0;
}

/* rauth_sd_plain - "authzid NUL authcid NUL password" (RFC 4616) */
static int
rauth_sd_plain(struct rauth *a, const char *in, size_t len, char *reply,
    size_t replylen)
{
	const char *authcid, *pass, *end = in + len;
	char authzid[RAUTH_FIELD];

	if ((authcid = memchr(in, '\0', len)) == NULL ||
	    (pass = memchr(authcid + 1, '\0', (size_t)(end - authcid - 1))) ==
	    NULL ||
	    rauth_sd_field(authzid, in, (size_t)(authcid - in)) == -1 ||
	    rauth_sd_field(a->user, authcid + 1, (size_t)(pass - authcid - 1)) ==
	    -1 || rauth_sd_field(a->pass, pass + 1, (size_t)(end - pass - 1)) ==
	    -1 || a->user[0] == '\0')
		return rauth_sd_fail(reply, replylen, "501 5.5.2 Error: "
		    "malformed authentication data");
	if (authzid[0] != '\0' && strcmp(authzid, a->user) != 0)
		return rauth_sd_fail(reply, replylen, "535 5.7.8 Error: "
		    "authentication failed (no proxy authorization)");
	return rauth_sd_ask(a, reply, replylen);
}

/* rauth_sd_start - AUTH PLAIN|LOGIN [initial] with saslauthd */
static int
rauth_sd_start(struct rauth *a, const char *in, unsigned len, char *reply,
    size_t replylen)
{
	if (!rauth_offered(a->mech))
		return rauth_sd_fail(reply, replylen, "504 5.5.4 Unrecognized "
		    "authentication type");
	if (strcasecmp(a->mech, "PLAIN") == 0) {
		if (in != NULL)
			return rauth_sd_plain(a, in, len, reply, replylen);
		snprintf(reply, replylen, "334 ");
		return RAUTH_CONTINUE;
	}
	if (in != NULL) {		/* LOGIN with the user name at once */
		if (rauth_sd_field(a->user, in, len) == -1)
			return rauth_sd_fail(reply, replylen, "501 5.5.2 "
			    "Error: malformed authentication data");
		a->login_step = 1;
		snprintf(reply, replylen, "334 UGFzc3dvcmQ6");	/* Password: */
		return RAUTH_CONTINUE;
	}
	snprintf(reply, replylen, "334 VXNlcm5hbWU6");		/* Username: */
	return RAUTH_CONTINUE;
}

/* rauth_sd_step - the next response of PLAIN or LOGIN */
static int
rauth_sd_step(struct rauth *a, const char *in, unsigned len, char *reply,
    size_t replylen)
{
	if (a->sd != NULL)
		return rauth_sd_fail(reply, replylen, "503 5.5.1 Error: "
		    "authentication in progress");
	if (strcasecmp(a->mech, "PLAIN") == 0)
		return rauth_sd_plain(a, in, len, reply, replylen);
	if (a->login_step == 0) {
		if (rauth_sd_field(a->user, in, len) == -1)
			return rauth_sd_fail(reply, replylen, "501 5.5.2 "
			    "Error: malformed authentication data");
		a->login_step = 1;
		snprintf(reply, replylen, "334 UGFzc3dvcmQ6");
		return RAUTH_CONTINUE;
	}
	if (rauth_sd_field(a->pass, in, len) == -1)
		return rauth_sd_fail(reply, replylen, "501 5.5.2 Error: "
		    "malformed authentication data");
	return rauth_sd_ask(a, reply, replylen);
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
	if (a->conn == NULL) {
		r = rauth_sd_start(a, initial != NULL ? in : NULL, inlen, reply,
		    replylen);
		explicit_bzero(in, sizeof(in));
		return (enum rauth_result)r;
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
	if (a->conn == NULL) {
		r = rauth_sd_step(a, in, inlen, reply, replylen);
		explicit_bzero(in, sizeof(in));
		return (enum rauth_result)r;
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
	if (a->sd != NULL)
		bufferevent_free(a->sd);	/* the request is dropped */
	if (a->conn != NULL)
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
