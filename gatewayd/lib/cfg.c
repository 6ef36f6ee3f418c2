/*
 * cfg.c - load and validate gatewayd.yaml with libyaml
 *
 * The file is loaded with libyaml's document API, then walked against
 * tables of known keys (struct cfg_key): each map is checked for unknown
 * and duplicate keys, each value for its type and range, and each map for
 * its required keys.  The first error stops the load and is reported as
 * "FILE:LINE:COLUMN: message" (1-based, from libyaml's marks).  The
 * free-form "settings" map of a connector is copied into a gw_node tree
 * owned by the cfg (see connector.h).  The same tables give the list of
 * known keys (cfg_known_keys) that the documentation check uses.
 * See gatewayd.yaml(5).
 */
#include "config.h"

#include <sys/types.h>
#include <sys/stat.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <idn2.h>
#include <yaml.h>

#include "cfg.h"
#include "cfgval.h"
#include "log.h"
#include "net.h"
#include "rules.h"
#include "xmalloc.h"

#ifndef GW_DEFAULT_USER
#define GW_DEFAULT_USER		"_gatewayd"
#endif
#ifndef GW_DEFAULT_RECEIVER_USER
#define GW_DEFAULT_RECEIVER_USER	"_gatewayd-recv"
#endif
#ifndef GW_LOCALSTATEDIR
#define GW_LOCALSTATEDIR	"/var"
#endif
#ifndef GW_RUNSTATEDIR
#define GW_RUNSTATEDIR		"/run"
#endif
#ifndef GW_CONNECTORDIR
#define GW_CONNECTORDIR		"/usr/lib/gatewayd/connectors"
#endif

#define CFG_MAX_FILE		(4 * 1024 * 1024)
#define CFG_MAX_NODES		100000	/* settings nodes, aliases expanded */
#define CFG_MAX_DEPTH		64	/* settings nesting */
#define CFG_PATHLEN		256
#define CFG_TEXTLEN		128	/* user text quoted in a message */
#define CFG_KEYS_MAX		256
#define CFG_KEYS_POOL		8192

/* A settings node with the storage of its strings. */
struct cfg_node {
	struct gw_node node;
	char *key;
	char *value;
	struct cfg_node *all;		/* every node of the cfg, for cfg_free */
};

struct cfg_priv {
	struct cfg_node *nodes;
	size_t nnodes;
};

/* The state of one load. */
struct cfgp {
	struct cfg *cfg;
	struct cfg_priv *priv;
	yaml_document_t *doc;
	const char *file;
	char *err;
	size_t errlen;
	int failed;
};

enum cfg_kind {
	CFG_STR,		/* non-empty string */
	CFG_OPTSTR,		/* string; null means none */
	CFG_PATTERN,		/* string, may be empty */
	CFG_HOST,		/* domain name */
	CFG_NAME,		/* connector instance name */
	CFG_TOKEN,		/* [a-z0-9_-]+ */
	CFG_ADDR,		/* numeric IPv4 or IPv6 address */
	CFG_BOOL,		/* int */
	CFG_INT,		/* int within min..max */
	CFG_PORT,		/* uint16_t within 1..65535 */
	CFG_COUNT,		/* size_t within min..max */
	CFG_SIZE,		/* size_t, K/M/G suffix */
	CFG_TIME,		/* time_t, s/m/h/d suffix */
	CFG_NETLIST,		/* struct net_list */
	CFG_HOSTLIST,		/* struct net_list, host names kept for FCrDNS */
	CFG_MAP,		/* nested map of sub keys at off */
	CFG_LIST,		/* list handled by fn */
	CFG_FUNC,		/* handled by fn */
	CFG_ENUM		/* int: the index of the value in sub */
};

struct cfg_key;
typedef int cfg_fn(struct cfgp *, const struct cfg_key *, yaml_node_t *,
    const char *, void *);

struct cfg_key {
	const char *name;
	enum cfg_kind kind;
	size_t off;
	unsigned long long min, max;
	cfg_fn *fn;
	const struct cfg_key *sub;	/* keys of a nested map or list of maps;
					   CFG_ENUM: its values, by name */
	int required;
};

static int cfg_error(struct cfgp *, const yaml_node_t *, const char *, ...)
    __attribute__((format(printf, 3, 4)));
static cfg_fn cfg_listeners, cfg_connectors, cfg_rules, cfg_settings;
static cfg_fn cfg_domains, cfg_addresses, cfg_reject;
static cfg_fn cfg_node_map, cfg_rule_connectors, cfg_lookups, cfg_enum;
static struct cfg_node *cfg_tree(struct cfgp *, yaml_node_t *, const char *,
    const char *, int);
static int cfg_rule_name_valid(const char *);

/* The values of the CFG_ENUM keys, in the order of their enums (cfg.h). */
#define CFG_V(v)	{ .name = (v) }
static const struct cfg_key cfg_tls_modes[] = { CFG_V("none"),
	CFG_V("optional"), CFG_V("required"), CFG_V("implicit"), CFG_V(NULL) };
static const struct cfg_key cfg_bare_lfs[] = { CFG_V("reject"),
	CFG_V("normalize"), CFG_V(NULL) };
static const struct cfg_key cfg_dir_accesses[] = { CFG_V("relay-equivalent"),
	CFG_V("any"), CFG_V("relay"), CFG_V(NULL) };
static const struct cfg_key cfg_dir_stores[] = { CFG_V("sqlite"),
	CFG_V("postgresql"), CFG_V(NULL) };
/* libpq's names, in the order of directive_pg.c's table */
static const struct cfg_key cfg_pg_sslmodes[] = { CFG_V("disable"),
	CFG_V("allow"), CFG_V("prefer"), CFG_V("require"), CFG_V("verify-ca"),
	CFG_V("verify-full"), CFG_V(NULL) };
static const struct cfg_key cfg_sasl_backends[] = { CFG_V("sasldb"),
	CFG_V("saslauthd"), CFG_V(NULL) };
static const struct cfg_key cfg_sheet_outcomes[] = { CFG_V("bounce"),
	CFG_V("next"), CFG_V("hold"), CFG_V(NULL) };
static cfg_fn cfg_nameservers;
static cfg_fn cfg_rate, cfg_min_free;

#define DAY	86400ULL

static const struct cfg_key cfg_listener_keys[] = {
	{ "name", CFG_TOKEN, offsetof(struct cfg_listener, name), 0, 0, NULL, NULL, 1 },
	{ "address", CFG_ADDR, offsetof(struct cfg_listener, address), 0, 0, NULL, NULL, 1 },
	{ "port", CFG_PORT, offsetof(struct cfg_listener, port), 1, 65535, NULL, NULL, 0 },
	{ "backlog", CFG_INT, offsetof(struct cfg_listener, backlog), 1, 65535, NULL, NULL, 0 },
	{ "tls", CFG_ENUM, offsetof(struct cfg_listener, tls), 0, 0, NULL, cfg_tls_modes, 0 },
	{ "tls_cert", CFG_STR, offsetof(struct cfg_listener, tls_cert), 0, 0, NULL, NULL, 0 },
	{ "tls_key", CFG_STR, offsetof(struct cfg_listener, tls_key), 0, 0, NULL, NULL, 0 },
	{ "tls_min_version", CFG_STR, offsetof(struct cfg_listener, tlspol.min_version), 0, 0, NULL, NULL, 0 },
	{ "tls_max_version", CFG_STR, offsetof(struct cfg_listener, tlspol.max_version), 0, 0, NULL, NULL, 0 },
	{ "tls_ciphers", CFG_STR, offsetof(struct cfg_listener, tlspol.ciphers), 0, 0, NULL, NULL, 0 },
	{ "tls_ciphersuites", CFG_STR, offsetof(struct cfg_listener, tlspol.ciphersuites), 0, 0, NULL, NULL, 0 },
	{ "tls_dh_params", CFG_STR, offsetof(struct cfg_listener, tlspol.dh_params), 0, 0, NULL, NULL, 0 },
	{ "auth", CFG_BOOL, offsetof(struct cfg_listener, auth), 0, 0, NULL, NULL, 0 },
	{ "auth_plaintext", CFG_BOOL, offsetof(struct cfg_listener, auth_plaintext), 0, 0, NULL, NULL, 0 },
	{ "relay_authenticated", CFG_BOOL, offsetof(struct cfg_listener, relay_authenticated),
	    0, 0, NULL, NULL, 0 },
	{ "proxy_protocol", CFG_BOOL, offsetof(struct cfg_listener, proxy_protocol), 0, 0, NULL, NULL, 0 },
	{ "proxy_trusted", CFG_NETLIST, offsetof(struct cfg_listener, proxy_trusted), 0, 0, NULL, NULL, 0 },
	{ "proxy_timeout", CFG_TIME, offsetof(struct cfg_listener, proxy_timeout), 1, 3600, NULL, NULL, 0 },
	{ "smtputf8", CFG_BOOL, offsetof(struct cfg_listener, smtputf8), 0, 0, NULL, NULL, 0 },
	{ "dsn", CFG_BOOL, offsetof(struct cfg_listener, dsn), 0, 0, NULL, NULL, 0 },
	{ "chunking", CFG_BOOL, offsetof(struct cfg_listener, chunking), 0, 0, NULL, NULL, 0 },
	/* access at the door */
	{ "require_auth", CFG_BOOL, offsetof(struct cfg_listener, require_auth), 0, 0, NULL, NULL, 0 },
	{ "anonymous_allow", CFG_HOSTLIST, offsetof(struct cfg_listener, anonymous_allow),
	    0, 0, NULL, NULL, 0 },
	{ "implicit_tls_detect", CFG_BOOL, offsetof(struct cfg_listener, implicit_tls_detect),
	    0, 0, NULL, NULL, 0 },
	{ NULL, 0, 0, 0, 0, NULL, NULL, 0 }
};

static const struct cfg_key cfg_smtp_keys[] = {
	{ "hostname", CFG_HOST, offsetof(struct cfg_smtp, hostname), 0, 0, NULL, NULL, 0 },
	{ "max_message_size", CFG_SIZE, offsetof(struct cfg_smtp, max_message_size),
	    1024, 1ULL << 40, NULL, NULL, 0 },
	{ "max_recipients", CFG_COUNT, offsetof(struct cfg_smtp, max_recipients),
	    1, 100000, NULL, NULL, 0 },
	{ "max_line_length", CFG_COUNT, offsetof(struct cfg_smtp, max_line_length),
	    512, 65536, NULL, NULL, 0 },
	{ "max_commands", CFG_COUNT, offsetof(struct cfg_smtp, max_commands),
	    1, 100000, NULL, NULL, 0 },
	{ "max_errors", CFG_COUNT, offsetof(struct cfg_smtp, max_errors),
	    1, 1000, NULL, NULL, 0 },
	{ "idle_timeout", CFG_TIME, offsetof(struct cfg_smtp, idle_timeout),
	    1, DAY, NULL, NULL, 0 },
	{ "max_sessions", CFG_COUNT, offsetof(struct cfg_smtp, max_sessions),
	    1, 1000000, NULL, NULL, 0 },
	{ "max_connections_per_client", CFG_COUNT,
	    offsetof(struct cfg_smtp, max_connections_per_client), 1, 1000000, NULL, NULL, 0 },
	{ "max_header_size", CFG_SIZE, offsetof(struct cfg_smtp, max_header_size),
	    1024, 1ULL << 30, NULL, NULL, 0 },
	{ "max_session_time", CFG_TIME, offsetof(struct cfg_smtp, max_session_time),
	    1, DAY, NULL, NULL, 0 },
	{ "greeting_delay", CFG_TIME, offsetof(struct cfg_smtp, greeting_delay),
	    0, 60, NULL, NULL, 0 },
	{ "bare_lf", CFG_ENUM, offsetof(struct cfg_smtp, bare_lf), 0, 0, NULL, cfg_bare_lfs, 0 },
	{ "auth_max_failures", CFG_COUNT, offsetof(struct cfg_smtp, auth_max_failures),
	    1, 1000, NULL, NULL, 0 },
	{ "auth_failure_window", CFG_TIME, offsetof(struct cfg_smtp, auth_failure_window),
	    1, DAY, NULL, NULL, 0 },
	/* device behaviour (max_errors is the older name of hard_error_limit) */
	{ "hard_error_limit", CFG_COUNT, offsetof(struct cfg_smtp, max_errors),
	    1, 1000, NULL, NULL, 0 },
	{ "strict_rfc5321", CFG_BOOL, offsetof(struct cfg_smtp, strict_rfc5321),
	    0, 0, NULL, NULL, 0 },
	{ "rcpt_check", CFG_BOOL, offsetof(struct cfg_smtp, rcpt_check), 0, 0, NULL, NULL, 0 },
	{ "rcpt_check_timeout", CFG_TIME, offsetof(struct cfg_smtp, rcpt_check_timeout),
	    1, 300, NULL, NULL, 0 },
	{ NULL, 0, 0, 0, 0, NULL, NULL, 0 }
};

static const struct cfg_key cfg_sasl_keys[] = {
	{ "backend", CFG_ENUM, offsetof(struct cfg_sasl, backend), 0, 0, NULL, cfg_sasl_backends, 0 },
	{ "sasldb_path", CFG_STR, offsetof(struct cfg_sasl, sasldb_path), 0, 0, NULL, NULL, 0 },
	{ "saslauthd_path", CFG_STR, offsetof(struct cfg_sasl, saslauthd_path), 0, 0, NULL, NULL, 0 },
	{ "saslauthd_timeout", CFG_TIME, offsetof(struct cfg_sasl, saslauthd_timeout), 1, 300, NULL, NULL, 0 },
	{ "mechanisms", CFG_OPTSTR, offsetof(struct cfg_sasl, mechanisms), 0, 0, NULL, NULL, 0 },
	{ NULL, 0, 0, 0, 0, NULL, NULL, 0 }
};

static const struct cfg_key cfg_relay_keys[] = {
	{ "local_domains", CFG_LIST, 0, 0, 0, cfg_domains, NULL, 0 },
	{ "local_addresses", CFG_LIST, 0, 0, 0, cfg_addresses, NULL, 0 },
	{ "allow", CFG_HOSTLIST, offsetof(struct cfg_relay, allow), 0, 0, NULL, NULL, 0 },
	{ NULL, 0, 0, 0, 0, NULL, NULL, 0 }
};

static const struct cfg_key cfg_retry_keys[] = {
	{ "min_backoff", CFG_TIME, offsetof(struct cfg_retry, min_backoff),
	    1, 30 * DAY, NULL, NULL, 0 },
	{ "max_backoff", CFG_TIME, offsetof(struct cfg_retry, max_backoff),
	    1, 30 * DAY, NULL, NULL, 0 },
	{ "lifetime", CFG_TIME, offsetof(struct cfg_retry, lifetime),
	    1, 365 * DAY, NULL, NULL, 0 },
	{ "delay_warning", CFG_TIME, offsetof(struct cfg_retry, delay_warning),
	    1, 365 * DAY, NULL, NULL, 0 },
	{ NULL, 0, 0, 0, 0, NULL, NULL, 0 }
};

static const struct cfg_key cfg_connector_keys[] = {
	{ "name", CFG_NAME, offsetof(struct cfg_connector, name), 0, 0, NULL, NULL, 1 },
	{ "type", CFG_TOKEN, offsetof(struct cfg_connector, type), 0, 0, NULL, NULL, 1 },
	{ "concurrency", CFG_INT, offsetof(struct cfg_connector, concurrency),
	    1, 64, NULL, NULL, 0 },
	{ "initial_concurrency", CFG_INT,
	    offsetof(struct cfg_connector, initial_concurrency), 1, 64, NULL,
	    NULL, 0 },
	{ "max_idle", CFG_TIME, offsetof(struct cfg_connector, max_idle),
	    1, DAY, NULL, NULL, 0 },
	{ "retry", CFG_MAP, offsetof(struct cfg_connector, retry), 0, 0, NULL,
	    cfg_retry_keys, 0 },
	{ "settings", CFG_FUNC, 0, 0, 0, cfg_settings, NULL, 0 },
	{ NULL, 0, 0, 0, 0, NULL, NULL, 0 }
};

static const struct cfg_key cfg_sheet_keys[] = {
	{ "missing", CFG_ENUM, offsetof(struct cfg_sheet, missing), 0, 0, NULL, cfg_sheet_outcomes, 0 },
	{ "unknown", CFG_ENUM, offsetof(struct cfg_sheet, unknown), 0, 0, NULL, cfg_sheet_outcomes, 0 },
	{ "unreadable", CFG_ENUM, offsetof(struct cfg_sheet, unreadable), 0, 0, NULL, cfg_sheet_outcomes, 0 },
	{ "keep_sheet", CFG_BOOL, offsetof(struct cfg_sheet, keep_sheet), 0, 0, NULL, NULL, 0 },
	{ "hold", CFG_NAME, offsetof(struct cfg_sheet, hold), 0, 0, NULL, NULL, 0 },
	{ NULL, 0, 0, 0, 0, NULL, NULL, 0 }
};

static const struct cfg_key cfg_notify_keys[] = {
	{ "success", CFG_BOOL, offsetof(struct cfg_notify, success), 0, 0, NULL, NULL, 0 },
	{ "failure", CFG_BOOL, offsetof(struct cfg_notify, failure), 0, 0, NULL, NULL, 0 },
	{ "bounce", CFG_BOOL, offsetof(struct cfg_notify, bounce), 0, 0, NULL, NULL, 0 },
	{ "connector", CFG_NAME, offsetof(struct cfg_notify, connector), 0, 0, NULL, NULL, 0 },
	{ "template_dir", CFG_STR, offsetof(struct cfg_notify, template_dir), 0, 0, NULL, NULL, 0 },
	{ "max_per_hour", CFG_COUNT, offsetof(struct cfg_notify, max_per_hour), 1, 100000, NULL, NULL, 0 },
	{ NULL, 0, 0, 0, 0, NULL, NULL, 0 }
};

static const struct cfg_key cfg_rule_keys[] = {
	{ "name", CFG_STR, offsetof(struct cfg_rule, name), 0, 0, NULL, NULL, 1 },
	{ "recipient", CFG_PATTERN, offsetof(struct cfg_rule, recipient), 0, 0, NULL, NULL, 0 },
	{ "sender", CFG_PATTERN, offsetof(struct cfg_rule, sender), 0, 0, NULL, NULL, 0 },
	{ "client", CFG_NETLIST, offsetof(struct cfg_rule, client), 0, 0, NULL, NULL, 0 },
	{ "connector", CFG_STR, offsetof(struct cfg_rule, connector), 0, 0, NULL, NULL, 0 },
	{ "reject", CFG_FUNC, 0, 0, 0, cfg_reject, NULL, 0 },
	{ "type", CFG_STR, offsetof(struct cfg_rule, type), 0, 0, NULL, NULL, 0 },
	{ "auth", CFG_PATTERN, offsetof(struct cfg_rule, auth), 0, 0, NULL, NULL, 0 },
	{ "listener", CFG_STR, offsetof(struct cfg_rule, listener), 0, 0, NULL, NULL, 0 },
	{ "subject", CFG_STR, offsetof(struct cfg_rule, subject), 0, 0, NULL, NULL, 0 },
	{ "header", CFG_STR, offsetof(struct cfg_rule, header), 0, 0, NULL, NULL, 0 },
	{ "min_size", CFG_SIZE, offsetof(struct cfg_rule, min_size), 0, SIZE_MAX, NULL, NULL, 0 },
	{ "max_size", CFG_SIZE, offsetof(struct cfg_rule, max_size), 1, SIZE_MAX, NULL, NULL, 0 },
	{ "attachment_type", CFG_STR, offsetof(struct cfg_rule, attachment_type), 0, 0, NULL, NULL, 0 },
	{ "min_attachments", CFG_COUNT, offsetof(struct cfg_rule, min_attachments), 0, 10000, NULL, NULL, 0 },
	{ "max_attachments", CFG_COUNT, offsetof(struct cfg_rule, max_attachments), 0, 10000, NULL, NULL, 0 },
	{ "days", CFG_STR, offsetof(struct cfg_rule, days), 0, 0, NULL, NULL, 0 },
	{ "hours", CFG_STR, offsetof(struct cfg_rule, hours), 0, 0, NULL, NULL, 0 },
	{ "connectors", CFG_LIST, 0, 0, 0, cfg_rule_connectors, NULL, 0 },
	{ "params", CFG_FUNC, offsetof(struct cfg_rule, params), 0, 0, cfg_node_map, NULL, 0 },
	{ "failover", CFG_STR, offsetof(struct cfg_rule, failover), 0, 0, NULL, NULL, 0 },
	{ "hold", CFG_STR, offsetof(struct cfg_rule, hold), 0, 0, NULL, NULL, 0 },
	{ "lookup", CFG_STR, offsetof(struct cfg_rule, lookup), 0, 0, NULL, NULL, 0 },
	{ "directive", CFG_BOOL, offsetof(struct cfg_rule, directive), 0, 0, NULL, NULL, 0 },
	{ "sheet", CFG_MAP, offsetof(struct cfg_rule, sheet), 0, 0, NULL, cfg_sheet_keys, 0 },
	{ "notify", CFG_MAP, offsetof(struct cfg_rule, notify), 0, 0, NULL, cfg_notify_keys, 0 },
	{ NULL, 0, 0, 0, 0, NULL, NULL, 0 }
};

static const struct cfg_key cfg_lookup_keys[] = {
	{ "name", CFG_NAME, offsetof(struct cfg_lookup, name), 0, 0, NULL, NULL, 1 },
	{ "format", CFG_TOKEN, offsetof(struct cfg_lookup, format), 0, 0, NULL, NULL, 0 },
	{ "path", CFG_STR, offsetof(struct cfg_lookup, path), 0, 0, NULL, NULL, 0 },
	{ "digits", CFG_INT, offsetof(struct cfg_lookup, digits), 1, 32, NULL, NULL, 0 },
	{ "header", CFG_STR, offsetof(struct cfg_lookup, header), 0, 0, NULL, NULL, 0 },
	{ "default", CFG_STR, offsetof(struct cfg_lookup, fallback), 0, 0, NULL, NULL, 0 },
	/* LDAP lookups (type ldap): cfg_lookup_ldap checks them */
	{ "type", CFG_TOKEN, offsetof(struct cfg_lookup, type), 0, 0, NULL, NULL, 0 },
	{ "key", CFG_TOKEN, offsetof(struct cfg_lookup, key), 0, 0, NULL, NULL, 0 },
	{ "uri", CFG_STR, offsetof(struct cfg_lookup, ldap.uri), 0, 0, NULL, NULL, 0 },
	{ "start_tls", CFG_BOOL, offsetof(struct cfg_lookup, ldap.start_tls), 0, 0, NULL, NULL, 0 },
	{ "base", CFG_STR, offsetof(struct cfg_lookup, ldap.base), 0, 0, NULL, NULL, 0 },
	{ "scope", CFG_TOKEN, offsetof(struct cfg_lookup, ldap.scope), 0, 0, NULL, NULL, 0 },
	{ "filter", CFG_STR, offsetof(struct cfg_lookup, ldap.filter), 0, 0, NULL, NULL, 0 },
	{ "attribute", CFG_STR, offsetof(struct cfg_lookup, ldap.attribute), 0, 0, NULL, NULL, 0 },
	{ "bind_dn", CFG_STR, offsetof(struct cfg_lookup, ldap.bind_dn), 0, 0, NULL, NULL, 0 },
	{ "bind_password_file", CFG_STR, offsetof(struct cfg_lookup, ldap.bind_password_file), 0, 0, NULL, NULL, 0 },
	{ "timeout", CFG_TIME, offsetof(struct cfg_lookup, ldap.timeout), 1, 300, NULL, NULL, 0 },
	{ "tls_ca_file", CFG_STR, offsetof(struct cfg_lookup, ldap.tls_ca_file), 0, 0, NULL, NULL, 0 },
	{ "tls_verify", CFG_BOOL, offsetof(struct cfg_lookup, ldap.tls_verify), 0, 0, NULL, NULL, 0 },
	{ NULL, 0, 0, 0, 0, NULL, NULL, 0 }
};

static const struct cfg_key cfg_addressing_keys[] = {
	{ "default_type", CFG_TOKEN, offsetof(struct cfg_addressing, default_type), 0, 0, NULL, NULL, 0 },
	{ "fax_connector", CFG_NAME, offsetof(struct cfg_addressing, fax_connector), 0, 0, NULL, NULL, 0 },
	{ "email_connector", CFG_NAME, offsetof(struct cfg_addressing, email_connector), 0, 0, NULL, NULL, 0 },
	{ NULL, 0, 0, 0, 0, NULL, NULL, 0 }
};

static const struct cfg_key cfg_dirpg_keys[] = {
	{ "host", CFG_STR, offsetof(struct cfg_dirpg, host), 0, 0, NULL, NULL, 0 },
	{ "port", CFG_INT, offsetof(struct cfg_dirpg, port), 1, 65535, NULL, NULL, 0 },
	{ "dbname", CFG_STR, offsetof(struct cfg_dirpg, dbname), 0, 0, NULL, NULL, 0 },
	{ "user", CFG_STR, offsetof(struct cfg_dirpg, user), 0, 0, NULL, NULL, 0 },
	{ "password_file", CFG_STR, offsetof(struct cfg_dirpg, password_file), 0, 0, NULL, NULL, 0 },
	{ "sslmode", CFG_ENUM, offsetof(struct cfg_dirpg, sslmode), 0, 0, NULL, cfg_pg_sslmodes, 0 },
	{ "connect_timeout", CFG_TIME, offsetof(struct cfg_dirpg, connect_timeout), 1, 300, NULL, NULL, 0 },
	{ "statement_timeout", CFG_TIME, offsetof(struct cfg_dirpg, statement_timeout), 1, 300, NULL, NULL, 0 },
	{ NULL, 0, 0, 0, 0, NULL, NULL, 0 }
};

static const struct cfg_key cfg_directives_keys[] = {
	{ "prefix", CFG_STR, offsetof(struct cfg_directives, prefix), 0, 0, NULL, NULL, 0 },
	{ "channels", CFG_FUNC, offsetof(struct cfg_directives, channels), 0, 0, cfg_node_map, NULL, 0 },
	{ "body_scan", CFG_SIZE, offsetof(struct cfg_directives, body_scan), 0, 16 * 1024 * 1024, NULL, NULL, 0 },
	{ "paper", CFG_TOKEN, offsetof(struct cfg_directives, paper), 0, 0, NULL, NULL, 0 },
	{ "default_access", CFG_ENUM, offsetof(struct cfg_directives, default_access), 0, 0,
	    NULL, cfg_dir_accesses, 0 },
	{ "store", CFG_ENUM, offsetof(struct cfg_directives, store), 0, 0, NULL, cfg_dir_stores, 0 },
	{ "postgresql", CFG_MAP, offsetof(struct cfg_directives, pg), 0, 0, NULL, cfg_dirpg_keys, 0 },
	{ NULL, 0, 0, 0, 0, NULL, NULL, 0 }
};

static const struct cfg_key cfg_recognize_keys[] = {
	{ "max_pages", CFG_INT, offsetof(struct cfg_recognize, max_pages), 1, 10000, NULL, NULL, 0 },
	{ "dpi", CFG_INT, offsetof(struct cfg_recognize, dpi), 50, 1200, NULL, NULL, 0 },
	{ "memory", CFG_SIZE, offsetof(struct cfg_recognize, memory), 16 * 1024 * 1024,
	    1ULL << 40, NULL, NULL, 0 },
	{ "cpu_time", CFG_TIME, offsetof(struct cfg_recognize, cpu_time), 1, 3600, NULL, NULL, 0 },
	{ "timeout", CFG_TIME, offsetof(struct cfg_recognize, timeout), 1, 3600, NULL, NULL, 0 },
	{ "max_pixels", CFG_SIZE, offsetof(struct cfg_recognize, max_pixels), 1024,
	    1ULL << 34, NULL, NULL, 0 },
	{ "max_output", CFG_SIZE, offsetof(struct cfg_recognize, max_output), 1024 * 1024,
	    1ULL << 40, NULL, NULL, 0 },
	{ "processes", CFG_INT, offsetof(struct cfg_recognize, processes), 1, 100000, NULL, NULL, 0 },
	{ "pdftoppm", CFG_STR, offsetof(struct cfg_recognize, pdftoppm), 0, 0, NULL, NULL, 0 },
	{ "concurrency", CFG_INT, offsetof(struct cfg_recognize, concurrency), 1, 64, NULL, NULL, 0 },
	{ NULL, 0, 0, 0, 0, NULL, NULL, 0 }
};

static const struct cfg_key cfg_dns_keys[] = {
	{ "nameservers", CFG_LIST, 0, 0, 0, cfg_nameservers, NULL, 0 },
	{ "timeout", CFG_TIME, offsetof(struct cfg_dns, timeout), 1, 60, NULL, NULL, 0 },
	{ NULL, 0, 0, 0, 0, NULL, NULL, 0 }
};

static const struct cfg_key cfg_limits_keys[] = {
	{ "conn_rate", CFG_FUNC, offsetof(struct cfg_limits, conn_rate), 0, 0, cfg_rate, NULL, 0 },
	{ "msg_rate", CFG_FUNC, offsetof(struct cfg_limits, msg_rate), 0, 0, cfg_rate, NULL, 0 },
	{ "rcpt_rate", CFG_FUNC, offsetof(struct cfg_limits, rcpt_rate), 0, 0, cfg_rate, NULL, 0 },
	{ "exempt", CFG_NETLIST, offsetof(struct cfg_limits, exempt), 0, 0, NULL, NULL, 0 },
	{ "exempt_relay", CFG_BOOL, offsetof(struct cfg_limits, exempt_relay), 0, 0, NULL, NULL, 0 },
	{ "table_size", CFG_COUNT, offsetof(struct cfg_limits, table_size), 16, 1000000, NULL, NULL, 0 },
	{ "spool_min_free", CFG_FUNC, 0, 0, 0, cfg_min_free, NULL, 0 },
	{ NULL, 0, 0, 0, 0, NULL, NULL, 0 }
};

static const struct cfg_key cfg_log_keys[] = {
	{ "history_file", CFG_STR, offsetof(struct cfg_log, history_file), 0, 0, NULL, NULL, 0 },
	{ NULL, 0, 0, 0, 0, NULL, NULL, 0 }
};

static cfg_fn cfg_web, cfg_web_users, cfg_web_admins;
static const struct cfg_key cfg_web_keys[] = {
	{ "enabled", CFG_BOOL, offsetof(struct cfg_web, enabled), 0, 0, NULL, NULL, 0 },
	{ "address", CFG_ADDR, offsetof(struct cfg_web, address), 0, 0, NULL, NULL, 0 },
	{ "port", CFG_PORT, offsetof(struct cfg_web, port), 1, 65535, NULL, NULL, 0 },
	{ "tls", CFG_BOOL, offsetof(struct cfg_web, tls), 0, 0, NULL, NULL, 0 },
	{ "tls_cert", CFG_STR, offsetof(struct cfg_web, tls_cert), 0, 0, NULL, NULL, 0 },
	{ "tls_key", CFG_STR, offsetof(struct cfg_web, tls_key), 0, 0, NULL, NULL, 0 },
	{ "cookie_secure", CFG_BOOL, offsetof(struct cfg_web, cookie_secure), 0, 0, NULL, NULL, 0 },
	{ "session_lifetime", CFG_TIME, offsetof(struct cfg_web, session_lifetime),
	    60, 30 * DAY, NULL, NULL, 0 },
	{ "idle_timeout", CFG_TIME, offsetof(struct cfg_web, idle_timeout), 60, 30 * DAY,
	    NULL, NULL, 0 },
	{ "max_sessions", CFG_COUNT, offsetof(struct cfg_web, max_sessions), 1, 100000,
	    NULL, NULL, 0 },
	{ "users", CFG_LIST, 0, 0, 0, cfg_web_users, NULL, 0 },
	{ "admins", CFG_LIST, 0, 0, 0, cfg_web_admins, NULL, 0 },
	{ "login_max_failures", CFG_COUNT, offsetof(struct cfg_web, login_max_failures),
	    1, 1000, NULL, NULL, 0 },
	{ "login_failure_window", CFG_TIME, offsetof(struct cfg_web, login_failure_window),
	    1, DAY, NULL, NULL, 0 },
	{ "send", CFG_BOOL, offsetof(struct cfg_web, send), 0, 0, NULL, NULL, 0 },
	{ "max_upload", CFG_SIZE, offsetof(struct cfg_web, max_upload), 1024,
	    (size_t)1 << 30, NULL, NULL, 0 },
	{ "sender_domain", CFG_STR, offsetof(struct cfg_web, sender_domain), 0, 0,
	    NULL, NULL, 0 },
	{ NULL, 0, 0, 0, 0, NULL, NULL, 0 }
};

static const struct cfg_key cfg_top_keys[] = {
	{ "user", CFG_STR, offsetof(struct cfg, user), 0, 0, NULL, NULL, 0 },
	{ "receiver_user", CFG_STR, offsetof(struct cfg, receiver_user), 0, 0, NULL, NULL, 0 },
	{ "spool", CFG_STR, offsetof(struct cfg, spool), 0, 0, NULL, NULL, 0 },
	{ "pid_file", CFG_STR, offsetof(struct cfg, pid_file), 0, 0, NULL, NULL, 0 },
	{ "control_socket", CFG_STR, offsetof(struct cfg, control_socket), 0, 0, NULL, NULL, 0 },
	{ "admin_group", CFG_OPTSTR, offsetof(struct cfg, admin_group), 0, 0, NULL, NULL, 0 },
	{ "connector_dir", CFG_STR, offsetof(struct cfg, connector_dir), 0, 0, NULL, NULL, 0 },
	{ "log_verbose", CFG_BOOL, offsetof(struct cfg, log_verbose), 0, 0, NULL, NULL, 0 },
	{ "sandbox", CFG_BOOL, offsetof(struct cfg, sandbox), 0, 0, NULL, NULL, 0 },
	{ "postmaster", CFG_OPTSTR, offsetof(struct cfg, postmaster), 0, 0, NULL, NULL, 0 },
	{ "listeners", CFG_LIST, 0, 0, 0, cfg_listeners, cfg_listener_keys, 0 },
	{ "smtp", CFG_MAP, offsetof(struct cfg, smtp), 0, 0, NULL, cfg_smtp_keys, 0 },
	{ "relay", CFG_MAP, offsetof(struct cfg, relay), 0, 0, NULL, cfg_relay_keys, 0 },
	{ "sasl", CFG_MAP, offsetof(struct cfg, sasl), 0, 0, NULL, cfg_sasl_keys, 0 },
	{ "connectors", CFG_LIST, 0, 0, 0, cfg_connectors, cfg_connector_keys, 1 },
	{ "rules", CFG_LIST, 0, 0, 0, cfg_rules, cfg_rule_keys, 0 },
	{ "lookups", CFG_LIST, 0, 0, 0, cfg_lookups, cfg_lookup_keys, 0 },
	{ "addressing", CFG_MAP, offsetof(struct cfg, addressing), 0, 0, NULL, cfg_addressing_keys, 0 },
	{ "directives", CFG_MAP, offsetof(struct cfg, directives), 0, 0, NULL, cfg_directives_keys, 0 },
	{ "recognize", CFG_MAP, offsetof(struct cfg, recognize), 0, 0, NULL, cfg_recognize_keys, 0 },
	{ "dns", CFG_MAP, offsetof(struct cfg, dns), 0, 0, NULL, cfg_dns_keys, 0 },
	{ "limits", CFG_MAP, offsetof(struct cfg, limits), 0, 0, NULL, cfg_limits_keys, 0 },
	{ "web", CFG_FUNC, offsetof(struct cfg, web), 0, 0, cfg_web, cfg_web_keys, 0 },
	{ "log", CFG_MAP, offsetof(struct cfg, log), 0, 0, NULL, cfg_log_keys, 0 },
	{ NULL, 0, 0, 0, 0, NULL, NULL, 0 }
};

/* cfg_clean - untrusted text from the file, shortened and made printable */
static const char *
cfg_clean(char *buf, size_t len, const char *s)
{
	return log_clean(buf, len, s, strlen(s));
}

/* cfg_error - record the first error as FILE:LINE:COLUMN: message */
static int
cfg_error(struct cfgp *p, const yaml_node_t *n, const char *fmt, ...)
{
	char file[CFG_PATHLEN];
	va_list ap;
	int len;

	if (p->failed)
		return -1;
	p->failed = 1;
	len = snprintf(p->err, p->errlen, "%s:%zu:%zu: ",
	    cfg_clean(file, sizeof(file), p->file),
	    n != NULL ? n->start_mark.line + 1 : 1,
	    n != NULL ? n->start_mark.column + 1 : 1);
	if (len < 0 || (size_t)len >= p->errlen)
		return -1;
	va_start(ap, fmt);
	vsnprintf(p->err + len, p->errlen - (size_t)len, fmt, ap);
	va_end(ap);
	return -1;
}

/* cfg_in - " in PATH", or " at top level" for the root map */
static const char *
cfg_in(char *buf, size_t len, const char *path)
{
	if (*path == '\0')
		snprintf(buf, len, " at top level");
	else
		snprintf(buf, len, " in %s", path);
	return buf;
}

/* cfg_node_kind - the name of a node's type, for messages */
static const char *
cfg_node_kind(const yaml_node_t *n)
{
	switch (n->type) {
	case YAML_MAPPING_NODE:
		return "map";
	case YAML_SEQUENCE_NODE:
		return "list";
	default:
		return "scalar";
	}
}

/* cfg_expect - check that a node has the expected type */
static int
cfg_expect(struct cfgp *p, yaml_node_t *n, yaml_node_type_t type,
    const char *path)
{
	const char *want;

	if (n->type == type)
		return 0;
	want = type == YAML_MAPPING_NODE ? "a map" :
	    type == YAML_SEQUENCE_NODE ? "a list" : "a single value";
	return cfg_error(p, n, "%s must be %s, not a %s", path, want,
	    cfg_node_kind(n));
}

/* cfg_is_null - is the node a plain null scalar ("", "~", "null")? */
static int
cfg_is_null(const yaml_node_t *n)
{
	const char *v = (const char *)n->data.scalar.value;

	if (n->type != YAML_SCALAR_NODE ||
	    n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return 0;
	return *v == '\0' || strcmp(v, "~") == 0 || strcasecmp(v, "null") == 0;
}

/* cfg_scalar - the text of a scalar value, or NULL after an error */
static const char *
cfg_scalar(struct cfgp *p, yaml_node_t *n, const char *path, int empty_ok)
{
	const char *v;
	size_t i;

	if (cfg_expect(p, n, YAML_SCALAR_NODE, path) == -1)
		return NULL;
	v = (const char *)n->data.scalar.value;
	if (strlen(v) != n->data.scalar.length) {
		cfg_error(p, n, "NUL character in %s", path);
		return NULL;
	}
	if (!empty_ok && (cfg_is_null(n) || *v == '\0')) {
		cfg_error(p, n, "missing value for %s", path);
		return NULL;
	}
	for (i = 0; v[i] != '\0'; i++)
		if (iscntrl((unsigned char)v[i])) {
			cfg_error(p, n, "control character in %s", path);
			return NULL;
		}
	return v;
}

/* cfg_node - the node with that id */
static yaml_node_t *
cfg_node(struct cfgp *p, int id)
{
	return yaml_document_get_node(p->doc, id);
}

/* cfg_map_get - the value of key in a map node, or NULL */
static yaml_node_t *
cfg_map_get(struct cfgp *p, yaml_node_t *map, const char *key)
{
	yaml_node_pair_t *pair;
	yaml_node_t *k;

	if (map == NULL || map->type != YAML_MAPPING_NODE)
		return NULL;
	for (pair = map->data.mapping.pairs.start;
	    pair < map->data.mapping.pairs.top; pair++) {
		k = cfg_node(p, pair->key);
		if (k != NULL && k->type == YAML_SCALAR_NODE &&
		    strcmp((const char *)k->data.scalar.value, key) == 0)
			return cfg_node(p, pair->value);
	}
	return NULL;
}

/* cfg_path - PARENT.NAME, or NAME at the top */
static void
cfg_path(char *buf, size_t len, const char *parent, const char *name)
{
	if (*parent == '\0')
		snprintf(buf, len, "%s", name);
	else
		snprintf(buf, len, "%s.%s", parent, name);
}

/* cfg_token_valid - [a-z0-9_-]+, shorter than CFG_NAME_MAX */
static int
cfg_token_valid(const char *s, int first_alnum)
{
	size_t len = strlen(s);

	if (len == 0 || len >= CFG_NAME_MAX)
		return 0;
	if (first_alnum && !isdigit((unsigned char)*s) &&
	    !(*s >= 'a' && *s <= 'z'))
		return 0;
	return strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_-") == len;
}

/* cfg_domain_valid - a domain name: LDH labels of 1..63, at most 253 */
static int
cfg_domain_valid(const char *s)
{
	return net_domain_valid(s, 0);
}

/* cfg_address_valid - local@domain with a plain local part */
static int
cfg_address_valid(const char *s)
{
	const char *at = strrchr(s, '@');
	size_t i;

	if (at == NULL || at == s || at - s > 64)
		return 0;
	for (i = 0; s + i < at; i++)
		if (isspace((unsigned char)s[i]) || s[i] == '@' ||
		    s[i] == '<' || s[i] == '>' || s[i] == '"')
			return 0;
	return cfg_domain_valid(at + 1);
}

/* cfg_set_str - replace a string field */
static void
cfg_set_str(char **field, const char *v)
{
	free(*field);
	*field = v != NULL ? xstrdup(v) : NULL;
}

/* cfg_value_string - the string kinds */
static int
cfg_value_string(struct cfgp *p, const struct cfg_key *k, yaml_node_t *n,
    const char *path, void *obj)
{
	char **field = (char **)(void *)((char *)obj + k->off), t[CFG_TEXTLEN];
	const char *v;
	struct net_cidr c;

	if (k->kind == CFG_OPTSTR && n->type == YAML_SCALAR_NODE &&
	    cfg_is_null(n)) {
		cfg_set_str(field, NULL);
		return 0;
	}
	if ((v = cfg_scalar(p, n, path, k->kind == CFG_PATTERN)) == NULL)
		return -1;
	if (k->kind == CFG_PATTERN && cfg_is_null(n))
		v = "";
	if ((k->kind == CFG_HOST && !cfg_domain_valid(v)) ||
	    (k->kind == CFG_ADDR && (net_cidr_parse(v, &c) == -1 ||
	    strchr(v, '/') != NULL)) ||
	    (k->kind == CFG_NAME && !cfg_token_valid(v, 1)) ||
	    (k->kind == CFG_TOKEN && !cfg_token_valid(v, 0)))
		return cfg_error(p, n, "bad value '%s' for %s: expected %s",
		    cfg_clean(t, sizeof(t), v), path,
		    k->kind == CFG_HOST ? "a domain name" :
		    k->kind == CFG_ADDR ? "a numeric IPv4 or IPv6 address" :
		    k->kind == CFG_NAME ?
		    "lower-case letters, digits, '_' and '-', starting with a letter or digit" :
		    "lower-case letters, digits, '_' and '-'");
	cfg_set_str(field, v);
	return 0;
}

/* cfg_value_number - the numeric kinds */
static int
cfg_value_number(struct cfgp *p, const struct cfg_key *k, yaml_node_t *n,
    const char *path, void *obj)
{
	char *o = (char *)obj + k->off, t[CFG_TEXTLEN];
	unsigned long long v;
	const char *s, *what = "value";
	enum cfgval_kind vk = CFGVAL_COUNT;
	int r;

	if ((s = cfg_scalar(p, n, path, 0)) == NULL)
		return -1;
	if (k->kind == CFG_SIZE) {
		r = cfgval_size(s, &v);
		what = "size";
		vk = CFGVAL_SIZE;
	} else if (k->kind == CFG_TIME) {
		r = cfgval_duration(s, &v);
		what = "duration";
		vk = CFGVAL_DURATION;
	} else
		r = cfgval_count(s, &v);
	if (r == -1)
		return cfg_error(p, n, "bad %s '%s' for %s: expected %s", what,
		    cfg_clean(t, sizeof(t), s), path, cfgval_syntax(vk));
	if (v < k->min || v > k->max)
		return cfg_error(p, n, "%s '%s' for %s is out of range (%llu to %llu)",
		    what, cfg_clean(t, sizeof(t), s), path, k->min, k->max);
	if (k->kind == CFG_INT)
		*(int *)(void *)o = (int)v;
	else if (k->kind == CFG_PORT)
		*(uint16_t *)(void *)o = (uint16_t)v;
	else if (k->kind == CFG_TIME)
		*(time_t *)(void *)o = (time_t)v;
	else
		*(size_t *)(void *)o = (size_t)v;
	return 0;
}

/* cfg_netlist - a list of CIDR networks and host names */
static int
cfg_netlist(struct cfgp *p, yaml_node_t *n, const char *path,
    struct net_list *l, int fcrdns)
{
	char err[CFG_ERRLEN];
	yaml_node_item_t *it;
	yaml_node_t *item;
	const char *v;

	if (cfg_expect(p, n, YAML_SEQUENCE_NODE, path) == -1)
		return -1;
	net_list_free(l);
	for (it = n->data.sequence.items.start;
	    it < n->data.sequence.items.top; it++) {
		item = cfg_node(p, *it);
		if ((v = cfg_scalar(p, item, path, 0)) == NULL)
			return -1;
		if ((fcrdns ? net_list_add_fcrdns(l, v, err, sizeof(err)) :
		    net_list_add(l, v, err, sizeof(err))) == -1)
			return cfg_error(p, item, "%s in %s", err, path);
	}
	return 0;
}

/* cfg_value - check and store one value according to its key */
static int
cfg_value(struct cfgp *p, const struct cfg_key *k, yaml_node_t *n,
    const char *path, void *obj);

/* cfg_map - walk a map against a key table */
static int
cfg_map(struct cfgp *p, yaml_node_t *map, const char *path,
    const struct cfg_key *keys, void *obj)
{
	char kpath[CFG_PATHLEN], in[CFG_PATHLEN], t[CFG_TEXTLEN];
	const struct cfg_key *k;
	yaml_node_pair_t *pair, *q;
	yaml_node_t *kn, *qn;
	const char *name;

	if (cfg_expect(p, map, YAML_MAPPING_NODE,
	    *path ? path : "the configuration") == -1)
		return -1;
	for (pair = map->data.mapping.pairs.start;
	    pair < map->data.mapping.pairs.top; pair++) {
		kn = cfg_node(p, pair->key);
		if (kn->type != YAML_SCALAR_NODE)
			return cfg_error(p, kn, "a key must be a scalar, not a %s%s",
			    cfg_node_kind(kn), cfg_in(in, sizeof(in), path));
		name = (const char *)kn->data.scalar.value;
		for (q = map->data.mapping.pairs.start; q < pair; q++) {
			qn = cfg_node(p, q->key);
			if (qn->type == YAML_SCALAR_NODE && strcmp(name,
			    (const char *)qn->data.scalar.value) == 0)
				return cfg_error(p, kn, "duplicate key '%s'%s (first at line %zu)",
				    cfg_clean(t, sizeof(t), name),
				    cfg_in(in, sizeof(in), path),
				    qn->start_mark.line + 1);
		}
		for (k = keys; k->name != NULL; k++)
			if (strcmp(k->name, name) == 0)
				break;
		if (k->name == NULL)
			return cfg_error(p, kn, "unknown key '%s'%s",
			    cfg_clean(t, sizeof(t), name),
			    cfg_in(in, sizeof(in), path));
		cfg_path(kpath, sizeof(kpath), path, name);
		if (cfg_value(p, k, cfg_node(p, pair->value), kpath, obj) == -1)
			return -1;
	}
	for (k = keys; k->name != NULL; k++)
		if (k->required && cfg_map_get(p, map, k->name) == NULL)
			return cfg_error(p, map, "missing required key '%s'%s",
			    k->name, cfg_in(in, sizeof(in), path));
	return 0;
}

/* cfg_value - check and store one value according to its key */
static int
cfg_value(struct cfgp *p, const struct cfg_key *k, yaml_node_t *n,
    const char *path, void *obj)
{
	yaml_node_t empty;
	char t[CFG_TEXTLEN];
	const char *s;
	int b;

	if (cfg_is_null(n) && (k->kind == CFG_MAP || k->kind == CFG_LIST ||
	    k->kind == CFG_NETLIST || k->kind == CFG_HOSTLIST)) {
		/* "key:" with nothing (all commented out) is an empty one. */
		memset(&empty, 0, sizeof(empty));
		empty.type = k->kind == CFG_MAP ? YAML_MAPPING_NODE :
		    YAML_SEQUENCE_NODE;
		empty.start_mark = n->start_mark;
		n = &empty;
	}
	switch (k->kind) {
	case CFG_STR:
	case CFG_OPTSTR:
	case CFG_PATTERN:
	case CFG_HOST:
	case CFG_NAME:
	case CFG_TOKEN:
	case CFG_ADDR:
		return cfg_value_string(p, k, n, path, obj);
	case CFG_BOOL:
		if ((s = cfg_scalar(p, n, path, 0)) == NULL)
			return -1;
		if (cfgval_bool(s, &b) == -1)
			return cfg_error(p, n, "bad boolean '%s' for %s: expected %s",
			    cfg_clean(t, sizeof(t), s), path,
			    cfgval_syntax(CFGVAL_BOOL));
		*(int *)(void *)((char *)obj + k->off) = b;
		return 0;
	case CFG_INT:
	case CFG_PORT:
	case CFG_COUNT:
	case CFG_SIZE:
	case CFG_TIME:
		return cfg_value_number(p, k, n, path, obj);
	case CFG_NETLIST:
	case CFG_HOSTLIST:
		return cfg_netlist(p, n, path,
		    (struct net_list *)(void *)((char *)obj + k->off),
		    k->kind == CFG_HOSTLIST);
	case CFG_MAP:
		return cfg_map(p, n, path, k->sub, (char *)obj + k->off);
	case CFG_LIST:
	case CFG_FUNC:
		return k->fn(p, k, n, path, obj);
	case CFG_ENUM:
		return cfg_enum(p, k, n, path, obj);
	}
	return cfg_error(p, n, "internal error: bad kind for %s", path);
}

/* cfg_strlist - a list of strings checked by valid() */
static int
cfg_strlist(struct cfgp *p, yaml_node_t *n, const char *path,
    int (*valid)(const char *), const char *want, char ***list, size_t *count)
{
	char t[CFG_TEXTLEN];
	yaml_node_item_t *it;
	yaml_node_t *item;
	const char *v;

	if (cfg_expect(p, n, YAML_SEQUENCE_NODE, path) == -1)
		return -1;
	for (it = n->data.sequence.items.start;
	    it < n->data.sequence.items.top; it++) {
		item = cfg_node(p, *it);
		if ((v = cfg_scalar(p, item, path, 0)) == NULL)
			return -1;
		if (!valid(v))
			return cfg_error(p, item, "bad value '%s' in %s: expected %s",
			    cfg_clean(t, sizeof(t), v), path, want);
		*list = xreallocarray(*list, *count + 1, sizeof(**list));
		(*list)[(*count)++] = xstrdup(v);
	}
	return 0;
}

/* cfg_nameserver_valid - a numeric address with an optional port */
static int
cfg_nameserver_valid(const char *s)
{
	char host[INET6_ADDRSTRLEN];
	unsigned char a[16];
	unsigned int port;

	if (cfgval_hostport(s, host, sizeof(host), &port) == -1)
		return 0;
	return inet_pton(AF_INET, host, a) == 1 ||
	    inet_pton(AF_INET6, host, a) == 1;
}

/* cfg_nameservers - dns.nameservers */
static int
cfg_nameservers(struct cfgp *p, const struct cfg_key *k, yaml_node_t *n,
    const char *path, void *obj)
{
	struct cfg_dns *d = obj;

	return cfg_strlist(p, n, path, cfg_nameserver_valid, "an IP address "
	    "with an optional port (192.0.2.1:53, [2001:db8::1]:53)",
	    &d->nameservers, &d->nnameservers);
}

/* cfg_idna - the IDNA A-label form of a domain with U-labels; NULL if none */
static char *
cfg_idna(const char *domain)
{
	char *a = NULL, *copy;

	if (idn2_to_ascii_8z(domain, &a, IDN2_NONTRANSITIONAL |
	    IDN2_NFC_INPUT) != IDN2_OK)
		return NULL;
	copy = xstrdup(a);
	idn2_free(a);
	return copy;
}

/* cfg_ascii - has s only ASCII bytes? */
static int
cfg_ascii(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s >= 0x80)
			return 0;
	return 1;
}

/* cfg_idn_domain_valid - a domain name, its labels ASCII or U-labels */
static int
cfg_idn_domain_valid(const char *s)
{
	char *a;
	int ok;

	if (cfg_ascii(s))
		return cfg_domain_valid(s);
	if ((a = cfg_idna(s)) == NULL)
		return 0;
	ok = cfg_domain_valid(a);
	free(a);
	return ok;
}

/* cfg_domains - relay.local_domains, U-labels stored as A-labels */
static int
cfg_domains(struct cfgp *p, const struct cfg_key *k, yaml_node_t *n,
    const char *path, void *obj)
{
	struct cfg_relay *r = obj;
	char *a;
	size_t i;

	if (cfg_strlist(p, n, path, cfg_idn_domain_valid, "a domain name",
	    &r->local_domains, &r->nlocal_domains) == -1)
		return -1;
	for (i = 0; i < r->nlocal_domains; i++)
		if (!cfg_ascii(r->local_domains[i]) &&
		    (a = cfg_idna(r->local_domains[i])) != NULL) {
			free(r->local_domains[i]);
			r->local_domains[i] = a;
		}
	return 0;
}

/* cfg_addresses - relay.local_addresses */
static int
cfg_addresses(struct cfgp *p, const struct cfg_key *k, yaml_node_t *n,
    const char *path, void *obj)
{
	struct cfg_relay *r = obj;

	return cfg_strlist(p, n, path, cfg_address_valid, "an address local@domain",
	    &r->local_addresses, &r->nlocal_addresses);
}

/* cfg_web_name_valid - a login name or pattern: printable, no space or comma */
static int
cfg_web_name_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 255)
		return 0;
	for (; *s != '\0'; s++)
		if ((unsigned char)*s <= ' ' || *s == ',' || *s == 0x7f)
			return 0;
	return 1;
}

/* cfg_web_users - web.users: who may log in */
static int
cfg_web_users(struct cfgp *p, const struct cfg_key *k, yaml_node_t *n,
    const char *path, void *obj)
{
	struct cfg_web *w = obj;

	(void)k;
	return cfg_strlist(p, n, path, cfg_web_name_valid, "a login name or "
	    "pattern", &w->users, &w->nusers);
}

/* cfg_web_admins - web.admins: login names that see every directive */
static int
cfg_web_admins(struct cfgp *p, const struct cfg_key *k, yaml_node_t *n,
    const char *path, void *obj)
{
	struct cfg_web *w = obj;

	(void)k;
	return cfg_strlist(p, n, path, cfg_web_name_valid, "a login name",
	    &w->admins, &w->nadmins);
}

/* cfg_web_loopback - is a listening address a loopback one? */
static int
cfg_web_loopback(const char *a)
{
	return strncmp(a, "127.", 4) == 0 || strcmp(a, "::1") == 0 ||
	    strcmp(a, "localhost") == 0;
}

/*
 * cfg_web - the web: section; present means on (unless enabled: no).
 * Plain HTTP only on a loopback address (a TLS reverse proxy in front,
 * gatewayd.yaml(5)); HTTPS needs a certificate and its key.
 */
static int
cfg_web(struct cfgp *p, const struct cfg_key *k, yaml_node_t *n,
    const char *path, void *obj)
{
	struct cfg_web *w = (struct cfg_web *)(void *)((char *)obj + k->off);

	w->enabled = 1;
	if (cfg_map(p, n, path, k->sub, w) == -1)
		return -1;
	if (!w->enabled)
		return 0;
	if (w->tls && (w->tls_cert == NULL || w->tls_key == NULL))
		return cfg_error(p, n, "web: tls needs tls_cert and tls_key "
		    "(or tls: no behind a reverse proxy on loopback)");
	if (!w->tls && !cfg_web_loopback(w->address))
		return cfg_error(p, n, "web: tls: no is only allowed on a "
		    "loopback address (a TLS reverse proxy in front), not %s",
		    w->address);
	if (w->cookie_secure == -1)
		w->cookie_secure = w->tls;
	return 0;
}

/* cfg_items - walk each map of a list into an array of structs */
static int
cfg_items(struct cfgp *p, yaml_node_t *seq, const char *path,
    const struct cfg_key *keys, void *array, size_t size)
{
	char ipath[CFG_PATHLEN];
	size_t i, n = (size_t)(seq->data.sequence.items.top -
	    seq->data.sequence.items.start);

	for (i = 0; i < n; i++) {
		snprintf(ipath, sizeof(ipath), "%s[%zu]", path, i);
		if (cfg_map(p, cfg_node(p, seq->data.sequence.items.start[i]),
		    ipath, keys, (char *)array + i * size) == -1)
			return -1;
	}
	return 0;
}

/* cfg_unique - the "name" of every item of a list must be unique */
static int
cfg_unique(struct cfgp *p, yaml_node_t *seq, const void *array, size_t size,
    size_t off, const char *what)
{
	char t[CFG_TEXTLEN];
	const char *a, *b;
	yaml_node_t *first;
	size_t i, j, n = (size_t)(seq->data.sequence.items.top -
	    seq->data.sequence.items.start);

	for (i = 1; i < n; i++) {
		a = *(char *const *)(const void *)((const char *)array +
		    i * size + off);
		for (j = 0; j < i; j++) {
			b = *(char *const *)(const void *)((const char *)array +
			    j * size + off);
			if (strcmp(a, b) != 0)
				continue;
			first = cfg_map_get(p, cfg_node(p,
			    seq->data.sequence.items.start[j]), "name");
			return cfg_error(p, cfg_map_get(p, cfg_node(p,
			    seq->data.sequence.items.start[i]), "name"),
			    "duplicate %s name '%s' (first at line %zu)", what,
			    cfg_clean(t, sizeof(t), a),
			    first->start_mark.line + 1);
		}
	}
	return 0;
}

/* cfg_seq_len - the number of items of a list, with an error when empty */
static int
cfg_seq_len(struct cfgp *p, yaml_node_t *n, const char *path, size_t *len)
{
	if (cfg_expect(p, n, YAML_SEQUENCE_NODE, path) == -1)
		return -1;
	*len = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
	if (*len == 0)
		return cfg_error(p, n, "%s must list at least one entry", path);
	return 0;
}

/* cfg_listener_init - defaults of a listener */
static void
cfg_listener_init(struct cfg_listener *l)
{
	l->port = 25;
	l->backlog = 1024;
	l->relay_authenticated = 1;
	l->proxy_timeout = 10;
	l->smtputf8 = 1;
	l->dsn = 1;
	l->chunking = 1;
}

/* cfg_pos_of - where the value of key is in a map (tlscheck.c reports it) */
static void
cfg_pos_of(struct cfgp *p, yaml_node_t *map, const char *key,
    struct cfg_pos *pos)
{
	yaml_node_t *n = cfg_map_get(p, map, key);

	pos->line = n != NULL ? n->start_mark.line + 1 : 1;
	pos->column = n != NULL ? n->start_mark.column + 1 : 1;
}

/* cfg_listener_tlspol - where the TLS policy keys are (tlscheck.c checks them) */
static void
cfg_listener_tlspol(struct cfgp *p, yaml_node_t *item, struct cfg_tlspol *t)
{
	static const char *const keys[] = { "tls_min_version",
	    "tls_max_version", "tls_ciphers", "tls_ciphersuites",
	    "tls_dh_params" };
	size_t i;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		cfg_pos_of(p, item, keys[i], &t->pos[i]);
}

/* cfg_listener_tlspol_free - release the TLS policy strings */
static void
cfg_listener_tlspol_free(struct cfg_tlspol *t)
{
	free(t->min_version);
	free(t->max_version);
	free(t->ciphers);
	free(t->ciphersuites);
	free(t->dh_params);
}

/* cfg_listener_check - settings of a listener that only make sense together */
static int
cfg_listener_check(struct cfgp *p, yaml_node_t *item, struct cfg_listener *l,
    size_t i)
{
	cfg_pos_of(p, item, "tls_cert", &l->tls_cert_pos);
	cfg_pos_of(p, item, "tls_key", &l->tls_key_pos);
	cfg_listener_tlspol(p, item, &l->tlspol);
	if (l->tls != CFG_TLS_NONE && (l->tls_cert == NULL || l->tls_key == NULL))
		return cfg_error(p, item, "listeners[%zu]: tls needs tls_cert and tls_key", i);
	if (l->auth && l->tls == CFG_TLS_NONE && !l->auth_plaintext)
		return cfg_error(p, item, "listeners[%zu]: auth needs tls, or "
		    "auth_plaintext: yes", i);
	if (l->proxy_protocol && l->proxy_trusted.ncidr == 0)
		return cfg_error(p, item, "listeners[%zu]: proxy_protocol needs "
		    "proxy_trusted", i);
	if (l->implicit_tls_detect && l->tls != CFG_TLS_OPTIONAL &&
	    l->tls != CFG_TLS_REQUIRED)
		return cfg_error(p, item, "listeners[%zu]: implicit_tls_detect "
		    "needs tls: optional or required (with tls_cert and tls_key)", i);
	return 0;
}

/* cfg_enum - a CFG_ENUM key: the index of its value among k->sub */
static int
cfg_enum(struct cfgp *p, const struct cfg_key *k, yaml_node_t *n,
    const char *path, void *obj)
{
	char t[CFG_TEXTLEN], want[256];
	const char *v;
	size_t len = 0;
	int i;

	if ((v = cfg_scalar(p, n, path, 0)) == NULL)
		return -1;
	for (i = 0; k->sub[i].name != NULL; i++)
		if (strcmp(k->sub[i].name, v) == 0) {
			*(int *)(void *)((char *)obj + k->off) = i;
			return 0;
		}
	want[0] = '\0';
	for (i = 0; k->sub[i].name != NULL && len < sizeof(want); i++)
		len += (size_t)snprintf(want + len, sizeof(want) - len, "%s%s",
		    i == 0 ? "" : k->sub[i + 1].name == NULL ? " or " : ", ",
		    k->sub[i].name);
	return cfg_error(p, n, "bad value '%s' for %s: expected %s",
	    cfg_clean(t, sizeof(t), v), path, want);
}

/* cfg_rate - limits.*_rate: COUNT/DURATION ("60/1m"), or 0 for none */
static int
cfg_rate(struct cfgp *p, const struct cfg_key *k, yaml_node_t *n,
    const char *path, void *obj)
{
	struct cfg_rate *r = (struct cfg_rate *)(void *)((char *)obj + k->off);
	char t[CFG_TEXTLEN], num[32];
	unsigned long long c, w;
	const char *v, *slash;

	if ((v = cfg_scalar(p, n, path, 0)) == NULL)
		return -1;
	if (strcmp(v, "0") == 0) {
		r->count = 0;
		return 0;
	}
	slash = strchr(v, '/');
	if (slash == NULL || (size_t)(slash - v) >= sizeof(num))
		goto bad;
	memcpy(num, v, (size_t)(slash - v));
	num[slash - v] = '\0';
	if (cfgval_count(num, &c) == -1 || c < 1 || c > 1000000 ||
	    cfgval_duration(slash + 1, &w) == -1 || w < 1 ||
	    w > DAY)
		goto bad;
	r->count = (unsigned long)c;
	r->window = (time_t)w;
	return 0;
bad:
	return cfg_error(p, n, "bad rate '%s' for %s: expected COUNT/DURATION "
	    "(1 to 1000000 per 1s to 1d, e.g. 60/1m) or 0",
	    cfg_clean(t, sizeof(t), v), path);
}

/* cfg_min_free - limits.spool_min_free: a size (100M) or a percentage (5%) */
static int
cfg_min_free(struct cfgp *p, const struct cfg_key *k, yaml_node_t *n,
    const char *path, void *obj)
{
	struct cfg_limits *l = obj;
	char t[CFG_TEXTLEN], num[32];
	unsigned long long v;
	const char *s;
	size_t len;

	(void)k;
	if ((s = cfg_scalar(p, n, path, 0)) == NULL)
		return -1;
	len = strlen(s);
	if (len > 1 && len < sizeof(num) && s[len - 1] == '%') {
		memcpy(num, s, len - 1);
		num[len - 1] = '\0';
		if (cfgval_count(num, &v) == -1 || v > 99)
			goto bad;
		l->spool_min_free_pct = (unsigned int)v;
		l->spool_min_free = 0;
		return 0;
	}
	if (cfgval_size(s, &v) == -1)
		goto bad;
	l->spool_min_free = v;
	l->spool_min_free_pct = 0;
	return 0;
bad:
	return cfg_error(p, n, "bad value '%s' for %s: expected %s, or a "
	    "percentage from 0%% to 99%%", cfg_clean(t, sizeof(t), s), path,
	    cfgval_syntax(CFGVAL_SIZE));
}

/* cfg_listeners_free - release the listeners */
static void
cfg_listeners_free(struct cfg *cfg)
{
	size_t i;

	for (i = 0; i < cfg->nlisteners; i++) {
		free(cfg->listeners[i].name);
		free(cfg->listeners[i].address);
		free(cfg->listeners[i].tls_cert);
		free(cfg->listeners[i].tls_key);
		cfg_listener_tlspol_free(&cfg->listeners[i].tlspol);
		net_list_free(&cfg->listeners[i].proxy_trusted);
		net_list_free(&cfg->listeners[i].anonymous_allow);
	}
	free(cfg->listeners);
	cfg->listeners = NULL;
	cfg->nlisteners = 0;
}

/* cfg_listeners - the listeners list (replaces the default listener) */
static int
cfg_listeners(struct cfgp *p, const struct cfg_key *k, yaml_node_t *n,
    const char *path, void *obj)
{
	struct cfg *cfg = obj;
	size_t i, len;

	if (cfg_seq_len(p, n, path, &len) == -1)
		return -1;
	cfg_listeners_free(cfg);
	cfg->listeners = xcalloc(len, sizeof(*cfg->listeners));
	cfg->nlisteners = len;
	for (i = 0; i < len; i++)
		cfg_listener_init(&cfg->listeners[i]);
	if (cfg_items(p, n, path, k->sub, cfg->listeners,
	    sizeof(*cfg->listeners)) == -1)
		return -1;
	for (i = 0; i < len; i++)
		if (cfg_listener_check(p, cfg_node(p,
		    n->data.sequence.items.start[i]), &cfg->listeners[i], i) == -1)
			return -1;
	return cfg_unique(p, n, cfg->listeners, sizeof(*cfg->listeners),
	    offsetof(struct cfg_listener, name), "listener");
}

/* cfg_retry_check - min_backoff may not exceed max_backoff */
static int
cfg_retry_check(struct cfgp *p, yaml_node_t *item, size_t i,
    const struct cfg_retry *r)
{
	if (r->min_backoff <= r->max_backoff)
		return 0;
	return cfg_error(p, cfg_map_get(p, item, "retry"),
	    "min_backoff (%lld) is greater than max_backoff (%lld) in connectors[%zu].retry",
	    (long long)r->min_backoff, (long long)r->max_backoff, i);
}

/* cfg_connectors - the connector instances */
static int
cfg_connectors(struct cfgp *p, const struct cfg_key *k, yaml_node_t *n,
    const char *path, void *obj)
{
	struct cfg *cfg = obj;
	struct cfg_connector *c;
	size_t i, len;

	if (cfg_seq_len(p, n, path, &len) == -1)
		return -1;
	if (cfg->nconnectors > 0)
		return cfg_error(p, n, "internal error: connectors loaded twice");
	cfg->connectors = xcalloc(len, sizeof(*cfg->connectors));
	cfg->nconnectors = len;
	for (i = 0; i < len; i++) {
		c = &cfg->connectors[i];
		c->concurrency = 1;
		c->initial_concurrency = 5;
		c->max_idle = 100;
		c->retry.min_backoff = 300;
		c->retry.max_backoff = 4000;
		c->retry.lifetime = 5 * 86400;
	}
	if (cfg_items(p, n, path, k->sub, cfg->connectors,
	    sizeof(*cfg->connectors)) == -1)
		return -1;
	/* CFG_NAME never starts with '_': "_router" stays reserved. */
	for (i = 0; i < len; i++)
		if (cfg_retry_check(p, cfg_node(p, n->data.sequence.items.start[i]),
		    i, &cfg->connectors[i].retry) == -1)
			return -1;
	return cfg_unique(p, n, cfg->connectors, sizeof(*cfg->connectors),
	    offsetof(struct cfg_connector, name), "connector");
}

/* cfg_reject - a rule's reject action and its reply text */
static int
cfg_reject(struct cfgp *p, const struct cfg_key *k, yaml_node_t *n,
    const char *path, void *obj)
{
	struct cfg_rule *r = obj;
	const char *v;

	if ((v = cfg_scalar(p, n, path, 0)) == NULL)
		return -1;
	if (isdigit((unsigned char)*v) && (v[0] != '5' ||
	    !isdigit((unsigned char)v[1]) || !isdigit((unsigned char)v[2]) ||
	    (v[3] != '\0' && v[3] != ' ')))
		return cfg_error(p, n, "bad reply for %s: a reply code must be 5xx",
		    path);
	cfg_set_str(&r->reject_text, v);
	r->reject = 1;
	return 0;
}

/*
 * cfg_rule_check - a rule has exactly one action; "lookup" may come with
 * "connector" or "connectors" (the values found go there: validation)
 */
static int
cfg_rule_check(struct cfgp *p, yaml_node_t *item, size_t i)
{
	static const char *const actions[] = { "connector", "connectors",
	    "reject", "hold", "lookup", "directive", NULL };
	yaml_node_t *first = NULL, *n;
	const char *fname = NULL;
	size_t a;

	for (a = 0; actions[a] != NULL; a++) {
		if ((n = cfg_map_get(p, item, actions[a])) == NULL)
			continue;
		if (first != NULL && strcmp(actions[a], "lookup") == 0 &&
		    strncmp(fname, "connector", 9) == 0)
			continue;
		if (first != NULL)
			return cfg_error(p, n, "rules[%zu] has both '%s' and '%s'",
			    i, fname, actions[a]);
		first = n;
		fname = actions[a];
	}
	if (first == NULL)
		return cfg_error(p, item,
		    "missing required key 'connector' or 'reject' in rules[%zu]", i);
	if (strcmp(fname, "directive") == 0 && !p->cfg->rules[i].directive)
		return cfg_error(p, first, "rules[%zu]: 'directive' must be true "
		    "(leave it out otherwise)", i);
	return 0;
}

/* cfg_rule_name_valid - a connector name in a rule */
static int
cfg_rule_name_valid(const char *s)
{
	return cfg_token_valid(s, 1);
}

/* cfg_rule_connectors - a rule's "connectors" fan-out list */
static int
cfg_rule_connectors(struct cfgp *p, const struct cfg_key *k, yaml_node_t *n,
    const char *path, void *obj)
{
	struct cfg_rule *r = obj;

	if (cfg_strlist(p, n, path, cfg_rule_name_valid, "a connector name",
	    &r->connectors, &r->nconnectors) == -1)
		return -1;
	if (r->nconnectors == 0)
		return cfg_error(p, n, "%s must list at least one entry", path);
	return 0;
}

/* cfg_node_map - a free-form map (rule params, directive channels) */
static int
cfg_node_map(struct cfgp *p, const struct cfg_key *k, yaml_node_t *n,
    const char *path, void *obj)
{
	const struct gw_node **field = (const struct gw_node **)(void *)
	    ((char *)obj + k->off);
	struct cfg_node *cn;

	*field = NULL;
	if (cfg_is_null(n))
		return 0;
	if (cfg_expect(p, n, YAML_MAPPING_NODE, path) == -1)
		return -1;
	if ((cn = cfg_tree(p, n, k->name, path, 0)) == NULL)
		return -1;
	*field = &cn->node;
	return 0;
}

/* cfg_ldap_filter_valid - a filter template: "(...)", only %s %u %d %% */
static int
cfg_ldap_filter_valid(const char *f)
{
	if (f[0] != '(' || f[strlen(f) - 1] != ')')
		return 0;
	for (; *f != '\0'; f++)
		if (*f == '%' && (f[1] == 's' || f[1] == 'u' || f[1] == 'd' ||
		    f[1] == '%'))
			f++;
		else if (*f == '%')
			return 0;
	return 1;
}

/* cfg_ldap_uri_valid - space-separated ldap:// or ldaps:// URIs */
static int
cfg_ldap_uri_valid(const char *u)
{
	size_t len;
	int n = 0;

	while (*(u += strspn(u, " ")) != '\0') {
		len = strcspn(u, " ");
		if (!((len > 7 && strncasecmp(u, "ldap://", 7) == 0) ||
		    (len > 8 && strncasecmp(u, "ldaps://", 8) == 0)))
			return 0;
		u += len;
		n++;
	}
	return n > 0;
}

/* cfg_lookup_ldap - the keys of one lookup, by its type */
static int
cfg_lookup_ldap(struct cfgp *p, yaml_node_t *item, struct cfg_lookup *l,
    const char *path)
{
	static const char *const ldap_only[] = { "uri", "start_tls", "base",
	    "scope", "filter", "attribute", "bind_dn", "bind_password_file",
	    "timeout", "tls_ca_file", "tls_verify", NULL };
	struct cfg_ldap *d = &l->ldap;
	yaml_node_t *kn;
	size_t i;

	if (l->type == NULL)
		l->type = xstrdup("file");
	if (strcmp(l->type, "ldap") != 0) {
		if (strcmp(l->type, "file") != 0)
			return cfg_error(p, cfg_map_get(p, item, "type"), "bad "
			    "value for %s.type: expected file or ldap", path);
		for (i = 0; ldap_only[i] != NULL; i++)
			if ((kn = cfg_map_get(p, item, ldap_only[i])) != NULL)
				return cfg_error(p, kn, "%s.%s is only for "
				    "type ldap", path, ldap_only[i]);
		if (l->path == NULL)
			return cfg_error(p, item, "missing required key 'path' "
			    "in %s", path);
		return 0;
	}
	if ((kn = cfg_map_get(p, item, "path")) != NULL ||
	    (kn = cfg_map_get(p, item, "format")) != NULL)
		return cfg_error(p, kn, "%s: path and format are for file "
		    "lookups, not type ldap", path);
	if (d->uri == NULL || d->base == NULL)
		return cfg_error(p, item, "missing required key '%s' in %s",
		    d->uri == NULL ? "uri" : "base", path);
	if (!cfg_ldap_uri_valid(d->uri))
		return cfg_error(p, cfg_map_get(p, item, "uri"), "bad value "
		    "for %s.uri: expected ldap:// or ldaps:// URIs", path);
	if (d->start_tls && strcasestr(d->uri, "ldaps://") != NULL)
		return cfg_error(p, cfg_map_get(p, item, "start_tls"), "%s: "
		    "start_tls is for ldap:// URIs (ldaps:// is TLS already)",
		    path);
	if (d->scope != NULL && strcmp(d->scope, "base") != 0 &&
	    strcmp(d->scope, "one") != 0 && strcmp(d->scope, "sub") != 0)
		return cfg_error(p, cfg_map_get(p, item, "scope"), "bad value "
		    "for %s.scope: expected base, one or sub", path);
	if (d->filter != NULL && !cfg_ldap_filter_valid(d->filter))
		return cfg_error(p, cfg_map_get(p, item, "filter"), "bad value "
		    "for %s.filter: expected (...) with only %%s, %%u, %%d, %%%%",
		    path);
	if ((d->bind_dn == NULL) != (d->bind_password_file == NULL))
		return cfg_error(p, item, "%s: bind_dn and bind_password_file "
		    "go together", path);
	if (d->filter == NULL)
		d->filter = xstrdup("(mail=%s)");
	if (d->attribute == NULL)
		d->attribute = xstrdup("mail");
	return 0;
}

/* cfg_lookup_key - lookups[].key: digits, address or auth */
static int
cfg_lookup_key(struct cfgp *p, yaml_node_t *item, struct cfg_lookup *l,
    const char *path)
{
	if (l->key == NULL) {
		l->key = xstrdup(strcmp(l->type, "ldap") == 0 ? "address" :
		    "digits");
		return 0;
	}
	if (strcmp(l->key, "digits") != 0 && strcmp(l->key, "address") != 0 &&
	    strcmp(l->key, "auth") != 0)
		return cfg_error(p, cfg_map_get(p, item, "key"), "bad value for "
		    "%s.key: expected digits, address or auth", path);
	return 0;
}

/* cfg_lookups - the lookup tables */
static int
cfg_lookups(struct cfgp *p, const struct cfg_key *k, yaml_node_t *n,
    const char *path, void *obj)
{
	struct cfg *cfg = obj;
	char t[CFG_TEXTLEN], ipath[CFG_PATHLEN];
	yaml_node_t *item;
	size_t i, len;

	if (cfg_expect(p, n, YAML_SEQUENCE_NODE, path) == -1)
		return -1;
	len = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
	if (len == 0)
		return 0;
	cfg->lookups = xcalloc(len, sizeof(*cfg->lookups));
	cfg->nlookups = len;
	for (i = 0; i < len; i++) {
		cfg->lookups[i].digits = 4;
		cfg->lookups[i].ldap.timeout = 5;
		cfg->lookups[i].ldap.tls_verify = 1;
	}
	if (cfg_items(p, n, path, k->sub, cfg->lookups,
	    sizeof(*cfg->lookups)) == -1)
		return -1;
	for (i = 0; i < len; i++) {
		const char *f = cfg->lookups[i].format;

		item = cfg_node(p, n->data.sequence.items.start[i]);
		snprintf(ipath, sizeof(ipath), "%s[%zu]", path, i);
		if (cfg_lookup_ldap(p, item, &cfg->lookups[i], ipath) == -1 ||
		    cfg_lookup_key(p, item, &cfg->lookups[i], ipath) == -1)
			return -1;
		if (strcmp(cfg->lookups[i].type, "ldap") == 0)
			continue;
		if (f == NULL)
			cfg->lookups[i].format = xstrdup(strstr(
			    cfg->lookups[i].path, ".csv") ? "csv" : "yaml");
		else if (strcmp(f, "csv") != 0 && strcmp(f, "yaml") != 0)
			return cfg_error(p, cfg_map_get(p, cfg_node(p,
			    n->data.sequence.items.start[i]), "format"),
			    "bad value '%s' for %s[%zu].format: expected csv or yaml",
			    cfg_clean(t, sizeof(t), f), path, i);
	}
	return cfg_unique(p, n, cfg->lookups, sizeof(*cfg->lookups),
	    offsetof(struct cfg_lookup, name), "lookup");
}

/* cfg_rules - the ordered routing rules */
static int
cfg_rules(struct cfgp *p, const struct cfg_key *k, yaml_node_t *n,
    const char *path, void *obj)
{
	struct cfg *cfg = obj;
	size_t i, len;

	if (cfg_expect(p, n, YAML_SEQUENCE_NODE, path) == -1)
		return -1;
	if (cfg->nrules > 0)
		return cfg_error(p, n, "internal error: rules loaded twice");
	len = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
	if (len == 0)
		return 0;
	cfg->rules = xcalloc(len, sizeof(*cfg->rules));
	cfg->nrules = len;
	for (i = 0; i < len; i++) {
		cfg->rules[i].max_attachments = SIZE_MAX;
		cfg->rules[i].notify.max_per_hour = 20;
	}
	if (cfg_items(p, n, path, k->sub, cfg->rules, sizeof(*cfg->rules)) == -1)
		return -1;
	for (i = 0; i < len; i++)
		if (cfg_rule_check(p, cfg_node(p, n->data.sequence.items.start[i]),
		    i) == -1)
			return -1;
	return cfg_unique(p, n, cfg->rules, sizeof(*cfg->rules),
	    offsetof(struct cfg_rule, name), "rule");
}

/*
 * cfg_rules_connectors - every connector a rule names must exist, and the
 * rest of the routing checks (rules_check: regexes, unreachable rules)
 */
static int
cfg_rules_connectors(struct cfgp *p, yaml_node_t *root)
{
	yaml_node_t *seq = cfg_map_get(p, root, "rules"), *item, *kn;
	char msg[CFG_ERRLEN];
	const char *key;
	size_t i;

	for (i = 0; i < p->cfg->nrules; i++) {
		if (rules_check(p->cfg, i, &key, msg, sizeof(msg)) == 0)
			continue;
		item = cfg_node(p, seq->data.sequence.items.start[i]);
		kn = key != NULL ? cfg_map_get(p, item, key) : NULL;
		return cfg_error(p, kn != NULL ? kn : item, "%s", msg);
	}
	if (rules_check_global(p->cfg, &key, msg, sizeof(msg)) == 0)
		return 0;
	kn = key != NULL ? cfg_map_get(p, root, key) : NULL;
	return cfg_error(p, kn != NULL ? kn : root, "%s", msg);
}

/*
 * cfg_directives_store - store: postgresql needs host, dbname and user; the
 * host is an IP address or an absolute socket directory, since the router
 * resolves no name inside its chroot (doc/security.md)
 */
static int
cfg_directives_store(struct cfgp *p, yaml_node_t *root)
{
	const struct cfg_dirpg *pg = &p->cfg->directives.pg;
	yaml_node_t *dn = cfg_map_get(p, root, "directives"), *pn;
	unsigned char a[16];

	if (p->cfg->directives.store != CFG_DIR_STORE_POSTGRESQL)
		return 0;
	pn = dn != NULL ? cfg_map_get(p, dn, "postgresql") : NULL;
	if (pg->host == NULL || pg->dbname == NULL || pg->user == NULL)
		return cfg_error(p, pn != NULL ? pn : dn != NULL ? dn : root,
		    "directives.store postgresql needs directives.postgresql "
		    "host, dbname and user");
	if (pg->host[0] != '/' && inet_pton(AF_INET, pg->host, a) != 1 &&
	    inet_pton(AF_INET6, pg->host, a) != 1)
		return cfg_error(p, cfg_map_get(p, pn, "host"),
		    "directives.postgresql.host: an IP address or the absolute "
		    "path of the server's socket directory, not a name");
	return 0;
}

/*
 * cfg_log_file - log.history_file is an absolute path: the control child
 * opens it as root, where the current directory means nothing
 */
static int
cfg_log_file(struct cfgp *p, yaml_node_t *root)
{
	yaml_node_t *ln, *fn = NULL;

	if (p->cfg->log.history_file == NULL ||
	    p->cfg->log.history_file[0] == '/')
		return 0;
	if ((ln = cfg_map_get(p, root, "log")) != NULL)
		fn = cfg_map_get(p, ln, "history_file");
	return cfg_error(p, fn != NULL ? fn : root,
	    "log.history_file: an absolute path");
}

/* cfg_gw_node - a new settings node owned by the cfg */
static struct cfg_node *
cfg_gw_node(struct cfgp *p, yaml_node_t *n, const char *key)
{
	struct cfg_node *cn;

	if (p->priv->nnodes >= CFG_MAX_NODES) {
		cfg_error(p, n, "settings too large (more than %d nodes)",
		    CFG_MAX_NODES);
		return NULL;
	}
	cn = xcalloc(1, sizeof(*cn));
	cn->all = p->priv->nodes;
	p->priv->nodes = cn;
	p->priv->nnodes++;
	if (key != NULL)
		cn->key = xstrdup(key);
	cn->node.key = cn->key;
	cn->node.line = (unsigned int)n->start_mark.line + 1;
	cn->node.column = (unsigned int)n->start_mark.column + 1;
	cn->node.file = p->cfg->file;
	return cn;
}

static struct cfg_node *cfg_tree(struct cfgp *, yaml_node_t *, const char *,
    const char *, int);

/* cfg_tree_map - copy the entries of a settings map */
static int
cfg_tree_map(struct cfgp *p, yaml_node_t *n, const char *path,
    struct cfg_node *cn, int depth)
{
	char kpath[CFG_PATHLEN], t[CFG_TEXTLEN];
	const struct gw_node **tail = &cn->node.child;
	yaml_node_pair_t *pair, *q;
	struct cfg_node *child;
	yaml_node_t *kn, *qn;
	const char *name;

	for (pair = n->data.mapping.pairs.start;
	    pair < n->data.mapping.pairs.top; pair++) {
		kn = cfg_node(p, pair->key);
		if ((name = cfg_scalar(p, kn, path, 0)) == NULL)
			return -1;
		for (q = n->data.mapping.pairs.start; q < pair; q++) {
			qn = cfg_node(p, q->key);
			if (strcmp(name, (const char *)qn->data.scalar.value) == 0)
				return cfg_error(p, kn, "duplicate key '%s' in %s (first at line %zu)",
				    cfg_clean(t, sizeof(t), name), path,
				    qn->start_mark.line + 1);
		}
		cfg_path(kpath, sizeof(kpath), path, name);
		child = cfg_tree(p, cfg_node(p, pair->value), name, kpath, depth + 1);
		if (child == NULL)
			return -1;
		*tail = &child->node;
		tail = &child->node.next;
	}
	return 0;
}

/* cfg_tree - copy a settings subtree into gw_node form */
static struct cfg_node *
cfg_tree(struct cfgp *p, yaml_node_t *n, const char *key, const char *path,
    int depth)
{
	const struct gw_node **tail;
	struct cfg_node *cn, *child;
	yaml_node_item_t *it;
	const char *v;

	if (depth > CFG_MAX_DEPTH) {
		cfg_error(p, n, "%s is nested too deeply", path);
		return NULL;
	}
	if ((cn = cfg_gw_node(p, n, key)) == NULL)
		return NULL;
	switch (n->type) {
	case YAML_SCALAR_NODE:
		if ((v = cfg_scalar(p, n, path, 1)) == NULL)
			return NULL;
		cn->node.type = GW_NODE_SCALAR;
		cn->value = xstrdup(cfg_is_null(n) ? "" : v);
		cn->node.value = cn->value;
		return cn;
	case YAML_MAPPING_NODE:
		cn->node.type = GW_NODE_MAP;
		return cfg_tree_map(p, n, path, cn, depth) == -1 ? NULL : cn;
	case YAML_SEQUENCE_NODE:
		cn->node.type = GW_NODE_SEQ;
		tail = &cn->node.child;
		for (it = n->data.sequence.items.start;
		    it < n->data.sequence.items.top; it++) {
			child = cfg_tree(p, cfg_node(p, *it), NULL, path, depth + 1);
			if (child == NULL)
				return NULL;
			*tail = &child->node;
			tail = &child->node.next;
		}
		return cn;
	default:
		cfg_error(p, n, "empty node in %s", path);
		return NULL;
	}
}

/* cfg_settings - a connector's free-form settings map */
static int
cfg_settings(struct cfgp *p, const struct cfg_key *k, yaml_node_t *n,
    const char *path, void *obj)
{
	struct cfg_connector *c = obj;
	struct cfg_node *cn;

	if (cfg_is_null(n)) {
		c->settings = NULL;
		return 0;
	}
	if (cfg_expect(p, n, YAML_MAPPING_NODE, path) == -1)
		return -1;
	if ((cn = cfg_tree(p, n, "settings", path, 0)) == NULL)
		return -1;
	c->settings = &cn->node;
	return 0;
}

/* cfg_defaults - a cfg with every default applied */
static struct cfg *
cfg_defaults(const char *name)
{
	struct cfg *cfg = xcalloc(1, sizeof(*cfg));
	char host[256];

	cfg->file = xstrdup(name);
	cfg->user = xstrdup(GW_DEFAULT_USER);
	cfg->receiver_user = xstrdup(GW_DEFAULT_RECEIVER_USER);
	cfg->spool = xstrdup(GW_LOCALSTATEDIR "/spool/gatewayd");
	cfg->pid_file = xstrdup(GW_RUNSTATEDIR "/gatewayd.pid");
	cfg->control_socket = xstrdup(GW_RUNSTATEDIR "/gatewayd.sock");
	cfg->connector_dir = xstrdup(GW_CONNECTORDIR);
	cfg->sandbox = 1;
	cfg->listeners = xcalloc(1, sizeof(*cfg->listeners));
	cfg->nlisteners = 1;
	cfg->listeners[0].name = xstrdup("smtp");
	cfg->listeners[0].address = xstrdup("127.0.0.1");
	cfg_listener_init(&cfg->listeners[0]);
	if (gethostname(host, sizeof(host)) == -1 || host[0] == '\0')
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	cfg->smtp.hostname = xstrdup(host);
	cfg->smtp.max_message_size = 10 * 1024 * 1024;
	cfg->smtp.max_recipients = 100;
	cfg->smtp.max_line_length = 1000;
	cfg->smtp.max_commands = 100;
	cfg->smtp.max_errors = 20;		/* smtp.hard_error_limit */
	cfg->smtp.idle_timeout = 300;
	cfg->smtp.max_sessions = 1000;
	cfg->smtp.max_connections_per_client = 20;
	cfg->smtp.max_header_size = 1024 * 1024;
	cfg->smtp.max_session_time = 3600;
	cfg->smtp.auth_max_failures = 5;
	cfg->smtp.auth_failure_window = 300;
	cfg->smtp.rcpt_check = 1;
	cfg->smtp.rcpt_check_timeout = 10;
	cfg->sasl.sasldb_path = xstrdup("/etc/sasldb2");
	cfg->sasl.saslauthd_path = xstrdup("/run/saslauthd/mux");
	cfg->sasl.saslauthd_timeout = 10;
	cfg->priv = xcalloc(1, sizeof(struct cfg_priv));
	cfg->addressing.default_type = xstrdup("auto");
	cfg->directives.prefix = xstrdup("ed-");
	cfg->directives.body_scan = 64 * 1024;
	cfg->recognize.max_pages = 10;
	cfg->recognize.dpi = 150;
	cfg->recognize.memory = 512 * 1024 * 1024;
	cfg->recognize.cpu_time = 20;
	cfg->recognize.timeout = 60;
	cfg->recognize.max_pixels = 50 * 1000 * 1000;
	cfg->recognize.max_output = 256 * 1024 * 1024;
	cfg->recognize.processes = 64;
	cfg->recognize.pdftoppm = xstrdup(GW_PDFTOPPM);
	cfg->recognize.concurrency = 1;
	cfg->directives.paper = xstrdup("a4");
	cfg->directives.pg.port = 5432;
	cfg->directives.pg.sslmode = 2;		/* prefer, libpq's default */
	cfg->directives.pg.connect_timeout = 5;
	cfg->directives.pg.statement_timeout = 5;
	cfg->dns.timeout = 5;
	cfg->limits.exempt_relay = 1;
	cfg->limits.table_size = 10000;
	cfg->web.address = xstrdup("127.0.0.1");
	cfg->web.port = 8443;
	cfg->web.tls = 1;
	cfg->web.cookie_secure = -1;
	cfg->web.session_lifetime = 8 * 3600;
	cfg->web.idle_timeout = 1800;
	cfg->web.max_sessions = 1000;
	cfg->web.login_max_failures = 5;
	cfg->web.login_failure_window = 300;
	cfg->web.send = 1;
	return cfg;
}

/* cfg_offset_mark - line and column of a byte offset (reader errors) */
static void
cfg_offset_mark(const char *buf, size_t len, size_t off, yaml_mark_t *m)
{
	size_t i;

	m->line = 0;
	m->column = 0;
	for (i = 0; i < off && i < len; i++) {
		if (buf[i] == '\n') {
			m->line++;
			m->column = 0;
		} else if (((unsigned char)buf[i] & 0xc0) != 0x80)
			m->column++;
	}
}

/* cfg_syntax_error - report a libyaml error */
static void
cfg_syntax_error(struct cfgp *p, yaml_parser_t *parser, const char *buf,
    size_t len)
{
	yaml_node_t fake;
	char ctx[CFG_PATHLEN];

	memset(&fake, 0, sizeof(fake));
	if (parser->error == YAML_READER_ERROR)
		cfg_offset_mark(buf, len, parser->problem_offset,
		    &fake.start_mark);
	else
		fake.start_mark = parser->problem_mark;
	ctx[0] = '\0';
	if (parser->context != NULL)
		snprintf(ctx, sizeof(ctx), " (%s at line %zu, column %zu)",
		    parser->context, parser->context_mark.line + 1,
		    parser->context_mark.column + 1);
	cfg_error(p, &fake, "YAML syntax error: %s%s",
	    parser->problem != NULL ? parser->problem :
	    parser->error == YAML_MEMORY_ERROR ? "out of memory" : "unknown error",
	    ctx);
}

/* cfg_parse - load the single document of a buffer */
static int
cfg_parse(struct cfgp *p, const char *buf, size_t len, yaml_document_t *doc)
{
	yaml_parser_t parser;
	yaml_document_t extra;
	yaml_node_t *root;
	int rc = -1;

	if (!yaml_parser_initialize(&parser))
		return cfg_error(p, NULL, "cannot initialise the YAML parser");
	yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
	if (!yaml_parser_load(&parser, doc)) {
		cfg_syntax_error(p, &parser, buf, len);
		yaml_parser_delete(&parser);
		return -1;
	}
	if (!yaml_parser_load(&parser, &extra))
		cfg_syntax_error(p, &parser, buf, len);
	else {
		if ((root = yaml_document_get_root_node(&extra)) != NULL)
			cfg_error(p, root, "more than one YAML document");
		else
			rc = 0;
		yaml_document_delete(&extra);
	}
	if (rc == -1)
		yaml_document_delete(doc);
	yaml_parser_delete(&parser);
	return rc;
}

/* cfg_load_buffer - parse and validate configuration text */
struct cfg *
cfg_load_buffer(const char *name, const char *buf, size_t len, char *err,
    size_t errlen)
{
	struct cfgp p;
	yaml_document_t doc;
	yaml_node_t *root, empty;
	int rc;

	memset(&p, 0, sizeof(p));
	p.cfg = cfg_defaults(name);
	p.priv = p.cfg->priv;
	p.file = p.cfg->file;
	p.err = err;
	p.errlen = errlen;
	p.doc = &doc;
	if (errlen > 0)
		err[0] = '\0';
	if (cfg_parse(&p, buf, len, &doc) == -1) {
		cfg_free(p.cfg);
		return NULL;
	}
	if ((root = yaml_document_get_root_node(&doc)) == NULL) {
		/* An empty file: an empty map at 1:1. */
		memset(&empty, 0, sizeof(empty));
		empty.type = YAML_MAPPING_NODE;
		root = &empty;
	}
	rc = cfg_map(&p, root, "", cfg_top_keys, p.cfg);
	if (rc == 0)
		rc = cfg_rules_connectors(&p, root);
	if (rc == 0)
		rc = cfg_directives_store(&p, root);
	if (rc == 0)
		rc = cfg_log_file(&p, root);
	yaml_document_delete(&doc);
	if (rc == -1) {
		cfg_free(p.cfg);
		return NULL;
	}
	return p.cfg;
}

/* cfg_read - read a whole file into memory, bounded */
static char *
cfg_read(const char *path, size_t *lenp, char *err, size_t errlen)
{
	struct stat st;
	char *buf, t[CFG_PATHLEN];
	size_t len = 0;
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1 || fstat(fd, &st) == -1) {
		snprintf(err, errlen, "%s: %s", cfg_clean(t, sizeof(t), path),
		    strerror(errno));
		if (fd != -1)
			close(fd);
		return NULL;
	}
	buf = xmalloc(CFG_MAX_FILE + 1);
	while ((n = read(fd, buf + len, CFG_MAX_FILE + 1 - len)) != 0) {
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 || (len += (size_t)n) > CFG_MAX_FILE) {
			snprintf(err, errlen, "%s: %s", cfg_clean(t, sizeof(t), path),
			    n == -1 ? strerror(errno) : "file too large");
			close(fd);
			free(buf);
			return NULL;
		}
	}
	close(fd);
	buf[len] = '\0';
	*lenp = len;
	return buf;
}

/* cfg_load_file - load and validate a configuration file */
struct cfg *
cfg_load_file(const char *path, char *err, size_t errlen)
{
	struct cfg *cfg;
	size_t len;
	char *buf;

	if ((buf = cfg_read(path, &len, err, errlen)) == NULL)
		return NULL;
	cfg = cfg_load_buffer(path, buf, len, err, errlen);
	free(buf);
	return cfg;
}

/* cfg_strv_free - free an array of strings */
static void
cfg_strv_free(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* cfg_lookup_free_more - the type, key and LDAP fields of a lookup */
static void
cfg_lookup_free_more(struct cfg_lookup *l)
{
	free(l->type);
	free(l->key);
	free(l->ldap.uri);
	free(l->ldap.base);
	free(l->ldap.scope);
	free(l->ldap.filter);
	free(l->ldap.attribute);
	free(l->ldap.bind_dn);
	free(l->ldap.bind_password_file);
	free(l->ldap.tls_ca_file);
}

/* cfg_rule_free_more - the condition and action fields of a rule */
static void
cfg_rule_free_more(struct cfg_rule *r)
{
	free(r->type);
	free(r->auth);
	free(r->listener);
	free(r->subject);
	free(r->header);
	free(r->attachment_type);
	free(r->days);
	free(r->hours);
	cfg_strv_free(r->connectors, r->nconnectors);
	free(r->failover);
	free(r->hold);
	free(r->lookup);
	free(r->sheet.hold);
	free(r->notify.connector);
	free(r->notify.template_dir);
	rules_compiled_free(r);
}

/* cfg_free - release a configuration and everything it owns */
void
cfg_free(struct cfg *cfg)
{
	struct cfg_priv *priv;
	struct cfg_node *cn, *next;
	size_t i;

	if (cfg == NULL)
		return;
	free(cfg->user);
	free(cfg->receiver_user);
	free(cfg->spool);
	free(cfg->pid_file);
	free(cfg->control_socket);
	free(cfg->admin_group);
	free(cfg->postmaster);
	free(cfg->connector_dir);
	free(cfg->log.history_file);
	cfg_listeners_free(cfg);
	free(cfg->smtp.hostname);
	free(cfg->sasl.sasldb_path);
	free(cfg->sasl.saslauthd_path);
	free(cfg->sasl.mechanisms);
	cfg_strv_free(cfg->relay.local_domains, cfg->relay.nlocal_domains);
	cfg_strv_free(cfg->relay.local_addresses, cfg->relay.nlocal_addresses);
	net_list_free(&cfg->relay.allow);
	net_list_free(&cfg->limits.exempt);
	for (i = 0; i < cfg->nconnectors; i++) {
		free(cfg->connectors[i].name);
		free(cfg->connectors[i].type);
	}
	free(cfg->connectors);
	for (i = 0; i < cfg->nrules; i++) {
		free(cfg->rules[i].name);
		free(cfg->rules[i].recipient);
		free(cfg->rules[i].sender);
		net_list_free(&cfg->rules[i].client);
		free(cfg->rules[i].connector);
		free(cfg->rules[i].reject_text);
		cfg_rule_free_more(&cfg->rules[i]);
	}
	free(cfg->rules);
	for (i = 0; i < cfg->nlookups; i++) {
		free(cfg->lookups[i].name);
		free(cfg->lookups[i].format);
		free(cfg->lookups[i].path);
		free(cfg->lookups[i].header);
		free(cfg->lookups[i].fallback);
		cfg_lookup_free_more(&cfg->lookups[i]);
	}
	free(cfg->lookups);
	free(cfg->addressing.default_type);
	free(cfg->addressing.fax_connector);
	free(cfg->addressing.email_connector);
	free(cfg->directives.prefix);
	free(cfg->recognize.pdftoppm);
	free(cfg->directives.paper);
	free(cfg->directives.pg.host);
	free(cfg->directives.pg.dbname);
	free(cfg->directives.pg.user);
	free(cfg->directives.pg.password_file);
	cfg_strv_free(cfg->dns.nameservers, cfg->dns.nnameservers);
	free(cfg->web.address);
	free(cfg->web.tls_cert);
	free(cfg->web.tls_key);
	free(cfg->web.sender_domain);
	cfg_strv_free(cfg->web.users, cfg->web.nusers);
	cfg_strv_free(cfg->web.admins, cfg->web.nadmins);
	if ((priv = cfg->priv) != NULL) {
		for (cn = priv->nodes; cn != NULL; cn = next) {
			next = cn->all;
			free(cn->key);
			free(cn->value);
			free(cn);
		}
		free(priv);
	}
	free(cfg->file);
	free(cfg);
}

/* cfg_uses_recognizer - does a rule hand mail to the directive manager? */
int
cfg_uses_recognizer(const struct cfg *cfg)
{
	size_t i;

	for (i = 0; i < cfg->nrules; i++)
		if (cfg->rules[i].directive)
			return 1;
	return 0;
}

/* cfg_connector - the connector instance of that name, or NULL */
const struct cfg_connector *
cfg_connector(const struct cfg *cfg, const char *name)
{
	size_t i;

	for (i = 0; i < cfg->nconnectors; i++)
		if (cfg->connectors[i].name != NULL &&
		    strcmp(cfg->connectors[i].name, name) == 0)
			return &cfg->connectors[i];
	return NULL;
}

/* cfg_local_domain_idn - a domain with U-labels, compared as A-labels */
static int
cfg_local_domain_idn(const struct cfg *cfg, const char *domain, size_t len)
{
	char buf[256], *a;
	int local;

	if (len >= sizeof(buf))
		return 0;
	memcpy(buf, domain, len);
	buf[len] = '\0';
	if ((a = cfg_idna(buf)) == NULL)
		return 0;
	local = cfg_ascii(a) && cfg_local_domain(cfg, a);
	free(a);
	return local;
}

/* cfg_local_domain - is the domain (any case, one trailing dot, U- or A-labels) local? */
int
cfg_local_domain(const struct cfg *cfg, const char *domain)
{
	size_t i, len = strlen(domain);

	if (len > 0 && domain[len - 1] == '.')
		len--;
	if (!cfg_ascii(domain))
		return cfg_local_domain_idn(cfg, domain, len);
	for (i = 0; i < cfg->relay.nlocal_domains; i++)
		if (strlen(cfg->relay.local_domains[i]) == len &&
		    strncasecmp(cfg->relay.local_domains[i], domain, len) == 0)
			return 1;
	return 0;
}

/* cfg_local_address - is the address (any case) a configured route address? */
int
cfg_local_address(const struct cfg *cfg, const char *addr)
{
	size_t i;

	for (i = 0; i < cfg->relay.nlocal_addresses; i++)
		if (strcasecmp(cfg->relay.local_addresses[i], addr) == 0)
			return 1;
	return 0;
}

/* cfg_keys_walk - add the dotted paths of a key table and its sub-tables */
static void
cfg_keys_walk(const struct cfg_key *keys, const char *prefix,
    const char **list, size_t *n, char *pool, size_t *used)
{
	const struct cfg_key *k;
	char path[CFG_PATHLEN];
	size_t len;

	for (k = keys; k->name != NULL; k++) {
		cfg_path(path, sizeof(path), prefix, k->name);
		len = strlen(path) + 1;
		if (*n + 1 >= CFG_KEYS_MAX || *used + len > CFG_KEYS_POOL)
			panic("cfg_known_keys: table too small");
		memcpy(pool + *used, path, len);
		list[(*n)++] = pool + *used;
		*used += len;
		if (k->sub != NULL && k->kind != CFG_ENUM)
			cfg_keys_walk(k->sub, path, list, n, pool, used);
	}
}

/* cfg_known_keys - every accepted key as a dotted path, NULL-terminated */
const char *const *
cfg_known_keys(void)
{
	static const char *list[CFG_KEYS_MAX];
	static char pool[CFG_KEYS_POOL];
	static size_t n;
	size_t used = 0;

	if (n == 0) {
		cfg_keys_walk(cfg_top_keys, "", list, &n, pool, &used);
		list[n] = NULL;
	}
	return list;
}

/* ---- gatewayctl config dump ---- */

/* The lists of the configuration: where their arrays and counts are. */
static const struct cfg_dump_list {
	const char *name;
	size_t arr, count, size;
	const struct cfg_key *keys;
} cfg_dump_lists[] = {
	{ "listeners", offsetof(struct cfg, listeners),
	    offsetof(struct cfg, nlisteners), sizeof(struct cfg_listener),
	    cfg_listener_keys },
	{ "connectors", offsetof(struct cfg, connectors),
	    offsetof(struct cfg, nconnectors), sizeof(struct cfg_connector),
	    cfg_connector_keys },
	{ "rules", offsetof(struct cfg, rules), offsetof(struct cfg, nrules),
	    sizeof(struct cfg_rule), cfg_rule_keys },
	{ "lookups", offsetof(struct cfg, lookups),
	    offsetof(struct cfg, nlookups), sizeof(struct cfg_lookup),
	    cfg_lookup_keys },
};

/* cfg_dump_value - a scalar key's value as text; -1 for other kinds */
static int
cfg_dump_value(const struct cfg_key *k, const char *base, char *buf,
    size_t len)
{
	const char *p = base + k->off, *s;
	const struct net_list *nl;

	switch (k->kind) {
	case CFG_STR: case CFG_OPTSTR: case CFG_PATTERN: case CFG_HOST:
	case CFG_NAME: case CFG_TOKEN: case CFG_ADDR:
		if ((s = *(char *const *)(const void *)p) == NULL)
			return -1;
		cfg_clean(buf, len, s);
		return 0;
	case CFG_BOOL:
		snprintf(buf, len, "%s", *(const int *)(const void *)p ? "yes" :
		    "no");
		return 0;
	case CFG_INT:
		snprintf(buf, len, "%d", *(const int *)(const void *)p);
		return 0;
	case CFG_PORT:
		snprintf(buf, len, "%u", *(const uint16_t *)(const void *)p);
		return 0;
	case CFG_COUNT: case CFG_SIZE:
		snprintf(buf, len, "%zu", *(const size_t *)(const void *)p);
		return 0;
	case CFG_TIME:
		snprintf(buf, len, "%llds",
		    (long long)*(const time_t *)(const void *)p);
		return 0;
	case CFG_NETLIST: case CFG_HOSTLIST:
		nl = (const struct net_list *)(const void *)p;
		snprintf(buf, len, "(%zu entries)", nl->ncidr + nl->nnames);
		return nl->ncidr + nl->nnames > 0 ? 0 : -1;
	default:
		return -1;	/* lists and keys read by a function */
	}
}

/*
 * cfg_dump_keys - "path = value" for each scalar key of a table at base,
 * maps recursively; with def, only those whose value differs there
 */
static void
cfg_dump_keys(const struct cfg_key *keys, const char *prefix,
    const char *base, const char *def, FILE *fp)
{
	char path[CFG_PATHLEN], v[CFG_PATHLEN], dv[CFG_PATHLEN];
	const struct cfg_key *k;

	for (k = keys; k->name != NULL; k++) {
		cfg_path(path, sizeof(path), prefix, k->name);
		if (k->kind == CFG_MAP) {
			cfg_dump_keys(k->sub, path, base + k->off, def ?
			    def + k->off : NULL, fp);
			continue;
		}
		if (k->kind == CFG_LIST || k->kind == CFG_FUNC ||
		    cfg_dump_value(k, base, v, sizeof(v)) == -1)
			continue;
		if (def != NULL && cfg_dump_value(k, def, dv, sizeof(dv)) == 0 &&
		    strcmp(v, dv) == 0)
			continue;
		fprintf(fp, "%s = %s\n", path, v);
	}
}

/* cfg_dump - the effective configuration, "key = value" lines (cfg.h) */
void
cfg_dump(const struct cfg *cfg, const struct cfg *def, FILE *fp)
{
	const struct cfg_dump_list *l;
	char prefix[64];
	const char *arr;
	size_t i, n;

	cfg_dump_keys(cfg_top_keys, "", (const char *)cfg,
	    (const char *)def, fp);
	for (l = cfg_dump_lists; l < cfg_dump_lists + sizeof(cfg_dump_lists) /
	    sizeof(cfg_dump_lists[0]); l++) {
		arr = *(const char *const *)(const void *)((const char *)cfg +
		    l->arr);
		n = *(const size_t *)(const void *)((const char *)cfg +
		    l->count);
		for (i = 0; i < n; i++) {
			snprintf(prefix, sizeof(prefix), "%s[%zu]", l->name, i);
			cfg_dump_keys(l->keys, prefix, arr + i * l->size, NULL,
			    fp);
		}
	}
}
