/*
 * web_console.h - the queue console's chart of the last hour and a
 * message's log lines (the parts of web_admin.c's pages that read the
 * counter history and the log file)
 */
#ifndef GW_WEB_CONSOLE_H
#define GW_WEB_CONSOLE_H

struct web_req;

/* "The last hour": the chart and table of "stats history" (web_chart.h). */
void web_console_chart(struct web_req *);
/* "The log": the lines "queue log QID" returns, or why there are none. */
void web_console_log(struct web_req *, const char *qid);

#endif
