/*
 * cfg.h - the gatewayd.yaml configuration, loaded and validated with libyaml
 *
 * cfg_load_*() parse the whole file into a struct cfg or fail with one
 * message naming file:line:column.  Every key is known; unknown keys,
 * bad values and missing required keys are errors.  See gatewayd.yaml(5).
 */
#ifndef GW_CFG_H
#define GW_CFG_H

#include <stdio.h>

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

#include <gatewayd/connector.h>

#include "net.h"

#define CFG_ERRLEN	512
#define CFG_NAME_MAX	64

enum cfg_tls { CFG_TLS_NONE = 0, CFG_TLS_OPTIONAL, CFG_TLS_REQUIRED, CFG_TLS_IMPLICIT };
enum cfg_bare_lf { CFG_BARE_LF_REJECT = 0, CFG_BARE_LF_NORMALIZE };
enum cfg_sasl_backend { CFG_SASL_SASLDB = 0, CFG_SASL_SASLAUTHD };
enum cfg_sheet_outcome { CFG_SHEET_BOUNCE = 0, CFG_SHEET_NEXT, CFG_SHEET_HOLD };
/* directives.default_access: who may use a directive without its own list */
enum cfg_dir_access { CFG_DIR_ACCESS_RELAY_EQUIV = 0, CFG_DIR_ACCESS_ANY,
	CFG_DIR_ACCESS_RELAY };
/* directives.store: where the directive store is (directive.h) */
enum cfg_dir_store { CFG_DIR_STORE_SQLITE = 0, CFG_DIR_STORE_POSTGRESQL };

struct cfg_pos {
	size_t line, column;		/* 1-based place of a value in the file */
};

/* TLS policy of a listener (tlspolicy.h; checked by tlscheck.c). */
struct cfg_tlspol {
	char *min_version;		/* TLSv1..TLSv1.3, NULL = TLSv1.2 */
	char *max_version;		/* NULL = highest */
	char *ciphers;			/* TLS 1.2 and older, NULL = built-in */
	char *ciphersuites;		/* TLS 1.3, NULL = OpenSSL's */
	char *dh_params;		/* FILE, auto or none; NULL = auto */
	struct cfg_pos pos[5];		/* where each is set, in that order */
};

struct cfg_listener {
	char *name;			/* "smtp" by default */
	char *address;			/* numeric IPv4/IPv6 address */
	uint16_t port;			/* default 25 */
	int backlog;			/* listen(2) backlog, default 1024 */
	int tls;			/* enum cfg_tls, default none */
	char *tls_cert;			/* PEM chain; required unless tls is none */
	char *tls_key;			/* PEM private key */
	int auth;			/* offer SMTP AUTH (sasl.*), default no */
	int auth_plaintext;		/* AUTH also without TLS, default no */
	int relay_authenticated;	/* authenticated clients may relay, default yes */
	int proxy_protocol;		/* expect a HAProxy PROXY v1/v2 header */
	struct net_list proxy_trusted;	/* peers allowed to send it */
	time_t proxy_timeout;		/* header deadline, default 10 s */
	int smtputf8;			/* extensions, each default yes */
	int dsn;
	int chunking;
	struct cfg_pos tls_cert_pos;	/* where tls_cert and tls_key are set */
	struct cfg_pos tls_key_pos;
	/* access at the door (anonymous clients, devices) */
	int require_auth;		/* AUTH before MAIL (530), default no */
	struct net_list anonymous_allow; /* exceptions: CIDRs, FCrDNS host names */
	int implicit_tls_detect;	/* a ClientHello first: TLS on this port */
	struct cfg_tlspol tlspol;	/* tls_min_version ... tls_dh_params */
};

struct cfg_retry {
	time_t min_backoff;		/* default 300 */
	time_t max_backoff;		/* default 4000 */
	time_t lifetime;		/* default 5 days */
	time_t delay_warning;		/* DSN "delayed" after this long; 0 = never */
};

struct cfg_connector {
	char *name;			/* instance name; [a-z0-9][a-z0-9_-]* */
	char *type;			/* shared object: <connector_dir>/<type>.so */
	int concurrency;		/* parallel delivery children, default 1 */
	int initial_concurrency;	/* the slow start's first window, 5 */
	time_t max_idle;		/* an extra idle child ends after it */
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
	/* more conditions (rules.c checks and compiles them, see rules.h) */
	char *type;			/* destination type: email, fax, directive, did */
	char *auth;			/* pattern on the authenticated user ("-" = none) */
	char *listener;			/* listener name */
	char *subject;			/* POSIX extended regex on the Subject: */
	char *header;			/* "Name: regex" on a header's value */
	size_t min_size, max_size;	/* message bytes; max 0 = no limit */
	char *attachment_type;		/* pattern on an attachment's content type */
	size_t min_attachments;		/* default 0 */
	size_t max_attachments;		/* default SIZE_MAX (no limit) */
	char *days;			/* "mon-fri", "sat,sun" */
	char *hours;			/* "08:00-18:00" (local time) */
	/* more actions */
	char **connectors;		/* deliver: fan-out to every one of these */
	size_t nconnectors;
	const struct gw_node *params;	/* deliver: parameters for the connector */
	char *failover;			/* connector to use when delivery fails permanently */
	char *hold;			/* hold: park for this connector */
	char *lookup;			/* lookup: name of a lookups[] table */
	int directive;			/* directive: hand to the directive manager */
	struct cfg_sheet {		/* directive: routing sheets in scans */
		int missing;		/* enum cfg_sheet_outcome: no sheet found */
		int unknown;		/* a sheet names an unknown/expired directive */
		int unreadable;		/* the scan could not be read (limits, malformed) */
		int keep_sheet;		/* deliver the sheet page too, default no */
		char *hold;		/* connector a held message is parked for */
	} sheet;
	struct cfg_notify {		/* notices to the sender (notice.h) */
		int success;		/* when every recipient is delivered */
		int failure;		/* when a recipient failed */
		int bounce;		/* send the DSN bounce too, default no */
		char *connector;	/* sends the notices (required if on) */
		char *template_dir;	/* success.txt, failure.txt; NULL: built in */
		size_t max_per_hour;	/* per sender, default 20 */
	} notify;
	void *compiled;			/* rules.c's compiled form (owned by cfg) */
};

/* An LDAP lookup (type ldap, lookup_ldap.c): the router's own queries. */
struct cfg_ldap {
	char *uri;			/* "ldap://h/ ldaps://h2/": tried in order */
	int start_tls;			/* StartTLS on ldap:// (required), default no */
	char *base;			/* search base DN (required) */
	char *scope;			/* base, one or sub (default) */
	char *filter;			/* template, default "(mail=%s)" */
	char *attribute;		/* the result, default "mail" */
	char *bind_dn;			/* simple bind; NULL = anonymous */
	char *bind_password_file;	/* read before the drop, never logged */
	time_t timeout;			/* connect, bind and search, default 5 s */
	char *tls_ca_file;		/* CA for ldaps and StartTLS */
	int tls_verify;			/* check the server certificate, default yes */
};

/* A lookup table (lookup.h): DID/DTMF extensions, users, to addresses. */
struct cfg_lookup {
	char *name;
	char *format;			/* "csv" or "yaml" */
	char *path;			/* read before the router drops privileges */
	int digits;			/* last N digits of the key, default 4 */
	char *header;			/* take the digits from this header, or NULL */
	char *fallback;			/* address when no entry matches, or NULL */
	char *type;			/* "file" (default) or "ldap" */
	char *key;			/* digits, address or auth (see rules.c) */
	struct cfg_ldap ldap;		/* type ldap only */
};

/* One-off address formats (oneoff.h) and default routes by type. */
struct cfg_addressing {
	char *default_type;		/* auto (default), email, fax */
	char *fax_connector;		/* fax destinations no rule claims, or NULL */
	char *email_connector;		/* e-mail destinations no rule claims, or NULL */
};

/* directives.postgresql: a store shared by several gateways (directive_pg.c) */
struct cfg_dirpg {
	char *host;			/* IP address or Unix socket directory */
	int port;			/* default 5432 */
	char *dbname;			/* required */
	char *user;			/* required */
	char *password_file;		/* read before the drop, never logged; NULL: none */
	int sslmode;			/* enum index of libpq's sslmode, default prefer */
	time_t connect_timeout;		/* default 5 s */
	time_t statement_timeout;	/* default 5 s */
};

/* The embedded directive manager (directive.h). */
struct cfg_directives {
	char *prefix;			/* address prefix, default "ed-" */
	const struct gw_node *channels;	/* channel -> connector map, or NULL */
	size_t body_scan;		/* text bytes searched for an ID, default 64K */
	char *paper;			/* routing sheets: "a4" (default) or "letter" */
	int default_access;		/* enum cfg_dir_access, default relay-equivalent */
	int store;			/* enum cfg_dir_store, default sqlite */
	struct cfg_dirpg pg;		/* store: postgresql */
};

/* The recognizer child (routing sheets in scanned attachments). */
struct cfg_recognize {
	unsigned int max_pages;		/* pages searched per attachment, default 10 */
	unsigned int dpi;		/* PDF rasterising, default 150 */
	size_t memory;			/* job child RLIMIT_AS, default 512M */
	time_t cpu_time;		/* job child RLIMIT_CPU, default 20 s */
	time_t timeout;			/* wall clock, then SIGKILL, default 60 s */
	size_t max_pixels;		/* per decoded page, default 50M */
	size_t max_output;		/* job child RLIMIT_FSIZE, default 256M */
	unsigned int processes;		/* tasks a job adds (RLIMIT_NPROC), 64 */
	char *pdftoppm;			/* default /usr/bin/pdftoppm */
	int concurrency;		/* parallel job children, default 1 */
};

struct cfg_smtp {
	char *hostname;			/* greeting and Received: name; default gethostname() */
	size_t max_message_size;	/* SIZE, default 10 MiB */
	size_t max_recipients;		/* per message, default 100 */
	size_t max_line_length;		/* command and text lines, default 1000 (incl. CRLF) */
	size_t max_commands;		/* non-mail commands per session before MAIL, default 100 */
	size_t max_errors;		/* hard_error_limit: errors then 421, default 20 */
	time_t idle_timeout;		/* seconds, default 300 */
	size_t max_sessions;		/* concurrent sessions, default 1000 */
	size_t max_connections_per_client; /* concurrent sessions of one address, default 20 */
	size_t max_header_size;		/* message header bytes, default 1 MiB */
	time_t max_session_time;	/* whole session, default 1 h */
	time_t greeting_delay;		/* wait before 220; input meanwhile is refused, default 0 */
	int bare_lf;			/* enum cfg_bare_lf, default reject */
	size_t auth_max_failures;	/* failed AUTH per client address in the window, default 5 */
	time_t auth_failure_window;	/* default 300 s */
	int strict_rfc5321;		/* refuse MAIL/RCPT paths without <>, default no */
	int rcpt_check;			/* ask the router at RCPT, default yes */
	time_t rcpt_check_timeout;	/* its answer wait (then 451), default 10 s */
};

/* The receiver's resolver (FCrDNS of clients, receiver_dns.h). */
struct cfg_dns {
	char **nameservers;		/* "addr" or "addr:port"; none = /etc/resolv.conf */
	size_t nnameservers;
	time_t timeout;			/* whole FCrDNS lookup, default 5 s */
};

struct cfg_sasl {
	int backend;			/* enum cfg_sasl_backend, default sasldb */
	char *sasldb_path;		/* default /etc/sasldb2 */
	char *saslauthd_path;		/* saslauthd socket, default /run/saslauthd/mux */
	time_t saslauthd_timeout;	/* answer wait, default 10 s */
	char *mechanisms;		/* space-separated list, NULL = every installed one */
};

struct cfg_relay {
	char **local_domains;		/* accepted from anyone */
	size_t nlocal_domains;
	char **local_addresses;		/* route addresses accepted from anyone */
	size_t nlocal_addresses;
	struct net_list allow;		/* clients that may relay anywhere (names: FCrDNS) */
};

/* Per client address limits and the spool's free-space floor (receiver_limits.c). */
struct cfg_rate {
	unsigned long count;		/* events per window; 0 = no limit */
	time_t window;			/* seconds */
};

/* log: what the daemon reads of its own log (gatewayctl queue log) */
struct cfg_log {
	char *history_file;		/* absolute path; NULL: none (the default) */
};

struct cfg_limits {
	struct cfg_rate conn_rate;	/* connections, answered 421 4.7.0 */
	struct cfg_rate msg_rate;	/* MAIL commands accepted, 450 4.7.1 */
	struct cfg_rate rcpt_rate;	/* RCPT commands accepted, 450 4.7.1 */
	struct net_list exempt;		/* clients never limited */
	int exempt_relay;		/* relay.allow clients neither, default yes */
	size_t table_size;		/* addresses tracked, default 10000 */
	unsigned long long spool_min_free; /* bytes, 0 = no floor */
	unsigned int spool_min_free_pct;   /* percent of the filesystem, 0 = none */
};

/* gatewayd-web, the self-service pages: off unless a web: section is given. */
struct cfg_web {
	int enabled;			/* the section is there (and enabled: yes) */
	char *address;			/* listening address, default 127.0.0.1 */
	int port;			/* default 8443 */
	int tls;			/* HTTPS, default yes; no: loopback only */
	char *tls_cert, *tls_key;	/* read as root before the drop */
	int cookie_secure;		/* Secure cookies, default: tls (-1 unset) */
	time_t session_lifetime;	/* from login, default 8 h */
	time_t idle_timeout;		/* without a request, default 30 min */
	size_t max_sessions;		/* sessions kept, default 1000 */
	char **users;			/* who may log in (fnmatch); none: anyone SASL accepts */
	size_t nusers;
	char **admins;			/* login names that see everything (besides admin_group) */
	size_t nadmins;
	size_t login_max_failures;	/* per client address and per user, default 5 */
	time_t login_failure_window;	/* default 300 s */
	int send;			/* the "Send documents" pages, default yes */
	size_t max_upload;		/* files of one submission; 0: 3/4 of smtp.max_message_size */
	char *sender_domain;		/* From: user@sender_domain (user without @), or NULL */
};

struct cfg {
	char *file;			/* path it was loaded from */
	char *user;			/* unprivileged user for the children */
	char *receiver_user;		/* the receiver's own user (network side) */
	char *spool;			/* spool directory */
	char *pid_file;
	char *control_socket;
	char *admin_group;		/* may use gatewayctl besides root; NULL = root only */
	char *connector_dir;
	int log_verbose;
	int sandbox;			/* seccomp filters for the children (Linux) */
	char *postmaster;		/* gets failures of null-sender mail; NULL = drop */

	struct cfg_listener *listeners;
	size_t nlisteners;
	struct cfg_smtp smtp;
	struct cfg_relay relay;
	struct cfg_sasl sasl;
	struct cfg_connector *connectors;
	size_t nconnectors;
	struct cfg_rule *rules;
	size_t nrules;
	struct cfg_lookup *lookups;
	size_t nlookups;
	struct cfg_addressing addressing;
	struct cfg_directives directives;
	struct cfg_recognize recognize;
	struct cfg_dns dns;
	struct cfg_limits limits;
	struct cfg_web web;
	struct cfg_log log;

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
/*
 * The effective configuration as "key = value" lines (dotted paths, list
 * entries as name[i].key), scalars only: keys read by a function (TLS
 * modes, rates, spool_min_free...) and connector settings are left out.
 * With def (a configuration of defaults), only the keys whose value
 * differs from def's (gatewayctl config dump --changed).
 */
void cfg_dump(const struct cfg *cfg, const struct cfg *def, FILE *fp);
/* Does a rule hand mail to the directive manager (the recognizer is needed)? */
int cfg_uses_recognizer(const struct cfg *);

#endif
