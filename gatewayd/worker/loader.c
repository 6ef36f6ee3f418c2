/*
 * loader.c - find, check and dlopen a connector shared object
 *
 * The checks come before any code of the file runs: the file must be a
 * regular file owned by root or by the running user, not group or world
 * writable, in a directory that is not world writable.  The file is opened
 * once and loaded through /proc/self/fd when that exists, so that what was
 * checked is what is loaded.  The descriptor's abi_version is read first,
 * then struct_size, and only then the other fields.
 */
#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "loader.h"

/* The descriptor must reach at least to the end of the fields used here. */
#define LOADER_MIN_SIZE \
	(offsetof(struct gw_connector, fini) + sizeof(void (*)(void *)))

/* loader_check_dir - the directory may not be world writable */
static int
loader_check_dir(const char *dir, char *err, size_t errlen)
{
	struct stat st;

	if (stat(dir, &st) == -1) {
		snprintf(err, errlen, "connector directory %s: %s", dir,
		    strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "connector directory %s: not a directory",
		    dir);
		return -1;
	}
	if (st.st_mode & S_IWOTH) {
		snprintf(err, errlen, "connector directory %s is world "
		    "writable (mode %04o): refusing to load from it", dir,
		    (unsigned int)(st.st_mode & 07777));
		return -1;
	}
	return 0;
}

/* loader_check_file - open path and check type, owner and mode; fd or -1 */
static int
loader_check_file(const char *path, char *err, size_t errlen)
{
	struct stat st;
	int fd;

	if (lstat(path, &st) == -1) {
		snprintf(err, errlen, "connector %s: %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "connector %s is not a regular file%s",
		    path, S_ISLNK(st.st_mode) ? " (symbolic link)" : "");
		return -1;
	}
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "connector %s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "connector %s: changed while checking it",
		    path);
		goto fail;
	}
	if (st.st_uid != 0 && st.st_uid != geteuid()) {
		snprintf(err, errlen, "connector %s is owned by uid %lu, not by "
		    "root or the running user (uid %lu)", path,
		    (unsigned long)st.st_uid, (unsigned long)geteuid());
		goto fail;
	}
	if (st.st_mode & (S_IWGRP | S_IWOTH)) {
		snprintf(err, errlen, "connector %s is %s writable (mode %04o): "
		    "refusing to load it", path,
		    (st.st_mode & S_IWOTH) ? "world" : "group",
		    (unsigned int)(st.st_mode & 07777));
		goto fail;
	}
	return fd;
fail:
	close(fd);
	return -1;
}

/* loader_check_desc - check the descriptor, ABI version first */
static int
loader_check_desc(const struct gw_connector *c, const char *path, char *err,
    size_t errlen)
{
	if (c->abi_version != GW_CONNECTOR_ABI_VERSION) {
		snprintf(err, errlen, "connector %s was built for connector ABI "
		    "%u, this gatewayd uses ABI %u", path,
		    (unsigned int)c->abi_version,
		    (unsigned int)GW_CONNECTOR_ABI_VERSION);
		return -1;
	}
	if (c->struct_size < LOADER_MIN_SIZE) {
		snprintf(err, errlen, "connector %s: descriptor is %u bytes, "
		    "ABI %u needs at least %zu", path,
		    (unsigned int)c->struct_size,
		    (unsigned int)GW_CONNECTOR_ABI_VERSION, LOADER_MIN_SIZE);
		return -1;
	}
	if (c->name == NULL || c->version == NULL || c->deliver == NULL) {
		snprintf(err, errlen, "connector %s: descriptor lacks %s", path,
		    c->name == NULL ? "a name" : c->version == NULL ?
		    "a version" : "a deliver function");
		return -1;
	}
	return 0;
}

/* loader_dlopen - dlopen the checked file, by descriptor when possible */
static void *
loader_dlopen(int fd, const char *path, char *err, size_t errlen)
{
	char fdpath[64];
	const char *what = path;
	void *h;

	snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", fd);
	if (access(fdpath, R_OK) == 0)
		what = fdpath;
	if ((h = dlopen(what, RTLD_NOW | RTLD_LOCAL)) == NULL)
		snprintf(err, errlen, "connector %s: %s", path, dlerror());
	return h;
}

/* loader_open - check and load <dir>/<type>.so */
int
loader_open(const char *dir, const char *type, struct loader *out,
    char *err, size_t errlen)
{
	const struct gw_connector *c;
	int fd, n;

	memset(out, 0, sizeof(*out));
	if (dir == NULL || type == NULL || *type == '\0' ||
	    strchr(type, '/') != NULL || *type == '.') {
		snprintf(err, errlen, "connector type '%s' is not a plain name",
		    type ? type : "");
		return -1;
	}
	n = snprintf(out->path, sizeof(out->path), "%s/%s.so", dir, type);
	if (n < 0 || (size_t)n >= sizeof(out->path)) {
		snprintf(err, errlen, "connector path %s/%s.so is too long",
		    dir, type);
		return -1;
	}
	if (loader_check_dir(dir, err, errlen) == -1 ||
	    (fd = loader_check_file(out->path, err, errlen)) == -1)
		return -1;
	out->handle = loader_dlopen(fd, out->path, err, errlen);
	close(fd);
	if (out->handle == NULL)
		return -1;
	c = dlsym(out->handle, GW_CONNECTOR_SYMBOL);
	if (c == NULL) {
		snprintf(err, errlen, "connector %s does not export %s",
		    out->path, GW_CONNECTOR_SYMBOL);
		goto fail;
	}
	if (loader_check_desc(c, out->path, err, errlen) == -1)
		goto fail;
	out->conn = c;
	return 0;
fail:
	dlclose(out->handle);
	out->handle = NULL;
	return -1;
}

/* loader_close - unload the connector */
void
loader_close(struct loader *l)
{
	if (l->handle != NULL)
		dlclose(l->handle);
	l->handle = NULL;
	l->conn = NULL;
}
