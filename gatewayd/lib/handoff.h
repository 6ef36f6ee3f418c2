/*
 * handoff.h - a web submission's socket handed to the receiver
 *
 * gatewayd-web sends a document as an ordinary SMTP session: per
 * submission it makes a socketpair, keeps one end and hands the other,
 * with the logged-in user name and the browser's address, to the master
 * on its hand-off socket; the master checks the record and passes it on
 * to the receiver on the receiver's hand-off socket, where it becomes a
 * session on the listener "web", authenticated as that user.
 *
 * Hand-off sockets are SOCK_SEQPACKET socketpairs between the master and
 * the web child or the receiver (proc.h: the descriptor after the
 * listeners).  One record is one submission: the payload "user\0ip\0"
 * (each string without spaces or control characters, as a login name,
 * user at most HANDOFF_USER_MAX bytes and not empty, ip a numeric IPv4
 * or IPv6 address) and exactly one
 * descriptor (SCM_RIGHTS), which must be an AF_UNIX stream socket.
 * Anything else is refused whole: a truncated record, no descriptor or
 * more than one, leftover bytes, a string without its terminator.
 * handoff_decode() is the payload's parser (no I/O; check_handoff and the
 * fuzz target feed it arbitrary bytes).
 */
#ifndef GW_HANDOFF_H
#define GW_HANDOFF_H

#include <stddef.h>

#define HANDOFF_USER_MAX	255
#define HANDOFF_IP_MAX		63
#define HANDOFF_RECORD_MAX	(HANDOFF_USER_MAX + HANDOFF_IP_MAX + 2)

/*
 * Decode a record's payload into user and ip (each buffer at least its
 * _MAX + 1 bytes); 0, or -1 with why.
 */
int handoff_decode(const char *buf, size_t len, char *user, char *ip,
    const char **why);
/* Send one record; 0, or -1 with errno (EAGAIN: the peer is not reading). */
int handoff_send(int sock, int fd, const char *user, const char *ip);
/*
 * Receive one record without blocking: 1 with *fd, user and ip set; 0
 * when none is waiting; -1 with why for a malformed record (every
 * descriptor it carried is closed); -2 at EOF or on a socket error.
 */
int handoff_recv(int sock, int *fd, char *user, char *ip, const char **why);

#endif
