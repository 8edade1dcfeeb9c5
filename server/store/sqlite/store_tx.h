/*
 * store_tx.h - the SQLite backend's one set of transaction, statement and
 * audit helpers (implemented in store_tx.c), shared by every file of the
 * backend: store_devices.c, store_lifecycle*.c, store_updates_sqlite.c,
 * store_diag.c and store_rollout*.c. They depend on this file, never on each
 * other's internals. Not for callers outside server/store/sqlite/: domain code
 * uses the transaction handle of store.h.
 *
 * Every write of the backend that is not part of the ingest batch runs in a
 * struct pfs_sqlite_tx: pfs_sqlite_tx_begin() (store.h) commits the open batch, then
 * BEGIN IMMEDIATE, with synchronous=FULL for PFS_DURABILITY_FULL until the
 * transaction ends. A call that is one transaction of its own uses
 * pfs_sqlite_begin()/pfs_sqlite_end().
 */
#ifndef PFS_STORE_TX_H
#define PFS_STORE_TX_H

#include <jansson.h>
#include <sqlite3.h>
#include <stdint.h>

#include "store/sqlite/store_sqlite_internal.h"
#include "store/sqlite/store_sqlite_api.h"
#include "store/store.h"

/* The connection a transaction runs on (borrowed). */
sqlite3 *pfs_sqlite_tx_db(struct pfs_sqlite_tx *tx);

/* pfs_sqlite_tx_begin() at FULL durability, for a call that is one transaction. */
int pfs_sqlite_begin(struct pfs_sqlite *st, int64_t now_ms, struct pf_error *err) PF_WUR;
/* Ends the transaction of pfs_sqlite_begin(): commits if rc is 0, else rolls
 * back; returns rc (or the commit's error). */
int pfs_sqlite_end(struct pfs_sqlite *st, int rc, struct pf_error *err);

/* Runs sql with arguments described by fmt: 's' text or NULL if "", 'S' text
 * always, 'i' int64, 'n' int64 or NULL if < 0. PF_EEXIST on a constraint. */
int pfs_store_sql_run(sqlite3 *db, const char *sql, const char *fmt, ...) PF_WUR;
/* Runs a query (arguments as pfs_store_sql_run) for the first column of its
 * first row, an integer (0 without a row). */
int pfs_store_sql_int(sqlite3 *db, const char *sql, int64_t *out, const char *fmt, ...) PF_WUR;

/*
 * An audit row. before and after are JSON text (or NULL); serial, serial2 and
 * merchant, when set, also index the row (audit_ref) so that
 * pfs_sqlite_audit_query() finds it by terminal or merchant.
 */
struct pfs_sqlite_audit {
    const struct pfs_actor *actor; /* NULL: "-" */
    int64_t ts_ms;
    const char *action;
    const char *target;
    const char *before, *after;
    const char *serial, *serial2, *merchant;
};
/* The one writer of audit rows, inside the caller's transaction. */
int pfs_sqlite_audit_write(sqlite3 *db, const struct pfs_sqlite_audit *a,
                           struct pf_error *err) PF_WUR;
/* The same for a loop of many rows: *cache (NULL at first) keeps the prepared
 * statement between calls; the caller finalizes it. */
int pfs_sqlite_audit_write_cached(sqlite3 *db, const struct pfs_sqlite_audit *a,
                                  sqlite3_stmt **cache, struct pf_error *err) PF_WUR;
/* An audit row with only an after (a JSON value, dumped with sorted keys). */
int pfs_store_audit_row(sqlite3 *db, const struct pfs_actor *actor, int64_t now_ms,
                        const char *action, const char *target, json_t *after) PF_WUR;
/* The same with the after already as JSON text (store/record_json.h). */
int pfs_store_audit_text(sqlite3 *db, const struct pfs_actor *actor, int64_t now_ms,
                         const char *action, const char *target, const char *after) PF_WUR;

/* The rows of an offer (update_offers, update_state), inside a transaction:
 * written by a plain offer (store_updates_sqlite.c) and a rollout's. */
struct pfs_offer_rec;
struct pfs_bundle_rec;
int pfs_store_offer_rows(sqlite3 *db, const struct pfs_offer_rec *o, const struct pfs_bundle_rec *b,
                         const char *body, const char *actor) PF_WUR;

#endif
