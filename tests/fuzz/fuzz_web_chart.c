/*
 * fuzz_web_chart.c - fuzz target: the web console's reader of "stats
 * history --json"
 *
 * The input is an answer as the control socket would send it, given to
 * web_chart_history().  Nothing of it but numbers reaches the page: the
 * output is printable ASCII and newlines only, with at most one chart.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "web_chart.h"
#include "web_html.h"

/* LLVMFuzzerTestOneInput - draw the input */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct web_buf b = { 0 };
	char *text;
	size_t i;
	int n;

	if ((text = malloc(size + 1)) == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	n = web_chart_history(&b, text);
	if (n < 0 || n > WEB_CHART_MAX_ROWS)
		abort();
	for (i = 0; i < b.len; i++)
		if ((b.data[i] < 0x20 || b.data[i] > 0x7e) &&
		    b.data[i] != '\n')
			abort();
	web_buf_add(&b, "", 1);
	if (strstr(b.data, "<svg") != NULL &&
	    strstr(strstr(b.data, "<svg") + 4, "<svg") != NULL)
		abort();
	web_buf_free(&b);
	free(text);
	return 0;
}
