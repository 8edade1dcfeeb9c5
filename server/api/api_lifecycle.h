/*
 * api_lifecycle.h - the HTTP API of merchants, terminal lifecycle, swaps,
 * repairs, history and the searchable audit log (docs/server.md, "Lifecycle").
 *
 *   GET  /v1/merchants[?status=&after=&limit=]       viewer+
 *   POST /v1/merchants                                ops     apply (status applied)
 *   GET  /v1/merchants/{id}                           viewer+ with its terminals
 *   POST /v1/merchants/{id}/update                    ops     change fields
 *   POST /v1/merchants/{id}/{approve|reject|activate|suspend|resume|close}   ops
 *   GET  /v1/devices/{serial}/lifecycle               viewer+
 *   GET  /v1/devices/{serial}/history[?limit=]        viewer+
 *   POST /v1/devices/{serial}/bind   {"merchant_id"}  ops
 *   POST /v1/devices/{serial}/unbind                  ops
 *   POST /v1/devices/{serial}/retire                  ops     also revokes
 *   POST /v1/devices/{serial}/tags   {"tags":[...]}   ops
 *   POST /v1/devices/{serial}/swap   {"new","reason"} support+
 *   POST /v1/devices/{serial}/repair {"reason","fault_codes"?}  support+
 *   GET  /v1/repairs[?serial=&state=&limit=]          viewer+
 *   GET  /v1/repairs/{id}                             viewer+
 *   POST /v1/repairs/{id}          {"state"?,"fault_codes"?,"parts"?,"notes"?}  support+
 *   POST /v1/repairs/{id}/close    {"outcome","fault_codes"?,"parts"?,"notes"?} support+
 *   GET  /v1/audit?serial=&merchant=&since=&before=&limit=   support+
 *        (only with serial, merchant or since; plain /v1/audit stays in api.c)
 *
 * pfs_api_lifecycle_handle() returns false for any other request, which
 * api.c then serves. It authenticates the requests it takes itself.
 */
#ifndef PFS_API_LIFECYCLE_H
#define PFS_API_LIFECYCLE_H

#include <stdbool.h>

#include "api/api.h"

bool pfs_api_lifecycle_handle(struct pfs_api *api, const struct pfs_http_req *req,
                              struct pfs_http_resp *resp);

#endif
