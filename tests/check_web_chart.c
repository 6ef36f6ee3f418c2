/*
 * check_web_chart.c - unit tests of the queue console's chart
 *
 * web_chart_history() reads "stats history --json" lines: only rows with
 * every number it needs are drawn, a line too long or malformed is
 * skipped, nothing of a line reaches the page but the numbers; a point is
 * drawn for each minute with messages, and the table has every row.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "web_chart.h"
#include "web_html.h"

#define ROW(t, cur, rcv, dlv, dfr, bnc) \
	"{\"time\":" #t ",\"minute\":\"x\",\"seconds\":60,\"current\":" \
	#cur ",\"received\":" #rcv ",\"delivered\":" #dlv ",\"deferred\":" \
	#dfr ",\"bounced\":" #bnc ",\"connections\":1," \
	"\"connections_refused\":0}\n"

/* count - occurrences of needle in the page */
static int
count(const char *page, const char *needle)
{
	const char *p = page;
	int n = 0;

	while ((p = strstr(p, needle)) != NULL) {
		n++;
		p += strlen(needle);
	}
	return n;
}

/* render - the chart of text as a NUL-terminated page; rows in *n */
static char *
render(const char *text, int *n)
{
	struct web_buf b = { 0 };
	size_t len;
	char *page;

	*n = web_chart_history(&b, text);
	web_buf_add(&b, "", 1);
	page = web_buf_take(&b, &len);
	ck_assert_ptr_nonnull(page);
	return page;
}

/* test_rows - three minutes, the last current */
START_TEST(test_rows)
{
	static const char text[] =
	    ROW(1796490000, false, 3, 2, 0, 0)
	    ROW(1796490060, false, 0, 1, 1, 0)
	    ROW(1796490120, true, 5, 0, 0, 2);
	char *page;
	int n;

	page = render(text, &n);
	ck_assert_int_eq(n, 3);
	ck_assert_ptr_nonnull(strstr(page, "<svg id=\"chart\" role=\"img\""));
	ck_assert_ptr_nonnull(strstr(page, "<title id=\"chart-title\">"));
	ck_assert_int_eq(count(page, "class=\"pt-accepted\""), 2);
	ck_assert_int_eq(count(page, "class=\"pt-delivered\""), 2);
	ck_assert_int_eq(count(page, "class=\"pt-deferred\""), 1);
	ck_assert_int_eq(count(page, "class=\"pt-bounced\""), 1);
	ck_assert_int_eq(count(page, "<polyline "), 4);
	ck_assert_int_eq(count(page, "<tr><th scope=\"row\">"), 3);
	ck_assert_int_eq(count(page, " (now)</th>"), 1);
	/* sums in the description; the axis tops at 5 */
	ck_assert_ptr_nonnull(strstr(page, "8 accepted, 3 delivered, "
	    "1 deferred, 2 bounced"));
	ck_assert_ptr_nonnull(strstr(page, ">5</text>"));
	/* the current minute at the right end of the axis */
	ck_assert_ptr_nonnull(strstr(page, "cx=\"466.0\" cy=\"16.0\""));
	free(page);
}
END_TEST

/* test_bad_lines - skipped, and nothing of them on the page */
START_TEST(test_bad_lines)
{
	char text[4096], long_line[WEB_CHART_LINE_MAX + 64];
	char *page;
	int n;

	memset(long_line, ' ', sizeof(long_line));
	memcpy(long_line, ROW(1796490000, false, 7, 0, 0, 0),
	    strlen(ROW(1796490000, false, 7, 0, 0, 0)) - 1);
	long_line[sizeof(long_line) - 1] = '\0';
	snprintf(text, sizeof(text), "%s\n%s%s%s%s%s",
	    long_line,
	    "{\"time\":1796490060,\"received\":1<script>,\"delivered\":0,"
	    "\"deferred\":0,\"bounced\":0}\n",
	    "{\"time\":1796490060,\"received\":-1,\"delivered\":0,"
	    "\"deferred\":0,\"bounced\":0}\n",
	    "{\"time\":1796490060,\"delivered\":0,\"deferred\":0,"
	    "\"bounced\":0}\n",
	    "not json at all <b>\n",
	    ROW(1796490120, true, 1, 1, 0, 0));
	page = render(text, &n);
	ck_assert_int_eq(n, 1);
	ck_assert_ptr_null(strstr(page, "<script"));
	ck_assert_ptr_null(strstr(page, "<b>"));
	ck_assert_int_eq(count(page, "class=\"pt-accepted\""), 1);
	free(page);
	page = render("", &n);
	ck_assert_int_eq(n, 0);
	ck_assert_ptr_nonnull(strstr(page, "id=\"chart-none\""));
	ck_assert_ptr_null(strstr(page, "<svg"));
	free(page);
}
END_TEST

/* test_many - more rows than the bound: the first WEB_CHART_MAX_ROWS */
START_TEST(test_many)
{
	size_t cap = (WEB_CHART_MAX_ROWS + 10) * 256, off = 0, i;
	char *text = malloc(cap), *page;
	int n;

	ck_assert_ptr_nonnull(text);
	for (i = 0; i < WEB_CHART_MAX_ROWS + 10; i++)
		off += (size_t)snprintf(text + off, cap - off, "{\"time\":%zu,"
		    "\"received\":1,\"delivered\":1,\"deferred\":0,"
		    "\"bounced\":0}\n", 1796490000 + 60 * i);
	page = render(text, &n);
	ck_assert_int_eq(n, WEB_CHART_MAX_ROWS);
	free(page);
	free(text);
}
END_TEST

static Suite *
chart_suite(void)
{
	Suite *s = suite_create("web_chart");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_rows);
	tcase_add_test(tc, test_bad_lines);
	tcase_add_test(tc, test_many);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(chart_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
