/*
 * proxy.h - HAProxy PROXY protocol header parser (versions 1 and 2)
 *
 * A listener with proxy_protocol reads this header before anything else
 * and, if the peer is a trusted proxy, uses the client address it carries
 * for policy, logs and the Received: header.  The receiver reads the
 * header without ever reading past it: proxy_need() says how many more
 * bytes belong to it (one at a time for the text form, exact counts for
 * the binary form), proxy_parse() decodes a complete header.  Pure
 * functions over (buffer, length): no allocation, no I/O.
 */
#ifndef GW_PROXY_H
#define GW_PROXY_H

#include <stddef.h>
#include <sys/socket.h>

#define PROXY_V1_MAX	107		/* text header, CRLF included */
#define PROXY_V2_HDR	16		/* fixed part of the binary header */
#define PROXY_V2_MAXLEN	2048		/* address block + TLVs we accept */
#define PROXY_MAX	(PROXY_V2_HDR + PROXY_V2_MAXLEN)

struct proxy_info {
	int version;			/* 1 or 2 */
	int local;			/* LOCAL/UNKNOWN: keep the peer's own address */
	struct sockaddr_storage src;	/* the client, when !local */
	struct sockaddr_storage dst;
};

/*
 * How many more bytes to read for the header that starts with the have
 * bytes in buf: >0 read that many (at most), 0 the header is complete,
 * -1 this is not a valid header (*err set).
 */
int proxy_need(const unsigned char *buf, size_t have, const char **err);
/* Decode a complete header of exactly len bytes: 0, or -1 with *err. */
int proxy_parse(const unsigned char *buf, size_t len, struct proxy_info *,
    const char **err);

#endif
