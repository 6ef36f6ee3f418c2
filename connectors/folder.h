/*
 * folder.h - internal interface of the folder connector (folder*.c)
 *
 * folder.c is the connector entry (init, deliver, fini); folder_config.c
 * reads and checks the settings; folder_template.c expands name
 * templates and makes every name safe (no GMime, no gw_* calls: the unit
 * tests link it alone); folder_mime.c turns a message into documents
 * with GMime; folder_write.c creates directories and files under the
 * root, atomically; folder_sidecar.c writes the JSON metadata;
 * folder_uu.c finds and decodes uuencoded blocks (plain C, like
 * folder_template.c: the unit tests and a fuzz target link it alone);
 * folder_journal.c makes a delivery idempotent (the delivery journal
 * under <root>/.gatewayd: no gw_* calls, the unit tests link it).
 */
#ifndef GW_FOLDER_H
#define GW_FOLDER_H

#include <limits.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#define FOLDER_TEMPLATE_MAX	1024	/* template text and expanded path */
#define FOLDER_FIELD_MAX	1024	/* one field value after cleaning */
#define FOLDER_MAX_SUFFIX	10000
#define FOLDER_KEY_LEN		32	/* hex digits of a delivery key */
#define FOLDER_TMP_MAX		64	/* ".gw-tmp.<key>.<n>" */

enum folder_mode { FOLDER_MESSAGE = 0, FOLDER_ATTACHMENTS, FOLDER_BOTH };
enum folder_charset { FOLDER_POSIX = 0, FOLDER_WINDOWS, FOLDER_ASCII };
enum folder_collision { FOLDER_SUFFIX = 0, FOLDER_OVERWRITE, FOLDER_FAIL };
enum folder_body { FOLDER_BODY_AUTO = 0, FOLDER_BODY_ALWAYS,
	FOLDER_BODY_NEVER };
enum folder_sidecar { FOLDER_SIDECAR_NONE = 0, FOLDER_SIDECAR_MESSAGE,
	FOLDER_SIDECAR_FILE };
/* How created files get the configured group. */
enum folder_groupway { FOLDER_GROUP_NONE = 0, FOLDER_GROUP_CHOWN,
	FOLDER_GROUP_SETGID };

/* The name policy applied to every name component. */
struct folder_policy {
	enum folder_charset charset;
	size_t name_max;		/* bytes per component */
};

struct folder {
	const char *who;		/* the connector's name, for messages */
	char path[PATH_MAX];		/* the root, for messages */
	int root;			/* descriptor of the root directory */
	enum folder_mode mode;
	mode_t file_mode, dir_mode;
	int has_owner, has_group;
	uid_t owner;
	gid_t group;
	enum folder_groupway groupway;
	char path_template[FOLDER_TEMPLATE_MAX];
	char file_template[FOLDER_TEMPLATE_MAX];
	char sidecar_template[FOLDER_TEMPLATE_MAX];
	enum folder_collision collision;
	struct folder_policy policy;
	enum folder_body body;
	int messages_as_files;		/* message/rfc822: file, not extract */
	enum folder_sidecar sidecar;
	int utc;
	unsigned int max_depth, max_parts;
	int per_rcpt;			/* templates use recipient fields */
	int checking;			/* check(): settings only, run as the user */
	unsigned long long journal_keep;	/* seconds a done record stays */
	char host[256];			/* gethostname(), part of the keys */
	time_t sweep_last;		/* start of the last sweep of done/ */
	void *sweep_dir;		/* DIR * of a sweep under way or NULL */
};

/* The values a template can name (NULL or "" when unknown). */
struct folder_fields {
	const char *qid, *sender, *rcpt, *client, *subject;
	const char *filename;		/* original or generated file name */
	const char *(*param)(void *, const char *);	/* router fields */
	void *param_ctx;
	time_t arrival;
	int utc;
	unsigned int counter;
};

/* folder_template.c */
int folder_template_check(const char *, int, char *, size_t);
int folder_template_uses_rcpt(const char *);
int folder_template_expand(const char *, const struct folder_fields *,
    const struct folder_policy *, int, char *, size_t);
void folder_clean_field(const char *, size_t, const struct folder_policy *,
    char *, size_t);
void folder_clean_component(char *, size_t, const struct folder_policy *,
    int);
void folder_split_ext(const char *, size_t *);

/* folder_uu.c: one "begin MODE NAME" ... "end" block of a text */
#define FOLDER_UU_NAME_MAX	256
struct folder_uu_block {
	size_t start;			/* offset of the begin line */
	size_t data;			/* offset of the first body line */
	size_t end;			/* offset after the end line */
	unsigned int mode;		/* octal mode of the begin line */
	char name[FOLDER_UU_NAME_MAX];	/* as written, cut to fit */
};
size_t folder_uu_find(const char *, size_t, struct folder_uu_block *,
    size_t, int *);
int folder_uu_decode(const char *, const struct folder_uu_block *,
    unsigned char **, size_t *, unsigned int *);
int folder_uu_name(const char *, size_t, char *, size_t);

/* folder_config.c */
struct gw_node;
int folder_config(struct folder *, const struct gw_node *, char *, size_t);
void folder_config_defaults(struct folder *, const char *);
int folder_config_doc_key(struct folder *, const struct gw_node *, char *,
    size_t);
int folder_config_root(struct folder *, char *, size_t);

/*
 * A document to write: the message, a part, the body text, an attached
 * message, bytes decoded already (a uuencoded block of a text).
 */
enum folder_doc_kind { FOLDER_DOC_RAW = 0, FOLDER_DOC_PART,
	FOLDER_DOC_TEXT, FOLDER_DOC_EMBEDDED, FOLDER_DOC_BYTES };

struct folder_doc {
	enum folder_doc_kind kind;
	void *obj;			/* GMimeObject (a reference) */
	char *name;			/* file name to offer the template */
	char *orig_name;		/* as in the message, NULL if none */
	char *content_type;
	int damaged;			/* e.g. broken base64: best effort */
	int crlf;			/* the message's lines end in CR LF */
	unsigned char *bytes;		/* FOLDER_DOC_BYTES: the content */
	size_t nbytes;
};

struct folder_msg {
	void *message;			/* GMimeMessage, or NULL */
	char *subject;
	char *message_id;
	struct folder_doc *docs;
	size_t ndocs, cap;
	char notes[1024];		/* what was skipped or damaged */
	int crlf;			/* its first line ends in CR LF */
	int truncated;
};

struct gw_envelope;
struct gw_message;

/* folder_mime.c */
void folder_mime_init(void);
void folder_mime_read(const struct folder *, const struct gw_envelope *,
    struct gw_message *, struct folder_msg *);
int folder_mime_write(const struct folder_doc *, struct gw_message *, int);
void folder_msg_free(struct folder_msg *);
void folder_note(struct folder_msg *, const char *, ...)
    __attribute__((format(printf, 2, 3)));
const char *folder_mime_ext(const char *);

/* A file written by one delivery unit. */
struct folder_file {
	char name[NAME_MAX + 1];	/* final name in the directory */
	char want[NAME_MAX + 1];	/* the name asked for (before suffix) */
	char tmp[FOLDER_TMP_MAX];	/* temporary name until it is placed */
	unsigned int sfx;		/* suffix number of name (0: none) */
	char *orig_name;
	const char *content_type;
	off_t size;
	char sha256[65];
	int created;			/* a new name: removed on rollback */
};

struct folder_out {
	int dirfd;			/* the templated directory */
	char dir[FOLDER_TEMPLATE_MAX];	/* relative to the root, "" = root */
	struct folder_file *files;
	size_t nfiles, cap;
	char key[FOLDER_KEY_LEN + 1];	/* delivery key: names the tmp files */
	char err[PATH_MAX + 256];
	char note[PATH_MAX + 256];	/* something to log, not a failure */
	int perm;			/* the failure is permanent */
};

/* folder_write.c */
int folder_open_dir(const struct folder *, const char *, struct folder_out *);
int folder_put(const struct folder *, struct folder_out *, const char *,
    const struct folder_doc *, struct gw_message *);
int folder_put_buffer(const struct folder *, struct folder_out *,
    const char *, const char *, size_t);
int folder_finish(struct folder_out *);
int folder_place(const struct folder *, struct folder_out *, size_t);
int folder_choose_again(const struct folder *, struct folder_out *, size_t);
void folder_out_add(struct folder_out *, const struct folder_file *);
int folder_out_fail(struct folder_out *, int, int, const char *,
    const char *);
void folder_rollback(struct folder_out *);
void folder_out_free(struct folder_out *);
int folder_hash_fd(int, char[65], off_t *);
int folder_write_all(int, const char *, size_t);

/* folder_journal.c: what folder_journal_begin() found */
enum folder_jstate { FOLDER_J_FRESH = 0, FOLDER_J_DONE, FOLDER_J_ROLLED };

struct folder_journal {
	int gw, jdir, ddir;		/* .gatewayd, .gatewayd/journal, done */
};

#define FOLDER_JOURNAL_KEEP	(7ULL * 86400)	/* default journal_keep */
#define FOLDER_SWEEP_EVERY	3600	/* seconds between sweeps of done/ */
#define FOLDER_SWEEP_STEP	500	/* records looked at per delivery */

void folder_journal_key(const void *, size_t, char[FOLDER_KEY_LEN + 1]);
int folder_journal_begin(const struct folder *, const char *, const char *,
    struct folder_journal *, struct folder_out *);
int folder_journal_commit(const struct folder *, struct folder_journal *,
    struct folder_out *);
void folder_journal_close(struct folder_journal *);
int folder_journal_sweep(struct folder *, time_t);

/* folder_sidecar.c */
char *folder_sidecar_json(const struct gw_envelope *,
    const struct folder_msg *, const struct folder_fields *,
    const char *const *, size_t, const struct folder_out *, size_t, size_t,
    size_t *);

#endif
