/*
 * repair.h - repair records (RMA): states, fault codes, field checks.
 *
 *   open -> received -> diagnosed -> repaired -> returned_to_stock
 *   any state before the end -> scrapped
 *   (a step may be skipped forward: open -> diagnosed is allowed, backwards is not)
 *
 * A repair opens by a swap (the old terminal), by support, or by posfleetd when
 * a terminal reports tamper. Closing it (returned_to_stock or scrapped) is
 * what unlocks, or retires, the terminal (pfs_repair_plan_for decides how). Fault codes come from
 * the fixed list below; docs/support.md ("Fault codes") explains each.
 */
#ifndef PFS_REPAIR_H
#define PFS_REPAIR_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "lifecycle/lifecycle.h"
#include "pf/error.h"
#include "pf/text.h"

enum pfs_repair_state {
    PFS_REPAIR_OPEN,
    PFS_REPAIR_RECEIVED,
    PFS_REPAIR_DIAGNOSED,
    PFS_REPAIR_REPAIRED,
    PFS_REPAIR_RETURNED,
    PFS_REPAIR_SCRAPPED,
    PFS_REPAIR_STATE_COUNT
};
/* "open", "received", "diagnosed", "repaired", "returned_to_stock", "scrapped", NULL */
extern const char *const pfs_repair_state_names[];
/* "swap", "support", "tamper", NULL */
extern const char *const pfs_repair_source_names[];
/* The documented fault codes, NULL-terminated. */
extern const char *const pfs_fault_codes[];

#define PFS_REPAIR_REASON_MAX PF_TEXT_REASON_MAX /* characters (pf/text.h) */
#define PFS_REPAIR_NOTES_MAX  PF_TEXT_NOTES_MAX
#define PFS_REPAIR_PARTS_MAX  16
#define PFS_REPAIR_PART_MAX   PF_TEXT_PART_MAX
#define PFS_REPAIR_FAULTS_MAX 8

int pfs_repair_state_parse(const char *name);
bool pfs_repair_state_final(enum pfs_repair_state s);
/* PF_ESTATE with the reason if a repair may not move from -> to. */
int pfs_repair_next(enum pfs_repair_state from, enum pfs_repair_state to,
                    struct pf_error *err) PF_WUR;
/* A repair change as the repair table allows it: PF_ESTATE naming repair id
 * when it is closed or to (a state, or -1 to keep it) goes backwards. */
int pfs_repair_check(int64_t id, enum pfs_repair_state from, int to, struct pf_error *err) PF_WUR;

/* What a repair moving to `to` does to its terminal (the terminal follows
 * the repair). */
struct pfs_repair_plan {
    enum pfs_term_event ev; /* the line in the terminal's history */
    enum pfs_term_state to; /* the terminal's state after */
    bool leaves_field;      /* back in stock or retired: its binding is cleared */
    bool revoke;            /* scrapped: revoked in the registry */
    bool unlock;            /* returned while locked: an unlock command goes out */
};
/* The plan for repair id of terminal t moving to `to` (>= 0); PF_ESTATE
 * naming both when the terminal's state does not allow it. */
int pfs_repair_plan_for(int64_t id, enum pfs_repair_state to, const struct pfs_term *t,
                        struct pfs_repair_plan *p, struct pf_error *err) PF_WUR;

/* Checks an array of fault codes (PF_EINVAL naming the bad entry). */
int pfs_repair_faults_check(json_t *a, struct pf_error *err) PF_WUR;
/* Checks an array of part names. */
int pfs_repair_parts_check(json_t *a, struct pf_error *err) PF_WUR;

#endif
