/*
 * spool_int.h - helpers shared by the files of the spool library only
 */
#ifndef GW_SPOOL_INT_H
#define GW_SPOOL_INT_H

#include <dirent.h>
#include <stddef.h>

#include <sys/types.h>

#include "spool.h"

#define SPOOL_HIDDEN	__attribute__((visibility("hidden")))

/* The descriptor of a state directory (cached); -1 with errno. */
int spool_fd(struct spool *, enum spool_state, const char *connector)
    SPOOL_HIDDEN;
/* A fresh DIR stream on a directory descriptor (fd stays open). */
DIR *spool_opendir(int fd) SPOOL_HIDDEN;
/*
 * Call fn for each valid queue ID entry of directory fd; stops and
 * returns fn's value if nonzero, -1 on a read error.
 */
int spool_each(int fd, int (*fn)(DIR *, const char *, void *), void *arg)
    SPOOL_HIDDEN;
/* FNV-1a of a name: which share of a listing or sweep it is in. */
unsigned int spool_name_hash(const char *) SPOOL_HIDDEN;
/* a spare job file's name in tmp/ ("spare.<n>", spool.c): n, or -1 */
int spool_spare_name(const char *) SPOOL_HIDDEN;
/* close() without clobbering errno. */
void spool_close_keep(int fd) SPOOL_HIDDEN;
/*
 * Parse the envelope at the start of an open file, however long (up to
 * ENVELOPE_MAX_SIZE); *offset is the first byte after it.  -1 with errno.
 */
int spool_read_envelope(int fd, const char *what, struct envelope *env,
    off_t *offset, char *err, size_t errlen) SPOOL_HIDDEN;

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

/*
 * Move (spool-relative) path to trash/name, replacing an earlier one (an
 * unlink where there is no trash/ or no room in it): 0, or -1 with errno.
 */
int spool_trash(struct spool *, const char *path, const char *name)
    __attribute__((visibility("hidden")));

#endif
