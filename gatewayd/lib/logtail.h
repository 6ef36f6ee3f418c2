/*
 * logtail.h - the last lines of a log file that name a queue ID
 *
 * "gatewayctl queue log ID" and the web console's message page show what
 * the log says of a message: the control child reads the file named by
 * log.history_file (where syslog writes the mail facility, or where the
 * foreground daemon's stderr goes) from its end backwards, at most
 * LOGTAIL_SCAN bytes, and keeps the last LOGTAIL_MAX_LINES lines that
 * contain the ID as a word: not preceded or followed by a letter or a
 * digit, so an ID never matches a longer one that starts with it.  A
 * line is looked at and kept up to LOGTAIL_LINE_MAX bytes (the rest is
 * cut, and said so); the line that straddles the start of the scanned
 * part is left out, since its beginning was not read.  A file that does
 * not end with a newline has a last line all the same.
 *
 * No logging and no allocation but the result; the caller opens the
 * file (O_NOFOLLOW, a regular file: logtail_open) and escapes the lines
 * where it writes them (textout.h).
 */
#ifndef GW_LOGTAIL_H
#define GW_LOGTAIL_H

#include <stddef.h>
#include <sys/types.h>

#define LOGTAIL_SCAN		(16 * 1024 * 1024)	/* bytes from the end */
#define LOGTAIL_LINE_MAX	4096
#define LOGTAIL_MAX_LINES	50
#define LOGTAIL_CHUNK		65536

struct logtail_line {
	char text[LOGTAIL_LINE_MAX + 1];	/* NUL-terminated, no newline */
	size_t len;
	int cut;				/* the line was longer */
};

/*
 * Open path read-only for logtail_grep: O_NOFOLLOW, O_NONBLOCK (a FIFO
 * never blocks the caller), and a regular file, checked on the open
 * descriptor.  -1 with errno (ELOOP for a symbolic link, EINVAL for
 * something that is not a regular file).
 */
int logtail_open(const char *path);
/*
 * The last max (at most LOGTAIL_MAX_LINES) lines of the last scan bytes
 * of fd that contain id as a word, oldest first, into lines[max].
 * Returns their number, or -1 with errno when a read fails.
 */
ssize_t logtail_grep(int fd, const char *id, off_t scan,
    struct logtail_line *lines, size_t max);

#endif
