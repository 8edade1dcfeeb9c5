/*
 * commands_rollout.h - the `posfleet rollout ...` commands (docs/cli.md,
 * "Rollouts"; semantics in docs/rollouts.md): their arguments and the runs
 * of create, show and members. The definition create sends is built by
 * rollout_definition.h, the card and tables are drawn by rollout_render.h;
 * both are included here for the command table.
 *
 * Their rows sit in pfc_commands (commands.c); everything else is here.
 */
#ifndef PFC_COMMANDS_ROLLOUT_H
#define PFC_COMMANDS_ROLLOUT_H

#include "args.h"
#include "pf/error.h"
#include "rollout_definition.h"
#include "rollout_render.h"

extern const struct pfc_opt pfc_rollout_id_pos[];
extern const struct pfc_opt pfc_rollout_create_pos[];
extern const struct pfc_opt pfc_rollout_create_opts[];
extern const struct pfc_opt pfc_rollout_show_opts[];
extern const struct pfc_opt pfc_rollout_members_opts[];
extern const struct pfc_opt pfc_rollout_pause_opts[];
extern const struct pfc_opt pfc_rollout_abort_opts[];
extern const struct pfc_opt pfc_rollout_rollback_opts[];
extern const struct pfc_opt pfc_rollout_member_pos[];
extern const struct pfc_opt pfc_rollout_member_opts[];
extern const struct pfc_opt pfc_rollout_approve_opts[];

int pfc_cmd_rollout_create(struct pfc_ctx *ctx, const struct pfc_args *a,
                           struct pf_error *err) PF_WUR;
/* show, with --watch redrawing until the rollout reaches a final state. */
int pfc_cmd_rollout_show(struct pfc_ctx *ctx, const struct pfc_args *a,
                         struct pf_error *err) PF_WUR;
/* member ID SERIAL retry|skip|cancel --reason TEXT: one member by hand. */
int pfc_cmd_rollout_member(struct pfc_ctx *ctx, const struct pfc_args *a,
                           struct pf_error *err) PF_WUR;
/* members, with --all following the pages. */
int pfc_cmd_rollout_members(struct pfc_ctx *ctx, const struct pfc_args *a,
                            struct pf_error *err) PF_WUR;

#endif
