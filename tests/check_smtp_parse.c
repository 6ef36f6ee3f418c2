/*
 * check_smtp_parse.c - unit tests of the SMTP command parser (gatewayd/receiver/smtp_parse.c)
 *
 * A table of command lines with the verb, argument, path and parameters
 * expected, or the exact reply expected for a refused line.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smtp_parse.h"

struct cmd_case {
	const char *line;
	enum smtp_verb verb;
	const char *reply;		/* NULL: must parse */
	const char *arg;		/* expected argument when parsed (NULL: don't check) */
	const char *path;		/* expected path for MAIL/RCPT */
	long long size;
	enum smtp_body body;
};

#define OK(l, v, a)		{ l, v, NULL, a, NULL, -1, SMTP_BODY_DEFAULT }
#define OKP(l, v, p, s, b)	{ l, v, NULL, NULL, p, s, b }
#define ERR(l, v, r)		{ l, v, r, NULL, NULL, -1, SMTP_BODY_DEFAULT }

static const struct cmd_case cmd_cases[] = {
	OK("HELO scanner.example.com", SMTP_HELO, "scanner.example.com"),
	OK("helo  scanner", SMTP_HELO, "scanner"),
	OK("EHLO [192.0.2.1]", SMTP_EHLO, "[192.0.2.1]"),
	OK("eHlO mfp-3 extra words  ", SMTP_EHLO, "mfp-3 extra words"),
	OK("DATA", SMTP_DATA, ""),
	OK("data ", SMTP_DATA, ""),
	OK("RSET", SMTP_RSET, ""),
	OK("NOOP", SMTP_NOOP, ""),
	OK("NOOP anything goes", SMTP_NOOP, "anything goes"),
	OK("QUIT", SMTP_QUIT, ""),
	OK("VRFY user", SMTP_VRFY, "user"),
	OK("HELP", SMTP_HELP, ""),
	OK("HELP MAIL", SMTP_HELP, "MAIL"),
	OK("EXPN list", SMTP_EXPN, "list"),
	OK("TURN", SMTP_TURN, ""),
	OK("STARTTLS", SMTP_STARTTLS, ""),
	OK("AUTH PLAIN AGJvYgBzZWNyZXQ=", SMTP_AUTH, "PLAIN AGJvYgBzZWNyZXQ="),
	OK("BDAT 100 LAST", SMTP_BDAT, "100 LAST"),
	OKP("MAIL FROM:<user@example.com>", SMTP_MAIL, "user@example.com", -1, SMTP_BODY_DEFAULT),
	OKP("mail from:<user@example.com>", SMTP_MAIL, "user@example.com", -1, SMTP_BODY_DEFAULT),
	OKP("MAIL FROM: <user@example.com>", SMTP_MAIL, "user@example.com", -1, SMTP_BODY_DEFAULT),
	OKP("MAIL FROM:<>", SMTP_MAIL, "", -1, SMTP_BODY_DEFAULT),
	OKP("MAIL FROM:<> SIZE=0", SMTP_MAIL, "", 0, SMTP_BODY_DEFAULT),
	OKP("MAIL FROM:<a@b.example> SIZE=12345 BODY=8BITMIME", SMTP_MAIL, "a@b.example", 12345, SMTP_BODY_8BITMIME),
	OKP("MAIL FROM:<a@b.example>  body=7bit   size=1 ", SMTP_MAIL, "a@b.example", 1, SMTP_BODY_7BIT),
	OKP("MAIL FROM:<\"x y\"@b.example>", SMTP_MAIL, "\"x y\"@b.example", -1, SMTP_BODY_DEFAULT),
	OKP("RCPT TO:<user@example.com>", SMTP_RCPT, "user@example.com", -1, SMTP_BODY_DEFAULT),
	OKP("rcpt to: <user@[IPv6:::1]>", SMTP_RCPT, "user@[IPv6:::1]", -1, SMTP_BODY_DEFAULT),
	OKP("RCPT TO:<Postmaster>", SMTP_RCPT, "Postmaster", -1, SMTP_BODY_DEFAULT),
	/* like Postfix: no angle brackets (device firmware), MAIL source routes */
	OKP("MAIL FROM:scan@mfp.example", SMTP_MAIL, "scan@mfp.example", -1, SMTP_BODY_DEFAULT),
	OKP("MAIL FROM: scan@mfp.example SIZE=10", SMTP_MAIL, "scan@mfp.example", 10, SMTP_BODY_DEFAULT),
	OKP("RCPT TO:user@example.com", SMTP_RCPT, "user@example.com", -1, SMTP_BODY_DEFAULT),
	OKP("MAIL FROM:<@relay.example:a@b.example>", SMTP_MAIL, "a@b.example", -1, SMTP_BODY_DEFAULT),
	OKP("MAIL FROM:<@a.example,@[192.0.2.1]:a@b.example> SIZE=5", SMTP_MAIL, "a@b.example", 5, SMTP_BODY_DEFAULT),
	/* unknown verbs */
	ERR("", SMTP_UNKNOWN, "500 5.5.2 Error: command not recognized"),
	ERR("FOO bar", SMTP_UNKNOWN, "500 5.5.2 Error: command not recognized"),
	ERR("MAILFROM:<a@b>", SMTP_UNKNOWN, "500 5.5.2 Error: command not recognized"),
	ERR(" MAIL FROM:<a@b>", SMTP_UNKNOWN, "500 5.5.2 Error: command not recognized"),
	ERR("HELOX", SMTP_UNKNOWN, "500 5.5.2 Error: command not recognized"),
	/* argument rules */
	ERR("HELO", SMTP_HELO, "501 5.5.4 Syntax: HELO hostname"),
	ERR("EHLO   ", SMTP_EHLO, "501 5.5.4 Syntax: EHLO hostname"),
	ERR("DATA now", SMTP_DATA, "501 5.5.4 Syntax: DATA"),
	ERR("QUIT please", SMTP_QUIT, "501 5.5.4 Syntax: QUIT"),
	ERR("RSET x", SMTP_RSET, "501 5.5.4 Syntax: RSET"),
	ERR("VRFY", SMTP_VRFY, "501 5.5.4 Syntax: VRFY address"),
	ERR("TURN now", SMTP_TURN, "501 5.5.4 Syntax: TURN"),
	/* MAIL syntax */
	ERR("MAIL", SMTP_MAIL, "501 5.5.4 Syntax: MAIL FROM:<address>"),
	ERR("MAIL FROM<a@b.example>", SMTP_MAIL, "501 5.5.4 Syntax: MAIL FROM:<address>"),
	ERR("MAIL TO:<a@b.example>", SMTP_MAIL, "501 5.5.4 Syntax: MAIL FROM:<address>"),
	ERR("MAIL FROM:", SMTP_MAIL, "501 5.5.4 Syntax: MAIL FROM:<address>"),
	ERR("MAIL FROM:<a@b.example>junk", SMTP_MAIL, "501 5.5.4 Syntax: MAIL FROM:<address>"),
	ERR("MAIL FROM:<a@b.example> SIZE=abc", SMTP_MAIL, "501 5.5.4 Bad SIZE parameter"),
	ERR("MAIL FROM:<a@b.example> SIZE=", SMTP_MAIL, "501 5.5.4 Bad parameter syntax"),
	ERR("MAIL FROM:<a@b.example> SIZE", SMTP_MAIL, "501 5.5.4 Bad SIZE parameter"),
	ERR("MAIL FROM:<a@b.example> SIZE=-1", SMTP_MAIL, "501 5.5.4 Bad SIZE parameter"),
	ERR("MAIL FROM:<a@b.example> SIZE=9999999999999999999", SMTP_MAIL, "501 5.5.4 Bad SIZE parameter"),
	ERR("MAIL FROM:<a@b.example> SIZE=1 SIZE=2", SMTP_MAIL, "501 5.5.4 Duplicate SIZE parameter"),
	ERR("MAIL FROM:<a@b.example> BODY=BINARYMIME", SMTP_MAIL, "501 5.5.4 Bad BODY parameter"),
	ERR("MAIL FROM:<a@b.example> BODY=7BIT BODY=7BIT", SMTP_MAIL, "501 5.5.4 Duplicate BODY parameter"),
	ERR("MAIL FROM:<a@b.example> RET=HDRS", SMTP_MAIL, "555 5.5.4 Unsupported parameter: RET"),
	ERR("MAIL FROM:<a@b.example> SMTPUTF8", SMTP_MAIL, "555 5.5.4 Unsupported parameter: SMTPUTF8"),
	ERR("MAIL FROM:<a@b.example> =x", SMTP_MAIL, "501 5.5.4 Bad parameter syntax"),
	ERR("MAIL FROM:<a@b.example> K_Y=1", SMTP_MAIL, "501 5.5.4 Bad parameter syntax"),
	ERR("MAIL FROM:<a@b.example> SIZE=1=2", SMTP_MAIL, "501 5.5.4 Bad parameter syntax"),
	ERR("MAIL FROM:<a@@b.example>", SMTP_MAIL, "501 5.1.7 Bad sender address syntax: missing domain"),
	ERR("MAIL FROM:<user>", SMTP_MAIL, "501 5.1.7 Bad sender address syntax: missing domain"),
	ERR("MAIL FROM:<postmaster>", SMTP_MAIL, "501 5.1.7 Bad sender address syntax: missing domain"),
	ERR("MAIL FROM:<@relay.example a@b.example>", SMTP_MAIL, "501 5.1.7 Bad sender address syntax: source routes are not accepted"),
	ERR("MAIL FROM:<@:a@b.example>", SMTP_MAIL, "501 5.1.7 Bad sender address syntax: source routes are not accepted"),
	ERR("MAIL FROM:a@b.example>", SMTP_MAIL, "501 5.1.7 Bad sender address syntax: bad character in address"),
	ERR("MAIL FROM:a@b.example junk", SMTP_MAIL, "555 5.5.4 Unsupported parameter: junk"),
	ERR("MAIL FROM:@a.example:u@b.example", SMTP_MAIL, "501 5.1.7 Bad sender address syntax: source routes are not accepted"),
	ERR("MAIL FROM:<j\xc3\xbcrgen@b.example>", SMTP_MAIL, "553 5.6.7 Non-ASCII sender address needs SMTPUTF8 (EHLO, then MAIL FROM:<...> SMTPUTF8)"),
	ERR("MAIL FROM:<a@b.example> X-VENDOR=1", SMTP_MAIL, "555 5.5.4 Unsupported parameter: X-VENDOR"),
	ERR("MAIL FROM:<a@b.example> AUTH=<>", SMTP_MAIL, "555 5.5.4 Unsupported parameter: AUTH"),
	/* RCPT syntax */
	ERR("RCPT TO:<>", SMTP_RCPT, "501 5.1.3 Bad recipient address syntax: empty address"),
	ERR("RCPT TO:<@a.example,@b.example:u@c.example>", SMTP_RCPT, "553 5.1.3 Bad recipient address syntax: source routes are not accepted"),
	ERR("RCPT TO:<u@-bad.example>", SMTP_RCPT, "501 5.1.3 Bad recipient address syntax: label starts or ends with a hyphen"),
	ERR("RCPT FROM:<u@b.example>", SMTP_RCPT, "501 5.5.4 Syntax: RCPT TO:<address>"),
	ERR("RCPT TO:<u@b.example> NOTIFY=NEVER", SMTP_RCPT, "555 5.5.4 Unsupported parameter: NOTIFY"),
	ERR("RCPT TO:<u@b.example> SIZE=10", SMTP_RCPT, "555 5.5.4 Unsupported parameter: SIZE"),
	ERR("RCPT TO:<u@b.example>>", SMTP_RCPT, "501 5.5.4 Syntax: RCPT TO:<address>"),
	ERR("RCPT TO:@a.example:u@c.example", SMTP_RCPT, "553 5.1.3 Bad recipient address syntax: source routes are not accepted"),
	ERR("RCPT TO:u@b.example>", SMTP_RCPT, "501 5.1.3 Bad recipient address syntax: bad character in address"),
	ERR("RCPT TO:<u@b.example> X-VENDOR", SMTP_RCPT, "555 5.5.4 Unsupported parameter: X-VENDOR"),
	ERR("RCPT TO:<u@b.example\t>", SMTP_RCPT, "501 5.1.3 Bad recipient address syntax: bad character in address"),
};

START_TEST(test_cmd_table)
{
	const struct cmd_case *c = &cmd_cases[_i];
	struct smtp_cmd cmd;
	int r;

	r = smtp_parse(c->line, strlen(c->line), &cmd);
	ck_assert_msg(cmd.verb == c->verb, "%s: verb %s, want %s", c->line,
	    smtp_verb_name(cmd.verb), smtp_verb_name(c->verb));
	if (c->reply != NULL) {
		ck_assert_msg(r == -1, "%s: parsed, want error", c->line);
		ck_assert_str_eq(cmd.reply, c->reply);
		return;
	}
	ck_assert_msg(r == 0, "%s: refused: %s", c->line, cmd.reply);
	if (c->arg != NULL) {
		ck_assert_uint_eq(cmd.arglen, strlen(c->arg));
		ck_assert(memcmp(cmd.arg, c->arg, cmd.arglen) == 0);
	}
	if (c->path != NULL)
		ck_assert_str_eq(cmd.path, c->path);
	ck_assert(cmd.size == c->size);
	ck_assert_int_eq(cmd.body, c->body);
}
END_TEST

/* Extension parameters (smtp_parse_ext with every flag). */
static const struct {
	const char *line;
	unsigned int flags;
	const char *reply;		/* NULL: accepted */
	const char *want;		/* field value to compare, see the test */
} ext_cases[] = {
	{ "MAIL FROM:<a@b.example> RET=HDRS ENVID=QQ+2B1", SMTP_EXT_DSN, NULL, "HDRS|QQ+1" },
	{ "MAIL FROM:<a@b.example> ret=full", SMTP_EXT_DSN, NULL, "FULL|" },
	{ "MAIL FROM:<a@b.example> RET=ALL", SMTP_EXT_DSN, "501 5.5.4 Bad RET parameter", NULL },
	{ "MAIL FROM:<a@b.example> RET=FULL RET=HDRS", SMTP_EXT_DSN, "501 5.5.4 Duplicate RET parameter", NULL },
	{ "MAIL FROM:<a@b.example> ENVID=a+0Ab", SMTP_EXT_DSN, "501 5.5.4 Bad ENVID parameter", NULL },
	{ "MAIL FROM:<a@b.example> ENVID=a+2", SMTP_EXT_DSN, "501 5.5.4 Bad ENVID parameter", NULL },
	{ "MAIL FROM:<a@b.example> RET=FULL", 0, "555 5.5.4 Unsupported parameter: RET", NULL },
	{ "RCPT TO:<u@b.example> NOTIFY=delay,Failure", SMTP_EXT_DSN, NULL, "DELAY,FAILURE|" },
	{ "RCPT TO:<u@b.example> NOTIFY=NEVER", SMTP_EXT_DSN, NULL, "NEVER|" },
	{ "RCPT TO:<u@b.example> NOTIFY=NEVER,DELAY", SMTP_EXT_DSN, "501 5.5.4 Bad NOTIFY parameter", NULL },
	{ "RCPT TO:<u@b.example> NOTIFY=SUCCESS,SUCCESS", SMTP_EXT_DSN, "501 5.5.4 Bad NOTIFY parameter", NULL },
	{ "RCPT TO:<u@b.example> NOTIFY=SUCCESS,", SMTP_EXT_DSN, "501 5.5.4 Bad NOTIFY parameter", NULL },
	{ "RCPT TO:<u@b.example> ORCPT=rfc822;u+40b.example", SMTP_EXT_DSN, NULL, "|rfc822;u@b.example" },
	{ "RCPT TO:<u@b.example> ORCPT=u@b.example", SMTP_EXT_DSN, "501 5.5.4 Bad ORCPT parameter", NULL },
	{ "RCPT TO:<u@b.example> ORCPT=rfc822;u+0Db", SMTP_EXT_DSN, "501 5.5.4 Bad ORCPT parameter", NULL },
	{ "RCPT TO:<u@b.example> NOTIFY=NEVER", SMTP_EXT_SMTPUTF8, "555 5.5.4 Unsupported parameter: NOTIFY", NULL },
	{ "MAIL FROM:<j\xc3\xbcrgen@b.example> SMTPUTF8", SMTP_EXT_SMTPUTF8, NULL, "utf8" },
	{ "MAIL FROM:<j\xc3\xbcrgen@b.example>", SMTP_EXT_SMTPUTF8, "553 5.6.7 Non-ASCII address needs the SMTPUTF8 parameter", NULL },
	{ "MAIL FROM:<j\xc3@b.example> SMTPUTF8", SMTP_EXT_SMTPUTF8, "501 5.1.7 Bad sender address syntax: invalid UTF-8 in address", NULL },
	{ "MAIL FROM:<a@b.example> SMTPUTF8=1", SMTP_EXT_SMTPUTF8, "501 5.5.4 Bad SMTPUTF8 parameter", NULL },
	{ "RCPT TO:<\xc3\xa9@\xc3\xa9.example>", SMTP_EXT_UTF8_ADDR, NULL, "" },
	{ "RCPT TO:<\xc3\xa9@b.example>", 0, "553 5.6.7 Non-ASCII recipient address needs an SMTPUTF8 transaction (MAIL FROM:<...> SMTPUTF8)", NULL },
	{ "RCPT TO:\xc3\xa9@b.example", SMTP_EXT_SMTPUTF8, "553 5.6.7 Non-ASCII recipient address needs an SMTPUTF8 transaction (MAIL FROM:<...> SMTPUTF8)", NULL },
	/* smtp.strict_rfc5321 */
	{ "MAIL FROM:a@b.example", SMTP_PARSE_STRICT, "501 5.5.4 Syntax: MAIL FROM:<address>", NULL },
	{ "RCPT TO:u@b.example", SMTP_PARSE_STRICT, "501 5.5.4 Syntax: RCPT TO:<address>", NULL },
	{ "MAIL FROM:<@relay.example:a@b.example>", SMTP_PARSE_STRICT, "501 5.1.7 Bad sender address syntax: source routes are not accepted", NULL },
	{ "MAIL FROM:<a@b.example>", SMTP_PARSE_STRICT, NULL, "" },
	{ "BDAT 1000 LAST", 0, NULL, "1000 1" },
	{ "BDAT 0", 0, NULL, "0 0" },
	{ "BDAT 10 last", 0, NULL, "10 1" },
	{ "BDAT", 0, "501 5.5.4 Syntax: BDAT size [LAST]", NULL },
	{ "BDAT 10 FIRST", 0, "501 5.5.4 Syntax: BDAT size [LAST]", NULL },
	{ "BDAT -1", 0, "501 5.5.4 Syntax: BDAT size [LAST]", NULL },
	{ "BDAT 1234567890123456789", 0, "501 5.5.4 Syntax: BDAT size [LAST]", NULL },
	{ "AUTH", 0, "501 5.5.4 Syntax: AUTH mechanism", NULL },
};

START_TEST(test_ext_table)
{
	struct smtp_cmd cmd;
	char got[600];
	int r;

	r = smtp_parse_ext(ext_cases[_i].line, strlen(ext_cases[_i].line),
	    ext_cases[_i].flags, &cmd);
	if (ext_cases[_i].reply != NULL) {
		ck_assert_msg(r == -1, "%s: parsed", ext_cases[_i].line);
		ck_assert_str_eq(cmd.reply, ext_cases[_i].reply);
		return;
	}
	ck_assert_msg(r == 0, "%s: %s", ext_cases[_i].line, cmd.reply);
	if (cmd.verb == SMTP_BDAT)
		snprintf(got, sizeof(got), "%lld %d", cmd.chunk, cmd.last);
	else if (strcmp(ext_cases[_i].want, "utf8") == 0)
		snprintf(got, sizeof(got), "%s", cmd.smtputf8 ? "utf8" : "");
	else if (ext_cases[_i].want[0] == '\0')
		got[0] = '\0';
	else if (cmd.verb == SMTP_MAIL)
		snprintf(got, sizeof(got), "%s|%s", cmd.ret == SMTP_RET_FULL ?
		    "FULL" : cmd.ret == SMTP_RET_HDRS ? "HDRS" : "", cmd.envid);
	else
		snprintf(got, sizeof(got), "%s|%s", cmd.notify, cmd.orcpt);
	ck_assert_str_eq(got, ext_cases[_i].want);
}
END_TEST

START_TEST(test_xtext)
{
	char out[8];

	ck_assert_int_eq(smtp_xtext_decode("a+2Bb", 5, out, sizeof(out)), 3);
	ck_assert_str_eq(out, "a+b");
	ck_assert_int_eq(smtp_xtext_decode("+2b", 3, out, sizeof(out)), -1);
	ck_assert_int_eq(smtp_xtext_decode("a=b", 3, out, sizeof(out)), -1);
	ck_assert_int_eq(smtp_xtext_decode("a b", 3, out, sizeof(out)), -1);
	ck_assert_int_eq(smtp_xtext_decode("+4", 2, out, sizeof(out)), -1);
	ck_assert_int_eq(smtp_xtext_decode("abcdefgh", 8, out, sizeof(out)), -1);
	ck_assert_int_eq(smtp_xtext_decode("abcdefg", 7, out, sizeof(out)), 7);
}
END_TEST

START_TEST(test_http)
{
	static const char *const yes[] = { "GET / HTTP/1.1", "POST /x HTTP/1.0",
	    "CONNECT relay.example:25 HTTP/1.1", "get /", "HEAD / HTTP/1.1" };
	static const char *const no[] = { "GET", "GETX / HTTP/1.1", "HELO get",
	    "MAIL FROM:<get@b.example>", "", "POSTMASTER x" };
	size_t i;

	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		ck_assert_msg(smtp_is_http(yes[i], strlen(yes[i])), "%s", yes[i]);
	for (i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		ck_assert_msg(!smtp_is_http(no[i], strlen(no[i])), "%s", no[i]);
}
END_TEST

START_TEST(test_nul)
{
	static const char line[] = "MAIL FROM:<a@b.example>\0 SIZE=1";
	static const char line2[] = "NO\0OP";
	struct smtp_cmd cmd;

	ck_assert_int_eq(smtp_parse(line, sizeof(line) - 1, &cmd), -1);
	ck_assert_str_eq(cmd.reply, "500 5.5.2 Error: NUL character in command");
	ck_assert_int_eq(smtp_parse(line2, sizeof(line2) - 1, &cmd), -1);
	ck_assert_str_eq(cmd.reply, "500 5.5.2 Error: NUL character in command");
}
END_TEST

START_TEST(test_length_bound)
{
	struct smtp_cmd cmd;

	/* only the first len bytes count */
	ck_assert_int_eq(smtp_parse("QUIT now", 4, &cmd), 0);
	ck_assert_int_eq(cmd.verb, SMTP_QUIT);
	ck_assert_int_eq(smtp_parse("RCPT TO:<a@b.example>", 20, &cmd), -1);
	ck_assert_int_eq(smtp_parse("MAIL FROM:<a@b.example> SIZE=12", 30, &cmd), 0);
	ck_assert(cmd.size == 1);
}
END_TEST

START_TEST(test_long_path)
{
	char line[600], local[70], dom[300];
	struct smtp_cmd cmd;

	memset(local, 'a', 65);
	local[65] = '\0';
	snprintf(line, sizeof(line), "RCPT TO:<%s@example.com>", local);
	ck_assert_int_eq(smtp_parse(line, strlen(line), &cmd), -1);
	ck_assert_str_eq(cmd.reply,
	    "501 5.1.3 Bad recipient address syntax: local part too long");
	ck_assert_int_eq(cmd.addr_status, ADDR_ETOOLONG);
	memset(dom, 'b', 250);
	dom[250] = '\0';
	snprintf(line, sizeof(line), "MAIL FROM:<u@%s>", dom);
	ck_assert_int_eq(smtp_parse(line, strlen(line), &cmd), -1);
	ck_assert_int_eq(cmd.addr_status, ADDR_ETOOLONG);
}
END_TEST

START_TEST(test_verb_names)
{
	ck_assert_str_eq(smtp_verb_name(SMTP_MAIL), "MAIL");
	ck_assert_str_eq(smtp_verb_name(SMTP_STARTTLS), "STARTTLS");
	ck_assert_str_eq(smtp_verb_name(SMTP_UNKNOWN), "UNKNOWN");
}
END_TEST

/* smtp_parse_suite - every test of this file */
static Suite *
smtp_parse_suite(void)
{
	Suite *s = suite_create("smtp_parse");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_cmd_table, 0,
	    (int)(sizeof(cmd_cases) / sizeof(cmd_cases[0])));
	tcase_add_test(tc, test_nul);
	tcase_add_test(tc, test_http);
	tcase_add_loop_test(tc, test_ext_table, 0,
	    sizeof(ext_cases) / sizeof(ext_cases[0]));
	tcase_add_test(tc, test_xtext);
	tcase_add_test(tc, test_length_bound);
	tcase_add_test(tc, test_long_path);
	tcase_add_test(tc, test_verb_names);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(smtp_parse_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
