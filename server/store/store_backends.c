/*
 * store_backends.c - the backends built into posfleetd and the store
 * functions that have no handle to dispatch on (store.c has the others):
 * pfs_store_open finds opts->backend's table (store_ops.h) and calls its open.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/postgres/pg_online.h"
#include "store/sqlite/store_sqlite_api.h"
#include "store/store_online.h"
#include "store/store_ops.h"

const char *const pfs_store_backends[] = {"sqlite", "postgres", NULL};

static const struct pfs_store_ops *const store__tables[] = {&pfs_store_sqlite_ops,
                                                            &pfs_store_postgres_ops};

int pfs_store_open(const struct pfs_store_opts *opts, struct pfs_store **out, struct pf_error *err)
{
    const char *name = opts && opts->backend ? opts->backend : pfs_store_backends[0];

    *out = NULL;
    if (!opts)
        return pf_error_set(err, PF_EINVAL, "store: no options");
    for (size_t i = 0; i < sizeof(store__tables) / sizeof(store__tables[0]); i++) {
        if (strcmp(store__tables[i]->name, name) == 0)
            return store__tables[i]->open(opts, out, err);
    }
    return pf_error_set(err, PF_EINVAL,
                        "store: backend \"%s\": this posfleetd has sqlite, postgres", name);
}

void pfs_store_sibling_opts_release(struct pfs_store_opts *opts)
{
    free((char *)opts->path);
    free((char *)opts->dsn);
    opts->path = NULL;
    opts->dsn = NULL;
}

/* The count has no store handle: the source pfs_store_online_source gave
 * names the backend, "postgres:DSN" for PostgreSQL (pg_online.h), a bare path
 * the SQLite file. */
int pfs_store_online_count_file(const char *path, struct pfs_online_counts *c, struct pf_error *err)
{
    if (strncmp(path, PFS_PG_ONLINE_SOURCE_PREFIX, strlen(PFS_PG_ONLINE_SOURCE_PREFIX)) == 0)
        return pfs_pg_online_count_file(path, c, err);
    return pfs_sqlite_online_count_file(path, c, err);
}
