/*
 * secretfile.h - read a password from a file before the privilege drop
 *
 * One line (a final newline or CR LF is dropped), 1 to SECRETFILE_MAX - 1
 * bytes, read with O_NOFOLLOW from a regular file.  With private set, a
 * file that its group or others may read is refused, like ssh refuses a
 * readable key.  The caller wipes and frees the result with
 * secretfile_free().  Never logs; the reason goes into err.
 */
#ifndef GW_SECRETFILE_H
#define GW_SECRETFILE_H

#include <stddef.h>

#define SECRETFILE_MAX	1024

/* The secret in path, NUL-terminated (length in *lenp if not NULL), or NULL. */
char *secretfile_read(const char *path, int private, size_t *lenp, char *err,
    size_t errlen);
/* Wipe and free a secret from secretfile_read (NULL is fine). */
void secretfile_free(char *);

#endif
