/*
 * web_http.h - libmicrohttpd's callbacks of gatewayd-web (web_http.c)
 */
#ifndef GW_WEB_HTTP_H
#define GW_WEB_HTTP_H

#include <stddef.h>

#include <microhttpd.h>

enum MHD_Result web_http_handler(void *cls, struct MHD_Connection *conn,
    const char *url, const char *method, const char *version,
    const char *data, size_t *size, void **ctx);
void web_http_done(void *cls, struct MHD_Connection *conn, void **ctx,
    enum MHD_RequestTerminationCode why);

#endif
