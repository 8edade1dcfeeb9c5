/*
 * pg_updates.c - the PostgreSQL backend of store_updates.h (tables of
 * migration 004_updates), the twin of store_updates_sqlite.c: the same
 * statements where they run unchanged, RETURNING where SQLite asked
 * sqlite3_changes(), and the audit text of uploads and offers from
 * store/record_json.h.
 *
 * Writes are one pfs_pg_tx() body each, at READ COMMITTED: every decision
 * is taken by the statement that writes (INSERT ... ON CONFLICT DO NOTHING,
 * UPDATE ... WHERE status NOT IN final), which PostgreSQL re-checks against
 * the newest row version after waiting for a concurrent writer, so two
 * instances recording the same event or offer id write it once, and the
 * second learns so from the empty RETURNING, exactly as SQLite's single
 * writer answers.
 */
#include "store/postgres/pg_updates.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/postgres/onetx.h"
#include "store/postgres/pg_rollout_members.h"
#include "store/record_json.h"

static int upd__kind(const char *name)
{
    for (int i = 0; pf_bundle_kind_names[i]; i++) {
        if (strcmp(name, pf_bundle_kind_names[i]) == 0)
            return i;
    }
    return PF_KIND_FIRMWARE;
}

/* NULL for "" (SQLite's 's' binding). */
static const char *upd__opt(const char *s)
{
    return s && *s ? s : NULL;
}

static void upd__col(const PGresult *res, int r, int c, char *out, size_t size)
{
    snprintf(out, size, "%s", PQgetisnull(res, r, c) ? "" : PQgetvalue(res, r, c));
}

/* --- bundles --- */

#define UPD__BUNDLE_COLS                                                                           \
    "id, kind, version, models, hw_revs, size, manifest, created_s, expires_s, uploaded_ms"

static void upd__bundle_read(const PGresult *res, int r, struct pfs_bundle_rec *b)
{
    char kind[16];

    memset(b, 0, sizeof(*b));
    upd__col(res, r, 0, b->id, sizeof(b->id));
    upd__col(res, r, 1, kind, sizeof(kind));
    b->kind = upd__kind(kind);
    upd__col(res, r, 2, b->version, sizeof(b->version));
    upd__col(res, r, 3, b->models, sizeof(b->models));
    upd__col(res, r, 4, b->hw_revs, sizeof(b->hw_revs));
    b->size = (uint64_t)pfs_pg_col_i64(res, r, 5);
    upd__col(res, r, 6, b->manifest, sizeof(b->manifest));
    b->created_s = pfs_pg_col_i64(res, r, 7);
    b->expires_s = pfs_pg_col_i64(res, r, 8);
    b->uploaded_ms = pfs_pg_col_i64(res, r, 9);
}

struct upd__bundle_put {
    struct pfs_pg_store *st;
    const struct pfs_bundle_rec *b;
    const struct pfs_actor *actor;
    int64_t now_ms;
    bool created;
};

static int upd__bundle_put_body(void *ctx, struct pfs_pg *pg, int attempt, struct pf_error *err)
{
    struct upd__bundle_put *c = ctx;
    const struct pfs_bundle_rec *b = c->b;
    char size[PFS_PG_I64_LEN], cs[PFS_PG_I64_LEN], es[PFS_PG_I64_LEN], up[PFS_PG_I64_LEN];
    const char *p[10] = {b->id,
                         pf_bundle_kind_names[b->kind],
                         b->version,
                         b->models,
                         b->hw_revs,
                         pfs_pg_i64(size, (int64_t)b->size),
                         b->manifest,
                         pfs_pg_i64(cs, b->created_s),
                         pfs_pg_i64(es, b->expires_s),
                         pfs_pg_i64(up, b->uploaded_ms)};
    PGresult *res = NULL;
    char *after = NULL;
    int rc;

    (void)attempt;
    c->created = false;
    rc = pfs_pg_query(pg,
                      "INSERT INTO bundles (" UPD__BUNDLE_COLS ") VALUES ($1,$2,$3,$4,$5,$6,$7,"
                      "$8,$9,$10) ON CONFLICT (id) DO NOTHING RETURNING id",
                      10, p, &res, err);
    if (rc) {
        pf_error_prefix(err, "store: bundle %s", b->id);
        return rc;
    }
    c->created = PQntuples(res) == 1;
    PQclear(res);
    if (!c->created)
        return 0; /* stored already: no audit row either */
    after = pfs_rec_bundle_text(b);
    if (!after)
        return pf_error_set(err, PF_ENOMEM, "store: audit: out of memory");
    {
        struct pfs_pg_audit a = {c->actor, c->now_ms, "bundle.upload", b->id, NULL, after, NULL,
                                 NULL,     NULL};

        rc = pfs_pg_audit_write(pg, &a, err);
    }
    free(after);
    if (rc)
        pf_error_prefix(err, "store: audit");
    return rc;
}

int pfs_pg_bundle_put(struct pfs_pg_store *st, const struct pfs_bundle_rec *b,
                      const struct pfs_actor *actor, int64_t now_ms, bool *created,
                      struct pf_error *err)
{
    struct upd__bundle_put c = {st, b, actor, now_ms, false};
    int rc;

    *created = false;
    rc = pgb_store_tx(st, PFS_PG_READ_COMMITTED, now_ms, upd__bundle_put_body, &c, err);
    if (rc == 0)
        *created = c.created;
    return rc;
}

int pfs_pg_bundle_get(struct pfs_pg_store *st, const char *id, struct pfs_bundle_rec *b)
{
    const char *p[1] = {id};
    PGresult *res = NULL;
    int rc;

    rc = pgb_read(st, "SELECT " UPD__BUNDLE_COLS " FROM bundles WHERE id = $1", 1, p, &res);
    if (rc)
        return rc;
    rc = PQntuples(res) == 1 ? 0 : PF_ENOENT;
    if (rc == 0)
        upd__bundle_read(res, 0, b);
    PQclear(res);
    return rc;
}

int pfs_pg_bundle_list(struct pfs_pg_store *st, int limit, pfs_bundle_cb cb, void *ctx)
{
    char lim[PFS_PG_I64_LEN];
    const char *p[1] = {pfs_pg_i64(lim, limit)};
    struct pfs_bundle_rec b;
    PGresult *res = NULL;
    int rc;

    /* LIMIT of a negative number: SQLite reads it as no limit. */
    rc = pgb_read(st,
                  "SELECT " UPD__BUNDLE_COLS " FROM bundles ORDER BY uploaded_ms DESC,"
                  " id COLLATE \"C\" LIMIT CASE WHEN $1::bigint < 0 THEN NULL ELSE $1::bigint END",
                  1, p, &res);
    if (rc)
        return rc;
    for (int r = 0; r < PQntuples(res) && rc == 0; r++) {
        upd__bundle_read(res, r, &b);
        rc = cb(ctx, &b);
    }
    PQclear(res);
    return rc;
}

/* --- offers --- */

int pfs_pg_offer_rows(struct pfs_pg *pg, const struct pfs_offer_rec *o,
                      const struct pfs_bundle_rec *b, const char *body, const char *actor,
                      struct pf_error *err)
{
    char cr[PFS_PG_I64_LEN], dl[PFS_PG_I64_LEN];
    const char *p[7] = {o->id,
                        o->serial,
                        o->bundle,
                        pfs_pg_i64(cr, o->created_ms),
                        pfs_pg_i64(dl, o->deadline_ms),
                        actor,
                        upd__opt(body)};
    const char *q[6] = {o->serial, o->id, o->bundle, pf_bundle_kind_names[b->kind], b->version, cr};
    PGresult *res = NULL;
    int rc, n;

    /* ON CONFLICT instead of a unique violation, which would abort the
     * transaction: the taken id is an answer, not an error of the session. */
    rc = pfs_pg_query(pg,
                      "INSERT INTO update_offers (id, serial, bundle, created_ms, deadline_ms,"
                      " actor, body) VALUES ($1,$2,$3,$4,$5,$6,$7) ON CONFLICT (id) DO NOTHING"
                      " RETURNING id",
                      7, p, &res, err);
    if (rc)
        return rc;
    n = PQntuples(res);
    PQclear(res);
    if (n != 1)
        return pf_error_set(err, PF_EEXIST, "offer id taken");
    return pfs_pg_exec(pg,
                       "INSERT INTO update_state (serial, offer, bundle, kind, version, status,"
                       " percent, reason, code, updated_ms) VALUES ($1,$2,$3,$4,$5,'offered',"
                       "NULL,NULL,NULL,$6) ON CONFLICT (serial) DO UPDATE SET"
                       " offer=excluded.offer, bundle=excluded.bundle, kind=excluded.kind,"
                       " version=excluded.version, status='offered', percent=NULL, reason=NULL,"
                       " code=NULL, updated_ms=excluded.updated_ms",
                       6, q, err);
}

struct upd__offer_put {
    const struct pfs_offer_rec *o;
    const struct pfs_bundle_rec *b;
    const char *body;
    const struct pfs_actor *actor;
};

static int upd__offer_put_body(void *ctx, struct pfs_pg *pg, int attempt, struct pf_error *err)
{
    struct upd__offer_put *c = ctx;
    char *after;
    int rc;

    (void)attempt;
    rc = pfs_pg_offer_rows(pg, c->o, c->b, c->body,
                           c->actor && c->actor->name ? c->actor->name : "-", err);
    if (rc) {
        pf_error_prefix(err, "store: offer %s", c->o->id);
        return rc;
    }
    after = pfs_rec_offer_text(c->o, c->b);
    if (!after)
        return pf_error_set(err, PF_ENOMEM, "store: audit: out of memory");
    {
        struct pfs_pg_audit a = {
                c->actor, c->o->created_ms, "device.update", c->o->serial, NULL, after, NULL, NULL,
                NULL};

        rc = pfs_pg_audit_write(pg, &a, err);
    }
    free(after);
    if (rc)
        pf_error_prefix(err, "store: audit");
    return rc;
}

int pfs_pg_offer_put(struct pfs_pg_store *st, const struct pfs_offer_rec *o,
                     const struct pfs_bundle_rec *b, const char *body,
                     const struct pfs_actor *actor, struct pf_error *err)
{
    struct upd__offer_put c = {o, b, body, actor};

    return pgb_store_tx(st, PFS_PG_READ_COMMITTED, o->created_ms, upd__offer_put_body, &c, err);
}

int pfs_pg_offer_pending(struct pfs_pg_store *st, const char *serial, int64_t now_ms, char **body)
{
    char now[PFS_PG_I64_LEN];
    const char *p[2] = {serial, pfs_pg_i64(now, now_ms)};
    PGresult *res = NULL;
    int rc;

    *body = NULL;
    rc = pgb_read(st,
                  "SELECT o.body FROM update_state u JOIN update_offers o ON o.id = u.offer"
                  " WHERE u.serial = $1 AND u.status = 'offered' AND o.deadline_ms > $2"
                  " AND o.body IS NOT NULL",
                  2, p, &res);
    if (rc)
        return rc;
    if (PQntuples(res) < 1) {
        rc = PF_ENOENT;
    } else {
        *body = strdup(PQgetvalue(res, 0, 0));
        rc = *body ? 0 : PF_ENOMEM;
    }
    PQclear(res);
    return rc;
}

int pfs_pg_offer_check(struct pfs_pg_store *st, const char *serial, const char *offer)
{
    const char *p[2] = {offer, serial};
    PGresult *res = NULL;
    int rc;

    rc = pgb_read(st, "SELECT count(*) FROM update_offers WHERE id = $1 AND serial = $2", 2, p,
                  &res);
    if (rc)
        return rc;
    rc = pfs_pg_col_i64(res, 0, 0) > 0 ? 0 : PF_ENOENT;
    PQclear(res);
    return rc;
}

int pfs_pg_offer_current(struct pfs_pg_store *st, const char *serial, int64_t now_ms,
                         struct pfs_offer_rec *o, uint64_t *bundle_size)
{
    char now[PFS_PG_I64_LEN];
    const char *p[2] = {serial, pfs_pg_i64(now, now_ms)};
    PGresult *res = NULL;
    int rc;

    memset(o, 0, sizeof(*o));
    *bundle_size = 0;
    rc = pgb_read(st,
                  "SELECT o.id, o.bundle, o.created_ms, o.deadline_ms, b.size FROM update_state u"
                  " JOIN update_offers o ON o.id = u.offer JOIN bundles b ON b.id = o.bundle"
                  " WHERE u.serial = $1 AND u.status NOT IN"
                  " ('success','failed','rolled_back','refused') AND o.deadline_ms > $2",
                  2, p, &res);
    if (rc)
        return rc;
    if (PQntuples(res) < 1) {
        PQclear(res);
        return PF_ENOENT;
    }
    upd__col(res, 0, 0, o->id, sizeof(o->id));
    upd__col(res, 0, 1, o->bundle, sizeof(o->bundle));
    snprintf(o->serial, sizeof(o->serial), "%s", serial);
    o->created_ms = pfs_pg_col_i64(res, 0, 2);
    o->deadline_ms = pfs_pg_col_i64(res, 0, 3);
    *bundle_size = (uint64_t)pfs_pg_col_i64(res, 0, 4);
    PQclear(res);
    return 0;
}

/* --- events --- */

/* A DELETE whose rows are counted (SQLite's sqlite3_changes()). */
struct upd__delete {
    const char *sql;
    int n;
    const char *const *params;
    int deleted;
};

static int upd__delete_body(void *ctx, struct pfs_pg *pg, int attempt, struct pf_error *err)
{
    struct upd__delete *c = ctx;
    PGresult *res = NULL;
    int rc;

    (void)attempt;
    c->deleted = 0;
    rc = pfs_pg_query(pg, c->sql, c->n, c->params, &res, err);
    if (rc)
        return rc;
    c->deleted = (int)pfs_pg_col_i64(res, 0, 0);
    PQclear(res);
    return 0;
}

int pfs_pg_update_expire(struct pfs_pg_store *st, int64_t before_ms, int64_t now_ms, int max,
                         int *deleted)
{
    char before[PFS_PG_I64_LEN], lim[PFS_PG_I64_LEN];
    const char *p[2] = {pfs_pg_i64(before, before_ms), pfs_pg_i64(lim, max)};
    /* Events arrive in seq order, so the oldest are the first rows: each call
     * looks at max rows only, like the health retention. */
    struct upd__delete c = {"WITH d AS (DELETE FROM update_events WHERE seq IN (SELECT seq FROM"
                            " update_events ORDER BY seq LIMIT $2) AND recv_ms < $1 RETURNING 1)"
                            " SELECT count(*) FROM d",
                            2, p, 0};
    int rc;

    *deleted = 0;
    rc = pgb_store_tx(st, PFS_PG_READ_COMMITTED, now_ms, upd__delete_body, &c, NULL);
    if (rc == 0)
        *deleted = c.deleted;
    return rc;
}

int pfs_pg_update_prune(struct pfs_pg_store *st, const char *serial, int keep, int64_t now_ms,
                        int *deleted)
{
    char lim[PFS_PG_I64_LEN];
    const char *p[2] = {serial, pfs_pg_i64(lim, keep)};
    /* The terminal's rows only, through its (serial, id) index: keep + 1 at most. */
    struct upd__delete c = {"WITH d AS (DELETE FROM update_events WHERE serial = $1 AND seq <"
                            " (SELECT min(seq) FROM (SELECT seq FROM update_events WHERE"
                            " serial = $1 ORDER BY seq DESC LIMIT $2) k) RETURNING 1)"
                            " SELECT count(*) FROM d",
                            2, p, 0};
    int rc;

    *deleted = 0;
    rc = pgb_store_tx(st, PFS_PG_READ_COMMITTED, now_ms, upd__delete_body, &c, NULL);
    if (rc == 0)
        *deleted = c.deleted;
    return rc;
}

struct upd__event {
    struct pfs_pg_store *st;
    const char *serial;
    const struct pf_update_event *e;
    int64_t recv_ms;
    bool recorded;
};
static int upd__event_body(void *ctx, struct pfs_pg *pg, int attempt, struct pf_error *err)
{
    struct upd__event *c = ctx;
    const struct pf_update_event *e = c->e;
    char bundle[PF_B2_HEX_LEN + 1], ts[PFS_PG_I64_LEN], recv[PFS_PG_I64_LEN], pct[PFS_PG_I64_LEN];
    const char *status = pf_update_status_names[e->status];
    const char *percent =
            e->status == PF_UPD_DOWNLOADING && e->percent >= 0 ? pfs_pg_i64(pct, e->percent) : NULL;
    const char *p[13] = {c->serial,
                         e->id,
                         e->offer,
                         bundle,
                         pf_bundle_kind_names[e->kind],
                         e->version,
                         status,
                         pfs_pg_i64(ts, e->ts_ms),
                         pfs_pg_i64(recv, c->recv_ms),
                         upd__opt(e->reason),
                         percent,
                         upd__opt(e->code),
                         upd__opt(e->message)};
    const char *q[7] = {c->serial,           e->offer,          status, percent,
                        upd__opt(e->reason), upd__opt(e->code), recv};
    struct pfs_pg_store *st = c->st;
    PGresult *res = NULL;
    int rc, n;

    (void)attempt;
    c->recorded = false;
    pf_b2_hex(e->bundle, bundle);
    /* The idempotency key across instances: a second instance's insert of the
     * same (serial, id) waits for the first transaction, then inserts nothing. */
    rc = pfs_pg_query(pg,
                      "INSERT INTO update_events (serial, id, offer, bundle, kind, version, status,"
                      " ts_ms, recv_ms, reason, percent, code, message) VALUES ($1,$2,$3,$4,$5,"
                      "$6,$7,$8,$9,$10,$11,$12,$13) ON CONFLICT (serial, id) DO NOTHING"
                      " RETURNING seq",
                      13, p, &res, err);
    if (rc)
        return rc;
    n = PQntuples(res);
    PQclear(res);
    if (n == 0)
        return 0; /* recorded before: nothing changes */
    rc = pfs_pg_exec(pg,
                     "UPDATE update_state SET status=$3, percent=$4, reason=$5, code=$6,"
                     " updated_ms=$7 WHERE serial=$1 AND offer=$2 AND status NOT IN"
                     " ('success','failed','rolled_back','refused')",
                     7, q, err);
    if (rc)
        return rc;
    /* The rollout member holding this offer moves in the same transaction,
     * through the store's transaction handle on this session. */
    st->tx.open = true;
    st->tx.durability = PFS_DURABILITY_FULL;
    st->tx.now_ms = c->recv_ms;
    rc = pfs_pg_rollout_on_event(&st->tx, c->serial, e, c->recv_ms);
    st->tx.open = false;
    if (rc)
        return rc;
    c->recorded = true;
    return 0;
}

int pfs_pg_update_event_put(struct pfs_pg_store *st, const char *serial,
                            const struct pf_update_event *e, int64_t recv_ms, bool *recorded)
{
    struct upd__event c = {st, serial, e, recv_ms, false};
    int rc;

    *recorded = false;
    rc = pgb_store_tx(st, PFS_PG_READ_COMMITTED, recv_ms, upd__event_body, &c, NULL);
    if (rc == 0)
        *recorded = c.recorded;
    return rc;
}

#define UPD__EVENT_COLS                                                                            \
    "serial, id, offer, bundle, kind, version, status, ts_ms, recv_ms, reason, percent, code,"     \
    " message"

static void upd__update_read(const PGresult *res, int r, struct pfs_update_rec *u)
{
    char kind[16];

    memset(u, 0, sizeof(*u));
    upd__col(res, r, 0, u->serial, sizeof(u->serial));
    upd__col(res, r, 1, u->id, sizeof(u->id));
    upd__col(res, r, 2, u->offer, sizeof(u->offer));
    upd__col(res, r, 3, u->bundle, sizeof(u->bundle));
    upd__col(res, r, 4, kind, sizeof(kind));
    u->kind = upd__kind(kind);
    upd__col(res, r, 5, u->version, sizeof(u->version));
    upd__col(res, r, 6, u->status, sizeof(u->status));
    u->ts_ms = pfs_pg_col_i64(res, r, 7);
    u->recv_ms = pfs_pg_col_i64(res, r, 8);
    upd__col(res, r, 9, u->reason, sizeof(u->reason));
    u->percent = PQgetisnull(res, r, 10) ? -1 : (int)pfs_pg_col_i64(res, r, 10);
    upd__col(res, r, 11, u->code, sizeof(u->code));
    upd__col(res, r, 12, u->message, sizeof(u->message));
}

int pfs_pg_update_events(struct pfs_pg_store *st, const char *serial, int limit, pfs_update_cb cb,
                         void *ctx)
{
    char lim[PFS_PG_I64_LEN];
    const char *p[2] = {serial, pfs_pg_i64(lim, limit)};
    struct pfs_update_rec u;
    PGresult *res = NULL;
    int rc;

    rc = pgb_read(st,
                  "SELECT " UPD__EVENT_COLS " FROM update_events WHERE serial = $1"
                  " ORDER BY seq DESC LIMIT CASE WHEN $2::bigint < 0 THEN NULL ELSE $2::bigint END",
                  2, p, &res);
    if (rc)
        return rc;
    for (int r = 0; r < PQntuples(res) && rc == 0; r++) {
        upd__update_read(res, r, &u);
        rc = cb(ctx, &u);
    }
    PQclear(res);
    return rc;
}

int pfs_pg_update_current(struct pfs_pg_store *st, const char *serial, struct pfs_update_rec *r)
{
    const char *p[1] = {serial};
    PGresult *res = NULL;
    int rc;

    rc = pgb_read(st,
                  "SELECT serial, '', offer, bundle, kind, version, status, 0, updated_ms,"
                  " reason, percent, code, NULL FROM update_state WHERE serial = $1",
                  1, p, &res);
    if (rc)
        return rc;
    rc = PQntuples(res) == 1 ? 0 : PF_ENOENT;
    if (rc == 0)
        upd__update_read(res, 0, r);
    PQclear(res);
    return rc;
}

int pfs_pg_update_counts(struct pfs_pg_store *st, pfs_count_cb cb, void *ctx)
{
    PGresult *res = NULL;
    int rc;

    /* SQLite orders text by bytes: COLLATE "C" whatever the database's locale. */
    rc = pgb_read(st,
                  "SELECT status, count(*) FROM update_state GROUP BY status"
                  " ORDER BY status COLLATE \"C\"",
                  0, NULL, &res);
    if (rc)
        return rc;
    for (int r = 0; r < PQntuples(res) && rc == 0; r++)
        rc = cb(ctx, PQgetvalue(res, r, 0), pfs_pg_col_i64(res, r, 1));
    PQclear(res);
    return rc;
}

int pfs_pg_update_event_count(struct pfs_pg_store *st, const char *serial, const char *id,
                              int64_t *n)
{
    const char *p[2] = {serial, id};
    PGresult *res = NULL;
    int rc;

    *n = 0;
    rc = pgb_read(st, "SELECT count(*) FROM update_events WHERE serial = $1 AND id = $2", 2, p,
                  &res);
    if (rc)
        return rc;
    *n = pfs_pg_col_i64(res, 0, 0);
    PQclear(res);
    return 0;
}
