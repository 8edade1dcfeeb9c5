/*
 * pg_metrics.c - store_metrics.h on PostgreSQL (pg_metrics.h), the SQLite
 * backend's queries (store_metrics_sqlite.c).
 */
#include "store/postgres/pg_metrics.h"

/* The live rollout states (the SQLite backend's PFS_STORE_RO_LIVE_SQL). */
#define METRICS_RO_LIVE_SQL "('scheduled','running','paused','gated','rolling_back')"

static int metrics__each(struct pfs_pg_store *st, const char *sql, enum pfs_gauge_family family,
                         pfs_gauge_cb cb, void *ctx)
{
    PGresult *res = NULL;
    int rc = 0;

    if (pfs_pg_query(st->pg, sql, 0, NULL, &res, NULL))
        return PF_EIO;
    for (int r = 0; r < PQntuples(res) && !rc; r++)
        rc = cb(ctx, family, pfs_pg_col_i64(res, r, 0),
                PQgetisnull(res, r, 1) ? NULL : PQgetvalue(res, r, 1), pfs_pg_col_i64(res, r, 2));
    PQclear(res);
    return rc;
}

int pfs_pg_gauges(struct pfs_pg_store *st, pfs_gauge_cb cb, void *ctx)
{
    int rc;

    rc = metrics__each(st,
                       "SELECT 0, coalesce(t.state, 'in_stock'), count(*) FROM devices d"
                       " LEFT JOIN terminals t ON t.serial = d.serial"
                       " WHERE d.status = 'registered' GROUP BY 2 ORDER BY 2",
                       PFS_GAUGE_TERMINALS, cb, ctx);
    if (!rc)
        rc = metrics__each(st,
                           "SELECT 0, NULL, count(*) FROM repairs WHERE state NOT IN"
                           " ('returned_to_stock', 'scrapped')",
                           PFS_GAUGE_REPAIRS_OPEN, cb, ctx);
    if (!rc)
        rc = metrics__each(
                st,
                "SELECT c.rollout, c.status, sum(c.n) FROM rollout_counts c"
                " JOIN rollouts r ON r.id = c.rollout WHERE r.state IN " METRICS_RO_LIVE_SQL
                " GROUP BY c.rollout, c.status ORDER BY c.rollout, c.status",
                PFS_GAUGE_ROLLOUT_MEMBERS, cb, ctx);
    return rc;
}
