/*
 * folder.c - the "folder" connector: file messages or their attachments
 *
 * mode: message (the default) files each message as <qid>.eml under the
 * root directory; attachments extracts the documents of the message
 * (folder_mime.c); both does the two.  Names come from path_template and
 * file_template (folder_template.c), are made safe, and are opened
 * relative to the root directory, which init() opens while the worker is
 * still privileged (folder_config.c), so nothing is ever written outside
 * it.  Files are written atomically with a collision policy
 * (folder_write.c), optionally with JSON sidecars (folder_sidecar.c).
 *
 * A job's recipients share one copy, unless the templates name a
 * per-recipient field (rcpt, fax, name, company, param:...): then the
 * recipients are grouped by what those fields give and each group gets
 * its own copy and result.  A delivery that fails removes the names it
 * created, so the retry starts clean.  What could not be extracted is
 * logged and said in the result text; the delivery still succeeds with
 * what was recovered (and with the message itself when nothing was).
 *
 * Each copy is delivered once even when the job comes again after a
 * crash (between this answer and the worker's removal of the job): its
 * delivery key (delivery_key) names a record in the delivery journal
 * (folder_journal.c), and a delivery whose record is done writes nothing.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <glib.h>

#include <gatewayd/connector.h>

#include "folder.h"

struct folder_result {
	enum gw_result result;
	int code;
	const char *status;
	char text[PATH_MAX + 1024];
};

/* One copy: the recipients that share it. */
struct folder_unit {
	size_t *idx;
	size_t n;
	char *key;
};

/* folder_init - parse the settings, open the root directory */
static int
folder_init(const struct gw_node *settings, void **ctx, char *err,
    size_t errlen)
{
	struct folder *f;

	if ((f = calloc(1, sizeof(*f))) == NULL) {
		snprintf(err, errlen, "folder: out of memory");
		return -1;
	}
	if (folder_config(f, settings, err, errlen) == -1 ||
	    folder_config_root(f, err, errlen) == -1) {
		free(f);
		return -1;
	}
	if (gethostname(f->host, sizeof(f->host) - 1) == -1)
		f->host[0] = '\0';
	folder_mime_init();
	*ctx = f;
	return 0;
}

/*
 * folder_check - the settings as folder_init() parses them, without
 * opening or creating the root (gatewayd -n, gatewayctl check)
 */
static int
folder_check(const struct gw_node *settings, char *err, size_t errlen)
{
	struct folder *f;
	int rc;

	if ((f = calloc(1, sizeof(*f))) == NULL) {
		snprintf(err, errlen, "folder: out of memory");
		return -1;
	}
	f->checking = 1;
	rc = folder_config(f, settings, err, errlen);
	free(f);
	return rc;
}

/* rcpt_param - router field accessor for templates */
static const char *
rcpt_param(void *r, const char *name)
{
	return r ? gw_rcpt_param(r, name) : NULL;
}

/* set_fields - the template fields of the message for recipient r */
static void
set_fields(const struct folder *f, const struct gw_envelope *env,
    const struct folder_msg *m, struct gw_rcpt *r, struct folder_fields *fl)
{
	memset(fl, 0, sizeof(*fl));
	fl->qid = env->queue_id;
	fl->sender = env->sender;
	fl->rcpt = r ? gw_rcpt_address(r) : "";
	fl->client = env->client_addr;
	fl->subject = m->subject;
	fl->param = rcpt_param;
	fl->param_ctx = r;
	fl->arrival = env->arrival;
	fl->utc = f->utc;
}

/* res_set - fill a result */
static void
res_set(struct folder_result *res, enum gw_result r, const char *text)
{
	res->result = r;
	res->code = r == GW_RESULT_OK ? 250 : r == GW_RESULT_PERMFAIL ? 550 :
	    451;
	res->status = r == GW_RESULT_OK ? "2.0.0" : r == GW_RESULT_PERMFAIL ?
	    "5.3.0" : "4.3.0";
	snprintf(res->text, sizeof(res->text), "%s", text);
}

/* res_append - append to the result text (truncated at its size) */
static void __attribute__((format(printf, 2, 3)))
res_append(struct folder_result *res, const char *fmt, ...)
{
	size_t len = strlen(res->text);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(res->text + len, sizeof(res->text) - len, fmt, ap);
	va_end(ap);
}

/* res_ok - "delivered to ..." naming the files and the notes */
static void
res_ok(const struct folder *f, const struct folder_out *out,
    const struct folder_msg *m, const char *verb, struct folder_result *res)
{
	char notes[sizeof(m->notes)];
	size_t i, k = 0, docs = 0;

	for (i = 0; i < out->nfiles; i++)
		docs += out->files[i].content_type != NULL;
	res_set(res, GW_RESULT_OK, "");
	if (docs == 1)
		res_append(res, "%s to %s", verb, f->path);
	else
		res_append(res, "%s %zu files to %s", verb, docs, f->path);
	if (out->dir[0] != '\0')
		res_append(res, "/%s", out->dir);
	for (i = 0; i < out->nfiles && k < 10; i++)
		if (out->files[i].content_type != NULL)
			res_append(res, "%s%s", docs == 1 ? "/" : k++ ? ", " :
			    ": ", out->files[i].name);
	if (docs == 1)
		k = 1;
	if (docs > k)
		res_append(res, " and %zu more", docs - k);
	if (m->notes[0] != '\0') {
		folder_clean_field(m->notes, strlen(m->notes), &f->policy,
		    notes, sizeof(notes));
		res_append(res, "; %s", notes);
	}
}

/* write_sidecars - per message or per file, as configured */
static int
write_sidecars(const struct folder *f, const struct gw_envelope *env,
    const struct folder_msg *m, struct folder_fields *fl,
    const char *const *rcpts, size_t nrcpt, struct folder_out *out)
{
	char name[NAME_MAX + 1];
	size_t i, n = out->nfiles, len;
	char *json;
	int r = 0;

	if (f->sidecar == FOLDER_SIDECAR_NONE)
		return 0;
	if (f->sidecar == FOLDER_SIDECAR_MESSAGE) {
		fl->filename = "";
		fl->counter = 0;
		if (folder_template_expand(f->sidecar_template, fl, &f->policy,
		    1, name, sizeof(name)) == -1)
			snprintf(name, sizeof(name), "%s.json", env->queue_id);
		json = folder_sidecar_json(env, m, fl, rcpts, nrcpt, out, 0, n,
		    &len);
		r = json == NULL ? -1 : folder_put_buffer(f, out, name, json,
		    len);
		free(json);
		return r;
	}
	for (i = 0; i < n && r == 0; i++) {
		if ((size_t)snprintf(name, sizeof(name), "%s.json",
		    out->files[i].name) >= sizeof(name))
			snprintf(name, sizeof(name), "%s-%zu.json",
			    env->queue_id, i + 1);
		json = folder_sidecar_json(env, m, fl, rcpts, nrcpt, out, i, 1,
		    &len);
		r = json == NULL ? -1 : folder_put_buffer(f, out, name, json,
		    len);
		free(json);
	}
	return r;
}

/* store_docs - write every document of the unit into out */
static int
store_docs(const struct folder *f, const struct folder_msg *m,
    struct gw_message *msg, struct folder_fields *fl, struct folder_out *out)
{
	char name[NAME_MAX + 1];
	size_t i;

	for (i = 0; i < m->ndocs; i++) {
		fl->filename = m->docs[i].name;
		fl->counter = (unsigned int)i + 1;
		if (folder_template_expand(f->file_template, fl, &f->policy, 1,
		    name, sizeof(name)) == -1) {
			snprintf(out->err, sizeof(out->err), "folder: the name "
			    "of document %zu does not fit", i + 1);
			out->perm = 1;
			return -1;
		}
		if (folder_put(f, out, name, &m->docs[i], msg) == -1)
			return -1;
	}
	return 0;
}

/* key_add - one field of a delivery key, NUL-terminated */
static void
key_add(GString *s, const char *v)
{
	g_string_append_len(s, v ? v : "", (gssize)strlen(v ? v : "") + 1);
}

/*
 * delivery_key - the journal key of unit u: the same for every attempt of
 * the job, different for any other copy.  The connector does not see the
 * core's hostname setting: the machine's host name and the head of the
 * message (whose Received: line names the node by that setting and the
 * queue ID) tell nodes apart; the queue ID, the envelope, the unit's
 * recipients with their sheet part and the unit's names tell copies apart.
 */
static void
delivery_key(const struct folder *f, const struct gw_envelope *env,
    const char *head, size_t headlen, const struct folder_unit *u,
    char key[FOLDER_KEY_LEN + 1])
{
	GString *s = g_string_new(NULL);
	struct gw_rcpt *r;
	size_t i;

	key_add(s, "gatewayd-folder-key 1");
	key_add(s, f->host);
	key_add(s, env->queue_id);
	g_string_append_printf(s, "%lld %lld%c", (long long)env->arrival,
	    (long long)env->size, '\0');
	key_add(s, env->sender);
	for (i = 0; i < u->n; i++) {
		r = env->rcpt[u->idx[i]];
		key_add(s, gw_rcpt_address(r));
		key_add(s, gw_rcpt_param(r, "sheet-part"));
		key_add(s, gw_rcpt_param(r, "sheet-scan"));
	}
	key_add(s, u->key);
	g_string_append_len(s, head, (gssize)headlen);
	folder_journal_key(s->str, s->len, key);
	g_string_free(s, TRUE);
}

/* write_unit - a fresh delivery: the files, the sidecars, the commit */
static int
write_unit(const struct folder *f, const struct gw_envelope *env,
    struct gw_message *msg, const struct folder_msg *m,
    struct folder_fields *fl, const char *const *rcpts, size_t nrcpt,
    struct folder_journal *j, struct folder_out *out)
{
	if (store_docs(f, m, msg, fl, out) == -1 ||
	    write_sidecars(f, env, m, fl, rcpts, nrcpt, out) == -1) {
		folder_rollback(out);
		return -1;
	}
	return folder_journal_commit(f, j, out);
}

/* deliver_unit - look the key up in the journal, then write or not */
static void
deliver_unit(const struct folder *f, const struct gw_envelope *env,
    struct gw_message *msg, const struct folder_msg *m, const char *key,
    const char *dir, struct folder_fields *fl, const char *const *rcpts,
    size_t nrcpt, struct folder_result *res)
{
	struct folder_journal j;
	struct folder_out out;
	int r;

	r = folder_journal_begin(f, key, dir, &j, &out);
	if (out.note[0] != '\0')
		gw_log(GW_LOG_WARNING, "%s", out.note);
	if (r == FOLDER_J_FRESH)
		r = write_unit(f, env, msg, m, fl, rcpts, nrcpt, &j, &out);
	if (r == -1)
		res_set(res, out.perm ? GW_RESULT_PERMFAIL : GW_RESULT_TEMPFAIL,
		    out.err);
	else
		res_ok(f, &out, m, r == FOLDER_J_DONE ? "already delivered" :
		    "delivered", res);
	if (r == FOLDER_J_DONE)
		gw_log(GW_LOG_INFO, "folder: %s (journal record %s): nothing "
		    "written again", res->text, key);
	folder_journal_close(&j);
	folder_out_free(&out);
}

/* store_unit - one copy for the recipients of u */
static void
store_unit(const struct folder *f, const struct gw_envelope *env,
    struct gw_message *msg, const struct folder_msg *m, const char *head,
    size_t headlen, const struct folder_unit *u, struct folder_result *res)
{
	struct folder_fields fl;
	char dir[FOLDER_TEMPLATE_MAX], key[FOLDER_KEY_LEN + 1];
	const char **rcpts = g_new0(const char *, u->n + 1);
	size_t i;

	for (i = 0; i < u->n; i++)
		rcpts[i] = gw_rcpt_address(env->rcpt[u->idx[i]]);
	set_fields(f, env, m, env->rcpt[u->idx[0]], &fl);
	if (folder_template_expand(f->path_template, &fl, &f->policy, 0, dir,
	    sizeof(dir)) == -1) {
		res_set(res, GW_RESULT_PERMFAIL, "folder: the directory name "
		    "from path_template does not fit");
		g_free(rcpts);
		return;
	}
	delivery_key(f, env, head, headlen, u, key);
	deliver_unit(f, env, msg, m, key, dir, &fl, rcpts, u->n, res);
	g_free(rcpts);
}

/* unit_key - what the per-recipient fields give for recipient r */
static char *
unit_key(const struct folder *f, const struct gw_envelope *env,
    const struct folder_msg *m, struct gw_rcpt *r)
{
	char a[FOLDER_TEMPLATE_MAX], b[NAME_MAX + 1], c[NAME_MAX + 1];
	struct folder_fields fl;

	set_fields(f, env, m, r, &fl);
	fl.filename = "x";
	if (folder_template_expand(f->path_template, &fl, &f->policy, 0, a,
	    sizeof(a)) == -1)
		a[0] = '\0';
	if (folder_template_expand(f->file_template, &fl, &f->policy, 1, b,
	    sizeof(b)) == -1)
		b[0] = '\0';
	if (folder_template_expand(f->sidecar_template, &fl, &f->policy, 1, c,
	    sizeof(c)) == -1)
		c[0] = '\0';
	return g_strdup_printf("%s\n%s\n%s", a, b, c);
}

/* make_units - group the recipients (one group unless per_rcpt) */
static struct folder_unit *
make_units(const struct folder *f, const struct gw_envelope *env,
    const struct folder_msg *m, size_t *nunits)
{
	struct folder_unit *u = g_new0(struct folder_unit, env->nrcpt + 1);
	size_t i, k, n = 0;
	char *key;

	for (i = 0; i < env->nrcpt; i++) {
		key = f->per_rcpt ? unit_key(f, env, m, env->rcpt[i]) :
		    g_strdup("");
		for (k = 0; k < n && strcmp(u[k].key, key) != 0; k++)
			;
		if (k == n) {
			u[n].key = key;
			u[n++].idx = g_new0(size_t, env->nrcpt);
		} else
			g_free(key);
		u[k].idx[u[k].n++] = i;
	}
	*nunits = n;
	return u;
}

/* msg_head - the first bytes of the message (for the delivery keys) */
static int
msg_head(struct gw_message *msg, char *buf, size_t len, size_t *got)
{
	ssize_t n = 0;

	*got = 0;
	if (gw_message_rewind(msg) == -1)
		return -1;
	while (*got < len && (n = gw_message_read(msg, buf + *got,
	    len - *got)) > 0)
		*got += (size_t)n;
	return n < 0 || gw_message_rewind(msg) == -1 ? -1 : 0;
}

/* fail_all - every recipient deferred with text */
static void
fail_all(const struct gw_envelope *env, const char *text)
{
	size_t i;

	gw_log(GW_LOG_WARNING, "%s", text);
	for (i = 0; i < env->nrcpt; i++)
		gw_rcpt_set_result(env->rcpt[i], GW_RESULT_TEMPFAIL, 451,
		    "4.3.0", "%s", text);
}

/* folder_deliver - read the message once, store one copy per unit */
static void
folder_deliver(void *ctx, const struct gw_envelope *env,
    struct gw_message *msg)
{
	struct folder *f = ctx;
	struct folder_result res;
	struct folder_unit *u;
	struct folder_msg m;
	char head[4096];
	size_t nu, i, k, headlen;

	if ((k = (size_t)folder_journal_sweep(f, time(NULL))) > 0)
		gw_log(GW_LOG_INFO, "folder: %zu delivery journal records "
		    "older than journal_keep removed", k);
	if (msg_head(msg, head, sizeof(head), &headlen) == -1) {
		fail_all(env, "folder: cannot read the message");
		return;
	}
	folder_mime_read(f, env, msg, &m);
	if (m.notes[0] != '\0')
		gw_log(GW_LOG_WARNING, "folder: %s", m.notes);
	u = make_units(f, env, &m, &nu);
	for (k = 0; k < nu; k++) {
		memset(&res, 0, sizeof(res));
		store_unit(f, env, msg, &m, head, headlen, &u[k], &res);
		if (res.result != GW_RESULT_OK)
			gw_log(GW_LOG_WARNING, "%s", res.text);
		for (i = 0; i < u[k].n; i++)
			gw_rcpt_set_result(env->rcpt[u[k].idx[i]], res.result,
			    res.code, res.status, "%s", res.text);
		g_free(u[k].idx);
		g_free(u[k].key);
	}
	g_free(u);
	folder_msg_free(&m);
}

/* folder_fini - free the settings */
static void
folder_fini(void *ctx)
{
	struct folder *f = ctx;

	if (f != NULL && f->root != -1)
		close(f->root);
	if (f != NULL && f->sweep_dir != NULL)
		closedir(f->sweep_dir);
	free(f);
}

GW_CONNECTOR_DEFINE_CHECK("folder", "2.0", folder_init, folder_deliver,
    folder_fini, folder_check);
