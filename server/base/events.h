/*
 * events.h - the kinds of event posfleetd notifies operators' webhooks of
 * (notify/notify.h sends them; config.h subscribes hooks to them).
 */
#ifndef PFS_EVENTS_H
#define PFS_EVENTS_H

#include <stdint.h>

enum pfs_event_kind {
    PFS_EV_TAMPER,            /* a terminal reported tamper: locked, repair opened */
    PFS_EV_LOCK,              /* a lock command was issued to a terminal */
    PFS_EV_UNLOCK,            /* an unlock command was issued to a terminal */
    PFS_EV_ROLLOUT_PAUSED,    /* the scheduler paused a rollout (a threshold) */
    PFS_EV_ROLLOUT_COMPLETED, /* a rollout completed */
    PFS_EV_ROLLOUT_EXPIRED,   /* a rollout's deadline passed: completed, the rest skipped */
    PFS_EV_TERMINAL_SILENT,   /* a terminal fell silent (the silent alert opened) */
    PFS_EV_REPAIR,            /* a repair record changed state */
    PFS_EV_COUNT
};
/* "tamper", "lock", "unlock", "rollout.paused", "rollout.completed",
 * "rollout.expired", "terminal.silent", "repair.state", NULL */
extern const char *const pfs_event_kind_names[];

/* The kind named s, or -1. */
int pfs_event_kind_parse(const char *s);

#endif
