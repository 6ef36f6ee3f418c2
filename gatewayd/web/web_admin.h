/*
 * web_admin.h - the queue console of gatewayd-web (admins only)
 */
#ifndef GW_WEB_ADMIN_H
#define GW_WEB_ADMIN_H

struct web_req;

/*
 * rest is the path after "/admin": "" (status, counters, pause and
 * resume), "/queue", "/message", "/confirm", "/action" (POST).  The
 * session is there (and, for a POST, its CSRF token was checked).
 */
void web_admin(struct web_req *, const char *rest);

#endif
