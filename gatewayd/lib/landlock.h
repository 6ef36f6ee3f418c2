/*
 * landlock.h - hide a directory tree from this process (Linux Landlock)
 */
#ifndef GW_LANDLOCK_H
#define GW_LANDLOCK_H

#include <stddef.h>

/*
 * Make the tree at path unreachable for this process and its future
 * children, for good (no file of it can be opened, listed, created,
 * renamed or removed, through any descriptor), leaving the rest of the
 * file system as it was, and, where the kernel can (Landlock ABI 6), keep
 * this process from signalling processes outside the sandbox.  Returns 0
 * when in force, 1 when the kernel has no Landlock (reason in err), -1 on
 * an error (reason in err).
 */
int landlock_hide(const char *path, char *err, size_t errlen);

/* A directory of the hidden tree given back: read only, or every right. */
struct landlock_allow {
	const char *sub;		/* relative to the hidden path; NULL ends */
	int write;
};

/* landlock_hide, but the directories of allow stay reachable (the recognizer). */
int landlock_hide_except(const char *path, const struct landlock_allow *allow,
    char *err, size_t errlen);

#endif
