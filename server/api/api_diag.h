/*
 * api_diag.h - the HTTP API of remote diagnostics (docs/server.md,
 * "Diagnostics"). Support or ops only: results may describe a merchant's
 * terminal in detail, so viewers are refused.
 *
 *   POST /v1/devices/{serial}/diag {"command","args"?,"deadline_s"?}  support+  202
 *   GET  /v1/devices/{serial}/diag[?limit=]                          support+
 *   GET  /v1/diag/{id}                                               support+
 *   GET  /v1/diag/{id}/archive                                       support+  the .tar.gz
 *
 * A rate-limited request is refused with 429 {"error":"LIMIT","message":...}.
 * pfs_api_diag_handle() returns false for any other request; it
 * authenticates the requests it takes itself.
 */
#ifndef PFS_API_DIAG_H
#define PFS_API_DIAG_H

#include <stdbool.h>

#include "api/api.h"
#include "diag/diag.h"

bool pfs_api_diag_handle(struct pfs_api *api, struct pfs_diag *diag, const struct pfs_http_req *req,
                         struct pfs_http_resp *resp);

#endif
