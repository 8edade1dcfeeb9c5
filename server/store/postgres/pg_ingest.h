/*
 * pg_ingest.h - the ingest path of store.h on PostgreSQL: the batch, the
 * held writes and the writes themselves (docs/store.md, "The ingest batch").
 *
 * Every ingest write is kept in memory, in arrival order, until the batch is
 * written: that list, not the session, is the batch. While the session is
 * sound the writes are also applied at once inside an open transaction of
 * the store's session (the results of store.h, such as *newer or PF_EEXIST,
 * and the reads of the same session see them, as on SQLite), and
 * pfs_pg_flush() commits that transaction. When the session was lost at any
 * point, or the COMMIT aborted, the flush writes the whole list again in one
 * pfs_pg_tx() (reconnect, rerun, commit resolved by transaction id): a batch
 * is committed once, whole, or not at all; a crash of posfleetd loses it
 * whole.
 */
#ifndef PFS_PG_INGEST_H
#define PFS_PG_INGEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/postgres/pg_store.h"

/* The batch's memory, made at open and freed at close (pg_store.c). */
int pfs_pg_batch_new(struct pfs_pg_store *st) PF_WUR;
void pfs_pg_batch_free(struct pfs_pg_store *st);
/* True while ingest writes are in the open batch's transaction on the
 * session (a transaction of pfs_pg_tx_begin cannot start inside it). */
bool pfs_pg_batch_open(const struct pfs_pg_store *st);

/* --- the twins of store.h --- */

int pfs_pg_hold(struct pfs_pg_store *st, int64_t now_ms, struct pf_error *err) PF_WUR;
int pfs_pg_release(struct pfs_pg_store *st, int64_t now_ms, size_t *written,
                   size_t *dropped) PF_WUR;
bool pfs_pg_is_held(const struct pfs_pg_store *st);

int pfs_pg_health_put(struct pfs_pg_store *st, const char *serial, const struct pf_health *h,
                      int64_t recv_ms, bool *newer) PF_WUR;
int pfs_pg_health_record(struct pfs_pg_store *st, const char *serial, const struct pf_health *h,
                         int64_t recv_ms, enum pfs_health_rank rank, bool *newer) PF_WUR;
int pfs_pg_birth_put(struct pfs_pg_store *st, const char *serial, const struct pf_birth *b,
                     int64_t recv_ms) PF_WUR;
int pfs_pg_state_put(struct pfs_pg_store *st, const char *serial, const struct pf_state *m,
                     int64_t recv_ms) PF_WUR;
int pfs_pg_alert_open(struct pfs_pg_store *st, const char *serial, const char *kind, int64_t now_ms,
                      const char *detail) PF_WUR;
int pfs_pg_alert_close(struct pfs_pg_store *st, const char *serial, const char *kind,
                       int64_t now_ms) PF_WUR;
int pfs_pg_health_prune(struct pfs_pg_store *st, const char *serial, int keep) PF_WUR;
int pfs_pg_health_expire(struct pfs_pg_store *st, int64_t before_ms, int max, int *deleted) PF_WUR;
int pfs_pg_batch_pending(struct pfs_pg_store *st);
int pfs_pg_flush(struct pfs_pg_store *st, int64_t stored_ms, int *rows) PF_WUR;

#endif
