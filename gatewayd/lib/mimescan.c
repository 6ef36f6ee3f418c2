/*
 * mimescan.c - one bounded walk over the MIME structure of a message
 *
 * Three states: an entity's header (the Content-Type field is kept,
 * unfolded, to be parsed at the empty line), a body, and the outside of
 * parts (a preamble or an epilogue).  A complete line that is a delimiter
 * of an open multipart wins over every state.  The header value parsers
 * (RFC 2045 tokens, quoted strings, comments) are the tree's only ones
 * for MIME parameters.  Every copy is bounded; nothing trusts the message.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "mimescan.h"

enum { MS_HEADER, MS_BODY, MS_OUTSIDE };

/* mimescan_cfws - skip white space, line ends and (nested) comments */
static const char *
mimescan_cfws(const char *p, const char *end)
{
	int depth = 0;

	for (; p < end; p++) {
		if (depth > 0 && *p == '\\' && p + 1 < end)
			p++;
		else if (*p == '(')
			depth++;
		else if (*p == ')' && depth > 0)
			depth--;
		else if (depth == 0 && !isspace((unsigned char)*p))
			break;
	}
	return p;
}

/* mimescan_token - a MIME token (RFC 2045 5.1) at p into out, cut to fit */
static const char *
mimescan_token(const char *p, const char *end, char *out, size_t outlen,
    size_t *full)
{
	size_t n = 0;

	*full = 0;
	while (p < end && (unsigned char)*p > ' ' && *p != 0x7f &&
	    strchr("()<>@,;:\\\"/[]?=", *p) == NULL) {
		if (n + 1 < outlen)
			out[n++] = *p;
		(*full)++;
		p++;
	}
	out[n] = '\0';
	return p;
}

/* mimescan_value - a parameter value (token or quoted string) into out */
static const char *
mimescan_value(const char *p, const char *end, char *out, size_t outlen,
    size_t *full)
{
	size_t n = 0;

	if (p >= end || *p != '"')
		return mimescan_token(p, end, out, outlen, full);
	*full = 0;
	for (p++; p < end && *p != '"'; p++) {
		if (*p == '\\' && p + 1 < end)
			p++;
		else if (*p == '\r' || *p == '\n')
			continue;	/* folding */
		if (n + 1 < outlen)
			out[n++] = *p;
		(*full)++;
	}
	out[n] = '\0';
	return p < end ? p + 1 : p;
}

/* mimescan_param - the value of one parameter of a structured value */
ssize_t
mimescan_param(const char *value, size_t len, const char *name, char *out,
    size_t outlen)
{
	const char *p = value, *end = value + len;
	char pname[64];
	size_t plen, full;

	for (;;) {
		p = mimescan_cfws(p, end);
		while (p < end && *p != ';')	/* junk before the next ';' */
			p++;
		if (p >= end)
			return -1;
		p = mimescan_cfws(p + 1, end);
		p = mimescan_token(p, end, pname, sizeof(pname), &plen);
		p = mimescan_cfws(p, end);
		if (p >= end || *p != '=')
			continue;
		p = mimescan_cfws(p + 1, end);
		p = mimescan_value(p, end, out, outlen, &full);
		if (plen < sizeof(pname) && strcasecmp(pname, name) == 0)
			return (ssize_t)full;
	}
}

/* mimescan_lower - a token in lower case, in place */
static void
mimescan_lower(char *s)
{
	for (; *s != '\0'; s++)
		*s = (char)tolower((unsigned char)*s);
}

/* mimescan_ctype - type, subtype and boundary of a Content-Type value */
int
mimescan_ctype(const char *value, size_t len, struct mimescan_ctype *ct)
{
	const char *p = value, *end = value + len;
	size_t full;
	ssize_t blen;

	memset(ct, 0, sizeof(*ct));
	p = mimescan_cfws(p, end);
	p = mimescan_token(p, end, ct->type, sizeof(ct->type), &full);
	p = mimescan_cfws(p, end);
	if (ct->type[0] == '\0' || p >= end || *p != '/') {
		ct->type[0] = '\0';
		return -1;
	}
	p = mimescan_cfws(p + 1, end);
	p = mimescan_token(p, end, ct->subtype, sizeof(ct->subtype), &full);
	mimescan_lower(ct->type);
	mimescan_lower(ct->subtype);
	blen = mimescan_param(p, (size_t)(end - p), "boundary", ct->boundary,
	    sizeof(ct->boundary));
	if (blen < 1 || blen > MIMESCAN_BOUNDARY)
		ct->boundary[0] = '\0';
	return 0;
}

/* mimescan_word - the first token of a header value */
void
mimescan_word(const char *value, size_t len, char *out, size_t outlen)
{
	const char *end = value + len;
	size_t full;

	mimescan_token(mimescan_cfws(value, end), end, out, outlen, &full);
}

/* mimescan_limit - note the first limit passed */
static void
mimescan_limit(struct mimescan *s, const char *why)
{
	if (s->why == NULL)
		s->why = why;
}

/* mimescan_entity - an entity's header starts */
static void
mimescan_entity(struct mimescan *s, int rfc822_default)
{
	s->state = MS_HEADER;
	s->rfc822_default = rfc822_default;
	s->ct_seen = s->in_ct = s->field_over = 0;
	s->fieldlen = 0;
}

/* mimescan_init - a scanner at the start of a message */
void
mimescan_init(struct mimescan *s, unsigned int max_depth,
    unsigned int max_parts, unsigned int max_messages, int flags)
{
	memset(s, 0, sizeof(*s));
	s->max_depth = max_depth < MIMESCAN_DEPTH ? max_depth : MIMESCAN_DEPTH;
	s->max_parts = max_parts;
	s->max_messages = max_messages;
	s->flags = flags;
	mimescan_entity(s, 0);
}

/* mimescan_delimiter - the level whose delimiter the line is, or -1 */
static int
mimescan_delimiter(const struct mimescan *s, const char *p, size_t n,
    int *close)
{
	const struct mimescan_level *lv;
	int i;

	if (n < 3 || p[0] != '-' || p[1] != '-')
		return -1;
	while (n > 2 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
		n--;
	for (i = (int)s->depth - 1; i >= 0; i--) {
		lv = &s->lv[i];
		if (n < lv->blen + 2 || memcmp(p + 2, lv->boundary,
		    lv->blen) != 0)
			continue;
		if (n == lv->blen + 2) {
			*close = 0;
			return i;
		}
		if (n == lv->blen + 4 && p[n - 2] == '-' && p[n - 1] == '-') {
			*close = 1;
			return i;
		}
	}
	return -1;
}

/* mimescan_is_ct - does the header line start a Content-Type field? */
static int
mimescan_is_ct(const char *p, size_t n)
{
	const char *colon = memchr(p, ':', n);
	size_t len;

	if (colon == NULL)
		return 0;
	for (len = (size_t)(colon - p); len > 0 && (p[len - 1] == ' ' ||
	    p[len - 1] == '\t'); len--)
		;
	return len == 12 && strncasecmp(p, "Content-Type", 12) == 0;
}

/* mimescan_hold - add a piece of the Content-Type field */
static void
mimescan_hold(struct mimescan *s, const char *p, size_t n)
{
	if (n > sizeof(s->field) - s->fieldlen) {
		s->field_over = 1;	/* never parsed from a cut value */
		return;
	}
	memcpy(s->field + s->fieldlen, p, n);
	s->fieldlen += n;
}

/* mimescan_header_line - a header line or piece: keep the Content-Type */
static void
mimescan_header_line(struct mimescan *s, const char *p, size_t n, int start)
{
	if (start && n > 0 && p[0] != ' ' && p[0] != '\t') {
		s->in_ct = mimescan_is_ct(p, n);
		if (s->in_ct) {	/* the last one counts */
			s->ct_seen = 1;
			s->fieldlen = 0;
			s->field_over = 0;
		}
	} else if (start && s->in_ct)
		mimescan_hold(s, " ", 1);	/* unfold */
	if (s->in_ct)
		mimescan_hold(s, p, n);
}

/* mimescan_type - the type of the entity whose header ended */
static void
mimescan_type(struct mimescan *s)
{
	struct mimescan_ctype *ct = &s->ct;
	const char *colon;

	memset(ct, 0, sizeof(*ct));
	if (s->ct_seen) {
		colon = memchr(s->field, ':', s->fieldlen);
		if (colon != NULL)
			mimescan_ctype(colon + 1, s->fieldlen -
			    (size_t)(colon + 1 - s->field), ct);
		if (s->field_over)
			ct->boundary[0] = '\0';
		return;
	}
	snprintf(ct->type, sizeof(ct->type), "%s", s->rfc822_default ?
	    "message" : "text");
	snprintf(ct->subtype, sizeof(ct->subtype), "%s", s->rfc822_default ?
	    "rfc822" : "plain");
}

/* mimescan_push - open a multipart level; -1 when it stays opaque */
static int
mimescan_push(struct mimescan *s)
{
	struct mimescan_level *lv;

	if (s->ct.boundary[0] == '\0')
		return -1;
	if (s->depth >= s->max_depth) {
		mimescan_limit(s, "multiparts nested too deep");
		return -1;
	}
	lv = &s->lv[s->depth++];
	snprintf(lv->boundary, sizeof(lv->boundary), "%s", s->ct.boundary);
	lv->blen = strlen(lv->boundary);
	lv->digest = strcmp(s->ct.subtype, "digest") == 0;
	return 0;
}

/* mimescan_header_end - the empty line: what the body is */
static enum mimescan_what
mimescan_header_end(struct mimescan *s)
{
	mimescan_type(s);
	s->multipart = s->message = 0;
	s->state = MS_BODY;
	if (strcmp(s->ct.type, "multipart") == 0) {
		if (mimescan_push(s) == 0) {
			s->multipart = 1;
			s->state = MS_OUTSIDE;
		}
	} else if ((s->flags & MIMESCAN_MESSAGES) &&
	    strcmp(s->ct.type, "message") == 0 &&
	    strcmp(s->ct.subtype, "rfc822") == 0) {
		if (++s->messages > s->max_messages)
			mimescan_limit(s, "too many attached messages");
		else {
			s->message = 1;
			mimescan_entity(s, 0);
		}
	}
	return MIMESCAN_HEADER_END;
}

/* mimescan_line - one line, or a piece of one: what it is */
enum mimescan_what
mimescan_line(struct mimescan *s, const char *p, size_t n, int start, int end)
{
	int k, close = 0;

	if (start && end && s->depth > 0 &&
	    (k = mimescan_delimiter(s, p, n, &close)) >= 0) {
		s->level = k;
		if (close) {
			s->depth = (unsigned int)k;
			s->state = MS_OUTSIDE;
			return MIMESCAN_CLOSE;
		}
		s->depth = (unsigned int)k + 1;
		if (++s->parts > s->max_parts && s->max_parts > 0)
			mimescan_limit(s, "too many parts");
		mimescan_entity(s, s->lv[k].digest);
		return MIMESCAN_OPEN;
	}
	if (s->state == MS_HEADER) {
		if (start && end && n == 0)
			return mimescan_header_end(s);
		mimescan_header_line(s, p, n, start);
		return MIMESCAN_HEADER;
	}
	return s->state == MS_BODY ? MIMESCAN_BODY : MIMESCAN_OUTSIDE;
}
