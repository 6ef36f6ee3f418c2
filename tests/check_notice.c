/*
 * check_notice.c - unit tests of the notices to the sender (notice.c):
 * the template parser, the recipient marks, the decision over the ended
 * jobs of a message, the composed text (golden), and the DSN a failure
 * notice replaces (bounce_select); and the spool's records of ended
 * jobs (spool_notice.c) in a scratch spool.
 */
#include "config.h"

#include <sys/stat.h>

#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bounce.h"
#include "cfg.h"
#include "msginfo.h"
#include "notice.h"

/* Template texts and what the parser must make of them. */
static const struct {
	const char *text;
	int ok;
	const char *subject;		/* NULL: none */
	const char *body;
} tpl_cases[] = {
	{ "Subject: Done: {subject}\n\nBody {queue_id}\n", 1, "Done: {subject}",
	  "Body {queue_id}\n" },
	{ "Subject:   spaced  \r\n\r\nCRLF body\r\n", 1, "spaced  ",
	  "CRLF body\r\n" },
	{ "just a body\n", 1, NULL, "just a body\n" },
	{ "", 1, NULL, "" },
	{ "subject: lower case\n\nb", 1, "lower case", "b" },
	{ "Subject: no empty line\nbody\n", 0, NULL, NULL },
	{ "Subject: at the end only", 0, NULL, NULL },
	{ "Subject: x\n", 0, NULL, NULL },
};

START_TEST(template_parse)
{
	struct notice_template t;
	char err[128];
	int rc;

	rc = notice_template_parse(tpl_cases[_i].text,
	    strlen(tpl_cases[_i].text), &t, err, sizeof(err));
	ck_assert_msg(rc == (tpl_cases[_i].ok ? 0 : -1), "case %d: rc %d (%s)",
	    _i, rc, rc ? err : "");
	if (rc != 0)
		return;
	if (tpl_cases[_i].subject == NULL)
		ck_assert_ptr_null(t.subject);
	else
		ck_assert_str_eq(t.subject, tpl_cases[_i].subject);
	ck_assert_str_eq(t.body, tpl_cases[_i].body);
	notice_template_free(&t);
}
END_TEST

/* A NUL inside or a file past the cap is not a template. */
START_TEST(template_limits)
{
	struct notice_template t;
	char err[128], *big = malloc(NOTICE_TEMPLATE_MAX + 2);

	ck_assert_int_eq(notice_template_parse("a\0b", 3, &t, err,
	    sizeof(err)), -1);
	memset(big, 'x', NOTICE_TEMPLATE_MAX + 1);
	big[NOTICE_TEMPLATE_MAX + 1] = '\0';
	ck_assert_int_eq(notice_template_parse(big, NOTICE_TEMPLATE_MAX + 1,
	    &t, err, sizeof(err)), -1);
	ck_assert_int_eq(notice_template_parse(big, NOTICE_TEMPLATE_MAX, &t,
	    err, sizeof(err)), 0);
	notice_template_free(&t);
	free(big);
}
END_TEST

/* job - a job envelope of connector, recipients "addr:state[:name=v;name=v]" */
static void
job(struct envelope *e, const char *connector, const char *const *rcpts)
{
	struct envelope_rcpt *r;
	char buf[256], *st, *pv, *eq;

	memset(e, 0, sizeof(*e));
	e->kind = ENVELOPE_JOB;
	snprintf(e->id, sizeof(e->id), "0006152f1a2b3c4d0001");
	e->from = strdup("alice@client.test");
	e->connector = strdup(connector);
	for (; *rcpts != NULL; rcpts++) {
		snprintf(buf, sizeof(buf), "%s", *rcpts);
		st = strchr(buf, ':');
		*st++ = '\0';
		if ((pv = strchr(st, ':')) != NULL)
			*pv++ = '\0';
		r = envelope_add_rcpt(e, buf);
		r->state = strcmp(st, "done") == 0 ? RCPT_DONE :
		    strcmp(st, "failed") == 0 ? RCPT_FAILED : RCPT_DEFERRED;
		r->code = r->state == RCPT_DONE ? 250 : 550;
		snprintf(r->status, sizeof(r->status), "%s",
		    r->state == RCPT_DONE ? "2.0.0" : "5.1.1");
		r->text = strdup(r->state == RCPT_DONE ? "ok" : "no such user");
		for (; pv != NULL; pv = eq) {
			char *val = strchr(pv, '=');

			*val++ = '\0';
			if ((eq = strchr(val, ';')) != NULL)
				*eq++ = '\0';
			envelope_rcpt_set_param(r, pv, val);
		}
	}
}

/* Ended jobs of one message and the notice they call for. */
static const struct {
	const char *a[4], *b[4];	/* recipients of two jobs (b may be empty) */
	enum notice_kind want;
} decide_cases[] = {
	{ { "x@d:done:notice=success,failure;notice-rule=r1", NULL },
	  { "x@d:done:notice=success,failure;notice-rule=r1", NULL },
	  NOTICE_SUCCESS },
	{ { "x@d:done:notice=success,failure;notice-rule=r1", NULL },
	  { "x@d:failed:notice=success,failure;notice-rule=r1", NULL },
	  NOTICE_FAILURE },
	{ { "x@d:failed:notice=success;notice-rule=r1", NULL }, { NULL },
	  NOTICE_NONE },			/* failure not asked for */
	{ { "x@d:done:notice=failure;notice-rule=r1", NULL }, { NULL },
	  NOTICE_NONE },			/* success not asked for */
	{ { "x@d:done", NULL }, { NULL }, NOTICE_NONE },	/* no rule asked */
	{ { "x@d:deferred:notice=success;notice-rule=r1", NULL }, { NULL },
	  NOTICE_NONE },			/* not ended (cannot happen) */
	/* failed over to b: b's record has the outcome */
	{ { "x@d:failed:notice=success;notice-rule=r1;failed-over=b", NULL },
	  { "x@d:done:notice=success;notice-rule=r1;failover-from=a", NULL },
	  NOTICE_SUCCESS },
	/* failed over to a copy under another queue ID: nothing here */
	{ { "x@d:failed:notice=success;notice-rule=r1;failed-over=b as Q",
	    "y@d:done:notice=success;notice-rule=r1", NULL }, { NULL },
	  NOTICE_NONE },
};

START_TEST(decide)
{
	struct envelope jobs[2];
	const char *rule;
	size_t n = decide_cases[_i].b[0] ? 2 : 1;

	job(&jobs[0], "a", decide_cases[_i].a);
	job(&jobs[1], "b", decide_cases[_i].b);
	ck_assert_msg(notice_decide(jobs, n, &rule) == decide_cases[_i].want,
	    "case %d", _i);
	if (decide_cases[_i].want != NOTICE_NONE)
		ck_assert_str_eq(rule, "r1");
	envelope_clear(&jobs[0]);
	envelope_clear(&jobs[1]);
}
END_TEST

/* The marks of a routed recipient: never for the null sender. */
START_TEST(params)
{
	static const char msg[] = "Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?=\r\n"
	    "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"
	    "Content-Type: text/plain\r\n\r\nhi\r\n--b\r\n"
	    "Content-Type: application/pdf; name=\"scan one.pdf\"\r\n\r\nx\r\n"
	    "--b\r\nContent-Type: image/tiff\r\n"
	    "Content-Disposition: attachment; filename=p2.tif\r\n\r\nx\r\n"
	    "--b\r\nContent-Type: image/png\r\n"
	    "Content-Disposition: attachment\r\n\r\nx\r\n--b--\r\n";
	struct cfg_rule rule;
	struct envelope env;
	struct envelope_rcpt *r;
	struct msginfo mi;

	memset(&rule, 0, sizeof(rule));
	rule.name = "scans";
	rule.notify.failure = 1;
	memset(&env, 0, sizeof(env));
	env.from = strdup("alice@client.test");
	ck_assert_int_eq(msginfo_scan_buf(msg, sizeof(msg) - 1, 0, &mi), 0);
	r = envelope_add_rcpt(&env, "x@d");
	notice_params(r, &rule, &env, &mi);
	ck_assert_str_eq(envelope_rcpt_param(r, NOTICE_PARAM), "failure");
	ck_assert_str_eq(envelope_rcpt_param(r, NOTICE_PARAM_RULE), "scans");
	ck_assert_str_eq(envelope_rcpt_param(r, NOTICE_PARAM_SUBJECT), "Grüße");
	ck_assert_str_eq(envelope_rcpt_param(r, NOTICE_PARAM_DOCS),
	    "scan one.pdf, p2.tif, image/png");
	ck_assert(notice_replaces_bounce(r));
	rule.notify.bounce = 1;
	r = envelope_add_rcpt(&env, "y@d");
	notice_params(r, &rule, &env, &mi);
	ck_assert_str_eq(envelope_rcpt_param(r, NOTICE_PARAM), "failure,bounce");
	ck_assert(!notice_replaces_bounce(r));
	envelope_put(&env, &env.from, strdup(""));
	r = envelope_add_rcpt(&env, "z@d");
	notice_params(r, &rule, &env, &mi);
	ck_assert_uint_eq(r->nparams, 0);
	msginfo_free(&mi);
	envelope_clear(&env);
}
END_TEST

/* A failure notice replaces the failure DSN, not an asked-for one. */
START_TEST(replaces_bounce)
{
	static const char *const rc[] = {
	    "a@d:failed:notice=failure;notice-rule=r1",
	    "b@d:failed:notice=failure,bounce;notice-rule=r1",
	    "c@d:failed:notice=failure;notice-rule=r1;notify=FAILURE",
	    "d@d:failed", NULL };
	enum bounce_action act[4];
	struct bounce_opts o;
	struct envelope e;

	memset(&o, 0, sizeof(o));
	o.hostname = "gw.test";
	job(&e, "a", rc);
	ck_assert_uint_eq(bounce_select(&o, &e, 0, act), 3);
	ck_assert_int_eq(act[0], BOUNCE_NONE);
	ck_assert_int_eq(act[1], BOUNCE_FAILED);
	ck_assert_int_eq(act[2], BOUNCE_FAILED);
	ck_assert_int_eq(act[3], BOUNCE_FAILED);
	envelope_clear(&e);
}
END_TEST

/* The whole text of a failure notice (golden), CR LF, header safe. */
START_TEST(compose_golden)
{
	static const char *const a[] = {
	    "ok@d:done:notice=failure;notice-rule=r1", NULL };
	static const char *const b[] = {
	    "bad@d:failed:notice=failure;notice-rule=r1", NULL };
	static const char want[] =
	    "From: MAILER-DAEMON@gw.test\r\n"
	    "To: <alice@client.test>\r\n"
	    "Subject: =?UTF-8?B?RmFpbGVkOiBHcsO8w59lICBYLUV2aWw6IDE=?=\r\n"
	    "Date: Fri, 28 Nov 2025 10:00:00 +0000\r\n"
	    "Message-ID: <0006152f1a2b3c4d0001.failure.notice@gw.test>\r\n"
	    "X-Gatewayd-Notice: failure; queue-id=0006152f1a2b3c4d0001\r\n"
	    "Auto-Submitted: auto-replied\r\n"
	    "MIME-Version: 1.0\r\n"
	    "Content-Type: text/plain; charset=utf-8\r\n"
	    "Content-Transfer-Encoding: 8bit\r\n"
	    "\r\n"
	    "0006152f1a2b3c4d0001 from alice@client.test at "
	    "2025-11-28 10:00:00 UTC: not delivered\r\n"
	    "docs: a.pdf\r\n"
	    "reason: 550 5.1.1 no such user\r\n"
	    "  ok@d: delivered (250 2.0.0 ok)\r\n"
	    "  bad@d: failed (550 5.1.1 no such user)\r\n"
	    "{unknown} {\r\n";
	struct notice_template t;
	struct notice_info in;
	struct envelope jobs[2];
	char err[64], *out = NULL;
	size_t len = 0;
	FILE *fp;
	const char *tpl = "Subject: Failed: {subject}\n\n"
	    "{queue_id} from {sender} at {arrival}: {result}\n"
	    "docs: {documents}\nreason: {reason}\n{destinations}{unknown} {\n";

	setenv("TZ", "UTC", 1);
	tzset();
	job(&jobs[0], "a", a);
	job(&jobs[1], "b", b);
	ck_assert_int_eq(notice_template_parse(tpl, strlen(tpl), &t, err,
	    sizeof(err)), 0);
	memset(&in, 0, sizeof(in));
	in.qid = jobs[0].id;
	in.sender = jobs[0].from;
	in.subject = "Grüße\r\nX-Evil: 1";
	in.docs = "a.pdf";
	in.arrival = 1764324000;
	in.jobs = jobs;
	in.njobs = 2;
	fp = open_memstream(&out, &len);
	ck_assert_int_eq(notice_compose(fp, &t, &in, NOTICE_FAILURE,
	    "MAILER-DAEMON@gw.test", "gw.test", 1764324000), 0);
	fclose(fp);
	ck_assert_msg(strcmp(out, want) == 0, "got:\n%s", out);
	free(out);
	notice_template_free(&t);
	envelope_clear(&jobs[0]);
	envelope_clear(&jobs[1]);
}
END_TEST

/* The encoded-word subject for each length modulo 3 (padding "", "=", "=="). */
START_TEST(compose_subject_b64)
{
	static const char *const a[] = { "ok@d:done", NULL };
	static const char *const subj[] = { "\xc3\xa9", "\xc3\xa9" "a",
	    "\xc3\xa9" "ab" };
	static const char *const want[] = { "Subject: =?UTF-8?B?w6k=?=\r\n",
	    "Subject: =?UTF-8?B?w6lh?=\r\n", "Subject: =?UTF-8?B?w6lhYg==?=\r\n" };
	const char *tpl = "Subject: {subject}\n\nx\n";
	struct notice_template t;
	struct notice_info in;
	struct envelope e;
	char err[64], *out;
	size_t len, i;
	FILE *fp;

	job(&e, "a", a);
	ck_assert_int_eq(notice_template_parse(tpl, strlen(tpl), &t, err,
	    sizeof(err)), 0);
	for (i = 0; i < 3; i++) {
		memset(&in, 0, sizeof(in));
		in.qid = e.id;
		in.sender = e.from;
		in.subject = subj[i];
		in.jobs = &e;
		in.njobs = 1;
		out = NULL;
		len = 0;
		fp = open_memstream(&out, &len);
		ck_assert_int_eq(notice_compose(fp, &t, &in, NOTICE_FAILURE,
		    "MAILER-DAEMON@gw.test", "gw.test", 1764324000), 0);
		fclose(fp);
		ck_assert_msg(strstr(out, want[i]) != NULL, "got:\n%s", out);
		free(out);
	}
	notice_template_free(&t);
	envelope_clear(&e);
}
END_TEST

/* A text past NOTICE_TEXT_MAX is refused, not cut. */
START_TEST(compose_bounded)
{
	static const char *const a[] = { "ok@d:done", NULL };
	struct notice_template t = { NULL, NULL };
	struct notice_info in;
	struct envelope e;
	char *out = NULL, *body;
	size_t len = 0, i;
	FILE *fp;

	job(&e, "a", a);
	body = malloc(20 * 16 + 1);
	for (i = 0; i < 20; i++)
		memcpy(body + i * 16, "{destinations}xx", 16);
	body[20 * 16] = '\0';
	t.body = body;
	memset(&in, 0, sizeof(in));
	in.qid = e.id;
	in.sender = e.from;
	in.jobs = &e;
	in.njobs = 1;
	for (i = 0; i < 2000; i++) {	/* 2,000 destinations, 20 times */
		struct envelope_rcpt *r = envelope_add_rcpt(&e,
		    "a-rather-long-recipient-address@destination.example");

		r->state = RCPT_DONE;
	}
	fp = open_memstream(&out, &len);
	ck_assert_int_eq(notice_compose(fp, &t, &in, NOTICE_SUCCESS, "x",
	    "gw.test", 0), -1);
	fclose(fp);
	ck_assert_uint_le(len, NOTICE_TEXT_MAX + 4096);
	free(out);
	free(body);
	envelope_clear(&e);
}
END_TEST

/* touch - create dir/name in the spool directory */
static void
touch(const char *root, const char *rel)
{
	char path[4096];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	ck_assert_int_ne(fd = open(path, O_CREAT | O_WRONLY, 0600), -1);
	close(fd);
}

/* The records: busy, put (never replaced), list, read, remove, bad names. */
START_TEST(spool_records)
{
	static const char *const one[] = { "x@d:done:notice=success", NULL };
	static const char *const two[] = { "y@d:failed", NULL };
	char root[] = "/tmp/check-notice-XXXXXX", path[4096], err[256];
	struct envelope a, b, got;
	struct spool *sp;
	char **names;
	size_t n;

	ck_assert_ptr_nonnull(mkdtemp(root));
	ck_assert_ptr_nonnull(sp = spool_open(root, 1, (uid_t)-1, (gid_t)-1,
	    err, sizeof(err)));
	ck_assert_int_eq(spool_connector_init(sp, "relay", (uid_t)-1,
	    (gid_t)-1, err, sizeof(err)), 0);
	job(&a, "relay", one);
	job(&b, "relay", two);
	ck_assert_int_eq(spool_notice_busy(sp, a.id), 0);
	touch(root, "incoming/0006152f1a2b3c4d0001");
	ck_assert_int_eq(spool_notice_busy(sp, a.id), 1);
	snprintf(path, sizeof(path), "%s/incoming/%s", root, a.id);
	unlink(path);
	touch(root, "data/0006152f1a2b3c4d0001.relay");
	ck_assert_int_eq(spool_notice_busy(sp, a.id), 1);
	snprintf(path, sizeof(path), "%s/data/%s.relay", root, a.id);
	unlink(path);
	ck_assert_int_eq(spool_notice_busy(sp, a.id), 0);
	ck_assert_int_eq(spool_notice_list(sp, &names, &n), 0);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(spool_notice_put(sp, &a, err, sizeof(err)), 0);
	ck_assert_int_eq(spool_notice_put(sp, &b, err, sizeof(err)), 0);
	ck_assert_int_eq(spool_notice_list(sp, &names, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(names[0], "0006152f1a2b3c4d0001.relay");
	memset(&got, 0, sizeof(got));
	ck_assert_int_eq(spool_notice_read(sp, names[0], &got, err,
	    sizeof(err)), 0);
	ck_assert_str_eq(got.rcpt[0].addr, "x@d");	/* the first is kept */
	ck_assert_int_eq(got.rcpt[0].state, RCPT_DONE);
	envelope_clear(&got);
	ck_assert_int_eq(spool_notice_read(sp, "../incoming/x", &got, err,
	    sizeof(err)), -1);
	ck_assert_int_eq(spool_notice_remove(sp, names[0]), 0);
	ck_assert_int_eq(spool_notice_remove(sp, names[0]), 0);
	spool_free_names(names, n);
	ck_assert_int_eq(spool_notice_list(sp, &names, &n), 0);
	ck_assert_uint_eq(n, 0);
	snprintf(path, sizeof(path), "rm -rf '%s'", root);
	ck_assert_int_eq(system(path), 0);
	spool_close(sp);
	envelope_clear(&a);
	envelope_clear(&b);
}
END_TEST

/* notice_suite - the cases */
static Suite *
notice_suite(void)
{
	Suite *s = suite_create("notice");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, template_parse, 0,
	    (int)(sizeof(tpl_cases) / sizeof(tpl_cases[0])));
	tcase_add_test(tc, template_limits);
	tcase_add_loop_test(tc, decide, 0,
	    (int)(sizeof(decide_cases) / sizeof(decide_cases[0])));
	tcase_add_test(tc, params);
	tcase_add_test(tc, replaces_bounce);
	tcase_add_test(tc, compose_golden);
	tcase_add_test(tc, compose_subject_b64);
	tcase_add_test(tc, compose_bounded);
	tcase_add_test(tc, spool_records);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(notice_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
