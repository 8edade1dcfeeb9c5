/*
 * lifecycle.h - the states of a terminal and the only transitions allowed.
 *
 *   in_stock --bind--> installed --first report--> active
 *   installed|active --unbind--> in_stock
 *   in_stock|installed|active --tamper--> locked        (posfleetd, from health)
 *   installed|active|locked --swap (old)--> in_repair    (its repair opens)
 *   in_stock --swap (new)--> installed
 *   in_stock --repair open--> in_repair                  (support)
 *   locked --repair received--> in_repair
 *   in_repair|locked --repair returned_to_stock--> in_stock
 *   in_repair|locked --repair scrapped--> retired
 *   in_stock|in_repair --retire--> retired               (certificate revoked)
 *
 * pfs_life_next() consults the table in lifecycle.c and explains a refusal.
 * docs/support.md describes the same flow for people.
 */
#ifndef PFS_LIFECYCLE_H
#define PFS_LIFECYCLE_H

#include "pf/error.h"

enum pfs_term_state {
    PFS_TERM_IN_STOCK,
    PFS_TERM_INSTALLED,
    PFS_TERM_ACTIVE,
    PFS_TERM_LOCKED,
    PFS_TERM_IN_REPAIR,
    PFS_TERM_RETIRED,
    PFS_TERM_STATE_COUNT
};
/* "in_stock", "installed", "active", "locked", "in_repair", "retired", NULL */
extern const char *const pfs_term_state_names[];

enum pfs_term_event {
    PFS_TEV_BIND,
    PFS_TEV_UNBIND,
    PFS_TEV_ACTIVATE,
    PFS_TEV_TAMPER,
    PFS_TEV_SWAP_OUT,
    PFS_TEV_SWAP_IN,
    PFS_TEV_REPAIR_OPEN,
    PFS_TEV_REPAIR_RECEIVE,
    PFS_TEV_REPAIR_RETURN,
    PFS_TEV_REPAIR_SCRAP,
    PFS_TEV_RETIRE,
    PFS_TEV_COUNT
};
/* "bind", "unbind", "activate", "tamper", "swap_out", "swap_in", "repair_open",
 * "repair_receive", "repair_return", "repair_scrap", "retire", NULL */
extern const char *const pfs_term_event_names[];

/* Index of name in pfs_term_state_names, or -1. */
int pfs_term_state_parse(const char *name);

/* The state event leads to from from; PF_ESTATE with a reason naming the
 * states it is allowed in. */
int pfs_life_next(enum pfs_term_state from, enum pfs_term_event ev, enum pfs_term_state *to,
                  struct pf_error *err) PF_WUR;

#endif
