/*
 * ipc.c - framed, typed, bounded messages over a socketpair (libevent)
 *
 * ipc_decode() and ipc_strings()/ipc_qids() are pure functions of their
 * bytes (tests/fuzz/fuzz_ipc.c); the rest wraps them in a bufferevent.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "ipc.h"
#include "log.h"
#include "spool.h"
#include "xmalloc.h"

struct ipc {
	struct bufferevent *bev;
	int fd;
	ipc_handler handler;
	ipc_closed closed;
	ipc_error error;
	void *arg;
	struct evbuffer_cb_entry *out_cb;
	time_t drained;		/* output last empty or shrinking */
	int busy;		/* inside a callback: free later */
	int stopped;		/* deliver no more frames */
	int freed;		/* ipc_free() called while busy */
};

struct ipc_hdr {
	uint32_t type;
	uint32_t len;
};

static const char *ipc_names[] = {
	"none", "READY", "SHUTDOWN", "MSG_NEW", "JOB_NEW", "RECV_STATS",
	"PAUSE", "RESUME", "WORKER_STATS", "WORKER_INFO", "REQUEUE",
	"JOB_FAILED", "WORKER_STATE", "FLUSH", "RECOG_REQ", "RECOG_DONE",
	"RCPT_CHECK", "RCPT_ANSWER", "DATA_CHECK", "SYNCED"
};

/* ipc_type_name - a frame type for log lines */
const char *
ipc_type_name(uint32_t type)
{
	if (type >= IPC_TYPE_MAX)
		return "unknown";
	return ipc_names[type];
}

/* ipc_decode - one frame from the start of buf: size, 0 (more) or -1 */
ssize_t
ipc_decode(const void *buf, size_t len, struct ipc_frame *f, const char **why)
{
	struct ipc_hdr hdr;

	if (len < sizeof(hdr))
		return 0;
	memcpy(&hdr, buf, sizeof(hdr));
	f->type = hdr.type;
	f->len = hdr.len;
	f->data = NULL;
	if (hdr.len > IPC_MAX_PAYLOAD) {
		*why = "frame over the size cap";
		return -1;
	}
	if (hdr.type == 0 || hdr.type >= IPC_TYPE_MAX) {
		*why = "unknown frame type";
		return -1;
	}
	if (len - sizeof(hdr) < hdr.len)
		return 0;
	f->data = (const unsigned char *)buf + sizeof(hdr);
	return (ssize_t)(sizeof(hdr) + hdr.len);
}

/* ipc_destroy - free now (no callback of this connection is running) */
static void
ipc_destroy(struct ipc *ipc)
{
	evbuffer_remove_cb_entry(bufferevent_get_output(ipc->bev), ipc->out_cb);
	bufferevent_free(ipc->bev);
	free(ipc);
}

/* ipc_bad - a bad header: stop reading, tell the owner (or die) */
static void
ipc_bad(struct ipc *ipc, const struct ipc_frame *f, const char *why)
{
	char msg[128];

	ipc_stop(ipc);
	snprintf(msg, sizeof(msg), "%s (type %u, length %u)", why,
	    (unsigned)f->type, (unsigned)f->len);
	if (ipc->error == NULL)
		fatalx("ipc: %s on fd %d", msg, ipc->fd);
	ipc->error(ipc, msg, ipc->arg);
}

/* ipc_read_cb - decode every complete frame in the input buffer */
static void
ipc_read_cb(struct bufferevent *bev, void *arg)
{
	struct ipc *ipc = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	struct ipc_frame frame;
	const char *why = NULL;
	size_t avail, want;
	ssize_t n;

	ipc->busy++;
	while (!ipc->stopped &&
	    (avail = evbuffer_get_length(in)) >= sizeof(struct ipc_hdr)) {
		/* the header first: linearise only the frame, not the backlog */
		want = sizeof(struct ipc_hdr);
		n = ipc_decode(evbuffer_pullup(in, (ssize_t)want), want,
		    &frame, &why);
		if (n != -1) {
			want += frame.len;
			if (avail < want)
				break;
			n = ipc_decode(evbuffer_pullup(in, (ssize_t)want), want,
			    &frame, &why);
		}
		if (n == -1) {
			ipc_bad(ipc, &frame, why);
			break;
		}
		ipc->handler(ipc, &frame, ipc->arg);
		evbuffer_drain(in, (size_t)n);
	}
	if (--ipc->busy == 0 && ipc->freed)
		ipc_destroy(ipc);
}

/*
 * ipc_read_rest - the peer is gone: read what its socket still holds
 * (bounded) and handle those frames now, before the owner frees ipc
 */
void
ipc_read_rest(struct ipc *ipc)
{
	struct evbuffer *in = bufferevent_get_input(ipc->bev);
	int i;

	for (i = 0; i < 16; i++)
		if (evbuffer_read(in, ipc->fd, IPC_MAX_PAYLOAD) <= 0)
			break;
	ipc_read_cb(ipc->bev, ipc);
}

/* ipc_out_cb - note when the peer reads (the output shrinks or empties) */
static void
ipc_out_cb(struct evbuffer *buf, const struct evbuffer_cb_info *info,
    void *arg)
{
	struct ipc *ipc = arg;

	(void)buf;
	if (info->n_deleted > 0 || info->orig_size == 0)
		ipc->drained = time(NULL);
}

/* ipc_event_cb - EOF or error: tell the owner */
static void
ipc_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct ipc *ipc = arg;

	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
		bufferevent_disable(bev, EV_READ | EV_WRITE);
		ipc->busy++;
		if (ipc->closed)
			ipc->closed(ipc, ipc->arg);
		if (--ipc->busy == 0 && ipc->freed)
			ipc_destroy(ipc);
	}
}

/* ipc_new - wrap a connected socket */
struct ipc *
ipc_new(struct event_base *base, int fd, ipc_handler handler,
    ipc_closed closed, void *arg)
{
	struct ipc *ipc = xcalloc(1, sizeof(*ipc));

	evutil_make_socket_nonblocking(fd);
	evutil_make_socket_closeonexec(fd);
	ipc->bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (ipc->bev == NULL)
		fatalx("ipc: bufferevent_socket_new failed");
	ipc->fd = fd;
	ipc->handler = handler;
	ipc->closed = closed;
	ipc->arg = arg;
	ipc->drained = time(NULL);
	ipc->out_cb = evbuffer_add_cb(bufferevent_get_output(ipc->bev),
	    ipc_out_cb, ipc);
	if (ipc->out_cb == NULL)
		fatalx("ipc: evbuffer_add_cb failed");
	bufferevent_setcb(ipc->bev, ipc_read_cb, NULL, ipc_event_cb, ipc);
	bufferevent_enable(ipc->bev, EV_READ | EV_WRITE);
	return ipc;
}

/* ipc_free - close the socket and free (once its callback returns) */
void
ipc_free(struct ipc *ipc)
{
	if (ipc == NULL)
		return;
	if (ipc->busy) {
		ipc_stop(ipc);
		ipc->freed = 1;
		return;
	}
	ipc_destroy(ipc);
}

/* ipc_set_error - bad frames go to cb instead of being fatal */
void
ipc_set_error(struct ipc *ipc, ipc_error cb)
{
	ipc->error = cb;
}

/* ipc_stop - read and deliver nothing more */
void
ipc_stop(struct ipc *ipc)
{
	ipc->stopped = 1;
	bufferevent_disable(ipc->bev, EV_READ);
}

/* ipc_fd - the underlying descriptor */
int
ipc_fd(const struct ipc *ipc)
{
	return ipc->fd;
}

/* ipc_send - queue one frame */
int
ipc_send(struct ipc *ipc, uint32_t type, const void *data, size_t len)
{
	struct ipc_hdr hdr;
	struct evbuffer *out = bufferevent_get_output(ipc->bev);

	if (len > IPC_MAX_PAYLOAD || type == 0 || type >= IPC_TYPE_MAX) {
		errno = EMSGSIZE;
		return -1;
	}
	hdr.type = type;
	hdr.len = (uint32_t)len;
	if (evbuffer_add(out, &hdr, sizeof(hdr)) == -1 ||
	    (len && evbuffer_add(out, data, len) == -1))
		fatalx("ipc: out of memory");
	return 0;
}

/* ipc_pack_strings - strv's strings, each NUL-terminated, into buf */
static ssize_t
ipc_pack_strings(char *buf, size_t cap, const char *const *strv)
{
	size_t len = 0, n, i;

	for (i = 0; strv[i] != NULL; i++) {
		n = strlen(strv[i]) + 1;
		if (i >= IPC_MAX_STRINGS || len + n > cap) {
			errno = EMSGSIZE;
			return -1;
		}
		memcpy(buf + len, strv[i], n);
		len += n;
	}
	return (ssize_t)len;
}

/* ipc_send_strings - queue a frame of NUL-terminated strings */
int
ipc_send_strings(struct ipc *ipc, uint32_t type, const char *const *strv)
{
	char buf[IPC_MAX_PAYLOAD];
	ssize_t len = ipc_pack_strings(buf, sizeof(buf), strv);

	return len == -1 ? -1 : ipc_send(ipc, type, buf, (size_t)len);
}

/* ipc_pending - bytes not yet written */
size_t
ipc_pending(const struct ipc *ipc)
{
	return evbuffer_get_length(bufferevent_get_output(ipc->bev));
}

/* ipc_drained - when the peer last read (or nothing was waiting) */
time_t
ipc_drained(const struct ipc *ipc)
{
	if (ipc_pending(ipc) == 0)
		return time(NULL);
	return ipc->drained;
}

/* ipc_strings - split a payload into strings; -1 if malformed */
int
ipc_strings(const struct ipc_frame *f, const char **out, size_t max)
{
	size_t off = 0, n = 0;
	const char *p;

	if (f->len == 0)
		return 0;
	if (f->data[f->len - 1] != '\0')
		return -1;
	while (off < f->len) {
		if (n >= max)
			return -1;
		p = (const char *)f->data + off;
		out[n++] = p;
		off += strlen(p) + 1;
	}
	return (int)n;
}

/* ipc_qids - [connector,] qid...: every name checked; count or -1 */
int
ipc_qids(const struct ipc_frame *f, int with_connector, const char **out,
    size_t max, const char **why)
{
	int n, i = 0;

	if ((n = ipc_strings(f, out, max)) == -1) {
		*why = "malformed strings";
		return -1;
	}
	if (n < (with_connector ? 2 : 1)) {
		*why = "no queue ID";
		return -1;
	}
	if (with_connector && !spool_name_valid(out[i++])) {
		*why = "invalid connector name";
		return -1;
	}
	for (; i < n; i++)
		if (!spool_qid_valid(out[i])) {
			*why = "invalid queue ID";
			return -1;
		}
	return n;
}

/* ipc_recog - decode a recognition request or answer strictly (ipc.h) */
int
ipc_recog(const struct ipc_frame *f, const char *out[3], const char **why)
{
	const unsigned char *p;
	int n, req = f->type == IPC_RECOG_REQ;

	out[2] = NULL;
	if ((n = ipc_strings(f, out, 3)) != (req ? 2 : 3)) {
		*why = "wrong number of strings";
		return -1;
	}
	if (!spool_qid_valid(out[0])) {
		*why = "invalid queue ID";
		return -1;
	}
	if (req && strcmp(out[1], "0") != 0 && strcmp(out[1], "1") != 0) {
		*why = "keep flag not 0 or 1";
		return -1;
	}
	if (!req && strcmp(out[1], "ok") != 0 &&
	    strcmp(out[1], "unreadable") != 0) {
		*why = "unknown status";
		return -1;
	}
	if (!req && strlen(out[2]) > IPC_RECOG_REASON_MAX) {
		*why = "reason too long";
		return -1;
	}
	for (p = (const unsigned char *)(req ? "" : out[2]); *p != '\0'; p++)
		if (*p < 0x20 || *p >= 0x7f) {
			*why = "reason not printable";
			return -1;
		}
	return 0;
}

/* ipc_synced - decode an IPC_SYNCED time strictly (ipc.h) */
int
ipc_synced(const struct ipc_frame *f, struct timespec *ts, const char **why)
{
	const char *sv[2], *p;
	long long sec = 0;
	long nsec = 0;
	int digits;

	if (ipc_strings(f, sv, 2) != 1) {
		*why = "not one string";
		return -1;
	}
	/* at most 13 digits taken: a 13th is refused below, no overflow */
	for (p = sv[0], digits = 0; digits <= 12 && *p >= '0' && *p <= '9';
	    p++, digits++)
		sec = sec * 10 + (*p - '0');
	if (digits == 0 || digits > 12 || *p++ != '.') {
		*why = "bad seconds";
		return -1;
	}
	for (digits = 0; digits <= 9 && *p >= '0' && *p <= '9'; p++, digits++)
		nsec = nsec * 10 + (*p - '0');
	if (digits != 9 || *p != '\0') {
		*why = "bad nanoseconds";
		return -1;
	}
	ts->tv_sec = (time_t)sec;
	ts->tv_nsec = nsec;
	return 0;
}

/* ipc_synced_format - the string of an IPC_SYNCED frame; -1 if too long */
int
ipc_synced_format(char *buf, size_t len, const struct timespec *ts)
{
	int n = snprintf(buf, len, "%lld.%09ld", (long long)ts->tv_sec,
	    (long)ts->tv_nsec);

	return n < 0 || (size_t)n >= len ? -1 : 0;
}

/* ipc_write_strings - one frame of strings, written with blocking writes */
int
ipc_write_strings(int fd, uint32_t type, const char *const *strv)
{
	static char buf[sizeof(struct ipc_hdr) + IPC_MAX_PAYLOAD];
	struct ipc_hdr hdr;
	size_t len, off = 0;
	ssize_t w;

	if ((w = ipc_pack_strings(buf + sizeof(hdr), IPC_MAX_PAYLOAD,
	    strv)) == -1)
		return -1;
	len = sizeof(hdr) + (size_t)w;
	if (type == 0 || type >= IPC_TYPE_MAX) {
		errno = EINVAL;
		return -1;
	}
	hdr.type = type;
	hdr.len = (uint32_t)(len - sizeof(hdr));
	memcpy(buf, &hdr, sizeof(hdr));
	while (off < len) {
		w = write(fd, buf + off, len - off);
		if (w == -1 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		off += (size_t)w;
	}
	return 0;
}
