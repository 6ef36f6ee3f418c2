/*
 * folder_config.c - settings of the folder connector, checked in init()
 *
 * Every error names file:line:column of the setting.  init() runs while
 * the worker is still privileged: owner and group are resolved here, the
 * root directory is opened (and created, and given to the run user) here.
 * After init() the worker runs as the unprivileged user with only its
 * primary group, so an owner other than that user cannot be honoured (only
 * root may give a file away) and is refused; a group other than the run
 * user's is given to the root directory with the set-group-ID bit, so
 * that every directory and file created below inherits it.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gatewayd/connector.h>

#include "folder.h"

#define WHERE(n)	((n)->file ? (n)->file : "config"), (n)->line, (n)->column

/* The nodes resolved after all keys are read. */
struct folder_cfgnodes {
	const struct gw_node *owner, *group;
};

static const char *const folder_modes[] = { "message", "attachments", "both",
	NULL };
static const char *const folder_charsets[] = { "posix", "windows", "ascii",
	NULL };
static const char *const folder_collisions[] = { "suffix", "overwrite",
	"fail", NULL };
static const char *const folder_bodies[] = { "auto", "always", "never", NULL };
static const char *const folder_sidecars[] = { "none", "message", "file",
	NULL };
static const char *const folder_messages[] = { "extract", "file", NULL };
static const char *const folder_zones[] = { "local", "utc", NULL };

/* cfg_enum - index of the scalar's value in names; -1 with err */
static int
cfg_enum(const char *who, const struct gw_node *n, const char *const *names,
    char *err, size_t errlen)
{
	char list[256];
	size_t len = 0;
	int i;

	for (i = 0; n->type == GW_NODE_SCALAR && names[i] != NULL; i++)
		if (strcmp(n->value, names[i]) == 0)
			return i;
	list[0] = '\0';
	for (i = 0; names[i] != NULL && len < sizeof(list); i++)
		len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%s",
		    i ? ", " : "", names[i]);
	snprintf(err, errlen, "%s:%u:%u: %s: %s must be one of: %s",
	    WHERE(n), who, n->key, list);
	return -1;
}

/* cfg_uint - an integer in [lo, hi] (the core's syntax); -1 with err */
static int
cfg_uint(const struct gw_node *n, unsigned int lo,
    unsigned int hi, unsigned int *out, char *err, size_t errlen)
{
	unsigned long long v;

	if (gw_node_count(n, lo, hi, &v, err, errlen) == -1)
		return -1;
	*out = (unsigned int)v;
	return 0;
}

/* cfg_template - a template; -1 with err */
static int
cfg_template(const char *who, const struct gw_node *n, int is_file, char *out,
    size_t outlen, char *err, size_t errlen)
{
	char why[256];

	if (n->type != GW_NODE_SCALAR || strlen(n->value) >= outlen) {
		snprintf(err, errlen, "%s:%u:%u: %s: %s must be a text "
		    "shorter than %zu bytes", WHERE(n), who, n->key, outlen);
		return -1;
	}
	if (folder_template_check(n->value, is_file, why, sizeof(why)) == -1) {
		snprintf(err, errlen, "%s:%u:%u: %s: %s: %s", WHERE(n), who,
		    n->key, why);
		return -1;
	}
	if (n->value[0] == '/') {
		snprintf(err, errlen, "%s:%u:%u: %s: %s is relative to "
		    "the root and cannot start with '/'", WHERE(n), who, n->key);
		return -1;
	}
	snprintf(out, outlen, "%s", n->value);
	return 0;
}

/* cfg_mode - "mode": message|attachments|both, or an octal (file_mode) */
static int
cfg_mode(struct folder *f, const struct gw_node *n, char *err, size_t errlen)
{
	int i;

	if (n->type == GW_NODE_SCALAR && n->value[0] >= '0' &&
	    n->value[0] <= '9')
		return gw_node_mode(n, &f->file_mode, err, errlen);
	if ((i = cfg_enum(f->who, n, folder_modes, err, errlen)) == -1)
		return -1;
	f->mode = (enum folder_mode)i;
	return 0;
}

/*
 * cfg_enum_key - the keys whose value is one of a list; 1 if handled.
 * doc_only: only the keys that describe documents and names (shared with
 * the webdav and http connectors), not the folder's own.
 */
static int
cfg_enum_key(struct folder *f, const struct gw_node *n, int doc_only,
    char *err, size_t errlen, int *r)
{
	static const struct {
		const char *key;
		const char *const *names;
		int doc;
	} t[] = {
		{ "charset", folder_charsets, 1 },
		{ "collision", folder_collisions, 0 },
		{ "body", folder_bodies, 1 }, { "sidecar", folder_sidecars, 0 },
		{ "messages", folder_messages, 1 },
		{ "timezone", folder_zones, 1 },
	};
	size_t i;
	int v;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (strcmp(n->key, t[i].key) == 0 && (t[i].doc || !doc_only))
			break;
	if (i == sizeof(t) / sizeof(t[0]))
		return 0;
	if ((v = cfg_enum(f->who, n, t[i].names, err, errlen)) == -1) {
		*r = -1;
		return 1;
	}
	switch (i) {
	case 0: f->policy.charset = (enum folder_charset)v; break;
	case 1: f->collision = (enum folder_collision)v; break;
	case 2: f->body = (enum folder_body)v; break;
	case 3: f->sidecar = (enum folder_sidecar)v; break;
	case 4: f->messages_as_files = v; break;
	default: f->utc = v; break;
	}
	*r = 0;
	return 1;
}

/*
 * folder_config_doc_key - one of the keys that say how a message becomes
 * named documents (templates, charset, name_max, body, messages, timezone,
 * max_depth, max_parts): 1 applied, 0 not such a key, -1 with err
 */
int
folder_config_doc_key(struct folder *f, const struct gw_node *n, char *err,
    size_t errlen)
{
	unsigned int v;
	int r;

	if (strcmp(n->key, "path_template") == 0)
		r = cfg_template(f->who, n, 0, f->path_template,
		    sizeof(f->path_template), err, errlen);
	else if (strcmp(n->key, "file_template") == 0)
		r = cfg_template(f->who, n, 1, f->file_template,
		    sizeof(f->file_template), err, errlen);
	else if (cfg_enum_key(f, n, 1, err, errlen, &r))
		;
	else if (strcmp(n->key, "name_max") == 0) {
		r = cfg_uint(n, 16, 255, &v, err, errlen);
		if (r == 0)
			f->policy.name_max = v;
	} else if (strcmp(n->key, "max_depth") == 0)
		r = cfg_uint(n, 1, 100, &f->max_depth, err, errlen);
	else if (strcmp(n->key, "max_parts") == 0)
		r = cfg_uint(n, 1, 10000, &f->max_parts, err, errlen);
	else
		return 0;
	return r == -1 ? -1 : 1;
}

/* cfg_key - apply one settings key; -1 with err */
static int
cfg_key(struct folder *f, struct folder_cfgnodes *nodes,
    const struct gw_node *n, char *err, size_t errlen)
{
	int r;

	if (n->key == NULL)
		goto unknown;
	if (strcmp(n->key, "path") == 0) {
		if (n->type != GW_NODE_SCALAR || n->value[0] == '\0' ||
		    strlen(n->value) >= sizeof(f->path) - 64) {
			snprintf(err, errlen, "%s:%u:%u: folder: path must be "
			    "a directory name", WHERE(n));
			return -1;
		}
		snprintf(f->path, sizeof(f->path), "%s", n->value);
		return 0;
	}
	if (strcmp(n->key, "mode") == 0)
		return cfg_mode(f, n, err, errlen);
	if (strcmp(n->key, "file_mode") == 0)
		return gw_node_mode(n, &f->file_mode, err, errlen);
	if (strcmp(n->key, "dir_mode") == 0)
		return gw_node_mode(n, &f->dir_mode, err, errlen);
	if (strcmp(n->key, "journal_keep") == 0)
		return gw_node_duration(n, 3600, 3650ULL * 86400,
		    &f->journal_keep, err, errlen);
	if (strcmp(n->key, "sidecar_template") == 0)
		return cfg_template(f->who, n, 1, f->sidecar_template,
		    sizeof(f->sidecar_template), err, errlen);
	if ((r = folder_config_doc_key(f, n, err, errlen)) != 0 ||
	    cfg_enum_key(f, n, 0, err, errlen, &r))
		return r == -1 ? -1 : 0;
	if (strcmp(n->key, "owner") == 0 || strcmp(n->key, "group") == 0) {
		if (n->type != GW_NODE_SCALAR || n->value[0] == '\0') {
			snprintf(err, errlen, "%s:%u:%u: folder: %s must be a "
			    "name or a number", WHERE(n), n->key);
			return -1;
		}
		*(n->key[0] == 'o' ? &nodes->owner : &nodes->group) = n;
		return 0;
	}
unknown:
	snprintf(err, errlen, "%s:%u:%u: folder: unknown setting '%s' (known: "
	    "path, mode, file_mode, dir_mode, owner, group, path_template, "
	    "file_template, collision, charset, name_max, body, messages, "
	    "sidecar, sidecar_template, timezone, max_depth, max_parts, "
	    "journal_keep)",
	    WHERE(n), n->key ? n->key : "");
	return -1;
}

/* cfg_run_ids - who the worker runs as after init() */
static void
cfg_run_ids(uid_t *uid, gid_t *gid, int *privileged)
{
	*privileged = gw_run_ids(uid, gid) == 0;
	if (!*privileged) {
		*uid = geteuid();
		*gid = getegid();
	}
}

/* cfg_owner - owner may only be the run user; -1 with err */
static int
cfg_owner(struct folder *f, const struct gw_node *n, char *err,
    size_t errlen)
{
	struct passwd *pw = getpwnam(n->value);
	char *end;
	uid_t run;
	gid_t rgid;
	int priv;

	errno = 0;
	f->owner = pw ? pw->pw_uid : (uid_t)strtoul(n->value, &end, 10);
	if (pw == NULL && (*end != '\0' || errno != 0)) {
		snprintf(err, errlen, "%s:%u:%u: folder: owner: no such user "
		    "'%s'", WHERE(n), n->value);
		return -1;
	}
	cfg_run_ids(&run, &rgid, &priv);
	if (f->owner != run) {
		snprintf(err, errlen, "%s:%u:%u: folder: owner '%s' (uid %u) "
		    "is not the user the worker runs as (uid %u): the worker "
		    "creates the files and only root may give a file to "
		    "another user; leave owner unset, or run gatewayd's "
		    "children as that user ('user' in the configuration)",
		    WHERE(n), n->value, (unsigned)f->owner, (unsigned)run);
		return -1;
	}
	f->has_owner = 1;
	return 0;
}

/* cfg_in_groups - is gid one of this process's groups? */
static int
cfg_in_groups(gid_t gid)
{
	gid_t list[256];
	int n, i;

	if (gid == getegid())
		return 1;
	n = getgroups((int)(sizeof(list) / sizeof(list[0])), list);
	for (i = 0; i < n; i++)
		if (list[i] == gid)
			return 1;
	return 0;
}

/* cfg_group - resolve group and how files will get it; -1 with err */
static int
cfg_group(struct folder *f, const struct gw_node *n, char *err,
    size_t errlen)
{
	struct group *gr = getgrnam(n->value);
	char *end;
	uid_t run;
	gid_t rgid;
	int priv;

	errno = 0;
	f->group = gr ? gr->gr_gid : (gid_t)strtoul(n->value, &end, 10);
	if (gr == NULL && (*end != '\0' || errno != 0)) {
		snprintf(err, errlen, "%s:%u:%u: folder: group: no such group "
		    "'%s'", WHERE(n), n->value);
		return -1;
	}
	cfg_run_ids(&run, &rgid, &priv);
	f->has_group = 1;
	if (f->group == rgid || (!priv && cfg_in_groups(f->group))) {
		f->groupway = FOLDER_GROUP_CHOWN;
		return 0;
	}
	/* check() runs as the gateway's user: the started worker decides */
	if (f->checking && (!priv || geteuid() != 0)) {
		f->groupway = FOLDER_GROUP_SETGID;
		return 0;
	}
	if (!priv || geteuid() != 0) {
		snprintf(err, errlen, "%s:%u:%u: folder: group '%s' (gid %u) "
		    "is not a group of the user the worker runs as, and the "
		    "worker is not started as root, which could give the "
		    "root directory that group with the set-group-ID bit",
		    WHERE(n), n->value, (unsigned)f->group);
		return -1;
	}
	f->groupway = FOLDER_GROUP_SETGID;
	return 0;
}

/* folder_config_defaults - the document settings' defaults; who names the connector in messages */
void
folder_config_defaults(struct folder *f, const char *who)
{
	f->who = who;
	f->root = -1;
	f->policy.name_max = 200;
	f->max_depth = 20;
	f->max_parts = 500;
	snprintf(f->file_template, sizeof(f->file_template), "{filename}");
}

/* folder_config - defaults, then every key, then the cross-checks */
int
folder_config(struct folder *f, const struct gw_node *settings, char *err,
    size_t errlen)
{
	struct folder_cfgnodes nodes = { NULL, NULL };
	const struct gw_node *n;

	folder_config_defaults(f, "folder");
	f->file_mode = 0640;
	f->dir_mode = 0750;
	f->journal_keep = FOLDER_JOURNAL_KEEP;
	snprintf(f->sidecar_template, sizeof(f->sidecar_template),
	    "{qid}.json");
	if (settings == NULL) {
		snprintf(err, errlen, "folder: setting 'path' is required");
		return -1;
	}
	if (settings->type != GW_NODE_MAP) {
		snprintf(err, errlen, "%s:%u:%u: folder: settings must be a "
		    "map", WHERE(settings));
		return -1;
	}
	for (n = settings->child; n != NULL; n = n->next)
		if (cfg_key(f, &nodes, n, err, errlen) == -1)
			return -1;
	if (f->path[0] == '\0') {
		snprintf(err, errlen, "%s:%u:%u: folder: setting 'path' is "
		    "required", WHERE(settings));
		return -1;
	}
	if (nodes.owner != NULL && cfg_owner(f, nodes.owner, err, errlen) == -1)
		return -1;
	if (nodes.group != NULL && cfg_group(f, nodes.group, err, errlen) == -1)
		return -1;
	f->per_rcpt = folder_template_uses_rcpt(f->path_template) ||
	    folder_template_uses_rcpt(f->file_template) ||
	    (f->sidecar == FOLDER_SIDECAR_MESSAGE &&
	    folder_template_uses_rcpt(f->sidecar_template));
	return 0;
}

/* cfg_mkdirs - create the root and missing parents */
static int
cfg_mkdirs(const char *path, mode_t mode)
{
	char buf[PATH_MAX], *p;

	snprintf(buf, sizeof(buf), "%s", path);
	for (p = buf + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) == -1 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(buf, mode) == -1 && errno != EEXIST)
		return -1;
	return 0;
}

/* cfg_root_ids - give a new root to the run user; set the group way */
static int
cfg_root_ids(struct folder *f, int created, char *err, size_t errlen)
{
	struct stat st;
	uid_t uid;
	gid_t gid;
	int priv;

	cfg_run_ids(&uid, &gid, &priv);
	if (f->has_group)
		gid = f->group;
	if (created && priv && fchown(f->root, uid, gid) == -1)
		goto fail;
	if (created && fchmod(f->root, f->dir_mode | (f->groupway ==
	    FOLDER_GROUP_SETGID ? S_ISGID : 0)) == -1)
		goto fail;
	if (f->groupway != FOLDER_GROUP_SETGID || fstat(f->root, &st) == -1)
		return 0;
	if ((st.st_gid != f->group && fchown(f->root, (uid_t)-1,
	    f->group) == -1) || ((st.st_mode & S_ISGID) == 0 &&
	    fchmod(f->root, (st.st_mode & 07777) | S_ISGID) == -1))
		goto fail;
	return 0;
fail:
	snprintf(err, errlen, "folder: cannot give %s to uid %u gid %u: %s",
	    f->path, (unsigned)uid, (unsigned)gid, strerror(errno));
	return -1;
}

/* folder_config_root - open (create, give away) the root directory */
int
folder_config_root(struct folder *f, char *err, size_t errlen)
{
	char real[PATH_MAX];
	int created = 0;

	f->root = open(f->path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC);
	if (f->root == -1 && errno == ENOENT) {
		if (cfg_mkdirs(f->path, f->dir_mode) == -1) {
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
	if (cfg_root_ids(f, created, err, errlen) == -1) {
		close(f->root);
		f->root = -1;
		return -1;
	}
	if (realpath(f->path, real) != NULL)
		snprintf(f->path, sizeof(f->path), "%s", real);
	return 0;
}
