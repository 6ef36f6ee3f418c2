/*
 * log.c - one-line-per-event logging to syslog or stderr
 *
 * Every line is escaped where it is written (log_vlevel), after it is
 * formatted, so no caller can forget: control characters (line feeds and
 * carriage returns too: a log line has none inside), DEL, C1 controls and
 * bytes that are not UTF-8 become visible escapes (textout.h).  Valid
 * UTF-8 is kept.  The escapes are printable, so text a caller cleaned
 * with log_clean() first is not escaped twice.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "textout.h"

static const char *log_prog = "gatewayd";
static char log_tag[64];
static int log_flags = LOG_TO_STDERR;
static int log_verbosity;
static pid_t log_pid;		/* 0: not known in this process yet */

/* log_forked - a child has a pid of its own (pthread_atfork) */
static void
log_forked(void)
{
	log_pid = 0;
}

/* log_init - choose destination and verbosity; opens syslog early (chroot) */
void
log_init(const char *progname, int flags, int verbose)
{
	static int registered;

	log_prog = progname;
	log_flags = flags;
	log_verbosity = verbose;
	if (!registered++)
		(void)pthread_atfork(NULL, NULL, log_forked);
	if (flags & LOG_TO_SYSLOG)
		openlog(progname, LOG_PID | LOG_NDELAY, LOG_MAIL);
}

/* log_set_tag - extra word after the program name (e.g. a connector) */
void
log_set_tag(const char *tag)
{
	snprintf(log_tag, sizeof(log_tag), "%s", tag ? tag : "");
	if (log_flags & LOG_TO_SYSLOG) {
		static char ident[128];
		snprintf(ident, sizeof(ident), "%s%s%s", log_prog,
		    log_tag[0] ? "/" : "", log_tag);
		closelog();
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_MAIL);
	}
}

/* log_reopen - reconnect to syslog (after a syslogd restart) */
void
log_reopen(void)
{
	if (log_flags & LOG_TO_SYSLOG) {
		closelog();
		openlog(log_prog, LOG_PID | LOG_NDELAY, LOG_MAIL);
	}
}

/* log_verbose - nonzero when debug lines are wanted */
int
log_verbose(void)
{
	return log_verbosity;
}

/* log_vlevel - format and emit one line */
void
log_vlevel(int prio, const char *fmt, va_list ap)
{
	char raw[2048], line[2 * sizeof(raw)];
	int saved = errno, n;

	if (prio == LOG_DEBUG && !log_verbosity)
		return;
	/* Postfix's convention, which log tools parse: "warning: ..." */
	n = prio == LOG_WARNING && strncmp(fmt, "fatal: ", 7) != 0 ?
	    snprintf(raw, sizeof(raw), "warning: ") : 0;
	vsnprintf(raw + n, sizeof(raw) - (size_t)n, fmt, ap);
	textout_clean(line, sizeof(line), raw, sizeof(raw), 0);
	if (log_flags & LOG_TO_SYSLOG)
		syslog(prio, "%s", line);
	if (log_flags & LOG_TO_STDERR) {
		struct timespec ts;
		struct tm tm;
		char when[32];

		clock_gettime(CLOCK_REALTIME, &ts);
		localtime_r(&ts.tv_sec, &tm);
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
		if (log_pid == 0)
			log_pid = getpid();	/* not a system call per line */
		fprintf(stderr, "%s.%03ld %s%s%s[%ld]: %s\n", when,
		    ts.tv_nsec / 1000000, log_prog, log_tag[0] ? "/" : "",
		    log_tag, (long)log_pid, line);
	}
	errno = saved;
}

#define LOG_BODY(prio) do {		\
	va_list ap;			\
	va_start(ap, fmt);		\
	log_vlevel((prio), fmt, ap);	\
	va_end(ap);			\
} while (0)

/* log_debug - verbose-only detail */
void log_debug(const char *fmt, ...) { LOG_BODY(LOG_DEBUG); }
/* log_info - normal events */
void log_info(const char *fmt, ...) { LOG_BODY(LOG_INFO); }
/* log_warnx - a problem, no errno */
void log_warnx(const char *fmt, ...) { LOG_BODY(LOG_WARNING); }

/* log_prefixed - prefix, the formatted text and, when e >= 0, strerror(e) */
static void
log_prefixed(const char *prefix, int e, const char *fmt, va_list ap)
{
	char buf[1024];

	vsnprintf(buf, sizeof(buf), fmt, ap);
	if (e >= 0)
		log_warnx("%s%s: %s", prefix, buf, strerror(e));
	else
		log_warnx("%s%s", prefix, buf);
}

#define LOG_PREFIXED(prefix, e) do {		\
	va_list ap;				\
	va_start(ap, fmt);			\
	log_prefixed((prefix), (e), fmt, ap);	\
	va_end(ap);				\
} while (0)

/* log_warn - a problem, with strerror(errno) appended */
void
log_warn(const char *fmt, ...)
{
	int e = errno;

	LOG_PREFIXED("", e);
}

/* fatal - the environment failed (with errno); exit 1 */
void
fatal(const char *fmt, ...)
{
	int e = errno;

	LOG_PREFIXED("fatal: ", e);
	exit(1);
}

/* fatalx - the environment failed (no errno); exit 1 */
void
fatalx(const char *fmt, ...)
{
	LOG_PREFIXED("fatal: ", -1);
	exit(1);
}

/* panic - a bug; abort for a core */
void
panic(const char *fmt, ...)
{
	LOG_PREFIXED("panic: ", -1);
	abort();
}

/*
 * log_clean - untrusted text for a log line, cut to fit dst: the escapes
 * of the log writer (textout.h), for callers that bound a value's length
 */
const char *
log_clean(char *dst, size_t dstlen, const char *src, size_t srclen)
{
	return textout_clean(dst, dstlen, src, srclen, 0);
}
