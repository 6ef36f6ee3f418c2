/*
 * cfg.h - the gatewayd.yaml configuration, loaded and validated with libyaml
 *
 * cfg_load_*() parse the whole file into a struct cfg or fail with one
 * message naming file:line:column.  Every key is known; unknown keys,
 * bad values and missing required keys are errors.  See gatewayd.yaml(5).
 */
#ifndef GW_CFG_H
#define GW_CFG_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

#include <gatewayd/connector.h>

#include "net.h"

#define CFG_ERRLEN	512
#define CFG_NAME_MAX	64

struct cfg_listener {
	char *name;			/* "smtp" by default */
	char *address;			/* numeric IPv4/IPv6 address */
	uint16_t port;			/* default 25 */
	int backlog;			/* listen(2) backlog, default 1024 */
};

struct cfg_retry {
	time_t min_backoff;		/* default 300 */
	time_t max_backoff;		/* default 4000 */
	time_t lifetime;		/* default 5 days */
};

struct cfg_connector {
	char *name;			/* instance name; [a-z0-9][a-z0-9_-]* */
	char *type;			/* shared object: <connector_dir>/<type>.so */
	int concurrency;		/* parallel delivery children, default 1 */
	struct cfg_retry retry;
	const struct gw_node *settings;	/* "settings" map or NULL (owned by cfg) */
};

struct cfg_rule {
	char *name;
	char *recipient;		/* fnmatch(3) pattern on the address, case-insensitive, or NULL */
	char *sender;			/* same for the sender ("" = null sender), or NULL */
	struct net_list client;		/* client networks; empty = any */
	char *connector;		/* connector instance name */
	int reject;			/* action reject (permanent failure) instead */
	char *reject_text;
};

struct cfg_smtp {
	char *hostname;			/* greeting and Received: name; default gethostname() */
	size_t max_message_size;	/* SIZE, default 10 MiB */
	size_t max_recipients;		/* per message, default 100 */
	size_t max_line_length;		/* command and text lines, default 1000 (incl. CRLF) */
	size_t max_commands;		/* non-mail commands per session before MAIL, default 100 */
	size_t max_errors;		/* errors per session then 421, default 10 */
	time_t idle_timeout;		/* seconds, default 300 */
	size_t max_sessions;		/* concurrent sessions, default 1000 */
};

struct cfg_relay {
	char **local_domains;		/* accepted from anyone */
	size_t nlocal_domains;
	char **local_addresses;		/* route addresses accepted from anyone */
	size_t nlocal_addresses;
	struct net_list allow;		/* clients that may relay anywhere */
};

struct cfg {
	char *file;			/* path it was loaded from */
	char *user;			/* unprivileged user for the children */
	char *spool;			/* spool directory */
	char *pid_file;
	char *control_socket;
	char *admin_group;		/* may use gatewayctl besides root; NULL = root only */
	char *connector_dir;
	int log_verbose;

	struct cfg_listener *listeners;
	size_t nlisteners;
	struct cfg_smtp smtp;
	struct cfg_relay relay;
	struct cfg_connector *connectors;
	size_t nconnectors;
	struct cfg_rule *rules;
	size_t nrules;

	void *priv;			/* node storage */
};

/* Load from a file path. NULL on error with err filled. */
struct cfg *cfg_load_file(const char *path, char *err, size_t errlen);
/* Load from a buffer (the name is used in messages). */
struct cfg *cfg_load_buffer(const char *name, const char *buf, size_t len,
    char *err, size_t errlen);
void cfg_free(struct cfg *);
/* The connector instance of that name, or NULL. */
const struct cfg_connector *cfg_connector(const struct cfg *, const char *name);
/* Is domain (case-insensitive) a local domain? */
int cfg_local_domain(const struct cfg *, const char *domain);
/* Is the address (case-insensitive) a configured route address? */
int cfg_local_address(const struct cfg *, const char *addr);
/* The keys the loader accepts, NULL-terminated, as dotted paths ("smtp.max_recipients"). */
const char *const *cfg_known_keys(void);

#endif
