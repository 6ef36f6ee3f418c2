/*
 * deliver.c - the deliverer: the process that runs the connector's code
 *
 * A worker's delivery child claims a job, loads it and writes the outcome
 * to the spool.  The connector's deliver(), which parses what strangers
 * wrote (MIME, upstream replies), runs in a process of its own, the
 * deliverer, that the delivery child forks when it starts and that has no
 * way into the spool: it closed every descriptor but its socket and the
 * connector's own (those its init() opened), the spool's tree is out of
 * its reach (landlock.c), and the delivery child that holds the spool is
 * not dumpable, so the deliverer cannot trace it or read its memory.
 *
 * Protocol on a SOCK_STREAM socketpair, one job at a time:
 *   request  struct dl_req, the message's read-only descriptor attached
 *            (SCM_RIGHTS), then envlen bytes of envelope text;
 *   answer   struct dl_rep_head, then n struct dl_result, one for each
 *            recipient capi_job_init() hands to the connector, in order.
 * The delivery child checks the answer strictly (count, result values,
 * terminated strings): a deliverer that lies about its format is killed.
 */
#include "config.h"

#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "capi.h"
#include "deliver.h"
#include "envelope.h"
#include "landlock.h"
#include "log.h"
#include "xmalloc.h"

#define DL_ENV_MAX	(16 * 1024 * 1024)	/* envelope text bound */
#define DL_MAX_RCPT	(1024 * 1024)

struct dl_req {
	uint32_t envlen;
	int64_t offset;		/* first message byte in the descriptor */
};

struct dl_rep_head {
	uint32_t n;
};

struct dl_result {
	int32_t result;		/* enum gw_result */
	int32_t code;
	int32_t dsn_passed;
	char status[16];
	char text[CAPI_TEXT_MAX + 1];
};

/* dl_io - read or write exactly len bytes; -1 on error or early EOF */
static int
dl_io(int fd, void *buf, size_t len, int writing)
{
	char *p = buf;
	ssize_t n;

	while (len > 0) {
		n = writing ? send(fd, p, len, MSG_NOSIGNAL) : read(fd, p, len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = EPIPE;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* dl_send_req - the request header with the descriptor, then the text */
static int
dl_send_req(int fd, const struct dl_req *req, int datafd, const char *text)
{
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct msghdr mh;
	struct cmsghdr *cm;
	struct iovec iov;
	ssize_t n;

	memset(&mh, 0, sizeof(mh));
	memset(cbuf, 0, sizeof(cbuf));
	iov.iov_base = (void *)req;
	iov.iov_len = sizeof(*req);
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cbuf;
	mh.msg_controllen = sizeof(cbuf);
	cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &datafd, sizeof(int));
	do {
		n = sendmsg(fd, &mh, MSG_NOSIGNAL);
	} while (n == -1 && errno == EINTR);
	if (n != (ssize_t)sizeof(*req))
		return -1;	/* a short header on a fresh socket: give up */
	return dl_io(fd, (void *)text, req->envlen, 1);
}

/* dl_recv_req - the header and its descriptor; 0, or -1 (EOF, error) */
static int
dl_recv_req(int fd, struct dl_req *req, int *datafd)
{
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct msghdr mh;
	struct cmsghdr *cm;
	struct iovec iov;
	ssize_t n;

	memset(&mh, 0, sizeof(mh));
	iov.iov_base = req;
	iov.iov_len = sizeof(*req);
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cbuf;
	mh.msg_controllen = sizeof(cbuf);
	do {
		n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
	} while (n == -1 && errno == EINTR);
	*datafd = -1;
	if ((cm = CMSG_FIRSTHDR(&mh)) != NULL && cm->cmsg_level == SOL_SOCKET &&
	    cm->cmsg_type == SCM_RIGHTS && cm->cmsg_len == CMSG_LEN(sizeof(int)))
		memcpy(datafd, CMSG_DATA(cm), sizeof(int));
	if (n != (ssize_t)sizeof(*req) || *datafd == -1 ||
	    req->envlen == 0 || req->envlen > DL_ENV_MAX) {
		if (*datafd != -1)
			close(*datafd);
		return -1;
	}
	return 0;
}

/* dl_answer - the results of a job, one per recipient handed over, in one write */
static int
dl_answer(int fd, const struct capi_job *job)
{
	struct dl_rep_head *h;
	struct dl_result *r;
	size_t i, len = sizeof(*h) + job->nrcpt * sizeof(*r);
	char *buf = xcalloc(1, len);
	int rc;

	h = (struct dl_rep_head *)buf;
	h->n = (uint32_t)job->nrcpt;
	r = (struct dl_result *)(buf + sizeof(*h));
	for (i = 0; i < job->nrcpt; i++) {
		r[i].result = job->rcpts[i].result;
		r[i].code = job->rcpts[i].code;
		r[i].dsn_passed = job->rcpts[i].dsn_passed;
		memcpy(r[i].status, job->rcpts[i].status, sizeof(r[i].status));
		memcpy(r[i].text, job->rcpts[i].text, sizeof(r[i].text));
	}
	rc = dl_io(fd, buf, len, 1);
	free(buf);
	return rc;
}

/* dl_serve_one - read a job, call the connector, answer; -1 to stop */
static int
dl_serve_one(const struct gw_connector *conn, void *ctx, int fd)
{
	char err[256], *text;
	struct capi_job job;
	struct envelope env;
	struct dl_req req;
	size_t used;
	int datafd, rc = -1;

	if (dl_recv_req(fd, &req, &datafd) == -1)
		return -1;
	text = xmalloc(req.envlen + 1);
	memset(&env, 0, sizeof(env));
	if (dl_io(fd, text, req.envlen, 0) == 0 &&
	    envelope_parse(text, req.envlen, &env, &used, err,
	    sizeof(err)) == 0 && used == req.envlen) {
		capi_job_init(&job, &env, datafd, (off_t)req.offset);
		if (job.nrcpt > 0)
			conn->deliver(ctx, &job.env, &job.msg);
		rc = dl_answer(fd, &job);
		capi_job_free(&job);
	}
	envelope_clear(&env);
	free(text);
	close(datafd);
	return rc;
}

/* dl_int_cmp - qsort order of descriptors */
static int
dl_int_cmp(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return x < y ? -1 : x > y;
}

/* dl_close_others - every descriptor but 0-2, fd and the connector's */
static void
dl_close_others(int fd, const int *keep, size_t nkeep)
{
	int kept[64], lo = 3;
	size_t i, n = 0;

	kept[n++] = fd;
	for (i = 0; i < nkeep && n < sizeof(kept) / sizeof(kept[0]); i++)
		kept[n++] = keep[i];
	qsort(kept, n, sizeof(kept[0]), dl_int_cmp);
	for (i = 0; i < n; i++) {
		if (kept[i] > lo)
			(void)close_range((unsigned)lo, (unsigned)kept[i] - 1, 0);
		if (kept[i] >= lo)
			lo = kept[i] + 1;
	}
	(void)close_range((unsigned)lo, ~0U, 0);
}

/* dl_main - the deliverer's life: confine itself, then serve; never returns */
static void __attribute__((noreturn))
dl_main(const struct gw_connector *conn, void *ctx, int fd, const int *keep,
    size_t nkeep, const char *hide)
{
	char err[512];
	int rc;

	dl_close_others(fd, keep, nkeep);
	if (hide != NULL && (rc = landlock_hide(hide, err, sizeof(err))) != 0) {
		if (rc == -1)
			fatalx("deliverer: cannot hide the spool: %s", err);
		log_debug("deliverer: %s: the spool is kept from the "
		    "connector by descriptors only", err);
	} else if (hide != NULL)
		log_debug("deliverer: the spool is out of the connector's reach");
	while (dl_serve_one(conn, ctx, fd) == 0)
		;
	if (conn->fini != NULL)
		conn->fini(ctx);
	_exit(0);
}

/* deliverer_start - fork the deliverer (deliver.h) */
int
deliverer_start(struct deliverer *d, const struct gw_connector *conn,
    void *ctx, const int *keep, size_t nkeep, const char *hide)
{
	pid_t parent = getpid();
	int sv[2];

	d->pid = -1;
	d->fd = -1;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1) {
		log_warn("socketpair for the deliverer");
		return -1;
	}
	if ((d->pid = fork()) == -1) {
		log_warn("fork of the deliverer");
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	if (d->pid == 0) {
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) == -1 ||
		    getppid() != parent)
			_exit(1);
		close(sv[0]);
		dl_main(conn, ctx, sv[1], keep, nkeep, hide);
	}
	close(sv[1]);
	d->fd = sv[0];
	/* the deliverer shares our uid: no ptrace, no /proc/<pid>/mem */
	(void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	return 0;
}

/* deliverer_stop - close the socket, kill and reap the deliverer */
void
deliverer_stop(struct deliverer *d, int *status)
{
	int st = 0;

	if (d->fd != -1)
		close(d->fd);
	if (d->pid > 0) {
		(void)kill(d->pid, SIGKILL);
		while (waitpid(d->pid, &st, 0) == -1 && errno == EINTR)
			;
	}
	if (status != NULL)
		*status = st;
	d->fd = -1;
	d->pid = -1;
}

/* dl_read_results - the answer, checked strictly, into job's recipients */
static int
dl_read_results(int fd, struct capi_job *job)
{
	struct dl_rep_head h;
	struct dl_result *r, *all;
	struct gw_rcpt *g;
	size_t i;

	if (dl_io(fd, &h, sizeof(h), 0) == -1)
		return -1;
	if (h.n != job->nrcpt || h.n > DL_MAX_RCPT)
		return errno = EPROTO, -1;
	all = xcalloc(job->nrcpt ? job->nrcpt : 1, sizeof(*all));
	if (dl_io(fd, all, job->nrcpt * sizeof(*all), 0) == -1) {
		free(all);
		return -1;
	}
	for (i = 0; i < job->nrcpt; i++) {
		r = &all[i];
		if (r->result < GW_RESULT_NONE || r->result > GW_RESULT_PERMFAIL ||
		    r->code < 0 || r->code > 999 ||
		    memchr(r->status, '\0', sizeof(r->status)) == NULL ||
		    memchr(r->text, '\0', sizeof(r->text)) == NULL) {
			free(all);
			return errno = EPROTO, -1;
		}
		g = &job->rcpts[i];
		g->result = (enum gw_result)r->result;
		g->code = r->code;
		g->dsn_passed = r->dsn_passed != 0;
		memcpy(g->status, r->status, sizeof(g->status));
		memcpy(g->text, r->text, sizeof(g->text));
	}
	free(all);
	return 0;
}

/* deliverer_call - one job through the deliverer (deliver.h) */
int
deliverer_call(struct deliverer *d, struct capi_job *job,
    const struct envelope *env, int datafd, off_t off, char *err,
    size_t errlen)
{
	struct dl_req req;
	char *text = NULL;
	size_t len;
	int status;

	if (envelope_format(env, &text, &len) == -1 || len > DL_ENV_MAX) {
		free(text);
		snprintf(err, errlen, "job envelope too large for the deliverer");
		return -1;
	}
	req.envlen = (uint32_t)len;
	req.offset = (int64_t)off;
	if (dl_send_req(d->fd, &req, datafd, text) == 0 &&
	    dl_read_results(d->fd, job) == 0) {
		free(text);
		return 0;
	}
	free(text);
	if (errno == EPROTO)
		snprintf(err, errlen, "connector answered malformed results");
	deliverer_stop(d, &status);
	if (errno == EPROTO)
		return -1;
	if (WIFSIGNALED(status))
		snprintf(err, errlen, "connector crashed: killed by signal %d",
		    WTERMSIG(status));
	else
		snprintf(err, errlen, "connector crashed: exited with status "
		    "%d", WEXITSTATUS(status));
	return -1;
}
