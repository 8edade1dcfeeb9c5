/*
 * store_backup.h - a consistent copy of the whole store, made while posfleetd
 * keeps running (posfleet admin backup, docs/operations.md "Backup and
 * restore").
 *
 * Two steps, so the long one runs off the loop thread: pfs_store_backup_new()
 * on the loop thread notes what a copy of the store needs; then
 * pfs_store_backup_run(), on any single thread (libuv's thread pool), writes
 * the copy and verifies it while the loop goes on ingesting and answering.
 * The copy holds every change committed before the run began, and nothing
 * of a change committed during it: a snapshot of one instant, never a torn
 * mix. A backend that cannot copy itself this way answers PF_EINVAL.
 *
 * Ownership: the struct pfs_store_backup belongs to the caller (free it with
 * pfs_store_backup_free, from any thread once run returned); it does not
 * borrow the store, which may be closed while a run is under way.
 */
#ifndef PFS_STORE_BACKUP_H
#define PFS_STORE_BACKUP_H

#include <stdint.h>

#include "pf/error.h"
#include "store/store.h"

struct pfs_store_backup;

struct pfs_store_backup_info {
    int schema_version; /* of the copy: the highest migration it holds */
    uint64_t bytes;     /* size of the copy */
};

/* Loop thread. dest is the file to write: it must not exist (PF_EEXIST). */
int pfs_store_backup_new(struct pfs_store *st, const char *dest, struct pfs_store_backup **out,
                         struct pf_error *err) PF_WUR;
/*
 * Writes the copy to dest and checks it as a whole (the backend's own
 * integrity check, every page and index): 0 only for a copy that passed. On
 * any failure dest is removed. Blocking; never on the loop thread.
 */
int pfs_store_backup_run(struct pfs_store_backup *b, struct pfs_store_backup_info *info,
                         struct pf_error *err) PF_WUR;
void pfs_store_backup_free(struct pfs_store_backup *b);

#endif
