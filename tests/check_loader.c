/*
 * check_loader.c - unit tests of the connector loader (loader.c), the
 * connector API (capi.c) and the shipped folder connector
 *
 * The test connectors are built in tests/ (testconn.c, three ways) and
 * copied into a private directory with a safe mode before loading, so the
 * tests do not depend on the umask of the build.  This program is linked
 * with --export-dynamic, like the worker, so that the shared objects find
 * the gw_* functions.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "capi.h"
#include "envelope.h"
#include "loader.h"
#include "xmalloc.h"

#define LIBS		TEST_BUILDDIR "/.libs/"
#define FOLDER_SO	TEST_BUILDDIR "/../connectors/.libs/folder.so"
#define QID		"0006152f1a2b3c4d0001"
#define BODY		"Subject: test\r\n\r\nhello\r\n"
#define HEADER		"gatewayd-envelope 1\nfake header\nend\n"

static char dir[64];
static char err[1024];

/* copy_file - copy src to dst with mode */
static void
copy_file(const char *src, const char *dst, mode_t mode)
{
	char buf[65536];
	ssize_t n;
	int in, out;

	in = open(src, O_RDONLY);
	ck_assert_msg(in != -1, "open %s: %s", src, strerror(errno));
	out = open(dst, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_msg(out != -1, "create %s: %s", dst, strerror(errno));
	while ((n = read(in, buf, sizeof(buf))) > 0)
		ck_assert_int_eq(write(out, buf, (size_t)n), n);
	ck_assert_int_eq(n, 0);
	ck_assert_int_eq(fchmod(out, mode), 0);
	close(in);
	close(out);
}

/* in_dir - path of name in the test directory (four rotating buffers) */
static const char *
in_dir(const char *name)
{
	static char path[4][256];
	static int next;

	next = (next + 1) % 4;
	snprintf(path[next], sizeof(path[next]), "%s/%s", dir, name);
	return path[next];
}

/* setup - private directory with the three test connectors */
static void
setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/check_loader.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	chmod(dir, 0755);
	copy_file(LIBS "testconn.so", in_dir("testconn.so"), 0755);
	copy_file(LIBS "testconn_badabi.so", in_dir("testconn_badabi.so"),
	    0755);
	copy_file(LIBS "testconn_small.so", in_dir("testconn_small.so"), 0755);
	err[0] = '\0';
}

/* teardown - remove the directory */
static void
teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
}

/* fake_job - an envelope and a data file as spool_job_load would give */
static int
fake_job(struct envelope *env, const char *const *rcpts, off_t *off)
{
	char path[512];
	int fd;

	memset(env, 0, sizeof(*env));
	env->version = ENVELOPE_VERSION;
	env->kind = ENVELOPE_JOB;
	snprintf(env->id, sizeof(env->id), "%s", QID);
	env->arrival_us = 1764311000123456LL;
	env->client = xstrdup("192.0.2.1");
	env->helo = xstrdup("scanner");
	env->from = xstrdup("");
	env->body = xstrdup("8BITMIME");
	env->size = (off_t)strlen(BODY);
	env->connector = xstrdup("archive");
	for (; *rcpts != NULL; rcpts++)
		envelope_add_rcpt(env, *rcpts);
	snprintf(path, sizeof(path), "%s/data", dir);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ne(fd, -1);
	ck_assert_int_eq(write(fd, HEADER BODY, strlen(HEADER BODY)),
	    (ssize_t)strlen(HEADER BODY));
	*off = (off_t)strlen(HEADER);
	return fd;
}

/* load_ok - the good connector loads, and delivers through capi */
START_TEST(load_ok)
{
	const char *rc[] = { "ok1@x.org", "temp1@x.org", "perm1@x.org",
	    "done@x.org", NULL };
	char expect[64];
	struct loader ld;
	struct capi_job job;
	struct envelope env;
	void *ctx = NULL;
	off_t off;
	int fd;

	ck_assert_msg(loader_open(dir, "testconn", &ld, err, sizeof(err)) == 0,
	    "%s", err);
	ck_assert_str_eq(ld.conn->name, "testconn");
	ck_assert_int_eq(ld.conn->init(NULL, &ctx, err, sizeof(err)), 0);
	fd = fake_job(&env, rc, &off);
	env.rcpt[3].state = RCPT_DONE;		/* not handed over again */
	capi_job_init(&job, &env, fd, off);
	ck_assert_uint_eq(job.env.nrcpt, 3);
	ck_assert_str_eq(job.env.queue_id, QID);
	ck_assert_str_eq(job.env.sender, "");
	ck_assert_str_eq(job.env.auth_id, "");
	ck_assert(job.env.size == (off_t)strlen(BODY));
	ld.conn->deliver(ctx, &job.env, &job.msg);
	capi_job_results(&job, &env);
	capi_job_free(&job);

	snprintf(expect, sizeof(expect), "testconn: ok (%zu bytes)",
	    strlen(BODY));
	ck_assert_int_eq(env.rcpt[0].state, RCPT_DONE);
	ck_assert_int_eq(env.rcpt[0].code, 250);
	ck_assert_str_eq(env.rcpt[0].status, "2.0.0");
	ck_assert_str_eq(env.rcpt[0].text, expect);
	ck_assert_int_eq(env.rcpt[1].state, RCPT_DEFERRED);
	ck_assert_int_eq(env.rcpt[1].code, 451);
	ck_assert_str_eq(env.rcpt[1].status, "4.2.0");
	ck_assert_int_eq(env.rcpt[2].state, RCPT_FAILED);
	ck_assert_int_eq(env.rcpt[2].code, 550);
	ck_assert_str_eq(env.rcpt[2].status, "5.1.1");
	ck_assert_int_eq(env.rcpt[3].state, RCPT_DONE);
	ck_assert_ptr_null(env.rcpt[3].text);
	ld.conn->fini(ctx);
	close(fd);
	envelope_clear(&env);
	loader_close(&ld);
}
END_TEST

/* crash - a crashing connector takes the process down (SIGSEGV) */
START_TEST(crash)
{
	const char *rc[] = { "crash@x.org", NULL };
	struct loader ld;
	struct capi_job job;
	struct envelope env;
	void *ctx = NULL;
	off_t off;
	int fd;

	ck_assert_int_eq(loader_open(dir, "testconn", &ld, err, sizeof(err)), 0);
	ck_assert_int_eq(ld.conn->init(NULL, &ctx, err, sizeof(err)), 0);
	fd = fake_job(&env, rc, &off);
	capi_job_init(&job, &env, fd, off);
	ld.conn->deliver(ctx, &job.env, &job.msg);
}
END_TEST

/* refuse_abi - another ABI version is refused with a clear message */
START_TEST(refuse_abi)
{
	struct loader ld;
	char expect[256];

	ck_assert_int_eq(loader_open(dir, "testconn_badabi", &ld, err,
	    sizeof(err)), -1);
	snprintf(expect, sizeof(expect), "connector %s was built for "
	    "connector ABI %u, this gatewayd uses ABI %u",
	    in_dir("testconn_badabi.so"), GW_CONNECTOR_ABI_VERSION + 1,
	    GW_CONNECTOR_ABI_VERSION);
	ck_assert_str_eq(err, expect);
	ck_assert_ptr_null(ld.handle);
	ck_assert_ptr_null(ld.conn);
}
END_TEST

/* refuse_small - a descriptor smaller than the fields we use */
START_TEST(refuse_small)
{
	struct loader ld;

	ck_assert_int_eq(loader_open(dir, "testconn_small", &ld, err,
	    sizeof(err)), -1);
	ck_assert_msg(strstr(err, "descriptor is") != NULL, "%s", err);
	ck_assert_msg(strstr(err, "testconn_small.so") != NULL, "%s", err);
}
END_TEST

static const struct mode_case {
	mode_t mode;
	const char *word;
} mode_cases[] = {
	{ 0666, "world writable" },
	{ 0664, "group writable" },
	{ 0757, "world writable" },
};

/* refuse_mode - group- or world-writable files are refused */
START_TEST(refuse_mode)
{
	struct loader ld;

	copy_file(in_dir("testconn.so"), in_dir("loose.so"),
	    mode_cases[_i].mode);
	ck_assert_int_eq(loader_open(dir, "loose", &ld, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, mode_cases[_i].word) != NULL, "%s", err);
	ck_assert_msg(strstr(err, in_dir("loose.so")) != NULL, "%s", err);
}
END_TEST

/* refuse_dir - a world-writable directory is refused */
START_TEST(refuse_dir)
{
	struct loader ld;

	ck_assert_int_eq(chmod(dir, 0777), 0);
	ck_assert_int_eq(loader_open(dir, "testconn", &ld, err, sizeof(err)),
	    -1);
	ck_assert_msg(strstr(err, "world writable") != NULL, "%s", err);
	chmod(dir, 0755);
}
END_TEST

/* refuse_other - missing file, symbolic link, path in the type */
START_TEST(refuse_other)
{
	struct loader ld;

	ck_assert_int_eq(loader_open(dir, "nosuch", &ld, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, in_dir("nosuch.so")) != NULL, "%s", err);
	ck_assert_msg(strstr(err, strerror(ENOENT)) != NULL, "%s", err);
	ck_assert_int_eq(symlink(in_dir("testconn.so"), in_dir("link.so")), 0);
	ck_assert_int_eq(loader_open(dir, "link", &ld, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "not a regular file") != NULL, "%s", err);
	ck_assert_int_eq(loader_open(dir, "../x", &ld, err, sizeof(err)), -1);
	ck_assert_int_eq(loader_open(dir, "", &ld, err, sizeof(err)), -1);
}
END_TEST

/* settings_error - testconn names file:line:column of a bad key */
START_TEST(settings_error)
{
	struct gw_node map, key;
	struct loader ld;
	void *ctx = NULL;

	memset(&map, 0, sizeof(map));
	memset(&key, 0, sizeof(key));
	map.type = GW_NODE_MAP;
	map.child = &key;
	key.type = GW_NODE_SCALAR;
	key.key = "colour";
	key.value = "blue";
	key.file = "gw.yaml";
	key.line = 12;
	key.column = 7;
	ck_assert_int_eq(loader_open(dir, "testconn", &ld, err, sizeof(err)), 0);
	ck_assert_int_eq(ld.conn->init(&map, &ctx, err, sizeof(err)), -1);
	ck_assert_msg(strncmp(err, "gw.yaml:12:7:", 13) == 0, "%s", err);
	loader_close(&ld);
}
END_TEST

/* capi_results - result normalisation, text cap, stream reading */
START_TEST(capi_results)
{
	const char *rc[] = { "a@x", "b@x", "c@x", "d@x", NULL };
	char big[2000], buf[8];
	struct capi_job job;
	struct envelope env;
	off_t off, o2;
	int fd;

	fake_job(&env, rc, &off);
	fd = open(in_dir("data"), O_RDONLY);
	capi_job_init(&job, &env, fd, off);
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	gw_rcpt_set_result(job.rcptv[0], GW_RESULT_OK, 550, "5.1.1", "%s", big);
	gw_rcpt_set_result(job.rcptv[1], GW_RESULT_TEMPFAIL, 421, "4.4.2",
	    "lost %d", 42);
	gw_rcpt_set_result(job.rcptv[2], GW_RESULT_PERMFAIL, 250, "x", NULL);
	ck_assert_str_eq(gw_rcpt_address(job.rcptv[3]), "d@x");
	ck_assert_ptr_null(gw_rcpt_param(job.rcptv[3], "format"));
	ck_assert_int_eq(gw_message_read(&job.msg, buf, 7), 7);
	ck_assert(memcmp(buf, "Subject", 7) == 0);
	ck_assert_int_eq(gw_message_rewind(&job.msg), 0);
	ck_assert_int_eq(gw_message_read(&job.msg, buf, 3), 3);
	ck_assert(memcmp(buf, "Sub", 3) == 0);
	ck_assert_int_eq(gw_message_fd(&job.msg, &o2), fd);
	ck_assert(o2 == off);
	capi_job_results(&job, &env);
	capi_job_free(&job);
	ck_assert_int_eq(env.rcpt[0].state, RCPT_DONE);
	ck_assert_int_eq(env.rcpt[0].code, 250);
	ck_assert_str_eq(env.rcpt[0].status, "2.0.0");
	ck_assert_uint_eq(strlen(env.rcpt[0].text), CAPI_TEXT_MAX);
	ck_assert_int_eq(env.rcpt[1].code, 421);
	ck_assert_str_eq(env.rcpt[1].status, "4.4.2");
	ck_assert_str_eq(env.rcpt[1].text, "lost 42");
	ck_assert_int_eq(env.rcpt[2].state, RCPT_FAILED);
	ck_assert_int_eq(env.rcpt[2].code, 550);
	ck_assert_str_eq(env.rcpt[2].status, "5.3.0");
	ck_assert_int_eq(env.rcpt[3].state, RCPT_DEFERRED);
	ck_assert_int_eq(env.rcpt[3].code, 451);
	ck_assert_str_eq(env.rcpt[3].text, "connector set no result");
	close(fd);
	envelope_clear(&env);
}
END_TEST

/* ---- the folder connector ---- */

/* folder_settings - a one-key settings map */
static void
folder_settings(struct gw_node *map, struct gw_node *keys, size_t n)
{
	size_t i;

	memset(map, 0, sizeof(*map));
	map->type = GW_NODE_MAP;
	map->file = "gw.yaml";
	map->line = 3;
	map->column = 5;
	map->child = &keys[0];
	for (i = 0; i < n; i++) {
		keys[i].type = GW_NODE_SCALAR;
		keys[i].file = "gw.yaml";
		keys[i].line = 4 + (unsigned int)i;
		keys[i].column = 7;
		keys[i].next = i + 1 < n ? &keys[i + 1] : NULL;
	}
}

/* folder_deliver_once - deliver the fake job through folder; rcpt 0 state */
static struct envelope_rcpt
folder_deliver_once(struct loader *ld, void *ctx)
{
	const char *rc[] = { "a@x", "b@x", NULL };
	static struct envelope env;
	struct capi_job job;
	off_t off;
	int fd;

	envelope_clear(&env);
	fd = fake_job(&env, rc, &off);
	capi_job_init(&job, &env, fd, off);
	ld->conn->deliver(ctx, &job.env, &job.msg);
	capi_job_results(&job, &env);
	capi_job_free(&job);
	close(fd);
	ck_assert_int_eq(env.rcpt[1].state, env.rcpt[0].state);
	return env.rcpt[0];
}

/* folder_basic - files, unique names, content, mode, settings errors */
START_TEST(folder_basic)
{
	struct gw_node map, keys[2];
	struct envelope_rcpt r;
	struct loader ld;
	struct stat st;
	char root[256], buf[512], expect[1024];
	void *ctx = NULL;
	int fd;

	copy_file(FOLDER_SO, in_dir("folder.so"), 0755);
	ck_assert_msg(loader_open(dir, "folder", &ld, err, sizeof(err)) == 0,
	    "%s", err);
	ck_assert_int_eq(ld.conn->init(NULL, &ctx, err, sizeof(err)), -1);
	snprintf(root, sizeof(root), "%s/out/scans", dir);
	folder_settings(&map, keys, 2);
	keys[0].key = "path";
	keys[0].value = root;
	keys[1].key = "paht";
	keys[1].value = "/x";
	ck_assert_int_eq(ld.conn->init(&map, &ctx, err, sizeof(err)), -1);
	ck_assert_msg(strncmp(err, "gw.yaml:5:7:", 12) == 0, "%s", err);
	keys[1].key = "mode";
	keys[1].value = "0999";
	ck_assert_int_eq(ld.conn->init(&map, &ctx, err, sizeof(err)), -1);
	keys[1].value = "0604";
	ck_assert_msg(ld.conn->init(&map, &ctx, err, sizeof(err)) == 0, "%s",
	    err);

	r = folder_deliver_once(&ld, ctx);
	ck_assert_int_eq(r.state, RCPT_DONE);
	snprintf(expect, sizeof(expect), "delivered to %s/%s.eml", root, QID);
	ck_assert_str_eq(r.text, expect);
	/* The same job again (as after a crash): the journal says it is done. */
	r = folder_deliver_once(&ld, ctx);
	ck_assert_int_eq(r.state, RCPT_DONE);
	snprintf(expect, sizeof(expect), "already delivered to %s/%s.eml", root,
	    QID);
	ck_assert_str_eq(r.text, expect);
	snprintf(buf, sizeof(buf), "%s/%s-1.eml", root, QID);
	ck_assert_int_eq(stat(buf, &st), -1);
	snprintf(buf, sizeof(buf), "%s/%s.eml", root, QID);
	ck_assert_int_eq(stat(buf, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0604);
	fd = open(buf, O_RDONLY);
	ck_assert_int_eq(read(fd, buf, sizeof(buf)), (ssize_t)strlen(BODY));
	ck_assert(memcmp(buf, BODY, strlen(BODY)) == 0);
	close(fd);
	ck_assert_int_eq(stat(root, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0750);

	/* A root that is a symbolic link is refused when the worker starts. */
	snprintf(buf, sizeof(buf), "%s/out/link", dir);
	ck_assert_int_eq(symlink(root, buf), 0);
	keys[0].value = buf;
	ld.conn->fini(ctx);
	ck_assert_int_eq(ld.conn->init(&map, &ctx, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "symbolic link") != NULL, "%s", err);
	loader_close(&ld);
}
END_TEST

/* loader_suite - all cases */
static Suite *
loader_suite(void)
{
	Suite *s = suite_create("loader");
	TCase *tc = tcase_create("loader");

	tcase_add_unchecked_fixture(tc, setup, teardown);
	tcase_add_test(tc, load_ok);
	tcase_add_test_raise_signal(tc, crash, SIGSEGV);
	tcase_add_test(tc, refuse_abi);
	tcase_add_test(tc, refuse_small);
	tcase_add_loop_test(tc, refuse_mode, 0,
	    (int)(sizeof(mode_cases) / sizeof(mode_cases[0])));
	tcase_add_test(tc, refuse_dir);
	tcase_add_test(tc, refuse_other);
	tcase_add_test(tc, settings_error);
	tcase_add_test(tc, capi_results);
	tcase_add_test(tc, folder_basic);
	suite_add_tcase(s, tc);
	return s;
}

/* main - run the suite; non-zero exit on failure */
int
main(void)
{
	SRunner *sr = srunner_create(loader_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
