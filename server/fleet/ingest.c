/*
 * ingest.c - validate, store and derive alerts from terminal messages.
 */
#include "fleet/ingest.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "fleet/alerts.h"
#include "pf/msg.h"
#include "pf/topic.h"

#define INGEST_LOG_WINDOW_MS 10000
#define INGEST_LOG_LINES     20

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
    struct pfs_dev *d = pfs_devmap_get(&ing->devs, a->serial);
    int kind = pfs_alert_kind(a->kind);
    int rc;

    if (kind < 0)
        return 0;
    if (!d) {
        enum pfs_dev_status status;

        rc = pfs_devmap_put(&ing->devs, a->serial, &d, NULL);
        if (rc)
            return rc;
        rc = pfs_store_device_status(ing->store, a->serial, &status);
        if (rc == PF_EUNKNOWN_SERIAL)
            d->known = PFS_KNOWN_UNKNOWN;
        else if (rc)
            return rc;
        else
            d->known = status == PFS_DEV_REVOKED ? PFS_KNOWN_REVOKED : PFS_KNOWN_REGISTERED;
    }
    d->alerts |= PFS_ALERT_BIT(kind);
    ing->alerts_open[kind]++;
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
    pfs_devmap_init(&ing->devs);
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

/* Rejection log lines, at most INGEST_LOG_LINES per window. */
static void ingest__log_reject(struct pfs_ingest *ing, const char *fmt, ...) PF_PRINTF(2, 3);

static void ingest__log_reject(struct pfs_ingest *ing, const char *fmt, ...)
{
    int64_t now = pf_clock_mono_ms(ing->clock);
    char line[512];
    va_list ap;

    if (now - ing->log_window_start_ms >= INGEST_LOG_WINDOW_MS) {
        if (ing->log_suppressed)
            pfs_log_warn(ing->log, "ingest: %d more rejections not logged", ing->log_suppressed);
        ing->log_window_start_ms = now;
        ing->log_lines = 0;
        ing->log_suppressed = 0;
    }
    if (ing->log_lines >= INGEST_LOG_LINES) {
        ing->log_suppressed++;
        return;
    }
    ing->log_lines++;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    /* Decoder reasons may quote payload bytes; keep the log one clean line. */
    for (char *p = line; *p; p++) {
        if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
            *p = '?';
    }
    pfs_log_warn(ing->log, "ingest: %s", line);
}

/* Copies untrusted text for a log line: control and non-ASCII bytes become '?'. */
static void ingest__printable(const char *in, char *out, size_t size)
{
    size_t i = 0;

    for (; in[i] && i + 1 < size; i++)
        out[i] = (unsigned char)in[i] < 0x20 || (unsigned char)in[i] > 0x7e ? '?' : in[i];
    out[i] = '\0';
}

static int ingest__reject(struct pfs_ingest *ing, int code)
{
    pfs_metrics_reject(ing->metrics, code);
    return code;
}

static int ingest__store_failed(struct pfs_ingest *ing, const char *serial, int rc)
{
    ing->metrics->store_errors++;
    pfs_log_error(ing->log, "ingest: %s: store write failed: %s", serial, pf_strerror(rc));
    return ingest__reject(ing, PF_EIO);
}

static int ingest__alert_open(struct pfs_ingest *ing, struct pfs_dev *d, int kind, int64_t now,
                              const char *detail)
{
    int rc;

    if (d->alerts & PFS_ALERT_BIT(kind))
        return 0;
    rc = pfs_store_alert_open(ing->store, d->serial, pfs_alert_names[kind], now, detail);
    if (rc && rc != PF_EEXIST)
        return rc;
    d->alerts |= PFS_ALERT_BIT(kind);
    ing->alerts_open[kind]++;
    pfs_log_info(ing->log, "alert: %s: %s opened (%s)", d->serial, pfs_alert_names[kind], detail);
    return 0;
}

static int ingest__alert_close(struct pfs_ingest *ing, struct pfs_dev *d, int kind, int64_t now)
{
    int rc;

    if (!(d->alerts & PFS_ALERT_BIT(kind)))
        return 0;
    rc = pfs_store_alert_close(ing->store, d->serial, pfs_alert_names[kind], now);
    if (rc && rc != PF_ENOENT)
        return rc;
    d->alerts &= ~PFS_ALERT_BIT(kind);
    ing->alerts_open[kind]--;
    pfs_log_info(ing->log, "alert: %s: %s closed", d->serial, pfs_alert_names[kind]);
    return 0;
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
            rc = ingest__alert_open(ing, d, k, now, detail[k]);
        else
            rc = ingest__alert_close(ing, d, k, now);
        if (rc)
            return rc;
    }
    return 0;
}

/* Finds the terminal in the map, reading the registry for a serial not seen yet. */
static int ingest__lookup(struct pfs_ingest *ing, const char *serial, struct pfs_dev **out)
{
    enum pfs_dev_status status = PFS_DEV_REGISTERED;
    struct pfs_dev *d = pfs_devmap_get(&ing->devs, serial);
    int rc;

    if (d) {
        *out = d;
        return 0;
    }
    rc = pfs_store_device_status(ing->store, serial, &status);
    if (rc && rc != PF_EUNKNOWN_SERIAL)
        return rc;
    {
        int prc = pfs_devmap_put(&ing->devs, serial, &d, NULL);

        if (prc)
            return prc;
    }
    if (rc == PF_EUNKNOWN_SERIAL)
        d->known = PFS_KNOWN_UNKNOWN;
    else
        d->known = status == PFS_DEV_REVOKED ? PFS_KNOWN_REVOKED : PFS_KNOWN_REGISTERED;
    *out = d;
    return 0;
}

static int ingest__unknown(struct pfs_ingest *ing, struct pfs_dev *d, int64_t now)
{
    int rc;

    if (d->logged_ms == 0 || now - d->logged_ms >= PFS_UNKNOWN_LOG_WINDOW_MS) {
        pfs_log_warn(ing->log, "ingest: %s: not registered, messages ignored", d->serial);
        d->logged_ms = now;
    }
    rc = ingest__alert_open(ing, d, PFS_ALERT_UNKNOWN_SERIAL, now,
                            "messages from a serial that is not registered");
    if (rc)
        (void)ingest__store_failed(ing, d->serial, rc);
    return ingest__reject(ing, PF_EUNKNOWN_SERIAL);
}

/* Common bookkeeping for any accepted message. */
static int ingest__heard(struct pfs_ingest *ing, struct pfs_dev *d, int64_t now)
{
    d->seen = true;
    if (now > d->last_seen_ms)
        d->last_seen_ms = now;
    return ingest__alert_close(ing, d, PFS_ALERT_SILENT, now);
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
    if (rc) {
        ingest__log_reject(ing, "%s: rejected %s: %s", d->serial, pf_errname(rc), err.msg);
        return ingest__reject(ing, rc);
    }
    rc = pfs_store_health_put(ing->store, d->serial, &h, now, &newer);
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
    if (rc) {
        ingest__log_reject(ing, "%s: rejected %s: %s", d->serial, pf_errname(rc), err.msg);
        return ingest__reject(ing, rc);
    }
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
    if (rc) {
        ingest__log_reject(ing, "%s: rejected %s: %s", d->serial, pf_errname(rc), err.msg);
        return ingest__reject(ing, rc);
    }
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

int pfs_ingest_message(struct pfs_ingest *ing, const char *topic, const void *payload, size_t len)
{
    char serial[PF_SERIAL_MAX + 1];
    const char *leaf;
    enum pf_dir dir;
    struct pfs_dev *d;
    int64_t now = pf_clock_wall_ms(ing->clock);
    int type, rc;

    rc = pf_topic_parse(topic, &dir, serial, &leaf);
    if (rc || dir != PF_DIR_DEV) {
        char shown[PF_TOPIC_MAX + 1];

        ingest__printable(topic ? topic : "", shown, sizeof(shown));
        ingest__log_reject(ing, "rejected TOPIC: '%s'", shown);
        return ingest__reject(ing, PF_ETOPIC);
    }
    if (strcmp(leaf, PF_DEV_HEALTH) == 0)
        type = PFS_MSG_HEALTH;
    else if (strcmp(leaf, PF_DEV_BIRTH) == 0)
        type = PFS_MSG_BIRTH;
    else if (strcmp(leaf, PF_DEV_STATE) == 0)
        type = PFS_MSG_STATE;
    else if (ing->hooks.claims && ing->hooks.claims(ing->hooks.ctx, leaf))
        type = -1; /* a hook's leaf, after the registry checks below */
    else {
        char shown[33];

        ingest__printable(leaf, shown, sizeof(shown));
        ingest__log_reject(ing, "%s: rejected TOPIC: leaf '%s'", serial, shown);
        return ingest__reject(ing, PF_ETOPIC);
    }
    rc = ingest__lookup(ing, serial, &d);
    if (rc)
        return ingest__store_failed(ing, serial, rc);
    if (d->known == PFS_KNOWN_UNKNOWN)
        return ingest__unknown(ing, d, now);
    if (d->known == PFS_KNOWN_REVOKED) {
        if (d->logged_ms == 0 || now - d->logged_ms >= PFS_UNKNOWN_LOG_WINDOW_MS) {
            pfs_log_warn(ing->log, "ingest: %s: revoked, messages dropped", serial);
            d->logged_ms = now;
        }
        return ingest__reject(ing, PF_EREVOKED);
    }
    if (type < 0) {
        rc = ing->hooks.leaf(ing->hooks.ctx, serial, leaf, payload, len);
        if (rc)
            return ingest__reject(ing, rc);
        if (ingest__heard(ing, d, now))
            return ingest__store_failed(ing, serial, PF_EIO);
        return 0;
    }
    switch (type) {
    case PFS_MSG_HEALTH:
        return ingest__health(ing, d, payload, len, now);
    case PFS_MSG_BIRTH:
        return ingest__birth(ing, d, payload, len, now);
    default:
        return ingest__state(ing, d, payload, len, now);
    }
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
        if (ingest__alert_open(ing, d, PFS_ALERT_SILENT, now, detail)) {
            ing->metrics->store_errors++;
            continue;
        }
        n++;
    }
    return n;
}

int pfs_ingest_registered(struct pfs_ingest *ing, const char *serial)
{
    struct pfs_dev *d = pfs_devmap_get(&ing->devs, serial);

    if (!d)
        return 0; /* read from the store on its first message */
    d->known = PFS_KNOWN_REGISTERED;
    d->logged_ms = 0;
    if (d->alerts & PFS_ALERT_BIT(PFS_ALERT_UNKNOWN_SERIAL)) {
        /* The store closed the alert in the registration's transaction. */
        d->alerts &= ~PFS_ALERT_BIT(PFS_ALERT_UNKNOWN_SERIAL);
        ing->alerts_open[PFS_ALERT_UNKNOWN_SERIAL]--;
    }
    return 0;
}

int pfs_ingest_registry_refresh(struct pfs_ingest *ing)
{
    size_t it;

    for (struct pfs_dev *d = pfs_devmap_first(&ing->devs, &it); d;
         d = pfs_devmap_next(&ing->devs, d, &it)) {
        enum pfs_dev_status status;
        int rc;

        if (d->known != PFS_KNOWN_UNKNOWN)
            continue;
        rc = pfs_store_device_status(ing->store, d->serial, &status);
        if (rc == PF_EUNKNOWN_SERIAL)
            continue;
        if (rc)
            return rc;
        if (status == PFS_DEV_REVOKED) {
            d->known = PFS_KNOWN_REVOKED;
            continue;
        }
        rc = pfs_ingest_registered(ing, d->serial);
        if (rc)
            return rc;
    }
    return 0;
}

int pfs_ingest_revoked(struct pfs_ingest *ing, const char *serial)
{
    struct pfs_dev *d;
    int rc = pfs_devmap_put(&ing->devs, serial, &d, NULL);

    if (rc)
        return rc;
    d->known = PFS_KNOWN_REVOKED;
    d->logged_ms = 0;
    return 0;
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
    memcpy(g->alerts_open, ing->alerts_open, sizeof(g->alerts_open));
}
