/*
 * loader.h - find, check and dlopen a connector shared object
 *
 * loader_open() trusts a file only when it is a regular file owned by root
 * or by the running user, writable by its owner alone, in a directory that
 * is not world-writable.  It then checks the descriptor's ABI version and
 * size before using any other field.  See gatewayd-connector(3).
 */
#ifndef GW_LOADER_H
#define GW_LOADER_H

#include <limits.h>
#include <stddef.h>

#include <gatewayd/connector.h>

struct loader {
	void *handle;				/* from dlopen */
	const struct gw_connector *conn;	/* the checked descriptor */
	char path[PATH_MAX];
};

/* Load <dir>/<type>.so; 0 ok, -1 with the reason (naming the path) in err. */
int loader_open(const char *dir, const char *type, struct loader *out,
    char *err, size_t errlen);
/* dlclose and clear. */
void loader_close(struct loader *);

#endif
