/*
 * boot_select.c - chooses the boot-control backend by name (pfa_boot_new) and
 * frees it through its ops table. The backends are listed once, below; the
 * name is compared here only, never per call.
 */
#include "pfa/boot.h"

#include <string.h>

#include "boot_backends.h"

static const struct pfa__boot_backend *const select__backends[] = {
        &pfa__boot_file,
        &pfa__boot_uboot,
        &pfa__boot_grub,
};

int pfa_boot_new(const char *backend, const char *path, const char *cmdline, enum pf_slot initial,
                 struct pfa_boot **out, struct pf_error *err)
{
    for (size_t i = 0; i < sizeof(select__backends) / sizeof(select__backends[0]); i++) {
        if (strcmp(backend, select__backends[i]->name) == 0)
            return select__backends[i]->open(path, cmdline, initial, out, err);
    }
    return pf_error_set(err, PF_EINVAL, "boot: unknown backend \"%.32s\" (file, uboot, grub)",
                        backend);
}

void pfa_boot_free(struct pfa_boot *b)
{
    if (b)
        b->ops->free(b);
}
