/*
 * pg_rollouts.c - the PostgreSQL twins of store_rollouts.h's rollout rows:
 * read, listed, their stages and counters, state changes and their audit
 * rows (the SQLite side is store_rollouts.c), and the helpers the other
 * rollout files share (pg_rollouts_internal.h). Planning is
 * pg_rollout_plan.c, members pg_rollout_members.c.
 */
#include "store/postgres/pg_rollouts.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rollouts/rollout_member.h"
#include "store/postgres/pg_rollouts_internal.h"
#include "store/record_json.h"

/* --- shared helpers --- */

int pfs_pgro_lock(struct pfs_pg *pg, struct pf_error *err)
{
    PGresult *res = NULL;
    int rc = pfs_pg_query(pg, PFS_PGRO_LOCK_SQL, 0, NULL, &res, err);

    PQclear(res);
    return rc;
}

int pfs_pgro_name_index(const char *const *names, const char *v)
{
    for (int i = 0; v && names[i]; i++) {
        if (strcmp(names[i], v) == 0)
            return i;
    }
    return -1;
}

const char *pfs_pgro_nz(const char *s)
{
    return s && *s ? s : NULL;
}

int pfs_pgro_int(struct pfs_pg *pg, const char *sql, int n, const char *const *p, int64_t *out,
                 struct pf_error *err)
{
    PGresult *res = NULL;
    int rc = pfs_pg_query(pg, sql, n, p, &res, err);

    *out = 0;
    if (!rc && PQntuples(res) > 0)
        *out = pfs_pg_col_i64(res, 0, 0);
    PQclear(res);
    return rc;
}

int pfs_pgro_run(struct pfs_pg *pg, const char *sql, int n, const char *const *p, int64_t *changed,
                 struct pf_error *err)
{
    PGresult *res = NULL;
    int rc = pfs_pg_query(pg, sql, n, p, &res, err);

    *changed = rc ? 0 : PQntuples(res);
    PQclear(res);
    return rc;
}

int pfs_pgro_count_add(struct pfs_pg *pg, int64_t id, int stage, const char *status, int64_t n,
                       struct pf_error *err)
{
    char a[PFS_PG_I64_LEN], b[PFS_PG_I64_LEN], c[PFS_PG_I64_LEN];
    const char *p[4] = {pfs_pg_i64(a, id), pfs_pg_i64(b, stage), status, pfs_pg_i64(c, n)};

    return pfs_pg_exec(pg,
                       "INSERT INTO rollout_counts (rollout, stage, status, n)"
                       " VALUES ($1::bigint,$2::int,$3,$4::bigint)"
                       " ON CONFLICT (rollout, stage, status)"
                       " DO UPDATE SET n = rollout_counts.n + excluded.n",
                       4, p, err);
}

int pfs_pgro_buf_add(struct pfs_pgro_buf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        char *p;

        while (b->len + n + 1 > cap)
            cap *= 2;
        if (!(p = realloc(b->p, cap)))
            return PF_ENOMEM;
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
    return 0;
}

int pfs_pgro_buf_elem(struct pfs_pgro_buf *b, const char *s, bool first)
{
    int rc = first ? 0 : pfs_pgro_buf_add(b, ",", 1);

    if (rc || !s)
        return rc ? rc : pfs_pgro_buf_add(b, "NULL", 4);
    rc = pfs_pgro_buf_add(b, "\"", 1);
    for (const char *q = s; !rc && *q; q++) {
        size_t run = strcspn(q, "\"\\");

        rc = pfs_pgro_buf_add(b, q, run);
        q += run;
        if (!rc && *q)
            rc = pfs_pgro_buf_add(b, "\\", 1) || pfs_pgro_buf_add(b, q, 1) ? PF_ENOMEM : 0;
        if (!*q)
            break;
    }
    return rc ? rc : pfs_pgro_buf_add(b, "\"", 1);
}

#define PGRO__FETCH 16384

int pfs_pgro_each(struct pfs_pg *pg, const char *sql, int n, const char *const *p,
                  pfs_pgro_row_fn fn, void *ctx, struct pf_error *err)
{
    static unsigned seq;
    struct pfs_pgro_buf q = {0};
    char name[32], stmt[64];
    bool db_ok = true;
    int64_t bytewise = 0;
    size_t len;
    int rc;

    snprintf(name, sizeof(name), "pfs_ro_cursor%u", ++seq);
    /* Every row is read: plan for the whole result, not the first 10%, sort
     * in memory, and without the JIT's start-up cost. */
    if ((rc = pfs_pg_exec(pg,
                          "SET LOCAL cursor_tuple_fraction = 1.0; SET LOCAL work_mem = '128MB';"
                          " SET LOCAL jit = off",
                          0, NULL, err)) ||
        (rc = pfs_pgro_int(pg,
                           "SELECT (datcollate IN ('C', 'POSIX'))::int FROM pg_database"
                           " WHERE datname = current_database()",
                           0, NULL, &bytewise, err)))
        return rc;
    /* An order by COLLATE "C" in a database whose collation is C already is
     * the primary keys' order: without the clause the planner merges the
     * tables' indexes in that order instead of sorting the fleet. */
    len = strlen(sql);
    if (bytewise && len > strlen(PFS_PGRO_C) &&
        strcmp(sql + len - strlen(PFS_PGRO_C), PFS_PGRO_C) == 0)
        len -= strlen(PFS_PGRO_C);
    rc = pfs_pgro_buf_add(&q, "DECLARE ", 8) || pfs_pgro_buf_add(&q, name, strlen(name)) ||
                         pfs_pgro_buf_add(&q, " NO SCROLL CURSOR FOR ", 22) ||
                         pfs_pgro_buf_add(&q, sql, len)
                 ? pf_error_set(err, PF_ENOMEM, "out of memory")
                 : 0;
    if (!rc && (rc = pfs_pg_exec(pg, q.p, n, p, err)))
        db_ok = false;
    free(q.p);
    if (rc)
        return rc;
    snprintf(stmt, sizeof(stmt), "FETCH %d FROM %s", PGRO__FETCH, name);
    while (!rc) {
        PGresult *res = NULL;
        int rows;

        if ((rc = pfs_pg_query(pg, stmt, 0, NULL, &res, err))) {
            db_ok = false;
            break;
        }
        rows = PQntuples(res);
        for (int r = 0; !rc && r < rows; r++)
            rc = fn(ctx, res, r);
        PQclear(res);
        if (rows < PGRO__FETCH)
            break;
    }
    if (db_ok) {
        int crc;

        snprintf(stmt, sizeof(stmt), "CLOSE %s", name);
        crc = pfs_pg_exec(pg, stmt, 0, NULL, rc ? NULL : err);
        if (!rc)
            rc = crc;
    }
    return rc;
}

/* --- reading --- */

int pfs_pgro_read(const PGresult *res, int row, struct pfs_rollout_rec *r)
{
    char buf[32];
    json_t *def, *base;
    struct pf_error err;
    int rc, k;

    memset(r, 0, sizeof(*r));
    r->id = pfs_pg_col_i64(res, row, 0);
    (void)!pfs_pg_col_text(res, row, 1, r->name, sizeof(r->name));
    (void)!pfs_pg_col_text(res, row, 2, r->bundle, sizeof(r->bundle));
    (void)!pfs_pg_col_text(res, row, 3, buf, sizeof(buf));
    k = pfs_pgro_name_index(pf_bundle_kind_names, buf);
    r->kind = k < 0 ? PF_KIND_FIRMWARE : k;
    (void)!pfs_pg_col_text(res, row, 4, r->version, sizeof(r->version));
    (void)!pfs_pg_col_text(res, row, 6, buf, sizeof(buf));
    k = pfs_pgro_name_index(pfs_ro_state_names, buf);
    r->state = k < 0 ? PFS_RO_ABORTED : (enum pfs_ro_state)k;
    r->stage = (int)pfs_pg_col_i64(res, row, 7);
    r->start_ms = pfs_pg_col_i64(res, row, 8);
    r->deadline_ms = pfs_pg_col_i64(res, row, 9);
    (void)!pfs_pg_col_text(res, row, 10, r->pause_reason, sizeof(r->pause_reason));
    (void)!pfs_pg_col_text(res, row, 11, r->pause_detail, sizeof(r->pause_detail));
    (void)!pfs_pg_col_text(res, row, 12, r->pause_by, sizeof(r->pause_by));
    r->pause_ms = pfs_pg_col_i64(res, row, 13);
    base = json_loads(PQgetvalue(res, row, 14), 0, NULL);
    for (int i = 0; base && i < PFS_ROM_COUNT; i++)
        r->base[i] = json_integer_value(json_object_get(base, pfs_ro_member_names[i]));
    json_decref(base);
    r->join_ms = pfs_pg_col_i64(res, row, 15);
    r->created_ms = pfs_pg_col_i64(res, row, 16);
    r->updated_ms = pfs_pg_col_i64(res, row, 17);
    (void)!pfs_pg_col_text(res, row, 18, r->actor, sizeof(r->actor));
    (void)!pfs_pg_col_text(res, row, 19, r->org_path, sizeof(r->org_path));
    def = json_loads(PQgetvalue(res, row, 5), 0, NULL);
    rc = def ? pfs_ro_def_parse(def, 0, &r->def, &err) : PF_EPARSE;
    json_decref(def);
    return rc ? PF_EIO : 0;
}

int pfs_pg_rollout_get(struct pfs_pg_store *st, int64_t id, struct pfs_rollout_rec *r)
{
    char a[PFS_PG_I64_LEN];
    const char *p[1] = {pfs_pg_i64(a, id)};
    PGresult *res = NULL;
    int rc;

    if (pfs_pg_query(st->pg, "SELECT " PFS_PGRO_COLS " FROM rollouts WHERE id = $1::bigint", 1, p,
                     &res, NULL))
        return PF_EIO;
    rc = PQntuples(res) == 1 ? pfs_pgro_read(res, 0, r) : PF_ENOENT;
    PQclear(res);
    return rc;
}

int pfs_pg_rollout_list(struct pfs_pg_store *st, bool live_only, int limit, pfs_rollout_cb cb,
                        void *ctx)
{
    return pfs_pg_rollout_list_in(st, NULL, live_only, limit, cb, ctx);
}

/* A rollout inside the subtree bound at $2 (NULL: all); headquarters' have no path. */
#define RO__IN_ORG                                                                                 \
    "($2::text IS NULL OR (org_path IS NOT NULL AND substr(org_path, 1, length($2)) = $2))"

int pfs_pg_rollout_list_in(struct pfs_pg_store *st, const char *org_path, bool live_only, int limit,
                           pfs_rollout_cb cb, void *ctx)
{
    char a[PFS_PG_I64_LEN];
    /* SQLite's LIMIT -1 is "no limit"; PostgreSQL's LIMIT NULL is too. */
    const char *p[2] = {limit < 0 ? NULL : pfs_pg_i64(a, limit), pfs_pgro_nz(org_path)};
    PGresult *res = NULL;
    int rc = 0;

    if (pfs_pg_query(st->pg,
                     live_only ? "SELECT " PFS_PGRO_COLS
                                 " FROM rollouts WHERE state IN " PFS_PGRO_LIVE_SQL
                                 " AND " RO__IN_ORG " ORDER BY id DESC LIMIT $1::bigint"
                               : "SELECT " PFS_PGRO_COLS " FROM rollouts WHERE " RO__IN_ORG
                                 " ORDER BY id DESC LIMIT $1::bigint",
                     2, p, &res, NULL))
        return PF_EIO;
    for (int i = 0; !rc && i < PQntuples(res); i++) {
        struct pfs_rollout_rec r;

        rc = pfs_pgro_read(res, i, &r);
        if (!rc)
            rc = cb(ctx, &r);
        pfs_rollout_rec_release(&r);
    }
    PQclear(res);
    return rc;
}

int pfs_pg_rollout_stages(struct pfs_pg_store *st, int64_t id,
                          struct pfs_ro_stage_rec out[PFS_RO_STAGES_MAX], size_t *n)
{
    char a[PFS_PG_I64_LEN];
    const char *p[1] = {pfs_pg_i64(a, id)};
    PGresult *res = NULL;

    *n = 0;
    if (pfs_pg_query(st->pg,
                     "SELECT idx, size, target, soak_s, gate, opened_ms, settled_ms FROM"
                     " rollout_stages WHERE rollout = $1::bigint ORDER BY idx",
                     1, p, &res, NULL))
        return PF_EIO;
    for (int i = 0; *n < PFS_RO_STAGES_MAX && i < PQntuples(res); i++) {
        struct pfs_ro_stage_rec *g = &out[*n];

        memset(g, 0, sizeof(*g));
        g->idx = (int)pfs_pg_col_i64(res, i, 0);
        (void)!pfs_pg_col_text(res, i, 1, g->size, sizeof(g->size));
        g->target = pfs_pg_col_i64(res, i, 2);
        g->soak_s = pfs_pg_col_i64(res, i, 3);
        g->gate = pfs_pg_col_bool(res, i, 4);
        g->opened_ms = pfs_pg_col_i64(res, i, 5);
        g->settled_ms = pfs_pg_col_i64(res, i, 6);
        (*n)++;
    }
    PQclear(res);
    if (pfs_pg_query(st->pg,
                     "SELECT stage, status, n FROM rollout_counts WHERE rollout = $1::bigint", 1, p,
                     &res, NULL))
        return PF_EIO;
    for (int i = 0; i < PQntuples(res); i++) {
        int64_t k = pfs_pg_col_i64(res, i, 0);
        int m = pfs_ro_member_parse(PQgetvalue(res, i, 1));

        if (k >= 0 && (size_t)k < *n && m >= 0)
            out[k].counts[m] = pfs_pg_col_i64(res, i, 2);
    }
    PQclear(res);
    return 0;
}

int pfs_pg_rollout_failures(struct pfs_pg_store *st, int64_t id, pfs_ro_reason_cb cb, void *ctx)
{
    char a[PFS_PG_I64_LEN];
    const char *p[1] = {pfs_pg_i64(a, id)};
    PGresult *res = NULL;
    int rc = 0;

    if (pfs_pg_query(st->pg,
                     "SELECT status, coalesce(code,''), count(*) FROM rollout_members"
                     " WHERE rollout = $1::bigint AND status IN"
                     " ('failed','rolled_back','timed_out','revert_failed')"
                     " GROUP BY 1, 2 ORDER BY 3 DESC, status" PFS_PGRO_C
                     ", coalesce(code,'')" PFS_PGRO_C,
                     1, p, &res, NULL))
        return PF_EIO;
    for (int i = 0; !rc && i < PQntuples(res); i++)
        rc = cb(ctx, PQgetvalue(res, i, 0), PQgetvalue(res, i, 1), pfs_pg_col_i64(res, i, 2));
    PQclear(res);
    return rc;
}

int pfs_pg_rollout_next_id(struct pfs_pg_store *st, int64_t *id)
{
    return pfs_pgro_int(st->pg, "SELECT coalesce(max(id), 0) + 1 FROM rollouts", 0, NULL, id, NULL)
                   ? PF_EIO
                   : 0;
}

/* --- state changes --- */

/* Outcome totals now as JSON text (pfs_rec_counts_text): what
 * rollouts.base stores. NULL (err set) on failure. */
static char *ro__base_json(struct pfs_pg *pg, int64_t id, const char *const *zero, size_t nzero,
                           struct pf_error *err)
{
    char a[PFS_PG_I64_LEN];
    const char *p[1] = {pfs_pg_i64(a, id)};
    PGresult *res = NULL;
    struct pfs_rec_count *c = NULL;
    size_t n;
    char *text = NULL;

    if (pfs_pg_query(pg,
                     "SELECT status, sum(n) FROM rollout_counts WHERE rollout = $1::bigint"
                     " GROUP BY status ORDER BY status" PFS_PGRO_C,
                     1, p, &res, err))
        return NULL;
    n = (size_t)PQntuples(res);
    c = calloc(n ? n : 1, sizeof(*c));
    for (size_t i = 0; c && i < n; i++) {
        c[i].status = PQgetvalue(res, (int)i, 0);
        c[i].n = pfs_pg_col_i64(res, (int)i, 1);
    }
    if (c)
        text = pfs_rec_counts_text(c, n, zero, nzero);
    if (!text)
        pf_error_set(err, PF_ENOMEM, "out of memory");
    free(c);
    PQclear(res);
    return text;
}

/* Moves every member of rollout id that ev applies to, a status at a time
 * (store_rollouts.c's ro__members_on). */
static int ro__members_on(struct pfs_pg *pg, int64_t id, enum pfs_ro_event ev, const char *override,
                          int64_t now_ms, struct pf_error *err)
{
    char a[PFS_PG_I64_LEN], t[PFS_PG_I64_LEN];
    int rc = 0;

    for (int k = 0; !rc && k < PFS_ROM_COUNT; k++) {
        enum pfs_ro_member to;
        const char *p[5] = {pfs_pg_i64(a, id), pfs_ro_member_names[k], NULL, pfs_pg_i64(t, now_ms),
                            pfs_pgro_nz(override)};

        if (pfs_ro_member_next((enum pfs_ro_member)k, ev, &to) != 0 || (int)to == k)
            continue;
        p[2] = pfs_ro_member_names[to];
        if (ev == PFS_ROE_REVERT)
            rc = pfs_pg_exec(pg,
                             "UPDATE rollout_members SET status = $3,"
                             " prev_bundle = coalesce($5::text, prev_bundle), since_ms = $4::bigint"
                             " WHERE rollout = $1::bigint AND status = $2 AND"
                             " coalesce($5::text, prev_bundle) IS NOT NULL",
                             5, p, err);
        else
            rc = pfs_pg_exec(pg,
                             "UPDATE rollout_members SET status = $3, since_ms = $4::bigint"
                             " WHERE rollout = $1::bigint AND status = $2",
                             4, p, err);
    }
    return rc;
}

struct ro__change {
    int64_t id;
    const struct pfs_ro_change *c;
    const struct pfs_actor *actor;
    int64_t now_ms;
};

/* READ COMMITTED: the rollout row is locked (FOR UPDATE) before its state is
 * checked, so two instances changing one rollout take turns; its members
 * are then moved by status, as in SQLite. */
static int ro__change_body(void *ctx, struct pfs_pg *pg, int attempt, struct pf_error *err)
{
    struct ro__change *x = ctx;
    const struct pfs_ro_change *c = x->c;
    char a[PFS_PG_I64_LEN], b[PFS_PG_I64_LEN], s[PFS_PG_I64_LEN];
    const char *pid[1] = {pfs_pg_i64(a, x->id)};
    char state[32] = "", target[32], action[48];
    char *base = NULL, *after = NULL, *counts = NULL;
    PGresult *res = NULL;
    bool stops, ends;
    int cur, rc;

    (void)attempt;
    if ((rc = pfs_pg_query(pg, "SELECT state FROM rollouts WHERE id = $1::bigint FOR UPDATE", 1,
                           pid, &res, err)))
        return rc;
    if (PQntuples(res) == 1)
        (void)!pfs_pg_col_text(res, 0, 0, state, sizeof(state));
    PQclear(res);
    cur = pfs_pgro_name_index(pfs_ro_state_names, state);
    if (cur < 0)
        return pf_error_set(err, PF_ENOENT, "no rollout %" PRId64, x->id);
    if (!(c->from_mask & (1u << cur)))
        return pf_error_set(err, PF_ESTATE, "rollout %" PRId64 " is %s: cannot %s it", x->id, state,
                            c->action);
    stops = c->to == PFS_RO_PAUSED || c->to == PFS_RO_ABORTED || c->to == PFS_RO_EXPIRED;
    if (c->to == PFS_RO_RUNNING && cur == PFS_RO_PAUSED &&
        !(base = ro__base_json(pg, x->id, NULL, 0, err)))
        return err ? err->code : PF_ENOMEM;
    {
        const char *p[9] = {pid[0],
                            pfs_ro_state_names[c->to],
                            pfs_pg_i64(b, x->now_ms),
                            pfs_pg_i64(s, c->stage),
                            pfs_pgro_nz(c->reason),
                            pfs_pgro_nz(c->detail),
                            x->actor && x->actor->name ? x->actor->name : "posfleetd",
                            base,
                            stops ? "t" : "f"};

        rc = pfs_pg_exec(
                pg,
                "UPDATE rollouts SET state = $2, updated_ms = $3::bigint,"
                " stage = CASE WHEN $4::int >= 0 THEN $4::int ELSE stage END,"
                " pause_reason = CASE WHEN $9::boolean THEN $5::text ELSE pause_reason END,"
                " pause_detail = CASE WHEN $9::boolean THEN $6::text ELSE pause_detail END,"
                " pause_by = CASE WHEN $9::boolean THEN $7::text ELSE pause_by END,"
                " pause_ms = CASE WHEN $9::boolean THEN $3::bigint ELSE pause_ms END,"
                " base = coalesce($8::jsonb, base) WHERE id = $1::bigint",
                9, p, err);
        const char *q[3] = {pid[0], p[2], p[3]};

        if (!rc && c->stage >= 0)
            rc = pfs_pg_exec(pg,
                             "UPDATE rollout_stages SET opened_ms = $2::bigint WHERE"
                             " rollout = $1::bigint AND idx = $3::int AND opened_ms = 0",
                             3, q, err);
    }
    free(base);
    if (!rc && c->to == PFS_RO_RUNNING) { /* the open stage opens when the rollout runs */
        const char *p[2] = {pid[0], pfs_pg_i64(b, x->now_ms)};

        rc = pfs_pg_exec(pg,
                         "UPDATE rollout_stages SET opened_ms = $2::bigint WHERE"
                         " rollout = $1::bigint AND idx = (SELECT stage FROM rollouts WHERE"
                         " id = $1::bigint) AND opened_ms = 0",
                         2, p, err);
    }
    ends = c->to == PFS_RO_ABORTED || c->to == PFS_RO_COMPLETED || c->to == PFS_RO_EXPIRED ||
           c->to == PFS_RO_ROLLING_BACK;
    if (!rc && ends)
        rc = ro__members_on(pg, x->id, PFS_ROE_SKIP, NULL, x->now_ms, err);
    if (!rc && ends) {
        /* Members of stages never opened are pending; they move as pending
         * ones do (skipped) and stay in the plan. */
        enum pfs_ro_member to = PFS_ROM_SKIPPED;

        if (pfs_ro_member_next(PFS_ROM_PENDING, PFS_ROE_SKIP, &to) != 0)
            to = PFS_ROM_PENDING;
        if (to != PFS_ROM_PENDING) {
            const char *p[2] = {pid[0], pfs_ro_member_names[to]};

            rc = pfs_pg_exec(pg,
                             "INSERT INTO rollout_counts (rollout, stage, status, n)"
                             " SELECT rollout, stage, $2, sum(n) FROM rollout_plan"
                             " WHERE rollout = $1::bigint GROUP BY rollout, stage"
                             " ON CONFLICT (rollout, stage, status) DO UPDATE SET"
                             " n = rollout_counts.n + excluded.n",
                             2, p, err);
            if (!rc)
                rc = pfs_pg_exec(pg,
                                 "UPDATE rollout_counts SET n = n - (SELECT sum(p.n) FROM"
                                 " rollout_plan p WHERE p.rollout = $1::bigint AND"
                                 " p.stage = rollout_counts.stage) WHERE rollout = $1::bigint AND"
                                 " status = 'pending' AND stage IN (SELECT stage FROM"
                                 " rollout_plan WHERE rollout = $1::bigint)",
                                 1, pid, err);
        }
    }
    /* A member with no bundle to go back to stays installed (no_previous). */
    if (!rc && c->to == PFS_RO_ROLLING_BACK)
        rc = ro__members_on(pg, x->id, PFS_ROE_REVERT, c->override_bundle, x->now_ms, err);
    if (rc)
        return pf_error_prefix(err, "store: rollout %" PRId64, x->id), rc;
    if (!x->actor)
        return 0;
    /* A rollout that ends says how it ended: its exact counts per status. */
    if (ends && c->to != PFS_RO_ROLLING_BACK &&
        !(counts = ro__base_json(pg, x->id, pfs_ro_member_names, PFS_ROM_COUNT, err)))
        return err ? err->code : PF_ENOMEM;
    after = pfs_rec_rollout_change_text(state, pfs_ro_state_names[c->to], c->reason, c->detail,
                                        c->override_bundle, counts);
    free(counts);
    snprintf(target, sizeof(target), "rollout/%" PRId64, x->id);
    snprintf(action, sizeof(action), "rollout.%s", c->action);
    if (!after)
        return pf_error_set(err, PF_ENOMEM, "out of memory");
    {
        struct pfs_pg_audit au = {x->actor, x->now_ms, action, target, NULL,
                                  after,    NULL,      NULL,   NULL};

        rc = pfs_pg_audit_write(pg, &au, err);
    }
    free(after);
    return rc;
}

int pfs_pg_rollout_change(struct pfs_pg_store *st, int64_t id, const struct pfs_ro_change *c,
                          const struct pfs_actor *actor, int64_t now_ms, struct pf_error *err)
{
    struct ro__change x = {id, c, actor, now_ms};

    return pfs_pg_store_tx(st, PFS_PG_READ_COMMITTED, now_ms, ro__change_body, &x, err);
}

int pfs_pg_rollout_settle(struct pfs_pg_store *st, int64_t id, int idx, int64_t settled_ms)
{
    char a[PFS_PG_I64_LEN], b[PFS_PG_I64_LEN], c[PFS_PG_I64_LEN];
    const char *p[3] = {pfs_pg_i64(a, id), pfs_pg_i64(b, idx), pfs_pg_i64(c, settled_ms)};

    return pfs_pg_exec(st->pg,
                       "UPDATE rollout_stages SET settled_ms = $3::bigint WHERE"
                       " rollout = $1::bigint AND idx = $2::int",
                       3, p, NULL);
}

int pfs_pg_rollout_check_counts(struct pfs_pg_store *st, int64_t id, bool *exact)
{
    char a[PFS_PG_I64_LEN];
    const char *p[1] = {pfs_pg_i64(a, id)};
    int64_t differ = -1;
    int rc = pfs_pgro_int(st->pg,
                          "SELECT count(*) FROM (SELECT stage, status, sum(n) AS n FROM"
                          " (SELECT stage, status, count(*) AS n FROM rollout_members WHERE"
                          " rollout = $1::bigint GROUP BY 1, 2 UNION ALL SELECT p.stage, CASE WHEN"
                          " r.state IN " PFS_PGRO_PLANNING_SQL " THEN 'pending' ELSE 'skipped'"
                          " END, sum(p.n) FROM rollout_plan p JOIN rollouts r ON"
                          " r.id = p.rollout WHERE p.rollout = $1::bigint GROUP BY 1, 2) u"
                          " GROUP BY 1, 2) a FULL JOIN"
                          " (SELECT stage, status, n FROM rollout_counts WHERE"
                          " rollout = $1::bigint AND n <> 0) b USING (stage, status)"
                          " WHERE a.n IS DISTINCT FROM b.n",
                          1, p, &differ, NULL);

    *exact = !rc && differ == 0;
    return rc ? PF_EIO : 0;
}

/* --- audit rows of the API --- */

struct ro__audit {
    int64_t id;
    const struct pfs_actor *actor;
    int64_t now_ms;
    const char *action;
    const char *after; /* compact, keys sorted (pfs_store_audit_row) */
};

static int ro__audit_body(void *ctx, struct pfs_pg *pg, int attempt, struct pf_error *err)
{
    struct ro__audit *x = ctx;
    char target[32], act[64];
    struct pfs_pg_audit a = {x->actor, x->now_ms, act, target, NULL, x->after, NULL, NULL, NULL};

    (void)attempt;
    snprintf(target, sizeof(target), "rollout/%" PRId64, x->id);
    snprintf(act, sizeof(act), "rollout.%s", x->action);
    return pfs_pg_audit_write(pg, &a, err);
}

int pfs_pg_rollout_audit(struct pfs_pg_store *st, int64_t id, const struct pfs_actor *actor,
                         int64_t now_ms, const char *action, const char *after_json)
{
    json_t *after = json_loads(after_json, 0, NULL);
    char *text = after ? json_dumps(after, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    struct ro__audit x = {id, actor, now_ms, action, text};
    int rc;

    if (!after)
        return PF_EINVAL;
    rc = text ? pfs_pg_store_tx(st, PFS_PG_READ_COMMITTED, now_ms, ro__audit_body, &x, NULL)
              : PF_ENOMEM;
    free(text);
    json_decref(after);
    return rc;
}

int pfs_pg_rollout_approval_digest(struct pfs_pg_store *st, int64_t id, const char *digest)
{
    char a[PFS_PG_I64_LEN], detail[PFS_RO_REASON_MAX + 1];
    const char *p[3] = {pfs_pg_i64(a, id), detail, PFS_RO_APPROVAL};

    snprintf(detail, sizeof(detail), "waits for an approver of plan %s", digest);
    /* One statement: its own transaction. */
    return pfs_pg_exec(st->pg,
                       "UPDATE rollouts SET pause_detail = $2 WHERE id = $1::bigint"
                       " AND state = 'paused' AND pause_reason = $3",
                       3, p, NULL);
}
