/*
 * store_tx.h - transaction and statement helpers the SQLite backend files of
 * the store share (implemented in store_updates_sqlite.c). Not for callers
 * outside server/store/.
 */
#ifndef PFS_STORE_TX_H
#define PFS_STORE_TX_H

#include <jansson.h>
#include <sqlite3.h>
#include <stdint.h>

#include "store/store.h"

/* Commits the ingest batch (its health rows stamped stored at now_ms), then
 * opens a FULL-durability transaction of our own. */
int pfs_store_tx_begin(struct pfs_store *st, int64_t now_ms, struct pf_error *err) PF_WUR;
/* Commits if rc is 0, else rolls back; returns rc (or the commit's error). */
int pfs_store_tx_end(struct pfs_store *st, int rc, struct pf_error *err);
/* Runs sql with arguments described by fmt: 's' text or NULL if "", 'S' text
 * always, 'i' int64, 'n' int64 or NULL if < 0. PF_EEXIST on a constraint. */
int pfs_store_sql_run(sqlite3 *db, const char *sql, const char *fmt, ...) PF_WUR;
/* Runs a query (arguments as pfs_store_sql_run) for the first column of its
 * first row, an integer (0 without a row). */
int pfs_store_sql_int(sqlite3 *db, const char *sql, int64_t *out, const char *fmt, ...) PF_WUR;
/* Appends an audit row (after: JSON object or NULL). */
int pfs_store_audit_row(sqlite3 *db, const struct pfs_actor *actor, int64_t now_ms,
                        const char *action, const char *target, json_t *after) PF_WUR;
/* The rows of an offer (update_offers, update_state), inside a transaction. */
struct pfs_offer_rec;
struct pfs_bundle_rec;
int pfs_store_offer_rows(sqlite3 *db, const struct pfs_offer_rec *o, const struct pfs_bundle_rec *b,
                         const char *body, const char *actor) PF_WUR;

#endif
