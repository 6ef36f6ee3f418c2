/*
 * check_envelope.c - unit tests of the spool envelope text format
 *
 * Round trips (format, parse, format gives the same bytes), one golden
 * text, a table of malformed envelopes each rejected with the right line
 * number, escaping of hostile bytes, and a forged-recipient attempt.
 */
#include "config.h"

#include <check.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "envelope.h"

#define QID	"0006152f1a2b3c4d0001"

/* set - replace a malloc'd string field */
static void
set(char **field, const char *value)
{
	free(*field);
	*field = value ? strdup(value) : NULL;
}

/* make_message - a typical message envelope */
static void
make_message(struct envelope *env)
{
	memset(env, 0, sizeof(*env));
	env->kind = ENVELOPE_MESSAGE;
	memcpy(env->id, QID, sizeof(QID));
	env->arrival_us = 1764311000123456LL;
	set(&env->listener, "smtp");
	set(&env->client, "127.0.0.1");
	set(&env->client_name, "localhost");
	set(&env->helo, "scanner1.example.com");
	set(&env->proto, "ESMTP");
	set(&env->body, "8BITMIME");
	env->size = 12345;
	set(&env->from, "sender@example.com");
	ck_assert_ptr_nonnull(envelope_add_rcpt(env, "a@example.com"));
}

/* make_job - the golden job envelope */
static void
make_job(struct envelope *env)
{
	struct envelope_rcpt *r;

	make_message(env);
	env->kind = ENVELOPE_JOB;
	set(&env->connector, "archive");
	env->attempts = 2;
	env->next_attempt = 1764312000;
	set(&env->last_error, "451 4.4.1 upstream down");
	envelope_rcpt_set_param(&env->rcpt[0], "folder", "Scans/John Doe");
	r = envelope_add_rcpt(env, "b@example.com");
	ck_assert_ptr_nonnull(r);
	r->state = RCPT_FAILED;
	r->code = 550;
	strcpy(r->status, "5.1.1");
	set(&r->text, "no such user");
}

/* the header of golden_job up to its from line */
#define GOLDEN_HEAD \
	"gatewayd-envelope 2\n" \
	"id 0006152f1a2b3c4d0001\n" \
	"kind job\n" \
	"arrival 1764311000.123456\n" \
	"listener smtp\n" \
	"client 127.0.0.1\n" \
	"client-name localhost\n" \
	"helo scanner1.example.com\n" \
	"auth -\n" \
	"proto ESMTP\n" \
	"body 8BITMIME\n" \
	"size 12345\n" \
	"from sender@example.com\n"

static const char golden_job[] =
	GOLDEN_HEAD
	"connector archive\n"
	"attempts 2\n"
	"next-attempt 1764312000\n"
	"last-error 451 4.4.1 upstream down\n"
	"rcpt pending a@example.com\n"
	"param folder Scans/John Doe\n"
	"rcpt failed b@example.com 550 5.1.1 no such user\n"
	"end 706e7548\n";	/* CRC-32C of the lines above (by another tool) */

/*
 * roundtrip - format env, parse it back into out, format again and check
 * that the two texts are byte-identical; returns the first text.
 */
static char *
roundtrip(const struct envelope *env, struct envelope *out)
{
	char *t1, *t2, err[256];
	size_t l1, l2, used;

	ck_assert_int_eq(envelope_format(env, &t1, &l1), 0);
	ck_assert_uint_eq(strlen(t1), l1);
	if (envelope_parse(t1, l1, out, &used, err, sizeof(err)) != 0)
		ck_abort_msg("parse failed: %s\n%s", err, t1);
	ck_assert_uint_eq(used, l1);
	ck_assert_int_eq(envelope_format(out, &t2, &l2), 0);
	ck_assert_uint_eq(l1, l2);
	ck_assert_mem_eq(t1, t2, l1);
	free(t2);
	return t1;
}

/* count_lines - newlines in s */
static size_t
count_lines(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/*
 * A job's checksum: the CRC-32C check value; every byte of the text
 * before "end" changed (as a torn or stale sector would) makes the parse
 * fail; bytes after the end line (an earlier, longer job's tail left by
 * a rewrite in place) are not part of it; envelope_length finds both
 * kinds of end line and only whole ones.
 */
START_TEST(test_job_checksum)
{
	char *t, err[256];
	size_t len, used, i, endoff;
	struct envelope env;

	ck_assert_uint_eq(envelope_crc32c("123456789", 9), 0xe3069283U);
	ck_assert_uint_eq(envelope_crc32c("", 0), 0);
	len = strlen(golden_job);
	t = malloc(len + 32);
	ck_assert_ptr_nonnull(t);
	endoff = len - strlen("end 706e7548\n");
	for (i = 0; i < len; i++) {
		memcpy(t, golden_job, len);
		t[i] = t[i] == 'x' ? 'y' : 'x';
		if (envelope_parse(t, len, &env, &used, err, sizeof(err)) == 0)
			ck_abort_msg("byte %zu changed, still parsed", i);
	}
	/* a change the other checks cannot see: only the checksum does */
	memcpy(t, golden_job, len);
	t[strstr(t, "a@example") - t] = 'c';
	ck_assert_int_eq(envelope_parse(t, len, &env, &used, err,
	    sizeof(err)), -1);
	ck_assert_msg(strstr(err, "checksum mismatch") != NULL, "%s", err);
	ck_assert_uint_lt(endoff, len);
	/* an earlier job's tail after the end line */
	memcpy(t, golden_job, len);
	memcpy(t + len, "rcpt pending x@y\nend 12345678\n", 31);
	ck_assert_int_eq(envelope_parse(t, len + 31, &env, &used, err,
	    sizeof(err)), 0);
	ck_assert_uint_eq(used, len);
	ck_assert_uint_eq(env.nrcpt, 2);
	envelope_clear(&env);
	ck_assert_uint_eq(envelope_length(t, len + 31), len);
	ck_assert_uint_eq(envelope_length(golden_job, len - 1), 0);
	ck_assert_uint_eq(envelope_length(golden_job, len - 5), 0);
	ck_assert_uint_eq(envelope_length("a\nend\nb", 7), 6);
	ck_assert_uint_eq(envelope_length("a\nendx\nend\n", 11), 11);
	ck_assert_uint_eq(envelope_length("a\nend 1234567\n", 14), 0);
	free(t);
}
END_TEST

START_TEST(test_hexdigit)
{
	const char *digits = "0123456789abcdef";
	int c, v;

	for (v = 0; v < 16; v++) {
		ck_assert_int_eq(envelope_hexdigit(digits[v]), v);
		ck_assert_int_eq(envelope_hexdigit(toupper(digits[v])), v);
	}
	for (c = -128; c < 256; c++)
		if (strchr("0123456789abcdefABCDEF", c) == NULL || c == 0)
			ck_assert_int_eq(envelope_hexdigit(c), -1);
}
END_TEST

START_TEST(test_golden)
{
	struct envelope env, back;
	char *t;

	make_job(&env);
	t = roundtrip(&env, &back);
	ck_assert_str_eq(t, golden_job);
	ck_assert_int_eq(back.kind, ENVELOPE_JOB);
	ck_assert_str_eq(back.id, QID);
	ck_assert_int_eq(back.arrival_us, 1764311000123456LL);
	ck_assert_ptr_null(back.auth);
	ck_assert_str_eq(back.connector, "archive");
	ck_assert_uint_eq(back.attempts, 2);
	ck_assert_int_eq(back.next_attempt, 1764312000);
	ck_assert_str_eq(back.last_error, "451 4.4.1 upstream down");
	ck_assert_uint_eq(back.nrcpt, 2);
	ck_assert_str_eq(envelope_rcpt_param(&back.rcpt[0], "folder"), "Scans/John Doe");
	ck_assert_ptr_null(envelope_rcpt_param(&back.rcpt[0], "nope"));
	ck_assert_int_eq(back.rcpt[1].state, RCPT_FAILED);
	ck_assert_int_eq(back.rcpt[1].code, 550);
	ck_assert_str_eq(back.rcpt[1].status, "5.1.1");
	ck_assert_str_eq(back.rcpt[1].text, "no such user");
	free(t);
	envelope_clear(&env);
	envelope_clear(&back);
}
END_TEST

START_TEST(test_message_roundtrip)
{
	struct envelope env, back;
	char *t;

	make_message(&env);
	set(&env.auth, "alice");
	set(&env.client_name, "");
	env.size = -1;
	t = roundtrip(&env, &back);
	ck_assert_ptr_null(strstr(t, "connector"));
	ck_assert_ptr_nonnull(strstr(t, "\nclient-name\n"));
	ck_assert_str_eq(back.client_name, "");
	ck_assert_str_eq(back.auth, "alice");
	ck_assert_int_eq(back.size, -1);
	ck_assert_int_eq(back.kind, ENVELOPE_MESSAGE);
	ck_assert_int_eq(back.version, ENVELOPE_VERSION);
	free(t);
	envelope_clear(&env);
	envelope_clear(&back);
}
END_TEST

/* the spool's seal: a fixed-width placeholder, read back zero-padded */
START_TEST(test_size_seal)
{
	struct envelope env, back;
	char *t, *p, err[256];
	size_t len, used;

	make_message(&env);
	env.size = ENVELOPE_SIZE_SEAL;
	ck_assert_int_eq(envelope_format(&env, &t, &len), 0);
	ck_assert_ptr_nonnull(strstr(t, "\nsize 000000000000\n"));
	ck_assert_int_eq(envelope_parse(t, len, &back, &used, err,
	    sizeof(err)), 0);
	ck_assert_int_eq(back.size, 0);
	envelope_clear(&back);
	p = strstr(t, "\nsize ") + 6;
	memcpy(p, "000000010240", ENVELOPE_SIZE_WIDTH);
	len = strlen(t);
	ck_assert_int_eq(envelope_parse(t, len, &back, &used, err,
	    sizeof(err)), 0);
	ck_assert_int_eq(back.size, 10240);
	ck_assert_uint_eq(used, len);
	envelope_clear(&back);
	env.size = -3;
	ck_assert_int_eq(envelope_format(&env, &p, &len), -1);
	free(t);
	envelope_clear(&env);
}
END_TEST

/* DSN fields: optional, escaped, byte-identical round trip, copied */
START_TEST(test_dsn_fields)
{
	struct envelope env, back, copy;
	char *t, *t2;
	size_t len;

	make_job(&env);
	t = roundtrip(&env, &back);
	ck_assert_ptr_null(strstr(t, "\nret"));	/* absent when not given */
	ck_assert_ptr_null(back.ret);
	ck_assert_ptr_null(back.envid);
	free(t);
	envelope_clear(&back);
	set(&env.ret, "HDRS");
	set(&env.envid, "scan 42\nfrom x");
	t = roundtrip(&env, &back);
	ck_assert_ptr_nonnull(strstr(t, "\nret HDRS\nenvid scan\\x2042\\x0afrom\\x20x\n"));
	ck_assert_str_eq(back.ret, "HDRS");
	ck_assert_str_eq(back.envid, "scan 42\nfrom x");
	ck_assert_int_eq(envelope_format(&back, &t2, &len), 0);
	ck_assert_str_eq(t2, t);
	envelope_copy(&copy, &back);
	ck_assert_str_eq(copy.ret, "HDRS");
	ck_assert_str_eq(copy.envid, "scan 42\nfrom x");
	free(t);
	free(t2);
	envelope_clear(&env);
	envelope_clear(&back);
	envelope_clear(&copy);
}
END_TEST

START_TEST(test_null_sender)
{
	struct envelope env, back;
	char *t;

	make_message(&env);
	set(&env.from, "");
	t = roundtrip(&env, &back);
	ck_assert_ptr_nonnull(strstr(t, "\nfrom <>\n"));
	ck_assert_str_eq(back.from, "");
	free(t);
	envelope_clear(&back);
	/* a literal "<>" is not the null sender, nor is a literal "-" no auth */
	set(&env.from, "<>");
	set(&env.auth, "-");
	t = roundtrip(&env, &back);
	ck_assert_str_eq(back.from, "<>");
	ck_assert_str_eq(back.auth, "-");
	free(t);
	envelope_clear(&env);
	envelope_clear(&back);
}
END_TEST

/* Hostile or odd bytes that must survive a round trip in every field. */
static const char *weird[] = {
	"a\rb", "a\nb", "\r\n.\r\n", "\x01\x02\x1f\x7f", "back\\slash",
	"\\x41", "caf\xc3\xa9 \xe2\x82\xac", "sp ace  double", " lead", "trail ",
	"\xff\xfe", "tab\there", "x\nrcpt done evil@x\nend\n", "=?utf-8?q?x?=",
};

START_TEST(test_weird_bytes)
{
	struct envelope env, back;
	const char *w = weird[_i];
	char *t;

	make_job(&env);
	set(&env.helo, w);
	set(&env.auth, w);
	set(&env.client_name, w);
	set(&env.last_error, w);
	set(&env.rcpt[1].text, w);
	set(&env.rcpt[0].addr, w);
	envelope_rcpt_set_param(&env.rcpt[0], "folder", w);
	envelope_rcpt_set_param(&env.rcpt[0], w, "v");
	t = roundtrip(&env, &back);
	/* the line count never changes, whatever the bytes */
	ck_assert_uint_eq(count_lines(t), count_lines(golden_job) + 1);
	ck_assert_str_eq(back.helo, w);
	ck_assert_str_eq(back.auth, w);
	ck_assert_str_eq(back.client_name, w);
	ck_assert_str_eq(back.last_error, w);
	ck_assert_str_eq(back.rcpt[1].text, w);
	ck_assert_str_eq(back.rcpt[0].addr, w);
	ck_assert_str_eq(envelope_rcpt_param(&back.rcpt[0], "folder"), w);
	ck_assert_str_eq(envelope_rcpt_param(&back.rcpt[0], w), "v");
	ck_assert_uint_eq(back.nrcpt, 2);
	free(t);
	envelope_clear(&env);
	envelope_clear(&back);
}
END_TEST

START_TEST(test_forged_rcpt)
{
	static const char *evil = "ok\nrcpt done evil@x\nparam a b\nend\n";
	struct envelope env, back, again;
	char *t, *t2;
	size_t i;

	make_job(&env);
	set(&env.rcpt[1].text, evil);
	set(&env.last_error, evil);
	set(&env.helo, evil);
	envelope_rcpt_set_param(&env.rcpt[0], "folder", evil);
	t = roundtrip(&env, &back);
	ck_assert_ptr_null(strstr(t, "\nrcpt done"));
	ck_assert_ptr_null(strstr(t, "\nparam a"));
	ck_assert_uint_eq(back.nrcpt, 2);
	/* and again, from the parsed copy */
	t2 = roundtrip(&back, &again);
	ck_assert_uint_eq(again.nrcpt, 2);
	for (i = 0; i < again.nrcpt; i++)
		ck_assert_str_ne(again.rcpt[i].addr, "evil@x");
	ck_assert_uint_eq(again.rcpt[0].nparams, 1);
	free(t);
	free(t2);
	envelope_clear(&env);
	envelope_clear(&back);
	envelope_clear(&again);
}
END_TEST

START_TEST(test_copy)
{
	struct envelope env, copy;
	char *a, *b;
	size_t la, lb;

	make_job(&env);
	envelope_copy(&copy, &env);
	ck_assert_ptr_ne(copy.helo, env.helo);
	ck_assert_ptr_ne(copy.rcpt, env.rcpt);
	ck_assert_int_eq(envelope_format(&env, &a, &la), 0);
	envelope_clear(&env);	/* the copy must not share anything */
	ck_assert_int_eq(envelope_format(&copy, &b, &lb), 0);
	ck_assert_uint_eq(la, lb);
	ck_assert_mem_eq(a, b, la);
	/* set_param replaces */
	envelope_rcpt_set_param(&copy.rcpt[0], "folder", "other");
	ck_assert_uint_eq(copy.rcpt[0].nparams, 1);
	ck_assert_str_eq(envelope_rcpt_param(&copy.rcpt[0], "folder"), "other");
	ck_assert_ptr_nonnull(envelope_add_rcpt(&copy, "c@example.com"));
	ck_assert_uint_eq(copy.nrcpt, 3);
	free(a);
	free(b);
	envelope_clear(&copy);
	ck_assert_ptr_null(copy.rcpt);
	ck_assert_uint_eq(copy.nrcpt, 0);
}
END_TEST

/*
 * test_parsed_changes - a parsed envelope lies in one block (the pool):
 * every change through the API (a field, a result text, a param replaced,
 * added or renamed, a recipient added, a copy) gives the text expected,
 * and under ASan frees nothing the pool holds and leaks nothing
 */
START_TEST(test_parsed_changes)
{
	struct envelope env, copy;
	char *t, err[256];
	size_t len, used;
	const char *want =
	    GOLDEN_HEAD
	    "connector relay\n"
	    "attempts 2\n"
	    "next-attempt 1764312000\n"
	    "last-error -\n"
	    "rcpt pending a@example.com 451 4.2.0 try\\x0alater\n"
	    "param folder Other\n"
	    "param dsn-sent delayed\n"
	    "rcpt failed b@example.com 550 5.1.1 no such user\n"
	    "param failover-from archive\n"
	    "rcpt pending c@example.com\n"
	    "end cf8c5807\n";

	ck_assert_int_eq(envelope_parse(golden_job, strlen(golden_job), &env,
	    &used, err, sizeof(err)), 0);
	ck_assert_ptr_nonnull(env.pool);
	ck_assert(env.rcpt[0].pooled & ENVELOPE_POOLED_PARAMS);
	envelope_put(&env, &env.connector, strdup("relay"));
	envelope_put(&env, &env.last_error, NULL);
	env.rcpt[0].code = 451;
	strcpy(env.rcpt[0].status, "4.2.0");
	envelope_rcpt_put_text(&env.rcpt[0], strdup("try\nlater"));
	envelope_rcpt_set_param(&env.rcpt[0], "folder", "Other");
	envelope_rcpt_set_param(&env.rcpt[0], "dsn-sent", "delayed");
	envelope_rcpt_set_param(&env.rcpt[1], "failover", "relay");
	ck_assert_int_eq(envelope_rcpt_rename_param(&env.rcpt[1], "failover",
	    "failover-from", "archive"), 0);
	ck_assert_int_eq(envelope_rcpt_rename_param(&env.rcpt[1], "none",
	    "x", "y"), -1);
	ck_assert_ptr_nonnull(envelope_add_rcpt(&env, "c@example.com"));
	ck_assert(!(env.rcpt[0].pooled & ENVELOPE_POOLED_PARAMS));
	ck_assert_int_eq(envelope_format(&env, &t, &len), 0);
	ck_assert_str_eq(t, want);
	free(t);
	envelope_copy(&copy, &env);
	ck_assert_ptr_null(copy.pool);
	envelope_clear(&env);	/* the copy owns all it has */
	ck_assert_int_eq(envelope_format(&copy, &t, &len), 0);
	ck_assert_str_eq(t, want);
	free(t);
	envelope_clear(&copy);
	/* a failed parse frees what it made */
	ck_assert_int_eq(envelope_parse("gatewayd-envelope 1\nrcpt x\n", 26,
	    &env, &used, err, sizeof(err)), -1);
	ck_assert_ptr_null(env.pool);
}
END_TEST

START_TEST(test_body_offset)
{
	struct envelope env, back;
	char *t, *buf, err[256];
	size_t len, used;

	make_message(&env);
	ck_assert_int_eq(envelope_format(&env, &t, &len), 0);
	buf = malloc(len + 32);
	memcpy(buf, t, len);
	memcpy(buf + len, "Subject: x\r\n\r\nend\nbody\r\n", 24);
	ck_assert_int_eq(envelope_parse(buf, len + 24, &back, &used, err,
	    sizeof(err)), 0);
	ck_assert_uint_eq(used, len);
	free(buf);
	free(t);
	envelope_clear(&env);
	envelope_clear(&back);
}
END_TEST

START_TEST(test_escape)
{
	char buf[64], s[64];

	ck_assert_uint_eq(envelope_escape(buf, sizeof(buf), "a b\\c\n", 0), 15);
	ck_assert_str_eq(buf, "a\\x20b\\x5cc\\x0a");
	ck_assert_uint_eq(envelope_escape(buf, sizeof(buf), "a b\x7f", 1), 7);
	ck_assert_str_eq(buf, "a b\\x7f");
	/* truncation never cuts an escape in half */
	ck_assert_uint_eq(envelope_escape(buf, 4, "ab\ncd", 0), 8);
	ck_assert_str_eq(buf, "ab");
	ck_assert_uint_eq(envelope_escape(buf, 0, "abc", 0), 3);
	strcpy(s, "a\\x20b\\x5Cc\\x0a");
	ck_assert_int_eq(envelope_unescape(s), 0);
	ck_assert_str_eq(s, "a b\\c\n");
	strcpy(s, "a\\x0");
	ck_assert_int_eq(envelope_unescape(s), -1);
	strcpy(s, "a\\x00b");
	ck_assert_int_eq(envelope_unescape(s), -1);
	strcpy(s, "a\\n");
	ck_assert_int_eq(envelope_unescape(s), -1);
	strcpy(s, "a\\xg1");
	ck_assert_int_eq(envelope_unescape(s), -1);
	strcpy(s, "a\nb");
	ck_assert_int_eq(envelope_unescape(s), -1);
	strcpy(s, "trailing\\");
	ck_assert_int_eq(envelope_unescape(s), -1);
}
END_TEST

START_TEST(test_format_rejects)
{
	struct envelope env;
	char *t;
	size_t len;

	make_job(&env);
	env.id[3] = 'X';
	ck_assert_int_eq(envelope_format(&env, &t, &len), -1);
	memcpy(env.id, QID, sizeof(QID));
	set(&env.connector, NULL);
	ck_assert_int_eq(envelope_format(&env, &t, &len), -1);
	set(&env.connector, "archive");
	env.rcpt[1].code = 55;
	ck_assert_int_eq(envelope_format(&env, &t, &len), -1);
	env.rcpt[1].code = 550;
	strcpy(env.rcpt[1].status, "5.1");
	ck_assert_int_eq(envelope_format(&env, &t, &len), -1);
	strcpy(env.rcpt[1].status, "5.1.1");
	set(&env.rcpt[1].addr, "");
	ck_assert_int_eq(envelope_format(&env, &t, &len), -1);
	set(&env.rcpt[1].addr, "b@x");
	ck_assert_int_eq(envelope_format(&env, &t, &len), 0);
	free(t);
	envelope_clear(&env);
}
END_TEST

/* A valid message envelope, split so cases can change one line. */
#define L1	"gatewayd-envelope 1\n"
#define L2	"id " QID "\n"
#define L3	"kind message\n"
#define L4_13	"arrival 1.000000\nlistener smtp\nclient 127.0.0.1\n" \
		"client-name\nhelo h\nauth -\nproto ESMTP\nbody 7BIT\n" \
		"size -1\nfrom a@b\n"
#define HDR	L1 L2 L3 L4_13			/* lines 1-13 */
#define RC	"rcpt pending c@d\n"		/* line 14 */

static const struct bad_case {
	const char *text;
	const char *reason;	/* expected prefix of err */
} bad_cases[] = {
	{ "", "line 1: missing version line" },
	{ "hello\n", "line 1: missing version line" },
	{ "gatewayd-envelope 3\n" L2 "end\n", "line 1: unsupported envelope version" },
	{ "gatewayd-envelope 12\n" L2 "end\n", "line 1: unsupported envelope version" },
	{ "gatewayd-envelope 2\n" L2 "end\n", "line 3: no checksum on the 'end' line" },
	{ HDR RC "end 00000000\n", "line 15: checksum in a version 1 envelope" },
	{ "gatewayd-envelope 2\n" L2 L3 L4_13 RC "end 00000000\n",
	  "line 15: checksum mismatch" },
	{ "gatewayd-envelope 1\r\n" L2, "line 1: control character" },
	{ HDR RC, "line 15: truncated envelope" },
	{ HDR RC "en", "line 15: truncated envelope" },
	{ HDR "frob x\n" RC "end\n", "line 14: unknown key 'frob'" },
	{ HDR "helo again\n" RC "end\n", "line 14: duplicate 'helo'" },
	{ HDR "id " QID "\nend\n", "line 14: duplicate 'id'" },
	{ L1 L2 L3 "arrival 1.5\nend\n", "line 4: bad arrival time" },
	{ L1 L2 L3 "arrival -1.000000\nend\n", "line 4: bad arrival time" },
	{ L1 L2 L3 "arrival 1.00000x\nend\n", "line 4: bad arrival time" },
	{ L1 "id 0006152F1A2B3C4D0001\nend\n", "line 2: bad queue id" },
	{ L1 "id 123\nend\n", "line 2: bad queue id" },
	{ L1 L2 "kind mail\nend\n", "line 3: bad kind" },
	{ L1 L2 L3 "size 12a\nend\n", "line 4: bad number for 'size'" },
	{ L1 L2 L3 "size -2\nend\n", "line 4: bad number for 'size'" },
	{ L1 L2 L3 "size 007\nend\n", "line 4: bad number for 'size'" },
	{ L1 L2 L3 "size 00000000000a\nend\n", "line 4: bad number for 'size'" },
	{ L1 L2 L3 "size 0000000000007\nend\n", "line 4: bad number for 'size'" },
	{ L1 L2 L3 "size 99999999999999999999\nend\n", "line 4: bad number for 'size'" },
	{ L1 L2 L3 "helo a\tb\nend\n", "line 4: control character 0x09" },
	{ L1 L2 L3 "helo a\x7f" "b\nend\n", "line 4: control character 0x7f" },
	{ L1 L2 L3 "helo a b\nend\n", "line 4: unescaped space in 'helo'" },
	{ L1 L2 L3 "helo a\\x0\nend\n", "line 4: bad escape in 'helo'" },
	{ L1 L2 L3 "helo a\\x00\nend\n", "line 4: bad escape in 'helo'" },
	{ L1 L2 L3 "helo a\\q\nend\n", "line 4: bad escape in 'helo'" },
	{ L1 L2 L3 "end\n", "line 4: missing 'arrival'" },
	{ L1 L3 "end\n", "line 3: missing 'id'" },
	{ HDR "connector x\nend\n", "line 14: 'connector' in a message envelope" },
	{ HDR "attempts 1\n" RC "end\n", "line 14: 'attempts' in a message envelope" },
	{ L1 L2 "kind job\n" L4_13 "end\n", "line 14: missing 'connector'" },
	{ L1 L2 "kind job\n" L4_13 "connector x\nattempts 1\nnext-attempt 0\n"
	  "last-error -\nattempts 2\nend\n", "line 18: duplicate 'attempts'" },
	{ L1 L2 "kind job\n" L4_13 "connector x\nattempts -1\nend\n",
	  "line 15: bad number for 'attempts'" },
	{ L1 L2 "kind job\n" L4_13 "connector x\nattempts 4294967296\nend\n",
	  "line 15: bad number for 'attempts'" },
	{ L1 L2 "kind job\n" L4_13 "connector x\nattempts 0\nnext-attempt x\nend\n",
	  "line 16: bad number for 'next-attempt'" },
	{ HDR "param a b\n" RC "end\n", "line 14: 'param' before any 'rcpt'" },
	{ HDR RC "param a b\nparam a c\nend\n", "line 16: duplicate param" },
	{ HDR RC "param\nend\n", "line 15: missing param name" },
	{ HDR RC "param a \\x\nend\n", "line 15: bad escape in 'param'" },
	{ HDR "rcpt sent c@d\nend\n", "line 14: bad recipient state" },
	{ HDR "rcpt pending\nend\n", "line 14: missing recipient address" },
	{ HDR "rcpt pending c\\x20d x\nend\n", "line 14: bad result code" },
	{ HDR "rcpt failed c@d 999 5.1.1 x\nend\n", "line 14: bad result code" },
	{ HDR "rcpt failed c@d 550\nend\n", "line 14: missing status" },
	{ HDR "rcpt failed c@d 550 5.x.1 x\nend\n", "line 14: bad enhanced status" },
	{ HDR "rcpt failed c@d 550 3.1.1 x\nend\n", "line 14: bad enhanced status" },
	{ HDR "rcpt failed c@d 550 5.1.1 a\\zb\nend\n", "line 14: bad escape in 'rcpt'" },
	{ L1 L2 L3 RC "arrival 1.000000\nend\n", "line 5: 'arrival' after a 'rcpt' line" },
	{ HDR RC "end", "line 15: truncated envelope" },
};

START_TEST(test_malformed)
{
	const struct bad_case *c = &bad_cases[_i];
	struct envelope env;
	char err[256];
	size_t used = 12345;

	memset(err, 'Z', sizeof(err));
	if (envelope_parse(c->text, strlen(c->text), &env, &used, err,
	    sizeof(err)) == 0)
		ck_abort_msg("case %d accepted:\n%s", _i, c->text);
	if (strncmp(err, c->reason, strlen(c->reason)) != 0)
		ck_abort_msg("case %d: got \"%s\", want \"%s...\"", _i, err, c->reason);
	/* a failed parse leaves nothing allocated */
	ck_assert_ptr_null(env.rcpt);
	ck_assert_ptr_null(env.helo);
}
END_TEST

/* The valid base envelope of the table really parses (the table is fair). */
START_TEST(test_base_valid)
{
#define JOB_FIELDS	"kind job\n" L4_13 "connector x\nattempts 0\n" \
			"next-attempt 0\nlast-error -\n"
	/* a version 1 job (before the checksum) is written back as 2 */
	static const char *ok[][2] = {
		{ HDR RC "end\n", NULL },
		{ HDR "end\n", NULL },
		{ HDR RC "param a b c\nparam d\nrcpt done e@f 250 - ok\nend\n",
		    NULL },
		{ L1 L2 JOB_FIELDS "end\n",
		    "gatewayd-envelope 2\n" L2 JOB_FIELDS "end 0cdd2d33\n" },
		{ "gatewayd-envelope 2\n" L2 JOB_FIELDS "end 0cdd2d33\n", NULL },
	};
	struct envelope env;
	char err[256], *t;
	size_t used, i, len;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		if (envelope_parse(ok[i][0], strlen(ok[i][0]), &env, &used, err,
		    sizeof(err)) != 0)
			ck_abort_msg("case %zu: %s", i, err);
		ck_assert_uint_eq(used, strlen(ok[i][0]));
		ck_assert_int_eq(envelope_format(&env, &t, &len), 0);
		ck_assert_str_eq(t, ok[i][1] ? ok[i][1] : ok[i][0]);
		free(t);
		envelope_clear(&env);
	}
}
END_TEST

/* build_many - an envelope with n rcpt lines (or n params on one rcpt) */
static char *
build_many(size_t n, int params)
{
	size_t i, cap = strlen(HDR) + 64 + n * 32;
	char *s = malloc(cap), *p;

	ck_assert_ptr_nonnull(s);
	p = s + sprintf(s, "%s%s", HDR, params ? RC : "");
	for (i = 0; i < n; i++)
		p += params ? sprintf(p, "param p%zu v\n", i) :
		    sprintf(p, "rcpt pending r%zu@x\n", i);
	strcpy(p, "end\n");
	return s;
}

START_TEST(test_limits)
{
	struct envelope env;
	char err[256], want[64], *s;
	size_t used;

	s = build_many(ENVELOPE_MAX_RCPT, 0);
	ck_assert_int_eq(envelope_parse(s, strlen(s), &env, &used, err, sizeof(err)), 0);
	ck_assert_uint_eq(env.nrcpt, ENVELOPE_MAX_RCPT);
	ck_assert_ptr_null(envelope_add_rcpt(&env, "one@more"));
	ck_assert_int_eq(errno, E2BIG);
	envelope_clear(&env);
	free(s);
	s = build_many(ENVELOPE_MAX_RCPT + 1, 0);
	ck_assert_int_eq(envelope_parse(s, strlen(s), &env, &used, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "line %d: too many recipients",
	    13 + ENVELOPE_MAX_RCPT + 1);
	ck_assert_int_eq(strncmp(err, want, strlen(want)), 0);
	free(s);
	s = build_many(ENVELOPE_MAX_PARAMS, 1);
	ck_assert_int_eq(envelope_parse(s, strlen(s), &env, &used, err, sizeof(err)), 0);
	envelope_clear(&env);
	free(s);
	s = build_many(ENVELOPE_MAX_PARAMS + 1, 1);
	ck_assert_int_eq(envelope_parse(s, strlen(s), &env, &used, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "line %d: too many params",
	    14 + ENVELOPE_MAX_PARAMS + 1);
	ck_assert_int_eq(strncmp(err, want, strlen(want)), 0);
	free(s);
}
END_TEST

START_TEST(test_too_big)
{
	struct envelope env;
	char *t, *big;
	size_t len;

	make_message(&env);
	big = malloc(ENVELOPE_MAX_SIZE + 1);
	memset(big, 'x', ENVELOPE_MAX_SIZE);
	big[ENVELOPE_MAX_SIZE] = '\0';
	set(&env.helo, big);
	ck_assert_int_eq(envelope_format(&env, &t, &len), -1);
	ck_assert_int_eq(errno, E2BIG);
	free(big);
	envelope_clear(&env);
}
END_TEST

/* envelope_suite - every test case */
static Suite *
envelope_suite(void)
{
	Suite *s = suite_create("envelope");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_golden);
	tcase_add_test(tc, test_job_checksum);
	tcase_add_test(tc, test_message_roundtrip);
	tcase_add_test(tc, test_size_seal);
	tcase_add_test(tc, test_null_sender);
	tcase_add_test(tc, test_dsn_fields);
	tcase_add_loop_test(tc, test_weird_bytes, 0,
	    (int)(sizeof(weird) / sizeof(weird[0])));
	tcase_add_test(tc, test_forged_rcpt);
	tcase_add_test(tc, test_copy);
	tcase_add_test(tc, test_parsed_changes);
	tcase_add_test(tc, test_body_offset);
	tcase_add_test(tc, test_escape);
	tcase_add_test(tc, test_format_rejects);
	tcase_add_loop_test(tc, test_malformed, 0,
	    (int)(sizeof(bad_cases) / sizeof(bad_cases[0])));
	tcase_add_test(tc, test_base_valid);
	tcase_add_test(tc, test_limits);
	tcase_add_test(tc, test_too_big);
	tcase_add_test(tc, test_hexdigit);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(envelope_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
