/*
 * store_sqlite.c - the embedded SQLite backend of store.h.
 *
 * One connection, WAL journal. The ingest path writes into a long-lived
 * transaction (the batch) with synchronous=NORMAL; administrative changes
 * commit the batch first and run under synchronous=FULL with their audit row.
 * Hot statements are prepared once at open and reset after each use.
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
#define STORE__UNSTAMPED     INT64_C(-140737488355328) /* -2^47: a 6-byte integer, like the time */
#define STORE__UNSTAMPED_SQL "-140737488355328"

static const char *const store__sql[ST_COUNT] = {
        [ST_HEALTH_INS] =
                "INSERT INTO health (serial, seq, ts_ms, recv_ms, queued, battery_pct, charging,"
                " net_type, signal_dbm, temp_c, storage_free_kb, mem_free_kb, uptime_s, fw_version,"
                " fw_slot, fee_version, paper, tamper, selftest, err_reconnects, err_queue_dropped,"
                " err_reader, err_printer, txn_count, txn_amount_minor, currency, stored_ms) VALUES"
                " (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18,?19,?20,?21,?22,"
                "?23,?24,?25,?26," STORE__UNSTAMPED_SQL ")",
        /* The common case: a newer report with the versions held. Leaving the versions out
         * of the SET keeps device_state_fw, one more page per report, untouched. */
        [ST_STATE_HEALTH_SAME_FW] =
                "UPDATE device_state SET online=1, last_seen_ms=max(last_seen_ms, ?2),"
                " health_id=?6, health_seq=?7, health_ts_ms=?8"
                " WHERE serial=?1 AND fw_version IS ?3 AND fw_slot IS ?4 AND fee_version IS ?5"
                " AND (health_seq IS NULL OR ?7 > health_seq OR ?8 > health_ts_ms)",
        [ST_STATE_HEALTH] =
                "INSERT INTO device_state (serial, online, last_seen_ms, fw_version, fw_slot,"
                " fee_version, health_id, health_seq, health_ts_ms) VALUES "
                "(?1,1,?2,?3,?4,?5,?6,?7,?8)"
                " ON CONFLICT (serial) DO UPDATE SET online=1,"
                " last_seen_ms=max(last_seen_ms, excluded.last_seen_ms),"
                " fw_version=excluded.fw_version, fw_slot=excluded.fw_slot,"
                " fee_version=excluded.fee_version, health_id=excluded.health_id,"
                " health_seq=excluded.health_seq, health_ts_ms=excluded.health_ts_ms"
                " WHERE device_state.health_seq IS NULL OR excluded.health_seq > "
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
                " fee_version) VALUES (?1,1,?2,?3,?4,?5)"
                " ON CONFLICT (serial) DO UPDATE SET online=1,"
                " last_seen_ms=max(last_seen_ms, excluded.last_seen_ms),"
                " fw_version=excluded.fw_version, fw_slot=excluded.fw_slot,"
                " fee_version=excluded.fee_version",
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
        [ST_DEV_GET] = NULL, /* built from STORE__DEV_COLS below */
        [ST_DEV_STATUS] = "SELECT status FROM devices WHERE serial = ?1",
        [ST_BEGIN] = "BEGIN IMMEDIATE",
        [ST_COMMIT] = "COMMIT",
        [ST_ROLLBACK] = "ROLLBACK",
};

/* Columns read by store__dev_read(), in that order. */
#define STORE__DEV_COLS                                                                            \
    "d.serial, d.model, d.hw_rev, d.merchant_id, d.status, d.created_ms, d.revoked_ms,"            \
    " s.serial IS NOT NULL, s.online, s.last_seen_ms, s.fw_version, s.fw_slot,"                    \
    " s.fee_version, b.ts_ms, b.model, b.hw_rev, b.boot, b.agent_version, b.selftest,"             \
    " h.seq, h.ts_ms, h.battery_pct, h.charging, h.net_type, h.signal_dbm, h.temp_c,"              \
    " h.storage_free_kb, h.mem_free_kb, h.uptime_s, h.paper, h.tamper, h.selftest,"                \
    " h.err_reconnects, h.err_queue_dropped, h.err_reader, h.err_printer, h.txn_count,"            \
    " h.txn_amount_minor, h.currency,"                                                             \
    " (SELECT group_concat(kind) FROM (SELECT kind FROM alerts a WHERE a.serial = d.serial"        \
    " AND a.closed_ms IS NULL ORDER BY kind)),"                                                    \
    " b.fw_version, b.fw_slot, b.fee_version, h.fw_version, h.fw_slot, h.fee_version"
/* The birth and the newest report of each row. */
#define STORE__DEV_JOINS                                                                           \
    " LEFT JOIN device_birth b ON b.serial = d.serial LEFT JOIN health h ON h.id = s.health_id"
#define STORE__DEV_FROM                                                                            \
    " FROM devices d LEFT JOIN device_state s ON s.serial = d.serial" STORE__DEV_JOINS

struct pfs_store {
    sqlite3 *db;
    sqlite3_stmt *stmt[ST_COUNT];
    int batch_ops;          /* writes in the open batch; 0 = no batch open */
    int batch_rows;         /* health rows in the open batch */
    int64_t batch_first_id; /* first health id of the batch, 0 if none */
};

static int store__fail(struct pfs_store *st, struct pf_error *err, const char *what)
{
    return pf_error_set(err, PF_EIO, "store: %s: %s", what, sqlite3_errmsg(st->db));
}

static int store__exec(struct pfs_store *st, const char *sql, struct pf_error *err)
{
    char *msg = NULL;

    if (sqlite3_exec(st->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        pf_error_set(err, PF_EIO, "store: %s", msg ? msg : "exec failed");
        sqlite3_free(msg);
        return PF_EIO;
    }
    return 0;
}

/* Runs a prepared statement to completion and resets it. */
static int store__step_done(sqlite3_stmt *s)
{
    int rc = sqlite3_step(s);

    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return rc == SQLITE_DONE ? 0 : PF_EIO;
}

static void store__bind_text(sqlite3_stmt *s, int i, const char *v)
{
    if (v && *v)
        sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(s, i);
}

static void store__col_text(sqlite3_stmt *s, int col, char *out, size_t size)
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

static void store__selftest_decode(sqlite3_stmt *s, int col, enum pf_check *c)
{
    const unsigned char *t = sqlite3_column_text(s, col);

    for (int i = 0; i < PF_COMP_COUNT; i++) {
        int v = (t && sqlite3_column_bytes(s, col) > i) ? t[i] - '0' : PF_CHECK_SKIP;
        c[i] = (v >= PF_CHECK_PASS && v <= PF_CHECK_SKIP) ? (enum pf_check)v : PF_CHECK_SKIP;
    }
}

/* --- open, migrate, close --- */

/* True if migration version v is recorded in schema_migrations. */
static int store__migration_applied(struct pfs_store *st, int v, bool *applied)
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
static int store__migrate(struct pfs_store *st, struct pf_error *err)
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
    if (have > highest)
        return pf_error_set(err, PF_EVERSION,
                            "store: schema version %d is newer than this posfleetd (%d)", have,
                            highest);
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

int pfs_store_open(const struct pfs_store_opts *opts, struct pfs_store **out, struct pf_error *err)
{
    struct pfs_store *st;
    int rc;

    *out = NULL;
    if (!opts || !opts->path || !*opts->path)
        return pf_error_set(err, PF_EINVAL, "store: no path");
    st = calloc(1, sizeof(*st));
    if (!st)
        return pf_error_set(err, PF_ENOMEM, "store: out of memory");
    if (sqlite3_open_v2(opts->path, &st->db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        NULL) != SQLITE_OK) {
        rc = pf_error_set(err, PF_EIO, "store: %s: %s", opts->path,
                          st->db ? sqlite3_errmsg(st->db) : "cannot open");
        goto out_close;
    }
    sqlite3_busy_timeout(st->db, 5000);
    rc = store__exec(st,
                     "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
                     " PRAGMA foreign_keys=ON; PRAGMA temp_store=MEMORY; PRAGMA cache_size=-32768",
                     err);
    if (rc)
        goto out_close;
    rc = store__migrate(st, err);
    if (rc)
        goto out_close;
    for (int i = 0; i < ST_COUNT; i++) {
        const char *sql = store__sql[i];

        if (i == ST_DEV_GET)
            sql = "SELECT " STORE__DEV_COLS STORE__DEV_FROM " WHERE d.serial = ?1";
        if (sqlite3_prepare_v3(st->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st->stmt[i], NULL) !=
            SQLITE_OK) {
            rc = store__fail(st, err, "prepare");
            goto out_close;
        }
    }
    *out = st;
    return 0;

out_close:
    pfs_store_close(st);
    return rc;
}

void pfs_store_close(struct pfs_store *st)
{
    if (!st)
        return;
    if (st->batch_ops)
        if (pfs_store_flush(st, 0, NULL) != 0)
            st->batch_ops = 0; /* rolled back; nothing more to do at close */
    for (int i = 0; i < ST_COUNT; i++)
        sqlite3_finalize(st->stmt[i]);
    sqlite3_close(st->db);
    free(st);
}

int pfs_store_schema_version(struct pfs_store *st, int *version)
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
static int store__txn(struct pfs_store *st, int which)
{
    sqlite3_stmt *s = st->stmt[which];
    int rc = sqlite3_step(s);

    sqlite3_reset(s);
    return rc == SQLITE_DONE ? 0 : PF_EIO;
}

static int store__batch_write(struct pfs_store *st)
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

int pfs_store_batch_pending(struct pfs_store *st)
{
    return st->batch_ops;
}

int pfs_store_flush(struct pfs_store *st, int64_t stored_ms, int *rows)
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

/* Administrative transaction: commit the batch, then FULL durability. */
static int store__admin_begin(struct pfs_store *st, struct pf_error *err)
{
    if (pfs_store_flush(st, 0, NULL))
        return store__fail(st, err, "commit batch");
    if (store__exec(st, "PRAGMA synchronous=FULL", err))
        return PF_EIO;
    if (store__exec(st, "BEGIN IMMEDIATE", err)) {
        (void)store__exec(st, "PRAGMA synchronous=NORMAL", NULL);
        return PF_EIO;
    }
    return 0;
}

static int store__admin_end(struct pfs_store *st, int rc, struct pf_error *err)
{
    if (rc == 0 && store__exec(st, "COMMIT", err))
        rc = PF_EIO;
    if (rc)
        (void)store__exec(st, "ROLLBACK", NULL);
    (void)store__exec(st, "PRAGMA synchronous=NORMAL", NULL);
    return rc;
}

/* --- registry --- */

static char *store__device_json(const struct pfs_device *d)
{
    json_t *o = json_pack("{s:s, s:s, s:s?, s:s?, s:s}", "serial", d->serial, "model", d->model,
                          "hw_rev", *d->hw_rev ? d->hw_rev : NULL, "merchant_id",
                          *d->merchant_id ? d->merchant_id : NULL, "status",
                          pfs_dev_status_names[d->status]);
    char *s = o ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;

    json_decref(o);
    return s;
}

static int store__audit(struct pfs_store *st, const struct pfs_actor *actor, int64_t now_ms,
                        const char *action, const char *target, const char *before,
                        const char *after, struct pf_error *err)
{
    sqlite3_stmt *s;
    int rc;

    if (sqlite3_prepare_v2(st->db,
                           "INSERT INTO audit (ts_ms, actor, role, action, target, before, after)"
                           " VALUES (?1,?2,?3,?4,?5,?6,?7)",
                           -1, &s, NULL) != SQLITE_OK)
        return store__fail(st, err, "audit");
    sqlite3_bind_int64(s, 1, now_ms);
    sqlite3_bind_text(s, 2, actor && actor->name ? actor->name : "-", -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, actor && actor->role ? actor->role : "-", -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 4, action, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 5, target, -1, SQLITE_STATIC);
    store__bind_text(s, 6, before);
    store__bind_text(s, 7, after);
    rc = sqlite3_step(s) == SQLITE_DONE ? 0 : store__fail(st, err, "audit");
    sqlite3_finalize(s);
    return rc;
}

static int store__dev_exists(struct pfs_store *st, const char *serial, struct pfs_device *d)
{
    int rc = pfs_store_device_get(st, serial, d, NULL);

    return rc;
}

int pfs_store_device_add(struct pfs_store *st, const struct pfs_device *d,
                         const struct pfs_actor *actor, int64_t now_ms, struct pf_error *err)
{
    struct pfs_device cur, rec = *d;
    sqlite3_stmt *s = NULL;
    char *after = NULL;
    int rc;

    rc = store__admin_begin(st, err);
    if (rc)
        return rc;
    rc = store__dev_exists(st, d->serial, &cur);
    if (rc == 0) {
        rc = pf_error_set(err, PF_EEXIST, "serial %s: already registered%s", d->serial,
                          cur.status == PFS_DEV_REVOKED ? " (revoked)" : "");
        goto out_end;
    }
    if (rc != PF_EUNKNOWN_SERIAL)
        goto out_end;
    rec.status = PFS_DEV_REGISTERED;
    rec.created_ms = now_ms;
    rec.revoked_ms = 0;
    if (sqlite3_prepare_v2(st->db,
                           "INSERT INTO devices (serial, model, hw_rev, merchant_id, status,"
                           " created_ms) VALUES (?1,?2,?3,?4,'registered',?5)",
                           -1, &s, NULL) != SQLITE_OK) {
        rc = store__fail(st, err, "device add");
        goto out_end;
    }
    sqlite3_bind_text(s, 1, rec.serial, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, rec.model, -1, SQLITE_STATIC);
    store__bind_text(s, 3, rec.hw_rev);
    store__bind_text(s, 4, rec.merchant_id);
    sqlite3_bind_int64(s, 5, now_ms);
    rc = sqlite3_step(s) == SQLITE_DONE ? 0 : store__fail(st, err, "device add");
    sqlite3_finalize(s);
    if (rc)
        goto out_end;
    after = store__device_json(&rec);
    if (!after) {
        rc = pf_error_set(err, PF_ENOMEM, "store: out of memory");
        goto out_end;
    }
    rc = store__audit(st, actor, now_ms, "device.add", rec.serial, NULL, after, err);
    if (rc)
        goto out_end;
    {
        sqlite3_stmt *c = st->stmt[ST_ALERT_CLOSE];

        sqlite3_bind_text(c, 1, rec.serial, -1, SQLITE_STATIC);
        sqlite3_bind_text(c, 2, "unknown_serial", -1, SQLITE_STATIC);
        sqlite3_bind_int64(c, 3, now_ms);
        rc = store__step_done(c);
        if (rc)
            store__fail(st, err, "close alert");
    }
out_end:
    free(after);
    return store__admin_end(st, rc, err);
}

int pfs_store_device_import(struct pfs_store *st, pfs_device_next_cb next, void *ctx,
                            const struct pfs_actor *actor, int64_t now_ms, int64_t *count,
                            struct pf_error *err)
{
    sqlite3_stmt *ins = NULL, *aud = NULL, *close = st->stmt[ST_ALERT_CLOSE];
    struct pfs_device d;
    int rc;

    *count = 0;
    rc = store__admin_begin(st, err);
    if (rc)
        return rc;
    if (sqlite3_prepare_v2(st->db,
                           "INSERT INTO devices (serial, model, hw_rev, merchant_id, status,"
                           " created_ms) VALUES (?1,?2,?3,?4,'registered',?5)",
                           -1, &ins, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(st->db,
                           "INSERT INTO audit (ts_ms, actor, role, action, target, before, after)"
                           " VALUES (?1,?2,?3,'device.import',?4,NULL,?5)",
                           -1, &aud, NULL) != SQLITE_OK) {
        rc = store__fail(st, err, "import");
        goto out_end;
    }
    for (;;) {
        char *after;
        int step;

        memset(&d, 0, sizeof(d));
        rc = next(ctx, &d, err);
        if (rc <= 0)
            break;
        d.status = PFS_DEV_REGISTERED;
        sqlite3_bind_text(ins, 1, d.serial, -1, SQLITE_STATIC);
        sqlite3_bind_text(ins, 2, d.model, -1, SQLITE_STATIC);
        store__bind_text(ins, 3, d.hw_rev);
        store__bind_text(ins, 4, d.merchant_id);
        sqlite3_bind_int64(ins, 5, now_ms);
        step = sqlite3_step(ins);
        sqlite3_reset(ins);
        if (step == SQLITE_CONSTRAINT) {
            rc = pf_error_set(err, PF_EEXIST, "serial %s: already registered", d.serial);
            break;
        }
        if (step != SQLITE_DONE) {
            rc = store__fail(st, err, "import");
            break;
        }
        after = store__device_json(&d);
        if (!after) {
            rc = pf_error_set(err, PF_ENOMEM, "store: out of memory");
            break;
        }
        sqlite3_bind_int64(aud, 1, now_ms);
        sqlite3_bind_text(aud, 2, actor && actor->name ? actor->name : "-", -1, SQLITE_STATIC);
        sqlite3_bind_text(aud, 3, actor && actor->role ? actor->role : "-", -1, SQLITE_STATIC);
        sqlite3_bind_text(aud, 4, d.serial, -1, SQLITE_STATIC);
        sqlite3_bind_text(aud, 5, after, -1, SQLITE_STATIC);
        step = sqlite3_step(aud);
        sqlite3_reset(aud);
        free(after);
        if (step != SQLITE_DONE) {
            rc = store__fail(st, err, "import audit");
            break;
        }
        sqlite3_bind_text(close, 1, d.serial, -1, SQLITE_STATIC);
        sqlite3_bind_text(close, 2, "unknown_serial", -1, SQLITE_STATIC);
        sqlite3_bind_int64(close, 3, now_ms);
        if (store__step_done(close)) {
            rc = store__fail(st, err, "close alert");
            break;
        }
        (*count)++;
    }
out_end:
    sqlite3_finalize(ins);
    sqlite3_finalize(aud);
    rc = store__admin_end(st, rc < 0 ? rc : 0, err);
    if (rc)
        *count = 0;
    return rc;
}

int pfs_store_device_revoke(struct pfs_store *st, const char *serial, const struct pfs_actor *actor,
                            int64_t now_ms, struct pf_error *err)
{
    struct pfs_device cur, rec;
    sqlite3_stmt *s = NULL;
    char *before = NULL, *after = NULL;
    int rc;

    rc = store__admin_begin(st, err);
    if (rc)
        return rc;
    rc = store__dev_exists(st, serial, &cur);
    if (rc == PF_EUNKNOWN_SERIAL) {
        pf_error_set(err, rc, "serial %s: not registered", serial);
        goto out_end;
    }
    if (rc)
        goto out_end;
    if (cur.status == PFS_DEV_REVOKED) {
        rc = pf_error_set(err, PF_ESTATE, "serial %s: already revoked", serial);
        goto out_end;
    }
    if (sqlite3_prepare_v2(st->db,
                           "UPDATE devices SET status='revoked', revoked_ms=?2 WHERE serial=?1", -1,
                           &s, NULL) != SQLITE_OK) {
        rc = store__fail(st, err, "revoke");
        goto out_end;
    }
    sqlite3_bind_text(s, 1, serial, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, now_ms);
    rc = sqlite3_step(s) == SQLITE_DONE ? 0 : store__fail(st, err, "revoke");
    sqlite3_finalize(s);
    if (rc)
        goto out_end;
    rec = cur;
    rec.status = PFS_DEV_REVOKED;
    before = store__device_json(&cur);
    after = store__device_json(&rec);
    if (!before || !after) {
        rc = pf_error_set(err, PF_ENOMEM, "store: out of memory");
        goto out_end;
    }
    rc = store__audit(st, actor, now_ms, "device.revoke", serial, before, after, err);
out_end:
    free(before);
    free(after);
    return store__admin_end(st, rc, err);
}

/* --- reads --- */

static void store__dev_read(sqlite3_stmt *s, struct pfs_device *d, struct pfs_dev_state *ds)
{
    if (d) {
        memset(d, 0, sizeof(*d));
        store__col_text(s, 0, d->serial, sizeof(d->serial));
        store__col_text(s, 1, d->model, sizeof(d->model));
        store__col_text(s, 2, d->hw_rev, sizeof(d->hw_rev));
        store__col_text(s, 3, d->merchant_id, sizeof(d->merchant_id));
        d->status = strcmp((const char *)sqlite3_column_text(s, 4), "revoked") == 0
                            ? PFS_DEV_REVOKED
                            : PFS_DEV_REGISTERED;
        d->created_ms = sqlite3_column_int64(s, 5);
        d->revoked_ms = sqlite3_column_int64(s, 6);
    }
    if (!ds)
        return;
    memset(ds, 0, sizeof(*ds));
    ds->seen = sqlite3_column_int(s, 7) != 0;
    if (!ds->seen)
        return;
    ds->online = sqlite3_column_int(s, 8) != 0;
    ds->last_seen_ms = sqlite3_column_int64(s, 9);
    store__col_text(s, 10, ds->fw_version, sizeof(ds->fw_version));
    ds->fw_slot = sqlite3_column_int(s, 11) == PF_SLOT_B ? PF_SLOT_B : PF_SLOT_A;
    store__col_text(s, 12, ds->fee_version, sizeof(ds->fee_version));
    ds->have_birth = sqlite3_column_type(s, 13) != SQLITE_NULL;
    if (ds->have_birth) {
        struct pf_birth *b = &ds->birth;

        b->ts_ms = sqlite3_column_int64(s, 13);
        store__col_text(s, 14, b->model, sizeof(b->model));
        store__col_text(s, 15, b->hw_rev, sizeof(b->hw_rev));
        b->boot = (enum pf_boot_outcome)sqlite3_column_int(s, 16);
        store__col_text(s, 17, b->agent_version, sizeof(b->agent_version));
        store__selftest_decode(s, 18, b->selftest);
        store__col_text(s, 40, b->fw_version, sizeof(b->fw_version));
        b->fw_slot = sqlite3_column_int(s, 41) == PF_SLOT_B ? PF_SLOT_B : PF_SLOT_A;
        store__col_text(s, 42, b->fee_version, sizeof(b->fee_version));
    }
    ds->have_health = sqlite3_column_type(s, 19) != SQLITE_NULL;
    if (ds->have_health) {
        struct pf_health *h = &ds->health;

        h->seq = (uint32_t)sqlite3_column_int64(s, 19);
        h->ts_ms = sqlite3_column_int64(s, 20);
        h->battery_pct = sqlite3_column_int(s, 21);
        h->charging = sqlite3_column_int(s, 22) != 0;
        h->net_type = (enum pf_net_type)sqlite3_column_int(s, 23);
        h->signal_dbm = sqlite3_column_int(s, 24);
        h->temp_c = sqlite3_column_int(s, 25);
        h->storage_free_kb = (uint64_t)sqlite3_column_int64(s, 26);
        h->mem_free_kb = (uint64_t)sqlite3_column_int64(s, 27);
        h->uptime_s = (uint64_t)sqlite3_column_int64(s, 28);
        h->paper = (enum pf_paper)sqlite3_column_int(s, 29);
        h->tamper = sqlite3_column_int(s, 30) != 0;
        store__selftest_decode(s, 31, h->selftest);
        h->err_reconnects = (uint32_t)sqlite3_column_int64(s, 32);
        h->err_queue_dropped = (uint32_t)sqlite3_column_int64(s, 33);
        h->err_reader = (uint32_t)sqlite3_column_int64(s, 34);
        h->err_printer = (uint32_t)sqlite3_column_int64(s, 35);
        h->txn_count = (uint32_t)sqlite3_column_int64(s, 36);
        h->txn_amount_minor = (uint64_t)sqlite3_column_int64(s, 37);
        store__col_text(s, 38, h->currency, sizeof(h->currency));
        store__col_text(s, 43, h->fw_version, sizeof(h->fw_version));
        h->fw_slot = sqlite3_column_int(s, 44) == PF_SLOT_B ? PF_SLOT_B : PF_SLOT_A;
        store__col_text(s, 45, h->fee_version, sizeof(h->fee_version));
    }
}

int pfs_store_device_get(struct pfs_store *st, const char *serial, struct pfs_device *d,
                         struct pfs_dev_state *s)
{
    sqlite3_stmt *q = st->stmt[ST_DEV_GET];
    int rc;

    sqlite3_bind_text(q, 1, serial, -1, SQLITE_STATIC);
    rc = sqlite3_step(q);
    if (rc == SQLITE_ROW) {
        store__dev_read(q, d, s);
        rc = 0;
    } else {
        rc = rc == SQLITE_DONE ? PF_EUNKNOWN_SERIAL : PF_EIO;
    }
    sqlite3_reset(q);
    sqlite3_clear_bindings(q);
    return rc;
}

int pfs_store_device_status(struct pfs_store *st, const char *serial, enum pfs_dev_status *status)
{
    sqlite3_stmt *q = st->stmt[ST_DEV_STATUS];
    int rc;

    sqlite3_bind_text(q, 1, serial, -1, SQLITE_STATIC);
    rc = sqlite3_step(q);
    if (rc == SQLITE_ROW) {
        *status = strcmp((const char *)sqlite3_column_text(q, 0), "revoked") == 0
                          ? PFS_DEV_REVOKED
                          : PFS_DEV_REGISTERED;
        rc = 0;
    } else {
        rc = rc == SQLITE_DONE ? PF_EUNKNOWN_SERIAL : PF_EIO;
    }
    sqlite3_reset(q);
    sqlite3_clear_bindings(q);
    return rc;
}

int pfs_store_device_list(struct pfs_store *st, const struct pfs_dev_filter *f, pfs_device_cb cb,
                          void *ctx, bool *more)
{
    char sql[4096];
    size_t n;
    sqlite3_stmt *s;
    const char *binds[4];
    int nb = 0, rows = 0, rc = 0, step;
    bool seen_only, by_alert;
    const char *key, *from;
    struct pfs_device d;
    struct pfs_dev_state ds;

    *more = false;
    /* Filters that need a latest state are driven from device_state (the terminals
     * ever seen, usually far fewer than those registered). */
    seen_only = f->conn == PFS_FILTER_ONLINE || f->conn == PFS_FILTER_OFFLINE || f->fw;
    /* An alert filter alone is driven from the open alerts. */
    by_alert = !seen_only && f->alert;
    key = seen_only ? "s" : by_alert ? "a" : "d";
    if (seen_only)
        from = " FROM device_state s CROSS JOIN devices d ON d.serial = s.serial" STORE__DEV_JOINS;
    else if (by_alert)
        from = " FROM alerts a CROSS JOIN devices d ON d.serial = a.serial"
               " LEFT JOIN device_state s ON s.serial = d.serial" STORE__DEV_JOINS;
    else
        from = STORE__DEV_FROM;
    n = (size_t)snprintf(sql, sizeof(sql), "SELECT " STORE__DEV_COLS "%s WHERE 1", from);
    switch (f->conn) {
    case PFS_FILTER_ONLINE:
        n += (size_t)snprintf(sql + n, sizeof(sql) - n,
                              " AND d.status='registered' AND s.online=1");
        break;
    case PFS_FILTER_OFFLINE:
        n += (size_t)snprintf(sql + n, sizeof(sql) - n,
                              " AND d.status='registered' AND s.serial IS NOT NULL"
                              " AND s.online=0");
        break;
    case PFS_FILTER_NEVER:
        n += (size_t)snprintf(sql + n, sizeof(sql) - n,
                              " AND d.status='registered' AND s.serial IS NULL");
        break;
    case PFS_FILTER_REVOKED:
        n += (size_t)snprintf(sql + n, sizeof(sql) - n, " AND d.status='revoked'");
        break;
    case PFS_FILTER_ANY:
        break;
    }
    if (f->model) {
        n += (size_t)snprintf(sql + n, sizeof(sql) - n, " AND d.model = ?%d", nb + 1);
        binds[nb++] = f->model;
    }
    if (f->fw) {
        n += (size_t)snprintf(sql + n, sizeof(sql) - n, " AND s.fw_version = ?%d", nb + 1);
        binds[nb++] = f->fw;
    }
    if (f->alert && by_alert) {
        n += (size_t)snprintf(sql + n, sizeof(sql) - n, " AND a.kind = ?%d AND a.closed_ms IS NULL",
                              nb + 1);
        binds[nb++] = f->alert;
    } else if (f->alert) {
        n += (size_t)snprintf(sql + n, sizeof(sql) - n,
                              " AND EXISTS (SELECT 1 FROM alerts a WHERE a.serial = d.serial"
                              " AND a.kind = ?%d AND a.closed_ms IS NULL)",
                              nb + 1);
        binds[nb++] = f->alert;
    }
    if (f->after) {
        n += (size_t)snprintf(sql + n, sizeof(sql) - n, " AND %s.serial > ?%d", key, nb + 1);
        binds[nb++] = f->after;
    }
    snprintf(sql + n, sizeof(sql) - n, " ORDER BY %s.serial LIMIT %d", key, f->limit + 1);
    if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK)
        return PF_EIO;
    for (int i = 0; i < nb; i++)
        sqlite3_bind_text(s, i + 1, binds[i], -1, SQLITE_STATIC);
    while ((step = sqlite3_step(s)) == SQLITE_ROW) {
        if (rows == f->limit) {
            *more = true;
            break;
        }
        store__dev_read(s, &d, &ds);
        rc = cb(ctx, &d, &ds, (const char *)sqlite3_column_text(s, 39));
        if (rc)
            break;
        rows++;
    }
    if (step != SQLITE_ROW && step != SQLITE_DONE)
        rc = PF_EIO;
    sqlite3_finalize(s);
    return rc;
}

int pfs_store_health_recent(struct pfs_store *st, const char *serial, int n, pfs_health_cb cb,
                            void *ctx)
{
    sqlite3_stmt *s;
    struct pfs_health_row r;
    int rc = 0, step;

    if (sqlite3_prepare_v2(
                st->db,
                "SELECT seq, ts_ms, recv_ms, stored_ms, queued, battery_pct, charging, net_type,"
                " signal_dbm, temp_c, storage_free_kb, mem_free_kb, uptime_s, fw_version, fw_slot,"
                " fee_version, paper, tamper, selftest, err_reconnects, err_queue_dropped,"
                " err_reader, err_printer, txn_count, txn_amount_minor, currency FROM health"
                " WHERE serial = ?1 ORDER BY id DESC LIMIT ?2",
                -1, &s, NULL) != SQLITE_OK)
        return PF_EIO;
    sqlite3_bind_text(s, 1, serial, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 2, n);
    while ((step = sqlite3_step(s)) == SQLITE_ROW) {
        struct pf_health *h = &r.h;

        memset(&r, 0, sizeof(r));
        h->seq = (uint32_t)sqlite3_column_int64(s, 0);
        h->ts_ms = sqlite3_column_int64(s, 1);
        r.recv_ms = sqlite3_column_int64(s, 2);
        r.stored_ms = sqlite3_column_int64(s, 3);
        if (r.stored_ms == STORE__UNSTAMPED)
            r.stored_ms = 0; /* in the open batch */
        h->queued = sqlite3_column_int(s, 4) != 0;
        h->battery_pct = sqlite3_column_int(s, 5);
        h->charging = sqlite3_column_int(s, 6) != 0;
        h->net_type = (enum pf_net_type)sqlite3_column_int(s, 7);
        h->signal_dbm = sqlite3_column_int(s, 8);
        h->temp_c = sqlite3_column_int(s, 9);
        h->storage_free_kb = (uint64_t)sqlite3_column_int64(s, 10);
        h->mem_free_kb = (uint64_t)sqlite3_column_int64(s, 11);
        h->uptime_s = (uint64_t)sqlite3_column_int64(s, 12);
        store__col_text(s, 13, h->fw_version, sizeof(h->fw_version));
        h->fw_slot = sqlite3_column_int(s, 14) == PF_SLOT_B ? PF_SLOT_B : PF_SLOT_A;
        store__col_text(s, 15, h->fee_version, sizeof(h->fee_version));
        h->paper = (enum pf_paper)sqlite3_column_int(s, 16);
        h->tamper = sqlite3_column_int(s, 17) != 0;
        store__selftest_decode(s, 18, h->selftest);
        h->err_reconnects = (uint32_t)sqlite3_column_int64(s, 19);
        h->err_queue_dropped = (uint32_t)sqlite3_column_int64(s, 20);
        h->err_reader = (uint32_t)sqlite3_column_int64(s, 21);
        h->err_printer = (uint32_t)sqlite3_column_int64(s, 22);
        h->txn_count = (uint32_t)sqlite3_column_int64(s, 23);
        h->txn_amount_minor = (uint64_t)sqlite3_column_int64(s, 24);
        store__col_text(s, 25, h->currency, sizeof(h->currency));
        rc = cb(ctx, &r);
        if (rc)
            break;
    }
    if (step != SQLITE_ROW && step != SQLITE_DONE)
        rc = PF_EIO;
    sqlite3_finalize(s);
    return rc;
}

int pfs_store_alerts_open(struct pfs_store *st, const char *serial, pfs_alert_cb cb, void *ctx)
{
    sqlite3_stmt *s;
    struct pfs_alert a;
    int rc = 0, step;

    if (sqlite3_prepare_v2(st->db,
                           "SELECT serial, kind, opened_ms, detail FROM alerts WHERE closed_ms"
                           " IS NULL AND (?1 IS NULL OR serial = ?1) ORDER BY serial, kind",
                           -1, &s, NULL) != SQLITE_OK)
        return PF_EIO;
    store__bind_text(s, 1, serial);
    while ((step = sqlite3_step(s)) == SQLITE_ROW) {
        memset(&a, 0, sizeof(a));
        store__col_text(s, 0, a.serial, sizeof(a.serial));
        store__col_text(s, 1, a.kind, sizeof(a.kind));
        a.opened_ms = sqlite3_column_int64(s, 2);
        store__col_text(s, 3, a.detail, sizeof(a.detail));
        rc = cb(ctx, &a);
        if (rc)
            break;
    }
    if (step != SQLITE_ROW && step != SQLITE_DONE)
        rc = PF_EIO;
    sqlite3_finalize(s);
    return rc;
}

static int store__groups(struct pfs_store *st, const char *group, const char *sql, pfs_group_cb cb,
                         void *ctx)
{
    sqlite3_stmt *s;
    int rc = 0, step;

    if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK)
        return PF_EIO;
    while ((step = sqlite3_step(s)) == SQLITE_ROW) {
        const unsigned char *k = sqlite3_column_text(s, 0);

        rc = cb(ctx, group, k ? (const char *)k : "", sqlite3_column_int64(s, 1));
        if (rc)
            break;
    }
    if (step != SQLITE_ROW && step != SQLITE_DONE)
        rc = PF_EIO;
    sqlite3_finalize(s);
    return rc;
}

int pfs_store_summary(struct pfs_store *st, struct pfs_summary *sum, pfs_group_cb cb, void *ctx)
{
    sqlite3_stmt *s;
    int rc;

    memset(sum, 0, sizeof(*sum));
    /* Registry counts from the status index; connection counts from the (much
     * smaller) set of terminals ever seen. */
    if (sqlite3_prepare_v2(st->db, "SELECT status, sum(n) FROM device_counts GROUP BY status", -1,
                           &s, NULL) != SQLITE_OK)
        return PF_EIO;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        int64_t n = sqlite3_column_int64(s, 1);

        sum->total += n;
        if (strcmp((const char *)sqlite3_column_text(s, 0), "revoked") == 0)
            sum->revoked += n;
    }
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE)
        return PF_EIO;
    if (sqlite3_prepare_v2(st->db,
                           "SELECT coalesce(sum(s.online=1), 0), coalesce(sum(s.online=0), 0)"
                           " FROM device_state s CROSS JOIN devices d ON d.serial = s.serial"
                           " WHERE d.status = 'registered'",
                           -1, &s, NULL) != SQLITE_OK)
        return PF_EIO;
    rc = PF_EIO;
    if (sqlite3_step(s) == SQLITE_ROW) {
        sum->online = sqlite3_column_int64(s, 0);
        sum->offline = sqlite3_column_int64(s, 1);
        sum->never_seen = sum->total - sum->revoked - sum->online - sum->offline;
        rc = 0;
    }
    sqlite3_finalize(s);
    if (rc || !cb)
        return rc;
    rc = store__groups(st, "alerts",
                       "SELECT kind, count(*) FROM alerts WHERE closed_ms IS NULL GROUP BY kind"
                       " ORDER BY kind",
                       cb, ctx);
    if (!rc)
        rc = store__groups(st, "models",
                           "SELECT model, sum(n) FROM device_counts GROUP BY model ORDER BY model",
                           cb, ctx);
    if (!rc)
        rc = store__groups(st, "firmware",
                           "SELECT s.fw_version, count(*) FROM device_state s CROSS JOIN devices d"
                           " ON d.serial = s.serial WHERE s.fw_version IS NOT NULL AND"
                           " d.status = 'registered' GROUP BY s.fw_version ORDER BY 1",
                           cb, ctx);
    return rc;
}

int pfs_store_audit_list(struct pfs_store *st, const char *target, int64_t before_id, int limit,
                         pfs_audit_cb cb, void *ctx)
{
    sqlite3_stmt *s;
    struct pfs_audit a;
    int rc = 0, step;

    if (sqlite3_prepare_v2(st->db,
                           "SELECT id, ts_ms, actor, role, action, target, before, after"
                           " FROM audit WHERE (?1 IS NULL OR target = ?1) AND (?3 <= 0 OR id < ?3)"
                           " ORDER BY id DESC LIMIT ?2",
                           -1, &s, NULL) != SQLITE_OK)
        return PF_EIO;
    store__bind_text(s, 1, target);
    sqlite3_bind_int(s, 2, limit);
    sqlite3_bind_int64(s, 3, before_id);
    while ((step = sqlite3_step(s)) == SQLITE_ROW) {
        memset(&a, 0, sizeof(a));
        a.id = sqlite3_column_int64(s, 0);
        a.ts_ms = sqlite3_column_int64(s, 1);
        store__col_text(s, 2, a.actor, sizeof(a.actor));
        store__col_text(s, 3, a.role, sizeof(a.role));
        store__col_text(s, 4, a.action, sizeof(a.action));
        store__col_text(s, 5, a.target, sizeof(a.target));
        a.before = (const char *)sqlite3_column_text(s, 6);
        a.after = (const char *)sqlite3_column_text(s, 7);
        rc = cb(ctx, &a);
        if (rc)
            break;
    }
    if (step != SQLITE_ROW && step != SQLITE_DONE)
        rc = PF_EIO;
    sqlite3_finalize(s);
    return rc;
}

int pfs_store_seen_each(struct pfs_store *st, pfs_seen_cb cb, void *ctx)
{
    sqlite3_stmt *s;
    struct pfs_seen x;
    int rc = 0, step;

    if (sqlite3_prepare_v2(st->db,
                           "SELECT s.serial, d.status, s.online, s.last_seen_ms, s.health_seq,"
                           " s.health_ts_ms FROM device_state s CROSS JOIN devices d"
                           " ON d.serial = s.serial",
                           -1, &s, NULL) != SQLITE_OK)
        return PF_EIO;
    while ((step = sqlite3_step(s)) == SQLITE_ROW) {
        memset(&x, 0, sizeof(x));
        x.serial = (const char *)sqlite3_column_text(s, 0);
        x.status = strcmp((const char *)sqlite3_column_text(s, 1), "revoked") == 0
                           ? PFS_DEV_REVOKED
                           : PFS_DEV_REGISTERED;
        x.online = sqlite3_column_int(s, 2) != 0;
        x.last_seen_ms = sqlite3_column_int64(s, 3);
        x.have_health = sqlite3_column_type(s, 4) != SQLITE_NULL;
        x.health_seq = (uint32_t)sqlite3_column_int64(s, 4);
        x.health_ts_ms = sqlite3_column_int64(s, 5);
        rc = cb(ctx, &x);
        if (rc)
            break;
    }
    if (step != SQLITE_ROW && step != SQLITE_DONE)
        rc = PF_EIO;
    sqlite3_finalize(s);
    return rc;
}

int pfs_store_health_count(struct pfs_store *st, const char *serial, int64_t *n)
{
    sqlite3_stmt *s;
    int rc = PF_EIO;

    if (sqlite3_prepare_v2(st->db, "SELECT count(*) FROM health WHERE serial = ?1", -1, &s, NULL) !=
        SQLITE_OK)
        return PF_EIO;
    sqlite3_bind_text(s, 1, serial, -1, SQLITE_STATIC);
    if (sqlite3_step(s) == SQLITE_ROW) {
        *n = sqlite3_column_int64(s, 0);
        rc = 0;
    }
    sqlite3_finalize(s);
    return rc;
}

/* --- ingest --- */

int pfs_store_health_put(struct pfs_store *st, const char *serial, const struct pf_health *h,
                         int64_t recv_ms, bool *newer)
{
    char selftest[PF_COMP_COUNT + 1];
    sqlite3_stmt *s = st->stmt[ST_HEALTH_INS];
    int64_t id;
    int rc;

    if (newer)
        *newer = false;
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

    /* The latest state moves only for a newer report (decided in SQL): first with the
     * versions held, then, for a first report, new versions or an older report, the
     * upsert that also writes the versions. */
    s = st->stmt[ST_STATE_HEALTH_SAME_FW];
    sqlite3_bind_text(s, 1, serial, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, recv_ms);
    sqlite3_bind_text(s, 3, h->fw_version, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 4, (int)h->fw_slot);
    sqlite3_bind_text(s, 5, h->fee_version, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 6, id);
    sqlite3_bind_int64(s, 7, (sqlite3_int64)h->seq);
    sqlite3_bind_int64(s, 8, h->ts_ms);
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
    rc = store__step_done(s);
    if (rc)
        return rc;
    if (sqlite3_changes(st->db) > 0) {
        if (newer)
            *newer = true;
        return 0;
    }
    /* A late report: history only, but the terminal was heard from now. */
    s = st->stmt[ST_STATE_TOUCH];
    sqlite3_bind_text(s, 1, serial, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, recv_ms);
    return store__step_done(s);
}

int pfs_store_birth_put(struct pfs_store *st, const char *serial, const struct pf_birth *b,
                        int64_t recv_ms)
{
    char selftest[PF_COMP_COUNT + 1];
    sqlite3_stmt *s = st->stmt[ST_BIRTH];
    int rc = store__batch_write(st);

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
        return store__step_done(s);
    }
    s = st->stmt[ST_STATE_TOUCH];
    sqlite3_bind_text(s, 1, serial, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, recv_ms);
    return store__step_done(s);
}

int pfs_store_state_put(struct pfs_store *st, const char *serial, const struct pf_state *m,
                        int64_t recv_ms)
{
    sqlite3_stmt *s = st->stmt[ST_STATE_CONN];
    int rc = store__batch_write(st);

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

int pfs_store_alert_open(struct pfs_store *st, const char *serial, const char *kind, int64_t now_ms,
                         const char *detail)
{
    sqlite3_stmt *s = st->stmt[ST_ALERT_OPEN];
    int rc = store__batch_write(st);

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

int pfs_store_alert_close(struct pfs_store *st, const char *serial, const char *kind,
                          int64_t now_ms)
{
    sqlite3_stmt *s = st->stmt[ST_ALERT_CLOSE];
    int rc = store__batch_write(st);

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

int pfs_store_health_prune(struct pfs_store *st, const char *serial, int keep)
{
    sqlite3_stmt *s = st->stmt[ST_HEALTH_PRUNE];
    int rc = store__batch_write(st);

    if (rc)
        return rc;
    sqlite3_bind_text(s, 1, serial, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 2, keep);
    return store__step_done(s);
}

int pfs_store_health_expire(struct pfs_store *st, int64_t before_ms, int max, int *deleted)
{
    sqlite3_stmt *s = st->stmt[ST_HEALTH_EXPIRE];
    int rc = store__batch_write(st);

    *deleted = 0;
    if (rc)
        return rc;
    sqlite3_bind_int64(s, 1, before_ms);
    sqlite3_bind_int(s, 2, max);
    rc = store__step_done(s);
    if (!rc)
        *deleted = sqlite3_changes(st->db);
    return rc;
}

sqlite3 *pfs_store_sqlite_db(struct pfs_store *st)
{
    return st->db;
}
