/*
 * web_sheet_form.c - a routing sheet's form into a directive
 * (web_sheet_form.h): no I/O, tests/check_web_form.c
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "directive.h"
#include "web_form.h"
#include "web_sheet_form.h"
#include "xmalloc.h"

#define WEB_TITLE_MAX	200
#define WEB_FIELD_MAX	512

const char *const web_sheet_channels[] = { "email", "fax", "folder", NULL };

/* web_sheets_field_ok - printable text of a bounded length */
static int
web_sheets_field_ok(const char *s, size_t max)
{
	if (strlen(s) > max)
		return 0;
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < ' ' || *s == 0x7f)
			return 0;
	return 1;
}

/* web_sheets_channel_ok - one of the channels a user may pick */
static int
web_sheets_channel_ok(const char *ch)
{
	size_t i;

	for (i = 0; web_sheet_channels[i] != NULL; i++)
		if (strcmp(ch, web_sheet_channels[i]) == 0)
			return 1;
	return 0;
}

/* web_sheets_expiry - "YYYY-MM-DD" (end of that day, UTC) or "" (never) */
static int
web_sheets_expiry(const char *s, int64_t *out)
{
	struct tm tm;
	const char *end;

	*out = 0;
	if (s == NULL || *s == '\0')
		return 0;
	memset(&tm, 0, sizeof(tm));
	if ((end = strptime(s, "%Y-%m-%d", &tm)) == NULL || *end != '\0' ||
	    tm.tm_year < 100 || tm.tm_year > 1100)
		return -1;
	tm.tm_hour = 23;
	tm.tm_min = 59;
	tm.tm_sec = 59;
	*out = (int64_t)timegm(&tm);
	return 0;
}

/* web_sheets_row - recipient row i of a form into d; -1 when it is wrong */
static int
web_sheets_row(const struct web_form *f, int i, struct directive *d,
    char *err, size_t errlen)
{
	static const char *const keys[] = { "ch", "addr", "name", "company" };
	const char *v[4];
	struct directive_rcpt *rc;
	char name[32];
	size_t k;

	for (k = 0; k < 4; k++) {
		snprintf(name, sizeof(name), "%s%d", keys[k], i);
		v[k] = web_form_get(f, name);
		if (v[k] == NULL)
			v[k] = "";
		if (!web_sheets_field_ok(v[k], WEB_FIELD_MAX)) {
			snprintf(err, errlen, "Recipient %d: a field is too "
			    "long or holds control characters.", i);
			return -1;
		}
	}
	if (v[0][0] == '\0' && v[1][0] == '\0')
		return 0;		/* an empty row */
	if (!web_sheets_channel_ok(v[0]) || (v[1][0] == '\0' &&
	    strcmp(v[0], "folder") != 0)) {
		snprintf(err, errlen, "Recipient %d: choose e-mail, fax or "
		    "folder, and give the address or number.", i);
		return -1;
	}
	rc = directive_add_rcpt(d, v[0], v[1]);
	if (strcmp(v[0], "fax") == 0 && v[2][0] != '\0')
		directive_rcpt_add_param(rc, "name", v[2]);
	if (strcmp(v[0], "fax") == 0 && v[3][0] != '\0')
		directive_rcpt_add_param(rc, "company", v[3]);
	return 0;
}

/* web_sheets_from_form - a directive from a form (web_sheet_form.h) */
int
web_sheets_from_form(const struct web_form *f, struct directive *d,
    char *err, size_t errlen)
{
	const char *title = web_form_get(f, "title");
	int i;

	memset(d, 0, sizeof(*d));
	if (title == NULL || *title == '\0' ||
	    !web_sheets_field_ok(title, WEB_TITLE_MAX)) {
		snprintf(err, errlen, "Give a title of at most %d characters.",
		    WEB_TITLE_MAX);
		return -1;
	}
	d->title = xstrdup(title);
	if (web_sheets_expiry(web_form_get(f, "expires"), &d->expires) == -1) {
		snprintf(err, errlen, "The expiry date must be a date "
		    "(YYYY-MM-DD), or empty for none.");
		return -1;
	}
	for (i = 1; i <= WEB_RCPT_MAX; i++)
		if (web_sheets_row(f, i, d, err, errlen) == -1)
			return -1;
	if (d->nrcpt == 0) {
		snprintf(err, errlen, "Give at least one recipient.");
		return -1;
	}
	return 0;
}
