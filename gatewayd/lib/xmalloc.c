/*
 * xmalloc.c - allocation wrappers that never return NULL
 */
#include "config.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "xmalloc.h"

/* xmalloc - malloc or die */
void *
xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (p == NULL)
		fatal("malloc %zu", n);
	return p;
}

/* xcalloc - calloc or die */
void *
xcalloc(size_t n, size_t m)
{
	void *p = calloc(n ? n : 1, m ? m : 1);

	if (p == NULL)
		fatal("calloc %zu*%zu", n, m);
	return p;
}

/* xreallocarray - overflow-checked realloc or die */
void *
xreallocarray(void *p, size_t n, size_t m)
{
	void *q;

	if (m && n > SIZE_MAX / m)
		fatalx("reallocarray overflow %zu*%zu", n, m);
	q = realloc(p, n * m != 0 ? n * m : 1);
	if (q == NULL)
		fatal("realloc %zu*%zu", n, m);
	return q;
}

/* xstrdup - strdup or die */
char *
xstrdup(const char *s)
{
	char *p = strdup(s);

	if (p == NULL)
		fatal("strdup");
	return p;
}

/* xstrndup - strndup or die */
char *
xstrndup(const char *s, size_t n)
{
	char *p = strndup(s, n);

	if (p == NULL)
		fatal("strndup");
	return p;
}

/* xasprintf - asprintf or die */
int
xasprintf(char **ret, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(ret, fmt, ap);
	va_end(ap);
	if (n < 0)
		fatal("asprintf");
	return n;
}

/* freezero_str - wipe a secret string, then free it */
void
freezero_str(char *s)
{
	if (s == NULL)
		return;
	explicit_bzero(s, strlen(s));
	free(s);
}
