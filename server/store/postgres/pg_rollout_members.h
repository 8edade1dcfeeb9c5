/*
 * pg_rollout_members.h - the PostgreSQL twins of store_rollouts.h's member
 * functions: listed, scanned for the scheduler, offered and moved
 * (pg_rollout_members.c). Each is pfs_store_NAME with the PostgreSQL store
 * (or its transaction) in place of the generic handle, and the SQLite
 * backend's behaviour.
 */
#ifndef PFS_PG_ROLLOUT_MEMBERS_H
#define PFS_PG_ROLLOUT_MEMBERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/postgres/pg_store.h"
#include "store/store_rollouts.h"

int pfs_pg_rollout_members(struct pfs_pg_store *st, int64_t id, int status, int stage,
                           const char *after, int limit, pfs_ro_member_cb cb, void *ctx,
                           bool *more) PF_WUR;
int pfs_pg_rollout_member(struct pfs_pg_store *st, int64_t id, const char *serial,
                          struct pfs_ro_member_rec *m) PF_WUR;
int pfs_pg_rollout_candidates(struct pfs_pg_store *st, int64_t id, enum pfs_ro_member status,
                              int max_stage, int after_stage, const char *after_serial, int limit,
                              pfs_ro_member_cb cb, void *ctx, bool *more) PF_WUR;
int pfs_pg_rollout_offer(struct pfs_pg_store *st, int64_t id, const struct pfs_offer_rec *o,
                         const struct pfs_bundle_rec *b, const char *body,
                         struct pf_error *err) PF_WUR;
int pfs_pg_rollout_member_fail(struct pfs_pg_store *st, int64_t id, const char *serial,
                               const char *code, int64_t now_ms) PF_WUR;
int pfs_pg_rollout_member_act(struct pfs_pg_store *st, int64_t id, const char *serial,
                              enum pfs_ro_event ev, const char *action, const char *reason,
                              const struct pfs_actor *actor, int64_t now_ms,
                              enum pfs_ro_member *from, enum pfs_ro_member *to,
                              struct pf_error *err) PF_WUR;
int pfs_pg_rollout_clocks(struct pfs_pg_store *st, int64_t id, unsigned status_mask,
                          pfs_ro_clock_cb cb, void *ctx) PF_WUR;
int pfs_pg_rollout_moves(struct pfs_pg_store *st, int64_t id, struct pfs_ro_move *mv, size_t n,
                         int64_t now_ms, int64_t *moved) PF_WUR;
int pfs_pg_rollout_touch(struct pfs_pg_store *st, int64_t id, const char *serial,
                         enum pfs_ro_member status, int64_t since_ms) PF_WUR;
int pfs_pg_rollout_unhealthy(struct pfs_pg_store *st, int64_t id, int max_stage, int64_t *n) PF_WUR;
int pfs_pg_rollout_pending_online(struct pfs_pg_store *st, int64_t id, int max_stage,
                                  bool *any) PF_WUR;
/* The swap hook's twin (ctx unused): inside the swap's transaction. */
int pfs_pg_rollout_swap(void *ctx, struct pfs_pg_tx *tx, const char *old_serial,
                        const char *new_serial, struct pf_error *err);
int pfs_pg_rollout_on_event(struct pfs_pg_tx *tx, const char *serial,
                            const struct pf_update_event *e, int64_t recv_ms) PF_WUR;

#endif
