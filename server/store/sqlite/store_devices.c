/*
 * store_devices.c - the registry and the reads of store.h on SQLite: adding,
 * importing and revoking terminals (administrative: own FULL transaction with
 * an audit row), and every query of devices, their latest state, health
 * history, alerts, summary counts and the audit log. Registry entries are
 * audited with the text of store/record_json.h. The ingest writes and the
 * connection itself are in store_sqlite.c.
 */
#include "store/store.h"

#include <inttypes.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/record_json.h"
#include "store/sqlite/store_lifecycle_internal.h"
#include "store/sqlite/store_scope.h"
#include "store/sqlite/store_sqlite_internal.h"
#include "store/sqlite/store_tx.h"

/* --- registry --- */

/* The registry's audit rows: before and after as JSON text. */
static int devices__audit(struct pfs_sqlite *st, const struct pfs_actor *actor, int64_t now_ms,
                          const char *action, const char *target, const char *before,
                          const char *after, struct pf_error *err)
{
    struct pfs_sqlite_audit a = {actor, now_ms, action, target, before, after, NULL, NULL, NULL};

    return pfs_sqlite_audit_write(st->db, &a, err);
}

static int devices__dev_exists(struct pfs_sqlite *st, const char *serial, struct pfs_device *d)
{
    int rc = pfs_sqlite_device_get(st, serial, d, NULL);

    return rc;
}

int pfs_sqlite_device_add(struct pfs_sqlite *st, const struct pfs_device *d,
                          const struct pfs_actor *actor, int64_t now_ms, struct pf_error *err)
{
    struct pfs_device cur, rec = *d;
    sqlite3_stmt *s = NULL;
    char *after = NULL;
    int rc;

    rc = pfs_sqlite_begin(st, 0, err);
    if (rc)
        return rc;
    rc = devices__dev_exists(st, d->serial, &cur);
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
                           "INSERT INTO devices (serial, model, hw_rev, status, created_ms)"
                           " VALUES (?1,?2,?3,'registered',?4)",
                           -1, &s, NULL) != SQLITE_OK) {
        rc = pfs_sqlite_fail(st->db, err, "device add");
        goto out_end;
    }
    sqlite3_bind_text(s, 1, rec.serial, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, rec.model, -1, SQLITE_STATIC);
    pfs_sqlite_bind_text(s, 3, rec.hw_rev);
    sqlite3_bind_int64(s, 4, now_ms);
    rc = sqlite3_step(s) == SQLITE_DONE ? 0 : pfs_sqlite_fail(st->db, err, "device add");
    sqlite3_finalize(s);
    if (rc)
        goto out_end;
    after = pfs_rec_device_text(&rec);
    if (!after) {
        rc = pf_error_set(err, PF_ENOMEM, "store: out of memory");
        goto out_end;
    }
    rc = devices__audit(st, actor, now_ms, "device.add", rec.serial, NULL, after, err);
    if (rc)
        goto out_end;
    {
        sqlite3_stmt *c = st->stmt[ST_ALERT_CLOSE];

        sqlite3_bind_text(c, 1, rec.serial, -1, SQLITE_STATIC);
        sqlite3_bind_text(c, 2, "unknown_serial", -1, SQLITE_STATIC);
        sqlite3_bind_int64(c, 3, now_ms);
        rc = pfs_sqlite_step_done(c);
        if (rc)
            pfs_sqlite_fail(st->db, err, "close alert");
    }
    /* A merchant given at registration is a binding, nothing else. */
    if (!rc && rec.merchant_id[0])
        rc = life__bind(st, rec.serial, rec.merchant_id, true, actor, now_ms, err);
out_end:
    free(after);
    return pfs_sqlite_end(st, rc, err);
}

int pfs_sqlite_device_import(struct pfs_sqlite *st, pfs_device_next_cb next, void *ctx,
                             const struct pfs_actor *actor, int64_t now_ms, int64_t *count,
                             struct pf_error *err)
{
    sqlite3_stmt *ins = NULL, *aud = NULL, *close = st->stmt[ST_ALERT_CLOSE];
    struct pfs_device d;
    int rc;

    *count = 0;
    rc = pfs_sqlite_begin(st, 0, err);
    if (rc)
        return rc;
    if (sqlite3_prepare_v2(st->db,
                           "INSERT INTO devices (serial, model, hw_rev, status, created_ms)"
                           " VALUES (?1,?2,?3,'registered',?4)",
                           -1, &ins, NULL) != SQLITE_OK) {
        rc = pfs_sqlite_fail(st->db, err, "import");
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
        pfs_sqlite_bind_text(ins, 3, d.hw_rev);
        sqlite3_bind_int64(ins, 4, now_ms);
        step = sqlite3_step(ins);
        sqlite3_reset(ins);
        if (step == SQLITE_CONSTRAINT) {
            rc = pf_error_set(err, PF_EEXIST, "serial %s: already registered", d.serial);
            break;
        }
        if (step != SQLITE_DONE) {
            rc = pfs_sqlite_fail(st->db, err, "import");
            break;
        }
        after = pfs_rec_device_text(&d);
        if (!after) {
            rc = pf_error_set(err, PF_ENOMEM, "store: out of memory");
            break;
        }
        {
            struct pfs_sqlite_audit a = {
                    actor, now_ms, "device.import", d.serial, NULL, after, NULL, NULL, NULL};

            rc = pfs_sqlite_audit_write_cached(st->db, &a, &aud, err);
        }
        free(after);
        if (rc)
            break;
        sqlite3_bind_text(close, 1, d.serial, -1, SQLITE_STATIC);
        sqlite3_bind_text(close, 2, "unknown_serial", -1, SQLITE_STATIC);
        sqlite3_bind_int64(close, 3, now_ms);
        if (pfs_sqlite_step_done(close)) {
            rc = pfs_sqlite_fail(st->db, err, "close alert");
            break;
        }
        if (d.merchant_id[0]) {
            rc = life__bind(st, d.serial, d.merchant_id, true, actor, now_ms, err);
            if (rc)
                break;
        }
        (*count)++;
    }
out_end:
    sqlite3_finalize(ins);
    sqlite3_finalize(aud);
    rc = pfs_sqlite_end(st, rc < 0 ? rc : 0, err);
    if (rc)
        *count = 0;
    return rc;
}

int pfs_sqlite_device_revoke(struct pfs_sqlite *st, const char *serial,
                             const struct pfs_actor *actor, int64_t now_ms, struct pf_error *err)
{
    struct pfs_device cur, rec;
    sqlite3_stmt *s = NULL;
    char *before = NULL, *after = NULL;
    int rc;

    rc = pfs_sqlite_begin(st, 0, err);
    if (rc)
        return rc;
    rc = devices__dev_exists(st, serial, &cur);
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
        rc = pfs_sqlite_fail(st->db, err, "revoke");
        goto out_end;
    }
    sqlite3_bind_text(s, 1, serial, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, now_ms);
    rc = sqlite3_step(s) == SQLITE_DONE ? 0 : pfs_sqlite_fail(st->db, err, "revoke");
    sqlite3_finalize(s);
    if (rc)
        goto out_end;
    rec = cur;
    rec.status = PFS_DEV_REVOKED;
    before = pfs_rec_device_text(&cur);
    after = pfs_rec_device_text(&rec);
    if (!before || !after) {
        rc = pf_error_set(err, PF_ENOMEM, "store: out of memory");
        goto out_end;
    }
    rc = devices__audit(st, actor, now_ms, "device.revoke", serial, before, after, err);
out_end:
    free(before);
    free(after);
    return pfs_sqlite_end(st, rc, err);
}

/* --- reads --- */

static void devices__dev_read(sqlite3_stmt *s, struct pfs_device *d, struct pfs_dev_state *ds)
{
    if (d) {
        memset(d, 0, sizeof(*d));
        pfs_sqlite_col_text(s, 0, d->serial, sizeof(d->serial));
        pfs_sqlite_col_text(s, 1, d->model, sizeof(d->model));
        pfs_sqlite_col_text(s, 2, d->hw_rev, sizeof(d->hw_rev));
        pfs_sqlite_col_text(s, 3, d->merchant_id, sizeof(d->merchant_id));
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
    pfs_sqlite_col_text(s, 10, ds->fw_version, sizeof(ds->fw_version));
    ds->fw_slot = sqlite3_column_int(s, 11) == PF_SLOT_B ? PF_SLOT_B : PF_SLOT_A;
    pfs_sqlite_col_text(s, 12, ds->fee_version, sizeof(ds->fee_version));
    if (sqlite3_column_type(s, 46) != SQLITE_NULL) {
        pfs_sqlite_col_text(s, 46, ds->fee_pending.version, sizeof(ds->fee_pending.version));
        ds->fee_pending.effective_at = sqlite3_column_int64(s, 47);
    }
    ds->have_birth = sqlite3_column_type(s, 13) != SQLITE_NULL;
    if (ds->have_birth) {
        struct pf_birth *b = &ds->birth;

        b->ts_ms = sqlite3_column_int64(s, 13);
        pfs_sqlite_col_text(s, 14, b->model, sizeof(b->model));
        pfs_sqlite_col_text(s, 15, b->hw_rev, sizeof(b->hw_rev));
        b->boot = (enum pf_boot_outcome)sqlite3_column_int(s, 16);
        pfs_sqlite_col_text(s, 17, b->agent_version, sizeof(b->agent_version));
        pfs_sqlite_selftest_decode(s, 18, b->selftest);
        pfs_sqlite_col_text(s, 40, b->fw_version, sizeof(b->fw_version));
        b->fw_slot = sqlite3_column_int(s, 41) == PF_SLOT_B ? PF_SLOT_B : PF_SLOT_A;
        pfs_sqlite_col_text(s, 42, b->fee_version, sizeof(b->fee_version));
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
        pfs_sqlite_selftest_decode(s, 31, h->selftest);
        h->err_reconnects = (uint32_t)sqlite3_column_int64(s, 32);
        h->err_queue_dropped = (uint32_t)sqlite3_column_int64(s, 33);
        h->err_reader = (uint32_t)sqlite3_column_int64(s, 34);
        h->err_printer = (uint32_t)sqlite3_column_int64(s, 35);
        h->txn_count = (uint32_t)sqlite3_column_int64(s, 36);
        h->txn_amount_minor = (uint64_t)sqlite3_column_int64(s, 37);
        pfs_sqlite_col_text(s, 38, h->currency, sizeof(h->currency));
        pfs_sqlite_col_text(s, 43, h->fw_version, sizeof(h->fw_version));
        h->fw_slot = sqlite3_column_int(s, 44) == PF_SLOT_B ? PF_SLOT_B : PF_SLOT_A;
        pfs_sqlite_col_text(s, 45, h->fee_version, sizeof(h->fee_version));
    }
}

int pfs_sqlite_device_get(struct pfs_sqlite *st, const char *serial, struct pfs_device *d,
                          struct pfs_dev_state *s)
{
    sqlite3_stmt *q = st->stmt[ST_DEV_GET];
    int rc;

    sqlite3_bind_text(q, 1, serial, -1, SQLITE_STATIC);
    rc = sqlite3_step(q);
    if (rc == SQLITE_ROW) {
        devices__dev_read(q, d, s);
        rc = 0;
    } else {
        rc = rc == SQLITE_DONE ? PF_EUNKNOWN_SERIAL : PF_EIO;
    }
    sqlite3_reset(q);
    sqlite3_clear_bindings(q);
    return rc;
}

int pfs_sqlite_device_status(struct pfs_sqlite *st, const char *serial, enum pfs_dev_status *status)
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

int pfs_sqlite_device_list(struct pfs_sqlite *st, const struct pfs_dev_filter *f, pfs_device_cb cb,
                           void *ctx, bool *more)
{
    char sql[4096];
    size_t n;
    sqlite3_stmt *s;
    const char *binds[6];
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
        from = " FROM device_state s CROSS JOIN devices d ON d.serial = "
               "s.serial" PFS_SQLITE_DEV_JOINS;
    else if (by_alert)
        from = " FROM alerts a CROSS JOIN devices d ON d.serial = a.serial"
               " LEFT JOIN device_state s ON s.serial = d.serial" PFS_SQLITE_DEV_JOINS;
    else
        from = PFS_SQLITE_DEV_FROM;
    n = (size_t)snprintf(sql, sizeof(sql), "SELECT " PFS_SQLITE_DEV_COLS "%s WHERE 1", from);
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
    if (!pfs_scope_all(f->scope)) {
        char p[8], m[8];

        snprintf(p, sizeof(p), "?%d", nb + 1);
        snprintf(m, sizeof(m), "?%d", nb + 2);
        n += (size_t)snprintf(sql + n, sizeof(sql) - n,
                              " AND EXISTS (SELECT 1 FROM terminals sc_t JOIN merchants sc_m"
                              " ON sc_m.id = sc_t.merchant_id JOIN orgs sc_o ON sc_o.id ="
                              " sc_m.org_id WHERE sc_t.serial = d.serial AND"
                              " substr(sc_o.path, 1, length(%s)) = %s AND (%s IS NULL OR"
                              " sc_t.merchant_id = %s))",
                              p, p, m, m);
        binds[nb++] = f->scope->path;
        binds[nb++] = f->scope->merchant[0] ? f->scope->merchant : NULL;
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
        devices__dev_read(s, &d, &ds);
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

int pfs_sqlite_health_recent(struct pfs_sqlite *st, const char *serial, int n, pfs_health_cb cb,
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
        if (r.stored_ms == PFS_SQLITE_UNSTAMPED)
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
        pfs_sqlite_col_text(s, 13, h->fw_version, sizeof(h->fw_version));
        h->fw_slot = sqlite3_column_int(s, 14) == PF_SLOT_B ? PF_SLOT_B : PF_SLOT_A;
        pfs_sqlite_col_text(s, 15, h->fee_version, sizeof(h->fee_version));
        h->paper = (enum pf_paper)sqlite3_column_int(s, 16);
        h->tamper = sqlite3_column_int(s, 17) != 0;
        pfs_sqlite_selftest_decode(s, 18, h->selftest);
        h->err_reconnects = (uint32_t)sqlite3_column_int64(s, 19);
        h->err_queue_dropped = (uint32_t)sqlite3_column_int64(s, 20);
        h->err_reader = (uint32_t)sqlite3_column_int64(s, 21);
        h->err_printer = (uint32_t)sqlite3_column_int64(s, 22);
        h->txn_count = (uint32_t)sqlite3_column_int64(s, 23);
        h->txn_amount_minor = (uint64_t)sqlite3_column_int64(s, 24);
        pfs_sqlite_col_text(s, 25, h->currency, sizeof(h->currency));
        rc = cb(ctx, &r);
        if (rc)
            break;
    }
    if (step != SQLITE_ROW && step != SQLITE_DONE)
        rc = PF_EIO;
    sqlite3_finalize(s);
    return rc;
}

int pfs_sqlite_health_range(struct pfs_sqlite *st, const char *serial, int64_t from_ms,
                            int64_t to_ms, pfs_health_point_cb cb, void *ctx)
{
    sqlite3_stmt *s;
    int rc = 0, step;

    /* The index (serial, id) finds the terminal's rows: at most store.health_keep. */
    if (sqlite3_prepare_v2(st->db,
                           "SELECT ts_ms, battery_pct, signal_dbm, temp_c, storage_free_kb FROM"
                           " health WHERE serial = ?1 AND ts_ms BETWEEN ?2 AND ?3",
                           -1, &s, NULL) != SQLITE_OK)
        return PF_EIO;
    sqlite3_bind_text(s, 1, serial, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, from_ms);
    sqlite3_bind_int64(s, 3, to_ms);
    while ((step = sqlite3_step(s)) == SQLITE_ROW) {
        struct pfs_health_point p = {
                sqlite3_column_int64(s, 0), sqlite3_column_int64(s, 1), sqlite3_column_int64(s, 2),
                sqlite3_column_int64(s, 3), sqlite3_column_int64(s, 4),
        };

        rc = cb(ctx, &p);
        if (rc)
            break;
    }
    if (!rc && step != SQLITE_DONE)
        rc = PF_EIO;
    sqlite3_finalize(s);
    return rc;
}

int pfs_sqlite_alerts_open(struct pfs_sqlite *st, const char *serial, pfs_alert_cb cb, void *ctx)
{
    return pfs_sqlite_alerts_in(st, NULL, serial, cb, ctx);
}

int pfs_sqlite_alerts_in(struct pfs_sqlite *st, const struct pfs_scope *scope, const char *serial,
                         pfs_alert_cb cb, void *ctx)
{
    sqlite3_stmt *s;
    struct pfs_alert a;
    int rc = 0, step;

    if (sqlite3_prepare_v2(st->db,
                           "SELECT serial, kind, opened_ms, detail FROM alerts WHERE closed_ms"
                           " IS NULL AND (?1 IS NULL OR serial = ?1) AND " PFS_SQLITE_SCOPE_TERM(
                                   "alerts.serial", "?2", "?3") " ORDER BY serial, kind",
                           -1, &s, NULL) != SQLITE_OK)
        return PF_EIO;
    pfs_sqlite_bind_text(s, 1, serial);
    pfs_sqlite_bind_scope(s, 2, 3, scope);
    while ((step = sqlite3_step(s)) == SQLITE_ROW) {
        memset(&a, 0, sizeof(a));
        pfs_sqlite_col_text(s, 0, a.serial, sizeof(a.serial));
        pfs_sqlite_col_text(s, 1, a.kind, sizeof(a.kind));
        a.opened_ms = sqlite3_column_int64(s, 2);
        pfs_sqlite_col_text(s, 3, a.detail, sizeof(a.detail));
        rc = cb(ctx, &a);
        if (rc)
            break;
    }
    if (step != SQLITE_ROW && step != SQLITE_DONE)
        rc = PF_EIO;
    sqlite3_finalize(s);
    return rc;
}

/* The counts of one dimension (migration 024's fleet_counts_*: kept by triggers in the
 * transaction of every change) inside a scope, by time then key; rows that fell to 0
 * are skipped. Headquarters adds every organisation's rows, an agent those of the
 * organisations under its path, a merchant user reads its merchant's. */
typedef int (*devices__count_cb)(void *ctx, const char *key, int64_t at, int64_t n);

static int devices__counts(struct pfs_sqlite *st, const struct pfs_scope *scope, const char *dim,
                           devices__count_cb cb, void *ctx)
{
    static const char *const sql[3] = {
            "SELECT key, at, sum(n) FROM fleet_counts_org WHERE dim = ?1 GROUP BY key, at"
            " HAVING sum(n) != 0 ORDER BY at, key",
            "SELECT c.key, c.at, sum(c.n) FROM orgs o CROSS JOIN fleet_counts_org c"
            " ON c.org_id = o.id AND c.dim = ?1 WHERE substr(o.path, 1, length(?2)) = ?2"
            " GROUP BY c.key, c.at HAVING sum(c.n) != 0 ORDER BY c.at, c.key",
            "SELECT c.key, c.at, c.n FROM fleet_counts_merchant c JOIN merchants m"
            " ON m.id = c.merchant_id JOIN orgs o ON o.id = m.org_id WHERE c.merchant_id = ?3"
            " AND c.dim = ?1 AND c.n != 0 AND substr(o.path, 1, length(?2)) = ?2"
            " ORDER BY c.at, c.key",
    };
    int which = pfs_scope_all(scope) ? 0 : scope->merchant[0] ? 2 : 1;
    sqlite3_stmt *s;
    int rc = 0, step = SQLITE_DONE;

    if (sqlite3_prepare_v2(st->db, sql[which], -1, &s, NULL) != SQLITE_OK)
        return PF_EIO;
    sqlite3_bind_text(s, 1, dim, -1, SQLITE_STATIC);
    if (which > 0)
        pfs_sqlite_bind_scope(s, 2, 3, scope);
    while (!rc && (step = sqlite3_step(s)) == SQLITE_ROW) {
        const unsigned char *k = sqlite3_column_text(s, 0);

        rc = cb(ctx, k ? (const char *)k : "", sqlite3_column_int64(s, 1),
                sqlite3_column_int64(s, 2));
    }
    if (!rc && step != SQLITE_DONE)
        rc = PF_EIO;
    sqlite3_finalize(s);
    return rc;
}

static int devices__conn_cb(void *ctx, const char *key, int64_t at, int64_t n)
{
    struct pfs_summary *sum = ctx;

    (void)at;
    sum->total += n;
    if (strcmp(key, "online") == 0)
        sum->online += n;
    else if (strcmp(key, "offline") == 0)
        sum->offline += n;
    else if (strcmp(key, "revoked") == 0)
        sum->revoked += n;
    else
        sum->never_seen += n;
    return 0;
}

struct devices__group {
    pfs_group_cb cb;
    void *ctx;
    const char *group;
};

static int devices__group_cb(void *ctx, const char *key, int64_t at, int64_t n)
{
    struct devices__group *g = ctx;

    (void)at;
    return g->cb(g->ctx, g->group, key, n);
}

struct devices__fees {
    pfs_fee_group_cb cb;
    void *ctx;
    bool pending;
};

static int devices__fee_cb(void *ctx, const char *key, int64_t at, int64_t n)
{
    struct devices__fees *f = ctx;

    return f->cb(f->ctx, key, f->pending, at, n);
}

int pfs_sqlite_fee_tables(struct pfs_sqlite *st, pfs_fee_group_cb cb, void *ctx)
{
    return pfs_sqlite_fee_tables_in(st, NULL, cb, ctx);
}

int pfs_sqlite_fee_tables_in(struct pfs_sqlite *st, const struct pfs_scope *scope,
                             pfs_fee_group_cb cb, void *ctx)
{
    struct devices__fees f = {cb, ctx, false};
    int rc = devices__counts(st, scope, "fee", devices__fee_cb, &f);

    f.pending = true;
    return rc ? rc : devices__counts(st, scope, "feep", devices__fee_cb, &f);
}

int pfs_sqlite_summary(struct pfs_sqlite *st, struct pfs_summary *sum, pfs_group_cb cb, void *ctx)
{
    return pfs_sqlite_summary_in(st, NULL, sum, cb, ctx);
}

int pfs_sqlite_summary_in(struct pfs_sqlite *st, const struct pfs_scope *scope,
                          struct pfs_summary *sum, pfs_group_cb cb, void *ctx)
{
    static const char *const groups[][2] = {
            {"alerts", "alert"}, {"models", "model"}, {"firmware", "fw"}};
    int rc;

    memset(sum, 0, sizeof(*sum));
    rc = devices__counts(st, scope, "conn", devices__conn_cb, sum);
    for (size_t i = 0; !rc && cb && i < sizeof(groups) / sizeof(groups[0]); i++) {
        struct devices__group g = {cb, ctx, groups[i][0]};

        rc = devices__counts(st, scope, groups[i][1], devices__group_cb, &g);
    }
    return rc;
}

int pfs_sqlite_audit_list(struct pfs_sqlite *st, const char *target, int64_t before_id, int limit,
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
    pfs_sqlite_bind_text(s, 1, target);
    sqlite3_bind_int(s, 2, limit);
    sqlite3_bind_int64(s, 3, before_id);
    while ((step = sqlite3_step(s)) == SQLITE_ROW) {
        memset(&a, 0, sizeof(a));
        a.id = sqlite3_column_int64(s, 0);
        a.ts_ms = sqlite3_column_int64(s, 1);
        pfs_sqlite_col_text(s, 2, a.actor, sizeof(a.actor));
        pfs_sqlite_col_text(s, 3, a.role, sizeof(a.role));
        pfs_sqlite_col_text(s, 4, a.action, sizeof(a.action));
        pfs_sqlite_col_text(s, 5, a.target, sizeof(a.target));
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

int pfs_sqlite_seen_each(struct pfs_sqlite *st, pfs_seen_cb cb, void *ctx)
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

int pfs_sqlite_health_count(struct pfs_sqlite *st, const char *serial, int64_t *n)
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
