/*
 * control_parse.c - the request line of the control socket, as words
 *
 * A request is one line of words separated by spaces: the command and its
 * arguments, with options ("--json", "--connector NAME" ...) anywhere.
 * No I/O and no state: the master's control loop calls it on each line it
 * reads, and tests/fuzz/fuzz_control.c feeds it arbitrary bytes.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control_int.h"
#include "log.h"

/* control_option - take one "--name [value]" word; -1 if unknown */
static int
control_option(struct control_req *req, char **w, int *i, int n)
{
	const char **val = NULL;
	char *end;

	if (strcmp(w[*i], "--json") == 0)
		req->json = 1;
	else if (strcmp(w[*i], "--prometheus") == 0)
		req->prometheus = 1;
	else if (strcmp(w[*i], "--body") == 0)
		req->body = 1;
	else if (strcmp(w[*i], "--repair") == 0)
		req->repair = 1;
	else if (strcmp(w[*i], "--connector") == 0)
		val = &req->connector;
	else if (strcmp(w[*i], "--state") == 0)
		val = &req->state;
	else if (strcmp(w[*i], "--sender") == 0)
		val = &req->sender;
	else if (strcmp(w[*i], "--recipient") == 0)
		val = &req->recipient;
	else if (strcmp(w[*i], "--as") == 0)
		val = &req->as;
	else if (strcmp(w[*i], "--older-than") == 0) {
		if (*i + 1 >= n)
			return -1;
		errno = 0;
		req->older_than = strtol(w[++*i], &end, 10);
		if (errno || *end != '\0' || req->older_than < 0)
			return -1;
	} else
		return -1;
	if (val != NULL) {
		if (*i + 1 >= n)
			return -1;
		*val = w[++*i];
	}
	return 0;
}

/* control_parse - split the line into words and options; -1 with a reason */
int
control_parse(struct control_req *req, char *line, char *err, size_t errlen)
{
	char *w[CONTROL_MAX_ARGS], *save = NULL, *t;
	int n = 0, i;

	for (t = strtok_r(line, " ", &save); t != NULL;
	    t = strtok_r(NULL, " ", &save)) {
		if (n == CONTROL_MAX_ARGS) {
			snprintf(err, errlen, "too many arguments");
			return -1;
		}
		w[n++] = t;
	}
	for (i = 0; i < n; i++) {
		if (strncmp(w[i], "--", 2) != 0) {
			req->argv[req->argc++] = w[i];
			continue;
		}
		if (control_option(req, w, &i, n) == -1) {
			log_clean(err, errlen, w[i], strlen(w[i]));
			snprintf(err + strlen(err), errlen - strlen(err),
			    ": unknown option or bad value");
			return -1;
		}
	}
	return req->argc > 0 ? 0 : (snprintf(err, errlen, "empty request"), -1);
}
