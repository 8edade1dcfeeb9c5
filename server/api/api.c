/*
 * api.c - the route table of the HTTP API and the API as an HTTP service:
 * every request is decided on its headers (api_route.c) and only then given
 * a body and a handler.
 */
#include "api/api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "api/api_handlers.h"
#include "base/live.h"
#include "store/store_accounts.h"

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
#define ADMIN    PFS_ROLE_ADMIN
#define MERCHANT PFS_ROLE_MERCHANT
#define HQ       PFS_API_SCOPE_HQ
#define OWN      PFS_API_SCOPE_OWN
#define PARAM    PFS_API_SCOPE_PARAM

/* Literal segments come before placeholders where both could fit. */
const struct pfs_api_route pfs_api_routes[] = {
        {GET, "/metrics", PFS_API_PUBLIC, NONE, pfs_api_metrics, 0, OWN},
        {GET, "/healthz", PFS_API_PUBLIC, NONE, pfs_api_healthz, 0, OWN},
        {GET, "/readyz", PFS_API_PUBLIC, NONE, pfs_api_readyz, 0, OWN},

        /* terminals (api_fleet.c, api_lifecycle.c, api_diag.c, api_updates.c) */
        {GET, "/v1/devices", VIEWER, NONE, pfs_api_search_terminals, 0, OWN},
        {POST, "/v1/devices", OPS, SMALL, pfs_api_device_add, 0, HQ},
        {POST, "/v1/devices/import", OPS, BULK, pfs_api_devices_import, 0, HQ},
        {GET, "/v1/devices/export", VIEWER, NONE, pfs_api_devices_export, 0, OWN},
        {GET, "/v1/devices/{serial}", VIEWER, NONE, pfs_api_device_get, 0, PARAM},
        {POST, "/v1/devices/{serial}/revoke", OPS, SMALL, pfs_api_device_revoke, 0, HQ},
        {GET, "/v1/devices/{serial}/lifecycle", VIEWER, NONE, pfs_api_term_lifecycle, 0, PARAM},
        {GET, "/v1/devices/{serial}/history", VIEWER, NONE, pfs_api_term_history, 0, PARAM},
        {GET, "/v1/devices/{serial}/health", VIEWER, NONE, pfs_api_term_health, 0, PARAM},
        {POST, "/v1/devices/{serial}/lock", SUPPORT, SMALL, pfs_api_term_lock, 1, PARAM},
        {POST, "/v1/devices/{serial}/unlock", SUPPORT, SMALL, pfs_api_term_lock, 0, PARAM},
        {POST, "/v1/devices/{serial}/bind", OPS, SMALL, pfs_api_term_bind, 0, HQ},
        {POST, "/v1/devices/{serial}/unbind", OPS, SMALL, pfs_api_term_unbind, 0, HQ},
        {POST, "/v1/devices/{serial}/retire", OPS, SMALL, pfs_api_term_unbind, 1, HQ},
        {POST, "/v1/devices/{serial}/tags", OPS, SMALL, pfs_api_term_tags, 0, PARAM},
        {POST, "/v1/devices/{serial}/swap", SUPPORT, SMALL, pfs_api_term_swap, 0, PARAM},
        {POST, "/v1/devices/{serial}/swap/undo", SUPPORT, SMALL, pfs_api_term_swap_undo, 0, HQ},
        {POST, "/v1/devices/{serial}/repair", SUPPORT, SMALL, pfs_api_term_repair, 0, PARAM},
        {POST, "/v1/devices/{serial}/diag", SUPPORT, SMALL, pfs_api_diag_create, 0, PARAM},
        {GET, "/v1/devices/{serial}/diag", SUPPORT, NONE, pfs_api_diag_list, 0, PARAM},
        {POST, "/v1/devices/{serial}/update", OPS, SMALL, pfs_api_update_offer, 0, PARAM},
        {GET, "/v1/devices/{serial}/updates", VIEWER, NONE, pfs_api_updates_history, 0, PARAM},

        /* bulk changes from a file's rows (api_bulk.c); arg: enum pfs_bulk_kind */
        {POST, "/v1/bulk/bind", OPS, BULK, pfs_api_term_bulk, 0, HQ},
        {POST, "/v1/bulk/unbind", OPS, BULK, pfs_api_term_bulk, 1, HQ},
        {POST, "/v1/bulk/tags", OPS, BULK, pfs_api_term_bulk, 2, HQ},

        /* the fleet (api_fleet.c) */
        {GET, "/v1/summary", VIEWER, NONE, pfs_api_summary, 0, OWN},
        {GET, "/v1/summary/online", VIEWER, NONE, pfs_api_summary_online, 0, OWN},
        {GET, "/v1/alerts", VIEWER, NONE, pfs_api_search_alerts, 0, OWN},
        {GET, "/v1/audit", SUPPORT, NONE, pfs_api_search_audit, 0, OWN},

        /* merchants and repairs (api_lifecycle.c) */
        {GET, "/v1/merchants", VIEWER, NONE, pfs_api_search_merchants, 0, OWN},
        {POST, "/v1/merchants", OPS, SMALL, pfs_api_merchant_add, 0, HQ},
        {GET, "/v1/merchants/{merchant}", VIEWER, NONE, pfs_api_merchant_get, 0, PARAM},
        {POST, "/v1/merchants/{merchant}/update", OPS, SMALL, pfs_api_merchant_change, -1, PARAM},
        {POST, "/v1/merchants/{merchant}/approve", OPS, SMALL, pfs_api_merchant_change,
         PFS_MACT_APPROVE, HQ},
        {POST, "/v1/merchants/{merchant}/reject", OPS, SMALL, pfs_api_merchant_change,
         PFS_MACT_REJECT, HQ},
        {POST, "/v1/merchants/{merchant}/activate", OPS, SMALL, pfs_api_merchant_change,
         PFS_MACT_ACTIVATE, PARAM},
        {POST, "/v1/merchants/{merchant}/suspend", OPS, SMALL, pfs_api_merchant_change,
         PFS_MACT_SUSPEND, PARAM},
        {POST, "/v1/merchants/{merchant}/resume", OPS, SMALL, pfs_api_merchant_change,
         PFS_MACT_RESUME, PARAM},
        {POST, "/v1/merchants/{merchant}/close", OPS, SMALL, pfs_api_merchant_change,
         PFS_MACT_CLOSE, PARAM},
        {GET, "/v1/repairs", VIEWER, NONE, pfs_api_repairs_list, 0, OWN},
        {GET, "/v1/repairs/{repair}", VIEWER, NONE, pfs_api_repair_get, 0, PARAM},
        {POST, "/v1/repairs/{repair}", SUPPORT, SMALL, pfs_api_repair_change, 0, PARAM},
        {POST, "/v1/repairs/{repair}/close", SUPPORT, SMALL, pfs_api_repair_change, 1, PARAM},

        /* diagnostics (api_diag.c) */
        {GET, "/v1/diag/{diag}", SUPPORT, NONE, pfs_api_diag_get, 0, PARAM},
        {GET, "/v1/diag/{diag}/archive", SUPPORT, NONE, pfs_api_diag_get, 1, PARAM},

        /* bundles (api_updates.c) */
        {POST, "/v1/bundles", OPS, BULK, pfs_api_bundle_upload, 0, HQ},
        {GET, "/v1/bundles", VIEWER, NONE, pfs_api_bundles_list, 0, HQ},
        {GET, "/v1/bundles/{bundle}", VIEWER, NONE, pfs_api_bundle_get, 0, HQ},

        /* webhooks (api_hooks.c) */
        {GET, "/v1/hooks", OPS, NONE, pfs_api_hooks_list, 0, HQ},
        {GET, "/v1/hooks/log", OPS, NONE, pfs_api_hooks_log, 0, HQ},

        /* rollouts (api_rollouts.c) */
        {POST, "/v1/rollouts", OPS, SMALL, pfs_api_rollout_create, 0, OWN},
        {GET, "/v1/rollouts", VIEWER, NONE, pfs_api_rollouts_list, 0, OWN},
        {GET, "/v1/rollouts/{rollout}", VIEWER, NONE, pfs_api_rollout_get, 0, PARAM},
        {GET, "/v1/rollouts/{rollout}/members", VIEWER, NONE, pfs_api_rollout_members, 0, PARAM},
        {POST, "/v1/rollouts/{rollout}/pause", OPS, SMALL, pfs_api_rollout_action, PFS_API_RO_PAUSE,
         PARAM},
        {POST, "/v1/rollouts/{rollout}/resume", OPS, SMALL, pfs_api_rollout_action,
         PFS_API_RO_RESUME, PARAM},
        {POST, "/v1/rollouts/{rollout}/continue", OPS, SMALL, pfs_api_rollout_action,
         PFS_API_RO_CONTINUE, PARAM},
        {POST, "/v1/rollouts/{rollout}/abort", OPS, SMALL, pfs_api_rollout_action, PFS_API_RO_ABORT,
         PARAM},
        {POST, "/v1/rollouts/{rollout}/rollback", OPS, SMALL, pfs_api_rollout_action,
         PFS_API_RO_ROLLBACK, PARAM},
        {POST, "/v1/rollouts/{rollout}/members/{serial}", OPS, SMALL, pfs_api_rollout_member_action,
         0, PARAM},
        {GET, "/v1/rollouts/{rollout}/preview", VIEWER, NONE, pfs_api_rollout_preview, 0, PARAM},
        {POST, "/v1/rollouts/{rollout}/approve", APPROVER, SMALL, pfs_api_rollout_approve, 0,
         PARAM},

        /* live updates for open console pages (api_events.c); the handler checks the scope
         * of what it is asked to watch */
        {GET, "/v1/events", VIEWER, NONE, pfs_api_events, 0, OWN},

        /* people (api_accounts.c) */
        {POST, "/v1/login", PFS_API_PUBLIC, SMALL, pfs_api_login, 0, OWN},
        {POST, "/v1/logout", VIEWER, SMALL, pfs_api_logout, 0, OWN},
        {GET, "/v1/me", VIEWER, NONE, pfs_api_me, 0, OWN},
        {POST, "/v1/me/password", VIEWER, SMALL, pfs_api_me_password, 0, OWN},
        {GET, "/v1/tokens", VIEWER, NONE, pfs_api_tokens_list, 0, OWN},
        {POST, "/v1/tokens", VIEWER, SMALL, pfs_api_token_create, 0, OWN},
        {POST, "/v1/tokens/{token}/revoke", VIEWER, SMALL, pfs_api_token_revoke, 0, OWN},
        {GET, "/v1/users", ADMIN, NONE, pfs_api_users_list, 0, OWN},
        {POST, "/v1/users", ADMIN, SMALL, pfs_api_user_add, 0, OWN},
        {GET, "/v1/users/{user}", ADMIN, NONE, pfs_api_user_get, 0, OWN},
        {POST, "/v1/users/{user}", ADMIN, SMALL, pfs_api_user_password, 0, OWN},
        {POST, "/v1/users/{user}/role", ADMIN, SMALL, pfs_api_user_role, 0, OWN},
        {POST, "/v1/users/{user}/disable", ADMIN, SMALL, pfs_api_user_disable, 1, OWN},
        {POST, "/v1/users/{user}/enable", ADMIN, SMALL, pfs_api_user_disable, 0, OWN},
        {GET, "/v1/orgs", ADMIN, NONE, pfs_api_orgs_list, 0, OWN},
        {POST, "/v1/orgs", ADMIN, SMALL, pfs_api_org_add, 0, OWN},
        {GET, "/v1/orgs/{org}", ADMIN, NONE, pfs_api_org_get, 0, OWN},
        {POST, "/v1/merchants/{merchant}/org", ADMIN, SMALL, pfs_api_merchant_org, 0, PARAM},
        {GET, "/v1/support-requests", SUPPORT, NONE, pfs_api_support_list, 0, OWN},
        {POST, "/v1/support-requests", MERCHANT, SMALL, pfs_api_support_open, 0, OWN},

        /* the server's administration (api_admin.c): the whole store, headquarters only */
        {POST, "/v1/admin/backup", ADMIN, SMALL, pfs_api_admin_backup, 0, HQ},
};

const size_t pfs_api_nroutes = sizeof(pfs_api_routes) / sizeof(pfs_api_routes[0]);

/* A taken request: its call (first, so the handlers' call is the state) and
 * when its head arrived, for the request metrics. */
struct api__state {
    struct pfs_api_call call;
    double t0;
};

static int api__authn(void *ctx, const char *secret, size_t len, struct pfs_principal *out)
{
    struct pfs_api *api = ctx;

    return api->accounts ? pfs_accounts_authenticate(api->accounts, secret, len, out) : PF_EAUTH;
}

/*
 * The scope of a route's path parameter (PFS_API_SCOPE_PARAM): what lies
 * outside the principal's organisation is answered as absent, before the
 * body is read. Headquarters reaches everything.
 */
static int api__in_scope(struct pfs_api *api, struct pfs_api_call *call, struct pfs_api_refusal *no)
{
    const struct pfs_scope *scope = pfs_api_scope(call);
    const struct pfs_api_params *p = &call->params;
    const char *what = NULL;
    int rc = 0;

    if (call->route->scope != PFS_API_SCOPE_PARAM || !scope)
        return 0;
    /* Every parameter of the path must lie inside (a rollout's member: both). */
    if (p->id > 0) {
        bool ro = strncmp(call->route->pattern, "/v1/rollouts/", 13) == 0;

        rc = ro ? pfs_store_scope_rollout(api->store, scope, p->id)
                : pfs_store_scope_repair(api->store, scope, p->id);
        what = ro ? "rollout" : "repair";
    }
    if (!rc && p->serial[0]) {
        rc = pfs_store_scope_serial(api->store, scope, p->serial);
        what = p->serial;
    }
    if (!rc && p->merchant[0]) {
        rc = pfs_store_scope_merchant(api->store, scope, p->merchant);
        what = p->merchant;
    }
    if (!rc && p->diag[0]) {
        rc = pfs_store_scope_diag(api->store, scope, p->diag);
        what = p->diag;
    }
    if (!what) {
        rc = PF_ENOENT; /* a PARAM route without a parameter: closed */
        what = "?";
    }
    if (!rc)
        return 0;
    no->status = rc == PF_ENOENT ? 404 : 500;
    no->code = rc;
    no->allow = NULL;
    snprintf(no->message, sizeof(no->message), "%.64s: not found", what);
    call->route = NULL;
    return rc;
}

static bool api__begin(void *ctx, const struct pfs_http_req *req, size_t *body_max, void **state,
                       struct pfs_http_resp *resp)
{
    struct pfs_api *api = ctx;
    struct api__state *st = malloc(sizeof(*st));
    struct pfs_api_call *call = st ? &st->call : NULL;
    double t0 = pfs_api_obs_now();
    struct pfs_api_refusal no;
    struct pfs_api_cred cred;
    struct pfs_api_authn authn = {api->tokens, api__authn, api};

    if (!call) {
        pfs_api_error(resp, PF_ENOMEM, "out of memory");
        pfs_api_obs_request(api, NULL, resp->status, t0);
        return false;
    }
    cred.authorization = pfs_http_header(req, "Authorization");
    cred.cookie = pfs_http_cookie(req, PFS_API_SESSION_COOKIE);
    cred.csrf = pfs_http_header(req, "X-CSRF-Token");
    if (pfs_api_decide(pfs_api_routes, pfs_api_nroutes, &authn, req->method, req->path, &cred, call,
                       &no) != 0 ||
        api__in_scope(api, call, &no) != 0) {
        free(st);
        pfs_api_json(resp, no.status,
                     json_pack("{s:s, s:s}", "error", pf_errname(no.code), "message", no.message));
        resp->allow = no.allow;
        pfs_api_obs_request(api, NULL, resp->status, t0);
        return false;
    }
    pfs_http_peer(req, call->addr, sizeof(call->addr));
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

/* Whether an If-None-Match header names etag (or is "*"): a list of
 * entity tags, weak ones ("W/") compared by their opaque part. */
static bool api__etag_matches(const char *inm, const char *etag)
{
    size_t n = strlen(etag);

    while (inm && *inm) {
        inm += strspn(inm, " \t,");
        if (strncmp(inm, "W/", 2) == 0)
            inm += 2;
        if (*inm == '*' || (strncmp(inm, etag, n) == 0 && strchr(" \t,", inm[n])))
            return true;
        inm = strchr(inm, ',');
    }
    return false;
}

/*
 * A GET answered 200 gets an ETag: a BLAKE2b-128 digest of its body, so the
 * tag changes exactly when the answer does. A request whose If-None-Match
 * names it is answered 304 without the body (docs/server.md, "Polling with
 * ETags"): pollers such as the console's terminal page transfer and parse
 * nothing while nothing changed.
 */
static void api__etag(const struct pfs_http_req *req, struct pfs_http_resp *resp)
{
    unsigned char d[16];
    char hex[2 * sizeof(d) + 1];
    int slot = -1;

    if ((strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0) ||
        resp->status != 200 || resp->file || !resp->body)
        return;
    for (int i = PFS_HTTP_EXTRA_HEADERS - 1; i >= 0; i--)
        if (!resp->extra[i].name)
            slot = i;
    if (slot < 0)
        return;
    crypto_generichash(d, sizeof(d), (const unsigned char *)resp->body, resp->len, NULL, 0);
    sodium_bin2hex(hex, sizeof(hex), d, sizeof(d));
    resp->extra[slot].name = "ETag";
    snprintf(resp->extra[slot].value, sizeof(resp->extra[slot].value), "\"%s\"", hex);
    if (api__etag_matches(pfs_http_header(req, "If-None-Match"), resp->extra[slot].value)) {
        free(resp->body);
        resp->body = NULL;
        resp->len = 0;
        resp->status = 304;
    }
}

/* A change made through the API is told at once to the consoles watching
 * what the route names (base/live.h): the rollout of /v1/rollouts/{rollout}/...
 * and the terminal of .../{serial}/...; it is committed already. */
static void api__changed(struct pfs_api *api, const struct pfs_api_call *call,
                         const struct pfs_http_resp *resp)
{
    bool ro;

    if (!api->live || !api->live->nwatch || strcmp(call->route->method, "POST") != 0 ||
        resp->status < 200 || resp->status > 299)
        return;
    ro = strncmp(call->route->pattern, "/v1/rollouts/", 13) == 0;
    pfs_live_note(api->live, ro ? call->params.id : 0,
                  call->params.serial[0] ? call->params.serial : NULL);
}

static void api__handle(void *ctx, const struct pfs_http_req *req, void *state,
                        struct pfs_http_resp *resp)
{
    struct pfs_api_call *call = state;

    call->req = req;
    call->route->fn(ctx, call, resp);
    call->req = NULL;
    api__changed(ctx, call, resp);
    api__etag(req, resp);
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
