/*
 * store_online.c - store_online.h on SQLite: the online samples of
 * migration 017. A sample is two INSERT ... SELECT over the latest states
 * (one row per organisation with terminals online, one per merchant that has
 * a merchant user); a scoped read sums the rows the scope rule of
 * store_scope.h lets through, per sample time.
 */
#include "store/store_online.h"

#include <sqlite3.h>

#include "store/sqlite/store_scope.h"
#include "store/sqlite/store_sqlite_internal.h"
#include "store/sqlite/store_tx.h"

int pfs_store_online_sample(struct pfs_store *st, int64_t now_ms, int64_t keep_from_ms,
                            struct pf_error *err)
{
    sqlite3 *db;
    int rc = pfs_sqlite_begin(st, now_ms, err);

    if (rc)
        return rc;
    db = pfs_store_sqlite_db(st);
    rc = pfs_store_sql_run(db, "INSERT INTO online_samples (ts_ms) VALUES (?1)", "i", now_ms);
    /* Terminals in stock (no merchant) are headquarters'. */
    if (!rc)
        rc = pfs_store_sql_run(db,
                               "INSERT INTO online_counts (ts_ms, org_path, merchant_id, online)"
                               " SELECT ?1, coalesce(o.path, '" PFS_HQ_ORG_PATH "'), '', count(*)"
                               " FROM device_state s CROSS JOIN devices d ON d.serial = s.serial"
                               " LEFT JOIN terminals t ON t.serial = s.serial"
                               " LEFT JOIN merchants m ON m.id = t.merchant_id"
                               " LEFT JOIN orgs o ON o.id = m.org_id"
                               " WHERE s.online = 1 AND d.status = 'registered' GROUP BY 2",
                               "i", now_ms);
    if (!rc)
        rc = pfs_store_sql_run(
                db,
                "INSERT INTO online_counts (ts_ms, org_path, merchant_id, online)"
                " SELECT ?1, o.path, m.id, count(*)"
                " FROM device_state s CROSS JOIN devices d ON d.serial = s.serial"
                " JOIN terminals t ON t.serial = s.serial"
                " JOIN merchants m ON m.id = t.merchant_id JOIN orgs o ON o.id = m.org_id"
                " WHERE s.online = 1 AND d.status = 'registered' AND m.id IN"
                " (SELECT merchant_id FROM users WHERE merchant_id IS NOT NULL)"
                " GROUP BY m.id",
                "i", now_ms);
    if (!rc)
        rc = pfs_store_sql_run(db, "DELETE FROM online_counts WHERE ts_ms < ?1", "i", keep_from_ms);
    if (!rc)
        rc = pfs_store_sql_run(db, "DELETE FROM online_samples WHERE ts_ms < ?1", "i",
                               keep_from_ms);
    if (rc && err && !err->msg[0])
        rc = pf_error_set(err, rc, "online sample: %s", pf_strerror(rc));
    return pfs_sqlite_end(st, rc, err);
}

int pfs_store_online_series(struct pfs_store *st, const struct pfs_scope *scope, int64_t since_ms,
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
