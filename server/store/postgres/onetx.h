/*
 * onetx.h - how the updates, diagnostics and notification files
 * (pg_updates.c, pg_diag.c, pg_notify.c) run a call that is one transaction,
 * write the open ingest batch first and read outside a transaction, as their
 * SQLite twins do through pfs_sqlite_begin(), pfs_store_flush() and plain
 * statements.
 *
 * pfs_pg_store_tx() and pfs_pg_flush() (pg_store.c, pg_ingest.c) own the
 * batch and the hold; the helpers below are how these files reach them.
 *
 * Not named pg_*.h on purpose: packaging/scripts/gen-store-ops.py takes every
 * pfs_pg_NAME declared in server/store/postgres/pg_*.h as the twin of
 * pfs_store_NAME, and these helpers are not twins.
 */
#ifndef PFS_PG_ONETX_H
#define PFS_PG_ONETX_H

#include "store/postgres/pg_ingest.h"
#include "store/postgres/pg_store.h"

/* Writes the open ingest batch (what pfs_store_flush() does before a write
 * of its own statement on SQLite); 0 when there is none. */
static inline int pgb_flush(struct pfs_pg_store *st, int64_t now_ms)
{
    return pfs_pg_flush(st, now_ms, NULL);
}

/* An administrative call: one retried transaction of its own, after the open
 * batch is written; refused while the store is held or a transaction open. */
static inline int pgb_store_tx(struct pfs_pg_store *st, enum pfs_pg_isolation iso, int64_t now_ms,
                               pfs_pg_tx_fn fn, void *ctx, struct pf_error *err)
{
    return pfs_pg_store_tx(st, iso, now_ms, fn, ctx, err);
}

/* A write of the ingest path (an answer, a chunk, an expiry): SQLite writes
 * the open batch and then runs its statements whether the store is held or
 * not; here they are one retried transaction of their own after the batch.
 * Refused inside pfs_pg_tx_begin()'s transaction, whose session it would
 * commit. */
static inline int pgb_ingest_tx(struct pfs_pg_store *st, int64_t now_ms, pfs_pg_tx_fn fn, void *ctx,
                                struct pf_error *err)
{
    if (st->tx.open)
        return pf_error_set(err, PF_ESTATE, "store: a transaction is open already");
    if (pgb_flush(st, now_ms))
        return pf_error_set(err, PF_EIO, "store: commit batch: the batch could not be written");
    return pfs_pg_tx(st->pg, PFS_PG_READ_COMMITTED, fn, ctx, err);
}

/* A read outside any transaction: run again once on a new session when the
 * session was lost since the last call (nothing is open, so it is safe).
 * PF_EIO on any other failure, as the SQLite twins answer. */
static inline int pgb_read(struct pfs_pg_store *st, const char *sql, int n,
                           const char *const *params, PGresult **res)
{
    int rc = pfs_pg_query(st->pg, sql, n, params, res, NULL);

    if (rc == PF_ECONN && !st->tx.open && pfs_pg_reconnect(st->pg, NULL) == 0)
        rc = pfs_pg_query(st->pg, sql, n, params, res, NULL);
    return rc == 0 || rc == PF_ENOMEM ? rc : PF_EIO;
}

#endif
