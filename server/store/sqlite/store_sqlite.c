/*
 * store_sqlite.c - the embedded SQLite backend of store.h.
 *
 * One connection, WAL journal. The ingest path writes into a long-lived
 * transaction (the batch) with synchronous=NORMAL; administrative changes
 * commit the batch first and run under synchronous=FULL with their audit row.
 * Hot statements are prepared once at open and reset after each use.
 *
 * This file holds the connection (open, migrations, close), the batch and
 * the ingest writes; store_devices.c holds the registry and the reads.
 */
#include "store/store.h"

#include <inttypes.h>
#include <jansson.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/sqlite/store_migrations.h"
#include "store/sqlite/store_sqlite_internal.h"

const char *const pfs_dev_status_names[] = {"registered", "revoked", NULL};

static const char *const store__sql[ST_COUNT] = {
        [ST_HEALTH_INS] =
                "INSERT INTO health (serial, seq, ts_ms, recv_ms, queued, battery_pct, charging,"
                " net_type, signal_dbm, temp_c, storage_free_kb, mem_free_kb, uptime_s, fw_version,"
                " fw_slot, fee_version, paper, tamper, selftest, err_reconnects, err_queue_dropped,"
                " err_reader, err_printer, txn_count, txn_amount_minor, currency, stored_ms) VALUES"
                " (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18,?19,?20,?21,?22,"
                "?23,?24,?25,?26," PFS_SQLITE_UNSTAMPED_SQL ")",
        /* The common case: a newer report with the versions held. Leaving the versions out
         * of the SET keeps device_state_fw, one more page per report, untouched. */
        [ST_STATE_HEALTH_SAME_FW] =
                "UPDATE device_state SET online=1, last_seen_ms=max(last_seen_ms, ?2),"
                " health_id=?6, health_seq=?7, health_ts_ms=?8"
                " WHERE serial=?1 AND fw_version IS ?3 AND fw_slot IS ?4 AND fee_version IS ?5"
                " AND fee_pending IS ?10 AND fee_pending_at IS ?11 AND (?9 = 1 OR health_seq IS "
                "NULL OR ?7 > health_seq OR ?8 > health_ts_ms)",
        [ST_STATE_HEALTH] =
                "INSERT INTO device_state (serial, online, last_seen_ms, fw_version, fw_slot,"
                " fee_version, health_id, health_seq, health_ts_ms, fee_pending, fee_pending_at)"
                " VALUES (?1,1,?2,?3,?4,?5,?6,?7,?8,?10,?11)"
                " ON CONFLICT (serial) DO UPDATE SET online=1,"
                " last_seen_ms=max(last_seen_ms, excluded.last_seen_ms),"
                " fw_version=excluded.fw_version, fw_slot=excluded.fw_slot,"
                " fee_version=excluded.fee_version, fee_pending=excluded.fee_pending,"
                " fee_pending_at=excluded.fee_pending_at, health_id=excluded.health_id,"
                " health_seq=excluded.health_seq, health_ts_ms=excluded.health_ts_ms"
                " WHERE ?9 = 1 OR device_state.health_seq IS NULL OR excluded.health_seq > "
                "device_state.health_seq"
                " OR excluded.health_ts_ms > device_state.health_ts_ms",
        [ST_STATE_TOUCH] = "UPDATE device_state SET online=1, last_seen_ms=max(last_seen_ms, ?2)"
                           " WHERE serial=?1",
        [ST_BIRTH] =
                "INSERT INTO device_birth (serial, ts_ms, model, hw_rev, fw_version, fw_slot,"
                " fee_version, boot, agent_version, selftest)"
                " VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10)"
                " ON CONFLICT (serial) DO UPDATE SET ts_ms=excluded.ts_ms,"
                " model=excluded.model, hw_rev=excluded.hw_rev, fw_version=excluded.fw_version,"
                " fw_slot=excluded.fw_slot, fee_version=excluded.fee_version,"
                " boot=excluded.boot, agent_version=excluded.agent_version,"
                " selftest=excluded.selftest WHERE excluded.ts_ms >= device_birth.ts_ms",
        [ST_STATE_BIRTH] =
                "INSERT INTO device_state (serial, online, last_seen_ms, fw_version, fw_slot,"
                " fee_version, fee_pending, fee_pending_at) VALUES (?1,1,?2,?3,?4,?5,?6,?7)"
                " ON CONFLICT (serial) DO UPDATE SET online=1,"
                " last_seen_ms=max(last_seen_ms, excluded.last_seen_ms),"
                " fw_version=excluded.fw_version, fw_slot=excluded.fw_slot,"
                " fee_version=excluded.fee_version, fee_pending=excluded.fee_pending,"
                " fee_pending_at=excluded.fee_pending_at",
        [ST_STATE_CONN] = "INSERT INTO device_state (serial, online, last_seen_ms, state_ts_ms)"
                          " VALUES (?1,?2,?3,?4) ON CONFLICT (serial) DO UPDATE SET"
                          " online=excluded.online,"
                          " last_seen_ms=max(last_seen_ms, excluded.last_seen_ms),"
                          " state_ts_ms=excluded.state_ts_ms",
        [ST_ALERT_OPEN] =
                "INSERT INTO alerts (serial, kind, opened_ms, detail) VALUES (?1,?2,?3,?4)"
                " ON CONFLICT DO NOTHING",
        [ST_ALERT_CLOSE] = "UPDATE alerts SET closed_ms=?3 WHERE serial=?1 AND kind=?2"
                           " AND closed_ms IS NULL",
        [ST_HEALTH_PRUNE] = "DELETE FROM health WHERE serial=?1 AND id <= (SELECT id FROM health"
                            " WHERE serial=?1 ORDER BY id DESC LIMIT 1 OFFSET ?2)",
        [ST_HEALTH_EXPIRE] = "DELETE FROM health WHERE id IN (SELECT id FROM health ORDER BY id"
                             " LIMIT ?2) AND recv_ms < ?1",
        [ST_FLUSH_STAMP] = "UPDATE health SET stored_ms=?1 WHERE id >= ?2",
        [ST_DEV_GET] = NULL, /* built from PFS_SQLITE_DEV_COLS below */
        [ST_DEV_STATUS] = "SELECT status FROM devices WHERE serial = ?1",
        [ST_BEGIN] = "BEGIN IMMEDIATE",
        [ST_COMMIT] = "COMMIT",
        [ST_ROLLBACK] = "ROLLBACK",
};

int pfs_sqlite_fail(sqlite3 *db, struct pf_error *err, const char *what)
{
    return pf_error_set(err, PF_EIO, "store: %s: %s", what, sqlite3_errmsg(db));
}

int pfs_sqlite_exec(sqlite3 *db, const char *sql, struct pf_error *err)
{
    char *msg = NULL;

    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        pf_error_set(err, PF_EIO, "store: %s", msg ? msg : "exec failed");
        sqlite3_free(msg);
        return PF_EIO;
    }
    return 0;
}

static int store__fail(struct pfs_sqlite *st, struct pf_error *err, const char *what)
{
    return pfs_sqlite_fail(st->db, err, what);
}

static int store__exec(struct pfs_sqlite *st, const char *sql, struct pf_error *err)
{
    return pfs_sqlite_exec(st->db, sql, err);
}

/* Runs a prepared statement to completion and resets it. */
/* A pending fee table as parameters i (version) and i + 1 (effective time): NULL, NULL
 * when none waits, so "IS" compares an absent one equal to an absent one. */
static void store__bind_fee_pending(sqlite3_stmt *s, int i, const struct pf_fee_pending *p)
{
    if (!p->version[0]) {
        sqlite3_bind_null(s, i);
        sqlite3_bind_null(s, i + 1);
        return;
    }
    sqlite3_bind_text(s, i, p->version, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, i + 1, p->effective_at);
}

static int store__step_done(sqlite3_stmt *s)
{
    int rc = sqlite3_step(s);

    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return rc == SQLITE_DONE ? 0 : PF_EIO;
}

int pfs_sqlite_step_done(sqlite3_stmt *s)
{
    return store__step_done(s);
}

void pfs_sqlite_bind_text(sqlite3_stmt *s, int i, const char *v)
{
    if (v && *v)
        sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(s, i);
}

void pfs_sqlite_col_text(sqlite3_stmt *s, int col, char *out, size_t size)
{
    const unsigned char *t = sqlite3_column_text(s, col);

    snprintf(out, size, "%s", t ? (const char *)t : "");
}

static void store__selftest_encode(const enum pf_check *c, char out[PF_COMP_COUNT + 1])
{
    for (int i = 0; i < PF_COMP_COUNT; i++)
        out[i] = (char)('0' + (int)c[i]);
    out[PF_COMP_COUNT] = '\0';
}

void pfs_sqlite_selftest_decode(sqlite3_stmt *s, int col, enum pf_check *c)
{
    const unsigned char *t = sqlite3_column_text(s, col);

    for (int i = 0; i < PF_COMP_COUNT; i++) {
        int v = (t && sqlite3_column_bytes(s, col) > i) ? t[i] - '0' : PF_CHECK_SKIP;
        c[i] = (v >= PF_CHECK_PASS && v <= PF_CHECK_SKIP) ? (enum pf_check)v : PF_CHECK_SKIP;
    }
}

/* --- open, migrate, close --- */

/* True if migration version v is recorded in schema_migrations. */
static int store__migration_applied(struct pfs_sqlite *st, int v, bool *applied)
{
    sqlite3_stmt *s;
    int rc;

    if (sqlite3_prepare_v2(st->db, "SELECT 1 FROM schema_migrations WHERE version = ?1", -1, &s,
                           NULL) != SQLITE_OK)
        return PF_EIO;
    sqlite3_bind_int(s, 1, v);
    rc = sqlite3_step(s);
    *applied = rc == SQLITE_ROW;
    sqlite3_finalize(s);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : PF_EIO;
}

/* Applies, in order, each embedded migration not yet recorded, each in its own
 * transaction. Refuses a store that has a migration newer than this binary. */
static int store__migrate(struct pfs_sqlite *st, struct pf_error *err)
{
    sqlite3_stmt *s = NULL;
    int have = 0, highest = 0, rc;

    rc = store__exec(st,
                     "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY,"
                     " name TEXT NOT NULL, applied_ms INTEGER NOT NULL)",
                     err);
    if (rc)
        return rc;
    if (sqlite3_prepare_v2(st->db, "SELECT coalesce(max(version), 0) FROM schema_migrations", -1,
                           &s, NULL) != SQLITE_OK)
        return store__fail(st, err, "schema version");
    if (sqlite3_step(s) == SQLITE_ROW)
        have = sqlite3_column_int(s, 0);
    sqlite3_finalize(s);
    for (const struct pfs_migration *m = pfs_migrations; m->sql; m++)
        highest = m->version;
    /* A newer posfleetd wrote this store: never run an older one on it (its
     * queries would miss what the newer schema holds, and nothing migrates down). */
    if (have > highest)
        return pf_error_set(err, PF_EVERSION,
                            "store: the database has schema version %d, newer than this "
                            "posfleetd knows (%d): run the posfleetd release that wrote it, or "
                            "restore a backup taken before the upgrade",
                            have, highest);
    for (const struct pfs_migration *m = pfs_migrations; m->sql; m++) {
        char rec[256];
        bool applied = false;

        if (store__migration_applied(st, m->version, &applied))
            return store__fail(st, err, "schema version");
        if (applied)
            continue;
        rc = store__exec(st, "BEGIN IMMEDIATE", err);
        if (rc)
            return rc;
        rc = store__exec(st, m->sql, err);
        if (!rc) {
            snprintf(rec, sizeof(rec),
                     "INSERT INTO schema_migrations VALUES (%d, '%s',"
                     " CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER))",
                     m->version, m->name);
            rc = store__exec(st, rec, err);
        }
        if (rc) {
            (void)store__exec(st, "ROLLBACK", NULL);
            return pf_error_prefix(err, "migration %s", m->name);
        }
        rc = store__exec(st, "COMMIT", err);
        if (rc)
            return rc;
    }
    return 0;
}

int pfs_sqlite_open(const struct pfs_store_opts *opts, struct pfs_sqlite **out,
                    struct pf_error *err)
{
    struct pfs_sqlite *st;
    int rc;

    *out = NULL;
    if (!opts || !opts->path || !*opts->path)
        return pf_error_set(err, PF_EINVAL, "store: no path");
    st = calloc(1, sizeof(*st));
    if (!st)
        return pf_error_set(err, PF_ENOMEM, "store: out of memory");
    st->tx.base.st = &st->base;
    if (sqlite3_open_v2(opts->path, &st->db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX |
                                (opts->sibling ? 0 : SQLITE_OPEN_CREATE),
                        NULL) != SQLITE_OK) {
        rc = pf_error_set(err, PF_EIO, "store: %s: %s", opts->path,
                          st->db ? sqlite3_errmsg(st->db) : "cannot open");
        goto out_close;
    }
    sqlite3_busy_timeout(st->db, 5000);
    /* A sibling finds the store in WAL mode already (it persists in the file). */
    rc = store__exec(st,
                     opts->sibling ? "PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"
                                     " PRAGMA temp_store=MEMORY; PRAGMA cache_size=-32768"
                                   : "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
                                     " PRAGMA foreign_keys=ON; PRAGMA temp_store=MEMORY;"
                                     " PRAGMA cache_size=-32768",
                     err);
    if (rc)
        goto out_close;
    rc = opts->sibling ? 0 : store__migrate(st, err);
    if (rc)
        goto out_close;
    for (int i = 0; i < ST_COUNT; i++) {
        const char *sql = store__sql[i];

        if (i == ST_DEV_GET)
            sql = "SELECT " PFS_SQLITE_DEV_COLS PFS_SQLITE_DEV_FROM " WHERE d.serial = ?1";
        if (sqlite3_prepare_v3(st->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st->stmt[i], NULL) !=
            SQLITE_OK) {
            rc = store__fail(st, err, "prepare");
            goto out_close;
        }
    }
    *out = st;
    return 0;

out_close:
    pfs_sqlite_close(st);
    return rc;
}

void pfs_sqlite_close(struct pfs_sqlite *st)
{
    if (!st)
        return;
    pfs_sqlite_tx_rollback(&st->tx);
    if (st->batch_ops)
        if (pfs_sqlite_flush(st, 0, NULL) != 0)
            st->batch_ops = 0; /* rolled back; nothing more to do at close */
    if (st->held && pfs_sqlite_release(st, 0, NULL, NULL) != 0)
        st->batch_ops = 0;
    for (int i = 0; i < ST_COUNT; i++)
        sqlite3_finalize(st->stmt[i]);
    pfs_sqlite_cache_clear(st->db);
    sqlite3_close(st->db);
    free(st->held_ops);
    free(st);
}

int pfs_sqlite_schema_version(struct pfs_sqlite *st, int *version)
{
    sqlite3_stmt *s;
    int rc = PF_EIO;

    if (sqlite3_prepare_v2(st->db, "SELECT max(version) FROM schema_migrations", -1, &s, NULL) !=
        SQLITE_OK)
        return PF_EIO;
    if (sqlite3_step(s) == SQLITE_ROW) {
        *version = sqlite3_column_int(s, 0);
        rc = 0;
    }
    sqlite3_finalize(s);
    return rc;
}

/* --- batch --- */

/* Runs one of the prepared transaction statements (no parsing per batch). */
static int store__txn(struct pfs_sqlite *st, int which)
{
    sqlite3_stmt *s = st->stmt[which];
    int rc = sqlite3_step(s);

    sqlite3_reset(s);
    return rc == SQLITE_DONE ? 0 : PF_EIO;
}

static int store__batch_write(struct pfs_sqlite *st)
{
    if (st->batch_ops == 0) {
        if (store__txn(st, ST_BEGIN))
            return PF_EIO;
        st->batch_rows = 0;
        st->batch_first_id = 0;
    }
    st->batch_ops++;
    return 0;
}

int pfs_sqlite_batch_pending(struct pfs_sqlite *st)
{
    return st->batch_ops;
}

int pfs_sqlite_flush(struct pfs_sqlite *st, int64_t stored_ms, int *rows)
{
    int rc = 0;

    if (rows)
        *rows = 0;
    if (st->batch_ops == 0)
        return 0;
    if (st->batch_first_id > 0) {
        sqlite3_stmt *s = st->stmt[ST_FLUSH_STAMP];

        if (stored_ms > 0)
            sqlite3_bind_int64(s, 1, stored_ms);
        else
            sqlite3_bind_null(s, 1);
        sqlite3_bind_int64(s, 2, st->batch_first_id);
        rc = store__step_done(s);
    }
    if (store__txn(st, ST_COMMIT)) {
        (void)store__txn(st, ST_ROLLBACK);
        rc = PF_EIO;
    }
    if (rows && rc == 0)
        *rows = st->batch_rows;
    st->batch_ops = 0;
    st->batch_rows = 0;
    st->batch_first_id = 0;
    return rc;
}

/* --- ingest --- */

int pfs_sqlite_health_put(struct pfs_sqlite *st, const char *serial, const struct pf_health *h,
                          int64_t recv_ms, bool *newer)
{
    return pfs_sqlite_health_record(st, serial, h, recv_ms, PFS_HEALTH_RANK_STORE, newer);
}

int pfs_sqlite_health_record(struct pfs_sqlite *st, const char *serial, const struct pf_health *h,
                             int64_t recv_ms, enum pfs_health_rank rank, bool *newer)
{
    char selftest[PF_COMP_COUNT + 1];
    sqlite3_stmt *s = st->stmt[ST_HEALTH_INS];
    int64_t id;
    int rc;

    if (newer)
        *newer = false;
    if (st->held)
        return pfs_sqlite_hold_health(st, serial, h, recv_ms, rank, newer);
    rc = store__batch_write(st);
    if (rc)
        return rc;
    store__selftest_encode(h->selftest, selftest);
    sqlite3_bind_text(s, 1, serial, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, (sqlite3_int64)h->seq);
    sqlite3_bind_int64(s, 3, h->ts_ms);
    sqlite3_bind_int64(s, 4, recv_ms);
    sqlite3_bind_int(s, 5, h->queued);
    sqlite3_bind_int(s, 6, h->battery_pct);
    sqlite3_bind_int(s, 7, h->charging);
    sqlite3_bind_int(s, 8, (int)h->net_type);
    sqlite3_bind_int(s, 9, h->signal_dbm);
    sqlite3_bind_int(s, 10, h->temp_c);
    sqlite3_bind_int64(s, 11, (sqlite3_int64)h->storage_free_kb);
    sqlite3_bind_int64(s, 12, (sqlite3_int64)h->mem_free_kb);
    sqlite3_bind_int64(s, 13, (sqlite3_int64)h->uptime_s);
    sqlite3_bind_text(s, 14, h->fw_version, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 15, (int)h->fw_slot);
    sqlite3_bind_text(s, 16, h->fee_version, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 17, (int)h->paper);
    sqlite3_bind_int(s, 18, h->tamper);
    sqlite3_bind_text(s, 19, selftest, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 20, h->err_reconnects);
    sqlite3_bind_int64(s, 21, h->err_queue_dropped);
    sqlite3_bind_int64(s, 22, h->err_reader);
    sqlite3_bind_int64(s, 23, h->err_printer);
    sqlite3_bind_int64(s, 24, h->txn_count);
    sqlite3_bind_int64(s, 25, (sqlite3_int64)h->txn_amount_minor);
    sqlite3_bind_text(s, 26, h->currency, -1, SQLITE_STATIC);
    rc = store__step_done(s);
    if (rc)
        return rc;
    id = sqlite3_last_insert_rowid(st->db);
    if (st->batch_first_id == 0)
        st->batch_first_id = id;
    st->batch_rows++;

    /* The latest state moves only for a newer report (decided by the caller, else in SQL):
     * first with the versions held, then, for a first report, new versions or an older
     * report, the upsert that also writes the versions. */
    if (rank == PFS_HEALTH_OLDER)
        goto out_touch;
    s = st->stmt[ST_STATE_HEALTH_SAME_FW];
    sqlite3_bind_text(s, 1, serial, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, recv_ms);
    sqlite3_bind_text(s, 3, h->fw_version, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 4, (int)h->fw_slot);
    sqlite3_bind_text(s, 5, h->fee_version, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 6, id);
    sqlite3_bind_int64(s, 7, (sqlite3_int64)h->seq);
    sqlite3_bind_int64(s, 8, h->ts_ms);
    sqlite3_bind_int(s, 9, rank == PFS_HEALTH_NEWER);
    store__bind_fee_pending(s, 10, &h->fee_pending);
    rc = store__step_done(s);
    if (rc)
        return rc;
    if (sqlite3_changes(st->db) > 0) {
        if (newer)
            *newer = true;
        return 0;
    }
    s = st->stmt[ST_STATE_HEALTH];
    sqlite3_bind_text(s, 1, serial, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, recv_ms);
    sqlite3_bind_text(s, 3, h->fw_version, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 4, (int)h->fw_slot);
    sqlite3_bind_text(s, 5, h->fee_version, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 6, id);
    sqlite3_bind_int64(s, 7, (sqlite3_int64)h->seq);
    sqlite3_bind_int64(s, 8, h->ts_ms);
    sqlite3_bind_int(s, 9, rank == PFS_HEALTH_NEWER);
    store__bind_fee_pending(s, 10, &h->fee_pending);
    rc = store__step_done(s);
    if (rc)
        return rc;
    if (sqlite3_changes(st->db) > 0) {
        if (newer)
            *newer = true;
        return 0;
    }
out_touch:
    /* A late report: history only, but the terminal was heard from now. */
    s = st->stmt[ST_STATE_TOUCH];
    sqlite3_bind_text(s, 1, serial, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, recv_ms);
    return store__step_done(s);
}

int pfs_sqlite_birth_put(struct pfs_sqlite *st, const char *serial, const struct pf_birth *b,
                         int64_t recv_ms)
{
    char selftest[PF_COMP_COUNT + 1];
    sqlite3_stmt *s = st->stmt[ST_BIRTH];
    int rc = st->held ? 0 : store__batch_write(st);

    if (st->held)
        return pfs_sqlite_hold_birth(st, serial, b, recv_ms);
    if (rc)
        return rc;
    store__selftest_encode(b->selftest, selftest);
    sqlite3_bind_text(s, 1, serial, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, b->ts_ms);
    sqlite3_bind_text(s, 3, b->model, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 4, b->hw_rev, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 5, b->fw_version, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 6, (int)b->fw_slot);
    sqlite3_bind_text(s, 7, b->fee_version, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 8, (int)b->boot);
    sqlite3_bind_text(s, 9, b->agent_version, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 10, selftest, -1, SQLITE_STATIC);
    rc = store__step_done(s);
    if (rc)
        return rc;
    if (sqlite3_changes(st->db) > 0) {
        /* The newest birth: its versions are the running ones. */
        s = st->stmt[ST_STATE_BIRTH];
        sqlite3_bind_text(s, 1, serial, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 2, recv_ms);
        sqlite3_bind_text(s, 3, b->fw_version, -1, SQLITE_STATIC);
        sqlite3_bind_int(s, 4, (int)b->fw_slot);
        sqlite3_bind_text(s, 5, b->fee_version, -1, SQLITE_STATIC);
        store__bind_fee_pending(s, 6, &b->fee_pending);
        return store__step_done(s);
    }
    s = st->stmt[ST_STATE_TOUCH];
    sqlite3_bind_text(s, 1, serial, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, recv_ms);
    return store__step_done(s);
}

int pfs_sqlite_state_put(struct pfs_sqlite *st, const char *serial, const struct pf_state *m,
                         int64_t recv_ms)
{
    sqlite3_stmt *s = st->stmt[ST_STATE_CONN];
    int rc = st->held ? 0 : store__batch_write(st);

    if (st->held)
        return pfs_sqlite_hold_state(st, serial, m, recv_ms);
    if (rc)
        return rc;
    sqlite3_bind_text(s, 1, serial, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 2, m->state == PF_STATE_ONLINE);
    sqlite3_bind_int64(s, 3, recv_ms);
    if (m->ts_ms)
        sqlite3_bind_int64(s, 4, m->ts_ms);
    else
        sqlite3_bind_null(s, 4);
    return store__step_done(s);
}

int pfs_sqlite_alert_open(struct pfs_sqlite *st, const char *serial, const char *kind,
                          int64_t now_ms, const char *detail)
{
    sqlite3_stmt *s = st->stmt[ST_ALERT_OPEN];
    int rc = st->held ? 0 : store__batch_write(st);

    if (st->held)
        return pfs_sqlite_hold_alert(st, true, serial, kind, now_ms, detail);
    if (rc)
        return rc;
    sqlite3_bind_text(s, 1, serial, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, kind, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, now_ms);
    sqlite3_bind_text(s, 4, detail ? detail : "", -1, SQLITE_STATIC);
    rc = store__step_done(s);
    if (rc)
        return rc;
    return sqlite3_changes(st->db) > 0 ? 0 : PF_EEXIST;
}

int pfs_sqlite_alert_close(struct pfs_sqlite *st, const char *serial, const char *kind,
                           int64_t now_ms)
{
    sqlite3_stmt *s = st->stmt[ST_ALERT_CLOSE];
    int rc = st->held ? 0 : store__batch_write(st);

    if (st->held)
        return pfs_sqlite_hold_alert(st, false, serial, kind, now_ms, NULL);
    if (rc)
        return rc;
    sqlite3_bind_text(s, 1, serial, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, kind, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, now_ms);
    rc = store__step_done(s);
    if (rc)
        return rc;
    return sqlite3_changes(st->db) > 0 ? 0 : PF_ENOENT;
}

int pfs_sqlite_health_prune(struct pfs_sqlite *st, const char *serial, int keep)
{
    sqlite3_stmt *s = st->stmt[ST_HEALTH_PRUNE];
    int rc = st->held ? 0 : store__batch_write(st);

    if (st->held)
        return pfs_sqlite_hold_prune(st, serial, keep);
    if (rc)
        return rc;
    sqlite3_bind_text(s, 1, serial, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 2, keep);
    return store__step_done(s);
}

int pfs_sqlite_health_expire(struct pfs_sqlite *st, int64_t before_ms, int max, int *deleted)
{
    sqlite3_stmt *s = st->stmt[ST_HEALTH_EXPIRE];
    int rc = st->held ? 0 : store__batch_write(st);

    *deleted = 0;
    if (rc || st->held)
        return rc;
    sqlite3_bind_int64(s, 1, before_ms);
    sqlite3_bind_int(s, 2, max);
    rc = store__step_done(s);
    if (!rc)
        *deleted = sqlite3_changes(st->db);
    return rc;
}

sqlite3 *pfs_store_sqlite_db(struct pfs_sqlite *st)
{
    return st->db;
}
