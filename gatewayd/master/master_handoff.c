/*
 * master_handoff.c - web submissions passed from the web child to the
 * receiver (handoff.h)
 *
 * The master holds one end of a SOCK_SEQPACKET socketpair per receiver
 * and per web child.  Only the web child's end is read: each record is
 * checked before anything is passed on (handoff_recv(): one descriptor,
 * an AF_UNIX stream socket, a strict payload), and the user must be one
 * who may log in to the pages (web.users) with web.send on, at most
 * MASTER_HANDOFF_RATE records a second.  A record that fails a check
 * costs the web child its life (master_child_reject), as a bad IPC frame
 * does.  A good one goes to the ready receiver of the current generation;
 * with none, the descriptor is closed, so the web child reads EOF on its
 * end and says the service is unavailable: nothing was queued.
 */
#include "config.h"

#include <sys/socket.h>

#include <errno.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "cfg.h"
#include "control.h"
#include "handoff.h"
#include "log.h"
#include "master.h"

#define MASTER_HANDOFF_RATE	50	/* records a second from the web child */

/* master_handoff_receiver - the ready receiver that takes submissions */
static struct master_child *
master_handoff_receiver(void)
{
	const struct master_child *c;

	for (c = master_children(); c != NULL; c = c->next)
		if (c->role == ROLE_RECEIVER && !c->retired && c->ready &&
		    c->pid != 0 && c->handoff != -1)
			return (struct master_child *)(uintptr_t)c;
	return NULL;
}

/* master_handoff_pass - a checked record: on to the receiver, or dropped */
static void
master_handoff_pass(int fd, const char *user, const char *ip)
{
	struct master_child *r = master_handoff_receiver();
	char clean[HANDOFF_USER_MAX + 1];

	log_clean(clean, sizeof(clean), user, strlen(user));
	if (r == NULL)
		log_warnx("web submission of user=%s from %s: no receiver is "
		    "ready", clean, ip);
	else if (handoff_send(r->handoff, fd, user, ip) == -1)
		log_warn("web submission of user=%s from %s: hand-off to the "
		    "receiver", clean, ip);
	else
		log_debug("web submission of user=%s from %s handed to the "
		    "receiver", clean, ip);
	close(fd);
}

/* master_handoff_flood - over MASTER_HANDOFF_RATE records this second? */
static int
master_handoff_flood(void)
{
	static time_t window;
	static unsigned int count;
	time_t now = time(NULL);

	if (now != window) {
		window = now;
		count = 0;
	}
	return ++count > MASTER_HANDOFF_RATE;
}

/* master_handoff_cb - records from the web child */
static void
master_handoff_cb(evutil_socket_t sock, short what, void *arg)
{
	struct master_child *c = arg;
	char user[HANDOFF_USER_MAX + 1], ip[HANDOFF_IP_MAX + 1];
	const char *why;
	int fd, rc;

	(void)what;
	while (!c->rejected && (rc = handoff_recv(sock, &fd, user, ip,
	    &why)) != 0) {
		if (rc == -2) {
			event_del(c->handoff_ev);
			return;
		}
		if (rc == 1 && !master_cfg()->web.send) {
			why = "web.send is off";
			close(fd);
			rc = -1;
		} else if (rc == 1 && !control_web_user_allowed(user)) {
			why = "a user who may not log in (web.users)";
			close(fd);
			rc = -1;
		} else if (rc == 1 && master_handoff_flood()) {
			why = "too many submissions a second";
			close(fd);
			rc = -1;
		}
		if (rc == -1) {
			master_child_reject(c, "bad web submission: %s", why);
			return;
		}
		master_handoff_pass(fd, user, ip);
	}
}

/* master_handoff_open - the socketpair of a receiver or web child */
int
master_handoff_open(struct event_base *base, struct master_child *c)
{
	int sp[2];

	master_handoff_close(c);
	if (c->role != ROLE_RECEIVER && c->role != ROLE_WEB)
		return -1;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) == -1) {
		log_warn("hand-off socketpair");
		return -1;
	}
	c->handoff = sp[0];
	if (c->role == ROLE_WEB) {
		c->handoff_ev = event_new(base, sp[0], EV_READ | EV_PERSIST,
		    master_handoff_cb, c);
		if (c->handoff_ev == NULL || event_add(c->handoff_ev, NULL) == -1)
			fatalx("cannot watch the web child's hand-off socket");
	}
	return sp[1];
}

/* master_handoff_close - the master's end of a child's hand-off socket */
void
master_handoff_close(struct master_child *c)
{
	if (c->handoff_ev != NULL)
		event_free(c->handoff_ev);
	c->handoff_ev = NULL;
	if (c->handoff > 0)
		close(c->handoff);
	c->handoff = -1;
}
