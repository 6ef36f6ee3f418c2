/*
 * landlock.c - hide a directory tree from this process (Linux Landlock)
 *
 * Landlock only grants: a ruleset handles every filesystem right, and
 * rules give them back beneath chosen directories.  To take one tree away
 * and leave the rest of the file system as it was, the rules grant every
 * right beneath each sibling of each directory on the way from "/" to the
 * hidden one, and nothing on the path itself.  Only directories get a
 * rule: a rule pins its inode for the life of the sandbox, and a file
 * (a large temporary file beside the spool, say) would keep its space
 * after it was deleted.  What follows from that, and is documented in
 * doc/security.md: files directly in one of the hidden tree's ancestors,
 * and entries created there later, are out of reach too, and so is
 * listing an ancestor.
 * Descriptors opened before do not help either: Landlock checks each
 * path-based operation against the tree the target is in, however it was
 * reached.  Where the kernel has Landlock ABI 6, signals to processes
 * outside the sandbox are refused as well.
 */
#include "config.h"

#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/landlock.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "landlock.h"
#include "log.h"

#ifndef LANDLOCK_ACCESS_FS_REFER
#define LANDLOCK_ACCESS_FS_REFER	(1ULL << 13)
#endif
#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE	(1ULL << 14)
#endif
#ifndef LANDLOCK_ACCESS_FS_IOCTL_DEV
#define LANDLOCK_ACCESS_FS_IOCTL_DEV	(1ULL << 15)
#endif
#define LL_SCOPE_SIGNAL		(1ULL << 1)

/* The ruleset attribute as ABI 6 knows it; older kernels get a prefix. */
struct ll_attr {
	uint64_t handled_access_fs;
	uint64_t handled_access_net;
	uint64_t scoped;
};

/* ll_rights - every filesystem right the kernel's ABI version knows */
static uint64_t
ll_rights(int abi)
{
	uint64_t r = (LANDLOCK_ACCESS_FS_MAKE_SYM << 1) - 1;	/* ABI 1 */

	if (abi >= 2)
		r |= LANDLOCK_ACCESS_FS_REFER;
	if (abi >= 3)
		r |= LANDLOCK_ACCESS_FS_TRUNCATE;
	if (abi >= 5)
		r |= LANDLOCK_ACCESS_FS_IOCTL_DEV;
	return r;
}

/* ll_grant - every right (of rights) beneath the directory name of dirfd */
static int
ll_grant(int ruleset, int dirfd, const char *name, uint64_t rights)
{
	struct landlock_path_beneath_attr pb;
	struct stat st;
	int fd, rc;

	if ((fd = openat(dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC)) == -1)
		return errno == ENOENT ? 0 : -1;	/* gone meanwhile */
	if (fstat(fd, &st) == -1) {
		close(fd);
		return -1;
	}
	memset(&pb, 0, sizeof(pb));
	pb.parent_fd = fd;
	pb.allowed_access = rights;
	rc = !S_ISDIR(st.st_mode) ? 0 : (int)syscall(SYS_landlock_add_rule,
	    ruleset, LANDLOCK_RULE_PATH_BENEATH, &pb, 0);
	close(fd);
	return rc;
}

/* ll_siblings - grant beneath every entry of dir except skip */
static int
ll_siblings(int ruleset, const char *dir, const char *skip, uint64_t rights)
{
	struct dirent *de;
	DIR *d;
	int rc = 0;

	if ((d = opendir(dir)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL && rc == 0) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0 ||
		    strcmp(de->d_name, skip) == 0)
			continue;
		rc = ll_grant(ruleset, dirfd(d), de->d_name, rights);
	}
	closedir(d);
	return rc;
}

/* ll_rules - the siblings of every directory on the way to path */
static int
ll_rules(int ruleset, const char *path, uint64_t rights)
{
	char dir[PATH_MAX], comp[NAME_MAX + 1];
	const char *p = path + 1, *slash;
	size_t n;

	snprintf(dir, sizeof(dir), "/");
	while (*p != '\0') {
		slash = strchr(p, '/');
		n = slash ? (size_t)(slash - p) : strlen(p);
		if (n == 0 || n > NAME_MAX)
			return errno = EINVAL, -1;
		memcpy(comp, p, n);
		comp[n] = '\0';
		if (ll_siblings(ruleset, dir, comp, rights) == -1)
			return -1;
		if (strlen(dir) + n + 2 > sizeof(dir))
			return errno = ENAMETOOLONG, -1;
		if (strcmp(dir, "/") != 0)
			strcat(dir, "/");
		strcat(dir, comp);
		p += n;
		while (*p == '/')
			p++;
	}
	return 0;
}

/* ll_allow - give back rights beneath path/sub for each listed sub */
static int
ll_allow(int ruleset, const char *path, const struct landlock_allow *allow,
    int abi)
{
	char sub[PATH_MAX];
	uint64_t rights;

	for (; allow != NULL && allow->sub != NULL; allow++) {
		if (snprintf(sub, sizeof(sub), "%s/%s", path, allow->sub) >=
		    (int)sizeof(sub))
			return errno = ENAMETOOLONG, -1;
		rights = allow->write ? ll_rights(abi) :
		    LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR;
		if (ll_grant(ruleset, AT_FDCWD, sub, rights) == -1)
			return -1;
	}
	return 0;
}

#define LANDLOCK_NONE	(-2)	/* the kernel has no Landlock */

/*
 * landlock_prepare - the ruleset that hides path but for allow;
 * LANDLOCK_NONE or -1 with the reason in err
 */
static int
landlock_prepare(const char *path, const struct landlock_allow *allow,
    char *err, size_t errlen)
{
	char real[PATH_MAX];
	struct ll_attr attr;
	size_t size;
	int abi, ruleset, save;

	abi = (int)syscall(SYS_landlock_create_ruleset, NULL, 0,
	    LANDLOCK_CREATE_RULESET_VERSION);
	if (abi < 1) {
		snprintf(err, errlen, "Landlock is not available in this "
		    "kernel (%s)", strerror(errno));
		return LANDLOCK_NONE;
	}
	if (realpath(path, real) == NULL || strcmp(real, "/") == 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno ? errno :
		    EINVAL));
		return -1;
	}
	memset(&attr, 0, sizeof(attr));
	attr.handled_access_fs = ll_rights(abi);
	size = sizeof(attr.handled_access_fs);
	if (abi >= 6) {
		attr.scoped = LL_SCOPE_SIGNAL;
		size = sizeof(attr);
	}
	ruleset = (int)syscall(SYS_landlock_create_ruleset, &attr, size, 0);
	if (ruleset == -1) {
		snprintf(err, errlen, "landlock_create_ruleset: %s",
		    strerror(errno));
		return -1;
	}
	/* the descriptor is close-on-exec (landlock_create_ruleset(2)) */
	if (ll_rules(ruleset, real, attr.handled_access_fs) == -1 ||
	    ll_allow(ruleset, real, allow, abi) == -1) {
		save = errno;
		snprintf(err, errlen, "landlock on %s: %s", real,
		    strerror(save));
		close(ruleset);
		return -1;
	}
	return ruleset;
}

/* landlock_ruleset - the ruleset, or exit, or -1 logged (landlock.h) */
int
landlock_ruleset(const char *path, const struct landlock_allow *allow,
    const char *who)
{
	char err[PATH_MAX + 256];	/* a real path and a reason */
	int rs;

	if ((rs = landlock_prepare(path, allow, err, sizeof(err))) == -1)
		fatalx("%s: cannot prepare hiding the spool: %s", who, err);
	if (rs == LANDLOCK_NONE) {
		log_info("%s: the spool is kept out of reach by descriptors "
		    "only: %s", who, err);
		return -1;
	}
	return rs;
}

/* landlock_enforce - put a prepared ruleset in force (landlock.h) */
int
landlock_enforce(int ruleset, char *err, size_t errlen)
{
	int rc = 0;

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1 ||
	    syscall(SYS_landlock_restrict_self, ruleset, 0) == -1) {
		snprintf(err, errlen, "landlock_restrict_self: %s",
		    strerror(errno));
		rc = -1;
	}
	close(ruleset);
	return rc;
}
