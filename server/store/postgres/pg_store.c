/*
 * pg_store.c - opening and closing the PostgreSQL backend's store.
 */
#include "store/postgres/pg_store.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pf/num.h"
#include "store/postgres/pg_migrations.h"

int pfs_pg_store_open(const char *dsn, struct pfs_pg_store **out, struct pf_error *err)
{
    struct pfs_pg_store *st = NULL;
    struct pfs_pg_opts o = {.dsn = dsn};
    int rc, applied = 0;

    *out = NULL;
    if (!dsn || !*dsn)
        return pf_error_set(err, PF_EINVAL, "store: postgres: store.dsn is empty");
    st = calloc(1, sizeof(*st));
    if (!st)
        return pf_error_set(err, PF_ENOMEM, "store: postgres: out of memory");
    st->tx.base.st = &st->base;
    rc = pfs_pg_open(&o, &st->pg, err);
    if (rc == 0)
        rc = pfs_pg_migrate(st->pg, pfs_pg_migrations, &applied, err);
    if (rc != 0) {
        pfs_pg_store_close(st);
        return rc;
    }
    *out = st;
    return 0;
}

void pfs_pg_store_close(struct pfs_pg_store *st)
{
    if (!st)
        return;
    pfs_pg_free(st->pg);
    free(st);
}

const char *pfs_pg_i64(char buf[PFS_PG_I64_LEN], int64_t v)
{
    snprintf(buf, PFS_PG_I64_LEN, "%" PRId64, v);
    return buf;
}

int64_t pfs_pg_col_i64(const PGresult *res, int r, int c)
{
    int64_t v = 0;

    if (PQgetisnull(res, r, c) ||
        pf_parse_i64(PQgetvalue(res, r, c), INT64_MIN, INT64_MAX, &v) != 0)
        return 0;
    return v;
}

bool pfs_pg_col_bool(const PGresult *res, int r, int c)
{
    return !PQgetisnull(res, r, c) && PQgetvalue(res, r, c)[0] == 't';
}

int pfs_pg_col_text(const PGresult *res, int r, int c, char *buf, size_t len)
{
    const char *v = PQgetisnull(res, r, c) ? "" : PQgetvalue(res, r, c);
    size_t n = strlen(v);

    if (n >= len)
        return PF_ETOOBIG;
    memcpy(buf, v, n + 1);
    return 0;
}

int pfs_pg_audit_write(struct pfs_pg *pg, const struct pfs_pg_audit *a, struct pf_error *err)
{
    const struct pfs_actor *actor = a->actor;
    const char *refs[2] = {a->serial, a->serial2};
    char ts[PFS_PG_I64_LEN];
    const char *p[10] = {pfs_pg_i64(ts, a->ts_ms),
                         actor && actor->name ? actor->name : "-",
                         actor && actor->role ? actor->role : "-",
                         a->action,
                         a->target,
                         a->before,
                         a->after,
                         actor ? actor->org : NULL,
                         actor ? actor->org_path : NULL,
                         actor ? actor->addr : NULL};
    PGresult *res = NULL;
    char id[PFS_PG_I64_LEN];
    int rc;

    rc = pfs_pg_query(pg,
                      "INSERT INTO audit (ts_ms, actor, role, action, target, before, after, org,"
                      " org_path, addr) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10) RETURNING id",
                      10, p, &res, err);
    if (rc != 0)
        return rc;
    if (PQntuples(res) != 1 || pfs_pg_col_text(res, 0, 0, id, sizeof(id)) != 0) {
        PQclear(res);
        return pf_error_set(err, PF_EIO, "store: audit: no id returned");
    }
    PQclear(res);
    if (!a->serial && !a->serial2 && !a->merchant)
        return 0;
    /* The first reference carries the merchant (with or without a terminal). */
    for (int i = 0; i < 2; i++) {
        const char *rp[3] = {id, refs[i], a->merchant};

        if (i == 1 && !refs[1])
            break;
        if (i == 0 && !refs[0] && !a->merchant)
            continue;
        rc = pfs_pg_exec(pg,
                         "INSERT INTO audit_ref (audit_id, serial, merchant_id) VALUES ($1,$2,$3)",
                         3, rp, err);
        if (rc != 0)
            return rc;
    }
    return 0;
}
