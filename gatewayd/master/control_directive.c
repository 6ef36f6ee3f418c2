/*
 * control_directive.c - "directive ...": the directive store for the
 * clients of the control socket (root and admin_group)
 *
 * Runs in the unprivileged control child (the gateway user owns the
 * store).  The words after "directive" are hex-encoded by gatewayctl
 * ("=" for the empty string); the owner of a new directive is the user at
 * the other end of the socket (SO_PEERCRED), never a word of the request:
 * --owner is refused unless that user is root.  For gatewayd-web the
 * owner is the logged-in user it names (control_web.c), who sees only
 * their own directives unless an admin.
 * A PostgreSQL store is opened by control_directive_prepare() while the
 * child is still root (its password file is root's), then used after the drop.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/stat.h>

#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "cfg.h"
#include "control_int.h"
#include "directive_cmd.h"
#include "master.h"

#define CONTROL_DIRECTIVE_PATH	4096

/* the PostgreSQL store opened before the drop, or NULL; its error */
static struct directive_store *control_directive_pg;
static char control_directive_pgerr[DIRECTIVE_ERRLEN];

/* control_directive_prepare - in the control child, before the drop */
void
control_directive_prepare(const struct cfg *cfg)
{
	if (cfg->directives.store != CFG_DIR_STORE_POSTGRESQL)
		return;
	control_directive_pg = directive_store_open_pg(&cfg->directives.pg, 0,
	    control_directive_pgerr, sizeof(control_directive_pgerr));
}

/* control_directive_store - the store: PostgreSQL's, or SQLite's in the spool */
static struct directive_store *
control_directive_store(char *err, size_t errlen)
{
	char path[CONTROL_DIRECTIVE_PATH], *slash;

	if (master_cfg()->directives.store == CFG_DIR_STORE_POSTGRESQL) {
		if (control_directive_pg == NULL)
			snprintf(err, errlen, "%s", control_directive_pgerr);
		return control_directive_pg;
	}
	if (directive_store_path(master_cfg()->spool, path, sizeof(path)) ==
	    -1) {
		snprintf(err, errlen, "spool path too long");
		return NULL;
	}
	if ((slash = strrchr(path, '/')) != NULL) {
		*slash = '\0';
		(void)mkdir(path, 0750);	/* the router may not have yet */
		*slash = '/';
	}
	return directive_store_open(path, 1, err, errlen);
}

/*
 * control_directive_owner - the name of the user at the other end; 1 if
 * that is root (who may name another owner with --owner), else 0
 */
static int
control_directive_owner(int fd, char *buf, size_t len)
{
	struct ucred cred;
	socklen_t clen = sizeof(cred);
	struct passwd *pw;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) == -1) {
		snprintf(buf, len, "unknown");
		return 0;
	}
	if ((pw = getpwuid(cred.uid)) != NULL)
		snprintf(buf, len, "%s", pw->pw_name);
	else
		snprintf(buf, len, "uid %ld", (long)cred.uid);
	return cred.uid == 0;
}

/* control_directive - directive HEXWORD... */
int
control_directive(const struct control_req *req, struct spool *sp, FILE *fp,
    int notify)
{
	char err[DIRECTIVE_ERRLEN], owner[256];
	char *args[CONTROL_MAX_ARGS];
	struct directive_store *st;
	int i, n = 0, root;

	(void)sp;
	(void)notify;
	for (i = 1; i < req->argc; i++) {
		args[n] = strdup(req->argv[i]);
		if (args[n] == NULL || (strcmp(args[n], "=") == 0 ?
		    (args[n][0] = '\0', 0) : directive_unhex(args[n])) == -1) {
			fprintf(fp, "E%d malformed directive request (use a "
			    "gatewayctl of this version)\n", EX_PROTOCOL);
			free(args[n]);
			goto out;
		}
		n++;
	}
	if (req->as_user[0] != '\0') {	/* gatewayd-web's user (control_web.c) */
		snprintf(owner, sizeof(owner), "%s", req->as_user);
		root = 0;
	} else
		root = control_directive_owner(req->fd, owner, sizeof(owner));
	if ((st = control_directive_store(err, sizeof(err))) == NULL) {
		fprintf(fp, "E%d %s\n", EX_UNAVAILABLE, err);
		goto out;
	}
	(void)directive_cmd_owned(st, n, args, req->json, owner, root,
	    req->as_user[0] != '\0' && !req->as_admin, fp);
	if (st != control_directive_pg)	/* kept for the child's next request */
		directive_store_close(st);
out:
	for (i = 0; i < n; i++)
		free(args[i]);
	return 0;
}
