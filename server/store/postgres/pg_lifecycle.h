/*
 * pg_lifecycle.h - the PostgreSQL twins of store_lifecycle.h (merchants,
 * terminal lifecycle and binding, swaps and their undo, bulk changes, tamper
 * and support locks, repairs, a terminal's history and the audit search).
 *
 * Each pfs_pg_NAME is pfs_store_NAME with struct pfs_pg_store (or struct
 * pfs_pg_tx) in place of the generic handle, and behaves as the SQLite
 * backend's (server/store/sqlite/store_lifecycle.c and its siblings): the
 * same results, errors, history lines and audit rows (before/after from
 * store/record_json.h). Every write is one pfs_pg_tx() body (pg_conn.h),
 * SERIALIZABLE: the SQLite code decides from rows it read under its single
 * writer, and serializable isolation keeps that true here without listing
 * every row to lock; a conflict is a serialization failure that pfs_pg_tx()
 * runs again from the start. When a transaction of pfs_store_tx_begin() is
 * already open on the store, the body runs inside it.
 */
#ifndef PFS_PG_LIFECYCLE_H
#define PFS_PG_LIFECYCLE_H

#include "store/postgres/pg_store.h"
#include "store/store_lifecycle.h"

/* --- merchants --- */
int pfs_pg_merchant_add(struct pfs_pg_store *st, const struct pfs_merchant *m,
                        const struct pfs_actor *actor, int64_t now_ms, struct pf_error *err) PF_WUR;
int pfs_pg_merchant_get(struct pfs_pg_store *st, const char *id, struct pfs_merchant *m) PF_WUR;
int pfs_pg_merchant_list(struct pfs_pg_store *st, int status, const char *after, int limit,
                         pfs_merchant_cb cb, void *ctx, bool *more) PF_WUR;
int pfs_pg_merchant_change(struct pfs_pg_store *st, const char *id, const char *action,
                           pfs_merchant_change_fn change, void *ctx, const struct pfs_actor *actor,
                           int64_t now_ms, struct pfs_merchant *out, struct pf_error *err) PF_WUR;
int pfs_pg_merchant_terminals(struct pfs_pg_store *st, const char *id, pfs_merchant_term_cb cb,
                              void *ctx) PF_WUR;

/* --- terminals --- */
int pfs_pg_term_get(struct pfs_pg_store *st, const char *serial, struct pfs_term *t) PF_WUR;
int pfs_pg_term_view(struct pfs_pg_store *st, const char *serial, pfs_term_view_cb cb,
                     void *ctx) PF_WUR;
int pfs_pg_term_binding(struct pfs_pg_store *st, const char *serial,
                        char merchant_id[PFS_MERCHANT_ID_MAX + 1], char tz[PFS_TZ_MAX + 1],
                        char *fee_plan, size_t fee_plan_size) PF_WUR;
int pfs_pg_term_bind(struct pfs_pg_store *st, const char *serial, const char *merchant_id,
                     const struct pfs_actor *actor, int64_t now_ms, struct pf_error *err) PF_WUR;
int pfs_pg_term_unbind(struct pfs_pg_store *st, const char *serial, const struct pfs_actor *actor,
                       int64_t now_ms, struct pf_error *err) PF_WUR;
int pfs_pg_term_retire(struct pfs_pg_store *st, const char *serial, const struct pfs_actor *actor,
                       int64_t now_ms, struct pf_error *err) PF_WUR;
int pfs_pg_term_tags(struct pfs_pg_store *st, const char *serial, const char *tags_json,
                     const struct pfs_actor *actor, int64_t now_ms, struct pf_error *err) PF_WUR;
int pfs_pg_term_swap(struct pfs_pg_store *st, const char *old_serial, const char *new_serial,
                     const char *reason, pfs_swap_hook hook, void *hook_ctx,
                     const struct pfs_actor *actor, int64_t now_ms, int64_t *repair_id,
                     struct pf_error *err) PF_WUR;
int pfs_pg_term_swap_undo(struct pfs_pg_store *st, const char *old_serial, const char *new_serial,
                          const char *reason, pfs_swap_hook hook, void *hook_ctx,
                          const struct pfs_actor *actor, int64_t now_ms, int64_t *repair_id,
                          bool *repair_removed, struct pf_error *err) PF_WUR;
int pfs_pg_term_bulk(struct pfs_pg_store *st, enum pfs_bulk_kind kind,
                     const struct pfs_bulk_op *ops, size_t n, bool check, pfs_bulk_bad_cb bad,
                     void *ctx, const struct pfs_actor *actor, int64_t now_ms, size_t *nbad,
                     struct pf_error *err) PF_WUR;
int pfs_pg_term_activate(struct pfs_pg_store *st, const char *serial, int64_t now_ms,
                         bool *changed) PF_WUR;
int pfs_pg_term_tamper(struct pfs_pg_store *st, const char *serial, const char *cmd_id,
                       int64_t now_ms, bool *changed, struct pf_error *err) PF_WUR;
int pfs_pg_term_lock(struct pfs_pg_store *st, const char *serial, bool lock, const char *cmd_id,
                     const char *reason, const struct pfs_actor *actor, int64_t now_ms,
                     struct pf_error *err) PF_WUR;
int pfs_pg_term_lock_report(struct pfs_pg_store *st, const char *serial, const char *cmd_id,
                            bool locked, int64_t now_ms, bool *matched) PF_WUR;
int pfs_pg_lock_pending_each(struct pfs_pg_store *st, pfs_lock_pending_cb cb, void *ctx) PF_WUR;
int pfs_pg_term_installed_each(struct pfs_pg_store *st, pfs_serial_cb cb, void *ctx) PF_WUR;

/* --- repairs --- */
int pfs_pg_repair_open(struct pfs_pg_store *st, const char *serial, const char *reason,
                       const char *faults_json, const struct pfs_actor *actor, int64_t now_ms,
                       int64_t *id, struct pf_error *err) PF_WUR;
int pfs_pg_repair_change(struct pfs_pg_store *st, int64_t id, const struct pfs_repair_change *c,
                         const struct pfs_actor *actor, int64_t now_ms, bool *unlock,
                         char *serial_out, struct pf_error *err) PF_WUR;
int pfs_pg_repair_view(struct pfs_pg_store *st, int64_t id, pfs_repair_view_cb cb,
                       void *ctx) PF_WUR;
int pfs_pg_repair_list(struct pfs_pg_store *st, const char *serial, int state, int limit,
                       pfs_repair_view_cb cb, void *ctx) PF_WUR;

/* A merchant given at registration or import (pg_devices.c): the bind
 * transition inside the caller's transaction on pg, refused (PF_ESTATE) unless
 * the merchant is active. Not a twin of a store.h function. */
int pfs_pglife_bind_registering(struct pfs_pg *pg, const char *serial, const char *merchant_id,
                                const struct pfs_actor *actor, int64_t now_ms,
                                struct pf_error *err) PF_WUR;

/* --- history and audit --- */
int pfs_pg_term_events(struct pfs_pg_store *st, const char *serial, int limit, pfs_term_event_cb cb,
                       void *ctx) PF_WUR;
int pfs_pg_term_updates(struct pfs_pg_store *st, const char *serial, int limit,
                        pfs_update_view_cb cb, void *ctx) PF_WUR;
int pfs_pg_audit_query(struct pfs_pg_store *st, const char *serial, const char *merchant_id,
                       int64_t since_ms, int64_t before_id, int limit, pfs_audit_cb cb,
                       void *ctx) PF_WUR;

#endif
