/*
 * render.h - posfleetd's answers as tables and cards for people.
 *
 * Each renderer takes the parsed answer of one endpoint, the current time
 * (for "12s ago") and a stream; it writes plain ASCII only, cleaning every
 * string from the server. Renderers read fields tolerantly: a missing or
 * null field prints "-", and fields may sit where the API flattens them
 * ("battery_pct") or where the wire protocol nests them ("power.battery_pct").
 * A renderer fails (PF_ESCHEMA) only when the answer lacks its core, e.g. a
 * device list without "devices".
 */
#ifndef PFC_RENDER_H
#define PFC_RENDER_H

#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "args.h"
#include "pf/error.h"
#include "table.h" /* pfc_json_find */

/* GET /v1/devices: the SERIAL MODEL FW ... ALERTS table. */
int pfc_render_devices(FILE *out, int64_t now_ms, const struct pfc_args *a, json_t *resp,
                       struct pf_error *err) PF_WUR;
/* GET /v1/devices/{serial}: the device card. */
int pfc_render_device(FILE *out, int64_t now_ms, const struct pfc_args *a, json_t *resp,
                      struct pf_error *err) PF_WUR;
/* POST /v1/devices: one confirmation line. */
int pfc_render_added(FILE *out, int64_t now_ms, const struct pfc_args *a, json_t *resp,
                     struct pf_error *err) PF_WUR;
/* POST /v1/devices/{serial}/revoke: one confirmation line. */
int pfc_render_revoked(FILE *out, int64_t now_ms, const struct pfc_args *a, json_t *resp,
                       struct pf_error *err) PF_WUR;
/* GET /v1/summary: counts, alerts by kind, models, firmware. */
int pfc_render_summary(FILE *out, int64_t now_ms, const struct pfc_args *a, json_t *resp,
                       struct pf_error *err) PF_WUR;
/* GET /v1/alerts: the open alerts table. */
int pfc_render_alerts(FILE *out, int64_t now_ms, const struct pfc_args *a, json_t *resp,
                      struct pf_error *err) PF_WUR;

#endif
