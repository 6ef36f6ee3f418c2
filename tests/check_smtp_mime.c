/*
 * check_smtp_mime.c - unit tests of the smtp connector's 8-bit to
 * quoted-printable conversion (connectors/smtp_mime.c)
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../connectors/smtp_mime.h"

struct buf {
	char *p;
	size_t len, cap;
};

/* buf_out - smtp_mime_out_fn into a growing buffer */
static int
buf_out(void *arg, const char *p, size_t n)
{
	struct buf *b = arg;

	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		b->p = realloc(b->p, b->cap);
		ck_assert_ptr_nonnull(b->p);
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
	b->p[b->len] = '\0';
	return 0;
}

/* feed_all - one pass over in, step bytes at a time */
static int
feed_all(struct smtp_mime *m, const char *in, size_t len, size_t step)
{
	size_t i, n;

	for (i = 0; i < len; i += n) {
		n = len - i < step ? len - i : step;
		if (smtp_mime_feed(m, in + i, n) == -1)
			return -1;
	}
	return smtp_mime_finish(m);
}

/*
 * convert - analyse then emit; returns the output (malloc'd, "" if none)
 * or NULL when refused (why copied into why)
 */
static char *
convert(const char *in, size_t len, size_t step, unsigned int *nconv,
    char *why, size_t whylen)
{
	struct smtp_mime *m = calloc(1, sizeof(*m));
	struct buf b = { NULL, 0, 0 };

	smtp_mime_init(m);
	smtp_mime_begin(m, 0, NULL, NULL);
	if (feed_all(m, in, len, step) == -1) {
		if (why != NULL)
			snprintf(why, whylen, "%s", m->why);
		free(m);
		return NULL;
	}
	if (nconv != NULL)
		*nconv = m->nconverted;
	smtp_mime_begin(m, 1, buf_out, &b);
	ck_assert_int_eq(feed_all(m, in, len, step), 0);
	free(m);
	if (b.p == NULL)
		b.p = strdup("");
	return b.p;
}

/* qp_decode - quoted-printable text back to octets (CRLF line ends) */
static size_t
qp_decode(const char *in, size_t len, char *out)
{
	size_t i, o = 0;
	unsigned int v;

	for (i = 0; i < len; i++) {
		if (in[i] == '=' && i + 2 < len && in[i + 1] == '\r' &&
		    in[i + 2] == '\n') {
			i += 2;		/* soft line break */
			continue;
		}
		if (in[i] == '=' && i + 2 < len &&
		    sscanf(in + i + 1, "%2X", &v) == 1) {
			out[o++] = (char)v;
			i += 2;
			continue;
		}
		out[o++] = in[i];
	}
	return o;
}

/* max_line - the longest CRLF-terminated line of s */
static size_t
max_line(const char *s)
{
	const char *nl;
	size_t max = 0;

	for (; (nl = strstr(s, "\r\n")) != NULL; s = nl + 2)
		if ((size_t)(nl - s) > max)
			max = (size_t)(nl - s);
	return max > strlen(s) ? max : strlen(s);
}

START_TEST(mime_top_level_text)
{
	static const char in[] = "From: a@b\r\nSubject: x\r\n\r\n"
	    "caf\xc3\xa9 = ok \r\nline2\t\nend";
	static const char want[] = "From: a@b\r\nSubject: x\r\n"
	    "MIME-Version: 1.0\r\n"
	    "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
	    "caf=C3=A9 =3D ok=20\r\nline2=09\r\nend";
	unsigned int n = 0;
	size_t step;
	char *out;

	for (step = 1; step <= sizeof(in); step++) {
		out = convert(in, sizeof(in) - 1, step, &n, NULL, 0);
		ck_assert_ptr_nonnull(out);
		ck_assert_msg(strcmp(out, want) == 0, "step %zu: %s", step, out);
		ck_assert_uint_eq(n, 1);
		free(out);
	}
}
END_TEST

START_TEST(mime_cte_replaced)
{
	static const char in[] = "MIME-Version: 1.0\r\n"
	    "Content-Type: text/plain;\r\n charset=utf-8\r\n"
	    "Content-Transfer-Encoding: 8bit\r\nX: y\r\n\r\n\xe9t\xe9\r\n";
	char *out = convert(in, sizeof(in) - 1, 4096, NULL, NULL, 0);

	ck_assert_ptr_nonnull(out);
	ck_assert_ptr_null(strstr(out, "8bit"));
	ck_assert_ptr_nonnull(strstr(out, "Content-Type: text/plain;\r\n "
	    "charset=utf-8\r\n"));
	ck_assert_ptr_eq(strstr(out, "MIME-Version"), out);
	ck_assert_ptr_null(strstr(strstr(out, "MIME-Version") + 1,
	    "MIME-Version"));
	ck_assert_ptr_nonnull(strstr(out, "X: y\r\nContent-Transfer-"
	    "Encoding: quoted-printable\r\n\r\n=E9t=E9\r\n"));
	free(out);
}
END_TEST

START_TEST(mime_long_lines_round_trip)
{
	char in[4000], body[3000], dec[4000], *out, *b;
	size_t i, blen = 0, step, n;

	for (i = 0; i < 2990; i++)	/* spaces, '=', 8-bit, '-' and '.' */
		body[blen++] = "ab \xe9=-.\t"[i % 8];
	memcpy(body + blen, "\r\n-x \r\n", 7);
	blen += 7;
	n = (size_t)snprintf(in, sizeof(in), "Subject: long\r\n\r\n");
	memcpy(in + n, body, blen);
	n += blen;
	for (step = 1; step < 5000; step = step * 3 + 1) {
		out = convert(in, n, step, NULL, NULL, 0);
		ck_assert_ptr_nonnull(out);
		ck_assert_uint_le(max_line(out), 76);
		b = strstr(out, "\r\n\r\n") + 4;
		ck_assert_uint_eq(qp_decode(b, strlen(b), dec), blen);
		ck_assert(memcmp(dec, body, blen) == 0);
		/* no encoded line may look like a boundary or a dot line */
		ck_assert_ptr_null(strstr(b, "\r\n-"));
		ck_assert_ptr_null(strstr(b, "\r\n."));
		free(out);
	}
}
END_TEST

static const char multi[] =
    "MIME-Version: 1.0\r\n"
    "Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n"
    "preamble\r\n"
    "--b1\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "Content-Transfer-Encoding: 8bit\r\n\r\n"
    "h\xc3\xa9llo\r\n"
    "--b1\r\n"
    "Content-Type: application/pdf\r\n"
    "Content-Transfer-Encoding: base64\r\n\r\n"
    "QUJD\r\n"
    "--b1\r\n"
    "Content-Type: multipart/alternative; boundary=b2 (comment)\r\n\r\n"
    "--b2\r\n"
    "Content-Type: text/plain\r\n\r\n"
    "ascii only\r\n"
    "--b2\r\n"
    "Content-Type: text/html; charset=utf-8\r\n\r\n"
    "<p>\xc3\xa9</p>\r\n"
    "--b2--\r\n"
    "--b1--\r\n"
    "epilogue\r\n";

START_TEST(mime_multipart)
{
	unsigned int n = 0;
	char *out = convert(multi, sizeof(multi) - 1, 7, &n, NULL, 0);

	ck_assert_ptr_nonnull(out);
	ck_assert_uint_eq(n, 2);
	ck_assert_ptr_nonnull(strstr(out, "charset=utf-8\r\n"
	    "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
	    "h=C3=A9llo\r\n--b1\r\n"));
	ck_assert_ptr_null(strstr(out, "8bit"));
	ck_assert_ptr_nonnull(strstr(out, "Content-Transfer-Encoding: "
	    "base64\r\n\r\nQUJD\r\n--b1\r\n"));
	ck_assert_ptr_nonnull(strstr(out, "Content-Type: text/plain\r\n\r\n"
	    "ascii only\r\n--b2\r\n"));
	ck_assert_ptr_nonnull(strstr(out, "text/html; charset=utf-8\r\n"
	    "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
	    "<p>=C3=A9</p>\r\n--b2--\r\n--b1--\r\nepilogue\r\n"));
	ck_assert_ptr_eq(strstr(out, "MIME-Version"), out);
	ck_assert_ptr_null(strstr(out + 1, "MIME-Version"));
	ck_assert(!memchr(out, 0x80, strlen(out)));
	free(out);
}
END_TEST

START_TEST(mime_refused)
{
	static const struct {
		const char *in, *why;
	} t[] = {
		{ "Subject: caf\xc3\xa9\r\n\r\nbody\r\n", "header" },
		{ "Content-Type: application/octet-stream\r\n"
		  "Content-Transfer-Encoding: 8bit\r\n\r\n\xff\r\n",
		  "non-text" },
		{ "Content-Type: text/plain\r\n"
		  "Content-Transfer-Encoding: base64\r\n\r\n\xff\r\n",
		  "labelled base64" },
		{ "Content-Type: multipart/mixed; boundary=z\r\n\r\n"
		  "pr\xe9" "amble\r\n--z\r\n\r\nx\r\n--z--\r\n", "preamble" },
		{ "Content-Type: multipart/mixed; boundary=z\r\n\r\n"
		  "--z\r\nContent-Type: message/rfc822\r\n\r\n"
		  "Subject: inner\r\n\r\n\xe9\r\n--z--\r\n", "message/" },
		{ "Content-Type: multipart/digest; boundary=z\r\n\r\n"
		  "--z\r\n\r\nSubject: inner\r\n\r\n\xe9\r\n--z--\r\n",
		  "message/" },
		{ "Content-Type: multipart/mixed\r\n\r\n\xe9\r\n",
		  "non-text" },
		{ "Content-Type: multipart/mixed; boundary=z\r\n\r\n"
		  "--z\r\nContent-Disposition: inline; filename=\"\xe9\"\r\n"
		  "\r\nx\r\n--z--\r\n", "header" },
	};
	char why[256];
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		why[0] = '\0';
		ck_assert_msg(convert(t[i].in, strlen(t[i].in), 3, NULL, why,
		    sizeof(why)) == NULL, "case %zu not refused", i);
		ck_assert_msg(strstr(why, t[i].why) != NULL, "case %zu: %s",
		    i, why);
	}
}
END_TEST

START_TEST(mime_field_too_long)
{
	size_t n = SMTP_MIME_FIELD + 100;
	char *in = malloc(n + 64), why[256];
	size_t len;

	len = (size_t)sprintf(in, "Content-Type: text/plain; x=\"");
	memset(in + len, 'a', n);
	len += n;
	len += (size_t)sprintf(in + len, "\"\r\n\r\n\xe9\r\n");
	ck_assert_ptr_null(convert(in, len, 1000, NULL, why, sizeof(why)));
	ck_assert_ptr_nonnull(strstr(why, "longer than"));
	free(in);
}
END_TEST

START_TEST(mime_nothing_to_convert)
{
	static const char in[] = "Subject: s\n\nplain\nbody";
	unsigned int n = 9;
	char *out = convert(in, sizeof(in) - 1, 2, &n, NULL, 0);

	ck_assert_uint_eq(n, 0);
	ck_assert_str_eq(out, "Subject: s\r\n\r\nplain\r\nbody");
	free(out);
}
END_TEST

/* smtp_mime_suite - the tests */
static Suite *
smtp_mime_suite(void)
{
	Suite *s = suite_create("smtp_mime");
	TCase *tc = tcase_create("convert");

	tcase_add_test(tc, mime_top_level_text);
	tcase_add_test(tc, mime_cte_replaced);
	tcase_add_test(tc, mime_long_lines_round_trip);
	tcase_add_test(tc, mime_multipart);
	tcase_add_test(tc, mime_refused);
	tcase_add_test(tc, mime_field_too_long);
	tcase_add_test(tc, mime_nothing_to_convert);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(smtp_mime_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
