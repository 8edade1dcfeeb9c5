/*
 * store_merchants.c - the merchants of store_lifecycle.h on SQLite: adding,
 * listing and changing them (the review flow and its checks are merchant.c's),
 * and the terminals bound to one. Merchants are audited with the text of
 * store/record_json.h.
 */
#include "store/sqlite/store_lifecycle_internal.h"
#include "store/sqlite/store_scope.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/record_json.h"
#include "store/sqlite/store_sqlite_internal.h"
#include "store/sqlite/store_tx.h"

/* True if another merchant holds this credit code. */
static int life__uscc_taken(sqlite3 *db, const char *uscc, const char *id, bool *taken)
{
    sqlite3_stmt *s;
    int rc;

    if (sqlite3_prepare_v2(db, "SELECT id FROM merchants WHERE uscc = ?1 AND id <> ?2", -1, &s,
                           NULL) != SQLITE_OK)
        return PF_EIO;
    sqlite3_bind_text(s, 1, uscc, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, id, -1, SQLITE_STATIC);
    rc = sqlite3_step(s);
    *taken = rc == SQLITE_ROW;
    sqlite3_finalize(s);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : PF_EIO;
}

int pfs_sqlite_merchant_add(struct pfs_sqlite *st, const struct pfs_merchant *m,
                            const struct pfs_actor *actor, int64_t now_ms, struct pf_error *err)
{
    sqlite3 *db = pfs_store_sqlite_db(st);
    struct pfs_merchant cur, rec = *m;
    char *after = NULL;
    bool taken = false;
    int rc;

    rc = pfs_sqlite_begin(st, now_ms, err);
    if (rc)
        return rc;
    rc = pfs_sqlite_merchant_get(st, m->id, &cur);
    if (rc == 0) {
        rc = pf_error_set(err, PF_EEXIST, "merchant %s: already exists", m->id);
        goto out_end;
    }
    if (rc != PF_ENOENT)
        goto out_end;
    rc = life__uscc_taken(db, m->uscc, m->id, &taken);
    if (!rc && taken)
        rc = pf_error_set(err, PF_EEXIST, "uscc: %s belongs to another merchant", m->uscc);
    if (rc)
        goto out_end;
    rec.status = PFS_MERCHANT_APPLIED;
    rec.created_ms = rec.updated_ms = now_ms;
    rc = life__merchant_write(db, &rec, true, err);
    if (rc)
        goto out_end;
    after = pfs_rec_merchant_text(&rec);
    rc = after ? life__audit(db, actor, now_ms, "merchant.add", rec.id, NULL, after, NULL, NULL,
                             rec.id, err)
               : pf_error_set(err, PF_ENOMEM, "out of memory");
out_end:
    free(after);
    return pfs_sqlite_end(st, rc, err);
}

int pfs_sqlite_merchant_list(struct pfs_sqlite *st, int status, const char *after, int limit,
                             pfs_merchant_cb cb, void *ctx, bool *more)
{
    return pfs_sqlite_merchant_list_in(st, NULL, status, after, limit, cb, ctx, more);
}

int pfs_sqlite_merchant_list_in(struct pfs_sqlite *st, const struct pfs_scope *scope, int status,
                                const char *after, int limit, pfs_merchant_cb cb, void *ctx,
                                bool *more)
{
    sqlite3 *db = pfs_store_sqlite_db(st);
    struct pfs_merchant m;
    sqlite3_stmt *s;
    int n = 0, rc = 0, step;

    *more = false;
    if (sqlite3_prepare_v2(
                db,
                "SELECT " LIFE_MERCHANT_COLS " FROM merchants WHERE (?1 IS NULL OR"
                " status = ?1) AND (?2 IS NULL OR id > ?2) AND " PFS_SQLITE_SCOPE_MERCHANT(
                        "merchants.id", "?4", "?5") " ORDER BY id LIMIT ?3",
                -1, &s, NULL) != SQLITE_OK)
        return PF_EIO;
    life__bind_text(s, 1, status >= 0 ? pfs_merchant_status_names[status] : NULL);
    life__bind_text(s, 2, after);
    sqlite3_bind_int(s, 3, limit + 1);
    pfs_sqlite_bind_scope(s, 4, 5, scope);
    while ((step = sqlite3_step(s)) == SQLITE_ROW) {
        if (n == limit) {
            *more = true;
            break;
        }
        life__merchant_read(s, &m);
        rc = cb(ctx, &m);
        if (rc)
            break;
        n++;
    }
    if (!rc && step != SQLITE_ROW && step != SQLITE_DONE)
        rc = PF_EIO;
    sqlite3_finalize(s);
    return rc;
}

int pfs_sqlite_merchant_change(struct pfs_sqlite *st, const char *id, const char *action,
                               pfs_merchant_change_fn change, void *ctx,
                               const struct pfs_actor *actor, int64_t now_ms,
                               struct pfs_merchant *out, struct pf_error *err)
{
    sqlite3 *db = pfs_store_sqlite_db(st);
    struct pfs_merchant cur, rec;
    char *before = NULL, *after = NULL, *fees = NULL;
    char act[40];
    bool taken = false;
    int rc;

    rc = pfs_sqlite_begin(st, now_ms, err);
    if (rc)
        return rc;
    rc = pfs_sqlite_merchant_get(st, id, &cur);
    if (rc == PF_ENOENT)
        rc = pf_error_set(err, PF_ENOENT, "merchant %s: no such merchant", id);
    if (rc)
        goto out_end;
    rec = cur;
    rc = change(ctx, &rec, err);
    if (rc)
        goto out_end;
    {
        int64_t bound = 0;

        rc = life__count(db, "SELECT count(*) FROM terminals WHERE merchant_id = ?1", id, &bound);
        if (!rc)
            rc = pfs_merchant_change_check(&cur, &rec, bound, err);
        if (rc)
            goto out_end;
    }
    if (strcmp(rec.uscc, cur.uscc) != 0) {
        rc = life__uscc_taken(db, rec.uscc, id, &taken);
        if (!rc && taken)
            rc = pf_error_set(err, PF_EEXIST, "uscc: %s belongs to another merchant", rec.uscc);
        if (rc)
            goto out_end;
    }
    rec.updated_ms = now_ms;
    rc = life__merchant_write(db, &rec, false, err);
    if (rc)
        goto out_end;
    fees = pfs_merchant_fee_plan_json(&rec);
    if (!fees) {
        rc = pf_error_set(err, PF_ENOMEM, "out of memory");
        goto out_end;
    }
    {
        sqlite3_stmt *s;

        rc = life__prepare(db,
                           "UPDATE terminals SET fee_plan = ?2, tz = ?3, updated_ms = ?4"
                           " WHERE merchant_id = ?1 AND (fee_plan IS NOT ?2 OR tz IS NOT ?3)",
                           &s, err);
        if (rc)
            goto out_end;
        sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 2, fees, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 3, rec.tz, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 4, now_ms);
        rc = life__done(db, s, err, "terminal fee plans");
        if (rc)
            goto out_end;
    }
    before = pfs_rec_merchant_text(&cur);
    after = pfs_rec_merchant_text(&rec);
    snprintf(act, sizeof(act), "merchant.%s", action);
    rc = before && after
                 ? life__audit(db, actor, now_ms, act, id, before, after, NULL, NULL, id, err)
                 : pf_error_set(err, PF_ENOMEM, "out of memory");
    if (!rc && out)
        *out = rec;
out_end:
    free(before);
    free(after);
    free(fees);
    return pfs_sqlite_end(st, rc, err);
}

int pfs_sqlite_merchant_terminals(struct pfs_sqlite *st, const char *id, pfs_merchant_term_cb cb,
                                  void *ctx)
{
    sqlite3 *db = pfs_store_sqlite_db(st);
    sqlite3_stmt *s;
    int rc = 0, step;

    if (sqlite3_prepare_v2(db,
                           "SELECT t.serial AS serial, d.model AS model, t.state AS state,"
                           " t.bound_ms AS bound_ms, t.lock_want AS locked FROM terminals t"
                           " JOIN devices d ON d.serial = t.serial WHERE t.merchant_id = ?1"
                           " ORDER BY t.serial",
                           -1, &s, NULL) != SQLITE_OK)
        return PF_EIO;
    sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
    while ((step = sqlite3_step(s)) == SQLITE_ROW) {
        struct pfs_merchant_term_view t = {
                .serial = life__ctext(s, 0),
                .model = life__ctext(s, 1),
                .state = life__ctext(s, 2),
                .bound_ms = life__cint(s, 3),
                .locked = sqlite3_column_int(s, 4) != 0,
        };

        rc = cb(ctx, &t);
        if (rc)
            break;
    }
    if (!rc && step != SQLITE_DONE)
        rc = PF_EIO;
    sqlite3_finalize(s);
    return rc;
}
