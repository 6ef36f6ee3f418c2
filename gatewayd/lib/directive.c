/*
 * directive.c - the directive store on SQLite (directive.h)
 *
 * Three tables: directive (one row per directive), recipient (ordered by
 * seq) and rparam (the parameters of a recipient).  Every change is one
 * transaction (BEGIN IMMEDIATE), so a reader never sees half a directive.
 * A store opened with directive_store_open_pg() hands every call to the
 * PostgreSQL backend (directive_pg.c) instead: DIRECTIVE_PG() below.
 */
#include "config.h"

#include <sys/random.h>

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "directive.h"
#include "directive_pg.h"
#include "xmalloc.h"

#define DIRECTIVE_BUSY_MS	5000
#define DIRECTIVE_ID_CHARS	"23456789ABCDEFGHJKLMNPQRSTUVWXYZ"

struct directive_store {
	sqlite3 *db;			/* SQLite, or */
	struct directive_pg *pg;	/* PostgreSQL */
};

/* DIRECTIVE_PG - a PostgreSQL store: the call goes to directive_pg.c */
#ifdef HAVE_LIBPQ
#define DIRECTIVE_PG(st, call) do {					\
	if ((st)->pg != NULL)						\
		return (call);						\
} while (0)
#else
#define DIRECTIVE_PG(st, call) do { } while (0)
#endif

static const char directive_schema[] =
    "CREATE TABLE IF NOT EXISTS directive ("
    " id TEXT PRIMARY KEY COLLATE NOCASE, title TEXT NOT NULL,"
    " owner TEXT NOT NULL, keyword TEXT UNIQUE COLLATE NOCASE,"
    " created INTEGER NOT NULL, last_used INTEGER NOT NULL DEFAULT 0,"
    " expires INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE IF NOT EXISTS recipient ("
    " directive TEXT NOT NULL COLLATE NOCASE, seq INTEGER NOT NULL,"
    " channel TEXT NOT NULL, address TEXT NOT NULL,"
    " PRIMARY KEY (directive, seq));"
    "CREATE TABLE IF NOT EXISTS rparam ("
    " directive TEXT NOT NULL COLLATE NOCASE, seq INTEGER NOT NULL,"
    " pseq INTEGER NOT NULL, name TEXT NOT NULL, value TEXT NOT NULL,"
    " PRIMARY KEY (directive, seq, pseq));";

/*
 * Schema migrations, one per version after 1, run in one IMMEDIATE
 * transaction by whichever program opens the store first; a store of an
 * older version keeps its rows.  2: who may use a directive.
 */
#define DIRECTIVE_VERSION	2
static const char *const directive_migrations[DIRECTIVE_VERSION + 1] = {
	NULL,
	"",			/* 0 -> 1: the tables above */
	"ALTER TABLE directive ADD COLUMN allow_sender TEXT;"
	"ALTER TABLE directive ADD COLUMN allow_user TEXT;"
	"ALTER TABLE directive ADD COLUMN allow_net TEXT;",
};

/* directive_err - the database's message into err; returns -1 */
static int
directive_err(struct directive_store *st, const char *what, char *err,
    size_t errlen)
{
	snprintf(err, errlen, "directive store: %s: %s", what,
	    st ? sqlite3_errmsg(st->db) : "no store");
	return -1;
}

/* directive_store_path - <spool>/directive/directives.db */
int
directive_store_path(const char *spool, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%s/%s/%s", strcmp(spool, "/") == 0 ? "" :
	    spool, DIRECTIVE_STORE_DIR, DIRECTIVE_STORE_FILE);

	return n < 0 || (size_t)n >= len ? -1 : 0;
}

/* directive_version - PRAGMA user_version, or -1 */
static int
directive_version(struct directive_store *st)
{
	sqlite3_stmt *s;
	int v = -1;

	if (sqlite3_prepare_v2(st->db, "PRAGMA user_version", -1, &s,
	    NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	return v;
}

/* directive_migrate - bring the schema to DIRECTIVE_VERSION; 0 or -1 */
static int
directive_migrate(struct directive_store *st)
{
	char sql[64];
	int v, ok = 1;

	if (sqlite3_exec(st->db, "BEGIN IMMEDIATE", NULL, NULL,
	    NULL) != SQLITE_OK)
		return -1;
	if ((v = directive_version(st)) < 0 || v > DIRECTIVE_VERSION)
		ok = 0;		/* a newer program's store: do not touch it */
	for (v = v < 1 ? 1 : v + 1; ok && v <= DIRECTIVE_VERSION; v++) {
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d;", v);
		ok = sqlite3_exec(st->db, directive_migrations[v], NULL, NULL,
		    NULL) == SQLITE_OK &&
		    sqlite3_exec(st->db, sql, NULL, NULL, NULL) == SQLITE_OK;
	}
	if (ok && sqlite3_exec(st->db, "COMMIT", NULL, NULL,
	    NULL) == SQLITE_OK)
		return 0;
	sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}

/* directive_store_open - open the database, WAL, schema */
struct directive_store *
directive_store_open(const char *path, int create, char *err, size_t errlen)
{
	struct directive_store *st = xcalloc(1, sizeof(*st));
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;

	if (create)
		flags |= SQLITE_OPEN_CREATE;
#ifdef SQLITE_OPEN_NOFOLLOW
	/* a symlink planted for the store is refused, not followed */
	flags |= SQLITE_OPEN_NOFOLLOW;
#endif
	if (sqlite3_open_v2(path, &st->db, flags, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "directive store %s: %s", path,
		    st->db ? sqlite3_errmsg(st->db) : "out of memory");
		goto bad;
	}
	sqlite3_busy_timeout(st->db, DIRECTIVE_BUSY_MS);
	if (sqlite3_exec(st->db, "PRAGMA journal_mode=WAL;", NULL, NULL,
	    NULL) != SQLITE_OK ||
	    sqlite3_exec(st->db, directive_schema, NULL, NULL, NULL) != SQLITE_OK ||
	    directive_migrate(st) == -1) {
		directive_err(st, path, err, errlen);
		goto bad;
	}
	return st;
bad:
	if (st->db != NULL)
		sqlite3_close(st->db);
	free(st);
	return NULL;
}

/* directive_store_open_pg - a PostgreSQL store (directive_pg.h) */
struct directive_store *
directive_store_open_pg(const struct cfg_dirpg *c, int connect_now,
    char *err, size_t errlen)
{
	struct directive_pg *pg;
	struct directive_store *st;

	if ((pg = directive_pg_open(c, connect_now, err, errlen)) == NULL)
		return NULL;
	st = xcalloc(1, sizeof(*st));
	st->pg = pg;
	return st;
}

/* directive_store_close - close the database */
void
directive_store_close(struct directive_store *st)
{
	if (st == NULL)
		return;
#ifdef HAVE_LIBPQ
	directive_pg_close(st->pg);
#endif
	if (st->db != NULL)
		sqlite3_close(st->db);
	free(st);
}

/* directive_id_valid - 4..32 letters and digits */
int
directive_id_valid(const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++)
		if (!isalnum((unsigned char)s[i]) || i >= DIRECTIVE_ID_MAX - 1)
			return 0;
	return i >= 4;
}

/* directive_id_new - a random ID from an unambiguous alphabet */
void
directive_id_new(char out[DIRECTIVE_ID_MAX])
{
	unsigned char rnd[DIRECTIVE_ID_LEN];
	size_t i;

	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		abort();	/* the kernel always has entropy after boot */
	for (i = 0; i < DIRECTIVE_ID_LEN; i++)
		out[i] = DIRECTIVE_ID_CHARS[rnd[i] % (sizeof(DIRECTIVE_ID_CHARS) - 1)];
	out[DIRECTIVE_ID_LEN] = '\0';
}

/* directive_expired - is it past its expiry? */
int
directive_expired(const struct directive *d, int64_t now)
{
	return d->expires != 0 && d->expires <= now;
}

/* directive_exec - run one statement with text bindings; -1 on error */
static int
directive_exec(struct directive_store *st, const char *sql, int n,
    const char *const *args, const int64_t *ints, int nints)
{
	sqlite3_stmt *s;
	int i, rc;

	if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK)
		return -1;
	for (i = 0; i < n; i++)
		sqlite3_bind_text(s, i + 1, args[i], -1, SQLITE_STATIC);
	for (i = 0; i < nints; i++)
		sqlite3_bind_int64(s, n + i + 1, ints[i]);
	rc = sqlite3_step(s);
	sqlite3_finalize(s);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : -1;
}

/* directive_put_rcpts - insert the recipients and their parameters */
static int
directive_put_rcpts(struct directive_store *st, const struct directive *d)
{
	const char *args[4];
	int64_t ints[2];
	size_t i, j;

	for (i = 0; i < d->nrcpt; i++) {
		args[0] = d->id;
		args[1] = d->rcpt[i].channel;
		args[2] = d->rcpt[i].address ? d->rcpt[i].address : "";
		ints[0] = (int64_t)i;
		if (directive_exec(st, "INSERT INTO recipient (directive, "
		    "channel, address, seq) VALUES (?, ?, ?, ?)", 3, args, ints,
		    1) == -1)
			return -1;
		for (j = 0; j < d->rcpt[i].nparams; j++) {
			args[1] = d->rcpt[i].params[j].name;
			args[2] = d->rcpt[i].params[j].value;
			ints[1] = (int64_t)j;
			if (directive_exec(st, "INSERT INTO rparam (directive, "
			    "name, value, seq, pseq) VALUES (?, ?, ?, ?, ?)", 3,
			    args, ints, 2) == -1)
				return -1;
		}
	}
	return 0;
}

/* directive_put - insert the directive row (update: replace it) */
static int
directive_put(struct directive_store *st, const struct directive *d, int update)
{
	const char *args[7] = { d->title, d->owner, d->keyword, d->id,
	    d->allow_sender, d->allow_user, d->allow_net };
	int64_t ints[3] = { d->created, d->last_used, d->expires };

	if (update) {
		if (directive_exec(st, "UPDATE directive SET title = ?1, "
		    "owner = ?2, keyword = ?3, allow_sender = ?5, allow_user = ?6, "
		    "allow_net = ?7, expires = ?8 WHERE id = ?4", 7, args,
		    ints + 2, 1) == -1)
			return -1;
	} else if (directive_exec(st, "INSERT INTO directive (title, owner, "
	    "keyword, id, allow_sender, allow_user, allow_net, created, "
	    "last_used, expires) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", 7,
	    args, ints, 3) == -1)
		return -1;
	return 0;
}

/* directive_tx_end - commit, or roll back on failure */
static int
directive_tx_end(struct directive_store *st, int ok, const char *what,
    char *err, size_t errlen)
{
	if (ok && sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK)
		return 0;
	directive_err(st, what, err, errlen);
	sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}

/* directive_check - fields a stored directive must have */
static int
directive_check(const struct directive *d, char *err, size_t errlen)
{
	size_t i;

	if (d->title == NULL || d->owner == NULL) {
		snprintf(err, errlen, "a directive needs a title and an owner");
		return -1;
	}
	if (d->nrcpt == 0 || d->nrcpt > DIRECTIVE_RCPT_MAX) {
		snprintf(err, errlen, "a directive needs 1 to %d recipients",
		    DIRECTIVE_RCPT_MAX);
		return -1;
	}
	for (i = 0; i < d->nrcpt; i++)
		if (d->rcpt[i].channel == NULL || d->rcpt[i].channel[0] == '\0') {
			snprintf(err, errlen, "recipient %zu has no channel", i + 1);
			return -1;
		}
	return 0;
}

/* directive_create - store a new directive */
int
directive_create(struct directive_store *st, struct directive *d, char *err,
    size_t errlen)
{
	int ok, tries = 0, gen = d->id[0] == '\0';

	if (directive_check(d, err, errlen) == -1)
		return -1;
	if (d->id[0] != '\0' && !directive_id_valid(d->id)) {
		snprintf(err, errlen, "bad directive ID (4 to 32 letters and digits)");
		return -1;
	}
	DIRECTIVE_PG(st, directive_pg_create(st->pg, d, err, errlen));
	if (sqlite3_exec(st->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		return directive_err(st, "begin", err, errlen);
	do {
		if (gen)
			directive_id_new(d->id);
		ok = directive_put(st, d, 0) == 0;
	} while (!ok && gen && ++tries < 5 &&
	    sqlite3_extended_errcode(st->db) == SQLITE_CONSTRAINT_PRIMARYKEY);
	ok = ok && directive_put_rcpts(st, d) == 0;
	return directive_tx_end(st, ok, "create", err, errlen);
}

/* directive_col - a text column, copied (NULL stays NULL) */
static char *
directive_col(sqlite3_stmt *s, int i)
{
	const unsigned char *t = sqlite3_column_text(s, i);

	return t ? xstrdup((const char *)t) : NULL;
}

/* directive_load_rcpts - the recipients and parameters of d->id */
static int
directive_load_rcpts(struct directive_store *st, struct directive *d)
{
	sqlite3_stmt *s;
	struct directive_rcpt *r;
	int rc;

	if (sqlite3_prepare_v2(st->db, "SELECT r.seq, r.channel, r.address, "
	    "p.name, p.value FROM recipient r LEFT JOIN rparam p ON "
	    "p.directive = r.directive AND p.seq = r.seq WHERE r.directive = ? "
	    "ORDER BY r.seq, p.pseq", -1, &s, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_text(s, 1, d->id, -1, SQLITE_STATIC);
	r = NULL;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (r == NULL || (size_t)sqlite3_column_int64(s, 0) != d->nrcpt - 1)
			r = directive_add_rcpt(d,
			    (const char *)sqlite3_column_text(s, 1),
			    (const char *)sqlite3_column_text(s, 2));
		if (sqlite3_column_type(s, 3) != SQLITE_NULL)
			directive_rcpt_add_param(r,
			    (const char *)sqlite3_column_text(s, 3),
			    (const char *)sqlite3_column_text(s, 4));
	}
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? 0 : -1;
}

#define DIRECTIVE_COLS "id, title, owner, keyword, created, last_used, " \
	"expires, allow_sender, allow_user, allow_net"

/* directive_row - a directive row into d */
static void
directive_row(sqlite3_stmt *s, struct directive *d)
{
	memset(d, 0, sizeof(*d));
	snprintf(d->id, sizeof(d->id), "%s", (const char *)sqlite3_column_text(s, 0));
	d->title = directive_col(s, 1);
	d->owner = directive_col(s, 2);
	d->keyword = directive_col(s, 3);
	d->created = sqlite3_column_int64(s, 4);
	d->last_used = sqlite3_column_int64(s, 5);
	d->expires = sqlite3_column_int64(s, 6);
	d->allow_sender = directive_col(s, 7);
	d->allow_user = directive_col(s, 8);
	d->allow_net = directive_col(s, 9);
}

/* directive_get_by - one directive by a column */
static int
directive_get_by(struct directive_store *st, const char *col, const char *v,
    struct directive *d, char *err, size_t errlen)
{
	char sql[256];
	sqlite3_stmt *s;
	int rc, found = 0;

	memset(d, 0, sizeof(*d));
	snprintf(sql, sizeof(sql), "SELECT " DIRECTIVE_COLS
	    " FROM directive WHERE %s = ?", col);
	if (sqlite3_exec(st->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
		return directive_err(st, "begin", err, errlen);
	if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK)
		goto bad;
	sqlite3_bind_text(s, 1, v, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		directive_row(s, d);
		found = 1;
	}
	sqlite3_finalize(s);
	if ((rc != SQLITE_ROW && rc != SQLITE_DONE) ||
	    (found && directive_load_rcpts(st, d) == -1))
		goto bad;
	sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL);
	return found ? 0 : 1;
bad:
	directive_err(st, "read", err, errlen);
	sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	directive_clear(d);
	return -1;
}

/* directive_get - by ID */
int
directive_get(struct directive_store *st, const char *id, struct directive *d,
    char *err, size_t errlen)
{
	DIRECTIVE_PG(st, directive_pg_get(st->pg, 0, id, d, err, errlen));
	return directive_get_by(st, "id", id, d, err, errlen);
}

/* directive_get_keyword - by keyword */
int
directive_get_keyword(struct directive_store *st, const char *kw,
    struct directive *d, char *err, size_t errlen)
{
	DIRECTIVE_PG(st, directive_pg_get(st->pg, 1, kw, d, err, errlen));
	return directive_get_by(st, "keyword", kw, d, err, errlen);
}

/* directive_list - every directive with its recipients */
int
directive_list(struct directive_store *st, struct directive **v, size_t *n,
    char *err, size_t errlen)
{
	sqlite3_stmt *s;
	size_t i;
	int rc;

	DIRECTIVE_PG(st, directive_pg_list(st->pg, v, n, err, errlen));
	*v = NULL;
	*n = 0;
	if (sqlite3_exec(st->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
		return directive_err(st, "begin", err, errlen);
	if (sqlite3_prepare_v2(st->db, "SELECT " DIRECTIVE_COLS
	    " FROM directive ORDER BY id", -1, &s, NULL) != SQLITE_OK)
		goto bad;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		*v = xreallocarray(*v, *n + 1, sizeof(**v));
		directive_row(s, &(*v)[(*n)++]);
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE)
		goto bad;
	for (i = 0; i < *n; i++)
		if (directive_load_rcpts(st, &(*v)[i]) == -1)
			goto bad;
	sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL);
	return 0;
bad:
	directive_err(st, "list", err, errlen);
	sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	for (i = 0; i < *n; i++)
		directive_clear(&(*v)[i]);
	free(*v);
	*v = NULL;
	*n = 0;
	return -1;
}

/* directive_remove - delete the rows of id (recipients only with keep) */
static int
directive_remove(struct directive_store *st, const char *id, int keep_row)
{
	const char *args[1] = { id };

	if (directive_exec(st, "DELETE FROM rparam WHERE directive = ?", 1,
	    args, NULL, 0) == -1 ||
	    directive_exec(st, "DELETE FROM recipient WHERE directive = ?", 1,
	    args, NULL, 0) == -1)
		return -1;
	if (!keep_row && directive_exec(st, "DELETE FROM directive WHERE "
	    "id = ?", 1, args, NULL, 0) == -1)
		return -1;
	return 0;
}

/* directive_update - replace title, owner, keyword, expiry, recipients */
int
directive_update(struct directive_store *st, const struct directive *d,
    char *err, size_t errlen)
{
	int ok;

	if (directive_check(d, err, errlen) == -1)
		return -1;
	DIRECTIVE_PG(st, directive_pg_update(st->pg, d, err, errlen));
	if (sqlite3_exec(st->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		return directive_err(st, "begin", err, errlen);
	ok = directive_put(st, d, 1) == 0;
	if (ok && sqlite3_changes(st->db) == 0) {
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
		return 1;
	}
	ok = ok && directive_remove(st, d->id, 1) == 0 &&
	    directive_put_rcpts(st, d) == 0;
	return directive_tx_end(st, ok, "update", err, errlen);
}

/* directive_delete - remove a directive */
int
directive_delete(struct directive_store *st, const char *id, char *err,
    size_t errlen)
{
	const char *args[1] = { id };
	int ok;

	DIRECTIVE_PG(st, directive_pg_delete(st->pg, id, err, errlen));
	if (sqlite3_exec(st->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		return directive_err(st, "begin", err, errlen);
	ok = directive_exec(st, "DELETE FROM directive WHERE id = ?", 1, args,
	    NULL, 0) == 0;
	if (ok && sqlite3_changes(st->db) == 0) {
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
		return 1;
	}
	ok = ok && directive_remove(st, id, 1) == 0;
	return directive_tx_end(st, ok, "delete", err, errlen);
}

/* directive_touch - record a use */
int
directive_touch(struct directive_store *st, const char *id, int64_t now)
{
	const char *args[1] = { id };
	int64_t ints[1] = { now };

	DIRECTIVE_PG(st, directive_pg_touch(st->pg, id, now));
	return directive_exec(st, "UPDATE directive SET last_used = ?2 "
	    "WHERE id = ?1", 1, args, ints, 1);
}

/* directive_clear - free the fields of d */
void
directive_clear(struct directive *d)
{
	size_t i, j;

	for (i = 0; i < d->nrcpt; i++) {
		for (j = 0; j < d->rcpt[i].nparams; j++) {
			free(d->rcpt[i].params[j].name);
			free(d->rcpt[i].params[j].value);
		}
		free(d->rcpt[i].params);
		free(d->rcpt[i].channel);
		free(d->rcpt[i].address);
	}
	free(d->rcpt);
	free(d->title);
	free(d->owner);
	free(d->keyword);
	free(d->allow_sender);
	free(d->allow_user);
	free(d->allow_net);
	memset(d, 0, sizeof(*d));
}

/* directive_add_rcpt - append a recipient */
struct directive_rcpt *
directive_add_rcpt(struct directive *d, const char *channel, const char *address)
{
	struct directive_rcpt *r;

	d->rcpt = xreallocarray(d->rcpt, d->nrcpt + 1, sizeof(*d->rcpt));
	r = &d->rcpt[d->nrcpt++];
	memset(r, 0, sizeof(*r));
	r->channel = xstrdup(channel ? channel : "");
	r->address = xstrdup(address ? address : "");
	return r;
}

/* directive_rcpt_add_param - append a parameter */
void
directive_rcpt_add_param(struct directive_rcpt *r, const char *name,
    const char *value)
{
	r->params = xreallocarray(r->params, r->nparams + 1, sizeof(*r->params));
	r->params[r->nparams].name = xstrdup(name);
	r->params[r->nparams++].value = xstrdup(value ? value : "");
}
