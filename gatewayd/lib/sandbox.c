/*
 * sandbox.c - seccomp filters for the children (see sandbox.h)
 *
 * The lists are system call names, resolved by libseccomp for the
 * architecture it runs on; a name that does not exist there (stat on
 * aarch64, the *32 and *64 variants on 64-bit systems) is skipped.  They
 * hold what glibc really calls behind the functions the code uses
 * (newfstatat and statx for stat, clone and clone3 for pthread_create,
 * rseq and set_robust_list in a new thread, sysinfo in qsort, prlimit64
 * in sysconf, ...) and what libevent, OpenSSL, Cyrus SASL (sasldb file,
 * saslauthd socket) and SQLite call after start-up.  They were checked
 * by running the whole test suite with SCMP_ACT_LOG as the default action:
 * the kernel's audit log (dmesg, "type=1326") names every call a list
 * lacks, and that run named none.
 *
 * Arguments are checked where it is cheap and portable: socket() only
 * for the address families of the role (another family fails with
 * EAFNOSUPPORT instead of killing), clone() only for threads (clone3,
 * whose flags a filter cannot read, fails with ENOSYS and glibc falls
 * back to clone), kill() and tgkill() only towards the process itself
 * (abort, raise).  Delivery children may clone, but not into a new
 * namespace (clone3 fails with ENOSYS for them too).
 *
 * Sanitizer builds (GW_SANITIZERS): AddressSanitizer and LeakSanitizer
 * need a few more calls (LeakSanitizer's tracer is a clone that ptraces
 * its parent at exit); they are added to the allowlists, ptrace is not
 * denied to delivery children, and clone is not restricted.  exec stays
 * forbidden where it was.
 */
#include "config.h"

#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifdef HAVE_SECCOMP
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#endif

#include "log.h"
#include "sandbox.h"

/* sandbox_is_delivery - a role of the delivery children (deny list) */
static inline int
sandbox_is_delivery(enum sandbox_role role)
{
	return role == SANDBOX_DELIVERY || role == SANDBOX_DELIVERY_EXEC;
}

/* sandbox_is_denylist - a role whose filter is a deny list */
static inline int
sandbox_is_denylist(enum sandbox_role role)
{
	return sandbox_is_delivery(role) || role == SANDBOX_RECOGNIZER ||
	    role == SANDBOX_WEB;
}

#ifdef HAVE_SECCOMP

/* Every allowlisted role: libc, memory, time, signals, events, logging. */
static const char *const sandbox_base[] = {
	"read", "write", "readv", "writev", "pread64", "pwrite64",
	"preadv", "pwritev", "preadv2", "pwritev2", "close", "close_range",
	"lseek", "_llseek", "fstat", "fstat64", "newfstatat", "fstatat64",
	"stat", "stat64", "lstat", "lstat64", "statx", "fstatfs", "fstatfs64",
	"statfs", "statfs64", "open", "openat", "openat2", "access",
	"faccessat", "faccessat2", "readlink", "readlinkat", "getcwd",
	"umask", "getdents", "getdents64",
	"mmap", "mmap2", "munmap", "mprotect", "mremap", "madvise", "brk",
	"msync", "mincore", "mlock", "munlock",
	"rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "sigreturn",
	"sigaltstack", "rt_sigpending", "rt_sigsuspend", "rt_sigtimedwait",
	"rt_sigtimedwait_time64", "sigaction", "sigprocmask", "signal",
	"exit", "exit_group", "restart_syscall",
	"getpid", "gettid", "getppid", "getuid", "geteuid", "getgid",
	"getegid", "getresuid", "getresgid", "getgroups", "getuid32",
	"geteuid32", "getgid32", "getegid32", "getresuid32", "getresgid32",
	"getgroups32", "getpgrp", "getpgid", "getsid",
	"clock_gettime", "clock_gettime64", "clock_getres",
	"clock_getres_time64", "gettimeofday", "time", "clock_nanosleep",
	"clock_nanosleep_time64", "nanosleep",
	"futex", "futex_time64", "futex_waitv", "set_robust_list",
	"get_robust_list", "set_tid_address", "rseq", "sched_yield",
	"sched_getaffinity", "membarrier", "getrandom",
	"uname", "sysinfo", "getrlimit", "ugetrlimit", "prlimit64",
	"getrusage", "times", "getpriority", "prctl", "arch_prctl",
	"epoll_create", "epoll_create1", "epoll_ctl", "epoll_wait",
	"epoll_pwait", "epoll_pwait2", "poll", "ppoll", "ppoll_time64",
	"select", "_newselect", "pselect6", "pselect6_time64",
	"eventfd", "eventfd2", "pipe", "pipe2", "timerfd_create",
	"timerfd_settime", "timerfd_gettime", "timerfd_settime64",
	"timerfd_gettime64", "fcntl", "fcntl64", "dup", "dup2", "dup3",
	"ioctl", "flock",
	"connect", "sendto", "recvfrom", "sendmsg", "recvmsg", "sendmmsg",
	"recvmmsg", "recvmmsg_time64", "send", "recv", "shutdown",
	"getsockopt", "setsockopt", "getsockname", "getpeername",
	NULL
};

/* Spool (and SQLite) files: create, write, sync, rename, link, remove. */
static const char *const sandbox_files[] = {
	"creat", "fsync", "fdatasync", "syncfs", "sync_file_range",
	"ftruncate", "ftruncate64", "fallocate", "fadvise64",
	"fadvise64_64", "unlink", "unlinkat", "rename", "renameat",
	"renameat2", "link", "linkat", "mkdir", "mkdirat", "rmdir",
	"fchmod", "fchmodat", "fchown", "fchown32", "utimensat",
	"futimesat", "utime", "utimes",
	NULL
};

/* The receiver's own: it accepts on the listeners the master passed. */
static const char *const sandbox_receiver[] = {
	"accept", "accept4", "listen",
	NULL
};

#ifdef GW_SANITIZERS
/* What the ASan/LSan/UBSan runtimes call (LSan's tracer at exit). */
static const char *const sandbox_sanitizer[] = {
	"clone", "ptrace", "wait4", "waitpid", "waitid", "kill", "tgkill",
	"tkill", "sched_setaffinity", "personality", "setrlimit",
	NULL
};
#endif

/* Delivery children: denied on top of an open filter. */
static const char *const sandbox_denied[] = {
	"execve", "execveat", "process_vm_readv", "process_vm_writev",
#ifndef GW_SANITIZERS
	"ptrace",
#endif
	"mount", "umount", "umount2", "pivot_root", "chroot", "move_mount",
	"open_tree", "fsopen", "fsconfig", "fsmount", "fspick",
	"mount_setattr", "unshare", "setns",
	"setuid", "setgid", "setreuid", "setregid", "setresuid", "setresgid",
	"setfsuid", "setfsgid", "setgroups", "setuid32", "setgid32",
	"setreuid32", "setregid32", "setresuid32", "setresgid32",
	"setfsuid32", "setfsgid32", "setgroups32", "capset",
	"bpf", "kexec_load", "kexec_file_load", "init_module",
	"finit_module", "delete_module", "perf_event_open", "keyctl",
	"add_key", "request_key", "reboot", "swapon", "swapoff", "acct",
	"settimeofday", "clock_settime", "clock_settime64", "clock_adjtime",
	"clock_adjtime64", "adjtimex", "syslog", "iopl", "ioperm",
	"personality", "userfaultfd", "quotactl", "quotactl_fd",
	"fanotify_init", "lookup_dcookie", "vhangup", "uselib", "kcmp",
	"open_by_handle_at", "name_to_handle_at", "pidfd_getfd",
	"process_madvise", "sethostname", "setdomainname", "nfsservctl",
	"io_uring_setup", "io_uring_enter", "io_uring_register",
	NULL
};

/* sandbox_rule - one rule by name; a name unknown here is skipped */
static void
sandbox_rule(scmp_filter_ctx ctx, uint32_t action, const char *name,
    unsigned int argc, const struct scmp_arg_cmp *argv)
{
	int nr, rc;

	if ((nr = seccomp_syscall_resolve_name(name)) == __NR_SCMP_ERROR)
		return;		/* newer than this libseccomp */
	rc = seccomp_rule_add_array(ctx, action, nr, argc, argv);
	if (rc < 0 && nr >= 0)
		fatalx("sandbox: cannot add the rule for %s: %s", name,
		    strerror(-rc));
}

/* sandbox_list - the same action for every name of a list */
static void
sandbox_list(scmp_filter_ctx ctx, uint32_t action,
    const char *const *names)
{
	for (; *names != NULL; names++)
		sandbox_rule(ctx, action, *names, 0, NULL);
}

/* sandbox_sockets - socket() for the given families, EAFNOSUPPORT else */
static void
sandbox_sockets(scmp_filter_ctx ctx, const int *families, size_t n)
{
	struct scmp_arg_cmp cmp;
	size_t i;

	for (i = 0; i < n; i++) {
		cmp = SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)families[i]);
		sandbox_rule(ctx, SCMP_ACT_ALLOW, "socket", 1, &cmp);
		sandbox_rule(ctx, SCMP_ACT_ALLOW, "socketpair", 1, &cmp);
	}
	/* One rule per family below the first allowed one and above it. */
	cmp = SCMP_A0(SCMP_CMP_GT, (scmp_datum_t)AF_INET6);
	sandbox_rule(ctx, SCMP_ACT_ERRNO(EAFNOSUPPORT), "socket", 1, &cmp);
	for (i = 0; i <= AF_INET6; i++) {
		size_t j;

		for (j = 0; j < n && families[j] != (int)i; j++)
			;
		if (j < n)
			continue;
		cmp = SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)i);
		sandbox_rule(ctx, SCMP_ACT_ERRNO(EAFNOSUPPORT), "socket", 1,
		    &cmp);
	}
}

/* sandbox_threads - clone for threads only, clone3 reported missing */
static void
sandbox_threads(scmp_filter_ctx ctx)
{
#ifdef GW_SANITIZERS
	(void)ctx;	/* LeakSanitizer's tracer: clone stays open */
#else
	struct scmp_arg_cmp cmp;

#if defined(__s390__) || defined(__s390x__) || defined(__CRIS__)
	cmp = SCMP_A1(SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD);
#else
	cmp = SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD);
#endif
	sandbox_rule(ctx, SCMP_ACT_ALLOW, "clone", 1, &cmp);
#endif
	sandbox_rule(ctx, SCMP_ACT_ERRNO(ENOSYS), "clone3", 0, NULL);
}

/* sandbox_no_namespaces - a delivery child makes no new namespace */
static void
sandbox_no_namespaces(scmp_filter_ctx ctx)
{
	static const scmp_datum_t flags[] = { CLONE_NEWNS, CLONE_NEWUTS,
	    CLONE_NEWIPC, CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET,
	    CLONE_NEWCGROUP };
	struct scmp_arg_cmp cmp;
	size_t i;

	for (i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
#if defined(__s390__) || defined(__s390x__) || defined(__CRIS__)
		cmp = SCMP_A1(SCMP_CMP_MASKED_EQ, flags[i], flags[i]);
#else
		cmp = SCMP_A0(SCMP_CMP_MASKED_EQ, flags[i], flags[i]);
#endif
		sandbox_rule(ctx, SCMP_ACT_KILL_PROCESS, "clone", 1, &cmp);
	}
	/* clone3's flags are out of a filter's reach: glibc falls back */
	sandbox_rule(ctx, SCMP_ACT_ERRNO(ENOSYS), "clone3", 0, NULL);
}

/* sandbox_self_signals - kill and tgkill towards this process only */
static void
sandbox_self_signals(scmp_filter_ctx ctx)
{
#ifndef GW_SANITIZERS
	struct scmp_arg_cmp cmp = SCMP_A0(SCMP_CMP_EQ,
	    (scmp_datum_t)getpid());

	sandbox_rule(ctx, SCMP_ACT_ALLOW, "kill", 1, &cmp);
	sandbox_rule(ctx, SCMP_ACT_ALLOW, "tgkill", 1, &cmp);
#else
	(void)ctx;	/* in sandbox_sanitizer */
#endif
}

/* sandbox_allowlist - the rules of the receiver or the router */
static void
sandbox_allowlist(scmp_filter_ctx ctx, enum sandbox_role role)
{
	static const int rcv_families[] = { AF_UNIX, AF_INET, AF_INET6 };
	static const int rtr_families[] = { AF_UNIX };
	static const int rtr_net_families[] = { AF_UNIX, AF_INET, AF_INET6 };

	sandbox_list(ctx, SCMP_ACT_ALLOW, sandbox_base);
	sandbox_list(ctx, SCMP_ACT_ALLOW, sandbox_files);
#ifdef GW_SANITIZERS
	sandbox_list(ctx, SCMP_ACT_ALLOW, sandbox_sanitizer);
#endif
	sandbox_threads(ctx);
	sandbox_self_signals(ctx);
	if (role == SANDBOX_RECEIVER) {
		sandbox_list(ctx, SCMP_ACT_ALLOW, sandbox_receiver);
		sandbox_sockets(ctx, rcv_families, 3);
	} else if (role == SANDBOX_ROUTER_NET)
		sandbox_sockets(ctx, rtr_net_families, 3);	/* LDAP */
	else
		sandbox_sockets(ctx, rtr_families, 1);
}

/* sandbox_deny - the deny list (with or without exec), no namespaces */
static void
sandbox_deny(scmp_filter_ctx ctx, int allow_exec)
{
	const char *const *n;

	for (n = sandbox_denied; *n != NULL; n++)
		if (!allow_exec || strncmp(*n, "execve", 6) != 0)
			sandbox_rule(ctx, SCMP_ACT_KILL_PROCESS, *n, 0, NULL);
	sandbox_no_namespaces(ctx);
}

/* sandbox_recognizer - the deny list but for exec, and no network */
static void
sandbox_recognizer(scmp_filter_ctx ctx)
{
	struct scmp_arg_cmp cmp;

	sandbox_deny(ctx, 1);
	cmp = SCMP_A0(SCMP_CMP_EQ, AF_INET);
	sandbox_rule(ctx, SCMP_ACT_ERRNO(EACCES), "socket", 1, &cmp);
	cmp = SCMP_A0(SCMP_CMP_EQ, AF_INET6);
	sandbox_rule(ctx, SCMP_ACT_ERRNO(EACCES), "socket", 1, &cmp);
}

/* sandbox_build - the role's filter, ready to load or export */
static scmp_filter_ctx
sandbox_build(enum sandbox_role role)
{
	uint32_t deflt = sandbox_is_denylist(role) ? SCMP_ACT_ALLOW :
	    SCMP_ACT_KILL_PROCESS;
	scmp_filter_ctx ctx;
	int rc;

	if ((ctx = seccomp_init(deflt)) == NULL)
		fatalx("sandbox: seccomp_init failed");
	/* Another ABI (i386 calls on x86_64) would bypass the lists. */
	if ((rc = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH,
	    SCMP_ACT_KILL_PROCESS)) < 0 ||
	    (rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 1)) < 0 ||
	    (rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1)) < 0)
		fatalx("sandbox: seccomp attributes: %s", strerror(-rc));
#if SCMP_VER_MAJOR > 2 || (SCMP_VER_MAJOR == 2 && SCMP_VER_MINOR >= 5)
	/* a binary tree: each system call checks a few rules, not every one */
	(void)seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
#endif
	if (sandbox_is_delivery(role) || role == SANDBOX_WEB)
		sandbox_deny(ctx, role == SANDBOX_DELIVERY_EXEC);
	else if (role == SANDBOX_RECOGNIZER)
		sandbox_recognizer(ctx);
	else
		sandbox_allowlist(ctx, role);
	return ctx;
}

/* The delivery children's filter, compiled once by their worker. */
static struct sock_fprog sandbox_prog;

/* sandbox_install - build and load the role's filter */
static void
sandbox_install(enum sandbox_role role)
{
	scmp_filter_ctx ctx;
	int rc;

	if (sandbox_is_delivery(role) && sandbox_prog.filter != NULL) {
		/* a child of many: no allocation, so no page of its own */
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1 ||
		    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER,
		    &sandbox_prog) == -1)
			fatal("sandbox: cannot load the %s filter",
			    sandbox_role_name(role));
		return;
	}
	ctx = sandbox_build(role);
	if ((rc = seccomp_load(ctx)) < 0)
		fatalx("sandbox: cannot load the %s filter: %s",
		    sandbox_role_name(role), strerror(-rc));
	seccomp_release(ctx);
}

/*
 * sandbox_compile - the BPF program of a role's filter, into sandbox_prog.
 * Built in a short-lived child: libseccomp's allocations would leave
 * holes in this process's heap that every child forked later fills, one
 * private page at a time.
 */
static void
sandbox_compile(enum sandbox_role role)
{
	scmp_filter_ctx ctx;
	struct stat st;
	char *buf = NULL;
	int fd, status, rc = -1;
	pid_t pid;

	if ((fd = memfd_create("gatewayd-seccomp", MFD_CLOEXEC)) == -1)
		return;
	if ((pid = fork()) == 0) {
		ctx = sandbox_build(role);
		_exit(seccomp_export_bpf(ctx, fd) == 0 ? 0 : 1);
	}
	if (pid > 0 && waitpid(pid, &status, 0) == pid &&
	    WIFEXITED(status) && WEXITSTATUS(status) == 0 &&
	    fstat(fd, &st) == 0 && st.st_size > 0 &&
	    st.st_size % sizeof(struct sock_filter) == 0 &&
	    st.st_size / sizeof(struct sock_filter) <= USHRT_MAX &&
	    (buf = malloc((size_t)st.st_size)) != NULL &&
	    pread(fd, buf, (size_t)st.st_size, 0) == st.st_size)
		rc = 0;
	close(fd);
	if (rc == -1) {
		free(buf);
		log_debug("sandbox: the %s filter is built in each child",
		    sandbox_role_name(role));
		return;
	}
	sandbox_prog.len = (unsigned short)(st.st_size /
	    sizeof(struct sock_filter));
	sandbox_prog.filter = (struct sock_filter *)buf;
}

#endif /* HAVE_SECCOMP */

/* sandbox_role_name - the role's name for log lines */
const char *
sandbox_role_name(enum sandbox_role role)
{
	switch (role) {
	case SANDBOX_RECEIVER: return "receiver";
	case SANDBOX_ROUTER:
	case SANDBOX_ROUTER_NET: return "router";
	case SANDBOX_DELIVERY:
	case SANDBOX_DELIVERY_EXEC: return "delivery children";
	case SANDBOX_RECOGNIZER: return "recognizer";
	case SANDBOX_WEB: return "web";
	}
	return "child";
}

/* sandbox_state - the line sandbox_report() and the children log */
static void
sandbox_state(enum sandbox_role role, int enabled, int debug)
{
	const char *name = sandbox_role_name(role), *how;
	char line[160];

#ifdef HAVE_SECCOMP
	how = role == SANDBOX_DELIVERY_EXEC ? "a seccomp deny list (exec "
	    "allowed: the connector runs programs)" : sandbox_is_denylist(role) ?
	    "a seccomp deny list" : "a seccomp allowlist";
#else
	how = NULL;
#endif
	if (!enabled)
		snprintf(line, sizeof(line), "sandbox: %s: no seccomp filter "
		    "(sandbox: no)", name);
	else if (how == NULL)
		snprintf(line, sizeof(line), "sandbox: %s: no seccomp filter "
		    "(not on this system)", name);
	else
		snprintf(line, sizeof(line), "sandbox: %s: %s", name, how);
	if (debug)
		log_debug("%s", line);
	else
		log_info("%s", line);
}

/* sandbox_report - one info line: is the role sandboxed? */
void
sandbox_report(enum sandbox_role role, int enabled)
{
	sandbox_state(role, enabled, 0);
}

/* sandbox_prepare - compile a role's filter before forking many (sandbox.h) */
void
sandbox_prepare(enum sandbox_role role, int enabled)
{
#ifdef HAVE_SECCOMP
	if (enabled && sandbox_is_delivery(role) && sandbox_prog.filter == NULL)
		sandbox_compile(role);
#else
	(void)role;
	(void)enabled;
#endif
}

/* sandbox_enter - the last step of a child's start-up */
void
sandbox_enter(enum sandbox_role role, int enabled, int quiet)
{
#ifdef HAVE_SECCOMP
	if (enabled)
		sandbox_install(role);
#endif
	sandbox_state(role, enabled, quiet);
}
