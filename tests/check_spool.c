/*
 * check_spool.c - unit tests of the spool: every state transition
 *
 * Each test gets a fresh spool in a mkdtemp directory with two connectors
 * ("relay" and "archive") and checks the files on disk after each step:
 * receive and commit, abort, routing with shared data links, claim,
 * deferral, done, failure, quarantine, crash recovery, idempotent
 * re-routing, queue IDs, and a write error while receiving (full disk).
 */
#include "config.h"

#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/vfs.h>
#include <sys/wait.h>

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifdef HAVE_LIBURING
#include <liburing.h>
#endif

#include "spool.h"
#include "spool_fixture.h"

static char top[64];		/* the test's spool directory */
static struct spool *sp;
static char err[SPOOL_ERRLEN];

static const char body1[] = "Subject: test\r\n\r\nhello\r\n.. dot\r\nend\n";

/* setup - a fresh spool with connectors relay and archive */
static void
setup(void)
{
	sp = fixture_spool_open(top, sizeof(top), "/tmp/check_spool.XXXXXX");
}

/* teardown - remove the spool */
static void
teardown(void)
{
	fixture_spool_remove(sp, top);
	sp = NULL;
}

/* path - top/rel in a static rotating buffer */
static const char * __attribute__((format(printf, 1, 2)))
path(const char *fmt, ...)
{
	static char bufs[4][512];
	static int n;
	char rel[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(rel, sizeof(rel), fmt, ap);
	va_end(ap);
	n = (n + 1) % 4;
	snprintf(bufs[n], sizeof(bufs[n]), "%s/%s", top, rel);
	return bufs[n];
}

/* count - entries (not dotfiles) in top/rel */
static int
count(const char *rel)
{
	struct dirent *de;
	DIR *d;
	int n = 0;

	d = opendir(path("%s", rel));
	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

/* exists - does top/<formatted rel> exist? */
static int __attribute__((format(printf, 1, 2)))
exists(const char *fmt, ...)
{
	struct stat st;
	char rel[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(rel, sizeof(rel), fmt, ap);
	va_end(ap);
	return lstat(path("%s", rel), &st) == 0;
}

/* slurp - whole content of a file */
static char *
slurp(const char *file, size_t *len)
{
	FILE *f = fopen(file, "r");
	char *buf;
	long n;

	ck_assert_ptr_nonnull(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = malloc((size_t)n + 1);
	ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	*len = (size_t)n;
	return buf;
}

/* make_env - a message envelope with a fresh queue ID and two recipients */
static void
make_env(struct envelope *env)
{
	memset(env, 0, sizeof(*env));
	env->kind = ENVELOPE_MESSAGE;
	spool_qid_new(sp, env->id);
	env->arrival_us = (int64_t)time(NULL) * 1000000;
	env->listener = strdup("smtp");
	env->client = strdup("127.0.0.1");
	env->client_name = strdup("localhost");
	env->helo = strdup("scanner1");
	env->proto = strdup("ESMTP");
	env->body = strdup("8BITMIME");
	env->size = -1;
	env->from = strdup("s@example.com");
	envelope_add_rcpt(env, "a@example.com");
	envelope_add_rcpt(env, "b@example.com");
}

/* receive - create, write body, return the open spool_msg */
static struct spool_msg *
receive(struct envelope *env, const void *body, size_t len)
{
	struct spool_msg *m;

	make_env(env);
	m = spool_msg_create(sp, env, err, sizeof(err));
	if (m == NULL)
		ck_abort_msg("spool_msg_create: %s", err);
	ck_assert_int_eq(spool_msg_write(m, body, len), 0);
	ck_assert_int_eq(spool_msg_flush(m), 0);
	return m;
}

/* put - receive and commit one message; qid in env->id */
static void
put(struct envelope *env)
{
	struct spool_msg *m = receive(env, body1, sizeof(body1) - 1);
	int ok = 0;

	ck_assert_uint_eq(spool_commit(sp, &m, 1, &ok), 1);
	ck_assert_int_eq(ok, 1);
}

/* make_job - a job of env for connector; failed: every rcpt failed */
static void
make_job(struct envelope *job, const struct envelope *env,
    const char *connector, int failed)
{
	size_t i;

	envelope_copy(job, env);
	job->kind = ENVELOPE_JOB;
	job->connector = strdup(connector);
	for (i = 0; i < job->nrcpt; i++) {
		envelope_rcpt_set_param(&job->rcpt[i], "route", connector);
		if (failed) {
			job->rcpt[i].state = RCPT_FAILED;
			job->rcpt[i].code = 550;
			strcpy(job->rcpt[i].status, "5.1.1");
		}
	}
}

/* route2 - route env to relay and archive and sync */
static void
route2(const struct envelope *env)
{
	struct envelope jobs[2];

	make_job(&jobs[0], env, "relay", 0);
	make_job(&jobs[1], env, "archive", 0);
	if (spool_route(sp, env->id, jobs, 2, err, sizeof(err)) != 0)
		ck_abort_msg("spool_route: %s", err);
	ck_assert_int_eq(spool_sync(sp), 0);
	envelope_clear(&jobs[0]);
	envelope_clear(&jobs[1]);
}

START_TEST(test_commit_one)
{
	struct envelope env;
	struct spool_msg *m;
	struct stat st;
	char *text, *file, *big;
	size_t tlen, flen, i, blen = 200000;
	int ok = -1;

	big = malloc(blen);
	for (i = 0; i < blen; i++)
		big[i] = (char)(i * 7 + i / 251);
	make_env(&env);
	m = spool_msg_create(sp, &env, err, sizeof(err));
	ck_assert_ptr_nonnull(m);
	ck_assert_str_eq(spool_msg_id(m), env.id);
	ck_assert(exists("tmp/%s", env.id));
	/* small, big (past the buffer) and small writes again */
	ck_assert_int_eq(spool_msg_write(m, big, 10), 0);
	ck_assert_int_eq(spool_msg_write(m, big + 10, 150000), 0);
	ck_assert_int_eq(spool_msg_write(m, big + 150010, blen - 150010), 0);
	ck_assert_int_eq(spool_msg_size(m), (off_t)blen);
	ck_assert_int_eq(spool_msg_flush(m), 0);
	ck_assert_int_eq(count("incoming"), 0);
	ck_assert_uint_eq(spool_commit(sp, &m, 1, &ok), 1);
	ck_assert_int_eq(ok, 1);
	ck_assert_int_eq(count("tmp"), 0);
	ck_assert_int_eq(count("incoming"), 1);
	ck_assert_int_eq(stat(path("incoming/%s", env.id), &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0600);
	/* the envelope as given, its size sealed: "size 000000200000" */
	env.size = ENVELOPE_SIZE_SEAL;
	ck_assert_int_eq(envelope_format(&env, &text, &tlen), 0);
	ck_assert_ptr_nonnull(strstr(text, "\nsize 000000000000\n"));
	memcpy(strstr(text, "\nsize ") + 6, "000000200000", 12);
	file = slurp(path("incoming/%s", env.id), &flen);
	ck_assert_uint_eq(flen, tlen + blen);
	ck_assert_mem_eq(file, text, tlen);
	ck_assert_mem_eq(file + tlen, big, blen);
	free(file);
	free(text);
	free(big);
	envelope_clear(&env);
}
END_TEST

START_TEST(test_abort)
{
	struct envelope env;
	struct spool_msg *m = receive(&env, body1, sizeof(body1) - 1);

	ck_assert_int_eq(count("tmp"), 1);
	spool_msg_abort(m);
	ck_assert_int_eq(count("tmp"), 0);
	ck_assert_int_eq(count("incoming"), 0);
	envelope_clear(&env);
}
END_TEST

START_TEST(test_create_exclusive)
{
	struct envelope env;
	struct spool_msg *m = receive(&env, body1, 3);

	/* the same queue ID twice is refused, not overwritten */
	ck_assert_ptr_null(spool_msg_create(sp, &env, err, sizeof(err)));
	ck_assert_int_eq(errno, EEXIST);
	ck_assert_ptr_nonnull(strstr(err, env.id));
	spool_msg_abort(m);
	envelope_clear(&env);
}
END_TEST

START_TEST(test_commit_batch)
{
	struct envelope env[5];
	struct spool_msg *m[5];
	int ok[5], i;

	for (i = 0; i < 5; i++)
		m[i] = receive(&env[i], body1, sizeof(body1) - 1);
	ck_assert_int_eq(count("tmp"), 5);
	ck_assert_uint_eq(spool_commit(sp, m, 5, ok), 5);
	for (i = 0; i < 5; i++) {
		ck_assert_int_eq(ok[i], 1);
		ck_assert(exists("incoming/%s", env[i].id));
		envelope_clear(&env[i]);
	}
	ck_assert_int_eq(count("tmp"), 0);
	ck_assert_int_eq(count("incoming"), 5);
}
END_TEST

START_TEST(test_incoming_open)
{
	struct envelope env, back;
	char buf[256];
	off_t off;
	ssize_t n;
	int fd;

	put(&env);
	if (spool_incoming_open(sp, env.id, &back, &off, &fd, err, sizeof(err)) != 0)
		ck_abort_msg("spool_incoming_open: %s", err);
	ck_assert_str_eq(back.id, env.id);
	ck_assert_uint_eq(back.nrcpt, 2);
	ck_assert_str_eq(back.rcpt[1].addr, "b@example.com");
	/* the size, unknown when the receiver wrote the envelope, is known now */
	ck_assert_int_eq(env.size, -1);
	ck_assert_int_eq(back.size, (off_t)sizeof(body1) - 1);
	/* the fd is read-only and positioned on the message */
	ck_assert_int_eq(fcntl(fd, F_GETFL) & O_ACCMODE, O_RDONLY);
	n = read(fd, buf, sizeof(buf));
	ck_assert_int_eq(n, (ssize_t)sizeof(body1) - 1);
	ck_assert_mem_eq(buf, body1, sizeof(body1) - 1);
	ck_assert_int_eq(pread(fd, buf, 4, off), 4);
	ck_assert_mem_eq(buf, "Subj", 4);
	close(fd);
	envelope_clear(&back);
	ck_assert_int_eq(spool_incoming_open(sp, "00000000000000000000", &back,
	    &off, &fd, err, sizeof(err)), -1);
	ck_assert_int_eq(errno, ENOENT);
	ck_assert_int_eq(spool_incoming_open(sp, "../etc/passwd", &back,
	    &off, &fd, err, sizeof(err)), -1);
	envelope_clear(&env);
}
END_TEST

START_TEST(test_route_two)
{
	struct envelope env, job;
	struct stat a, b;

	put(&env);
	route2(&env);
	ck_assert_int_eq(count("incoming"), 0);
	ck_assert(exists("queue/relay/%s", env.id));
	ck_assert(exists("queue/archive/%s", env.id));
	ck_assert_int_eq(count("data"), 2);
	ck_assert_int_eq(stat(path("data/%s.relay", env.id), &a), 0);
	ck_assert_int_eq(stat(path("data/%s.archive", env.id), &b), 0);
	ck_assert_int_eq(a.st_ino, b.st_ino);
	ck_assert_int_eq(a.st_nlink, 2);
	ck_assert_int_eq(count("tmp"), 0);
	/* the job file is a job envelope for its connector */
	ck_assert_int_eq(spool_job_read(sp, SPOOL_QUEUE, "relay", env.id, &job,
	    err, sizeof(err)), 0);
	ck_assert_int_eq(job.kind, ENVELOPE_JOB);
	ck_assert_str_eq(job.connector, "relay");
	ck_assert_str_eq(envelope_rcpt_param(&job.rcpt[0], "route"), "relay");
	envelope_clear(&job);
	/* a scan of queue/relay finds it */
	envelope_clear(&env);
}
END_TEST

static int scan_n;
static time_t scan_mtime;

/* scan_count - spool_scan callback counting entries */
static int
scan_count(const char *qid, time_t mtime, off_t size, void *arg)
{
	ck_assert(spool_qid_valid(qid));
	ck_assert_int_gt(size, 0);
	scan_mtime = mtime;
	scan_n++;
	return arg != NULL && scan_n == *(int *)arg ? 42 : 0;
}

START_TEST(test_claim_defer_done)
{
	struct envelope env, job;
	struct stat st, dst;
	char buf[256];
	time_t when = time(NULL) + 3600;
	off_t off;
	int dfd, keep;

	put(&env);
	route2(&env);
	keep = open(path("data/%s.relay", env.id), O_RDONLY);
	ck_assert_int_ge(keep, 0);
	ck_assert_int_eq(spool_job_claim(sp, "relay", env.id, SPOOL_QUEUE), 0);
	ck_assert(!exists("queue/relay/%s", env.id));
	ck_assert(exists("active/relay/%s", env.id));
	if (spool_job_load(sp, "relay", env.id, &job, &dfd, &off, err,
	    sizeof(err)) != 0)
		ck_abort_msg("spool_job_load: %s", err);
	ck_assert_int_eq(read(dfd, buf, sizeof(buf)), (ssize_t)sizeof(body1) - 1);
	ck_assert_mem_eq(buf, body1, sizeof(body1) - 1);
	close(dfd);
	/* a temporary failure: deferred, mtime = next attempt */
	job.attempts++;
	job.next_attempt = when;
	job.last_error = strdup("451 4.4.1 upstream down");
	job.rcpt[0].state = RCPT_DEFERRED;
	job.rcpt[0].code = 451;
	ck_assert_int_eq(spool_job_update(sp, "relay", env.id, &job,
	    SPOOL_DEFERRED, err, sizeof(err)), 0);
	envelope_clear(&job);
	ck_assert_int_eq(count("active/relay"), 0);
	ck_assert_int_eq(count("tmp"), 0);
	ck_assert_int_eq(stat(path("deferred/relay/%s", env.id), &st), 0);
	ck_assert_int_eq(st.st_mtime, when);
	scan_n = 0;
	ck_assert_int_eq(spool_scan(sp, SPOOL_DEFERRED, "relay", scan_count, NULL), 0);
	ck_assert_int_eq(scan_n, 1);
	ck_assert_int_eq(scan_mtime, when);
	ck_assert_int_eq(spool_job_read(sp, SPOOL_DEFERRED, "relay", env.id,
	    &job, err, sizeof(err)), 0);
	ck_assert_uint_eq(job.attempts, 1);
	ck_assert_str_eq(job.last_error, "451 4.4.1 upstream down");
	envelope_clear(&job);
	/* time has come: back to the queue, claim, done */
	ck_assert_int_eq(spool_job_move(sp, "relay", env.id, SPOOL_DEFERRED,
	    SPOOL_QUEUE), 0);
	ck_assert_int_eq(spool_job_claim(sp, "relay", env.id, SPOOL_QUEUE), 0);
	ck_assert_int_eq(spool_job_done(sp, "relay", env.id), 0);
	ck_assert_int_eq(count("active/relay"), 0);
	ck_assert(!exists("data/%s.relay", env.id));
	ck_assert_int_eq(stat(path("data/%s.archive", env.id), &st), 0);
	ck_assert_int_eq(st.st_nlink, 1);
	/* the last job ends: the message's inode goes */
	ck_assert_int_eq(spool_job_claim(sp, "archive", env.id, SPOOL_QUEUE), 0);
	ck_assert_int_eq(spool_job_done(sp, "archive", env.id), 0);
	ck_assert_int_eq(count("data"), 0);
	ck_assert_int_eq(fstat(keep, &dst), 0);
	ck_assert_int_eq(dst.st_nlink, 0);
	close(keep);
	ck_assert_int_eq(spool_job_done(sp, "archive", env.id), -1);
	ck_assert_int_eq(errno, ENOENT);
	envelope_clear(&env);
}
END_TEST

START_TEST(test_failed_and_hold)
{
	struct envelope env, jobs[2], job;
	off_t off;
	int dfd;

	put(&env);
	make_job(&jobs[0], &env, "relay", 1);	/* every rcpt failed */
	make_job(&jobs[1], &env, "archive", 0);
	ck_assert_int_eq(spool_route(sp, env.id, jobs, 2, err, sizeof(err)), 0);
	ck_assert_int_eq(spool_sync(sp), 0);
	ck_assert(exists("failed/relay/%s", env.id));
	ck_assert_int_eq(count("queue/relay"), 0);
	ck_assert_int_eq(count("queue/archive"), 1);
	/* a permanent failure from a worker: update to failed */
	ck_assert_int_eq(spool_job_claim(sp, "archive", env.id, SPOOL_QUEUE), 0);
	ck_assert_int_eq(spool_job_load(sp, "archive", env.id, &job, &dfd, &off,
	    err, sizeof(err)), 0);
	close(dfd);
	job.rcpt[0].state = RCPT_FAILED;
	ck_assert_int_eq(spool_job_update(sp, "archive", env.id, &job,
	    SPOOL_FAILED, err, sizeof(err)), 0);
	ck_assert_int_eq(count("failed/archive"), 1);
	ck_assert_int_eq(count("active/archive"), 0);
	/* an operator holds, then releases */
	ck_assert_int_eq(spool_job_move(sp, "archive", env.id, SPOOL_FAILED,
	    SPOOL_HOLD), 0);
	ck_assert_int_eq(count("hold/archive"), 1);
	ck_assert_int_eq(spool_job_claim(sp, "archive", env.id, SPOOL_HOLD), 0);
	ck_assert_int_eq(spool_job_update(sp, "archive", env.id, &job,
	    SPOOL_QUEUE, err, sizeof(err)), 0);
	ck_assert_int_eq(count("queue/archive"), 1);
	/* updates need the job to be active, and a job for that connector */
	ck_assert_int_eq(spool_job_update(sp, "archive", env.id, &job,
	    SPOOL_QUEUE, err, sizeof(err)), -1);
	ck_assert_int_eq(errno, ENOENT);
	ck_assert_int_eq(spool_job_update(sp, "relay", env.id, &job,
	    SPOOL_QUEUE, err, sizeof(err)), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(count("tmp"), 0);
	envelope_clear(&job);
	envelope_clear(&jobs[0]);
	envelope_clear(&jobs[1]);
	envelope_clear(&env);
}
END_TEST

/* write_abs - create file with content */
static void
write_abs(const char *file, const char *content, size_t len)
{
	int fd = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, content, len), (ssize_t)len);
	close(fd);
}

/* write_file - create top/rel with content */
static void
write_file(const char *rel, const char *content, size_t len)
{
	write_abs(path("%s", rel), content, len);
}

/*
 * The seal: a committed message's envelope holds its size, a file whose
 * length is not its sealed size (a crash before the commit's sync) is
 * refused, whichever path wrote the envelope.
 */
START_TEST(test_seal)
{
	struct envelope env, back;
	struct spool_msg *m;
	char rel[64], addr[64], *text, *file;
	size_t len, i;
	off_t off;
	int fd, ok = 0;

	/* sealed in the buffer (small message), flushed before the commit */
	m = receive(&env, body1, sizeof(body1) - 1);
	ck_assert_int_eq(spool_msg_write(m, "x", 1), -1);	/* after the seal */
	ck_assert_int_eq(errno, EINVAL);
	spool_msg_abort(m);
	envelope_clear(&env);
	m = receive(&env, body1, sizeof(body1) - 1);
	ck_assert_uint_eq(spool_commit(sp, &m, 1, &ok), 1);
	ck_assert_int_eq(ok, 1);
	snprintf(rel, sizeof(rel), "incoming/%s", env.id);
	file = slurp(path("%s", rel), &len);
	snprintf(addr, sizeof(addr), "\nsize %012zu\n", sizeof(body1) - 1);
	ck_assert_ptr_nonnull(strstr(file, addr));
	free(file);
	ck_assert_int_eq(spool_incoming_open(sp, env.id, &back, &off, &fd, err,
	    sizeof(err)), 0);
	ck_assert_int_eq(back.size, (off_t)(sizeof(body1) - 1));
	close(fd);
	envelope_clear(&back);
	/* one byte short (the end of the data not on disk) or one too many */
	ck_assert_int_eq(truncate(path("%s", rel), (off_t)len - 1), 0);
	ck_assert_int_eq(spool_incoming_open(sp, env.id, &back, &off, &fd, err,
	    sizeof(err)), -1);
	ck_assert_int_eq(errno, EBADMSG);
	ck_assert_ptr_nonnull(strstr(err, "incomplete"));
	ck_assert_int_eq(truncate(path("%s", rel), (off_t)len + 1), 0);
	ck_assert_int_eq(spool_incoming_open(sp, env.id, &back, &off, &fd, err,
	    sizeof(err)), -1);
	ck_assert_int_eq(errno, EBADMSG);
	/* the placeholder never sealed (the envelope's block not on disk) */
	env.size = ENVELOPE_SIZE_SEAL;
	ck_assert_int_eq(envelope_format(&env, &text, &len), 0);
	ck_assert_ptr_nonnull(strstr(text, "\nsize 000000000000\n"));
	file = malloc(len + sizeof(body1));
	memcpy(file, text, len);
	memcpy(file + len, body1, sizeof(body1) - 1);
	ck_assert_int_eq(unlink(path("%s", rel)), 0);
	write_file(rel, file, len + sizeof(body1) - 1);
	ck_assert_int_eq(spool_incoming_open(sp, env.id, &back, &off, &fd, err,
	    sizeof(err)), -1);
	ck_assert_int_eq(errno, EBADMSG);
	free(file);
	free(text);
	/* written before the seal existed ("size -1"): its length is its size */
	env.size = -1;
	ck_assert_int_eq(envelope_format(&env, &text, &len), 0);
	ck_assert_int_eq(unlink(path("%s", rel)), 0);
	file = malloc(len + 3);
	memcpy(file, text, len);
	memcpy(file + len, "abc", 3);
	write_file(rel, file, len + 3);
	ck_assert_int_eq(spool_incoming_open(sp, env.id, &back, &off, &fd, err,
	    sizeof(err)), 0);
	ck_assert_int_eq(back.size, 3);
	close(fd);
	envelope_clear(&back);
	free(file);
	free(text);
	ck_assert_int_eq(unlink(path("%s", rel)), 0);
	envelope_clear(&env);

	/* an envelope larger than the buffer is written at once: pwrite seal,
	   and a commit without a flush seals too */
	make_env(&env);
	for (i = 0; i < 3000; i++) {
		snprintf(addr, sizeof(addr), "recipient-%05zu@example.com", i);
		envelope_add_rcpt(&env, addr);
	}
	m = spool_msg_create(sp, &env, err, sizeof(err));
	ck_assert_ptr_nonnull(m);
	ck_assert_int_eq(spool_msg_write(m, body1, sizeof(body1) - 1), 0);
	ck_assert_uint_eq(spool_commit(sp, &m, 1, &ok), 1);
	ck_assert_int_eq(ok, 1);
	ck_assert_int_eq(spool_incoming_open(sp, env.id, &back, &off, &fd, err,
	    sizeof(err)), 0);
	ck_assert_uint_gt((uintmax_t)off, 65536);
	ck_assert_int_eq(back.size, (off_t)(sizeof(body1) - 1));
	ck_assert_uint_eq(back.nrcpt, 3002);
	close(fd);
	envelope_clear(&back);
	envelope_clear(&env);
}
END_TEST

START_TEST(test_quarantine)
{
	struct envelope env, back;
	char qid[SPOOL_QID_LEN + 1], rel[128], *text;
	size_t len;
	off_t off;
	int fd;

	/* a garbage job */
	put(&env);
	route2(&env);
	snprintf(rel, sizeof(rel), "queue/relay/%s", env.id);
	write_file(rel, "garbage\n", 8);
	ck_assert_int_eq(spool_job_claim(sp, "relay", env.id, SPOOL_QUEUE), 0);
	ck_assert_int_eq(spool_job_load(sp, "relay", env.id, &back, &fd, &off,
	    err, sizeof(err)), -1);
	ck_assert_int_eq(errno, EBADMSG);
	ck_assert_ptr_nonnull(strstr(err, "line 1: missing version line"));
	ck_assert_ptr_nonnull(strstr(err, env.id));
	ck_assert_int_eq(spool_quarantine(sp, SPOOL_ACTIVE, "relay", env.id,
	    err, sizeof(err)), 0);
	ck_assert(exists("corrupt/active-relay-%s", env.id));
	ck_assert(exists("corrupt/data-relay-%s", env.id));
	ck_assert_int_eq(count("active/relay"), 0);
	ck_assert_int_eq(count("data"), 1);
	/* a truncated incoming message */
	envelope_clear(&env);
	make_env(&env);
	ck_assert_int_eq(envelope_format(&env, &text, &len), 0);
	snprintf(rel, sizeof(rel), "incoming/%s", env.id);
	write_file(rel, text, len / 2);
	ck_assert_int_eq(spool_incoming_open(sp, env.id, &back, &off, &fd, err,
	    sizeof(err)), -1);
	ck_assert_int_eq(errno, EBADMSG);
	ck_assert_ptr_nonnull(strstr(err, "truncated"));
	ck_assert_int_eq(spool_quarantine(sp, SPOOL_INCOMING, NULL, env.id,
	    err, sizeof(err)), 0);
	ck_assert(exists("corrupt/incoming-%s", env.id));
	/* an empty one, and one whose envelope names another message */
	spool_qid_new(sp, qid);
	snprintf(rel, sizeof(rel), "incoming/%s", qid);
	write_file(rel, "", 0);
	ck_assert_int_eq(spool_incoming_open(sp, qid, &back, &off, &fd, err,
	    sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "empty"));
	write_file(rel, text, len);
	ck_assert_int_eq(spool_incoming_open(sp, qid, &back, &off, &fd, err,
	    sizeof(err)), -1);
	ck_assert_int_eq(errno, EBADMSG);
	free(text);
	envelope_clear(&env);
}
END_TEST

START_TEST(test_recover_tmp)
{
	struct envelope env;
	struct spool_msg *m = receive(&env, body1, 5);

	write_file("tmp/00000000000000000001", "x", 1);
	write_file("tmp/00000000000000000001.relay.job", "x", 1);
	ck_assert_int_eq(spool_recover_tmp(sp), 3);
	ck_assert_int_eq(count("tmp"), 0);
	/* abort of a message whose file is already gone is harmless */
	spool_msg_abort(m);
	envelope_clear(&env);
}
END_TEST

START_TEST(test_recover_active)
{
	struct envelope env[3];
	int i;

	for (i = 0; i < 3; i++) {
		put(&env[i]);
		route2(&env[i]);
		ck_assert_int_eq(spool_job_claim(sp, "relay", env[i].id,
		    SPOOL_QUEUE), 0);
	}
	ck_assert_int_eq(count("active/relay"), 3);
	ck_assert_int_eq(count("queue/relay"), 0);
	ck_assert_int_eq(spool_recover_active(sp, "relay"), 3);
	ck_assert_int_eq(count("active/relay"), 0);
	ck_assert_int_eq(count("queue/relay"), 3);
	ck_assert_int_eq(spool_recover_active(sp, "archive"), 0);
	for (i = 0; i < 3; i++)
		envelope_clear(&env[i]);
}
END_TEST

START_TEST(test_route_idempotent)
{
	struct envelope env, jobs[2];
	struct stat st;
	char rel[64];

	put(&env);
	make_job(&jobs[0], &env, "relay", 0);
	make_job(&jobs[1], &env, "archive", 0);
	/* a staged job left in tmp/ by a crash is replaced */
	snprintf(rel, sizeof(rel), "tmp/%s.relay.job", env.id);
	write_file(rel, "stale", 5);
	/* crash before the sync: incoming/ is still there, route again */
	ck_assert_int_eq(spool_route(sp, env.id, jobs, 2, err, sizeof(err)), 0);
	ck_assert(exists("incoming/%s", env.id));
	ck_assert(!exists("tmp/%s.relay.job", env.id));
	ck_assert_int_eq(count("tmp"), 0);
	ck_assert_int_eq(spool_route(sp, env.id, jobs, 2, err, sizeof(err)), 0);
	ck_assert_int_eq(spool_sync(sp), 0);
	ck_assert_int_eq(count("incoming"), 0);
	ck_assert_int_eq(count("queue/relay"), 1);
	ck_assert_int_eq(count("queue/archive"), 1);
	ck_assert_int_eq(count("data"), 2);
	/* crash after writing the jobs, before the unlink of incoming/ */
	ck_assert_int_eq(link(path("data/%s.relay", env.id),
	    path("incoming/%s", env.id)), 0);
	/* meanwhile the relay worker has claimed its job: no duplicate */
	ck_assert_int_eq(spool_job_claim(sp, "relay", env.id, SPOOL_QUEUE), 0);
	write_file("tmp/leftover", "x", 1);
	ck_assert_int_eq(spool_route(sp, env.id, jobs, 2, err, sizeof(err)), 0);
	ck_assert_int_eq(spool_sync(sp), 0);
	ck_assert_int_eq(count("incoming"), 0);
	ck_assert_int_eq(count("queue/relay"), 0);
	ck_assert_int_eq(count("active/relay"), 1);
	ck_assert_int_eq(count("queue/archive"), 1);
	ck_assert_int_eq(count("tmp"), 1);
	ck_assert_int_eq(stat(path("data/%s.relay", env.id), &st), 0);
	ck_assert_int_eq(st.st_nlink, 2);
	/* a stale data link of another file is refused, incoming/ kept */
	ck_assert_int_eq(unlink(path("data/%s.archive", env.id)), 0);
	write_abs(path("data/%s.archive", env.id), "x", 1);
	ck_assert_int_eq(link(path("data/%s.relay", env.id),
	    path("incoming/%s", env.id)), 0);
	ck_assert_int_eq(spool_route(sp, env.id, jobs, 2, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "another file"));
	ck_assert_int_eq(spool_sync(sp), 0);
	ck_assert_int_eq(count("incoming"), 1);
	/* no jobs at all is refused: a message is never dropped */
	ck_assert_int_eq(spool_route(sp, env.id, jobs, 0, err, sizeof(err)), -1);
	envelope_clear(&jobs[0]);
	envelope_clear(&jobs[1]);
	envelope_clear(&env);
}
END_TEST

/* The unlinks of incoming/ done by spool_sync wait for the next sync. */
START_TEST(test_sync_unlinks)
{
	struct envelope env, job;

	put(&env);
	make_job(&job, &env, "relay", 0);
	ck_assert_int_eq(spool_routed_count(sp), 0);
	ck_assert_int_eq(spool_routed_pending(sp, env.id), 0);
	ck_assert_int_eq(spool_route(sp, env.id, &job, 1, err, sizeof(err)), 0);
	ck_assert_int_eq(spool_unlinks_pending(sp), 0);
	/* routed: the message stays in incoming/ until the sync */
	ck_assert_int_eq(spool_routed_count(sp), 1);
	ck_assert_int_eq(spool_routed_pending(sp, env.id), 1);
	ck_assert_int_eq(count("incoming"), 1);
	ck_assert_int_eq(spool_sync(sp), 0);
	ck_assert_int_eq(spool_routed_count(sp), 0);
	ck_assert_int_eq(spool_routed_pending(sp, env.id), 0);
	ck_assert_int_eq(count("incoming"), 0);
	ck_assert_int_eq(spool_unlinks_pending(sp), 1);
	ck_assert_int_eq(spool_sync_unlinks(sp), 0);
	ck_assert_int_eq(spool_unlinks_pending(sp), 0);
	/* a later sync takes them along too */
	envelope_clear(&job);
	envelope_clear(&env);
	put(&env);
	make_job(&job, &env, "relay", 0);
	ck_assert_int_eq(spool_route(sp, env.id, &job, 1, err, sizeof(err)), 0);
	ck_assert_int_eq(spool_sync(sp), 0);
	ck_assert_int_eq(spool_unlinks_pending(sp), 1);
	ck_assert_int_eq(spool_sync(sp), 0);
	ck_assert_int_eq(spool_unlinks_pending(sp), 0);
	envelope_clear(&job);
	envelope_clear(&env);
}
END_TEST

/*
 * A batch of one on ext4 or XFS is made durable by an fsync of its file
 * (no syncfs: the claim does not move); a batch of two, or one elsewhere,
 * by a syncfs, whose start is the claim.
 */
START_TEST(test_commit_fsync_one)
{
	struct envelope e1, e2;
	struct spool_msg *m[2];
	struct timespec last, first;
	struct statfs fs;
	int ok[2], fsync_names;

	ck_assert_int_eq(statfs(top, &fs), 0);
	fsync_names = fs.f_type == 0xEF53 || fs.f_type == 0x58465342;
	put(&e1);
	ck_assert(exists("incoming/%s", e1.id));
	ck_assert_int_eq(spool_last_sync(sp, &last), fsync_names ? -1 : 0);
	envelope_clear(&e1);
	m[0] = receive(&e1, body1, sizeof(body1) - 1);
	m[1] = receive(&e2, body1, sizeof(body1) - 1);
	ck_assert_uint_eq(spool_commit(sp, m, 2, ok), 2);
	ck_assert(ok[0] && ok[1]);
	ck_assert_int_eq(spool_last_sync(sp, &first), 0);
	envelope_clear(&e1);
	envelope_clear(&e2);
	put(&e1);
	ck_assert_int_eq(spool_last_sync(sp, &last), 0);
	if (fsync_names)	/* the fsync of one moved nothing */
		ck_assert(last.tv_sec == first.tv_sec &&
		    last.tv_nsec == first.tv_nsec);
	envelope_clear(&e1);
}
END_TEST

/*
 * Sync claims: a sync that started after the jobs were written finishes
 * the routing of the claim owner's messages (their incoming/ files go);
 * one that started before, an unopened message or another owner's does not.
 */
START_TEST(test_sync_claims)
{
	struct envelope env, env2, job, job2, back;
	struct timespec before, after, last;
	off_t off;
	int fd;

	put(&env);
	make_job(&job, &env, "relay", 0);
	/* a syncfs (spool_commit's of a batch) is the claim the receiver sends */
	ck_assert_int_eq(spool_sync(sp), 0);
	ck_assert_int_eq(spool_last_sync(sp, &last), 0);
	spool_set_claim_owner(sp, geteuid());
	ck_assert_int_eq(spool_incoming_open(sp, env.id, &back, &off, &fd, err,
	    sizeof(err)), 0);
	close(fd);
	envelope_clear(&back);
	clock_gettime(CLOCK_MONOTONIC, &before);
	ck_assert_int_eq(spool_route(sp, env.id, &job, 1, err, sizeof(err)), 0);
	clock_gettime(CLOCK_MONOTONIC, &after);
	/* routed without being opened: never covered by a claim */
	put(&env2);
	make_job(&job2, &env2, "relay", 0);
	ck_assert_int_eq(spool_route(sp, env2.id, &job2, 1, err, sizeof(err)), 0);
	ck_assert_int_eq(spool_routed_count(sp), 2);
	/* a sync that started before the jobs were written: nothing */
	ck_assert_uint_eq(spool_synced(sp, &before), 0);
	ck_assert_int_eq(spool_routed_pending(sp, env.id), 1);
	ck_assert_int_eq(count("incoming"), 2);
	/* one that started after: the owner's message is done */
	ck_assert_uint_eq(spool_synced(sp, &after), 1);
	ck_assert_int_eq(spool_routed_pending(sp, env.id), 0);
	ck_assert_int_eq(spool_routed_pending(sp, env2.id), 1);
	ck_assert(!exists("incoming/%s", env.id));
	ck_assert(exists("queue/relay/%s", env.id));
	ck_assert_int_eq(spool_unlinks_pending(sp), 1);
	/* a later claim takes that unlink along */
	clock_gettime(CLOCK_MONOTONIC, &after);
	ck_assert_uint_eq(spool_synced(sp, &after), 0);
	ck_assert_int_eq(spool_unlinks_pending(sp), 0);
	ck_assert_int_eq(spool_sync(sp), 0);
	ck_assert_int_eq(count("incoming"), 0);
	envelope_clear(&job);
	envelope_clear(&env);
	envelope_clear(&job2);
	envelope_clear(&env2);

	/* another owner's message, opened: not covered */
	put(&env);
	make_job(&job, &env, "relay", 0);
	spool_set_claim_owner(sp, geteuid() + 1);
	ck_assert_int_eq(spool_incoming_open(sp, env.id, &back, &off, &fd, err,
	    sizeof(err)), 0);
	close(fd);
	envelope_clear(&back);
	ck_assert_int_eq(spool_route(sp, env.id, &job, 1, err, sizeof(err)), 0);
	clock_gettime(CLOCK_MONOTONIC, &after);
	ck_assert_uint_eq(spool_synced(sp, &after), 0);
	ck_assert_int_eq(spool_routed_pending(sp, env.id), 1);
	/* no owner at all: none either */
	spool_set_claim_owner(sp, (uid_t)-1);
	ck_assert_uint_eq(spool_synced(sp, &after), 0);
	ck_assert_int_eq(spool_sync(sp), 0);
	ck_assert_int_eq(count("incoming"), 0);
	envelope_clear(&job);
	envelope_clear(&env);
}
END_TEST

/* Route errors: unknown connector directory, job for another message. */
START_TEST(test_route_errors)
{
	struct envelope env, job;

	put(&env);
	make_job(&job, &env, "nosuch", 0);
	ck_assert_int_eq(spool_route(sp, env.id, &job, 1, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "nosuch"));
	envelope_clear(&job);
	make_job(&job, &env, "relay", 0);
	job.id[0] = job.id[0] == '0' ? '1' : '0';
	ck_assert_int_eq(spool_route(sp, env.id, &job, 1, err, sizeof(err)), -1);
	ck_assert_int_eq(count("incoming"), 1);
	ck_assert_int_eq(count("queue/relay"), 0);
	envelope_clear(&job);
	envelope_clear(&env);
}
END_TEST

/* fo_job - a failover job of env for connector: rcpt i only, pending */
static void
fo_job(struct envelope *job, const struct envelope *env, const char *connector,
    size_t i)
{
	struct envelope one = *env;	/* read by envelope_copy only */

	one.rcpt = &env->rcpt[i];
	one.nrcpt = 1;
	memset(job, 0, sizeof(*job));
	envelope_copy(job, &one);
	job->kind = ENVELOPE_JOB;
	job->connector = strdup(connector);
}

/* Failover: a job's recipients handed to another connector's queue. */
START_TEST(test_failover)
{
	struct envelope env, fo, fo2, got;
	struct stat a, b;
	char buf[256], *text;
	size_t len;
	off_t off;
	int dfd;

	ck_assert_int_eq(spool_connector_init(sp, "fax", (uid_t)-1, (gid_t)-1,
	    err, sizeof(err)), 0);
	put(&env);
	route2(&env);		/* relay and archive */
	ck_assert_int_eq(spool_job_claim(sp, "relay", env.id, SPOOL_QUEUE), 0);
	/* the common case: a hard link and the same queue ID */
	fo_job(&fo, &env, "fax", 0);
	if (spool_job_failover(sp, "relay", &fo, err, sizeof(err)) != 0)
		ck_abort_msg("spool_job_failover: %s", err);
	ck_assert_str_eq(fo.id, env.id);
	ck_assert(exists("queue/fax/%s", env.id));
	ck_assert_int_eq(stat(path("data/%s.relay", env.id), &a), 0);
	ck_assert_int_eq(stat(path("data/%s.fax", env.id), &b), 0);
	ck_assert_uint_eq(a.st_ino, b.st_ino);
	ck_assert_int_eq(spool_job_read(sp, SPOOL_QUEUE, "fax", env.id, &got,
	    err, sizeof(err)), 0);
	ck_assert_str_eq(got.connector, "fax");
	ck_assert_uint_eq(got.nrcpt, 1);
	ck_assert_str_eq(got.rcpt[0].addr, "a@example.com");
	envelope_clear(&got);
	/* archive already has a job of this message: a copy, a new ID */
	fo_job(&fo2, &env, "archive", 1);
	if (spool_job_failover(sp, "relay", &fo2, err, sizeof(err)) != 0)
		ck_abort_msg("spool_job_failover: %s", err);
	ck_assert_str_ne(fo2.id, env.id);
	ck_assert(spool_qid_valid(fo2.id));
	ck_assert(exists("queue/archive/%s", env.id));	/* untouched */
	ck_assert(exists("queue/archive/%s", fo2.id));
	ck_assert_int_eq(stat(path("data/%s.archive", fo2.id), &b), 0);
	ck_assert_uint_ne(a.st_ino, b.st_ino);
	ck_assert_uint_eq(b.st_nlink, 1);
	text = slurp(path("data/%s.archive", fo2.id), &len);
	snprintf(buf, sizeof(buf), "\nid %s\n", fo2.id);
	ck_assert_ptr_nonnull(strstr(text, buf));
	ck_assert_int_eq(strcmp(text + len - (sizeof(body1) - 1), body1), 0);
	free(text);
	ck_assert_int_eq(count("tmp"), 0);
	ck_assert_int_eq(spool_job_claim(sp, "archive", fo2.id, SPOOL_QUEUE), 0);
	ck_assert_int_eq(spool_job_load(sp, "archive", fo2.id, &got, &dfd, &off,
	    err, sizeof(err)), 0);
	ck_assert_int_eq(read(dfd, buf, sizeof(buf)), (ssize_t)sizeof(body1) - 1);
	ck_assert_mem_eq(buf, body1, sizeof(body1) - 1);
	ck_assert_str_eq(got.rcpt[0].addr, "b@example.com");
	close(dfd);
	envelope_clear(&got);
	ck_assert_int_eq(spool_job_done(sp, "archive", fo2.id), 0);
	envelope_clear(&fo2);
	/* a pending recipient with "hold" parks the job, like spool_route */
	envelope_clear(&fo);
	fo_job(&fo, &env, "fax", 1);
	envelope_rcpt_set_param(&fo.rcpt[0], "hold", "rule");
	ck_assert_int_eq(spool_job_claim(sp, "fax", env.id, SPOOL_QUEUE), 0);
	ck_assert_int_eq(spool_job_done(sp, "fax", env.id), 0);
	ck_assert_int_eq(spool_job_failover(sp, "relay", &fo, err,
	    sizeof(err)), 0);
	ck_assert_str_eq(fo.id, env.id);
	ck_assert(exists("hold/fax/%s", env.id));
	ck_assert(!exists("queue/fax/%s", env.id));
	envelope_clear(&fo);
	/* errors: to itself, no such source data; nothing is left behind */
	fo_job(&fo, &env, "relay", 0);
	ck_assert_int_eq(spool_job_failover(sp, "relay", &fo, err,
	    sizeof(err)), -1);
	ck_assert_int_eq(errno, EINVAL);
	envelope_clear(&fo);
	ck_assert_int_eq(spool_job_done(sp, "relay", env.id), 0);
	fo_job(&fo, &env, "fax", 0);
	ck_assert_int_eq(spool_job_claim(sp, "fax", env.id, SPOOL_HOLD), 0);
	ck_assert_int_eq(spool_job_done(sp, "fax", env.id), 0);
	ck_assert_int_eq(spool_job_failover(sp, "relay", &fo, err,
	    sizeof(err)), -1);
	ck_assert_int_eq(errno, ENOENT);
	ck_assert_str_eq(fo.id, env.id);
	ck_assert_int_eq(count("queue/fax"), 0);
	ck_assert(!exists("data/%s.fax", env.id));
	envelope_clear(&fo);
	envelope_clear(&env);
}
END_TEST

#define NQID	100000

START_TEST(test_qid_order)
{
	char prev[SPOOL_QID_LEN + 1], cur[SPOOL_QID_LEN + 1];
	int i;

	spool_qid_setup(0xab, 0);
	spool_qid_new(sp, prev);
	ck_assert(spool_qid_valid(prev));
	ck_assert_mem_eq(prev + 14, "ab", 2);
	for (i = 0; i < NQID; i++) {
		spool_qid_new(sp, cur);
		ck_assert(spool_qid_valid(cur));
		if (strcmp(prev, cur) >= 0)
			ck_abort_msg("%s not after %s", cur, prev);
		memcpy(prev, cur, sizeof(cur));
	}
	ck_assert(!spool_qid_valid("0006152f1a2b3c4d000"));
	ck_assert(!spool_qid_valid("0006152f1a2b3c4d00011"));
	ck_assert(!spool_qid_valid("0006152F1A2B3C4D0001"));
	ck_assert(!spool_qid_valid("0006152f1a2b3c4d000g"));
	ck_assert(!spool_qid_valid(""));
	ck_assert(!spool_qid_valid(".."));
	ck_assert(spool_qid_valid("0006152f1a2b3c4d0001"));
}
END_TEST

static char (*qids)[SPOOL_QID_LEN + 1];

/* qid_thread - fill half of qids */
static void *
qid_thread(void *arg)
{
	size_t base = (size_t)(uintptr_t)arg, i;

	for (i = 0; i < NQID / 2; i++)
		spool_qid_new(sp, qids[base + i]);
	return NULL;
}

/* qid_cmp - qsort comparator */
static int
qid_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

START_TEST(test_qid_threads)
{
	pthread_t t1, t2;
	size_t i;

	qids = calloc(NQID, sizeof(*qids));
	pthread_create(&t1, NULL, qid_thread, (void *)(uintptr_t)0);
	pthread_create(&t2, NULL, qid_thread, (void *)(uintptr_t)(NQID / 2));
	pthread_join(t1, NULL);
	pthread_join(t2, NULL);
	qsort(qids, NQID, sizeof(*qids), qid_cmp);
	for (i = 1; i < NQID; i++)
		if (strcmp(qids[i - 1], qids[i]) == 0)
			ck_abort_msg("duplicate %s", qids[i]);
	free(qids);
}
END_TEST

/* qid_time - the time part of a queue ID */
static uint64_t
qid_time(const char *qid)
{
	char t[15];

	memcpy(t, qid, 14);
	t[14] = '\0';
	return strtoull(t, NULL, 16);
}

#define NGEN	3
#define NPERGEN	20000

START_TEST(test_qid_instances)
{
	/* two instances, and two sub-instances of one (a worker's children) */
	static const unsigned int inst[NGEN] = { 1, 2, 1 }, sub[NGEN] = { 0, 0, 1 };
	struct spool_qidgen g[NGEN];
	char prev[NGEN][SPOOL_QID_LEN + 1];
	uint64_t now = UINT64_C(1700000000000000);
	size_t i, j, n = 0;

	qids = calloc(NGEN * NPERGEN, sizeof(*qids));
	for (j = 0; j < NGEN; j++) {
		spool_qidgen_init(&g[j], inst[j], sub[j], 0);
		prev[j][0] = '\0';
	}
	/*
	 * Every generator sees the same clock: readings that stay put for
	 * 3,000 IDs (the counter wraps into the time part) and a step back.
	 */
	for (i = 0; i < NPERGEN; i++) {
		if (i % 3000 == 0)
			now += i == 9000 ? (uint64_t)-5000000 : 7;
		for (j = 0; j < NGEN; j++) {
			spool_qidgen_next(&g[j], now, qids[n]);
			ck_assert(spool_qid_valid(qids[n]));
			if (strcmp(prev[j], qids[n]) >= 0)
				ck_abort_msg("%s not after %s", qids[n], prev[j]);
			memcpy(prev[j], qids[n++], SPOOL_QID_LEN + 1);
		}
	}
	qsort(qids, n, sizeof(*qids), qid_cmp);
	for (i = 1; i < n; i++)
		if (strcmp(qids[i - 1], qids[i]) == 0)
			ck_abort_msg("duplicate %s", qids[i]);
	/* the instance and sub-instance show where the ID was made */
	ck_assert_mem_eq(prev[1] + 14, "02", 2);
	ck_assert_uint_eq(strtoul(prev[2] + 16, NULL, 16) >>
	    SPOOL_QID_COUNT_BITS, 1);
	free(qids);
}
END_TEST

START_TEST(test_qid_clock_back)
{
	char before[SPOOL_QID_LEN + 1], after[SPOOL_QID_LEN + 1];
	struct spool_qidgen g;
	struct timespec ts[2];
	uint64_t t, floor;
	int i;

	/* the last run: its clock was an hour ahead of the one we have now */
	t = (uint64_t)time(NULL) * 1000000 + UINT64_C(3600000000);
	spool_qidgen_init(&g, 0, 0, 0);
	spool_qidgen_next(&g, t, before);
	ck_assert_uint_eq(qid_time(before), t);
	/* ... and its last message was linked into data/ then */
	ts[0].tv_sec = ts[1].tv_sec = (time_t)(t / 1000000);
	ts[0].tv_nsec = ts[1].tv_nsec = (long)(t % 1000000) * 1000;
	ck_assert_int_eq(utimensat(AT_FDCWD, path("data"), ts, 0), 0);
	floor = spool_qid_floor(sp);
	ck_assert_uint_ge(floor, t + SPOOL_QID_MARGIN_US);
	/* a restart with the clock an hour back: every ID is after it */
	spool_qidgen_init(&g, 0, 0, floor);
	for (i = 0; i < 2000; i++) {
		spool_qidgen_next(&g, t - UINT64_C(3600000000) + (uint64_t)i,
		    after);
		ck_assert_uint_ge(qid_time(after), floor);
		if (strcmp(before, after) >= 0)
			ck_abort_msg("%s not after %s", after, before);
		memcpy(before, after, sizeof(after));
	}
	/* a clock past the floor is taken as it is */
	spool_qidgen_next(&g, floor + 5000000, after);
	ck_assert_uint_eq(qid_time(after), floor + 5000000);
}
END_TEST

START_TEST(test_commit_collision)
{
	struct envelope env, env2;
	struct spool_msg *m;
	char *before, *now;
	size_t blen, nlen;
	int ok = -1;

	put(&env);
	before = slurp(path("incoming/%s", env.id), &blen);
	/* another message that got the same queue ID */
	make_env(&env2);
	memcpy(env2.id, env.id, sizeof(env.id));
	envelope_put(&env2, &env2.from, strdup("other@example.com"));
	m = spool_msg_create(sp, &env2, err, sizeof(err));
	ck_assert_ptr_nonnull(m);
	ck_assert_int_eq(spool_msg_write(m, "x\r\n", 3), 0);
	ck_assert_int_eq(spool_msg_flush(m), 0);
	ck_assert_uint_eq(spool_commit(sp, &m, 1, &ok), 0);
	ck_assert_int_eq(ok, 0);	/* not acknowledged: the client gets 451 */
	now = slurp(path("incoming/%s", env.id), &nlen);
	ck_assert_uint_eq(nlen, blen);
	ck_assert_mem_eq(now, before, blen);
	ck_assert_int_eq(count("tmp"), 0);
	ck_assert_int_eq(count("incoming"), 1);
	/* while tmp/<qid> is taken, a second create fails: draw another ID */
	m = spool_msg_create(sp, &env2, err, sizeof(err));
	ck_assert_ptr_nonnull(m);
	ck_assert_ptr_null(spool_msg_create(sp, &env2, err, sizeof(err)));
	ck_assert_int_eq(errno, EEXIST);
	spool_msg_abort(m);
	free(before);
	free(now);
	envelope_clear(&env);
	envelope_clear(&env2);
}
END_TEST

/* spare_count - tmp/ entries named spare.<n> */
static int
spare_count(void)
{
	struct dirent *de;
	DIR *d = opendir(path("tmp"));
	int n = 0;

	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d)) != NULL)
		n += strncmp(de->d_name, "spare.", 6) == 0;
	closedir(d);
	return n;
}

/* reopen - a fresh handle on the spool (a router just started) */
static void
reopen(void)
{
	spool_close(sp);
	sp = spool_open(top, 0, (uid_t)-1, (gid_t)-1, err, sizeof(err));
	if (sp == NULL)
		ck_abort_msg("spool_open: %s", err);
}

/*
 * Spare job files: an ended job's inode waits in tmp/ and the next new
 * job is written into it, whole and no longer than itself; a spare
 * linked elsewhere is never written; at most SPOOL_SPARES (256) wait;
 * start-up removes them without counting them as unfinished work.
 */
START_TEST(test_spare_jobs)
{
	struct envelope env, env2, env3, job;
	struct stat st, sj;
	char *text, *want, name[32];
	size_t len, wlen;
	int i;

	put(&env);
	route2(&env);
	ck_assert_int_eq(stat(path("queue/relay/%s", env.id), &sj), 0);
	ck_assert_int_eq(spool_job_claim(sp, "relay", env.id, SPOOL_QUEUE), 0);
	ck_assert_int_eq(spool_job_done(sp, "relay", env.id), 0);
	ck_assert_int_eq(count("active/relay"), 0);
	ck_assert(!exists("data/%s.relay", env.id));
	ck_assert_int_eq(spare_count(), 1);
	ck_assert_int_eq(count("tmp"), 1);
	/* the next new job takes it (a fresh handle: no earlier look) */
	reopen();
	put(&env2);
	make_job(&job, &env2, "relay", 0);
	ck_assert_int_eq(spool_route(sp, env2.id, &job, 1, err, sizeof(err)), 0);
	ck_assert_int_eq(spool_sync(sp), 0);
	ck_assert_int_eq(stat(path("queue/relay/%s", env2.id), &st), 0);
	ck_assert_uint_eq(st.st_ino, sj.st_ino);
	ck_assert_int_eq(spare_count(), 0);
	/* byte for byte the job, cut to its length */
	ck_assert_int_eq(envelope_format(&job, &want, &wlen), 0);
	text = slurp(path("queue/relay/%s", env2.id), &len);
	ck_assert_uint_eq(len, wlen);
	ck_assert_mem_eq(text, want, len);
	free(text);
	free(want);
	envelope_clear(&job);
	/* a spare linked to a spool file too is passed over, not written */
	write_file("tmp/spare.7", "keep me\n", 8);
	ck_assert_int_eq(link(path("tmp/spare.7"), path("hold/other")), 0);
	reopen();
	put(&env3);
	make_job(&job, &env3, "archive", 0);
	ck_assert_int_eq(spool_route(sp, env3.id, &job, 1, err, sizeof(err)), 0);
	ck_assert_int_eq(spool_sync(sp), 0);
	envelope_clear(&job);
	ck_assert_int_eq(spare_count(), 0);
	text = slurp(path("hold/other"), &len);
	ck_assert_uint_eq(len, 8);
	ck_assert_mem_eq(text, "keep me\n", 8);
	free(text);
	ck_assert_int_eq(stat(path("hold/other"), &st), 0);
	ck_assert_uint_eq(st.st_nlink, 1);
	ck_assert_int_eq(unlink(path("hold/other")), 0);
	/* every name taken: an ended job is unlinked, not kept */
	for (i = 0; i < 256; i++) {
		snprintf(name, sizeof(name), "tmp/spare.%d", i);
		write_file(name, "", 0);
	}
	ck_assert_int_eq(spool_job_claim(sp, "relay", env2.id, SPOOL_QUEUE), 0);
	ck_assert_int_eq(spool_job_done(sp, "relay", env2.id), 0);
	ck_assert_int_eq(count("active/relay"), 0);
	ck_assert_int_eq(spare_count(), 256);
	/* start-up: spares removed, only unfinished work counted */
	write_file("tmp/unfinished", "x", 1);
	write_file("tmp/spare.256", "", 0);	/* not a spare's name */
	ck_assert_int_eq(spool_recover_tmp(sp), 2);
	ck_assert_int_eq(count("tmp"), 0);
	envelope_clear(&env);
	envelope_clear(&env2);
	envelope_clear(&env3);
}
END_TEST

START_TEST(test_job_collisions)
{
	static const char other[] = "not this job's file\n";
	struct envelope env, job;
	char *text;
	size_t len;

	struct envelope env3, stale;
	struct stat st1, st2;

	put(&env);
	route2(&env);
	/* re-routing onto the job already there keeps that file */
	ck_assert_int_eq(stat(path("queue/relay/%s", env.id), &st1), 0);
	ck_assert_int_eq(linkat(AT_FDCWD, path("data/%s.relay", env.id),
	    AT_FDCWD, path("incoming/%s", env.id), 0), 0);
	make_job(&job, &env, "relay", 0);
	ck_assert_int_eq(spool_route(sp, env.id, &job, 1, err, sizeof(err)), 0);
	ck_assert_int_eq(spool_sync(sp), 0);
	ck_assert_int_eq(stat(path("queue/relay/%s", env.id), &st2), 0);
	ck_assert_uint_eq(st1.st_ino, st2.st_ino);
	ck_assert_int_eq(count("corrupt"), 0);
	/*
	 * ... but only when it is whole and this message's: a file that
	 * does not parse, or a sound job of another message (what a job file
	 * rewritten in place may hold after a power failure), goes to
	 * corrupt/ and the job is written again
	 */
	write_abs(path("queue/relay/%s", env.id), other,
	    sizeof(other) - 1);
	ck_assert_int_eq(linkat(AT_FDCWD, path("data/%s.relay", env.id),
	    AT_FDCWD, path("incoming/%s", env.id), 0), 0);
	ck_assert_int_eq(spool_route(sp, env.id, &job, 1, err, sizeof(err)), 0);
	ck_assert_int_eq(spool_sync(sp), 0);
	ck_assert_int_eq(count("corrupt"), 1);
	text = slurp(path("corrupt/queue-relay-%s", env.id), &len);
	ck_assert_uint_eq(len, sizeof(other) - 1);
	ck_assert_mem_eq(text, other, len);
	free(text);
	ck_assert_int_eq(spool_job_read(sp, SPOOL_QUEUE, "relay", env.id,
	    &env3, err, sizeof(err)), 0);
	ck_assert_str_eq(env3.id, env.id);
	envelope_clear(&env3);
	put(&env3);
	make_job(&stale, &env3, "relay", 0);
	ck_assert_int_eq(envelope_format(&stale, &text, &len), 0);
	write_abs(path("queue/relay/%s", env.id), text, len);
	free(text);
	ck_assert_int_eq(rename(path("queue/relay/%s", env.id),
	    path("hold/relay/%s", env.id)), 0);
	ck_assert_int_eq(linkat(AT_FDCWD, path("data/%s.relay", env.id),
	    AT_FDCWD, path("incoming/%s", env.id), 0), 0);
	ck_assert_int_eq(spool_route(sp, env.id, &job, 1, err, sizeof(err)), 0);
	ck_assert_int_eq(spool_sync(sp), 0);
	ck_assert_int_eq(count("corrupt"), 2);
	ck_assert_int_eq(access(path("corrupt/hold-relay-%s", env.id), F_OK), 0);
	ck_assert_int_eq(access(path("hold/relay/%s", env.id), F_OK), -1);
	envelope_clear(&env3);
	ck_assert_int_eq(spool_job_read(sp, SPOOL_QUEUE, "relay", env.id,
	    &env3, err, sizeof(err)), 0);
	ck_assert_str_eq(env3.id, env.id);
	envelope_clear(&env3);
	envelope_clear(&stale);
	envelope_clear(&job);
	/* an update whose target state has that name already */
	ck_assert_int_eq(spool_job_claim(sp, "relay", env.id, SPOOL_QUEUE), 0);
	write_abs(path("deferred/relay/%s", env.id), other,
	    sizeof(other) - 1);
	make_job(&job, &env, "relay", 0);
	job.attempts = 1;
	job.next_attempt = time(NULL) + 60;
	ck_assert_int_eq(spool_job_update(sp, "relay", env.id, &job,
	    SPOOL_DEFERRED, err, sizeof(err)), -1);
	ck_assert_int_eq(errno, EEXIST);
	ck_assert(exists("active/relay/%s", env.id));
	text = slurp(path("deferred/relay/%s", env.id), &len);
	ck_assert_uint_eq(len, sizeof(other) - 1);
	ck_assert_mem_eq(text, other, len);
	free(text);
	/* a move or a claim onto a taken name, and the recovery at start-up */
	ck_assert_int_eq(spool_job_move(sp, "relay", env.id, SPOOL_ACTIVE,
	    SPOOL_DEFERRED), -1);
	ck_assert_int_eq(errno, EEXIST);
	ck_assert_int_eq(spool_job_claim(sp, "relay", env.id, SPOOL_DEFERRED),
	    -1);
	ck_assert_int_eq(errno, EEXIST);
	write_abs(path("queue/relay/%s", env.id), other,
	    sizeof(other) - 1);
	ck_assert_int_eq(spool_recover_active(sp, "relay"), 0);
	ck_assert(exists("active/relay/%s", env.id));
	text = slurp(path("queue/relay/%s", env.id), &len);
	ck_assert_mem_eq(text, other, sizeof(other) - 1);
	free(text);
	/* once the names are free the job moves as before */
	ck_assert_int_eq(unlink(path("deferred/relay/%s", env.id)), 0);
	ck_assert_int_eq(spool_job_update(sp, "relay", env.id, &job,
	    SPOOL_DEFERRED, err, sizeof(err)), 0);
	ck_assert(exists("deferred/relay/%s", env.id));
	ck_assert(!exists("active/relay/%s", env.id));
	envelope_clear(&job);
	envelope_clear(&env);
}
END_TEST

START_TEST(test_quarantine_keeps)
{
	struct envelope env;

	put(&env);
	write_file("corrupt/incoming-x", "", 0);
	ck_assert_int_eq(rename(path("corrupt/incoming-x"),
	    path("corrupt/incoming-%s", env.id)), 0);
	ck_assert_int_eq(spool_quarantine(sp, SPOOL_INCOMING, NULL, env.id,
	    err, sizeof(err)), 0);
	/* the earlier file is still there, the new one beside it */
	ck_assert(exists("corrupt/incoming-%s", env.id));
	ck_assert(exists("corrupt/incoming-%s.1", env.id));
	ck_assert_int_eq(count("incoming"), 0);
	envelope_clear(&env);
}
END_TEST

START_TEST(test_open_refuses)
{
	char dir[64], file[80];
	struct spool *s;

	strcpy(dir, "/tmp/check_spool_ww.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_int_eq(chmod(dir, 0777), 0);
	s = spool_open(dir, 1, (uid_t)-1, (gid_t)-1, err, sizeof(err));
	ck_assert_ptr_null(s);
	ck_assert_ptr_nonnull(strstr(err, "writable"));
	ck_assert_int_eq(chmod(dir, 0770), 0);
	ck_assert_ptr_null(spool_open(dir, 0, (uid_t)-1, (gid_t)-1, err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "group or world writable"));
	/* not created: missing state directories are an error */
	ck_assert_int_eq(chmod(dir, 0700), 0);
	ck_assert_ptr_null(spool_open(dir, 0, (uid_t)-1, (gid_t)-1, err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "tmp/"));
	/* not a directory */
	snprintf(file, sizeof(file), "%s/file", dir);
	write_abs(file, "", 0);
	ck_assert_ptr_null(spool_open(file, 1, (uid_t)-1, (gid_t)-1, err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "not a directory"));
	unlink(file);
	/* created from nothing, then reopened with spool_open_fd */
	ck_assert_int_eq(rmdir(dir), 0);
	s = spool_open(dir, 1, (uid_t)-1, (gid_t)-1, err, sizeof(err));
	ck_assert_ptr_nonnull(s);
	spool_close(s);
	fixture_remove_tree(dir);
}
END_TEST

/* ids_count - spool_ids callback counting entries */
static int
ids_count(const char *qid, void *arg)
{
	ck_assert(spool_qid_valid(qid));
	scan_n++;
	return arg != NULL && scan_n == *(int *)arg ? 42 : 0;
}

START_TEST(test_ids_count)
{
	struct envelope env;
	int i, stop = 4;

	for (i = 0; i < 10; i++) {
		put(&env);
		envelope_clear(&env);
	}
	/* named like queue IDs, but not regular files: not jobs */
	ck_assert_int_eq(mkdir(path("incoming/00000000000000000001"), 0700), 0);
	ck_assert_int_eq(symlink("/etc/passwd",
	    path("incoming/00000000000000000002")), 0);
	write_file("incoming/.hidden", "x", 1);
	write_file("incoming/not-a-qid", "x", 1);
	scan_n = 0;
	ck_assert_int_eq(spool_ids(sp, SPOOL_INCOMING, NULL, ids_count, NULL), 0);
	ck_assert_int_eq(scan_n, 10);
	scan_n = 0;
	ck_assert_int_eq(spool_scan(sp, SPOOL_INCOMING, NULL, scan_count, NULL), 0);
	ck_assert_int_eq(scan_n, 10);	/* the same entries as spool_scan */
	scan_n = 0;
	ck_assert_int_eq(spool_ids(sp, SPOOL_INCOMING, NULL, ids_count, &stop), 42);
	ck_assert_int_eq(scan_n, 4);
	scan_n = 0;
	ck_assert_int_eq(spool_ids(sp, SPOOL_QUEUE, "relay", ids_count, NULL), 0);
	ck_assert_int_eq(scan_n, 0);
	ck_assert_int_eq(spool_ids(sp, SPOOL_QUEUE, "nosuch", ids_count, NULL), -1);
	ck_assert_int_eq(spool_ids(sp, SPOOL_QUEUE, "../x", ids_count, NULL), -1);
}
END_TEST

/*
 * What is not a regular file where a spool file belongs (a FIFO, which
 * must not block the reader, a directory) is refused as corrupt, by the
 * read itself (no fstat per file).
 */
START_TEST(test_not_regular)
{
	struct envelope env;
	const char *qid1 = "00000000000000000001", *qid2 = "00000000000000000002";

	ck_assert_int_eq(mkfifo(path("queue/relay/%s", qid1), 0600), 0);
	ck_assert_int_eq(mkdir(path("queue/relay/%s", qid2), 0700), 0);
	ck_assert_int_eq(spool_job_read(sp, SPOOL_QUEUE, "relay", qid1, &env,
	    err, sizeof(err)), -1);
	ck_assert_int_eq(errno, EBADMSG);
	ck_assert_msg(strstr(err, "not a regular file") != NULL, "%s", err);
	ck_assert_int_eq(spool_job_read(sp, SPOOL_QUEUE, "relay", qid2, &env,
	    err, sizeof(err)), -1);
	ck_assert_int_eq(errno, EBADMSG);
	ck_assert_msg(strstr(err, "not a regular file") != NULL, "%s", err);
}
END_TEST

START_TEST(test_scan_count)
{
	struct envelope env;
	int i, stop = 4;
	char **names;
	size_t n;

	for (i = 0; i < 10; i++) {
		put(&env);
		envelope_clear(&env);
	}
	write_file("incoming/.hidden", "x", 1);
	write_file("incoming/not-a-qid", "x", 1);
	scan_n = 0;
	ck_assert_int_eq(spool_scan(sp, SPOOL_INCOMING, NULL, scan_count, NULL), 0);
	ck_assert_int_eq(scan_n, 10);
	scan_n = 0;
	ck_assert_int_eq(spool_scan(sp, SPOOL_INCOMING, NULL, scan_count, &stop), 42);
	ck_assert_int_eq(scan_n, 4);
	scan_n = 0;
	ck_assert_int_eq(spool_scan(sp, SPOOL_QUEUE, "relay", scan_count, NULL), 0);
	ck_assert_int_eq(scan_n, 0);
	ck_assert_int_eq(spool_scan(sp, SPOOL_QUEUE, "nosuch", scan_count, NULL), -1);
	ck_assert_int_eq(spool_scan(sp, SPOOL_QUEUE, "../x", scan_count, NULL), -1);
	ck_assert_int_eq(spool_connectors(sp, &names, &n), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(names[0], "archive");
	ck_assert_str_eq(names[1], "relay");
	spool_free_names(names, n);
}
END_TEST

/*
 * spool_connectors (spool_names_sorted): only valid names of directories,
 * no file, link or dot entry, sorted whatever the order of creation
 */
START_TEST(test_connectors_sorted)
{
	char name[32], want[32];
	char **names;
	size_t n, i;

	for (i = 0; i < 40; i++) {
		snprintf(name, sizeof(name), "c%02zu", 39 - i);
		ck_assert_int_eq(spool_connector_init(sp, name, (uid_t)-1,
		    (gid_t)-1, NULL, 0), 0);
	}
	write_file("queue/afile", "x", 1);
	ck_assert_int_eq(symlink(path("queue/c00"), path("queue/alink")), 0);
	ck_assert_int_eq(mkdir(path("queue/.hidden"), 0700), 0);
	ck_assert_int_eq(spool_connectors(sp, &names, &n), 0);
	ck_assert_uint_eq(n, 42);	/* with the fixture's archive, relay */
	ck_assert_str_eq(names[0], "archive");
	for (i = 0; i < 40; i++) {
		snprintf(want, sizeof(want), "c%02zu", i);
		ck_assert_str_eq(names[i + 1], want);
	}
	ck_assert_str_eq(names[41], "relay");
	spool_free_names(names, n);
}
END_TEST

/* What spool_list reported. */
struct listed {
	int n, bad;
	char last_bad[SPOOL_ERRLEN];
	char qids[64][SPOOL_QID_LEN + 1];
};

/* list_cb - spool_list callback recording the entries */
static int
list_cb(const char *qid, const struct envelope *env, const char *why,
    void *arg)
{
	struct listed *l = arg;

	if (env == NULL) {
		ck_assert_ptr_nonnull(why);
		snprintf(l->last_bad, sizeof(l->last_bad), "%s", why);
		l->bad++;
		return 0;
	}
	ck_assert_str_eq(env->id, qid);
	if (l->n < 64)
		memcpy(l->qids[l->n], qid, SPOOL_QID_LEN + 1);
	l->n++;
	return 0;
}

/*
 * uring_expected - does this build list with io_uring here?  Built with
 * liburing, and the kernel lets this process set up a ring (not so where
 * the kernel.io_uring_disabled sysctl or a seccomp filter says no)
 */
static int
uring_expected(void)
{
#ifdef HAVE_LIBURING
	struct io_uring ring;

	if (io_uring_queue_init(8, &ring, 0) < 0)
		return 0;
	io_uring_queue_exit(&ring);
	return 1;
#else
	return 0;
#endif
}

/*
 * list_both - spool_list of queue/relay by the plain path and the default
 * one, which must report the same; returns the default one's, and in
 * *batched how many it read through io_uring
 */
static void
list_both(struct listed *l, unsigned int part, unsigned int nparts,
    unsigned long *batched)
{
	struct listed plain;
	unsigned long before;

	memset(&plain, 0, sizeof(plain));
	spool_list_plain(1);
	before = spool_list_batched();
	ck_assert_int_eq(spool_list(sp, SPOOL_QUEUE, "relay", part, nparts,
	    list_cb, &plain), 0);
	ck_assert_uint_eq(spool_list_batched(), before);
	spool_list_plain(0);
	memset(l, 0, sizeof(*l));
	ck_assert_int_eq(spool_list(sp, SPOOL_QUEUE, "relay", part, nparts,
	    list_cb, l), 0);
	*batched = spool_list_batched() - before;
	ck_assert_int_eq(l->n, plain.n);
	ck_assert_int_eq(l->bad, plain.bad);
	ck_assert_str_eq(l->last_bad, plain.last_bad);
	ck_assert_mem_eq(l->qids, plain.qids, sizeof(l->qids));
}

START_TEST(test_list)
{
	struct listed all, a, b;
	struct envelope env, job;
	char big[40000], *text;
	unsigned long batched;
	size_t len;
	int i, j, uring = uring_expected();

	/* more than a batch of 64, not a multiple of it */
	for (i = 0; i < 150; i++) {
		put(&env);
		route2(&env);
		envelope_clear(&env);
	}
	list_both(&all, 0, 1, &batched);
	ck_assert_int_eq(all.n, 150);
	ck_assert_int_eq(all.bad, 0);
	ck_assert_uint_eq(batched, uring ? 150 : 0);
	/* two parts share the entries: each exactly once */
	list_both(&a, 0, 2, &batched);
	list_both(&b, 1, 2, &batched);
	ck_assert_int_eq(a.n + b.n, 150);
	ck_assert_int_gt(a.n, 0);
	ck_assert_int_gt(b.n, 0);
	for (i = 0; i < a.n && i < 64; i++)
		for (j = 0; j < b.n && j < 64; j++)
			ck_assert_str_ne(a.qids[i], b.qids[j]);
	/* an envelope longer than the first read goes to the general reader */
	ck_assert_int_eq(spool_job_read(sp, SPOOL_QUEUE, "relay", all.qids[0],
	    &job, err, sizeof(err)), 0);
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	envelope_put(&job, &job.last_error, strdup(big));
	ck_assert_int_eq(envelope_format(&job, &text, &len), 0);
	ck_assert_uint_gt(len, 32768);
	write_abs(path("queue/relay/%s", all.qids[0]), text, len);
	free(text);
	envelope_clear(&job);
	/* a truncated one and an empty one are reported, not skipped */
	write_abs(path("queue/relay/%s", all.qids[1]), "gatewayd-envelope 1\nid ",
	    23);
	write_abs(path("queue/relay/%s", all.qids[2]), "", 0);
	/* not ours: a directory and a symbolic link are skipped */
	ck_assert_int_eq(mkdir(path("queue/relay/00000000000000000001"), 0700), 0);
	ck_assert_int_eq(symlink("/etc/passwd",
	    path("queue/relay/00000000000000000002")), 0);
	list_both(&all, 0, 1, &batched);
	ck_assert_int_eq(all.n, 148);
	ck_assert_int_eq(all.bad, 2);
	/* the long one, the broken ones, the directory: the plain path's */
	ck_assert_uint_eq(batched, uring ? 147 : 0);
	ck_assert(strcmp(all.last_bad, "empty file") == 0 ||
	    strcmp(all.last_bad, "truncated envelope") == 0);
	ck_assert_int_eq(spool_list(sp, SPOOL_QUEUE, "nosuch", 0, 1, list_cb,
	    &all), -1);
	rmdir(path("queue/relay/00000000000000000001"));
}
END_TEST

/*
 * test_list_incoming_routed - a routed message keeps its incoming/ file
 * until the next sync; the listing of incoming/ shows only the unrouted
 * one (the routed one's jobs stand for it), and both once synced away
 */
START_TEST(test_list_incoming_routed)
{
	struct envelope routed, waiting, jobs[2];
	struct listed l;

	put(&routed);
	put(&waiting);
	make_job(&jobs[0], &routed, "relay", 0);
	make_job(&jobs[1], &routed, "archive", 0);
	ck_assert_int_eq(spool_route(sp, routed.id, jobs, 2, err,
	    sizeof(err)), 0);
	ck_assert(exists("incoming/%s", routed.id));	/* until the sync */
	memset(&l, 0, sizeof(l));
	ck_assert_int_eq(spool_list(sp, SPOOL_INCOMING, NULL, 0, 1, list_cb,
	    &l), 0);
	ck_assert_int_eq(l.n, 1);
	ck_assert_str_eq(l.qids[0], waiting.id);
	memset(&l, 0, sizeof(l));
	ck_assert_int_eq(spool_list(sp, SPOOL_QUEUE, "relay", 0, 1, list_cb,
	    &l), 0);
	ck_assert_int_eq(l.n, 1);
	ck_assert_str_eq(l.qids[0], routed.id);
	/* the count of incoming/ (gatewayctl stats) too; the router's scan
	 * at start takes both (a crash before the sync: routed again) */
	scan_n = 0;
	ck_assert_int_eq(spool_scan_unrouted(sp, scan_count, NULL), 0);
	ck_assert_int_eq(scan_n, 1);
	scan_n = 0;
	ck_assert_int_eq(spool_scan(sp, SPOOL_INCOMING, NULL, scan_count,
	    NULL), 0);
	ck_assert_int_eq(scan_n, 2);
	ck_assert_int_eq(spool_sync(sp), 0);
	ck_assert(!exists("incoming/%s", routed.id));
	memset(&l, 0, sizeof(l));
	ck_assert_int_eq(spool_list(sp, SPOOL_INCOMING, NULL, 0, 1, list_cb,
	    &l), 0);
	ck_assert_int_eq(l.n, 1);
	envelope_clear(&jobs[0]);
	envelope_clear(&jobs[1]);
	envelope_clear(&routed);
	envelope_clear(&waiting);
}
END_TEST

START_TEST(test_state_file)
{
	char *text;

	errno = 0;
	ck_assert_ptr_null(spool_state_read(sp, "paused", 100));
	ck_assert_int_eq(errno, ENOENT);
	ck_assert_int_eq(spool_state_write(sp, "paused", "receive\n", err,
	    sizeof(err)), 0);
	ck_assert_ptr_nonnull(text = spool_state_read(sp, "paused", 100));
	ck_assert_str_eq(text, "receive\n");
	free(text);
	ck_assert_int_eq(spool_state_write(sp, "paused", "delivery *\n", err,
	    sizeof(err)), 0);
	ck_assert_ptr_null(spool_state_read(sp, "paused", 4));
	ck_assert_int_eq(errno, EFBIG);
	ck_assert(!exists("paused.new"));
	ck_assert_int_eq(spool_state_write(sp, "paused", NULL, err,
	    sizeof(err)), 0);
	ck_assert(!exists("paused"));
	ck_assert_int_eq(spool_state_write(sp, "paused", NULL, err,
	    sizeof(err)), 0);
	ck_assert_int_eq(spool_state_write(sp, "../x", "x", err, sizeof(err)),
	    -1);
	ck_assert_ptr_null(spool_state_read(sp, "Paused", 100));
}
END_TEST

START_TEST(test_recover_staged)
{
	write_file("tmp/06615252df118d000000.relay.upd", "x", 1);
	write_file("tmp/06615252df118d000001.relay.upd", "x", 1);
	write_file("tmp/06615252df118d000002.archive.upd", "x", 1);
	write_file("tmp/06615252df118d000003", "x", 1);	/* a receiver's */
	write_file("tmp/06615252df118d000004.xrelay.upd", "x", 1);
	/* a new job the router is staging for relay: not the worker's */
	write_file("tmp/06615252df118d000005.relay.job", "x", 1);
	ck_assert_int_eq(spool_recover_staged(sp, "relay"), 2);
	ck_assert_int_eq(count("tmp"), 4);
	ck_assert(exists("tmp/06615252df118d000002.archive.upd"));
	ck_assert(exists("tmp/06615252df118d000004.xrelay.upd"));
	ck_assert(exists("tmp/06615252df118d000005.relay.job"));
	ck_assert_int_eq(spool_recover_staged(sp, "relay"), 0);
	ck_assert_int_eq(spool_recover_staged(sp, "../x"), -1);
	ck_assert_int_eq(spool_recover_tmp(sp), 4);
	ck_assert_int_eq(count("tmp"), 0);
}
END_TEST

/*
 * A worker (re)starting while the router writes new jobs for its
 * connector: its recovery of staged updates must not take the router's
 * files.  A child process recovers in a loop while 300 messages are
 * routed to its connector; every routing must work.
 */
START_TEST(test_recover_staged_race)
{
	struct envelope env;
	int i, ready[2], status;
	char c;
	pid_t pid;

	ck_assert_int_eq(pipe(ready), 0);
	if ((pid = fork()) == 0) {
		close(ready[0]);
		(void)write(ready[1], "x", 1);
		for (;;)
			if (spool_recover_staged(sp, "relay") == -1)
				_exit(1);
	}
	ck_assert_int_ne(pid, -1);
	close(ready[1]);
	ck_assert_int_eq(read(ready[0], &c, 1), 1);
	close(ready[0]);
	for (i = 0; i < 300; i++) {
		put(&env);
		route2(&env);
		envelope_clear(&env);
	}
	kill(pid, SIGKILL);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFSIGNALED(status));
	ck_assert_int_eq(count("queue/relay"), 300);
	ck_assert_int_eq(count("queue/archive"), 300);
	ck_assert_int_eq(count("incoming"), 0);
}
END_TEST

START_TEST(test_stage_commit)
{
	struct envelope env, job, back;
	struct stat st;
	time_t when = time(NULL) + 7200;

	put(&env);
	route2(&env);
	ck_assert_int_eq(spool_job_claim(sp, "relay", env.id, SPOOL_QUEUE), 0);
	ck_assert_int_eq(spool_job_read(sp, SPOOL_ACTIVE, "relay", env.id,
	    &job, err, sizeof(err)), 0);
	job.attempts = 3;
	job.next_attempt = when;
	job.rcpt[0].state = RCPT_DEFERRED;
	if (spool_job_stage(sp, "relay", env.id, &job, SPOOL_DEFERRED, err,
	    sizeof(err)) != 0)
		ck_abort_msg("spool_job_stage: %s", err);
	/* staged: the active job keeps its old envelope until the commit */
	ck_assert_int_eq(count("tmp"), 1);
	ck_assert(exists("tmp/%s.relay.upd", env.id));
	ck_assert_int_eq(spool_job_read(sp, SPOOL_ACTIVE, "relay", env.id,
	    &back, err, sizeof(err)), 0);
	ck_assert_uint_eq(back.attempts, 0);
	envelope_clear(&back);
	ck_assert_int_eq(spool_sync(sp), 0);
	if (spool_job_commit_staged(sp, "relay", env.id, SPOOL_DEFERRED, err,
	    sizeof(err)) != 0)
		ck_abort_msg("spool_job_commit_staged: %s", err);
	ck_assert_int_eq(count("tmp"), 0);
	ck_assert_int_eq(count("active/relay"), 0);
	ck_assert_int_eq(stat(path("deferred/relay/%s", env.id), &st), 0);
	ck_assert_int_eq(st.st_mtime, when);
	ck_assert_int_eq(spool_job_read(sp, SPOOL_DEFERRED, "relay", env.id,
	    &back, err, sizeof(err)), 0);
	ck_assert_uint_eq(back.attempts, 3);
	ck_assert_int_eq(back.rcpt[0].state, RCPT_DEFERRED);
	envelope_clear(&back);
	/* nothing staged, or the job not active: refused */
	ck_assert_int_eq(spool_job_commit_staged(sp, "relay", env.id,
	    SPOOL_DEFERRED, err, sizeof(err)), -1);
	ck_assert_int_eq(spool_job_stage(sp, "relay", env.id, &job,
	    SPOOL_DEFERRED, err, sizeof(err)), -1);
	ck_assert_int_eq(errno, ENOENT);
	envelope_clear(&job);
	envelope_clear(&env);
}
END_TEST

START_TEST(test_names)
{
	static const struct { const char *s; int ok; } cases[] = {
		{ "relay", 1 }, { "a", 1 }, { "_x-1", 1 }, { "0abc", 1 },
		{ "", 0 }, { "-x", 0 }, { "Relay", 0 }, { "a/b", 0 },
		{ "..", 0 }, { "a.b", 0 }, { "a b", 0 },
		{ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 1 },
		{ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 0 },
	};
	size_t i;
	int st;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (spool_name_valid(cases[i].s) != cases[i].ok)
			ck_abort_msg("spool_name_valid(\"%s\")", cases[i].s);
	for (st = 0; st < SPOOL_NSTATES; st++)
		ck_assert_int_eq(spool_state_from_name(spool_state_name(st)), st);
	ck_assert_int_eq(spool_state_from_name("tmp"), -1);
	ck_assert_int_eq(spool_connector_init(sp, "../evil", (uid_t)-1,
	    (gid_t)-1, err, sizeof(err)), -1);
	ck_assert_int_ge(spool_dirfd(sp), 0);
}
END_TEST

START_TEST(test_full_disk)
{
	struct envelope env;
	struct spool_msg *m[2];
	struct rlimit rl, old;
	char chunk[8192];
	int ok[2] = { -1, -1 }, i, rc = 0;

	/* RLIMIT_FSIZE makes write(2) fail with EFBIG, like ENOSPC would */
	memset(chunk, 'x', sizeof(chunk));
	signal(SIGXFSZ, SIG_IGN);
	m[1] = receive(&env, body1, sizeof(body1) - 1);
	envelope_clear(&env);
	make_env(&env);
	m[0] = spool_msg_create(sp, &env, err, sizeof(err));
	ck_assert_ptr_nonnull(m[0]);
	ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, &old), 0);
	rl = old;
	rl.rlim_cur = 100 * 1024;
	ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &rl), 0);
	for (i = 0; i < 64 && rc == 0; i++)
		rc = spool_msg_write(m[0], chunk, sizeof(chunk));
	ck_assert_int_eq(rc, -1);
	ck_assert_int_eq(errno, EFBIG);
	/* reported as soon as the buffer reached the file: within 64 KiB */
	ck_assert_int_le(i * (int)sizeof(chunk), 100 * 1024 + 64 * 1024 + 8192);
	ck_assert_int_eq(spool_msg_write(m[0], "y", 1), -1);
	ck_assert_int_eq(spool_msg_flush(m[0]), -1);
	/* the batch still commits the good message */
	ck_assert_uint_eq(spool_commit(sp, m, 2, ok), 1);
	ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &old), 0);
	ck_assert_int_eq(ok[0], 0);
	ck_assert_int_eq(ok[1], 1);
	ck_assert_int_eq(count("tmp"), 0);
	ck_assert_int_eq(count("incoming"), 1);
	ck_assert(!exists("incoming/%s", env.id));
	envelope_clear(&env);
}
END_TEST

/* commit_thread - commit a batch handed over by the main thread */
static void *
commit_thread(void *arg)
{
	struct spool_msg **m = arg;
	int ok[8];

	return (void *)(uintptr_t)spool_commit(sp, m, 8, ok);
}

START_TEST(test_commit_threads)
{
	struct spool_msg *batch[8], *more[8];
	struct envelope env;
	pthread_t t;
	void *res;
	int i, ok[8];

	for (i = 0; i < 8; i++) {
		batch[i] = receive(&env, body1, sizeof(body1) - 1);
		envelope_clear(&env);
	}
	/* the event loop keeps creating while the commit thread syncs */
	pthread_create(&t, NULL, commit_thread, batch);
	for (i = 0; i < 8; i++) {
		more[i] = receive(&env, body1, sizeof(body1) - 1);
		envelope_clear(&env);
	}
	pthread_join(t, &res);
	ck_assert_uint_eq((uintptr_t)res, 8);
	ck_assert_uint_eq(spool_commit(sp, more, 8, ok), 8);
	ck_assert_int_eq(count("incoming"), 16);
	ck_assert_int_eq(count("tmp"), 0);
}
END_TEST

/* spool_suite - every test case, each on a fresh spool */
static Suite *
spool_suite(void)
{
	Suite *s = suite_create("spool");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_commit_one);
	tcase_add_test(tc, test_seal);
	tcase_add_test(tc, test_abort);
	tcase_add_test(tc, test_create_exclusive);
	tcase_add_test(tc, test_commit_batch);
	tcase_add_test(tc, test_incoming_open);
	tcase_add_test(tc, test_route_two);
	tcase_add_test(tc, test_claim_defer_done);
	tcase_add_test(tc, test_failed_and_hold);
	tcase_add_test(tc, test_quarantine);
	tcase_add_test(tc, test_recover_tmp);
	tcase_add_test(tc, test_recover_active);
	tcase_add_test(tc, test_route_idempotent);
	tcase_add_test(tc, test_sync_unlinks);
	tcase_add_test(tc, test_sync_claims);
	tcase_add_test(tc, test_commit_fsync_one);
	tcase_add_test(tc, test_route_errors);
	tcase_add_test(tc, test_failover);
	tcase_add_test(tc, test_qid_order);
	tcase_add_test(tc, test_qid_threads);
	tcase_add_test(tc, test_qid_instances);
	tcase_add_test(tc, test_qid_clock_back);
	tcase_add_test(tc, test_commit_collision);
	tcase_add_test(tc, test_job_collisions);
	tcase_add_test(tc, test_spare_jobs);
	tcase_add_test(tc, test_not_regular);
	tcase_add_test(tc, test_quarantine_keeps);
	tcase_add_test(tc, test_open_refuses);
	tcase_add_test(tc, test_scan_count);
	tcase_add_test(tc, test_ids_count);
	tcase_add_test(tc, test_connectors_sorted);
	tcase_add_test(tc, test_names);
	tcase_add_test(tc, test_list);
	tcase_add_test(tc, test_list_incoming_routed);
	tcase_add_test(tc, test_stage_commit);
	tcase_add_test(tc, test_recover_staged);
	tcase_add_test(tc, test_recover_staged_race);
	tcase_add_test(tc, test_state_file);
	tcase_add_test(tc, test_full_disk);
	tcase_add_test(tc, test_commit_threads);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(spool_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
