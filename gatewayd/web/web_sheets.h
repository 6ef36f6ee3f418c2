/*
 * web_sheets.h - "My routing sheets": the directive pages of gatewayd-web
 */
#ifndef GW_WEB_SHEETS_H
#define GW_WEB_SHEETS_H

#include <stddef.h>

struct web_req;
struct web_form;
struct directive;

#define WEB_RCPT_MAX	20		/* recipient rows a form may carry */

/*
 * rest is the path after "/sheets": "" (the list), "/new", "/ID",
 * "/ID/delete", "/ID/sheet.pdf".  The session is there (and, for a
 * POST, its CSRF token was checked).
 */
void web_sheets(struct web_req *, const char *rest);

/*
 * A directive from the fields of a form (title, expires, ch1/addr1/
 * name1/company1 ... up to WEB_RCPT_MAX); 0, or -1 with what is wrong in
 * err.  d is cleared first; free it with directive_clear.
 */
int web_sheets_from_form(const struct web_form *, struct directive *d,
    char *err, size_t errlen);

#endif
