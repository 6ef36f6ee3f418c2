/*
 * gatewayctl_directive.c - gatewayctl directive create|list|show|update|
 * delete|sheet: manage the embedded directive store
 *
 * As root, gatewayctl opens the SQLite store itself (it lives in the
 * spool, see directive.h), so the daemon need not run; it creates the
 * store's directory owned by the gateway user first (SQLite gives the
 * -wal/-shm files it creates as root the owner of the database, so the
 * chrooted router keeps write access).  Other users (admin_group) go
 * through the control socket: the daemon's unprivileged control child
 * runs the same commands (directive_cmd.c), the words hex-encoded on the
 * request line, and the daemon takes the owner from the socket's peer
 * (--owner is for root).  "sheet" asks for a "dump" of the directive and
 * renders the PDF here, so the daemon does not link the PDF library.  When the
 * daemon is down, a user who can write the store (the gateway user) still
 * reaches it directly.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "cfg.h"
#include "directive.h"
#include "directive_cmd.h"
#include "gatewayctl.h"
#include "gatewayctl_directive.h"
#include "sheet.h"

#define CTLD_PATH_MAX	4096

/* ctld_usage - the directive command summary */
static int
ctld_usage(void)
{
	fprintf(stderr,
	    "usage: gatewayctl [-c config] [--json] directive command\n"
	    "  create --title T [--owner O] [--keyword K] [--id ID] [--expires WHEN]\n"
	    "         --rcpt CHANNEL:ADDRESS [--param NAME=VALUE]... [--rcpt ...]\n"
	    "  list\n"
	    "  show ID\n"
	    "  update ID [--title T] [--owner O] [--keyword K | --no-keyword]\n"
	    "         [--expires WHEN | --no-expires] [--rcpt ... (replaces all)]\n"
	    "  delete ID\n"
	    "  sheet ID -o FILE.pdf\n"
	    "WHEN: YYYY-MM-DD[THH:MM[:SS]] (UTC), +N or -N with s, m, h or d, @EPOCH\n"
	    "--owner: root only; the owner is otherwise the user who asks\n");
	return EX_USAGE;
}

/* ctld_prepare - as root, the store's directory owned by the gateway user */
static int
ctld_prepare(const struct cfg *cfg, const char *path)
{
	char dir[CTLD_PATH_MAX];
	struct passwd *pw;
	struct stat sb;
	char *slash;

	if (geteuid() != 0)
		return 0;
	if ((pw = getpwnam(cfg->user)) == NULL) {
		fprintf(stderr, "gatewayctl: unknown user %s\n", cfg->user);
		return -1;
	}
	snprintf(dir, sizeof(dir), "%s", path);
	if ((slash = strrchr(dir, '/')) != NULL)
		*slash = '\0';
	if (mkdir(dir, 0750) == -1 && errno != EEXIST) {
		fprintf(stderr, "gatewayctl: mkdir %s: %s\n", dir, strerror(errno));
		return -1;
	}
	if (chown(dir, pw->pw_uid, pw->pw_gid) == -1)
		return -1;
	if (stat(path, &sb) == -1) {
		/* create it empty, owned by the gateway user, before SQLite */
		FILE *f = fopen(path, "a");

		if (f == NULL)
			return -1;
		fclose(f);
		if (chown(path, pw->pw_uid, pw->pw_gid) == -1 ||
		    chmod(path, 0640) == -1)
			return -1;
	}
	return 0;
}

/* ctld_open - the store of the configuration */
static struct directive_store *
ctld_open(const char *config)
{
	char err[CFG_ERRLEN], path[CTLD_PATH_MAX];
	struct directive_store *st;
	struct cfg *cfg;

	if ((cfg = cfg_load_file(config, err, sizeof(err))) == NULL) {
		fprintf(stderr, "gatewayctl: %s\n", err);
		return NULL;
	}
	if (directive_store_path(cfg->spool, path, sizeof(path)) == -1 ||
	    ctld_prepare(cfg, path) == -1) {
		fprintf(stderr, "gatewayctl: cannot prepare the directive store "
		    "in %s\n", cfg->spool);
		cfg_free(cfg);
		return NULL;
	}
	cfg_free(cfg);
	if ((st = directive_store_open(path, 1, err, sizeof(err))) == NULL)
		fprintf(stderr, "gatewayctl: %s\n", err);
	return st;
}

/*
 * ctld_owner - the owner of a new directive: the invoking user (root's
 * sudo(8) caller; the environment is trusted only when the real user is
 * root, who may set any owner with --owner anyway)
 */
static const char *
ctld_owner(void)
{
	const char *s = getenv("SUDO_USER");
	struct passwd *pw;

	if (getuid() == 0 && s != NULL && *s != '\0')
		return s;
	pw = getpwuid(getuid());
	return pw ? pw->pw_name : "unknown";
}

/* ctld_sheet - render d as a routing sheet into output */
static int
ctld_sheet(const struct directive *d, const char *output)
{
	char err[DIRECTIVE_ERRLEN];

	if (sheet_write(d, output, err, sizeof(err)) == -1) {
		fprintf(stderr, "gatewayctl: %s\n", err);
		return EX_CANTCREAT;
	}
	return 0;
}

/* ctld_local - run the command on the store itself */
static int
ctld_local(struct ctl *ctl, int argc, char **argv, const char *output)
{
	char err[DIRECTIVE_ERRLEN], *text = NULL;
	struct directive_store *st;
	struct directive d;
	size_t len = 0;
	FILE *out;
	int rc;

	if ((st = ctld_open(ctl->config)) == NULL)
		return EX_UNAVAILABLE;
	if (output != NULL) {
		if ((rc = directive_get(st, argv[1], &d, err, sizeof(err))) != 0) {
			fprintf(stderr, "gatewayctl: %s\n", rc == 1 ?
			    "no such directive" : err);
			rc = rc == 1 ? EX_DATAERR : EX_SOFTWARE;
		} else {
			rc = ctld_sheet(&d, output);
			directive_clear(&d);
		}
		directive_store_close(st);
		return rc;
	}
	if ((out = open_memstream(&text, &len)) == NULL) {
		directive_store_close(st);
		return EX_OSERR;
	}
	(void)directive_cmd(st, argc, argv, ctl->json, ctld_owner(),
	    geteuid() == 0, out);
	fclose(out);
	directive_store_close(st);
	rc = ctl_emit(text, 0);
	free(text);
	return rc;
}

/* ctld_remote - the same through the daemon (fd: connected) */
static int
ctld_remote(struct ctl *ctl, int fd, int argc, char **argv,
    const char *output)
{
	static char directive_word[] = "directive";
	char **words, *text;
	struct directive d;
	int i, rc = 0;

	words = calloc((size_t)argc + 2, sizeof(*words));
	if (words == NULL)
		exit(EX_OSERR);
	words[0] = directive_word;
	for (i = 0; i < argc; i++) {
		const char *a = output != NULL && i == 0 ? "dump" : argv[i];

		if ((words[i + 1] = malloc(2 * strlen(a) + 2)) == NULL)
			exit(EX_OSERR);
		if (*a == '\0')
			strcpy(words[i + 1], "=");
		else
			directive_hex(words[i + 1], a);
	}
	if (output == NULL)
		rc = ctl_request(ctl, fd, argc + 1, words, 0);
	else {
		close(fd);
		if ((text = ctl_fetch(ctl, argc + 1, words, &rc)) != NULL) {
			if (directive_dump_parse(text, &d) == 0) {
				rc = ctld_sheet(&d, output);
				directive_clear(&d);
			} else
				rc = ctl_emit(text, 0);
			free(text);
		}
	}
	for (i = 1; i <= argc; i++)
		free(words[i]);
	free(words);
	return rc;
}

/* ctl_directive - gatewayctl directive ... */
int
ctl_directive(struct ctl *ctl, int argc, char **argv)
{
	const char *output = NULL;
	int fd;

	argc--;			/* "directive" */
	argv++;
	if (argc < 1)
		return ctld_usage();
	if (strcmp(argv[0], "sheet") == 0) {
		/* sheet ID -o FILE: the PDF is written here */
		if (argc != 4 || strcmp(argv[2], "-o") != 0)
			return ctld_usage();
		output = argv[3];
		argc = 2;
	} else if (strcmp(argv[0], "dump") == 0)
		return ctld_usage();	/* internal to the control protocol */
	if (geteuid() != 0) {
		if ((fd = ctl_try_connect(ctl)) != -1)
			return ctld_remote(ctl, fd, argc, argv, output);
		if (errno == EACCES)
			return ctl_connect(ctl);	/* exits: no permission */
	}
	return ctld_local(ctl, argc, argv, output);
}
