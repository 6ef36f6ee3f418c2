/*
 * proxy.c - HAProxy PROXY protocol header parser (see proxy.h)
 *
 * Version 1: "PROXY TCP4|TCP6 src dst sport dport\r\n" or
 * "PROXY UNKNOWN ...\r\n", at most 107 bytes, single spaces.
 * Version 2: the 12-byte signature, version/command, family/protocol,
 * a 16-bit length, then the addresses (and TLVs, ignored).  Only TCP over
 * IPv4/IPv6 is accepted for the PROXY command; LOCAL and AF_UNSPEC mean
 * "use the connection's own address" (health checks).
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>

#include "proxy.h"

static const unsigned char proxy_sig[12] = {
	0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a
};

/* proxy_fail - set the reason, return -1 */
static int
proxy_fail(const char **err, const char *why)
{
	if (err != NULL)
		*err = why;
	return -1;
}

/* proxy_need - see proxy.h */
int
proxy_need(const unsigned char *buf, size_t have, const char **err)
{
	size_t len, cmp;

	if (have == 0)
		return 1;
	if (buf[0] == 'P') {
		cmp = have < 6 ? have : 6;
		if (memcmp(buf, "PROXY ", cmp) != 0)
			return proxy_fail(err, "not a PROXY header");
		if (have >= 2 && buf[have - 2] == '\r' && buf[have - 1] == '\n')
			return 0;
		if (have >= PROXY_V1_MAX)
			return proxy_fail(err, "PROXY v1 header too long");
		return 1;
	}
	cmp = have < sizeof(proxy_sig) ? have : sizeof(proxy_sig);
	if (memcmp(buf, proxy_sig, cmp) != 0)
		return proxy_fail(err, "not a PROXY header");
	if (have < PROXY_V2_HDR)
		return (int)(PROXY_V2_HDR - have);
	len = ((size_t)buf[14] << 8) | buf[15];
	if (len > PROXY_V2_MAXLEN)
		return proxy_fail(err, "PROXY v2 header too long");
	if (have > PROXY_V2_HDR + len)
		return proxy_fail(err, "PROXY v2 header overrun");
	return (int)(PROXY_V2_HDR + len - have);
}

/* proxy_port - decimal port 0..65535 without leading zeros */
static int
proxy_port(const char *s, size_t len, uint16_t *out)
{
	unsigned long v = 0;
	size_t i;

	if (len == 0 || len > 5 || (len > 1 && s[0] == '0'))
		return -1;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v > 65535)
		return -1;
	*out = (uint16_t)v;
	return 0;
}

/* proxy_v1_addr - one textual address and port into a sockaddr */
static int
proxy_v1_addr(int af, const char *a, size_t alen, const char *p, size_t plen,
    struct sockaddr_storage *ss)
{
	char text[INET6_ADDRSTRLEN];
	uint16_t port;

	if (alen == 0 || alen >= sizeof(text) || proxy_port(p, plen, &port) == -1)
		return -1;
	memcpy(text, a, alen);
	text[alen] = '\0';
	memset(ss, 0, sizeof(*ss));
	if (af == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		return inet_pton(AF_INET, text, &sin->sin_addr) == 1 ? 0 : -1;
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		return inet_pton(AF_INET6, text, &sin6->sin6_addr) == 1 ? 0 : -1;
	}
}

/* proxy_parse_v1 - "PROXY TCP4 src dst sport dport\r\n" */
static int
proxy_parse_v1(const char *s, size_t len, struct proxy_info *pi,
    const char **err)
{
	const char *tok[6], *p = s, *end = s + len - 2;
	size_t toklen[6], n = 0;
	int af;

	if (len < 8 || s[len - 2] != '\r' || s[len - 1] != '\n' ||
	    memchr(s, '\n', len - 1) != NULL || memchr(s, '\r', len - 2) != NULL)
		return proxy_fail(err, "bad PROXY v1 line");
	while (p < end) {
		const char *q = memchr(p, ' ', (size_t)(end - p));

		if (q == NULL)
			q = end;
		if (n == 6 || q == p)
			return proxy_fail(err, "bad PROXY v1 fields");
		tok[n] = p;
		toklen[n++] = (size_t)(q - p);
		p = q < end ? q + 1 : q;
		if (q < end && p == end)
			return proxy_fail(err, "bad PROXY v1 fields");
	}
	if (n >= 2 && toklen[1] == 7 && memcmp(tok[1], "UNKNOWN", 7) == 0) {
		pi->local = 1;
		return 0;
	}
	if (n != 6 || toklen[1] != 4)
		return proxy_fail(err, "bad PROXY v1 fields");
	if (memcmp(tok[1], "TCP4", 4) == 0)
		af = AF_INET;
	else if (memcmp(tok[1], "TCP6", 4) == 0)
		af = AF_INET6;
	else
		return proxy_fail(err, "unknown PROXY v1 protocol");
	if (proxy_v1_addr(af, tok[2], toklen[2], tok[4], toklen[4], &pi->src) == -1 ||
	    proxy_v1_addr(af, tok[3], toklen[3], tok[5], toklen[5], &pi->dst) == -1)
		return proxy_fail(err, "bad PROXY v1 address or port");
	return 0;
}

/* proxy_parse_v2 - the binary form */
static int
proxy_parse_v2(const unsigned char *b, size_t len, struct proxy_info *pi,
    const char **err)
{
	size_t alen = ((size_t)b[14] << 8) | b[15];
	const unsigned char *a = b + PROXY_V2_HDR;

	if (len != PROXY_V2_HDR + alen || memcmp(b, proxy_sig, 12) != 0)
		return proxy_fail(err, "bad PROXY v2 header");
	if ((b[12] & 0xf0) != 0x20)
		return proxy_fail(err, "bad PROXY v2 version");
	if ((b[12] & 0x0f) == 0x00) {		/* LOCAL */
		pi->local = 1;
		return 0;
	}
	if ((b[12] & 0x0f) != 0x01)
		return proxy_fail(err, "bad PROXY v2 command");
	memset(&pi->src, 0, sizeof(pi->src));
	memset(&pi->dst, 0, sizeof(pi->dst));
	if (b[13] == 0x00) {			/* UNSPEC */
		pi->local = 1;
		return 0;
	} else if (b[13] == 0x11 && alen >= 12) {	/* TCP over IPv4 */
		struct sockaddr_in *s = (struct sockaddr_in *)&pi->src;
		struct sockaddr_in *d = (struct sockaddr_in *)&pi->dst;

		s->sin_family = d->sin_family = AF_INET;
		memcpy(&s->sin_addr, a, 4);
		memcpy(&d->sin_addr, a + 4, 4);
		memcpy(&s->sin_port, a + 8, 2);
		memcpy(&d->sin_port, a + 10, 2);
	} else if (b[13] == 0x21 && alen >= 36) {	/* TCP over IPv6 */
		struct sockaddr_in6 *s = (struct sockaddr_in6 *)&pi->src;
		struct sockaddr_in6 *d = (struct sockaddr_in6 *)&pi->dst;

		s->sin6_family = d->sin6_family = AF_INET6;
		memcpy(&s->sin6_addr, a, 16);
		memcpy(&d->sin6_addr, a + 16, 16);
		memcpy(&s->sin6_port, a + 32, 2);
		memcpy(&d->sin6_port, a + 34, 2);
	} else
		return proxy_fail(err, "unsupported PROXY v2 address family");
	return 0;
}

/* proxy_parse - decode a complete header */
int
proxy_parse(const unsigned char *buf, size_t len, struct proxy_info *pi,
    const char **err)
{
	memset(pi, 0, sizeof(*pi));
	if (len == 0)
		return proxy_fail(err, "empty PROXY header");
	if (buf[0] == 'P') {
		pi->version = 1;
		if (len > PROXY_V1_MAX || memcmp(buf, "PROXY ", len < 6 ? len : 6))
			return proxy_fail(err, "bad PROXY v1 line");
		return proxy_parse_v1((const char *)buf, len, pi, err);
	}
	pi->version = 2;
	if (len < PROXY_V2_HDR)
		return proxy_fail(err, "short PROXY v2 header");
	return proxy_parse_v2(buf, len, pi, err);
}
