/*
 * store_online.h - the online count over time that the dashboard draws
 * ("online terminals over the last 24 h"): posfleetd records a sample of the
 * terminals online now, per organisation (and per merchant that has a
 * merchant user), every store.online_sample_s seconds; a scoped read sums the
 * rows inside the caller's scope (store_accounts.h), so every organisation
 * and merchant user gets its own line from the same samples.
 */
#ifndef PFS_STORE_ONLINE_H
#define PFS_STORE_ONLINE_H

#include <stdint.h>

#include "pf/error.h"
#include "store/store.h"
#include "store/store_accounts.h"

/*
 * Records the sample taken at now_ms (the store's online flags at this
 * instant: commit the ingest batch first) and deletes samples older than
 * keep_from_ms, in one transaction. PF_EEXIST if a sample at now_ms exists.
 */
int pfs_store_online_sample(struct pfs_store *st, int64_t now_ms, int64_t keep_from_ms,
                            struct pf_error *err) PF_WUR;

/* One sample: its time and the terminals online inside the scope then. */
typedef int (*pfs_online_cb)(void *ctx, int64_t ts_ms, int64_t online);
/* The samples at or after since_ms, oldest first, counted inside scope (NULL:
 * everything). cb's non-zero return stops and is returned. */
int pfs_store_online_series(struct pfs_store *st, const struct pfs_scope *scope, int64_t since_ms,
                            pfs_online_cb cb, void *ctx) PF_WUR;

#endif
