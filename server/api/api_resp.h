/*
 * api_resp.h - the HTTP API's answers, shared by every API module.
 *
 * Errors are {"error": pf_errname(code), "message": text} with one status per
 * kind of fault, so a client (and the posfleet CLI's exit codes) can rely on
 * them whichever module answered. The response body is heap-owned by resp and
 * freed by the HTTP layer.
 */
#ifndef PFS_API_RESP_H
#define PFS_API_RESP_H

#include <jansson.h>
#include <stdint.h>

#include "net/http.h"
#include "pf/error.h"

/* The HTTP status for a PF_E* code: 400 the request's fault (including every verifier
 * refusal and PF_ELIMIT, a size or count past the format's limits), 401, 403, 404, 409,
 * 413 (body over the route's limit), 503, else 500. A rate limit is not a code of its
 * own: the module that applies one answers 429 itself. */
int pfs_api_status(int code);

/* Answers status with o serialized (o's reference is taken); 500 if it cannot be. */
void pfs_api_json(struct pfs_http_resp *resp, int status, json_t *o);

/* Answers the status for code with {"error", "message"}. */
void pfs_api_error(struct pfs_http_resp *resp, int code, const char *fmt, ...) PF_PRINTF(3, 4);

/*
 * Keyset paging, newest first: ?limit=1..PFS_API_LIMIT_MAX (default
 * PFS_API_LIMIT_DEFAULT) and ?before=ID. On a bad value answers 400 naming
 * the parameter (before: "must be <what>") and returns PF_EINVAL.
 */
int pfs_api_page_args(const struct pfs_http_req *req, struct pfs_http_resp *resp, const char *what,
                      int64_t *limit, int64_t *before) PF_WUR;

/* Answers 200 {key: rows, "next": id|null} from rows read with limit + 1
 * (one row more than asked tells whether another page follows; "next" is the
 * last kept row's "id"). Takes rows' reference. */
void pfs_api_page_answer(struct pfs_http_resp *resp, const char *key, json_t *rows, int64_t limit);

#endif
