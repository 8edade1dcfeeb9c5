/*
 * store_rollout_members.c - rollout members in the SQLite store: listed (rows
 * and planned members merged), scanned for the scheduler, and moved as
 * rollout_member.h decides (offers, update events, time rules, swaps), each
 * move "UPDATE ... WHERE status = <the status it was decided from>".
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

#define RO__MEMBER_COLS                                                                            \
    "m.serial, m.stage, m.status, coalesce(m.offer,''), m.offered_ms, m.since_ms, m.attempts,"     \
    " coalesce(m.prev_bundle,''), coalesce(m.code,'')"

static void ro__member_read(sqlite3_stmt *s, struct pfs_ro_member_rec *m, bool joined)
{
    int st;

    memset(m, 0, sizeof(*m));
    pfs_store_ro_col(s, 0, m->serial, sizeof(m->serial));
    m->stage = sqlite3_column_int(s, 1);
    st = pfs_ro_member_parse((const char *)sqlite3_column_text(s, 2));
    m->status = st < 0 ? PFS_ROM_SKIPPED : (enum pfs_ro_member)st;
    pfs_store_ro_col(s, 3, m->offer, sizeof(m->offer));
    m->offered_ms = sqlite3_column_int64(s, 4);
    m->since_ms = sqlite3_column_int64(s, 5);
    m->attempts = sqlite3_column_int(s, 6);
    pfs_store_ro_col(s, 7, m->prev_bundle, sizeof(m->prev_bundle));
    pfs_store_ro_col(s, 8, m->code, sizeof(m->code));
    if (joined) {
        m->online = sqlite3_column_int(s, 9) != 0;
        pfs_store_ro_col(s, 10, m->tz, sizeof(m->tz));
    }
}

/* Hands up to limit rows of s (which asks for limit + 1) to cb; *more says a row was
 * left. Finalizes s. */
static int ro__member_page(sqlite3_stmt *s, int limit, bool joined, pfs_ro_member_cb cb, void *ctx,
                           bool *more)
{
    int rc = 0, n = 0;

    while (!rc && sqlite3_step(s) == SQLITE_ROW) {
        struct pfs_ro_member_rec m;

        if (n++ == limit) {
            *more = true;
            break;
        }
        ro__member_read(s, &m, joined);
        rc = cb(ctx, &m);
    }
    sqlite3_finalize(s);
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
static int ro__plan_page(sqlite3 *db, int64_t id, int stage, const char *after, size_t want,
                         enum pfs_ro_member st, struct ro__recs *out)
{
    sqlite3_stmt *s;
    size_t taken[PFS_RO_STAGES_MAX] = {0};
    int rc = 0;

    if (sqlite3_prepare_v2(db,
                           "SELECT stage, prevs, members FROM rollout_plan WHERE rollout = ?1"
                           " AND (?2 < 0 OR stage = ?2) AND last > ?3 ORDER BY stage, seq",
                           -1, &s, NULL) != SQLITE_OK)
        return PF_EIO;
    sqlite3_bind_int64(s, 1, id);
    sqlite3_bind_int(s, 2, stage);
    sqlite3_bind_text(s, 3, after, -1, SQLITE_STATIC);
    while (!rc && sqlite3_step(s) == SQLITE_ROW) {
        int k = sqlite3_column_int(s, 0);
        struct pfs_store_ro_rows c;
        const char *prevs = (const char *)sqlite3_column_text(s, 1);

        if (k < 0 || k >= PFS_RO_STAGES_MAX || taken[k] >= want)
            continue;
        rc = pfs_store_ro_plan_decode(k, prevs ? prevs : "",
                                      (const char *)sqlite3_column_text(s, 2),
                                      (size_t)sqlite3_column_bytes(s, 2), &c);
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
        pfs_store_ro_rows_free(&c);
    }
    sqlite3_finalize(s);
    return rc;
}

int pfs_sqlite_rollout_members(struct pfs_sqlite *st, int64_t id, int status, int stage,
                               const char *after, int limit, pfs_ro_member_cb cb, void *ctx,
                               bool *more)
{
    sqlite3 *db = pfs_store_sqlite_db(st);
    struct ro__recs all = {0};
    struct pfs_rollout_rec r;
    enum pfs_ro_member planned;
    sqlite3_stmt *s;
    bool rows_more = false;
    int rc;

    *more = false;
    if (!after)
        after = "";
    if ((rc = pfs_sqlite_rollout_get(st, id, &r)))
        return rc;
    planned = pfs_ro_state_plans(r.state) ? PFS_ROM_PENDING : PFS_ROM_SKIPPED;
    pfs_rollout_rec_release(&r);
    if (sqlite3_prepare_v2(db,
                           "SELECT " RO__MEMBER_COLS " FROM rollout_members m WHERE"
                           " m.rollout = ?1 AND (?2 IS NULL OR m.status = ?2) AND"
                           " (?3 < 0 OR m.stage = ?3) AND m.serial > ?4 ORDER BY m.serial"
                           " LIMIT ?5",
                           -1, &s, NULL) != SQLITE_OK)
        return PF_EIO;
    sqlite3_bind_int64(s, 1, id);
    if (status >= 0 && status < PFS_ROM_COUNT)
        sqlite3_bind_text(s, 2, pfs_ro_member_names[status], -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 3, stage);
    sqlite3_bind_text(s, 4, after, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 5, limit + 1);
    /* rows and planned members merged in serial order: limit + 1 of each kind suffice */
    rc = ro__member_page(s, limit + 1, false, ro__recs_add, &all, &rows_more);
    if (!rc && (status < 0 || status == (int)planned))
        rc = ro__plan_page(db, id, stage, after, (size_t)limit + 1, planned, &all);
    if (!rc && all.n)
        qsort(all.v, all.n, sizeof(*all.v), ro__rec_cmp);
    for (size_t i = 0; !rc && i < all.n && i < (size_t)limit; i++)
        rc = cb(ctx, &all.v[i]);
    *more = all.n > (size_t)limit;
    free(all.v);
    return rc;
}

int pfs_sqlite_rollout_member(struct pfs_sqlite *st, int64_t id, const char *serial,
                              struct pfs_ro_member_rec *m)
{
    sqlite3_stmt *s;
    int rc;

    if (sqlite3_prepare_v2(pfs_store_sqlite_db(st),
                           "SELECT " RO__MEMBER_COLS " FROM rollout_members m WHERE"
                           " m.rollout = ?1 AND m.serial = ?2",
                           -1, &s, NULL) != SQLITE_OK)
        return PF_EIO;
    sqlite3_bind_int64(s, 1, id);
    sqlite3_bind_text(s, 2, serial, -1, SQLITE_STATIC);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        ro__member_read(s, m, false);
    sqlite3_finalize(s);
    if (rc == SQLITE_DONE) { /* in a stage not opened yet? */
        struct pfs_rollout_rec r;
        struct pfs_store_ro_plan_hit h;
        int n = 0;

        if (sqlite3_prepare_v2(pfs_store_sqlite_db(st),
                               "SELECT " PFS_STORE_RO_PLAN_COLS
                               " FROM rollout_plan p WHERE p.rollout = ?1"
                               " AND p.first <= ?2 AND p.last >= ?2",
                               -1, &s, NULL) != SQLITE_OK)
            return PF_EIO;
        sqlite3_bind_int64(s, 1, id);
        sqlite3_bind_text(s, 2, serial, -1, SQLITE_STATIC);
        rc = pfs_store_ro_plan_find(s, serial, false, &h, 1, &n);
        sqlite3_finalize(s);
        if (rc || !n)
            return rc ? rc : PF_ENOENT;
        if ((rc = pfs_sqlite_rollout_get(st, id, &r)))
            return rc;
        memset(m, 0, sizeof(*m));
        snprintf(m->serial, sizeof(m->serial), "%s", serial);
        m->stage = h.stage;
        m->status = pfs_ro_state_plans(r.state) ? PFS_ROM_PENDING : PFS_ROM_SKIPPED;
        pfs_rollout_rec_release(&r);
        snprintf(m->prev_bundle, sizeof(m->prev_bundle), "%s", h.prev);
        return 0;
    }
    return rc == SQLITE_ROW ? 0 : PF_EIO;
}

int pfs_sqlite_rollout_candidates(struct pfs_sqlite *st, int64_t id, enum pfs_ro_member status,
                                  int max_stage, int after_stage, const char *after_serial,
                                  int limit, pfs_ro_member_cb cb, void *ctx, bool *more)
{
    sqlite3_stmt *s;

    *more = false;
    if (sqlite3_prepare_v2(pfs_store_sqlite_db(st),
                           "SELECT " RO__MEMBER_COLS ", coalesce(d.online,0), coalesce(t.tz,'')"
                           " FROM rollout_members m"
                           " LEFT JOIN device_state d ON d.serial = m.serial"
                           " LEFT JOIN terminals t ON t.serial = m.serial"
                           " WHERE m.rollout = ?1 AND m.status = ?2 AND m.stage <= ?3"
                           " AND (m.stage, m.serial) > (?4, ?5)"
                           " ORDER BY m.stage, m.serial LIMIT ?6",
                           -1, &s, NULL) != SQLITE_OK)
        return PF_EIO;
    sqlite3_bind_int64(s, 1, id);
    sqlite3_bind_text(s, 2, pfs_ro_member_names[status], -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 3, max_stage);
    sqlite3_bind_int(s, 4, after_stage);
    sqlite3_bind_text(s, 5, after_serial ? after_serial : "", -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 6, limit + 1);
    return ro__member_page(s, limit, true, cb, ctx, more);
}

/* --- changes --- */

/* The member's status now (PF_ENOENT if it has no row). */
static int ro__member_status_of(sqlite3 *db, int64_t id, const char *serial,
                                enum pfs_ro_member *cur)
{
    sqlite3_stmt *s;
    int rc, st = -1;

    if (sqlite3_prepare_v2(db,
                           "SELECT status FROM rollout_members WHERE rollout = ?1 AND serial = ?2",
                           -1, &s, NULL) != SQLITE_OK)
        return PF_EIO;
    sqlite3_bind_int64(s, 1, id);
    sqlite3_bind_text(s, 2, serial, -1, SQLITE_STATIC);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        st = pfs_ro_member_parse((const char *)sqlite3_column_text(s, 0));
    sqlite3_finalize(s);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return PF_EIO;
    if (st < 0)
        return PF_ENOENT;
    *cur = (enum pfs_ro_member)st;
    return 0;
}

/* Applies the move of one member that ev decides, inside a transaction:
 * PF_ESTATE (nothing written) if ev does not apply to the member's status. */
static int ro__member_apply(sqlite3 *db, int64_t id, const char *serial, enum pfs_ro_event ev,
                            const char *code, int64_t now_ms)
{
    enum pfs_ro_member cur, to;
    int rc;

    if ((rc = ro__member_status_of(db, id, serial, &cur)))
        return rc == PF_ENOENT ? PF_ESTATE : rc;
    if ((rc = pfs_ro_member_next(cur, ev, &to)))
        return rc;
    rc = pfs_store_sql_run(db,
                           "UPDATE rollout_members SET status = ?4, code = ?5, since_ms = ?6"
                           " WHERE rollout = ?1 AND serial = ?2 AND status = ?3",
                           "iSSSsi", id, serial, pfs_ro_member_names[cur], pfs_ro_member_names[to],
                           code ? code : "", now_ms);
    return rc ? rc : sqlite3_changes(db) == 1 ? 0 : PF_ESTATE;
}

int pfs_sqlite_rollout_offer(struct pfs_sqlite *st, int64_t id, const struct pfs_offer_rec *o,
                             const struct pfs_bundle_rec *b, const char *body, struct pf_error *err)
{
    sqlite3 *db = pfs_store_sqlite_db(st);
    enum pfs_ro_member cur, to;
    char actor[32];
    int rc;

    snprintf(actor, sizeof(actor), "rollout/%" PRId64, id);
    if ((rc = pfs_sqlite_begin(st, o->created_ms, err)))
        return rc;
    rc = ro__member_status_of(db, id, o->serial, &cur);
    if (!rc && pfs_ro_member_next(cur, PFS_ROE_OFFER, &to) != 0)
        rc = PF_ESTATE;
    if (rc == PF_ESTATE || rc == PF_ENOENT) {
        rc = pf_error_set(err, PF_ESTATE, "member %s of rollout %" PRId64 " is not pending",
                          o->serial, id);
        goto out;
    }
    if (!rc)
        rc = pfs_store_offer_rows(db, o, b, body, actor);
    if (!rc)
        rc = pfs_store_sql_run(db,
                               "UPDATE rollout_members SET status = ?4, offer = ?5,"
                               " offered_ms = ?6, since_ms = ?6, attempts = attempts + 1,"
                               " code = NULL WHERE rollout = ?1 AND serial = ?2 AND status = ?3",
                               "iSSSSi", id, o->serial, pfs_ro_member_names[cur],
                               pfs_ro_member_names[to], o->id, o->created_ms);
    if (!rc && sqlite3_changes(db) != 1)
        rc = pf_error_set(err, PF_ESTATE, "member %s of rollout %" PRId64 " is not pending",
                          o->serial, id);
    else if (rc)
        pf_error_set(err, rc, "store: rollout offer: %s", sqlite3_errmsg(db));
out:
    return pfs_sqlite_end(st, rc, err);
}

int pfs_sqlite_rollout_member_fail(struct pfs_sqlite *st, int64_t id, const char *serial,
                                   const char *code, int64_t now_ms)
{
    int rc = pfs_sqlite_begin(st, now_ms, NULL);

    if (rc)
        return rc;
    rc = ro__member_apply(pfs_store_sqlite_db(st), id, serial, PFS_ROE_UNOFFERABLE, code, now_ms);
    if (rc == PF_ESTATE) /* not pending any more: nothing to record */
        rc = 0;
    return pfs_sqlite_end(st, rc, NULL);
}

int pfs_sqlite_rollout_member_act(struct pfs_sqlite *st, int64_t id, const char *serial,
                                  enum pfs_ro_event ev, const char *action, const char *reason,
                                  const struct pfs_actor *actor, int64_t now_ms,
                                  enum pfs_ro_member *from, enum pfs_ro_member *to,
                                  struct pf_error *err)
{
    sqlite3 *db = pfs_store_sqlite_db(st);
    char target[32], act[48];
    char *btext = NULL, *atext = NULL;
    int rc;

    if ((rc = pfs_sqlite_begin(st, now_ms, err)))
        return rc;
    rc = ro__member_status_of(db, id, serial, from);
    if (rc == PF_ENOENT) {
        struct pfs_ro_member_rec m;

        /* A member of a stage not opened yet has no row: nothing to act on. */
        if (pfs_sqlite_rollout_member(st, id, serial, &m) == 0)
            rc = pf_error_set(err, PF_ESTATE,
                              "%s is in stage %d of rollout %" PRId64 ", not opened yet: nothing"
                              " to %s",
                              serial, m.stage + 1, id, action);
        else
            rc = pf_error_set(err, PF_ENOENT, "%s is not a member of rollout %" PRId64, serial, id);
        goto out;
    }
    if (rc) {
        pf_error_set(err, rc, "store: %s", sqlite3_errmsg(db));
        goto out;
    }
    if (pfs_ro_member_next(*from, ev, to) != 0) {
        rc = pf_error_set(err, PF_ESTATE, "member %s of rollout %" PRId64 " is %s: cannot %s it",
                          serial, id, pfs_ro_member_names[*from], action);
        goto out;
    }
    /* A retried member starts afresh: its deferrals and its failure code go. */
    rc = pfs_store_sql_run(
            db,
            "UPDATE rollout_members SET status = ?4, since_ms = ?5, code = ?6,"
            " deferrals = CASE WHEN ?4 = 'pending' THEN 0 ELSE deferrals END,"
            " deferred_ms = CASE WHEN ?4 = 'pending' THEN 0 ELSE deferred_ms END"
            " WHERE rollout = ?1 AND serial = ?2 AND status = ?3",
            "iSSSis", id, serial, pfs_ro_member_names[*from], pfs_ro_member_names[*to], now_ms,
            *to == PFS_ROM_SKIPPED ? (ev == PFS_ROE_CANCEL ? "CANCELLED" : "SKIPPED") : "");
    if (!rc && sqlite3_changes(db) != 1)
        rc = PF_ESTATE;
    if (rc) {
        pf_error_set(err, rc, "store: rollout %" PRId64 " member %s: %s", id, serial,
                     sqlite3_errmsg(db));
        goto out;
    }
    snprintf(target, sizeof(target), "rollout/%" PRId64, id);
    snprintf(act, sizeof(act), "rollout.member.%s", action);
    btext = pfs_rec_member_before_text(pfs_ro_member_names[*from]);
    atext = pfs_rec_member_after_text(pfs_ro_member_names[*to], reason);
    if (!btext || !atext) {
        rc = pf_error_set(err, PF_ENOMEM, "out of memory");
        goto out;
    }
    {
        struct pfs_sqlite_audit a = {actor, now_ms, act, target, btext, atext, serial, NULL, NULL};

        rc = pfs_sqlite_audit_write(db, &a, err);
    }
out:
    free(btext);
    free(atext);
    return pfs_sqlite_end(st, rc, err);
}

int pfs_sqlite_rollout_on_event(struct pfs_sqlite_tx *tx, const char *serial,
                                const struct pf_update_event *e, int64_t recv_ms)
{
    sqlite3 *db = pfs_sqlite_tx_db(tx);
    sqlite3_stmt *s;
    int64_t rollout = 0;
    int cur = -1, rc;
    enum pfs_ro_member to;
    enum pfs_ro_event ev;
    bool keep_since;
    const char *code;

    if (sqlite3_prepare_v2(db,
                           "SELECT rollout, status FROM rollout_members WHERE offer = ?1 AND"
                           " serial = ?2",
                           -1, &s, NULL) != SQLITE_OK)
        return PF_EIO;
    sqlite3_bind_text(s, 1, e->offer, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, serial, -1, SQLITE_STATIC);
    if (sqlite3_step(s) == SQLITE_ROW) {
        rollout = sqlite3_column_int64(s, 0);
        cur = pfs_ro_member_parse((const char *)sqlite3_column_text(s, 1));
    }
    sqlite3_finalize(s);
    ev = pfs_ro_event_of(e->status, e->code);
    if (e->status == PF_UPD_REFUSED && strcmp(e->code, "ROLLBACK") == 0) {
        /* An agent older than the ALREADY code: the version it reported
         * running decides (rollout_member.h). */
        char reported[PF_VERSION_MAX + 1] = "";

        if (sqlite3_prepare_v2(db,
                               "SELECT CASE WHEN ?2 THEN fw_version ELSE fee_version END"
                               " FROM device_state WHERE serial = ?1",
                               -1, &s, NULL) != SQLITE_OK)
            return PF_EIO;
        sqlite3_bind_text(s, 1, serial, -1, SQLITE_STATIC);
        sqlite3_bind_int(s, 2, e->kind == PF_KIND_FIRMWARE);
        if (sqlite3_step(s) == SQLITE_ROW)
            pfs_store_ro_col(s, 0, reported, sizeof(reported));
        sqlite3_finalize(s);
        ev = pfs_ro_event_of_answer(e->status, e->code, e->version, reported);
    }
    if (cur < 0) {
        /* An offer the rollout made to this terminal before its current one
         * (a terminal that answered slowly was offered again). */
        if (!pfs_ro_event_late_counts(ev) ||
            sqlite3_prepare_v2(db,
                               "SELECT m.rollout, m.status FROM update_offers o JOIN"
                               " rollout_members m ON m.serial = o.serial AND"
                               " o.actor = 'rollout/' || m.rollout WHERE o.id = ?1 AND"
                               " o.serial = ?2",
                               -1, &s, NULL) != SQLITE_OK)
            return 0;
        sqlite3_bind_text(s, 1, e->offer, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 2, serial, -1, SQLITE_STATIC);
        if (sqlite3_step(s) == SQLITE_ROW) {
            rollout = sqlite3_column_int64(s, 0);
            cur = pfs_ro_member_parse((const char *)sqlite3_column_text(s, 1));
        }
        sqlite3_finalize(s);
        if (cur < 0)
            return 0; /* not a rollout's offer */
    }
    /* An event that does not apply to the member's status (progress after an
     * outcome...) is recorded with the offer but leaves the member alone. */
    if (ev == PFS_ROE_DEFERRED && (rc = pfs_store_sql_run(db,
                                                          "UPDATE rollout_members SET deferrals ="
                                                          " deferrals + 1, deferred_ms = CASE WHEN"
                                                          " deferred_ms = 0 THEN ?3 ELSE"
                                                          " deferred_ms END WHERE rollout = ?1"
                                                          " AND serial = ?2",
                                                          "iSi", rollout, serial, recv_ms)))
        return rc;
    if (pfs_ro_member_next((enum pfs_ro_member)cur, ev, &to) != 0 || to == (enum pfs_ro_member)cur)
        return 0;
    keep_since =
            pfs_ro_member_in_progress((enum pfs_ro_member)cur) && pfs_ro_member_in_progress(to);
    code = ev == PFS_ROE_ALREADY ? PF_UPDATE_CODE_ALREADY : e->code[0] ? e->code : e->reason;
    rc = pfs_store_sql_run(db,
                           "UPDATE rollout_members SET status = ?3, code = ?4,"
                           " since_ms = CASE WHEN ?6 THEN since_ms ELSE ?5 END,"
                           " boot = CASE WHEN ?3 = 'installed' THEN (SELECT boot FROM"
                           " device_birth WHERE serial = ?2) ELSE boot END"
                           " WHERE rollout = ?1 AND serial = ?2 AND status = ?7",
                           "iSSsiiS", rollout, serial, pfs_ro_member_names[to], code, recv_ms,
                           (int64_t)keep_since, pfs_ro_member_names[cur]);
    return rc;
}

/*
 * Whether the terminal accepted the member's current offer: update_state
 * moved past 'offered' for that very offer (rollout_member.h decides what
 * that means for the time rules).
 */
#define RO__ANSWERED                                                                               \
    "EXISTS (SELECT 1 FROM update_state u WHERE u.serial = m.serial AND"                           \
    " u.offer = m.offer AND u.status <> 'offered')"

int pfs_sqlite_rollout_clocks(struct pfs_sqlite *st, int64_t id, unsigned status_mask,
                              pfs_ro_clock_cb cb, void *ctx)
{
    sqlite3_stmt *s;
    int rc = 0;

    if (sqlite3_prepare_v2(
                pfs_store_sqlite_db(st),
                "SELECT m.serial, m.offered_ms, m.since_ms, m.status = 'offered' AND " RO__ANSWERED
                ", m.deferrals, m.deferred_ms FROM rollout_members m WHERE m.rollout = ?1 AND"
                " m.status = ?2",
                -1, &s, NULL) != SQLITE_OK)
        return PF_EIO;
    sqlite3_bind_int64(s, 1, id);
    for (int k = 0; !rc && k < PFS_ROM_COUNT; k++) {
        if (!(status_mask & (1u << k)))
            continue;
        sqlite3_bind_text(s, 2, pfs_ro_member_names[k], -1, SQLITE_STATIC);
        while (!rc && (rc = sqlite3_step(s)) == SQLITE_ROW) {
            struct pfs_ro_member_clock c = {
                    (enum pfs_ro_member)k,      sqlite3_column_int64(s, 1),
                    sqlite3_column_int64(s, 2), sqlite3_column_int(s, 3) != 0,
                    sqlite3_column_int64(s, 4), sqlite3_column_int64(s, 5)};
            const char *serial = (const char *)sqlite3_column_text(s, 0);

            rc = serial ? cb(ctx, serial, &c) : PF_ENOMEM;
        }
        rc = rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : rc > 0 ? PF_EIO : rc;
        sqlite3_reset(s);
    }
    sqlite3_finalize(s);
    return rc;
}

int pfs_sqlite_rollout_moves(struct pfs_sqlite *st, int64_t id, struct pfs_ro_move *mv, size_t n,
                             int64_t now_ms, int64_t *moved)
{
    sqlite3 *db = pfs_store_sqlite_db(st);
    int rc;

    *moved = 0;
    if (!n)
        return 0;
    if ((rc = pfs_sqlite_begin(st, now_ms, NULL)))
        return rc;
    for (size_t i = 0; !rc && i < n; i++) {
        rc = pfs_store_sql_run(db,
                               "UPDATE rollout_members SET status = ?4, code = coalesce(?5, code),"
                               " since_ms = ?6, deferrals = CASE WHEN ?3 = 'deferred_out' THEN 0"
                               " ELSE deferrals END, deferred_ms = CASE WHEN ?3 = 'deferred_out'"
                               " THEN 0 ELSE deferred_ms END"
                               " WHERE rollout = ?1 AND serial = ?2 AND status = ?3",
                               "iSSSsi", id, mv[i].serial, pfs_ro_member_names[mv[i].from],
                               pfs_ro_member_names[mv[i].to], mv[i].code ? mv[i].code : "", now_ms);
        mv[i].applied = !rc && sqlite3_changes(db) == 1;
        *moved += mv[i].applied;
    }
    if (rc) {
        *moved = 0;
        for (size_t i = 0; i < n; i++)
            mv[i].applied = false;
    }
    return pfs_sqlite_end(st, rc, NULL);
}

int pfs_sqlite_rollout_touch(struct pfs_sqlite *st, int64_t id, const char *serial,
                             enum pfs_ro_member status, int64_t since_ms)
{
    return pfs_store_sql_run(pfs_store_sqlite_db(st),
                             "UPDATE rollout_members SET since_ms = ?4 WHERE rollout = ?1 AND"
                             " serial = ?2 AND status = ?3",
                             "iSSi", id, serial, pfs_ro_member_names[status], since_ms);
}
#undef RO__ANSWERED

int pfs_sqlite_rollout_unhealthy(struct pfs_sqlite *st, int64_t id, int max_stage, int64_t *n)
{
    return pfs_store_sql_int(pfs_store_sqlite_db(st),
                             "SELECT count(*) FROM rollout_members m"
                             " LEFT JOIN device_birth b ON b.serial = m.serial"
                             " WHERE m.rollout = ?1 AND m.status = 'installed' AND m.stage <= ?2"
                             " AND (coalesce(b.boot,0) - coalesce(m.boot, b.boot, 0) >= 3"
                             "  OR EXISTS (SELECT 1 FROM alerts a WHERE a.serial = m.serial AND"
                             "   a.closed_ms IS NULL AND a.kind IN ('selftest_failed','silent')))",
                             n, "ii", id, (int64_t)max_stage);
}

int pfs_sqlite_rollout_pending_online(struct pfs_sqlite *st, int64_t id, int max_stage, bool *any)
{
    sqlite3_stmt *s;
    int rc;

    *any = false;
    if (sqlite3_prepare_v2(pfs_store_sqlite_db(st),
                           "SELECT 1 FROM rollout_members m JOIN device_state d ON"
                           " d.serial = m.serial AND d.online = 1 WHERE m.rollout = ?1 AND"
                           " m.status IN " PFS_STORE_RO_OFFERABLE_SQL " AND m.stage <= ?2 LIMIT 1",
                           -1, &s, NULL) != SQLITE_OK)
        return PF_EIO;
    sqlite3_bind_int64(s, 1, id);
    sqlite3_bind_int(s, 2, max_stage);
    rc = sqlite3_step(s);
    *any = rc == SQLITE_ROW;
    sqlite3_finalize(s);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : PF_EIO;
}

int pfs_sqlite_rollout_swap(void *ctx, struct pfs_sqlite_tx *tx, const char *old_serial,
                            const char *new_serial, struct pf_error *err)
{
    sqlite3 *db = pfs_sqlite_tx_db(tx);
    sqlite3_stmt *s;
    int rc = 0;

    (void)ctx;
    if ((rc = pfs_store_ro_plan_pull(db, NULL, old_serial)))
        return pf_error_set(err, rc, "store: rollout plan: %s", sqlite3_errmsg(db));
    if (sqlite3_prepare_v2(
                db,
                "SELECT r.id, r.kind, r.stage, r.state, m.status,"
                " coalesce(m.prev_bundle,'') FROM rollouts r JOIN rollout_members m"
                " ON m.rollout = r.id AND m.serial = ?1 WHERE r.state IN " PFS_STORE_RO_LIVE_SQL,
                -1, &s, NULL) != SQLITE_OK)
        return pf_error_set(err, PF_EIO, "store: %s", sqlite3_errmsg(db));
    sqlite3_bind_text(s, 1, old_serial, -1, SQLITE_STATIC);
    while (!rc && sqlite3_step(s) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(s, 0);
        char kind[24], state[24], prev[PF_B2_HEX_LEN + 1];
        int stage = sqlite3_column_int(s, 2);
        int st = pfs_ro_member_parse((const char *)sqlite3_column_text(s, 4));
        bool added;

        pfs_store_ro_col(s, 1, kind, sizeof(kind));
        pfs_store_ro_col(s, 3, state, sizeof(state));
        pfs_store_ro_col(s, 5, prev, sizeof(prev));
        enum pfs_ro_member to;

        /* A member with an outcome keeps it (rollout_member.h). */
        if (st >= 0 && pfs_ro_member_next((enum pfs_ro_member)st, PFS_ROE_SWAP, &to) == 0)
            rc = pfs_store_sql_run(db,
                                   "UPDATE rollout_members SET status = ?4, code = ?3"
                                   " WHERE rollout = ?1 AND serial = ?2 AND status = ?5",
                                   "iSSSS", id, old_serial, new_serial, pfs_ro_member_names[to],
                                   pfs_ro_member_names[st]);
        if (!rc && strcmp(state, "rolling_back") != 0)
            rc = pfs_store_ro_member_join(db, id, kind, stage, new_serial, prev, &added);
        if (rc)
            pf_error_set(err, rc, "store: moving rollout %" PRId64 " membership: %s", id,
                         sqlite3_errmsg(db));
    }
    sqlite3_finalize(s);
    return rc;
}
