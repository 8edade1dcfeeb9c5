/*
 * pg_store.c - the PostgreSQL backend's store: opening and closing, the
 * transactions of store.h (pfs_pg_tx_begin for domain code, pfs_pg_store_tx
 * for a call that is one transaction), the sibling handle, and the helpers
 * every file of the backend shares (the audit writer, parameters, columns).
 */
#include "store/postgres/pg_store.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pf/clock.h"
#include "pf/num.h"
#include "store/postgres/pg_ingest.h"
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
    st->dsn = strdup(dsn);
    if (!st->dsn || pfs_pg_batch_new(st) != 0) {
        pfs_pg_store_close(st);
        return pf_error_set(err, PF_ENOMEM, "store: postgres: out of memory");
    }
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
    if (st->pg) {
        size_t written = 0, dropped = 0;
        int rc = 0;

        pfs_pg_tx_rollback(&st->tx);
        /* A batch that cannot be written now is lost whole, as a crash loses it. */
        if (st->batch && pfs_pg_is_held(st))
            rc = pfs_pg_release(st, 0, &written, &dropped);
        else if (st->batch)
            rc = pfs_pg_flush(st, 0, NULL);
        (void)rc;
    }
    pfs_pg_batch_free(st);
    pfs_pg_free(st->pg);
    free(st->dsn);
    free(st);
}

void pfs_pg_close(struct pfs_pg_store *st)
{
    pfs_pg_store_close(st);
}

int pfs_pg_schema_version(struct pfs_pg_store *st, int *version)
{
    return pfs_pg_migrated_version(st->pg, version, NULL);
}

/* --- transactions --- */

static int store__refuse(struct pfs_pg_store *st, struct pf_error *err)
{
    if (st->tx.open)
        return pf_error_set(err, PF_ESTATE, "store: a transaction is open already");
    if (pfs_pg_is_held(st))
        return pf_error_set(err, PF_ESTATE,
                            "store: a bulk change is being written; try again when it has ended");
    return 0;
}

int pfs_pg_store_tx(struct pfs_pg_store *st, enum pfs_pg_isolation iso, int64_t now_ms,
                    pfs_pg_tx_fn fn, void *ctx, struct pf_error *err)
{
    int rc = store__refuse(st, err);

    if (rc)
        return rc;
    if (pfs_pg_flush(st, now_ms > 0 ? now_ms : pf_clock_wall_ms(&pf_clock_system), NULL))
        return pf_error_set(err, PF_EIO, "store: commit batch: the batch could not be written");
    return pfs_pg_tx(st->pg, iso, fn, ctx, err);
}

int pfs_pg_tx_begin(struct pfs_pg_store *st, enum pfs_durability durability, int64_t now_ms,
                    struct pfs_tx **out, struct pf_error *err)
{
    int rc;

    *out = NULL;
    rc = store__refuse(st, err);
    if (rc)
        return rc;
    if (pfs_pg_flush(st, now_ms, NULL))
        return pf_error_set(err, PF_EIO, "store: commit batch: the batch could not be written");
    rc = pfs_pg_exec(st->pg, "BEGIN ISOLATION LEVEL READ COMMITTED", 0, NULL, err);
    if (rc == PF_ECONN) {
        /* Lost since the last call: nothing is open yet, so a new session is safe. */
        rc = pfs_pg_reconnect(st->pg, err);
        if (rc == 0)
            rc = pfs_pg_exec(st->pg, "BEGIN ISOLATION LEVEL READ COMMITTED", 0, NULL, err);
    }
    /* NORMAL: atomic, but a power cut may lose it (SQLite's synchronous=NORMAL). */
    if (rc == 0 && durability == PFS_DURABILITY_NORMAL)
        rc = pfs_pg_exec(st->pg, "SET LOCAL synchronous_commit TO off", 0, NULL, err);
    if (rc) {
        pfs_pg_exec_quiet(st->pg, "ROLLBACK");
        return rc;
    }
    st->tx.durability = durability;
    st->tx.now_ms = now_ms;
    st->tx.open = true;
    *out = &st->tx.base;
    return 0;
}

int pfs_pg_tx_commit(struct pfs_pg_tx *tx, struct pf_error *err)
{
    struct pfs_pg_store *st;
    int rc;

    if (!tx || !tx->open)
        return pf_error_set(err, PF_ESTATE, "store: no transaction is open");
    st = pfs_pg_of(tx->base.st);
    rc = pfs_pg_commit(st->pg, err);
    if (rc)
        pfs_pg_exec_quiet(st->pg, "ROLLBACK");
    tx->open = false;
    return rc;
}

void pfs_pg_tx_rollback(struct pfs_pg_tx *tx)
{
    if (!tx || !tx->open)
        return;
    pfs_pg_exec_quiet(pfs_pg_of(tx->base.st)->pg, "ROLLBACK");
    tx->open = false;
}

int pfs_pg_sibling_opts(struct pfs_pg_store *st, struct pfs_store_opts *opts, struct pf_error *err)
{
    memset(opts, 0, sizeof(*opts));
    opts->backend = "postgres";
    opts->dsn = strdup(st->dsn);
    if (!opts->dsn)
        return pf_error_set(err, PF_ENOMEM, "out of memory");
    opts->sibling = true;
    return 0;
}

void pfs_pg_exec_quiet(struct pfs_pg *pg, const char *sql)
{
    if (pfs_pg_exec(pg, sql, 0, NULL, NULL) != 0)
        return;
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

static const char *store__null_if_empty(const char *v)
{
    return v && *v ? v : NULL;
}

int pfs_pg_audit_write(struct pfs_pg *pg, const struct pfs_pg_audit *a, struct pf_error *err)
{
    const struct pfs_actor *actor = a->actor;
    const char *refs[2] = {a->serial, a->serial2};
    char ts[PFS_PG_I64_LEN];
    /* Empty text is NULL, as the SQLite writer binds it (pfs_sqlite_bind_text). */
    const char *p[10] = {pfs_pg_i64(ts, a->ts_ms),
                         actor && actor->name ? actor->name : "-",
                         actor && actor->role ? actor->role : "-",
                         a->action,
                         a->target,
                         store__null_if_empty(a->before),
                         store__null_if_empty(a->after),
                         actor ? store__null_if_empty(actor->org) : NULL,
                         actor ? store__null_if_empty(actor->org_path) : NULL,
                         actor ? store__null_if_empty(actor->addr) : NULL};
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
        const char *rp[3] = {id, store__null_if_empty(refs[i]), store__null_if_empty(a->merchant)};

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
