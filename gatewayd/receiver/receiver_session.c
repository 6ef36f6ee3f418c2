/*
 * receiver_session.c - the life of one receiver connection
 *
 * Phases: RS_PROXY (listeners with proxy_protocol: the header is read
 * straight from the socket, never a byte past it, within proxy_timeout,
 * and only from a proxy_trusted peer), then the bufferevent is created
 * (OpenSSL for implicit TLS), RS_START (TLS handshake and/or
 * greeting_delay: input now means the client talks before the greeting
 * and is refused with 554), then the 220 and the command phases handled
 * by receiver_smtp.c.  CLOSING: the last reply is queued; the session is
 * freed once it is written.
 *
 * STARTTLS: the 220 is written synchronously, every byte still buffered
 * is dropped (a command pipelined behind STARTTLS must never run inside
 * TLS, CVE-2011-0411), the plain bufferevent is replaced by an OpenSSL one
 * on the same descriptor, and the SMTP state is reset.
 *
 * Bounded memory: command lines are capped (overlong ones are skipped to
 * their end), message text is streamed in pieces, and reading pauses
 * while more than RS_OUTPUT_MAX bytes of replies wait for a client that
 * does not read them.
 */
#include "config.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/err.h>

#include "cfg.h"
#include "log.h"
#include "net.h"
#include "proxy.h"
#include "receiver.h"
#include "receiver_auth.h"
#include "receiver_dns.h"
#include "receiver_session.h"
#include "receiver_limits.h"
#include "receiver_tls.h"
#include "tlspolicy.h"
#include "xmalloc.h"

#define RS_READ_MAX	(256 * 1024)	/* input buffered before reading pauses */
/* plain sessions: one read asks for at most this (an evbuffer chain of
 * 32 KiB, below malloc's mmap threshold), and a pass takes at most
 * RS_READ_TRIES of them while the socket fills what is asked */
#define RS_READ_CHUNK	(32 * 1024 - 512)
#define RS_READ_TRIES	4
#define RS_TLS_SNIFF_MS	500		/* implicit_tls_detect: wait for a ClientHello */
#define RS_TLS_HANDSHAKE 0x16		/* first byte of a TLS handshake record */

static void rsession_input(struct rsession *);
static void rsession_read_cb(struct bufferevent *, void *);
static void rsession_plain_read_cb(evutil_socket_t, short, void *);
static void rsession_read_start(struct rsession *);
static void rsession_read_stop(struct rsession *);
static void rsession_write_cb(struct bufferevent *, void *);
static void rsession_event_cb(struct bufferevent *, short, void *);
static void rsession_kick(struct rsession *);
static void rsession_drained(struct rsession *);

/* rs_clean - untrusted text for a log line */
const char *
rs_clean(char *dst, size_t dstlen, const char *src)
{
	return log_clean(dst, dstlen, src, strlen(src));
}

/* rsession_reply - queue one reply line (CRLF added) */
void
rsession_reply(struct rsession *s, const char *fmt, ...)
{
	struct evbuffer *out = bufferevent_get_output(s->bev);
	size_t before = evbuffer_get_length(out);
	va_list ap;

	va_start(ap, fmt);
	evbuffer_add_vprintf(out, fmt, ap);
	va_end(ap);
	evbuffer_add(out, "\r\n", 2);
	receiver_count_reply(s->rcv, out, before);
	rsession_kick(s);
}

/* rsession_close - the last reply is queued: stop reading, free once written */
void
rsession_close(struct rsession *s)
{
	s->state = RS_CLOSING;
	rsession_read_stop(s);
}

/* rsession_pending - unread input bytes */
size_t
rsession_pending(struct rsession *s)
{
	return evbuffer_get_length(bufferevent_get_input(s->bev));
}

/* rsession_discard_input - drop every buffered input byte */
size_t
rsession_discard_input(struct rsession *s)
{
	struct evbuffer *in = bufferevent_get_input(s->bev);
	size_t n = evbuffer_get_length(in);

	evbuffer_drain(in, n);
	return n;
}

/* rsession_free - close the connection and free everything */
static void
rsession_free(struct rsession *s)
{
	struct receiver *r = s->rcv;
	char helo[RS_LOGTEXT];

	if (s->begun)
		log_info("disconnect from [%s] helo=%s commands=%zu messages=%zu "
		    "rejected=%zu", s->ip, s->helo[0] ? rs_clean(helo,
		    sizeof(helo), s->helo) : "-", s->ntotal, s->nmessages,
		    s->nrejected);
	rsmtp_reset(s);
	rauth_free(s->auth);
	rdns_cancel(s->dnsq);
	free(s->auth_user);
	TAILQ_REMOVE(&r->sessions, s, entry);
	r->nsessions--;
	if (s->bev != NULL)
		bufferevent_free(s->bev);
	if (s->ssl != NULL) {
		SSL_shutdown(s->ssl);	/* best effort close_notify */
		SSL_free(s->ssl);
	}
	if (s->timer_ev != NULL)
		event_free(s->timer_ev);
	if (s->kick_ev != NULL)
		event_free(s->kick_ev);
	if (s->proxy_ev != NULL)
		event_free(s->proxy_ev);
	if (s->life_ev != NULL)
		event_free(s->life_ev);
	if (s->rcpt_ev != NULL)
		event_free(s->rcpt_ev);
	if (s->read_ev != NULL)
		event_free(s->read_ev);	/* while fd is open: one EPOLL_CTL_DEL */
	close(s->fd);
	free(s->line);
	free(s);
	receiver_session_gone(r);
}

/* rsession_maybe_free - free a closing session once its output is written */
static void
rsession_maybe_free(struct rsession *s)
{
	if (s->state != RS_CLOSING)
		return;
	if (s->bev == NULL ||
	    evbuffer_get_length(bufferevent_get_output(s->bev)) == 0)
		rsession_free(s);
}

/* rsession_setup_bev - callbacks, timeouts and watermarks of s->bev */
static void
rsession_setup_bev(struct rsession *s)
{
	struct timeval tv = { s->rcv->cfg->smtp.idle_timeout, 0 };

	bufferevent_setcb(s->bev, rsession_read_cb, rsession_write_cb,
	    rsession_event_cb, s);
	bufferevent_set_timeouts(s->bev, &tv, &tv);
	bufferevent_setwatermark(s->bev, EV_READ, 0, RS_READ_MAX);
	if (s->ssl != NULL) {
		bufferevent_enable(s->bev, EV_READ | EV_WRITE);
		return;
	}
	/*
	 * plain: replies are written by rsession_kick_cb (libevent only
	 * takes over what the socket did not take at once), and the socket
	 * is read by rsession_plain_read_cb into the bufferevent's input
	 */
	bufferevent_disable(s->bev, EV_READ | EV_WRITE);
	if (s->read_ev == NULL && (s->read_ev = event_new(s->rcv->base, s->fd,
	    EV_READ | EV_PERSIST, rsession_plain_read_cb, s)) == NULL)
		fatalx("cannot create the session's read event");
	rsession_read_start(s);
}

/* rsession_parked - waiting for a lookup, saslauthd or the commit */
static int
rsession_parked(const struct rsession *s)
{
	return s->state == RS_COMMIT || s->state == RS_AUTHWAIT ||
	    s->state == RS_RCPTWAIT || s->state == RS_DNSWAIT;
}

/* rsession_read_start - take input again (after a pause or a park) */
static void
rsession_read_start(struct rsession *s)
{
	struct timeval tv = { s->rcv->cfg->smtp.idle_timeout, 0 };

	if (s->bev == NULL || s->dead)
		return;
	if (s->ssl != NULL) {
		bufferevent_enable(s->bev, EV_READ);
		return;
	}
	if (s->reading || s->read_ev == NULL)
		return;
	if (event_add(s->read_ev, &tv) == -1)
		fatalx("cannot watch a session's socket");
	s->reading = 1;
}

/* rsession_read_stop - take no more input from the socket */
static void
rsession_read_stop(struct rsession *s)
{
	if (s->bev == NULL)
		return;
	if (s->ssl != NULL) {
		bufferevent_disable(s->bev, EV_READ);
		return;
	}
	if (s->reading)
		event_del(s->read_ev);
	s->reading = 0;
}

/* rsession_hold - see receiver_session.h */
void
rsession_hold(struct rsession *s)
{
	if (s->ssl != NULL)
		bufferevent_disable(s->bev, EV_READ);
}

/*
 * rsession_plain_read_cb - a plain session's socket is readable, or idle
 * for smtp.idle_timeout.  The bytes go straight into the bufferevent's
 * input, RS_READ_CHUNK at a time while the socket fills what is asked (a
 * socket bufferevent asks FIONREAD first and takes 4 KiB per pass of the
 * loop: 25 passes for a 100 KB message), then are handled as its read
 * callback would.  EOF and errors go to rsession_event_cb as libevent
 * reports them, after the bytes read before them were handled; a parked
 * session only stops reading, as a disabled bufferevent would not notice
 * them before rsession_resume.
 */
static void
rsession_plain_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct rsession *s = arg;
	struct evbuffer *in = bufferevent_get_input(s->bev);
	struct evbuffer_iovec v[2];
	struct iovec iov[2];
	size_t have, want, got = 0, left;
	ssize_t n = -1;
	int i, nv, tries;

	if (what & EV_TIMEOUT) {
		if (!rsession_parked(s))	/* a lookup or commit is not idle */
			rsession_event_cb(s->bev, BEV_EVENT_READING |
			    BEV_EVENT_TIMEOUT, s);
		return;
	}
	evbuffer_unfreeze(in, 0);	/* a socket bufferevent freezes its end */
	for (tries = 0; tries < RS_READ_TRIES; tries++) {
		if ((have = evbuffer_get_length(in)) >= RS_READ_MAX) {
			n = -2;		/* full: read again once it is handled */
			break;
		}
		want = RS_READ_MAX - have < RS_READ_CHUNK ? RS_READ_MAX - have :
		    RS_READ_CHUNK;
		if ((nv = evbuffer_reserve_space(in, (ev_ssize_t)want, v, 2)) <= 0)
			fatalx("out of memory for a session's input");
		for (i = 0, left = want; i < nv; i++) {
			iov[i].iov_base = v[i].iov_base;
			iov[i].iov_len = v[i].iov_len < left ? v[i].iov_len : left;
			left -= iov[i].iov_len;
		}
		if ((n = readv(fd, iov, nv)) <= 0)
			break;
		for (i = 0, left = (size_t)n; i < nv; i++) {
			v[i].iov_len = iov[i].iov_len < left ? iov[i].iov_len : left;
			left -= v[i].iov_len;
		}
		if (evbuffer_commit_space(in, v, nv) == -1)
			panic("evbuffer_commit_space failed");
		got += (size_t)n;
		if ((size_t)n < want)
			break;		/* the socket is drained */
	}
	evbuffer_freeze(in, 0);
	if (got == 0 && n == -2) {
		/* full and not handled (parked, or replies not read) */
		rsession_read_stop(s);
		return;
	}
	if (got == 0 && n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (got == 0) {
		/* EOF or an error, nothing read before it in this pass */
		rsession_read_stop(s);
		if (!rsession_parked(s))
			rsession_event_cb(s->bev, BEV_EVENT_READING |
			    (n == 0 ? BEV_EVENT_EOF : BEV_EVENT_ERROR), s);
		return;
	}
	rsession_read_cb(s->bev, s);	/* may free s */
}

/*
 * rsession_kick_cb - write the queued replies of a plain session straight
 * away, once per pass of the loop, so pipelined replies leave together.
 * Waiting for the socket to become writable would cost two epoll_ctl
 * calls and a wake-up per reply; only a reply the socket does not take
 * at once (or an error, which libevent then reports as before) goes
 * through the bufferevent's write event.
 */
static void
rsession_kick_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct rsession *s = arg;
	struct evbuffer *out;

	(void)fd;
	(void)ev;
	if (s->ssl != NULL || s->bev == NULL || s->dead)
		return;
	out = bufferevent_get_output(s->bev);
	if (evbuffer_get_length(out) == 0)
		return;
	/* a socket bufferevent freezes the front of its output (as in
	 * rsession_flush) */
	evbuffer_unfreeze(out, 1);
	(void)evbuffer_write(out, s->fd);
	evbuffer_freeze(out, 1);
	if (evbuffer_get_length(out) > 0) {
		bufferevent_enable(s->bev, EV_WRITE);
		return;
	}
	rsession_drained(s);	/* may free s */
}

/* rsession_kick - replies were queued: write them at the end of this pass */
static void
rsession_kick(struct rsession *s)
{
	if (s->ssl != NULL)
		return;		/* the OpenSSL bufferevent writes */
	if (s->kick_ev == NULL && (s->kick_ev = event_new(s->rcv->base, -1, 0,
	    rsession_kick_cb, s)) == NULL) {
		bufferevent_enable(s->bev, EV_WRITE);
		return;
	}
	event_active(s->kick_ev, EV_TIMEOUT, 0);
}

/* rsession_tls_bev - an OpenSSL bufferevent on the session's socket */
static int
rsession_tls_bev(struct rsession *s)
{
	if ((s->ssl = SSL_new(s->lst->ssl_ctx)) == NULL)
		return -1;
	/* not BEV_OPT_CLOSE_ON_FREE: rsession_free closes fd and frees ssl */
	s->bev = bufferevent_openssl_socket_new(s->rcv->base, s->fd, s->ssl,
	    BUFFEREVENT_SSL_ACCEPTING, 0);
	if (s->bev == NULL)
		return -1;
	bufferevent_openssl_set_allow_dirty_shutdown(s->bev, 1);
	rsession_setup_bev(s);
	return 0;
}

/* rsession_flush - write queued replies now (before the TLS switch) */
static int
rsession_flush(struct rsession *s)
{
	struct evbuffer *out = bufferevent_get_output(s->bev);
	struct pollfd pfd = { s->fd, POLLOUT, 0 };
	int tries = 0, rc = 0;

	/* a socket bufferevent freezes the front of its output: we drain it */
	evbuffer_unfreeze(out, 1);
	while (evbuffer_get_length(out) > 0) {
		if (evbuffer_write(out, s->fd) >= 0)
			continue;
		if ((errno != EAGAIN && errno != EINTR) || ++tries > 20) {
			rc = -1;
			break;
		}
		(void)poll(&pfd, 1, 100);
	}
	evbuffer_freeze(out, 1);
	return rc;
}

/* rsession_starttls - switch the session to TLS (see the file comment) */
void
rsession_starttls(struct rsession *s)
{
	size_t junk = rsession_discard_input(s);

	if (junk > 0)
		log_info("STARTTLS from [%s]: discarded %zu byte(s) sent before "
		    "the TLS handshake", s->ip, junk);
	rsession_reply(s, "220 2.0.0 Ready to start TLS");
	if (rsession_flush(s) == -1) {
		log_info("STARTTLS from [%s]: cannot send the reply", s->ip);
		rsession_close(s);
		evbuffer_drain(bufferevent_get_output(s->bev), (size_t)-1);
		return;
	}
	rsession_read_stop(s);
	bufferevent_free(s->bev);
	s->bev = NULL;
	if (rsession_tls_bev(s) == -1)
		fatalx("cannot create a TLS bufferevent");
	/* RFC 3207 4.2: forget everything learnt before TLS */
	rsmtp_reset(s);
	s->helo[0] = '\0';
	s->esmtp = 0;
}

static int rsession_tls_hello(struct rsession *);
static void rsession_tls_refuse(struct rsession *);

/* rsession_greet - send 220, unless the client already talked */
static void
rsession_greet(struct rsession *s)
{
	char c;
	ssize_t n = 0;

	if (s->ssl == NULL)
		n = recv(s->fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
	if ((n > 0 && c == RS_TLS_HANDSHAKE) || rsession_tls_hello(s)) {
		if (s->state != RS_CLOSING)
			rsession_tls_refuse(s);	/* an MFP trying TLS first */
		return;
	}
	if (n > 0 || rsession_pending(s) > 0) {
		log_info("reject: [%s] sent data before the greeting", s->ip);
		rsession_reply(s, "554 5.5.0 %s Error: SMTP protocol "
		    "synchronization (data sent before the greeting)",
		    s->rcv->hostname);
		rsession_close(s);
		return;
	}
	s->state = RS_CMD;
	rsession_reply(s, "220 %s ESMTP gatewayd", s->rcv->hostname);
}

/* rsession_greet_later - greet now or after smtp.greeting_delay */
static void
rsession_greet_later(struct rsession *s)
{
	struct timeval tv = { s->rcv->cfg->smtp.greeting_delay, 0 };

	if (tv.tv_sec == 0) {
		rsession_greet(s);
		return;
	}
	s->state = RS_START;
	evtimer_add(s->timer_ev, &tv);
}

/* rsession_per_client - sessions of the same client address */
static size_t
rsession_per_client(struct rsession *s)
{
	struct rsession *o;
	size_t n = 0;

	TAILQ_FOREACH(o, &s->rcv->sessions, entry)
		if (o->begun && strcmp(o->ip, s->ip) == 0)
			n++;
	return n;
}

/* rsession_dns_apply - the client's confirmed host name ("" none) */
static void
rsession_dns_apply(struct rsession *s, const char *name, int cached)
{
	const struct cfg *cfg = s->rcv->cfg;
	int relay = 0, anon = 0;

	if (name[0] != '\0') {
		relay = net_list_name_match(&cfg->relay.allow, name);
		anon = net_list_name_match(&s->lcfg->anonymous_allow, name);
	}
	s->relay_ok |= relay;
	s->anon_ok |= anon;
	log_info("FCrDNS of [%s]: %s%s%s%s", s->ip, name[0] != '\0' ? name :
	    "no confirmed host name", cached ? " (cached)" : "",
	    relay ? ", relay allowed" : "", anon ? ", anonymous allowed" : "");
}

/* rsession_dns_done - the FCrDNS answer (receiver_dns.h rdns_done_fn) */
static void
rsession_dns_done(void *arg, const char *name)
{
	struct rsession *s = arg;

	s->dnsq = NULL;
	rsession_dns_apply(s, name != NULL ? name : "", 0);
	if (s->state != RS_DNSWAIT)
		return;
	/* run the parked MAIL again: s->line still holds it */
	s->state = RS_CMD;
	s->ntotal--;
	rsmtp_command(s, s->line, strlen(s->line));
	if (s->state == RS_CLOSING) {
		rsession_maybe_free(s);
		return;
	}
	rsession_resume(s);
}

/*
 * rsession_access - relay.allow and anonymous_allow by address; their host
 * names need the FCrDNS lookup, started now and awaited at MAIL
 */
static void
rsession_access(struct rsession *s, const struct sockaddr *client)
{
	const struct cfg *cfg = s->rcv->cfg;
	char name[RDNS_NAME_MAX];

	if ((s->relay_ok || cfg->relay.allow.nnames == 0) &&
	    (s->anon_ok || s->lcfg->anonymous_allow.nnames == 0))
		return;
	if (!rdns_ready())
		return;
	s->dnsq = rdns_fcrdns(client, rsession_dns_done, s, name, sizeof(name));
	if (s->dnsq == NULL)
		rsession_dns_apply(s, name, 1);
}

/* rsession_sniff_end - TLS or plain: make the bufferevent, then greet */
static void
rsession_sniff_end(struct rsession *s, int tls)
{
	event_del(s->proxy_ev);
	event_del(s->timer_ev);
	if (tls) {
		log_info("TLS ClientHello from [%s] on %s: implicit TLS", s->ip,
		    s->lst->name);
		if (rsession_tls_bev(s) == -1)
			fatalx("cannot create a TLS bufferevent");
		s->state = RS_START;	/* greeting once the handshake is done */
		return;
	}
	s->bev = bufferevent_socket_new(s->rcv->base, s->fd, 0);
	if (s->bev == NULL)
		fatalx("bufferevent_socket_new failed");
	rsession_setup_bev(s);
	rsession_greet_later(s);	/* refused if the client talked first */
}

/* rsession_sniff_cb - the first byte of an implicit_tls_detect session */
static void
rsession_sniff_cb(evutil_socket_t fd, short what, void *arg)
{
	struct rsession *s = arg;
	unsigned char c;
	ssize_t n;

	n = recv(fd, &c, 1, MSG_PEEK);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		log_info("lost connection from [%s] before the greeting", s->ip);
		rsession_free(s);
		return;
	}
	rsession_sniff_end(s, c == RS_TLS_HANDSHAKE);
	rsession_maybe_free(s);
}

/* rsession_sniff - implicit_tls_detect: a ClientHello within a moment? */
static void
rsession_sniff(struct rsession *s)
{
	struct timeval tv = { 0, RS_TLS_SNIFF_MS * 1000 };

	s->state = RS_SNIFF;
	if (s->proxy_ev != NULL)
		event_free(s->proxy_ev);
	s->proxy_ev = event_new(s->rcv->base, s->fd, EV_READ | EV_PERSIST,
	    rsession_sniff_cb, s);
	if (s->proxy_ev == NULL || event_add(s->proxy_ev, NULL) == -1 ||
	    evtimer_add(s->timer_ev, &tv) == -1)
		fatalx("cannot watch for a TLS ClientHello");
}

/* rsession_begin - the client is known: policy, bufferevent, greeting */
static void
rsession_begin(struct rsession *s, const struct sockaddr *client)
{
	struct receiver *r = s->rcv;
	int too_many;

	net_ntop(client, s->ip, sizeof(s->ip));
	s->relay_ok = net_list_match(&r->cfg->relay.allow, client);
	s->anon_ok = !s->lcfg->require_auth ||
	    net_list_match(&s->lcfg->anonymous_allow, client);
	too_many = rsession_per_client(s) >= r->cfg->smtp.max_connections_per_client;
	s->begun = 1;
	log_info("connect from [%s]%s%s on %s%s", s->ip,
	    strcmp(s->ip, s->peer) != 0 ? " via proxy " : "",
	    strcmp(s->ip, s->peer) != 0 ? s->peer : "", s->lst->name,
	    s->relay_ok ? " (relay allowed)" : "");
	if (!too_many && rlimits_conn(s, client))
		too_many = 2;		/* over limits.conn_rate (logged) */
	if (!too_many)
		rsession_access(s, client);
	if (!too_many && s->lcfg->implicit_tls_detect &&
	    s->lcfg->tls != CFG_TLS_IMPLICIT) {
		rsession_sniff(s);
		return;
	}
	if (too_many || s->lcfg->tls != CFG_TLS_IMPLICIT) {
		s->bev = bufferevent_socket_new(r->base, s->fd, 0);
		if (s->bev == NULL)
			fatalx("bufferevent_socket_new failed");
		rsession_setup_bev(s);
	} else if (rsession_tls_bev(s) == -1)
		fatalx("cannot create a TLS bufferevent");
	if (too_many) {
		if (too_many == 1)
			log_info("reject: [%s]: too many connections from this "
			    "client", s->ip);
		rsession_reply(s, "421 4.7.0 %s Error: too many connections "
		    "from your address", r->hostname);
		rsession_close(s);
		return;
	}
	if (s->lcfg->tls == CFG_TLS_IMPLICIT)
		s->state = RS_START;	/* greeting once the handshake is done */
	else
		rsession_greet_later(s);
}

/* rsession_proxy_done - a complete PROXY header: check, then begin */
static void
rsession_proxy_done(struct rsession *s, const struct sockaddr *peer)
{
	struct proxy_info pi;
	const char *why;

	if (proxy_parse(s->proxy_buf, s->proxy_have, &pi, &why) == -1) {
		log_info("reject: [%s]: %s: closing", s->peer, why);
		rsession_close(s);
		return;
	}
	event_del(s->proxy_ev);
	event_del(s->timer_ev);
	rsession_begin(s, pi.local ? peer : (const struct sockaddr *)&pi.src);
}

/* rsession_proxy_cb - read the PROXY header without reading past it */
static void
rsession_proxy_cb(evutil_socket_t fd, short what, void *arg)
{
	struct rsession *s = arg;
	struct sockaddr_storage peer;
	socklen_t plen = sizeof(peer);
	const char *why = "connection closed";
	ssize_t n;
	int need;

	while ((need = proxy_need(s->proxy_buf, s->proxy_have, &why)) > 0) {
		n = recv(fd, s->proxy_buf + s->proxy_have, (size_t)need, 0);
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) {
			why = n == 0 ? "connection closed" : strerror(errno);
			need = -1;
			break;
		}
		s->proxy_have += (size_t)n;
	}
	if (need == -1) {
		log_info("reject: [%s]: bad PROXY header: %s: closing", s->peer,
		    why);
		rsession_close(s);
		rsession_free(s);
		return;
	}
	if (getpeername(fd, (struct sockaddr *)&peer, &plen) == -1)
		memset(&peer, 0, sizeof(peer));
	rsession_proxy_done(s, (struct sockaddr *)&peer);
	rsession_maybe_free(s);
}

/* rsession_timer_cb - PROXY deadline or end of the greeting delay */
static void
rsession_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct rsession *s = arg;

	if (s->state == RS_PROXY) {
		log_info("reject: [%s]: no PROXY header within %ld s: closing",
		    s->peer, (long)s->lcfg->proxy_timeout);
		rsession_free(s);
		return;
	}
	if (s->state == RS_SNIFF)
		rsession_sniff_end(s, 0);	/* no ClientHello: plain SMTP */
	else if (s->state == RS_START)
		rsession_greet(s);
	rsession_maybe_free(s);
}

/* rsession_life_cb - smtp.max_session_time reached */
static void
rsession_life_cb(evutil_socket_t fd, short what, void *arg)
{
	struct rsession *s = arg;
	struct timeval again = { 1, 0 };

	if (s->state == RS_COMMIT) {
		evtimer_add(s->life_ev, &again);	/* answer the commit first */
		return;
	}
	log_info("session time limit from [%s]: closing", s->ip);
	if (s->state == RS_PROXY || s->bev == NULL) {
		rsession_free(s);
		return;
	}
	if (s->state != RS_CLOSING) {
		rsession_reply(s, "421 4.4.2 %s Error: session time limit "
		    "exceeded", s->rcv->hostname);
		rsession_close(s);
	}
	rsession_maybe_free(s);
}

/*
 * rsession_tls_hello - a TLS ClientHello as the first bytes of a plain
 * session (some HP MFPs try TLS first and fall back to plain SMTP only
 * when the server answers or closes): a fatal TLS alert and close now,
 * not at the idle timeout.  1 when the session was refused.
 */
static int
rsession_tls_hello(struct rsession *s)
{
	unsigned char c;

	if (evbuffer_copyout(bufferevent_get_input(s->bev), &c, 1) != 1 ||
	    c != RS_TLS_HANDSHAKE)
		return 0;
	rsession_tls_refuse(s);
	return 1;
}

/*
 * rsession_tls_refuse - the fatal alert and close; the ClientHello's bytes
 * still in the socket are read first (bounded), so that the close is a FIN
 * and not a reset that would throw the alert away at the client
 */
static void
rsession_tls_refuse(struct rsession *s)
{
	/* TLS 1.0 record: alert, 2 bytes, fatal (2) handshake_failure (40) */
	static const unsigned char alert[] = { 0x15, 0x03, 0x01, 0x00, 0x02,
	    0x02, 0x28 };
	char buf[4096];
	int i;

	log_info("reject: [%s] on %s: TLS handshake on a plain SMTP listener "
	    "(no implicit TLS here): closing", s->ip, s->lst->name);
	rsession_discard_input(s);
	for (i = 0; i < 16 && recv(s->fd, buf, sizeof(buf), MSG_DONTWAIT) > 0;
	    i++)
		;
	s->nrejected++;
	evbuffer_add(bufferevent_get_output(s->bev), alert, sizeof(alert));
	rsession_kick(s);
	rsession_close(s);
}

/*
 * rsession_line_input - take one line from the input buffer for the
 * command or AUTH phase; 1 when something was consumed, 0 when more input
 * is needed
 */
static int
rsession_line_input(struct rsession *s)
{
	struct evbuffer *in = bufferevent_get_input(s->bev);
	size_t len = evbuffer_get_length(in), eol_len = 0, n;
	struct evbuffer_ptr p;
	int bare_cr;

	if (len == 0)
		return 0;
	if (s->ntotal == 0 && s->ssl == NULL && rsession_tls_hello(s))
		return 1;
	p = evbuffer_search_eol(in, NULL, &eol_len, EVBUFFER_EOL_CRLF);
	if (p.pos == -1) {
		if (len < s->linecap)
			return 0;
		/* bounded memory: drop what we have, finish at the line end */
		evbuffer_drain(in, len);
		s->discard = 1;
		return 0;
	}
	n = (size_t)p.pos;
	if (s->discard || n + 2 > s->linecap) {
		evbuffer_drain(in, n + eol_len);
		s->discard = 0;
		s->ntotal++;
		rsession_reply(s, "500 5.5.2 Error: line too long");
		log_info("reject: command from [%s]: line too long", s->ip);
		rsmtp_count_error(s);
		return 1;
	}
	if (evbuffer_remove(in, s->line, n) != (int)n)
		panic("evbuffer_remove short read");
	evbuffer_drain(in, eol_len);
	s->line[n] = '\0';
	bare_cr = memchr(s->line, '\r', n) != NULL;
	if (eol_len == 1 || bare_cr) {
		if (s->rcv->cfg->smtp.bare_lf == CFG_BARE_LF_REJECT || bare_cr) {
			log_info("reject: [%s]: bare <%s> in a command line",
			    s->ip, bare_cr ? "CR" : "LF");
			rsession_reply(s, "521 5.5.2 %s Error: bare <%s> received",
			    s->rcv->hostname, bare_cr ? "CR" : "LF");
			rsession_close(s);
			return 1;
		}
	}
	if (s->state == RS_AUTH)
		rsmtp_auth_line(s, s->line, n);
	else
		rsmtp_command(s, s->line, n);
	return 1;
}

/* rsession_bare - refuse message text with a bare CR or LF (reject mode) */
static void
rsession_bare(struct rsession *s, const char *what)
{
	log_info("%s: reject: [%s] sent a bare <%s> in the message text: "
	    "closing", s->qid, s->ip, what);
	rsession_reply(s, "521 5.5.2 %s Error: bare <%s> received",
	    s->rcv->hostname, what);
	rsmtp_reset(s);
	rsession_close(s);
}

/*
 * rsession_data_text - message text of one DATA piece or BDAT chunk part:
 * find bare CR/LF, refuse them or normalise them to CRLF, then store
 */
int
rsession_data_text(struct rsession *s, const char *buf, size_t k)
{
	char out[2 * RS_TEXT_PIECE + 2];
	size_t i, o = 0;
	char prev = s->last_byte;
	int normalize = s->rcv->cfg->smtp.bare_lf == CFG_BARE_LF_NORMALIZE;

	if (k > RS_TEXT_PIECE)
		panic("rsession_data_text: %zu bytes", k);
	for (i = 0; i < k; i++) {
		char c = buf[i];

		if (prev == '\r' && c != '\n') {
			if (!normalize) {
				rsession_bare(s, "CR");
				return -1;
			}
			out[o++] = '\n';
		}
		if (c == '\n' && prev != '\r') {
			if (!normalize) {
				rsession_bare(s, "LF");
				return -1;
			}
			out[o++] = '\r';
		}
		out[o++] = c;
		prev = c;
	}
	rsession_data_write(s, out, o);
	return 0;
}

/*
 * rsession_text_end - the BDAT text ended: a CR as its last byte is bare;
 * -1 when it was refused (the session is closing)
 */
int
rsession_text_end(struct rsession *s)
{
	if (s->last_byte != '\r')
		return 0;
	if (s->rcv->cfg->smtp.bare_lf != CFG_BARE_LF_NORMALIZE) {
		rsession_bare(s, "CR");
		return -1;
	}
	s->last_byte = '\n';
	rsession_data_write(s, "\n", 1);
	return 0;
}

/* rsession_data_piece - move n input bytes to the message; eol: ends a line */
void
rsession_data_piece(struct rsession *s, size_t n, int eol)
{
	struct evbuffer *in = bufferevent_get_input(s->bev);
	char buf[RS_TEXT_PIECE];
	int first = 1, crlf = 0;
	size_t k, off;

	while (n > 0) {
		k = n < sizeof(buf) ? n : sizeof(buf);
		if (evbuffer_remove(in, buf, k) != (int)k)
			panic("evbuffer_remove short read");
		n -= k;
		off = 0;
		if (first && s->line_start && s->prev_crlf && buf[0] == '.')
			off = 1;	/* dot-unstuffing */
		first = 0;
		if (eol && n == 0)
			crlf = (k >= 2 ? buf[k - 2] : s->last_byte) == '\r';
		if (k > off && rsession_data_text(s, buf + off, k - off) == -1) {
			evbuffer_drain(in, n);
			return;
		}
		s->last_byte = buf[k - 1];
		s->line_start = 0;
	}
	if (eol) {
		s->line_start = 1;
		s->prev_crlf = crlf;
	}
}

/*
 * rsession_header_scan - follow the end of the header in stored text; the
 * header is too big when it has grown past the limit at the end of one of
 * its lines or of the text given (buf may hold many lines)
 */
static void
rsession_header_scan(struct rsession *s, const char *buf, size_t len)
{
	size_t i, max = s->rcv->cfg->smtp.max_header_size;

	for (i = 0; i < len && s->in_header; i++) {
		s->header_bytes++;
		if (buf[i] == '\n') {
			if (s->hdr_line_empty)
				s->in_header = 0;
			else if (s->header_bytes > max)
				s->header_too_big = 1;
			s->hdr_line_empty = 1;
		} else if (buf[i] != '\r') {
			s->hdr_line_empty = 0;
		}
	}
	if (s->in_header && s->header_bytes > max)
		s->header_too_big = 1;
}

/* rsession_data_write - message bytes: count, check the limits, store */
void
rsession_data_write(struct rsession *s, const char *buf, size_t len)
{
	s->msg_bytes += len;
	if (s->too_big || s->header_too_big || s->write_errno || s->msg == NULL)
		return;
	if (s->msg_bytes > s->rcv->cfg->smtp.max_message_size) {
		s->too_big = 1;
		return;
	}
	rsession_header_scan(s, buf, len);
	if (s->header_too_big)
		return;
	if (spool_msg_write(s->msg, buf, len) == -1)
		s->write_errno = errno ? errno : EIO;
}

/* rsession_input - handle everything complete in the input buffer */
static void
rsession_input(struct rsession *s)
{
	for (;;) {
		int progress;

		if (evbuffer_get_length(bufferevent_get_output(s->bev)) >
		    RS_OUTPUT_MAX) {
			/* the client does not read its replies: stop reading */
			s->out_blocked = 1;
			rsession_read_stop(s);
			break;
		}
		if (s->state == RS_CMD || s->state == RS_AUTH)
			progress = rsession_line_input(s);
		else if (s->state == RS_DATA)
			progress = rsmtp_data_input(s);
		else if (s->state == RS_BDAT)
			progress = rsmtp_bdat_input(s);
		else
			break;
		if (!progress)
			break;
	}
}

/* rsession_read_cb - input arrived */
static void
rsession_read_cb(struct bufferevent *bev, void *arg)
{
	struct rsession *s = arg;

	if (s->state == RS_START) {
		rsession_greet(s);	/* refuses: the client talked first */
		rsession_maybe_free(s);
		return;
	}
	rsession_input(s);
	rsession_maybe_free(s);
}

/* rsession_write_cb - output drained by libevent */
static void
rsession_write_cb(struct bufferevent *bev, void *arg)
{
	struct rsession *s = arg;

	(void)bev;
	if (s->ssl == NULL)
		bufferevent_disable(s->bev, EV_WRITE);	/* rsession_kick_cb */
	rsession_drained(s);
}

/* rsession_drained - every queued reply is written; may free s */
static void
rsession_drained(struct rsession *s)
{
	if (s->out_blocked && s->state != RS_CLOSING && s->state != RS_COMMIT) {
		s->out_blocked = 0;
		rsession_read_start(s);
		rsession_input(s);
	}
	rsession_maybe_free(s);
}

/* rsession_tls_up - handshake done: log it, greet after implicit TLS */
static void
rsession_tls_up(struct rsession *s)
{
	char how[160];

	s->tls = 1;
	receiver_tls_describe(s->ssl, s->tls_desc, sizeof(s->tls_desc));
	log_info("TLS connection established from [%s]: %s", s->ip,
	    tlspolicy_describe(s->ssl, how, sizeof(how)));
	if (s->state == RS_START)
		rsession_greet_later(s);
}

/* rsession_tls_error - why a TLS connection failed, for the log */
static const char *
rsession_tls_error(struct rsession *s, char *buf, size_t len)
{
	unsigned long e = bufferevent_get_openssl_error(s->bev);

	if (e == 0)
		return "connection closed";
	ERR_error_string_n(e, buf, len);
	return buf;
}

/* rsession_event_cb - handshake done, EOF, error or timeout */
static void
rsession_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct rsession *s = arg;
	char err[256];

	if (what & BEV_EVENT_CONNECTED) {
		rsession_tls_up(s);
		rsession_maybe_free(s);
		return;
	}
	if ((what & BEV_EVENT_TIMEOUT) && (what & BEV_EVENT_READING) &&
	    s->state != RS_CLOSING && s->state != RS_COMMIT) {
		log_info("timeout from [%s] in %s", s->ip,
		    s->state == RS_DATA || s->state == RS_BDAT ? "DATA" :
		    "command phase");
		rsession_reply(s, "421 4.4.2 %s Error: timeout exceeded",
		    s->rcv->hostname);
		rsession_close(s);
		rsession_maybe_free(s);
		return;
	}
	if (s->state == RS_CLOSING && (what & BEV_EVENT_EOF) &&
	    !(what & BEV_EVENT_WRITING)) {
		/* the client half-closed after QUIT: still send our reply */
		rsession_maybe_free(s);
		return;
	}
	if (s->ssl != NULL && !s->tls && (what & BEV_EVENT_ERROR))
		log_info("TLS handshake failed from [%s]: %s", s->ip,
		    rsession_tls_error(s, err, sizeof(err)));
	else if (s->state != RS_CLOSING && s->state != RS_COMMIT)
		log_info("lost connection from [%s]%s", s->ip,
		    s->state == RS_DATA || s->state == RS_BDAT ? " in DATA" : "");
	if (s->state == RS_COMMIT) {
		rsession_read_stop(s);
		bufferevent_disable(bev, EV_READ | EV_WRITE);
		s->dead = 1;
		return;
	}
	rsession_free(s);
}

/* rsession_committed - the commit of this session's message ended */
void
rsession_committed(struct rsession *s, const char *qid, int ok)
{
	char from[RS_LOGTEXT];

	if (ok) {
		log_info("%s: from=<%s>, size=%llu, nrcpt=%zu, client=%s%s%s%s%s",
		    qid, rs_clean(from, sizeof(from), s->from), s->msg_bytes,
		    s->env.nrcpt, s->lst->web ? "web[" : "", s->ip,
		    s->lst->web ? "]" : "", s->auth_user ? ", sasl_username=" :
		    "", s->auth_user ? s->auth_user : "");
		s->nmessages++;
	} else {
		log_warnx("%s: commit failed: message from [%s] not accepted",
		    qid, s->ip);
	}
	if (s->dead) {
		rsession_free(s);
		return;
	}
	if (ok)
		rsession_reply(s, "250 2.0.0 Ok: queued as %s", qid);
	else
		rsession_reply(s, "451 4.3.0 Error: queue file write error");
	rsmtp_reset(s);
	s->state = RS_CMD;
	rsession_resume(s);
}

/* rsession_resume - see receiver_session.h */
void
rsession_resume(struct rsession *s)
{
	rsession_read_start(s);
	rsession_input(s);	/* commands pipelined behind */
	if (s->rcv->shutting_down && s->state == RS_CMD && !s->in_mail) {
		rsession_reply(s, "421 4.3.2 %s Service shutting down",
		    s->rcv->hostname);
		rsession_close(s);
	}
	rsession_maybe_free(s);
}

/* rsession_shutdown_all - see receiver_session.h */
void
rsession_shutdown_all(struct receiver *r, int force)
{
	struct rsession *s, *next;

	for (s = TAILQ_FIRST(&r->sessions); s != NULL; s = next) {
		next = TAILQ_NEXT(s, entry);
		if (force) {
			if (s->state == RS_COMMIT) {
				rsession_read_stop(s);
				bufferevent_disable(s->bev, EV_READ | EV_WRITE);
				s->dead = 1;
			} else if (!s->dead) {
				rsession_free(s);
			}
			continue;
		}
		if (s->state == RS_PROXY || s->state == RS_START ||
		    s->state == RS_SNIFF) {
			rsession_free(s);
		} else if (s->state == RS_CMD && !s->in_mail) {
			rsession_reply(s, "421 4.3.2 %s Service shutting down",
			    r->hostname);
			rsession_close(s);
			rsession_maybe_free(s);
		}
	}
}

/* rsession_new - set up a session on an accepted socket */
struct rsession *
rsession_new(struct receiver *r, evutil_socket_t fd, const struct sockaddr *sa,
    int salen, const struct receiver_listener *l, const char *auth_user)
{
	struct rsession *s = xcalloc(1, sizeof(*s));
	struct timeval life = { r->cfg->smtp.max_session_time, 0 };
	struct timeval ptv;
	int one = 1;

	s->rcv = r;
	s->lst = l;
	s->lcfg = l->cfg;
	s->fd = fd;
	net_ntop(sa, s->peer, sizeof(s->peer));
	snprintf(s->ip, sizeof(s->ip), "%s", s->peer);
	s->linecap = r->cfg->smtp.max_line_length;
	s->line = xmalloc(s->linecap + 1);
	/* a web submission: authenticated by the web child's login */
	if (auth_user != NULL)
		s->auth_user = xstrdup(auth_user);
	if (sa->sa_family == AF_INET || sa->sa_family == AF_INET6)
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	s->timer_ev = evtimer_new(r->base, rsession_timer_cb, s);
	s->life_ev = evtimer_new(r->base, rsession_life_cb, s);
	if (s->timer_ev == NULL || s->life_ev == NULL ||
	    evtimer_add(s->life_ev, &life) == -1)
		fatalx("cannot create session timers");
	TAILQ_INSERT_TAIL(&r->sessions, s, entry);
	r->nsessions++;
	(void)salen;
	if (!s->lcfg->proxy_protocol) {
		rsession_begin(s, sa);
		rsession_maybe_free(s);
		return s;
	}
	s->state = RS_PROXY;
	if (!net_list_match(&s->lcfg->proxy_trusted, sa)) {
		log_info("reject: [%s] on %s: not a trusted proxy: closing",
		    s->peer, l->name);
		rsession_free(s);
		return NULL;
	}
	ptv.tv_sec = s->lcfg->proxy_timeout;
	ptv.tv_usec = 0;
	s->proxy_ev = event_new(r->base, fd, EV_READ | EV_PERSIST,
	    rsession_proxy_cb, s);
	if (s->proxy_ev == NULL || event_add(s->proxy_ev, NULL) == -1 ||
	    evtimer_add(s->timer_ev, &ptv) == -1)
		fatalx("cannot watch for the PROXY header");
	return s;
}
