/*
 * pg_rollout_plan.h - the PostgreSQL twins of store_rollouts.h's planning:
 * creating a rollout, previews' scans, late joiners and opening planned
 * stages (pg_rollout_plan.c). Each is pfs_store_NAME with the PostgreSQL
 * store in place of the generic handle, and the SQLite backend's behaviour.
 */
#ifndef PFS_PG_ROLLOUT_PLAN_H
#define PFS_PG_ROLLOUT_PLAN_H

#include <stdbool.h>
#include <stdint.h>

#include "store/postgres/pg_store.h"
#include "store/store_rollouts.h"

int pfs_pg_rollout_create(struct pfs_pg_store *st, const struct pfs_ro_def *d,
                          const struct pfs_bundle_rec *b, const char *def_json,
                          const struct pfs_actor *actor, int64_t now_ms, int64_t *id,
                          struct pfs_ro_plan_stats *stats, struct pf_error *err) PF_WUR;
int pfs_pg_rollout_scan(struct pfs_pg_store *st, pfs_ro_candidate_cb cb, void *ctx) PF_WUR;
int pfs_pg_rollout_scan_in(struct pfs_pg_store *st, const char *org_path, pfs_ro_candidate_cb cb,
                           void *ctx) PF_WUR;
int pfs_pg_rollout_plan_open(struct pfs_pg_store *st, int64_t id, int max_stage, int64_t max_rows,
                             int64_t now_ms, int64_t *left) PF_WUR;
int pfs_pg_rollout_join(struct pfs_pg_store *st, const struct pfs_rollout_rec *r, int64_t now_ms,
                        int64_t *added) PF_WUR;

#endif
