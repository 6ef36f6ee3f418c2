/*
 * spool.c - the maildir-style spool (layout in spool.h)
 *
 * Every path is relative to a directory descriptor opened once (the
 * receiver and the router chroot into the spool after opening it), and
 * every state change is one rename, which never replaces another file
 * (spool_rename_noreplace; spool.h).  The descriptors of the state
 * directories are opened by spool_open and never change; per-connector
 * directories are opened on first use and cached under a mutex, so
 * distinct spool_msg objects can be written and committed from different
 * threads.  Depends only on libc and pthreads; never logs: failures return
 * -1 with errno and, where the function takes one, a reason in err.
 * A corrupt envelope is reported with errno EBADMSG.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/stat.h>
#include <sys/vfs.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "spool.h"
#include "spool_int.h"

#define SPOOL_BUFSIZE	(64 * 1024)
#define SPOOL_BUFS_KEPT	32	/* freed message buffers kept for reuse */
#define SPOOL_SPARES	256	/* spare job inodes in tmp/, at most */
#define SPOOL_SPARE_SKIP 64	/* new jobs without a look at tmp/ after
				   a look found no spare */

/* State directories directly under the spool; the order is struct spool's. */
enum spool_dir {
	D_TMP, D_INCOMING, D_DATA, D_QUEUE, D_ACTIVE, D_DEFERRED, D_HOLD,
	D_FAILED, D_CORRUPT, D_RECEIVE, D_TRASH, D_NDIRS
};

static const char *spool_dir_names[D_NDIRS] = {
	"tmp", "incoming", "data", "queue", "active", "deferred", "hold",
	"failed", "corrupt", "receive", "trash"
};

static const char *spool_state_names[SPOOL_NSTATES] = {
	"incoming", "queue", "active", "deferred", "hold", "failed"
};

#define SPOOL_NCSTATES	5	/* per-connector states: queue .. failed */

struct spool_conn {
	char name[SPOOL_NAME_MAX];
	int fd[SPOOL_NCSTATES];	/* -1 until opened */
};

/* a routed message whose incoming/ file waits for a sync (spool_sync) */
struct spool_pending {
	char qid[SPOOL_QID_LEN + 1];
	struct timespec done;	/* its jobs were written (CLOCK_MONOTONIC) */
	int claimable;		/* a sync claim may cover it (spool_synced) */
};

struct spool {
	int dirfd;
	int fd[D_NDIRS];
	pthread_mutex_t lock;		/* conns, pending, bufs, syncs */
	struct spool_conn *conns;
	size_t nconns;
	struct spool_pending *pending;	/* incoming/ to unlink at sync */
	size_t npending;
	int unlinked;		/* incoming/ unlinks not yet on disk */
	struct timespec last_unlink;	/* the last of those (CLOCK_MONOTONIC) */
	struct timespec last_sync;	/* start of the last syncfs that worked */
	uid_t claim_uid;	/* owner of the messages claims cover, or -1 */
	char open_qid[SPOOL_QID_LEN + 1];	/* the last incoming/ file opened */
	uid_t open_uid;		/* and its owner */
	int shared_receive;	/* receive/ is setgid: its files are 0660 */
	int chmod_receive;	/* the umask would take group write: fchmod */
	int fsync_names;	/* an fsync of a renamed file makes its new
				   name durable too (spool_fsync_names) */
	char *bufs[SPOOL_BUFS_KEPT];	/* message buffers for the next ones */
	size_t nbufs;
	unsigned int spare_seq;	/* the spare.<n> an ended job becomes next */
	unsigned short spares[SPOOL_SPARES];	/* spare.<n> seen in tmp/ */
	size_t nspares, ispare;	/* how many, the next to take */
	unsigned int spare_skip;	/* new jobs written before a look */
};

static int spool_fsync_names(int);

struct spool_msg {
	struct spool *sp;
	char qid[SPOOL_QID_LEN + 1];
	enum spool_dir dir;	/* receive/ (the receiver) or tmp/ (copies) */
	int fd;
	off_t size;		/* message bytes accepted (written or buffered) */
	off_t written;		/* bytes of the file written so far */
	off_t seal_off;		/* file offset of the envelope's size digits */
	int sealed;		/* those digits hold the final size */
	int error;		/* first write error, sticky */
	size_t buflen;
	char *buf;
};

static int spool_ts_before(const struct timespec *, const struct timespec *);
static void spool_note_unlinks(struct spool *);

/* spool_seterr - format a reason into err, keeping errno (spool_int.h) */
void
spool_seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	int save = errno;

	if (err != NULL && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	errno = save;
}

/* ---- names ---- */

/* spool_qid_valid - exactly 20 lowercase hex digits */
int
spool_qid_valid(const char *s)
{
	size_t i;

	if (s == NULL)
		return 0;
	for (i = 0; i < SPOOL_QID_LEN; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return s[i] == '\0';
}

/* spool_qidgen_init - a generator whose IDs start at floor_us (spool.h) */
void
spool_qidgen_init(struct spool_qidgen *g, unsigned int instance,
    unsigned int sub, uint64_t floor_us)
{
	g->instance = instance & 0xff;
	g->sub = sub & SPOOL_QID_SUB_MAX;
	/* as if the counter of floor_us - 1 were spent: the next is >= floor */
	g->last_us = floor_us > 0 ? floor_us - 1 : 0;
	g->counter = (1u << SPOOL_QID_COUNT_BITS) - 1;
}

/*
 * spool_qidgen_next - the next ID with the clock at now_us.  The (time,
 * counter) pair only grows: a clock at or behind the last time part
 * (same microsecond, or stepped back) advances the counter, which moves
 * the time part on by one when it wraps.
 */
void
spool_qidgen_next(struct spool_qidgen *g, uint64_t now_us,
    char out[SPOOL_QID_LEN + 1])
{
	if (now_us > g->last_us) {
		g->last_us = now_us;
		g->counter = 0;
	} else if (++g->counter >= 1u << SPOOL_QID_COUNT_BITS) {
		g->last_us++;
		g->counter = 0;
	}
	snprintf(out, SPOOL_QID_LEN + 1, "%014" PRIx64 "%02x%04x",
	    g->last_us & UINT64_C(0xffffffffffffff), g->instance,
	    (g->sub << SPOOL_QID_COUNT_BITS) | g->counter);
}

static uint64_t spool_qid_hw_read(struct spool *);
static int spool_state_put(struct spool *, const char *, const char *,
    mode_t, char *, size_t);

/* spool_mtime_us - mtime of a descriptor in microseconds, 0 if unknown */
static uint64_t
spool_mtime_us(int fd)
{
	struct stat st;

	if (fd == -1 || fstat(fd, &st) == -1 || st.st_mtim.tv_sec < 0)
		return 0;
	return (uint64_t)st.st_mtim.tv_sec * 1000000 +
	    (uint64_t)st.st_mtim.tv_nsec / 1000;
}

/*
 * spool_qid_floor - newest change of receive/, tmp/, incoming/ and data/
 * plus a margin (spool.h).  Every message file is created in receive/ or
 * tmp/ after its ID was drawn and then renamed or linked into incoming/
 * or data/, so while
 * the clock only moved forward no ID has a later time part; the margin
 * covers the kernel's coarse timestamps.
 */
uint64_t
spool_qid_floor(struct spool *sp)
{
	static const enum spool_dir dirs[] = { D_RECEIVE, D_TMP, D_INCOMING,
	    D_DATA };
	uint64_t t, max = 0;
	size_t i;

	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
		if ((t = spool_mtime_us(sp->fd[dirs[i]])) > max)
			max = t;
	max += SPOOL_QID_MARGIN_US;
	/* the clock seen by a running daemon, in case it went back since */
	if ((t = spool_qid_hw_read(sp)) > 0) {
		t += (SPOOL_QID_HW_PERIOD + 1) * UINT64_C(1000000);
		if (t > max)
			max = t;
	}
	return max;
}

/* spool_qid_hw_read - the high-water mark of the clock, 0 when none */
static uint64_t
spool_qid_hw_read(struct spool *sp)
{
	unsigned long long v;
	char *text, *end;

	if ((text = spool_state_read(sp, SPOOL_QID_HW_FILE, 32)) == NULL)
		return 0;
	errno = 0;
	v = strtoull(text, &end, 10);
	if (errno != 0 || end == text || (*end != '\n' && *end != '\0'))
		v = 0;
	free(text);
	return v;
}

/* spool_qid_highwater - the master's periodic mark of the clock (spool.h) */
int
spool_qid_highwater(struct spool *sp, char *err, size_t errlen)
{
	struct timespec ts;
	uint64_t now, hw;
	char text[32];

	clock_gettime(CLOCK_REALTIME, &ts);
	now = (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
	hw = spool_qid_hw_read(sp);
	if (hw >= now)
		return 0;	/* the clock went back: keep the mark */
	snprintf(text, sizeof(text), "%llu\n", (unsigned long long)now);
	return spool_state_put(sp, SPOOL_QID_HW_FILE, text, 0644, err, errlen);
}

static pthread_mutex_t spool_qid_lock = PTHREAD_MUTEX_INITIALIZER;
static struct spool_qidgen spool_qid_gen;
static int spool_qid_floored;	/* the floor of the spool was applied */

/* spool_qid_setup - the process's instance and sub-instance (spool.h) */
void
spool_qid_setup(unsigned int instance, unsigned int sub)
{
	pthread_mutex_lock(&spool_qid_lock);
	spool_qid_gen.instance = instance & 0xff;
	spool_qid_gen.sub = sub & SPOOL_QID_SUB_MAX;
	pthread_mutex_unlock(&spool_qid_lock);
}

/* spool_qid_new - a new queue ID from the process's generator (spool.h) */
void
spool_qid_new(struct spool *sp, char out[SPOOL_QID_LEN + 1])
{
	struct spool_qidgen floor;
	struct timespec ts;
	uint64_t us;

	clock_gettime(CLOCK_REALTIME, &ts);
	us = (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
	pthread_mutex_lock(&spool_qid_lock);
	if (!spool_qid_floored && sp != NULL) {
		spool_qidgen_init(&floor, 0, 0, spool_qid_floor(sp));
		if (floor.last_us > spool_qid_gen.last_us) {
			spool_qid_gen.last_us = floor.last_us;
			spool_qid_gen.counter = floor.counter;
		}
		spool_qid_floored = 1;
	}
	spool_qidgen_next(&spool_qid_gen, us, out);
	pthread_mutex_unlock(&spool_qid_lock);
}

/* spool_name_valid - [a-z0-9_][a-z0-9_-]*, shorter than SPOOL_NAME_MAX */
int
spool_name_valid(const char *s)
{
	size_t i;

	if (s == NULL || s[0] == '\0' || s[0] == '-')
		return 0;
	for (i = 0; s[i] != '\0'; i++) {
		if (i >= SPOOL_NAME_MAX - 1)
			return 0;
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
		    s[i] == '_' || s[i] == '-'))
			return 0;
	}
	return 1;
}

/* spool_state_name - directory name of a state */
const char *
spool_state_name(enum spool_state st)
{
	if ((unsigned int)st >= SPOOL_NSTATES)
		return "unknown";
	return spool_state_names[st];
}

/* spool_state_from_name - state of a name, -1 if none */
int
spool_state_from_name(const char *name)
{
	int i;

	for (i = 0; i < SPOOL_NSTATES; i++)
		if (strcmp(name, spool_state_names[i]) == 0)
			return i;
	return -1;
}

/* ---- opening ---- */

/* spool_stat_dir - fstat fd and insist on a directory; -1 with err */
static int
spool_stat_dir(int fd, const char *what, struct stat *st, char *err,
    size_t errlen)
{
	if (fstat(fd, st) == -1) {
		spool_seterr(err, errlen, "%s: %s", what, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st->st_mode)) {
		errno = ENOTDIR;
		spool_seterr(err, errlen, "%s: not a directory", what);
		return -1;
	}
	return 0;
}

/* spool_check_dir - a directory, not group or world writable */
static int
spool_check_dir(int fd, const char *what, char *err, size_t errlen)
{
	struct stat st;

	if (spool_stat_dir(fd, what, &st, err, errlen) == -1)
		return -1;
	if (st.st_mode & (S_IWGRP | S_IWOTH)) {
		errno = EPERM;
		spool_seterr(err, errlen,
		    "%s: spool directory is group or world writable (mode %04o)",
		    what, (unsigned int)(st.st_mode & 07777));
		return -1;
	}
	return 0;
}

/* spool_mkdirat - make dir at (fd, name) if missing, chown what it made */
static int
spool_mkdirat(int fd, const char *name, uid_t owner, gid_t group)
{
	if (mkdirat(fd, name, 0700) == -1)
		return errno == EEXIST ? 0 : -1;
	if (owner != (uid_t)-1 &&
	    fchownat(fd, name, owner, group, AT_SYMLINK_NOFOLLOW) == -1)
		return -1;
	return 0;
}

/* spool_open - open (and with create, make) the spool at path */
struct spool *
spool_open(const char *path, int create, uid_t owner, gid_t group,
    char *err, size_t errlen)
{
	struct spool *sp;
	int fd, i;

	if (create && spool_mkdirat(AT_FDCWD, path, owner, group) == -1) {
		spool_seterr(err, errlen, "mkdir %s: %s", path, strerror(errno));
		return NULL;
	}
	if ((fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		spool_seterr(err, errlen, "open %s: %s", path,
		    errno == ENOTDIR ? "not a directory" : strerror(errno));
		return NULL;
	}
	if (spool_check_dir(fd, path, err, errlen) == -1)
		goto fail;
	for (i = 0; create && i < D_NDIRS; i++) {
		if (spool_mkdirat(fd, spool_dir_names[i], owner, group) == -1) {
			spool_seterr(err, errlen, "mkdir %s/%s: %s", path,
			    spool_dir_names[i], strerror(errno));
			goto fail;
		}
	}
	sp = spool_open_fd(fd, err, errlen);
	close(fd);
	return sp;
fail:
	i = errno;
	close(fd);
	errno = i;
	return NULL;
}

/*
 * spool_why_not_dir - the reason an O_DIRECTORY | O_NOFOLLOW open of
 * (fd, name) failed, for the error text (errno kept)
 */
static const char *
spool_why_not_dir(int fd, const char *name)
{
	int save = errno;
	struct stat st;
	const char *why = strerror(save);

	if ((save == ELOOP || save == ENOTDIR) &&
	    fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
		why = S_ISLNK(st.st_mode) ? "a symbolic link: refusing to "
		    "follow it" : "not a directory";
	errno = save;
	return why;
}

/* spool_owner_of - who must own directory i, with which group and mode */
static void
spool_owner_of(const struct spool_owners *o, int i, uid_t *uid, gid_t *gid,
    mode_t *mode)
{
	*uid = o->uid;
	*gid = o->gid;
	*mode = 0700;
	if (i == D_RECEIVE) {
		*uid = o->recv_uid;
		*mode = 02750;
	} else if (i == D_INCOMING) {
		*gid = o->recv_gid;
		*mode = 01730;
	}
}

/*
 * spool_fix_dir - give the directory open at fd its owner and mode after
 * checking what it is: only a directory of ours (the expected owner's,
 * root's, or also's: the queue user's when the layout predates this one)
 * is changed; -1 with err otherwise.  The descriptor was opened without
 * following a symlink in a directory that only root can change, so what
 * is checked is what is changed.
 */
static int
spool_fix_dir(int fd, const char *what, uid_t uid, gid_t gid, mode_t mode,
    uid_t also, char *err, size_t errlen)
{
	struct stat st;

	if (spool_stat_dir(fd, what, &st, err, errlen) == -1)
		return -1;
	if (st.st_uid != uid && st.st_uid != 0 && st.st_uid != also) {
		errno = EPERM;
		spool_seterr(err, errlen, "%s: owned by uid %u, expected %u: "
		    "refusing to take it over", what, (unsigned)st.st_uid,
		    (unsigned)uid);
		return -1;
	}
	if ((st.st_uid != uid || st.st_gid != gid) &&
	    fchown(fd, uid, gid) == -1) {
		spool_seterr(err, errlen, "chown %s: %s", what, strerror(errno));
		return -1;
	}
	if ((st.st_mode & 07777) != mode && fchmod(fd, mode) == -1) {
		spool_seterr(err, errlen, "chmod %s: %s", what, strerror(errno));
		return -1;
	}
	return 0;
}

/* spool_prepare_sub - make or repair one directory under the spool */
static int
spool_prepare_sub(int rootfd, const char *path, const char *name, uid_t uid,
    gid_t gid, mode_t mode, uid_t also, char *err, size_t errlen)
{
	char what[PATH_MAX];
	int fd, rc;

	snprintf(what, sizeof(what), "%s/%s", path, name);
	if (mkdirat(rootfd, name, 0700) == -1 && errno != EEXIST) {
		spool_seterr(err, errlen, "mkdir %s: %s", what, strerror(errno));
		return -1;
	}
	if ((fd = openat(rootfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1) {
		spool_seterr(err, errlen, "%s: %s", what,
		    spool_why_not_dir(rootfd, name));
		return -1;
	}
	rc = spool_fix_dir(fd, what, uid, gid, mode, also, err, errlen);
	close(fd);
	return rc;
}

/* spool_prepare - as root: make or repair the layout (spool.h) */
int
spool_prepare(const char *path, const struct spool_owners *o,
    const char *const *extra, char *err, size_t errlen)
{
	uid_t uid;
	gid_t gid;
	mode_t mode;
	int fd, i, rc = -1;

	if (mkdir(path, 0755) == -1 && errno != EEXIST) {
		spool_seterr(err, errlen, "mkdir %s: %s", path, strerror(errno));
		return -1;
	}
	/* the path is the administrator's (the configuration's), not ours */
	if ((fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		spool_seterr(err, errlen, "open %s: %s", path, strerror(errno));
		return -1;
	}
	/* the root first: once it is root's, nobody else can rename in it */
	if (spool_fix_dir(fd, path, 0, 0, 0755, o->uid, err, errlen) == -1)
		goto out;
	for (i = 0; i < D_NDIRS; i++) {
		spool_owner_of(o, i, &uid, &gid, &mode);
		if (spool_prepare_sub(fd, path, spool_dir_names[i], uid, gid,
		    mode, o->uid, err, errlen) == -1)
			goto out;
	}
	for (i = 0; extra != NULL && extra[i] != NULL; i++)
		if (spool_prepare_sub(fd, path, extra[i], o->uid, o->gid, 0700,
		    o->uid, err, errlen) == -1)
			goto out;
	rc = 0;
out:
	i = errno;
	close(fd);
	errno = i;
	return rc;
}

/*
 * spool_open_fd - use an already open directory descriptor.  The spool
 * keeps its own duplicate; the caller still owns (and may close) dirfd.
 */
struct spool *
spool_open_fd(int dirfd, char *err, size_t errlen)
{
	struct spool *sp;
	struct stat st;
	mode_t um;
	int i, save;

	if (spool_check_dir(dirfd, "spool", err, errlen) == -1)
		return NULL;
	if ((sp = calloc(1, sizeof(*sp))) == NULL) {
		spool_seterr(err, errlen, "out of memory");
		return NULL;
	}
	for (i = 0; i < D_NDIRS; i++)
		sp->fd[i] = -1;
	pthread_mutex_init(&sp->lock, NULL);
	/* processes ending jobs at once start at different spare names */
	sp->spare_seq = (unsigned int)getpid() * 37U;
	if ((sp->dirfd = fcntl(dirfd, F_DUPFD_CLOEXEC, 3)) == -1) {
		spool_seterr(err, errlen, "dup: %s", strerror(errno));
		goto fail;
	}
	for (i = 0; i < D_NDIRS; i++) {
		sp->fd[i] = openat(sp->dirfd, spool_dir_names[i],
		    O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
		/* a spool made before trash/ (the master adds it at start) */
		if (sp->fd[i] == -1 && i == D_TRASH && errno == ENOENT)
			continue;
		if (sp->fd[i] == -1) {
			spool_seterr(err, errlen, "spool directory %s/: %s",
			    spool_dir_names[i], spool_why_not_dir(sp->dirfd,
			    spool_dir_names[i]));
			goto fail;
		}
	}
	sp->fsync_names = spool_fsync_names(sp->fd[D_INCOMING]);
	sp->shared_receive = fstat(sp->fd[D_RECEIVE], &st) == 0 &&
	    (st.st_mode & S_ISGID) != 0;
	sp->claim_uid = (uid_t)-1;
	/* one syscall less per message where the umask lets 0660 through */
	um = umask(0);
	umask(um);
	sp->chmod_receive = (um & 0660) != 0;
	return sp;
fail:
	save = errno;
	spool_close(sp);
	errno = save;
	return NULL;
}

/* spool_close - close every descriptor and free */
void
spool_close(struct spool *sp)
{
	size_t i, j;

	if (sp == NULL)
		return;
	if (sp->npending > 0)
		spool_sync(sp);	/* finish what spool_route started */
	(void)spool_sync_unlinks(sp);
	for (i = 0; i < D_NDIRS; i++)
		if (sp->fd[i] != -1)
			close(sp->fd[i]);
	for (i = 0; i < sp->nconns; i++)
		for (j = 0; j < SPOOL_NCSTATES; j++)
			if (sp->conns[i].fd[j] != -1)
				close(sp->conns[i].fd[j]);
	if (sp->dirfd > 0)
		close(sp->dirfd);
	pthread_mutex_destroy(&sp->lock);
	while (sp->nbufs > 0)
		free(sp->bufs[--sp->nbufs]);
	free(sp->conns);
	free(sp->pending);
	free(sp);
}

/* spool_dirfd - the spool's directory descriptor */
int
spool_dirfd(const struct spool *sp)
{
	return sp->dirfd;
}

/* spool_state_dir - directory index of a state */
static enum spool_dir
spool_state_dir(enum spool_state st)
{
	switch (st) {
	case SPOOL_INCOMING:	return D_INCOMING;
	case SPOOL_QUEUE:	return D_QUEUE;
	case SPOOL_ACTIVE:	return D_ACTIVE;
	case SPOOL_DEFERRED:	return D_DEFERRED;
	case SPOOL_HOLD:	return D_HOLD;
	case SPOOL_FAILED:	return D_FAILED;
	default:		return D_NDIRS;
	}
}

/* spool_conn_find - cached entry of a connector (lock held), NULL if full */
static struct spool_conn *
spool_conn_find(struct spool *sp, const char *connector)
{
	struct spool_conn *c;
	size_t i;

	for (i = 0; i < sp->nconns; i++)
		if (strcmp(sp->conns[i].name, connector) == 0)
			return &sp->conns[i];
	c = reallocarray(sp->conns, sp->nconns + 1, sizeof(*c));
	if (c == NULL)
		return NULL;
	sp->conns = c;
	c = &sp->conns[sp->nconns++];
	memset(c, 0, sizeof(*c));
	memcpy(c->name, connector, strlen(connector) + 1);
	for (i = 0; i < SPOOL_NCSTATES; i++)
		c->fd[i] = -1;
	return c;
}

/*
 * spool_fd - descriptor of a state directory (per connector except for
 * incoming); opened lazily and cached.  -1 with errno.
 */
int
spool_fd(struct spool *sp, enum spool_state st, const char *connector)
{
	struct spool_conn *c;
	enum spool_dir d = spool_state_dir(st);
	int fd, idx, save;

	if (d == D_NDIRS || (st != SPOOL_INCOMING && !spool_name_valid(connector))) {
		errno = EINVAL;
		return -1;
	}
	if (st == SPOOL_INCOMING)
		return sp->fd[D_INCOMING];
	idx = (int)d - D_QUEUE;
	pthread_mutex_lock(&sp->lock);
	if ((c = spool_conn_find(sp, connector)) == NULL) {
		pthread_mutex_unlock(&sp->lock);
		errno = ENOMEM;
		return -1;
	}
	if (c->fd[idx] == -1)
		c->fd[idx] = openat(sp->fd[d], connector,
		    O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	fd = c->fd[idx];
	save = errno;
	pthread_mutex_unlock(&sp->lock);
	errno = save;
	return fd;
}

/* spool_connector_init - make the per-connector directories of every state */
int
spool_connector_init(struct spool *sp, const char *connector, uid_t owner,
    gid_t group, char *err, size_t errlen)
{
	int d;

	if (!spool_name_valid(connector)) {
		errno = EINVAL;
		spool_seterr(err, errlen, "invalid connector name");
		return -1;
	}
	for (d = D_QUEUE; d <= D_FAILED; d++) {
		if (spool_mkdirat(sp->fd[d], connector, owner, group) == -1) {
			spool_seterr(err, errlen, "mkdir %s/%s: %s",
			    spool_dir_names[d], connector, strerror(errno));
			return -1;
		}
	}
	return 0;
}

/* ---- small file helpers ---- */

/* spool_write_all - write every byte or fail */
static int
spool_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	ssize_t n;

	while (len > 0) {
		if ((n = write(fd, p, len)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* spool_close_keep - close without clobbering errno */
void
spool_close_keep(int fd)
{
	int save = errno;

	close(fd);
	errno = save;
}

/* spool_unlink_keep - unlinkat without clobbering errno */
static void
spool_unlink_keep(int dirfd, const char *name)
{
	int save = errno;

	unlinkat(dirfd, name, 0);
	errno = save;
}

/* spool_rename_noreplace - a rename that never replaces (spool_int.h) */
int
spool_rename_noreplace(int fromfd, const char *from, int tofd, const char *to)
{
	int save;

#ifdef RENAME_NOREPLACE
	if (renameat2(fromfd, from, tofd, to, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS)
		return -1;
#endif
	/* a hard link never replaces either; then drop the old name */
	if (linkat(fromfd, from, tofd, to, 0) == -1)
		return -1;
	if (unlinkat(fromfd, from, 0) == -1) {
		save = errno;
		(void)unlinkat(tofd, to, 0);
		errno = save;
		return -1;
	}
	return 0;
}

/*
 * spool_read_envelope - parse the envelope at the start of an open file:
 * read until its "end" line is seen, EOF, or ENVELOPE_MAX_SIZE.  Sets *offset
 * to the first byte after it.  -1 with errno (EBADMSG when corrupt).
 */
int
spool_read_envelope(int fd, const char *what, struct envelope *env,
    off_t *offset, char *err, size_t errlen)
{
	char *buf = NULL, *p, reason[SPOOL_ERRLEN];
	size_t len = 0, cap = 0, used;
	ssize_t n;

	for (;;) {
		if (len == cap) {
			cap = cap ? cap * 2 : 8192;
			if (cap > ENVELOPE_MAX_SIZE)
				cap = ENVELOPE_MAX_SIZE;
			if (len == cap)
				break;
			if ((p = realloc(buf, cap)) == NULL) {
				free(buf);
				spool_seterr(err, errlen, "%s: out of memory", what);
				return -1;
			}
			buf = p;
		}
		n = pread(fd, buf + len, cap - len, (off_t)len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == ESPIPE || errno == EISDIR ||
		    errno == EINVAL)) {
			/* a FIFO or socket, a directory: not a spool file */
			free(buf);
			errno = EBADMSG;
			spool_seterr(err, errlen, "%s: not a regular file", what);
			return -1;
		}
		if (n == -1) {
			spool_seterr(err, errlen, "%s: read: %s", what, strerror(errno));
			free(buf);
			return -1;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (envelope_length(buf, len) > 0)
			break;
	}
	if (envelope_parse(buf ? buf : "", len, env, &used, reason,
	    sizeof(reason)) == -1) {
		free(buf);
		errno = errno == ENOMEM ? ENOMEM : EBADMSG;
		spool_seterr(err, errlen, "%s: %s", what,
		    len == 0 ? "empty file" : reason);
		return -1;
	}
	free(buf);
	*offset = (off_t)used;
	return 0;
}

/* spool_open_read - open (dirfd, name) read-only and parse its envelope */
static int
spool_open_read(int dirfd, const char *name, const char *what,
    struct envelope *env, off_t *offset, char *err, size_t errlen)
{
	int fd;

	/*
	 * O_NONBLOCK: a FIFO planted in a directory must not block us.  No
	 * fstat for the file's type: pread refuses what is not a regular
	 * file (a FIFO, a directory: spool_read_envelope), and no process
	 * of the gateway may make a device node.
	 */
	if ((fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW |
	    O_NONBLOCK)) == -1) {
		spool_seterr(err, errlen, "%s: %s", what, errno == ELOOP ?
		    "is a symbolic link" : strerror(errno));
		return -1;
	}
	if (spool_read_envelope(fd, what, env, offset, err, errlen) == -1) {
		spool_close_keep(fd);
		return -1;
	}
	return fd;
}

/* ---- receiver ---- */

/*
 * spool_buf_get, spool_buf_put - a message's write buffer, kept for the
 * next message when it is done: a buffer freed and allocated again per
 * message has its pages faulted in again each time (glibc gives a free
 * heap top back to the kernel), and page faults are dear
 */
static char *
spool_buf_get(struct spool *sp)
{
	char *b = NULL;

	pthread_mutex_lock(&sp->lock);
	if (sp->nbufs > 0)
		b = sp->bufs[--sp->nbufs];
	pthread_mutex_unlock(&sp->lock);
	return b != NULL ? b : malloc(SPOOL_BUFSIZE);
}

static void
spool_buf_put(struct spool *sp, char *b)
{
	if (b == NULL)
		return;
	pthread_mutex_lock(&sp->lock);
	if (sp->nbufs < SPOOL_BUFS_KEPT) {
		sp->bufs[sp->nbufs++] = b;
		b = NULL;
	}
	pthread_mutex_unlock(&sp->lock);
	free(b);
}

/*
 * spool_msg_create_in - create <dir>/<env->id> exclusively and start it
 * with the envelope; in a shared receive/ the file is 0660 so that the
 * router (of the directory's group) may read it and hard-link it into
 * data/.  The envelope's size is written as a fixed-width placeholder
 * that spool_msg_seal() fills in; the envelope waits in the buffer (one
 * write with the first message bytes, the seal made there) unless it is
 * larger than the buffer.
 */
static struct spool_msg *
spool_msg_create_in(struct spool *sp, enum spool_dir dir,
    const struct envelope *env, char *err, size_t errlen)
{
	struct envelope sealed;
	struct spool_msg *m;
	char *text, *p;
	size_t len;
	int shared;

	if (!spool_qid_valid(env->id) || env->kind != ENVELOPE_MESSAGE) {
		errno = EINVAL;
		spool_seterr(err, errlen, "invalid queue id or envelope kind");
		return NULL;
	}
	sealed = *env;			/* shallow: only formatted */
	sealed.size = ENVELOPE_SIZE_SEAL;
	if (envelope_format(&sealed, &text, &len) == -1) {
		spool_seterr(err, errlen, "%s: cannot format envelope: %s",
		    env->id, strerror(errno));
		return NULL;
	}
	if ((p = memmem(text, len, "\nsize ", 6)) == NULL) {
		free(text);
		errno = EINVAL;
		spool_seterr(err, errlen, "%s: envelope without a size", env->id);
		return NULL;
	}
	if ((m = calloc(1, sizeof(*m))) == NULL ||
	    (m->buf = spool_buf_get(sp)) == NULL) {
		free(m);
		free(text);
		errno = ENOMEM;
		spool_seterr(err, errlen, "%s: out of memory", env->id);
		return NULL;
	}
	m->sp = sp;
	m->dir = dir;
	m->seal_off = (off_t)(p + 6 - text);
	memcpy(m->qid, env->id, sizeof(m->qid));
	shared = dir == D_RECEIVE && sp->shared_receive;
	m->fd = openat(sp->fd[dir], m->qid,
	    O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW,
	    shared ? 0660 : 0600);
	if (m->fd == -1 || (shared && sp->chmod_receive &&
	    fchmod(m->fd, 0660) == -1) ||
	    (len > SPOOL_BUFSIZE && spool_write_all(m->fd, text, len) == -1)) {
		spool_seterr(err, errlen, "%s/%s: %s", spool_dir_names[dir],
		    m->qid, strerror(errno));
		free(text);
		if (m->fd != -1) {
			spool_close_keep(m->fd);
			spool_unlink_keep(sp->fd[dir], m->qid);
		}
		spool_buf_put(sp, m->buf);
		free(m);
		return NULL;
	}
	if (len > SPOOL_BUFSIZE)
		m->written = (off_t)len;
	else {
		memcpy(m->buf, text, len);
		m->buflen = len;
	}
	free(text);
	return m;
}

/* spool_msg_receive - the receiver: receive/<env->id> (spool.h) */
struct spool_msg *
spool_msg_receive(struct spool *sp, const struct envelope *env, char *err,
    size_t errlen)
{
	return spool_msg_create_in(sp, D_RECEIVE, env, err, errlen);
}

/* spool_msg_create - the queue's own messages (DSNs): tmp/<env->id> */
struct spool_msg *
spool_msg_create(struct spool *sp, const struct envelope *env, char *err,
    size_t errlen)
{
	return spool_msg_create_in(sp, D_TMP, env, err, errlen);
}

/* spool_msg_drain - write out the buffer; remembers the first error */
static int
spool_msg_drain(struct spool_msg *m)
{
	if (m->error) {
		errno = m->error;
		return -1;
	}
	if (m->buflen > 0 && spool_write_all(m->fd, m->buf, m->buflen) == -1) {
		m->error = errno;
		return -1;
	}
	m->written += (off_t)m->buflen;
	m->buflen = 0;
	return 0;
}

/*
 * spool_msg_seal - the message is complete: write its size into the
 * envelope's placeholder, in the buffer if the envelope is still there,
 * else in the file.  A file whose sealed size does not match its length
 * was never acknowledged (spool_commit); spool_message_open refuses it.
 */
static int
spool_msg_seal(struct spool_msg *m)
{
	char digits[ENVELOPE_SIZE_WIDTH + 2];
	ssize_t n;

	if (m->error) {
		errno = m->error;
		return -1;
	}
	if (m->sealed)
		return 0;
	if (snprintf(digits, sizeof(digits), "%0*jd", ENVELOPE_SIZE_WIDTH,
	    (intmax_t)m->size) != ENVELOPE_SIZE_WIDTH) {
		m->error = EFBIG;
		errno = EFBIG;
		return -1;
	}
	if (m->seal_off >= m->written)
		memcpy(m->buf + (m->seal_off - m->written), digits,
		    ENVELOPE_SIZE_WIDTH);
	else {
		do {
			n = pwrite(m->fd, digits, ENVELOPE_SIZE_WIDTH,
			    m->seal_off);
		} while (n == -1 && errno == EINTR);
		if (n != ENVELOPE_SIZE_WIDTH) {
			m->error = n == -1 ? errno : EIO;
			errno = m->error;
			return -1;
		}
	}
	m->sealed = 1;
	return 0;
}

/* spool_msg_write - append message bytes (buffered); -1 on a write error */
int
spool_msg_write(struct spool_msg *m, const void *buf, size_t len)
{
	if (m->error) {
		errno = m->error;
		return -1;
	}
	if (m->buflen + len > SPOOL_BUFSIZE && spool_msg_drain(m) == -1)
		return -1;
	if (m->sealed) {
		errno = m->error = EINVAL;	/* no byte after the seal */
		return -1;
	}
	if (len >= SPOOL_BUFSIZE) {
		if (spool_write_all(m->fd, buf, len) == -1) {
			m->error = errno;
			return -1;
		}
		m->written += (off_t)len;
	} else {
		memcpy(m->buf + m->buflen, buf, len);
		m->buflen += len;
	}
	m->size += (off_t)len;
	return 0;
}

/* spool_msg_size - message bytes accepted so far */
off_t
spool_msg_size(const struct spool_msg *m)
{
	return m->size;
}

/* spool_msg_id - the message's queue ID */
const char *
spool_msg_id(const struct spool_msg *m)
{
	return m->qid;
}

/* spool_msg_flush - seal the message and hand its bytes to the kernel */
int
spool_msg_flush(struct spool_msg *m)
{
	if (spool_msg_seal(m) == -1)
		return -1;
	return spool_msg_drain(m);
}

/* spool_msg_free - close and free (the file stays) */
static void
spool_msg_free(struct spool_msg *m)
{
	if (m->fd != -1)
		spool_close_keep(m->fd);
	spool_buf_put(m->sp, m->buf);
	free(m);
}

/* spool_msg_abort - remove the tmp file and free */
void
spool_msg_abort(struct spool_msg *m)
{
	if (m == NULL)
		return;
	spool_unlink_keep(m->sp->fd[m->dir], m->qid);
	spool_msg_free(m);
}

#ifdef HAVE_SYNCFS
/*
 * spool_syncfs - syncfs of the spool's file system; the time it started
 * is kept when it worked (spool_last_sync): every write that ended before
 * it is on disk
 */
static int
spool_syncfs(struct spool *sp)
{
	struct timespec start;

	clock_gettime(CLOCK_MONOTONIC, &start);
	if (syncfs(sp->dirfd) == -1)
		return -1;
	pthread_mutex_lock(&sp->lock);
	if (spool_ts_before(&sp->last_sync, &start))
		sp->last_sync = start;
	pthread_mutex_unlock(&sp->lock);
	return 0;
}
#endif

/* spool_last_sync - see spool.h */
int
spool_last_sync(struct spool *sp, struct timespec *start)
{
	pthread_mutex_lock(&sp->lock);
	*start = sp->last_sync;
	pthread_mutex_unlock(&sp->lock);
	return start->tv_sec == 0 && start->tv_nsec == 0 ? -1 : 0;
}

/*
 * spool_fsync_names - whether the file system of incoming/ makes a renamed
 * file's new name durable with the file's fsync: ext4 (its fsync commits
 * the journal transaction up to the inode's last change, and the rename
 * changed the inode in the transaction that moved the name) and XFS (its
 * fsync forces the log up to the inode's last change, the rename being
 * one log item with both directories).  Elsewhere the directory needs a
 * sync of its own.
 */
static int
spool_fsync_names(int fd)
{
	struct statfs fs;

	if (fstatfs(fd, &fs) == -1)
		return 0;
	return fs.f_type == 0xEF53 ||		/* EXT4_SUPER_MAGIC (ext2/3/4) */
	    fs.f_type == 0x58465342;		/* XFS_SUPER_MAGIC */
}

/* spool_commit_renames - the good files of a batch into incoming/ */
static size_t
spool_commit_renames(struct spool *sp, struct spool_msg **msgs, size_t n,
    int *good)
{
	size_t i, nrenamed = 0;

	for (i = 0; i < n; i++) {
		/* a name taken in incoming/ is not ours to replace */
		if (good[i] && spool_rename_noreplace(sp->fd[msgs[i]->dir],
		    msgs[i]->qid, sp->fd[D_INCOMING], msgs[i]->qid) == -1)
			good[i] = 0;
		nrenamed += good[i];
	}
	return nrenamed;
}

/* spool_commit_undo - a sync failed: take the batch out of incoming/ */
static void
spool_commit_undo(struct spool *sp, struct spool_msg **msgs, size_t n,
    int *good)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (good[i]) {
			spool_unlink_keep(sp->fd[D_INCOMING], msgs[i]->qid);
			good[i] = 0;
		}
}

/*
 * spool_commit - make a batch durable and visible (spool.h).
 *
 * With syncfs(2): seal each file (its size in the envelope), rename it
 * into incoming/, then one syncfs puts the data, the envelopes and the
 * directory entries on stable storage together: one sync per batch.  A
 * crash before the syncfs returned may leave a renamed file whose data
 * did not all reach the disk; none of the batch was acknowledged, and
 * the sealed size tells such a file from a complete one: the file
 * systems the spool runs on (ext4 data=ordered, XFS, btrfs) never show
 * a length on disk beyond the data written, so the file is shorter than
 * its seal and spool_message_open refuses it (the router quarantines
 * it).  The router may route a renamed file before the syncfs returns:
 * if that sync then fails, the message answered 451 may still be
 * delivered, at least once as always, never lost.
 *
 * A batch of one on ext4 or XFS (spool_fsync_names): rename, then an
 * fsync of the file, which puts its data, its envelope and its new name
 * on stable storage with one journal commit (one cache flush, where a
 * syncfs costs two); spool_last_sync does not move (the router's jobs
 * are not covered: it syncs them itself).
 *
 * Without syncfs: fdatasync each file, rename, fsync incoming/ once.
 */
size_t
spool_commit(struct spool *sp, struct spool_msg **msgs, size_t n, int *ok)
{
	size_t i, ngood = 0, nrenamed = 0;
	int *good;

	if (n == 0)
		return 0;
	if ((good = calloc(n, sizeof(*good))) != NULL) {
		for (i = 0; i < n; i++)
			if ((good[i] = spool_msg_seal(msgs[i]) == 0 &&
			    spool_msg_drain(msgs[i]) == 0))
				ngood++;
#ifdef HAVE_SYNCFS
		if (ngood > 0)
			nrenamed = spool_commit_renames(sp, msgs, n, good);
		if (nrenamed == 1 && sp->fsync_names) {
			for (i = 0; !good[i]; i++)
				;
			if (fsync(msgs[i]->fd) == -1) {
				spool_commit_undo(sp, msgs, n, good);
				nrenamed = 0;
			}
		} else if (nrenamed > 0 && spool_syncfs(sp) == -1) {
			/* maybe not durable: do not acknowledge */
			spool_commit_undo(sp, msgs, n, good);
			nrenamed = 0;
		}
#else
		for (i = 0; i < n; i++)
			if (good[i] && fdatasync(msgs[i]->fd) == -1)
				good[i] = 0;
		nrenamed = spool_commit_renames(sp, msgs, n, good);
		if (nrenamed > 0 && fsync(sp->fd[D_INCOMING]) == -1) {
			spool_commit_undo(sp, msgs, n, good);
			nrenamed = 0;
		}
#endif
	}
	for (i = 0; i < n; i++) {
		if (ok != NULL)
			ok[i] = good != NULL && good[i];
		if (good == NULL || !good[i])
			spool_unlink_keep(sp->fd[msgs[i]->dir], msgs[i]->qid);
		spool_msg_free(msgs[i]);
	}
	free(good);
	return nrenamed;
}

/* ---- jobs and routing ---- */

/* spool_data_name - "<qid>.<connector>" of a data link */
static int
spool_data_name(char *buf, size_t len, const char *qid, const char *connector)
{
	int n = snprintf(buf, len, "%s.%s", qid, connector);

	if (n < 0 || (size_t)n >= len) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

/* spool_job_check - env is a job for (qid, connector) */
static int
spool_job_check(const struct envelope *env, const char *qid,
    const char *connector)
{
	if (env->kind != ENVELOPE_JOB || strcmp(env->id, qid) != 0 ||
	    env->connector == NULL ||
	    (connector != NULL && strcmp(env->connector, connector) != 0) ||
	    !spool_name_valid(env->connector)) {
		errno = EINVAL;
		return -1;
	}
	return 0;
}

/*
 * spool_tmp_job_name - the staging name of a job: tmp/<qid>.<connector>.job
 * for a new job (the router's, a failover's), tmp/<qid>.<connector>.upd for
 * the update of an active job (its worker's).  Only the second are the
 * worker's to remove when it starts (spool_recover_staged): a worker
 * starting while the router writes new jobs for it must not take them.
 */
static int
spool_tmp_job_name(char *buf, size_t len, const char *qid,
    const char *connector, int update)
{
	if (snprintf(buf, len, "%s.%s.%s", qid, connector,
	    update ? "upd" : "job") >= (int)len) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

/*
 * Spare job files.  Creating a file costs the file system an inode
 * allocation (on ext4 without a journal, a scan past every inode freed in
 * the last minute), and the router creates one per job.  So a job that
 * ended is not unlinked but renamed to tmp/spare.<n> (n below
 * SPOOL_SPARES, never replacing: at most that many wait), and the router
 * writes its next new job into one: opened without O_CREAT, checked (a
 * regular file, one link, ours), overwritten, cut to its length and
 * renamed into place as a fresh file would be.  An inode rewritten in
 * place is not a fresh one after a power failure: it may hold the old
 * job, or parts of both.  The job's checksum and its queue ID and
 * connector, checked wherever a job is loaded (envelope.h,
 * spool_job_check), refuse such a file, and the router, routing the
 * message again from incoming/ (where it stays until its jobs are
 * durable), writes the job again (spool_route_job).  Start-up removes
 * the spares with the rest of tmp/ (spool_recover_tmp).
 */

/* spool_spare_name - is name "spare.<n>"? n, or -1 */
int
spool_spare_name(const char *name)
{
	unsigned long n;
	char *end;

	if (strncmp(name, "spare.", 6) != 0 || name[6] < '0' || name[6] > '9')
		return -1;
	n = strtoul(name + 6, &end, 10);
	if (*end != '\0' || n >= SPOOL_SPARES || (name[6] == '0' && name[7]))
		return -1;
	return (int)n;
}

/*
 * spool_spare_keep - rename the ended job (dirfd, name) to tmp/spare.<n>;
 * -1 when it was not (that name waits already, or any error): the caller
 * unlinks it then
 */
static int
spool_spare_keep(struct spool *sp, int dirfd, const char *name)
{
	char spare[16];
	unsigned int n;

	pthread_mutex_lock(&sp->lock);
	n = sp->spare_seq++ % SPOOL_SPARES;
	pthread_mutex_unlock(&sp->lock);
	snprintf(spare, sizeof(spare), "spare.%u", n);
	return spool_rename_noreplace(dirfd, name, sp->fd[D_TMP], spare);
}

/* spool_spare_scan - the spares tmp/ holds now (caller holds the lock) */
static void
spool_spare_scan(struct spool *sp)
{
	struct dirent *de;
	DIR *d;
	int n;

	sp->nspares = sp->ispare = 0;
	if ((d = spool_opendir(sp->fd[D_TMP])) == NULL)
		return;
	while (sp->nspares < SPOOL_SPARES && (de = readdir(d)) != NULL)
		if ((n = spool_spare_name(de->d_name)) != -1)
			sp->spares[sp->nspares++] = (unsigned short)n;
	closedir(d);
}

/*
 * spool_spare_take - open a spare job file for writing; its name in
 * name[], its size in *size; -1 when there is none.  Anything but a
 * regular file of ours with one link (a link to another spool file
 * would be overwritten) is unlinked from tmp/ and passed over.
 */
static int
spool_spare_take(struct spool *sp, char *name, size_t len, off_t *size)
{
	struct stat st;
	int fd = -1;

	pthread_mutex_lock(&sp->lock);
	while (fd == -1) {
		if (sp->ispare == sp->nspares) {
			if (sp->spare_skip > 0) {
				sp->spare_skip--;
				break;
			}
			spool_spare_scan(sp);
			if (sp->nspares == 0) {
				sp->spare_skip = SPOOL_SPARE_SKIP;
				break;
			}
		}
		snprintf(name, len, "spare.%u", sp->spares[sp->ispare++]);
		if ((fd = openat(sp->fd[D_TMP], name, O_WRONLY | O_CLOEXEC |
		    O_NOFOLLOW | O_NONBLOCK)) == -1)
			continue;	/* taken meanwhile, or not a file */
		if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
		    st.st_nlink != 1 || st.st_uid != geteuid()) {
			spool_close_keep(fd);
			spool_unlink_keep(sp->fd[D_TMP], name);
			fd = -1;
			continue;
		}
		*size = st.st_size;
	}
	pthread_mutex_unlock(&sp->lock);
	return fd;
}

/*
 * spool_stage_job - write env as tmp/<qid>.<connector>.job (.upd for an
 * update): create it exclusively (a leftover from a crash is ours to
 * replace), write, optionally set the mtime and fsync.  -1 with errno
 * and err.
 */
static int
spool_stage_job(struct spool *sp, const struct envelope *env, int durable,
    int update, time_t mtime, char *tmpname, size_t tmplen, char *err,
    size_t errlen)
{
	struct timespec ts[2];
	char *text;
	size_t len;
	off_t size;
	int fd = -1;

	if (spool_tmp_job_name(tmpname, tmplen, env->id, env->connector,
	    update) == -1) {
		spool_seterr(err, errlen, "%s: connector name too long", env->id);
		return -1;
	}
	if (envelope_format(env, &text, &len) == -1) {
		spool_seterr(err, errlen, "%s: cannot format job envelope: %s",
		    env->id, strerror(errno));
		return -1;
	}
	/* a new job goes into a spare when there is one (above) */
	if (!update && (fd = spool_spare_take(sp, tmpname, tmplen,
	    &size)) != -1) {
		if (spool_write_all(fd, text, len) == -1 ||
		    (size > (off_t)len && ftruncate(fd, (off_t)len) == -1))
			goto fail;
		goto written;
	}
	fd = openat(sp->fd[D_TMP], tmpname,
	    O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd == -1 && errno == EEXIST) {
		/* a leftover of a crash: replace it (the rare case, so the
		 * common one costs no unlinkat) */
		if (unlinkat(sp->fd[D_TMP], tmpname, 0) == -1 &&
		    errno != ENOENT)
			goto fail;
		fd = openat(sp->fd[D_TMP], tmpname, O_CREAT | O_EXCL |
		    O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0600);
	}
	if (fd == -1 || spool_write_all(fd, text, len) == -1)
		goto fail;
written:
	ts[0].tv_sec = ts[1].tv_sec = mtime;
	ts[0].tv_nsec = ts[1].tv_nsec = 0;
	if (mtime != (time_t)-1 && futimens(fd, ts) == -1)
		goto fail;
	if (durable && fsync(fd) == -1)
		goto fail;
	if (close(fd) == -1) {
		fd = -1;
		goto fail;
	}
	free(text);
	return 0;
fail:
	spool_seterr(err, errlen, "tmp/%s: %s", tmpname, strerror(errno));
	if (fd != -1)
		spool_close_keep(fd);
	spool_unlink_keep(sp->fd[D_TMP], tmpname);
	free(text);
	return -1;
}

/*
 * spool_write_job - write env atomically as (dirfd, env->id): stage it
 * in tmp/ (fsynced when durable), rename into place.  With replace the
 * new file takes the place of the job's own file (the update of an
 * active job); otherwise a file of that name is left as it is and the
 * write fails with EEXIST.  -1 with errno and err.
 */
static int
spool_write_job(struct spool *sp, const struct envelope *env, int dirfd,
    int durable, int replace, time_t mtime, char *err, size_t errlen)
{
	char tmpname[SPOOL_QID_LEN + SPOOL_NAME_MAX + 8];
	int rc;

	if (spool_stage_job(sp, env, durable, replace, mtime, tmpname,
	    sizeof(tmpname), err, errlen) == -1)
		return -1;
	if (replace)
		rc = renameat(sp->fd[D_TMP], tmpname, dirfd, env->id);
	else
		rc = spool_rename_noreplace(sp->fd[D_TMP], tmpname, dirfd,
		    env->id);
	if (rc == -1) {
		if (errno == EEXIST)
			spool_seterr(err, errlen, "%s: a %s job of that queue ID "
			    "exists already (not replaced)", env->id,
			    env->connector);
		else
			spool_seterr(err, errlen, "tmp/%s: %s", tmpname,
			    strerror(errno));
		spool_unlink_keep(sp->fd[D_TMP], tmpname);
		return -1;
	}
	return 0;
}

/*
 * spool_link_data - link incoming/<qid> as data/<qid>.<connector>: 1 when
 * made now, 0 when there from an earlier routing of the same message
 */
static int
spool_link_data(struct spool *sp, const char *qid, const char *connector,
    char *err, size_t errlen)
{
	char name[SPOOL_QID_LEN + SPOOL_NAME_MAX + 2];
	struct stat a, b;

	if (spool_data_name(name, sizeof(name), qid, connector) == -1) {
		spool_seterr(err, errlen, "%s: connector name too long", qid);
		return -1;
	}
	if (linkat(sp->fd[D_INCOMING], qid, sp->fd[D_DATA], name, 0) == 0)
		return 1;
	if (errno != EEXIST) {
		spool_seterr(err, errlen, "link data/%s: %s", name, strerror(errno));
		return -1;
	}
	/* routed before a crash: fine if it is the same message */
	if (fstatat(sp->fd[D_INCOMING], qid, &a, AT_SYMLINK_NOFOLLOW) == -1 ||
	    fstatat(sp->fd[D_DATA], name, &b, AT_SYMLINK_NOFOLLOW) == -1) {
		spool_seterr(err, errlen, "stat data/%s: %s", name, strerror(errno));
		return -1;
	}
	if (a.st_dev != b.st_dev || a.st_ino != b.st_ino) {
		errno = EEXIST;
		spool_seterr(err, errlen, "data/%s exists and is another file", name);
		return -1;
	}
	return 0;
}

/* spool_job_elsewhere - the state (not skip) the job exists in, or -1 */
static int
spool_job_elsewhere(struct spool *sp, const char *qid, const char *connector,
    enum spool_state skip)
{
	struct stat st;
	int s, fd;

	for (s = SPOOL_QUEUE; s <= SPOOL_FAILED; s++) {
		if ((enum spool_state)s == skip ||
		    (fd = spool_fd(sp, (enum spool_state)s, connector)) == -1)
			continue;
		if (fstatat(fd, qid, &st, AT_SYMLINK_NOFOLLOW) == 0)
			return s;
	}
	return -1;
}

static int spool_corrupt_job(struct spool *, int, enum spool_state,
    const char *, const char *);

/*
 * spool_job_sound - is the job (qid, connector) found in state st that
 * job?  1 if it is; 0 if it is not (a file cut short, mixed with or left
 * with an earlier job's bytes by a power failure: spare job files, above)
 * and was moved to corrupt/, or if it left st meanwhile; -1 on an error.
 */
static int
spool_job_sound(struct spool *sp, enum spool_state st, const char *qid,
    const char *connector, char *err, size_t errlen)
{
	struct envelope env;
	int dfd, ok;

	if ((dfd = spool_fd(sp, st, connector)) == -1)
		return -1;
	if (spool_job_read(sp, st, connector, qid, &env, err, errlen) == 0) {
		ok = spool_job_check(&env, qid, connector) == 0;
		envelope_clear(&env);
		if (ok)
			return 1;
	} else if (errno == ENOENT)
		return 0;
	else if (errno != EBADMSG && errno != EFBIG)
		return -1;
	if (spool_corrupt_job(sp, dfd, st, connector, qid) == -1 &&
	    errno != ENOENT) {
		spool_seterr(err, errlen, "%s: move a torn job to corrupt/: %s",
		    qid, strerror(errno));
		return -1;
	}
	return 0;
}

/* spool_route_job - data link and job file of one job */
static int
spool_route_job(struct spool *sp, const char *qid, const struct envelope *job,
    char *err, size_t errlen)
{
	enum spool_state to = SPOOL_FAILED;
	size_t i;
	int fd, fresh, st, sound, tries, durable = 0;

	if (spool_job_check(job, qid, NULL) == -1) {
		spool_seterr(err, errlen, "%s: invalid job envelope", qid);
		return -1;
	}
	for (i = 0; i < job->nrcpt; i++)
		if (job->rcpt[i].state != RCPT_FAILED)
			to = SPOOL_QUEUE;
	if (job->nrcpt == 0)
		to = SPOOL_QUEUE;
	/* a hold rule (rules.h) parks the whole job for an operator */
	for (i = 0; i < job->nrcpt && to == SPOOL_QUEUE; i++)
		if (job->rcpt[i].state == RCPT_PENDING &&
		    envelope_rcpt_param(&job->rcpt[i], "hold") != NULL)
			to = SPOOL_HOLD;
	if ((fd = spool_fd(sp, to, job->connector)) == -1) {
		spool_seterr(err, errlen, "%s/%s: %s", spool_state_name(to),
		    job->connector, strerror(errno));
		return -1;
	}
	/*
	 * Routed before a crash, the worker may already have it: never
	 * duplicate, but only a job that is whole and this one (a job file
	 * rewritten in place may not be, spool_job_sound) stands for it.  A
	 * link made just now means no job of it exists: a job is written
	 * only after its link, and removed before it.  A torn job moved
	 * away, the data link is looked at again (a worker that found the
	 * job torn first may have moved both: worker_load).
	 */
	for (tries = 0;; tries++) {
		if ((fresh = spool_link_data(sp, qid, job->connector, err,
		    errlen)) == -1)
			return -1;
		if (fresh || (st = spool_job_elsewhere(sp, qid, job->connector,
		    SPOOL_NSTATES)) == -1)
			break;
		if ((sound = spool_job_sound(sp, (enum spool_state)st, qid,
		    job->connector, err, errlen)) != 0)
			return sound == 1 ? 0 : -1;
		if (tries == 3) {
			errno = EAGAIN;
			spool_seterr(err, errlen, "%s: its %s job keeps moving",
			    qid, job->connector);
			return -1;
		}
	}
#ifndef HAVE_SYNCFS
	durable = 1;
#endif
	if (spool_write_job(sp, job, fd, durable, 0, (time_t)-1, err,
	    errlen) == -1 && errno != EEXIST)
		return -1;
	/*
	 * EEXIST: a job of this message appeared since the look above (its
	 * data link is the same inode, spool_link_data): it stays.
	 */
	return 0;
}

/*
 * spool_route - write the jobs of an incoming message (spool.h).  The
 * unlink of incoming/<qid> is queued and done by spool_sync() once the
 * jobs are on disk, so a crash can never leave a message without jobs.
 */
int
spool_route(struct spool *sp, const char *qid, const struct envelope *jobs,
    size_t njobs, char *err, size_t errlen)
{
	size_t i;

	if (!spool_qid_valid(qid) || njobs == 0) {
		errno = EINVAL;
		spool_seterr(err, errlen, "%s", njobs == 0 ? "no jobs" : "invalid queue id");
		return -1;
	}
	for (i = 0; i < njobs; i++)
		if (spool_route_job(sp, qid, &jobs[i], err, errlen) == -1)
			return -1;
	return spool_incoming_done(sp, qid, err, errlen);
}

/* spool_incoming_done - unlink incoming/<qid> at the next spool_sync() */
int
spool_incoming_done(struct spool *sp, const char *qid, char *err,
    size_t errlen)
{
	struct spool_pending *p;
	struct timespec now;

	if (!spool_qid_valid(qid)) {
		errno = EINVAL;
		spool_seterr(err, errlen, "invalid queue id");
		return -1;
	}
	clock_gettime(CLOCK_MONOTONIC, &now);
	pthread_mutex_lock(&sp->lock);
	p = reallocarray(sp->pending, sp->npending + 1, sizeof(*p));
	if (p != NULL) {
		sp->pending = p;
		p += sp->npending++;
		memcpy(p->qid, qid, SPOOL_QID_LEN + 1);
		p->done = now;
		/* its owner, seen when it was opened for routing */
		p->claimable = sp->claim_uid != (uid_t)-1 &&
		    strcmp(sp->open_qid, qid) == 0 &&
		    sp->open_uid == sp->claim_uid;
	}
	pthread_mutex_unlock(&sp->lock);
	if (p == NULL) {
		errno = ENOMEM;
		spool_seterr(err, errlen, "%s: out of memory", qid);
		return -1;
	}
	return 0;
}

/* spool_sync_all - make every earlier write durable */
static int
spool_sync_all(struct spool *sp)
{
#ifdef HAVE_SYNCFS
	return spool_syncfs(sp);
#else
	size_t i, j;
	int rc = 0;

	for (i = 0; i < D_NDIRS; i++)
		if (sp->fd[i] != -1 && fsync(sp->fd[i]) == -1)
			rc = -1;
	pthread_mutex_lock(&sp->lock);
	for (i = 0; i < sp->nconns; i++)
		for (j = 0; j < SPOOL_NCSTATES; j++)
			if (sp->conns[i].fd[j] != -1 && fsync(sp->conns[i].fd[j]) == -1)
				rc = -1;
	pthread_mutex_unlock(&sp->lock);
	return rc;
#endif
}

/*
 * spool_sync - make everything written since the last call durable, then
 * remove (durably) the incoming/ files whose jobs are now safe.
 */
int
spool_sync(struct spool *sp)
{
	struct spool_pending *pending;
	size_t i, n;

	if (spool_sync_all(sp) == -1)
		return -1;
	pthread_mutex_lock(&sp->lock);
	sp->unlinked = 0;	/* the sync took the earlier unlinks along */
	pending = sp->pending;
	n = sp->npending;
	sp->pending = NULL;
	sp->npending = 0;
	pthread_mutex_unlock(&sp->lock);
	for (i = 0; i < n; i++)
		if (unlinkat(sp->fd[D_INCOMING], pending[i].qid, 0) == -1 &&
		    errno != ENOENT)
			break;
	free(pending);
	if (i > 0)
		spool_note_unlinks(sp);
	if (i < n)
		return -1;	/* the rest is re-routed, idempotently */
	return 0;
}

/* spool_note_unlinks - incoming/ unlinks were made, not yet on disk */
static void
spool_note_unlinks(struct spool *sp)
{
	pthread_mutex_lock(&sp->lock);
	sp->unlinked = 1;
	clock_gettime(CLOCK_MONOTONIC, &sp->last_unlink);
	pthread_mutex_unlock(&sp->lock);
}

/* spool_ts_before - a strictly before b */
static int
spool_ts_before(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec < b->tv_sec ||
	    (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

/* spool_set_claim_owner - see spool.h */
void
spool_set_claim_owner(struct spool *sp, uid_t uid)
{
#ifdef HAVE_SYNCFS
	struct stat a, b;
	int i, same = fstat(sp->dirfd, &a) == 0;
	static const int dirs[] = { D_INCOMING, D_DATA, D_TMP };

	/* a claim is a sync of the spool's file system: the jobs' too? */
	for (i = 0; same && i < (int)(sizeof(dirs) / sizeof(dirs[0])); i++)
		same = fstat(sp->fd[dirs[i]], &b) == 0 && b.st_dev == a.st_dev;
	pthread_mutex_lock(&sp->lock);
	sp->claim_uid = same ? uid : (uid_t)-1;
	pthread_mutex_unlock(&sp->lock);
#else
	(void)sp;
	(void)uid;	/* no syncfs: nobody's sync covers another's files */
#endif
}

/* spool_synced - see spool.h */
size_t
spool_synced(struct spool *sp, const struct timespec *start)
{
	struct spool_pending *pending;
	size_t i, n, kept = 0, done = 0;

	pthread_mutex_lock(&sp->lock);
	if (sp->unlinked && spool_ts_before(&sp->last_unlink, start))
		sp->unlinked = 0;	/* that sync took the unlinks along */
	pending = sp->pending;
	n = sp->npending;
	for (i = 0; i < n; i++) {
		if (!pending[i].claimable ||
		    !spool_ts_before(&pending[i].done, start)) {
			pending[kept++] = pending[i];
			continue;
		}
		/* the unlink under the lock: the list stays one truth */
		if (unlinkat(sp->fd[D_INCOMING], pending[i].qid, 0) == -1 &&
		    errno != ENOENT) {
			pending[kept++] = pending[i];	/* spool_sync's turn */
			continue;
		}
		done++;
	}
	sp->npending = kept;
	pthread_mutex_unlock(&sp->lock);
	if (done > 0)
		spool_note_unlinks(sp);
	return done;
}

/* spool_routed_count - routed messages waiting for spool_sync() */
size_t
spool_routed_count(struct spool *sp)
{
	size_t n;

	pthread_mutex_lock(&sp->lock);
	n = sp->npending;
	pthread_mutex_unlock(&sp->lock);
	return n;
}

/*
 * spool_routed_oldest - when the oldest waiting one was routed; -1: none.
 * The list is in routing order (appended, compacted in place, emptied).
 */
int
spool_routed_oldest(struct spool *sp, struct timespec *done)
{
	int rc = -1;

	pthread_mutex_lock(&sp->lock);
	if (sp->npending > 0) {
		*done = sp->pending[0].done;
		rc = 0;
	}
	pthread_mutex_unlock(&sp->lock);
	return rc;
}

/* spool_routed_pending - is qid routed, its incoming/ file kept until the sync? */
int
spool_routed_pending(struct spool *sp, const char *qid)
{
	size_t i;
	int found = 0;

	pthread_mutex_lock(&sp->lock);
	for (i = 0; i < sp->npending && !found; i++)
		found = strcmp(sp->pending[i].qid, qid) == 0;
	pthread_mutex_unlock(&sp->lock);
	return found;
}

/* spool_unlinks_pending - are unlinks of spool_sync() not yet on disk? */
int
spool_unlinks_pending(struct spool *sp)
{
	int u;

	pthread_mutex_lock(&sp->lock);
	u = sp->unlinked;
	pthread_mutex_unlock(&sp->lock);
	return u;
}

/* spool_sync_unlinks - put the unlinks of spool_sync() on disk */
int
spool_sync_unlinks(struct spool *sp)
{
	if (!spool_unlinks_pending(sp))
		return 0;
	pthread_mutex_lock(&sp->lock);
	sp->unlinked = 0;
	pthread_mutex_unlock(&sp->lock);
	if (fsync(sp->fd[D_INCOMING]) == -1) {
		pthread_mutex_lock(&sp->lock);
		sp->unlinked = 1;
		pthread_mutex_unlock(&sp->lock);
		return -1;
	}
	return 0;
}

/*
 * spool_corrupt_rename - move (fd, from) to corrupt/<name>, or to
 * corrupt/<name>.1 .. .9 when an earlier quarantine has that name: the
 * files kept for a person to look at are never replaced
 */
static int
spool_corrupt_rename(struct spool *sp, int fd, const char *from,
    const char *name)
{
	char alt[SPOOL_QID_LEN + 2 * SPOOL_NAME_MAX + 32];
	int i;

	for (i = 0; i <= 9; i++) {
		if (i == 0)
			snprintf(alt, sizeof(alt), "%s", name);
		else
			snprintf(alt, sizeof(alt), "%s.%d", name, i);
		if (spool_rename_noreplace(fd, from, sp->fd[D_CORRUPT],
		    alt) == 0)
			return 0;
		if (errno != EEXIST)
			return -1;
	}
	return -1;
}

/* spool_corrupt_job - move the job (fd, qid) of st to corrupt/ */
static int
spool_corrupt_job(struct spool *sp, int fd, enum spool_state st,
    const char *connector, const char *qid)
{
	char name[SPOOL_QID_LEN + SPOOL_NAME_MAX + 16];

	snprintf(name, sizeof(name), "%s-%s-%s", spool_state_name(st),
	    connector, qid);
	return spool_corrupt_rename(sp, fd, qid, name);
}

/* spool_quarantine - move an unreadable file (and its data link) to corrupt/ */
int
spool_quarantine(struct spool *sp, enum spool_state st, const char *connector,
    const char *qid, char *err, size_t errlen)
{
	char name[SPOOL_QID_LEN + SPOOL_NAME_MAX + 16];
	char data[SPOOL_QID_LEN + SPOOL_NAME_MAX + 2];
	int fd;

	if (!spool_qid_valid(qid) || (fd = spool_fd(sp, st, connector)) == -1) {
		errno = EINVAL;
		spool_seterr(err, errlen, "invalid state, connector or queue id");
		return -1;
	}
	snprintf(name, sizeof(name), "incoming-%s", qid);
	if ((st == SPOOL_INCOMING ? spool_corrupt_rename(sp, fd, qid, name) :
	    spool_corrupt_job(sp, fd, st, connector, qid)) == -1) {
		spool_seterr(err, errlen, "rename %s to corrupt/: %s", qid,
		    strerror(errno));
		return -1;
	}
	if (st != SPOOL_INCOMING &&
	    spool_data_name(data, sizeof(data), qid, connector) == 0) {
		snprintf(name, sizeof(name), "data-%s-%s", connector, qid);
		if (spool_corrupt_rename(sp, sp->fd[D_DATA], data, name) == -1 &&
		    errno != ENOENT) {
			spool_seterr(err, errlen, "rename data/%s to corrupt/: %s",
			    data, strerror(errno));
			return -1;
		}
	}
	return 0;
}

/* spool_quarantine_torn - the job alone, when its message is in incoming/ */
int
spool_quarantine_torn(struct spool *sp, enum spool_state st,
    const char *connector, const char *qid, char *err, size_t errlen)
{
	struct stat sb;
	int fd;

	if (!spool_qid_valid(qid) || st == SPOOL_INCOMING ||
	    (fd = spool_fd(sp, st, connector)) == -1) {
		errno = EINVAL;
		spool_seterr(err, errlen, "invalid state, connector or "
		    "queue id");
		return -1;
	}
	if (fstatat(sp->fd[D_INCOMING], qid, &sb, AT_SYMLINK_NOFOLLOW) == -1)
		return errno == ENOENT ? 0 : -1;
	if (spool_corrupt_job(sp, fd, st, connector, qid) == -1) {
		spool_seterr(err, errlen, "rename %s to corrupt/: %s", qid,
		    strerror(errno));
		return -1;
	}
	return 1;
}

static int spool_message_open(struct spool *, enum spool_dir, const char *,
    struct envelope *, off_t *, int *, char *, size_t);

/* spool_incoming_open - open incoming/<qid> read-only, parse its envelope */
int
spool_incoming_open(struct spool *sp, const char *qid, struct envelope *env,
    off_t *body_offset, int *fd, char *err, size_t errlen)
{
	return spool_message_open(sp, D_INCOMING, qid, env, body_offset, fd,
	    err, errlen);
}

/* spool_received_open - receive/<qid>, finished but not committed (spool.h) */
int
spool_received_open(struct spool *sp, const char *qid, struct envelope *env,
    off_t *body_offset, int *fd, char *err, size_t errlen)
{
	return spool_message_open(sp, D_RECEIVE, qid, env, body_offset, fd,
	    err, errlen);
}

/* spool_message_open - a message file of incoming/ or receive/ and its envelope */
static int
spool_message_open(struct spool *sp, enum spool_dir dir, const char *qid,
    struct envelope *env, off_t *body_offset, int *fd, char *err,
    size_t errlen)
{
	char what[SPOOL_QID_LEN + 16];
	struct stat st;
	int f;

	if (!spool_qid_valid(qid)) {
		errno = EINVAL;
		spool_seterr(err, errlen, "invalid queue id");
		return -1;
	}
	snprintf(what, sizeof(what), "%s/%s", spool_dir_names[dir], qid);
	f = spool_open_read(sp->fd[dir], qid, what, env, body_offset, err,
	    errlen);
	if (f == -1)
		return -1;
	if (env->kind != ENVELOPE_MESSAGE || strcmp(env->id, qid) != 0) {
		envelope_clear(env);
		spool_close_keep(f);
		errno = EBADMSG;
		spool_seterr(err, errlen, "%s: envelope is not message %s", what, qid);
		return -1;
	}
	if (fstat(f, &st) == -1) {
		spool_seterr(err, errlen, "%s: %s", what, strerror(errno));
		envelope_clear(env);
		spool_close_keep(f);
		return -1;
	}
	/*
	 * A sealed size (spool_commit) must be the file's: a shorter file is
	 * one a crash caught before its commit's sync, never acknowledged.
	 * Files written before the seal say -1: their length is the size.
	 */
	if (env->size >= 0 && st.st_size - *body_offset != env->size) {
		spool_seterr(err, errlen, "%s: incomplete, %jd bytes after "
		    "the envelope where its seal says %jd", what,
		    (intmax_t)(st.st_size - *body_offset), (intmax_t)env->size);
		envelope_clear(env);
		spool_close_keep(f);
		errno = EBADMSG;
		return -1;
	}
	if (env->size < 0 && st.st_size >= *body_offset)
		env->size = st.st_size - *body_offset;
	if (dir == D_INCOMING) {
		pthread_mutex_lock(&sp->lock);
		memcpy(sp->open_qid, qid, SPOOL_QID_LEN + 1);
		sp->open_uid = st.st_uid;
		pthread_mutex_unlock(&sp->lock);
	}
	lseek(f, *body_offset, SEEK_SET);
	*fd = f;
	return 0;
}

/* ---- failover: a job's recipients handed to another connector ---- */

/* spool_failover_state - queue/, or hold/ when a pending rcpt says "hold" */
static enum spool_state
spool_failover_state(const struct envelope *job)
{
	size_t i;

	for (i = 0; i < job->nrcpt; i++)
		if (job->rcpt[i].state == RCPT_PENDING &&
		    envelope_rcpt_param(&job->rcpt[i], "hold") != NULL)
			return SPOOL_HOLD;
	return SPOOL_QUEUE;
}

/*
 * spool_failover_copy - the message under a new queue ID: a copy of
 * data/<src> with its envelope's id rewritten, as data/<id>.<connector>
 * (fsynced).  The new ID keeps the message's files consistent with it
 * (gatewayctl requeue links data back to incoming/<id>).
 */
static int
spool_failover_copy(struct spool *sp, const char *src, const struct envelope *job,
    char *err, size_t errlen)
{
	char name[SPOOL_QID_LEN + SPOOL_NAME_MAX + 2], buf[SPOOL_BUFSIZE / 4];
	struct spool_msg *m = NULL;
	struct envelope menv;
	off_t off;
	ssize_t n;
	int fd, save;

	memset(&menv, 0, sizeof(menv));
	if (spool_data_name(name, sizeof(name), job->id, job->connector) == -1) {
		spool_seterr(err, errlen, "%s: connector name too long", job->id);
		return -1;
	}
	if ((fd = spool_open_read(sp->fd[D_DATA], src, src, &menv, &off, err,
	    errlen)) == -1)
		return -1;
	memcpy(menv.id, job->id, sizeof(menv.id));
	if ((m = spool_msg_create_in(sp, D_TMP, &menv, err, errlen)) == NULL)
		goto fail;
	while ((n = pread(fd, buf, sizeof(buf), off)) != 0) {
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 || spool_msg_write(m, buf, (size_t)n) == -1)
			goto fail;
		off += n;
	}
	if (spool_msg_flush(m) == -1 || fsync(m->fd) == -1 ||
	    linkat(sp->fd[D_TMP], m->qid, sp->fd[D_DATA], name, 0) == -1)
		goto fail;
	spool_msg_abort(m);	/* the tmp/ name; data/ keeps the inode */
	spool_close_keep(fd);
	envelope_clear(&menv);
	return 0;
fail:
	save = errno;		/* EEXIST: the caller draws another ID */
	if (m != NULL)
		spool_seterr(err, errlen, "copy of data/%s: %s", src,
		    strerror(errno));
	spool_msg_abort(m);
	spool_close_keep(fd);
	envelope_clear(&menv);
	errno = save;
	return -1;
}

/*
 * spool_failover_data - the data link of the new job: data/<qid>.<from>
 * linked as data/<qid>.<to>, or, when <to> already has a job or data of
 * that queue ID, a copy under a new one (job->id is changed; a new ID
 * whose tmp/ or data/ name is taken is drawn again).
 */
static int
spool_failover_data(struct spool *sp, const char *from, struct envelope *job,
    char *err, size_t errlen)
{
	char src[SPOOL_QID_LEN + SPOOL_NAME_MAX + 2];
	char dst[SPOOL_QID_LEN + SPOOL_NAME_MAX + 2];
	int tries;

	if (spool_data_name(src, sizeof(src), job->id, from) == -1 ||
	    spool_data_name(dst, sizeof(dst), job->id, job->connector) == -1) {
		spool_seterr(err, errlen, "%s: connector name too long", job->id);
		return -1;
	}
	if (spool_job_elsewhere(sp, job->id, job->connector,
	    SPOOL_NSTATES) == -1) {
		if (linkat(sp->fd[D_DATA], src, sp->fd[D_DATA], dst, 0) == 0)
			return 0;
		if (errno != EEXIST) {
			spool_seterr(err, errlen, "link data/%s: %s", dst,
			    strerror(errno));
			return -1;
		}
	}
	for (tries = 0; tries < SPOOL_QID_TRIES; tries++) {
		spool_qid_new(sp, job->id);
		if (spool_failover_copy(sp, src, job, err, errlen) == 0)
			return 0;
		if (errno != EEXIST)
			break;
	}
	return -1;
}

/* spool_job_failover - write a failover job durably (spool.h) */
int
spool_job_failover(struct spool *sp, const char *from, struct envelope *job,
    char *err, size_t errlen)
{
	char qid[SPOOL_QID_LEN + 1], name[SPOOL_QID_LEN + SPOOL_NAME_MAX + 2];
	enum spool_state to;
	int fd;

	if (spool_job_check(job, job->id, NULL) == -1 ||
	    !spool_qid_valid(job->id) || !spool_name_valid(from) ||
	    strcmp(from, job->connector) == 0 || job->nrcpt == 0) {
		errno = EINVAL;
		spool_seterr(err, errlen, "invalid failover job");
		return -1;
	}
	to = spool_failover_state(job);
	if ((fd = spool_fd(sp, to, job->connector)) == -1) {
		spool_seterr(err, errlen, "%s/%s: %s", spool_state_name(to),
		    job->connector, strerror(errno));
		return -1;
	}
	memcpy(qid, job->id, sizeof(qid));
	if (spool_failover_data(sp, from, job, err, errlen) == -1) {
		memcpy(job->id, qid, sizeof(qid));
		return -1;
	}
	if (spool_write_job(sp, job, fd, 1, 0, (time_t)-1, err, errlen) == -1) {
		if (spool_data_name(name, sizeof(name), job->id,
		    job->connector) == 0)
			spool_unlink_keep(sp->fd[D_DATA], name);
		memcpy(job->id, qid, sizeof(qid));
		return -1;
	}
	if (fsync(sp->fd[D_DATA]) == -1 || fsync(fd) == -1) {
		spool_seterr(err, errlen, "fsync of the failover job %s: %s",
		    job->id, strerror(errno));
		return -1;
	}
	return 0;
}

/* ---- worker ---- */

/* spool_job_state_ok - a per-connector job state */
static int
spool_job_state_ok(enum spool_state st)
{
	return st >= SPOOL_QUEUE && st <= SPOOL_FAILED;
}

/* spool_job_claim - rename <from>/<c>/<qid> to active/<c>/<qid> */
int
spool_job_claim(struct spool *sp, const char *connector, const char *qid,
    enum spool_state from)
{
	if (from == SPOOL_ACTIVE) {
		errno = EINVAL;
		return -1;
	}
	return spool_job_move(sp, connector, qid, from, SPOOL_ACTIVE);
}

/* spool_job_load - envelope of an active job and its data, read-only */
int
spool_job_load(struct spool *sp, const char *connector, const char *qid,
    struct envelope *env, int *datafd, off_t *body_offset, char *err,
    size_t errlen)
{
	char what[SPOOL_QID_LEN + SPOOL_NAME_MAX + 16];
	char data[SPOOL_QID_LEN + SPOOL_NAME_MAX + 2];
	struct envelope menv;
	off_t off;
	int afd, fd;

	if (!spool_qid_valid(qid) ||
	    (afd = spool_fd(sp, SPOOL_ACTIVE, connector)) == -1 ||
	    spool_data_name(data, sizeof(data), qid, connector) == -1) {
		spool_seterr(err, errlen, "active/%s: %s", connector ? connector : "",
		    strerror(errno));
		return -1;
	}
	snprintf(what, sizeof(what), "active/%s/%s", connector, qid);
	if ((fd = spool_open_read(afd, qid, what, env, &off, err, errlen)) == -1)
		return -1;
	close(fd);
	if (spool_job_check(env, qid, connector) == -1) {
		envelope_clear(env);
		errno = EBADMSG;
		spool_seterr(err, errlen, "%s: not a job for %s", what, connector);
		return -1;
	}
	snprintf(what, sizeof(what), "data/%s", data);
	fd = spool_open_read(sp->fd[D_DATA], data, what, &menv, body_offset,
	    err, errlen);
	if (fd == -1) {
		envelope_clear(env);
		return -1;
	}
	envelope_clear(&menv);
	lseek(fd, *body_offset, SEEK_SET);
	*datafd = fd;
	return 0;
}

/* spool_job_done - remove the active job (kept as a spare), its data link */
int
spool_job_done(struct spool *sp, const char *connector, const char *qid)
{
	char data[SPOOL_QID_LEN + SPOOL_NAME_MAX + 2];
	int afd;

	if (!spool_qid_valid(qid)) {
		errno = EINVAL;
		return -1;
	}
	if ((afd = spool_fd(sp, SPOOL_ACTIVE, connector)) == -1 ||
	    spool_data_name(data, sizeof(data), qid, connector) == -1)
		return -1;
	/* the job's inode is kept for the router's next (spare, above) */
	if (spool_spare_keep(sp, afd, qid) == -1 && unlinkat(afd, qid, 0) == -1)
		return -1;
	if (unlinkat(sp->fd[D_DATA], data, 0) == -1 && errno != ENOENT)
		return -1;
	return 0;
}

/* spool_job_update_check - the common checks of an update of an active job */
static int
spool_job_update_check(struct spool *sp, const char *connector,
    const char *qid, const struct envelope *env, enum spool_state to,
    int *afd, int *tfd, char *err, size_t errlen)
{
	struct stat st;

	if (!spool_qid_valid(qid) || !spool_job_state_ok(to) ||
	    (env != NULL && spool_job_check(env, qid, connector) == -1)) {
		errno = EINVAL;
		spool_seterr(err, errlen, "%s: invalid job update", qid);
		return -1;
	}
	if ((*afd = spool_fd(sp, SPOOL_ACTIVE, connector)) == -1 ||
	    (*tfd = spool_fd(sp, to, connector)) == -1) {
		spool_seterr(err, errlen, "%s: %s", connector, strerror(errno));
		return -1;
	}
	if (fstatat(*afd, qid, &st, AT_SYMLINK_NOFOLLOW) == -1) {
		spool_seterr(err, errlen, "active/%s/%s: %s", connector, qid,
		    strerror(errno));
		return -1;
	}
	return 0;
}

/* spool_job_leave_active - the last rename of an update: active/ to state to */
static int
spool_job_leave_active(int afd, int tfd, const char *connector,
    const char *qid, enum spool_state to, char *err, size_t errlen)
{
	if (to != SPOOL_ACTIVE &&
	    spool_rename_noreplace(afd, qid, tfd, qid) == -1) {
		spool_seterr(err, errlen, "rename active/%s/%s to %s/: %s",
		    connector, qid, spool_state_name(to), strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * spool_job_update - rewrite the active job with env and move it to state
 * to: the new file replaces active/<c>/<qid> by rename (fsynced first, and
 * with mtime = next attempt for deferred/), then one more rename moves it.
 * At every instant the job exists in exactly one place.
 */
int
spool_job_update(struct spool *sp, const char *connector, const char *qid,
    const struct envelope *env, enum spool_state to, char *err, size_t errlen)
{
	int afd, tfd;

	if (spool_job_update_check(sp, connector, qid, env, to, &afd, &tfd,
	    err, errlen) == -1)
		return -1;
	/* the one replacing write: the job's own active file, same job */
	if (spool_write_job(sp, env, afd, 1, 1, to == SPOOL_DEFERRED ?
	    env->next_attempt : (time_t)-1, err, errlen) == -1)
		return -1;
	return spool_job_leave_active(afd, tfd, connector, qid, to, err,
	    errlen);
}

/* spool_job_stage - first half of a group-committed update (spool.h) */
int
spool_job_stage(struct spool *sp, const char *connector, const char *qid,
    const struct envelope *env, enum spool_state to, char *err,
    size_t errlen)
{
	char tmpname[SPOOL_QID_LEN + SPOOL_NAME_MAX + 8];
	int afd, tfd, durable = 0;

	if (spool_job_update_check(sp, connector, qid, env, to, &afd, &tfd,
	    err, errlen) == -1)
		return -1;
#ifndef HAVE_SYNCFS
	durable = 1;		/* spool_sync() syncs only directories */
#endif
	return spool_stage_job(sp, env, durable, 1, to == SPOOL_DEFERRED ?
	    env->next_attempt : (time_t)-1, tmpname, sizeof(tmpname), err,
	    errlen);
}

/* spool_job_commit_staged - second half, after spool_sync (spool.h) */
int
spool_job_commit_staged(struct spool *sp, const char *connector,
    const char *qid, enum spool_state to, char *err, size_t errlen)
{
	char tmpname[SPOOL_QID_LEN + SPOOL_NAME_MAX + 8];
	int afd, tfd;

	if (spool_job_update_check(sp, connector, qid, NULL, to, &afd, &tfd,
	    err, errlen) == -1 ||
	    spool_tmp_job_name(tmpname, sizeof(tmpname), qid, connector,
	    1) == -1)
		return -1;
	/* replaces the job's own active file with its new envelope */
	if (renameat(sp->fd[D_TMP], tmpname, afd, qid) == -1) {
		spool_seterr(err, errlen, "tmp/%s: %s", tmpname, strerror(errno));
		return -1;
	}
	return spool_job_leave_active(afd, tfd, connector, qid, to, err,
	    errlen);
}

/* spool_job_move - rename a job between per-connector states */
int
spool_job_move(struct spool *sp, const char *connector, const char *qid,
    enum spool_state from, enum spool_state to)
{
	int ffd, tfd;

	if (!spool_qid_valid(qid) || !spool_job_state_ok(from) ||
	    !spool_job_state_ok(to)) {
		errno = EINVAL;
		return -1;
	}
	if ((ffd = spool_fd(sp, from, connector)) == -1 ||
	    (tfd = spool_fd(sp, to, connector)) == -1)
		return -1;
	return spool_rename_noreplace(ffd, qid, tfd, qid);
}

/* ---- operator state ---- */

/* spool_state_name_ok - lowercase letters only, short */
static int
spool_state_name_ok(const char *name)
{
	size_t n = strlen(name);

	return n > 0 && n <= 32 && strspn(name, "abcdefghijklmnopqrstuvwxyz") == n;
}

/* spool_state_write - replace <spool>/<name> durably (spool.h) */
int
spool_state_write(struct spool *sp, const char *name, const char *text,
    char *err, size_t errlen)
{
	return spool_state_put(sp, name, text, 0600, err, errlen);
}

/* spool_state_put - spool_state_write with the new file's mode */
static int
spool_state_put(struct spool *sp, const char *name, const char *text,
    mode_t mode, char *err, size_t errlen)
{
	char tmp[48];
	int fd;

	if (!spool_state_name_ok(name)) {
		errno = EINVAL;
		spool_seterr(err, errlen, "bad state file name");
		return -1;
	}
	if (text == NULL || *text == '\0') {
		if (unlinkat(sp->dirfd, name, 0) == -1 && errno != ENOENT) {
			spool_seterr(err, errlen, "%s: %s", name, strerror(errno));
			return -1;
		}
	} else {
		/* replacing the operator's own state file is the point */
		snprintf(tmp, sizeof(tmp), "%s.new", name);
		(void)unlinkat(sp->dirfd, tmp, 0);
		if ((fd = openat(sp->dirfd, tmp, O_CREAT | O_EXCL | O_WRONLY |
		    O_CLOEXEC | O_NOFOLLOW, 0600)) == -1 ||
		    fchmod(fd, mode) == -1 ||
		    spool_write_all(fd, text, strlen(text)) == -1 ||
		    fsync(fd) == -1 || close(fd) == -1 ||
		    renameat(sp->dirfd, tmp, sp->dirfd, name) == -1) {
			spool_seterr(err, errlen, "%s: %s", tmp, strerror(errno));
			if (fd != -1)
				spool_close_keep(fd);
			spool_unlink_keep(sp->dirfd, tmp);
			return -1;
		}
	}
	if (fsync(sp->dirfd) == -1) {
		spool_seterr(err, errlen, "fsync of the spool: %s",
		    strerror(errno));
		return -1;
	}
	return 0;
}

/* spool_state_read - the content of <spool>/<name> (spool.h) */
char *
spool_state_read(struct spool *sp, const char *name, size_t max)
{
	char *buf;
	ssize_t n;
	int fd;

	if (!spool_state_name_ok(name)) {
		errno = EINVAL;
		return NULL;
	}
	if ((fd = openat(sp->dirfd, name, O_RDONLY | O_CLOEXEC |
	    O_NOFOLLOW)) == -1)
		return NULL;
	if ((buf = malloc(max + 2)) == NULL) {
		spool_close_keep(fd);
		return NULL;
	}
	while ((n = read(fd, buf, max + 1)) == -1 && errno == EINTR)
		;
	spool_close_keep(fd);
	if (n == -1 || (size_t)n > max) {
		free(buf);
		errno = n == -1 ? errno : EFBIG;
		return NULL;
	}
	buf[n] = '\0';
	return buf;
}

/* ---- scanning and recovery ---- */

/* spool_opendir - a fresh DIR stream on a directory descriptor */
DIR *
spool_opendir(int fd)
{
	DIR *d;
	int dfd;

	if ((dfd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return NULL;
	if ((d = fdopendir(dfd)) == NULL)
		spool_close_keep(dfd);
	return d;
}

/*
 * spool_each - call fn for each valid queue ID entry of directory fd;
 * stops and returns fn's value if nonzero, -1 on a read error.
 */
int
spool_each(int fd, int (*fn)(DIR *, const char *, void *), void *arg)
{
	struct dirent *de;
	DIR *d;
	int rc = 0, save;

	if ((d = spool_opendir(fd)) == NULL)
		return -1;
	for (;;) {
		errno = 0;
		if ((de = readdir(d)) == NULL) {
			rc = errno ? -1 : 0;
			break;
		}
		if (de->d_name[0] == '.' || !spool_qid_valid(de->d_name))
			continue;
		if ((rc = fn(d, de->d_name, arg)) != 0)
			break;
	}
	save = errno;
	closedir(d);
	errno = save;
	return rc;
}

struct spool_scan_arg {
	spool_scan_cb cb;
	void *arg;
	int unrouted;		/* skip the routed (linked) files */
};

/* spool_scan_one - stat an entry and call the user's callback */
static int
spool_scan_one(DIR *d, const char *name, void *arg)
{
	struct spool_scan_arg *sa = arg;
	struct stat st;

	if (fstatat(dirfd(d), name, &st, AT_SYMLINK_NOFOLLOW) == -1 ||
	    !S_ISREG(st.st_mode))
		return 0;	/* gone meanwhile, or not ours */
	if (sa->unrouted && st.st_nlink > 1)
		return 0;	/* routed: its data/ links (spool_list) */
	return sa->cb(name, st.st_mtime, st.st_size, sa->arg);
}

/* spool_scan_dir - spool_scan, or with unrouted its incoming/ variant */
static int
spool_scan_dir(struct spool *sp, enum spool_state st, const char *connector,
    spool_scan_cb cb, void *arg, int unrouted)
{
	struct spool_scan_arg sa = { cb, arg, unrouted };
	int fd;

	if ((fd = spool_fd(sp, st, connector)) == -1)
		return -1;
	return spool_each(fd, spool_scan_one, &sa);
}

/* spool_scan - call cb for each entry of a state directory */
int
spool_scan(struct spool *sp, enum spool_state st, const char *connector,
    spool_scan_cb cb, void *arg)
{
	return spool_scan_dir(sp, st, connector, cb, arg, 0);
}

/* spool_scan_unrouted - spool_scan of incoming/ without the routed files */
int
spool_scan_unrouted(struct spool *sp, spool_scan_cb cb, void *arg)
{
	return spool_scan_dir(sp, SPOOL_INCOMING, NULL, cb, arg, 1);
}

/*
 * spool_ids - call cb with each regular entry's queue ID, without a stat:
 * readdir's d_type says what an entry is, and only a file system that
 * does not fill it in costs an fstatat per entry
 */
int
spool_ids(struct spool *sp, enum spool_state st, const char *connector,
    spool_ids_cb cb, void *arg)
{
	struct dirent *de;
	struct stat sb;
	DIR *d;
	int fd, rc = 0, save;

	if ((fd = spool_fd(sp, st, connector)) == -1 ||
	    (d = spool_opendir(fd)) == NULL)
		return -1;
	for (;;) {
		errno = 0;
		if ((de = readdir(d)) == NULL) {
			rc = errno ? -1 : 0;
			break;
		}
		if (de->d_name[0] == '.' || !spool_qid_valid(de->d_name))
			continue;
		if (de->d_type != DT_REG && (de->d_type != DT_UNKNOWN ||
		    fstatat(dirfd(d), de->d_name, &sb, AT_SYMLINK_NOFOLLOW) ==
		    -1 || !S_ISREG(sb.st_mode)))
			continue;	/* not ours, or gone meanwhile */
		if ((rc = cb(de->d_name, arg)) != 0)
			break;
	}
	save = errno;
	closedir(d);
	errno = save;
	return rc;
}

/* spool_name_hash - FNV-1a of a name, to share a listing */
unsigned int
spool_name_hash(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

/* spool_name_cmp - qsort comparator for entry names */
static int
spool_name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* spool_names_sorted - the entries keep() takes, sorted (spool_int.h) */
int
spool_names_sorted(DIR *d, int (*keep)(int, const char *), char ***names,
    size_t *n)
{
	struct dirent *de;
	char **v = NULL, **nv;
	size_t cnt = 0;

	*names = NULL;
	*n = 0;
	while ((de = readdir(d)) != NULL) {
		if (!keep(dirfd(d), de->d_name))
			continue;
		if ((nv = reallocarray(v, cnt + 1, sizeof(*v))) == NULL ||
		    (nv[cnt] = strdup(de->d_name)) == NULL) {
			if (nv != NULL)
				v = nv;
			closedir(d);
			spool_free_names(v, cnt);
			errno = ENOMEM;
			return -1;
		}
		v = nv;
		cnt++;
	}
	closedir(d);
	if (cnt > 1)
		qsort(v, cnt, sizeof(*v), spool_name_cmp);
	*names = v;
	*n = cnt;
	return 0;
}

/* spool_connector_entry - is name a connector's directory in queue/? */
static int
spool_connector_entry(int dfd, const char *name)
{
	struct stat st;

	return spool_name_valid(name) &&
	    fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISDIR(st.st_mode);
}

/* spool_connectors - sorted names of the connector directories in queue/ */
int
spool_connectors(struct spool *sp, char ***names, size_t *n)
{
	DIR *d;

	*names = NULL;
	*n = 0;
	if ((d = spool_opendir(sp->fd[D_QUEUE])) == NULL)
		return -1;
	return spool_names_sorted(d, spool_connector_entry, names, n);
}

/* spool_free_names - free what spool_connectors returned */
void
spool_free_names(char **names, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/*
 * spool_tmp_remove - remove the files of tmp/ (or receive/, trash/) whose
 * name ends in suffix (every one with NULL) and, with nparts > 1, whose
 * name hashes to part; count or -1.  unlinkat() on the directory's
 * descriptor: an entry is removed, never followed.
 */
static int
spool_tmp_remove(struct spool *sp, enum spool_dir dir, const char *suffix,
    unsigned int part, unsigned int nparts)
{
	size_t slen = suffix ? strlen(suffix) : 0, len;
	struct dirent *de;
	DIR *d;
	int n = 0;

	if ((d = spool_opendir(sp->fd[dir])) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		len = strlen(de->d_name);
		if (suffix != NULL && (len <= slen ||
		    strcmp(de->d_name + len - slen, suffix) != 0))
			continue;
		if (nparts > 1 && spool_name_hash(de->d_name) % nparts != part)
			continue;
		/* spare job files (spool_spare_keep) are not unfinished work */
		if (unlinkat(dirfd(d), de->d_name, 0) == 0 &&
		    (dir != D_TMP || spool_spare_name(de->d_name) == -1))
			n++;
	}
	closedir(d);
	return n;
}

/*
 * spool_trash - move (dirfd-relative) path to trash/name: the file is out
 * of the queue at once, and its blocks are freed later by
 * spool_trash_sweep.  A rename frees nothing, so it does not wait for the
 * file system to discard the blocks as an unlink may (about 0.1-1 ms a
 * file on a disk mounted with discard); an earlier trash/name is replaced.
 */
int
spool_trash(struct spool *sp, const char *path, const char *name)
{
	/*
	 * Unlinked at once in a spool without trash/ yet, and where trash/
	 * would need a block the file system does not have (ENOSPC, EDQUOT:
	 * a delete is how a full spool gets room).
	 */
	if (sp->fd[D_TRASH] != -1) {
		if (renameat(sp->dirfd, path, sp->fd[D_TRASH], name) == 0)
			return 0;
		if (errno != ENOSPC && errno != EDQUOT)
			return -1;
	}
	return unlinkat(sp->dirfd, path, 0);
}

/*
 * spool_trash_sweep - unlink the trash/ files of share part of nparts
 * (every one with nparts 1); count or -1
 */
int
spool_trash_sweep(struct spool *sp, unsigned int part, unsigned int nparts)
{
	if (sp->fd[D_TRASH] == -1)
		return 0;
	return spool_tmp_remove(sp, D_TRASH, NULL, part, nparts);
}

/* spool_trash_empty - nothing in trash/ (or no trash/, or unreadable)? */
int
spool_trash_empty(struct spool *sp)
{
	struct dirent *de;
	DIR *d;
	int empty = 1;

	if (sp->fd[D_TRASH] == -1 || (d = spool_opendir(sp->fd[D_TRASH])) == NULL)
		return 1;
	while (empty && (de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			empty = 0;
	closedir(d);
	return empty;
}

/*
 * spool_recover_tmp - start-up: remove every tmp/ file; count (of the
 * unfinished ones: spare job files are not counted) or -1
 */
int
spool_recover_tmp(struct spool *sp)
{
	return spool_tmp_remove(sp, D_TMP, NULL, 0, 1);
}

/* spool_recover_received - start-up: remove every receive/ file; count or -1 */
int
spool_recover_received(struct spool *sp)
{
	return spool_tmp_remove(sp, D_RECEIVE, NULL, 0, 1);
}

/* spool_recover_staged - a worker's start: its job files left in tmp/ */
int
spool_recover_staged(struct spool *sp, const char *connector)
{
	char suffix[SPOOL_NAME_MAX + 8];

	if (!spool_name_valid(connector)) {
		errno = EINVAL;
		return -1;
	}
	snprintf(suffix, sizeof(suffix), ".%s.upd", connector);
	return spool_tmp_remove(sp, D_TMP, suffix, 0, 1);
}

struct spool_recover_arg {
	int to;
	int n;
};

/* spool_recover_one - rename an active job back to queue/ */
static int
spool_recover_one(DIR *d, const char *name, void *arg)
{
	struct spool_recover_arg *ra = arg;

	if (spool_rename_noreplace(dirfd(d), name, ra->to, name) == -1)
		return errno == EEXIST ? 0 : -1;	/* kept: not ours to replace */
	ra->n++;
	return 0;
}

/* spool_recover_active - move every active/<c>/ job back to queue/<c>/; count or -1 */
int
spool_recover_active(struct spool *sp, const char *connector)
{
	struct spool_recover_arg ra = { -1, 0 };
	int afd;

	if ((afd = spool_fd(sp, SPOOL_ACTIVE, connector)) == -1 ||
	    (ra.to = spool_fd(sp, SPOOL_QUEUE, connector)) == -1)
		return -1;
	if (spool_each(afd, spool_recover_one, &ra) != 0)
		return -1;
	return ra.n;
}

/* spool_job_read - read any job's (or incoming message's) envelope */
int
spool_job_read(struct spool *sp, enum spool_state st, const char *connector,
    const char *qid, struct envelope *env, char *err, size_t errlen)
{
	char what[SPOOL_QID_LEN + SPOOL_NAME_MAX + 16];
	off_t off;
	int dfd, fd;

	if (!spool_qid_valid(qid) || (dfd = spool_fd(sp, st, connector)) == -1) {
		errno = EINVAL;
		spool_seterr(err, errlen, "invalid state, connector or queue id");
		return -1;
	}
	if (st == SPOOL_INCOMING)
		snprintf(what, sizeof(what), "incoming/%s", qid);
	else
		snprintf(what, sizeof(what), "%s/%s/%s", spool_state_name(st),
		    connector, qid);
	if ((fd = spool_open_read(dfd, qid, what, env, &off, err, errlen)) == -1)
		return -1;
	close(fd);
	return 0;
}
