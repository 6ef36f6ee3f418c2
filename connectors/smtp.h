/*
 * smtp.h - internals of the "smtp" relay connector (not installed)
 *
 * The connector is split by concern, all linked into smtp.so:
 *   smtp.c          settings, init/fini, deliver(): the connection cache
 *   smtp_session.c  one SMTP session: connect with failover, greeting,
 *                   EHLO, STARTTLS, AUTH, the MAIL/RCPT/DATA transaction
 *   smtp_auth.c     client AUTH through libsasl2
 *   smtp_io.c       buffered socket and TLS I/O with deadlines
 *   smtp_reply.c    the bounded reply parser (no I/O; unit-tested)
 *   smtp_enc.c      the DATA encoder: CRLF, dot-stuffing, long lines;
 *                   xtext and the DSN parameters (no I/O; unit-tested)
 *   smtp_mime.c     8-bit text to quoted-printable for upstreams without
 *                   8BITMIME (smtp_mime.h; no I/O; unit-tested)
 */
#ifndef GW_SMTP_H
#define GW_SMTP_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

#include <openssl/ssl.h>

#define SMTP_REPLY_LINE_MAX	2048	/* one reply line, CRLF included */
#define SMTP_REPLY_MAX_LINES	100	/* lines of one multi-line reply */
#define SMTP_REPLY_TEXT_MAX	512	/* text kept of one reply */
#define SMTP_OUT_LINE_MAX	998	/* RFC 5322 2.1.1, CRLF excluded */
#define SMTP_AUTH_MECHS_MAX	256
#define SMTP_HOSTS_MAX		16

/* ---- smtp_reply.c ---- */

/* EHLO keywords the client uses. */
struct smtp_caps {
	int pipelining, eightbitmime, smtputf8, starttls, enhanced, dsn;
	unsigned long long size;	/* SIZE limit, 0 = none announced */
	char auth[SMTP_AUTH_MECHS_MAX];	/* AUTH mechanisms, space separated */
};

/* One (possibly multi-line) reply being assembled. */
struct smtp_reply {
	int code;			/* 200..599, 0 before the first line */
	char status[16];		/* enhanced status "X.Y.Z" or "" */
	char text[SMTP_REPLY_TEXT_MAX];	/* lines joined by a space, capped */
	size_t textlen;
	unsigned int nlines;
	int done;
};

void smtp_reply_init(struct smtp_reply *);
/*
 * Add one reply line (without its CRLF).  Returns 1 when the reply is
 * complete, 0 when a continuation line must follow, -1 when the line is
 * malformed (*why says how).  With caps, lines after the first are read
 * as EHLO keywords.
 */
int smtp_reply_line(struct smtp_reply *, const char *line, size_t len,
    struct smtp_caps *caps, const char **why);

/* ---- smtp_enc.c ---- */

/*
 * The DATA encoder: any of CRLF, LF or a bare CR ends a line and goes out
 * as CRLF; a line starting with "." gets another one; a line longer than
 * SMTP_OUT_LINE_MAX octets is broken: a header line is folded (CRLF and a
 * space), a body line is split with CRLF.
 */
struct smtp_enc {
	int cr;				/* a CR is pending */
	int in_headers;
	size_t linelen;			/* octets on the current output line */
	unsigned long long folded;	/* lines that were broken */
};

/* Worst-case output of n input bytes. */
#define SMTP_ENC_OUTMAX(n)	((n) * 5 + 8)

void smtp_enc_init(struct smtp_enc *);
/* Encode n bytes into out (room for SMTP_ENC_OUTMAX(n)); returns bytes out. */
size_t smtp_enc_feed(struct smtp_enc *, const void *in, size_t n, char *out);
/* End the data: the last line's CRLF if missing, then ".\r\n"; out >= 8. */
size_t smtp_enc_finish(struct smtp_enc *, char *out);
/* Does buf hold a byte >= 0x80? */
int smtp_has_8bit(const void *buf, size_t n);
/* xtext (RFC 3461 4) of in into out; -1 when it does not fit. */
int smtp_xtext(char *out, size_t outlen, const char *in);
/*
 * The DSN parameters (RFC 3461) of MAIL FROM (" RET=.. ENVID=..") or of
 * RCPT TO (" NOTIFY=.. ORCPT=..") from the stored values (any may be
 * NULL; a malformed one is left out); "" when none.  -1 if out is small.
 */
int smtp_dsn_mail_params(char *out, size_t outlen, const char *ret,
    const char *envid);
int smtp_dsn_rcpt_params(char *out, size_t outlen, const char *notify,
    const char *orcpt);

/* ---- smtp_io.c ---- */

struct smtp_io {
	int fd;
	SSL *ssl;
	char rbuf[8192];
	size_t rpos, rlen;
	char *wbuf;
	size_t wlen, wcap;
	char err[256];			/* why the last call failed */
	int verified;			/* TLS: chain and host name checked */
	char verify_err[128];		/* TLS: why not verified */
};

void smtp_io_init(struct smtp_io *);
/* Connect to one address within timeout seconds; -1 with io->err. */
int smtp_io_connect(struct smtp_io *, const struct sockaddr *, socklen_t,
    int timeout);
/* Queue bytes; written out by smtp_io_flush (or when the buffer fills). */
int smtp_io_write(struct smtp_io *, const void *, size_t, int timeout);
int smtp_io_printf(struct smtp_io *, int timeout, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int smtp_io_vprintf(struct smtp_io *, int timeout, const char *fmt, va_list)
    __attribute__((format(printf, 3, 0)));
int smtp_io_flush(struct smtp_io *, int timeout);
/* Read one complete reply within timeout seconds; -1 with io->err. */
int smtp_io_reply(struct smtp_io *, struct smtp_reply *, struct smtp_caps *,
    int timeout);
/*
 * TLS handshake; the chain and verify_name are checked (io->verified),
 * and verify != 0 makes a failed check fail the handshake.
 */
int smtp_io_starttls(struct smtp_io *, SSL_CTX *, const char *sni,
    const char *verify_name, int verify, int timeout);
/* Is an idle connection still usable (no EOF, no unsolicited bytes)? */
int smtp_io_alive(struct smtp_io *);
void smtp_io_close(struct smtp_io *);

/* ---- smtp.c / smtp_session.c ---- */

enum smtp_tls { SMTP_TLS_NONE, SMTP_TLS_OPPORTUNISTIC, SMTP_TLS_REQUIRED };
/* auth.tls: the channel AUTH needs (Postfix's smtp_sasl_tls_security_options) */
enum smtp_auth_tls {
	SMTP_AUTH_TLS_VERIFY,		/* TLS with a verified certificate */
	SMTP_AUTH_TLS_ENCRYPT,		/* any TLS */
	SMTP_AUTH_TLS_NONE		/* cleartext allowed as well */
};

struct smtp_host {
	char name[256];			/* host name or numeric address */
	char port[8];
};

/* A cached session (one per delivery child). */
struct smtp_conn {
	struct smtp_io io;
	struct smtp_caps caps;
	size_t host;			/* index into hosts */
	char label[320];		/* "name[addr]:port" for messages */
	unsigned int nmessages;
	time_t last_used;
	int tls;
	int rset;			/* RSET goes ahead of the next MAIL */
};

struct smtp {
	struct smtp_host hosts[SMTP_HOSTS_MAX];
	size_t nhosts;
	/*
	 * Per host: skipped until then after a failure.  Shared memory made
	 * by init() in the worker, so every delivery child forked after it
	 * sees what one of them learnt (dead_local if mmap failed).
	 */
	time_t *dead_until;
	time_t dead_local[SMTP_HOSTS_MAX];
	char helo[256];
	enum smtp_tls starttls;
	char *ca_file;
	int verify;			/* -1 until set: default per starttls */
	char *verify_name;
	char *tls_min_version;		/* tlspolicy.h: NULL = its default */
	char *tls_max_version;
	char *tls_ciphers;
	char *tls_ciphersuites;
	char *username;
	char *password;
	size_t passlen;
	char mechanisms[SMTP_AUTH_MECHS_MAX];
	int auth_cleartext;
	enum smtp_auth_tls auth_tls;
	int t_connect, t_greeting, t_command, t_data;
	time_t host_skip, idle_timeout;
	unsigned int max_messages;
	SSL_CTX *ssl_ctx;
	struct smtp_conn *conn;		/* the cached session or NULL */
	int checking;			/* check(): parse only, read no secret */
};

/* Outcome of a failed session step: the code/status the rcpts get. */
struct smtp_fail {
	int code;
	char status[16];
	char text[SMTP_REPLY_TEXT_MAX + 256];
};

/* smtp_session.c */
struct gw_envelope;
struct gw_message;
struct smtp_conn *smtp_session_open(struct smtp *, struct smtp_fail *);
int smtp_session_reset(struct smtp *, struct smtp_conn *);
void smtp_session_close(struct smtp *, struct smtp_conn *, int quit);
/*
 * One transaction for every recipient; -1 when the session is unusable
 * after, SMTP_STALE when the RSET sent ahead of it (a reused session)
 * failed: nothing was settled, the job goes to a new session.
 */
#define SMTP_STALE	(-2)
int smtp_session_send(struct smtp *, struct smtp_conn *,
    const struct gw_envelope *, struct gw_message *);
void smtp_fail_set(struct smtp_fail *, int code, const char *status,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* smtp_auth.c */
int smtp_auth_init(char *err, size_t errlen);
/* May AUTH go over this session (auth.tls)?  0, or -1 with f set. */
int smtp_auth_channel(const struct smtp *, const struct smtp_conn *,
    struct smtp_fail *);
/* AUTH on an open session; -1 with f set (the host failed). */
int smtp_auth(struct smtp *, struct smtp_conn *, struct smtp_fail *);

#endif
