/*
 * gatewayctl_directive.c - gatewayctl directive create|list|show|update|
 * delete|sheet: manage the embedded directive store
 *
 * gatewayctl opens the SQLite store directly (it lives in the spool, see
 * directive.h), so the daemon need not run.  As root it creates the
 * store's directory owned by the gateway user first; SQLite gives the
 * -wal/-shm files it creates as root the owner of the database, so the
 * chrooted router keeps write access.  Other users need write access to
 * the directory (the gateway user itself, in practice).
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
#include "gatewayctl_directive.h"
#include "sheet.h"

#define CTLD_PATH_MAX	4096

/* The options of create and update. */
struct ctld_opts {
	const char *title, *owner, *keyword, *id, *output;
	int64_t expires;
	int set_expires, no_keyword, json;
	struct directive rcpts;		/* only rcpt/nrcpt used */
};

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
	    "WHEN: YYYY-MM-DD[THH:MM[:SS]] (UTC), +N or -N with s, m, h or d, @EPOCH\n");
	return EX_USAGE;
}

/* ctld_when - parse an expiry; -1 if bad */
static int
ctld_when(const char *s, int64_t *out)
{
	static const char *const fmts[] = { "%Y-%m-%dT%H:%M:%S",
	    "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d", NULL };
	struct tm tm;
	const char *end;
	char *e;
	long long v;
	size_t i;

	if (*s == '+' || *s == '-' || *s == '@') {
		errno = 0;
		v = strtoll(s + 1, &e, 10);
		if (errno != 0 || e == s + 1 || v < 0 || v > 100LL * 366 * 86400)
			return -1;
		if (*s == '@')
			return *e == '\0' ? (*out = v, 0) : -1;
		if (*e == 'm')
			v *= 60;
		else if (*e == 'h')
			v *= 3600;
		else if (*e == 'd')
			v *= 86400;
		else if (*e != 's' && *e != '\0')
			return -1;
		if (*e != '\0' && e[1] != '\0')
			return -1;
		*out = (int64_t)time(NULL) + (*s == '-' ? -v : v);
		return 0;
	}
	for (i = 0; fmts[i] != NULL; i++) {
		memset(&tm, 0, sizeof(tm));
		if ((end = strptime(s, fmts[i], &tm)) != NULL && *end == '\0') {
			*out = (int64_t)timegm(&tm);
			return 0;
		}
	}
	return -1;
}

/* ctld_rcpt - "CHANNEL:ADDRESS" (ADDRESS may be empty) */
static int
ctld_rcpt(struct ctld_opts *o, const char *spec)
{
	const char *colon = strchr(spec, ':');
	char channel[64];
	size_t n = colon ? (size_t)(colon - spec) : strlen(spec);

	if (n == 0 || n >= sizeof(channel))
		return -1;
	memcpy(channel, spec, n);
	channel[n] = '\0';
	directive_add_rcpt(&o->rcpts, channel, colon ? colon + 1 : "");
	return 0;
}

/* ctld_param - "NAME=VALUE" for the last --rcpt */
static int
ctld_param(struct ctld_opts *o, const char *spec)
{
	const char *eq = strchr(spec, '=');
	char name[64];
	size_t n = eq ? (size_t)(eq - spec) : 0;

	if (o->rcpts.nrcpt == 0 || n == 0 || n >= sizeof(name))
		return -1;
	memcpy(name, spec, n);
	name[n] = '\0';
	directive_rcpt_add_param(&o->rcpts.rcpt[o->rcpts.nrcpt - 1], name, eq + 1);
	return 0;
}

/* ctld_opts - the options after the command (and its ID) */
static int
ctld_parse(struct ctld_opts *o, int argc, char **argv)
{
	int i;

	for (i = 0; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(a, "--json") == 0) {
			o->json = 1;
			continue;
		}
		if (strcmp(a, "--no-keyword") == 0) {
			o->no_keyword = 1;
			continue;
		}
		if (strcmp(a, "--no-expires") == 0) {
			o->set_expires = 1;
			o->expires = 0;
			continue;
		}
		if (v == NULL)
			return -1;
		i++;
		if (strcmp(a, "--title") == 0)
			o->title = v;
		else if (strcmp(a, "--owner") == 0)
			o->owner = v;
		else if (strcmp(a, "--keyword") == 0)
			o->keyword = v;
		else if (strcmp(a, "--id") == 0)
			o->id = v;
		else if (strcmp(a, "-o") == 0)
			o->output = v;
		else if (strcmp(a, "--expires") == 0) {
			if (ctld_when(v, &o->expires) == -1)
				return -1;
			o->set_expires = 1;
		} else if (strcmp(a, "--rcpt") == 0) {
			if (ctld_rcpt(o, v) == -1)
				return -1;
		} else if (strcmp(a, "--param") == 0) {
			if (ctld_param(o, v) == -1)
				return -1;
		} else
			return -1;
	}
	return 0;
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

/* ctld_json_str - a JSON string */
static void
ctld_json_str(const char *s)
{
	putchar('"');
	for (; s != NULL && *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			printf("\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			printf("\\u%04x", (unsigned char)*s);
		else
			putchar(*s);
	}
	putchar('"');
}

/* ctld_json - one directive as a JSON object */
static void
ctld_json(const struct directive *d)
{
	size_t i, j;

	printf("{\"id\":");
	ctld_json_str(d->id);
	printf(",\"title\":");
	ctld_json_str(d->title);
	printf(",\"owner\":");
	ctld_json_str(d->owner);
	printf(",\"keyword\":");
	if (d->keyword)
		ctld_json_str(d->keyword);
	else
		printf("null");
	printf(",\"created\":%lld,\"last_used\":%lld,\"expires\":%lld,"
	    "\"recipients\":[", (long long)d->created, (long long)d->last_used,
	    (long long)d->expires);
	for (i = 0; i < d->nrcpt; i++) {
		printf("%s{\"channel\":", i ? "," : "");
		ctld_json_str(d->rcpt[i].channel);
		printf(",\"address\":");
		ctld_json_str(d->rcpt[i].address);
		printf(",\"params\":{");
		for (j = 0; j < d->rcpt[i].nparams; j++) {
			printf("%s", j ? "," : "");
			ctld_json_str(d->rcpt[i].params[j].name);
			putchar(':');
			ctld_json_str(d->rcpt[i].params[j].value);
		}
		printf("}}");
	}
	printf("]}");
}

/* ctld_time - a time for people */
static const char *
ctld_time(char *buf, size_t len, int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (t == 0 || gmtime_r(&tt, &tm) == NULL)
		snprintf(buf, len, "-");
	else
		strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return buf;
}

/* ctld_show - one directive for people */
static void
ctld_show(const struct directive *d)
{
	char t[32];
	size_t i, j;

	printf("id:        %s\ntitle:     %s\nowner:     %s\nkeyword:   %s\n",
	    d->id, d->title, d->owner, d->keyword ? d->keyword : "-");
	printf("created:   %s\n", ctld_time(t, sizeof(t), d->created));
	printf("last used: %s\n", ctld_time(t, sizeof(t), d->last_used));
	printf("expires:   %s%s\n", ctld_time(t, sizeof(t), d->expires),
	    directive_expired(d, (int64_t)time(NULL)) ? " (expired)" : "");
	for (i = 0; i < d->nrcpt; i++) {
		printf("recipient: %s:%s", d->rcpt[i].channel, d->rcpt[i].address);
		for (j = 0; j < d->rcpt[i].nparams; j++)
			printf(" %s=%s", d->rcpt[i].params[j].name,
			    d->rcpt[i].params[j].value);
		putchar('\n');
	}
}

/* ctld_owner - the default owner: the invoking user */
static const char *
ctld_owner(void)
{
	const char *s = getenv("SUDO_USER");
	struct passwd *pw;

	if (s != NULL && *s != '\0')
		return s;
	pw = getpwuid(getuid());
	return pw ? pw->pw_name : "unknown";
}

/* ctld_create - directive create */
static int
ctld_create(struct directive_store *st, struct ctld_opts *o, int json)
{
	char err[DIRECTIVE_ERRLEN];
	struct directive *d = &o->rcpts;

	if (o->title == NULL || d->nrcpt == 0)
		return ctld_usage();
	d->title = strdup(o->title);
	d->owner = strdup(o->owner ? o->owner : ctld_owner());
	d->keyword = o->keyword ? strdup(o->keyword) : NULL;
	d->created = (int64_t)time(NULL);
	d->expires = o->set_expires ? o->expires : 0;
	if (o->id != NULL)
		snprintf(d->id, sizeof(d->id), "%s", o->id);
	if (d->title == NULL || d->owner == NULL ||
	    directive_create(st, d, err, sizeof(err)) == -1) {
		fprintf(stderr, "gatewayctl: %s\n", err);
		return EX_DATAERR;
	}
	if (json) {
		ctld_json(d);
		putchar('\n');
	} else
		printf("%s\n", d->id);
	return 0;
}

/* ctld_update - directive update ID */
static int
ctld_update(struct directive_store *st, const char *id, struct ctld_opts *o)
{
	char err[DIRECTIVE_ERRLEN];
	struct directive d;
	int r;

	if ((r = directive_get(st, id, &d, err, sizeof(err))) != 0) {
		fprintf(stderr, "gatewayctl: %s\n", r == 1 ? "no such directive" : err);
		return r == 1 ? EX_DATAERR : EX_SOFTWARE;
	}
	if (o->title) {
		free(d.title);
		d.title = strdup(o->title);
	}
	if (o->owner) {
		free(d.owner);
		d.owner = strdup(o->owner);
	}
	if (o->keyword || o->no_keyword) {
		free(d.keyword);
		d.keyword = o->keyword ? strdup(o->keyword) : NULL;
	}
	if (o->set_expires)
		d.expires = o->expires;
	if (o->rcpts.nrcpt > 0) {
		struct directive tmp = d;

		d.rcpt = o->rcpts.rcpt;
		d.nrcpt = o->rcpts.nrcpt;
		o->rcpts.rcpt = tmp.rcpt;
		o->rcpts.nrcpt = tmp.nrcpt;
	}
	r = directive_update(st, &d, err, sizeof(err));
	directive_clear(&d);
	if (r != 0)
		fprintf(stderr, "gatewayctl: %s\n", r == 1 ? "no such directive" : err);
	return r == 0 ? 0 : EX_DATAERR;
}

/* ctld_list - directive list */
static int
ctld_list(struct directive_store *st, int json)
{
	char err[DIRECTIVE_ERRLEN], t[32];
	struct directive *v;
	size_t n, i;

	if (directive_list(st, &v, &n, err, sizeof(err)) == -1) {
		fprintf(stderr, "gatewayctl: %s\n", err);
		return EX_SOFTWARE;
	}
	if (json)
		putchar('[');
	else
		printf("%-12s %-5s %-20s %-12s %s\n", "ID", "RCPTS", "EXPIRES",
		    "OWNER", "TITLE");
	for (i = 0; i < n; i++) {
		if (json) {
			printf("%s", i ? "," : "");
			ctld_json(&v[i]);
		} else
			printf("%-12s %-5zu %-20s %-12s %s\n", v[i].id, v[i].nrcpt,
			    ctld_time(t, sizeof(t), v[i].expires), v[i].owner,
			    v[i].title);
		directive_clear(&v[i]);
	}
	if (json)
		printf("]\n");
	free(v);
	return 0;
}

/* ctld_one - show, delete, sheet: commands on one ID */
static int
ctld_one(struct directive_store *st, const char *cmd, const char *id,
    const struct ctld_opts *o, int json)
{
	char err[DIRECTIVE_ERRLEN];
	struct directive d;
	int r;

	if (strcmp(cmd, "delete") == 0)
		r = directive_delete(st, id, err, sizeof(err));
	else
		r = directive_get(st, id, &d, err, sizeof(err));
	if (r != 0) {
		fprintf(stderr, "gatewayctl: %s\n", r == 1 ? "no such directive" : err);
		return r == 1 ? EX_DATAERR : EX_SOFTWARE;
	}
	if (strcmp(cmd, "delete") == 0)
		return 0;
	if (strcmp(cmd, "sheet") == 0) {
		r = sheet_write(&d, o->output, err, sizeof(err));
		if (r == -1)
			fprintf(stderr, "gatewayctl: %s\n", err);
	} else if (json) {
		ctld_json(&d);
		putchar('\n');
	} else
		ctld_show(&d);
	directive_clear(&d);
	return r == 0 ? 0 : EX_CANTCREAT;
}

/* ctl_directive - gatewayctl directive ... */
int
ctl_directive(const char *config, int json, int argc, char **argv)
{
	struct directive_store *st;
	struct ctld_opts o;
	const char *cmd, *id = NULL;
	int rc, first = 2;

	memset(&o, 0, sizeof(o));
	if (argc < 2)
		return ctld_usage();
	cmd = argv[1];
	if (strcmp(cmd, "create") != 0 && strcmp(cmd, "list") != 0) {
		if (argc < 3)
			return ctld_usage();
		id = argv[2];
		first = 3;
	}
	if (ctld_parse(&o, argc - first, argv + first) == -1 ||
	    (strcmp(cmd, "sheet") == 0 && o.output == NULL)) {
		directive_clear(&o.rcpts);
		return ctld_usage();
	}
	json = json || o.json;
	if ((st = ctld_open(config)) == NULL) {
		directive_clear(&o.rcpts);
		return EX_UNAVAILABLE;
	}
	if (strcmp(cmd, "create") == 0)
		rc = ctld_create(st, &o, json);
	else if (strcmp(cmd, "list") == 0)
		rc = ctld_list(st, json);
	else if (strcmp(cmd, "update") == 0)
		rc = ctld_update(st, id, &o);
	else if (strcmp(cmd, "show") == 0 || strcmp(cmd, "delete") == 0 ||
	    strcmp(cmd, "sheet") == 0)
		rc = ctld_one(st, cmd, id, &o, json);
	else
		rc = ctld_usage();
	directive_clear(&o.rcpts);
	directive_store_close(st);
	return rc;
}
