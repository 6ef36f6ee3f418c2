/*
 * web_submit.c - one submission as an SMTP session (web_submit.h)
 */
#include "config.h"

#include <sys/socket.h>

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "handoff.h"
#include "web_mail.h"
#include "web_submit.h"

/* The reading end: a line buffer over the socket. */
struct web_conn {
	int fd;
	time_t deadline;
	char buf[4096];
	size_t len;
};

/* web_submit_wait - poll fd for ev until the deadline; 0 or -1 */
static int
web_submit_wait(struct web_conn *c, short ev)
{
	struct pollfd p = { c->fd, ev, 0 };
	time_t left;
	int n;

	for (;;) {
		if ((left = c->deadline - time(NULL)) <= 0)
			return -1;
		n = poll(&p, 1, (int)(left > 1 ? 1000 : left * 1000));
		if (n == -1 && errno != EINTR)
			return -1;
		if (n > 0)
			return 0;
	}
}

/* web_submit_line - one line (CRLF cut) into line; 0, or -1 */
static int
web_submit_line(struct web_conn *c, char *line, size_t linelen)
{
	char *nl;
	ssize_t n;
	size_t k;

	for (;;) {
		if ((nl = memchr(c->buf, '\n', c->len)) != NULL) {
			k = (size_t)(nl - c->buf);
			snprintf(line, linelen, "%.*s", (int)(k > 0 &&
			    c->buf[k - 1] == '\r' ? k - 1 : k), c->buf);
			memmove(c->buf, nl + 1, c->len - k - 1);
			c->len -= k + 1;
			return 0;
		}
		if (c->len == sizeof(c->buf) || web_submit_wait(c, POLLIN) == -1)
			return -1;
		n = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, 0);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		c->len += (size_t)n;
	}
}

/* web_submit_reply - a whole reply: its code, its last line in last */
static int
web_submit_reply(struct web_conn *c, char *last, size_t lastlen)
{
	char line[WEB_MAIL_REPLY_MAX];
	int code, more, lines = 0;

	c->deadline = time(NULL) + WEB_SUBMIT_TIMEOUT;
	do {
		if (++lines > 100 || web_submit_line(c, line, sizeof(line)) ==
		    -1 || web_mail_reply(line, &code, &more) == -1)
			return -1;
		snprintf(last, lastlen, "%s", line);
	} while (more);
	return code;
}

/* web_submit_write - all of buf, bounded in time; 0 or -1 */
static int
web_submit_write(struct web_conn *c, const char *buf, size_t len)
{
	ssize_t n;

	c->deadline = time(NULL) + WEB_SUBMIT_TIMEOUT;
	while (len > 0) {
		if (web_submit_wait(c, POLLOUT) == -1)
			return -1;
		n = send(c->fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n == -1 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			return -1;
		buf += n;
		len -= (size_t)n;
		c->deadline = time(NULL) + WEB_SUBMIT_TIMEOUT;
	}
	return 0;
}

/* web_submit_cmd - a command, then its reply: the code, -1 broken */
static int
web_submit_cmd(struct web_conn *c, const char *cmd, struct web_submit *s)
{
	if (cmd != NULL && web_submit_write(c, cmd, strlen(cmd)) == -1)
		return -1;
	return web_submit_reply(c, s->reply, sizeof(s->reply));
}

/* web_submit_dialog - EHLO .. the end of DATA; see web_submit() */
static int
web_submit_dialog(struct web_conn *c, const char *from, const char *rcpt,
    const char *data, size_t len, struct web_submit *s)
{
	char cmd[1200];
	int code;

	if ((code = web_submit_cmd(c, NULL, s)) != 220)
		return code == -1 ? -2 : (s->code = code, code < 500 ? -2 : -1);
	if ((code = web_submit_cmd(c, "EHLO web\r\n", s)) != 250)
		return code == -1 ? -2 : (s->code = code, -2);
	snprintf(cmd, sizeof(cmd), "MAIL FROM:<%s> SIZE=%zu\r\n", from, len);
	if ((code = web_submit_cmd(c, cmd, s)) != 250)
		return code == -1 ? -2 : (s->code = code, -1);
	snprintf(cmd, sizeof(cmd), "RCPT TO:<%s>\r\n", rcpt);
	if ((code = web_submit_cmd(c, cmd, s)) != 250 && code != 251)
		return code == -1 ? -2 : (s->code = code, -1);
	if ((code = web_submit_cmd(c, "DATA\r\n", s)) != 354)
		return code == -1 ? -2 : (s->code = code, -1);
	if (web_submit_write(c, data, len) == -1 ||
	    (code = web_submit_cmd(c, ".\r\n", s)) == -1)
		return -2;
	if (code != 250 || web_mail_qid(s->reply, s->qid, sizeof(s->qid)) == -1)
		return s->code = code, -1;
	(void)web_submit_cmd(c, "QUIT\r\n", s);
	return 0;
}

/* web_submit - hand a socket to the receiver and send (web_submit.h) */
int
web_submit(int handoff, const char *user, const char *ip, const char *from,
    const char *rcpt, const char *data, size_t len, struct web_submit *s)
{
	struct web_conn c;
	unsigned char addr[16];
	int sp[2], rc;

	memset(s, 0, sizeof(*s));
	memset(&c, 0, sizeof(c));
	/* the master refuses (and kills us for) a record it cannot take */
	if (handoff == -1 || strlen(user) > HANDOFF_USER_MAX ||
	    (inet_pton(AF_INET, ip, addr) != 1 &&
	    inet_pton(AF_INET6, ip, addr) != 1) ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) == -1) {
		snprintf(s->reply, sizeof(s->reply), "no submission channel");
		return -2;
	}
	if (handoff_send(handoff, sp[1], user, ip) == -1) {
		snprintf(s->reply, sizeof(s->reply), "the master does not take "
		    "submissions: %s", strerror(errno));
		close(sp[0]);
		close(sp[1]);
		return -2;
	}
	close(sp[1]);
	c.fd = sp[0];
	rc = web_submit_dialog(&c, from, rcpt, data, len, s);
	if (rc == -2 && s->code == 0)
		snprintf(s->reply, sizeof(s->reply), "the receiver did not "
		    "answer (not running, or the channel broke)");
	close(sp[0]);
	return rc;
}
