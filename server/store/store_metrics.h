/*
 * store_metrics.h - the counts /metrics shows that only the store knows:
 * terminals by lifecycle state, open repairs, and the members of every live
 * rollout by status. Read at render time (the counts of live rollouts are the
 * exact counters store_rollouts.h keeps; the others are small GROUP BYs).
 */
#ifndef PFS_STORE_METRICS_H
#define PFS_STORE_METRICS_H

#include <stdint.h>

#include "pf/error.h"
#include "store/store.h"

enum pfs_gauge_family {
    PFS_GAUGE_TERMINALS,       /* label: lifecycle state; registered terminals only */
    PFS_GAUGE_REPAIRS_OPEN,    /* label: NULL; repairs not yet returned to stock or scrapped */
    PFS_GAUGE_ROLLOUT_MEMBERS, /* id: the rollout; label: member status */
};

/* One row per (family, id, label) with a count; rows of a rollout are consecutive. */
typedef int (*pfs_gauge_cb)(void *ctx, enum pfs_gauge_family family, int64_t id, const char *label,
                            int64_t n);
int pfs_store_gauges(struct pfs_store *st, pfs_gauge_cb cb, void *ctx) PF_WUR;

#endif
