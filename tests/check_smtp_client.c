/*
 * check_smtp_client.c - unit tests of the smtp connector's reply parser
 * and DATA encoder (connectors/smtp_reply.c, smtp_enc.c)
 */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "../connectors/smtp.h"

/* feed - add lines to a reply; returns the last smtp_reply_line result */
static int
feed(struct smtp_reply *r, struct smtp_caps *caps, const char *const *lines,
    const char **why)
{
	int rc = -1;

	smtp_reply_init(r);
	for (; *lines != NULL; lines++)
		if ((rc = smtp_reply_line(r, *lines, strlen(*lines), caps,
		    why)) != 0)
			break;
	return rc;
}

START_TEST(reply_simple)
{
	const char *l[] = { "250 2.1.5 Ok", NULL };
	struct smtp_reply r;
	const char *why;

	ck_assert_int_eq(feed(&r, NULL, l, &why), 1);
	ck_assert_int_eq(r.code, 250);
	ck_assert_str_eq(r.status, "2.1.5");
	ck_assert_str_eq(r.text, "Ok");
}
END_TEST

START_TEST(reply_multiline_caps)
{
	const char *l[] = { "250-mx.example.com hi", "250-PIPELINING",
	    "250-SIZE 1000", "250-AUTH PLAIN LOGIN", "250-8BITMIME",
	    "250-STARTTLS", "250-", "250 SMTPUTF8", NULL };
	struct smtp_caps caps;
	struct smtp_reply r;
	const char *why;

	memset(&caps, 0, sizeof(caps));
	ck_assert_int_eq(feed(&r, &caps, l, &why), 1);
	ck_assert_int_eq(r.nlines, 8);
	ck_assert(caps.pipelining && caps.eightbitmime && caps.starttls &&
	    caps.smtputf8);
	ck_assert_uint_eq(caps.size, 1000);
	ck_assert_str_eq(caps.auth, "PLAIN LOGIN");
}
END_TEST

START_TEST(reply_bare_code)
{
	const char *l[] = { "354", NULL };
	struct smtp_reply r;
	const char *why;

	ck_assert_int_eq(feed(&r, NULL, l, &why), 1);
	ck_assert_int_eq(r.code, 354);
	ck_assert_str_eq(r.text, "");
}
END_TEST

START_TEST(reply_malformed)
{
	static const char *bad[] = { "25", "abc def", "2500 x", "250x", "099 x",
	    "600 x", "" };
	struct smtp_reply r;
	const char *why;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		smtp_reply_init(&r);
		ck_assert_msg(smtp_reply_line(&r, bad[i], strlen(bad[i]), NULL,
		    &why) == -1, "accepted '%s'", bad[i]);
		ck_assert_ptr_nonnull(why);
	}
}
END_TEST

START_TEST(reply_nul_and_code_change)
{
	const char *l[] = { "250-a", "251 b", NULL };
	struct smtp_reply r;
	const char *why;

	ck_assert_int_eq(feed(&r, NULL, l, &why), -1);
	ck_assert_str_eq(why, "reply code changes within a multi-line reply");
	smtp_reply_init(&r);
	ck_assert_int_eq(smtp_reply_line(&r, "250 a\0b", 7, NULL, &why), -1);
	ck_assert_str_eq(why, "NUL byte in reply");
}
END_TEST

START_TEST(reply_too_many_lines)
{
	struct smtp_reply r;
	const char *why = NULL;
	int i, rc = 0;

	smtp_reply_init(&r);
	for (i = 0; i < SMTP_REPLY_MAX_LINES + 5 && rc == 0; i++)
		rc = smtp_reply_line(&r, "250-", 4, NULL, &why);
	ck_assert_int_eq(rc, -1);
	ck_assert_int_eq(i, SMTP_REPLY_MAX_LINES + 1);
	ck_assert_str_eq(why, "too many lines in a multi-line reply");
}
END_TEST

START_TEST(reply_text_capped_controls_kept)
{
	char line[1500];
	struct smtp_reply r;
	const char *why;

	memset(line, 'a', sizeof(line));
	memcpy(line, "550 5.1.1 \x07\x1b", 12);
	line[sizeof(line) - 1] = '\0';
	smtp_reply_init(&r);
	ck_assert_int_eq(smtp_reply_line(&r, line, strlen(line), NULL, &why), 1);
	ck_assert_uint_eq(r.textlen, SMTP_REPLY_TEXT_MAX - 1);
	ck_assert_int_eq(r.text[0], '\x07');	/* escaping is the logger's job */
	ck_assert_str_eq(r.status, "5.1.1");
}
END_TEST

/* enc - encode in (in pieces of step bytes) and finish */
static char *
enc(const char *in, size_t len, size_t step, unsigned long long *folded)
{
	struct smtp_enc e;
	char *out = malloc(SMTP_ENC_OUTMAX(len) + 8);
	size_t i, o = 0, n;

	smtp_enc_init(&e);
	for (i = 0; i < len; i += n) {
		n = len - i < step ? len - i : step;
		o += smtp_enc_feed(&e, in + i, n, out + o);
	}
	o += smtp_enc_finish(&e, out + o);
	out[o] = '\0';
	if (folded != NULL)
		*folded = e.folded;
	return out;
}

START_TEST(enc_line_ends_and_dots)
{
	static const char in[] = "A: b\n\n.x\r\n..y\rz\r\n.";
	static const char want[] = "A: b\r\n\r\n..x\r\n...y\r\nz\r\n..\r\n.\r\n";
	size_t step;
	char *out;

	for (step = 1; step <= sizeof(in); step++) {
		out = enc(in, sizeof(in) - 1, step, NULL);
		ck_assert_msg(strcmp(out, want) == 0, "step %zu: %s", step, out);
		free(out);
	}
}
END_TEST

START_TEST(enc_crlf_split_and_empty)
{
	char *out;

	out = enc("a\r", 2, 1, NULL);
	ck_assert_str_eq(out, "a\r\n.\r\n");
	free(out);
	out = enc("", 0, 1, NULL);
	ck_assert_str_eq(out, ".\r\n");
	free(out);
	out = enc("x\r\n", 3, 2, NULL);
	ck_assert_str_eq(out, "x\r\n.\r\n");
	free(out);
}
END_TEST

START_TEST(enc_long_lines)
{
	size_t n = 2500, i, len;
	char *in = malloc(2 * n + 64), *out, *p, *nl;
	unsigned long long folded;

	/* a long header line is folded, a long body line is split */
	memcpy(in, "X: ", 3);
	memset(in + 3, 'h', n);
	memcpy(in + 3 + n, "\n\n", 2);
	memset(in + 5 + n, '.', n);
	len = 5 + 2 * n;
	out = enc(in, len, 777, &folded);
	ck_assert_uint_eq(folded, 4);
	for (p = out; (nl = strstr(p, "\r\n")) != NULL; p = nl + 2)
		ck_assert_uint_le((size_t)(nl - p), SMTP_OUT_LINE_MAX);
	ck_assert(strstr(out, "\r\n h") != NULL);	/* folded with a space */
	/* the body lines start with '.', so each is stuffed */
	for (p = strstr(out, "\r\n\r\n") + 4, i = 0; *p != '\0' && i < 3; i++) {
		ck_assert_int_eq(p[0], '.');
		ck_assert_int_eq(p[1], '.');
		p = strstr(p, "\r\n") + 2;
	}
	free(in);
	free(out);
}
END_TEST

/* ref_eol - the model's end of line */
static size_t
ref_eol(char *out, size_t *linelen, int *hdr)
{
	if (*linelen == 0)
		*hdr = 0;
	*linelen = 0;
	out[0] = '\r';
	out[1] = '\n';
	return 2;
}

/* ref_enc - the encoding rules one byte at a time: the model enc() must match */
static size_t
ref_enc(const unsigned char *in, size_t n, char *out)
{
	size_t i, o = 0, linelen = 0;
	int hdr = 1, cr = 0;

	for (i = 0; i < n; i++) {
		if (cr) {
			cr = 0;
			o += ref_eol(out + o, &linelen, &hdr);
			if (in[i] == '\n')
				continue;
		}
		if (in[i] == '\r' || in[i] == '\n') {
			if (in[i] == '\r')
				cr = 1;
			else
				o += ref_eol(out + o, &linelen, &hdr);
			continue;
		}
		if (linelen >= SMTP_OUT_LINE_MAX) {
			out[o++] = '\r', out[o++] = '\n', linelen = 0;
			if (hdr)
				out[o++] = ' ', linelen = 1;
		}
		if (linelen == 0 && in[i] == '.')
			out[o++] = '.', linelen++;
		out[o++] = (char)in[i], linelen++;
	}
	if (cr || linelen > 0)
		o += ref_eol(out + o, &linelen, &hdr);
	memcpy(out + o, ".\r\n", 3);
	return o + 3;
}

START_TEST(enc_matches_model)
{
	static const char alpha[] = "ab.\r\n \x80";
	size_t n = 6000, i, want, t;
	unsigned char *in = malloc(n);
	char *ref = malloc(SMTP_ENC_OUTMAX(n) + 8), *out;

	srandom(7);
	for (t = 0; t < 400; t++) {
		n = (size_t)random() % 6000;
		for (i = 0; i < n; i++)
			in[i] = t % 3 == 0 ? (unsigned char)alpha[random() % 7] :
			    t % 3 == 1 ? (random() % 1500 ? 'x' :
			    (unsigned char)"\r\n."[random() % 3]) :
			    (unsigned char)(1 + random() % 255);	/* enc() gives a C string */
		want = ref_enc(in, n, ref);
		ref[want] = '\0';
		out = enc((const char *)in, n, 1 + (size_t)random() % 3000, NULL);
		ck_assert_msg(strlen(out) == want && memcmp(out, ref, want) == 0,
		    "case %zu (%zu bytes) differs from the model", t, n);
		free(out);
	}
	free(in);
	free(ref);
}
END_TEST

START_TEST(enc_8bit)
{
	ck_assert(!smtp_has_8bit("plain", 5));
	ck_assert(smtp_has_8bit("caf\xc3\xa9", 5));
}
END_TEST

START_TEST(dsn_xtext_and_params)
{
	char out[256];

	ck_assert_int_eq(smtp_xtext(out, sizeof(out), "a+b=c d\x01\xc3"), 0);
	ck_assert_str_eq(out, "a+2Bb+3Dc+20d+01+C3");
	ck_assert_int_eq(smtp_xtext(out, 4, "abcd"), -1);
	ck_assert_int_eq(smtp_dsn_mail_params(out, sizeof(out), "HDRS",
	    "id+1 x"), 0);
	ck_assert_str_eq(out, " RET=HDRS ENVID=id+2B1+20x");
	ck_assert_int_eq(smtp_dsn_mail_params(out, sizeof(out), "BOGUS",
	    NULL), 0);
	ck_assert_str_eq(out, "");
	ck_assert_int_eq(smtp_dsn_rcpt_params(out, sizeof(out),
	    "SUCCESS,DELAY", "rfc822;a+b@example.org"), 0);
	ck_assert_str_eq(out, " NOTIFY=SUCCESS,DELAY ORCPT=rfc822;a+2Bb@example.org");
	/* malformed values are left out, never sent as they are */
	ck_assert_int_eq(smtp_dsn_rcpt_params(out, sizeof(out),
	    "SUCCESS\r\nRSET", "no-semicolon"), 0);
	ck_assert_str_eq(out, "");
	ck_assert_int_eq(smtp_dsn_rcpt_params(out, sizeof(out), "NEVER",
	    "bad type;x"), 0);
	ck_assert_str_eq(out, " NOTIFY=NEVER");
	ck_assert_int_eq(smtp_dsn_rcpt_params(out, 8, "NEVER", NULL), -1);
}
END_TEST

START_TEST(reply_dsn_cap)
{
	const char *l[] = { "250-mx.example.com", "250-DSN", "250 OK", NULL };
	struct smtp_caps caps;
	struct smtp_reply r;
	const char *why;

	memset(&caps, 0, sizeof(caps));
	ck_assert_int_eq(feed(&r, &caps, l, &why), 1);
	ck_assert(caps.dsn);
}
END_TEST

/* smtp_client_suite - the tests */
static Suite *
smtp_client_suite(void)
{
	Suite *s = suite_create("smtp_client");
	TCase *tc = tcase_create("reply");

	tcase_add_test(tc, reply_simple);
	tcase_add_test(tc, reply_multiline_caps);
	tcase_add_test(tc, reply_bare_code);
	tcase_add_test(tc, reply_malformed);
	tcase_add_test(tc, reply_nul_and_code_change);
	tcase_add_test(tc, reply_too_many_lines);
	tcase_add_test(tc, reply_text_capped_controls_kept);
	suite_add_tcase(s, tc);
	tc = tcase_create("encoder");
	tcase_add_test(tc, enc_line_ends_and_dots);
	tcase_add_test(tc, enc_crlf_split_and_empty);
	tcase_add_test(tc, enc_long_lines);
	tcase_add_test(tc, enc_matches_model);
	tcase_add_test(tc, enc_8bit);
	tcase_add_test(tc, dsn_xtext_and_params);
	tcase_add_test(tc, reply_dsn_cap);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(smtp_client_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
