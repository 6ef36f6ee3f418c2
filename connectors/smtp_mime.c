/*
 * smtp_mime.c - 8-bit text to quoted-printable for upstreams without 8BITMIME
 *
 * The message is cut into lines (CRLF, LF or a bare CR end one, as in
 * smtp_enc.c); a line longer than SMTP_MIME_PIECE goes in pieces, and
 * mimescan.c says what each piece is (a line in pieces is never a
 * boundary).  Each
 * entity (the message, then each part in order) gets an index; the
 * analysis pass sets the plan bit of every entity whose body is to be
 * converted, and the emit pass converts exactly those.  Header fields
 * pass through untouched except Content-Type and Content-Transfer-
 * Encoding, which are held until complete to be parsed (and the latter
 * dropped when its entity is converted).  Line ends are written as CRLF;
 * quoted-printable lines are at most 76 octets, trailing white space and
 * a "-" or "." at the start of an encoded line are encoded, so no encoded
 * line can look like a boundary (RFC 2045 6.7, RFC 2046 5.1.1).
 */
#include "config.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "smtp_mime.h"

#define QP_MAX	75	/* encoded octets before a soft break ("=" is 76th) */

enum { S_HDR, S_BODY, S_PRE };
enum { K_TEXT, K_MULTI, K_MESSAGE, K_OTHER };
enum { C_NONE, C_7BIT, C_8BIT, C_BINARY, C_QP, C_B64, C_OTHER };
enum { F_NONE, F_PASS, F_CT, F_CTE };

/* smtp_mime_init - a fresh converter, the plan included */
void
smtp_mime_init(struct smtp_mime *m)
{
	memset(m, 0, sizeof(*m));
}

/* smtp_mime_entity - a new entity's header starts */
static void
smtp_mime_entity(struct smtp_mime *m, int rfc822)
{
	m->cur = m->nent++;
	m->kind = rfc822 ? K_MESSAGE : K_TEXT;
	m->cte = C_NONE;
	m->mimever = 0;
	m->body8 = 0;
	m->fieldlen = 0;
	m->fieldkind = F_NONE;
	m->converting = m->emit && m->cur < SMTP_MIME_PARTS &&
	    (m->conv[m->cur / 8] & (1u << (m->cur % 8))) != 0;
	m->state = S_HDR;
}

/* smtp_mime_begin - start a pass over the message (the plan is kept) */
void
smtp_mime_begin(struct smtp_mime *m, int emit, smtp_mime_out_fn out,
    void *arg)
{
	m->emit = emit;
	m->out = out;
	m->arg = arg;
	m->why[0] = '\0';
	m->refused = m->failed = 0;
	m->nent = 0;
	mimescan_init(&m->scan, SMTP_MIME_DEPTH, 0, 0, 0);
	m->linelen = 0;
	m->linecont = m->cr = 0;
	m->qpcol = 0;
	m->qpws = 0;
	m->olen = 0;
	smtp_mime_entity(m, 0);
}

/* smtp_mime_refuse - the message cannot be converted: say why */
static void __attribute__((format(printf, 2, 3)))
smtp_mime_refuse(struct smtp_mime *m, const char *fmt, ...)
{
	va_list ap;

	if (m->refused)
		return;
	m->refused = 1;
	va_start(ap, fmt);
	vsnprintf(m->why, sizeof(m->why), fmt, ap);
	va_end(ap);
}

/* smtp_mime_flush - hand the output buffer to the callback */
static void
smtp_mime_flush(struct smtp_mime *m)
{
	if (m->olen > 0 && !m->failed && m->out(m->arg, m->obuf, m->olen) == -1)
		m->failed = 1;
	m->olen = 0;
}

/* smtp_mime_put - output bytes (emit pass only) */
static void
smtp_mime_put(struct smtp_mime *m, const char *p, size_t n)
{
	size_t k;

	if (!m->emit)
		return;
	while (n > 0) {
		if (m->olen == sizeof(m->obuf))
			smtp_mime_flush(m);
		k = sizeof(m->obuf) - m->olen;
		if (k > n)
			k = n;
		memcpy(m->obuf + m->olen, p, k);
		m->olen += k;
		p += k;
		n -= k;
	}
}

/* smtp_mime_8bit - does p hold a byte >= 0x80? */
static int
smtp_mime_8bit(const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if ((unsigned char)p[i] >= 0x80)
			return 1;
	return 0;
}

/* ---- quoted-printable ---- */

/* smtp_mime_qp_token - an encoded token, after a soft break if needed */
static void
smtp_mime_qp_token(struct smtp_mime *m, const char *t, size_t n)
{
	if (m->qpcol + n > QP_MAX) {
		smtp_mime_put(m, "=\r\n", 3);
		m->qpcol = 0;
	}
	smtp_mime_put(m, t, n);
	m->qpcol += n;
}

/* smtp_mime_qp_hex - one octet as =XX */
static void
smtp_mime_qp_hex(struct smtp_mime *m, unsigned char c)
{
	static const char hex[] = "0123456789ABCDEF";
	char t[3] = { '=', hex[c >> 4], hex[c & 15] };

	smtp_mime_qp_token(m, t, 3);
}

/* smtp_mime_qp_ws - the held space or tab: literal, or encoded at a line end */
static void
smtp_mime_qp_ws(struct smtp_mime *m, int eol)
{
	char c = (char)m->qpws;

	if (m->qpws == 0)
		return;
	m->qpws = 0;
	if (eol)
		smtp_mime_qp_hex(m, (unsigned char)c);
	else
		smtp_mime_qp_token(m, &c, 1);
}

/* smtp_mime_qp - encode a piece of a body line */
static void
smtp_mime_qp(struct smtp_mime *m, const char *p, size_t n)
{
	unsigned char c;
	size_t i;

	for (i = 0; i < n; i++) {
		c = (unsigned char)p[i];
		smtp_mime_qp_ws(m, 0);
		if (c == ' ' || c == '\t') {
			m->qpws = c;
			continue;
		}
		if (m->qpcol + 1 > QP_MAX) {
			smtp_mime_put(m, "=\r\n", 3);
			m->qpcol = 0;
		}
		if (c >= '!' && c <= '~' && c != '=' &&
		    !(m->qpcol == 0 && (c == '-' || c == '.')))
			smtp_mime_qp_token(m, (const char *)&c, 1);
		else
			smtp_mime_qp_hex(m, c);
	}
}

/* smtp_mime_qp_eol - a hard line break of the encoded body */
static void
smtp_mime_qp_eol(struct smtp_mime *m)
{
	smtp_mime_qp_ws(m, 1);
	smtp_mime_put(m, "\r\n", 2);
	m->qpcol = 0;
}

/* ---- header fields ---- */

/* smtp_mime_ct - the kind of entity a held Content-Type names */
static void
smtp_mime_ct(struct smtp_mime *m, const char *p, const char *end)
{
	struct mimescan_ctype ct;

	if (mimescan_ctype(p, (size_t)(end - p), &ct) == -1)
		m->kind = K_OTHER;	/* unreadable: never converted */
	else if (strcmp(ct.type, "text") == 0)
		m->kind = K_TEXT;
	else if (strcmp(ct.type, "multipart") == 0)
		m->kind = K_MULTI;
	else if (strcmp(ct.type, "message") == 0)
		m->kind = K_MESSAGE;
	else
		m->kind = K_OTHER;
}

/* smtp_mime_cte - parse the held Content-Transfer-Encoding field */
static void
smtp_mime_cte(struct smtp_mime *m, const char *p, const char *end)
{
	static const struct { const char *name; int cte; } t[] = {
		{ "7bit", C_7BIT }, { "8bit", C_8BIT },
		{ "binary", C_BINARY }, { "quoted-printable", C_QP },
		{ "base64", C_B64 }
	};
	char tok[64];
	size_t i;

	mimescan_word(p, (size_t)(end - p), tok, sizeof(tok));
	m->cte = C_OTHER;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (strcasecmp(tok, t[i].name) == 0)
			m->cte = t[i].cte;
}

/* smtp_mime_field_end - the held field is complete: parse and write it */
static void
smtp_mime_field_end(struct smtp_mime *m)
{
	const char *colon, *end = m->field + m->fieldlen;

	if (m->fieldkind == F_CT || m->fieldkind == F_CTE) {
		colon = memchr(m->field, ':', m->fieldlen);
		if (colon != NULL && m->fieldkind == F_CT)
			smtp_mime_ct(m, colon + 1, end);
		else if (colon != NULL)
			smtp_mime_cte(m, colon + 1, end);
		if (!(m->fieldkind == F_CTE && m->converting)) {
			smtp_mime_put(m, m->field, m->fieldlen);
			smtp_mime_put(m, "\r\n", 2);
		}
	}
	m->fieldkind = F_NONE;
	m->fieldlen = 0;
}

/* smtp_mime_field_kind - which field a header line starts */
static int
smtp_mime_field_kind(struct smtp_mime *m, const char *p, size_t n)
{
	const char *colon = memchr(p, ':', n);
	size_t len;

	if (colon == NULL)
		return F_PASS;
	for (len = (size_t)(colon - p); len > 0 && (p[len - 1] == ' ' ||
	    p[len - 1] == '\t'); len--)
		;
	if (len == 12 && strncasecmp(p, "Content-Type", 12) == 0)
		return F_CT;
	if (len == 25 && strncasecmp(p, "Content-Transfer-Encoding", 25) == 0)
		return F_CTE;
	if (len == 12 && strncasecmp(p, "MIME-Version", 12) == 0)
		m->mimever = 1;
	return F_PASS;
}

/* smtp_mime_hold - add a piece to the held field */
static void
smtp_mime_hold(struct smtp_mime *m, const char *p, size_t n)
{
	if (m->fieldlen + n > sizeof(m->field)) {
		smtp_mime_refuse(m, "a Content-Type or Content-Transfer-"
		    "Encoding field is longer than %d octets",
		    SMTP_MIME_FIELD);
		return;
	}
	memcpy(m->field + m->fieldlen, p, n);
	m->fieldlen += n;
}

/* smtp_mime_header_end - the empty line: where the body goes */
static void
smtp_mime_header_end(struct smtp_mime *m)
{
	static const char mv[] = "MIME-Version: 1.0\r\n";
	static const char cte[] = "Content-Transfer-Encoding: "
	    "quoted-printable\r\n";

	smtp_mime_field_end(m);
	if (m->converting) {
		if (m->cur == 0 && !m->mimever)
			smtp_mime_put(m, mv, sizeof(mv) - 1);
		smtp_mime_put(m, cte, sizeof(cte) - 1);
	}
	smtp_mime_put(m, "\r\n", 2);
	m->qpcol = 0;
	m->qpws = 0;
	m->state = S_BODY;
	if (m->kind != K_MULTI)
		return;
	if (!m->scan.multipart) {
		m->kind = K_OTHER;	/* opaque: 8-bit in it is refused */
		return;
	}
	m->state = S_PRE;
}

/* smtp_mime_header - one piece of a header line */
static void
smtp_mime_header(struct smtp_mime *m, const char *p, size_t n, int start,
    int end)
{
	if (smtp_mime_8bit(p, n)) {
		smtp_mime_refuse(m, "8-bit octets in a header field (only "
		    "bodies are converted)");
		return;
	}
	if (start && n == 0 && end) {
		smtp_mime_header_end(m);
		return;
	}
	if (start && p[0] != ' ' && p[0] != '\t') {
		smtp_mime_field_end(m);
		m->fieldkind = smtp_mime_field_kind(m, p, n);
	} else if (start && m->fieldkind != F_PASS && m->fieldlen > 0)
		smtp_mime_hold(m, "\r\n", 2);
	if (m->fieldkind == F_CT || m->fieldkind == F_CTE) {
		smtp_mime_hold(m, p, n);
		return;
	}
	if (m->fieldkind == F_NONE)
		m->fieldkind = F_PASS;	/* continuation before any field */
	smtp_mime_put(m, p, n);
	if (end)
		smtp_mime_put(m, "\r\n", 2);
}

/* ---- bodies and boundaries ---- */

/* smtp_mime_leaf_end - the current entity ends: decide (analysis) */
static void
smtp_mime_leaf_end(struct smtp_mime *m, int eof)
{
	static const char *kinds[] = { "text", "multipart", "message/*",
	    "non-text" };
	static const char *ctes[] = { "", "7bit", "8bit", "binary",
	    "quoted-printable", "base64", "unknown" };

	if (m->emit) {
		if (m->converting && eof)
			smtp_mime_qp_ws(m, 1);
		return;
	}
	if (!m->body8)
		return;
	if (m->kind != K_TEXT)
		smtp_mime_refuse(m, "8-bit octets in a %s part cannot be "
		    "converted", kinds[m->kind]);
	else if (m->cte != C_NONE && m->cte != C_7BIT && m->cte != C_8BIT)
		smtp_mime_refuse(m, "8-bit octets in a text part labelled "
		    "%s cannot be converted", ctes[m->cte]);
	else if (m->cur >= SMTP_MIME_PARTS)
		smtp_mime_refuse(m, "more than %d MIME parts", SMTP_MIME_PARTS);
	else {
		m->conv[m->cur / 8] |= (unsigned char)(1u << (m->cur % 8));
		m->nconverted++;
	}
}

/* smtp_mime_at_boundary - a delimiter line: end what is open, write it */
static void
smtp_mime_at_boundary(struct smtp_mime *m, const char *p, size_t n,
    enum mimescan_what what)
{
	if (m->state == S_HDR)
		smtp_mime_field_end(m);
	if (m->state == S_HDR || m->state == S_BODY)
		smtp_mime_leaf_end(m, 0);
	smtp_mime_put(m, p, n);
	smtp_mime_put(m, "\r\n", 2);
	if (what == MIMESCAN_OPEN)
		smtp_mime_entity(m, m->scan.rfc822_default);
	else
		m->state = S_PRE;	/* the epilogue */
}

/* smtp_mime_piece - one piece of a line (start: it begins the line) */
static void
smtp_mime_piece(struct smtp_mime *m, const char *p, size_t n, int start,
    int end)
{
	enum mimescan_what what;

	if (m->refused || m->failed)
		return;
	what = mimescan_line(&m->scan, p, n, start, end);
	if (what == MIMESCAN_OPEN || what == MIMESCAN_CLOSE) {
		smtp_mime_at_boundary(m, p, n, what);
		return;
	}
	if (m->state == S_HDR) {
		smtp_mime_header(m, p, n, start, end);
		return;
	}
	if (m->state == S_BODY && m->converting) {
		smtp_mime_qp(m, p, n);
		if (end)
			smtp_mime_qp_eol(m);
		return;
	}
	if (m->state == S_BODY)
		m->body8 |= smtp_mime_8bit(p, n);
	else if (smtp_mime_8bit(p, n))
		smtp_mime_refuse(m, "8-bit octets outside of any MIME part "
		    "(a preamble, an epilogue or a boundary line)");
	smtp_mime_put(m, p, n);
	if (end)
		smtp_mime_put(m, "\r\n", 2);
}

/* smtp_mime_line_end - the line being assembled is complete */
static void
smtp_mime_line_end(struct smtp_mime *m)
{
	smtp_mime_piece(m, m->line, m->linelen, !m->linecont, 1);
	m->linelen = 0;
	m->linecont = 0;
}

/* smtp_mime_feed - cut bytes into lines and pieces */
int
smtp_mime_feed(struct smtp_mime *m, const void *buf, size_t n)
{
	const char *p = buf;
	size_t i;

	for (i = 0; i < n && !m->refused && !m->failed; i++) {
		if (m->cr) {
			m->cr = 0;
			smtp_mime_line_end(m);
			if (p[i] == '\n')
				continue;	/* CRLF */
		}
		if (p[i] == '\r') {
			m->cr = 1;
			continue;
		}
		if (p[i] == '\n') {
			smtp_mime_line_end(m);
			continue;
		}
		if (m->linelen == sizeof(m->line)) {
			smtp_mime_piece(m, m->line, m->linelen, !m->linecont,
			    0);
			m->linecont = 1;
			m->linelen = 0;
		}
		m->line[m->linelen++] = p[i];
	}
	return m->refused || m->failed ? -1 : 0;
}

/* smtp_mime_finish - the end of the message */
int
smtp_mime_finish(struct smtp_mime *m)
{
	if (m->cr) {
		m->cr = 0;
		smtp_mime_line_end(m);
	}
	if (m->linelen > 0)
		smtp_mime_piece(m, m->line, m->linelen, !m->linecont, 0);
	m->linelen = 0;
	if (!m->refused && m->state == S_HDR)
		smtp_mime_field_end(m);
	if (!m->refused && (m->state == S_HDR || m->state == S_BODY))
		smtp_mime_leaf_end(m, 1);
	if (m->emit && !m->refused)
		smtp_mime_flush(m);
	return m->refused || m->failed ? -1 : 0;
}
