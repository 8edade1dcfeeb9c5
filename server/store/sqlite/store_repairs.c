/*
 * store_repairs.c - the repair records of store_lifecycle.h on SQLite (opening,
 * moving them; repair.c decides what each step does to the terminal; audited
 * with the text of store/record_json.h), and the records of a terminal's
 * history and the audit search.
 */
#include "store/sqlite/store_lifecycle_internal.h"
#include "store/sqlite/store_scope.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/sqlite/store_sqlite_internal.h"
#include "store/sqlite/store_tx.h"

int pfs_sqlite_repair_view(struct pfs_sqlite *st, int64_t id, pfs_repair_view_cb cb, void *ctx)
{
    return life__repair_view(pfs_store_sqlite_db(st), id, cb, ctx);
}

int pfs_sqlite_repair_open(struct pfs_sqlite *st, const char *serial, const char *reason,
                           const char *faults_json, const struct pfs_actor *actor, int64_t now_ms,
                           int64_t *id, struct pf_error *err)
{
    sqlite3 *db = pfs_store_sqlite_db(st);
    struct pfs_term t;
    enum pfs_term_state to;
    char *before = NULL, *rj = NULL;
    int64_t open = 0;
    int rc;

    *id = 0;
    rc = pfs_sqlite_begin(st, now_ms, err);
    if (rc)
        return rc;
    rc = life__get(st, serial, &t, err);
    if (!rc)
        rc = life__open_repair_id(db, serial, &open);
    if (!rc)
        rc = pfs_life_repair_open(&t, open, &to, err);
    if (rc)
        goto out_end;
    before = life__term_text(db, serial);
    rc = before ? life__state_put(db, serial, to, now_ms, err) : life__fail(db, err, "view");
    if (!rc)
        rc = life__repair_insert(db, serial, "support", reason, NULL, NULL, faults_json, now_ms, id,
                                 err);
    if (!rc)
        rc = life__event(db, serial, now_ms, "repair_open", (int)t.state, (int)to, NULL, NULL, *id,
                         actor, reason, err);
    if (!rc) {
        rj = life__repair_text(db, *id);
        rc = rj ? life__audit(db, actor, now_ms, "repair.open", serial, before, rj, serial, NULL,
                              NULL, err)
                : life__fail(db, err, "repair view");
    }
out_end:
    free(before);
    free(rj);
    return pfs_sqlite_end(st, rc, err);
}

int pfs_sqlite_repair_change(struct pfs_sqlite *st, int64_t id, const struct pfs_repair_change *c,
                             const struct pfs_actor *actor, int64_t now_ms, bool *unlock,
                             char *serial_out, struct pf_error *err)
{
    sqlite3 *db = pfs_store_sqlite_db(st);
    char serial[PF_SERIAL_MAX + 1] = "", state[32] = "", merchant[PFS_MERCHANT_ID_MAX + 1] = "";
    char *before = NULL, *after = NULL;
    enum pfs_repair_state from;
    struct pfs_term t;
    sqlite3_stmt *s;
    int rc;

    *unlock = false;
    rc = pfs_sqlite_begin(st, now_ms, err);
    if (rc)
        return rc;
    rc = life__prepare(db,
                       "SELECT serial, state, coalesce(merchant_id, '') FROM repairs WHERE id=?1",
                       &s, err);
    if (rc)
        goto out_end;
    sqlite3_bind_int64(s, 1, id);
    if (sqlite3_step(s) == SQLITE_ROW) {
        life__col(s, 0, serial, sizeof(serial));
        life__col(s, 1, state, sizeof(state));
        life__col(s, 2, merchant, sizeof(merchant));
    }
    sqlite3_finalize(s);
    if (!serial[0]) {
        rc = pf_error_set(err, PF_ENOENT, "repair %lld: no such repair", (long long)id);
        goto out_end;
    }
    if (serial_out)
        memcpy(serial_out, serial, sizeof(serial));
    from = (enum pfs_repair_state)pfs_repair_state_parse(state);
    rc = pfs_repair_check(id, from, c->to, err);
    if (rc)
        goto out_end;
    rc = life__get(st, serial, &t, err);
    if (rc)
        goto out_end;
    before = life__repair_text(db, id);
    /* The terminal follows the repair. */
    if (c->to >= 0) {
        struct pfs_repair_plan plan;

        rc = pfs_repair_plan_for(id, (enum pfs_repair_state)c->to, &t, &plan, err);
        if (rc)
            goto out_end;
        if (plan.leaves_field) {
            char *tags = life__text1(db, "SELECT tags FROM terminals WHERE serial = ?1", serial, 0);
            struct life__row r = {plan.to, NULL, NULL, NULL, tags, 0, NULL};

            rc = life__row_put(db, serial, &r, now_ms, err);
            free(tags);
        } else if (plan.to != t.state) {
            rc = life__state_put(db, serial, plan.to, now_ms, err);
        }
        if (!rc) {
            /* Every step of the repair is a line of the terminal's history. */
            rc = life__event(db, serial, now_ms, pfs_term_event_names[plan.ev], (int)t.state,
                             (int)plan.to, NULL, NULL, id, actor, pfs_repair_state_names[c->to],
                             err);
        }
        if (!rc && plan.revoke) {
            rc = life__prepare(db,
                               "UPDATE devices SET status='revoked', revoked_ms=?2 WHERE"
                               " serial=?1 AND status <> 'revoked'",
                               &s, err);
            if (!rc) {
                sqlite3_bind_text(s, 1, serial, -1, SQLITE_STATIC);
                sqlite3_bind_int64(s, 2, now_ms);
                rc = life__done(db, s, err, "revoke");
            }
        }
        if (!rc && plan.unlock) {
            rc = life__lock_put(db, serial, false, c->unlock_cmd, "repair closed", err);
            if (!rc)
                rc = life__event(db, serial, now_ms, "unlock", -1, -1, NULL, NULL, id, actor,
                                 "repair closed: unlock command sent", err);
            *unlock = rc == 0;
        }
        if (rc)
            goto out_end;
    }
    rc = life__prepare(db,
                       "UPDATE repairs SET state = coalesce(?2, state),"
                       " fault_codes = coalesce(?3, fault_codes), parts = coalesce(?4, parts),"
                       " notes = CASE WHEN ?5 IS NULL THEN notes WHEN notes = '' THEN ?5"
                       " ELSE notes || char(10) || ?5 END,"
                       " received_ms = CASE WHEN ?2 = 'received' THEN ?6 ELSE received_ms END,"
                       " diagnosed_ms = CASE WHEN ?2 = 'diagnosed' THEN ?6 ELSE diagnosed_ms END,"
                       " repaired_ms = CASE WHEN ?2 = 'repaired' THEN ?6 ELSE repaired_ms END,"
                       " closed_ms = CASE WHEN ?2 IN ('returned_to_stock', 'scrapped') THEN ?6"
                       " ELSE closed_ms END, updated_ms = ?6 WHERE id = ?1",
                       &s, err);
    if (rc)
        goto out_end;
    sqlite3_bind_int64(s, 1, id);
    life__bind_text(s, 2, c->to >= 0 ? pfs_repair_state_names[c->to] : NULL);
    life__bind_text(s, 3, c->faults_json);
    life__bind_text(s, 4, c->parts_json);
    life__bind_text(s, 5, c->notes);
    sqlite3_bind_int64(s, 6, now_ms);
    rc = life__done(db, s, err, "repair update");
    if (rc)
        goto out_end;
    after = life__repair_text(db, id);
    rc = before && after
                 ? life__audit(db, actor, now_ms,
                               c->to >= 0 && pfs_repair_state_final((enum pfs_repair_state)c->to)
                                       ? "repair.close"
                                       : "repair.update",
                               serial, before, after, serial, NULL, merchant[0] ? merchant : NULL,
                               err)
                 : life__fail(db, err, "repair view");
    if (!rc && c->to < 0)
        rc = life__event(db, serial, now_ms, "repair_update", -1, -1, NULL, NULL, id, actor,
                         "fault codes, parts or notes", err);
out_end:
    free(before);
    free(after);
    return pfs_sqlite_end(st, rc, err);
}

int pfs_sqlite_repair_list(struct pfs_sqlite *st, const char *serial, int state, int limit,
                           pfs_repair_view_cb cb, void *ctx)
{
    return pfs_sqlite_repair_list_in(st, NULL, serial, state, limit, cb, ctx);
}

int pfs_sqlite_repair_list_in(struct pfs_sqlite *st, const struct pfs_scope *scope,
                              const char *serial, int state, int limit, pfs_repair_view_cb cb,
                              void *ctx)
{
    sqlite3 *db = pfs_store_sqlite_db(st);
    char sql[sizeof(LIFE_REPAIR_VIEW) + 1000];
    sqlite3_stmt *s;
    int rc = 0, step;

    /* A repair is its merchant's when it has one (the terminal may have been
     * swapped out and unbound since), else its terminal's. */
    snprintf(sql, sizeof(sql),
             "%s WHERE (?1 IS NULL OR serial = ?1) AND (?2 IS NULL OR state = ?2) AND"
             " (?3 = 0 OR closed_ms IS NULL) AND (CASE WHEN merchant_id IS NOT NULL "
             "THEN " PFS_SQLITE_SCOPE_MERCHANT(
                     "merchant_id", "?5",
                     "?6") " ELSE " PFS_SQLITE_SCOPE_TERM("serial", "?5",
                                                          "?6") " END) ORDER BY id DESC LIMIT ?4",
             LIFE_REPAIR_VIEW);
    if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK)
        return PF_EIO;
    life__bind_text(s, 1, serial);
    life__bind_text(s, 2, state >= 0 ? pfs_repair_state_names[state] : NULL);
    sqlite3_bind_int(s, 3, state == -2);
    sqlite3_bind_int(s, 4, limit);
    pfs_sqlite_bind_scope(s, 5, 6, scope);
    while ((step = sqlite3_step(s)) == SQLITE_ROW) {
        struct pfs_repair_view v;

        life__repair_read(s, &v);
        rc = cb(ctx, &v);
        if (rc)
            break;
    }
    if (!rc && step != SQLITE_DONE)
        rc = PF_EIO;
    sqlite3_finalize(s);
    return rc;
}

/* --- history and audit --- */

int pfs_sqlite_term_events(struct pfs_sqlite *st, const char *serial, int limit,
                           pfs_term_event_cb cb, void *ctx)
{
    sqlite3_stmt *s;
    int rc = 0, step;

    if (sqlite3_prepare_v2(pfs_store_sqlite_db(st),
                           "SELECT id, ts_ms, kind, from_state, to_state, merchant_id, other,"
                           " repair_id, actor, detail FROM (SELECT * FROM terminal_events"
                           " WHERE serial = ?1 ORDER BY id DESC LIMIT ?2) ORDER BY id",
                           -1, &s, NULL) != SQLITE_OK)
        return PF_EIO;
    sqlite3_bind_text(s, 1, serial, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 2, limit);
    while ((step = sqlite3_step(s)) == SQLITE_ROW) {
        struct pfs_term_event_view e = {
                .id = sqlite3_column_int64(s, 0),
                .ts_ms = sqlite3_column_int64(s, 1),
                .kind = life__ctext(s, 2),
                .from = life__ctext(s, 3),
                .to = life__ctext(s, 4),
                .merchant_id = life__ctext(s, 5),
                .other = life__ctext(s, 6),
                .repair_id = life__cint(s, 7),
                .actor = life__ctext(s, 8),
                .detail = life__ctext(s, 9),
        };

        rc = cb(ctx, &e);
        if (rc)
            break;
    }
    if (!rc && step != SQLITE_DONE)
        rc = PF_EIO;
    sqlite3_finalize(s);
    return rc;
}

int pfs_sqlite_term_updates(struct pfs_sqlite *st, const char *serial, int limit,
                            pfs_update_view_cb cb, void *ctx)
{
    sqlite3_stmt *s;
    int rc = 0, step;

    if (sqlite3_prepare_v2(pfs_store_sqlite_db(st),
                           "SELECT recv_ms, offer, bundle, kind, version, status, reason, code,"
                           " message FROM update_events WHERE serial = ?1 ORDER BY seq DESC"
                           " LIMIT ?2",
                           -1, &s, NULL) != SQLITE_OK)
        return PF_EIO;
    sqlite3_bind_text(s, 1, serial, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 2, limit);
    while ((step = sqlite3_step(s)) == SQLITE_ROW) {
        struct pfs_update_view u = {
                .ts_ms = sqlite3_column_int64(s, 0),
                .offer = life__ctext(s, 1),
                .bundle = life__ctext(s, 2),
                .kind = life__ctext(s, 3),
                .version = life__ctext(s, 4),
                .status = life__ctext(s, 5),
                .reason = life__ctext(s, 6),
                .code = life__ctext(s, 7),
                .message = life__ctext(s, 8),
        };

        rc = cb(ctx, &u);
        if (rc)
            break;
    }
    if (!rc && step != SQLITE_DONE)
        rc = PF_EIO;
    sqlite3_finalize(s);
    return rc;
}

int pfs_sqlite_audit_query(struct pfs_sqlite *st, const char *serial, const char *merchant_id,
                           int64_t since_ms, int64_t before_id, int limit, pfs_audit_cb cb,
                           void *ctx)
{
    sqlite3 *db = pfs_store_sqlite_db(st);
    sqlite3_stmt *s;
    int rc = 0, step;

    if (sqlite3_prepare_v2(
                db,
                "SELECT id, ts_ms, actor, role, action, target, before, after FROM audit a"
                " WHERE (?1 IS NULL OR a.target = ?1 OR a.id IN (SELECT audit_id FROM audit_ref"
                " WHERE serial = ?1))"
                " AND (?2 IS NULL OR a.id IN (SELECT audit_id FROM audit_ref WHERE"
                " merchant_id = ?2))"
                " AND a.ts_ms >= ?3 AND (?4 = 0 OR a.id < ?4) ORDER BY a.id DESC LIMIT ?5",
                -1, &s, NULL) != SQLITE_OK)
        return PF_EIO;
    life__bind_text(s, 1, serial);
    life__bind_text(s, 2, merchant_id);
    sqlite3_bind_int64(s, 3, since_ms);
    sqlite3_bind_int64(s, 4, before_id);
    sqlite3_bind_int(s, 5, limit);
    while ((step = sqlite3_step(s)) == SQLITE_ROW) {
        struct pfs_audit a;

        memset(&a, 0, sizeof(a));
        a.id = sqlite3_column_int64(s, 0);
        a.ts_ms = sqlite3_column_int64(s, 1);
        life__col(s, 2, a.actor, sizeof(a.actor));
        life__col(s, 3, a.role, sizeof(a.role));
        life__col(s, 4, a.action, sizeof(a.action));
        life__col(s, 5, a.target, sizeof(a.target));
        a.before = (const char *)sqlite3_column_text(s, 6);
        a.after = (const char *)sqlite3_column_text(s, 7);
        rc = cb(ctx, &a);
        if (rc)
            break;
    }
    if (!rc && step != SQLITE_DONE && step != SQLITE_ROW)
        rc = PF_EIO;
    sqlite3_finalize(s);
    return rc;
}
