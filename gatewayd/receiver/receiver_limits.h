/*
 * receiver_limits.h - per client rates and the spool's free-space floor
 *
 * limits.conn_rate, msg_rate and rcpt_rate count, per client address,
 * the connections, MAIL and RCPT commands accepted over a window
 * (anvil.h), as Postfix's anvil does; the receiver answers 421 4.7.0 to
 * a connection and 450 4.7.1 to a MAIL or RCPT past the limit, and logs
 * it.  Clients in limits.exempt, and in relay.allow unless
 * limits.exempt_relay is no, are never limited.  limits.spool_min_free
 * keeps a floor of free space on the spool's filesystem: MAIL (with its
 * SIZE= if given) and DATA/BDAT get 452 4.3.1 when the message would take
 * the free space below it, checked with fstatvfs(2) at most once a
 * second.  rlimits_mail/rcpt/data return NULL when the command may go
 * on, else the reply to send (the caller sends it; the function has
 * logged it).
 */
#ifndef GW_RECEIVER_LIMITS_H
#define GW_RECEIVER_LIMITS_H

#include <sys/socket.h>

struct receiver;
struct rsession;

/* The table of client addresses (before the privilege drop). */
void rlimits_init(struct receiver *);
/* A new connection of s from client: 1 (logged) when over the rate, else 0; sets s->limits_exempt. */
int rlimits_conn(struct rsession *, const struct sockaddr *client);
/* MAIL with SIZE= size (-1 when not given). */
const char *rlimits_mail(struct rsession *, long long size);
/* RCPT. */
const char *rlimits_rcpt(struct rsession *);
/* DATA or the first BDAT: the free-space floor again. */
const char *rlimits_data(struct rsession *, long long size);

#endif
