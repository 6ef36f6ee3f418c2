/*
 * directive.h - the embedded directive store (SQLite)
 *
 * A directive is a stored distribution: an ID, a title, an owner, an
 * optional keyword (a keyword address routed to the manager), created and
 * last-used times, an optional expiry, and recipients, each a channel
 * (email, fax, folder, or a connector name), an address and parameters.
 *
 * The store is one SQLite database in WAL mode with a busy timeout, so
 * that gatewayctl and the router use it at the same time.  It lives in
 * the spool, <spool>/directive/directives.db (DIRECTIVE_STORE_DIR and
 * DIRECTIVE_STORE_FILE), owned by the gateway user: the router is
 * chrooted into the spool and still reaches it (and the -wal/-shm files
 * SQLite creates beside it).  With directives.store postgresql the same
 * functions work on a PostgreSQL database that several gateways share
 * (directive_pg.h).  Functions return 0, 1 for "not found"
 * where that is possible, or -1 with a reason in err.
 */
#ifndef GW_DIRECTIVE_H
#define GW_DIRECTIVE_H

#include <stddef.h>
#include <stdint.h>

#define DIRECTIVE_STORE_DIR	"directive"
#define DIRECTIVE_STORE_FILE	"directives.db"
#define DIRECTIVE_ID_MAX	33	/* 4..32 characters [A-Za-z0-9] */
#define DIRECTIVE_ID_LEN	8	/* generated IDs */
#define DIRECTIVE_ERRLEN	256
#define DIRECTIVE_RCPT_MAX	1000

struct directive_param {
	char *name;
	char *value;
};

struct directive_rcpt {
	char *channel;
	char *address;			/* may be "" */
	struct directive_param *params;
	size_t nparams;
};

struct directive {
	char id[DIRECTIVE_ID_MAX];
	char *title;
	char *owner;
	char *keyword;			/* NULL if none */
	int64_t created, last_used;	/* epoch seconds, 0 = never */
	int64_t expires;		/* 0 = never */
	struct directive_rcpt *rcpt;
	size_t nrcpt;
	/* who may use it: comma-separated lists, NULL = directives.default_access */
	char *allow_sender;		/* addresses, @domains or domains (fnmatch) */
	char *allow_user;		/* authenticated users (fnmatch) */
	char *allow_net;		/* client networks (CIDR) */
};

struct directive_store;

/* The store path under a spool directory into buf; 0 or -1 (too long). */
int directive_store_path(const char *spool, char *buf, size_t len);
/* Open (and with create, create) the store at path. */
struct directive_store *directive_store_open(const char *path, int create,
    char *err, size_t errlen);
/*
 * Open the PostgreSQL store of directives.postgresql: the password file is
 * read now (call it before the privilege drop), the connection is made
 * now with connect_now, else at the first use.
 */
struct cfg_dirpg;
struct directive_store *directive_store_open_pg(const struct cfg_dirpg *,
    int connect_now, char *err, size_t errlen);
void directive_store_close(struct directive_store *);

/* Store d; an empty d->id gets a new random ID (written back). */
int directive_create(struct directive_store *, struct directive *d,
    char *err, size_t errlen);
/* Load by ID (case-insensitive): 0, 1 not found, -1 error. */
int directive_get(struct directive_store *, const char *id, struct directive *d,
    char *err, size_t errlen);
/* Load by keyword: 0, 1 not found, -1 error. */
int directive_get_keyword(struct directive_store *, const char *keyword,
    struct directive *d, char *err, size_t errlen);
/* Every directive, ordered by ID (free each with directive_clear, then the array). */
int directive_list(struct directive_store *, struct directive **v, size_t *n,
    char *err, size_t errlen);
/* Replace every field of the directive d->id: 0, 1 not found, -1 error. */
int directive_update(struct directive_store *, const struct directive *d,
    char *err, size_t errlen);
/* 0, 1 not found, -1 error. */
int directive_delete(struct directive_store *, const char *id, char *err,
    size_t errlen);
/* Set last_used. */
int directive_touch(struct directive_store *, const char *id, int64_t now);

/* Helpers on the in-memory form. */
void directive_clear(struct directive *);
struct directive_rcpt *directive_add_rcpt(struct directive *, const char *channel,
    const char *address);
void directive_rcpt_add_param(struct directive_rcpt *, const char *name,
    const char *value);
int directive_id_valid(const char *);
/* A new random ID (DIRECTIVE_ID_LEN characters) into out. */
void directive_id_new(char out[DIRECTIVE_ID_MAX]);
/* Is it expired at now? */
int directive_expired(const struct directive *, int64_t now);

#endif
