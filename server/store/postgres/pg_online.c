/*
 * pg_online.c - store_online.h on PostgreSQL (pg_online.h): the SQLite
 * backend's store_online.c with PostgreSQL's spellings. Saving a sample is
 * one transaction; two instances sampling at the same instant are told
 * PF_EEXIST by the sample's primary key, as on SQLite.
 */
#include "store/postgres/pg_online.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Terminals in stock (no merchant) are headquarters'. */
static const char online__count_sql[] =
        "SELECT coalesce(o.path, '" PFS_HQ_ORG_PATH "'), '', count(*)"
        " FROM device_state s JOIN devices d ON d.serial = s.serial"
        " LEFT JOIN terminals t ON t.serial = s.serial"
        " LEFT JOIN merchants m ON m.id = t.merchant_id"
        " LEFT JOIN orgs o ON o.id = m.org_id"
        " WHERE s.online AND d.status = 'registered' GROUP BY 1"
        " UNION ALL"
        " SELECT o.path, m.id, count(*)"
        " FROM device_state s JOIN devices d ON d.serial = s.serial"
        " JOIN terminals t ON t.serial = s.serial"
        " JOIN merchants m ON m.id = t.merchant_id JOIN orgs o ON o.id = m.org_id"
        " WHERE s.online AND d.status = 'registered' AND m.id IN"
        " (SELECT merchant_id FROM users WHERE merchant_id IS NOT NULL)"
        " GROUP BY o.path, m.id";

static int online__count(struct pfs_pg *pg, struct pfs_online_counts *c, struct pf_error *err)
{
    PGresult *res = NULL;
    int rc;

    memset(c, 0, sizeof(*c));
    rc = pfs_pg_query(pg, online__count_sql, 0, NULL, &res, err);
    if (rc)
        return pf_error_prefix(err, "online count");
    c->n = c->cap = (size_t)PQntuples(res);
    if (c->cap > 0) {
        c->v = calloc(c->cap, sizeof(*c->v));
        if (!c->v) {
            PQclear(res);
            memset(c, 0, sizeof(*c));
            return pf_error_set(err, PF_ENOMEM, "online count: out of memory");
        }
    }
    for (size_t i = 0; i < c->n; i++) {
        struct pfs_online_count *e = &c->v[i];

        snprintf(e->org_path, sizeof(e->org_path), "%s", PQgetvalue(res, (int)i, 0));
        snprintf(e->merchant, sizeof(e->merchant), "%s", PQgetvalue(res, (int)i, 1));
        e->online = pfs_pg_col_i64(res, (int)i, 2);
    }
    PQclear(res);
    return 0;
}

int pfs_pg_online_source(struct pfs_pg_store *st, char *path, size_t size)
{
    int n = snprintf(path, size, "%s%s", PFS_PG_ONLINE_SOURCE_PREFIX, st->dsn);

    return n < 0 || (size_t)n >= size ? PF_ETOOBIG : 0;
}

int pfs_pg_online_count_file(const char *path, struct pfs_online_counts *c, struct pf_error *err)
{
    size_t plen = strlen(PFS_PG_ONLINE_SOURCE_PREFIX);
    struct pfs_pg_opts o = {.dsn = path};
    struct pfs_pg *pg = NULL;
    int rc;

    if (strncmp(path, PFS_PG_ONLINE_SOURCE_PREFIX, plen) == 0)
        o.dsn = path + plen;
    memset(c, 0, sizeof(*c));
    rc = pfs_pg_open(&o, &pg, err);
    if (rc)
        return pf_error_prefix(err, "online count");
    /* One read-only snapshot: consistent, and it never takes a row lock. */
    rc = pfs_pg_exec(pg, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", 0, NULL, err);
    if (!rc) {
        rc = online__count(pg, c, err);
        pfs_pg_exec_quiet(pg, "COMMIT");
    }
    pfs_pg_free(pg);
    return rc;
}

struct online__save {
    int64_t now_ms, keep_from_ms;
    const struct pfs_online_counts *c;
};

static int online__save_fn(void *ctx, struct pfs_pg *pg, int attempt, struct pf_error *err)
{
    struct online__save *x = ctx;
    char now[PFS_PG_I64_LEN], keep[PFS_PG_I64_LEN], n[PFS_PG_I64_LEN];
    const char *p[1] = {pfs_pg_i64(now, x->now_ms)};
    const char *k[1] = {pfs_pg_i64(keep, x->keep_from_ms)};
    PGresult *res = NULL;
    int rc, rows;

    (void)attempt;
    rc = pfs_pg_query(pg,
                      "INSERT INTO online_samples (ts_ms) VALUES ($1) ON CONFLICT DO NOTHING"
                      " RETURNING 1",
                      1, p, &res, err);
    if (rc)
        return rc;
    rows = PQntuples(res);
    PQclear(res);
    if (rows == 0)
        return pf_error_set(err, PF_EEXIST, "online sample: %s", pf_strerror(PF_EEXIST));
    for (size_t i = 0; !rc && i < x->c->n; i++) {
        const char *q[4] = {now, x->c->v[i].org_path, x->c->v[i].merchant,
                            pfs_pg_i64(n, x->c->v[i].online)};

        rc = pfs_pg_exec(pg,
                         "INSERT INTO online_counts (ts_ms, org_path, merchant_id, online)"
                         " VALUES ($1, $2, $3, $4)",
                         4, q, err);
    }
    if (!rc)
        rc = pfs_pg_exec(pg, "DELETE FROM online_counts WHERE ts_ms < $1", 1, k, err);
    if (!rc)
        rc = pfs_pg_exec(pg, "DELETE FROM online_samples WHERE ts_ms < $1", 1, k, err);
    return rc;
}

int pfs_pg_online_save(struct pfs_pg_store *st, int64_t now_ms, int64_t keep_from_ms,
                       const struct pfs_online_counts *c, struct pf_error *err)
{
    struct online__save x = {now_ms, keep_from_ms, c};

    return pfs_pg_store_tx(st, PFS_PG_READ_COMMITTED, now_ms, online__save_fn, &x, err);
}

int pfs_pg_online_sample(struct pfs_pg_store *st, int64_t now_ms, int64_t keep_from_ms,
                         struct pf_error *err)
{
    struct pfs_online_counts c;
    int rc = online__count(st->pg, &c, err);

    if (rc)
        return rc;
    rc = pfs_pg_online_save(st, now_ms, keep_from_ms, &c, err);
    pfs_online_counts_release(&c);
    return rc;
}

int pfs_pg_online_series(struct pfs_pg_store *st, const struct pfs_scope *scope, int64_t since_ms,
                         pfs_online_cb cb, void *ctx)
{
    char since[PFS_PG_I64_LEN];
    const char *p[3] = {NULL, NULL, pfs_pg_i64(since, since_ms)};
    PGresult *res = NULL;
    int rc = 0;

    if (!pfs_scope_all(scope)) {
        p[0] = scope->path;
        p[1] = scope->merchant[0] ? scope->merchant : NULL;
    }
    /* $1 path and $2 merchant: headquarters reads every organisation row, an
     * organisation those under its path, a merchant user its merchant's row. */
    if (pfs_pg_query(st->pg,
                     "SELECT t.ts_ms, coalesce((SELECT sum(c.online) FROM online_counts c"
                     " WHERE c.ts_ms = t.ts_ms AND c.merchant_id = coalesce($2::text, '')"
                     " AND ($1::text IS NULL OR substr(c.org_path, 1, length($1::text)) ="
                     " $1::text)), 0) FROM online_samples t WHERE t.ts_ms >= $3 ORDER BY t.ts_ms",
                     3, p, &res, NULL))
        return PF_EIO;
    for (int r = 0; r < PQntuples(res) && !rc; r++)
        rc = cb(ctx, pfs_pg_col_i64(res, r, 0), pfs_pg_col_i64(res, r, 1));
    PQclear(res);
    return rc;
}
