/*
 * pg_diag.h - the PostgreSQL twins of store_diag.h (pg_diag.c): diagnostic
 * requests, their answers and the chunks of diagnostic archives, with the
 * SQLite backend's results, errors and audit rows.
 */
#ifndef PFS_PG_DIAG_H
#define PFS_PG_DIAG_H

#include "store/postgres/pg_store.h"
#include "store/store_diag.h"

int pfs_pg_diag_create(struct pfs_pg_store *st, const struct pfs_diag_rec *r,
                       const struct pfs_actor *actor, int64_t now_ms, struct pf_error *err) PF_WUR;
int pfs_pg_diag_get(struct pfs_pg_store *st, const char *id, pfs_diag_rec_cb cb, void *ctx) PF_WUR;
int pfs_pg_diag_list(struct pfs_pg_store *st, const char *serial, int limit, pfs_diag_rec_cb cb,
                     void *ctx) PF_WUR;
int pfs_pg_diag_answer(struct pfs_pg_store *st, const char *serial, const struct pf_diag_resp *r,
                       int64_t archive_size, const char *archive_digest, int64_t now_ms,
                       bool *late) PF_WUR;
int pfs_pg_diag_expire(struct pfs_pg_store *st, int64_t now_ms, pfs_diag_rec_cb cb, void *ctx,
                       int *n) PF_WUR;
int pfs_pg_diag_chunk_put(struct pfs_pg_store *st, const char *id, int64_t offset, const void *data,
                          size_t len, int64_t now_ms, int64_t *received) PF_WUR;
int pfs_pg_diag_archive_done(struct pfs_pg_store *st, const char *id, int done,
                             int64_t now_ms) PF_WUR;
int pfs_pg_diag_archive_read(struct pfs_pg_store *st, const char *id, void **buf,
                             size_t *len) PF_WUR;
int pfs_pg_diag_transfers(struct pfs_pg_store *st, pfs_diag_rec_cb cb, void *ctx) PF_WUR;

#endif
