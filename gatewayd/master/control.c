/*
 * control.c - the control socket of the master, for gatewayctl(8)
 *
 * A client sends one request line and reads the answer until EOF.  Peers
 * are authorised by their credentials (SO_PEERCRED): root, the user the
 * master runs as, or a member of the configured admin group.  Answers
 * start with "ok" or "error <reason>" on their first line (control_int.h).
 * Requests that read or change the spool (stats, queue ...) are served by
 * a short-lived child without privileges so that a large queue never
 * blocks the master; the child keeps none of the master's descriptors and
 * gives up on a client that reads nothing for CONTROL_TIMEOUT seconds.
 * The command table is control_cmds below; control_parse.c splits the line.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "cfg.h"
#include "control.h"
#include "control_int.h"
#include "directive_cmd.h"
#include "ipc.h"
#include "log.h"
#include "master.h"
#include "proc.h"
#include "spool.h"
#include "xmalloc.h"

static struct evconnlistener *control_listener;
uid_t control_master_euid;
static gid_t control_gid = (gid_t)-1;

/* control_listen - bind the control socket; refuse to steal a live one */
int
control_listen(const char *path, const char *admin_group, char *err,
    size_t errlen)
{
	struct sockaddr_un sun;
	struct group *gr;
	mode_t old;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		snprintf(err, errlen, "control socket path too long: %s", path);
		return -1;
	}
	strcpy(sun.sun_path, path);
	if (admin_group != NULL) {
		if ((gr = getgrnam(admin_group)) == NULL) {
			snprintf(err, errlen, "admin_group '%s' does not exist",
			    admin_group);
			return -1;
		}
		control_gid = gr->gr_gid;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0) {
		snprintf(err, errlen, "control socket %s is in use: is "
		    "gatewayd already running?", path);
		close(fd);
		return -1;
	}
	(void)unlink(path);
	/*
	 * Anyone may connect: the peer's credentials decide, so a refused
	 * user gets a clear answer rather than EACCES.
	 */
	old = umask(0111);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		umask(old);
		snprintf(err, errlen, "bind %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	umask(old);
	if (geteuid() == 0 && control_gid != (gid_t)-1 &&
	    chown(path, 0, control_gid) == -1) {
		snprintf(err, errlen, "chown %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* control_peer_allowed - root, ourselves, the admin group, or gatewayd-web */
static int
control_peer_allowed(int fd, uid_t *uidp)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	struct passwd *pw;
	gid_t groups[256];
	int n = 256, i;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == -1)
		return 0;
	*uidp = cred.uid;
	if (cred.uid == 0 || cred.uid == geteuid() || control_web_peer(fd))
		return 1;
	if (control_gid == (gid_t)-1)
		return 0;
	if (cred.gid == control_gid)
		return 1;
	if ((pw = getpwuid(cred.uid)) == NULL)
		return 0;
	if (getgrouplist(pw->pw_name, pw->pw_gid, groups, &n) == -1)
		return 0;
	for (i = 0; i < n; i++)
		if (groups[i] == control_gid)
			return 1;
	return 0;
}

/* control_status_req - gatewayctl status */
static void
control_status_req(struct control_req *req)
{
	evbuffer_add_printf(req->out, "ok\n");
	control_status_write(req->out, req->json);
}

/* control_pause_req - gatewayctl pause receive | delivery [CONNECTOR] */
static void
control_pause_req(struct control_req *req)
{
	control_pause(req, 1);
}

/* control_resume_req - gatewayctl resume receive | delivery [CONNECTOR] */
static void
control_resume_req(struct control_req *req)
{
	control_pause(req, 0);
}

/* control_notify_check - decode a control child's frame; NULL or why not */
static const char *
control_notify_check(const struct ipc_frame *f, const char **sv)
{
	const char *why = NULL;

	switch (f->type) {
	case IPC_JOB_NEW:
	case IPC_JOB_FAILED:
		(void)ipc_qids(f, 1, sv, IPC_MAX_STRINGS, &why);
		return why;
	case IPC_REQUEUE:
		(void)ipc_qids(f, 0, sv, IPC_MAX_STRINGS, &why);
		return why;
	case IPC_FLUSH:
		if (ipc_strings(f, sv, 1) != 1 || !spool_name_valid(sv[0]))
			return "no valid connector name";
		return NULL;
	case IPC_WORKER_STATS:
		return NULL;	/* control_child_frame decodes it */
	}
	return "unexpected type";
}

/* control_notify_reject - a control child broke the protocol: kill it */
static void
control_notify_reject(struct ipc *ipc, const char *why, void *arg)
{
	pid_t pid = (pid_t)(intptr_t)arg;

	log_warnx("control child (pid %ld): bad frame: %s: killing it",
	    (long)pid, why);
	(void)kill(pid, SIGKILL);
	ipc_free(ipc);
}

/* control_notify_frame - a frame from a control child: pass it on */
static void
control_notify_frame(struct ipc *ipc, const struct ipc_frame *f, void *arg)
{
	const char *sv[IPC_MAX_STRINGS], *why;
	char msg[128];

	if ((why = control_notify_check(f, sv)) != NULL) {
		snprintf(msg, sizeof(msg), "%s %s", ipc_type_name(f->type), why);
		control_notify_reject(ipc, msg, arg);
		return;
	}
	switch (f->type) {
	case IPC_JOB_NEW:
	case IPC_JOB_FAILED:
	case IPC_FLUSH:
		if (master_send(ROLE_WORKER, sv[0], f->type, f->data,
		    f->len) == -1)
			log_debug("control: worker %s not running", sv[0]);
		break;
	case IPC_REQUEUE:
		if (master_send(ROLE_ROUTER, NULL, f->type, f->data,
		    f->len) == -1)
			log_warnx("control: router not running: requeued "
			    "messages wait for its start-up scan");
		break;
	case IPC_WORKER_STATS:
		if (control_child_frame(ROLE_WORKER, NULL, f) == -1)
			control_notify_reject(ipc, "malformed WORKER_STATS",
			    arg);
		break;
	}
}

/* control_notify_closed - the control child is done */
static void
control_notify_closed(struct ipc *ipc, void *arg)
{
	(void)arg;
	ipc_free(ipc);
}

/*
 * control_child_fds - in a control child: close every descriptor inherited
 * from the master (listeners, the pid file lock, the children's IPC, the
 * control listener and other clients, the event loop's own) except stdio,
 * the client and the notify socket; reconnect syslog afterwards.
 */
static void
control_child_fds(int client, int notify)
{
	int lo = client < notify ? client : notify;
	int hi = client < notify ? notify : client;

	if (lo > 3)
		(void)close_range(3, (unsigned)lo - 1, 0);
	if (hi > lo + 1)
		(void)close_range((unsigned)lo + 1, (unsigned)hi - 1, 0);
	(void)close_range((unsigned)hi + 1, ~0U, 0);
	log_reopen();
}

/*
 * control_client_write - stdio writer of a control child's answer.  The
 * socket has a send timeout: when the client read nothing for
 * CONTROL_TIMEOUT seconds (or went away) the connection is cut and the
 * rest of the answer discarded, so the work still ends quickly.
 */
static ssize_t
control_client_write(void *cookie, const char *buf, size_t len)
{
	static int gone;
	int fd = (int)(intptr_t)cookie;
	size_t off = 0;
	ssize_t n;

	while (!gone && off < len) {
		n = write(fd, buf + off, len - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				log_warnx("control: client read nothing for "
				    "%d s: connection cut", CONTROL_TIMEOUT);
			(void)shutdown(fd, SHUT_RDWR);
			gone = 1;
			break;
		}
		off += (size_t)n;
	}
	return (ssize_t)len;
}

/* control_client_open - the client socket as a blocking, timed stdio stream */
static FILE *
control_client_open(int fd)
{
	struct timeval tv = { CONTROL_TIMEOUT, 0 };
	cookie_io_functions_t io = { NULL, control_client_write, NULL, NULL };
	int fl;

	/*
	 * The connection came non-blocking from the listener; stdio on it
	 * would lose or repeat buffered output at EAGAIN when the client
	 * reads slower than a long answer (queue list) is written.
	 */
	if ((fl = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) == -1)
		return NULL;
	return fopencookie((void *)(intptr_t)fd, "w", io);
}

/*
 * control_fork - serve a request from a short-lived child without
 * privileges: it opens the spool, drops to the gateway user, writes the
 * answer straight to the client and sends notifications (wake-ups for the
 * router and workers) to the master on a socketpair.
 */
void
control_fork(struct control_req *req, control_child_fn fn, int need_spool)
{
	char err[SPOOL_ERRLEN];
	const struct cfg *cfg = master_cfg();
	struct spool *sp = NULL;
	struct ipc *ipc;
	int sv[2], rc;
	FILE *fp;
	pid_t pid, master = getpid();

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1 ||
	    (pid = fork()) == -1) {
		log_warn("control: fork");
		dprintf(req->fd, "error cannot fork\n");
		return;
	}
	if (pid != 0) {
		close(sv[1]);
		ipc = ipc_new(evconnlistener_get_base(control_listener), sv[0],
		    control_notify_frame, control_notify_closed,
		    (void *)(intptr_t)pid);
		ipc_set_error(ipc, control_notify_reject);
		return;
	}
	/* Child: no event loop, no privileges, write and exit. */
	control_child_fds(req->fd, sv[1]);
	signal(SIGPIPE, SIG_IGN);
	if (need_spool && (sp = spool_open(cfg->spool, 0, (uid_t)-1,
	    (gid_t)-1, err, sizeof(err))) == NULL) {
		dprintf(req->fd, "error spool: %s\n", err);
		_exit(1);
	}
	if (fn == control_directive)
		control_directive_prepare(cfg);	/* its password file */
	if (fn == control_queue_log || fn == control_queue_state_log)
		control_log_prepare(cfg);	/* root:adm 0640 is fine */
	proc_drop_privileges(cfg->user, NULL);
	/*
	 * Ends with the master (a delete ALL of a million jobs must not go on
	 * after a stop); SIGKILL, as the master's SIGTERM handler is ours.
	 */
	proc_die_with(master, SIGKILL);
	if ((fp = control_client_open(req->fd)) == NULL)
		_exit(1);
	(void)setvbuf(fp, NULL, _IOFBF, 256 * 1024);	/* few big writes */
	fputs("ok\n", fp);
	rc = fn(req, sp, fp, sv[1]);
	fclose(fp);
	close(req->fd);
	close(sv[1]);
	/*
	 * Deleted jobs wait in trash/ (spool_job_remove): their files are
	 * unlinked now that the client has its answer.  What a stop
	 * interrupts is swept at the next start (master_sweep_trash).
	 */
	if (fn == control_queue_action && sp != NULL)
		(void)control_queue_sweep(sp);
	_exit(rc);
}

/* control_reload - gatewayctl reload */
static void
control_reload(struct control_req *req)
{
	char msg[CFG_ERRLEN];

	if (master_reload(msg, sizeof(msg)) == 0)
		evbuffer_add_printf(req->out, "ok\n%s\n", msg);
	else
		evbuffer_add_printf(req->out, "error configuration refused, "
		    "the running one is kept: %s\n", msg);
}

/* Commands: name, subcommand (NULL: none), handler. */
enum control_kind { CTL_LOOP, CTL_CHILD, CTL_CHILD_NOSPOOL };
static const struct control_cmd {
	const char *name;
	const char *sub;
	enum control_kind kind;
	void (*loop)(struct control_req *);
	control_child_fn child;
} control_cmds[] = {
	{ "status", NULL, CTL_LOOP, control_status_req, NULL },
	{ "reload", NULL, CTL_LOOP, control_reload, NULL },
	{ "pause", NULL, CTL_LOOP, control_pause_req, NULL },
	{ "resume", NULL, CTL_LOOP, control_resume_req, NULL },
	{ "stats", "history", CTL_CHILD_NOSPOOL, NULL, control_stats_history },
	{ "stats", NULL, CTL_CHILD, NULL, control_stats },
	{ "connectors", NULL, CTL_CHILD_NOSPOOL, NULL, control_connectors },
	{ "directive", NULL, CTL_CHILD_NOSPOOL, NULL, control_directive },
	{ "queue", "list", CTL_CHILD, NULL, control_queue_list },
	{ "queue", "show", CTL_CHILD, NULL, control_queue_show },
	{ "queue", "state", CTL_CHILD, NULL, control_queue_state_log },
	{ "queue", "check", CTL_CHILD, NULL, control_queue_check },
	{ "queue", "log", CTL_CHILD_NOSPOOL, NULL, control_queue_log },
	{ "queue", "hold", CTL_CHILD, NULL, control_queue_action },
	{ "queue", "release", CTL_CHILD, NULL, control_queue_action },
	{ "queue", "delete", CTL_CHILD, NULL, control_queue_action },
	{ "queue", "retry", CTL_CHILD, NULL, control_queue_action },
	{ "queue", "requeue", CTL_CHILD, NULL, control_queue_action },
	{ "queue", "expire", CTL_CHILD, NULL, control_queue_action },
};

#define CONTROL_AUDIT_IDS	20	/* queue IDs per audit log line */

/*
 * control_word - word i of a request as people read it: the words after
 * "directive" are hex-encoded (control_directive.c), decoded here
 */
static const char *
control_word(const struct control_req *req, int i, char *buf, size_t len)
{
	int n;

	if (i == 0 || strcmp(req->argv[0], "directive") != 0)
		return req->argv[i];
	n = snprintf(buf, len, "%s", req->argv[i]);
	if (n < 0 || (size_t)n >= len || directive_unhex(buf) == -1)
		return req->argv[i];
	return buf;
}

/* control_is_action - does this request change the queue or the gateway? */
static int
control_is_action(const struct control_req *req)
{
	static const char *const verbs[] = { "pause", "resume", "reload",
	    NULL };
	static const char *const reads[] = { "list", "show", "check", "log",
	    "get", "dump", "sheet", "state", NULL };
	char word[64];
	const char *sub;
	size_t i;

	for (i = 0; verbs[i] != NULL; i++)
		if (strcmp(req->argv[0], verbs[i]) == 0)
			return 1;
	if ((strcmp(req->argv[0], "queue") != 0 &&
	    strcmp(req->argv[0], "directive") != 0) || req->argc < 2)
		return 0;
	sub = control_word(req, 1, word, sizeof(word));
	for (i = 0; reads[i] != NULL; i++)
		if (strcmp(sub, reads[i]) == 0)
			return 0;
	return 1;
}

/*
 * control_audit - log an operator's action with the peer's uid and its
 * words: the command, then its other words (queue IDs) CONTROL_AUDIT_IDS
 * to a line, before it is carried out
 */
static void
control_audit(const struct control_req *req, uid_t uid)
{
	char who[320];
	char head[256], rest[1024], word[1024];
	size_t i, k, off;
	int nhead = req->argc < 2 ? req->argc : 2, n;

	snprintf(head, sizeof(head), "%s%s%.64s%s%.64s", req->argv[0],
	    nhead > 1 ? " " : "", nhead > 1 ?
	    control_word(req, 1, word, sizeof(word)) : "",
	    req->connector ? " --connector " : "",
	    req->connector ? req->connector : "");
	i = (size_t)nhead;
	do {
		rest[0] = '\0';
		for (k = 0, off = 0; k < CONTROL_AUDIT_IDS &&
		    i < (size_t)req->argc; k++, i++) {
			n = snprintf(rest + off, sizeof(rest) - off, " %s",
			    control_word(req, (int)i, word, sizeof(word)));
			if (n < 0 || (size_t)n >= sizeof(rest) - off) {
				i++;	/* cut: the line is full */
				break;
			}
			off += (size_t)n;
		}
		if (req->as_user[0] != '\0')
			snprintf(who, sizeof(who), "web user %s",
			    req->as_user);
		else
			snprintf(who, sizeof(who), "uid=%ld", (long)uid);
		log_info("operator %s: %s%s", who, head, rest);
	} while (i < (size_t)req->argc);
}

/* control_request - execute one request line */
static void
control_request(struct bufferevent *bev, char *line, uid_t uid)
{
	struct control_req *req = xcalloc(1, sizeof(*req));
	char err[256], clean[128];
	const struct control_cmd *c;
	size_t i;

	req->bev = bev;
	req->out = bufferevent_get_output(bev);
	req->fd = bufferevent_getfd(bev);
	req->older_than = -1;
	if (control_parse(req, line, err, sizeof(err)) == -1 ||
	    control_web_request(req, control_web_peer(req->fd), err,
	    sizeof(err)) == -1) {
		evbuffer_add_printf(req->out, "error %s\n", err);
		free(req);
		return;
	}
	if (control_is_action(req))
		control_audit(req, uid);
	for (i = 0; i < sizeof(control_cmds) / sizeof(control_cmds[0]); i++) {
		c = &control_cmds[i];
		if (strcmp(req->argv[0], c->name) != 0 || (c->sub != NULL &&
		    (req->argc < 2 || strcmp(req->argv[1], c->sub) != 0)))
			continue;
		if (c->kind == CTL_LOOP)
			c->loop(req);
		else
			control_fork(req, c->child, c->kind == CTL_CHILD);
		free(req);
		return;
	}
	evbuffer_add_printf(req->out, "error unknown request '%s'\n",
	    log_clean(clean, sizeof(clean), req->argv[0],
	    strlen(req->argv[0])));
	free(req);
}

/* control_write_done - answer flushed: close */
static void
control_write_done(struct bufferevent *bev, void *arg)
{
	(void)arg;
	if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		bufferevent_free(bev);
}

/* control_event - peer went away or timed out (arg: its control_conn) */
static void
control_event(struct bufferevent *bev, short what, void *arg)
{
	(void)what;
	free(arg);
	bufferevent_free(bev);
}

/* A connection until its request line is read. */
struct control_conn {
	uid_t uid;		/* the peer's, checked at accept */
	struct timespec start;	/* accept time: the request's deadline */
};

/* control_late - has the request taken longer than CONTROL_TIMEOUT? */
static int
control_late(const struct control_conn *cc)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec - cc->start.tv_sec >= CONTROL_TIMEOUT;
}

/*
 * control_read - one request line, then answer and close.  The read
 * timeout restarts with every byte, so a client that dribbles its request
 * is cut at CONTROL_TIMEOUT seconds after it connected, whatever it sends.
 */
static void
control_read(struct bufferevent *bev, void *arg)
{
	struct evbuffer *in = bufferevent_get_input(bev);
	struct control_conn *cc = arg;
	uid_t uid = cc->uid;
	size_t len;
	char *line;

	line = evbuffer_readln(in, &len, EVBUFFER_EOL_LF);
	if (line == NULL) {
		if (evbuffer_get_length(in) > CONTROL_MAX_REQUEST) {
			free(cc);
			bufferevent_free(bev);
		} else if (control_late(cc)) {
			log_warnx("control: no request line within %d s: "
			    "connection cut", CONTROL_TIMEOUT);
			free(cc);
			bufferevent_free(bev);
		}
		return;
	}
	free(cc);
	bufferevent_disable(bev, EV_READ);
	bufferevent_setcb(bev, NULL, NULL, control_event, NULL);
	control_request(bev, line, uid);
	free(line);
	bufferevent_setcb(bev, NULL, control_write_done, control_event, NULL);
	if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		bufferevent_free(bev);
}

/* control_accept - check the peer, then read its request */
static void
control_accept(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct bufferevent *bev;
	struct control_conn *cc;
	struct timeval tv = { CONTROL_TIMEOUT, 0 };
	uid_t uid = (uid_t)-1;

	(void)sa;
	(void)salen;
	(void)arg;
	if (!control_peer_allowed(fd, &uid)) {
		log_warnx("control: refused uid %ld (not root or admin_group)",
		    (long)uid);
		static const char deny[] = "error permission denied: root "
		    "or the admin_group only\n";

		(void)!write(fd, deny, sizeof(deny) - 1);
		close(fd);
		return;
	}
	bev = bufferevent_socket_new(evconnlistener_get_base(l), fd,
	    BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL) {
		close(fd);
		return;
	}
	cc = xcalloc(1, sizeof(*cc));
	cc->uid = uid;
	clock_gettime(CLOCK_MONOTONIC, &cc->start);
	bufferevent_setcb(bev, control_read, NULL, control_event, cc);
	bufferevent_set_timeouts(bev, &tv, &tv);
	bufferevent_enable(bev, EV_READ);
}

/* control_start - accept on the loop */
void
control_start(struct event_base *base, int fd)
{
	control_master_euid = geteuid();
	evutil_make_socket_nonblocking(fd);
	control_listener = evconnlistener_new(base, control_accept, NULL,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 16, fd);
	if (control_listener == NULL)
		fatalx("control: evconnlistener_new");
}

/* control_stop - no more requests (shutdown) */
void
control_stop(void)
{
	if (control_listener != NULL) {
		evconnlistener_free(control_listener);
		control_listener = NULL;
	}
}
