/*
 * sanitizer_chroot.c - sanitizer defaults for the chrooted children
 *
 * Linked into gatewayd-receiver and gatewayd-router only when configured
 * with --enable-sanitizers.  Started by root, these children chroot into
 * the spool, where LeakSanitizer cannot read /proc/<pid>/task and dies
 * with "LeakSanitizer has encountered a fatal error" at exit.  So the leak
 * check is off for them when they start as root (AddressSanitizer and
 * UBSan stay on); started by another user they do not chroot and keep it.
 * LSAN_OPTIONS/ASAN_OPTIONS in the environment still override this.
 */
#include "config.h"

#include <unistd.h>

const char *__lsan_default_options(void);

/* __lsan_default_options - no leak check in a child that will chroot */
const char *
__lsan_default_options(void)
{
	return geteuid() == 0 ? "detect_leaks=0" : "";
}
