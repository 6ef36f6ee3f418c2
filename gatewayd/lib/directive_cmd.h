/*
 * directive_cmd.h - the commands of "gatewayctl directive" on a store
 *
 * Run by gatewayctl itself on the store (as root, also when the daemon is
 * down), or by an unprivileged control child of the daemon for a client
 * of the control socket (a member of admin_group): the same code, the
 * same answers.  Arguments travel hex-encoded on the control request line
 * (titles have spaces); "sheet" is rendered by gatewayctl from what
 * "dump" returns, so the daemon never links the PDF library.
 */
#ifndef GW_DIRECTIVE_CMD_H
#define GW_DIRECTIVE_CMD_H

#include <stddef.h>
#include <stdio.h>

#include "directive.h"

/*
 * Run argv[0] (create, list, show, update, delete or dump) with its
 * arguments on st.  The answer goes to out; each error is one line
 * "E<exit code> <text>".  owner is the owner of a new directive: the
 * caller's identity.  Only when set_owner is nonzero (a root caller) may
 * --owner name another; otherwise --owner is refused (EX_NOPERM).
 * Returns 0 or the exit code of the first error.
 */
int directive_cmd(struct directive_store *st, int argc, char **argv,
    int json, const char *owner, int set_owner, FILE *out);
/*
 * directive_cmd for a user who may see and change only their own
 * directives (only_own nonzero: gatewayd-web's users who are not
 * admins): list shows only owner's, and show, update, delete and dump of
 * another owner's directive answer "E77 permission denied" (EX_NOPERM).
 */
int directive_cmd_owned(struct directive_store *st, int argc, char **argv,
    int json, const char *owner, int set_owner, int only_own, FILE *out);
/* Parse the answer of "dump" into d (cleared first); -1 if malformed. */
int directive_dump_parse(const char *text, struct directive *d);

/* Hex for the control request line: dst needs 2 * strlen(src) + 1 bytes. */
void directive_hex(char *dst, const char *src);
/* Decode hex in place; -1 if not hex or a NUL byte would result. */
int directive_unhex(char *s);

#endif
