/*
 * hal.c - backend selection and the helpers shared by every backend.
 */
#include "pfa/hal.h"

#include <string.h>

#include "pfa/config.h"

int pfa_hal_new(const char *backend, const char *dir, struct pfa_hal **out, struct pf_error *err)
{
    int rc;

    if (strcmp(backend, "sim") == 0) {
        rc = pfa_hal_sim_new(dir, out);
        if (rc != 0)
            return pf_error_set(err, rc, "hal sim: %s", pf_strerror(rc));
        return 0;
    }
    if (strcmp(backend, "linux") == 0) {
        struct pfa_hal_linux_opts o = {.dir = dir};
        rc = pfa_hal_linux_new(&o, out);
        if (rc != 0)
            return pf_error_set(err, rc, "hal linux: %s", pf_strerror(rc));
        return 0;
    }
    return pf_error_set(err, PF_EINVAL, "hal: unknown backend \"%.32s\"", backend);
}

int pfa_hal_open(const struct pfa_config *cfg, struct pfa_hal **out, struct pf_error *err)
{
    struct pfa_hal_linux_opts o;
    int rc;

    if (strcmp(cfg->hal, "linux") != 0)
        return pfa_hal_new(cfg->hal, cfg->hal_dir, out, err);
    o.root = cfg->hal_root;
    o.dir = cfg->hal_dir;
    o.data_dir = cfg->hal_data_dir ? cfg->hal_data_dir : cfg->state_dir;
    o.reboot_cmd = cfg->hal_reboot_cmd;
    rc = pfa_hal_linux_new(&o, out);
    if (rc != 0)
        return pf_error_set(err, rc, "hal linux: %s", pf_strerror(rc));
    return 0;
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
