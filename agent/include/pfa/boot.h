/*
 * boot.h - boot control for A/B firmware slots.
 *
 * One backend per file under agent/boot/, behind struct pfa_boot_ops:
 *   file   (boot/file.c)   a key=value file written atomically; it also plays
 *                          the bootloader in simulation (pfa_boot_new() runs
 *                          the boot decision once: counts a trial boot down or
 *                          falls back when the counter is exhausted);
 *   uboot  (boot/uboot.c)  U-Boot environment through fw_printenv / fw_setenv -s
 *                          (libubootenv), redundant copies as fw_env.config says;
 *   grub   (boot/grub.c)   GRUB environment block through grub-editenv, on a
 *                          copy renamed over the block.
 * boot/boot_select.c picks one by name (the only place that knows them all);
 * boot/boot_common.c holds what the backends share. docs/update.md documents
 * the variables and the bootloader scripts; tests/unit/test_boot.c runs the
 * same suite on the three, against Debian's real tools.
 *
 * The model, for every backend: `good` is the committed slot; during a trial
 * `target` is the new slot, which the bootloader boots while `tries` lasts,
 * then falls back to `good`. Every state change is ONE atomic write of the
 * environment: try (target + counter + trial flag), commit, fallback.
 * The booted slot is what the platform reports (kernel command line for the
 * real backends, the simulated boot decision for file). An environment with
 * no posfleet variables yet (fresh terminal) reads as good = target = booted.
 *
 * Ownership: pfa_boot_new() returns a heap handle; pfa_boot_free() frees it.
 */
#ifndef PFA_BOOT_H
#define PFA_BOOT_H

#include <stdbool.h>

#include "pf/error.h"
#include "pf/msg.h"

struct pfa_boot_env {
    enum pf_slot booted; /* slot the running system came from */
    enum pf_slot good;   /* committed slot */
    enum pf_slot target; /* slot the bootloader boots next */
    bool trial;          /* target is on trial (not committed yet) */
    int tries;           /* trial boots left */
};

struct pfa_boot;

struct pfa_boot_ops {
    const char *name;
    /* Reads the environment (and the booted slot). */
    int (*load)(struct pfa_boot *b, struct pfa_boot_env *env, struct pf_error *err);
    /* One write: target = slot, trial, tries = tries; good unchanged (written again
     * with the rest, so the bootloader's fallback has a slot to go to). */
    int (*try_slot)(struct pfa_boot *b, enum pf_slot slot, int tries, struct pf_error *err);
    /* One write: good = target = slot, trial off. */
    int (*commit)(struct pfa_boot *b, enum pf_slot slot, struct pf_error *err);
    /* One write: target = good, trial off. */
    int (*fallback)(struct pfa_boot *b, struct pf_error *err);
    void (*free)(struct pfa_boot *b);
};

struct pfa_boot {
    const struct pfa_boot_ops *ops;
    void *priv;
    /* Test hook (fault injection): called before each environment write. */
    void (*before_write)(void *ctx);
    void *hook_ctx;
};

/*
 * Creates the backend named "file", "uboot" or "grub". path: the env file
 * (file, grub) or the fw_env.config (uboot; NULL = the tool's default).
 * cmdline: where the booted slot is read for uboot/grub ("posfleet.slot=a|b"),
 * NULL = /proc/cmdline. initial: the slot a fresh file environment starts on.
 */
int pfa_boot_new(const char *backend, const char *path, const char *cmdline, enum pf_slot initial,
                 struct pfa_boot **out, struct pf_error *err) PF_WUR;
void pfa_boot_free(struct pfa_boot *b);

static inline enum pf_slot pfa_slot_other(enum pf_slot s)
{
    return s == PF_SLOT_A ? PF_SLOT_B : PF_SLOT_A;
}

#endif
