/*
 * spool_recog.c - the recognizer's files: recognize/<qid>.<name>
 *
 * The recognizer (a process that parses untrusted scans) writes here and
 * the router reads what it wrote, so every open is fd-relative from the
 * spool, refuses a symbolic link, and a read open takes only a regular
 * file.  See spool.h for the names.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "spool.h"
#include "spool_int.h"

#define SPOOL_RECOG_NAME_MAX	15

/* spool_recog_name - "<qid>.<name>" into buf; -1 (EINVAL) if not valid */
static int
spool_recog_name(const char *qid, const char *name, char *buf, size_t len)
{
	size_t n = strlen(name);

	if (!spool_qid_valid(qid) || n == 0 || n > SPOOL_RECOG_NAME_MAX ||
	    strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789") != n) {
		errno = EINVAL;
		return -1;
	}
	snprintf(buf, len, "%s.%s", qid, name);
	return 0;
}

/* spool_recog_dir - a descriptor on recognize/, no symlink followed */
static int
spool_recog_dir(struct spool *sp)
{
	return openat(spool_dirfd(sp), SPOOL_RECOG_DIR,
	    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

/* spool_recog_open - recognize/<qid>.<name> to write (new) or read */
int
spool_recog_open(struct spool *sp, const char *qid, const char *name,
    int write, char *err, size_t errlen)
{
	char file[SPOOL_QID_LEN + SPOOL_RECOG_NAME_MAX + 2];
	struct stat st;
	int dfd, fd;

	if (spool_recog_name(qid, name, file, sizeof(file)) == -1) {
		spool_seterr(err, errlen, "invalid recognizer file name");
		return -1;
	}
	if ((dfd = spool_recog_dir(sp)) == -1) {
		spool_seterr(err, errlen, "%s/: %s", SPOOL_RECOG_DIR,
		    strerror(errno));
		return -1;
	}
	if (write)
		fd = openat(dfd, file, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
		    O_CLOEXEC, 0600);
	else
		fd = openat(dfd, file, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
		    O_CLOEXEC);
	close(dfd);
	if (fd != -1 && !write && (fstat(fd, &st) == -1 ||
	    !S_ISREG(st.st_mode))) {
		close(fd);
		fd = -1;
		errno = EINVAL;
	}
	if (fd == -1)
		spool_seterr(err, errlen, "%s/%s: %s", SPOOL_RECOG_DIR, file,
		    strerror(errno));
	return fd;
}

/* spool_recog_clear - remove the result and parts 1..maxparts of qid */
int
spool_recog_clear(struct spool *sp, const char *qid, unsigned int maxparts)
{
	char file[SPOOL_QID_LEN + SPOOL_RECOG_NAME_MAX + 2], name[16];
	unsigned int i;
	int dfd, rc = 0;

	if (!spool_qid_valid(qid)) {
		errno = EINVAL;
		return -1;
	}
	if ((dfd = spool_recog_dir(sp)) == -1)
		return -1;
	for (i = 0; i <= maxparts; i++) {
		if (i == 0)
			snprintf(name, sizeof(name), "result");
		else
			snprintf(name, sizeof(name), "%u", i);
		if (spool_recog_name(qid, name, file, sizeof(file)) == -1)
			continue;
		if (unlinkat(dfd, file, 0) == -1 && errno != ENOENT)
			rc = -1;
	}
	close(dfd);
	return rc;
}
