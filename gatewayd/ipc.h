/*
 * ipc.h - typed, bounded messages between gatewayd processes
 *
 * A frame is a 4-byte type and a 4-byte payload length (host order: both
 * ends are on this machine) followed by the payload, at most IPC_MAX_PAYLOAD
 * bytes.  A frame over the cap or of an unknown type is fatal for the
 * connection.  Payloads are either empty or a sequence of NUL-terminated
 * strings; ipc_strings() refuses a payload whose last string has no NUL.
 */
#ifndef GW_IPC_H
#define GW_IPC_H

#include <stddef.h>
#include <stdint.h>

struct event_base;
struct bufferevent;

#define IPC_MAX_PAYLOAD	(64 * 1024)
#define IPC_MAX_STRINGS	1024

enum ipc_type {
	IPC_READY = 1,		/* child -> master: started and ready */
	IPC_SHUTDOWN,		/* master -> child: stop gracefully */
	IPC_MSG_NEW,		/* receiver -> master -> router: qid... */
	IPC_JOB_NEW,		/* router (or a worker: failover) -> master -> worker: connector, qid... */
	IPC_RECV_STATS,		/* receiver -> master: counter deltas, "key=N" strings (stats.h) */
	IPC_PAUSE,		/* master -> receiver (stop accepting mail) or worker (stop delivering) */
	IPC_RESUME,		/* master -> receiver or worker: undo IPC_PAUSE */
	IPC_WORKER_STATS,	/* worker -> master: counter deltas, "key=N" strings (stats.h) */
	IPC_WORKER_INFO,	/* worker -> master: connector name, version, ABI, path */
	IPC_REQUEUE,		/* control -> master -> router: route these held messages again: qid... */
	IPC_JOB_FAILED,		/* control -> master -> worker: connector, qid... now in failed/ (DSN due) */
	IPC_WORKER_STATE,	/* worker -> master: "suspended" with since and reason, or "delivering" */
	IPC_FLUSH,		/* control -> master -> worker: connector: queue retry, try at once */
	IPC_TYPE_MAX
};

struct ipc_frame {
	uint32_t type;
	uint32_t len;
	const unsigned char *data;
};

struct ipc;
typedef void (*ipc_handler)(struct ipc *, const struct ipc_frame *, void *arg);
typedef void (*ipc_closed)(struct ipc *, void *arg);

/* Wrap a connected socket; handler gets each frame, closed on EOF/error. */
struct ipc *ipc_new(struct event_base *, int fd, ipc_handler, ipc_closed, void *arg);
void ipc_free(struct ipc *);
int ipc_fd(const struct ipc *);
/* Queue a frame; 0 ok, -1 too large. */
int ipc_send(struct ipc *, uint32_t type, const void *data, size_t len);
/* Queue a frame whose payload is the strings given (NULL-terminated list). */
int ipc_send_strings(struct ipc *, uint32_t type, const char *const *strv);
/* Bytes still waiting to be written. */
size_t ipc_pending(const struct ipc *);
/* Split a payload into strings; returns count or -1 when malformed. */
int ipc_strings(const struct ipc_frame *, const char **out, size_t max);
const char *ipc_type_name(uint32_t type);
/* Blocking: write one frame of strings to fd (a process without a loop); 0 or -1. */
int ipc_write_strings(int fd, uint32_t type, const char *const *strv);

#endif
