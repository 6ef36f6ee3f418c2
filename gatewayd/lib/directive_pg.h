/*
 * directive_pg.h - the directive store on PostgreSQL (libpq), behind
 * directive.h (directive.c switches to it when directives.store is
 * postgresql)
 *
 * Several gateways share one database, so a directive created on one
 * routes on all.  The connection parameters come from
 * directives.postgresql and are handed to PQconnectdbParams() as
 * keyword/value pairs (never spliced into a conninfo string); the password
 * is read from password_file when the store is opened, which is before
 * the privilege drop.  The connection is made at the first use (or at
 * open with connect_now) and again at the next use after it was lost;
 * connect_timeout and statement_timeout bound each wait.  The schema is
 * created on the first connection of a process, under a transaction-level
 * advisory lock, so two nodes starting at once do not race.  Every
 * statement is prepared and every value bound.  Functions return what
 * their directive.h counterparts return.
 */
#ifndef GW_DIRECTIVE_PG_H
#define GW_DIRECTIVE_PG_H

#include <stdint.h>

#include "cfg.h"
#include "directive.h"

#define DIRECTIVE_PG_NPARAMS	16

/* The keyword/value arrays of PQconnectdbParams (NULL-terminated). */
struct directive_pg_params {
	const char *kw[DIRECTIVE_PG_NPARAMS + 1];
	const char *val[DIRECTIVE_PG_NPARAMS + 1];
	char port[8], connect_timeout[16], options[96], user_timeout[24];
};

struct directive_pg;

/* Fill p from c (password may be NULL); pointers into c, password and p. */
int directive_pg_params(const struct cfg_dirpg *c, const char *password,
    struct directive_pg_params *p, char *err, size_t errlen);
/* The value of keyword kw in p, or NULL. */
const char *directive_pg_param(const struct directive_pg_params *p,
    const char *kw);

struct directive_pg *directive_pg_open(const struct cfg_dirpg *, int connect_now,
    char *err, size_t errlen);
void directive_pg_close(struct directive_pg *);
int directive_pg_create(struct directive_pg *, struct directive *d,
    char *err, size_t errlen);
int directive_pg_get(struct directive_pg *, int by_keyword, const char *key,
    struct directive *d, char *err, size_t errlen);
int directive_pg_list(struct directive_pg *, struct directive **v, size_t *n,
    char *err, size_t errlen);
int directive_pg_update(struct directive_pg *, const struct directive *d,
    char *err, size_t errlen);
int directive_pg_delete(struct directive_pg *, const char *id, char *err,
    size_t errlen);
int directive_pg_touch(struct directive_pg *, const char *id, int64_t now);

#endif
