/*
 * pg_lifecycle.c - store_lifecycle.h on PostgreSQL (pg_lifecycle.h): the
 * twins of the SQLite backend's store_lifecycle.c, store_merchants.c,
 * store_terminals.c, store_swaps.c, store_repairs.c and store_bulk.c, in the
 * same order of rows, history lines and audit rows. The rules are
 * lifecycle/'s; the JSON text of audit rows and snapshots is
 * store/record_json.h's. A write is one transaction body (lc__run): it
 * reads, lets the rules decide and writes, and keeps its results in its
 * context until the transaction committed, so pfs_pg_tx() may run it again.
 */
#include "store/postgres/pg_lifecycle.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/record_json.h"

static const struct pfs_actor lc__system = {.name = "posfleetd", .role = "system"};

#define LC_MERCHANT_COLS                                                                           \
    "id, name, uscc, mcc, address, contact_name, contact_phone, tz, settlement, fee_plan,"         \
    " status, created_ms, updated_ms, region, review_reason"

#define LC_REPAIR_VIEW                                                                             \
    "SELECT id, serial, state, source, reason, merchant_id, replaced_by, fault_codes, parts,"      \
    " notes, snapshot, opened_ms, received_ms, diagnosed_ms, repaired_ms, closed_ms,"              \
    " updated_ms FROM repairs"

/* --- plumbing --- */

/* A text parameter: NULL for NULL or "" (as the SQLite backend binds). */
static const char *lc__nz(const char *v)
{
    return v && *v ? v : NULL;
}

/* A limit parameter: NULL (no limit) when negative, as SQLite's LIMIT -1. */
static const char *lc__limit(char buf[PFS_PG_I64_LEN], int64_t limit)
{
    return limit < 0 ? NULL : pfs_pg_i64(buf, limit);
}

/* A nullable text column (NULL for SQL NULL), borrowed from res. */
static const char *lc__ctext(const PGresult *res, int r, int c)
{
    return PQgetisnull(res, r, c) ? NULL : PQgetvalue(res, r, c);
}

/* A nullable integer column: PFS_VIEW_NULL for SQL NULL. */
static int64_t lc__cint(const PGresult *res, int r, int c)
{
    return PQgetisnull(res, r, c) ? PFS_VIEW_NULL : pfs_pg_col_i64(res, r, c);
}

/* Copies a column, truncating as the SQLite backend's snprintf does. */
static void lc__col(const PGresult *res, int r, int c, char *out, size_t size)
{
    snprintf(out, size, "%s", PQgetisnull(res, r, c) ? "" : PQgetvalue(res, r, c));
}

/* The first column of a one-row query, heap, or NULL (none, NULL or error). */
static char *lc__text1(struct pfs_pg *pg, const char *sql, int n, const char *const *p)
{
    struct pf_error err = {0};
    PGresult *res = NULL;
    char *out = NULL;

    if (pfs_pg_query(pg, sql, n, p, &res, &err) != 0)
        return NULL;
    if (PQntuples(res) > 0 && !PQgetisnull(res, 0, 0))
        out = strdup(PQgetvalue(res, 0, 0));
    PQclear(res);
    return out;
}

/* The integer of a one-row query (0 when it has no row or is NULL). */
static int lc__int1(struct pfs_pg *pg, const char *sql, int n, const char *const *p, int64_t *v,
                    struct pf_error *err)
{
    PGresult *res = NULL;
    int rc = pfs_pg_query(pg, sql, n, p, &res, err);

    *v = 0;
    if (rc)
        return rc;
    if (PQntuples(res) > 0)
        *v = pfs_pg_col_i64(res, 0, 0);
    PQclear(res);
    return 0;
}

static char *lc__term_col(struct pfs_pg *pg, const char *col_sql, const char *serial)
{
    const char *p[1] = {serial};

    return lc__text1(pg, col_sql, 1, p);
}

#define LC_TAGS_SQL "SELECT tags FROM terminals WHERE serial = $1"
#define LC_FEES_SQL "SELECT fee_plan FROM terminals WHERE serial = $1"
#define LC_TZ_SQL   "SELECT tz FROM terminals WHERE serial = $1"
#define LC_PROV_SQL "SELECT provision FROM terminals WHERE serial = $1"

/* A write's body, in a transaction of its own, or in the one pfs_store_tx_begin()
 * opened. Serializable (see pg_lifecycle.h). */
static int lc__run(struct pfs_pg_store *st, pfs_pg_tx_fn fn, void *ctx, struct pf_error *err)
{
    if (st->tx.open)
        return fn(ctx, st->pg, 1, err);
    return pfs_pg_store_tx(st, PFS_PG_SERIALIZABLE, 0, fn, ctx, err);
}

static int lc__oom(struct pf_error *err)
{
    return pf_error_set(err, PF_ENOMEM, "out of memory");
}

/* --- rows written in the caller's transaction --- */

static int lc__audit(struct pfs_pg *pg, const struct pfs_actor *actor, int64_t now,
                     const char *action, const char *target, const char *before, const char *after,
                     const char *serial, const char *serial2, const char *merchant,
                     struct pf_error *err)
{
    struct pfs_pg_audit a = {actor, now, action, target, before, after, serial, serial2, merchant};

    return pfs_pg_audit_write(pg, &a, err);
}

/* A line of a terminal's history (from/to: a state or -1); *id: its id, if wanted. */
static int lc__event(struct pfs_pg *pg, const char *serial, int64_t now, const char *kind, int from,
                     int to, const char *merchant, const char *other, int64_t repair_id,
                     const struct pfs_actor *actor, const char *detail, int64_t *id,
                     struct pf_error *err)
{
    char ts[PFS_PG_I64_LEN], rid[PFS_PG_I64_LEN];
    const char *p[10] = {serial,
                         pfs_pg_i64(ts, now),
                         kind,
                         lc__nz(from >= 0 ? pfs_term_state_names[from] : NULL),
                         lc__nz(to >= 0 ? pfs_term_state_names[to] : NULL),
                         lc__nz(merchant),
                         lc__nz(other),
                         repair_id > 0 ? pfs_pg_i64(rid, repair_id) : NULL,
                         actor && actor->name ? actor->name : "-",
                         detail ? detail : ""};
    int64_t v = 0;
    int rc = lc__int1(pg,
                      "INSERT INTO terminal_events (serial, ts_ms, kind, from_state, to_state,"
                      " merchant_id, other, repair_id, actor, detail)"
                      " VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10) RETURNING id",
                      10, p, &v, err);

    if (!rc && id)
        *id = v;
    return rc;
}

/* --- merchants --- */

static void lc__merchant_read(const PGresult *res, int r, struct pfs_merchant *m)
{
    char buf[32];

    memset(m, 0, sizeof(*m));
    lc__col(res, r, 0, m->id, sizeof(m->id));
    lc__col(res, r, 1, m->name, sizeof(m->name));
    lc__col(res, r, 2, m->uscc, sizeof(m->uscc));
    lc__col(res, r, 3, m->mcc, sizeof(m->mcc));
    lc__col(res, r, 4, m->address, sizeof(m->address));
    lc__col(res, r, 5, m->contact_name, sizeof(m->contact_name));
    lc__col(res, r, 6, m->contact_phone, sizeof(m->contact_phone));
    lc__col(res, r, 7, m->tz, sizeof(m->tz));
    lc__col(res, r, 8, buf, sizeof(buf));
    m->settlement = strcmp(buf, "T0") == 0 ? PFS_SETTLE_T0 : PFS_SETTLE_T1;
    if (pfs_merchant_fee_plan_parse(lc__ctext(res, r, 9), m) != 0)
        m->nfees = 0;
    lc__col(res, r, 10, buf, sizeof(buf));
    for (int i = 0; pfs_merchant_status_names[i]; i++) {
        if (strcmp(buf, pfs_merchant_status_names[i]) == 0)
            m->status = (enum pfs_merchant_status)i;
    }
    m->created_ms = pfs_pg_col_i64(res, r, 11);
    m->updated_ms = pfs_pg_col_i64(res, r, 12);
    lc__col(res, r, 13, m->region, sizeof(m->region));
    lc__col(res, r, 14, m->review_reason, sizeof(m->review_reason));
}

static int lc__merchant_get(struct pfs_pg *pg, const char *id, struct pfs_merchant *m)
{
    struct pf_error err = {0};
    const char *p[1] = {id};
    PGresult *res = NULL;
    int rc;

    if (pfs_pg_query(pg, "SELECT " LC_MERCHANT_COLS " FROM merchants WHERE id = $1", 1, p, &res,
                     &err) != 0)
        return PF_EIO;
    rc = PQntuples(res) > 0 ? 0 : PF_ENOENT;
    if (!rc)
        lc__merchant_read(res, 0, m);
    PQclear(res);
    return rc;
}

int pfs_pg_merchant_get(struct pfs_pg_store *st, const char *id, struct pfs_merchant *m)
{
    return lc__merchant_get(st->pg, id, m);
}

static int lc__merchant_write(struct pfs_pg *pg, const struct pfs_merchant *m, bool insert,
                              struct pf_error *err)
{
    char *fees = pfs_merchant_fee_plan_json(m);
    char c[PFS_PG_I64_LEN], u[PFS_PG_I64_LEN];
    int rc;

    if (!fees)
        return lc__oom(err);
    {
        const char *p[15] = {m->id,
                             m->name,
                             m->uscc,
                             m->mcc,
                             m->address,
                             m->contact_name,
                             m->contact_phone,
                             m->tz,
                             pfs_settlement_names[m->settlement],
                             fees,
                             pfs_merchant_status_names[m->status],
                             pfs_pg_i64(c, m->created_ms),
                             pfs_pg_i64(u, m->updated_ms),
                             m->region,
                             m->review_reason};

        rc = pfs_pg_exec(pg,
                         insert ? "INSERT INTO merchants (" LC_MERCHANT_COLS
                                  ") VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10::jsonb,$11,$12,$13,"
                                  "$14,$15)"
                                : "UPDATE merchants SET name=$2, uscc=$3, mcc=$4, address=$5,"
                                  " contact_name=$6, contact_phone=$7, tz=$8, settlement=$9,"
                                  " fee_plan=$10::jsonb, status=$11, created_ms=$12,"
                                  " updated_ms=$13, region=$14, review_reason=$15 WHERE id=$1",
                         15, p, err);
    }
    free(fees);
    return rc;
}

/* True if another merchant holds this credit code. */
static int lc__uscc_taken(struct pfs_pg *pg, const char *uscc, const char *id, bool *taken,
                          struct pf_error *err)
{
    const char *p[2] = {uscc, id};
    PGresult *res = NULL;
    int rc = pfs_pg_query(pg, "SELECT id FROM merchants WHERE uscc = $1 AND id <> $2", 2, p, &res,
                          err);

    *taken = false;
    if (rc)
        return rc;
    *taken = PQntuples(res) > 0;
    PQclear(res);
    return 0;
}

struct lc_madd {
    const struct pfs_merchant *m;
    const struct pfs_actor *actor;
    int64_t now;
};

static int lc__merchant_add_tx(void *vctx, struct pfs_pg *pg, int attempt, struct pf_error *err)
{
    struct lc_madd *c = vctx;
    struct pfs_merchant cur, rec = *c->m;
    char *after = NULL;
    bool taken = false;
    int rc;

    (void)attempt;
    rc = lc__merchant_get(pg, rec.id, &cur);
    if (rc == 0)
        return pf_error_set(err, PF_EEXIST, "merchant %s: already exists", rec.id);
    if (rc != PF_ENOENT)
        return pf_error_set(err, rc, "merchant %s: %s", rec.id, pf_strerror(rc));
    rc = lc__uscc_taken(pg, rec.uscc, rec.id, &taken, err);
    if (!rc && taken)
        rc = pf_error_set(err, PF_EEXIST, "uscc: %s belongs to another merchant", rec.uscc);
    if (rc)
        return rc;
    rec.status = PFS_MERCHANT_APPLIED;
    rec.created_ms = rec.updated_ms = c->now;
    rc = lc__merchant_write(pg, &rec, true, err);
    if (rc)
        return rc;
    after = pfs_rec_merchant_text(&rec);
    rc = after ? lc__audit(pg, c->actor, c->now, "merchant.add", rec.id, NULL, after, NULL, NULL,
                           rec.id, err)
               : lc__oom(err);
    free(after);
    return rc;
}

int pfs_pg_merchant_add(struct pfs_pg_store *st, const struct pfs_merchant *m,
                        const struct pfs_actor *actor, int64_t now_ms, struct pf_error *err)
{
    struct lc_madd c = {m, actor, now_ms};

    return lc__run(st, lc__merchant_add_tx, &c, err);
}

int pfs_pg_merchant_list(struct pfs_pg_store *st, int status, const char *after, int limit,
                         pfs_merchant_cb cb, void *ctx, bool *more)
{
    struct pf_error err = {0};
    char lim[PFS_PG_I64_LEN];
    const char *p[3] = {status >= 0 ? pfs_merchant_status_names[status] : NULL, lc__nz(after),
                        lc__limit(lim, (int64_t)limit + 1)};
    struct pfs_merchant m;
    PGresult *res = NULL;
    int rc = 0, n;

    *more = false;
    if (pfs_pg_query(st->pg,
                     "SELECT " LC_MERCHANT_COLS " FROM merchants WHERE ($1::text IS NULL OR"
                     " status = $1) AND ($2::text IS NULL OR id COLLATE \"C\" > $2) ORDER BY id "
                     "COLLATE \"C\""
                     " LIMIT $3::bigint",
                     3, p, &res, &err) != 0)
        return PF_EIO;
    n = PQntuples(res);
    for (int i = 0; i < n; i++) {
        if (i == limit) {
            *more = true;
            break;
        }
        lc__merchant_read(res, i, &m);
        rc = cb(ctx, &m);
        if (rc)
            break;
    }
    PQclear(res);
    return rc;
}

struct lc_mchange {
    const char *id, *action;
    pfs_merchant_change_fn change;
    void *ctx;
    const struct pfs_actor *actor;
    int64_t now;
    struct pfs_merchant out;
};

static int lc__merchant_change_tx(void *vctx, struct pfs_pg *pg, int attempt, struct pf_error *err)
{
    struct lc_mchange *c = vctx;
    struct pfs_merchant cur, rec;
    char *before = NULL, *after = NULL, *fees = NULL;
    char act[40], now[PFS_PG_I64_LEN];
    bool taken = false;
    int64_t bound = 0;
    int rc;

    (void)attempt;
    rc = lc__merchant_get(pg, c->id, &cur);
    if (rc == PF_ENOENT)
        return pf_error_set(err, PF_ENOENT, "merchant %s: no such merchant", c->id);
    if (rc)
        return pf_error_set(err, rc, "merchant %s: %s", c->id, pf_strerror(rc));
    rec = cur;
    rc = c->change(c->ctx, &rec, err);
    if (rc)
        return rc;
    {
        const char *p[1] = {c->id};

        rc = lc__int1(pg, "SELECT count(*) FROM terminals WHERE merchant_id = $1", 1, p, &bound,
                      err);
    }
    if (!rc)
        rc = pfs_merchant_change_check(&cur, &rec, bound, err);
    if (rc)
        return rc;
    if (strcmp(rec.uscc, cur.uscc) != 0) {
        rc = lc__uscc_taken(pg, rec.uscc, c->id, &taken, err);
        if (!rc && taken)
            rc = pf_error_set(err, PF_EEXIST, "uscc: %s belongs to another merchant", rec.uscc);
        if (rc)
            return rc;
    }
    rec.updated_ms = c->now;
    rc = lc__merchant_write(pg, &rec, false, err);
    if (rc)
        return rc;
    fees = pfs_merchant_fee_plan_json(&rec);
    if (!fees)
        return lc__oom(err);
    {
        const char *p[4] = {c->id, fees, rec.tz, pfs_pg_i64(now, c->now)};

        rc = pfs_pg_exec(pg,
                         "UPDATE terminals SET fee_plan = $2::jsonb, tz = $3, updated_ms = $4"
                         " WHERE merchant_id = $1 AND (fee_plan IS DISTINCT FROM $2::jsonb OR"
                         " tz IS DISTINCT FROM $3)",
                         4, p, err);
    }
    if (rc)
        goto out;
    before = pfs_rec_merchant_text(&cur);
    after = pfs_rec_merchant_text(&rec);
    snprintf(act, sizeof(act), "merchant.%s", c->action);
    rc = before && after ? lc__audit(pg, c->actor, c->now, act, c->id, before, after, NULL, NULL,
                                     c->id, err)
                         : lc__oom(err);
    if (!rc)
        c->out = rec;
out:
    free(before);
    free(after);
    free(fees);
    return rc;
}

int pfs_pg_merchant_change(struct pfs_pg_store *st, const char *id, const char *action,
                           pfs_merchant_change_fn change, void *ctx, const struct pfs_actor *actor,
                           int64_t now_ms, struct pfs_merchant *out, struct pf_error *err)
{
    struct lc_mchange c = {.id = id,
                           .action = action,
                           .change = change,
                           .ctx = ctx,
                           .actor = actor,
                           .now = now_ms};
    int rc = lc__run(st, lc__merchant_change_tx, &c, err);

    if (!rc && out)
        *out = c.out;
    return rc;
}

int pfs_pg_merchant_terminals(struct pfs_pg_store *st, const char *id, pfs_merchant_term_cb cb,
                              void *ctx)
{
    struct pf_error err = {0};
    const char *p[1] = {id};
    PGresult *res = NULL;
    int rc = 0, n;

    if (pfs_pg_query(st->pg,
                     "SELECT t.serial, d.model, t.state, t.bound_ms, t.lock_want FROM terminals t"
                     " JOIN devices d ON d.serial = t.serial WHERE t.merchant_id = $1"
                     " ORDER BY t.serial COLLATE \"C\"",
                     1, p, &res, &err) != 0)
        return PF_EIO;
    n = PQntuples(res);
    for (int i = 0; i < n && !rc; i++) {
        struct pfs_merchant_term_view t = {
                .serial = lc__ctext(res, i, 0),
                .model = lc__ctext(res, i, 1),
                .state = lc__ctext(res, i, 2),
                .bound_ms = lc__cint(res, i, 3),
                .locked = pfs_pg_col_bool(res, i, 4),
        };

        rc = cb(ctx, &t);
    }
    PQclear(res);
    return rc;
}

/* --- terminals: rows --- */

static int lc__term_get(struct pfs_pg *pg, const char *serial, struct pfs_term *t)
{
    struct pf_error err = {0};
    const char *p[1] = {serial};
    PGresult *res = NULL;
    char state[32];
    int rc;

    memset(t, 0, sizeof(*t));
    if (pfs_pg_query(pg,
                     "SELECT d.serial, d.model, d.status, t.state, t.merchant_id,"
                     " coalesce(t.lock_want, false), coalesce(t.lock_acked, true), t.lock_cmd"
                     " FROM devices d LEFT JOIN terminals t ON t.serial = d.serial"
                     " WHERE d.serial = $1",
                     1, p, &res, &err) != 0)
        return PF_EIO;
    rc = PQntuples(res) > 0 ? 0 : PF_EUNKNOWN_SERIAL;
    if (!rc) {
        lc__col(res, 0, 0, t->serial, sizeof(t->serial));
        lc__col(res, 0, 1, t->model, sizeof(t->model));
        t->revoked = !PQgetisnull(res, 0, 2) && strcmp(PQgetvalue(res, 0, 2), "revoked") == 0;
        lc__col(res, 0, 3, state, sizeof(state));
        t->state = pfs_life_state(t->revoked, state[0] ? pfs_term_state_parse(state) : -1);
        lc__col(res, 0, 4, t->merchant_id, sizeof(t->merchant_id));
        t->lock_want = pfs_pg_col_bool(res, 0, 5);
        t->lock_acked = pfs_pg_col_bool(res, 0, 6);
        lc__col(res, 0, 7, t->lock_cmd, sizeof(t->lock_cmd));
    }
    PQclear(res);
    return rc;
}

int pfs_pg_term_get(struct pfs_pg_store *st, const char *serial, struct pfs_term *t)
{
    return lc__term_get(st->pg, serial, t);
}

/* pfs_pg_term_get with err naming the serial. */
static int lc__get(struct pfs_pg *pg, const char *serial, struct pfs_term *t, struct pf_error *err)
{
    int rc = lc__term_get(pg, serial, t);

    if (rc == PF_EUNKNOWN_SERIAL)
        return pf_error_set(err, rc, "serial %s is not registered", serial);
    if (rc)
        return pf_error_set(err, rc, "reading %s: %s", serial, pf_strerror(rc));
    return 0;
}

static int lc__term_view(struct pfs_pg *pg, const char *serial, pfs_term_view_cb cb, void *ctx)
{
    struct pf_error err = {0};
    const char *p[1] = {serial};
    struct pfs_term_view v;
    PGresult *res = NULL;
    int rc;

    if (pfs_pg_query(pg,
                     "SELECT d.serial, d.model, d.status, t.state, t.merchant_id, t.fee_plan,"
                     " t.tz, coalesce(t.tags, '[]'::jsonb), t.bound_ms, t.lock_want, t.lock_cmd,"
                     " t.lock_acked, t.lock_reason, t.provision, (SELECT r.id FROM repairs r"
                     " WHERE r.serial = d.serial AND r.closed_ms IS NULL), t.updated_ms"
                     " FROM devices d LEFT JOIN terminals t ON t.serial = d.serial"
                     " WHERE d.serial = $1",
                     1, p, &res, &err) != 0)
        return PF_EIO;
    if (PQntuples(res) == 0) {
        PQclear(res);
        return PF_EUNKNOWN_SERIAL;
    }
    {
        const char *status = lc__ctext(res, 0, 2), *state = lc__ctext(res, 0, 3);

        v = (struct pfs_term_view){
                .serial = lc__ctext(res, 0, 0),
                .model = lc__ctext(res, 0, 1),
                .registry = status,
                .state = pfs_life_state(status && strcmp(status, "revoked") == 0,
                                        state ? pfs_term_state_parse(state) : -1),
                .merchant_id = lc__ctext(res, 0, 4),
                .fee_plan = lc__ctext(res, 0, 5),
                .tz = lc__ctext(res, 0, 6),
                .tags = lc__ctext(res, 0, 7),
                .bound_ms = lc__cint(res, 0, 8),
                .lock_want = pfs_pg_col_bool(res, 0, 9),
                .lock_cmd = lc__ctext(res, 0, 10),
                .lock_acked = pfs_pg_col_bool(res, 0, 11),
                .lock_reason = lc__ctext(res, 0, 12),
                .provision = lc__ctext(res, 0, 13),
                .repair_id = lc__cint(res, 0, 14),
                .updated_ms = lc__cint(res, 0, 15),
        };
    }
    rc = cb(ctx, &v);
    PQclear(res);
    return rc;
}

int pfs_pg_term_view(struct pfs_pg_store *st, const char *serial, pfs_term_view_cb cb, void *ctx)
{
    return lc__term_view(st->pg, serial, cb, ctx);
}

static int lc__term_text_cb(void *ctx, const struct pfs_term_view *v)
{
    char **text = ctx;

    *text = pfs_rec_term_text(v);
    return *text ? 0 : PF_ENOMEM;
}

static char *lc__term_text(struct pfs_pg *pg, const char *serial)
{
    char *text = NULL;

    if (lc__term_view(pg, serial, lc__term_text_cb, &text)) {
        free(text);
        return NULL;
    }
    return text;
}

/* A terminal's lifecycle row (insert or update), the lock columns left alone. */
struct lc_row {
    enum pfs_term_state state;
    const char *merchant_id, *fee_plan, *tz, *tags;
    int64_t bound_ms;
    const char *provision;
};

static int lc__row_put(struct pfs_pg *pg, const char *serial, const struct lc_row *r, int64_t now,
                       struct pf_error *err)
{
    char b[PFS_PG_I64_LEN], u[PFS_PG_I64_LEN];
    const char *p[9] = {serial,
                        pfs_term_state_names[r->state],
                        lc__nz(r->merchant_id),
                        lc__nz(r->fee_plan),
                        lc__nz(r->tz),
                        lc__nz(r->tags),
                        r->bound_ms ? pfs_pg_i64(b, r->bound_ms) : NULL,
                        lc__nz(r->provision),
                        pfs_pg_i64(u, now)};

    return pfs_pg_exec(pg,
                       "INSERT INTO terminals (serial, state, merchant_id, fee_plan, tz, tags,"
                       " bound_ms, provision, updated_ms) VALUES ($1,$2,$3,$4::jsonb,$5,"
                       "coalesce($6::jsonb,'[]'::jsonb),$7,$8::json,$9)"
                       " ON CONFLICT (serial) DO UPDATE SET state=excluded.state,"
                       " merchant_id=excluded.merchant_id, fee_plan=excluded.fee_plan,"
                       " tz=excluded.tz, tags=excluded.tags, bound_ms=excluded.bound_ms,"
                       " provision=excluded.provision, updated_ms=excluded.updated_ms",
                       9, p, err);
}

static int lc__state_put(struct pfs_pg *pg, const char *serial, enum pfs_term_state to, int64_t now,
                         struct pf_error *err)
{
    char u[PFS_PG_I64_LEN];
    const char *p[3] = {serial, pfs_term_state_names[to], pfs_pg_i64(u, now)};

    return pfs_pg_exec(pg,
                       "INSERT INTO terminals (serial, state, updated_ms) VALUES ($1,$2,$3)"
                       " ON CONFLICT (serial) DO UPDATE SET state=excluded.state,"
                       " updated_ms=excluded.updated_ms",
                       3, p, err);
}

static int lc__lock_put(struct pfs_pg *pg, const char *serial, bool want, const char *cmd,
                        const char *reason, struct pf_error *err)
{
    const char *p[4] = {serial, want ? "true" : "false", cmd, lc__nz(reason)};

    return pfs_pg_exec(pg,
                       "UPDATE terminals SET lock_want=$2, lock_cmd=$3, lock_acked=false,"
                       " lock_reason=$4 WHERE serial=$1",
                       4, p, err);
}

static int lc__revoke(struct pfs_pg *pg, const char *serial, int64_t now, struct pf_error *err)
{
    char t[PFS_PG_I64_LEN];
    const char *p[2] = {serial, pfs_pg_i64(t, now)};

    return pfs_pg_exec(pg,
                       "UPDATE devices SET status='revoked', revoked_ms=$2 WHERE serial=$1"
                       " AND status <> 'revoked'",
                       2, p, err);
}

/* Audits a terminal change with its view before and after. */
static int lc__audit_term(struct pfs_pg *pg, const struct pfs_actor *actor, int64_t now,
                          const char *action, const char *serial, const char *before,
                          const char *serial2, const char *merchant, struct pf_error *err)
{
    char *after = lc__term_text(pg, serial);
    int rc;

    if (!after)
        return pf_error_set(err, PF_EIO, "store: terminal view of %s", serial);
    rc = lc__audit(pg, actor, now, action, serial, before, after, serial, serial2, merchant, err);
    free(after);
    return rc;
}

/* --- repairs: rows --- */

static void lc__repair_read(const PGresult *res, int r, struct pfs_repair_view *v)
{
    *v = (struct pfs_repair_view){
            .id = pfs_pg_col_i64(res, r, 0),
            .serial = lc__ctext(res, r, 1),
            .state = lc__ctext(res, r, 2),
            .source = lc__ctext(res, r, 3),
            .reason = lc__ctext(res, r, 4),
            .merchant_id = lc__ctext(res, r, 5),
            .replaced_by = lc__ctext(res, r, 6),
            .fault_codes = lc__ctext(res, r, 7),
            .parts = lc__ctext(res, r, 8),
            .notes = lc__ctext(res, r, 9),
            .snapshot = lc__ctext(res, r, 10),
            .opened_ms = pfs_pg_col_i64(res, r, 11),
            .received_ms = lc__cint(res, r, 12),
            .diagnosed_ms = lc__cint(res, r, 13),
            .repaired_ms = lc__cint(res, r, 14),
            .closed_ms = lc__cint(res, r, 15),
            .updated_ms = pfs_pg_col_i64(res, r, 16),
    };
}

static int lc__repair_view(struct pfs_pg *pg, int64_t id, pfs_repair_view_cb cb, void *ctx)
{
    struct pf_error err = {0};
    char idb[PFS_PG_I64_LEN];
    const char *p[1] = {pfs_pg_i64(idb, id)};
    struct pfs_repair_view v;
    PGresult *res = NULL;
    int rc;

    if (pfs_pg_query(pg, LC_REPAIR_VIEW " WHERE id = $1", 1, p, &res, &err) != 0)
        return PF_EIO;
    if (PQntuples(res) == 0) {
        rc = PF_ENOENT;
    } else {
        lc__repair_read(res, 0, &v);
        rc = cb(ctx, &v);
    }
    PQclear(res);
    return rc;
}

int pfs_pg_repair_view(struct pfs_pg_store *st, int64_t id, pfs_repair_view_cb cb, void *ctx)
{
    return lc__repair_view(st->pg, id, cb, ctx);
}

static int lc__repair_text_cb(void *ctx, const struct pfs_repair_view *v)
{
    char **text = ctx;

    *text = pfs_rec_repair_text(v);
    return *text ? 0 : PF_ENOMEM;
}

static char *lc__repair_text(struct pfs_pg *pg, int64_t id)
{
    char *text = NULL;

    if (lc__repair_view(pg, id, lc__repair_text_cb, &text)) {
        free(text);
        return NULL;
    }
    return text;
}

/* The terminal's newest report with the time it came (*found false if none). */
static int lc__snapshot_health(struct pfs_pg *pg, const char *serial, struct pf_health *h,
                               int64_t *recv_ms, bool *found)
{
    struct pf_error err = {0};
    const char *p[1] = {serial};
    PGresult *res = NULL;

    *found = false;
    if (pfs_pg_query(pg,
                     "SELECT h.seq, h.ts_ms, h.recv_ms, h.battery_pct, h.charging,"
                     " h.signal_dbm, h.temp_c, h.fw_version, h.fee_version, h.tamper,"
                     " h.paper, h.selftest, h.err_reader, h.err_printer, h.uptime_s"
                     " FROM device_state s JOIN health h ON h.id = s.health_id"
                     " WHERE s.serial = $1",
                     1, p, &res, &err) != 0)
        return PF_EIO;
    if (PQntuples(res) > 0) {
        const char *t = lc__ctext(res, 0, 11);
        size_t tn = t ? strlen(t) : 0;

        memset(h, 0, sizeof(*h));
        h->seq = (uint32_t)pfs_pg_col_i64(res, 0, 0);
        h->ts_ms = pfs_pg_col_i64(res, 0, 1);
        *recv_ms = pfs_pg_col_i64(res, 0, 2);
        h->battery_pct = (int)pfs_pg_col_i64(res, 0, 3);
        h->charging = pfs_pg_col_bool(res, 0, 4);
        h->signal_dbm = (int)pfs_pg_col_i64(res, 0, 5);
        h->temp_c = (int)pfs_pg_col_i64(res, 0, 6);
        lc__col(res, 0, 7, h->fw_version, sizeof(h->fw_version));
        lc__col(res, 0, 8, h->fee_version, sizeof(h->fee_version));
        h->tamper = pfs_pg_col_bool(res, 0, 9);
        h->paper = (enum pf_paper)pfs_pg_col_i64(res, 0, 10);
        /* One digit per component, as the SQLite backend decodes it. */
        for (int i = 0; i < PF_COMP_COUNT; i++) {
            int v = tn > (size_t)i ? t[i] - '0' : PF_CHECK_SKIP;

            h->selftest[i] =
                    v >= PF_CHECK_PASS && v <= PF_CHECK_SKIP ? (enum pf_check)v : PF_CHECK_SKIP;
        }
        h->err_reader = (uint32_t)pfs_pg_col_i64(res, 0, 12);
        h->err_printer = (uint32_t)pfs_pg_col_i64(res, 0, 13);
        h->uptime_s = (uint64_t)pfs_pg_col_i64(res, 0, 14);
        *found = true;
    }
    PQclear(res);
    return 0;
}

static int lc__snapshot_alerts(struct pfs_pg *pg, const char *serial, struct pfs_alert **out,
                               size_t *n)
{
    struct pf_error err = {0};
    const char *p[1] = {serial};
    PGresult *res = NULL;
    int rows;

    *out = NULL;
    *n = 0;
    if (pfs_pg_query(pg,
                     "SELECT kind, opened_ms, detail FROM alerts WHERE serial = $1 AND"
                     " closed_ms IS NULL ORDER BY id",
                     1, p, &res, &err) != 0)
        return PF_EIO;
    rows = PQntuples(res);
    if (rows > 0) {
        *out = calloc((size_t)rows, sizeof(**out));
        if (!*out) {
            PQclear(res);
            return PF_ENOMEM;
        }
    }
    for (int i = 0; i < rows; i++) {
        lc__col(res, i, 0, (*out)[i].kind, sizeof((*out)[i].kind));
        (*out)[i].opened_ms = pfs_pg_col_i64(res, i, 1);
        lc__col(res, i, 2, (*out)[i].detail, sizeof((*out)[i].detail));
    }
    *n = (size_t)rows;
    PQclear(res);
    return 0;
}

#define LC_SNAPSHOT_DIAGS 5

/* The newest answered diagnostic requests; d[i].result is heap. */
static int lc__snapshot_diags(struct pfs_pg *pg, const char *serial,
                              struct pfs_diag_rec d[LC_SNAPSHOT_DIAGS], size_t *n)
{
    struct pf_error err = {0};
    char lim[PFS_PG_I64_LEN];
    const char *p[2] = {serial, pfs_pg_i64(lim, LC_SNAPSHOT_DIAGS)};
    PGresult *res = NULL;
    int rows, rc = 0;

    *n = 0;
    if (pfs_pg_query(pg,
                     "SELECT id, command, status, code, answered_ms, result FROM"
                     " diag_requests WHERE serial = $1 AND answered_ms IS NOT NULL"
                     " ORDER BY created_ms DESC LIMIT $2",
                     2, p, &res, &err) != 0)
        return PF_EIO;
    rows = PQntuples(res);
    for (int i = 0; i < rows && *n < LC_SNAPSHOT_DIAGS; i++) {
        struct pfs_diag_rec *r = &d[*n];
        const char *result = lc__ctext(res, i, 5);

        memset(r, 0, sizeof(*r));
        lc__col(res, i, 0, r->id, sizeof(r->id));
        lc__col(res, i, 1, r->command, sizeof(r->command));
        lc__col(res, i, 2, r->status, sizeof(r->status));
        lc__col(res, i, 3, r->code, sizeof(r->code));
        r->answered_ms = pfs_pg_col_i64(res, i, 4);
        r->result = result ? strdup(result) : NULL;
        (*n)++;
        if (result && !r->result) {
            rc = PF_ENOMEM;
            break;
        }
    }
    PQclear(res);
    return rc;
}

static char *lc__snapshot(struct pfs_pg *pg, const char *serial, int64_t now)
{
    struct pfs_diag_rec diags[LC_SNAPSHOT_DIAGS];
    struct pfs_repair_snapshot snap = {.taken_ms = now, .diags = diags};
    struct pfs_alert *alerts = NULL;
    struct pf_health h;
    bool have_health = false;
    char *text = NULL;
    int rc;

    rc = lc__snapshot_health(pg, serial, &h, &snap.health_recv_ms, &have_health);
    if (!rc)
        rc = lc__snapshot_alerts(pg, serial, &alerts, &snap.nalerts);
    if (!rc)
        rc = lc__snapshot_diags(pg, serial, diags, &snap.ndiags);
    if (!rc) {
        snap.health = have_health ? &h : NULL;
        snap.alerts = alerts;
        text = pfs_rec_snapshot_text(&snap);
    }
    for (size_t i = 0; i < snap.ndiags; i++)
        free((char *)diags[i].result);
    free(alerts);
    return text;
}

static int lc__repair_insert(struct pfs_pg *pg, const char *serial, const char *source,
                             const char *reason, const char *merchant, const char *replaced_by,
                             const char *faults, int64_t now, int64_t *id, struct pf_error *err)
{
    char *snap = lc__snapshot(pg, serial, now);
    char t[PFS_PG_I64_LEN];
    int rc;

    if (!snap)
        return pf_error_set(err, PF_EIO, "store: repair snapshot of %s", serial);
    {
        const char *p[8] = {serial,
                            source,
                            reason,
                            lc__nz(merchant),
                            lc__nz(replaced_by),
                            lc__nz(faults),
                            snap,
                            pfs_pg_i64(t, now)};

        rc = lc__int1(pg,
                      "INSERT INTO repairs (serial, state, source, reason, merchant_id,"
                      " replaced_by, fault_codes, snapshot, opened_ms, updated_ms)"
                      " VALUES ($1,'open',$2,$3,$4,$5,coalesce($6::jsonb,'[]'::jsonb),$7::json,"
                      "$8,$8) RETURNING id",
                      8, p, id, err);
    }
    free(snap);
    return rc;
}

static int lc__open_repair_id(struct pfs_pg *pg, const char *serial, int64_t *id,
                              struct pf_error *err)
{
    const char *p[1] = {serial};

    return lc__int1(pg,
                    "SELECT coalesce(max(id), 0) FROM repairs WHERE serial = $1 AND"
                    " closed_ms IS NULL",
                    1, p, id, err);
}

/* --- terminals --- */

int pfs_pg_term_binding(struct pfs_pg_store *st, const char *serial,
                        char merchant_id[PFS_MERCHANT_ID_MAX + 1], char tz[PFS_TZ_MAX + 1],
                        char *fee_plan, size_t fee_plan_size)
{
    struct pf_error err = {0};
    const char *p[1] = {serial};
    PGresult *res = NULL;
    int rc;

    merchant_id[0] = tz[0] = '\0';
    snprintf(fee_plan, fee_plan_size, "[]");
    if (pfs_pg_query(st->pg,
                     "SELECT t.merchant_id, t.tz, t.fee_plan FROM devices d LEFT JOIN"
                     " terminals t ON t.serial = d.serial WHERE d.serial = $1",
                     1, p, &res, &err) != 0)
        return PF_EIO;
    rc = PQntuples(res) > 0 ? 0 : PF_EUNKNOWN_SERIAL;
    if (!rc && !PQgetisnull(res, 0, 0)) {
        lc__col(res, 0, 0, merchant_id, PFS_MERCHANT_ID_MAX + 1);
        lc__col(res, 0, 1, tz, PFS_TZ_MAX + 1);
        if (!PQgetisnull(res, 0, 2)) {
            /* jsonb prints ", " between elements: the compact text SQLite keeps. */
            json_t *a = json_loads(PQgetvalue(res, 0, 2), 0, NULL);
            char *text = a ? json_dumps(a, JSON_COMPACT) : NULL;

            snprintf(fee_plan, fee_plan_size, "%s", text ? text : PQgetvalue(res, 0, 2));
            free(text);
            json_decref(a);
        }
    }
    PQclear(res);
    return rc;
}

/* The bind transition inside the open transaction; registering: a merchant
 * given at registration, which must be active already. */
static int lc__bind(struct pfs_pg *pg, const char *serial, const char *merchant_id,
                    bool registering, const struct pfs_actor *actor, int64_t now,
                    struct pf_error *err)
{
    struct pfs_merchant m;
    struct pfs_term t;
    enum pfs_term_state to;
    char *before = NULL, *fees = NULL;
    bool activate = false;
    int rc;

    rc = lc__get(pg, serial, &t, err);
    if (!rc)
        rc = pfs_life_bind(&t, &to, err);
    if (rc)
        return rc;
    rc = lc__merchant_get(pg, merchant_id, &m);
    if (rc == PF_ENOENT)
        rc = pf_error_set(err, PF_ENOENT, "merchant %s: no such merchant", merchant_id);
    else if (rc)
        rc = pf_error_set(err, rc, "merchant %s: %s", merchant_id, pf_strerror(rc));
    if (!rc && registering && m.status != PFS_MERCHANT_ACTIVE)
        rc = pf_error_set(err, PF_ESTATE,
                          "merchant %s is %s: registration binds only to an active merchant",
                          merchant_id, pfs_merchant_status_names[m.status]);
    if (!rc)
        rc = pfs_life_bind_merchant(&m, &activate, err);
    if (rc)
        return rc;
    before = lc__term_text(pg, serial);
    fees = pfs_merchant_fee_plan_json(&m);
    if (!before || !fees) {
        rc = lc__oom(err);
        goto out;
    }
    {
        char *tags = lc__term_col(pg, LC_TAGS_SQL, serial);
        struct lc_row r = {to, merchant_id, fees, m.tz, tags, now, NULL};

        rc = lc__row_put(pg, serial, &r, now, err);
        free(tags);
    }
    if (!rc && activate) {
        struct pfs_merchant act = m;
        char *mb = pfs_rec_merchant_text(&m), *ma;

        act.status = PFS_MERCHANT_ACTIVE;
        act.updated_ms = now;
        ma = pfs_rec_merchant_text(&act);
        rc = lc__merchant_write(pg, &act, false, err);
        if (!rc)
            rc = mb && ma ? lc__audit(pg, actor, now, "merchant.activate", m.id, mb, ma, NULL, NULL,
                                      m.id, err)
                          : lc__oom(err);
        free(mb);
        free(ma);
    }
    if (!rc)
        rc = lc__event(pg, serial, now, "bind", (int)t.state, (int)to, merchant_id, NULL, 0, actor,
                       NULL, NULL, err);
    if (!rc)
        rc = lc__audit_term(pg, actor, now, "terminal.bind", serial, before, NULL, merchant_id,
                            err);
out:
    free(before);
    free(fees);
    return rc;
}

int pfs_pglife_bind_registering(struct pfs_pg *pg, const char *serial, const char *merchant_id,
                                const struct pfs_actor *actor, int64_t now_ms, struct pf_error *err)
{
    return lc__bind(pg, serial, merchant_id, true, actor, now_ms, err);
}

/* The unbind transition inside the open transaction (detail: the reason, or NULL). */
static int lc__unbind(struct pfs_pg *pg, const char *serial, const char *detail,
                      const struct pfs_actor *actor, int64_t now, struct pf_error *err)
{
    struct pfs_term t;
    enum pfs_term_state to;
    char *before = NULL;
    int rc;

    rc = lc__get(pg, serial, &t, err);
    if (!rc)
        rc = pfs_life_unbind(&t, &to, err);
    if (rc)
        return rc;
    before = lc__term_text(pg, serial);
    if (!before)
        return pf_error_set(err, PF_EIO, "store: terminal view of %s", serial);
    {
        char *tags = lc__term_col(pg, LC_TAGS_SQL, serial);
        struct lc_row r = {to, NULL, NULL, NULL, tags, 0, NULL};

        rc = lc__row_put(pg, serial, &r, now, err);
        free(tags);
    }
    if (!rc)
        rc = lc__event(pg, serial, now, "unbind", (int)t.state, (int)to, t.merchant_id, NULL, 0,
                       actor, detail, NULL, err);
    if (!rc)
        rc = lc__audit_term(pg, actor, now, "terminal.unbind", serial, before, NULL, t.merchant_id,
                            err);
    free(before);
    return rc;
}

/* Replaces a terminal's tags inside the open transaction. */
static int lc__tags(struct pfs_pg *pg, const char *serial, const char *tags_json,
                    const struct pfs_actor *actor, int64_t now, struct pf_error *err)
{
    struct pfs_term t;
    char *before = NULL;
    char u[PFS_PG_I64_LEN];
    int rc;

    rc = lc__get(pg, serial, &t, err);
    if (!rc)
        rc = pfs_life_tags(&t, err);
    if (rc)
        return rc;
    before = lc__term_text(pg, serial);
    {
        const char *p[4] = {serial, pfs_term_state_names[t.state], tags_json, pfs_pg_i64(u, now)};

        rc = pfs_pg_exec(pg,
                         "INSERT INTO terminals (serial, state, tags, updated_ms) VALUES"
                         " ($1,$2,$3::jsonb,$4) ON CONFLICT (serial) DO UPDATE SET"
                         " tags=excluded.tags, updated_ms=excluded.updated_ms",
                         4, p, err);
    }
    if (!rc)
        rc = lc__audit_term(pg, actor, now, "terminal.tags", serial, before, NULL,
                            t.merchant_id[0] ? t.merchant_id : NULL, err);
    free(before);
    return rc;
}

/* A single-terminal change (bind, unbind, tags) as its own transaction. */
struct lc_single {
    enum pfs_bulk_kind kind;
    const char *serial, *arg;
    const struct pfs_actor *actor;
    int64_t now;
};

static int lc__single_tx(void *vctx, struct pfs_pg *pg, int attempt, struct pf_error *err)
{
    struct lc_single *c = vctx;

    (void)attempt;
    switch (c->kind) {
    case PFS_BULK_BIND:
        return lc__bind(pg, c->serial, c->arg, false, c->actor, c->now, err);
    case PFS_BULK_UNBIND:
        return lc__unbind(pg, c->serial, c->arg, c->actor, c->now, err);
    case PFS_BULK_TAGS:
        return lc__tags(pg, c->serial, c->arg, c->actor, c->now, err);
    default:
        return pf_error_set(err, PF_EINVAL, "unknown bulk change");
    }
}

int pfs_pg_term_bind(struct pfs_pg_store *st, const char *serial, const char *merchant_id,
                     const struct pfs_actor *actor, int64_t now_ms, struct pf_error *err)
{
    struct lc_single c = {PFS_BULK_BIND, serial, merchant_id, actor, now_ms};

    return lc__run(st, lc__single_tx, &c, err);
}

int pfs_pg_term_unbind(struct pfs_pg_store *st, const char *serial, const struct pfs_actor *actor,
                       int64_t now_ms, struct pf_error *err)
{
    struct lc_single c = {PFS_BULK_UNBIND, serial, NULL, actor, now_ms};

    return lc__run(st, lc__single_tx, &c, err);
}

int pfs_pg_term_tags(struct pfs_pg_store *st, const char *serial, const char *tags_json,
                     const struct pfs_actor *actor, int64_t now_ms, struct pf_error *err)
{
    struct lc_single c = {PFS_BULK_TAGS, serial, tags_json, actor, now_ms};

    return lc__run(st, lc__single_tx, &c, err);
}

static int lc__retire_tx(void *vctx, struct pfs_pg *pg, int attempt, struct pf_error *err)
{
    struct lc_single *c = vctx;
    struct pfs_term t;
    enum pfs_term_state to;
    char *before = NULL;
    int64_t open = 0;
    int rc;

    (void)attempt;
    rc = lc__get(pg, c->serial, &t, err);
    if (!rc) {
        const char *p[1] = {c->serial};

        rc = lc__int1(pg, "SELECT count(*) FROM repairs WHERE serial=$1 AND closed_ms IS NULL", 1,
                      p, &open, err);
    }
    if (!rc)
        rc = pfs_life_retire(&t, open > 0, &to, err);
    if (rc)
        return rc;
    before = lc__term_text(pg, c->serial);
    if (!before)
        return pf_error_set(err, PF_EIO, "store: terminal view of %s", c->serial);
    rc = lc__state_put(pg, c->serial, to, c->now, err);
    if (!rc)
        rc = lc__revoke(pg, c->serial, c->now, err);
    if (!rc)
        rc = lc__event(pg, c->serial, c->now, "retire", (int)t.state, (int)to, NULL, NULL, 0,
                       c->actor, "certificate revoked in posfleetd", NULL, err);
    if (!rc)
        rc = lc__audit_term(pg, c->actor, c->now, "terminal.retire", c->serial, before, NULL, NULL,
                            err);
    free(before);
    return rc;
}

int pfs_pg_term_retire(struct pfs_pg_store *st, const char *serial, const struct pfs_actor *actor,
                       int64_t now_ms, struct pf_error *err)
{
    struct lc_single c = {PFS_BULK_UNBIND, serial, NULL, actor, now_ms};

    return lc__run(st, lc__retire_tx, &c, err);
}

/* --- swaps --- */

struct lc_swap {
    struct pfs_pg_store *st;
    const char *old_serial, *new_serial, *reason;
    pfs_swap_hook hook;
    void *hook_ctx;
    const struct pfs_actor *actor;
    int64_t now;
    int64_t repair_id;
    bool repair_removed;
};

/* Runs the swap hook on the store's session, inside the open transaction. */
static int lc__hook(struct lc_swap *c, const char *from, const char *to, struct pf_error *err)
{
    bool was_open = c->st->tx.open;
    int rc;

    if (!c->hook)
        return 0;
    c->st->tx.open = true;
    c->st->tx.now_ms = c->now;
    rc = c->hook(c->hook_ctx, &c->st->tx.base, from, to, err);
    c->st->tx.open = was_open;
    return rc;
}

static int lc__swap_tx(void *vctx, struct pfs_pg *pg, int attempt, struct pf_error *err)
{
    struct lc_swap *c = vctx;
    struct pfs_term o, n;
    enum pfs_term_state oto, nto;
    char *ob = NULL, *nb = NULL, *fees = NULL, *tz = NULL, *tags = NULL, *prov = NULL;
    char *old_prov = NULL, *new_tags = NULL, *new_prov = NULL;
    char detail[300], now[PFS_PG_I64_LEN];
    int64_t rid = 0, old_bound = 0, old_ev = 0, new_ev = 0;
    bool opened;
    int rc;

    (void)attempt;
    c->repair_id = 0;
    pfs_pg_i64(now, c->now);
    rc = lc__get(pg, c->old_serial, &o, err);
    if (!rc)
        rc = lc__get(pg, c->new_serial, &n, err);
    if (!rc)
        rc = pfs_life_swap(&o, &n, &oto, &nto, err);
    if (rc)
        return rc;
    /* What the swap overwrites, for its undo. */
    {
        const char *p[1] = {c->old_serial};

        rc = lc__int1(pg, "SELECT coalesce(bound_ms, 0) FROM terminals WHERE serial = $1", 1, p,
                      &old_bound, err);
        if (rc)
            return rc;
    }
    old_prov = lc__term_col(pg, LC_PROV_SQL, c->old_serial);
    new_tags = lc__term_col(pg, LC_TAGS_SQL, c->new_serial);
    new_prov = lc__term_col(pg, LC_PROV_SQL, c->new_serial);
    ob = lc__term_text(pg, c->old_serial);
    nb = lc__term_text(pg, c->new_serial);
    fees = lc__term_col(pg, LC_FEES_SQL, c->old_serial);
    tz = lc__term_col(pg, LC_TZ_SQL, c->old_serial);
    tags = lc__term_col(pg, LC_TAGS_SQL, c->old_serial);
    prov = pfs_rec_swap_provision_text(c->old_serial, fees, c->now);
    if (!ob || !nb || !prov) {
        rc = lc__oom(err);
        goto out;
    }
    {
        struct lc_row nr = {nto, o.merchant_id, fees, tz, tags, c->now, prov};
        struct lc_row orow = {oto, NULL, NULL, NULL, "[]", 0, NULL};

        rc = lc__row_put(pg, c->new_serial, &nr, c->now, err);
        if (!rc)
            rc = lc__row_put(pg, c->old_serial, &orow, c->now, err);
    }
    /* Rollout memberships and other per-terminal assignments move here. */
    if (!rc)
        rc = lc__hook(c, c->old_serial, c->new_serial, err);
    if (!rc)
        rc = lc__open_repair_id(pg, c->old_serial, &rid, err);
    if (rc)
        goto out;
    opened = rid == 0;
    if (rid > 0) {
        /* A tamper repair is already open: it now also records the swap. */
        char *snap = lc__snapshot(pg, c->old_serial, c->now);
        char ridb[PFS_PG_I64_LEN];
        const char *p[6] = {
                pfs_pg_i64(ridb, rid), c->new_serial, lc__nz(o.merchant_id), snap, detail, now};

        snprintf(detail, sizeof(detail), "swapped for %s: %s", c->new_serial, c->reason);
        rc = pfs_pg_exec(pg,
                         "UPDATE repairs SET replaced_by=$2, merchant_id=coalesce(merchant_id,"
                         " $3), snapshot=coalesce($4::json, snapshot), notes = notes ||"
                         " CASE WHEN notes = '' THEN '' ELSE chr(10) END || $5,"
                         " updated_ms=$6 WHERE id=$1",
                         6, p, err);
        free(snap);
    } else {
        rc = lc__repair_insert(pg, c->old_serial, "swap", c->reason, o.merchant_id, c->new_serial,
                               NULL, c->now, &rid, err);
    }
    if (rc)
        goto out;
    snprintf(detail, sizeof(detail), "%s", c->reason);
    rc = lc__event(pg, c->old_serial, c->now, "swap_out", (int)o.state, (int)oto, o.merchant_id,
                   c->new_serial, rid, c->actor, detail, &old_ev, err);
    if (!rc)
        rc = lc__event(pg, c->new_serial, c->now, "swap_in", (int)n.state, (int)nto, o.merchant_id,
                       c->old_serial, 0, c->actor, detail, &new_ev, err);
    if (!rc) {
        char b[PFS_PG_I64_LEN], r[PFS_PG_I64_LEN], oe[PFS_PG_I64_LEN], ne[PFS_PG_I64_LEN];
        const char *p[13] = {c->old_serial,
                             c->new_serial,
                             now,
                             pfs_term_state_names[o.state],
                             old_bound > 0 ? pfs_pg_i64(b, old_bound) : NULL,
                             old_prov,
                             pfs_term_state_names[n.state],
                             new_tags,
                             new_prov,
                             pfs_pg_i64(r, rid),
                             opened ? "true" : "false",
                             pfs_pg_i64(oe, old_ev),
                             pfs_pg_i64(ne, new_ev)};

        rc = pfs_pg_exec(pg,
                         "INSERT INTO swaps (old_serial, new_serial, ts_ms, old_state,"
                         " old_bound_ms, old_provision, new_state, new_tags, new_provision,"
                         " repair_id, repair_opened, old_event_id, new_event_id) VALUES"
                         " ($1,$2,$3,$4,$5,$6::json,$7,coalesce($8::jsonb,'[]'::jsonb),"
                         "$9::json,$10,$11,$12,$13)",
                         13, p, err);
    }
    if (!rc) {
        char *oa = lc__term_text(pg, c->old_serial), *na = lc__term_text(pg, c->new_serial);
        char *rj = lc__repair_text(pg, rid);
        char *bs = pfs_rec_swap_before_text(ob, nb),
             *as = oa && na && rj ? pfs_rec_swap_after_text(oa, na, rj, c->reason) : NULL;

        rc = bs && as ? lc__audit(pg, c->actor, c->now, "terminal.swap", c->old_serial, bs, as,
                                  c->old_serial, c->new_serial, o.merchant_id, err)
                      : lc__oom(err);
        free(bs);
        free(as);
        free(oa);
        free(na);
        free(rj);
    }
    if (!rc)
        c->repair_id = rid;
out:
    free(ob);
    free(nb);
    free(fees);
    free(tz);
    free(tags);
    free(prov);
    free(old_prov);
    free(new_tags);
    free(new_prov);
    return rc;
}

int pfs_pg_term_swap(struct pfs_pg_store *st, const char *old_serial, const char *new_serial,
                     const char *reason, pfs_swap_hook hook, void *hook_ctx,
                     const struct pfs_actor *actor, int64_t now_ms, int64_t *repair_id,
                     struct pf_error *err)
{
    struct lc_swap c = {st,       old_serial, new_serial, reason, hook,
                        hook_ctx, actor,      now_ms,     0,      false};
    int rc;

    *repair_id = 0;
    rc = lc__run(st, lc__swap_tx, &c, err);
    if (!rc)
        *repair_id = c.repair_id;
    return rc;
}

/* A swap's record, for its undo. Strings heap. */
struct lc_swaprec {
    struct pfs_swap_rec rec;
    int64_t old_bound_ms;
    char *old_provision, *new_tags, *new_provision;
    int64_t old_event_id, new_event_id;
};

static void lc__swaprec_release(struct lc_swaprec *r)
{
    free(r->old_provision);
    free(r->new_tags);
    free(r->new_provision);
    r->old_provision = r->new_tags = r->new_provision = NULL;
}

static char *lc__dup(const PGresult *res, int r, int c)
{
    return PQgetisnull(res, r, c) ? NULL : strdup(PQgetvalue(res, r, c));
}

/* The newest swap of old for new; PF_ENOENT if none is recorded. */
static int lc__swap_load(struct pfs_pg *pg, const char *old_serial, const char *new_serial,
                         struct lc_swaprec *rec, struct pf_error *err)
{
    const char *p[2] = {old_serial, new_serial};
    PGresult *res = NULL;
    int rc = pfs_pg_query(pg,
                          "SELECT id, ts_ms, old_state, coalesce(old_bound_ms, 0), old_provision,"
                          " new_state, new_tags, new_provision, repair_id, repair_opened,"
                          " old_event_id, new_event_id, coalesce(undone_ms, 0) FROM swaps"
                          " WHERE old_serial = $1 AND new_serial = $2 ORDER BY id DESC LIMIT 1",
                          2, p, &res, err);

    if (rc)
        return rc;
    if (PQntuples(res) == 0) {
        PQclear(res);
        return PF_ENOENT;
    }
    {
        const char *os = lc__ctext(res, 0, 2), *ns = lc__ctext(res, 0, 5);

        snprintf(rec->rec.old_serial, sizeof(rec->rec.old_serial), "%s", old_serial);
        snprintf(rec->rec.new_serial, sizeof(rec->rec.new_serial), "%s", new_serial);
        rec->rec.id = pfs_pg_col_i64(res, 0, 0);
        rec->rec.ts_ms = pfs_pg_col_i64(res, 0, 1);
        rec->rec.old_from = pfs_life_state(false, os ? pfs_term_state_parse(os) : -1);
        rec->old_bound_ms = pfs_pg_col_i64(res, 0, 3);
        rec->old_provision = lc__dup(res, 0, 4);
        rec->rec.new_from = pfs_life_state(false, ns ? pfs_term_state_parse(ns) : -1);
        rec->new_tags = lc__dup(res, 0, 6);
        rec->new_provision = lc__dup(res, 0, 7);
        rec->rec.repair_id = pfs_pg_col_i64(res, 0, 8);
        rec->rec.repair_opened = pfs_pg_col_bool(res, 0, 9);
        rec->old_event_id = pfs_pg_col_i64(res, 0, 10);
        rec->new_event_id = pfs_pg_col_i64(res, 0, 11);
        rec->rec.undone_ms = pfs_pg_col_i64(res, 0, 12);
    }
    PQclear(res);
    return 0;
}

/* The kind of the first history line of serial after event id, or NULL (heap). */
static char *lc__event_after(struct pfs_pg *pg, const char *serial, int64_t id)
{
    char b[PFS_PG_I64_LEN];
    const char *p[2] = {serial, pfs_pg_i64(b, id)};

    return lc__text1(pg,
                     "SELECT kind FROM terminal_events WHERE serial = $1 AND id > $2"
                     " ORDER BY id LIMIT 1",
                     2, p);
}

/* Puts the repair back: removed if the swap opened it, else the swap's mark taken off. */
static int lc__repair_back(struct pfs_pg *pg, const struct lc_swaprec *rec, const char *reason,
                           int64_t now, struct pf_error *err)
{
    char id[PFS_PG_I64_LEN], t[PFS_PG_I64_LEN], note[400];

    pfs_pg_i64(id, rec->rec.repair_id);
    if (rec->rec.repair_opened) {
        const char *p[1] = {id};

        return pfs_pg_exec(pg, "DELETE FROM repairs WHERE id = $1", 1, p, err);
    }
    snprintf(note, sizeof(note), "swap for %s undone: %s", rec->rec.new_serial, reason);
    {
        const char *p[3] = {id, note, pfs_pg_i64(t, now)};

        return pfs_pg_exec(pg,
                           "UPDATE repairs SET replaced_by = NULL, notes = notes || CASE WHEN"
                           " notes = '' THEN '' ELSE chr(10) END || $2, updated_ms = $3"
                           " WHERE id = $1",
                           3, p, err);
    }
}

static int lc__swap_undo_tx(void *vctx, struct pfs_pg *pg, int attempt, struct pf_error *err)
{
    struct lc_swap *c = vctx;
    struct lc_swaprec rec = {0};
    struct pfs_swap_since since = {0};
    struct pfs_term o, n;
    enum pfs_term_state oto, nto;
    char *oev = NULL, *nev = NULL, *rstate = NULL, *ob = NULL, *nb = NULL, *rj = NULL;
    char *fees = NULL, *tz = NULL, *tags = NULL;
    char ridb[PFS_PG_I64_LEN];
    int64_t rupdated = 0, ndiag = 0;
    int rc;

    (void)attempt;
    c->repair_id = 0;
    c->repair_removed = false;
    rc = lc__swap_load(pg, c->old_serial, c->new_serial, &rec, err);
    if (rc == PF_ENOENT)
        rc = pf_error_set(err, rc,
                          "swap undo: no swap of %s for %s is recorded (swaps made before"
                          " posfleetd kept swap records cannot be undone)",
                          c->old_serial, c->new_serial);
    if (!rc)
        rc = lc__get(pg, c->old_serial, &o, err);
    if (!rc)
        rc = lc__get(pg, c->new_serial, &n, err);
    if (rc)
        goto out;
    oev = lc__event_after(pg, c->old_serial, rec.old_event_id);
    nev = lc__event_after(pg, c->new_serial, rec.new_event_id);
    {
        const char *p[1] = {pfs_pg_i64(ridb, rec.rec.repair_id)};

        rstate = lc__text1(pg, "SELECT state FROM repairs WHERE id = $1", 1, p);
        rc = lc__int1(pg, "SELECT coalesce(max(updated_ms), 0) FROM repairs WHERE id = $1", 1, p,
                      &rupdated, err);
        /* A diagnostic run on OLD since the swap is kept with the repair: it was worked on. */
        if (!rc)
            rc = lc__int1(pg, "SELECT count(*) FROM diag_requests WHERE repair_id = $1", 1, p,
                          &ndiag, err);
    }
    if (rc)
        goto out;
    since.old_event = oev;
    since.new_event = nev;
    since.repair_state = rstate;
    since.repair_touched = rupdated > rec.rec.ts_ms || (rec.rec.repair_opened && ndiag > 0);
    rc = pfs_life_swap_undo(&rec.rec, &o, &n, &since, &oto, &nto, err);
    if (rc)
        goto out;
    ob = lc__term_text(pg, c->old_serial);
    nb = lc__term_text(pg, c->new_serial);
    rj = lc__repair_text(pg, rec.rec.repair_id);
    fees = lc__term_col(pg, LC_FEES_SQL, c->new_serial);
    tz = lc__term_col(pg, LC_TZ_SQL, c->new_serial);
    tags = lc__term_col(pg, LC_TAGS_SQL, c->new_serial);
    if (!ob || !nb || !rj) {
        rc = lc__oom(err);
        goto out;
    }
    {
        struct lc_row orow = {
                oto, n.merchant_id, fees, tz, tags, rec.old_bound_ms, rec.old_provision};
        struct lc_row nrow = {nto, NULL, NULL, NULL, rec.new_tags, 0, rec.new_provision};

        rc = lc__row_put(pg, c->old_serial, &orow, c->now, err);
        if (!rc)
            rc = lc__row_put(pg, c->new_serial, &nrow, c->now, err);
    }
    /* Rollout memberships and other per-terminal assignments move back. */
    if (!rc)
        rc = lc__hook(c, c->new_serial, c->old_serial, err);
    if (!rc)
        rc = lc__repair_back(pg, &rec, c->reason, c->now, err);
    if (!rc)
        rc = lc__event(pg, c->old_serial, c->now, "swap_undo", (int)o.state, (int)oto,
                       n.merchant_id, c->new_serial, rec.rec.repair_opened ? 0 : rec.rec.repair_id,
                       c->actor, c->reason, NULL, err);
    if (!rc)
        rc = lc__event(pg, c->new_serial, c->now, "swap_undo", (int)n.state, (int)nto,
                       n.merchant_id, c->old_serial, 0, c->actor, c->reason, NULL, err);
    if (!rc) {
        char id[PFS_PG_I64_LEN], t[PFS_PG_I64_LEN];
        const char *p[3] = {pfs_pg_i64(id, rec.rec.id), pfs_pg_i64(t, c->now), c->reason};

        rc = pfs_pg_exec(pg, "UPDATE swaps SET undone_ms = $2, undo_reason = $3 WHERE id = $1", 3,
                         p, err);
    }
    if (!rc) {
        char *oa = lc__term_text(pg, c->old_serial), *na = lc__term_text(pg, c->new_serial);
        char *bs = pfs_rec_swap_after_text(ob, nb, rj, c->reason);
        char *as = oa && na ? pfs_rec_swap_before_text(oa, na) : NULL;

        rc = bs && as ? lc__audit(pg, c->actor, c->now, "terminal.swap_undo", c->old_serial, bs, as,
                                  c->old_serial, c->new_serial, n.merchant_id, err)
                      : lc__oom(err);
        free(bs);
        free(as);
        free(oa);
        free(na);
    }
    if (!rc) {
        c->repair_id = rec.rec.repair_id;
        c->repair_removed = rec.rec.repair_opened;
    }
out:
    free(oev);
    free(nev);
    free(rstate);
    free(ob);
    free(nb);
    free(rj);
    free(fees);
    free(tz);
    free(tags);
    lc__swaprec_release(&rec);
    return rc;
}

int pfs_pg_term_swap_undo(struct pfs_pg_store *st, const char *old_serial, const char *new_serial,
                          const char *reason, pfs_swap_hook hook, void *hook_ctx,
                          const struct pfs_actor *actor, int64_t now_ms, int64_t *repair_id,
                          bool *repair_removed, struct pf_error *err)
{
    struct lc_swap c = {st,       old_serial, new_serial, reason, hook,
                        hook_ctx, actor,      now_ms,     0,      false};
    int rc;

    *repair_id = 0;
    *repair_removed = false;
    rc = lc__run(st, lc__swap_undo_tx, &c, err);
    if (!rc) {
        *repair_id = c.repair_id;
        *repair_removed = c.repair_removed;
    }
    return rc;
}

/* --- bulk --- */

/* A refused op, kept until the transaction is over (the body may run again). */
struct lc_bad {
    int line, code;
    char msg[sizeof(((struct pf_error *)0)->msg)];
};

struct lc_bulk {
    enum pfs_bulk_kind kind;
    const struct pfs_bulk_op *ops;
    size_t n;
    bool check;
    const struct pfs_actor *actor;
    int64_t now;
    struct lc_bad *bad;
    size_t nbad;
    bool checked; /* rolled back on purpose: a clean check */
};

/* Each op runs under a savepoint: a refusal (or a statement PostgreSQL
 * refused, which would abort the whole transaction) undoes only that op, and
 * the others are still tried, as the SQLite backend does. */
static int lc__bulk_tx(void *vctx, struct pfs_pg *pg, int attempt, struct pf_error *err)
{
    struct lc_bulk *c = vctx;
    int rc = 0, first = 0;

    (void)attempt;
    c->nbad = 0;
    c->checked = false;
    for (size_t i = 0; i < c->n && !rc; i++) {
        const struct pfs_bulk_op *op = &c->ops[i];
        struct lc_single one = {c->kind, op->serial, op->arg, c->actor, c->now};
        struct pf_error rerr = {0};
        int step;

        rc = pfs_pg_exec(pg, "SAVEPOINT bulk_op", 0, NULL, err);
        if (rc)
            break;
        step = lc__single_tx(&one, pg, attempt, &rerr);
        if (!step) {
            rc = pfs_pg_exec(pg, "RELEASE SAVEPOINT bulk_op", 0, NULL, err);
            continue;
        }
        if (step == PF_ENOMEM) {
            rc = lc__oom(err);
            break;
        }
        rc = pfs_pg_exec(pg, "ROLLBACK TO SAVEPOINT bulk_op", 0, NULL, err);
        if (rc)
            break;
        if (!first)
            first = step;
        c->bad[c->nbad].line = op->line;
        c->bad[c->nbad].code = step;
        snprintf(c->bad[c->nbad].msg, sizeof(c->bad[c->nbad].msg), "%s", rerr.msg);
        c->nbad++;
    }
    if (!rc && first)
        rc = pf_error_set(err, first, "%zu bad line%s (nothing changed)", c->nbad,
                          c->nbad == 1 ? "" : "s");
    if (!rc && c->check) {
        c->checked = true;
        rc = pf_error_set(err, PF_ESTATE, "bulk: checked, nothing changed");
    }
    return rc;
}

int pfs_pg_term_bulk(struct pfs_pg_store *st, enum pfs_bulk_kind kind,
                     const struct pfs_bulk_op *ops, size_t n, bool check, pfs_bulk_bad_cb bad,
                     void *ctx, const struct pfs_actor *actor, int64_t now_ms, size_t *nbad,
                     struct pf_error *err)
{
    struct lc_bulk c = {kind, ops, n, check, actor, now_ms, NULL, 0, false};
    int rc;

    *nbad = 0;
    c.bad = calloc(n ? n : 1, sizeof(*c.bad));
    if (!c.bad)
        return lc__oom(err);
    if (st->tx.open) {
        /* Inside the caller's transaction: its savepoint rolls a check back. */
        rc = pfs_pg_exec(st->pg, "SAVEPOINT bulk", 0, NULL, err);
        if (!rc) {
            rc = lc__bulk_tx(&c, st->pg, 1, err);
            if (rc) {
                struct pf_error rerr = {0};

                /* rc tells; a failed rollback leaves the caller's transaction aborted. */
                (void)!pfs_pg_exec(st->pg, "ROLLBACK TO SAVEPOINT bulk", 0, NULL, &rerr);
            } else {
                rc = pfs_pg_exec(st->pg, "RELEASE SAVEPOINT bulk", 0, NULL, err);
            }
        }
    } else {
        rc = pfs_pg_store_tx(st, PFS_PG_SERIALIZABLE, now_ms, lc__bulk_tx, &c, err);
    }
    *nbad = c.nbad;
    /* The refusals, in file order, once the transaction is over. */
    if (c.nbad && bad) {
        for (size_t i = 0; i < c.nbad; i++) {
            int brc = bad(ctx, c.bad[i].line, c.bad[i].code, c.bad[i].msg);

            if (brc) {
                rc = pf_error_set(err, brc, "bulk: %s", pf_strerror(brc));
                break;
            }
        }
    }
    if (c.checked) {
        memset(err, 0, sizeof(*err));
        rc = 0;
    }
    free(c.bad);
    return rc;
}

/* --- posfleetd's own transitions --- */

struct lc_own {
    const char *serial, *cmd_id, *reason;
    bool lock;
    const struct pfs_actor *actor;
    int64_t now;
    bool changed;
};

static int lc__activate_tx(void *vctx, struct pfs_pg *pg, int attempt, struct pf_error *err)
{
    struct lc_own *c = vctx;
    enum pfs_term_state to;
    struct pfs_term t;
    char *before = NULL;
    int rc;

    (void)attempt;
    c->changed = false;
    rc = lc__term_get(pg, c->serial, &t);
    if (rc)
        return pf_error_set(err, rc, "reading %s: %s", c->serial, pf_strerror(rc));
    if (!pfs_life_activates(&t, &to))
        return 0;
    before = lc__term_text(pg, c->serial);
    rc = before ? lc__state_put(pg, c->serial, to, c->now, err) : PF_EIO;
    if (!rc)
        rc = lc__event(pg, c->serial, c->now, "activate", (int)t.state, (int)to, t.merchant_id,
                       NULL, 0, &lc__system, "first report after binding", NULL, err);
    if (!rc)
        rc = lc__audit_term(pg, &lc__system, c->now, "terminal.activate", c->serial, before, NULL,
                            t.merchant_id, err);
    free(before);
    c->changed = rc == 0;
    return rc;
}

int pfs_pg_term_activate(struct pfs_pg_store *st, const char *serial, int64_t now_ms, bool *changed)
{
    struct lc_own c = {.serial = serial, .now = now_ms};
    struct pfs_term t;
    enum pfs_term_state to;
    struct pf_error err = {0};
    int rc;

    *changed = false;
    /* Most reports change nothing: decide before opening a transaction. */
    rc = lc__term_get(st->pg, serial, &t);
    if (rc || !pfs_life_activates(&t, &to))
        return rc;
    rc = lc__run(st, lc__activate_tx, &c, &err);
    *changed = rc == 0 && c.changed;
    return rc;
}

static int lc__tamper_tx(void *vctx, struct pfs_pg *pg, int attempt, struct pf_error *err)
{
    struct lc_own *c = vctx;
    enum pfs_term_state to;
    struct pfs_term t;
    char *before = NULL;
    int64_t rid = 0;
    int rc;

    (void)attempt;
    c->changed = false;
    rc = lc__term_get(pg, c->serial, &t);
    if (rc)
        return rc;
    if (!pfs_life_tamper_locks(&t, &to))
        return 0; /* already locked, in repair or retired */
    before = lc__term_text(pg, c->serial);
    rc = before ? lc__state_put(pg, c->serial, to, c->now, err) : PF_EIO;
    if (!rc)
        rc = lc__lock_put(pg, c->serial, true, c->cmd_id, "tamper", err);
    if (!rc)
        rc = lc__repair_insert(pg, c->serial, "tamper", "tamper reported by the terminal",
                               t.merchant_id[0] ? t.merchant_id : NULL, NULL, "[\"TAMPER\"]",
                               c->now, &rid, err);
    if (!rc)
        rc = lc__event(pg, c->serial, c->now, "lock", (int)t.state, (int)to, t.merchant_id, NULL,
                       rid, &lc__system, "tamper: payments locked, repair opened", NULL, err);
    if (!rc)
        rc = lc__audit_term(pg, &lc__system, c->now, "terminal.lock", c->serial, before, NULL,
                            t.merchant_id[0] ? t.merchant_id : NULL, err);
    free(before);
    c->changed = rc == 0;
    return rc;
}

int pfs_pg_term_tamper(struct pfs_pg_store *st, const char *serial, const char *cmd_id,
                       int64_t now_ms, bool *changed, struct pf_error *err)
{
    struct lc_own c = {.serial = serial, .cmd_id = cmd_id, .now = now_ms};
    struct pfs_term t;
    enum pfs_term_state to;
    int rc;

    *changed = false;
    rc = lc__term_get(st->pg, serial, &t);
    if (rc)
        return rc;
    if (!pfs_life_tamper_locks(&t, &to))
        return 0;
    rc = lc__run(st, lc__tamper_tx, &c, err);
    *changed = rc == 0 && c.changed;
    return rc;
}

static int lc__lock_tx(void *vctx, struct pfs_pg *pg, int attempt, struct pf_error *err)
{
    struct lc_own *c = vctx;
    struct pfs_term t;
    char *before = NULL;
    int rc;

    (void)attempt;
    rc = lc__get(pg, c->serial, &t, err);
    if (!rc)
        rc = pfs_life_lock(&t, c->lock, err);
    if (rc)
        return rc;
    before = lc__term_text(pg, c->serial);
    /* The terminal is told "support" (printable ASCII); the person's reason is
     * the history's and the audit's. */
    rc = before ? lc__state_put(pg, c->serial, t.state, c->now, err) : PF_EIO;
    if (!rc)
        rc = lc__lock_put(pg, c->serial, c->lock, c->cmd_id, PFS_LOCK_BY_SUPPORT, err);
    if (!rc)
        rc = lc__event(pg, c->serial, c->now, c->lock ? "lock" : "unlock", -1, -1,
                       t.merchant_id[0] ? t.merchant_id : NULL, NULL, 0, c->actor, c->reason, NULL,
                       err);
    if (!rc)
        rc = lc__audit_term(pg, c->actor, c->now, c->lock ? "terminal.lock" : "terminal.unlock",
                            c->serial, before, NULL, t.merchant_id[0] ? t.merchant_id : NULL, err);
    free(before);
    return rc;
}

int pfs_pg_term_lock(struct pfs_pg_store *st, const char *serial, bool lock, const char *cmd_id,
                     const char *reason, const struct pfs_actor *actor, int64_t now_ms,
                     struct pf_error *err)
{
    struct lc_own c = {.serial = serial,
                       .cmd_id = cmd_id,
                       .reason = reason,
                       .lock = lock,
                       .actor = actor,
                       .now = now_ms};

    return lc__run(st, lc__lock_tx, &c, err);
}

static int lc__lock_report_tx(void *vctx, struct pfs_pg *pg, int attempt, struct pf_error *err)
{
    struct lc_own *c = vctx;
    struct pfs_term t;
    int rc;

    (void)attempt;
    c->changed = false;
    rc = lc__term_get(pg, c->serial, &t);
    if (rc)
        return pf_error_set(err, rc, "reading %s: %s", c->serial, pf_strerror(rc));
    if (!pfs_life_lock_confirms(&t, c->cmd_id, c->lock))
        return 0;
    {
        const char *p[1] = {c->serial};

        rc = pfs_pg_exec(pg, "UPDATE terminals SET lock_acked = true WHERE serial = $1", 1, p, err);
    }
    if (!rc)
        rc = lc__event(pg, c->serial, c->now, c->lock ? "locked" : "unlocked", -1, -1, NULL, NULL,
                       0, &lc__system,
                       c->lock ? "terminal confirmed: payments disabled"
                               : "terminal confirmed: payments enabled",
                       NULL, err);
    c->changed = rc == 0;
    return rc;
}

int pfs_pg_term_lock_report(struct pfs_pg_store *st, const char *serial, const char *cmd_id,
                            bool locked, int64_t now_ms, bool *matched)
{
    struct lc_own c = {.serial = serial, .cmd_id = cmd_id, .lock = locked, .now = now_ms};
    struct pf_error err = {0};
    struct pfs_term t;
    int rc;

    *matched = false;
    rc = lc__term_get(st->pg, serial, &t);
    if (rc || !pfs_life_lock_confirms(&t, cmd_id, locked))
        return rc;
    rc = lc__run(st, lc__lock_report_tx, &c, &err);
    *matched = rc == 0 && c.changed;
    return rc;
}

int pfs_pg_lock_pending_each(struct pfs_pg_store *st, pfs_lock_pending_cb cb, void *ctx)
{
    struct pf_error err = {0};
    PGresult *res = NULL;
    int rc = 0, n;

    if (pfs_pg_query(st->pg,
                     "SELECT serial, lock_cmd, lock_want, coalesce(lock_reason, '') FROM"
                     " terminals WHERE NOT lock_acked AND lock_cmd IS NOT NULL AND"
                     " state <> 'retired'",
                     0, NULL, &res, &err) != 0)
        return PF_EIO;
    n = PQntuples(res);
    for (int i = 0; i < n && !rc; i++) {
        struct pfs_lock_pending p = {PQgetvalue(res, i, 0), PQgetvalue(res, i, 1),
                                     pfs_pg_col_bool(res, i, 2), PQgetvalue(res, i, 3)};

        rc = cb(ctx, &p);
    }
    PQclear(res);
    return rc;
}

int pfs_pg_term_installed_each(struct pfs_pg_store *st, pfs_serial_cb cb, void *ctx)
{
    struct pf_error err = {0};
    PGresult *res = NULL;
    int rc = 0, n;

    if (pfs_pg_query(st->pg, "SELECT serial FROM terminals WHERE state = 'installed'", 0, NULL,
                     &res, &err) != 0)
        return PF_EIO;
    n = PQntuples(res);
    for (int i = 0; i < n && !rc; i++)
        rc = cb(ctx, PQgetvalue(res, i, 0));
    PQclear(res);
    return rc;
}

/* --- repairs --- */

struct lc_ropen {
    const char *serial, *reason, *faults;
    const struct pfs_actor *actor;
    int64_t now;
    int64_t id;
};

static int lc__repair_open_tx(void *vctx, struct pfs_pg *pg, int attempt, struct pf_error *err)
{
    struct lc_ropen *c = vctx;
    struct pfs_term t;
    enum pfs_term_state to;
    char *before = NULL, *rj = NULL;
    int64_t open = 0, id = 0;
    int rc;

    (void)attempt;
    c->id = 0;
    rc = lc__get(pg, c->serial, &t, err);
    if (!rc)
        rc = lc__open_repair_id(pg, c->serial, &open, err);
    if (!rc)
        rc = pfs_life_repair_open(&t, open, &to, err);
    if (rc)
        return rc;
    before = lc__term_text(pg, c->serial);
    rc = before ? lc__state_put(pg, c->serial, to, c->now, err)
                : pf_error_set(err, PF_EIO, "store: terminal view of %s", c->serial);
    if (!rc)
        rc = lc__repair_insert(pg, c->serial, "support", c->reason, NULL, NULL, c->faults, c->now,
                               &id, err);
    if (!rc)
        rc = lc__event(pg, c->serial, c->now, "repair_open", (int)t.state, (int)to, NULL, NULL, id,
                       c->actor, c->reason, NULL, err);
    if (!rc) {
        rj = lc__repair_text(pg, id);
        rc = rj ? lc__audit(pg, c->actor, c->now, "repair.open", c->serial, before, rj, c->serial,
                            NULL, NULL, err)
                : pf_error_set(err, PF_EIO, "store: repair view %lld", (long long)id);
    }
    if (!rc)
        c->id = id;
    free(before);
    free(rj);
    return rc;
}

int pfs_pg_repair_open(struct pfs_pg_store *st, const char *serial, const char *reason,
                       const char *faults_json, const struct pfs_actor *actor, int64_t now_ms,
                       int64_t *id, struct pf_error *err)
{
    struct lc_ropen c = {serial, reason, faults_json, actor, now_ms, 0};
    int rc;

    *id = 0;
    rc = lc__run(st, lc__repair_open_tx, &c, err);
    if (!rc)
        *id = c.id;
    return rc;
}

struct lc_rchange {
    int64_t id;
    const struct pfs_repair_change *c;
    const struct pfs_actor *actor;
    int64_t now;
    bool unlock;
    char serial[PF_SERIAL_MAX + 1];
};

static int lc__repair_change_tx(void *vctx, struct pfs_pg *pg, int attempt, struct pf_error *err)
{
    struct lc_rchange *x = vctx;
    const struct pfs_repair_change *c = x->c;
    char serial[PF_SERIAL_MAX + 1] = "", state[32] = "", merchant[PFS_MERCHANT_ID_MAX + 1] = "";
    char *before = NULL, *after = NULL;
    char idb[PFS_PG_I64_LEN], now[PFS_PG_I64_LEN];
    enum pfs_repair_state from;
    struct pfs_term t;
    PGresult *res = NULL;
    int rc;

    (void)attempt;
    x->unlock = false;
    x->serial[0] = '\0';
    pfs_pg_i64(idb, x->id);
    pfs_pg_i64(now, x->now);
    {
        const char *p[1] = {idb};

        rc = pfs_pg_query(pg,
                          "SELECT serial, state, coalesce(merchant_id, '') FROM repairs"
                          " WHERE id=$1",
                          1, p, &res, err);
        if (rc)
            return rc;
        if (PQntuples(res) > 0) {
            lc__col(res, 0, 0, serial, sizeof(serial));
            lc__col(res, 0, 1, state, sizeof(state));
            lc__col(res, 0, 2, merchant, sizeof(merchant));
        }
        PQclear(res);
    }
    if (!serial[0])
        return pf_error_set(err, PF_ENOENT, "repair %lld: no such repair", (long long)x->id);
    memcpy(x->serial, serial, sizeof(serial));
    from = (enum pfs_repair_state)pfs_repair_state_parse(state);
    rc = pfs_repair_check(x->id, from, c->to, err);
    if (!rc)
        rc = lc__get(pg, serial, &t, err);
    if (rc)
        return rc;
    before = lc__repair_text(pg, x->id);
    /* The terminal follows the repair. */
    if (c->to >= 0) {
        struct pfs_repair_plan plan;

        rc = pfs_repair_plan_for(x->id, (enum pfs_repair_state)c->to, &t, &plan, err);
        if (rc)
            goto out;
        if (plan.leaves_field) {
            char *tags = lc__term_col(pg, LC_TAGS_SQL, serial);
            struct lc_row r = {plan.to, NULL, NULL, NULL, tags, 0, NULL};

            rc = lc__row_put(pg, serial, &r, x->now, err);
            free(tags);
        } else if (plan.to != t.state) {
            rc = lc__state_put(pg, serial, plan.to, x->now, err);
        }
        /* Every step of the repair is a line of the terminal's history. */
        if (!rc)
            rc = lc__event(pg, serial, x->now, pfs_term_event_names[plan.ev], (int)t.state,
                           (int)plan.to, NULL, NULL, x->id, x->actor, pfs_repair_state_names[c->to],
                           NULL, err);
        if (!rc && plan.revoke)
            rc = lc__revoke(pg, serial, x->now, err);
        if (!rc && plan.unlock) {
            rc = lc__lock_put(pg, serial, false, c->unlock_cmd, "repair closed", err);
            if (!rc)
                rc = lc__event(pg, serial, x->now, "unlock", -1, -1, NULL, NULL, x->id, x->actor,
                               "repair closed: unlock command sent", NULL, err);
            x->unlock = rc == 0;
        }
        if (rc)
            goto out;
    }
    {
        const char *p[6] = {idb,
                            c->to >= 0 ? pfs_repair_state_names[c->to] : NULL,
                            lc__nz(c->faults_json),
                            lc__nz(c->parts_json),
                            lc__nz(c->notes),
                            now};

        rc = pfs_pg_exec(pg,
                         "UPDATE repairs SET state = coalesce($2, state),"
                         " fault_codes = coalesce($3::jsonb, fault_codes),"
                         " parts = coalesce($4::jsonb, parts),"
                         " notes = CASE WHEN $5::text IS NULL THEN notes WHEN notes = '' THEN $5"
                         " ELSE notes || chr(10) || $5 END,"
                         " received_ms = CASE WHEN $2 = 'received' THEN $6 ELSE received_ms END,"
                         " diagnosed_ms = CASE WHEN $2 = 'diagnosed' THEN $6 ELSE diagnosed_ms"
                         " END, repaired_ms = CASE WHEN $2 = 'repaired' THEN $6 ELSE repaired_ms"
                         " END, closed_ms = CASE WHEN $2 IN ('returned_to_stock', 'scrapped')"
                         " THEN $6 ELSE closed_ms END, updated_ms = $6 WHERE id = $1",
                         6, p, err);
    }
    if (rc)
        goto out;
    after = lc__repair_text(pg, x->id);
    rc = before && after
                 ? lc__audit(pg, x->actor, x->now,
                             c->to >= 0 && pfs_repair_state_final((enum pfs_repair_state)c->to)
                                     ? "repair.close"
                                     : "repair.update",
                             serial, before, after, serial, NULL, merchant[0] ? merchant : NULL,
                             err)
                 : pf_error_set(err, PF_EIO, "store: repair view %lld", (long long)x->id);
    if (!rc && c->to < 0)
        rc = lc__event(pg, serial, x->now, "repair_update", -1, -1, NULL, NULL, x->id, x->actor,
                       "fault codes, parts or notes", NULL, err);
out:
    free(before);
    free(after);
    return rc;
}

int pfs_pg_repair_change(struct pfs_pg_store *st, int64_t id, const struct pfs_repair_change *c,
                         const struct pfs_actor *actor, int64_t now_ms, bool *unlock,
                         char *serial_out, struct pf_error *err)
{
    struct lc_rchange x = {.id = id, .c = c, .actor = actor, .now = now_ms};
    int rc;

    *unlock = false;
    rc = lc__run(st, lc__repair_change_tx, &x, err);
    /* As the SQLite backend, the serial is told once the repair was found. */
    if (serial_out && x.serial[0])
        memcpy(serial_out, x.serial, sizeof(x.serial));
    if (!rc)
        *unlock = x.unlock;
    return rc;
}

int pfs_pg_repair_list(struct pfs_pg_store *st, const char *serial, int state, int limit,
                       pfs_repair_view_cb cb, void *ctx)
{
    struct pf_error err = {0};
    char lim[PFS_PG_I64_LEN];
    const char *p[4] = {lc__nz(serial), state >= 0 ? pfs_repair_state_names[state] : NULL,
                        state == -2 ? "1" : "0", lc__limit(lim, limit)};
    PGresult *res = NULL;
    int rc = 0, n;

    if (pfs_pg_query(st->pg,
                     LC_REPAIR_VIEW " WHERE ($1::text IS NULL OR serial = $1) AND ($2::text IS"
                                    " NULL OR state = $2) AND ($3::int = 0 OR closed_ms IS NULL)"
                                    " ORDER BY id DESC LIMIT $4::bigint",
                     4, p, &res, &err) != 0)
        return PF_EIO;
    n = PQntuples(res);
    for (int i = 0; i < n && !rc; i++) {
        struct pfs_repair_view v;

        lc__repair_read(res, i, &v);
        rc = cb(ctx, &v);
    }
    PQclear(res);
    return rc;
}

/* --- history and audit --- */

int pfs_pg_term_events(struct pfs_pg_store *st, const char *serial, int limit, pfs_term_event_cb cb,
                       void *ctx)
{
    struct pf_error err = {0};
    char lim[PFS_PG_I64_LEN];
    const char *p[2] = {serial, lc__limit(lim, limit)};
    PGresult *res = NULL;
    int rc = 0, n;

    if (pfs_pg_query(st->pg,
                     "SELECT id, ts_ms, kind, from_state, to_state, merchant_id, other,"
                     " repair_id, actor, detail FROM (SELECT * FROM terminal_events"
                     " WHERE serial = $1 ORDER BY id DESC LIMIT $2::bigint) e ORDER BY id",
                     2, p, &res, &err) != 0)
        return PF_EIO;
    n = PQntuples(res);
    for (int i = 0; i < n && !rc; i++) {
        struct pfs_term_event_view e = {
                .id = pfs_pg_col_i64(res, i, 0),
                .ts_ms = pfs_pg_col_i64(res, i, 1),
                .kind = lc__ctext(res, i, 2),
                .from = lc__ctext(res, i, 3),
                .to = lc__ctext(res, i, 4),
                .merchant_id = lc__ctext(res, i, 5),
                .other = lc__ctext(res, i, 6),
                .repair_id = lc__cint(res, i, 7),
                .actor = lc__ctext(res, i, 8),
                .detail = lc__ctext(res, i, 9),
        };

        rc = cb(ctx, &e);
    }
    PQclear(res);
    return rc;
}

int pfs_pg_term_updates(struct pfs_pg_store *st, const char *serial, int limit,
                        pfs_update_view_cb cb, void *ctx)
{
    struct pf_error err = {0};
    char lim[PFS_PG_I64_LEN];
    const char *p[2] = {serial, lc__limit(lim, limit)};
    PGresult *res = NULL;
    int rc = 0, n;

    if (pfs_pg_query(st->pg,
                     "SELECT recv_ms, offer, bundle, kind, version, status, reason, code,"
                     " message FROM update_events WHERE serial = $1 ORDER BY seq DESC"
                     " LIMIT $2::bigint",
                     2, p, &res, &err) != 0)
        return PF_EIO;
    n = PQntuples(res);
    for (int i = 0; i < n && !rc; i++) {
        struct pfs_update_view u = {
                .ts_ms = pfs_pg_col_i64(res, i, 0),
                .offer = lc__ctext(res, i, 1),
                .bundle = lc__ctext(res, i, 2),
                .kind = lc__ctext(res, i, 3),
                .version = lc__ctext(res, i, 4),
                .status = lc__ctext(res, i, 5),
                .reason = lc__ctext(res, i, 6),
                .code = lc__ctext(res, i, 7),
                .message = lc__ctext(res, i, 8),
        };

        rc = cb(ctx, &u);
    }
    PQclear(res);
    return rc;
}

int pfs_pg_audit_query(struct pfs_pg_store *st, const char *serial, const char *merchant_id,
                       int64_t since_ms, int64_t before_id, int limit, pfs_audit_cb cb, void *ctx)
{
    struct pf_error err = {0};
    char since[PFS_PG_I64_LEN], bid[PFS_PG_I64_LEN], lim[PFS_PG_I64_LEN];
    const char *p[5] = {lc__nz(serial), lc__nz(merchant_id), pfs_pg_i64(since, since_ms),
                        pfs_pg_i64(bid, before_id), lc__limit(lim, limit)};
    PGresult *res = NULL;
    int rc = 0, n;

    if (pfs_pg_query(st->pg,
                     "SELECT id, ts_ms, actor, role, action, target, before, after FROM audit a"
                     " WHERE ($1::text IS NULL OR a.target = $1 OR a.id IN (SELECT audit_id"
                     " FROM audit_ref WHERE serial = $1))"
                     " AND ($2::text IS NULL OR a.id IN (SELECT audit_id FROM audit_ref WHERE"
                     " merchant_id = $2))"
                     " AND a.ts_ms >= $3 AND ($4::bigint = 0 OR a.id < $4) ORDER BY a.id DESC"
                     " LIMIT $5::bigint",
                     5, p, &res, &err) != 0)
        return PF_EIO;
    n = PQntuples(res);
    for (int i = 0; i < n && !rc; i++) {
        struct pfs_audit a;

        memset(&a, 0, sizeof(a));
        a.id = pfs_pg_col_i64(res, i, 0);
        a.ts_ms = pfs_pg_col_i64(res, i, 1);
        lc__col(res, i, 2, a.actor, sizeof(a.actor));
        lc__col(res, i, 3, a.role, sizeof(a.role));
        lc__col(res, i, 4, a.action, sizeof(a.action));
        lc__col(res, i, 5, a.target, sizeof(a.target));
        a.before = lc__ctext(res, i, 6);
        a.after = lc__ctext(res, i, 7);
        rc = cb(ctx, &a);
    }
    PQclear(res);
    return rc;
}
