/*
 * inbound.h - every message a terminal publishes, parsed once and dispatched by
 * its leaf.
 *
 * pfs_inbound_message() takes one message as the transport hands it over
 * (topic, payload): it parses the topic once (pf_topic_parse, pf_dev_leaf) and
 * refuses anything outside pf/v1/dev/{serial}/{leaf} or a leaf without a route
 * (TOPIC) and any retained message (RETAINED); it asks the registry cache for its decision
 * (pfs_devmap_admit: unknown and revoked serials are refused, alerted and counted there); it
 * takes the message from the terminal's rate limit (pfs_devmap_rate: over it, dropped and
 * counted RATE before anything is decoded); then it calls the leaf's route with (serial, payload).
 * A route returns 0 or the reason it refused the message, which is counted here
 * (posfleet_messages_rejected_total); a route that keeps its own counts
 * returns 0. One table for all leaves, like Mosquitto's read_handle.c.
 *
 * The routes are filled in by the wiring (server.c); the dispatcher borrows the
 * registry cache, metrics, log and clock, which must outlive it. One thread.
 */
#ifndef PFS_INBOUND_H
#define PFS_INBOUND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/live.h"
#include "base/log.h"
#include "base/metrics.h"
#include "fleet/devmap.h"
#include "pf/clock.h"
#include "pf/topic.h"

/* Handles one message of a registered terminal: 0, or the rejection reason. */
typedef int (*pfs_inbound_fn)(void *ctx, const char *serial, const void *payload, size_t len);

struct pfs_inbound_route {
    enum pf_dev_leaf leaf;
    pfs_inbound_fn fn;
    void *ctx;
};

/* Rejection log lines, at most PFS_REJECT_LOG_LINES per PFS_REJECT_LOG_WINDOW_MS,
 * then a count of the suppressed ones. */
#define PFS_REJECT_LOG_WINDOW_MS 10000
#define PFS_REJECT_LOG_LINES     20
struct pfs_reject_log {
    int64_t window_start_ms;
    int lines;
    int suppressed;
};
/* Logs one line (prefixed "ingest: ", control and non-ASCII bytes as '?'), rate limited. */
void pfs_reject_log(struct pfs_reject_log *rl, const struct pfs_log *log,
                    const struct pf_clock *clock, const char *fmt, ...) PF_PRINTF(4, 5);

/* What the transport says of a message besides topic and payload. */
struct pfs_inbound_props {
    bool retained;
    const void *corr; /* MQTT v5 correlation data, NULL when absent */
    size_t corr_len;
};

struct pfs_inbound {
    struct pfs_inbound_route routes[PF_LEAF_COUNT]; /* by leaf; fn NULL: no route */
    const struct pfs_inbound_props *cur;            /* of the message being dispatched */
    struct pfs_devmap *devs;
    struct pfs_metrics *metrics;
    const struct pfs_log *log;
    const struct pf_clock *clock;
    struct pfs_reject_log rejects;
    /* Told of every accepted message but chunk requests (base/live.h); may be NULL. */
    struct pfs_live *live;
};

void pfs_inbound_init(struct pfs_inbound *in, struct pfs_devmap *devs, struct pfs_metrics *metrics,
                      const struct pfs_log *log, const struct pf_clock *clock);
/* Installs n routes (a leaf routed twice keeps the later one). */
void pfs_inbound_routes(struct pfs_inbound *in, const struct pfs_inbound_route *routes, size_t n);
/* 0 if a route took the message, else the rejection reason (already counted).
 * RETAINED is the transport's retain flag: a retained message is refused
 * (RETAINED) whatever its topic. Terminals never retain (docs/protocol.md), so
 * one is stale or injected, and the broker would hand it to every new
 * subscription again. */
int pfs_inbound_receive(struct pfs_inbound *in, const char *topic, const void *payload, size_t len,
                        bool retained);
/* pfs_inbound_receive with the transport's properties (props may be NULL: none). */
int pfs_inbound_deliver(struct pfs_inbound *in, const char *topic, const void *payload, size_t len,
                        const struct pfs_inbound_props *props);
/* For a route, during its call: the correlation data of the message it handles (NULL, *len 0
 * when it had none). */
const void *pfs_inbound_corr(const struct pfs_inbound *in, size_t *len);
/* pfs_inbound_receive of a message that is not retained. */
int pfs_inbound_message(struct pfs_inbound *in, const char *topic, const void *payload, size_t len);

#endif
