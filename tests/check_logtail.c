/*
 * check_logtail.c - unit tests of the log reader behind "queue log ID"
 *
 * Files are written to a temporary directory and read back with
 * logtail_grep(): lines that cross the reader's chunks, a line longer
 * than the bound, a file without a final newline, no match, an ID that
 * is the start of a longer one, the scan bound and the line count bound;
 * logtail_open() refuses a symbolic link and what is not a regular file.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <check.h>

#include "logtail.h"

#define ID_A	"0123456789abcdef0001"
#define ID_B	"0123456789abcdef0002"

static char dir[64];
static struct logtail_line lines[LOGTAIL_MAX_LINES];

/* setup - a fresh directory */
static void
setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/check_logtail.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

/* teardown - remove it */
static void
teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	ck_assert_int_eq(system(cmd), 0);
}

/* write_file - len bytes into dir/name; the path */
static const char *
write_file(const char *name, const char *data, size_t len)
{
	static char path[128];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	ck_assert_ptr_nonnull(fp = fopen(path, "w"));
	ck_assert_uint_eq(fwrite(data, 1, len, fp), len);
	ck_assert_int_eq(fclose(fp), 0);
	return path;
}

/* grep - logtail_grep on a file, bounded by scan */
static ssize_t
grep(const char *path, const char *id, off_t scan, size_t max)
{
	ssize_t n;
	int fd;

	ck_assert_int_ge(fd = logtail_open(path), 0);
	n = logtail_grep(fd, id, scan, lines, max);
	close(fd);
	return n;
}

/* test_basic - matches oldest first; a prefix ID and its neighbours not */
START_TEST(test_basic)
{
	static const char text[] =
	    "Dec  5 10:00:00 h gatewayd-receiver[1]: " ID_A ": from=<a@b>\n"
	    "Dec  5 10:00:01 h gatewayd-receiver[1]: " ID_B ": from=<c@d>\n"
	    "Dec  5 10:00:02 h gatewayd-worker[2]: " ID_A "0: a longer ID\n"
	    "Dec  5 10:00:03 h gatewayd-worker[2]: x" ID_A ": glued before\n"
	    "\n"
	    "Dec  5 10:00:04 h gatewayd-worker[2]: data/" ID_A ".archive\n"
	    "Dec  5 10:00:05 h gatewayd-worker[2]: " ID_A ": delivered\n";
	const char *path = write_file("a.log", text, sizeof(text) - 1);
	char prefix[] = ID_A;

	ck_assert_int_eq(grep(path, ID_A, LOGTAIL_SCAN, 50), 3);
	ck_assert_ptr_nonnull(strstr(lines[0].text, "from=<a@b>"));
	ck_assert_ptr_nonnull(strstr(lines[1].text, ".archive"));
	ck_assert_ptr_nonnull(strstr(lines[2].text, "delivered"));
	ck_assert_int_eq(lines[2].cut, 0);
	ck_assert_uint_eq(lines[2].len, strlen(lines[2].text));
	ck_assert_ptr_null(strchr(lines[2].text, '\n'));
	ck_assert_int_eq(grep(path, ID_B, LOGTAIL_SCAN, 50), 1);
	/* an ID that is the start of ID_A (and of ID_B) matches neither */
	prefix[sizeof(prefix) - 2] = '\0';
	ck_assert_int_eq(grep(path, prefix, LOGTAIL_SCAN, 50), 0);
	ck_assert_int_eq(grep(path, "fedcba98765432100000", LOGTAIL_SCAN, 50),
	    0);
	/* the newest lines when there are more than asked for */
	ck_assert_int_eq(grep(path, ID_A, LOGTAIL_SCAN, 2), 2);
	ck_assert_ptr_nonnull(strstr(lines[0].text, ".archive"));
	ck_assert_ptr_nonnull(strstr(lines[1].text, "delivered"));
}
END_TEST

/* test_no_newline - the last line counts without its newline; empty file */
START_TEST(test_no_newline)
{
	static const char text[] = ID_A ": first\n" ID_A ": last, no newline";
	const char *path = write_file("b.log", text, sizeof(text) - 1);

	ck_assert_int_eq(grep(path, ID_A, LOGTAIL_SCAN, 50), 2);
	ck_assert_str_eq(lines[0].text, ID_A ": first");
	ck_assert_str_eq(lines[1].text, ID_A ": last, no newline");
	path = write_file("c.log", "", 0);
	ck_assert_int_eq(grep(path, ID_A, LOGTAIL_SCAN, 50), 0);
	path = write_file("d.log", "\n\n\n", 3);
	ck_assert_int_eq(grep(path, ID_A, LOGTAIL_SCAN, 50), 0);
}
END_TEST

/*
 * test_chunks - 2,000 lines of 100 bytes (three chunks): those that cross
 * a chunk's border are found like the others, in order
 */
START_TEST(test_chunks)
{
	size_t i, n = 2000, len = 0, want = 0;
	char *text = malloc(n * 100 + 1);
	const char *path;
	ssize_t got;

	ck_assert_ptr_nonnull(text);
	for (i = 0; i < n; i++) {
		int k = snprintf(text + len, 101, "line %05zu %s %-67s\n", i,
		    i % 41 == 0 ? ID_A : ID_B, "x");

		ck_assert_int_eq(k, 100);
		len += 100;
		want += i % 41 == 0;
	}
	path = write_file("e.log", text, len);
	ck_assert_uint_gt(len, 2 * LOGTAIL_CHUNK);
	got = grep(path, ID_A, LOGTAIL_SCAN, 50);
	ck_assert_int_eq(got, (ssize_t)want);
	for (i = 0; i < want; i++) {
		char head[16];

		snprintf(head, sizeof(head), "line %05zu ", i * 41);
		ck_assert_int_eq(strncmp(lines[i].text, head, strlen(head)), 0);
		ck_assert_uint_eq(lines[i].len, 99);
	}
	/* the scan bound: only the last 1,000 bytes, the cut line left out */
	got = grep(path, ID_B, 1050, 50);
	ck_assert_int_eq(got, 10);
	ck_assert_int_eq(strncmp(lines[0].text, "line 01990 ", 11), 0);
	/* a bound at a line's start keeps that line */
	ck_assert_int_eq(grep(path, ID_B, 1100, 50), 11);
	free(text);
}
END_TEST

/* test_long_line - a line over the bound is cut, and matched in what is kept */
START_TEST(test_long_line)
{
	size_t big = 3 * LOGTAIL_CHUNK, len = 0;
	char *text = malloc(big + 256);
	const char *path;

	ck_assert_ptr_nonnull(text);
	len += (size_t)sprintf(text, ID_A ": short\n" ID_A ": long ");
	memset(text + len, 'y', big);
	len += big;
	len += (size_t)sprintf(text + len, " " ID_B "\n" ID_A ": after\n");
	path = write_file("f.log", text, len);
	ck_assert_int_eq(grep(path, ID_A, LOGTAIL_SCAN, 50), 3);
	ck_assert_int_eq(lines[1].cut, 1);
	ck_assert_uint_eq(lines[1].len, LOGTAIL_LINE_MAX);
	ck_assert_uint_eq(strlen(lines[1].text), LOGTAIL_LINE_MAX);
	ck_assert_int_eq(strncmp(lines[1].text, ID_A ": long yyy", 30), 0);
	ck_assert_str_eq(lines[2].text, ID_A ": after");
	ck_assert_int_eq(lines[0].cut, 0);
	/* ID_B is past the bound of its line: not seen */
	ck_assert_int_eq(grep(path, ID_B, LOGTAIL_SCAN, 50), 0);
	free(text);
}
END_TEST

/* test_open - no symbolic link, no directory, no FIFO */
START_TEST(test_open)
{
	const char *path = write_file("g.log", "x\n", 2);
	char link[128], fifo[128];
	int fd;

	snprintf(link, sizeof(link), "%s/link", dir);
	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	ck_assert_int_eq(symlink(path, link), 0);
	ck_assert_int_eq(mkfifo(fifo, 0600), 0);
	ck_assert_int_ge(fd = logtail_open(path), 0);
	close(fd);
	ck_assert_int_eq(logtail_open(link), -1);
	ck_assert_int_eq(errno, ELOOP);
	ck_assert_int_eq(logtail_open(dir), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(logtail_open(fifo), -1);	/* and did not block */
	ck_assert_int_eq(errno, EINVAL);
	snprintf(link, sizeof(link), "%s/none", dir);
	ck_assert_int_eq(logtail_open(link), -1);
	ck_assert_int_eq(errno, ENOENT);
}
END_TEST

static Suite *
logtail_suite(void)
{
	Suite *s = suite_create("logtail");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_basic);
	tcase_add_test(tc, test_no_newline);
	tcase_add_test(tc, test_chunks);
	tcase_add_test(tc, test_long_line);
	tcase_add_test(tc, test_open);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(logtail_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
