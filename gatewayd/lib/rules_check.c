/*
 * rules_check.c - load-time checks and compilation of the routing rules
 *
 * cfg.c calls rules_check() for each rule once the whole file is read:
 * names are resolved (connectors, lookups), the subject and header
 * regexes compiled (POSIX extended, case-insensitive), days and hours
 * parsed, and the rules compared with each other so that one that can
 * never match is reported by "gatewayd -n" instead of silently ignored.
 */
#include "config.h"

#include <ctype.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cfg.h"
#include "oneoff.h"
#include "rules.h"
#include "rules_int.h"
#include "xmalloc.h"

static int rc_err(const char **, const char *, char *, size_t, const char *,
    ...) __attribute__((format(printf, 5, 6)));

/* rc_err - format msg, set key, return -1 */
static int
rc_err(const char **keyp, const char *key, char *msg, size_t msglen,
    const char *fmt, ...)
{
	va_list ap;

	*keyp = key;
	va_start(ap, fmt);
	vsnprintf(msg, msglen, fmt, ap);
	va_end(ap);
	return -1;
}

/* rc_day - index of a day name (sun = 0), -1 if none */
static int
rc_day(const char *s, size_t len)
{
	static const char *const days[] = { "sun", "mon", "tue", "wed", "thu",
	    "fri", "sat" };
	int i;

	for (i = 0; i < 7; i++)
		if (len >= 3 && strncasecmp(s, days[i], 3) == 0 &&
		    (len == 3 || strncasecmp(s, days[i], len) == 0 ||
		    len <= 9))
			return i;
	return -1;
}

/* rules_days_parse - "mon-fri,sun" to a bit mask (bit 0 = Sunday) */
int
rules_days_parse(const char *s, unsigned int *mask)
{
	const char *p = s, *end, *dash;
	int a, b;

	*mask = 0;
	while (*p != '\0') {
		end = p + strcspn(p, ",");
		dash = memchr(p, '-', (size_t)(end - p));
		while (*p == ' ')
			p++;
		a = rc_day(p, (size_t)((dash ? dash : end) - p));
		b = dash ? rc_day(dash + 1, (size_t)(end - dash - 1)) : a;
		if (a < 0 || b < 0)
			return -1;
		for (;; a = (a + 1) % 7) {
			*mask |= 1u << a;
			if (a == b)
				break;
		}
		p = *end ? end + 1 : end;
	}
	return *mask ? 0 : -1;
}

/* rc_clock - "HH" or "HH:MM" to minutes; -1 if bad */
static int
rc_clock(const char *s, size_t len)
{
	int h, m = 0;

	if (len == 0 || len > 5 || !isdigit((unsigned char)s[0]))
		return -1;
	h = atoi(s);
	if (memchr(s, ':', len) != NULL)
		m = atoi((const char *)memchr(s, ':', len) + 1);
	if (h < 0 || h > 24 || m < 0 || m > 59 || (h == 24 && m != 0))
		return -1;
	return h * 60 + m;
}

/* rules_hours_parse - "08:00-18:00" (end exclusive; 22-06 wraps midnight) */
int
rules_hours_parse(const char *s, int *from, int *to)
{
	const char *dash = strchr(s, '-');

	if (dash == NULL)
		return -1;
	*from = rc_clock(s, (size_t)(dash - s));
	*to = rc_clock(dash + 1, strlen(dash + 1));
	return *from < 0 || *to < 0 || *from == *to ? -1 : 0;
}

/* rc_compile_header - "Name: regex" */
static int
rc_compile_header(struct rules_compiled *c, const char *h)
{
	const char *colon = strchr(h, ':');
	size_t n;

	if (colon == NULL || colon == h || (size_t)(colon - h) >= sizeof(c->hname))
		return -1;
	n = (size_t)(colon - h);
	memcpy(c->hname, h, n);
	c->hname[n] = '\0';
	for (colon++; *colon == ' '; colon++)
		;
	if (regcomp(&c->hre, colon, REG_EXTENDED | REG_ICASE | REG_NOSUB) != 0)
		return -1;
	c->has_header = 1;
	return 0;
}

/* rc_compile - the compiled conditions of a rule */
static int
rc_compile(struct cfg_rule *r, const char **key, char *msg, size_t len)
{
	struct rules_compiled *c = xcalloc(1, sizeof(*c));

	r->compiled = c;
	c->type = -1;
	if (r->type != NULL && (c->type = oneoff_type_from_name(r->type)) < 0)
		return rc_err(key, "type", msg, len, "rule '%s': bad type '%s' "
		    "(expected email, fax, directive or did)", r->name, r->type);
	if (r->subject != NULL) {
		if (regcomp(&c->subject, r->subject, REG_EXTENDED | REG_ICASE |
		    REG_NOSUB) != 0)
			return rc_err(key, "subject", msg, len, "rule '%s': bad "
			    "regular expression '%s'", r->name, r->subject);
		c->has_subject = 1;
	}
	if (r->header != NULL && rc_compile_header(c, r->header) == -1)
		return rc_err(key, "header", msg, len, "rule '%s': bad header "
		    "condition '%s' (expected \"Name: regex\")", r->name, r->header);
	if (r->days != NULL && rules_days_parse(r->days, &c->days) == -1)
		return rc_err(key, "days", msg, len, "rule '%s': bad days '%s' "
		    "(expected e.g. mon-fri or sat,sun)", r->name, r->days);
	if (r->hours != NULL && rules_hours_parse(r->hours, &c->hfrom,
	    &c->hto) == -1)
		return rc_err(key, "hours", msg, len, "rule '%s': bad hours '%s' "
		    "(expected e.g. 08:00-18:00)", r->name, r->hours);
	c->has_hours = r->hours != NULL;
	return 0;
}

/* rules_unconditional - does the rule match every recipient? */
int
rules_unconditional(const struct cfg_rule *r)
{
	return (r->recipient == NULL || strcmp(r->recipient, "*") == 0) &&
	    r->sender == NULL && r->client.ncidr == 0 && r->client.nnames == 0 &&
	    r->type == NULL && r->auth == NULL && r->listener == NULL &&
	    r->subject == NULL && r->header == NULL && r->min_size == 0 &&
	    r->max_size == 0 && r->attachment_type == NULL &&
	    r->min_attachments == 0 && r->max_attachments == SIZE_MAX &&
	    r->days == NULL && r->hours == NULL;
}

/* rc_same - an optional condition a that holds whenever b does */
static int
rc_same(const char *a, const char *b)
{
	return a == NULL || (b != NULL && strcmp(a, b) == 0);
}

/*
 * rc_shadows - does rule a match every recipient rule b matches?  Then b,
 * after it, can never be reached (the first matching rule wins).  Every
 * condition of a must be absent or at least as wide as b's.
 */
static int
rc_shadows(const struct cfg_rule *a, const struct cfg_rule *b)
{
	return rules_covers('r', a->recipient, b->recipient) &&
	    rules_covers('s', a->sender, b->sender) &&
	    rules_covers('a', a->auth, b->auth) &&
	    a->client.ncidr == 0 && a->client.nnames == 0 &&
	    rc_same(a->type, b->type) && rc_same(a->listener, b->listener) &&
	    rc_same(a->subject, b->subject) && rc_same(a->header, b->header) &&
	    rules_covers('r', a->attachment_type, b->attachment_type) &&
	    rc_same(a->days, b->days) && rc_same(a->hours, b->hours) &&
	    a->min_size <= b->min_size && (a->max_size == 0 ||
	    (b->max_size != 0 && b->max_size <= a->max_size)) &&
	    a->min_attachments <= b->min_attachments &&
	    a->max_attachments >= b->max_attachments;
}

/* rc_contradiction - conditions no message can meet at once */
static int
rc_contradiction(const struct cfg_rule *r, const char **key, char *msg,
    size_t len)
{
	if (r->max_size != 0 && r->min_size > r->max_size)
		return rc_err(key, "max_size", msg, len, "rule '%s' can never "
		    "match: min_size is above max_size%s", r->name, "");
	if (r->min_attachments > r->max_attachments)
		return rc_err(key, "max_attachments", msg, len, "rule '%s' can "
		    "never match: min_attachments is above max_attachments%s",
		    r->name, "");
	if (r->attachment_type != NULL && r->max_attachments == 0)
		return rc_err(key, "attachment_type", msg, len, "rule '%s' can "
		    "never match: attachment_type with max_attachments 0%s",
		    r->name, "");
	return 0;
}

/* rc_names - connectors and lookups the rule names must exist */
static int
rc_names(const struct cfg *cfg, const struct cfg_rule *r, const char **key,
    char *msg, size_t len)
{
	const char *bad = NULL, *k = NULL;
	size_t i;

	if (r->connector != NULL && !cfg_connector(cfg, r->connector))
		bad = r->connector, k = "connector";
	for (i = 0; bad == NULL && i < r->nconnectors; i++)
		if (!cfg_connector(cfg, r->connectors[i]))
			bad = r->connectors[i], k = "connectors";
	if (bad == NULL && r->hold != NULL && !cfg_connector(cfg, r->hold))
		bad = r->hold, k = "hold";
	if (bad == NULL && r->failover != NULL && !cfg_connector(cfg, r->failover))
		bad = r->failover, k = "failover";
	if (bad == NULL && r->notify.connector != NULL &&
	    !cfg_connector(cfg, r->notify.connector))
		bad = r->notify.connector, k = "notify";
	if (bad == NULL && (r->notify.success || r->notify.failure) &&
	    r->notify.connector == NULL)
		return rc_err(key, "notify", msg, len, "rule '%s': notify needs "
		    "a connector to send the notices", r->name);
	if (bad != NULL)
		return rc_err(key, k, msg, len, "rule '%s' names unknown "
		    "connector '%s'", r->name, bad);
	if (r->lookup != NULL && rules_lookup_index(cfg, r->lookup) < 0)
		return rc_err(key, "lookup", msg, len, "rule '%s' names unknown "
		    "lookup '%s'", r->name, r->lookup);
	if ((r->failover != NULL || r->params != NULL) && r->connector == NULL &&
	    r->nconnectors == 0)
		return rc_err(key, r->failover ? "failover" : "params", msg, len,
		    "rule '%s': %s only go with connector or connectors",
		    r->name, r->failover ? "failover" : "params");
	if (r->failover != NULL && r->connector != NULL &&
	    strcmp(r->failover, r->connector) == 0)
		return rc_err(key, "failover", msg, len, "rule '%s': failover "
		    "names the rule's own connector '%s'", r->name, r->failover);
	return 0;
}

/* rc_sheet - the sheet outcomes: a directive rule's, hold names a connector */
static int
rc_sheet(const struct cfg *cfg, const struct cfg_rule *r, const char **key,
    char *msg, size_t len)
{
	const struct cfg_sheet *s = &r->sheet;
	int hold = s->missing == CFG_SHEET_HOLD || s->unknown == CFG_SHEET_HOLD ||
	    s->unreadable == CFG_SHEET_HOLD;

	if (!r->directive && (s->missing || s->unknown || s->unreadable ||
	    s->keep_sheet || s->hold != NULL))
		return rc_err(key, "sheet", msg, len, "rule '%s': sheet only "
		    "goes with directive: true", r->name);
	if (hold && s->hold == NULL)
		return rc_err(key, "sheet", msg, len, "rule '%s': a sheet outcome "
		    "'hold' needs sheet.hold (the connector to park it for)",
		    r->name);
	if (s->hold != NULL && !cfg_connector(cfg, s->hold))
		return rc_err(key, "sheet", msg, len, "rule '%s' names unknown "
		    "connector '%s'", r->name, s->hold);
	return 0;
}

/* rules_check - every load-time check of rule i */
int
rules_check(struct cfg *cfg, size_t i, const char **key, char *msg,
    size_t len)
{
	struct cfg_rule *r = &cfg->rules[i];
	size_t j;

	*key = NULL;
	rules_compiled_free(r);
	if (rc_names(cfg, r, key, msg, len) == -1 ||
	    rc_sheet(cfg, r, key, msg, len) == -1 ||
	    rc_compile(r, key, msg, len) == -1 ||
	    rc_contradiction(r, key, msg, len) == -1)
		return -1;
	for (j = 0; j < i; j++) {
		if (rules_unconditional(&cfg->rules[j]))
			return rc_err(key, "name", msg, len, "rule '%s' can never "
			    "match: rule '%s' before it matches every recipient",
			    r->name, cfg->rules[j].name);
		if (rc_shadows(&cfg->rules[j], r))
			return rc_err(key, "name", msg, len, "rule '%s' can never "
			    "match: rule '%s' before it matches every recipient "
			    "it would", r->name, cfg->rules[j].name);
	}
	return 0;
}

/* rules_check_global - addressing, directives and lookups */
int
rules_check_global(struct cfg *cfg, const char **key, char *msg, size_t len)
{
	enum oneoff_default def;
	const struct gw_node *n;
	const char *c;

	*key = "addressing";
	if (oneoff_default_parse(cfg->addressing.default_type, &def) == -1)
		return rc_err(key, "addressing", msg, len, "bad addressing."
		    "default_type '%s'%s (expected auto, fax or email)",
		    cfg->addressing.default_type, "");
	if ((c = cfg->addressing.fax_connector) != NULL && !cfg_connector(cfg, c))
		return rc_err(key, "addressing", msg, len, "addressing.%s names "
		    "unknown connector '%s'", "fax_connector", c);
	if ((c = cfg->addressing.email_connector) != NULL && !cfg_connector(cfg, c))
		return rc_err(key, "addressing", msg, len, "addressing.%s names "
		    "unknown connector '%s'", "email_connector", c);
	for (n = cfg->directives.channels ? cfg->directives.channels->child :
	    NULL; n != NULL; n = n->next)
		if (n->type != GW_NODE_SCALAR || !cfg_connector(cfg, n->value))
			return rc_err(key, "directives", msg, len, "directives."
			    "channels.%s names unknown connector '%s'", n->key,
			    n->type == GW_NODE_SCALAR ? n->value : "(not a name)");
	if (cfg->directives.prefix[0] == '\0' || strpbrk(cfg->directives.prefix,
	    "@^/= \"") != NULL)
		return rc_err(key, "directives", msg, len, "bad directives.prefix "
		    "'%s'%s", cfg->directives.prefix, "");
	if (strcasecmp(cfg->directives.paper, "a4") != 0 &&
	    strcasecmp(cfg->directives.paper, "letter") != 0)
		return rc_err(key, "directives", msg, len, "bad directives.paper "
		    "'%s'%s (expected a4 or letter)", cfg->directives.paper, "");
	*key = NULL;
	return 0;
}

/* rules_compiled_free - free a rule's compiled conditions */
void
rules_compiled_free(struct cfg_rule *r)
{
	struct rules_compiled *c = r->compiled;

	if (c == NULL)
		return;
	if (c->has_subject)
		regfree(&c->subject);
	if (c->has_header)
		regfree(&c->hre);
	free(c);
	r->compiled = NULL;
}

/* rules_lookup_index - index of the lookup table of that name, or -1 */
int
rules_lookup_index(const struct cfg *cfg, const char *name)
{
	size_t i;

	for (i = 0; i < cfg->nlookups; i++)
		if (strcmp(cfg->lookups[i].name, name) == 0)
			return (int)i;
	return -1;
}

/* rules_channel_connector - a directive channel's connector */
const char *
rules_channel_connector(const struct cfg *cfg, const char *channel)
{
	const struct gw_node *n;

	for (n = cfg->directives.channels ? cfg->directives.channels->child :
	    NULL; n != NULL; n = n->next)
		if (n->key != NULL && strcasecmp(n->key, channel) == 0 &&
		    n->type == GW_NODE_SCALAR)
			return n->value;
	return cfg_connector(cfg, channel) ? channel : NULL;
}
