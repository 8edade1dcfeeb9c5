/*
 * pg_devices.h - the registry and the reads of store.h on PostgreSQL (the
 * twins of the SQLite backend's store_devices.c), and the scoped summary of
 * store_accounts.h.
 */
#ifndef PFS_PG_DEVICES_H
#define PFS_PG_DEVICES_H

#include <stdbool.h>
#include <stdint.h>

#include "store/postgres/pg_store.h"
#include "store/store_accounts.h"

/* --- registry: one transaction each (pfs_pg_store_tx), audited --- */

int pfs_pg_device_add(struct pfs_pg_store *st, const struct pfs_device *d,
                      const struct pfs_actor *actor, int64_t now_ms, struct pf_error *err) PF_WUR;
int pfs_pg_device_import(struct pfs_pg_store *st, pfs_device_next_cb next, void *ctx,
                         const struct pfs_actor *actor, int64_t now_ms, int64_t *count,
                         struct pf_error *err) PF_WUR;
int pfs_pg_device_revoke(struct pfs_pg_store *st, const char *serial, const struct pfs_actor *actor,
                         int64_t now_ms, struct pf_error *err) PF_WUR;

/* --- reads (on the store's session: they see the open batch) --- */

int pfs_pg_device_get(struct pfs_pg_store *st, const char *serial, struct pfs_device *d,
                      struct pfs_dev_state *s) PF_WUR;
int pfs_pg_device_status(struct pfs_pg_store *st, const char *serial,
                         enum pfs_dev_status *status) PF_WUR;
int pfs_pg_device_list(struct pfs_pg_store *st, const struct pfs_dev_filter *f, pfs_device_cb cb,
                       void *ctx, bool *more) PF_WUR;
int pfs_pg_health_recent(struct pfs_pg_store *st, const char *serial, int n, pfs_health_cb cb,
                         void *ctx) PF_WUR;
int pfs_pg_health_range(struct pfs_pg_store *st, const char *serial, int64_t from_ms, int64_t to_ms,
                        pfs_health_point_cb cb, void *ctx) PF_WUR;
int pfs_pg_alerts_open(struct pfs_pg_store *st, const char *serial, pfs_alert_cb cb,
                       void *ctx) PF_WUR;
int pfs_pg_summary(struct pfs_pg_store *st, struct pfs_summary *sum, pfs_group_cb cb,
                   void *ctx) PF_WUR;
int pfs_pg_summary_in(struct pfs_pg_store *st, const struct pfs_scope *scope,
                      struct pfs_summary *sum, pfs_group_cb cb, void *ctx) PF_WUR;
int pfs_pg_fee_tables(struct pfs_pg_store *st, pfs_fee_group_cb cb, void *ctx) PF_WUR;
int pfs_pg_audit_list(struct pfs_pg_store *st, const char *target, int64_t before_id, int limit,
                      pfs_audit_cb cb, void *ctx) PF_WUR;
int pfs_pg_seen_each(struct pfs_pg_store *st, pfs_seen_cb cb, void *ctx) PF_WUR;
int pfs_pg_health_count(struct pfs_pg_store *st, const char *serial, int64_t *n) PF_WUR;

/* The scoped forms of store_accounts.h (scope NULL: everything), which
 * pfs_pg_alerts_open and pfs_pg_fee_tables are. */
int pfs_pg_alerts_in(struct pfs_pg_store *st, const struct pfs_scope *scope, const char *serial,
                     pfs_alert_cb cb, void *ctx) PF_WUR;
int pfs_pg_fee_tables_in(struct pfs_pg_store *st, const struct pfs_scope *scope,
                         pfs_fee_group_cb cb, void *ctx) PF_WUR;

#endif
