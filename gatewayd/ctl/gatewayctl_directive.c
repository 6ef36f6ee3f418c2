/*
 * gatewayctl_directive.c - gatewayctl directive create|list|show|update|
 * delete|sheet: manage the embedded directive store
 *
 * As root, gatewayctl reaches the SQLite store itself (it lives in the
 * spool, see directive.h), so the daemon need not run, but from a child
 * that dropped to the spool user before it opened anything there (root
 * never acts by path inside the spool; doc/security.md); the routing
 * sheet is rendered by root from that child's dump.  Other users (admin_group) go
 * through the control socket: the daemon's unprivileged control child
 * runs the same commands (directive_cmd.c), the words hex-encoded on the
 * request line, and the daemon takes the owner from the socket's peer
 * (--owner is for root).  "sheet" asks for a "dump" of the directive and
 * renders the PDF here, so the daemon does not link the PDF library.  When the
 * daemon is down, a user who can write the store (the gateway user) still
 * reaches it directly.  "separator" needs no store: it only renders a
 * separator sheet.  Both take --paper, by default directives.paper of the
 * configuration (A4 when there is none).
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/wait.h>
#include <syslog.h>

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
#include "log.h"
#include "proc.h"
#include "sheet.h"

#define CTLD_PATH_MAX	4096

/* Where and how "sheet" renders (NULL for the other commands). */
struct ctld_sheet_out {
	const char *path;		/* "-": standard output */
	enum sheet_paper paper;
};

/* ctld_usage - the directive command summary */
static int
ctld_usage(void)
{
	fprintf(stderr,
	    "usage: gatewayctl [-c config] [--json] directive command\n"
	    "  create --title T [--owner O] [--keyword K] [--id ID] [--expires WHEN]\n"
	    "         --rcpt CHANNEL:ADDRESS [--param NAME=VALUE]... [--rcpt ...]\n"
	    "         [--allow-sender ADDR|@DOMAIN] [--allow-user USER] [--allow-net CIDR]...\n"
	    "  list\n"
	    "  show ID\n"
	    "  update ID [--title T] [--owner O] [--keyword K | --no-keyword]\n"
	    "         [--expires WHEN | --no-expires] [--rcpt ... (replaces all)]\n"
	    "         [--allow-... (replace all three lists) | --no-allow]\n"
	    "  edit ID ...: the same as update\n"
	    "  delete ID\n"
	    "  sheet ID -o FILE.pdf [--paper a4|letter]\n"
	    "  separator [-o FILE.pdf] [--paper a4|letter]\n"
	    "WHEN: YYYY-MM-DD[THH:MM[:SS]] (UTC), +N or -N with s, m, h or d, @EPOCH\n"
	    "--owner: root only; the owner is otherwise the user who asks\n");
	return EX_USAGE;
}

/*
 * ctld_open_pg - the PostgreSQL store: its password file is read while
 * gatewayctl may still be root, then root becomes the gateway user as for
 * SQLite (the spool is not needed: it may not exist yet); the connection
 * is made by the command's first call
 */
static struct directive_store *
ctld_open_pg(struct cfg *cfg)
{
	char err[DIRECTIVE_ERRLEN];
	struct directive_store *st;

	st = directive_store_open_pg(&cfg->directives.pg, 0, err, sizeof(err));
	if (st == NULL)
		fprintf(stderr, "gatewayctl: %s\n", err);
	else if (geteuid() == 0)
		proc_drop_privileges(cfg->user, NULL);
	cfg_free(cfg);
	return st;
}

/*
 * ctld_open - the store of the configuration.  As root this runs in a
 * child that dropped to the spool user first (ctld_local_dropped): root
 * opens nothing in the spool, so a symlink planted there by a process of
 * that user reaches only what that user could reach anyway.
 */
static struct directive_store *
ctld_open(const char *config)
{
	char err[CFG_ERRLEN], path[CTLD_PATH_MAX], dir[CTLD_PATH_MAX];
	struct directive_store *st;
	struct cfg *cfg;
	char *slash;

	if ((cfg = cfg_load_file(config, err, sizeof(err))) == NULL) {
		fprintf(stderr, "gatewayctl: %s\n", err);
		return NULL;
	}
	if (cfg->directives.store == CFG_DIR_STORE_POSTGRESQL)
		return ctld_open_pg(cfg);
	if (ctl_enter_spool(cfg) == -1) {
		cfg_free(cfg);
		return NULL;
	}
	cfg_free(cfg);
	if (directive_store_path(".", path, sizeof(path)) == -1)
		return NULL;
	snprintf(dir, sizeof(dir), "%s", path);
	if ((slash = strrchr(dir, '/')) != NULL)
		*slash = '\0';
	/* gatewayd makes it; the spool user can where it owns the spool */
	if (mkdir(dir, 0750) == -1 && errno != EEXIST) {
		fprintf(stderr, "gatewayctl: %s: %s (start gatewayd once to "
		    "prepare the spool)\n", dir, strerror(errno));
		return NULL;
	}
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

/* ctld_sheet - render d as a routing sheet as output says */
static int
ctld_sheet(const struct directive *d, const struct ctld_sheet_out *output)
{
	char err[DIRECTIVE_ERRLEN];

	if (sheet_write(d, output->paper, output->path, err,
	    sizeof(err)) == -1) {
		fprintf(stderr, "gatewayctl: %s\n", err);
		return EX_CANTCREAT;
	}
	return 0;
}

/* ctld_read_all - everything a descriptor gives until EOF, NUL-terminated */
static char *
ctld_read_all(int fd)
{
	size_t len = 0, cap = 4096;
	char *buf = malloc(cap);
	ssize_t n;

	if (buf == NULL)
		exit(EX_OSERR);
	while ((n = read(fd, buf + len, cap - len - 1)) != 0) {
		if (n == -1) {
			if (errno == EINTR)
				continue;
			break;
		}
		len += (size_t)n;
		if (len + 1 == cap && (buf = realloc(buf, cap *= 2)) == NULL)
			exit(EX_OSERR);
	}
	buf[len] = '\0';
	return buf;
}

/*
 * ctld_local_dropped - root: the command runs in a child that became the
 * spool user before it opened the store; its output comes back through a
 * pipe, and a routing sheet is rendered here (root writes the PDF where
 * the operator asked, outside the spool)
 */
static int
ctld_local_dropped(struct ctl *ctl, int argc, char **argv,
    const struct ctld_sheet_out *output)
{
	static char dump[] = "dump";
	struct directive_store *st;
	struct directive d;
	int p[2], status, rc;
	char *text, *owner;
	FILE *out;
	pid_t pid;

	/* the caller's name, before the child becomes the spool user */
	if ((owner = strdup(ctld_owner())) == NULL || pipe(p) == -1 ||
	    (pid = fork()) == -1) {
		fprintf(stderr, "gatewayctl: %s\n", strerror(errno));
		free(owner);
		return EX_OSERR;
	}
	if (pid == 0) {
		close(p[0]);
		if ((st = ctld_open(ctl->config)) == NULL)
			_exit(EX_UNAVAILABLE);
		if ((out = fdopen(p[1], "w")) == NULL)
			_exit(EX_OSERR);
		if (output != NULL)
			argv[0] = dump;
		(void)directive_cmd(st, argc, argv, output ? 0 : ctl->json,
		    owner, 1, out);
		fclose(out);
		directive_store_close(st);
		_exit(0);
	}
	close(p[1]);
	text = ctld_read_all(p[0]);
	close(p[0]);
	while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		rc = WIFEXITED(status) ? WEXITSTATUS(status) : EX_SOFTWARE;
	else if (output != NULL && directive_dump_parse(text, &d) == 0) {
		rc = ctld_sheet(&d, output);
		directive_clear(&d);
	} else
		rc = ctl_emit(text);
	free(text);
	free(owner);
	return rc;
}

/* ctld_local - run the command on the store itself */
static int
ctld_local(struct ctl *ctl, int argc, char **argv,
    const struct ctld_sheet_out *output)
{
	char err[DIRECTIVE_ERRLEN], *text = NULL;
	struct directive_store *st;
	struct directive d;
	size_t len = 0;
	FILE *out;
	int rc;

	if (geteuid() == 0)
		return ctld_local_dropped(ctl, argc, argv, output);
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
	rc = ctl_emit(text);
	free(text);
	return rc;
}

/* ctld_remote - the same through the daemon (fd: connected) */
static int
ctld_remote(struct ctl *ctl, int fd, int argc, char **argv,
    const struct ctld_sheet_out *output)
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
		rc = ctl_request(ctl, fd, argc + 1, words);
	else {
		close(fd);
		if ((text = ctl_fetch(ctl, argc + 1, words, &rc)) != NULL) {
			if (directive_dump_parse(text, &d) == 0) {
				rc = ctld_sheet(&d, output);
				directive_clear(&d);
			} else
				rc = ctl_emit(text);
			free(text);
		}
	}
	for (i = 1; i <= argc; i++)
		free(words[i]);
	free(words);
	return rc;
}

/* ctld_paper - --paper NAME, or directives.paper, or A4; 0 or a usage code */
static int
ctld_paper(struct ctl *ctl, const char *name, enum sheet_paper *paper)
{
	char err[CFG_ERRLEN];
	struct cfg *cfg;
	int rc;

	*paper = SHEET_A4;
	if (name == NULL) {
		/* no configuration: the separator still prints, on A4 */
		if ((cfg = cfg_load_file(ctl->config, err, sizeof(err))) == NULL)
			return 0;
		rc = sheet_paper_parse(cfg->directives.paper, paper);
		cfg_free(cfg);
		return rc == 0 ? 0 : EX_CONFIG;	/* the loader checked it */
	}
	if (sheet_paper_parse(name, paper) == -1) {
		fprintf(stderr, "gatewayctl: --paper %s: expected a4 or "
		    "letter\n", name);
		return EX_USAGE;
	}
	return 0;
}

/*
 * ctld_sheet_args - "sheet ID -o FILE" or "separator [-o FILE]", each
 * with an optional "--paper NAME", into out; 0 or a usage code.  The
 * words after the command's own (ID) are taken out of argv.
 */
static int
ctld_sheet_args(struct ctl *ctl, int *argc, char **argv,
    struct ctld_sheet_out *out)
{
	int i, words = strcmp(argv[0], "sheet") == 0 ? 2 : 1;
	const char *paper = NULL;

	out->path = NULL;
	if (*argc < words)
		return ctld_usage();
	for (i = words; i < *argc; i += 2) {
		if (i + 1 >= *argc)
			return ctld_usage();
		if (strcmp(argv[i], "-o") == 0 && out->path == NULL)
			out->path = argv[i + 1];
		else if (strcmp(argv[i], "--paper") == 0 && paper == NULL)
			paper = argv[i + 1];
		else
			return ctld_usage();
	}
	if (out->path == NULL && words == 2)
		return ctld_usage();	/* a routing sheet names its file */
	if (out->path == NULL)
		out->path = "-";
	if (strcmp(out->path, "-") == 0 && isatty(STDOUT_FILENO)) {
		fprintf(stderr, "gatewayctl: not writing a PDF to a terminal: "
		    "give -o FILE.pdf or redirect the output\n");
		return EX_USAGE;
	}
	*argc = words;
	return ctld_paper(ctl, paper, &out->paper);
}

/* ctld_separator - write a separator sheet as out says */
static int
ctld_separator(const struct ctld_sheet_out *out)
{
	char err[DIRECTIVE_ERRLEN];

	if (sheet_write_separator(out->paper, out->path, err,
	    sizeof(err)) == -1) {
		fprintf(stderr, "gatewayctl: %s\n", err);
		return EX_CANTCREAT;
	}
	return 0;
}

/*
 * ctld_audit - a change made here, without the daemon (root opens the
 * store itself): logged to syslog with the uid, as the master logs the
 * changes it is asked for (control.c)
 */
static void
ctld_audit(int argc, char **argv)
{
	static const char *const reads[] = { "list", "show", "get", "sheet",
	    NULL };
	char words[1024], clean[2048];
	size_t off = 0, i;
	int n;

	for (i = 0; reads[i] != NULL; i++)
		if (strcmp(argv[0], reads[i]) == 0)
			return;
	words[0] = '\0';
	for (i = 0; i < (size_t)argc && off < sizeof(words); i++) {
		n = snprintf(words + off, sizeof(words) - off, " %s", argv[i]);
		if (n < 0)
			break;
		off += (size_t)n;
	}
	log_clean(clean, sizeof(clean), words, strlen(words));
	openlog("gatewayctl", LOG_PID, LOG_MAIL);
	syslog(LOG_INFO, "operator uid=%ld: directive%s", (long)getuid(), clean);
	closelog();
}

/* ctl_directive - gatewayctl directive ... */
int
ctl_directive(struct ctl *ctl, int argc, char **argv)
{
	struct ctld_sheet_out sheet, *output = NULL;
	int fd, rc;

	argc--;			/* "directive" */
	argv++;
	if (argc < 1)
		return ctld_usage();
	if (strcmp(argv[0], "sheet") == 0 || strcmp(argv[0], "separator") == 0) {
		if ((rc = ctld_sheet_args(ctl, &argc, argv, &sheet)) != 0)
			return rc;
		if (strcmp(argv[0], "separator") == 0)
			return ctld_separator(&sheet);
		output = &sheet;
	} else if (strcmp(argv[0], "dump") == 0)
		return ctld_usage();	/* internal to the control protocol */
	if (geteuid() != 0) {
		if ((fd = ctl_try_connect(ctl)) != -1)
			return ctld_remote(ctl, fd, argc, argv, output);
		if (errno == EACCES)
			return ctl_connect(ctl);	/* exits: no permission */
	}
	ctld_audit(argc, argv);
	return ctld_local(ctl, argc, argv, output);
}
