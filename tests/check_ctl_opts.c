/*
 * check_ctl_opts.c - unit tests of gatewayctl's verb options
 * (ctl_verb_args, gatewayctl_opts.c): getopt_long's forms become the
 * canonical words the daemon parses, an unknown option or a missing value
 * is refused, --json after a verb sets the global flag, operands keep
 * their order.  Table-driven.  Also the answer lines both gatewayctl and
 * gatewayd-web read (control_errline, control_proto.c): "E<code> <text>"
 * is a failure, an output line that merely starts with E and a digit (a
 * directive ID) is not.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "control_proto.h"
#include "gatewayctl.h"

static const struct ctl_verb_opt list_opts[] = {
	{ "state", 1, 's' }, { "connector", 1, 0 }, { "older-than", 1, 0 },
	{ "body", 0, 0 }, { NULL, 0, 0 }
};

/* argv in (space-separated, two verb words), the canonical words or NULL */
static const struct {
	const char *in;
	const char *out;	/* NULL: refused (usage) */
	int json;
} cases[] = {
	{ "queue list", "queue list", 0 },
	{ "queue list -s deferred", "queue list --state deferred", 0 },
	{ "queue list -sdeferred", "queue list --state deferred", 0 },
	{ "queue list --state=hold", "queue list --state hold", 0 },
	{ "queue list --state hold --connector relay",
	    "queue list --state hold --connector relay", 0 },
	{ "queue list ID1 --body ID2", "queue list --body ID1 ID2", 0 },
	{ "queue list --json -s queue", "queue list --state queue", 1 },
	{ "queue list --older-than 60 --prometheus",
	    "queue list --older-than 60", 0 },
	{ "queue list - ALL", "queue list - ALL", 0 },
	/* refused */
	{ "queue list --bogus", NULL, 0 },
	{ "queue list -x", NULL, 0 },
	{ "queue list --state", NULL, 0 },
	{ "queue list -s", NULL, 0 },
	{ "queue list --body=yes", NULL, 0 },
	{ "queue list --sta hold", "queue list --state hold", 0 },
};

/* split - the words of a case (modified copy) */
static int
split(char *s, char **argv, int max)
{
	int n = 0;
	char *w, *save = NULL;

	for (w = strtok_r(s, " ", &save); w != NULL && n < max - 1;
	    w = strtok_r(NULL, " ", &save))
		argv[n++] = w;
	argv[n] = NULL;
	return n;
}

START_TEST(test_verb_args)
{
	char buf[256], *argv[32], **av, joined[256];
	struct ctl ctl;
	size_t off = 0;
	int argc, n, i;

	memset(&ctl, 0, sizeof(ctl));
	snprintf(buf, sizeof(buf), "%s", cases[_i].in);
	argc = split(buf, argv, 32);
	av = argv;
	n = ctl_verb_args(&ctl, argc, &av, 2, list_opts);
	if (cases[_i].out == NULL) {
		ck_assert_msg(n == -1, "'%s' accepted", cases[_i].in);
		return;
	}
	ck_assert_msg(n >= 2, "'%s' refused", cases[_i].in);
	joined[0] = '\0';
	for (i = 0; i < n; i++)
		off += (size_t)snprintf(joined + off, sizeof(joined) - off,
		    "%s%s", i ? " " : "", av[i]);
	ck_assert_ptr_null(av[n]);
	ck_assert_str_eq(joined, cases[_i].out);
	ck_assert_int_eq(ctl.json, cases[_i].json);
	free(av);
}
END_TEST

/* an answer line, and its code and text when it is an E-line */
static const struct {
	const char *line;
	int code;		/* -1: output */
	const char *text;
} errlines[] = {
	{ "E65 no such directive", 65, "no such directive" },
	{ "E69 ", 69, "" },
	{ "E1 x y", 1, "x y" },
	{ "E9FYHJSK", -1, NULL },	/* a directive ID */
	{ "E7", -1, NULL },
	{ "E ", -1, NULL },
	{ "E", -1, NULL },
	{ "", -1, NULL },
	{ "E1234 too big", -1, NULL },
	{ "e65 lower", -1, NULL },
	{ "E-1 negative", -1, NULL },
	{ "XE65 not first", -1, NULL },
};

START_TEST(test_errline)
{
	const char *l = errlines[_i].line;
	size_t off = 99;
	int code = -7;

	if (errlines[_i].code == -1) {
		ck_assert_int_eq(control_errline(l, strlen(l), &code, &off), 0);
		return;
	}
	ck_assert_int_eq(control_errline(l, strlen(l), &code, &off), 1);
	ck_assert_int_eq(code, errlines[_i].code);
	ck_assert_str_eq(l + off, errlines[_i].text);
}
END_TEST

/* the length is honoured: the line's text stops at len, not at a NUL */
START_TEST(test_errline_len)
{
	size_t off;
	int code;

	ck_assert_int_eq(control_errline("E65 x", 3, &code, &off), 0);
	ck_assert_int_eq(control_errline("E65 x", 4, &code, &off), 1);
	ck_assert_int_eq(off, 4);
}
END_TEST

static Suite *
ctl_opts_suite(void)
{
	Suite *s = suite_create("ctl_opts");
	TCase *tc = tcase_create("verb_args");

	tcase_add_loop_test(tc, test_verb_args, 0,
	    (int)(sizeof(cases) / sizeof(cases[0])));
	suite_add_tcase(s, tc);
	tc = tcase_create("errline");
	tcase_add_loop_test(tc, test_errline, 0,
	    (int)(sizeof(errlines) / sizeof(errlines[0])));
	tcase_add_test(tc, test_errline_len);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(ctl_opts_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
