/*
 * landlock.h - hide a directory tree from this process (Linux Landlock)
 */
#ifndef GW_LANDLOCK_H
#define GW_LANDLOCK_H

#include <stddef.h>

/* A directory of the hidden tree given back: read only, or every right. */
struct landlock_allow {
	const char *sub;		/* relative to the hidden path; NULL ends */
	int write;
};

/*
 * Hiding is two steps, so that the rules are made while the process can
 * still reach the tree and its neighbours (root, before its privilege
 * drop: a spool below a directory the gateway's user cannot search, a
 * developer's home, works) and put in force after the drop.
 *
 * landlock_ruleset: a Landlock ruleset (close-on-exec descriptor) that
 * makes the tree at path unreachable (no file of it can be opened, listed,
 * created, renamed or removed, through any descriptor) but for the
 * directories of allow (NULL: none), leaving the rest of the file system
 * as it was, and, where the kernel can (ABI 6), keeps the process from
 * signalling processes outside the sandbox.  who names the process role
 * in the log.  It exits on an error; -1, logged, when the kernel has no
 * Landlock.
 *
 * landlock_enforce: put it in force for this process and its future
 * children, for good, and close it; 0, or -1 with the reason in err.
 */
int landlock_ruleset(const char *path, const struct landlock_allow *allow,
    const char *who);
int landlock_enforce(int ruleset, char *err, size_t errlen);

#endif
