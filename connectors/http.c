/*
 * http.c - the "http" connector: POST each document as multipart/form-data
 *
 * For document management systems (paperless-ngx's
 * /api/documents/post_document/, Mayan, a webhook): one POST to url per
 * document, the document as the file part named file_field (default
 * "document", with its name from file_template and its content type),
 * and beside it the metadata the folder connector's sidecar has, each as
 * a text part: queue_id, arrival, arrival_unix, sender, recipients (one
 * part per recipient), subject, message_id, client_address, helo,
 * filename, original_name, content_type, size, sha256, counter, and the
 * router's fax, name and company.  "fields" maps the ones to send to the
 * form's names (without it every one but the router's is sent under its
 * own name; naming a router field sends one POST per recipient);
 * "static_fields" adds fixed parts (paperless tags, a correspondent).
 * Shared settings, TLS, authentication and the status mapping are
 * web_*.c's (web.h); see gatewayd-connector(3).
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "web.h"

#define HTTP_NAME_MAX	128		/* a form field's name */
#define HTTP_FIELDS_MAX	64		/* fields plus static_fields */

/* The metadata a document can carry, as the sidecar names it. */
static const char *const http_meta_keys[] = {
	"queue_id", "arrival", "arrival_unix", "sender", "recipients",
	"subject", "message_id", "client_address", "helo", "filename",
	"original_name", "content_type", "size", "sha256", "counter",
	"fax", "name", "company", NULL
};
#define HTTP_ROUTER_FIRST	15	/* fax, name, company: per recipient */

/* A form part: metadata key (or NULL: a static value) and form name. */
struct http_field {
	int meta;			/* index in http_meta_keys, or -1 */
	char name[HTTP_NAME_MAX];
	const char *value;		/* static: the setting's text */
};

struct http {
	struct web web;
	char file_field[HTTP_NAME_MAX];
	struct http_field fields[HTTP_FIELDS_MAX];
	size_t nfields;
	int fields_set;
};

/* One delivery: the instance and its handle. */
struct http_run {
	const struct http *h;
	struct web_req rq;
};

#define WHERE(n)	((n)->file ? (n)->file : "config"), (n)->line, (n)->column

/* field_name - a form name: printable ASCII without quotes; -1 with err */
static int
field_name(const struct gw_node *n, const char *v, char *out, size_t outlen,
    char *err, size_t errlen)
{
	size_t i, len = v ? strlen(v) : 0;

	for (i = 0; i < len; i++)
		if (v[i] <= 0x20 || v[i] >= 0x7f || v[i] == '"' || v[i] == '\\')
			break;
	if (len == 0 || i < len || len >= outlen) {
		snprintf(err, errlen, "%s:%u:%u: http: a form field name must "
		    "be 1 to %zu printable characters without spaces, quotes "
		    "or backslashes", WHERE(n), outlen - 1);
		return -1;
	}
	memcpy(out, v, len + 1);
	return 0;
}

/* add_field - one more form part; -1 with err */
static int
add_field(struct http *h, const struct gw_node *n, int meta, const char *name,
    const char *value, char *err, size_t errlen)
{
	struct http_field *f;

	if (h->nfields == HTTP_FIELDS_MAX) {
		snprintf(err, errlen, "%s:%u:%u: http: at most %d fields",
		    WHERE(n), HTTP_FIELDS_MAX);
		return -1;
	}
	f = &h->fields[h->nfields];
	if (field_name(n, name, f->name, sizeof(f->name), err, errlen) == -1)
		return -1;
	f->meta = meta;
	f->value = value;
	h->nfields++;
	return 0;
}

/* cfg_fields - "fields": { metadata key: form name, ... }; -1 with err */
static int
cfg_fields(struct http *h, const struct gw_node *map, char *err,
    size_t errlen)
{
	const struct gw_node *n;
	int i;

	if (map->type != GW_NODE_MAP)
		goto bad;
	for (n = map->child; n != NULL; n = n->next) {
		for (i = 0; http_meta_keys[i] != NULL; i++)
			if (strcmp(n->key, http_meta_keys[i]) == 0)
				break;
		if (http_meta_keys[i] == NULL || n->type != GW_NODE_SCALAR) {
			snprintf(err, errlen, "%s:%u:%u: http: fields: '%s' is "
			    "not metadata (known: queue_id, arrival, "
			    "arrival_unix, sender, recipients, subject, "
			    "message_id, client_address, helo, filename, "
			    "original_name, content_type, size, sha256, "
			    "counter, fax, name, company) or has no form name",
			    WHERE(n), n->key);
			return -1;
		}
		if (add_field(h, n, i, n->value, NULL, err, errlen) == -1)
			return -1;
		if (i >= HTTP_ROUTER_FIRST)
			h->web.docs.per_rcpt = 1;
	}
	h->fields_set = 1;
	return 0;
bad:
	snprintf(err, errlen, "%s:%u:%u: http: fields must be a map of "
	    "metadata to form field names", WHERE(map));
	return -1;
}

/* cfg_static - "static_fields": { name: value or [values] }; -1 with err */
static int
cfg_static(struct http *h, const struct gw_node *map, char *err,
    size_t errlen)
{
	const struct gw_node *n, *v;

	if (map->type != GW_NODE_MAP) {
		snprintf(err, errlen, "%s:%u:%u: http: static_fields must be a "
		    "map of form field names to values", WHERE(map));
		return -1;
	}
	for (n = map->child; n != NULL; n = n->next) {
		if (n->type == GW_NODE_SCALAR) {
			if (add_field(h, n, -1, n->key, n->value, err,
			    errlen) == -1)
				return -1;
			continue;
		}
		if (n->type != GW_NODE_SEQ || n->child == NULL)
			goto bad;
		for (v = n->child; v != NULL; v = v->next) {
			if (v->type != GW_NODE_SCALAR)
				goto bad;
			if (add_field(h, n, -1, n->key, v->value, err,
			    errlen) == -1)
				return -1;
		}
	}
	return 0;
bad:
	snprintf(err, errlen, "%s:%u:%u: http: static_fields: %s must be a "
	    "value or a list of values", WHERE(n), n->key);
	return -1;
}

/* http_key - one setting; 1 applied, 0 unknown, -1 with err */
static int
http_key(struct http *h, const struct gw_node *n, char *err, size_t errlen)
{
	if (n->key == NULL)
		return 0;
	if (strcmp(n->key, "file_field") == 0)
		return field_name(n, n->type == GW_NODE_SCALAR ? n->value :
		    NULL, h->file_field, sizeof(h->file_field), err,
		    errlen) == -1 ? -1 : 1;
	if (strcmp(n->key, "fields") == 0)
		return cfg_fields(h, n, err, errlen) == -1 ? -1 : 1;
	if (strcmp(n->key, "static_fields") == 0)
		return cfg_static(h, n, err, errlen) == -1 ? -1 : 1;
	if (strcmp(n->key, "path_template") == 0)
		return 0;	/* nothing to name: no directories */
	return web_config_key(&h->web, n, err, errlen);
}

/* http_default_fields - without "fields": every one but the router's */
static void
http_default_fields(struct http *h)
{
	int i;

	for (i = 0; i < HTTP_ROUTER_FIRST && h->nfields < HTTP_FIELDS_MAX;
	    i++) {
		h->fields[h->nfields].meta = i;
		snprintf(h->fields[h->nfields].name, HTTP_NAME_MAX, "%s",
		    http_meta_keys[i]);
		h->fields[h->nfields++].value = NULL;
	}
}

/*
 * http_parse - the settings of init() and check(), one code path: every
 * key, the cross-checks and the files (as check() may, when checking)
 */
static struct http *
http_parse(const struct gw_node *settings, int checking, char *err,
    size_t errlen)
{
	const struct gw_node *n;
	struct http *h;
	int r;

	if (settings == NULL || settings->type != GW_NODE_MAP) {
		snprintf(err, errlen, "http: settings with a url are required");
		return NULL;
	}
	if ((h = calloc(1, sizeof(*h))) == NULL) {
		snprintf(err, errlen, "http: out of memory");
		return NULL;
	}
	web_config_init(&h->web, "http");
	h->web.allow_query = 1;
	h->web.checking = checking;
	snprintf(h->file_field, sizeof(h->file_field), "document");
	for (n = settings->child, r = 1; n != NULL && r == 1; n = n->next)
		if ((r = http_key(h, n, err, errlen)) == 0)
			snprintf(err, errlen, "%s:%u:%u: http: unknown setting "
			    "'%s' (known: url, auth, auth_file, tls_verify, "
			    "ca_file, connect_timeout, timeout, store, "
			    "file_field, fields, static_fields, file_template, "
			    "charset, name_max, body, messages, timezone, "
			    "max_depth, max_parts)", WHERE(n),
			    n->key ? n->key : "");
	if (r == 1 && !h->fields_set)
		http_default_fields(h);
	if (r != 1 || web_config_finish(&h->web, settings, err, errlen) == -1) {
		web_config_free(&h->web);
		free(h);
		return NULL;
	}
	return h;
}

/* http_init - parse the settings; read the secret and the CA file */
static int
http_init(const struct gw_node *settings, void **ctx, char *err,
    size_t errlen)
{
	struct http *h;

	if ((h = http_parse(settings, 0, err, errlen)) == NULL)
		return -1;
	if (web_curl_global(err, errlen) == -1) {
		web_config_free(&h->web);
		free(h);
		return -1;
	}
	folder_mime_init();
	*ctx = h;
	return 0;
}

/*
 * http_check - the settings as http_init() parses them, nothing started
 * and no secret kept (gatewayd -n, gatewayctl check: run in a worker as
 * the gateway's user; see web_config.c for the files)
 */
static int
http_check(const struct gw_node *settings, char *err, size_t errlen)
{
	struct http *h;

	if ((h = http_parse(settings, 1, err, errlen)) == NULL)
		return -1;
	web_config_free(&h->web);
	free(h);
	return 0;
}

/* meta_value - the text of metadata key i for a document, in buf */
static const char *
meta_value(int i, const struct web_unit *u, const struct web_file *f,
    char *buf, size_t len)
{
	const struct gw_envelope *env = u->env;
	struct tm tm;

	switch (i) {
	case 0: return env->queue_id;
	case 1:
		gmtime_r(&env->arrival, &tm);
		strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
		return buf;
	case 2: snprintf(buf, len, "%lld", (long long)env->arrival); return buf;
	case 3: return env->sender;
	case 5: return u->m->subject;
	case 6: return u->m->message_id;
	case 7: return env->client_addr;
	case 8: return env->helo;
	case 9: return f->name;
	case 10: return f->doc->orig_name;
	case 11: return f->doc->content_type;
	case 12: snprintf(buf, len, "%lld", (long long)f->src.size); return buf;
	case 13: return f->sha256;
	case 14: snprintf(buf, len, "%u", f->counter); return buf;
	default:
		return i >= HTTP_ROUTER_FIRST ? gw_rcpt_param(
		    env->rcpt[u->idx[0]], http_meta_keys[i]) : NULL;
	}
}

/* add_text - one text part; -1 if libcurl refuses it */
static int
add_text(curl_mime *mime, const char *name, const char *value)
{
	curl_mimepart *p;

	if (value == NULL || value[0] == '\0')
		return 0;	/* unknown metadata: no part */
	if ((p = curl_mime_addpart(mime)) == NULL ||
	    curl_mime_name(p, name) != CURLE_OK ||
	    curl_mime_data(p, value, CURL_ZERO_TERMINATED) != CURLE_OK)
		return -1;
	return 0;
}

/* add_fields - the static and metadata parts of one document */
static int
add_fields(const struct http *h, curl_mime *mime, const struct web_unit *u,
    const struct web_file *f)
{
	const struct http_field *fd;
	char buf[64];
	size_t i, k;
	int r = 0;

	for (i = 0; i < h->nfields && r == 0; i++) {
		fd = &h->fields[i];
		if (fd->meta == 4) {	/* recipients: one part each */
			for (k = 0; k < u->n && r == 0; k++)
				r = add_text(mime, fd->name, gw_rcpt_address(
				    u->env->rcpt[u->idx[k]]));
		} else
			r = add_text(mime, fd->name, fd->meta < 0 ? fd->value :
			    meta_value(fd->meta, u, f, buf, sizeof(buf)));
	}
	return r;
}

/* add_file - the document's part, read from its memory file */
static int
add_file(const struct http *h, curl_mime *mime, const struct web_file *f,
    struct web_src *src)
{
	curl_mimepart *p;

	if ((p = curl_mime_addpart(mime)) == NULL ||
	    curl_mime_name(p, h->file_field) != CURLE_OK ||
	    curl_mime_filename(p, f->name) != CURLE_OK ||
	    curl_mime_type(p, f->doc->content_type ? f->doc->content_type :
	    "application/octet-stream") != CURLE_OK ||
	    curl_mime_data_cb(p, (curl_off_t)src->size, web_src_read,
	    web_src_seek, NULL, src) != CURLE_OK)
		return -1;
	return 0;
}

/* http_send - POST one document with its fields */
static int
http_send(void *ctx, const struct web_unit *u, const struct web_file *f,
    struct web_result *res)
{
	struct http_run *run = ctx;
	struct web_src src = f->src;
	curl_mime *mime;

	if ((mime = curl_mime_init(run->rq.h)) == NULL ||
	    add_fields(run->h, mime, u, f) == -1 ||
	    add_file(run->h, mime, f, &src) == -1 ||
	    curl_easy_setopt(run->rq.h, CURLOPT_MIMEPOST, mime) != CURLE_OK) {
		curl_mime_free(mime);
		web_result_set(res, GW_RESULT_TEMPFAIL, 451, "4.3.0");
		snprintf(res->text, sizeof(res->text), "http: libcurl refused "
		    "the form of %s", f->name);
		return -1;
	}
	(void)web_req_run(&run->rq, "POST", run->h->web.url, res);
	curl_easy_setopt(run->rq.h, CURLOPT_MIMEPOST, NULL);
	curl_mime_free(mime);
	return res->result == GW_RESULT_OK ? 0 : -1;
}

/* http_deliver - one handle for the delivery's requests */
static void
http_deliver(void *ctx, const struct gw_envelope *env, struct gw_message *msg)
{
	struct http_run run;

	run.h = ctx;
	web_doc_deliver(&run.h->web, env, msg, &run.rq, http_send, &run);
}

/* http_fini - wipe the secret, free the settings */
static void
http_fini(void *ctx)
{
	struct http *h = ctx;

	if (h == NULL)
		return;
	web_config_free(&h->web);
	free(h);
	web_curl_global_end();
}

GW_CONNECTOR_DEFINE_CHECK("http", "1.0", http_init, http_deliver, http_fini,
    http_check);
