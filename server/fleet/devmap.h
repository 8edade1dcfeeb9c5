/*
 * devmap.h - the registry cache: posfleetd's in-memory view of the terminals it
 * has heard from, and the one place that decides whether a terminal's message
 * is taken.
 *
 * A hash map from serial to struct pfs_dev. It caches what the hot path needs
 * so a message costs no registry read: registration status (including
 * "unknown" for serials that are not registered), online and last-seen, the
 * newest report's seq and ts, and the open alerts as a bitmask (with a count
 * per kind for the gauges).
 *
 * pfs_devmap_admit() is the registry decision every inbound message passes
 * before any module sees it (fleet/inbound.h): a registered terminal is
 * admitted; an unknown serial is refused, counted (UNKNOWN_SERIAL), logged
 * once per serial per PFS_UNKNOWN_LOG_WINDOW_MS and raises the unknown_serial
 * alert; a revoked one is dropped, counted (REVOKED) and logged likewise. The API keeps the cache
 * in step with the registry (pfs_devmap_registered, _revoked, _refresh, through ingest.h). Alerts
 * are opened and closed here too, so the bitmask, the counts and the store's rows move together.
 *
 * The store stays the truth; ingest rebuilds the map from it at startup. The
 * map owns its entries and borrows the store, metrics and log. One thread.
 */
#ifndef PFS_DEVMAP_H
#define PFS_DEVMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/log.h"
#include "base/metrics.h"
#include "fleet/alerts.h"
#include "pf/error.h"
#include "pf/msg.h"
#include "pf/topic.h"
#include "store/store.h"

#define PFS_UNKNOWN_LOG_WINDOW_MS (5 * 60 * 1000)
#define PFS_RATE_LOG_WINDOW_MS    (10 * 1000) /* one "over its rate" line per terminal */

/* Which of a terminal's rate limits a message takes from: chunk requests (an update
 * download, one per chunk, paced by the terminal's window) have their own. */
enum pfs_rate_kind { PFS_RATE_MESSAGES, PFS_RATE_CHUNKREQ, PFS_RATE_KINDS };

/* A token bucket: millimessages, refilled at ms. */
struct pfs_bucket {
    int64_t tokens;
    int64_t ms;        /* monotonic ms of the last refill; 0: not started */
    int64_t logged_ms; /* monotonic ms of the last "over its rate" line */
    uint32_t dropped;  /* dropped since that line */
};

enum pfs_dev_known { PFS_KNOWN_REGISTERED, PFS_KNOWN_REVOKED, PFS_KNOWN_UNKNOWN };

struct pfs_dev {
    char serial[PF_SERIAL_MAX + 1];
    uint8_t known; /* enum pfs_dev_known */
    bool seen;
    bool online;
    bool have_health;
    uint32_t boot; /* newest report held: its boot (0: none sent, or not known since start) */
    uint32_t seq;  /* ... its seq */
    int64_t ts_ms;
    int64_t last_seen_ms;
    uint32_t alerts; /* PFS_ALERT_BIT()s open */
    uint32_t rows_since_prune;
    int64_t logged_ms;                      /* last time a drop was logged (rate limit) */
    struct pfs_bucket rate[PFS_RATE_KINDS]; /* its rate limits (pfs_devmap_rate) */
    struct pfs_dev *next;
};

struct pfs_devmap {
    struct pfs_dev **buckets;
    size_t nbuckets;
    size_t count;
    int64_t alerts_open[PFS_ALERT_COUNT]; /* open alerts by kind, all terminals */
    struct pfs_store *store;
    struct pfs_metrics *metrics;
    const struct pfs_log *log;
    int rate_per_s[PFS_RATE_KINDS]; /* per terminal, sustained; 0: no limit */
    int rate_burst[PFS_RATE_KINDS]; /* at once after a quiet spell */
};

void pfs_devmap_init(struct pfs_devmap *m, struct pfs_store *store, struct pfs_metrics *metrics,
                     const struct pfs_log *log);
void pfs_devmap_release(struct pfs_devmap *m);
struct pfs_dev *pfs_devmap_get(struct pfs_devmap *m, const char *serial);
/* Returns the entry for serial, adding a zeroed one if absent (*added set). */
int pfs_devmap_put(struct pfs_devmap *m, const char *serial, struct pfs_dev **out,
                   bool *added) PF_WUR;

/* The entry for serial; one not in the map is read from the registry (its status,
 * or unknown) and added. */
int pfs_devmap_find(struct pfs_devmap *m, const char *serial, struct pfs_dev **out) PF_WUR;

/*
 * The registry decision for a message from serial received at now (wall ms): 0
 * with *out for a registered terminal; PF_EUNKNOWN_SERIAL (the unknown_serial
 * alert opened) or PF_EREVOKED, logged at most once per serial per window;
 * PF_EIO if the registry could not be read. Every refusal is counted here. A
 * serial not in the map is read from the registry once and cached, whatever
 * its status.
 */
int pfs_devmap_admit(struct pfs_devmap *m, const char *serial, int64_t now,
                     struct pfs_dev **out) PF_WUR;

/*
 * A per-terminal rate limit of one kind (a token bucket of rate_burst messages refilled at
 * rate_per_s; rate_per_s 0: none). It keeps one terminal, or one stolen certificate, that
 * floods from starving every other terminal of the single loop. Chunk requests have their
 * own, higher limit: a download on a fast link asks for small chunks faster than any report
 * is sent, and a dropped request stalls it until the terminal asks again.
 */
void pfs_devmap_set_rate(struct pfs_devmap *m, enum pfs_rate_kind kind, int rate_per_s,
                         int rate_burst);
/*
 * Takes one message of d from its bucket of that kind at mono (monotonic ms): 0, or
 * PF_ERATE when the bucket is empty: counted (RATE) and logged at most once per terminal and
 * kind per PFS_RATE_LOG_WINDOW_MS with the number dropped since the previous line. Costs no
 * store access, so a flood is dropped before any decoding or writing.
 */
int pfs_devmap_rate(struct pfs_devmap *m, struct pfs_dev *d, enum pfs_rate_kind kind,
                    int64_t mono) PF_WUR;

/*
 * The ordering rule of a terminal's health reports (docs/protocol.md, "Ordering"): how h
 * ranks against the newest report held for d. When both carry a boot, by (boot, seq): a
 * later start is newer whatever its seq or clock, and within one start a higher seq is newer;
 * so a report queued before a restart never replaces one measured after it, even when the
 * restart reset seq. A lower boot is older unless measured later than the one held (the
 * terminal's state directory, counter and queue, was erased). Otherwise (a terminal that
 * sends no boot, or no boot known since posfleetd started) PFS_HEALTH_RANK_STORE: the
 * store's rule, a higher seq or a later ts.
 */
enum pfs_health_rank pfs_report_rank(const struct pfs_dev *d, const struct pf_health *h);

/* The registry changed through the API: keep the cache in step at once. */
int pfs_devmap_registered(struct pfs_devmap *m, const char *serial) PF_WUR;
int pfs_devmap_revoked(struct pfs_devmap *m, const char *serial) PF_WUR;
/* After a bulk registration: re-reads the registry for serials held as unknown. */
int pfs_devmap_refresh(struct pfs_devmap *m) PF_WUR;

/* Opens (with detail) or closes alert kind for d in the store's open batch and in
 * the cache; a no-op when it already is so. */
int pfs_devmap_alert_open(struct pfs_devmap *m, struct pfs_dev *d, int kind, int64_t now,
                          const char *detail) PF_WUR;
int pfs_devmap_alert_close(struct pfs_devmap *m, struct pfs_dev *d, int kind, int64_t now) PF_WUR;

/* Iteration: for (d = pfs_devmap_first(m, &i); d; d = pfs_devmap_next(m, d, &i)) */
struct pfs_dev *pfs_devmap_first(struct pfs_devmap *m, size_t *it);
struct pfs_dev *pfs_devmap_next(struct pfs_devmap *m, struct pfs_dev *d, size_t *it);

#endif
