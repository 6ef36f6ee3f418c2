/*
 * check_folder_uu.c - unit tests of the uuencoded block finder and decoder
 * (connectors/folder_uu.c, compiled in alone)
 *
 * Golden inputs in tests/data/uu (made with Python's binascii, the
 * reference uuencoder): NAME.txt is a text, NAME.1, NAME.2 ... the bytes
 * of its blocks in order.  Table cases cover what must not be taken for
 * a file (a "begin" in prose, a block without "end", a bad mode), the cap
 * on the number of blocks, and malformed body lines.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../connectors/folder.h"
/* The module under test, compiled here (it needs neither GMime nor gw_*). */
#include "../connectors/folder_uu.c"

#define GOLDEN_MAX	(1024 * 1024)

/* slurp - a golden file of tests/data/uu; NULL when it does not exist */
static char *
slurp(const char *name, size_t *len)
{
	char path[4096], *buf = malloc(GOLDEN_MAX);
	FILE *fp;

	ck_assert_ptr_nonnull(buf);
	snprintf(path, sizeof(path), "%s/data/uu/%s", TEST_SRCDIR, name);
	if ((fp = fopen(path, "rb")) == NULL) {
		free(buf);
		return NULL;
	}
	*len = fread(buf, 1, GOLDEN_MAX, fp);
	fclose(fp);
	return buf;
}

/* golden - every block of NAME.txt decodes to NAME.<n>, with the names */
static void
golden(const char *name, const char *const *names, size_t nblocks,
    unsigned int damaged)
{
	struct folder_uu_block b[8];
	char fn[256], *text, *want;
	unsigned char *out;
	size_t len, wlen, n, i;
	unsigned int bad, allbad = 0;
	int more;

	snprintf(fn, sizeof(fn), "%s.txt", name);
	ck_assert_ptr_nonnull(text = slurp(fn, &len));
	n = folder_uu_find(text, len, b, 8, &more);
	ck_assert_uint_eq(n, nblocks);
	ck_assert_int_eq(more, 0);
	for (i = 0; i < n; i++) {
		ck_assert_str_eq(b[i].name, names[i]);
		snprintf(fn, sizeof(fn), "%s.%zu", name, i + 1);
		ck_assert_ptr_nonnull(want = slurp(fn, &wlen));
		ck_assert_int_eq(folder_uu_decode(text, &b[i], &out, &len,
		    &bad), 0);
		ck_assert_uint_eq(len, wlen);
		ck_assert(memcmp(out, want, len) == 0);
		allbad += bad;
		free(out);
		free(want);
	}
	ck_assert_uint_eq(allbad, damaged);
	free(text);
}

START_TEST(golden_two_blocks)
{
	static const char *const names[] = { "scan.pdf", "page 2.tif" };
	struct folder_uu_block b[2];
	size_t len;
	char *text = slurp("two-blocks.txt", &len);
	int more;

	golden("two-blocks", names, 2, 0);
	ck_assert_uint_eq(folder_uu_find(text, len, b, 2, &more), 2);
	ck_assert_uint_eq(b[0].mode, 0644);
	ck_assert_uint_eq(b[1].mode, 0600);
	/* the begin line is where the block starts, the end line is in it */
	ck_assert(strncmp(text + b[0].start, "begin 644 scan.pdf\r\n", 20) == 0);
	ck_assert(strncmp(text + b[1].end - 5, "end\r\n", 5) == 0);
	free(text);
}
END_TEST

START_TEST(golden_malformed)
{
	static const char *const names[] = { "bad.bin" };

	/* two bad lines skipped; the block without "end" is no block */
	golden("malformed", names, 1, 2);
}
END_TEST

/* A text and the names of the blocks it must yield ("" : none). */
static const struct {
	const char *text;
	const char *names;		/* space-separated, "" for none */
	const char *bytes;		/* decoded first block */
} cases[] = {
	{ "begin 644 a.txt\n#86)C\n`\nend\n", "a.txt", "abc" },
	{ "begin 644 a.txt\r\n#86)C\r\n \r\nend\r\n", "a.txt", "abc" },
	{ "begin 0644 a\n#86)C\n`\nend   \n", "a", "abc" },
	{ "prose\nbegin 644 a\n#86)C\n`\nend\nmore prose\n", "a", "abc" },
	{ "begin the work now\nand end it\n", "", NULL },
	{ "begin 64 a\n#86)C\n`\nend\n", "", NULL },		/* 2 digits */
	{ "begin 64444 a\n#86)C\n`\nend\n", "", NULL },	/* 5 digits */
	{ "begin 648 a\n#86)C\n`\nend\n", "", NULL },		/* not octal */
	{ "begin 644 \n#86)C\n`\nend\n", "", NULL },		/* no name */
	{ "begin 644 a\n#86)C\n`\n", "", NULL },		/* no end */
	{ "begin 644 a\n#86)C\n", "", NULL },
	{ "begin 644 a\n", "", NULL },
	{ "begin 644 a", "", NULL },
	{ "begin 644 a\nbegin 644 b\n#86)C\n`\nend\n", "b", "abc" },
	{ "begin 644 a\n#86)C\n`\nend\nbegin 600 b\n\"86(\n`\nend\n", "a b",
	  "abc" },
	{ "begin 644 a\n#86\n`\nend\n", "a", "" },		/* short line */
	{ "begin 644 a\n#86)C\n`\nM86)C\nend\n", "a", "abc" },	/* after ` */
	{ "begin 644 a\n\n#86)C\n`\nend\n", "a", "abc" },	/* empty line */
	{ "begin 644 a\n#8\x01)C\n`\nend\n", "a", "" },	/* bad char */
	{ "begin 644 a\n#86)C\nend\n", "a", "abc" },	/* no ` line */
	{ "", "", NULL },
};

START_TEST(table_case)
{
	struct folder_uu_block b[4];
	char names[512] = "";
	unsigned char *out;
	size_t n, i, len;
	unsigned int bad;
	int more;

	n = folder_uu_find(cases[_i].text, strlen(cases[_i].text), b, 4, &more);
	for (i = 0; i < n; i++) {
		if (i > 0)
			strcat(names, " ");
		strcat(names, b[i].name);
	}
	ck_assert_msg(strcmp(names, cases[_i].names) == 0,
	    "case %d: blocks \"%s\", want \"%s\"", _i, names, cases[_i].names);
	if (cases[_i].bytes == NULL)
		return;
	ck_assert_int_eq(folder_uu_decode(cases[_i].text, &b[0], &out, &len,
	    &bad), 0);
	ck_assert_uint_eq(len, strlen(cases[_i].bytes));
	ck_assert(memcmp(out, cases[_i].bytes, len) == 0);
	free(out);
}
END_TEST

/* Thousands of tiny blocks: the finder stops at its cap and says so. */
START_TEST(many_blocks)
{
	static const char one[] = "begin 644 x\n!80``\n`\nend\n";
	size_t n, i, len = 0, count = 20000;
	char *text = malloc(count * (sizeof(one) - 1) + 1);
	struct folder_uu_block b[100];
	int more;

	ck_assert_ptr_nonnull(text);
	for (i = 0; i < count; i++) {
		memcpy(text + len, one, sizeof(one) - 1);
		len += sizeof(one) - 1;
	}
	n = folder_uu_find(text, len, b, 100, &more);
	ck_assert_uint_eq(n, 100);
	ck_assert_int_eq(more, 1);
	n = folder_uu_find(text, len, b, 0, &more);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(more, 1);
	free(text);
}
END_TEST

/* The name of an x-uuencode part: the first whole begin line. */
START_TEST(part_name)
{
	char name[16];

	ck_assert_int_eq(folder_uu_name("begin 644 scan.pdf\r\nM", 21, name,
	    sizeof(name)), 1);
	ck_assert_str_eq(name, "scan.pdf");
	ck_assert_int_eq(folder_uu_name("x\nbegin 600 a-very-long-name.pdf\n",
	    33, name, sizeof(name)), 1);
	ck_assert_str_eq(name, "a-very-long-nam");
	ck_assert_int_eq(folder_uu_name("begin 644 cut", 13, name,
	    sizeof(name)), 0);
	ck_assert_int_eq(folder_uu_name("M86)C\n", 6, name, sizeof(name)), 0);
}
END_TEST

/* folder_uu_suite - the cases */
static Suite *
folder_uu_suite(void)
{
	Suite *s = suite_create("folder_uu");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, golden_two_blocks);
	tcase_add_test(tc, golden_malformed);
	tcase_add_loop_test(tc, table_case, 0,
	    (int)(sizeof(cases) / sizeof(cases[0])));
	tcase_add_test(tc, many_blocks);
	tcase_add_test(tc, part_name);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(folder_uu_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
