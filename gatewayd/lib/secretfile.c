/*
 * secretfile.c - passwords read from files (secretfile.h): the LDAP bind
 * password and the PostgreSQL directive store's
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "secretfile.h"
#include "xmalloc.h"

/* secretfile_open - the file, regular and (private) for its owner only */
static int
secretfile_open(const char *path, int private, char *err, size_t errlen)
{
	struct stat sb;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &sb) == -1 || !S_ISREG(sb.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		close(fd);
		return -1;
	}
	if (private && (sb.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
		snprintf(err, errlen, "%s: mode %04o: group or others may read "
		    "it (chmod 0600)", path, (unsigned int)(sb.st_mode & 07777));
		close(fd);
		return -1;
	}
	return fd;
}

/* secretfile_read - one line of a private file, read before the drop */
char *
secretfile_read(const char *path, int private, size_t *lenp, char *err,
    size_t errlen)
{
	char buf[SECRETFILE_MAX + 1], *s;
	size_t len = 0;
	ssize_t r;
	int fd;

	if ((fd = secretfile_open(path, private, err, errlen)) == -1)
		return NULL;
	while (len < sizeof(buf) - 1 &&
	    (r = read(fd, buf + len, sizeof(buf) - 1 - len)) != 0) {
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1)
			break;
		len += (size_t)r;
	}
	close(fd);
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		len--;
	if (len == 0 || len >= SECRETFILE_MAX || memchr(buf, '\n', len) != NULL ||
	    memchr(buf, '\0', len) != NULL) {
		explicit_bzero(buf, sizeof(buf));
		snprintf(err, errlen, "%s: empty, more than one line, or longer "
		    "than %d bytes", path, SECRETFILE_MAX - 1);
		return NULL;
	}
	s = xmalloc(len + 1);
	memcpy(s, buf, len);
	s[len] = '\0';
	explicit_bzero(buf, sizeof(buf));
	if (lenp != NULL)
		*lenp = len;
	return s;
}

/* secretfile_free - wipe and free */
void
secretfile_free(char *s)
{
	if (s == NULL)
		return;
	explicit_bzero(s, strlen(s));
	free(s);
}
