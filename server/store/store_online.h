/*
 * store_online.h - the online count over time that the dashboard draws
 * ("online terminals over the last 24 h"): posfleetd records a sample of the
 * terminals online now, per organisation (and per merchant that has a
 * merchant user), every store.online_sample_s seconds; a scoped read sums the
 * rows inside the caller's scope (store_accounts.h), so every organisation
 * and merchant user gets its own line from the same samples.
 *
 * Counting reads every online terminal's row, seconds at a million terminals,
 * so posfleetd counts on a worker thread over a read-only connection of its
 * own (pfs_store_online_count_file) and only saves the few rows on its loop
 * (pfs_store_online_save). struct pfs_online_counts is caller-owned; its
 * array is released with pfs_online_counts_release.
 */
#ifndef PFS_STORE_ONLINE_H
#define PFS_STORE_ONLINE_H

#include <stddef.h>
#include <stdint.h>

#include "pf/error.h"
#include "store/store.h"
#include "store/store_accounts.h"

/* One row of a sample: the terminals online in an organisation (merchant "")
 * or, for a merchant with a merchant user, in that merchant. */
struct pfs_online_count {
    char org_path[PFS_ORG_PATH_MAX + 1];
    char merchant[PFS_MERCHANT_MAX + 1];
    int64_t online;
};
struct pfs_online_counts {
    struct pfs_online_count *v; /* heap, n used of cap */
    size_t n, cap;
};
void pfs_online_counts_release(struct pfs_online_counts *c);

/* The store's database file name into path (for pfs_store_online_count_file).
 * PF_ETOOBIG if it does not fit, PF_EINVAL if the store is not a file. */
int pfs_store_online_source(struct pfs_store *st, char *path, size_t size) PF_WUR;
/* Counts the online terminals now on a read-only connection of its own to the
 * store file at path: safe on another thread while the loop uses the store. */
int pfs_store_online_count_file(const char *path, struct pfs_online_counts *c,
                                struct pf_error *err) PF_WUR;
/* Records the sample c taken at now_ms and deletes samples older than
 * keep_from_ms, in one transaction. PF_EEXIST if a sample at now_ms exists. */
int pfs_store_online_save(struct pfs_store *st, int64_t now_ms, int64_t keep_from_ms,
                          const struct pfs_online_counts *c, struct pf_error *err) PF_WUR;
/* Both on the store's own connection: counts (commit the ingest batch first)
 * and saves. */
int pfs_store_online_sample(struct pfs_store *st, int64_t now_ms, int64_t keep_from_ms,
                            struct pf_error *err) PF_WUR;

/* One sample: its time and the terminals online inside the scope then. */
typedef int (*pfs_online_cb)(void *ctx, int64_t ts_ms, int64_t online);
/* The samples at or after since_ms, oldest first, counted inside scope (NULL:
 * everything). cb's non-zero return stops and is returned. */
int pfs_store_online_series(struct pfs_store *st, const struct pfs_scope *scope, int64_t since_ms,
                            pfs_online_cb cb, void *ctx) PF_WUR;

#endif
