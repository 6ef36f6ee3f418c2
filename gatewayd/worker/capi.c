/*
 * capi.c - the gw_* functions connectors call, implemented by the worker
 *
 * A connector only sees opaque recipients and a message stream; the
 * layout of struct gw_rcpt and struct gw_message stays private here, so
 * the ABI is only the functions of <gatewayd/connector.h>.  The worker
 * exports these symbols (--export-dynamic) for the loaded shared object.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "bounce.h"
#include "capi.h"
#include "cfgval.h"
#include "log.h"
#include "xmalloc.h"

static char capi_qid[ENVELOPE_QID_LEN + 1];
static uid_t capi_uid = (uid_t)-1;
static gid_t capi_gid = (gid_t)-1;

/* capi_set_run_ids - the ids the worker will drop to ((uid_t)-1: none) */
void
capi_set_run_ids(uid_t uid, gid_t gid)
{
	capi_uid = uid;
	capi_gid = gid;
}

/* gw_run_ids - the ids the worker runs as after init(), for connectors */
int
gw_run_ids(uid_t *uid, gid_t *gid)
{
	if (capi_uid == (uid_t)-1)
		return -1;
	*uid = capi_uid;
	*gid = capi_gid;
	return 0;
}

/* capi_set_qid - remember the queue ID for gw_log lines */
void
capi_set_qid(const char *qid)
{
	snprintf(capi_qid, sizeof(capi_qid), "%s", qid ? qid : "");
}

/* gw_rcpt_address - the recipient address */
const char *
gw_rcpt_address(const struct gw_rcpt *r)
{
	return r->rcpt->addr;
}

/* gw_rcpt_param - a routing parameter of the recipient, or NULL */
const char *
gw_rcpt_param(const struct gw_rcpt *r, const char *name)
{
	size_t i;

	if (name == NULL)
		return NULL;
	for (i = 0; i < r->rcpt->nparams; i++)
		if (strcmp(r->rcpt->params[i].name, name) == 0)
			return r->rcpt->params[i].value;
	return NULL;
}

/* gw_rcpt_set_result - record the connector's result (text capped) */
void
gw_rcpt_set_result(struct gw_rcpt *r, enum gw_result result, int code,
    const char *status, const char *fmt, ...)
{
	va_list ap;

	r->result = result;
	r->code = code;
	snprintf(r->status, sizeof(r->status), "%s", status ? status : "");
	r->text[0] = '\0';
	if (fmt != NULL) {
		va_start(ap, fmt);
		vsnprintf(r->text, sizeof(r->text), fmt, ap);
		va_end(ap);
	}
}

/* gw_rcpt_dsn_passed - the next hop has the DSN duty for this recipient */
void
gw_rcpt_dsn_passed(struct gw_rcpt *r)
{
	r->dsn_passed = 1;
}

/* gw_message_read - read from the current position; 0 at the end */
ssize_t
gw_message_read(struct gw_message *m, void *buf, size_t len)
{
	ssize_t n;

	if (m->size >= 0) {
		if (m->pos >= m->size)
			return 0;
		if ((off_t)len > m->size - m->pos)
			len = (size_t)(m->size - m->pos);
	}
	if (len == 0)
		return 0;
	do {
		n = pread(m->fd, buf, len, m->start + m->pos);
	} while (n == -1 && errno == EINTR);
	if (n > 0)
		m->pos += n;
	return n;
}

/* gw_message_rewind - back to the first byte of the message */
int
gw_message_rewind(struct gw_message *m)
{
	m->pos = 0;
	return 0;
}

/* gw_message_fd - the data descriptor (not to be closed) and message offset */
int
gw_message_fd(struct gw_message *m, off_t *offset)
{
	if (offset != NULL)
		*offset = m->start;
	return m->fd;
}

/* capi_log - pass a line to log_vlevel */
static void __attribute__((format(printf, 2, 3)))
capi_log(int prio, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vlevel(prio, fmt, ap);
	va_end(ap);
}

/* gw_log - a connector's log line, cleaned, with the queue ID in front */
void
gw_log(enum gw_log_level level, const char *fmt, ...)
{
	char raw[1024], clean[2048];
	va_list ap;
	int prio;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(raw, sizeof(raw), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	log_clean(clean, sizeof(clean), raw, strlen(raw));
	switch (level) {
	case GW_LOG_ERR:
		prio = LOG_ERR;
		break;
	case GW_LOG_WARNING:
		prio = LOG_WARNING;
		break;
	case GW_LOG_DEBUG:
		prio = LOG_DEBUG;
		break;
	default:
		prio = LOG_INFO;
		break;
	}
	if (capi_qid[0] != '\0')
		capi_log(prio, "%s: %s", capi_qid, clean);
	else
		capi_log(prio, "%s", clean);
}

/* capi_job_init - the connector's view of a job */
void
capi_job_init(struct capi_job *job, struct envelope *env, int datafd,
    off_t body_offset)
{
	struct stat st;
	size_t i, n;

	memset(job, 0, sizeof(*job));
	job->rcpts = xcalloc(env->nrcpt ? env->nrcpt : 1, sizeof(*job->rcpts));
	job->rcptv = xcalloc(env->nrcpt ? env->nrcpt : 1, sizeof(*job->rcptv));
	for (i = n = 0; i < env->nrcpt; i++) {
		if (env->rcpt[i].state != RCPT_PENDING &&
		    env->rcpt[i].state != RCPT_DEFERRED)
			continue;
		job->rcpts[n].rcpt = &env->rcpt[i];
		job->rcpts[n].result = GW_RESULT_NONE;
		job->rcptv[n] = &job->rcpts[n];
		n++;
	}
	job->nrcpt = n;
	job->msg.fd = datafd;
	job->msg.start = body_offset;
	job->msg.size = env->size;
	if (job->msg.size < 0 && fstat(datafd, &st) == 0 &&
	    st.st_size >= body_offset)
		job->msg.size = st.st_size - body_offset;
	job->env.struct_size = sizeof(job->env);
	job->env.queue_id = env->id;
	job->env.sender = env->from ? env->from : "";
	job->env.arrival = (time_t)(env->arrival_us / 1000000);
	job->env.client_addr = env->client ? env->client : "";
	job->env.helo = env->helo ? env->helo : "";
	job->env.auth_id = env->auth ? env->auth : "";
	job->env.body_type = env->body ? env->body : "7BIT";
	job->env.attempts = env->attempts;
	job->env.nrcpt = n;
	job->env.rcpt = job->rcptv;
	job->env.size = job->msg.size;
	job->env.dsn_ret = env->ret;
	job->env.dsn_envid = env->envid;
	capi_set_qid(env->id);
}

/* capi_status_ok - is s an enhanced status "C.S.D" of class c? */
static int
capi_status_ok(const char *s, char c)
{
	size_t n;
	int part;

	if (s[0] != c || s[1] != '.')
		return 0;
	s += 2;
	for (part = 0; part < 2; part++) {
		n = strspn(s, "0123456789");
		if (n < 1 || n > 3)
			return 0;
		s += n;
		if (part == 0 && *s++ != '.')
			return 0;
	}
	return *s == '\0';
}

/* capi_result_copy - one result into its envelope recipient */
static void
capi_result_copy(struct gw_rcpt *r)
{
	struct envelope_rcpt *e = r->rcpt;
	const char *deftext, *defstatus;
	int defcode, cls;

	switch (r->result) {
	case GW_RESULT_OK:
		e->state = RCPT_DONE;
		cls = 2, defcode = 250, defstatus = "2.0.0";
		deftext = "delivered";
		break;
	case GW_RESULT_PERMFAIL:
		e->state = RCPT_FAILED;
		cls = 5, defcode = 550, defstatus = "5.3.0";
		deftext = "permanent failure";
		break;
	case GW_RESULT_TEMPFAIL:
		e->state = RCPT_DEFERRED;
		cls = 4, defcode = 451, defstatus = "4.3.0";
		deftext = "temporary failure";
		break;
	default:
		e->state = RCPT_DEFERRED;
		cls = 4, defcode = 451, defstatus = "4.3.0";
		deftext = "connector set no result";
		r->text[0] = '\0';
		break;
	}
	e->code = (r->code / 100 == cls) ? r->code : defcode;
	snprintf(e->status, sizeof(e->status), "%s",
	    capi_status_ok(r->status, (char)('0' + cls)) ? r->status : defstatus);
	envelope_rcpt_put_text(e, xstrdup(r->text[0] != '\0' ? r->text :
	    deftext));
	if (r->result == GW_RESULT_OK && r->dsn_passed)
		envelope_rcpt_set_param(e, BOUNCE_PARAM_SENT, "passed");
}

/* capi_job_results - copy every result back into the envelope */
void
capi_job_results(struct capi_job *job, struct envelope *env)
{
	size_t i;

	(void)env;
	for (i = 0; i < job->nrcpt; i++)
		capi_result_copy(&job->rcpts[i]);
}

/* capi_job_free - release the view (not the envelope) */
void
capi_job_free(struct capi_job *job)
{
	free(job->rcpts);
	free(job->rcptv);
	memset(job, 0, sizeof(*job));
	capi_set_qid(NULL);
}

/* capi_node_bad - "file:line:column: KEY must be ..." into err; -1 */
static int
capi_node_bad(const struct gw_node *n, enum cfgval_kind k,
    unsigned long long lo, unsigned long long hi, char *err, size_t errlen)
{
	char what[256];

	cfgval_explain(k, lo, hi, what, sizeof(what));
	if (err != NULL && errlen > 0)
		snprintf(err, errlen, "%s:%u:%u: %s must be %s",
		    n != NULL && n->file != NULL ? n->file : "config",
		    n != NULL ? n->line : 0, n != NULL ? n->column : 0,
		    n != NULL && n->key != NULL ? n->key : "the value", what);
	return -1;
}

/* capi_node_value - the text of a scalar node, or NULL */
static const char *
capi_node_value(const struct gw_node *n)
{
	return n != NULL && n->type == GW_NODE_SCALAR ? n->value : NULL;
}

/* capi_node_number - a count, size or duration within lo..hi */
static int
capi_node_number(const struct gw_node *n, enum cfgval_kind k,
    unsigned long long lo, unsigned long long hi, unsigned long long *out,
    char *err, size_t errlen)
{
	const char *v = capi_node_value(n);
	unsigned long long x;
	int r;

	if (k == CFGVAL_SIZE)
		r = cfgval_size(v, &x);
	else if (k == CFGVAL_DURATION)
		r = cfgval_duration(v, &x);
	else
		r = cfgval_count(v, &x);
	if (r == -1 || x < lo || x > hi)
		return capi_node_bad(n, k, lo, hi, err, errlen);
	*out = x;
	return 0;
}

/* gw_node_bool - a boolean setting */
int
gw_node_bool(const struct gw_node *n, int *out, char *err, size_t errlen)
{
	if (cfgval_bool(capi_node_value(n), out) == -1)
		return capi_node_bad(n, CFGVAL_BOOL, 0, 0, err, errlen);
	return 0;
}

/* gw_node_count - a number setting within min..max */
int
gw_node_count(const struct gw_node *n, unsigned long long min,
    unsigned long long max, unsigned long long *out, char *err, size_t errlen)
{
	return capi_node_number(n, CFGVAL_COUNT, min, max, out, err, errlen);
}

/* gw_node_size - a size setting within min..max bytes */
int
gw_node_size(const struct gw_node *n, unsigned long long min,
    unsigned long long max, unsigned long long *out, char *err, size_t errlen)
{
	return capi_node_number(n, CFGVAL_SIZE, min, max, out, err, errlen);
}

/* gw_node_duration - a duration setting within min..max seconds */
int
gw_node_duration(const struct gw_node *n, unsigned long long min,
    unsigned long long max, unsigned long long *seconds, char *err,
    size_t errlen)
{
	return capi_node_number(n, CFGVAL_DURATION, min, max, seconds, err,
	    errlen);
}

/* gw_node_hostport - a host with an optional port */
int
gw_node_hostport(const struct gw_node *n, char *host, size_t hostlen,
    unsigned int *port, char *err, size_t errlen)
{
	if (cfgval_hostport(capi_node_value(n), host, hostlen, port) == -1)
		return capi_node_bad(n, CFGVAL_HOSTPORT, 0, 0, err, errlen);
	return 0;
}

/* gw_node_mode - an octal file mode */
int
gw_node_mode(const struct gw_node *n, mode_t *out, char *err, size_t errlen)
{
	unsigned int m;

	if (cfgval_mode(capi_node_value(n), &m) == -1)
		return capi_node_bad(n, CFGVAL_MODE, 0, 0, err, errlen);
	*out = (mode_t)m;
	return 0;
}
