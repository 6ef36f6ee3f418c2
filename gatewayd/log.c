/*
 * log.c - one-line-per-event logging to syslog or stderr
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static const char *log_prog = "gatewayd";
static char log_tag[64];
static int log_flags = LOG_TO_STDERR;
static int log_verbosity;

/* log_init - choose destination and verbosity; opens syslog early (chroot) */
void
log_init(const char *progname, int flags, int verbose)
{
	log_prog = progname;
	log_flags = flags;
	log_verbosity = verbose;
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
	char line[2048];
	int saved = errno;

	if (prio == LOG_DEBUG && !log_verbosity)
		return;
	vsnprintf(line, sizeof(line), fmt, ap);
	if (log_flags & LOG_TO_SYSLOG)
		syslog(prio, "%s", line);
	if (log_flags & LOG_TO_STDERR) {
		struct timespec ts;
		struct tm tm;
		char when[32];

		clock_gettime(CLOCK_REALTIME, &ts);
		localtime_r(&ts.tv_sec, &tm);
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
		fprintf(stderr, "%s.%03ld %s%s%s[%ld]: %s\n", when,
		    ts.tv_nsec / 1000000, log_prog, log_tag[0] ? "/" : "",
		    log_tag, (long)getpid(), line);
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

/* log_warn - a problem, with strerror(errno) appended */
void
log_warn(const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	int e = errno;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	log_warnx("%s: %s", buf, strerror(e));
}

/* fatal - the environment failed (with errno); exit 1 */
void
fatal(const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	int e = errno;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	log_warnx("fatal: %s: %s", buf, strerror(e));
	exit(1);
}

/* fatalx - the environment failed (no errno); exit 1 */
void
fatalx(const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	log_warnx("fatal: %s", buf);
	exit(1);
}

/* panic - a bug; abort for a core */
void
panic(const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	log_warnx("panic: %s", buf);
	abort();
}

/* log_clean - make untrusted bytes safe for one log line */
const char *
log_clean(char *dst, size_t dstlen, const char *src, size_t srclen)
{
	static const char hex[] = "0123456789abcdef";
	size_t i, o = 0;

	if (dstlen == 0)
		return dst;
	for (i = 0; i < srclen && src[i] != '\0'; i++) {
		unsigned char c = (unsigned char)src[i];

		if (c >= 0x20 && c < 0x7f && c != '\\') {
			if (o + 1 >= dstlen)
				break;
			dst[o++] = (char)c;
		} else {
			if (o + 4 >= dstlen)
				break;
			dst[o++] = '\\';
			dst[o++] = 'x';
			dst[o++] = hex[c >> 4];
			dst[o++] = hex[c & 15];
		}
	}
	dst[o] = '\0';
	return dst;
}
