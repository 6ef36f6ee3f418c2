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
	{ "BDAT", SMTP_BDAT }, { "TURN", SMTP_TURN },
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

/* smtp_is_http - an HTTP request line (see smtp_parse.h) */
int
smtp_is_http(const char *line, size_t len)
{
	static const char *const methods[] = { "GET", "POST", "CONNECT",
	    "HEAD", "PUT", "OPTIONS", "DELETE", "PATCH", "TRACE" };
	size_t i, n;

	for (i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
		n = strlen(methods[i]);
		if (len > n && line[n] == ' ' &&
		    strncasecmp(line, methods[i], n) == 0)
			return 1;
	}
	return 0;
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

/* smtp_xtext_decode - RFC 3461 xtext (see smtp_parse.h) */
int
smtp_xtext_decode(const char *in, size_t len, char *out, size_t outlen)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i, n = 0;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)in[i];
		const char *h1, *h2;

		if (n + 1 >= outlen)
			return -1;
		if (c == '+') {
			if (i + 2 >= len || in[i + 1] == '\0' || in[i + 2] == '\0' ||
			    (h1 = strchr(hex, in[i + 1])) == NULL ||
			    (h2 = strchr(hex, in[i + 2])) == NULL)
				return -1;
			out[n++] = (char)((h1 - hex) * 16 + (h2 - hex));
			i += 2;
			continue;
		}
		if (c < 33 || c > 126 || c == '=')
			return -1;
		out[n++] = (char)c;
	}
	out[n] = '\0';
	return (int)n;
}

/* smtp_param_envid - ENVID=xtext: printable ASCII once decoded */
static int
smtp_param_envid(struct smtp_cmd *cmd, const char *v, size_t vlen)
{
	int n, i;

	if (cmd->envid[0] != '\0')
		return smtp_reply(cmd, "501 5.5.4 Duplicate ENVID parameter");
	if (v == NULL || (n = smtp_xtext_decode(v, vlen, cmd->envid,
	    sizeof(cmd->envid))) <= 0)
		goto bad;
	for (i = 0; i < n; i++)
		if (cmd->envid[i] < 32 || cmd->envid[i] > 126)
			goto bad;
	return 0;
bad:
	cmd->envid[0] = '\0';
	return smtp_reply(cmd, "501 5.5.4 Bad ENVID parameter");
}

/* smtp_param_ret - RET=FULL or RET=HDRS */
static int
smtp_param_ret(struct smtp_cmd *cmd, const char *v, size_t vlen)
{
	if (cmd->ret != SMTP_RET_NONE)
		return smtp_reply(cmd, "501 5.5.4 Duplicate RET parameter");
	if (vlen == 4 && strncasecmp(v, "FULL", 4) == 0)
		cmd->ret = SMTP_RET_FULL;
	else if (vlen == 4 && strncasecmp(v, "HDRS", 4) == 0)
		cmd->ret = SMTP_RET_HDRS;
	else
		return smtp_reply(cmd, "501 5.5.4 Bad RET parameter");
	return 0;
}

/* smtp_param_notify - NOTIFY=NEVER or a list of SUCCESS, FAILURE, DELAY */
static int
smtp_param_notify(struct smtp_cmd *cmd, const char *v, size_t vlen)
{
	static const char *const words[] = { "NEVER", "SUCCESS", "FAILURE", "DELAY" };
	const char *p = v, *end;
	unsigned int seen = 0;
	size_t i, n = 0;

	if (cmd->notify[0] != '\0')
		return smtp_reply(cmd, "501 5.5.4 Duplicate NOTIFY parameter");
	if (v == NULL)		/* "NOTIFY" without '=': no pointer arithmetic on NULL */
		return smtp_reply(cmd, "501 5.5.4 Bad NOTIFY parameter");
	end = v + vlen;
	while (p < end) {
		const char *q = memchr(p, ',', (size_t)(end - p));
		size_t wlen = (size_t)((q != NULL ? q : end) - p);

		for (i = 0; i < 4; i++)
			if (strlen(words[i]) == wlen &&
			    strncasecmp(words[i], p, wlen) == 0)
				break;
		if (i == 4 || (seen & (1u << i)))
			goto bad;
		seen |= 1u << i;
		n += (size_t)snprintf(cmd->notify + n, sizeof(cmd->notify) - n,
		    "%s%s", n > 0 ? "," : "", words[i]);
		if (q == NULL)
			break;
		p = q + 1;
		if (p == end)
			goto bad;
	}
	if ((seen & 1u) && seen != 1u)
		goto bad;		/* NEVER cannot be combined */
	return 0;
bad:
	cmd->notify[0] = '\0';
	return smtp_reply(cmd, "501 5.5.4 Bad NOTIFY parameter");
}

/* smtp_param_orcpt - ORCPT=addr-type;xtext, kept as "type;decoded" */
static int
smtp_param_orcpt(struct smtp_cmd *cmd, const char *v, size_t vlen)
{
	const char *semi = v != NULL ? memchr(v, ';', vlen) : NULL;
	size_t tlen, i;
	int n;

	if (cmd->orcpt[0] != '\0')
		return smtp_reply(cmd, "501 5.5.4 Duplicate ORCPT parameter");
	if (semi == NULL || semi == v || (tlen = (size_t)(semi - v)) > 32)
		goto bad;
	for (i = 0; i < tlen; i++)
		if (!isalnum((unsigned char)v[i]) && v[i] != '-')
			goto bad;
	memcpy(cmd->orcpt, v, tlen + 1);
	n = smtp_xtext_decode(semi + 1, vlen - tlen - 1, cmd->orcpt + tlen + 1,
	    sizeof(cmd->orcpt) - tlen - 1);
	if (n <= 0)
		goto bad;
	for (i = tlen + 1; cmd->orcpt[i] != '\0'; i++)
		if ((unsigned char)cmd->orcpt[i] < 32 || cmd->orcpt[i] == 127)
			goto bad;
	return 0;
bad:
	cmd->orcpt[0] = '\0';
	return smtp_reply(cmd, "501 5.5.4 Bad ORCPT parameter");
}

/* smtp_param_ext - extension parameters; 1 when the key is not one of them */
static int
smtp_param_ext(struct smtp_cmd *cmd, const char *tok, size_t klen,
    const char *v, size_t vlen)
{
	int mail = cmd->verb == SMTP_MAIL, dsn = (cmd->flags & SMTP_EXT_DSN) != 0;

#define KEY(name) (klen == sizeof(name) - 1 && strncasecmp(tok, name, klen) == 0)
	if (mail && (cmd->flags & SMTP_EXT_SMTPUTF8) && KEY("SMTPUTF8")) {
		if (v != NULL || cmd->smtputf8)
			return smtp_reply(cmd, "501 5.5.4 Bad SMTPUTF8 parameter");
		cmd->smtputf8 = 1;
		return 0;
	}
	if (mail && dsn && KEY("RET"))
		return smtp_param_ret(cmd, v, vlen);
	if (mail && dsn && KEY("ENVID"))
		return smtp_param_envid(cmd, v, vlen);
	if (!mail && dsn && KEY("NOTIFY"))
		return smtp_param_notify(cmd, v, vlen);
	if (!mail && dsn && KEY("ORCPT"))
		return smtp_param_orcpt(cmd, v, vlen);
#undef KEY
	return 1;
}

/* smtp_param - one KEY[=VALUE] token of MAIL or RCPT */
static int
smtp_param(struct smtp_cmd *cmd, const char *tok, size_t len)
{
	const char *eq = memchr(tok, '=', len), *v = NULL;
	size_t klen = eq != NULL ? (size_t)(eq - tok) : len, vlen = 0, i;
	int r;

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
	if ((r = smtp_param_ext(cmd, tok, klen, v, vlen)) != 1)
		return r;
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

/* smtp_route_end - after "<@a,@b:" of a source route, or NULL */
static const char *
smtp_route_end(const char *p, const char *end)
{
	/* p is at the '@' after '<' */
	while (p < end && *p == '@') {
		const char *d = ++p;

		while (p < end && (isalnum((unsigned char)*p) || *p == '.' ||
		    *p == '-' || *p == '[' || *p == ']'))
			p++;
		if (p == d || p >= end)
			return NULL;
		if (*p == ':')
			return p + 1;
		if (*p != ',')
			return NULL;
		p++;
	}
	return NULL;
}

/*
 * smtp_path_lenient - read the path from a copy: "<" + the path without
 * its source route (MAIL), or "<" + bare address + ">"; *rest points into
 * the line after the path
 */
static int
smtp_path_lenient(struct smtp_cmd *cmd, const char *p, const char *end,
    const char **rest, const char **why, int utf8)
{
	char tmp[ADDR_PATH_MAX + 8];
	const char *after, *trest;
	size_t skip = 0, n;
	int r;

	if (*p == '<') {			/* "<@a,@b:u@c>" */
		if ((after = smtp_route_end(p + 1, end)) == NULL)
			return addr_parse_path_utf8(p, (size_t)(end - p),
			    cmd->path, sizeof(cmd->path), rest, why, utf8);
		skip = (size_t)(after - (p + 1));
		n = (size_t)(end - after);
		if (n > sizeof(tmp) - 2)
			n = sizeof(tmp) - 2;	/* longer is refused anyway */
		tmp[0] = '<';
		memcpy(tmp + 1, after, n);
		n++;
	} else {				/* "u@c" */
		for (after = p; after < end && *after != ' '; after++)
			;
		n = (size_t)(after - p);
		if (n > ADDR_PATH_MAX)
			n = ADDR_PATH_MAX;	/* refused as too long below */
		tmp[0] = '<';
		memcpy(tmp + 1, p, n);
		tmp[n + 1] = '>';
		n += 2;
	}
	r = addr_parse_path_utf8(tmp, n, cmd->path, sizeof(cmd->path), &trest,
	    why, utf8);
	if (r != ADDR_OK)
		return r;
	if (*p != '<' && trest != tmp + n) {
		*why = "bad character in address";
		return ADDR_ESYNTAX;
	}
	*rest = *p == '<' ? p + (trest - tmp) + skip : p + (n - 2);
	return ADDR_OK;
}

/* smtp_8bit_error - a non-ASCII path where SMTPUTF8 does not apply */
static int
smtp_8bit_error(struct smtp_cmd *cmd)
{
	cmd->addr_status = ADDR_ESYNTAX;
	if (cmd->verb == SMTP_MAIL)
		return smtp_reply(cmd, "553 5.6.7 Non-ASCII sender address "
		    "needs SMTPUTF8 (EHLO, then MAIL FROM:<...> SMTPUTF8)");
	return smtp_reply(cmd, "553 5.6.7 Non-ASCII recipient address needs "
	    "an SMTPUTF8 transaction (MAIL FROM:<...> SMTPUTF8)");
}

/* smtp_has_8bit - any byte over 0x7f? */
static int
smtp_has_8bit(const char *p, const char *end)
{
	for (; p < end; p++)
		if ((unsigned char)*p >= 0x80)
			return 1;
	return 0;
}

/* smtp_path_params - the KEY[=VALUE] tokens after the path */
static int
smtp_path_params(struct smtp_cmd *cmd, const char *p, const char *end)
{
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

/* smtp_parse_path - "FROM:<path> params" or "TO:<path> params" */
static int
smtp_parse_path(struct smtp_cmd *cmd, const char *kw, const char *usage)
{
	const char *p = cmd->arg, *end = cmd->arg + cmd->arglen, *rest, *why;
	size_t kwlen = strlen(kw);
	int r, utf8, strict = (cmd->flags & SMTP_PARSE_STRICT) != 0;

	if (cmd->arglen < kwlen || strncasecmp(p, kw, kwlen) != 0)
		return smtp_reply(cmd, "501 5.5.4 Syntax: %s", usage);
	p += kwlen;
	while (p < end && *p == ' ')
		p++;
	if (p >= end || (strict && *p != '<'))
		return smtp_reply(cmd, "501 5.5.4 Syntax: %s", usage);
	utf8 = (cmd->verb == SMTP_MAIL && (cmd->flags & SMTP_EXT_SMTPUTF8)) ||
	    (cmd->verb == SMTP_RCPT && (cmd->flags & SMTP_EXT_UTF8_ADDR));
	if (!utf8 && smtp_has_8bit(p, end))
		return smtp_8bit_error(cmd);
	if (strict || (cmd->verb == SMTP_RCPT && *p == '<'))
		r = addr_parse_path_utf8(p, (size_t)(end - p), cmd->path,
		    sizeof(cmd->path), &rest, &why, utf8);
	else
		r = smtp_path_lenient(cmd, p, end, &rest, &why, utf8);
	if (r != ADDR_OK)
		return smtp_path_error(cmd, r, why);
	if (cmd->verb == SMTP_RCPT && cmd->path[0] == '\0')
		return smtp_path_error(cmd, ADDR_ESYNTAX, "empty address");
	if (cmd->verb == SMTP_MAIL && addr_is_postmaster(cmd->path))
		return smtp_path_error(cmd, ADDR_EDOMAIN, "missing domain");
	if (rest < end && *rest != ' ')
		return smtp_reply(cmd, "501 5.5.4 Syntax: %s", usage);
	if (smtp_path_params(cmd, rest, end) == -1)
		return -1;
	if (cmd->verb == SMTP_MAIL && !cmd->smtputf8 && addr_is_8bit(cmd->path))
		return smtp_reply(cmd, "553 5.6.7 Non-ASCII address needs the "
		    "SMTPUTF8 parameter");
	return 0;
}

/* smtp_parse_bdat - "BDAT size [LAST]" (RFC 3030) */
static int
smtp_parse_bdat(struct smtp_cmd *cmd)
{
	const char *p = cmd->arg, *end = cmd->arg + cmd->arglen;
	long long n = 0;
	size_t digits = 0;

	while (p < end && isdigit((unsigned char)*p)) {
		if (++digits > SMTP_SIZE_DIGITS)
			return smtp_reply(cmd, "501 5.5.4 Syntax: BDAT size [LAST]");
		n = n * 10 + (*p++ - '0');
	}
	if (digits == 0)
		return smtp_reply(cmd, "501 5.5.4 Syntax: BDAT size [LAST]");
	cmd->chunk = n;
	if (p == end)
		return 0;
	while (p < end && *p == ' ')
		p++;
	if (end - p == 4 && strncasecmp(p, "LAST", 4) == 0) {
		cmd->last = 1;
		return 0;
	}
	cmd->chunk = -1;
	return smtp_reply(cmd, "501 5.5.4 Syntax: BDAT size [LAST]");
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
	case SMTP_TURN:
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
	case SMTP_BDAT:
		return smtp_parse_bdat(cmd);
	case SMTP_AUTH:
		if (cmd->arglen == 0)
			return smtp_reply(cmd, "501 5.5.4 Syntax: AUTH mechanism");
		return 0;
	default:
		return 0;
	}
}

/* smtp_parse - smtp_parse_ext() without extensions */
int
smtp_parse(const char *line, size_t len, struct smtp_cmd *cmd)
{
	return smtp_parse_ext(line, len, 0, cmd);
}

/* smtp_parse_ext - split verb and argument, then check the verb's syntax */
int
smtp_parse_ext(const char *line, size_t len, unsigned int flags,
    struct smtp_cmd *cmd)
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
	cmd->smtputf8 = 0;
	cmd->ret = SMTP_RET_NONE;
	cmd->envid[0] = '\0';
	cmd->notify[0] = '\0';
	cmd->orcpt[0] = '\0';
	cmd->chunk = -1;
	cmd->last = 0;
	cmd->flags = flags;

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
