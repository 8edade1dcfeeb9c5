/*
 * ingest.h - what posfleetd does with each terminal message.
 *
 * pfs_ingest_message() takes one MQTT message (topic and payload): it parses
 * the topic, checks the serial against the registry (unknown serials are
 * ignored, counted, logged once per serial per window and raise an
 * unknown_serial alert; revoked serials are dropped and counted), decodes the
 * payload with proto/'s strict codecs (a rejection is counted by reason and
 * logged with it, nothing stored), writes the result into the store's open
 * batch, and opens or closes the alerts the message decides.
 * pfs_ingest_flush() commits the batch; the server calls it from a short
 * timer or when the batch is full. pfs_ingest_silent_check() raises the
 * silent alert and runs from a timer.
 *
 * The ingest context owns the device map (devmap.h); it borrows the store,
 * metrics, log and clock, which must outlive it. One thread only.
 */
#ifndef PFS_INGEST_H
#define PFS_INGEST_H

#include <stddef.h>
#include <stdint.h>

#include "fleet/devmap.h"
#include "base/log.h"
#include "base/metrics.h"
#include "pf/clock.h"
#include "store/store.h"

#define PFS_UNKNOWN_LOG_WINDOW_MS (5 * 60 * 1000)

/* Optional hooks of other modules (lifecycle); called on the loop thread for
 * registered terminals only. */
struct pfs_ingest_hooks {
    void *ctx;
    /* After a health report is stored; newer as in pfs_store_health_put(). */
    void (*health)(void *ctx, const char *serial, const struct pf_health *h, bool newer);
    /* True if the module takes messages on this dev leaf... */
    bool (*claims)(void *ctx, const char *leaf);
    /* ...which then go here (0, or the rejection reason). */
    int (*leaf)(void *ctx, const char *serial, const char *leaf, const void *payload, size_t len);
};

struct pfs_ingest {
    struct pfs_ingest_hooks hooks;
    struct pfs_store *store;
    struct pfs_metrics *metrics;
    const struct pfs_log *log;
    const struct pf_clock *clock;
    int health_keep;
    int64_t silent_ms;
    int64_t started_ms; /* silence is not measured across posfleetd's own downtime */
    struct pfs_devmap devs;
    int64_t alerts_open[PFS_ALERT_COUNT];
    /* Rate limit for rejection log lines. */
    int64_t log_window_start_ms;
    int log_lines;
    int log_suppressed;
};

struct pfs_ingest_opts {
    int health_keep;   /* reports kept per terminal */
    int64_t silent_ms; /* silence longer than this raises the silent alert */
};

/* Loads the device map and open alerts from the store. */
int pfs_ingest_init(struct pfs_ingest *ing, const struct pfs_ingest_opts *opts,
                    struct pfs_store *store, struct pfs_metrics *metrics, const struct pfs_log *log,
                    const struct pf_clock *clock, struct pf_error *err) PF_WUR;
void pfs_ingest_release(struct pfs_ingest *ing);

/* 0 if stored, else the rejection reason (a PF_E* code, already counted). */
int pfs_ingest_message(struct pfs_ingest *ing, const char *topic, const void *payload, size_t len);
/* Commits the open batch and records its latency and size. */
int pfs_ingest_flush(struct pfs_ingest *ing) PF_WUR;
/* Opens the silent alert for terminals quiet for too long; returns how many. */
int pfs_ingest_silent_check(struct pfs_ingest *ing);

/* The registry changed through the API: keep the map in step at once. */
int pfs_ingest_registered(struct pfs_ingest *ing, const char *serial) PF_WUR;
int pfs_ingest_revoked(struct pfs_ingest *ing, const char *serial) PF_WUR;
/* After a bulk registration: re-reads the registry for serials held as unknown. */
int pfs_ingest_registry_refresh(struct pfs_ingest *ing) PF_WUR;

void pfs_ingest_gauges(struct pfs_ingest *ing, struct pfs_gauges *g);

#endif
