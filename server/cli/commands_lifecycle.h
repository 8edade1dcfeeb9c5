/*
 * commands_lifecycle.h - the arguments, run function and renderers of the
 * merchant, lifecycle, swap, repair, history and audit commands. Their rows
 * sit in pfc_commands (commands.c); everything else is here.
 */
#ifndef PFC_COMMANDS_LIFECYCLE_H
#define PFC_COMMANDS_LIFECYCLE_H

#include "args.h"

extern const struct pfc_opt pfc_merchant_id_pos[];
extern const struct pfc_opt pfc_merchant_add_pos[];
extern const struct pfc_opt pfc_merchant_fields[];
extern const struct pfc_opt pfc_merchant_update_fields[];
extern const struct pfc_opt pfc_bind_pos[];
extern const struct pfc_opt pfc_swap_pos[];
extern const struct pfc_opt pfc_tags_opts[];
extern const struct pfc_opt pfc_history_opts[];
extern const struct pfc_opt pfc_repair_id_pos[];
extern const struct pfc_opt pfc_repair_open_opts[];
extern const struct pfc_opt pfc_repair_list_opts[];
extern const struct pfc_opt pfc_repair_update_opts[];
extern const struct pfc_opt pfc_repair_close_opts[];

/* Template flow, except that list-valued fields (fee_plan, tags, fault_codes,
 * parts) given as "a,b,c" are sent as JSON arrays. */
int pfc_cmd_lifecycle(struct pfc_ctx *ctx, const struct pfc_args *a, struct pf_error *err) PF_WUR;

int pfc_render_merchant(FILE *out, int64_t now_ms, const struct pfc_args *a, json_t *resp,
                        struct pf_error *err) PF_WUR;
int pfc_render_merchants(FILE *out, int64_t now_ms, const struct pfc_args *a, json_t *resp,
                         struct pf_error *err) PF_WUR;
int pfc_render_terminal(FILE *out, int64_t now_ms, const struct pfc_args *a, json_t *resp,
                        struct pf_error *err) PF_WUR;
int pfc_render_swap(FILE *out, int64_t now_ms, const struct pfc_args *a, json_t *resp,
                    struct pf_error *err) PF_WUR;
int pfc_render_repair(FILE *out, int64_t now_ms, const struct pfc_args *a, json_t *resp,
                      struct pf_error *err) PF_WUR;
int pfc_render_repairs(FILE *out, int64_t now_ms, const struct pfc_args *a, json_t *resp,
                       struct pf_error *err) PF_WUR;
int pfc_render_history(FILE *out, int64_t now_ms, const struct pfc_args *a, json_t *resp,
                       struct pf_error *err) PF_WUR;
int pfc_render_audit(FILE *out, int64_t now_ms, const struct pfc_args *a, json_t *resp,
                     struct pf_error *err) PF_WUR;

#endif
