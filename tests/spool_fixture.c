/*
 * spool_fixture.c - the temporary spool of the spool unit tests
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/types.h>

#include <check.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>

#include "spool_fixture.h"

/* rm_entry - nftw callback removing everything */
static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* fixture_spool_open - a fresh spool with connectors relay and archive */
struct spool *
fixture_spool_open(char *top, size_t toplen, const char *template)
{
	char err[SPOOL_ERRLEN];
	struct spool *sp;

	ck_assert_uint_lt((size_t)snprintf(top, toplen, "%s", template), toplen);
	ck_assert_ptr_nonnull(mkdtemp(top));
	sp = spool_open(top, 1, (uid_t)-1, (gid_t)-1, err, sizeof(err));
	if (sp == NULL)
		ck_abort_msg("spool_open: %s", err);
	ck_assert_int_eq(spool_connector_init(sp, "relay", (uid_t)-1,
	    (gid_t)-1, err, sizeof(err)), 0);
	ck_assert_int_eq(spool_connector_init(sp, "archive", (uid_t)-1,
	    (gid_t)-1, err, sizeof(err)), 0);
	return sp;
}

/* fixture_remove_tree - remove a directory and everything below it */
void
fixture_remove_tree(const char *dir)
{
	nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* fixture_spool_remove - close the spool and remove its tree */
void
fixture_spool_remove(struct spool *sp, const char *top)
{
	spool_close(sp);
	fixture_remove_tree(top);
}
