/*
 * rules.c - routing rules: first match wins, fan-out into one job per connector
 *
 * Patterns (recipient, sender, auth, attachment_type) are fnmatch(3),
 * case-insensitive; a missing condition always holds.  The null sender ""
 * is matched by the patterns "" and "<>"; the auth pattern "-" matches an
 * unauthenticated message.  Routing never drops a recipient: one that no
 * rule takes, that a reject rule takes, whose one-off address is
 * malformed, or whose directive is unknown or expired, ends in a failed
 * job of the reserved connector "_router" with the reason, for the bounce.
 * Conditions on the content use the message scan (msginfo.h); without one
 * the message counts as empty.  Load-time checks live in rules_check.c.
 *
 * rules_check_rcpt() runs the same code for one address in "probe" mode:
 * no job is made and nothing is written (no directive last-use time), the
 * failures are only noted.  Before the message exists (RCPT), a rule whose
 * match needs the content, a lookup keyed by a header and a directive not
 * named by the address leave the recipient undecided: accepted now,
 * decided when the message is routed.
 */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <fnmatch.h>
#include <netinet/in.h>
#include <regex.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "addr.h"
#include "cfg.h"
#include "directive.h"
#include "envelope.h"
#include "lookup.h"
#include "msginfo.h"
#include "net.h"
#include "oneoff.h"
#include "recognize.h"
#include "rules.h"
#include "notice.h"
#include "rules_int.h"
#include "xmalloc.h"

#define RULES_NOROUTE_CODE	550
#define RULES_NOROUTE_STATUS	"5.1.1"
#define RULES_NOROUTE_TEXT	"no route for recipient"

/* rules_client_addr - numeric address text to a sockaddr */
int
rules_client_addr(const char *client, struct sockaddr_storage *ss)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (client == NULL || *client == '\0')
		return -1;
	if (inet_pton(AF_INET, client, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, client, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		return 0;
	}
	memset(ss, 0, sizeof(*ss));
	return -1;
}

/* rules_sender_match - does the sender pattern take this sender? */
static int
rules_sender_match(const char *pattern, const char *from)
{
	if (from == NULL)
		from = "";
	if (*from == '\0' && (*pattern == '\0' || strcmp(pattern, "<>") == 0))
		return 1;
	if (*pattern == '\0' || strcmp(pattern, "<>") == 0)
		return 0;
	return fnmatch(pattern, from, FNM_CASEFOLD) == 0;
}

/* rules_auth_match - the auth pattern ("-" = not authenticated) */
static int
rules_auth_match(const char *pattern, const char *auth)
{
	if (auth == NULL || *auth == '\0' || strcmp(auth, "-") == 0)
		return strcmp(pattern, "-") == 0 || *pattern == '\0';
	return fnmatch(pattern, auth, FNM_CASEFOLD) == 0;
}

/*
 * rules_covers - does pattern a take every value pattern b takes?  kind
 * 'r' (recipient, attachment type), 's' (sender: "" and "<>" are the null
 * sender) or 'a' (auth: "-" is no authentication).  Conservative: true
 * when a is absent or the same text as b, when a is "*" and b is not the
 * null sender or "-", or when b is one plain value that a takes (by the
 * matchers above, so "*" takes the null sender but not "-").
 */
int
rules_covers(int kind, const char *a, const char *b)
{
	int b_none;

	if (a == NULL)
		return 1;
	if (b == NULL)
		return 0;
	if (strcasecmp(a, b) == 0)
		return 1;
	b_none = (kind == 's' && (*b == '\0' || strcmp(b, "<>") == 0)) ||
	    (kind == 'a' && (*b == '\0' || strcmp(b, "-") == 0));
	if (strcmp(a, "*") == 0 && !b_none)
		return 1;
	if (!b_none && strpbrk(b, "*?[\\") != NULL)
		return 0;
	if (kind == 's')
		return rules_sender_match(a, b_none ? "" : b);
	if (kind == 'a')
		return rules_auth_match(a, b_none ? NULL : b);
	return fnmatch(a, b, FNM_CASEFOLD) == 0;
}

/* rules_time_match - day of week and hour window at now (local time) */
static int
rules_time_match(const struct rules_compiled *c, time_t now)
{
	struct tm tm;
	int min;

	if (c->days == 0 && !c->has_hours)
		return 1;
	if (localtime_r(&now, &tm) == NULL)
		return 0;
	if (c->days != 0 && !(c->days & (1u << tm.tm_wday)))
		return 0;
	if (!c->has_hours)
		return 1;
	min = tm.tm_hour * 60 + tm.tm_min;
	if (c->hfrom < c->hto)
		return min >= c->hfrom && min < c->hto;
	return min >= c->hfrom || min < c->hto;		/* wraps midnight */
}

/* rules_content_match - subject, header, size and attachments */
static int
rules_content_match(const struct cfg_rule *rule, const struct rules_compiled *c,
    const struct envelope *msg, const struct msginfo *mi)
{
	const char *v;
	size_t i, nattach = mi ? mi->nattach : 0;
	off_t size = msg->size >= 0 ? msg->size : mi ? (off_t)mi->size : 0;
	int any;

	if (c->has_subject) {
		v = mi ? msginfo_header(mi, "Subject") : NULL;
		if (regexec(&c->subject, v ? v : "", 0, NULL, 0) != 0)
			return 0;
	}
	if (c->has_header) {
		v = mi ? msginfo_header(mi, c->hname) : NULL;
		if (v == NULL || regexec(&c->hre, v, 0, NULL, 0) != 0)
			return 0;
	}
	if ((off_t)rule->min_size > size ||
	    (rule->max_size != 0 && size > (off_t)rule->max_size))
		return 0;
	if (nattach < rule->min_attachments || nattach > rule->max_attachments)
		return 0;
	if (rule->attachment_type != NULL) {
		for (i = 0, any = 0; mi != NULL && i < mi->ntypes && !any; i++)
			any = fnmatch(rule->attachment_type, mi->attach_types[i],
			    FNM_CASEFOLD) == 0;
		if (!any)
			return 0;
	}
	return 1;
}

/* rules_needs_message - does the rule look at the message's content? */
static int
rules_needs_message(const struct cfg_rule *rule)
{
	const struct rules_compiled *c = rule->compiled;

	return (c != NULL && (c->has_subject || c->has_header)) ||
	    rule->min_size > 0 || rule->max_size != 0 ||
	    rule->min_attachments > 0 || rule->max_attachments != SIZE_MAX ||
	    rule->attachment_type != NULL;
}

/* A condition of the rule does not hold: say which (why may be NULL). */
#define RULES_NO(w)	do { if (why != NULL) *why = (w); return 0; } while (0)

/*
 * rules_rule_match - do all conditions of one rule hold?  Without
 * content, the conditions on the message are not looked at.  When one
 * fails, *why (unless why is NULL) names it, as in the configuration.
 */
static int
rules_rule_match(const struct cfg_rule *rule, const struct envelope *msg,
    const struct sockaddr *client, const char *rcpt,
    const struct oneoff_dest *dest, const struct rules_env *env, int content,
    const char **why)
{
	const struct rules_compiled *c = rule->compiled;

	if (rule->recipient != NULL &&
	    fnmatch(rule->recipient, rcpt, FNM_CASEFOLD) != 0)
		RULES_NO("recipient");
	if (rule->sender != NULL && !rules_sender_match(rule->sender, msg->from))
		RULES_NO("sender");
	if (rule->client.ncidr > 0 || rule->client.nnames > 0) {
		if (client == NULL || !net_list_match(&rule->client, client))
			RULES_NO("client");
	}
	if (rule->auth != NULL && !rules_auth_match(rule->auth, msg->auth))
		RULES_NO("auth");
	if (rule->listener != NULL && (msg->listener == NULL ||
	    strcmp(rule->listener, msg->listener) != 0))
		RULES_NO("listener");
	if (c == NULL)		/* not checked by cfg (a hand-made cfg) */
		return 1;
	if (c->type >= 0 && (dest == NULL || (int)dest->type != c->type))
		RULES_NO("type");
	if (content && !rules_content_match(rule, c, msg, env ? env->mi : NULL))
		RULES_NO("message content (subject, header, size, attachments)");
	if (!rules_time_match(c, env && env->now ? env->now : time(NULL)))
		RULES_NO("days or hours");
	return 1;
}

static int rules_parse_dest(const struct cfg *, const char *,
    struct oneoff_dest *, char *, size_t);

/*
 * rules_rule_explain - does rule i hold for rcpt of msg, without the
 * message (rules.h)?  The code routing uses, for gatewayctl route test.
 */
int
rules_rule_explain(const struct cfg *cfg, size_t i, const struct envelope *msg,
    const char *rcpt, const char **why)
{
	struct sockaddr_storage ss;
	struct oneoff_dest d;
	char err[128];

	*why = NULL;
	if (i >= cfg->nrules)
		return 0;
	if (rules_parse_dest(cfg, rcpt, &d, err, sizeof(err)) == -1)
		memset(&d, 0, sizeof(d));
	if (!rules_rule_match(&cfg->rules[i], msg, msg->client != NULL &&
	    rules_client_addr(msg->client, &ss) == 0 ?
	    (const struct sockaddr *)&ss : NULL, rcpt, &d, NULL, 0, why))
		return 0;
	if (rules_needs_message(&cfg->rules[i]))
		*why = "needs the message (decided after DATA)";
	return 1;
}

/* rules_match_from - the first rule from index from that holds, or NULL */
static const struct cfg_rule *
rules_match_from(const struct cfg *cfg, size_t from, const struct envelope *msg,
    const struct sockaddr *client, const char *rcpt,
    const struct oneoff_dest *dest, const struct rules_env *env)
{
	size_t i;

	for (i = from; i < cfg->nrules; i++)
		if (rules_rule_match(&cfg->rules[i], msg, client, rcpt, dest, env,
		    1, NULL))
			return &cfg->rules[i];
	return NULL;
}

/* rules_match_dest - the first rule whose conditions all hold, or NULL */
const struct cfg_rule *
rules_match_dest(const struct cfg *cfg, const struct envelope *msg,
    const struct sockaddr *client, const char *rcpt,
    const struct oneoff_dest *dest, const struct rules_env *env)
{
	return rules_match_from(cfg, 0, msg, client, rcpt, dest, env);
}

/* rules_parse_dest - the one-off destination of an address */
static int
rules_parse_dest(const struct cfg *cfg, const char *rcpt,
    struct oneoff_dest *d, char *err, size_t errlen)
{
	enum oneoff_default def = ONEOFF_DEFAULT_AUTO;

	if (cfg->addressing.default_type != NULL)
		(void)oneoff_default_parse(cfg->addressing.default_type, &def);
	return oneoff_parse(rcpt, cfg_local_domain(cfg, addr_domain(rcpt)), def,
	    cfg->directives.prefix ? cfg->directives.prefix : "ed-", d, err,
	    errlen);
}

/* rules_match - the first rule for this recipient, without the message */
const struct cfg_rule *
rules_match(const struct cfg *cfg, const struct envelope *msg,
    const struct sockaddr *client, const char *rcpt)
{
	struct oneoff_dest d;
	char err[128];

	if (rules_parse_dest(cfg, rcpt, &d, err, sizeof(err)) == -1)
		memset(&d, 0, sizeof(d));
	return rules_match_dest(cfg, msg, client, rcpt, &d, NULL);
}

/* rules_reject_reply - code, status and text of a reject rule */
void
rules_reject_reply(const struct cfg_rule *rule, int *code, char status[16],
    char *text, size_t textlen)
{
	const char *p = rule->reject_text ? rule->reject_text : "";
	size_t n;

	*code = 550;
	snprintf(status, 16, "5.7.1");
	while (*p == ' ')
		p++;
	if (p[0] == '5' && isdigit((unsigned char)p[1]) &&
	    isdigit((unsigned char)p[2]) && (p[3] == ' ' || p[3] == '\0')) {
		*code = (p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0');
		p += 3;
		while (*p == ' ')
			p++;
	}
	n = strspn(p, "0123456789.");
	if (p[0] == '5' && p[1] == '.' && n >= 5 && n < 12 &&
	    (p[n] == ' ' || p[n] == '\0')) {
		snprintf(status, 16, "%.*s", (int)n, p);
		p += n;
		while (*p == ' ')
			p++;
	}
	if (*p == '\0')
		p = "rejected by rule";
	snprintf(text, textlen, "%s", p);
}

/* rules_job - the job for connector in the list, created from msg if new */
static struct envelope *
rules_job(const struct envelope *msg, const char *connector,
    struct envelope **jobs, size_t *njobs)
{
	struct envelope tmpl, *job;
	size_t i;

	for (i = 0; i < *njobs; i++)
		if (strcmp((*jobs)[i].connector, connector) == 0)
			return &(*jobs)[i];
	*jobs = xreallocarray(*jobs, *njobs + 1, sizeof(**jobs));
	job = &(*jobs)[(*njobs)++];
	memset(job, 0, sizeof(*job));
	/* Copy the message fields only: recipients are added one by one. */
	tmpl = *msg;
	tmpl.rcpt = NULL;
	tmpl.nrcpt = 0;
	tmpl.connector = NULL;
	tmpl.last_error = NULL;
	envelope_copy(job, &tmpl);
	job->kind = ENVELOPE_JOB;
	job->connector = xstrdup(connector);
	job->attempts = 0;
	job->next_attempt = 0;
	return job;
}

/* rules_connector_known - is there a connector instance of that name? */
static int
rules_connector_known(const struct cfg *cfg, const char *name)
{
	size_t i;

	if (name == NULL)
		return 0;
	for (i = 0; i < cfg->nconnectors; i++)
		if (cfg->connectors[i].name != NULL &&
		    strcmp(cfg->connectors[i].name, name) == 0)
			return 1;
	return 0;
}

/* The state of routing one message. */
struct rules_run {
	const struct cfg *cfg;
	const struct envelope *msg;
	const struct sockaddr *client;
	struct rules_env *env;
	struct envelope **jobs;
	size_t *njobs;
	int probe;			/* rules_check_rcpt: no job, no write */
	size_t ndeliver;		/* probe: deliveries found */
	int undecided;			/* probe: needs the message */
	struct rules_verdict temp, perm;	/* probe: first failures */
};

static void rules_need_body(struct rules_run *);

/* rules_add_rcpt - copy a recipient into a job (once per address) */
static struct envelope_rcpt *
rules_add_rcpt(struct envelope *job, const struct envelope_rcpt *src,
    const char *addr)
{
	struct envelope_rcpt *r;
	size_t i;

	for (i = 0; i < job->nrcpt; i++)
		if (strcasecmp(job->rcpt[i].addr, addr) == 0)
			return NULL;	/* a fan-out reached it twice */
	r = envelope_add_rcpt(job, addr);
	for (i = 0; i < src->nparams; i++)
		envelope_rcpt_set_param(r, src->params[i].name,
		    src->params[i].value);
	if (strcmp(addr, src->addr) != 0 &&
	    envelope_rcpt_param(r, "original") == NULL)
		envelope_rcpt_set_param(r, "original", src->addr);
	r->state = RCPT_PENDING;
	r->code = 0;
	r->status[0] = '\0';
	return r;
}

/* rules_set - set a parameter unless empty or already set */
static void
rules_set(struct envelope_rcpt *r, const char *name, const char *value)
{
	if (r == NULL || value == NULL || *value == '\0' ||
	    envelope_rcpt_param(r, name) != NULL ||
	    r->nparams >= ENVELOPE_MAX_PARAMS)
		return;
	envelope_rcpt_set_param(r, name, value);
}

/* rules_note_fail - a probe keeps the first temporary and permanent failure */
static void
rules_note_fail(struct rules_run *run, int code, const char *status,
    const char *text)
{
	struct rules_verdict *v = code < 500 ? &run->temp : &run->perm;

	if (v->code != 0)
		return;
	v->code = code;
	snprintf(v->status, sizeof(v->status), "%s", status);
	snprintf(v->text, sizeof(v->text), "%s", text);
}

/* rules_fail - the recipient fails in the "_router" job (router.c defers a 4xx) */
static void
rules_fail(struct rules_run *run, const struct envelope_rcpt *src,
    const char *addr, int code, const char *status, const char *text)
{
	struct envelope_rcpt *r;
	struct envelope *job;

	if (run->probe) {
		rules_note_fail(run, code, status, text);
		return;
	}
	job = rules_job(run->msg, RULES_ROUTER_CONNECTOR, run->jobs, run->njobs);
	if ((r = rules_add_rcpt(job, src, addr)) == NULL)
		return;
	r->state = RCPT_FAILED;
	r->code = code;
	snprintf(r->status, sizeof(r->status), "%s", status);
	envelope_rcpt_put_text(r, xstrdup(text));
	if (job->last_error == NULL)
		xasprintf(&job->last_error, "%d %s %s", code, status, text);
}

/* rules_dest_params - the parsed one-off fields as parameters */
static void
rules_dest_params(struct rules_run *run, struct envelope_rcpt *r,
    const char *addr, const struct oneoff_dest *d)
{
	char name[ONEOFF_FIELD_MAX];

	if (r == NULL)
		return;
	rules_set(r, "type", oneoff_type_name(d->type));
	if (d->type == ONEOFF_FAX)
		rules_set(r, "fax", d->number);
	if (d->type == ONEOFF_DID)
		rules_set(r, "did", d->number);
	rules_set(r, "name", d->name);
	if (d->name[0] == '\0' && run->env != NULL && run->env->mi != NULL &&
	    msginfo_display_name(run->env->mi, addr, name, sizeof(name)) == 0)
		rules_set(r, "name", name);
	rules_set(r, "company", d->company);
	rules_set(r, "flags", d->flags);
}

/* rules_deliver_one - the recipient into the job of one connector */
static struct envelope_rcpt *
rules_deliver_one(struct rules_run *run, const struct cfg_rule *rule,
    const char *connector, const struct envelope_rcpt *src, const char *addr,
    const struct oneoff_dest *d)
{
	const struct gw_node *n;
	struct envelope_rcpt *r;
	struct envelope *job;

	if (!rules_connector_known(run->cfg, connector)) {
		/* cfg refuses this; a hand-made cfg still never loses it */
		rules_fail(run, src, addr, RULES_NOROUTE_CODE,
		    RULES_NOROUTE_STATUS, RULES_NOROUTE_TEXT);
		return NULL;
	}
	if (run->probe) {
		run->ndeliver++;
		return NULL;
	}
	job = rules_job(run->msg, connector, run->jobs, run->njobs);
	if ((r = rules_add_rcpt(job, src, addr)) == NULL)
		return NULL;
	rules_dest_params(run, r, addr, d);
	if (rule == NULL)
		return r;
	for (n = rule->params ? rule->params->child : NULL; n != NULL;
	    n = n->next)
		if (n->type == GW_NODE_SCALAR && n->key != NULL)
			rules_set(r, n->key, n->value);
	if (rule->failover != NULL && strcmp(rule->failover, connector) != 0)
		rules_set(r, "failover", rule->failover);
	if (rule->hold != NULL)
		rules_set(r, "hold", rule->name);
	rules_set(r, "rule", rule->name);	/* for the delivery log line */
	notice_params(r, rule, run->msg, run->env != NULL ? run->env->mi :
	    NULL);
	return r;
}

/* rules_deliver - the deliver and hold actions (fan-out) */
static void
rules_deliver(struct rules_run *run, const struct cfg_rule *rule,
    const struct envelope_rcpt *src, const char *addr,
    const struct oneoff_dest *d)
{
	size_t i;

	if (rule->hold != NULL) {
		rules_deliver_one(run, rule, rule->hold, src, addr, d);
		return;
	}
	if (rule->connector != NULL)
		rules_deliver_one(run, rule, rule->connector, src, addr, d);
	for (i = 0; i < rule->nconnectors; i++)
		rules_deliver_one(run, rule, rule->connectors[i], src, addr, d);
}

static void rules_route_addr(struct rules_run *, const struct envelope_rcpt *,
    const char *, int);
static void rules_route_from(struct rules_run *, const struct envelope_rcpt *,
    const char *, int, size_t);

/*
 * rules_lookup_key - what to look up: by the lookup's key, the address,
 * the authenticated user, or the digits of a header or of the address
 */
static int
rules_lookup_key(struct rules_run *run, const struct cfg_lookup *lk,
    const char *addr, const struct oneoff_dest *d, char *key, size_t keylen)
{
	const char *v = NULL;
	char local[256];
	size_t len;
	int n;

	if (lk->key != NULL && strcmp(lk->key, "digits") != 0) {
		v = strcmp(lk->key, "auth") == 0 ? run->msg->auth : addr;
		if (v == NULL || *v == '\0' || strcmp(v, "-") == 0)
			return -1;
		n = snprintf(key, keylen, "%s", v);
		return n < 0 || (size_t)n >= keylen ? -1 : 0;
	}
	if (lk->header != NULL && run->env != NULL && run->env->mi != NULL)
		v = msginfo_header(run->env->mi, lk->header);
	if (v == NULL && lk->header == NULL) {
		if (d->number[0] != '\0')
			v = d->number;
		else {
			len = addr_local_len(addr);
			if (len >= sizeof(local))
				return -1;
			memcpy(local, addr, len);
			local[len] = '\0';
			v = local;
		}
	}
	if (v == NULL)
		return -1;
	return lookup_key_digits(v, lk->digits, key, keylen);
}

/* rules_lookup_missing - no entry: 550, "no such user" for a validation */
static void
rules_lookup_missing(struct rules_run *run, const struct cfg_rule *rule,
    const struct cfg_lookup *lk, const struct envelope_rcpt *src,
    const char *addr, const char *key)
{
	char text[RULES_TEXT_MAX];

	if (rule->connector != NULL || rule->nconnectors > 0)
		snprintf(text, sizeof(text), "no such user (lookup %s)",
		    lk->name);
	else
		snprintf(text, sizeof(text), "no entry for %.64s in lookup %s",
		    key, lk->name);
	rules_fail(run, src, addr, 550, "5.1.1", text);
}

/*
 * rules_lookup_result - one value found: delivered to the rule's
 * connectors when it names some (validation), else routed again
 */
static void
rules_lookup_result(struct rules_run *run, const struct cfg_rule *rule,
    const struct envelope_rcpt *src, const char *val, int depth)
{
	struct oneoff_dest d;
	char err[128], text[RULES_TEXT_MAX];

	if (rule->connector != NULL || rule->nconnectors > 0) {
		if (rules_parse_dest(run->cfg, val, &d, err, sizeof(err)) == -1) {
			snprintf(text, sizeof(text), "bad address from lookup "
			    "%s: %s", rule->lookup, err);
			rules_fail(run, src, val, 553, "5.1.3", text);
		} else
			rules_deliver(run, rule, src, val, &d);
	} else if (depth + 1 >= RULES_MAX_DEPTH)
		rules_fail(run, src, val, 554, "5.4.6",
		    "routing loop: too many lookups");
	else
		rules_route_addr(run, src, val, depth + 1);
}

/* rules_lookup - resolve through a table, route each result again */
static void
rules_lookup(struct rules_run *run, const struct cfg_rule *rule,
    const struct envelope_rcpt *src, const char *addr,
    const struct oneoff_dest *d, int depth)
{
	int idx = rules_lookup_index(run->cfg, rule->lookup);
	const struct cfg_lookup *lk = &run->cfg->lookups[idx];
	const char *const *vals = NULL;
	const char *fallback[1];
	char key[512], text[RULES_TEXT_MAX], **copy;
	size_t n = 0, i;
	int r = 1;

	if (run->env == NULL || run->env->lookups == NULL ||
	    run->env->lookups[idx] == NULL) {
		rules_fail(run, src, addr, 451, "4.3.0", "lookup table unavailable");
		return;
	}
	if (run->probe && lk->header != NULL && run->env->mi == NULL) {
		run->undecided = 1;	/* keyed by a header: after DATA */
		return;
	}
	if (rules_lookup_key(run, lk, addr, d, key, sizeof(key)) == 0)
		r = lookup_get(run->env->lookups[idx], key, &vals, &n);
	else
		snprintf(key, sizeof(key), "(none)");
	if (r == LOOKUP_PENDING) {
		/* asked: the router runs the same decision again on the answer */
		run->env->pending = 1;
		snprintf(text, sizeof(text), "lookup %s pending", lk->name);
		rules_fail(run, src, addr, 451, "4.3.0", text);
		return;
	}
	if (r == -1) {
		/* server unreachable, timeout: the router defers, never bounces */
		snprintf(text, sizeof(text), "lookup %s temporarily unavailable",
		    lk->name);
		rules_fail(run, src, addr, 451, "4.3.0", text);
		return;
	}
	if (r != 0 && lk->fallback != NULL) {
		fallback[0] = lk->fallback;
		vals = fallback;
		n = 1;
	} else if (r != 0) {
		rules_lookup_missing(run, rule, lk, src, addr, key);
		return;
	}
	/* a backend's answer lasts until its next get: routing may ask again */
	copy = xcalloc(n, sizeof(*copy));
	for (i = 0; i < n; i++)
		copy[i] = xstrdup(vals[i]);
	for (i = 0; i < n; i++)
		rules_lookup_result(run, rule, src, copy[i], depth);
	for (i = 0; i < n; i++)
		free(copy[i]);
	free(copy);
}

/* rules_directive_rcpt - one recipient of a directive into its job */
static void
rules_directive_rcpt(struct rules_run *run, const struct directive *dv,
    const struct directive_rcpt *dr, const struct envelope_rcpt *src,
    const char *addr)
{
	const char *conn = rules_channel_connector(run->cfg, dr->channel);
	const char *to = dr->address[0] != '\0' ? dr->address : addr;
	struct oneoff_dest d;
	struct envelope_rcpt *r;
	char text[RULES_TEXT_MAX];
	size_t i;

	memset(&d, 0, sizeof(d));
	if (conn == NULL) {
		snprintf(text, sizeof(text), "directive %s: channel %.64s has no "
		    "connector", dv->id, dr->channel);
		rules_fail(run, src, to, 550, "5.3.0", text);
		return;
	}
	if (strcasecmp(dr->channel, "fax") == 0 &&
	    oneoff_number(to, strcspn(to, "@"), d.number, sizeof(d.number),
	    1) == 0)
		d.type = ONEOFF_FAX;
	r = rules_deliver_one(run, NULL, conn, src, to, &d);
	rules_set(r, "directive", dv->id);
	rules_set(r, "channel", dr->channel);
	for (i = 0; r != NULL && i < dr->nparams; i++)
		rules_set(r, dr->params[i].name, dr->params[i].value);
}

/*
 * rules_directive_find - the directive the message names: 0, 1 unknown,
 * 2 none named, -1 store error
 */
static int
rules_directive_find(struct rules_run *run, const char *addr,
    const struct oneoff_dest *d, struct directive *dv, char *text,
    size_t textlen)
{
	struct recognize_input in = { addr, d, run->env->mi };
	const struct recognizer *rc;
	char cand[DIRECTIVE_ID_MAX + 64], err[DIRECTIVE_ERRLEN];
	enum recognize_kind kind;
	int r;

	for (rc = recognize_list; rc->name != NULL; rc++) {
		if ((kind = rc->find(&in, cand, sizeof(cand))) == RECOGNIZE_NONE)
			continue;
		if (kind == RECOGNIZE_KEYWORD) {
			r = directive_get_keyword(run->env->store, cand, dv, err,
			    sizeof(err));
			if (r == 1)
				continue;
		} else
			r = directive_get(run->env->store, cand, dv, err,
			    sizeof(err));
		if (r == -1)
			snprintf(text, textlen, "%s", err);
		else if (r == 1)
			snprintf(text, textlen, "unknown directive ED:%.32s "
			    "(named by the %s)", cand, rc->name);
		return r;
	}
	if (run->probe && run->env->mi == NULL)
		return 2;	/* the subject or the body may name one */
	snprintf(text, textlen, "no directive named by the address, subject "
	    "or body");
	return 2;
}

/* rules_has_scan - does the message have an attachment a scanner writes? */
static int
rules_has_scan(const struct msginfo *mi)
{
	static const char *const types[] = { "application/pdf", "image/tiff",
	    "image/jpeg", "image/jpg", "image/png", "application/octet-stream",
	    NULL };
	size_t i, j;

	for (i = 0; mi != NULL && i < mi->ntypes; i++)
		for (j = 0; types[j] != NULL; j++)
			if (strcmp(mi->attach_types[i], types[j]) == 0)
				return 1;
	return 0;
}

/*
 * rules_sheet_outcome - what a directive rule's sheet setting says for
 * no sheet, an unknown or expired directive on one, or an unreadable scan
 */
static void
rules_sheet_outcome(struct rules_run *run, const struct cfg_rule *rule,
    int outcome, const struct envelope_rcpt *src, const char *addr,
    const struct oneoff_dest *d, int depth, const char *text)
{
	struct envelope_rcpt *r;
	struct envelope *job;

	switch (outcome) {
	case CFG_SHEET_NEXT:
		rules_route_from(run, src, addr, depth,
		    (size_t)(rule - run->cfg->rules) + 1);
		break;
	case CFG_SHEET_HOLD:
		r = rules_deliver_one(run, NULL, rule->sheet.hold, src, addr, d);
		rules_set(r, "hold", rule->name);
		/* the reason queue show gives the operator */
		job = rules_job(run->msg, rule->sheet.hold, run->jobs, run->njobs);
		if (r != NULL && job->last_error == NULL)
			xasprintf(&job->last_error, "held: %s", text);
		break;
	default:
		rules_fail(run, src, addr, 550, "5.6.0", text);
	}
}

/* rules_sheet_split - the recognizer's parts will carry this recipient */
static void
rules_sheet_split(struct rules_run *run, const struct envelope_rcpt *src,
    const char *addr)
{
	struct rules_env *env = run->env;
	size_t i;

	for (i = 0; i < env->nsplit; i++)
		if (strcasecmp(env->split[i].addr, addr) == 0)
			return;
	env->split = xreallocarray(env->split, env->nsplit + 1,
	    sizeof(*env->split));
	env->split[env->nsplit].src = src;
	env->split[env->nsplit++].addr = xstrdup(addr);
}

/*
 * rules_sheet_recognize - nothing but a routing sheet can name the
 * directive: wait for the recognizer, or apply its answer
 */
static void
rules_sheet_recognize(struct rules_run *run, const struct cfg_rule *rule,
    const struct envelope_rcpt *src, const char *addr,
    const struct oneoff_dest *d, int depth)
{
	const struct rules_recog *rg = run->env->recog;
	char text[RULES_TEXT_MAX];

	if (!rules_has_scan(run->env->mi)) {
		rules_sheet_outcome(run, rule, rule->sheet.missing, src, addr, d,
		    depth, "no routing sheet found: the message has no scanned "
		    "document (PDF, TIFF, JPEG or PNG) and its address, subject "
		    "and body name no directive");
		return;
	}
	if (rg == NULL) {
		run->env->recog_needed = 1;
		run->env->recog_keep |= rule->sheet.keep_sheet;
		return;
	}
	if (rg->status == RULES_RECOG_SHEETS) {
		rules_sheet_split(run, src, addr);
		return;
	}
	if (rg->status == RULES_RECOG_NONE) {
		snprintf(text, sizeof(text), "no routing sheet found in the "
		    "scan (%s): put the directive's sheet on top of the paper "
		    "and scan again", rg->reason);
		rules_sheet_outcome(run, rule, rule->sheet.missing, src, addr, d,
		    depth, text);
		return;
	}
	snprintf(text, sizeof(text), "the scanned document could not be read "
	    "for a routing sheet: %s", rg->reason);
	rules_sheet_outcome(run, rule, rule->sheet.unreadable, src, addr, d,
	    depth, text);
}

/*
 * rules_sheet_get - the directive a part's sheet names: 0 found, 1 none
 * (outcome set: missing or unknown, text the reason), -1 store error
 */
static int
rules_sheet_get(struct rules_run *run, const struct cfg_rule *rule,
    const struct envelope_rcpt *src, struct directive *dv, int *outcome,
    char *text, size_t textlen)
{
	const char *id = envelope_rcpt_param(src, "sheet-directive");
	char err[DIRECTIVE_ERRLEN];
	int r;

	if (id == NULL) {
		*outcome = rule->sheet.missing;
		snprintf(text, textlen, "no routing sheet before these pages "
		    "of the scan (pages %.32s)",
		    envelope_rcpt_param(src, "sheet-pages") ?
		    envelope_rcpt_param(src, "sheet-pages") : "?");
		return 1;
	}
	r = directive_get(run->env->store, id, dv, err, sizeof(err));
	if (r == -1)
		snprintf(text, textlen, "%s", err);
	else if (r == 1) {
		*outcome = rule->sheet.unknown;
		snprintf(text, textlen, "the routing sheet names directive "
		    "ED:%.32s, which does not exist (deleted, or a sheet of "
		    "another gateway)", id);
	}
	return r;
}

/* rules_directive_to - fan out to the directive's recipients, or expired */
static void
rules_directive_to(struct rules_run *run, const struct cfg_rule *rule,
    struct directive *dv, const struct envelope_rcpt *src, const char *addr,
    const struct oneoff_dest *d, int depth)
{
	char text[RULES_TEXT_MAX], when[32];
	time_t now = run->env->now ? run->env->now : time(NULL);
	time_t t = (time_t)dv->expires;
	struct tm tm;
	size_t i;

	if (directive_expired(dv, (int64_t)now)) {
		gmtime_r(&t, &tm);
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M UTC", &tm);
		snprintf(text, sizeof(text), "directive ED:%s expired on %s",
		    dv->id, when);
		if (rule != NULL && envelope_rcpt_param(src, "sheet") != NULL)
			rules_sheet_outcome(run, rule, rule->sheet.unknown, src,
			    addr, d, depth, text);
		else
			rules_fail(run, src, addr, 550, "5.1.1", text);
		return;
	}
	if (!rules_directive_allowed(run->cfg, run->msg, run->client, dv, text,
	    sizeof(text))) {
		rules_fail(run, src, addr, 550, "5.7.1", text);
		return;
	}
	for (i = 0; i < dv->nrcpt; i++)
		rules_directive_rcpt(run, dv, &dv->rcpt[i], src, addr);
	if (!run->probe)
		(void)directive_touch(run->env->store, dv->id, (int64_t)now);
}

/*
 * rules_directive - the embedded directive manager (rule: the directive
 * rule that matched, NULL for an ed-<id> address no rule took)
 */
static void
rules_directive(struct rules_run *run, const struct cfg_rule *rule,
    const struct envelope_rcpt *src, const char *addr,
    const struct oneoff_dest *d, int depth)
{
	const char *sheet = envelope_rcpt_param(src, "sheet");
	struct directive dv;
	char text[RULES_TEXT_MAX];
	int r, outcome = CFG_SHEET_BOUNCE;

	if (run->env != NULL && run->env->mi != NULL &&
	    run->env->mi->header_only) {
		rules_need_body(run);	/* body text and scans */
		return;
	}
	if (run->env != NULL && run->env->store == NULL &&
	    run->env->store_open != NULL)
		run->env->store = run->env->store_open(run->env->store_arg);
	if (run->env == NULL || run->env->store == NULL) {
		rules_fail(run, src, addr, 451, "4.3.0",
		    "directive store unavailable");
		return;
	}
	memset(&dv, 0, sizeof(dv));
	if (rule != NULL && sheet != NULL)
		r = rules_sheet_get(run, rule, src, &dv, &outcome, text,
		    sizeof(text));
	else
		r = rules_directive_find(run, addr, d, &dv, text, sizeof(text));
	if (r == 2 && run->probe)
		run->undecided = 1;	/* decided after DATA (or by a sheet) */
	else if (r == 2 && rule != NULL)
		rules_sheet_recognize(run, rule, src, addr, d, depth);
	else if (r == 1 && rule != NULL && sheet != NULL)
		rules_sheet_outcome(run, rule, outcome, src, addr, d, depth,
		    text);
	else if (r != 0)
		rules_fail(run, src, addr, r == -1 ? 451 : 550,
		    r == -1 ? "4.3.0" : "5.1.1", text);
	else
		rules_directive_to(run, rule, &dv, src, addr, d, depth);
	directive_clear(&dv);
}

/* rules_default - no rule matched: the default route of the type */
static void
rules_default(struct rules_run *run, const struct envelope_rcpt *src,
    const char *addr, const struct oneoff_dest *d)
{
	const char *conn = NULL;

	if (d->type == ONEOFF_DIRECTIVE) {
		rules_directive(run, NULL, src, addr, d, 0);
		return;
	}
	if (d->type == ONEOFF_FAX)
		conn = run->cfg->addressing.fax_connector;
	else if (d->type == ONEOFF_EMAIL)
		conn = run->cfg->addressing.email_connector;
	if (conn != NULL && rules_connector_known(run->cfg, conn))
		rules_deliver_one(run, NULL, conn, src, addr, d);
	else
		rules_fail(run, src, addr, RULES_NOROUTE_CODE,
		    RULES_NOROUTE_STATUS, RULES_NOROUTE_TEXT);
}

/* rules_need_body - routing needs more of the message than its header */
static void
rules_need_body(struct rules_run *run)
{
	run->env->need_body = 1;
	run->undecided = 1;	/* no more of this address: routed again */
}

/*
 * rules_match_header_only - rules_match_from with only the message's
 * header scanned: the first rule that holds, unless one that would hold
 * looks at the parts (attachment conditions), sends notices (the
 * documents' names) or hands to the directive manager (body text, scans):
 * then routing needs the whole message (rules_need_body)
 */
static const struct cfg_rule *
rules_match_header_only(struct rules_run *run, size_t from, const char *addr,
    const struct oneoff_dest *d)
{
	const struct cfg_rule *rule;
	size_t i;

	for (i = from; i < run->cfg->nrules; i++) {
		rule = &run->cfg->rules[i];
		if (!rules_rule_match(rule, run->msg, run->client, addr, d,
		    run->env, 0, NULL))
			continue;
		if (rule->directive || rule->notify.success ||
		    rule->notify.failure || rule->attachment_type != NULL ||
		    rule->min_attachments > 0 ||
		    rule->max_attachments != SIZE_MAX) {
			rules_need_body(run);
			return NULL;
		}
		if (rules_rule_match(rule, run->msg, run->client, addr, d,
		    run->env, 1, NULL))
			return rule;
	}
	if (d->type == ONEOFF_DIRECTIVE)	/* rules_default: the manager */
		rules_need_body(run);
	return NULL;
}

/*
 * rules_match_run - the rule for an address of this run; a probe without
 * the message stops at the first rule that needs it and would otherwise
 * match (run->undecided)
 */
static const struct cfg_rule *
rules_match_run(struct rules_run *run, size_t from, const char *addr,
    const struct oneoff_dest *d)
{
	const struct cfg_rule *rule;
	size_t i;

	if (run->env != NULL && run->env->mi != NULL &&
	    run->env->mi->header_only)
		return rules_match_header_only(run, from, addr, d);
	if (!run->probe || (run->env != NULL && run->env->mi != NULL))
		return rules_match_from(run->cfg, from, run->msg, run->client,
		    addr, d, run->env);
	for (i = from; i < run->cfg->nrules; i++) {
		rule = &run->cfg->rules[i];
		if (!rules_rule_match(rule, run->msg, run->client, addr, d,
		    run->env, 0, NULL))
			continue;
		if (rules_needs_message(rule) && rule->compiled != NULL) {
			run->undecided = 1;
			return NULL;
		}
		return rule;
	}
	return NULL;
}

/* rules_route_addr - route one address (a recipient or a lookup result) */
static void
rules_route_addr(struct rules_run *run, const struct envelope_rcpt *src,
    const char *addr, int depth)
{
	rules_route_from(run, src, addr, depth, 0);
}

/* rules_route_from - route one address by the rules from index from */
static void
rules_route_from(struct rules_run *run, const struct envelope_rcpt *src,
    const char *addr, int depth, size_t from)
{
	const struct cfg_rule *rule;
	struct oneoff_dest d;
	char err[128], text[RULES_TEXT_MAX], status[16];
	int code;

	if (rules_parse_dest(run->cfg, addr, &d, err, sizeof(err)) == -1) {
		snprintf(text, sizeof(text), "bad one-off address: %s", err);
		rules_fail(run, src, addr, 553, "5.1.3", text);
		return;
	}
	rule = rules_match_run(run, from, addr, &d);
	if (run->undecided)
		return;
	if (rule == NULL)
		rules_default(run, src, addr, &d);
	else if (rule->reject) {
		rules_reject_reply(rule, &code, status, text, sizeof(text));
		rules_fail(run, src, addr, code, status, text);
	} else if (rule->lookup != NULL)
		rules_lookup(run, rule, src, addr, &d, depth);
	else if (rule->directive)
		rules_directive(run, rule, src, addr, &d, depth);
	else
		rules_deliver(run, rule, src, addr, &d);
}

/* rules_route_env - one job envelope per connector for this message */
int
rules_route_env(const struct cfg *cfg, const struct envelope *msg,
    struct rules_env *env, struct envelope **jobs, size_t *njobs)
{
	struct sockaddr_storage ss;
	struct rules_run run;
	size_t i;

	*jobs = NULL;
	*njobs = 0;
	if (msg->nrcpt == 0)
		return -1;
	memset(&run, 0, sizeof(run));
	run.cfg = cfg;
	run.msg = msg;
	run.env = env;
	run.jobs = jobs;
	run.njobs = njobs;
	if (rules_client_addr(msg->client, &ss) == 0)
		run.client = (const struct sockaddr *)&ss;
	for (i = 0; i < msg->nrcpt; i++)
		rules_route_addr(&run, &msg->rcpt[i], msg->rcpt[i].addr, 0);
	return 0;
}

/*
 * rules_check_rcpt - what routing would do with one recipient (rules.h):
 * a temporary failure anywhere wins, a permanent one counts only when
 * nothing would be delivered
 */
void
rules_check_rcpt(const struct cfg *cfg, const struct envelope *msg,
    struct rules_env *env, const char *rcpt, struct rules_verdict *v)
{
	struct sockaddr_storage ss;
	struct envelope_rcpt src;
	struct rules_run run;

	memset(&run, 0, sizeof(run));
	memset(&src, 0, sizeof(src));
	run.cfg = cfg;
	run.msg = msg;
	run.env = env;
	run.probe = 1;
	if (rules_client_addr(msg->client, &ss) == 0)
		run.client = (const struct sockaddr *)&ss;
	src.addr = (char *)rcpt;
	rules_route_addr(&run, &src, rcpt, 0);
	if (run.temp.code != 0)
		*v = run.temp;
	else if (run.perm.code != 0 && run.ndeliver == 0 && !run.undecided)
		*v = run.perm;
	else {
		memset(v, 0, sizeof(*v));
		v->code = 250;
		snprintf(v->status, sizeof(v->status), "2.1.5");
		snprintf(v->text, sizeof(v->text), "%s", run.undecided ?
		    "Ok (routed after DATA)" : "Ok");
	}
}

/* rules_route - route without the message (no content conditions) */
int
rules_route(const struct cfg *cfg, const struct envelope *msg,
    struct envelope **jobs, size_t *njobs)
{
	return rules_route_env(cfg, msg, NULL, jobs, njobs);
}

/* rules_env_clear - free the split list routing made */
void
rules_env_clear(struct rules_env *env)
{
	size_t i;

	for (i = 0; i < env->nsplit; i++)
		free(env->split[i].addr);
	free(env->split);
	env->split = NULL;
	env->nsplit = 0;
	env->recog_needed = 0;
	env->recog_keep = 0;
	env->pending = 0;
	env->need_body = 0;
}

/* rules_free_jobs - free what rules_route made */
void
rules_free_jobs(struct envelope *jobs, size_t njobs)
{
	size_t i;

	for (i = 0; i < njobs; i++)
		envelope_clear(&jobs[i]);
	free(jobs);
}
