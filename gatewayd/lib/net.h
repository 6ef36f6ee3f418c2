/*
 * net.h - address lists (CIDR networks and host names) and socket helpers
 */
#ifndef GW_NET_H
#define GW_NET_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct net_cidr {
	int family;			/* AF_INET or AF_INET6 */
	uint8_t addr[16];
	int prefix;
};

struct net_list {
	struct net_cidr *cidr;		/* host names are resolved at load into /32 or /128 entries */
	size_t ncidr;
	char **names;			/* the host names as written, for messages */
	size_t nnames;
	int fcrdns;			/* names are not resolved: matched by FCrDNS */
};

/* Parse "10.0.0.0/8", "::1", "192.0.2.1". 0 ok, -1 bad. */
int net_cidr_parse(const char *, struct net_cidr *);
int net_domain_valid(const char *, int need_alpha);
/* Add an entry: CIDR or host name (resolved now with getaddrinfo). -1 with err. */
int net_list_add(struct net_list *, const char *, char *err, size_t errlen);
/*
 * Add an entry of a list whose host names are matched by forward-confirmed
 * reverse DNS of the client (receiver_dns.h): a CIDR network, or a host
 * name kept in lower case and not resolved.  -1 with err.
 */
int net_list_add_fcrdns(struct net_list *, const char *, char *err,
    size_t errlen);
/* Is name (a confirmed PTR name, any case) one of an FCrDNS list's names? */
int net_list_name_match(const struct net_list *, const char *name);
void net_list_free(struct net_list *);
/* Does the list contain the address? IPv4-mapped IPv6 counts as IPv4. */
int net_list_match(const struct net_list *, const struct sockaddr *);
int net_cidr_match(const struct net_cidr *, const struct sockaddr *);
/* Numeric text form of an address (no port). */
const char *net_ntop(const struct sockaddr *, char *buf, size_t len);
/* Bind and listen a TCP socket; returns fd or -1 with err. */
int net_listen(const char *addr, uint16_t port, int backlog, char *err, size_t errlen);
int net_set_nonblock(int fd);
int net_set_cloexec(int fd, int on);
struct iovec;
/*
 * sendmsg of iov[0..iovcnt) on a Unix socket with the descriptor fd
 * attached (SCM_RIGHTS; none when fd is -1), again on EINTR; what
 * sendmsg returned.
 */
ssize_t net_sendfd(int sock, struct iovec *iov, int iovcnt, int fd,
    int flags);
/*
 * recvmsg into iov[0..iovcnt) (flags, and MSG_CMSG_CLOEXEC), again on
 * EINTR: the first descriptor that came with the data in *fd (-1: none),
 * any others closed, their number in *count; *msgflags (may be NULL) the
 * message's flags (MSG_TRUNC, MSG_CTRUNC).  What recvmsg returned.
 */
ssize_t net_recvfd(int sock, struct iovec *iov, int iovcnt, int *fd,
    int *count, int flags, int *msgflags);

#endif
