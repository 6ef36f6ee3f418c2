/*
 * webdav.c - the "webdav" connector: PUT each document on a WebDAV server
 *
 * For Nextcloud, ownCloud, SharePoint, Apache mod_dav, nginx's dav module
 * and any server that takes PUT: each document of the message (its
 * attachments as the folder connector extracts them, the message itself
 * with store: message, or both) is PUT at url/path_template/file_template,
 * names made safe and percent-encoded.  Before the first PUT into a
 * collection in a delivery, the connector makes it: MKCOL of the deepest
 * one, walking up while the server answers 409 Conflict (a parent is
 * missing) until one is made (201) or exists (405), then back down.  Shared settings, TLS, authentication and the status
 * mapping are web_*.c's (web.h); see gatewayd-connector(3).
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "web.h"

/* One delivery: the instance, its handle, the collection known to exist. */
struct webdav_run {
	const struct web *w;
	struct web_req rq;
	char made[FOLDER_TEMPLATE_MAX];
};

/*
 * webdav_parse - the settings of init() and check(), one code path: every
 * key, the cross-checks and the files (as check() may, when checking)
 */
static struct web *
webdav_parse(const struct gw_node *settings, int checking, char *err,
    size_t errlen)
{
	const struct gw_node *n;
	struct web *w;
	int r;

	if (settings == NULL || settings->type != GW_NODE_MAP) {
		snprintf(err, errlen, "webdav: settings with a url are "
		    "required");
		return NULL;
	}
	if ((w = calloc(1, sizeof(*w))) == NULL) {
		snprintf(err, errlen, "webdav: out of memory");
		return NULL;
	}
	web_config_init(w, "webdav");
	w->checking = checking;
	for (n = settings->child, r = 1; n != NULL && r == 1; n = n->next)
		if ((r = web_config_key(w, n, err, errlen)) == 0)
			snprintf(err, errlen, "%s:%u:%u: webdav: unknown "
			    "setting '%s' (known: url, auth, auth_file, "
			    "tls_verify, ca_file, connect_timeout, timeout, "
			    "store, path_template, file_template, charset, "
			    "name_max, body, messages, timezone, max_depth, "
			    "max_parts)", n->file ? n->file : "config",
			    n->line, n->column, n->key ? n->key : "");
	if (r != 1 || web_config_finish(w, settings, err, errlen) == -1) {
		web_config_free(w);
		free(w);
		return NULL;
	}
	return w;
}

/* webdav_init - parse the settings; read the secret and the CA file */
static int
webdav_init(const struct gw_node *settings, void **ctx, char *err,
    size_t errlen)
{
	struct web *w;

	if ((w = webdav_parse(settings, 0, err, errlen)) == NULL)
		return -1;
	if (web_curl_global(err, errlen) == -1) {
		web_config_free(w);
		free(w);
		return -1;
	}
	folder_mime_init();
	*ctx = w;
	return 0;
}

/*
 * webdav_check - the settings as webdav_init() parses them, nothing
 * started and no secret kept (gatewayd -n, gatewayctl check: run in a
 * worker as the gateway's user; see web_config.c for the files)
 */
static int
webdav_check(const struct gw_node *settings, char *err, size_t errlen)
{
	struct web *w;

	if ((w = webdav_parse(settings, 1, err, errlen)) == NULL)
		return -1;
	web_config_free(w);
	free(w);
	return 0;
}

/* mkcol - MKCOL of the first depth components of dir: its HTTP status or -1 */
static int
mkcol(struct webdav_run *run, const char *dir, size_t depth,
    struct web_result *res)
{
	char path[FOLDER_TEMPLATE_MAX], url[WEB_URL_MAX];
	size_t i, len = 0;

	for (i = 0; i < depth; i++) {
		len += strcspn(dir + len, "/");
		if (i + 1 < depth && dir[len] == '/')
			len++;
	}
	snprintf(path, sizeof(path), "%.*s", (int)len, dir);
	if (web_url_join(run->w->url, path, NULL, 1, url, sizeof(url)) == -1) {
		web_result_set(res, GW_RESULT_PERMFAIL, 550, "5.3.0");
		snprintf(res->text, sizeof(res->text), "webdav: the URL of "
		    "%s is too long", path);
		return -1;
	}
	web_req_plain(&run->rq);
	return web_req_run(&run->rq, "MKCOL", url, res);
}

/*
 * make_collections - walk up from dir until MKCOL makes a collection or
 * finds it (405), then make the ones below; -1 with res
 */
static int
make_collections(struct webdav_run *run, const char *dir,
    struct web_result *res)
{
	size_t depth = 1, d;
	const char *p;
	int code = 409;

	for (p = dir; *p != '\0'; p++)
		depth += *p == '/';
	for (d = depth; d > 0; d--) {
		code = mkcol(run, dir, d, res);
		if (code != 409)
			break;
	}
	if (code != 405 && (code < 200 || code > 299))
		return -1;
	for (d = d + 1; d <= depth; d++)
		if ((code = mkcol(run, dir, d, res)) < 200 || code > 299)
			return -1;
	return 0;
}

/* put - PUT the file's bytes at url: the HTTP status, or -1 */
static int
put(struct webdav_run *run, const char *url, const struct web_file *f,
    struct web_result *res)
{
	struct web_src src = f->src;

	web_req_upload(&run->rq, &src);
	return web_req_run(&run->rq, "PUT", url, res);
}

/*
 * webdav_send - PUT one document; its collection is made first, once per
 * delivery (servers answer a PUT into a missing collection with 409, 404
 * or, nginx, 500: asking first is the portable way)
 */
static int
webdav_send(void *ctx, const struct web_unit *u, const struct web_file *f,
    struct web_result *res)
{
	struct webdav_run *run = ctx;
	char url[WEB_URL_MAX];

	if (web_url_join(run->w->url, u->dir, f->name, 0, url,
	    sizeof(url)) == -1) {
		web_result_set(res, GW_RESULT_PERMFAIL, 550, "5.3.0");
		snprintf(res->text, sizeof(res->text), "webdav: the URL of "
		    "%s/%s is too long", u->dir, f->name);
		return -1;
	}
	if (u->dir[0] != '\0' && strcmp(run->made, u->dir) != 0) {
		if (make_collections(run, u->dir, res) == -1)
			return -1;
		snprintf(run->made, sizeof(run->made), "%s", u->dir);
	}
	(void)put(run, url, f, res);
	return res->result == GW_RESULT_OK ? 0 : -1;
}

/* webdav_deliver - one handle for the delivery's requests */
static void
webdav_deliver(void *ctx, const struct gw_envelope *env,
    struct gw_message *msg)
{
	struct webdav_run run;

	run.w = ctx;
	run.made[0] = '\0';
	web_doc_deliver(run.w, env, msg, &run.rq, webdav_send, &run);
}

/* webdav_fini - wipe the secret, free the settings */
static void
webdav_fini(void *ctx)
{
	if (ctx == NULL)
		return;
	web_config_free(ctx);
	free(ctx);
	web_curl_global_end();
}

GW_CONNECTOR_DEFINE_CHECK("webdav", "1.0", webdav_init, webdav_deliver,
    webdav_fini, webdav_check);
