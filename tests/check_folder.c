/*
 * check_folder.c - unit tests of the folder connector's name templates and
 * name sanitising (connectors/folder_template.c) and of its delivery
 * journal (connectors/folder_journal.c over folder_write.c), compiled in
 *
 * Table-driven: each case is a template, the fields and a policy, and the
 * exact safe name expected.  The journal cases deliver buffers into a
 * temporary root and look at what is left there.  The MIME side is tested
 * by folder_mime.py through tests/folder_run.
 */
#include "config.h"

#include <check.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../connectors/folder.h"
/* The modules under test, compiled here (neither needs GMime nor gw_*). */
#include "../connectors/folder_template.c"
#include "../connectors/folder_write.c"
#include "../connectors/folder_journal.c"

/* folder_mime_write - not reached: the journal cases write buffers only */
int
folder_mime_write(const struct folder_doc *doc, struct gw_message *msg,
    int fd)
{
	(void)doc;
	(void)msg;
	(void)fd;
	return -1;
}

/* param - the router fields of the test recipient */
static const char *
param(void *ctx, const char *name)
{
	(void)ctx;
	if (strcmp(name, "fax") == 0)
		return "+49 30 1234/56";
	if (strcmp(name, "name") == 0)
		return "Jörg Müller";
	if (strcmp(name, "company") == 0)
		return "ACME <Berlin>";
	if (strcmp(name, "dept") == 0)
		return "../../etc";
	return NULL;
}

struct tcase {
	const char *tmpl;
	const char *filename;
	const char *subject;
	enum folder_charset cs;
	size_t name_max;
	int is_file;
	const char *want;
};

static const struct tcase cases[] = {
	/* plain fields, strftime of the arrival time (UTC) */
	{ "{qid}.eml", "", "", FOLDER_POSIX, 200, 1, "0006152f1a2b3c4d0001.eml" },
	{ "{counter}-{counter:4}", "", "", FOLDER_POSIX, 200, 1, "7-0007" },
	{ "%Y/%m/%d/{sender_domain}", "", "", FOLDER_POSIX, 200, 0,
	  "2025/11/28/client.test" },
	{ "{rcpt_local}@{rcpt_domain}-{sender_local}", "", "", FOLDER_POSIX,
	  200, 1, "scans@gw.test-alice" },
	{ "{file}-{counter:3}{ext}", "report.final.PDF", "", FOLDER_POSIX, 200,
	  1, "report.final-007.PDF" },
	{ "{fax}_{name}", "", "", FOLDER_POSIX, 200, 1,
	  "+49 30 1234_56_Jörg Müller" },
	{ "{company}", "", "", FOLDER_POSIX, 200, 1, "ACME <Berlin>" },
	{ "{company}", "", "", FOLDER_WINDOWS, 200, 1, "ACME _Berlin_" },
	{ "{param:dept}/{param:none|nodept}", "", "", FOLDER_POSIX, 200, 0,
	  "___.._etc/nodept" },
	{ "%D {subject}", "", "a\tb", FOLDER_POSIX, 200, 1, "11_28_25 a b" },
	/* traversal: a field never makes a separator, dots never lead */
	{ "{filename}", "../../etc/passwd", "", FOLDER_POSIX, 200, 1,
	  "___.._etc_passwd" },
	{ "{filename}", "..", "", FOLDER_POSIX, 200, 1, "__" },
	{ "{filename}", ".hidden", "", FOLDER_POSIX, 200, 1, "_hidden" },
	{ "{filename}", "..\\..\\boot.ini", "", FOLDER_WINDOWS, 200, 1,
	  "___.._boot.ini" },
	{ "in/{filename}/x", "..", "", FOLDER_POSIX, 200, 0, "in/__/x" },
	{ "a//{fax|}/../b", "", "", FOLDER_POSIX, 200, 0,
	  "a/+49 30 1234_56/__/b" },
	/* control characters and invalid UTF-8 */
	{ "{filename}", "a\001b\177c\r\nd.pdf", "", FOLDER_POSIX, 200, 1,
	  "a_b_c  d.pdf" },
	{ "{filename}", "caf\xe9.pdf", "", FOLDER_POSIX, 200, 1, "caf_.pdf" },
	{ "{filename}", "\xc2\x85x.pdf", "", FOLDER_POSIX, 200, 1, "_x.pdf" },
	/* Windows: reserved device names, trailing dots and spaces, chars */
	{ "{filename}", "CON", "", FOLDER_WINDOWS, 200, 1, "_CON" },
	{ "{filename}", "nul.txt", "", FOLDER_WINDOWS, 200, 1, "_nul.txt" },
	{ "{filename}", "Com1.pdf", "", FOLDER_WINDOWS, 200, 1, "_Com1.pdf" },
	{ "{filename}", "LPT9", "", FOLDER_WINDOWS, 200, 1, "_LPT9" },
	{ "{filename}", "CONSOLE.txt", "", FOLDER_WINDOWS, 200, 1,
	  "CONSOLE.txt" },
	{ "{filename}", "CON", "", FOLDER_POSIX, 200, 1, "CON" },
	{ "{filename}", "scan. . ", "", FOLDER_WINDOWS, 200, 1, "scan" },
	{ "{filename}", "a:b*c?d\"e|f.pdf", "", FOLDER_WINDOWS, 200, 1,
	  "a_b_c_d_e_f.pdf" },
	{ "{filename}", "a:b.pdf", "", FOLDER_POSIX, 200, 1, "a:b.pdf" },
	/* UTF-8 kept, or replaced with the ascii policy */
	{ "{filename}", "Übersicht_日本.pdf", "", FOLDER_POSIX, 200, 1,
	  "Übersicht_日本.pdf" },
	{ "{filename}", "Übersicht_日本.pdf", "", FOLDER_ASCII, 200, 1,
	  "_bersicht___.pdf" },
	/* length cap: the extension stays, UTF-8 is not cut in half */
	{ "{filename}", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.pdf", "", FOLDER_POSIX,
	  20, 1, "aaaaaaaaaaaaaaaa.pdf" },
	{ "{filename}", "ééééééééééééééé.pdf", "", FOLDER_POSIX, 20, 1,
	  "éééééééé.pdf" },
	{ "{subject}", "", "aaaaaaaaaaaaaaaaaaaaaaaaa", FOLDER_POSIX, 16, 0,
	  "aaaaaaaaaaaaaaaa" },
	/* empty results */
	{ "{subject}", "", "", FOLDER_POSIX, 200, 1, "_" },
	{ "{subject}/x", "", "", FOLDER_POSIX, 200, 0, "x" },
	{ "{subject|no subject}", "", "", FOLDER_POSIX, 200, 1, "no subject" },
};

/* expand_case - each table row */
START_TEST(expand_case)
{
	const struct tcase *c = &cases[_i];
	struct folder_policy pol = { c->cs, c->name_max };
	struct folder_fields f;
	char out[FOLDER_TEMPLATE_MAX * 2];

	memset(&f, 0, sizeof(f));
	f.qid = "0006152f1a2b3c4d0001";
	f.sender = "alice@client.test";
	f.rcpt = "scans@gw.test";
	f.client = "127.0.0.1";
	f.subject = c->subject;
	f.filename = c->filename;
	f.param = param;
	f.arrival = 1764324000;		/* 2025-11-28 10:00:00 UTC */
	f.utc = 1;
	f.counter = 7;
	ck_assert_msg(folder_template_expand(c->tmpl, &f, &pol, c->is_file,
	    out, sizeof(out)) == 0, "case %d", _i);
	ck_assert_msg(strcmp(out, c->want) == 0, "case %d: '%s' gave '%s', "
	    "want '%s'", _i, c->tmpl, out, c->want);
	ck_assert_msg(strstr(out, "..") == NULL || strstr(out, "/..") == NULL,
	    "case %d", _i);
	ck_assert_msg(out[0] != '/' && out[0] != '.', "case %d", _i);
}
END_TEST

/* bad_templates - refused at init, with a reason */
START_TEST(bad_templates)
{
	static const char *const bad[] = { "{nosuch}", "{qid", "qid}",
	    "%Q", "%", "{counter:x}", "{counter:12}", "{param:}", "{qid:3}",
	    "a\tb", NULL };
	char err[256];
	int i;

	for (i = 0; bad[i] != NULL; i++) {
		err[0] = '\0';
		ck_assert_msg(folder_template_check(bad[i], 0, err,
		    sizeof(err)) == -1, "'%s' accepted", bad[i]);
		ck_assert_msg(err[0] != '\0', "'%s' without a reason", bad[i]);
	}
	ck_assert_int_eq(folder_template_check("a/{qid}", 1, err,
	    sizeof(err)), -1);
	ck_assert_msg(strstr(err, "path_template") != NULL, "%s", err);
	ck_assert_int_eq(folder_template_check("%Y/%-m/{fax|x}/{counter:3}",
	    0, err, sizeof(err)), 0);
	ck_assert_int_eq(folder_template_uses_rcpt("%Y/{fax}"), 1);
	ck_assert_int_eq(folder_template_uses_rcpt("{name|x}"), 1);
	ck_assert_int_eq(folder_template_uses_rcpt("{param:x}"), 1);
	ck_assert_int_eq(folder_template_uses_rcpt("{filename}{rcptx}"), 0);
	ck_assert_int_eq(folder_template_uses_rcpt("%Y/{sender}"), 0);
}
END_TEST

/* long_names - a 300-byte name fits NAME_MAX, a template overflow fails */
START_TEST(long_names)
{
	struct folder_policy pol = { FOLDER_WINDOWS, 255 };
	struct folder_fields f;
	char name[400], out[FOLDER_TEMPLATE_MAX * 2], tmpl[FOLDER_TEMPLATE_MAX];
	size_t i;

	memset(&f, 0, sizeof(f));
	memset(name, 'x', 300);
	snprintf(name + 300, sizeof(name) - 300, ".tiff");
	f.filename = name;
	ck_assert_int_eq(folder_template_expand("{filename}", &f, &pol, 1, out,
	    sizeof(out)), 0);
	ck_assert_uint_eq(strlen(out), 255);
	ck_assert_str_eq(out + 250, ".tiff");
	/* Many directory levels of long fields overflow the path: refused. */
	tmpl[0] = '\0';
	for (i = 0; i < 40; i++)
		strcat(tmpl, "{filename}/");
	ck_assert_int_eq(folder_template_expand(tmpl, &f, &pol, 0, out,
	    sizeof(out)), -1);
}
END_TEST

/* The journal cases: a root under /tmp and its folder settings. */
static char troot[64];
static struct folder tf;

/* jsetup - a fresh root with the default settings (collision: suffix) */
static void
jsetup(void)
{
	snprintf(troot, sizeof(troot), "/tmp/check-folder-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(troot));
	memset(&tf, 0, sizeof(tf));
	snprintf(tf.path, sizeof(tf.path), "%s", troot);
	tf.root = open(troot, O_RDONLY | O_DIRECTORY);
	ck_assert_int_ge(tf.root, 0);
	tf.file_mode = 0640;
	tf.dir_mode = 0750;
	tf.journal_keep = FOLDER_JOURNAL_KEEP;
}

/* jteardown - remove the root */
static void
jteardown(void)
{
	char cmd[128];

	close(tf.root);
	if (tf.sweep_dir != NULL)
		closedir(tf.sweep_dir);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", troot);
	ck_assert_int_eq(system(cmd), 0);
}

/* jput - the files of one delivery: a.txt twice (the second a-1.txt) */
static int
jput(struct folder_out *out)
{
	if (folder_put_buffer(&tf, out, "a.txt", "one\n", 4) == -1 ||
	    folder_put_buffer(&tf, out, "a.txt", "two\n", 4) == -1) {
		folder_rollback(out);
		return -1;
	}
	return 0;
}

/* jdeliver - one delivery of key into dir "in" as folder.c makes it */
static int
jdeliver(const char *key, struct folder_out *out)
{
	struct folder_journal j;
	int r;

	r = folder_journal_begin(&tf, key, "in", &j, out);
	if (r == FOLDER_J_FRESH)
		r = jput(out) == -1 ? -1 : folder_journal_commit(&tf, &j, out);
	folder_journal_close(&j);
	return r;
}

/* jcount - names in root/sub: files not starting with '.', and tmp files */
static int
jcount(const char *sub, int *tmps)
{
	char p[PATH_MAX];
	struct dirent *de;
	DIR *d;
	int n = 0;

	snprintf(p, sizeof(p), "%s/%s", troot, sub);
	*tmps = 0;
	if ((d = opendir(p)) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, ".gw-tmp.", 8) == 0)
			(*tmps)++;
		else if (de->d_name[0] != '.')
			n++;
	}
	closedir(d);
	return n;
}

/* jexists - does root/rel exist (not followed)? */
static int
jexists(const char *rel)
{
	struct stat st;

	return fstatat(tf.root, rel, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

#define KEY1 "0123456789abcdef0123456789abcdef"
#define KEY2 "fedcba9876543210fedcba9876543210"

START_TEST(journal_twice)
{
	struct folder_out out;
	int tmps;

	jsetup();
	ck_assert_int_eq(jdeliver(KEY1, &out), FOLDER_J_FRESH);
	folder_out_free(&out);
	ck_assert_int_eq(jcount("in", &tmps), 2);
	ck_assert(jexists(".gatewayd/done/" KEY1));
	ck_assert(!jexists(".gatewayd/journal/" KEY1));
	/* the same job again: nothing written, the names said */
	ck_assert_int_eq(jdeliver(KEY1, &out), FOLDER_J_DONE);
	ck_assert_uint_eq(out.nfiles, 2);
	ck_assert_str_eq(out.dir, "in");
	ck_assert_str_eq(out.files[0].name, "a.txt");
	ck_assert_str_eq(out.files[1].name, "a-1.txt");
	folder_out_free(&out);
	ck_assert_int_eq(jcount("in", &tmps), 2);
	ck_assert_int_eq(tmps, 0);
	/* another job: its own copies */
	ck_assert_int_eq(jdeliver(KEY2, &out), FOLDER_J_FRESH);
	ck_assert_str_eq(out.files[0].name, "a-2.txt");
	folder_out_free(&out);
	ck_assert_int_eq(jcount("in", &tmps), 4);
	jteardown();
}
END_TEST

/* jcommit_half - a committed record with only file 0 renamed (a crash) */
static void
jcommit_half(const char *key)
{
	struct folder_journal j;
	struct folder_out out;

	ck_assert_int_eq(folder_journal_begin(&tf, key, "in", &j, &out),
	    FOLDER_J_FRESH);
	ck_assert_int_eq(jput(&out), 0);
	ck_assert_int_eq(rec_write(&tf, &j, &out), 0);
	ck_assert_int_eq(folder_place(&tf, &out, 0), 0);
	folder_journal_close(&j);
	folder_out_free(&out);
}

START_TEST(journal_roll_forward)
{
	struct folder_out out;
	int tmps, fd;

	jsetup();
	jcommit_half(KEY1);
	ck_assert_int_eq(jcount("in", &tmps), 1);
	ck_assert_int_eq(tmps, 1);
	/* another writer took the second name meanwhile */
	fd = openat(tf.root, "in/a-1.txt", O_WRONLY | O_CREAT | O_EXCL, 0600);
	ck_assert_int_ge(fd, 0);
	close(fd);
	ck_assert_int_eq(jdeliver(KEY1, &out), FOLDER_J_ROLLED);
	ck_assert_str_eq(out.files[1].name, "a-2.txt");
	ck_assert_ptr_nonnull(strstr(out.note, "interrupted"));
	folder_out_free(&out);
	ck_assert_int_eq(jcount("in", &tmps), 3);	/* ours 2, theirs 1 */
	ck_assert_int_eq(tmps, 0);
	ck_assert(jexists(".gatewayd/done/" KEY1));
	ck_assert(!jexists(".gatewayd/journal/" KEY1));
	/* and once more: done, the rewritten name */
	ck_assert_int_eq(jdeliver(KEY1, &out), FOLDER_J_DONE);
	ck_assert_str_eq(out.files[1].name, "a-2.txt");
	folder_out_free(&out);
	ck_assert_int_eq(jcount("in", &tmps), 3);
	jteardown();
}
END_TEST

START_TEST(journal_stale_tmp)
{
	struct folder_journal j;
	struct folder_out out;
	int tmps;

	jsetup();
	/* a crash before the commit: temporary files, no record */
	ck_assert_int_eq(folder_journal_begin(&tf, KEY1, "in", &j, &out),
	    FOLDER_J_FRESH);
	ck_assert_int_eq(jput(&out), 0);
	folder_journal_close(&j);
	folder_out_free(&out);
	ck_assert_int_eq(jcount("in", &tmps), 0);
	ck_assert_int_eq(tmps, 2);
	ck_assert_int_eq(jdeliver(KEY1, &out), FOLDER_J_FRESH);
	folder_out_free(&out);
	ck_assert_int_eq(jcount("in", &tmps), 2);
	ck_assert_int_eq(tmps, 0);
	ck_assert_int_eq(jdeliver(KEY1, &out), FOLDER_J_DONE);
	folder_out_free(&out);
	ck_assert_int_eq(jcount("in", &tmps), 2);
	jteardown();
}
END_TEST

START_TEST(journal_malformed)
{
	struct folder_out out;
	int tmps, fd;

	jsetup();
	ck_assert_int_eq(jdeliver(KEY1, &out), FOLDER_J_FRESH);
	folder_out_free(&out);
	fd = openat(tf.root, ".gatewayd/done/" KEY1, O_WRONLY | O_TRUNC);
	ck_assert_int_eq(write(fd, "garbage\n", 8), 8);
	close(fd);
	/* temporary files of the key are there: deferred */
	fd = openat(tf.root, "in/.gw-tmp." KEY1 ".0", O_WRONLY | O_CREAT |
	    O_EXCL, 0600);
	ck_assert_int_ge(fd, 0);
	close(fd);
	ck_assert_int_eq(jdeliver(KEY1, &out), -1);
	ck_assert_int_eq(out.perm, 0);
	ck_assert_ptr_nonnull(strstr(out.err, "malformed"));
	folder_out_free(&out);
	ck_assert(jexists(".gatewayd/done/" KEY1));
	/* none: said, removed, delivered afresh */
	ck_assert_int_eq(unlinkat(tf.root, "in/.gw-tmp." KEY1 ".0", 0), 0);
	ck_assert_int_eq(jdeliver(KEY1, &out), FOLDER_J_FRESH);
	ck_assert_ptr_nonnull(strstr(out.note, "malformed"));
	folder_out_free(&out);
	ck_assert_int_eq(jcount("in", &tmps), 4);
	ck_assert_int_eq(jdeliver(KEY1, &out), FOLDER_J_DONE);
	folder_out_free(&out);
	jteardown();
}
END_TEST

START_TEST(journal_sweep)
{
	struct folder_out out;
	struct timespec old[2];
	time_t now = time(NULL);

	jsetup();
	tf.journal_keep = 86400;
	ck_assert_int_eq(jdeliver(KEY1, &out), FOLDER_J_FRESH);
	folder_out_free(&out);
	ck_assert_int_eq(jdeliver(KEY2, &out), FOLDER_J_FRESH);
	folder_out_free(&out);
	old[0].tv_sec = old[1].tv_sec = now - 86400 - 60;
	old[0].tv_nsec = old[1].tv_nsec = 0;
	ck_assert_int_eq(utimensat(tf.root, ".gatewayd/done/" KEY1, old,
	    AT_SYMLINK_NOFOLLOW), 0);
	ck_assert_int_eq(folder_journal_sweep(&tf, now), 1);
	ck_assert_ptr_null(tf.sweep_dir);
	ck_assert(!jexists(".gatewayd/done/" KEY1));
	ck_assert(jexists(".gatewayd/done/" KEY2));
	/* not again within the hour */
	ck_assert_int_eq(utimensat(tf.root, ".gatewayd/done/" KEY2, old,
	    AT_SYMLINK_NOFOLLOW), 0);
	ck_assert_int_eq(folder_journal_sweep(&tf, now + 60), 0);
	ck_assert_int_eq(folder_journal_sweep(&tf, now + FOLDER_SWEEP_EVERY),
	    1);
	jteardown();
}
END_TEST

START_TEST(journal_symlinks)
{
	struct folder_out out;
	char outside[96], p[PATH_MAX];
	int tmps;

	jsetup();
	snprintf(outside, sizeof(outside), "%s.out", troot);
	ck_assert_int_eq(mkdir(outside, 0700), 0);
	ck_assert_int_eq(symlinkat(outside, tf.root, ".gatewayd"), 0);
	ck_assert_int_eq(jdeliver(KEY1, &out), -1);
	ck_assert_int_eq(out.perm, 0);
	ck_assert_ptr_nonnull(strstr(out.err, "journal"));
	folder_out_free(&out);
	ck_assert_int_eq(jcount("in", &tmps), 0);
	ck_assert_int_eq(unlinkat(tf.root, ".gatewayd", 0), 0);
	ck_assert_int_eq(mkdirat(tf.root, ".gatewayd", 0700), 0);
	ck_assert_int_eq(symlinkat(outside, tf.root, ".gatewayd/journal"), 0);
	ck_assert_int_eq(jdeliver(KEY1, &out), -1);
	folder_out_free(&out);
	ck_assert_int_eq(jcount("in", &tmps), 0);
	/* nothing was made through the links */
	snprintf(p, sizeof(p), "%s/done", outside);
	ck_assert_int_eq(access(p, F_OK), -1);
	ck_assert_int_eq(rmdir(outside), 0);
	/* a journal directory others may write into is refused too */
	ck_assert_int_eq(unlinkat(tf.root, ".gatewayd/journal", 0), 0);
	ck_assert_int_eq(mkdirat(tf.root, ".gatewayd/journal", 0700), 0);
	ck_assert_int_eq(fchmodat(tf.root, ".gatewayd/journal", 0777, 0), 0);
	ck_assert_int_eq(jdeliver(KEY1, &out), -1);
	folder_out_free(&out);
	jteardown();
}
END_TEST

/* folder_suite - all cases */
static Suite *
folder_suite(void)
{
	Suite *s = suite_create("folder");
	TCase *tc = tcase_create("templates");

	tcase_add_loop_test(tc, expand_case, 0,
	    (int)(sizeof(cases) / sizeof(cases[0])));
	tcase_add_test(tc, bad_templates);
	tcase_add_test(tc, long_names);
	suite_add_tcase(s, tc);
	tc = tcase_create("journal");
	tcase_add_test(tc, journal_twice);
	tcase_add_test(tc, journal_roll_forward);
	tcase_add_test(tc, journal_stale_tmp);
	tcase_add_test(tc, journal_malformed);
	tcase_add_test(tc, journal_sweep);
	tcase_add_test(tc, journal_symlinks);
	suite_add_tcase(s, tc);
	return s;
}

/* main - run the suite; non-zero exit on failure */
int
main(void)
{
	SRunner *sr = srunner_create(folder_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
