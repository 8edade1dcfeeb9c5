/*
 * test_api_route.c - the HTTP API's route table and the decision taken on a
 * request's headers (api_route.h), without a server: every route resolves to
 * itself with the least role it names, a wrong method is 405 with Allow, an
 * unknown path 404, a missing or bad token 401, a low role 403, a bad path
 * parameter 400, and path parameters arrive parsed.
 */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "api/api.h"
#include "api/api_handlers.h"
#include "api/api_route.h"
#include "testutil.h"

static struct pfs_tokens toks;

static void setup(void)
{
    char buf[1024], a[100], s[100], v[100], p[100], d[100];
    struct pf_error err = {0};

    ck_assert_int_eq(pfs_token_hash_hex("tok-ops", 7, a), 0);
    ck_assert_int_eq(pfs_token_hash_hex("tok-sup", 7, s), 0);
    ck_assert_int_eq(pfs_token_hash_hex("tok-view", 8, v), 0);
    ck_assert_int_eq(pfs_token_hash_hex("tok-appr", 8, p), 0);
    ck_assert_int_eq(pfs_token_hash_hex("tok-adm", 7, d), 0);
    snprintf(buf, sizeof(buf),
             "alice ops %s\nsam support %s\nvic viewer %s\nann approver %s\nada admin %s\n", a, s,
             v, p, d);
    ck_assert_msg(pfs_tokens_parse(&toks, buf, strlen(buf), "tokens", &err) == 0, "%s", err.msg);
}

static void teardown(void)
{
    pfs_tokens_release(&toks);
}

/* By enum pfs_role; a merchant is never a tokens-file identity. */
static const char *const role_auth[] = {"Bearer tok-view", "Bearer tok-sup", "Bearer tok-ops",
                                        "Bearer tok-appr", "Bearer tok-adm", NULL};

/* decide() over the real table. */
static int decide(const char *method, const char *path, const char *auth, struct pfs_api_call *c,
                  struct pfs_api_refusal *no)
{
    struct pfs_api_authn authn = {&toks, NULL, NULL};
    struct pfs_api_cred cred = {auth, NULL, NULL};

    memset(no, 0, sizeof(*no));
    return pfs_api_decide(pfs_api_routes, pfs_api_nroutes, &authn, method, path, &cred, c, no);
}

static void expect_refused(const char *method, const char *path, const char *auth, int status,
                           int code, const char *message)
{
    struct pfs_api_call c;
    struct pfs_api_refusal no;
    int rc = decide(method, path, auth, &c, &no);

    ck_assert_msg(rc == code && no.status == status, "%s %s: rc %d status %d (%s), want %d %d",
                  method, path, rc, no.status, no.message, code, status);
    ck_assert_ptr_null(c.route);
    if (message)
        ck_assert_msg(strstr(no.message, message), "%s %s: message '%s' lacks '%s'", method, path,
                      no.message, message);
}

/* A concrete path for a pattern: every placeholder given a valid value. */
static void concrete(const char *pattern, char *out, size_t size)
{
    static const struct {
        const char *ph, *value;
    } v[] = {
            {"{serial}", "PF-0001"},
            {"{merchant}", "M-1"},
            {"{repair}", "7"},
            {"{rollout}", "9"},
            {"{diag}", "d1:x.y_z-0"},
            {"{bundle}", "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"},
            {"{token}", "3"},
            {"{user}", "li.wei"},
            {"{org}", "2"},
    };
    size_t n = 0;

    for (const char *p = pattern; *p;) {
        size_t k;

        for (k = 0; k < sizeof(v) / sizeof(v[0]); k++) {
            if (strncmp(p, v[k].ph, strlen(v[k].ph)) == 0)
                break;
        }
        if (k < sizeof(v) / sizeof(v[0])) {
            n += (size_t)snprintf(out + n, size - n, "%s", v[k].value);
            p += strlen(v[k].ph);
        } else {
            ck_assert_msg(*p != '{', "%s: unknown placeholder", pattern);
            out[n++] = *p++;
            out[n] = '\0';
        }
        ck_assert_uint_lt(n, size);
    }
    out[n] = '\0';
}

/* Every route the API documents (docs/server.md, docs/rollouts.md): each is
 * in the table once, and the table holds nothing else. */
START_TEST(the_table_is_the_documented_api)
{
    static const char *const api[] = {
            "GET /metrics",
            "GET /healthz",
            "GET /readyz",
            "GET /v1/devices",
            "POST /v1/devices",
            "POST /v1/devices/import",
            "GET /v1/devices/export",
            "GET /v1/devices/{serial}",
            "POST /v1/devices/{serial}/revoke",
            "GET /v1/devices/{serial}/lifecycle",
            "GET /v1/devices/{serial}/history",
            "GET /v1/devices/{serial}/health",
            "POST /v1/devices/{serial}/lock",
            "POST /v1/devices/{serial}/unlock",
            "POST /v1/devices/{serial}/bind",
            "POST /v1/devices/{serial}/unbind",
            "POST /v1/devices/{serial}/retire",
            "POST /v1/devices/{serial}/tags",
            "POST /v1/devices/{serial}/swap",
            "POST /v1/devices/{serial}/repair",
            "POST /v1/devices/{serial}/diag",
            "GET /v1/devices/{serial}/diag",
            "POST /v1/devices/{serial}/update",
            "GET /v1/devices/{serial}/updates",
            "POST /v1/devices/{serial}/swap/undo",
            "POST /v1/bulk/bind",
            "POST /v1/bulk/unbind",
            "POST /v1/bulk/tags",
            "GET /v1/summary",
            "GET /v1/summary/online",
            "GET /v1/alerts",
            "GET /v1/audit",
            "GET /v1/merchants",
            "POST /v1/merchants",
            "GET /v1/merchants/{merchant}",
            "POST /v1/merchants/{merchant}/update",
            "POST /v1/merchants/{merchant}/approve",
            "POST /v1/merchants/{merchant}/reject",
            "POST /v1/merchants/{merchant}/activate",
            "POST /v1/merchants/{merchant}/suspend",
            "POST /v1/merchants/{merchant}/resume",
            "POST /v1/merchants/{merchant}/close",
            "GET /v1/repairs",
            "GET /v1/repairs/{repair}",
            "POST /v1/repairs/{repair}",
            "POST /v1/repairs/{repair}/close",
            "GET /v1/diag/{diag}",
            "GET /v1/diag/{diag}/archive",
            "POST /v1/bundles",
            "GET /v1/bundles",
            "GET /v1/bundles/{bundle}",
            "GET /v1/hooks",
            "GET /v1/hooks/log",
            "POST /v1/rollouts",
            "GET /v1/rollouts",
            "GET /v1/rollouts/{rollout}",
            "GET /v1/rollouts/{rollout}/members",
            "POST /v1/rollouts/{rollout}/pause",
            "POST /v1/rollouts/{rollout}/resume",
            "POST /v1/rollouts/{rollout}/continue",
            "POST /v1/rollouts/{rollout}/abort",
            "POST /v1/rollouts/{rollout}/rollback",
            "POST /v1/rollouts/{rollout}/members/{serial}",
            "GET /v1/rollouts/{rollout}/preview",
            "POST /v1/rollouts/{rollout}/approve",
            "GET /v1/events",
            "POST /v1/login",
            "POST /v1/logout",
            "GET /v1/me",
            "POST /v1/me/password",
            "GET /v1/tokens",
            "POST /v1/tokens",
            "POST /v1/tokens/{token}/revoke",
            "GET /v1/users",
            "POST /v1/users",
            "GET /v1/users/{user}",
            "POST /v1/users/{user}",
            "POST /v1/users/{user}/role",
            "POST /v1/users/{user}/disable",
            "POST /v1/users/{user}/enable",
            "GET /v1/orgs",
            "POST /v1/orgs",
            "GET /v1/orgs/{org}",
            "POST /v1/merchants/{merchant}/org",
            "GET /v1/support-requests",
            "POST /v1/support-requests",
            "POST /v1/admin/backup",
    };
    size_t n = sizeof(api) / sizeof(api[0]);

    ck_assert_uint_eq(pfs_api_nroutes, n);
    for (size_t k = 0; k < n; k++) {
        int found = 0;

        for (size_t i = 0; i < pfs_api_nroutes; i++) {
            char line[160];

            snprintf(line, sizeof(line), "%s %s", pfs_api_routes[i].method,
                     pfs_api_routes[i].pattern);
            found += strcmp(line, api[k]) == 0;
        }
        ck_assert_msg(found == 1, "%s is in the table %d times", api[k], found);
    }
}
END_TEST

START_TEST(every_route_resolves_to_itself)
{
    char path[256], slash[260];

    for (size_t i = 0; i < pfs_api_nroutes; i++) {
        const struct pfs_api_route *r = &pfs_api_routes[i];
        struct pfs_api_call c;
        struct pfs_api_refusal no;
        int rc;

        /* ops passes every route but the approver's and the admin's own */
        const char *top = r->role == PFS_ROLE_APPROVER ? "Bearer tok-appr"
                          : r->role == PFS_ROLE_ADMIN  ? "Bearer tok-adm"
                                                       : "Bearer tok-ops";

        concrete(r->pattern, path, sizeof(path));
        rc = decide(r->method, path, top, &c, &no);
        ck_assert_msg(rc == 0, "%s %s: %d %s", r->method, path, no.status, no.message);
        ck_assert_msg(c.route == r, "%s %s resolves to %s %s", r->method, path, c.route->method,
                      c.route->pattern);
        ck_assert_ptr_nonnull(r->fn);
        if (strcmp(r->method, "GET") == 0) {
            ck_assert_int_eq(decide("HEAD", path, top, &c, &no), 0);
            ck_assert_ptr_eq(c.route, r);
        }
        snprintf(slash, sizeof(slash), "%s/", path);
        ck_assert_int_eq(decide(r->method, slash, top, &c, &no), 0);
        ck_assert_ptr_eq(c.route, r);

        /* The least role it names passes, the one below is refused before the body. */
        if (r->role == PFS_API_PUBLIC) {
            ck_assert_int_eq(decide(r->method, path, NULL, &c, &no), 0);
            ck_assert_str_eq(c.name, "");
            continue;
        }
        if (r->role == PFS_ROLE_MERCHANT) { /* merchant users and the people who help them */
            ck_assert_int_eq(decide(r->method, path, "Bearer tok-sup", &c, &no), 0);
            expect_refused(r->method, path, "Bearer tok-view", 403, PF_EPERM, "needs");
            expect_refused(r->method, path, NULL, 401, PF_EAUTH, "missing bearer token");
            continue;
        }
        ck_assert_int_eq(decide(r->method, path, role_auth[r->role], &c, &no), 0);
        ck_assert_int_eq((int)c.role, r->role);
        if (r->role == PFS_ROLE_ADMIN)
            expect_refused(r->method, path, "Bearer tok-ops", 403, PF_EPERM, "needs");
        else if (r->role > PFS_ROLE_VIEWER)
            expect_refused(r->method, path, role_auth[r->role - 1], 403, PF_EPERM, "needs");
        if (r->role == PFS_ROLE_SUPPORT || r->role == PFS_ROLE_OPS ||
            r->role == PFS_ROLE_ADMIN) /* approver only reads */
            expect_refused(r->method, path, "Bearer tok-appr", 403, PF_EPERM, "needs");
        if (r->role == PFS_ROLE_ADMIN) /* the server's administration is not ops' */
            expect_refused(r->method, path, "Bearer tok-ops", 403, PF_EPERM, "needs");
        expect_refused(r->method, path, NULL, 401, PF_EAUTH, "missing bearer token");
    }
}
END_TEST

START_TEST(body_limits_follow_the_method)
{
    int bulk = 0;

    for (size_t i = 0; i < pfs_api_nroutes; i++) {
        const struct pfs_api_route *r = &pfs_api_routes[i];

        if (strcmp(r->method, "GET") == 0)
            ck_assert_msg(r->body == PFS_API_BODY_NONE, "GET %s takes a body", r->pattern);
        else
            ck_assert_msg(r->body != PFS_API_BODY_NONE, "POST %s takes no body", r->pattern);
        if (r->body == PFS_API_BODY_BULK) {
            ck_assert_msg(strcmp(r->pattern, "/v1/bundles") == 0 ||
                                  strcmp(r->pattern, "/v1/devices/import") == 0 ||
                                  strncmp(r->pattern, "/v1/bulk/", 9) == 0,
                          "%s has the bulk limit", r->pattern);
            bulk++;
        }
    }
    ck_assert_int_eq(bulk, 5);
}
END_TEST

START_TEST(wrong_method_is_405_with_allow)
{
    struct pfs_api_call c;
    struct pfs_api_refusal no;

    ck_assert_int_eq(decide("POST", "/v1/summary", "Bearer tok-ops", &c, &no), PF_ENOENT);
    ck_assert_int_eq(no.status, 405);
    ck_assert_str_eq(no.allow, "GET, HEAD");
    ck_assert_int_eq(decide("GET", "/v1/devices/PF-1/revoke", "Bearer tok-ops", &c, &no),
                     PF_ENOENT);
    ck_assert_int_eq(no.status, 405);
    ck_assert_str_eq(no.allow, "POST");
    ck_assert_int_eq(decide("DELETE", "/v1/devices", "Bearer tok-ops", &c, &no), PF_ENOENT);
    ck_assert_int_eq(no.status, 405);
    ck_assert_str_eq(no.allow, "GET, HEAD, POST");
    ck_assert_int_eq(decide("POST", "/v1/rollouts/3/members", NULL, &c, &no), PF_ENOENT);
    ck_assert_int_eq(no.status, 405); /* decided before the token */
    ck_assert_int_eq(decide("PUT", "/metrics", NULL, &c, &no), PF_ENOENT);
    ck_assert_int_eq(no.status, 405);
    ck_assert_ptr_nonnull(strstr(no.message, "PUT"));
}
END_TEST

START_TEST(unknown_path_is_404_before_the_token)
{
    static const char *const paths[] = {
            "/nothing",
            "/",
            "",
            "/v1",
            "/v1/",
            "/v1/devicesx",
            "/v1/devices/PF-1/frobnicate",
            "/v1/devices//revoke",
            "/v1/devices/PF-1/revoke/x",
            "/v1/merchants/M1/frobnicate",
            "/v1/repairs/abc",
            "/v1/repairs/0",
            "/v1/repairs/-3",
            "/v1/rollouts/4/frobnicate",
            "/v1/diag/0123456789012345678901234567890123456789012345678901234567890",
            "/v1/bundles/0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0",
            "/metrics/x",
    };

    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        expect_refused("POST", paths[i], NULL, 404, PF_ENOENT, "no such endpoint");
        expect_refused("GET", paths[i], "Bearer tok-ops", 404, PF_ENOENT, "no such endpoint");
    }
}
END_TEST

START_TEST(missing_or_bad_token_is_401)
{
    struct pfs_api_call c;
    struct pfs_api_refusal no;

    expect_refused("GET", "/v1/devices", NULL, 401, PF_EAUTH, "missing bearer token");
    expect_refused("GET", "/v1/devices", "Basic YWxpY2U6eA==", 401, PF_EAUTH,
                   "missing bearer token");
    expect_refused("GET", "/v1/devices", "Bearer", 401, PF_EAUTH, "missing bearer token");
    expect_refused("GET", "/v1/devices", "Bearer ", 401, PF_EAUTH, "bad token");
    expect_refused("GET", "/v1/devices", "Bearer tok-wrong", 401, PF_EAUTH, "bad token");
    expect_refused("POST", "/v1/bundles", "Bearer tok-op", 401, PF_EAUTH, "bad token");
    expect_refused("POST", "/v1/devices/import", NULL, 401, PF_EAUTH, NULL);
    /* The scheme is case-insensitive and spaces before the token are skipped. */
    ck_assert_int_eq(decide("GET", "/v1/devices", "bearer   tok-view", &c, &no), 0);
    ck_assert_str_eq(c.name, "vic");
    /* No tokens loaded: everything but /metrics is refused. */
    {
        struct pfs_api_authn none = {NULL, NULL, NULL};
        struct pfs_api_cred ops = {"Bearer tok-ops", NULL, NULL}, nothing = {NULL, NULL, NULL};

        ck_assert_int_eq(pfs_api_decide(pfs_api_routes, pfs_api_nroutes, &none, "GET",
                                        "/v1/devices", &ops, &c, &no),
                         PF_EAUTH);
        ck_assert_int_eq(pfs_api_decide(pfs_api_routes, pfs_api_nroutes, &none, "GET", "/metrics",
                                        &nothing, &c, &no),
                         0);
    }
}
END_TEST

START_TEST(low_role_is_403)
{
    struct pfs_api_call c;
    struct pfs_api_refusal no;

    expect_refused("POST", "/v1/devices", "Bearer tok-view", 403, PF_EPERM,
                   "role viewer may not do this (needs ops)");
    expect_refused("POST", "/v1/bundles", "Bearer tok-sup", 403, PF_EPERM,
                   "role support may not do this (needs ops)");
    expect_refused("GET", "/v1/audit", "Bearer tok-view", 403, PF_EPERM, "needs support");
    expect_refused("GET", "/v1/devices/PF-1/diag", "Bearer tok-view", 403, PF_EPERM, NULL);
    expect_refused("POST", "/v1/repairs/3/close", "Bearer tok-view", 403, PF_EPERM, NULL);
    ck_assert_int_eq(decide("POST", "/v1/devices/PF-1/swap", "Bearer tok-sup", &c, &no), 0);
    ck_assert_int_eq(decide("GET", "/v1/audit", "Bearer tok-sup", &c, &no), 0);
    ck_assert_str_eq(c.name, "sam");
    ck_assert_int_eq(c.role, PFS_ROLE_SUPPORT);
}
END_TEST

START_TEST(path_parameters_are_parsed_once)
{
    struct pfs_api_call c;
    struct pfs_api_refusal no;
    struct pfs_actor a;

    ck_assert_int_eq(decide("POST", "/v1/devices/PF_1-a/diag", "Bearer tok-sup", &c, &no), 0);
    ck_assert_ptr_eq(c.route->fn, pfs_api_diag_create);
    ck_assert_str_eq(c.params.serial, "PF_1-a");
    a = pfs_api_actor(&c);
    ck_assert_str_eq(a.name, "sam");
    ck_assert_str_eq(a.role, "support");

    ck_assert_int_eq(decide("GET", "/v1/devices/import", "Bearer tok-view", &c, &no), 0);
    ck_assert_ptr_eq(c.route->fn, pfs_api_device_get); /* a serial named "import" */
    ck_assert_str_eq(c.params.serial, "import");
    ck_assert_int_eq(decide("POST", "/v1/devices/import", "Bearer tok-ops", &c, &no), 0);
    ck_assert_ptr_eq(c.route->fn, pfs_api_devices_import);

    ck_assert_int_eq(decide("POST", "/v1/repairs/42/close", "Bearer tok-sup", &c, &no), 0);
    ck_assert_ptr_eq(c.route->fn, pfs_api_repair_change);
    ck_assert_int_eq(c.params.id, 42);
    ck_assert_int_eq(c.route->arg, 1);
    ck_assert_int_eq(decide("POST", "/v1/repairs/9223372036854775807", "Bearer tok-sup", &c, &no),
                     0);
    ck_assert_int_eq(c.params.id, INT64_MAX);
    ck_assert_int_eq(c.route->arg, 0);

    ck_assert_int_eq(decide("POST", "/v1/rollouts/12/rollback", "Bearer tok-ops", &c, &no), 0);
    ck_assert_int_eq(c.params.id, 12);
    ck_assert_int_eq(c.route->arg, PFS_API_RO_ROLLBACK);

    ck_assert_int_eq(decide("POST", "/v1/merchants/M-9/suspend", "Bearer tok-ops", &c, &no), 0);
    ck_assert_str_eq(c.params.merchant, "M-9");
    ck_assert_int_eq(c.route->arg, PFS_MACT_SUSPEND);
    ck_assert_int_eq(decide("POST", "/v1/merchants/M-9/update", "Bearer tok-ops", &c, &no), 0);
    ck_assert_int_eq(c.route->arg, -1);

    ck_assert_int_eq(decide("GET", "/v1/diag/r1:2/archive", "Bearer tok-ops", &c, &no), 0);
    ck_assert_str_eq(c.params.diag, "r1:2");
    ck_assert_int_eq(c.route->arg, 1);

    ck_assert_int_eq(decide("GET", "/v1/bundles/abc", "Bearer tok-view", &c, &no), 0);
    ck_assert_str_eq(c.params.bundle, "abc");
}
END_TEST

START_TEST(bad_parameter_is_400_after_the_token)
{
    expect_refused("GET", "/v1/devices/bad!serial", "Bearer tok-view", 400, PF_EINVAL,
                   "bad serial in path");
    expect_refused("GET", "/v1/devices/bad!serial", NULL, 401, PF_EAUTH, NULL);
    expect_refused("POST", "/v1/devices/bad!serial/revoke", "Bearer tok-view", 403, PF_EPERM, NULL);
    expect_refused("POST", "/v1/devices/0123456789012345678901234567890123/revoke",
                   "Bearer tok-ops", 400, PF_EINVAL, "bad serial in path");
    expect_refused("GET", "/v1/rollouts/x", "Bearer tok-view", 400, PF_EINVAL,
                   "bad rollout id in path");
    expect_refused("POST", "/v1/rollouts/0/pause", "Bearer tok-ops", 400, PF_EINVAL,
                   "bad rollout id in path");
    expect_refused("GET", "/v1/diag/a$b", "Bearer tok-sup", 400, PF_EINVAL, "bad diagnostic id");
}
END_TEST

START_TEST(the_callers_identity_outlives_a_tokens_reload)
{
    struct pfs_api_call c;
    struct pfs_api_refusal no;

    ck_assert_int_eq(decide("POST", "/v1/bundles", "Bearer tok-ops", &c, &no), 0);
    /* SIGHUP replaces the tokens while the body is still arriving. */
    memset(toks.v, 0, toks.n * sizeof(*toks.v));
    ck_assert_str_eq(c.name, "alice");
    ck_assert_str_eq(pfs_api_actor(&c).name, "alice");
    ck_assert_str_eq(pfs_api_actor(&c).role, "ops");
}
END_TEST

START_TEST(authorize_alone)
{
    struct pfs_api_authn authn = {&toks, NULL, NULL};
    struct pfs_api_cred sup = {"Bearer tok-sup", NULL, NULL}, none = {NULL, NULL, NULL};
    struct pfs_api_cred bad = {"Bearer x", NULL, NULL};
    struct pfs_principal who;
    struct pf_error err = {0};

    ck_assert_int_eq(pfs_api_authorize(&authn, "GET", &sup, PFS_ROLE_SUPPORT, &who, &err), 0);
    ck_assert_str_eq(who.name, "sam");
    ck_assert_str_eq(who.org, "headquarters");
    ck_assert_int_eq(pfs_api_authorize(&authn, "GET", &sup, PFS_ROLE_OPS, &who, &err), PF_EPERM);
    ck_assert_str_eq(who.name, "");
    ck_assert_str_eq(err.msg, "role support may not do this (needs ops)");
    ck_assert_int_eq(pfs_api_authorize(&authn, "GET", &none, PFS_ROLE_VIEWER, &who, &err),
                     PF_EAUTH);
    ck_assert_str_eq(who.name, "");
    ck_assert_int_eq(pfs_api_authorize(&authn, "GET", &bad, PFS_ROLE_VIEWER, &who, &err), PF_EAUTH);
    ck_assert_str_eq(err.msg, "bad token");
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("api_route");
    TCase *tc = tcase_create("route");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, the_table_is_the_documented_api);
    tcase_add_test(tc, every_route_resolves_to_itself);
    tcase_add_test(tc, body_limits_follow_the_method);
    tcase_add_test(tc, wrong_method_is_405_with_allow);
    tcase_add_test(tc, unknown_path_is_404_before_the_token);
    tcase_add_test(tc, missing_or_bad_token_is_401);
    tcase_add_test(tc, low_role_is_403);
    tcase_add_test(tc, path_parameters_are_parsed_once);
    tcase_add_test(tc, bad_parameter_is_400_after_the_token);
    tcase_add_test(tc, the_callers_identity_outlives_a_tokens_reload);
    tcase_add_test(tc, authorize_alone);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return pf_test_run(suite());
}
