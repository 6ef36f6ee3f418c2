/*
 * check_pipe.c - unit tests of the pipe connector's argv templates, exit
 * status mapping and DSN line (connectors/pipe_argv.c, compiled in alone)
 *
 * Table-driven: templates that must be refused with the reason expected;
 * argvs expanded from hostile values (each value stays one element,
 * byte for byte); every sysexits status with its result class and
 * enhanced code; output lines with control bytes, backslashes, CRLF and
 * overlong text.  The commands themselves are run by tests/e2e_pipe.py.
 */
#include "config.h"

#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <gatewayd/connector.h>

#include "../connectors/pipe.h"
/* The module under test, compiled here (it needs neither GMime nor gw_*). */
#include "../connectors/pipe_argv.c"

/* Templates the configuration must refuse, and a word of the reason. */
static const struct {
	const char *t;
	int first;
	const char *why;
} bad_templates[] = {
	{ "{nmae}", 0, "unknown field '{nmae}'" },
	{ "{sender", 0, "unknown field" },
	{ "a}b", 0, "lone '}'" },
	{ "x{attachments}", 0, "argument of its own" },
	{ "{attachments}{sender}", 0, "argument of its own" },
	{ "/bin/{sender}", 1, "cannot be templated" },
	{ "{}", 0, "unknown field" },
};

START_TEST(template_refused)
{
	unsigned int uses = 0;
	char err[256] = "";

	ck_assert_int_eq(pipe_template_check(bad_templates[_i].t,
	    bad_templates[_i].first, &uses, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, bad_templates[_i].why) != NULL,
	    "%s: '%s' lacks '%s'", bad_templates[_i].t, err,
	    bad_templates[_i].why);
}
END_TEST

START_TEST(template_uses)
{
	unsigned int uses = 0;
	char err[256];

	ck_assert_int_eq(pipe_template_check("--to={recipient},{fax}", 0,
	    &uses, err, sizeof(err)), 0);
	ck_assert_int_eq(pipe_template_check("{{literal}}", 0, &uses, err,
	    sizeof(err)), 0);
	ck_assert_int_eq(pipe_template_check("{attachments}", 0, &uses, err,
	    sizeof(err)), 0);
	ck_assert_uint_eq(uses, PIPE_F_BIT(PIPE_F_RECIPIENT) |
	    PIPE_F_BIT(PIPE_F_FAX) | PIPE_F_BIT(PIPE_F_ATTACHMENTS));
}
END_TEST

static const char *const hostile_rcpt[] = { "a@gw.test", "b c;$(id)@gw.test" };
static const char *const hostile_fax[] = { "+16038901957", "" };
static const char *const hostile_name[] = { "Jane \"Q\" `id` 'x' $HOME | y",
	"\n\t" };
static const char *const files[] = { "/tmp/d/scan 1.pdf", "/tmp/d/-n" };

/* values - two recipients with hostile fields, two files */
static void
values(struct pipe_values *v)
{
	memset(v, 0, sizeof(*v));
	v->sender = "s p a c e ; rm -rf / #@client.test";
	v->queue_id = "0661de2aead3ff000000";
	v->nrcpt = 2;
	v->rcpt[PIPE_F_RECIPIENT] = hostile_rcpt;
	v->rcpt[PIPE_F_FAX] = hostile_fax;
	v->rcpt[PIPE_F_NAME] = hostile_name;
	v->nfiles = 2;
	v->files = files;
}

START_TEST(argv_expansion)
{
	char *const tmpl[] = { "/usr/bin/cmd", "{sender}", "--to={recipient}",
	    "{name}", "{fax}", "{company}", "q={queue_id}{{}}", "{attachments}",
	    "--" };
	static const char *const want[] = { "/usr/bin/cmd",
	    "s p a c e ; rm -rf / #@client.test", "--to=a@gw.test",
	    "--to=b c;$(id)@gw.test", "Jane \"Q\" `id` 'x' $HOME | y", "\n\t",
	    "+16038901957", "", "", "", "q=0661de2aead3ff000000{}",
	    "/tmp/d/scan 1.pdf", "/tmp/d/-n", "--", NULL };
	struct pipe_values v;
	struct pipe_argv a;
	char err[256];
	size_t i;

	values(&v);
	ck_assert_int_eq(pipe_argv_build(tmpl, sizeof(tmpl) / sizeof(tmpl[0]),
	    &v, &a, err, sizeof(err)), 0);
	for (i = 0; want[i] != NULL; i++) {
		ck_assert_msg(i < a.n, "only %zu arguments", a.n);
		ck_assert_str_eq(a.v[i], want[i]);
	}
	ck_assert_uint_eq(a.n, i);
	ck_assert_ptr_null(a.v[a.n]);
	pipe_argv_free(&a);
}
END_TEST

START_TEST(argv_too_long)
{
	char *big = malloc(PIPE_ARG_MAX + 10), err[256];
	char *const tmpl[] = { "/bin/cmd", "{sender}{sender}" };
	struct pipe_values v;
	struct pipe_argv a;

	memset(big, 'x', PIPE_ARG_MAX / 2 + 5);
	big[PIPE_ARG_MAX / 2 + 5] = '\0';
	values(&v);
	v.sender = big;
	ck_assert_int_eq(pipe_argv_build(tmpl, 2, &v, &a, err, sizeof(err)),
	    -1);
	ck_assert_ptr_nonnull(strstr(err, "longer than"));
	ck_assert_ptr_null(a.v);
	free(big);
}
END_TEST

/* Exit statuses: result class and enhanced code. */
static const struct {
	int status;
	int result;
	const char *dsn;
} exits[] = {
	{ 0, GW_RESULT_OK, "2.0.0" }, { 1, GW_RESULT_PERMFAIL, "5.3.0" },
	{ 64, GW_RESULT_PERMFAIL, "5.3.0" }, { 65, GW_RESULT_PERMFAIL, "5.6.0" },
	{ 67, GW_RESULT_PERMFAIL, "5.1.1" }, { 69, GW_RESULT_PERMFAIL, "5.3.0" },
	{ 71, GW_RESULT_TEMPFAIL, "4.3.0" }, { 72, GW_RESULT_TEMPFAIL, "4.3.0" },
	{ 73, GW_RESULT_TEMPFAIL, "4.2.0" }, { 74, GW_RESULT_TEMPFAIL, "4.3.0" },
	{ 75, GW_RESULT_TEMPFAIL, "4.3.0" }, { 77, GW_RESULT_PERMFAIL, "5.7.0" },
	{ 78, GW_RESULT_PERMFAIL, "5.3.5" }, { 255, GW_RESULT_PERMFAIL, "5.3.0" },
};

START_TEST(exit_mapping)
{
	char out[] = "reason\nmore";
	struct pipe_outcome o;
	struct pipe_result r;

	memset(&o, 0, sizeof(o));
	o.status = exits[_i].status << 8;	/* as waitpid() reports an exit */
	o.out = out;
	o.outlen = strlen(o.out);
	pipe_exit_map(&o, "cmd", &r);
	ck_assert_int_eq(r.result, exits[_i].result);
	ck_assert_str_eq(r.status, exits[_i].dsn);
	ck_assert_int_eq(r.code, r.result == GW_RESULT_OK ? 250 :
	    r.result == GW_RESULT_PERMFAIL ? 550 : 451);
	ck_assert_msg(strstr(r.text, ": reason") != NULL &&
	    strstr(r.text, "more") == NULL, "%s", r.text);
}
END_TEST

START_TEST(exit_signal_timeout)
{
	struct pipe_outcome o;
	struct pipe_result r;

	memset(&o, 0, sizeof(o));
	o.status = SIGSEGV;	/* WIFSIGNALED */
	pipe_exit_map(&o, "cmd", &r);
	ck_assert_int_eq(r.result, GW_RESULT_TEMPFAIL);
	ck_assert_ptr_nonnull(strstr(r.text, "killed by signal 11"));
	o.timed_out = 1;
	o.status = SIGKILL;
	pipe_exit_map(&o, "cmd", &r);
	ck_assert_int_eq(r.result, GW_RESULT_TEMPFAIL);
	ck_assert_ptr_nonnull(strstr(r.text, "timed out"));
	snprintf(o.why, sizeof(o.why), "fork: no memory");
	pipe_exit_map(&o, "cmd", &r);
	ck_assert_int_eq(r.result, GW_RESULT_TEMPFAIL);
	ck_assert_str_eq(r.text, "pipe: fork: no memory");
}
END_TEST

/* First output lines: raw bytes, what the DSN shows. */
static const struct {
	const char *out;
	const char *want;
} lines[] = {
	{ "", "" },
	{ "\n\n  \r\nhello\nworld", "hello" },
	{ "a\\b\tc\x1b[31m\r\n", "a\\\\b\\x09c\\x1b[31m" },
	{ "caf\xc3\xa9 \x7f", "caf\\xc3\\xa9 \\x7f" },
	{ "x\ry", "x\\x0dy" },
};

START_TEST(first_line)
{
	char dst[PIPE_LINE_MAX * 4 + 8];

	pipe_first_line(lines[_i].out, strlen(lines[_i].out), dst, sizeof(dst));
	ck_assert_str_eq(dst, lines[_i].want);
}
END_TEST

START_TEST(first_line_bounded)
{
	char big[3 * PIPE_LINE_MAX], dst[PIPE_LINE_MAX * 4 + 8], small[16];

	memset(big, '\x01', sizeof(big));
	pipe_first_line(big, sizeof(big), dst, sizeof(dst));
	ck_assert_uint_eq(strlen(dst), PIPE_LINE_MAX * 4 + 3);	/* \x01... */
	ck_assert_str_eq(dst + strlen(dst) - 3, "...");
	pipe_first_line(big, sizeof(big), small, sizeof(small));
	ck_assert_uint_lt(strlen(small), sizeof(small));
}
END_TEST

/* pipe_suite - every case */
static Suite *
pipe_suite(void)
{
	Suite *s = suite_create("pipe");
	TCase *tc = tcase_create("argv");

	tcase_add_loop_test(tc, template_refused, 0,
	    sizeof(bad_templates) / sizeof(bad_templates[0]));
	tcase_add_test(tc, template_uses);
	tcase_add_test(tc, argv_expansion);
	tcase_add_test(tc, argv_too_long);
	tcase_add_loop_test(tc, exit_mapping, 0, sizeof(exits) /
	    sizeof(exits[0]));
	tcase_add_test(tc, exit_signal_timeout);
	tcase_add_loop_test(tc, first_line, 0, sizeof(lines) / sizeof(lines[0]));
	tcase_add_test(tc, first_line_bounded);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(pipe_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
