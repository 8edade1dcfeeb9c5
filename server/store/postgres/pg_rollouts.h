/*
 * pg_rollouts.h - the PostgreSQL twins of store_rollouts.h's rollout rows,
 * stages, counters, state changes and audit rows (pg_rollouts.c). Each is
 * pfs_store_NAME of store_rollouts.h with the PostgreSQL store in place of
 * the generic handle, and the SQLite backend's behaviour.
 */
#ifndef PFS_PG_ROLLOUTS_H
#define PFS_PG_ROLLOUTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/postgres/pg_store.h"
#include "store/store_rollouts.h"

int pfs_pg_rollout_next_id(struct pfs_pg_store *st, int64_t *id) PF_WUR;
int pfs_pg_rollout_audit(struct pfs_pg_store *st, int64_t id, const struct pfs_actor *actor,
                         int64_t now_ms, const char *action, const char *after_json) PF_WUR;
int pfs_pg_rollout_approval_digest(struct pfs_pg_store *st, int64_t id, const char *digest) PF_WUR;
int pfs_pg_rollout_get(struct pfs_pg_store *st, int64_t id, struct pfs_rollout_rec *r) PF_WUR;
int pfs_pg_rollout_list(struct pfs_pg_store *st, bool live_only, int limit, pfs_rollout_cb cb,
                        void *ctx) PF_WUR;
int pfs_pg_rollout_list_in(struct pfs_pg_store *st, const char *org_path, bool live_only, int limit,
                           pfs_rollout_cb cb, void *ctx) PF_WUR;
int pfs_pg_rollout_stages(struct pfs_pg_store *st, int64_t id,
                          struct pfs_ro_stage_rec out[PFS_RO_STAGES_MAX], size_t *n) PF_WUR;
int pfs_pg_rollout_failures(struct pfs_pg_store *st, int64_t id, pfs_ro_reason_cb cb,
                            void *ctx) PF_WUR;
int pfs_pg_rollout_change(struct pfs_pg_store *st, int64_t id, const struct pfs_ro_change *c,
                          const struct pfs_actor *actor, int64_t now_ms,
                          struct pf_error *err) PF_WUR;
int pfs_pg_rollout_settle(struct pfs_pg_store *st, int64_t id, int idx, int64_t settled_ms) PF_WUR;
int pfs_pg_rollout_check_counts(struct pfs_pg_store *st, int64_t id, bool *exact) PF_WUR;

#endif
