/*
 * check_bounce.c - unit tests of the DSN composer (gatewayd/lib/bounce.c)
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bounce.h"
#include "envelope.h"

struct buf {
	char *p;
	size_t len;
};

/* buf_write - bounce_write_fn into memory */
static int
buf_write(void *arg, const void *data, size_t len)
{
	struct buf *b = arg;

	b->p = realloc(b->p, b->len + len + 1);
	memcpy(b->p + b->len, data, len);
	b->len += len;
	b->p[b->len] = '\0';
	return 0;
}

static const struct bounce_opts opts = {
	"gw.test", "postmaster@gw.test", 0, 0, "relayed"
};

/* job - a job with three recipients: done, failed (hostile text), deferred */
static void
job(struct envelope *e)
{
	struct envelope_rcpt *r;

	memset(e, 0, sizeof(*e));
	e->kind = ENVELOPE_JOB;
	memcpy(e->id, "0123456789abcdef0000", 21);
	e->arrival_us = 1700000000000000LL;
	e->from = strdup("sender@client.test");
	e->connector = strdup("relay");
	e->envid = strdup("scan-42");
	r = envelope_add_rcpt(e, "one@example.org");
	r->state = RCPT_DONE;
	r = envelope_add_rcpt(e, "bad@example.org");
	r->state = RCPT_FAILED;
	r->code = 550;
	snprintf(r->status, sizeof(r->status), "5.1.1");
	r->text = strdup("no such user\r\nX-Evil: yes\x07");
	envelope_rcpt_set_param(r, "orcpt", "rfc822;Bad@Example.org");
	r = envelope_add_rcpt(e, "later@example.org");
	r->state = RCPT_DEFERRED;
}

/* original - a data file holding a message */
static int
original(const char *text)
{
	char path[] = "/tmp/check_bounce.XXXXXX";
	int fd = mkstemp(path);

	ck_assert_int_ge(fd, 0);
	unlink(path);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	return fd;
}

START_TEST(select_default_notify)
{
	enum bounce_action a[3];
	struct envelope e;

	job(&e);
	ck_assert_uint_eq(bounce_select(&opts, &e, 1700000100, a), 1);
	ck_assert_int_eq(a[0], BOUNCE_NONE);
	ck_assert_int_eq(a[1], BOUNCE_FAILED);
	ck_assert_int_eq(a[2], BOUNCE_NONE);	/* no delay_warning */
	envelope_rcpt_set_param(&e.rcpt[1], "notify", "NEVER");
	envelope_rcpt_set_param(&e.rcpt[0], "notify", "SUCCESS");
	ck_assert_uint_eq(bounce_select(&opts, &e, 1700000100, a), 1);
	ck_assert_int_eq(a[0], BOUNCE_DELIVERED);
	ck_assert_int_eq(a[1], BOUNCE_NONE);
	envelope_rcpt_set_param(&e.rcpt[0], "dsn-sent", "delivered");
	ck_assert_uint_eq(bounce_select(&opts, &e, 1700000100, a), 0);
	envelope_clear(&e);
}
END_TEST

/* A failed recipient handed to its failover connector gets no notice. */
START_TEST(select_failed_over)
{
	enum bounce_action a[3];
	struct envelope e;

	job(&e);
	ck_assert_uint_eq(bounce_select(&opts, &e, 1700000100, a), 1);
	ck_assert_int_eq(a[1], BOUNCE_FAILED);
	envelope_rcpt_set_param(&e.rcpt[1], BOUNCE_PARAM_FAILED_OVER, "b");
	ck_assert_uint_eq(bounce_select(&opts, &e, 1700000100, a), 0);
	ck_assert_int_eq(a[1], BOUNCE_NONE);
	envelope_clear(&e);
}
END_TEST

START_TEST(select_delay)
{
	struct bounce_opts o = opts;
	enum bounce_action a[3];
	struct envelope e;

	o.delay_warning = 3600;
	job(&e);
	ck_assert_uint_eq(bounce_select(&o, &e, 1700000000 + 60, a), 1);
	ck_assert_int_eq(a[2], BOUNCE_NONE);		/* too early */
	ck_assert_uint_eq(bounce_select(&o, &e, 1700000000 + 3600, a), 2);
	ck_assert_int_eq(a[2], BOUNCE_DELAYED);
	envelope_rcpt_set_param(&e.rcpt[2], "dsn-sent", "delayed");
	ck_assert_uint_eq(bounce_select(&o, &e, 1700000000 + 7200, a), 1);
	ck_assert_int_eq(a[2], BOUNCE_NONE);		/* once only */
	envelope_rcpt_set_param(&e.rcpt[2], "notify", "FAILURE");
	envelope_rcpt_set_param(&e.rcpt[2], "dsn-sent", "");
	envelope_clear(&e);
}
END_TEST

START_TEST(compose_structure)
{
	enum bounce_action a[3] = { BOUNCE_NONE, BOUNCE_FAILED, BOUNCE_NONE };
	struct buf b = { NULL, 0 };
	struct envelope e;
	const char *p;
	int fd;

	job(&e);
	fd = original("Subject: scan\r\nFrom: sender@client.test\r\n\r\nbody\r\n");
	ck_assert_int_eq(bounce_compose(&opts, &e, a, e.from,
	    "fedcba98765432100000", fd, 0, 1, 1700000100, buf_write, &b), 0);
	ck_assert(strstr(b.p, "Content-Type: multipart/report; "
	    "report-type=delivery-status;\r\n\tboundary=\""
	    "fedcba98765432100000/gw.test\"\r\n") != NULL);
	ck_assert(strstr(b.p, "To: <sender@client.test>\r\n") != NULL);
	ck_assert(strstr(b.p, "Subject: Undelivered Mail Returned to Sender\r\n"));
	ck_assert(strstr(b.p, "Content-Type: message/delivery-status\r\n\r\n"
	    "Reporting-MTA: dns; gw.test\r\n") != NULL);
	ck_assert(strstr(b.p, "Original-Envelope-Id: scan-42\r\n") != NULL);
	ck_assert(strstr(b.p, "Original-Recipient: rfc822;Bad@Example.org\r\n"
	    "Final-Recipient: rfc822; bad@example.org\r\nAction: failed\r\n"
	    "Status: 5.1.1\r\n") != NULL);
	/* upstream text cannot add a header line */
	ck_assert(strstr(b.p, "Diagnostic-Code: smtp; 550 5.1.1 no such user??"
	    "X-Evil: yes?\r\n") != NULL);
	ck_assert(strstr(b.p, "\r\nX-Evil") == NULL);
	ck_assert(strstr(b.p, "one@example.org") == NULL);
	ck_assert(strstr(b.p, "Content-Type: message/rfc822\r\n\r\n"
	    "Subject: scan\r\n") != NULL);
	ck_assert(strstr(b.p, "body\r\n") != NULL);
	p = b.p + b.len - strlen("--fedcba98765432100000/gw.test--\r\n");
	ck_assert_str_eq(p, "--fedcba98765432100000/gw.test--\r\n");
	/* every line ends with CRLF */
	for (p = b.p; (p = strchr(p, '\n')) != NULL; p++)
		ck_assert_int_eq(p[-1], '\r');
	close(fd);
	free(b.p);
	envelope_clear(&e);
}
END_TEST

START_TEST(compose_headers_only)
{
	enum bounce_action a[3] = { BOUNCE_NONE, BOUNCE_NONE, BOUNCE_DELAYED };
	struct buf b = { NULL, 0 };
	struct envelope e;
	int fd;

	job(&e);
	fd = original("Subject: scan\nX: y\n\nsecret body\n");
	ck_assert_int_eq(bounce_compose(&opts, &e, a, e.from,
	    "fedcba98765432100000", fd, 0, 0, 1700000100, buf_write, &b), 0);
	ck_assert(strstr(b.p, "Subject: Delayed Mail") != NULL);
	ck_assert(strstr(b.p, "Action: delayed\r\nStatus: 4.0.0\r\n") != NULL);
	ck_assert(strstr(b.p, "Content-Type: text/rfc822-headers\r\n\r\n"
	    "Subject: scan\nX: y\n\r\n--") != NULL);
	ck_assert(strstr(b.p, "secret body") == NULL);
	close(fd);
	free(b.p);
	envelope_clear(&e);
}
END_TEST

/* bounce_suite - the tests */
static Suite *
bounce_suite(void)
{
	Suite *s = suite_create("bounce");
	TCase *tc = tcase_create("dsn");

	tcase_add_test(tc, select_default_notify);
	tcase_add_test(tc, select_failed_over);
	tcase_add_test(tc, select_delay);
	tcase_add_test(tc, compose_structure);
	tcase_add_test(tc, compose_headers_only);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(bounce_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
