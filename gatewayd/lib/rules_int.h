/*
 * rules_int.h - what rules.c and rules_check.c share (not for other modules)
 */
#ifndef GW_RULES_INT_H
#define GW_RULES_INT_H

#include <regex.h>

struct cfg;
struct cfg_rule;

/* The compiled conditions of a rule (cfg_rule.compiled). */
struct rules_compiled {
	int type;			/* enum oneoff_type, -1 any */
	int has_subject, has_header, has_hours;
	regex_t subject;
	char hname[128];
	regex_t hre;
	unsigned int days;		/* bit 0 = Sunday; 0 = any */
	int hfrom, hto;			/* minutes of the day, end exclusive */
};

int rules_days_parse(const char *, unsigned int *mask);
int rules_hours_parse(const char *, int *from, int *to);
int rules_unconditional(const struct cfg_rule *);
/* Does pattern a take every value pattern b does? kind 'r', 's' or 'a'. */
int rules_covers(int kind, const char *a, const char *b);
int rules_lookup_index(const struct cfg *, const char *name);

struct envelope;
struct directive;
struct sockaddr;
/*
 * May msg (sender, auth, client) use directive d?  Its own lists, else
 * directives.default_access (rules_access.c).  1 yes; 0 with the reason.
 */
int rules_directive_allowed(const struct cfg *, const struct envelope *msg,
    const struct sockaddr *client, const struct directive *d, char *text,
    size_t textlen);

#endif
