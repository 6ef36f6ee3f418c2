/*
 * rules_access.c - who may use a directive (rules_int.h)
 *
 * A directive may carry its own lists: allowed senders (an address, an
 * "@domain" or a bare domain, fnmatch patterns, case-insensitive),
 * authenticated users (fnmatch) and client networks (CIDR).  With any
 * list set, a message may use it when its sender, its authenticated user
 * or its client is in one of them.  A directive without lists follows
 * directives.default_access:
 *
 *   relay-equivalent (default)  a client that may relay (relay.allow, or
 *       authenticated on a listener with relay_authenticated) may use it;
 *       any other client only when every recipient it expands to is not
 *       e-mail (fax, folder, ...) or is e-mail to a local domain or
 *       address: no one reaches through a directive an outside address
 *       the relay policy would refuse at RCPT.
 *   relay   only clients that may relay.
 *   any     everyone.
 *
 * The router runs it for RCPT-time checks and for routing alike.
 */
#include "config.h"

#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "addr.h"
#include "cfg.h"
#include "directive.h"
#include "envelope.h"
#include "net.h"
#include "rules.h"
#include "rules_int.h"

#define ACCESS_ITEM_MAX	256

/* access_next - the next item of a comma-separated list into buf; NULL at the end */
static const char *
access_next(const char *p, char *buf, size_t len)
{
	size_t n;

	while (*p == ',' || *p == ' ')
		p++;
	if (*p == '\0')
		return NULL;
	n = strcspn(p, ",");
	while (n > 0 && p[n - 1] == ' ')
		n--;
	if (n >= len)
		n = len - 1;	/* too long for any address: cannot match */
	memcpy(buf, p, n);
	buf[n] = '\0';
	p += strcspn(p, ",");
	return p;
}

/* access_sender - does a sender item take from? */
static int
access_sender(const char *item, const char *from)
{
	const char *dom;

	if (from == NULL || *from == '\0')
		return 0;	/* the null sender names no one */
	if (item[0] == '@')
		item++;
	else if (strchr(item, '@') != NULL)
		return fnmatch(item, from, FNM_CASEFOLD) == 0;
	dom = addr_domain(from);
	return dom != NULL && fnmatch(item, dom, FNM_CASEFOLD) == 0;
}

/* access_listed - is the message in one of the directive's lists? -1 no lists */
static int
access_listed(const struct directive *d, const struct envelope *msg,
    const struct sockaddr *client)
{
	char item[ACCESS_ITEM_MAX];
	struct net_cidr cidr;
	const char *p;

	if (d->allow_sender == NULL && d->allow_user == NULL &&
	    d->allow_net == NULL)
		return -1;
	for (p = d->allow_sender; p != NULL &&
	    (p = access_next(p, item, sizeof(item))) != NULL; )
		if (access_sender(item, msg->from))
			return 1;
	for (p = d->allow_user; p != NULL && msg->auth != NULL &&
	    (p = access_next(p, item, sizeof(item))) != NULL; )
		if (fnmatch(item, msg->auth, FNM_CASEFOLD) == 0)
			return 1;
	for (p = d->allow_net; p != NULL && client != NULL &&
	    (p = access_next(p, item, sizeof(item))) != NULL; )
		if (net_cidr_parse(item, &cidr) == 0 &&
		    net_cidr_match(&cidr, client))
			return 1;
	return 0;
}

/* access_may_relay - could this client relay at RCPT (receiver_smtp.c)? */
static int
access_may_relay(const struct cfg *cfg, const struct envelope *msg,
    const struct sockaddr *client)
{
	size_t i;

	if (client != NULL && net_list_match(&cfg->relay.allow, client))
		return 1;
	if (msg->auth == NULL || *msg->auth == '\0' || msg->listener == NULL)
		return 0;
	for (i = 0; i < cfg->nlisteners; i++)
		if (cfg->listeners[i].name != NULL &&
		    strcmp(cfg->listeners[i].name, msg->listener) == 0)
			return cfg->listeners[i].relay_authenticated;
	return 0;
}

/* access_rcpt_local - is a directive recipient no outside e-mail address? */
static int
access_rcpt_local(const struct cfg *cfg, const struct directive_rcpt *r)
{
	const struct cfg_connector *c;
	const char *conn;

	conn = rules_channel_connector(cfg, r->channel);
	c = conn != NULL ? cfg_connector(cfg, conn) : NULL;
	if (strcasecmp(r->channel, "email") != 0 &&
	    (c == NULL || c->type == NULL || strcmp(c->type, "smtp") != 0))
		return 1;	/* fax, folder, ...: not a relay */
	if (r->address == NULL || r->address[0] == '\0')
		return 1;	/* the directive address itself */
	return cfg_local_domain(cfg, addr_domain(r->address)) ||
	    cfg_local_address(cfg, r->address);
}

/* rules_directive_allowed - see rules_int.h */
int
rules_directive_allowed(const struct cfg *cfg, const struct envelope *msg,
    const struct sockaddr *client, const struct directive *d, char *text,
    size_t textlen)
{
	size_t i;
	int r;

	if ((r = access_listed(d, msg, client)) == 1)
		return 1;
	if (r == 0) {
		snprintf(text, textlen, "directive ED:%s may not be used by "
		    "this sender or client", d->id);
		return 0;
	}
	if (cfg->directives.default_access == CFG_DIR_ACCESS_ANY ||
	    access_may_relay(cfg, msg, client))
		return 1;
	if (cfg->directives.default_access == CFG_DIR_ACCESS_RELAY) {
		snprintf(text, textlen, "directive ED:%s may be used only by "
		    "clients that may relay", d->id);
		return 0;
	}
	for (i = 0; i < d->nrcpt; i++)
		if (!access_rcpt_local(cfg, &d->rcpt[i])) {
			snprintf(text, textlen, "directive ED:%s reaches outside "
			    "addresses: relaying denied for this client", d->id);
			return 0;
		}
	return 1;
}
