/*
 * check_router_recog.c - unit tests of the router's reader of the
 * recognizer's result file (router_recog_parse, router/router_recog.c)
 *
 * The recognizer parses untrusted scans and may be compromised: whatever
 * it writes must either parse into a result that keeps the format's
 * promises (status, parts that cover the pages in order) or be refused.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "router_recog.h"
#include "rules.h"

#define HEAD "gatewayd-recognize 1\n"

static const struct {
	const char *in;
	int ok;			/* 1 parses, 0 refused */
	int status;		/* when ok */
	size_t nparts;		/* when ok */
} cases[] = {
	{ HEAD "status none\nreason no sheet\nend\n", 1, RULES_RECOG_NONE, 0 },
	{ HEAD "status unreadable\nreason broken PDF\nend\n", 1,
	    RULES_RECOG_UNREADABLE, 0 },
	{ HEAD "status sheets\npart directive AB12 1 1 3\nend\n", 1,
	    RULES_RECOG_SHEETS, 1 },
	{ HEAD "status sheets\npart none - 0 1 2\npart directive AB12 3 3 5\n"
	    "part separator AB12 6 6 6\npart directive CD34 7 7 9\nend\n", 1,
	    RULES_RECOG_SHEETS, 4 },
	/* the format itself */
	{ "", 0, 0, 0 },
	{ HEAD, 0, 0, 0 },
	{ "gatewayd-recognize 2\nstatus none\nend\n", 0, 0, 0 },
	{ HEAD "status none\nend", 0, 0, 0 },		/* last line unended */
	{ HEAD "status none\nend\nmore\n", 0, 0, 0 },	/* after end */
	{ HEAD "end\n", 0, 0, 0 },			/* no status */
	{ HEAD "status none\nstatus sheets\nend\n", 0, 0, 0 },
	{ HEAD "status maybe\nend\n", 0, 0, 0 },
	{ HEAD "status none\nfrobnicate 1\nend\n", 0, 0, 0 },
	{ HEAD "status none\nreason a\x01z\nend\n", 0, 0, 0 },
	{ HEAD "status none\nreason \xc3\xa4\nend\n", 0, 0, 0 },
	{ HEAD "status sheets\nend\n", 0, 0, 0 },	/* sheets without parts */
	{ HEAD "status none\npart directive AB12 1 1 1\nend\n", 0, 0, 0 },
	/* one part line */
	{ HEAD "status sheets\npart directive AB12 1 1\nend\n", 0, 0, 0 },
	{ HEAD "status sheets\npart directive AB12 1 1 3 4\nend\n", 0, 0, 0 },
	{ HEAD "status sheets\npart folder AB12 1 1 3\nend\n", 0, 0, 0 },
	{ HEAD "status sheets\npart directive - 1 1 3\nend\n", 0, 0, 0 },
	{ HEAD "status sheets\npart directive A/B 1 1 3\nend\n", 0, 0, 0 },
	{ HEAD "status sheets\npart directive AB12 1 1 -3\nend\n", 0, 0, 0 },
	{ HEAD "status sheets\npart directive AB12 1 1 3x\nend\n", 0, 0, 0 },
	{ HEAD "status sheets\npart directive AB12 1 1 100001\nend\n", 0, 0, 0 },
	{ HEAD "status sheets\npart directive AB12 0 1 3\nend\n", 0, 0, 0 },
	/* the pages the parts cover */
	{ HEAD "status sheets\npart directive AB12 2 2 3\nend\n", 0, 0, 0 },
	{ HEAD "status sheets\npart directive AB12 1 1 3\n"
	    "part directive CD34 5 5 6\nend\n", 0, 0, 0 },	/* gap */
	{ HEAD "status sheets\npart directive AB12 1 1 3\n"
	    "part directive CD34 3 3 6\nend\n", 0, 0, 0 },	/* overlap */
	{ HEAD "status sheets\npart directive AB12 1 1 3\n"
	    "part directive CD34 5 4 6\nend\n", 0, 0, 0 },	/* sheet not first */
	{ HEAD "status sheets\npart directive AB12 1 3 2\nend\n", 0, 0, 0 },
	{ HEAD "status sheets\npart none - 1 1 2\npart directive AB12 3 3 4\n"
	    "end\n", 0, 0, 0 },			/* a sheet page for none */
	{ HEAD "status sheets\npart directive AB12 1 1 2\npart none - 0 3 4\n"
	    "end\n", 0, 0, 0 },			/* none after a sheet */
};

START_TEST(test_parse)
{
	struct rules_recog out;
	char *text = strdup(cases[_i].in);
	int rc;

	ck_assert_ptr_nonnull(text);
	memset(&out, 0, sizeof(out));
	rc = router_recog_parse(text, &out);
	ck_assert_msg(rc == (cases[_i].ok ? 0 : -1), "case %d: %d", _i, rc);
	if (cases[_i].ok) {
		ck_assert_int_eq(out.status, cases[_i].status);
		ck_assert_uint_eq(out.nparts, cases[_i].nparts);
	}
	free(text);
}
END_TEST

/* the fields of a batch: kinds, IDs (a separator keeps the routing), pages */
START_TEST(test_fields)
{
	char text[] = HEAD "status sheets\nreason found 2\npart none - 0 1 2\n"
	    "part directive AB12 3 3 5\npart separator AB12 6 6 6\nend\n";
	struct rules_recog out;

	memset(&out, 0, sizeof(out));
	ck_assert_int_eq(router_recog_parse(text, &out), 0);
	ck_assert_str_eq(out.reason, "found 2");
	ck_assert_int_eq(out.parts[0].kind, RULES_PART_NONE);
	ck_assert_str_eq(out.parts[0].id, "");
	ck_assert_int_eq(out.parts[1].kind, RULES_PART_DIRECTIVE);
	ck_assert_str_eq(out.parts[1].id, "AB12");
	ck_assert_uint_eq(out.parts[1].sheet_page, 3);
	ck_assert_uint_eq(out.parts[1].last, 5);
	ck_assert_int_eq(out.parts[2].kind, RULES_PART_SEPARATOR);
	ck_assert_str_eq(out.parts[2].id, "AB12");
	ck_assert_uint_eq(out.parts[2].first, 6);
}
END_TEST

/* more parts than the table holds are refused, not truncated */
START_TEST(test_too_many)
{
	size_t cap = 64 + (RULES_RECOG_MAX_PARTS + 1) * 48, len;
	char *text = malloc(cap);
	struct rules_recog out;
	unsigned int i;

	ck_assert_ptr_nonnull(text);
	len = (size_t)snprintf(text, cap, HEAD "status sheets\n");
	for (i = 1; i <= RULES_RECOG_MAX_PARTS + 1; i++)
		len += (size_t)snprintf(text + len, cap - len,
		    "part directive AB12 %u %u %u\n", i, i, i);
	snprintf(text + len, cap - len, "end\n");
	memset(&out, 0, sizeof(out));
	ck_assert_int_eq(router_recog_parse(text, &out), -1);
	free(text);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("router_recog");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_loop_test(tc, test_parse, 0, sizeof(cases) / sizeof(cases[0]));
	tcase_add_test(tc, test_fields);
	tcase_add_test(tc, test_too_many);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
