/*
 * pipe_config.c - settings of the pipe connector, checked in init()
 *
 * Every error names file:line:column of the setting.  The command is a
 * sequence of argv templates whose first element is an absolute path, or
 * a single text split at blanks; with shell: yes it is one text given to
 * /bin/sh -c, and then it may name no field: values reach a shell only as
 * environment variables ($GW_SENDER, ...), never as shell syntax.
 *
 * Compiled into gatewayd too, whose -n checks the settings with it
 * (gatewayd/conncheck.c).
 *
 * user: the deliverer that runs the commands has the gateway user's uid
 * and no way to change it (no privilege after start-up, the setuid calls
 * denied by its seccomp filter; doc/security.md), so user may only name
 * that user; any other is refused here, before anything starts.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gatewayd/connector.h>

#include "pipe.h"

#define PIPE_DEFAULT_TIMEOUT	300
#define PIPE_DEFAULT_OUTPUT	4096

static const char *const pipe_inputs[] = { "message", "attachments", "none",
	NULL };
static const char *const pipe_pers[] = { "job", "recipient", NULL };

/* pipe_cfg_err - "file:line:column: pipe: <key>: <what>" into err; -1 */
static int __attribute__((format(printf, 4, 5)))
pipe_cfg_err(const struct gw_node *n, char *err, size_t errlen,
    const char *fmt, ...)
{
	char what[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	snprintf(err, errlen, "%s:%u:%u: pipe: %s%s%s", n->file ? n->file :
	    "config", n->line, n->column, n->key ? n->key : "",
	    n->key ? ": " : "", what);
	return -1;
}

/* pipe_cfg_scalar - the node's text, or NULL after an error */
static const char *
pipe_cfg_scalar(const struct gw_node *n, char *err, size_t errlen)
{
	if (n->type != GW_NODE_SCALAR || n->value == NULL) {
		pipe_cfg_err(n, err, errlen, "must be a single value");
		return NULL;
	}
	return n->value;
}

/* pipe_cfg_word - the index of the value in words; -1 with err */
static int
pipe_cfg_word(const struct gw_node *n, const char *const *words, char *err,
    size_t errlen)
{
	const char *v = pipe_cfg_scalar(n, err, errlen);
	int i;

	for (i = 0; v != NULL && words[i] != NULL; i++)
		if (strcmp(v, words[i]) == 0)
			return i;
	if (v != NULL)
		pipe_cfg_err(n, err, errlen, "'%s' is not one of %s, %s%s%s", v,
		    words[0], words[1], words[2] ? ", " : "",
		    words[2] ? words[2] : "");
	return -1;
}

/* pipe_cfg_push - one argv template, checked */
static int
pipe_cfg_push(struct pipe_cfg *c, const struct gw_node *n, const char *t,
    char *err, size_t errlen)
{
	char why[256];

	if (c->argc == PIPE_ARGC_MAX)
		return pipe_cfg_err(n, err, errlen, "more than %d arguments",
		    PIPE_ARGC_MAX);
	if (pipe_template_check(t, c->argc == 0, &c->uses, why,
	    sizeof(why)) == -1)
		return pipe_cfg_err(n, err, errlen, "'%s': %s", t, why);
	if ((c->argv[c->argc++] = strdup(t)) == NULL)
		return pipe_cfg_err(n, err, errlen, "out of memory");
	return 0;
}

/* pipe_cfg_command - a sequence of templates, or a text split at blanks */
static int
pipe_cfg_command(struct pipe_cfg *c, const struct gw_node *n, char *err,
    size_t errlen)
{
	const struct gw_node *e;
	char *copy, *w, *save = NULL;
	int rc = 0;

	if (n->type == GW_NODE_SEQ && c->shell)
		return pipe_cfg_err(n, err, errlen, "with shell: yes the command "
		    "is one text");
	if (n->type == GW_NODE_SEQ) {
		for (e = n->child; e != NULL && rc == 0; e = e->next)
			rc = e->type != GW_NODE_SCALAR ? pipe_cfg_err(n, err,
			    errlen, "each element must be a text") :
			    pipe_cfg_push(c, e, e->value, err, errlen);
		return rc;
	}
	if (pipe_cfg_scalar(n, err, errlen) == NULL)
		return -1;
	if (c->shell) {		/* verbatim: braces and all are the shell's */
		if ((c->argv[0] = strdup(n->value)) == NULL)
			return pipe_cfg_err(n, err, errlen, "out of memory");
		c->argc = 1;
		return 0;
	}
	if ((copy = strdup(n->value)) == NULL)
		return -1;
	for (w = strtok_r(copy, " \t", &save); w != NULL && rc == 0;
	    w = strtok_r(NULL, " \t", &save))
		rc = pipe_cfg_push(c, n, w, err, errlen);
	free(copy);
	return rc;
}

/* pipe_cfg_user - the user: only the one the deliverer runs as */
static int
pipe_cfg_user(struct pipe_cfg *c, const struct gw_node *n, char *err,
    size_t errlen)
{
	const char *v = pipe_cfg_scalar(n, err, errlen);
	struct passwd *pw;

	if (v == NULL)
		return -1;
	if ((pw = getpwnam(v)) == NULL)
		return pipe_cfg_err(n, err, errlen, "no user '%s'", v);
	if (pw->pw_uid != c->uid)
		return pipe_cfg_err(n, err, errlen, "commands run as the "
		    "gateway's user %s (uid %lu), not as %s: the deliverer "
		    "cannot change users (see gatewayd-connector(3))", c->user,
		    (unsigned long)c->uid, v);
	return 0;
}

/* pipe_cfg_key - one setting (command: noted, read once shell is known) */
static int
pipe_cfg_key(struct pipe_cfg *c, const struct gw_node *n,
    const struct gw_node **cmd, char *err, size_t errlen)
{
	unsigned long long v = 0;
	int i = 0, b = 0;

	if (n->key == NULL)
		return pipe_cfg_err(n, err, errlen, "settings must be a map");
	if (strcmp(n->key, "command") == 0)
		*cmd = n;
	else if (strcmp(n->key, "user") == 0)
		return pipe_cfg_user(c, n, err, errlen);
	else if (strcmp(n->key, "shell") == 0)
		i = gw_node_bool(n, &b, err, errlen), c->shell = b;
	else if (strcmp(n->key, "input") == 0)
		i = pipe_cfg_word(n, pipe_inputs, err, errlen),
		    c->input = (enum pipe_input)i;
	else if (strcmp(n->key, "per") == 0)
		i = pipe_cfg_word(n, pipe_pers, err, errlen),
		    c->per = (enum pipe_per)i;
	else if (strcmp(n->key, "timeout") == 0)
		i = gw_node_duration(n, 1, 86400, &v, err, errlen),
		    c->timeout = (unsigned int)v;
	else if (strcmp(n->key, "output_limit") == 0)
		i = gw_node_size(n, 0, PIPE_OUTPUT_MAX, &v, err, errlen),
		    c->output_limit = (size_t)v;
	else if (strcmp(n->key, "tmpdir") == 0) {
		if (pipe_cfg_scalar(n, err, errlen) == NULL)
			return -1;
		if (n->value[0] != '/' || strlen(n->value) >= sizeof(c->tmpdir))
			return pipe_cfg_err(n, err, errlen, "must be an "
			    "absolute path");
		snprintf(c->tmpdir, sizeof(c->tmpdir), "%s", n->value);
	} else
		return pipe_cfg_err(n, err, errlen, "unknown setting");
	return i < 0 ? -1 : 0;
}

/* pipe_cfg_ids - the user commands run as, and its home */
static void
pipe_cfg_ids(struct pipe_cfg *c, uid_t uid)
{
	struct passwd *pw;

	c->uid = uid;
	if ((pw = getpwuid(c->uid)) != NULL) {
		snprintf(c->user, sizeof(c->user), "%s", pw->pw_name);
		snprintf(c->home, sizeof(c->home), "%s", pw->pw_dir);
	} else {
		snprintf(c->user, sizeof(c->user), "%lu", (unsigned long)c->uid);
		snprintf(c->home, sizeof(c->home), "/");
	}
}

/* pipe_cfg_final - the checks that need every key */
static int
pipe_cfg_final(struct pipe_cfg *c, const struct gw_node *settings,
    char *err, size_t errlen)
{
	struct stat st;

	if (c->argc == 0)
		return pipe_cfg_err(settings, err, errlen, "setting 'command' "
		    "is required");
	if (c->shell && c->argc != 1)
		return pipe_cfg_err(settings, err, errlen, "with shell: yes the "
		    "command is one text, not templated (use $GW_SENDER, "
		    "$GW_RECIPIENT, ... in it)");
	if (!c->shell && c->argv[0][0] != '/')
		return pipe_cfg_err(settings, err, errlen, "the command '%s' "
		    "must be an absolute path", c->argv[0]);
	if (!c->shell && (stat(c->argv[0], &st) == -1 ||
	    !S_ISREG(st.st_mode) || (st.st_mode & 0111) == 0))
		return pipe_cfg_err(settings, err, errlen, "the command %s is "
		    "not an executable file", c->argv[0]);
	if ((c->input == PIPE_IN_ATTACHMENTS ||
	    (c->uses & PIPE_F_BIT(PIPE_F_ATTACHMENTS))) &&
	    (stat(c->tmpdir, &st) == -1 || !S_ISDIR(st.st_mode)))
		return pipe_cfg_err(settings, err, errlen, "tmpdir %s is not a "
		    "directory", c->tmpdir);
	return 0;
}

/*
 * pipe_config - parse and check the settings for commands run as uid;
 * -1 with err (also gatewayd -n's check: no gw_* call here)
 */
int
pipe_config(struct pipe_cfg *c, const struct gw_node *settings, uid_t uid,
    char *err, size_t errlen)
{
	const struct gw_node *n, *cmd = NULL;

	memset(c, 0, sizeof(*c));
	c->timeout = PIPE_DEFAULT_TIMEOUT;
	c->output_limit = PIPE_DEFAULT_OUTPUT;
	snprintf(c->tmpdir, sizeof(c->tmpdir), "/tmp");
	pipe_cfg_ids(c, uid);
	if (settings == NULL || settings->type != GW_NODE_MAP) {
		snprintf(err, errlen, "pipe: settings with a 'command' are "
		    "required");
		return -1;
	}
	for (n = settings->child; n != NULL; n = n->next)
		if (pipe_cfg_key(c, n, &cmd, err, errlen) == -1)
			return -1;
	if (cmd != NULL && pipe_cfg_command(c, cmd, err, errlen) == -1)
		return -1;
	return pipe_cfg_final(c, settings, err, errlen);
}

/* pipe_config_free - release the templates */
void
pipe_config_free(struct pipe_cfg *c)
{
	size_t i;

	for (i = 0; i < c->argc; i++)
		free(c->argv[i]);
	c->argc = 0;
}
