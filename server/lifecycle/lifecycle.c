/*
 * lifecycle.c - the terminal state table (lifecycle.h draws it).
 */
#include "lifecycle/lifecycle.h"

#include <stdio.h>
#include <string.h>

const char *const pfs_term_state_names[] = {"in_stock",  "installed", "active", "locked",
                                            "in_repair", "retired",   NULL};
const char *const pfs_term_event_names[] = {
        "bind",        "unbind",         "activate",      "tamper",       "swap_out", "swap_in",
        "repair_open", "repair_receive", "repair_return", "repair_scrap", "retire",   NULL};

#define S(x) (1u << PFS_TERM_##x)
static const struct {
    unsigned from;
    enum pfs_term_state to;
    const char *why; /* what the refusal says the event needs */
} life__table[PFS_TEV_COUNT] = {
        [PFS_TEV_BIND] = {S(IN_STOCK), PFS_TERM_INSTALLED,
                          "only a terminal in stock can be bound (unbind or swap it first)"},
        [PFS_TEV_UNBIND] = {S(INSTALLED) | S(ACTIVE), PFS_TERM_IN_STOCK,
                            "only a bound terminal (installed or active) can be unbound"},
        [PFS_TEV_ACTIVATE] = {S(INSTALLED), PFS_TERM_ACTIVE,
                              "only an installed terminal becomes active"},
        [PFS_TEV_TAMPER] = {S(IN_STOCK) | S(INSTALLED) | S(ACTIVE), PFS_TERM_LOCKED,
                            "the terminal is already locked, in repair or retired"},
        [PFS_TEV_SWAP_OUT] = {S(INSTALLED) | S(ACTIVE) | S(LOCKED), PFS_TERM_IN_REPAIR,
                              "the old terminal must be bound to a merchant"},
        [PFS_TEV_SWAP_IN] = {S(IN_STOCK), PFS_TERM_INSTALLED, "the new terminal must be in stock"},
        [PFS_TEV_REPAIR_OPEN] = {S(IN_STOCK), PFS_TERM_IN_REPAIR,
                                 "support opens repairs for terminals in stock (swap a bound one;"
                                 " a locked one has its repair already)"},
        [PFS_TEV_REPAIR_RECEIVE] = {S(LOCKED) | S(IN_REPAIR), PFS_TERM_IN_REPAIR,
                                    "the terminal is not locked or in repair"},
        [PFS_TEV_REPAIR_RETURN] = {S(LOCKED) | S(IN_REPAIR), PFS_TERM_IN_STOCK,
                                   "the terminal is not locked or in repair"},
        [PFS_TEV_REPAIR_SCRAP] = {S(LOCKED) | S(IN_REPAIR), PFS_TERM_RETIRED,
                                  "the terminal is not locked or in repair"},
        [PFS_TEV_RETIRE] = {S(IN_STOCK) | S(IN_REPAIR), PFS_TERM_RETIRED,
                            "only a terminal in stock or in repair can be retired (unbind it"
                            " first; close a locked terminal's repair as scrapped)"},
};
#undef S

int pfs_term_state_parse(const char *name)
{
    for (int i = 0; pfs_term_state_names[i]; i++) {
        if (strcmp(pfs_term_state_names[i], name) == 0)
            return i;
    }
    return -1;
}

int pfs_life_next(enum pfs_term_state from, enum pfs_term_event ev, enum pfs_term_state *to,
                  struct pf_error *err)
{
    if ((unsigned)ev >= PFS_TEV_COUNT || (unsigned)from >= PFS_TERM_STATE_COUNT)
        return pf_error_set(err, PF_EINVAL, "unknown lifecycle event");
    if (!(life__table[ev].from & (1u << from)))
        return pf_error_set(err, PF_ESTATE, "%s: terminal is %s: %s", pfs_term_event_names[ev],
                            pfs_term_state_names[from], life__table[ev].why);
    *to = life__table[ev].to;
    return 0;
}
