/*
 * check_folder.c - unit tests of the folder connector's name templates and
 * name sanitising (connectors/folder_template.c, compiled in alone)
 *
 * Table-driven: each case is a template, the fields and a policy, and the
 * exact safe name expected.  The MIME side is tested by folder_mime.py
 * through tests/folder_run.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../connectors/folder.h"
/* The module under test, compiled here (it needs neither GMime nor gw_*). */
#include "../connectors/folder_template.c"

/* param - the router fields of the test recipient */
static const char *
param(void *ctx, const char *name)
{
	(void)ctx;
	if (strcmp(name, "fax") == 0)
		return "+49 30 1234/56";
	if (strcmp(name, "name") == 0)
		return "Jörg Müller";
	if (strcmp(name, "company") == 0)
		return "ACME <Berlin>";
	if (strcmp(name, "dept") == 0)
		return "../../etc";
	return NULL;
}

struct tcase {
	const char *tmpl;
	const char *filename;
	const char *subject;
	enum folder_charset cs;
	size_t name_max;
	int is_file;
	const char *want;
};

static const struct tcase cases[] = {
	/* plain fields, strftime of the arrival time (UTC) */
	{ "{qid}.eml", "", "", FOLDER_POSIX, 200, 1, "0006152f1a2b3c4d0001.eml" },
	{ "{counter}-{counter:4}", "", "", FOLDER_POSIX, 200, 1, "7-0007" },
	{ "%Y/%m/%d/{sender_domain}", "", "", FOLDER_POSIX, 200, 0,
	  "2025/11/28/client.test" },
	{ "{rcpt_local}@{rcpt_domain}-{sender_local}", "", "", FOLDER_POSIX,
	  200, 1, "scans@gw.test-alice" },
	{ "{file}-{counter:3}{ext}", "report.final.PDF", "", FOLDER_POSIX, 200,
	  1, "report.final-007.PDF" },
	{ "{fax}_{name}", "", "", FOLDER_POSIX, 200, 1,
	  "+49 30 1234_56_Jörg Müller" },
	{ "{company}", "", "", FOLDER_POSIX, 200, 1, "ACME <Berlin>" },
	{ "{company}", "", "", FOLDER_WINDOWS, 200, 1, "ACME _Berlin_" },
	{ "{param:dept}/{param:none|nodept}", "", "", FOLDER_POSIX, 200, 0,
	  "___.._etc/nodept" },
	{ "%D {subject}", "", "a\tb", FOLDER_POSIX, 200, 1, "11_28_25 a b" },
	/* traversal: a field never makes a separator, dots never lead */
	{ "{filename}", "../../etc/passwd", "", FOLDER_POSIX, 200, 1,
	  "___.._etc_passwd" },
	{ "{filename}", "..", "", FOLDER_POSIX, 200, 1, "__" },
	{ "{filename}", ".hidden", "", FOLDER_POSIX, 200, 1, "_hidden" },
	{ "{filename}", "..\\..\\boot.ini", "", FOLDER_WINDOWS, 200, 1,
	  "___.._boot.ini" },
	{ "in/{filename}/x", "..", "", FOLDER_POSIX, 200, 0, "in/__/x" },
	{ "a//{fax|}/../b", "", "", FOLDER_POSIX, 200, 0,
	  "a/+49 30 1234_56/__/b" },
	/* control characters and invalid UTF-8 */
	{ "{filename}", "a\001b\177c\r\nd.pdf", "", FOLDER_POSIX, 200, 1,
	  "a_b_c  d.pdf" },
	{ "{filename}", "caf\xe9.pdf", "", FOLDER_POSIX, 200, 1, "caf_.pdf" },
	{ "{filename}", "\xc2\x85x.pdf", "", FOLDER_POSIX, 200, 1, "_x.pdf" },
	/* Windows: reserved device names, trailing dots and spaces, chars */
	{ "{filename}", "CON", "", FOLDER_WINDOWS, 200, 1, "_CON" },
	{ "{filename}", "nul.txt", "", FOLDER_WINDOWS, 200, 1, "_nul.txt" },
	{ "{filename}", "Com1.pdf", "", FOLDER_WINDOWS, 200, 1, "_Com1.pdf" },
	{ "{filename}", "LPT9", "", FOLDER_WINDOWS, 200, 1, "_LPT9" },
	{ "{filename}", "CONSOLE.txt", "", FOLDER_WINDOWS, 200, 1,
	  "CONSOLE.txt" },
	{ "{filename}", "CON", "", FOLDER_POSIX, 200, 1, "CON" },
	{ "{filename}", "scan. . ", "", FOLDER_WINDOWS, 200, 1, "scan" },
	{ "{filename}", "a:b*c?d\"e|f.pdf", "", FOLDER_WINDOWS, 200, 1,
	  "a_b_c_d_e_f.pdf" },
	{ "{filename}", "a:b.pdf", "", FOLDER_POSIX, 200, 1, "a:b.pdf" },
	/* UTF-8 kept, or replaced with the ascii policy */
	{ "{filename}", "Übersicht_日本.pdf", "", FOLDER_POSIX, 200, 1,
	  "Übersicht_日本.pdf" },
	{ "{filename}", "Übersicht_日本.pdf", "", FOLDER_ASCII, 200, 1,
	  "_bersicht___.pdf" },
	/* length cap: the extension stays, UTF-8 is not cut in half */
	{ "{filename}", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.pdf", "", FOLDER_POSIX,
	  20, 1, "aaaaaaaaaaaaaaaa.pdf" },
	{ "{filename}", "ééééééééééééééé.pdf", "", FOLDER_POSIX, 20, 1,
	  "éééééééé.pdf" },
	{ "{subject}", "", "aaaaaaaaaaaaaaaaaaaaaaaaa", FOLDER_POSIX, 16, 0,
	  "aaaaaaaaaaaaaaaa" },
	/* empty results */
	{ "{subject}", "", "", FOLDER_POSIX, 200, 1, "_" },
	{ "{subject}/x", "", "", FOLDER_POSIX, 200, 0, "x" },
	{ "{subject|no subject}", "", "", FOLDER_POSIX, 200, 1, "no subject" },
};

/* expand_case - each table row */
START_TEST(expand_case)
{
	const struct tcase *c = &cases[_i];
	struct folder_policy pol = { c->cs, c->name_max };
	struct folder_fields f;
	char out[FOLDER_TEMPLATE_MAX * 2];

	memset(&f, 0, sizeof(f));
	f.qid = "0006152f1a2b3c4d0001";
	f.sender = "alice@client.test";
	f.rcpt = "scans@gw.test";
	f.client = "127.0.0.1";
	f.subject = c->subject;
	f.filename = c->filename;
	f.param = param;
	f.arrival = 1764324000;		/* 2025-11-28 10:00:00 UTC */
	f.utc = 1;
	f.counter = 7;
	ck_assert_msg(folder_template_expand(c->tmpl, &f, &pol, c->is_file,
	    out, sizeof(out)) == 0, "case %d", _i);
	ck_assert_msg(strcmp(out, c->want) == 0, "case %d: '%s' gave '%s', "
	    "want '%s'", _i, c->tmpl, out, c->want);
	ck_assert_msg(strstr(out, "..") == NULL || strstr(out, "/..") == NULL,
	    "case %d", _i);
	ck_assert_msg(out[0] != '/' && out[0] != '.', "case %d", _i);
}
END_TEST

/* bad_templates - refused at init, with a reason */
START_TEST(bad_templates)
{
	static const char *const bad[] = { "{nosuch}", "{qid", "qid}",
	    "%Q", "%", "{counter:x}", "{counter:12}", "{param:}", "{qid:3}",
	    "a\tb", NULL };
	char err[256];
	int i;

	for (i = 0; bad[i] != NULL; i++) {
		err[0] = '\0';
		ck_assert_msg(folder_template_check(bad[i], 0, err,
		    sizeof(err)) == -1, "'%s' accepted", bad[i]);
		ck_assert_msg(err[0] != '\0', "'%s' without a reason", bad[i]);
	}
	ck_assert_int_eq(folder_template_check("a/{qid}", 1, err,
	    sizeof(err)), -1);
	ck_assert_msg(strstr(err, "path_template") != NULL, "%s", err);
	ck_assert_int_eq(folder_template_check("%Y/%-m/{fax|x}/{counter:3}",
	    0, err, sizeof(err)), 0);
	ck_assert_int_eq(folder_template_uses_rcpt("%Y/{fax}"), 1);
	ck_assert_int_eq(folder_template_uses_rcpt("{name|x}"), 1);
	ck_assert_int_eq(folder_template_uses_rcpt("{param:x}"), 1);
	ck_assert_int_eq(folder_template_uses_rcpt("{filename}{rcptx}"), 0);
	ck_assert_int_eq(folder_template_uses_rcpt("%Y/{sender}"), 0);
}
END_TEST

/* long_names - a 300-byte name fits NAME_MAX, a template overflow fails */
START_TEST(long_names)
{
	struct folder_policy pol = { FOLDER_WINDOWS, 255 };
	struct folder_fields f;
	char name[400], out[FOLDER_TEMPLATE_MAX * 2], tmpl[FOLDER_TEMPLATE_MAX];
	size_t i;

	memset(&f, 0, sizeof(f));
	memset(name, 'x', 300);
	snprintf(name + 300, sizeof(name) - 300, ".tiff");
	f.filename = name;
	ck_assert_int_eq(folder_template_expand("{filename}", &f, &pol, 1, out,
	    sizeof(out)), 0);
	ck_assert_uint_eq(strlen(out), 255);
	ck_assert_str_eq(out + 250, ".tiff");
	/* Many directory levels of long fields overflow the path: refused. */
	tmpl[0] = '\0';
	for (i = 0; i < 40; i++)
		strcat(tmpl, "{filename}/");
	ck_assert_int_eq(folder_template_expand(tmpl, &f, &pol, 0, out,
	    sizeof(out)), -1);
}
END_TEST

/* folder_suite - all cases */
static Suite *
folder_suite(void)
{
	Suite *s = suite_create("folder");
	TCase *tc = tcase_create("templates");

	tcase_add_loop_test(tc, expand_case, 0,
	    (int)(sizeof(cases) / sizeof(cases[0])));
	tcase_add_test(tc, bad_templates);
	tcase_add_test(tc, long_names);
	suite_add_tcase(s, tc);
	return s;
}

/* main - run the suite; non-zero exit on failure */
int
main(void)
{
	SRunner *sr = srunner_create(folder_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
