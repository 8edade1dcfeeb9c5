/*
 * health_series.c - a terminal's health downsampled for a chart
 * (health_series.h).
 */
#include "fleet/health_series.h"

#include <stdlib.h>
#include <string.h>

int pfs_hseries_init(struct pfs_hseries *hs, int64_t from_ms, int64_t to_ms, size_t max_points)
{
    uint64_t span;

    memset(hs, 0, sizeof(*hs));
    if (to_ms < from_ms || max_points < 1 || max_points > PFS_HSERIES_POINTS_MAX)
        return PF_EINVAL;
    span = (uint64_t)to_ms - (uint64_t)from_ms + 1;
    hs->bucket_ms = (int64_t)((span + max_points - 1) / max_points);
    hs->nbuckets = (size_t)((span + (uint64_t)hs->bucket_ms - 1) / (uint64_t)hs->bucket_ms);
    hs->from_ms = from_ms;
    hs->to_ms = to_ms;
    hs->b = calloc(hs->nbuckets, sizeof(*hs->b));
    return hs->b ? 0 : PF_ENOMEM;
}

void pfs_hseries_add(struct pfs_hseries *hs, const struct pfs_health_point *p)
{
    struct pfs_hseries__bucket *b;

    if (p->ts_ms < hs->from_ms || p->ts_ms > hs->to_ms)
        return;
    b = &hs->b[(uint64_t)(p->ts_ms - hs->from_ms) / (uint64_t)hs->bucket_ms];
    b->n++;
    /* Offsets from the range's start keep the time sum far from overflow. */
    b->sum[0] += p->ts_ms - hs->from_ms;
    b->sum[1] += p->battery_pct;
    b->sum[2] += p->signal_dbm;
    b->sum[3] += p->temp_c;
    b->sum[4] += p->storage_free_kb;
    hs->reports++;
}

/* sum / n rounded to the nearest integer, halves away from zero. */
static int64_t hseries__mean(int64_t sum, int64_t n)
{
    return sum >= 0 ? (sum + n / 2) / n : -((-sum + n / 2) / n);
}

int pfs_hseries_each(const struct pfs_hseries *hs,
                     int (*cb)(void *ctx, const struct pfs_health_point *p), void *ctx)
{
    for (size_t i = 0; i < hs->nbuckets; i++) {
        const struct pfs_hseries__bucket *b = &hs->b[i];
        struct pfs_health_point p;
        int rc;

        if (!b->n)
            continue;
        p.ts_ms = hs->from_ms + hseries__mean(b->sum[0], b->n);
        p.battery_pct = hseries__mean(b->sum[1], b->n);
        p.signal_dbm = hseries__mean(b->sum[2], b->n);
        p.temp_c = hseries__mean(b->sum[3], b->n);
        p.storage_free_kb = hseries__mean(b->sum[4], b->n);
        rc = cb(ctx, &p);
        if (rc)
            return rc;
    }
    return 0;
}

void pfs_hseries_release(struct pfs_hseries *hs)
{
    free(hs->b);
    hs->b = NULL;
    hs->nbuckets = 0;
}
