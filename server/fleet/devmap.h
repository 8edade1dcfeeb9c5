/*
 * devmap.h - posfleetd's in-memory view of the terminals it has heard from.
 *
 * A hash map from serial to struct pfs_dev, owned by ingest. It caches what
 * the hot path needs so a report costs no registry read: registration status
 * (including "unknown" for serials that are not registered), online and
 * last-seen, the newest report's seq and ts, and the open alerts as a bitmask.
 * The store stays the truth; the map is rebuilt from it at startup.
 */
#ifndef PFS_DEVMAP_H
#define PFS_DEVMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pf/error.h"
#include "pf/topic.h"

enum pfs_dev_known { PFS_KNOWN_REGISTERED, PFS_KNOWN_REVOKED, PFS_KNOWN_UNKNOWN };

struct pfs_dev {
    char serial[PF_SERIAL_MAX + 1];
    uint8_t known; /* enum pfs_dev_known */
    bool seen;
    bool online;
    bool have_health;
    uint32_t seq; /* newest report held */
    int64_t ts_ms;
    int64_t last_seen_ms;
    uint32_t alerts; /* PFS_ALERT_BIT()s open */
    uint32_t rows_since_prune;
    int64_t logged_ms; /* last time a drop was logged (rate limit) */
    struct pfs_dev *next;
};

struct pfs_devmap {
    struct pfs_dev **buckets;
    size_t nbuckets;
    size_t count;
};

void pfs_devmap_init(struct pfs_devmap *m);
void pfs_devmap_release(struct pfs_devmap *m);
struct pfs_dev *pfs_devmap_get(struct pfs_devmap *m, const char *serial);
/* Returns the entry for serial, adding a zeroed one if absent (*added set). */
int pfs_devmap_put(struct pfs_devmap *m, const char *serial, struct pfs_dev **out,
                   bool *added) PF_WUR;

/* Iteration: for (d = pfs_devmap_first(m, &i); d; d = pfs_devmap_next(m, d, &i)) */
struct pfs_dev *pfs_devmap_first(struct pfs_devmap *m, size_t *it);
struct pfs_dev *pfs_devmap_next(struct pfs_devmap *m, struct pfs_dev *d, size_t *it);

#endif
