/*
 * check_web_form.c - unit tests of gatewayd-web's parsers and state:
 * urlencoded forms (web_form.c), the HTML escaper (web_html.c), sessions,
 * CSRF tokens and login limits (web_session.c), a routing sheet's form
 * (web_sheet_form.c)
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "directive.h"
#include "web_form.h"
#include "web_html.h"
#include "web_session.h"
#include "web_sheet_form.h"

static const struct {
	const char *body;
	int ok;
	size_t n;
	const char *name, *value;	/* of the last field */
} form_cases[] = {
	{ "", 1, 0, NULL, NULL },
	{ "a=1", 1, 1, "a", "1" },
	{ "a=1&b=x+y%20z", 1, 2, "b", "x y z" },
	{ "a=&b", 1, 2, "b", "" },
	{ "a=1&&b=2&", 1, 2, "b", "2" },
	{ "t=%3Cscript%3E%26%C3%A4", 1, 1, "t", "<script>&\xc3\xa4" },
	{ "a=%2", 0, 0, NULL, NULL },
	{ "a=%zz", 0, 0, NULL, NULL },
	{ "a=%00", 0, 0, NULL, NULL },
	{ "=x", 0, 0, NULL, NULL },
	{ "%00=x", 0, 0, NULL, NULL },
	{ "n%3d=v%3d", 1, 1, "n=", "v=" },
	{ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa=1", 0, 0, NULL, NULL },
};

START_TEST(test_form)
{
	struct web_form f;
	char err[128];
	int rc;

	rc = web_form_parse(&f, form_cases[_i].body, strlen(form_cases[_i].body),
	    err, sizeof(err));
	ck_assert_int_eq(rc == 0, form_cases[_i].ok);
	if (rc == 0) {
		ck_assert_uint_eq(f.n, form_cases[_i].n);
		if (f.n > 0) {
			ck_assert_str_eq(f.name[f.n - 1], form_cases[_i].name);
			ck_assert_str_eq(f.value[f.n - 1], form_cases[_i].value);
			ck_assert_str_eq(web_form_get(&f, form_cases[_i].name),
			    form_cases[_i].value);
		}
		ck_assert_ptr_null(web_form_get(&f, "missing"));
	} else
		ck_assert_uint_gt(strlen(err), 0);
	web_form_free(&f);
}
END_TEST

START_TEST(test_form_limits)
{
	struct web_form f;
	char err[128], *big;
	size_t i;

	/* one field too many */
	big = calloc(1, (WEB_FORM_FIELDS + 1) * 4 + 1);
	for (i = 0; i <= WEB_FORM_FIELDS; i++)
		strcat(big, "a=1&");
	ck_assert_int_eq(web_form_parse(&f, big, strlen(big), err,
	    sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "more than"));
	big[WEB_FORM_FIELDS * 4] = '\0';	/* exactly the maximum */
	ck_assert_int_eq(web_form_parse(&f, big, strlen(big), err,
	    sizeof(err)), 0);
	ck_assert_uint_eq(f.n, WEB_FORM_FIELDS);
	web_form_free(&f);
	free(big);
	/* a body past WEB_FORM_MAX */
	big = malloc(WEB_FORM_MAX + 2);
	memset(big, 'a', WEB_FORM_MAX + 1);
	big[WEB_FORM_MAX + 1] = '\0';
	ck_assert_int_eq(web_form_parse(&f, big, WEB_FORM_MAX + 1, err,
	    sizeof(err)), -1);
	free(big);
	/* a NUL byte in the body itself */
	ck_assert_int_eq(web_form_parse(&f, "a=b\0c", 5, err, sizeof(err)), -1);
}
END_TEST

static const struct {
	const char *in, *out;
} html_cases[] = {
	{ "plain", "plain" },
	{ "<script>alert('x')</script>", "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" },
	{ "a\"b&c", "a&quot;b&amp;c" },
	{ "tab\tok", "tab\tok" },
	{ "line\nbreak\r", "line\xef\xbf\xbd" "break\xef\xbf\xbd" },
	{ "del\x7f", "del\xef\xbf\xbd" },
	{ "\xc3\xa4\xe2\x82\xac\xf0\x9f\x98\x80", "\xc3\xa4\xe2\x82\xac\xf0\x9f\x98\x80" },
	{ "bad\xff", "bad\xef\xbf\xbd" },
	{ "\xc0\xaf", "\xef\xbf\xbd\xef\xbf\xbd" },		/* overlong '/' */
	{ "\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" },	/* surrogate */
	{ "c1\xc2\x85", "c1\xef\xbf\xbd\xef\xbf\xbd" },		/* NEL */
	{ "cut\xe2\x82", "cut\xef\xbf\xbd\xef\xbf\xbd" },
};

START_TEST(test_html)
{
	struct web_buf b = { 0 };

	web_html(&b, html_cases[_i].in);
	ck_assert_ptr_nonnull(b.data);
	ck_assert_str_eq(b.data, html_cases[_i].out);
	web_buf_free(&b);
}
END_TEST

START_TEST(test_buf_cap)
{
	struct web_buf b = { 0 };
	char *chunk = malloc(1024 * 1024);
	size_t i, len;

	memset(chunk, 'x', 1024 * 1024);
	for (i = 0; i < 9; i++)
		web_buf_add(&b, chunk, 1024 * 1024);
	ck_assert_int_eq(b.cut, 1);
	ck_assert_uint_le(b.len, WEB_BUF_MAX);
	free(web_buf_take(&b, &len));
	ck_assert_int_eq(b.cut, 0);
	free(chunk);
}
END_TEST

START_TEST(test_sessions)
{
	struct web_sessions s;
	struct web_session *a, *b, *c;
	char id[WEB_TOKEN_LEN + 1], csrf[WEB_TOKEN_LEN + 1];

	web_sessions_init(&s, 2, 100, 30);
	a = web_session_new(&s, "alice", 1000);
	ck_assert_ptr_nonnull(a);
	ck_assert_uint_eq(strlen(a->id), WEB_TOKEN_LEN);
	ck_assert_str_ne(a->id, a->csrf);
	ck_assert_ptr_eq(web_session_find(&s, a->id, 1010), a);
	ck_assert_str_eq(a->user, "alice");
	/* a wrong, short or missing ID finds nothing */
	snprintf(id, sizeof(id), "%s", a->id);
	id[0] = id[0] == 'a' ? 'b' : 'a';
	ck_assert_ptr_null(web_session_find(&s, id, 1010));
	ck_assert_ptr_null(web_session_find(&s, "abc", 1010));
	ck_assert_ptr_null(web_session_find(&s, NULL, 1010));
	/* CSRF */
	snprintf(csrf, sizeof(csrf), "%s", a->csrf);
	ck_assert(web_csrf_ok(a, csrf));
	csrf[5] = csrf[5] == '0' ? '1' : '0';
	ck_assert(!web_csrf_ok(a, csrf));
	ck_assert(!web_csrf_ok(a, NULL));
	ck_assert(!web_csrf_ok(a, ""));
	ck_assert(!web_csrf_ok(a, a->id));
	/* idle: last use 1010, idle 30 */
	snprintf(id, sizeof(id), "%s", a->id);
	ck_assert_ptr_null(web_session_find(&s, id, 1040));
	ck_assert_ptr_null(web_session_find(&s, id, 1041));	/* ended */
	/* lifetime 100 from the login, whatever the use */
	b = web_session_new(&s, "bob", 2000);
	snprintf(id, sizeof(id), "%s", b->id);
	ck_assert_ptr_nonnull(web_session_find(&s, id, 2025));
	ck_assert_ptr_nonnull(web_session_find(&s, id, 2050));
	ck_assert_ptr_nonnull(web_session_find(&s, id, 2075));
	ck_assert_ptr_null(web_session_find(&s, id, 2100));
	/* full table: the least recently used goes */
	a = web_session_new(&s, "a", 3000);
	b = web_session_new(&s, "b", 3001);
	snprintf(id, sizeof(id), "%s", a->id);
	ck_assert_ptr_nonnull(web_session_find(&s, id, 3002));	/* a used */
	c = web_session_new(&s, "c", 3003);
	ck_assert_ptr_eq(c, b);
	ck_assert_str_eq(c->user, "c");
	ck_assert_ptr_nonnull(web_session_find(&s, id, 3004));
	/* logout */
	web_session_end(a);
	ck_assert_ptr_null(web_session_find(&s, id, 3005));
	web_sessions_free(&s);
}
END_TEST

START_TEST(test_limits)
{
	static struct web_limits l;
	char key[32];
	int i;

	memset(&l, 0, sizeof(l));
	l.max_failures = 3;
	l.window = 60;
	ck_assert(!web_limit_blocked(&l, "u:alice", 100));
	for (i = 0; i < 3; i++) {
		ck_assert(!web_limit_blocked(&l, "u:alice", 100 + i));
		web_limit_fail(&l, "u:alice", 100 + i);
	}
	ck_assert(web_limit_blocked(&l, "u:alice", 110));
	ck_assert(!web_limit_blocked(&l, "u:bob", 110));
	ck_assert(web_limit_blocked(&l, "u:alice", 159));
	ck_assert(!web_limit_blocked(&l, "u:alice", 160));	/* window over */
	web_limit_fail(&l, "a:10.0.0.1", 200);
	web_limit_fail(&l, "a:10.0.0.1", 201);
	web_limit_fail(&l, "a:10.0.0.1", 202);
	ck_assert(web_limit_blocked(&l, "a:10.0.0.1", 203));
	web_limit_clear(&l, "a:10.0.0.1");
	ck_assert(!web_limit_blocked(&l, "a:10.0.0.1", 203));
	/* a full table replaces its oldest entry, never grows */
	for (i = 0; i < WEB_LIMIT_TABLE + 10; i++) {
		snprintf(key, sizeof(key), "a:k%d", i);
		web_limit_fail(&l, key, 300 + i / 100);
	}
	snprintf(key, sizeof(key), "a:k%d", WEB_LIMIT_TABLE + 9);
	web_limit_fail(&l, key, 320);
	web_limit_fail(&l, key, 320);
	ck_assert(web_limit_blocked(&l, key, 321));
}
END_TEST

/* form_of - a form from urlencoded text (must parse) */
static void
form_of(struct web_form *f, const char *body)
{
	char err[128];

	ck_assert_int_eq(web_form_parse(f, body, strlen(body), err,
	    sizeof(err)), 0);
}

START_TEST(test_sheet_form)
{
	struct web_form f;
	struct directive d;
	char err[256];

	form_of(&f, "csrf=x&title=Accounts+%3Cb%3E&expires=2031-06-30"
	    "&ch1=email&addr1=ap%40example.com&name1=ignored"
	    "&ch2=&addr2=&ch3=fax&addr3=%2B4930123&name3=Erika&company3=ACME"
	    "&ch4=folder&addr4=");
	ck_assert_int_eq(web_sheets_from_form(&f, &d, err, sizeof(err)), 0);
	ck_assert_str_eq(d.title, "Accounts <b>");
	ck_assert_int_eq(d.expires, 1940630399);	/* 2031-06-30T23:59:59Z */
	ck_assert_uint_eq(d.nrcpt, 3);
	ck_assert_str_eq(d.rcpt[0].channel, "email");
	ck_assert_str_eq(d.rcpt[0].address, "ap@example.com");
	ck_assert_uint_eq(d.rcpt[0].nparams, 0);
	ck_assert_str_eq(d.rcpt[1].channel, "fax");
	ck_assert_uint_eq(d.rcpt[1].nparams, 2);
	ck_assert_str_eq(d.rcpt[1].params[0].name, "name");
	ck_assert_str_eq(d.rcpt[1].params[0].value, "Erika");
	ck_assert_str_eq(d.rcpt[1].params[1].value, "ACME");
	ck_assert_str_eq(d.rcpt[2].channel, "folder");
	directive_clear(&d);
	web_form_free(&f);
}
END_TEST

static const struct {
	const char *body, *why;
} sheet_bad[] = {
	{ "ch1=email&addr1=a%40b", "title" },
	{ "title=&ch1=email&addr1=a%40b", "title" },
	{ "title=T%0A&ch1=email&addr1=a%40b", "title" },
	{ "title=T", "at least one" },
	{ "title=T&ch1=email&addr1=", "Recipient 1" },
	{ "title=T&ch1=sms&addr1=123", "Recipient 1" },
	{ "title=T&ch2=email&addr2=a%40b%0D", "Recipient 2" },
	{ "title=T&expires=31.12.2030&ch1=email&addr1=a%40b", "date" },
	{ "title=T&expires=2030-02-30x&ch1=email&addr1=a%40b", "date" },
	{ "title=T&ch1=&addr1=x", "Recipient 1" },
};

START_TEST(test_sheet_form_bad)
{
	struct web_form f;
	struct directive d;
	char err[256];

	form_of(&f, sheet_bad[_i].body);
	ck_assert_int_eq(web_sheets_from_form(&f, &d, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, sheet_bad[_i].why) != NULL, "%s: %s",
	    sheet_bad[_i].body, err);
	directive_clear(&d);
	web_form_free(&f);
}
END_TEST

/* main - run the suite */
int
main(void)
{
	Suite *s = suite_create("web_form");
	TCase *tc = tcase_create("web");
	SRunner *sr;
	int failed;

	tcase_add_loop_test(tc, test_form, 0,
	    sizeof(form_cases) / sizeof(form_cases[0]));
	tcase_add_test(tc, test_form_limits);
	tcase_add_loop_test(tc, test_html, 0,
	    sizeof(html_cases) / sizeof(html_cases[0]));
	tcase_add_test(tc, test_buf_cap);
	tcase_add_test(tc, test_sessions);
	tcase_add_test(tc, test_limits);
	tcase_add_test(tc, test_sheet_form);
	tcase_add_loop_test(tc, test_sheet_form_bad, 0,
	    sizeof(sheet_bad) / sizeof(sheet_bad[0]));
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
