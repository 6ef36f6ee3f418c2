/*
 * fuzz_smtp_parse.c - fuzz target: the receiver's SMTP command parser
 *
 * The first byte picks the SMTP_EXT_* flags the session offers (and
 * SMTP_PARSE_STRICT); the rest
 * is one command line (no CRLF).  Checks the contract of smtp_parse.h:
 * on error a reply line is set, on success every field is bounded.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smtp_parse.h"
#include "fuzz.h"

/* fuzz_check - abort when the parsed command breaks the header's promises */
static void
fuzz_check(const struct smtp_cmd *cmd, int rc, const char *line, size_t len)
{
	if (rc == -1) {
		if (strnlen(cmd->reply, sizeof(cmd->reply)) == 0 ||
		    strnlen(cmd->reply, sizeof(cmd->reply)) == sizeof(cmd->reply))
			abort();
		return;
	}
	if (rc != 0)
		abort();
	if (cmd->arg != NULL && (cmd->arg < line || cmd->arg + cmd->arglen > line + len))
		abort();
	if (strnlen(cmd->path, sizeof(cmd->path)) == sizeof(cmd->path) ||
	    strnlen(cmd->envid, sizeof(cmd->envid)) == sizeof(cmd->envid) ||
	    strnlen(cmd->orcpt, sizeof(cmd->orcpt)) == sizeof(cmd->orcpt) ||
	    strnlen(cmd->notify, sizeof(cmd->notify)) == sizeof(cmd->notify))
		abort();
	(void)smtp_verb_name(cmd->verb);
}

/* LLVMFuzzerTestOneInput - parse one command line */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct smtp_cmd cmd;
	char *line, out[64];
	unsigned int flags;
	int rc;

	if (size < 1)
		return 0;
	flags = data[0] & (SMTP_EXT_SMTPUTF8 | SMTP_EXT_DSN | SMTP_EXT_UTF8_ADDR |
	    SMTP_PARSE_STRICT);
	/* an exact-size copy, so a read past the end is caught */
	line = malloc(size - 1 ? size - 1 : 1);
	if (line == NULL)
		return 0;
	memcpy(line, data + 1, size - 1);
	memset(&cmd, 0, sizeof(cmd));
	rc = smtp_parse_ext(line, size - 1, flags, &cmd);
	fuzz_check(&cmd, rc, line, size - 1);
	rc = smtp_parse(line, size - 1, &cmd);
	fuzz_check(&cmd, rc, line, size - 1);
	rc = smtp_xtext_decode(line, size - 1, out, sizeof(out));
	if (rc >= (int)sizeof(out))
		abort();
	free(line);
	return 0;
}
