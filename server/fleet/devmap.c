/*
 * devmap.c - the registry cache: a chained hash map of terminals (FNV-1a,
 * doubling at load 1), the registry decision and the alert bookkeeping.
 */
#include "fleet/devmap.h"

#include <stdlib.h>
#include <string.h>

static uint64_t devmap__hash(const char *s)
{
    uint64_t h = 1469598103934665603ull;

    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ull;
    }
    return h;
}

void pfs_devmap_init(struct pfs_devmap *m, struct pfs_store *store, struct pfs_metrics *metrics,
                     const struct pfs_log *log)
{
    memset(m, 0, sizeof(*m));
    m->store = store;
    m->metrics = metrics;
    m->log = log;
}

void pfs_devmap_release(struct pfs_devmap *m)
{
    for (size_t i = 0; i < m->nbuckets; i++) {
        struct pfs_dev *d = m->buckets[i];

        while (d) {
            struct pfs_dev *next = d->next;

            free(d);
            d = next;
        }
    }
    free(m->buckets);
    m->buckets = NULL;
    m->nbuckets = m->count = 0;
    memset(m->alerts_open, 0, sizeof(m->alerts_open));
}

struct pfs_dev *pfs_devmap_get(struct pfs_devmap *m, const char *serial)
{
    if (!m->nbuckets)
        return NULL;
    for (struct pfs_dev *d = m->buckets[devmap__hash(serial) & (m->nbuckets - 1)]; d; d = d->next) {
        if (strcmp(d->serial, serial) == 0)
            return d;
    }
    return NULL;
}

static int devmap__grow(struct pfs_devmap *m)
{
    size_t nb = m->nbuckets ? 2 * m->nbuckets : 1024;
    struct pfs_dev **b = calloc(nb, sizeof(*b));

    if (!b)
        return PF_ENOMEM;
    for (size_t i = 0; i < m->nbuckets; i++) {
        struct pfs_dev *d = m->buckets[i];

        while (d) {
            struct pfs_dev *next = d->next;
            size_t j = devmap__hash(d->serial) & (nb - 1);

            d->next = b[j];
            b[j] = d;
            d = next;
        }
    }
    free(m->buckets);
    m->buckets = b;
    m->nbuckets = nb;
    return 0;
}

int pfs_devmap_put(struct pfs_devmap *m, const char *serial, struct pfs_dev **out, bool *added)
{
    struct pfs_dev *d = pfs_devmap_get(m, serial);
    size_t j;

    if (added)
        *added = false;
    if (d) {
        *out = d;
        return 0;
    }
    if (strlen(serial) > PF_SERIAL_MAX)
        return PF_EINVAL;
    if (m->count >= m->nbuckets && devmap__grow(m))
        return PF_ENOMEM;
    d = calloc(1, sizeof(*d));
    if (!d)
        return PF_ENOMEM;
    memcpy(d->serial, serial, strlen(serial) + 1);
    j = devmap__hash(serial) & (m->nbuckets - 1);
    d->next = m->buckets[j];
    m->buckets[j] = d;
    m->count++;
    if (added)
        *added = true;
    *out = d;
    return 0;
}

struct pfs_dev *pfs_devmap_first(struct pfs_devmap *m, size_t *it)
{
    for (*it = 0; *it < m->nbuckets; (*it)++) {
        if (m->buckets[*it])
            return m->buckets[*it];
    }
    return NULL;
}

struct pfs_dev *pfs_devmap_next(struct pfs_devmap *m, struct pfs_dev *d, size_t *it)
{
    if (d->next)
        return d->next;
    for ((*it)++; *it < m->nbuckets; (*it)++) {
        if (m->buckets[*it])
            return m->buckets[*it];
    }
    return NULL;
}

/* ---- alerts ------------------------------------------------------------------ */

int pfs_devmap_alert_open(struct pfs_devmap *m, struct pfs_dev *d, int kind, int64_t now,
                          const char *detail)
{
    int rc;

    if (d->alerts & PFS_ALERT_BIT(kind))
        return 0;
    rc = pfs_store_alert_open(m->store, d->serial, pfs_alert_names[kind], now, detail);
    if (rc && rc != PF_EEXIST)
        return rc;
    d->alerts |= PFS_ALERT_BIT(kind);
    m->alerts_open[kind]++;
    pfs_log_info(m->log, "alert: %s: %s opened (%s)", d->serial, pfs_alert_names[kind], detail);
    return 0;
}

int pfs_devmap_alert_close(struct pfs_devmap *m, struct pfs_dev *d, int kind, int64_t now)
{
    int rc;

    if (!(d->alerts & PFS_ALERT_BIT(kind)))
        return 0;
    rc = pfs_store_alert_close(m->store, d->serial, pfs_alert_names[kind], now);
    if (rc && rc != PF_ENOENT)
        return rc;
    d->alerts &= ~PFS_ALERT_BIT(kind);
    m->alerts_open[kind]--;
    pfs_log_info(m->log, "alert: %s: %s closed", d->serial, pfs_alert_names[kind]);
    return 0;
}

/* ---- the registry decision ------------------------------------------------------ */

static void devmap__known(struct pfs_dev *d, int rc, enum pfs_dev_status status)
{
    if (rc == PF_EUNKNOWN_SERIAL)
        d->known = PFS_KNOWN_UNKNOWN;
    else
        d->known = status == PFS_DEV_REVOKED ? PFS_KNOWN_REVOKED : PFS_KNOWN_REGISTERED;
}

int pfs_devmap_find(struct pfs_devmap *m, const char *serial, struct pfs_dev **out)
{
    enum pfs_dev_status status = PFS_DEV_REGISTERED;
    struct pfs_dev *d = pfs_devmap_get(m, serial);
    int rc, prc;

    if (d) {
        *out = d;
        return 0;
    }
    rc = pfs_store_device_status(m->store, serial, &status);
    if (rc && rc != PF_EUNKNOWN_SERIAL)
        return rc;
    prc = pfs_devmap_put(m, serial, &d, NULL);
    if (prc)
        return prc;
    devmap__known(d, rc, status);
    *out = d;
    return 0;
}

/* A refusal of this module: counted, returned. */
static int devmap__refuse(struct pfs_devmap *m, int code)
{
    pfs_metrics_reject(m->metrics, code);
    return code;
}

/* At most one log line per serial per window. */
static bool devmap__log_due(struct pfs_dev *d, int64_t now)
{
    if (d->logged_ms != 0 && now - d->logged_ms < PFS_UNKNOWN_LOG_WINDOW_MS)
        return false;
    d->logged_ms = now;
    return true;
}

int pfs_devmap_admit(struct pfs_devmap *m, const char *serial, int64_t now, struct pfs_dev **out)
{
    struct pfs_dev *d;
    int rc = pfs_devmap_find(m, serial, &d);

    *out = NULL;
    if (rc) {
        m->metrics->store_errors++;
        pfs_log_error(m->log, "ingest: %s: registry read failed: %s", serial, pf_strerror(rc));
        return devmap__refuse(m, PF_EIO);
    }
    switch (d->known) {
    case PFS_KNOWN_REGISTERED:
        *out = d;
        return 0;
    case PFS_KNOWN_REVOKED:
        if (devmap__log_due(d, now))
            pfs_log_warn(m->log, "ingest: %s: revoked, messages dropped", serial);
        return devmap__refuse(m, PF_EREVOKED);
    default:
        if (devmap__log_due(d, now))
            pfs_log_warn(m->log, "ingest: %s: not registered, messages ignored", serial);
        rc = pfs_devmap_alert_open(m, d, PFS_ALERT_UNKNOWN_SERIAL, now,
                                   "messages from a serial that is not registered");
        if (rc) {
            m->metrics->store_errors++;
            pfs_log_error(m->log, "ingest: %s: store write failed: %s", serial, pf_strerror(rc));
        }
        return devmap__refuse(m, PF_EUNKNOWN_SERIAL);
    }
}

/* ---- the order of reports ------------------------------------------------------------ */

enum pfs_health_rank pfs_report_rank(const struct pfs_dev *d, const struct pf_health *h)
{
    if (!d->have_health || h->boot == 0 || d->boot == 0)
        return PFS_HEALTH_RANK_STORE;
    if (h->boot > d->boot)
        return PFS_HEALTH_NEWER;
    if (h->boot == d->boot)
        return h->seq > d->seq ? PFS_HEALTH_NEWER : PFS_HEALTH_OLDER;
    /* An earlier start: a report queued before the restart (measured before it), unless the
     * counter itself went back with an erased state directory (its queue went with it, so
     * such a report is measured after everything held). */
    return h->ts_ms > d->ts_ms ? PFS_HEALTH_NEWER : PFS_HEALTH_OLDER;
}

/* ---- the rate limit ------------------------------------------------------------------ */

void pfs_devmap_set_rate(struct pfs_devmap *m, enum pfs_rate_kind kind, int rate_per_s,
                         int rate_burst)
{
    m->rate_per_s[kind] = rate_per_s > 0 ? rate_per_s : 0;
    m->rate_burst[kind] = rate_burst > 0 ? rate_burst : 1;
}

int pfs_devmap_rate(struct pfs_devmap *m, struct pfs_dev *d, enum pfs_rate_kind kind, int64_t mono)
{
    static const char *const what[] = {"messages", "chunk requests"};
    struct pfs_bucket *b = &d->rate[kind];
    int64_t cap = (int64_t)m->rate_burst[kind] * 1000;

    if (m->rate_per_s[kind] <= 0)
        return 0;
    if (b->ms == 0) {
        b->tokens = cap;
        b->ms = mono;
    } else if (mono > b->ms) {
        int64_t add = (mono - b->ms) * m->rate_per_s[kind]; /* ms x msg/s = millimessages */

        b->tokens = add >= cap - b->tokens ? cap : b->tokens + add;
        b->ms = mono;
    }
    if (b->tokens >= 1000) {
        b->tokens -= 1000;
        return 0;
    }
    b->dropped++;
    if (b->logged_ms == 0 || mono - b->logged_ms >= PFS_RATE_LOG_WINDOW_MS) {
        pfs_log_warn(m->log,
                     "ingest: %s: over its rate of %d %s/s (burst %d): %u dropped since the "
                     "last line",
                     d->serial, m->rate_per_s[kind], what[kind], m->rate_burst[kind], b->dropped);
        b->logged_ms = mono;
        b->dropped = 0;
    }
    return devmap__refuse(m, PF_ERATE);
}

int pfs_devmap_registered(struct pfs_devmap *m, const char *serial)
{
    struct pfs_dev *d = pfs_devmap_get(m, serial);

    if (!d)
        return 0; /* read from the store on its first message */
    d->known = PFS_KNOWN_REGISTERED;
    d->logged_ms = 0;
    if (d->alerts & PFS_ALERT_BIT(PFS_ALERT_UNKNOWN_SERIAL)) {
        /* The store closed the alert in the registration's transaction. */
        d->alerts &= ~PFS_ALERT_BIT(PFS_ALERT_UNKNOWN_SERIAL);
        m->alerts_open[PFS_ALERT_UNKNOWN_SERIAL]--;
    }
    return 0;
}

int pfs_devmap_refresh(struct pfs_devmap *m)
{
    size_t it;

    for (struct pfs_dev *d = pfs_devmap_first(m, &it); d; d = pfs_devmap_next(m, d, &it)) {
        enum pfs_dev_status status;
        int rc;

        if (d->known != PFS_KNOWN_UNKNOWN)
            continue;
        rc = pfs_store_device_status(m->store, d->serial, &status);
        if (rc == PF_EUNKNOWN_SERIAL)
            continue;
        if (rc)
            return rc;
        if (status == PFS_DEV_REVOKED) {
            d->known = PFS_KNOWN_REVOKED;
            continue;
        }
        rc = pfs_devmap_registered(m, d->serial);
        if (rc)
            return rc;
    }
    return 0;
}

int pfs_devmap_revoked(struct pfs_devmap *m, const char *serial)
{
    struct pfs_dev *d;
    int rc = pfs_devmap_put(m, serial, &d, NULL);

    if (rc)
        return rc;
    d->known = PFS_KNOWN_REVOKED;
    d->logged_ms = 0;
    return 0;
}
