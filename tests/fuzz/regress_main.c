/*
 * regress_main.c - replay fuzz inputs without libFuzzer (make check)
 *
 * Linked with one fuzz target.  Without arguments it replays every file of
 * TEST_SRCDIR/fuzz/corpus/FUZZ_TARGET and TEST_SRCDIR/fuzz/regress/FUZZ_TARGET
 * (the seeds and the inputs that once crashed); with arguments, those files
 * or directories.  A crash or sanitizer report fails the test; the name of
 * each file is printed before it runs, so the log shows the culprit.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

#define REGRESS_MAX_INPUT	(16 * 1024 * 1024)

/* regress_file - run the target on one file; -1 if it cannot be read */
static int
regress_file(const char *path)
{
	FILE *f;
	unsigned char *buf;
	size_t n;

	if ((f = fopen(path, "rb")) == NULL) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	if ((buf = malloc(REGRESS_MAX_INPUT)) == NULL) {
		fclose(f);
		return -1;
	}
	n = fread(buf, 1, REGRESS_MAX_INPUT, f);
	fclose(f);
	printf("%s (%zu bytes)\n", path, n);
	fflush(stdout);
	LLVMFuzzerTestOneInput(buf, n);
	free(buf);
	return 0;
}

/* regress_path - a file, or every regular file of a directory */
static int
regress_path(const char *path, int *count)
{
	char sub[4096];
	struct dirent *de;
	struct stat st;
	DIR *d;
	int rc = 0;

	if (stat(path, &st) == -1) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		(*count)++;
		return regress_file(path);
	}
	if ((d = opendir(path)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name) >=
		    (int)sizeof(sub) || regress_path(sub, count) != 0)
			rc = -1;
	}
	closedir(d);
	return rc;
}

int
main(int argc, char **argv)
{
	char dir[4096];
	const char *kinds[] = { "corpus", "regress" };
	int i, count = 0, rc = 0;
	struct stat st;

	if (argc > 1) {
		for (i = 1; i < argc; i++)
			if (regress_path(argv[i], &count) != 0)
				rc = 1;
	} else {
		for (i = 0; i < 2; i++) {
			snprintf(dir, sizeof(dir), "%s/fuzz/%s/%s", TEST_SRCDIR,
			    kinds[i], FUZZ_TARGET);
			if (stat(dir, &st) == 0 && regress_path(dir, &count) != 0)
				rc = 1;
		}
	}
	printf("%s: %d input(s) replayed\n", FUZZ_TARGET, count);
	if (count == 0) {
		fprintf(stderr, "%s: no inputs found\n", FUZZ_TARGET);
		return 1;
	}
	return rc;
}
