/*
 * smtp_io.c - socket and TLS I/O of the smtp connector, with deadlines
 *
 * The socket is non-blocking; every call waits with poll(2) for at most
 * its timeout (seconds, measured from the call), so a server that stops
 * answering costs one timeout, never a hang.  Writes are buffered and go
 * out in as few segments as possible (the end of data travels with the
 * last body bytes when they fit in the buffer; TCP_NODELAY is set as well,
 * see DESIGN.md on the delayed-ACK stall); a write larger than the buffer
 * goes out with what it holds, from the caller's memory, so the buffer
 * stays small in a deliverer that sends large messages.  Reply lines are capped at SMTP_REPLY_LINE_MAX.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/uio.h>

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "smtp.h"

#define SMTP_IO_WBUF_MAX	(16 * 1024)	/* a power of two */

/* smtp_io_now_ms - monotonic milliseconds */
static long long
smtp_io_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* smtp_io_wait - poll for events until the deadline; -1 with err */
static int
smtp_io_wait(struct smtp_io *io, short events, long long deadline,
    const char *what)
{
	struct pollfd pfd;
	long long left;
	int n;

	for (;;) {
		left = deadline - smtp_io_now_ms();
		if (left <= 0) {
			snprintf(io->err, sizeof(io->err), "timeout %s", what);
			return -1;
		}
		pfd.fd = io->fd;
		pfd.events = events;
		pfd.revents = 0;
		n = poll(&pfd, 1, left > 60000 ? 60000 : (int)left);
		if (n > 0)
			return 0;
		if (n == -1 && errno != EINTR) {
			snprintf(io->err, sizeof(io->err), "poll: %s",
			    strerror(errno));
			return -1;
		}
	}
}

/* smtp_io_init - an unconnected io */
void
smtp_io_init(struct smtp_io *io)
{
	memset(io, 0, sizeof(*io));
	io->fd = -1;
}

/* smtp_io_connect - non-blocking connect with a timeout */
int
smtp_io_connect(struct smtp_io *io, const struct sockaddr *sa, socklen_t salen,
    int timeout)
{
	long long deadline = smtp_io_now_ms() + (long long)timeout * 1000;
	socklen_t len = sizeof(int);
	int one = 1, soerr = 0;

	io->fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (io->fd == -1) {
		snprintf(io->err, sizeof(io->err), "socket: %s",
		    strerror(errno));
		return -1;
	}
	(void)setsockopt(io->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(io->fd, sa, salen) == -1) {
		if (errno != EINPROGRESS) {
			snprintf(io->err, sizeof(io->err), "connect: %s",
			    strerror(errno));
			goto fail;
		}
		if (smtp_io_wait(io, POLLOUT, deadline, "connecting") == -1)
			goto fail;
		if (getsockopt(io->fd, SOL_SOCKET, SO_ERROR, &soerr,
		    &len) == -1 || soerr != 0) {
			snprintf(io->err, sizeof(io->err), "connect: %s",
			    strerror(soerr ? soerr : errno));
			goto fail;
		}
	}
	return 0;
fail:
	close(io->fd);
	io->fd = -1;
	return -1;
}

/* smtp_io_tls_err - describe a TLS failure */
static void
smtp_io_tls_err(struct smtp_io *io, const char *what)
{
	unsigned long e = ERR_get_error();
	char buf[200];

	if (e != 0) {
		ERR_error_string_n(e, buf, sizeof(buf));
		snprintf(io->err, sizeof(io->err), "%s: %s", what, buf);
	} else
		snprintf(io->err, sizeof(io->err), "%s: %s", what,
		    errno ? strerror(errno) : "connection closed");
	ERR_clear_error();
}

/*
 * smtp_io_sent - after a send(2) that returned n: 1 when it sent bytes, 0
 * when it waited for room, -1 (io->err) on an error or at the deadline
 */
static int
smtp_io_sent(struct smtp_io *io, ssize_t n, long long deadline)
{
	if (n > 0)
		return 1;
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return smtp_io_wait(io, POLLOUT, deadline, "writing") == -1 ?
		    -1 : 0;
	snprintf(io->err, sizeof(io->err), "write: %s", strerror(errno));
	return -1;
}

/* smtp_io_raw_write - write all of buf before the deadline */
static int
smtp_io_raw_write(struct smtp_io *io, const char *buf, size_t len,
    long long deadline)
{
	ssize_t n;
	int rc;

	while (len > 0) {
		if (io->ssl != NULL) {
			ERR_clear_error();
			rc = SSL_write(io->ssl, buf, len > 65536 ? 65536 :
			    (int)len);
			if (rc > 0) {
				buf += rc;
				len -= (size_t)rc;
				continue;
			}
			rc = SSL_get_error(io->ssl, rc);
			if (rc != SSL_ERROR_WANT_READ &&
			    rc != SSL_ERROR_WANT_WRITE) {
				smtp_io_tls_err(io, "TLS write");
				return -1;
			}
			if (smtp_io_wait(io, rc == SSL_ERROR_WANT_READ ?
			    POLLIN : POLLOUT, deadline, "writing") == -1)
				return -1;
			continue;
		}
		n = send(io->fd, buf, len, MSG_NOSIGNAL);
		if ((rc = smtp_io_sent(io, n, deadline)) == -1)
			return -1;
		if (rc == 1) {
			buf += n;
			len -= (size_t)n;
		}
	}
	return 0;
}

/* smtp_io_flush - write out the buffer */
int
smtp_io_flush(struct smtp_io *io, int timeout)
{
	long long deadline = smtp_io_now_ms() + (long long)timeout * 1000;
	int rc;

	rc = smtp_io_raw_write(io, io->wbuf, io->wlen, deadline);
	io->wlen = 0;
	return rc;
}

/*
 * smtp_io_write_both - the buffer and then buf, from where they are: one
 * sendmsg(2) for both on a plain connection, a TLS record each under TLS
 */
static int
smtp_io_write_both(struct smtp_io *io, const char *buf, size_t len,
    long long deadline)
{
	struct iovec iov[2];
	struct msghdr mh;
	size_t skip;
	ssize_t n;
	int rc;

	if (io->ssl != NULL || io->wlen == 0) {
		if (smtp_io_raw_write(io, io->wbuf, io->wlen, deadline) == -1)
			return -1;
		io->wlen = 0;
		return smtp_io_raw_write(io, buf, len, deadline);
	}
	memset(&mh, 0, sizeof(mh));
	for (skip = 0; skip < io->wlen + len; ) {
		mh.msg_iov = iov;
		if (skip < io->wlen) {
			iov[0].iov_base = io->wbuf + skip;
			iov[0].iov_len = io->wlen - skip;
			iov[1].iov_base = (void *)buf;
			iov[1].iov_len = len;
			mh.msg_iovlen = 2;
		} else {
			iov[0].iov_base = (void *)(buf + (skip - io->wlen));
			iov[0].iov_len = len - (skip - io->wlen);
			mh.msg_iovlen = 1;
		}
		n = sendmsg(io->fd, &mh, MSG_NOSIGNAL);
		if ((rc = smtp_io_sent(io, n, deadline)) == -1)
			return -1;
		if (rc == 1)
			skip += (size_t)n;
	}
	io->wlen = 0;
	return 0;
}

/*
 * smtp_io_write - queue bytes; what would not fit in the buffer goes out at
 * once with what it holds, without a copy, so the buffer stays at
 * SMTP_IO_WBUF_MAX (commands, and the body of a small message with its
 * final dot) and a large body travels from the caller's chunk
 */
int
smtp_io_write(struct smtp_io *io, const void *buf, size_t len, int timeout)
{
	size_t cap;
	char *p;

	if (io->wlen + len > SMTP_IO_WBUF_MAX)
		return smtp_io_write_both(io, buf, len, smtp_io_now_ms() +
		    (long long)timeout * 1000);
	if (io->wlen + len > io->wcap) {
		cap = io->wcap ? io->wcap : 4096;
		while (cap < io->wlen + len)
			cap *= 2;
		if ((p = realloc(io->wbuf, cap)) == NULL) {
			snprintf(io->err, sizeof(io->err), "out of memory");
			return -1;
		}
		io->wbuf = p;
		io->wcap = cap;
	}
	memcpy(io->wbuf + io->wlen, buf, len);
	io->wlen += len;
	return 0;
}

/* smtp_io_vprintf - queue a formatted command line (va_list) */
int
smtp_io_vprintf(struct smtp_io *io, int timeout, const char *fmt, va_list ap)
{
	char line[4096];
	int n;

	n = vsnprintf(line, sizeof(line), fmt, ap);
	if (n < 0 || (size_t)n >= sizeof(line)) {
		snprintf(io->err, sizeof(io->err), "command too long");
		return -1;
	}
	return smtp_io_write(io, line, (size_t)n, timeout);
}

/* smtp_io_printf - queue a formatted command line */
int
smtp_io_printf(struct smtp_io *io, int timeout, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = smtp_io_vprintf(io, timeout, fmt, ap);
	va_end(ap);
	return r;
}

/* smtp_io_fill - read more bytes into rbuf before the deadline */
static int
smtp_io_fill(struct smtp_io *io, long long deadline)
{
	ssize_t n;
	int rc;

	if (io->rpos > 0) {
		memmove(io->rbuf, io->rbuf + io->rpos, io->rlen - io->rpos);
		io->rlen -= io->rpos;
		io->rpos = 0;
	}
	for (;;) {
		if (io->ssl != NULL) {
			ERR_clear_error();
			rc = SSL_read(io->ssl, io->rbuf + io->rlen,
			    (int)(sizeof(io->rbuf) - io->rlen));
			if (rc > 0) {
				io->rlen += (size_t)rc;
				return 0;
			}
			rc = SSL_get_error(io->ssl, rc);
			if (rc == SSL_ERROR_WANT_READ ||
			    rc == SSL_ERROR_WANT_WRITE) {
				if (smtp_io_wait(io, rc == SSL_ERROR_WANT_READ ?
				    POLLIN : POLLOUT, deadline,
				    "waiting for a reply") == -1)
					return -1;
				continue;
			}
			if (rc == SSL_ERROR_ZERO_RETURN)
				snprintf(io->err, sizeof(io->err),
				    "connection closed by the server");
			else
				smtp_io_tls_err(io, "TLS read");
			return -1;
		}
		n = recv(io->fd, io->rbuf + io->rlen,
		    sizeof(io->rbuf) - io->rlen, 0);
		if (n > 0) {
			io->rlen += (size_t)n;
			return 0;
		}
		if (n == 0) {
			snprintf(io->err, sizeof(io->err),
			    "connection closed by the server");
			return -1;
		}
		if (errno != EAGAIN && errno != EINTR) {
			snprintf(io->err, sizeof(io->err), "read: %s",
			    strerror(errno));
			return -1;
		}
		if (smtp_io_wait(io, POLLIN, deadline,
		    "waiting for a reply") == -1)
			return -1;
	}
}

/* smtp_io_line - the next line (CRLF or LF stripped); -1 with err */
static int
smtp_io_line(struct smtp_io *io, const char **line, size_t *len,
    long long deadline)
{
	char *nl;
	size_t n;

	for (;;) {
		nl = memchr(io->rbuf + io->rpos, '\n', io->rlen - io->rpos);
		if (nl != NULL) {
			n = (size_t)(nl - (io->rbuf + io->rpos));
			if (n + 1 > SMTP_REPLY_LINE_MAX)
				break;
			*line = io->rbuf + io->rpos;
			*len = n > 0 && nl[-1] == '\r' ? n - 1 : n;
			io->rpos += n + 1;
			return 0;
		}
		if (io->rlen - io->rpos >= SMTP_REPLY_LINE_MAX)
			break;
		if (smtp_io_fill(io, deadline) == -1)
			return -1;
	}
	snprintf(io->err, sizeof(io->err), "reply line longer than %d bytes",
	    SMTP_REPLY_LINE_MAX);
	return -1;
}

/* smtp_io_reply - read one whole reply */
int
smtp_io_reply(struct smtp_io *io, struct smtp_reply *r, struct smtp_caps *caps,
    int timeout)
{
	long long deadline = smtp_io_now_ms() + (long long)timeout * 1000;
	const char *line, *why;
	size_t len;
	int rc;

	smtp_reply_init(r);
	if (caps != NULL)
		memset(caps, 0, sizeof(*caps));
	do {
		if (smtp_io_line(io, &line, &len, deadline) == -1)
			return -1;
		if ((rc = smtp_reply_line(r, line, len, caps, &why)) == -1) {
			snprintf(io->err, sizeof(io->err), "malformed reply: %s",
			    why);
			return -1;
		}
	} while (rc == 0);
	return 0;
}

/*
 * smtp_io_verified - after the handshake: did the chain verify against the
 * CA and the host name match?  Sets io->verified, or io->verify_err
 */
static void
smtp_io_verified(struct smtp_io *io, int name_set)
{
	long vr = SSL_get_verify_result(io->ssl);

	if (SSL_get0_peer_certificate(io->ssl) == NULL)
		vr = X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT;
	io->verified = vr == X509_V_OK && name_set;
	if (vr != X509_V_OK)
		snprintf(io->verify_err, sizeof(io->verify_err), "%s",
		    X509_verify_cert_error_string(vr));
	else if (!name_set)
		snprintf(io->verify_err, sizeof(io->verify_err),
		    "no host name to check");
}

/*
 * smtp_io_starttls - TLS handshake on the connected socket.  The chain
 * and the host name are always checked (io->verified says the outcome);
 * with verify, a failed check fails the handshake.
 */
int
smtp_io_starttls(struct smtp_io *io, SSL_CTX *ctx, const char *sni,
    const char *verify_name, int verify, int timeout)
{
	long long deadline = smtp_io_now_ms() + (long long)timeout * 1000;
	int rc, name_set = 0;

	if (io->rpos != io->rlen) {
		snprintf(io->err, sizeof(io->err),
		    "unexpected data after the STARTTLS reply");
		return -1;
	}
	if ((io->ssl = SSL_new(ctx)) == NULL ||
	    SSL_set_fd(io->ssl, io->fd) != 1) {
		smtp_io_tls_err(io, "TLS setup");
		return -1;
	}
	if (sni != NULL && sni[0] != '\0')
		(void)SSL_set_tlsext_host_name(io->ssl, sni);
	if (verify_name != NULL && verify_name[0] != '\0') {
		SSL_set_hostflags(io->ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
		if (SSL_set1_host(io->ssl, verify_name) != 1) {
			smtp_io_tls_err(io, "TLS host name");
			return -1;
		}
		name_set = 1;
	}
	for (;;) {
		ERR_clear_error();
		if ((rc = SSL_connect(io->ssl)) == 1)
			break;
		rc = SSL_get_error(io->ssl, rc);
		if (rc != SSL_ERROR_WANT_READ && rc != SSL_ERROR_WANT_WRITE) {
			smtp_io_tls_err(io, "TLS handshake");
			return -1;
		}
		if (smtp_io_wait(io, rc == SSL_ERROR_WANT_READ ? POLLIN :
		    POLLOUT, deadline, "in the TLS handshake") == -1)
			return -1;
	}
	smtp_io_verified(io, name_set);
	if (verify && !io->verified) {
		snprintf(io->err, sizeof(io->err), "TLS certificate "
		    "verification failed: %s", io->verify_err);
		return -1;
	}
	return 0;
}

/* smtp_io_alive - no EOF and nothing unsolicited on an idle session */
int
smtp_io_alive(struct smtp_io *io)
{
	struct pollfd pfd;

	if (io->fd == -1 || io->rpos != io->rlen)
		return 0;
	if (io->ssl != NULL && SSL_pending(io->ssl) > 0)
		return 0;
	pfd.fd = io->fd;
	pfd.events = POLLIN;
	pfd.revents = 0;
	if (poll(&pfd, 1, 0) != 0)
		return 0;	/* EOF, an error or an unsolicited reply */
	return 1;
}

/* smtp_io_close - drop the connection (no SMTP QUIT here) */
void
smtp_io_close(struct smtp_io *io)
{
	if (io->ssl != NULL) {
		SSL_set_quiet_shutdown(io->ssl, 1);
		SSL_free(io->ssl);
	}
	if (io->fd != -1)
		close(io->fd);
	free(io->wbuf);
	smtp_io_init(io);
}
