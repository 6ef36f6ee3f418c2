/*
 * control_proto.h - the control request and the queue commands that both the
 * control child (master/control*.c) and gatewayctl's offline mode run
 *
 * control_queue.c (here, in the shared library) lists, shows, acts on and
 * checks queue entries from an open spool; the control child runs it in an
 * unprivileged child per request, gatewayctl runs it itself when the daemon
 * is down.
 *
 * Answers: the first line is "ok" or "error <reason>".  After "ok", a
 * line "E<exit code> <text>" reports a failure about one argument (the
 * code is a sysexits(3) value that gatewayctl exits with); any other line
 * is output.  Only "E", one to three digits and a space make such a line:
 * output that merely starts with E and a digit (a directive ID such as
 * E9FYHJSK) is output.
 */
#ifndef GW_CONTROL_PROTO_H
#define GW_CONTROL_PROTO_H

#include <stdio.h>
#include <time.h>

#define CONTROL_MAX_REQUEST	16384
#define CONTROL_MAX_ARGS	1024
/*
 * Seconds a client has to send its request, and that an answer may wait
 * for the client to read any of it, before the connection is cut
 * (gatewayctl(8)); a slow reader that keeps reading gets all of it.
 */
#define CONTROL_TIMEOUT		10

struct bufferevent;
struct evbuffer;
struct spool;

struct control_req {
	struct bufferevent *bev;
	struct evbuffer *out;
	int fd;
	int argc;			/* words after the options were taken out */
	char *argv[CONTROL_MAX_ARGS];
	int json, prometheus, body, repair;
	const char *connector, *state, *sender, *recipient;
	long older_than;		/* seconds, -1 unset */
	/*
	 * gatewayd-web acting for a logged-in user: "--as HEX" (the login
	 * name, hex like directive words), honoured only from the web
	 * child's process (control.c); as_user is the decoded name,
	 * as_admin whether that user sees everything (web.admins,
	 * admin_group).
	 */
	const char *as;
	char as_user[256];
	int as_admin;
};

/* Runs in the unprivileged child: write to fp; frames for the master on notify. */
typedef int (*control_child_fn)(const struct control_req *, struct spool *,
    FILE *fp, int notify);

/*
 * control_proto.c: is the answer line line[0..len) an "E<code> <text>"
 * line?  1 with the code and the offset of the text, else 0.
 */
int control_errline(const char *line, size_t len, int *code, size_t *text);

/* control_queue.c */
int control_queue_list(const struct control_req *, struct spool *, FILE *, int);
int control_queue_show(const struct control_req *, struct spool *, FILE *, int);
int control_queue_state(const struct control_req *, struct spool *, FILE *, int);
int control_queue_action(const struct control_req *, struct spool *, FILE *, int);
/* Unlink the files of deleted jobs waiting in trash/; the number. */
int control_queue_sweep(struct spool *);
int control_queue_check(const struct control_req *, struct spool *, FILE *, int);
/* The queue directories' sizes per state and the oldest queue ID's age. */
void control_queue_sizes(struct spool *, unsigned long sizes[], time_t *oldest);
#endif
