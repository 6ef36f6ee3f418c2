/*
 * web_submit.h - a submission sent as an SMTP session to the receiver
 *
 * A socketpair per submission: one end goes to the master on the
 * hand-off socket (handoff.h) with the user and the browser's address,
 * the receiver makes it a session on the listener "web", authenticated
 * as the user; this end speaks EHLO, MAIL, RCPT, DATA and QUIT, each
 * reply awaited at most WEB_SUBMIT_TIMEOUT seconds.  The message is
 * queued only by the receiver's 250 after the final dot: a channel that
 * breaks before it leaves nothing queued.
 */
#ifndef GW_WEB_SUBMIT_H
#define GW_WEB_SUBMIT_H

#include <stddef.h>

#define WEB_SUBMIT_TIMEOUT	60

struct web_submit {
	int code;			/* the refusing reply's code, 0 none */
	char reply[512];		/* its text (or why the channel failed) */
	char qid[24];			/* queued: the queue ID */
};

/*
 * Send the DATA text (web_mail_write(), len bytes) from -> rcpt for
 * user; 0 queued (s->qid), -1 refused by the receiver (s->code and
 * s->reply), -2 when the receiver or the channel is not there.
 */
int web_submit(int handoff, const char *user, const char *ip,
    const char *from, const char *rcpt, const char *data, size_t len,
    struct web_submit *s);

#endif
