/*
 * store_terminals.c - the terminals of store_lifecycle.h on SQLite: binding,
 * unbinding, retiring, tags, the swap, and posfleetd's own transitions
 * (activation, tamper lock, lock reports). Each loads the rows, asks
 * lifecycle.c's rules, and saves what they decided in one transaction; the
 * audit's before/after text comes from store/record_json.h.
 */
#include "store/sqlite/store_lifecycle_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/record_json.h"
#include "store/sqlite/store_sqlite_internal.h"
#include "store/sqlite/store_tx.h"

int pfs_sqlite_term_view(struct pfs_sqlite *st, const char *serial, pfs_term_view_cb cb, void *ctx)
{
    return life__term_view(pfs_store_sqlite_db(st), serial, cb, ctx);
}

int pfs_sqlite_term_binding(struct pfs_sqlite *st, const char *serial,
                            char merchant_id[PFS_MERCHANT_ID_MAX + 1], char tz[PFS_TZ_MAX + 1],
                            char *fee_plan, size_t fee_plan_size)
{
    sqlite3 *db = pfs_store_sqlite_db(st);
    sqlite3_stmt *s;
    int rc;

    merchant_id[0] = tz[0] = '\0';
    snprintf(fee_plan, fee_plan_size, "[]");
    if (sqlite3_prepare_v2(db,
                           "SELECT t.merchant_id, t.tz, t.fee_plan FROM devices d LEFT JOIN"
                           " terminals t ON t.serial = d.serial WHERE d.serial = ?1",
                           -1, &s, NULL) != SQLITE_OK)
        return PF_EIO;
    sqlite3_bind_text(s, 1, serial, -1, SQLITE_STATIC);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW && sqlite3_column_text(s, 0)) {
        life__col(s, 0, merchant_id, PFS_MERCHANT_ID_MAX + 1);
        life__col(s, 1, tz, PFS_TZ_MAX + 1);
        if (sqlite3_column_text(s, 2))
            life__col(s, 2, fee_plan, fee_plan_size);
    }
    sqlite3_finalize(s);
    return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? PF_EUNKNOWN_SERIAL : PF_EIO;
}

int life__bind(struct pfs_sqlite *st, const char *serial, const char *merchant_id, bool registering,
               const struct pfs_actor *actor, int64_t now_ms, struct pf_error *err)
{
    sqlite3 *db = pfs_store_sqlite_db(st);
    struct pfs_merchant m;
    struct pfs_term t;
    enum pfs_term_state to;
    char *before = NULL, *fees = NULL;
    bool activate = false;
    int rc;

    rc = life__get(st, serial, &t, err);
    if (!rc)
        rc = pfs_life_bind(&t, &to, err);
    if (rc)
        goto out;
    rc = pfs_sqlite_merchant_get(st, merchant_id, &m);
    if (rc == PF_ENOENT)
        rc = pf_error_set(err, PF_ENOENT, "merchant %s: no such merchant", merchant_id);
    if (!rc && registering && m.status != PFS_MERCHANT_ACTIVE)
        rc = pf_error_set(err, PF_ESTATE,
                          "merchant %s is %s: registration binds only to an active merchant",
                          merchant_id, pfs_merchant_status_names[m.status]);
    if (!rc)
        rc = pfs_life_bind_merchant(&m, &activate, err);
    if (rc)
        goto out;
    before = life__term_text(db, serial);
    fees = pfs_merchant_fee_plan_json(&m);
    if (!before || !fees) {
        rc = pf_error_set(err, PF_ENOMEM, "out of memory");
        goto out;
    }
    {
        char *tags = life__text1(db, "SELECT tags FROM terminals WHERE serial = ?1", serial, 0);
        struct life__row r = {to, merchant_id, fees, m.tz, tags, now_ms, NULL};

        rc = life__row_put(db, serial, &r, now_ms, err);
        free(tags);
    }
    if (!rc && activate) {
        struct pfs_merchant act = m;
        char *mb = pfs_rec_merchant_text(&m), *ma;

        act.status = PFS_MERCHANT_ACTIVE;
        act.updated_ms = now_ms;
        ma = pfs_rec_merchant_text(&act);
        rc = life__merchant_write(db, &act, false, err);
        if (!rc)
            rc = mb && ma ? life__audit(db, actor, now_ms, "merchant.activate", m.id, mb, ma, NULL,
                                        NULL, m.id, err)
                          : pf_error_set(err, PF_ENOMEM, "out of memory");
        free(mb);
        free(ma);
    }
    if (!rc)
        rc = life__event(db, serial, now_ms, "bind", (int)t.state, (int)to, merchant_id, NULL, 0,
                         actor, NULL, err);
    if (!rc)
        rc = life__audit_term(db, actor, now_ms, "terminal.bind", serial, before, NULL, merchant_id,
                              err);
out:
    free(before);
    free(fees);
    return rc;
}

int pfs_sqlite_term_bind(struct pfs_sqlite *st, const char *serial, const char *merchant_id,
                         const struct pfs_actor *actor, int64_t now_ms, struct pf_error *err)
{
    int rc = pfs_sqlite_begin(st, now_ms, err);

    if (rc)
        return rc;
    rc = life__bind(st, serial, merchant_id, false, actor, now_ms, err);
    return pfs_sqlite_end(st, rc, err);
}

int life__unbind(struct pfs_sqlite *st, const char *serial, const char *detail,
                 const struct pfs_actor *actor, int64_t now_ms, struct pf_error *err)
{
    sqlite3 *db = pfs_store_sqlite_db(st);
    struct pfs_term t;
    enum pfs_term_state to;
    char *before = NULL;
    int rc;

    rc = life__get(st, serial, &t, err);
    if (!rc)
        rc = pfs_life_unbind(&t, &to, err);
    if (rc)
        return rc;
    before = life__term_text(db, serial);
    if (!before)
        return life__fail(db, err, "terminal view");
    {
        char *tags = life__text1(db, "SELECT tags FROM terminals WHERE serial = ?1", serial, 0);
        struct life__row r = {to, NULL, NULL, NULL, tags, 0, NULL};

        rc = life__row_put(db, serial, &r, now_ms, err);
        free(tags);
    }
    if (!rc)
        rc = life__event(db, serial, now_ms, "unbind", (int)t.state, (int)to, t.merchant_id, NULL,
                         0, actor, detail, err);
    if (!rc)
        rc = life__audit_term(db, actor, now_ms, "terminal.unbind", serial, before, NULL,
                              t.merchant_id, err);
    free(before);
    return rc;
}

int pfs_sqlite_term_unbind(struct pfs_sqlite *st, const char *serial, const struct pfs_actor *actor,
                           int64_t now_ms, struct pf_error *err)
{
    int rc = pfs_sqlite_begin(st, now_ms, err);

    if (rc)
        return rc;
    rc = life__unbind(st, serial, NULL, actor, now_ms, err);
    return pfs_sqlite_end(st, rc, err);
}

int pfs_sqlite_term_retire(struct pfs_sqlite *st, const char *serial, const struct pfs_actor *actor,
                           int64_t now_ms, struct pf_error *err)
{
    sqlite3 *db = pfs_store_sqlite_db(st);
    struct pfs_term t;
    enum pfs_term_state to;
    char *before = NULL;
    int64_t open = 0;
    int rc;

    rc = pfs_sqlite_begin(st, now_ms, err);
    if (rc)
        return rc;
    rc = life__get(st, serial, &t, err);
    if (!rc)
        rc = life__count(db, "SELECT count(*) FROM repairs WHERE serial=?1 AND closed_ms IS NULL",
                         serial, &open);
    if (!rc)
        rc = pfs_life_retire(&t, open > 0, &to, err);
    if (rc)
        goto out_end;
    before = life__term_text(db, serial);
    if (!before) {
        rc = life__fail(db, err, "terminal view");
        goto out_end;
    }
    rc = life__state_put(db, serial, to, now_ms, err);
    if (!rc) {
        sqlite3_stmt *s;

        rc = life__prepare(db,
                           "UPDATE devices SET status='revoked', revoked_ms=?2 WHERE serial=?1"
                           " AND status <> 'revoked'",
                           &s, err);
        if (!rc) {
            sqlite3_bind_text(s, 1, serial, -1, SQLITE_STATIC);
            sqlite3_bind_int64(s, 2, now_ms);
            rc = life__done(db, s, err, "revoke");
        }
    }
    if (!rc)
        rc = life__event(db, serial, now_ms, "retire", (int)t.state, (int)to, NULL, NULL, 0, actor,
                         "certificate revoked in posfleetd", err);
    if (!rc)
        rc = life__audit_term(db, actor, now_ms, "terminal.retire", serial, before, NULL, NULL,
                              err);
out_end:
    free(before);
    return pfs_sqlite_end(st, rc, err);
}

int life__tags(struct pfs_sqlite *st, const char *serial, const char *tags_json,
               const struct pfs_actor *actor, int64_t now_ms, struct pf_error *err)
{
    sqlite3 *db = pfs_store_sqlite_db(st);
    struct pfs_term t;
    char *before = NULL;
    sqlite3_stmt *s;
    int rc;

    rc = life__get(st, serial, &t, err);
    if (!rc)
        rc = pfs_life_tags(&t, err);
    if (rc)
        return rc;
    before = life__term_text(db, serial);
    rc = life__cached(db,
                      "INSERT INTO terminals (serial, state, tags, updated_ms) VALUES"
                      " (?1,?2,?3,?4) ON CONFLICT (serial) DO UPDATE SET tags=excluded.tags,"
                      " updated_ms=excluded.updated_ms",
                      &s, err);
    if (rc)
        goto out;
    sqlite3_bind_text(s, 1, serial, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, pfs_term_state_names[t.state], -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, tags_json, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 4, now_ms);
    rc = life__done_cached(db, s, err, "tags");
    if (!rc)
        rc = life__audit_term(db, actor, now_ms, "terminal.tags", serial, before, NULL,
                              t.merchant_id[0] ? t.merchant_id : NULL, err);
out:
    free(before);
    return rc;
}

int pfs_sqlite_term_tags(struct pfs_sqlite *st, const char *serial, const char *tags_json,
                         const struct pfs_actor *actor, int64_t now_ms, struct pf_error *err)
{
    int rc = pfs_sqlite_begin(st, now_ms, err);

    if (rc)
        return rc;
    rc = life__tags(st, serial, tags_json, actor, now_ms, err);
    return pfs_sqlite_end(st, rc, err);
}

int pfs_sqlite_term_swap(struct pfs_sqlite *st, const char *old_serial, const char *new_serial,
                         const char *reason, pfs_swap_hook hook, void *hook_ctx,
                         const struct pfs_actor *actor, int64_t now_ms, int64_t *repair_id,
                         struct pf_error *err)
{
    sqlite3 *db = pfs_store_sqlite_db(st);
    struct pfs_term o, n;
    enum pfs_term_state oto, nto;
    char *ob = NULL, *nb = NULL, *fees = NULL, *tz = NULL, *tags = NULL, *prov = NULL;
    struct life__swap rec = {0};
    char detail[300];
    int64_t rid = 0;
    int rc;

    *repair_id = 0;
    rc = pfs_sqlite_begin(st, now_ms, err);
    if (rc)
        return rc;
    rc = life__get(st, old_serial, &o, err);
    if (!rc)
        rc = life__get(st, new_serial, &n, err);
    if (rc)
        goto out_end;
    rc = pfs_life_swap(&o, &n, &oto, &nto, err);
    if (!rc)
        rc = life__swap_before(db, &o, &n, now_ms, &rec, err);
    if (rc)
        goto out_end;
    ob = life__term_text(db, old_serial);
    nb = life__term_text(db, new_serial);
    fees = life__text1(db, "SELECT fee_plan FROM terminals WHERE serial = ?1", old_serial, 0);
    tz = life__text1(db, "SELECT tz FROM terminals WHERE serial = ?1", old_serial, 0);
    tags = life__text1(db, "SELECT tags FROM terminals WHERE serial = ?1", old_serial, 0);
    prov = pfs_rec_swap_provision_text(old_serial, fees, now_ms);
    if (!ob || !nb || !prov) {
        rc = pf_error_set(err, PF_ENOMEM, "out of memory");
        goto out_end;
    }
    {
        struct life__row nr = {nto, o.merchant_id, fees, tz, tags, now_ms, prov};
        struct life__row orow = {oto, NULL, NULL, NULL, "[]", 0, NULL};

        rc = life__row_put(db, new_serial, &nr, now_ms, err);
        if (!rc)
            rc = life__row_put(db, old_serial, &orow, now_ms, err);
    }
    /* Rollout memberships and other per-terminal assignments move here. */
    if (!rc && hook)
        rc = hook(hook_ctx, &st->tx.base, old_serial, new_serial, err);
    if (rc)
        goto out_end;
    rc = life__open_repair_id(db, old_serial, &rid);
    rec.rec.repair_opened = rid == 0;
    if (!rc && rid > 0) {
        /* A tamper repair is already open: it now also records the swap. */
        sqlite3_stmt *s;
        char *snap = life__snapshot(db, old_serial, now_ms);

        rc = life__prepare(db,
                           "UPDATE repairs SET replaced_by=?2, merchant_id=coalesce(merchant_id,"
                           " ?3), snapshot=coalesce(?4, snapshot), notes = notes ||"
                           " CASE WHEN notes = '' THEN '' ELSE char(10) END || ?5,"
                           " updated_ms=?6 WHERE id=?1",
                           &s, err);
        if (!rc) {
            snprintf(detail, sizeof(detail), "swapped for %s: %s", new_serial, reason);
            sqlite3_bind_int64(s, 1, rid);
            sqlite3_bind_text(s, 2, new_serial, -1, SQLITE_STATIC);
            life__bind_text(s, 3, o.merchant_id);
            life__bind_text(s, 4, snap);
            sqlite3_bind_text(s, 5, detail, -1, SQLITE_STATIC);
            sqlite3_bind_int64(s, 6, now_ms);
            rc = life__done(db, s, err, "repair update");
        }
        free(snap);
    } else if (!rc) {
        rc = life__repair_insert(db, old_serial, "swap", reason, o.merchant_id, new_serial, NULL,
                                 now_ms, &rid, err);
    }
    if (rc)
        goto out_end;
    snprintf(detail, sizeof(detail), "%s", reason);
    rc = life__event(db, old_serial, now_ms, "swap_out", (int)o.state, (int)oto, o.merchant_id,
                     new_serial, rid, actor, detail, err);
    rec.old_event_id = sqlite3_last_insert_rowid(db);
    if (!rc)
        rc = life__event(db, new_serial, now_ms, "swap_in", (int)n.state, (int)nto, o.merchant_id,
                         old_serial, 0, actor, detail, err);
    rec.new_event_id = sqlite3_last_insert_rowid(db);
    if (!rc) {
        rec.rec.repair_id = rid;
        rc = life__swap_record(db, &rec, err);
    }
    if (!rc) {
        char *oa = life__term_text(db, old_serial), *na = life__term_text(db, new_serial);
        char *rj = life__repair_text(db, rid);
        char *bs = pfs_rec_swap_before_text(ob, nb),
             *as = oa && na && rj ? pfs_rec_swap_after_text(oa, na, rj, reason) : NULL;

        rc = bs && as ? life__audit(db, actor, now_ms, "terminal.swap", old_serial, bs, as,
                                    old_serial, new_serial, o.merchant_id, err)
                      : pf_error_set(err, PF_ENOMEM, "out of memory");
        free(bs);
        free(as);
        free(oa);
        free(na);
        free(rj);
    }
    if (!rc)
        *repair_id = rid;
out_end:
    free(ob);
    free(nb);
    free(fees);
    free(tz);
    free(tags);
    free(prov);
    life__swap_release(&rec);
    return pfs_sqlite_end(st, rc, err);
}

int pfs_sqlite_term_activate(struct pfs_sqlite *st, const char *serial, int64_t now_ms,
                             bool *changed)
{
    sqlite3 *db = pfs_store_sqlite_db(st);
    struct pf_error err = {0};
    enum pfs_term_state to;
    struct pfs_term t;
    char *before = NULL;
    int rc;

    *changed = false;
    rc = pfs_sqlite_term_get(st, serial, &t);
    if (rc || !pfs_life_activates(&t, &to))
        return rc;
    rc = pfs_sqlite_begin(st, now_ms, &err);
    if (rc)
        return rc;
    before = life__term_text(db, serial);
    rc = before ? life__state_put(db, serial, to, now_ms, &err) : PF_EIO;
    if (!rc)
        rc = life__event(db, serial, now_ms, "activate", (int)t.state, (int)to, t.merchant_id, NULL,
                         0, &life__system, "first report after binding", &err);
    if (!rc)
        rc = life__audit_term(db, &life__system, now_ms, "terminal.activate", serial, before, NULL,
                              t.merchant_id, &err);
    free(before);
    rc = pfs_sqlite_end(st, rc, &err);
    *changed = rc == 0;
    return rc;
}

int pfs_sqlite_term_tamper(struct pfs_sqlite *st, const char *serial, const char *cmd_id,
                           int64_t now_ms, bool *changed, struct pf_error *err)
{
    sqlite3 *db = pfs_store_sqlite_db(st);
    struct pfs_term t;
    enum pfs_term_state to;
    char *before = NULL;
    int64_t rid = 0;
    int rc;

    *changed = false;
    rc = pfs_sqlite_term_get(st, serial, &t);
    if (rc)
        return rc;
    if (!pfs_life_tamper_locks(&t, &to))
        return 0; /* already locked, in repair or retired */
    rc = pfs_sqlite_begin(st, now_ms, err);
    if (rc)
        return rc;
    before = life__term_text(db, serial);
    rc = before ? life__state_put(db, serial, to, now_ms, err) : PF_EIO;
    if (!rc)
        rc = life__lock_put(db, serial, true, cmd_id, "tamper", err);
    if (!rc)
        rc = life__repair_insert(db, serial, "tamper", "tamper reported by the terminal",
                                 t.merchant_id[0] ? t.merchant_id : NULL, NULL, "[\"TAMPER\"]",
                                 now_ms, &rid, err);
    if (!rc)
        rc = life__event(db, serial, now_ms, "lock", (int)t.state, (int)to, t.merchant_id, NULL,
                         rid, &life__system, "tamper: payments locked, repair opened", err);
    if (!rc)
        rc = life__audit_term(db, &life__system, now_ms, "terminal.lock", serial, before, NULL,
                              t.merchant_id[0] ? t.merchant_id : NULL, err);
    free(before);
    rc = pfs_sqlite_end(st, rc, err);
    *changed = rc == 0;
    return rc;
}

int pfs_sqlite_term_lock(struct pfs_sqlite *st, const char *serial, bool lock, const char *cmd_id,
                         const char *reason, const struct pfs_actor *actor, int64_t now_ms,
                         struct pf_error *err)
{
    sqlite3 *db = pfs_store_sqlite_db(st);
    struct pfs_term t;
    char *before = NULL;
    int rc;

    rc = life__get(st, serial, &t, err);
    if (!rc)
        rc = pfs_life_lock(&t, lock, err);
    if (rc)
        return rc;
    rc = pfs_sqlite_begin(st, now_ms, err);
    if (rc)
        return rc;
    before = life__term_text(db, serial);
    /* The terminal is told "support" (printable ASCII); the person's reason is
     * the history's and the audit's. */
    rc = before ? life__state_put(db, serial, t.state, now_ms, err) : PF_EIO; /* the row exists */
    if (!rc)
        rc = life__lock_put(db, serial, lock, cmd_id, PFS_LOCK_BY_SUPPORT, err);
    if (!rc)
        rc = life__event(db, serial, now_ms, lock ? "lock" : "unlock", -1, -1,
                         t.merchant_id[0] ? t.merchant_id : NULL, NULL, 0, actor, reason, err);
    if (!rc)
        rc = life__audit_term(db, actor, now_ms, lock ? "terminal.lock" : "terminal.unlock", serial,
                              before, NULL, t.merchant_id[0] ? t.merchant_id : NULL, err);
    free(before);
    return pfs_sqlite_end(st, rc, err);
}

int pfs_sqlite_term_lock_report(struct pfs_sqlite *st, const char *serial, const char *cmd_id,
                                bool locked, int64_t now_ms, bool *matched)
{
    sqlite3 *db = pfs_store_sqlite_db(st);
    struct pf_error err = {0};
    struct pfs_term t;
    sqlite3_stmt *s;
    int rc;

    *matched = false;
    rc = pfs_sqlite_term_get(st, serial, &t);
    if (rc)
        return rc;
    if (!pfs_life_lock_confirms(&t, cmd_id, locked))
        return 0;
    rc = pfs_sqlite_begin(st, now_ms, &err);
    if (rc)
        return rc;
    rc = life__prepare(db, "UPDATE terminals SET lock_acked = 1 WHERE serial = ?1", &s, &err);
    if (!rc) {
        sqlite3_bind_text(s, 1, serial, -1, SQLITE_STATIC);
        rc = life__done(db, s, &err, "lock acknowledged");
    }
    if (!rc)
        rc = life__event(db, serial, now_ms, locked ? "locked" : "unlocked", -1, -1, NULL, NULL, 0,
                         &life__system,
                         locked ? "terminal confirmed: payments disabled"
                                : "terminal confirmed: payments enabled",
                         &err);
    rc = pfs_sqlite_end(st, rc, &err);
    *matched = rc == 0;
    return rc;
}

int pfs_sqlite_lock_pending_each(struct pfs_sqlite *st, pfs_lock_pending_cb cb, void *ctx)
{
    sqlite3 *db = pfs_store_sqlite_db(st);
    sqlite3_stmt *s;
    int rc = 0, step;

    if (sqlite3_prepare_v2(
                db,
                "SELECT serial, lock_cmd, lock_want, coalesce(lock_reason, '') FROM"
                " terminals WHERE lock_acked = 0 AND lock_cmd IS NOT NULL AND state <> 'retired'",
                -1, &s, NULL) != SQLITE_OK)
        return PF_EIO;
    while ((step = sqlite3_step(s)) == SQLITE_ROW) {
        struct pfs_lock_pending p = {
                (const char *)sqlite3_column_text(s, 0), (const char *)sqlite3_column_text(s, 1),
                sqlite3_column_int(s, 2) != 0, (const char *)sqlite3_column_text(s, 3)};

        rc = cb(ctx, &p);
        if (rc)
            break;
    }
    if (!rc && step != SQLITE_DONE)
        rc = PF_EIO;
    sqlite3_finalize(s);
    return rc;
}

int pfs_sqlite_term_installed_each(struct pfs_sqlite *st, pfs_serial_cb cb, void *ctx)
{
    sqlite3 *db = pfs_store_sqlite_db(st);
    sqlite3_stmt *s;
    int rc = 0, step;

    if (sqlite3_prepare_v2(db, "SELECT serial FROM terminals WHERE state = 'installed'", -1, &s,
                           NULL) != SQLITE_OK)
        return PF_EIO;
    while ((step = sqlite3_step(s)) == SQLITE_ROW) {
        rc = cb(ctx, (const char *)sqlite3_column_text(s, 0));
        if (rc)
            break;
    }
    if (!rc && step != SQLITE_DONE)
        rc = PF_EIO;
    sqlite3_finalize(s);
    return rc;
}
