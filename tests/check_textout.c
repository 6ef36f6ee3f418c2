/*
 * check_textout.c - unit tests of the output escapers (textout.h)
 *
 * One table of nasty inputs, each with its terminal form and its JSON
 * string literal; then the properties every output must have whatever
 * the input (terminal text without control bytes and valid UTF-8 JSON,
 * escaping twice changes nothing), the bounded copy, the JSON writer's
 * punctuation and the log writer.
 */
#include "config.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "log.h"
#include "textout.h"

#define S(lit)	lit, sizeof(lit) - 1	/* a literal and its length, NULs too */

static const struct {
	const char *in;
	size_t len;
	const char *term;	/* textout_term, no flags */
	const char *json;	/* textout_json_literal */
} cases[] = {
	{ S("plain text"), "plain text", "\"plain text\"" },
	{ S(""), "", "\"\"" },
	/* ESC [ 2 J: clear the screen */
	{ S("a\x1b[2Jb"), "a\\x1b[2Jb", "\"a\\u001b[2Jb\"" },
	/* OSC title set, ended by BEL */
	{ S("\x1b]0;owned\x07"), "\\x1b]0;owned\\x07", "\"\\u001b]0;owned\\u0007\"" },
	/* CSI as a raw C1 byte (not UTF-8) and encoded in UTF-8 */
	{ S("\x9b" "31m"), "\\x9b31m", "\"\\ufffd31m\"" },
	{ S("\xc2\x9b" "31m"), "\\u009b31m", "\"\\u009b31m\"" },
	{ S("\xc2\x80\xc2\x9f"), "\\u0080\\u009f", "\"\\u0080\\u009f\"" },
	/* U+00A0 is the first code point after C1: kept */
	{ S("\xc2\xa0"), "\xc2\xa0", "\"\xc2\xa0\"" },
	/* valid UTF-8, 2, 3 and 4 bytes */
	{ S("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"),
	    "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
	    "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"" },
	/* overlong encodings of '/' and of ESC */
	{ S("\xc0\xaf"), "\\xc0\\xaf", "\"\\ufffd\\ufffd\"" },
	{ S("\xc1\x9b"), "\\xc1\\x9b", "\"\\ufffd\\ufffd\"" },
	{ S("\xe0\x80\xaf"), "\\xe0\\x80\\xaf", "\"\\ufffd\\ufffd\\ufffd\"" },
	{ S("\xf0\x80\x80\xaf"), "\\xf0\\x80\\x80\\xaf",
	    "\"\\ufffd\\ufffd\\ufffd\\ufffd\"" },
	/* surrogates, high and low */
	{ S("\xed\xa0\x80"), "\\xed\\xa0\\x80", "\"\\ufffd\\ufffd\\ufffd\"" },
	{ S("\xed\xbf\xbf"), "\\xed\\xbf\\xbf", "\"\\ufffd\\ufffd\\ufffd\"" },
	/* beyond U+10FFFF, and leads that start nothing */
	{ S("\xf4\x90\x80\x80"), "\\xf4\\x90\\x80\\x80",
	    "\"\\ufffd\\ufffd\\ufffd\\ufffd\"" },
	{ S("\xf5\xff\xfe"), "\\xf5\\xff\\xfe", "\"\\ufffd\\ufffd\\ufffd\"" },
	/* truncated sequences, at the end and before ASCII */
	{ S("a\xe2\x82"), "a\\xe2\\x82", "\"a\\ufffd\\ufffd\"" },
	{ S("\xc2"), "\\xc2", "\"\\ufffd\"" },
	{ S("\xf0\x9f\x98x"), "\\xf0\\x9f\\x98x", "\"\\ufffd\\ufffd\\ufffdx\"" },
	/* a lone continuation byte */
	{ S("\x80"), "\\x80", "\"\\ufffd\"" },
	/* NUL inside a length-counted string */
	{ S("a\0b"), "a\\x00b", "\"a\\u0000b\"" },
	/* DEL, and the C0 controls of a line */
	{ S("x\x7f"), "x\\x7f", "\"x\\u007f\"" },
	{ S("\a\r\n\t"), "\\x07\\x0d\\x0a\\x09", "\"\\u0007\\u000d\\u000a\\u0009\"" },
	/* quote and backslash: JSON escapes them, the terminal keeps them */
	{ S("a\"b\\c"), "a\"b\\c", "\"a\\\"b\\\\c\"" },
	/* text escaped once already */
	{ S("\\x1b"), "\\x1b", "\"\\\\x1b\"" },
};
#define NCASES	(sizeof(cases) / sizeof(cases[0]))

/* term_of - textout_term into a new string */
static char *
term_of(const char *s, size_t len, int flags, size_t *outlen)
{
	char *buf = NULL;
	size_t n = 0;
	FILE *fp = open_memstream(&buf, &n);

	ck_assert_ptr_nonnull(fp);
	textout_term(fp, s, len, flags);
	fclose(fp);
	if (outlen != NULL)
		*outlen = n;
	return buf;
}

/* json_of - textout_json_literal into a new string */
static char *
json_of(const char *s, size_t len)
{
	char *buf = NULL;
	size_t n = 0;
	FILE *fp = open_memstream(&buf, &n);

	ck_assert_ptr_nonnull(fp);
	textout_json_literal(fp, s, len);
	fclose(fp);
	return buf;
}

/* assert_clean - valid UTF-8 without C0 (but keep), DEL or C1 */
static void
assert_clean(const char *s, size_t len, const char *keep)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, n;

	while (i < len) {
		n = textout_utf8_len(p + i, len - i);
		ck_assert_msg(n > 0, "invalid UTF-8 at %zu of '%s'", i, s);
		if (n == 1)
			ck_assert_msg((p[i] >= 0x20 && p[i] != 0x7f) ||
			    (p[i] != 0 && strchr(keep, p[i]) != NULL),
			    "control byte 0x%02x in '%s'", p[i], s);
		else
			ck_assert_msg(!(n == 2 && p[i] == 0xc2 && p[i + 1] < 0xa0),
			    "C1 in '%s'", s);
		i += n;
	}
}

START_TEST(test_term)
{
	size_t n;
	char *t = term_of(cases[_i].in, cases[_i].len, 0, &n), *t2;

	ck_assert_str_eq(t, cases[_i].term);
	assert_clean(t, n, "");
	/* escaping again changes nothing: no double escaping */
	t2 = term_of(t, n, 0, NULL);
	ck_assert_str_eq(t2, t);
	free(t2);
	free(t);
}
END_TEST

START_TEST(test_json)
{
	char *j = json_of(cases[_i].in, cases[_i].len);

	ck_assert_str_eq(j, cases[_i].json);
	assert_clean(j, strlen(j), "");
	free(j);
}
END_TEST

START_TEST(test_clean_matches_term)
{
	char buf[512];

	/* cases without a NUL: textout_clean stops at one */
	if (memchr(cases[_i].in, '\0', cases[_i].len) != NULL)
		return;
	textout_clean(buf, sizeof(buf), cases[_i].in, cases[_i].len, 0);
	ck_assert_str_eq(buf, cases[_i].term);
	log_clean(buf, sizeof(buf), cases[_i].in, cases[_i].len);
	ck_assert_str_eq(buf, cases[_i].term);
}
END_TEST

START_TEST(test_flags)
{
	char *t = term_of(S("a\tb\r\nc\n"), TEXTOUT_KEEP_TAB | TEXTOUT_KEEP_NL,
	    NULL);

	ck_assert_str_eq(t, "a\tb\\x0d\nc\n");
	free(t);
	t = term_of(S("a\tb\n"), TEXTOUT_KEEP_NL, NULL);
	ck_assert_str_eq(t, "a\\x09b\n");
	free(t);
}
END_TEST

/* A cut never splits an escape or a UTF-8 character. */
START_TEST(test_clean_bounds)
{
	static const struct {
		const char *in;
		size_t dstlen;
		const char *out;
	} b[] = {
		{ "ab\x1b", 4, "ab" },		/* "\x1b" needs 4 more */
		{ "ab\x1b", 7, "ab\\x1b" },
		{ "ab\x1b", 6, "ab" },
		{ "a\xe2\x82\xac", 4, "a" },	/* the euro sign needs 3 */
		{ "a\xe2\x82\xac", 5, "a\xe2\x82\xac" },
		{ "\xc2\x9b", 6, "" },
		{ "\xc2\x9b", 7, "\\u009b" },
		{ "abc", 1, "" },
	};
	char buf[16];
	size_t i;

	for (i = 0; i < sizeof(b) / sizeof(b[0]); i++) {
		memset(buf, 'X', sizeof(buf));
		textout_clean(buf, b[i].dstlen, b[i].in, strlen(b[i].in), 0);
		ck_assert_msg(strcmp(buf, b[i].out) == 0, "case %zu: '%s'", i,
		    buf);
	}
	buf[0] = 'X';
	textout_clean(buf, 0, "abc", 3, 0);
	ck_assert_int_eq(buf[0], 'X');
}
END_TEST

START_TEST(test_json_writer)
{
	struct textout_json j;
	char *buf = NULL;
	size_t n = 0;
	FILE *fp = open_memstream(&buf, &n);

	ck_assert_ptr_nonnull(fp);
	textout_json_init(&j, fp);
	textout_json_object(&j, NULL);
	textout_json_str(&j, "a", "x\x1b");
	textout_json_array(&j, "list");
	textout_json_int(&j, NULL, -1);
	textout_json_int(&j, NULL, 0);
	textout_json_int(&j, NULL, 1765000000);
	textout_json_int(&j, NULL, LLONG_MIN);
	textout_json_uint(&j, NULL, 0);
	textout_json_object(&j, NULL);
	textout_json_close(&j);
	textout_json_array(&j, NULL);
	textout_json_close(&j);
	textout_json_uint(&j, NULL, 18446744073709551615ULL);
	textout_json_close(&j);
	textout_json_bool(&j, "t", 1);
	textout_json_bool(&j, "f", 0);
	textout_json_null(&j, "n");
	textout_json_str(&j, "s", NULL);
	textout_json_strn(&j, "k\"\x9b", "\0", 1);
	textout_json_close(&j);
	textout_json_end(&j);
	textout_json_array(&j, NULL);
	textout_json_close(&j);
	textout_json_end(&j);
	fclose(fp);
	ck_assert_str_eq(buf, "{\"a\":\"x\\u001b\",\"list\":[-1,0,1765000000,"
	    "-9223372036854775808,0,{},[],"
	    "18446744073709551615],\"t\":true,\"f\":false,\"n\":null,"
	    "\"s\":null,\"k\\\"\\ufffd\":\"\\u0000\"}\n[]\n");
	free(buf);
}
END_TEST

/* Every log line is escaped where it is written: one line, no controls. */
START_TEST(test_log_line)
{
	char path[] = "/tmp/check_textout.XXXXXX", line[4096];
	char cleaned[64];
	int fd = mkstemp(path), saved = dup(2);
	FILE *fp;
	size_t n;

	ck_assert_int_ge(fd, 0);
	ck_assert_int_ge(saved, 0);
	fflush(stderr);
	ck_assert_int_eq(dup2(fd, 2), 2);
	log_init("check", LOG_TO_STDERR, 0);
	log_warnx("from=<%s> text=%s", "a\x1b[2J\r\nE64 fake\x9b\xc2\x9b\x7f",
	    "caf\xc3\xa9");
	/* cleaned before the call: not escaped a second time */
	log_warnx("clean=%s", log_clean(cleaned, sizeof(cleaned), "x\x1by",
	    3));
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	fp = fdopen(fd, "r");
	ck_assert_ptr_nonnull(fp);
	rewind(fp);
	ck_assert_ptr_nonnull(fgets(line, sizeof(line), fp));
	n = strlen(line);
	ck_assert_int_eq(line[n - 1], '\n');
	assert_clean(line, n - 1, "");
	ck_assert_ptr_nonnull(strstr(line, "from=<a\\x1b[2J\\x0d\\x0aE64 "
	    "fake\\x9b\\u009b\\x7f> text=caf\xc3\xa9"));
	ck_assert_ptr_nonnull(fgets(line, sizeof(line), fp));
	ck_assert_ptr_nonnull(strstr(line, "clean=x\\x1by\n"));
	ck_assert_ptr_null(fgets(line, sizeof(line), fp));
	fclose(fp);
	unlink(path);
}
END_TEST

static Suite *
textout_suite(void)
{
	Suite *s = suite_create("textout");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_term, 0, NCASES);
	tcase_add_loop_test(tc, test_json, 0, NCASES);
	tcase_add_loop_test(tc, test_clean_matches_term, 0, NCASES);
	tcase_add_test(tc, test_flags);
	tcase_add_test(tc, test_clean_bounds);
	tcase_add_test(tc, test_json_writer);
	tcase_add_test(tc, test_log_line);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(textout_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
