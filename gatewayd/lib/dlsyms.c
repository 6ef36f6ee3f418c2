/*
 * dlsyms.c - load a shared library on first use (dlsyms.h)
 */
#include "config.h"

#include <dlfcn.h>
#include <stdio.h>

#include "dlsyms.h"

/* dlsyms_load - load soname once and take the functions of syms */
int
dlsyms_load(void **lib, const char *soname, const char *package,
    const struct dlsym_entry *syms, size_t n, char *err, size_t errlen)
{
	const char *e;
	size_t i;

	if (*lib != NULL)
		return 0;
	if ((*lib = dlopen(soname, RTLD_NOW | RTLD_LOCAL)) == NULL) {
		e = dlerror();
		snprintf(err, errlen, "cannot load %s (Debian package %s): %s",
		    soname, package, e ? e : "?");
		return -1;
	}
	for (i = 0; i < n; i++)
		if ((*syms[i].ptr = dlsym(*lib, syms[i].name)) == NULL) {
			snprintf(err, errlen, "%s has no %s", soname,
			    syms[i].name);
			dlclose(*lib);
			*lib = NULL;
			return -1;
		}
	return 0;
}
