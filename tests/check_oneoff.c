/*
 * check_oneoff.c - unit tests of the one-off address formats (oneoff.c)
 * and the message scan (msginfo.c)
 *
 * A table of addresses and what they parse into, malformed ones with
 * their errors; then header, attachment and text extraction from MIME
 * messages.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <string.h>

#include "msginfo.h"
#include "oneoff.h"

struct oneoff_case {
	const char *addr;
	int gateway;
	enum oneoff_default def;
	int rc;
	enum oneoff_type type;
	const char *number, *name, *company, *flags, *id_or_err;
};

static const struct oneoff_case cases[] = {
	{ "6038901957@gw", 1, ONEOFF_DEFAULT_AUTO, 0, ONEOFF_FAX, "6038901957", "", "", "", "" },
	{ "+16038901957@gw", 1, ONEOFF_DEFAULT_AUTO, 0, ONEOFF_FAX, "+16038901957", "", "", "", "" },
	{ "6038901957@gw", 1, ONEOFF_DEFAULT_EMAIL, 0, ONEOFF_EMAIL, "", "", "", "", "" },
	{ "603-890-1957@gw", 1, ONEOFF_DEFAULT_AUTO, 0, ONEOFF_EMAIL, "", "", "", "", "" },
	{ "603-890-1957@gw", 1, ONEOFF_DEFAULT_FAX, 0, ONEOFF_FAX, "6038901957", "", "", "", "" },
	{ "FAX=16038901957@gw", 1, ONEOFF_DEFAULT_AUTO, 0, ONEOFF_FAX, "16038901957", "", "", "", "" },
	{ "fax=16038901957@gw", 1, ONEOFF_DEFAULT_EMAIL, 0, ONEOFF_FAX, "16038901957", "", "", "", "" },
	{ "\"FAX=+1 (603) 890-1957\"@gw", 1, ONEOFF_DEFAULT_AUTO, 0, ONEOFF_FAX, "+16038901957", "", "", "", "" },
	{ "Jane_Doe/Acme_Inc/FAX=16038901957@gw", 1, ONEOFF_DEFAULT_AUTO, 0, ONEOFF_FAX, "16038901957", "Jane Doe", "Acme Inc", "", "" },
	{ "Jane_Doe/FAX=16038901957@gw", 1, ONEOFF_DEFAULT_AUTO, 0, ONEOFF_FAX, "16038901957", "Jane Doe", "", "", "" },
	{ "16038901957^COMPANY=Acme^NOCOVER@gw", 1, ONEOFF_DEFAULT_AUTO, 0, ONEOFF_FAX, "16038901957", "", "Acme", "NOCOVER", "" },
	{ "FAX=16038901957^NAME=Bob^nocover^priority=high@gw", 1, ONEOFF_DEFAULT_AUTO, 0, ONEOFF_FAX, "16038901957", "Bob", "", "NOCOVER,PRIORITY=HIGH", "" },
	{ "\"Jane Doe/Acme/FAX=+44 20 7946 0000\"@gw", 1, ONEOFF_DEFAULT_AUTO, 0, ONEOFF_FAX, "+442079460000", "Jane Doe", "Acme", "", "" },
	{ "DID=5551234@gw", 1, ONEOFF_DEFAULT_AUTO, 0, ONEOFF_DID, "5551234", "", "", "", "" },
	{ "DTMF=1234@gw", 1, ONEOFF_DEFAULT_AUTO, 0, ONEOFF_DID, "1234", "", "", "", "" },
	{ "ed-K7Q2M9XA@gw", 1, ONEOFF_DEFAULT_AUTO, 0, ONEOFF_DIRECTIVE, "", "", "", "", "K7Q2M9XA" },
	{ "ED-abcd1234@gw", 1, ONEOFF_DEFAULT_AUTO, 0, ONEOFF_DIRECTIVE, "", "", "", "", "abcd1234" },
	{ "jane.doe@gw", 1, ONEOFF_DEFAULT_AUTO, 0, ONEOFF_EMAIL, "", "", "", "", "" },
	{ "Jane_Doe/FAX=16038901957@elsewhere", 0, ONEOFF_DEFAULT_AUTO, 0, ONEOFF_EMAIL, "", "", "", "", "" },
	/* malformed */
	{ "FAX=@gw", 1, ONEOFF_DEFAULT_AUTO, -1, ONEOFF_EMAIL, "", "", "", "", "bad fax number" },
	{ "FAX=12ab34@gw", 1, ONEOFF_DEFAULT_AUTO, -1, ONEOFF_EMAIL, "", "", "", "", "bad fax number" },
	{ "FAX=1+2@gw", 1, ONEOFF_DEFAULT_AUTO, -1, ONEOFF_EMAIL, "", "", "", "", "bad fax number" },
	{ "FAX=123456789012345678901234567890123@gw", 1, ONEOFF_DEFAULT_AUTO, -1, ONEOFF_EMAIL, "", "", "", "", "bad fax number" },
	{ "Jane/jane@gw", 1, ONEOFF_DEFAULT_AUTO, -1, ONEOFF_EMAIL, "", "", "", "", "name and company fields need a FAX= number" },
	{ "a/b/c/FAX=1@gw", 1, ONEOFF_DEFAULT_AUTO, -1, ONEOFF_EMAIL, "", "", "", "", "too many '/' fields" },
	{ "/FAX=1@gw", 1, ONEOFF_DEFAULT_AUTO, -1, ONEOFF_EMAIL, "", "", "", "", "empty '/' field" },
	{ "123^^X@gw", 1, ONEOFF_DEFAULT_AUTO, -1, ONEOFF_EMAIL, "", "", "", "", "empty '^' option" },
	{ "jane^NOCOVER@gw", 1, ONEOFF_DEFAULT_AUTO, -1, ONEOFF_EMAIL, "", "", "", "", "options need a fax number destination" },
	{ "DID=12a@gw", 1, ONEOFF_DEFAULT_AUTO, -1, ONEOFF_EMAIL, "", "", "", "", "bad DID/DTMF digits" },
	{ "\"\"@gw", 1, ONEOFF_DEFAULT_AUTO, -1, ONEOFF_EMAIL, "", "", "", "", "bad local part" },
};

START_TEST(parse_table)
{
	const struct oneoff_case *c = &cases[_i];
	struct oneoff_dest d;
	char err[128];
	int rc;

	rc = oneoff_parse(c->addr, c->gateway, c->def, "ed-", &d, err, sizeof(err));
	ck_assert_msg(rc == c->rc, "%s: rc %d (%s)", c->addr, rc, err);
	if (rc == -1) {
		ck_assert_str_eq(err, c->id_or_err);
		return;
	}
	ck_assert_msg(d.type == c->type, "%s: type %s", c->addr,
	    oneoff_type_name(d.type));
	ck_assert_str_eq(d.number, c->number);
	ck_assert_str_eq(d.name, c->name);
	ck_assert_str_eq(d.company, c->company);
	ck_assert_str_eq(d.flags, c->flags);
	ck_assert_str_eq(d.id, c->id_or_err);
}
END_TEST

START_TEST(type_names)
{
	ck_assert_int_eq(oneoff_type_from_name("fax"), ONEOFF_FAX);
	ck_assert_int_eq(oneoff_type_from_name("DID"), ONEOFF_DID);
	ck_assert_int_eq(oneoff_type_from_name("directive"), ONEOFF_DIRECTIVE);
	ck_assert_int_eq(oneoff_type_from_name("email"), ONEOFF_EMAIL);
	ck_assert_int_eq(oneoff_type_from_name("pager"), -1);
}
END_TEST

static const char mime_msg[] =
    "From: a@b\r\nTo: \"Jane Doe\" <FAX=16038901957@gw>, bob@x\r\n"
    "Subject: scan\r\n [ED:K7Q2M9XA] folded\r\nX-DID: 5551234\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: multipart/mixed; boundary=\"outer\"\r\n\r\n"
    "preamble\r\n--outer\r\n"
    "Content-Type: multipart/alternative; boundary=inner\r\n\r\n"
    "--inner\r\nContent-Type: text/plain; charset=us-ascii\r\n"
    "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
    "Please route: ED:AB=\r\nCD1234 thanks\r\n--inner\r\n"
    "Content-Type: text/html\r\n\r\n<p>ED:NOTTHIS</p>\r\n--inner--\r\n"
    "--outer\r\nContent-Type: application/pdf; name=scan.pdf\r\n"
    "Content-Transfer-Encoding: base64\r\n\r\nJVBERi0=\r\n"
    "--outer\r\nContent-Type: image/tiff\r\n"
    "Content-Disposition: attachment; filename=\"p2.tif\"\r\n\r\nxx\r\n"
    "--outer--\r\nepilogue\r\n";

START_TEST(scan_mime)
{
	struct msginfo mi;
	char name[64];

	ck_assert_int_eq(msginfo_scan_buf(mime_msg, sizeof(mime_msg) - 1, 4096,
	    &mi), 0);
	ck_assert_str_eq(msginfo_header(&mi, "subject"), "scan [ED:K7Q2M9XA] folded");
	ck_assert_str_eq(msginfo_header(&mi, "X-DID"), "5551234");
	ck_assert_ptr_null(msginfo_header(&mi, "X-None"));
	ck_assert_uint_eq(mi.nattach, 2);
	ck_assert_str_eq(mi.attach_types[0], "application/pdf");
	ck_assert_str_eq(mi.attach_types[1], "image/tiff");
	ck_assert_ptr_nonnull(mi.text);
	ck_assert_ptr_nonnull(strstr(mi.text, "ED:ABCD1234 thanks"));
	ck_assert_ptr_null(strstr(mi.text, "NOTTHIS"));
	ck_assert_int_eq(msginfo_display_name(&mi, "FAX=16038901957@gw", name,
	    sizeof(name)), 0);
	ck_assert_str_eq(name, "Jane Doe");
	ck_assert_int_eq(msginfo_display_name(&mi, "bob@x", name, sizeof(name)), -1);
	msginfo_free(&mi);
}
END_TEST

START_TEST(scan_plain_budget)
{
	static const char msg[] = "Subject: hi\n\nline one ED:WXYZ9876\nline two\n";
	struct msginfo mi;

	ck_assert_int_eq(msginfo_scan_buf(msg, sizeof(msg) - 1, 10, &mi), 0);
	ck_assert_uint_eq(mi.nattach, 0);
	ck_assert_uint_eq(mi.textlen, 10);
	ck_assert_str_eq(mi.text, "line one E");
	msginfo_free(&mi);
}
END_TEST

/* oneoff_suite - all cases */
static Suite *
oneoff_suite(void)
{
	Suite *s = suite_create("oneoff");
	TCase *tc = tcase_create("oneoff");

	tcase_add_loop_test(tc, parse_table, 0,
	    (int)(sizeof(cases) / sizeof(cases[0])));
	tcase_add_test(tc, type_names);
	tcase_add_test(tc, scan_mime);
	tcase_add_test(tc, scan_plain_budget);
	suite_add_tcase(s, tc);
	return s;
}

/* main - run the suite */
int
main(void)
{
	SRunner *sr = srunner_create(oneoff_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
