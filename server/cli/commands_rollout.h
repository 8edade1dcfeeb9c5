/*
 * commands_rollout.h - the `posfleet rollout ...` commands (docs/cli.md,
 * "Rollouts"; semantics in docs/rollouts.md): the definition JSON built from
 * create's flags, the state-change commands, and the rollout card with its
 * per-stage progress bars and failure histogram.
 *
 * Their rows sit in pfc_commands (commands.c); everything else is here. The
 * definition builder, the bar and the renderers are pure (no network), so
 * tests drive them with parsed arguments and canned answers.
 *
 * Ownership: pfc_rollout_definition and pfc_rollout_dump hand back new
 * objects the caller frees (json_decref, free).
 */
#ifndef PFC_COMMANDS_ROLLOUT_H
#define PFC_COMMANDS_ROLLOUT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "args.h"
#include "pf/error.h"

#define PFC_RO_BAR_WIDTH  30 /* cells of a stage's progress bar */
#define PFC_RO_HIST_WIDTH 30 /* cells of the largest failure reason's bar */
#define PFC_RO_SEGMENTS   6

extern const struct pfc_opt pfc_rollout_id_pos[];
extern const struct pfc_opt pfc_rollout_create_pos[];
extern const struct pfc_opt pfc_rollout_create_opts[];
extern const struct pfc_opt pfc_rollout_show_opts[];
extern const struct pfc_opt pfc_rollout_members_opts[];
extern const struct pfc_opt pfc_rollout_pause_opts[];
extern const struct pfc_opt pfc_rollout_abort_opts[];
extern const struct pfc_opt pfc_rollout_rollback_opts[];

/*
 * The definition object of `rollout create` from its arguments: the BUNDLE
 * positional and the flags, or the --definition file. Only what was given is
 * set; posfleetd fills in the defaults. PF_EINVAL with err naming the flag
 * ("rollout create: --soak: expected a duration ..."), PF_EIO/PF_ENOENT for
 * an unreadable file.
 */
int pfc_rollout_definition(const struct pfc_args *a, json_t **out, struct pf_error *err) PF_WUR;
/* The request body text of a definition (compact; rates as typed, "0.05"). NULL on ENOMEM. */
char *pfc_rollout_dump(json_t *def);

/* "90", "90s", "30m", "2h", "1d" -> seconds; PF_EINVAL for anything else. */
int pfc_duration_parse(const char *s, int64_t *seconds) PF_WUR;

/*
 * Fills out[0..width) with one glyph per cell, each segment (counts[i],
 * glyphs[i]) in proportion to its share of the sum: cells are floors plus the
 * largest remainders, and a segment with a nonzero count keeps at least one
 * cell (taken from the widest one). An all-zero input gives blanks. out must
 * hold width + 1 bytes.
 */
void pfc_rollout_bar(const int64_t *counts, const char *glyphs, size_t nseg, int width, char *out);

int pfc_cmd_rollout_create(struct pfc_ctx *ctx, const struct pfc_args *a,
                           struct pf_error *err) PF_WUR;
/* show, with --watch redrawing until the rollout reaches a final state. */
int pfc_cmd_rollout_show(struct pfc_ctx *ctx, const struct pfc_args *a,
                         struct pf_error *err) PF_WUR;
/* members, with --all following the pages. */
int pfc_cmd_rollout_members(struct pfc_ctx *ctx, const struct pfc_args *a,
                            struct pf_error *err) PF_WUR;

/* GET /v1/rollouts/{id} (and the answers of create and the state changes): the card. */
int pfc_render_rollout(FILE *out, int64_t now_ms, const struct pfc_args *a, json_t *resp,
                       struct pf_error *err) PF_WUR;
/* GET /v1/rollouts: the table. */
int pfc_render_rollouts(FILE *out, int64_t now_ms, const struct pfc_args *a, json_t *resp,
                        struct pf_error *err) PF_WUR;
/* GET /v1/rollouts/{id}/members: the table. */
int pfc_render_rollout_members(FILE *out, int64_t now_ms, const struct pfc_args *a, json_t *resp,
                               struct pf_error *err) PF_WUR;

#endif
