/*
 * web_form.h - application/x-www-form-urlencoded bodies, parsed strictly
 *
 * No I/O: the body (at most WEB_FORM_MAX bytes, the web child refuses a
 * larger one) is split at '&' into name=value pairs, '+' and %XX decoded.
 * A bad escape, a NUL byte, an empty name, a name past WEB_FORM_NAME or
 * more than WEB_FORM_FIELDS pairs is an error, never a guess.
 * tests/check_web_form.c and the fuzz target feed it arbitrary bytes.
 */
#ifndef GW_WEB_FORM_H
#define GW_WEB_FORM_H

#include <stddef.h>

#define WEB_FORM_MAX	(64u * 1024)
#define WEB_FORM_FIELDS	128
#define WEB_FORM_NAME	64

struct web_form {
	size_t n;
	char *name[WEB_FORM_FIELDS];
	char *value[WEB_FORM_FIELDS];
	char *store;			/* the decoded copy they point into */
	size_t size;
};

/* Parse body into f (cleared first); 0, or -1 with a reason in err. */
int web_form_parse(struct web_form *f, const char *body, size_t len,
    char *err, size_t errlen);
/* The first value of name, or NULL. */
const char *web_form_get(const struct web_form *f, const char *name);
/* Wipe (explicit_bzero: a password may be in it) and release. */
void web_form_free(struct web_form *f);

#endif
