/*
 * inbound.c - parse a terminal's topic once, ask the registry cache, dispatch
 * by leaf.
 */
#include "fleet/inbound.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void pfs_reject_log(struct pfs_reject_log *rl, const struct pfs_log *log,
                    const struct pf_clock *clock, const char *fmt, ...)
{
    int64_t now = pf_clock_mono_ms(clock);
    char line[512];
    va_list ap;

    if (now - rl->window_start_ms >= PFS_REJECT_LOG_WINDOW_MS) {
        if (rl->suppressed)
            pfs_log_warn(log, "ingest: %d more rejections not logged", rl->suppressed);
        rl->window_start_ms = now;
        rl->lines = 0;
        rl->suppressed = 0;
    }
    if (rl->lines >= PFS_REJECT_LOG_LINES) {
        rl->suppressed++;
        return;
    }
    rl->lines++;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    /* Topics and decoder reasons may quote a terminal's bytes; keep the log one clean line. */
    for (char *p = line; *p; p++) {
        if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
            *p = '?';
    }
    pfs_log_warn(log, "ingest: %s", line);
}

void pfs_inbound_init(struct pfs_inbound *in, struct pfs_devmap *devs, struct pfs_metrics *metrics,
                      const struct pfs_log *log, const struct pf_clock *clock)
{
    memset(in, 0, sizeof(*in));
    in->devs = devs;
    in->metrics = metrics;
    in->log = log;
    in->clock = clock;
}

void pfs_inbound_routes(struct pfs_inbound *in, const struct pfs_inbound_route *routes, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if ((unsigned)routes[i].leaf < PF_LEAF_COUNT)
            in->routes[routes[i].leaf] = routes[i];
    }
}

static int inbound__refuse(struct pfs_inbound *in, int code)
{
    pfs_metrics_reject(in->metrics, code);
    return code;
}

int pfs_inbound_receive(struct pfs_inbound *in, const char *topic, const void *payload, size_t len,
                        bool retained)
{
    const struct pfs_inbound_props props = {.retained = retained};

    return pfs_inbound_deliver(in, topic, payload, len, &props);
}

const void *pfs_inbound_corr(const struct pfs_inbound *in, size_t *len)
{
    *len = in->cur ? in->cur->corr_len : 0;
    return in->cur && in->cur->corr_len ? in->cur->corr : NULL;
}

int pfs_inbound_deliver(struct pfs_inbound *in, const char *topic, const void *payload, size_t len,
                        const struct pfs_inbound_props *props)
{
    bool retained = props && props->retained;
    char serial[PF_SERIAL_MAX + 1];
    const struct pfs_inbound_route *r;
    struct pfs_dev *d;
    const char *leaf;
    enum pf_dir dir;
    int rc, id;

    rc = pf_topic_parse(topic, &dir, serial, &leaf);
    if (rc || dir != PF_DIR_DEV) {
        /* %.*s: a topic is at most what the broker lets through; the log line shows the
         * start of it. */
        pfs_reject_log(&in->rejects, in->log, in->clock, "rejected TOPIC: '%.*s'", PF_TOPIC_MAX,
                       topic ? topic : "");
        return inbound__refuse(in, PF_ETOPIC);
    }
    if (retained) {
        /* Before the registry cache: a retained message is refused whoever it names. */
        pfs_reject_log(&in->rejects, in->log, in->clock, "%s: rejected RETAINED: leaf '%.32s'",
                       serial, leaf);
        return inbound__refuse(in, PF_ERETAINED);
    }
    id = pf_dev_leaf(leaf);
    r = id >= 0 ? &in->routes[id] : NULL;
    if (!r || !r->fn) {
        pfs_reject_log(&in->rejects, in->log, in->clock, "%s: rejected TOPIC: leaf '%.32s'", serial,
                       leaf);
        return inbound__refuse(in, PF_ETOPIC);
    }
    rc = pfs_devmap_admit(in->devs, serial, pf_clock_wall_ms(in->clock), &d);
    if (rc)
        return rc; /* counted by the registry cache */
    rc = pfs_devmap_rate(in->devs, d,
                         id == PF_LEAF_CHUNKREQ ? PFS_RATE_CHUNKREQ : PFS_RATE_MESSAGES,
                         pf_clock_mono_ms(in->clock));
    if (rc)
        return rc; /* counted and logged by the registry cache */
    in->cur = props;
    rc = r->fn(r->ctx, serial, payload, len);
    in->cur = NULL;
    if (rc)
        return inbound__refuse(in, rc);
    /* Open console pages of this terminal refetch once its writes are committed. */
    if (id != PF_LEAF_CHUNKREQ)
        pfs_live_note_later(in->live, serial);
    return 0;
}

int pfs_inbound_message(struct pfs_inbound *in, const char *topic, const void *payload, size_t len)
{
    return pfs_inbound_receive(in, topic, payload, len, false);
}
