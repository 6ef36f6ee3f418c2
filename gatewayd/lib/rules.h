/*
 * rules.h - routing rules: which connector gets which recipient
 *
 * The rules of the configuration are tried in order; the first whose
 * conditions all hold decides.  Conditions: recipient, sender, client
 * network, destination type (oneoff.h), authenticated user, listener,
 * subject regex, a header's value, message size, attachment count and
 * type, day of week and hour window.  Actions: deliver (one connector, or
 * fan out to several, with per-rule parameters and a failover connector),
 * reject, hold (park the job in hold/<connector>), lookup (through a
 * lookup table, then route each result again, at most RULES_MAX_DEPTH
 * deep) and directive (the embedded directive manager).
 *
 * rules_route() turns one incoming message into one job per connector;
 * recipients without a route, or rejected or failed by a rule, go into a
 * job for the reserved connector RULES_ROUTER_CONNECTOR marked failed, so
 * that they are bounced and never dropped.  Recipient parameters set here
 * (the connector sees them with gw_rcpt_param): type, fax, name, company,
 * flags (one-off formats), directive, channel, the rule's params, failover
 * (connector to re-route to after a permanent failure, failover.h; not set
 * for a fan-out recipient of that connector itself), hold (rule name;
 * the spool parks such a job in hold/), original (address before a lookup),
 * rule (the rule that routed it, for the delivery log line).
 */
#ifndef GW_RULES_H
#define GW_RULES_H

#include <stddef.h>
#include <sys/socket.h>
#include <time.h>

struct cfg;
struct cfg_rule;
struct envelope;
struct envelope_rcpt;
struct msginfo;
struct lookup;
struct directive_store;
struct oneoff_dest;

/* The reserved connector name of jobs whose recipients the router failed. */
#define RULES_ROUTER_CONNECTOR	"_router"
#define RULES_TEXT_MAX		512
#define RULES_MAX_DEPTH		4	/* lookups routed again, at most */

/*
 * Routing sheets.  A recipient whose rule has directive: true and whose
 * address, subject and body name no directive waits for the recognizer
 * (the message has a scanned attachment) or gets its rule's
 * sheet.missing outcome at once (it has none).  The recognizer's answer
 * (rules_recog) either gives the outcome (no sheet, unreadable) or makes
 * the router write one new message per part (rules_split lists the
 * recipients that go into them).  A part's recipients carry the
 * parameters sheet (directive, separator or none), sheet-directive,
 * sheet-page, sheet-pages and sheet-part; such a recipient is routed by
 * its sheet's directive, never recognised again.
 */
#define RULES_RECOG_MAX_PARTS	64
#define RULES_SHEET_ID_MAX	64

enum rules_recog_status { RULES_RECOG_SHEETS = 1, RULES_RECOG_NONE,
	RULES_RECOG_UNREADABLE };
enum rules_part_kind { RULES_PART_NONE = 0, RULES_PART_DIRECTIVE,
	RULES_PART_SEPARATOR };

struct rules_part {
	int kind;			/* enum rules_part_kind */
	char id[RULES_SHEET_ID_MAX];	/* directive ID, "" for none */
	unsigned int sheet_page;	/* 1-based; 0: no sheet (pages before one) */
	unsigned int first, last;	/* 1-based pages of the scan in this part */
};

struct rules_recog {
	int status;			/* enum rules_recog_status */
	char reason[256];
	struct rules_part parts[RULES_RECOG_MAX_PARTS];
	size_t nparts;
};

/* A recipient the recognizer's parts take over (addr owned). */
struct rules_split {
	const struct envelope_rcpt *src;
	char *addr;
};

/* What the router knows besides the envelope (every field may be NULL). */
struct rules_env {
	const struct msginfo *mi;	/* the scanned message */
	struct lookup **lookups;	/* one per cfg->lookups entry */
	struct directive_store *store;
	/* store NULL: called at the first use to open it (NULL: none) */
	struct directive_store *(*store_open)(void *);
	void *store_arg;
	time_t now;			/* 0: time(NULL) */
	const struct rules_recog *recog;	/* the recognizer's answer, or NULL */
	/* set by routing (free with rules_env_clear) */
	int recog_needed;		/* a recipient waits for the recognizer */
	int recog_keep;			/* its rule's sheet.keep_sheet */
	int pending;			/* a lookup was asked (LOOKUP_PENDING):
					   decide again when it answers */
	struct rules_split *split;	/* recipients the parts take */
	size_t nsplit;
	int need_body;			/* mi is the header only (header_only)
					   and a rule, notice or directive needs
					   the rest: scan it all, route again */
};

/* What routing would do with one recipient (rules_check_rcpt). */
struct rules_verdict {
	int code;			/* 250 accepted (maybe decided later), 4xx, 5xx */
	char status[16];
	char text[RULES_TEXT_MAX];
};

/*
 * What routing would do with rcpt, sent by msg's sender, client, auth and
 * listener: the code of rules_route_env, but no job is made and nothing
 * written.  With env->mi NULL (RCPT time) a rule that needs the content,
 * a lookup keyed by a header and a directive not named by the address are
 * decided after DATA (250).  A temporary failure anywhere (lookup table or
 * directive store unavailable) gives it; a permanent one (no route,
 * reject rule, unknown, expired or forbidden directive, bad one-off
 * address) only when nothing would be delivered.  A lookup that answers
 * LOOKUP_PENDING sets env->pending and counts as a temporary failure
 * here: the router then asks again once the answer has landed.
 */
void rules_check_rcpt(const struct cfg *, const struct envelope *msg,
    struct rules_env *env, const char *rcpt, struct rules_verdict *);
/*
 * Does rule i hold for rcpt of msg (sender, client, auth, listener), the
 * message aside?  1, with *why NULL or the note that content conditions
 * wait for the message; 0 with *why naming the first condition that fails.
 */
int rules_rule_explain(const struct cfg *, size_t i, const struct envelope *msg,
    const char *rcpt, const char **why);
/* First rule matching this recipient of msg (client may be NULL), or NULL. */
const struct cfg_rule *rules_match(const struct cfg *, const struct envelope *msg,
    const struct sockaddr *client, const char *rcpt);
/*
 * One job envelope per connector for msg (caller frees with
 * rules_free_jobs).  Returns 0, or -1 when msg has no recipients.
 */
int rules_route(const struct cfg *, const struct envelope *msg,
    struct envelope **jobs, size_t *njobs);
void rules_free_jobs(struct envelope *jobs, size_t njobs);
/* Free what routing set in env (the split list). */
void rules_env_clear(struct rules_env *);
/* rules_route with the message, lookup tables and directive store. */
int rules_route_env(const struct cfg *, const struct envelope *msg,
    struct rules_env *env, struct envelope **jobs, size_t *njobs);
/* First rule for a parsed destination, with the message context. */
const struct cfg_rule *rules_match_dest(const struct cfg *,
    const struct envelope *msg, const struct sockaddr *client,
    const char *rcpt, const struct oneoff_dest *dest,
    const struct rules_env *env);
/*
 * Load-time checks of rule i (cfg.c calls them): unknown connectors and
 * lookups, bad regexes, days and hours, contradictory conditions, a rule
 * that can never match.  Compiles the rule.  0, or -1 with a message and
 * *key the offending key (NULL: the rule itself).
 */
int rules_check(struct cfg *, size_t i, const char **key, char *msg,
    size_t msglen);
/* The same for addressing, lookups and directives (key is top-level). */
int rules_check_global(struct cfg *, const char **key, char *msg, size_t msglen);
/* Free what rules_check compiled. */
void rules_compiled_free(struct cfg_rule *);
/* The connector of a directive channel (mapping, or a connector name), or NULL. */
const char *rules_channel_connector(const struct cfg *, const char *channel);
/*
 * The reply of a reject rule: its reject_text may start with a 5xx code
 * and an enhanced status ("550 5.7.1 not here"); defaults 550 5.7.1.
 */
void rules_reject_reply(const struct cfg_rule *, int *code, char status[16],
    char *text, size_t textlen);
/* Parse a numeric client address ("192.0.2.1", "::1"); 0 ok, -1 not numeric. */
int rules_client_addr(const char *client, struct sockaddr_storage *ss);

#endif
