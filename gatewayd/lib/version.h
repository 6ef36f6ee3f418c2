/*
 * version.h - --version and --help, the same way in every gatewayd program
 *
 * Each program calls version_options() first thing in main() (the children
 * through proc_child_init()).  "--version" or "--help" anywhere before "--"
 * prints to standard output and exits 0, as the GNU coding standards ask;
 * the program's own usage errors keep exit 64.
 */
#ifndef GW_VERSION_H
#define GW_VERSION_H

#include <stdio.h>

/* Writes a program's help text to fp. */
typedef void version_help_fn(FILE *fp);

void version_print(FILE *fp, const char *prog);
void version_options(int argc, char **argv, const char *prog,
    version_help_fn *help);

#endif
