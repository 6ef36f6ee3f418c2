/*
 * check_web_mail.c - unit tests of a "Send documents" submission's text
 * (web_mail.c: destinations, the message, SMTP replies) and of the
 * hand-off record (handoff.c: the payload parser, and records over a real
 * SOCK_SEQPACKET socketpair)
 */
#include "config.h"

#include <sys/socket.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "handoff.h"
#include "web_mail.h"

static const struct {
	const char *kind, *to, *domain;
	const char *want;		/* NULL: refused */
} rcpt_cases[] = {
	{ "email", "ap@example.com", "gw.test", "ap@example.com" },
	{ "email", "ap@example.com", NULL, "ap@example.com" },
	{ "email", "no-at-sign", "gw.test", NULL },
	{ "email", "a b@example.com", "gw.test", NULL },
	{ "email", "<ap@example.com>", "gw.test", NULL },
	{ "email", "ap@example.com\r\nRCPT TO:<x@y>", "gw.test", NULL },
	{ "email", "", "gw.test", NULL },
	{ "fax", "+49 (30) 123-4567", "gw.test", "FAX=+49301234567@gw.test" },
	{ "fax", "16038901957", "gw.test", "FAX=16038901957@gw.test" },
	{ "fax", "call me", "gw.test", NULL },
	{ "fax", "16038901957", NULL, NULL },
	{ "directive", "K7Q2M9XA", "gw.test", "ed-K7Q2M9XA@gw.test" },
	{ "directive", "ED:K7Q2M9XA", "gw.test", "ed-K7Q2M9XA@gw.test" },
	{ "directive", "K7Q2-M9XA", "gw.test", NULL },
	{ "directive", "K7Q2M9XA@x", "gw.test", NULL },
	{ "pigeon", "x@y.z", "gw.test", NULL },
	{ NULL, "x@y.z", "gw.test", NULL },
};

START_TEST(test_rcpt)
{
	char out[320], err[256];
	int rc;

	rc = web_mail_rcpt(rcpt_cases[_i].kind, rcpt_cases[_i].to,
	    rcpt_cases[_i].domain, "ed-", out, sizeof(out), err, sizeof(err));
	if (rcpt_cases[_i].want == NULL)
		ck_assert_int_eq(rc, -1);
	else {
		ck_assert_int_eq(rc, 0);
		ck_assert_str_eq(out, rcpt_cases[_i].want);
	}
}
END_TEST

START_TEST(test_from)
{
	char out[320];

	web_mail_from("alice@gw.test", "corp.test", "gw", out, sizeof(out));
	ck_assert_str_eq(out, "alice@gw.test");
	web_mail_from("alice", "corp.test", "gw", out, sizeof(out));
	ck_assert_str_eq(out, "alice@corp.test");
	web_mail_from("alice", NULL, "gw.example", out, sizeof(out));
	ck_assert_str_eq(out, "alice@gw.example");
}
END_TEST

static const struct {
	const char *line;
	int rc, code, more;
} reply_cases[] = {
	{ "250 2.0.0 Ok", 0, 250, 0 },
	{ "250-PIPELINING", 0, 250, 1 },
	{ "354", 0, 354, 0 },
	{ "550 5.1.1 no route", 0, 550, 0 },
	{ "25", -1, 0, 0 },
	{ "650 x", -1, 0, 0 },
	{ "2a0 x", -1, 0, 0 },
	{ "250x", -1, 0, 0 },
	{ "", -1, 0, 0 },
};

START_TEST(test_reply)
{
	int code = 0, more = 0;

	ck_assert_int_eq(web_mail_reply(reply_cases[_i].line, &code, &more),
	    reply_cases[_i].rc);
	if (reply_cases[_i].rc == 0) {
		ck_assert_int_eq(code, reply_cases[_i].code);
		ck_assert_int_eq(more, reply_cases[_i].more);
	}
}
END_TEST

START_TEST(test_qid)
{
	char qid[24];

	ck_assert_int_eq(web_mail_qid("250 2.0.0 Ok: queued as "
	    "0661e6c98a469b000000", qid, sizeof(qid)), 0);
	ck_assert_str_eq(qid, "0661e6c98a469b000000");
	ck_assert_int_eq(web_mail_qid("250 2.0.0 Ok", qid, sizeof(qid)), -1);
	ck_assert_int_eq(web_mail_qid("250 queued as 0661e6c98a469b00000",
	    qid, sizeof(qid)), -1);
	ck_assert_int_eq(web_mail_qid("250 queued as ../../etc/passwdxxxxx",
	    qid, sizeof(qid)), -1);
	ck_assert_int_eq(web_mail_qid("250 queued as 0661e6c98a469b000000",
	    qid, 10), -1);
}
END_TEST

/* write a message with m's fields; the text (freed by the caller) */
static char *
write_mail(const struct web_mail *m)
{
	char *text = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&text, &len);

	ck_assert_ptr_nonnull(fp);
	ck_assert_int_eq(web_mail_write(fp, m), 0);
	fclose(fp);
	return text;
}

START_TEST(test_write)
{
	static const unsigned char pdf[] = "%PDF\0\1\2\377xyz";
	struct web_mail_file f[2];
	struct web_mail m;
	char *t, *p;

	memset(&m, 0, sizeof(m));
	memset(f, 0, sizeof(f));
	snprintf(f[0].name, sizeof(f[0].name), "C:\\scans\\a\"b.pdf");
	snprintf(f[0].type, sizeof(f[0].type), "application/pdf");
	f[0].data = pdf;
	f[0].len = sizeof(pdf) - 1;
	snprintf(f[1].name, sizeof(f[1].name), "\xc3\x9c" "bersicht.txt");
	snprintf(f[1].type, sizeof(f[1].type), "text/plain\r\nX-Evil: 1");
	f[1].data = (const unsigned char *)"hi";
	f[1].len = 2;
	m.from = "alice@gw.test";
	m.to = "ap@example.com";
	m.subject = "Caf\xc3\xa9 <report>\r\nBcc: x@y";
	m.note = "line\n.dot\r\n..two";
	m.msgid_domain = "gw.test";
	m.boundary = "=_gwB";
	m.msgid = "abc.web";
	m.date = 0;
	m.files = f;
	m.nfiles = 2;
	t = write_mail(&m);
	ck_assert_ptr_nonnull(strstr(t, "From: <alice@gw.test>\r\n"));
	ck_assert_ptr_nonnull(strstr(t, "Subject: =?UTF-8?B?"));
	ck_assert_ptr_null(strstr(t, "\nBcc:"));
	ck_assert_ptr_nonnull(strstr(t, "Message-ID: <abc.web@gw.test>\r\n"));
	ck_assert_ptr_nonnull(strstr(t, "\r\nline\r\n..dot\r\n...two\r\n"));
	/* the directory goes, the quote is replaced; the PDF in base64 */
	ck_assert_ptr_nonnull(strstr(t, "filename=\"a_b.pdf\""));
	ck_assert_ptr_nonnull(strstr(t, "JVBERgABAv94eXo=\r\n"));
	ck_assert_ptr_nonnull(strstr(t, "filename*=UTF-8''%C3%9Cbersicht.txt"));
	/* a content type that is not a token: octet-stream, no header injected */
	ck_assert_ptr_null(strstr(t, "X-Evil"));
	ck_assert_ptr_nonnull(strstr(t, "application/octet-stream"));
	ck_assert_ptr_nonnull(strstr(t, "\r\n--=_gwB--\r\n"));
	for (p = t; (p = strchr(p, '\n')) != NULL; p++)
		ck_assert(p > t && p[-1] == '\r');	/* no bare LF */
	free(t);
}
END_TEST

START_TEST(test_write_base64_note)
{
	struct web_mail m;
	char *t;

	memset(&m, 0, sizeof(m));
	m.from = "a@b.c";
	m.to = "d@e.f";
	m.subject = "plain";
	m.note = "gr\xc3\xbc\xc3\x9f";
	m.msgid_domain = "gw.test";
	m.boundary = "B";
	m.msgid = "1";
	t = write_mail(&m);
	ck_assert_ptr_nonnull(strstr(t, "Subject: plain\r\n"));
	ck_assert_ptr_nonnull(strstr(t, "base64\r\n\r\nZ3LDvMOf\r\n"));
	free(t);
}
END_TEST

static const struct {
	const char *buf;
	size_t len;
	int ok;
} decode_cases[] = {
	{ "alice\0" "127.0.0.1", 16, 1 },
	{ "alice@gw.test\0" "::1", 18, 1 },
	{ "alice\0" "127.0.0.1", 15, 0 },		/* no terminator */
	{ "alice\0" "127.0.0.1\0x", 18, 0 },		/* leftover */
	{ "\0" "127.0.0.1", 11, 0 },			/* empty user */
	{ "al ice\0" "127.0.0.1", 17, 0 },		/* a space */
	{ "alice\0" "localhost", 16, 0 },		/* not numeric */
	{ "alice\n\0" "127.0.0.1", 17, 0 },
	{ "j\xc3\xb6rg\0" "127.0.0.1", 16, 1 },		/* a UTF-8 login */
	{ "j\x7frg\0" "127.0.0.1", 15, 0 },
	{ "", 0, 0 },
};

START_TEST(test_decode)
{
	char user[HANDOFF_USER_MAX + 1], ip[HANDOFF_IP_MAX + 1];
	const char *why = NULL;
	int rc;

	rc = handoff_decode(decode_cases[_i].buf, decode_cases[_i].len, user,
	    ip, &why);
	ck_assert_int_eq(rc == 0, decode_cases[_i].ok);
	if (rc == -1)
		ck_assert_ptr_nonnull(why);
}
END_TEST

START_TEST(test_records)
{
	char user[HANDOFF_USER_MAX + 1], ip[HANDOFF_IP_MAX + 1];
	int sp[2], st[2], pp[2], fd;
	const char *why;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sp), 0);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, st), 0);
	ck_assert_int_eq(pipe(pp), 0);
	ck_assert_int_eq(handoff_recv(sp[1], &fd, user, ip, &why), 0);
	ck_assert_int_eq(handoff_send(sp[0], st[0], "bob", "10.0.0.1"), 0);
	ck_assert_int_eq(handoff_recv(sp[1], &fd, user, ip, &why), 1);
	ck_assert_str_eq(user, "bob");
	ck_assert_str_eq(ip, "10.0.0.1");
	ck_assert_int_ge(fd, 0);
	close(fd);
	/* a pipe is not a Unix stream socket */
	ck_assert_int_eq(handoff_send(sp[0], pp[0], "bob", "10.0.0.1"), 0);
	ck_assert_int_eq(handoff_recv(sp[1], &fd, user, ip, &why), -1);
	ck_assert_int_eq(fd, -1);
	/* no descriptor at all */
	ck_assert_int_eq(send(sp[0], "bob\0" "10.0.0.1", 13, 0), 13);
	ck_assert_int_eq(handoff_recv(sp[1], &fd, user, ip, &why), -1);
	close(sp[0]);
	ck_assert_int_eq(handoff_recv(sp[1], &fd, user, ip, &why), -2);
	close(sp[1]);
	close(st[0]);
	close(st[1]);
	close(pp[0]);
	close(pp[1]);
}
END_TEST

static Suite *
web_mail_suite(void)
{
	Suite *s = suite_create("web_mail");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_rcpt, 0,
	    sizeof(rcpt_cases) / sizeof(rcpt_cases[0]));
	tcase_add_test(tc, test_from);
	tcase_add_loop_test(tc, test_reply, 0,
	    sizeof(reply_cases) / sizeof(reply_cases[0]));
	tcase_add_test(tc, test_qid);
	tcase_add_test(tc, test_write);
	tcase_add_test(tc, test_write_base64_note);
	tcase_add_loop_test(tc, test_decode, 0,
	    sizeof(decode_cases) / sizeof(decode_cases[0]));
	tcase_add_test(tc, test_records);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(web_mail_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
