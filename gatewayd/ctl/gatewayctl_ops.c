/*
 * gatewayctl_ops.c - gatewayctl check, config dump, monitor and stats
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "cfg.h"
#include "cfgcheck.h"
#include "gatewayctl.h"

#define MON_MAX_KEYS	512

struct mon_sample {
	char key[MON_MAX_KEYS][64];
	unsigned long long val[MON_MAX_KEYS];
	size_t n;
};

/*
 * ctl_stats - stats [--json|--prometheus]; with --history the request
 * "stats history": the counters per minute over the last hour
 */
int
ctl_stats(struct ctl *ctl, int argc, char **argv)
{
	static const struct ctl_verb_opt opts[] = {
		{ "history", 0, 0 }, { NULL, 0, 0 }
	};
	int i;

	if ((argc = ctl_verb_args(ctl, argc, &argv, 1, opts)) == -1)
		return EX_USAGE;
	for (i = 1; i < argc; i++)
		if (strcmp(argv[i], "--history") == 0)
			argv[i] = "history";	/* a word of the request */
	return ctl_request(ctl, ctl_connect(ctl), argc, argv);
}

/*
 * ctl_check - validate the configuration file the way gatewayd -n does:
 * the loader's checks, every connector's shared object present, a
 * regular file owned by root or the caller and writable by its owner only,
 * and each instance's settings by the connector's check() (cfgcheck.c).
 */
int
ctl_check(struct ctl *ctl, int argc, char **argv)
{
	char err[CFG_ERRLEN], path[PATH_MAX];
	struct stat st;
	struct cfg *cfg;
	size_t i;
	int rc = 0;

	if ((argc = ctl_verb_args(ctl, argc, &argv, 1, NULL)) != 1) {
		if (argc != -1)
			fprintf(stderr, "gatewayctl: usage: check\n");
		return EX_USAGE;
	}
	if ((cfg = cfg_load_file(ctl->config, err, sizeof(err))) == NULL) {
		fprintf(stderr, "gatewayctl: %s\n", err);
		return EX_CONFIG;
	}
	for (i = 0; i < cfg->nconnectors; i++) {
		snprintf(path, sizeof(path), "%s/%s.so", cfg->connector_dir,
		    cfg->connectors[i].type);
		if (stat(path, &st) == -1) {
			fprintf(stderr, "gatewayctl: %s: connector %s: %s: %s\n",
			    ctl->config, cfg->connectors[i].name, path,
			    strerror(errno));
			rc = EX_CONFIG;
		} else if (!S_ISREG(st.st_mode) || (st.st_mode & 022) ||
		    (st.st_uid != 0 && st.st_uid != geteuid())) {
			fprintf(stderr, "gatewayctl: %s: connector %s: %s: not "
			    "a regular file owned by root (or you) and writable "
			    "only by its owner\n", ctl->config,
			    cfg->connectors[i].name, path);
			rc = EX_CONFIG;
		}
	}
	/* each connector's check(), in a worker that is not root (cfgcheck.h) */
	if (rc == 0 && cfgcheck_connectors(cfg, ctl->config, NULL, 0,
	    "gatewayctl", stderr) > 0)
		rc = EX_CONFIG;
	if (rc == 0)
		printf("configuration %s is valid\n", ctl->config);
	cfg_free(cfg);
	return rc;
}

/* The smallest configuration: every other key at its default. */
static const char ctl_config_defaults[] =
    "connectors:\n  - name: default\n    type: default\n";

/*
 * ctl_config - gatewayctl config dump [--changed]: the effective
 * configuration of the file, as postconf(1) and postconf -n print it
 * (cfg_dump); --changed compares with a configuration of defaults
 */
int
ctl_config(struct ctl *ctl, int argc, char **argv)
{
	static const struct ctl_verb_opt opts[] = { { "changed", 0, 0 },
	    { NULL, 0, 0 } };
	char err[CFG_ERRLEN];
	struct cfg *cfg, *def = NULL;

	if (argc < 2 || strcmp(argv[1], "dump") != 0 ||
	    (argc = ctl_verb_args(ctl, argc, &argv, 2, opts)) == -1 ||
	    argc > 3) {
		fprintf(stderr, "gatewayctl: usage: config dump [--changed]\n");
		return EX_USAGE;
	}
	if ((cfg = cfg_load_file(ctl->config, err, sizeof(err))) == NULL) {
		fprintf(stderr, "gatewayctl: %s\n", err);
		return EX_CONFIG;
	}
	if (argc == 3 && (def = cfg_load_buffer("defaults", ctl_config_defaults,
	    sizeof(ctl_config_defaults) - 1, err, sizeof(err))) == NULL) {
		fprintf(stderr, "gatewayctl: the defaults: %s\n", err);
		cfg_free(cfg);
		return EX_SOFTWARE;
	}
	cfg_dump(cfg, def, stdout);
	if (def != NULL)
		cfg_free(def);
	cfg_free(cfg);
	return 0;
}

/* mon_parse - "key value" lines of the stats answer */
static void
mon_parse(char *text, struct mon_sample *s)
{
	char *line, *save = NULL, *sp;

	s->n = 0;
	for (line = strtok_r(text, "\n", &save); line != NULL && s->n <
	    MON_MAX_KEYS; line = strtok_r(NULL, "\n", &save)) {
		if ((sp = strchr(line, ' ')) == NULL || sp - line >= 64)
			continue;
		snprintf(s->key[s->n], sizeof(s->key[0]), "%.*s",
		    (int)(sp - line), line);
		s->val[s->n++] = strtoull(sp + 1, NULL, 10);
	}
}

/* mon_get - a value of a sample, 0 if absent; prefix sums "reject." */
static unsigned long long
mon_get(const struct mon_sample *s, const char *key, int prefix)
{
	unsigned long long v = 0;
	size_t i;

	for (i = 0; i < s->n; i++)
		if (prefix ? strncmp(s->key[i], key, strlen(key)) == 0 :
		    strcmp(s->key[i], key) == 0)
			v += s->val[i];
	return v;
}

/* mon_sample - one stats request */
static int
mon_take(struct ctl *ctl, struct mon_sample *s)
{
	char *words[] = { "stats", NULL }, *text;
	int rc, json = ctl->json, prom = ctl->prometheus;

	ctl->json = ctl->prometheus = 0;
	text = ctl_fetch(ctl, 1, words, &rc);
	ctl->json = json;
	ctl->prometheus = prom;
	if (text == NULL)
		return rc ? rc : EX_SOFTWARE;
	mon_parse(text, s);
	free(text);
	return 0;
}

/* ctl_monitor - counter deltas every second (until interrupted or --count) */
int
ctl_monitor(struct ctl *ctl, int argc, char **argv)
{
	static struct mon_sample a, b;
	static const char *const keys[] = { "connections", "received",
	    "delivered", "deferred", "bounced" };
	static const struct ctl_verb_opt opts[] = { { "count", 1, 0 },
	    { NULL, 0, 0 } };
	struct mon_sample *prev = &a, *cur = &b, *t;
	long count = -1, n;
	char when[16], *end;
	time_t now;
	size_t k;
	int rc;

	if ((argc = ctl_verb_args(ctl, argc, &argv, 1, opts)) == -1)
		return EX_USAGE;
	if (argc == 3 && strcmp(argv[1], "--count") == 0) {
		count = strtol(argv[2], &end, 10);
		if (*end != '\0' || count < 1) {
			fprintf(stderr, "gatewayctl: --count %s: not a positive "
			    "number\n", argv[2]);
			return EX_USAGE;
		}
	} else if (argc != 1) {
		fprintf(stderr, "gatewayctl: usage: monitor [--count N]\n");
		return EX_USAGE;
	}
	if ((rc = mon_take(ctl, prev)) != 0)
		return rc;
	printf("%-8s %6s %6s %6s %6s %6s %6s %8s %8s\n", "TIME", "CONN",
	    "RECV", "DELIV", "DEFER", "BOUNCE", "REJECT", "QUEUED", "DEFERRED");
	fflush(stdout);
	for (n = 0; count < 0 || n < count; n++) {
		sleep(1);
		if ((rc = mon_take(ctl, cur)) != 0)
			return rc;
		now = time(NULL);
		strftime(when, sizeof(when), "%H:%M:%S", localtime(&now));
		printf("%-8s", when);
		for (k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
			printf(" %+6lld", (long long)(mon_get(cur, keys[k], 0) -
			    mon_get(prev, keys[k], 0)));
		printf(" %+6lld %8llu %8llu\n", (long long)(mon_get(cur,
		    "reject.", 1) - mon_get(prev, "reject.", 1)),
		    mon_get(cur, "queue.", 1) - mon_get(cur, "queue.failed", 0),
		    mon_get(cur, "queue.deferred", 0));
		fflush(stdout);
		t = prev;
		prev = cur;
		cur = t;
	}
	return 0;
}
