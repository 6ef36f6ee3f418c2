/*
 * cfgval.h - the one syntax of configuration values, core and connectors
 *
 * The value parsers of gatewayd.yaml(5) ("VALUES"), used by cfg.c for the
 * core's keys and by the worker (capi.c, gw_node_bool() and its siblings
 * in <gatewayd/connector.h>) for the connectors' settings, so that every
 * key of the file takes the same spelling:
 *
 *   bool      true, false, yes, no, on, off (any case)
 *   count     decimal digits (0, 25, 10000)
 *   size      a count of bytes with an optional K, M, G or T (any case;
 *             powers of 1024)
 *   duration  a count of seconds with an optional s, m, h or d
 *   hostport  a host name or address with an optional ":port" (1-65535);
 *             an IPv6 address with a port goes in brackets: [2001:db8::1]:25
 *   mode      an octal file mode of 1 to 4 digits, at most 0777
 *
 * No white space, sign, or other suffix; overflow is an error.  Each
 * parser returns 0 and stores the value, or -1 and leaves it.  No I/O,
 * no allocation, no logging.
 */
#ifndef GW_CFGVAL_H
#define GW_CFGVAL_H

#include <stddef.h>

enum cfgval_kind {
	CFGVAL_BOOL,
	CFGVAL_COUNT,
	CFGVAL_SIZE,
	CFGVAL_DURATION,
	CFGVAL_HOSTPORT,
	CFGVAL_MODE
};

int cfgval_bool(const char *, int *);
int cfgval_count(const char *, unsigned long long *);
int cfgval_size(const char *, unsigned long long *);
int cfgval_duration(const char *, unsigned long long *);
/* host into host (NUL-terminated, shorter than hostlen); *port 0 if none */
int cfgval_hostport(const char *, char *host, size_t hostlen,
    unsigned int *port);
int cfgval_mode(const char *, unsigned int *);

/* What a kind accepts, for error messages ("an integer with ..."). */
const char *cfgval_syntax(enum cfgval_kind);
/* "a number from 1 to 100", "a duration from 1s to 1h (...)", ... */
void cfgval_explain(enum cfgval_kind, unsigned long long lo,
    unsigned long long hi, char *buf, size_t len);

#endif
