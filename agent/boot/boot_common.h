/*
 * boot_common.h - helpers shared by the boot-control backends (private to
 * agent/boot/): the booted slot from the kernel command line, and running the
 * bootloader's environment tools without a shell.
 *
 * Nothing here knows a backend: the backends include this header, the selector
 * (boot_select.c) includes only boot_backends.h, so there is no include cycle.
 */
#ifndef PFA_BOOT_COMMON_H
#define PFA_BOOT_COMMON_H

#include <stddef.h>

#include "pfa/boot.h"

/* Reads "posfleet.slot=a|b" from path (NULL = /proc/cmdline). PF_ENOENT when absent. */
int pfa__boot_cmdline_slot(const char *path, enum pf_slot *slot, struct pf_error *err) PF_WUR;

/*
 * Runs argv (no shell, PATH lookup) and captures up to cap-1 bytes of its
 * standard output into out. A tool that cannot start, exits nonzero or is
 * killed is PF_EIO.
 */
int pfa__boot_run(char *const argv[], char *out, size_t cap, struct pf_error *err) PF_WUR;

#endif
