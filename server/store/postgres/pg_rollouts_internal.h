/*
 * pg_rollouts_internal.h - what the PostgreSQL files of the rollout store
 * (pg_rollouts.c, pg_rollout_plan.c, pg_rollout_members.c) share: the twins
 * of store_rollouts_internal.h's helpers. Not for callers outside
 * server/store/postgres/. Its names are pfs_pgro_*, so the generator of the
 * ops table (which looks for pfs_pg_NAME) does not take them for store
 * functions.
 *
 * Concurrency: SQLite has one writer; here several posfleetd instances share
 * the database. The writes that add members (planning, late joiners, swaps,
 * opening a planned stage, moving a serial out of a plan) take the
 * transaction-level advisory lock PFS_PGRO_LOCK first, so two of them never
 * decide an overlap or a plan chunk from the same snapshot; member moves are
 * "UPDATE ... WHERE status = <the status decided from>", which READ
 * COMMITTED re-checks on the row after any concurrent update.
 */
#ifndef PFS_PG_ROLLOUTS_INTERNAL_H
#define PFS_PG_ROLLOUTS_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rollouts/rollout_plan.h"
#include "store/postgres/pg_store.h"
#include "store/store_rollouts.h"

/* The domain's predicates as SQL lists (store_rollouts_internal.h says which). */
#define PFS_PGRO_LIVE_SQL      "('scheduled','running','paused','gated','rolling_back')"
#define PFS_PGRO_PLANNING_SQL  "('scheduled','running','paused','gated')"
#define PFS_PGRO_RELEASED_SQL  "('skipped','swapped','already')"
#define PFS_PGRO_OFFERABLE_SQL "('pending','revert_pending')"

/* Serials compare and sort byte-wise, as in SQLite and the domain (strcmp),
 * whatever the database's default collation. */
#define PFS_PGRO_C " COLLATE \"C\""

/* The advisory lock of the writes that add members ('posfro' as a key). */
#define PFS_PGRO_LOCK_SQL "SELECT pg_advisory_xact_lock(7093851779918),1"
int pfs_pgro_lock(struct pfs_pg *pg, struct pf_error *err) PF_WUR;

/* The index of v in a NULL-terminated list of names, or -1. */
int pfs_pgro_name_index(const char *const *names, const char *v);
/* s, or NULL when s is NULL or "" (SQLite's 's' binding). */
const char *pfs_pgro_nz(const char *s);
/* The single integer of a query (0 when NULL or no row). */
int pfs_pgro_int(struct pfs_pg *pg, const char *sql, int n, const char *const *p, int64_t *out,
                 struct pf_error *err) PF_WUR;
/* A statement's affected rows: *changed. */
int pfs_pgro_run(struct pfs_pg *pg, const char *sql, int n, const char *const *p, int64_t *changed,
                 struct pf_error *err) PF_WUR;
/* Adds n to the counter of (rollout id, stage, status). */
int pfs_pgro_count_add(struct pfs_pg *pg, int64_t id, int stage, const char *status, int64_t n,
                       struct pf_error *err) PF_WUR;

/* A growing text buffer (always NUL-terminated once used). */
struct pfs_pgro_buf {
    char *p;
    size_t len, cap;
};
int pfs_pgro_buf_add(struct pfs_pgro_buf *b, const char *s, size_t n) PF_WUR;
/* Appends s as an element of a PostgreSQL array literal (quoted; NULL: NULL),
 * with a comma before it unless first. */
int pfs_pgro_buf_elem(struct pfs_pgro_buf *b, const char *s, bool first) PF_WUR;

/*
 * Runs a query inside the open transaction through a cursor, fetching rows a
 * batch at a time (a scan of the whole fleet never holds it in memory), and
 * hands each row to fn; fn's non-zero return stops and is returned. A query
 * ending in ORDER BY ... PFS_PGRO_C loses that clause in a database whose
 * collation is C already (the indexes' order is then the byte order).
 */
typedef int (*pfs_pgro_row_fn)(void *ctx, const PGresult *res, int row);
int pfs_pgro_each(struct pfs_pg *pg, const char *sql, int n, const char *const *p,
                  pfs_pgro_row_fn fn, void *ctx, struct pf_error *err) PF_WUR;

/* The members of a plan (struct pfs_store_ro_rows of the SQLite store). */
struct pfs_pgro_rows {
    char **serial;
    uint16_t *prev; /* index into prev_ids + 1, 0 = none */
    uint8_t *stage;
    size_t n, cap;
    char (*prev_ids)[PF_B2_HEX_LEN + 1];
    size_t nver;
    char **blocks;
    size_t nblocks;
    bool owned;
};
void pfs_pgro_rows_free(struct pfs_pgro_rows *c);
void pfs_pgro_rows_view(const struct pfs_ro_cohort *co, struct pfs_pgro_rows *c);
/* The previous bundle of member i ("" for none). */
const char *pfs_pgro_rows_prev(const struct pfs_pgro_rows *c, size_t i);

/* One pending row per member of c (of stage `only` if >= 0) in one
 * INSERT ... SELECT FROM unnest(...). Counters are the caller's. */
int pfs_pgro_members_insert(struct pfs_pg *pg, int64_t id, const struct pfs_pgro_rows *c, int only,
                            struct pf_error *err) PF_WUR;
/* The members of stages 1.. of c as plan chunks (the SQLite format). */
int pfs_pgro_plan_write(struct pfs_pg *pg, int64_t id, const struct pfs_pgro_rows *c,
                        size_t nstages, struct pf_error *err) PF_WUR;
int pfs_pgro_plan_decode(int stage, const char *prevs, const char *members, size_t len,
                         struct pfs_pgro_rows *c) PF_WUR;

struct pfs_pgro_plan_hit {
    int64_t rollout, seq;
    int stage;
    char prev[PF_B2_HEX_LEN + 1];
    char *members; /* the chunk's text without the serial's line (with_rest) */
    int64_t n;     /* members left in the chunk */
};
/* The columns pfs_pgro_plan_find reads, of rollout_plan p. */
#define PFS_PGRO_PLAN_COLS "p.rollout, p.stage, p.seq, p.n, p.prevs, p.members"
int pfs_pgro_plan_find(const PGresult *res, const char *serial, bool with_rest,
                       struct pfs_pgro_plan_hit *hits, int max, int *nhits) PF_WUR;
/* Moves serial out of the plans of live rollouts (of kind; NULL: any) into
 * member rows. */
int pfs_pgro_plan_pull(struct pfs_pg *pg, const char *kind, const char *serial,
                       struct pf_error *err) PF_WUR;
/* PF_EEXIST if a member of cohort c is in the plan of rollout other. */
int pfs_pgro_plan_overlap(struct pfs_pg *pg, int64_t other, const char *name, const char *kind,
                          const struct pfs_ro_cohort *c, struct pf_error *err) PF_WUR;
/* Adds serial to rollout id at stage unless it is a member of a live rollout
 * of the kind already; *added tells. */
int pfs_pgro_member_join(struct pfs_pg *pg, int64_t id, const char *kind, int stage,
                         const char *serial, const char *prev, bool *added,
                         struct pf_error *err) PF_WUR;

/* A rollout row's columns, read by pfs_pgro_read. */
#define PFS_PGRO_COLS                                                                              \
    "id, name, bundle, kind, version, definition::text, state, stage, start_ms, deadline_ms,"      \
    " pause_reason, pause_detail, pause_by, pause_ms, base::text, join_ms, created_ms,"            \
    " updated_ms, actor, coalesce(org_path, '')"
int pfs_pgro_read(const PGresult *res, int row, struct pfs_rollout_rec *r) PF_WUR;

#endif
