/*
 * logtail.c - the last lines of a log file that name a queue ID
 * (logtail.h)
 *
 * The file is read backwards in LOGTAIL_CHUNK pieces with pread(2); a
 * line found whole in the piece is matched where it lies, one that
 * crosses into the piece read before is read again from its start (its
 * first LOGTAIL_LINE_MAX bytes).  The scan stops at the bound or when
 * enough lines were found.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "logtail.h"

struct logtail_scan {
	int fd;
	const char *id;
	size_t idlen;
	struct logtail_line *lines;	/* found, newest first */
	size_t max, n;
	off_t cpos;			/* the chunk holds [cpos, cpos + clen) */
	size_t clen;
	/* the buffers last: not cleared for each request */
	char chunk[LOGTAIL_CHUNK];
	char line[LOGTAIL_LINE_MAX];	/* a line that is not in the chunk */
};

/* logtail_open - a regular file, opened read-only without following a link */
int
logtail_open(const char *path)
{
	struct stat st;
	int fd, e;

	memset(&st, 0, sizeof(st));
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC |
	    O_NOCTTY)) == -1)
		return -1;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
		return fd;
	e = st.st_mode != 0 ? EINVAL : errno;	/* fstat left it 0 */
	(void)close(fd);
	errno = e;
	return -1;
}

/* logtail_read - len bytes at off; the number read (less at end of file) */
static ssize_t
logtail_read(int fd, char *buf, size_t len, off_t off)
{
	size_t got = 0;
	ssize_t n;

	while (got < len) {
		n = pread(fd, buf + got, len - got, off + (off_t)got);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return -1;
		if (n == 0)
			break;		/* the file was cut meanwhile */
		got += (size_t)n;
	}
	return (ssize_t)got;
}

/* logtail_alnum - an ASCII letter or digit (what a queue ID is made of) */
static int
logtail_alnum(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	    (c >= 'A' && c <= 'Z');
}

/* logtail_word - does text hold id with no letter or digit either side? */
static int
logtail_word(const char *text, size_t len, const char *id, size_t idlen)
{
	const char *p = text, *end = text + len, *hit;

	while ((size_t)(end - p) >= idlen &&
	    (hit = memmem(p, (size_t)(end - p), id, idlen)) != NULL) {
		if ((hit == text || !logtail_alnum((unsigned char)hit[-1])) &&
		    (hit + idlen == end ||
		    !logtail_alnum((unsigned char)hit[idlen])))
			return 1;
		p = hit + 1;
	}
	return 0;
}

/* logtail_line - the line [a, b): kept if it names the ID; -1 on error */
static int
logtail_line(struct logtail_scan *s, off_t a, off_t b)
{
	size_t len = (size_t)(b - a), take;
	struct logtail_line *l;
	const char *text;
	ssize_t got;

	take = len < LOGTAIL_LINE_MAX ? len : LOGTAIL_LINE_MAX;
	if (a >= s->cpos && a + (off_t)take <= s->cpos + (off_t)s->clen)
		text = s->chunk + (a - s->cpos);
	else {
		if ((got = logtail_read(s->fd, s->line, take, a)) == -1)
			return -1;
		take = (size_t)got;
		text = s->line;
	}
	if (!logtail_word(text, take, s->id, s->idlen))
		return 0;
	l = &s->lines[s->n++];
	memcpy(l->text, text, take);
	l->text[take] = '\0';
	l->len = take;
	l->cut = take < len;
	return 0;
}

/* logtail_chunk - the lines that end in the chunk, newest first */
static int
logtail_chunk(struct logtail_scan *s, off_t *end)
{
	const char *nl;
	size_t left = s->clen;
	off_t a;

	while (s->n < s->max && left > 0 &&
	    (nl = memrchr(s->chunk, '\n', left)) != NULL) {
		a = s->cpos + (nl - s->chunk) + 1;
		if (a < *end && logtail_line(s, a, *end) == -1)
			return -1;
		*end = a - 1;
		left = (size_t)(nl - s->chunk);
	}
	return 0;
}

/* logtail_first - the oldest line read: whole only if a newline is before it */
static int
logtail_first(struct logtail_scan *s, off_t floor, off_t end)
{
	char c;

	if (s->n >= s->max || end <= floor)
		return 0;
	if (floor > 0) {
		if (logtail_read(s->fd, &c, 1, floor - 1) != 1 || c != '\n')
			return 0;	/* it started before the bound */
	}
	return logtail_line(s, floor, end);
}

/* logtail_reverse - oldest first */
static void
logtail_reverse(struct logtail_line *lines, size_t n)
{
	struct logtail_line t;
	size_t i;

	for (i = 0; i < n / 2; i++) {
		t = lines[i];
		lines[i] = lines[n - 1 - i];
		lines[n - 1 - i] = t;
	}
}

/* logtail_grep - the last lines naming id, read backwards (logtail.h) */
ssize_t
logtail_grep(int fd, const char *id, off_t scan, struct logtail_line *lines,
    size_t max)
{
	static struct logtail_scan s;	/* 68 KiB: not on the stack */
	struct stat st;
	off_t floor, pos, end;
	ssize_t got;

	if (fstat(fd, &st) == -1)
		return -1;
	memset(&s, 0, offsetof(struct logtail_scan, chunk));
	s.fd = fd;
	s.id = id;
	s.idlen = strlen(id);
	s.lines = lines;
	s.max = max < LOGTAIL_MAX_LINES ? max : LOGTAIL_MAX_LINES;
	if (s.idlen == 0 || s.max == 0)
		return 0;
	floor = st.st_size > scan ? st.st_size - scan : 0;
	pos = end = st.st_size;
	while (pos > floor && s.n < s.max) {
		s.clen = (size_t)(pos - floor < LOGTAIL_CHUNK ? pos - floor :
		    LOGTAIL_CHUNK);
		s.cpos = pos - (off_t)s.clen;
		if ((got = logtail_read(fd, s.chunk, s.clen, s.cpos)) == -1)
			return -1;
		s.clen = (size_t)got;	/* cut meanwhile: what is there */
		if (logtail_chunk(&s, &end) == -1)
			return -1;
		pos = s.cpos;
	}
	if (logtail_first(&s, floor, end) == -1)
		return -1;
	logtail_reverse(lines, s.n);
	return (ssize_t)s.n;
}
