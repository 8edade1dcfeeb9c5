/*
 * store_rollouts_internal.h - what the SQLite files of the rollout store
 * (store_rollouts.c, store_rollout_cohort.c, store_rollout_plan.c,
 * store_rollout_members.c) share. Not for callers outside
 * server/store/sqlite/.
 */
#ifndef PFS_STORE_ROLLOUTS_INTERNAL_H
#define PFS_STORE_ROLLOUTS_INTERNAL_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rollouts/rollout_plan.h"
#include "store/sqlite/store_sqlite_api.h"
#include "store/store_rollouts.h"

/*
 * The domain's predicates as SQL lists, for queries that select by them
 * (test_rollout.c checks that each list is exactly what its predicate says):
 * live rollout states (pfs_ro_state_live), states in which planned members
 * are pending (pfs_ro_state_plans), member statuses that do not hold their
 * terminal (!pfs_ro_member_holds), member statuses waiting for an offer (those
 * pfs_ro_member_next() lets PFS_ROE_OFFER move).
 */
#define PFS_STORE_RO_LIVE_SQL      "('scheduled','running','paused','gated','rolling_back')"
#define PFS_STORE_RO_PLANNING_SQL  "('scheduled','running','paused','gated')"
#define PFS_STORE_RO_RELEASED_SQL  "('skipped','swapped','already')"
#define PFS_STORE_RO_OFFERABLE_SQL "('pending','revert_pending')"

/* The index of v in a NULL-terminated list of names, or -1. */
int pfs_store_ro_name_index(const char *const *names, const char *v);
/* Column col of the current row as text into out ("" for NULL). */
void pfs_store_ro_col(sqlite3_stmt *s, int col, char *out, size_t size);
int pfs_store_ro_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **s,
                         struct pf_error *err) PF_WUR;
/* Adds n to the counter of (rollout id, stage, status). */
int pfs_store_ro_count_add(sqlite3 *db, int64_t id, int stage, const char *status,
                           int64_t n) PF_WUR;

/*
 * The members of a plan, as the writers below read them: a view of a
 * struct pfs_ro_cohort (serial, version index, stage borrowed) with the
 * previous bundle of each version, or a plan chunk read back (owned).
 */
struct pfs_store_ro_rows {
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
void pfs_store_ro_rows_free(struct pfs_store_ro_rows *c);
/* c views co (which must outlive it); prev_ids are filled by the caller. */
void pfs_store_ro_rows_view(const struct pfs_ro_cohort *co, struct pfs_store_ro_rows *c);

/* One pending row per member of c (of stage `only` if it is >= 0), in serial
 * order. Counters are the caller's. */
int pfs_store_ro_members_insert(sqlite3 *db, int64_t id, const struct pfs_store_ro_rows *c,
                                int only, struct pf_error *err) PF_WUR;
/* The members of stages 1.. of c as plan chunks (migration 009). */
int pfs_store_ro_plan_write(sqlite3 *db, int64_t id, const struct pfs_store_ro_rows *c,
                            size_t nstages, struct pf_error *err) PF_WUR;
/* A plan chunk read back as the rows of one stage (owned). */
int pfs_store_ro_plan_decode(int stage, const char *prevs, const char *members, size_t len,
                             struct pfs_store_ro_rows *c) PF_WUR;

/* Where a serial stands in a plan chunk. */
struct pfs_store_ro_plan_hit {
    int64_t rollout, seq;
    int stage;
    char prev[PF_B2_HEX_LEN + 1];
    char *members; /* the chunk's text without the serial's line (pull) */
    int64_t n;     /* members left in the chunk */
};
/* The columns pfs_store_ro_plan_find reads, of rollout_plan p. */
#define PFS_STORE_RO_PLAN_COLS "p.rollout, p.stage, p.seq, p.n, p.prevs, p.members"
int pfs_store_ro_plan_find(sqlite3_stmt *s, const char *serial, bool with_rest,
                           struct pfs_store_ro_plan_hit *hits, int max, int *nhits) PF_WUR;
/* Moves serial out of the plans of live rollouts (of kind; NULL: any) into
 * member rows. */
int pfs_store_ro_plan_pull(sqlite3 *db, const char *kind, const char *serial) PF_WUR;
/* PF_EEXIST (err names the serial) if a member of cohort c is in the plan of
 * rollout other (named name in the error). */
int pfs_store_ro_plan_overlap(sqlite3 *db, int64_t other, const char *name, const char *kind,
                              const struct pfs_ro_cohort *c, struct pf_error *err) PF_WUR;

/* Adds serial to rollout id at stage (pending) unless it is a member of a
 * live rollout of the kind already; *added tells. */
int pfs_store_ro_member_join(sqlite3 *db, int64_t id, const char *kind, int stage,
                             const char *serial, const char *prev, bool *added) PF_WUR;

#endif
