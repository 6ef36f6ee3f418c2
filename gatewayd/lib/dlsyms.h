/*
 * dlsyms.h - load a shared library on first use and take its functions
 *
 * For a library only some configurations need (libldap for an ldap
 * table, libpq for a PostgreSQL directive store): the process that needs
 * it loads it, the others never map it.  The caller lists the functions
 * as { "name", (void **)&pointer } pairs.  Never logs; the reason goes
 * into err.
 */
#ifndef GW_DLSYMS_H
#define GW_DLSYMS_H

#include <stddef.h>

struct dlsym_entry {
	const char *name;
	void **ptr;
};

/*
 * Load soname into *lib (once: 0 at once when *lib is set) and set every
 * pointer of syms; -1, *lib NULL and "cannot load SONAME (Debian package
 * PKG): why" or "SONAME has no NAME" in err if it cannot be.
 */
int dlsyms_load(void **lib, const char *soname, const char *package,
    const struct dlsym_entry *syms, size_t n, char *err, size_t errlen);

#endif
