/*
 * pipe_run.c - run one command for the pipe connector
 *
 * The command is forked and exec'd directly (no shell unless the argv is
 * /bin/sh -c ...), in a process group of its own, with a clean
 * environment, default signal dispositions, standard output and standard
 * error on one pipe, and standard input from /dev/null, a file, or a pipe
 * the message is fed into.  The parent polls the output (keeping the
 * first output_limit bytes and reading the rest away, so the command
 * never blocks on a full pipe), feeds the input (a command that stops
 * reading is not an error: its exit status decides), and watches the
 * child through a pidfd.  At the timeout the whole process group is
 * killed; when the command has exited its group is killed as well, once
 * the output is at its end or after PIPE_RUN_GRACE seconds, so no
 * process of a delivery outlives it.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <gatewayd/connector.h>

#include "pipe.h"

#define PIPE_RUN_GRACE	2	/* seconds of output read after the exit */
#define PIPE_FEED_BUF	65536

/* The parent's side of a running command. */
struct pipe_proc {
	pid_t pid;
	int pidfd, out, in;		/* -1 once closed */
	char feed[PIPE_FEED_BUF];
	size_t feedlen, feedoff;
	int exited;
};

/* pipe_now - monotonic milliseconds */
static long long
pipe_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* pipe_child - in the child: descriptors, signals, exec; never returns */
static void __attribute__((noreturn))
pipe_child(const struct pipe_cmd *c, int in, int out)
{
	sigset_t none;
	int sig;

	(void)setpgid(0, 0);
	for (sig = 1; sig < NSIG; sig++)
		(void)signal(sig, SIG_DFL);	/* SIGPIPE was ignored */
	sigemptyset(&none);
	(void)sigprocmask(SIG_SETMASK, &none, NULL);
	if (in == -1)
		in = open("/dev/null", O_RDONLY);
	if (in == -1 || dup2(in, 0) == -1 || dup2(out, 1) == -1 ||
	    dup2(out, 2) == -1)
		_exit(71);
	(void)close_range(3, ~0U, 0);
	if (c->cwd != NULL && chdir(c->cwd) == -1 && chdir("/") == -1)
		_exit(71);
	execve(c->argv[0], c->argv, c->envp);
	/* EX_OSERR: deferred, so a wrong path costs no mail (gatewayd -n) */
	dprintf(1, "cannot execute %s: %s\n", c->argv[0], strerror(errno));
	_exit(71);
}

/* pipe_start - the pipes and the child; -1 with o->why */
static int
pipe_start(const struct pipe_cmd *c, struct pipe_proc *p,
    struct pipe_outcome *o)
{
	int outp[2], inp[2] = { -1, -1 };

	if (pipe2(outp, O_CLOEXEC) == -1) {
		snprintf(o->why, sizeof(o->why), "pipe: %s", strerror(errno));
		return -1;
	}
	if (c->msg != NULL && pipe2(inp, O_CLOEXEC) == -1) {
		snprintf(o->why, sizeof(o->why), "pipe: %s", strerror(errno));
		close(outp[0]);
		close(outp[1]);
		return -1;
	}
	if ((p->pid = fork()) == -1) {
		snprintf(o->why, sizeof(o->why), "fork: %s", strerror(errno));
		close(outp[0]);
		close(outp[1]);
		if (inp[0] != -1)
			close(inp[0]), close(inp[1]);
		return -1;
	}
	if (p->pid == 0)
		pipe_child(c, c->msg != NULL ? inp[0] : c->stdin_fd, outp[1]);
	(void)setpgid(p->pid, p->pid);	/* both sides: no race with a kill */
	close(outp[1]);
	p->out = outp[0];
	if (inp[0] != -1) {
		close(inp[0]);
		p->in = inp[1];
		(void)fcntl(p->in, F_SETFL, O_NONBLOCK);
	}
	p->pidfd = (int)syscall(SYS_pidfd_open, p->pid, 0);
	return 0;
}

/* pipe_read_out - read what is there; keep up to the limit */
static void
pipe_read_out(struct pipe_proc *p, const struct pipe_cmd *c,
    struct pipe_outcome *o)
{
	char sink[8192];
	ssize_t n;
	size_t room = c->output_limit - o->outlen;

	if (room > 0)
		n = read(p->out, o->out + o->outlen, room);
	else
		n = read(p->out, sink, sizeof(sink));
	if (n == -1 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		close(p->out);
		p->out = -1;
		return;
	}
	if (room > 0)
		o->outlen += (size_t)n;
	else
		o->truncated = 1;
	o->out[o->outlen] = '\0';
}

/*
 * pipe_feed - write the next piece of the message; close at its end.  A
 * message that cannot be read sets o->why: the command, which saw only a
 * part of it, is killed and its recipients deferred
 */
static void
pipe_feed(struct pipe_proc *p, const struct pipe_cmd *c,
    struct pipe_outcome *o)
{
	ssize_t n;

	if (p->feedoff == p->feedlen) {
		n = gw_message_read(c->msg, p->feed, sizeof(p->feed));
		if (n == -1)
			snprintf(o->why, sizeof(o->why), "cannot read the "
			    "message: %s", strerror(errno));
		if (n <= 0) {
			close(p->in);
			p->in = -1;
			return;
		}
		p->feedlen = (size_t)n;
		p->feedoff = 0;
	}
	n = write(p->in, p->feed + p->feedoff, p->feedlen - p->feedoff);
	if (n == -1 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {		/* EPIPE: the command reads no more */
		close(p->in);
		p->in = -1;
		return;
	}
	p->feedoff += (size_t)n;
}

/*
 * pipe_exited - has the child exited?  It is left a zombie (WNOWAIT), so
 * its process ID, and its group's, cannot be reused before the group is
 * killed and the child reaped (pipe_run)
 */
static void
pipe_exited(struct pipe_proc *p)
{
	siginfo_t si;

	memset(&si, 0, sizeof(si));
	if (waitid(P_PID, (id_t)p->pid, &si, WEXITED | WNOHANG | WNOWAIT) ==
	    0 && si.si_pid == p->pid)
		p->exited = 1;
	else if (errno == ECHILD)
		p->exited = 1;
}

/* pipe_reap - wait for the child; its status into o */
static void
pipe_reap(struct pipe_proc *p, struct pipe_outcome *o)
{
	while (waitpid(p->pid, &o->status, 0) == -1 && errno == EINTR)
		;
}

/* pipe_poll - one round of poll over the output, the input and the pidfd */
static void
pipe_poll(struct pipe_proc *p, const struct pipe_cmd *c,
    struct pipe_outcome *o, int wait_ms)
{
	struct pollfd pfd[3];
	nfds_t n = 0;
	int io = -1, ii = -1, ip = -1;

	if (p->out != -1)
		pfd[io = (int)n++] = (struct pollfd){ p->out, POLLIN, 0 };
	if (p->in != -1)
		pfd[ii = (int)n++] = (struct pollfd){ p->in, POLLOUT, 0 };
	if (!p->exited && p->pidfd != -1)
		pfd[ip = (int)n++] = (struct pollfd){ p->pidfd, POLLIN, 0 };
	if (!p->exited && p->pidfd == -1 && wait_ms > 100)
		wait_ms = 100;	/* no pidfd: look at the child now and then */
	if (poll(pfd, n, wait_ms) <= 0) {
		if (!p->exited)
			pipe_exited(p);
		return;
	}
	if (io != -1 && pfd[io].revents)
		pipe_read_out(p, c, o);
	if (ii != -1 && pfd[ii].revents & (POLLOUT | POLLERR | POLLHUP))
		pipe_feed(p, c, o);
	if ((ip != -1 && pfd[ip].revents) || (p->pidfd == -1 && !p->exited))
		pipe_exited(p);
}

/* pipe_run - run one command to its end or its timeout (pipe.h) */
void
pipe_run(const struct pipe_cmd *c, struct pipe_outcome *o)
{
	struct pipe_proc *p;
	long long deadline, grace = -1, now;

	memset(o, 0, sizeof(*o));
	if ((o->out = malloc(c->output_limit + 1)) == NULL ||
	    (p = calloc(1, sizeof(*p))) == NULL)
		abort();
	o->out[0] = '\0';
	p->pidfd = p->out = p->in = -1;
	if (pipe_start(c, p, o) == -1) {
		free(p);
		return;
	}
	deadline = pipe_now() + (long long)c->timeout * 1000;
	while ((now = pipe_now()) < deadline) {
		if (p->exited && grace == -1) {
			grace = now + PIPE_RUN_GRACE * 1000;
			if (p->in != -1)
				close(p->in), p->in = -1;
		}
		if ((p->exited && (p->out == -1 || now >= grace)) ||
		    o->why[0] != '\0')
			break;
		pipe_poll(p, c, o, (int)((p->exited && grace < deadline ?
		    grace : deadline) - now));
	}
	o->timed_out = !p->exited && o->why[0] == '\0';
	(void)kill(-p->pid, SIGKILL);	/* the group: strays and all */
	pipe_reap(p, o);
	if (p->out != -1)
		close(p->out);
	if (p->in != -1)
		close(p->in);
	if (p->pidfd != -1)
		close(p->pidfd);
	free(p);
}

/* pipe_outcome_free - release the output */
void
pipe_outcome_free(struct pipe_outcome *o)
{
	free(o->out);
	o->out = NULL;
}
