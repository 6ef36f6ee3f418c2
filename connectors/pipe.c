/*
 * pipe.c - the "pipe" connector: hand each message to a command, as
 * Postfix's pipe(8) does
 *
 * A job's recipients are one invocation (per: job; an argument naming a
 * recipient field becomes one argument per recipient) or one each (per:
 * recipient).  The argv comes from templates (pipe_argv.c), never from a
 * shell unless shell: yes, and then the values reach the shell only as
 * environment variables.  Standard input is the message, nothing, or,
 * with input: attachments, each extracted document in turn (one
 * invocation per document, all of which must succeed).  Attachments are
 * extracted into a private directory that is removed after the commands
 * (pipe_attach.c).  The exit status decides the recipients' results
 * (pipe_exit_map()); a command that outlives its timeout is killed with
 * its process group and deferred (pipe_run.c).
 *
 * The connector declares GW_NEED_EXEC: its delivery children's seccomp
 * filter allows execve, and only theirs (doc/security.md).
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <gatewayd/connector.h>

#include "pipe.h"

/* The per-recipient fields and the routing parameters they come from. */
static const char *const pipe_params[PIPE_F_FLAGS + 1] = {
	NULL, NULL, "fax", "name", "company", "flags"
};
static const char *const pipe_envnames[PIPE_F_FLAGS + 1] = {
	"GW_SENDER", "GW_RECIPIENT", "GW_FAX", "GW_NAME", "GW_COMPANY",
	"GW_FLAGS"
};

/* One invocation's recipients and what they are handed. */
struct pipe_unit {
	const struct gw_envelope *env;
	struct gw_message *msg;
	const size_t *idx;		/* recipients of the envelope */
	size_t n;
	const struct pipe_files *files;
	const char **vals[PIPE_F_FLAGS + 1];	/* per field, n values */
};

/* pipe_init - parse and check the settings */
static int
pipe_init(const struct gw_node *settings, void **ctx, char *err,
    size_t errlen)
{
	struct pipe_cfg *c;
	uid_t uid;
	gid_t gid;

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		snprintf(err, errlen, "pipe: out of memory");
		return -1;
	}
	if (gw_run_ids(&uid, &gid) == -1)
		uid = geteuid();	/* developer mode: the ids stay */
	if (pipe_config(c, settings, uid, err, errlen) == -1) {
		pipe_config_free(c);
		free(c);
		return -1;
	}
	if (c->input == PIPE_IN_ATTACHMENTS ||
	    (c->uses & PIPE_F_BIT(PIPE_F_ATTACHMENTS)))
		pipe_attach_init();
	*ctx = c;
	return 0;
}

/*
 * pipe_check - the settings as pipe_init reads them, nothing started
 * (gatewayd -n, gatewayctl check: run in a worker as the gateway's user)
 */
static int
pipe_check(const struct gw_node *settings, char *err, size_t errlen)
{
	struct pipe_cfg c;
	uid_t uid;
	gid_t gid;
	int rc;

	memset(&c, 0, sizeof(c));
	if (gw_run_ids(&uid, &gid) == -1)
		uid = geteuid();
	rc = pipe_config(&c, settings, uid, err, errlen);
	pipe_config_free(&c);
	return rc;
}

/* pipe_unit_values - the recipients' fields ("" when a value is absent) */
static void
pipe_unit_values(struct pipe_unit *u)
{
	const char *v;
	size_t f, i;

	for (f = PIPE_F_RECIPIENT; f <= PIPE_F_FLAGS; f++) {
		u->vals[f] = calloc(u->n, sizeof(char *));
		if (u->vals[f] == NULL)
			abort();
		for (i = 0; i < u->n; i++) {
			struct gw_rcpt *r = u->env->rcpt[u->idx[i]];

			v = f == PIPE_F_RECIPIENT ? gw_rcpt_address(r) :
			    gw_rcpt_param(r, pipe_params[f]);
			u->vals[f][i] = v != NULL ? v : "";
		}
	}
}

/* pipe_env_add - NAME=value into the environment */
static void
pipe_env_add(struct pipe_argv *e, const char *name, const char *value)
{
	char *s;

	if (asprintf(&s, "%s=%s", name, value ? value : "") == -1)
		abort();
	(void)pipe_argv_add(e, s);
	free(s);
}

/* pipe_env_list - NAME=v1\nv2... for one field of every recipient */
static void
pipe_env_list(struct pipe_argv *e, const char *name, const char *const *v,
    size_t n)
{
	size_t i, len = 1;
	char *s;

	for (i = 0; i < n; i++)
		len += strlen(v[i]) + 1;
	if ((s = calloc(1, len)) == NULL)
		abort();
	for (i = 0; i < n; i++) {
		strcat(s, v[i]);
		if (i + 1 < n)
			strcat(s, "\n");
	}
	pipe_env_add(e, name, s);
	free(s);
}

/* pipe_env - the command's whole environment (nothing of the worker's) */
static void
pipe_env(const struct pipe_cfg *c, const struct pipe_unit *u,
    struct pipe_argv *e)
{
	size_t f;

	memset(e, 0, sizeof(*e));
	pipe_env_add(e, "PATH", "/usr/local/bin:/usr/bin:/bin");
	pipe_env_add(e, "HOME", c->home);
	pipe_env_add(e, "USER", c->user);
	pipe_env_add(e, "LOGNAME", c->user);
	pipe_env_add(e, "SHELL", "/bin/sh");
	pipe_env_add(e, "TMPDIR", u->files->dir[0] ? u->files->dir : c->tmpdir);
	pipe_env_add(e, "GW_QUEUE_ID", u->env->queue_id);
	pipe_env_add(e, "GW_SENDER", u->env->sender);
	for (f = PIPE_F_RECIPIENT; f <= PIPE_F_FLAGS; f++)
		pipe_env_list(e, pipe_envnames[f], u->vals[f], u->n);
	if (u->files->dir[0] != '\0') {
		pipe_env_add(e, "GW_ATTACHMENT_DIR", u->files->dir);
		pipe_env_list(e, "GW_ATTACHMENTS",
		    (const char *const *)u->files->paths, u->files->n);
	}
}

/* pipe_argv_for - the argv of the unit: templates, or sh -c */
static int
pipe_argv_for(const struct pipe_cfg *c, const struct pipe_unit *u,
    struct pipe_argv *a, char *err, size_t errlen)
{
	struct pipe_values v;
	size_t f;

	if (c->shell) {
		memset(a, 0, sizeof(*a));
		(void)pipe_argv_add(a, "/bin/sh");
		(void)pipe_argv_add(a, "-c");
		(void)pipe_argv_add(a, c->argv[0]);
		return 0;
	}
	memset(&v, 0, sizeof(v));
	v.sender = u->env->sender;
	v.queue_id = u->env->queue_id;
	v.nrcpt = u->n;
	for (f = PIPE_F_RECIPIENT; f <= PIPE_F_FLAGS; f++)
		v.rcpt[f] = u->vals[f];
	v.nfiles = u->files->n;
	v.files = (const char *const *)u->files->paths;
	return pipe_argv_build(c->argv, c->argc, &v, a, err, errlen);
}

/* pipe_name - the command's name for messages */
static const char *
pipe_name(const struct pipe_cfg *c)
{
	const char *s;

	if (c->shell)
		return "sh";
	return (s = strrchr(c->argv[0], '/')) != NULL ? s + 1 : c->argv[0];
}

/* pipe_stdin - the file of document k, the message, or nothing */
static int
pipe_stdin(const struct pipe_cfg *c, const struct pipe_unit *u, size_t k,
    struct pipe_cmd *cmd, struct pipe_outcome *o)
{
	cmd->stdin_fd = -1;
	cmd->msg = NULL;
	if (c->input == PIPE_IN_MESSAGE) {
		if (gw_message_rewind(u->msg) == -1) {
			snprintf(o->why, sizeof(o->why), "cannot read the "
			    "message: %s", strerror(errno));
			return -1;
		}
		cmd->msg = u->msg;
	} else if (c->input == PIPE_IN_ATTACHMENTS &&
	    (cmd->stdin_fd = open(u->files->paths[k], O_RDONLY |
	    O_CLOEXEC)) == -1) {
		snprintf(o->why, sizeof(o->why), "%s: %s", u->files->paths[k],
		    strerror(errno));
		return -1;
	}
	return 0;
}

/* pipe_invoke - one command run: document k (input: attachments) */
static void
pipe_invoke(const struct pipe_cfg *c, const struct pipe_unit *u, size_t k,
    struct pipe_result *res)
{
	struct pipe_argv argv, envp;
	struct pipe_outcome o;
	struct pipe_cmd cmd;
	struct timespec t0, t1;

	memset(&o, 0, sizeof(o));
	memset(&cmd, 0, sizeof(cmd));
	if (pipe_argv_for(c, u, &argv, o.why, sizeof(o.why)) == -1) {
		pipe_exit_map(&o, pipe_name(c), res);
		res->result = GW_RESULT_PERMFAIL;	/* the values never fit */
		res->code = 550;
		res->status = "5.3.0";
		return;
	}
	pipe_env(c, u, &envp);
	cmd.argv = argv.v;
	cmd.envp = envp.v;
	cmd.cwd = u->files->dir[0] ? u->files->dir : "/";
	cmd.timeout = c->timeout;
	cmd.output_limit = c->output_limit;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (pipe_stdin(c, u, k, &cmd, &o) == 0)
		pipe_run(&cmd, &o);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (cmd.stdin_fd != -1)
		close(cmd.stdin_fd);
	pipe_exit_map(&o, pipe_name(c), res);
	gw_log(res->result == GW_RESULT_OK ? GW_LOG_INFO : GW_LOG_WARNING,
	    "pipe: %s (%.1f s%s)", res->text, (double)(t1.tv_sec - t0.tv_sec) +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9, o.truncated ?
	    ", output past output_limit discarded" : "");
	pipe_outcome_free(&o);
	pipe_argv_free(&argv);
	pipe_argv_free(&envp);
}

/* pipe_unit_run - the unit's invocations; the first failure ends them */
static void
pipe_unit_run(const struct pipe_cfg *c, struct pipe_unit *u)
{
	struct pipe_result res;
	size_t k, n, i, f;

	pipe_unit_values(u);
	n = c->input == PIPE_IN_ATTACHMENTS ? u->files->n : 1;
	memset(&res, 0, sizeof(res));
	for (k = 0; k < n; k++) {
		memset(&res, 0, sizeof(res));
		pipe_invoke(c, u, k, &res);
		if (res.result != GW_RESULT_OK)
			break;
	}
	for (i = 0; i < u->n; i++)
		gw_rcpt_set_result(u->env->rcpt[u->idx[i]],
		    (enum gw_result)res.result, res.code, res.status, "%s",
		    res.text);
	for (f = PIPE_F_RECIPIENT; f <= PIPE_F_FLAGS; f++)
		free(u->vals[f]);
}

/* pipe_fail_all - every recipient deferred with the reason */
static void
pipe_fail_all(const struct gw_envelope *env, const char *why)
{
	size_t i;

	gw_log(GW_LOG_WARNING, "pipe: %s", why);
	for (i = 0; i < env->nrcpt; i++)
		gw_rcpt_set_result(env->rcpt[i], GW_RESULT_TEMPFAIL, 451,
		    "4.3.0", "pipe: %s", why);
}

/* pipe_deliver - extract when asked, then one unit per job or recipient */
static void
pipe_deliver(void *ctx, const struct gw_envelope *env,
    struct gw_message *msg)
{
	const struct pipe_cfg *c = ctx;
	struct pipe_files files;
	struct pipe_unit u;
	char err[512];
	size_t *idx, i;

	memset(&files, 0, sizeof(files));
	if ((c->input == PIPE_IN_ATTACHMENTS ||
	    (c->uses & PIPE_F_BIT(PIPE_F_ATTACHMENTS))) &&
	    pipe_attach_extract(c, env, msg, &files, err, sizeof(err)) == -1) {
		pipe_fail_all(env, err);
		return;
	}
	if (files.notes[0] != '\0')
		gw_log(GW_LOG_WARNING, "pipe: %s", files.notes);
	if ((idx = calloc(env->nrcpt + 1, sizeof(*idx))) == NULL)
		abort();
	for (i = 0; i < env->nrcpt; i++)
		idx[i] = i;
	memset(&u, 0, sizeof(u));
	u.env = env;
	u.msg = msg;
	u.files = &files;
	for (i = 0; i < env->nrcpt; i += u.n) {
		u.idx = idx + i;
		u.n = c->per == PIPE_PER_RCPT ? 1 : env->nrcpt;
		pipe_unit_run(c, &u);
	}
	free(idx);
	pipe_attach_remove(&files);
}

/* pipe_fini - free the settings */
static void
pipe_fini(void *ctx)
{
	if (ctx != NULL)
		pipe_config_free(ctx);
	free(ctx);
}

GW_CONNECTOR_DEFINE_ALL("pipe", "1.0", pipe_init, pipe_deliver, pipe_fini,
    pipe_check, GW_NEED_EXEC);
