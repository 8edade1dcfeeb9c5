/*
 * pg_store.c - opening and closing the PostgreSQL backend's store.
 */
#include "store/postgres/pg_store.h"

#include <stdlib.h>

#include "store/postgres/pg_migrations.h"

int pfs_pg_store_open(const char *dsn, struct pfs_pg_store **out, struct pf_error *err)
{
    struct pfs_pg_store *st = NULL;
    struct pfs_pg_opts o = {.dsn = dsn};
    int rc, applied = 0;

    *out = NULL;
    if (!dsn || !*dsn)
        return pf_error_set(err, PF_EINVAL, "store: postgres: store.dsn is empty");
    st = calloc(1, sizeof(*st));
    if (!st)
        return pf_error_set(err, PF_ENOMEM, "store: postgres: out of memory");
    st->tx.base.st = &st->base;
    rc = pfs_pg_open(&o, &st->pg, err);
    if (rc == 0)
        rc = pfs_pg_migrate(st->pg, pfs_pg_migrations, &applied, err);
    if (rc != 0) {
        pfs_pg_store_close(st);
        return rc;
    }
    *out = st;
    return 0;
}

void pfs_pg_store_close(struct pfs_pg_store *st)
{
    if (!st)
        return;
    pfs_pg_free(st->pg);
    free(st);
}
