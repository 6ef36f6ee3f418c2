/*
 * tlsload.c - SMTP load generator and sink that speak STARTTLS (benchmark
 * only, never installed)
 *
 * Postfix's smtp-source and smtp-sink, which `make bench` uses for plain
 * SMTP, cannot do STARTTLS.  This is the same pair for the TLS scenario of
 * bench/run-bench.py, kept small and cheap in CPU because it shares the
 * machine with the target being measured:
 *
 *   tlsload client [-s sessions] [-m messages] [-l bytes] [-f from] [-t to]
 *           [-M helo] [-x seconds] host:port
 *	N messages of B bytes over S concurrent sessions (one thread each),
 *	one connection per message as smtp-source does: EHLO, STARTTLS (a
 *	server that does not offer it is an error), EHLO, MAIL, RCPT, DATA,
 *	QUIT.  Prints the count, the errors and the time; exits 0 only when
 *	every message got its 250.
 *
 *   tlsload sink -C cert.pem -K key.pem [-r] [-x seconds] host:port
 *	Offers STARTTLS, accepts every message and prints
 *	"mesg=N tls=T refused=R conns=C" on stdout whenever a count changed
 *	(at most every 20 ms), as smtp-sink -c prints its counter.  With -r,
 *	MAIL before STARTTLS is refused with 530 (counted in refused).  One
 *	thread per connection, at most SINK_MAX_CONNS at a time.
 *
 * Both exit after -x seconds (default 3600) in any case.  TLS: OpenSSL's
 * defaults (TLS 1.3 and its default suites), one SSL_CTX per process, no
 * certificate check by the client and no session resumption (a full
 * handshake per message, as a scanner that connects once per job).
 * Addresses are numeric IPv4 only: the benchmark talks to 127.0.0.1.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#define LINE_MAX_LEN	4096		/* command and reply lines */
#define IO_TIMEOUT	120		/* seconds per read or write */
#define SINK_MAX_CONNS	512
#define MAX_SESSIONS	1000
#define MAX_BYTES	(64 * 1024 * 1024)

/* one connection, plain or TLS, with a read and a write buffer */
struct conn {
	int fd;
	SSL *ssl;
	char in[16384];
	size_t ipos, ilen;
	char out[8192];
	size_t olen;
};

static atomic_ulong n_mesg, n_tls, n_refused, n_conns, n_errors;
static atomic_int n_active;
static atomic_ulong next_msg;

static void die(const char *, ...)
    __attribute__((format(printf, 1, 2), noreturn));

/* die - print and exit 2 (setup errors only) */
static void
die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "tlsload: ");
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	ERR_print_errors_fp(stderr);
	exit(2);
}

/* parse_addr - "a.b.c.d:port" into sin */
static void
parse_addr(const char *s, struct sockaddr_in *sin)
{
	char host[64];
	const char *colon = strrchr(s, ':');
	long port;

	if (colon == NULL || (size_t)(colon - s) >= sizeof(host))
		die("bad address %s (want 127.0.0.1:port)", s);
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = '\0';
	port = strtol(colon + 1, NULL, 10);
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_port = htons((unsigned short)port);
	if (port <= 0 || port > 65535 || inet_pton(AF_INET, host,
	    &sin->sin_addr) != 1)
		die("bad address %s (want 127.0.0.1:port)", s);
}

/* set_timeouts - bound every blocking read and write */
static void
set_timeouts(int fd)
{
	struct timeval tv = { IO_TIMEOUT, 0 };
	int one = 1;

	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

/* conn_write - write all of buf; -1 on error */
static int
conn_write(struct conn *c, const char *buf, size_t len)
{
	ssize_t n;
	int r;

	while (len > 0) {
		if (c->ssl != NULL) {
			r = SSL_write(c->ssl, buf, len > INT32_MAX ?
			    INT32_MAX : (int)len);
			if (r <= 0)
				return -1;
			n = r;
		} else if ((n = send(c->fd, buf, len, MSG_NOSIGNAL)) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* conn_flush - send the buffered replies or commands */
static int
conn_flush(struct conn *c)
{
	int r = c->olen ? conn_write(c, c->out, c->olen) : 0;

	c->olen = 0;
	return r;
}

/* conn_put - buffer a string, flushing when the buffer is full */
static int
conn_put(struct conn *c, const char *s)
{
	size_t len = strlen(s);

	if (c->olen + len > sizeof(c->out) && conn_flush(c) == -1)
		return -1;
	if (len > sizeof(c->out))
		return conn_write(c, s, len);
	memcpy(c->out + c->olen, s, len);
	c->olen += len;
	return 0;
}

/* conn_fill - read more input (buffered replies are flushed first) */
static int
conn_fill(struct conn *c)
{
	ssize_t n;
	int r;

	if (conn_flush(c) == -1)
		return -1;
	if (c->ipos > 0) {
		memmove(c->in, c->in + c->ipos, c->ilen - c->ipos);
		c->ilen -= c->ipos;
		c->ipos = 0;
	}
	if (c->ilen == sizeof(c->in))
		return -1;
	for (;;) {
		if (c->ssl != NULL) {
			r = SSL_read(c->ssl, c->in + c->ilen,
			    (int)(sizeof(c->in) - c->ilen));
			n = r > 0 ? r : -1;
		} else {
			n = recv(c->fd, c->in + c->ilen,
			    sizeof(c->in) - c->ilen, 0);
			if (n < 0 && errno == EINTR)
				continue;
		}
		break;
	}
	if (n <= 0)
		return -1;
	c->ilen += (size_t)n;
	return 0;
}

/*
 * conn_line - the next line (CRLF or LF stripped) into line; -1 on EOF,
 * error or a line longer than LINE_MAX_LEN.
 */
static int
conn_line(struct conn *c, char *line)
{
	char *nl;
	size_t len;

	while ((nl = memchr(c->in + c->ipos, '\n', c->ilen - c->ipos)) == NULL)
		if (c->ilen - c->ipos >= LINE_MAX_LEN || conn_fill(c) == -1)
			return -1;
	len = (size_t)(nl - (c->in + c->ipos));
	if (len >= LINE_MAX_LEN)
		return -1;
	memcpy(line, c->in + c->ipos, len);
	c->ipos += len + 1;
	if (len > 0 && line[len - 1] == '\r')
		len--;
	line[len] = '\0';
	return 0;
}

/* conn_close - shut TLS down quietly and close */
static void
conn_close(struct conn *c)
{
	if (c->ssl != NULL) {
		(void)SSL_shutdown(c->ssl);
		SSL_free(c->ssl);
		c->ssl = NULL;
	}
	if (c->fd != -1)
		close(c->fd);
	c->fd = -1;
}

/* ---- client ------------------------------------------------------------ */

struct client {
	SSL_CTX *ctx;
	struct sockaddr_in sin;
	unsigned long messages;
	size_t bytes;
	const char *from, *to, *helo;
	char *body;			/* bytes of X lines, then ".\r\n" */
	size_t body_len;
};

/* client_reply - read one reply; its code, or -1; *tls set if STARTTLS */
static int
client_reply(struct conn *c, int *tls)
{
	char line[LINE_MAX_LEN];

	for (;;) {
		if (conn_line(c, line) == -1 || strlen(line) < 3)
			return -1;
		if (tls != NULL && strlen(line) > 4 &&
		    strncasecmp(line + 4, "STARTTLS", 8) == 0)
			*tls = 1;
		if (line[3] != '-')
			return atoi(line);
	}
}

/* client_step - send cmd (if any), want the reply code; 0 or -1 */
static int
client_step(struct conn *c, const char *cmd, int want, const char **what)
{
	int code;

	*what = cmd ? cmd : "greeting";
	if (cmd != NULL && (conn_put(c, cmd) == -1 || conn_put(c, "\r\n") == -1))
		return -1;
	if ((code = client_reply(c, NULL)) != want)
		return -1;
	return 0;
}

/* client_starttls - EHLO, STARTTLS and the handshake; 0 or -1 */
static int
client_starttls(struct client *cl, struct conn *c, const char **what)
{
	char cmd[LINE_MAX_LEN];
	int tls = 0;

	snprintf(cmd, sizeof(cmd), "EHLO %s\r\n", cl->helo);
	*what = "EHLO";
	if (conn_put(c, cmd) == -1 || client_reply(c, &tls) != 250)
		return -1;
	*what = "STARTTLS (not offered)";
	if (!tls)
		return -1;
	if (client_step(c, "STARTTLS", 220, what) == -1)
		return -1;
	*what = "TLS handshake";
	if (c->ipos != c->ilen || (c->ssl = SSL_new(cl->ctx)) == NULL ||
	    SSL_set_fd(c->ssl, c->fd) != 1 || SSL_connect(c->ssl) != 1)
		return -1;
	atomic_fetch_add(&n_tls, 1);
	return 0;
}

/* client_message - one connection, one message; 0 or -1 */
static int
client_message(struct client *cl, struct conn *c, unsigned long i)
{
	char cmd[LINE_MAX_LEN];
	const char *what = "connect";

	c->ipos = c->ilen = c->olen = 0;
	c->ssl = NULL;
	if ((c->fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		goto fail;
	set_timeouts(c->fd);
	if (connect(c->fd, (struct sockaddr *)&cl->sin, sizeof(cl->sin)) == -1)
		goto fail;
	if (client_step(c, NULL, 220, &what) == -1 ||
	    client_starttls(cl, c, &what) == -1)
		goto fail;
	snprintf(cmd, sizeof(cmd), "EHLO %s", cl->helo);
	if (client_step(c, cmd, 250, &what) == -1)
		goto fail;
	snprintf(cmd, sizeof(cmd), "MAIL FROM:<%s>", cl->from);
	if (client_step(c, cmd, 250, &what) == -1)
		goto fail;
	snprintf(cmd, sizeof(cmd), "RCPT TO:<%s>", cl->to);
	if (client_step(c, cmd, 250, &what) == -1 ||
	    client_step(c, "DATA", 354, &what) == -1)
		goto fail;
	snprintf(cmd, sizeof(cmd), "From: <%s>\r\nTo: <%s>\r\nSubject: tlsload "
	    "%lu\r\nMessage-ID: <%lu.%ld@tlsload>\r\n\r\n", cl->from, cl->to,
	    i, i, (long)getpid());
	what = "message";
	if (conn_put(c, cmd) == -1 || conn_flush(c) == -1 ||
	    conn_write(c, cl->body, cl->body_len) == -1 ||
	    client_reply(c, NULL) != 250)
		goto fail;
	atomic_fetch_add(&n_mesg, 1);
	(void)client_step(c, "QUIT", 221, &what);
	conn_close(c);
	return 0;
fail:
	fprintf(stderr, "tlsload: message %lu: %s failed%s%s\n", i, what,
	    errno ? ": " : "", errno ? strerror(errno) : "");
	ERR_print_errors_fp(stderr);
	conn_close(c);
	return -1;
}

/* client_thread - one session: messages until there are none left */
static void *
client_thread(void *arg)
{
	struct client *cl = arg;
	struct conn *c = calloc(1, sizeof(*c));
	unsigned long i;

	if (c == NULL)
		die("out of memory");
	c->fd = -1;
	while ((i = atomic_fetch_add(&next_msg, 1)) < cl->messages) {
		errno = 0;
		if (client_message(cl, c, i) == 0)
			continue;
		atomic_fetch_add(&n_errors, 1);
		atomic_store(&next_msg, cl->messages);	/* stop all */
	}
	free(c);
	return NULL;
}

/* client_body - bytes of 78 X and CRLF per line, then the final dot */
static void
client_body(struct client *cl)
{
	size_t lines = cl->bytes / 80 ? cl->bytes / 80 : 1, i;

	cl->body_len = lines * 80 + 3;
	if ((cl->body = malloc(cl->body_len)) == NULL)
		die("out of memory");
	for (i = 0; i < lines; i++) {
		memset(cl->body + i * 80, 'X', 78);
		memcpy(cl->body + i * 80 + 78, "\r\n", 2);
	}
	memcpy(cl->body + lines * 80, ".\r\n", 3);
}

/* client_main - run the load; exit 0 when every message went */
static int
client_main(int argc, char **argv)
{
	struct client cl = { .messages = 100, .bytes = 10240,
	    .from = "bench-sender@example.com", .to = "bench-rcpt@example.net",
	    .helo = "bench-client.localdomain" };
	pthread_t tid[MAX_SESSIONS];
	struct timespec t0, t1;
	long sessions = 1, limit = 3600;
	double secs;
	int ch, k;

	while ((ch = getopt(argc, argv, "s:m:l:f:t:M:x:")) != -1) {
		switch (ch) {
		case 's': sessions = strtol(optarg, NULL, 10); break;
		case 'm': cl.messages = strtoul(optarg, NULL, 10); break;
		case 'l': cl.bytes = strtoul(optarg, NULL, 10); break;
		case 'f': cl.from = optarg; break;
		case 't': cl.to = optarg; break;
		case 'M': cl.helo = optarg; break;
		case 'x': limit = strtol(optarg, NULL, 10); break;
		default: die("usage: tlsload client [-s sessions] [-m messages] "
		    "[-l bytes] [-f from] [-t to] [-M helo] [-x secs] host:port");
		}
	}
	if (optind != argc - 1 || sessions < 1 || sessions > MAX_SESSIONS ||
	    cl.bytes > MAX_BYTES || limit < 1)
		die("client: bad arguments (sessions 1..%d, bytes <= %d)",
		    MAX_SESSIONS, MAX_BYTES);
	parse_addr(argv[optind], &cl.sin);
	alarm((unsigned int)limit);
	client_body(&cl);
	if ((cl.ctx = SSL_CTX_new(TLS_client_method())) == NULL)
		die("SSL_CTX_new");
	SSL_CTX_set_verify(cl.ctx, SSL_VERIFY_NONE, NULL);
	SSL_CTX_set_session_cache_mode(cl.ctx, SSL_SESS_CACHE_OFF);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (k = 0; k < sessions; k++)
		if (pthread_create(&tid[k], NULL, client_thread, &cl) != 0)
			die("pthread_create");
	for (k = 0; k < sessions; k++)
		pthread_join(tid[k], NULL);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("tlsload client: %lu messages, %lu TLS sessions, %lu errors, "
	    "%.3f s, %.1f msg/s\n", atomic_load(&n_mesg), atomic_load(&n_tls),
	    atomic_load(&n_errors), secs,
	    secs > 0 ? atomic_load(&n_mesg) / secs : 0.0);
	SSL_CTX_free(cl.ctx);
	free(cl.body);
	return atomic_load(&n_errors) == 0 &&
	    atomic_load(&n_mesg) == cl.messages ? 0 : 1;
}

/* ---- sink ---------------------------------------------------------------- */

static SSL_CTX *sink_ctx;
static int sink_require;

/* sink_data - swallow the message up to the lone dot; 0 or -1 */
static int
sink_data(struct conn *c)
{
	int bol = 1;
	char *nl;
	size_t len;

	for (;;) {
		if (c->ipos == c->ilen && conn_fill(c) == -1)
			return -1;
		nl = memchr(c->in + c->ipos, '\n', c->ilen - c->ipos);
		len = nl ? (size_t)(nl - (c->in + c->ipos)) + 1 :
		    c->ilen - c->ipos;
		if (bol && nl != NULL && (len == 2 || len == 3) &&
		    memcmp(c->in + c->ipos, len == 3 ? ".\r\n" : ".\n",
		    len) == 0) {
			c->ipos += len;
			return 0;
		}
		if (bol && nl == NULL && len < 3 && c->in[c->ipos] == '.') {
			if (conn_fill(c) == -1)	/* a dot line split */
				return -1;
			continue;
		}
		c->ipos += len;
		bol = nl != NULL;
	}
}

/* sink_starttls - 220, then the server handshake; 0 or -1 */
static int
sink_starttls(struct conn *c)
{
	if (conn_put(c, "220 2.0.0 Ready to start TLS\r\n") == -1 ||
	    conn_flush(c) == -1 || c->ipos != c->ilen)
		return -1;
	if ((c->ssl = SSL_new(sink_ctx)) == NULL ||
	    SSL_set_fd(c->ssl, c->fd) != 1 || SSL_accept(c->ssl) != 1)
		return -1;
	atomic_fetch_add(&n_tls, 1);
	return 0;
}

/* sink_command - answer one command; 1 to end the session, -1 on error */
static int
sink_command(struct conn *c, const char *line)
{
	if (strncasecmp(line, "EHLO", 4) == 0)
		return conn_put(c, c->ssl ? "250-tlsload-sink\r\n250-PIPELINING"
		    "\r\n250 8BITMIME\r\n" : "250-tlsload-sink\r\n"
		    "250-PIPELINING\r\n250-8BITMIME\r\n250 STARTTLS\r\n");
	if (strncasecmp(line, "STARTTLS", 8) == 0)
		return c->ssl ? conn_put(c, "503 5.5.1 TLS already active\r\n") :
		    sink_starttls(c);
	if (strncasecmp(line, "MAIL", 4) == 0 && sink_require && !c->ssl) {
		atomic_fetch_add(&n_refused, 1);
		return conn_put(c, "530 5.7.0 Must issue a STARTTLS command "
		    "first\r\n");
	}
	if (strncasecmp(line, "DATA", 4) == 0) {
		if (conn_put(c, "354 End data with <CR><LF>.<CR><LF>\r\n") ==
		    -1 || conn_flush(c) == -1 || sink_data(c) == -1)
			return -1;
		atomic_fetch_add(&n_mesg, 1);
		return conn_put(c, "250 2.0.0 Ok: queued\r\n");
	}
	if (strncasecmp(line, "QUIT", 4) == 0)
		return conn_put(c, "221 2.0.0 Bye\r\n") == -1 ? -1 : 1;
	if (strncasecmp(line, "HELO", 4) == 0 ||
	    strncasecmp(line, "MAIL", 4) == 0 ||
	    strncasecmp(line, "RCPT", 4) == 0 ||
	    strncasecmp(line, "RSET", 4) == 0 ||
	    strncasecmp(line, "NOOP", 4) == 0)
		return conn_put(c, "250 2.0.0 Ok\r\n");
	return conn_put(c, "502 5.5.2 Command not recognized\r\n");
}

/* sink_thread - one SMTP session */
static void *
sink_thread(void *arg)
{
	struct conn *c = arg;
	char line[LINE_MAX_LEN];
	int r = 0;

	set_timeouts(c->fd);
	if (conn_put(c, "220 tlsload-sink ESMTP\r\n") == 0)
		while (r == 0 && conn_line(c, line) == 0)
			r = sink_command(c, line);
	if (r == 1)
		(void)conn_flush(c);
	conn_close(c);
	free(c);
	atomic_fetch_sub(&n_active, 1);
	return NULL;
}

/* sink_report - print the counters when they changed, every 20 ms */
static void *
sink_report(void *arg)
{
	unsigned long last[4] = { ~0UL, 0, 0, 0 }, now[4];
	struct timespec ts = { 0, 20 * 1000 * 1000 };

	(void)arg;
	for (;;) {
		now[0] = atomic_load(&n_mesg);
		now[1] = atomic_load(&n_tls);
		now[2] = atomic_load(&n_refused);
		now[3] = atomic_load(&n_conns);
		if (memcmp(now, last, sizeof(now)) != 0) {
			printf("mesg=%lu tls=%lu refused=%lu conns=%lu\n",
			    now[0], now[1], now[2], now[3]);
			fflush(stdout);
			memcpy(last, now, sizeof(last));
		}
		nanosleep(&ts, NULL);
	}
	return NULL;
}

/* sink_listen - the listening socket */
static int
sink_listen(const char *addr)
{
	struct sockaddr_in sin;
	int fd, one = 1;

	parse_addr(addr, &sin);
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		die("socket: %s", strerror(errno));
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    listen(fd, 1024) == -1)
		die("%s: %s", addr, strerror(errno));
	return fd;
}

/* sink_main - accept until killed or -x seconds have passed */
static int
sink_main(int argc, char **argv)
{
	const char *cert = NULL, *key = NULL;
	pthread_attr_t attr;
	pthread_t tid;
	struct conn *c;
	long limit = 3600;
	int ch, lfd, fd;

	while ((ch = getopt(argc, argv, "C:K:rx:")) != -1) {
		switch (ch) {
		case 'C': cert = optarg; break;
		case 'K': key = optarg; break;
		case 'r': sink_require = 1; break;
		case 'x': limit = strtol(optarg, NULL, 10); break;
		default: die("usage: tlsload sink -C cert -K key [-r] "
		    "[-x secs] host:port");
		}
	}
	if (optind != argc - 1 || cert == NULL || key == NULL || limit < 1)
		die("sink: needs -C cert -K key host:port");
	if ((sink_ctx = SSL_CTX_new(TLS_server_method())) == NULL ||
	    SSL_CTX_use_certificate_chain_file(sink_ctx, cert) != 1 ||
	    SSL_CTX_use_PrivateKey_file(sink_ctx, key, SSL_FILETYPE_PEM) != 1)
		die("cannot load %s / %s", cert, key);
	lfd = sink_listen(argv[optind]);
	alarm((unsigned int)limit);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	if (pthread_create(&tid, &attr, sink_report, NULL) != 0)
		die("pthread_create");
	for (;;) {
		if ((fd = accept(lfd, NULL, NULL)) == -1)
			continue;
		atomic_fetch_add(&n_conns, 1);
		if (atomic_load(&n_active) >= SINK_MAX_CONNS ||
		    (c = calloc(1, sizeof(*c))) == NULL) {
			(void)send(fd, "421 4.3.2 Too many connections\r\n", 32,
			    MSG_NOSIGNAL);
			close(fd);
			continue;
		}
		c->fd = fd;
		atomic_fetch_add(&n_active, 1);
		if (pthread_create(&tid, &attr, sink_thread, c) != 0) {
			atomic_fetch_sub(&n_active, 1);
			close(fd);
			free(c);
		}
	}
}

int
main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	if (argc >= 2 && strcmp(argv[1], "client") == 0)
		return client_main(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "sink") == 0)
		return sink_main(argc - 1, argv + 1);
	die("usage: tlsload client|sink [options] host:port");
	return 2;
}
