/*
 * target.c - the terminal-targeting rule (pf/target.h).
 */
#include <string.h>

#include "pf/target.h"

bool pf_target_listed(const struct pf_target_list *l, const char *name)
{
    size_t n = strlen(name);

    if (n == 0)
        return false;
    if (!l->csv) {
        for (size_t i = 0; i < l->n; i++)
            if (strcmp(l->base + i * l->stride, name) == 0)
                return true;
        return false;
    }
    for (const char *p = l->csv; *p;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);

        if (len == n && memcmp(p, name, n) == 0)
            return true;
        p += len + (comma ? 1 : 0);
    }
    return false;
}

static bool target__empty(const struct pf_target_list *l)
{
    return l->csv ? *l->csv == '\0' : l->n == 0;
}

int pf_target_match(const struct pf_target_list *models, const struct pf_target_list *hw_revs,
                    const char *model, const char *hw_rev)
{
    if (model && !pf_target_listed(models, model))
        return PF_EMODEL;
    if (target__empty(hw_revs) || (*hw_rev && !pf_target_listed(hw_revs, hw_rev)))
        return PF_EHWREV;
    return 0;
}
