/*
 * store_notify_sqlite.c - webhook events, deliveries and their log (store_notify.h).
 */
#include <string.h>

#include "store/sqlite/store_tx.h"
#include "store/store_notify.h"

const char *const pfs_delivery_state_names[] = {"pending", "delivered", "failed", NULL};

int pfs_sqlite_notify_add(struct pfs_sqlite *st, const struct pfs_notify_event *ev,
                          const char *const *hooks, size_t n, int64_t now_ms, struct pf_error *err)
{
    sqlite3 *db = pfs_store_sqlite_db(st);
    int rc = pfs_sqlite_begin(st, now_ms, err);

    if (rc)
        return rc;
    rc = pfs_store_sql_run(db,
                           "INSERT INTO notify_events (id, kind, subject, body, created_ms)"
                           " VALUES (?1, ?2, ?3, ?4, ?5)",
                           "SSSSi", ev->id, ev->kind, ev->subject, ev->body, ev->created_ms);
    for (size_t i = 0; !rc && i < n; i++)
        rc = pfs_store_sql_run(db,
                               "INSERT INTO notify_deliveries (hook, event, next_ms, created_ms)"
                               " VALUES (?1, ?2, ?3, ?3)",
                               "SSi", hooks[i], ev->id, now_ms);
    if (rc && !err->msg[0])
        pf_error_set(err, rc, "store: notification %s: %s", ev->id, sqlite3_errmsg(db));
    return pfs_sqlite_end(st, rc, err);
}

#define DLV_COLS                                                                                   \
    "d.id, d.hook, d.event, e.kind, e.subject, d.state, d.attempts, d.next_ms, d.last_status,"     \
    " d.last_error, d.created_ms, d.done_ms, e.body"

static int dlv__each(sqlite3_stmt *s, pfs_delivery_cb cb, void *ctx)
{
    int rc, cbrc = 0;

    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct pfs_delivery d;
        const char *state = (const char *)sqlite3_column_text(s, 5);

        memset(&d, 0, sizeof(d));
        d.id = sqlite3_column_int64(s, 0);
        pfs_sqlite_col_text(s, 1, d.hook, sizeof(d.hook));
        pfs_sqlite_col_text(s, 2, d.event, sizeof(d.event));
        pfs_sqlite_col_text(s, 3, d.kind, sizeof(d.kind));
        pfs_sqlite_col_text(s, 4, d.subject, sizeof(d.subject));
        for (int i = 0; i < PFS_DLV_COUNT; i++) {
            if (state && strcmp(state, pfs_delivery_state_names[i]) == 0)
                d.state = (enum pfs_delivery_state)i;
        }
        d.attempts = sqlite3_column_int(s, 6);
        d.next_ms = sqlite3_column_int64(s, 7);
        d.last_status = sqlite3_column_int(s, 8);
        pfs_sqlite_col_text(s, 9, d.last_error, sizeof(d.last_error));
        d.created_ms = sqlite3_column_int64(s, 10);
        d.done_ms = sqlite3_column_int64(s, 11);
        d.body = (const char *)sqlite3_column_text(s, 12);
        cbrc = cb(ctx, &d);
        if (cbrc)
            break;
    }
    sqlite3_finalize(s);
    if (cbrc)
        return cbrc;
    return rc == SQLITE_DONE ? 0 : PF_EIO;
}

int pfs_sqlite_notify_due(struct pfs_sqlite *st, int64_t now_ms, int limit, pfs_delivery_cb cb,
                          void *ctx)
{
    sqlite3_stmt *s;

    if (sqlite3_prepare_v2(pfs_store_sqlite_db(st),
                           "SELECT " DLV_COLS " FROM notify_deliveries d JOIN notify_events e"
                           " ON e.id = d.event WHERE d.state = 'pending' AND d.next_ms <= ?1"
                           " ORDER BY d.next_ms, d.id LIMIT ?2",
                           -1, &s, NULL) != SQLITE_OK)
        return PF_EIO;
    sqlite3_bind_int64(s, 1, now_ms);
    sqlite3_bind_int(s, 2, limit);
    return dlv__each(s, cb, ctx);
}

int pfs_sqlite_notify_next(struct pfs_sqlite *st, int64_t *next_ms, bool *any)
{
    sqlite3_stmt *s;
    int rc;

    *any = false;
    *next_ms = 0;
    if (sqlite3_prepare_v2(pfs_store_sqlite_db(st),
                           "SELECT min(next_ms) FROM notify_deliveries WHERE state = 'pending'", -1,
                           &s, NULL) != SQLITE_OK)
        return PF_EIO;
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW && sqlite3_column_type(s, 0) != SQLITE_NULL) {
        *any = true;
        *next_ms = sqlite3_column_int64(s, 0);
    }
    sqlite3_finalize(s);
    return rc == SQLITE_ROW ? 0 : PF_EIO;
}

int pfs_sqlite_notify_result(struct pfs_sqlite *st, int64_t delivery, const struct pfs_attempt *a,
                             enum pfs_delivery_state state, int64_t next_ms, int64_t now_ms,
                             struct pf_error *err)
{
    sqlite3 *db = pfs_store_sqlite_db(st);
    int rc = pfs_sqlite_begin(st, now_ms, err);

    if (rc)
        return rc;
    rc = pfs_store_sql_run(
            db,
            "INSERT INTO notify_attempts (delivery, attempt, ts_ms, status, error, ms)"
            " SELECT id, attempts + 1, ?2, ?3, ?4, ?5 FROM notify_deliveries"
            " WHERE id = ?1",
            "iiiSi", delivery, now_ms, (int64_t)a->status, a->error, a->ms);
    if (!rc)
        rc = pfs_store_sql_run(db,
                               "UPDATE notify_deliveries SET attempts = attempts + 1, state = ?2,"
                               " next_ms = ?3, last_status = ?4, last_error = ?5,"
                               " done_ms = CASE WHEN ?2 = 'pending' THEN 0 ELSE ?6 END"
                               " WHERE id = ?1",
                               "iSiiSi", delivery, pfs_delivery_state_names[state], next_ms,
                               (int64_t)a->status, a->error, now_ms);
    if (rc && !err->msg[0])
        pf_error_set(err, rc, "store: delivery %lld: %s", (long long)delivery, sqlite3_errmsg(db));
    return pfs_sqlite_end(st, rc, err);
}

int pfs_sqlite_notify_log(struct pfs_sqlite *st, const char *hook, int64_t before_id, int limit,
                          pfs_delivery_cb cb, void *ctx)
{
    sqlite3_stmt *s;

    if (sqlite3_prepare_v2(pfs_store_sqlite_db(st),
                           "SELECT " DLV_COLS " FROM notify_deliveries d JOIN notify_events e"
                           " ON e.id = d.event WHERE (?1 IS NULL OR d.hook = ?1)"
                           " AND (?2 <= 0 OR d.id < ?2) ORDER BY d.id DESC LIMIT ?3",
                           -1, &s, NULL) != SQLITE_OK)
        return PF_EIO;
    if (hook)
        sqlite3_bind_text(s, 1, hook, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, 2, before_id);
    sqlite3_bind_int(s, 3, limit);
    return dlv__each(s, cb, ctx);
}

int pfs_sqlite_notify_counts(struct pfs_sqlite *st, const char *hook, int64_t counts[])
{
    sqlite3_stmt *s;
    int rc;

    for (int i = 0; i < PFS_DLV_COUNT; i++)
        counts[i] = 0;
    if (sqlite3_prepare_v2(pfs_store_sqlite_db(st),
                           "SELECT state, count(*) FROM notify_deliveries WHERE hook = ?1"
                           " GROUP BY state",
                           -1, &s, NULL) != SQLITE_OK)
        return PF_EIO;
    sqlite3_bind_text(s, 1, hook, -1, SQLITE_TRANSIENT);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        const char *state = (const char *)sqlite3_column_text(s, 0);

        for (int i = 0; i < PFS_DLV_COUNT; i++) {
            if (state && strcmp(state, pfs_delivery_state_names[i]) == 0)
                counts[i] = sqlite3_column_int64(s, 1);
        }
    }
    sqlite3_finalize(s);
    return rc == SQLITE_DONE ? 0 : PF_EIO;
}
