/*
 * control.c - the control socket of the master, for gatewayctl(8)
 *
 * A client sends one request line and reads the answer until EOF.  Peers
 * are authorised by their credentials (SO_PEERCRED): root, the user the
 * master runs as, or a member of the configured admin group.  Answers
 * start with "ok" or "error <reason>" on their first line.  Requests that
 * read the spool (queue list) are served by a short-lived child without
 * privileges so that a large queue never blocks the master.
 */
#include "config.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
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
#include "log.h"
#include "master.h"
#include "proc.h"
#include "spool.h"
#include "xmalloc.h"

#define CONTROL_MAX_REQUEST	4096

static struct evconnlistener *control_listener;
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

/* control_peer_allowed - root, ourselves, or the admin group */
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
	if (cred.uid == 0 || cred.uid == geteuid())
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

/* control_status - the process table and listeners */
static void
control_status(struct evbuffer *out, int json)
{
	const struct master_child *c;
	const struct cfg *cfg = master_cfg();
	time_t now = time(NULL);
	size_t i;

	if (json) {
		evbuffer_add_printf(out, "{\"pid\":%ld,\"uptime\":%ld,"
		    "\"processes\":[", (long)getpid(),
		    (long)(now - master_started()));
		for (c = master_children(); c != NULL; c = c->next)
			evbuffer_add_printf(out, "%s{\"role\":\"%s\","
			    "\"connector\":\"%s\",\"pid\":%ld,\"uptime\":%ld,"
			    "\"restarts\":%u,\"state\":\"%s\"}",
			    c == master_children() ? "" : ",",
			    master_role_name(c->role),
			    c->connector ? c->connector : "", (long)c->pid,
			    c->pid ? (long)(now - c->started) : 0L, c->restarts,
			    c->disabled ? "disabled" : c->retired ? "stopping" :
			    c->pid == 0 ? "restarting" : c->ready ? "ready" :
			    "starting");
		evbuffer_add_printf(out, "],\"listeners\":[");
		for (i = 0; i < cfg->nlisteners; i++)
			evbuffer_add_printf(out, "%s{\"name\":\"%s\","
			    "\"address\":\"%s\",\"port\":%u}", i ? "," : "",
			    cfg->listeners[i].name, cfg->listeners[i].address,
			    (unsigned)cfg->listeners[i].port);
		evbuffer_add_printf(out, "]}\n");
		return;
	}
	evbuffer_add_printf(out, "master    pid %ld, up %lds\n",
	    (long)getpid(), (long)(now - master_started()));
	evbuffer_add_printf(out, "%-10s %-16s %8s %10s %8s %s\n", "ROLE",
	    "CONNECTOR", "PID", "UPTIME", "RESTARTS", "STATE");
	for (c = master_children(); c != NULL; c = c->next)
		evbuffer_add_printf(out, "%-10s %-16s %8ld %9lds %8u %s\n",
		    master_role_name(c->role), c->connector ? c->connector : "-",
		    (long)c->pid, c->pid ? (long)(now - c->started) : 0L,
		    c->restarts, c->disabled ? "disabled" : c->retired ?
		    "stopping" : c->pid == 0 ? "restarting" : c->ready ?
		    "ready" : "starting");
	for (i = 0; i < cfg->nlisteners; i++)
		evbuffer_add_printf(out, "listener  %s %s port %u\n",
		    cfg->listeners[i].name, cfg->listeners[i].address,
		    (unsigned)cfg->listeners[i].port);
}

/* control_json_str - append a JSON string literal */
static void
control_json_str(FILE *fp, const char *s)
{
	const unsigned char *p;

	fputc('"', fp);
	for (p = (const unsigned char *)(s ? s : ""); *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(fp, "\\%c", *p);
		else if (*p < 0x20 || *p == 0x7f)
			fprintf(fp, "\\u%04x", *p);
		else
			fputc(*p, fp);
	}
	fputc('"', fp);
}

struct control_list {
	struct spool *spool;
	FILE *fp;
	enum spool_state state;
	const char *connector;
	int json;
};

/* control_list_one - print one queue entry */
static int
control_list_one(const char *qid, time_t mtime, off_t size, void *arg)
{
	struct control_list *cl = arg;
	char err[SPOOL_ERRLEN], when[32];
	struct envelope env;
	struct tm tm;
	time_t arrival;
	size_t i;

	memset(&env, 0, sizeof(env));
	if (spool_job_read(cl->spool, cl->state, cl->connector, qid, &env,
	    err, sizeof(err)) == -1) {
		if (cl->json)
			fprintf(cl->fp, "{\"queue_name\":\"%s\",\"queue_id\":"
			    "\"%s\",\"error\":", spool_state_name(cl->state), qid);
		else
			fprintf(cl->fp, "%-20s %-9s unreadable: ", qid,
			    spool_state_name(cl->state));
		control_json_str(cl->fp, err);
		fputs(cl->json ? "}\n" : "\n", cl->fp);
		return 0;
	}
	arrival = (time_t)(env.arrival_us / 1000000);
	if (cl->json) {
		fprintf(cl->fp, "{\"queue_name\":\"%s\",\"queue_id\":\"%s\","
		    "\"connector\":", spool_state_name(cl->state), qid);
		control_json_str(cl->fp, cl->connector ? cl->connector : "");
		fprintf(cl->fp, ",\"arrival_time\":%ld,\"message_size\":%lld,"
		    "\"attempts\":%u,\"next_attempt\":%ld,\"sender\":",
		    (long)arrival, (long long)env.size, env.attempts,
		    (long)(cl->state == SPOOL_DEFERRED ? mtime : 0));
		control_json_str(cl->fp, env.from);
		fputs(",\"recipients\":[", cl->fp);
		for (i = 0; i < env.nrcpt; i++) {
			fputs(i ? ",{\"address\":" : "{\"address\":", cl->fp);
			control_json_str(cl->fp, env.rcpt[i].addr);
			fprintf(cl->fp, ",\"state\":\"%s\",\"delay_reason\":",
			    envelope_rcpt_state_name(env.rcpt[i].state));
			control_json_str(cl->fp, env.rcpt[i].text);
			fputc('}', cl->fp);
		}
		fputs("]}\n", cl->fp);
	} else {
		localtime_r(&arrival, &tm);
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
		fprintf(cl->fp, "%-20s %-9s %-12s %8lld %s %s\n", qid,
		    spool_state_name(cl->state),
		    cl->connector ? cl->connector : "-", (long long)size, when,
		    env.from[0] ? env.from : "<>");
		for (i = 0; i < env.nrcpt; i++)
			fprintf(cl->fp, "%44s%s %s%s%s\n", "", env.rcpt[i].addr,
			    envelope_rcpt_state_name(env.rcpt[i].state),
			    env.rcpt[i].text ? ": " : "",
			    env.rcpt[i].text ? env.rcpt[i].text : "");
	}
	envelope_clear(&env);
	return 0;
}

/* control_list_queue - in the listing child: every state, every connector */
static void
control_list_queue(struct spool *sp, FILE *fp, int json)
{
	struct control_list cl = { sp, fp, SPOOL_INCOMING, NULL, json };
	char **names = NULL;
	size_t n = 0, i;
	int st;

	if (!json)
		fprintf(fp, "%-20s %-9s %-12s %8s %-19s %s\n", "QUEUE-ID",
		    "STATE", "CONNECTOR", "SIZE", "ARRIVAL", "SENDER/RECIPIENTS");
	spool_scan(sp, SPOOL_INCOMING, NULL, control_list_one, &cl);
	if (spool_connectors(sp, &names, &n) == -1)
		return;
	for (st = SPOOL_QUEUE; st < SPOOL_NSTATES; st++) {
		for (i = 0; i < n; i++) {
			cl.state = (enum spool_state)st;
			cl.connector = names[i];
			spool_scan(sp, cl.state, names[i], control_list_one, &cl);
		}
	}
	spool_free_names(names, n);
}

/* control_fork_list - serve "queue list" from an unprivileged child */
static void
control_fork_list(int fd, int json)
{
	char err[SPOOL_ERRLEN];
	const struct cfg *cfg = master_cfg();
	struct spool *sp;
	FILE *fp;
	pid_t pid;

	if ((pid = fork()) == -1) {
		log_warn("control: fork");
		dprintf(fd, "error cannot fork\n");
		return;
	}
	if (pid != 0)
		return;
	/* Child: no event loop, no privileges, write and exit. */
	if ((sp = spool_open(cfg->spool, 0, (uid_t)-1, (gid_t)-1, err,
	    sizeof(err))) == NULL) {
		dprintf(fd, "error spool: %s\n", err);
		_exit(1);
	}
	proc_drop_privileges(cfg->user, NULL);
	if ((fp = fdopen(fd, "w")) == NULL)
		_exit(1);
	fputs("ok\n", fp);
	control_list_queue(sp, fp, json);
	fclose(fp);
	_exit(0);
}

/* control_request - execute one request line */
static void
control_request(struct bufferevent *bev, char *line)
{
	struct evbuffer *out = bufferevent_get_output(bev);
	char msg[CFG_ERRLEN];
	int json = strstr(line, " --json") != NULL;
	char *sp = strstr(line, " --json");

	if (sp)
		*sp = '\0';
	if (strcmp(line, "status") == 0) {
		evbuffer_add_printf(out, "ok\n");
		control_status(out, json);
	} else if (strcmp(line, "queue list") == 0) {
		control_fork_list(bufferevent_getfd(bev), json);
	} else if (strcmp(line, "reload") == 0) {
		if (master_reload(msg, sizeof(msg)) == 0)
			evbuffer_add_printf(out, "ok\n%s\n", msg);
		else
			evbuffer_add_printf(out, "error %s\n", msg);
	} else {
		char clean[128];

		evbuffer_add_printf(out, "error unknown request '%s'\n",
		    log_clean(clean, sizeof(clean), line, strlen(line)));
	}
}

/* control_write_done - answer flushed: close */
static void
control_write_done(struct bufferevent *bev, void *arg)
{
	(void)arg;
	if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		bufferevent_free(bev);
}

/* control_event - peer went away */
static void
control_event(struct bufferevent *bev, short what, void *arg)
{
	(void)what;
	(void)arg;
	bufferevent_free(bev);
}

/* control_read - one request line, then answer and close */
static void
control_read(struct bufferevent *bev, void *arg)
{
	struct evbuffer *in = bufferevent_get_input(bev);
	size_t len;
	char *line;

	(void)arg;
	line = evbuffer_readln(in, &len, EVBUFFER_EOL_LF);
	if (line == NULL) {
		if (evbuffer_get_length(in) > CONTROL_MAX_REQUEST)
			bufferevent_free(bev);
		return;
	}
	bufferevent_disable(bev, EV_READ);
	control_request(bev, line);
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
	struct timeval tv = { 10, 0 };
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
	bufferevent_setcb(bev, control_read, NULL, control_event, NULL);
	bufferevent_set_timeouts(bev, &tv, &tv);
	bufferevent_enable(bev, EV_READ);
}

/* control_start - accept on the loop */
void
control_start(struct event_base *base, int fd)
{
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
