/*
 * receiver_session.h - one ESMTP session of the receiver
 *
 * A session reads commands (PIPELINING: every complete line in the input
 * buffer, in order), streams DATA into a spool tmp file, and at the end
 * of DATA parks itself until the commit thread has made the message
 * durable; only then is 250 sent.  See receiver_session.c.
 */
#ifndef GW_RECEIVER_SESSION_H
#define GW_RECEIVER_SESSION_H

#include <sys/socket.h>

#include <event2/util.h>

struct receiver;
struct rsession;

/* Start a session on an accepted socket (the greeting is queued). */
struct rsession *rsession_new(struct receiver *, evutil_socket_t fd,
    const struct sockaddr *sa, int salen, const char *listener);
/*
 * The commit of the session's message ended: reply 250 (ok) or 451 and
 * resume reading, or free the session if its client went away meanwhile.
 */
void rsession_committed(struct rsession *, const char *qid, int ok);
/*
 * Shutdown: without force, sessions outside a transaction get 421 and
 * close, the others finish their transaction first; with force every
 * session is closed now (one waiting for its commit is freed when the
 * commit ends).
 */
void rsession_shutdown_all(struct receiver *, int force);

#endif
