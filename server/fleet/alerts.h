/*
 * alerts.h - the alert kinds posfleetd raises and how health and birth
 * messages map to them (docs/protocol.md "What the server derives").
 *
 * Pure functions: ingest compares what a message asks for with the alerts a
 * terminal has open and opens or closes the difference in the store.
 */
#ifndef PFS_ALERTS_H
#define PFS_ALERTS_H

#include <stdint.h>

#include "pf/msg.h"
#include "store/store.h"

enum pfs_alert_kind {
    PFS_ALERT_TAMPER,
    PFS_ALERT_SELFTEST_FAILED,
    PFS_ALERT_BATTERY_CRITICAL,
    PFS_ALERT_PAPER_OUT,
    PFS_ALERT_SILENT,
    PFS_ALERT_UNKNOWN_SERIAL,
    PFS_ALERT_COUNT
};
#define PFS_ALERT_BIT(k) (1u << (k))
/* Kinds that a health report decides (open or close). */
#define PFS_ALERTS_FROM_HEALTH                                                                     \
    (PFS_ALERT_BIT(PFS_ALERT_TAMPER) | PFS_ALERT_BIT(PFS_ALERT_SELFTEST_FAILED) |                  \
     PFS_ALERT_BIT(PFS_ALERT_BATTERY_CRITICAL) | PFS_ALERT_BIT(PFS_ALERT_PAPER_OUT))
/* Kinds that a birth decides. */
#define PFS_ALERTS_FROM_BIRTH PFS_ALERT_BIT(PFS_ALERT_SELFTEST_FAILED)

#define PFS_BATTERY_CRITICAL_PCT 5

/* "tamper", "selftest_failed", ... NULL-terminated, indexed by the enum. */
extern const char *const pfs_alert_names[];

/* The kind for a name, or -1. */
int pfs_alert_kind(const char *name);

/* Which health-derived alerts a report asks for, with a detail text for each. */
uint32_t pfs_alerts_from_health(const struct pf_health *h,
                                char detail[PFS_ALERT_COUNT][PFS_ALERT_DETAIL_MAX + 1]);
uint32_t pfs_alerts_from_birth(const struct pf_birth *b,
                               char detail[PFS_ALERT_COUNT][PFS_ALERT_DETAIL_MAX + 1]);

#endif
