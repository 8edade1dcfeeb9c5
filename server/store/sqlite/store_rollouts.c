/*
 * store_rollouts.c - the SQLite backend of store_rollouts.h (migrations 008
 * and 009): the rollout rows, their stages and counters, state changes. The
 * other parts are store_rollout_cohort.c (planning and late joiners),
 * store_rollout_plan.c (member rows and plan chunks) and
 * store_rollout_members.c (members read and moved); all of them only load and
 * save: the rules are in server/rollouts/ (rollout_plan.h, rollout_member.h).
 */
#include "store/store_rollouts.h"

#include <inttypes.h>
#include <jansson.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rollouts/rollout_member.h"
#include "rollouts/rollout_plan.h"
#include "store/record_json.h"
#include "store/sqlite/store_rollouts_internal.h"
#include "store/sqlite/store_sqlite_internal.h"
#include "store/sqlite/store_tx.h"

int pfs_store_ro_name_index(const char *const *names, const char *v)
{
    for (int i = 0; v && names[i]; i++) {
        if (strcmp(names[i], v) == 0)
            return i;
    }
    return -1;
}

void pfs_store_ro_col(sqlite3_stmt *s, int col, char *out, size_t size)
{
    const unsigned char *t = sqlite3_column_text(s, col);

    snprintf(out, size, "%s", t ? (const char *)t : "");
}

int pfs_store_ro_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **s, struct pf_error *err)
{
    if (sqlite3_prepare_v2(db, sql, -1, s, NULL) != SQLITE_OK)
        return pf_error_set(err, PF_EIO, "store: %s", sqlite3_errmsg(db));
    return 0;
}

/* --- reading --- */

#define RO__COLS                                                                                   \
    "id, name, bundle, kind, version, definition, state, stage, start_ms, deadline_ms,"            \
    " pause_reason, pause_detail, pause_by, pause_ms, base, join_ms, created_ms, updated_ms,"      \
    " actor, coalesce(org_path, '')"

static int ro__read(sqlite3_stmt *s, struct pfs_rollout_rec *r)
{
    char buf[32];
    json_t *def, *base;
    struct pf_error err;
    int rc;

    memset(r, 0, sizeof(*r));
    r->id = sqlite3_column_int64(s, 0);
    pfs_store_ro_col(s, 1, r->name, sizeof(r->name));
    pfs_store_ro_col(s, 2, r->bundle, sizeof(r->bundle));
    pfs_store_ro_col(s, 3, buf, sizeof(buf));
    r->kind = pfs_store_ro_name_index(pf_bundle_kind_names, buf) < 0
                      ? PF_KIND_FIRMWARE
                      : pfs_store_ro_name_index(pf_bundle_kind_names, buf);
    pfs_store_ro_col(s, 4, r->version, sizeof(r->version));
    pfs_store_ro_col(s, 6, buf, sizeof(buf));
    r->state = pfs_store_ro_name_index(pfs_ro_state_names, buf) < 0
                       ? PFS_RO_ABORTED
                       : (enum pfs_ro_state)pfs_store_ro_name_index(pfs_ro_state_names, buf);
    r->stage = sqlite3_column_int(s, 7);
    r->start_ms = sqlite3_column_int64(s, 8);
    r->deadline_ms = sqlite3_column_int64(s, 9);
    pfs_store_ro_col(s, 10, r->pause_reason, sizeof(r->pause_reason));
    pfs_store_ro_col(s, 11, r->pause_detail, sizeof(r->pause_detail));
    pfs_store_ro_col(s, 12, r->pause_by, sizeof(r->pause_by));
    r->pause_ms = sqlite3_column_int64(s, 13);
    base = json_loads((const char *)sqlite3_column_text(s, 14), 0, NULL);
    for (int i = 0; base && i < PFS_ROM_COUNT; i++)
        r->base[i] = json_integer_value(json_object_get(base, pfs_ro_member_names[i]));
    json_decref(base);
    r->join_ms = sqlite3_column_int64(s, 15);
    r->created_ms = sqlite3_column_int64(s, 16);
    r->updated_ms = sqlite3_column_int64(s, 17);
    pfs_store_ro_col(s, 18, r->actor, sizeof(r->actor));
    pfs_store_ro_col(s, 19, r->org_path, sizeof(r->org_path));
    def = json_loads((const char *)sqlite3_column_text(s, 5), 0, NULL);
    rc = def ? pfs_ro_def_parse(def, 0, &r->def, &err) : PF_EPARSE;
    json_decref(def);
    return rc ? PF_EIO : 0;
}

void pfs_rollout_rec_release(struct pfs_rollout_rec *r)
{
    pfs_ro_def_release(&r->def);
}

int pfs_sqlite_rollout_get(struct pfs_sqlite *st, int64_t id, struct pfs_rollout_rec *r)
{
    sqlite3_stmt *s;
    int rc;

    if (sqlite3_prepare_v2(pfs_store_sqlite_db(st), "SELECT " RO__COLS " FROM rollouts WHERE id=?1",
                           -1, &s, NULL) != SQLITE_OK)
        return PF_EIO;
    sqlite3_bind_int64(s, 1, id);
    rc = sqlite3_step(s);
    rc = rc == SQLITE_ROW ? ro__read(s, r) : rc == SQLITE_DONE ? PF_ENOENT : PF_EIO;
    sqlite3_finalize(s);
    return rc;
}

int pfs_sqlite_rollout_list(struct pfs_sqlite *st, bool live_only, int limit, pfs_rollout_cb cb,
                            void *ctx)
{
    return pfs_sqlite_rollout_list_in(st, NULL, live_only, limit, cb, ctx);
}

/* A rollout inside the subtree bound at ?2 (NULL: all); headquarters' have no path. */
#define RO__IN_ORG "(?2 IS NULL OR (org_path IS NOT NULL AND substr(org_path, 1, length(?2)) = ?2))"

int pfs_sqlite_rollout_list_in(struct pfs_sqlite *st, const char *org_path, bool live_only,
                               int limit, pfs_rollout_cb cb, void *ctx)
{
    sqlite3_stmt *s;
    int rc = 0;

    if (sqlite3_prepare_v2(pfs_store_sqlite_db(st),
                           live_only ? "SELECT " RO__COLS
                                       " FROM rollouts WHERE state IN " PFS_STORE_RO_LIVE_SQL
                                       " AND " RO__IN_ORG " ORDER BY id DESC LIMIT ?1"
                                     : "SELECT " RO__COLS " FROM rollouts WHERE " RO__IN_ORG
                                       " ORDER BY id DESC LIMIT ?1",
                           -1, &s, NULL) != SQLITE_OK)
        return PF_EIO;
    sqlite3_bind_int(s, 1, limit);
    if (org_path && *org_path)
        sqlite3_bind_text(s, 2, org_path, -1, SQLITE_STATIC);
    while (!rc && sqlite3_step(s) == SQLITE_ROW) {
        struct pfs_rollout_rec r;

        rc = ro__read(s, &r);
        if (!rc)
            rc = cb(ctx, &r);
        pfs_rollout_rec_release(&r);
    }
    sqlite3_finalize(s);
    return rc;
}

int pfs_sqlite_rollout_stages(struct pfs_sqlite *st, int64_t id,
                              struct pfs_ro_stage_rec out[PFS_RO_STAGES_MAX], size_t *n)
{
    sqlite3 *db = pfs_store_sqlite_db(st);
    sqlite3_stmt *s;

    *n = 0;
    if (sqlite3_prepare_v2(db,
                           "SELECT idx, size, target, soak_s, gate, opened_ms, settled_ms FROM"
                           " rollout_stages WHERE rollout = ?1 ORDER BY idx",
                           -1, &s, NULL) != SQLITE_OK)
        return PF_EIO;
    sqlite3_bind_int64(s, 1, id);
    while (*n < PFS_RO_STAGES_MAX && sqlite3_step(s) == SQLITE_ROW) {
        struct pfs_ro_stage_rec *g = &out[*n];

        memset(g, 0, sizeof(*g));
        g->idx = sqlite3_column_int(s, 0);
        pfs_store_ro_col(s, 1, g->size, sizeof(g->size));
        g->target = sqlite3_column_int64(s, 2);
        g->soak_s = sqlite3_column_int64(s, 3);
        g->gate = sqlite3_column_int(s, 4) != 0;
        g->opened_ms = sqlite3_column_int64(s, 5);
        g->settled_ms = sqlite3_column_int64(s, 6);
        (*n)++;
    }
    sqlite3_finalize(s);
    if (sqlite3_prepare_v2(db, "SELECT stage, status, n FROM rollout_counts WHERE rollout = ?1", -1,
                           &s, NULL) != SQLITE_OK)
        return PF_EIO;
    sqlite3_bind_int64(s, 1, id);
    while (sqlite3_step(s) == SQLITE_ROW) {
        int k = sqlite3_column_int(s, 0);
        int m = pfs_ro_member_parse((const char *)sqlite3_column_text(s, 1));

        if (k >= 0 && (size_t)k < *n && m >= 0)
            out[k].counts[m] = sqlite3_column_int64(s, 2);
    }
    sqlite3_finalize(s);
    return 0;
}

int pfs_sqlite_rollout_failures(struct pfs_sqlite *st, int64_t id, pfs_ro_reason_cb cb, void *ctx)
{
    sqlite3_stmt *s;
    int rc = 0;

    if (sqlite3_prepare_v2(pfs_store_sqlite_db(st),
                           "SELECT status, coalesce(code,''), count(*) FROM rollout_members"
                           " WHERE rollout = ?1 AND status IN"
                           " ('failed','rolled_back','timed_out','revert_failed')"
                           " GROUP BY 1, 2 ORDER BY 3 DESC, 1, 2",
                           -1, &s, NULL) != SQLITE_OK)
        return PF_EIO;
    sqlite3_bind_int64(s, 1, id);
    while (!rc && sqlite3_step(s) == SQLITE_ROW)
        rc = cb(ctx, (const char *)sqlite3_column_text(s, 0),
                (const char *)sqlite3_column_text(s, 1), sqlite3_column_int64(s, 2));
    sqlite3_finalize(s);
    return rc;
}

/* Outcome totals now as JSON text (pfs_rec_counts_text, statuses in zero
 * that have none at 0): the object stored in rollouts.base. NULL on
 * failure. */
static char *ro__base_json(sqlite3 *db, int64_t id, const char *const *zero, size_t nzero)
{
    sqlite3_stmt *s;
    struct pfs_rec_count *c = NULL, *grown;
    size_t n = 0, cap = 0;
    char *text = NULL;
    bool ok = true;

    if (sqlite3_prepare_v2(db,
                           "SELECT status, sum(n) FROM rollout_counts WHERE rollout = ?1"
                           " GROUP BY status",
                           -1, &s, NULL) != SQLITE_OK)
        return NULL;
    sqlite3_bind_int64(s, 1, id);
    while (ok && sqlite3_step(s) == SQLITE_ROW) {
        const char *status = (const char *)sqlite3_column_text(s, 0);

        if (n == cap) {
            cap = cap ? 2 * cap : 8;
            grown = realloc(c, cap * sizeof(*c));
            if (!grown) {
                ok = false;
                break;
            }
            c = grown;
        }
        c[n].status = status ? strdup(status) : NULL;
        c[n].n = sqlite3_column_int64(s, 1);
        ok = c[n++].status != NULL;
    }
    sqlite3_finalize(s);
    if (ok)
        text = pfs_rec_counts_text(c, n, zero, nzero);
    for (size_t i = 0; i < n; i++)
        free((char *)c[i].status);
    free(c);
    return text;
}

/*
 * Moves every member of rollout id that ev applies to (rollout_member.h), a
 * status at a time. PFS_ROE_REVERT: only members with a bundle to go back to
 * (override, or the one recorded at planning), which becomes their
 * prev_bundle.
 */
static int ro__members_on(sqlite3 *db, int64_t id, enum pfs_ro_event ev, const char *override,
                          int64_t now_ms)
{
    int rc = 0;

    for (int k = 0; !rc && k < PFS_ROM_COUNT; k++) {
        enum pfs_ro_member to;

        if (pfs_ro_member_next((enum pfs_ro_member)k, ev, &to) != 0 || (int)to == k)
            continue;
        if (ev == PFS_ROE_REVERT)
            rc = pfs_store_sql_run(db,
                                   "UPDATE rollout_members SET status = ?3,"
                                   " prev_bundle = coalesce(?5, prev_bundle), since_ms = ?4"
                                   " WHERE rollout = ?1 AND status = ?2 AND"
                                   " coalesce(?5, prev_bundle) IS NOT NULL",
                                   "iSSis", id, pfs_ro_member_names[k], pfs_ro_member_names[to],
                                   now_ms, override ? override : "");
        else
            rc = pfs_store_sql_run(db,
                                   "UPDATE rollout_members SET status = ?3, since_ms = ?4"
                                   " WHERE rollout = ?1 AND status = ?2",
                                   "iSSi", id, pfs_ro_member_names[k], pfs_ro_member_names[to],
                                   now_ms);
    }
    return rc;
}

int pfs_sqlite_rollout_change(struct pfs_sqlite *st, int64_t id, const struct pfs_ro_change *c,
                              const struct pfs_actor *actor, int64_t now_ms, struct pf_error *err)
{
    sqlite3 *db = pfs_store_sqlite_db(st);
    sqlite3_stmt *s;
    char state[32] = "", target[32];
    char *base = NULL;
    int cur, rc;
    bool stops, ends;
    char *after, *counts;

    if ((rc = pfs_sqlite_begin(st, now_ms, err)))
        return rc;
    if ((rc = pfs_store_ro_prepare(db, "SELECT state FROM rollouts WHERE id = ?1", &s, err)))
        goto out;
    sqlite3_bind_int64(s, 1, id);
    if (sqlite3_step(s) == SQLITE_ROW)
        pfs_store_ro_col(s, 0, state, sizeof(state));
    sqlite3_finalize(s);
    cur = pfs_store_ro_name_index(pfs_ro_state_names, state);
    if (cur < 0) {
        rc = pf_error_set(err, PF_ENOENT, "no rollout %" PRId64, id);
        goto out;
    }
    if (!(c->from_mask & (1u << cur))) {
        rc = pf_error_set(err, PF_ESTATE, "rollout %" PRId64 " is %s: cannot %s it", id, state,
                          c->action);
        goto out;
    }
    /* The reason of a stop (pause, abort, expiry) is kept for the card and JSON. */
    stops = c->to == PFS_RO_PAUSED || c->to == PFS_RO_ABORTED || c->to == PFS_RO_EXPIRED;
    if (c->to == PFS_RO_RUNNING && cur == PFS_RO_PAUSED &&
        !(base = ro__base_json(db, id, NULL, 0))) {
        rc = pf_error_set(err, PF_ENOMEM, "out of memory");
        goto out;
    }
    rc = pfs_store_sql_run(db,
                           "UPDATE rollouts SET state = ?2, updated_ms = ?3,"
                           " stage = CASE WHEN ?4 >= 0 THEN ?4 ELSE stage END,"
                           " pause_reason = CASE WHEN ?9 THEN ?5 ELSE pause_reason END,"
                           " pause_detail = CASE WHEN ?9 THEN ?6 ELSE pause_detail END,"
                           " pause_by = CASE WHEN ?9 THEN ?7 ELSE pause_by END,"
                           " pause_ms = CASE WHEN ?9 THEN ?3 ELSE pause_ms END,"
                           " base = coalesce(?8, base) WHERE id = ?1",
                           "iSiissSsi", id, pfs_ro_state_names[c->to], now_ms, (int64_t)c->stage,
                           c->reason, c->detail, actor && actor->name ? actor->name : "posfleetd",
                           base, (int64_t)stops);
    if (!rc && c->stage >= 0)
        rc = pfs_store_sql_run(db,
                               "UPDATE rollout_stages SET opened_ms = ?3 WHERE rollout = ?1 AND"
                               " idx = ?2 AND opened_ms = 0",
                               "iii", id, (int64_t)c->stage, now_ms);
    if (!rc && c->to == PFS_RO_RUNNING) /* the open stage opens when the rollout runs */
        rc = pfs_store_sql_run(db,
                               "UPDATE rollout_stages SET opened_ms = ?2 WHERE rollout = ?1 AND"
                               " idx = (SELECT stage FROM rollouts WHERE id = ?1) AND"
                               " opened_ms = 0",
                               "ii", id, now_ms);
    ends = c->to == PFS_RO_ABORTED || c->to == PFS_RO_COMPLETED || c->to == PFS_RO_EXPIRED ||
           c->to == PFS_RO_ROLLING_BACK;
    if (!rc && ends)
        rc = ro__members_on(db, id, PFS_ROE_SKIP, NULL, now_ms);
    if (!rc && ends) {
        /* Members of stages never opened are pending; they move as pending
         * ones do (skipped) and stay in the plan. */
        enum pfs_ro_member to = PFS_ROM_SKIPPED;

        if (pfs_ro_member_next(PFS_ROM_PENDING, PFS_ROE_SKIP, &to) != 0)
            to = PFS_ROM_PENDING;
        if (to != PFS_ROM_PENDING)
            rc = pfs_store_sql_run(db,
                                   "INSERT INTO rollout_counts (rollout, stage, status, n)"
                                   " SELECT rollout, stage, ?2, sum(n) FROM rollout_plan"
                                   " WHERE rollout = ?1 GROUP BY stage"
                                   " ON CONFLICT (rollout, stage, status) DO UPDATE SET"
                                   " n = n + excluded.n",
                                   "iS", id, pfs_ro_member_names[to]);
        if (!rc && to != PFS_ROM_PENDING)
            rc = pfs_store_sql_run(db,
                                   "UPDATE rollout_counts SET n = n - (SELECT sum(p.n) FROM"
                                   " rollout_plan p WHERE p.rollout = ?1 AND"
                                   " p.stage = rollout_counts.stage) WHERE rollout = ?1 AND"
                                   " status = 'pending' AND stage IN (SELECT stage FROM"
                                   " rollout_plan WHERE rollout = ?1)",
                                   "i", id);
    }
    /* A member with no bundle to go back to stays installed (no_previous). */
    if (!rc && c->to == PFS_RO_ROLLING_BACK)
        rc = ro__members_on(db, id, PFS_ROE_REVERT, c->override_bundle, now_ms);
    if (rc) {
        pf_error_set(err, rc, "store: rollout %" PRId64 ": %s", id, sqlite3_errmsg(db));
        goto out;
    }
    if (actor) {
        /* A rollout that ends says how it ended: its exact counts per status. */
        counts = ends && c->to != PFS_RO_ROLLING_BACK
                         ? ro__base_json(db, id, pfs_ro_member_names, PFS_ROM_COUNT)
                         : NULL;
        after = pfs_rec_rollout_change_text(state, pfs_ro_state_names[c->to], c->reason, c->detail,
                                            c->override_bundle, counts);
        free(counts);
        snprintf(target, sizeof(target), "rollout/%" PRId64, id);
        {
            char action[48];

            snprintf(action, sizeof(action), "rollout.%s", c->action);
            rc = after ? pfs_store_audit_text(db, actor, now_ms, action, target, after) : PF_ENOMEM;
        }
        free(after);
        if (rc)
            pf_error_set(err, rc, "store: audit: %s", sqlite3_errmsg(db));
    }
out:
    free(base);
    return pfs_sqlite_end(st, rc, err);
}

int pfs_sqlite_rollout_settle(struct pfs_sqlite *st, int64_t id, int idx, int64_t settled_ms)
{
    return pfs_store_sql_run(pfs_store_sqlite_db(st),
                             "UPDATE rollout_stages SET settled_ms = ?3 WHERE rollout = ?1 AND"
                             " idx = ?2",
                             "iii", id, (int64_t)idx, settled_ms);
}

int pfs_sqlite_rollout_check_counts(struct pfs_sqlite *st, int64_t id, bool *exact)
{
    int64_t differ = -1;
    int rc = pfs_store_sql_int(pfs_store_sqlite_db(st),
                               "SELECT count(*) FROM (SELECT stage, status, sum(n) AS n FROM"
                               " (SELECT stage, status, count(*) AS n FROM rollout_members WHERE"
                               " rollout = ?1 GROUP BY 1, 2 UNION ALL SELECT p.stage, CASE WHEN"
                               " r.state IN " PFS_STORE_RO_PLANNING_SQL
                               " THEN 'pending' ELSE 'skipped'"
                               " END, sum(p.n) FROM rollout_plan p JOIN rollouts r ON"
                               " r.id = p.rollout WHERE p.rollout = ?1 GROUP BY 1)"
                               " GROUP BY 1, 2) a FULL JOIN"
                               " (SELECT stage, status, n FROM rollout_counts WHERE rollout = ?1"
                               " AND n <> 0) b USING (stage, status) WHERE a.n IS NOT b.n",
                               &differ, "i", id);

    *exact = !rc && differ == 0;
    return rc;
}
