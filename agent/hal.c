/*
 * hal.c - backend selection and the helpers shared by every backend.
 */
#include "pfa/hal.h"

#include <string.h>

int pfa_hal_new(const char *backend, const char *dir, struct pfa_hal **out, struct pf_error *err)
{
    int rc;

    if (strcmp(backend, "sim") == 0) {
        rc = pfa_hal_sim_new(dir, out);
        if (rc != 0)
            return pf_error_set(err, rc, "hal sim: %s", pf_strerror(rc));
        return 0;
    }
    return pf_error_set(err, PF_EINVAL, "hal: unknown backend \"%.32s\"", backend);
}

void pfa_hal_free(struct pfa_hal *hal)
{
    if (hal)
        hal->ops->free(hal);
}

void pfa_hal_selftest_all(struct pfa_hal *hal, enum pf_check results[PF_COMP_COUNT])
{
    for (int c = 0; c < PF_COMP_COUNT; c++) {
        if (hal->ops->selftest(hal, (enum pf_component)c, &results[c]) != 0)
            results[c] = PF_CHECK_FAIL;
    }
}
