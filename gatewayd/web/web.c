/*
 * web.c - gatewayd-web: the self-service pages (routing sheets)
 *
 * Started by the master like the other children when the configuration
 * has a web: section.  Start-up, as root: the configuration from the
 * master, the TLS certificate and key read into memory, the listening
 * socket bound (web.address, web.port), the SASL plugins loaded; then
 * the one privilege drop to receiver_user (who may read the sasldb, as
 * the receiver does), no core dumps and no ptrace by processes of the
 * same uid (PR_SET_DUMPABLE 0: the control socket trusts this process
 * by its process ID), the spool hidden by Landlock, libmicrohttpd's
 * thread started, the seccomp deny list installed, IPC_READY.  The
 * main thread only answers the master (IPC_SHUTDOWN stops the server
 * and exits); requests are served by libmicrohttpd's thread
 * (web_http.c), which reaches the directive store only through the
 * control socket (web_ctl.h).
 */
#include "config.h"

#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <microhttpd.h>

#include "cfg.h"
#include "ipc.h"
#include "landlock.h"
#include "log.h"
#include "proc.h"
#include "sandbox.h"
#include "web.h"
#include "web_http.h"
#include "xmalloc.h"

#define WEB_PEM_MAX	(256 * 1024)
#define WEB_CONNECTIONS	256
#define WEB_PER_CLIENT	32
#define WEB_CONN_TIMEOUT 60

struct web_proc {
	struct web web;
	struct event_base *base;
	struct ipc *ipc;
	struct MHD_Daemon *mhd;
	char *cert, *key;		/* PEM in memory (key wiped at exit) */
	size_t keylen;
	int fd;				/* the listening socket */
};

/* web_read_pem - a whole PEM file (read as root), bounded */
static char *
web_read_pem(const char *path, size_t *lenp)
{
	char *buf = xcalloc(1, WEB_PEM_MAX + 1);
	size_t len = 0;
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1)
		fatal("web: %s", path);
	while ((n = read(fd, buf + len, WEB_PEM_MAX - len)) > 0)
		len += (size_t)n;
	if (n == -1)
		fatal("web: read %s", path);
	close(fd);
	if (len == 0 || len == WEB_PEM_MAX)
		fatalx("web: %s is empty or larger than %d bytes", path,
		    WEB_PEM_MAX);
	*lenp = len;
	return buf;
}

/* web_listen - bind web.address:web.port (as root, before the drop) */
static int
web_listen(const struct cfg_web *wc)
{
	struct addrinfo hints, *res;
	char port[16];
	int fd, on = 1, rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST | AI_PASSIVE;
	snprintf(port, sizeof(port), "%d", wc->port);
	if ((rc = getaddrinfo(wc->address, port, &hints, &res)) != 0)
		fatalx("web: address %s: %s", wc->address, gai_strerror(rc));
	fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	/* a restarted or reloaded web child binds while the old one drains */
	if (fd == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on)) == -1 ||
	    bind(fd, res->ai_addr, res->ai_addrlen) == -1 ||
	    listen(fd, 128) == -1)
		fatal("web: listen on %s port %d", wc->address, wc->port);
	freeaddrinfo(res);
	return fd;
}

/* web_mhd_log - libmicrohttpd's own messages into the log */
static void
web_mhd_log(void *arg, const char *fmt, va_list ap)
{
	char line[512], clean[512];

	(void)arg;
	vsnprintf(line, sizeof(line), fmt, ap);
	line[strcspn(line, "\n")] = '\0';
	log_info("web: %s", log_clean(clean, sizeof(clean), line,
	    strlen(line)));
}

/* web_start - libmicrohttpd on the listening socket, HTTPS when web.tls */
static void
web_start(struct web_proc *p)
{
	const struct cfg_web *wc = &p->web.cfg->web;
	unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;

	if (wc->tls)
		flags |= MHD_USE_TLS;
	/* the options end early (at MHD_OPTION_END) without TLS */
	p->mhd = MHD_start_daemon(flags, 0, NULL, NULL, web_http_handler,
	    &p->web, MHD_OPTION_EXTERNAL_LOGGER, web_mhd_log, NULL,
	    MHD_OPTION_LISTEN_SOCKET, p->fd,
	    MHD_OPTION_NOTIFY_COMPLETED, web_http_done, NULL,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned int)WEB_CONNECTIONS,
	    MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned int)WEB_PER_CLIENT,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)WEB_CONN_TIMEOUT,
	    wc->tls ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, p->cert,
	    MHD_OPTION_HTTPS_MEM_KEY, p->key, MHD_OPTION_END);
	if (p->mhd == NULL)
		fatalx("web: cannot start the HTTP server on %s port %d%s",
		    wc->address, wc->port, wc->tls ? " (HTTPS: check "
		    "web.tls_cert and web.tls_key)" : "");
	log_info("web: listening on %s port %d (%s)", wc->address, wc->port,
	    wc->tls ? "HTTPS" : "HTTP, for a TLS reverse proxy on loopback");
}

/* web_ipc - a frame from the master */
static void
web_ipc(struct ipc *ipc, const struct ipc_frame *f, void *arg)
{
	struct web_proc *p = arg;

	(void)ipc;
	if (f->type != IPC_SHUTDOWN)
		fatalx("unexpected %s frame from the master",
		    ipc_type_name(f->type));
	log_debug("shutting down");
	event_base_loopbreak(p->base);
}

/* web_ipc_closed - the master went away: stop */
static void
web_ipc_closed(struct ipc *ipc, void *arg)
{
	struct web_proc *p = arg;

	(void)ipc;
	p->ipc = NULL;
	event_base_loopbreak(p->base);
}

/* web_privileged - what needs root: TLS files, the socket, SASL */
static void
web_privileged(struct web_proc *p)
{
	const struct cfg_web *wc = &p->web.cfg->web;
	size_t len;

	if (wc->tls) {
		p->cert = web_read_pem(wc->tls_cert, &len);
		p->key = web_read_pem(wc->tls_key, &p->keylen);
	}
	p->fd = web_listen(wc);
	if (web_auth_init(p->web.cfg) == -1)
		fatalx("web: no SASL: logins would be impossible");
}

/* web_confine - after the drop: not traceable, no spool (hide), seccomp */
static void
web_confine(int hide)
{
	char err[512];

	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1)
		fatal("web: PR_SET_DUMPABLE");
	if (hide >= 0 && landlock_enforce(hide, err, sizeof(err)) == -1)
		fatalx("web: %s", err);
}

/* main - gatewayd-web */
int
main(int argc, char **argv)
{
	struct proc_opts opts;
	struct web_proc p;
	const struct cfg_web *wc;
	struct cfg *cfg;
	int hide;

	memset(&p, 0, sizeof(p));
	memset(&opts, 0, sizeof(opts));
	p.web.cfg = cfg = proc_child_init(argc, argv, "web", &opts);
	wc = &p.web.cfg->web;
	if (!wc->enabled)
		fatalx("web: no web: section in the configuration");
	web_privileged(&p);
	p.web.handoff = proc_fd_closed(PROC_FD_HANDOFF(0)) ? -1 :
	    PROC_FD_HANDOFF(0);
	p.web.max_upload = wc->max_upload ? wc->max_upload :
	    cfg->smtp.max_message_size / 4 * 3;
	hide = landlock_ruleset(p.web.cfg->spool, NULL, "web");
	proc_drop_privileges(p.web.cfg->receiver_user, NULL);
	web_confine(hide);
	web_sessions_init(&p.web.sessions, wc->max_sessions,
	    wc->session_lifetime, wc->idle_timeout);
	p.web.limits.max_failures = (unsigned int)wc->login_max_failures;
	p.web.limits.window = wc->login_failure_window;
	if ((p.base = event_base_new()) == NULL)
		fatalx("event_base_new failed");
	p.ipc = ipc_new(p.base, PROC_FD_IPC, web_ipc, web_ipc_closed, &p);
	if (p.ipc == NULL)
		fatalx("cannot use the master socket");
	web_start(&p);
	sandbox_enter(SANDBOX_WEB, p.web.cfg->sandbox, 0);
	if (ipc_send(p.ipc, IPC_READY, NULL, 0) == -1)
		fatalx("cannot send IPC_READY");
	event_base_dispatch(p.base);

	MHD_stop_daemon(p.mhd);
	web_sessions_free(&p.web.sessions);
	free(p.web.sent);
	if (p.key != NULL)
		explicit_bzero(p.key, p.keylen);
	free(p.key);
	free(p.cert);
	if (p.ipc != NULL)
		ipc_free(p.ipc);
	event_base_free(p.base);
	cfg_free(cfg);
	return 0;
}
