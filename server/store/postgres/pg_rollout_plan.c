/*
 * pg_rollout_plan.c - planning a rollout in the PostgreSQL store (the
 * SQLite side is store_rollout_cohort.c and store_rollout_plan.c): the
 * candidate terminals are read in serial order through a cursor and handed
 * to rollout_plan.h, which decides the cohort, its order and its stages; the
 * overlap with live rollouts is asked of the database with the cohort as one
 * array; the first stage's members are written in one INSERT ... SELECT FROM
 * unnest(...), the later stages' as plan chunks of 4,096 serials (the SQLite
 * format), turned into rows when their stage opens.
 */
#include "store/postgres/pg_rollout_plan.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pf/num.h"
#include "rollouts/rollout_member.h"
#include "store/postgres/pg_rollouts_internal.h"
#include "store/record_json.h"
#include "store/store_accounts.h"

/* --- rows and plan chunks --- */

void pfs_pgro_rows_free(struct pfs_pgro_rows *c)
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

void pfs_pgro_rows_view(const struct pfs_ro_cohort *co, struct pfs_pgro_rows *c)
{
    memset(c, 0, sizeof(*c));
    c->serial = co->serial;
    c->prev = co->version;
    c->stage = co->stage;
    c->n = co->n;
}

const char *pfs_pgro_rows_prev(const struct pfs_pgro_rows *c, size_t i)
{
    return c->prev[i] && c->prev_ids && c->prev[i] <= c->nver ? c->prev_ids[c->prev[i] - 1] : "";
}

/* Rows per INSERT: bounds the size of one statement's arrays. */
#define RO__INSERT_BATCH 65536

static int ro__insert_flush(struct pfs_pg *pg, const char *id, struct pfs_pgro_buf *serials,
                            struct pfs_pgro_buf *stages, struct pfs_pgro_buf *prevs,
                            const char *prev_ids, struct pf_error *err)
{
    const char *p[5] = {id, serials->p, stages->p, prevs->p, prev_ids};
    int rc;

    if (pfs_pgro_buf_add(serials, "}", 1) || pfs_pgro_buf_add(stages, "}", 1) ||
        pfs_pgro_buf_add(prevs, "}", 1))
        return pf_error_set(err, PF_ENOMEM, "out of memory");
    rc = pfs_pg_exec(pg,
                     "INSERT INTO rollout_members (rollout, serial, stage, status, prev_bundle)"
                     " SELECT $1::bigint, u.s, u.g, 'pending', ($5::text[])[nullif(u.v, 0)]"
                     " FROM unnest($2::text[], $3::int[], $4::int[]) AS u(s, g, v)",
                     5, p, err);
    serials->len = stages->len = prevs->len = 0;
    return rc ? pf_error_prefix(err, "store: rollout members"), rc : 0;
}

int pfs_pgro_members_insert(struct pfs_pg *pg, int64_t id, const struct pfs_pgro_rows *c, int only,
                            struct pf_error *err)
{
    struct pfs_pgro_buf serials = {0}, stages = {0}, prevs = {0}, ids = {0};
    char idt[PFS_PG_I64_LEN];
    size_t n = 0;
    int rc = pfs_pgro_buf_add(&ids, "{", 1);

    pfs_pg_i64(idt, id);
    for (size_t k = 0; !rc && k < c->nver; k++)
        rc = pfs_pgro_buf_elem(&ids, c->prev_ids[k][0] ? c->prev_ids[k] : NULL, k == 0);
    if (!rc)
        rc = pfs_pgro_buf_add(&ids, "}", 1);
    for (size_t i = 0; !rc && i <= c->n; i++) {
        if (i < c->n) {
            char num[16];

            if (only >= 0 && c->stage[i] != only)
                continue;
            if (!n)
                rc = pfs_pgro_buf_add(&serials, "{", 1) || pfs_pgro_buf_add(&stages, "{", 1) ||
                                     pfs_pgro_buf_add(&prevs, "{", 1)
                             ? PF_ENOMEM
                             : 0;
            snprintf(num, sizeof(num), "%s%u", n ? "," : "", (unsigned)c->stage[i]);
            if (!rc)
                rc = pfs_pgro_buf_elem(&serials, c->serial[i], n == 0) ||
                                     pfs_pgro_buf_add(&stages, num, strlen(num))
                             ? PF_ENOMEM
                             : 0;
            snprintf(num, sizeof(num), "%s%u", n ? "," : "",
                     c->prev[i] <= c->nver ? (unsigned)c->prev[i] : 0u);
            if (!rc)
                rc = pfs_pgro_buf_add(&prevs, num, strlen(num));
            if (rc) {
                rc = pf_error_set(err, PF_ENOMEM, "out of memory");
                break;
            }
            if (++n < RO__INSERT_BATCH)
                continue;
        }
        if (n)
            rc = ro__insert_flush(pg, idt, &serials, &stages, &prevs, ids.p, err);
        n = 0;
    }
    free(serials.p);
    free(stages.p);
    free(prevs.p);
    free(ids.p);
    return rc;
}

#define RO__PLAN_CHUNK 4096
/* Chunks per INSERT (about 3 MB of text a statement). */
#define RO__PLAN_BATCH 64

/* The chunks gathered for one INSERT ... SELECT FROM unnest(...). */
struct ro__chunks {
    struct pfs_pgro_buf stage, seq, n, first, last, prevs, members;
    int count;
};

static void ro__chunks_free(struct ro__chunks *b)
{
    free(b->stage.p);
    free(b->seq.p);
    free(b->n.p);
    free(b->first.p);
    free(b->last.p);
    free(b->prevs.p);
    free(b->members.p);
}

static int ro__chunks_add(struct ro__chunks *b, size_t stage, int64_t seq, int64_t n,
                          const char *first, const char *last, const char *prevs,
                          const char *members)
{
    char num[64];
    bool one = b->count == 0;
    int rc;

    if (one) {
        b->stage.len = b->seq.len = b->n.len = b->first.len = b->last.len = b->prevs.len =
                b->members.len = 0;
    }
    rc = pfs_pgro_buf_add(&b->stage, one ? "{" : ",", 1);
    snprintf(num, sizeof(num), "%zu", stage);
    rc = rc || pfs_pgro_buf_add(&b->stage, num, strlen(num));
    rc = rc || pfs_pgro_buf_add(&b->seq, one ? "{" : ",", 1);
    snprintf(num, sizeof(num), "%lld", (long long)seq);
    rc = rc || pfs_pgro_buf_add(&b->seq, num, strlen(num));
    rc = rc || pfs_pgro_buf_add(&b->n, one ? "{" : ",", 1);
    snprintf(num, sizeof(num), "%lld", (long long)n);
    rc = rc || pfs_pgro_buf_add(&b->n, num, strlen(num));
    rc = rc || (one && pfs_pgro_buf_add(&b->first, "{", 1)) ||
         pfs_pgro_buf_elem(&b->first, first, one);
    rc = rc || (one && pfs_pgro_buf_add(&b->last, "{", 1)) ||
         pfs_pgro_buf_elem(&b->last, last, one);
    rc = rc || (one && pfs_pgro_buf_add(&b->prevs, "{", 1)) ||
         pfs_pgro_buf_elem(&b->prevs, prevs, one);
    rc = rc || (one && pfs_pgro_buf_add(&b->members, "{", 1)) ||
         pfs_pgro_buf_elem(&b->members, members, one);
    b->count++;
    return rc ? PF_ENOMEM : 0;
}

static int ro__chunks_flush(struct pfs_pg *pg, int64_t id, struct ro__chunks *b,
                            struct pf_error *err)
{
    char a[PFS_PG_I64_LEN];
    struct pfs_pgro_buf *all[7] = {&b->stage, &b->seq,   &b->n,      &b->first,
                                   &b->last,  &b->prevs, &b->members};
    const char *p[8];
    int rc;

    if (!b->count)
        return 0;
    for (int i = 0; i < 7; i++) {
        if (pfs_pgro_buf_add(all[i], "}", 1))
            return pf_error_set(err, PF_ENOMEM, "out of memory");
        p[i + 1] = all[i]->p;
    }
    p[0] = pfs_pg_i64(a, id);
    b->count = 0;
    rc = pfs_pg_exec(pg,
                     "INSERT INTO rollout_plan (rollout, stage, seq, n, first, last, prevs,"
                     " members) SELECT $1::bigint, u.* FROM unnest($2::int[], $3::int[],"
                     " $4::int[], $5::text[], $6::text[], $7::text[], $8::text[]) AS u",
                     8, p, err);
    return rc ? pf_error_prefix(err, "store: rollout plan"), rc : 0;
}

/* Writes the members of stages 1.. of c as plan chunks (store_rollout_plan.c
 * says the format), RO__PLAN_BATCH chunks an INSERT. */
int pfs_pgro_plan_write(struct pfs_pg *pg, int64_t id, const struct pfs_pgro_rows *c,
                        size_t nstages, struct pf_error *err)
{
    struct pfs_pgro_buf lines = {0}, prevs = {0};
    struct ro__chunks batch = {0};
    uint16_t *local = calloc(c->nver + 1, sizeof(*local));
    int rc = local ? 0 : pf_error_set(err, PF_ENOMEM, "out of memory");

    for (size_t k = 1; !rc && k < nstages; k++) {
        const char *first = NULL, *last = NULL;
        int64_t seq = 0, n = 0;
        uint16_t nprev = 0;

        for (size_t i = 0; !rc && i <= c->n; i++) {
            if (i < c->n) {
                const char *prev = pfs_pgro_rows_prev(c, i);
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
                    rc = pfs_pgro_buf_add(&prevs, prev, strlen(prev)) ||
                                         pfs_pgro_buf_add(&prevs, "\n", 1)
                                 ? PF_ENOMEM
                                 : 0;
                }
                if (*prev)
                    snprintf(idx, sizeof(idx), " %u", (unsigned)local[c->prev[i]]);
                if (!rc && (pfs_pgro_buf_add(&lines, c->serial[i], strlen(c->serial[i])) ||
                            pfs_pgro_buf_add(&lines, idx, strlen(idx)) ||
                            pfs_pgro_buf_add(&lines, "\n", 1)))
                    rc = PF_ENOMEM;
                last = c->serial[i];
                if (++n < RO__PLAN_CHUNK)
                    continue;
            }
            if (rc || !n)
                break;
            rc = ro__chunks_add(&batch, k, seq++, n, first, last, prevs.p ? prevs.p : "", lines.p);
            if (!rc && batch.count == RO__PLAN_BATCH)
                rc = ro__chunks_flush(pg, id, &batch, err);
            n = 0;
        }
        if (rc == PF_ENOMEM)
            pf_error_set(err, rc, "out of memory");
    }
    if (!rc)
        rc = ro__chunks_flush(pg, id, &batch, err);
    ro__chunks_free(&batch);
    free(lines.p);
    free(prevs.p);
    free(local);
    return rc;
}

int pfs_pgro_plan_decode(int stage, const char *prevs, const char *members, size_t len,
                         struct pfs_pgro_rows *c)
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

int pfs_pgro_plan_find(const PGresult *res, const char *serial, bool with_rest,
                       struct pfs_pgro_plan_hit *hits, int max, int *nhits)
{
    size_t slen = strlen(serial);

    *nhits = 0;
    for (int row = 0; *nhits < max && row < PQntuples(res); row++) {
        const char *text = PQgetvalue(res, row, 5);
        const char *prevs = PQgetvalue(res, row, 4);
        const char *p = text, *line = NULL, *end;
        struct pfs_pgro_plan_hit *h = &hits[*nhits];

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
        h->rollout = pfs_pg_col_i64(res, row, 0);
        h->stage = (int)pfs_pg_col_i64(res, row, 1);
        h->seq = pfs_pg_col_i64(res, row, 2);
        h->n = pfs_pg_col_i64(res, row, 3) - 1;
        end = strchr(line, '\n') + 1;
        if (line[slen] == ' ') {
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

/* Moves serial out of the plan of every live rollout (of kind, or any) into a
 * pending member row in its planned stage (the counters count it so
 * already). The caller holds PFS_PGRO_LOCK. */
int pfs_pgro_plan_pull(struct pfs_pg *pg, const char *kind, const char *serial,
                       struct pf_error *err)
{
    struct pfs_pgro_plan_hit hits[8];
    const char *p[2] = {kind, serial};
    PGresult *res = NULL;
    int n = 0, rc;

    if ((rc = pfs_pg_query(pg,
                           "SELECT " PFS_PGRO_PLAN_COLS " FROM rollout_plan p JOIN rollouts r ON"
                           " r.id = p.rollout WHERE r.state IN " PFS_PGRO_PLANNING_SQL " AND"
                           " ($1::text IS NULL OR r.kind = $1) AND p.first" PFS_PGRO_C " <= $2"
                           " AND p.last" PFS_PGRO_C " >= $2 ORDER BY p.rollout, p.stage, p.seq"
                           " FOR UPDATE OF p",
                           2, p, &res, err)))
        return rc;
    rc = pfs_pgro_plan_find(res, serial, true, hits, 8, &n);
    PQclear(res);
    if (rc)
        return pf_error_set(err, rc, "out of memory");
    for (int i = 0; i < n; i++) {
        struct pfs_pgro_plan_hit *h = &hits[i];
        char a[PFS_PG_I64_LEN], b[PFS_PG_I64_LEN], s[PFS_PG_I64_LEN], m[PFS_PG_I64_LEN];
        const char *q[5] = {pfs_pg_i64(a, h->rollout), pfs_pg_i64(b, h->stage),
                            pfs_pg_i64(s, h->seq), pfs_pg_i64(m, h->n), h->members};
        const char *ins[4] = {q[0], serial, q[1], pfs_pgro_nz(h->prev)};

        if (!rc && h->n > 0)
            rc = pfs_pg_exec(pg,
                             "UPDATE rollout_plan SET n = $4::int, members = $5 WHERE"
                             " rollout = $1::bigint AND stage = $2::int AND seq = $3::int",
                             5, q, err);
        else if (!rc)
            rc = pfs_pg_exec(pg,
                             "DELETE FROM rollout_plan WHERE rollout = $1::bigint AND"
                             " stage = $2::int AND seq = $3::int",
                             3, q, err);
        if (!rc)
            rc = pfs_pg_exec(pg,
                             "INSERT INTO rollout_members (rollout, serial, stage, status,"
                             " prev_bundle) VALUES ($1::bigint,$2,$3::int,'pending',$4::text)",
                             4, ins, err);
        free(h->members);
    }
    return rc;
}

int pfs_pgro_plan_overlap(struct pfs_pg *pg, int64_t other, const char *name, const char *kind,
                          const struct pfs_ro_cohort *c, struct pf_error *err)
{
    char a[PFS_PG_I64_LEN];
    const char *p[1] = {pfs_pg_i64(a, other)};
    PGresult *res = NULL;
    int rc;

    if ((rc = pfs_pg_query(pg,
                           "SELECT p.members FROM rollout_plan p JOIN rollouts r ON"
                           " r.id = p.rollout WHERE p.rollout = $1::bigint AND r.state "
                           "IN " PFS_PGRO_PLANNING_SQL " ORDER BY p.stage, p.seq",
                           1, p, &res, err)))
        return rc;
    for (int row = 0; !rc && row < PQntuples(res); row++) {
        const char *q = PQgetvalue(res, row, 0);
        char serial[PF_SERIAL_MAX + 1];

        while (!rc && q && *q) {
            size_t len = strcspn(q, " \n");

            snprintf(serial, sizeof(serial), "%.*s", (int)len, q);
            if (pfs_ro_cohort_has(c, serial))
                rc = pf_error_set(err, PF_EEXIST,
                                  "terminal %s is already in %s (%s), which is still live", serial,
                                  name, kind);
            q = strchr(q, '\n');
            q = q ? q + 1 : NULL;
        }
    }
    PQclear(res);
    return rc;
}

int pfs_pgro_member_join(struct pfs_pg *pg, int64_t id, const char *kind, int stage,
                         const char *serial, const char *prev, bool *added, struct pf_error *err)
{
    char a[PFS_PG_I64_LEN], g[PFS_PG_I64_LEN], cur[24] = "";
    const char *pk[2] = {kind, serial};
    const char *pm[2] = {pfs_pg_i64(a, id), serial};
    PGresult *res = NULL;
    bool taken;
    int rc;

    *added = false;
    pfs_pg_i64(g, stage);
    if ((rc = pfs_pgro_plan_pull(pg, kind, serial, err)))
        return rc;
    if ((rc = pfs_pg_query(pg,
                           "SELECT 1 FROM rollouts r JOIN rollout_members m ON m.rollout = r.id"
                           " AND m.serial = $2 WHERE r.state IN " PFS_PGRO_LIVE_SQL
                           " AND r.kind = $1 AND m.status NOT IN " PFS_PGRO_RELEASED_SQL,
                           2, pk, &res, err)))
        return rc;
    taken = PQntuples(res) > 0;
    PQclear(res);
    if (taken)
        return 0;
    if ((rc = pfs_pg_query(pg,
                           "SELECT status FROM rollout_members WHERE rollout = $1::bigint AND"
                           " serial = $2",
                           2, pm, &res, err)))
        return rc;
    if (PQntuples(res) == 1)
        (void)!pfs_pg_col_text(res, 0, 0, cur, sizeof(cur));
    PQclear(res);
    if (cur[0]) { /* skipped or swapped before: back in, through the counting trigger */
        int from = pfs_ro_member_parse(cur);
        enum pfs_ro_member to;

        if (from < 0 || pfs_ro_member_next((enum pfs_ro_member)from, PFS_ROE_REJOIN, &to) != 0)
            return 0; /* a member of this rollout already */
        {
            const char *p[5] = {pm[0], serial, g, pfs_ro_member_names[to], cur};

            rc = pfs_pg_exec(pg,
                             "UPDATE rollout_members SET status = $4, stage = $3::int,"
                             " offer = NULL, code = NULL WHERE rollout = $1::bigint AND"
                             " serial = $2 AND status = $5",
                             5, p, err);
        }
    } else {
        const char *p[4] = {pm[0], serial, g, pfs_pgro_nz(prev)};

        rc = pfs_pg_exec(pg,
                         "INSERT INTO rollout_members (rollout, serial, stage, status,"
                         " prev_bundle) VALUES ($1::bigint,$2,$3::int,'pending',$4::text)",
                         4, p, err);
        if (!rc)
            rc = pfs_pgro_count_add(pg, id, stage, "pending", 1, err);
    }
    if (!rc)
        *added = true;
    return rc;
}

/* --- the cohort: candidate terminals for the rules of rollout_plan.h --- */

static double ro__ms_since(const struct timespec *t0)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - t0->tv_sec) * 1e3 + (double)(t.tv_nsec - t0->tv_nsec) / 1e6;
}

/* Column c of row r, NULL when SQL NULL (what sqlite3_column_text gives). */
static const char *ro__text(const PGresult *res, int r, int c)
{
    return PQgetisnull(res, r, c) ? NULL : PQgetvalue(res, r, c);
}

/* Every field a rule may ask about, one joined row per device, in serial
 * order; column 12 is the time zone (previews). */
#define RO__FULL_SQL                                                                               \
    "SELECT d.serial, d.model, coalesce(d.hw_rev,''), d.status, coalesce(t.state,''),"             \
    " s.fw_version, s.fee_version, m.id::text, m.mcc, m.region, t.tags::text, d.created_ms,"       \
    " coalesce(t.tz,'') FROM devices d"                                                            \
    " LEFT JOIN device_state s ON s.serial = d.serial"                                             \
    " LEFT JOIN terminals t ON t.serial = d.serial"                                                \
    " LEFT JOIN merchants m ON m.id = t.merchant_id"

/* A terminal of the organisation whose path is bound at $N (NULL: any): the
 * scope rule of store_scope.h, without a merchant. */
#define RO__IN(P)                                                                                  \
    "(" P "::text IS NULL OR EXISTS (SELECT 1 FROM terminals sc_t JOIN merchants sc_m ON"          \
    " sc_m.id = sc_t.merchant_id JOIN orgs sc_o ON sc_o.id = sc_m.org_id WHERE"                    \
    " sc_t.serial = d.serial AND substr(sc_o.path, 1, length(" P ")) = " P "))"

struct ro__consider {
    struct pfs_ro_cohort *co;
    const struct pfs_ro_cohort_rule *r;
    struct pf_error *err;
    bool light;
};

static int ro__consider_row(void *ctx, const PGresult *res, int row)
{
    struct ro__consider *x = ctx;
    struct pfs_ro_candidate c = {
            ro__text(res, row, 0),
            ro__text(res, row, 1),
            ro__text(res, row, 2),
            ro__text(res, row, 3),
            ro__text(res, row, 4),
            ro__text(res, row, 5),
            ro__text(res, row, 6),
            ro__text(res, row, 7),
            ro__text(res, row, 8),
            ro__text(res, row, 9),
            ro__text(res, row, 10),
            x->light ? 0 : pfs_pg_col_i64(res, row, 11),
            NULL,
    };
    int rc = pfs_ro_cohort_consider(x->co, x->r, &c);

    return rc ? pf_error_set(x->err, rc, "store: cohort: %s", pf_strerror(rc)) : 0;
}

/* The cohort of definition d for the target (rollout_plan.h decides who):
 * an explicit list of serials is looked up as one array, a light rule
 * reads only what it asks about, any other reads every field. */
static int ro__cohort_select(struct pfs_pg *pg, const struct pfs_ro_def *d,
                             const struct pfs_ro_target *t, int64_t since_ms, const char *org_path,
                             struct pfs_ro_cohort *co, struct pf_error *err)
{
    struct pfs_ro_cohort_rule r;
    struct ro__consider x = {co, &r, err, false};
    char since[PFS_PG_I64_LEN];
    int rc;

    if ((rc = pfs_ro_cohort_rule_init(&r, d, t, since_ms, err)))
        return rc;
    if (r.filters[PFS_RO_SERIALS].set) {
        const struct pfs_ro__values *v = &r.filters[PFS_RO_SERIALS];
        struct pfs_pgro_buf list = {0};
        const char *p[2] = {NULL, pfs_pgro_nz(org_path)};

        rc = pfs_pgro_buf_add(&list, "{", 1);
        for (size_t i = 0; !rc && i < v->n; i++)
            rc = pfs_pgro_buf_elem(&list, v->v[i], i == 0);
        rc = rc || pfs_pgro_buf_add(&list, "}", 1) ? pf_error_set(err, PF_ENOMEM, "out of memory")
                                                   : 0;
        p[0] = list.p;
        if (!rc)
            rc = pfs_pgro_each(pg,
                               RO__FULL_SQL " WHERE d.serial = ANY($1::text[]) AND " RO__IN(
                                       "$2") " ORDER BY d.serial" PFS_PGRO_C,
                               2, p, ro__consider_row, &x, err);
        free(list.p);
    } else if (pfs_ro_cohort_rule_light(&r) && !(org_path && *org_path)) {
        x.light = true;
        rc = pfs_pgro_each(pg,
                           r.kind == PF_KIND_FIRMWARE
                                   ? "SELECT d.serial, d.model, coalesce(d.hw_rev,''), d.status,"
                                     " coalesce(t.state,''), nullif(s.fw_version,''), NULL, NULL,"
                                     " NULL, NULL, NULL, 0 FROM devices d"
                                     " LEFT JOIN device_state s ON s.serial = d.serial"
                                     " LEFT JOIN terminals t ON t.serial = d.serial"
                                     " ORDER BY d.serial" PFS_PGRO_C
                                   : "SELECT d.serial, d.model, coalesce(d.hw_rev,''), d.status,"
                                     " coalesce(t.state,''), NULL, nullif(s.fee_version,''), NULL,"
                                     " NULL, NULL, NULL, 0 FROM devices d"
                                     " LEFT JOIN device_state s ON s.serial = d.serial"
                                     " LEFT JOIN terminals t ON t.serial = d.serial"
                                     " ORDER BY d.serial" PFS_PGRO_C,
                           0, NULL, ro__consider_row, &x, err);
    } else {
        const char *p[2] = {pfs_pg_i64(since, r.since_ms), pfs_pgro_nz(org_path)};

        rc = pfs_pgro_each(pg,
                           RO__FULL_SQL
                           " WHERE ($1::bigint < 0 OR d.created_ms > $1::bigint) AND " RO__IN(
                                   "$2") " ORDER BY d.serial" PFS_PGRO_C,
                           2, p, ro__consider_row, &x, err);
    }
    pfs_ro_cohort_rule_release(&r);
    return rc;
}

/* The newest stored bundle of the kind for each version the cohort runs. */
static int ro__previous(struct pfs_pg *pg, int kind, const struct pfs_ro_cohort *co,
                        struct pfs_pgro_rows *c, struct pf_error *err)
{
    int rc = 0;

    c->nver = co->nver;
    if (!co->nver)
        return 0;
    c->prev_ids = calloc(co->nver, sizeof(*c->prev_ids));
    if (!c->prev_ids)
        return pf_error_set(err, PF_ENOMEM, "out of memory");
    for (size_t i = 0; !rc && i < co->nver; i++) {
        const char *p[2] = {pf_bundle_kind_names[kind], co->versions[i]};
        PGresult *res = NULL;

        rc = pfs_pg_query(pg,
                          "SELECT id FROM bundles WHERE kind = $1 AND version = $2"
                          " ORDER BY uploaded_ms DESC LIMIT 1",
                          2, p, &res, err);
        if (!rc && PQntuples(res) == 1)
            (void)!pfs_pg_col_text(res, 0, 0, c->prev_ids[i], sizeof(c->prev_ids[i]));
        PQclear(res);
    }
    return rc;
}

/*
 * PF_EEXIST if a serial of the cohort is a member of a live rollout of the
 * kind other than self; the error names the lowest such serial, found by the
 * database with the cohort as one array; then the other rollout's plan. The
 * other rollout is named only to an actor who may see it (org NULL: any).
 */
static int ro__overlap(struct pfs_pg *pg, const char *kind, int64_t self,
                       const struct pfs_ro_cohort *c, const char *org, struct pf_error *err)
{
    char a[PFS_PG_I64_LEN], name[64];
    const char *p[3] = {kind, pfs_pg_i64(a, self), org};
    struct pfs_pgro_buf list = {0};
    PGresult *res = NULL;
    int rc;

    if ((rc = pfs_pg_query(pg,
                           "SELECT id, ($3::text IS NULL OR substr(coalesce(org_path, ''), 1,"
                           " length($3)) = $3) FROM rollouts WHERE state IN " PFS_PGRO_LIVE_SQL
                           " AND kind = $1 AND id <> $2::bigint ORDER BY id",
                           3, p, &res, err)))
        return rc;
    for (int row = 0; !rc && row < PQntuples(res); row++) {
        int64_t other = pfs_pg_col_i64(res, row, 0);
        char o[PFS_PG_I64_LEN];
        PGresult *hit = NULL;

        if (pfs_pg_col_bool(res, row, 1))
            snprintf(name, sizeof(name), "rollout %" PRId64, other);
        else
            snprintf(name, sizeof(name), "a rollout of another organisation");
        if (!list.p) {
            rc = pfs_pgro_buf_add(&list, "{", 1);
            for (size_t i = 0; !rc && i < c->n; i++)
                rc = pfs_pgro_buf_elem(&list, c->serial[i], i == 0);
            if (rc || pfs_pgro_buf_add(&list, "}", 1)) {
                rc = pf_error_set(err, PF_ENOMEM, "out of memory");
                break;
            }
        }
        {
            const char *q[2] = {pfs_pg_i64(o, other), list.p};

            rc = pfs_pg_query(pg,
                              "SELECT min(serial" PFS_PGRO_C ") FROM rollout_members WHERE"
                              " rollout = $1::bigint AND status NOT IN " PFS_PGRO_RELEASED_SQL
                              " AND serial = ANY($2::text[])",
                              2, q, &hit, err);
        }
        if (!rc && PQntuples(hit) == 1 && !PQgetisnull(hit, 0, 0))
            rc = pf_error_set(err, PF_EEXIST,
                              "terminal %s is already in %s (%s), which is still live",
                              PQgetvalue(hit, 0, 0), name, kind);
        PQclear(hit);
        if (!rc) /* members of its stages not opened yet */
            rc = pfs_pgro_plan_overlap(pg, other, name, kind, c, err);
    }
    PQclear(res);
    free(list.p);
    return rc;
}

/* --- creation --- */

struct ro__create {
    const struct pfs_ro_def *d;
    const struct pfs_bundle_rec *b;
    const char *def_json;
    const struct pfs_actor *actor;
    int64_t now_ms;
    int64_t id;
    struct pfs_ro_plan_stats *stats;
};

static int ro__stages_insert(struct pfs_pg *pg, int64_t id, const struct pfs_ro_def *d,
                             const size_t *targets, int64_t now_ms, struct pf_error *err)
{
    int rc = 0;

    for (size_t k = 0; !rc && k < d->nstages; k++) {
        const struct pfs_ro_stage *sd = &d->stages[k];
        int64_t n = (int64_t)(targets[k] - (k ? targets[k - 1] : 0));
        char a[PFS_PG_I64_LEN], b[PFS_PG_I64_LEN], t[PFS_PG_I64_LEN], s[PFS_PG_I64_LEN],
                o[PFS_PG_I64_LEN];
        const char *p[7] = {pfs_pg_i64(a, id),
                            pfs_pg_i64(b, (int64_t)k),
                            sd->size,
                            pfs_pg_i64(t, (int64_t)targets[k]),
                            pfs_pg_i64(s, sd->soak_s),
                            sd->gate ? "t" : "f",
                            pfs_pg_i64(o, k == 0 && d->start_ms <= now_ms && !d->awaiting_approval
                                                  ? now_ms
                                                  : 0)};

        rc = pfs_pg_exec(pg,
                         "INSERT INTO rollout_stages (rollout, idx, size, target, soak_s, gate,"
                         " opened_ms) VALUES ($1::bigint,$2::int,$3,$4::bigint,$5::bigint,"
                         "$6::boolean,$7::bigint)",
                         7, p, err);
        if (!rc)
            rc = pfs_pgro_count_add(pg, id, (int)k, "pending", n, err);
    }
    return rc;
}

/* Terminals that already run the version: members from the start, `already`,
 * in the first stage (rollout_plan.h), in one statement. */
static int ro__already_insert(struct pfs_pg *pg, int64_t id, const struct pfs_ro_cohort *co,
                              int64_t now_ms, struct pf_error *err)
{
    struct pfs_pgro_buf list = {0};
    char a[PFS_PG_I64_LEN], t[PFS_PG_I64_LEN];
    int rc;

    if (!co->nalready)
        return 0;
    rc = pfs_pgro_buf_add(&list, "{", 1);
    for (size_t i = 0; !rc && i < co->nalready; i++)
        rc = pfs_pgro_buf_elem(&list, co->already[i], i == 0);
    if (rc || pfs_pgro_buf_add(&list, "}", 1)) {
        free(list.p);
        return pf_error_set(err, PF_ENOMEM, "out of memory");
    }
    {
        const char *p[3] = {pfs_pg_i64(a, id), list.p, pfs_pg_i64(t, now_ms)};

        rc = pfs_pg_exec(pg,
                         "INSERT INTO rollout_members (rollout, serial, stage, status, since_ms,"
                         " code) SELECT $1::bigint, s, 0, 'already', $3::bigint, 'ALREADY'"
                         " FROM unnest($2::text[]) AS s",
                         3, p, err);
    }
    free(list.p);
    return rc ? rc : pfs_pgro_count_add(pg, id, 0, "already", (int64_t)co->nalready, err);
}

/*
 * One transaction, READ COMMITTED under PFS_PGRO_LOCK: the overlap with live
 * rollouts is decided and the members written while no other instance plans;
 * the id is SQLite's (the highest + 1), which previews announce
 * (pfs_store_rollout_next_id). Run again from the start after a lost session.
 */
static int ro__create_body(void *ctx, struct pfs_pg *pg, int attempt, struct pf_error *err)
{
    struct ro__create *x = ctx;
    const struct pfs_ro_def *d = x->d;
    const struct pfs_bundle_rec *b = x->b;
    struct pfs_ro_target t = {b->kind, b->version, b->models, b->hw_revs};
    struct pfs_ro_cohort co = {0};
    struct pfs_pgro_rows c = {0};
    size_t targets[PFS_RO_STAGES_MAX];
    struct timespec t0;
    const char *kind = pf_bundle_kind_names[b->kind];
    const char *org =
            x->actor && x->actor->org_path && strcmp(x->actor->org_path, PFS_HQ_ORG_PATH) != 0
                    ? x->actor->org_path
                    : NULL;
    char s1[PFS_PG_I64_LEN], s2[PFS_PG_I64_LEN], s3[PFS_PG_I64_LEN], target[32];
    char *after = NULL;
    PGresult *res = NULL;
    int rc;

    (void)attempt;
    memset(x->stats, 0, sizeof(*x->stats));
    if ((rc = pfs_pgro_lock(pg, err)))
        return rc;
    {
        /* Four eyes: it waits, paused for an approver, and opens nothing. */
        const char *p[13] = {d->name,
                             b->id,
                             kind,
                             b->version,
                             x->def_json,
                             d->awaiting_approval      ? "paused"
                             : d->start_ms > x->now_ms ? "scheduled"
                                                       : "running",
                             pfs_pg_i64(s1, d->start_ms),
                             pfs_pg_i64(s2, d->deadline_ms),
                             pfs_pg_i64(s3, x->now_ms),
                             x->actor && x->actor->name ? x->actor->name : "-",
                             d->awaiting_approval ? PFS_RO_APPROVAL : NULL,
                             d->awaiting_approval ? "waits for an approver" : NULL,
                             org};

        rc = pfs_pg_query(pg,
                          "INSERT INTO rollouts (id, name, bundle, kind, version, definition,"
                          " state, stage, start_ms, deadline_ms, join_ms, created_ms, updated_ms,"
                          " actor, pause_reason, pause_detail, pause_by, pause_ms, org_path)"
                          " VALUES ((SELECT coalesce(max(id), 0) + 1 FROM rollouts),"
                          " $1,$2,$3,$4,$5::jsonb,$6,0,$7::bigint,$8::bigint,$9::bigint,"
                          " $9::bigint,$9::bigint,$10,$11::text,$12::text,"
                          " CASE WHEN $11::text IS NULL THEN NULL ELSE $10 END,"
                          " CASE WHEN $11::text IS NULL THEN NULL ELSE $9::bigint END,"
                          " $13::text) RETURNING id",
                          13, p, &res, err);
    }
    if (rc) {
        pf_error_prefix(err, "store: rollout");
        goto out;
    }
    x->id = pfs_pg_col_i64(res, 0, 0);
    PQclear(res);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if ((rc = ro__cohort_select(pg, d, &t, -1, org, &co, err)))
        goto out;
    x->stats->cohort = (int64_t)co.n;
    x->stats->select_ms = ro__ms_since(&t0);
    if ((rc = pfs_ro_stage_targets(d, co.n, targets, err)) ||
        (rc = ro__overlap(pg, kind, x->id, &co, org, err)))
        goto out;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if ((rc = pfs_ro_cohort_order(&co, x->id, targets, d->nstages))) {
        pf_error_set(err, rc, "rollout plan: %s", pf_strerror(rc));
        goto out;
    }
    pfs_pgro_rows_view(&co, &c);
    x->stats->order_ms = ro__ms_since(&t0);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    /* The first stage's members as rows, the later stages' as plan chunks. */
    if ((rc = ro__previous(pg, b->kind, &co, &c, err)) ||
        (rc = pfs_pgro_members_insert(pg, x->id, &c, 0, err)) ||
        (rc = pfs_pgro_plan_write(pg, x->id, &c, d->nstages, err)) ||
        (rc = ro__stages_insert(pg, x->id, d, targets, x->now_ms, err)) ||
        (rc = ro__already_insert(pg, x->id, &co, x->now_ms, err))) {
        pf_error_prefix(err, "store: stages");
        goto out;
    }
    after = pfs_rec_rollout_create_text(x->id, d->name, b->id, kind, b->version, (int64_t)c.n,
                                        targets, d->nstages);
    snprintf(target, sizeof(target), "rollout/%" PRId64, x->id);
    if (!after) {
        rc = pf_error_set(err, PF_ENOMEM, "out of memory");
    } else {
        struct pfs_pg_audit a = {x->actor, x->now_ms, "rollout.create", target, NULL, after, NULL,
                                 NULL,     NULL};

        if ((rc = pfs_pg_audit_write(pg, &a, err)))
            pf_error_prefix(err, "store: audit");
    }
    x->stats->insert_ms = ro__ms_since(&t0);
out:
    free(after);
    pfs_pgro_rows_free(&c);
    pfs_ro_cohort_release(&co);
    return rc;
}

int pfs_pg_rollout_create(struct pfs_pg_store *st, const struct pfs_ro_def *d,
                          const struct pfs_bundle_rec *b, const char *def_json,
                          const struct pfs_actor *actor, int64_t now_ms, int64_t *id,
                          struct pfs_ro_plan_stats *stats, struct pf_error *err)
{
    struct ro__create x = {d, b, def_json, actor, now_ms, 0, stats};
    int rc = pfs_pg_store_tx(st, PFS_PG_READ_COMMITTED, now_ms, ro__create_body, &x, err);

    if (!rc)
        *id = x.id;
    return rc;
}

/* --- previews --- */

struct ro__scan {
    const char *org_path;
    pfs_ro_candidate_cb cb;
    void *ctx;
    int64_t delivered;
    int cb_rc;
};

static int ro__scan_row(void *ctx, const PGresult *res, int row)
{
    struct ro__scan *x = ctx;
    struct pfs_ro_candidate c = {
            ro__text(res, row, 0),  ro__text(res, row, 1),  ro__text(res, row, 2),
            ro__text(res, row, 3),  ro__text(res, row, 4),  ro__text(res, row, 5),
            ro__text(res, row, 6),  ro__text(res, row, 7),  ro__text(res, row, 8),
            ro__text(res, row, 9),  ro__text(res, row, 10), pfs_pg_col_i64(res, row, 11),
            ro__text(res, row, 12),
    };

    x->delivered++;
    return x->cb_rc = x->cb(x->ctx, &c);
}

/* A cursor needs a transaction; the rows handed to the caller cannot be
 * taken back, so a session lost after the first one is an error, not a
 * rerun. */
static int ro__scan_body(void *ctx, struct pfs_pg *pg, int attempt, struct pf_error *err)
{
    struct ro__scan *x = ctx;
    const char *p[1] = {pfs_pgro_nz(x->org_path)};

    if (attempt > 1 && x->delivered)
        return pf_error_set(err, PF_EIO, "store: the session was lost during a scan");
    return pfs_pgro_each(pg, RO__FULL_SQL " WHERE " RO__IN("$1") " ORDER BY d.serial" PFS_PGRO_C, 1,
                         p, ro__scan_row, x, err);
}

int pfs_pg_rollout_scan(struct pfs_pg_store *st, pfs_ro_candidate_cb cb, void *ctx)
{
    return pfs_pg_rollout_scan_in(st, NULL, cb, ctx);
}

int pfs_pg_rollout_scan_in(struct pfs_pg_store *st, const char *org_path, pfs_ro_candidate_cb cb,
                           void *ctx)
{
    struct ro__scan x = {org_path, cb, ctx, 0, 0};
    int rc = pfs_pg_store_tx(st, PFS_PG_READ_COMMITTED, 0, ro__scan_body, &x, NULL);

    /* The callback's own code comes back as it is (it stopped the scan). */
    return x.cb_rc ? x.cb_rc : rc;
}

/* --- late joiners --- */

struct ro__join {
    const struct pfs_rollout_rec *r;
    const struct pfs_ro_target *t;
    int64_t now_ms;
    int64_t added;
};

static int ro__join_body(void *ctx, struct pfs_pg *pg, int attempt, struct pf_error *err)
{
    struct ro__join *x = ctx;
    const struct pfs_rollout_rec *r = x->r;
    struct pfs_ro_cohort co = {0};
    struct pfs_pgro_rows c = {0};
    const char *kind = pf_bundle_kind_names[r->kind];
    int rc;

    (void)attempt;
    x->added = 0;
    if ((rc = pfs_pgro_lock(pg, err)))
        return rc;
    rc = ro__cohort_select(pg, &r->def, x->t, r->join_ms, r->org_path, &co, err);
    pfs_pgro_rows_view(&co, &c);
    if (!rc)
        rc = ro__previous(pg, r->kind, &co, &c, err);
    for (size_t i = 0; !rc && i < c.n; i++) {
        bool ok;

        rc = pfs_pgro_member_join(pg, r->id, kind, r->stage, c.serial[i], pfs_pgro_rows_prev(&c, i),
                                  &ok, err);
        x->added += ok;
    }
    if (!rc) {
        char a[PFS_PG_I64_LEN], b[PFS_PG_I64_LEN];
        const char *p[2] = {pfs_pg_i64(a, r->id), pfs_pg_i64(b, x->now_ms)};

        rc = pfs_pg_exec(pg, "UPDATE rollouts SET join_ms = $2::bigint WHERE id = $1::bigint", 2, p,
                         err);
    }
    pfs_pgro_rows_free(&c);
    pfs_ro_cohort_release(&co);
    return rc;
}

int pfs_pg_rollout_join(struct pfs_pg_store *st, const struct pfs_rollout_rec *r, int64_t now_ms,
                        int64_t *added)
{
    char models[PFS_BUNDLE_MODELS_MAX + 1] = "", hw_revs[PFS_BUNDLE_HWREVS_MAX + 1] = "";
    char version[PF_VERSION_MAX + 1] = "";
    struct pfs_ro_target t = {r->kind, r->version, models, hw_revs};
    struct ro__join x = {r, &t, now_ms, 0};
    const char *p[1] = {r->bundle};
    PGresult *res = NULL;
    int rc;

    *added = 0;
    if (pfs_pg_query(st->pg, "SELECT version, models, hw_revs FROM bundles WHERE id = $1", 1, p,
                     &res, NULL))
        return PF_EIO;
    if (PQntuples(res) != 1) {
        PQclear(res);
        return PF_ENOENT;
    }
    /* The bundle's own version, as SQLite's pfs_store_bundle_get gives it. */
    (void)!pfs_pg_col_text(res, 0, 0, version, sizeof(version));
    (void)!pfs_pg_col_text(res, 0, 1, models, sizeof(models));
    (void)!pfs_pg_col_text(res, 0, 2, hw_revs, sizeof(hw_revs));
    PQclear(res);
    t.version = version;
    rc = pfs_pg_store_tx(st, PFS_PG_READ_COMMITTED, now_ms, ro__join_body, &x, NULL);
    if (!rc)
        *added = x.added;
    return rc;
}

/* --- opening planned stages --- */

struct ro__open {
    int64_t id;
    int max_stage;
    int64_t max_rows;
    int64_t left;
};

static int ro__plan_left(struct pfs_pg *pg, int64_t id, int max_stage, int64_t *left,
                         struct pf_error *err)
{
    char a[PFS_PG_I64_LEN], b[PFS_PG_I64_LEN];
    const char *p[2] = {pfs_pg_i64(a, id), pfs_pg_i64(b, max_stage)};

    return pfs_pgro_int(pg,
                        "SELECT coalesce(sum(n),0) FROM rollout_plan WHERE rollout = $1::bigint"
                        " AND stage <= $2::int",
                        2, p, left, err);
}

/* Under PFS_PGRO_LOCK: a chunk is turned into rows once, and a serial pulled
 * out of it meanwhile (a swap) is not written twice. */
static int ro__open_body(void *ctx, struct pfs_pg *pg, int attempt, struct pf_error *err)
{
    struct ro__open *x = ctx;
    char a[PFS_PG_I64_LEN], b[PFS_PG_I64_LEN];
    const char *p[2] = {pfs_pg_i64(a, x->id), pfs_pg_i64(b, x->max_stage)};
    int64_t done = 0;
    int rc;

    (void)attempt;
    if ((rc = pfs_pgro_lock(pg, err)))
        return rc;
    while (!rc && done < x->max_rows) {
        struct pfs_pgro_rows c;
        PGresult *res = NULL;
        int stage;
        char seq[PFS_PG_I64_LEN], st[PFS_PG_I64_LEN];

        if ((rc = pfs_pg_query(pg,
                               "SELECT stage, seq, n, prevs, members FROM rollout_plan WHERE"
                               " rollout = $1::bigint AND stage <= $2::int ORDER BY stage, seq"
                               " LIMIT 1",
                               2, p, &res, err)))
            break;
        if (PQntuples(res) != 1) {
            PQclear(res);
            break;
        }
        stage = (int)pfs_pg_col_i64(res, 0, 0);
        pfs_pg_i64(seq, pfs_pg_col_i64(res, 0, 1));
        pfs_pg_i64(st, stage);
        rc = pfs_pgro_plan_decode(stage, PQgetvalue(res, 0, 3), PQgetvalue(res, 0, 4),
                                  (size_t)PQgetlength(res, 0, 4), &c);
        PQclear(res);
        if (rc)
            rc = pf_error_set(err, rc, "out of memory");
        if (!rc)
            rc = pfs_pgro_members_insert(pg, x->id, &c, -1, err);
        if (!rc) {
            const char *q[3] = {p[0], st, seq};

            rc = pfs_pg_exec(pg,
                             "DELETE FROM rollout_plan WHERE rollout = $1::bigint AND"
                             " stage = $2::int AND seq = $3::int",
                             3, q, err);
        }
        done += (int64_t)c.n;
        pfs_pgro_rows_free(&c);
    }
    if (!rc)
        rc = ro__plan_left(pg, x->id, x->max_stage, &x->left, err);
    return rc;
}

int pfs_pg_rollout_plan_open(struct pfs_pg_store *st, int64_t id, int max_stage, int64_t max_rows,
                             int64_t now_ms, int64_t *left)
{
    struct ro__open x = {id, max_stage, max_rows, 0};
    int rc;

    (void)now_ms;
    if ((rc = ro__plan_left(st->pg, id, max_stage, left, NULL)) || !*left)
        return rc ? PF_EIO : 0;
    rc = pfs_pg_store_tx(st, PFS_PG_READ_COMMITTED, now_ms, ro__open_body, &x, NULL);
    if (!rc)
        *left = x.left;
    return rc;
}
