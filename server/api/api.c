/*
 * api.c - the route table of the HTTP API and the API as an HTTP service:
 * every request is decided on its headers (api_route.c) and only then given
 * a body and a handler.
 */
#include "api/api.h"

#include <stdlib.h>

#include "api/api_handlers.h"

#define GET      "GET"
#define POST     "POST"
#define VIEWER   PFS_ROLE_VIEWER
#define SUPPORT  PFS_ROLE_SUPPORT
#define OPS      PFS_ROLE_OPS
#define APPROVER PFS_ROLE_APPROVER
#define ADMIN    PFS_ROLE_ADMIN
#define NONE     PFS_API_BODY_NONE
#define SMALL    PFS_API_BODY_SMALL
#define BULK     PFS_API_BODY_BULK

/* Literal segments come before placeholders where both could fit. */
const struct pfs_api_route pfs_api_routes[] = {
        {GET, "/metrics", PFS_API_PUBLIC, NONE, pfs_api_metrics, 0},
        {GET, "/healthz", PFS_API_PUBLIC, NONE, pfs_api_healthz, 0},
        {GET, "/readyz", PFS_API_PUBLIC, NONE, pfs_api_readyz, 0},

        /* terminals (api_fleet.c, api_lifecycle.c, api_diag.c, api_updates.c) */
        {GET, "/v1/devices", VIEWER, NONE, pfs_api_search_terminals, 0},
        {POST, "/v1/devices", OPS, SMALL, pfs_api_device_add, 0},
        {POST, "/v1/devices/import", OPS, BULK, pfs_api_devices_import, 0},
        {GET, "/v1/devices/{serial}", VIEWER, NONE, pfs_api_device_get, 0},
        {POST, "/v1/devices/{serial}/revoke", OPS, SMALL, pfs_api_device_revoke, 0},
        {GET, "/v1/devices/{serial}/lifecycle", VIEWER, NONE, pfs_api_term_lifecycle, 0},
        {GET, "/v1/devices/{serial}/history", VIEWER, NONE, pfs_api_term_history, 0},
        {POST, "/v1/devices/{serial}/bind", OPS, SMALL, pfs_api_term_bind, 0},
        {POST, "/v1/devices/{serial}/unbind", OPS, SMALL, pfs_api_term_unbind, 0},
        {POST, "/v1/devices/{serial}/retire", OPS, SMALL, pfs_api_term_unbind, 1},
        {POST, "/v1/devices/{serial}/tags", OPS, SMALL, pfs_api_term_tags, 0},
        {POST, "/v1/devices/{serial}/swap", SUPPORT, SMALL, pfs_api_term_swap, 0},
        {POST, "/v1/devices/{serial}/swap/undo", SUPPORT, SMALL, pfs_api_term_swap_undo, 0},
        {POST, "/v1/devices/{serial}/repair", SUPPORT, SMALL, pfs_api_term_repair, 0},
        {POST, "/v1/devices/{serial}/diag", SUPPORT, SMALL, pfs_api_diag_create, 0},
        {GET, "/v1/devices/{serial}/diag", SUPPORT, NONE, pfs_api_diag_list, 0},
        {POST, "/v1/devices/{serial}/update", OPS, SMALL, pfs_api_update_offer, 0},
        {GET, "/v1/devices/{serial}/updates", VIEWER, NONE, pfs_api_updates_history, 0},

        /* bulk changes from a file's rows (api_bulk.c); arg: enum pfs_bulk_kind */
        {POST, "/v1/bulk/bind", OPS, BULK, pfs_api_term_bulk, 0},
        {POST, "/v1/bulk/unbind", OPS, BULK, pfs_api_term_bulk, 1},
        {POST, "/v1/bulk/tags", OPS, BULK, pfs_api_term_bulk, 2},

        /* the fleet (api_fleet.c) */
        {GET, "/v1/summary", VIEWER, NONE, pfs_api_summary, 0},
        {GET, "/v1/alerts", VIEWER, NONE, pfs_api_search_alerts, 0},
        {GET, "/v1/audit", SUPPORT, NONE, pfs_api_search_audit, 0},

        /* merchants and repairs (api_lifecycle.c) */
        {GET, "/v1/merchants", VIEWER, NONE, pfs_api_search_merchants, 0},
        {POST, "/v1/merchants", OPS, SMALL, pfs_api_merchant_add, 0},
        {GET, "/v1/merchants/{merchant}", VIEWER, NONE, pfs_api_merchant_get, 0},
        {POST, "/v1/merchants/{merchant}/update", OPS, SMALL, pfs_api_merchant_change, -1},
        {POST, "/v1/merchants/{merchant}/approve", OPS, SMALL, pfs_api_merchant_change,
         PFS_MACT_APPROVE},
        {POST, "/v1/merchants/{merchant}/reject", OPS, SMALL, pfs_api_merchant_change,
         PFS_MACT_REJECT},
        {POST, "/v1/merchants/{merchant}/activate", OPS, SMALL, pfs_api_merchant_change,
         PFS_MACT_ACTIVATE},
        {POST, "/v1/merchants/{merchant}/suspend", OPS, SMALL, pfs_api_merchant_change,
         PFS_MACT_SUSPEND},
        {POST, "/v1/merchants/{merchant}/resume", OPS, SMALL, pfs_api_merchant_change,
         PFS_MACT_RESUME},
        {POST, "/v1/merchants/{merchant}/close", OPS, SMALL, pfs_api_merchant_change,
         PFS_MACT_CLOSE},
        {GET, "/v1/repairs", VIEWER, NONE, pfs_api_repairs_list, 0},
        {GET, "/v1/repairs/{repair}", VIEWER, NONE, pfs_api_repair_get, 0},
        {POST, "/v1/repairs/{repair}", SUPPORT, SMALL, pfs_api_repair_change, 0},
        {POST, "/v1/repairs/{repair}/close", SUPPORT, SMALL, pfs_api_repair_change, 1},

        /* diagnostics (api_diag.c) */
        {GET, "/v1/diag/{diag}", SUPPORT, NONE, pfs_api_diag_get, 0},
        {GET, "/v1/diag/{diag}/archive", SUPPORT, NONE, pfs_api_diag_get, 1},

        /* bundles (api_updates.c) */
        {POST, "/v1/bundles", OPS, BULK, pfs_api_bundle_upload, 0},
        {GET, "/v1/bundles", VIEWER, NONE, pfs_api_bundles_list, 0},
        {GET, "/v1/bundles/{bundle}", VIEWER, NONE, pfs_api_bundle_get, 0},

        /* webhooks (api_hooks.c) */
        {GET, "/v1/hooks", OPS, NONE, pfs_api_hooks_list, 0},
        {GET, "/v1/hooks/log", OPS, NONE, pfs_api_hooks_log, 0},

        /* rollouts (api_rollouts.c) */
        {POST, "/v1/rollouts", OPS, SMALL, pfs_api_rollout_create, 0},
        {GET, "/v1/rollouts", VIEWER, NONE, pfs_api_rollouts_list, 0},
        {GET, "/v1/rollouts/{rollout}", VIEWER, NONE, pfs_api_rollout_get, 0},
        {GET, "/v1/rollouts/{rollout}/members", VIEWER, NONE, pfs_api_rollout_members, 0},
        {POST, "/v1/rollouts/{rollout}/pause", OPS, SMALL, pfs_api_rollout_action,
         PFS_API_RO_PAUSE},
        {POST, "/v1/rollouts/{rollout}/resume", OPS, SMALL, pfs_api_rollout_action,
         PFS_API_RO_RESUME},
        {POST, "/v1/rollouts/{rollout}/continue", OPS, SMALL, pfs_api_rollout_action,
         PFS_API_RO_CONTINUE},
        {POST, "/v1/rollouts/{rollout}/abort", OPS, SMALL, pfs_api_rollout_action,
         PFS_API_RO_ABORT},
        {POST, "/v1/rollouts/{rollout}/rollback", OPS, SMALL, pfs_api_rollout_action,
         PFS_API_RO_ROLLBACK},
        {POST, "/v1/rollouts/{rollout}/members/{serial}", OPS, SMALL, pfs_api_rollout_member_action,
         0},
        {GET, "/v1/rollouts/{rollout}/preview", VIEWER, NONE, pfs_api_rollout_preview, 0},
        {POST, "/v1/rollouts/{rollout}/approve", APPROVER, SMALL, pfs_api_rollout_approve, 0},

        /* the server's administration (api_admin.c) */
        {POST, "/v1/admin/backup", ADMIN, SMALL, pfs_api_admin_backup, 0},
};

const size_t pfs_api_nroutes = sizeof(pfs_api_routes) / sizeof(pfs_api_routes[0]);

/* A taken request: its call (first, so the handlers' call is the state) and
 * when its head arrived, for the request metrics. */
struct api__state {
    struct pfs_api_call call;
    double t0;
};

static bool api__begin(void *ctx, const struct pfs_http_req *req, size_t *body_max, void **state,
                       struct pfs_http_resp *resp)
{
    struct pfs_api *api = ctx;
    struct api__state *st = malloc(sizeof(*st));
    struct pfs_api_call *call = st ? &st->call : NULL;
    double t0 = pfs_api_obs_now();
    struct pfs_api_refusal no;

    if (!call) {
        pfs_api_error(resp, PF_ENOMEM, "out of memory");
        pfs_api_obs_request(api, NULL, resp->status, t0);
        return false;
    }
    if (pfs_api_decide(pfs_api_routes, pfs_api_nroutes, api->tokens, req->method, req->path,
                       pfs_http_header(req, "Authorization"), call, &no) != 0) {
        free(st);
        pfs_api_json(resp, no.status,
                     json_pack("{s:s, s:s}", "error", pf_errname(no.code), "message", no.message));
        resp->allow = no.allow;
        pfs_api_obs_request(api, NULL, resp->status, t0);
        return false;
    }
    st->t0 = t0;
    switch (call->route->body) {
    case PFS_API_BODY_NONE:
        *body_max = 0;
        break;
    case PFS_API_BODY_SMALL:
        *body_max = api->body_max;
        break;
    case PFS_API_BODY_BULK:
        *body_max = api->bulk_max > api->body_max ? api->bulk_max : api->body_max;
        break;
    }
    *state = st;
    return true;
}

static void api__handle(void *ctx, const struct pfs_http_req *req, void *state,
                        struct pfs_http_resp *resp)
{
    struct pfs_api_call *call = state;

    call->req = req;
    call->route->fn(ctx, call, resp);
    call->req = NULL;
}

static void api__done(void *ctx, void *state)
{
    (void)ctx;
    free(state);
}

static void api__sent(void *ctx, void *state, int status)
{
    struct api__state *st = state;

    pfs_api_obs_request(ctx, st->call.route, status, st->t0);
}

struct pfs_http_service pfs_api_service(struct pfs_api *api)
{
    struct pfs_http_service svc = {api__begin, api__handle, api__done, api, api__sent};

    return svc;
}
