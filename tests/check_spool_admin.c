/*
 * check_spool_admin.c - unit tests of spool_admin.c (gatewayctl queue ...)
 *
 * Each test gets a fresh spool with two connectors.  spool_check() is
 * given one planted problem of each kind and must classify each (and
 * nothing else) with the right reason, leave a healthy spool alone, and
 * with repair move exactly the bad files to corrupt/.  spool_locate(),
 * spool_job_remove() and spool_requeue_held() are checked on disk.
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/time.h>
#include <sys/types.h>

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "spool.h"
#include "spool_fixture.h"
#include "spool_admin.h"

static char top[64];
static struct spool *sp;
static char err[SPOOL_ERRLEN];

#define MAX_SEEN 16
struct seen {
	char path[MAX_SEEN][256];
	char what[MAX_SEEN][256];
	int repaired[MAX_SEEN];
	int n;
};

/* setup - a fresh spool with connectors relay and archive */
static void
setup(void)
{
	sp = fixture_spool_open(top, sizeof(top), "/tmp/check_spool_admin.XXXXXX");
}

/* teardown - remove the spool */
static void
teardown(void)
{
	fixture_spool_remove(sp, top);
	sp = NULL;
}

/* exists - does top/<formatted rel> exist? */
static int __attribute__((format(printf, 1, 2)))
exists(const char *fmt, ...)
{
	char rel[300], p[400];
	struct stat st;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(rel, sizeof(rel), fmt, ap);
	va_end(ap);
	snprintf(p, sizeof(p), "%s/%s", top, rel);
	return lstat(p, &st) == 0;
}

/* plant - write a file top/<rel> with text */
static void
plant(const char *rel, const char *text)
{
	char p[400];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", top, rel);
	ck_assert_ptr_nonnull(f = fopen(p, "w"));
	fputs(text, f);
	ck_assert_int_eq(fclose(f), 0);
}

/*
 * route_msg - receive, commit and route one message to connectors; with
 * sync, as the router's next sync does, its incoming/ file unlinked
 */
static void
route_msg(char qid[SPOOL_QID_LEN + 1], const char *const *connectors,
    size_t n, int hold, int sync)
{
	static const char body[] = "Subject: t\r\n\r\nhello\r\n";
	struct envelope env, jobs[2];
	struct spool_msg *m;
	size_t i, r;
	int ok = 0;

	memset(&env, 0, sizeof(env));
	env.kind = ENVELOPE_MESSAGE;
	spool_qid_new(sp, env.id);
	env.arrival_us = (int64_t)time(NULL) * 1000000;
	env.listener = strdup("smtp");
	env.client = strdup("127.0.0.1");
	env.client_name = strdup("");
	env.helo = strdup("h");
	env.proto = strdup("ESMTP");
	env.body = strdup("7BIT");
	env.size = -1;
	env.from = strdup("s@example.com");
	envelope_add_rcpt(&env, "a@example.com");
	ck_assert_ptr_nonnull(m = spool_msg_create(sp, &env, err, sizeof(err)));
	ck_assert_int_eq(spool_msg_write(m, body, sizeof(body) - 1), 0);
	ck_assert_int_eq(spool_msg_flush(m), 0);
	ck_assert_uint_eq(spool_commit(sp, &m, 1, &ok), 1);
	for (i = 0; i < n; i++) {
		envelope_copy(&jobs[i], &env);
		jobs[i].kind = ENVELOPE_JOB;
		jobs[i].connector = strdup(connectors[i]);
		for (r = 0; hold && r < jobs[i].nrcpt; r++)
			envelope_rcpt_set_param(&jobs[i].rcpt[r], "hold", "yes");
	}
	if (spool_route(sp, env.id, jobs, n, err, sizeof(err)) != 0)
		ck_abort_msg("spool_route: %s", err);
	if (sync)
		ck_assert_int_eq(spool_sync(sp), 0);
	for (i = 0; i < n; i++)
		envelope_clear(&jobs[i]);
	memcpy(qid, env.id, SPOOL_QID_LEN + 1);
	envelope_clear(&env);
}

/* put_routed - a message routed and synced */
static void
put_routed(char qid[SPOOL_QID_LEN + 1], const char *const *connectors,
    size_t n, int hold)
{
	route_msg(qid, connectors, n, hold, 1);
}

/* seen_cb - record what spool_check reports */
static void
seen_cb(const struct spool_problem *p, void *arg)
{
	struct seen *s = arg;

	ck_assert_int_lt(s->n, MAX_SEEN);
	snprintf(s->path[s->n], sizeof(s->path[0]), "%s", p->path);
	snprintf(s->what[s->n], sizeof(s->what[0]), "%s", p->what);
	s->repaired[s->n] = p->repaired;
	s->n++;
}

/* find - index of the problem reported for path, or -1 */
static int
find(const struct seen *s, const char *path)
{
	int i;

	for (i = 0; i < s->n; i++)
		if (strcmp(s->path[i], path) == 0)
			return i;
	return -1;
}

/* test_check_healthy - a spool with routed, held and incoming mail is fine */
START_TEST(test_check_healthy)
{
	const char *both[] = { "relay", "archive" };
	char q1[SPOOL_QID_LEN + 1], q2[SPOOL_QID_LEN + 1];
	struct seen s = { .n = 0 };

	put_routed(q1, both, 2, 0);
	put_routed(q2, both, 1, 1);
	ck_assert(exists("hold/relay/%s", q2));
	plant("tmp/0000000000000009ff00", "partial");	/* young: in progress */
	ck_assert_int_eq(spool_check(sp, 0, 3600, seen_cb, &s), 0);
	ck_assert_int_eq(s.n, 0);
	ck_assert_int_eq(spool_check(sp, 1, 3600, seen_cb, &s), 0);
	ck_assert(exists("queue/relay/%s", q1) && exists("data/%s.archive", q1));
	ck_assert(exists("tmp/0000000000000009ff00"));
}
END_TEST

/* The problems planted by test_check_classify and their reasons. */
static const struct {
	const char *path, *what;
} planted[] = {
	{ "queue/relay/0000000000000001ff00", "version" },
	{ "deferred/archive/not-a-qid", "not a queue file name" },
	{ "incoming/0000000000000003ff00", "missing version line" },
	{ "data/0000000000000004ff00.relay", "data link without a job" },
	{ "data/junk", "not a data link name" },
	{ "tmp/0000000000000006ff00", "stray temporary file" },
};

/* test_check_classify - one problem of each kind, then repair */
START_TEST(test_check_classify)
{
	const char *relay[] = { "relay" };
	char good[SPOOL_QID_LEN + 1], orphan[SPOOL_QID_LEN + 1], rel[128];
	struct seen s = { .n = 0 }, again = { .n = 0 };
	size_t i, np = sizeof(planted) / sizeof(planted[0]);
	int k;

	put_routed(good, relay, 1, 0);
	put_routed(orphan, relay, 1, 0);
	snprintf(rel, sizeof(rel), "%s/data/%s.relay", top, orphan);
	ck_assert_int_eq(unlink(rel), 0);		/* job without data */
	plant(planted[0].path, "gatewayd-envelope 999\ngarbage\n");
	plant(planted[1].path, "whatever\n");
	plant(planted[2].path, "not an envelope at all\n");
	plant(planted[3].path, "Subject: x\r\n\r\nbody\r\n");
	plant(planted[4].path, "x");
	plant(planted[5].path, "half a message");
	plant("tmp/spare.5", "an ended job's file, for the next one");
	ck_assert_int_eq(spool_check(sp, 0, 0, seen_cb, &s), (int)np + 1);
	ck_assert_int_eq(find(&s, "tmp/spare.5"), -1);	/* not a stray */
	for (i = 0; i < np; i++) {
		k = find(&s, planted[i].path);
		ck_assert_msg(k >= 0, "%s not reported", planted[i].path);
		ck_assert_msg(strstr(s.what[k], planted[i].what) != NULL,
		    "%s: '%s' does not say '%s'", planted[i].path, s.what[k],
		    planted[i].what);
		ck_assert_int_eq(s.repaired[k], 0);
		ck_assert_msg(exists("%s", planted[i].path), "%s moved "
		    "without repair", planted[i].path);
	}
	snprintf(rel, sizeof(rel), "queue/relay/%s", orphan);
	ck_assert_int_ge(k = find(&s, rel), 0);
	ck_assert_str_eq(s.what[k], "job without its data link");
	snprintf(rel, sizeof(rel), "queue/relay/%s", good);
	ck_assert_int_eq(find(&s, rel), -1);

	s.n = 0;
	ck_assert_int_eq(spool_check(sp, 1, 0, seen_cb, &s), (int)np + 1);
	for (k = 0; k < s.n; k++)
		ck_assert_msg(s.repaired[k], "%s not repaired", s.path[k]);
	for (i = 0; i < np; i++)
		ck_assert_msg(!exists("%s", planted[i].path), "%s still there",
		    planted[i].path);
	ck_assert(exists("corrupt/data-junk"));
	ck_assert(exists("corrupt/tmp-0000000000000006ff00"));
	ck_assert(exists("tmp/spare.5"));
	ck_assert(exists("queue/relay/%s", good) && exists("data/%s.relay",
	    good));
	ck_assert_int_eq(spool_check(sp, 0, 0, seen_cb, &again), 0);
}
END_TEST

/* test_locate_remove - every place of a qid; remove one job and its link (trash/, then swept) */
START_TEST(test_locate_remove)
{
	const char *both[] = { "relay", "archive" };
	struct spool_loc locs[SPOOL_MAX_LOCS];
	char q[SPOOL_QID_LEN + 1];
	int n, i, seen_relay = 0, seen_archive = 0;

	put_routed(q, both, 2, 0);
	ck_assert_int_eq(spool_job_move(sp, "archive", q, SPOOL_QUEUE,
	    SPOOL_HOLD), 0);
	ck_assert_int_eq(n = spool_locate(sp, q, locs, SPOOL_MAX_LOCS), 2);
	for (i = 0; i < n; i++) {
		if (strcmp(locs[i].connector, "relay") == 0)
			seen_relay = locs[i].state == SPOOL_QUEUE;
		if (strcmp(locs[i].connector, "archive") == 0)
			seen_archive = locs[i].state == SPOOL_HOLD;
		ck_assert_int_gt(locs[i].size, 0);
	}
	ck_assert(seen_relay && seen_archive);
	ck_assert_int_eq(spool_job_remove(sp, SPOOL_HOLD, "archive", q, err,
	    sizeof(err)), 0);
	ck_assert(!exists("hold/archive/%s", q) && !exists("data/%s.archive", q));
	ck_assert(exists("data/%s.relay", q));
	ck_assert_int_eq(spool_locate(sp, q, locs, SPOOL_MAX_LOCS), 1);
	/* out of the queue into trash/, unlinked by the sweep */
	ck_assert(exists("trash/%s.archive", q) &&
	    exists("trash/%s.archive.data", q));
	ck_assert(!spool_trash_empty(sp));
	/* three shares of the work: each file in exactly one */
	ck_assert_int_eq(spool_trash_sweep(sp, 0, 3) + spool_trash_sweep(sp,
	    1, 3) + spool_trash_sweep(sp, 2, 3), 2);
	ck_assert_int_eq(spool_trash_sweep(sp, 0, 1), 0);
	ck_assert(spool_trash_empty(sp));
	ck_assert(!exists("trash/%s.archive", q) &&
	    !exists("trash/%s.archive.data", q));
	ck_assert(exists("data/%s.relay", q) && exists("queue/relay/%s", q));
	ck_assert_int_eq(spool_job_remove(sp, SPOOL_HOLD, "archive", q, err,
	    sizeof(err)), -1);
	ck_assert_int_eq(errno, ENOENT);
	ck_assert_int_eq(spool_locate(sp, "0000000000000000ff00", locs,
	    SPOOL_MAX_LOCS), 0);
}
END_TEST

/*
 * test_remove_no_trash - a spool made before trash/ opens, and a removed
 * job is unlinked at once
 */
START_TEST(test_remove_no_trash)
{
	const char *one[] = { "archive" };
	char q[SPOOL_QID_LEN + 1], path[128];
	struct spool *old;

	put_routed(q, one, 1, 1);
	snprintf(path, sizeof(path), "%s/trash", top);
	ck_assert_int_eq(rmdir(path), 0);
	old = spool_open(top, 0, (uid_t)-1, (gid_t)-1, err, sizeof(err));
	ck_assert_msg(old != NULL, "open without trash/: %s", err);
	ck_assert(spool_trash_empty(old));
	ck_assert_int_eq(spool_job_remove(old, SPOOL_HOLD, "archive", q, err,
	    sizeof(err)), 0);
	ck_assert(!exists("hold/archive/%s", q) && !exists("data/%s.archive", q));
	ck_assert(!exists("trash"));
	ck_assert_int_eq(spool_trash_sweep(old, 0, 1), 0);
	spool_close(old);
}
END_TEST

/*
 * test_delete_unsynced - the delete of a message's last job before the
 * router's sync takes its incoming/ file (the same inode) along; one of
 * two jobs, or a requeue's removal, does not
 */
START_TEST(test_delete_unsynced)
{
	const char *both[] = { "relay", "archive" };
	char q[SPOOL_QID_LEN + 1], r[SPOOL_QID_LEN + 1];

	route_msg(q, both, 2, 0, 0);
	ck_assert(exists("incoming/%s", q));	/* until the sync */
	ck_assert_int_eq(spool_job_delete(sp, SPOOL_QUEUE, "relay", q, err,
	    sizeof(err)), 0);
	ck_assert(exists("incoming/%s", q) && exists("data/%s.archive", q));
	ck_assert_int_eq(spool_job_delete(sp, SPOOL_QUEUE, "archive", q, err,
	    sizeof(err)), 0);
	ck_assert(!exists("incoming/%s", q) && !exists("data/%s.archive", q));
	/* the router's sync then finds it gone */
	ck_assert_int_eq(spool_sync(sp), 0);
	/* a requeue links incoming/ back and removes the jobs: kept */
	route_msg(r, both, 1, 1, 1);
	ck_assert_int_eq(spool_requeue_held(sp, r, err, sizeof(err)), 1);
	ck_assert(exists("incoming/%s", r));
}
END_TEST

/* test_requeue_held - held jobs go back to incoming/ with their data */
START_TEST(test_requeue_held)
{
	const char *both[] = { "relay", "archive" };
	char q[SPOOL_QID_LEN + 1], msg[SPOOL_QID_LEN + 1];

	put_routed(q, both, 2, 1);
	ck_assert(exists("hold/relay/%s", q) && exists("hold/archive/%s", q));
	ck_assert_int_eq(spool_requeue_held(sp, q, err, sizeof(err)), 2);
	ck_assert(exists("incoming/%s", q));
	ck_assert(!exists("hold/relay/%s", q) && !exists("hold/archive/%s", q));
	ck_assert(!exists("data/%s.relay", q) && !exists("data/%s.archive", q));
	ck_assert_int_eq(spool_requeue_held(sp, q, err, sizeof(err)), 0);
	/* a message not held is not touched */
	put_routed(msg, both, 1, 0);
	ck_assert_int_eq(spool_requeue_held(sp, msg, err, sizeof(err)), 0);
	ck_assert(exists("queue/relay/%s", msg));
}
END_TEST

static Suite *
spool_admin_suite(void)
{
	Suite *s = suite_create("spool_admin");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_check_healthy);
	tcase_add_test(tc, test_check_classify);
	tcase_add_test(tc, test_locate_remove);
	tcase_add_test(tc, test_remove_no_trash);
	tcase_add_test(tc, test_requeue_held);
	tcase_add_test(tc, test_delete_unsynced);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(spool_admin_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
