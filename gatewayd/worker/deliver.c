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
 *            (SCM_RIGHTS), then len bytes of packed job: struct dl_job,
 *            one uint32_t parameter count per recipient handed over, then
 *            NUL-terminated strings (the DL_NSTR envelope fields, then
 *            per recipient its address and its parameters' names and
 *            values).  The deliverer checks every count and terminator
 *            and points into the one buffer it keeps from job to job;
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
#include "net.h"
#include "proc.h"
#include "xmalloc.h"

#define DL_ENV_MAX	(16 * 1024 * 1024)	/* packed job bound */
#define DL_MAX_RCPT	(1024 * 1024)
#define DL_MAX_PARAMS	(4 * 1024 * 1024)

struct dl_req {
	uint32_t len;		/* packed job bytes that follow */
	int64_t offset;		/* first message byte in the descriptor */
};

/* the envelope fields a connector sees, in the order they are packed */
enum { DL_ID, DL_FROM, DL_CLIENT, DL_HELO, DL_AUTH, DL_BODY, DL_RET, DL_ENVID,
    DL_NSTR };

struct dl_job {
	int64_t arrival_us;
	int64_t size;
	uint32_t attempts;
	uint32_t nrcpt;		/* recipients handed over */
	uint32_t nparams;	/* their routing parameters in all */
	uint32_t present;	/* bit i: field i is set (else NULL) */
};

/* a packed job, kept and grown from job to job (one per process) */
struct dl_buf {
	char *p;
	size_t len, cap;
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

/* dl_send_req - the request header with the descriptor and the text, in one call */
static int
dl_send_req(int fd, const struct dl_req *req, int datafd, const char *text)
{
	struct iovec iov[2] = { { (void *)req, sizeof(*req) },
	    { (void *)text, req->len } };
	ssize_t n;

	n = net_sendfd(fd, iov, req->len > 0 ? 2 : 1, datafd, MSG_NOSIGNAL);
	if (n < (ssize_t)sizeof(*req))
		return -1;	/* a short header on a fresh socket: give up */
	n -= (ssize_t)sizeof(*req);
	return dl_io(fd, (void *)(text + n), req->len - (size_t)n, 1);
}

/*
 * dl_recv_req - the header, its descriptor and the text (into in, grown
 * as needed); 0, or -1 (EOF, error, a malformed request)
 */
static int
dl_recv_req(int fd, struct dl_req *req, int *datafd, struct dl_buf *in)
{
	struct iovec iov[2];
	ssize_t n;
	size_t got;
	int count;

	if (in->cap == 0)
		in->p = xreallocarray(NULL, in->cap = 4096, 1);
	iov[0].iov_base = req;
	iov[0].iov_len = sizeof(*req);
	iov[1].iov_base = in->p;
	iov[1].iov_len = in->cap;
	n = net_recvfd(fd, iov, 2, datafd, &count, 0, NULL);
	got = n >= (ssize_t)sizeof(*req) ? (size_t)n - sizeof(*req) : 0;
	if (n < (ssize_t)sizeof(*req) || count != 1 ||
	    req->len < sizeof(struct dl_job) || req->len > DL_ENV_MAX ||
	    got > req->len)
		goto bad;
	if (in->cap < req->len)
		in->p = xreallocarray(in->p, in->cap = req->len, 1);
	if (dl_io(fd, in->p + got, req->len - got, 0) == -1)
		goto bad;
	in->len = req->len;
	return 0;
bad:
	if (*datafd != -1)
		close(*datafd);
	*datafd = -1;
	return -1;
}

/* dl_answer - the results of a job, one per recipient handed over, in one write */
static int
dl_answer(int fd, const struct capi_job *job)
{
	static char *buf;
	static size_t cap;
	struct dl_rep_head *h;
	struct dl_result *r;
	size_t i, len = sizeof(*h) + job->nrcpt * sizeof(*r);

	if (cap < len)
		buf = xreallocarray(buf, cap = len, 1);
	memset(buf, 0, len);
	h = (struct dl_rep_head *)(void *)buf;
	h->n = (uint32_t)job->nrcpt;
	r = (struct dl_result *)(void *)(buf + sizeof(*h));
	for (i = 0; i < job->nrcpt; i++) {
		r[i].result = job->rcpts[i].result;
		r[i].code = job->rcpts[i].code;
		r[i].dsn_passed = job->rcpts[i].dsn_passed;
		memcpy(r[i].status, job->rcpts[i].status, sizeof(r[i].status));
		memcpy(r[i].text, job->rcpts[i].text, sizeof(r[i].text));
	}
	return dl_io(fd, buf, len, 1);
}

/* dl_str - the next string of a packed job; NULL when none is left */
static char *
dl_str(char **p, const char *end)
{
	char *s = *p, *z;

	if (s >= end || (z = memchr(s, '\0', (size_t)(end - s))) == NULL)
		return NULL;
	*p = z + 1;
	return s;
}

/* dl_unpack_rcpts - the recipients of a packed job; -1 if malformed */
static int
dl_unpack_rcpts(struct envelope *env, const uint32_t *counts, char **p,
    const char *end, struct envelope_param *params, uint32_t nparams)
{
	struct envelope_rcpt *r;
	uint32_t used = 0, k;
	size_t i;

	for (i = 0; i < env->nrcpt; i++) {
		r = &env->rcpt[i];
		memset(r, 0, sizeof(*r));
		r->state = RCPT_PENDING;
		if ((r->addr = dl_str(p, end)) == NULL ||
		    counts[i] > nparams - used)
			return -1;
		r->params = params + used;
		r->nparams = counts[i];
		for (k = 0; k < counts[i]; k++, used++)
			if ((params[used].name = dl_str(p, end)) == NULL ||
			    (params[used].value = dl_str(p, end)) == NULL)
				return -1;
	}
	return used == nparams && *p == end ? 0 : -1;
}

/*
 * dl_unpack - a packed job into env, every string pointing into buf;
 * rcpt and params are grown as needed and kept for the next job
 */
static int
dl_unpack(char *buf, size_t len, struct envelope *env,
    struct envelope_rcpt **rcpt, size_t *rcap,
    struct envelope_param **params, size_t *pcap)
{
	char *str[DL_NSTR], *p, *end = buf + len;
	struct dl_job h;
	size_t i;

	memcpy(&h, buf, sizeof(h));
	if (h.nrcpt == 0 || h.nrcpt > DL_MAX_RCPT || h.nparams > DL_MAX_PARAMS ||
	    (len - sizeof(h)) / sizeof(uint32_t) < h.nrcpt)
		return -1;
	p = buf + sizeof(h) + h.nrcpt * sizeof(uint32_t);
	for (i = 0; i < DL_NSTR; i++)
		if ((str[i] = dl_str(&p, end)) == NULL)
			return -1;
	if (strlen(str[DL_ID]) > ENVELOPE_QID_LEN)
		return -1;
	if (*rcap < h.nrcpt)
		*rcpt = xreallocarray(*rcpt, *rcap = h.nrcpt, sizeof(**rcpt));
	if (*pcap < h.nparams)
		*params = xreallocarray(*params, *pcap = h.nparams,
		    sizeof(**params));
	memset(env, 0, sizeof(*env));
	memcpy(env->id, str[DL_ID], strlen(str[DL_ID]) + 1);
	env->arrival_us = h.arrival_us;
	env->size = (off_t)h.size;
	env->attempts = h.attempts;
	env->from = str[DL_FROM];
	env->client = str[DL_CLIENT];
	env->helo = str[DL_HELO];
	env->auth = h.present & (1u << DL_AUTH) ? str[DL_AUTH] : NULL;
	env->body = str[DL_BODY];
	env->ret = h.present & (1u << DL_RET) ? str[DL_RET] : NULL;
	env->envid = h.present & (1u << DL_ENVID) ? str[DL_ENVID] : NULL;
	env->rcpt = *rcpt;
	env->nrcpt = h.nrcpt;
	return dl_unpack_rcpts(env, (const uint32_t *)(void *)(buf + sizeof(h)),
	    &p, end, *params, h.nparams);
}

/* dl_serve_one - read a job, call the connector, answer; -1 to stop */
static int
dl_serve_one(const struct gw_connector *conn, void *ctx, int fd)
{
	static struct dl_buf in;
	static struct envelope_rcpt *rcpt;
	static struct envelope_param *params;
	static size_t rcap, pcap;
	struct capi_job job;
	struct envelope env;
	struct dl_req req;
	int datafd, rc = -1;

	if (dl_recv_req(fd, &req, &datafd, &in) == -1)
		return -1;
	if (dl_unpack(in.p, in.len, &env, &rcpt, &rcap, &params, &pcap) == 0) {
		capi_job_init(&job, &env, datafd, (off_t)req.offset);
		if (job.nrcpt > 0)
			conn->deliver(ctx, &job.env, &job.msg);
		rc = dl_answer(fd, &job);
		capi_job_free(&job);
	}
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

/* dl_close_others - every descriptor but 0-2, fd, hide and the connector's */
static void
dl_close_others(int fd, int hide, const int *keep, size_t nkeep)
{
	int kept[64], lo = 3;
	size_t i, n = 0;

	kept[n++] = fd;
	if (hide >= 0)
		kept[n++] = hide;
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
    size_t nkeep, int hide)
{
	char err[512];

	dl_close_others(fd, hide, keep, nkeep);
	if (hide >= 0) {
		if (landlock_enforce(hide, err, sizeof(err)) == -1)
			fatalx("deliverer: cannot hide the spool: %s", err);
		log_debug("deliverer: the spool is out of the connector's reach");
	} else
		log_debug("deliverer: the spool is kept from the connector by "
		    "descriptors only");
	while (dl_serve_one(conn, ctx, fd) == 0)
		;
	if (conn->fini != NULL)
		conn->fini(ctx);
	_exit(0);
}

/* deliverer_start - fork the deliverer (deliver.h) */
int
deliverer_start(struct deliverer *d, const struct gw_connector *conn,
    void *ctx, const int *keep, size_t nkeep, int hide)
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
		proc_die_with(parent, SIGKILL);
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
	static char *buf;
	static size_t cap;
	struct dl_rep_head h;
	struct dl_result *r;
	struct gw_rcpt *g;
	size_t i, len, got;
	ssize_t n;

	if (job->nrcpt > DL_MAX_RCPT)
		return errno = EPROTO, -1;
	/*
	 * The whole answer in one read as a rule (its size follows from the
	 * request); the count is checked as soon as it is there, so a wrong
	 * one is refused without waiting for bytes that may never come.
	 */
	len = sizeof(h) + job->nrcpt * sizeof(*r);
	if (cap < len)
		buf = xreallocarray(buf, cap = len, 1);
	do {
		n = read(fd, buf, len);
	} while (n == -1 && errno == EINTR);
	if (n <= 0) {
		if (n == 0)
			errno = EPIPE;
		return -1;
	}
	got = (size_t)n;
	if (got < sizeof(h)) {
		if (dl_io(fd, buf + got, sizeof(h) - got, 0) == -1)
			return -1;
		got = sizeof(h);
	}
	memcpy(&h, buf, sizeof(h));
	if (h.n != job->nrcpt)
		return errno = EPROTO, -1;
	if (got < len && dl_io(fd, buf + got, len - got, 0) == -1)
		return -1;
	for (i = 0; i < job->nrcpt; i++) {
		r = (struct dl_result *)(void *)(buf + sizeof(h)) + i;
		if (r->result < GW_RESULT_NONE || r->result > GW_RESULT_PERMFAIL ||
		    r->code < 0 || r->code > 999 ||
		    memchr(r->status, '\0', sizeof(r->status)) == NULL ||
		    memchr(r->text, '\0', sizeof(r->text)) == NULL)
			return errno = EPROTO, -1;
		g = &job->rcpts[i];
		g->result = (enum gw_result)r->result;
		g->code = r->code;
		g->dsn_passed = r->dsn_passed != 0;
		memcpy(g->status, r->status, sizeof(g->status));
		memcpy(g->text, r->text, sizeof(g->text));
	}
	return 0;
}

/* dl_put - append len bytes to a packed job */
static void
dl_put(struct dl_buf *b, const void *p, size_t len)
{
	if (b->cap - b->len < len) {
		while (b->cap - b->len < len)
			b->cap = b->cap ? b->cap * 2 : 4096;
		b->p = xreallocarray(b->p, b->cap, 1);
	}
	memcpy(b->p + b->len, p, len);
	b->len += len;
}

/* dl_put_str - append a string and its NUL (NULL: the empty string) */
static void
dl_put_str(struct dl_buf *b, const char *s)
{
	dl_put(b, s != NULL ? s : "", s != NULL ? strlen(s) + 1 : 1);
}

/* dl_pack - the recipients job hands over and their envelope, packed */
static void
dl_pack(struct dl_buf *b, const struct capi_job *job, const struct envelope *env)
{
	const char *str[DL_NSTR] = { env->id, env->from, env->client, env->helo,
	    env->auth, env->body, env->ret, env->envid };
	const struct envelope_rcpt *r;
	struct dl_job h;
	uint32_t n;
	size_t i, k;

	memset(&h, 0, sizeof(h));
	h.arrival_us = env->arrival_us;
	h.size = (int64_t)env->size;
	h.attempts = env->attempts;
	h.nrcpt = (uint32_t)job->nrcpt;
	for (i = 0; i < job->nrcpt; i++)
		h.nparams += (uint32_t)job->rcpts[i].rcpt->nparams;
	for (i = 0; i < DL_NSTR; i++)
		if (str[i] != NULL)
			h.present |= 1u << i;
	b->len = 0;
	dl_put(b, &h, sizeof(h));
	for (i = 0; i < job->nrcpt; i++) {
		n = (uint32_t)job->rcpts[i].rcpt->nparams;
		dl_put(b, &n, sizeof(n));
	}
	for (i = 0; i < DL_NSTR; i++)
		dl_put_str(b, str[i]);
	for (i = 0; i < job->nrcpt; i++) {
		r = job->rcpts[i].rcpt;
		dl_put_str(b, r->addr);
		for (k = 0; k < r->nparams; k++) {
			dl_put_str(b, r->params[k].name);
			dl_put_str(b, r->params[k].value);
		}
	}
}

/* deliverer_call - one job through the deliverer (deliver.h) */
int
deliverer_call(struct deliverer *d, struct capi_job *job,
    const struct envelope *env, int datafd, off_t off, char *err,
    size_t errlen)
{
	static struct dl_buf out;
	struct dl_req req;
	int status;

	dl_pack(&out, job, env);
	if (out.len > DL_ENV_MAX || job->nrcpt > DL_MAX_RCPT) {
		snprintf(err, errlen, "job envelope too large for the deliverer");
		return -1;
	}
	req.len = (uint32_t)out.len;
	req.offset = (int64_t)off;
	if (dl_send_req(d->fd, &req, datafd, out.p) == 0 &&
	    dl_read_results(d->fd, job) == 0)
		return 0;
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
