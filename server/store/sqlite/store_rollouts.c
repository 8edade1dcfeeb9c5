/*
 * store_rollouts.c - the SQLite backend of store_rollouts.h (tables of
 * migration 008). Shares the connection and transaction helpers of the other
 * backend files (store_tx.h).
 */
#include "store/store_rollouts.h"

#include <inttypes.h>
#include <jansson.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rollouts/rollout_plan.h"
#include "store/sqlite/store_sqlite_internal.h"
#include "store/sqlite/store_tx.h"

const char *const pfs_ro_state_names[] = {
        "scheduled", "running",      "paused",      "gated", "completed",
        "aborted",   "rolling_back", "rolled_back", NULL,
};

#define RO__LIVE_SQL "('scheduled','running','paused','gated','rolling_back')"
/* States in which planned members (rollout_plan) are pending; after, skipped. */
#define RO__PLANNING_SQL "('scheduled','running','paused','gated')"

bool pfs_ro_state_live(enum pfs_ro_state s)
{
    return s == PFS_RO_SCHEDULED || s == PFS_RO_RUNNING || s == PFS_RO_PAUSED ||
           s == PFS_RO_GATED || s == PFS_RO_ROLLING_BACK;
}

static int ro__name_index(const char *const *names, const char *v)
{
    for (int i = 0; v && names[i]; i++) {
        if (strcmp(names[i], v) == 0)
            return i;
    }
    return -1;
}

static void ro__col(sqlite3_stmt *s, int col, char *out, size_t size)
{
    const unsigned char *t = sqlite3_column_text(s, col);

    snprintf(out, size, "%s", t ? (const char *)t : "");
}

static int ro__prepare(sqlite3 *db, const char *sql, sqlite3_stmt **s, struct pf_error *err)
{
    if (sqlite3_prepare_v2(db, sql, -1, s, NULL) != SQLITE_OK)
        return pf_error_set(err, PF_EIO, "store: %s", sqlite3_errmsg(db));
    return 0;
}

static double ro__ms_since(const struct timespec *t0)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - t0->tv_sec) * 1e3 + (double)(t.tv_nsec - t0->tv_nsec) / 1e6;
}

/* --- the cohort: candidate terminals for the rules of rollout_plan.h --- */

/*
 * The members of a plan, as the writers below read them: a view of a
 * struct pfs_ro_cohort (serial, version index, stage borrowed) with the
 * previous bundle of each version, or a plan chunk read back (owned).
 */
struct ro__cohort {
    char **serial;
    uint16_t *prev; /* index into prev_ids + 1, 0 = none */
    uint8_t *stage;
    size_t n, cap;
    char (*prev_ids)[PF_B2_HEX_LEN + 1];
    size_t nver;
    char **blocks; /* a chunk's text (owned views only) */
    size_t nblocks;
    bool owned; /* serial, prev and stage are ours */
};

static void ro__cohort_free(struct ro__cohort *c)
{
    for (size_t i = 0; i < c->nblocks; i++)
        free(c->blocks[i]);
    free(c->blocks);
    if (c->owned) {
        free(c->serial);
        free(c->prev);
        free(c->stage);
    }
    free(c->prev_ids);
    memset(c, 0, sizeof(*c));
}

static void ro__cohort_view(const struct pfs_ro_cohort *co, struct ro__cohort *c)
{
    memset(c, 0, sizeof(*c));
    c->serial = co->serial;
    c->prev = co->version;
    c->stage = co->stage;
    c->n = co->n;
}

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
    if ((rc = ro__prepare(db,
                          "SELECT serial, model, coalesce(hw_rev,''), status FROM devices"
                          " ORDER BY serial",
                          &dev, err)) ||
        (rc = ro__prepare(db, sql, &ver.s, err)) ||
        (rc = ro__prepare(db, "SELECT serial, state FROM terminals ORDER BY serial", &term.s,
                          err)) ||
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

/* Every field a rule may ask about, one joined row per device (registered
 * after since_ms when it is >= 0), in serial order. */
static int ro__cohort_full(sqlite3 *db, const struct pfs_ro_cohort_rule *r,
                           struct pfs_ro_cohort *co, struct pf_error *err)
{
    sqlite3_stmt *s;
    int rc;

    if ((rc = ro__prepare(db,
                          "SELECT d.serial, d.model, coalesce(d.hw_rev,''), d.status,"
                          " coalesce(t.state,''), s.fw_version, s.fee_version, m.id, m.mcc,"
                          " m.region, t.tags, d.created_ms FROM devices d"
                          " LEFT JOIN device_state s ON s.serial = d.serial"
                          " LEFT JOIN terminals t ON t.serial = d.serial"
                          " LEFT JOIN merchants m ON"
                          " m.id = coalesce(t.merchant_id, nullif(d.merchant_id,''))"
                          " WHERE ?1 < 0 OR d.created_ms > ?1 ORDER BY d.serial",
                          &s, err)))
        return rc;
    sqlite3_bind_int64(s, 1, r->since_ms);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct pfs_ro_candidate c = {
                ro__text(s, 0), ro__text(s, 1), ro__text(s, 2),  ro__text(s, 3),
                ro__text(s, 4), ro__text(s, 5), ro__text(s, 6),  ro__text(s, 7),
                ro__text(s, 8), ro__text(s, 9), ro__text(s, 10), sqlite3_column_int64(s, 11),
        };

        if ((rc = pfs_ro_cohort_consider(co, r, &c))) {
            sqlite3_finalize(s);
            return pf_error_set(err, rc, "store: cohort: %s", pf_strerror(rc));
        }
    }
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE)
        return pf_error_set(err, PF_EIO, "store: cohort: %s", sqlite3_errmsg(db));
    return 0;
}

/* The cohort of definition d for bundle b (rollout_plan.h decides who). */
static int ro__cohort_select(sqlite3 *db, const struct pfs_ro_def *d,
                             const struct pfs_bundle_rec *b, int64_t since_ms,
                             struct pfs_ro_cohort *co, struct pf_error *err)
{
    struct pfs_ro_target t = {b->kind, b->version, b->models, b->hw_revs};
    struct pfs_ro_cohort_rule r;
    int rc;

    if ((rc = pfs_ro_cohort_rule_init(&r, d, &t, since_ms, err)))
        return rc;
    rc = pfs_ro_cohort_rule_light(&r) ? ro__cohort_light(db, &r, co, err)
                                      : ro__cohort_full(db, &r, co, err);
    pfs_ro_cohort_rule_release(&r);
    return rc;
}

/* The newest stored bundle of the kind for each version the cohort runs. */
static int ro__previous(sqlite3 *db, int kind, const struct pfs_ro_cohort *co, struct ro__cohort *c,
                        struct pf_error *err)
{
    sqlite3_stmt *s;
    int rc;

    c->nver = co->nver;
    if (!co->nver)
        return 0;
    c->prev_ids = calloc(co->nver, sizeof(*c->prev_ids));
    if (!c->prev_ids)
        return pf_error_set(err, PF_ENOMEM, "out of memory");
    if ((rc = ro__prepare(db,
                          "SELECT id FROM bundles WHERE kind = ?1 AND version = ?2"
                          " ORDER BY uploaded_ms DESC LIMIT 1",
                          &s, err)))
        return rc;
    for (size_t i = 0; i < co->nver; i++) {
        sqlite3_bind_text(s, 1, pf_bundle_kind_names[kind], -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 2, co->versions[i], -1, SQLITE_STATIC);
        if (sqlite3_step(s) == SQLITE_ROW)
            ro__col(s, 0, c->prev_ids[i], sizeof(c->prev_ids[i]));
        sqlite3_reset(s);
    }
    sqlite3_finalize(s);
    return 0;
}

static int ro__plan_overlap(sqlite3 *db, int64_t other, const char *kind,
                            const struct pfs_ro_cohort *c, struct pf_error *err);

/*
 * PF_EEXIST if a serial of the cohort is a member of a live rollout of the
 * kind other than self; the error names the lowest such serial. Reads the
 * other rollout's members in serial order, each looked up in the cohort
 * (sorted), unless they far outnumber the cohort: then each terminal of the
 * cohort is looked up among them.
 */
static int ro__overlap(sqlite3 *db, const char *kind, int64_t self, const struct pfs_ro_cohort *c,
                       struct pf_error *err)
{
    sqlite3_stmt *r, *m = NULL, *scan = NULL, *cnt = NULL;
    int rc = 0;

    if ((rc = ro__prepare(db,
                          "SELECT id FROM rollouts WHERE state IN " RO__LIVE_SQL
                          " AND kind = ?1 AND id <> ?2",
                          &r, err)))
        return rc;
    if ((rc = ro__prepare(db,
                          "SELECT 1 FROM rollout_members WHERE rollout = ?1 AND serial = ?2"
                          " AND status NOT IN ('skipped','swapped')",
                          &m, err)) ||
        (rc = ro__prepare(db,
                          "SELECT serial FROM rollout_members WHERE rollout = ?1"
                          " AND status NOT IN ('skipped','swapped') ORDER BY serial",
                          &scan, err)) ||
        (rc = ro__prepare(db,
                          "SELECT coalesce(sum(n),0) FROM rollout_counts WHERE rollout = ?1"
                          " AND status NOT IN ('skipped','swapped')",
                          &cnt, err)))
        goto done;
    sqlite3_bind_text(r, 1, kind, -1, SQLITE_STATIC);
    sqlite3_bind_int64(r, 2, self);
    while (!rc && sqlite3_step(r) == SQLITE_ROW) {
        int64_t other = sqlite3_column_int64(r, 0), members = 0;
        const char *hit = NULL;

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
                                  "terminal %s is already in rollout %" PRId64
                                  " (%s), which is still live",
                                  hit, other, kind);
            sqlite3_reset(scan);
        }
        sqlite3_bind_int64(m, 1, other);
        for (size_t i = 0; !hit && !rc && (uint64_t)members > 4 * (uint64_t)c->n && i < c->n; i++) {
            sqlite3_bind_text(m, 2, c->serial[i], -1, SQLITE_STATIC);
            if (sqlite3_step(m) == SQLITE_ROW)
                rc = pf_error_set(err, PF_EEXIST,
                                  "terminal %s is already in rollout %" PRId64
                                  " (%s), which is still live",
                                  c->serial[i], other, kind);
            sqlite3_reset(m);
        }
        if (!rc) /* members of its stages not opened yet */
            rc = ro__plan_overlap(db, other, kind, c, err);
    }
done:
    sqlite3_finalize(cnt);
    sqlite3_finalize(scan);
    sqlite3_finalize(m);
    sqlite3_finalize(r);
    return rc;
}

static int ro__count_add(sqlite3 *db, int64_t id, int stage, const char *status, int64_t n)
{
    return pfs_store_sql_run(db,
                             "INSERT INTO rollout_counts (rollout, stage, status, n)"
                             " VALUES (?1,?2,?3,?4) ON CONFLICT (rollout, stage, status)"
                             " DO UPDATE SET n = n + excluded.n",
                             "iiSi", id, (int64_t)stage, status, n);
}

#define RO__INSERT_BATCH 64

/* INSERT of `rows` members: (?1 = rollout, then serial, stage, prev_bundle per row). */
static int ro__members_prepare(sqlite3 *db, int rows, sqlite3_stmt **s, struct pf_error *err)
{
    char sql[96 + RO__INSERT_BATCH * 40];
    size_t len;

    len = (size_t)snprintf(sql, sizeof(sql),
                           "INSERT INTO rollout_members (rollout, serial, stage, status,"
                           " prev_bundle) VALUES");
    for (int r = 0; r < rows && len < sizeof(sql); r++)
        len += (size_t)snprintf(sql + len, sizeof(sql) - len, "%s(?1,?%d,?%d,'pending',?%d)",
                                r ? "," : "", 2 + 3 * r, 3 + 3 * r, 4 + 3 * r);
    return ro__prepare(db, sql, s, err);
}

/* Binds rows[0..n) of c (a statement from ro__members_prepare for n rows) and runs it. */
static int ro__members_step(sqlite3 *db, sqlite3_stmt *s, const struct ro__cohort *c,
                            const size_t *rows, int n, struct pf_error *err)
{
    int rc;

    for (int r = 0; r < n; r++) {
        size_t i = rows[r];
        const char *prev = c->prev[i] && c->prev_ids ? c->prev_ids[c->prev[i] - 1] : "";

        sqlite3_bind_text(s, 2 + 3 * r, c->serial[i], -1, SQLITE_STATIC);
        sqlite3_bind_int(s, 3 + 3 * r, c->stage[i]);
        if (*prev)
            sqlite3_bind_text(s, 4 + 3 * r, prev, -1, SQLITE_STATIC);
        else
            sqlite3_bind_null(s, 4 + 3 * r);
    }
    rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc != SQLITE_DONE)
        return pf_error_set(err, PF_EIO, "store: member %s: %s", c->serial[rows[n - 1]],
                            sqlite3_errmsg(db));
    return 0;
}

/* One row per member of c (of stage `only` if it is >= 0), pending, in serial
 * order (the primary key's), RO__INSERT_BATCH rows per statement: a step per
 * 64 members rather than per member. Counters are the caller's. */
static int ro__members_insert(sqlite3 *db, int64_t id, const struct ro__cohort *c, int only,
                              struct pf_error *err)
{
    sqlite3_stmt *batch = NULL, *one = NULL;
    size_t rows[RO__INSERT_BATCH];
    int n = 0, rc;

    if ((rc = ro__members_prepare(db, RO__INSERT_BATCH, &batch, err)) ||
        (rc = ro__members_prepare(db, 1, &one, err)))
        goto done;
    sqlite3_bind_int64(batch, 1, id);
    sqlite3_bind_int64(one, 1, id);
    for (size_t i = 0; !rc && i <= c->n; i++) {
        if (i < c->n) {
            if (only >= 0 && c->stage[i] != only)
                continue;
            rows[n++] = i;
            if (n < RO__INSERT_BATCH)
                continue;
        }
        if (n == RO__INSERT_BATCH)
            rc = ro__members_step(db, batch, c, rows, n, err);
        for (int r = 0; n < RO__INSERT_BATCH && !rc && r < n; r++)
            rc = ro__members_step(db, one, c, &rows[r], 1, err);
        n = 0;
    }
done:
    sqlite3_finalize(one);
    sqlite3_finalize(batch);
    return rc;
}

/* --- the plan: members of stages not opened yet (migration 009) --- */

#define RO__PLAN_CHUNK 4096

struct ro__buf {
    char *p;
    size_t len, cap;
};

static int ro__buf_add(struct ro__buf *b, const char *s, size_t n)
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

/*
 * Writes the members of stages 1.. of c (the first stage's are rows) as plan
 * chunks: per stage, in serial order, RO__PLAN_CHUNK members a chunk, each
 * line "SERIAL" or "SERIAL INDEX" into the chunk's own list of previous
 * bundles.
 */
static int ro__plan_write(sqlite3 *db, int64_t id, const struct ro__cohort *c, size_t nstages,
                          struct pf_error *err)
{
    struct ro__buf lines = {0}, prevs = {0};
    uint16_t *local = calloc(c->nver + 1, sizeof(*local));
    sqlite3_stmt *ins = NULL;
    int rc = local ? 0 : pf_error_set(err, PF_ENOMEM, "out of memory");

    if (!rc)
        rc = ro__prepare(db,
                         "INSERT INTO rollout_plan (rollout, stage, seq, n, first, last, prevs,"
                         " members) VALUES (?1,?2,?3,?4,?5,?6,?7,?8)",
                         &ins, err);
    for (size_t k = 1; !rc && k < nstages; k++) {
        const char *first = NULL, *last = NULL;
        int64_t seq = 0, n = 0;
        uint16_t nprev = 0;

        for (size_t i = 0; !rc && i <= c->n; i++) {
            if (i < c->n) {
                const char *prev = c->prev[i] && c->prev_ids ? c->prev_ids[c->prev[i] - 1] : "";
                char idx[16] = "";

                if (c->stage[i] != k)
                    continue;
                if (!n) {
                    first = c->serial[i];
                    lines.len = prevs.len = 0;
                    memset(local, 0, (c->nver + 1) * sizeof(*local));
                    nprev = 0;
                }
                if (*prev && !local[c->prev[i]]) {
                    local[c->prev[i]] = ++nprev;
                    rc = ro__buf_add(&prevs, prev, strlen(prev)) || ro__buf_add(&prevs, "\n", 1)
                                 ? PF_ENOMEM
                                 : 0;
                }
                if (*prev)
                    snprintf(idx, sizeof(idx), " %u", (unsigned)local[c->prev[i]]);
                if (!rc && (ro__buf_add(&lines, c->serial[i], strlen(c->serial[i])) ||
                            ro__buf_add(&lines, idx, strlen(idx)) || ro__buf_add(&lines, "\n", 1)))
                    rc = PF_ENOMEM;
                last = c->serial[i];
                if (++n < RO__PLAN_CHUNK)
                    continue;
            }
            if (rc || !n)
                break;
            sqlite3_bind_int64(ins, 1, id);
            sqlite3_bind_int64(ins, 2, (int64_t)k);
            sqlite3_bind_int64(ins, 3, seq++);
            sqlite3_bind_int64(ins, 4, n);
            sqlite3_bind_text(ins, 5, first, -1, SQLITE_STATIC);
            sqlite3_bind_text(ins, 6, last, -1, SQLITE_STATIC);
            sqlite3_bind_text(ins, 7, prevs.p ? prevs.p : "", (int)prevs.len, SQLITE_STATIC);
            sqlite3_bind_text(ins, 8, lines.p, (int)lines.len, SQLITE_STATIC);
            if (sqlite3_step(ins) != SQLITE_DONE)
                rc = pf_error_set(err, PF_EIO, "store: rollout plan: %s", sqlite3_errmsg(db));
            sqlite3_reset(ins);
            n = 0;
        }
        if (rc == PF_ENOMEM)
            pf_error_set(err, rc, "out of memory");
    }
    sqlite3_finalize(ins);
    free(lines.p);
    free(prevs.p);
    free(local);
    return rc;
}

/*
 * A plan chunk read back as a cohort of one stage: c.serial points into the
 * chunk's text (the cohort's one block), c.prev into c.prev_ids.
 */
static int ro__plan_decode(int stage, const char *prevs, const char *members, size_t len,
                           struct ro__cohort *c)
{
    char *text = malloc(len + 1), *p, *nl;
    size_t np = 0;

    memset(c, 0, sizeof(*c));
    c->owned = true;
    if (!text || !(c->blocks = malloc(sizeof(*c->blocks)))) {
        free(text);
        return PF_ENOMEM;
    }
    if (len)
        memcpy(text, members, len);
    text[len] = '\0';
    c->blocks[c->nblocks++] = text;
    for (const char *q = prevs; *q; q++)
        np += *q == '\n';
    if (np && !(c->prev_ids = calloc(np, sizeof(*c->prev_ids))))
        return PF_ENOMEM;
    for (const char *q = prevs; c->nver < np && *q; c->nver++) {
        const char *e = strchr(q, '\n');

        snprintf(c->prev_ids[c->nver], sizeof(c->prev_ids[0]), "%.*s", (int)(e - q), q);
        q = e + 1;
    }
    for (p = text; *p; p = nl + 1) {
        char *sp;
        unsigned long idx = 0;

        if (!(nl = strchr(p, '\n')))
            break;
        *nl = '\0';
        if ((sp = strchr(p, ' '))) {
            *sp = '\0';
            idx = strtoul(sp + 1, NULL, 10);
        }
        if (c->n == c->cap) {
            size_t cap = c->cap ? c->cap * 2 : RO__PLAN_CHUNK;
            char **s = realloc(c->serial, cap * sizeof(*s));
            uint16_t *pv = s ? realloc(c->prev, cap * sizeof(*pv)) : NULL;
            uint8_t *sg = pv ? realloc(c->stage, cap) : NULL;

            if (s)
                c->serial = s;
            if (pv)
                c->prev = pv;
            if (sg)
                c->stage = sg;
            if (!sg)
                return PF_ENOMEM;
            c->cap = cap;
        }
        c->serial[c->n] = p;
        c->prev[c->n] = idx <= c->nver ? (uint16_t)idx : 0;
        c->stage[c->n++] = (uint8_t)stage;
    }
    return 0;
}

/* The members of the rollout's stages <= max_stage still in the plan. */
static int ro__plan_left(sqlite3 *db, int64_t id, int max_stage, int64_t *left)
{
    return pfs_store_sql_int(db,
                             "SELECT coalesce(sum(n),0) FROM rollout_plan WHERE rollout = ?1 AND"
                             " stage <= ?2",
                             left, "ii", id, (int64_t)max_stage);
}

int pfs_store_rollout_plan_open(struct pfs_store *st, int64_t id, int max_stage, int64_t max_rows,
                                int64_t now_ms, int64_t *left)
{
    sqlite3 *db = pfs_store_sqlite_db(st);
    sqlite3_stmt *s = NULL;
    int64_t done = 0;
    int rc;

    if ((rc = ro__plan_left(db, id, max_stage, left)) || !*left)
        return rc;
    if ((rc = pfs_sqlite_begin(st, now_ms, NULL)))
        return rc;
    if ((rc = ro__prepare(db,
                          "SELECT stage, seq, n, prevs, members FROM rollout_plan WHERE"
                          " rollout = ?1 AND stage <= ?2 ORDER BY stage, seq LIMIT 1",
                          &s, NULL)))
        goto out;
    sqlite3_bind_int64(s, 1, id);
    sqlite3_bind_int(s, 2, max_stage);
    while (!rc && done < max_rows && sqlite3_step(s) == SQLITE_ROW) {
        struct ro__cohort c;
        int stage = sqlite3_column_int(s, 0);
        int64_t seq = sqlite3_column_int64(s, 1);
        const char *members = (const char *)sqlite3_column_text(s, 4);

        rc = ro__plan_decode(stage, (const char *)sqlite3_column_text(s, 3), members ? members : "",
                             (size_t)sqlite3_column_bytes(s, 4), &c);
        sqlite3_reset(s);
        if (!rc)
            rc = ro__members_insert(db, id, &c, -1, NULL);
        if (!rc)
            rc = pfs_store_sql_run(db,
                                   "DELETE FROM rollout_plan WHERE rollout = ?1 AND stage = ?2"
                                   " AND seq = ?3",
                                   "iii", id, (int64_t)stage, seq);
        done += (int64_t)c.n;
        ro__cohort_free(&c);
    }
    if (!rc)
        rc = ro__plan_left(db, id, max_stage, left);
out:
    sqlite3_finalize(s);
    return pfs_sqlite_end(st, rc, NULL);
}

/* Where a serial stands in a plan chunk. */
struct ro__plan_hit {
    int64_t rollout, seq;
    int stage;
    char prev[PF_B2_HEX_LEN + 1];
    char *members; /* the chunk's text without the serial's line (pull) */
    int64_t n;     /* members left in the chunk */
};

/*
 * Looks serial up in the chunks s yields (rollout, stage, seq, n, prevs,
 * members), filling up to max hits. with_rest: also the chunk's text without
 * the serial's line (hit->members, the caller frees it).
 */
static int ro__plan_find(sqlite3_stmt *s, const char *serial, bool with_rest,
                         struct ro__plan_hit *hits, int max, int *nhits)
{
    size_t slen = strlen(serial);

    *nhits = 0;
    while (*nhits < max && sqlite3_step(s) == SQLITE_ROW) {
        const char *text = (const char *)sqlite3_column_text(s, 5);
        const char *prevs = (const char *)sqlite3_column_text(s, 4);
        const char *p = text, *line = NULL, *end;
        struct ro__plan_hit *h = &hits[*nhits];

        while (p && (p = strstr(p, serial))) {
            if ((p == text || p[-1] == '\n') && (p[slen] == ' ' || p[slen] == '\n')) {
                line = p;
                break;
            }
            p += slen;
        }
        if (!line)
            continue;
        memset(h, 0, sizeof(*h));
        h->rollout = sqlite3_column_int64(s, 0);
        h->stage = sqlite3_column_int(s, 1);
        h->seq = sqlite3_column_int64(s, 2);
        h->n = sqlite3_column_int64(s, 3) - 1;
        end = strchr(line, '\n') + 1;
        if (line[slen] == ' ' && prevs) {
            unsigned long idx = strtoul(line + slen + 1, NULL, 10);

            for (const char *q = prevs; idx > 0 && *q; idx--) {
                const char *e = strchr(q, '\n');

                if (!e)
                    break;
                if (idx == 1)
                    snprintf(h->prev, sizeof(h->prev), "%.*s", (int)(e - q), q);
                q = e + 1;
            }
        }
        if (with_rest) {
            size_t len = strlen(text) - (size_t)(end - line);

            if (!(h->members = malloc(len + 1)))
                return PF_ENOMEM;
            memcpy(h->members, text, (size_t)(line - text));
            memcpy(h->members + (line - text), end, strlen(end) + 1);
        }
        (*nhits)++;
    }
    return 0;
}

#define RO__PLAN_COLS "p.rollout, p.stage, p.seq, p.n, p.prevs, p.members"

/*
 * Moves serial out of the plan of every live rollout (of kind, or any when kind
 * is NULL) into a member row, pending in its planned stage (the counters
 * already count it so): the paths that handle one terminal (swap, join) then
 * find it as they find every other member.
 */
static int ro__plan_pull(sqlite3 *db, const char *kind, const char *serial)
{
    struct ro__plan_hit hits[8];
    sqlite3_stmt *s;
    int n = 0, rc;

    if (sqlite3_prepare_v2(db,
                           "SELECT " RO__PLAN_COLS " FROM rollout_plan p JOIN rollouts r ON"
                           " r.id = p.rollout WHERE r.state IN " RO__PLANNING_SQL " AND"
                           " (?1 IS NULL OR r.kind = ?1) AND p.first <= ?2 AND p.last >= ?2",
                           -1, &s, NULL) != SQLITE_OK)
        return PF_EIO;
    if (kind)
        sqlite3_bind_text(s, 1, kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, serial, -1, SQLITE_STATIC);
    rc = ro__plan_find(s, serial, true, hits, 8, &n);
    sqlite3_finalize(s);
    for (int i = 0; i < n; i++) {
        struct ro__plan_hit *h = &hits[i];

        if (!rc && h->n > 0)
            rc = pfs_store_sql_run(db,
                                   "UPDATE rollout_plan SET n = ?4, members = ?5 WHERE"
                                   " rollout = ?1 AND stage = ?2 AND seq = ?3",
                                   "iiiiS", h->rollout, (int64_t)h->stage, h->seq, h->n,
                                   h->members);
        else if (!rc)
            rc = pfs_store_sql_run(db,
                                   "DELETE FROM rollout_plan WHERE rollout = ?1 AND stage = ?2"
                                   " AND seq = ?3",
                                   "iii", h->rollout, (int64_t)h->stage, h->seq);
        if (!rc)
            rc = pfs_store_sql_run(db,
                                   "INSERT INTO rollout_members (rollout, serial, stage, status,"
                                   " prev_bundle) VALUES (?1,?2,?3,'pending',?4)",
                                   "iSis", h->rollout, serial, (int64_t)h->stage, h->prev);
        free(h->members);
    }
    return rc;
}

/*
 * PF_EEXIST if a serial of c is in the plan of rollout other; the error names
 * the first one found.
 */
static int ro__plan_overlap(sqlite3 *db, int64_t other, const char *kind,
                            const struct pfs_ro_cohort *c, struct pf_error *err)
{
    sqlite3_stmt *s;
    int rc = 0;

    if ((rc = ro__prepare(db,
                          "SELECT p.members FROM rollout_plan p JOIN rollouts r ON"
                          " r.id = p.rollout WHERE p.rollout = ?1 AND r.state IN " RO__PLANNING_SQL,
                          &s, err)))
        return rc;
    sqlite3_bind_int64(s, 1, other);
    while (!rc && sqlite3_step(s) == SQLITE_ROW) {
        const char *p = (const char *)sqlite3_column_text(s, 0);
        char serial[PF_SERIAL_MAX + 1];

        while (!rc && p && *p) {
            size_t len = strcspn(p, " \n");

            snprintf(serial, sizeof(serial), "%.*s", (int)len, p);
            if (pfs_ro_cohort_has(c, serial))
                rc = pf_error_set(err, PF_EEXIST,
                                  "terminal %s is already in rollout %" PRId64
                                  " (%s), which is still live",
                                  serial, other, kind);
            p = strchr(p, '\n');
            p = p ? p + 1 : NULL;
        }
    }
    sqlite3_finalize(s);
    return rc;
}

int pfs_store_rollout_create(struct pfs_store *st, const struct pfs_ro_def *d,
                             const struct pfs_bundle_rec *b, const char *def_json,
                             const struct pfs_actor *actor, int64_t now_ms, int64_t *id,
                             struct pfs_ro_plan_stats *stats, struct pf_error *err)
{
    sqlite3 *db = pfs_store_sqlite_db(st);
    struct pfs_ro_cohort co = {0};
    struct ro__cohort c = {0};
    size_t targets[PFS_RO_STAGES_MAX];
    struct timespec t0;
    const char *kind = pf_bundle_kind_names[b->kind];
    json_t *after = NULL, *tj;
    int rc;

    memset(stats, 0, sizeof(*stats));
    if ((rc = pfs_sqlite_begin(st, now_ms, err)))
        return rc;
    rc = pfs_store_sql_run(db,
                           "INSERT INTO rollouts (name, bundle, kind, version, definition, state,"
                           " stage, start_ms, deadline_ms, join_ms, created_ms, updated_ms, actor)"
                           " VALUES (?1,?2,?3,?4,?5,?6,0,?7,?8,?9,?9,?9,?10)",
                           "SSSSSSiiiS", d->name, b->id, kind, b->version, def_json,
                           d->start_ms > now_ms ? "scheduled" : "running", d->start_ms,
                           d->deadline_ms, now_ms, actor && actor->name ? actor->name : "-");
    if (rc) {
        pf_error_set(err, rc, "store: rollout: %s", sqlite3_errmsg(db));
        goto out;
    }
    *id = sqlite3_last_insert_rowid(db);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if ((rc = ro__cohort_select(db, d, b, -1, &co, err)))
        goto out;
    stats->cohort = (int64_t)co.n;
    stats->select_ms = ro__ms_since(&t0);
    if ((rc = pfs_ro_stage_targets(d, co.n, targets, err)) ||
        (rc = ro__overlap(db, kind, *id, &co, err)))
        goto out;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if ((rc = pfs_ro_cohort_order(&co, *id, targets, d->nstages))) {
        pf_error_set(err, rc, "rollout plan: %s", pf_strerror(rc));
        goto out;
    }
    ro__cohort_view(&co, &c);
    stats->order_ms = ro__ms_since(&t0);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    /* The first stage's members as rows, the later stages' as plan chunks: their
     * rows are written when their stage opens (pfs_store_rollout_plan_open). */
    if ((rc = ro__previous(db, b->kind, &co, &c, err)) ||
        (rc = ro__members_insert(db, *id, &c, 0, err)) ||
        (rc = ro__plan_write(db, *id, &c, d->nstages, err)))
        goto out;
    tj = json_array();
    for (size_t k = 0; !rc && k < d->nstages; k++) {
        const struct pfs_ro_stage *sd = &d->stages[k];
        int64_t n = (int64_t)(targets[k] - (k ? targets[k - 1] : 0));

        rc = pfs_store_sql_run(db,
                               "INSERT INTO rollout_stages (rollout, idx, size, target, soak_s,"
                               " gate, opened_ms) VALUES (?1,?2,?3,?4,?5,?6,?7)",
                               "iiSiiii", *id, (int64_t)k, sd->size, (int64_t)targets[k],
                               sd->soak_s, (int64_t)sd->gate,
                               k == 0 && d->start_ms <= now_ms ? now_ms : (int64_t)0);
        if (!rc)
            rc = ro__count_add(db, *id, (int)k, "pending", n);
        if (tj)
            json_array_append_new(tj, json_integer((json_int_t)targets[k]));
    }
    if (rc) {
        json_decref(tj);
        pf_error_set(err, rc, "store: stages: %s", sqlite3_errmsg(db));
        goto out;
    }
    after = json_pack("{s:I, s:s, s:s, s:s, s:s, s:I, s:o}", "id", (json_int_t)*id, "name", d->name,
                      "bundle", b->id, "kind", kind, "version", b->version, "members",
                      (json_int_t)c.n, "targets", tj ? tj : json_array());
    {
        char target[32];

        snprintf(target, sizeof(target), "rollout/%" PRId64, *id);
        rc = after ? pfs_store_audit_row(db, actor, now_ms, "rollout.create", target, after)
                   : PF_ENOMEM;
    }
    if (rc)
        pf_error_set(err, rc, "store: audit: %s", sqlite3_errmsg(db));
    stats->insert_ms = ro__ms_since(&t0);
out:
    json_decref(after);
    ro__cohort_free(&c);
    pfs_ro_cohort_release(&co);
    return pfs_sqlite_end(st, rc, err);
}

/* --- reading --- */

#define RO__COLS                                                                                   \
    "id, name, bundle, kind, version, definition, state, stage, start_ms, deadline_ms,"            \
    " pause_reason, pause_detail, pause_by, pause_ms, base, join_ms, created_ms, updated_ms,"      \
    " actor"

static int ro__read(sqlite3_stmt *s, struct pfs_rollout_rec *r)
{
    char buf[32];
    json_t *def, *base;
    struct pf_error err;
    int rc;

    memset(r, 0, sizeof(*r));
    r->id = sqlite3_column_int64(s, 0);
    ro__col(s, 1, r->name, sizeof(r->name));
    ro__col(s, 2, r->bundle, sizeof(r->bundle));
    ro__col(s, 3, buf, sizeof(buf));
    r->kind = ro__name_index(pf_bundle_kind_names, buf) < 0
                      ? PF_KIND_FIRMWARE
                      : ro__name_index(pf_bundle_kind_names, buf);
    ro__col(s, 4, r->version, sizeof(r->version));
    ro__col(s, 6, buf, sizeof(buf));
    r->state = ro__name_index(pfs_ro_state_names, buf) < 0
                       ? PFS_RO_ABORTED
                       : (enum pfs_ro_state)ro__name_index(pfs_ro_state_names, buf);
    r->stage = sqlite3_column_int(s, 7);
    r->start_ms = sqlite3_column_int64(s, 8);
    r->deadline_ms = sqlite3_column_int64(s, 9);
    ro__col(s, 10, r->pause_reason, sizeof(r->pause_reason));
    ro__col(s, 11, r->pause_detail, sizeof(r->pause_detail));
    ro__col(s, 12, r->pause_by, sizeof(r->pause_by));
    r->pause_ms = sqlite3_column_int64(s, 13);
    base = json_loads((const char *)sqlite3_column_text(s, 14), 0, NULL);
    for (int i = 0; base && i < PFS_ROM_COUNT; i++)
        r->base[i] = json_integer_value(json_object_get(base, pfs_ro_member_names[i]));
    json_decref(base);
    r->join_ms = sqlite3_column_int64(s, 15);
    r->created_ms = sqlite3_column_int64(s, 16);
    r->updated_ms = sqlite3_column_int64(s, 17);
    ro__col(s, 18, r->actor, sizeof(r->actor));
    def = json_loads((const char *)sqlite3_column_text(s, 5), 0, NULL);
    rc = def ? pfs_ro_def_parse(def, 0, &r->def, &err) : PF_EPARSE;
    json_decref(def);
    return rc ? PF_EIO : 0;
}

void pfs_rollout_rec_release(struct pfs_rollout_rec *r)
{
    pfs_ro_def_release(&r->def);
}

int pfs_store_rollout_get(struct pfs_store *st, int64_t id, struct pfs_rollout_rec *r)
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

int pfs_store_rollout_list(struct pfs_store *st, bool live_only, int limit, pfs_rollout_cb cb,
                           void *ctx)
{
    sqlite3_stmt *s;
    int rc = 0;

    if (sqlite3_prepare_v2(
                pfs_store_sqlite_db(st),
                live_only ? "SELECT " RO__COLS " FROM rollouts WHERE state IN " RO__LIVE_SQL
                            " ORDER BY id DESC LIMIT ?1"
                          : "SELECT " RO__COLS " FROM rollouts ORDER BY id DESC LIMIT ?1",
                -1, &s, NULL) != SQLITE_OK)
        return PF_EIO;
    sqlite3_bind_int(s, 1, limit);
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

int pfs_store_rollout_stages(struct pfs_store *st, int64_t id,
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
        ro__col(s, 1, g->size, sizeof(g->size));
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

int pfs_store_rollout_failures(struct pfs_store *st, int64_t id, pfs_ro_reason_cb cb, void *ctx)
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

#define RO__MEMBER_COLS                                                                            \
    "m.serial, m.stage, m.status, coalesce(m.offer,''), m.offered_ms, m.since_ms, m.attempts,"     \
    " coalesce(m.prev_bundle,''), coalesce(m.code,'')"

static void ro__member_read(sqlite3_stmt *s, struct pfs_ro_member_rec *m, bool joined)
{
    int st;

    memset(m, 0, sizeof(*m));
    ro__col(s, 0, m->serial, sizeof(m->serial));
    m->stage = sqlite3_column_int(s, 1);
    st = pfs_ro_member_parse((const char *)sqlite3_column_text(s, 2));
    m->status = st < 0 ? PFS_ROM_SKIPPED : (enum pfs_ro_member)st;
    ro__col(s, 3, m->offer, sizeof(m->offer));
    m->offered_ms = sqlite3_column_int64(s, 4);
    m->since_ms = sqlite3_column_int64(s, 5);
    m->attempts = sqlite3_column_int(s, 6);
    ro__col(s, 7, m->prev_bundle, sizeof(m->prev_bundle));
    ro__col(s, 8, m->code, sizeof(m->code));
    if (joined) {
        m->online = sqlite3_column_int(s, 9) != 0;
        ro__col(s, 10, m->tz, sizeof(m->tz));
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
        struct ro__cohort c;
        const char *prevs = (const char *)sqlite3_column_text(s, 1);

        if (k < 0 || k >= PFS_RO_STAGES_MAX || taken[k] >= want)
            continue;
        rc = ro__plan_decode(k, prevs ? prevs : "", (const char *)sqlite3_column_text(s, 2),
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
        ro__cohort_free(&c);
    }
    sqlite3_finalize(s);
    return rc;
}

int pfs_store_rollout_members(struct pfs_store *st, int64_t id, int status, int stage,
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
    if ((rc = pfs_store_rollout_get(st, id, &r)))
        return rc;
    planned = pfs_ro_state_live(r.state) && r.state != PFS_RO_ROLLING_BACK ? PFS_ROM_PENDING
                                                                           : PFS_ROM_SKIPPED;
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

int pfs_store_rollout_member(struct pfs_store *st, int64_t id, const char *serial,
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
        struct ro__plan_hit h;
        int n = 0;

        if (sqlite3_prepare_v2(pfs_store_sqlite_db(st),
                               "SELECT " RO__PLAN_COLS " FROM rollout_plan p WHERE p.rollout = ?1"
                               " AND p.first <= ?2 AND p.last >= ?2",
                               -1, &s, NULL) != SQLITE_OK)
            return PF_EIO;
        sqlite3_bind_int64(s, 1, id);
        sqlite3_bind_text(s, 2, serial, -1, SQLITE_STATIC);
        rc = ro__plan_find(s, serial, false, &h, 1, &n);
        sqlite3_finalize(s);
        if (rc || !n)
            return rc ? rc : PF_ENOENT;
        if ((rc = pfs_store_rollout_get(st, id, &r)))
            return rc;
        memset(m, 0, sizeof(*m));
        snprintf(m->serial, sizeof(m->serial), "%s", serial);
        m->stage = h.stage;
        m->status = pfs_ro_state_live(r.state) && r.state != PFS_RO_ROLLING_BACK ? PFS_ROM_PENDING
                                                                                 : PFS_ROM_SKIPPED;
        pfs_rollout_rec_release(&r);
        snprintf(m->prev_bundle, sizeof(m->prev_bundle), "%s", h.prev);
        return 0;
    }
    return rc == SQLITE_ROW ? 0 : PF_EIO;
}

int pfs_store_rollout_candidates(struct pfs_store *st, int64_t id, enum pfs_ro_member status,
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

int pfs_store_rollout_offer(struct pfs_store *st, int64_t id, const struct pfs_offer_rec *o,
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

int pfs_store_rollout_member_fail(struct pfs_store *st, int64_t id, const char *serial,
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

int pfs_store_rollout_on_event(struct pfs_tx *tx, const char *serial,
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
    if (pfs_ro_member_next((enum pfs_ro_member)cur, ev, &to) != 0 || to == (enum pfs_ro_member)cur)
        return 0;
    keep_since =
            pfs_ro_member_in_progress((enum pfs_ro_member)cur) && pfs_ro_member_in_progress(to);
    code = e->code[0] ? e->code : e->reason;
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

int pfs_store_rollout_clocks(struct pfs_store *st, int64_t id, unsigned status_mask,
                             pfs_ro_clock_cb cb, void *ctx)
{
    sqlite3_stmt *s;
    int rc = 0;

    if (sqlite3_prepare_v2(
                pfs_store_sqlite_db(st),
                "SELECT m.serial, m.offered_ms, m.since_ms, m.status = 'offered' AND " RO__ANSWERED
                " FROM rollout_members m WHERE m.rollout = ?1 AND"
                " m.status = ?2",
                -1, &s, NULL) != SQLITE_OK)
        return PF_EIO;
    sqlite3_bind_int64(s, 1, id);
    for (int k = 0; !rc && k < PFS_ROM_COUNT; k++) {
        if (!(status_mask & (1u << k)))
            continue;
        sqlite3_bind_text(s, 2, pfs_ro_member_names[k], -1, SQLITE_STATIC);
        while (!rc && (rc = sqlite3_step(s)) == SQLITE_ROW) {
            struct pfs_ro_member_clock c = {(enum pfs_ro_member)k, sqlite3_column_int64(s, 1),
                                            sqlite3_column_int64(s, 2),
                                            sqlite3_column_int(s, 3) != 0};
            const char *serial = (const char *)sqlite3_column_text(s, 0);

            rc = serial ? cb(ctx, serial, &c) : PF_ENOMEM;
        }
        rc = rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : rc > 0 ? PF_EIO : rc;
        sqlite3_reset(s);
    }
    sqlite3_finalize(s);
    return rc;
}

int pfs_store_rollout_moves(struct pfs_store *st, int64_t id, struct pfs_ro_move *mv, size_t n,
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
                               " since_ms = ?6 WHERE rollout = ?1 AND serial = ?2 AND status = ?3",
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

int pfs_store_rollout_touch(struct pfs_store *st, int64_t id, const char *serial,
                            enum pfs_ro_member status, int64_t since_ms)
{
    return pfs_store_sql_run(pfs_store_sqlite_db(st),
                             "UPDATE rollout_members SET since_ms = ?4 WHERE rollout = ?1 AND"
                             " serial = ?2 AND status = ?3",
                             "iSSi", id, serial, pfs_ro_member_names[status], since_ms);
}
#undef RO__ANSWERED

int pfs_store_rollout_unhealthy(struct pfs_store *st, int64_t id, int max_stage, int64_t *n)
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

int pfs_store_rollout_pending_online(struct pfs_store *st, int64_t id, int max_stage, bool *any)
{
    sqlite3_stmt *s;
    int rc;

    *any = false;
    if (sqlite3_prepare_v2(pfs_store_sqlite_db(st),
                           "SELECT 1 FROM rollout_members m JOIN device_state d ON"
                           " d.serial = m.serial AND d.online = 1 WHERE m.rollout = ?1 AND"
                           " m.status IN ('pending','revert_pending') AND m.stage <= ?2 LIMIT 1",
                           -1, &s, NULL) != SQLITE_OK)
        return PF_EIO;
    sqlite3_bind_int64(s, 1, id);
    sqlite3_bind_int(s, 2, max_stage);
    rc = sqlite3_step(s);
    *any = rc == SQLITE_ROW;
    sqlite3_finalize(s);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : PF_EIO;
}

/* Outcome totals now, as the JSON object stored in rollouts.base. */
static char *ro__base_json(sqlite3 *db, int64_t id)
{
    sqlite3_stmt *s;
    json_t *o = json_object();
    char *text;

    if (!o || sqlite3_prepare_v2(db,
                                 "SELECT status, sum(n) FROM rollout_counts WHERE rollout = ?1"
                                 " GROUP BY status",
                                 -1, &s, NULL) != SQLITE_OK) {
        json_decref(o);
        return NULL;
    }
    sqlite3_bind_int64(s, 1, id);
    while (sqlite3_step(s) == SQLITE_ROW)
        json_object_set_new(o, (const char *)sqlite3_column_text(s, 0),
                            json_integer(sqlite3_column_int64(s, 1)));
    sqlite3_finalize(s);
    text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(o);
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

int pfs_store_rollout_change(struct pfs_store *st, int64_t id, const struct pfs_ro_change *c,
                             const struct pfs_actor *actor, int64_t now_ms, struct pf_error *err)
{
    sqlite3 *db = pfs_store_sqlite_db(st);
    sqlite3_stmt *s;
    char state[32] = "", target[32];
    char *base = NULL;
    int cur, rc;
    json_t *after;

    if ((rc = pfs_sqlite_begin(st, now_ms, err)))
        return rc;
    if ((rc = ro__prepare(db, "SELECT state FROM rollouts WHERE id = ?1", &s, err)))
        goto out;
    sqlite3_bind_int64(s, 1, id);
    if (sqlite3_step(s) == SQLITE_ROW)
        ro__col(s, 0, state, sizeof(state));
    sqlite3_finalize(s);
    cur = ro__name_index(pfs_ro_state_names, state);
    if (cur < 0) {
        rc = pf_error_set(err, PF_ENOENT, "no rollout %" PRId64, id);
        goto out;
    }
    if (!(c->from_mask & (1u << cur))) {
        rc = pf_error_set(err, PF_ESTATE, "rollout %" PRId64 " is %s: cannot %s it", id, state,
                          c->action);
        goto out;
    }
    if (c->to == PFS_RO_RUNNING && cur == PFS_RO_PAUSED && !(base = ro__base_json(db, id))) {
        rc = pf_error_set(err, PF_ENOMEM, "out of memory");
        goto out;
    }
    rc = pfs_store_sql_run(db,
                           "UPDATE rollouts SET state = ?2, updated_ms = ?3,"
                           " stage = CASE WHEN ?4 >= 0 THEN ?4 ELSE stage END,"
                           " pause_reason = CASE WHEN ?2 = 'paused' THEN ?5 ELSE pause_reason END,"
                           " pause_detail = CASE WHEN ?2 = 'paused' THEN ?6 ELSE pause_detail END,"
                           " pause_by = CASE WHEN ?2 = 'paused' THEN ?7 ELSE pause_by END,"
                           " pause_ms = CASE WHEN ?2 = 'paused' THEN ?3 ELSE pause_ms END,"
                           " base = coalesce(?8, base) WHERE id = ?1",
                           "iSiissSs", id, pfs_ro_state_names[c->to], now_ms, (int64_t)c->stage,
                           c->reason, c->detail, actor && actor->name ? actor->name : "posfleetd",
                           base);
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
    if (!rc &&
        (c->to == PFS_RO_ABORTED || c->to == PFS_RO_COMPLETED || c->to == PFS_RO_ROLLING_BACK))
        rc = ro__members_on(db, id, PFS_ROE_SKIP, NULL, now_ms);
    if (!rc &&
        (c->to == PFS_RO_ABORTED || c->to == PFS_RO_COMPLETED || c->to == PFS_RO_ROLLING_BACK)) {
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
        after = json_pack("{s:s, s:s, s:s*, s:s*}", "from", state, "to", pfs_ro_state_names[c->to],
                          "reason", c->reason, "bundle", c->override_bundle);
        snprintf(target, sizeof(target), "rollout/%" PRId64, id);
        {
            char action[48];

            snprintf(action, sizeof(action), "rollout.%s", c->action);
            rc = after ? pfs_store_audit_row(db, actor, now_ms, action, target, after) : PF_ENOMEM;
        }
        json_decref(after);
        if (rc)
            pf_error_set(err, rc, "store: audit: %s", sqlite3_errmsg(db));
    }
out:
    free(base);
    return pfs_sqlite_end(st, rc, err);
}

int pfs_store_rollout_settle(struct pfs_store *st, int64_t id, int idx, int64_t settled_ms)
{
    return pfs_store_sql_run(pfs_store_sqlite_db(st),
                             "UPDATE rollout_stages SET settled_ms = ?3 WHERE rollout = ?1 AND"
                             " idx = ?2",
                             "iii", id, (int64_t)idx, settled_ms);
}

/* Adds serial to rollout id at stage (pending) unless it is a member of a live
 * rollout of the kind already; *added tells. */
static int ro__member_join(sqlite3 *db, int64_t id, const char *kind, int stage, const char *serial,
                           const char *prev, bool *added)
{
    sqlite3_stmt *s;
    char cur[24] = "";
    bool taken;
    int rc;

    *added = false;
    if ((rc = ro__plan_pull(db, kind, serial)))
        return rc;
    if (sqlite3_prepare_v2(db,
                           "SELECT 1 FROM rollouts r JOIN rollout_members m ON m.rollout = r.id"
                           " AND m.serial = ?2 WHERE r.state IN " RO__LIVE_SQL
                           " AND r.kind = ?1 AND m.status NOT IN ('skipped','swapped')",
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
        ro__col(s, 0, cur, sizeof(cur));
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
        rc = ro__count_add(db, id, stage, "pending", 1);
    if (!rc)
        *added = true;
    return rc;
}

int pfs_store_rollout_join(struct pfs_store *st, const struct pfs_rollout_rec *r, int64_t now_ms,
                           int64_t *added)
{
    sqlite3 *db = pfs_store_sqlite_db(st);
    struct pfs_ro_cohort co = {0};
    struct ro__cohort c = {0};
    struct pfs_bundle_rec b;
    const char *kind = pf_bundle_kind_names[r->kind];
    int rc;

    *added = 0;
    if ((rc = pfs_store_bundle_get(st, r->bundle, &b)))
        return rc;
    if ((rc = pfs_sqlite_begin(st, now_ms, NULL)))
        return rc;
    rc = ro__cohort_select(db, &r->def, &b, r->join_ms, &co, NULL);
    ro__cohort_view(&co, &c);
    if (!rc)
        rc = ro__previous(db, r->kind, &co, &c, NULL);
    for (size_t i = 0; !rc && i < c.n; i++) {
        const char *prev = c.prev[i] && c.prev_ids ? c.prev_ids[c.prev[i] - 1] : "";
        bool ok;

        rc = ro__member_join(db, r->id, kind, r->stage, c.serial[i], prev, &ok);
        *added += ok;
    }
    if (!rc)
        rc = pfs_store_sql_run(db, "UPDATE rollouts SET join_ms = ?2 WHERE id = ?1", "ii", r->id,
                               now_ms);
    ro__cohort_free(&c);
    pfs_ro_cohort_release(&co);
    return pfs_sqlite_end(st, rc, NULL);
}

int pfs_store_rollout_swap(void *ctx, struct pfs_tx *tx, const char *old_serial,
                           const char *new_serial, struct pf_error *err)
{
    sqlite3 *db = pfs_sqlite_tx_db(tx);
    sqlite3_stmt *s;
    int rc = 0;

    (void)ctx;
    if ((rc = ro__plan_pull(db, NULL, old_serial)))
        return pf_error_set(err, rc, "store: rollout plan: %s", sqlite3_errmsg(db));
    if (sqlite3_prepare_v2(db,
                           "SELECT r.id, r.kind, r.stage, r.state, m.status,"
                           " coalesce(m.prev_bundle,'') FROM rollouts r JOIN rollout_members m"
                           " ON m.rollout = r.id AND m.serial = ?1 WHERE r.state IN " RO__LIVE_SQL,
                           -1, &s, NULL) != SQLITE_OK)
        return pf_error_set(err, PF_EIO, "store: %s", sqlite3_errmsg(db));
    sqlite3_bind_text(s, 1, old_serial, -1, SQLITE_STATIC);
    while (!rc && sqlite3_step(s) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(s, 0);
        char kind[24], state[24], prev[PF_B2_HEX_LEN + 1];
        int stage = sqlite3_column_int(s, 2);
        int st = pfs_ro_member_parse((const char *)sqlite3_column_text(s, 4));
        bool added;

        ro__col(s, 1, kind, sizeof(kind));
        ro__col(s, 3, state, sizeof(state));
        ro__col(s, 5, prev, sizeof(prev));
        enum pfs_ro_member to;

        /* A member with an outcome keeps it (rollout_member.h). */
        if (st >= 0 && pfs_ro_member_next((enum pfs_ro_member)st, PFS_ROE_SWAP, &to) == 0)
            rc = pfs_store_sql_run(db,
                                   "UPDATE rollout_members SET status = ?4, code = ?3"
                                   " WHERE rollout = ?1 AND serial = ?2 AND status = ?5",
                                   "iSSSS", id, old_serial, new_serial, pfs_ro_member_names[to],
                                   pfs_ro_member_names[st]);
        if (!rc && strcmp(state, "rolling_back") != 0)
            rc = ro__member_join(db, id, kind, stage, new_serial, prev, &added);
        if (rc)
            pf_error_set(err, rc, "store: moving rollout %" PRId64 " membership: %s", id,
                         sqlite3_errmsg(db));
    }
    sqlite3_finalize(s);
    return rc;
}

int pfs_store_rollout_check_counts(struct pfs_store *st, int64_t id, bool *exact)
{
    int64_t differ = -1;
    int rc = pfs_store_sql_int(pfs_store_sqlite_db(st),
                               "SELECT count(*) FROM (SELECT stage, status, sum(n) AS n FROM"
                               " (SELECT stage, status, count(*) AS n FROM rollout_members WHERE"
                               " rollout = ?1 GROUP BY 1, 2 UNION ALL SELECT p.stage, CASE WHEN"
                               " r.state IN " RO__PLANNING_SQL " THEN 'pending' ELSE 'skipped'"
                               " END, sum(p.n) FROM rollout_plan p JOIN rollouts r ON"
                               " r.id = p.rollout WHERE p.rollout = ?1 GROUP BY 1)"
                               " GROUP BY 1, 2) a FULL JOIN"
                               " (SELECT stage, status, n FROM rollout_counts WHERE rollout = ?1"
                               " AND n <> 0) b USING (stage, status) WHERE a.n IS NOT b.n",
                               &differ, "i", id);

    *exact = !rc && differ == 0;
    return rc;
}
