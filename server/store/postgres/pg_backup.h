/*
 * pg_backup.h - store_backup.h on PostgreSQL. posfleet admin backup is
 * SQLite's online backup API; a PostgreSQL store is backed up with
 * PostgreSQL's own tools (docs/operations.md, "Backup and restore"), so the
 * backend answers PF_EINVAL as store_backup.h allows, naming them.
 */
#ifndef PFS_PG_BACKUP_H
#define PFS_PG_BACKUP_H

#include "store/postgres/pg_store.h"
#include "store/store_backup.h"

int pfs_pg_backup_new(struct pfs_pg_store *st, const char *dest, struct pfs_store_backup **out,
                      struct pf_error *err) PF_WUR;

#endif
