/*
 * master.h - the master process: supervision of the children
 */
#ifndef GW_MASTER_H
#define GW_MASTER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

enum master_role { ROLE_RECEIVER, ROLE_ROUTER, ROLE_WORKER, ROLE_RECOGNIZER,
	ROLE_WEB };

struct master_child {
	enum master_role role;
	char *connector;		/* worker: instance name */
	pid_t pid;			/* 0 when not running */
	struct ipc *ipc;
	int ready;
	int generation;
	int qid_instance;		/* -i of the running child (spool.h) */
	int retired;			/* old generation, shutting down */
	int disabled;			/* exited with EX_CONFIG: wait for a reload */
	time_t started;
	time_t first_started;
	unsigned int restarts;
	unsigned int backoff;		/* seconds before the next restart */
	struct event *restart_ev;
	int rejected;			/* broke the IPC protocol: being killed */
	time_t ipc_window;		/* second the counts below are for */
	unsigned long ipc_frames;	/* frames received in that second */
	size_t ipc_bytes;		/* and their bytes */
	int handoff;			/* receiver, web: hand-off socket (handoff.h), -1 */
	struct event *handoff_ev;	/* web: its records readable */
	struct master_child *next;
};

/* Read-only view for the control socket. */
const struct master_child *master_children(void);
const struct cfg *master_cfg(void);
const char *master_role_name(enum master_role);
time_t master_started(void);
/* Send a frame to the running child of that role (worker: connector); -1 if none. */
int master_send(enum master_role, const char *connector, uint32_t type,
    const void *data, size_t len);
/* Kill a child that broke the protocol (logged with why). */
void master_child_reject(struct master_child *, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* master_handoff.c: web submissions handed to the receiver (handoff.h) */
struct event_base;
/* The hand-off socketpair of a receiver or web child: the child's end, or -1. */
int master_handoff_open(struct event_base *, struct master_child *);
/* The master's end closed (the child died or was not started). */
void master_handoff_close(struct master_child *);

/* Ask for a reload (as SIGHUP); returns 0 and a message, or -1 and the reason. */
int master_reload(char *msg, size_t msglen);

#endif
