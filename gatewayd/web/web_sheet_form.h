/*
 * web_sheet_form.h - the form of a routing sheet, parsed into a directive
 *
 * Fields: title (1..200 printable characters), expires (YYYY-MM-DD, the
 * end of that day UTC, or empty for never), and recipient rows i = 1 ..
 * WEB_RCPT_MAX: ch<i> (email, fax or folder), addr<i> (needed but for a
 * folder), name<i> and company<i> (a fax's cover, as the parameters
 * "name" and "company").  An empty row is skipped; at least one
 * recipient is needed.  Control characters are refused everywhere.
 */
#ifndef GW_WEB_SHEET_FORM_H
#define GW_WEB_SHEET_FORM_H

#include <stddef.h>

struct directive;
struct web_form;

#define WEB_RCPT_MAX	20		/* recipient rows a form may carry */

/* The channels a user may pick, NULL-terminated. */
extern const char *const web_sheet_channels[];

/*
 * A directive from a form; 0, or -1 with what is wrong in err (for the
 * user).  d is cleared first; free it with directive_clear either way.
 */
int web_sheets_from_form(const struct web_form *, struct directive *d,
    char *err, size_t errlen);

#endif
