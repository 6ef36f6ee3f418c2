/*
 * check_rfc2047.c - unit tests of the encoded-word decoder (rfc2047.c) and
 * of the decoded Subject and display names msginfo.c keeps
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "msginfo.h"
#include "rfc2047.h"

static const struct {
	const char *in;
	const char *out;		/* NULL: nothing to decode */
} cases[] = {
	{ "plain text", NULL },
	{ "=?UTF-8?B?w4RyZ2VyIMO8YmVyIEbDvGxsZQ==?=", "\xc3\x84rger \xc3\xbc" "ber F\xc3\xbclle" },
	{ "=?ISO-8859-1?Q?B=FCcher_und_Fax?=", "B\xc3\xbc" "cher und Fax" },
	{ "=?iso-8859-1?q?caf=E9?= au lait", "caf\xc3\xa9 au lait" },
	{ "=?UTF-8?Q?a?= =?UTF-8?Q?b?=", "ab" },
	{ "=?UTF-8?Q?a?=\t =?UTF-8?Q?b?= c", "ab c" },
	{ "x =?UTF-8?Q?a?= y", "x a y" },
	{ "=?windows-1252?Q?=80_5?=", "\xe2\x82\xac 5" },
	{ "=?UTF-8*en?Q?hi?=", "hi" },
	{ "=?UTF-8?Q?line=0D=0Abreak?=", "line  break" },
	{ "=?UTF-8?X?bad?=", "=?UTF-8?X?bad?=" },
	{ "=?UTF-8?Q?unterminated", "=?UTF-8?Q?unterminated" },
	{ "=?UTF-8?B?!!!?=", "=?UTF-8?B?!!!?=" },
	{ "=?UTF-8?Q?bad=ZZhex?=", "=?UTF-8?Q?bad=ZZhex?=" },
	{ "=?no-such-charset-x?Q?abc?=", "=?no-such-charset-x?Q?abc?=" },
	{ "=??Q?abc?=", "=??Q?abc?=" },
	{ "[ED:=?UTF-8?Q?AB12?=]", "[ED:AB12]" },
	{ "=?", "=?" },
};

START_TEST(test_decode)
{
	char *d = rfc2047_decode(cases[_i].in);

	if (cases[_i].out == NULL)
		ck_assert_ptr_null(d);
	else {
		ck_assert_ptr_nonnull(d);
		ck_assert_str_eq(d, cases[_i].out);
		ck_assert_uint_le(strlen(d), strlen(cases[_i].in) * RFC2047_GROWTH);
	}
	free(d);
}
END_TEST

START_TEST(test_msginfo)
{
	const char msg[] = "From: a@b\r\n"
	    "To: =?UTF-8?Q?J=C3=BCrgen_M=C3=BCller?= <fax=123@gw.test>,\r\n"
	    " other <o@gw.test>\r\n"
	    "Subject: =?UTF-8?B?U2Nhbg==?=\r\n =?ISO-8859-1?Q?_f=FCr_Fax?=\r\n"
	    "\r\nbody\r\n";
	struct msginfo mi;
	char name[128];

	memset(&mi, 0, sizeof(mi));
	ck_assert_int_eq(msginfo_scan_buf(msg, sizeof(msg) - 1, 1024, &mi), 0);
	ck_assert_str_eq(msginfo_header(&mi, "Subject"), "Scan f\xc3\xbcr Fax");
	ck_assert_int_eq(msginfo_display_name(&mi, "fax=123@gw.test", name,
	    sizeof(name)), 0);
	ck_assert_str_eq(name, "J\xc3\xbcrgen M\xc3\xbcller");
	ck_assert_int_eq(msginfo_display_name(&mi, "o@gw.test", name,
	    sizeof(name)), 0);
	ck_assert_str_eq(name, "other");
	msginfo_free(&mi);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("rfc2047");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_loop_test(tc, test_decode, 0, sizeof(cases) / sizeof(cases[0]));
	tcase_add_test(tc, test_msginfo);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
