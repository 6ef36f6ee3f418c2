/*
 * web_form.c - strict parser of urlencoded form bodies (web_form.h)
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "envelope.h"
#include "web_form.h"
#include "xmalloc.h"

/*
 * web_form_decode - decode [s, end) into dst (NUL-terminated); the bytes
 * written, or -1 on a bad escape or a NUL byte
 */
static long
web_form_decode(const char *s, const char *end, char *dst)
{
	char *w = dst;
	int hi, lo;

	for (; s < end; s++) {
		if (*s == '+')
			*w++ = ' ';
		else if (*s == '%') {
			if (end - s < 3 || (hi = envelope_hexdigit(s[1])) == -1 ||
			    (lo = envelope_hexdigit(s[2])) == -1 || (hi | lo) == 0)
				return -1;
			*w++ = (char)(hi << 4 | lo);
			s += 2;
		} else if (*s == '\0')
			return -1;
		else
			*w++ = *s;
	}
	*w = '\0';
	return (long)(w - dst);
}

/* web_form_pair - one "name=value" of [s, end) into f, decoded at *w */
static int
web_form_pair(struct web_form *f, const char *s, const char *end, char **w,
    char *err, size_t errlen)
{
	const char *eq = memchr(s, '=', (size_t)(end - s));
	const char *nend = eq ? eq : end;
	long n;

	if (f->n == WEB_FORM_FIELDS) {
		snprintf(err, errlen, "more than %d form fields", WEB_FORM_FIELDS);
		return -1;
	}
	if ((n = web_form_decode(s, nend, *w)) <= 0 || n >= WEB_FORM_NAME) {
		snprintf(err, errlen, "bad form field name");
		return -1;
	}
	f->name[f->n] = *w;
	*w += n + 1;
	if ((n = web_form_decode(eq ? eq + 1 : end, end, *w)) == -1) {
		snprintf(err, errlen, "bad escape in form field %s",
		    f->name[f->n]);
		return -1;
	}
	f->value[f->n++] = *w;
	*w += n + 1;
	return 0;
}

/* web_form_parse - body into fields (web_form.h) */
int
web_form_parse(struct web_form *f, const char *body, size_t len, char *err,
    size_t errlen)
{
	const char *s = body, *end = body + len, *amp;
	char *w;

	memset(f, 0, sizeof(*f));
	if (len > WEB_FORM_MAX) {
		snprintf(err, errlen, "form too large");
		return -1;
	}
	/* decoding never grows; each pair adds at most two NULs */
	f->size = len + 2 * WEB_FORM_FIELDS + 2;
	f->store = w = xcalloc(1, f->size);
	while (s < end) {
		if ((amp = memchr(s, '&', (size_t)(end - s))) == NULL)
			amp = end;
		if (amp > s && web_form_pair(f, s, amp, &w, err, errlen) == -1) {
			web_form_free(f);
			return -1;
		}
		s = amp + 1;
	}
	return 0;
}

/* web_form_get - the first value of name */
const char *
web_form_get(const struct web_form *f, const char *name)
{
	size_t i;

	for (i = 0; i < f->n; i++)
		if (strcmp(f->name[i], name) == 0)
			return f->value[i];
	return NULL;
}

/* web_form_free - wipe and release the decoded copy (it may hold a password) */
void
web_form_free(struct web_form *f)
{
	if (f->store != NULL)
		explicit_bzero(f->store, f->size);
	free(f->store);
	memset(f, 0, sizeof(*f));
}
