/*
 * store_rollout_plan.c - member rows and plan chunks in the SQLite store
 * (migration 009, docs/rollouts.md "Membership"): the first stage's members
 * are written as rows, the later stages' as chunks of up to 4,096 serials,
 * turned into rows when their stage opens (pfs_sqlite_rollout_plan_open).
 */
#include "store/store_rollouts.h"

#include <inttypes.h>
#include <jansson.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pf/num.h"
#include "rollouts/rollout_member.h"
#include "rollouts/rollout_plan.h"
#include "store/sqlite/store_rollouts_internal.h"
#include "store/sqlite/store_sqlite_internal.h"
#include "store/sqlite/store_tx.h"

void pfs_store_ro_rows_free(struct pfs_store_ro_rows *c)
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

void pfs_store_ro_rows_view(const struct pfs_ro_cohort *co, struct pfs_store_ro_rows *c)
{
    memset(c, 0, sizeof(*c));
    c->serial = co->serial;
    c->prev = co->version;
    c->stage = co->stage;
    c->n = co->n;
}

int pfs_store_ro_count_add(sqlite3 *db, int64_t id, int stage, const char *status, int64_t n)
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
    return pfs_store_ro_prepare(db, sql, s, err);
}

/* Binds rows[0..n) of c (a statement from ro__members_prepare for n rows) and runs it. */
static int ro__members_step(sqlite3 *db, sqlite3_stmt *s, const struct pfs_store_ro_rows *c,
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
int pfs_store_ro_members_insert(sqlite3 *db, int64_t id, const struct pfs_store_ro_rows *c,
                                int only, struct pf_error *err)
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
int pfs_store_ro_plan_write(sqlite3 *db, int64_t id, const struct pfs_store_ro_rows *c,
                            size_t nstages, struct pf_error *err)
{
    struct ro__buf lines = {0}, prevs = {0};
    uint16_t *local = calloc(c->nver + 1, sizeof(*local));
    sqlite3_stmt *ins = NULL;
    int rc = local ? 0 : pf_error_set(err, PF_ENOMEM, "out of memory");

    if (!rc)
        rc = pfs_store_ro_prepare(
                db,
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
int pfs_store_ro_plan_decode(int stage, const char *prevs, const char *members, size_t len,
                             struct pfs_store_ro_rows *c)
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
        uint64_t idx = 0;

        if (!(nl = strchr(p, '\n')))
            break;
        *nl = '\0';
        if ((sp = strchr(p, ' '))) {
            *sp = '\0';
            if (pf_parse_u64(sp + 1, 1, UINT16_MAX, &idx) != 0)
                idx = 0; /* not an index: no previous bundle */
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

int pfs_sqlite_rollout_plan_open(struct pfs_sqlite *st, int64_t id, int max_stage, int64_t max_rows,
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
    if ((rc = pfs_store_ro_prepare(db,
                                   "SELECT stage, seq, n, prevs, members FROM rollout_plan WHERE"
                                   " rollout = ?1 AND stage <= ?2 ORDER BY stage, seq LIMIT 1",
                                   &s, NULL)))
        goto out;
    sqlite3_bind_int64(s, 1, id);
    sqlite3_bind_int(s, 2, max_stage);
    while (!rc && done < max_rows && sqlite3_step(s) == SQLITE_ROW) {
        struct pfs_store_ro_rows c;
        int stage = sqlite3_column_int(s, 0);
        int64_t seq = sqlite3_column_int64(s, 1);
        const char *members = (const char *)sqlite3_column_text(s, 4);

        rc = pfs_store_ro_plan_decode(stage, (const char *)sqlite3_column_text(s, 3),
                                      members ? members : "", (size_t)sqlite3_column_bytes(s, 4),
                                      &c);
        sqlite3_reset(s);
        if (!rc)
            rc = pfs_store_ro_members_insert(db, id, &c, -1, NULL);
        if (!rc)
            rc = pfs_store_sql_run(db,
                                   "DELETE FROM rollout_plan WHERE rollout = ?1 AND stage = ?2"
                                   " AND seq = ?3",
                                   "iii", id, (int64_t)stage, seq);
        done += (int64_t)c.n;
        pfs_store_ro_rows_free(&c);
    }
    if (!rc)
        rc = ro__plan_left(db, id, max_stage, left);
out:
    sqlite3_finalize(s);
    return pfs_sqlite_end(st, rc, NULL);
}

/*
 * Looks serial up in the chunks s yields (rollout, stage, seq, n, prevs,
 * members), filling up to max hits. with_rest: also the chunk's text without
 * the serial's line (hit->members, the caller frees it).
 */
int pfs_store_ro_plan_find(sqlite3_stmt *s, const char *serial, bool with_rest,
                           struct pfs_store_ro_plan_hit *hits, int max, int *nhits)
{
    size_t slen = strlen(serial);

    *nhits = 0;
    while (*nhits < max && sqlite3_step(s) == SQLITE_ROW) {
        const char *text = (const char *)sqlite3_column_text(s, 5);
        const char *prevs = (const char *)sqlite3_column_text(s, 4);
        const char *p = text, *line = NULL, *end;
        struct pfs_store_ro_plan_hit *h = &hits[*nhits];

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
            char num[8];
            uint64_t idx = 0;

            snprintf(num, sizeof(num), "%.*s", (int)strcspn(line + slen + 1, "\n"),
                     line + slen + 1);
            if (pf_parse_u64(num, 1, UINT16_MAX, &idx) != 0)
                idx = 0;

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

/*
 * Moves serial out of the plan of every live rollout (of kind, or any when kind
 * is NULL) into a member row, pending in its planned stage (the counters
 * already count it so): the paths that handle one terminal (swap, join) then
 * find it as they find every other member.
 */
int pfs_store_ro_plan_pull(sqlite3 *db, const char *kind, const char *serial)
{
    struct pfs_store_ro_plan_hit hits[8];
    sqlite3_stmt *s;
    int n = 0, rc;

    if (sqlite3_prepare_v2(db,
                           "SELECT " PFS_STORE_RO_PLAN_COLS
                           " FROM rollout_plan p JOIN rollouts r ON"
                           " r.id = p.rollout WHERE r.state IN " PFS_STORE_RO_PLANNING_SQL " AND"
                           " (?1 IS NULL OR r.kind = ?1) AND p.first <= ?2 AND p.last >= ?2",
                           -1, &s, NULL) != SQLITE_OK)
        return PF_EIO;
    if (kind)
        sqlite3_bind_text(s, 1, kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, serial, -1, SQLITE_STATIC);
    rc = pfs_store_ro_plan_find(s, serial, true, hits, 8, &n);
    sqlite3_finalize(s);
    for (int i = 0; i < n; i++) {
        struct pfs_store_ro_plan_hit *h = &hits[i];

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
 * the first one found, and the rollout as name.
 */
int pfs_store_ro_plan_overlap(sqlite3 *db, int64_t other, const char *name, const char *kind,
                              const struct pfs_ro_cohort *c, struct pf_error *err)
{
    sqlite3_stmt *s;
    int rc = 0;

    if ((rc = pfs_store_ro_prepare(
                 db,
                 "SELECT p.members FROM rollout_plan p JOIN rollouts r ON"
                 " r.id = p.rollout WHERE p.rollout = ?1 AND r.state IN " PFS_STORE_RO_PLANNING_SQL,
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
                                  "terminal %s is already in %s (%s), which is still live", serial,
                                  name, kind);
            p = strchr(p, '\n');
            p = p ? p + 1 : NULL;
        }
    }
    sqlite3_finalize(s);
    return rc;
}
