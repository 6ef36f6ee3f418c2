/*
 * gatewayctl.c - gatewayctl(8): control a running gatewayd
 *
 * Sends one request line to the master's control socket and relays the
 * answer (control_int.h describes it).  Exit codes follow sysexits(3):
 * 0 ok, 64 usage, 65 bad argument, 66 no such message, 69 daemon not
 * reachable, 70 the daemon reported an error, 75 try again (a message
 * being delivered), 77 permission denied, 78 bad configuration.  The
 * queue commands that only read (list, show, check) work without the
 * daemon, from the spool named in the configuration file.
 *
 * Everything gatewayctl prints from an answer passes ctl_line (or
 * ctl_first), which escapes control characters (textout.h) whatever the
 * daemon sent: the fields are escaped where they are written too, this is
 * the last guard for the terminal.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sysexits.h>
#include <unistd.h>

#include "cfg.h"
#include "control_proto.h"
#include "gatewayctl.h"
#include "proc.h"
#include "gatewayctl_directive.h"
#include "textout.h"
#include "xmalloc.h"
#include "version.h"

/* What an answer line may keep; every other control character is escaped. */
#define CTL_KEEP	(TEXTOUT_KEEP_NL | TEXTOUT_KEEP_TAB)

#define CTL_MAX_REQUEST	16000

static int ctl_simple(struct ctl *, int, char **);
static int ctl_directive_cmd(struct ctl *, int, char **);

/* The command families; one line each. */
static const struct ctl_command {
	const char *name;
	ctl_handler fn;
} ctl_commands[] = {
	{ "status", ctl_simple },
	{ "stats", ctl_stats },
	{ "reload", ctl_simple },
	{ "pause", ctl_simple },
	{ "resume", ctl_simple },
	{ "connectors", ctl_simple },
	{ "queue", ctl_queue },
	{ "check", ctl_check },
	{ "monitor", ctl_monitor },
	{ "directive", ctl_directive_cmd },
	{ "route", ctl_route },
	{ "config", ctl_config },
};

/* ctl_usage_text - the command summary */
static void
ctl_usage_text(FILE *fp)
{
	fprintf(fp,
	    "usage: gatewayctl [-c|--config file] [-s|--socket path] [--json] "
	    "command [options]\n"
	    "       gatewayctl --version | --help\n"
	    "commands (see gatewayctl(8)):\n"
	    "  status | stats [--json|--prometheus|--history] | "
	    "monitor [--count N]\n"
	    "  reload | check | connectors\n"
	    "  pause|resume receive | delivery [CONNECTOR]\n"
	    "  queue list [-s|--state S] [--connector C] [--sender P] "
	    "[--recipient P] [--older-than SECS]\n"
	    "  queue show ID... [--body]\n"
	    "  queue log ID\n"
	    "  queue hold|release|delete|retry|requeue|expire ID...|ALL|-\n"
	    "  queue retry --connector NAME\n"
	    "  queue check [--repair]\n"
	    "  route test ADDRESS [--sender S] [--client IP] [--auth USER] "
	    "[--listener NAME]\n"
	    "  config dump [--changed]\n"
	    "  directive ... (see gatewayctl(8))\n");
}

/* ctl_usage - the summary on stderr, exit 64 */
static void __attribute__((noreturn))
ctl_usage(void)
{
	ctl_usage_text(stderr);
	exit(EX_USAGE);
}

/* ctl_help - --help: the summary on stdout, exit 0 */
static void __attribute__((noreturn))
ctl_help(void)
{
	ctl_usage_text(stdout);
	exit(0);
}

/* ctl_socket_path - from -s, or the configuration file */
const char *
ctl_socket_path(struct ctl *ctl)
{
	static char sockpath[4096];
	char err[CFG_ERRLEN];
	struct cfg *cfg;

	if (ctl->sock != NULL)
		return ctl->sock;
	if ((cfg = cfg_load_file(ctl->config, err, sizeof(err))) == NULL) {
		fprintf(stderr, "gatewayctl: %s\n", err);
		exit(EX_CONFIG);
	}
	snprintf(sockpath, sizeof(sockpath), "%s", cfg->control_socket);
	cfg_free(cfg);
	ctl->sock = sockpath;
	return ctl->sock;
}

/* ctl_try_connect - connect to the control socket, -1 with errno */
int
ctl_try_connect(struct ctl *ctl)
{
	const char *path = ctl_socket_path(ctl);
	struct sockaddr_un sun;
	int fd, e;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "gatewayctl: socket path too long: %s\n", path);
		exit(EX_USAGE);
	}
	strcpy(sun.sun_path, path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		perror("gatewayctl: socket");
		exit(EX_OSERR);
	}
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

/* ctl_connect - connect or exit with the reason */
int
ctl_connect(struct ctl *ctl)
{
	int fd = ctl_try_connect(ctl);

	if (fd != -1)
		return fd;
	if (errno == EACCES) {
		fprintf(stderr, "gatewayctl: permission denied on %s\n",
		    ctl->sock);
		exit(EX_NOPERM);
	}
	fprintf(stderr, "gatewayctl: cannot reach gatewayd at %s: %s (is it "
	    "running?)\n", ctl->sock, strerror(errno));
	exit(EX_UNAVAILABLE);
}

/* ctl_send - the request line: words, then the global options */
static int
ctl_send(struct ctl *ctl, int fd, int argc, char **argv)
{
	char req[CTL_MAX_REQUEST];
	size_t len = 0;
	int i, n;
	const char *p;

	for (i = 0; i < argc; i++) {
		for (p = argv[i]; *p; p++)
			if (isspace((unsigned char)*p) || iscntrl((unsigned char)*p)) {
				fputs("gatewayctl: argument '", stderr);
				textout_terms(stderr, argv[i], 0);
				fputs("' contains white space or control "
				    "characters\n", stderr);
				return EX_USAGE;
			}
		n = snprintf(req + len, sizeof(req) - len, "%s%s",
		    len ? " " : "", argv[i]);
		if (n < 0 || (size_t)n >= sizeof(req) - len) {
			fprintf(stderr, "gatewayctl: request too long\n");
			return EX_USAGE;
		}
		len += (size_t)n;
	}
	n = snprintf(req + len, sizeof(req) - len, "%s%s\n",
	    ctl->json ? " --json" : "", ctl->prometheus ? " --prometheus" : "");
	if (n < 0 || (size_t)n >= sizeof(req) - len)
		return EX_USAGE;
	len += (size_t)n;
	/* gatewayd may refuse (credentials) and close before the request
	 * arrives: no SIGPIPE then, its answer is still there to read */
	if (send(fd, req, len, MSG_NOSIGNAL) != (ssize_t)len &&
	    errno != EPIPE && errno != ECONNRESET) {
		perror("gatewayctl: write");
		return EX_IOERR;
	}
	shutdown(fd, SHUT_WR);
	return 0;
}

/*
 * ctl_line - relay one answer line, escaped; updates *rc from "E<code>"
 * lines
 */
static void
ctl_line(const char *line, size_t len, int *rc)
{
	size_t off;
	int code;

	if (control_errline(line, len, &code, &off)) {
		fputs("gatewayctl: ", stderr);
		textout_term(stderr, line + off, len - off, CTL_KEEP);
		if (*rc == 0)
			*rc = code;
		return;
	}
	textout_term(stdout, line, len, CTL_KEEP);
}

/*
 * ctl_enter_spool - make the spool directory the working directory, as the
 * spool's user when run by root.  The directory itself is opened first
 * (its path is the administrator's), then root becomes the user, so that
 * nothing inside the spool is ever opened as root, and a spool below a
 * directory that user cannot search (a developer's home) still works.
 * -1 with the reason on stderr.
 */
int
ctl_enter_spool(const struct cfg *cfg)
{
	int fd;

	if ((fd = open(cfg->spool, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		fprintf(stderr, "gatewayctl: spool %s: %s\n", cfg->spool,
		    strerror(errno));
		return -1;
	}
	if (geteuid() == 0)
		proc_drop_privileges(cfg->user, NULL);
	if (fchdir(fd) == -1) {
		fprintf(stderr, "gatewayctl: spool %s: %s\n", cfg->spool,
		    strerror(errno));
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

/* ctl_emit - relay an answer held in memory, like ctl_request; the exit code */
int
ctl_emit(const char *text)
{
	const char *line, *nl;
	int rc = 0;

	for (line = text; line != NULL && *line != '\0'; line = nl) {
		nl = strchr(line, '\n');
		ctl_line(line, nl ? (size_t)(nl + 1 - line) : strlen(line),
		    &rc);
		nl = nl ? nl + 1 : NULL;
	}
	return rc;
}

/* ctl_first - the first line: "ok", or an error mapped to an exit code */
static int
ctl_first(const char *line, size_t len)
{
	if (len >= 2 && strncmp(line, "ok", 2) == 0)
		return 0;
	fputs("gatewayctl: ", stderr);
	if (strncmp(line, "error ", 6) == 0)
		textout_term(stderr, line + 6, len - 6, CTL_KEEP);
	else
		textout_term(stderr, line, len, CTL_KEEP);
	if (len == 0 || line[len - 1] != '\n')
		fputc('\n', stderr);
	if (memmem(line, len, "permission denied", 17) != NULL)
		return EX_NOPERM;
	if (memmem(line, len, "usage:", 6) != NULL ||
	    memmem(line, len, "unknown", 7) != NULL)
		return EX_USAGE;
	if (memmem(line, len, "configuration refused", 21) != NULL)
		return EX_CONFIG;
	return EX_SOFTWARE;
}

/* ctl_request - send, then relay the answer line by line */
int
ctl_request(struct ctl *ctl, int fd, int argc, char **argv)
{
	static char buf[65536];
	const size_t half = sizeof(buf) / 2;
	size_t len = 0, i, start, w;
	char *nl;
	ssize_t n;
	int first = 1, rc;

	if ((rc = ctl_send(ctl, fd, argc, argv)) != 0)
		return rc;
	for (;;) {
		n = read(fd, buf + len, sizeof(buf) - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == ECONNRESET && len == 0 && !first)
			break;
		if (n == -1) {
			perror("gatewayctl: read");
			return EX_IOERR;
		}
		len += (size_t)n;
		/*
		 * A line ends at its newline, at the end of the answer, or
		 * (a long one, in pieces) after half the buffer
		 */
		for (start = 0; start < len; start = i + 1) {
			w = len - start < half + 1 ? len - start : half + 1;
			if ((nl = memchr(buf + start, '\n', w)) != NULL)
				i = (size_t)(nl - buf);
			else if (len - start > half)
				i = start + half;
			else if (n == 0)
				i = len - 1;
			else
				break;
			if (first) {
				first = 0;
				if ((rc = ctl_first(buf + start, i + 1 -
				    start)) != 0) {
					textout_term(stderr, buf + i + 1,
					    len - i - 1, CTL_KEEP);
					close(fd);
					return rc;
				}
			} else
				ctl_line(buf + start, i + 1 - start, &rc);
		}
		memmove(buf, buf + start, len - start);
		len -= start;
		if (n == 0)
			break;
	}
	close(fd);
	if (first) {
		fprintf(stderr, "gatewayctl: no answer from gatewayd\n");
		return EX_PROTOCOL;
	}
	return rc;
}

/* ctl_fetch - the whole answer after "ok" (for monitor) */
char *
ctl_fetch(struct ctl *ctl, int argc, char **argv, int *rc)
{
	size_t len = 0, cap = 4096;
	char *buf = malloc(cap), *nl;
	ssize_t n;
	int fd;

	if (buf == NULL)
		exit(EX_OSERR);
	fd = ctl_connect(ctl);
	if ((*rc = ctl_send(ctl, fd, argc, argv)) != 0) {
		free(buf);
		close(fd);
		return NULL;
	}
	while ((n = read(fd, buf + len, cap - len - 1)) > 0) {
		len += (size_t)n;
		if (len + 1 == cap && (buf = realloc(buf, cap *= 2)) == NULL)
			exit(EX_OSERR);
	}
	close(fd);
	buf[len] = '\0';
	if ((nl = strchr(buf, '\n')) == NULL ||
	    (*rc = ctl_first(buf, (size_t)(nl - buf) + 1)) != 0) {
		if (nl == NULL)
			*rc = EX_PROTOCOL;
		free(buf);
		return NULL;
	}
	memmove(buf, nl + 1, strlen(nl + 1) + 1);
	return buf;
}

/* ctl_directive_cmd - the directive store (gatewayctl_directive.c) */
static int
ctl_directive_cmd(struct ctl *ctl, int argc, char **argv)
{
	return ctl_directive(ctl, argc, argv);
}

/* ctl_simple - commands that are one request and its answer */
static int
ctl_simple(struct ctl *ctl, int argc, char **argv)
{
	int rc;

	if ((argc = ctl_verb_args(ctl, argc, &argv, 1, NULL)) == -1)
		return EX_USAGE;
	rc = ctl_request(ctl, ctl_connect(ctl), argc, argv);
	return rc;
}

/*
 * ctl_output_flags - --json and --prometheus anywhere after the verb are
 * the global ones (as before the verb): taken out of argv
 */
static void
ctl_output_flags(struct ctl *ctl, int *argc, char **argv)
{
	int i, n = 1;

	for (i = 1; i < *argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			ctl->json = 1;
		else if (strcmp(argv[i], "--prometheus") == 0)
			ctl->prometheus = 1;
		else
			argv[n++] = argv[i];
	}
	argv[n] = NULL;
	*argc = n;
}

/* The options before the verb. */
static const struct option ctl_global_opts[] = {
	{ "config", required_argument, NULL, 'c' },
	{ "socket", required_argument, NULL, 's' },
	{ "json", no_argument, NULL, 'J' },
	{ "prometheus", no_argument, NULL, 'P' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 }
};

/*
 * main - global options with getopt_long up to the verb ("+": stop at the
 * first operand), then the verb's handler with the rest
 */
int
main(int argc, char **argv)
{
	struct ctl ctl;
	size_t c;
	int ch, rc;

	version_options(argc, argv, "gatewayctl", ctl_usage_text);
	memset(&ctl, 0, sizeof(ctl));
	ctl.config = GW_SYSCONFDIR "/gatewayd/gatewayd.yaml";
	while ((ch = getopt_long(argc, argv, "+c:s:h", ctl_global_opts,
	    NULL)) != -1) {
		switch (ch) {
		case 'c': ctl.config = optarg; break;
		case 's': ctl.sock = optarg; break;
		case 'J': ctl.json = 1; break;
		case 'P': ctl.prometheus = 1; break;
		case 'h': ctl_help(); break;
		default: ctl_usage();	/* getopt said which option */
		}
	}
	argc -= optind;
	argv += optind;
	if (argc == 0)
		ctl_usage();
	if (strcmp(argv[0], "help") == 0)
		ctl_help();
	ctl_output_flags(&ctl, &argc, argv);
	for (c = 0; c < sizeof(ctl_commands) / sizeof(ctl_commands[0]); c++)
		if (strcmp(argv[0], ctl_commands[c].name) == 0) {
			rc = ctl_commands[c].fn(&ctl, argc, argv);
			free(ctl.verb_words);
			return rc;
		}
	fprintf(stderr, "gatewayctl: unknown command '%s'\n", argv[0]);
	ctl_usage();
}
