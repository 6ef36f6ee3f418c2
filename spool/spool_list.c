/*
 * spool_list.c - the listing of a state directory (gatewayctl queue list):
 * every job file opened, its envelope read and parsed.
 *
 * A million queued jobs are three million system calls (open, read,
 * close), and their entry and exit cost more than the work.  Where
 * gatewayd is built with liburing and the kernel lets this process use
 * io_uring, the files of a directory are read in batches: each file's
 * open (into a slot of a small table of registered files), read and
 * close linked in one submission queue, SPOOL_LIST_BATCH files per
 * io_uring_enter.  The ring may do nothing else: it is created disabled,
 * restricted to those three operations and to linked, registered-file
 * requests, and only then enabled.  Where io_uring cannot be set up
 * (built without liburing, disabled by the kernel.io_uring_disabled
 * sysctl, filtered by a seccomp policy, out of memory) the plain path
 * does all the work, and the answers are the same: whatever a batch did
 * not leave in a simple state (an envelope longer than a read, an error,
 * an entry that is not a file) is read again by the plain path.
 *
 * Its own object in libspool.a so that only the programs that list (the
 * master, whose control children answer queue list, and gatewayctl) link
 * liburing; the message path's processes do not map it.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifdef HAVE_LIBURING
#include <liburing.h>
#endif

#include "spool.h"
#include "spool_int.h"

#define SPOOL_LIST_BUF		16384	/* one read covers a usual envelope */
#define SPOOL_LIST_BATCH	64	/* files per io_uring submission */

static int spool_list_force_plain;	/* spool_list_plain() */
static unsigned long spool_list_nbatched;	/* spool_list_batched() */

struct spool_list_arg {
	spool_list_cb cb;
	void *arg;
	char *buf;
	const char *dir;
	const char *connector;
	unsigned int part, nparts;
	int routed;		/* incoming/: skip the routed (linked) files */
};

/*
 * spool_list_parsed - the callback for an envelope read whole into buf
 * (envlen: its length through the "end" line, envelope_length)
 */
static int
spool_list_parsed(struct spool_list_arg *la, const char *name,
    const char *buf, size_t envlen)
{
	char reason[SPOOL_ERRLEN];
	struct envelope env;
	size_t used;
	int rc;

	memset(&env, 0, sizeof(env));
	if (envelope_parse(buf, envlen, &env, &used, reason,
	    sizeof(reason)) == -1)
		return la->cb(name, NULL, reason, la->arg);
	rc = la->cb(name, &env, NULL, la->arg);
	envelope_clear(&env);
	return rc;
}

/* spool_list_mine - is name in this process's share of the listing? */
static int
spool_list_mine(const struct spool_list_arg *la, const char *name)
{
	return la->nparts <= 1 ||
	    spool_name_hash(name) % la->nparts == la->part;
}

/* spool_list_at - read and parse entry name of directory dfd: the plain path */
static int
spool_list_at(struct spool_list_arg *la, int dfd, const char *name)
{
	char what[SPOOL_ERRLEN], reason[SPOOL_ERRLEN];
	struct envelope env;
	struct stat st;
	size_t envlen;
	ssize_t n;
	off_t off;
	int fd, rc;

	if ((fd = openat(dfd, name, O_RDONLY | O_CLOEXEC |
	    O_NOFOLLOW)) == -1) {
		if (errno == ENOENT || errno == ELOOP)
			return 0;	/* moved meanwhile, or not ours */
		snprintf(reason, sizeof(reason), "%s", strerror(errno));
		return la->cb(name, NULL, reason, la->arg);
	}
	/*
	 * A routed message keeps its incoming/ file until the router's next
	 * sync; its data/ links (the same inode) say that its jobs, listed
	 * with their own states, stand for it.
	 */
	if (la->routed && fstat(fd, &st) == 0 && st.st_nlink > 1) {
		spool_close_keep(fd);
		return 0;
	}
	while ((n = read(fd, la->buf, SPOOL_LIST_BUF)) == -1 && errno == EINTR)
		;
	envlen = n > 0 ? envelope_length(la->buf, (size_t)n) : 0;
	if (envlen > 0) {
		spool_close_keep(fd);
		return spool_list_parsed(la, name, la->buf, envlen);
	}
	memset(&env, 0, sizeof(env));
	if (n == SPOOL_LIST_BUF) {
		/* a long envelope: the general reader */
		snprintf(what, sizeof(what), "%s/%s%s%s", la->dir,
		    la->connector ? la->connector : "", la->connector ? "/" : "",
		    name);
		rc = spool_read_envelope(fd, what, &env, &off, reason,
		    sizeof(reason));
	} else if (n == -1 && errno == EISDIR) {
		spool_close_keep(fd);
		return 0;		/* not ours */
	} else {
		snprintf(reason, sizeof(reason), "%s", n == -1 ?
		    strerror(errno) : n == 0 ? "empty file" :
		    "truncated envelope");
		rc = -1;
	}
	spool_close_keep(fd);
	if (rc == -1)
		return la->cb(name, NULL, reason, la->arg);
	rc = la->cb(name, &env, NULL, la->arg);
	envelope_clear(&env);
	return rc;
}

/* spool_list_one - spool_each callback: one entry by the plain path */
static int
spool_list_one(DIR *d, const char *name, void *arg)
{
	struct spool_list_arg *la = arg;

	return spool_list_mine(la, name) ? spool_list_at(la, dirfd(d), name) :
	    0;
}

#ifdef HAVE_LIBURING
/* The open, read and close of one file in a batch. */
enum { URING_OPEN, URING_READ, URING_CLOSE };

struct spool_uring {
	struct io_uring ring;
	char (*bufs)[SPOOL_LIST_BUF];
	char names[SPOOL_LIST_BATCH][SPOOL_QID_LEN + 1];
	int open_res[SPOOL_LIST_BATCH], read_res[SPOOL_LIST_BATCH];
	struct spool_list_arg *la;
	unsigned int m;		/* names collected */
	int broken;		/* the ring failed: plain from then on */
	int stopped;		/* cb said stop */
};

/*
 * spool_uring_register - io_uring_register(2) itself: Debian 12's liburing
 * (2.3) declares io_uring_register_restrictions and io_uring_enable_rings
 * but its shared object does not export them
 */
static int
spool_uring_register(struct io_uring *ring, unsigned int op, void *arg,
    unsigned int n)
{
	return (int)syscall(__NR_io_uring_register, ring->ring_fd, op, arg, n);
}

/*
 * spool_uring_init - a ring that can only open (into its registered
 * file table), read and close; 0, or -1 (the plain path then)
 */
static int
spool_uring_init(struct spool_uring *u)
{
	struct io_uring_restriction res[4];
	struct io_uring_params p;
	int rc;

	memset(res, 0, sizeof(res));
	res[0].opcode = IORING_RESTRICTION_SQE_OP;
	res[0].sqe_op = IORING_OP_OPENAT;
	res[1].opcode = IORING_RESTRICTION_SQE_OP;
	res[1].sqe_op = IORING_OP_READ;
	res[2].opcode = IORING_RESTRICTION_SQE_OP;
	res[2].sqe_op = IORING_OP_CLOSE;
	res[3].opcode = IORING_RESTRICTION_SQE_FLAGS_ALLOWED;
	res[3].sqe_flags = IOSQE_IO_LINK | IOSQE_IO_HARDLINK |
	    IOSQE_FIXED_FILE;
	memset(&p, 0, sizeof(p));
	/* completions run in this task, at io_uring_enter (kernel 6.1) */
	p.flags = IORING_SETUP_R_DISABLED | IORING_SETUP_SINGLE_ISSUER |
	    IORING_SETUP_DEFER_TASKRUN;
	rc = io_uring_queue_init_params(SPOOL_LIST_BATCH * 3, &u->ring, &p);
	if (rc == -EINVAL) {
		memset(&p, 0, sizeof(p));
		p.flags = IORING_SETUP_R_DISABLED;
		rc = io_uring_queue_init_params(SPOOL_LIST_BATCH * 3,
		    &u->ring, &p);
	}
	if (rc < 0)
		return -1;
	if (io_uring_register_files_sparse(&u->ring, SPOOL_LIST_BATCH) < 0 ||
	    spool_uring_register(&u->ring, IORING_REGISTER_RESTRICTIONS, res,
	    4) < 0 ||
	    spool_uring_register(&u->ring, IORING_REGISTER_ENABLE_RINGS, NULL,
	    0) < 0 ||
	    (u->bufs = malloc(SPOOL_LIST_BATCH * SPOOL_LIST_BUF)) == NULL) {
		io_uring_queue_exit(&u->ring);
		return -1;
	}
	return 0;
}

/*
 * spool_uring_run - open, read and close the m files of names in dfd:
 * their results in open_res and read_res (-errno on failure); 0, or -1
 * if the ring failed (requests may still be in flight: the buffers must
 * not be reused)
 */
static int
spool_uring_run(struct spool_uring *u, int dfd, unsigned int m)
{
	struct io_uring_sqe *s;
	struct io_uring_cqe *c;
	unsigned int k, head, seen, left = m * 3;
	int rc;

	for (k = 0; k < m; k++) {
		/* the queue has room for SPOOL_LIST_BATCH * 3: none is NULL */
		s = io_uring_get_sqe(&u->ring);
		io_uring_prep_openat_direct(s, dfd, u->names[k],
		    O_RDONLY | O_NOFOLLOW, 0, k);
		s->flags |= IOSQE_IO_LINK;
		io_uring_sqe_set_data64(s, (uint64_t)k << 2 | URING_OPEN);
		s = io_uring_get_sqe(&u->ring);
		io_uring_prep_read(s, (int)k, u->bufs[k], SPOOL_LIST_BUF, 0);
		/* hard: a short read (the usual one) must not cancel it */
		s->flags |= IOSQE_FIXED_FILE | IOSQE_IO_HARDLINK;
		io_uring_sqe_set_data64(s, (uint64_t)k << 2 | URING_READ);
		s = io_uring_get_sqe(&u->ring);
		io_uring_prep_close_direct(s, k);
		io_uring_sqe_set_data64(s, (uint64_t)k << 2 | URING_CLOSE);
	}
	if ((rc = io_uring_submit(&u->ring)) < 0 || (unsigned int)rc != left)
		return -1;
	while (left > 0) {
		if ((rc = io_uring_wait_cqe_nr(&u->ring, &c, left)) == -EINTR)
			continue;
		if (rc < 0)
			return -1;
		seen = 0;
		io_uring_for_each_cqe(&u->ring, head, c) {
			k = (unsigned int)(c->user_data >> 2);
			if ((c->user_data & 3) == URING_OPEN)
				u->open_res[k] = c->res;
			else if ((c->user_data & 3) == URING_READ)
				u->read_res[k] = c->res;
			seen++;
		}
		io_uring_cq_advance(&u->ring, seen);
		left -= seen < left ? seen : left;
	}
	return 0;
}

/*
 * spool_uring_batch - the callbacks for a batch's files, in order: an
 * envelope read whole is parsed, a file gone or a symbolic link skipped,
 * anything else read again by the plain path
 */
static int
spool_uring_batch(struct spool_uring *u, int dfd)
{
	size_t envlen;
	unsigned int k;
	int rc = 0, n;

	for (k = 0; k < u->m && rc == 0; k++) {
		if (u->open_res[k] == -ENOENT || u->open_res[k] == -ELOOP)
			continue;	/* moved meanwhile, or not ours */
		n = u->open_res[k] < 0 ? -1 : u->read_res[k];
		envlen = n > 0 ? envelope_length(u->bufs[k], (size_t)n) : 0;
		if (envlen > 0) {
			spool_list_nbatched++;
			rc = spool_list_parsed(u->la, u->names[k], u->bufs[k],
			    envlen);
		} else
			rc = spool_list_at(u->la, dfd, u->names[k]);
	}
	return rc;
}

/*
 * spool_uring_flush - the names collected: in a batch, or by the plain
 * path once the ring has failed; cb's value
 */
static int
spool_uring_flush(struct spool_uring *u, int dfd)
{
	unsigned int k;
	int rc = 0;

	if (!u->broken && (u->broken = spool_uring_run(u, dfd, u->m)) == 0)
		rc = spool_uring_batch(u, dfd);
	else
		for (k = 0; k < u->m && rc == 0; k++)
			rc = spool_list_at(u->la, dfd, u->names[k]);
	u->m = 0;
	u->stopped = rc != 0;
	return rc;
}

/* spool_uring_add - spool_each callback: collect a name, flush a batch */
static int
spool_uring_add(DIR *d, const char *name, void *arg)
{
	struct spool_uring *u = arg;

	if (!spool_list_mine(u->la, name))
		return 0;
	memcpy(u->names[u->m++], name, SPOOL_QID_LEN + 1);
	return u->m == SPOOL_LIST_BATCH ? spool_uring_flush(u, dirfd(d)) : 0;
}

/*
 * spool_list_uring - spool_list's walk with io_uring batches; -2 if the
 * ring cannot be set up (nothing listed: the plain path does it)
 */
static int
spool_list_uring(struct spool_list_arg *la, int fd)
{
	struct spool_uring *u;
	int rc, last, save;

	if ((u = calloc(1, sizeof(*u))) == NULL)
		return -2;
	if (spool_uring_init(u) == -1) {
		free(u);
		return -2;
	}
	u->la = la;
	rc = spool_each(fd, spool_uring_add, u);
	save = errno;
	/* the last names, also before a directory read error, as plain does */
	if (u->m > 0 && !u->stopped && (last = spool_uring_flush(u, fd)) != 0 &&
	    rc == 0) {
		rc = last;
		save = errno;
	}
	io_uring_queue_exit(&u->ring);
	if (!u->broken)		/* else a request may yet write into them */
		free(u->bufs);
	free(u);
	errno = save;
	return rc;
}
#endif /* HAVE_LIBURING */

/* spool_list - call cb with each entry's envelope (spool.h) */
int
spool_list(struct spool *sp, enum spool_state st, const char *connector,
    unsigned int part, unsigned int nparts, spool_list_cb cb, void *arg)
{
	struct spool_list_arg la = { cb, arg, NULL, spool_state_name(st),
	    connector, part, nparts, st == SPOOL_INCOMING };
	int fd, rc = -2;

	if ((fd = spool_fd(sp, st, connector)) == -1)
		return -1;
	if ((la.buf = malloc(SPOOL_LIST_BUF)) == NULL)
		return -1;
#ifdef HAVE_LIBURING
	/* incoming/ needs each file's link count (fstat): plain */
	if (st != SPOOL_INCOMING && !spool_list_force_plain)
		rc = spool_list_uring(&la, fd);
#endif
	if (rc == -2)
		rc = spool_each(fd, spool_list_one, &la);
	free(la.buf);
	return rc;
}

/* spool_list_plain - read every entry by the plain path (spool.h) */
void
spool_list_plain(int on)
{
	spool_list_force_plain = on;
}

/* spool_list_batched - entries read through io_uring so far (spool.h) */
unsigned long
spool_list_batched(void)
{
	return spool_list_nbatched;
}
