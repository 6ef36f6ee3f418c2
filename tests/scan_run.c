/*
 * scan_run.c - drive the routing-sheet reader (scan.h) from the command line
 *
 *   scan_run find FILE [--pages N] [--dpi D] [--max-pixels P]
 *	prints "format F", "pages N", "searched N", then one line per sheet,
 *	"sheet PAGE directive ID" or "sheet PAGE separator" (PAGE 0-based);
 *	exit 0, or 1 with "error: ..." when the file is unreadable.
 *   scan_run cut FILE FIRST LAST [SKIP...] > OUT
 *	pages FIRST..LAST (0-based, inclusive) but SKIP as a new document.
 *
 * Not installed: the tests and the scan generator's test matrix use it.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "scan.h"
#include "xmalloc.h"

#define RUN_MAX_FILE	(512UL << 20)

static const char *run_formats[] = { "unknown", "pdf", "tiff", "jpeg", "png" };

/* run_usage - how to call this; exit 2 */
static void __attribute__((noreturn))
run_usage(void)
{
	fprintf(stderr, "usage: scan_run find FILE [--pages N] [--dpi D] "
	    "[--max-pixels P]\n       scan_run cut FILE FIRST LAST [SKIP...]\n");
	exit(2);
}

/* run_number - a decimal argument, or usage */
static unsigned long long
run_number(const char *s)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || *s == '-')
		run_usage();
	return v;
}

/* run_read - the whole file into memory; exits 1 if it cannot be read */
static unsigned char *
run_read(const char *path, size_t *len)
{
	struct stat st;
	unsigned char *buf;
	size_t got = 0;
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY)) == -1 || fstat(fd, &st) == -1 ||
	    !S_ISREG(st.st_mode) || (size_t)st.st_size > RUN_MAX_FILE) {
		printf("error: %s: %s\n", path, fd == -1 || errno ? strerror(errno) :
		    "not a regular file of at most 512 MB");
		exit(1);
	}
	buf = xmalloc((size_t)st.st_size + 1);
	while (got < (size_t)st.st_size &&
	    (n = read(fd, buf + got, (size_t)st.st_size - got)) > 0)
		got += (size_t)n;
	close(fd);
	*len = got;
	return buf;
}

/* run_find - the find command */
static int
run_find(int argc, char **argv)
{
	struct scan_limits lim = { 10, 100, 100000000ULL, GW_PDFTOPPM };
	struct scan_result res;
	char err[SCAN_ERRLEN];
	unsigned char *buf;
	size_t len, i;
	int a;

	for (a = 1; a < argc; a += 2) {
		if (a + 1 >= argc)
			run_usage();
		if (strcmp(argv[a], "--pages") == 0)
			lim.max_pages = (unsigned)run_number(argv[a + 1]);
		else if (strcmp(argv[a], "--dpi") == 0)
			lim.dpi = (unsigned)run_number(argv[a + 1]);
		else if (strcmp(argv[a], "--max-pixels") == 0)
			lim.max_pixels = run_number(argv[a + 1]);
		else
			run_usage();
	}
	if (getenv("SCAN_PDFTOPPM") != NULL)
		lim.pdftoppm = getenv("SCAN_PDFTOPPM");
	buf = run_read(argv[0], &len);
	if (scan_find(buf, len, &lim, &res, err, sizeof(err)) == -1) {
		printf("error: %s\n", err);
		free(buf);
		return 1;
	}
	printf("format %s\npages %u\nsearched %u\n", run_formats[res.format],
	    res.npages, res.searched);
	for (i = 0; i < res.nsheets; i++) {
		if (res.sheets[i].kind == SCAN_CODE_SEPARATOR)
			printf("sheet %u separator\n", res.sheets[i].page);
		else
			printf("sheet %u directive %s\n", res.sheets[i].page,
			    res.sheets[i].id);
	}
	scan_result_free(&res);
	free(buf);
	return 0;
}

/* run_cut - the cut command */
static int
run_cut(int argc, char **argv)
{
	char err[SCAN_ERRLEN];
	unsigned char *buf;
	unsigned *skip;
	size_t len;
	int i, rc;

	if (argc < 3)
		run_usage();
	skip = xcalloc((size_t)argc, sizeof(*skip));
	for (i = 3; i < argc; i++)
		skip[i - 3] = (unsigned)run_number(argv[i]);
	buf = run_read(argv[0], &len);
	rc = scan_cut(buf, len, (unsigned)run_number(argv[1]),
	    (unsigned)run_number(argv[2]), skip, (size_t)(argc - 3), 1, err,
	    sizeof(err));
	if (rc == -1)
		fprintf(stderr, "error: %s\n", err);
	free(skip);
	free(buf);
	return rc == -1 ? 1 : 0;
}

int
main(int argc, char **argv)
{
	if (argc < 3)
		run_usage();
	if (strcmp(argv[1], "find") == 0)
		return run_find(argc - 2, argv + 2);
	if (strcmp(argv[1], "cut") == 0)
		return run_cut(argc - 2, argv + 2);
	run_usage();
}
