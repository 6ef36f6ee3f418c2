/*
 * proc.h - the start-up skeleton every gatewayd child shares
 *
 * The master fork+execs each child with a fixed descriptor layout:
 *   0 /dev/null, 1 and 2 stderr or /dev/null,
 *   PROC_FD_IPC      socket to the master,
 *   PROC_FD_CONFIG   the configuration as the master validated it,
 *   PROC_FD_LISTEN.. listening sockets (receiver only, -l count),
 *   then the hand-off socket (receiver and web child: PROC_FD_HANDOFF(n)
 *   with n the listeners, 0 for the web child; handoff.h).
 * Arguments: -c name (config name for messages), -f (foreground: log to
 * stderr), -v (verbose), -n connector (worker), -l nlisteners, -g generation,
 * -i instance (the queue ID instance, 0..255, unique among the master's
 * live children: spool.h), -P (start paused), -C (worker: check the
 * connector's settings and exit; no IPC socket then, see cfgcheck.h).
 */
#ifndef GW_PROC_H
#define GW_PROC_H

#include <sys/types.h>

#define PROC_FD_IPC	3
#define PROC_FD_CONFIG	4
#define PROC_FD_LISTEN	5
#define PROC_FD_HANDOFF(nlisteners)	(PROC_FD_LISTEN + (int)(nlisteners))

struct cfg;

struct proc_opts {
	const char *role;		/* "receiver", "router", "worker" */
	const char *config_name;
	const char *connector;		/* worker: instance name */
	int foreground;
	int verbose;
	int nlisteners;
	int generation;
	int paused;		/* -P: start paused (receiving, or delivery) */
	int check;		/* -C: check a connector's settings, then exit */
	unsigned int qid_instance;	/* -i: given to spool_qid_setup() */
};

/*
 * Parse argv, start logging, set up the queue ID generator (-i), load the
 * config from PROC_FD_CONFIG (fatal on error).
 */
struct cfg *proc_child_init(int argc, char **argv, const char *role, struct proc_opts *);
/*
 * Drop privileges when running as root, in the one fixed order: look up
 * the user, chroot (when dir is not NULL), chdir("/"), setgroups,
 * setresgid, setresuid, then verify that setuid(0) fails.  Not root:
 * developer mode, nothing changes.
 */
void proc_drop_privileges(const char *user, const char *chroot_dir);
/* Nonzero when fd is not an open descriptor. */
int proc_fd_closed(int fd);
void proc_die_with(pid_t parent, int sig);

struct event_base;
/* the event loop of a child on the message path (epoll change list) */
struct event_base *proc_event_base(void);
/*
 * Root's way into a directory an unprivileged user can write: run fn in a
 * child that dropped to user first (proc_drop_privileges, no chroot).
 * Returns fn's result (0 or -1), -1 when the child could not run or died.
 * Without root, fn runs in a child all the same.
 */
int proc_run_as(const char *user, int (*fn)(void *), void *arg);
/* Path of a sibling executable in the libexec directory. */
const char *proc_libexec_path(const char *name, char *buf, size_t len);

#endif
