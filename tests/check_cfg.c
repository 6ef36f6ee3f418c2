/*
 * check_cfg.c - unit tests of the configuration loader (cfg.c) and the
 * address lists and socket helpers (net.c)
 *
 * Good files: the shipped samples in etc/ load and defaults are applied.
 * Bad files: every tests/data/cfg/bad-NAME.yaml must fail with exactly the
 * message in bad-NAME.err (the file is loaded under its base name so the
 * golden messages do not depend on the source directory).
 *
 * Run as "check_cfg --keys" it prints every key the loader accepts, one
 * dotted path per line, for tests/check_docs.sh.
 */
#include "config.h"

#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <check.h>
#include <fcntl.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cfg.h"
#include "net.h"

#define DATADIR		TEST_SRCDIR "/data/cfg"
/* The sample and the man page as make substituted them (the build tree). */
#define ETCDIR		TEST_BUILDDIR "/../etc"

static const char *const bad_cases[] = {
	"unknown-key", "unknown-top-key", "port", "port-text", "size-suffix",
	"duration", "range", "missing-connectors", "empty-connectors",
	"empty-file", "connector-no-type", "connector-dup-name",
	"connector-bad-name", "concurrency", "rule-unknown-connector",
	"rule-no-action", "rule-both-actions", "rule-dup-name", "reject-code",
	"cidr", "client-cidr", "syntax", "syntax-quote", "scalar-for-list",
	"map-for-scalar", "list-for-map", "top-not-map", "duplicate-key",
	"duplicate-settings-key", "bool", "backoff", "listener-address",
	"listener-dup-name", "listener-missing-address", "domain",
	"local-address", "settings-scalar", "empty-value", "two-documents",
	"type-bad", "listener-tls", "listener-tls-cert", "listener-auth-plain",
	"listener-proxy", "bare-lf", "sasl-backend", "sasl-timeout",
	"notify-no-connector", "notify-unknown-connector", "web-plain", "web-tls",
	"web-admins", "log-relative",
};
#define NBAD	(sizeof(bad_cases) / sizeof(bad_cases[0]))

/* read_file - a whole small file, NUL-terminated */
static char *
read_file(const char *path, size_t *lenp)
{
	FILE *fp;
	char *buf;
	size_t len = 0, cap = 65536, n;

	fp = fopen(path, "r");
	ck_assert_msg(fp != NULL, "cannot open %s", path);
	buf = malloc(cap);
	ck_assert_ptr_nonnull(buf);
	while ((n = fread(buf + len, 1, cap - len - 1, fp)) > 0) {
		len += n;
		if (len + 1 == cap) {
			cap *= 2;
			buf = realloc(buf, cap);
			ck_assert_ptr_nonnull(buf);
		}
	}
	ck_assert(!ferror(fp));
	fclose(fp);
	buf[len] = '\0';
	if (lenp != NULL)
		*lenp = len;
	return buf;
}

/* load_text - load a configuration from a string; NULL with err */
static struct cfg *
load_text(const char *text, char *err, size_t errlen)
{
	return cfg_load_buffer("test.yaml", text, strlen(text), err, errlen);
}

/* sin4 - an IPv4 socket address */
static struct sockaddr_in
sin4(const char *a)
{
	struct sockaddr_in s;

	memset(&s, 0, sizeof(s));
	s.sin_family = AF_INET;
	ck_assert_int_eq(inet_pton(AF_INET, a, &s.sin_addr), 1);
	return s;
}

/* sin6 - an IPv6 socket address */
static struct sockaddr_in6
sin6(const char *a)
{
	struct sockaddr_in6 s;

	memset(&s, 0, sizeof(s));
	s.sin6_family = AF_INET6;
	ck_assert_int_eq(inet_pton(AF_INET6, a, &s.sin6_addr), 1);
	return s;
}

START_TEST(test_sample)
{
	char err[CFG_ERRLEN];
	struct cfg *cfg;
	struct sockaddr_in a;
	struct sockaddr_in6 b;
	const struct gw_node *n;

	cfg = cfg_load_file(ETCDIR "/gatewayd.yaml", err, sizeof(err));
	ck_assert_msg(cfg != NULL, "%s", err);
	ck_assert_uint_eq(cfg->nlisteners, 1);
	ck_assert_str_eq(cfg->listeners[0].name, "smtp");
	ck_assert_str_eq(cfg->listeners[0].address, "127.0.0.1");
	ck_assert_uint_eq(cfg->listeners[0].port, 25);
	ck_assert_int_eq(cfg->listeners[0].backlog, 1024);
	ck_assert_uint_eq(cfg->nconnectors, 1);
	ck_assert_str_eq(cfg->connectors[0].name, "archive");
	ck_assert_str_eq(cfg->connectors[0].type, "folder");
	ck_assert_int_eq(cfg->connectors[0].concurrency, 1);
	ck_assert_int_eq(cfg->connectors[0].initial_concurrency, 5);
	ck_assert_int_eq(cfg->connectors[0].retry.min_backoff, 300);
	ck_assert_int_eq(cfg->connectors[0].retry.max_backoff, 4000);
	ck_assert_int_eq(cfg->connectors[0].retry.lifetime, 432000);
	n = cfg->connectors[0].settings;
	ck_assert_ptr_nonnull(n);
	ck_assert_int_eq(n->type, GW_NODE_MAP);
	ck_assert_str_eq(n->child->key, "path");
	ck_assert(n->child->value[0] == '/');
	ck_assert_uint_eq(cfg->nrules, 1);
	ck_assert_str_eq(cfg->rules[0].connector, "archive");
	ck_assert_int_eq(cfg->rules[0].reject, 0);
	ck_assert_ptr_null(cfg->rules[0].recipient);
	ck_assert_ptr_null(cfg->admin_group);
	ck_assert_int_eq(cfg->log_verbose, 0);
	ck_assert(cfg_local_domain(cfg, "LocalHost"));
	a = sin4("127.0.0.1");
	ck_assert(net_list_match(&cfg->relay.allow, (struct sockaddr *)&a));
	a = sin4("10.0.0.1");
	ck_assert(!net_list_match(&cfg->relay.allow, (struct sockaddr *)&a));
	b = sin6("::1");
	ck_assert(net_list_match(&cfg->relay.allow, (struct sockaddr *)&b));
	ck_assert_str_eq(cfg->file, ETCDIR "/gatewayd.yaml");
	cfg_free(cfg);
}
END_TEST

START_TEST(test_dev)
{
	char err[CFG_ERRLEN];
	struct cfg *cfg;
	const struct gw_node *n;

	cfg = cfg_load_file(TEST_SRCDIR "/../etc/gatewayd-dev.yaml", err, sizeof(err));
	ck_assert_msg(cfg != NULL, "%s", err);
	ck_assert_uint_eq(cfg->listeners[0].port, 2525);
	ck_assert_str_eq(cfg->listeners[0].address, "127.0.0.1");
	ck_assert_str_eq(cfg->spool, "./run/spool");
	ck_assert_str_eq(cfg->pid_file, "./run/gatewayd.pid");
	ck_assert_str_eq(cfg->control_socket, "./run/gatewayd.sock");
	ck_assert_str_eq(cfg->connector_dir, "./connectors/.libs");
	ck_assert(cfg_local_domain(cfg, "GW.LOCAL"));
	ck_assert(cfg_local_domain(cfg, "localhost."));
	ck_assert(!cfg_local_domain(cfg, "example.com"));
	ck_assert_ptr_nonnull(cfg_connector(cfg, "mail"));
	ck_assert_ptr_null(cfg_connector(cfg, "nope"));
	n = cfg_connector(cfg, "mail")->settings;
	ck_assert_ptr_nonnull(n);
	ck_assert_str_eq(n->child->key, "path");
	ck_assert_str_eq(n->child->value, "./run/mail");
	ck_assert_ptr_null(n->child->next);
	ck_assert_uint_eq(cfg->nrules, 1);
	ck_assert_str_eq(cfg->rules[0].connector, "mail");
	cfg_free(cfg);
}
END_TEST

START_TEST(test_defaults)
{
	char err[CFG_ERRLEN];
	struct cfg *cfg;

	cfg = load_text("connectors:\n  - name: a\n    type: folder\n",
	    err, sizeof(err));
	ck_assert_msg(cfg != NULL, "%s", err);
	ck_assert_ptr_nonnull(cfg->user);
	ck_assert(strstr(cfg->spool, "/spool/gatewayd") != NULL);
	ck_assert(strstr(cfg->pid_file, "/gatewayd.pid") != NULL);
	ck_assert(strstr(cfg->control_socket, "/gatewayd.sock") != NULL);
	ck_assert_ptr_nonnull(cfg->connector_dir);
	ck_assert_ptr_null(cfg->admin_group);
	ck_assert_uint_eq(cfg->nlisteners, 1);
	ck_assert_str_eq(cfg->listeners[0].name, "smtp");
	ck_assert_str_eq(cfg->listeners[0].address, "127.0.0.1");
	ck_assert_uint_eq(cfg->listeners[0].port, 25);
	ck_assert_int_eq(cfg->listeners[0].backlog, 1024);
	ck_assert(cfg->smtp.hostname != NULL && cfg->smtp.hostname[0] != '\0');
	ck_assert_uint_eq(cfg->smtp.max_message_size, 10 * 1024 * 1024);
	ck_assert_uint_eq(cfg->smtp.max_recipients, 100);
	ck_assert_uint_eq(cfg->smtp.max_line_length, 1000);
	ck_assert_uint_eq(cfg->smtp.max_commands, 100);
	ck_assert_uint_eq(cfg->smtp.max_errors, 20);
	ck_assert_int_eq(cfg->smtp.idle_timeout, 300);
	ck_assert_uint_eq(cfg->smtp.max_sessions, 1000);
	ck_assert_uint_eq(cfg->relay.nlocal_domains, 0);
	ck_assert_uint_eq(cfg->relay.allow.ncidr, 0);
	ck_assert_ptr_null(cfg->connectors[0].settings);
	ck_assert_uint_eq(cfg->nrules, 0);
	cfg_free(cfg);
}
END_TEST

static const char full_text[] =
    "user: gw\n"
    "spool: /tmp/spool\n"
    "admin_group: adm\n"
    "log_verbose: yes\n"
    "listeners:\n"
    "  - { name: smtp, address: \"::1\", port: 2525, backlog: 16 }\n"
    "  - { name: sub-mission_2, address: 0.0.0.0, port: 587 }\n"
    "smtp:\n"
    "  hostname: gw.example.com\n"
    "  max_message_size: 20m\n"
    "  max_recipients: 5\n"
    "  max_line_length: 2048\n"
    "  idle_timeout: 2h\n"
    "relay:\n"
    "  local_addresses: [Scans@Corp.Example]\n"
    "  allow: [localhost, \"2001:db8::/32\"]\n"
    "connectors:\n"
    "  - name: archive\n"
    "    type: folder\n"
    "    concurrency: 4\n"
    "    initial_concurrency: 2\n"
    "    retry: { min_backoff: 1m, max_backoff: 1h, lifetime: 2d }\n"
    "rules:\n"
    "  - name: bad\n"
    "    sender: \"\"\n"
    "    reject: \"550 5.7.1 no bounces here\"\n"
    "  - name: corp\n"
    "    recipient: \"*@corp.example\"\n"
    "    client: [10.0.0.0/8, \"::ffff:192.168.0.0/112\"]\n"
    "    connector: archive\n";

START_TEST(test_full)
{
	char err[CFG_ERRLEN];
	struct cfg *cfg;
	struct sockaddr_in a;
	struct sockaddr_in6 b;

	cfg = load_text(full_text, err, sizeof(err));
	ck_assert_msg(cfg != NULL, "%s", err);
	ck_assert_str_eq(cfg->user, "gw");
	ck_assert_str_eq(cfg->admin_group, "adm");
	ck_assert_int_eq(cfg->log_verbose, 1);
	ck_assert_uint_eq(cfg->nlisteners, 2);
	ck_assert_str_eq(cfg->listeners[0].address, "::1");
	ck_assert_uint_eq(cfg->listeners[0].port, 2525);
	ck_assert_int_eq(cfg->listeners[0].backlog, 16);
	ck_assert_int_eq(cfg->listeners[1].backlog, 1024);
	ck_assert_str_eq(cfg->listeners[1].name, "sub-mission_2");
	ck_assert_uint_eq(cfg->smtp.max_message_size, 20 * 1024 * 1024);
	ck_assert_uint_eq(cfg->smtp.max_line_length, 2048);
	ck_assert_int_eq(cfg->smtp.idle_timeout, 7200);
	ck_assert(cfg_local_address(cfg, "scans@corp.example"));
	ck_assert(!cfg_local_address(cfg, "other@corp.example"));
	/* relay.allow host names are matched by FCrDNS, not resolved */
	a = sin4("127.0.0.1");
	ck_assert(!net_list_match(&cfg->relay.allow, (struct sockaddr *)&a));
	ck_assert_uint_ge(cfg->relay.allow.nnames, 1);
	ck_assert_str_eq(cfg->relay.allow.names[0], "localhost");
	ck_assert(net_list_name_match(&cfg->relay.allow, "LocalHost."));
	ck_assert(!net_list_name_match(&cfg->relay.allow, "localhost.example"));
	b = sin6("2001:db8:1::5");
	ck_assert(net_list_match(&cfg->relay.allow, (struct sockaddr *)&b));
	ck_assert_int_eq(cfg->connectors[0].concurrency, 4);
	ck_assert_int_eq(cfg->connectors[0].initial_concurrency, 2);
	ck_assert_int_eq(cfg->connectors[0].retry.min_backoff, 60);
	ck_assert_int_eq(cfg->connectors[0].retry.max_backoff, 3600);
	ck_assert_int_eq(cfg->connectors[0].retry.lifetime, 2 * 86400);
	ck_assert_uint_eq(cfg->nrules, 2);
	ck_assert_int_eq(cfg->rules[0].reject, 1);
	ck_assert_str_eq(cfg->rules[0].reject_text, "550 5.7.1 no bounces here");
	ck_assert_str_eq(cfg->rules[0].sender, "");
	ck_assert_ptr_null(cfg->rules[0].connector);
	ck_assert_str_eq(cfg->rules[1].recipient, "*@corp.example");
	a = sin4("192.168.7.7");
	ck_assert(net_list_match(&cfg->rules[1].client, (struct sockaddr *)&a));
	b = sin6("::ffff:10.1.2.3");
	ck_assert(net_list_match(&cfg->rules[1].client, (struct sockaddr *)&b));
	a = sin4("11.0.0.1");
	ck_assert(!net_list_match(&cfg->rules[1].client, (struct sockaddr *)&a));
	cfg_free(cfg);
}
END_TEST

static const char settings_text[] =
    "connectors:\n"
    "  - name: relay\n"
    "    type: smtp\n"
    "    settings:\n"
    "      hosts:\n"
    "        - mx1.example.com\n"
    "        - { host: mx2.example.com, port: 2525 }\n"
    "      tls: { mode: required, ca: /etc/ssl/ca.pem }\n"
    "      empty:\n"
    "      quoted: \"a: b\"\n";

START_TEST(test_settings)
{
	char err[CFG_ERRLEN];
	struct cfg *cfg;
	const struct gw_node *s, *hosts, *h, *tls, *n;

	cfg = load_text(settings_text, err, sizeof(err));
	ck_assert_msg(cfg != NULL, "%s", err);
	s = cfg->connectors[0].settings;
	ck_assert_int_eq(s->type, GW_NODE_MAP);
	ck_assert_str_eq(s->key, "settings");
	ck_assert_str_eq(s->file, "test.yaml");
	ck_assert_uint_eq(s->line, 5);
	ck_assert_uint_eq(s->column, 7);
	hosts = s->child;
	ck_assert_str_eq(hosts->key, "hosts");
	ck_assert_int_eq(hosts->type, GW_NODE_SEQ);
	h = hosts->child;
	ck_assert_int_eq(h->type, GW_NODE_SCALAR);
	ck_assert_ptr_null(h->key);
	ck_assert_str_eq(h->value, "mx1.example.com");
	ck_assert_uint_eq(h->line, 6);
	ck_assert_uint_eq(h->column, 11);
	h = h->next;
	ck_assert_int_eq(h->type, GW_NODE_MAP);
	ck_assert_ptr_null(h->next);
	n = h->child->next;
	ck_assert_str_eq(n->key, "port");
	ck_assert_str_eq(n->value, "2525");
	ck_assert_uint_eq(n->line, 7);
	ck_assert_uint_eq(n->column, 42);
	tls = hosts->next;
	ck_assert_str_eq(tls->key, "tls");
	ck_assert_int_eq(tls->type, GW_NODE_MAP);
	ck_assert_str_eq(tls->child->key, "mode");
	ck_assert_str_eq(tls->child->value, "required");
	ck_assert_str_eq(tls->child->next->value, "/etc/ssl/ca.pem");
	n = tls->next;
	ck_assert_str_eq(n->key, "empty");
	ck_assert_int_eq(n->type, GW_NODE_SCALAR);
	ck_assert_str_eq(n->value, "");
	n = n->next;
	ck_assert_str_eq(n->key, "quoted");
	ck_assert_str_eq(n->value, "a: b");
	ck_assert_ptr_null(n->next);
	cfg_free(cfg);
}
END_TEST

START_TEST(test_null_sections)
{
	char err[CFG_ERRLEN];
	struct cfg *cfg;

	/* A section with everything commented out is an empty one. */
	cfg = load_text("admin_group:\nsmtp:\nrelay:\n  allow:\nrules:\n"
	    "connectors:\n  - name: a\n    type: folder\n    retry:\n"
	    "    settings: ~\n", err, sizeof(err));
	ck_assert_msg(cfg != NULL, "%s", err);
	ck_assert_ptr_null(cfg->admin_group);
	ck_assert_uint_eq(cfg->smtp.max_recipients, 100);
	ck_assert_uint_eq(cfg->nrules, 0);
	ck_assert_ptr_null(cfg->connectors[0].settings);
	ck_assert_int_eq(cfg->connectors[0].retry.max_backoff, 4000);
	cfg_free(cfg);
	ck_assert_ptr_null(load_text("connectors:\n", err, sizeof(err)));
	ck_assert_str_eq(err, "test.yaml:1:12: connectors must list at least one entry");
	ck_assert_ptr_null(load_text("listeners:\nconnectors: [{name: a, type: b}]\n",
	    err, sizeof(err)));
	ck_assert_str_eq(err, "test.yaml:1:11: listeners must list at least one entry");
}
END_TEST

START_TEST(test_man_example)
{
	char err[CFG_ERRLEN], *text, *start, *end;
	struct cfg *cfg;

	/* The EXAMPLES section of gatewayd.yaml(5) must stay a valid file. */
	text = read_file(TEST_BUILDDIR "/../doc/gatewayd.yaml.5", NULL);
	start = strstr(text, "\n.Sh EXAMPLES\n");
	ck_assert_ptr_nonnull(start);
	start = strstr(start, "\n.Bd -literal");
	ck_assert_ptr_nonnull(start);
	start = strchr(start + 1, '\n') + 1;
	end = strstr(start, "\n.Ed\n");
	ck_assert_ptr_nonnull(end);
	cfg = cfg_load_buffer("gatewayd.yaml.5", start, (size_t)(end - start) + 1,
	    err, sizeof(err));
	ck_assert_msg(cfg != NULL, "%s", err);
	ck_assert_uint_eq(cfg->nrules, 3);
	cfg_free(cfg);
	free(text);
}
END_TEST

START_TEST(test_settings_alias_loop)
{
	char err[CFG_ERRLEN];
	struct cfg *cfg;

	/* libyaml lets an alias refer to its own ancestor; no endless copy. */
	cfg = load_text("connectors:\n  - name: a\n    type: folder\n"
	    "    settings: &s { x: *s }\n", err, sizeof(err));
	ck_assert_ptr_null(cfg);
	ck_assert_msg(strstr(err, "nested too deeply") != NULL, "%s", err);
}
END_TEST

START_TEST(test_bad)
{
	char yaml[512], golden[512], err[CFG_ERRLEN], *text, *want;
	const char *name = bad_cases[_i];
	struct cfg *cfg;
	size_t len;

	snprintf(yaml, sizeof(yaml), "%s/bad-%s.yaml", DATADIR, name);
	snprintf(golden, sizeof(golden), "%s/bad-%s.err", DATADIR, name);
	text = read_file(yaml, &len);
	want = read_file(golden, NULL);
	want[strcspn(want, "\n")] = '\0';
	snprintf(yaml, sizeof(yaml), "bad-%s.yaml", name);
	memset(err, 'x', sizeof(err));
	cfg = cfg_load_buffer(yaml, text, len, err, sizeof(err));
	ck_assert_msg(cfg == NULL, "%s loaded", yaml);
	ck_assert_msg(strcmp(err, want) == 0, "%s:\n got: %s\nwant: %s",
	    yaml, err, want);
	free(text);
	free(want);
}
END_TEST

START_TEST(test_bad_all_listed)
{
	glob_t g;
	size_t i, j;

	ck_assert_int_eq(glob(DATADIR "/bad-*.yaml", 0, NULL, &g), 0);
	for (i = 0; i < g.gl_pathc; i++) {
		const char *base = strrchr(g.gl_pathv[i], '/') + 5;

		for (j = 0; j < NBAD; j++)
			if (strncmp(base, bad_cases[j], strlen(bad_cases[j])) == 0 &&
			    strcmp(base + strlen(bad_cases[j]), ".yaml") == 0)
				break;
		ck_assert_msg(j < NBAD, "%s is not in bad_cases", g.gl_pathv[i]);
	}
	ck_assert_uint_eq(g.gl_pathc, NBAD);
	globfree(&g);
}
END_TEST

START_TEST(test_file_errors)
{
	char err[CFG_ERRLEN];

	ck_assert_ptr_null(cfg_load_file(DATADIR "/no-such-file.yaml", err,
	    sizeof(err)));
	ck_assert_str_eq(err, DATADIR "/no-such-file.yaml: No such file or directory");
	ck_assert_ptr_null(cfg_load_file(DATADIR "/bad-bool.yaml", err,
	    sizeof(err)));
	ck_assert_msg(strncmp(err, DATADIR "/bad-bool.yaml:1:14: ",
	    strlen(DATADIR) + 20) == 0, "%s", err);
	/* A tiny err buffer is truncated, never overrun. */
	ck_assert_ptr_null(load_text("usr: x\n", err, 8));
	ck_assert_str_eq(err, "test.ya");
}
END_TEST

START_TEST(test_unresolvable)
{
	char err[CFG_ERRLEN];

	struct cfg *cfg;

	/* proxy_trusted resolves its host names at load */
	ck_assert_ptr_null(load_text("listeners:\n  - name: s\n    address: ::1\n"
	    "    proxy_trusted: [no-such-host.invalid]\n"
	    "connectors:\n  - name: a\n    type: folder\n", err, sizeof(err)));
	ck_assert_msg(strstr(err, "host name 'no-such-host.invalid' does not "
	    "resolve: ") != NULL, "%s", err);
	/* relay.allow and anonymous_allow keep them for FCrDNS */
	cfg = load_text("relay:\n  allow: [no-such-host.invalid]\n"
	    "listeners:\n  - name: s\n    address: ::1\n    require_auth: yes\n"
	    "    anonymous_allow: [10.0.0.0/8, Mfp1.Example]\n"
	    "dns:\n  nameservers: [127.0.0.1, \"127.0.0.1:5353\", \"[::1]:53\"]\n"
	    "  timeout: 3\n"
	    "connectors:\n  - name: a\n    type: folder\n", err, sizeof(err));
	ck_assert_msg(cfg != NULL, "%s", err);
	ck_assert_uint_eq(cfg->relay.allow.nnames, 1);
	ck_assert(cfg->listeners[0].require_auth);
	ck_assert_uint_eq(cfg->listeners[0].anonymous_allow.ncidr, 1);
	ck_assert(net_list_name_match(&cfg->listeners[0].anonymous_allow,
	    "mfp1.example"));
	ck_assert_uint_eq(cfg->dns.nnameservers, 3);
	ck_assert_int_eq(cfg->dns.timeout, 3);
	ck_assert_uint_eq(cfg->smtp.max_errors, 20);
	cfg_free(cfg);
	ck_assert_ptr_null(load_text("dns:\n  nameservers: [\"127.0.0.1:0\"]\n"
	    "connectors:\n  - name: a\n    type: folder\n", err, sizeof(err)));
	ck_assert_ptr_null(load_text("dns:\n  nameservers: [ns.example]\n"
	    "connectors:\n  - name: a\n    type: folder\n", err, sizeof(err)));
	ck_assert_ptr_null(load_text("listeners:\n  - name: s\n    address: ::1\n"
	    "    implicit_tls_detect: yes\n"
	    "connectors:\n  - name: a\n    type: folder\n", err, sizeof(err)));
	ck_assert_msg(strstr(err, "implicit_tls_detect needs tls") != NULL, "%s", err);
}
END_TEST

START_TEST(test_known_keys)
{
	static const char *const want[] = {
		"user", "spool", "pid_file", "control_socket", "admin_group",
		"connector_dir", "log_verbose", "listeners", "listeners.name",
		"listeners.backlog", "smtp.max_recipients", "smtp.idle_timeout",
		"relay.allow", "connectors.retry", "connectors.retry.lifetime",
		"connectors.settings", "rules.client", "rules.reject",
		"listeners.tls", "listeners.tls_key", "listeners.proxy_trusted",
		"smtp.bare_lf", "sasl.backend", "sasl.sasldb_path",
		"sasl.saslauthd_timeout",
	};
	const char *const *keys = cfg_known_keys();
	size_t i, j, n;

	for (n = 0; keys[n] != NULL; n++)
		ck_assert_msg(strncmp(keys[n], "connectors.settings.", 20) != 0,
		    "%s", keys[n]);
	/* other keys come and go; each one listed once */
	ck_assert_uint_ge(n, 41);
	for (i = 0; i < n; i++)
		for (j = i + 1; j < n; j++)
			ck_assert_msg(strcmp(keys[i], keys[j]) != 0, "%s twice", keys[i]);
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		for (j = 0; j < n; j++)
			if (strcmp(keys[j], want[i]) == 0)
				break;
		ck_assert_msg(j < n, "%s missing", want[i]);
	}
	ck_assert_ptr_eq(keys, cfg_known_keys());
}
END_TEST

START_TEST(test_cidr)
{
	struct net_cidr c;
	struct sockaddr_in a;
	struct sockaddr_in6 b;

	ck_assert_int_eq(net_cidr_parse("10.0.0.0/8", &c), 0);
	ck_assert_int_eq(c.family, AF_INET);
	ck_assert_int_eq(c.prefix, 8);
	a = sin4("10.255.1.2");
	ck_assert(net_cidr_match(&c, (struct sockaddr *)&a));
	a = sin4("11.0.0.0");
	ck_assert(!net_cidr_match(&c, (struct sockaddr *)&a));
	b = sin6("::ffff:10.9.9.9");
	ck_assert(net_cidr_match(&c, (struct sockaddr *)&b));
	ck_assert_int_eq(net_cidr_parse("192.0.2.1", &c), 0);
	ck_assert_int_eq(c.prefix, 32);
	ck_assert_int_eq(net_cidr_parse("::1", &c), 0);
	ck_assert_int_eq(c.family, AF_INET6);
	ck_assert_int_eq(c.prefix, 128);
	ck_assert_int_eq(net_cidr_parse("2001:db8::/29", &c), 0);
	b = sin6("2001:dbf::1");
	ck_assert(net_cidr_match(&c, (struct sockaddr *)&b));
	b = sin6("2001:dc0::1");
	ck_assert(!net_cidr_match(&c, (struct sockaddr *)&b));
	ck_assert_int_eq(net_cidr_parse("0.0.0.0/0", &c), 0);
	a = sin4("203.0.113.9");
	ck_assert(net_cidr_match(&c, (struct sockaddr *)&a));
	b = sin6("2001:db8::1");
	ck_assert(!net_cidr_match(&c, (struct sockaddr *)&b));
	ck_assert_int_eq(net_cidr_parse("::ffff:192.0.2.0/120", &c), 0);
	ck_assert_int_eq(c.family, AF_INET);
	ck_assert_int_eq(c.prefix, 24);
	ck_assert_int_eq(net_cidr_parse("10.0.0.0/33", &c), -1);
	ck_assert_int_eq(net_cidr_parse("::/129", &c), -1);
	ck_assert_int_eq(net_cidr_parse("10.0.0.0/", &c), -1);
	ck_assert_int_eq(net_cidr_parse("10.0.0.0/-1", &c), -1);
	ck_assert_int_eq(net_cidr_parse("10.0.0.0/8x", &c), -1);
	ck_assert_int_eq(net_cidr_parse("10.0.0", &c), -1);
	ck_assert_int_eq(net_cidr_parse("example.com", &c), -1);
	ck_assert_int_eq(net_cidr_parse("", &c), -1);
}
END_TEST

START_TEST(test_list)
{
	struct net_list l;
	char err[256], buf[64];
	struct sockaddr_in a;
	struct sockaddr_in6 b;

	memset(&l, 0, sizeof(l));
	ck_assert_int_eq(net_list_add(&l, "192.0.2.0/24", err, sizeof(err)), 0);
	ck_assert_int_eq(net_list_add(&l, "localhost", err, sizeof(err)), 0);
	ck_assert_uint_eq(l.nnames, 1);
	ck_assert_int_eq(net_list_add(&l, "10.0.0.0/33", err, sizeof(err)), -1);
	ck_assert_str_eq(err, "bad network address '10.0.0.0/33'");
	ck_assert_int_eq(net_list_add(&l, "10.1", err, sizeof(err)), -1);
	ck_assert_int_eq(net_list_add(&l, "bad_host!", err, sizeof(err)), -1);
	ck_assert_int_eq(net_list_add(&l, "no-such-host.invalid", err,
	    sizeof(err)), -1);
	ck_assert(strstr(err, "'no-such-host.invalid'") != NULL);
	a = sin4("192.0.2.77");
	ck_assert(net_list_match(&l, (struct sockaddr *)&a));
	a = sin4("127.0.0.1");
	ck_assert(net_list_match(&l, (struct sockaddr *)&a));
	a = sin4("127.0.0.2");
	ck_assert(!net_list_match(&l, (struct sockaddr *)&a));
	b = sin6("::ffff:192.0.2.1");
	ck_assert(net_list_match(&l, (struct sockaddr *)&b));
	ck_assert_str_eq(net_ntop((struct sockaddr *)&b, buf, sizeof(buf)),
	    "192.0.2.1");
	b = sin6("2001:db8::5");
	ck_assert(!net_list_match(&l, (struct sockaddr *)&b));
	ck_assert_str_eq(net_ntop((struct sockaddr *)&b, buf, sizeof(buf)),
	    "2001:db8::5");
	ck_assert_str_eq(net_ntop((struct sockaddr *)&a, buf, sizeof(buf)),
	    "127.0.0.2");
	ck_assert(!net_list_match(&l, NULL));
	net_list_free(&l);
	ck_assert_uint_eq(l.ncidr, 0);
	ck_assert(!net_list_match(&l, (struct sockaddr *)&a));
}
END_TEST

START_TEST(test_listen)
{
	char err[256];
	struct sockaddr_in a;
	socklen_t alen = sizeof(a);
	int fd, fd2, fl;

	fd = net_listen("127.0.0.1", 0, 16, err, sizeof(err));
	ck_assert_msg(fd >= 0, "%s", err);
	ck_assert(fcntl(fd, F_GETFL) & O_NONBLOCK);
	ck_assert(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
	/* The same port again fails with the address in the message. */
	fd2 = net_listen("127.0.0.1", ntohs(a.sin_port), 16, err, sizeof(err));
	ck_assert_int_eq(fd2, -1);
	ck_assert_msg(strncmp(err, "bind 127.0.0.1 port ", 20) == 0, "%s", err);
	ck_assert_int_eq(net_set_cloexec(fd, 0), 0);
	ck_assert(!(fcntl(fd, F_GETFD) & FD_CLOEXEC));
	ck_assert_int_eq(net_set_cloexec(fd, 1), 0);
	ck_assert(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	fl = fcntl(fd, F_GETFL);
	ck_assert_int_eq(fcntl(fd, F_SETFL, fl & ~O_NONBLOCK), 0);
	ck_assert_int_eq(net_set_nonblock(fd), 0);
	ck_assert(fcntl(fd, F_GETFL) & O_NONBLOCK);
	close(fd);
	fd = net_listen("::1", 0, 16, err, sizeof(err));
	if (fd >= 0)		/* no IPv6 on some build hosts */
		close(fd);
	ck_assert_int_eq(net_listen("localhost", 25, 16, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "bad listen address 'localhost'");
	ck_assert_int_eq(net_set_nonblock(-1), -1);
}
END_TEST

/* cfg_suite - the test cases */
static Suite *
cfg_suite(void)
{
	Suite *s = suite_create("cfg");
	TCase *tc = tcase_create("cfg");

	tcase_add_test(tc, test_sample);
	tcase_add_test(tc, test_dev);
	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_full);
	tcase_add_test(tc, test_settings);
	tcase_add_test(tc, test_settings_alias_loop);
	tcase_add_test(tc, test_null_sections);
	tcase_add_test(tc, test_man_example);
	tcase_add_loop_test(tc, test_bad, 0, (int)NBAD);
	tcase_add_test(tc, test_bad_all_listed);
	tcase_add_test(tc, test_file_errors);
	tcase_add_test(tc, test_unresolvable);
	tcase_add_test(tc, test_known_keys);
	suite_add_tcase(s, tc);
	tc = tcase_create("net");
	tcase_add_test(tc, test_cidr);
	tcase_add_test(tc, test_list);
	tcase_add_test(tc, test_listen);
	suite_add_tcase(s, tc);
	return s;
}

int
main(int argc, char **argv)
{
	const char *const *k;
	SRunner *sr;
	int failed;

	if (argc == 2 && strcmp(argv[1], "--keys") == 0) {
		for (k = cfg_known_keys(); *k != NULL; k++)
			printf("%s\n", *k);
		return ferror(stdout) || fflush(stdout) != 0 ? 1 : 0;
	}
	sr = srunner_create(cfg_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
