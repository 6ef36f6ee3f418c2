/*
 * control.h - the control socket gatewayctl talks to
 */
#ifndef GW_CONTROL_H
#define GW_CONTROL_H

#include <sys/types.h>

#include "master.h"

struct event_base;
struct cfg;
struct ipc_frame;

/* Bind the socket (refusing to steal one in use); -1 with err. */
int control_listen(const char *path, const char *admin_group, char *err, size_t errlen);
/* Start accepting on the loop. */
void control_start(struct event_base *, int fd);
void control_stop(void);
/* Start and reload: warn when log.history_file cannot be read. */
void control_log_check(const struct cfg *);
/* The counter history: a snapshot now and at each minute (control_history.c). */
void control_history_start(struct event_base *);
/* A frame from a child for the control module (stats, connector info); -1 if malformed. */
int control_child_frame(enum master_role, const char *connector,
    const struct ipc_frame *);
/* A child reported ready: send it the pause state it must start with. */
void control_child_ready(enum master_role, const char *connector);
struct spool;
/* Start-up: the pause state kept in the spool by the last run. */
void control_pause_restore(struct spool *);
/* Is receiving (ROLE_RECEIVER) or delivery by connector paused? */
int control_paused(enum master_role, const char *connector);
/* May this user log in to the web pages (web.users; none: anyone)? */
int control_web_user_allowed(const char *user);

#endif
