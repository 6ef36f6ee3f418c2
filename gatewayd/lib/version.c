/*
 * version.c - --version and --help for every gatewayd program (version.h)
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "version.h"

/* version_print - "PROG (gatewayd) VERSION", the connector ABI, the licence */
void
version_print(FILE *fp, const char *prog)
{
	fprintf(fp, "%s (%s) %s\n"
	    "connector ABI %d\n"
	    "Copyright (C) 2026 the gatewayd authors (see AUTHORS).\n"
	    "License Apache-2.0 <https://www.apache.org/licenses/LICENSE-2.0>.\n"
	    "This is free software: you are free to change and redistribute it.\n"
	    "There is NO WARRANTY, to the extent permitted by law.\n",
	    prog, PACKAGE_NAME, PACKAGE_VERSION, GW_CONNECTOR_ABI);
}

/* version_options - --version / --help before "--": print, exit 0 */
void
version_options(int argc, char **argv, const char *prog,
    version_help_fn *help)
{
	int i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			return;
		if (strcmp(argv[i], "--version") == 0) {
			version_print(stdout, prog);
			exit(fflush(stdout) == 0 ? 0 : 1);
		}
		if (strcmp(argv[i], "--help") == 0) {
			help(stdout);
			fprintf(stdout, "\nReport bugs to <%s>.\n",
			    PACKAGE_BUGREPORT);
			exit(fflush(stdout) == 0 ? 0 : 1);
		}
	}
}
