/*
 * web_ctl.c - requests to the control socket for a logged-in user
 * (web_ctl.h)
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "control_proto.h"
#include "directive_cmd.h"
#include "web_ctl.h"
#include "web_html.h"
#include "xmalloc.h"

/* web_ctl_fail - set the reason of a failed exchange; -1 */
static int
web_ctl_fail(struct web_answer *a, int code, const char *why)
{
	a->ok = 0;
	a->code = code;
	snprintf(a->reason, sizeof(a->reason), "%s", why);
	return -1;
}

/* web_ctl_connect - a connection to the control socket, or -1 */
static int
web_ctl_connect(const char *path)
{
	struct sockaddr_un sun;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path))
		return -1;
	strcpy(sun.sun_path, path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

/* web_ctl_read - the whole answer into b, bounded in size and time */
static int
web_ctl_read(int fd, struct web_buf *b)
{
	struct pollfd p = { fd, POLLIN, 0 };
	time_t end = time(NULL) + WEB_CTL_TIMEOUT;
	char chunk[16384];
	ssize_t n;

	for (;;) {
		if (time(NULL) >= end)
			return -1;
		if (poll(&p, 1, 1000) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if ((p.revents & (POLLIN | POLLHUP | POLLERR)) == 0)
			continue;
		if ((n = read(fd, chunk, sizeof(chunk))) == 0)
			return 0;
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return -1;
		web_buf_add(b, chunk, (size_t)n);
		if (b->cut || b->len > WEB_CTL_MAX)
			return -1;
	}
}

/* web_ctl_answer - "ok" then lines, or "error ..."; E-lines are failures */
static int
web_ctl_answer(struct web_answer *a, char *text)
{
	size_t len, off;

	if (strncmp(text, "error ", 6) == 0) {
		text[strcspn(text, "\n")] = '\0';
		return web_ctl_fail(a, EX_UNAVAILABLE, text + 6);
	}
	if (strncmp(text, "ok\n", 3) != 0)
		return web_ctl_fail(a, EX_PROTOCOL, "malformed answer");
	memmove(text, text + 3, strlen(text + 3) + 1);
	len = strcspn(text, "\n");
	if (control_errline(text, len, &a->code, &off)) {
		text[len] = '\0';
		snprintf(a->reason, sizeof(a->reason), "%s", text + off);
		a->ok = 0;
		return -1;
	}
	a->text = text;
	a->ok = 1;
	return 0;
}

/* web_ctl_as - " --as HEX(user)" and the end of the line */
static void
web_ctl_as(struct web_buf *b, const char *user)
{
	char *hex = xcalloc(2, strlen(user) + 1);

	directive_hex(hex, user);
	web_buf_printf(b, " --as %s\n", hex);
	free(hex);
}

/* web_ctl_line - "directive HEX... --as HEX(user)\n" into b */
static void
web_ctl_line(struct web_buf *b, const char *user, int argc,
    const char *const *argv)
{
	char *hex;
	int i;

	web_buf_str(b, "directive");
	for (i = 0; i < argc; i++) {
		web_buf_str(b, " ");
		if (argv[i][0] == '\0') {
			web_buf_str(b, "=");
			continue;
		}
		hex = xcalloc(2, strlen(argv[i]) + 1);
		directive_hex(hex, argv[i]);
		web_buf_str(b, hex);
		free(hex);
	}
	web_ctl_as(b, user);
}

/* web_ctl_send - one request line, the whole answer parsed into a */
static int
web_ctl_send(const char *socket_path, struct web_buf *req,
    struct web_answer *a)
{
	struct web_buf ans = { 0 };
	char *text;
	size_t len;
	int fd, rc;

	if (req->cut || req->len > 16384) {
		web_buf_free(req);
		return web_ctl_fail(a, EX_DATAERR, "request too long");
	}
	if ((fd = web_ctl_connect(socket_path)) == -1) {
		web_buf_free(req);
		return web_ctl_fail(a, EX_UNAVAILABLE, "the control socket "
		    "does not answer");
	}
	rc = write(fd, req->data, req->len) == (ssize_t)req->len ? 0 : -1;
	web_buf_free(req);
	if (rc == -1 || web_ctl_read(fd, &ans) == -1) {
		close(fd);
		web_buf_free(&ans);
		return web_ctl_fail(a, EX_UNAVAILABLE, "no complete answer "
		    "from the control socket");
	}
	close(fd);
	text = web_buf_take(&ans, &len);
	if ((rc = web_ctl_answer(a, text)) == -1)
		free(text);
	return rc;
}

/* web_ctl_directive - one directive request for user (web_ctl.h) */
int
web_ctl_directive(const char *socket_path, const char *user, int argc,
    const char *const *argv, struct web_answer *a)
{
	struct web_buf req = { 0 };

	memset(a, 0, sizeof(*a));
	web_ctl_line(&req, user, argc, argv);
	return web_ctl_send(socket_path, &req, a);
}

/* web_ctl_word_ok - a word that needs no encoding: [A-Za-z0-9@._+:=/-] */
static int
web_ctl_word_ok(const char *w)
{
	if (*w == '\0')
		return 0;
	for (; *w != '\0'; w++)
		if (!((*w >= 'a' && *w <= 'z') || (*w >= 'A' && *w <= 'Z') ||
		    (*w >= '0' && *w <= '9') || strchr("@._+:=/-", *w) != NULL))
			return 0;
	return 1;
}

/* web_ctl_words - a request of plain words for user (web_ctl.h) */
int
web_ctl_words(const char *socket_path, const char *user, int argc,
    const char *const *argv, struct web_answer *a)
{
	struct web_buf req = { 0 };
	int i;

	memset(a, 0, sizeof(*a));
	for (i = 0; i < argc; i++) {
		if (!web_ctl_word_ok(argv[i])) {
			web_buf_free(&req);
			return web_ctl_fail(a, EX_DATAERR, "a word of the "
			    "request has characters it may not have");
		}
		web_buf_printf(&req, "%s%s", i ? " " : "", argv[i]);
	}
	web_ctl_as(&req, user);
	return web_ctl_send(socket_path, &req, a);
}

/* web_answer_free - release an answer */
void
web_answer_free(struct web_answer *a)
{
	free(a->text);
	a->text = NULL;
}
