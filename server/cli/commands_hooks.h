/*
 * commands_hooks.h - posfleet hook list | hook log: the webhooks posfleetd
 * notifies and their delivery log (GET /v1/hooks, GET /v1/hooks/log, ops).
 */
#ifndef PFC_COMMANDS_HOOKS_H
#define PFC_COMMANDS_HOOKS_H

#include "args.h"

extern const struct pfc_opt pfc_hook_log_opts[];
int pfc_render_hooks(FILE *out, int64_t now_ms, const struct pfc_args *a, json_t *resp,
                     struct pf_error *err) PF_WUR;
int pfc_render_hook_log(FILE *out, int64_t now_ms, const struct pfc_args *a, json_t *resp,
                        struct pf_error *err) PF_WUR;

#endif
