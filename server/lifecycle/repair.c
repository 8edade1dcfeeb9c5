/*
 * repair.c - repair record states, fault codes, and what a repair's step
 * does to its terminal.
 */
#include "lifecycle/repair.h"

#include <stdio.h>
#include <string.h>

const char *const pfs_repair_state_names[] = {
        "open", "received", "diagnosed", "repaired", "returned_to_stock", "scrapped", NULL};
const char *const pfs_repair_source_names[] = {"swap", "support", "tamper", NULL};

const char *const pfs_fault_codes[] = {
        "TAMPER",         /* tamper switch or secure element tripped */
        "CARD_READER",    /* card reader (chip, swipe or contactless) faulty */
        "PRINTER",        /* printer mechanism or cutter */
        "DISPLAY",        /* screen or touch panel */
        "KEYPAD",         /* PIN pad or keys */
        "BATTERY",        /* battery does not hold charge or swells */
        "CHARGING",       /* charging port or charger circuit */
        "NETWORK",        /* modem, SIM slot, Wi-Fi or Ethernet */
        "BOOT",           /* does not boot, boot loop, recovery */
        "STORAGE",        /* flash storage errors or full */
        "SECURE_ELEMENT", /* secure element or key injection */
        "PHYSICAL",       /* casing, water or drop damage */
        "NO_FAULT_FOUND", /* tested and found working */
        "OTHER",          /* described in the notes */
        NULL};

int pfs_repair_state_parse(const char *name)
{
    for (int i = 0; pfs_repair_state_names[i]; i++) {
        if (strcmp(pfs_repair_state_names[i], name) == 0)
            return i;
    }
    return -1;
}

bool pfs_repair_state_final(enum pfs_repair_state s)
{
    return s == PFS_REPAIR_RETURNED || s == PFS_REPAIR_SCRAPPED;
}

int pfs_repair_next(enum pfs_repair_state from, enum pfs_repair_state to, struct pf_error *err)
{
    if (pfs_repair_state_final(from))
        return pf_error_set(err, PF_ESTATE, "repair is closed (%s)", pfs_repair_state_names[from]);
    if (to == PFS_REPAIR_SCRAPPED)
        return 0;
    if (to <= from)
        return pf_error_set(err, PF_ESTATE, "repair is %s: cannot go back to %s",
                            pfs_repair_state_names[from], pfs_repair_state_names[to]);
    return 0;
}

int pfs_repair_check(int64_t id, enum pfs_repair_state from, int to, struct pf_error *err)
{
    int rc;

    if (pfs_repair_state_final(from))
        return pf_error_set(err, PF_ESTATE, "repair %lld is closed (%s)", (long long)id,
                            pfs_repair_state_names[from]);
    if (to < 0)
        return 0;
    rc = pfs_repair_next(from, (enum pfs_repair_state)to, err);
    if (rc)
        pf_error_prefix(err, "repair %lld", (long long)id);
    return rc;
}

int pfs_repair_plan_for(int64_t id, enum pfs_repair_state to, const struct pfs_term *t,
                        struct pfs_repair_plan *p, struct pf_error *err)
{
    int rc;

    memset(p, 0, sizeof(*p));
    p->ev = to == PFS_REPAIR_RETURNED   ? PFS_TEV_REPAIR_RETURN
            : to == PFS_REPAIR_SCRAPPED ? PFS_TEV_REPAIR_SCRAP
                                        : PFS_TEV_REPAIR_RECEIVE;
    rc = pfs_life_next(t->state, p->ev, &p->to, err);
    if (rc) {
        pf_error_prefix(err, "repair %lld: terminal %s", (long long)id, t->serial);
        return rc;
    }
    /* Out of the field for good: a merchant gets a terminal back only by binding. */
    p->leaves_field =
            p->to != t->state && (p->to == PFS_TERM_IN_STOCK || p->to == PFS_TERM_RETIRED);
    p->revoke = to == PFS_REPAIR_SCRAPPED;
    p->unlock = to == PFS_REPAIR_RETURNED && t->lock_want;
    return 0;
}

static bool repair__fault_known(const char *s)
{
    for (int i = 0; pfs_fault_codes[i]; i++) {
        if (strcmp(pfs_fault_codes[i], s) == 0)
            return true;
    }
    return false;
}

int pfs_repair_faults_check(json_t *a, struct pf_error *err)
{
    json_t *v;
    size_t i;

    if (!json_is_array(a))
        return pf_error_set(err, PF_EINVAL, "fault_codes: must be an array");
    if (json_array_size(a) > PFS_REPAIR_FAULTS_MAX)
        return pf_error_set(err, PF_EINVAL, "fault_codes: at most %d", PFS_REPAIR_FAULTS_MAX);
    json_array_foreach(a, i, v)
    {
        if (!json_is_string(v) || !repair__fault_known(json_string_value(v)))
            return pf_error_set(err, PF_EINVAL,
                                "fault_codes[%zu]: not a documented fault code (docs/support.md)",
                                i);
    }
    return 0;
}

int pfs_repair_parts_check(json_t *a, struct pf_error *err)
{
    json_t *v;
    size_t i;

    if (!json_is_array(a))
        return pf_error_set(err, PF_EINVAL, "parts: must be an array");
    if (json_array_size(a) > PFS_REPAIR_PARTS_MAX)
        return pf_error_set(err, PF_EINVAL, "parts: at most %d", PFS_REPAIR_PARTS_MAX);
    json_array_foreach(a, i, v)
    {
        char field[32];
        int rc;

        snprintf(field, sizeof(field), "parts[%zu]", i);
        if (!json_is_string(v))
            return pf_error_set(err, PF_EINVAL, "%s: must be a string", field);
        if ((rc = pf_text_check(field, json_string_value(v), json_string_length(v),
                                PFS_REPAIR_PART_MAX, 0, NULL, err)))
            return rc;
    }
    return 0;
}
