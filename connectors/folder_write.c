/*
 * folder_write.c - directories and files under the folder connector's root
 *
 * Every name is opened relative to a directory descriptor that descends
 * from the root one component at a time with O_NOFOLLOW, so neither a
 * name nor a symbolic link planted in the tree leads outside the root.
 * A missing directory is created with mkdirat (dir_mode, group), and its
 * parent synced.  A file is written to an exclusive temporary name keyed
 * by the delivery (.gw-tmp.<key>.<n>), hashed (SHA-256), given its mode
 * and group, synced, and given its final name by the collision policy:
 * "suffix" takes the first free name of name, name-1.ext, name-2.ext...;
 * "overwrite" keeps the name, existing or not; "fail" gives up when the
 * name is taken.  Two documents of one message never get the same name.
 * The names are only chosen here: folder_journal.c records them (the
 * commit point) and then folder_place() renames each temporary file,
 * with renameat2 RENAME_NOREPLACE (or link(2) where the file system
 * lacks it: never overwrites) except for "overwrite".  A delivery that
 * fails removes its temporary files and the names it created
 * (rollback), so a retry does not leave duplicates.
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

/* folder_out_fail - record a failure (perm: retrying cannot help) */
int
folder_out_fail(struct folder_out *out, int err, int perm, const char *what,
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
		return folder_out_fail(out, errno, 0, "cannot open", "");
	snprintf(buf, sizeof(buf), "%s", rel);
	for (c = strtok_r(buf, "/", &save); c != NULL;
	    c = strtok_r(NULL, "/", &save)) {
		if ((next = open_sub(f, cur, c)) == -1) {
			next = errno;
			close(cur);
			return folder_out_fail(out, next, 0,
			    "cannot create directory", "");
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
		/* Left by an earlier attempt of this delivery (a crash). */
		unlinkat(out->dirfd, tmp, 0);
		fd = openat(out->dirfd, tmp, O_RDWR | O_CREAT | O_EXCL |
		    O_NOFOLLOW | O_CLOEXEC, 0600);
	}
	if (fd == -1)
		return folder_out_fail(out, errno, 0, "cannot create a file in",
		    "");
	errno = 0;
	if (fill(fl, fd) == -1 || folder_hash_fd(fd, ff->sha256, &ff->size) == -1 ||
	    fchmod(fd, f->file_mode) == -1 || fix_group(f, fd) == -1 ||
	    fsync(fd) == -1 || close(fd) == -1) {
		e = errno ? errno : EIO;
		close(fd);
		unlinkat(out->dirfd, tmp, 0);
		return folder_out_fail(out, e, 0, "cannot write to", "");
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

/* taken_here - has another file of this delivery (not self) the name? */
static int
taken_here(const struct folder_out *out, const struct folder_file *self,
    const char *name)
{
	size_t i;

	for (i = 0; i < out->nfiles; i++)
		if (&out->files[i] != self &&
		    strcmp(out->files[i].name, name) == 0)
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

/* is_free - 1: no such name in the directory, 0: taken, -1: error */
static int
is_free(int dfd, const char *name)
{
	struct stat st;

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
		return 0;
	return errno == ENOENT ? 1 : -1;
}

/* choose - ff->name by the collision policy, from suffix number from */
static int
choose(const struct folder *f, struct folder_out *out, unsigned int from,
    struct folder_file *ff)
{
	char cand[NAME_MAX + 1];
	unsigned int i;
	int r;

	if (f->collision == FOLDER_OVERWRITE && from == 0 &&
	    !taken_here(out, ff, ff->want)) {
		snprintf(ff->name, sizeof(ff->name), "%s", ff->want);
		return 0;
	}
	for (i = from; i < FOLDER_MAX_SUFFIX; i++) {
		suffixed(ff->want, i, cand, sizeof(cand));
		if (taken_here(out, ff, cand))
			continue;
		if ((r = is_free(out->dirfd, cand)) == 1) {
			snprintf(ff->name, sizeof(ff->name), "%s", cand);
			ff->sfx = i;
			return 0;
		}
		if (r == -1)
			return folder_out_fail(out, errno, 0, "cannot look up",
			    cand);
		if (f->collision == FOLDER_FAIL &&
		    !taken_here(out, ff, ff->want)) {
			snprintf(out->err, sizeof(out->err), "folder: %s%s%s "
			    "exists (collision: fail)", out->dir,
			    out->dir[0] ? "/" : "", ff->want);
			out->perm = 1;
			return -1;
		}
	}
	return folder_out_fail(out, EEXIST, 0, "no free name for", ff->want);
}

/* folder_choose_again - file i lost its name to another writer: the next */
int
folder_choose_again(const struct folder *f, struct folder_out *out,
    size_t i)
{
	struct folder_file *ff = &out->files[i];

	if (f->collision != FOLDER_SUFFIX) {
		snprintf(out->err, sizeof(out->err), "folder: %s%s%s exists "
		    "(collision: %s)", out->dir, out->dir[0] ? "/" : "",
		    ff->name, f->collision == FOLDER_FAIL ? "fail" :
		    "overwrite");
		out->perm = f->collision == FOLDER_FAIL;
		return -1;
	}
	return choose(f, out, ff->sfx + 1, ff);
}

/* same_file - are a and b names of one inode (a link(2) half done)? */
static int
same_file(int dfd, const char *a, const char *b)
{
	struct stat sa, sb;

	return fstatat(dfd, a, &sa, AT_SYMLINK_NOFOLLOW) == 0 &&
	    fstatat(dfd, b, &sb, AT_SYMLINK_NOFOLLOW) == 0 &&
	    sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/*
 * folder_place - rename file i from its temporary to its final name: 0
 * (also when an earlier attempt had done it: no temporary file left), 1
 * when the name was taken since it was chosen, -1 with out->err
 */
int
folder_place(const struct folder *f, struct folder_out *out, size_t i)
{
	struct folder_file *ff = &out->files[i];

	if (f->collision == FOLDER_OVERWRITE && ff->sfx == 0 &&
	    strcmp(ff->name, ff->want) == 0) {
		ff->created = is_free(out->dirfd, ff->name) == 1;
		if (renameat(out->dirfd, ff->tmp, out->dirfd, ff->name) == 0 ||
		    errno == ENOENT)
			return 0;
		return folder_out_fail(out, errno, 0, "cannot name", ff->name);
	}
	if (place_new(out->dirfd, ff->tmp, ff->name) == 0) {
		ff->created = 1;
		return 0;
	}
	if (errno == ENOENT)
		return 0;
	if (errno != EEXIST)
		return folder_out_fail(out, errno, 0, "cannot name", ff->name);
	if (!same_file(out->dirfd, ff->tmp, ff->name))
		return 1;
	unlinkat(out->dirfd, ff->tmp, 0);
	return 0;
}

/* folder_out_add - append a copy of ff to out's files */
void
folder_out_add(struct folder_out *out, const struct folder_file *ff)
{
	if (out->nfiles == out->cap) {
		out->cap = out->cap ? out->cap * 2 : 8;
		out->files = realloc(out->files, out->cap * sizeof(*ff));
		if (out->files == NULL)
			abort();
	}
	out->files[out->nfiles++] = *ff;
}

/* put - write one file into a temporary name and choose its final name */
static int
put(const struct folder *f, struct folder_out *out, const char *name,
    const struct filler *fl, const char *orig, const char *type)
{
	struct folder_file ff;

	memset(&ff, 0, sizeof(ff));
	snprintf(ff.want, sizeof(ff.want), "%s", name);
	snprintf(ff.tmp, sizeof(ff.tmp), ".gw-tmp.%s.%zu", out->key,
	    out->nfiles);
	if (write_tmp(f, out, ff.tmp, fl, &ff) == -1)
		return -1;
	if (choose(f, out, 0, &ff) == -1) {
		unlinkat(out->dirfd, ff.tmp, 0);
		return -1;
	}
	ff.orig_name = orig ? strdup(orig) : NULL;
	ff.content_type = type;
	folder_out_add(out, &ff);
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
		return folder_out_fail(out, errno, 0, "cannot sync", "");
	return 0;
}

/* folder_rollback - remove the temporary files and the names created */
void
folder_rollback(struct folder_out *out)
{
	size_t i;

	for (i = 0; out->dirfd != -1 && i < out->nfiles; i++) {
		if (out->files[i].tmp[0] != '\0')
			unlinkat(out->dirfd, out->files[i].tmp, 0);
		if (out->files[i].created)
			unlinkat(out->dirfd, out->files[i].name, 0);
	}
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
