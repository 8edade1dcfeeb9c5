/*
 * rollout_definition.h - the definition object of `posfleet rollout create`
 * (docs/rollouts.md) from its flags or a --definition file. Pure (no
 * network), so tests drive it with parsed arguments.
 *
 * Ownership: pfc_rollout_definition and pfc_rollout_dump hand back new
 * objects the caller frees (json_decref, free).
 */
#ifndef PFC_ROLLOUT_DEFINITION_H
#define PFC_ROLLOUT_DEFINITION_H

#include <stdint.h>

#include <jansson.h>

#include "args.h"
#include "pf/error.h"

#define PFC_RO_STAGES_MAX 16 /* stages of one rollout */

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

#endif
