/*
 * xmalloc.h - allocation wrappers that never return NULL (fatal instead)
 */
#ifndef GW_XMALLOC_H
#define GW_XMALLOC_H

#include <stddef.h>

void *xmalloc(size_t);
void *xcalloc(size_t, size_t);
void *xreallocarray(void *, size_t, size_t);
char *xstrdup(const char *);
char *xstrndup(const char *, size_t);
int xasprintf(char **, const char *, ...) __attribute__((format(printf, 2, 3)));
/* Wipe then free a secret. */
void freezero_str(char *);

#endif
