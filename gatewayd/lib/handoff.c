/*
 * handoff.c - records of the web submission hand-off (handoff.h)
 */
#include "config.h"

#include <sys/socket.h>

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "handoff.h"
#include "net.h"

/*
 * handoff_str - one NUL-terminated string of at most max bytes, without
 * spaces or control characters (UTF-8 bytes pass, as in login names)
 */
static const char *
handoff_str(const char **p, const char *end, char *out, size_t max)
{
	const char *s = *p;
	size_t n;

	for (n = 0; s + n < end && s[n] != '\0'; n++)
		if ((unsigned char)s[n] <= ' ' || (unsigned char)s[n] == 0x7f)
			return "a string with a character it may not have";
	if (s + n == end)
		return "a string without its terminator";
	if (n == 0 || n > max)
		return "an empty or overlong string";
	memcpy(out, s, n + 1);
	*p = s + n + 1;
	return NULL;
}

/* handoff_decode - "user\0ip\0", strictly (handoff.h) */
int
handoff_decode(const char *buf, size_t len, char *user, char *ip,
    const char **why)
{
	const char *p = buf, *end = buf + len;
	unsigned char addr[16];

	if (len > HANDOFF_RECORD_MAX) {
		*why = "a record too long";
		return -1;
	}
	if ((*why = handoff_str(&p, end, user, HANDOFF_USER_MAX)) != NULL ||
	    (*why = handoff_str(&p, end, ip, HANDOFF_IP_MAX)) != NULL)
		return -1;
	if (p != end) {
		*why = "bytes after the address";
		return -1;
	}
	if (inet_pton(AF_INET, ip, addr) != 1 &&
	    inet_pton(AF_INET6, ip, addr) != 1) {
		*why = "not a numeric IP address";
		return -1;
	}
	return 0;
}

/* handoff_send - one record with its descriptor */
int
handoff_send(int sock, int fd, const char *user, const char *ip)
{
	char buf[HANDOFF_RECORD_MAX + 1];
	size_t ul = strlen(user), il = strlen(ip);
	struct iovec iov = { buf, ul + il + 2 };
	ssize_t n;

	if (ul == 0 || ul > HANDOFF_USER_MAX || il == 0 || il > HANDOFF_IP_MAX) {
		errno = EINVAL;
		return -1;
	}
	memcpy(buf, user, ul + 1);
	memcpy(buf + ul + 1, ip, il + 1);
	if ((n = net_sendfd(sock, &iov, 1, fd, MSG_NOSIGNAL |
	    MSG_DONTWAIT)) == -1)
		return -1;
	return n == (ssize_t)iov.iov_len ? 0 : (errno = EMSGSIZE, -1);
}

/* handoff_sock_ok - is fd an AF_UNIX stream socket? */
static int
handoff_sock_ok(int fd)
{
	int v;
	socklen_t len = sizeof(v);

	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &v, &len) == -1 ||
	    v != AF_UNIX)
		return 0;
	len = sizeof(v);
	return getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, &len) == 0 &&
	    v == SOCK_STREAM;
}

/* handoff_recv - one record, checked (handoff.h) */
int
handoff_recv(int sock, int *fd, char *user, char *ip, const char **why)
{
	char buf[HANDOFF_RECORD_MAX + 1];
	struct iovec iov = { buf, sizeof(buf) };
	ssize_t n;
	int count, mflags;

	n = net_recvfd(sock, &iov, 1, fd, &count, MSG_DONTWAIT, &mflags);
	if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return 0;
	if (n <= 0) {
		if (*fd != -1)
			close(*fd);
		*fd = -1;
		return -2;
	}
	*why = NULL;
	if (mflags & (MSG_TRUNC | MSG_CTRUNC))
		*why = "a truncated record";
	else if (count != 1)
		*why = "not exactly one descriptor";
	else if (!handoff_sock_ok(*fd))
		*why = "a descriptor that is not a Unix stream socket";
	if (*why != NULL || handoff_decode(buf, (size_t)n, user, ip, why) == -1) {
		if (*fd != -1)
			close(*fd);
		*fd = -1;
		return -1;
	}
	return 1;
}
