/*
 * control_int.h - what the parts of the control socket share
 *
 * control.c: the socket, peer check and the command table;
 * control_parse.c: the request line; control_queue.c: the queue commands, run in an unprivileged
 * child that reads and renames in the spool; control_ops.c: counters,
 * pause/resume, the connector list and what workers report.
 *
 * Answers: the first line is "ok" or "error <reason>".  After "ok", a
 * line "E<exit code> <text>" reports a failure about one argument (the
 * code is a sysexits(3) value that gatewayctl exits with); any other line
 * is output.
 */
#ifndef GW_CONTROL_INT_H
#define GW_CONTROL_INT_H

#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "master.h"

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
struct ipc_frame;

struct control_req {
	struct bufferevent *bev;
	struct evbuffer *out;
	int fd;
	int argc;			/* words after the options were taken out */
	char *argv[CONTROL_MAX_ARGS];
	int json, prometheus, body, repair;
	const char *connector, *state, *sender, *recipient;
	long older_than;		/* seconds, -1 unset */
};

/* Runs in the unprivileged child: write to fp; frames for the master on notify. */
typedef int (*control_child_fn)(const struct control_req *, struct spool *,
    FILE *fp, int notify);

/* Split a request line (modified) into req's words and options; -1 with err. */
int control_parse(struct control_req *, char *line, char *err, size_t errlen);

/* The master's effective uid (a control child has dropped it). */
extern uid_t control_master_euid;

/* Fork the child that serves a request from the spool (control.c). */
void control_fork(struct control_req *, control_child_fn, int need_spool);

/* control_directive.c: the directive store (words hex-encoded) */
int control_directive(const struct control_req *, struct spool *, FILE *, int);

/* control_queue.c */
int control_queue_list(const struct control_req *, struct spool *, FILE *, int);
int control_queue_show(const struct control_req *, struct spool *, FILE *, int);
int control_queue_action(const struct control_req *, struct spool *, FILE *, int);
int control_queue_check(const struct control_req *, struct spool *, FILE *, int);
/* The queue directories' sizes per state and the oldest queue ID's age. */
void control_queue_sizes(struct spool *, unsigned long sizes[], time_t *oldest);

/* control_ops.c */
int control_stats(const struct control_req *, struct spool *, FILE *, int);
int control_connectors(const struct control_req *, struct spool *, FILE *, int);
void control_pause(struct control_req *, int pause);
/* The whole status answer after "ok", text or JSON (textout.h). */
void control_status_write(struct evbuffer *, int json);
#endif
