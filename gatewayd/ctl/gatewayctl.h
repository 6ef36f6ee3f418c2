/*
 * gatewayctl.h - what the gatewayctl(8) command files share
 *
 * gatewayctl.c holds main(), the connection and answer relay, and the
 * command table ctl_commands[]: adding a command family is one line there
 * plus its handler in a gatewayctl_<family>.c file.
 */
#ifndef GW_GATEWAYCTL_H
#define GW_GATEWAYCTL_H

#include <stddef.h>

struct ctl {
	const char *config;		/* -c */
	const char *sock;		/* -s, or from the config */
	int json;
	int prometheus;
	char **verb_words;		/* ctl_verb_args' block, freed by main */
};

/* A command family: argv[0] is its name; returns a sysexits(3) code. */
typedef int (*ctl_handler)(struct ctl *, int argc, char **argv);

/* The control socket path (from -s or the configuration file). */
const char *ctl_socket_path(struct ctl *);
/* Connect; -1 (errno set) when the daemon is not reachable. */
int ctl_try_connect(struct ctl *);
/* Connect or exit with a clear message (69 / 77). */
int ctl_connect(struct ctl *);
/*
 * Send argv (plus --json etc.) as one request and relay the answer:
 * output to stdout, "E<code>" lines to stderr.  Returns the exit code.
 */
int ctl_request(struct ctl *, int fd, int argc, char **argv);
/* Send the words and collect the whole answer (after "ok"); NULL on error with *rc. */
char *ctl_fetch(struct ctl *, int argc, char **argv, int *rc);
/* Relay an answer held in memory ("E<code>" lines to stderr); the exit code. */
int ctl_emit(const char *text);

/* An option a verb takes after it (getopt_long; letter 0: long only). */
struct ctl_verb_opt {
	const char *name;
	int has_arg;
	int letter;
};

/*
 * Parse the options after the first nverb words of argv with getopt_long
 * (--json and --prometheus too, as after the verb); *argvp becomes a new
 * array of the canonical words: the verb words, each option as "--name"
 * [value] in the order given, then the operands (one allocation, kept in
 * ctl->verb_words and freed by main).  Returns the new argc, or -1 after
 * a usage message for an unknown option or a missing value.
 */
int ctl_verb_args(struct ctl *, int argc, char ***argvp, int nverb,
    const struct ctl_verb_opt *opts);

int ctl_queue(struct ctl *, int argc, char **argv);	/* gatewayctl_queue.c */
int ctl_check(struct ctl *, int argc, char **argv);	/* gatewayctl_ops.c */
int ctl_monitor(struct ctl *, int argc, char **argv);	/* gatewayctl_ops.c */
int ctl_stats(struct ctl *, int argc, char **argv);	/* gatewayctl_ops.c */
int ctl_route(struct ctl *, int argc, char **argv);	/* gatewayctl_route.c */
int ctl_config(struct ctl *, int argc, char **argv);	/* gatewayctl_ops.c */

struct cfg;
/* cd into the spool, as its user when root (see gatewayctl.c); 0 or -1 */
int ctl_enter_spool(const struct cfg *);

#endif
