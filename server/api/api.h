/*
 * api.h - posfleetd's HTTP API (docs/server.md is the reference).
 *
 * Every route is one row of the route table in api.c: method, path pattern,
 * least role, body limit and handler (api_route.h); the handlers live in one
 * file per resource (api_fleet.c, api_lifecycle.c, api_diag.c, api_updates.c,
 * api_rollouts.c). The API is a pfs_http_service: on a request's headers
 * pfs_api_decide() picks the route, authenticates the bearer token (tokens.h)
 * and checks its role, so a request that may not be made is answered 401,
 * 403, 404 or 405 before a byte of its body is read; only a request that
 * passed gets a body, bounded by its route (http.body_max, or http.import_max
 * for POST /v1/devices/import and POST /v1/bundles).
 *
 * Errors are {"error": pf_errname(code), "message": text} with 400, 401, 403,
 * 404, 405, 409, 413, 429, 503 or 500. Every state change is audited by the
 * store with the token's name and role.
 *
 * Who asks is a principal (accounts.h): a tokens-file token, a session (by
 * bearer token or the pf_session cookie with X-CSRF-Token) or an API token;
 * what it reaches is its organisation's scope (api_route.h: a route's scope
 * column, the path parameter checked in api.c, lists read with the scope).
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
#include "api/api_route.h"
#include "api/tokens.h"

#define PFS_API_LIMIT_DEFAULT  100
#define PFS_API_LIMIT_MAX      1000
#define PFS_API_HEALTH_DEFAULT 10
#define PFS_API_HEALTH_MAX     1000
#define PFS_API_ONLINE_HOURS   24 /* GET /v1/summary/online: the hours it reaches back */

struct pfs_updates;

struct pfs_lifectl;
struct pfs_live;
struct pfs_diag;
struct pfs_rollouts;

struct pfs_notify;
struct pfs_accounts;

/* The cookie of a console session (docs/server.md). */
#define PFS_API_SESSION_COOKIE "pf_session"
struct pfs_backup;
struct pfs_bulkjob;

struct pfs_api {
    struct pfs_notify *notify; /* webhooks (repair.state) and the hooks API; may be NULL */
    struct pfs_store *store;
    struct pfs_updates *updates; /* bundles, offers, update history (updates.h); may be NULL */
    struct pfs_ingest *ingest;
    struct pfs_metrics *metrics;
    const struct pfs_tokens *tokens;
    /* Users, sessions, API tokens (accounts.h); NULL: the tokens file only. */
    struct pfs_accounts *accounts;
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
    /* The broker connection (/readyz, /metrics): up or not, and how many
     * times it was established. NULL when posfleetd runs without a broker. */
    bool (*broker)(void *ctx, uint64_t *connects);
    void *broker_ctx;
    /* Online backups (admin/backup.h, api_admin.c). May be NULL. */
    struct pfs_backup *backup;
    /* Bulk changes off the loop (lifecycle/bulkjob.h, api_bulk.c). May be NULL. */
    struct pfs_bulkjob *bulkjob;
    /* Who watches what for GET /v1/events (base/live.h, api_events.c). May be NULL. */
    struct pfs_live *live;
    /* Body limits: http.body_max for every route that takes a body,
     * http.import_max (at least body_max) for the bulk uploads. */
    size_t body_max;
    size_t bulk_max;
    /* store.online_sample_s: how often the online count is sampled (0: never). */
    int online_sample_s;
};

/* The route table: every route of the API, in the order they are tried. */
extern const struct pfs_api_route pfs_api_routes[];
extern const size_t pfs_api_nroutes;

/* The API as the HTTP server's service (ctx is api). */
struct pfs_http_service pfs_api_service(struct pfs_api *api);

#endif
