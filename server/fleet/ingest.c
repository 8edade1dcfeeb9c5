/*
 * ingest.c - validate, store and derive alerts from terminal messages.
 */
#include "fleet/ingest.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "fleet/alerts.h"
#include "notify/notify.h"
#include "pf/msg.h"

static int ingest__load_seen(void *ctx, const struct pfs_seen *s)
{
    struct pfs_ingest *ing = ctx;
    struct pfs_dev *d;
    int rc = pfs_devmap_put(&ing->devs, s->serial, &d, NULL);

    if (rc)
        return rc;
    d->known = s->status == PFS_DEV_REVOKED ? PFS_KNOWN_REVOKED : PFS_KNOWN_REGISTERED;
    d->seen = true;
    d->online = s->online;
    d->last_seen_ms = s->last_seen_ms;
    d->have_health = s->have_health;
    d->seq = s->health_seq;
    d->ts_ms = s->health_ts_ms;
    return 0;
}

static int ingest__load_alert(void *ctx, const struct pfs_alert *a)
{
    struct pfs_ingest *ing = ctx;
    struct pfs_dev *d;
    int kind = pfs_alert_kind(a->kind);
    int rc;

    if (kind < 0)
        return 0;
    rc = pfs_devmap_find(&ing->devs, a->serial, &d);
    if (rc)
        return rc;
    d->alerts |= PFS_ALERT_BIT(kind);
    ing->devs.alerts_open[kind]++;
    return 0;
}

int pfs_ingest_init(struct pfs_ingest *ing, const struct pfs_ingest_opts *opts,
                    struct pfs_store *store, struct pfs_metrics *metrics, const struct pfs_log *log,
                    const struct pf_clock *clock, struct pf_error *err)
{
    int rc;

    memset(ing, 0, sizeof(*ing));
    ing->store = store;
    ing->metrics = metrics;
    ing->log = log;
    ing->clock = clock;
    ing->health_keep = opts->health_keep > 0 ? opts->health_keep : 1000;
    ing->silent_ms = opts->silent_ms;
    ing->started_ms = pf_clock_wall_ms(clock);
    pfs_devmap_init(&ing->devs, store, metrics, log);
    rc = pfs_store_seen_each(store, ingest__load_seen, ing);
    if (!rc)
        rc = pfs_store_alerts_open(store, NULL, ingest__load_alert, ing);
    if (rc) {
        pfs_ingest_release(ing);
        return pf_error_set(err, rc, "ingest: loading terminals from the store: %s",
                            pf_strerror(rc));
    }
    return 0;
}

void pfs_ingest_release(struct pfs_ingest *ing)
{
    pfs_devmap_release(&ing->devs);
}

static int ingest__store_failed(struct pfs_ingest *ing, const char *serial, int rc)
{
    ing->metrics->store_errors++;
    pfs_log_error(ing->log, "ingest: %s: store write failed: %s", serial, pf_strerror(rc));
    return PF_EIO;
}

/* A payload the decoder refused: logged (rate limited) with the reason, returned. */
static int ingest__refused(struct pfs_ingest *ing, const char *serial, int rc,
                           const struct pf_error *err)
{
    pfs_reject_log(&ing->rejects, ing->log, ing->clock, "%s: rejected %s: %s", serial,
                   pf_errname(rc), err->msg);
    return rc;
}

/* Brings the alerts in mask to the state in want. */
static int ingest__alerts_apply(struct pfs_ingest *ing, struct pfs_dev *d, uint32_t mask,
                                uint32_t want,
                                char detail[PFS_ALERT_COUNT][PFS_ALERT_DETAIL_MAX + 1], int64_t now)
{
    for (int k = 0; k < PFS_ALERT_COUNT; k++) {
        int rc = 0;

        if (!(mask & PFS_ALERT_BIT(k)))
            continue;
        if (want & PFS_ALERT_BIT(k))
            rc = pfs_devmap_alert_open(&ing->devs, d, k, now, detail[k]);
        else
            rc = pfs_devmap_alert_close(&ing->devs, d, k, now);
        if (rc)
            return rc;
    }
    return 0;
}

/* Common bookkeeping for any accepted message. */
static int ingest__heard(struct pfs_ingest *ing, struct pfs_dev *d, int64_t now)
{
    d->seen = true;
    if (now > d->last_seen_ms)
        d->last_seen_ms = now;
    return pfs_devmap_alert_close(&ing->devs, d, PFS_ALERT_SILENT, now);
}

static int ingest__health(struct pfs_ingest *ing, struct pfs_dev *d, const void *payload,
                          size_t len, int64_t now)
{
    char detail[PFS_ALERT_COUNT][PFS_ALERT_DETAIL_MAX + 1];
    struct pf_error err = {0};
    struct pf_health h;
    bool newer = false;
    int slack = ing->health_keep / 8 > 0 ? ing->health_keep / 8 : 1;
    int rc;

    rc = pf_health_decode(payload, len, &h, &err);
    if (rc)
        return ingest__refused(ing, d->serial, rc, &err);
    rc = pfs_store_health_record(ing->store, d->serial, &h, now, pfs_report_rank(d, &h), &newer);
    if (rc)
        return ingest__store_failed(ing, d->serial, rc);
    if (++d->rows_since_prune >= (uint32_t)slack) {
        rc = pfs_store_health_prune(ing->store, d->serial, ing->health_keep);
        if (rc)
            return ingest__store_failed(ing, d->serial, rc);
        d->rows_since_prune = 0;
    }
    d->online = true;
    rc = ingest__heard(ing, d, now);
    if (!rc && newer) {
        uint32_t want;

        d->have_health = true;
        d->boot = h.boot;
        d->seq = h.seq;
        d->ts_ms = h.ts_ms;
        memset(detail, 0, sizeof(detail));
        want = pfs_alerts_from_health(&h, detail);
        rc = ingest__alerts_apply(ing, d, PFS_ALERTS_FROM_HEALTH, want, detail, now);
    }
    if (rc)
        return ingest__store_failed(ing, d->serial, rc);
    if (ing->hooks.health)
        ing->hooks.health(ing->hooks.ctx, d->serial, &h, newer);
    ing->metrics->accepted[PFS_MSG_HEALTH]++;
    return 0;
}

static int ingest__birth(struct pfs_ingest *ing, struct pfs_dev *d, const void *payload, size_t len,
                         int64_t now)
{
    char detail[PFS_ALERT_COUNT][PFS_ALERT_DETAIL_MAX + 1];
    struct pf_error err = {0};
    struct pf_birth b;
    int rc;

    rc = pf_birth_decode(payload, len, &b, &err);
    if (rc)
        return ingest__refused(ing, d->serial, rc, &err);
    rc = pfs_store_birth_put(ing->store, d->serial, &b, now);
    if (!rc) {
        d->online = true;
        rc = ingest__heard(ing, d, now);
    }
    if (!rc) {
        memset(detail, 0, sizeof(detail));
        rc = ingest__alerts_apply(ing, d, PFS_ALERTS_FROM_BIRTH, pfs_alerts_from_birth(&b, detail),
                                  detail, now);
    }
    if (rc)
        return ingest__store_failed(ing, d->serial, rc);
    pfs_log_debug(ing->log, "ingest: %s: birth fw %s slot %s boot %s", d->serial, b.fw_version,
                  pf_slot_names[b.fw_slot], pf_boot_outcome_names[b.boot]);
    ing->metrics->accepted[PFS_MSG_BIRTH]++;
    return 0;
}

static int ingest__state(struct pfs_ingest *ing, struct pfs_dev *d, const void *payload, size_t len,
                         int64_t now)
{
    struct pf_error err = {0};
    struct pf_state m;
    int rc;

    rc = pf_state_decode(payload, len, &m, &err);
    if (rc)
        return ingest__refused(ing, d->serial, rc, &err);
    rc = pfs_store_state_put(ing->store, d->serial, &m, now);
    if (!rc) {
        d->online = m.state == PF_STATE_ONLINE;
        rc = ingest__heard(ing, d, now);
    }
    if (rc)
        return ingest__store_failed(ing, d->serial, rc);
    pfs_log_debug(ing->log, "ingest: %s: %s", d->serial, pf_conn_state_names[m.state]);
    ing->metrics->accepted[PFS_MSG_STATE]++;
    return 0;
}

/* The cache's entry of a terminal the dispatch admitted. */
static struct pfs_dev *ingest__dev(struct pfs_ingest *ing, const char *serial)
{
    struct pfs_dev *d = pfs_devmap_get(&ing->devs, serial);

    return d && d->known == PFS_KNOWN_REGISTERED ? d : NULL;
}

int pfs_ingest_on_health(void *ctx, const char *serial, const void *payload, size_t len)
{
    struct pfs_ingest *ing = ctx;
    struct pfs_dev *d = ingest__dev(ing, serial);

    if (!d)
        return PF_EUNKNOWN_SERIAL;
    return ingest__health(ing, d, payload, len, pf_clock_wall_ms(ing->clock));
}

int pfs_ingest_on_birth(void *ctx, const char *serial, const void *payload, size_t len)
{
    struct pfs_ingest *ing = ctx;
    struct pfs_dev *d = ingest__dev(ing, serial);

    if (!d)
        return PF_EUNKNOWN_SERIAL;
    return ingest__birth(ing, d, payload, len, pf_clock_wall_ms(ing->clock));
}

int pfs_ingest_on_state(void *ctx, const char *serial, const void *payload, size_t len)
{
    struct pfs_ingest *ing = ctx;
    struct pfs_dev *d = ingest__dev(ing, serial);

    if (!d)
        return PF_EUNKNOWN_SERIAL;
    return ingest__state(ing, d, payload, len, pf_clock_wall_ms(ing->clock));
}

int pfs_ingest_heard(struct pfs_ingest *ing, const char *serial)
{
    struct pfs_dev *d = ingest__dev(ing, serial);
    int rc;

    if (!d)
        return 0;
    rc = ingest__heard(ing, d, pf_clock_wall_ms(ing->clock));
    return rc ? ingest__store_failed(ing, serial, rc) : 0;
}

static double ingest__now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int pfs_ingest_flush(struct pfs_ingest *ing)
{
    int pending = pfs_store_batch_pending(ing->store);
    double t0;
    int rc;

    if (pending == 0)
        return 0;
    t0 = ingest__now_s();
    rc = pfs_store_flush(ing->store, pf_clock_wall_ms(ing->clock), NULL);
    if (rc) {
        ing->metrics->store_errors++;
        pfs_log_error(ing->log, "store: committing a batch of %d writes failed: %s", pending,
                      pf_strerror(rc));
        return rc;
    }
    pfs_hist_observe(&ing->metrics->store_write_seconds, ingest__now_s() - t0);
    pfs_hist_observe(&ing->metrics->store_batch_size, (double)pending);
    return 0;
}

int pfs_ingest_silent_check(struct pfs_ingest *ing)
{
    int64_t now = pf_clock_wall_ms(ing->clock);
    size_t it;
    int n = 0;

    if (ing->silent_ms <= 0)
        return 0;
    for (struct pfs_dev *d = pfs_devmap_first(&ing->devs, &it); d;
         d = pfs_devmap_next(&ing->devs, d, &it)) {
        char detail[PFS_ALERT_DETAIL_MAX + 1];
        /* Messages sent while posfleetd was down arrive after it starts (persistent
         * session), so silence counts from the later of last seen and startup. */
        int64_t since = d->last_seen_ms > ing->started_ms ? d->last_seen_ms : ing->started_ms;

        if (d->known != PFS_KNOWN_REGISTERED || !d->seen ||
            (d->alerts & PFS_ALERT_BIT(PFS_ALERT_SILENT)) || now - since <= ing->silent_ms)
            continue;
        snprintf(detail, sizeof(detail), "no message for %" PRId64 " s (limit %" PRId64 " s)",
                 (now - d->last_seen_ms) / 1000, ing->silent_ms / 1000);
        if (pfs_devmap_alert_open(&ing->devs, d, PFS_ALERT_SILENT, now, detail)) {
            ing->metrics->store_errors++;
            continue;
        }
        pfs_notify_emit(ing->notify, PFS_EV_TERMINAL_SILENT, d->serial,
                        json_pack("{s:s, s:I}", "detail", detail, "last_seen_ms", d->last_seen_ms));
        n++;
    }
    return n;
}

int pfs_ingest_registered(struct pfs_ingest *ing, const char *serial)
{
    return pfs_devmap_registered(&ing->devs, serial);
}

int pfs_ingest_registry_refresh(struct pfs_ingest *ing)
{
    return pfs_devmap_refresh(&ing->devs);
}

int pfs_ingest_revoked(struct pfs_ingest *ing, const char *serial)
{
    return pfs_devmap_revoked(&ing->devs, serial);
}

void pfs_ingest_gauges(struct pfs_ingest *ing, struct pfs_gauges *g)
{
    size_t it;

    memset(g, 0, sizeof(*g));
    for (struct pfs_dev *d = pfs_devmap_first(&ing->devs, &it); d;
         d = pfs_devmap_next(&ing->devs, d, &it)) {
        if (d->known == PFS_KNOWN_REGISTERED && d->online)
            g->terminals_online++;
    }
    memcpy(g->alerts_open, ing->devs.alerts_open, sizeof(g->alerts_open));
}
