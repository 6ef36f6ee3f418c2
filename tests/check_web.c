/*
 * check_web.c - unit tests of what the webdav and http connectors parse
 * and map (connectors/web_parse.c, compiled in alone): URL checks and
 * joins, auth files, status lines, server text, the HTTP status mapping
 *
 * Table-driven: each case is an input and the exact output or error
 * expected.  The connectors themselves are tested end to end by
 * e2e_webdav.py (nginx) and e2e_http.py (a multipart receiver).
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The module under test, compiled here (no libcurl calls, no gw_*). */
#include "../connectors/web_parse.c"

static const struct {
	const char *url;
	int allow_query;
	const char *err;	/* NULL: accepted; else a part of the reason */
} url_cases[] = {
	{ "http://127.0.0.1:8080/dav/", 0, NULL },
	{ "https://cloud.example.org/remote.php/dav/files/u/Scans", 0, NULL },
	{ "https://h/api/post?token=1", 1, NULL },
	{ "https://h/api/post?token=1", 0, "query" },
	{ "ftp://h/x", 0, "http://" },
	{ "http:///x", 0, "no host" },
	{ "http://", 0, "no host" },
	{ "https://user:pw@h/x", 0, "auth_file" },
	{ "https://h/x@y", 0, NULL },		/* '@' in the path is fine */
	{ "https://h/a b", 0, "space" },
	{ "https://h/a\r\nHost: evil", 0, "control" },
	{ "https://h/\xc3\xa4", 0, "non-ASCII" },
	{ "https://h/x#frag", 1, "fragment" },
};

/* url checks: accepted or refused with the reason */
START_TEST(test_url_check)
{
	char err[256];
	int r;

	err[0] = '\0';
	r = web_url_check(url_cases[_i].url, url_cases[_i].allow_query, err,
	    sizeof(err));
	if (url_cases[_i].err == NULL)
		ck_assert_msg(r == 0, "%s refused: %s", url_cases[_i].url, err);
	else
		ck_assert_msg(r == -1 && strstr(err, url_cases[_i].err) != NULL,
		    "%s: r=%d err=%s", url_cases[_i].url, r, err);
}
END_TEST

static const struct {
	const char *base, *dir, *name;
	int collection;
	const char *want;	/* NULL: does not fit */
} join_cases[] = {
	{ "http://h/dav/", "a/b", "x.pdf", 0, "http://h/dav/a/b/x.pdf" },
	{ "http://h/dav", "a/b", "x.pdf", 0, "http://h/dav/a/b/x.pdf" },
	{ "http://h/dav/", "", "Scan 2025.pdf", 0, "http://h/dav/Scan%202025.pdf" },
	{ "http://h/dav/", NULL, "J\xc3\xb6rg #1?%.tif", 0,
	    "http://h/dav/J%C3%B6rg%20%231%3F%25.tif" },
	{ "http://h/dav/", "deep/er", NULL, 1, "http://h/dav/deep/er/" },
	{ "http://h/dav/", "", NULL, 1, "http://h/dav/" },
	{ "http://h/", "a~b-c_d", "e", 0, "http://h/a~b-c_d/e" },
	{ "http://h/dav/", "x", "0123456789012345678901234567890123456789"
	    "0123456789", 0, NULL },
	{ "http://h/dav/", "x", "\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a"
	    "\x0b\x0c\x0d\x0e\x0f\x10\x11\x12\x13\x14", 0, NULL },
};

/* joins: encoded segments, one '/' between them, bounded */
START_TEST(test_url_join)
{
	char out[64];
	int r;

	r = web_url_join(join_cases[_i].base, join_cases[_i].dir,
	    join_cases[_i].name, join_cases[_i].collection, out, sizeof(out));
	if (join_cases[_i].want == NULL)
		ck_assert_int_eq(r, -1);
	else {
		ck_assert_int_eq(r, 0);
		ck_assert_str_eq(out, join_cases[_i].want);
	}
}
END_TEST

static const struct {
	enum web_auth auth;
	const char *in;
	const char *want;	/* the secret, or NULL: refused */
} secret_cases[] = {
	{ WEB_AUTH_BASIC, "scanner:s3cret\n", "scanner:s3cret" },
	{ WEB_AUTH_BASIC, "scanner:s3:cr et\r\n", "scanner:s3:cr et" },
	{ WEB_AUTH_BASIC, "scanner:", "scanner:" },
	{ WEB_AUTH_BASIC, ":pw\n", NULL },
	{ WEB_AUTH_BASIC, "nopassword\n", NULL },
	{ WEB_AUTH_BASIC, "a:b\nc:d\n", NULL },
	{ WEB_AUTH_BASIC, "\n", NULL },
	{ WEB_AUTH_BASIC, "", NULL },
	{ WEB_AUTH_BEARER, "0123abcd\n", "0123abcd" },
	{ WEB_AUTH_BEARER, "Bearer 0123abcd\n", NULL },
	{ WEB_AUTH_BEARER, "tok\ten\n", NULL },
	{ WEB_AUTH_BEARER, "tok\x7f\n", NULL },
};

/* auth files: one line, no controls, the shape of the scheme */
START_TEST(test_secret)
{
	char buf[128], err[256];
	size_t len = strlen(secret_cases[_i].in);
	int r;

	memcpy(buf, secret_cases[_i].in, len + 1);
	r = web_secret_parse(secret_cases[_i].auth, buf, &len, err,
	    sizeof(err));
	if (secret_cases[_i].want == NULL)
		ck_assert_msg(r == -1, "%s accepted", secret_cases[_i].in);
	else {
		ck_assert_msg(r == 0, "%s: %s", secret_cases[_i].in, err);
		ck_assert_str_eq(buf, secret_cases[_i].want);
		ck_assert_uint_eq(len, strlen(secret_cases[_i].want));
	}
}
END_TEST

static const struct {
	const char *line;
	int is_status;
	const char *want;
} status_cases[] = {
	{ "HTTP/1.1 403 Forbidden\r\n", 1, "HTTP/1.1 403 Forbidden" },
	{ "HTTP/2 201 \r\n", 1, "HTTP/2 201" },
	{ "HTTP/1.1 400 Bad\x1b[31m \x80Request\r\n", 1,
	    "HTTP/1.1 400 Bad [31m Request" },
	{ "Content-Type: text/plain\r\n", 0, "" },
	{ "HTTP/1\r\n", 0, "" },
	{ "HTTP/1.1 20\r\n", 0, "" },
	{ "HTTP/1.1x200 OK\r\n", 0, "" },
	{ "\r\n", 0, "" },
};

/* status lines: recognised, cleaned to printable ASCII */
START_TEST(test_status_line)
{
	char out[WEB_STATUS_MAX] = "";
	const char *l = status_cases[_i].line;

	ck_assert_int_eq(web_status_line(l, strlen(l), out, sizeof(out)),
	    status_cases[_i].is_status);
	ck_assert_str_eq(out, status_cases[_i].want);
}
END_TEST

/* server text: runs of space and controls as one space, trimmed, bounded */
START_TEST(test_clean_text)
{
	char out[16];

	web_clean_text("  {\"document\":\n [\"bad\"]}\r\n", 28, out,
	    sizeof(out));
	ck_assert_str_eq(out, "{\"document\": [\"");
	web_clean_text("a\0b", 3, out, sizeof(out));
	ck_assert_str_eq(out, "a");
	web_clean_text("\x01\x02", 2, out, sizeof(out));
	ck_assert_str_eq(out, "");
}
END_TEST

static const struct {
	long code;
	enum gw_result result;
	int smtp;
	const char *status;
} map_cases[] = {
	{ 200, GW_RESULT_OK, 250, "2.0.0" },
	{ 201, GW_RESULT_OK, 250, "2.0.0" },
	{ 204, GW_RESULT_OK, 250, "2.0.0" },
	{ 301, GW_RESULT_TEMPFAIL, 451, "4.3.0" },
	{ 400, GW_RESULT_PERMFAIL, 550, "5.0.0" },
	{ 401, GW_RESULT_PERMFAIL, 550, "5.7.1" },
	{ 403, GW_RESULT_PERMFAIL, 550, "5.7.1" },
	{ 404, GW_RESULT_PERMFAIL, 550, "5.0.0" },
	{ 408, GW_RESULT_TEMPFAIL, 451, "4.3.0" },
	{ 413, GW_RESULT_PERMFAIL, 552, "5.3.4" },
	{ 415, GW_RESULT_PERMFAIL, 554, "5.6.1" },
	{ 429, GW_RESULT_TEMPFAIL, 451, "4.3.0" },
	{ 500, GW_RESULT_TEMPFAIL, 451, "4.3.0" },
	{ 503, GW_RESULT_TEMPFAIL, 451, "4.3.0" },
	{ 100, GW_RESULT_TEMPFAIL, 451, "4.3.0" },
	{ 999, GW_RESULT_TEMPFAIL, 451, "4.3.0" },
};

/* status mapping: 2xx ok, 4xx bounce but 408/429, the rest defer */
START_TEST(test_map)
{
	struct web_result res;

	memset(&res, 0, sizeof(res));
	web_map_status(map_cases[_i].code, &res);
	ck_assert_int_eq(res.result, map_cases[_i].result);
	ck_assert_int_eq(res.code, map_cases[_i].smtp);
	ck_assert_str_eq(res.status, map_cases[_i].status);
}
END_TEST

#define N(a)	((int)(sizeof(a) / sizeof((a)[0])))

/* web_suite - every table */
static Suite *
web_suite(void)
{
	Suite *s = suite_create("web");
	TCase *tc = tcase_create("parse");

	tcase_add_loop_test(tc, test_url_check, 0, N(url_cases));
	tcase_add_loop_test(tc, test_url_join, 0, N(join_cases));
	tcase_add_loop_test(tc, test_secret, 0, N(secret_cases));
	tcase_add_loop_test(tc, test_status_line, 0, N(status_cases));
	tcase_add_test(tc, test_clean_text);
	tcase_add_loop_test(tc, test_map, 0, N(map_cases));
	suite_add_tcase(s, tc);
	return s;
}

/* main - run the suite; non-zero exit on failure */
int
main(void)
{
	SRunner *sr = srunner_create(web_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
