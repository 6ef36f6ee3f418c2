/*
 * router_recog.h - the router's side of routing-sheet recognition
 *
 * A message that only a routing sheet can route stays in incoming/ while
 * the recognizer reads it: the router asks (IPC_RECOG_REQ through the
 * master), remembers when, and goes on with other mail.  The answer
 * (IPC_RECOG_DONE) routes the message again with the result: no sheet or
 * unreadable give the rule's outcome; sheets make one new message per
 * part (router_recog_parts), durable in incoming/ before the original is
 * removed.  A question that got no answer (recognizer restarted, frame
 * lost) is asked again by the periodic scan once it is older than
 * ROUTER_RECOG_STALE plus recognize.timeout seconds.
 *
 * Everything the recognizer wrote is untrusted: the result file is read
 * with a size cap and parsed strictly, parts are copied with a size cap,
 * and no file is opened through a symbolic link (spool_recog_open).
 */
#ifndef GW_ROUTER_RECOG_H
#define GW_ROUTER_RECOG_H

#include <stddef.h>
#include <time.h>

struct cfg;
struct envelope;
struct rules_env;
struct rules_recog;
struct spool;

#define ROUTER_RECOG_STALE	30		/* seconds past recognize.timeout */
#define ROUTER_RECOG_RESULT_MAX	(16 * 1024)	/* result file bytes */

struct router_recog;

struct router_recog *router_recog_new(void);
void router_recog_free(struct router_recog *);
/* Was qid asked less than stale seconds before now? */
int router_recog_waiting(const struct router_recog *, const char *qid,
    time_t now, time_t stale);
void router_recog_asked(struct router_recog *, const char *qid, time_t now);
void router_recog_forget(struct router_recog *, const char *qid);
/*
 * The recognizer's answer: status "ok" reads recognize/<qid>.result into
 * out, "unreadable" takes reason; 0, or -1 with err (treat as unreadable).
 */
int router_recog_load(struct spool *, const char *qid, const char *status,
    const char *reason, struct rules_recog *out, char *err, size_t errlen);
/*
 * Parse a result file's text (modified) into out, which must be zeroed:
 * every line ends with a newline, the format and page order of
 * router_recog.c hold, nothing follows "end"; 0, or -1.
 */
int router_recog_parse(char *text, struct rules_recog *out);
/*
 * One new message per part of env->recog, to env->split's recipients,
 * committed to incoming/ (durable); their queue IDs into *qids (free each
 * and the array).  0, or -1 with err (nothing may be removed then).
 */
int router_recog_parts(struct spool *, const struct cfg *,
    const struct envelope *msg, const struct rules_env *env, char ***qids,
    size_t *nqids, char *err, size_t errlen);

#endif
