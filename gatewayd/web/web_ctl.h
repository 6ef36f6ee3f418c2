/*
 * web_ctl.h - gatewayd-web's client of the control socket
 *
 * The web child reaches the directive store only by the requests that
 * gatewayctl sends, each on a new connection to the control socket, with
 * "--as HEX(user)" naming the logged-in user: the control child accepts
 * that only from this process (SO_PEERCRED process ID) and decides what
 * the user may see (master/control_web.c).  Answers are read whole, at
 * most WEB_CTL_MAX bytes, with a timeout.
 */
#ifndef GW_WEB_CTL_H
#define GW_WEB_CTL_H

#include <stddef.h>

#define WEB_CTL_MAX	(4u * 1024 * 1024)
#define WEB_CTL_TIMEOUT	15		/* seconds for the whole answer */

/* One answer: ok, or the reason and the sysexits code of the failure. */
struct web_answer {
	char *text;			/* after the "ok" line, NUL-terminated */
	int ok;
	int code;			/* E<code>, or 69 when the socket failed */
	char reason[256];
};

/*
 * "directive WORD..." for user: each word hex-encoded as gatewayctl does.
 * 0 with a->ok set, or -1 with a->reason and a->code.
 */
int web_ctl_directive(const char *socket_path, const char *user, int argc,
    const char *const *argv, struct web_answer *a);
/*
 * Another request for user (an admin's: status, stats, queue ..., pause,
 * resume), its words sent as they are: each must be a non-empty word of
 * [A-Za-z0-9@._+:=/-], or the request is not sent (-1, EX_DATAERR).
 */
int web_ctl_words(const char *socket_path, const char *user, int argc,
    const char *const *argv, struct web_answer *a);
void web_answer_free(struct web_answer *);

#endif
