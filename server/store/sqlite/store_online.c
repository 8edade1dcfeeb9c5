/*
 * store_online.c - store_online.h on SQLite: the online samples of
 * migration 017. Counting is one SELECT over the latest states (a row per
 * organisation with terminals online, a row per merchant that has a merchant
 * user), run on whichever connection the caller gives; saving inserts those
 * rows; a scoped read sums the rows the scope rule of store_scope.h lets
 * through, per sample time.
 */
#include "store/store_online.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/sqlite/store_scope.h"
#include "store/sqlite/store_sqlite_internal.h"
#include "store/sqlite/store_tx.h"

/* Terminals in stock (no merchant) are headquarters'. */
static const char online__count_sql[] =
        "SELECT coalesce(o.path, '" PFS_HQ_ORG_PATH "'), '', count(*)"
        " FROM device_state s CROSS JOIN devices d ON d.serial = s.serial"
        " LEFT JOIN terminals t ON t.serial = s.serial"
        " LEFT JOIN merchants m ON m.id = t.merchant_id"
        " LEFT JOIN orgs o ON o.id = m.org_id"
        " WHERE s.online = 1 AND d.status = 'registered' GROUP BY 1"
        " UNION ALL"
        " SELECT o.path, m.id, count(*)"
        " FROM device_state s CROSS JOIN devices d ON d.serial = s.serial"
        " JOIN terminals t ON t.serial = s.serial"
        " JOIN merchants m ON m.id = t.merchant_id JOIN orgs o ON o.id = m.org_id"
        " WHERE s.online = 1 AND d.status = 'registered' AND m.id IN"
        " (SELECT merchant_id FROM users WHERE merchant_id IS NOT NULL)"
        " GROUP BY m.id";

void pfs_online_counts_release(struct pfs_online_counts *c)
{
    free(c->v);
    memset(c, 0, sizeof(*c));
}

static int online__count(sqlite3 *db, struct pfs_online_counts *c, struct pf_error *err)
{
    sqlite3_stmt *s;
    int rc = 0, step;

    memset(c, 0, sizeof(*c));
    if (sqlite3_prepare_v2(db, online__count_sql, -1, &s, NULL) != SQLITE_OK)
        return pfs_sqlite_fail(db, err, "online count");
    while ((step = sqlite3_step(s)) == SQLITE_ROW) {
        struct pfs_online_count *e;

        if (c->n == c->cap) {
            size_t cap = c->cap ? 2 * c->cap : 16;
            void *v = realloc(c->v, cap * sizeof(*c->v));

            if (!v) {
                rc = pf_error_set(err, PF_ENOMEM, "online count: out of memory");
                break;
            }
            c->v = v;
            c->cap = cap;
        }
        e = &c->v[c->n++];
        pfs_sqlite_col_text(s, 0, e->org_path, sizeof(e->org_path));
        pfs_sqlite_col_text(s, 1, e->merchant, sizeof(e->merchant));
        e->online = sqlite3_column_int64(s, 2);
    }
    if (!rc && step != SQLITE_DONE)
        rc = pfs_sqlite_fail(db, err, "online count");
    sqlite3_finalize(s);
    if (rc)
        pfs_online_counts_release(c);
    return rc;
}

int pfs_sqlite_online_source(struct pfs_sqlite *st, char *path, size_t size)
{
    const char *f = sqlite3_db_filename(pfs_store_sqlite_db(st), "main");
    int n;

    if (!f || !*f)
        return PF_EINVAL;
    n = snprintf(path, size, "%s", f);
    return n < 0 || (size_t)n >= size ? PF_ETOOBIG : 0;
}

int pfs_sqlite_online_count_file(const char *path, struct pfs_online_counts *c,
                                 struct pf_error *err)
{
    sqlite3 *db = NULL;
    int rc;

    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
        rc = pf_error_set(err, PF_EIO, "online count: %s: %s", path,
                          db ? sqlite3_errmsg(db) : "cannot open");
        sqlite3_close(db);
        return rc;
    }
    sqlite3_busy_timeout(db, 5000);
    /* One read transaction: a consistent snapshot, never a write lock. */
    rc = pfs_sqlite_exec(db, "BEGIN", err);
    if (!rc) {
        rc = online__count(db, c, err);
        (void)pfs_sqlite_exec(db, "COMMIT", NULL);
    }
    sqlite3_close(db);
    return rc;
}

int pfs_sqlite_online_save(struct pfs_sqlite *st, int64_t now_ms, int64_t keep_from_ms,
                           const struct pfs_online_counts *c, struct pf_error *err)
{
    sqlite3 *db;
    int rc = pfs_sqlite_begin(st, now_ms, err);

    if (rc)
        return rc;
    db = pfs_store_sqlite_db(st);
    rc = pfs_store_sql_run(db, "INSERT INTO online_samples (ts_ms) VALUES (?1)", "i", now_ms);
    for (size_t i = 0; !rc && i < c->n; i++)
        rc = pfs_store_sql_run(db,
                               "INSERT INTO online_counts (ts_ms, org_path, merchant_id, online)"
                               " VALUES (?1, ?2, ?3, ?4)",
                               "iSSi", now_ms, c->v[i].org_path, c->v[i].merchant, c->v[i].online);
    if (!rc)
        rc = pfs_store_sql_run(db, "DELETE FROM online_counts WHERE ts_ms < ?1", "i", keep_from_ms);
    if (!rc)
        rc = pfs_store_sql_run(db, "DELETE FROM online_samples WHERE ts_ms < ?1", "i",
                               keep_from_ms);
    if (rc && err && !err->msg[0])
        rc = pf_error_set(err, rc, "online sample: %s", pf_strerror(rc));
    return pfs_sqlite_end(st, rc, err);
}

int pfs_sqlite_online_sample(struct pfs_sqlite *st, int64_t now_ms, int64_t keep_from_ms,
                             struct pf_error *err)
{
    struct pfs_online_counts c;
    int rc = online__count(pfs_store_sqlite_db(st), &c, err);

    if (rc)
        return rc;
    rc = pfs_sqlite_online_save(st, now_ms, keep_from_ms, &c, err);
    pfs_online_counts_release(&c);
    return rc;
}

int pfs_sqlite_online_series(struct pfs_sqlite *st, const struct pfs_scope *scope, int64_t since_ms,
                             pfs_online_cb cb, void *ctx)
{
    sqlite3_stmt *s;
    int rc = 0, step;

    /* ?1 path and ?2 merchant as store_scope.h binds them: headquarters reads
     * every organisation row, an organisation those under its path, a
     * merchant user its merchant's row. */
    if (sqlite3_prepare_v2(
                pfs_store_sqlite_db(st),
                "SELECT t.ts_ms, coalesce((SELECT sum(c.online) FROM online_counts c"
                " WHERE c.ts_ms = t.ts_ms AND c.merchant_id = coalesce(?2, '') "
                "AND " PFS_SQLITE_SCOPE_PATH(
                        "c.org_path",
                        "?1") "), 0)"
                              " FROM online_samples t WHERE t.ts_ms >= ?3 ORDER BY t.ts_ms",
                -1, &s, NULL) != SQLITE_OK)
        return PF_EIO;
    pfs_sqlite_bind_scope(s, 1, 2, scope);
    sqlite3_bind_int64(s, 3, since_ms);
    while ((step = sqlite3_step(s)) == SQLITE_ROW) {
        rc = cb(ctx, sqlite3_column_int64(s, 0), sqlite3_column_int64(s, 1));
        if (rc)
            break;
    }
    if (!rc && step != SQLITE_DONE)
        rc = PF_EIO;
    sqlite3_finalize(s);
    return rc;
}
