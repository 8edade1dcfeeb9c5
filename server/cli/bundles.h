/*
 * bundles.h - the update commands of posfleet: bundle upload, bundles,
 * update, and the update section of `posfleet device`.
 *
 *   posfleet bundle upload FILE                 POST /v1/bundles (raw bundle bytes)
 *   posfleet bundles                            GET  /v1/bundles
 *   posfleet update SERIAL BUNDLE [--deadline-min N]
 *                                               POST /v1/devices/{SERIAL}/update
 *   posfleet device SERIAL                      adds the current update and history
 */
#ifndef PFC_BUNDLES_H
#define PFC_BUNDLES_H

#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "cli.h"

/* Run function of `bundle upload`: reads FILE whole and posts it. */
int pfc_cmd_bundle_upload(struct pfc_ctx *ctx, const struct pfc_args *a,
                          struct pf_error *err) PF_WUR;
int pfc_render_bundles(FILE *out, int64_t now_ms, const struct pfc_args *a, json_t *resp,
                       struct pf_error *err);
int pfc_render_offer(FILE *out, int64_t now_ms, const struct pfc_args *a, json_t *resp,
                     struct pf_error *err);
/* pfc_render_device followed by the terminal's current update and history. */
int pfc_render_device_updates(FILE *out, int64_t now_ms, const struct pfc_args *a, json_t *resp,
                              struct pf_error *err);

#endif
