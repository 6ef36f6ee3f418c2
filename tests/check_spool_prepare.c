/*
 * check_spool_prepare.c - unit tests of the spool's trust boundary
 *
 * The receiver's own directory (spool_msg_receive, receive/ -> incoming/,
 * spool_recover_received), no symlink followed where a spool directory
 * belongs (spool_open), and, when run as root, the layout spool_prepare()
 * makes or repairs: owners and modes of every directory, a symlink planted
 * in a spool the queue user used to own is refused and its target is left
 * as it was, a directory of a stranger is refused rather than taken over.
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/types.h>

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "spool.h"
#include "spool_fixture.h"

#define Q_UID	41001		/* made-up queue user */
#define Q_GID	41002
#define R_UID	41003		/* made-up receiver user */
#define R_GID	41004

static char top[64];
static char err[SPOOL_ERRLEN];

static const char body[] = "Subject: x\r\n\r\nhello\r\n";
static const char *const extra[] = { "directive", NULL };

/* mkenv - a message envelope with a fresh queue ID */
static void
mkenv(struct envelope *env)
{
	memset(env, 0, sizeof(*env));
	env->kind = ENVELOPE_MESSAGE;
	spool_qid_new(NULL, env->id);
	env->arrival_us = 1000000;
	env->listener = strdup("smtp");
	env->client = strdup("127.0.0.1");
	env->client_name = strdup("localhost");
	env->helo = strdup("scanner1");
	env->proto = strdup("ESMTP");
	env->body = strdup("8BITMIME");
	env->size = -1;
	env->from = strdup("s@example.com");
	envelope_add_rcpt(env, "a@example.com");
}

/* owners - the made-up users of the root tests */
static const struct spool_owners *
owners(void)
{
	static const struct spool_owners o = { Q_UID, Q_GID, R_UID, R_GID };

	return &o;
}

/* at - top/rel */
static const char *
at(const char *rel)
{
	static char buf[2][512];
	static int n;

	n ^= 1;
	snprintf(buf[n], sizeof(buf[n]), "%s/%s", top, rel);
	return buf[n];
}

/* want_dir - rel is a directory with this owner, group and mode */
static void
want_dir(const char *rel, uid_t uid, gid_t gid, mode_t mode)
{
	struct stat st;

	ck_assert_int_eq(lstat(at(rel), &st), 0);
	ck_assert_msg(S_ISDIR(st.st_mode), "%s is a directory", rel);
	ck_assert_uint_eq(st.st_uid, uid);
	ck_assert_uint_eq(st.st_gid, gid);
	ck_assert_uint_eq(st.st_mode & 07777, mode);
}

/* make_top - an empty directory for a spool */
static void
make_top(void)
{
	snprintf(top, sizeof(top), "/tmp/check_prep.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(top));
	ck_assert_int_eq(chmod(top, 0700), 0);
}

START_TEST(test_receive_commit)
{
	struct envelope env;
	struct spool_msg *m;
	struct spool *sp;
	struct stat st;
	char rel[64];
	int ok = 0;

	sp = fixture_spool_open(top, sizeof(top), "/tmp/check_prep.XXXXXX");
	mkenv(&env);
	m = spool_msg_receive(sp, &env, err, sizeof(err));
	ck_assert_msg(m != NULL, "spool_msg_receive: %s", err);
	ck_assert_int_eq(spool_msg_write(m, body, sizeof(body) - 1), 0);
	snprintf(rel, sizeof(rel), "receive/%s", env.id);
	ck_assert_int_eq(lstat(at(rel), &st), 0);
	ck_assert_uint_eq(spool_commit(sp, &m, 1, &ok), 1);
	ck_assert_int_eq(ok, 1);
	ck_assert_int_eq(lstat(at(rel), &st), -1);
	snprintf(rel, sizeof(rel), "incoming/%s", env.id);
	ck_assert_int_eq(lstat(at(rel), &st), 0);
	/* unacknowledged files of the receiver go at start-up, only they */
	envelope_clear(&env);
	mkenv(&env);
	m = spool_msg_receive(sp, &env, err, sizeof(err));
	ck_assert_ptr_nonnull(m);
	ck_assert_int_eq(spool_msg_flush(m), 0);
	ck_assert_int_eq(spool_recover_received(sp), 1);
	ck_assert_int_eq(spool_recover_tmp(sp), 0);
	ck_assert_int_eq(lstat(at(rel), &st), 0);
	spool_msg_abort(m);
	envelope_clear(&env);
	fixture_spool_remove(sp, top);
}
END_TEST

START_TEST(test_open_no_symlink)
{
	char victim[64] = "/tmp/check_prep_victim.XXXXXX", file[128];
	struct spool *sp;
	struct stat st;
	int fd;

	sp = fixture_spool_open(top, sizeof(top), "/tmp/check_prep.XXXXXX");
	spool_close(sp);
	ck_assert_ptr_nonnull(mkdtemp(victim));
	snprintf(file, sizeof(file), "%s/keep", victim);
	fd = open(file, O_CREAT | O_WRONLY, 0600);
	ck_assert_int_ge(fd, 0);
	close(fd);
	ck_assert_int_eq(rmdir(at("tmp")), 0);
	ck_assert_int_eq(symlink(victim, at("tmp")), 0);
	sp = spool_open(top, 0, (uid_t)-1, (gid_t)-1, err, sizeof(err));
	ck_assert_ptr_null(sp);
	ck_assert_msg(strstr(err, "a symbolic link: refusing") != NULL, "err: %s", err);
	ck_assert_int_eq(stat(file, &st), 0);
	ck_assert_int_eq(unlink(file), 0);
	ck_assert_int_eq(rmdir(victim), 0);
	ck_assert_int_eq(unlink(at("tmp")), 0);
	ck_assert_int_eq(mkdir(at("tmp"), 0700), 0);
	fixture_remove_tree(top);
}
END_TEST

START_TEST(test_prepare_layout)
{
	struct envelope env;
	struct spool_msg *m;
	struct spool *sp;
	struct stat st;
	char rel[64];

	if (geteuid() != 0)
		return;		/* chown needs root: CI runs the suite as root */
	make_top();
	ck_assert_msg(spool_prepare(top, owners(), extra, err,
	    sizeof(err)) == 0, "spool_prepare: %s", err);
	want_dir(".", 0, 0, 0755);
	want_dir("receive", R_UID, Q_GID, 02750);
	want_dir("incoming", Q_UID, R_GID, 01730);
	want_dir("tmp", Q_UID, Q_GID, 0700);
	want_dir("queue", Q_UID, Q_GID, 0700);
	want_dir("corrupt", Q_UID, Q_GID, 0700);
	want_dir("trash", Q_UID, Q_GID, 0700);
	want_dir("directive", Q_UID, Q_GID, 0700);
	/* again: nothing to change, nothing refused */
	ck_assert_int_eq(spool_prepare(top, owners(), extra, err,
	    sizeof(err)), 0);
	/* the receiver's files belong to the queue's group, 0660 */
	sp = spool_open(top, 0, (uid_t)-1, (gid_t)-1, err, sizeof(err));
	ck_assert_ptr_nonnull(sp);
	mkenv(&env);
	m = spool_msg_receive(sp, &env, err, sizeof(err));
	ck_assert_ptr_nonnull(m);
	snprintf(rel, sizeof(rel), "receive/%s", env.id);
	ck_assert_int_eq(lstat(at(rel), &st), 0);
	ck_assert_uint_eq(st.st_gid, Q_GID);
	ck_assert_uint_eq(st.st_mode & 07777, 0660);
	spool_msg_abort(m);
	envelope_clear(&env);
	spool_close(sp);
	fixture_remove_tree(top);
}
END_TEST

START_TEST(test_prepare_legacy_symlink)
{
	char victim[64] = "/tmp/check_prep_victim.XXXXXX", file[128];
	struct stat st;
	int fd;

	if (geteuid() != 0)
		return;
	/* a spool as the queue user owned it, with tmp/ swapped for a link */
	make_top();
	ck_assert_int_eq(chown(top, Q_UID, Q_GID), 0);
	ck_assert_ptr_nonnull(mkdtemp(victim));
	snprintf(file, sizeof(file), "%s/keep", victim);
	fd = open(file, O_CREAT | O_WRONLY, 0600);
	ck_assert_int_ge(fd, 0);
	close(fd);
	ck_assert_int_eq(symlink(victim, at("tmp")), 0);
	ck_assert_int_eq(symlink(victim, at("directive")), 0);
	ck_assert_int_eq(spool_prepare(top, owners(), extra, err,
	    sizeof(err)), -1);
	ck_assert_msg(strstr(err, "refusing to follow") != NULL, "err: %s",
	    err);
	/* the spool is root's now; the link's target is as it was */
	want_dir(".", 0, 0, 0755);
	ck_assert_int_eq(stat(victim, &st), 0);
	ck_assert_uint_eq(st.st_uid, 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0700);
	ck_assert_int_eq(stat(file, &st), 0);
	ck_assert_uint_eq(st.st_uid, 0);
	/* the administrator removes the links: the next start repairs */
	ck_assert_int_eq(unlink(at("tmp")), 0);
	ck_assert_int_eq(unlink(at("directive")), 0);
	ck_assert_int_eq(spool_prepare(top, owners(), extra, err,
	    sizeof(err)), 0);
	want_dir("tmp", Q_UID, Q_GID, 0700);
	ck_assert_int_eq(unlink(file), 0);
	ck_assert_int_eq(rmdir(victim), 0);
	fixture_remove_tree(top);
}
END_TEST

START_TEST(test_prepare_stranger)
{
	struct stat st;

	if (geteuid() != 0)
		return;
	make_top();
	ck_assert_int_eq(mkdir(at("queue"), 0700), 0);
	ck_assert_int_eq(chown(at("queue"), 42999, 42999), 0);
	ck_assert_int_eq(spool_prepare(top, owners(), extra, err,
	    sizeof(err)), -1);
	ck_assert_msg(strstr(err, "refusing to take it over") != NULL,
	    "err: %s", err);
	ck_assert_int_eq(stat(at("queue"), &st), 0);
	ck_assert_uint_eq(st.st_uid, 42999);
	fixture_remove_tree(top);
}
END_TEST

/* read_mark - the number in top/qidfloor, 0 when none */
static unsigned long long
read_mark(void)
{
	char buf[64] = "";
	FILE *f = fopen(at("qidfloor"), "r");

	if (f == NULL)
		return 0;
	if (fgets(buf, sizeof(buf), f) == NULL)
		buf[0] = '\0';
	fclose(f);
	return strtoull(buf, NULL, 10);
}

START_TEST(test_qid_mark)
{
	unsigned long long now, ahead;
	struct spool *sp;
	struct stat st;
	FILE *f;

	sp = fixture_spool_open(top, sizeof(top), "/tmp/check_prep.XXXXXX");
	now = (unsigned long long)time(NULL) * 1000000ULL;
	/* the first mark: the clock, readable by every process */
	ck_assert_int_eq(spool_qid_highwater(sp, err, sizeof(err)), 0);
	ck_assert_uint_ge(read_mark(), now);
	ck_assert_int_eq(lstat(at("qidfloor"), &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0644);
	/* a mark ahead of the clock (the clock went back): kept, and the floor
	 * is above it by a period and a second */
	ahead = now + 3600ULL * 1000000ULL;
	f = fopen(at("qidfloor"), "w");
	ck_assert_ptr_nonnull(f);
	fprintf(f, "%llu\n", ahead);
	fclose(f);
	ck_assert_int_eq(spool_qid_highwater(sp, err, sizeof(err)), 0);
	ck_assert_uint_eq(read_mark(), ahead);
	ck_assert_uint_ge(spool_qid_floor(sp),
	    ahead + (SPOOL_QID_HW_PERIOD + 1) * 1000000ULL);
	/* a mark that is not a number is no floor, and is replaced */
	f = fopen(at("qidfloor"), "w");
	ck_assert_ptr_nonnull(f);
	fputs("soon\n", f);
	fclose(f);
	ck_assert_uint_lt(spool_qid_floor(sp), ahead);
	ck_assert_int_eq(spool_qid_highwater(sp, err, sizeof(err)), 0);
	ck_assert_uint_ge(read_mark(), now);
	fixture_spool_remove(sp, top);
}
END_TEST

/* main - run the suite */
int
main(void)
{
	Suite *s = suite_create("spool_prepare");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_receive_commit);
	tcase_add_test(tc, test_open_no_symlink);
	tcase_add_test(tc, test_prepare_layout);
	tcase_add_test(tc, test_prepare_legacy_symlink);
	tcase_add_test(tc, test_prepare_stranger);
	tcase_add_test(tc, test_qid_mark);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
