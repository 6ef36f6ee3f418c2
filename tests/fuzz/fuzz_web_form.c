/*
 * fuzz_web_form.c - fuzz target: gatewayd-web's form body parser
 * (web_form.h), then a routing sheet's form (web_sheet_form.h) and the
 * HTML escaper (web_html.h) on what it gives
 *
 * The input is a POST body as the web child hands it over (any bytes,
 * NULs included).  Checked: no crash or sanitizer report; every name
 * and value is a string no longer than the body, without NUL inside;
 * escaped text has no raw '<', '>', '"' or '\'' and no control byte but
 * a tab.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "directive.h"
#include "fuzz.h"
#include "web_form.h"
#include "web_html.h"
#include "web_sheet_form.h"

/* fuzz_escaped - the escaper's output holds nothing that leaves text */
static void
fuzz_escaped(const char *s)
{
	struct web_buf b = { 0 };
	const unsigned char *p;

	web_html(&b, s);
	for (p = (const unsigned char *)(b.data ? b.data : ""); *p; p++)
		if (*p == '<' || *p == '>' || *p == '"' || *p == '\'' ||
		    (*p < 0x20 && *p != '\t') || *p == 0x7f)
			abort();
	web_buf_free(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct web_form f;
	struct directive d;
	char err[256];
	size_t i;

	if (web_form_parse(&f, (const char *)data, size, err, sizeof(err)) == -1)
		return 0;
	for (i = 0; i < f.n; i++) {
		if (strlen(f.name[i]) == 0 || strlen(f.name[i]) > size ||
		    strlen(f.value[i]) > size)
			abort();
		fuzz_escaped(f.value[i]);
	}
	if (web_sheets_from_form(&f, &d, err, sizeof(err)) == 0 &&
	    (d.nrcpt == 0 || d.title == NULL))
		abort();
	directive_clear(&d);
	web_form_free(&f);
	return 0;
}
