/*
 * health_series.h - a terminal's health over a time range, downsampled for
 * a chart (GET /v1/devices/{serial}/health, docs/server.md).
 *
 * The range [from_ms, to_ms] is cut into at most max_points buckets of equal
 * width (bucket_ms, at least 1 ms); each stored report falls into the bucket
 * of its ts_ms (the terminal's clock) and a bucket becomes one point: the
 * mean of its reports' time and of each value, rounded to the nearest
 * integer. A bucket with one report is that report, so a range with fewer
 * reports than buckets is answered exactly; empty buckets give no point.
 * Thirty days of reports every 60 s (43,200) become at most max_points.
 *
 * The caller owns the struct; pfs_hseries_release frees the buckets.
 */
#ifndef PFS_HEALTH_SERIES_H
#define PFS_HEALTH_SERIES_H

#include <stddef.h>
#include <stdint.h>

#include "pf/error.h"
#include "store/store.h"

#define PFS_HSERIES_POINTS_MAX 2000

struct pfs_hseries__bucket {
    int64_t n;
    int64_t sum[5]; /* ts_ms, battery, signal, temp, storage */
};

struct pfs_hseries {
    int64_t from_ms, to_ms, bucket_ms;
    size_t nbuckets;
    int64_t reports; /* reports added inside the range */
    struct pfs_hseries__bucket *b;
};

/* 0, PF_EINVAL (to_ms < from_ms, max_points outside 1..PFS_HSERIES_POINTS_MAX)
 * or PF_ENOMEM. */
int pfs_hseries_init(struct pfs_hseries *hs, int64_t from_ms, int64_t to_ms,
                     size_t max_points) PF_WUR;
/* Adds a report; one outside the range is ignored. */
void pfs_hseries_add(struct pfs_hseries *hs, const struct pfs_health_point *p);
/* The non-empty buckets' points in time order: calls cb for each; stops at
 * and returns cb's first non-zero answer. */
int pfs_hseries_each(const struct pfs_hseries *hs,
                     int (*cb)(void *ctx, const struct pfs_health_point *p), void *ctx) PF_WUR;
void pfs_hseries_release(struct pfs_hseries *hs);

#endif
