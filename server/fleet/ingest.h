/*
 * ingest.h - what posfleetd does with birth, health and state messages.
 *
 * The inbound dispatch (inbound.h) hands these leaves of registered terminals
 * to pfs_ingest_on_health, _on_birth and _on_state: each decodes the payload
 * with proto/'s strict codecs (a rejection is returned with its reason and
 * logged with it, nothing stored), writes the result into the store's open
 * batch, and opens or closes the alerts the message decides.
 * pfs_ingest_flush() commits the batch; the server calls it from a short
 * timer or when the batch is full. pfs_ingest_silent_check() raises the
 * silent alert and runs from a timer.
 *
 * The ingest context owns the registry cache (devmap.h), which the dispatch
 * asks before any module sees a message; it borrows the store, metrics, log
 * and clock, which must outlive it. One thread only.
 */
#ifndef PFS_INGEST_H
#define PFS_INGEST_H

#include <stddef.h>
#include <stdint.h>

#include "base/log.h"
#include "base/metrics.h"
#include "fleet/devmap.h"
#include "fleet/inbound.h"
#include "pf/clock.h"
#include "store/store.h"

/* Optional hook of another module (lifecycle), called on the loop thread. */
struct pfs_ingest_hooks {
    void *ctx;
    /* After a health report is stored; newer as in pfs_store_health_put(). */
    void (*health)(void *ctx, const char *serial, const struct pf_health *h, bool newer);
};

struct pfs_notify;

struct pfs_ingest {
    struct pfs_notify *notify; /* webhooks for terminal.silent (notify.h); may be NULL */
    struct pfs_ingest_hooks hooks;
    struct pfs_store *store;
    struct pfs_metrics *metrics;
    const struct pfs_log *log;
    const struct pf_clock *clock;
    int health_keep;
    int64_t silent_ms;
    int64_t started_ms;     /* silence is not measured across posfleetd's own downtime */
    struct pfs_devmap devs; /* the registry cache */
    struct pfs_reject_log rejects;
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

/* Inbound handlers (ctx is the struct pfs_ingest) for dev/{serial}/health, birth
 * and state of a registered terminal: 0 if stored, else the rejection reason. */
int pfs_ingest_on_health(void *ctx, const char *serial, const void *payload, size_t len);
int pfs_ingest_on_birth(void *ctx, const char *serial, const void *payload, size_t len);
int pfs_ingest_on_state(void *ctx, const char *serial, const void *payload, size_t len);
/* Another module accepted a message of serial (a lock report): it was seen now
 * and is not silent. 0, or PF_EIO when the store failed. */
int pfs_ingest_heard(struct pfs_ingest *ing, const char *serial) PF_WUR;
/* Commits the open batch and records its latency and size. */
int pfs_ingest_flush(struct pfs_ingest *ing) PF_WUR;
/* Opens the silent alert for terminals quiet for too long; returns how many. */
int pfs_ingest_silent_check(struct pfs_ingest *ing);

/* The registry changed through the API: keep the cache in step at once
 * (pfs_devmap_registered, _revoked, _refresh). */
int pfs_ingest_registered(struct pfs_ingest *ing, const char *serial) PF_WUR;
int pfs_ingest_revoked(struct pfs_ingest *ing, const char *serial) PF_WUR;
/* After a bulk registration: re-reads the registry for serials held as unknown. */
int pfs_ingest_registry_refresh(struct pfs_ingest *ing) PF_WUR;

void pfs_ingest_gauges(struct pfs_ingest *ing, struct pfs_gauges *g);

#endif
