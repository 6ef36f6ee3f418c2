/*
 * receiver_web.c - documents sent from gatewayd-web, as SMTP sessions
 *
 * The web child hands each submission's socket to the master, which
 * passes it on here (handoff.h) with the logged-in user name and the
 * browser's address.  The socket becomes an ordinary session on the
 * pseudo-listener "web", authenticated as that user from its first
 * command, as after a successful AUTH: the same commands, RCPT-time
 * checks, limits, spool commit and log lines (client=web[IP],
 * sasl_username=USER) as a scanner's session.  The listener's settings
 * are those of the first listener that offers AUTH (else the first),
 * without TLS, PROXY or AUTH of its own: the web child did the login.
 */
#include "config.h"

#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "cfg.h"
#include "handoff.h"
#include "log.h"
#include "proc.h"
#include "receiver.h"
#include "receiver_session.h"
#include "xmalloc.h"

/* receiver_web_addr - the browser's address as a sockaddr */
static socklen_t
receiver_web_addr(const char *ip, struct sockaddr_storage *ss)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)(void *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)(void *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, ip, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		return sizeof(*sin);
	}
	if (inet_pton(AF_INET6, ip, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		return sizeof(*sin6);
	}
	return 0;
}

/* receiver_web_refuse - no session now: say why on the socket and close */
static void
receiver_web_refuse(struct receiver *r, int fd, const char *line,
    const char *user, const char *ip, const char *why)
{
	(void)!write(fd, line, strlen(line));
	close(fd);
	receiver_count(r, "connections_refused");
	log_info("reject: web submission of %s from [%s]: %s", user, ip, why);
}

/* receiver_web_take - one submission: a session for the user */
static void
receiver_web_take(struct receiver *r, int fd, const char *user,
    const char *ip)
{
	struct sockaddr_storage ss;
	socklen_t len;
	char clean[RS_LOGTEXT];

	rs_clean(clean, sizeof(clean), user);
	(void)evutil_make_socket_nonblocking(fd);
	if ((len = receiver_web_addr(ip, &ss)) == 0) {
		close(fd);
		return;
	}
	if (r->paused) {
		receiver_web_refuse(r, fd, "421 4.3.2 Service paused, try "
		    "again later\r\n", clean, ip, "receiving paused");
		return;
	}
	if (r->shutting_down || r->nsessions >= r->cfg->smtp.max_sessions) {
		receiver_web_refuse(r, fd, "421 4.3.2 Too many connections, "
		    "try again later\r\n", clean, ip, "too many sessions");
		return;
	}
	receiver_count(r, "connections");
	log_info("web submission of user=%s from [%s]", clean, ip);
	rsession_new(r, fd, (struct sockaddr *)&ss, (int)len, &r->web_listener,
	    user);
}

/* receiver_web_cb - hand-off records from the master */
static void
receiver_web_cb(evutil_socket_t sock, short what, void *arg)
{
	struct receiver *r = arg;
	char user[HANDOFF_USER_MAX + 1], ip[HANDOFF_IP_MAX + 1];
	const char *why;
	int fd, rc;

	(void)what;
	while ((rc = handoff_recv(sock, &fd, user, ip, &why)) != 0) {
		if (rc == -2) {
			event_del(r->web_ev);
			return;
		}
		if (rc == -1)
			log_warnx("hand-off from the master refused: %s", why);
		else
			receiver_web_take(r, fd, user, ip);
	}
}

/* receiver_web_listener - the pseudo-listener "web" (see the top) */
static void
receiver_web_listener(struct receiver *r)
{
	const struct cfg *cfg = r->cfg;
	const struct cfg_listener *t = &cfg->listeners[0];
	size_t i;

	for (i = 0; i < cfg->nlisteners; i++)
		if (cfg->listeners[i].auth) {
			t = &cfg->listeners[i];
			break;
		}
	r->web_lcfg = xcalloc(1, sizeof(*r->web_lcfg));
	*r->web_lcfg = *t;		/* shares the template's strings */
	r->web_lcfg->name = "web";
	r->web_lcfg->tls = CFG_TLS_NONE;
	r->web_lcfg->auth = 0;
	r->web_lcfg->proxy_protocol = 0;
	r->web_lcfg->require_auth = 0;
	r->web_lcfg->implicit_tls_detect = 0;
	r->web_listener.rcv = r;
	r->web_listener.name = "web";
	r->web_listener.cfg = r->web_lcfg;
	r->web_listener.web = 1;
}

/* receiver_web_start - watch the hand-off socket (receiver.h) */
void
receiver_web_start(struct receiver *r, int fd)
{
	if (proc_fd_closed(fd) || r->cfg->nlisteners == 0)
		return;
	receiver_web_listener(r);
	r->web_ev = event_new(r->base, fd, EV_READ | EV_PERSIST,
	    receiver_web_cb, r);
	if (r->web_ev == NULL || event_add(r->web_ev, NULL) == -1)
		fatalx("cannot watch the hand-off socket");
}
