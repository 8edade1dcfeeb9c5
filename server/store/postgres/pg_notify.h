/*
 * pg_notify.h - the PostgreSQL twins of store_notify.h (pg_notify.c):
 * webhook events, one delivery per subscribed hook, and the log of every
 * attempt, with the SQLite backend's results and errors.
 */
#ifndef PFS_PG_NOTIFY_H
#define PFS_PG_NOTIFY_H

#include "store/postgres/pg_store.h"
#include "store/store_notify.h"

int pfs_pg_notify_add(struct pfs_pg_store *st, const struct pfs_notify_event *ev,
                      const char *const *hooks, size_t n, int64_t now_ms,
                      struct pf_error *err) PF_WUR;
int pfs_pg_notify_due(struct pfs_pg_store *st, int64_t now_ms, int limit, pfs_delivery_cb cb,
                      void *ctx) PF_WUR;
int pfs_pg_notify_next(struct pfs_pg_store *st, int64_t *next_ms, bool *any) PF_WUR;
int pfs_pg_notify_result(struct pfs_pg_store *st, int64_t delivery, const struct pfs_attempt *a,
                         enum pfs_delivery_state state, int64_t next_ms, int64_t now_ms,
                         struct pf_error *err) PF_WUR;
int pfs_pg_notify_log(struct pfs_pg_store *st, const char *hook, int64_t before_id, int limit,
                      pfs_delivery_cb cb, void *ctx) PF_WUR;
int pfs_pg_notify_counts(struct pfs_pg_store *st, const char *hook, int64_t counts[]) PF_WUR;

#endif
