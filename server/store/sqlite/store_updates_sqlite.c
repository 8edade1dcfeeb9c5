/*
 * store_updates_sqlite.c - the SQLite backend of store_updates.h (tables of
 * migration 005). Shares the connection of store_sqlite.c and the helpers of
 * store_tx.h; the audit text of uploads and offers comes from
 * store/record_json.h.
 */
#include "store/store_updates.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/record_json.h"
#include "store/store_rollouts.h"
#include "store/sqlite/store_sqlite_internal.h"
#include "store/sqlite/store_tx.h"

static void upst__col(sqlite3_stmt *s, int col, char *out, size_t size)
{
    const unsigned char *t = sqlite3_column_text(s, col);

    snprintf(out, size, "%s", t ? (const char *)t : "");
}

static int upst__kind(const char *name)
{
    for (int i = 0; pf_bundle_kind_names[i]; i++) {
        if (strcmp(name, pf_bundle_kind_names[i]) == 0)
            return i;
    }
    return PF_KIND_FIRMWARE;
}

/* --- bundles --- */

#define UPST__BUNDLE_COLS                                                                          \
    "id, kind, version, models, hw_revs, size, manifest, created_s, expires_s, uploaded_ms"

static void upst__bundle_read(sqlite3_stmt *s, struct pfs_bundle_rec *b)
{
    char kind[16];

    memset(b, 0, sizeof(*b));
    upst__col(s, 0, b->id, sizeof(b->id));
    upst__col(s, 1, kind, sizeof(kind));
    b->kind = upst__kind(kind);
    upst__col(s, 2, b->version, sizeof(b->version));
    upst__col(s, 3, b->models, sizeof(b->models));
    upst__col(s, 4, b->hw_revs, sizeof(b->hw_revs));
    b->size = (uint64_t)sqlite3_column_int64(s, 5);
    upst__col(s, 6, b->manifest, sizeof(b->manifest));
    b->created_s = sqlite3_column_int64(s, 7);
    b->expires_s = sqlite3_column_int64(s, 8);
    b->uploaded_ms = sqlite3_column_int64(s, 9);
}

int pfs_sqlite_bundle_put(struct pfs_sqlite *st, const struct pfs_bundle_rec *b,
                          const struct pfs_actor *actor, int64_t now_ms, bool *created,
                          struct pf_error *err)
{
    sqlite3 *db = pfs_store_sqlite_db(st);
    char *after;
    int rc;

    *created = false;
    rc = pfs_sqlite_begin(st, now_ms, err);
    if (rc)
        return rc;
    rc = pfs_store_sql_run(
            db,
            "INSERT INTO bundles (" UPST__BUNDLE_COLS ") VALUES (?1,?2,?3,?4,?5,?6,?7,?8,"
            "?9,?10) ON CONFLICT (id) DO NOTHING",
            "SSSSSiSiii", b->id, pf_bundle_kind_names[b->kind], b->version, b->models, b->hw_revs,
            (int64_t)b->size, b->manifest, b->created_s, b->expires_s, b->uploaded_ms);
    if (rc) {
        pf_error_set(err, rc, "store: bundle %s: %s", b->id, sqlite3_errmsg(db));
        return pfs_sqlite_end(st, rc, err);
    }
    if (sqlite3_changes(db) == 0)
        return pfs_sqlite_end(st, 0, err);
    after = pfs_rec_bundle_text(b);
    if (after) {
        struct pfs_sqlite_audit a = {actor, now_ms, "bundle.upload", b->id, NULL, after, NULL,
                                     NULL,  NULL};

        rc = pfs_sqlite_audit_write(db, &a, NULL);
    } else {
        rc = PF_ENOMEM;
    }
    free(after);
    if (rc)
        pf_error_set(err, rc, "store: audit: %s", sqlite3_errmsg(db));
    rc = pfs_sqlite_end(st, rc, err);
    if (rc == 0)
        *created = true;
    return rc;
}

int pfs_sqlite_bundle_get(struct pfs_sqlite *st, const char *id, struct pfs_bundle_rec *b)
{
    sqlite3_stmt *s;
    int rc;

    if (sqlite3_prepare_v2(pfs_store_sqlite_db(st),
                           "SELECT " UPST__BUNDLE_COLS " FROM bundles WHERE id = ?1", -1, &s,
                           NULL) != SQLITE_OK)
        return PF_EIO;
    sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        upst__bundle_read(s, b);
    sqlite3_finalize(s);
    return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? PF_ENOENT : PF_EIO;
}

int pfs_sqlite_bundle_list(struct pfs_sqlite *st, int limit, pfs_bundle_cb cb, void *ctx)
{
    struct pfs_bundle_rec b;
    sqlite3_stmt *s;
    int rc, cbrc = 0;

    if (sqlite3_prepare_v2(pfs_store_sqlite_db(st),
                           "SELECT " UPST__BUNDLE_COLS
                           " FROM bundles ORDER BY uploaded_ms DESC, id LIMIT ?1",
                           -1, &s, NULL) != SQLITE_OK)
        return PF_EIO;
    sqlite3_bind_int(s, 1, limit);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        upst__bundle_read(s, &b);
        cbrc = cb(ctx, &b);
        if (cbrc)
            break;
    }
    sqlite3_finalize(s);
    if (cbrc)
        return cbrc;
    return rc == SQLITE_DONE ? 0 : PF_EIO;
}

/* --- offers --- */

int pfs_sqlite_offer_put(struct pfs_sqlite *st, const struct pfs_offer_rec *o,
                         const struct pfs_bundle_rec *b, const char *body,
                         const struct pfs_actor *actor, struct pf_error *err)
{
    sqlite3 *db = pfs_store_sqlite_db(st);
    char *after;
    int rc;

    rc = pfs_sqlite_begin(st, o->created_ms, err);
    if (rc)
        return rc;
    rc = pfs_store_offer_rows(db, o, b, body, actor && actor->name ? actor->name : "-");
    if (rc) {
        pf_error_set(err, rc, "store: offer %s: %s", o->id,
                     rc == PF_EEXIST ? "offer id taken" : sqlite3_errmsg(db));
        return pfs_sqlite_end(st, rc, err);
    }
    after = pfs_rec_offer_text(o, b);
    if (after) {
        struct pfs_sqlite_audit a = {
                actor, o->created_ms, "device.update", o->serial, NULL, after, NULL, NULL, NULL};

        rc = pfs_sqlite_audit_write(db, &a, NULL);
    } else {
        rc = PF_ENOMEM;
    }
    free(after);
    if (rc)
        pf_error_set(err, rc, "store: audit: %s", sqlite3_errmsg(db));
    return pfs_sqlite_end(st, rc, err);
}

int pfs_sqlite_offer_pending(struct pfs_sqlite *st, const char *serial, int64_t now_ms, char **body)
{
    sqlite3_stmt *s;
    int rc;

    *body = NULL;
    if (sqlite3_prepare_v2(
                pfs_store_sqlite_db(st),
                "SELECT o.body FROM update_state u JOIN update_offers o ON o.id = u.offer"
                " WHERE u.serial = ?1 AND u.status = 'offered' AND o.deadline_ms > ?2"
                " AND o.body IS NOT NULL",
                -1, &s, NULL) != SQLITE_OK)
        return PF_EIO;
    sqlite3_bind_text(s, 1, serial, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, now_ms);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        *body = strdup((const char *)sqlite3_column_text(s, 0));
        rc = *body ? 0 : PF_ENOMEM;
    } else {
        rc = rc == SQLITE_DONE ? PF_ENOENT : PF_EIO;
    }
    sqlite3_finalize(s);
    return rc;
}

int pfs_sqlite_offer_check(struct pfs_sqlite *st, const char *serial, const char *offer)
{
    int64_t n = 0;
    int rc = pfs_store_sql_int(pfs_store_sqlite_db(st),
                               "SELECT count(*) FROM update_offers WHERE id = ?1 AND serial = ?2",
                               &n, "SS", offer, serial);

    if (rc)
        return rc;
    return n > 0 ? 0 : PF_ENOENT;
}

int pfs_sqlite_offer_current(struct pfs_sqlite *st, const char *serial, int64_t now_ms,
                             struct pfs_offer_rec *o, uint64_t *bundle_size)
{
    sqlite3_stmt *s;
    int rc;

    memset(o, 0, sizeof(*o));
    *bundle_size = 0;
    if (sqlite3_prepare_v2(
                pfs_store_sqlite_db(st),
                "SELECT o.id, o.bundle, o.created_ms, o.deadline_ms, b.size FROM update_state u"
                " JOIN update_offers o ON o.id = u.offer JOIN bundles b ON b.id = o.bundle"
                " WHERE u.serial = ?1 AND u.status NOT IN"
                " ('success','failed','rolled_back','refused') AND o.deadline_ms > ?2",
                -1, &s, NULL) != SQLITE_OK)
        return PF_EIO;
    sqlite3_bind_text(s, 1, serial, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, now_ms);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        upst__col(s, 0, o->id, sizeof(o->id));
        upst__col(s, 1, o->bundle, sizeof(o->bundle));
        snprintf(o->serial, sizeof(o->serial), "%s", serial);
        o->created_ms = sqlite3_column_int64(s, 2);
        o->deadline_ms = sqlite3_column_int64(s, 3);
        *bundle_size = (uint64_t)sqlite3_column_int64(s, 4);
        rc = 0;
    } else {
        rc = rc == SQLITE_DONE ? PF_ENOENT : PF_EIO;
    }
    sqlite3_finalize(s);
    return rc;
}

/* --- events --- */

int pfs_sqlite_update_expire(struct pfs_sqlite *st, int64_t before_ms, int64_t now_ms, int max,
                             int *deleted)
{
    struct pfs_sqlite_tx *tx;
    sqlite3 *db;
    int rc;

    *deleted = 0;
    rc = pfs_sqlite_tx_begin(st, PFS_DURABILITY_NORMAL, now_ms, &tx, NULL);
    if (rc)
        return rc;
    db = pfs_sqlite_tx_db(tx);
    /* Events arrive in seq order, so the oldest are the first rows: each call
     * looks at max rows only, like the health retention. */
    rc = pfs_store_sql_run(db,
                           "DELETE FROM update_events WHERE seq IN (SELECT seq FROM update_events"
                           " ORDER BY seq LIMIT ?2) AND recv_ms < ?1",
                           "ii", before_ms, (int64_t)max);
    if (rc) {
        pfs_sqlite_tx_rollback(tx);
        return rc;
    }
    *deleted = sqlite3_changes(db);
    return pfs_sqlite_tx_commit(tx, NULL);
}

int pfs_sqlite_update_event_put(struct pfs_sqlite *st, const char *serial,
                                const struct pf_update_event *e, int64_t recv_ms, bool *recorded)
{
    const char *status = pf_update_status_names[e->status];
    char bundle[PF_B2_HEX_LEN + 1];
    int64_t pct = e->status == PF_UPD_DOWNLOADING ? e->percent : -1;
    struct pfs_sqlite_tx *tx;
    sqlite3 *db;
    int rc;

    *recorded = false;
    pf_b2_hex(e->bundle, bundle);
    rc = pfs_sqlite_tx_begin(st, PFS_DURABILITY_FULL, recv_ms, &tx, NULL);
    if (rc)
        return rc;
    db = pfs_sqlite_tx_db(tx);
    rc = pfs_store_sql_run(
            db,
            "INSERT INTO update_events (serial, id, offer, bundle, kind, version, status,"
            " ts_ms, recv_ms, reason, percent, code, message) VALUES (?1,?2,?3,?4,?5,?6,"
            "?7,?8,?9,?10,?11,?12,?13) ON CONFLICT (serial, id) DO NOTHING",
            "SSSSSSSiisnss", serial, e->id, e->offer, bundle, pf_bundle_kind_names[e->kind],
            e->version, status, e->ts_ms, recv_ms, e->reason, pct, e->code, e->message);
    if (rc || sqlite3_changes(db) == 0)
        goto out_end;
    rc = pfs_store_sql_run(db,
                           "UPDATE update_state SET status=?3, percent=?4, reason=?5, code=?6,"
                           " updated_ms=?7 WHERE serial=?1 AND offer=?2 AND status NOT IN"
                           " ('success','failed','rolled_back','refused')",
                           "SSSnssi", serial, e->offer, status, pct, e->reason, e->code, recv_ms);
    /* The rollout member holding this offer moves in the same transaction. */
    if (!rc)
        rc = pfs_sqlite_rollout_on_event(tx, serial, e, recv_ms);
    if (!rc)
        *recorded = true;
out_end:
    if (rc) {
        pfs_sqlite_tx_rollback(tx);
        *recorded = false;
        return rc;
    }
    rc = pfs_sqlite_tx_commit(tx, NULL);
    if (rc)
        *recorded = false;
    return rc;
}

int pfs_sqlite_update_prune(struct pfs_sqlite *st, const char *serial, int keep, int64_t now_ms,
                            int *deleted)
{
    struct pfs_sqlite_tx *tx;
    sqlite3 *db;
    int rc;

    *deleted = 0;
    rc = pfs_sqlite_tx_begin(st, PFS_DURABILITY_NORMAL, now_ms, &tx, NULL);
    if (rc)
        return rc;
    db = pfs_sqlite_tx_db(tx);
    /* The terminal's rows only, through its (serial, id) index: keep + 1 at most. */
    rc = pfs_store_sql_run(db,
                           "DELETE FROM update_events WHERE serial = ?1 AND seq < (SELECT min(seq)"
                           " FROM (SELECT seq FROM update_events WHERE serial = ?1"
                           " ORDER BY seq DESC LIMIT ?2))",
                           "Si", serial, (int64_t)keep);
    if (rc) {
        pfs_sqlite_tx_rollback(tx);
        return rc;
    }
    *deleted = sqlite3_changes(db);
    return pfs_sqlite_tx_commit(tx, NULL);
}

static void upst__update_read(sqlite3_stmt *s, struct pfs_update_rec *r)
{
    char kind[16];

    memset(r, 0, sizeof(*r));
    upst__col(s, 0, r->serial, sizeof(r->serial));
    upst__col(s, 1, r->id, sizeof(r->id));
    upst__col(s, 2, r->offer, sizeof(r->offer));
    upst__col(s, 3, r->bundle, sizeof(r->bundle));
    upst__col(s, 4, kind, sizeof(kind));
    r->kind = upst__kind(kind);
    upst__col(s, 5, r->version, sizeof(r->version));
    upst__col(s, 6, r->status, sizeof(r->status));
    r->ts_ms = sqlite3_column_int64(s, 7);
    r->recv_ms = sqlite3_column_int64(s, 8);
    upst__col(s, 9, r->reason, sizeof(r->reason));
    r->percent = sqlite3_column_type(s, 10) == SQLITE_NULL ? -1 : sqlite3_column_int(s, 10);
    upst__col(s, 11, r->code, sizeof(r->code));
    upst__col(s, 12, r->message, sizeof(r->message));
}

int pfs_sqlite_update_events(struct pfs_sqlite *st, const char *serial, int limit, pfs_update_cb cb,
                             void *ctx)
{
    struct pfs_update_rec r;
    sqlite3_stmt *s;
    int rc, cbrc = 0;

    if (sqlite3_prepare_v2(pfs_store_sqlite_db(st),
                           "SELECT serial, id, offer, bundle, kind, version, status, ts_ms,"
                           " recv_ms, reason, percent, code, message FROM update_events"
                           " WHERE serial = ?1 ORDER BY seq DESC LIMIT ?2",
                           -1, &s, NULL) != SQLITE_OK)
        return PF_EIO;
    sqlite3_bind_text(s, 1, serial, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 2, limit);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        upst__update_read(s, &r);
        cbrc = cb(ctx, &r);
        if (cbrc)
            break;
    }
    sqlite3_finalize(s);
    if (cbrc)
        return cbrc;
    return rc == SQLITE_DONE ? 0 : PF_EIO;
}

int pfs_sqlite_update_current(struct pfs_sqlite *st, const char *serial, struct pfs_update_rec *r)
{
    sqlite3_stmt *s;
    int rc;

    if (sqlite3_prepare_v2(pfs_store_sqlite_db(st),
                           "SELECT serial, '', offer, bundle, kind, version, status, 0,"
                           " updated_ms, reason, percent, code, NULL FROM update_state"
                           " WHERE serial = ?1",
                           -1, &s, NULL) != SQLITE_OK)
        return PF_EIO;
    sqlite3_bind_text(s, 1, serial, -1, SQLITE_STATIC);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        upst__update_read(s, r);
    sqlite3_finalize(s);
    return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? PF_ENOENT : PF_EIO;
}

int pfs_sqlite_update_counts(struct pfs_sqlite *st, pfs_count_cb cb, void *ctx)
{
    sqlite3_stmt *s;
    int rc, cbrc = 0;

    if (sqlite3_prepare_v2(pfs_store_sqlite_db(st),
                           "SELECT status, count(*) FROM update_state GROUP BY status ORDER BY"
                           " status",
                           -1, &s, NULL) != SQLITE_OK)
        return PF_EIO;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        cbrc = cb(ctx, (const char *)sqlite3_column_text(s, 0), sqlite3_column_int64(s, 1));
        if (cbrc)
            break;
    }
    sqlite3_finalize(s);
    if (cbrc)
        return cbrc;
    return rc == SQLITE_DONE ? 0 : PF_EIO;
}

int pfs_sqlite_update_event_count(struct pfs_sqlite *st, const char *serial, const char *id,
                                  int64_t *n)
{
    sqlite3_stmt *s;
    int rc;

    if (sqlite3_prepare_v2(pfs_store_sqlite_db(st),
                           "SELECT count(*) FROM update_events WHERE serial = ?1 AND id = ?2", -1,
                           &s, NULL) != SQLITE_OK)
        return PF_EIO;
    sqlite3_bind_text(s, 1, serial, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, id, -1, SQLITE_STATIC);
    rc = sqlite3_step(s);
    *n = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
    sqlite3_finalize(s);
    return rc == SQLITE_ROW ? 0 : PF_EIO;
}
