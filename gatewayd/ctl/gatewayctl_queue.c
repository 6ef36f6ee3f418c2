/*
 * gatewayctl_queue.c - gatewayctl queue ...: IDs from the command line or
 * standard input, sent in batches; list, show and check also work with the
 * daemon down, reading the spool named in the configuration file.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "cfg.h"
#include "control_proto.h"
#include "gatewayctl.h"
#include "proc.h"
#include "spool.h"

#define CTL_BATCH	500	/* queue IDs per request */
#define CTL_MAX_IDS	1000000

struct ctl_words {
	char **v;
	size_t n, cap;
};

/* words_add - append a word (not copied) */
static void
words_add(struct ctl_words *w, char *s)
{
	if (w->n + 1 >= w->cap) {
		w->cap = w->cap ? w->cap * 2 : 64;
		if ((w->v = reallocarray(w->v, w->cap, sizeof(*w->v))) == NULL)
			exit(EX_OSERR);
	}
	w->v[w->n++] = s;
	w->v[w->n] = NULL;
}

/* ctl_read_stdin_ids - queue IDs separated by white space */
static int
ctl_read_stdin_ids(struct ctl_words *ids)
{
	char buf[256];
	int ch;
	size_t len = 0;
	char *s;

	for (;;) {
		ch = getchar();
		if (ch == EOF || isspace(ch)) {
			if (len > 0) {
				buf[len] = '\0';
				if (ids->n >= CTL_MAX_IDS ||
				    (s = strdup(buf)) == NULL)
					return -1;
				words_add(ids, s);
				len = 0;
			}
			if (ch == EOF)
				return 0;
			continue;
		}
		if (len + 1 >= sizeof(buf)) {
			buf[sizeof(buf) - 1] = '\0';
			fprintf(stderr, "gatewayctl: standard input: '%.40s...' "
			    "is not a queue ID\n", buf);
			return -1;
		}
		buf[len++] = (char)ch;
	}
}

static int ctl_queue_ids(struct ctl *, int, char **, struct ctl_words *,
    struct ctl_words *);

/* ctl_queue_batches - send the action in batches of IDs; first error wins */
static int
ctl_queue_batches(struct ctl *ctl, struct ctl_words *fixed,
    struct ctl_words *ids)
{
	struct ctl_words w = { NULL, 0, 0 };
	size_t i, j;
	int rc = 0, r;

	if (ids->n == 0)
		return ctl_request(ctl, ctl_connect(ctl), (int)fixed->n,
		    fixed->v);
	for (i = 0; i < ids->n; i += CTL_BATCH) {
		w.n = 0;
		for (j = 0; j < fixed->n; j++)
			words_add(&w, fixed->v[j]);
		for (j = i; j < ids->n && j < i + CTL_BATCH; j++)
			words_add(&w, ids->v[j]);
		r = ctl_request(ctl, ctl_connect(ctl), (int)w.n, w.v);
		if (rc == 0)
			rc = r;
	}
	free(w.v);
	return rc;
}

/* ctl_offline_req - the options of a request, parsed like the daemon does */
static int
ctl_offline_req(struct ctl *ctl, int argc, char **argv,
    struct control_req *req)
{
	int i;

	memset(req, 0, sizeof(*req));
	req->older_than = -1;
	req->json = ctl->json;
	for (i = 0; i < argc && req->argc < CONTROL_MAX_ARGS; i++) {
		if (strcmp(argv[i], "--body") == 0)
			req->body = 1;
		else if (strcmp(argv[i], "--repair") == 0)
			req->repair = 1;
		else if (strcmp(argv[i], "--json") == 0)
			req->json = 1;
		else if (i + 1 < argc && strcmp(argv[i], "--connector") == 0)
			req->connector = argv[++i];
		else if (i + 1 < argc && strcmp(argv[i], "--state") == 0)
			req->state = argv[++i];
		else if (i + 1 < argc && strcmp(argv[i], "--sender") == 0)
			req->sender = argv[++i];
		else if (i + 1 < argc && strcmp(argv[i], "--recipient") == 0)
			req->recipient = argv[++i];
		else if (i + 1 < argc && strcmp(argv[i], "--older-than") == 0)
			req->older_than = atol(argv[++i]);
		else if (strncmp(argv[i], "--", 2) == 0) {
			fprintf(stderr, "gatewayctl: unknown option %s\n",
			    argv[i]);
			return EX_USAGE;
		} else
			req->argv[req->argc++] = argv[i];
	}
	return 0;
}

/* ctl_offline - list, show, check straight from the spool */
static int
ctl_offline(struct ctl *ctl, int argc, char **argv, control_child_fn fn)
{
	char err[CFG_ERRLEN], *out = NULL;
	struct control_req req;
	struct spool *sp;
	struct cfg *cfg;
	size_t outlen = 0;
	FILE *fp;
	int rc = 0;

	if ((rc = ctl_offline_req(ctl, argc, argv, &req)) != 0)
		return rc;
	if ((cfg = cfg_load_file(ctl->config, err, sizeof(err))) == NULL) {
		fprintf(stderr, "gatewayctl: gatewayd is not running and the "
		    "configuration cannot be read: %s\n", err);
		return EX_CONFIG;
	}
	/*
	 * root becomes the spool user before it opens anything in the spool:
	 * a symlinked corrupt/, data/ or tmp/ then leads --repair nowhere the
	 * user could not go already (doc/security.md)
	 */
	if (ctl_enter_spool(cfg) == -1) {
		cfg_free(cfg);
		return EX_NOPERM;
	}
	if ((sp = spool_open(".", 0, (uid_t)-1, (gid_t)-1, err,
	    sizeof(err))) == NULL) {
		fprintf(stderr, "gatewayctl: gatewayd is not running and the "
		    "spool cannot be opened: %s\n", err);
		cfg_free(cfg);
		return EX_NOPERM;
	}
	fprintf(stderr, "gatewayctl: gatewayd is not running: reading the "
	    "spool %s directly\n", cfg->spool);
	cfg_free(cfg);
	if ((fp = open_memstream(&out, &outlen)) == NULL) {
		spool_close(sp);
		return EX_OSERR;
	}
	fn(&req, sp, fp, -1);
	fclose(fp);
	rc = ctl_emit(out);
	free(out);
	spool_close(sp);
	return rc;
}

/* The options of each queue subcommand (getopt_long, gatewayctl.c). */
static const struct ctl_verb_opt ctl_queue_list_opts[] = {
	{ "state", 1, 's' }, { "connector", 1, 0 }, { "sender", 1, 0 },
	{ "recipient", 1, 0 }, { "older-than", 1, 0 }, { NULL, 0, 0 }
};
static const struct ctl_verb_opt ctl_queue_show_opts[] = {
	{ "body", 0, 0 }, { NULL, 0, 0 }
};
static const struct ctl_verb_opt ctl_queue_check_opts[] = {
	{ "repair", 0, 0 }, { NULL, 0, 0 }
};
static const struct ctl_verb_opt ctl_queue_no_opts[] = {
	{ NULL, 0, 0 }
};
static const struct ctl_verb_opt ctl_queue_action_opts[] = {
	{ "connector", 1, 0 }, { NULL, 0, 0 }
};

/* ctl_queue_opts - the option table of a subcommand */
static const struct ctl_verb_opt *
ctl_queue_opts(const char *sub)
{
	if (strcmp(sub, "list") == 0)
		return ctl_queue_list_opts;
	if (strcmp(sub, "show") == 0)
		return ctl_queue_show_opts;
	if (strcmp(sub, "check") == 0)
		return ctl_queue_check_opts;
	if (strcmp(sub, "log") == 0)
		return ctl_queue_no_opts;
	return ctl_queue_action_opts;
}

/* ctl_queue_log - queue log ID: the message's lines of the daemon's log */
static int
ctl_queue_log(struct ctl *ctl, int fd, int argc, char **argv)
{
	if (argc != 3) {
		close(fd);
		fprintf(stderr, "gatewayctl: usage: queue log ID\n");
		return EX_USAGE;
	}
	return ctl_request(ctl, fd, argc, argv);
}

/* ctl_queue - gatewayctl queue SUBCOMMAND ... */
int
ctl_queue(struct ctl *ctl, int argc, char **argv)
{
	struct ctl_words fixed = { NULL, 0, 0 }, ids = { NULL, 0, 0 };
	control_child_fn offline = NULL;
	int i, fd, rc;

	if (argc < 2) {
		fprintf(stderr, "gatewayctl: queue: missing subcommand (list, "
		    "show, log, hold, release, delete, retry, requeue, expire, "
		    "check)\n");
		return EX_USAGE;
	}
	/* -s deferred is --state here, not the global socket option */
	if ((argc = ctl_verb_args(ctl, argc, &argv, 2,
	    ctl_queue_opts(argv[1]))) == -1)
		return EX_USAGE;
	if (strcmp(argv[1], "list") == 0)
		offline = control_queue_list;
	else if (strcmp(argv[1], "show") == 0)
		offline = control_queue_show;
	else if (strcmp(argv[1], "check") == 0)
		offline = control_queue_check;
	if ((fd = ctl_try_connect(ctl)) == -1) {
		if (errno == EACCES)
			return ctl_connect(ctl);	/* exits: no permission */
		if (offline != NULL)
			return ctl_offline(ctl, argc, argv, offline);
		fprintf(stderr, "gatewayctl: cannot reach gatewayd at %s: %s; "
		    "'queue %s' needs the running daemon (only list, show and "
		    "check work without it)\n", ctl->sock, strerror(errno),
		    argv[1]);
		return EX_UNAVAILABLE;
	}
	if (offline != NULL)
		return ctl_request(ctl, fd, argc, argv);
	if (strcmp(argv[1], "log") == 0)
		return ctl_queue_log(ctl, fd, argc, argv);
	close(fd);
	rc = ctl_queue_ids(ctl, argc, argv, &fixed, &ids);
	free(fixed.v);
	for (i = 0; i < (int)ids.n; i++)
		free(ids.v[i]);
	free(ids.v);
	return rc;
}

/* ctl_queue_ids - split arguments into the fixed words and the queue IDs */
static int
ctl_queue_ids(struct ctl *ctl, int argc, char **argv, struct ctl_words *fixedp,
    struct ctl_words *idsp)
{
	int i, stdin_used = 0;
	char *s;

	for (i = 0; i < argc; i++) {
		int is_opt_val = i > 0 && strcmp(argv[i - 1], "--connector") == 0;

		if (i < 2 || strncmp(argv[i], "--", 2) == 0 || is_opt_val ||
		    strcmp(argv[i], "ALL") == 0)
			words_add(fixedp, argv[i]);
		else if (strcmp(argv[i], "-") == 0) {
			if (stdin_used++ || ctl_read_stdin_ids(idsp) == -1)
				return EX_DATAERR;
		} else if ((s = strdup(argv[i])) == NULL)
			return EX_OSERR;
		else
			words_add(idsp, s);	/* owned, like the stdin ones */
	}
	if (stdin_used && idsp->n == 0) {
		fprintf(stderr, "gatewayctl: no queue IDs on standard input\n");
		return EX_NOINPUT;
	}
	return ctl_queue_batches(ctl, fixedp, idsp);
}
