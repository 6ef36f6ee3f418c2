/*
 * web_sheets.h - "My routing sheets": the directive pages of gatewayd-web
 */
#ifndef GW_WEB_SHEETS_H
#define GW_WEB_SHEETS_H

#include <stddef.h>

struct web_req;

/*
 * rest is the path after "/sheets": "" (the list), "/new", "/ID",
 * "/ID/delete", "/ID/sheet.pdf", "/separator.pdf".  The session is there (and, for a
 * POST, its CSRF token was checked).
 */
void web_sheets(struct web_req *, const char *rest);

#endif
