/*
 * pipe_argv.c - the pipe connector's argv templates, exit statuses and
 * output line (no GMime, no gw_* calls: tests/check_pipe.c links it alone)
 *
 * A template is one argv element with fields in braces ({sender},
 * {recipient}, {fax}, {name}, {company}, {flags}, {queue_id}); "{{" and
 * "}}" are literal braces.  Each element stays one argument whatever the
 * values hold (spaces, quotes, semicolons, newlines): no shell ever sees
 * them.  As in Postfix's pipe(8), an element naming a recipient field
 * expands into one argument per recipient of the invocation, and the
 * element "{attachments}" (alone) into one argument per extracted file.
 * Exit statuses map as Postfix's sys_exits table does, with the statuses
 * of local trouble (EX_OSERR, EX_OSFILE, EX_CANTCREAT, EX_IOERR,
 * EX_TEMPFAIL) deferred and the others bounced.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <gatewayd/connector.h>

#include "pipe.h"

static const char *const pipe_fields[PIPE_F_COUNT] = {
	"sender", "recipient", "fax", "name", "company", "flags", "queue_id",
	"attachments"
};

/* sysexits.h's statuses: enhanced code, meaning, deferred or not */
static const struct {
	int status;
	const char *dsn, *what;
	int soft;
} pipe_exits[] = {
	{ 64, "5.3.0", "command line usage error", 0 },
	{ 65, "5.6.0", "data format error", 0 },
	{ 66, "5.3.0", "cannot open input", 0 },
	{ 67, "5.1.1", "user unknown", 0 },
	{ 68, "5.1.2", "host name unknown", 0 },
	{ 69, "5.3.0", "service unavailable", 0 },
	{ 70, "5.3.0", "internal software error", 0 },
	{ 71, "4.3.0", "system resource problem", 1 },
	{ 72, "4.3.0", "critical OS file missing", 1 },
	{ 73, "4.2.0", "cannot create output file", 1 },
	{ 74, "4.3.0", "input/output error", 1 },
	{ 75, "4.3.0", "temporary failure", 1 },
	{ 76, "5.5.0", "remote error in protocol", 0 },
	{ 77, "5.7.0", "permission denied", 0 },
	{ 78, "5.3.5", "local configuration error", 0 },
};

/* pipe_field_find - the field named by the len bytes at s, or -1 */
static int
pipe_field_find(const char *s, size_t len)
{
	int i;

	for (i = 0; i < PIPE_F_COUNT; i++)
		if (strlen(pipe_fields[i]) == len &&
		    memcmp(pipe_fields[i], s, len) == 0)
			return i;
	return -1;
}

/*
 * pipe_template_scan - walk a template: each literal byte to lit(), each
 * field to field(); -1 with a message on a syntax error
 */
static int
pipe_template_scan(const char *t, int (*lit)(void *, char),
    int (*field)(void *, int), void *arg, char *err, size_t errlen)
{
	const char *end;
	int f;

	for (; *t != '\0'; t++) {
		if ((t[0] == '{' && t[1] == '{') || (t[0] == '}' && t[1] == '}')) {
			if (lit(arg, *t++) == -1)
				return -1;
			continue;
		}
		if (*t == '}') {
			snprintf(err, errlen, "a lone '}' (write '}}')");
			return -1;
		}
		if (*t != '{') {
			if (lit(arg, *t) == -1)
				return -1;
			continue;
		}
		if ((end = strchr(t, '}')) == NULL ||
		    (f = pipe_field_find(t + 1, (size_t)(end - t - 1))) == -1) {
			snprintf(err, errlen, "unknown field '%.*s' (fields: "
			    "sender, recipient, fax, name, company, flags, "
			    "queue_id, attachments; '{{' for a brace)",
			    end ? (int)(end - t + 1) : 40, t);
			return -1;
		}
		if (field(arg, f) == -1)
			return -1;
		t = end;
	}
	return 0;
}

/* pipe_nolit / pipe_mark - the check pass: note the fields named */
static int
pipe_nolit(void *arg, char c)
{
	(void)arg;
	(void)c;
	return 0;
}

static int
pipe_mark(void *arg, int f)
{
	*(unsigned int *)arg |= PIPE_F_BIT(f);
	return 0;
}

/*
 * pipe_template_check - one argv template: its syntax, the fields it
 * names added to *uses; the command itself (first) names none, and
 * {attachments} stands alone
 */
int
pipe_template_check(const char *t, int first, unsigned int *uses, char *err,
    size_t errlen)
{
	unsigned int here = 0;

	if (strlen(t) >= PIPE_TEMPLATE_MAX) {
		snprintf(err, errlen, "longer than %d bytes", PIPE_TEMPLATE_MAX);
		return -1;
	}
	if (pipe_template_scan(t, pipe_nolit, pipe_mark, &here, err,
	    errlen) == -1)
		return -1;
	if (first && here != 0) {
		snprintf(err, errlen, "the command itself cannot be templated");
		return -1;
	}
	if ((here & PIPE_F_BIT(PIPE_F_ATTACHMENTS)) &&
	    strcmp(t, "{attachments}") != 0) {
		snprintf(err, errlen, "{attachments} must be an argument of "
		    "its own (it becomes one argument per file)");
		return -1;
	}
	*uses |= here;
	return 0;
}

/* The expansion of one element for one recipient. */
struct pipe_exp {
	const struct pipe_values *v;
	size_t r;			/* the recipient */
	char buf[PIPE_ARG_MAX];
	size_t len;
};

/* pipe_put - append bytes to the expansion; -1 when it does not fit */
static int
pipe_put(struct pipe_exp *e, const char *s, size_t n)
{
	if (n >= sizeof(e->buf) - e->len)
		return -1;
	memcpy(e->buf + e->len, s, n);
	e->len += n;
	e->buf[e->len] = '\0';
	return 0;
}

static int
pipe_exp_lit(void *arg, char c)
{
	return pipe_put(arg, &c, 1);
}

/* pipe_exp_field - a field's value ("" when the recipient has none) */
static int
pipe_exp_field(void *arg, int f)
{
	struct pipe_exp *e = arg;
	const char *s = NULL;

	if (f == PIPE_F_SENDER)
		s = e->v->sender;
	else if (f == PIPE_F_QUEUE_ID)
		s = e->v->queue_id;
	else if (f <= PIPE_F_FLAGS && e->r < e->v->nrcpt && e->v->rcpt[f])
		s = e->v->rcpt[f][e->r];
	return s == NULL ? 0 : pipe_put(e, s, strlen(s));
}

/* pipe_argv_add - append a copy of s to the argv (pipe.h) */
int
pipe_argv_add(struct pipe_argv *a, const char *s)
{
	if (a->n + 1 >= PIPE_ARGS_MAX)
		return -1;
	if (a->n + 2 > a->cap) {
		a->cap = a->cap ? a->cap * 2 : 16;
		a->v = realloc(a->v, a->cap * sizeof(*a->v));
		if (a->v == NULL)
			abort();
	}
	if ((a->v[a->n] = strdup(s)) == NULL)
		abort();
	a->v[++a->n] = NULL;
	return 0;
}

/* pipe_argv_one - element t expanded for each recipient (or once) */
static int
pipe_argv_one(const char *t, const struct pipe_values *v,
    struct pipe_argv *out, char *err, size_t errlen)
{
	struct pipe_exp e;
	unsigned int uses = 0;
	size_t r, n;
	char why[160];

	if (pipe_template_check(t, 0, &uses, why, sizeof(why)) == -1) {
		snprintf(err, errlen, "template %s: %s", t, why);
		return -1;
	}
	n = uses & PIPE_F_RCPT_MASK ? v->nrcpt : 1;
	for (r = 0; r < n; r++) {
		memset(&e, 0, sizeof(e));
		e.v = v;
		e.r = r;
		if (pipe_template_scan(t, pipe_exp_lit, pipe_exp_field, &e, why,
		    sizeof(why)) == -1 || pipe_argv_add(out, e.buf) == -1) {
			snprintf(err, errlen, "argument '%.40s' is longer than "
			    "%d bytes or too many arguments", t, PIPE_ARG_MAX);
			return -1;
		}
	}
	return 0;
}

/* pipe_argv_build - the argv of one invocation; -1 with err */
int
pipe_argv_build(char *const *tmpl, size_t n, const struct pipe_values *v,
    struct pipe_argv *out, char *err, size_t errlen)
{
	size_t i, k;

	memset(out, 0, sizeof(*out));
	for (i = 0; i < n; i++) {
		if (strcmp(tmpl[i], "{attachments}") == 0) {
			for (k = 0; k < v->nfiles; k++)
				if (pipe_argv_add(out, v->files[k]) == -1)
					goto toomany;
			continue;
		}
		if (pipe_argv_one(tmpl[i], v, out, err, errlen) == -1) {
			pipe_argv_free(out);
			return -1;
		}
	}
	if (out->n == 0)
		goto toomany;
	return 0;
toomany:
	snprintf(err, errlen, "no command or more than %d arguments",
	    PIPE_ARGS_MAX);
	pipe_argv_free(out);
	return -1;
}

/* pipe_argv_free - release an expanded argv */
void
pipe_argv_free(struct pipe_argv *a)
{
	size_t i;

	for (i = 0; i < a->n; i++)
		free(a->v[i]);
	free(a->v);
	memset(a, 0, sizeof(*a));
}

/*
 * pipe_first_line - the first non-blank line of the output, escaped for a
 * DSN: printable ASCII kept, a backslash doubled, any other byte \xHH,
 * cut at PIPE_LINE_MAX bytes of output with "..."
 */
void
pipe_first_line(const char *out, size_t len, char *dst, size_t cap)
{
	size_t i = 0, n = 0, used = 0;
	unsigned char c;

	dst[0] = '\0';
	while (i < len && (out[i] == '\n' || out[i] == '\r' ||
	    out[i] == ' ' || out[i] == '\t'))
		i++;
	for (; i < len && out[i] != '\n' && cap - n > 5; i++, used++) {
		c = (unsigned char)out[i];
		if (used == PIPE_LINE_MAX) {
			n += (size_t)snprintf(dst + n, cap - n, "...");
			break;
		}
		if (c == '\r' && (i + 1 == len || out[i + 1] == '\n'))
			continue;
		if (c == '\\')
			n += (size_t)snprintf(dst + n, cap - n, "\\\\");
		else if (c >= 0x20 && c < 0x7f)
			dst[n++] = (char)c;
		else
			n += (size_t)snprintf(dst + n, cap - n, "\\x%02x", c);
		dst[n] = '\0';
	}
}

/* pipe_exit_set - fill a result: temporary or permanent, or delivered */
static void
pipe_exit_set(struct pipe_result *res, int result, const char *status)
{
	res->result = result;
	res->code = result == GW_RESULT_OK ? 250 :
	    result == GW_RESULT_PERMFAIL ? 550 : 451;
	res->status = status;
}

/*
 * pipe_exit_map - the result of a command named name: exit 0 delivered,
 * EX_TEMPFAIL and the other local-trouble statuses, a signal and the
 * timeout deferred, any other status bounced; the first output line
 * follows the reason
 */
void
pipe_exit_map(const struct pipe_outcome *o, const char *name,
    struct pipe_result *res)
{
	char line[PIPE_LINE_MAX * 4 + 8];
	const char *what = "unknown status";
	int st, soft = 0;
	size_t i, len;

	pipe_exit_set(res, GW_RESULT_TEMPFAIL, "4.3.0");
	if (o->why[0] != '\0') {
		snprintf(res->text, sizeof(res->text), "pipe: %s", o->why);
		return;
	}
	if (o->timed_out)
		len = (size_t)snprintf(res->text, sizeof(res->text), "command "
		    "%s timed out: its process group was killed", name);
	else if (WIFSIGNALED(o->status))
		len = (size_t)snprintf(res->text, sizeof(res->text), "command "
		    "%s killed by signal %d", name, WTERMSIG(o->status));
	else if ((st = WEXITSTATUS(o->status)) == 0) {
		pipe_exit_set(res, GW_RESULT_OK, "2.0.0");
		len = (size_t)snprintf(res->text, sizeof(res->text), "command "
		    "%s exited 0", name);
	} else {
		pipe_exit_set(res, GW_RESULT_PERMFAIL, "5.3.0");
		for (i = 0; i < sizeof(pipe_exits) / sizeof(pipe_exits[0]); i++)
			if (pipe_exits[i].status == st) {
				what = pipe_exits[i].what;
				soft = pipe_exits[i].soft;
				pipe_exit_set(res, soft ? GW_RESULT_TEMPFAIL :
				    GW_RESULT_PERMFAIL, pipe_exits[i].dsn);
			}
		len = (size_t)snprintf(res->text, sizeof(res->text), "command "
		    "%s exited with status %d (%s)", name, st, what);
	}
	pipe_first_line(o->out ? o->out : "", o->outlen, line, sizeof(line));
	if (line[0] != '\0' && len + 3 < sizeof(res->text)) {
		/* cut to what is left of the text (a DSN line stays short) */
		memcpy(res->text + len, ": ", 2);
		len += 2;
		snprintf(res->text + len, sizeof(res->text) - len, "%.*s",
		    (int)(sizeof(res->text) - len - 1), line);
	}
}
