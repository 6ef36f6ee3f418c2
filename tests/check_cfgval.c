/*
 * check_cfgval.c - unit tests of the configuration value parsers (cfgval.c)
 *
 * One table per kind: the text, whether it parses, and the value.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "cfgval.h"

#define T_OK	1
#define T_BAD	0

static const struct {
	enum cfgval_kind kind;
	const char *in;
	int ok;
	unsigned long long want;
} cases[] = {
	{ CFGVAL_BOOL, "true", T_OK, 1 }, { CFGVAL_BOOL, "Yes", T_OK, 1 },
	{ CFGVAL_BOOL, "ON", T_OK, 1 }, { CFGVAL_BOOL, "false", T_OK, 0 },
	{ CFGVAL_BOOL, "no", T_OK, 0 }, { CFGVAL_BOOL, "Off", T_OK, 0 },
	{ CFGVAL_BOOL, "1", T_BAD, 0 }, { CFGVAL_BOOL, "", T_BAD, 0 },
	{ CFGVAL_BOOL, "truee", T_BAD, 0 }, { CFGVAL_BOOL, " yes", T_BAD, 0 },
	{ CFGVAL_COUNT, "0", T_OK, 0 }, { CFGVAL_COUNT, "10000", T_OK, 10000 },
	{ CFGVAL_COUNT, "18446744073709551615", T_OK, 18446744073709551615ULL },
	{ CFGVAL_COUNT, "18446744073709551616", T_BAD, 0 },
	{ CFGVAL_COUNT, "-1", T_BAD, 0 }, { CFGVAL_COUNT, "+1", T_BAD, 0 },
	{ CFGVAL_COUNT, "1k", T_BAD, 0 }, { CFGVAL_COUNT, "", T_BAD, 0 },
	{ CFGVAL_COUNT, "0x10", T_BAD, 0 }, { CFGVAL_COUNT, "1 ", T_BAD, 0 },
	{ CFGVAL_SIZE, "512", T_OK, 512 }, { CFGVAL_SIZE, "10k", T_OK, 10240 },
	{ CFGVAL_SIZE, "10M", T_OK, 10485760 },
	{ CFGVAL_SIZE, "2g", T_OK, 2147483648ULL },
	{ CFGVAL_SIZE, "1T", T_OK, 1099511627776ULL },
	{ CFGVAL_SIZE, "10X", T_BAD, 0 }, { CFGVAL_SIZE, "10MB", T_BAD, 0 },
	{ CFGVAL_SIZE, "M", T_BAD, 0 },
	{ CFGVAL_SIZE, "17179869184G", T_BAD, 0 },	/* overflows */
	{ CFGVAL_DURATION, "30", T_OK, 30 }, { CFGVAL_DURATION, "30s", T_OK, 30 },
	{ CFGVAL_DURATION, "5m", T_OK, 300 }, { CFGVAL_DURATION, "2h", T_OK, 7200 },
	{ CFGVAL_DURATION, "1d", T_OK, 86400 },
	{ CFGVAL_DURATION, "5w", T_BAD, 0 }, { CFGVAL_DURATION, "5M", T_BAD, 0 },
	{ CFGVAL_DURATION, "1h30m", T_BAD, 0 },
	{ CFGVAL_MODE, "0640", T_OK, 0640 }, { CFGVAL_MODE, "750", T_OK, 0750 },
	{ CFGVAL_MODE, "0", T_OK, 0 }, { CFGVAL_MODE, "0777", T_OK, 0777 },
	{ CFGVAL_MODE, "1777", T_BAD, 0 }, { CFGVAL_MODE, "0648", T_BAD, 0 },
	{ CFGVAL_MODE, "00640", T_BAD, 0 }, { CFGVAL_MODE, "", T_BAD, 0 },
	{ CFGVAL_MODE, "-640", T_BAD, 0 },
};

START_TEST(test_values)
{
	unsigned long long v = 12345;
	unsigned int m = 12345;
	int b = 7, r = -1;

	switch (cases[_i].kind) {
	case CFGVAL_BOOL:
		r = cfgval_bool(cases[_i].in, &b);
		v = r == 0 ? (unsigned long long)b : 12345;
		break;
	case CFGVAL_COUNT:
		r = cfgval_count(cases[_i].in, &v);
		break;
	case CFGVAL_SIZE:
		r = cfgval_size(cases[_i].in, &v);
		break;
	case CFGVAL_DURATION:
		r = cfgval_duration(cases[_i].in, &v);
		break;
	case CFGVAL_MODE:
		r = cfgval_mode(cases[_i].in, &m);
		v = r == 0 ? m : 12345;
		break;
	default:
		ck_abort();
	}
	ck_assert_msg(r == (cases[_i].ok ? 0 : -1), "\"%s\": %d", cases[_i].in, r);
	ck_assert_msg(cases[_i].ok ? v == cases[_i].want : v == 12345,
	    "\"%s\": %llu", cases[_i].in, v);
}
END_TEST

static const struct {
	const char *in, *host;		/* host NULL: refused */
	unsigned int port;
} hostports[] = {
	{ "mx.example.com", "mx.example.com", 0 },
	{ "mx.example.com:587", "mx.example.com", 587 },
	{ "192.0.2.1:25", "192.0.2.1", 25 },
	{ "2001:db8::1", "2001:db8::1", 0 },
	{ "[2001:db8::1]:2525", "2001:db8::1", 2525 },
	{ "[2001:db8::1]", "2001:db8::1", 0 },
	{ "relay_1.test:65535", "relay_1.test", 65535 },
	{ "host:0", NULL, 0 }, { "host:65536", NULL, 0 },
	{ "host:", NULL, 0 }, { ":25", NULL, 0 }, { "", NULL, 0 },
	{ "[2001:db8::1]25", NULL, 0 }, { "[2001:db8::1", NULL, 0 },
	{ "[]:25", NULL, 0 }, { "ho st:25", NULL, 0 }, { "host:+25", NULL, 0 },
	{ "host:25x", NULL, 0 }, { "h\xc3\xa9:25", NULL, 0 },
};

START_TEST(test_hostport)
{
	char host[64] = "untouched";
	unsigned int port = 99;
	int r = cfgval_hostport(hostports[_i].in, host, sizeof(host), &port);

	if (hostports[_i].host == NULL) {
		ck_assert_msg(r == -1, "\"%s\" accepted", hostports[_i].in);
		ck_assert_str_eq(host, "untouched");
		return;
	}
	ck_assert_msg(r == 0, "\"%s\" refused", hostports[_i].in);
	ck_assert_str_eq(host, hostports[_i].host);
	ck_assert_uint_eq(port, hostports[_i].port);
}
END_TEST

START_TEST(test_hostport_long)
{
	char host[8];
	unsigned int port;

	ck_assert_int_eq(cfgval_hostport("1234567", host, sizeof(host), &port), 0);
	ck_assert_int_eq(cfgval_hostport("12345678", host, sizeof(host), &port),
	    -1);
}
END_TEST

START_TEST(test_explain)
{
	char buf[256];

	cfgval_explain(CFGVAL_COUNT, 1, 10000, buf, sizeof(buf));
	ck_assert_str_eq(buf, "a number from 1 to 10000");
	cfgval_explain(CFGVAL_DURATION, 1, 3600, buf, sizeof(buf));
	ck_assert_str_eq(buf, "a time from 1s to 1h (seconds, or an integer "
	    "with an s, m, h or d suffix)");
	cfgval_explain(CFGVAL_DURATION, 0, 90, buf, sizeof(buf));
	ck_assert_ptr_nonnull(strstr(buf, "from 0s to 90s"));
	cfgval_explain(CFGVAL_SIZE, 512, 10485760, buf, sizeof(buf));
	ck_assert_ptr_nonnull(strstr(buf, "a size from 512 to 10M ("));
	cfgval_explain(CFGVAL_BOOL, 0, 0, buf, sizeof(buf));
	ck_assert_str_eq(buf, "true or false (true, false, yes, no, on or off)");
}
END_TEST

/* cfgval_suite - the cases */
static Suite *
cfgval_suite(void)
{
	Suite *s = suite_create("cfgval");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_values, 0,
	    (int)(sizeof(cases) / sizeof(cases[0])));
	tcase_add_loop_test(tc, test_hostport, 0,
	    (int)(sizeof(hostports) / sizeof(hostports[0])));
	tcase_add_test(tc, test_hostport_long);
	tcase_add_test(tc, test_explain);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(cfgval_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
