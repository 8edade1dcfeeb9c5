/*
 * api.h - posfleetd's HTTP API (docs/server.md is the reference).
 *
 *   GET  /metrics                     Prometheus text, no token
 *   GET  /v1/devices                  list with filters, keyset pages   viewer+
 *   GET  /v1/devices/{serial}         one terminal, recent health       viewer+
 *   POST /v1/devices                  register a terminal               ops
 *   POST /v1/devices/import           register many (CSV), all or none  ops
 *   POST /v1/devices/{serial}/revoke  revoke a terminal                 ops
 *   GET  /v1/summary                  fleet counts                      viewer+
 *   GET  /v1/alerts                   open alerts                       viewer+
 *   GET  /v1/audit                    audit log, newest first           support+
 *   .../bundles, .../update, .../updates  see updates.h
 *   .../devices/{serial}/diag, /v1/diag/{id}  see api_diag.h
 *   /v1/merchants..., .../devices/{serial}/{lifecycle,history,bind,unbind,retire,tags,
 *   swap,repair}, /v1/repairs..., /v1/audit?serial|merchant|since  see api_lifecycle.h
 *   /v1/rollouts...                   see rollout.h
 *
 * Requests carry "Authorization: Bearer TOKEN" (tokens.h). Errors are
 * {"error": pf_errname(code), "message": text} with 400, 401, 403, 404, 409,
 * 413 or 500. Every state change is audited by the store with the token's
 * name and role.
 *
 * The API borrows everything in struct pfs_api; it runs on the loop thread.
 */
#ifndef PFS_API_H
#define PFS_API_H

#include "net/http.h"
#include "fleet/ingest.h"
#include "base/metrics.h"
#include "pf/clock.h"
#include "store/store.h"
#include "api/tokens.h"

#define PFS_API_LIMIT_DEFAULT  100
#define PFS_API_LIMIT_MAX      1000
#define PFS_API_HEALTH_DEFAULT 10
#define PFS_API_HEALTH_MAX     1000

struct pfs_updates;

struct pfs_lifectl;
struct pfs_diag;
struct pfs_rollouts;

struct pfs_api {
    struct pfs_store *store;
    struct pfs_updates *updates; /* bundles, offers, update history (updates.h); may be NULL */
    struct pfs_ingest *ingest;
    struct pfs_metrics *metrics;
    const struct pfs_tokens *tokens;
    const struct pf_clock *clock;
    const struct pfs_log *log;
    /* Called after a state change so the server can commit/refresh. May be NULL. */
    void (*changed)(void *ctx);
    void *changed_ctx;
    /* Lifecycle (api_lifecycle.c): lock commands, activation. May be NULL. */
    struct pfs_lifectl *lifectl;
    /* Remote diagnostics (api_diag.c). May be NULL. */
    struct pfs_diag *diag;
    /* Staged rollouts (rollout.h, api_rollouts.c). May be NULL. */
    struct pfs_rollouts *rollouts;
};

/* A pfs_http_handler; ctx is a struct pfs_api. */
void pfs_api_handle(void *ctx, const struct pfs_http_req *req, struct pfs_http_resp *resp);

#endif
