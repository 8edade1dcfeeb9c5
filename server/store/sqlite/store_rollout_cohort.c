/*
 * store_rollout_cohort.c - planning a rollout in the SQLite store
 * (pfs_sqlite_rollout_create, pfs_sqlite_rollout_join): the candidate
 * terminals are scanned in serial order and handed to rollout_plan.h, which
 * decides the cohort, its order and its stages; this file checks overlaps
 * with live rollouts and saves the result (store_rollout_plan.c).
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
#include "store/sqlite/store_scope.h"
#include "store/sqlite/store_sqlite_internal.h"
#include "store/sqlite/store_tx.h"

static double ro__ms_since(const struct timespec *t0)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - t0->tv_sec) * 1e3 + (double)(t.tv_nsec - t0->tv_nsec) / 1e6;
}

/* --- the cohort: candidate terminals for the rules of rollout_plan.h --- */

/* A statement read in step with the devices scan: its current row's serial
 * (column 0) or NULL once done. */
struct ro__merge {
    sqlite3_stmt *s;
    const char *serial;
};

static int ro__merge_next(sqlite3 *db, struct ro__merge *m, struct pf_error *err)
{
    int rc = sqlite3_step(m->s);

    m->serial = rc == SQLITE_ROW ? (const char *)sqlite3_column_text(m->s, 0) : NULL;
    if (rc == SQLITE_ROW && !m->serial)
        m->serial = "";
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return pf_error_set(err, PF_EIO, "store: cohort: %s", sqlite3_errmsg(db));
    return 0;
}

/* Moves m to the first row whose serial is >= serial; true if it is equal. */
static int ro__merge_seek(sqlite3 *db, struct ro__merge *m, const char *serial, bool *hit,
                          struct pf_error *err)
{
    int c = 1, rc;

    while (m->serial && (c = strcmp(m->serial, serial)) < 0) {
        if ((rc = ro__merge_next(db, m, err)))
            return rc;
    }
    *hit = m->serial && c == 0;
    return 0;
}

static const char *ro__text(sqlite3_stmt *s, int col)
{
    return (const char *)sqlite3_column_text(s, col);
}

/*
 * The light scan (pfs_ro_cohort_rule_light): the devices, the versions of the
 * kind and the terminals' lifecycle states are three scans in serial order
 * (all three tables are keyed by serial) merged here, without a lookup per
 * terminal.
 */
static int ro__cohort_light(sqlite3 *db, const struct pfs_ro_cohort_rule *r,
                            struct pfs_ro_cohort *co, struct pf_error *err)
{
    const char *cur = r->kind == PF_KIND_FIRMWARE ? "fw_version" : "fee_version";
    sqlite3_stmt *dev = NULL;
    struct ro__merge ver = {0}, term = {0};
    char sql[512];
    int rc;

    snprintf(sql, sizeof(sql),
             "SELECT serial, %s FROM device_state WHERE coalesce(%s,'') <> '' ORDER BY serial", cur,
             cur);
    if ((rc = pfs_store_ro_prepare(db,
                                   "SELECT serial, model, coalesce(hw_rev,''), status FROM devices"
                                   " ORDER BY serial",
                                   &dev, err)) ||
        (rc = pfs_store_ro_prepare(db, sql, &ver.s, err)) ||
        (rc = pfs_store_ro_prepare(db, "SELECT serial, state FROM terminals ORDER BY serial",
                                   &term.s, err)) ||
        (rc = ro__merge_next(db, &ver, err)) || (rc = ro__merge_next(db, &term, err)))
        goto done;
    while ((rc = sqlite3_step(dev)) == SQLITE_ROW) {
        struct pfs_ro_candidate c = {0};
        bool hit;

        c.serial = ro__text(dev, 0);
        c.model = ro__text(dev, 1);
        c.hw_rev = ro__text(dev, 2);
        c.status = ro__text(dev, 3);
        if (!c.serial || !c.model || !c.hw_rev) {
            rc = pf_error_set(err, PF_ENOMEM, "out of memory");
            goto done;
        }
        if ((rc = ro__merge_seek(db, &term, c.serial, &hit, err)))
            goto done;
        c.state = hit ? ro__text(term.s, 1) : "";
        if ((rc = ro__merge_seek(db, &ver, c.serial, &hit, err)))
            goto done;
        *(r->kind == PF_KIND_FIRMWARE ? &c.fw_version : &c.fee_version) =
                hit ? ro__text(ver.s, 1) : NULL;
        if ((rc = pfs_ro_cohort_consider(co, r, &c))) {
            rc = pf_error_set(err, rc, "store: cohort: %s", pf_strerror(rc));
            goto done;
        }
    }
    rc = rc == SQLITE_DONE ? 0 : pf_error_set(err, PF_EIO, "store: cohort: %s", sqlite3_errmsg(db));
done:
    sqlite3_finalize(term.s);
    sqlite3_finalize(ver.s);
    sqlite3_finalize(dev);
    return rc;
}

#define RO__FULL_SQL                                                                               \
    "SELECT d.serial, d.model, coalesce(d.hw_rev,''), d.status, coalesce(t.state,''),"             \
    " s.fw_version, s.fee_version, m.id, m.mcc, m.region, t.tags, d.created_ms FROM devices d"     \
    " LEFT JOIN device_state s ON s.serial = d.serial"                                             \
    " LEFT JOIN terminals t ON t.serial = d.serial"                                                \
    " LEFT JOIN merchants m ON m.id = t.merchant_id"

/* The same with the terminal's time zone (column 12), for previews. */
#define RO__FULL_SQL_TZ                                                                            \
    "SELECT d.serial, d.model, coalesce(d.hw_rev,''), d.status, coalesce(t.state,''),"             \
    " s.fw_version, s.fee_version, m.id, m.mcc, m.region, t.tags, d.created_ms,"                   \
    " coalesce(t.tz,'') FROM devices d"                                                            \
    " LEFT JOIN device_state s ON s.serial = d.serial"                                             \
    " LEFT JOIN terminals t ON t.serial = d.serial"                                                \
    " LEFT JOIN merchants m ON m.id = t.merchant_id"

/* A terminal of the organisation whose path is bound at ?8 (NULL: any): the
 * one scope rule of store_scope.h, without a merchant. */
#define RO__IN PFS_SQLITE_SCOPE_TERM("d.serial", "?8", "?9")

static void ro__bind_org(sqlite3_stmt *s, const char *org_path)
{
    if (org_path && *org_path)
        sqlite3_bind_text(s, 8, org_path, -1, SQLITE_STATIC);
}

/* Hands the candidates of s (RO__FULL_SQL's columns) to the rule; resets s. */
static int ro__cohort_rows(sqlite3 *db, sqlite3_stmt *s, const struct pfs_ro_cohort_rule *r,
                           struct pfs_ro_cohort *co, struct pf_error *err)
{
    int rc;

    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct pfs_ro_candidate c = {
                ro__text(s, 0), ro__text(s, 1), ro__text(s, 2),  ro__text(s, 3),
                ro__text(s, 4), ro__text(s, 5), ro__text(s, 6),  ro__text(s, 7),
                ro__text(s, 8), ro__text(s, 9), ro__text(s, 10), sqlite3_column_int64(s, 11),
                NULL,
        };

        if ((rc = pfs_ro_cohort_consider(co, r, &c))) {
            sqlite3_reset(s);
            return pf_error_set(err, rc, "store: cohort: %s", pf_strerror(rc));
        }
    }
    sqlite3_reset(s);
    if (rc != SQLITE_DONE)
        return pf_error_set(err, PF_EIO, "store: cohort: %s", sqlite3_errmsg(db));
    return 0;
}

/* Every field a rule may ask about, one joined row per device (registered
 * after since_ms when it is >= 0), in serial order. */
static int ro__cohort_full(sqlite3 *db, const struct pfs_ro_cohort_rule *r, const char *org_path,
                           struct pfs_ro_cohort *co, struct pf_error *err)
{
    sqlite3_stmt *s;
    int rc;

    if ((rc = pfs_store_ro_prepare(db,
                                   RO__FULL_SQL " WHERE (?1 < 0 OR d.created_ms > ?1) AND " RO__IN
                                                " ORDER BY d.serial",
                                   &s, err)))
        return rc;
    sqlite3_bind_int64(s, 1, r->since_ms);
    ro__bind_org(s, org_path);
    rc = ro__cohort_rows(db, s, r, co, err);
    sqlite3_finalize(s);
    return rc;
}

/* The same for an explicit list of serials: one lookup per serial of the
 * (sorted) list rather than a scan of the whole registry. */
static int ro__cohort_listed(sqlite3 *db, const struct pfs_ro_cohort_rule *r, const char *org_path,
                             struct pfs_ro_cohort *co, struct pf_error *err)
{
    const struct pfs_ro__values *v = &r->filters[PFS_RO_SERIALS];
    sqlite3_stmt *s;
    int rc = 0;

    if ((rc = pfs_store_ro_prepare(db, RO__FULL_SQL " WHERE d.serial = ?1 AND " RO__IN, &s, err)))
        return rc;
    ro__bind_org(s, org_path);
    for (size_t i = 0; !rc && i < v->n; i++) {
        if (i && strcmp(v->v[i], v->v[i - 1]) == 0)
            continue; /* listed twice */
        sqlite3_bind_text(s, 1, v->v[i], -1, SQLITE_STATIC);
        rc = ro__cohort_rows(db, s, r, co, err);
    }
    sqlite3_finalize(s);
    return rc;
}

/* The cohort of definition d for bundle b (rollout_plan.h decides who). */
static int ro__cohort_select(sqlite3 *db, const struct pfs_ro_def *d,
                             const struct pfs_bundle_rec *b, int64_t since_ms, const char *org_path,
                             struct pfs_ro_cohort *co, struct pf_error *err)
{
    struct pfs_ro_target t = {b->kind, b->version, b->models, b->hw_revs};
    struct pfs_ro_cohort_rule r;
    int rc;

    if ((rc = pfs_ro_cohort_rule_init(&r, d, &t, since_ms, err)))
        return rc;
    if (r.filters[PFS_RO_SERIALS].set)
        rc = ro__cohort_listed(db, &r, org_path, co, err);
    else if (pfs_ro_cohort_rule_light(&r) && !(org_path && *org_path))
        rc = ro__cohort_light(db, &r, co, err);
    else
        rc = ro__cohort_full(db, &r, org_path, co, err);
    pfs_ro_cohort_rule_release(&r);
    return rc;
}

/* The newest stored bundle of the kind for each version the cohort runs. */
static int ro__previous(sqlite3 *db, int kind, const struct pfs_ro_cohort *co,
                        struct pfs_store_ro_rows *c, struct pf_error *err)
{
    sqlite3_stmt *s;
    int rc;

    c->nver = co->nver;
    if (!co->nver)
        return 0;
    c->prev_ids = calloc(co->nver, sizeof(*c->prev_ids));
    if (!c->prev_ids)
        return pf_error_set(err, PF_ENOMEM, "out of memory");
    if ((rc = pfs_store_ro_prepare(db,
                                   "SELECT id FROM bundles WHERE kind = ?1 AND version = ?2"
                                   " ORDER BY uploaded_ms DESC LIMIT 1",
                                   &s, err)))
        return rc;
    for (size_t i = 0; i < co->nver; i++) {
        sqlite3_bind_text(s, 1, pf_bundle_kind_names[kind], -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 2, co->versions[i], -1, SQLITE_STATIC);
        if (sqlite3_step(s) == SQLITE_ROW)
            pfs_store_ro_col(s, 0, c->prev_ids[i], sizeof(c->prev_ids[i]));
        sqlite3_reset(s);
    }
    sqlite3_finalize(s);
    return 0;
}

/*
 * PF_EEXIST if a serial of the cohort is a member of a live rollout of the
 * kind other than self; the error names the lowest such serial. Reads the
 * other rollout's members in serial order, each looked up in the cohort
 * (sorted), unless they far outnumber the cohort: then each terminal of the
 * cohort is looked up among them. The other rollout is named only to an
 * actor who may see it (org: the creator's organisation path, NULL for
 * headquarters); to others it is "a rollout of another organisation".
 */
static int ro__overlap(sqlite3 *db, const char *kind, int64_t self, const struct pfs_ro_cohort *c,
                       const char *org, struct pf_error *err)
{
    sqlite3_stmt *r, *m = NULL, *scan = NULL, *cnt = NULL;
    char name[64];
    int rc = 0;

    if ((rc = pfs_store_ro_prepare(
                 db,
                 "SELECT id, " PFS_SQLITE_SCOPE_PATH(
                         "coalesce(org_path, '')",
                         "?3") " FROM rollouts WHERE state IN " PFS_STORE_RO_LIVE_SQL
                               " AND kind = ?1 AND id <> ?2",
                 &r, err)))
        return rc;
    if ((rc = pfs_store_ro_prepare(
                 db,
                 "SELECT 1 FROM rollout_members WHERE rollout = ?1 AND serial = ?2"
                 " AND status NOT IN " PFS_STORE_RO_RELEASED_SQL,
                 &m, err)) ||
        (rc = pfs_store_ro_prepare(db,
                                   "SELECT serial FROM rollout_members WHERE rollout = ?1"
                                   " AND status NOT IN " PFS_STORE_RO_RELEASED_SQL
                                   " ORDER BY serial",
                                   &scan, err)) ||
        (rc = pfs_store_ro_prepare(
                 db,
                 "SELECT coalesce(sum(n),0) FROM rollout_counts WHERE rollout = ?1"
                 " AND status NOT IN " PFS_STORE_RO_RELEASED_SQL,
                 &cnt, err)))
        goto done;
    sqlite3_bind_text(r, 1, kind, -1, SQLITE_STATIC);
    sqlite3_bind_int64(r, 2, self);
    if (org)
        sqlite3_bind_text(r, 3, org, -1, SQLITE_STATIC);
    while (!rc && sqlite3_step(r) == SQLITE_ROW) {
        int64_t other = sqlite3_column_int64(r, 0), members = 0;
        const char *hit = NULL;

        if (sqlite3_column_int(r, 1))
            snprintf(name, sizeof(name), "rollout %" PRId64, other);
        else
            snprintf(name, sizeof(name), "a rollout of another organisation");

        sqlite3_bind_int64(cnt, 1, other);
        if (sqlite3_step(cnt) == SQLITE_ROW)
            members = sqlite3_column_int64(cnt, 0);
        sqlite3_reset(cnt);
        if ((uint64_t)members <= 4 * (uint64_t)c->n) { /* a row read costs less than a seek */
            sqlite3_bind_int64(scan, 1, other);
            while (!hit && sqlite3_step(scan) == SQLITE_ROW) {
                const char *s = (const char *)sqlite3_column_text(scan, 0);

                if (s && pfs_ro_cohort_has(c, s))
                    hit = s;
            }
            if (hit)
                rc = pf_error_set(err, PF_EEXIST,
                                  "terminal %s is already in %s (%s), which is still live", hit,
                                  name, kind);
            sqlite3_reset(scan);
        }
        sqlite3_bind_int64(m, 1, other);
        for (size_t i = 0; !hit && !rc && (uint64_t)members > 4 * (uint64_t)c->n && i < c->n; i++) {
            sqlite3_bind_text(m, 2, c->serial[i], -1, SQLITE_STATIC);
            if (sqlite3_step(m) == SQLITE_ROW)
                rc = pf_error_set(err, PF_EEXIST,
                                  "terminal %s is already in %s (%s), which is still live",
                                  c->serial[i], name, kind);
            sqlite3_reset(m);
        }
        if (!rc) /* members of its stages not opened yet */
            rc = pfs_store_ro_plan_overlap(db, other, name, kind, c, err);
    }
done:
    sqlite3_finalize(cnt);
    sqlite3_finalize(scan);
    sqlite3_finalize(m);
    sqlite3_finalize(r);
    return rc;
}

int pfs_sqlite_rollout_create(struct pfs_sqlite *st, const struct pfs_ro_def *d,
                              const struct pfs_bundle_rec *b, const char *def_json,
                              const struct pfs_actor *actor, int64_t now_ms, int64_t *id,
                              struct pfs_ro_plan_stats *stats, struct pf_error *err)
{
    sqlite3 *db = pfs_store_sqlite_db(st);
    struct pfs_ro_cohort co = {0};
    struct pfs_store_ro_rows c = {0};
    size_t targets[PFS_RO_STAGES_MAX];
    struct timespec t0;
    const char *kind = pf_bundle_kind_names[b->kind];
    char *after = NULL;
    /* An actor below headquarters makes a rollout of its organisation. */
    const char *org = actor && actor->org_path && strcmp(actor->org_path, PFS_HQ_ORG_PATH) != 0
                              ? actor->org_path
                              : NULL;
    int rc;

    memset(stats, 0, sizeof(*stats));
    if ((rc = pfs_sqlite_begin(st, now_ms, err)))
        return rc;
    /* Four eyes: it waits, paused for an approver, and opens nothing. */
    rc = pfs_store_sql_run(db,
                           "INSERT INTO rollouts (name, bundle, kind, version, definition, state,"
                           " stage, start_ms, deadline_ms, join_ms, created_ms, updated_ms, actor,"
                           " pause_reason, pause_detail, pause_by, pause_ms, org_path)"
                           " VALUES (?1,?2,?3,?4,?5,?6,0,?7,?8,?9,?9,?9,?10,?11,?12,"
                           " CASE WHEN ?11 IS NULL THEN NULL ELSE ?10 END,"
                           " CASE WHEN ?11 IS NULL THEN NULL ELSE ?9 END, ?13)",
                           "SSSSSSiiiSsss", d->name, b->id, kind, b->version, def_json,
                           d->awaiting_approval   ? "paused"
                           : d->start_ms > now_ms ? "scheduled"
                                                  : "running",
                           d->start_ms, d->deadline_ms, now_ms,
                           actor && actor->name ? actor->name : "-",
                           d->awaiting_approval ? PFS_RO_APPROVAL : "",
                           d->awaiting_approval ? "waits for an approver" : "", org ? org : "");
    if (rc) {
        pf_error_set(err, rc, "store: rollout: %s", sqlite3_errmsg(db));
        goto out;
    }
    *id = sqlite3_last_insert_rowid(db);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if ((rc = ro__cohort_select(db, d, b, -1, org, &co, err)))
        goto out;
    stats->cohort = (int64_t)co.n;
    stats->select_ms = ro__ms_since(&t0);
    if ((rc = pfs_ro_stage_targets(d, co.n, targets, err)) ||
        (rc = ro__overlap(db, kind, *id, &co, org, err)))
        goto out;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if ((rc = pfs_ro_cohort_order(&co, *id, targets, d->nstages))) {
        pf_error_set(err, rc, "rollout plan: %s", pf_strerror(rc));
        goto out;
    }
    pfs_store_ro_rows_view(&co, &c);
    stats->order_ms = ro__ms_since(&t0);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    /* The first stage's members as rows, the later stages' as plan chunks: their
     * rows are written when their stage opens (pfs_sqlite_rollout_plan_open). */
    if ((rc = ro__previous(db, b->kind, &co, &c, err)) ||
        (rc = pfs_store_ro_members_insert(db, *id, &c, 0, err)) ||
        (rc = pfs_store_ro_plan_write(db, *id, &c, d->nstages, err)))
        goto out;
    for (size_t k = 0; !rc && k < d->nstages; k++) {
        const struct pfs_ro_stage *sd = &d->stages[k];
        int64_t n = (int64_t)(targets[k] - (k ? targets[k - 1] : 0));

        rc = pfs_store_sql_run(
                db,
                "INSERT INTO rollout_stages (rollout, idx, size, target, soak_s,"
                " gate, opened_ms) VALUES (?1,?2,?3,?4,?5,?6,?7)",
                "iiSiiii", *id, (int64_t)k, sd->size, (int64_t)targets[k], sd->soak_s,
                (int64_t)sd->gate,
                k == 0 && d->start_ms <= now_ms && !d->awaiting_approval ? now_ms : (int64_t)0);
        if (!rc)
            rc = pfs_store_ro_count_add(db, *id, (int)k, "pending", n);
    }
    /* Terminals that already run the version are members from the start,
     * `already`, in the first stage (rollout_plan.h). */
    for (size_t i = 0; !rc && i < co.nalready; i++)
        rc = pfs_store_sql_run(db,
                               "INSERT INTO rollout_members (rollout, serial, stage, status,"
                               " since_ms, code) VALUES (?1, ?2, 0, 'already', ?3, 'ALREADY')",
                               "iSi", *id, co.already[i], now_ms);
    if (!rc && co.nalready)
        rc = pfs_store_ro_count_add(db, *id, 0, "already", (int64_t)co.nalready);
    if (rc) {
        pf_error_set(err, rc, "store: stages: %s", sqlite3_errmsg(db));
        goto out;
    }
    after = pfs_rec_rollout_create_text(*id, d->name, b->id, kind, b->version, (int64_t)c.n,
                                        targets, d->nstages);
    {
        char target[32];

        snprintf(target, sizeof(target), "rollout/%" PRId64, *id);
        rc = after ? pfs_store_audit_text(db, actor, now_ms, "rollout.create", target, after)
                   : PF_ENOMEM;
    }
    if (rc)
        pf_error_set(err, rc, "store: audit: %s", sqlite3_errmsg(db));
    stats->insert_ms = ro__ms_since(&t0);
out:
    free(after);
    pfs_store_ro_rows_free(&c);
    pfs_ro_cohort_release(&co);
    return pfs_sqlite_end(st, rc, err);
}

/* --- previews and audit rows of the API --- */

int pfs_sqlite_rollout_scan(struct pfs_sqlite *st, pfs_ro_candidate_cb cb, void *ctx)
{
    return pfs_sqlite_rollout_scan_in(st, NULL, cb, ctx);
}

int pfs_sqlite_rollout_scan_in(struct pfs_sqlite *st, const char *org_path, pfs_ro_candidate_cb cb,
                               void *ctx)
{
    sqlite3 *db = pfs_store_sqlite_db(st);
    sqlite3_stmt *s;
    int rc;

    if ((rc = pfs_store_ro_prepare(db, RO__FULL_SQL_TZ " WHERE " RO__IN " ORDER BY d.serial", &s,
                                   NULL)))
        return rc;
    ro__bind_org(s, org_path);
    for (;;) {
        int step = sqlite3_step(s);

        if (step != SQLITE_ROW) {
            rc = step == SQLITE_DONE ? 0 : PF_EIO;
            break;
        }
        struct pfs_ro_candidate c = {
                ro__text(s, 0),  ro__text(s, 1), ro__text(s, 2),  ro__text(s, 3),
                ro__text(s, 4),  ro__text(s, 5), ro__text(s, 6),  ro__text(s, 7),
                ro__text(s, 8),  ro__text(s, 9), ro__text(s, 10), sqlite3_column_int64(s, 11),
                ro__text(s, 12),
        };

        if ((rc = cb(ctx, &c)) != 0)
            break;
    }
    sqlite3_finalize(s);
    return rc;
}

int pfs_sqlite_rollout_next_id(struct pfs_sqlite *st, int64_t *id)
{
    sqlite3 *db = pfs_store_sqlite_db(st);
    sqlite3_stmt *s;
    int rc;

    if ((rc = pfs_store_ro_prepare(db, "SELECT coalesce(max(id), 0) + 1 FROM rollouts", &s, NULL)))
        return rc;
    rc = sqlite3_step(s) == SQLITE_ROW ? 0 : PF_EIO;
    *id = rc ? 0 : sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return rc;
}

int pfs_sqlite_rollout_audit(struct pfs_sqlite *st, int64_t id, const struct pfs_actor *actor,
                             int64_t now_ms, const char *action, const char *after_json)
{
    sqlite3 *db = pfs_store_sqlite_db(st);
    char target[32], act[64];
    json_t *after = json_loads(after_json, 0, NULL);
    int rc;

    if (!after)
        return PF_EINVAL;
    snprintf(target, sizeof(target), "rollout/%" PRId64, id);
    snprintf(act, sizeof(act), "rollout.%s", action);
    if ((rc = pfs_sqlite_begin(st, now_ms, NULL)) == 0)
        rc = pfs_sqlite_end(st, pfs_store_audit_row(db, actor, now_ms, act, target, after), NULL);
    json_decref(after);
    return rc;
}

int pfs_sqlite_rollout_approval_digest(struct pfs_sqlite *st, int64_t id, const char *digest)
{
    sqlite3 *db = pfs_store_sqlite_db(st);
    char detail[PFS_RO_REASON_MAX + 1];
    int rc;

    snprintf(detail, sizeof(detail), "waits for an approver of plan %s", digest);
    if ((rc = pfs_sqlite_begin(st, 0, NULL)) == 0)
        rc = pfs_sqlite_end(st,
                            pfs_store_sql_run(db,
                                              "UPDATE rollouts SET pause_detail = ?2 WHERE id = ?1"
                                              " AND state = 'paused' AND pause_reason = ?3",
                                              "iSS", id, detail, PFS_RO_APPROVAL),
                            NULL);
    return rc;
}

/* Adds serial to rollout id at stage (pending) unless it is a member of a live
 * rollout of the kind already; *added tells. */
int pfs_store_ro_member_join(sqlite3 *db, int64_t id, const char *kind, int stage,
                             const char *serial, const char *prev, bool *added)
{
    sqlite3_stmt *s;
    char cur[24] = "";
    bool taken;
    int rc;

    *added = false;
    if ((rc = pfs_store_ro_plan_pull(db, kind, serial)))
        return rc;
    if (sqlite3_prepare_v2(db,
                           "SELECT 1 FROM rollouts r JOIN rollout_members m ON m.rollout = r.id"
                           " AND m.serial = ?2 WHERE r.state IN " PFS_STORE_RO_LIVE_SQL
                           " AND r.kind = ?1 AND m.status NOT IN " PFS_STORE_RO_RELEASED_SQL,
                           -1, &s, NULL) != SQLITE_OK)
        return PF_EIO;
    sqlite3_bind_text(s, 1, kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, serial, -1, SQLITE_STATIC);
    taken = sqlite3_step(s) == SQLITE_ROW;
    sqlite3_finalize(s);
    if (taken)
        return 0;
    if (sqlite3_prepare_v2(db,
                           "SELECT status FROM rollout_members WHERE rollout = ?1 AND serial = ?2",
                           -1, &s, NULL) != SQLITE_OK)
        return PF_EIO;
    sqlite3_bind_int64(s, 1, id);
    sqlite3_bind_text(s, 2, serial, -1, SQLITE_STATIC);
    if (sqlite3_step(s) == SQLITE_ROW)
        pfs_store_ro_col(s, 0, cur, sizeof(cur));
    sqlite3_finalize(s);
    if (cur[0]) { /* skipped or swapped before: back in, through the counting trigger */
        int from = pfs_ro_member_parse(cur);
        enum pfs_ro_member to;

        if (from < 0 || pfs_ro_member_next((enum pfs_ro_member)from, PFS_ROE_REJOIN, &to) != 0)
            return 0; /* a member of this rollout already */
        rc = pfs_store_sql_run(db,
                               "UPDATE rollout_members SET status = ?4, stage = ?3,"
                               " offer = NULL, code = NULL WHERE rollout = ?1 AND serial = ?2"
                               " AND status = ?5",
                               "iSiSS", id, serial, (int64_t)stage, pfs_ro_member_names[to], cur);
    } else if (!(rc = pfs_store_sql_run(db,
                                        "INSERT INTO rollout_members (rollout, serial, stage,"
                                        " status, prev_bundle) VALUES (?1,?2,?3,'pending',?4)",
                                        "iSis", id, serial, (int64_t)stage, prev)))
        rc = pfs_store_ro_count_add(db, id, stage, "pending", 1);
    if (!rc)
        *added = true;
    return rc;
}

int pfs_sqlite_rollout_join(struct pfs_sqlite *st, const struct pfs_rollout_rec *r, int64_t now_ms,
                            int64_t *added)
{
    sqlite3 *db = pfs_store_sqlite_db(st);
    struct pfs_ro_cohort co = {0};
    struct pfs_store_ro_rows c = {0};
    struct pfs_bundle_rec b;
    const char *kind = pf_bundle_kind_names[r->kind];
    int rc;

    *added = 0;
    if ((rc = pfs_sqlite_bundle_get(st, r->bundle, &b)))
        return rc;
    if ((rc = pfs_sqlite_begin(st, now_ms, NULL)))
        return rc;
    rc = ro__cohort_select(db, &r->def, &b, r->join_ms, r->org_path, &co, NULL);
    pfs_store_ro_rows_view(&co, &c);
    if (!rc)
        rc = ro__previous(db, r->kind, &co, &c, NULL);
    for (size_t i = 0; !rc && i < c.n; i++) {
        const char *prev = c.prev[i] && c.prev_ids ? c.prev_ids[c.prev[i] - 1] : "";
        bool ok;

        rc = pfs_store_ro_member_join(db, r->id, kind, r->stage, c.serial[i], prev, &ok);
        *added += ok;
    }
    if (!rc)
        rc = pfs_store_sql_run(db, "UPDATE rollouts SET join_ms = ?2 WHERE id = ?1", "ii", r->id,
                               now_ms);
    pfs_store_ro_rows_free(&c);
    pfs_ro_cohort_release(&co);
    return pfs_sqlite_end(st, rc, NULL);
}
