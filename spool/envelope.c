/*
 * envelope.c - format and parse the text envelope of spool files
 *
 * The envelope is a few "key value" lines a person can read (envelope.h).
 * Every value is escaped (\xHH for control bytes, 0x7f, '\' and, outside
 * text fields, spaces), so no byte received from a client or an upstream
 * server can end a line or forge a field.  The parser is strict: it accepts
 * exactly what envelope_format() writes (plus harmless variants such as
 * upper-case hex escapes), and envelope_format() of a parsed envelope gives
 * the same bytes back.  Depends only on libc; never logs.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "envelope.h"

#define ENV_MAGIC	"gatewayd-envelope"
#define ENV_POOLED_RCPT	((uint32_t)1 << 31)	/* the rcpt array */
#define ENV_SUM_LEN	8			/* hex digits of the checksum */

enum env_type {
	T_ID, T_KIND, T_ARRIVAL, T_STR, T_OPT, T_OPTTEXT, T_FROM,
	T_SIZE, T_UINT, T_TIME
};

struct env_field {
	const char *key;
	enum env_type type;
	size_t off;		/* offset of the char * member (string types) */
	int job;		/* only in job envelopes */
	int optional;		/* may be absent (NULL); not written when NULL */
};

#define SF(m)	offsetof(struct envelope, m)

/*
 * CRC-32C (Castagnoli, reflected polynomial 0x82f63b78) of a job
 * envelope, written on its "end" line (envelope.h): a job file rewritten
 * in place and cut by a power failure, or holding an earlier job's
 * bytes, does not parse.  The check value of "123456789" is e3069283.
 */
static const uint32_t env_crc32c_table[256] = {
	0x00000000, 0xf26b8303, 0xe13b70f7, 0x1350f3f4,
	0xc79a971f, 0x35f1141c, 0x26a1e7e8, 0xd4ca64eb,
	0x8ad958cf, 0x78b2dbcc, 0x6be22838, 0x9989ab3b,
	0x4d43cfd0, 0xbf284cd3, 0xac78bf27, 0x5e133c24,
	0x105ec76f, 0xe235446c, 0xf165b798, 0x030e349b,
	0xd7c45070, 0x25afd373, 0x36ff2087, 0xc494a384,
	0x9a879fa0, 0x68ec1ca3, 0x7bbcef57, 0x89d76c54,
	0x5d1d08bf, 0xaf768bbc, 0xbc267848, 0x4e4dfb4b,
	0x20bd8ede, 0xd2d60ddd, 0xc186fe29, 0x33ed7d2a,
	0xe72719c1, 0x154c9ac2, 0x061c6936, 0xf477ea35,
	0xaa64d611, 0x580f5512, 0x4b5fa6e6, 0xb93425e5,
	0x6dfe410e, 0x9f95c20d, 0x8cc531f9, 0x7eaeb2fa,
	0x30e349b1, 0xc288cab2, 0xd1d83946, 0x23b3ba45,
	0xf779deae, 0x05125dad, 0x1642ae59, 0xe4292d5a,
	0xba3a117e, 0x4851927d, 0x5b016189, 0xa96ae28a,
	0x7da08661, 0x8fcb0562, 0x9c9bf696, 0x6ef07595,
	0x417b1dbc, 0xb3109ebf, 0xa0406d4b, 0x522bee48,
	0x86e18aa3, 0x748a09a0, 0x67dafa54, 0x95b17957,
	0xcba24573, 0x39c9c670, 0x2a993584, 0xd8f2b687,
	0x0c38d26c, 0xfe53516f, 0xed03a29b, 0x1f682198,
	0x5125dad3, 0xa34e59d0, 0xb01eaa24, 0x42752927,
	0x96bf4dcc, 0x64d4cecf, 0x77843d3b, 0x85efbe38,
	0xdbfc821c, 0x2997011f, 0x3ac7f2eb, 0xc8ac71e8,
	0x1c661503, 0xee0d9600, 0xfd5d65f4, 0x0f36e6f7,
	0x61c69362, 0x93ad1061, 0x80fde395, 0x72966096,
	0xa65c047d, 0x5437877e, 0x4767748a, 0xb50cf789,
	0xeb1fcbad, 0x197448ae, 0x0a24bb5a, 0xf84f3859,
	0x2c855cb2, 0xdeeedfb1, 0xcdbe2c45, 0x3fd5af46,
	0x7198540d, 0x83f3d70e, 0x90a324fa, 0x62c8a7f9,
	0xb602c312, 0x44694011, 0x5739b3e5, 0xa55230e6,
	0xfb410cc2, 0x092a8fc1, 0x1a7a7c35, 0xe811ff36,
	0x3cdb9bdd, 0xceb018de, 0xdde0eb2a, 0x2f8b6829,
	0x82f63b78, 0x709db87b, 0x63cd4b8f, 0x91a6c88c,
	0x456cac67, 0xb7072f64, 0xa457dc90, 0x563c5f93,
	0x082f63b7, 0xfa44e0b4, 0xe9141340, 0x1b7f9043,
	0xcfb5f4a8, 0x3dde77ab, 0x2e8e845f, 0xdce5075c,
	0x92a8fc17, 0x60c37f14, 0x73938ce0, 0x81f80fe3,
	0x55326b08, 0xa759e80b, 0xb4091bff, 0x466298fc,
	0x1871a4d8, 0xea1a27db, 0xf94ad42f, 0x0b21572c,
	0xdfeb33c7, 0x2d80b0c4, 0x3ed04330, 0xccbbc033,
	0xa24bb5a6, 0x502036a5, 0x4370c551, 0xb11b4652,
	0x65d122b9, 0x97baa1ba, 0x84ea524e, 0x7681d14d,
	0x2892ed69, 0xdaf96e6a, 0xc9a99d9e, 0x3bc21e9d,
	0xef087a76, 0x1d63f975, 0x0e330a81, 0xfc588982,
	0xb21572c9, 0x407ef1ca, 0x532e023e, 0xa145813d,
	0x758fe5d6, 0x87e466d5, 0x94b49521, 0x66df1622,
	0x38cc2a06, 0xcaa7a905, 0xd9f75af1, 0x2b9cd9f2,
	0xff56bd19, 0x0d3d3e1a, 0x1e6dcdee, 0xec064eed,
	0xc38d26c4, 0x31e6a5c7, 0x22b65633, 0xd0ddd530,
	0x0417b1db, 0xf67c32d8, 0xe52cc12c, 0x1747422f,
	0x49547e0b, 0xbb3ffd08, 0xa86f0efc, 0x5a048dff,
	0x8ecee914, 0x7ca56a17, 0x6ff599e3, 0x9d9e1ae0,
	0xd3d3e1ab, 0x21b862a8, 0x32e8915c, 0xc083125f,
	0x144976b4, 0xe622f5b7, 0xf5720643, 0x07198540,
	0x590ab964, 0xab613a67, 0xb831c993, 0x4a5a4a90,
	0x9e902e7b, 0x6cfbad78, 0x7fab5e8c, 0x8dc0dd8f,
	0xe330a81a, 0x115b2b19, 0x020bd8ed, 0xf0605bee,
	0x24aa3f05, 0xd6c1bc06, 0xc5914ff2, 0x37faccf1,
	0x69e9f0d5, 0x9b8273d6, 0x88d28022, 0x7ab90321,
	0xae7367ca, 0x5c18e4c9, 0x4f48173d, 0xbd23943e,
	0xf36e6f75, 0x0105ec76, 0x12551f82, 0xe03e9c81,
	0x34f4f86a, 0xc69f7b69, 0xd5cf889d, 0x27a40b9e,
	0x79b737ba, 0x8bdcb4b9, 0x988c474d, 0x6ae7c44e,
	0xbe2da0a5, 0x4c4623a6, 0x5f16d052, 0xad7d5351,
};

uint32_t
envelope_crc32c(const void *buf, size_t len)
{
	const unsigned char *p = buf;
	uint32_t c = 0xffffffffU;

	while (len-- > 0)
		c = env_crc32c_table[(c ^ *p++) & 0xff] ^ (c >> 8);
	return c ^ 0xffffffffU;
}

/* Header fields, in the order envelope_format() writes them. */
static const struct env_field env_fields[] = {
	{ "id",			T_ID,		0,			0, 0 },
	{ "kind",		T_KIND,		0,			0, 0 },
	{ "arrival",		T_ARRIVAL,	0,			0, 0 },
	{ "listener",		T_STR,		SF(listener),		0, 0 },
	{ "client",		T_STR,		SF(client),		0, 0 },
	{ "client-name",	T_STR,		SF(client_name),	0, 0 },
	{ "helo",		T_STR,		SF(helo),		0, 0 },
	{ "auth",		T_OPT,		SF(auth),		0, 0 },
	{ "proto",		T_STR,		SF(proto),		0, 0 },
	{ "body",		T_STR,		SF(body),		0, 0 },
	{ "size",		T_SIZE,		0,			0, 0 },
	{ "from",		T_FROM,		SF(from),		0, 0 },
	{ "ret",		T_STR,		SF(ret),		0, 1 },
	{ "envid",		T_STR,		SF(envid),		0, 1 },
	{ "connector",		T_STR,		SF(connector),		1, 0 },
	{ "attempts",		T_UINT,		0,			1, 0 },
	{ "next-attempt",	T_TIME,		0,			1, 0 },
	{ "last-error",		T_OPTTEXT,	SF(last_error),		1, 0 },
};
#define ENV_NFIELDS	(sizeof(env_fields) / sizeof(env_fields[0]))
_Static_assert(ENV_NFIELDS < 31, "a pooled bit per field, bit 31 the rcpt array");

static const char *env_rcpt_states[] = { "pending", "done", "deferred", "failed" };

/* env_oom - allocation failure in a function that cannot report it */
static void
env_oom(void)
{
	static const char msg[] = "envelope: out of memory\n";

	fputs(msg, stderr);
	abort();
}

/* env_is_str - is the field a char * member? */
static int
env_is_str(const struct env_field *f)
{
	return f->type == T_STR || f->type == T_OPT || f->type == T_OPTTEXT ||
	    f->type == T_FROM;
}

/* env_strdup - strdup that treats NULL as NULL */
static int
env_strdup(char **dst, const char *src)
{
	*dst = NULL;
	if (src == NULL)
		return 0;
	if ((*dst = strdup(src)) == NULL)
		return -1;
	return 0;
}

/* env_strp - the char * member of env a field table entry names */
static char **
env_strp(struct envelope *env, const struct env_field *f)
{
	return (char **)(void *)((char *)env + f->off);
}

/* env_cstr - const variant of env_strp */
static const char *
env_cstr(const struct envelope *env, const struct env_field *f)
{
	return *(char *const *)(const void *)((const char *)env + f->off);
}

/* envelope_rcpt_state_name - text of a recipient state */
const char *
envelope_rcpt_state_name(enum rcpt_state st)
{
	if ((unsigned int)st >= sizeof(env_rcpt_states) / sizeof(env_rcpt_states[0]))
		return "unknown";
	return env_rcpt_states[st];
}

/* env_free - free s unless the pool holds it (bit of pooled set) */
static void
env_free(void *s, unsigned int pooled, unsigned int bit)
{
	if (!(pooled & bit))
		free(s);
}

/* env_field_bit - the pooled bit of a string member of env (by offset) */
static uint32_t
env_field_bit(const struct envelope *env, char *const *field)
{
	size_t off = (size_t)((const char *)field - (const char *)env), i;

	for (i = 0; i < ENV_NFIELDS; i++)
		if (env_is_str(&env_fields[i]) && env_fields[i].off == off)
			return (uint32_t)1 << i;
	fputs("envelope_put: not a string field of the envelope\n", stderr);
	abort();		/* a caller's bug */
}

/* env_rcpt_clear - free one recipient's fields */
static void
env_rcpt_clear(struct envelope_rcpt *r)
{
	size_t i;

	for (i = 0; i < r->nparams; i++) {
		env_free(r->params[i].name, r->params[i].pooled,
		    ENVELOPE_POOLED_NAME);
		env_free(r->params[i].value, r->params[i].pooled,
		    ENVELOPE_POOLED_VALUE);
	}
	env_free(r->params, r->pooled, ENVELOPE_POOLED_PARAMS);
	env_free(r->addr, r->pooled, ENVELOPE_POOLED_ADDR);
	env_free(r->text, r->pooled, ENVELOPE_POOLED_TEXT);
	memset(r, 0, sizeof(*r));
}

/* envelope_clear - free every field (not the struct itself) and zero it */
void
envelope_clear(struct envelope *env)
{
	size_t i;

	if (env == NULL)
		return;
	for (i = 0; i < ENV_NFIELDS; i++)
		if (env_is_str(&env_fields[i]))
			env_free(*env_strp(env, &env_fields[i]), env->pooled,
			    (uint32_t)1 << i);
	for (i = 0; i < env->nrcpt; i++)
		env_rcpt_clear(&env->rcpt[i]);
	env_free(env->rcpt, env->pooled, ENV_POOLED_RCPT);
	free(env->pool);
	memset(env, 0, sizeof(*env));
}

/* envelope_put - replace a string field of env; takes value */
void
envelope_put(struct envelope *env, char **field, char *value)
{
	uint32_t bit = env_field_bit(env, field);

	env_free(*field, env->pooled, bit);
	env->pooled &= ~bit;
	*field = value;
}

/* envelope_rcpt_put_text - replace a recipient's result text; takes text */
void
envelope_rcpt_put_text(struct envelope_rcpt *r, char *text)
{
	env_free(r->text, r->pooled, ENVELOPE_POOLED_TEXT);
	r->pooled &= ~ENVELOPE_POOLED_TEXT;
	r->text = text;
}

/*
 * env_unpool - an array of n elements of size each, moved out of the
 * pool into an allocation of its own with room for one more; NULL with
 * errno
 */
static void *
env_unpool(const void *v, size_t n, size_t size)
{
	void *a;

	if ((a = reallocarray(NULL, n + 1, size)) != NULL && n > 0)
		memcpy(a, v, n * size);
	return a;
}

/* env_rcpt_grow - room for one more recipient; NULL with errno */
static struct envelope_rcpt *
env_rcpt_grow(struct envelope *env)
{
	struct envelope_rcpt *r;

	if (env->nrcpt >= ENVELOPE_MAX_RCPT) {
		errno = E2BIG;
		return NULL;
	}
	/* exact size: callers may have built the array themselves */
	if (env->pooled & ENV_POOLED_RCPT)
		r = env_unpool(env->rcpt, env->nrcpt, sizeof(*r));
	else
		r = reallocarray(env->rcpt, env->nrcpt + 1, sizeof(*r));
	if (r == NULL)
		return NULL;
	env->pooled &= ~ENV_POOLED_RCPT;
	env->rcpt = r;
	r = &env->rcpt[env->nrcpt];
	memset(r, 0, sizeof(*r));
	return r;
}

/* envelope_add_rcpt - append a recipient (copies addr); NULL on failure */
struct envelope_rcpt *
envelope_add_rcpt(struct envelope *env, const char *addr)
{
	struct envelope_rcpt *r;

	if ((r = env_rcpt_grow(env)) == NULL)
		return NULL;
	if ((r->addr = strdup(addr)) == NULL)
		return NULL;
	r->state = RCPT_PENDING;
	env->nrcpt++;
	return r;
}

/* env_param_add - append a parameter; -1 with errno */
static int
env_param_add(struct envelope_rcpt *r, const char *name, const char *value)
{
	struct envelope_param *p;
	char *n, *v;

	if (r->pooled & ENVELOPE_POOLED_PARAMS)
		p = env_unpool(r->params, r->nparams, sizeof(*p));
	else
		p = reallocarray(r->params, r->nparams + 1, sizeof(*p));
	if (p == NULL)
		return -1;
	r->pooled &= ~ENVELOPE_POOLED_PARAMS;
	r->params = p;
	n = strdup(name);
	v = strdup(value);
	if (n == NULL || v == NULL) {
		free(n);
		free(v);
		return -1;
	}
	p[r->nparams].name = n;
	p[r->nparams].value = v;
	p[r->nparams].pooled = 0;
	r->nparams++;
	return 0;
}

/* env_param_put_value - replace a parameter's value with a copy */
static void
env_param_put_value(struct envelope_param *p, const char *value)
{
	char *v;

	if ((v = strdup(value)) == NULL)
		env_oom();
	env_free(p->value, p->pooled, ENVELOPE_POOLED_VALUE);
	p->pooled &= ~ENVELOPE_POOLED_VALUE;
	p->value = v;
}

/* envelope_rcpt_set_param - set (replace or add) a routing parameter */
void
envelope_rcpt_set_param(struct envelope_rcpt *r, const char *name,
    const char *value)
{
	size_t i;

	for (i = 0; i < r->nparams; i++) {
		if (strcmp(r->params[i].name, name) == 0) {
			env_param_put_value(&r->params[i], value);
			return;
		}
	}
	if (env_param_add(r, name, value) == -1)
		env_oom();
}

/* envelope_rcpt_rename_param - old becomes name=value, in its place */
int
envelope_rcpt_rename_param(struct envelope_rcpt *r, const char *old,
    const char *name, const char *value)
{
	struct envelope_param *p;
	size_t i;
	char *n;

	for (i = 0; i < r->nparams; i++) {
		p = &r->params[i];
		if (strcmp(p->name, old) != 0)
			continue;
		if ((n = strdup(name)) == NULL)
			env_oom();
		env_param_put_value(p, value);
		env_free(p->name, p->pooled, ENVELOPE_POOLED_NAME);
		p->pooled &= ~ENVELOPE_POOLED_NAME;
		p->name = n;
		return 0;
	}
	return -1;
}

/* envelope_rcpt_param - value of a routing parameter, or NULL */
const char *
envelope_rcpt_param(const struct envelope_rcpt *r, const char *name)
{
	size_t i;

	for (i = 0; i < r->nparams; i++)
		if (strcmp(r->params[i].name, name) == 0)
			return r->params[i].value;
	return NULL;
}

/* env_rcpt_copy - deep copy of one recipient; -1 on allocation failure */
static int
env_rcpt_copy(struct envelope_rcpt *d, const struct envelope_rcpt *s)
{
	size_t i;

	memset(d, 0, sizeof(*d));
	d->state = s->state;
	d->code = s->code;
	memcpy(d->status, s->status, sizeof(d->status));
	d->status[sizeof(d->status) - 1] = '\0';
	if (env_strdup(&d->addr, s->addr) == -1 ||
	    env_strdup(&d->text, s->text) == -1)
		return -1;
	for (i = 0; i < s->nparams; i++)
		if (env_param_add(d, s->params[i].name, s->params[i].value) == -1)
			return -1;
	return 0;
}

/* envelope_copy - deep copy of src into dst (aborts on allocation failure) */
void
envelope_copy(struct envelope *dst, const struct envelope *src)
{
	size_t i;

	memcpy(dst, src, sizeof(*dst));
	for (i = 0; i < ENV_NFIELDS; i++)
		if (env_is_str(&env_fields[i]))
			*env_strp(dst, &env_fields[i]) = NULL;
	dst->rcpt = NULL;
	dst->nrcpt = 0;
	dst->pool = NULL;
	dst->pooled = 0;
	for (i = 0; i < ENV_NFIELDS; i++)
		if (env_is_str(&env_fields[i]) &&
		    env_strdup(env_strp(dst, &env_fields[i]),
		    env_cstr(src, &env_fields[i])) == -1)
			env_oom();
	if (src->nrcpt == 0)
		return;
	if ((dst->rcpt = calloc(src->nrcpt, sizeof(*dst->rcpt))) == NULL)
		env_oom();
	for (i = 0; i < src->nrcpt; i++) {
		if (env_rcpt_copy(&dst->rcpt[i], &src->rcpt[i]) == -1)
			env_oom();
		dst->nrcpt++;
	}
}

/* env_must_escape - does byte c need \xHH in a value? */
static int
env_must_escape(unsigned char c, int keep_spaces)
{
	if (c == '\\' || c == 0x7f)
		return 1;
	return keep_spaces ? c < 0x20 : c < 0x21;
}

/*
 * envelope_escape - escape src into dst (always NUL-terminated when dstlen
 * > 0, never cutting an escape in half); returns the length the whole
 * escaped string needs, so a result >= dstlen means truncation.
 */
size_t
envelope_escape(char *dst, size_t dstlen, const char *src, int keep_spaces)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s;
	size_t need = 0, w = 0, step;
	char tmp[4];

	for (s = (const unsigned char *)src; *s != '\0'; s++) {
		if (env_must_escape(*s, keep_spaces)) {
			tmp[0] = '\\';
			tmp[1] = 'x';
			tmp[2] = hex[*s >> 4];
			tmp[3] = hex[*s & 0xf];
			step = 4;
		} else {
			tmp[0] = (char)*s;
			step = 1;
		}
		need += step;
		if (dstlen > 0 && w + step < dstlen && w == need - step) {
			memcpy(dst + w, tmp, step);
			w += step;
		}
	}
	if (dstlen > 0)
		dst[w] = '\0';
	return need;
}

/* envelope_hexdigit - value of a hex digit (envelope.h) */
int
envelope_hexdigit(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * envelope_unescape - decode \xHH in place; -1 on a malformed escape, an
 * escaped NUL, or a raw control byte (an escaped value never has one).
 */
int
envelope_unescape(char *s)
{
	unsigned char *r = (unsigned char *)s, *w = (unsigned char *)s;
	int hi, lo;

	while (*r != '\0') {
		if (*r < 0x20 || *r == 0x7f)
			return -1;
		if (*r != '\\') {
			*w++ = *r++;
			continue;
		}
		if (r[1] != 'x' || (hi = envelope_hexdigit(r[2])) < 0 ||
		    (lo = envelope_hexdigit(r[3])) < 0 || (hi == 0 && lo == 0))
			return -1;
		*w++ = (unsigned char)(hi << 4 | lo);
		r += 4;
	}
	*w = '\0';
	return 0;
}

/* ---- formatting ---- */

struct env_buf {
	char *p;
	size_t len, cap;
	int failed;		/* errno of the first failure, 0 if none */
};

/* env_buf_reserve - make room for n more bytes (plus a NUL) */
static int
env_buf_reserve(struct env_buf *b, size_t n)
{
	size_t cap;
	char *p;

	if (b->failed)
		return -1;
	if (n > ENVELOPE_MAX_SIZE || b->len + n + 1 > ENVELOPE_MAX_SIZE + 1) {
		b->failed = E2BIG;
		return -1;
	}
	if (b->len + n + 1 <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 1024;
	while (cap < b->len + n + 1)
		cap *= 2;
	if ((p = realloc(b->p, cap)) == NULL) {
		b->failed = ENOMEM;
		return -1;
	}
	b->p = p;
	b->cap = cap;
	return 0;
}

/* env_buf_add - append raw bytes */
static void
env_buf_add(struct env_buf *b, const char *s, size_t n)
{
	if (env_buf_reserve(b, n) == -1)
		return;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

/* env_buf_printf - append formatted text (short, internal strings only) */
static void __attribute__((format(printf, 2, 3)))
env_buf_printf(struct env_buf *b, const char *fmt, ...)
{
	char tmp[128];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(tmp)) {
		b->failed = b->failed ? b->failed : EINVAL;
		return;
	}
	env_buf_add(b, tmp, (size_t)n);
}

/* env_buf_esc - append an escaped value */
static void
env_buf_esc(struct env_buf *b, const char *s, int keep_spaces)
{
	size_t need;

	need = envelope_escape(NULL, 0, s, keep_spaces);
	if (env_buf_reserve(b, need) == -1)
		return;
	envelope_escape(b->p + b->len, need + 1, s, keep_spaces);
	b->len += need;
}

/* env_buf_kv - a "key value" line ("key" alone when the value is empty) */
static void
env_buf_kv(struct env_buf *b, const char *key, const char *val, int keep)
{
	env_buf_add(b, key, strlen(key));
	if (val != NULL && *val != '\0') {
		env_buf_add(b, " ", 1);
		env_buf_esc(b, val, keep);
	}
	env_buf_add(b, "\n", 1);
}

/* env_qid_ok - 20 lowercase hex digits */
static int
env_qid_ok(const char *s)
{
	size_t i;

	for (i = 0; i < ENVELOPE_QID_LEN; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return s[i] == '\0';
}

/* env_status_ok - enhanced status code "C.SSS.DDD" with class 2, 4 or 5 */
static int
env_status_ok(const char *s)
{
	size_t i, part = 0, digits = 0;

	if (!(s[0] == '2' || s[0] == '4' || s[0] == '5') || s[1] != '.')
		return 0;
	for (i = 2; s[i] != '\0'; i++) {
		if (s[i] >= '0' && s[i] <= '9') {
			if (++digits > 3)
				return 0;
		} else if (s[i] == '.' && digits > 0 && part == 0) {
			part++;
			digits = 0;
		} else
			return 0;
	}
	return part == 1 && digits > 0 && i < 16;
}

/* env_format_field - one header line */
static void
env_format_field(struct env_buf *b, const struct envelope *env,
    const struct env_field *f)
{
	const char *s;

	switch (f->type) {
	case T_ID:
		env_buf_printf(b, "id %s\n", env->id);
		break;
	case T_KIND:
		env_buf_printf(b, "kind %s\n",
		    env->kind == ENVELOPE_JOB ? "job" : "message");
		break;
	case T_ARRIVAL:
		env_buf_printf(b, "arrival %" PRId64 ".%06" PRId64 "\n",
		    env->arrival_us / 1000000, env->arrival_us % 1000000);
		break;
	case T_STR:
		env_buf_kv(b, f->key, env_cstr(env, f), 0);
		break;
	case T_OPT:
	case T_OPTTEXT:
	case T_FROM:
		s = env_cstr(env, f);
		env_buf_add(b, f->key, strlen(f->key));
		if (f->type == T_FROM && (s == NULL || *s == '\0'))
			env_buf_add(b, " <>", 3);
		else if (f->type == T_FROM && strcmp(s, "<>") == 0)
			env_buf_add(b, " \\x3c>", 6);	/* a literal "<>" */
		else if (f->type != T_FROM && s == NULL)
			env_buf_add(b, " -", 2);
		else if (f->type != T_FROM && strcmp(s, "-") == 0)
			env_buf_add(b, " \\x2d", 5);	/* a literal "-" */
		else if (*s != '\0') {
			env_buf_add(b, " ", 1);
			env_buf_esc(b, s, f->type == T_OPTTEXT);
		}
		env_buf_add(b, "\n", 1);
		break;
	case T_SIZE:
		if (env->size == ENVELOPE_SIZE_SEAL)
			env_buf_printf(b, "size %0*d\n", ENVELOPE_SIZE_WIDTH, 0);
		else
			env_buf_printf(b, "size %jd\n", (intmax_t)env->size);
		break;
	case T_UINT:
		env_buf_printf(b, "%s %u\n", f->key, env->attempts);
		break;
	case T_TIME:
		env_buf_printf(b, "%s %jd\n", f->key, (intmax_t)env->next_attempt);
		break;
	}
}

/* env_format_rcpt - a rcpt line and its param lines; -1 if unusable */
static int
env_format_rcpt(struct env_buf *b, const struct envelope_rcpt *r)
{
	size_t i;

	if (r->addr == NULL || r->addr[0] == '\0' ||
	    (unsigned int)r->state > RCPT_FAILED || r->nparams > ENVELOPE_MAX_PARAMS ||
	    (r->code != 0 && (r->code < 100 || r->code > 599)) ||
	    (r->code != 0 && r->status[0] != '\0' && !env_status_ok(r->status)))
		return -1;
	env_buf_printf(b, "rcpt %s ", env_rcpt_states[r->state]);
	env_buf_esc(b, r->addr, 0);
	if (r->code != 0) {
		env_buf_printf(b, " %d %s", r->code,
		    r->status[0] != '\0' ? r->status : "-");
		if (r->text != NULL && r->text[0] != '\0') {
			env_buf_add(b, " ", 1);
			env_buf_esc(b, r->text, 1);
		}
	}
	env_buf_add(b, "\n", 1);
	for (i = 0; i < r->nparams; i++) {
		if (r->params[i].name == NULL || r->params[i].name[0] == '\0' ||
		    r->params[i].value == NULL)
			return -1;
		env_buf_add(b, "param ", 6);
		env_buf_esc(b, r->params[i].name, 0);
		if (r->params[i].value[0] != '\0') {
			env_buf_add(b, " ", 1);
			env_buf_esc(b, r->params[i].value, 1);
		}
		env_buf_add(b, "\n", 1);
	}
	return 0;
}

/*
 * envelope_format - serialise into a malloc'd buffer; -1 with errno
 * (EINVAL for an unusable field, E2BIG when too large, ENOMEM).
 */
int
envelope_format(const struct envelope *env, char **out, size_t *outlen)
{
	struct env_buf b = { NULL, 0, 0, 0 };
	size_t i;

	*out = NULL;
	*outlen = 0;
	if (!env_qid_ok(env->id) || env->arrival_us < 0 ||
	    (env->size < -1 && env->size != ENVELOPE_SIZE_SEAL) ||
	    env->next_attempt < 0 || env->nrcpt > ENVELOPE_MAX_RCPT ||
	    (env->kind != ENVELOPE_MESSAGE && env->kind != ENVELOPE_JOB) ||
	    (env->kind == ENVELOPE_JOB &&
	    (env->connector == NULL || env->connector[0] == '\0'))) {
		errno = env->nrcpt > ENVELOPE_MAX_RCPT ? E2BIG : EINVAL;
		return -1;
	}
	env_buf_printf(&b, "%s %d\n", ENV_MAGIC, env->kind == ENVELOPE_JOB ?
	    ENVELOPE_VERSION_SUM : ENVELOPE_VERSION);
	for (i = 0; i < ENV_NFIELDS; i++)
		if ((!env_fields[i].job || env->kind == ENVELOPE_JOB) &&
		    (!env_fields[i].optional ||
		    env_cstr(env, &env_fields[i]) != NULL))
			env_format_field(&b, env, &env_fields[i]);
	for (i = 0; i < env->nrcpt && !b.failed; i++)
		if (env_format_rcpt(&b, &env->rcpt[i]) == -1)
			b.failed = EINVAL;
	if (env->kind == ENVELOPE_JOB)
		env_buf_printf(&b, "end %08" PRIx32 "\n",
		    b.failed ? 0 : envelope_crc32c(b.p, b.len));
	else
		env_buf_add(&b, "end\n", 4);
	if (b.failed) {
		free(b.p);
		errno = b.failed;
		return -1;
	}
	*out = b.p;
	*outlen = b.len;
	return 0;
}

/* ---- parsing ---- */

struct env_parser {
	struct envelope *env;
	size_t lineno;
	size_t seen[ENV_NFIELDS];	/* line of each field, 0 if absent */
	char *err;
	size_t errlen;
	size_t rcap;			/* rcpt slots in the pool */
	struct envelope_param *pnext;	/* the next free param slot */
	struct envelope_param *pend;
	size_t next;			/* the field after the last one seen */
	int version;			/* of the version line */
	size_t endoff;			/* where the "end" line starts */
	uint32_t sum;			/* CRC-32C of the text before "end" */
};

/* env_perr - set "line N: reason" and return -1 */
static int __attribute__((format(printf, 2, 3)))
env_perr(struct env_parser *p, const char *fmt, ...)
{
	char msg[200];
	va_list ap;
	int save = errno;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (p->err != NULL && p->errlen > 0)
		snprintf(p->err, p->errlen, "line %zu: %s", p->lineno, msg);
	errno = save == ENOMEM ? ENOMEM : EINVAL;
	return -1;
}

/* env_parse_num - strict decimal, no sign, <= max */
static int
env_parse_num(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (*s == '\0' || (s[0] == '0' && s[1] != '\0'))
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		if (v > (max - (uint64_t)(*s - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*out = v;
	return 0;
}

/* env_parse_arrival - "seconds.micro" (exactly six fraction digits) */
static int
env_parse_arrival(const char *s, int64_t *out)
{
	char secs[24];
	const char *dot, *f;
	uint64_t sec, usec = 0;

	if ((dot = strchr(s, '.')) == NULL || (size_t)(dot - s) >= sizeof(secs) ||
	    strlen(dot + 1) != 6 || strspn(dot + 1, "0123456789") != 6)
		return -1;
	memcpy(secs, s, (size_t)(dot - s));
	secs[dot - s] = '\0';
	if (env_parse_num(secs, INT64_MAX / 1000000 - 1, &sec) == -1)
		return -1;
	for (f = dot + 1; *f != '\0'; f++)
		usec = usec * 10 + (uint64_t)(*f - '0');
	*out = (int64_t)(sec * 1000000 + usec);
	return 0;
}

/* env_set_str - unescape v in place (in the pool): the string is v */
static int
env_set_str(struct env_parser *p, const char *key, char *v, int keep_spaces)
{
	if (!keep_spaces && strchr(v, ' ') != NULL)
		return env_perr(p, "unescaped space in '%s'", key);
	if (envelope_unescape(v) == -1)
		return env_perr(p, "bad escape in '%s'", key);
	return 0;
}

/* env_parse_strfield - the string-valued header fields */
static int
env_parse_strfield(struct env_parser *p, const struct env_field *f, char *v)
{
	if (f->type == T_FROM && strcmp(v, "<>") == 0)
		v[0] = '\0';	/* the null sender */
	else if ((f->type == T_OPT || f->type == T_OPTTEXT) && strcmp(v, "-") == 0)
		return 0;	/* NULL */
	if (env_set_str(p, f->key, v, f->type == T_OPTTEXT) == -1)
		return -1;
	*env_strp(p->env, f) = v;
	p->env->pooled |= (uint32_t)1 << (f - env_fields);
	return 0;
}

/* env_parse_field - a header field line */
static int
env_parse_field(struct env_parser *p, const struct env_field *f, char *v)
{
	struct envelope *env = p->env;
	uint64_t n;

	switch (f->type) {
	case T_ID:
		if (!env_qid_ok(v))
			return env_perr(p, "bad queue id");
		memcpy(env->id, v, ENVELOPE_QID_LEN + 1);
		return 0;
	case T_KIND:
		if (strcmp(v, "message") == 0)
			env->kind = ENVELOPE_MESSAGE;
		else if (strcmp(v, "job") == 0)
			env->kind = ENVELOPE_JOB;
		else
			return env_perr(p, "bad kind");
		return 0;
	case T_ARRIVAL:
		if (env_parse_arrival(v, &env->arrival_us) == -1)
			return env_perr(p, "bad arrival time");
		return 0;
	case T_SIZE:
		/* a sealed size: zero-padded to ENVELOPE_SIZE_WIDTH digits */
		if (strlen(v) == ENVELOPE_SIZE_WIDTH &&
		    strspn(v, "0123456789") == ENVELOPE_SIZE_WIDTH)
			while (v[0] == '0' && v[1] != '\0')
				v++;
		if (strcmp(v, "-1") == 0)
			env->size = -1;
		else if (env_parse_num(v, INT64_MAX, &n) == -1)
			return env_perr(p, "bad number for 'size'");
		else
			env->size = (off_t)n;
		return 0;
	case T_UINT:
		if (env_parse_num(v, UINT32_MAX, &n) == -1)
			return env_perr(p, "bad number for '%s'", f->key);
		env->attempts = (unsigned int)n;
		return 0;
	case T_TIME:
		if (env_parse_num(v, INT64_MAX, &n) == -1 || (time_t)n < 0)
			return env_perr(p, "bad number for '%s'", f->key);
		env->next_attempt = (time_t)n;
		return 0;
	default:
		return env_parse_strfield(p, f, v);
	}
}

/* env_next_token - split off the next space-separated token of *s */
static char *
env_next_token(char **s)
{
	char *t = *s, *sp;

	if (t == NULL)
		return NULL;
	if ((sp = strchr(t, ' ')) != NULL) {
		*sp = '\0';
		*s = sp + 1;
	} else
		*s = NULL;
	return t;
}

/* env_parse_result - "<code> <status> [<text>]" of a rcpt line */
static int
env_parse_result(struct env_parser *p, struct envelope_rcpt *r, char *rest)
{
	char *code, *status;
	uint64_t n;

	code = env_next_token(&rest);
	status = env_next_token(&rest);
	if (env_parse_num(code, 599, &n) == -1 || n < 100)
		return env_perr(p, "bad result code in 'rcpt'");
	r->code = (int)n;
	if (status == NULL)
		return env_perr(p, "missing status in 'rcpt'");
	if (strcmp(status, "-") != 0) {
		if (!env_status_ok(status))
			return env_perr(p, "bad enhanced status in 'rcpt'");
		memcpy(r->status, status, strlen(status) + 1);
	}
	if (rest != NULL && *rest != '\0') {
		if (env_set_str(p, "rcpt", rest, 1) == -1)
			return -1;
		r->text = rest;
		r->pooled |= ENVELOPE_POOLED_TEXT;
	}
	return 0;
}

/* env_parse_rcpt - "rcpt <state> <address> [<code> <status> [<text>]]" */
static int
env_parse_rcpt(struct env_parser *p, char *v)
{
	struct envelope_rcpt *r;
	char *state, *addr, *rest = v;
	size_t i;

	state = env_next_token(&rest);
	addr = env_next_token(&rest);
	for (i = 0; i <= RCPT_FAILED; i++)
		if (strcmp(state, env_rcpt_states[i]) == 0)
			break;
	if (i > RCPT_FAILED)
		return env_perr(p, "bad recipient state");
	if (addr == NULL || *addr == '\0')
		return env_perr(p, "missing recipient address");
	if (p->env->nrcpt >= ENVELOPE_MAX_RCPT)
		return env_perr(p, "too many recipients (max %d)", ENVELOPE_MAX_RCPT);
	if (p->env->nrcpt >= p->rcap)	/* counted before: cannot be */
		return env_perr(p, "recipient miscounted");
	r = &p->env->rcpt[p->env->nrcpt++];
	memset(r, 0, sizeof(*r));
	r->state = (enum rcpt_state)i;
	if (env_set_str(p, "rcpt", addr, 0) == -1)
		return -1;
	r->addr = addr;
	r->pooled |= ENVELOPE_POOLED_ADDR;
	if (rest != NULL)
		return env_parse_result(p, r, rest);
	return 0;
}

/* env_parse_param - "param <name> [<value>]" after a rcpt line */
static int
env_parse_param(struct env_parser *p, char *v)
{
	struct envelope_rcpt *r;
	char *name, *rest = v;

	if (p->env->nrcpt == 0)
		return env_perr(p, "'param' before any 'rcpt'");
	r = &p->env->rcpt[p->env->nrcpt - 1];
	if (r->nparams >= ENVELOPE_MAX_PARAMS)
		return env_perr(p, "too many params (max %d)", ENVELOPE_MAX_PARAMS);
	name = env_next_token(&rest);
	if (*name == '\0')
		return env_perr(p, "missing param name");
	if (rest == NULL)
		rest = name + strlen(name);	/* empty value */
	if (envelope_unescape(name) == -1 || envelope_unescape(rest) == -1)
		return env_perr(p, "bad escape in 'param'");
	if (envelope_rcpt_param(r, name) != NULL)
		return env_perr(p, "duplicate param");
	/* a recipient's params are the pool slots after its rcpt line */
	if (p->pnext >= p->pend ||
	    (r->nparams > 0 && r->params + r->nparams != p->pnext))
		return env_perr(p, "param miscounted");
	if (r->nparams == 0) {
		r->params = p->pnext;
		r->pooled |= ENVELOPE_POOLED_PARAMS;
	}
	p->pnext->name = name;
	p->pnext->value = rest;
	p->pnext->pooled = ENVELOPE_POOLED_NAME | ENVELOPE_POOLED_VALUE;
	p->pnext++;
	r->nparams++;
	return 0;
}

/* env_parse_line - one line after the version line (NUL-terminated) */
static int
env_parse_line(struct env_parser *p, char *line)
{
	char *v, key[40];
	size_t i;

	if ((v = strchr(line, ' ')) != NULL)
		*v++ = '\0';
	else
		v = line + strlen(line);
	/*
	 * envelope_format writes the fields in env_fields' order: the one
	 * after the last seen is tried first (a queue listing parses a
	 * million envelopes), then the recipients, then all of them
	 */
	i = p->next;
	if (i >= ENV_NFIELDS || strcmp(line, env_fields[i].key) != 0) {
		if (strcmp(line, "rcpt") == 0)
			return env_parse_rcpt(p, v);
		if (strcmp(line, "param") == 0)
			return env_parse_param(p, v);
		for (i = 0; i < ENV_NFIELDS; i++)
			if (strcmp(line, env_fields[i].key) == 0)
				break;
		if (i == ENV_NFIELDS) {
			envelope_escape(key, sizeof(key), line, 0);
			return env_perr(p, "unknown key '%s'", key);
		}
	}
	p->next = i + 1;
	if (p->seen[i])
		return env_perr(p, "duplicate '%s'", env_fields[i].key);
	if (p->env->nrcpt > 0)
		return env_perr(p, "'%s' after a 'rcpt' line", env_fields[i].key);
	p->seen[i] = p->lineno;
	return env_parse_field(p, &env_fields[i], v);
}

/* env_parse_finish - at "end": every field the kind needs is present */
static int
env_parse_finish(struct env_parser *p)
{
	size_t i;
	int job = p->env->kind == ENVELOPE_JOB;

	for (i = 0; i < ENV_NFIELDS; i++) {
		if (env_fields[i].job && !job && p->seen[i]) {
			p->lineno = p->seen[i];
			return env_perr(p, "'%s' in a message envelope",
			    env_fields[i].key);
		}
		if (!p->seen[i] && !env_fields[i].optional &&
		    (!env_fields[i].job || job))
			return env_perr(p, "missing '%s'", env_fields[i].key);
	}
	p->env->version = p->version;
	return 0;
}

/*
 * env_end_line - is s[0..n) an "end" line: 1 for "end", 2 for "end"
 * with a checksum ("end 1a2b3c4d"), 0 if not
 */
static int
env_end_line(const char *s, size_t n)
{
	if (n == 3 && memcmp(s, "end", 3) == 0)
		return 1;
	if (n == 4 + ENV_SUM_LEN && memcmp(s, "end ", 4) == 0)
		return 2;
	return 0;
}

/* env_parse_end - the "end" line of a version p->version envelope */
static int
env_parse_end(struct env_parser *p, const char *s, size_t n)
{
	char hex[ENV_SUM_LEN + 1];

	if (p->version == ENVELOPE_VERSION) {
		if (n != 3)
			return env_perr(p, "checksum in a version %d envelope",
			    ENVELOPE_VERSION);
		return 0;
	}
	if (n != 4 + ENV_SUM_LEN)
		return env_perr(p, "no checksum on the 'end' line");
	snprintf(hex, sizeof(hex), "%08" PRIx32, p->sum);
	if (memcmp(s + 4, hex, ENV_SUM_LEN) != 0)
		return env_perr(p, "checksum mismatch (a torn or stale file)");
	return 0;
}

size_t
envelope_length(const char *buf, size_t len)
{
	const char *s = buf, *end = buf + len, *nl;

	while (s < end && (s = memmem(s, (size_t)(end - s), "\nend", 4)) !=
	    NULL) {
		s++;
		if ((nl = memchr(s, '\n', (size_t)(end - s))) == NULL)
			return 0;
		if (env_end_line(s, (size_t)(nl - s)))
			return (size_t)(nl + 1 - buf);
	}
	return 0;
}

/* env_version_line - the version of a version line s[0..n), 0 if none */
static int
env_version_line(const char *s, size_t n)
{
	size_t m = strlen(ENV_MAGIC " 1");

	if (n != m || memcmp(s, ENV_MAGIC " ", m - 1) != 0)
		return 0;
	if (s[m - 1] == '0' + ENVELOPE_VERSION)
		return ENVELOPE_VERSION;
	if (s[m - 1] == '0' + ENVELOPE_VERSION_SUM)
		return ENVELOPE_VERSION_SUM;
	return 0;
}

/* env_check_line - reject raw control bytes in a line */
static int
env_check_line(struct env_parser *p, const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return env_perr(p, "control character 0x%02x in line",
			    (unsigned char)s[i]);
	return 0;
}

/*
 * env_parse_lines - walk the lines of text[0..len) (the pool's copy, each
 * line split and unescaped in place) up to "end"
 */
static int
env_parse_lines(struct env_parser *p, char *text, size_t len,
    size_t *consumed)
{
	char *s = text, *nl;
	size_t n;

	for (p->lineno = 1; (size_t)(s - text) < len; p->lineno++) {
		if ((nl = memchr(s, '\n', len - (size_t)(s - text))) == NULL)
			break;
		n = (size_t)(nl - s);
		if (env_check_line(p, s, n) == -1)
			return -1;
		if (p->lineno == 1) {
			if ((p->version = env_version_line(s, n)) == 0)
				return env_perr(p, n > strlen(ENV_MAGIC) &&
				    memcmp(s, ENV_MAGIC " ", strlen(ENV_MAGIC) + 1) == 0 ?
				    "unsupported envelope version" : "missing version line");
		} else if (env_end_line(s, n)) {
			if (env_parse_end(p, s, n) == -1)
				return -1;
			*consumed = (size_t)(nl + 1 - text);
			return env_parse_finish(p);
		} else {
			*nl = '\0';
			if (env_parse_line(p, s) == -1)
				return -1;
		}
		s = nl + 1;
	}
	if (p->lineno == 1)
		return env_perr(p, "missing version line");
	return env_perr(p, "truncated envelope: no 'end' line");
}

/* env_is_key - does the line s[0..n) start with key, then a space or its end? */
static int
env_is_key(const char *s, size_t n, const char *key, size_t klen)
{
	return n >= klen && memcmp(s, key, klen) == 0 && (n == klen || s[klen] == ' ');
}

/*
 * env_pool - the pool for the envelope at the start of buf: room for its
 * recipients and parameters (counted by line), then a copy of its text
 * up to the "end" line (or all of buf[0..*len) if there is none, *len
 * becoming that text's length); NULL if out of memory
 */
static char *
env_pool(struct env_parser *p, const char *buf, size_t *len)
{
	const char *s = buf, *nl, *end = buf + *len;
	size_t nr = 0, np = 0, n, arrays;
	char *pool;

	for (; s < end && (nl = memchr(s, '\n', (size_t)(end - s))) != NULL;
	    s = nl + 1) {
		n = (size_t)(nl - s);
		nr += env_is_key(s, n, "rcpt", 4);
		np += env_is_key(s, n, "param", 5);
		if (env_end_line(s, n)) {
			p->endoff = (size_t)(s - buf);
			s = nl + 1;
			break;
		}
	}
	*len = (size_t)(s - buf);
	if (nr > ENVELOPE_MAX_RCPT)
		nr = ENVELOPE_MAX_RCPT;		/* the parser stops there */
	if (np > nr * ENVELOPE_MAX_PARAMS)
		np = nr * ENVELOPE_MAX_PARAMS;
	arrays = nr * sizeof(struct envelope_rcpt) +
	    np * sizeof(struct envelope_param);
	if ((pool = malloc(arrays + *len + 1)) == NULL)
		return NULL;
	p->rcap = nr;
	p->pnext = (struct envelope_param *)(void *)(pool +
	    nr * sizeof(struct envelope_rcpt));
	p->pend = p->pnext + np;
	if (nr > 0) {
		p->env->rcpt = (struct envelope_rcpt *)(void *)pool;
		p->env->pooled |= ENV_POOLED_RCPT;
	}
	memcpy(pool + arrays, buf, *len);
	pool[arrays + *len] = '\0';
	p->env->pool = pool;
	return pool + arrays;
}

/*
 * envelope_parse - parse the envelope at the start of buf; fills env and
 * *consumed (offset of the first message byte); -1 with a reason in err.
 * Every string and array lands in one allocation, the pool (envelope.h):
 * one malloc per envelope, not one per field.
 */
int
envelope_parse(const char *buf, size_t len, struct envelope *env,
    size_t *consumed, char *err, size_t errlen)
{
	struct env_parser p;
	char *text;

	memset(env, 0, sizeof(*env));
	memset(&p, 0, sizeof(p));
	p.env = env;
	p.err = err;
	p.errlen = errlen;
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (len > ENVELOPE_MAX_SIZE)
		len = ENVELOPE_MAX_SIZE;
	if ((text = env_pool(&p, buf, &len)) == NULL) {
		errno = ENOMEM;
		return env_perr(&p, "out of memory");
	}
	/* the checksum covers the text before "end", as read */
	if (p.endoff > 0 && env_version_line(text, strcspn(text, "\n")) ==
	    ENVELOPE_VERSION_SUM)
		p.sum = envelope_crc32c(text, p.endoff);
	if (env_parse_lines(&p, text, len, consumed) == -1) {
		envelope_clear(env);
		return -1;
	}
	return 0;
}
