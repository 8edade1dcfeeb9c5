/*
 * target.h - the one terminal-targeting rule: is a bundle built for this
 * terminal? The agent applies it to the signed manifest before installing,
 * posfleetd when it takes an offer and when it selects a rollout cohort.
 *
 * A bundle names the models and the hardware revisions it is built for. A
 * terminal matches when its model is named and its hardware revision is
 * named. An empty list names no terminal and so matches nothing: a manifest
 * without targets is refused when parsed, and a stored bundle without any is
 * never offered (it is never read as "any model").
 *
 * One exception, decided here once: posfleetd may know a registered terminal's
 * model but not yet its hardware revision (it has never sent a birth). Such a
 * terminal (hw_rev "") is matched on its model alone; the agent, which always
 * knows its own revision, checks it against the signed manifest again before
 * it installs anything.
 *
 * Lists come in two shapes, both borrowed: a comma-separated string (how
 * posfleetd stores a bundle's targets) or the fixed-width array of struct
 * pf_manifest.
 */
#ifndef PF_TARGET_H
#define PF_TARGET_H

#include <stdbool.h>
#include <stddef.h>

#include "pf/error.h"

struct pf_target_list {
    const char *csv;  /* "a,b,c"; NULL when the array below is used */
    const char *base; /* names[0]; names[i] at base + i * stride */
    size_t n, stride;
};

static inline struct pf_target_list pf_target_csv(const char *csv)
{
    struct pf_target_list l = {csv ? csv : "", NULL, 0, 0};
    return l;
}

static inline struct pf_target_list pf_target_array(const char *base, size_t n, size_t stride)
{
    struct pf_target_list l = {NULL, base, n, stride};
    return l;
}

/* True if name is one of the list's names (exact, case-sensitive). */
bool pf_target_listed(const struct pf_target_list *l, const char *name);

/*
 * The rule: 0 if a terminal of model and hw_rev ("" = not known yet) is a
 * target (model NULL: only the revision is checked), PF_EMODEL if its model
 * is not named (or no model is), PF_EHWREV if its hardware revision is not
 * named (or no revision is).
 */
int pf_target_match(const struct pf_target_list *models, const struct pf_target_list *hw_revs,
                    const char *model, const char *hw_rev) PF_WUR;

#endif
