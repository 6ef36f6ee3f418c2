/*
 * folder.c - the "folder" connector: file each message into a directory
 *
 * Settings: path (required: the root directory, created with mode 0750
 * when missing; a relative path is taken from the directory gatewayd was
 * started in) and mode (octal file mode, default 0640).  The root is
 * opened in init(), while the worker is still privileged, and given to
 * the worker's user when init() creates it; deliveries use that
 * descriptor, so the path leading to it need not be searchable by the
 * unprivileged worker.
 * Each message becomes <path>/<qid>.eml, or <qid>-1.eml, -2... when the
 * name is taken: the data goes to an exclusive temporary file, is synced,
 * and is linked to the first free name (link(2) never overwrites), then
 * the directory is synced.  Every name is opened relative to the root
 * directory, which is opened without following a symbolic link, and names
 * are built from the queue ID alone, so nothing is written outside it.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gatewayd/connector.h>

#define FOLDER_MAX_SUFFIX	10000

struct folder {
	char path[PATH_MAX];
	mode_t mode;
	int root;			/* descriptor of the root directory */
};

struct folder_result {
	enum gw_result result;
	int code;
	const char *status;
	char text[PATH_MAX + 512];
};

/* folder_setting - apply one settings key; -1 with err */
static int
folder_setting(struct folder *f, const struct gw_node *n, char *err,
    size_t errlen)
{
	const char *where = n->file ? n->file : "config";
	unsigned long m;
	char *end;

	if (n->key != NULL && strcmp(n->key, "path") == 0) {
		if (n->type != GW_NODE_SCALAR || n->value[0] == '\0' ||
		    strlen(n->value) >= sizeof(f->path) - 64) {
			snprintf(err, errlen, "%s:%u:%u: folder: path must be "
			    "a directory name", where, n->line,
			    n->column);
			return -1;
		}
		snprintf(f->path, sizeof(f->path), "%s", n->value);
		return 0;
	}
	if (n->key != NULL && strcmp(n->key, "mode") == 0) {
		errno = 0;
		m = n->type == GW_NODE_SCALAR && n->value[0] != '\0' ?
		    strtoul(n->value, &end, 8) : 01000;
		if (n->type != GW_NODE_SCALAR || n->value[0] == '\0' ||
		    errno != 0 || *end != '\0' || m > 0777) {
			snprintf(err, errlen, "%s:%u:%u: folder: mode must be "
			    "an octal file mode such as 0640", where, n->line,
			    n->column);
			return -1;
		}
		f->mode = (mode_t)m;
		return 0;
	}
	snprintf(err, errlen, "%s:%u:%u: folder: unknown setting '%s' "
	    "(known: path, mode)", where, n->line, n->column,
	    n->key ? n->key : "");
	return -1;
}

static int folder_mkdirs(const char *);

/* folder_init_root - open (create, and give to the run user) the root */
static int
folder_init_root(struct folder *f, char *err, size_t errlen)
{
	char real[PATH_MAX];
	int created = 0;
	uid_t uid;
	gid_t gid;

	f->root = open(f->path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC);
	if (f->root == -1 && errno == ENOENT) {
		if (folder_mkdirs(f->path) == -1) {
			snprintf(err, errlen, "folder: cannot create %s: %s",
			    f->path, strerror(errno));
			return -1;
		}
		created = 1;
		f->root = open(f->path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
		    O_CLOEXEC);
	}
	if (f->root == -1) {
		snprintf(err, errlen, "folder: cannot open %s: %s%s", f->path,
		    strerror(errno), errno == ELOOP || errno == ENOTDIR ?
		    " (a symbolic link or not a directory)" : "");
		return -1;
	}
	if (created && gw_run_ids(&uid, &gid) == 0 &&
	    fchown(f->root, uid, gid) == -1) {
		snprintf(err, errlen, "folder: cannot give %s to uid %u: %s",
		    f->path, (unsigned)uid, strerror(errno));
		close(f->root);
		return -1;
	}
	if (realpath(f->path, real) != NULL)
		snprintf(f->path, sizeof(f->path), "%s", real);
	return 0;
}

/* folder_init - parse the settings, open the root directory */
static int
folder_init(const struct gw_node *settings, void **ctx, char *err,
    size_t errlen)
{
	const struct gw_node *n;
	struct folder *f;

	if ((f = calloc(1, sizeof(*f))) == NULL) {
		snprintf(err, errlen, "folder: out of memory");
		return -1;
	}
	f->mode = 0640;
	if (settings != NULL && settings->type != GW_NODE_MAP) {
		snprintf(err, errlen, "%s:%u:%u: folder: settings must be a map",
		    settings->file ? settings->file : "config",
		    settings->line, settings->column);
		goto fail;
	}
	for (n = settings ? settings->child : NULL; n != NULL; n = n->next)
		if (folder_setting(f, n, err, errlen) == -1)
			goto fail;
	if (f->path[0] == '\0') {
		if (settings != NULL)
			snprintf(err, errlen, "%s:%u:%u: folder: setting 'path' "
			    "is required", settings->file ? settings->file :
			    "config", settings->line, settings->column);
		else
			snprintf(err, errlen, "folder: setting 'path' is "
			    "required");
		goto fail;
	}
	if (folder_init_root(f, err, errlen) == -1)
		goto fail;
	*ctx = f;
	return 0;
fail:
	free(f);
	return -1;
}

/* folder_fail - set a failure from errno: temporary unless hopeless */
static void
folder_fail(struct folder_result *res, int err, const char *what,
    const char *name)
{
	int perm = (err == ENOTDIR || err == ELOOP || err == ENAMETOOLONG);

	res->result = perm ? GW_RESULT_PERMFAIL : GW_RESULT_TEMPFAIL;
	res->code = perm ? 550 : 451;
	res->status = perm ? "5.3.0" : "4.3.0";
	snprintf(res->text, sizeof(res->text), "folder: %s %s: %s", what, name,
	    strerror(err));
}

/* folder_mkdirs - create the root and missing parents (0750) */
static int
folder_mkdirs(const char *path)
{
	char buf[PATH_MAX], *p;

	snprintf(buf, sizeof(buf), "%s", path);
	for (p = buf + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0750) == -1 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(buf, 0750) == -1 && errno != EEXIST)
		return -1;
	return 0;
}

/* folder_copy - write the whole message to fd */
static int
folder_copy(struct gw_message *msg, int fd)
{
	char buf[65536];
	ssize_t n, w, off;

	if (gw_message_rewind(msg) == -1)
		return -1;
	while ((n = gw_message_read(msg, buf, sizeof(buf))) > 0) {
		for (off = 0; off < n; off += w) {
			w = write(fd, buf + off, (size_t)(n - off));
			if (w == -1 && errno == EINTR)
				w = 0;
			else if (w == -1)
				return -1;
		}
	}
	if (n < 0 && errno == 0)
		errno = EIO;
	return n < 0 ? -1 : 0;
}

/* folder_write_tmp - write the message into an exclusive temporary file */
static int
folder_write_tmp(const struct folder *f, int root, const char *tmp,
    struct gw_message *msg, struct folder_result *res)
{
	int fd, e;

	fd = openat(root, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0600);
	if (fd == -1 && errno == EEXIST) {
		/* Left by an earlier attempt of a process with our pid. */
		unlinkat(root, tmp, 0);
		fd = openat(root, tmp, O_WRONLY | O_CREAT | O_EXCL |
		    O_NOFOLLOW | O_CLOEXEC, 0600);
	}
	if (fd == -1) {
		folder_fail(res, errno, "cannot create a file in", f->path);
		return -1;
	}
	if (folder_copy(msg, fd) == -1 || fchmod(fd, f->mode) == -1 ||
	    fsync(fd) == -1) {
		e = errno;
		close(fd);
		unlinkat(root, tmp, 0);
		folder_fail(res, e, "cannot write to", f->path);
		return -1;
	}
	if (close(fd) == -1) {
		e = errno;
		unlinkat(root, tmp, 0);
		folder_fail(res, e, "cannot write to", f->path);
		return -1;
	}
	return 0;
}

/* folder_link - link tmp to the first free <qid>[-N].eml; name out */
static int
folder_link(int root, const char *tmp, const char *qid, char *name,
    size_t namelen)
{
	int i;

	for (i = 0; i < FOLDER_MAX_SUFFIX; i++) {
		if (i == 0)
			snprintf(name, namelen, "%s.eml", qid);
		else
			snprintf(name, namelen, "%s-%d.eml", qid, i);
		if (linkat(root, tmp, root, name, 0) == 0)
			return 0;
		if (errno != EEXIST)
			return -1;
	}
	errno = EEXIST;
	return -1;
}

/* folder_qid_ok - a queue ID is safe as a file name part */
static int
folder_qid_ok(const char *qid)
{
	size_t n = strspn(qid, "0123456789abcdefABCDEF");

	return n > 0 && n <= 64 && qid[n] == '\0';
}

/* folder_store - the delivery proper; fills res */
static void
folder_store(const struct folder *f, const struct gw_envelope *env,
    struct gw_message *msg, struct folder_result *res)
{
	char tmp[128], name[128];
	int root, e;

	if (!folder_qid_ok(env->queue_id)) {
		res->result = GW_RESULT_PERMFAIL;
		res->code = 550;
		res->status = "5.3.0";
		snprintf(res->text, sizeof(res->text), "folder: unusable "
		    "queue ID");
		return;
	}
	root = f->root;
	snprintf(tmp, sizeof(tmp), ".tmp.%s.%ld", env->queue_id,
	    (long)getpid());
	if (folder_write_tmp(f, root, tmp, msg, res) == -1)
		goto out;
	if (folder_link(root, tmp, env->queue_id, name, sizeof(name)) == -1) {
		e = errno;
		unlinkat(root, tmp, 0);
		folder_fail(res, e, "cannot name the file in", f->path);
		goto out;
	}
	unlinkat(root, tmp, 0);
	if (fsync(root) == -1) {
		/* The name may not survive a crash: let the worker retry. */
		e = errno;
		unlinkat(root, name, 0);
		folder_fail(res, e, "cannot sync", f->path);
		goto out;
	}
	res->result = GW_RESULT_OK;
	res->code = 250;
	res->status = "2.0.0";
	snprintf(res->text, sizeof(res->text), "delivered to %s/%s", f->path,
	    name);
out:
	;
}

/* folder_deliver - store once; every recipient gets the same result */
static void
folder_deliver(void *ctx, const struct gw_envelope *env,
    struct gw_message *msg)
{
	struct folder_result res;
	size_t i;

	memset(&res, 0, sizeof(res));
	folder_store(ctx, env, msg, &res);
	if (res.result != GW_RESULT_OK)
		gw_log(GW_LOG_WARNING, "%s", res.text);
	for (i = 0; i < env->nrcpt; i++)
		gw_rcpt_set_result(env->rcpt[i], res.result, res.code,
		    res.status, "%s", res.text);
}

/* folder_fini - free the settings */
static void
folder_fini(void *ctx)
{
	struct folder *f = ctx;

	if (f != NULL && f->root != -1)
		close(f->root);
	free(f);
}

GW_CONNECTOR_DEFINE("folder", "1.0", folder_init, folder_deliver,
    folder_fini);
