/*
 * receiver_session.h - one ESMTP session of the receiver
 *
 * receiver_session.c owns the life of a connection: the PROXY header
 * (proxy.h), TLS (implicit or after STARTTLS), the greeting (with its
 * optional delay; a client that talks first is refused), timers, the
 * input loop and the end of the session.  receiver_smtp.c owns what is
 * said on it: commands, AUTH exchanges, DATA and BDAT text, relay policy,
 * the envelope and the Received: header.  Both share struct rsession;
 * nothing outside the receiver includes this header.
 *
 * A session reads commands (PIPELINING: every complete line in the input
 * buffer, in order, except after a command that must end a group), streams
 * message text into a spool tmp file, and at the end of the message parks
 * itself until the commit thread has made it durable; only then is 250
 * sent.
 */
#ifndef GW_RECEIVER_SESSION_H
#define GW_RECEIVER_SESSION_H

#include <sys/queue.h>
#include <sys/socket.h>

#include <event2/util.h>
#include <openssl/ssl.h>

#include "addr.h"
#include "envelope.h"
#include "proxy.h"
#include "smtp_parse.h"
#include "spool.h"

struct receiver;
struct receiver_listener;
struct cfg_listener;
struct rauth;
struct rdns_query;

#define RS_HELO_MAX	255		/* HELO text kept */
#define RS_LOGTEXT	300		/* cleaned client text in log lines */
#define RS_OUTPUT_MAX	(64 * 1024)	/* unread replies before we stop reading */
#define RS_TEXT_PIECE	8192		/* message text handled at a time */

enum rs_state {
	RS_PROXY,			/* reading the PROXY header, no bufferevent yet */
	RS_START,			/* TLS handshake or greeting delay: client must wait */
	RS_CMD,				/* command lines */
	RS_AUTH,			/* SASL response lines */
	RS_DATA,			/* message text after DATA */
	RS_BDAT,			/* the bytes of a BDAT chunk */
	RS_COMMIT,			/* parked until the message is durable */
	RS_AUTHWAIT,			/* parked until saslauthd answers */
	RS_RCPTWAIT,			/* parked until the router answers a RCPT check */
	RS_CLOSING,			/* last reply queued; freed once written */
	RS_SNIFF,			/* implicit_tls_detect: TLS or plain? no bufferevent yet */
	RS_DNSWAIT			/* MAIL parked until the FCrDNS answer */
};

struct rsession {
	TAILQ_ENTRY(rsession) entry;
	struct receiver *rcv;
	const struct receiver_listener *lst;
	const struct cfg_listener *lcfg;
	evutil_socket_t fd;
	struct bufferevent *bev;	/* plain, or OpenSSL over fd */
	SSL *ssl;
	int tls;			/* handshake done */
	char tls_desc[128];		/* "TLSv1.3:TLS_AES_256_GCM_SHA384" */
	enum rs_state state;
	int dead;			/* client gone while the commit runs */
	int begun;			/* past the PROXY header: counted per client */
	int out_blocked;		/* reading paused: client does not read replies */
	char ip[64];			/* client (from the PROXY header if any) */
	char peer[64];			/* TCP peer */
	int relay_ok;			/* client is in relay.allow */
	int anon_ok;			/* may send without AUTH (require_auth, anonymous_allow) */
	struct rdns_query *dnsq;	/* FCrDNS lookup under way, or NULL */
	int limits_exempt;		/* no rate limits (receiver_limits.h) */
	long long mail_size;		/* SIZE= of MAIL, -1 when not given */
	struct event *timer_ev;		/* PROXY deadline, greeting delay */
	struct event *kick_ev;		/* plain: write replies (rsession_kick) */
	struct event *proxy_ev;		/* fd readable while in RS_PROXY */
	struct event *life_ev;		/* smtp.max_session_time */
	struct event *read_ev;		/* plain: the socket read (rsession_read_cb) */
	int reading;			/* plain: read_ev is added */
	unsigned char proxy_buf[PROXY_MAX];
	size_t proxy_have;

	int esmtp;			/* EHLO (else HELO) */
	char helo[RS_HELO_MAX + 1];	/* cleaned; "" before HELO/EHLO */

	struct rauth *auth;		/* AUTH exchange in progress */
	char *auth_user;		/* authenticated identity, NULL if none */

	/* transaction */
	int in_mail;
	int tx_counted;			/* in the receiver's open_tx */
	char from[ADDR_BUFLEN];
	enum smtp_body body;
	int smtputf8;
	enum smtp_ret ret;
	char envid[SMTP_ENVID_MAX + 1];
	struct envelope env;		/* recipients; the rest filled at DATA */
	struct spool_msg *msg;
	char qid[SPOOL_QID_LEN + 1];
	unsigned long long msg_bytes;	/* client bytes after unstuffing */
	int too_big;
	int header_too_big;
	int write_errno;
	int line_start;			/* next data byte starts a line */
	int prev_crlf;			/* the previous data line ended in CRLF */
	char last_byte;			/* last data byte consumed */
	int in_header;			/* still in the message header */
	int hdr_line_empty;		/* current header line has no text yet */
	unsigned long long header_bytes;
	int bdat_mode;			/* this transaction uses BDAT */
	unsigned long long bdat_left;	/* bytes of the current chunk to read */
	int bdat_last;
	const char *bdat_error;		/* reply after a refused chunk */

	/* command input */
	char *line;			/* one command line (max_line_length) */
	size_t linecap;
	int discard;			/* skipping the rest of an overlong line */

	/* RCPT-time check (receiver_rcpt.c) */
	unsigned long long rcpt_id;	/* the check waited for, 0 none */
	int rcpt_data;			/* it is the end-of-DATA check */
	char rcpt_addr[ADDR_BUFLEN];
	char rcpt_notify[SMTP_NOTIFY_MAX];
	char rcpt_orcpt[SMTP_ORCPT_MAX + 1];
	struct event *rcpt_ev;		/* its timeout */

	/* counters for limits and the disconnect log line */
	size_t ncommands;		/* non-mail commands since the last MAIL */
	size_t nerrors;
	size_t nmessages;
	size_t nrejected;
	size_t ntotal;			/* every command */
};

/* receiver_session.c */
/* auth_user: a web submission, authenticated as that user (else NULL) */
struct rsession *rsession_new(struct receiver *, evutil_socket_t fd,
    const struct sockaddr *sa, int salen, const struct receiver_listener *,
    const char *auth_user);
/*
 * The commit of the session's message ended: reply 250 (ok) or 451 and
 * resume reading, or free the session if its client went away meanwhile.
 */
void rsession_committed(struct rsession *, const char *qid, int ok);
/* Back to commands after a parked state: read again, run pipelined input. */
void rsession_resume(struct rsession *);
/*
 * Park the session (a lookup, AUTH or the commit under way): its input is
 * not handled until rsession_resume.  A TLS session stops reading; a plain
 * one goes on reading into its buffer (RS_READ_MAX at most), so that a
 * parked session costs no change of the event set.
 */
void rsession_hold(struct rsession *);
/*
 * Shutdown: without force, sessions outside a transaction get 421 and
 * close, the others finish their transaction first; with force every
 * session is closed now (one waiting for its commit is freed when the
 * commit ends).
 */
void rsession_shutdown_all(struct receiver *, int force);
void rsession_reply(struct rsession *, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void rsession_close(struct rsession *);
/* Bytes the client sent that are not handled yet. */
size_t rsession_pending(struct rsession *);
/* Throw away pending input (returns how many bytes). */
size_t rsession_discard_input(struct rsession *);
/* STARTTLS accepted: 220 sent, pending plaintext dropped, TLS starts. */
void rsession_starttls(struct rsession *);
/* Move n input bytes to the message (DATA: eol when they end a line). */
void rsession_data_piece(struct rsession *, size_t n, int eol);
/*
 * Message text (DATA or BDAT, at most RS_TEXT_PIECE bytes, after s->last_byte):
 * a bare CR or LF is refused (521, session closed: -1) or stored as CRLF
 * under smtp.bare_lf; the caller sets s->last_byte to the last byte given.
 */
int rsession_data_text(struct rsession *, const char *buf, size_t len);
/* The end of BDAT text: a trailing CR is bare (-1: refused, closing). */
int rsession_text_end(struct rsession *);
/* Message text of the current transaction: count, limit, store. */
void rsession_data_write(struct rsession *, const char *buf, size_t len);
const char *rs_clean(char *dst, size_t dstlen, const char *src);

/* receiver_smtp.c */
void rsmtp_command(struct rsession *, const char *line, size_t len);
void rsmtp_auth_line(struct rsession *, const char *line, size_t len);
int rsmtp_data_input(struct rsession *);
int rsmtp_bdat_input(struct rsession *);
void rsmtp_reset(struct rsession *);
void rsmtp_count_error(struct rsession *);
/* The recipient into the envelope (or 452 at the limit), then 250. */
void rsmtp_rcpt_add(struct rsession *, const char *addr, const char *notify,
    const char *orcpt);
/* Hand the finished message to the commit thread (RS_COMMIT). */
void rsmtp_commit(struct rsession *);

/* receiver_rcpt.c */
/*
 * Ask the router what would become of the recipient (IPC_RCPT_CHECK
 * through the master); the session reads nothing until the answer or
 * smtp.rcpt_check_timeout (451), like RS_AUTHWAIT.
 */
void rrcpt_ask(struct rsession *, const char *addr, const char *notify,
    const char *orcpt);
/*
 * The end of DATA for a client neither authenticated nor in relay.allow:
 * ask the router to route the flushed, uncommitted message (IPC_DATA_CHECK);
 * when every recipient would fail permanently it is refused (550) and
 * removed, else committed; on timeout committed.  0 when not asked (the
 * caller commits), 1 parked.
 */
int rrcpt_data_ask(struct rsession *);
/* IPC_RCPT_ANSWER: answer the session that asked, if it still waits. */
void rrcpt_answer(struct receiver *, const char *const *sv, int n);

#endif
