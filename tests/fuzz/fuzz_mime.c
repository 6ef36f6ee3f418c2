/*
 * fuzz_mime.c - fuzz target: the folder connector's MIME walk
 *
 * The input is a spooled message.  It goes through folder_mime_read() as
 * the folder connector runs it in "both" mode (the message, every
 * attachment and inline part, the body text; attached messages opened on
 * odd inputs, filed as .eml on even ones), and every document is decoded
 * with folder_mime_write() into /dev/null.  The connector API functions
 * it calls (gw_message_*, gw_log) read the input from a memfd, as the
 * worker reads the spool file.  Checked: no crash or sanitizer report, at
 * most max_parts documents plus the message and the body, and every
 * document has a name and a content type.
 */
#include "config.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../../connectors/folder_mime.c"
#include "../../connectors/folder_template.c"
#include "../../connectors/folder_uu.c"
#include "fuzz.h"

struct gw_message {
	int fd;
};

/* gw_message_read - the connector API over the memfd */
ssize_t
gw_message_read(struct gw_message *m, void *buf, size_t len)
{
	return read(m->fd, buf, len);
}

/* gw_message_rewind - back to the first byte */
int
gw_message_rewind(struct gw_message *m)
{
	return lseek(m->fd, 0, SEEK_SET) == -1 ? -1 : 0;
}

/* folder_write_all - folder_write.c's writer (not compiled in here) */
int
folder_write_all(int fd, const char *p, size_t n)
{
	ssize_t w;

	for (; n > 0; p += w, n -= (size_t)w)
		if ((w = write(fd, p, n)) <= 0)
			return -1;
	return 0;
}

/* gw_message_fd - the data descriptor; the message starts at 0 */
int
gw_message_fd(struct gw_message *m, off_t *offset)
{
	*offset = 0;
	return m->fd;
}

/* gw_log - discard */
void
gw_log(enum gw_log_level level, const char *fmt, ...)
{
	(void)level;
	(void)fmt;
}

/* fuzz_docs - decode every document; abort on a malformed one */
static void
fuzz_docs(const struct folder *f, struct folder_msg *m, struct gw_message *g)
{
	size_t i;
	int null;

	if (m->ndocs > f->max_parts + 2)
		abort();
	if ((null = open("/dev/null", O_WRONLY | O_CLOEXEC)) == -1)
		return;
	for (i = 0; i < m->ndocs; i++) {
		if (m->docs[i].name == NULL || m->docs[i].name[0] == '\0' ||
		    m->docs[i].content_type == NULL)
			abort();
		(void)folder_mime_write(&m->docs[i], g, null);
	}
	close(null);
}

/* LLVMFuzzerTestOneInput - one message through the MIME walk */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct folder f;
	struct gw_envelope env;
	struct folder_msg m;
	struct gw_message g;

	folder_mime_init();
	memset(&f, 0, sizeof(f));
	f.mode = FOLDER_BOTH;
	f.body = FOLDER_BODY_ALWAYS;
	f.messages_as_files = (size % 2) == 0;
	f.max_depth = 20;
	f.max_parts = 500;
	memset(&env, 0, sizeof(env));
	env.struct_size = sizeof(env);
	env.queue_id = "0006152f1a2b3c4d0001";
	env.sender = "sender@example.com";
	env.size = (off_t)size;
	if ((g.fd = memfd_create("fuzz_mime", MFD_CLOEXEC)) == -1)
		return 0;
	if (write(g.fd, data, size) != (ssize_t)size) {
		close(g.fd);
		return 0;
	}
	folder_mime_read(&f, &env, &g, &m);
	fuzz_docs(&f, &m, &g);
	folder_msg_free(&m);
	close(g.fd);
	return 0;
}
