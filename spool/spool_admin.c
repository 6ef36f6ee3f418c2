/*
 * spool_admin.c - operator actions on the spool: locate, remove, requeue,
 * open a message for display, and the consistency check (spool_admin.h)
 *
 * Everything here uses paths relative to the spool's directory descriptor
 * and never logs.  Only spool/ builds spool paths.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "spool_admin.h"
#include "spool_int.h"

#define ADMIN_PATH_MAX	(SPOOL_NAME_MAX + SPOOL_QID_LEN + 32)

/* admin_path - "<state>/<connector>/<qid>" or "incoming/<qid>" */
static int
admin_path(char *buf, size_t len, enum spool_state st, const char *connector,
    const char *qid)
{
	int n;

	if (st == SPOOL_INCOMING)
		n = snprintf(buf, len, "incoming/%s", qid);
	else
		n = snprintf(buf, len, "%s/%s/%s", spool_state_name(st),
		    connector, qid);
	if (n < 0 || (size_t)n >= len || !spool_qid_valid(qid) ||
	    (st != SPOOL_INCOMING && !spool_name_valid(connector))) {
		errno = EINVAL;
		return -1;
	}
	return 0;
}

/* admin_message_path - the message file: "data/<qid>.<c>" or "incoming/<qid>" */
static void
admin_message_path(char *buf, size_t len, const char *qid,
    const char *connector)
{
	if (connector == NULL)
		snprintf(buf, len, "incoming/%s", qid);
	else
		snprintf(buf, len, "data/%s.%s", qid, connector);
}

/* spool_locate - every place a queue ID is found */
int
spool_locate(struct spool *sp, const char *qid, struct spool_loc *locs,
    size_t max)
{
	char path[ADMIN_PATH_MAX], **names;
	struct stat st;
	size_t n = 0, i, nnames;
	int s;

	if (!spool_qid_valid(qid)) {
		errno = EINVAL;
		return -1;
	}
	if (fstatat(spool_dirfd(sp), (snprintf(path, sizeof(path),
	    "incoming/%s", qid), path), &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    n < max) {
		memset(&locs[n], 0, sizeof(locs[n]));
		locs[n].state = SPOOL_INCOMING;
		locs[n].mtime = st.st_mtime;
		locs[n++].size = st.st_size;
	}
	if (spool_connectors(sp, &names, &nnames) == -1)
		return -1;
	for (i = 0; i < nnames; i++) {
		for (s = SPOOL_QUEUE; s <= SPOOL_FAILED && n < max; s++) {
			if (admin_path(path, sizeof(path), (enum spool_state)s,
			    names[i], qid) == -1 || fstatat(spool_dirfd(sp),
			    path, &st, AT_SYMLINK_NOFOLLOW) == -1)
				continue;
			locs[n].state = (enum spool_state)s;
			snprintf(locs[n].connector, sizeof(locs[n].connector),
			    "%s", names[i]);
			locs[n].mtime = st.st_mtime;
			locs[n++].size = st.st_size;
		}
	}
	spool_free_names(names, nnames);
	return (int)n;
}

/*
 * admin_job_remove - move a job (not active), then its data link, to
 * trash/<qid>.<connector> and trash/<qid>.<connector>.data; the job is
 * gone from the queue when its file is, spool_trash_sweep frees them.
 * With deleting, the message's incoming/ file too if it waits for the
 * router's sync and this was its last job.
 */
static int
admin_job_remove(struct spool *sp, enum spool_state st, const char *connector,
    const char *qid, int deleting, char *err, size_t errlen)
{
	char path[ADMIN_PATH_MAX], data[ADMIN_PATH_MAX];
	char name[ADMIN_PATH_MAX], incoming[ADMIN_PATH_MAX];
	struct stat ds, is;
	int shared, last;

	if (st == SPOOL_ACTIVE || st == SPOOL_INCOMING ||
	    admin_path(path, sizeof(path), st, connector, qid) == -1) {
		errno = EINVAL;
		spool_seterr(err, errlen, "%s: not a removable job", qid);
		return -1;
	}
	snprintf(data, sizeof(data), "data/%s.%s", qid, connector);
	snprintf(name, sizeof(name), "%s.%s", qid, connector);
	if (spool_trash(sp, path, name) == -1) {
		spool_seterr(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	/*
	 * A message routed less than the router's sync ago keeps its
	 * incoming/ file, the same inode as its data/ links, until that sync
	 * (router.c).  The delete of its last job takes that file too: else
	 * the message would be listed as incoming until then, and routed
	 * again, its jobs back, after a crash before the sync.  While that
	 * file holds the inode, a data link's unlink frees no block and needs
	 * no trash/ (so the link count stays incoming/ plus the jobs left);
	 * the last one goes to trash/ and the incoming/ file is unlinked, the
	 * router's own unlink then finding it gone.  Not for a requeue, whose
	 * incoming/ link is the message to be routed again.
	 */
	snprintf(incoming, sizeof(incoming), "incoming/%s", qid);
	shared = deleting && fstatat(spool_dirfd(sp), incoming, &is,
	    AT_SYMLINK_NOFOLLOW) == 0 && fstatat(spool_dirfd(sp), data, &ds,
	    AT_SYMLINK_NOFOLLOW) == 0 && is.st_ino == ds.st_ino &&
	    is.st_dev == ds.st_dev;
	last = shared && ds.st_nlink == 2;
	snprintf(name, sizeof(name), "%s.%s.data", qid, connector);
	if ((shared && !last ? unlinkat(spool_dirfd(sp), data, 0) :
	    spool_trash(sp, data, name)) == -1 && errno != ENOENT) {
		spool_seterr(err, errlen, "%s: %s", data, strerror(errno));
		return -1;
	}
	if (last && unlinkat(spool_dirfd(sp), incoming, 0) == -1 &&
	    errno != ENOENT) {
		spool_seterr(err, errlen, "%s: %s", incoming, strerror(errno));
		return -1;
	}
	return 0;
}

/* spool_job_remove - a job out of the queue, into trash/ (spool_admin.h) */
int
spool_job_remove(struct spool *sp, enum spool_state st, const char *connector,
    const char *qid, char *err, size_t errlen)
{
	return admin_job_remove(sp, st, connector, qid, 0, err, errlen);
}

/* spool_job_delete - the operator's delete of a job (spool_admin.h) */
int
spool_job_delete(struct spool *sp, enum spool_state st, const char *connector,
    const char *qid, char *err, size_t errlen)
{
	return admin_job_remove(sp, st, connector, qid, 1, err, errlen);
}

/* spool_incoming_remove - unlink an unrouted message */
int
spool_incoming_remove(struct spool *sp, const char *qid, char *err,
    size_t errlen)
{
	char path[ADMIN_PATH_MAX];

	if (admin_path(path, sizeof(path), SPOOL_INCOMING, NULL, qid) == -1 ||
	    unlinkat(spool_dirfd(sp), path, 0) == -1) {
		spool_seterr(err, errlen, "incoming/%s: %s", qid,
		    strerror(errno));
		return -1;
	}
	return 0;
}

/* spool_message_open - the message file, positioned after its envelope */
int
spool_message_open(struct spool *sp, const char *qid, const char *connector,
    char *err, size_t errlen)
{
	char path[ADMIN_PATH_MAX], buf[8192];
	struct envelope env;
	size_t used, envlen;
	ssize_t n;
	int fd;

	if (!spool_qid_valid(qid) || (connector != NULL &&
	    !spool_name_valid(connector))) {
		errno = EINVAL;
		spool_seterr(err, errlen, "invalid queue id or connector");
		return -1;
	}
	admin_message_path(path, sizeof(path), qid, connector);
	if ((fd = openat(spool_dirfd(sp), path, O_RDONLY | O_CLOEXEC |
	    O_NOFOLLOW)) == -1) {
		spool_seterr(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	/* The envelope's end marker bounds it; a longer one is unreadable here. */
	n = read(fd, buf, sizeof(buf) - 1);
	if (n > 0) {
		buf[n] = '\0';
		envlen = envelope_length(buf, (size_t)n);
		memset(&env, 0, sizeof(env));
		if (envlen > 0 && envelope_parse(buf, envlen,
		    &env, &used, err, errlen) == 0) {
			envelope_clear(&env);
			if (lseek(fd, (off_t)used, SEEK_SET) != -1)
				return fd;
		}
	}
	spool_seterr(err, errlen, "%s: envelope unreadable", path);
	close(fd);
	errno = EBADMSG;
	return -1;
}

/* spool_message_size - st_size of the message file (envelope included) */
off_t
spool_message_size(struct spool *sp, const char *qid, const char *connector)
{
	char path[ADMIN_PATH_MAX];
	struct stat st;

	admin_message_path(path, sizeof(path), qid, connector);
	if (fstatat(spool_dirfd(sp), path, &st, AT_SYMLINK_NOFOLLOW) == -1)
		return -1;
	return st.st_size;
}

/* admin_link_back - link data/<qid>.<c> as incoming/<qid> (same inode ok) */
static int
admin_link_back(struct spool *sp, const char *qid, const char *connector,
    char *err, size_t errlen)
{
	char data[ADMIN_PATH_MAX], inc[ADMIN_PATH_MAX];
	int fd;

	snprintf(data, sizeof(data), "data/%s.%s", qid, connector);
	snprintf(inc, sizeof(inc), "incoming/%s", qid);
	if (linkat(spool_dirfd(sp), data, spool_dirfd(sp), inc, 0) == -1 &&
	    errno != EEXIST) {
		spool_seterr(err, errlen, "link %s to %s: %s", data, inc,
		    strerror(errno));
		return -1;
	}
	if ((fd = openat(spool_dirfd(sp), "incoming", O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC | O_NOFOLLOW)) == -1 || fsync(fd) == -1) {
		spool_seterr(err, errlen, "fsync incoming/: %s", strerror(errno));
		if (fd != -1)
			close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

/* spool_requeue_held - held jobs of qid back to one incoming message */
int
spool_requeue_held(struct spool *sp, const char *qid, char *err,
    size_t errlen)
{
	struct spool_loc locs[SPOOL_MAX_LOCS];
	int n, i, linked = 0, removed = 0;

	if ((n = spool_locate(sp, qid, locs, SPOOL_MAX_LOCS)) == -1) {
		spool_seterr(err, errlen, "%s: %s", qid, strerror(errno));
		return -1;
	}
	for (i = 0; i < n && !linked; i++) {
		if (locs[i].state != SPOOL_HOLD)
			continue;
		if (admin_link_back(sp, qid, locs[i].connector, err,
		    errlen) == -1)
			return -1;
		linked = 1;
	}
	for (i = 0; i < n; i++) {
		if (locs[i].state != SPOOL_HOLD)
			continue;
		if (spool_job_remove(sp, SPOOL_HOLD, locs[i].connector, qid,
		    err, errlen) == -1)
			return -1;
		removed++;
	}
	return removed;
}

/* ---- consistency check ---- */

struct admin_check {
	struct spool *sp;
	int repair;
	time_t tmp_age;
	spool_check_cb cb;
	void *arg;
	int count;
};

/* admin_flatten - "a/b/c" -> "a-b-c" for a name in corrupt/ */
static void
admin_flatten(char *dst, size_t len, const char *path)
{
	size_t i;

	snprintf(dst, len, "%s", path);
	for (i = 0; dst[i] != '\0'; i++)
		if (dst[i] == '/')
			dst[i] = '-';
}

/* admin_report - count a problem, quarantine it when repairing */
static void
admin_report(struct admin_check *ck, const char *path, const char *what,
    enum spool_state st, const char *connector, const char *qid)
{
	char dst[1100], flat[1024];
	struct spool_problem p = { path, what, 0 };

	ck->count++;
	if (ck->repair) {
		if (qid != NULL)
			p.repaired = spool_quarantine(ck->sp, st, connector, qid,
			    NULL, 0) == 0;
		else {
			admin_flatten(flat, sizeof(flat), path);
			snprintf(dst, sizeof(dst), "corrupt/%s", flat);
			/* an earlier quarantine of that name stays */
			p.repaired = spool_rename_noreplace(spool_dirfd(ck->sp),
			    path, spool_dirfd(ck->sp), dst) == 0;
		}
	}
	ck->cb(&p, ck->arg);
}

/* admin_exists - does the relative path exist? */
static int
admin_exists(struct spool *sp, const char *path)
{
	struct stat st;

	return fstatat(spool_dirfd(sp), path, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

/* admin_check_file - one entry of a state directory */
static void
admin_check_file(struct admin_check *ck, enum spool_state st,
    const char *connector, const char *name)
{
	char path[1024], data[ADMIN_PATH_MAX];
	char err[SPOOL_ERRLEN];
	struct envelope env;

	if (st == SPOOL_INCOMING)
		snprintf(path, sizeof(path), "incoming/%s", name);
	else
		snprintf(path, sizeof(path), "%s/%s/%s", spool_state_name(st),
		    connector, name);
	if (!spool_qid_valid(name)) {
		admin_report(ck, path, "not a queue file name", st, connector,
		    NULL);
		return;
	}
	memset(&env, 0, sizeof(env));
	if (spool_job_read(ck->sp, st, connector, name, &env, err,
	    sizeof(err)) == -1) {
		if (errno == EBADMSG || errno == EFBIG)
			admin_report(ck, path, err, st, connector, name);
		return;
	}
	envelope_clear(&env);
	if (st == SPOOL_INCOMING)
		return;
	snprintf(data, sizeof(data), "data/%s.%s", name, connector);
	if (!admin_exists(ck->sp, data) &&
	    admin_exists(ck->sp, path))	/* not just finished meanwhile */
		admin_report(ck, path, "job without its data link", st,
		    connector, name);
}

/* admin_check_dir - every entry of one state directory */
static int
admin_check_dir(struct admin_check *ck, enum spool_state st,
    const char *connector)
{
	char path[ADMIN_PATH_MAX];
	struct dirent *de;
	DIR *d;
	int fd;

	if (st == SPOOL_INCOMING)
		snprintf(path, sizeof(path), "incoming");
	else
		snprintf(path, sizeof(path), "%s/%s", spool_state_name(st),
		    connector);
	if ((fd = openat(spool_dirfd(ck->sp), path, O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC | O_NOFOLLOW)) == -1)
		return errno == ENOENT ? 0 : -1;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return -1;
	}
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			admin_check_file(ck, st, connector, de->d_name);
	closedir(d);
	return 0;
}

/* admin_data_orphan - data/<qid>.<c> with no job of c and no incoming/ */
static int
admin_data_orphan(struct spool *sp, const char *name)
{
	char qid[SPOOL_QID_LEN + 1], path[ADMIN_PATH_MAX];
	const char *c = name + SPOOL_QID_LEN + 1;
	int s;

	if (strlen(name) <= SPOOL_QID_LEN + 1 || name[SPOOL_QID_LEN] != '.')
		return -1;
	memcpy(qid, name, SPOOL_QID_LEN);
	qid[SPOOL_QID_LEN] = '\0';
	if (!spool_qid_valid(qid) || !spool_name_valid(c))
		return -1;
	snprintf(path, sizeof(path), "incoming/%s", qid);
	if (admin_exists(sp, path))
		return 0;	/* being routed */
	for (s = SPOOL_QUEUE; s <= SPOOL_FAILED; s++) {
		snprintf(path, sizeof(path), "%s/%s/%s",
		    spool_state_name((enum spool_state)s), c, qid);
		if (admin_exists(sp, path))
			return 0;
	}
	snprintf(path, sizeof(path), "data/%s", name);
	return admin_exists(sp, path) ? 1 : 0;
}

/* admin_check_plain - data links without a job, tmp/ and receive/ files left over */
static int
admin_check_plain(struct admin_check *ck, const char *dir)
{
	char path[1024];
	struct dirent *de;
	struct stat st;
	time_t now = time(NULL);
	DIR *d;
	int fd, r;

	if ((fd = openat(spool_dirfd(ck->sp), dir, O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC | O_NOFOLLOW)) == -1 || (d = fdopendir(fd)) == NULL) {
		if (fd != -1)
			close(fd);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (strcmp(dir, "data") != 0) {
			/* a spare job file waits for a job (spool.c) */
			if (strcmp(dir, "tmp") == 0 &&
			    spool_spare_name(de->d_name) != -1)
				continue;
			/* a fine-grained mtime may be a second ahead of now */
			if (fstatat(dirfd(d), de->d_name, &st,
			    AT_SYMLINK_NOFOLLOW) == 0 &&
			    (now > st.st_mtime ? now - st.st_mtime : 0) >=
			    ck->tmp_age)
				admin_report(ck, path, "stray temporary file",
				    SPOOL_INCOMING, NULL, NULL);
			continue;
		}
		if ((r = admin_data_orphan(ck->sp, de->d_name)) != 0)
			admin_report(ck, path, r == -1 ? "not a data link name" :
			    "data link without a job", SPOOL_INCOMING, NULL, NULL);
	}
	closedir(d);
	return 0;
}

/* spool_check - find (and with repair quarantine) what does not fit */
int
spool_check(struct spool *sp, int repair, time_t tmp_age, spool_check_cb cb,
    void *arg)
{
	struct admin_check ck = { sp, repair, tmp_age, cb, arg, 0 };
	char **names;
	size_t n, i;
	int s;

	if (admin_check_dir(&ck, SPOOL_INCOMING, NULL) == -1 ||
	    spool_connectors(sp, &names, &n) == -1)
		return -1;
	for (i = 0; i < n; i++)
		for (s = SPOOL_QUEUE; s <= SPOOL_FAILED; s++)
			if (s != SPOOL_ACTIVE)
				(void)admin_check_dir(&ck, (enum spool_state)s,
				    names[i]);
	spool_free_names(names, n);
	if (admin_check_plain(&ck, "data") == -1 ||
	    admin_check_plain(&ck, "tmp") == -1 ||
	    admin_check_plain(&ck, "receive") == -1)
		return -1;
	return ck.count;
}
