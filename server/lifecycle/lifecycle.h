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
 *   swap undone: old in_repair --> its state before the swap, new installed
 *                --> its state before (in stock), while nothing else happened
 *
 * pfs_life_next() consults the table in lifecycle.c and explains a refusal.
 * The pfs_life_* decisions below add what else each change requires (a swap
 * within one model family, no retirement with a repair open, ...): pure
 * functions of the rows the store loaded, so every backend applies the same
 * rules and the store only loads and saves. docs/support.md describes the
 * same flow for people.
 */
#ifndef PFS_LIFECYCLE_H
#define PFS_LIFECYCLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lifecycle/merchant.h"
#include "pf/error.h"
#include "pf/msg.h"

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

/* A terminal as the rules see it (caller-owned; the store fills it). */
struct pfs_term {
    char serial[PF_SERIAL_MAX + 1];
    char model[PF_MODEL_MAX + 1];
    enum pfs_term_state state;
    bool revoked; /* registry status */
    char merchant_id[PFS_MERCHANT_ID_MAX + 1];
    bool lock_want;  /* payments must be disabled */
    bool lock_acked; /* the terminal confirmed lock_cmd */
    char lock_cmd[65];
};

/* The state of a terminal: revoked in the registry means retired (out of the
 * fleet), no lifecycle row yet (stored < 0) means in stock. */
enum pfs_term_state pfs_life_state(bool revoked, int stored);

/* The model family (what a swap must match): the model up to its first '-',
 * or the whole model. */
void pfs_model_family(const char *model, char *out, size_t size);

/* Binding, the terminal's side: in stock only. *to: its state after. */
int pfs_life_bind(const struct pfs_term *t, enum pfs_term_state *to, struct pf_error *err) PF_WUR;
/* Binding, the merchant's side: approved or active only; *activate: an
 * approved merchant becomes active with its first terminal. */
int pfs_life_bind_merchant(const struct pfs_merchant *m, bool *activate,
                           struct pf_error *err) PF_WUR;
int pfs_life_unbind(const struct pfs_term *t, enum pfs_term_state *to, struct pf_error *err) PF_WUR;
/* Retiring revokes the terminal; one with an open repair is scrapped through
 * its repair instead. */
int pfs_life_retire(const struct pfs_term *t, bool repair_open, enum pfs_term_state *to,
                    struct pf_error *err) PF_WUR;
/* Tags change on any terminal still in the fleet. */
int pfs_life_tags(const struct pfs_term *t, struct pf_error *err) PF_WUR;
/* The swap: old bound (-> in_repair), new in stock and not revoked (->
 * installed), both of one model family. */
int pfs_life_swap(const struct pfs_term *old_t, const struct pfs_term *new_t,
                  enum pfs_term_state *old_to, enum pfs_term_state *new_to,
                  struct pf_error *err) PF_WUR;
/*
 * A swap as posfleetd recorded it for its undo: the two terminals, their
 * states before, the repair it opened (opened) or joined (a tamper repair
 * already open), and whether it was undone already.
 */
struct pfs_swap_rec {
    int64_t id;
    char old_serial[PF_SERIAL_MAX + 1];
    char new_serial[PF_SERIAL_MAX + 1];
    enum pfs_term_state old_from, new_from;
    int64_t repair_id;
    bool repair_opened;
    int64_t ts_ms;
    int64_t undone_ms; /* 0: not undone */
};
/* What happened since a swap, as the store found it. */
struct pfs_swap_since {
    const char *old_event;    /* the first history line of OLD after the swap, or NULL */
    const char *new_event;    /* the same for NEW ("activate": it reported from the shop) */
    const char *repair_state; /* the repair's state now, NULL if it is gone */
    bool repair_touched;      /* the repair changed after the swap (notes, faults, diagnostics) */
};
/*
 * Undoing swap s: OLD back to its state before and bound again, NEW back in
 * stock. Refused (PF_ESTATE, naming what happened) once anything happened to
 * either terminal or the repair since: NEW reported from the merchant (it may
 * have taken payments), either was bound, unbound, locked or swapped again,
 * the repair moved or was worked on; and when s was undone already.
 */
int pfs_life_swap_undo(const struct pfs_swap_rec *s, const struct pfs_term *old_t,
                       const struct pfs_term *new_t, const struct pfs_swap_since *since,
                       enum pfs_term_state *old_to, enum pfs_term_state *new_to,
                       struct pf_error *err) PF_WUR;
/* True (with *to) if the first report after binding makes t active. */
bool pfs_life_activates(const struct pfs_term *t, enum pfs_term_state *to);
/* True (with *to) if a tamper report locks t: not yet locked, in repair or
 * retired (a lock support set by hand does not stop it: the repair opens). */
bool pfs_life_tamper_locks(const struct pfs_term *t, enum pfs_term_state *to);
/*
 * Support locks (lock) or unlocks a terminal by hand: payments disabled or
 * enabled again, its lifecycle state unchanged. Only in stock, installed or
 * active: a terminal locked for tamper or in repair is unlocked by its repair
 * (returned_to_stock), a retired one is out of the fleet. Locking a locked
 * terminal or unlocking an unlocked one is refused (PF_ESTATE).
 */
int pfs_life_lock(const struct pfs_term *t, bool lock, struct pf_error *err) PF_WUR;
/* True if a lock report confirms t's pending command: same id, the wanted
 * state, not confirmed yet. */
bool pfs_life_lock_confirms(const struct pfs_term *t, const char *cmd_id, bool locked);
/* Support opens a repair for a terminal in stock with none open
 * (open_repair: the id of the open one, 0 if none). */
int pfs_life_repair_open(const struct pfs_term *t, int64_t open_repair, enum pfs_term_state *to,
                         struct pf_error *err) PF_WUR;

#endif
