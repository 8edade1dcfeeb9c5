/*
 * metrics.c - counters, histograms and the Prometheus text format.
 */
#include "base/metrics.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const pfs_msg_type_names[] = {"birth", "health", "state", NULL};

static const double metrics__write_le[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                           0.05,   0.1,   0.25,   0.5,   1,    2.5};
static const double metrics__batch_le[] = {1, 10, 50, 100, 250, 500, 1000, 2500, 5000, 10000};

void pfs_metrics_init(struct pfs_metrics *m)
{
    memset(m, 0, sizeof(*m));
    m->store_write_seconds.le = metrics__write_le;
    m->store_write_seconds.nle = (int)(sizeof(metrics__write_le) / sizeof(double));
    m->store_batch_size.le = metrics__batch_le;
    m->store_batch_size.nle = (int)(sizeof(metrics__batch_le) / sizeof(double));
}

void pfs_metrics_reject(struct pfs_metrics *m, int code)
{
    int i = -code;

    if (i <= 0 || i >= PFS_REASON_SLOTS)
        i = -PF_EINVAL;
    m->rejected[i]++;
}

void pfs_hist_observe(struct pfs_hist *h, double v)
{
    int i = 0;

    while (i < h->nle && v > h->le[i])
        i++;
    h->counts[i]++;
    h->count++;
    h->sum += v;
}

struct metrics__buf {
    char *p;
    size_t len, cap;
    int failed;
};

static void metrics__add(struct metrics__buf *b, const char *fmt, ...) PF_PRINTF(2, 3);

static void metrics__add(struct metrics__buf *b, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (b->failed)
        return;
    for (;;) {
        va_start(ap, fmt);
        n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->failed = 1;
            return;
        }
        if ((size_t)n < b->cap - b->len) {
            b->len += (size_t)n;
            return;
        }
        {
            size_t ncap = 2 * b->cap + (size_t)n;
            char *np = realloc(b->p, ncap);

            if (!np) {
                b->failed = 1;
                return;
            }
            b->p = np;
            b->cap = ncap;
        }
    }
}

static void metrics__hist(struct metrics__buf *b, const char *name, const char *help,
                          const struct pfs_hist *h)
{
    uint64_t cum = 0;

    metrics__add(b, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name);
    for (int i = 0; i < h->nle; i++) {
        cum += h->counts[i];
        metrics__add(b, "%s_bucket{le=\"%g\"} %llu\n", name, h->le[i], (unsigned long long)cum);
    }
    cum += h->counts[h->nle];
    metrics__add(b, "%s_bucket{le=\"+Inf\"} %llu\n", name, (unsigned long long)cum);
    metrics__add(b, "%s_sum %.6f\n%s_count %llu\n", name, h->sum, name,
                 (unsigned long long)h->count);
}

int pfs_metrics_render(const struct pfs_metrics *m, const struct pfs_gauges *g, char **out,
                       size_t *len)
{
    struct metrics__buf b = {.p = malloc(4096), .cap = 4096};

    *out = NULL;
    *len = 0;
    if (!b.p)
        return PF_ENOMEM;
    b.p[0] = '\0';
    metrics__add(&b, "# HELP posfleet_messages_accepted_total Terminal messages accepted and "
                     "stored, by type.\n# TYPE posfleet_messages_accepted_total counter\n");
    for (int i = 0; i < PFS_MSG_TYPE_COUNT; i++)
        metrics__add(&b, "posfleet_messages_accepted_total{type=\"%s\"} %llu\n",
                     pfs_msg_type_names[i], (unsigned long long)m->accepted[i]);
    metrics__add(&b, "# HELP posfleet_messages_rejected_total Terminal messages rejected, by "
                     "reason (pf_errname).\n# TYPE posfleet_messages_rejected_total counter\n");
    for (int i = 1; i < PFS_REASON_SLOTS; i++) {
        if (m->rejected[i])
            metrics__add(&b, "posfleet_messages_rejected_total{reason=\"%s\"} %llu\n",
                         pf_errname(-i), (unsigned long long)m->rejected[i]);
    }
    metrics__add(&b,
                 "# HELP posfleet_store_errors_total Store writes that failed.\n"
                 "# TYPE posfleet_store_errors_total counter\n"
                 "posfleet_store_errors_total %llu\n",
                 (unsigned long long)m->store_errors);
    metrics__add(&b,
                 "# HELP posfleet_terminals_online Registered terminals currently online.\n"
                 "# TYPE posfleet_terminals_online gauge\nposfleet_terminals_online %lld\n",
                 (long long)g->terminals_online);
    metrics__add(&b, "# HELP posfleet_alerts_open Open alerts, by kind.\n"
                     "# TYPE posfleet_alerts_open gauge\n");
    for (int i = 0; i < PFS_ALERT_COUNT; i++)
        metrics__add(&b, "posfleet_alerts_open{kind=\"%s\"} %lld\n", pfs_alert_names[i],
                     (long long)g->alerts_open[i]);
    metrics__hist(&b, "posfleet_store_write_seconds", "Time to commit one batch of ingest writes.",
                  &m->store_write_seconds);
    metrics__hist(&b, "posfleet_store_batch_size", "Writes per committed ingest batch.",
                  &m->store_batch_size);
    if (b.failed) {
        free(b.p);
        return PF_ENOMEM;
    }
    *out = b.p;
    *len = b.len;
    return 0;
}
