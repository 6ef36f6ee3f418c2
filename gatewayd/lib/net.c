/*
 * net.c - address lists (CIDR networks and host names) and socket helpers
 *
 * An address list holds networks in CIDR form; a host name is resolved
 * once, when the list is built, into one /32 or /128 entry per address,
 * so matching never touches the resolver.  In an FCrDNS list
 * (net_list_add_fcrdns: relay.allow, anonymous_allow) host names are kept
 * as names instead, and the receiver matches the client's
 * forward-confirmed reverse DNS name against them (receiver_dns.h).  An IPv4-mapped IPv6 address
 * (::ffff:a.b.c.d) counts as the IPv4 address it carries, both in a list
 * and in an address being matched, so IPv4 networks work on a dual-stack
 * socket.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "net.h"
#include "xmalloc.h"

#define NET_HOST_MAX	253
#define NET_LABEL_MAX	63

static const uint8_t net_v4mapped[12] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
};

/* net_cidr_unmap - turn a v4-mapped IPv6 network into the IPv4 network */
static void
net_cidr_unmap(struct net_cidr *c)
{
	if (c->family != AF_INET6 || c->prefix < 96 ||
	    memcmp(c->addr, net_v4mapped, sizeof(net_v4mapped)) != 0)
		return;
	memmove(c->addr, c->addr + 12, 4);
	memset(c->addr + 4, 0, 12);
	c->family = AF_INET;
	c->prefix -= 96;
}

/* net_cidr_parse - parse "a.b.c.d[/n]" or "x:y::z[/n]" */
int
net_cidr_parse(const char *s, struct net_cidr *c)
{
	char buf[INET6_ADDRSTRLEN + 8], *slash, *end;
	long prefix;
	int max;

	if (s == NULL || strlen(s) >= sizeof(buf))
		return -1;
	memcpy(buf, s, strlen(s) + 1);
	memset(c, 0, sizeof(*c));
	if ((slash = strchr(buf, '/')) != NULL)
		*slash++ = '\0';
	if (inet_pton(AF_INET, buf, c->addr) == 1) {
		c->family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, buf, c->addr) == 1) {
		c->family = AF_INET6;
		max = 128;
	} else
		return -1;
	c->prefix = max;
	if (slash != NULL) {
		if (!isdigit((unsigned char)*slash) || strlen(slash) > 3)
			return -1;
		errno = 0;
		prefix = strtol(slash, &end, 10);
		if (errno != 0 || *end != '\0' || prefix > max)
			return -1;
		c->prefix = (int)prefix;
	}
	net_cidr_unmap(c);
	return 0;
}

/*
 * net_domain_valid - is s a domain name (LDH labels of 1..63 octets, at
 * most 253)?  need_alpha: a host name, which all digits cannot be
 */
int
net_domain_valid(const char *s, int need_alpha)
{
	size_t len = strlen(s), label = 0;
	int alpha = 0;
	const char *p;

	if (len == 0 || len > NET_HOST_MAX)
		return 0;
	for (p = s; *p != '\0'; p++) {
		if (*p == '.') {
			if (label == 0 || p[-1] == '-')
				return 0;
			label = 0;
			continue;
		}
		if (!isalnum((unsigned char)*p) && *p != '-')
			return 0;
		if (*p == '-' && label == 0)
			return 0;
		if (isalpha((unsigned char)*p))
			alpha = 1;
		if (++label > NET_LABEL_MAX)
			return 0;
	}
	/* No trailing dot or hyphen; all digits would be an IPv4 address. */
	return label > 0 && p[-1] != '-' && (alpha || !need_alpha);
}

/* net_list_push - append one network to the list */
static void
net_list_push(struct net_list *l, const struct net_cidr *c)
{
	l->cidr = xreallocarray(l->cidr, l->ncidr + 1, sizeof(*l->cidr));
	l->cidr[l->ncidr++] = *c;
}

/* net_sockaddr_cidr - a /32 or /128 entry for a socket address */
static int
net_sockaddr_cidr(const struct sockaddr *sa, struct net_cidr *c)
{
	memset(c, 0, sizeof(*c));
	if (sa->sa_family == AF_INET) {
		c->family = AF_INET;
		c->prefix = 32;
		memcpy(c->addr, &((const struct sockaddr_in *)sa)->sin_addr, 4);
	} else if (sa->sa_family == AF_INET6) {
		c->family = AF_INET6;
		c->prefix = 128;
		memcpy(c->addr, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
		net_cidr_unmap(c);
	} else
		return -1;
	return 0;
}

/* net_list_resolve - add every address a host name resolves to */
static int
net_list_resolve(struct net_list *l, const char *name, char *err, size_t errlen)
{
	struct addrinfo hints, *res, *ai;
	struct net_cidr c;
	size_t before = l->ncidr;
	int rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if ((rc = getaddrinfo(name, NULL, &hints, &res)) != 0) {
		snprintf(err, errlen, "host name '%s' does not resolve: %s",
		    name, rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next)
		if (net_sockaddr_cidr(ai->ai_addr, &c) == 0)
			net_list_push(l, &c);
	freeaddrinfo(res);
	if (l->ncidr == before) {
		snprintf(err, errlen, "host name '%s' has no IPv4 or IPv6 address",
		    name);
		return -1;
	}
	l->names = xreallocarray(l->names, l->nnames + 1, sizeof(*l->names));
	l->names[l->nnames++] = xstrdup(name);
	return 0;
}

/*
 * net_list_entry - a CIDR network is added (0), a valid host name is left
 * to the caller (1), anything else is an error (-1 with err)
 */
static int
net_list_entry(struct net_list *l, const char *s, char *err, size_t errlen)
{
	struct net_cidr c;

	if (net_cidr_parse(s, &c) == 0) {
		net_list_push(l, &c);
		return 0;
	}
	if (strchr(s, '/') != NULL || strchr(s, ':') != NULL ||
	    strspn(s, "0123456789.") == strlen(s)) {
		snprintf(err, errlen, "bad network address '%.100s'", s);
		return -1;
	}
	if (!net_domain_valid(s, 1)) {
		snprintf(err, errlen, "bad network address or host name '%.100s'",
		    s);
		return -1;
	}
	return 1;
}

/* net_list_add - add a CIDR network or a host name (resolved now) */
int
net_list_add(struct net_list *l, const char *s, char *err, size_t errlen)
{
	int r = net_list_entry(l, s, err, errlen);

	return r == 1 ? net_list_resolve(l, s, err, errlen) : r;
}

/* net_list_add_fcrdns - a CIDR network, or a host name kept for FCrDNS */
int
net_list_add_fcrdns(struct net_list *l, const char *s, char *err,
    size_t errlen)
{
	char *name;
	size_t i;
	int r;

	l->fcrdns = 1;
	if ((r = net_list_entry(l, s, err, errlen)) != 1)
		return r;
	name = xstrdup(s);
	for (i = 0; name[i] != '\0'; i++)
		name[i] = (char)tolower((unsigned char)name[i]);
	l->names = xreallocarray(l->names, l->nnames + 1, sizeof(*l->names));
	l->names[l->nnames++] = name;
	return 0;
}

/* net_list_name_match - a confirmed name against an FCrDNS list */
int
net_list_name_match(const struct net_list *l, const char *name)
{
	size_t i, len;

	if (l == NULL || !l->fcrdns || name == NULL || name[0] == '\0')
		return 0;
	len = strlen(name);
	if (name[len - 1] == '.')
		len--;		/* the root label of a PTR answer */
	for (i = 0; i < l->nnames; i++)
		if (strlen(l->names[i]) == len &&
		    strncasecmp(l->names[i], name, len) == 0)
			return 1;
	return 0;
}

/* net_list_free - release the entries of a list (not the list itself) */
void
net_list_free(struct net_list *l)
{
	size_t i;

	if (l == NULL)
		return;
	for (i = 0; i < l->nnames; i++)
		free(l->names[i]);
	free(l->names);
	free(l->cidr);
	memset(l, 0, sizeof(*l));
}

/* net_cidr_contains - is the host entry h inside network c? */
static int
net_cidr_contains(const struct net_cidr *c, const struct net_cidr *h)
{
	int bytes, bits;

	if (c->family != h->family)
		return 0;
	bytes = c->prefix / 8;
	bits = c->prefix % 8;
	if (memcmp(c->addr, h->addr, (size_t)bytes) != 0)
		return 0;
	if (bits == 0)
		return 1;
	return ((c->addr[bytes] ^ h->addr[bytes]) &
	    (uint8_t)(0xff << (8 - bits))) == 0;
}

/* net_cidr_match - is the address inside the network? */
int
net_cidr_match(const struct net_cidr *c, const struct sockaddr *sa)
{
	struct net_cidr h;

	if (sa == NULL || net_sockaddr_cidr(sa, &h) == -1)
		return 0;
	return net_cidr_contains(c, &h);
}

/* net_list_match - is the address inside any network of the list? */
int
net_list_match(const struct net_list *l, const struct sockaddr *sa)
{
	struct net_cidr h;
	size_t i;

	if (l == NULL || sa == NULL || net_sockaddr_cidr(sa, &h) == -1)
		return 0;
	for (i = 0; i < l->ncidr; i++)
		if (net_cidr_contains(&l->cidr[i], &h))
			return 1;
	return 0;
}

/* net_ntop - numeric text of an address; v4-mapped IPv6 shows as IPv4 */
const char *
net_ntop(const struct sockaddr *sa, char *buf, size_t len)
{
	struct net_cidr h;

	if (len == 0)
		return buf;
	if (sa == NULL || sa->sa_family == AF_UNIX ||
	    net_sockaddr_cidr(sa, &h) == -1) {
		snprintf(buf, len, "%s", sa != NULL && sa->sa_family == AF_UNIX ?
		    "local" : "unknown");
		return buf;
	}
	if (inet_ntop(h.family, h.addr, buf, (socklen_t)len) == NULL)
		snprintf(buf, len, "unknown");
	return buf;
}

/* net_listen_fail - format a listen error, close the socket, return -1 */
static int
net_listen_fail(int fd, const char *what, const char *addr, uint16_t port,
    char *err, size_t errlen)
{
	int saved = errno;

	if (fd != -1)
		close(fd);
	snprintf(err, errlen, "%s %s port %u: %s", what, addr, port,
	    strerror(saved));
	errno = saved;
	return -1;
}

/* net_listen - bind and listen a non-blocking, close-on-exec TCP socket */
int
net_listen(const char *addr, uint16_t port, int backlog, char *err,
    size_t errlen)
{
	struct net_cidr c;
	struct sockaddr_storage ss;
	socklen_t sslen;
	int fd, on = 1;

	if (net_cidr_parse(addr, &c) == -1 || strchr(addr, '/') != NULL) {
		snprintf(err, errlen, "bad listen address '%.100s'", addr);
		errno = EINVAL;
		return -1;
	}
	memset(&ss, 0, sizeof(ss));
	if (strchr(addr, ':') == NULL) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		memcpy(&sin->sin_addr, c.addr, 4);
		sslen = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		if (inet_pton(AF_INET6, addr, &sin6->sin6_addr) != 1) {
			snprintf(err, errlen, "bad listen address '%.100s'", addr);
			errno = EINVAL;
			return -1;
		}
		sslen = sizeof(*sin6);
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return net_listen_fail(-1, "socket for", addr, port, err, errlen);
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1)
		return net_listen_fail(fd, "SO_REUSEADDR on", addr, port, err,
		    errlen);
	if (ss.ss_family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6,
	    IPV6_V6ONLY, &on, sizeof(on)) == -1)
		return net_listen_fail(fd, "IPV6_V6ONLY on", addr, port, err,
		    errlen);
	if (bind(fd, (struct sockaddr *)&ss, sslen) == -1)
		return net_listen_fail(fd, "bind", addr, port, err, errlen);
	if (listen(fd, backlog > 0 ? backlog : SOMAXCONN) == -1)
		return net_listen_fail(fd, "listen on", addr, port, err, errlen);
	return fd;
}

/* net_set_nonblock - set O_NONBLOCK; 0 or -1 */
int
net_set_nonblock(int fd)
{
	int fl;

	if ((fl = fcntl(fd, F_GETFL)) == -1)
		return -1;
	if (fl & O_NONBLOCK)
		return 0;
	return fcntl(fd, F_SETFL, fl | O_NONBLOCK) == -1 ? -1 : 0;
}

/* net_set_cloexec - set or clear FD_CLOEXEC; 0 or -1 */
int
net_set_cloexec(int fd, int on)
{
	int fl;

	if ((fl = fcntl(fd, F_GETFD)) == -1)
		return -1;
	fl = on ? (fl | FD_CLOEXEC) : (fl & ~FD_CLOEXEC);
	return fcntl(fd, F_SETFD, fl) == -1 ? -1 : 0;
}

/* net_sendfd - a message with a descriptor attached (net.h) */
ssize_t
net_sendfd(int sock, struct iovec *iov, int iovcnt, int fd, int flags)
{
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct msghdr mh;
	struct cmsghdr *cm;
	ssize_t n;

	memset(&mh, 0, sizeof(mh));
	memset(cbuf, 0, sizeof(cbuf));
	mh.msg_iov = iov;
	mh.msg_iovlen = (size_t)iovcnt;
	if (fd != -1) {
		mh.msg_control = cbuf;
		mh.msg_controllen = sizeof(cbuf);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	}
	do {
		n = sendmsg(sock, &mh, flags);
	} while (n == -1 && errno == EINTR);
	return n;
}

#define NET_RECVFD_MAX	4	/* descriptors taken in (the extra ones closed) */

/* net_recvfd - a message and the descriptors attached to it (net.h) */
ssize_t
net_recvfd(int sock, struct iovec *iov, int iovcnt, int *fd, int *count,
    int flags, int *msgflags)
{
	char cbuf[CMSG_SPACE(NET_RECVFD_MAX * sizeof(int))];
	struct msghdr mh;
	struct cmsghdr *cm;
	size_t i, n;
	ssize_t r;
	int c = 0, f;

	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = iov;
	mh.msg_iovlen = (size_t)iovcnt;
	mh.msg_control = cbuf;
	mh.msg_controllen = sizeof(cbuf);
	*fd = -1;
	do {
		r = recvmsg(sock, &mh, flags | MSG_CMSG_CLOEXEC);
	} while (r == -1 && errno == EINTR);
	for (cm = r >= 0 ? CMSG_FIRSTHDR(&mh) : NULL; cm != NULL;
	    cm = CMSG_NXTHDR(&mh, cm)) {
		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS ||
		    cm->cmsg_len < CMSG_LEN(0))
			continue;
		n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < n; i++) {
			memcpy(&f, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
			if (c++ == 0)
				*fd = f;
			else
				close(f);
		}
	}
	*count = c;
	if (msgflags != NULL)
		*msgflags = r >= 0 ? mh.msg_flags : 0;
	return r;
}
