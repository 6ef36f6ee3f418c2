/*
 * pipe.h - internal interface of the pipe connector (pipe*.c)
 *
 * pipe.c is the connector entry (init, deliver, fini) and turns a job into
 * invocations; pipe_config.c reads and checks the settings; pipe_argv.c
 * checks and expands the argv templates, maps exit statuses and escapes
 * the command's first output line (no GMime, no gw_* calls: the unit tests
 * link it alone); pipe_run.c runs one command with a timeout and a bound
 * on the output kept; pipe_attach.c extracts the attachments into a
 * private temporary directory (the folder connector's folder_mime.c).
 */
#ifndef GW_PIPE_H
#define GW_PIPE_H

#include <limits.h>
#include <stddef.h>
#include <sys/types.h>

#define PIPE_ARGC_MAX		64	/* configured argv elements */
#define PIPE_TEMPLATE_MAX	1024	/* one argv template */
#define PIPE_ARG_MAX		8192	/* one expanded argument */
#define PIPE_ARGS_MAX		4096	/* expanded argv elements in all */
#define PIPE_OUTPUT_MAX		(1024 * 1024)	/* output_limit's ceiling */
#define PIPE_LINE_MAX		200	/* first output line in a DSN */

enum pipe_input { PIPE_IN_MESSAGE = 0, PIPE_IN_ATTACHMENTS, PIPE_IN_NONE };
enum pipe_per { PIPE_PER_JOB = 0, PIPE_PER_RCPT };

/* The template fields; PIPE_F_RCPT_MASK are those of one recipient. */
enum pipe_field {
	PIPE_F_SENDER = 0, PIPE_F_RECIPIENT, PIPE_F_FAX, PIPE_F_NAME,
	PIPE_F_COMPANY, PIPE_F_FLAGS, PIPE_F_QUEUE_ID, PIPE_F_ATTACHMENTS,
	PIPE_F_COUNT
};
#define PIPE_F_BIT(f)		(1u << (f))
#define PIPE_F_RCPT_MASK	(PIPE_F_BIT(PIPE_F_RECIPIENT) | \
	PIPE_F_BIT(PIPE_F_FAX) | PIPE_F_BIT(PIPE_F_NAME) | \
	PIPE_F_BIT(PIPE_F_COMPANY) | PIPE_F_BIT(PIPE_F_FLAGS))

struct pipe_cfg {
	char *argv[PIPE_ARGC_MAX + 1];	/* templates (shell: the command line) */
	size_t argc;
	int shell;			/* run argv[0] with /bin/sh -c */
	enum pipe_input input;
	enum pipe_per per;
	unsigned int timeout;		/* seconds */
	size_t output_limit;		/* bytes of output kept */
	char tmpdir[PATH_MAX];		/* where attachment directories are made */
	unsigned int uses;		/* PIPE_F_BIT of every field named */
	uid_t uid;			/* the user commands run as */
	char user[64], home[PATH_MAX];
};

/* The values of one invocation: a unit's recipients, the files. */
struct pipe_values {
	const char *sender, *queue_id;
	size_t nrcpt;
	const char *const *rcpt[PIPE_F_FLAGS + 1];	/* per rcpt field: n values */
	size_t nfiles;
	const char *const *files;
};

/* An expanded argv, NULL-terminated. */
struct pipe_argv {
	char **v;
	size_t n, cap;
};

/* What became of one command. */
struct pipe_outcome {
	int status;			/* wait status, when exited or signalled */
	int timed_out;			/* killed at the timeout */
	char *out;			/* the first output_limit bytes, NUL-ended */
	size_t outlen;
	int truncated;			/* more output was discarded */
	char why[256];			/* the connector's own failure, or "" */
};

/* A result the way gw_rcpt_set_result() takes it. */
struct pipe_result {
	int result;			/* enum gw_result */
	int code;
	const char *status;
	char text[512];
};

/* pipe_argv.c */
int pipe_template_check(const char *, int, unsigned int *, char *, size_t);
int pipe_argv_build(char *const *, size_t, const struct pipe_values *,
    struct pipe_argv *, char *, size_t);
int pipe_argv_add(struct pipe_argv *, const char *);
void pipe_argv_free(struct pipe_argv *);
void pipe_exit_map(const struct pipe_outcome *, const char *,
    struct pipe_result *);
void pipe_first_line(const char *, size_t, char *, size_t);

/* pipe_config.c */
struct gw_node;
int pipe_config(struct pipe_cfg *, const struct gw_node *, uid_t, char *,
    size_t);
void pipe_config_free(struct pipe_cfg *);

/* pipe_run.c: one command; stdin_fd -1 with msg NULL is /dev/null */
struct gw_message;
struct pipe_cmd {
	char *const *argv, *const *envp;
	int stdin_fd;			/* a file for stdin, or -1 */
	struct gw_message *msg;		/* or the message fed on stdin */
	const char *cwd;
	unsigned int timeout;
	size_t output_limit;
};
void pipe_run(const struct pipe_cmd *, struct pipe_outcome *);
void pipe_outcome_free(struct pipe_outcome *);

/* pipe_attach.c: the documents of a message as files in a new directory */
struct gw_envelope;
struct pipe_files {
	char dir[PATH_MAX];		/* "" when none was made */
	char **paths;
	size_t n;
	char notes[512];		/* what could not be extracted */
};
void pipe_attach_init(void);
int pipe_attach_extract(const struct pipe_cfg *, const struct gw_envelope *,
    struct gw_message *, struct pipe_files *, char *, size_t);
void pipe_attach_remove(struct pipe_files *);

#endif
