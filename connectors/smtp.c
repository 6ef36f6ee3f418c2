/*
 * smtp.c - the "smtp" connector: relay to upstream SMTP gateways
 *
 * Settings (gatewayd-connector(3)): hosts (ordered, with failover), helo,
 * starttls none|opportunistic|required, ca_file, verify, verify_name,
 * tls_min_version, tls_max_version, tls_ciphers, tls_ciphersuites
 * (gatewayd/lib/tlspolicy.c, compiled in),
 * auth {username, password_file, mechanisms, tls, cleartext}, timeouts
 * {connect, greeting, command, data}, host_skip, max_messages,
 * idle_timeout.  init() runs as root before the worker drops its
 * privileges: it reads the password file (refused when others may read
 * it), loads the CA file and starts libsasl2.  AUTH goes only over a
 * TLS session whose certificate was verified unless auth.tls says
 * otherwise (encrypt: any TLS; none: cleartext too), with a warning.
 *
 * Each delivery child keeps at most one session open in its copy of the
 * context and reuses it for the next job (RSET first, after a check that
 * the server has not closed it; with PIPELINING the RSET goes in one write
 * with MAIL, RCPT and DATA, and a failed RSET sends the job to a new
 * session), until max_messages, idle_timeout or an error closes it.  The protocol itself is in smtp_session.c.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <gatewayd/connector.h>

#include "smtp.h"
#include "tlspolicy.h"
#include "tlswarm.h"

#define SMTP_PASSWORD_MAX	1024

/* smtp_bad - an error at the node's file:line:column; returns -1 */
static int
smtp_bad(const struct gw_node *n, char *err, size_t errlen, const char *what)
{
	snprintf(err, errlen, "%s:%u:%u: smtp: %s", n->file ? n->file :
	    "config", n->line, n->column, what);
	return -1;
}

/* smtp_scalar - the node's text, or NULL when it is not a non-empty scalar */
static const char *
smtp_scalar(const struct gw_node *n)
{
	if (n->type != GW_NODE_SCALAR || n->value == NULL ||
	    n->value[0] == '\0')
		return NULL;
	return n->value;
}

/* smtp_host_parse - one host[:port] node into h (the core's syntax) */
static int
smtp_host_parse(struct smtp_host *h, const struct gw_node *n)
{
	char err[8];
	unsigned int port;

	if (gw_node_hostport(n, h->name, sizeof(h->name), &port, err,
	    sizeof(err)) == -1)
		return -1;
	snprintf(h->port, sizeof(h->port), "%u", port ? port & 0xffff : 25);
	return 0;
}

/* smtp_set_hosts - "hosts": a list of host[:port] (or one scalar) */
static int
smtp_set_hosts(struct smtp *s, const struct gw_node *n, char *err,
    size_t errlen)
{
	const struct gw_node *it;

	if (n->type == GW_NODE_SCALAR) {
		if (smtp_host_parse(&s->hosts[0], n) == -1)
			return smtp_bad(n, err, errlen, "hosts: bad host[:port]");
		s->nhosts = 1;
		return 0;
	}
	if (n->type != GW_NODE_SEQ || n->child == NULL)
		return smtp_bad(n, err, errlen, "hosts must be a list of "
		    "host[:port]");
	for (it = n->child; it != NULL; it = it->next) {
		if (s->nhosts >= SMTP_HOSTS_MAX)
			return smtp_bad(it, err, errlen, "too many hosts "
			    "(at most 16)");
		if (smtp_host_parse(&s->hosts[s->nhosts], it) == -1)
			return smtp_bad(it, err, errlen, "hosts: bad "
			    "host[:port] (a name or a numeric address, "
			    "[v6]:port for IPv6 with a port)");
		s->nhosts++;
	}
	return 0;
}

/* smtp_password_mode - the password file's type and mode; -1 with err */
static int
smtp_password_mode(const struct gw_node *n, const char *path,
    const struct stat *st, char *err, size_t errlen)
{
	char what[PATH_MAX + 128];

	if (S_ISREG(st->st_mode) && (st->st_mode & (S_IROTH | S_IWOTH)) == 0)
		return 0;
	snprintf(what, sizeof(what), "auth.password_file %s must be a "
	    "regular file that others cannot read or write (mode 0600 or "
	    "0640, owned by root and the gateway's group)", path);
	return smtp_bad(n, err, errlen, what);
}

/*
 * smtp_check_exists - check(): a file the worker reads as root exists;
 * the check runs as the gateway's user, so a directory it may not search
 * is no error.
 */
static int
smtp_check_exists(const struct gw_node *n, const char *key, const char *path,
    char *err, size_t errlen)
{
	char what[PATH_MAX + 128];
	struct stat st;

	if (stat(path, &st) == -1 && errno != EACCES) {
		snprintf(what, sizeof(what), "%s %s: %s", key, path,
		    strerror(errno));
		return smtp_bad(n, err, errlen, what);
	}
	return 0;
}

/*
 * smtp_check_password - check(): the file exists with a safe mode; it is
 * not read (the worker reads it as root, the check runs as the user)
 */
static int
smtp_check_password(const struct gw_node *n, const char *path, char *err,
    size_t errlen)
{
	struct stat st;

	if (lstat(path, &st) == -1)
		return smtp_check_exists(n, "auth.password_file", path, err,
		    errlen);
	return smtp_password_mode(n, path, &st, err, errlen);
}

/* smtp_read_password - the password file (first line); -1 with err */
static int
smtp_read_password(struct smtp *s, const struct gw_node *n, const char *path,
    char *err, size_t errlen)
{
	char buf[SMTP_PASSWORD_MAX + 2], what[PATH_MAX + 128];
	struct stat st;
	ssize_t got;
	size_t len;
	int fd;

	if (s->checking)
		return smtp_check_password(n, path, err, errlen);
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1) {
		snprintf(what, sizeof(what), "auth.password_file %s: %s", path,
		    strerror(errno));
		return smtp_bad(n, err, errlen, what);
	}
	if (fstat(fd, &st) == -1) {
		close(fd);
		snprintf(what, sizeof(what), "auth.password_file %s: %s", path,
		    strerror(errno));
		return smtp_bad(n, err, errlen, what);
	}
	if (smtp_password_mode(n, path, &st, err, errlen) == -1) {
		close(fd);
		return -1;
	}
	got = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	len = got > 0 ? (size_t)got : 0;
	buf[len] = '\0';
	len = strcspn(buf, "\r\n");
	buf[len] = '\0';
	if (got < 0 || len == 0 || len > SMTP_PASSWORD_MAX) {
		explicit_bzero(buf, sizeof(buf));
		snprintf(what, sizeof(what), "auth.password_file %s: %s", path,
		    got < 0 ? strerror(errno) : len == 0 ? "empty" :
		    "password too long");
		return smtp_bad(n, err, errlen, what);
	}
	s->password = strdup(buf);
	s->passlen = len;
	explicit_bzero(buf, sizeof(buf));
	if (s->password == NULL)
		return smtp_bad(n, err, errlen, "out of memory");
	return 0;
}

/* smtp_set_mechs - auth.mechanisms: a list or a space-separated string */
static int
smtp_set_mechs(struct smtp *s, const struct gw_node *n, char *err,
    size_t errlen)
{
	const struct gw_node *it;
	size_t len = 0;
	const char *v;

	if (n->type == GW_NODE_SCALAR && (v = smtp_scalar(n)) != NULL &&
	    strlen(v) < sizeof(s->mechanisms) &&
	    strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_ ") ==
	    strlen(v)) {
		snprintf(s->mechanisms, sizeof(s->mechanisms), "%s", v);
		return 0;
	}
	if (n->type != GW_NODE_SEQ || n->child == NULL)
		return smtp_bad(n, err, errlen, "auth.mechanisms must be a "
		    "list of SASL mechanism names such as [PLAIN, CRAM-MD5]");
	s->mechanisms[0] = '\0';
	for (it = n->child; it != NULL; it = it->next) {
		if ((v = smtp_scalar(it)) == NULL ||
		    strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") !=
		    strlen(v) || len + strlen(v) + 2 > sizeof(s->mechanisms))
			return smtp_bad(it, err, errlen, "auth.mechanisms: "
			    "bad mechanism name (upper case, e.g. PLAIN)");
		len += (size_t)snprintf(s->mechanisms + len,
		    sizeof(s->mechanisms) - len, "%s%s", len ? " " : "", v);
	}
	return 0;
}

/* smtp_set_auth_tls - auth.tls: verify, encrypt or none */
static int
smtp_set_auth_tls(struct smtp *s, const struct gw_node *n, char *err,
    size_t errlen)
{
	const char *v = smtp_scalar(n);

	if (v != NULL && strcmp(v, "verify") == 0)
		s->auth_tls = SMTP_AUTH_TLS_VERIFY;
	else if (v != NULL && strcmp(v, "encrypt") == 0)
		s->auth_tls = SMTP_AUTH_TLS_ENCRYPT;
	else if (v != NULL && strcmp(v, "none") == 0)
		s->auth_tls = SMTP_AUTH_TLS_NONE;
	else
		return smtp_bad(n, err, errlen, "auth.tls must be verify, "
		    "encrypt or none");
	return 0;
}

/* smtp_set_auth - the auth map */
static int
smtp_set_auth(struct smtp *s, const struct gw_node *m, char *err,
    size_t errlen)
{
	const struct gw_node *n, *pw = NULL;
	const char *v;

	if (m->type != GW_NODE_MAP)
		return smtp_bad(m, err, errlen, "auth must be a map");
	for (n = m->child; n != NULL; n = n->next) {
		v = smtp_scalar(n);
		if (strcmp(n->key, "username") == 0) {
			if (v == NULL || strlen(v) > 255 ||
			    strpbrk(v, "\r\n") != NULL)
				return smtp_bad(n, err, errlen,
				    "auth.username must be a name");
			free(s->username);
			s->username = strdup(v);
		} else if (strcmp(n->key, "password_file") == 0) {
			if (v == NULL || v[0] != '/')
				return smtp_bad(n, err, errlen, "auth."
				    "password_file must be an absolute path");
			pw = n;
		} else if (strcmp(n->key, "mechanisms") == 0) {
			if (smtp_set_mechs(s, n, err, errlen) == -1)
				return -1;
		} else if (strcmp(n->key, "tls") == 0) {
			if (smtp_set_auth_tls(s, n, err, errlen) == -1)
				return -1;
		} else if (strcmp(n->key, "cleartext") == 0) {
			if (gw_node_bool(n, &s->auth_cleartext, err,
			    errlen) == -1)
				return -1;
		} else
			return smtp_bad(n, err, errlen, "unknown auth setting "
			    "(known: username, password_file, mechanisms, "
			    "cleartext)");
	}
	if (s->username == NULL || pw == NULL)
		return smtp_bad(m, err, errlen, "auth needs username and "
		    "password_file");
	return smtp_read_password(s, pw, pw->value, err, errlen);
}

/* smtp_set_timeouts - the timeouts map */
static int
smtp_set_timeouts(struct smtp *s, const struct gw_node *m, char *err,
    size_t errlen)
{
	const struct gw_node *n;
	unsigned long long t;
	int *dst;

	if (m->type != GW_NODE_MAP)
		return smtp_bad(m, err, errlen, "timeouts must be a map");
	for (n = m->child; n != NULL; n = n->next) {
		if (strcmp(n->key, "connect") == 0)
			dst = &s->t_connect;
		else if (strcmp(n->key, "greeting") == 0)
			dst = &s->t_greeting;
		else if (strcmp(n->key, "command") == 0)
			dst = &s->t_command;
		else if (strcmp(n->key, "data") == 0)
			dst = &s->t_data;
		else
			return smtp_bad(n, err, errlen, "unknown timeout "
			    "(known: connect, greeting, command, data)");
		if (gw_node_duration(n, 1, 3600, &t, err, errlen) == -1)
			return -1;
		*dst = (int)t;
	}
	return 0;
}

/* smtp_set_str - a string setting (copied) */
static int
smtp_set_str(char **dst, const struct gw_node *n, char *err, size_t errlen,
    const char *what)
{
	const char *v = smtp_scalar(n);

	if (v == NULL || strlen(v) > 1000 || strpbrk(v, "\r\n ") != NULL)
		return smtp_bad(n, err, errlen, what);
	free(*dst);
	if ((*dst = strdup(v)) == NULL)
		return smtp_bad(n, err, errlen, "out of memory");
	return 0;
}

/* smtp_set_time - a time setting within lo..hi seconds */
static int
smtp_set_time(time_t *dst, const struct gw_node *n, unsigned long long lo,
    unsigned long long hi, char *err, size_t errlen)
{
	unsigned long long t;

	if (gw_node_duration(n, lo, hi, &t, err, errlen) == -1)
		return -1;
	*dst = (time_t)t;
	return 0;
}

/* smtp_setting_tls - starttls, ca_file, verify, verify_name; 1 if not one */
static int
smtp_setting_tls(struct smtp *s, const struct gw_node *n, char *err,
    size_t errlen)
{
	const char *v = smtp_scalar(n);

	if (strcmp(n->key, "starttls") == 0) {
		if (v != NULL && strcmp(v, "none") == 0)
			s->starttls = SMTP_TLS_NONE;
		else if (v != NULL && strcmp(v, "opportunistic") == 0)
			s->starttls = SMTP_TLS_OPPORTUNISTIC;
		else if (v != NULL && strcmp(v, "required") == 0)
			s->starttls = SMTP_TLS_REQUIRED;
		else
			return smtp_bad(n, err, errlen, "starttls must be none, "
			    "opportunistic or required");
		return 0;
	}
	if (strcmp(n->key, "ca_file") == 0)
		return smtp_set_str(&s->ca_file, n, err, errlen,
		    "ca_file must be a file name") == -1 ? -1 : s->checking ?
		    smtp_check_exists(n, "ca_file", n->value, err, errlen) : 0;
	if (strcmp(n->key, "verify_name") == 0)
		return smtp_set_str(&s->verify_name, n, err, errlen,
		    "verify_name must be a host name");
	if (strcmp(n->key, "tls_min_version") == 0)
		return smtp_set_str(&s->tls_min_version, n, err, errlen,
		    "tls_min_version must be TLSv1, TLSv1.1, TLSv1.2 or TLSv1.3");
	if (strcmp(n->key, "tls_max_version") == 0)
		return smtp_set_str(&s->tls_max_version, n, err, errlen,
		    "tls_max_version must be TLSv1, TLSv1.1, TLSv1.2 or TLSv1.3");
	if (strcmp(n->key, "tls_ciphers") == 0)
		return smtp_set_str(&s->tls_ciphers, n, err, errlen,
		    "tls_ciphers must be an OpenSSL cipher list");
	if (strcmp(n->key, "tls_ciphersuites") == 0)
		return smtp_set_str(&s->tls_ciphersuites, n, err, errlen,
		    "tls_ciphersuites must be a list of TLS 1.3 suites");
	if (strcmp(n->key, "verify") == 0) {
		return gw_node_bool(n, &s->verify, err, errlen);
	}
	return 1;
}

/* smtp_setting - apply one key of the settings map */
static int
smtp_setting(struct smtp *s, const struct gw_node *n, char *err,
    size_t errlen)
{
	const char *v = smtp_scalar(n);
	unsigned long long t;
	int rc;

	if (n->key == NULL)
		return smtp_bad(n, err, errlen, "settings must be a map");
	if ((rc = smtp_setting_tls(s, n, err, errlen)) != 1)
		return rc;
	if (strcmp(n->key, "hosts") == 0)
		return smtp_set_hosts(s, n, err, errlen);
	if (strcmp(n->key, "helo") == 0) {
		if (v == NULL || strlen(v) >= sizeof(s->helo) ||
		    strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRST"
		    "UVWXYZ0123456789.-[]:") != strlen(v))
			return smtp_bad(n, err, errlen, "helo must be a host "
			    "name or an address literal");
		snprintf(s->helo, sizeof(s->helo), "%s", v);
		return 0;
	}
	if (strcmp(n->key, "auth") == 0)
		return smtp_set_auth(s, n, err, errlen);
	if (strcmp(n->key, "timeouts") == 0)
		return smtp_set_timeouts(s, n, err, errlen);
	if (strcmp(n->key, "host_skip") == 0)
		return smtp_set_time(&s->host_skip, n, 0, 86400, err, errlen);
	if (strcmp(n->key, "idle_timeout") == 0)
		return smtp_set_time(&s->idle_timeout, n, 0, 3600, err, errlen);
	if (strcmp(n->key, "max_messages") == 0) {
		if (gw_node_count(n, 1, 100000, &t, err, errlen) == -1)
			return -1;
		s->max_messages = (unsigned int)t;
		return 0;
	}
	return smtp_bad(n, err, errlen, "unknown setting (known: hosts, helo, "
	    "starttls, ca_file, verify, verify_name, tls_min_version, "
	    "tls_max_version, tls_ciphers, tls_ciphersuites, auth, timeouts, "
	    "host_skip, max_messages, idle_timeout)");
}

/* smtp_tls_init - the client SSL_CTX (CA file loaded while privileged) */
static int
smtp_tls_init(struct smtp *s, char *err, size_t errlen)
{
	struct tlspolicy p = { s->tls_min_version, s->tls_max_version,
	    s->tls_ciphers, s->tls_ciphersuites, NULL };
	const char *key;
	char why[256];
	unsigned long e;

	if ((s->ssl_ctx = SSL_CTX_new(TLS_client_method())) == NULL) {
		snprintf(err, errlen, "smtp: cannot create a TLS context");
		return -1;
	}
	if (tlspolicy_apply(s->ssl_ctx, &p, 0, NULL, &key, why,
	    sizeof(why)) == -1) {
		snprintf(err, errlen, "smtp: %s: %s", key, why);
		return -1;
	}
	if (tlspolicy_legacy(&p))
		gw_log(GW_LOG_WARNING, "smtp: tls_min_version is %s: TLS 1.0 "
		    "and 1.1 are used with upstreams that offer nothing newer "
		    "(OpenSSL security level 0)", p.min_version);
	SSL_CTX_set_verify(s->ssl_ctx, SSL_VERIFY_NONE, NULL);
	if (s->checking)
		return 0;	/* the worker loads the CA file as root */
	if (s->ca_file != NULL ?
	    SSL_CTX_load_verify_locations(s->ssl_ctx, s->ca_file, NULL) != 1 :
	    SSL_CTX_set_default_verify_paths(s->ssl_ctx) != 1) {
		e = ERR_get_error();
		snprintf(err, errlen, "smtp: cannot load the CA file %s: %s",
		    s->ca_file ? s->ca_file : "(system default)",
		    ERR_reason_error_string(e) ? ERR_reason_error_string(e) :
		    "unknown error");
		return -1;
	}
	/*
	 * The worker forks the deliverers after init: the algorithms a
	 * handshake fetches are fetched here once, and shared (tlswarm.h)
	 */
	if (tlswarm_client(s->ssl_ctx) == -1)
		gw_log(GW_LOG_INFO, "smtp: no TLS handshake in memory before "
		    "the deliverers start; each fetches its algorithms itself");
	return 0;
}

/* smtp_defaults - settings before the map is read */
static void
smtp_defaults(struct smtp *s)
{
	s->starttls = SMTP_TLS_OPPORTUNISTIC;
	s->verify = -1;
	s->auth_tls = SMTP_AUTH_TLS_VERIFY;
	snprintf(s->mechanisms, sizeof(s->mechanisms), "PLAIN LOGIN CRAM-MD5");
	s->t_connect = 30;
	s->t_greeting = 300;
	s->t_command = 300;
	s->t_data = 600;
	s->host_skip = 300;
	s->idle_timeout = 60;
	s->max_messages = 100;
	if (gethostname(s->helo, sizeof(s->helo)) == -1 || s->helo[0] == '\0')
		snprintf(s->helo, sizeof(s->helo), "localhost");
	s->helo[sizeof(s->helo) - 1] = '\0';
}

/*
 * smtp_auth_warn - say when the credentials may go over a weaker channel
 * than a verified TLS session, or can never go at all (gatewayd -n says
 * the same from the core: gatewayd/master/conncheck.c)
 */
static void
smtp_auth_warn(const struct smtp *s)
{
	if (s->username == NULL)
		return;
	if (s->auth_tls == SMTP_AUTH_TLS_ENCRYPT)
		gw_log(GW_LOG_WARNING, "smtp: auth.tls is encrypt: the "
		    "password is sent over TLS without checking the upstream's "
		    "certificate (anyone in the path can take it)");
	else if (s->auth_tls == SMTP_AUTH_TLS_NONE)
		gw_log(GW_LOG_WARNING, "smtp: auth.tls is none: the password "
		    "may be sent without TLS%s", s->auth_cleartext ?
		    " and in the clear (auth.cleartext)" : "");
	if (s->auth_tls != SMTP_AUTH_TLS_NONE && s->auth_cleartext)
		gw_log(GW_LOG_WARNING, "smtp: auth.cleartext has no effect "
		    "while auth.tls is not none (AUTH only over TLS)");
	if (s->auth_tls != SMTP_AUTH_TLS_NONE &&
	    s->starttls == SMTP_TLS_NONE)
		gw_log(GW_LOG_WARNING, "smtp: auth is set but starttls is none: "
		    "AUTH is never sent (auth.tls is %s), every delivery "
		    "is deferred", s->auth_tls == SMTP_AUTH_TLS_VERIFY ?
		    "verify" : "encrypt");
}

static void smtp_fini(void *);

/* smtp_parse - defaults, every setting and the cross-checks (init, check) */
static int
smtp_parse(struct smtp *s, const struct gw_node *settings, char *err,
    size_t errlen)
{
	const struct gw_node *n;

	smtp_defaults(s);
	if (settings == NULL || settings->type != GW_NODE_MAP) {
		snprintf(err, errlen, "smtp: settings with at least 'hosts' "
		    "are required");
		return -1;
	}
	for (n = settings->child; n != NULL; n = n->next)
		if (smtp_setting(s, n, err, errlen) == -1)
			return -1;
	if (s->nhosts == 0)
		return smtp_bad(settings, err, errlen, "'hosts' is required");
	if (s->verify == -1)
		s->verify = s->starttls == SMTP_TLS_REQUIRED;
	if (s->starttls != SMTP_TLS_NONE && smtp_tls_init(s, err, errlen) == -1)
		return -1;
	return 0;
}

/* smtp_init - parse and check the settings; read secrets while root */
static int
smtp_init(const struct gw_node *settings, void **ctx, char *err,
    size_t errlen)
{
	struct smtp *s;

	if ((s = calloc(1, sizeof(*s))) == NULL) {
		snprintf(err, errlen, "smtp: out of memory");
		return -1;
	}
	s->dead_until = mmap(NULL, sizeof(s->dead_local), PROT_READ |
	    PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (s->dead_until == MAP_FAILED)
		s->dead_until = s->dead_local;	/* each child learns alone */
	if (smtp_parse(s, settings, err, errlen) == -1 ||
	    (s->username != NULL && smtp_auth_init(err, errlen) == -1)) {
		smtp_fini(s);
		return -1;
	}
	smtp_auth_warn(s);
	*ctx = s;
	return 0;
}

/*
 * smtp_check - the settings as smtp_init() parses them, without reading
 * the password (its file's existence and mode are checked) or connecting
 */
static int
smtp_check(const struct gw_node *settings, char *err, size_t errlen)
{
	struct smtp *s;
	int rc;

	if ((s = calloc(1, sizeof(*s))) == NULL) {
		snprintf(err, errlen, "smtp: out of memory");
		return -1;
	}
	s->checking = 1;
	s->dead_until = s->dead_local;
	rc = smtp_parse(s, settings, err, errlen);
	smtp_fini(s);
	return rc;
}

/* smtp_cached - the cached session if it may be reused, else NULL */
static struct smtp_conn *
smtp_cached(struct smtp *s, time_t now)
{
	struct smtp_conn *c = s->conn;

	if (c == NULL)
		return NULL;
	if (now - c->last_used >= s->idle_timeout ||
	    c->nmessages >= s->max_messages) {
		smtp_session_close(s, c, 1);
		return NULL;
	}
	if (!smtp_io_alive(&c->io) || (!c->caps.pipelining &&
	    smtp_session_reset(s, c) == -1)) {
		gw_log(GW_LOG_DEBUG, "smtp: cached session with %s is gone",
		    c->label);
		smtp_session_close(s, c, 0);
		return NULL;
	}
	c->rset = c->caps.pipelining;	/* RFC 2920: sent ahead of MAIL */
	return c;
}

/* smtp_session - the cached session, else a new one; NULL with f set */
static struct smtp_conn *
smtp_session(struct smtp *s, struct smtp_fail *f)
{
	struct smtp_conn *c;

	if ((c = smtp_cached(s, time(NULL))) == NULL &&
	    (c = smtp_session_open(s, f)) != NULL)
		s->conn = c;
	return c;
}

/* smtp_deliver - relay one job to the first upstream that takes it */
static void
smtp_deliver(void *ctx, const struct gw_envelope *env, struct gw_message *msg)
{
	struct smtp *s = ctx;
	struct smtp_fail f;
	struct smtp_conn *c;
	size_t i;
	int rc;

	while ((c = smtp_session(s, &f)) != NULL &&
	    (rc = smtp_session_send(s, c, env, msg)) == SMTP_STALE) {
		/* only a reused session sends RSET ahead: a new one follows */
		gw_log(GW_LOG_DEBUG, "smtp: cached session with %s is gone "
		    "(RSET failed)", c->label);
		smtp_session_close(s, c, 0);
	}
	if (c == NULL) {
		for (i = 0; i < env->nrcpt; i++)
			gw_rcpt_set_result(env->rcpt[i], GW_RESULT_TEMPFAIL,
			    f.code, f.status, "%s", f.text);
		return;
	}
	if (rc == -1) {
		smtp_session_close(s, c, 0);
		return;
	}
	c->nmessages++;
	c->last_used = time(NULL);
	if (s->idle_timeout == 0 || c->nmessages >= s->max_messages)
		smtp_session_close(s, c, 1);
}

/* smtp_fini - close the session, wipe the password, free */
static void
smtp_fini(void *ctx)
{
	struct smtp *s = ctx;

	if (s == NULL)
		return;
	if (s->conn != NULL)
		smtp_session_close(s, s->conn, 1);
	if (s->password != NULL) {
		explicit_bzero(s->password, s->passlen);
		free(s->password);
	}
	if (s->ssl_ctx != NULL)
		SSL_CTX_free(s->ssl_ctx);
	free(s->username);
	free(s->ca_file);
	free(s->verify_name);
	free(s->tls_min_version);
	free(s->tls_max_version);
	free(s->tls_ciphers);
	free(s->tls_ciphersuites);
	if (s->dead_until != NULL && s->dead_until != s->dead_local)
		munmap(s->dead_until, sizeof(s->dead_local));
	explicit_bzero(s, sizeof(*s));
	free(s);
}

GW_CONNECTOR_DEFINE_CHECK("smtp", "1.0", smtp_init, smtp_deliver, smtp_fini,
    smtp_check);
