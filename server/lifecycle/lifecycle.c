/*
 * lifecycle.c - the terminal state table (lifecycle.h draws it) and the
 * decisions of each terminal change, as pure functions of loaded rows.
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

enum pfs_term_state pfs_life_state(bool revoked, int stored)
{
    if (revoked)
        return PFS_TERM_RETIRED;
    if (stored < 0 || stored >= PFS_TERM_STATE_COUNT)
        return PFS_TERM_IN_STOCK;
    return (enum pfs_term_state)stored;
}

void pfs_model_family(const char *model, char *out, size_t size)
{
    const char *dash = strchr(model, '-');
    size_t n = dash && dash != model ? (size_t)(dash - model) : strlen(model);

    if (n >= size)
        n = size - 1;
    memcpy(out, model, n);
    out[n] = '\0';
}

int pfs_life_bind(const struct pfs_term *t, enum pfs_term_state *to, struct pf_error *err)
{
    int rc = pfs_life_next(t->state, PFS_TEV_BIND, to, err);

    if (rc == PF_ESTATE && t->merchant_id[0])
        pf_error_prefix(err, "%s (bound to merchant %s)", t->serial, t->merchant_id);
    else if (rc == PF_ESTATE)
        pf_error_prefix(err, "%s", t->serial);
    return rc;
}

int pfs_life_bind_merchant(const struct pfs_merchant *m, bool *activate, struct pf_error *err)
{
    *activate = false;
    if (!pfs_merchant_bindable(m->status))
        return pf_error_set(err, PF_ESTATE,
                            "bind: merchant %s is %s: only approved or active merchants get"
                            " terminals",
                            m->id, pfs_merchant_status_names[m->status]);
    *activate = m->status == PFS_MERCHANT_APPROVED;
    return 0;
}

int pfs_life_unbind(const struct pfs_term *t, enum pfs_term_state *to, struct pf_error *err)
{
    int rc = pfs_life_next(t->state, PFS_TEV_UNBIND, to, err);

    if (rc == PF_ESTATE)
        pf_error_prefix(err, "%s", t->serial);
    return rc;
}

int pfs_life_retire(const struct pfs_term *t, bool repair_open, enum pfs_term_state *to,
                    struct pf_error *err)
{
    int rc = pfs_life_next(t->state, PFS_TEV_RETIRE, to, err);

    if (rc == PF_ESTATE)
        pf_error_prefix(err, "%s", t->serial);
    if (rc)
        return rc;
    if (repair_open)
        return pf_error_set(err, PF_ESTATE,
                            "retire: %s has an open repair: close it as scrapped instead",
                            t->serial);
    return 0;
}

int pfs_life_tags(const struct pfs_term *t, struct pf_error *err)
{
    if (t->state == PFS_TERM_RETIRED)
        return pf_error_set(err, PF_ESTATE, "tags: %s is retired", t->serial);
    return 0;
}

int pfs_life_swap(const struct pfs_term *old_t, const struct pfs_term *new_t,
                  enum pfs_term_state *old_to, enum pfs_term_state *new_to, struct pf_error *err)
{
    char fo[PF_MODEL_MAX + 1], fn[PF_MODEL_MAX + 1];
    int rc;

    if (strcmp(old_t->serial, new_t->serial) == 0)
        return pf_error_set(err, PF_EINVAL, "swap: old and new are the same terminal");
    rc = pfs_life_next(old_t->state, PFS_TEV_SWAP_OUT, old_to, err);
    if (rc) {
        pf_error_prefix(err, "old %s", old_t->serial);
        return rc;
    }
    rc = pfs_life_next(new_t->state, PFS_TEV_SWAP_IN, new_to, err);
    if (!rc && new_t->revoked)
        rc = pf_error_set(err, PF_ESTATE, "swap_in: terminal is revoked");
    if (rc) {
        pf_error_prefix(err, "new %s", new_t->serial);
        return rc;
    }
    pfs_model_family(old_t->model, fo, sizeof(fo));
    pfs_model_family(new_t->model, fn, sizeof(fn));
    if (strcmp(fo, fn) != 0)
        return pf_error_set(err, PF_ESTATE,
                            "swap: new %s is model %s (family %s), old %s is %s (family %s)",
                            new_t->serial, new_t->model, fn, old_t->serial, old_t->model, fo);
    return 0;
}

int pfs_life_swap_undo(const struct pfs_swap_rec *s, const struct pfs_term *old_t,
                       const struct pfs_term *new_t, const struct pfs_swap_since *since,
                       enum pfs_term_state *old_to, enum pfs_term_state *new_to,
                       struct pf_error *err)
{
    if (s->undone_ms)
        return pf_error_set(err, PF_ESTATE, "swap undo: the swap of %s for %s was undone already",
                            s->old_serial, s->new_serial);
    if (since->new_event && strcmp(since->new_event, "activate") == 0)
        return pf_error_set(err, PF_ESTATE,
                            "swap undo: %s has reported from the merchant since the swap (it is"
                            " active and may have taken payments): unbind it or swap it instead",
                            s->new_serial);
    if (since->new_event)
        return pf_error_set(err, PF_ESTATE, "swap undo: %s changed since the swap (%s)",
                            s->new_serial, since->new_event);
    if (since->old_event)
        return pf_error_set(err, PF_ESTATE, "swap undo: %s changed since the swap (%s)",
                            s->old_serial, since->old_event);
    if (!since->repair_state || strcmp(since->repair_state, "open") != 0)
        return pf_error_set(err, PF_ESTATE, "swap undo: repair %lld of %s is %s now",
                            (long long)s->repair_id, s->old_serial,
                            since->repair_state ? since->repair_state : "gone");
    if (since->repair_touched)
        return pf_error_set(err, PF_ESTATE,
                            "swap undo: repair %lld of %s was worked on since the swap",
                            (long long)s->repair_id, s->old_serial);
    if (old_t->state != PFS_TERM_IN_REPAIR || old_t->revoked)
        return pf_error_set(err, PF_ESTATE, "swap undo: %s is %s, not in repair", s->old_serial,
                            pfs_term_state_names[old_t->state]);
    if (new_t->state != PFS_TERM_INSTALLED || new_t->revoked)
        return pf_error_set(err, PF_ESTATE, "swap undo: %s is %s, not installed", s->new_serial,
                            pfs_term_state_names[new_t->state]);
    *old_to = s->old_from;
    *new_to = s->new_from;
    return 0;
}

bool pfs_life_activates(const struct pfs_term *t, enum pfs_term_state *to)
{
    return pfs_life_next(t->state, PFS_TEV_ACTIVATE, to, NULL) == 0;
}

bool pfs_life_tamper_locks(const struct pfs_term *t, enum pfs_term_state *to)
{
    /* A terminal support locked by hand still gets its tamper repair. */
    return pfs_life_next(t->state, PFS_TEV_TAMPER, to, NULL) == 0;
}

int pfs_life_lock(const struct pfs_term *t, bool lock, struct pf_error *err)
{
    const char *verb = lock ? "lock" : "unlock";

    if (t->revoked || t->state == PFS_TERM_RETIRED)
        return pf_error_set(err, PF_ESTATE, "%s: %s is retired", verb, t->serial);
    if (t->state == PFS_TERM_LOCKED || t->state == PFS_TERM_IN_REPAIR)
        return pf_error_set(err, PF_ESTATE,
                            "%s: %s is %s: its repair decides (closing it returned_to_stock"
                            " unlocks it)",
                            verb, t->serial, pfs_term_state_names[t->state]);
    if (lock && t->lock_want)
        return pf_error_set(err, PF_ESTATE, "lock: %s is locked already", t->serial);
    if (!lock && !t->lock_want)
        return pf_error_set(err, PF_ESTATE, "unlock: %s is not locked", t->serial);
    return 0;
}

bool pfs_life_lock_confirms(const struct pfs_term *t, const char *cmd_id, bool locked)
{
    return !t->lock_acked && strcmp(t->lock_cmd, cmd_id) == 0 && t->lock_want == locked;
}

int pfs_life_repair_open(const struct pfs_term *t, int64_t open_repair, enum pfs_term_state *to,
                         struct pf_error *err)
{
    int rc;

    if (open_repair)
        return pf_error_set(err, PF_EEXIST, "repair: %s already has repair %lld open", t->serial,
                            (long long)open_repair);
    rc = pfs_life_next(t->state, PFS_TEV_REPAIR_OPEN, to, err);
    if (rc == PF_ESTATE)
        pf_error_prefix(err, "%s", t->serial);
    return rc;
}
