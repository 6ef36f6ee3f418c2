/*
 * check_router_wait.c - unit tests of the router's parked requests
 * (router_wait.h): copies, lookups by ID and type, the bound, taking all
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

/* suite - the router_wait tests */
static Suite *
router_wait_suite(void)
{
	Suite *s = suite_create("router_wait");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_copies);
	tcase_add_test(tc, test_bounds);
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
