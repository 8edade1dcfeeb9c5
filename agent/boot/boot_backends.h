/*
 * boot_backends.h - the boot-control backends the selector knows (private to
 * agent/boot/). Each backend is one file that defines one of these
 * descriptors: its name (the value of update.boot) and its constructor. Only
 * boot_select.c reads the list; a new backend is a new file and one line in
 * boot_select.c's table.
 */
#ifndef PFA_BOOT_BACKENDS_H
#define PFA_BOOT_BACKENDS_H

#include "pfa/boot.h"

struct pfa__boot_backend {
    const char *name;
    /* Arguments as for pfa_boot_new(); the backend checks what it needs of them. */
    int (*open)(const char *path, const char *cmdline, enum pf_slot initial, struct pfa_boot **out,
                struct pf_error *err);
};

extern const struct pfa__boot_backend pfa__boot_file;  /* boot/file.c */
extern const struct pfa__boot_backend pfa__boot_uboot; /* boot/uboot.c */
extern const struct pfa__boot_backend pfa__boot_grub;  /* boot/grub.c */

#endif
