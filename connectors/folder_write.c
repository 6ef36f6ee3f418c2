/*
 * folder_write.c - directories and files under the folder connector's root
 *
 * Every name is opened relative to a directory descriptor that descends
 * from the root one component at a time with O_NOFOLLOW, so neither a
 * name nor a symbolic link planted in the tree leads outside the root.
 * A missing directory is created with mkdirat (dir_mode, group), and its
 * parent synced.  A file is written to an exclusive temporary name,
 * hashed (SHA-256), given its mode and group, synced, and then named by
 * the collision policy: "suffix" takes the first free name of name,
 * name-1.ext, name-2.ext... (renameat2 RENAME_NOREPLACE, or link(2) where
 * the file system lacks it: never overwrites); "overwrite" renames over
 * an existing file; "fail" gives up when the name is taken.  Two
 * documents of one message never overwrite each other.  Names created by
 * a delivery that then fails are removed again (rollback), so a retry
 * does not leave duplicates.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include <gatewayd/connector.h>

#include "folder.h"

/* What fills a temporary file. */
struct filler {
	const struct folder_doc *doc;
	struct gw_message *msg;
	const char *buf;
	size_t len;
};

/* out_fail - record a failure (perm: retrying cannot help) */
static int
out_fail(struct folder_out *out, int err, int perm, const char *what,
    const char *name)
{
	perm = perm || err == ENOTDIR || err == ELOOP || err == ENAMETOOLONG;
	out->perm = perm;
	snprintf(out->err, sizeof(out->err), "folder: %s %s%s%s: %s", what,
	    out->dir, out->dir[0] ? "/" : "", name, strerror(err));
	return -1;
}

/* fix_group - give a new file or directory the configured group */
static int
fix_group(const struct folder *f, int fd)
{
	struct stat st;

	if (f->groupway != FOLDER_GROUP_CHOWN || fstat(fd, &st) == -1 ||
	    st.st_gid == f->group)
		return 0;
	return fchown(fd, (uid_t)-1, f->group);
}

/* open_sub - open (creating it if missing) one directory below dfd */
static int
open_sub(const struct folder *f, int dfd, const char *name)
{
	int fd, made = 0;
	mode_t old;

	fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1 && errno == ENOENT) {
		old = umask(0);
		if (mkdirat(dfd, name, f->dir_mode) == -1 && errno != EEXIST) {
			umask(old);
			return -1;
		}
		umask(old);
		made = 1;
		fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
		    O_CLOEXEC);
	}
	if (fd != -1 && made && (fix_group(f, fd) == -1 || fsync(dfd) == -1)) {
		close(fd);
		return -1;
	}
	return fd;
}

/* folder_open_dir - out->dirfd := root/rel, created as needed */
int
folder_open_dir(const struct folder *f, const char *rel,
    struct folder_out *out)
{
	char buf[FOLDER_TEMPLATE_MAX], *c, *save = NULL;
	int cur, next;

	memset(out, 0, sizeof(*out));
	out->dirfd = -1;
	snprintf(out->dir, sizeof(out->dir), "%s", rel);
	if ((cur = dup(f->root)) == -1)
		return out_fail(out, errno, 0, "cannot open", "");
	snprintf(buf, sizeof(buf), "%s", rel);
	for (c = strtok_r(buf, "/", &save); c != NULL;
	    c = strtok_r(NULL, "/", &save)) {
		if ((next = open_sub(f, cur, c)) == -1) {
			next = errno;
			close(cur);
			return out_fail(out, next, 0, "cannot create directory",
			    "");
		}
		close(cur);
		cur = next;
	}
	out->dirfd = cur;
	return 0;
}

/* folder_hash_fd - SHA-256 (hex) and size of what fd holds */
int
folder_hash_fd(int fd, char hex[65], off_t *size)
{
	unsigned char buf[65536], md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0, i;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	ssize_t n;
	off_t off = 0;
	int r = -1;

	if (ctx == NULL || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
		goto out;
	while ((n = pread(fd, buf, sizeof(buf), off)) > 0) {
		if (EVP_DigestUpdate(ctx, buf, (size_t)n) != 1)
			goto out;
		off += n;
	}
	if (n < 0 || EVP_DigestFinal_ex(ctx, md, &mdlen) != 1)
		goto out;
	for (i = 0; i < mdlen && i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	*size = off;
	r = 0;
out:
	EVP_MD_CTX_free(ctx);
	if (r == -1 && errno == 0)
		errno = EIO;
	return r;
}

/* folder_write_all - write a buffer to fd, resuming after EINTR */
int
folder_write_all(int fd, const char *p, size_t n)
{
	ssize_t w;

	while (n > 0) {
		w = write(fd, p, n);
		if (w == -1 && errno == EINTR)
			continue;
		if (w == -1)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* fill - write the document or the buffer into fd */
static int
fill(const struct filler *fl, int fd)
{
	if (fl->doc != NULL)
		return folder_mime_write(fl->doc, fl->msg, fd);
	return folder_write_all(fd, fl->buf, fl->len);
}

/* write_tmp - fill an exclusive temporary file; hash, mode, group, sync */
static int
write_tmp(const struct folder *f, struct folder_out *out, const char *tmp,
    const struct filler *fl, struct folder_file *ff)
{
	int fd, e;

	fd = openat(out->dirfd, tmp, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0600);
	if (fd == -1 && errno == EEXIST) {
		/* Left by an earlier attempt of a process with our pid. */
		unlinkat(out->dirfd, tmp, 0);
		fd = openat(out->dirfd, tmp, O_RDWR | O_CREAT | O_EXCL |
		    O_NOFOLLOW | O_CLOEXEC, 0600);
	}
	if (fd == -1)
		return out_fail(out, errno, 0, "cannot create a file in", "");
	errno = 0;
	if (fill(fl, fd) == -1 || folder_hash_fd(fd, ff->sha256, &ff->size) == -1 ||
	    fchmod(fd, f->file_mode) == -1 || fix_group(f, fd) == -1 ||
	    fsync(fd) == -1 || close(fd) == -1) {
		e = errno ? errno : EIO;
		close(fd);
		unlinkat(out->dirfd, tmp, 0);
		return out_fail(out, e, 0, "cannot write to", "");
	}
	return 0;
}

/* suffixed - name with "-i" before its extension, within NAME_MAX */
static void
suffixed(const char *name, unsigned int i, char *out, size_t outlen)
{
	char sfx[16];
	size_t stem, keep;

	if (i == 0) {
		snprintf(out, outlen, "%s", name);
		return;
	}
	snprintf(sfx, sizeof(sfx), "-%u", i);
	folder_split_ext(name, &stem);
	keep = stem;
	while (keep > 0 && strlen(name) - stem + keep + strlen(sfx) > NAME_MAX)
		keep--;
	while (keep > 0 && ((unsigned char)name[keep] & 0xc0) == 0x80)
		keep--;
	snprintf(out, outlen, "%.*s%s%s", (int)keep, name, sfx, name + stem);
}

/* taken_here - was name already written by this delivery? */
static int
taken_here(const struct folder_out *out, const char *name)
{
	size_t i;

	for (i = 0; i < out->nfiles; i++)
		if (strcmp(out->files[i].name, name) == 0)
			return 1;
	return 0;
}

/* place_new - give tmp a name that does not exist yet */
static int
place_new(int dfd, const char *tmp, const char *name)
{
	if (renameat2(dfd, tmp, dfd, name, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP)
		return -1;
	if (linkat(dfd, tmp, dfd, name, 0) == -1)
		return -1;
	unlinkat(dfd, tmp, 0);
	return 0;
}

/* place - name the file by the collision policy; ff->name out */
static int
place(const struct folder *f, struct folder_out *out, const char *tmp,
    const char *name, struct folder_file *ff)
{
	unsigned int i;

	if (f->collision == FOLDER_OVERWRITE && !taken_here(out, name)) {
		ff->created = faccessat(out->dirfd, name, F_OK,
		    AT_SYMLINK_NOFOLLOW) == -1;
		snprintf(ff->name, sizeof(ff->name), "%s", name);
		if (renameat(out->dirfd, tmp, out->dirfd, name) == -1)
			return out_fail(out, errno, 0, "cannot name", name);
		return 0;
	}
	for (i = 0; i < FOLDER_MAX_SUFFIX; i++) {
		suffixed(name, i, ff->name, sizeof(ff->name));
		if (taken_here(out, ff->name))
			continue;
		if (place_new(out->dirfd, tmp, ff->name) == 0) {
			ff->created = 1;
			return 0;
		}
		if (errno != EEXIST)
			return out_fail(out, errno, 0, "cannot name", ff->name);
		if (f->collision == FOLDER_FAIL && !taken_here(out, name)) {
			snprintf(out->err, sizeof(out->err), "folder: %s%s%s "
			    "exists (collision: fail)", out->dir,
			    out->dir[0] ? "/" : "", name);
			out->perm = 1;
			return -1;
		}
	}
	return out_fail(out, EEXIST, 0, "no free name for", name);
}

/* put - write one file named name (by policy) into out */
static int
put(const struct folder *f, struct folder_out *out, const char *name,
    const struct filler *fl, const char *orig, const char *type)
{
	struct folder_file ff;
	char tmp[64];

	memset(&ff, 0, sizeof(ff));
	snprintf(tmp, sizeof(tmp), ".gw-tmp.%ld.%zu", (long)getpid(),
	    out->nfiles);
	if (write_tmp(f, out, tmp, fl, &ff) == -1)
		return -1;
	if (place(f, out, tmp, name, &ff) == -1) {
		unlinkat(out->dirfd, tmp, 0);
		return -1;
	}
	ff.orig_name = orig ? strdup(orig) : NULL;
	ff.content_type = type;
	if (out->nfiles == out->cap) {
		out->cap = out->cap ? out->cap * 2 : 8;
		out->files = realloc(out->files, out->cap * sizeof(ff));
		if (out->files == NULL)
			abort();
	}
	out->files[out->nfiles++] = ff;
	return 0;
}

/* folder_put - write a document as name */
int
folder_put(const struct folder *f, struct folder_out *out, const char *name,
    const struct folder_doc *doc, struct gw_message *msg)
{
	struct filler fl = { doc, msg, NULL, 0 };

	return put(f, out, name, &fl, doc->orig_name, doc->content_type);
}

/* folder_put_buffer - write bytes (a sidecar) as name */
int
folder_put_buffer(const struct folder *f, struct folder_out *out,
    const char *name, const char *buf, size_t len)
{
	struct filler fl = { NULL, NULL, buf, len };

	if (put(f, out, name, &fl, NULL, "application/json") == -1)
		return -1;
	out->files[out->nfiles - 1].content_type = NULL;	/* not a document */
	return 0;
}

/* folder_finish - make the new names durable */
int
folder_finish(struct folder_out *out)
{
	if (fsync(out->dirfd) == -1)
		return out_fail(out, errno, 0, "cannot sync", "");
	return 0;
}

/* folder_rollback - remove the names this delivery created */
void
folder_rollback(struct folder_out *out)
{
	size_t i;

	for (i = 0; out->dirfd != -1 && i < out->nfiles; i++)
		if (out->files[i].created)
			unlinkat(out->dirfd, out->files[i].name, 0);
}

/* folder_out_free - close and free */
void
folder_out_free(struct folder_out *out)
{
	size_t i;

	for (i = 0; i < out->nfiles; i++)
		free(out->files[i].orig_name);
	free(out->files);
	if (out->dirfd >= 0)
		close(out->dirfd);
	out->files = NULL;
	out->nfiles = out->cap = 0;
	out->dirfd = -1;
}
