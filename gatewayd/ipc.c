/*
 * ipc.c - framed, typed, bounded messages over a socketpair (libevent)
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
#include "xmalloc.h"

struct ipc {
	struct bufferevent *bev;
	int fd;
	ipc_handler handler;
	ipc_closed closed;
	void *arg;
};

struct ipc_hdr {
	uint32_t type;
	uint32_t len;
};

static const char *ipc_names[] = {
	"none", "READY", "SHUTDOWN", "MSG_NEW", "JOB_NEW", "RECV_STATS",
	"PAUSE", "RESUME", "WORKER_STATS", "WORKER_INFO", "REQUEUE",
	"JOB_FAILED", "WORKER_STATE", "FLUSH"
};

/* ipc_type_name - a frame type for log lines */
const char *
ipc_type_name(uint32_t type)
{
	if (type >= IPC_TYPE_MAX)
		return "unknown";
	return ipc_names[type];
}

/* ipc_read_cb - decode every complete frame in the input buffer */
static void
ipc_read_cb(struct bufferevent *bev, void *arg)
{
	struct ipc *ipc = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	struct ipc_hdr hdr;
	struct ipc_frame frame;

	while (evbuffer_get_length(in) >= sizeof(hdr)) {
		evbuffer_copyout(in, &hdr, sizeof(hdr));
		if (hdr.len > IPC_MAX_PAYLOAD || hdr.type == 0 ||
		    hdr.type >= IPC_TYPE_MAX)
			fatalx("ipc: bad frame (type %u, length %u) on fd %d",
			    hdr.type, hdr.len, ipc->fd);
		if (evbuffer_get_length(in) < sizeof(hdr) + hdr.len)
			return;
		evbuffer_drain(in, sizeof(hdr));
		frame.type = hdr.type;
		frame.len = hdr.len;
		frame.data = evbuffer_pullup(in, hdr.len);
		ipc->handler(ipc, &frame, ipc->arg);
		evbuffer_drain(in, hdr.len);
	}
}

/* ipc_event_cb - EOF or error: tell the owner */
static void
ipc_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct ipc *ipc = arg;

	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
		bufferevent_disable(bev, EV_READ | EV_WRITE);
		if (ipc->closed)
			ipc->closed(ipc, ipc->arg);
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
	bufferevent_setcb(ipc->bev, ipc_read_cb, NULL, ipc_event_cb, ipc);
	bufferevent_enable(ipc->bev, EV_READ | EV_WRITE);
	return ipc;
}

/* ipc_free - close the socket and free */
void
ipc_free(struct ipc *ipc)
{
	if (ipc == NULL)
		return;
	bufferevent_free(ipc->bev);
	free(ipc);
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

/* ipc_send_strings - queue a frame of NUL-terminated strings */
int
ipc_send_strings(struct ipc *ipc, uint32_t type, const char *const *strv)
{
	char buf[IPC_MAX_PAYLOAD];
	size_t len = 0, n, i;

	for (i = 0; strv[i] != NULL; i++) {
		n = strlen(strv[i]) + 1;
		if (i >= IPC_MAX_STRINGS || len + n > sizeof(buf)) {
			errno = EMSGSIZE;
			return -1;
		}
		memcpy(buf + len, strv[i], n);
		len += n;
	}
	return ipc_send(ipc, type, buf, len);
}

/* ipc_pending - bytes not yet written */
size_t
ipc_pending(const struct ipc *ipc)
{
	return evbuffer_get_length(bufferevent_get_output(ipc->bev));
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

/* ipc_write_strings - one frame of strings, written with blocking writes */
int
ipc_write_strings(int fd, uint32_t type, const char *const *strv)
{
	static char buf[sizeof(struct ipc_hdr) + IPC_MAX_PAYLOAD];
	struct ipc_hdr hdr;
	size_t len = sizeof(hdr), n, i, off = 0;
	ssize_t w;

	for (i = 0; strv[i] != NULL; i++) {
		n = strlen(strv[i]) + 1;
		if (i >= IPC_MAX_STRINGS || len + n > sizeof(buf)) {
			errno = EMSGSIZE;
			return -1;
		}
		memcpy(buf + len, strv[i], n);
		len += n;
	}
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
