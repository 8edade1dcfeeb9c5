/*
 * pg_notify.c - the PostgreSQL backend of store_notify.h (tables of
 * migration 007_notify), the twin of store_notify_sqlite.c.
 *
 * An event and all its deliveries are one pfs_pg_tx() body, so after a lost
 * session or a restart either all of them are pending or none is stored (and
 * the caller, told so, keeps the event). Taken ids answer PF_EEXIST as
 * SQLite's constraint does, through ON CONFLICT DO NOTHING rather than a
 * unique violation that would abort the transaction.
 */
#include "store/postgres/pg_notify.h"

#include <stdio.h>
#include <string.h>

#include "store/postgres/onetx.h"

/* An INSERT ... RETURNING that must insert its one row: PF_EEXIST if not. */
static int ntf__insert_one(struct pfs_pg *pg, const char *sql, int n, const char *const *p,
                           struct pf_error *err)
{
    PGresult *res = NULL;
    int rc, rows;

    rc = pfs_pg_query(pg, sql, n, p, &res, err);
    if (rc)
        return rc;
    rows = PQntuples(res);
    PQclear(res);
    return rows == 1 ? 0 : pf_error_set(err, PF_EEXIST, "UNIQUE constraint failed");
}

struct ntf__add {
    const struct pfs_notify_event *ev;
    const char *const *hooks;
    size_t n;
    int64_t now_ms;
};

static int ntf__add_body(void *ctx, struct pfs_pg *pg, int attempt, struct pf_error *err)
{
    struct ntf__add *c = ctx;
    const struct pfs_notify_event *ev = c->ev;
    char cr[PFS_PG_I64_LEN], now[PFS_PG_I64_LEN];
    const char *p[5] = {ev->id, ev->kind, ev->subject, ev->body, pfs_pg_i64(cr, ev->created_ms)};
    int rc;

    (void)attempt;
    pfs_pg_i64(now, c->now_ms);
    rc = ntf__insert_one(pg,
                         "INSERT INTO notify_events (id, kind, subject, body, created_ms)"
                         " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO NOTHING RETURNING id",
                         5, p, err);
    for (size_t i = 0; !rc && i < c->n; i++) {
        const char *q[3] = {c->hooks[i], ev->id, now};

        rc = ntf__insert_one(pg,
                             "INSERT INTO notify_deliveries (hook, event, next_ms, created_ms)"
                             " VALUES ($1, $2, $3, $3) ON CONFLICT (hook, event) DO NOTHING"
                             " RETURNING id",
                             3, q, err);
    }
    if (rc)
        pf_error_prefix(err, "store: notification %s", ev->id);
    return rc;
}

int pfs_pg_notify_add(struct pfs_pg_store *st, const struct pfs_notify_event *ev,
                      const char *const *hooks, size_t n, int64_t now_ms, struct pf_error *err)
{
    struct ntf__add c = {ev, hooks, n, now_ms};

    return pgb_store_tx(st, PFS_PG_READ_COMMITTED, now_ms, ntf__add_body, &c, err);
}

#define DLV_COLS                                                                                   \
    "d.id, d.hook, d.event, e.kind, e.subject, d.state, d.attempts, d.next_ms, d.last_status,"     \
    " d.last_error, d.created_ms, d.done_ms, e.body"

static int dlv__each(const PGresult *res, pfs_delivery_cb cb, void *ctx)
{
    int rc = 0;

    for (int r = 0; r < PQntuples(res) && rc == 0; r++) {
        struct pfs_delivery d;
        const char *state = PQgetvalue(res, r, 5);

        memset(&d, 0, sizeof(d));
        d.id = pfs_pg_col_i64(res, r, 0);
        snprintf(d.hook, sizeof(d.hook), "%s", PQgetvalue(res, r, 1));
        snprintf(d.event, sizeof(d.event), "%s", PQgetvalue(res, r, 2));
        snprintf(d.kind, sizeof(d.kind), "%s", PQgetvalue(res, r, 3));
        snprintf(d.subject, sizeof(d.subject), "%s", PQgetvalue(res, r, 4));
        for (int i = 0; i < PFS_DLV_COUNT; i++) {
            if (strcmp(state, pfs_delivery_state_names[i]) == 0)
                d.state = (enum pfs_delivery_state)i;
        }
        d.attempts = (int)pfs_pg_col_i64(res, r, 6);
        d.next_ms = pfs_pg_col_i64(res, r, 7);
        d.last_status = (int)pfs_pg_col_i64(res, r, 8);
        snprintf(d.last_error, sizeof(d.last_error), "%s", PQgetvalue(res, r, 9));
        d.created_ms = pfs_pg_col_i64(res, r, 10);
        d.done_ms = pfs_pg_col_i64(res, r, 11);
        d.body = PQgetvalue(res, r, 12);
        rc = cb(ctx, &d);
    }
    return rc;
}

int pfs_pg_notify_due(struct pfs_pg_store *st, int64_t now_ms, int limit, pfs_delivery_cb cb,
                      void *ctx)
{
    char now[PFS_PG_I64_LEN], lim[PFS_PG_I64_LEN];
    const char *p[2] = {pfs_pg_i64(now, now_ms), pfs_pg_i64(lim, limit)};
    PGresult *res = NULL;
    int rc;

    rc = pgb_read(st,
                  "SELECT " DLV_COLS " FROM notify_deliveries d JOIN notify_events e"
                  " ON e.id = d.event WHERE d.state = 'pending' AND d.next_ms <= $1"
                  " ORDER BY d.next_ms, d.id"
                  " LIMIT CASE WHEN $2::bigint < 0 THEN NULL ELSE $2::bigint END",
                  2, p, &res);
    if (rc)
        return rc;
    rc = dlv__each(res, cb, ctx);
    PQclear(res);
    return rc;
}

int pfs_pg_notify_next(struct pfs_pg_store *st, int64_t *next_ms, bool *any)
{
    PGresult *res = NULL;
    int rc;

    *any = false;
    *next_ms = 0;
    rc = pgb_read(st, "SELECT min(next_ms) FROM notify_deliveries WHERE state = 'pending'", 0, NULL,
                  &res);
    if (rc)
        return rc;
    if (!PQgetisnull(res, 0, 0)) {
        *any = true;
        *next_ms = pfs_pg_col_i64(res, 0, 0);
    }
    PQclear(res);
    return 0;
}

struct ntf__result {
    int64_t delivery;
    const struct pfs_attempt *a;
    enum pfs_delivery_state state;
    int64_t next_ms, now_ms;
};

static int ntf__result_body(void *ctx, struct pfs_pg *pg, int attempt, struct pf_error *err)
{
    struct ntf__result *c = ctx;
    char id[PFS_PG_I64_LEN], now[PFS_PG_I64_LEN], status[PFS_PG_I64_LEN], ms[PFS_PG_I64_LEN],
            next[PFS_PG_I64_LEN];
    const char *p[5] = {pfs_pg_i64(id, c->delivery), pfs_pg_i64(now, c->now_ms),
                        pfs_pg_i64(status, c->a->status), c->a->error, pfs_pg_i64(ms, c->a->ms)};
    const char *q[6] = {id,
                        pfs_delivery_state_names[c->state],
                        pfs_pg_i64(next, c->next_ms),
                        status,
                        c->a->error,
                        now};
    int rc;

    (void)attempt;
    rc = pfs_pg_exec(pg,
                     "INSERT INTO notify_attempts (delivery, attempt, ts_ms, status, error, ms)"
                     " SELECT id, attempts + 1, $2, $3, $4, $5 FROM notify_deliveries"
                     " WHERE id = $1",
                     5, p, err);
    if (!rc)
        rc = pfs_pg_exec(pg,
                         "UPDATE notify_deliveries SET attempts = attempts + 1, state = $2,"
                         " next_ms = $3, last_status = $4, last_error = $5,"
                         " done_ms = CASE WHEN $2 = 'pending' THEN 0 ELSE $6::bigint END"
                         " WHERE id = $1",
                         6, q, err);
    if (rc)
        pf_error_prefix(err, "store: delivery %lld", (long long)c->delivery);
    return rc;
}

int pfs_pg_notify_result(struct pfs_pg_store *st, int64_t delivery, const struct pfs_attempt *a,
                         enum pfs_delivery_state state, int64_t next_ms, int64_t now_ms,
                         struct pf_error *err)
{
    struct ntf__result c = {delivery, a, state, next_ms, now_ms};

    return pgb_store_tx(st, PFS_PG_READ_COMMITTED, now_ms, ntf__result_body, &c, err);
}

int pfs_pg_notify_log(struct pfs_pg_store *st, const char *hook, int64_t before_id, int limit,
                      pfs_delivery_cb cb, void *ctx)
{
    char before[PFS_PG_I64_LEN], lim[PFS_PG_I64_LEN];
    const char *p[3] = {hook, pfs_pg_i64(before, before_id), pfs_pg_i64(lim, limit)};
    PGresult *res = NULL;
    int rc;

    rc = pgb_read(st,
                  "SELECT " DLV_COLS " FROM notify_deliveries d JOIN notify_events e"
                  " ON e.id = d.event WHERE ($1::text IS NULL OR d.hook = $1)"
                  " AND ($2::bigint <= 0 OR d.id < $2::bigint) ORDER BY d.id DESC"
                  " LIMIT CASE WHEN $3::bigint < 0 THEN NULL ELSE $3::bigint END",
                  3, p, &res);
    if (rc)
        return rc;
    rc = dlv__each(res, cb, ctx);
    PQclear(res);
    return rc;
}

int pfs_pg_notify_counts(struct pfs_pg_store *st, const char *hook, int64_t counts[])
{
    const char *p[1] = {hook};
    PGresult *res = NULL;
    int rc;

    for (int i = 0; i < PFS_DLV_COUNT; i++)
        counts[i] = 0;
    rc = pgb_read(st,
                  "SELECT state, count(*) FROM notify_deliveries WHERE hook = $1 GROUP BY state", 1,
                  p, &res);
    if (rc)
        return rc;
    for (int r = 0; r < PQntuples(res); r++) {
        for (int i = 0; i < PFS_DLV_COUNT; i++) {
            if (strcmp(PQgetvalue(res, r, 0), pfs_delivery_state_names[i]) == 0)
                counts[i] = pfs_pg_col_i64(res, r, 1);
        }
    }
    PQclear(res);
    return 0;
}
