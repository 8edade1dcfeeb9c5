/*
 * diag.h - posfleet diag: run a diagnostic command on a terminal and print
 * the answer as support reads it (docs/cli.md, "Diagnostics").
 *
 *   posfleet diag SERIAL COMMAND [ARG] [-n N] [--minutes M] [--max-kb K]
 *                 [--deadline S] [-o FILE]
 *   posfleet diag list SERIAL     a terminal's requests, newest first
 *   posfleet diag show ID         one request and its answer
 *
 * diag posts the request, then polls GET /v1/diag/{id} until the terminal
 * answered (and an archive arrived), or the deadline passed.
 */
#ifndef PFC_DIAG_H
#define PFC_DIAG_H

#include "cli.h"

int pfc_cmd_diag(struct pfc_ctx *ctx, const struct pfc_args *a, struct pf_error *err) PF_WUR;
int pfc_render_diag(FILE *out, int64_t now_ms, const struct pfc_args *a, json_t *resp,
                    struct pf_error *err) PF_WUR;
int pfc_render_diag_list(FILE *out, int64_t now_ms, const struct pfc_args *a, json_t *resp,
                         struct pf_error *err) PF_WUR;

#endif
