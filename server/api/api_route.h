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
 *   {token}     an API token id, a positive integer, else no route
 *   {user}      a user name, 1..64 bytes, else no route (its scope is the
 *               handler's: a user outside the caller's is absent)
 *   {org}       an organisation id, a positive integer, else no route
 *
 * pfs_api_decide() answers, in this order: 404 NOENT when no route has the
 * path, 405 NOENT (with Allow) when routes have it but not for this method,
 * 401 AUTH for a missing or unknown secret, 403 PERM for a session cookie
 * without its X-CSRF-Token on a method other than GET/HEAD, 403 PERM when
 * the role is below the route's, 403 PERM when a route of headquarters is
 * asked by anyone else, 400 INVAL for a bad parameter; else the call to
 * make. GET routes also answer HEAD; one trailing slash is ignored; "/api/v1/"
 * is the same as "/v1/" (the back office's prefix).
 *
 * The secret is the bearer token of the Authorization header or else the
 * pf_session cookie; a cookie's request must carry the session's CSRF value
 * in X-CSRF-Token unless it is GET or HEAD (a bearer token needs none: a
 * browser never adds it by itself).
 *
 * Scope (docs/security.md): each route says what a principal of an
 * organisation below headquarters may reach through it. PFS_API_SCOPE_HQ
 * (the zero value, so a route added without thought is closed): only
 * headquarters' principals. PFS_API_SCOPE_OWN: anyone; the handler reads
 * with the call's scope (lists) or acts on the principal itself.
 * PFS_API_SCOPE_PARAM: anyone, and the path parameter ({serial},
 * {merchant}, {repair}, {diag}) must lie inside the principal's scope,
 * checked by api.c against the store before the body is read (404 if not:
 * outside looks absent); the handler also reads with the call's scope.
 *
 * Everything here is plain data and pure functions: no transport, no store.
 */
#ifndef PFS_API_ROUTE_H
#define PFS_API_ROUTE_H

#include <stddef.h>
#include <stdint.h>

#include "accounts/accounts.h"
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

/* Who below headquarters may use a route (above). */
enum pfs_api_scope { PFS_API_SCOPE_HQ = 0, PFS_API_SCOPE_OWN, PFS_API_SCOPE_PARAM };

struct pfs_api_params {
    char serial[PF_SERIAL_MAX + 1];
    char merchant[PFS_MERCHANT_ID_MAX + 1];
    char diag[PF_DIAG_ID_MAX + 1];
    char bundle[PF_B2_HEX_LEN + 1];
    int64_t id; /* {repair}, {rollout}, {token} or {org} */
    char user[PFS_USER_NAME_MAX + 1];
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
    enum pfs_api_scope scope;
};

/* The secrets a request may carry (each NULL when absent). */
struct pfs_api_cred {
    const char *authorization; /* the Authorization header */
    const char *cookie;        /* the pf_session cookie */
    const char *csrf;          /* the X-CSRF-Token header */
};

/* How secrets become principals: the tokens file, and (fn, may be NULL) the
 * accounts (pfs_accounts_authenticate). */
typedef int (*pfs_api_authn_fn)(void *ctx, const char *secret, size_t len,
                                struct pfs_principal *out);
struct pfs_api_authn {
    const struct pfs_tokens *tokens;
    pfs_api_authn_fn fn;
    void *ctx;
};

/* A request that passed: its route, its parameters and who asks. The
 * principal is copied, so a tokens reload (SIGHUP) while the body is still
 * arriving changes nothing. req is set when the body is complete. */
struct pfs_api_call {
    const struct pfs_api_route *route;
    struct pfs_api_params params;
    char name[PFS_TOKEN_NAME_MAX + 1]; /* "" on a public route */
    enum pfs_role role;
    struct pfs_principal who; /* zero on a public route */
    char addr[64];            /* the client's address */
    const struct pfs_http_req *req;
};

/* A request refused on its headers. */
struct pfs_api_refusal {
    int status; /* 400, 401, 403, 404 or 405 */
    int code;   /* PF_E* named in the error body */
    char message[192];
    const char *allow; /* static, for a 405 */
};

/* Authenticates the credentials of a request of method and authorizes them
 * for role need: 0 with *who set, PF_EAUTH (missing or unknown secret) or
 * PF_EPERM (CSRF missing, role too low) with err's message. */
int pfs_api_authorize(const struct pfs_api_authn *authn, const char *method,
                      const struct pfs_api_cred *cred, enum pfs_role need,
                      struct pfs_principal *who, struct pf_error *err) PF_WUR;

/* The route of method and path in table (the first that fits), its
 * parameters parsed into call. 0, or a PF_E* code with no filled; see above. */
int pfs_api_decide(const struct pfs_api_route *table, size_t n, const struct pfs_api_authn *authn,
                   const char *method, const char *path, const struct pfs_api_cred *cred,
                   struct pfs_api_call *call, struct pfs_api_refusal *no) PF_WUR;

/* The scope a handler reads with (the principal's), or NULL for
 * headquarters: everything. */
const struct pfs_scope *pfs_api_scope(const struct pfs_api_call *call);

/* Who makes the change, as the store's audit records it; borrows call. */
struct pfs_actor pfs_api_actor(const struct pfs_api_call *call);

#endif
