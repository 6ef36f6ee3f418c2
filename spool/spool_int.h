/*
 * spool_int.h - helpers shared by the files of the spool library only
 */
#ifndef GW_SPOOL_INT_H
#define GW_SPOOL_INT_H

#include <dirent.h>
#include <stddef.h>

/* Format a reason into err (may be NULL), keeping errno. */
void spool_seterr(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4), visibility("hidden")));

/*
 * Rename (fromfd, from) to (tofd, to) unless to exists (EEXIST then):
 * renameat2 RENAME_NOREPLACE, or link and unlink where the filesystem or
 * the C library does not offer it (EINVAL, ENOSYS).
 */
int spool_rename_noreplace(int fromfd, const char *from, int tofd,
    const char *to) __attribute__((visibility("hidden")));

/*
 * The names of d's entries that keep(dirfd(d), name) accepts, copied and
 * sorted by strcmp (free them with spool_free_names); d is closed.  0, or
 * -1 with errno (ENOMEM) and nothing returned.
 */
int spool_names_sorted(DIR *d, int (*keep)(int, const char *),
    char ***names, size_t *n) __attribute__((visibility("hidden")));

struct spool;
/*
 * Move (spool-relative) path to trash/name, replacing an earlier one (an
 * unlink where there is no trash/ or no room in it): 0, or -1 with errno.
 */
int spool_trash(struct spool *, const char *path, const char *name)
    __attribute__((visibility("hidden")));

#endif
