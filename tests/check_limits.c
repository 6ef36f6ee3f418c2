/*
 * check_limits.c - unit tests of the client rate table (anvil.c) and of
 * the limits section of the configuration (rates, floor, exemptions)
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <check.h>

#include "anvil.h"
#include "cfg.h"

#define BASE "connectors:\n  - name: a\n    type: folder\n" \
	"    settings: { path: /tmp/x }\n"

/* load - BASE plus text; NULL with err */
static struct cfg *
load(const char *text, char *err, size_t errlen)
{
	char buf[2048];

	snprintf(buf, sizeof(buf), "%s%s", BASE, text);
	return cfg_load_buffer("t.yaml", buf, strlen(buf), err, errlen);
}

START_TEST(test_window)
{
	struct anvil *a = anvil_new(8);
	int i;

	for (i = 0; i < 3; i++)
		ck_assert_int_eq(anvil_hit(a, "192.0.2.1", ANVIL_MSG, 3, 60, 1000), 0);
	ck_assert_int_eq(anvil_hit(a, "192.0.2.1", ANVIL_MSG, 3, 60, 1059), 1);
	/* another kind and another address have their own counters */
	ck_assert_int_eq(anvil_hit(a, "192.0.2.1", ANVIL_RCPT, 3, 60, 1001), 0);
	ck_assert_int_eq(anvil_hit(a, "192.0.2.2", ANVIL_MSG, 3, 60, 1001), 0);
	/* the window passed: counting starts again */
	ck_assert_int_eq(anvil_hit(a, "192.0.2.1", ANVIL_MSG, 3, 60, 1060), 0);
	/* a clock set back starts a new window instead of blocking */
	ck_assert_int_eq(anvil_hit(a, "192.0.2.1", ANVIL_MSG, 1, 60, 10), 0);
	/* no limit: never refused */
	for (i = 0; i < 100; i++)
		ck_assert_int_eq(anvil_hit(a, "192.0.2.3", ANVIL_CONN, 0, 60, 1000), 0);
	anvil_free(a);
}
END_TEST

START_TEST(test_evict_oldest)
{
	struct anvil *a = anvil_new(4);
	char ip[32];
	int i;

	ck_assert_int_eq(anvil_hit(a, "198.51.100.1", ANVIL_CONN, 1, 60, 100), 0);
	ck_assert_int_eq(anvil_hit(a, "198.51.100.1", ANVIL_CONN, 1, 60, 100), 1);
	for (i = 2; i <= 4; i++) {
		snprintf(ip, sizeof(ip), "198.51.100.%d", i);
		ck_assert_int_eq(anvil_hit(a, ip, ANVIL_CONN, 1, 60, 100), 0);
	}
	ck_assert_uint_eq(anvil_count(a), 4);
	/* .1 is refused again, which makes it the most recently seen */
	ck_assert_int_eq(anvil_hit(a, "198.51.100.1", ANVIL_CONN, 1, 60, 100), 1);
	/* a fifth address evicts the oldest, .2; .1 is still remembered */
	ck_assert_int_eq(anvil_hit(a, "198.51.100.5", ANVIL_CONN, 1, 60, 100), 0);
	ck_assert_uint_eq(anvil_count(a), 4);
	ck_assert_int_eq(anvil_hit(a, "198.51.100.1", ANVIL_CONN, 1, 60, 100), 1);
	ck_assert_int_eq(anvil_hit(a, "198.51.100.2", ANVIL_CONN, 1, 60, 100), 0);
	/* many addresses through a small table: bounded, still consistent */
	for (i = 0; i < 10000; i++) {
		snprintf(ip, sizeof(ip), "10.%d.%d.%d", i >> 16, (i >> 8) & 255, i & 255);
		ck_assert_int_eq(anvil_hit(a, ip, ANVIL_RCPT, 2, 60, 100), 0);
		ck_assert_int_eq(anvil_hit(a, ip, ANVIL_RCPT, 2, 60, 100), 0);
		ck_assert_int_eq(anvil_hit(a, ip, ANVIL_RCPT, 2, 60, 100), 1);
	}
	ck_assert_uint_eq(anvil_count(a), 4);
	anvil_free(a);
}
END_TEST

START_TEST(test_cfg_limits)
{
	char err[CFG_ERRLEN];
	struct cfg *c;

	c = load("", err, sizeof(err));
	ck_assert_msg(c != NULL, "%s", err);
	ck_assert_uint_eq(c->limits.conn_rate.count, 0);
	ck_assert_int_eq(c->limits.exempt_relay, 1);
	ck_assert_uint_eq(c->limits.table_size, 10000);
	ck_assert_uint_eq(c->limits.spool_min_free, 0);
	cfg_free(c);
	c = load("limits:\n  conn_rate: 60/1m\n  msg_rate: 100/1h\n"
	    "  rcpt_rate: 5/30\n  exempt: [192.0.2.0/24]\n  exempt_relay: no\n"
	    "  table_size: 100\n  spool_min_free: 100M\n", err, sizeof(err));
	ck_assert_msg(c != NULL, "%s", err);
	ck_assert_uint_eq(c->limits.conn_rate.count, 60);
	ck_assert_int_eq(c->limits.conn_rate.window, 60);
	ck_assert_uint_eq(c->limits.msg_rate.count, 100);
	ck_assert_int_eq(c->limits.msg_rate.window, 3600);
	ck_assert_uint_eq(c->limits.rcpt_rate.count, 5);
	ck_assert_int_eq(c->limits.rcpt_rate.window, 30);
	ck_assert_uint_eq(c->limits.exempt.ncidr, 1);
	ck_assert_int_eq(c->limits.exempt_relay, 0);
	ck_assert_uint_eq(c->limits.table_size, 100);
	ck_assert_uint_eq(c->limits.spool_min_free, 100ULL << 20);
	cfg_free(c);
	c = load("limits:\n  spool_min_free: 5%\n  conn_rate: 0\n", err, sizeof(err));
	ck_assert_msg(c != NULL, "%s", err);
	ck_assert_uint_eq(c->limits.spool_min_free_pct, 5);
	ck_assert_uint_eq(c->limits.conn_rate.count, 0);
	cfg_free(c);
}
END_TEST

static const char *const bad_limits[] = {
	"limits:\n  conn_rate: 60\n",
	"limits:\n  conn_rate: /1m\n",
	"limits:\n  conn_rate: 60/\n",
	"limits:\n  conn_rate: 60/0\n",
	"limits:\n  conn_rate: 60/2d\n",
	"limits:\n  msg_rate: 0/1m\n",
	"limits:\n  rcpt_rate: x/1m\n",
	"limits:\n  rcpt_rate: 10/1m/2\n",
	"limits:\n  spool_min_free: 100%\n",
	"limits:\n  spool_min_free: 10 M\n",
	"limits:\n  spool_min_free: -1\n",
	"limits:\n  table_size: 1\n",
	"limits:\n  no_such_key: 1\n",
};

START_TEST(test_cfg_bad)
{
	char err[CFG_ERRLEN];
	struct cfg *c = load(bad_limits[_i], err, sizeof(err));

	ck_assert_msg(c == NULL, "accepted: %s", bad_limits[_i]);
	ck_assert_msg(strstr(err, "t.yaml:") != NULL, "%s", err);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("limits");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_window);
	tcase_add_test(tc, test_evict_oldest);
	tcase_add_test(tc, test_cfg_limits);
	tcase_add_loop_test(tc, test_cfg_bad, 0,
	    sizeof(bad_limits) / sizeof(bad_limits[0]));
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
