/*
 * pg_rollout_members.c - rollout members in the PostgreSQL store (the
 * SQLite side is store_rollout_members.c): listed (rows and planned members
 * merged), scanned for the scheduler, and moved as rollout_member.h decides,
 * each move "UPDATE ... WHERE status = <the status it was decided from>",
 * which READ COMMITTED re-checks on the row after a concurrent change: a
 * member another instance moved meanwhile is left alone.
 */
#include "store/postgres/pg_rollout_members.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rollouts/rollout_member.h"
#include "store/postgres/pg_rollouts.h"
#include "store/postgres/pg_rollouts_internal.h"
#include "store/postgres/pg_updates.h"
#include "store/record_json.h"

#define RO__MEMBER_COLS                                                                            \
    "m.serial, m.stage, m.status, coalesce(m.offer,''), m.offered_ms, m.since_ms, m.attempts,"     \
    " coalesce(m.prev_bundle,''), coalesce(m.code,'')"

static void ro__member_read(const PGresult *res, int row, struct pfs_ro_member_rec *m, bool joined)
{
    int st;

    memset(m, 0, sizeof(*m));
    (void)!pfs_pg_col_text(res, row, 0, m->serial, sizeof(m->serial));
    m->stage = (int)pfs_pg_col_i64(res, row, 1);
    st = pfs_ro_member_parse(PQgetvalue(res, row, 2));
    m->status = st < 0 ? PFS_ROM_SKIPPED : (enum pfs_ro_member)st;
    (void)!pfs_pg_col_text(res, row, 3, m->offer, sizeof(m->offer));
    m->offered_ms = pfs_pg_col_i64(res, row, 4);
    m->since_ms = pfs_pg_col_i64(res, row, 5);
    m->attempts = (int)pfs_pg_col_i64(res, row, 6);
    (void)!pfs_pg_col_text(res, row, 7, m->prev_bundle, sizeof(m->prev_bundle));
    (void)!pfs_pg_col_text(res, row, 8, m->code, sizeof(m->code));
    if (joined) {
        m->online = pfs_pg_col_bool(res, row, 9);
        (void)!pfs_pg_col_text(res, row, 10, m->tz, sizeof(m->tz));
    }
}

/* Hands up to limit rows of res to cb; *more says a row was left. */
static int ro__member_page(const PGresult *res, int limit, bool joined, pfs_ro_member_cb cb,
                           void *ctx, bool *more)
{
    int rc = 0;

    for (int i = 0; !rc && i < PQntuples(res); i++) {
        struct pfs_ro_member_rec m;

        if (i == limit) {
            *more = true;
            break;
        }
        ro__member_read(res, i, &m, joined);
        rc = cb(ctx, &m);
    }
    return rc;
}

struct ro__recs {
    struct pfs_ro_member_rec *v;
    size_t n, cap;
};

static int ro__recs_add(void *ctx, const struct pfs_ro_member_rec *m)
{
    struct ro__recs *r = ctx;

    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 64;
        struct pfs_ro_member_rec *v = realloc(r->v, cap * sizeof(*v));

        if (!v)
            return PF_ENOMEM;
        r->v = v;
        r->cap = cap;
    }
    r->v[r->n++] = *m;
    return 0;
}

static int ro__rec_cmp(const void *a, const void *b)
{
    return strcmp(((const struct pfs_ro_member_rec *)a)->serial,
                  ((const struct pfs_ro_member_rec *)b)->serial);
}

/* Up to `want` planned members of each stage (of `stage` if >= 0) after serial
 * `after`, in status st, added to out. */
static int ro__plan_page(struct pfs_pg *pg, int64_t id, int stage, const char *after, size_t want,
                         enum pfs_ro_member st, struct ro__recs *out)
{
    char a[PFS_PG_I64_LEN], b[PFS_PG_I64_LEN];
    const char *p[3] = {pfs_pg_i64(a, id), pfs_pg_i64(b, stage), after};
    size_t taken[PFS_RO_STAGES_MAX] = {0};
    PGresult *res = NULL;
    int rc = 0;

    if (pfs_pg_query(pg,
                     "SELECT stage, prevs, members FROM rollout_plan WHERE rollout = $1::bigint"
                     " AND ($2::int < 0 OR stage = $2::int) AND last" PFS_PGRO_C " > $3"
                     " ORDER BY stage, seq",
                     3, p, &res, NULL))
        return PF_EIO;
    for (int row = 0; !rc && row < PQntuples(res); row++) {
        int k = (int)pfs_pg_col_i64(res, row, 0);
        struct pfs_pgro_rows c;

        if (k < 0 || k >= PFS_RO_STAGES_MAX || taken[k] >= want)
            continue;
        rc = pfs_pgro_plan_decode(k, PQgetvalue(res, row, 1), PQgetvalue(res, row, 2),
                                  (size_t)PQgetlength(res, row, 2), &c);
        for (size_t i = 0; !rc && i < c.n && taken[k] < want; i++) {
            struct pfs_ro_member_rec m;

            if (strcmp(c.serial[i], after) <= 0)
                continue;
            memset(&m, 0, sizeof(m));
            snprintf(m.serial, sizeof(m.serial), "%s", c.serial[i]);
            m.stage = k;
            m.status = st;
            if (c.prev[i])
                snprintf(m.prev_bundle, sizeof(m.prev_bundle), "%s", c.prev_ids[c.prev[i] - 1]);
            rc = ro__recs_add(out, &m);
            taken[k]++;
        }
        pfs_pgro_rows_free(&c);
    }
    PQclear(res);
    return rc;
}

int pfs_pg_rollout_members(struct pfs_pg_store *st, int64_t id, int status, int stage,
                           const char *after, int limit, pfs_ro_member_cb cb, void *ctx, bool *more)
{
    char a[PFS_PG_I64_LEN], b[PFS_PG_I64_LEN], l[PFS_PG_I64_LEN];
    struct ro__recs all = {0};
    struct pfs_rollout_rec r;
    enum pfs_ro_member planned;
    PGresult *res = NULL;
    bool rows_more = false;
    int rc;

    *more = false;
    if (!after)
        after = "";
    if ((rc = pfs_pg_rollout_get(st, id, &r)))
        return rc;
    planned = pfs_ro_state_plans(r.state) ? PFS_ROM_PENDING : PFS_ROM_SKIPPED;
    pfs_rollout_rec_release(&r);
    {
        const char *p[5] = {pfs_pg_i64(a, id),
                            status >= 0 && status < PFS_ROM_COUNT ? pfs_ro_member_names[status]
                                                                  : NULL,
                            pfs_pg_i64(b, stage), after, pfs_pg_i64(l, (int64_t)limit + 1)};

        if (pfs_pg_query(st->pg,
                         "SELECT " RO__MEMBER_COLS " FROM rollout_members m WHERE"
                         " m.rollout = $1::bigint AND ($2::text IS NULL OR m.status = $2) AND"
                         " ($3::int < 0 OR m.stage = $3::int) AND m.serial" PFS_PGRO_C " > $4"
                         " ORDER BY m.serial" PFS_PGRO_C " LIMIT $5::bigint",
                         5, p, &res, NULL))
            return PF_EIO;
    }
    /* rows and planned members merged in serial order: limit + 1 of each kind suffice */
    rc = ro__member_page(res, limit + 1, false, ro__recs_add, &all, &rows_more);
    PQclear(res);
    if (!rc && (status < 0 || status == (int)planned))
        rc = ro__plan_page(st->pg, id, stage, after, (size_t)limit + 1, planned, &all);
    if (!rc && all.n)
        qsort(all.v, all.n, sizeof(*all.v), ro__rec_cmp);
    for (size_t i = 0; !rc && i < all.n && i < (size_t)limit; i++)
        rc = cb(ctx, &all.v[i]);
    *more = all.n > (size_t)limit;
    free(all.v);
    return rc;
}

int pfs_pg_rollout_member(struct pfs_pg_store *st, int64_t id, const char *serial,
                          struct pfs_ro_member_rec *m)
{
    char a[PFS_PG_I64_LEN];
    const char *p[2] = {pfs_pg_i64(a, id), serial};
    struct pfs_rollout_rec r;
    struct pfs_pgro_plan_hit h;
    PGresult *res = NULL;
    int n = 0, rc;

    if (pfs_pg_query(st->pg,
                     "SELECT " RO__MEMBER_COLS " FROM rollout_members m WHERE"
                     " m.rollout = $1::bigint AND m.serial = $2",
                     2, p, &res, NULL))
        return PF_EIO;
    if (PQntuples(res) == 1) {
        ro__member_read(res, 0, m, false);
        PQclear(res);
        return 0;
    }
    PQclear(res);
    /* in a stage not opened yet? */
    if (pfs_pg_query(st->pg,
                     "SELECT " PFS_PGRO_PLAN_COLS " FROM rollout_plan p WHERE"
                     " p.rollout = $1::bigint AND p.first" PFS_PGRO_C " <= $2 AND"
                     " p.last" PFS_PGRO_C " >= $2 ORDER BY p.stage, p.seq",
                     2, p, &res, NULL))
        return PF_EIO;
    rc = pfs_pgro_plan_find(res, serial, false, &h, 1, &n);
    PQclear(res);
    if (rc || !n)
        return rc ? rc : PF_ENOENT;
    if ((rc = pfs_pg_rollout_get(st, id, &r)))
        return rc;
    memset(m, 0, sizeof(*m));
    snprintf(m->serial, sizeof(m->serial), "%s", serial);
    m->stage = h.stage;
    m->status = pfs_ro_state_plans(r.state) ? PFS_ROM_PENDING : PFS_ROM_SKIPPED;
    pfs_rollout_rec_release(&r);
    snprintf(m->prev_bundle, sizeof(m->prev_bundle), "%s", h.prev);
    return 0;
}

int pfs_pg_rollout_candidates(struct pfs_pg_store *st, int64_t id, enum pfs_ro_member status,
                              int max_stage, int after_stage, const char *after_serial, int limit,
                              pfs_ro_member_cb cb, void *ctx, bool *more)
{
    char a[PFS_PG_I64_LEN], b[PFS_PG_I64_LEN], c[PFS_PG_I64_LEN], l[PFS_PG_I64_LEN];
    const char *p[6] = {pfs_pg_i64(a, id),
                        pfs_ro_member_names[status],
                        pfs_pg_i64(b, max_stage),
                        pfs_pg_i64(c, after_stage),
                        after_serial ? after_serial : "",
                        pfs_pg_i64(l, (int64_t)limit + 1)};
    PGresult *res = NULL;
    int rc;

    *more = false;
    if (pfs_pg_query(st->pg,
                     "SELECT " RO__MEMBER_COLS ", coalesce(d.online, false), coalesce(t.tz,'')"
                     " FROM rollout_members m"
                     " LEFT JOIN device_state d ON d.serial = m.serial"
                     " LEFT JOIN terminals t ON t.serial = m.serial"
                     " WHERE m.rollout = $1::bigint AND m.status = $2 AND m.stage <= $3::int"
                     " AND (m.stage > $4::int OR (m.stage = $4::int AND"
                     " m.serial" PFS_PGRO_C " > $5))"
                     " ORDER BY m.stage, m.serial" PFS_PGRO_C " LIMIT $6::bigint",
                     6, p, &res, NULL))
        return PF_EIO;
    rc = ro__member_page(res, limit, true, cb, ctx, more);
    PQclear(res);
    return rc;
}

/* --- changes --- */

/* The member's status now, its row locked (PF_ENOENT if it has no row). */
static int ro__member_status_of(struct pfs_pg *pg, int64_t id, const char *serial,
                                enum pfs_ro_member *cur, struct pf_error *err)
{
    char a[PFS_PG_I64_LEN];
    const char *p[2] = {pfs_pg_i64(a, id), serial};
    PGresult *res = NULL;
    int rc, st = -1;

    if ((rc = pfs_pg_query(pg,
                           "SELECT status FROM rollout_members WHERE rollout = $1::bigint AND"
                           " serial = $2 FOR UPDATE",
                           2, p, &res, err)))
        return rc;
    if (PQntuples(res) == 1)
        st = pfs_ro_member_parse(PQgetvalue(res, 0, 0));
    PQclear(res);
    if (st < 0)
        return PF_ENOENT;
    *cur = (enum pfs_ro_member)st;
    return 0;
}

struct ro__offer {
    int64_t id;
    const struct pfs_offer_rec *o;
    const struct pfs_bundle_rec *b;
    const char *body;
};

static int ro__offer_body(void *ctx, struct pfs_pg *pg, int attempt, struct pf_error *err)
{
    struct ro__offer *x = ctx;
    const struct pfs_offer_rec *o = x->o;
    enum pfs_ro_member cur, to;
    char actor[32], a[PFS_PG_I64_LEN], t[PFS_PG_I64_LEN];
    int64_t n = 0;
    int rc;

    (void)attempt;
    snprintf(actor, sizeof(actor), "rollout/%" PRId64, x->id);
    rc = ro__member_status_of(pg, x->id, o->serial, &cur, err);
    if (!rc && pfs_ro_member_next(cur, PFS_ROE_OFFER, &to) != 0)
        rc = PF_ESTATE;
    if (rc == PF_ESTATE || rc == PF_ENOENT)
        return pf_error_set(err, PF_ESTATE, "member %s of rollout %" PRId64 " is not pending",
                            o->serial, x->id);
    if (!rc)
        rc = pfs_pg_offer_rows(pg, o, x->b, x->body, actor, err);
    if (!rc) {
        const char *p[6] = {pfs_pg_i64(a, x->id),    o->serial, pfs_ro_member_names[cur],
                            pfs_ro_member_names[to], o->id,     pfs_pg_i64(t, o->created_ms)};

        rc = pfs_pgro_run(pg,
                          "UPDATE rollout_members SET status = $4, offer = $5,"
                          " offered_ms = $6::bigint, since_ms = $6::bigint,"
                          " attempts = attempts + 1, code = NULL WHERE rollout = $1::bigint AND"
                          " serial = $2 AND status = $3 RETURNING 1",
                          6, p, &n, err);
    }
    if (!rc && n != 1)
        rc = pf_error_set(err, PF_ESTATE, "member %s of rollout %" PRId64 " is not pending",
                          o->serial, x->id);
    else if (rc)
        pf_error_prefix(err, "store: rollout offer");
    return rc;
}

int pfs_pg_rollout_offer(struct pfs_pg_store *st, int64_t id, const struct pfs_offer_rec *o,
                         const struct pfs_bundle_rec *b, const char *body, struct pf_error *err)
{
    struct ro__offer x = {id, o, b, body};

    return pfs_pg_store_tx(st, PFS_PG_READ_COMMITTED, 0, ro__offer_body, &x, err);
}

struct ro__fail {
    int64_t id;
    const char *serial, *code;
    int64_t now_ms;
};

static int ro__fail_body(void *ctx, struct pfs_pg *pg, int attempt, struct pf_error *err)
{
    struct ro__fail *x = ctx;
    enum pfs_ro_member cur, to;
    char a[PFS_PG_I64_LEN], t[PFS_PG_I64_LEN];
    int rc;

    (void)attempt;
    if ((rc = ro__member_status_of(pg, x->id, x->serial, &cur, err)))
        return rc == PF_ENOENT ? 0 : rc;
    /* not pending any more: nothing to record */
    if (pfs_ro_member_next(cur, PFS_ROE_UNOFFERABLE, &to) != 0)
        return 0;
    {
        const char *p[6] = {pfs_pg_i64(a, x->id),     x->serial,
                            pfs_ro_member_names[cur], pfs_ro_member_names[to],
                            pfs_pgro_nz(x->code),     pfs_pg_i64(t, x->now_ms)};

        return pfs_pg_exec(pg,
                           "UPDATE rollout_members SET status = $4, code = $5::text,"
                           " since_ms = $6::bigint WHERE rollout = $1::bigint AND serial = $2"
                           " AND status = $3",
                           6, p, err);
    }
}

int pfs_pg_rollout_member_fail(struct pfs_pg_store *st, int64_t id, const char *serial,
                               const char *code, int64_t now_ms)
{
    struct ro__fail x = {id, serial, code, now_ms};

    return pfs_pg_store_tx(st, PFS_PG_READ_COMMITTED, now_ms, ro__fail_body, &x, NULL);
}

struct ro__act {
    struct pfs_pg_store *st;
    int64_t id;
    const char *serial;
    enum pfs_ro_event ev;
    const char *action, *reason;
    const struct pfs_actor *actor;
    int64_t now_ms;
    enum pfs_ro_member *from, *to;
};

static int ro__act_body(void *ctx, struct pfs_pg *pg, int attempt, struct pf_error *err)
{
    struct ro__act *x = ctx;
    char target[32], act[48], a[PFS_PG_I64_LEN], t[PFS_PG_I64_LEN];
    char *btext = NULL, *atext = NULL;
    int64_t n = 0;
    int rc;

    (void)attempt;
    rc = ro__member_status_of(pg, x->id, x->serial, x->from, err);
    if (rc == PF_ENOENT) {
        struct pfs_ro_member_rec m;

        /* A member of a stage not opened yet has no row: nothing to act on. */
        if (pfs_pg_rollout_member(x->st, x->id, x->serial, &m) == 0)
            return pf_error_set(err, PF_ESTATE,
                                "%s is in stage %d of rollout %" PRId64 ", not opened yet:"
                                " nothing to %s",
                                x->serial, m.stage + 1, x->id, x->action);
        return pf_error_set(err, PF_ENOENT, "%s is not a member of rollout %" PRId64, x->serial,
                            x->id);
    }
    if (rc)
        return rc;
    if (pfs_ro_member_next(*x->from, x->ev, x->to) != 0)
        return pf_error_set(err, PF_ESTATE, "member %s of rollout %" PRId64 " is %s: cannot %s it",
                            x->serial, x->id, pfs_ro_member_names[*x->from], x->action);
    {
        /* A retried member starts afresh: its deferrals and its failure code go. */
        const char *p[6] = {pfs_pg_i64(a, x->id),
                            x->serial,
                            pfs_ro_member_names[*x->from],
                            pfs_ro_member_names[*x->to],
                            pfs_pg_i64(t, x->now_ms),
                            *x->to == PFS_ROM_SKIPPED
                                    ? (x->ev == PFS_ROE_CANCEL ? "CANCELLED" : "SKIPPED")
                                    : NULL};

        rc = pfs_pgro_run(pg,
                          "UPDATE rollout_members SET status = $4, since_ms = $5::bigint,"
                          " code = $6::text,"
                          " deferrals = CASE WHEN $4 = 'pending' THEN 0 ELSE deferrals END,"
                          " deferred_ms = CASE WHEN $4 = 'pending' THEN 0 ELSE deferred_ms END"
                          " WHERE rollout = $1::bigint AND serial = $2 AND status = $3 RETURNING 1",
                          6, p, &n, err);
    }
    if (!rc && n != 1)
        rc = pf_error_set(err, PF_ESTATE, "member %s of rollout %" PRId64 " moved meanwhile",
                          x->serial, x->id);
    if (rc)
        return pf_error_prefix(err, "store: rollout %" PRId64 " member %s", x->id, x->serial), rc;
    snprintf(target, sizeof(target), "rollout/%" PRId64, x->id);
    snprintf(act, sizeof(act), "rollout.member.%s", x->action);
    btext = pfs_rec_member_before_text(pfs_ro_member_names[*x->from]);
    atext = pfs_rec_member_after_text(pfs_ro_member_names[*x->to], x->reason);
    if (!btext || !atext) {
        rc = pf_error_set(err, PF_ENOMEM, "out of memory");
    } else {
        struct pfs_pg_audit au = {x->actor, x->now_ms, act,  target, btext,
                                  atext,    x->serial, NULL, NULL};

        rc = pfs_pg_audit_write(pg, &au, err);
    }
    free(btext);
    free(atext);
    return rc;
}

int pfs_pg_rollout_member_act(struct pfs_pg_store *st, int64_t id, const char *serial,
                              enum pfs_ro_event ev, const char *action, const char *reason,
                              const struct pfs_actor *actor, int64_t now_ms,
                              enum pfs_ro_member *from, enum pfs_ro_member *to,
                              struct pf_error *err)
{
    struct ro__act x = {st, id, serial, ev, action, reason, actor, now_ms, from, to};

    return pfs_pg_store_tx(st, PFS_PG_READ_COMMITTED, now_ms, ro__act_body, &x, err);
}

/* The pfs_pg_tx of the store a domain transaction runs on. */
static struct pfs_pg *ro__tx_pg(struct pfs_pg_tx *tx)
{
    return pfs_pg_of(tx->base.st)->pg;
}

int pfs_pg_rollout_on_event(struct pfs_pg_tx *tx, const char *serial,
                            const struct pf_update_event *e, int64_t recv_ms)
{
    struct pfs_pg *pg = ro__tx_pg(tx);
    const char *p[2] = {e->offer, serial};
    char r[PFS_PG_I64_LEN], t[PFS_PG_I64_LEN];
    PGresult *res = NULL;
    int64_t rollout = 0;
    int cur = -1, rc;
    enum pfs_ro_member to;
    enum pfs_ro_event ev;
    bool keep_since;
    const char *code;

    if (pfs_pg_query(pg,
                     "SELECT rollout, status FROM rollout_members WHERE offer = $1 AND"
                     " serial = $2",
                     2, p, &res, NULL))
        return PF_EIO;
    if (PQntuples(res) > 0) {
        rollout = pfs_pg_col_i64(res, 0, 0);
        cur = pfs_ro_member_parse(PQgetvalue(res, 0, 1));
    }
    PQclear(res);
    ev = pfs_ro_event_of(e->status, e->code);
    if (e->status == PF_UPD_REFUSED && strcmp(e->code, "ROLLBACK") == 0) {
        /* An agent older than the ALREADY code: the version it reported
         * running decides (rollout_member.h). */
        char reported[PF_VERSION_MAX + 1] = "";
        const char *q[2] = {serial, e->kind == PF_KIND_FIRMWARE ? "t" : "f"};

        if (pfs_pg_query(pg,
                         "SELECT CASE WHEN $2::boolean THEN fw_version ELSE fee_version END"
                         " FROM device_state WHERE serial = $1",
                         2, q, &res, NULL))
            return PF_EIO;
        if (PQntuples(res) == 1)
            (void)!pfs_pg_col_text(res, 0, 0, reported, sizeof(reported));
        PQclear(res);
        ev = pfs_ro_event_of_answer(e->status, e->code, e->version, reported);
    }
    if (cur < 0) {
        /* An offer the rollout made to this terminal before its current one
         * (a terminal that answered slowly was offered again). */
        if (!pfs_ro_event_late_counts(ev) ||
            pfs_pg_query(pg,
                         "SELECT m.rollout, m.status FROM update_offers o JOIN"
                         " rollout_members m ON m.serial = o.serial AND"
                         " o.actor = 'rollout/' || m.rollout WHERE o.id = $1 AND"
                         " o.serial = $2",
                         2, p, &res, NULL))
            return 0;
        if (PQntuples(res) > 0) {
            rollout = pfs_pg_col_i64(res, 0, 0);
            cur = pfs_ro_member_parse(PQgetvalue(res, 0, 1));
        }
        PQclear(res);
        if (cur < 0)
            return 0; /* not a rollout's offer */
    }
    pfs_pg_i64(r, rollout);
    pfs_pg_i64(t, recv_ms);
    /* An event that does not apply to the member's status (progress after an
     * outcome...) is recorded with the offer but leaves the member alone. */
    if (ev == PFS_ROE_DEFERRED) {
        const char *q[3] = {r, serial, t};

        if ((rc = pfs_pg_exec(pg,
                              "UPDATE rollout_members SET deferrals = deferrals + 1,"
                              " deferred_ms = CASE WHEN deferred_ms = 0 THEN $3::bigint ELSE"
                              " deferred_ms END WHERE rollout = $1::bigint AND serial = $2",
                              3, q, NULL)))
            return rc;
    }
    if (pfs_ro_member_next((enum pfs_ro_member)cur, ev, &to) != 0 || to == (enum pfs_ro_member)cur)
        return 0;
    keep_since =
            pfs_ro_member_in_progress((enum pfs_ro_member)cur) && pfs_ro_member_in_progress(to);
    code = ev == PFS_ROE_ALREADY ? PF_UPDATE_CODE_ALREADY : e->code[0] ? e->code : e->reason;
    {
        const char *q[7] = {r,
                            serial,
                            pfs_ro_member_names[to],
                            pfs_pgro_nz(code),
                            t,
                            keep_since ? "t" : "f",
                            pfs_ro_member_names[cur]};

        rc = pfs_pg_exec(pg,
                         "UPDATE rollout_members SET status = $3, code = $4::text,"
                         " since_ms = CASE WHEN $6::boolean THEN since_ms ELSE $5::bigint END,"
                         " boot = CASE WHEN $3 = 'installed' THEN (SELECT boot FROM"
                         " device_birth WHERE serial = $2) ELSE boot END"
                         " WHERE rollout = $1::bigint AND serial = $2 AND status = $7",
                         7, q, NULL);
    }
    return rc;
}

/* Whether the terminal accepted the member's current offer (store_rollout_members.c). */
#define RO__ANSWERED                                                                               \
    "EXISTS (SELECT 1 FROM update_state u WHERE u.serial = m.serial AND"                           \
    " u.offer = m.offer AND u.status <> 'offered')"

int pfs_pg_rollout_clocks(struct pfs_pg_store *st, int64_t id, unsigned status_mask,
                          pfs_ro_clock_cb cb, void *ctx)
{
    char a[PFS_PG_I64_LEN];
    int rc = 0;

    pfs_pg_i64(a, id);
    for (int k = 0; !rc && k < PFS_ROM_COUNT; k++) {
        const char *p[2] = {a, pfs_ro_member_names[k]};
        PGresult *res = NULL;

        if (!(status_mask & (1u << k)))
            continue;
        if (pfs_pg_query(st->pg,
                         "SELECT m.serial, m.offered_ms, m.since_ms, m.status = 'offered' "
                         "AND " RO__ANSWERED ", m.deferrals, m.deferred_ms FROM rollout_members m"
                         " WHERE m.rollout = $1::bigint AND m.status = $2",
                         2, p, &res, NULL))
            return PF_EIO;
        for (int i = 0; !rc && i < PQntuples(res); i++) {
            struct pfs_ro_member_clock c = {(enum pfs_ro_member)k,     pfs_pg_col_i64(res, i, 1),
                                            pfs_pg_col_i64(res, i, 2), pfs_pg_col_bool(res, i, 3),
                                            pfs_pg_col_i64(res, i, 4), pfs_pg_col_i64(res, i, 5)};

            rc = cb(ctx, PQgetvalue(res, i, 0), &c);
        }
        PQclear(res);
    }
    return rc;
}

struct ro__moves {
    int64_t id;
    struct pfs_ro_move *mv;
    size_t n;
    int64_t now_ms;
    int64_t moved;
};

static int ro__moves_body(void *ctx, struct pfs_pg *pg, int attempt, struct pf_error *err)
{
    struct ro__moves *x = ctx;
    char a[PFS_PG_I64_LEN], t[PFS_PG_I64_LEN];
    int rc = 0;

    (void)attempt;
    x->moved = 0;
    for (size_t i = 0; i < x->n; i++)
        x->mv[i].applied = false;
    pfs_pg_i64(a, x->id);
    pfs_pg_i64(t, x->now_ms);
    for (size_t i = 0; !rc && i < x->n; i++) {
        const char *p[6] = {a,
                            x->mv[i].serial,
                            pfs_ro_member_names[x->mv[i].from],
                            pfs_ro_member_names[x->mv[i].to],
                            pfs_pgro_nz(x->mv[i].code),
                            t};
        int64_t n = 0;

        rc = pfs_pgro_run(pg,
                          "UPDATE rollout_members SET status = $4, code = coalesce($5::text, code),"
                          " since_ms = $6::bigint, deferrals = CASE WHEN $3 = 'deferred_out'"
                          " THEN 0 ELSE deferrals END, deferred_ms = CASE WHEN"
                          " $3 = 'deferred_out' THEN 0 ELSE deferred_ms END"
                          " WHERE rollout = $1::bigint AND serial = $2 AND status = $3 RETURNING 1",
                          6, p, &n, err);
        x->mv[i].applied = !rc && n == 1;
        x->moved += x->mv[i].applied;
    }
    return rc;
}

int pfs_pg_rollout_moves(struct pfs_pg_store *st, int64_t id, struct pfs_ro_move *mv, size_t n,
                         int64_t now_ms, int64_t *moved)
{
    struct ro__moves x = {id, mv, n, now_ms, 0};
    int rc;

    *moved = 0;
    if (!n)
        return 0;
    rc = pfs_pg_store_tx(st, PFS_PG_READ_COMMITTED, now_ms, ro__moves_body, &x, NULL);
    if (rc) {
        for (size_t i = 0; i < n; i++)
            mv[i].applied = false;
        return rc;
    }
    *moved = x.moved;
    return 0;
}

int pfs_pg_rollout_touch(struct pfs_pg_store *st, int64_t id, const char *serial,
                         enum pfs_ro_member status, int64_t since_ms)
{
    char a[PFS_PG_I64_LEN], t[PFS_PG_I64_LEN];
    const char *p[4] = {pfs_pg_i64(a, id), serial, pfs_ro_member_names[status],
                        pfs_pg_i64(t, since_ms)};

    return pfs_pg_exec(st->pg,
                       "UPDATE rollout_members SET since_ms = $4::bigint WHERE"
                       " rollout = $1::bigint AND serial = $2 AND status = $3",
                       4, p, NULL);
}

int pfs_pg_rollout_unhealthy(struct pfs_pg_store *st, int64_t id, int max_stage, int64_t *n)
{
    char a[PFS_PG_I64_LEN], b[PFS_PG_I64_LEN];
    const char *p[2] = {pfs_pg_i64(a, id), pfs_pg_i64(b, max_stage)};

    return pfs_pgro_int(st->pg,
                        "SELECT count(*) FROM rollout_members m"
                        " LEFT JOIN device_birth b ON b.serial = m.serial"
                        " WHERE m.rollout = $1::bigint AND m.status = 'installed'"
                        " AND m.stage <= $2::int"
                        " AND (coalesce(b.boot,0) - coalesce(m.boot, b.boot, 0) >= 3"
                        "  OR EXISTS (SELECT 1 FROM alerts a WHERE a.serial = m.serial AND"
                        "   a.closed_ms IS NULL AND a.kind IN ('selftest_failed','silent')))",
                        2, p, n, NULL)
                   ? PF_EIO
                   : 0;
}

int pfs_pg_rollout_pending_online(struct pfs_pg_store *st, int64_t id, int max_stage, bool *any)
{
    char a[PFS_PG_I64_LEN], b[PFS_PG_I64_LEN];
    const char *p[2] = {pfs_pg_i64(a, id), pfs_pg_i64(b, max_stage)};
    PGresult *res = NULL;

    *any = false;
    if (pfs_pg_query(st->pg,
                     "SELECT 1 FROM rollout_members m JOIN device_state d ON"
                     " d.serial = m.serial AND d.online WHERE m.rollout = $1::bigint AND"
                     " m.status IN " PFS_PGRO_OFFERABLE_SQL " AND m.stage <= $2::int LIMIT 1",
                     2, p, &res, NULL))
        return PF_EIO;
    *any = PQntuples(res) > 0;
    PQclear(res);
    return 0;
}

int pfs_pg_rollout_swap(void *ctx, struct pfs_pg_tx *tx, const char *old_serial,
                        const char *new_serial, struct pf_error *err)
{
    struct pfs_pg *pg = ro__tx_pg(tx);
    const char *p[1] = {old_serial};
    PGresult *res = NULL;
    int rc;

    (void)ctx;
    /* The swap adds a member: it waits for any planning in progress. */
    if ((rc = pfs_pgro_lock(pg, err)))
        return rc;
    if ((rc = pfs_pgro_plan_pull(pg, NULL, old_serial, err)))
        return pf_error_prefix(err, "store: rollout plan"), rc;
    if ((rc = pfs_pg_query(
                 pg,
                 "SELECT r.id, r.kind, r.stage, r.state, m.status,"
                 " coalesce(m.prev_bundle,'') FROM rollouts r JOIN rollout_members m"
                 " ON m.rollout = r.id AND m.serial = $1 WHERE r.state IN " PFS_PGRO_LIVE_SQL
                 " ORDER BY r.id",
                 1, p, &res, err)))
        return rc;
    for (int row = 0; !rc && row < PQntuples(res); row++) {
        int64_t id = pfs_pg_col_i64(res, row, 0);
        const char *kind = PQgetvalue(res, row, 1);
        int stage = (int)pfs_pg_col_i64(res, row, 2);
        const char *state = PQgetvalue(res, row, 3);
        int st = pfs_ro_member_parse(PQgetvalue(res, row, 4));
        const char *prev = PQgetvalue(res, row, 5);
        enum pfs_ro_member to;
        bool added;

        /* A member with an outcome keeps it (rollout_member.h). */
        if (st >= 0 && pfs_ro_member_next((enum pfs_ro_member)st, PFS_ROE_SWAP, &to) == 0) {
            char a[PFS_PG_I64_LEN];
            const char *q[5] = {pfs_pg_i64(a, id), old_serial, new_serial, pfs_ro_member_names[to],
                                pfs_ro_member_names[st]};

            rc = pfs_pg_exec(pg,
                             "UPDATE rollout_members SET status = $4, code = $3"
                             " WHERE rollout = $1::bigint AND serial = $2 AND status = $5",
                             5, q, err);
        }
        if (!rc && strcmp(state, "rolling_back") != 0)
            rc = pfs_pgro_member_join(pg, id, kind, stage, new_serial, prev, &added, err);
        if (rc)
            pf_error_prefix(err, "store: moving rollout %" PRId64 " membership", id);
    }
    PQclear(res);
    return rc;
}
