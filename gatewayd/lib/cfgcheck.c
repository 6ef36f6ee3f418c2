/*
 * cfgcheck.c - every connector's check(), each in a throw-away worker
 *
 * See cfgcheck.h.  The child that becomes the worker drops privileges
 * before exec (proc_drop_privileges, no chroot), so the worker and the
 * connector's constructors and check() run as the gateway's user; it
 * keeps the working directory when that user may enter it (relative
 * paths in the configuration).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cfg.h"
#include "cfgcheck.h"
#include "proc.h"
#include "xmalloc.h"

/* cfgcheck_memfd - a sealed memfd holding the configuration text, or -1 */
static int
cfgcheck_memfd(const char *text, size_t len)
{
	size_t off = 0;
	ssize_t n;
	int fd;

	if ((fd = memfd_create("gatewayd.yaml", MFD_CLOEXEC |
	    MFD_ALLOW_SEALING)) == -1)
		return -1;
	while (off < len) {
		n = write(fd, text + off, len - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			close(fd);
			return -1;
		}
		off += (size_t)n;
	}
	(void)fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW |
	    F_SEAL_WRITE | F_SEAL_SEAL);
	return fd;
}

/* cfgcheck_read - the file's text (NUL-terminated), NULL with errno */
static char *
cfgcheck_read(const char *path, size_t *lenp)
{
	size_t len = 0, cap = 8192;
	char *buf;
	ssize_t n;
	int fd, e;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return NULL;
	buf = xmalloc(cap);
	while ((n = read(fd, buf + len, cap - len - 1)) != 0) {
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			e = errno;
			free(buf);
			close(fd);
			errno = e;
			return NULL;
		}
		len += (size_t)n;
		if (len + 1 == cap)
			buf = xreallocarray(buf, cap *= 2, 1);
	}
	close(fd);
	buf[len] = '\0';
	*lenp = len;
	return buf;
}

/* cfgcheck_exec - in the child: descriptors, privileges, exec the worker */
static void __attribute__((noreturn))
cfgcheck_exec(const struct cfg *cfg, const char *path, const char *name,
    int cfgfd, int outfd)
{
	char prog[4096];
	const char *argv[] = { prog, "-C", "-f", "-c", path, "-n", name, NULL };
	int devnull, cwd;

	signal(SIGPIPE, SIG_DFL);
	if (dup2(outfd, 1) == -1 || dup2(outfd, 2) == -1 ||
	    (cfgfd != PROC_FD_CONFIG && dup2(cfgfd, PROC_FD_CONFIG) == -1) ||
	    fcntl(PROC_FD_CONFIG, F_SETFD, 0) == -1)
		_exit(71);
	if ((devnull = open("/dev/null", O_RDONLY)) != -1)
		(void)dup2(devnull, 0);
	close_range(PROC_FD_CONFIG + 1, ~0U, 0);
	close(PROC_FD_IPC);
	cwd = open(".", O_PATH | O_DIRECTORY);
	if (geteuid() == 0)
		proc_drop_privileges(cfg->user, NULL);
	if (cwd != -1) {
		(void)fchdir(cwd);
		close(cwd);
	}
	proc_libexec_path("gatewayd-worker", prog, sizeof(prog));
	execv(prog, (char *const *)argv);
	/* straight to the descriptor: _exit() does not flush stdio */
	dprintf(1, "connector %s: cannot run its check %s as %s: %s\n", name,
	    prog, cfg->user, strerror(errno));
	_exit(71);
}

/* cfgcheck_collect - read the child's output until EOF or the deadline */
static int
cfgcheck_collect(int fd, char *buf, size_t cap)
{
	struct pollfd p = { fd, POLLIN, 0 };
	time_t deadline = time(NULL) + CFGCHECK_TIMEOUT;
	size_t len = 0;
	char sink[512];
	ssize_t n;
	int left;

	for (;;) {
		left = (int)(deadline - time(NULL));
		if (left <= 0 || poll(&p, 1, left * 1000) == 0) {
			buf[len] = '\0';
			return -1;
		}
		n = len + 1 < cap ? read(fd, buf + len, cap - len - 1) :
		    read(fd, sink, sizeof(sink));
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (len + 1 < cap)
			len += (size_t)n;
	}
	buf[len] = '\0';
	return 0;
}

/* cfgcheck_relay - each line of a check's output, after "prog: " */
static void
cfgcheck_relay(const char *text, const char *prog, FILE *out)
{
	const char *line, *nl;

	for (line = text; *line != '\0'; line = nl ? nl + 1 : line +
	    strlen(line)) {
		nl = strchr(line, '\n');
		fprintf(out, "%s: %.*s\n", prog, nl ? (int)(nl - line) :
		    (int)strlen(line), line);
	}
}

/* cfgcheck_one - run one instance's check; 0 valid, -1 refused */
static int
cfgcheck_one(const struct cfg *cfg, const char *path, int cfgfd,
    const struct cfg_connector *c, const char *prog, FILE *out)
{
	char buf[CFGCHECK_OUTPUT];
	int p[2], st = 0, timedout;
	pid_t pid;

	fflush(out);
	if (pipe2(p, O_CLOEXEC) == -1 || (pid = fork()) == -1) {
		fprintf(out, "%s: connector %s: cannot start its check: %s\n",
		    prog, c->name, strerror(errno));
		return -1;
	}
	if (pid == 0)
		cfgcheck_exec(cfg, path, c->name, cfgfd, p[1]);
	close(p[1]);
	timedout = cfgcheck_collect(p[0], buf, sizeof(buf));
	close(p[0]);
	if (timedout)
		kill(pid, SIGKILL);
	while (waitpid(pid, &st, 0) == -1 && errno == EINTR)
		;
	cfgcheck_relay(buf, prog, out);
	if (timedout)
		fprintf(out, "%s: connector %s: its check did not finish in "
		    "%d s\n", prog, c->name, CFGCHECK_TIMEOUT);
	else if (WIFSIGNALED(st))
		fprintf(out, "%s: connector %s: its check died of signal %d\n",
		    prog, c->name, WTERMSIG(st));
	else if (WIFEXITED(st) && WEXITSTATUS(st) != 0 && buf[0] == '\0')
		fprintf(out, "%s: connector %s: its check failed (exit %d) "
		    "without saying why\n", prog, c->name, WEXITSTATUS(st));
	return !timedout && WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

/* cfgcheck_connectors - check every instance (cfgcheck.h) */
unsigned int
cfgcheck_connectors(const struct cfg *cfg, const char *path,
    const char *text, size_t len, const char *prog, FILE *out)
{
	unsigned int bad = 0;
	char *own = NULL;
	size_t i;
	int fd;

	if (cfg->nconnectors == 0)
		return 0;
	if (text == NULL && (text = own = cfgcheck_read(path, &len)) == NULL) {
		fprintf(out, "%s: %s: %s\n", prog, path, strerror(errno));
		return (unsigned int)cfg->nconnectors;
	}
	if ((fd = cfgcheck_memfd(text, len)) == -1) {
		fprintf(out, "%s: memfd: %s\n", prog, strerror(errno));
		free(own);
		return (unsigned int)cfg->nconnectors;
	}
	for (i = 0; i < cfg->nconnectors; i++)
		if (cfgcheck_one(cfg, path, fd, &cfg->connectors[i], prog,
		    out) == -1)
			bad++;
	close(fd);
	free(own);
	return bad;
}
