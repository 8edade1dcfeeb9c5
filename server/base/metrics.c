/*
 * metrics.c - counters, histograms and the Prometheus text format.
 */
#include "base/metrics.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>

#include "pf/num.h"

const char *const pfs_msg_type_names[] = {"birth", "health", "state", NULL};

static const double metrics__write_le[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                           0.05,   0.1,   0.25,   0.5,   1,    2.5};
static const double metrics__batch_le[] = {1, 10, 50, 100, 250, 500, 1000, 2500, 5000, 10000};

static const double metrics__http_le[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                          0.1,   0.25,   0.5,   1,    2.5,   10};

void pfs_metrics_init(struct pfs_metrics *m)
{
    memset(m, 0, sizeof(*m));
    m->store_write_seconds.le = metrics__write_le;
    m->store_write_seconds.nle = (int)(sizeof(metrics__write_le) / sizeof(double));
    m->store_batch_size.le = metrics__batch_le;
    m->store_batch_size.nle = (int)(sizeof(metrics__batch_le) / sizeof(double));
    m->http_seconds.le = metrics__http_le;
    m->http_seconds.nle = (int)(sizeof(metrics__http_le) / sizeof(double));
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

const int pfs_http_codes[PFS_HTTP_CODE_COUNT] = {200, 201, 202, 204, 400, 401, 403, 404,
                                                 405, 409, 413, 429, 500, 503, 0};

void pfs_metrics_http(struct pfs_metrics *m, size_t route, int status, double seconds)
{
    int c = PFS_HTTP_CODE_COUNT - 1;

    if (route > PFS_HTTP_ROUTES_MAX)
        route = PFS_HTTP_ROUTES_MAX;
    for (int i = 0; i < PFS_HTTP_CODE_COUNT - 1; i++) {
        if (pfs_http_codes[i] == status) {
            c = i;
            break;
        }
    }
    m->http_requests[route][c]++;
    pfs_hist_observe(&m->http_seconds, seconds);
}

void pfs_mtext_add(struct pfs_mtext *b, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (b->failed)
        return;
    for (;;) {
        if (b->cap - b->len < 2) {
            size_t ncap = b->cap ? 2 * b->cap : 4096;
            char *np = realloc(b->p, ncap);

            if (!np) {
                b->failed = 1;
                return;
            }
            if (!b->p)
                np[0] = '\0';
            b->p = np;
            b->cap = ncap;
        }
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

void pfs_mtext_hist(struct pfs_mtext *b, const char *name, const char *help,
                    const struct pfs_hist *h)
{
    uint64_t cum = 0;

    pfs_mtext_add(b, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name);
    for (int i = 0; i < h->nle; i++) {
        cum += h->counts[i];
        pfs_mtext_add(b, "%s_bucket{le=\"%g\"} %llu\n", name, h->le[i], (unsigned long long)cum);
    }
    cum += h->counts[h->nle];
    pfs_mtext_add(b, "%s_bucket{le=\"+Inf\"} %llu\n", name, (unsigned long long)cum);
    pfs_mtext_add(b, "%s_sum %.6f\n%s_count %llu\n", name, h->sum, name,
                  (unsigned long long)h->count);
}

void pfs_metrics_render_http(const struct pfs_metrics *m, const char *const *methods,
                             const char *const *patterns, size_t nroutes, struct pfs_mtext *t)
{
    if (nroutes > PFS_HTTP_ROUTES_MAX)
        nroutes = PFS_HTTP_ROUTES_MAX;
    pfs_mtext_add(t, "# HELP posfleet_http_requests_total HTTP requests answered, by method and "
                     "route pattern of the API (route \"(refused)\": refused before a route was "
                     "decided) and status code (\"other\": a code not listed).\n"
                     "# TYPE posfleet_http_requests_total counter\n");
    for (size_t r = 0; r <= nroutes; r++) {
        size_t slot = r < nroutes ? r : PFS_HTTP_ROUTES_MAX;
        const char *method = r < nroutes ? methods[r] : "";
        const char *route = r < nroutes ? patterns[r] : "(refused)";

        for (int c = 0; c < PFS_HTTP_CODE_COUNT; c++) {
            char code[8];

            if (pfs_http_codes[c])
                snprintf(code, sizeof(code), "%d", pfs_http_codes[c]);
            else
                snprintf(code, sizeof(code), "other");
            pfs_mtext_add(t,
                          "posfleet_http_requests_total{method=\"%s\",route=\"%s\",code=\"%s\"} "
                          "%llu\n",
                          method, route, code, (unsigned long long)m->http_requests[slot][c]);
        }
    }
    pfs_mtext_hist(t, "posfleet_http_request_duration_seconds",
                   "Time from a request's head to its answer.", &m->http_seconds);
}

/* The number of entries of /proc/self/fd, -1 if it cannot be read. */
static long metrics__open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    long n = 0;

    if (!d)
        return -1;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] != '.')
            n++;
    }
    closedir(d);
    return n - 1; /* the descriptor of d itself */
}

/* Resident pages from /proc/self/statm, in bytes; -1 if unknown. */
static long long metrics__rss(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    char line[128], *sp, *end;
    uint64_t pages;
    long page = sysconf(_SC_PAGESIZE);
    int ok;

    if (!f)
        return -1;
    ok = fgets(line, sizeof(line), f) != NULL;
    fclose(f);
    if (!ok || page <= 0 || !(sp = strchr(line, ' ')))
        return -1;
    sp++;
    end = sp + strcspn(sp, " \n");
    *end = '\0';
    if (pf_parse_u64(sp, 0, UINT64_MAX / 65536, &pages) != 0)
        return -1;
    return (long long)(pages * (uint64_t)page);
}

void pfs_metrics_render_process(struct pfs_mtext *t)
{
    struct rusage ru;
    double cpu = 0;
    long long rss = metrics__rss();
    long fds = metrics__open_fds();

    if (getrusage(RUSAGE_SELF, &ru) == 0)
        cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
              (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
    pfs_mtext_add(t,
                  "# HELP process_cpu_seconds_total User and system CPU time spent, in seconds.\n"
                  "# TYPE process_cpu_seconds_total counter\n"
                  "process_cpu_seconds_total %.6f\n",
                  cpu);
    pfs_mtext_add(t,
                  "# HELP process_resident_memory_bytes Resident memory size in bytes.\n"
                  "# TYPE process_resident_memory_bytes gauge\n"
                  "process_resident_memory_bytes %lld\n",
                  rss < 0 ? 0 : rss);
    pfs_mtext_add(t,
                  "# HELP process_open_fds Open file descriptors.\n"
                  "# TYPE process_open_fds gauge\n"
                  "process_open_fds %ld\n",
                  fds < 0 ? 0 : fds);
}

int pfs_metrics_render(const struct pfs_metrics *m, const struct pfs_gauges *g, char **out,
                       size_t *len)
{
    struct pfs_mtext b = {0};

    *out = NULL;
    *len = 0;
    pfs_mtext_add(&b, "# HELP posfleet_messages_accepted_total Terminal messages accepted and "
                      "stored, by type.\n# TYPE posfleet_messages_accepted_total counter\n");
    for (int i = 0; i < PFS_MSG_TYPE_COUNT; i++)
        pfs_mtext_add(&b, "posfleet_messages_accepted_total{type=\"%s\"} %llu\n",
                      pfs_msg_type_names[i], (unsigned long long)m->accepted[i]);
    pfs_mtext_add(&b, "# HELP posfleet_messages_rejected_total Terminal messages rejected, by "
                      "reason (pf_errname).\n# TYPE posfleet_messages_rejected_total counter\n");
    for (int i = 1; i < PFS_REASON_SLOTS; i++) {
        /* every reason, at zero from the start */
        if (strcmp(pf_errname(-i), "UNKNOWN") != 0)
            pfs_mtext_add(&b, "posfleet_messages_rejected_total{reason=\"%s\"} %llu\n",
                          pf_errname(-i), (unsigned long long)m->rejected[i]);
    }
    pfs_mtext_add(&b,
                  "# HELP posfleet_store_errors_total Store writes that failed.\n"
                  "# TYPE posfleet_store_errors_total counter\n"
                  "posfleet_store_errors_total %llu\n",
                  (unsigned long long)m->store_errors);
    pfs_mtext_add(&b,
                  "# HELP posfleet_terminals_online Registered terminals currently online.\n"
                  "# TYPE posfleet_terminals_online gauge\nposfleet_terminals_online %lld\n",
                  (long long)g->terminals_online);
    pfs_mtext_add(&b, "# HELP posfleet_alerts_open Open alerts, by kind.\n"
                      "# TYPE posfleet_alerts_open gauge\n");
    for (int i = 0; i < PFS_ALERT_COUNT; i++)
        pfs_mtext_add(&b, "posfleet_alerts_open{kind=\"%s\"} %lld\n", pfs_alert_names[i],
                      (long long)g->alerts_open[i]);
    pfs_mtext_hist(&b, "posfleet_store_write_seconds", "Time to commit one batch of ingest writes.",
                   &m->store_write_seconds);
    pfs_mtext_hist(&b, "posfleet_store_batch_size", "Writes per committed ingest batch.",
                   &m->store_batch_size);
    if (b.failed) {
        free(b.p);
        return PF_ENOMEM;
    }
    *out = b.p;
    *len = b.len;
    return 0;
}
