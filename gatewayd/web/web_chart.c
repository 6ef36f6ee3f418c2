/*
 * web_chart.c - the queue console's chart of the last hour (web_chart.h)
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "web_chart.h"

#define CH_NSERIES	4
#define CH_W		480	/* small: the text stays readable on a phone */
#define CH_H		250
#define CH_LEFT		52.0
#define CH_RIGHT	466.0
#define CH_TOP		16.0
#define CH_BOTTOM	196.0
#define CH_SPAN		(59 * 60)	/* the first minute to the current one */

/* The lines: counter, label, colour and dash (told apart without colour). */
static const struct web_chart_series {
	const char *key, *label, *color, *dash;
} ch_series[CH_NSERIES] = {
	{ "received", "accepted", "#1f5fa8", "none" },
	{ "delivered", "delivered", "#2a8a2a", "6 3" },
	{ "deferred", "deferred", "#c06000", "2 3" },
	{ "bounced", "bounced", "#c01818", "10 3 2 3" },
};

struct web_chart_row {
	long long time;
	int current;
	unsigned long long v[CH_NSERIES];
};

/* ch_num - the unsigned number after "key": in line; -1 if absent */
static int
ch_num(const char *line, const char *key, unsigned long long *v)
{
	char pat[40];
	const char *p;
	char *end;

	snprintf(pat, sizeof(pat), "\"%s\":", key);
	if ((p = strstr(line, pat)) == NULL)
		return -1;
	p += strlen(pat);
	if (*p < '0' || *p > '9')
		return -1;
	errno = 0;
	*v = strtoull(p, &end, 10);
	if (errno != 0 || (*end != ',' && *end != '}'))
		return -1;
	return 0;
}

/* ch_row - one line of the answer into row; -1 if it is not one */
static int
ch_row(const char *line, struct web_chart_row *row)
{
	unsigned long long t;
	size_t k;

	if (ch_num(line, "time", &t) == -1 || t > (1ULL << 40))
		return -1;
	row->time = (long long)t;
	row->current = strstr(line, "\"current\":true") != NULL;
	for (k = 0; k < CH_NSERIES; k++)
		if (ch_num(line, ch_series[k].key, &row->v[k]) == -1)
			return -1;
	return 0;
}

/* ch_parse - the rows of the answer, at most WEB_CHART_MAX_ROWS */
static size_t
ch_parse(const char *text, struct web_chart_row *rows)
{
	char line[WEB_CHART_LINE_MAX];
	const char *p = text, *nl;
	size_t n = 0, len;

	while (*p != '\0' && n < WEB_CHART_MAX_ROWS) {
		nl = strchr(p, '\n');
		len = nl ? (size_t)(nl - p) : strlen(p);
		if (len < sizeof(line)) {
			memcpy(line, p, len);
			line[len] = '\0';
			if (ch_row(line, &rows[n]) == 0)
				n++;
		}
		p += len + (nl ? 1 : 0);
	}
	return n;
}

/* ch_scale - the axis maximum: 1, 2 or 5 times a power of ten, >= max */
static unsigned long long
ch_scale(unsigned long long max)
{
	unsigned long long s = 1;

	for (;;) {
		if (s >= max)
			return s;
		if (2 * s >= max)
			return 2 * s;
		if (5 * s >= max)
			return 5 * s;
		if (s > (1ULL << 60))
			return max;
		s *= 10;
	}
}

/* ch_hhmm - a row's minute as HH:MM (UTC) */
static const char *
ch_hhmm(long long t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL || strftime(buf, len, "%H:%M", &tm) == 0)
		snprintf(buf, len, "?");
	return buf;
}

/*
 * ch_x - where a minute is drawn: the axis is the hour that ends with the
 * current minute, whatever the rows cover (a daemon started a minute ago
 * has its points at the right)
 */
static double
ch_x(const struct web_chart_row *rows, size_t n, long long t)
{
	long long t0 = rows[n - 1].time - CH_SPAN;

	if (t < t0)
		t = t0;		/* a row older than the hour (a missed timer) */
	return CH_LEFT + (CH_RIGHT - CH_LEFT) * (double)(t - t0) /
	    (double)CH_SPAN;
}

/* ch_y - where a value is drawn */
static double
ch_y(unsigned long long v, unsigned long long top)
{
	return CH_BOTTOM - (CH_BOTTOM - CH_TOP) * (double)v / (double)top;
}

/* ch_axes - grid lines with their values; the minutes at both ends, between */
static void
ch_axes(struct web_buf *b, const struct web_chart_row *rows, size_t n,
    unsigned long long top)
{
	static const char *const anchor[3] = { "start", "middle", "end" };
	unsigned long long v, last = 0;
	long long t;
	char hhmm[16];
	size_t i;

	for (i = 0; i < 3; i++) {
		if ((v = top * i / 2) == last && i > 0)
			continue;	/* top 1: no middle line */
		last = v;
		web_buf_printf(b, "<line x1=\"%.0f\" y1=\"%.1f\" x2=\"%.0f\" "
		    "y2=\"%.1f\" stroke=\"#ccc\"/><text x=\"%.0f\" y=\"%.1f\" "
		    "text-anchor=\"end\">%llu</text>", CH_LEFT, ch_y(v, top),
		    CH_RIGHT, ch_y(v, top), CH_LEFT - 6, ch_y(v, top) + 4, v);
	}
	for (i = 0; i < 3; i++) {
		t = rows[n - 1].time - CH_SPAN + (long long)i * CH_SPAN / 2;
		t -= t % 60;
		web_buf_printf(b, "<text x=\"%.1f\" y=\"%.0f\" text-anchor="
		    "\"%s\">%s</text>", ch_x(rows, n, t), CH_BOTTOM + 18,
		    anchor[i], ch_hhmm(t, hhmm, sizeof(hhmm)));
	}
}

/* ch_line - one series: a polyline, and a point with a title where not 0 */
static void
ch_line(struct web_buf *b, const struct web_chart_row *rows, size_t n,
    size_t k, unsigned long long top)
{
	const struct web_chart_series *s = &ch_series[k];
	char hhmm[16];
	size_t i;

	web_buf_printf(b, "<polyline id=\"line-%s\" fill=\"none\" stroke=\"%s\" "
	    "stroke-width=\"2\" stroke-dasharray=\"%s\" points=\"", s->label,
	    s->color, s->dash);
	for (i = 0; i < n; i++)
		web_buf_printf(b, "%s%.1f,%.1f", i ? " " : "",
		    ch_x(rows, n, rows[i].time), ch_y(rows[i].v[k], top));
	web_buf_str(b, "\"/>");
	for (i = 0; i < n; i++)
		if (rows[i].v[k] != 0)
			web_buf_printf(b, "<circle class=\"pt-%s\" cx=\"%.1f\" "
			    "cy=\"%.1f\" r=\"3\" fill=\"%s\"><title>%s %s: %llu"
			    "</title></circle>", s->label,
			    ch_x(rows, n, rows[i].time),
			    ch_y(rows[i].v[k], top), s->color,
			    ch_hhmm(rows[i].time, hhmm, sizeof(hhmm)), s->label,
			    rows[i].v[k]);
}

/* ch_legend - a sample of each line and its name, under the chart */
static void
ch_legend(struct web_buf *b)
{
	size_t k;
	double x;

	for (k = 0; k < CH_NSERIES; k++) {
		x = CH_LEFT - 40 + 110.0 * (double)k;
		web_buf_printf(b, "<line x1=\"%.0f\" y1=\"%d\" x2=\"%.0f\" "
		    "y2=\"%d\" stroke=\"%s\" stroke-width=\"2\" "
		    "stroke-dasharray=\"%s\"/><text x=\"%.0f\" y=\"%d\">%s"
		    "</text>", x, CH_H - 10, x + 22, CH_H - 10,
		    ch_series[k].color, ch_series[k].dash, x + 26, CH_H - 5,
		    ch_series[k].label);
	}
}

/* ch_totals - the sums of the hour, for the description */
static void
ch_totals(const struct web_chart_row *rows, size_t n,
    unsigned long long sum[CH_NSERIES], unsigned long long *max)
{
	size_t i, k;

	*max = 0;
	memset(sum, 0, CH_NSERIES * sizeof(sum[0]));
	for (i = 0; i < n; i++)
		for (k = 0; k < CH_NSERIES; k++) {
			sum[k] += rows[i].v[k];
			if (rows[i].v[k] > *max)
				*max = rows[i].v[k];
		}
}

/* ch_svg - the chart */
static void
ch_svg(struct web_buf *b, const struct web_chart_row *rows, size_t n)
{
	unsigned long long sum[CH_NSERIES], max, top;
	size_t k;

	ch_totals(rows, n, sum, &max);
	top = ch_scale(max == 0 ? 1 : max);
	web_buf_printf(b, "<div><svg id=\"chart\" role=\"img\" "
	    "aria-labelledby=\"chart-title chart-desc\" viewBox=\"0 0 %d %d\" "
	    "width=\"100%%\" font-family=\"sans-serif\" font-size=\"14\">"
	    "<title id=\"chart-title\">Messages per minute, the last hour"
	    "</title><desc id=\"chart-desc\">%zu minutes: ", CH_W, CH_H, n);
	for (k = 0; k < CH_NSERIES; k++)
		web_buf_printf(b, "%s%llu %s", k ? ", " : "", sum[k],
		    ch_series[k].label);
	web_buf_str(b, ". The table below has each minute.</desc>");
	ch_axes(b, rows, n, top);
	for (k = CH_NSERIES; k-- > 0;)	/* accepted on top */
		ch_line(b, rows, n, k, top);
	ch_legend(b);
	web_buf_str(b, "</svg><p>Messages per minute over the last hour (UTC),"
	    " the current minute last.</p></div>");
}

/* ch_table - the numbers, in a table folded away */
static void
ch_table(struct web_buf *b, const struct web_chart_row *rows, size_t n)
{
	char hhmm[16];
	size_t i, k;

	web_buf_str(b, "<details><summary>The numbers per minute</summary>"
	    "<table id=\"history\"><thead><tr><th scope=\"col\">Minute (UTC)"
	    "</th>");
	for (k = 0; k < CH_NSERIES; k++)
		web_buf_printf(b, "<th scope=\"col\">%s</th>",
		    ch_series[k].label);
	web_buf_str(b, "</tr></thead><tbody>");
	for (i = n; i-- > 0;) {	/* the newest first */
		web_buf_printf(b, "<tr><th scope=\"row\">%s%s</th>",
		    ch_hhmm(rows[i].time, hhmm, sizeof(hhmm)),
		    rows[i].current ? " (now)" : "");
		for (k = 0; k < CH_NSERIES; k++)
			web_buf_printf(b, "<td>%llu</td>", rows[i].v[k]);
		web_buf_str(b, "</tr>");
	}
	web_buf_str(b, "</tbody></table></details>");
}

/* web_chart_history - the chart and the table (web_chart.h) */
int
web_chart_history(struct web_buf *b, const char *jsonl)
{
	struct web_chart_row rows[WEB_CHART_MAX_ROWS];
	size_t n = ch_parse(jsonl, rows);

	if (n == 0) {
		web_buf_str(b, "<p id=\"chart-none\">No counters yet.</p>");
		return 0;
	}
	ch_svg(b, rows, n);
	ch_table(b, rows, n);
	return (int)n;
}
