/*
 * pipe_attach.c - the documents of a message as files for a command
 *
 * The folder connector's reader (folder_mime.c, compiled in) finds the
 * documents: every attachment and inline non-text part, the text body
 * when there is nothing else, the message itself as a last resort.  Each
 * is written into a new directory made with mkdtemp() under tmpdir (mode
 * 0700, files 0600), under its own name made safe by folder_template.c
 * (a number in front when two documents share a name).  The directory is
 * removed, with its files, once the commands have run, whatever they did.
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
#include <unistd.h>

#include <gatewayd/connector.h>

#include "folder.h"
#include "pipe.h"

/* pipe_attach_init - GMime, once per process */
void
pipe_attach_init(void)
{
	folder_mime_init();
}

/* pipe_attach_reader - the folder reader's settings: documents only */
static void
pipe_attach_reader(struct folder *f)
{
	memset(f, 0, sizeof(*f));
	f->mode = FOLDER_ATTACHMENTS;
	f->body = FOLDER_BODY_AUTO;
	f->max_depth = 20;
	f->max_parts = 500;
	f->policy.charset = FOLDER_POSIX;
	f->policy.name_max = 200;
}

/* pipe_attach_create - a new file for document i in dirfd; fd or -1 */
static int
pipe_attach_create(int dirfd, const struct folder *f, const char *name,
    size_t i, char *out, size_t outlen)
{
	char clean[NAME_MAX + 1];
	int fd;

	snprintf(clean, sizeof(clean), "%s", name ? name : "document");
	folder_clean_component(clean, sizeof(clean), &f->policy, 1);
	snprintf(out, outlen, "%s", clean);
	fd = openat(dirfd, out, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0600);
	if (fd == -1 && errno == EEXIST) {
		snprintf(out, outlen, "%zu-%.*s", i + 1 > 999999 ? 999999 :
		    i + 1, (int)(outlen > 8 ? outlen - 8 : 0), clean);
		fd = openat(dirfd, out, O_WRONLY | O_CREAT | O_EXCL |
		    O_NOFOLLOW | O_CLOEXEC, 0600);
	}
	return fd;
}

/* pipe_attach_write - every document into the directory; -1 with err */
static int
pipe_attach_write(const struct folder *f, const struct folder_msg *m,
    struct gw_message *msg, struct pipe_files *pf, char *err, size_t errlen)
{
	char name[NAME_MAX + 1];
	int dirfd, fd, rc = 0;
	size_t i;

	if ((dirfd = open(pf->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "%s: %s", pf->dir, strerror(errno));
		return -1;
	}
	pf->paths = calloc(m->ndocs + 1, sizeof(*pf->paths));
	for (i = 0; pf->paths != NULL && i < m->ndocs && rc == 0; i++) {
		if ((fd = pipe_attach_create(dirfd, f, m->docs[i].name, i, name,
		    sizeof(name))) == -1 ||
		    folder_mime_write(&m->docs[i], msg, fd) == -1 ||
		    close(fd) == -1) {
			snprintf(err, errlen, "writing %s/%s: %s", pf->dir, name,
			    strerror(errno));
			rc = -1;
			break;
		}
		if (asprintf(&pf->paths[pf->n], "%s/%s", pf->dir, name) == -1)
			abort();
		pf->n++;
	}
	close(dirfd);
	if (pf->paths == NULL)
		abort();
	return rc;
}

/* pipe_attach_extract - the documents into a new directory (pipe.h) */
int
pipe_attach_extract(const struct pipe_cfg *c, const struct gw_envelope *env,
    struct gw_message *msg, struct pipe_files *pf, char *err, size_t errlen)
{
	struct folder f;
	struct folder_msg m;
	int rc;

	memset(pf, 0, sizeof(*pf));
	if (strlen(c->tmpdir) + sizeof("/gatewayd-pipe.XXXXXX") >
	    sizeof(pf->dir)) {
		snprintf(err, errlen, "tmpdir is too long");
		return -1;
	}
	memcpy(pf->dir, c->tmpdir, strlen(c->tmpdir) + 1);
	strcat(pf->dir, "/gatewayd-pipe.XXXXXX");
	if (mkdtemp(pf->dir) == NULL) {
		snprintf(err, errlen, "cannot make a directory in %s: %s",
		    c->tmpdir, strerror(errno));
		pf->dir[0] = '\0';
		return -1;
	}
	pipe_attach_reader(&f);
	folder_mime_read(&f, env, msg, &m);
	snprintf(pf->notes, sizeof(pf->notes), "%.*s",
	    (int)sizeof(pf->notes) - 1, m.notes);
	rc = pipe_attach_write(&f, &m, msg, pf, err, errlen);
	folder_msg_free(&m);
	if (rc == -1)
		pipe_attach_remove(pf);
	return rc;
}

/*
 * pipe_attach_empty - remove every entry of the directory (what a command
 * left there too; an emptied subdirectory is not descended into)
 */
static void
pipe_attach_empty(const char *dir)
{
	struct dirent *de;
	DIR *d;
	int fd;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1 || (d = fdopendir(fd)) == NULL) {
		if (fd != -1)
			close(fd);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (unlinkat(fd, de->d_name, 0) == -1 && errno == EISDIR)
			(void)unlinkat(fd, de->d_name, AT_REMOVEDIR);
	}
	closedir(d);
}

/* pipe_attach_remove - the files, then the directory */
void
pipe_attach_remove(struct pipe_files *pf)
{
	size_t i;

	for (i = 0; i < pf->n; i++)
		free(pf->paths[i]);
	free(pf->paths);
	if (pf->dir[0] != '\0') {
		pipe_attach_empty(pf->dir);
		if (rmdir(pf->dir) == -1)
			gw_log(GW_LOG_WARNING, "pipe: cannot remove %s: %s",
			    pf->dir, strerror(errno));
	}
	pf->paths = NULL;
	pf->n = 0;
	pf->dir[0] = '\0';
}
