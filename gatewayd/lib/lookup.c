/*
 * lookup.c - lookup tables with csv and yaml backends (lookup.h)
 *
 * Both file backends load into the same in-memory table: entries sorted
 * by key, looked up with bsearch(3).
 */
#include "config.h"

#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <yaml.h>

#include "lookup.h"
#include "xmalloc.h"

struct lookup {
	const struct lookup_backend *be;
	void *ctx;
	/* who waits for a network table's answers (lookup_attach) */
	void (*landed)(void *, const struct lookup *, const char *);
	void (*asked)(void *, const struct lookup *, const char *);
	void *arg;
};

struct lookup_entry {
	char *key;
	char **vals;
	size_t nvals;
};

struct lookup_table {
	struct lookup_entry *e;
	size_t n;
};

static void *lookup_seterr(char *, size_t, const char *, ...)
    __attribute__((format(printf, 3, 4)));

/* lookup_seterr - fill err, return NULL */
static void *
lookup_seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return NULL;
}

/* lookup_table_add - add a value to key (keeping the first order) */
static int
lookup_table_add(struct lookup_table *t, const char *key, const char *val)
{
	struct lookup_entry *e = NULL;
	size_t i;

	for (i = t->n; i > 0; i--)	/* usually the last one */
		if (strcmp(t->e[i - 1].key, key) == 0) {
			e = &t->e[i - 1];
			break;
		}
	if (e == NULL) {
		if (t->n >= LOOKUP_MAX_ENTRIES)
			return -1;
		t->e = xreallocarray(t->e, t->n + 1, sizeof(*t->e));
		e = &t->e[t->n++];
		memset(e, 0, sizeof(*e));
		e->key = xstrdup(key);
	}
	for (i = 0; i < e->nvals; i++)
		if (strcasecmp(e->vals[i], val) == 0)
			return 0;
	if (e->nvals >= LOOKUP_MAX_VALUES)
		return -1;
	e->vals = xreallocarray(e->vals, e->nvals + 1, sizeof(*e->vals));
	e->vals[e->nvals++] = xstrdup(val);
	return 0;
}

/* lookup_cmp - order of entries by key */
static int
lookup_cmp(const void *a, const void *b)
{
	return strcmp(((const struct lookup_entry *)a)->key,
	    ((const struct lookup_entry *)b)->key);
}

/* lookup_table_free - free a table */
static void
lookup_table_free(void *ctx)
{
	struct lookup_table *t = ctx;
	size_t i, j;

	if (t == NULL)
		return;
	for (i = 0; i < t->n; i++) {
		for (j = 0; j < t->e[i].nvals; j++)
			free(t->e[i].vals[j]);
		free(t->e[i].vals);
		free(t->e[i].key);
	}
	free(t->e);
	free(t);
}

/* lookup_table_get - bsearch a key */
static int
lookup_table_get(void *ctx, const char *key, const char *const **vals,
    size_t *n)
{
	struct lookup_table *t = ctx;
	struct lookup_entry k, *e;

	k.key = (char *)(uintptr_t)key;
	e = t->n ? bsearch(&k, t->e, t->n, sizeof(*t->e), lookup_cmp) : NULL;
	if (e == NULL)
		return 1;
	*vals = (const char *const *)e->vals;
	*n = e->nvals;
	return 0;
}

/* lookup_read - a whole file, NUL-terminated, bounded */
static char *
lookup_read(const char *path, size_t *lenp, char *err, size_t errlen)
{
	struct stat sb;
	char *buf;
	ssize_t r;
	size_t len = 0;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return lookup_seterr(err, errlen, "%s: %s", path,
		    strerror(errno));
	if (fstat(fd, &sb) == -1 || !S_ISREG(sb.st_mode) ||
	    sb.st_size > LOOKUP_MAX_FILE) {
		close(fd);
		return lookup_seterr(err, errlen, "%s: %s", path,
		    "not a regular file of at most 16 MiB");
	}
	buf = xmalloc((size_t)sb.st_size + 1);
	while (len < (size_t)sb.st_size &&
	    (r = read(fd, buf + len, (size_t)sb.st_size - len)) > 0)
		len += (size_t)r;
	close(fd);
	buf[len] = '\0';
	*lenp = len;
	return buf;
}

/* lookup_trim - strip spaces at both ends in place */
static char *
lookup_trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

/* lookup_csv_line - one "key,value,..." line */
static int
lookup_csv_line(struct lookup_table *t, char *line)
{
	char *key, *v, *save = NULL;
	int n = 0;

	if ((key = strtok_r(line, ",", &save)) == NULL)
		return -1;
	key = lookup_trim(key);
	if (*key == '\0')
		return -1;
	while ((v = strtok_r(NULL, ",", &save)) != NULL) {
		v = lookup_trim(v);
		if (*v != '\0' && lookup_table_add(t, key, v) == -1)
			return -1;
		n += *v != '\0';
	}
	return n > 0 ? 0 : -1;
}

/* lookup_csv_open - load a csv table */
static void *
lookup_csv_open(const char *path, char *err, size_t errlen)
{
	struct lookup_table *t;
	char *buf, *line, *next, lno[32];
	size_t len, n = 0;

	if ((buf = lookup_read(path, &len, err, errlen)) == NULL)
		return NULL;
	t = xcalloc(1, sizeof(*t));
	for (line = buf; line != NULL; line = next) {
		n++;
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		line = lookup_trim(line);
		if (*line == '\0' || *line == '#')
			continue;
		if (lookup_csv_line(t, line) == -1) {
			snprintf(lno, sizeof(lno), "%zu", n);
			lookup_seterr(err, errlen, "%s:%s: bad entry "
			    "(expected key,address[,address...])", path, lno);
			free(buf);
			lookup_table_free(t);
			return NULL;
		}
	}
	free(buf);
	qsort(t->e, t->n, sizeof(*t->e), lookup_cmp);
	return t;
}

/* lookup_yaml_value - the scalar or list of scalars of one key */
static int
lookup_yaml_value(struct lookup_table *t, yaml_document_t *doc,
    const char *key, yaml_node_t *v)
{
	yaml_node_item_t *it;
	yaml_node_t *item;

	if (v->type == YAML_SCALAR_NODE)
		return lookup_table_add(t, key, (const char *)v->data.scalar.value);
	if (v->type != YAML_SEQUENCE_NODE)
		return -1;
	for (it = v->data.sequence.items.start; it < v->data.sequence.items.top;
	    it++) {
		item = yaml_document_get_node(doc, *it);
		if (item == NULL || item->type != YAML_SCALAR_NODE ||
		    lookup_table_add(t, key,
		    (const char *)item->data.scalar.value) == -1)
			return -1;
	}
	return 0;
}

/* lookup_yaml_open - load a yaml map table */
static void *
lookup_yaml_open(const char *path, char *err, size_t errlen)
{
	struct lookup_table *t = NULL;
	yaml_parser_t parser;
	yaml_document_t doc;
	yaml_node_t *root, *k, *v;
	yaml_node_pair_t *pair;
	char *buf, lno[32];
	size_t len;

	if ((buf = lookup_read(path, &len, err, errlen)) == NULL)
		return NULL;
	yaml_parser_initialize(&parser);
	yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
	if (!yaml_parser_load(&parser, &doc)) {
		snprintf(lno, sizeof(lno), "%zu", parser.problem_mark.line + 1);
		lookup_seterr(err, errlen, "%s:%s: YAML syntax error", path, lno);
		goto out;
	}
	t = xcalloc(1, sizeof(*t));
	root = yaml_document_get_root_node(&doc);
	if (root != NULL && root->type != YAML_MAPPING_NODE) {
		lookup_seterr(err, errlen, "%s: %s", path, "expected a map");
		goto bad;
	}
	for (pair = root ? root->data.mapping.pairs.start : NULL;
	    root != NULL && pair < root->data.mapping.pairs.top; pair++) {
		k = yaml_document_get_node(&doc, pair->key);
		v = yaml_document_get_node(&doc, pair->value);
		if (k == NULL || v == NULL || k->type != YAML_SCALAR_NODE ||
		    lookup_yaml_value(t, &doc,
		    (const char *)k->data.scalar.value, v) == -1) {
			snprintf(lno, sizeof(lno), "%zu",
			    k ? k->start_mark.line + 1 : 0);
			lookup_seterr(err, errlen, "%s:%s: bad entry "
			    "(expected key: address or key: [addresses])", path, lno);
			goto bad;
		}
	}
	qsort(t->e, t->n, sizeof(*t->e), lookup_cmp);
	yaml_document_delete(&doc);
	goto out;
bad:
	yaml_document_delete(&doc);
	lookup_table_free(t);
	t = NULL;
out:
	yaml_parser_delete(&parser);
	free(buf);
	return t;
}

static const struct lookup_backend lookup_backends[] = {
	{ "csv", lookup_csv_open, lookup_table_get, lookup_table_free, NULL,
	    NULL },
	{ "yaml", lookup_yaml_open, lookup_table_get, lookup_table_free, NULL,
	    NULL },
	{ NULL, NULL, NULL, NULL, NULL, NULL }
};

/* lookup_open - open a table with the named backend */
struct lookup *
lookup_open(const char *backend, const char *source, char *err, size_t errlen)
{
	const struct lookup_backend *be;
	struct lookup *l;
	void *ctx;

	for (be = lookup_backends; be->name != NULL; be++)
		if (strcmp(be->name, backend) == 0)
			break;
	if (be->name == NULL)
		return lookup_seterr(err, errlen, "unknown lookup backend %s%s",
		    backend, "");
	if ((ctx = be->open(source, err, errlen)) == NULL)
		return NULL;
	l = xcalloc(1, sizeof(*l));
	l->be = be;
	l->ctx = ctx;
	return l;
}

/* lookup_new - a table around a backend's context */
struct lookup *
lookup_new(const struct lookup_backend *be, void *ctx)
{
	struct lookup *l;

	l = xcalloc(1, sizeof(*l));
	l->be = be;
	l->ctx = ctx;
	return l;
}

/* lookup_filter_put - append len bytes of s, escaped if esc (RFC 4515) */
static int
lookup_filter_put(char *out, size_t outlen, size_t *o, const char *s,
    size_t len, int esc)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char c;
	size_t i;

	for (i = 0; i < len; i++) {
		c = (unsigned char)s[i];
		if (esc && (c == '*' || c == '(' || c == ')' || c == '\\' ||
		    c < 0x20 || c == 0x7f)) {
			if (*o + 3 >= outlen)
				return -1;
			out[(*o)++] = '\\';
			out[(*o)++] = hex[c >> 4];
			out[(*o)++] = hex[c & 0xf];
		} else {
			if (*o + 1 >= outlen)
				return -1;
			out[(*o)++] = (char)c;
		}
	}
	out[*o] = '\0';
	return 0;
}

/* lookup_filter_expand - the filter for one key */
int
lookup_filter_expand(const char *tmpl, const char *key, char *out,
    size_t outlen)
{
	const char *at = strrchr(key, '@');
	size_t o = 0, ulen = at != NULL ? (size_t)(at - key) : strlen(key);
	const char *dom = at != NULL ? at + 1 : "";
	int r = 0;

	if (outlen == 0)
		return -1;
	out[0] = '\0';
	for (; *tmpl != '\0' && r == 0; tmpl++) {
		if (*tmpl != '%' || tmpl[1] == '\0') {
			r = lookup_filter_put(out, outlen, &o, tmpl, 1, 0);
			continue;
		}
		switch (*++tmpl) {
		case 's':
			r = lookup_filter_put(out, outlen, &o, key, strlen(key), 1);
			break;
		case 'u':
			r = lookup_filter_put(out, outlen, &o, key, ulen, 1);
			break;
		case 'd':
			r = lookup_filter_put(out, outlen, &o, dom, strlen(dom), 1);
			break;
		default:
			r = lookup_filter_put(out, outlen, &o, tmpl, 1, 0);
		}
	}
	return r;
}

/* lookup_get - the values of a key; a pending one is told to asked() */
int
lookup_get(struct lookup *l, const char *key, const char *const **vals,
    size_t *n)
{
	int r = l->be->get(l->ctx, key, vals, n);

	if (r == LOOKUP_PENDING && l->asked != NULL)
		l->asked(l->arg, l, key);
	return r;
}

/* lookup_close - release a table */
void
lookup_close(struct lookup *l)
{
	if (l == NULL)
		return;
	l->be->close(l->ctx);
	free(l);
}

/* lookup_landed - a backend's answer for key: tell who attached the table */
static void
lookup_landed(void *arg, const char *key)
{
	struct lookup *l = arg;

	if (l->landed != NULL)
		l->landed(l->arg, l, key);
}

/* lookup_attach - a network table works on the event loop */
void
lookup_attach(struct lookup *l, struct event_base *base,
    void (*landed)(void *, const struct lookup *, const char *),
    void (*asked)(void *, const struct lookup *, const char *), void *arg)
{
	if (l == NULL || l->be->attach == NULL)
		return;
	l->landed = landed;
	l->asked = asked;
	l->arg = arg;
	l->be->attach(l->ctx, base, lookup_landed, l);
}

/* lookup_release - a network table forgets the answers it kept */
void
lookup_release(struct lookup *l)
{
	if (l != NULL && l->be->release != NULL)
		l->be->release(l->ctx);
}

/* lookup_key_digits - the last ndigits digits of s */
int
lookup_key_digits(const char *s, int ndigits, char *out, size_t outlen)
{
	size_t n = 0, i, len = strlen(s), start;
	char digits[128];

	for (i = 0; i < len && n + 1 < sizeof(digits); i++)
		if (isdigit((unsigned char)s[i]))
			digits[n++] = s[i];
	if (n == 0 || ndigits <= 0)
		return -1;
	start = n > (size_t)ndigits ? n - (size_t)ndigits : 0;
	if (n - start + 1 > outlen)
		return -1;
	memcpy(out, digits + start, n - start);
	out[n - start] = '\0';
	return 0;
}
