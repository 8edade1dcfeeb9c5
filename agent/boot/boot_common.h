/*
 * boot_common.h - helpers shared by the boot-control backends (private to
 * agent/boot/): the booted slot from the kernel command line, running the
 * bootloader's environment tools without a shell, and the rule for an
 * environment that carries no posfleet variables yet.
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
 * standard output into out (always NUL-terminated when out is given, also on
 * failure). A tool that cannot start, exits nonzero or is killed is PF_EIO.
 */
int pfa__boot_run(char *const argv[], char *out, size_t cap, struct pf_error *err) PF_WUR;

/* "a" or "b" to a slot; PF_EPARSE for anything else (an unset variable reads as ""). */
int pfa__boot_slot_parse(const char *v, enum pf_slot *slot) PF_WUR;

/*
 * The slot variables as read from a bootloader's environment (empty string =
 * unset) into env->target and env->good. A terminal whose environment has
 * neither (fresh from the factory, or the bootloader's default environment)
 * runs the booted slot, so both are the booted slot; exactly one of them set,
 * or a value other than a|b, is a damaged environment: PF_EPARSE. env->booted
 * and env->trial must be set (a trial without slots is damaged too).
 */
int pfa__boot_slots(const char *target, const char *good, struct pfa_boot_env *env,
                    const char *backend, struct pf_error *err) PF_WUR;

#endif
