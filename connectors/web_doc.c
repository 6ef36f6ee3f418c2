/*
 * web_doc.c - a message into named documents, each handed to a send
 * function (the webdav and http connectors)
 *
 * The message is read once with the folder connector's code
 * (folder_mime.c: attachments, the body text, or the message itself as
 * store says); each document is written to a memory file (memfd, so
 * nothing lands on a disk the deliverer may not reach), hashed, and given
 * to the connector's send function with its name from file_template and
 * the directory from path_template.  The recipients share one upload,
 * unless a template names a per-recipient field (rcpt, fax, name,
 * company, param:...): then each recipient gets its own.  The first
 * document the server does not take ends the unit's delivery with that
 * result; a retry sends every document again (the webdav connector's PUT
 * replaces what an earlier attempt stored under the same name).
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "web.h"

/* doc_param - router field accessor for templates */
static const char *
doc_param(void *r, const char *name)
{
	return r ? gw_rcpt_param(r, name) : NULL;
}

/* doc_memfile - an anonymous file for one document */
static int
doc_memfile(void)
{
	FILE *fp;
	int fd = memfd_create("gatewayd-doc", MFD_CLOEXEC);

	if (fd != -1 || errno != ENOSYS)
		return fd;
	if ((fp = tmpfile()) == NULL)
		return -1;
	fd = dup(fileno(fp));
	fclose(fp);
	return fd;
}

/* doc_spool - the document's bytes in a memory file, with size and hash */
static int
doc_spool(const struct folder_doc *d, struct gw_message *msg,
    struct web_file *f)
{
	if ((f->src.fd = doc_memfile()) == -1)
		return -1;
	errno = 0;
	if (folder_mime_write(d, msg, f->src.fd) == -1 ||
	    folder_hash_fd(f->src.fd, f->sha256, &f->src.size) == -1) {
		if (errno == 0)
			errno = EIO;
		close(f->src.fd);
		f->src.fd = -1;
		return -1;
	}
	f->src.off = 0;
	return 0;
}

/* doc_send - name, spool and send document i of the unit */
static int
doc_send(const struct web *w, struct web_unit *u, struct gw_message *msg,
    size_t i, web_send_fn send, void *ctx, struct web_result *res)
{
	struct web_file f;
	int r;

	memset(&f, 0, sizeof(f));
	f.doc = &u->m->docs[i];
	f.counter = (unsigned int)i + 1;
	u->fl.filename = f.doc->name;
	u->fl.counter = f.counter;
	if (folder_template_expand(w->docs.file_template, &u->fl,
	    &w->docs.policy, 1, f.name, sizeof(f.name)) == -1) {
		web_result_set(res, GW_RESULT_PERMFAIL, 550, "5.3.0");
		snprintf(res->text, sizeof(res->text), "%s: the name of "
		    "document %zu from file_template does not fit", w->who,
		    i + 1);
		return -1;
	}
	if (doc_spool(f.doc, msg, &f) == -1) {
		web_result_set(res, GW_RESULT_TEMPFAIL, 451, "4.3.0");
		snprintf(res->text, sizeof(res->text), "%s: cannot read "
		    "document %s: %s", w->who, f.name, strerror(errno));
		return -1;
	}
	r = send(ctx, u, &f, res);
	close(f.src.fd);
	return r;
}

/* unit_run - every document for the recipients of u; res is the outcome */
static void
unit_run(const struct web *w, struct web_unit *u, struct gw_message *msg,
    web_send_fn send, void *ctx, struct web_result *res)
{
	struct gw_rcpt *r = u->env->rcpt[u->idx[0]];
	char last[WEB_TEXT_MAX];
	size_t i;

	u->fl = (struct folder_fields){ .qid = u->env->queue_id,
	    .sender = u->env->sender, .rcpt = gw_rcpt_address(r),
	    .client = u->env->client_addr, .subject = u->m->subject,
	    .param = doc_param, .param_ctx = r, .arrival = u->env->arrival,
	    .utc = w->docs.utc };
	if (folder_template_expand(w->docs.path_template, &u->fl,
	    &w->docs.policy, 0, u->dir, sizeof(u->dir)) == -1) {
		web_result_set(res, GW_RESULT_PERMFAIL, 550, "5.3.0");
		snprintf(res->text, sizeof(res->text), "%s: the path from "
		    "path_template does not fit", w->who);
		return;
	}
	for (i = 0; i < u->m->ndocs; i++)
		if (doc_send(w, u, msg, i, send, ctx, res) == -1)
			return;
	if (u->m->ndocs > 1) {
		snprintf(last, sizeof(last), "%s", res->text);
		snprintf(res->text, sizeof(res->text), "%s: %zu documents "
		    "delivered, the last: %s", w->who, u->m->ndocs,
		    last + strlen(w->who) + 2);
	}
	if (u->m->notes[0] != '\0')
		snprintf(res->text + strlen(res->text), sizeof(res->text) -
		    strlen(res->text), "; %s", u->m->notes);
}

/*
 * web_doc_deliver - make the delivery's handle rq, read the message once,
 * send it per unit, set every recipient's result
 */
void
web_doc_deliver(const struct web *w, const struct gw_envelope *env,
    struct gw_message *msg, struct web_req *rq, web_send_fn send, void *ctx)
{
	struct web_result res;
	struct web_unit u;
	struct folder_msg m;
	size_t *idx, i, k, step;
	char err[256];

	if (web_req_init(rq, w, err, sizeof(err)) == -1) {
		for (i = 0; i < env->nrcpt; i++)
			gw_rcpt_set_result(env->rcpt[i], GW_RESULT_TEMPFAIL,
			    451, "4.3.0", "%s", err);
		return;
	}
	folder_mime_read(&w->docs, env, msg, &m);
	if (m.notes[0] != '\0')
		gw_log(GW_LOG_WARNING, "%s: %s", w->who, m.notes);
	if ((idx = calloc(env->nrcpt + 1, sizeof(*idx))) == NULL)
		abort();
	for (i = 0; i < env->nrcpt; i++)
		idx[i] = i;
	step = w->docs.per_rcpt ? 1 : env->nrcpt;
	for (k = 0; k < env->nrcpt; k += step) {
		memset(&u, 0, sizeof(u));
		memset(&res, 0, sizeof(res));
		u.env = env;
		u.m = &m;
		u.idx = idx + k;
		u.n = step;
		unit_run(w, &u, msg, send, ctx, &res);
		if (res.result != GW_RESULT_OK)
			gw_log(GW_LOG_WARNING, "%s", res.text);
		for (i = 0; i < u.n; i++)
			gw_rcpt_set_result(env->rcpt[u.idx[i]], res.result,
			    res.code, res.status, "%s", res.text);
	}
	free(idx);
	folder_msg_free(&m);
	web_req_free(rq);
}
