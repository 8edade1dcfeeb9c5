/*
 * alerts.c - alert kinds and their conditions.
 */
#include "fleet/alerts.h"

#include <stdio.h>
#include <string.h>

const char *const pfs_alert_names[] = {"tamper",    "selftest_failed", "battery_critical",
                                       "paper_out", "silent",          "unknown_serial",
                                       NULL};

int pfs_alert_kind(const char *name)
{
    for (int i = 0; pfs_alert_names[i]; i++) {
        if (strcmp(name, pfs_alert_names[i]) == 0)
            return i;
    }
    return -1;
}

static uint32_t alerts__selftest(const enum pf_check *c, char *detail)
{
    size_t n = 0;
    uint32_t bits = 0;

    detail[0] = '\0';
    for (int i = 0; i < PF_COMP_COUNT; i++) {
        if (c[i] != PF_CHECK_FAIL)
            continue;
        bits = PFS_ALERT_BIT(PFS_ALERT_SELFTEST_FAILED);
        if (n < PFS_ALERT_DETAIL_MAX)
            n += (size_t)snprintf(detail + n, PFS_ALERT_DETAIL_MAX + 1 - n, "%s%s",
                                  n ? "," : "failed: ", pf_component_names[i]);
    }
    return bits;
}

uint32_t pfs_alerts_from_health(const struct pf_health *h,
                                char detail[PFS_ALERT_COUNT][PFS_ALERT_DETAIL_MAX + 1])
{
    uint32_t bits = 0;

    if (h->tamper) {
        bits |= PFS_ALERT_BIT(PFS_ALERT_TAMPER);
        snprintf(detail[PFS_ALERT_TAMPER], PFS_ALERT_DETAIL_MAX + 1, "tamper reported");
    }
    bits |= alerts__selftest(h->selftest, detail[PFS_ALERT_SELFTEST_FAILED]);
    if (h->battery_pct <= PFS_BATTERY_CRITICAL_PCT && !h->charging) {
        bits |= PFS_ALERT_BIT(PFS_ALERT_BATTERY_CRITICAL);
        snprintf(detail[PFS_ALERT_BATTERY_CRITICAL], PFS_ALERT_DETAIL_MAX + 1,
                 "battery %d %%, not charging", h->battery_pct);
    }
    if (h->paper == PF_PAPER_OUT) {
        bits |= PFS_ALERT_BIT(PFS_ALERT_PAPER_OUT);
        snprintf(detail[PFS_ALERT_PAPER_OUT], PFS_ALERT_DETAIL_MAX + 1, "paper out");
    }
    return bits;
}

uint32_t pfs_alerts_from_birth(const struct pf_birth *b,
                               char detail[PFS_ALERT_COUNT][PFS_ALERT_DETAIL_MAX + 1])
{
    return alerts__selftest(b->selftest, detail[PFS_ALERT_SELFTEST_FAILED]);
}
