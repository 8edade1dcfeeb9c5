/*
 * store_metrics_sqlite.c - the counts of store_metrics.h.
 */
#include "store/store_metrics.h"

#include "store/sqlite/store_rollouts_internal.h"
#include "store/sqlite/store_sqlite_internal.h"

static int store_metrics__each(struct pfs_sqlite *st, const char *sql, enum pfs_gauge_family family,
                               pfs_gauge_cb cb, void *ctx)
{
    sqlite3_stmt *s;
    int rc, cbrc = 0;

    if (sqlite3_prepare_v2(pfs_store_sqlite_db(st), sql, -1, &s, NULL) != SQLITE_OK)
        return PF_EIO;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        cbrc = cb(ctx, family, sqlite3_column_int64(s, 0), (const char *)sqlite3_column_text(s, 1),
                  sqlite3_column_int64(s, 2));
        if (cbrc)
            break;
    }
    sqlite3_finalize(s);
    if (cbrc)
        return cbrc;
    return rc == SQLITE_DONE ? 0 : PF_EIO;
}

int pfs_sqlite_gauges(struct pfs_sqlite *st, pfs_gauge_cb cb, void *ctx)
{
    int rc;

    rc = store_metrics__each(st,
                             "SELECT 0, coalesce(t.state, 'in_stock'), count(*) FROM devices d"
                             " LEFT JOIN terminals t ON t.serial = d.serial"
                             " WHERE d.status = 'registered' GROUP BY 2 ORDER BY 2",
                             PFS_GAUGE_TERMINALS, cb, ctx);
    if (!rc)
        rc = store_metrics__each(st,
                                 "SELECT 0, NULL, count(*) FROM repairs WHERE state NOT IN"
                                 " ('returned_to_stock', 'scrapped')",
                                 PFS_GAUGE_REPAIRS_OPEN, cb, ctx);
    if (!rc)
        rc = store_metrics__each(
                st,
                "SELECT c.rollout, c.status, sum(c.n) FROM rollout_counts c"
                " JOIN rollouts r ON r.id = c.rollout WHERE r.state IN " PFS_STORE_RO_LIVE_SQL
                " GROUP BY c.rollout, c.status"
                " ORDER BY c.rollout, c.status",
                PFS_GAUGE_ROLLOUT_MEMBERS, cb, ctx);
    return rc;
}
