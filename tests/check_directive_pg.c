/*
 * check_directive_pg.c - unit tests of the PostgreSQL store's settings:
 * the directives.store and directives.postgresql keys (cfg.c), the
 * connection parameters built from them (directive_pg_params) and the
 * password file reader (secretfile.c).  No server is needed: the store
 * itself is exercised by tests/e2e_multinode.py.
 */
#include "config.h"

#include <sys/stat.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "cfg.h"
#include "directive_pg.h"
#include "secretfile.h"

#define CONN "connectors:\n  - { name: a, type: folder }\n"
#define PG_HEAD CONN "directives:\n  store: postgresql\n  postgresql:\n"

/* Configurations: the text, whether it loads, a word its error names. */
static const struct {
	const char *text;
	int ok;
	const char *why;
} cfgs[] = {
	{ CONN "directives: { store: sqlite }\n", 1, NULL },
	{ CONN "directives: { store: mysql }\n", 0, "expected sqlite or postgresql" },
	{ PG_HEAD "    host: 127.0.0.1\n    dbname: gw\n    user: gw\n", 1, NULL },
	{ PG_HEAD "    host: \"::1\"\n    dbname: gw\n    user: gw\n", 1, NULL },
	{ PG_HEAD "    host: /run/postgresql\n    dbname: gw\n    user: gw\n", 1, NULL },
	{ PG_HEAD "    host: db.example.com\n    dbname: gw\n    user: gw\n", 0,
	    "not a name" },
	{ PG_HEAD "    dbname: gw\n    user: gw\n", 0, "needs" },
	{ PG_HEAD "    host: 127.0.0.1\n    user: gw\n", 0, "needs" },
	{ PG_HEAD "    host: 127.0.0.1\n    dbname: gw\n", 0, "needs" },
	{ CONN "directives:\n  store: postgresql\n", 0, "needs" },
	{ PG_HEAD "    host: 127.0.0.1\n    dbname: gw\n    user: gw\n"
	    "    port: 0\n", 0, "port" },
	{ PG_HEAD "    host: 127.0.0.1\n    dbname: gw\n    user: gw\n"
	    "    sslmode: maybe\n", 0, "verify-full" },
	{ PG_HEAD "    host: 127.0.0.1\n    dbname: gw\n    user: gw\n"
	    "    password: secret\n", 0, "password" },
	{ PG_HEAD "    host: 127.0.0.1\n    dbname: gw\n    user: gw\n"
	    "    statement_timeout: 0\n", 0, "statement_timeout" },
	/* the keys of a store not chosen are checked, not required */
	{ CONN "directives:\n  postgresql: { port: 5433 }\n", 1, NULL },
};

START_TEST(test_cfg)
{
	char err[CFG_ERRLEN];
	struct cfg *c = cfg_load_buffer("t.yaml", cfgs[_i].text,
	    strlen(cfgs[_i].text), err, sizeof(err));

	if (cfgs[_i].ok) {
		ck_assert_msg(c != NULL, "refused: %s: %s", cfgs[_i].text, err);
		cfg_free(c);
		return;
	}
	ck_assert_msg(c == NULL, "accepted: %s", cfgs[_i].text);
	ck_assert_msg(strstr(err, cfgs[_i].why) != NULL, "%s: error '%s' "
	    "does not name '%s'", cfgs[_i].text, err, cfgs[_i].why);
	ck_assert_msg(strncmp(err, "t.yaml:", 7) == 0, "no position: %s", err);
}
END_TEST

/* load - a configuration that must load */
static struct cfg *
load(const char *text)
{
	char err[CFG_ERRLEN];
	struct cfg *c = cfg_load_buffer("t.yaml", text, strlen(text), err,
	    sizeof(err));

	ck_assert_msg(c != NULL, "%s", err);
	return c;
}

START_TEST(test_params_addr)
{
	struct directive_pg_params p;
	char err[256];
	struct cfg *c = load(PG_HEAD "    host: 192.0.2.5\n    port: 5433\n"
	    "    dbname: gw\n    user: gwuser\n    sslmode: verify-full\n"
	    "    connect_timeout: 7s\n    statement_timeout: 2m\n");

	ck_assert_int_eq(c->directives.store, CFG_DIR_STORE_POSTGRESQL);
	ck_assert_int_eq(directive_pg_params(&c->directives.pg, "s3cret", &p,
	    err, sizeof(err)), 0);
	ck_assert_str_eq(directive_pg_param(&p, "host"), "192.0.2.5");
	/* an address: no name resolution, even inside the chroot */
	ck_assert_str_eq(directive_pg_param(&p, "hostaddr"), "192.0.2.5");
	ck_assert_str_eq(directive_pg_param(&p, "port"), "5433");
	ck_assert_str_eq(directive_pg_param(&p, "dbname"), "gw");
	ck_assert_str_eq(directive_pg_param(&p, "user"), "gwuser");
	ck_assert_str_eq(directive_pg_param(&p, "password"), "s3cret");
	ck_assert_str_eq(directive_pg_param(&p, "sslmode"), "verify-full");
	ck_assert_str_eq(directive_pg_param(&p, "gssencmode"), "disable");
	ck_assert_str_eq(directive_pg_param(&p, "connect_timeout"), "7");
	ck_assert_ptr_nonnull(strstr(directive_pg_param(&p, "options"),
	    "-c statement_timeout=120000"));
	ck_assert_str_eq(directive_pg_param(&p, "tcp_user_timeout"), "127000");
	/* keyword/value pairs only: no conninfo string to splice into */
	ck_assert_ptr_null(directive_pg_param(&p, "dbname=gw"));
	cfg_free(c);
}
END_TEST

START_TEST(test_params_socket)
{
	struct directive_pg_params p;
	char err[256];
	struct cfg *c = load(PG_HEAD "    host: /run/postgresql\n"
	    "    dbname: \"gw' host=evil\"\n    user: gw\n");

	ck_assert_int_eq(directive_pg_params(&c->directives.pg, NULL, &p, err,
	    sizeof(err)), 0);
	ck_assert_str_eq(directive_pg_param(&p, "host"), "/run/postgresql");
	ck_assert_ptr_null(directive_pg_param(&p, "hostaddr"));
	ck_assert_ptr_null(directive_pg_param(&p, "password"));
	/* defaults */
	ck_assert_str_eq(directive_pg_param(&p, "port"), "5432");
	ck_assert_str_eq(directive_pg_param(&p, "sslmode"), "prefer");
	ck_assert_str_eq(directive_pg_param(&p, "connect_timeout"), "5");
	/* a value stays one value, quotes and all */
	ck_assert_str_eq(directive_pg_param(&p, "dbname"), "gw' host=evil");
	ck_assert_str_eq(p.kw[0], "host");
	cfg_free(c);
}
END_TEST

START_TEST(test_params_incomplete)
{
	struct cfg_dirpg c;
	struct directive_pg_params p;
	char err[256] = "";

	memset(&c, 0, sizeof(c));
	c.port = 5432;
	c.connect_timeout = c.statement_timeout = 5;
	ck_assert_int_eq(directive_pg_params(&c, NULL, &p, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "required"));
	c.host = "127.0.0.1";
	c.dbname = c.user = "gw";
	c.sslmode = 6;		/* past libpq's list */
	ck_assert_int_eq(directive_pg_params(&c, NULL, &p, err, sizeof(err)), -1);
}
END_TEST

/* write_file - path with mode and content */
static void
write_file(const char *path, mode_t mode, const char *text, size_t len)
{
	int fd;

	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, mode);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, len), (ssize_t)len);
	ck_assert_int_eq(fchmod(fd, mode), 0);
	close(fd);
}

/* Password files: content, mode, private, the result or NULL. */
static const struct {
	const char *text;
	size_t len;
	mode_t mode;
	int private;
	const char *want;
} secrets[] = {
	{ "pw\n", 3, 0600, 1, "pw" },
	{ "pw\r\n", 4, 0400, 1, "pw" },
	{ "p w#x", 5, 0600, 1, "p w#x" },
	{ "pw\n", 3, 0640, 1, NULL },		/* the group may read it */
	{ "pw\n", 3, 0604, 1, NULL },
	{ "pw\n", 3, 0640, 0, "pw" },		/* LDAP: not required */
	{ "\n", 1, 0600, 1, NULL },
	{ "", 0, 0600, 1, NULL },
	{ "a\nb\n", 4, 0600, 1, NULL },		/* two lines */
	{ "a\0b", 3, 0600, 1, NULL },
};

START_TEST(test_secretfile)
{
	char path[] = "/tmp/check_secretXXXXXX", err[256];
	size_t len = 99;
	char *s;
	int fd = mkstemp(path);

	ck_assert_int_ge(fd, 0);
	close(fd);
	write_file(path, secrets[_i].mode, secrets[_i].text, secrets[_i].len);
	s = secretfile_read(path, secrets[_i].private, &len, err, sizeof(err));
	if (secrets[_i].want == NULL) {
		ck_assert_msg(s == NULL, "case %d accepted", _i);
		ck_assert_ptr_nonnull(strstr(err, path));
	} else {
		ck_assert_msg(s != NULL, "case %d: %s", _i, err);
		ck_assert_str_eq(s, secrets[_i].want);
		ck_assert_uint_eq(len, strlen(secrets[_i].want));
	}
	secretfile_free(s);
	unlink(path);
}
END_TEST

START_TEST(test_secretfile_long_and_links)
{
	char path[] = "/tmp/check_secretXXXXXX", link[64], err[256];
	char big[SECRETFILE_MAX + 10];
	char *s;
	int fd = mkstemp(path);

	ck_assert_int_ge(fd, 0);
	close(fd);
	memset(big, 'x', sizeof(big));
	write_file(path, 0600, big, SECRETFILE_MAX - 1);
	s = secretfile_read(path, 1, NULL, err, sizeof(err));
	ck_assert_ptr_nonnull(s);
	ck_assert_uint_eq(strlen(s), SECRETFILE_MAX - 1);
	secretfile_free(s);
	write_file(path, 0600, big, sizeof(big));
	ck_assert_ptr_null(secretfile_read(path, 1, NULL, err, sizeof(err)));
	/* a symlink is not followed, a directory is not a file */
	snprintf(link, sizeof(link), "%s.lnk", path);
	unlink(link);
	ck_assert_int_eq(symlink(path, link), 0);
	ck_assert_ptr_null(secretfile_read(link, 1, NULL, err, sizeof(err)));
	ck_assert_ptr_null(secretfile_read("/tmp", 0, NULL, err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "not a regular file"));
	ck_assert_ptr_null(secretfile_read("/nonexistent/pw", 0, NULL, err,
	    sizeof(err)));
	unlink(link);
	unlink(path);
}
END_TEST

static Suite *
directive_pg_suite(void)
{
	Suite *s = suite_create("directive_pg");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_cfg, 0, (int)(sizeof(cfgs) / sizeof(cfgs[0])));
	tcase_add_test(tc, test_params_addr);
	tcase_add_test(tc, test_params_socket);
	tcase_add_test(tc, test_params_incomplete);
	tcase_add_loop_test(tc, test_secretfile, 0,
	    (int)(sizeof(secrets) / sizeof(secrets[0])));
	tcase_add_test(tc, test_secretfile_long_and_links);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(directive_pg_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
