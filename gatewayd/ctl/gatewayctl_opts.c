/*
 * gatewayctl_opts.c - a verb's options with getopt_long (gatewayctl.h)
 *
 * Each command family gives a table of the options it takes after its
 * verb; ctl_verb_args() parses them (short letters, --name value,
 * --name=value, in any order with the operands) and rewrites them as
 * canonical words, "--name" [value], which is what the daemon's request
 * parser and the offline queue commands read.  Its own file so that
 * tests/check_ctl_opts.c can call it (libgwctl.a).
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <sysexits.h>

#include "gatewayctl.h"
#include "textout.h"

#define CTL_MAX_VERB_OPTS	16
#define CTL_OPT_NAME_MAX	40	/* "--" + a long option name + NUL */

/* ctl_opt_table - struct option[] and the short letters of a verb's options */
static void
ctl_opt_table(const struct ctl_verb_opt *opts, struct option *lo,
    char *shortopts, size_t len)
{
	size_t n = 0, s = 0;

	shortopts[s++] = ':';	/* report a missing value ourselves */
	for (; opts != NULL && opts[n].name != NULL &&
	    n < CTL_MAX_VERB_OPTS; n++) {
		lo[n].name = opts[n].name;
		lo[n].has_arg = opts[n].has_arg ? required_argument :
		    no_argument;
		lo[n].flag = NULL;
		lo[n].val = 256 + (int)n;
		if (opts[n].letter != 0 && s + 3 < len) {
			shortopts[s++] = (char)opts[n].letter;
			if (opts[n].has_arg)
				shortopts[s++] = ':';
		}
	}
	lo[n++] = (struct option){ "json", no_argument, NULL, 'J' };
	lo[n++] = (struct option){ "prometheus", no_argument, NULL, 'P' };
	lo[n] = (struct option){ NULL, 0, NULL, 0 };
	shortopts[s] = '\0';
}

/* ctl_verb_args - a verb's options with getopt_long (gatewayctl.h) */
int
ctl_verb_args(struct ctl *ctl, int argc, char ***argvp, int nverb,
    const struct ctl_verb_opt *opts)
{
	struct option lo[CTL_MAX_VERB_OPTS + 3];
	char shortopts[2 * CTL_MAX_VERB_OPTS + 2], **argv = *argvp, **out;
	int ch, n = 0, i, k, sub = argc - nverb + 1;
	char **subv = argv + nverb - 1, *pool;

	ctl_opt_table(opts, lo, shortopts, sizeof(shortopts));
	/* one block: the word pointers, then the "--name" words (one free) */
	out = calloc(1, ((size_t)argc * 2 + 1) * sizeof(*out) +
	    (size_t)argc * CTL_OPT_NAME_MAX);
	if (out == NULL)
		exit(EX_OSERR);
	pool = (char *)(out + (size_t)argc * 2 + 1);
	for (i = 0; i < nverb; i++)
		out[n++] = argv[i];
	opterr = 0;
	optind = 0;		/* GNU: start afresh (the global options) */
	while ((ch = getopt_long(sub, subv, shortopts, lo, NULL)) != -1) {
		if (ch == 'J' || ch == 'P') {
			*(ch == 'J' ? &ctl->json : &ctl->prometheus) = 1;
			continue;
		}
		if (ch == '?' || ch == ':') {
			fprintf(stderr, "gatewayctl: %s: %s option '", argv[0],
			    ch == ':' ? "missing value of the" : "unknown");
			textout_terms(stderr, subv[optind - 1], 0);
			fputs("' (see gatewayctl(8))\n", stderr);
			free(out);
			return -1;
		}
		for (k = 0; lo[k].name != NULL && lo[k].val != ch; k++)
			;
		if (lo[k].name == NULL) {	/* a short letter: its index */
			for (k = 0; opts[k].letter != ch; k++)
				;
		}
		snprintf(pool, CTL_OPT_NAME_MAX, "--%s", lo[k].name);
		out[n++] = pool;
		pool += CTL_OPT_NAME_MAX;
		if (optarg != NULL && lo[k].has_arg == required_argument)
			out[n++] = optarg;
	}
	for (i = optind; i < sub; i++)
		out[n++] = subv[i];
	out[n] = NULL;
	*argvp = out;
	free(ctl->verb_words);
	ctl->verb_words = out;
	return n;
}
