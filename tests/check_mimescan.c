/*
 * check_mimescan.c - unit tests of the MIME structure scanner (mimescan.c)
 *
 * Golden cases: a message and the trace of what the scanner says of each
 * of its lines (H header, E end of a header, B body, O outside of parts,
 * +k a part of level k opens, -k level k closes), for well-formed and
 * malformed structures; then the limits, lines in pieces, and the header
 * value parsers.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "mimescan.h"

/* trace - feed msg line by line (LF or CRLF ends), the trace into out */
static void
trace(struct mimescan *s, const char *msg, char *out, size_t outlen)
{
	const char *p = msg, *nl;
	size_t n, len = 0;
	enum mimescan_what w;

	out[0] = '\0';
	while (*p != '\0') {
		nl = strchr(p, '\n');
		n = nl != NULL ? (size_t)(nl - p) : strlen(p);
		if (n > 0 && p[n - 1] == '\r')
			n--;
		w = mimescan_line(s, p, n, 1, 1);
		if (w == MIMESCAN_OPEN || w == MIMESCAN_CLOSE)
			len += (size_t)snprintf(out + len, outlen - len, "%s%c%d",
			    len ? " " : "", w == MIMESCAN_OPEN ? '+' : '-',
			    s->level);
		else
			len += (size_t)snprintf(out + len, outlen - len, "%s%c",
			    len ? " " : "", "HEBO"[w]);
		ck_assert_uint_lt(len, outlen);
		p = nl != NULL ? nl + 1 : p + strlen(p);
	}
}

static const struct {
	const char *msg, *trace;
	int flags;
} golden[] = {
	/* not MIME */
	{ "Subject: x\r\n\r\nbody\r\n--b\r\n", "H E B B", 0 },
	/* one level, preamble and epilogue */
	{ "Content-Type: multipart/mixed; boundary=\"b\"\n\npre\n--b\n"
	  "Content-Type: text/plain\n\nhello\n--b--\nepi\n",
	  "H E O +0 H E B -0 O", 0 },
	/* an outer delimiter closes the inner level */
	{ "Content-Type: multipart/mixed; boundary=o\n\n--o\n"
	  "Content-Type: multipart/alternative; boundary=i\n\n--i\n\nx\n"
	  "--o--\n", "H E +0 H E +1 E B -0", 0 },
	/* only "--" boundary ["--"] then white space is a delimiter */
	{ "Content-Type: multipart/mixed; boundary=b\n\n--b \t\n\n--bX\n"
	  "--b--x\n- -b\n--b-- \n", "H E +0 E B B B -0", 0 },
	/* a folded Content-Type, a comment, a quoted boundary */
	{ "Content-Type: multipart/mixed (a comment);\n"
	  "\tboundary=\"a b\\\"c\"\n\n--a b\"c\n\nx\n--a b\"c--\n",
	  "H H E +0 E B -0", 0 },
	/* no boundary, an empty one, one too long: opaque */
	{ "Content-Type: multipart/mixed\n\n--x\n", "H E B", 0 },
	{ "Content-Type: multipart/mixed; boundary=\"\"\n\n--\n", "H E B", 0 },
	/* the last Content-Type counts */
	{ "Content-Type: multipart/mixed; boundary=a\n"
	  "Content-Type: text/plain\n\n--a\n", "H H E B", 0 },
	/* a delimiter ends a part's header */
	{ "Content-Type: multipart/mixed; boundary=z\n\n--z\nX-A: 1\n--z\n"
	  "\nbody\n--z--\n", "H E +0 H +0 E B -0", 0 },
	/* an attached message: a body, or opened */
	{ "Content-Type: multipart/mixed; boundary=z\n\n--z\n"
	  "Content-Type: message/rfc822\n\nContent-Type: multipart/mixed; "
	  "boundary=y\n\n--y\n\nx\n--y--\n--z--\n",
	  "H E +0 H E B B B B B B -0", 0 },
	{ "Content-Type: multipart/mixed; boundary=z\n\n--z\n"
	  "Content-Type: message/rfc822\n\nContent-Type: multipart/mixed; "
	  "boundary=y\n\n--y\n\nx\n--y--\n--z--\n",
	  "H E +0 H E H E +1 E B -1 -0", MIMESCAN_MESSAGES },
	/* a digest's parts are messages by default */
	{ "Content-Type: multipart/digest; boundary=d\n\n--d\n\nSubject: s\n"
	  "\nx\n--d--\n", "H E +0 E H E B -0", MIMESCAN_MESSAGES },
	/* unterminated: the scan just ends */
	{ "Content-Type: multipart/mixed; boundary=u\n\n--u\n\nx",
	  "H E +0 E B", 0 },
};

START_TEST(test_golden)
{
	struct mimescan *s = malloc(sizeof(*s));
	char out[512];

	ck_assert_ptr_nonnull(s);
	mimescan_init(s, 8, 0, 8, golden[_i].flags);
	trace(s, golden[_i].msg, out, sizeof(out));
	ck_assert_msg(strcmp(out, golden[_i].trace) == 0,
	    "case %d: got \"%s\", want \"%s\"", _i, out, golden[_i].trace);
	ck_assert_ptr_null(s->why);
	free(s);
}
END_TEST

/* nested - a message of n multiparts, one inside the other */
static char *
nested(int n)
{
	size_t cap = (size_t)n * 80 + 64, len = 0;
	char *m = malloc(cap);
	int i;

	ck_assert_ptr_nonnull(m);
	for (i = 0; i < n; i++)
		len += (size_t)snprintf(m + len, cap - len, "Content-Type: "
		    "multipart/mixed; boundary=b%d\n\n--b%d\n", i, i);
	snprintf(m + len, cap - len, "\nx\n");
	return m;
}

START_TEST(test_depth)
{
	struct mimescan *s = malloc(sizeof(*s));
	char out[4096], *m = nested(4);

	mimescan_init(s, 3, 0, 0, 0);
	trace(s, m, out, sizeof(out));
	ck_assert_str_eq(s->why, "multiparts nested too deep");
	ck_assert_uint_eq(s->depth, 3);
	ck_assert_str_eq(out, "H E +0 H E +1 H E +2 H E B B B");
	free(m);
	/* the compiled cap holds whatever the caller asks */
	m = nested(MIMESCAN_DEPTH + 5);
	mimescan_init(s, 100000, 0, 0, 0);
	trace(s, m, out, sizeof(out));
	ck_assert_uint_eq(s->depth, MIMESCAN_DEPTH);
	ck_assert_str_eq(s->why, "multiparts nested too deep");
	free(m);
	free(s);
}
END_TEST

START_TEST(test_parts_messages)
{
	struct mimescan *s = malloc(sizeof(*s));
	char out[512];

	mimescan_init(s, 8, 2, 0, 0);
	trace(s, "Content-Type: multipart/mixed; boundary=p\n\n--p\n\n--p\n\n"
	    "--p\n\n", out, sizeof(out));
	ck_assert_str_eq(out, "H E +0 E +0 E +0 E");
	ck_assert_uint_eq(s->parts, 3);
	ck_assert_str_eq(s->why, "too many parts");
	mimescan_init(s, 8, 0, 2, MIMESCAN_MESSAGES);
	trace(s, "Content-Type: message/rfc822\n\nContent-Type: message/rfc822"
	    "\n\nContent-Type: message/rfc822\n\nx\n", out, sizeof(out));
	ck_assert_str_eq(out, "H E H E H E B");
	ck_assert_str_eq(s->why, "too many attached messages");
	/* no part limit: counted only */
	mimescan_init(s, 8, 0, 0, 0);
	trace(s, "Content-Type: multipart/mixed; boundary=p\n\n--p\n\n--p\n\n",
	    out, sizeof(out));
	ck_assert_uint_eq(s->parts, 2);
	ck_assert_ptr_null(s->why);
	free(s);
}
END_TEST

START_TEST(test_ctype)
{
	struct mimescan *s = malloc(sizeof(*s));
	char out[512], b[MIMESCAN_BOUNDARY + 2], *m;
	size_t n = sizeof(b) + 64;

	/* what HEADER_END says */
	mimescan_init(s, 8, 0, 0, 0);
	trace(s, "Content-Type: Text/HTML; charset=utf-8\n\n", out, sizeof(out));
	ck_assert_str_eq(s->ct.type, "text");
	ck_assert_str_eq(s->ct.subtype, "html");
	ck_assert_int_eq(s->multipart, 0);
	mimescan_init(s, 8, 0, 0, 0);
	trace(s, "Subject: none\n\n", out, sizeof(out));
	ck_assert_str_eq(s->ct.type, "text");
	ck_assert_str_eq(s->ct.subtype, "plain");
	mimescan_init(s, 8, 0, 0, 0);
	trace(s, "Content-Type: garbage\n\n", out, sizeof(out));
	ck_assert_str_eq(s->ct.type, "");
	/* a boundary of 201 octets is not one; of 200 it is */
	memset(b, 'q', sizeof(b) - 1);
	b[MIMESCAN_BOUNDARY + 1] = '\0';
	m = malloc(n * 2);
	snprintf(m, n * 2, "Content-Type: multipart/mixed; boundary=%s\n\n--%s\n",
	    b, b);
	mimescan_init(s, 8, 0, 0, 0);
	trace(s, m, out, sizeof(out));
	ck_assert_str_eq(out, "H E B");
	b[MIMESCAN_BOUNDARY] = '\0';
	snprintf(m, n * 2, "Content-Type: multipart/mixed; boundary=%s\n\n--%s\n",
	    b, b);
	mimescan_init(s, 8, 0, 0, 0);
	trace(s, m, out, sizeof(out));
	ck_assert_str_eq(out, "H E +0");
	free(m);
	free(s);
}
END_TEST

START_TEST(test_pieces)
{
	struct mimescan *s = malloc(sizeof(*s));
	static const char hdr[] = "Content-Type: multipart/mixed; boundary=k";

	mimescan_init(s, 8, 0, 0, 0);
	/* a header field in pieces is put together */
	ck_assert_int_eq(mimescan_line(s, hdr, 20, 1, 0), MIMESCAN_HEADER);
	ck_assert_int_eq(mimescan_line(s, hdr + 20, sizeof(hdr) - 21, 0, 1),
	    MIMESCAN_HEADER);
	ck_assert_int_eq(mimescan_line(s, "", 0, 1, 1), MIMESCAN_HEADER_END);
	ck_assert_int_eq(s->multipart, 1);
	/* a delimiter in pieces is not one */
	ck_assert_int_eq(mimescan_line(s, "--k", 3, 1, 0), MIMESCAN_OUTSIDE);
	ck_assert_int_eq(mimescan_line(s, "", 0, 0, 1), MIMESCAN_OUTSIDE);
	ck_assert_int_eq(mimescan_line(s, "--k", 3, 1, 1), MIMESCAN_OPEN);
	free(s);
}
END_TEST

START_TEST(test_param)
{
	static const char v[] = "attachment (c); FileName = \"a \\\"b\\\".pdf\";"
	    " size=12 ; junk ; name=x";
	char out[8];

	ck_assert_int_eq(mimescan_param(v, strlen(v), "filename", out,
	    sizeof(out)), 9);
	ck_assert_str_eq(out, "a \"b\".p");	/* cut to fit */
	ck_assert_int_eq(mimescan_param(v, strlen(v), "size", out,
	    sizeof(out)), 2);
	ck_assert_str_eq(out, "12");
	ck_assert_int_eq(mimescan_param(v, strlen(v), "name", out,
	    sizeof(out)), 1);
	ck_assert_int_eq(mimescan_param(v, strlen(v), "nothing", out,
	    sizeof(out)), -1);
	ck_assert_int_eq(mimescan_param("name=x", 6, "name", out,
	    sizeof(out)), -1);	/* a parameter follows a ';' */
	mimescan_word(" (c) Base64 (x)", 15, out, sizeof(out));
	ck_assert_str_eq(out, "Base64");
}
END_TEST

/* mimescan_suite - the cases */
static Suite *
mimescan_suite(void)
{
	Suite *s = suite_create("mimescan");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_golden, 0,
	    (int)(sizeof(golden) / sizeof(golden[0])));
	tcase_add_test(tc, test_depth);
	tcase_add_test(tc, test_parts_messages);
	tcase_add_test(tc, test_ctype);
	tcase_add_test(tc, test_pieces);
	tcase_add_test(tc, test_param);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(mimescan_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
