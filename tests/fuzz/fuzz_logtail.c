/*
 * fuzz_logtail.c - fuzz target: the log reader behind "queue log ID"
 *
 * The input is a log file: its first two bytes choose how much of its
 * end is scanned, the rest is written to a memory file and read with
 * logtail_grep() for a fixed queue ID.  Every line returned is
 * NUL-terminated, holds no newline, is at most LOGTAIL_LINE_MAX bytes
 * (exactly that when it was cut) and contains the ID; there are at most
 * LOGTAIL_MAX_LINES of them.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz.h"
#include "logtail.h"

#define FUZZ_ID	"0661e631168376000000"

/* LLVMFuzzerTestOneInput - read the input as a log file */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct logtail_line lines[LOGTAIL_MAX_LINES];
	ssize_t n, i;
	off_t scan;
	int fd;

	if (size < 2)
		return 0;
	scan = 1 + (off_t)(data[0] | data[1] << 8);
	if ((fd = memfd_create("fuzz_logtail", MFD_CLOEXEC)) == -1)
		return 0;
	if (write(fd, data + 2, size - 2) != (ssize_t)(size - 2)) {
		close(fd);
		return 0;
	}
	n = logtail_grep(fd, FUZZ_ID, scan, lines, LOGTAIL_MAX_LINES);
	close(fd);
	if (n < 0 || n > LOGTAIL_MAX_LINES)
		abort();
	for (i = 0; i < n; i++) {
		if (lines[i].len > LOGTAIL_LINE_MAX ||
		    lines[i].text[lines[i].len] != '\0' ||
		    memchr(lines[i].text, '\n', lines[i].len) != NULL ||
		    memmem(lines[i].text, lines[i].len, FUZZ_ID,
		    strlen(FUZZ_ID)) == NULL ||
		    (lines[i].cut && lines[i].len != LOGTAIL_LINE_MAX))
			abort();
	}
	return 0;
}
