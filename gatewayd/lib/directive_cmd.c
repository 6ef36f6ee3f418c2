/*
 * directive_cmd.c - the commands of "gatewayctl directive" on a store
 * (directive_cmd.h): run by gatewayctl or by the daemon's control child
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>

#include "directive_cmd.h"
#include "envelope.h"
#include "net.h"
#include "textout.h"

/* The options of create and update. */
struct dcmd_opts {
	const char *title, *owner, *keyword, *id;
	int64_t expires;
	int set_expires, no_keyword, json;
	int no_allow, set_allow;	/* --no-allow; an --allow-* given */
	int dump;			/* list --dump: each as "dump" writes it */
	struct directive rcpts;		/* rcpt/nrcpt and the allow_* lists */
};

/* dcmd_when - parse an expiry; -1 if bad */
static int
dcmd_when(const char *s, int64_t *out)
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

/* dcmd_rcpt - "CHANNEL:ADDRESS" (ADDRESS may be empty) */
static int
dcmd_rcpt(struct dcmd_opts *o, const char *spec)
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

/* dcmd_param - "NAME=VALUE" for the last --rcpt */
static int
dcmd_param(struct dcmd_opts *o, const char *spec)
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

/*
 * dcmd_allow - append an --allow-* value to its comma-separated list: a
 * sender or user without commas or spaces, a network in CIDR form
 */
static int
dcmd_allow(struct dcmd_opts *o, const char *opt, const char *v)
{
	struct net_cidr cidr;
	char **list, *n;

	if (*v == '\0' || strpbrk(v, ", \t") != NULL)
		return -1;
	if (strcmp(opt, "--allow-sender") == 0)
		list = &o->rcpts.allow_sender;
	else if (strcmp(opt, "--allow-user") == 0)
		list = &o->rcpts.allow_user;
	else if (net_cidr_parse(v, &cidr) == 0)
		list = &o->rcpts.allow_net;
	else
		return -1;
	if (asprintf(&n, "%s%s%s", *list ? *list : "", *list ? "," : "",
	    v) == -1)
		return -1;
	free(*list);
	*list = n;
	o->set_allow = 1;
	return 0;
}

/* dcmd_parse - the options after the command (and its ID); the bad one or NULL */
static const char *
dcmd_parse(struct dcmd_opts *o, int argc, char **argv)
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
		if (strcmp(a, "--no-allow") == 0) {
			o->no_allow = 1;
			continue;
		}
		if (strcmp(a, "--dump") == 0) {
			o->dump = 1;
			continue;
		}
		if (strcmp(a, "--no-expires") == 0) {
			o->set_expires = 1;
			o->expires = 0;
			continue;
		}
		if (v == NULL)
			return a;
		i++;
		if (strcmp(a, "--title") == 0)
			o->title = v;
		else if (strcmp(a, "--owner") == 0)
			o->owner = v;
		else if (strcmp(a, "--keyword") == 0)
			o->keyword = v;
		else if (strcmp(a, "--id") == 0)
			o->id = v;
		else if (strcmp(a, "--expires") == 0) {
			if (dcmd_when(v, &o->expires) == -1)
				return a;
			o->set_expires = 1;
		} else if (strcmp(a, "--rcpt") == 0) {
			if (dcmd_rcpt(o, v) == -1)
				return a;
		} else if (strcmp(a, "--param") == 0) {
			if (dcmd_param(o, v) == -1)
				return a;
		} else if (strncmp(a, "--allow-", 8) == 0) {
			if (dcmd_allow(o, a, v) == -1)
				return a;
		} else
			return a;
	}
	return NULL;
}

/* dcmd_json - one directive as a JSON object */
static void
dcmd_json(struct textout_json *j, const struct directive *d)
{
	size_t i, k;

	textout_json_object(j, NULL);
	textout_json_str(j, "id", d->id);
	textout_json_str(j, "title", d->title);
	textout_json_str(j, "owner", d->owner);
	textout_json_str(j, "keyword", d->keyword);
	textout_json_int(j, "created", (long long)d->created);
	textout_json_int(j, "last_used", (long long)d->last_used);
	textout_json_int(j, "expires", (long long)d->expires);
	textout_json_str(j, "allow_sender", d->allow_sender);
	textout_json_str(j, "allow_user", d->allow_user);
	textout_json_str(j, "allow_net", d->allow_net);
	textout_json_array(j, "recipients");
	for (i = 0; i < d->nrcpt; i++) {
		textout_json_object(j, NULL);
		textout_json_str(j, "channel", d->rcpt[i].channel);
		textout_json_str(j, "address", d->rcpt[i].address);
		textout_json_object(j, "params");
		for (k = 0; k < d->rcpt[i].nparams; k++)
			textout_json_str(j, d->rcpt[i].params[k].name,
			    d->rcpt[i].params[k].value);
		textout_json_close(j);
		textout_json_close(j);
	}
	textout_json_close(j);
	textout_json_close(j);
}

/* dcmd_json_line - one directive as a line of JSON */
static void
dcmd_json_line(FILE *out, const struct directive *d)
{
	struct textout_json j;

	textout_json_init(&j, out);
	dcmd_json(&j, d);
	textout_json_end(&j);
}

/* dcmd_time - a time for people */
static const char *
dcmd_time(char *buf, size_t len, int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (t == 0 || gmtime_r(&tt, &tm) == NULL)
		snprintf(buf, len, "-");
	else
		strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return buf;
}

/* dcmd_field - "label:    value", the value escaped (textout.h) */
static void
dcmd_field(FILE *out, const char *label, const char *value)
{
	fprintf(out, "%-11s", label);
	textout_terms(out, value, 0);
	fputc('\n', out);
}

/* dcmd_show - one directive for people; every string is escaped */
static void
dcmd_show(FILE *out, const struct directive *d)
{
	char t[32];
	size_t i, j;

	dcmd_field(out, "id:", d->id);
	dcmd_field(out, "title:", d->title);
	dcmd_field(out, "owner:", d->owner);
	dcmd_field(out, "keyword:", d->keyword ? d->keyword : "-");
	fprintf(out, "created:   %s\n", dcmd_time(t, sizeof(t), d->created));
	fprintf(out, "last used: %s\n", dcmd_time(t, sizeof(t), d->last_used));
	fprintf(out, "expires:   %s%s\n", dcmd_time(t, sizeof(t), d->expires),
	    directive_expired(d, (int64_t)time(NULL)) ? " (expired)" : "");
	if (d->allow_sender == NULL && d->allow_user == NULL &&
	    d->allow_net == NULL)
		dcmd_field(out, "allowed:", "(directives.default_access)");
	if (d->allow_sender != NULL)
		dcmd_field(out, "senders:", d->allow_sender);
	if (d->allow_user != NULL)
		dcmd_field(out, "users:", d->allow_user);
	if (d->allow_net != NULL)
		dcmd_field(out, "networks:", d->allow_net);
	for (i = 0; i < d->nrcpt; i++) {
		fputs("recipient: ", out);
		textout_terms(out, d->rcpt[i].channel, 0);
		fputc(':', out);
		textout_terms(out, d->rcpt[i].address, 0);
		for (j = 0; j < d->rcpt[i].nparams; j++) {
			fputc(' ', out);
			textout_terms(out, d->rcpt[i].params[j].name, 0);
			fputc('=', out);
			textout_terms(out, d->rcpt[i].params[j].value, 0);
		}
		fputc('\n', out);
	}
}

/* dcmd_hexout - a hex word ("-" for NULL) */
static void
dcmd_hexout(FILE *out, const char *s)
{
	if (s == NULL) {
		fputc('-', out);
		return;
	}
	if (*s == '\0')
		fputc('=', out);	/* the empty string */
	for (; *s != '\0'; s++)
		fprintf(out, "%02x", (unsigned char)*s);
}

/*
 * dcmd_dump - one directive for gatewayctl sheet: lines "d ID TITLE OWNER
 * KEYWORD CREATED EXPIRES", "r CHANNEL ADDRESS", "p NAME VALUE", strings
 * in hex ("-" NULL, "=" empty)
 */
static void
dcmd_dump(FILE *out, const struct directive *d)
{
	size_t i, j;

	fprintf(out, "d %s ", d->id);
	dcmd_hexout(out, d->title);
	fputc(' ', out);
	dcmd_hexout(out, d->owner);
	fputc(' ', out);
	dcmd_hexout(out, d->keyword);
	fprintf(out, " %lld %lld\n", (long long)d->created,
	    (long long)d->expires);
	for (i = 0; i < d->nrcpt; i++) {
		fputs("r ", out);
		dcmd_hexout(out, d->rcpt[i].channel);
		fputc(' ', out);
		dcmd_hexout(out, d->rcpt[i].address);
		fputc('\n', out);
		for (j = 0; j < d->rcpt[i].nparams; j++) {
			fputs("p ", out);
			dcmd_hexout(out, d->rcpt[i].params[j].name);
			fputc(' ', out);
			dcmd_hexout(out, d->rcpt[i].params[j].value);
			fputc('\n', out);
		}
	}
}

/* dcmd_create - create */
static int
dcmd_create(struct directive_store *st, struct dcmd_opts *o,
    const char *owner, int json, FILE *out)
{
	char err[DIRECTIVE_ERRLEN];
	struct directive *d = &o->rcpts;

	if (o->title == NULL || d->nrcpt == 0) {
		fprintf(out, "E%d usage: directive create needs --title and "
		    "at least one --rcpt\n", EX_USAGE);
		return EX_USAGE;
	}
	d->title = strdup(o->title);
	d->owner = strdup(o->owner ? o->owner : owner);
	d->keyword = o->keyword ? strdup(o->keyword) : NULL;
	d->created = (int64_t)time(NULL);
	d->expires = o->set_expires ? o->expires : 0;
	if (o->id != NULL)
		snprintf(d->id, sizeof(d->id), "%s", o->id);
	snprintf(err, sizeof(err), "out of memory");
	if (d->title == NULL || d->owner == NULL ||
	    directive_create(st, d, err, sizeof(err)) == -1) {
		fprintf(out, "E%d %s\n", EX_DATAERR, err);
		return EX_DATAERR;
	}
	if (json)
		dcmd_json_line(out, d);
	else
		fprintf(out, "%s\n", d->id);
	return 0;
}

/* dcmd_get_error - "no such directive" or the store's error */
static int
dcmd_get_error(FILE *out, int r, const char *err)
{
	fprintf(out, "E%d %s\n", r == 1 ? EX_DATAERR : EX_SOFTWARE,
	    r == 1 ? "no such directive" : err);
	return r == 1 ? EX_DATAERR : EX_SOFTWARE;
}

/* dcmd_swap_allow - the new access lists into d (the old go to o, freed there) */
static void
dcmd_swap_allow(struct directive *d, struct directive *o)
{
	char **dv[3] = { &d->allow_sender, &d->allow_user, &d->allow_net };
	char **ov[3] = { &o->allow_sender, &o->allow_user, &o->allow_net };
	char *t;
	size_t i;

	for (i = 0; i < 3; i++) {
		t = *dv[i];
		*dv[i] = *ov[i];
		*ov[i] = t;
	}
}

/* dcmd_update - update (or edit) ID */
static int
dcmd_update(struct directive_store *st, const char *id, struct dcmd_opts *o,
    FILE *out)
{
	char err[DIRECTIVE_ERRLEN];
	struct directive d;
	int r;

	if ((r = directive_get(st, id, &d, err, sizeof(err))) != 0)
		return dcmd_get_error(out, r, err);
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
	if (o->no_allow || o->set_allow)
		dcmd_swap_allow(&d, &o->rcpts);
	if (o->rcpts.nrcpt > 0) {
		struct directive tmp = d;

		d.rcpt = o->rcpts.rcpt;
		d.nrcpt = o->rcpts.nrcpt;
		o->rcpts.rcpt = tmp.rcpt;
		o->rcpts.nrcpt = tmp.nrcpt;
	}
	r = directive_update(st, &d, err, sizeof(err));
	directive_clear(&d);
	if (r != 0) {
		fprintf(out, "E%d %s\n", EX_DATAERR, r == 1 ?
		    "no such directive" : err);
		return EX_DATAERR;
	}
	return 0;
}

/* dcmd_list_row - one directive in the table of list, escaped */
static void
dcmd_list_row(FILE *out, const struct directive *d)
{
	char t[32], owner[64];

	textout_clean(owner, sizeof(owner), d->owner, strlen(d->owner), 0);
	fprintf(out, "%-12s %-5zu %-20s %-12s ", d->id, d->nrcpt,
	    dcmd_time(t, sizeof(t), d->expires), owner);
	textout_terms(out, d->title, 0);
	fputc('\n', out);
}

/*
 * dcmd_list - list (only the directives of owner unless it is NULL); with
 * dump, each directive as "dump" writes it (gatewayd-web reads that)
 */
static int
dcmd_list(struct directive_store *st, const char *owner, int json, int dump,
    FILE *out)
{
	char err[DIRECTIVE_ERRLEN];
	struct directive *v;
	struct textout_json j;
	size_t n, i;

	if (directive_list(st, &v, &n, err, sizeof(err)) == -1) {
		fprintf(out, "E%d %s\n", EX_SOFTWARE, err);
		return EX_SOFTWARE;
	}
	textout_json_init(&j, out);
	if (json)
		textout_json_array(&j, NULL);
	else if (!dump)
		fprintf(out, "%-12s %-5s %-20s %-12s %s\n", "ID", "RCPTS",
		    "EXPIRES", "OWNER", "TITLE");
	for (i = 0; i < n; i++) {
		if (owner != NULL && strcmp(v[i].owner, owner) != 0)
			;
		else if (dump && !json)
			dcmd_dump(out, &v[i]);
		else if (json)
			dcmd_json(&j, &v[i]);
		else
			dcmd_list_row(out, &v[i]);
		directive_clear(&v[i]);
	}
	if (json) {
		textout_json_close(&j);
		textout_json_end(&j);
	}
	free(v);
	return 0;
}

/* dcmd_one - show, delete, dump: commands on one ID */
static int
dcmd_one(struct directive_store *st, const char *cmd, const char *id,
    int json, FILE *out)
{
	char err[DIRECTIVE_ERRLEN];
	struct directive d;
	int r;

	if (strcmp(cmd, "delete") == 0)
		r = directive_delete(st, id, err, sizeof(err));
	else
		r = directive_get(st, id, &d, err, sizeof(err));
	if (r != 0)
		return dcmd_get_error(out, r, err);
	if (strcmp(cmd, "delete") == 0)
		return 0;
	if (strcmp(cmd, "dump") == 0)
		dcmd_dump(out, &d);
	else if (json)
		dcmd_json_line(out, &d);
	else
		dcmd_show(out, &d);
	directive_clear(&d);
	return 0;
}

/*
 * dcmd_owner_check - may owner act on the directive id?  0, or the exit
 * code after an error line (EX_NOPERM for another user's directive)
 */
static int
dcmd_owner_check(struct directive_store *st, const char *id,
    const char *owner, FILE *out)
{
	char err[DIRECTIVE_ERRLEN];
	struct directive d;
	int r, mine;

	if ((r = directive_get(st, id, &d, err, sizeof(err))) != 0)
		return dcmd_get_error(out, r, err);
	mine = strcmp(d.owner, owner) == 0;
	directive_clear(&d);
	if (mine)
		return 0;
	fprintf(out, "E%d permission denied: the directive belongs to "
	    "another user\n", EX_NOPERM);
	return EX_NOPERM;
}

/* directive_cmd - run one command (directive_cmd.h) */
int
directive_cmd(struct directive_store *st, int argc, char **argv, int json,
    const char *owner, int set_owner, FILE *out)
{
	return directive_cmd_owned(st, argc, argv, json, owner, set_owner, 0,
	    out);
}

/* directive_cmd_owned - run one command, maybe on owner's only (directive_cmd.h) */
int
directive_cmd_owned(struct directive_store *st, int argc, char **argv,
    int json, const char *owner, int set_owner, int only_own, FILE *out)
{
	static const char *const cmds[] = { "create", "list", "show",
	    "update", "edit", "delete", "dump", NULL };
	struct dcmd_opts o;
	const char *cmd, *id = NULL, *bad;
	int rc, first = 1, i;

	memset(&o, 0, sizeof(o));
	cmd = argc > 0 ? argv[0] : "";
	for (i = 0; cmds[i] != NULL && strcmp(cmd, cmds[i]) != 0; i++)
		;
	if (cmds[i] == NULL) {
		fprintf(out, "E%d usage: directive create|list|show|update|"
		    "delete|sheet ... (see gatewayctl(8))\n", EX_USAGE);
		return EX_USAGE;
	}
	if (strcmp(cmd, "create") != 0 && strcmp(cmd, "list") != 0) {
		if (argc < 2) {
			fprintf(out, "E%d usage: directive %s ID\n", EX_USAGE,
			    cmd);
			return EX_USAGE;
		}
		id = argv[1];
		first = 2;
	}
	if ((bad = dcmd_parse(&o, argc - first, argv + first)) != NULL) {
		fprintf(out, "E%d usage: directive %s: bad or incomplete "
		    "option %s\n", EX_USAGE, cmd, bad);
		directive_clear(&o.rcpts);
		return EX_USAGE;
	}
	if (o.owner != NULL && !set_owner) {
		fprintf(out, "E%d directive %s: --owner is for root only; the "
		    "owner is the user who asks (%s)\n", EX_NOPERM, cmd, owner);
		directive_clear(&o.rcpts);
		return EX_NOPERM;
	}
	json = json || o.json;
	if (only_own && id != NULL &&
	    (rc = dcmd_owner_check(st, id, owner, out)) != 0)
		;
	else if (strcmp(cmd, "create") == 0)
		rc = dcmd_create(st, &o, owner, json, out);
	else if (strcmp(cmd, "list") == 0)
		rc = dcmd_list(st, only_own ? owner : NULL, json, o.dump, out);
	else if (strcmp(cmd, "update") == 0 || strcmp(cmd, "edit") == 0)
		rc = dcmd_update(st, id, &o, out);
	else
		rc = dcmd_one(st, cmd, id, json, out);
	directive_clear(&o.rcpts);
	return rc;
}

/* directive_hex - hex of src (directive_cmd.h) */
void
directive_hex(char *dst, const char *src)
{
	static const char digits[] = "0123456789abcdef";

	for (; *src != '\0'; src++) {
		*dst++ = digits[(unsigned char)*src >> 4];
		*dst++ = digits[(unsigned char)*src & 15];
	}
	*dst = '\0';
}

/* directive_unhex - decode in place (directive_cmd.h) */
int
directive_unhex(char *s)
{
	char *w = s;
	int hi, lo;

	for (; *s != '\0'; s += 2) {
		if ((hi = envelope_hexdigit(s[0])) == -1 || s[1] == '\0' ||
		    (lo = envelope_hexdigit(s[1])) == -1 || (hi == 0 && lo == 0))
			return -1;
		*w++ = (char)(hi << 4 | lo);
	}
	*w = '\0';
	return 0;
}

/* dcmd_word - the next space-separated word of a dump line, decoded */
static char *
dcmd_word(char **p, int hex, int *ok)
{
	char *w = *p, *e;

	while (*w == ' ')
		w++;
	if (*w == '\0') {
		*ok = 0;
		return NULL;
	}
	e = w + strcspn(w, " ");
	*p = *e ? e + 1 : e;
	*e = '\0';
	if (!hex)
		return w;
	if (strcmp(w, "-") == 0)
		return NULL;
	if (strcmp(w, "=") == 0)
		return w + 1;	/* the empty string (the NUL just written) */
	if (directive_unhex(w) == -1)
		*ok = 0;
	return w;
}

/* dcmd_dump_line - one line of a dump into d */
static int
dcmd_dump_line(char *line, struct directive *d)
{
	char *p = line + 2, *a, *b, *c, *e;
	int ok = 1;

	if (line[0] == 'd' && line[1] == ' ') {
		a = dcmd_word(&p, 0, &ok);
		if (!ok || !directive_id_valid(a))
			return -1;
		snprintf(d->id, sizeof(d->id), "%s", a);
		a = dcmd_word(&p, 1, &ok);
		b = dcmd_word(&p, 1, &ok);
		c = dcmd_word(&p, 1, &ok);
		if (!ok || a == NULL || b == NULL)
			return -1;
		d->title = strdup(a);
		d->owner = strdup(b);
		d->keyword = c ? strdup(c) : NULL;
		if ((a = dcmd_word(&p, 0, &ok)) == NULL ||
		    (b = dcmd_word(&p, 0, &ok)) == NULL)
			return -1;
		d->created = strtoll(a, &e, 10);
		if (*e != '\0')
			return -1;
		d->expires = strtoll(b, &e, 10);
		return *e == '\0' && d->title && d->owner ? 0 : -1;
	}
	a = dcmd_word(&p, 1, &ok);
	b = dcmd_word(&p, 1, &ok);
	if (!ok || a == NULL || b == NULL || d->id[0] == '\0')
		return -1;
	if (line[0] == 'r' && line[1] == ' ')
		return directive_add_rcpt(d, a, b) ? 0 : -1;
	if (line[0] == 'p' && line[1] == ' ' && d->nrcpt > 0) {
		directive_rcpt_add_param(&d->rcpt[d->nrcpt - 1], a, b);
		return 0;
	}
	return -1;
}

/* directive_dump_parse - what "dump" wrote (directive_cmd.h) */
int
directive_dump_parse(const char *text, struct directive *d)
{
	char *copy, *line, *save = NULL;
	int rc = 0;

	memset(d, 0, sizeof(*d));
	if ((copy = strdup(text)) == NULL)
		return -1;
	for (line = strtok_r(copy, "\n", &save); line != NULL && rc == 0;
	    line = strtok_r(NULL, "\n", &save))
		if (strlen(line) < 3 || dcmd_dump_line(line, d) == -1)
			rc = -1;
	free(copy);
	if (rc == 0 && d->id[0] == '\0')
		rc = -1;
	if (rc == -1)
		directive_clear(d);
	return rc;
}
