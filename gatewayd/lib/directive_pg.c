/*
 * directive_pg.c - the directive store on PostgreSQL (directive_pg.h)
 *
 * The same three tables as the SQLite store (directive, recipient,
 * rparam), with IDs and keywords compared case-insensitively through
 * lower(): a recipient row names its directive by lower(id).  A read is
 * one statement (the directive joined with its recipients and their
 * parameters), so it sees one snapshot; every change is one transaction.
 * Without libpq (configure found none) only the parameter builder is
 * compiled and opening the store says why it cannot.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef HAVE_LIBPQ
#include <libpq-fe.h>
#endif

#include "directive_pg.h"
#include "dlsyms.h"
#include "log.h"
#include "secretfile.h"
#include "xmalloc.h"

/* libpq's sslmode names, in the order of cfg.c's cfg_pg_sslmodes */
static const char *const directive_pg_sslmodes[] = { "disable", "allow",
	"prefer", "require", "verify-ca", "verify-full" };

/* directive_pg_add - append one keyword/value pair */
static int
directive_pg_add(struct directive_pg_params *p, size_t *n, const char *kw,
    const char *val)
{
	if (*n >= DIRECTIVE_PG_NPARAMS)
		return -1;
	p->kw[*n] = kw;
	p->val[(*n)++] = val;
	p->kw[*n] = NULL;
	p->val[*n] = NULL;
	return 0;
}

/*
 * directive_pg_params - the connection's keywords: an address goes to
 * hostaddr too (libpq resolves nothing), no Kerberos (no files in the
 * router's chroot), the statement timeout in the session's options
 */
int
directive_pg_params(const struct cfg_dirpg *c, const char *password,
    struct directive_pg_params *p, char *err, size_t errlen)
{
	size_t n = 0;
	int ok;

	memset(p, 0, sizeof(*p));
	if (c->host == NULL || c->dbname == NULL || c->user == NULL ||
	    c->sslmode < 0 || (size_t)c->sslmode >= sizeof(directive_pg_sslmodes) /
	    sizeof(directive_pg_sslmodes[0]) || c->port < 1 || c->port > 65535 ||
	    c->connect_timeout < 1 || c->statement_timeout < 1) {
		snprintf(err, errlen, "directive store: postgresql: host, "
		    "dbname and user are required, port 1-65535, timeouts > 0");
		return -1;
	}
	snprintf(p->port, sizeof(p->port), "%d", c->port);
	snprintf(p->connect_timeout, sizeof(p->connect_timeout), "%lld",
	    (long long)c->connect_timeout);
	snprintf(p->options, sizeof(p->options), "-c statement_timeout=%lld "
	    "-c client_min_messages=warning",
	    (long long)c->statement_timeout * 1000);
	/* a dead peer: unacknowledged data gives up after both timeouts */
	snprintf(p->user_timeout, sizeof(p->user_timeout), "%lld",
	    ((long long)c->connect_timeout + c->statement_timeout) * 1000);
	ok = directive_pg_add(p, &n, "host", c->host) == 0 &&
	    (c->host[0] == '/' || directive_pg_add(p, &n, "hostaddr",
	    c->host) == 0) &&
	    directive_pg_add(p, &n, "port", p->port) == 0 &&
	    directive_pg_add(p, &n, "dbname", c->dbname) == 0 &&
	    directive_pg_add(p, &n, "user", c->user) == 0 &&
	    (password == NULL || directive_pg_add(p, &n, "password",
	    password) == 0) &&
	    directive_pg_add(p, &n, "sslmode",
	    directive_pg_sslmodes[c->sslmode]) == 0 &&
	    directive_pg_add(p, &n, "gssencmode", "disable") == 0 &&
	    directive_pg_add(p, &n, "connect_timeout", p->connect_timeout) == 0 &&
	    directive_pg_add(p, &n, "options", p->options) == 0 &&
	    directive_pg_add(p, &n, "tcp_user_timeout", p->user_timeout) == 0 &&
	    directive_pg_add(p, &n, "application_name", "gatewayd") == 0 &&
	    directive_pg_add(p, &n, "client_encoding", "UTF8") == 0;
	if (!ok) {
		snprintf(err, errlen, "directive store: too many parameters");
		return -1;
	}
	return 0;
}

/* directive_pg_param - the value given for kw, or NULL */
const char *
directive_pg_param(const struct directive_pg_params *p, const char *kw)
{
	size_t i;

	for (i = 0; p->kw[i] != NULL; i++)
		if (strcmp(p->kw[i], kw) == 0)
			return p->val[i];
	return NULL;
}

#ifndef HAVE_LIBPQ

/* directive_pg_open - this build has no PostgreSQL client library */
struct directive_pg *
directive_pg_open(const struct cfg_dirpg *c, int connect_now, char *err,
    size_t errlen)
{
	(void)c;
	(void)connect_now;
	snprintf(err, errlen, "directive store: postgresql: gatewayd was built "
	    "without libpq (configure --with-postgresql)");
	return NULL;
}

#else

/*
 * libpq is loaded by dpg_load() when a store is opened, which every
 * process does before it drops its privileges, chroots or enters its
 * sandbox: a gateway without a PostgreSQL store never maps libpq and the
 * libraries it needs (Kerberos, LDAP, GnuTLS), which took about half a
 * MiB of private memory in each process that linked it.
 */
#define DPG_FUNCS(X) X(PQclear) X(PQcmdTuples) X(PQconnectdbParams) \
	X(PQerrorMessage) X(PQexec) X(PQexecPrepared) X(PQfinish) \
	X(PQgetisnull) X(PQgetvalue) X(PQntuples) X(PQprepare) \
	X(PQresultStatus) X(PQstatus) X(PQtransactionStatus)
#define DPG_POINTER(f)	__typeof__(f) *f;
#define DPG_SYMBOL(f)	{ #f, (void **)&dpg.f },

static struct {
	DPG_FUNCS(DPG_POINTER)
} dpg;

static const struct dlsym_entry dpg_symbols[] = { DPG_FUNCS(DPG_SYMBOL) };

/* dpg_load - load libpq once; -1 with err if it cannot be */
static int
dpg_load(char *err, size_t errlen)
{
	static void *lib;
	char why[512];

	if (dlsyms_load(&lib, PQ_SONAME, "libpq5", dpg_symbols,
	    sizeof(dpg_symbols) / sizeof(dpg_symbols[0]), why, sizeof(why)) == 0)
		return 0;
	snprintf(err, errlen, "directive store: postgresql: %s", why);
	return -1;
}

#define DIRECTIVE_PG_ERRMAX	200	/* bytes of the server's message kept */
/* the schema's version in directive_meta; a newer one is not touched */
#define DIRECTIVE_PG_VERSION	1
/* pg_advisory_xact_lock's key for the schema: "gwdirect" in ASCII */
#define DIRECTIVE_PG_LOCK	"7451085525346526580"

struct directive_pg {
	PGconn *conn;			/* NULL or lost: made again at the next use */
	char *host, *dbname, *user;	/* copies: params points into them */
	char *password;			/* from password_file, wiped at close */
	struct cfg_dirpg conf;
	struct directive_pg_params params;
	int schema_ok;			/* created or checked by this process */
};

static const char directive_pg_schema_sql[] =
    "BEGIN;"
    "SELECT pg_advisory_xact_lock(" DIRECTIVE_PG_LOCK ");"
    "CREATE TABLE IF NOT EXISTS directive ("
    " id TEXT NOT NULL, title TEXT NOT NULL, owner TEXT NOT NULL,"
    " keyword TEXT, created BIGINT NOT NULL, last_used BIGINT NOT NULL"
    " DEFAULT 0, expires BIGINT NOT NULL DEFAULT 0, allow_sender TEXT,"
    " allow_user TEXT, allow_net TEXT);"
    "CREATE UNIQUE INDEX IF NOT EXISTS directive_id ON directive (lower(id));"
    "CREATE UNIQUE INDEX IF NOT EXISTS directive_keyword ON directive"
    " (lower(keyword));"
    "CREATE TABLE IF NOT EXISTS recipient ("
    " directive TEXT NOT NULL, seq INTEGER NOT NULL, channel TEXT NOT NULL,"
    " address TEXT NOT NULL, PRIMARY KEY (directive, seq));"
    "CREATE TABLE IF NOT EXISTS rparam ("
    " directive TEXT NOT NULL, seq INTEGER NOT NULL, pseq INTEGER NOT NULL,"
    " name TEXT NOT NULL, value TEXT NOT NULL,"
    " PRIMARY KEY (directive, seq, pseq));"
    "CREATE TABLE IF NOT EXISTS directive_meta (version INTEGER NOT NULL);"
    "INSERT INTO directive_meta (version) SELECT 1"
    " WHERE NOT EXISTS (SELECT 1 FROM directive_meta);"
    "COMMIT;";

#define DIRECTIVE_PG_SELECT "SELECT d.id, d.title, d.owner, d.keyword, " \
	"d.created, d.last_used, d.expires, d.allow_sender, d.allow_user, " \
	"d.allow_net, r.seq, r.channel, r.address, p.name, p.value " \
	"FROM directive d LEFT JOIN recipient r ON r.directive = lower(d.id) " \
	"LEFT JOIN rparam p ON p.directive = r.directive AND p.seq = r.seq "

/* The prepared statements: name, text, number of parameters. */
static const struct directive_pg_stmt {
	const char *name, *sql;
	int nparams;
} directive_pg_stmts[] = {
	{ "gw_ins_dir", "INSERT INTO directive (title, owner, keyword, id, "
	    "allow_sender, allow_user, allow_net, created, last_used, expires) "
	    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) "
	    "ON CONFLICT DO NOTHING", 10 },
	{ "gw_upd_dir", "UPDATE directive SET title = $1, owner = $2, "
	    "keyword = $3, allow_sender = $5, allow_user = $6, allow_net = $7, "
	    "expires = $8 WHERE lower(id) = lower($4)", 8 },
	{ "gw_ins_rcpt", "INSERT INTO recipient (directive, channel, address, "
	    "seq) VALUES (lower($1), $2, $3, $4)", 4 },
	{ "gw_ins_param", "INSERT INTO rparam (directive, name, value, seq, "
	    "pseq) VALUES (lower($1), $2, $3, $4, $5)", 5 },
	{ "gw_del_params", "DELETE FROM rparam WHERE directive = lower($1)", 1 },
	{ "gw_del_rcpts", "DELETE FROM recipient WHERE directive = lower($1)", 1 },
	{ "gw_del_dir", "DELETE FROM directive WHERE lower(id) = lower($1)", 1 },
	{ "gw_touch", "UPDATE directive SET last_used = $2 "
	    "WHERE lower(id) = lower($1)", 2 },
	{ "gw_get_id", DIRECTIVE_PG_SELECT "WHERE lower(d.id) = lower($1) "
	    "ORDER BY r.seq, p.pseq", 1 },
	{ "gw_get_kw", DIRECTIVE_PG_SELECT "WHERE lower(d.keyword) = lower($1) "
	    "ORDER BY r.seq, p.pseq", 1 },
	{ "gw_list", DIRECTIVE_PG_SELECT "ORDER BY lower(d.id), r.seq, p.pseq",
	    0 },
	{ "gw_version", "SELECT max(version) FROM directive_meta", 0 },
};

/*
 * directive_pg_err - "directive store: WHAT: the server's or libpq's
 * message" on one line (libpq's messages end in newlines); returns -1
 */
static int
directive_pg_err(struct directive_pg *pg, const char *what, char *err,
    size_t errlen)
{
	char msg[DIRECTIVE_PG_ERRMAX], line[DIRECTIVE_PG_ERRMAX];
	const char *m = pg->conn ? dpg.PQerrorMessage(pg->conn) : "not connected";
	size_t i;

	snprintf(line, sizeof(line), "%s", m);
	for (i = strlen(line); i > 0 && line[i - 1] == '\n'; i--)
		line[i - 1] = '\0';
	for (i = 0; line[i] != '\0'; i++)
		if (line[i] == '\n' || line[i] == '\t')
			line[i] = ' ';
	log_clean(msg, sizeof(msg), line, strlen(line));
	snprintf(err, errlen, "directive store: postgresql: %s: %s", what, msg);
	return -1;
}

/* directive_pg_ok - a result that succeeded (cleared if not) */
static PGresult *
directive_pg_ok(PGresult *res)
{
	ExecStatusType s = res ? dpg.PQresultStatus(res) : PGRES_FATAL_ERROR;

	if (s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK)
		return res;
	dpg.PQclear(res);
	return NULL;
}

/* directive_pg_cmd - a statement without parameters (BEGIN, COMMIT...) */
static int
directive_pg_cmd(struct directive_pg *pg, const char *sql)
{
	PGresult *res = directive_pg_ok(dpg.PQexec(pg->conn, sql));

	dpg.PQclear(res);
	return res != NULL ? 0 : -1;
}

/* directive_pg_run - a prepared statement with every value bound, or NULL */
static PGresult *
directive_pg_run(struct directive_pg *pg, const char *name, int n,
    const char *const *vals)
{
	return directive_pg_ok(dpg.PQexecPrepared(pg->conn, name, n, vals, NULL,
	    NULL, 0));
}

/* directive_pg_schema - create the schema (once a process): 0 or -1 */
static int
directive_pg_schema(struct directive_pg *pg, char *err, size_t errlen)
{
	if (pg->schema_ok || directive_pg_cmd(pg, directive_pg_schema_sql) == 0)
		return 0;
	directive_pg_err(pg, "schema", err, errlen);
	(void)directive_pg_cmd(pg, "ROLLBACK");
	return -1;
}

/* directive_pg_version - refuse a schema newer than this program's */
static int
directive_pg_version(struct directive_pg *pg, char *err, size_t errlen)
{
	PGresult *res;
	int v;

	if (pg->schema_ok)
		return 0;
	if ((res = directive_pg_run(pg, "gw_version", 0, NULL)) == NULL)
		return directive_pg_err(pg, "schema version", err, errlen);
	v = atoi(dpg.PQgetisnull(res, 0, 0) ? "0" : dpg.PQgetvalue(res, 0, 0));
	dpg.PQclear(res);
	if (v > DIRECTIVE_PG_VERSION) {
		snprintf(err, errlen, "directive store: postgresql: schema "
		    "version %d is newer than this program's (%d)", v,
		    DIRECTIVE_PG_VERSION);
		return -1;
	}
	pg->schema_ok = 1;
	return 0;
}

/* directive_pg_prepare - every statement, on a new connection */
static int
directive_pg_prepare(struct directive_pg *pg)
{
	PGresult *res;
	size_t i;

	for (i = 0; i < sizeof(directive_pg_stmts) /
	    sizeof(directive_pg_stmts[0]); i++) {
		res = directive_pg_ok(dpg.PQprepare(pg->conn,
		    directive_pg_stmts[i].name, directive_pg_stmts[i].sql,
		    directive_pg_stmts[i].nparams, NULL));
		if (res == NULL)
			return -1;
		dpg.PQclear(res);
	}
	return 0;
}

/*
 * directive_pg_conn - a working connection: the one kept, or a new one
 * (lost connections are noticed by libpq and made again here)
 */
static int
directive_pg_conn(struct directive_pg *pg, char *err, size_t errlen)
{
	PGresult *res;

	if (pg->conn != NULL && dpg.PQstatus(pg->conn) == CONNECTION_OK) {
		/* a transaction left open by a failure is rolled back */
		if (dpg.PQtransactionStatus(pg->conn) == PQTRANS_IDLE)
			return 0;
		res = dpg.PQexec(pg->conn, "ROLLBACK");
		dpg.PQclear(res);
		if (dpg.PQtransactionStatus(pg->conn) == PQTRANS_IDLE)
			return 0;
	}
	dpg.PQfinish(pg->conn);
	pg->conn = dpg.PQconnectdbParams(pg->params.kw, pg->params.val, 0);
	if (pg->conn == NULL) {
		snprintf(err, errlen, "directive store: postgresql: out of memory");
		return -1;
	}
	err[0] = '\0';
	if (dpg.PQstatus(pg->conn) != CONNECTION_OK ||
	    directive_pg_schema(pg, err, errlen) == -1 ||
	    directive_pg_prepare(pg) == -1 ||
	    directive_pg_version(pg, err, errlen) == -1) {
		if (err[0] == '\0')
			directive_pg_err(pg, "connect", err, errlen);
		dpg.PQfinish(pg->conn);
		pg->conn = NULL;
		return -1;
	}
	return 0;
}

/* directive_pg_open - read the password, keep the parameters, maybe connect */
struct directive_pg *
directive_pg_open(const struct cfg_dirpg *c, int connect_now, char *err,
    size_t errlen)
{
	struct directive_pg *pg;
	char why[DIRECTIVE_ERRLEN];

	if (dpg_load(err, errlen) == -1)
		return NULL;
	pg = xcalloc(1, sizeof(*pg));
	pg->conf = *c;
	pg->conf.host = pg->host = xstrdup(c->host ? c->host : "");
	pg->conf.dbname = pg->dbname = xstrdup(c->dbname ? c->dbname : "");
	pg->conf.user = pg->user = xstrdup(c->user ? c->user : "");
	pg->conf.password_file = NULL;
	if (c->password_file != NULL && (pg->password =
	    secretfile_read(c->password_file, 1, NULL, why,
	    sizeof(why))) == NULL) {
		snprintf(err, errlen, "directive store: postgresql "
		    "password_file %s", why);
		directive_pg_close(pg);
		return NULL;
	}
	if (directive_pg_params(&pg->conf, pg->password, &pg->params, err,
	    errlen) == -1 ||
	    (connect_now && directive_pg_conn(pg, err, errlen) == -1)) {
		directive_pg_close(pg);
		return NULL;
	}
	return pg;
}

/* directive_pg_close - the connection closed, the password wiped */
void
directive_pg_close(struct directive_pg *pg)
{
	if (pg == NULL)
		return;
	dpg.PQfinish(pg->conn);
	secretfile_free(pg->password);
	free(pg->host);
	free(pg->dbname);
	free(pg->user);
	free(pg);
}

/* directive_pg_end - commit, or roll back on failure */
static int
directive_pg_end(struct directive_pg *pg, int ok, const char *what,
    char *err, size_t errlen)
{
	if (ok && directive_pg_cmd(pg, "COMMIT") == 0)
		return 0;
	if (err[0] == '\0' || ok)
		directive_pg_err(pg, what, err, errlen);
	(void)directive_pg_cmd(pg, "ROLLBACK");
	return -1;
}

/* directive_pg_put_rcpts - insert the recipients and their parameters */
static int
directive_pg_put_rcpts(struct directive_pg *pg, const struct directive *d)
{
	char seq[24], pseq[24];
	const char *v[5];
	PGresult *res;
	size_t i, j;

	for (i = 0; i < d->nrcpt; i++) {
		snprintf(seq, sizeof(seq), "%zu", i);
		v[0] = d->id;
		v[1] = d->rcpt[i].channel;
		v[2] = d->rcpt[i].address ? d->rcpt[i].address : "";
		v[3] = seq;
		if ((res = directive_pg_run(pg, "gw_ins_rcpt", 4, v)) == NULL)
			return -1;
		dpg.PQclear(res);
		for (j = 0; j < d->rcpt[i].nparams; j++) {
			snprintf(pseq, sizeof(pseq), "%zu", j);
			v[1] = d->rcpt[i].params[j].name;
			v[2] = d->rcpt[i].params[j].value;
			v[4] = pseq;
			if ((res = directive_pg_run(pg, "gw_ins_param", 5,
			    v)) == NULL)
				return -1;
			dpg.PQclear(res);
		}
	}
	return 0;
}

/* directive_pg_changed - run a change; rows it touched, -1 on error */
static long
directive_pg_changed(struct directive_pg *pg, const char *name, int n,
    const char *const *vals)
{
	PGresult *res = directive_pg_run(pg, name, n, vals);
	long rows;

	if (res == NULL)
		return -1;
	rows = strtol(dpg.PQcmdTuples(res), NULL, 10);
	dpg.PQclear(res);
	return rows;
}

/* directive_pg_put - the directive row: insert (0 rows: taken) or update */
static long
directive_pg_put(struct directive_pg *pg, const struct directive *d,
    int update)
{
	char t[3][24];
	const char *v[10] = { d->title, d->owner, d->keyword, d->id,
	    d->allow_sender, d->allow_user, d->allow_net, t[0], t[1], t[2] };

	snprintf(t[0], sizeof(t[0]), "%lld", (long long)d->created);
	snprintf(t[1], sizeof(t[1]), "%lld", (long long)d->last_used);
	snprintf(t[2], sizeof(t[2]), "%lld", (long long)d->expires);
	if (update) {
		v[7] = t[2];
		return directive_pg_changed(pg, "gw_upd_dir", 8, v);
	}
	return directive_pg_changed(pg, "gw_ins_dir", 10, v);
}

/* directive_pg_begin - connect if need be and open a transaction */
static int
directive_pg_begin(struct directive_pg *pg, char *err, size_t errlen)
{
	if (directive_pg_conn(pg, err, errlen) == -1)
		return -1;
	if (directive_pg_cmd(pg, "BEGIN") == -1)
		return directive_pg_err(pg, "begin", err, errlen);
	return 0;
}

/* directive_pg_create - a new directive (an empty ID is generated) */
int
directive_pg_create(struct directive_pg *pg, struct directive *d, char *err,
    size_t errlen)
{
	int gen = d->id[0] == '\0', tries = 0;
	long rows;

	err[0] = '\0';
	if (directive_pg_begin(pg, err, errlen) == -1)
		return -1;
	do {
		if (gen)
			directive_id_new(d->id);
		rows = directive_pg_put(pg, d, 0);
	} while (rows == 0 && gen && ++tries < 5);
	if (rows == 0)
		snprintf(err, errlen, "directive store: create: the ID or the "
		    "keyword is already in use");
	return directive_pg_end(pg, rows == 1 &&
	    directive_pg_put_rcpts(pg, d) == 0, "create", err, errlen);
}

/* directive_pg_text - a column, copied; NULL stays NULL */
static char *
directive_pg_text(const PGresult *res, int row, int col)
{
	return dpg.PQgetisnull(res, row, col) ? NULL :
	    xstrdup(dpg.PQgetvalue(res, row, col));
}

/* directive_pg_row - the directive columns of one row into d */
static void
directive_pg_row(const PGresult *res, int i, struct directive *d)
{
	memset(d, 0, sizeof(*d));
	snprintf(d->id, sizeof(d->id), "%s", dpg.PQgetvalue(res, i, 0));
	d->title = directive_pg_text(res, i, 1);
	d->owner = directive_pg_text(res, i, 2);
	d->keyword = directive_pg_text(res, i, 3);
	d->created = strtoll(dpg.PQgetvalue(res, i, 4), NULL, 10);
	d->last_used = strtoll(dpg.PQgetvalue(res, i, 5), NULL, 10);
	d->expires = strtoll(dpg.PQgetvalue(res, i, 6), NULL, 10);
	d->allow_sender = directive_pg_text(res, i, 7);
	d->allow_user = directive_pg_text(res, i, 8);
	d->allow_net = directive_pg_text(res, i, 9);
}

/* directive_pg_rcpt_row - the recipient and parameter columns of a row */
static void
directive_pg_rcpt_row(const PGresult *res, int i, struct directive *d)
{
	struct directive_rcpt *r;

	if (dpg.PQgetisnull(res, i, 10))
		return;			/* a directive without recipients */
	if (d->nrcpt == 0 || i == 0 || strcmp(dpg.PQgetvalue(res, i, 10),
	    dpg.PQgetvalue(res, i - 1, 10)) != 0 || strcmp(dpg.PQgetvalue(res, i, 0),
	    dpg.PQgetvalue(res, i - 1, 0)) != 0)
		directive_add_rcpt(d, dpg.PQgetvalue(res, i, 11),
		    dpg.PQgetvalue(res, i, 12));
	r = &d->rcpt[d->nrcpt - 1];
	if (!dpg.PQgetisnull(res, i, 13))
		directive_rcpt_add_param(r, dpg.PQgetvalue(res, i, 13),
		    dpg.PQgetvalue(res, i, 14));
}

/* directive_pg_rows - the joined rows into directives (list: many) */
static size_t
directive_pg_rows(const PGresult *res, struct directive **v)
{
	int i, nrows = dpg.PQntuples(res);
	size_t n = 0;

	for (i = 0; i < nrows; i++) {
		if (i == 0 || strcmp(dpg.PQgetvalue(res, i, 0),
		    dpg.PQgetvalue(res, i - 1, 0)) != 0) {
			*v = xreallocarray(*v, n + 1, sizeof(**v));
			directive_pg_row(res, i, &(*v)[n++]);
		}
		directive_pg_rcpt_row(res, i, &(*v)[n - 1]);
	}
	return n;
}

/* directive_pg_get - one directive by ID or keyword: 0, 1 not found, -1 */
int
directive_pg_get(struct directive_pg *pg, int by_keyword, const char *key,
    struct directive *d, char *err, size_t errlen)
{
	struct directive *v = NULL;
	PGresult *res;
	size_t n;

	memset(d, 0, sizeof(*d));
	if (directive_pg_conn(pg, err, errlen) == -1)
		return -1;
	if ((res = directive_pg_run(pg, by_keyword ? "gw_get_kw" : "gw_get_id",
	    1, &key)) == NULL)
		return directive_pg_err(pg, "read", err, errlen);
	n = directive_pg_rows(res, &v);
	dpg.PQclear(res);
	if (n == 0)
		return 1;
	*d = v[0];
	while (n > 1)
		directive_clear(&v[--n]);	/* lower() made two equal: cannot */
	free(v);
	return 0;
}

/* directive_pg_list - every directive, ordered by ID */
int
directive_pg_list(struct directive_pg *pg, struct directive **v, size_t *n,
    char *err, size_t errlen)
{
	PGresult *res;

	*v = NULL;
	*n = 0;
	if (directive_pg_conn(pg, err, errlen) == -1)
		return -1;
	if ((res = directive_pg_run(pg, "gw_list", 0, NULL)) == NULL)
		return directive_pg_err(pg, "list", err, errlen);
	*n = directive_pg_rows(res, v);
	dpg.PQclear(res);
	return 0;
}

/* directive_pg_update - replace a directive's fields and recipients */
int
directive_pg_update(struct directive_pg *pg, const struct directive *d,
    char *err, size_t errlen)
{
	const char *id = d->id;
	long rows;

	err[0] = '\0';
	if (directive_pg_begin(pg, err, errlen) == -1)
		return -1;
	if ((rows = directive_pg_put(pg, d, 1)) == 0) {
		(void)directive_pg_cmd(pg, "ROLLBACK");
		return 1;
	}
	return directive_pg_end(pg, rows > 0 &&
	    directive_pg_changed(pg, "gw_del_params", 1, &id) >= 0 &&
	    directive_pg_changed(pg, "gw_del_rcpts", 1, &id) >= 0 &&
	    directive_pg_put_rcpts(pg, d) == 0, "update", err, errlen);
}

/* directive_pg_delete - remove a directive: 0, 1 not found, -1 */
int
directive_pg_delete(struct directive_pg *pg, const char *id, char *err,
    size_t errlen)
{
	long rows;

	err[0] = '\0';
	if (directive_pg_begin(pg, err, errlen) == -1)
		return -1;
	if ((rows = directive_pg_changed(pg, "gw_del_dir", 1, &id)) == 0) {
		(void)directive_pg_cmd(pg, "ROLLBACK");
		return 1;
	}
	return directive_pg_end(pg, rows > 0 &&
	    directive_pg_changed(pg, "gw_del_params", 1, &id) >= 0 &&
	    directive_pg_changed(pg, "gw_del_rcpts", 1, &id) >= 0, "delete",
	    err, errlen);
}

/* directive_pg_touch - record a use: 0 or -1 */
int
directive_pg_touch(struct directive_pg *pg, const char *id, int64_t now)
{
	char err[DIRECTIVE_ERRLEN], t[24];
	const char *v[2] = { id, t };

	snprintf(t, sizeof(t), "%lld", (long long)now);
	if (directive_pg_conn(pg, err, sizeof(err)) == -1)
		return -1;
	return directive_pg_changed(pg, "gw_touch", 2, v) >= 0 ? 0 : -1;
}

#endif
