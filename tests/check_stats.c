/*
 * check_stats.c - unit tests of the counters and their strict wire form
 *
 * stats_decode() is what the master applies to IPC_RECV_STATS and
 * IPC_WORKER_STATS frames from a child: one malformed string, an unknown
 * key or a key given twice refuses the whole frame and adds nothing.
 * The ring of per-minute snapshots (stats_ring.h) is tested at the end.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <check.h>

#include "stats.h"
#include "stats_ring.h"

/* One string alone in a frame: accepted (with its value) or refused. */
static const struct {
	const char *str;
	int ok;
	const char *key;
	uint64_t value;
} one_cases[] = {
	{ "received=1", 1, "received", 1 },
	{ "connections=42", 1, "connections", 42 },
	{ "connections_refused=7", 1, "connections_refused", 7 },
	{ "delivered=0", 1, "delivered", 0 },
	{ "deferred=18446744073709551615", 1, "deferred", UINT64_MAX },
	{ "bounced=3", 1, "bounced", 3 },
	{ "reject.421=2", 1, "reject.421", 2 },
	{ "reject.550.5.7.1=5", 1, "reject.550.5.7.1", 5 },
	{ "reject.421.4.3.2=1", 1, "reject.421.4.3.2", 1 },
	{ "reject.554.5.123.456=1", 1, "reject.554.5.123.456", 1 },
	/* overflow */
	{ "deferred=18446744073709551616", 0, NULL, 0 },
	{ "deferred=99999999999999999999", 0, NULL, 0 },
	{ "deferred=184467440737095516150", 0, NULL, 0 },
	/* no '=' or no key or no value */
	{ "received", 0, NULL, 0 },
	{ "received1", 0, NULL, 0 },
	{ "=1", 0, NULL, 0 },
	{ "received=", 0, NULL, 0 },
	{ "", 0, NULL, 0 },
	/* not plain decimal */
	{ "received=-1", 0, NULL, 0 },
	{ "received=+1", 0, NULL, 0 },
	{ "received= 1", 0, NULL, 0 },
	{ "received=1 ", 0, NULL, 0 },
	{ "received=0x10", 0, NULL, 0 },
	{ "received=1e3", 0, NULL, 0 },
	{ "received=007", 0, NULL, 0 },
	{ "received=00", 0, NULL, 0 },
	{ "received=1=2", 0, NULL, 0 },
	/* keys: bad characters, unknown, malformed reject codes */
	{ "Received=1", 0, NULL, 0 },
	{ "rec eived=1", 0, NULL, 0 },
	{ "received\n=1", 0, NULL, 0 },
	{ "received =1", 0, NULL, 0 },
	{ "frobnicated=1", 0, NULL, 0 },
	{ "receivedx=1", 0, NULL, 0 },
	{ "reject=1", 0, NULL, 0 },
	{ "reject.=1", 0, NULL, 0 },
	{ "reject.250=1", 0, NULL, 0 },
	{ "reject.650=1", 0, NULL, 0 },
	{ "reject.55=1", 0, NULL, 0 },
	{ "reject.5500=1", 0, NULL, 0 },
	{ "reject.55x=1", 0, NULL, 0 },
	{ "reject.550.=1", 0, NULL, 0 },
	{ "reject.550.4.7.1=1", 0, NULL, 0 },
	{ "reject.550.5.7=1", 0, NULL, 0 },
	{ "reject.550.5.7.=1", 0, NULL, 0 },
	{ "reject.550.5..1=1", 0, NULL, 0 },
	{ "reject.550.5.7.1.2=1", 0, NULL, 0 },
	{ "reject.550.5.7.1234=1", 0, NULL, 0 },
	{ "reject.550.5.1234.1=1", 0, NULL, 0 },
	{ "reject.550.5.7.1x=1", 0, NULL, 0 },
	{ "reject.550x=1", 0, NULL, 0 },
	{ "xreject.550=1", 0, NULL, 0 },
	/* 64 bytes of key: one more than STATS_KEY_MAX - 1 */
	{ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa=1",
	  0, NULL, 0 },
};

/* test_one - each string alone */
START_TEST(test_one)
{
	const char *strv[1] = { one_cases[_i].str };
	struct stats st = { 0 };
	int r;

	errno = 0;
	r = stats_decode(strv, 1, &st);
	if (one_cases[_i].ok) {
		ck_assert_msg(r == 0, "refused %s", one_cases[_i].str);
		ck_assert_uint_eq(st.n, 1);
		ck_assert_str_eq(st.v[0].key, one_cases[_i].key);
		ck_assert_msg(st.v[0].value == one_cases[_i].value,
		    "%s: value %llu", one_cases[_i].str,
		    (unsigned long long)st.v[0].value);
	} else {
		ck_assert_msg(r == -1, "accepted '%s'", one_cases[_i].str);
		ck_assert_int_eq(errno, EINVAL);
		ck_assert_uint_eq(st.n, 0);
	}
	stats_clear(&st);
}
END_TEST

/* test_frame_atomic - one bad string in a frame: nothing is added */
START_TEST(test_frame_atomic)
{
	const char *good[] = { "received=2", "reject.550.5.7.1=1", "connections=3" };
	const char *bad[] = { "received=5", "connections=1", "received=x" };
	const char *unknown[] = { "received=5", "whatever=1" };
	struct stats st = { 0 };

	ck_assert_int_eq(stats_decode(good, 3, &st), 0);
	ck_assert_int_eq(stats_decode(bad, 3, &st), -1);
	ck_assert_int_eq(stats_decode(unknown, 2, &st), -1);
	ck_assert_uint_eq(stats_get(&st, "received"), 2);
	ck_assert_uint_eq(stats_get(&st, "connections"), 3);
	ck_assert_uint_eq(stats_get(&st, "reject.550.5.7.1"), 1);
	/* a second good frame adds to the totals */
	ck_assert_int_eq(stats_decode(good, 3, &st), 0);
	ck_assert_uint_eq(stats_get(&st, "received"), 4);
	ck_assert_uint_eq(stats_get(&st, "connections"), 6);
	ck_assert_uint_eq(st.n, 3);
	/* an empty frame is fine and adds nothing */
	ck_assert_int_eq(stats_decode(good, 0, &st), 0);
	ck_assert_uint_eq(stats_get(&st, "received"), 4);
	stats_clear(&st);
}
END_TEST

/* test_duplicate - the encoder sends a key once per frame */
START_TEST(test_duplicate)
{
	const char *dup[] = { "received=1", "delivered=1", "received=1" };
	const char *dup_reject[] = { "reject.421=1", "reject.421=2" };
	const char *prefix[] = { "reject.550=1", "reject.550.5.7.1=2",
	    "connections=1", "connections_refused=1" };
	struct stats st = { 0 };

	ck_assert_int_eq(stats_decode(dup, 3, &st), -1);
	ck_assert_int_eq(stats_decode(dup_reject, 2, &st), -1);
	ck_assert_uint_eq(st.n, 0);
	/* a key that is a prefix of another is not a duplicate */
	ck_assert_int_eq(stats_decode(prefix, 4, &st), 0);
	ck_assert_uint_eq(stats_get(&st, "reject.550"), 1);
	ck_assert_uint_eq(stats_get(&st, "reject.550.5.7.1"), 2);
	ck_assert_uint_eq(stats_get(&st, "connections_refused"), 1);
	stats_clear(&st);
}
END_TEST

/* test_saturate - totals stop at UINT64_MAX instead of wrapping */
START_TEST(test_saturate)
{
	const char *big[] = { "delivered=18446744073709551615" };
	const char *one[] = { "delivered=1" };
	struct stats st = { 0 };

	ck_assert_int_eq(stats_decode(one, 1, &st), 0);
	ck_assert_int_eq(stats_decode(big, 1, &st), 0);
	ck_assert(stats_get(&st, "delivered") == UINT64_MAX);
	ck_assert_int_eq(stats_decode(one, 1, &st), 0);
	ck_assert(stats_get(&st, "delivered") == UINT64_MAX);
	stats_clear(&st);
}
END_TEST

/* test_roundtrip - what stats_encode sends, stats_decode accepts */
START_TEST(test_roundtrip)
{
	struct stats child = { 0 }, master = { 0 };
	const char *strv[8];
	char buf[40];
	size_t n, total = 0;
	int frames = 0;

	ck_assert_int_eq(stats_add(&child, "received", 3), 0);
	ck_assert_int_eq(stats_add(&child, "reject.421.4.3.2", 2), 0);
	ck_assert_int_eq(stats_add(&child, "connections", 0), 0);
	ck_assert_int_eq(stats_add(&child, "connections_refused", 12345), 0);
	ck_assert_int_eq(stats_add(&child, "received", 1), 0);
	ck_assert_int_eq(stats_add(&child, "Bad Key", 1), -1);
	/* a small buffer: several frames, each decodable */
	while ((n = stats_encode(&child, buf, sizeof(buf), strv, 8)) > 0) {
		ck_assert_ptr_null(strv[n]);
		ck_assert_int_eq(stats_decode(strv, n, &master), 0);
		total += n;
		ck_assert_int_lt(++frames, 10);
	}
	ck_assert_uint_eq(total, 3);		/* zero counters are not sent */
	ck_assert_int_gt(frames, 1);
	ck_assert_uint_eq(stats_get(&master, "received"), 4);
	ck_assert_uint_eq(stats_get(&master, "reject.421.4.3.2"), 2);
	ck_assert_uint_eq(stats_get(&master, "connections_refused"), 12345);
	ck_assert_uint_eq(stats_get(&child, "received"), 0);	/* reset */
	stats_clear(&child);
	stats_clear(&master);
}
END_TEST

/* test_keys - stats_key_valid and stats_key_known */
START_TEST(test_keys)
{
	char key[STATS_KEY_MAX + 1];

	ck_assert(stats_key_valid("a.b_c9"));
	ck_assert(!stats_key_valid(""));
	ck_assert(!stats_key_valid(NULL));
	ck_assert(!stats_key_valid("a-b"));
	memset(key, 'a', STATS_KEY_MAX);
	key[STATS_KEY_MAX] = '\0';
	ck_assert(!stats_key_valid(key));
	key[STATS_KEY_MAX - 1] = '\0';		/* the longest key */
	ck_assert(stats_key_valid(key));
	ck_assert(!stats_key_known(key));
	ck_assert(stats_key_known("bounced"));
	ck_assert(stats_key_known("reject.452.4.3.1"));
	ck_assert(!stats_key_known("reject.452.5.3.1"));
}
END_TEST

#define RING_T0	1764999980	/* 20 s into a minute (a multiple of 60 + 20) */

/* test_ring_empty_current - no snapshot, no row; then one current row */
START_TEST(test_ring_empty_current)
{
	struct stats_ring r;
	struct stats_ring_row rows[STATS_RING_LEN];
	struct stats t = { NULL, 0, 0 };

	stats_ring_init(&r);
	ck_assert_uint_eq(stats_ring_rows(&r, &t, rows), 0);
	ck_assert_int_eq(stats_ring_push(&r, RING_T0, &t), 1);
	ck_assert_int_eq(stats_add(&t, "received", 3), 0);
	ck_assert_int_eq(stats_add(&t, "bounced", 1), 0);
	ck_assert_uint_eq(stats_ring_rows(&r, &t, rows), 1);
	ck_assert_int_eq(rows[0].current, 1);
	ck_assert_int_eq((long)rows[0].start, RING_T0 - 20);
	ck_assert_uint_eq(rows[0].d[0], 3);	/* received */
	ck_assert_uint_eq(rows[0].d[3], 1);	/* bounced */
	ck_assert_uint_eq(rows[0].d[1], 0);
	/* the same minute again: ignored, the snapshot at its start kept */
	ck_assert_int_eq(stats_ring_push(&r, RING_T0 + 39, &t), 0);
	ck_assert_uint_eq(stats_ring_rows(&r, &t, rows), 1);
	ck_assert_uint_eq(rows[0].d[0], 3);
	stats_clear(&t);
}
END_TEST

/* test_ring_minutes - deltas per minute, a missed minute, the bound */
START_TEST(test_ring_minutes)
{
	struct stats_ring r;
	struct stats_ring_row rows[STATS_RING_LEN];
	struct stats t = { NULL, 0, 0 };
	time_t now = RING_T0;
	size_t i, n;

	stats_ring_init(&r);
	ck_assert_int_eq(stats_ring_push(&r, now, &t), 1);
	ck_assert_int_eq(stats_add(&t, "delivered", 5), 0);
	ck_assert_int_eq(stats_ring_push(&r, now += 60, &t), 1);
	ck_assert_int_eq(stats_add(&t, "delivered", 2), 0);
	ck_assert_int_eq(stats_ring_push(&r, now += 180, &t), 1);
	n = stats_ring_rows(&r, &t, rows);
	ck_assert_uint_eq(n, 3);
	ck_assert_uint_eq(rows[0].d[1], 5);
	ck_assert_int_eq((long)rows[0].seconds, 60);
	ck_assert_uint_eq(rows[1].d[1], 2);
	ck_assert_int_eq((long)rows[1].seconds, 180);	/* a missed timer */
	ck_assert_int_eq(rows[2].current, 1);
	ck_assert_uint_eq(rows[2].d[1], 0);
	/* two hours of minutes: only the last STATS_RING_LEN kept */
	for (i = 0; i < 120; i++) {
		ck_assert_int_eq(stats_add(&t, "received", i), 0);
		ck_assert_int_eq(stats_ring_push(&r, now += 60, &t), 1);
	}
	n = stats_ring_rows(&r, &t, rows);
	ck_assert_uint_eq(n, STATS_RING_LEN);
	ck_assert_int_eq((long)rows[n - 1].start, (long)(now - 20));
	ck_assert_int_eq((long)rows[0].start,
	    (long)(now - 20 - 60 * (STATS_RING_LEN - 1)));
	/* row j is the minute after push 120 - 60 + j, which added that i */
	for (i = 0; i + 1 < n; i++) {
		ck_assert_uint_eq(rows[i].d[0], 120 - (STATS_RING_LEN - 1) + i);
		ck_assert_int_eq(rows[i].current, 0);
	}
	stats_clear(&t);
}
END_TEST

/* test_ring_clock_back - an older minute starts the ring again */
START_TEST(test_ring_clock_back)
{
	struct stats_ring r;
	struct stats_ring_row rows[STATS_RING_LEN];
	struct stats t = { NULL, 0, 0 };

	stats_ring_init(&r);
	ck_assert_int_eq(stats_ring_push(&r, RING_T0, &t), 1);
	ck_assert_int_eq(stats_ring_push(&r, RING_T0 + 60, &t), 1);
	ck_assert_int_eq(stats_add(&t, "deferred", 4), 0);
	ck_assert_int_eq(stats_ring_push(&r, RING_T0 - 3600, &t), 1);
	ck_assert_uint_eq(stats_ring_rows(&r, &t, rows), 1);
	ck_assert_int_eq((long)rows[0].start, RING_T0 - 3600 - 20);
	ck_assert_uint_eq(rows[0].d[2], 0);	/* counted before the reset */
	stats_clear(&t);
}
END_TEST

static Suite *
stats_suite(void)
{
	Suite *s = suite_create("stats");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_one, 0,
	    sizeof(one_cases) / sizeof(one_cases[0]));
	tcase_add_test(tc, test_frame_atomic);
	tcase_add_test(tc, test_duplicate);
	tcase_add_test(tc, test_saturate);
	tcase_add_test(tc, test_roundtrip);
	tcase_add_test(tc, test_keys);
	tcase_add_test(tc, test_ring_empty_current);
	tcase_add_test(tc, test_ring_minutes);
	tcase_add_test(tc, test_ring_clock_back);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(stats_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
