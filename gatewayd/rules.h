/*
 * rules.h - routing rules: which connector gets which recipient
 *
 * The rules of the configuration are tried in order; the first whose
 * conditions all hold (recipient pattern, sender pattern, client network)
 * decides.  rules_route() turns one incoming message into one job per
 * connector; recipients without a route, or rejected by a rule, go into a
 * job for the reserved connector RULES_ROUTER_CONNECTOR marked failed, so
 * that they are bounced and never dropped.
 */
#ifndef GW_RULES_H
#define GW_RULES_H

#include <stddef.h>
#include <sys/socket.h>

struct cfg;
struct cfg_rule;
struct envelope;

/* The reserved connector name of jobs whose recipients the router failed. */
#define RULES_ROUTER_CONNECTOR	"_router"
#define RULES_TEXT_MAX		512

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
/*
 * The reply of a reject rule: its reject_text may start with a 5xx code
 * and an enhanced status ("550 5.7.1 not here"); defaults 550 5.7.1.
 */
void rules_reject_reply(const struct cfg_rule *, int *code, char status[16],
    char *text, size_t textlen);
/* Parse a numeric client address ("192.0.2.1", "::1"); 0 ok, -1 not numeric. */
int rules_client_addr(const char *client, struct sockaddr_storage *ss);

#endif
