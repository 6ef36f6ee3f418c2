/*
 * web_chart.h - the queue console's chart of the last hour
 *
 * The answer of "stats history --json" (one JSON object a minute, oldest
 * first, the current minute last: master/control_history.c) drawn as an
 * inline SVG with four lines (accepted, delivered, deferred, bounced),
 * axis labels and a legend, a title and a description for screen
 * readers, and the same numbers as a table.  Server-rendered, no script;
 * presentation attributes only (the pages' Content-Security-Policy
 * allows no inline style).  Only the keys it knows are read from each
 * line, as unsigned decimal numbers; a line it cannot read is skipped.
 */
#ifndef GW_WEB_CHART_H
#define GW_WEB_CHART_H

#include "web_html.h"

#define WEB_CHART_MAX_ROWS	120	/* more lines than that are ignored */
#define WEB_CHART_LINE_MAX	1024	/* a longer line is skipped */

/* The chart and the table of jsonl into b; the number of rows read. */
int web_chart_history(struct web_buf *b, const char *jsonl);

#endif
