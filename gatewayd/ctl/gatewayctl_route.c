/*
 * gatewayctl_route.c - gatewayctl route test: what the router would do
 * with a recipient, rule by rule
 *
 * The rules run here, in gatewayctl, from the configuration file, with the
 * code the router and the receiver use (lib/rules.c: rules_rule_explain
 * per rule, rules_check_rcpt for the RCPT-time answer, rules_route_env for
 * the jobs), rather than in the router through the master: a test needs
 * no running daemon, cannot disturb routing, and shows the file as it
 * would be after a reload.  File lookup tables (csv, yaml) are read as the
 * router reads them; LDAP lookups and the directive store are not asked
 * (the router's connections and the store are the daemon's): a rule that
 * needs them shows the temporary failure the router would give without
 * them, and says so.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "cfg.h"
#include "envelope.h"
#include "gatewayctl.h"
#include "lookup.h"
#include "rules.h"
#include "textout.h"
#include "xmalloc.h"

static const struct ctl_verb_opt ctl_route_opts[] = {
	{ "sender", 1, 0 }, { "client", 1, 0 }, { "auth", 1, 0 },
	{ "listener", 1, 0 }, { NULL, 0, 0 }
};

/* route_option - the value of "--name" in the canonical words, or NULL */
static char *
route_option(int argc, char **argv, const char *name)
{
	int i;

	for (i = 2; i + 1 < argc; i++)
		if (strncmp(argv[i], "--", 2) == 0 &&
		    strcmp(argv[i] + 2, name) == 0)
			return argv[i + 1];
	return NULL;
}

/* route_lookups - the file tables (LDAP is the router's: left NULL) */
static struct lookup **
route_lookups(const struct cfg *cfg)
{
	struct lookup **l;
	char err[LOOKUP_ERRLEN];
	size_t i;

	if (cfg->nlookups == 0)
		return NULL;
	l = xcalloc(cfg->nlookups, sizeof(*l));
	for (i = 0; i < cfg->nlookups; i++) {
		const struct cfg_lookup *lk = &cfg->lookups[i];

		if (lk->type != NULL && strcmp(lk->type, "ldap") == 0) {
			printf("lookup %s: LDAP, not asked by route test (the "
			    "router would)\n", lk->name);
			continue;
		}
		if ((l[i] = lookup_open(lk->format, lk->path, err,
		    sizeof(err))) == NULL)
			printf("lookup %s: %s\n", lk->name, err);
	}
	return l;
}

/* route_rules - every rule: does it hold, or which condition fails */
static void
route_rules(const struct cfg *cfg, const struct envelope *msg,
    const char *rcpt)
{
	const char *why;
	size_t i;
	int first = 1, m;

	for (i = 0; i < cfg->nrules; i++) {
		m = rules_rule_explain(cfg, i, msg, rcpt, &why);
		printf("rule %zu ", i + 1);
		textout_terms(stdout, cfg->rules[i].name ? cfg->rules[i].name :
		    "-", 0);
		printf(": %s%s%s%s\n", m ? "matches" : "does not match: ",
		    m ? "" : why ? why : "?", m && why ? ", " : "",
		    m && why ? why : "");
		if (m && first && why == NULL) {
			first = 0;
			printf("  (the first rule that holds: the rules after it "
			    "are not tried)\n");
		}
	}
	if (first)
		printf("no rule holds without the message: the default route "
		    "(addressing) or a bounce\n");
}

/* route_jobs - the jobs routing would write, with their parameters */
static void
route_jobs(const struct cfg *cfg, struct envelope *msg, struct rules_env *env)
{
	struct envelope *jobs = NULL;
	size_t njobs = 0, i, k, p;
	const struct envelope_rcpt *r;

	if (rules_route_env(cfg, msg, env, &jobs, &njobs) == -1)
		return;
	for (i = 0; i < njobs; i++)
		for (k = 0; k < jobs[i].nrcpt; k++) {
			r = &jobs[i].rcpt[k];
			printf("job: connector %s, <", jobs[i].connector);
			textout_terms(stdout, r->addr, 0);
			printf(">");
			if (r->code != 0) {
				printf(" %d %s ", r->code, r->status);
				textout_terms(stdout, r->text ? r->text : "", 0);
			}
			for (p = 0; p < r->nparams; p++) {
				printf(" %s=", r->params[p].name);
				textout_terms(stdout, r->params[p].value, 0);
			}
			putchar('\n');
		}
	rules_free_jobs(jobs, njobs);
	rules_env_clear(env);
}

/* route_test - the rule table, the RCPT answer and the jobs of one address */
static int
route_test(const struct cfg *cfg, const char *rcpt, int argc, char **argv)
{
	struct rules_verdict v;
	struct rules_env env;
	struct envelope msg;
	char *sender = route_option(argc, argv, "sender");
	size_t i;

	memset(&msg, 0, sizeof(msg));
	msg.from = sender ? sender : "";
	msg.client = route_option(argc, argv, "client");
	msg.auth = route_option(argc, argv, "auth");
	msg.listener = route_option(argc, argv, "listener");
	printf("recipient <%s> from <%s> client %s auth %s listener %s\n", rcpt,
	    msg.from, msg.client ? msg.client : "-", msg.auth ? msg.auth : "-",
	    msg.listener ? msg.listener : "-");
	memset(&env, 0, sizeof(env));
	env.lookups = route_lookups(cfg);
	route_rules(cfg, &msg, rcpt);
	rules_check_rcpt(cfg, &msg, &env, rcpt, &v);
	printf("RCPT answer: %d %s ", v.code, v.status);
	textout_terms(stdout, v.text, 0);
	putchar('\n');
	msg.rcpt = xcalloc(1, sizeof(*msg.rcpt));
	msg.rcpt[0].addr = (char *)rcpt;
	msg.nrcpt = 1;
	route_jobs(cfg, &msg, &env);
	free(msg.rcpt);
	for (i = 0; env.lookups != NULL && i < cfg->nlookups; i++)
		if (env.lookups[i] != NULL)
			lookup_close(env.lookups[i]);
	free(env.lookups);
	return v.code >= 500 ? EX_DATAERR : v.code >= 400 ? EX_TEMPFAIL : 0;
}

/* ctl_route - gatewayctl route test ADDRESS [options] */
int
ctl_route(struct ctl *ctl, int argc, char **argv)
{
	char err[CFG_ERRLEN];
	struct cfg *cfg;
	int rc, i, nop = 0;
	const char *rcpt = NULL;

	if (argc < 2 || strcmp(argv[1], "test") != 0 ||
	    (argc = ctl_verb_args(ctl, argc, &argv, 2, ctl_route_opts)) == -1) {
		fprintf(stderr, "gatewayctl: usage: route test ADDRESS "
		    "[--sender S] [--client IP] [--auth USER] "
		    "[--listener NAME]\n");
		return EX_USAGE;
	}
	for (i = 2; i < argc; i++) {
		if (strncmp(argv[i], "--", 2) == 0) {
			i++;	/* every route option takes a value */
			continue;
		}
		rcpt = argv[i];
		nop++;
	}
	if (nop != 1) {
		fprintf(stderr, "gatewayctl: route test: one ADDRESS\n");
		return EX_USAGE;
	}
	if ((cfg = cfg_load_file(ctl->config, err, sizeof(err))) == NULL) {
		fprintf(stderr, "gatewayctl: %s\n", err);
		return EX_CONFIG;
	}
	rc = route_test(cfg, rcpt, argc, argv);
	cfg_free(cfg);
	return rc;
}
