/*
 * backup.h - posfleetd's online backup (POST /v1/admin/backup,
 * docs/operations.md "Backup and restore").
 *
 * One backup at a time: the copy (store_backup.h) is written beside the
 * database, on libuv's thread pool, so the loop goes on ingesting and
 * answering while it is made and checked. The finished copy is handed back
 * as an open descriptor of a file already unlinked: nothing is left on the
 * server's disk once the answer has been sent (or the client went away), and
 * a crash in the middle leaves at most one hidden ".backup-*" file in the
 * database's directory.
 *
 * Ownership: struct pfs_backup is caller-owned and borrows the loop, the
 * store and the log; it runs on the loop thread. A result's descriptor
 * belongs to the callback, which must close it (or hand it on).
 */
#ifndef PFS_BACKUP_H
#define PFS_BACKUP_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "base/log.h"
#include "pf/b2.h"
#include "pf/error.h"
#include "store/store.h"

struct pfs_backup {
    uv_loop_t *loop; /* NULL: the copy is made inline (unit tests) */
    struct pfs_store *store;
    const struct pfs_log *log;
    char dir[PATH_MAX]; /* where the copy is written: the database's directory */
    bool busy;          /* a backup is under way */
    unsigned seq;       /* names the copies of this process */
};

struct pfs_backup_result {
    int fd; /* the verified copy, read from offset 0; -1 on failure */
    uint64_t bytes;
    int schema_version;
    char digest[PF_B2_HEX_LEN + 1]; /* BLAKE2b-256 of the copy, hex */
};

/* rc 0 with r filled, or a PF_E* code with err saying why (r->fd is -1). */
typedef void (*pfs_backup_cb)(void *ctx, int rc, struct pfs_backup_result *r,
                              const struct pf_error *err);

/* store_path is the database file (store.path); its directory holds the copies. */
int pfs_backup_init(struct pfs_backup *b, uv_loop_t *loop, struct pfs_store *store,
                    const char *store_path, const struct pfs_log *log, struct pf_error *err) PF_WUR;
/*
 * Starts a backup. PF_ESTATE while another is under way (nothing started).
 * On 0, done is called exactly once on the loop thread when the copy is
 * ready or failed (inline, before this returns, without a loop).
 */
int pfs_backup_start(struct pfs_backup *b, pfs_backup_cb done, void *ctx,
                     struct pf_error *err) PF_WUR;

#endif
