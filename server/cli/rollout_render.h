/*
 * rollout_render.h - rollouts for people: the card of one rollout (header,
 * one progress bar per stage, a failure histogram), the list of rollouts and
 * a rollout's members. Pure (no network), so tests feed canned answers.
 */
#ifndef PFC_ROLLOUT_RENDER_H
#define PFC_ROLLOUT_RENDER_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "args.h"
#include "pf/error.h"

#define PFC_RO_BAR_WIDTH  30 /* cells of a stage's progress bar */
#define PFC_RO_HIST_WIDTH 30 /* cells of the largest failure reason's bar */
#define PFC_RO_SEGMENTS   6

/*
 * Fills out[0..width) with one glyph per cell, each segment (counts[i],
 * glyphs[i]) in proportion to its share of the sum: cells are floors plus the
 * largest remainders, and a segment with a nonzero count keeps at least one
 * cell (taken from the widest one). An all-zero input gives blanks. out must
 * hold width + 1 bytes.
 */
void pfc_rollout_bar(const int64_t *counts, const char *glyphs, size_t nseg, int width, char *out);

/* GET /v1/rollouts/{id} (and the answers of create and the state changes): the card. */
int pfc_render_rollout(FILE *out, int64_t now_ms, const struct pfc_args *a, json_t *resp,
                       struct pf_error *err) PF_WUR;
/* GET /v1/rollouts: the table. */
int pfc_render_rollouts(FILE *out, int64_t now_ms, const struct pfc_args *a, json_t *resp,
                        struct pf_error *err) PF_WUR;
/* POST /v1/rollouts/{id}/members/{serial}: the member after the change, one line. */
int pfc_render_rollout_member(FILE *out, int64_t now_ms, const struct pfc_args *a, json_t *resp,
                              struct pf_error *err) PF_WUR;
/* GET /v1/rollouts/{id}/members: the table. */
int pfc_render_rollout_members(FILE *out, int64_t now_ms, const struct pfc_args *a, json_t *resp,
                               struct pf_error *err) PF_WUR;

#endif
