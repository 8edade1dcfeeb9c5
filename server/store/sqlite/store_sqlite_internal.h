/*
 * store_sqlite_internal.h - what the SQLite backend files of the store share:
 * the connection with its prepared statements and ingest batch (struct
 * pfs_store), the device view's columns and the row helpers. Only files under
 * server/store/sqlite/ include it; callers see store.h.
 */
#ifndef PFS_STORE_SQLITE_INTERNAL_H
#define PFS_STORE_SQLITE_INTERNAL_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pf/msg.h"
#include "store/sqlite/store_sqlite_api.h"
#include "store/store.h"

/* Statements prepared once at open (store_sqlite.c). */
enum {
    ST_HEALTH_INS,
    ST_STATE_HEALTH_SAME_FW,
    ST_STATE_HEALTH,
    ST_STATE_TOUCH,
    ST_BIRTH,
    ST_STATE_BIRTH,
    ST_STATE_CONN,
    ST_ALERT_OPEN,
    ST_ALERT_CLOSE,
    ST_HEALTH_PRUNE,
    ST_HEALTH_EXPIRE,
    ST_FLUSH_STAMP,
    ST_DEV_GET,
    ST_DEV_STATUS,
    ST_BEGIN,
    ST_COMMIT,
    ST_ROLLBACK,
    ST_COUNT
};

/*
 * stored_ms of a health row until its batch commits. It takes as many bytes in the record as
 * a real timestamp, so the stamp at commit overwrites the row in place instead of moving it
 * (a NULL would grow it). Never visible: reads return 0, as for a NULL, and a batch committed
 * without a time sets NULL.
 */
#define PFS_SQLITE_UNSTAMPED                                                                       \
    INT64_C(-140737488355328) /* -2^47: a 6-byte integer, like the time                            \
                               */
#define PFS_SQLITE_UNSTAMPED_SQL "-140737488355328"

/* The columns of a device view (store_devices.c reads them in this order). */
#define PFS_SQLITE_DEV_COLS                                                                        \
    "d.serial, d.model, d.hw_rev,"                                                                 \
    " (SELECT tb.merchant_id FROM terminals tb WHERE tb.serial = d.serial), d.status,"             \
    " d.created_ms, d.revoked_ms,"                                                                 \
    " s.serial IS NOT NULL, s.online, s.last_seen_ms, s.fw_version, s.fw_slot,"                    \
    " s.fee_version, b.ts_ms, b.model, b.hw_rev, b.boot, b.agent_version, b.selftest,"             \
    " h.seq, h.ts_ms, h.battery_pct, h.charging, h.net_type, h.signal_dbm, h.temp_c,"              \
    " h.storage_free_kb, h.mem_free_kb, h.uptime_s, h.paper, h.tamper, h.selftest,"                \
    " h.err_reconnects, h.err_queue_dropped, h.err_reader, h.err_printer, h.txn_count,"            \
    " h.txn_amount_minor, h.currency,"                                                             \
    " (SELECT group_concat(kind) FROM (SELECT kind FROM alerts a WHERE a.serial = d.serial"        \
    " AND a.closed_ms IS NULL ORDER BY kind)),"                                                    \
    " b.fw_version, b.fw_slot, b.fee_version, h.fw_version, h.fw_slot, h.fee_version,"             \
    " s.fee_pending, s.fee_pending_at"
/* The birth and the newest report of each row. */
#define PFS_SQLITE_DEV_JOINS                                                                       \
    " LEFT JOIN device_birth b ON b.serial = d.serial LEFT JOIN health h ON h.id = s.health_id"
#define PFS_SQLITE_DEV_FROM                                                                        \
    " FROM devices d LEFT JOIN device_state s ON s.serial = d.serial" PFS_SQLITE_DEV_JOINS

/* The one transaction a store has open at a time (store.h; store_tx.c). */
struct pfs_sqlite_tx {
    struct pfs_tx base; /* first: the generic handle (store_ops.h) */
    struct pfs_sqlite *st;
    sqlite3 *db;
    enum pfs_durability durability;
    bool open;
};

struct pfs_sqlite_held;

struct pfs_sqlite {
    struct pfs_store base; /* first: the generic handle (store_ops.h) */
    sqlite3 *db;
    sqlite3_stmt *stmt[ST_COUNT];
    int batch_ops;          /* writes in the open batch; 0 = no batch open */
    int batch_rows;         /* health rows in the open batch */
    int64_t batch_first_id; /* first health id of the batch, 0 if none */
    struct pfs_sqlite_tx tx;
    /* Held (pfs_sqlite_hold, store_hold.c): another connection writes a long
     * transaction; ingest writes wait here, in arrival order. */
    bool held;
    struct pfs_sqlite_held *held_ops;
    size_t nheld, held_cap, held_dropped;
};

/* The ingest writes while the store is held (store_hold.c): kept in memory,
 * written by pfs_sqlite_release() through the calls below. */
int pfs_sqlite_hold_health(struct pfs_sqlite *st, const char *serial, const struct pf_health *h,
                           int64_t recv_ms, enum pfs_health_rank rank, bool *newer);
int pfs_sqlite_hold_birth(struct pfs_sqlite *st, const char *serial, const struct pf_birth *b,
                          int64_t recv_ms);
int pfs_sqlite_hold_state(struct pfs_sqlite *st, const char *serial, const struct pf_state *m,
                          int64_t recv_ms);
int pfs_sqlite_hold_alert(struct pfs_sqlite *st, bool open, const char *serial, const char *kind,
                          int64_t now_ms, const char *detail);
int pfs_sqlite_hold_prune(struct pfs_sqlite *st, const char *serial, int keep);

/* The store's connection; borrowed, valid until pfs_sqlite_close(). */
sqlite3 *pfs_store_sqlite_db(struct pfs_sqlite *st);

/* PF_EIO with "store: WHAT: sqlite's message" in err. */
int pfs_sqlite_fail(sqlite3 *db, struct pf_error *err, const char *what);
/* Runs SQL text (no parameters); PF_EIO with the message in err. */
int pfs_sqlite_exec(sqlite3 *db, const char *sql, struct pf_error *err);
/*
 * The connection's statement cache (store_tx.c), for the statements a long
 * change runs once per row: *out is sql prepared once (persistent) and found
 * again by its text on later calls, or a fresh one past the cache's size.
 * Give it back with pfs_sqlite_cached_put() (reset and bindings cleared, or
 * finalized), never sqlite3_finalize(). pfs_sqlite_cache_clear() finalizes the
 * cache (before the connection closes).
 */
int pfs_sqlite_cached(sqlite3 *db, const char *sql, sqlite3_stmt **out) PF_WUR;
void pfs_sqlite_cached_put(sqlite3_stmt *s);
void pfs_sqlite_cache_clear(sqlite3 *db);
/* Steps a prepared statement to its end, then resets it and clears its bindings. */
int pfs_sqlite_step_done(sqlite3_stmt *s);
/* Binds v, or NULL when v is NULL or "" (static: v must outlive the step). */
void pfs_sqlite_bind_text(sqlite3_stmt *s, int i, const char *v);
/* Copies a text column ("" for NULL), truncated to size. */
void pfs_sqlite_col_text(sqlite3_stmt *s, int col, char *out, size_t size);
/* Decodes the self-test column (one digit per component). */
void pfs_sqlite_selftest_decode(sqlite3_stmt *s, int col, enum pf_check *c);

#endif
