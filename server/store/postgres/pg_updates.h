/*
 * pg_updates.h - the PostgreSQL twins of store_updates.h (pg_updates.c):
 * bundles, offers, outcome events and each terminal's current update, with
 * the SQLite backend's results, errors and audit rows.
 */
#ifndef PFS_PG_UPDATES_H
#define PFS_PG_UPDATES_H

#include "store/postgres/pg_store.h"
#include "store/store_updates.h"

int pfs_pg_bundle_put(struct pfs_pg_store *st, const struct pfs_bundle_rec *b,
                      const struct pfs_actor *actor, int64_t now_ms, bool *created,
                      struct pf_error *err) PF_WUR;
int pfs_pg_bundle_get(struct pfs_pg_store *st, const char *id, struct pfs_bundle_rec *b) PF_WUR;
int pfs_pg_bundle_list(struct pfs_pg_store *st, int limit, pfs_bundle_cb cb, void *ctx) PF_WUR;

int pfs_pg_offer_put(struct pfs_pg_store *st, const struct pfs_offer_rec *o,
                     const struct pfs_bundle_rec *b, const char *body,
                     const struct pfs_actor *actor, struct pf_error *err) PF_WUR;
int pfs_pg_offer_pending(struct pfs_pg_store *st, const char *serial, int64_t now_ms,
                         char **body) PF_WUR;
int pfs_pg_offer_check(struct pfs_pg_store *st, const char *serial, const char *offer) PF_WUR;
int pfs_pg_offer_current(struct pfs_pg_store *st, const char *serial, int64_t now_ms,
                         struct pfs_offer_rec *o, uint64_t *bundle_size) PF_WUR;

int pfs_pg_update_event_put(struct pfs_pg_store *st, const char *serial,
                            const struct pf_update_event *e, int64_t recv_ms,
                            bool *recorded) PF_WUR;
int pfs_pg_update_events(struct pfs_pg_store *st, const char *serial, int limit, pfs_update_cb cb,
                         void *ctx) PF_WUR;
int pfs_pg_update_expire(struct pfs_pg_store *st, int64_t before_ms, int64_t now_ms, int max,
                         int *deleted) PF_WUR;
int pfs_pg_update_prune(struct pfs_pg_store *st, const char *serial, int keep, int64_t now_ms,
                        int *deleted) PF_WUR;
int pfs_pg_update_current(struct pfs_pg_store *st, const char *serial,
                          struct pfs_update_rec *r) PF_WUR;
int pfs_pg_update_counts(struct pfs_pg_store *st, pfs_count_cb cb, void *ctx) PF_WUR;
int pfs_pg_update_event_count(struct pfs_pg_store *st, const char *serial, const char *id,
                              int64_t *n) PF_WUR;

/*
 * The rows of an offer (update_offers, and update_state made 'offered'),
 * inside the caller's transaction on pg: written by a plain offer and by a
 * rollout's (SQLite's pfs_store_offer_rows). PF_EEXIST (nothing written)
 * when the offer id is taken.
 */
int pfs_pg_offer_rows(struct pfs_pg *pg, const struct pfs_offer_rec *o,
                      const struct pfs_bundle_rec *b, const char *body, const char *actor,
                      struct pf_error *err) PF_WUR;

#endif
