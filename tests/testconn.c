/*
 * testconn.c - a connector for the tests: results chosen by the recipient
 *
 * The local part of each recipient decides: "ok*" delivered (250),
 * "temp*" temporary failure (451 4.2.0), "perm*" permanent failure
 * (550 5.1.1), "crash*" kills the delivery process with SIGSEGV, "liar*"
 * plays a compromised connector that writes a forged answer (a wrong
 * recipient count) to its deliverer's socket before the real one; any
 * other address is delivered.  The OK text carries the number of message bytes
 * read, so a test can check the stream.  Settings (all optional):
 * delay_ms (sleep before each delivery), record_params (true: also one
 * line "qid address param name=value" per routing parameter of a
 * delivered recipient), record (a file to which one
 * line "qid address result" is appended per recipient) and probe (a
 * directory: for a recipient "probe*", play a compromised connector and
 * try to list it, open its queue/ and create tmp/probe in it, recording
 * "probe denied" when every try failed, else "probe reached WHAT").
 *
 * The record lines of a delivery are appended with one write() (O_APPEND),
 * a recipient's param lines before its result line, so a test that sees a
 * result line in the file also sees everything written with it.  A crash
 * line is written at once, before the process dies.
 *
 * Built four ways: plain, -DTESTCONN_BAD_ABI (another ABI version),
 * -DTESTCONN_SMALL (a descriptor too small) and -DTESTCONN_OLD (a
 * descriptor whose struct_size ends before check()), for the loader tests.
 * check() refuses a setting "check_refuse", naming the uid it runs as.
 */
#include "config.h"

#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <gatewayd/connector.h>

struct testconn {
	long delay_ms;
	char record[4096];
	int record_params;	/* also "qid addr param name=value" lines */
	char probe[4096];	/* a directory the connector must not reach */
};

/* testconn_init - parse delay_ms and record */
static int
testconn_init(const struct gw_node *settings, void **ctx, char *err,
    size_t errlen)
{
	struct testconn *tc;
	const struct gw_node *n;
	char *end;

	if ((tc = calloc(1, sizeof(*tc))) == NULL) {
		snprintf(err, errlen, "testconn: out of memory");
		return -1;
	}
	for (n = settings ? settings->child : NULL; n != NULL; n = n->next) {
		if (n->key != NULL && strcmp(n->key, "delay_ms") == 0 &&
		    n->type == GW_NODE_SCALAR) {
			errno = 0;
			tc->delay_ms = strtol(n->value, &end, 10);
			if (errno == 0 && *end == '\0' && tc->delay_ms >= 0)
				continue;
		} else if (n->key != NULL && strcmp(n->key, "record_params") == 0 &&
		    n->type == GW_NODE_SCALAR) {
			tc->record_params = strcmp(n->value, "true") == 0;
			continue;
		} else if (n->key != NULL && strcmp(n->key, "record") == 0 &&
		    n->type == GW_NODE_SCALAR && n->value[0] == '/') {
			snprintf(tc->record, sizeof(tc->record), "%s", n->value);
			continue;
		} else if (n->key != NULL && strcmp(n->key, "probe") == 0 &&
		    n->type == GW_NODE_SCALAR && n->value[0] == '/') {
			snprintf(tc->probe, sizeof(tc->probe), "%s", n->value);
			continue;
		}
		snprintf(err, errlen, "%s:%u:%u: testconn: bad setting '%s'",
		    n->file ? n->file : "?", n->line, n->column,
		    n->key ? n->key : "");
		free(tc);
		return -1;
	}
	*ctx = tc;
	return 0;
}

/* the record lines of one delivery, appended to the file in one write */
struct testconn_rec {
	char buf[65536];
	size_t len;
	int overflow;		/* a line did not fit: nothing is written */
};

/* testconn_record - add one line to the delivery's record */
static void
testconn_record(const struct testconn *tc, struct testconn_rec *rec,
    const char *qid, const char *addr, const char *what)
{
	size_t room = sizeof(rec->buf) - rec->len;
	int n;

	if (tc->record[0] == '\0')
		return;
	n = snprintf(rec->buf + rec->len, room, "%s %s %s\n", qid, addr, what);
	if (n < 0 || (size_t)n >= room) {
		rec->overflow = 1;
		return;
	}
	rec->len += (size_t)n;
}

/* testconn_record_flush - append the delivery's record in one write */
static void
testconn_record_flush(const struct testconn *tc, struct testconn_rec *rec)
{
	int fd;

	if (tc->record[0] == '\0' || rec->len == 0)
		return;
	if (rec->overflow) {
		gw_log(GW_LOG_WARNING, "testconn: record too long, not written");
		rec->len = 0;
		return;
	}
	fd = open(tc->record, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd == -1)
		return;
	if (write(fd, rec->buf, rec->len) != (ssize_t)rec->len)
		gw_log(GW_LOG_WARNING, "testconn: short write to record file");
	close(fd);
	rec->len = 0;
}

/* testconn_record_params - the routing parameters the tests look at */
static void
testconn_record_params(const struct testconn *tc, struct testconn_rec *rec,
    const char *qid, const struct gw_rcpt *r)
{
	static const char *const names[] = { "type", "fax", "name", "company",
	    "flags", "did", "directive", "channel", "original", "failover",
	    "path_template", "output_name", NULL };
	char what[1024];
	const char *v;
	size_t i;

	for (i = 0; tc->record_params && names[i] != NULL; i++) {
		if ((v = gw_rcpt_param(r, names[i])) == NULL)
			continue;
		snprintf(what, sizeof(what), "param %s=%s", names[i], v);
		testconn_record(tc, rec, qid, gw_rcpt_address(r), what);
	}
}

static const char *testconn_probe(const struct testconn *);

/* testconn_lie - a forged answer head on every Unix stream socket we hold */
static void
testconn_lie(void)
{
	uint32_t forged = 0x7fffffff;
	socklen_t len;
	int fd, type, domain;

	for (fd = 3; fd < 1024; fd++) {
		len = sizeof(type);
		if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == -1 ||
		    type != SOCK_STREAM)
			continue;
		len = sizeof(domain);
		if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) == 0 &&
		    domain == AF_UNIX)
			(void)send(fd, &forged, sizeof(forged), MSG_NOSIGNAL);
	}
}

/* testconn_result - one recipient's result, from its local part */
static void
testconn_result(const struct testconn *tc, struct testconn_rec *rec,
    const char *qid, struct gw_rcpt *r, ssize_t n, long long total)
{
	const char *a = gw_rcpt_address(r);

	if (strncasecmp(a, "crash", 5) == 0) {
		testconn_record(tc, rec, qid, a, "crash");
		testconn_record_flush(tc, rec);
		/* a real signal death, even where a sanitizer
		 * installed its own SIGSEGV handler */
		signal(SIGSEGV, SIG_DFL);
		raise(SIGSEGV);
	}
	if (strncasecmp(a, "liar", 4) == 0) {
		testconn_record(tc, rec, qid, a, "liar");
		testconn_record_flush(tc, rec);	/* killed once it lies */
		testconn_lie();
	}
	if (tc->probe[0] != '\0' && strncasecmp(a, "probe", 5) == 0)
		testconn_record(tc, rec, qid, a, testconn_probe(tc));
	if (n < 0) {
		gw_rcpt_set_result(r, GW_RESULT_TEMPFAIL, 451, "4.3.0",
		    "testconn: cannot read the message");
	} else if (strncasecmp(a, "temp", 4) == 0) {
		testconn_record(tc, rec, qid, a, "temp");
		gw_rcpt_set_result(r, GW_RESULT_TEMPFAIL, 451, "4.2.0",
		    "testconn: temporary failure for %s", a);
	} else if (strncasecmp(a, "perm", 4) == 0) {
		testconn_record(tc, rec, qid, a, "perm");
		gw_rcpt_set_result(r, GW_RESULT_PERMFAIL, 550, "5.1.1",
		    "testconn: no such user %s", a);
	} else {
		/* the params first: a reader waits for the result line */
		testconn_record_params(tc, rec, qid, r);
		testconn_record(tc, rec, qid, a, "ok");
		gw_rcpt_set_result(r, GW_RESULT_OK, 250, "2.0.0",
		    "testconn: ok (%lld bytes)", total);
	}
}

/* testconn_probe - what a compromised connector reaches of tc->probe */
static const char *
testconn_probe(const struct testconn *tc)
{
	char p[4200];
	int fd;

	if ((fd = open(tc->probe, O_RDONLY | O_DIRECTORY)) != -1) {
		close(fd);
		return "probe reached the directory";
	}
	snprintf(p, sizeof(p), "%s/queue", tc->probe);
	if ((fd = open(p, O_RDONLY | O_DIRECTORY)) != -1) {
		close(fd);
		return "probe reached queue/";
	}
	snprintf(p, sizeof(p), "%s/tmp/probe", tc->probe);
	if ((fd = open(p, O_WRONLY | O_CREAT | O_EXCL, 0600)) != -1) {
		close(fd);
		return "probe created tmp/probe";
	}
	for (fd = 3; fd < 1024; fd++)	/* a descriptor left open to it? */
		if (openat(fd, "queue", O_RDONLY | O_DIRECTORY) != -1)
			return "probe reached queue/ through a descriptor";
	return "probe denied";
}

/* testconn_deliver - results from the local part of each recipient */
static void
testconn_deliver(void *ctx, const struct gw_envelope *env,
    struct gw_message *msg)
{
	static struct testconn_rec rec;	/* one delivery at a time */
	struct testconn *tc = ctx;
	struct timespec ts;
	char buf[8192];
	long long total = 0;
	ssize_t n;
	size_t i;

	if (tc->delay_ms > 0) {
		ts.tv_sec = tc->delay_ms / 1000;
		ts.tv_nsec = (tc->delay_ms % 1000) * 1000000L;
		while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
			;
	}
	gw_message_rewind(msg);
	while ((n = gw_message_read(msg, buf, sizeof(buf))) > 0)
		total += n;
	rec.len = 0;
	rec.overflow = 0;
	for (i = 0; i < env->nrcpt; i++)
		testconn_result(tc, &rec, env->queue_id, env->rcpt[i], n, total);
	testconn_record_flush(tc, &rec);
}

/* testconn_fini - free the settings */
static void
testconn_fini(void *ctx)
{
	free(ctx);
}

/*
 * testconn_check - refuse a setting "check_refuse" at its position and
 * name the uid the check runs as (the tests want the gateway's user)
 */
static int __attribute__((unused))
testconn_check(const struct gw_node *settings, char *err, size_t errlen)
{
	const struct gw_node *n;

	for (n = settings ? settings->child : NULL; n != NULL; n = n->next)
		if (n->key != NULL && strcmp(n->key, "check_refuse") == 0) {
			snprintf(err, errlen, "%s:%u:%u: testconn: check_refuse "
			    "is set (check ran as uid %u)", n->file ? n->file :
			    "config", n->line, n->column, (unsigned)geteuid());
			return -1;
		}
	return 0;
}

#if defined(TESTCONN_BAD_ABI)
const struct gw_connector gatewayd_connector = {
	.abi_version = GW_CONNECTOR_ABI_VERSION + 1,
	.struct_size = sizeof(struct gw_connector), .name = "testconn",
	.version = "1.0", .init = testconn_init, .deliver = testconn_deliver,
	.fini = testconn_fini
};
#elif defined(TESTCONN_SMALL)
const struct gw_connector gatewayd_connector = {
	.abi_version = GW_CONNECTOR_ABI_VERSION,
	.struct_size = offsetof(struct gw_connector, deliver),
	.name = "testconn", .version = "1.0", .init = testconn_init,
	.deliver = testconn_deliver, .fini = testconn_fini
};
#elif defined(TESTCONN_OLD)
/* built before check() was appended: the field exists, struct_size stops short */
const struct gw_connector gatewayd_connector = {
	.abi_version = GW_CONNECTOR_ABI_VERSION,
	.struct_size = offsetof(struct gw_connector, check),
	.name = "testconn", .version = "0.9", .init = testconn_init,
	.deliver = testconn_deliver, .fini = testconn_fini,
	.check = testconn_check
};
#else
GW_CONNECTOR_DEFINE_CHECK("testconn", "1.0", testconn_init, testconn_deliver,
    testconn_fini, testconn_check);
#endif
