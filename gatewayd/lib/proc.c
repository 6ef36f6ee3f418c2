/*
 * proc.c - start-up skeleton and privilege drop shared by every child
 */
#include "config.h"

#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "cfg.h"
#include "log.h"
#include "proc.h"
#include "spool.h"
#include "version.h"
#include "xmalloc.h"

/* proc_usage - children are started by the master only */
static void __attribute__((noreturn))
proc_usage(const char *role)
{
	fprintf(stderr, "gatewayd-%s is started by gatewayd(8), not by hand\n",
	    role);
	exit(64);
}

/* The program's name for --version and --help. */
static char proc_progname[64];

/* proc_help - what a child's options are, for its --help */
static void
proc_help(FILE *fp)
{
	fprintf(fp, "usage: %s [-fvP] [-c name] [-n connector] [-l count] "
	    "[-g generation] [-i instance]\n"
	    "Started by gatewayd(8) with its socket on fd %d and the "
	    "configuration on fd %d,\nnot by hand.\n"
	    "  -c name        configuration file name for messages\n"
	    "  -f             log to stderr (the master runs in the foreground)\n"
	    "  -v             verbose logging\n"
	    "  -n connector   the connector instance (gatewayd-worker)\n"
	    "  -l count       listening sockets from fd %d on (gatewayd-receiver)\n"
	    "  -g generation  the configuration generation\n"
	    "  -i instance    the queue ID instance, 0..255\n"
	    "  -P             start paused\n"
	    "  --version      print the version and exit\n"
	    "  --help         print this help and exit\n",
	    proc_progname, PROC_FD_IPC, PROC_FD_CONFIG, PROC_FD_LISTEN);
}

/* proc_instance - the queue ID instance of -i: 0..255 */
static unsigned int
proc_instance(const char *arg, const char *role)
{
	unsigned long n;
	char *end;

	errno = 0;
	n = strtoul(arg, &end, 10);
	if (errno != 0 || end == arg || *end != '\0' || n > 0xff)
		proc_usage(role);
	return (unsigned int)n;
}

/* proc_read_config - read the configuration text the master passed */
static char *
proc_read_config(size_t *lenp)
{
	size_t len = 0, cap = 65536;
	char *buf = xmalloc(cap);
	ssize_t n;

	if (lseek(PROC_FD_CONFIG, 0, SEEK_SET) == -1 && errno != ESPIPE)
		fatal("config descriptor");
	for (;;) {
		if (len == cap) {
			if (cap >= 16 * 1024 * 1024)
				fatalx("configuration too large");
			cap *= 2;
			buf = xreallocarray(buf, cap, 1);
		}
		n = read(PROC_FD_CONFIG, buf + len, cap - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			fatal("read config descriptor");
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(PROC_FD_CONFIG);
	*lenp = len;
	return buf;
}

/* proc_child_init - parse argv, start logging, load the configuration */
struct cfg *
proc_child_init(int argc, char **argv, const char *role, struct proc_opts *o)
{
	char err[CFG_ERRLEN], tag[96];
	struct cfg *cfg;
	size_t len;
	char *text;
	int ch;

	snprintf(proc_progname, sizeof(proc_progname), "gatewayd-%s", role);
	version_options(argc, argv, proc_progname, proc_help);
	memset(o, 0, sizeof(*o));
	o->role = role;
	o->config_name = "gatewayd.yaml";
	while ((ch = getopt(argc, argv, "c:fvl:n:g:i:PC")) != -1) {
		switch (ch) {
		case 'c': o->config_name = optarg; break;
		case 'f': o->foreground = 1; break;
		case 'v': o->verbose++; break;
		case 'l': o->nlisteners = atoi(optarg); break;
		case 'n': o->connector = optarg; break;
		case 'g': o->generation = atoi(optarg); break;
		case 'P': o->paused = 1; break;
		case 'C': o->check = 1; break;
		case 'i': o->qid_instance = proc_instance(optarg, role); break;
		default: proc_usage(role);
		}
	}
	/* -C (a connector's settings check) talks to nobody: no IPC socket */
	if ((!o->check && proc_fd_closed(PROC_FD_IPC)) ||
	    proc_fd_closed(PROC_FD_CONFIG))
		proc_usage(role);
	spool_qid_setup(o->qid_instance, 0);
	snprintf(tag, sizeof(tag), "gatewayd-%s", role);
	log_init(xstrdup(tag), o->foreground ? LOG_TO_STDERR : LOG_TO_SYSLOG,
	    o->verbose);
	if (o->connector)
		log_set_tag(o->connector);
	signal(SIGPIPE, SIG_IGN);
	/* ^C in a foreground terminal reaches the whole group: the master decides. */
	signal(SIGINT, SIG_IGN);
	tzset();
	text = proc_read_config(&len);
	cfg = cfg_load_buffer(o->config_name, text, len, err, sizeof(err));
	free(text);
	if (cfg == NULL)
		fatalx("%s", err);
	if (cfg->log_verbose && !o->verbose)
		o->verbose = 1;
	return cfg;
}

/*
 * proc_event_base - the event loop of a child on the message path: with
 * epoll, interest changes wait in a change list until the next dispatch,
 * so an event disabled and enabled again within one pass (a reply written
 * while the session reads, a read paused for a commit) costs no
 * epoll_ctl.  No descriptor of these children is dup()ed while it has an
 * event, the one case the change list gets wrong.
 */
struct event_base *
proc_event_base(void)
{
	struct event_config *ec;
	struct event_base *base;

	if ((ec = event_config_new()) == NULL)
		fatalx("event_config_new failed");
	event_config_set_flag(ec, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
	base = event_base_new_with_config(ec);
	event_config_free(ec);
	if (base == NULL)
		fatalx("event_base_new failed");
	return base;
}

/*
 * proc_die_with - in a child just forked (after any change of uid, which
 * clears it): get sig when parent, the process that forked us, ends; exit
 * at once if it already has (we were reparented before the prctl).
 */
void
proc_die_with(pid_t parent, int sig)
{
	if (prctl(PR_SET_PDEATHSIG, sig) == -1 || getppid() != parent)
		_exit(1);
}

/* proc_fd_closed - nonzero when fd is not open */
int
proc_fd_closed(int fd)
{
	struct stat st;

	return fstat(fd, &st) == -1;
}

/* proc_drop_privileges - the one privilege-drop sequence */
void
proc_drop_privileges(const char *user, const char *chroot_dir)
{
	struct passwd *pw;
	uid_t uid;
	gid_t gid;

	if (geteuid() != 0) {
		log_debug("not root: developer mode, privileges unchanged");
		return;
	}
	if ((pw = getpwnam(user)) == NULL)
		fatalx("unknown user %s", user);
	if (pw->pw_uid == 0)
		fatalx("refusing to run children as root (user %s)", user);
	uid = pw->pw_uid;
	gid = pw->pw_gid;
	if (chroot_dir != NULL) {
		if (chroot(chroot_dir) == -1)
			fatal("chroot %s", chroot_dir);
	}
	if (chdir("/") == -1)
		fatal("chdir /");
	if (setgroups(1, &gid) == -1)
		fatal("setgroups");
	if (setresgid(gid, gid, gid) == -1)
		fatal("setresgid %u", (unsigned)gid);
	if (setresuid(uid, uid, uid) == -1)
		fatal("setresuid %u", (unsigned)uid);
	if (setuid(0) != -1 || seteuid(0) != -1)
		panic("privileges could be regained after the drop");
	log_debug("running as %s (%u:%u)%s%s", user, (unsigned)uid,
	    (unsigned)gid, chroot_dir ? ", chroot " : "",
	    chroot_dir ? chroot_dir : "");
}

/* proc_run_as - run fn in a child with the privileges of user (proc.h) */
int
proc_run_as(const char *user, int (*fn)(void *), void *arg)
{
	pid_t pid;
	int status;

	if ((pid = fork()) == -1) {
		log_warn("fork to act as %s", user);
		return -1;
	}
	if (pid == 0) {
		proc_drop_privileges(user, NULL);
		_exit(fn(arg) == 0 ? 0 : 1);
	}
	while (waitpid(pid, &status, 0) == -1)
		if (errno != EINTR) {
			log_warn("waitpid");
			return -1;
		}
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

/* proc_libexec_path - where the child executables are */
const char *
proc_libexec_path(const char *name, char *buf, size_t len)
{
	const char *dir = getenv("GATEWAYD_LIBEXECDIR");
	int n;

	if (dir == NULL || *dir == '\0')
		dir = GW_LIBEXECDIR;
	n = snprintf(buf, len, "%s/%s", dir, name);
	if (n < 0 || (size_t)n >= len)
		fatalx("libexec path too long: %s/%s", dir, name);
	return buf;
}
