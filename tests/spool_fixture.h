/*
 * spool_fixture.h - the temporary spool of the spool unit tests
 *
 * fixture_spool_open() makes a fresh spool under /tmp (from template, a
 * mkdtemp pattern copied into top) with the connectors relay and archive;
 * fixture_spool_remove() closes it and removes the whole tree
 * (fixture_remove_tree() removes any directory tree).
 */
#ifndef GW_SPOOL_FIXTURE_H
#define GW_SPOOL_FIXTURE_H

#include <stddef.h>

#include "spool.h"

struct spool *fixture_spool_open(char *top, size_t toplen,
    const char *template);
void fixture_spool_remove(struct spool *sp, const char *top);
void fixture_remove_tree(const char *dir);

#endif
