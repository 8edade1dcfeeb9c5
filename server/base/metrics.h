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

/* HTTP requests are counted by route (an index the API gives, its last slot
 * for requests refused before a route was decided) and status code (one of
 * pfs_http_codes, its last slot for any other code). */
#define PFS_HTTP_ROUTES_MAX 96
#define PFS_HTTP_CODE_COUNT 15
extern const int pfs_http_codes[PFS_HTTP_CODE_COUNT]; /* 200 ... 503, then 0 for "other" */

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
    uint64_t http_requests[PFS_HTTP_ROUTES_MAX + 1][PFS_HTTP_CODE_COUNT];
    struct pfs_hist http_seconds; /* from the request's head to its answer */
};

/* A text under construction for the exposition format (see pfs_mtext_add). */
struct pfs_mtext {
    char *p; /* NUL-terminated, heap */
    size_t len, cap;
    int failed; /* out of memory: the text is incomplete */
};

struct pfs_gauges {
    int64_t terminals_online;
    int64_t alerts_open[PFS_ALERT_COUNT];
};

void pfs_metrics_init(struct pfs_metrics *m);
void pfs_metrics_reject(struct pfs_metrics *m, int code);
void pfs_hist_observe(struct pfs_hist *h, double v);
/* Counts one answered request of route (>= PFS_HTTP_ROUTES_MAX: refused
 * before a route was decided) with status, answered after seconds. */
void pfs_metrics_http(struct pfs_metrics *m, size_t route, int status, double seconds);

/* Appends to t (an empty t starts a new text); on failure t->failed is set. */
void pfs_mtext_add(struct pfs_mtext *t, const char *fmt, ...) PF_PRINTF(2, 3);
/* Appends a histogram with its HELP and TYPE. */
void pfs_mtext_hist(struct pfs_mtext *t, const char *name, const char *help,
                    const struct pfs_hist *h);
/* HTTP requests: every route label (routes[i], "METHOD PATTERN" split into
 * method and route labels) times every code, at zero from the start, and the
 * latency histogram. */
void pfs_metrics_render_http(const struct pfs_metrics *m, const char *const *methods,
                             const char *const *patterns, size_t nroutes, struct pfs_mtext *t);
/* The process: CPU seconds, resident memory, open descriptors, start time. */
void pfs_metrics_render_process(struct pfs_mtext *t);
/* Renders the exposition text into a heap buffer (caller frees). */
int pfs_metrics_render(const struct pfs_metrics *m, const struct pfs_gauges *g, char **out,
                       size_t *len) PF_WUR;

#endif
