/*
 * web_config.c - the settings the webdav and http connectors share
 *
 * url, auth (none, basic, bearer), auth_file, tls_verify, ca_file,
 * connect_timeout, timeout and store, plus the folder connector's
 * document keys (folder_config_doc_key).  Every error names
 * file:line:column.  web_config_finish() runs in init(), while the worker
 * is still privileged: it reads the auth file (a regular file, not a
 * link, owned by root or the worker's user, with no access for group or
 * others) and the CA file into memory, so neither is opened again by the
 * deliverer, which may not reach them (doc/security.md).  In check()
 * (w->checking) the same code runs as the gateway's user: a file that
 * user may open is read, checked and let go at once; one it may not
 * open is checked by lstat() (type, owner, mode) where that is allowed,
 * and its content is left to the worker's start.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "web.h"

#define WHERE(n)	((n)->file ? (n)->file : "config"), (n)->line, (n)->column
#define WEB_CA_MAX	(4 * 1024 * 1024)

/* web_config_init - defaults; who names the connector in messages */
void
web_config_init(struct web *w, const char *who)
{
	memset(w, 0, sizeof(*w));
	w->who = who;
	w->tls_verify = 1;
	w->connect_timeout = 10;
	w->timeout = 120;
	folder_config_defaults(&w->docs, who);
	w->docs.mode = FOLDER_ATTACHMENTS;
	snprintf(w->docs.file_template, sizeof(w->docs.file_template),
	    "{qid}-{filename}");
}

/* cfg_scalar - a scalar node's text, or NULL with err */
static const char *
cfg_scalar(const struct web *w, const struct gw_node *n, char *err,
    size_t errlen)
{
	if (n->type == GW_NODE_SCALAR && n->value != NULL)
		return n->value;
	snprintf(err, errlen, "%s:%u:%u: %s: %s must be a single value",
	    WHERE(n), w->who, n->key);
	return NULL;
}

/* cfg_seconds - "N" or "Ns", 1 to 3600; -1 with err */
static int
cfg_seconds(const struct web *w, const struct gw_node *n, long *out,
    char *err, size_t errlen)
{
	const char *v = cfg_scalar(w, n, err, errlen);
	char *end = NULL;
	long s = 0;

	if (v == NULL)
		return -1;
	errno = 0;
	if (v[0] >= '0' && v[0] <= '9')
		s = strtol(v, &end, 10);
	if (end != NULL && *end == 's')
		end++;
	if (end == NULL || *end != '\0' || errno != 0 || s < 1 || s > 3600) {
		snprintf(err, errlen, "%s:%u:%u: %s: %s must be a number of "
		    "seconds from 1 to 3600 (\"30\" or \"30s\")", WHERE(n),
		    w->who, n->key);
		return -1;
	}
	*out = s;
	return 0;
}

/* cfg_word - index of the scalar's value in names (case-insensitive) */
static int
cfg_word(const struct web *w, const struct gw_node *n,
    const char *const *names, const char *list, char *err, size_t errlen)
{
	const char *v = cfg_scalar(w, n, err, errlen);
	int i;

	for (i = 0; v != NULL && names[i] != NULL; i++)
		if (strcasecmp(v, names[i]) == 0)
			return i;
	if (v != NULL)
		snprintf(err, errlen, "%s:%u:%u: %s: %s must be one of: %s",
		    WHERE(n), w->who, n->key, list);
	return -1;
}

/* cfg_path - an absolute file name into out; -1 with err */
static int
cfg_path(const struct web *w, const struct gw_node *n, char *out,
    size_t outlen, char *err, size_t errlen)
{
	const char *v = cfg_scalar(w, n, err, errlen);

	if (v == NULL)
		return -1;
	if (v[0] != '/' || strlen(v) >= outlen) {
		snprintf(err, errlen, "%s:%u:%u: %s: %s must be an absolute "
		    "file name", WHERE(n), w->who, n->key);
		return -1;
	}
	snprintf(out, outlen, "%s", v);
	return 0;
}

/* cfg_url - the server's URL, checked; -1 with err */
static int
cfg_url(struct web *w, const struct gw_node *n, char *err, size_t errlen)
{
	const char *v = cfg_scalar(w, n, err, errlen);
	char why[256];

	if (v == NULL)
		return -1;
	if (strlen(v) >= sizeof(w->url) / 2 ||
	    web_url_check(v, w->allow_query, why, sizeof(why)) == -1) {
		snprintf(err, errlen, "%s:%u:%u: %s: url %s", WHERE(n), w->who,
		    strlen(v) >= sizeof(w->url) / 2 ? "is too long" : why);
		return -1;
	}
	snprintf(w->url, sizeof(w->url), "%s", v);
	return 0;
}

/*
 * web_config_key - one shared key: 1 applied, 0 not a shared key, -1 with
 * err
 */
int
web_config_key(struct web *w, const struct gw_node *n, char *err,
    size_t errlen)
{
	static const char *const auths[] = { "none", "basic", "bearer", NULL };
	static const char *const bools[] = { "no", "yes", "false", "true",
	    "off", "on", NULL };
	static const char *const stores[] = { "message", "attachments",
	    "both", NULL };
	int r = 0, i;

	if (n->key == NULL)
		return 0;
	if (strcmp(n->key, "url") == 0)
		r = cfg_url(w, n, err, errlen);
	else if (strcmp(n->key, "auth") == 0) {
		if ((i = cfg_word(w, n, auths, "none, basic, bearer", err,
		    errlen)) != -1)
			w->auth = (enum web_auth)i;
		r = i == -1 ? -1 : 0;
	} else if (strcmp(n->key, "auth_file") == 0) {
		w->auth_node = n;
		r = cfg_path(w, n, w->auth_file, sizeof(w->auth_file), err,
		    errlen);
	} else if (strcmp(n->key, "ca_file") == 0) {
		w->ca_node = n;
		r = cfg_path(w, n, w->ca_file, sizeof(w->ca_file), err, errlen);
	} else if (strcmp(n->key, "tls_verify") == 0) {
		if ((i = cfg_word(w, n, bools, "yes, no", err, errlen)) != -1)
			w->tls_verify = i % 2;
		r = i == -1 ? -1 : 0;
	} else if (strcmp(n->key, "connect_timeout") == 0)
		r = cfg_seconds(w, n, &w->connect_timeout, err, errlen);
	else if (strcmp(n->key, "timeout") == 0)
		r = cfg_seconds(w, n, &w->timeout, err, errlen);
	else if (strcmp(n->key, "store") == 0) {
		if ((i = cfg_word(w, n, stores, "attachments, message, both",
		    err, errlen)) != -1)
			w->docs.mode = (enum folder_mode)i;
		r = i == -1 ? -1 : 0;
	} else {
		if (strcmp(n->key, "file_template") == 0)
			w->file_template_set = 1;
		return folder_config_doc_key(&w->docs, n, err, errlen);
	}
	return r == -1 ? -1 : 1;
}

/* read_small - the whole of fd (at most max bytes) in a new buffer */
static char *
read_small(int fd, size_t max, size_t *len)
{
	char *buf = malloc(max + 1);
	size_t n = 0;
	ssize_t r;

	if (buf == NULL)
		return NULL;
	while (n <= max && (r = read(fd, buf + n, max + 1 - n)) != 0) {
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			free(buf);
			return NULL;
		}
		n += (size_t)r;
	}
	if (n > max) {
		explicit_bzero(buf, max + 1);
		free(buf);
		errno = EFBIG;
		return NULL;
	}
	buf[n] = '\0';
	*len = n;
	return buf;
}

/* open_file - open a configured file without following a link; fstat */
static int
open_file(const char *path, struct stat *st)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);

	if (fd != -1 && fstat(fd, st) == -1) {
		close(fd);
		return -1;
	}
	if (fd != -1 && !S_ISREG(st->st_mode)) {
		close(fd);
		errno = EINVAL;
		return -1;
	}
	return fd;
}

/*
 * file_err - "file:line:col: who: key path: why" for a configured file
 * (why NULL: errno's text, "not a regular file" for EINVAL); returns -1
 */
static int
file_err(const struct web *w, const struct gw_node *n, const char *key,
    const char *path, const char *why, char *err, size_t errlen)
{
	if (why == NULL)
		why = errno == EINVAL ? "not a regular file" : strerror(errno);
	snprintf(err, errlen, "%s:%u:%u: %s: %s %s: %s", WHERE(n), w->who,
	    key, path, why);
	return -1;
}

/*
 * open_checked - open a configured file as open_file() does; in check()
 * a file the gateway's user may not open is no error (-2: not read), but
 * what lstat() shows of it must pass is_ok (NULL: a regular file)
 */
static int
open_checked(const struct web *w, const struct gw_node *n, const char *key,
    const char *path, struct stat *st, int (*is_ok)(const struct web *,
    const struct gw_node *, const struct stat *, char *, size_t),
    char *err, size_t errlen)
{
	int fd = open_file(path, st);

	if (fd != -1 || !w->checking || errno != EACCES)
		return fd == -1 ? file_err(w, n, key, path, NULL, err, errlen) :
		    fd;
	if (lstat(path, st) == -1)
		return errno == EACCES ? -2 : file_err(w, n, key, path, NULL,
		    err, errlen);
	if (S_ISLNK(st->st_mode) || !S_ISREG(st->st_mode))
		return file_err(w, n, key, path, S_ISLNK(st->st_mode) ?
		    strerror(ELOOP) : "not a regular file", err, errlen);
	if (is_ok != NULL && is_ok(w, n, st, err, errlen) == -1)
		return -1;
	return -2;
}

/* run_uid - the uid the worker runs as after init() (check: this one) */
static uid_t
run_uid(void)
{
	uid_t uid;
	gid_t gid;

	return gw_run_ids(&uid, &gid) == 0 ? uid : geteuid();
}

/* secret_mode - the auth file is root's or the run user's, 0600; -1 err */
static int
secret_mode(const struct web *w, const struct gw_node *n,
    const struct stat *st, char *err, size_t errlen)
{
	char why[160];

	if ((st->st_mode & 077) == 0 && (st->st_uid == 0 ||
	    st->st_uid == run_uid()))
		return 0;
	snprintf(why, sizeof(why), "must be owned by root (or the user "
	    "gatewayd runs as) with no access for group or others (mode "
	    "%04o, uid %u): chmod 600", (unsigned)(st->st_mode & 07777),
	    (unsigned)st->st_uid);
	return file_err(w, n, "auth_file", w->auth_file, why, err, errlen);
}

/*
 * load_secret - read and check the auth file; -1 with err.  check()
 * parses it too when the gateway's user may read it, and forgets it.
 */
static int
load_secret(struct web *w, char *err, size_t errlen)
{
	const struct gw_node *n = w->auth_node;
	char why[256];
	struct stat st;
	size_t len = 0;
	int fd;

	if ((fd = open_checked(w, n, "auth_file", w->auth_file, &st,
	    secret_mode, err, errlen)) < 0)
		return fd == -2 ? 0 : -1;
	if (secret_mode(w, n, &st, err, errlen) == -1) {
		close(fd);
		return -1;
	}
	w->secret = read_small(fd, WEB_SECRET_MAX, &len);
	close(fd);
	if (w->secret == NULL || web_secret_parse(w->auth, w->secret, &len,
	    why, sizeof(why)) == -1)
		return file_err(w, n, "auth_file", w->auth_file, w->secret ?
		    why : NULL, err, errlen);
	return 0;
}

/* load_ca - the CA file's certificates, kept in memory; -1 with err */
static int
load_ca(struct web *w, char *err, size_t errlen)
{
	struct stat st;
	int fd;

	if ((fd = open_checked(w, w->ca_node, "ca_file", w->ca_file, &st,
	    NULL, err, errlen)) < 0)
		return fd == -2 ? 0 : -1;
	w->ca = read_small(fd, WEB_CA_MAX, &w->calen);
	close(fd);
	if (w->ca == NULL || strstr(w->ca, "-----BEGIN CERTIFICATE-----") ==
	    NULL)
		return file_err(w, w->ca_node, "ca_file", w->ca_file, w->ca ?
		    "holds no PEM certificate" : NULL, err, errlen);
	return 0;
}

/* web_config_finish - required keys, cross-checks, files; -1 with err */
int
web_config_finish(struct web *w, const struct gw_node *settings, char *err,
    size_t errlen)
{
	if (w->url[0] == '\0') {
		snprintf(err, errlen, "%s:%u:%u: %s: setting 'url' is required",
		    WHERE(settings), w->who);
		return -1;
	}
	if (w->auth_file[0] != '\0' && w->auth == WEB_AUTH_NONE)
		w->auth = WEB_AUTH_BASIC;
	if (w->auth != WEB_AUTH_NONE && w->auth_file[0] == '\0') {
		snprintf(err, errlen, "%s:%u:%u: %s: auth needs auth_file (the "
		    "password or token is never written in the configuration)",
		    WHERE(settings), w->who);
		return -1;
	}
	if (w->docs.mode == FOLDER_MESSAGE && !w->file_template_set)
		snprintf(w->docs.file_template, sizeof(w->docs.file_template),
		    "{filename}");
	w->docs.per_rcpt |= folder_template_uses_rcpt(w->docs.path_template) ||
	    folder_template_uses_rcpt(w->docs.file_template);
	if (w->auth != WEB_AUTH_NONE && load_secret(w, err, errlen) == -1)
		return -1;
	if (w->ca_file[0] != '\0' && load_ca(w, err, errlen) == -1)
		return -1;
	if (w->checking) {	/* nothing read is kept by check() */
		web_config_free(w);
		return 0;
	}
	if (!w->tls_verify)
		gw_log(GW_LOG_WARNING, "%s: tls_verify is no: the server's "
		    "certificate is not checked%s", w->who, w->auth !=
		    WEB_AUTH_NONE ? " and the credentials of auth_file go to "
		    "whoever answers" : "");
	return 0;
}

/* web_config_free - wipe the secret, free what init() read */
void
web_config_free(struct web *w)
{
	if (w->secret != NULL) {
		explicit_bzero(w->secret, strlen(w->secret));
		free(w->secret);
	}
	free(w->ca);
	w->secret = w->ca = NULL;
}
