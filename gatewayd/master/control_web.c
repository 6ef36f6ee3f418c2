/*
 * control_web.c - requests that gatewayd-web makes for a logged-in user
 *
 * The web child holds no privilege of its own: it reaches the directive
 * store (and, for admins, the queue) only through the control socket,
 * like gatewayctl.  A connection is the web child's when the peer's
 * SO_PEERCRED process ID is that of a web child the master started (any
 * generation still alive); only such a connection may, and must, name
 * the user it acts for with "--as HEX".  That user's rights are decided
 * here, not by the web child: an admin (web.admins, or a member of
 * admin_group) sees and changes every directive; anyone else only their
 * own (directive_cmd_owned(), control_directive.c).  The commands a web
 * user may run are the table below (the queue console's for admins
 * only); anything else is refused.
 */
#include "config.h"

#include <sys/socket.h>

#include <fnmatch.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>

#include "cfg.h"
#include "control.h"
#include "control_int.h"
#include "directive_cmd.h"
#include "master.h"

/* The commands of a web user: name, subcommand (NULL any), admins only. */
static const struct control_web_cmd {
	const char *name;
	const char *sub;
	int admin;
} control_web_cmds[] = {
	{ "directive", NULL, 0 },
	/* the status of a message the user sent (checked in control_queue.c) */
	{ "queue", "state", 0 },
	/* the queue console (admins only): what gatewayctl does */
	{ "status", NULL, 1 },
	{ "stats", NULL, 1 },
	{ "queue", "list", 1 },
	{ "queue", "show", 1 },
	{ "queue", "log", 1 },
	{ "queue", "hold", 1 },
	{ "queue", "release", 1 },
	{ "queue", "delete", 1 },
	{ "queue", "retry", 1 },
	{ "pause", NULL, 1 },
	{ "resume", NULL, 1 },
};

/* control_web_pid - is pid a running web child of the master? */
static int
control_web_pid(pid_t pid)
{
	const struct master_child *c;

	for (c = master_children(); c != NULL; c = c->next)
		if (c->role == ROLE_WEB && c->pid != 0 && c->pid == pid)
			return 1;
	return 0;
}

/* control_web_peer - is the peer on fd a web child? */
int
control_web_peer(int fd)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == -1)
		return 0;
	return control_web_pid(cred.pid);
}

/* control_web_in_group - is the user name a member of admin_group? */
static int
control_web_in_group(const char *user, const char *group)
{
	struct passwd *pw;
	struct group *gr;
	gid_t groups[256];
	int n = 256, i;

	if (group == NULL || (gr = getgrnam(group)) == NULL ||
	    (pw = getpwnam(user)) == NULL)
		return 0;
	if (getgrouplist(pw->pw_name, pw->pw_gid, groups, &n) == -1)
		return 0;
	for (i = 0; i < n; i++)
		if (groups[i] == gr->gr_gid)
			return 1;
	return 0;
}

/* control_web_admin - does the user see everything? */
static int
control_web_admin(const char *user)
{
	const struct cfg *cfg = master_cfg();
	size_t i;

	for (i = 0; i < cfg->web.nadmins; i++)
		if (strcmp(cfg->web.admins[i], user) == 0)
			return 1;
	return control_web_in_group(user, cfg->admin_group);
}

/* control_web_user_allowed - may the user log in (web.users)? (control.h) */
int
control_web_user_allowed(const char *user)
{
	const struct cfg *cfg = master_cfg();
	size_t i;

	if (cfg->web.nusers == 0)
		return 1;
	for (i = 0; i < cfg->web.nusers; i++)
		if (fnmatch(cfg->web.users[i], user, 0) == 0)
			return 1;
	return 0;
}

/* control_web_name_ok - a login name as the web child may send it */
static int
control_web_name_ok(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++)
		if ((unsigned char)*s <= ' ' || *s == 0x7f)
			return 0;
	return 1;
}

/*
 * control_web_request - check a request's "--as" against its peer and set
 * req->as_user and as_admin; -1 with a reason when it must be refused
 */
int
control_web_request(struct control_req *req, int web, char *err,
    size_t errlen)
{
	size_t i;
	int n;

	if (!web && req->as == NULL)
		return 0;
	if (!web) {
		snprintf(err, errlen, "permission denied: --as is for gatewayd-web");
		return -1;
	}
	n = snprintf(req->as_user, sizeof(req->as_user), "%s",
	    req->as != NULL ? req->as : "");
	if (req->as == NULL || n < 0 || (size_t)n >= sizeof(req->as_user) ||
	    directive_unhex(req->as_user) == -1 ||
	    !control_web_name_ok(req->as_user)) {
		snprintf(err, errlen, "gatewayd-web: missing or malformed --as");
		return -1;
	}
	if (!control_web_user_allowed(req->as_user)) {
		snprintf(err, errlen, "permission denied: not in web.users");
		return -1;
	}
	req->as_admin = control_web_admin(req->as_user);
	for (i = 0; i < sizeof(control_web_cmds) / sizeof(control_web_cmds[0]);
	    i++) {
		const struct control_web_cmd *c = &control_web_cmds[i];

		if (strcmp(req->argv[0], c->name) != 0 || (c->sub != NULL &&
		    (req->argc < 2 || strcmp(req->argv[1], c->sub) != 0)))
			continue;
		if (c->admin && !req->as_admin)
			break;
		return 0;
	}
	snprintf(err, errlen, "permission denied: not a request for this user");
	return -1;
}
