/*
 * check_rules.c - unit tests of the routing rules (rules.c)
 *
 * The configuration is built by hand (no YAML): rules with recipient and
 * sender patterns, client networks, a reject rule and a rule naming an
 * unknown connector.  Table-driven match cases, then routing of whole
 * messages: fan-out, unrouted and rejected recipients, default rule.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "envelope.h"
#include "net.h"
#include "rules.h"
#include "xmalloc.h"

static struct cfg_connector conns[2];
static struct cfg_rule rules[8];
static struct cfg cfg;

/* add_net - add a network to a rule's client list */
static void
add_net(struct cfg_rule *r, const char *net)
{
	char err[256];

	ck_assert_msg(net_list_add(&r->client, net, err, sizeof(err)) == 0,
	    "net_list_add %s: %s", net, err);
}

/* setup - the hand-made configuration */
static void
setup(void)
{
	memset(&cfg, 0, sizeof(cfg));
	memset(rules, 0, sizeof(rules));
	memset(conns, 0, sizeof(conns));
	conns[0].name = "archive";
	conns[0].type = "folder";
	conns[1].name = "relay";
	conns[1].type = "smtp";
	cfg.connectors = conns;
	cfg.nconnectors = 2;

	rules[0].name = "reject";
	rules[0].recipient = "spam@*";
	rules[0].reject = 1;
	rules[0].reject_text = "550 5.7.1 go away";
	rules[1].name = "nullsender";
	rules[1].sender = "<>";
	rules[1].recipient = "*@null.example";
	rules[1].connector = "archive";
	rules[2].name = "scanners";
	rules[2].recipient = "*@scan.example";
	add_net(&rules[2], "192.0.2.0/24");
	add_net(&rules[2], "2001:db8::/32");
	rules[2].connector = "archive";
	rules[3].name = "boss";
	rules[3].sender = "boss@example.com";
	rules[3].recipient = "*@scan.example";
	rules[3].connector = "relay";
	rules[4].name = "docs";
	rules[4].recipient = "DOCS-*@Example.COM";
	rules[4].connector = "archive";
	rules[5].name = "ghost";
	rules[5].recipient = "*@ghost.example";
	rules[5].connector = "nosuchconnector";
	rules[6].name = "local";
	rules[6].recipient = "*@example.com";
	rules[6].connector = "relay";
	rules[7].name = "default";
	rules[7].connector = "relay";
	cfg.rules = rules;
	cfg.nrules = 7;		/* without the default rule */
}

/* teardown - free the network lists */
static void
teardown(void)
{
	size_t i;

	for (i = 0; i < sizeof(rules) / sizeof(rules[0]); i++)
		net_list_free(&rules[i].client);
}

/* make_msg - a message envelope with recipients (NULL-terminated) */
static void
make_msg(struct envelope *m, const char *from, const char *client,
    const char *const *rcpts)
{
	memset(m, 0, sizeof(*m));
	m->version = ENVELOPE_VERSION;
	m->kind = ENVELOPE_MESSAGE;
	snprintf(m->id, sizeof(m->id), "0006152f1a2b3c4d0001");
	m->arrival_us = 1764311000123456LL;
	m->listener = xstrdup("smtp");
	m->client = xstrdup(client);
	m->client_name = xstrdup("");
	m->helo = xstrdup("scanner1.example.com");
	m->proto = xstrdup("ESMTP");
	m->body = xstrdup("8BITMIME");
	m->size = 1234;
	m->from = xstrdup(from);
	for (; *rcpts != NULL; rcpts++)
		envelope_add_rcpt(m, *rcpts);
}

static const struct match_case {
	const char *from, *client, *rcpt, *rule;
} match_cases[] = {
	{ "a@b.org", "127.0.0.1", "spam@x.org", "reject" },
	{ "a@b.org", "127.0.0.1", "SPAM@x.org", "reject" },
	{ "", "127.0.0.1", "x@null.example", "nullsender" },
	{ "a@b.org", "127.0.0.1", "x@null.example", NULL },
	{ "", "192.0.2.55", "x@scan.example", "scanners" },
	{ "boss@example.com", "192.0.2.55", "x@scan.example", "scanners" },
	{ "boss@example.com", "198.51.100.1", "x@scan.example", "boss" },
	{ "BOSS@Example.COM", "198.51.100.1", "x@scan.example", "boss" },
	{ "a@b.org", "2001:db8::5", "x@scan.example", "scanners" },
	{ "a@b.org", "2001:db9::5", "x@scan.example", NULL },
	{ "a@b.org", "::ffff:192.0.2.7", "x@scan.example", "scanners" },
	{ "a@b.org", "192.0.3.1", "x@scan.example", NULL },
	{ "a@b.org", "", "x@scan.example", NULL },
	{ "a@b.org", "10.0.0.1", "docs-42@example.com", "docs" },
	{ "a@b.org", "10.0.0.1", "joe@EXAMPLE.com", "local" },
	{ "a@b.org", "10.0.0.1", "joe@other.org", NULL },
	{ "", "10.0.0.1", "joe@other.org", NULL },
};

/* match_table - each case picks the expected rule (first match wins) */
START_TEST(match_table)
{
	const struct match_case *c = &match_cases[_i];
	const char *rc[] = { c->rcpt, NULL };
	struct sockaddr_storage ss;
	const struct sockaddr *sa = NULL;
	const struct cfg_rule *r;
	struct envelope m;

	make_msg(&m, c->from, c->client, rc);
	if (rules_client_addr(c->client, &ss) == 0)
		sa = (const struct sockaddr *)&ss;
	r = rules_match(&cfg, &m, sa, c->rcpt);
	if (c->rule == NULL)
		ck_assert_msg(r == NULL, "case %d: matched %s, expected none",
		    _i, r ? r->name : "");
	else
		ck_assert_msg(r != NULL && strcmp(r->name, c->rule) == 0,
		    "case %d: matched %s, expected %s", _i,
		    r ? r->name : "(none)", c->rule);
	envelope_clear(&m);
}
END_TEST

/* match_default - a rule without conditions takes everything */
START_TEST(match_default)
{
	const char *rc[] = { "joe@other.org", NULL };
	const struct cfg_rule *r;
	struct envelope m;

	cfg.nrules = 8;
	make_msg(&m, "", "203.0.113.9", rc);
	r = rules_match(&cfg, &m, NULL, "joe@other.org");
	ck_assert_ptr_nonnull(r);
	ck_assert_str_eq(r->name, "default");
	/* earlier rules still win */
	r = rules_match(&cfg, &m, NULL, "docs-1@example.com");
	ck_assert_str_eq(r->name, "docs");
	envelope_clear(&m);
}
END_TEST

/* find_job - the job for a connector, or NULL */
static struct envelope *
find_job(struct envelope *jobs, size_t n, const char *connector)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(jobs[i].connector, connector) == 0)
			return &jobs[i];
	return NULL;
}

/* route_fanout - one message, two connectors, fields copied */
START_TEST(route_fanout)
{
	const char *rc[] = { "docs-1@example.com", "joe@example.com",
	    "docs-2@example.com", NULL };
	struct envelope m, *jobs, *a, *r;
	size_t n;

	make_msg(&m, "sender@example.com", "192.0.2.1", rc);
	envelope_rcpt_set_param(&m.rcpt[1], "format", "pdf");
	ck_assert_int_eq(rules_route(&cfg, &m, &jobs, &n), 0);
	ck_assert_uint_eq(n, 2);
	a = find_job(jobs, n, "archive");
	r = find_job(jobs, n, "relay");
	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(r);
	ck_assert_ptr_null(find_job(jobs, n, RULES_ROUTER_CONNECTOR));
	ck_assert_uint_eq(a->nrcpt, 2);
	ck_assert_str_eq(a->rcpt[0].addr, "docs-1@example.com");
	ck_assert_str_eq(a->rcpt[1].addr, "docs-2@example.com");
	ck_assert_int_eq(a->rcpt[0].state, RCPT_PENDING);
	ck_assert_uint_eq(r->nrcpt, 1);
	ck_assert_str_eq(r->rcpt[0].addr, "joe@example.com");
	ck_assert_str_eq(envelope_rcpt_param(&r->rcpt[0], "format"), "pdf");
	ck_assert_int_eq(a->kind, ENVELOPE_JOB);
	ck_assert_uint_eq(a->attempts, 0);
	ck_assert_str_eq(a->id, m.id);
	ck_assert_str_eq(a->from, "sender@example.com");
	ck_assert_str_eq(a->client, "192.0.2.1");
	ck_assert_str_eq(a->helo, "scanner1.example.com");
	ck_assert(a->arrival_us == m.arrival_us);
	ck_assert(a->size == 1234);
	rules_free_jobs(jobs, n);
	envelope_clear(&m);
}
END_TEST

/* route_unrouted - no rule, reject rule, unknown connector -> _router failed */
START_TEST(route_unrouted)
{
	const char *rc[] = { "joe@other.org", "spam@x.org", "joe@example.com",
	    "x@ghost.example", NULL };
	struct envelope m, *jobs, *f, *r;
	size_t n;

	make_msg(&m, "sender@example.com", "192.0.2.1", rc);
	ck_assert_int_eq(rules_route(&cfg, &m, &jobs, &n), 0);
	ck_assert_uint_eq(n, 2);
	r = find_job(jobs, n, "relay");
	f = find_job(jobs, n, RULES_ROUTER_CONNECTOR);
	ck_assert_ptr_nonnull(r);
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(r->nrcpt, 1);
	ck_assert_uint_eq(f->nrcpt, 3);
	ck_assert_int_eq(f->kind, ENVELOPE_JOB);
	ck_assert_str_eq(f->rcpt[0].addr, "joe@other.org");
	ck_assert_int_eq(f->rcpt[0].state, RCPT_FAILED);
	ck_assert_int_eq(f->rcpt[0].code, 550);
	ck_assert_str_eq(f->rcpt[0].status, "5.1.1");
	ck_assert_str_eq(f->rcpt[0].text, "no route for recipient");
	ck_assert_str_eq(f->rcpt[1].addr, "spam@x.org");
	ck_assert_int_eq(f->rcpt[1].state, RCPT_FAILED);
	ck_assert_int_eq(f->rcpt[1].code, 550);
	ck_assert_str_eq(f->rcpt[1].status, "5.7.1");
	ck_assert_str_eq(f->rcpt[1].text, "go away");
	ck_assert_str_eq(f->rcpt[2].addr, "x@ghost.example");
	ck_assert_int_eq(f->rcpt[2].state, RCPT_FAILED);
	ck_assert_str_eq(f->rcpt[2].status, "5.1.1");
	ck_assert_ptr_nonnull(f->last_error);
	rules_free_jobs(jobs, n);
	envelope_clear(&m);
}
END_TEST

/* route_default - with a default rule nothing is unrouted */
START_TEST(route_default)
{
	const char *rc[] = { "joe@other.org", "spam@x.org", NULL };
	struct envelope m, *jobs;
	size_t n;

	cfg.nrules = 8;
	make_msg(&m, "", "::1", rc);
	ck_assert_int_eq(rules_route(&cfg, &m, &jobs, &n), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_uint_eq(find_job(jobs, n, "relay")->nrcpt, 1);
	ck_assert_uint_eq(find_job(jobs, n, RULES_ROUTER_CONNECTOR)->nrcpt, 1);
	ck_assert_str_eq(jobs[1].from, "");
	rules_free_jobs(jobs, n);
	envelope_clear(&m);
}
END_TEST

/* route_norcpt - a message without recipients is refused */
START_TEST(route_norcpt)
{
	const char *rc[] = { NULL };
	struct envelope m, *jobs;
	size_t n;

	make_msg(&m, "a@b.org", "127.0.0.1", rc);
	ck_assert_int_eq(rules_route(&cfg, &m, &jobs, &n), -1);
	ck_assert_uint_eq(n, 0);
	envelope_clear(&m);
}
END_TEST

static const struct reject_case {
	const char *in;
	int code;
	const char *status, *text;
} reject_cases[] = {
	{ NULL, 550, "5.7.1", "rejected by rule" },
	{ "", 550, "5.7.1", "rejected by rule" },
	{ "550 5.7.1 go away", 550, "5.7.1", "go away" },
	{ "554 go away", 554, "5.7.1", "go away" },
	{ "5.7.0 nope", 550, "5.7.0", "nope" },
	{ "not here", 550, "5.7.1", "not here" },
	{ "451 4.7.1 later", 550, "5.7.1", "451 4.7.1 later" },
	{ "553", 553, "5.7.1", "rejected by rule" },
};

/* reject_reply - reject_text parsing */
START_TEST(reject_reply)
{
	const struct reject_case *c = &reject_cases[_i];
	struct cfg_rule r;
	char status[16], text[RULES_TEXT_MAX];
	int code;

	memset(&r, 0, sizeof(r));
	r.reject = 1;
	r.reject_text = (char *)c->in;
	rules_reject_reply(&r, &code, status, text, sizeof(text));
	ck_assert_int_eq(code, c->code);
	ck_assert_str_eq(status, c->status);
	ck_assert_str_eq(text, c->text);
}
END_TEST

/* rules_suite - all cases */
static Suite *
rules_suite(void)
{
	Suite *s = suite_create("rules");
	TCase *tc = tcase_create("rules");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, match_table, 0,
	    (int)(sizeof(match_cases) / sizeof(match_cases[0])));
	tcase_add_test(tc, match_default);
	tcase_add_test(tc, route_fanout);
	tcase_add_test(tc, route_unrouted);
	tcase_add_test(tc, route_default);
	tcase_add_test(tc, route_norcpt);
	tcase_add_loop_test(tc, reject_reply, 0,
	    (int)(sizeof(reject_cases) / sizeof(reject_cases[0])));
	suite_add_tcase(s, tc);
	return s;
}

/* main - run the suite; non-zero exit on failure */
int
main(void)
{
	SRunner *sr = srunner_create(rules_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
