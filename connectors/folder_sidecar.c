/*
 * folder_sidecar.c - the JSON metadata written beside the documents
 *
 *   { "queue_id": "...", "arrival": "2026-11-28T10:00:00Z",
 *     "arrival_unix": 1764324000, "sender": "...", "recipients": [...],
 *     "subject": "...", "message_id": "...", "client_address": "...",
 *     "helo": "...", "router": { "fax": "...", "name": "...",
 *     "company": "..." }, "directory": "2026/11", "files": [ { "name":
 *     "scan.pdf", "original_name": "scan.pdf", "content_type":
 *     "application/pdf", "size": 1234, "sha256": "..." } ],
 *     "notes": "..." }
 *
 * Strings are escaped per RFC 8259; bytes that are not UTF-8 become
 * U+FFFD, so every sidecar parses.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <glib.h>

#include <gatewayd/connector.h>

#include "folder.h"

/* json_str - append s as a JSON string (null when s is NULL) */
static void
json_str(GString *g, const char *s)
{
	const char *end;

	if (s == NULL) {
		g_string_append(g, "null");
		return;
	}
	g_string_append_c(g, '"');
	while (*s != '\0') {
		g_utf8_validate(s, -1, &end);	/* end: first bad byte */
		for (; s < end; s++) {
			unsigned char c = (unsigned char)*s;

			if (c == '"' || c == '\\')
				g_string_append_printf(g, "\\%c", c);
			else if (c < 0x20 || c == 0x7f)
				g_string_append_printf(g, "\\u%04x", c);
			else
				g_string_append_c(g, (char)c);
		}
		if (*s != '\0') {
			g_string_append(g, "\\ufffd");
			s++;
		}
	}
	g_string_append_c(g, '"');
}

/* json_kv - "key": string, */
static void
json_kv(GString *g, const char *key, const char *v, int comma)
{
	g_string_append_printf(g, "  \"%s\": ", key);
	json_str(g, v);
	g_string_append(g, comma ? ",\n" : "\n");
}

/* json_router - the router's fields that are set */
static void
json_router(GString *g, const struct folder_fields *fl)
{
	static const char *const keys[] = { "fax", "name", "company", NULL };
	const char *v;
	int i, n = 0;

	g_string_append(g, "  \"router\": {");
	for (i = 0; keys[i] != NULL && fl->param != NULL; i++) {
		if ((v = fl->param(fl->param_ctx, keys[i])) == NULL)
			continue;
		g_string_append_printf(g, "%s\"%s\": ", n++ ? ", " : " ",
		    keys[i]);
		json_str(g, v);
	}
	g_string_append(g, n ? " },\n" : "},\n");
}

/* json_files - the documents first..first+n of out */
static void
json_files(GString *g, const struct folder_out *out, size_t first, size_t n)
{
	const struct folder_file *ff;
	size_t i, k = 0;

	g_string_append(g, "  \"files\": [");
	for (i = first; i < first + n && i < out->nfiles; i++) {
		ff = &out->files[i];
		if (ff->content_type == NULL)
			continue;	/* a sidecar */
		g_string_append(g, k++ ? ",\n    { \"name\": " :
		    "\n    { \"name\": ");
		json_str(g, ff->name);
		g_string_append(g, ", \"original_name\": ");
		json_str(g, ff->orig_name);
		g_string_append(g, ", \"content_type\": ");
		json_str(g, ff->content_type);
		g_string_append_printf(g, ", \"size\": %lld, \"sha256\": \"%s\" }",
		    (long long)ff->size, ff->sha256);
	}
	g_string_append(g, k ? "\n  ],\n" : "],\n");
}

/* folder_sidecar_json - the sidecar text (g_free it); *len its length */
char *
folder_sidecar_json(const struct gw_envelope *env, const struct folder_msg *m,
    const struct folder_fields *fl, const char *const *rcpts, size_t nrcpt,
    const struct folder_out *out, size_t first, size_t n, size_t *len)
{
	GString *g = g_string_new("{\n");
	char when[64];
	struct tm tm;
	size_t i;

	gmtime_r(&env->arrival, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	json_kv(g, "queue_id", env->queue_id, 1);
	json_kv(g, "arrival", when, 1);
	g_string_append_printf(g, "  \"arrival_unix\": %lld,\n",
	    (long long)env->arrival);
	json_kv(g, "sender", env->sender, 1);
	g_string_append(g, "  \"recipients\": [");
	for (i = 0; i < nrcpt; i++) {
		g_string_append(g, i ? ", " : "");
		json_str(g, rcpts[i]);
	}
	g_string_append(g, "],\n");
	json_kv(g, "subject", m->subject, 1);
	json_kv(g, "message_id", m->message_id, 1);
	json_kv(g, "client_address", env->client_addr, 1);
	json_kv(g, "helo", env->helo, 1);
	json_router(g, fl);
	json_kv(g, "directory", out->dir, 1);
	json_files(g, out, first, n);
	json_kv(g, "notes", m->notes, 0);
	g_string_append(g, "}\n");
	*len = g->len;
	return g_string_free(g, FALSE);
}
