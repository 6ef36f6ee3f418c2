/*
 * log.h - logging for every gatewayd program
 *
 * One line per event, to syslog (daemon) or stderr (foreground).  Lines
 * about a message start with its queue ID: log_info("%s: ...", qid).
 * fatal() is for the environment (a file that cannot be opened), panic()
 * for a bug; both exit.  Every line is escaped when it is written
 * (control characters, DEL, C1, bytes that are not UTF-8: see textout.h);
 * log_clean() gives the same escapes in a bounded buffer, for a value
 * that must be cut short.
 */
#ifndef GW_LOG_H
#define GW_LOG_H

#include <stdarg.h>
#include <stddef.h>

#define LOG_TO_STDERR	0x01
#define LOG_TO_SYSLOG	0x02

void log_init(const char *progname, int flags, int verbose);
void log_set_tag(const char *tag);
void log_reopen(void);
int log_verbose(void);

void log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void log_vlevel(int prio, const char *, va_list) __attribute__((format(printf, 2, 0)));
void fatal(const char *, ...) __attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *, ...) __attribute__((format(printf, 1, 2), noreturn));
void panic(const char *, ...) __attribute__((format(printf, 1, 2), noreturn));

/* Copy untrusted text for a log line, escaped like the writer, cut to fit. */
const char *log_clean(char *dst, size_t dstlen, const char *src, size_t srclen);

#endif
