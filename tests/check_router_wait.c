/*
 * check_router_wait.c - unit tests of the router's parked requests
 * (router_wait.h): copies, lookups by ID and type, the bound, taking all,
 * and an answer taking only the waiters of its key
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "ipc.h"
#include "router_wait.h"
#include "rules.h"

/* A parked request owns copies: the caller's buffers may change. */
START_TEST(test_copies)
{
	struct router_waits *l = router_wait_new();
	struct rules_recog rg;
	struct router_wait *w;
	char id[16], rcpt[32];
	const char *sv[6] = { id, rcpt, "from@x", "127.0.0.1", "", "smtp" };
	size_t n;

	snprintf(id, sizeof(id), "123-1");
	snprintf(rcpt, sizeof(rcpt), "a@example.test");
	memset(&rg, 0, sizeof(rg));
	rg.status = RULES_RECOG_NONE;
	snprintf(rg.reason, sizeof(rg.reason), "no sheet");
	ck_assert_int_eq(router_wait_add(l, IPC_RCPT_CHECK, sv, 6, NULL), 0);
	sv[0] = "0123456789ABCDEF";
	ck_assert_int_eq(router_wait_add(l, IPC_MSG_NEW, sv, 1, &rg), 0);
	snprintf(id, sizeof(id), "changed");
	snprintf(rcpt, sizeof(rcpt), "changed");
	rg.status = RULES_RECOG_SHEETS;
	ck_assert_uint_eq(router_wait_count(l), 2);
	ck_assert_int_eq(router_wait_has(l, IPC_RCPT_CHECK, "123-1"), 1);
	ck_assert_int_eq(router_wait_has(l, IPC_MSG_NEW, "123-1"), 0);
	ck_assert_int_eq(router_wait_has(l, IPC_MSG_NEW, "0123456789ABCDEF"), 1);
	ck_assert_int_eq(router_wait_has(l, IPC_DATA_CHECK, "0123456789ABCDEF"), 0);
	w = router_wait_take(l, &n);
	ck_assert_uint_eq(n, 2);
	ck_assert_uint_eq(router_wait_count(l), 0);
	ck_assert_int_eq(router_wait_has(l, IPC_RCPT_CHECK, "123-1"), 0);
	ck_assert_str_eq(w[0].sv[0], "123-1");
	ck_assert_str_eq(w[0].sv[1], "a@example.test");
	ck_assert_str_eq(w[0].sv[4], "");
	ck_assert_ptr_null(w[0].sv[6]);
	ck_assert_ptr_null(w[0].recog);
	ck_assert_ptr_null(w[1].sv[1]);
	ck_assert_ptr_nonnull(w[1].recog);
	ck_assert_int_eq(w[1].recog->status, RULES_RECOG_NONE);
	ck_assert_str_eq(w[1].recog->reason, "no sheet");
	router_wait_done(w, n);
	router_wait_free(l);
}
END_TEST

/* Past ROUTER_WAIT_MAX, or with too many strings, nothing is parked. */
START_TEST(test_bounds)
{
	struct router_waits *l = router_wait_new();
	const char *sv[8] = { "1-1", "a", "b", "c", "d", "e", "f", NULL };
	size_t i;

	ck_assert_int_eq(router_wait_add(l, IPC_RCPT_CHECK, sv, 7, NULL), -1);
	for (i = 0; i < ROUTER_WAIT_MAX; i++)
		ck_assert_int_eq(router_wait_add(l, IPC_DATA_CHECK, sv, 2,
		    NULL), 0);
	ck_assert_int_eq(router_wait_add(l, IPC_DATA_CHECK, sv, 2, NULL), -1);
	ck_assert_uint_eq(router_wait_count(l), ROUTER_WAIT_MAX);
	router_wait_free(l);	/* frees what it still holds */
}
END_TEST

/* Two tables: only their addresses matter (the keys' identity). */
static const int table_a, table_b;

/* park - park request id (type DATA) on the keys asked meanwhile */
static void
park(struct router_waits *l, unsigned id, const char *const *keys,
    const void *const *tables, size_t nkeys)
{
	char ids[16];
	const char *sv[2] = { ids, "q" };
	size_t i;

	snprintf(ids, sizeof(ids), "%u", id);
	router_wait_begin(l);
	for (i = 0; i < nkeys; i++)
		router_wait_asked(l, tables[i], keys[i]);
	ck_assert_int_eq(router_wait_add(l, IPC_DATA_CHECK, sv, 2, NULL), 0);
}

/* land - one answer; the ids taken, each checked against want[] and seen[] */
static size_t
land(struct router_waits *l, const void *table, const char *key,
    const unsigned char *want, unsigned char *seen)
{
	struct router_wait *w;
	size_t n, i;
	unsigned id;

	router_wait_landed(l, table, key);
	w = router_wait_take_landed(l, &n);
	for (i = 0; i < n; i++) {
		id = (unsigned)strtoul(w[i].sv[0], NULL, 10);
		ck_assert_msg(id < ROUTER_WAIT_MAX && want[id], "request %u does "
		    "not wait for %s", id, key);
		ck_assert_msg(!seen[id], "request %u taken twice", id);
		seen[id] = 1;
	}
	router_wait_done(w, n);
	return n;
}

/*
 * An answer takes the waiters of its key only: ROUTER_WAIT_MAX requests
 * on 64 keys of table A, every 16th also on one key of table B.  Each
 * answer's reruns are its key's waiters still parked (never more), each
 * request is rerun once, and the total is ROUTER_WAIT_MAX, where taking
 * every parked request per answer would have rerun 130,816.
 */
START_TEST(test_keyed_wake)
{
	static unsigned char waits[ROUTER_WAIT_MAX], seen[ROUTER_WAIT_MAX];
	struct router_waits *l = router_wait_new();
	const void *tables[2] = { &table_a, &table_b };
	const char *keys[2];
	char key[16];
	size_t i, j, n, total = 0, expect, old = 0;

	memset(seen, 0, sizeof(seen));
	for (i = 0; i < ROUTER_WAIT_MAX; i++) {
		snprintf(key, sizeof(key), "k%zu", i % 64);
		keys[0] = key;
		keys[1] = "k0";	/* the same name, another table */
		park(l, (unsigned)i, keys, tables, i % 16 == 0 ? 2 : 1);
	}
	ck_assert_uint_eq(router_wait_count(l), ROUTER_WAIT_MAX);
	for (i = 0; i < ROUTER_WAIT_MAX; i++)
		waits[i] = i % 16 == 0;
	old += router_wait_count(l);
	n = land(l, &table_b, "k0", waits, seen);
	ck_assert_uint_eq(n, ROUTER_WAIT_MAX / 16);
	total += n;
	for (j = 0; j < 64; j++) {
		expect = 0;
		for (i = 0; i < ROUTER_WAIT_MAX; i++) {
			waits[i] = i % 64 == j;
			expect += waits[i] && !seen[i];
		}
		old += router_wait_count(l);
		snprintf(key, sizeof(key), "k%zu", j);
		n = land(l, &table_a, key, waits, seen);
		ck_assert_uint_eq(n, expect);	/* its waiters, no other */
		ck_assert_uint_le(n, ROUTER_WAIT_MAX / 64);
		total += n;
	}
	ck_assert_uint_eq(total, ROUTER_WAIT_MAX);	/* once each */
	ck_assert_uint_eq(old, 130816);	/* 32 times as many */
	ck_assert_uint_eq(router_wait_count(l), 0);
	n = land(l, &table_a, "k1", waits, seen);	/* no waiter left */
	ck_assert_uint_eq(n, 0);
	router_wait_free(l);
}
END_TEST

/*
 * A request taken by one of its keys and parked again (same slot) on its
 * other key is taken once by that key, not again through its stale
 * reference; a request without keys goes with any answer; an answer
 * nobody waits for takes nothing else.
 */
START_TEST(test_repark_keyless)
{
	static unsigned char all[ROUTER_WAIT_MAX], seen[ROUTER_WAIT_MAX];
	struct router_waits *l = router_wait_new();
	const void *tables[2] = { &table_a, &table_a };
	const char *keys[2] = { "a", "b" };
	const char *sv[2] = { "7", "q" };

	memset(all, 1, sizeof(all));
	park(l, 1, keys, tables, 2);
	ck_assert_uint_eq(land(l, &table_a, "a", all, seen), 1);
	park(l, 1, keys + 1, tables, 1);	/* still waits for b */
	memset(seen, 0, sizeof(seen));
	ck_assert_uint_eq(land(l, &table_a, "b", all, seen), 1);
	ck_assert_uint_eq(router_wait_count(l), 0);
	router_wait_begin(l);
	ck_assert_int_eq(router_wait_add(l, IPC_MSG_NEW, sv, 1, NULL), 0);
	park(l, 2, keys, tables, 1);
	memset(seen, 0, sizeof(seen));
	ck_assert_uint_eq(land(l, &table_a, "nobody", all, seen), 1);
	ck_assert_int_eq(seen[7], 1);		/* the keyless one */
	ck_assert_int_eq(router_wait_has(l, IPC_DATA_CHECK, "2"), 1);
	router_wait_free(l);	/* frees the one still parked */
}
END_TEST

/*
 * Past ROUTER_WAIT_KEYS keys a request is parked on the first ones (it
 * parks again on the rest once woken); past ROUTER_WAIT_LANDED_MAX
 * answers between two runs every request is taken.
 */
START_TEST(test_key_bounds)
{
	static unsigned char all[ROUTER_WAIT_MAX], seen[ROUTER_WAIT_MAX];
	struct router_waits *l = router_wait_new();
	const void *tables[ROUTER_WAIT_KEYS + 2];
	const char *keys[ROUTER_WAIT_KEYS + 2];
	char names[ROUTER_WAIT_KEYS + 2][8], key[16];
	struct router_wait *w;
	size_t i, n;

	memset(all, 1, sizeof(all));
	for (i = 0; i < ROUTER_WAIT_KEYS + 2; i++) {
		snprintf(names[i], sizeof(names[i]), "n%zu", i);
		keys[i] = names[i];
		tables[i] = &table_a;
	}
	park(l, 1, keys, tables, ROUTER_WAIT_KEYS + 2);
	ck_assert_uint_eq(land(l, &table_a, names[ROUTER_WAIT_KEYS + 1], all,
	    seen), 0);
	ck_assert_uint_eq(land(l, &table_a, names[ROUTER_WAIT_KEYS - 1], all,
	    seen), 1);
	park(l, 2, keys, tables, 1);
	park(l, 3, keys + 1, tables, 1);
	for (i = 0; i <= ROUTER_WAIT_LANDED_MAX; i++) {
		snprintf(key, sizeof(key), "z%zu", i);
		router_wait_landed(l, &table_b, key);
	}
	w = router_wait_take_landed(l, &n);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(w[0].sv[0], "2");	/* parking order */
	ck_assert_str_eq(w[1].sv[0], "3");
	router_wait_done(w, n);
	w = router_wait_take_landed(l, &n);	/* nothing landed since */
	ck_assert_uint_eq(n, 0);
	router_wait_done(w, n);
	router_wait_free(l);
}
END_TEST

/* suite - the router_wait tests */
static Suite *
router_wait_suite(void)
{
	Suite *s = suite_create("router_wait");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_copies);
	tcase_add_test(tc, test_bounds);
	tcase_add_test(tc, test_keyed_wake);
	tcase_add_test(tc, test_repark_keyless);
	tcase_add_test(tc, test_key_bounds);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(router_wait_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
