/*
 * check_addr.c - unit tests of the RFC 5321 path parser (gatewayd/lib/addr.c)
 *
 * One table of paths with the expected status, address and rest; then
 * the helpers (domain, hidden local parts) and the length limits.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"

struct path_case {
	const char *in;
	int status;
	const char *out;		/* expected address when ADDR_OK */
	const char *rest;		/* expected text after '>' when ADDR_OK */
};

static const struct path_case path_cases[] = {
	{ "<user@example.com>", ADDR_OK, "user@example.com", "" },
	{ "<User.Name@Example.COM> SIZE=10", ADDR_OK, "User.Name@Example.COM", " SIZE=10" },
	{ "<>", ADDR_OK, "", "" },
	{ "<> BODY=8BITMIME", ADDR_OK, "", " BODY=8BITMIME" },
	{ "<a!#$%&'*+-/=?^_`{|}~z@example.com>", ADDR_OK, "a!#$%&'*+-/=?^_`{|}~z@example.com", "" },
	{ "<user+tag@sub.example-host.org>", ADDR_OK, "user+tag@sub.example-host.org", "" },
	{ "<\"john doe\"@example.com>", ADDR_OK, "\"john doe\"@example.com", "" },
	{ "<\"a\\\"b\\\\c\"@example.com>", ADDR_OK, "\"a\\\"b\\\\c\"@example.com", "" },
	{ "<\"a>b\"@example.com>", ADDR_OK, "\"a>b\"@example.com", "" },
	{ "<\"user@ext.example\"@local.example>", ADDR_OK, "\"user@ext.example\"@local.example", "" },
	{ "<user@[192.0.2.1]>", ADDR_OK, "user@[192.0.2.1]", "" },
	{ "<user@[IPv6:2001:db8::1]>", ADDR_OK, "user@[IPv6:2001:db8::1]", "" },
	{ "<user@[ipv6:::1]>", ADDR_OK, "user@[ipv6:::1]", "" },
	{ "<postmaster>", ADDR_OK, "postmaster", "" },
	{ "<PostMaster>", ADDR_OK, "PostMaster", "" },
	{ "<a@b>", ADDR_OK, "a@b", "" },
	{ "<1@2.3>", ADDR_OK, "1@2.3", "" },
	/* syntax */
	{ "", ADDR_ESYNTAX, NULL, NULL },
	{ "user@example.com", ADDR_ESYNTAX, NULL, NULL },
	{ "<user@example.com", ADDR_ESYNTAX, NULL, NULL },
	{ "<user@example.com junk>", ADDR_ESYNTAX, NULL, NULL },
	{ "<user@exa_mple.com>", ADDR_ESYNTAX, NULL, NULL },
	{ "<\"unterminated@example.com>", ADDR_ESYNTAX, NULL, NULL },
	{ "<", ADDR_ESYNTAX, NULL, NULL },
	/* local part */
	{ "<@>", ADDR_EROUTE, NULL, NULL },
	{ "<.user@example.com>", ADDR_ELOCAL, NULL, NULL },
	{ "<user.@example.com>", ADDR_ELOCAL, NULL, NULL },
	{ "<us..er@example.com>", ADDR_ELOCAL, NULL, NULL },
	{ "<us er@example.com>", ADDR_ELOCAL, NULL, NULL },
	{ "<us(er@example.com>", ADDR_ELOCAL, NULL, NULL },
	{ "<\xc3\xa9t\xc3\xa9@example.com>", ADDR_ELOCAL, NULL, NULL },
	{ "<\"\"@example.com>", ADDR_ELOCAL, NULL, NULL },
	{ "<\"a\tb\"@example.com>", ADDR_ELOCAL, NULL, NULL },
	{ "<\"a\\\x01\"@example.com>", ADDR_ELOCAL, NULL, NULL },
	/* domain */
	{ "<user>", ADDR_EDOMAIN, NULL, NULL },
	{ "<user@>", ADDR_EDOMAIN, NULL, NULL },
	{ "<user@-example.com>", ADDR_EDOMAIN, NULL, NULL },
	{ "<user@example-.com>", ADDR_EDOMAIN, NULL, NULL },
	{ "<user@example..com>", ADDR_EDOMAIN, NULL, NULL },
	{ "<user@example.com.>", ADDR_EDOMAIN, NULL, NULL },
	{ "<user@.example.com>", ADDR_EDOMAIN, NULL, NULL },
	{ "<user@[192.0.2.300]>", ADDR_EDOMAIN, NULL, NULL },
	{ "<user@[192.0.2]>", ADDR_EDOMAIN, NULL, NULL },
	{ "<user@[IPv6:2001:db8::g]>", ADDR_EDOMAIN, NULL, NULL },
	{ "<user@[2001:db8::1]>", ADDR_EDOMAIN, NULL, NULL },
	{ "<user@[x-tag:foo]>", ADDR_EDOMAIN, NULL, NULL },
	{ "<user@[192.0.2.1>", ADDR_EDOMAIN, NULL, NULL },
	{ "<user@[]>", ADDR_EDOMAIN, NULL, NULL },
	/* source routes */
	{ "<@relay.example:user@example.com>", ADDR_EROUTE, NULL, NULL },
	{ "<@a.example,@b.example:user@example.com>", ADDR_EROUTE, NULL, NULL },
};

/* check_path - run one table entry */
static void
check_path(const struct path_case *c)
{
	char out[ADDR_BUFLEN];
	const char *rest = NULL, *why = NULL;
	int r;

	r = addr_parse_path(c->in, strlen(c->in), out, sizeof(out), &rest, &why);
	ck_assert_msg(r == c->status, "%s: got %s (%s), want %s", c->in,
	    addr_status_name(r), why ? why : "-", addr_status_name(c->status));
	if (r == ADDR_OK) {
		ck_assert_str_eq(out, c->out);
		ck_assert_str_eq(rest, c->rest);
	} else {
		ck_assert_ptr_nonnull(why);
	}
}

START_TEST(test_path_table)
{
	check_path(&path_cases[_i]);
}
END_TEST

/* repeat - a string of n copies of c */
static char *
repeat(char c, size_t n)
{
	char *s = malloc(n + 1);

	ck_assert_ptr_nonnull(s);
	memset(s, c, n);
	s[n] = '\0';
	return s;
}

/* parse_built - parse "<local@domain>" built from parts */
static int
parse_built(const char *local, const char *domain)
{
	char in[1200], out[ADDR_BUFLEN];
	const char *rest, *why;

	snprintf(in, sizeof(in), "<%s@%s>", local, domain);
	return addr_parse_path(in, strlen(in), out, sizeof(out), &rest, &why);
}

START_TEST(test_lengths)
{
	char *l64 = repeat('a', 64), *l65 = repeat('a', 65);
	char *lab63 = repeat('b', 63), *lab64 = repeat('b', 64);
	char dom[400];

	ck_assert_int_eq(parse_built(l64, "example.com"), ADDR_OK);
	ck_assert_int_eq(parse_built(l65, "example.com"), ADDR_ETOOLONG);
	ck_assert_int_eq(parse_built("u", lab63), ADDR_OK);
	ck_assert_int_eq(parse_built("u", lab64), ADDR_ETOOLONG);
	/* 63+1+63+1+63+1+61 = 253: whole path 1+1+1+253+1 = 257 > 256 */
	snprintf(dom, sizeof(dom), "%s.%s.%s.%.61s", lab63, lab63, lab63, lab63);
	ck_assert_int_eq(parse_built("u", dom), ADDR_ETOOLONG);
	/* 253-byte address: path of 255 is fine */
	snprintf(dom, sizeof(dom), "%s.%s.%s.%.59s", lab63, lab63, lab63, lab63);
	ck_assert_int_eq(parse_built("u", dom), ADDR_OK);
	/* domain over 255 */
	snprintf(dom, sizeof(dom), "%s.%s.%s.%s.x", lab63, lab63, lab63, lab63);
	ck_assert_int_eq(parse_built("u", dom), ADDR_ETOOLONG);
	free(l64);
	free(l65);
	free(lab63);
	free(lab64);
}
END_TEST

START_TEST(test_small_outbuf)
{
	char out[8];
	const char *rest, *why;

	ck_assert_int_eq(addr_parse_path("<user@example.com>", 18, out,
	    sizeof(out), &rest, &why), ADDR_ETOOLONG);
	ck_assert_int_eq(addr_parse_path("<a@b.c>", 7, out, sizeof(out), &rest,
	    &why), ADDR_OK);
	ck_assert_str_eq(out, "a@b.c");
}
END_TEST

START_TEST(test_length_bound)
{
	char out[ADDR_BUFLEN];
	const char *rest, *why;

	/* the parser must not read past len (no NUL in the first 10 bytes) */
	ck_assert_int_eq(addr_parse_path("<user@exa>", 9, out, sizeof(out),
	    &rest, &why), ADDR_ESYNTAX);
	ck_assert_int_eq(addr_parse_path("<\"ab\"@x>", 4, out, sizeof(out),
	    &rest, &why), ADDR_ESYNTAX);
	ck_assert_int_eq(addr_parse_path("<u@[1.2.3.4]>", 11, out, sizeof(out),
	    &rest, &why), ADDR_EDOMAIN);
}
END_TEST

START_TEST(test_domain)
{
	ck_assert_str_eq(addr_domain("user@example.com"), "example.com");
	ck_assert_str_eq(addr_domain("\"a@b\"@example.com"), "example.com");
	ck_assert_str_eq(addr_domain("postmaster"), "");
	ck_assert_str_eq(addr_domain(""), "");
	ck_assert_uint_eq(addr_local_len("user@example.com"), 4);
	ck_assert_uint_eq(addr_local_len("postmaster"), 10);
}
END_TEST

START_TEST(test_hidden)
{
	ck_assert_int_eq(addr_hidden("user@local.example"), 0);
	ck_assert_int_eq(addr_hidden("first.last+tag@local.example"), 0);
	ck_assert_int_eq(addr_hidden("user%ext.example@local.example"), 1);
	ck_assert_int_eq(addr_hidden("ext.example!user@local.example"), 1);
	ck_assert_int_eq(addr_hidden("\"user@ext.example\"@local.example"), 1);
	ck_assert_int_eq(addr_hidden("\"plain\"@local.example"), 0);
	ck_assert_int_eq(addr_hidden("\"FAX=+1 (603) 890-1957\"@local.example"), 0);
	ck_assert_int_eq(addr_hidden("\"Jo Doe/FAX=5550100,\"@local.example"), 0);
	ck_assert_int_eq(addr_hidden("\"a%b\"@local.example"), 1);
	ck_assert_int_eq(addr_hidden("\"a!b\"@local.example"), 1);
	ck_assert_int_eq(addr_hidden("user@percent%domain"), 0);
	ck_assert_int_eq(addr_hidden("postmaster"), 0);
}
END_TEST

START_TEST(test_valid)
{
	const char *why;

	ck_assert_int_eq(addr_valid("user@example.com", &why), ADDR_OK);
	ck_assert_int_eq(addr_valid("\"a b\"@example.com", &why), ADDR_OK);
	ck_assert_int_eq(addr_valid("user@example.com>", &why), ADDR_ESYNTAX);
	ck_assert_int_eq(addr_valid("user", &why), ADDR_EDOMAIN);
	ck_assert_int_eq(addr_valid("", &why), ADDR_ESYNTAX);
	ck_assert_int_eq(addr_is_postmaster("POSTMASTER"), 1);
	ck_assert_int_eq(addr_is_postmaster("postmaster@x"), 0);
}
END_TEST

/* addr_suite - every test of this file */
START_TEST(test_utf8)
{
	char out[ADDR_BUFLEN];
	const char *rest, *why;
	static const char ok[] = "<j\xc3\xbcrgen@b\xc3\xbc" "cher.example>";
	static const char *const bad[] = {
		"<j\xc3@b.example>",		/* truncated sequence */
		"<j\xc0\xafx@b.example>",	/* overlong */
		"<j\xed\xa0\x80@b.example>",	/* surrogate */
		"<j\xf5\x80\x80\x80@b.example>",	/* beyond U+10FFFF */
	};
	size_t i;

	ck_assert_int_eq(addr_parse_path(ok, strlen(ok), out, sizeof(out), &rest,
	    &why), ADDR_ELOCAL);
	ck_assert_int_eq(addr_parse_path_utf8(ok, strlen(ok), out, sizeof(out),
	    &rest, &why, 1), ADDR_OK);
	ck_assert_str_eq(out, "j\xc3\xbcrgen@b\xc3\xbc" "cher.example");
	ck_assert(addr_is_8bit(out));
	ck_assert(!addr_is_8bit("a@b.example"));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(addr_parse_path_utf8(bad[i], strlen(bad[i]), out,
		    sizeof(out), &rest, &why, 1) != ADDR_OK, "%zu accepted", i);
}
END_TEST

static Suite *
addr_suite(void)
{
	Suite *s = suite_create("addr");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_path_table, 0,
	    (int)(sizeof(path_cases) / sizeof(path_cases[0])));
	tcase_add_test(tc, test_lengths);
	tcase_add_test(tc, test_small_outbuf);
	tcase_add_test(tc, test_length_bound);
	tcase_add_test(tc, test_domain);
	tcase_add_test(tc, test_hidden);
	tcase_add_test(tc, test_valid);
	tcase_add_test(tc, test_utf8);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(addr_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
