/*
 * receiver_rcpt.c - recipients decided during the session (smtp.rcpt_check)
 *
 * At RCPT, once relay control has let the address pass, the receiver asks
 * the router what would become of it: IPC_RCPT_CHECK "PID-N", recipient,
 * sender, client, authenticated user, listener, through the master (the
 * hub; the ID's process ID tells the master which receiver to answer).
 * The router answers with the code it routes with (rules_check_rcpt):
 * 250, 550 and the reason (no route, reject rule, unknown, expired or
 * forbidden directive, bad one-off address), or 451 when a lookup cannot
 * answer now.  The session parks meanwhile (RS_RCPTWAIT: no input is
 * taken, so pipelined commands wait in order) for at most
 * smtp.rcpt_check_timeout, then 451 4.3.0.
 *
 * The common case costs no round trip: the receiver first runs the same
 * rules_check_rcpt() itself, without lookup tables or directive store.
 * Any answer but 451 is final (a rule that delivers, no route, a reject
 * rule, a bad one-off address, a content rule decided after DATA); 451
 * means a lookup or a directive is involved, which only the router can
 * answer.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <unistd.h>

#include <event2/bufferevent.h>
#include <event2/event.h>

#include "cfg.h"
#include "envelope.h"
#include "ipc.h"
#include "log.h"
#include "receiver.h"
#include "receiver_session.h"
#include "rules.h"

#define RRCPT_TEXT_MAX	400	/* reply text taken from the router */

static unsigned long long rrcpt_next = 1;

static void rrcpt_text(char *, size_t, const char *);
static void rrcpt_park(struct rsession *);

/* rrcpt_done - leave the parked state and take pipelined input again */
static void
rrcpt_done(struct rsession *s)
{
	s->rcpt_id = 0;
	s->rcpt_data = 0;
	if (s->rcpt_ev != NULL)
		evtimer_del(s->rcpt_ev);
	s->state = RS_CMD;
}

/* rrcpt_timeout - the router did not answer in time: 451 */
static void
rrcpt_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct rsession *s = arg;
	char to[RS_LOGTEXT];

	(void)fd;
	(void)what;
	if (s->state != RS_RCPTWAIT)
		return;
	if (s->rcpt_data) {
		rrcpt_done(s);
		log_warnx("%s: no answer from the router in %lld s: committed "
		    "unchecked", s->qid,
		    (long long)s->rcv->cfg->smtp.rcpt_check_timeout);
		rsmtp_commit(s);
		return;
	}
	rrcpt_done(s);
	log_warnx("RCPT from [%s]: no answer from the router in %lld s; "
	    "to=<%s>", s->ip, (long long)s->rcv->cfg->smtp.rcpt_check_timeout,
	    rs_clean(to, sizeof(to), s->rcpt_addr));
	s->nrejected++;
	rsession_reply(s, "451 4.3.0 Error: recipient check timed out, try "
	    "again later");
	rsession_resume(s);
}

/* rrcpt_reply - refuse the recipient with the router's (or the local) answer */
static void
rrcpt_reply(struct rsession *s, int code, const char *status,
    const char *rtext)
{
	char text[RRCPT_TEXT_MAX + 1], from[RS_LOGTEXT], to[RS_LOGTEXT];

	if (code < 400 || code > 599)
		code = 451;
	rrcpt_text(text, sizeof(text), rtext);
	if (status[0] != (code / 100) + '0' || status[1] != '.' ||
	    strlen(status) > 11 || strspn(status, "0123456789.") !=
	    strlen(status))
		status = code < 500 ? "4.3.0" : "5.1.1";
	rsession_reply(s, "%d %s %s", code, status, text);
	log_info("reject: RCPT from [%s]: %d %s %s; from=<%s> to=<%s>", s->ip,
	    code, status, text, rs_clean(from, sizeof(from), s->from),
	    rs_clean(to, sizeof(to), s->rcpt_addr));
	if (code >= 500)
		rsmtp_count_error(s);
	else
		s->nrejected++;
}

/*
 * rrcpt_local - the answer without the router when it is final: 1
 * answered, 0 the router must be asked (a lookup or a directive)
 */
static int
rrcpt_local(struct rsession *s, const char *addr, const char *notify,
    const char *orcpt)
{
	struct rules_verdict v;
	struct envelope msg;

	memset(&msg, 0, sizeof(msg));
	msg.from = s->from;
	msg.client = s->ip;
	msg.auth = s->auth_user;
	msg.listener = (char *)s->lst->name;
	msg.size = -1;
	rules_check_rcpt(s->rcv->cfg, &msg, NULL, addr, &v);
	if (v.code >= 400 && v.code < 500)
		return 0;
	if (v.code >= 200 && v.code < 300) {
		rsmtp_rcpt_add(s, addr, notify, orcpt);
		return 1;
	}
	snprintf(s->rcpt_addr, sizeof(s->rcpt_addr), "%s", addr);
	rrcpt_reply(s, v.code, v.status, v.text);
	return 1;
}

/* rrcpt_ask - see receiver_session.h */
void
rrcpt_ask(struct rsession *s, const char *addr, const char *notify,
    const char *orcpt)
{
	const char *sv[7];
	char id[64];

	if (rrcpt_local(s, addr, notify, orcpt))
		return;
	snprintf(s->rcpt_addr, sizeof(s->rcpt_addr), "%s", addr);
	snprintf(s->rcpt_notify, sizeof(s->rcpt_notify), "%s", notify);
	snprintf(s->rcpt_orcpt, sizeof(s->rcpt_orcpt), "%s", orcpt);
	rrcpt_park(s);
	snprintf(id, sizeof(id), "%ld-%llu", (long)getpid(), s->rcpt_id);
	sv[0] = id;
	sv[1] = addr;
	sv[2] = s->from;
	sv[3] = s->ip;
	sv[4] = s->auth_user != NULL ? s->auth_user : "";
	sv[5] = s->lst->name;
	sv[6] = NULL;
	if (ipc_send_strings(s->rcv->ipc, IPC_RCPT_CHECK, sv) == -1)
		rrcpt_timeout(-1, 0, s);	/* too long to ask: 451 now */
}

/* rrcpt_park - wait for the answer to check id (or the timeout) */
static void
rrcpt_park(struct rsession *s)
{
	struct timeval tv = { s->rcv->cfg->smtp.rcpt_check_timeout, 0 };

	if (s->rcpt_ev == NULL &&
	    (s->rcpt_ev = evtimer_new(s->rcv->base, rrcpt_timeout, s)) == NULL)
		fatalx("evtimer_new failed");
	s->rcpt_id = rrcpt_next++;
	s->state = RS_RCPTWAIT;
	rsession_hold(s);
	evtimer_add(s->rcpt_ev, &tv);
}

/* rrcpt_data_ask - see receiver_session.h */
int
rrcpt_data_ask(struct rsession *s)
{
	const char *sv[3];
	char id[64];

	if (!s->rcv->cfg->smtp.rcpt_check || s->relay_ok ||
	    s->auth_user != NULL || s->msg == NULL)
		return 0;
	rrcpt_park(s);
	s->rcpt_data = 1;
	snprintf(id, sizeof(id), "%ld-%llu", (long)getpid(), s->rcpt_id);
	sv[0] = id;
	sv[1] = s->qid;
	sv[2] = NULL;
	if (ipc_send_strings(s->rcv->ipc, IPC_DATA_CHECK, sv) == -1)
		rrcpt_timeout(-1, 0, s);
	return 1;
}

/* rrcpt_data_answer - the end-of-DATA check answered */
static void
rrcpt_data_answer(struct rsession *s, int code, const char *status,
    const char *rtext)
{
	char text[RRCPT_TEXT_MAX + 1], from[RS_LOGTEXT];

	if (code < 500 || code > 599 || status[0] != '5' || status[1] != '.' ||
	    strspn(status, "0123456789.") != strlen(status)) {
		rsmtp_commit(s);
		return;
	}
	rrcpt_text(text, sizeof(text), rtext);
	log_info("%s: reject: message from [%s] after DATA: %d %s %s; "
	    "from=<%s>", s->qid, s->ip, code, status, text,
	    rs_clean(from, sizeof(from), s->from));
	s->nrejected++;
	rsession_reply(s, "%d %.11s %s", code, status, text);
	rsmtp_reset(s);		/* removes receive/<qid>: never acknowledged */
	rsession_resume(s);
}

/* rrcpt_find - the session waiting for check "PID-N", or NULL */
static struct rsession *
rrcpt_find(struct receiver *r, const char *id)
{
	struct rsession *s;
	unsigned long long n;
	char *end;
	long pid;

	pid = strtol(id, &end, 10);
	if (pid != (long)getpid() || *end != '-')
		return NULL;
	n = strtoull(end + 1, &end, 10);
	if (*end != '\0' || n == 0)
		return NULL;
	TAILQ_FOREACH(s, &r->sessions, entry)
		if (s->rcpt_id == n && s->state == RS_RCPTWAIT)
			return s;
	return NULL;
}

/* rrcpt_text - the router's text, printable and bounded, for the reply */
static void
rrcpt_text(char *dst, size_t len, const char *src)
{
	size_t i;

	for (i = 0; src[i] != '\0' && i + 1 < len && i < RRCPT_TEXT_MAX; i++)
		dst[i] = src[i] >= 0x20 && src[i] < 0x7f ? src[i] : '?';
	dst[i] = '\0';
}

/* rrcpt_answer - see receiver_session.h (strings: id, code, status, text) */
void
rrcpt_answer(struct receiver *r, const char *const *sv, int n)
{
	struct rsession *s;
	int code;

	if (n != 4)
		fatalx("malformed %s frame from the master",
		    ipc_type_name(IPC_RCPT_ANSWER));
	if ((s = rrcpt_find(r, sv[0])) == NULL)
		return;		/* timed out, or the client went away */
	code = atoi(sv[1]);
	if (s->rcpt_data) {
		rrcpt_done(s);
		rrcpt_data_answer(s, code, sv[2], sv[3]);
		return;
	}
	rrcpt_done(s);
	if (code >= 200 && code < 300) {
		rsmtp_rcpt_add(s, s->rcpt_addr, s->rcpt_notify, s->rcpt_orcpt);
		rsession_resume(s);
		return;
	}
	rrcpt_reply(s, code, sv[2], sv[3]);
	rsession_resume(s);
}
