/*
 * gatewayctl.c - gatewayctl(8): control a running gatewayd
 *
 * Sends one request line to the master's control socket and prints the
 * answer.  Exit codes follow sysexits(3): 0 ok, 64 usage, 69 daemon not
 * reachable, 77 permission denied, 70 the daemon reported an error.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sysexits.h>
#include <unistd.h>

#include "cfg.h"

/* ctl_usage - the command summary */
static void __attribute__((noreturn))
ctl_usage(void)
{
	fprintf(stderr,
	    "usage: gatewayctl [-c config] [-s socket] [--json] command\n"
	    "commands:\n"
	    "  status        processes, listeners\n"
	    "  queue list    every queued message and job\n"
	    "  reload        re-read the configuration (like SIGHUP)\n");
	exit(EX_USAGE);
}

/* ctl_connect - connect to the control socket */
static int
ctl_connect(const char *path)
{
	struct sockaddr_un sun;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "gatewayctl: socket path too long: %s\n", path);
		exit(EX_USAGE);
	}
	strcpy(sun.sun_path, path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) == -1) {
		perror("gatewayctl: socket");
		exit(EX_OSERR);
	}
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		if (errno == EACCES) {
			fprintf(stderr, "gatewayctl: permission denied on %s\n",
			    path);
			exit(EX_NOPERM);
		}
		fprintf(stderr, "gatewayctl: cannot reach gatewayd at %s: %s "
		    "(is it running?)\n", path, strerror(errno));
		exit(EX_UNAVAILABLE);
	}
	return fd;
}

/* ctl_socket_path - from -s, or the configuration file */
static const char *
ctl_socket_path(const char *sock, const char *config)
{
	char err[CFG_ERRLEN];
	struct cfg *cfg;

	if (sock != NULL)
		return sock;
	if ((cfg = cfg_load_file(config, err, sizeof(err))) == NULL) {
		fprintf(stderr, "gatewayctl: %s\n", err);
		exit(EX_CONFIG);
	}
	return cfg->control_socket;	/* kept for the life of the process */
}

/* ctl_run - send the request, relay the answer; returns the exit code */
static int
ctl_run(int fd, const char *request)
{
	char buf[8192];
	size_t len = 0, first_len;
	ssize_t n;
	int first = 1, rc = 0;

	if (dprintf(fd, "%s\n", request) < 0) {
		perror("gatewayctl: write");
		return EX_IOERR;
	}
	shutdown(fd, SHUT_WR);
	while ((n = read(fd, buf + len, sizeof(buf) - 1 - len)) > 0) {
		len += (size_t)n;
		buf[len] = '\0';
		if (first) {
			char *nl = strchr(buf, '\n');

			if (nl == NULL && len < sizeof(buf) - 1)
				continue;
			first = 0;
			first_len = nl ? (size_t)(nl - buf) + 1 : len;
			if (strncmp(buf, "ok", 2) != 0) {
				rc = strstr(buf, "permission denied") ?
				    EX_NOPERM : EX_SOFTWARE;
				fprintf(stderr, "gatewayctl: %.*s", (int)first_len,
				    strncmp(buf, "error ", 6) == 0 ? buf + 6 : buf);
				fwrite(buf + first_len, 1, len - first_len, stderr);
			} else
				fwrite(buf + first_len, 1, len - first_len, stdout);
		} else
			fwrite(buf, 1, len, rc ? stderr : stdout);
		len = 0;
	}
	/* A refusal closes before reading the request: a reset then is EOF. */
	if (n == -1 && !(errno == ECONNRESET && !first)) {
		perror("gatewayctl: read");
		return EX_IOERR;
	}
	if (first) {
		fprintf(stderr, "gatewayctl: no answer from gatewayd\n");
		return EX_PROTOCOL;
	}
	return rc;
}

int
main(int argc, char **argv)
{
	const char *config = GW_SYSCONFDIR "/gatewayd/gatewayd.yaml";
	const char *sock = NULL;
	char request[1024];
	int i, json = 0;
	size_t len = 0;

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "-c") == 0 && i + 1 < argc)
			config = argv[++i];
		else if (strcmp(argv[i], "-s") == 0 && i + 1 < argc)
			sock = argv[++i];
		else if (strcmp(argv[i], "--json") == 0)
			json = 1;
		else
			ctl_usage();
	}
	if (i >= argc)
		ctl_usage();
	request[0] = '\0';
	for (; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0) {
			json = 1;
			continue;
		}
		len += (size_t)snprintf(request + len, sizeof(request) - len,
		    "%s%s", len ? " " : "", argv[i]);
		if (len >= sizeof(request))
			ctl_usage();
	}
	if (strcmp(request, "status") != 0 && strcmp(request, "queue list") != 0 &&
	    strcmp(request, "reload") != 0)
		ctl_usage();
	if (json)
		strncat(request, " --json", sizeof(request) - len - 1);
	return ctl_run(ctl_connect(ctl_socket_path(sock, config)), request);
}
