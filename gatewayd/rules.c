/*
 * rules.c - routing rules: first match wins, fan-out into one job per connector
 *
 * A rule's conditions are a recipient pattern and a sender pattern
 * (fnmatch(3), case-insensitive) and a list of client networks; a missing
 * condition always holds.  The null sender "" is matched by the patterns
 * "" and "<>".  Routing never drops a recipient: one that no rule takes,
 * or that a reject rule takes, ends in a failed job of the reserved
 * connector "_router" with the reason, for the bounce.
 */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <fnmatch.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cfg.h"
#include "envelope.h"
#include "net.h"
#include "rules.h"
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

/* rules_rule_match - do all conditions of one rule hold? */
static int
rules_rule_match(const struct cfg_rule *rule, const struct envelope *msg,
    const struct sockaddr *client, const char *rcpt)
{
	if (rule->recipient != NULL &&
	    fnmatch(rule->recipient, rcpt, FNM_CASEFOLD) != 0)
		return 0;
	if (rule->sender != NULL && !rules_sender_match(rule->sender, msg->from))
		return 0;
	if (rule->client.ncidr > 0 || rule->client.nnames > 0) {
		if (client == NULL || !net_list_match(&rule->client, client))
			return 0;
	}
	return 1;
}

/* rules_match - the first rule whose conditions all hold, or NULL */
const struct cfg_rule *
rules_match(const struct cfg *cfg, const struct envelope *msg,
    const struct sockaddr *client, const char *rcpt)
{
	size_t i;

	for (i = 0; i < cfg->nrules; i++)
		if (rules_rule_match(&cfg->rules[i], msg, client, rcpt))
			return &cfg->rules[i];
	return NULL;
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

/* rules_add_rcpt - copy a recipient (and its routing data) into a job */
static struct envelope_rcpt *
rules_add_rcpt(struct envelope *job, const struct envelope_rcpt *src)
{
	struct envelope_rcpt *r;
	size_t i;

	r = envelope_add_rcpt(job, src->addr);
	for (i = 0; i < src->nparams; i++)
		envelope_rcpt_set_param(r, src->params[i].name,
		    src->params[i].value);
	r->state = RCPT_PENDING;
	r->code = 0;
	r->status[0] = '\0';
	return r;
}

/* rules_route_rcpt - put one recipient into the job its rule says */
static void
rules_route_rcpt(const struct cfg *cfg, const struct envelope *msg,
    const struct sockaddr *client, const struct envelope_rcpt *src,
    struct envelope **jobs, size_t *njobs)
{
	const struct cfg_rule *rule;
	struct envelope_rcpt *r;
	struct envelope *job;
	char text[RULES_TEXT_MAX];
	int code = RULES_NOROUTE_CODE;
	char status[16];

	rule = rules_match(cfg, msg, client, src->addr);
	if (rule != NULL && !rule->reject &&
	    rules_connector_known(cfg, rule->connector)) {
		job = rules_job(msg, rule->connector, jobs, njobs);
		rules_add_rcpt(job, src);
		return;
	}
	snprintf(status, sizeof(status), "%s", RULES_NOROUTE_STATUS);
	snprintf(text, sizeof(text), "%s", RULES_NOROUTE_TEXT);
	if (rule != NULL && rule->reject)
		rules_reject_reply(rule, &code, status, text, sizeof(text));
	job = rules_job(msg, RULES_ROUTER_CONNECTOR, jobs, njobs);
	r = rules_add_rcpt(job, src);
	r->state = RCPT_FAILED;
	r->code = code;
	snprintf(r->status, sizeof(r->status), "%s", status);
	free(r->text);
	r->text = xstrdup(text);
	if (job->last_error == NULL)
		xasprintf(&job->last_error, "%d %s %s", code, status, text);
}

/* rules_route - one job envelope per connector for this message */
int
rules_route(const struct cfg *cfg, const struct envelope *msg,
    struct envelope **jobs, size_t *njobs)
{
	struct sockaddr_storage ss;
	const struct sockaddr *client = NULL;
	size_t i;

	*jobs = NULL;
	*njobs = 0;
	if (msg->nrcpt == 0)
		return -1;
	if (rules_client_addr(msg->client, &ss) == 0)
		client = (const struct sockaddr *)&ss;
	for (i = 0; i < msg->nrcpt; i++)
		rules_route_rcpt(cfg, msg, client, &msg->rcpt[i], jobs, njobs);
	return 0;
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
