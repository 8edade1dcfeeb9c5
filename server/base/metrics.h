/*
 * metrics.h - posfleetd's counters and their Prometheus text rendering.
 *
 * Plain counters in the server context (one thread updates and reads them).
 * Gauges that are cheaper to compute than to maintain (terminals online, open
 * alerts per kind) are passed in at render time.
 */
#ifndef PFS_METRICS_H
#define PFS_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "fleet/alerts.h"
#include "pf/error.h"

enum pfs_msg_type { PFS_MSG_BIRTH, PFS_MSG_HEALTH, PFS_MSG_STATE, PFS_MSG_TYPE_COUNT };
extern const char *const pfs_msg_type_names[]; /* "birth", "health", "state" */

#define PFS_REASON_SLOTS 64 /* indexed by -PF_E* code */
#define PFS_HIST_MAX     16

struct pfs_hist {
    const double *le; /* upper bounds, ascending; +Inf implied */
    int nle;
    uint64_t counts[PFS_HIST_MAX]; /* per bucket (not cumulative) + one for +Inf */
    uint64_t count;
    double sum;
};

struct pfs_metrics {
    uint64_t accepted[PFS_MSG_TYPE_COUNT];
    uint64_t rejected[PFS_REASON_SLOTS];
    uint64_t store_errors;
    struct pfs_hist store_write_seconds; /* batch commit latency */
    struct pfs_hist store_batch_size;    /* writes per committed batch */
};

struct pfs_gauges {
    int64_t terminals_online;
    int64_t alerts_open[PFS_ALERT_COUNT];
};

void pfs_metrics_init(struct pfs_metrics *m);
void pfs_metrics_reject(struct pfs_metrics *m, int code);
void pfs_hist_observe(struct pfs_hist *h, double v);
/* Renders the exposition text into a heap buffer (caller frees). */
int pfs_metrics_render(const struct pfs_metrics *m, const struct pfs_gauges *g, char **out,
                       size_t *len) PF_WUR;

#endif
