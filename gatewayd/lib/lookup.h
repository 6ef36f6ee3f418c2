/*
 * lookup.h - lookup tables: a key (a DID/DTMF extension) to addresses
 *
 * A small table API with a backend vtable, so that a new backend (LDAP)
 * plugs in beside the file ones:
 *
 *   csv:  one entry per line, "key,address[,address...]"; '#' comments,
 *         blank lines ignored; spaces around fields trimmed.
 *   yaml: a map, "key: address" or "key: [address, address]".
 *
 * A key may appear on several lines (csv): the addresses add up, so an
 * extension shared by several users reaches all of them.  Tables are read
 * whole at open time (the router opens them before it drops privileges
 * and re-reads them when it restarts on reload).
 *
 *   ldap: lookup_ldap.c, linked into the router only (libldap): each get
 *         is a search on the directory, through one connection per table
 *         that is made at the first query and again after an error.
 *         lookup_ldap_open() reads the bind password and the CA file
 *         before the privilege drop; nothing is sent to the server then.
 *         It never waits: a get of a key it has no answer for starts the
 *         search and answers LOOKUP_PENDING (and tells the asked function
 *         given to lookup_attach() which key); when the answer for a key
 *         lands the table calls the landed function with that key, and
 *         the next get of that key answers from a small cache of the
 *         answers (kept until lookup_release(): while someone still
 *         waits).
 */
#ifndef GW_LOOKUP_H
#define GW_LOOKUP_H

#include <stddef.h>

#define LOOKUP_ERRLEN		256
#define LOOKUP_MAX_ENTRIES	100000
#define LOOKUP_MAX_VALUES	64	/* addresses per key */
#define LOOKUP_MAX_FILE		(16 * 1024 * 1024)
#define LOOKUP_PENDING		2	/* get: asked, ask again when told */

struct event_base;

struct lookup;

struct lookup_backend {
	const char *name;
	/* Open the table at source; NULL with err on failure. */
	void *(*open)(const char *source, char *err, size_t errlen);
	/*
	 * The values of key: *vals points to n strings owned by the table
	 * (valid until the next get or close).  Returns 0 found, 1 not
	 * found, -1 temporary failure (server unreachable, timeout),
	 * LOOKUP_PENDING asked (an attached network backend only).
	 */
	int (*get)(void *ctx, const char *key, const char *const **vals,
	    size_t *n);
	void (*close)(void *ctx);
	/*
	 * Network backends: the event loop, and who to tell when the
	 * answer for a key lands (landed(arg, key)); else NULL.
	 */
	void (*attach)(void *ctx, struct event_base *,
	    void (*landed)(void *, const char *), void *arg);
	/* Network backends: forget the kept answers; else NULL. */
	void (*release)(void *ctx);
};

struct cfg_lookup;

/* A table of backend be around its open ctx (for backends outside lookup.c). */
struct lookup *lookup_new(const struct lookup_backend *be, void *ctx);
/* An LDAP table (lookup_ldap.c); NULL with err on failure. */
struct lookup *lookup_ldap_open(const struct cfg_lookup *, char *err,
    size_t errlen);
/*
 * Expand an LDAP filter template: %s the key, %u its local part (before
 * the last '@', or the whole key), %d its domain (or empty), %% a '%';
 * each value escaped as RFC 4515 asks.  0, or -1 when out is too small.
 */
int lookup_filter_expand(const char *tmpl, const char *key, char *out,
    size_t outlen);
/* Open a table with the backend of that name ("csv", "yaml"). */
struct lookup *lookup_open(const char *backend, const char *source, char *err,
    size_t errlen);
/* As lookup_backend.get. */
int lookup_get(struct lookup *, const char *key, const char *const **vals,
    size_t *n);
void lookup_close(struct lookup *);
/*
 * Let a network table work on base: its gets then answer LOOKUP_PENDING
 * rather than wait, and call asked(arg, table, key) when they do;
 * landed(arg, table, key) is called (from the loop, or from a get that
 * fails every query at once) when the answer for key arrives.  A file
 * table ignores it.
 */
void lookup_attach(struct lookup *, struct event_base *,
    void (*landed)(void *, const struct lookup *, const char *),
    void (*asked)(void *, const struct lookup *, const char *), void *arg);
/* Forget the answers a network table keeps for the gets that wait. */
void lookup_release(struct lookup *);
/* The last ndigits digits of s (non-digits skipped) into out; -1 if none. */
int lookup_key_digits(const char *s, int ndigits, char *out, size_t outlen);

#endif
