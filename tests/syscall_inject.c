/*
 * syscall_inject.c - make a running process make one system call, for
 * e2e_sandbox.py: the call is the process's own, so its seccomp filter
 * judges it as any other.
 *
 *	syscall_inject PID NR [ARG...]
 *
 * An ARG is a number, or s:TEXT for a pointer to TEXT written below the
 * process's stack pointer (below the red zone).  Prints "result N" (the
 * raw return value: -errno on failure) or "killed by signal N" and exits
 * 0; 2 on a usage error, 3 where this cannot work (not x86-64, or the
 * process is not stopped at a system call instruction), 1 on a ptrace
 * failure.
 *
 * PTRACE_SEIZE and PTRACE_INTERRUPT stop the process; its registers are
 * saved; the system call instruction it was stopped after (it waits in
 * epoll_wait, poll, read...) is executed once more with the call's
 * number and arguments (PTRACE_SINGLESTEP), orig_rax -1 so that the
 * kernel does not restart the interrupted call meanwhile; then the
 * registers and the overwritten stack words are restored and the process
 * let go, its interrupted call restarted as after any ptrace stop.  Only
 * the general registers are touched (gdb's "call" also writes the
 * extended state, which some kernels and CPUs refuse it).
 */
#include "config.h"

#include <sys/ptrace.h>
#include <sys/types.h>
#include <sys/wait.h>
#if defined(__x86_64__)
#include <sys/user.h>
#endif

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAXARGS		6
#define STACK_GAP	1024	/* bytes below rsp: past the 128-byte red zone */
#define STACK_MAX	512	/* bytes of strings at most */

static pid_t pid;

static void
die(int code, const char *what)
{
	fprintf(stderr, "syscall_inject: %s: %s\n", what, strerror(errno));
	if (pid > 0)
		(void)ptrace(PTRACE_DETACH, pid, NULL, NULL);
	exit(code);
}

#if defined(__x86_64__)
/* poke - write len bytes at addr of the tracee; its old words into save */
static void
poke(unsigned long addr, const void *buf, size_t len, long *save)
{
	size_t i, n = (len + sizeof(long) - 1) / sizeof(long);
	long w;

	for (i = 0; i < n; i++) {
		errno = 0;
		save[i] = ptrace(PTRACE_PEEKDATA, pid, addr + i * sizeof(long),
		    NULL);
		if (errno != 0)
			die(1, "PTRACE_PEEKDATA");
		w = save[i];
		memcpy(&w, (const char *)buf + i * sizeof(long),
		    len - i * sizeof(long) < sizeof(long) ?
		    len - i * sizeof(long) : sizeof(long));
		if (ptrace(PTRACE_POKEDATA, pid, addr + i * sizeof(long),
		    (void *)w) == -1)
			die(1, "PTRACE_POKEDATA");
	}
}

int
main(int argc, char **argv)
{
	struct user_regs_struct saved, regs;
	unsigned long long args[MAXARGS] = { 0 };
	char strings[STACK_MAX];
	long words[STACK_MAX / sizeof(long) + 1], text;
	size_t used = 0, len;
	unsigned long base;
	int i, status, nargs;

	if (argc < 3 || argc - 3 > MAXARGS) {
		fprintf(stderr, "usage: syscall_inject PID NR [ARG...]\n");
		return 2;
	}
	pid = (pid_t)atoi(argv[1]);
	nargs = argc - 3;
	memset(strings, 0, sizeof(strings));
	for (i = 0; i < nargs; i++) {
		if (strncmp(argv[3 + i], "s:", 2) != 0) {
			args[i] = strtoull(argv[3 + i], NULL, 0);
			continue;
		}
		len = strlen(argv[3 + i] + 2) + 1;
		if (used + len > sizeof(strings)) {
			fprintf(stderr, "syscall_inject: strings too long\n");
			return 2;
		}
		memcpy(strings + used, argv[3 + i] + 2, len);
		args[i] = used;		/* an offset until the base is known */
		used += len;
		used = (used + 7) & ~(size_t)7;
	}
	if (ptrace(PTRACE_SEIZE, pid, NULL, NULL) == -1)
		die(1, "PTRACE_SEIZE");
	if (ptrace(PTRACE_INTERRUPT, pid, NULL, NULL) == -1)
		die(1, "PTRACE_INTERRUPT");
	if (waitpid(pid, &status, __WALL) == -1 || !WIFSTOPPED(status))
		die(1, "waitpid");
	if (ptrace(PTRACE_GETREGS, pid, NULL, &saved) == -1)
		die(1, "PTRACE_GETREGS");
	/* stopped in a system call: rip is just after its 0f 05 */
	errno = 0;
	text = ptrace(PTRACE_PEEKTEXT, pid, saved.rip - 2, NULL);
	if (errno != 0 || (long long)saved.orig_rax < 0 ||
	    (text & 0xffff) != 0x050f) {
		fprintf(stderr, "syscall_inject: %d is not stopped in a system "
		    "call\n", pid);
		(void)ptrace(PTRACE_DETACH, pid, NULL, NULL);
		return 3;
	}
	base = (saved.rsp - STACK_GAP - sizeof(strings)) & ~15UL;
	if (used > 0) {
		poke(base, strings, used, words);
		for (i = 0; i < nargs; i++)
			if (strncmp(argv[3 + i], "s:", 2) == 0)
				args[i] += base;
	}
	regs = saved;
	regs.rax = strtoull(argv[2], NULL, 0);
	regs.orig_rax = (unsigned long long)-1;
	regs.rdi = args[0];
	regs.rsi = args[1];
	regs.rdx = args[2];
	regs.r10 = args[3];
	regs.r8 = args[4];
	regs.r9 = args[5];
	regs.rip = saved.rip - 2;
	if (ptrace(PTRACE_SETREGS, pid, NULL, &regs) == -1 ||
	    ptrace(PTRACE_SINGLESTEP, pid, NULL, NULL) == -1)
		die(1, "PTRACE_SETREGS/SINGLESTEP");
	if (waitpid(pid, &status, __WALL) == -1)
		die(1, "waitpid");
	if (WIFSIGNALED(status)) {
		printf("killed by signal %d\n", WTERMSIG(status));
		return 0;
	}
	if (WIFEXITED(status)) {
		printf("exited with %d\n", WEXITSTATUS(status));
		return 0;
	}
	if (ptrace(PTRACE_GETREGS, pid, NULL, &regs) == -1)
		die(1, "PTRACE_GETREGS");
	/* a SIGSYS stop: the filter's kill comes when it is delivered */
	if (WSTOPSIG(status) != SIGTRAP) {
		(void)ptrace(PTRACE_DETACH, pid, NULL,
		    (void *)(long)WSTOPSIG(status));
		printf("stopped by signal %d\n", WSTOPSIG(status));
		return 0;
	}
	printf("result %lld\n", (long long)regs.rax);
	if (used > 0)
		for (i = 0; (size_t)i < (used + sizeof(long) - 1) / sizeof(long);
		    i++)
			(void)ptrace(PTRACE_POKEDATA, pid, base + (unsigned long)i *
			    sizeof(long), (void *)words[i]);
	if (ptrace(PTRACE_SETREGS, pid, NULL, &saved) == -1)
		die(1, "PTRACE_SETREGS");
	if (ptrace(PTRACE_DETACH, pid, NULL, NULL) == -1)
		die(1, "PTRACE_DETACH");
	return 0;
}
#else
int
main(void)
{
	fprintf(stderr, "syscall_inject: x86-64 only\n");
	return 3;
}
#endif
