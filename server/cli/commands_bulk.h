/*
 * commands_bulk.h - `posfleet device bind|unbind|tag --csv FILE` (bulk
 * changes from a CSV file, all or nothing), the confirmation of `posfleet
 * swap` and `posfleet swap undo` (docs/cli.md, "Lifecycle").
 *
 * Ownership: the run functions borrow ctx and args; they own the file's
 * bytes and the answers for the duration of the call.
 */
#ifndef PFC_COMMANDS_BULK_H
#define PFC_COMMANDS_BULK_H

#include "cli.h"

/* --csv FILE and --check. */
extern const struct pfc_opt pfc_bulk_opts[];
/* swap's --reason and --yes; swap undo's --reason. */
extern const struct pfc_opt pfc_swap_confirm_opts[];
extern const struct pfc_opt pfc_swap_undo_opts[];

int pfc_cmd_bulk_bind(struct pfc_ctx *ctx, const struct pfc_args *a, struct pf_error *err) PF_WUR;
int pfc_cmd_bulk_unbind(struct pfc_ctx *ctx, const struct pfc_args *a, struct pf_error *err) PF_WUR;
int pfc_cmd_bulk_tag(struct pfc_ctx *ctx, const struct pfc_args *a, struct pf_error *err) PF_WUR;
/* swap: on a terminal shows what moves and asks; without one needs --yes (else exit 2). */
int pfc_cmd_swap(struct pfc_ctx *ctx, const struct pfc_args *a, struct pf_error *err) PF_WUR;
int pfc_render_swap_undo(FILE *out, int64_t now_ms, const struct pfc_args *a, json_t *resp,
                         struct pf_error *err);

#endif
