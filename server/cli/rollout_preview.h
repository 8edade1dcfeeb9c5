/*
 * rollout_preview.h - the preview of a rollout for people (posfleet rollout
 * create --dry-run; docs/rollouts.md, "Preview, coverage and approval"): the
 * cohort by stage and by model, hardware revision, merchant category, region
 * and current version, the terminals skipped or not covered, and when the
 * maintenance windows next open. Pure (no network), so tests feed canned
 * answers.
 */
#ifndef PFC_ROLLOUT_PREVIEW_H
#define PFC_ROLLOUT_PREVIEW_H

#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "args.h"
#include "pf/error.h"

/* POST /v1/rollouts with "dry_run": true. */
int pfc_render_rollout_preview(FILE *out, int64_t now_ms, const struct pfc_args *a, json_t *resp,
                               struct pf_error *err) PF_WUR;

#endif
