/*
 * smtp_parse.c - parse one SMTP command line (see smtp_parse.h)
 *
 * Pure functions over a (pointer, length) pair: no allocation, no global
 * state, so the parser is easy to table-test and to fuzz.
 */
#include "config.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "addr.h"
#include "smtp_parse.h"

#define SMTP_KEY_MAX	32	/* ESMTP keyword length we bother to read */
#define SMTP_SIZE_DIGITS 18	/* fits a long long */

static const struct {
	const char *name;
	enum smtp_verb verb;
} smtp_verbs[] = {
	{ "HELO", SMTP_HELO }, { "EHLO", SMTP_EHLO }, { "MAIL", SMTP_MAIL },
	{ "RCPT", SMTP_RCPT }, { "DATA", SMTP_DATA }, { "RSET", SMTP_RSET },
	{ "NOOP", SMTP_NOOP }, { "QUIT", SMTP_QUIT }, { "VRFY", SMTP_VRFY },
	{ "HELP", SMTP_HELP }, { "EXPN", SMTP_EXPN },
	{ "STARTTLS", SMTP_STARTTLS }, { "AUTH", SMTP_AUTH },
	{ "BDAT", SMTP_BDAT },
};

/* smtp_reply - set cmd->reply and return -1 */
static int __attribute__((format(printf, 2, 3)))
smtp_reply(struct smtp_cmd *cmd, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd->reply, sizeof(cmd->reply), fmt, ap);
	va_end(ap);
	return -1;
}

/* smtp_verb_name - text of a verb */
const char *
smtp_verb_name(enum smtp_verb verb)
{
	size_t i;

	for (i = 0; i < sizeof(smtp_verbs) / sizeof(smtp_verbs[0]); i++)
		if (smtp_verbs[i].verb == verb)
			return smtp_verbs[i].name;
	return "UNKNOWN";
}

/* smtp_lookup_verb - verb of the first word, case-insensitive */
static enum smtp_verb
smtp_lookup_verb(const char *word, size_t len)
{
	size_t i;

	for (i = 0; i < sizeof(smtp_verbs) / sizeof(smtp_verbs[0]); i++)
		if (strlen(smtp_verbs[i].name) == len &&
		    strncasecmp(smtp_verbs[i].name, word, len) == 0)
			return smtp_verbs[i].verb;
	return SMTP_UNKNOWN;
}

/* smtp_param_size - SIZE=digits */
static int
smtp_param_size(struct smtp_cmd *cmd, const char *v, size_t vlen)
{
	long long n = 0;
	size_t i;

	if (cmd->size != -1)
		return smtp_reply(cmd, "501 5.5.4 Duplicate SIZE parameter");
	if (vlen == 0 || vlen > SMTP_SIZE_DIGITS)
		return smtp_reply(cmd, "501 5.5.4 Bad SIZE parameter");
	for (i = 0; i < vlen; i++) {
		if (!isdigit((unsigned char)v[i]))
			return smtp_reply(cmd, "501 5.5.4 Bad SIZE parameter");
		n = n * 10 + (v[i] - '0');
	}
	cmd->size = n;
	return 0;
}

/* smtp_param_body - BODY=7BIT or BODY=8BITMIME */
static int
smtp_param_body(struct smtp_cmd *cmd, const char *v, size_t vlen)
{
	if (cmd->body != SMTP_BODY_DEFAULT)
		return smtp_reply(cmd, "501 5.5.4 Duplicate BODY parameter");
	if (vlen == 4 && strncasecmp(v, "7BIT", 4) == 0)
		cmd->body = SMTP_BODY_7BIT;
	else if (vlen == 8 && strncasecmp(v, "8BITMIME", 8) == 0)
		cmd->body = SMTP_BODY_8BITMIME;
	else
		return smtp_reply(cmd, "501 5.5.4 Bad BODY parameter");
	return 0;
}

/* smtp_param - one KEY[=VALUE] token of MAIL or RCPT */
static int
smtp_param(struct smtp_cmd *cmd, const char *tok, size_t len)
{
	const char *eq = memchr(tok, '=', len), *v = NULL;
	size_t klen = eq != NULL ? (size_t)(eq - tok) : len, vlen = 0, i;

	if (klen == 0 || klen > SMTP_KEY_MAX || !isalnum((unsigned char)tok[0]))
		return smtp_reply(cmd, "501 5.5.4 Bad parameter syntax");
	for (i = 0; i < klen; i++)
		if (!isalnum((unsigned char)tok[i]) && tok[i] != '-')
			return smtp_reply(cmd, "501 5.5.4 Bad parameter syntax");
	if (eq != NULL) {
		v = eq + 1;
		vlen = len - klen - 1;
		if (vlen == 0)
			return smtp_reply(cmd, "501 5.5.4 Bad parameter syntax");
		for (i = 0; i < vlen; i++)
			if (v[i] < 33 || v[i] > 126 || v[i] == '=')
				return smtp_reply(cmd,
				    "501 5.5.4 Bad parameter syntax");
	}
	if (cmd->verb == SMTP_MAIL && klen == 4 && strncasecmp(tok, "SIZE", 4) == 0)
		return smtp_param_size(cmd, v, vlen);
	if (cmd->verb == SMTP_MAIL && klen == 4 && strncasecmp(tok, "BODY", 4) == 0)
		return smtp_param_body(cmd, v, vlen);
	return smtp_reply(cmd, "555 5.5.4 Unsupported parameter: %.*s",
	    (int)klen, tok);
}

/* smtp_path_error - the reply for a refused MAIL or RCPT path */
static int
smtp_path_error(struct smtp_cmd *cmd, int status, const char *why)
{
	cmd->addr_status = status;
	if (cmd->verb == SMTP_MAIL)
		return smtp_reply(cmd, "501 5.1.7 Bad sender address syntax: %s",
		    why);
	if (status == ADDR_EROUTE)
		return smtp_reply(cmd, "553 5.1.3 Bad recipient address syntax: %s",
		    why);
	return smtp_reply(cmd, "501 5.1.3 Bad recipient address syntax: %s", why);
}

/* smtp_parse_path - "FROM:<path> params" or "TO:<path> params" */
static int
smtp_parse_path(struct smtp_cmd *cmd, const char *kw, const char *usage)
{
	const char *p = cmd->arg, *end = cmd->arg + cmd->arglen, *rest, *why;
	size_t kwlen = strlen(kw);
	int r;

	if (cmd->arglen < kwlen || strncasecmp(p, kw, kwlen) != 0)
		return smtp_reply(cmd, "501 5.5.4 Syntax: %s", usage);
	p += kwlen;
	while (p < end && *p == ' ')
		p++;
	if (p >= end || *p != '<')
		return smtp_reply(cmd, "501 5.5.4 Syntax: %s", usage);
	r = addr_parse_path(p, (size_t)(end - p), cmd->path, sizeof(cmd->path),
	    &rest, &why);
	if (r != ADDR_OK)
		return smtp_path_error(cmd, r, why);
	if (cmd->verb == SMTP_RCPT && cmd->path[0] == '\0')
		return smtp_path_error(cmd, ADDR_ESYNTAX, "empty address");
	if (cmd->verb == SMTP_MAIL && addr_is_postmaster(cmd->path))
		return smtp_path_error(cmd, ADDR_EDOMAIN, "missing domain");
	if (rest < end && *rest != ' ')
		return smtp_reply(cmd, "501 5.5.4 Syntax: %s", usage);
	p = rest;
	while (p < end) {
		const char *tok;

		while (p < end && *p == ' ')
			p++;
		if (p >= end)
			break;
		tok = p;
		while (p < end && *p != ' ')
			p++;
		if (smtp_param(cmd, tok, (size_t)(p - tok)) == -1)
			return -1;
	}
	return 0;
}

/* smtp_check_args - argument presence rules of the simple verbs */
static int
smtp_check_args(struct smtp_cmd *cmd)
{
	switch (cmd->verb) {
	case SMTP_HELO:
	case SMTP_EHLO:
		if (cmd->arglen == 0)
			return smtp_reply(cmd, "501 5.5.4 Syntax: %s hostname",
			    smtp_verb_name(cmd->verb));
		return 0;
	case SMTP_DATA:
	case SMTP_RSET:
	case SMTP_QUIT:
	case SMTP_STARTTLS:
		if (cmd->arglen != 0)
			return smtp_reply(cmd, "501 5.5.4 Syntax: %s",
			    smtp_verb_name(cmd->verb));
		return 0;
	case SMTP_VRFY:
	case SMTP_EXPN:
		if (cmd->arglen == 0)
			return smtp_reply(cmd, "501 5.5.4 Syntax: %s address",
			    smtp_verb_name(cmd->verb));
		return 0;
	case SMTP_MAIL:
		return smtp_parse_path(cmd, "FROM:", "MAIL FROM:<address>");
	case SMTP_RCPT:
		return smtp_parse_path(cmd, "TO:", "RCPT TO:<address>");
	default:
		return 0;
	}
}

/* smtp_parse - split verb and argument, then check the verb's syntax */
int
smtp_parse(const char *line, size_t len, struct smtp_cmd *cmd)
{
	const char *p = line, *end = line + len;

	cmd->verb = SMTP_UNKNOWN;
	cmd->arg = line + len;
	cmd->arglen = 0;
	cmd->path[0] = '\0';
	cmd->addr_status = ADDR_OK;
	cmd->size = -1;
	cmd->body = SMTP_BODY_DEFAULT;
	cmd->reply[0] = '\0';

	if (memchr(line, '\0', len) != NULL)
		return smtp_reply(cmd, "500 5.5.2 Error: NUL character in command");
	while (p < end && *p != ' ')
		p++;
	cmd->verb = smtp_lookup_verb(line, (size_t)(p - line));
	if (cmd->verb == SMTP_UNKNOWN)
		return smtp_reply(cmd, "500 5.5.2 Error: command not recognized");
	while (p < end && *p == ' ')
		p++;
	while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	cmd->arg = p;
	cmd->arglen = (size_t)(end - p);
	return smtp_check_args(cmd);
}
