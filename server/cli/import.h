/*
 * import.h - `posfleet device import`: bulk registration from CSV, and the
 * credentials file for posfleet-sim (docs/cli.md, docs/sim.md).
 *
 * Ownership: the command borrows ctx and args; it owns the file's bytes and
 * the answer for the duration of the call.
 */
#ifndef PFC_IMPORT_H
#define PFC_IMPORT_H

#include "cli.h"

/* The run function of the "device import" row. */
int pfc_cmd_device_import(struct pfc_ctx *ctx, const struct pfc_args *a,
                          struct pf_error *err) PF_WUR;

#endif
