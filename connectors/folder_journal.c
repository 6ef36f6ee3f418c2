/*
 * folder_journal.c - the folder connector's delivery journal: exactly once
 *
 * The worker removes a job after the connector has answered; a crash
 * between the two hands the same job to the connector again (DESIGN.md:
 * at least once).  The journal makes that second delivery write nothing.
 * Each delivery unit has a key (folder.c: SHA-256 of the host name, the
 * queue ID, the recipients, the sheet part and the head of the message),
 * the same for every attempt of one job and different for any other.
 *
 *   <root>/.gatewayd/journal/<key>   committed: the final names are chosen
 *   <root>/.gatewayd/done/<key>      done: every file has its final name
 *
 * A delivery writes its files to .gw-tmp.<key>.<n> (folder_write.c) and
 * chooses their final names; then it writes the record (tmp, fsync,
 * rename, fsync journal/: the commit point), renames each file (a name
 * taken since it was chosen: the next suffix, the record rewritten first),
 * syncs the directory and moves the record to done/.  The next delivery
 * with that key finds the done record (writes nothing), or the committed
 * one (rolls forward: renames the temporary files still there), or none
 * (removes the temporary files a crash left and starts afresh).
 *
 * A record is text: "gatewayd-folder-journal 1", "dir DIR", one line
 * "file TMP SUFFIX d|s WANT NAME" per file (document or sidecar), "end";
 * names %-escaped.  Names are opened relative to the root with O_NOFOLLOW,
 * .gatewayd must be the running user's and not writable by others, and a
 * record's names are checked before use (the root may be writable by
 * others).  Done records older than journal_keep go in bounded steps
 * (folder_journal_sweep).  Nothing here logs: out->note says what to log.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "folder.h"

#define JOURNAL_VERSION		"gatewayd-folder-journal 1"
#define JOURNAL_MAX		(16 * 1024 * 1024)	/* bytes of a record */
#define JOURNAL_STALE_MAX	100000	/* temporary files looked for */

/* A growing text buffer. */
struct jbuf {
	char *p;
	size_t len, cap;
};

/* folder_journal_key - hex of the first 128 bits of SHA-256(data) */
void
folder_journal_key(const void *data, size_t len, char key[FOLDER_KEY_LEN + 1])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0, i;

	if (EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL) != 1 ||
	    mdlen < FOLDER_KEY_LEN / 2)
		abort();
	for (i = 0; i < FOLDER_KEY_LEN / 2; i++)
		snprintf(key + 2 * i, 3, "%02x", md[i]);
}

/* jb_add - append n bytes */
static void
jb_add(struct jbuf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		if ((b->p = realloc(b->p, b->cap)) == NULL)
			abort();
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

/* jb_esc - append s with '%', controls, space and DEL as %XX */
static void
jb_esc(struct jbuf *b, const char *s)
{
	char hex[4];

	for (; *s != '\0'; s++) {
		if ((unsigned char)*s <= 0x20 || *s == 0x7f || *s == '%') {
			snprintf(hex, sizeof(hex), "%%%02X", (unsigned char)*s);
			jb_add(b, hex, 3);
		} else
			jb_add(b, s, 1);
	}
}

/* unesc - decode one %-escaped field of n bytes into out; -1 if bad */
static int
unesc(const char *s, size_t n, char *out, size_t outlen)
{
	size_t i, k = 0;
	unsigned int c;

	for (i = 0; i < n; i++) {
		if (k + 1 >= outlen || (unsigned char)s[i] <= 0x20 ||
		    s[i] == 0x7f)
			return -1;
		if (s[i] != '%') {
			out[k++] = s[i];
			continue;
		}
		if (i + 2 >= n || sscanf(s + i + 1, "%2x", &c) != 1 || c == 0)
			return -1;
		out[k++] = (char)c;
		i += 2;
	}
	out[k] = '\0';
	return 0;
}

/* safe_name - a name of one component, not "." or ".." */
static int
safe_name(const char *s)
{
	return s[0] != '\0' && strchr(s, '/') == NULL &&
	    strcmp(s, ".") != 0 && strcmp(s, "..") != 0;
}

/* safe_dir - a relative directory without "." or ".." components */
static int
safe_dir(const char *s)
{
	const char *p = s, *e;

	if (*s == '/')
		return 0;
	for (; *p != '\0'; p = *e ? e + 1 : e) {
		e = p + strcspn(p, "/");
		if ((e - p == 1 && p[0] == '.') ||
		    (e - p == 2 && p[0] == '.' && p[1] == '.'))
			return 0;
	}
	return 1;
}

/* rec_text - the record of out */
static void
rec_text(const struct folder_out *out, struct jbuf *b)
{
	const struct folder_file *ff;
	char num[32];
	size_t i;

	jb_add(b, JOURNAL_VERSION "\ndir ", sizeof(JOURNAL_VERSION) + 4);
	jb_esc(b, out->dir);
	for (i = 0; i < out->nfiles; i++) {
		ff = &out->files[i];
		jb_add(b, "\nfile ", 6);
		jb_esc(b, ff->tmp);
		snprintf(num, sizeof(num), " %u %c ", ff->sfx,
		    ff->content_type != NULL ? 'd' : 's');
		jb_add(b, num, strlen(num));
		jb_esc(b, ff->want);
		jb_add(b, " ", 1);
		jb_esc(b, ff->name);
	}
	jb_add(b, "\nend\n", 5);
}

/* rec_file - parse one "file" line (without "file ") into ff */
static int
rec_file(const char *key, const char *s, size_t n, struct folder_file *ff)
{
	const char *f[5];
	size_t len[5], i, k;
	char kind, *end, pre[FOLDER_TMP_MAX];

	memset(ff, 0, sizeof(*ff));
	for (i = 0, k = 0; i < 5; i++) {
		f[i] = s + k;
		while (k < n && s[k] != ' ')
			k++;
		len[i] = (size_t)(s + k - f[i]);
		if ((i < 4) != (k < n))
			return -1;
		k++;
	}
	snprintf(pre, sizeof(pre), ".gw-tmp.%s.", key);
	kind = len[2] == 1 ? f[2][0] : 0;
	if (unesc(f[0], len[0], ff->tmp, sizeof(ff->tmp)) == -1 ||
	    strncmp(ff->tmp, pre, strlen(pre)) != 0 ||
	    strspn(ff->tmp + strlen(pre), "0123456789") !=
	    strlen(ff->tmp + strlen(pre)) || ff->tmp[strlen(pre)] == '\0' ||
	    (kind != 'd' && kind != 's') || f[1][0] < '0' || f[1][0] > '9' ||
	    unesc(f[3], len[3], ff->want, sizeof(ff->want)) == -1 ||
	    unesc(f[4], len[4], ff->name, sizeof(ff->name)) == -1 ||
	    !safe_name(ff->want) || !safe_name(ff->name))
		return -1;
	ff->sfx = (unsigned int)strtoul(f[1], &end, 10);
	if (end != f[1] + len[1] || ff->sfx >= FOLDER_MAX_SUFFIX)
		return -1;
	ff->content_type = kind == 'd' ? "" : NULL;
	return 0;
}

/* rec_parse - a record's text into rec (dir and files); -1 if malformed */
static int
rec_parse(const char *key, char *text, struct folder_out *rec)
{
	struct folder_file ff;
	char *line, *next;
	int state = 0;

	for (line = text; *line != '\0'; line = next) {
		if ((next = strchr(line, '\n')) == NULL || state == 3)
			return -1;
		*next++ = '\0';
		if (state == 0 && strcmp(line, JOURNAL_VERSION) == 0)
			state = 1;
		else if (state == 1 && strncmp(line, "dir ", 4) == 0) {
			if (unesc(line + 4, strlen(line + 4), rec->dir,
			    sizeof(rec->dir)) == -1 || !safe_dir(rec->dir))
				return -1;
			state = 2;
		} else if (state == 2 && strncmp(line, "file ", 5) == 0) {
			if (rec_file(key, line + 5, strlen(line + 5),
			    &ff) == -1)
				return -1;
			folder_out_add(rec, &ff);
		} else if (state == 2 && strcmp(line, "end") == 0)
			state = 3;
		else
			return -1;
	}
	return state == 3 ? 0 : -1;
}

/* rec_load - read dfd/key into rec: 1, 0 when absent, -1 (errno), -2 bad */
static int
rec_load(int dfd, const char *key, struct folder_out *rec)
{
	struct stat st;
	char *text;
	ssize_t n;
	int fd, r;

	memset(rec, 0, sizeof(*rec));
	rec->dirfd = -1;
	fd = openat(dfd, key, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd == -1)
		return errno == ENOENT ? 0 : errno == ELOOP ? -2 : -1;
	if (fstat(fd, &st) == -1) {
		close(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > JOURNAL_MAX) {
		close(fd);
		return -2;
	}
	if ((text = malloc((size_t)st.st_size + 1)) == NULL)
		abort();
	n = pread(fd, text, (size_t)st.st_size, 0);
	close(fd);
	if (n < 0) {
		free(text);
		return -1;
	}
	text[n] = '\0';
	r = (size_t)n != strlen(text) ? -1 : rec_parse(key, text, rec);
	free(text);
	if (r == -1)
		folder_out_free(rec);
	return r == -1 ? -2 : 1;
}

/* jfail - a journal failure: always temporary */
static int
jfail(const struct folder *f, struct folder_out *out, const char *what,
    const char *key, int err)
{
	snprintf(out->err, sizeof(out->err), "folder: cannot %s the delivery "
	    "journal %s/.gatewayd%s%s: %s", what, f->path, key ? "/journal/" :
	    "", key ? key : "", strerror(err));
	out->perm = 0;
	return -1;
}

/* rec_write - write out's record as journal/<key>, atomically and synced */
static int
rec_write(const struct folder *f, struct folder_journal *j,
    struct folder_out *out)
{
	struct jbuf b = { NULL, 0, 0 };
	char tmp[FOLDER_KEY_LEN + 8];
	int fd, e = 0;

	rec_text(out, &b);
	snprintf(tmp, sizeof(tmp), ".tmp.%s", out->key);
	unlinkat(j->jdir, tmp, 0);
	fd = openat(j->jdir, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0600);
	if (fd == -1 || folder_write_all(fd, b.p, b.len) == -1 ||
	    fsync(fd) == -1)
		e = errno ? errno : EIO;
	if (fd != -1 && close(fd) == -1 && e == 0)
		e = errno;
	if (e == 0 && (renameat(j->jdir, tmp, j->jdir, out->key) == -1 ||
	    fsync(j->jdir) == -1))
		e = errno;
	free(b.p);
	if (e != 0) {
		unlinkat(j->jdir, tmp, 0);
		return jfail(f, out, "write", out->key, e);
	}
	return 0;
}

/* jsub - open (creating it 0700) a journal directory below dfd */
static int
jsub(int dfd, const char *name)
{
	struct stat st;
	int fd, flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;

	fd = openat(dfd, name, flags);
	if (fd == -1 && errno == ENOENT) {
		if (mkdirat(dfd, name, 0700) == -1 && errno != EEXIST)
			return -1;
		if (fsync(dfd) == -1 || (fd = openat(dfd, name, flags)) == -1)
			return -1;
	}
	if (fd != -1 && (fstat(fd, &st) == -1 || st.st_uid != geteuid() ||
	    (st.st_mode & 022) != 0)) {
		close(fd);
		errno = EPERM;	/* not ours, or others may write in it */
		return -1;
	}
	return fd;
}

/* journal_open - open .gatewayd, journal/ and done/ under the root */
static int
journal_open(const struct folder *f, struct folder_journal *j,
    struct folder_out *out)
{
	j->gw = j->jdir = j->ddir = -1;
	if ((j->gw = jsub(f->root, ".gatewayd")) == -1 ||
	    (j->jdir = jsub(j->gw, "journal")) == -1 ||
	    (j->ddir = jsub(j->gw, "done")) == -1)
		return jfail(f, out, "open", NULL, errno);
	return 0;
}

/* take_files - move rec's files into out */
static void
take_files(struct folder_out *out, struct folder_out *rec)
{
	out->files = rec->files;
	out->nfiles = rec->nfiles;
	out->cap = rec->cap;
	rec->files = NULL;
	rec->nfiles = rec->cap = 0;
}

/* mark_done - move the record to done/ (synced) */
static int
mark_done(const struct folder *f, struct folder_journal *j,
    struct folder_out *out)
{
	if (renameat(j->jdir, out->key, j->ddir, out->key) == -1 ||
	    fsync(j->ddir) == -1)
		return jfail(f, out, "finish", out->key, errno);
	return 0;
}

/* place_all - rename every file still under its temporary name, sync */
static int
place_all(const struct folder *f, struct folder_journal *j,
    struct folder_out *out)
{
	size_t i;
	int r;

	for (i = 0; i < out->nfiles; i++) {
		while ((r = folder_place(f, out, i)) == 1)
			if (folder_choose_again(f, out, i) == -1 ||
			    rec_write(f, j, out) == -1)
				return -1;
		if (r == -1)
			return -1;
	}
	if (folder_finish(out) == -1)
		return -1;
	return mark_done(f, j, out);
}

/*
 * folder_journal_commit - record out's chosen names (the commit point),
 * place the files, mark the record done.  On failure before the record is
 * written, the temporary files are removed; after it, they stay for the
 * retry to roll forward, but for "collision: fail" meeting a name taken
 * since it was chosen (a permanent failure): then the record goes first.
 */
int
folder_journal_commit(const struct folder *f, struct folder_journal *j,
    struct folder_out *out)
{
	if (rec_write(f, j, out) == -1) {
		folder_rollback(out);
		return -1;
	}
	if (place_all(f, j, out) == 0)
		return 0;
	if (out->perm && unlinkat(j->jdir, out->key, 0) == 0 &&
	    fsync(j->jdir) == 0)
		folder_rollback(out);
	return -1;
}

/* clean_stale - remove .gw-tmp.<key>.<n> a crashed attempt left */
static void
clean_stale(struct folder_out *out)
{
	char tmp[FOLDER_TMP_MAX];
	size_t n;

	for (n = 0; n < JOURNAL_STALE_MAX; n++) {
		snprintf(tmp, sizeof(tmp), ".gw-tmp.%s.%zu", out->key, n);
		if (unlinkat(out->dirfd, tmp, 0) == -1 && errno == ENOENT)
			break;
	}
}

/* roll_forward - finish the delivery a committed record describes */
static int
roll_forward(const struct folder *f, struct folder_journal *j,
    struct folder_out *rec, const char *key, struct folder_out *out)
{
	if (folder_open_dir(f, rec->dir, out) == -1)
		return -1;
	snprintf(out->key, sizeof(out->key), "%s", key);
	take_files(out, rec);
	if (place_all(f, j, out) == -1)
		return -1;
	snprintf(out->note, sizeof(out->note), "folder: completed the "
	    "interrupted delivery of journal record %s", key);
	return FOLDER_J_ROLLED;
}

/*
 * malformed - a record that does not parse: start afresh (the record
 * removed, said in out->note) when no temporary file of the key is in
 * dir, else defer: the record may have described them
 */
static int
malformed(const struct folder *f, struct folder_journal *j, const char *key,
    const char *dir, struct folder_out *out)
{
	char tmp[FOLDER_TMP_MAX];

	if (folder_open_dir(f, dir, out) == -1)
		return -1;
	snprintf(tmp, sizeof(tmp), ".gw-tmp.%s.0", key);
	if (faccessat(out->dirfd, tmp, F_OK, AT_SYMLINK_NOFOLLOW) == 0) {
		snprintf(out->err, sizeof(out->err), "folder: the delivery "
		    "journal record %s (.gatewayd/) is malformed and its "
		    "temporary files are in '%s': deferred", key,
		    dir[0] ? dir : ".");
		return -1;
	}
	if ((unlinkat(j->ddir, key, 0) == -1 && errno != ENOENT) ||
	    (unlinkat(j->jdir, key, 0) == -1 && errno != ENOENT))
		return jfail(f, out, "clean", key, errno);
	snprintf(out->note, sizeof(out->note), "folder: the delivery journal "
	    "record %s under %s/.gatewayd was malformed, removed: delivering "
	    "afresh", key, f->path);
	return 0;
}

/*
 * folder_journal_begin - open the journal and look for key: FOLDER_J_DONE
 * (out has the recorded dir and names, no directory open), FOLDER_J_ROLLED
 * (an interrupted delivery finished now), FOLDER_J_FRESH (out open on
 * dir, stale temporary files removed), or -1 with out->err.
 */
int
folder_journal_begin(const struct folder *f, const char *key,
    const char *dir, struct folder_journal *j, struct folder_out *out)
{
	struct folder_out rec;
	int rd, rj = 0;

	memset(out, 0, sizeof(*out));
	out->dirfd = -1;
	if (journal_open(f, j, out) == -1)
		return -1;
	if ((rd = rec_load(j->ddir, key, &rec)) == 1) {
		snprintf(out->dir, sizeof(out->dir), "%s", rec.dir);
		take_files(out, &rec);
		return FOLDER_J_DONE;
	}
	if (rd != -1 && (rj = rec_load(j->jdir, key, &rec)) == 1) {
		rj = roll_forward(f, j, &rec, key, out);
		folder_out_free(&rec);
		return rj;
	}
	if (rd == -1 || rj == -1)
		return jfail(f, out, "read", key, errno);
	if ((rd == -2 || rj == -2) && malformed(f, j, key, dir, out) == -1)
		return -1;
	if (out->dirfd == -1 && folder_open_dir(f, dir, out) == -1)
		return -1;
	snprintf(out->key, sizeof(out->key), "%s", key);
	clean_stale(out);
	return FOLDER_J_FRESH;
}

/* folder_journal_close - close the journal's directories */
void
folder_journal_close(struct folder_journal *j)
{
	if (j->gw >= 0)
		close(j->gw);
	if (j->jdir >= 0)
		close(j->jdir);
	if (j->ddir >= 0)
		close(j->ddir);
	j->gw = j->jdir = j->ddir = -1;
}

/* sweep_open - start a pass over done/ (none yet: NULL, errno ENOENT) */
static DIR *
sweep_open(const struct folder *f)
{
	int gw, fd, flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
	DIR *d;

	if ((gw = openat(f->root, ".gatewayd", flags)) == -1)
		return NULL;
	fd = openat(gw, "done", flags);
	close(gw);
	if (fd == -1)
		return NULL;
	if ((d = fdopendir(fd)) == NULL)
		close(fd);
	return d;
}

/*
 * folder_journal_sweep - one bounded step of a pass that removes the done
 * records older than journal_keep; a pass starts at most every
 * FOLDER_SWEEP_EVERY seconds and goes on at the next calls until it has
 * read all of done/.  Returns the number of records removed.
 */
int
folder_journal_sweep(struct folder *f, time_t now)
{
	DIR *d = f->sweep_dir;
	struct dirent *de;
	struct stat st;
	int n, removed = 0;

	if (d == NULL) {
		if (f->sweep_last != 0 && now >= f->sweep_last &&
		    now - f->sweep_last < FOLDER_SWEEP_EVERY)
			return 0;
		f->sweep_last = now;
		if ((d = sweep_open(f)) == NULL)
			return 0;
		f->sweep_dir = d;
	}
	for (n = 0; n < FOLDER_SWEEP_STEP; n++) {
		if ((de = readdir(d)) == NULL) {
			closedir(d);
			f->sweep_dir = NULL;
			break;
		}
		if (de->d_name[0] == '.' || fstatat(dirfd(d), de->d_name, &st,
		    AT_SYMLINK_NOFOLLOW) == -1 || !S_ISREG(st.st_mode) ||
		    st.st_mtime > now ||
		    (unsigned long long)(now - st.st_mtime) <= f->journal_keep)
			continue;
		if (unlinkat(dirfd(d), de->d_name, 0) == 0)
			removed++;
	}
	return removed;
}
