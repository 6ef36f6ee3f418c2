/*
 * control_int.h - what the parts of the control child share
 *
 * control.c: the socket, peer check and the command table;
 * control_parse.c: the request line; the queue commands are in the shared
 * library (control_proto.h, lib/control_queue.c), run in an unprivileged
 * child that reads and renames in the spool; control_ops.c: counters,
 * pause/resume, the connector list and what workers report;
 * control_directive.c: the directive store; control_web.c: who
 * gatewayd-web acts for; control_history.c: the counters of the last
 * hour; control_log.c: a message's lines of the log file.
 */
#ifndef GW_CONTROL_INT_H
#define GW_CONTROL_INT_H

#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "control_proto.h"
#include "master.h"

struct ipc_frame;
struct stats;

/* Split a request line (modified) into req's words and options; -1 with err. */
int control_parse(struct control_req *, char *line, char *err, size_t errlen);

/* The master's effective uid (a control child has dropped it). */
extern uid_t control_master_euid;

/* Fork the child that serves a request from the spool (control.c). */
void control_fork(struct control_req *, control_child_fn, int need_spool);

/* control_directive.c: the directive store (words hex-encoded) */
int control_directive(const struct control_req *, struct spool *, FILE *, int);
/* ...and its PostgreSQL store, opened in the control child before the drop */
void control_directive_prepare(const struct cfg *);

/* control_web.c: gatewayd-web's requests for its users */
int control_web_peer(int fd);
int control_web_request(struct control_req *, int web, char *err,
    size_t errlen);

/* control_ops.c */
int control_stats(const struct control_req *, struct spool *, FILE *, int);
int control_connectors(const struct control_req *, struct spool *, FILE *, int);
void control_pause(struct control_req *, int pause);
/* The whole status answer after "ok", text or JSON (textout.h). */
void control_status_write(struct evbuffer *, int json);
/* The counter totals the children reported since the start. */
const struct stats *control_totals(void);

/* control_log.c: a message's lines of log.history_file */
int control_queue_log(const struct control_req *, struct spool *, FILE *, int);
int control_queue_state_log(const struct control_req *, struct spool *, FILE *,
    int);
/* ...the file, opened in the control child before the drop */
void control_log_prepare(const struct cfg *);

/* control_history.c: the counters of the last hour, per minute */
int control_stats_history(const struct control_req *, struct spool *, FILE *,
    int);
#endif
