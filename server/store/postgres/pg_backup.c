/*
 * pg_backup.c - store_backup.h on PostgreSQL (pg_backup.h).
 */
#include "store/postgres/pg_backup.h"

int pfs_pg_backup_new(struct pfs_pg_store *st, const char *dest, struct pfs_store_backup **out,
                      struct pf_error *err)
{
    (void)st;
    (void)dest;
    *out = NULL;
    return pf_error_set(err, PF_EINVAL,
                        "backup: the postgres store is copied by PostgreSQL's own tools, not by"
                        " posfleetd: pg_dump (a consistent snapshot while posfleetd runs) or"
                        " pg_basebackup with WAL archiving (docs/operations.md)");
}
