/*
 * spool_notice.c - ended jobs of messages that want a notice:
 * notice/<qid>.<connector>
 *
 * A message whose rule asks for a notice to its sender may have jobs for
 * several connectors, each ending on its own.  When one ends (every
 * recipient done or failed), its worker writes the job's final envelope
 * here before the job and its data link go (spool_notice_put), so the
 * results outlive the job.  The router then asks whether the message
 * still has work anywhere (spool_notice_busy: incoming/<qid>, or a data
 * link data/<qid>.<connector> of any connector, which every job holds
 * until it ends); when none is left it reads every notice/<qid>.* file,
 * commits the notice and removes them.  Only the queue's processes write
 * here; every open is fd-relative, O_NOFOLLOW, and never replaces a file.
 * See spool.h.
 */
#include "config.h"

#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "spool.h"
#include "spool_int.h"

#define NOTICE_NAME_MAX	(SPOOL_QID_LEN + SPOOL_NAME_MAX + 2)

/* spool_notice_dir - a descriptor on notice/ (made 0700 when missing) */
static int
spool_notice_dir(struct spool *sp, int create)
{
	int fd;

	fd = openat(spool_dirfd(sp), SPOOL_NOTICE_DIR,
	    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1 && errno == ENOENT && create) {
		if (mkdirat(spool_dirfd(sp), SPOOL_NOTICE_DIR, 0700) == -1 &&
		    errno != EEXIST)
			return -1;
		fd = openat(spool_dirfd(sp), SPOOL_NOTICE_DIR,
		    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	}
	return fd;
}

/* spool_notice_name_valid - "<qid>.<connector>" */
int
spool_notice_name_valid(const char *name)
{
	char qid[SPOOL_QID_LEN + 1];

	if (strlen(name) < SPOOL_QID_LEN + 2 || name[SPOOL_QID_LEN] != '.')
		return 0;
	memcpy(qid, name, SPOOL_QID_LEN);
	qid[SPOOL_QID_LEN] = '\0';
	return spool_qid_valid(qid) && spool_name_valid(name + SPOOL_QID_LEN + 1);
}

/* spool_notice_write - the envelope text into (dfd, tmp), synced */
static int
spool_notice_write(int dfd, const char *tmp, const char *text, size_t len)
{
	ssize_t w;
	int fd;

	if (unlinkat(dfd, tmp, 0) == -1 && errno != ENOENT)
		return -1;
	fd = openat(dfd, tmp, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC |
	    O_NOFOLLOW, 0600);
	if (fd == -1)
		return -1;
	while (len > 0) {
		if ((w = write(fd, text, len)) == -1 && errno == EINTR)
			continue;
		if (w <= 0) {
			close(fd);
			return -1;
		}
		text += w;
		len -= (size_t)w;
	}
	if (fsync(fd) == -1) {
		close(fd);
		return -1;
	}
	return close(fd);
}

/*
 * spool_notice_put - record the final envelope of job (kind JOB, its id
 * and connector set) as notice/<qid>.<connector>, durably.  A record of
 * that name already there (the job ran again after a crash) is kept and
 * is no error.  -1 with errno and err.
 */
int
spool_notice_put(struct spool *sp, const struct envelope *job, char *err,
    size_t errlen)
{
	char name[NOTICE_NAME_MAX], tmp[NOTICE_NAME_MAX + 8], *text = NULL;
	size_t len;
	int dfd, rc = -1;

	if (job->connector == NULL || snprintf(name, sizeof(name), "%s.%s",
	    job->id, job->connector) >= (int)sizeof(name) ||
	    !spool_notice_name_valid(name)) {
		errno = EINVAL;
		spool_seterr(err, errlen, "%s: not a job to record", job->id);
		return -1;
	}
	snprintf(tmp, sizeof(tmp), ".new.%s", name);
	if ((dfd = spool_notice_dir(sp, 1)) == -1) {
		spool_seterr(err, errlen, "%s/: %s", SPOOL_NOTICE_DIR,
		    strerror(errno));
		return -1;
	}
	if (envelope_format(job, &text, &len) == -1)
		spool_seterr(err, errlen, "%s: cannot format: %s", name,
		    strerror(errno));
	else if (spool_notice_write(dfd, tmp, text, len) == -1 ||
	    (spool_rename_noreplace(dfd, tmp, dfd, name) == -1 &&
	    errno != EEXIST) || fsync(dfd) == -1)
		spool_seterr(err, errlen, "%s/%s: %s", SPOOL_NOTICE_DIR, name,
		    strerror(errno));
	else
		rc = 0;
	(void)unlinkat(dfd, tmp, 0);	/* left only on EEXIST or failure */
	close(dfd);
	free(text);
	return rc;
}

/* spool_notice_entry - is name a notice record? (spool_names_sorted) */
static int
spool_notice_entry(int dfd, const char *name)
{
	(void)dfd;
	return spool_notice_name_valid(name);
}

/* spool_notice_list - sorted names in notice/ (caller: spool_free_names) */
int
spool_notice_list(struct spool *sp, char ***names, size_t *n)
{
	DIR *d;
	int dfd;

	*names = NULL;
	*n = 0;
	if ((dfd = spool_notice_dir(sp, 0)) == -1)
		return errno == ENOENT ? 0 : -1;
	if ((d = fdopendir(dfd)) == NULL) {
		close(dfd);
		return -1;
	}
	return spool_names_sorted(d, spool_notice_entry, names, n);
}

/* spool_notice_read - parse notice/<name>; -1 with err */
int
spool_notice_read(struct spool *sp, const char *name, struct envelope *env,
    char *err, size_t errlen)
{
	char *buf = NULL;
	size_t used;
	ssize_t n;
	int dfd, fd, rc = -1;

	if (!spool_notice_name_valid(name) ||
	    (dfd = spool_notice_dir(sp, 0)) == -1) {
		spool_seterr(err, errlen, "%s/%s: %s", SPOOL_NOTICE_DIR, name,
		    strerror(errno ? errno : EINVAL));
		return -1;
	}
	fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	close(dfd);
	if (fd == -1 || (buf = malloc(ENVELOPE_MAX_SIZE)) == NULL ||
	    (n = read(fd, buf, ENVELOPE_MAX_SIZE)) < 0)
		spool_seterr(err, errlen, "%s/%s: %s", SPOOL_NOTICE_DIR, name,
		    strerror(errno));
	else if (envelope_parse(buf, (size_t)n, env, &used, err, errlen) == 0)
		rc = 0;
	if (fd != -1)
		close(fd);
	free(buf);
	return rc;
}

/* spool_notice_remove - unlink notice/<name> (missing: no error) */
int
spool_notice_remove(struct spool *sp, const char *name)
{
	int dfd, rc;

	if (!spool_notice_name_valid(name)) {
		errno = EINVAL;
		return -1;
	}
	if ((dfd = spool_notice_dir(sp, 0)) == -1)
		return errno == ENOENT ? 0 : -1;
	rc = unlinkat(dfd, name, 0);
	if (rc == -1 && errno == ENOENT)
		rc = 0;
	if (rc == 0)
		rc = fsync(dfd);
	close(dfd);
	return rc;
}

/*
 * spool_notice_busy - has message qid work left: incoming/<qid>, or a
 * data link of any connector directory?  1 yes, 0 no, -1 cannot tell
 */
int
spool_notice_busy(struct spool *sp, const char *qid)
{
	char path[NOTICE_NAME_MAX + 16], **names;
	struct stat st;
	size_t n, i;
	int busy = 0;

	if (!spool_qid_valid(qid)) {
		errno = EINVAL;
		return -1;
	}
	snprintf(path, sizeof(path), "incoming/%s", qid);
	if (fstatat(spool_dirfd(sp), path, &st, AT_SYMLINK_NOFOLLOW) == 0)
		return 1;
	if (spool_connectors(sp, &names, &n) == -1)
		return -1;
	for (i = 0; i < n && !busy; i++) {
		snprintf(path, sizeof(path), "data/%s.%s", qid, names[i]);
		busy = fstatat(spool_dirfd(sp), path, &st,
		    AT_SYMLINK_NOFOLLOW) == 0;
	}
	spool_free_names(names, n);
	return busy;
}
