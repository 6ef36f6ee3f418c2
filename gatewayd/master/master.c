/*
 * master.c - gatewayd(8): the privileged master process
 *
 * Reads and validates the configuration, creates the spool, binds the
 * listeners and the control socket, then fork+execs the children (one
 * receiver, one router, one worker per configured connector) and
 * supervises them: a child that dies is restarted with backoff, SIGHUP
 * reloads (an invalid file keeps the running configuration), SIGTERM
 * stops gracefully.  The master is the hub of the IPC between children
 * and trusts none of them: a child that sends a bad, unexpected or
 * malformed frame, floods, or stops reading is killed and restarted
 * (master_child_reject), and nothing is forwarded before it is decoded.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "cfg.h"
#include "cfgcheck.h"
#include "conncheck.h"
#include "control.h"
#include "control_proto.h"
#include "ipc.h"
#include "log.h"
#include "master.h"
#include "net.h"
#include "proc.h"
#include "spool.h"
#include "tlscheck.h"
#include "version.h"
#include "xmalloc.h"

#define MASTER_MAX_BACKOFF	60
#define MASTER_STABLE_SECS	60
#define MASTER_STOP_TIMEOUT	60
#define EX_CONFIG_CHILD		78
/* What a child may send the master per second before it counts as a flood. */
#define MASTER_IPC_RATE_FRAMES	20000
#define MASTER_IPC_RATE_BYTES	(8 * 1024 * 1024)
/* Output waiting for a child that read nothing for MASTER_IPC_STALL_SECS... */
#define MASTER_IPC_MAX_PENDING	(16 * 1024 * 1024)
#define MASTER_IPC_STALL_SECS	10
/* ... or any output past this: the child is killed. */
#define MASTER_IPC_HARD_PENDING	(256 * 1024 * 1024)

struct master_listener {
	char *address;
	uint16_t port;
	int fd;
};

static struct event_base *base;
static struct cfg *cfg;
static char *cfg_text;
static size_t cfg_textlen;
static const char *cfg_path;
static struct master_child *children;
static struct master_listener *listeners;
static size_t nlisteners;
static int generation;
static int foreground;
static int verbose;
static int stopping;
static time_t started_at;
static uid_t run_uid = (uid_t)-1;
static gid_t run_gid = (gid_t)-1;
static uid_t recv_uid = (uid_t)-1;	/* the receiver's own user */
static gid_t recv_gid = (gid_t)-1;
static int pidfile_fd = -1;
static int control_fd = -1;
static struct event *stop_timer;

static void master_start_pending(void);

/* master_children - the child table, for the control socket */
const struct master_child *
master_children(void)
{
	return children;
}

/* master_cfg - the running configuration */
const struct cfg *
master_cfg(void)
{
	return cfg;
}

/* master_started - when the master started */
time_t
master_started(void)
{
	return started_at;
}

/* master_role_name - a role for logs and status */
const char *
master_role_name(enum master_role r)
{
	switch (r) {
	case ROLE_RECEIVER: return "receiver";
	case ROLE_ROUTER: return "router";
	case ROLE_WORKER: return "worker";
	case ROLE_RECOGNIZER: return "recognizer";
	case ROLE_WEB: return "web";
	}
	return "?";
}

/* master_child_label - "worker archive (pid 123)" */
static const char *
master_child_label(const struct master_child *c, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s%s (pid %ld)", master_role_name(c->role),
	    c->connector ? " " : "", c->connector ? c->connector : "",
	    (long)c->pid);
	return buf;
}

/* master_read_file - the whole configuration file as text */
static char *
master_read_file(const char *path, size_t *lenp, char *err, size_t errlen)
{
	FILE *fp;
	char *buf;
	size_t len;
	long sz;

	if ((fp = fopen(path, "re")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (fseek(fp, 0, SEEK_END) == -1 || (sz = ftell(fp)) < 0 ||
	    sz > 16 * 1024 * 1024 || fseek(fp, 0, SEEK_SET) == -1) {
		snprintf(err, errlen, "%s: unreadable or too large", path);
		fclose(fp);
		return NULL;
	}
	buf = xmalloc((size_t)sz + 1);
	len = fread(buf, 1, (size_t)sz, fp);
	fclose(fp);
	buf[len] = '\0';
	*lenp = len;
	return buf;
}

/* master_load - read and validate a configuration; NULL with err */
static struct cfg *
master_load(const char *path, char **textp, size_t *lenp, char *err,
    size_t errlen)
{
	struct cfg *c;
	char *text;
	size_t len;

	if ((text = master_read_file(path, &len, err, errlen)) == NULL)
		return NULL;
	if ((c = cfg_load_buffer(path, text, len, err, errlen)) == NULL) {
		free(text);
		return NULL;
	}
	*textp = text;
	*lenp = len;
	return c;
}

/* master_check_connectors - the connector files exist and are safe */
static int
master_check_connectors(const struct cfg *c, char *err, size_t errlen)
{
	char path[PATH_MAX];
	struct stat st;
	size_t i;

	for (i = 0; i < c->nconnectors; i++) {
		snprintf(path, sizeof(path), "%s/%s.so", c->connector_dir,
		    c->connectors[i].type);
		if (stat(path, &st) == -1) {
			snprintf(err, errlen, "connector %s: %.256s: %s",
			    c->connectors[i].name, path, strerror(errno));
			return -1;
		}
		if (!S_ISREG(st.st_mode) || (st.st_mode & 022) ||
		    (st.st_uid != 0 && st.st_uid != geteuid())) {
			snprintf(err, errlen, "connector %s: %.256s: not a regular "
			    "file owned by root (or you) and writable only by "
			    "its owner", c->connectors[i].name, path);
			return -1;
		}
	}
	return 0;
}

/* master_config_fd - a sealed memfd holding the validated configuration */
static int
master_config_fd(void)
{
	int fd;
	size_t off = 0;
	ssize_t n;

	fd = memfd_create("gatewayd.yaml", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd == -1)
		fatal("memfd_create");
	while (off < cfg_textlen) {
		n = write(fd, cfg_text + off, cfg_textlen - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			fatal("write config memfd");
		off += (size_t)n;
	}
	(void)fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW |
	    F_SEAL_WRITE | F_SEAL_SEAL);
	return fd;
}

/*
 * master_child_fds - in a child before exec: default signals, and the
 * descriptor layout of proc.h (IPC, config, the receiver's listeners;
 * stdin and, in the background, stdout and stderr on /dev/null; nothing
 * else)
 */
static void
master_child_fds(const struct master_child *c, int ipcfd, int cfgfd,
    int hfd)
{
	int devnull, fd;
	size_t i;
	sigset_t set;

	sigemptyset(&set);
	sigprocmask(SIG_SETMASK, &set, NULL);
	for (i = 1; i < NSIG; i++)
		signal((int)i, SIG_DFL);
	/*
	 * Move everything above the fixed slots first, then place them.  The
	 * temporary slots lie above every source descriptor too: a dup2()
	 * onto a source (the config memfd numbered like the first slot, with
	 * many children) would close it and hand a worker its IPC socket as
	 * its configuration, which it then reads forever.
	 */
	fd = PROC_FD_LISTEN + (int)nlisteners + 16;
	fd = fd > ipcfd ? fd : ipcfd + 1;
	fd = fd > cfgfd ? fd : cfgfd + 1;
	fd = fd > hfd ? fd : hfd + 1;
	for (i = 0; i < nlisteners; i++)
		fd = fd > listeners[i].fd ? fd : listeners[i].fd + 1;
	if ((ipcfd = dup2(ipcfd, fd)) == -1 ||
	    (cfgfd = dup2(cfgfd, fd + 1)) == -1 ||
	    (hfd != -1 && (hfd = dup2(hfd, fd + 2)) == -1))
		_exit(71);
	for (i = 0; i < nlisteners; i++)
		if (dup2(listeners[i].fd, fd + 3 + (int)i) == -1)
			_exit(71);
	if (dup2(ipcfd, PROC_FD_IPC) == -1 || dup2(cfgfd, PROC_FD_CONFIG) == -1)
		_exit(71);
	if (c->role == ROLE_RECEIVER)
		for (i = 0; i < nlisteners; i++)
			if (dup2(fd + 3 + (int)i, PROC_FD_LISTEN + (int)i) == -1)
				_exit(71);
	/* the hand-off socket after the listeners (proc.h) */
	if (hfd != -1 && dup2(hfd, PROC_FD_HANDOFF(c->role == ROLE_RECEIVER ?
	    nlisteners : 0)) == -1)
		_exit(71);
	devnull = open("/dev/null", O_RDWR);
	if (devnull != -1) {
		dup2(devnull, 0);
		if (!foreground) {
			dup2(devnull, 1);
			dup2(devnull, 2);
		}
	}
	fd = PROC_FD_HANDOFF(c->role == ROLE_RECEIVER ? nlisteners : 0) +
	    (hfd != -1 ? 1 : 0);
	close_range((unsigned)fd, ~0U, 0);
}

/* master_exec_child - in the forked child: set up descriptors and exec */
static void __attribute__((noreturn))
master_exec_child(const struct master_child *c, int ipcfd, int cfgfd, int hfd)
{
	char path[PATH_MAX], nl[16], gen[16], inst[16];
	const char *argv[16];
	int argc = 0;

	master_child_fds(c, ipcfd, cfgfd, hfd);
	switch (c->role) {
	case ROLE_RECEIVER: proc_libexec_path("gatewayd-receiver", path, sizeof(path)); break;
	case ROLE_ROUTER: proc_libexec_path("gatewayd-router", path, sizeof(path)); break;
	case ROLE_WORKER: proc_libexec_path("gatewayd-worker", path, sizeof(path)); break;
	case ROLE_RECOGNIZER:
		proc_libexec_path("gatewayd-recognizer", path, sizeof(path));
		break;
	case ROLE_WEB: proc_libexec_path("gatewayd-web", path, sizeof(path)); break;
	}
	argv[argc++] = path;
	argv[argc++] = "-c";
	argv[argc++] = cfg_path;
	if (foreground)
		argv[argc++] = "-f";
	if (verbose)
		argv[argc++] = "-v";
	snprintf(gen, sizeof(gen), "%d", c->generation);
	argv[argc++] = "-g";
	argv[argc++] = gen;
	snprintf(inst, sizeof(inst), "%d", c->qid_instance);
	argv[argc++] = "-i";
	argv[argc++] = inst;
	if (c->role == ROLE_RECEIVER) {
		snprintf(nl, sizeof(nl), "%zu", nlisteners);
		argv[argc++] = "-l";
		argv[argc++] = nl;
	}
	if (c->role == ROLE_WORKER) {
		argv[argc++] = "-n";
		argv[argc++] = c->connector;
	}
	/* paused from the first moment, not only once IPC_PAUSE arrives */
	if (c->role != ROLE_ROUTER && control_paused(c->role, c->connector))
		argv[argc++] = "-P";
	argv[argc] = NULL;
	execv(path, (char *const *)argv);
	fprintf(stderr, "gatewayd: exec %s: %s\n", path, strerror(errno));
	_exit(71);
}

static void master_ipc(struct ipc *, const struct ipc_frame *, void *);
static void master_ipc_closed(struct ipc *, void *);
static void master_ipc_error(struct ipc *, const char *, void *);

/*
 * master_qid_instance - the lowest queue ID instance (0..255) that no
 * running child holds, retired ones included: two processes alive at
 * the same time never make the same ID (spool.h); -1 if all are taken
 */
static int
master_qid_instance(void)
{
	unsigned char used[256];
	struct master_child *c;
	int i;

	memset(used, 0, sizeof(used));
	for (c = children; c != NULL; c = c->next)
		if (c->pid != 0 && c->qid_instance >= 0 && c->qid_instance < 256)
			used[c->qid_instance] = 1;
	for (i = 0; i < 256; i++)
		if (!used[i])
			return i;
	return -1;
}

/* master_spawn - fork+exec one child */
static void
master_spawn(struct master_child *c)
{
	int sp[2], cfgfd, hfd;
	pid_t pid;
	char label[128];

	if ((c->qid_instance = master_qid_instance()) == -1) {
		log_warnx("cannot start the %s: 256 children running",
		    master_role_name(c->role));
		return;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) == -1)
		fatal("socketpair");
	cfgfd = master_config_fd();
	hfd = master_handoff_open(base, c);
	if ((pid = fork()) == -1) {
		log_warn("fork %s", master_role_name(c->role));
		close(sp[0]);
		close(sp[1]);
		close(cfgfd);
		if (hfd != -1)
			close(hfd);
		master_handoff_close(c);
		return;
	}
	if (pid == 0) {
		close(sp[0]);
		master_exec_child(c, sp[1], cfgfd, hfd);
	}
	close(sp[1]);
	close(cfgfd);
	if (hfd != -1)
		close(hfd);
	c->pid = pid;
	c->ready = 0;
	c->rejected = 0;
	c->ipc_window = 0;
	c->started = time(NULL);
	if (c->first_started == 0)
		c->first_started = c->started;
	c->ipc = ipc_new(base, sp[0], master_ipc, master_ipc_closed, c);
	ipc_set_error(c->ipc, master_ipc_error);
	log_info("started %s", master_child_label(c, label, sizeof(label)));
}

/* master_find - the running (not retired) child for a role/connector */
static struct master_child *
master_find(enum master_role role, const char *connector)
{
	struct master_child *c;

	for (c = children; c != NULL; c = c->next) {
		if (c->role != role || c->retired)
			continue;
		if (role == ROLE_WORKER &&
		    strcmp(c->connector, connector) != 0)
			continue;
		return c;
	}
	return NULL;
}

/* master_retired_alive - is an old child of this kind still running? */
static int
master_retired_alive(enum master_role role, const char *connector)
{
	struct master_child *c;

	for (c = children; c != NULL; c = c->next)
		if (c->retired && c->pid != 0 && c->role == role &&
		    (role != ROLE_WORKER || strcmp(c->connector, connector) == 0))
			return 1;
	return 0;
}

/*
 * master_child_reject - a child broke the IPC protocol (a bad, unexpected
 * or malformed frame, a flood, or it stopped reading): log why, read
 * nothing more from it and kill it; master_child_died restarts it with
 * backoff like any other death.
 */
void
master_child_reject(struct master_child *c, const char *fmt, ...)
{
	char label[128], why[256];
	va_list ap;

	if (c->rejected || c->pid == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	log_warnx("%s: %s: killing it",
	    master_child_label(c, label, sizeof(label)), why);
	c->rejected = 1;
	if (c->ipc != NULL)
		ipc_stop(c->ipc);
	if (kill(c->pid, SIGKILL) == -1)
		log_warn("kill %s", label);
}

/* master_child_send - queue a frame for a child; -1 if it cannot take it */
static int
master_child_send(struct master_child *c, uint32_t type, const void *data,
    size_t len)
{
	size_t pending;
	long idle;

	if (c->pid == 0 || c->ipc == NULL || c->rejected)
		return -1;
	if (ipc_send(c->ipc, type, data, len) == -1)
		return -1;
	pending = ipc_pending(c->ipc);
	idle = (long)(time(NULL) - ipc_drained(c->ipc));
	if (pending > MASTER_IPC_HARD_PENDING || (pending >
	    MASTER_IPC_MAX_PENDING && idle >= MASTER_IPC_STALL_SECS))
		master_child_reject(c, "not reading from the master (%zu "
		    "bytes waiting, none read for %ld s)", pending, idle);
	return 0;
}

/* master_forward - pass a notification to the child that handles it */
static void
master_forward(const struct ipc_frame *f, enum master_role role,
    const char *connector)
{
	struct master_child *c = master_find(role, connector);

	if (c == NULL || c->pid == 0 || c->ipc == NULL) {
		log_debug("no %s %s running: it will find the work when it "
		    "starts", master_role_name(role), connector ? connector : "");
		return;
	}
	if (master_child_send(c, f->type, f->data, f->len) == -1)
		log_warnx("cannot forward %s", ipc_type_name(f->type));
}

/* master_send - a frame for the running child of a role (control.c) */
int
master_send(enum master_role role, const char *connector, uint32_t type,
    const void *data, size_t len)
{
	struct master_child *c = master_find(role, connector);

	if (c == NULL)
		return -1;
	return master_child_send(c, type, data, len);
}

/* master_ipc_flood - count a frame against the child's budget; 1 if over */
static int
master_ipc_flood(struct master_child *c, const struct ipc_frame *f)
{
	time_t now = time(NULL);

	if (now != c->ipc_window) {
		c->ipc_window = now;
		c->ipc_frames = 0;
		c->ipc_bytes = 0;
	}
	c->ipc_frames++;
	c->ipc_bytes += 8 + (size_t)f->len;
	return c->ipc_frames > MASTER_IPC_RATE_FRAMES ||
	    c->ipc_bytes > MASTER_IPC_RATE_BYTES;
}

/* master_ipc_allowed - may this child send this type now? */
static int
master_ipc_allowed(const struct master_child *c, uint32_t type)
{
	switch (type) {
	case IPC_READY:
		return !c->ready;	/* once per start */
	case IPC_MSG_NEW:
		/* workers inject delivery status notifications (bounce.c) */
		return c->role == ROLE_RECEIVER || c->role == ROLE_WORKER;
	case IPC_JOB_NEW:
		/* workers announce failover jobs (failover.h) */
		return c->role == ROLE_ROUTER || c->role == ROLE_WORKER;
	case IPC_RECV_STATS:
	case IPC_SYNCED:
		return c->role == ROLE_RECEIVER;
	case IPC_WORKER_STATS:
	case IPC_WORKER_INFO:
	case IPC_WORKER_STATE:
		return c->role == ROLE_WORKER;
	case IPC_RECOG_REQ:
		return c->role == ROLE_ROUTER;
	case IPC_RECOG_DONE:
		return c->role == ROLE_RECOGNIZER;
	case IPC_RCPT_CHECK:
	case IPC_DATA_CHECK:
		return c->role == ROLE_RECEIVER;
	case IPC_RCPT_ANSWER:
		return c->role == ROLE_ROUTER;
	}
	return 0;
}

/* master_rcpt_receiver - the receiver named by a check ID "PID-N", or NULL */
static struct master_child *
master_rcpt_receiver(const char *id)
{
	struct master_child *c;
	char *end;
	long pid;

	if (id[0] < '1' || id[0] > '9' || strlen(id) > 40)
		return NULL;
	pid = strtol(id, &end, 10);
	if (*end != '-' || end[1] < '1' || end[1] > '9' ||
	    strspn(end + 1, "0123456789") != strlen(end + 1))
		return NULL;
	for (c = children; c != NULL; c = c->next)
		if (c->role == ROLE_RECEIVER && (long)c->pid == pid &&
		    c->pid != 0)
			return c;
	return NULL;
}

/*
 * master_rcpt - the RCPT-time question of a receiver to the router, or the
 * router's answer to the receiver whose process ID starts the check ID
 * (doc/internals.md "IPC"); with no router to ask, the receiver is told
 * 451 at once.  NULL, or why the frame is malformed.
 */
static const char *
master_rcpt(struct master_child *from, const struct ipc_frame *f)
{
	const char *sv[8], *busy[5];
	struct master_child *c;
	int n = ipc_strings(f, sv, 8);

	if (f->type == IPC_RCPT_ANSWER) {
		if (n != 4 || strlen(sv[1]) != 3 || sv[1][0] < '2' ||
		    sv[1][0] > '5' || strspn(sv[1], "0123456789") != 3)
			return "not an ID, a code, a status and a text";
		if ((c = master_rcpt_receiver(sv[0])) != NULL)
			(void)master_child_send(c, f->type, f->data, f->len);
		return NULL;	/* a receiver that has gone: nobody waits */
	}
	if (f->type == IPC_DATA_CHECK && (n != 2 ||
	    master_rcpt_receiver(sv[0]) != from || !spool_qid_valid(sv[1])))
		return "not its ID and a queue ID";
	if (f->type == IPC_RCPT_CHECK && (n != 6 ||
	    master_rcpt_receiver(sv[0]) != from))
		return "not its ID, rcpt, from, client, auth and listener";
	c = master_find(ROLE_ROUTER, NULL);
	if (c != NULL && c->ready && master_child_send(c, f->type, f->data,
	    f->len) == 0)
		return NULL;
	/* no router: a recipient waits (451), a message goes on (bounces later) */
	busy[0] = sv[0];
	busy[1] = f->type == IPC_DATA_CHECK ? "250" : "451";
	busy[2] = f->type == IPC_DATA_CHECK ? "2.0.0" : "4.3.0";
	busy[3] = "router not available";
	busy[4] = NULL;
	if (from->ipc != NULL)
		(void)ipc_send_strings(from->ipc, IPC_RCPT_ANSWER, busy);
	return NULL;
}

/* master_ipc_ready - IPC_READY: start whatever waited for this child */
static void
master_ipc_ready(struct master_child *c)
{
	char label[128];

	c->ready = 1;
	log_debug("%s ready", master_child_label(c, label, sizeof(label)));
	control_child_ready(c->role, c->connector);
	master_start_pending();
}

/*
 * master_ipc - a frame from a child: check that its role may send it now
 * and decode it strictly before acting on it or forwarding it, so that a
 * child can only harm itself.
 */
static void
master_ipc(struct ipc *ipc, const struct ipc_frame *f, void *arg)
{
	struct master_child *c = arg;
	const char *sv[IPC_MAX_STRINGS], *why = NULL;
	struct timespec ts;

	(void)ipc;
	if (c->rejected)
		return;
	if (master_ipc_flood(c, f)) {
		master_child_reject(c, "flooding the master (over %d frames or "
		    "%d bytes in a second)", MASTER_IPC_RATE_FRAMES,
		    MASTER_IPC_RATE_BYTES);
		return;
	}
	if (!master_ipc_allowed(c, f->type)) {
		master_child_reject(c, "unexpected %s frame%s",
		    ipc_type_name(f->type), f->type == IPC_READY ?
		    " (a second one)" : "");
		return;
	}
	switch (f->type) {
	case IPC_READY:
		if (f->len != 0)
			why = "a payload";
		else
			master_ipc_ready(c);
		break;
	case IPC_MSG_NEW:
		if (ipc_qids(f, 0, sv, IPC_MAX_STRINGS, &why) != -1)
			master_forward(f, ROLE_ROUTER, NULL);
		break;
	case IPC_SYNCED:
		/* the router trusts it for the receiver's messages only */
		if (ipc_synced(f, &ts, &why) != -1)
			master_forward(f, ROLE_ROUTER, NULL);
		break;
	case IPC_JOB_NEW:
		if (ipc_qids(f, 1, sv, IPC_MAX_STRINGS, &why) != -1)
			master_forward(f, ROLE_WORKER, sv[0]);
		break;
	case IPC_RECOG_REQ:
	case IPC_RECOG_DONE:
		/* a lost one is asked again by the router (router_recog.c) */
		if (ipc_recog(f, sv, &why) != -1)
			master_forward(f, f->type == IPC_RECOG_REQ ?
			    ROLE_RECOGNIZER : ROLE_ROUTER, NULL);
		break;
	case IPC_RCPT_CHECK:
	case IPC_RCPT_ANSWER:
	case IPC_DATA_CHECK:
		why = master_rcpt(c, f);
		break;
	default:
		if (control_child_frame(c->role, c->connector, f) == -1)
			why = "undecodable payload";
	}
	if (why != NULL)
		master_child_reject(c, "malformed %s frame: %s",
		    ipc_type_name(f->type), why);
}

/* master_ipc_error - a frame the decoder refused (size, type) */
static void
master_ipc_error(struct ipc *ipc, const char *why, void *arg)
{
	(void)ipc;
	master_child_reject(arg, "bad frame: %s", why);
}

/* master_ipc_closed - the child's socket closed (it is exiting) */
static void
master_ipc_closed(struct ipc *ipc, void *arg)
{
	(void)ipc;
	(void)arg;
}

/* master_restart_cb - backoff timer of a dead child */
static void
master_restart_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct master_child *c = arg;

	(void)fd;
	(void)ev;
	if (!stopping && !c->retired && c->pid == 0 && !c->disabled) {
		c->restarts++;
		master_start_pending();
	}
}

/* master_describe_status - "exited with status 1" / "killed by signal 9" */
static const char *
master_describe_status(int status, char *buf, size_t len)
{
	if (WIFEXITED(status))
		snprintf(buf, len, "exited with status %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, len, "killed by signal %d (%s)%s%s",
		    WTERMSIG(status), strsignal(WTERMSIG(status)),
		    WTERMSIG(status) == SIGSYS ? ", a system call its "
		    "seccomp sandbox forbids" : "",
		    WCOREDUMP(status) ? ", core dumped" : "");
	else
		snprintf(buf, len, "stopped (status 0x%x)", status);
	return buf;
}

/* master_unlink_child - drop a retired child from the table */
static void
master_unlink_child(struct master_child *dead)
{
	struct master_child **pp;

	for (pp = &children; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == dead) {
			*pp = dead->next;
			break;
		}
	}
	if (dead->restart_ev)
		event_free(dead->restart_ev);
	free(dead->connector);
	free(dead);
}

/* master_child_died - account for a dead child, schedule its restart */
static void
master_child_died(struct master_child *c, int status)
{
	char label[128], how[128];
	struct timeval tv;
	time_t ran = time(NULL) - c->started;

	master_child_label(c, label, sizeof(label));
	master_describe_status(status, how, sizeof(how));
	c->pid = 0;
	c->ready = 0;
	master_handoff_close(c);
	if (c->ipc) {
		/* a worker that refused its settings said why (status) */
		if (WIFEXITED(status) && WEXITSTATUS(status) == EX_CONFIG_CHILD)
			ipc_read_rest(c->ipc);
		ipc_free(c->ipc);
		c->ipc = NULL;
	}
	if (stopping || c->retired) {
		log_info("%s %s", label, how);
		if (c->retired)
			master_unlink_child(c);
		return;
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == EX_CONFIG_CHILD) {
		c->disabled = 1;
		log_warnx("%s %s (configuration problem): not restarting it "
		    "until the next reload", label, how);
		return;
	}
	if (ran >= MASTER_STABLE_SECS)
		c->backoff = 1;
	else
		c->backoff = c->backoff ? c->backoff * 2 : 1;
	if (c->backoff > MASTER_MAX_BACKOFF)
		c->backoff = MASTER_MAX_BACKOFF;
	log_warnx("%s %s; restarting in %u s", label, how, c->backoff);
	tv.tv_sec = c->backoff;
	tv.tv_usec = 0;
	if (c->restart_ev == NULL)
		c->restart_ev = evtimer_new(base, master_restart_cb, c);
	evtimer_add(c->restart_ev, &tv);
}

/* master_all_stopped - no child left running */
static int
master_all_stopped(void)
{
	struct master_child *c;

	for (c = children; c != NULL; c = c->next)
		if (c->pid != 0)
			return 0;
	return 1;
}

/* master_reap - collect every exited child */
static void
master_reap(void)
{
	struct master_child *c, *next;
	pid_t pid;
	int status;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (c = children; c != NULL; c = next) {
			next = c->next;
			if (c->pid == pid) {
				master_child_died(c, status);
				break;
			}
		}
	}
	if (stopping && master_all_stopped())
		event_base_loopexit(base, NULL);
	else if (!stopping)
		master_start_pending();
}

/* master_timer_pending - is a restart of this child waiting on backoff? */
static int
master_timer_pending(const struct master_child *c)
{
	return c->restart_ev != NULL &&
	    evtimer_pending(c->restart_ev, NULL);
}

/* master_start_pending - start every child that may start now */
static void
master_start_pending(void)
{
	struct master_child *c, *router;

	if (stopping)
		return;
	router = master_find(ROLE_ROUTER, NULL);
	for (c = children; c != NULL; c = c->next) {
		if (c->retired || c->pid != 0 || c->disabled ||
		    master_timer_pending(c))
			continue;
		switch (c->role) {
		case ROLE_RECEIVER:
		case ROLE_RECOGNIZER:
		case ROLE_WEB:
			break;
		case ROLE_ROUTER:
			if (master_retired_alive(ROLE_ROUTER, NULL))
				continue;
			break;
		case ROLE_WORKER:
			/* The router recovers incoming/ before workers run. */
			if (router == NULL || !router->ready ||
			    master_retired_alive(ROLE_WORKER, c->connector))
				continue;
			break;
		}
		master_spawn(c);
	}
}

/* master_add_child - a table entry for the current generation */
static void
master_add_child(enum master_role role, const char *connector)
{
	struct master_child *c = xcalloc(1, sizeof(*c));

	c->handoff = -1;

	c->role = role;
	c->connector = connector ? xstrdup(connector) : NULL;
	c->generation = generation;
	c->next = children;
	children = c;
}

/* master_plan_children - the children the configuration asks for */
static void
master_plan_children(void)
{
	size_t i;

	for (i = cfg->nconnectors; i > 0; i--)
		master_add_child(ROLE_WORKER, cfg->connectors[i - 1].name);
	if (cfg_uses_recognizer(cfg))
		master_add_child(ROLE_RECOGNIZER, NULL);
	if (cfg->web.enabled)
		master_add_child(ROLE_WEB, NULL);
	master_add_child(ROLE_ROUTER, NULL);
	master_add_child(ROLE_RECEIVER, NULL);
}

/* master_stop_children - ask every child of a generation to stop */
static void
master_stop_children(int retire)
{
	struct master_child *c;

	for (c = children; c != NULL; c = c->next) {
		if (retire) {
			if (c->retired)
				continue;
			c->retired = 1;
			if (c->restart_ev)
				evtimer_del(c->restart_ev);
		}
		if (c->pid != 0 && c->ipc != NULL)
			(void)master_child_send(c, IPC_SHUTDOWN, NULL, 0);
	}
	/* Retired entries that are not running can go now. */
	for (c = children; c != NULL;) {
		struct master_child *next = c->next;

		if (c->retired && c->pid == 0)
			master_unlink_child(c);
		c = next;
	}
}

/* master_listener_find - an already bound listener for addr:port */
static int
master_listener_find(struct master_listener *set, size_t n,
    const char *addr, uint16_t port)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (set[i].fd != -1 && set[i].port == port &&
		    strcmp(set[i].address, addr) == 0)
			return (int)i;
	return -1;
}

/*
 * master_bind - bind the listeners of c, reusing sockets already bound for
 * the same address (a reload must not drop connections); -1 with err.
 */
static int
master_bind(const struct cfg *c, char *err, size_t errlen)
{
	struct master_listener *set;
	size_t i;
	int j;

	set = xcalloc(c->nlisteners, sizeof(*set));
	for (i = 0; i < c->nlisteners; i++) {
		const struct cfg_listener *l = &c->listeners[i];

		set[i].address = xstrdup(l->address);
		set[i].port = l->port;
		j = master_listener_find(listeners, nlisteners, l->address,
		    l->port);
		if (j >= 0) {
			set[i].fd = listeners[j].fd;
			listeners[j].fd = -1;
			continue;
		}
		set[i].fd = net_listen(l->address, l->port, l->backlog, err,
		    errlen);
		if (set[i].fd == -1) {
			while (i-- > 0)
				if (master_listener_find(listeners, nlisteners,
				    set[i].address, set[i].port) == -1)
					close(set[i].fd);
			free(set);
			return -1;
		}
		log_info("listening on %s port %u (%s)", l->address,
		    (unsigned)l->port, l->name);
	}
	for (i = 0; i < nlisteners; i++) {
		if (listeners[i].fd != -1)
			close(listeners[i].fd);
		free(listeners[i].address);
	}
	free(listeners);
	listeners = set;
	nlisteners = c->nlisteners;
	return 0;
}

/* Directories of the spool that are gatewayd's rather than the queue's. */
static const char *const master_spool_extra[] = { "directive",
    SPOOL_RECOG_DIR, SPOOL_NOTICE_DIR, NULL };

struct master_cdirs {
	const struct cfg *cfg;
	struct spool *sp;
};

/* master_connector_dirs - per-connector directories (as the queue user) */
static int
master_connector_dirs(void *arg)
{
	struct master_cdirs *cd = arg;
	char err[SPOOL_ERRLEN];
	size_t i;

	if (spool_connector_init(cd->sp, "_router", (uid_t)-1, (gid_t)-1, err,
	    sizeof(err)) == -1)
		goto fail;
	for (i = 0; i < cd->cfg->nconnectors; i++)
		if (spool_connector_init(cd->sp, cd->cfg->connectors[i].name,
		    (uid_t)-1, (gid_t)-1, err, sizeof(err)) == -1)
			goto fail;
	return 0;
fail:
	log_warnx("spool %s: %s", cd->cfg->spool, err);
	return -1;
}

/*
 * master_prepare_spool - the spool's layout and the per-connector
 * directories.  As root, spool_prepare() works fd-relative in a spool root
 * that root owns, and what lies inside the queue user's directories is
 * made through descriptors opened O_NOFOLLOW by a child that became that
 * user first (proc_run_as): root acts by no path that an unprivileged
 * process can change (doc/security.md).
 */
static int
master_prepare_spool(const struct cfg *c, char *err, size_t errlen)
{
	struct master_cdirs cd = { c, NULL };
	struct spool_owners o;
	int rc;

	if (geteuid() == 0) {
		o.uid = run_uid;
		o.gid = run_gid;
		o.recv_uid = recv_uid;
		o.recv_gid = recv_gid;
		if (spool_prepare(c->spool, &o, master_spool_extra, err,
		    errlen) == -1)
			return -1;
	}
	if ((cd.sp = spool_open(c->spool, geteuid() != 0, (uid_t)-1,
	    (gid_t)-1, err, errlen)) == NULL)
		return -1;
	if (geteuid() == 0)
		rc = proc_run_as(c->user, master_connector_dirs, &cd);
	else
		rc = master_connector_dirs(&cd);
	spool_close(cd.sp);
	if (rc == -1)
		snprintf(err, errlen, "spool %s: cannot make the connector "
		    "directories", c->spool);
	return rc;
}

static int trash_left;	/* files of deleted jobs in trash/ at start */

/* master_recover_tmp - unacknowledged data from before a crash goes */
static void
master_recover_tmp(const struct cfg *c)
{
	char err[SPOOL_ERRLEN];
	struct spool *sp;
	int n;

	if ((sp = spool_open(c->spool, 0, run_uid, run_gid, err,
	    sizeof(err))) == NULL)
		fatalx("spool: %s", err);
	/* unlinkat() in descriptors opened O_NOFOLLOW: nothing is followed */
	if ((n = spool_recover_received(sp)) > 0)
		log_info("removed %d unacknowledged message(s) from %s/receive",
		    n, c->spool);
	else if (n == -1)
		log_warn("spool %s: cleaning receive", c->spool);
	trash_left = !spool_trash_empty(sp);
	if ((n = spool_recover_tmp(sp)) > 0)
		log_info("removed %d unfinished file(s) from %s/tmp", n,
		    c->spool);
	else if (n == -1)
		log_warn("spool %s: cleaning tmp", c->spool);
	control_pause_restore(sp);
	spool_close(sp);
}

/* master_lookup_user - uid/gid of a user named by the key of c */
static int
master_lookup_user(const struct cfg *c, const char *name, const char *key,
    uid_t *uid, gid_t *gid, char *err, size_t errlen)
{
	struct passwd *pw;

	if ((pw = getpwnam(name)) == NULL) {
		snprintf(err, errlen, "user '%s' does not exist (create it, "
		    "or set '%s' in %s)", name, key, c->file);
		return -1;
	}
	if (pw->pw_uid == 0) {
		snprintf(err, errlen, "user '%s' ('%s') is root: children "
		    "must not run as root", name, key);
		return -1;
	}
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	return 0;
}

/*
 * master_qid_mark - every SPOOL_QID_HW_PERIOD seconds: the clock's
 * high-water mark, so that IDs made after a restart stay above those
 * made before even when the clock went back meanwhile (spool.h)
 */
static void
master_qid_mark(evutil_socket_t fd, short ev, void *arg)
{
	char err[SPOOL_ERRLEN];
	struct spool *sp;

	(void)fd;
	(void)ev;
	(void)arg;
	if ((sp = spool_open(cfg->spool, 0, (uid_t)-1, (gid_t)-1, err,
	    sizeof(err))) == NULL ||
	    spool_qid_highwater(sp, err, sizeof(err)) == -1)
		log_warnx("warning: spool %s: the queue ID mark: %s",
		    cfg->spool, err);
	spool_close(sp);
}

/* master_qid_timer - arm master_qid_mark (the first mark after a period) */
static void
master_qid_timer(void)
{
	struct timeval tv = { SPOOL_QID_HW_PERIOD, 0 };
	struct event *ev = event_new(base, -1, EV_PERSIST, master_qid_mark,
	    NULL);

	if (ev == NULL || evtimer_add(ev, &tv) == -1)
		fatalx("queue ID mark timer");
}

/* master_resolve_user - uid/gid the children drop to (root only) */
static int
master_resolve_user(const struct cfg *c, char *err, size_t errlen)
{
	if (geteuid() != 0) {
		run_uid = recv_uid = (uid_t)-1;
		run_gid = recv_gid = (gid_t)-1;
		return 0;
	}
	if (master_lookup_user(c, c->user, "user", &run_uid, &run_gid, err,
	    errlen) == -1 || master_lookup_user(c, c->receiver_user,
	    "receiver_user", &recv_uid, &recv_gid, err, errlen) == -1)
		return -1;
	if (recv_uid == run_uid || recv_gid == run_gid)
		log_warnx("warning: receiver_user %s shares the %s of user "
		    "%s: the network-facing receiver is not kept apart from "
		    "the queue", c->receiver_user, recv_uid == run_uid ?
		    "uid" : "group", c->user);
	return 0;
}

/* master_pidfile - create and lock the pid file; fatal if another runs */
static void
master_pidfile(const char *path)
{
	char buf[32];
	int n;

	pidfile_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (pidfile_fd == -1)
		fatal("pid file %s", path);
	if (flock(pidfile_fd, LOCK_EX | LOCK_NB) == -1) {
		if (errno == EWOULDBLOCK)
			fatalx("another gatewayd is running (%s is locked)",
			    path);
		fatal("lock %s", path);
	}
	n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (ftruncate(pidfile_fd, 0) == -1 ||
	    pwrite(pidfile_fd, buf, (size_t)n, 0) != n)
		fatal("write pid file %s", path);
}

/* master_reload - SIGHUP: validate, then start a new generation */
int
master_reload(char *msg, size_t msglen)
{
	char err[CFG_ERRLEN];
	struct cfg *ncfg;
	char *text;
	size_t len;

	if (stopping) {
		snprintf(msg, msglen, "shutting down");
		return -1;
	}
	ncfg = master_load(cfg_path, &text, &len, err, sizeof(err));
	if (ncfg == NULL || master_check_connectors(ncfg, err, sizeof(err)) ||
	    tlscheck_config(ncfg, err, sizeof(err)) ||
	    master_resolve_user(ncfg, err, sizeof(err)) ||
	    master_prepare_spool(ncfg, err, sizeof(err)) ||
	    master_bind(ncfg, err, sizeof(err))) {
		log_warnx("reload failed, keeping the running configuration: %s",
		    err);
		snprintf(msg, msglen, "%s", err);
		if (ncfg) {
			cfg_free(ncfg);
			free(text);
		}
		/* A failed attempt may have changed the user: restore it. */
		(void)master_resolve_user(cfg, err, sizeof(err));
		return -1;
	}
	cfg_free(cfg);
	free(cfg_text);
	cfg = ncfg;
	cfg_text = text;
	cfg_textlen = len;
	generation++;
	master_stop_children(1);
	master_plan_children();
	master_start_pending();
	log_info("reloaded %s (generation %d)", cfg_path, generation);
	control_log_check(cfg);
	snprintf(msg, msglen, "configuration %s reloaded", cfg_path);
	return 0;
}

/* master_stop_timeout - children did not stop in time: kill them */
static void
master_stop_timeout(evutil_socket_t fd, short ev, void *arg)
{
	struct master_child *c;

	(void)fd;
	(void)ev;
	(void)arg;
	for (c = children; c != NULL; c = c->next)
		if (c->pid != 0) {
			log_warnx("%s (pid %ld) did not stop in %d s: killing it",
			    master_role_name(c->role), (long)c->pid,
			    MASTER_STOP_TIMEOUT);
			kill(c->pid, SIGKILL);
		}
}

/* master_signal - SIGTERM/SIGINT stop, SIGHUP reload, SIGCHLD reap */
static void
master_signal(evutil_socket_t sig, short ev, void *arg)
{
	char msg[CFG_ERRLEN];
	struct timeval tv = { MASTER_STOP_TIMEOUT, 0 };

	(void)ev;
	(void)arg;
	switch (sig) {
	case SIGTERM:
	case SIGINT:
		if (stopping)
			return;
		stopping = 1;
		log_info("received %s: stopping", strsignal((int)sig));
		control_stop();
		master_stop_children(0);
		stop_timer = evtimer_new(base, master_stop_timeout, NULL);
		evtimer_add(stop_timer, &tv);
		if (master_all_stopped())
			event_base_loopexit(base, NULL);
		break;
	case SIGHUP:
		log_info("received SIGHUP: reloading %s", cfg_path);
		(void)master_reload(msg, sizeof(msg));
		break;
	case SIGCHLD:
		master_reap();
		break;
	}
}

/* master_paths_absolute - may the daemon leave its directory? */
static int
master_paths_absolute(const struct cfg *c)
{
	size_t i;

	if (c->spool[0] != '/' || c->pid_file[0] != '/' ||
	    c->control_socket[0] != '/' || c->connector_dir[0] != '/')
		return 0;
	for (i = 0; i < c->nconnectors; i++)
		if (c->connectors[i].settings != NULL)
			return 0;	/* settings may name relative paths */
	return 1;
}

/* master_help - the options, for --help (stdout) and usage errors */
static void
master_help(FILE *fp)
{
	fprintf(fp, "usage: gatewayd [-fnv] [-c file]\n"
	    "  -c file    configuration (default %s/gatewayd/gatewayd.yaml)\n"
	    "  -f         stay in the foreground, log to stderr\n"
	    "  -n         check the configuration and exit (0 valid, 1 not)\n"
	    "  -v         verbose logging\n"
	    "  --version  print the version and exit\n"
	    "  --help     print this help and exit\n", GW_SYSCONFDIR);
}

/* master_usage - a usage error: the help on stderr, exit 64 */
static void __attribute__((noreturn))
master_usage(void)
{
	master_help(stderr);
	exit(64);
}

/* master_check_only - gatewayd -n */
static int
master_check_only(void)
{
	char err[CFG_ERRLEN];
	unsigned int bad;
	struct cfg *c;
	char *text;
	size_t len;

	c = master_load(cfg_path, &text, &len, err, sizeof(err));
	if (c == NULL || master_check_connectors(c, err, sizeof(err)) == -1 ||
	    tlscheck_config(c, err, sizeof(err)) == -1) {
		fprintf(stderr, "gatewayd: %s\n", err);
		return 1;
	}
	(void)conncheck_warnings(c, stderr);
	(void)tlscheck_warnings(c, stderr);
	/* each connector's check(), in a worker that is not root (cfgcheck.h) */
	bad = cfgcheck_connectors(c, cfg_path, text, len, "gatewayd", stderr);
	if (bad == 0)
		printf("gatewayd: configuration %s is valid\n", cfg_path);
	cfg_free(c);
	free(text);
	return bad == 0 ? 0 : 1;
}

/*
 * master_sweep_trash - deleted jobs a stop interrupted the unlinking of
 * wait in trash/ (spool_job_remove): a child as the gateway user unlinks
 * them while the gateway runs.  It ends with the master and is reaped
 * like any child the master does not know; the master's signal handlers
 * (libevent's, which write to the master's own pipe) are reset first.
 */
static void
master_sweep_trash(const struct cfg *c, const int *sigs, size_t nsigs)
{
	char err[SPOOL_ERRLEN];
	struct spool *sp;
	pid_t pid = 0, master = getpid();
	size_t i;
	int n;

	if (!trash_left)	/* looked at by master_recover_tmp */
		return;
	if ((sp = spool_open(c->spool, 0, run_uid, run_gid, err,
	    sizeof(err))) == NULL)
		return;		/* the children will say why */
	if ((pid = fork()) != 0) {
		if (pid == -1)
			log_warn("fork of the trash/ sweeper: left for the "
			    "next delete or start");
		spool_close(sp);
		return;
	}
	for (i = 0; i < nsigs; i++)
		(void)signal(sigs[i], SIG_DFL);
	(void)prctl(PR_SET_NAME, "gatewayd-sweep");
	proc_drop_privileges(c->user, NULL);
	proc_die_with(master, SIGKILL);
	if ((n = control_queue_sweep(sp)) > 0)
		log_info("removed %d deleted file(s) from %s/trash", n, c->spool);
	_exit(0);
}

/* master_setup - everything privileged, before the children start */
static void
master_setup(void)
{
	char err[CFG_ERRLEN];

	if (master_check_connectors(cfg, err, sizeof(err)) == -1 ||
	    tlscheck_config(cfg, err, sizeof(err)) == -1 ||
	    master_resolve_user(cfg, err, sizeof(err)) == -1 ||
	    master_prepare_spool(cfg, err, sizeof(err)) == -1)
		fatalx("%s", err);
	master_recover_tmp(cfg);
	if (master_bind(cfg, err, sizeof(err)) == -1)
		fatalx("%s", err);
	control_fd = control_listen(cfg->control_socket, cfg->admin_group,
	    err, sizeof(err));
	if (control_fd == -1)
		fatalx("%s", err);
	if (geteuid() != 0)
		log_info("not started as root: developer mode, children keep "
		    "uid %u", (unsigned)geteuid());
}

int
main(int argc, char **argv)
{
	char err[CFG_ERRLEN];
	int ch, check = 0;
	static const int sigs[] = { SIGTERM, SIGINT, SIGHUP, SIGCHLD };
	size_t i;

	version_options(argc, argv, "gatewayd", master_help);
	cfg_path = GW_SYSCONFDIR "/gatewayd/gatewayd.yaml";
	while ((ch = getopt(argc, argv, "c:fnvh")) != -1) {
		switch (ch) {
		case 'c': cfg_path = optarg; break;
		case 'f': foreground = 1; break;
		case 'n': check = 1; break;
		case 'v': verbose++; break;
		default: master_usage();
		}
	}
	if (optind != argc)
		master_usage();
	if (check)
		return master_check_only();
	{
		static char abs_path[PATH_MAX];

		/* Reloads happen after the daemon may have left the directory. */
		if (realpath(cfg_path, abs_path) != NULL)
			cfg_path = abs_path;
	}
	log_init("gatewayd", foreground ? LOG_TO_STDERR :
	    LOG_TO_STDERR | LOG_TO_SYSLOG, verbose);
	cfg = master_load(cfg_path, &cfg_text, &cfg_textlen, err, sizeof(err));
	if (cfg == NULL)
		fatalx("%s", err);
	if (cfg->log_verbose)
		verbose = 1;
	signal(SIGPIPE, SIG_IGN);
	master_setup();
	if (!foreground) {
		/* Relative paths in the configuration keep the directory. */
		if (daemon(master_paths_absolute(cfg) ? 0 : 1, 0) == -1)
			fatal("daemon");
		log_init("gatewayd", LOG_TO_SYSLOG, verbose);
	}
	master_pidfile(cfg->pid_file);
	started_at = time(NULL);
	if ((base = event_base_new()) == NULL)
		fatalx("event_base_new");
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		struct event *ev = evsignal_new(base, sigs[i], master_signal,
		    NULL);
		if (ev == NULL || evsignal_add(ev, NULL) == -1)
			fatalx("signal handler");
	}
	control_start(base, control_fd);
	control_history_start(base);
	control_log_check(cfg);
	master_qid_timer();
	master_plan_children();
	master_start_pending();
	log_info("gatewayd %s started (pid %ld, config %s)", PACKAGE_VERSION,
	    (long)getpid(), cfg_path);
	master_sweep_trash(cfg, sigs, sizeof(sigs) / sizeof(sigs[0]));
	event_base_dispatch(base);
	(void)unlink(cfg->control_socket);
	(void)unlink(cfg->pid_file);
	log_info("gatewayd stopped");
	return 0;
}
