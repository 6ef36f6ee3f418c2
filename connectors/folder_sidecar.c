/*
 * folder_sidecar.c - the JSON metadata written beside the documents
 *
 *   { "queue_id": "...", "arrival": "2026-11-28T10:00:00Z",
 *     "arrival_unix": 1764324000, "sender": "...", "recipients": [...],
 *     "subject": "...", "message_id": "...", "client_address": "...",
 *     "helo": "...", "router": { "fax": "...", "name": "...",
 *     "company": "..." }, "sheet": { "kind": "directive", "directive":
 *     "...", "page": "1", "pages": "1-3", "part": "1/2", "scan": "<qid>" },
 *     "directory": "2026/11", "files": [ { "name":
 *     "scan.pdf", "original_name": "scan.pdf", "content_type":
 *     "application/pdf", "size": 1234, "sha256": "..." } ],
 *     "notes": "..." }
 *
 * Written with the tree's one JSON writer (gatewayd/lib/textout.c, compiled
 * into the connector): valid UTF-8 JSON whatever the message says,
 * control and C1 characters escaped, bytes that are not UTF-8 as U+FFFD.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gatewayd/connector.h>

#include "folder.h"
#include "textout.h"

/* sidecar_router - the router's fields that are set */
static void
sidecar_router(struct textout_json *j, const struct folder_fields *fl)
{
	static const char *const keys[] = { "fax", "name", "company", NULL };
	const char *v;
	int i;

	textout_json_object(j, "router");
	for (i = 0; keys[i] != NULL && fl->param != NULL; i++)
		if ((v = fl->param(fl->param_ctx, keys[i])) != NULL)
			textout_json_str(j, keys[i], v);
	textout_json_close(j);
}

/*
 * sidecar_sheet - the routing sheet of a scan's part (the router's sheet
 * parameters): { "kind", "directive", "page", "pages", "part", "scan" }
 */
static void
sidecar_sheet(struct textout_json *j, const struct folder_fields *fl)
{
	static const char *const keys[][2] = { { "sheet", "kind" },
	    { "sheet-directive", "directive" }, { "sheet-page", "page" },
	    { "sheet-pages", "pages" }, { "sheet-part", "part" },
	    { "sheet-scan", "scan" }, { NULL, NULL } };
	const char *v;
	int i;

	if (fl->param == NULL || fl->param(fl->param_ctx, "sheet") == NULL)
		return;
	textout_json_object(j, "sheet");
	for (i = 0; keys[i][0] != NULL; i++)
		if ((v = fl->param(fl->param_ctx, keys[i][0])) != NULL)
			textout_json_str(j, keys[i][1], v);
	textout_json_close(j);
}

/* sidecar_files - the documents first..first+n of out */
static void
sidecar_files(struct textout_json *j, const struct folder_out *out,
    size_t first, size_t n)
{
	const struct folder_file *ff;
	size_t i;

	textout_json_array(j, "files");
	for (i = first; i < first + n && i < out->nfiles; i++) {
		ff = &out->files[i];
		if (ff->content_type == NULL)
			continue;	/* a sidecar */
		textout_json_object(j, NULL);
		textout_json_str(j, "name", ff->name);
		textout_json_str(j, "original_name", ff->orig_name);
		textout_json_str(j, "content_type", ff->content_type);
		textout_json_int(j, "size", (long long)ff->size);
		textout_json_str(j, "sha256", ff->sha256);
		textout_json_close(j);
	}
	textout_json_close(j);
}

/* folder_sidecar_json - the sidecar text (free it); *len its length */
char *
folder_sidecar_json(const struct gw_envelope *env, const struct folder_msg *m,
    const struct folder_fields *fl, const char *const *rcpts, size_t nrcpt,
    const struct folder_out *out, size_t first, size_t n, size_t *len)
{
	struct textout_json j;
	char when[64], *text = NULL;
	struct tm tm;
	size_t i;
	FILE *fp;

	if ((fp = open_memstream(&text, len)) == NULL)
		return NULL;
	gmtime_r(&env->arrival, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	textout_json_init(&j, fp);
	textout_json_object(&j, NULL);
	textout_json_str(&j, "queue_id", env->queue_id);
	textout_json_str(&j, "arrival", when);
	textout_json_int(&j, "arrival_unix", (long long)env->arrival);
	textout_json_str(&j, "sender", env->sender);
	textout_json_array(&j, "recipients");
	for (i = 0; i < nrcpt; i++)
		textout_json_str(&j, NULL, rcpts[i]);
	textout_json_close(&j);
	textout_json_str(&j, "subject", m->subject);
	textout_json_str(&j, "message_id", m->message_id);
	textout_json_str(&j, "client_address", env->client_addr);
	textout_json_str(&j, "helo", env->helo);
	sidecar_router(&j, fl);
	sidecar_sheet(&j, fl);
	textout_json_str(&j, "directory", out->dir);
	sidecar_files(&j, out, first, n);
	textout_json_str(&j, "notes", m->notes);
	textout_json_close(&j);
	textout_json_end(&j);
	if (fclose(fp) != 0) {
		free(text);
		return NULL;
	}
	return text;
}
