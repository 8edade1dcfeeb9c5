/*
 * api_route.h - the shape of the HTTP API's route table and the one decision
 * taken on a request's headers, before any of its body is read.
 *
 * A route is {method, path pattern, least role, body limit, handler}. A
 * pattern is literal segments and placeholders, each placeholder a kind of
 * path parameter that the matcher checks and parses once into struct
 * pfs_api_params:
 *
 *   {serial}    a terminal serial (pf_serial_valid), else 400 "bad serial in path"
 *   {merchant}  a merchant id, 1..PFS_MERCHANT_ID_MAX bytes, else no route
 *   {repair}    a repair id, a positive integer, else no route
 *   {rollout}   a rollout id, a positive integer, else 400 "bad rollout id in path"
 *   {diag}      a diagnostic id, up to PF_DIAG_ID_MAX bytes (else no route) and
 *               pf_diag_id_valid, else 400 "bad diagnostic id"
 *   {bundle}    a bundle id, up to PF_B2_HEX_LEN bytes, else no route
 *
 * pfs_api_decide() answers, in this order: 404 NOENT when no route has the
 * path, 405 NOENT (with Allow) when routes have it but not for this method,
 * 401 AUTH for a missing or unknown token, 403 PERM when the token's role is
 * below the route's, 400 INVAL for a bad parameter; else the call to make.
 * GET routes also answer HEAD; one trailing slash is ignored.
 *
 * Everything here is plain data and pure functions: no transport, no store.
 */
#ifndef PFS_API_ROUTE_H
#define PFS_API_ROUTE_H

#include <stddef.h>
#include <stdint.h>

#include "api/tokens.h"
#include "lifecycle/merchant.h"
#include "pf/b2.h"
#include "pf/error.h"
#include "pf/msg_diag.h"
#include "pf/topic.h"
#include "store/store.h"

/* The role of a route that needs no token (/metrics, /healthz, /readyz). */
#define PFS_API_PUBLIC (-1)

/* A route's body limit: none (a body is drained unread), http.body_max, or
 * http.import_max for bulk uploads. */
enum pfs_api_body { PFS_API_BODY_NONE, PFS_API_BODY_SMALL, PFS_API_BODY_BULK };

struct pfs_api_params {
    char serial[PF_SERIAL_MAX + 1];
    char merchant[PFS_MERCHANT_ID_MAX + 1];
    char diag[PF_DIAG_ID_MAX + 1];
    char bundle[PF_B2_HEX_LEN + 1];
    int64_t id; /* {repair} or {rollout} */
};

struct pfs_api;
struct pfs_api_call;
struct pfs_http_req;
struct pfs_http_resp;

typedef void (*pfs_api_fn)(struct pfs_api *api, const struct pfs_api_call *call,
                           struct pfs_http_resp *resp);

struct pfs_api_route {
    const char *method; /* "GET" (also answers HEAD) or "POST" */
    const char *pattern;
    int role; /* the least enum pfs_role, or PFS_API_PUBLIC */
    enum pfs_api_body body;
    pfs_api_fn fn;
    int arg; /* for fn: which merchant or rollout action, or variant */
};

/* A request that passed: its route, its parameters and who asks. The
 * token's name is copied, so a tokens reload (SIGHUP) while the body is
 * still arriving changes nothing. req is set when the body is complete. */
struct pfs_api_call {
    const struct pfs_api_route *route;
    struct pfs_api_params params;
    char name[PFS_TOKEN_NAME_MAX + 1]; /* "" on a public route */
    enum pfs_role role;
    const struct pfs_http_req *req;
};

/* A request refused on its headers. */
struct pfs_api_refusal {
    int status; /* 400, 401, 403, 404 or 405 */
    int code;   /* PF_E* named in the error body */
    char message[192];
    const char *allow; /* static, for a 405 */
};

/* Authenticates an Authorization header value (may be NULL) against tokens
 * and authorizes it for role need: 0 with *who set, PF_EAUTH (missing or
 * unknown token) or PF_EPERM (role too low) with err's message. */
int pfs_api_authorize(const struct pfs_tokens *tokens, const char *authorization,
                      enum pfs_role need, const struct pfs_token **who,
                      struct pf_error *err) PF_WUR;

/* The route of method and path in table (the first that fits), its
 * parameters parsed into call. 0, or a PF_E* code with no filled; see above. */
int pfs_api_decide(const struct pfs_api_route *table, size_t n, const struct pfs_tokens *tokens,
                   const char *method, const char *path, const char *authorization,
                   struct pfs_api_call *call, struct pfs_api_refusal *no) PF_WUR;

/* Who makes the change, as the store's audit records it; borrows call. */
struct pfs_actor pfs_api_actor(const struct pfs_api_call *call);

#endif
