/*
 * ipc.h - typed, bounded messages between gatewayd processes
 *
 * A frame is a 4-byte type and a 4-byte payload length (host order: both
 * ends are on this machine) followed by the payload, at most IPC_MAX_PAYLOAD
 * bytes.  A frame over the cap or of an unknown type ends the reading of
 * the connection: it is given to the owner's error callback (ipc_set_error:
 * the master, which kills the child that sent it), or is fatal when there
 * is none (a child: a bad frame from the master is the child's own fault,
 * it exits and the master restarts it).  Payloads are either empty or a
 * sequence of NUL-terminated strings; ipc_strings() refuses a payload whose
 * last string has no NUL or that holds more strings than asked for.
 *
 * A handler may call ipc_stop() or ipc_free() on its own connection: no
 * frame is delivered after that, and the memory goes once the callback
 * returns.
 */
#ifndef GW_IPC_H
#define GW_IPC_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

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
	IPC_WORKER_STATE,	/* worker -> master: "suspended" with since and reason, "delivering", or "refused" reason (before exit 78) */
	IPC_FLUSH,		/* control -> master -> worker: connector: queue retry, try at once */
	IPC_RECOG_REQ,		/* router -> master -> recognizer: qid, keep ("0"/"1") */
	IPC_RECOG_DONE,		/* recognizer -> master -> router: qid, status, reason */
	IPC_RCPT_CHECK,		/* receiver -> master -> router: id, rcpt, from, client, auth, listener */
	IPC_RCPT_ANSWER,	/* router -> master -> receiver: id, code, status, text */
	IPC_DATA_CHECK,		/* receiver -> master -> router: id, qid (receive/, end of DATA) */
	IPC_SYNCED,		/* receiver -> master -> router: "sec.nsec", a syncfs that started then worked */
	IPC_TYPE_MAX
};

struct ipc_frame {
	uint32_t type;
	uint32_t len;
	const unsigned char *data;
};

/* Header plus the largest payload: what one frame may occupy. */
#define IPC_FRAME_MAX	(8 + IPC_MAX_PAYLOAD)

struct ipc;
typedef void (*ipc_handler)(struct ipc *, const struct ipc_frame *, void *arg);
typedef void (*ipc_closed)(struct ipc *, void *arg);
/* A bad frame (why says which): reading has stopped. */
typedef void (*ipc_error)(struct ipc *, const char *why, void *arg);

/* Wrap a connected socket; handler gets each frame, closed on EOF/error. */
struct ipc *ipc_new(struct event_base *, int fd, ipc_handler, ipc_closed, void *arg);
void ipc_free(struct ipc *);
/* Report bad frames to cb instead of exiting (the master). */
void ipc_set_error(struct ipc *, ipc_error cb);
/* Deliver no more frames (the peer is being killed). */
void ipc_stop(struct ipc *);
int ipc_fd(const struct ipc *);
/* Queue a frame; 0 ok, -1 too large. */
int ipc_send(struct ipc *, uint32_t type, const void *data, size_t len);
/* Queue a frame whose payload is the strings given (NULL-terminated list). */
int ipc_send_strings(struct ipc *, uint32_t type, const char *const *strv);
/* Bytes still waiting to be written. */
size_t ipc_pending(const struct ipc *);
/* When the output was last empty or last shrank (the peer read something). */
time_t ipc_drained(const struct ipc *);
/*
 * Decode the frame at the start of buf: its whole size when complete (f
 * set, f->data pointing into buf), 0 when more bytes are needed, -1 with
 * why when the header is bad (f->type and f->len still set for the log).
 */
ssize_t ipc_decode(const void *buf, size_t len, struct ipc_frame *f,
    const char **why);
/* Split a payload into strings; returns count or -1 when malformed. */
int ipc_strings(const struct ipc_frame *, const char **out, size_t max);
/*
 * A payload of queue IDs, after a connector name when with_connector:
 * at least one ID, every name valid (spool_name_valid, spool_qid_valid).
 * Returns the number of strings (the connector included) or -1 with why.
 */
int ipc_qids(const struct ipc_frame *, int with_connector, const char **out,
    size_t max, const char **why);
/*
 * IPC_RECOG_REQ (qid, "0"|"1") or IPC_RECOG_DONE (qid, "ok"|"unreadable",
 * a printable reason of at most IPC_RECOG_REASON_MAX bytes): the strings
 * into out[3] (out[2] NULL for a request); 0, or -1 with why.
 */
#define IPC_RECOG_REASON_MAX	200
int ipc_recog(const struct ipc_frame *, const char *out[3], const char **why);
/*
 * IPC_SYNCED: one string "<seconds>.<nanoseconds>" (CLOCK_MONOTONIC, nine
 * digits of nanoseconds) into *ts; 0, or -1 with why.
 */
int ipc_synced(const struct ipc_frame *, struct timespec *ts, const char **why);
int ipc_synced_format(char *buf, size_t len, const struct timespec *ts);
const char *ipc_type_name(uint32_t type);
/* The peer exited: handle the frames its socket still holds (bounded). */
void ipc_read_rest(struct ipc *);
/* Blocking: write one frame of strings to fd (a process without a loop); 0 or -1. */
int ipc_write_strings(int fd, uint32_t type, const char *const *strv);

#endif
