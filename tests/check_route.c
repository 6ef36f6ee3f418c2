/*
 * check_route.c - unit tests of capture-and-route: rule conditions and
 * actions loaded from YAML, lookup tables (csv, yaml; the LDAP filter
 * template, settings and validation rules with a stand-in backend), the directive
 * store (SQLite) and routing through them (rules.c, lookup.c,
 * directive.c, recognize.c)
 */
#include "config.h"

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "cfg.h"
#include "directive.h"
#include "directive_cmd.h"
#include "envelope.h"
#include "lookup.h"
#include "msginfo.h"
#include "recognize.h"
#include "rules.h"

static char tmpdir[256];

static const char base_cfg[] =
    "relay: { local_domains: [gw.test], allow: [\"192.0.2.0/24\"] }\n"
    "connectors:\n"
    "  - { name: relay, type: smtp }\n"
    "  - { name: archive, type: folder }\n"
    "  - { name: fax, type: fax }\n";

/* load - a configuration of base_cfg plus text; NULL with err */
static struct cfg *
load(const char *text, char *err, size_t errlen)
{
	char buf[8192];

	snprintf(buf, sizeof(buf), "%s%s", base_cfg, text);
	return cfg_load_buffer("test.yaml", buf, strlen(buf), err, errlen);
}

/* mkmsg - an envelope with one recipient */
static void
mkmsg(struct envelope *m, const char *rcpt)
{
	memset(m, 0, sizeof(*m));
	snprintf(m->id, sizeof(m->id), "00000000000000000001");
	m->client = "192.0.2.7";
	m->listener = "smtp";
	m->from = "scanner@example.com";
	m->size = 1000;
	envelope_add_rcpt(m, rcpt);
}

/* freemsg - free the recipients mkmsg and the test added */
static void
freemsg(struct envelope *m)
{
	m->client = m->listener = m->from = NULL;
	envelope_clear(m);
}

/* route1 - the connector the single recipient of msg went to */
static const char *
route1(struct cfg *cfg, const char *rcpt, const char *auth, const char *text,
    time_t now, char *conn, size_t len)
{
	struct envelope m, *jobs;
	struct msginfo mi;
	struct rules_env env;
	size_t n;

	mkmsg(&m, rcpt);
	m.auth = (char *)(uintptr_t)auth;
	memset(&env, 0, sizeof(env));
	msginfo_scan_buf(text, strlen(text), 4096, &mi);
	env.mi = &mi;
	env.now = now;
	ck_assert_int_eq(rules_route_env(cfg, &m, &env, &jobs, &n), 0);
	ck_assert_uint_eq(n, 1);
	snprintf(conn, len, "%s", jobs[0].connector);
	rules_free_jobs(jobs, n);
	msginfo_free(&mi);
	free(m.rcpt[0].addr);
	free(m.rcpt);
	return conn;
}

static const char conditions_cfg[] =
    "rules:\n"
    "  - { name: r-type, type: fax, connector: fax }\n"
    "  - { name: r-auth, auth: \"alice\", connector: relay }\n"
    "  - { name: r-subj, subject: \"^invoice [0-9]+$\", connector: archive }\n"
    "  - { name: r-hdr, header: \"X-Dept: ^sales\", connector: relay }\n"
    "  - { name: r-big, min_size: 5000, connector: archive }\n"
    "  - { name: r-pdf, attachment_type: \"application/pdf\", min_attachments: 2, connector: relay }\n"
    "  - { name: r-week, days: sat-sun, connector: archive }\n"
    "  - { name: r-night, hours: \"22:00-06:00\", connector: relay }\n"
    "  - { name: r-list, listener: submission, connector: archive }\n"
    "  - { name: rest, reject: \"550 5.7.1 nothing matched\" }\n";

/* A Wednesday at noon and at 23:00, a Saturday at noon (local time). */
static time_t
at(int mday, int hour)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	tm.tm_year = 2025 - 1900;
	tm.tm_mon = 0;
	tm.tm_mday = mday;	/* 2025-01-01 is a Wednesday */
	tm.tm_hour = hour;
	tm.tm_isdst = -1;
	return mktime(&tm);
}

START_TEST(conditions)
{
	char err[CFG_ERRLEN], c[64];
	const char *pdf2 = "Content-Type: multipart/mixed; boundary=b\n\n--b\n"
	    "Content-Type: application/pdf\n\nx\n--b\nContent-Type: "
	    "application/pdf\n\ny\n--b--\n";
	struct cfg *cfg = load(conditions_cfg, err, sizeof(err));
	time_t wed = at(1, 12);

	ck_assert_msg(cfg != NULL, "%s", err);
	ck_assert_str_eq(route1(cfg, "16038901957@gw.test", NULL, "\n", wed, c, 64), "fax");
	ck_assert_str_eq(route1(cfg, "x@gw.test", "alice", "\n", wed, c, 64), "relay");
	ck_assert_str_eq(route1(cfg, "x@gw.test", "bob", "\n", wed, c, 64), "_router");
	ck_assert_str_eq(route1(cfg, "x@gw.test", NULL, "Subject: Invoice 42\n\n", wed, c, 64), "archive");
	ck_assert_str_eq(route1(cfg, "x@gw.test", NULL, "Subject: invoice 42b\n\n", wed, c, 64), "_router");
	ck_assert_str_eq(route1(cfg, "x@gw.test", NULL, "X-Dept: Sales EMEA\n\n", wed, c, 64), "relay");
	ck_assert_str_eq(route1(cfg, "x@gw.test", NULL, pdf2, wed, c, 64), "relay");
	ck_assert_str_eq(route1(cfg, "x@gw.test", NULL, "\n", at(4, 12), c, 64), "archive");
	ck_assert_str_eq(route1(cfg, "x@gw.test", NULL, "\n", at(1, 23), c, 64), "relay");
	ck_assert_str_eq(route1(cfg, "x@gw.test", NULL, "\n", at(1, 5), c, 64), "relay");
	ck_assert_str_eq(route1(cfg, "x@gw.test", NULL, "\n", wed, c, 64), "_router");
	cfg_free(cfg);
}
END_TEST

/*
 * route_header - route rcpt with only the header of text scanned (the
 * router's first pass): the connector, or NULL when routing said it
 * needs the whole message (*need)
 */
static const char *
route_header(struct cfg *cfg, const char *rcpt, const char *text, time_t now,
    char *conn, size_t len, int *need)
{
	struct envelope m, *jobs;
	struct msginfo mi;
	struct rules_env env;
	size_t n;

	mkmsg(&m, rcpt);
	memset(&env, 0, sizeof(env));
	ck_assert_int_eq(msginfo_scan_header_buf(text, strlen(text), &mi), 0);
	ck_assert_int_eq(mi.header_only, 1);
	ck_assert_uint_eq(mi.textlen, 0);
	env.mi = &mi;
	env.now = now;
	(void)rules_route_env(cfg, &m, &env, &jobs, &n);
	*need = env.need_body;
	if (n == 1)
		snprintf(conn, len, "%s", jobs[0].connector);
	rules_free_jobs(jobs, n);
	rules_env_clear(&env);
	ck_assert_int_eq(env.need_body, 0);
	msginfo_free(&mi);
	freemsg(&m);
	return *need ? NULL : n == 1 ? conn : "";
}

/*
 * The header only: enough for rules on the envelope, the subject and
 * other headers; a rule that would hold and looks at attachments, or an
 * address for the directive manager, asks for the whole message.
 */
START_TEST(header_only)
{
	char err[CFG_ERRLEN], c[64];
	const char *pdf2 = "Subject: scans\nContent-Type: multipart/mixed; "
	    "boundary=b\n\n--b\nContent-Type: application/pdf\n\nx\n--b\n"
	    "Content-Type: application/pdf\n\ny\n--b--\n";
	struct cfg *cfg = load(conditions_cfg, err, sizeof(err));
	struct msginfo mi;
	time_t wed = at(1, 12);
	int need;

	ck_assert_msg(cfg != NULL, "%s", err);
	ck_assert_str_eq(route_header(cfg, "x@gw.test", "Subject: Invoice 42\n\n"
	    "Subject: not a header\n", wed, c, 64, &need), "archive");
	ck_assert_int_eq(need, 0);
	ck_assert_str_eq(route_header(cfg, "x@gw.test", "X-Dept: Sales\n\nbody\n",
	    wed, c, 64, &need), "relay");
	ck_assert_int_eq(need, 0);
	ck_assert_str_eq(route_header(cfg, "16038901957@gw.test", "\n", wed, c,
	    64, &need), "fax");
	/* r-pdf would hold but for its attachment conditions: all of it */
	ck_assert_ptr_null(route_header(cfg, "x@gw.test", pdf2, wed, c, 64,
	    &need));
	ck_assert_int_eq(need, 1);
	ck_assert_str_eq(route1(cfg, "x@gw.test", NULL, pdf2, wed, c, 64), "relay");
	/* an ed-<id> address no rule takes goes to the directive manager */
	ck_assert_ptr_null(route_header(cfg, "ed-7k2m9q@gw.test", "\n", wed, c,
	    64, &need));
	/* the scan stops at the end of the header, and knows it */
	ck_assert_int_eq(msginfo_scan_header_buf(pdf2, strlen(pdf2), &mi), 0);
	ck_assert_uint_eq(mi.size, strlen("Subject: scans\nContent-Type: "
	    "multipart/mixed; boundary=b\n\n"));
	ck_assert_uint_eq(mi.nattach, 0);
	ck_assert_str_eq(msginfo_header(&mi, "Subject"), "scans");
	msginfo_free(&mi);
	ck_assert_int_eq(msginfo_scan_buf(pdf2, strlen(pdf2), 0, &mi), 0);
	ck_assert_uint_eq(mi.nattach, 2);
	ck_assert_int_eq(mi.header_only, 0);
	msginfo_free(&mi);
	cfg_free(cfg);
}
END_TEST

START_TEST(size_condition)
{
	char err[CFG_ERRLEN], c[64];
	struct cfg *cfg = load("rules:\n  - { name: big, min_size: 5000, "
	    "max_size: 1M, connector: archive }\n  - { name: rest, connector: relay }\n",
	    err, sizeof(err));
	struct envelope m, *jobs;
	size_t n;

	ck_assert_msg(cfg != NULL, "%s", err);
	ck_assert_str_eq(route1(cfg, "x@gw.test", NULL, "\n", 0, c, 64), "relay");
	mkmsg(&m, "x@gw.test");
	m.size = 6000;
	ck_assert_int_eq(rules_route(cfg, &m, &jobs, &n), 0);
	ck_assert_str_eq(jobs[0].connector, "archive");
	rules_free_jobs(jobs, n);
	m.size = 2 * 1024 * 1024;
	ck_assert_int_eq(rules_route(cfg, &m, &jobs, &n), 0);
	ck_assert_str_eq(jobs[0].connector, "relay");
	rules_free_jobs(jobs, n);
	free(m.rcpt[0].addr);
	free(m.rcpt);
	cfg_free(cfg);
}
END_TEST

struct bad_case {
	const char *rules, *msg;
};

static const struct bad_case bad_cases[] = {
	{ "  - { name: a, connector: relay }\n  - { name: b, recipient: \"x@*\", connector: archive }\n",
	  "rule 'b' can never match: rule 'a' before it matches every recipient" },
	{ "  - { name: a, recipient: \"*@example.com\", connector: relay }\n"
	  "  - { name: b, recipient: \"Bob@EXAMPLE.com\", sender: \"*@x\", connector: archive }\n",
	  "rule 'b' can never match: rule 'a' before it matches every recipient it would" },
	{ "  - { name: a, sender: \"*\", max_size: 2M, connector: relay }\n"
	  "  - { name: b, recipient: \"*@x\", sender: \"*@y\", max_size: 1M, connector: archive }\n",
	  "rule 'b' can never match: rule 'a' before it matches every recipient it would" },
	{ "  - { name: a, sender: \"*\", connector: relay }\n"
	  "  - { name: b, sender: \"<>\", connector: archive }\n",
	  "rule 'b' can never match: rule 'a' before it matches every recipient it would" },
	{ "  - { name: a, auth: \"-\", subject: inv, connector: relay }\n"
	  "  - { name: b, auth: \"-\", subject: inv, min_attachments: 1, connector: archive }\n",
	  "rule 'b' can never match: rule 'a' before it matches every recipient it would" },
	{ "  - { name: a, min_size: 2M, max_size: 1M, connector: relay }\n",
	  "rule 'a' can never match: min_size is above max_size" },
	{ "  - { name: a, min_attachments: 3, max_attachments: 1, connector: relay }\n",
	  "rule 'a' can never match: min_attachments is above max_attachments" },
	{ "  - { name: a, connectors: [relay, nowhere] }\n",
	  "rule 'a' names unknown connector 'nowhere'" },
	{ "  - { name: a, connector: relay, failover: nowhere }\n",
	  "rule 'a' names unknown connector 'nowhere'" },
	{ "  - { name: a, connector: relay, failover: relay }\n",
	  "rule 'a': failover names the rule's own connector 'relay'" },
	{ "  - { name: a, reject: \"550 no\", failover: relay }\n",
	  "rule 'a': failover only go with connector or connectors" },
	{ "  - { name: a, hold: relay, failover: archive }\n",
	  "rule 'a': failover only go with connector or connectors" },
	{ "  - { name: a, hold: nowhere }\n",
	  "rule 'a' names unknown connector 'nowhere'" },
	{ "  - { name: a, lookup: nope }\n", "rule 'a' names unknown lookup 'nope'" },
	{ "  - { name: a, subject: \"([\", connector: relay }\n",
	  "rule 'a': bad regular expression '(['" },
	{ "  - { name: a, days: moonday-fri, connector: relay }\n",
	  "rule 'a': bad days 'moonday-fri' (expected e.g. mon-fri or sat,sun)" },
	{ "  - { name: a, hours: \"25-3\", connector: relay }\n",
	  "rule 'a': bad hours '25-3' (expected e.g. 08:00-18:00)" },
	{ "  - { name: a, type: pager, connector: relay }\n",
	  "rule 'a': bad type 'pager' (expected email, fax, directive or did)" },
	{ "  - { name: a, connector: relay, reject: nope }\n",
	  "rules[0] has both 'connector' and 'reject'" },
	{ "  - { name: a, recipient: x, hold: relay, lookup: t }\n",
	  "rules[0] has both 'hold' and 'lookup'" },
};

START_TEST(bad_rules)
{
	char err[CFG_ERRLEN], text[2048];
	struct cfg *cfg;

	snprintf(text, sizeof(text), "rules:\n%s", bad_cases[_i].rules);
	cfg = load(text, err, sizeof(err));
	ck_assert_ptr_null(cfg);
	ck_assert_msg(strstr(err, bad_cases[_i].msg) != NULL, "got: %s", err);
}
END_TEST

/* Rule pairs where the first does not cover the second: all accepted. */
static const char *const shadow_ok[] = {
	"  - { name: a, recipient: \"*@a.test\", connector: relay }\n"
	"  - { name: b, recipient: \"*@b.test\", connector: archive }\n",
	"  - { name: a, sender: \"*@a.test\", connector: relay }\n"
	"  - { name: b, sender: \"<>\", connector: archive }\n",
	"  - { name: a, auth: \"*\", connector: relay }\n"
	"  - { name: b, auth: \"-\", connector: archive }\n",
	"  - { name: a, subject: inv, connector: relay }\n"
	"  - { name: b, recipient: \"x@y\", connector: archive }\n",
	"  - { name: a, max_size: 1M, connector: relay }\n"
	"  - { name: b, max_size: 2M, connector: archive }\n",
	"  - { name: a, recipient: \"bob@*\", connector: relay }\n"
	"  - { name: b, recipient: \"*@x\", connector: archive }\n",
	"  - { name: a, client: [10.0.0.0/8], connector: relay }\n"
	"  - { name: b, client: [10.1.0.0/16], connector: archive }\n",
};

START_TEST(shadow_accepted)
{
	char err[CFG_ERRLEN], text[2048];
	struct cfg *cfg;

	snprintf(text, sizeof(text), "rules:\n%s", shadow_ok[_i]);
	cfg = load(text, err, sizeof(err));
	ck_assert_msg(cfg != NULL, "refused: %s", err);
	cfg_free(cfg);
}
END_TEST

/* write_file - a test file in tmpdir */
static void
write_file(const char *name, const char *text, char *path, size_t len)
{
	FILE *f;

	snprintf(path, len, "%s/%s", tmpdir, name);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	fputs(text, f);
	fclose(f);
}

START_TEST(lookup_tables)
{
	char path[512], err[LOOKUP_ERRLEN], key[16];
	const char *const *v;
	struct lookup *l;
	size_t n;

	write_file("did.csv", "# ext,addresses\n1234, alice@x, bob@x\n"
	    "\n5678,carol@x\n1234,dave@x\n", path, sizeof(path));
	ck_assert_ptr_nonnull(l = lookup_open("csv", path, err, sizeof(err)));
	ck_assert_int_eq(lookup_get(l, "1234", &v, &n), 0);
	ck_assert_uint_eq(n, 3);
	ck_assert_str_eq(v[0], "alice@x");
	ck_assert_str_eq(v[1], "bob@x");
	ck_assert_str_eq(v[2], "dave@x");
	ck_assert_int_eq(lookup_get(l, "5678", &v, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(lookup_get(l, "9999", &v, &n), 1);
	lookup_close(l);
	write_file("did.yaml", "1234: [alice@x, bob@x]\n\"5678\": carol@x\n",
	    path, sizeof(path));
	ck_assert_ptr_nonnull(l = lookup_open("yaml", path, err, sizeof(err)));
	ck_assert_int_eq(lookup_get(l, "1234", &v, &n), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(lookup_get(l, "5678", &v, &n), 0);
	ck_assert_str_eq(v[0], "carol@x");
	lookup_close(l);
	write_file("bad.csv", "1234\n", path, sizeof(path));
	ck_assert_ptr_null(lookup_open("csv", path, err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "bad.csv:1: bad entry"));
	write_file("bad.yaml", "- a\n- b\n", path, sizeof(path));
	ck_assert_ptr_null(lookup_open("yaml", path, err, sizeof(err)));
	ck_assert_ptr_null(lookup_open("ldap", path, err, sizeof(err)));
	ck_assert_int_eq(lookup_key_digits("+1 (603) 555-1234", 4, key, sizeof(key)), 0);
	ck_assert_str_eq(key, "1234");
	ck_assert_int_eq(lookup_key_digits("12", 4, key, sizeof(key)), 0);
	ck_assert_str_eq(key, "12");
	ck_assert_int_eq(lookup_key_digits("abc", 4, key, sizeof(key)), -1);
}
END_TEST

START_TEST(ldap_filter)
{
	char out[256];

	ck_assert_int_eq(lookup_filter_expand("(mail=%s)", "a*b(c)\\@x.test",
	    out, sizeof(out)), 0);
	ck_assert_str_eq(out, "(mail=a\\2ab\\28c\\29\\5c@x.test)");
	ck_assert_int_eq(lookup_filter_expand("(&(uid=%u)(dc=%d)(x=100%%))",
	    "jo@host@x.test", out, sizeof(out)), 0);
	ck_assert_str_eq(out, "(&(uid=jo@host)(dc=x.test)(x=100%))");
	ck_assert_int_eq(lookup_filter_expand("(tel=*%s)(d=%d)", "1234", out,
	    sizeof(out)), 0);
	ck_assert_str_eq(out, "(tel=*1234)(d=)");
	ck_assert_int_eq(lookup_filter_expand("(cn=%s)", "a\tb", out,
	    sizeof(out)), 0);
	ck_assert_str_eq(out, "(cn=a\\09b)");
	ck_assert_int_eq(lookup_filter_expand("(mail=%s)", "**********", out,
	    20), -1);
}
END_TEST

static struct envelope *find_job(struct envelope *, size_t, const char *);

/* A directory stand-in: alice found, down@ fails, others not found. */
static int
fake_get(void *ctx, const char *key, const char *const **vals, size_t *n)
{
	static const char *const alice[] = { "alice@example.com" };

	(void)ctx;
	if (strncmp(key, "down@", 5) == 0)
		return -1;
	if (strncmp(key, "pend@", 5) == 0)
		return LOOKUP_PENDING;
	if (strcmp(key, "alice@example.com") != 0 && strcmp(key, "alice") != 0)
		return 1;
	*vals = alice;
	*n = 1;
	return 0;
}

/* fake_close - nothing to free */
static void
fake_close(void *ctx)
{
	(void)ctx;
}

static const struct lookup_backend fake_backend = {
	"fake", NULL, fake_get, fake_close, NULL, NULL
};

START_TEST(lookup_validation)
{
	static const char text[] =
	    "lookups:\n"
	    "  - { name: people, type: ldap, uri: \"ldap://127.0.0.1/\", "
	    "base: \"dc=x\" }\n"
	    "  - { name: me, type: ldap, uri: \"ldap://127.0.0.1/\", "
	    "base: \"dc=x\", key: auth, filter: \"(uid=%s)\" }\n"
	    "rules:\n"
	    "  - { name: me, recipient: me@gw.test, lookup: me }\n"
	    "  - { name: v, recipient: \"*@example.com\", lookup: people, "
	    "connector: relay }\n";
	char err[CFG_ERRLEN];
	struct lookup *tables[2];
	struct envelope m, *jobs, *j;
	struct rules_env env;
	struct cfg *cfg;
	size_t n;

	ck_assert_msg((cfg = load(text, err, sizeof(err))) != NULL, "%s", err);
	ck_assert_str_eq(cfg->lookups[0].key, "address");
	ck_assert_str_eq(cfg->lookups[0].ldap.filter, "(mail=%s)");
	ck_assert_str_eq(cfg->lookups[0].ldap.attribute, "mail");
	ck_assert_int_eq((int)cfg->lookups[0].ldap.timeout, 5);
	tables[0] = lookup_new(&fake_backend, NULL);
	tables[1] = lookup_new(&fake_backend, NULL);
	memset(&env, 0, sizeof(env));
	env.lookups = tables;
	mkmsg(&m, "alice@example.com");
	envelope_add_rcpt(&m, "nobody@example.com");
	envelope_add_rcpt(&m, "down@example.com");
	ck_assert_int_eq(rules_route_env(cfg, &m, &env, &jobs, &n), 0);
	/* found: delivered to the rule's connector */
	ck_assert_ptr_nonnull(j = find_job(jobs, n, "relay"));
	ck_assert_uint_eq(j->nrcpt, 1);
	ck_assert_str_eq(j->rcpt[0].addr, "alice@example.com");
	/* not found: 550 no such user; unreachable: 451 (the router defers) */
	ck_assert_ptr_nonnull(j = find_job(jobs, n, "_router"));
	ck_assert_uint_eq(j->nrcpt, 2);
	ck_assert_int_eq(j->rcpt[0].code, 550);
	ck_assert_str_eq(j->rcpt[0].text, "no such user (lookup people)");
	ck_assert_int_eq(j->rcpt[1].code, 451);
	ck_assert_str_eq(j->rcpt[1].status, "4.3.0");
	rules_free_jobs(jobs, n);
	freemsg(&m);
	/* the authenticated user's address (routed again, then validated) */
	mkmsg(&m, "me@gw.test");
	m.auth = "alice";
	ck_assert_int_eq(rules_route_env(cfg, &m, &env, &jobs, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_ptr_nonnull(j = find_job(jobs, n, "relay"));
	ck_assert_str_eq(j->rcpt[0].addr, "alice@example.com");
	ck_assert_str_eq(envelope_rcpt_param(&j->rcpt[0], "original"),
	    "me@gw.test");
	rules_free_jobs(jobs, n);
	m.auth = NULL;
	freemsg(&m);
	/* without authentication "me" finds nothing */
	mkmsg(&m, "me@gw.test");
	ck_assert_int_eq(rules_route_env(cfg, &m, &env, &jobs, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(jobs[0].connector, "_router");
	ck_assert_int_eq(jobs[0].rcpt[0].code, 550);
	rules_free_jobs(jobs, n);
	freemsg(&m);
	/* an asked lookup: a temporary failure now, and env says "ask again" */
	ck_assert_int_eq(env.pending, 0);
	mkmsg(&m, "pend@example.com");
	envelope_add_rcpt(&m, "alice@example.com");
	ck_assert_int_eq(rules_route_env(cfg, &m, &env, &jobs, &n), 0);
	ck_assert_int_eq(env.pending, 1);
	ck_assert_ptr_nonnull(j = find_job(jobs, n, "_router"));
	ck_assert_uint_eq(j->nrcpt, 1);
	ck_assert_int_eq(j->rcpt[0].code, 451);
	ck_assert_str_eq(j->rcpt[0].text, "lookup people pending");
	ck_assert_ptr_nonnull(find_job(jobs, n, "relay"));
	rules_free_jobs(jobs, n);
	freemsg(&m);
	lookup_close(tables[0]);
	lookup_close(tables[1]);
	cfg_free(cfg);
}
END_TEST

/* LDAP lookup settings the loader refuses, with the words it says. */
static const struct {
	const char *lookup, *msg;
} ldap_bad[] = {
	{ "{ name: l, type: ldap, base: \"dc=x\" }", "'uri'" },
	{ "{ name: l, type: ldap, uri: \"ldap://h/\" }", "'base'" },
	{ "{ name: l, type: ldap, uri: \"http://h/\", base: b }", "ldap:// or ldaps://" },
	{ "{ name: l, type: ldap, uri: \"ldaps://h/\", base: b, start_tls: yes }",
	  "start_tls is for ldap://" },
	{ "{ name: l, type: ldap, uri: \"ldap://h/\", base: b, filter: \"(a=%x)\" }",
	  "only %s, %u, %d" },
	{ "{ name: l, type: ldap, uri: \"ldap://h/\", base: b, filter: \"a=%s\" }",
	  "expected (...)" },
	{ "{ name: l, type: ldap, uri: \"ldap://h/\", base: b, bind_dn: cn=x }",
	  "go together" },
	{ "{ name: l, type: ldap, uri: \"ldap://h/\", base: b, scope: all }",
	  "base, one or sub" },
	{ "{ name: l, type: ldap, uri: \"ldap://h/\", base: b, path: /x }",
	  "not type ldap" },
	{ "{ name: l, path: /x.csv, uri: \"ldap://h/\" }", "only for type ldap" },
	{ "{ name: l, path: /x.csv, key: name }", "digits, address or auth" },
	{ "{ name: l, type: sql, path: /x.csv }", "file or ldap" },
	{ "{ name: l }", "'path'" },
};

START_TEST(ldap_bad_settings)
{
	char err[CFG_ERRLEN], text[1024];

	snprintf(text, sizeof(text), "lookups:\n  - %s\n", ldap_bad[_i].lookup);
	ck_assert_ptr_null(load(text, err, sizeof(err)));
	ck_assert_msg(strstr(err, ldap_bad[_i].msg) != NULL, "got: %s", err);
}
END_TEST

/* store - a fresh directive store in tmpdir */
static struct directive_store *
store(void)
{
	char path[512], err[DIRECTIVE_ERRLEN];
	struct directive_store *st;

	snprintf(path, sizeof(path), "%s/d.db", tmpdir);
	unlink(path);
	st = directive_store_open(path, 1, err, sizeof(err));
	ck_assert_msg(st != NULL, "%s", err);
	return st;
}

/* A store written by schema version 1 (before the access lists). */
static const char store_v1[] =
    "CREATE TABLE directive (id TEXT PRIMARY KEY COLLATE NOCASE, title TEXT "
    "NOT NULL, owner TEXT NOT NULL, keyword TEXT UNIQUE COLLATE NOCASE, "
    "created INTEGER NOT NULL, last_used INTEGER NOT NULL DEFAULT 0, "
    "expires INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE recipient (directive TEXT NOT NULL COLLATE NOCASE, seq "
    "INTEGER NOT NULL, channel TEXT NOT NULL, address TEXT NOT NULL, "
    "PRIMARY KEY (directive, seq));"
    "CREATE TABLE rparam (directive TEXT NOT NULL COLLATE NOCASE, seq "
    "INTEGER NOT NULL, pseq INTEGER NOT NULL, name TEXT NOT NULL, value TEXT "
    "NOT NULL, PRIMARY KEY (directive, seq, pseq));"
    "INSERT INTO directive VALUES ('OLDSTORE', 't', 'o', NULL, 1, 0, 0);"
    "INSERT INTO recipient VALUES ('OLDSTORE', 0, 'email', 'a@example.com');"
    "PRAGMA user_version = 1;";

START_TEST(store_migrate)
{
	char path[512], err[DIRECTIVE_ERRLEN];
	struct directive_store *st;
	struct directive d;
	sqlite3 *db;

	snprintf(path, sizeof(path), "%s/v1.db", tmpdir);
	unlink(path);
	ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(db, store_v1, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	ck_assert_msg((st = directive_store_open(path, 0, err, sizeof(err))) !=
	    NULL, "%s", err);
	ck_assert_int_eq(directive_get(st, "OLDSTORE", &d, err, sizeof(err)), 0);
	ck_assert_ptr_null(d.allow_sender);
	ck_assert_str_eq(d.rcpt[0].address, "a@example.com");
	d.allow_sender = strdup("@client.test");
	d.allow_net = strdup("192.0.2.0/24");
	ck_assert_int_eq(directive_update(st, &d, err, sizeof(err)), 0);
	directive_clear(&d);
	directive_store_close(st);
	/* opened again: already version 2, the lists kept */
	ck_assert_msg((st = directive_store_open(path, 0, err, sizeof(err))) !=
	    NULL, "%s", err);
	ck_assert_int_eq(directive_get(st, "oldstore", &d, err, sizeof(err)), 0);
	ck_assert_str_eq(d.allow_sender, "@client.test");
	ck_assert_str_eq(d.allow_net, "192.0.2.0/24");
	ck_assert_ptr_null(d.allow_user);
	directive_clear(&d);
	directive_store_close(st);
}
END_TEST

/* mkdirective - a directive with an email and a folder recipient */
static void
mkdirective(struct directive *d, const char *id, const char *kw)
{
	struct directive_rcpt *r;

	memset(d, 0, sizeof(*d));
	snprintf(d->id, sizeof(d->id), "%s", id);
	d->title = strdup("Invoices");
	d->owner = strdup("jane");
	d->keyword = kw ? strdup(kw) : NULL;
	d->created = 1000;
	directive_add_rcpt(d, "email", "ap@example.com");
	r = directive_add_rcpt(d, "folder", "");
	directive_rcpt_add_param(r, "path_template", "invoices/%Y");
	directive_rcpt_add_param(r, "output_name", "inv");
}

START_TEST(store_ops)
{
	struct directive_store *st = store();
	char err[DIRECTIVE_ERRLEN];
	struct directive d, g, *v;
	size_t n, i;

	mkdirective(&d, "", "invoices");
	ck_assert_int_eq(directive_create(st, &d, err, sizeof(err)), 0);
	ck_assert_uint_eq(strlen(d.id), DIRECTIVE_ID_LEN);
	ck_assert(directive_id_valid(d.id));
	ck_assert_int_eq(directive_get(st, d.id, &g, err, sizeof(err)), 0);
	ck_assert_str_eq(g.title, "Invoices");
	ck_assert_uint_eq(g.nrcpt, 2);
	ck_assert_str_eq(g.rcpt[0].address, "ap@example.com");
	ck_assert_uint_eq(g.rcpt[1].nparams, 2);
	ck_assert_str_eq(g.rcpt[1].params[1].value, "inv");
	directive_clear(&g);
	ck_assert_int_eq(directive_get_keyword(st, "INVOICES", &g, err, sizeof(err)), 0);
	ck_assert_str_eq(g.id, d.id);
	directive_clear(&g);
	directive_clear(&d);
	mkdirective(&d, "MANUAL01", NULL);
	ck_assert_int_eq(directive_create(st, &d, err, sizeof(err)), 0);
	ck_assert_int_eq(directive_create(st, &d, err, sizeof(err)), -1);
	free(d.title);
	d.title = strdup("Renamed");
	d.expires = 500;
	directive_clear(&d);
	ck_assert_int_eq(directive_get(st, "manual01", &d, err, sizeof(err)), 0);
	free(d.title);
	d.title = strdup("Renamed");
	d.expires = 500;
	d.nrcpt = 1;		/* drop the folder recipient (freed below) */
	ck_assert_int_eq(directive_update(st, &d, err, sizeof(err)), 0);
	d.nrcpt = 2;
	directive_clear(&d);
	ck_assert_int_eq(directive_get(st, "MANUAL01", &g, err, sizeof(err)), 0);
	ck_assert_str_eq(g.title, "Renamed");
	ck_assert_uint_eq(g.nrcpt, 1);
	ck_assert(directive_expired(&g, 501));
	ck_assert(!directive_expired(&g, 499));
	directive_clear(&g);
	ck_assert_int_eq(directive_touch(st, "MANUAL01", 777), 0);
	ck_assert_int_eq(directive_list(st, &v, &n, err, sizeof(err)), 0);
	ck_assert_uint_eq(n, 2);
	i = strcmp(v[0].id, "MANUAL01") == 0 ? 0 : 1;
	ck_assert_str_eq(v[i].id, "MANUAL01");
	ck_assert_int_eq(v[i].last_used, 777);
	directive_clear(&v[0]);
	directive_clear(&v[1]);
	free(v);
	ck_assert_int_eq(directive_delete(st, "MANUAL01", err, sizeof(err)), 0);
	ck_assert_int_eq(directive_delete(st, "MANUAL01", err, sizeof(err)), 1);
	ck_assert_int_eq(directive_get(st, "MANUAL01", &g, err, sizeof(err)), 1);
	directive_store_close(st);
}
END_TEST

/* run_cmd - directive_cmd into a string; *rc its exit code */
static char *
run_cmd(struct directive_store *st, int *rc, int argc, char **argv)
{
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);

	ck_assert_ptr_nonnull(out);
	*rc = directive_cmd(st, argc, argv, 0, "operator", 1, out);
	fclose(out);
	return text;
}

START_TEST(store_commands)
{
	struct directive_store *st = store();
	char *create[] = { "create", "--title", "Night shift", "--keyword",
	    "night", "--rcpt", "email:a b@example.com", "--param",
	    "note=x y", "--rcpt", "folder:" };
	char *dump[] = { "dump", NULL }, *show[] = { "show", "NOPE1234" };
	char *bad[] = { "create", "--title" }, *none[] = { "frobnicate" };
	char *text, id[DIRECTIVE_ID_MAX], hex[64], raw[] = "41=42";
	struct directive d;
	int rc;

	text = run_cmd(st, &rc, 11, create);
	ck_assert_int_eq(rc, 0);
	ck_assert_uint_eq(strlen(text), DIRECTIVE_ID_LEN + 1);
	snprintf(id, sizeof(id), "%.*s", DIRECTIVE_ID_LEN, text);
	free(text);
	/* dump, then parse back: every field, spaces and empty strings kept */
	dump[1] = id;
	text = run_cmd(st, &rc, 2, dump);
	ck_assert_int_eq(rc, 0);
	ck_assert_int_eq(directive_dump_parse(text, &d), 0);
	free(text);
	ck_assert_str_eq(d.id, id);
	ck_assert_str_eq(d.title, "Night shift");
	ck_assert_str_eq(d.owner, "operator");
	ck_assert_str_eq(d.keyword, "night");
	ck_assert_uint_eq(d.nrcpt, 2);
	ck_assert_str_eq(d.rcpt[0].address, "a b@example.com");
	ck_assert_str_eq(d.rcpt[0].params[0].value, "x y");
	ck_assert_str_eq(d.rcpt[1].channel, "folder");
	ck_assert_str_eq(d.rcpt[1].address, "");
	directive_clear(&d);
	/* errors are "E<code>" lines with the exit code returned */
	text = run_cmd(st, &rc, 2, show);
	ck_assert_int_eq(rc, 65);
	ck_assert_str_eq(text, "E65 no such directive\n");
	free(text);
	text = run_cmd(st, &rc, 2, bad);
	ck_assert_int_eq(rc, 64);
	ck_assert_ptr_nonnull(strstr(text, "--title"));
	free(text);
	text = run_cmd(st, &rc, 1, none);
	ck_assert_int_eq(rc, 64);
	free(text);
	/* malformed dumps are refused */
	ck_assert_int_eq(directive_dump_parse("", &d), -1);
	ck_assert_int_eq(directive_dump_parse("r 61 62\n", &d), -1);
	ck_assert_int_eq(directive_dump_parse("d ../x 61 62 - 1 2\n", &d), -1);
	ck_assert_int_eq(directive_dump_parse("d ABCD1234 6 62 - 1 2\n", &d), -1);
	ck_assert_int_eq(directive_dump_parse("d ABCD1234 61 62 - 1\n", &d), -1);
	ck_assert_int_eq(directive_dump_parse("d ABCD1234 61 62 - 1 2\nq 1 2\n",
	    &d), -1);
	ck_assert_int_eq(directive_dump_parse("d ABCD1234 61 = - 1 2\n", &d), 0);
	ck_assert_str_eq(d.owner, "");
	ck_assert_ptr_null(d.keyword);
	directive_clear(&d);
	/* hex both ways; no NUL byte, no odd length, no other character */
	directive_hex(hex, "a\xff z");
	ck_assert_str_eq(hex, "61ff207a");
	ck_assert_int_eq(directive_unhex(hex), 0);
	ck_assert_str_eq(hex, "a\xff z");
	ck_assert_int_eq(directive_unhex(raw), -1);
	snprintf(hex, sizeof(hex), "6100");
	ck_assert_int_eq(directive_unhex(hex), -1);
	snprintf(hex, sizeof(hex), "616");
	ck_assert_int_eq(directive_unhex(hex), -1);
	directive_store_close(st);
}
END_TEST

START_TEST(tokens)
{
	char id[DIRECTIVE_ID_MAX];
	const char *s = "Re: [ED:K7Q2M9XA] scan";

	ck_assert_int_eq(recognize_token(s, strlen(s), 1, id, sizeof(id)), 0);
	ck_assert_str_eq(id, "K7Q2M9XA");
	s = "ED:K7Q2 without brackets";
	ck_assert_int_eq(recognize_token(s, strlen(s), 1, id, sizeof(id)), -1);
	ck_assert_int_eq(recognize_token(s, strlen(s), 0, id, sizeof(id)), 0);
	ck_assert_str_eq(id, "K7Q2");
	s = "REDED:ABCDE and ed-ZZZZ9";
	ck_assert_int_eq(recognize_token(s, strlen(s), 0, id, sizeof(id)), 0);
	ck_assert_str_eq(id, "ZZZZ9");
}
END_TEST

static const char route_cfg[] =
    "directives: { channels: { email: relay, folder: archive } }\n"
    "rules:\n"
    "  - { name: did-in, type: did, lookup: did }\n"
    "  - { name: kw, recipient: \"invoices@gw.test\", directive: true }\n"
    "  - { name: scan, recipient: \"scan@gw.test\", directive: true }\n"
    "  - { name: faxes, type: fax, connector: fax, params: { output_name: fx }, failover: archive }\n"
    "  - { name: held, recipient: \"review@gw.test\", hold: archive }\n"
    "  - { name: mail, recipient: \"*@example.com\", connectors: [relay, archive], failover: archive }\n";

/* check_rcpt - rules_check_rcpt's code for rcpt from client; text into v */
static int
check_rcpt(const struct cfg *cfg, struct rules_env *env, const char *client,
    const char *rcpt, struct rules_verdict *v)
{
	struct envelope m;

	memset(&m, 0, sizeof(m));
	m.from = (char *)"mfp@client.test";
	m.client = (char *)client;
	m.listener = (char *)"smtp";
	m.size = -1;
	rules_check_rcpt(cfg, &m, env, rcpt, v);
	return v->code;
}

START_TEST(rcpt_probe)
{
	char err[CFG_ERRLEN], text[2048];
	struct directive_store *st = store();
	struct rules_verdict v;
	struct rules_env env;
	struct directive d;
	struct cfg *cfg;

	snprintf(text, sizeof(text), "lookups:\n  - { name: did, path: "
	    "%s/did.csv, digits: 4 }\n%s  - { name: subj, recipient: "
	    "\"content@gw.test\", subject: \"^Inv\", connector: relay }\n"
	    "  - { name: no, recipient: \"no@gw.test\", reject: \"550 5.7.1 "
	    "go away\" }\n", tmpdir, route_cfg);
	write_file("did.csv", "1234,alice@example.com\n", err, sizeof(err));
	ck_assert_msg((cfg = load(text, err, sizeof(err))) != NULL, "%s", err);
	memset(&d, 0, sizeof(d));
	snprintf(d.id, sizeof(d.id), "EXTERN01");
	d.title = strdup("x");
	d.owner = strdup("y");
	directive_add_rcpt(&d, "email", "out@example.com");
	ck_assert_int_eq(directive_create(st, &d, err, sizeof(err)), 0);
	directive_clear(&d);
	memset(&env, 0, sizeof(env));
	env.store = st;
	/* decided now: a route, no route, a reject rule, unknown directive */
	ck_assert_int_eq(check_rcpt(cfg, &env, "198.51.100.1", "a@example.com", &v), 250);
	ck_assert_int_eq(check_rcpt(cfg, &env, "198.51.100.1", "a@else.test", &v), 550);
	ck_assert_str_eq(v.text, "no route for recipient");
	ck_assert_int_eq(check_rcpt(cfg, &env, "198.51.100.1", "no@gw.test", &v), 550);
	ck_assert_str_eq(v.text, "go away");
	ck_assert_int_eq(check_rcpt(cfg, &env, "198.51.100.1", "ed-NOSUCH99@gw.test", &v), 550);
	/* the message decides: a subject rule, a directive not in the address */
	ck_assert_int_eq(check_rcpt(cfg, &env, "198.51.100.1", "content@gw.test", &v), 250);
	ck_assert_int_eq(check_rcpt(cfg, &env, "198.51.100.1", "scan@gw.test", &v), 250);
	/* default_access relay-equivalent: outside address only for relay clients */
	ck_assert_int_eq(check_rcpt(cfg, &env, "198.51.100.1", "ed-EXTERN01@gw.test", &v), 550);
	ck_assert_str_eq(v.status, "5.7.1");
	ck_assert_int_eq(check_rcpt(cfg, &env, "192.0.2.7", "ed-EXTERN01@gw.test", &v), 250);
	/* no store, no table: 451, never a permanent answer */
	env.store = NULL;
	ck_assert_int_eq(check_rcpt(cfg, &env, "192.0.2.7", "ed-EXTERN01@gw.test", &v), 451);
	ck_assert_int_eq(check_rcpt(cfg, &env, "192.0.2.7", "DID=5551234@gw.test", &v), 451);
	/* the probe wrote nothing: the directive was never used */
	ck_assert_int_eq(directive_get(st, "EXTERN01", &d, err, sizeof(err)), 0);
	ck_assert(d.last_used == 0);
	directive_clear(&d);
	cfg_free(cfg);
	directive_store_close(st);
}
END_TEST

/* find_job - the job of a connector, or NULL */
static struct envelope *
find_job(struct envelope *jobs, size_t n, const char *conn)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(jobs[i].connector, conn) == 0)
			return &jobs[i];
	return NULL;
}

START_TEST(route_actions)
{
	char text[2048], err[CFG_ERRLEN], path[512];
	struct directive_store *st = store();
	struct lookup *tables[1];
	struct envelope m, *jobs, *j;
	struct rules_env env;
	struct directive d;
	struct msginfo mi;
	struct cfg *cfg;
	size_t n;
	char msgtext[512];

	write_file("did.csv", "1234,alice@example.com,bob@example.com\n", path,
	    sizeof(path));
	snprintf(text, sizeof(text), "lookups:\n  - { name: did, path: %s/did.csv, "
	    "digits: 4, default: operator@example.com }\n%s", tmpdir, route_cfg);
	ck_assert_msg((cfg = load(text, err, sizeof(err))) != NULL, "%s", err);
	ck_assert_ptr_nonnull(tables[0] = lookup_open("csv", path, err, sizeof(err)));
	mkdirective(&d, "", "invoices");
	ck_assert_int_eq(directive_create(st, &d, err, sizeof(err)), 0);
	snprintf(msgtext, sizeof(msgtext), "To: \"Jane Doe\" <1603555@gw.test>\n"
	    "Subject: x [ED:%s]\n\nhi\n", d.id);
	msginfo_scan_buf(msgtext, strlen(msgtext), 4096, &mi);
	memset(&env, 0, sizeof(env));
	env.mi = &mi;
	env.lookups = tables;
	env.store = st;

	mkmsg(&m, "DID=5551234@gw.test");
	envelope_add_rcpt(&m, "DID=5559999@gw.test");
	envelope_add_rcpt(&m, "1603555@gw.test");
	envelope_add_rcpt(&m, "invoices@gw.test");
	envelope_add_rcpt(&m, "review@gw.test");
	envelope_add_rcpt(&m, "ed-NOSUCH99@gw.test");
	envelope_add_rcpt(&m, "Jane/x@gw.test");
	ck_assert_int_eq(rules_route_env(cfg, &m, &env, &jobs, &n), 0);
	/* DID fan-out (two users, deduplicated with the mail rule) + default */
	ck_assert_ptr_nonnull(j = find_job(jobs, n, "relay"));
	ck_assert_uint_eq(j->nrcpt, 4);
	ck_assert_str_eq(j->rcpt[0].addr, "alice@example.com");
	ck_assert_str_eq(envelope_rcpt_param(&j->rcpt[0], "original"), "DID=5551234@gw.test");
	ck_assert_str_eq(j->rcpt[1].addr, "bob@example.com");
	ck_assert_str_eq(j->rcpt[2].addr, "operator@example.com");
	ck_assert_str_eq(j->rcpt[3].addr, "ap@example.com");
	ck_assert_str_eq(envelope_rcpt_param(&j->rcpt[3], "directive"), d.id);
	ck_assert_str_eq(envelope_rcpt_param(&j->rcpt[0], "failover"), "archive");
	/* fax with the display name, the rule params and failover */
	ck_assert_ptr_nonnull(j = find_job(jobs, n, "fax"));
	ck_assert_str_eq(envelope_rcpt_param(&j->rcpt[0], "fax"), "1603555");
	ck_assert_str_eq(envelope_rcpt_param(&j->rcpt[0], "name"), "Jane Doe");
	ck_assert_str_eq(envelope_rcpt_param(&j->rcpt[0], "output_name"), "fx");
	ck_assert_str_eq(envelope_rcpt_param(&j->rcpt[0], "failover"), "archive");
	/* the held job and the directive's folder recipient share archive */
	ck_assert_ptr_nonnull(j = find_job(jobs, n, "archive"));
	ck_assert_uint_eq(j->nrcpt, 5);	/* + alice, bob, operator (mail rule) */
	ck_assert_str_eq(j->rcpt[0].addr, "alice@example.com");
	/* fan-out: no failover from archive to archive itself */
	ck_assert_ptr_null(envelope_rcpt_param(&j->rcpt[0], "failover"));
	ck_assert_str_eq(j->rcpt[3].addr, "invoices@gw.test");
	ck_assert_str_eq(envelope_rcpt_param(&j->rcpt[3], "directive"), d.id);
	ck_assert_str_eq(envelope_rcpt_param(&j->rcpt[4], "hold"), "held");
	/* failures: unknown directive, malformed one-off */
	ck_assert_ptr_nonnull(j = find_job(jobs, n, "_router"));
	ck_assert_uint_eq(j->nrcpt, 2);
	ck_assert_str_eq(j->rcpt[0].text, "unknown directive ED:NOSUCH99 (named by the address)");
	ck_assert_int_eq(j->rcpt[1].code, 553);
	rules_free_jobs(jobs, n);
	freemsg(&m);

	/* the subject token; then the same directive expired */
	mkmsg(&m, "scan@gw.test");
	ck_assert_int_eq(rules_route_env(cfg, &m, &env, &jobs, &n), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_ptr_nonnull(j = find_job(jobs, n, "archive"));
	ck_assert_str_eq(j->rcpt[0].addr, "scan@gw.test");
	ck_assert_str_eq(envelope_rcpt_param(&j->rcpt[0], "path_template"), "invoices/%Y");
	rules_free_jobs(jobs, n);
	d.expires = 86400;
	ck_assert_int_eq(directive_update(st, &d, err, sizeof(err)), 0);
	ck_assert_int_eq(rules_route_env(cfg, &m, &env, &jobs, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(jobs[0].connector, "_router");
	ck_assert_ptr_nonnull(strstr(jobs[0].rcpt[0].text, d.id));
	ck_assert_ptr_nonnull(strstr(jobs[0].rcpt[0].text, "expired on 1970-01-02"));
	rules_free_jobs(jobs, n);
	freemsg(&m);

	msginfo_free(&mi);
	directive_clear(&d);
	lookup_close(tables[0]);
	directive_store_close(st);
	cfg_free(cfg);
}
END_TEST

/* setup - a private directory */
static void
setup(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/check_route.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

/* teardown - remove it */
static void
teardown(void)
{
	char cmd[300];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", tmpdir);
}

/* route_suite - all cases */
static Suite *
route_suite(void)
{
	Suite *s = suite_create("route");
	TCase *tc = tcase_create("route");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, conditions);
	tcase_add_test(tc, size_condition);
	tcase_add_test(tc, header_only);
	tcase_add_loop_test(tc, bad_rules, 0,
	    (int)(sizeof(bad_cases) / sizeof(bad_cases[0])));
	tcase_add_test(tc, lookup_tables);
	tcase_add_test(tc, ldap_filter);
	tcase_add_test(tc, lookup_validation);
	tcase_add_loop_test(tc, ldap_bad_settings, 0,
	    sizeof(ldap_bad) / sizeof(ldap_bad[0]));
	tcase_add_loop_test(tc, shadow_accepted, 0,
	    (int)(sizeof(shadow_ok) / sizeof(shadow_ok[0])));
	tcase_add_test(tc, store_ops);
	tcase_add_test(tc, store_commands);
	tcase_add_test(tc, tokens);
	tcase_add_test(tc, route_actions);
	tcase_add_test(tc, rcpt_probe);
	tcase_add_test(tc, store_migrate);
	suite_add_tcase(s, tc);
	return s;
}

/* main - run the suite */
int
main(void)
{
	SRunner *sr = srunner_create(route_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
