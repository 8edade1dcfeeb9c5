/*
 * test_accounts_scope.c - people over the real API in-process (loopback,
 * real SQLite): login, sessions by bearer and by cookie with CSRF, API
 * tokens, the throttle, and organisation scoping route by route.
 *
 * The world: headquarters; agents A and B; merchants MA and MA2 under A, MB
 * under B, MH under headquarters; terminals TA1 (MA), TB1 (MB), TH1 (MH), TS
 * (stock), and TS2 (MA2) that replaced TA2 (MA2's, in repair 1); agent A's
 * diagnostic d1 of TA1 and rollout 1, so every id the matrix guesses exists. The
 * route matrix gives every route of api.c's table one entry saying what an
 * admin of agent B (every role check passes: only scope can stop it) gets
 * when it aims at agent A's things; a route without an entry fails the
 * suite, so a new route cannot skip scoping. The role x organisation matrix
 * of docs/security.md is one test per cell.
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <jansson.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "server.h"
#include "testutil.h"
#include "api/api.h"
#include "api/tokens.h"
#include "rollouts/rollout_def.h"
#include "store/store.h"
#include "store/store_diag.h"
#include "store/store_online.h"
#include "store/store_rollouts.h"
#include "store/store_updates.h"

static char dir[256];
static struct pfs_config cfg;
static struct pfs_server *srv;
static pthread_t srv_thread;
static int port;

/* The rig's own server start is not used: these tests lower the Argon2id cost first. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#include "api_rig.h"
#pragma GCC diagnostic pop

#define PW "correct horse battery"

/* The server with cheap Argon2id parameters (the cost is the only change). */
static void start_cheap(void)
{
    struct pfs_server_opts opts = {.signals = false, .mqtt = false};
    struct pf_error err = {0};
    char path[400], file[1024], a[100], d[100];

    ck_assert_int_eq(pfs_token_hash_hex("tok-adm", 7, d), 0);
    ck_assert_int_eq(pfs_token_hash_hex("tok-ops", 7, a), 0);
    snprintf(file, sizeof(file), "ada admin %s\nalice ops %s\n", d, a);
    snprintf(path, sizeof(path), "%s/tokens", dir);
    write_file(path, file);
    ck_assert_msg(pfs_server_new(&cfg, &opts, &srv, &err) == 0, "%s", err.msg);
    srv->accounts.opslimit = crypto_pwhash_OPSLIMIT_MIN;
    srv->accounts.memlimit = crypto_pwhash_MEMLIMIT_MIN;
    port = pfs_server_http_port(srv);
    ck_assert_int_eq(pthread_create(&srv_thread, NULL, run_server, srv), 0);
}

static int status_of(const char *method, const char *path, const char *token, const char *body)
{
    struct resp r;
    int st;

    http(method, path, token, body, &r);
    st = r.status;
    resp_release(&r);
    return st;
}

static void must(const char *method, const char *path, const char *token, const char *body,
                 int want)
{
    struct resp r;

    http(method, path, token, body, &r);
    ck_assert_msg(r.status == want, "%s %s: %d want %d: %s", method, path, r.status, want, r.body);
    resp_release(&r);
}

static void merchant(const char *id, const char *org)
{
    char first17[18], body[768], path[128];
    static unsigned n;

    /* A distinct valid credit code per merchant. */
    snprintf(first17, sizeof(first17), "91440300715267%03u", ++n % 1000u);
    snprintf(body, sizeof(body),
             "{\"id\":\"%s\",\"name\":\"Shop %s\",\"uscc\":\"%s%c\",\"mcc\":\"5812\","
             "\"address\":\"1 Road\",\"contact_name\":\"Li\",\"contact_phone\":\"+86 138 0000 "
             "0000\","
             "\"tz\":\"Asia/Shanghai\",\"settlement\":\"T0\",\"fee_plan\":[\"fee-1\"]}",
             id, id, first17, pfs_uscc_check_char(first17));
    must("POST", "/v1/merchants", "tok-ops", body, 201);
    snprintf(path, sizeof(path), "/v1/merchants/%s/approve", id);
    must("POST", path, "tok-ops", NULL, 200);
    if (org) {
        snprintf(path, sizeof(path), "/v1/merchants/%s/org", id);
        snprintf(body, sizeof(body), "{\"org\":\"%s\"}", org);
        must("POST", path, "tok-adm", body, 200);
    }
}

static void terminal(const char *serial, const char *merchant_id)
{
    char path[128], body[128];

    add_device(serial, "PX-500");
    if (!merchant_id)
        return;
    snprintf(path, sizeof(path), "/v1/devices/%s/bind", serial);
    snprintf(body, sizeof(body), "{\"merchant_id\":\"%s\"}", merchant_id);
    must("POST", path, "tok-ops", body, 200);
}

static void user(const char *name, const char *role, const char *org, const char *merchant_id)
{
    char body[512];

    snprintf(body, sizeof(body),
             "{\"name\":\"%s\",\"role\":\"%s\",\"org\":\"%s\",\"password\":\"" PW "\"%s%s%s}", name,
             role, org, merchant_id ? ",\"merchant\":\"" : "", merchant_id ? merchant_id : "",
             merchant_id ? "\"" : "");
    must("POST", "/v1/users", "tok-adm", body, 201);
}

/* Logs name in: the session token (heap), and its csrf into csrf (if not NULL). */
static char *login(const char *name, char *csrf, size_t csrf_size)
{
    char body[256];
    struct resp r;
    char *tok;

    snprintf(body, sizeof(body), "{\"user\":\"%s\",\"password\":\"" PW "\"}", name);
    http("POST", "/api/v1/login", NULL, body, &r);
    ck_assert_msg(r.status == 200, "login %s: %d %s", name, r.status, r.body);
    ck_assert_ptr_nonnull(jstr(r.json, "token"));
    ck_assert_ptr_nonnull(jstr(r.json, "expires_at"));
    tok = strdup(jstr(r.json, "token"));
    if (csrf)
        snprintf(csrf, csrf_size, "%s", jstr(r.json, "csrf"));
    resp_release(&r);
    return tok;
}

/* Things of agent A that only an id names: diagnostic d1 of TA1 and rollout 1
 * made by opsA. Written into the store while posfleetd is stopped (a diagnostic
 * needs a broker, a rollout a signed bundle), then posfleetd starts again; the
 * sessions live in the store and stay valid. */
static void seed_by_id(void)
{
    const struct pfs_actor ops_a = {
            .name = "opsA", .role = "ops", .org = "agentA", .org_path = "/1/2/"};
    struct pfs_store_opts o = {.path = cfg.store_path};
    struct pfs_diag_rec dr = {0};
    struct pfs_bundle_rec b = {0};
    struct pfs_ro_def d;
    struct pfs_ro_plan_stats stats;
    struct pfs_store *st = NULL;
    struct pf_error err = {0};
    int64_t now = pf_clock_wall_ms(&pf_clock_system), id = 0;
    char def[256];
    json_t *j;
    bool created;

    server_stop();
    ck_assert_msg(pfs_store_open(&o, &st, &err) == 0, "%s", err.msg);
    snprintf(dr.id, sizeof(dr.id), "d1");
    snprintf(dr.serial, sizeof(dr.serial), "TA1");
    snprintf(dr.command, sizeof(dr.command), "versions");
    dr.created_ms = now;
    dr.deadline_ms = now + 3600000;
    dr.archive_size = -1;
    ck_assert_msg(pfs_store_diag_create(st, &dr, &ops_a, now, &err) == 0, "%s", err.msg);
    snprintf(b.id, sizeof(b.id), "%064d", 7);
    b.kind = PF_KIND_FIRMWARE;
    snprintf(b.version, sizeof(b.version), "2.0.0");
    snprintf(b.models, sizeof(b.models), "PX-500");
    snprintf(b.hw_revs, sizeof(b.hw_revs), "A,B");
    b.size = 4096;
    memset(b.manifest, 'e', PF_B2_HEX_LEN);
    b.expires_s = 4000000000LL;
    ck_assert_msg(pfs_store_bundle_put(st, &b, NULL, now, &created, &err) == 0, "%s", err.msg);
    snprintf(def, sizeof(def), "{\"name\":\"a-roll\",\"bundle\":\"%s\",\"stages\":[\"100%%\"]}",
             b.id);
    j = json_loads(def, 0, NULL);
    ck_assert_msg(pfs_ro_def_parse(j, now, &d, &err) == 0, "%s", err.msg);
    ck_assert_msg(pfs_store_rollout_create(st, &d, &b, def, &ops_a, now, &id, &stats, &err) == 0,
                  "%s", err.msg);
    ck_assert_int_eq(id, 1);
    pfs_ro_def_release(&d);
    json_decref(j);
    pfs_store_close(st);
    start_cheap();
}

/* The world of the header comment, with users opsA (ops of A) and admB. */
static char *tok_admB, *tok_opsA, *tok_merchA;

static void world(void)
{
    must("POST", "/v1/orgs", "tok-adm", "{\"name\":\"agentA\"}", 201);
    must("POST", "/v1/orgs", "tok-adm", "{\"name\":\"agentB\"}", 201);
    merchant("MA", "agentA");
    merchant("MA2", "agentA");
    merchant("MB", "agentB");
    merchant("MH", NULL);
    terminal("TA1", "MA");
    terminal("TA2", "MA2");
    terminal("TB1", "MB");
    terminal("TH1", "MH");
    terminal("TS", NULL);
    terminal("TS2", NULL);
    /* Repair 1: TA2 swapped for TS2, which now stands at MA2 (agent A). */
    must("POST", "/v1/devices/TA2/swap", "tok-ops", "{\"new\":\"TS2\",\"reason\":\"cracked\"}",
         200);
    user("opsA", "ops", "agentA", NULL);
    user("admB", "admin", "agentB", NULL);
    user("merchA", "merchant", "agentA", "MA");
    tok_admB = login("admB", NULL, 0);
    tok_opsA = login("opsA", NULL, 0);
    tok_merchA = login("merchA", NULL, 0);
    must("POST", "/v1/tokens", tok_opsA, "{\"name\":\"a-ci\"}", 201); /* API token 1 */
    seed_by_id();
}

static void world_free(void)
{
    free(tok_admB);
    free(tok_opsA);
    free(tok_merchA);
    tok_admB = tok_opsA = tok_merchA = NULL;
}

static void setup_world(void)
{
    setup();
    start_cheap();
    world();
}

static void teardown_world(void)
{
    world_free();
    teardown();
}

/* --- sessions --- */

/* Sends a request with a cookie and optional CSRF header; the raw answer into out. */
static int http_cookie(const char *method, const char *path, const char *cookie, const char *csrf,
                       const char *body, char *out, size_t size)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    char req[2048];
    size_t got = 0;
    int fd, n, status = 0;

    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    fd = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    n = snprintf(req, sizeof(req),
                 "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                 "Cookie: pf_session=%s\r\n%s%s%sContent-Type: application/json\r\n"
                 "Content-Length: %zu\r\n\r\n%s",
                 method, path, cookie, csrf ? "X-CSRF-Token: " : "", csrf ? csrf : "",
                 csrf ? "\r\n" : "", body ? strlen(body) : 0, body ? body : "");
    ck_assert_int_eq(write(fd, req, (size_t)n), n);
    for (;;) {
        ssize_t rd = read(fd, out + got, size - 1 - got);

        if (rd <= 0)
            break;
        got += (size_t)rd;
    }
    close(fd);
    out[got] = '\0';
    ck_assert_int_eq(sscanf(out, "HTTP/1.1 %d", &status), 1);
    return status;
}

START_TEST(login_session_cookie_csrf)
{
    char csrf[64], raw[8192], body[256];
    struct resp r;
    char *tok;

    setup();
    start_cheap();
    must("POST", "/v1/orgs", "tok-adm", "{\"name\":\"agentA\"}", 201);
    user("opsA", "ops", "agentA", NULL);
    /* The answer the console relies on, and its cookie. */
    snprintf(body, sizeof(body), "{\"user\":\"opsA\",\"password\":\"" PW "\"}");
    ck_assert_int_eq(http_cookie("POST", "/api/v1/login", "", NULL, body, raw, sizeof(raw)), 200);
    ck_assert_ptr_nonnull(strstr(raw, "Set-Cookie: pf_session="));
    ck_assert_ptr_nonnull(strstr(raw, "; HttpOnly; Secure; SameSite=Strict; Path=/"));
    ck_assert_ptr_nonnull(strstr(raw, "\"org\":\"agentA\""));
    ck_assert_ptr_nonnull(strstr(raw, "\"role\":\"ops\""));
    ck_assert_ptr_null(strstr(raw, PW));
    tok = login("opsA", csrf, sizeof(csrf));
    /* Bearer: no CSRF needed. */
    http("GET", "/api/v1/me", tok, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(jstr(r.json, "name"), "opsA");
    ck_assert_str_eq(jstr(r.json, "org"), "agentA");
    ck_assert_str_eq(jstr(r.json, "via"), "session");
    resp_release(&r);
    /* Cookie: reads need nothing more, changes need the session's CSRF value. */
    ck_assert_int_eq(http_cookie("GET", "/api/v1/me", tok, NULL, NULL, raw, sizeof(raw)), 200);
    ck_assert_int_eq(
            http_cookie("POST", "/api/v1/tokens", tok, NULL, "{\"name\":\"ci\"}", raw, sizeof(raw)),
            403);
    ck_assert_ptr_nonnull(strstr(raw, "X-CSRF-Token"));
    ck_assert_int_eq(http_cookie("POST", "/api/v1/tokens", tok, "wrong", "{\"name\":\"ci\"}", raw,
                                 sizeof(raw)),
                     403);
    ck_assert_int_eq(
            http_cookie("POST", "/api/v1/tokens", tok, csrf, "{\"name\":\"ci\"}", raw, sizeof(raw)),
            201);
    /* Logout ends the session: the token no longer works. */
    ck_assert_int_eq(http_cookie("POST", "/api/v1/logout", tok, csrf, NULL, raw, sizeof(raw)), 200);
    ck_assert_ptr_nonnull(strstr(raw, "Max-Age=0"));
    must("GET", "/v1/me", tok, NULL, 401);
    free(tok);
    /* Every login, failure and logout is in the audit, with the address, never the password. */
    http("GET", "/v1/audit?actor=opsA", "tok-adm", NULL, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_nonnull(strstr(r.body, "\"action\":\"login\""));
    ck_assert_ptr_nonnull(strstr(r.body, "\"action\":\"logout\""));
    ck_assert_ptr_nonnull(strstr(r.body, "\"addr\":\"127.0.0.1\""));
    ck_assert_ptr_nonnull(strstr(r.body, "\"org\":\"agentA\""));
    ck_assert_ptr_null(strstr(r.body, PW));
    resp_release(&r);
    /* Filterable by the address the change came from. */
    http("GET", "/v1/audit?actor=opsA&addr=127.0.0.1", "tok-adm", NULL, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_uint_ge(json_array_size(json_object_get(r.json, "audit")), 2);
    resp_release(&r);
    http("GET", "/v1/audit?actor=opsA&addr=192.0.2.7", "tok-adm", NULL, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_uint_eq(json_array_size(json_object_get(r.json, "audit")), 0);
    resp_release(&r);
}
END_TEST

START_TEST(api_tokens_and_password)
{
    char body[256];
    struct resp r;
    char *tok, *api_tok;
    json_int_t id;

    setup();
    start_cheap();
    user("vera", "viewer", "headquarters", NULL);
    tok = login("vera", NULL, 0);
    http("POST", "/v1/tokens", tok, "{\"name\":\"nightly\",\"expires_days\":7}", &r);
    ck_assert_int_eq(r.status, 201);
    api_tok = strdup(jstr(r.json, "token"));
    id = json_integer_value(json_object_get(r.json, "id"));
    resp_release(&r);
    must("GET", "/v1/devices", api_tok, NULL, 200);
    http("GET", "/v1/tokens", tok, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_nonnull(strstr(r.body, "\"name\":\"nightly\""));
    ck_assert_ptr_nonnull(strstr(r.body, "\"last_used_ms\":1")); /* used above */
    ck_assert_ptr_null(strstr(r.body, api_tok));                 /* never shown again */
    resp_release(&r);
    /* Revoked: refused at once. */
    snprintf(body, sizeof(body), "/v1/tokens/%lld/revoke", (long long)id);
    must("POST", body, tok, NULL, 200);
    must("GET", "/v1/devices", api_tok, NULL, 401);
    must("POST", body, tok, NULL, 404);
    /* The password: the current one must be given; the new one works, the old not. */
    must("POST", "/v1/me/password", tok,
         "{\"current\":\"nope nope nope\",\"new\":\"0123456789ab\"}", 403);
    must("POST", "/v1/me/password", tok, "{\"current\":\"" PW "\",\"new\":\"short\"}", 400);
    must("POST", "/v1/me/password", tok, "{\"current\":\"" PW "\",\"new\":\"0123456789ab\"}", 200);
    must("POST", "/v1/login", NULL, "{\"user\":\"vera\",\"password\":\"" PW "\"}", 401);
    must("POST", "/v1/login", NULL, "{\"user\":\"vera\",\"password\":\"0123456789ab\"}", 200);
    must("GET", "/v1/me", tok, NULL, 200); /* the session that changed it stays */
    /* A tokens-file identity has neither password nor tokens of its own. */
    must("POST", "/v1/tokens", "tok-ops", "{\"name\":\"x\"}", 409);
    free(api_tok);
    free(tok);
}
END_TEST

/* An admin changes a user's role and disables it: its session and API token
 * stop answering at once, its login is refused until it is enabled again. */
START_TEST(admin_changes_role_and_disables)
{
    struct resp r;
    char *tok, *tok2, *api_tok, *adm;

    setup();
    start_cheap();
    user("ada", "admin", "headquarters", NULL);
    user("tom", "viewer", "headquarters", NULL);
    adm = login("ada", NULL, 0);
    tok = login("tom", NULL, 0);
    http("POST", "/v1/tokens", tok, "{\"name\":\"nightly\"}", &r);
    ck_assert_int_eq(r.status, 201);
    api_tok = strdup(jstr(r.json, "token"));
    resp_release(&r);
    must("POST", "/v1/devices/import", tok, "serial,model\nTZ1,PX-500\n", 403); /* a viewer */
    /* The role: checked, never one's own, never to or from merchant, not by a non-admin. */
    must("POST", "/v1/users/tom/role", adm, "{\"role\":\"king\"}", 400);
    must("POST", "/v1/users/ada/role", adm, "{\"role\":\"viewer\"}", 409);
    must("POST", "/v1/users/tom/role", adm, "{\"role\":\"merchant\"}", 400);
    must("POST", "/v1/users/nobody/role", adm, "{\"role\":\"ops\"}", 404);
    must("POST", "/v1/users/tom/role", "tok-ops", "{\"role\":\"ops\"}", 403);
    http("POST", "/v1/users/tom/role", adm, "{\"role\":\"ops\"}", &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(jstr(r.json, "role"), "ops");
    resp_release(&r);
    http("GET", "/v1/me", tok, NULL, &r); /* the open session has the new role */
    ck_assert_str_eq(jstr(r.json, "role"), "ops");
    resp_release(&r);
    /* Disabled: session, API token and login refused; the admin cannot disable itself. */
    must("POST", "/v1/users/ada/disable", adm, NULL, 409);
    http("POST", "/v1/users/tom/disable", adm, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_int_gt(json_integer_value(json_object_get(r.json, "disabled_ms")), 0);
    resp_release(&r);
    must("GET", "/v1/me", tok, NULL, 401);
    must("GET", "/v1/devices", api_tok, NULL, 401);
    http("POST", "/v1/login", NULL, "{\"user\":\"tom\",\"password\":\"" PW "\"}", &r);
    expect_error(&r, 401, "AUTH");
    ck_assert_ptr_nonnull(strstr(r.body, "disabled"));
    resp_release(&r);
    /* A wrong password says nothing of it. */
    http("POST", "/v1/login", NULL, "{\"user\":\"tom\",\"password\":\"wrong password\"}", &r);
    ck_assert_ptr_null(strstr(r.body, "disabled"));
    resp_release(&r);
    /* Enabled again: the API token answers again, a new login works. */
    must("POST", "/v1/users/tom/enable", adm, NULL, 200);
    must("GET", "/v1/devices", api_tok, NULL, 200);
    tok2 = login("tom", NULL, 0);
    must("GET", "/v1/me", tok2, NULL, 200);
    http("GET", "/v1/audit?target=tom", "tok-adm", NULL, &r);
    ck_assert_ptr_nonnull(strstr(r.body, "\"action\":\"user.role\""));
    ck_assert_ptr_nonnull(strstr(r.body, "\"action\":\"user.disable\""));
    ck_assert_ptr_nonnull(strstr(r.body, "\"action\":\"user.enable\""));
    resp_release(&r);
    free(tok);
    free(tok2);
    free(api_tok);
    free(adm);
}
END_TEST

START_TEST(throttle_locks_account_and_address)
{
    struct resp r;
    char *tok;

    setup();
    start_cheap();
    user("tom", "viewer", "headquarters", NULL);
    user("una", "viewer", "headquarters", NULL);
    for (int i = 0; i < 4; i++)
        must("POST", "/v1/login", NULL, "{\"user\":\"tom\",\"password\":\"wrong password\"}", 401);
    /* The fifth failure locks tom: even the right password is refused now. */
    must("POST", "/v1/login", NULL, "{\"user\":\"tom\",\"password\":\"wrong password\"}", 401);
    http("POST", "/v1/login", NULL, "{\"user\":\"tom\",\"password\":\"" PW "\"}", &r);
    expect_error(&r, 429, "RATE");
    resp_release(&r);
    /* Other accounts still log in from this address (5 of 20 failures so far). */
    tok = login("una", NULL, 0);
    free(tok);
    /* Unknown users count for the address: 15 more failures lock it for everyone. */
    for (int i = 0; i < 15; i++)
        must("POST", "/v1/login", NULL, "{\"user\":\"ghost\",\"password\":\"wrong password\"}",
             401);
    must("POST", "/v1/login", NULL, "{\"user\":\"una\",\"password\":\"" PW "\"}", 429);
    http("GET", "/v1/audit?action=login.locked", "tok-ops", NULL, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_int_eq(json_array_size(json_object_get(r.json, "audit")), 2); /* tom, the address */
    resp_release(&r);
    http("GET", "/v1/audit?action=login.refused", "tok-ops", NULL, &r);
    ck_assert_int_ge(json_array_size(json_object_get(r.json, "audit")), 2);
    resp_release(&r);
    http("GET", "/v1/users", "tok-adm", NULL, &r);
    ck_assert_ptr_nonnull(strstr(r.body, "\"name\":\"tom\""));
    resp_release(&r);
}
END_TEST

/* --- the route matrix --- */

enum expect {
    HQ_ONLY, /* 403 PERM: a route of headquarters */
    HIDDEN,  /* 404: agent A's thing named in the path */
    LIST,    /* 200, and nothing of agent A in the answer */
    REFUSED, /* 404 or 409: a write of OWN scope aimed at agent A's things */
    SELF,    /* acts on the caller only: 200 or a refusal, nothing of A in it */
    DENIED,  /* 403: the role stops it before the scope is looked at */
    PUBLIC,  /* no principal at all */
};

struct cell {
    const char *method, *pattern;
    enum expect expect;
    const char *path; /* concrete, aimed at agent A's things (NULL: the pattern) */
    const char *body;
};

/* The things of agent A a caller of agent B must never see in an answer. */
static const char *const a_marks[] = {"TA1",  "TA2",    "\"MA\"", "\"MA2\"",
                                      "opsA", "merchA", "agentA", NULL};

static const struct cell matrix[] = {
        {"GET", "/metrics", PUBLIC, NULL, NULL},
        {"GET", "/healthz", PUBLIC, NULL, NULL},
        {"GET", "/readyz", PUBLIC, NULL, NULL},
        {"GET", "/v1/devices", LIST, "/v1/devices?limit=1000", NULL},
        {"POST", "/v1/devices", HQ_ONLY, NULL, "{\"serial\":\"TX\",\"model\":\"PX-500\"}"},
        {"POST", "/v1/devices/import", HQ_ONLY, NULL, "serial,model\nTA1,PX-500\n"},
        {"GET", "/v1/devices/export", LIST, NULL, NULL},
        {"GET", "/v1/devices/{serial}", HIDDEN, "/v1/devices/TA1", NULL},
        {"POST", "/v1/devices/{serial}/revoke", HQ_ONLY, "/v1/devices/TA1/revoke", NULL},
        {"GET", "/v1/devices/{serial}/lifecycle", HIDDEN, "/v1/devices/TA1/lifecycle", NULL},
        {"GET", "/v1/devices/{serial}/history", HIDDEN, "/v1/devices/TA1/history", NULL},
        {"GET", "/v1/devices/{serial}/health", HIDDEN, "/v1/devices/TA1/health", NULL},
        {"POST", "/v1/devices/{serial}/lock", HIDDEN, "/v1/devices/TA1/lock", "{\"reason\":\"x\"}"},
        {"POST", "/v1/devices/{serial}/unlock", HIDDEN, "/v1/devices/TA1/unlock",
         "{\"reason\":\"x\"}"},
        {"POST", "/v1/devices/{serial}/bind", HQ_ONLY, "/v1/devices/TA1/bind",
         "{\"merchant_id\":\"MB\"}"},
        {"POST", "/v1/devices/{serial}/unbind", HQ_ONLY, "/v1/devices/TA1/unbind", NULL},
        {"POST", "/v1/devices/{serial}/retire", HQ_ONLY, "/v1/devices/TA1/retire", NULL},
        {"POST", "/v1/devices/{serial}/tags", HIDDEN, "/v1/devices/TA1/tags", "{\"tags\":[\"x\"]}"},
        {"POST", "/v1/devices/{serial}/swap", HIDDEN, "/v1/devices/TA1/swap",
         "{\"new\":\"TB1\",\"reason\":\"x\"}"},
        {"POST", "/v1/devices/{serial}/swap/undo", HQ_ONLY, "/v1/devices/TA1/swap/undo", NULL},
        {"POST", "/v1/bulk/bind", HQ_ONLY, NULL, "serial,merchant_id\nTA1,MB\n"},
        {"POST", "/v1/bulk/unbind", HQ_ONLY, NULL, "serial\nTA1\n"},
        {"POST", "/v1/bulk/tags", HQ_ONLY, NULL, "serial,tags\nTA1,x\n"},
        {"POST", "/v1/devices/{serial}/repair", HIDDEN, "/v1/devices/TA1/repair",
         "{\"reason\":\"x\"}"},
        {"POST", "/v1/devices/{serial}/diag", HIDDEN, "/v1/devices/TA1/diag",
         "{\"command\":\"ping\"}"},
        {"GET", "/v1/devices/{serial}/diag", HIDDEN, "/v1/devices/TA1/diag", NULL},
        {"POST", "/v1/devices/{serial}/update", HIDDEN, "/v1/devices/TA1/update",
         "{\"bundle\":\"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\"}"},
        {"GET", "/v1/devices/{serial}/updates", HIDDEN, "/v1/devices/TA1/updates", NULL},
        {"GET", "/v1/summary", LIST, NULL, NULL},
        {"GET", "/v1/summary/online", LIST, NULL, NULL},
        {"GET", "/v1/alerts", LIST, NULL, NULL},
        {"GET", "/v1/audit", LIST, "/v1/audit?limit=1000", NULL},
        {"GET", "/v1/merchants", LIST, "/v1/merchants?limit=1000", NULL},
        {"POST", "/v1/merchants", HQ_ONLY, NULL, "{}"},
        {"GET", "/v1/merchants/{merchant}", HIDDEN, "/v1/merchants/MA", NULL},
        {"POST", "/v1/merchants/{merchant}/update", HIDDEN, "/v1/merchants/MA/update",
         "{\"name\":\"Mine now\"}"},
        {"POST", "/v1/merchants/{merchant}/approve", HQ_ONLY, "/v1/merchants/MA/approve", NULL},
        {"POST", "/v1/merchants/{merchant}/reject", HQ_ONLY, "/v1/merchants/MA/reject", NULL},
        {"POST", "/v1/merchants/{merchant}/activate", HIDDEN, "/v1/merchants/MA/activate", NULL},
        {"POST", "/v1/merchants/{merchant}/suspend", HIDDEN, "/v1/merchants/MA/suspend", NULL},
        {"POST", "/v1/merchants/{merchant}/resume", HIDDEN, "/v1/merchants/MA/resume", NULL},
        {"POST", "/v1/merchants/{merchant}/close", HIDDEN, "/v1/merchants/MA/close", NULL},
        {"GET", "/v1/repairs", LIST, "/v1/repairs?state=all&limit=1000", NULL},
        {"GET", "/v1/repairs/{repair}", HIDDEN, "/v1/repairs/1", NULL},
        {"POST", "/v1/repairs/{repair}", HIDDEN, "/v1/repairs/1", "{\"notes\":\"x\"}"},
        {"POST", "/v1/repairs/{repair}/close", HIDDEN, "/v1/repairs/1/close", NULL},
        {"GET", "/v1/diag/{diag}", HIDDEN, "/v1/diag/d1", NULL},
        {"GET", "/v1/diag/{diag}/archive", HIDDEN, "/v1/diag/d1/archive", NULL},
        {"POST", "/v1/bundles", HQ_ONLY, NULL, "x"},
        {"GET", "/v1/bundles", HQ_ONLY, NULL, NULL},
        {"GET", "/v1/bundles/{bundle}", HQ_ONLY,
         "/v1/bundles/0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", NULL},
        {"GET", "/v1/hooks", HQ_ONLY, NULL, NULL},
        {"GET", "/v1/hooks/log", HQ_ONLY, NULL, NULL},
        {"POST", "/v1/rollouts", SELF, NULL, "{}"},
        {"GET", "/v1/rollouts", LIST, NULL, NULL},
        {"GET", "/v1/rollouts/{rollout}", HIDDEN, "/v1/rollouts/1", NULL},
        {"GET", "/v1/rollouts/{rollout}/members", HIDDEN, "/v1/rollouts/1/members", NULL},
        {"POST", "/v1/rollouts/{rollout}/pause", HIDDEN, "/v1/rollouts/1/pause", NULL},
        {"POST", "/v1/rollouts/{rollout}/resume", HIDDEN, "/v1/rollouts/1/resume", NULL},
        {"POST", "/v1/rollouts/{rollout}/continue", HIDDEN, "/v1/rollouts/1/continue", NULL},
        {"POST", "/v1/rollouts/{rollout}/abort", HIDDEN, "/v1/rollouts/1/abort", NULL},
        {"POST", "/v1/rollouts/{rollout}/rollback", HIDDEN, "/v1/rollouts/1/rollback", NULL},
        {"POST", "/v1/rollouts/{rollout}/members/{serial}", HIDDEN, "/v1/rollouts/1/members/TA1",
         "{\"action\":\"skip\"}"},
        {"GET", "/v1/rollouts/{rollout}/preview", HIDDEN, "/v1/rollouts/1/preview", NULL},
        {"GET", "/v1/events", HIDDEN, "/v1/events?rollout=1", NULL},
        {"POST", "/v1/rollouts/{rollout}/approve", DENIED, "/v1/rollouts/1/approve", NULL},
        {"POST", "/v1/admin/backup", HQ_ONLY, NULL, NULL},
        {"POST", "/v1/login", PUBLIC, NULL, "{\"user\":\"opsA\",\"password\":\"guess guess\"}"},
        {"POST", "/v1/logout", SELF, NULL, NULL},
        {"GET", "/v1/me", SELF, NULL, NULL},
        {"POST", "/v1/me/password", SELF, NULL, "{\"current\":\"guess guess\",\"new\":\"x\"}"},
        {"GET", "/v1/tokens", LIST, NULL, NULL},
        {"POST", "/v1/tokens", SELF, NULL, "{\"name\":\"b-ci\"}"},
        {"POST", "/v1/tokens/{token}/revoke", REFUSED, "/v1/tokens/1/revoke", NULL},
        {"GET", "/v1/users", LIST, NULL, NULL},
        {"POST", "/v1/users", REFUSED, NULL,
         "{\"name\":\"mole\",\"role\":\"ops\",\"org\":\"agentA\",\"password\":\"0123456789ab\"}"},
        {"GET", "/v1/users/{user}", HIDDEN, "/v1/users/opsA", NULL},
        {"POST", "/v1/users/{user}", HIDDEN, "/v1/users/opsA", "{\"password\":\"0123456789ab\"}"},
        {"POST", "/v1/users/{user}/role", HIDDEN, "/v1/users/opsA/role", "{\"role\":\"viewer\"}"},
        {"POST", "/v1/users/{user}/disable", HIDDEN, "/v1/users/opsA/disable", NULL},
        {"POST", "/v1/users/{user}/enable", HIDDEN, "/v1/users/opsA/enable", NULL},
        {"GET", "/v1/orgs", LIST, NULL, NULL},
        {"GET", "/v1/orgs/{org}", HIDDEN, "/v1/orgs/2", NULL}, /* agentA */
        {"POST", "/v1/orgs", REFUSED, NULL, "{\"name\":\"subA\",\"parent\":\"agentA\"}"},
        {"POST", "/v1/merchants/{merchant}/org", HIDDEN, "/v1/merchants/MA/org",
         "{\"org\":\"agentB\"}"},
        {"GET", "/v1/support-requests", LIST, NULL, NULL},
        {"POST", "/v1/support-requests", REFUSED, NULL,
         "{\"merchant\":\"MA\",\"subject\":\"x\",\"body\":\"y\"}"},
};

static const struct cell *matrix_cell(const struct pfs_api_route *r)
{
    for (size_t i = 0; i < sizeof(matrix) / sizeof(matrix[0]); i++) {
        if (strcmp(matrix[i].method, r->method) == 0 && strcmp(matrix[i].pattern, r->pattern) == 0)
            return &matrix[i];
    }
    return NULL;
}

/* Every route has its entry, and the matrix names no route that is gone. */
START_TEST(matrix_covers_every_route)
{
    size_t found = 0;

    for (size_t i = 0; i < pfs_api_nroutes; i++) {
        const struct pfs_api_route *r = &pfs_api_routes[i];
        const struct cell *c = matrix_cell(r);

        ck_assert_msg(c, "%s %s: no entry in the scope matrix (test_accounts_scope.c)", r->method,
                      r->pattern);
        found++;
        /* The route table and the matrix agree on what a route of headquarters is. */
        if (r->role != PFS_API_PUBLIC)
            ck_assert_msg((r->scope == PFS_API_SCOPE_HQ) == (c->expect == HQ_ONLY),
                          "%s %s: scope %d, matrix %d", r->method, r->pattern, r->scope, c->expect);
    }
    ck_assert_uint_eq(found, sizeof(matrix) / sizeof(matrix[0]));
}
END_TEST

static void no_marks(const char *what, const char *body)
{
    for (int k = 0; a_marks[k]; k++)
        ck_assert_msg(!strstr(body, a_marks[k]), "%s: answer shows %s: %.400s", what, a_marks[k],
                      body);
}

/* An admin of agent B on every route, aimed at agent A's things. */
START_TEST(agent_b_reaches_nothing_of_agent_a)
{
    struct resp before1, before2, after1, after2;

    http("GET", "/v1/devices/TA1/lifecycle", "tok-ops", NULL, &before1);
    http("GET", "/v1/merchants/MA", "tok-ops", NULL, &before2);
    for (size_t i = 0; i < pfs_api_nroutes; i++) {
        const struct pfs_api_route *r = &pfs_api_routes[i];
        const struct cell *c = matrix_cell(r);
        const char *path = c->path ? c->path : c->pattern;
        char what[256];
        struct resp x;

        snprintf(what, sizeof(what), "%s %s", c->method, path);
        if (strcmp(path, "/v1/logout") == 0)
            continue; /* run last: it ends admB's session */
        http(c->method, path, c->expect == PUBLIC ? NULL : tok_admB, c->body, &x);
        switch (c->expect) {
        case HQ_ONLY:
            ck_assert_msg(x.status == 403, "%s: %d %s", what, x.status, x.body);
            ck_assert_msg(strstr(x.body, "only headquarters"), "%s: %s", what, x.body);
            break;
        case HIDDEN:
            ck_assert_msg(x.status == 404, "%s: %d %s", what, x.status, x.body);
            break;
        case DENIED:
            ck_assert_msg(x.status == 403, "%s: %d %s", what, x.status, x.body);
            break;
        case REFUSED:
            ck_assert_msg(x.status == 404 || x.status == 409, "%s: %d %s", what, x.status, x.body);
            break;
        case LIST:
        case SELF:
            ck_assert_msg(x.status < 500, "%s: %d %s", what, x.status, x.body);
            if (x.status == 200 && strcmp(path, "/v1/audit?limit=1000") != 0)
                no_marks(what, x.body);
            break;
        case PUBLIC:
            break;
        }
        resp_release(&x);
    }
    /* The audit may name agent A's people only in rows about agent B's things:
     * there are none, so it names nothing of A at all. */
    http("GET", "/v1/audit?limit=1000", tok_admB, NULL, &after1);
    ck_assert_int_eq(after1.status, 200);
    no_marks("GET /v1/audit", after1.body);
    resp_release(&after1);
    /* Filters and guessed ids: still nothing. */
    http("GET", "/v1/audit?serial=TA1", tok_admB, NULL, &after1);
    ck_assert_int_eq(json_array_size(json_object_get(after1.json, "audit")), 0);
    resp_release(&after1);
    http("GET", "/v1/audit?merchant=MA", tok_admB, NULL, &after1);
    ck_assert_int_eq(json_array_size(json_object_get(after1.json, "audit")), 0);
    resp_release(&after1);
    http("GET", "/v1/repairs?serial=TA1&state=all", tok_admB, NULL, &after1);
    ck_assert_int_eq(json_array_size(json_object_get(after1.json, "repairs")), 0);
    resp_release(&after1);
    http("GET", "/v1/devices?model=PX-500", tok_admB, NULL, &after1);
    no_marks("GET /v1/devices?model", after1.body);
    ck_assert_ptr_nonnull(strstr(after1.body, "TB1"));
    resp_release(&after1);
    must("POST", "/v1/logout", tok_admB, NULL, 200);
    /* Nothing of agent A changed. */
    http("GET", "/v1/devices/TA1/lifecycle", "tok-ops", NULL, &after1);
    http("GET", "/v1/merchants/MA", "tok-ops", NULL, &after2);
    ck_assert_str_eq(before1.body, after1.body);
    ck_assert_str_eq(before2.body, after2.body);
    resp_release(&before1);
    resp_release(&before2);
    resp_release(&after1);
    resp_release(&after2);
}
END_TEST

/* Agent A's own ops reaches its own things through the same routes. */
START_TEST(agent_a_reaches_its_own)
{
    struct resp r;

    http("GET", "/v1/devices", tok_opsA, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_nonnull(strstr(r.body, "TA1"));
    ck_assert_ptr_nonnull(strstr(r.body, "TS2"));
    ck_assert_ptr_null(strstr(r.body, "TB1"));
    ck_assert_ptr_null(strstr(r.body, "\"TS\""));
    ck_assert_ptr_null(strstr(r.body, "TA2")); /* in repair, back in headquarters' stock */
    resp_release(&r);
    http("GET", "/v1/summary", tok_opsA, NULL, &r);
    ck_assert_int_eq(json_integer_value(json_object_get(r.json, "total")), 2);
    resp_release(&r);
    must("GET", "/v1/devices/TA1", tok_opsA, NULL, 200);
    must("POST", "/v1/devices/TA1/tags", tok_opsA, "{\"tags\":[\"front\"]}", 200);
    must("GET", "/v1/repairs/1", tok_opsA, NULL, 200);
    /* The ids the matrix aims agent B at are real: A reaches them. */
    must("GET", "/v1/diag/d1", tok_opsA, NULL, 200);
    must("GET", "/v1/rollouts/1", tok_opsA, NULL, 200);
    must("GET", "/v1/rollouts/1/members", tok_opsA, NULL, 200);
    must("GET", "/v1/users/opsA", "tok-adm", NULL, 200);
    must("GET", "/v1/orgs/2", "tok-adm", NULL, 200);
    must("POST", "/v1/merchants/MA/update", tok_opsA, "{\"name\":\"Shop A renamed\"}", 200);
    /* Swapping for a terminal outside agent A (stock or agent B's) is refused. */
    must("POST", "/v1/devices/TA1/swap", tok_opsA, "{\"new\":\"TS\",\"reason\":\"x\"}", 404);
    must("POST", "/v1/devices/TA1/swap", tok_opsA, "{\"new\":\"TB1\",\"reason\":\"x\"}", 404);
    /* Its own changes are in its audit view, with who and from where. */
    http("GET", "/v1/audit?action=merchant.update", tok_opsA, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_nonnull(strstr(r.body, "\"actor\":\"opsA\""));
    ck_assert_ptr_nonnull(strstr(r.body, "\"org\":\"agentA\""));
    ck_assert_ptr_nonnull(strstr(r.body, "Shop A renamed"));
    resp_release(&r);
}
END_TEST

/* A merchant user sees its merchant's terminals only, and opens support requests. */
START_TEST(merchant_sees_its_own)
{
    struct resp r;

    http("GET", "/v1/devices", tok_merchA, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_nonnull(strstr(r.body, "TA1"));
    ck_assert_ptr_null(strstr(r.body, "TS2")); /* MA2's */
    ck_assert_ptr_null(strstr(r.body, "TB1"));
    resp_release(&r);
    http("GET", "/v1/summary", tok_merchA, NULL, &r);
    ck_assert_int_eq(json_integer_value(json_object_get(r.json, "total")), 1);
    resp_release(&r);
    http("GET", "/v1/merchants", tok_merchA, NULL, &r);
    ck_assert_int_eq(json_array_size(json_object_get(r.json, "merchants")), 1);
    resp_release(&r);
    /* Its fee plan and settlement. */
    http("GET", "/v1/merchants/MA", tok_merchA, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(jstr(r.json, "settlement"), "T0");
    ck_assert_ptr_nonnull(json_object_get(r.json, "fee_plan"));
    resp_release(&r);
    must("GET", "/v1/devices/TA1/history", tok_merchA, NULL, 200);
    must("GET", "/v1/devices/TS2", tok_merchA, NULL, 404);
    must("GET", "/v1/merchants/MA2", tok_merchA, NULL, 404);
    /* It reads; it changes nothing of the fleet. */
    must("POST", "/v1/devices/TA1/tags", tok_merchA, "{\"tags\":[]}", 403);
    must("POST", "/v1/merchants/MA/update", tok_merchA, "{\"name\":\"x\"}", 403);
    must("GET", "/v1/audit", tok_merchA, NULL, 403);
    /* A support request is always its own merchant's, whatever the body says. */
    http("POST", "/v1/support-requests", tok_merchA,
         "{\"merchant\":\"MB\",\"serial\":\"TA1\",\"subject\":\"Printer\",\"body\":\"No paper"
         " feed\"}",
         &r);
    ck_assert_int_eq(r.status, 201);
    ck_assert_str_eq(jstr(r.json, "merchant"), "MA");
    resp_release(&r);
    must("POST", "/v1/support-requests", tok_merchA,
         "{\"serial\":\"TS2\",\"subject\":\"x\",\"body\":\"y\"}", 404);
    http("GET", "/v1/support-requests", tok_opsA, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_nonnull(strstr(r.body, "Printer"));
    resp_release(&r);
    http("GET", "/v1/support-requests", tok_admB, NULL, &r);
    ck_assert_ptr_null(strstr(r.body, "Printer"));
    resp_release(&r);
}
END_TEST

/* The list routes' search filters read inside the caller's scope: naming
 * another organisation's merchant, terminal, organisation or people finds
 * nothing, the same filter on one's own finds it. */
static size_t count_of(const char *path, const char *token, const char *key)
{
    struct resp r;
    size_t n;

    http("GET", path, token, NULL, &r);
    ck_assert_msg(r.status == 200, "GET %s: %d %s", path, r.status, r.body);
    n = json_array_size(json_object_get(r.json, key));
    resp_release(&r);
    return n;
}

START_TEST(search_filters_stay_in_scope)
{
    struct resp r;

    /* Agent A's ops aiming its filters at agent B. */
    ck_assert_uint_eq(count_of("/v1/devices?merchant=MB", tok_opsA, "devices"), 0);
    ck_assert_uint_eq(count_of("/v1/devices?merchant_name=MB", tok_opsA, "devices"), 0);
    ck_assert_uint_eq(count_of("/v1/merchants?name=MB", tok_opsA, "merchants"), 0);
    ck_assert_uint_eq(count_of("/v1/alerts?merchant=MB", tok_opsA, "alerts"), 0);
    ck_assert_uint_eq(count_of("/v1/alerts?serial=TB1", tok_opsA, "alerts"), 0);
    ck_assert_uint_eq(count_of("/v1/audit?merchant=MB", tok_opsA, "audit"), 0);
    ck_assert_uint_eq(count_of("/v1/audit?serial=TB1", tok_opsA, "audit"), 0);
    ck_assert_uint_eq(count_of("/v1/audit?org=agentB", tok_opsA, "audit"), 0);
    ck_assert_uint_eq(count_of("/v1/audit?actor=admB", tok_opsA, "audit"), 0);
    /* Agent B's admin aiming them at agent A. */
    ck_assert_uint_eq(count_of("/v1/devices?merchant=MA", tok_admB, "devices"), 0);
    ck_assert_uint_eq(count_of("/v1/merchants?name=MA", tok_admB, "merchants"), 0);
    ck_assert_uint_eq(count_of("/v1/audit?org=agentA", tok_admB, "audit"), 0);
    ck_assert_uint_eq(count_of("/v1/audit?actor=opsA", tok_admB, "audit"), 0);
    ck_assert_uint_eq(count_of("/v1/audit?target=MA", tok_admB, "audit"), 0);
    /* The same filters on one's own find it. */
    ck_assert_uint_eq(count_of("/v1/devices?merchant=MA", tok_opsA, "devices"), 1);
    ck_assert_uint_eq(count_of("/v1/devices?merchant=MB", tok_admB, "devices"), 1);
    ck_assert_uint_eq(count_of("/v1/merchants?name=MA", tok_opsA, "merchants"), 2);
    ck_assert_uint_ge(count_of("/v1/audit?org=agentA", tok_opsA, "audit"), 1);
    ck_assert_uint_ge(count_of("/v1/audit?merchant=MA", tok_opsA, "audit"), 1);
    /* Headquarters sees both sides through the same filters. */
    ck_assert_uint_eq(count_of("/v1/merchants?name=M", "tok-ops", "merchants"), 4);
    ck_assert_uint_ge(count_of("/v1/audit?org=agentB", "tok-ops", "audit"), 1);
    /* A merchant user: its merchant only, even inside its own agent. */
    ck_assert_uint_eq(count_of("/v1/devices?merchant=MA2", tok_merchA, "devices"), 0);
    ck_assert_uint_eq(count_of("/v1/merchants?name=MA", tok_merchA, "merchants"), 1);
    ck_assert_uint_eq(count_of("/v1/alerts?merchant=MA2", tok_merchA, "alerts"), 0);
    /* Unknown parameters are still refused, naming them. */
    http("GET", "/v1/audit?colour=red", tok_opsA, NULL, &r);
    ck_assert_int_eq(r.status, 400);
    ck_assert_ptr_nonnull(strstr(r.body, "colour"));
    ck_assert_ptr_nonnull(strstr(r.body, "org"));
    resp_release(&r);
}
END_TEST

/* An admin reads and changes its users: role and disabled (their own
 * routes), a password; never outside its organisation, never itself out of
 * power; every change audited. */
START_TEST(admin_changes_users)
{
    char *tok, *admA;
    struct resp r;

    user("admA", "admin", "agentA", NULL);
    admA = login("admA", NULL, 0);
    /* One user and one organisation by name and by id, inside the scope only. */
    http("GET", "/v1/users/opsA", admA, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(jstr(r.json, "role"), "ops");
    ck_assert_str_eq(jstr(r.json, "org"), "agentA");
    ck_assert(json_is_false(json_object_get(r.json, "disabled")));
    ck_assert_ptr_null(strstr(r.body, "argon2"));
    resp_release(&r);
    must("GET", "/v1/users/admB", admA, NULL, 404);
    must("GET", "/v1/users/nobody", admA, NULL, 404);
    http("GET", "/v1/orgs/2", admA, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(jstr(r.json, "name"), "agentA");
    ck_assert_ptr_nonnull(strstr(r.body, "\"opsA\""));
    ck_assert_ptr_null(strstr(r.body, "admB"));
    resp_release(&r);
    must("GET", "/v1/orgs/3", admA, NULL, 404);
    must("GET", "/v1/orgs/1", admA, NULL, 404);
    must("GET", "/v1/orgs/3", "tok-adm", NULL, 200);
    /* Disabled: the session and the API token stop at once, logins are refused. */
    http("POST", "/v1/tokens", tok_opsA, "{\"name\":\"ci2\"}", &r);
    ck_assert_int_eq(r.status, 201);
    tok = strdup(jstr(r.json, "token"));
    resp_release(&r);
    must("GET", "/v1/me", tok, NULL, 200);
    http("POST", "/v1/users/opsA/disable", admA, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert(json_is_true(json_object_get(r.json, "disabled")));
    resp_release(&r);
    must("GET", "/v1/me", tok_opsA, NULL, 401);
    must("GET", "/v1/me", tok, NULL, 401);
    must("POST", "/v1/login", NULL, "{\"user\":\"opsA\",\"password\":\"" PW "\"}", 401);
    must("POST", "/v1/users/opsA/enable", admA, NULL, 200);
    must("GET", "/v1/me", tok, NULL, 200); /* the token was never revoked */
    free(tok);
    free(tok_opsA);
    tok_opsA = login("opsA", NULL, 0);
    /* A role; a merchant user stays one and no other becomes one. */
    must("POST", "/v1/users/opsA/role", admA, "{\"role\":\"approver\"}", 200);
    http("GET", "/v1/me", tok_opsA, NULL, &r);
    ck_assert_str_eq(jstr(r.json, "role"), "approver");
    resp_release(&r);
    must("POST", "/v1/users/opsA/role", admA, "{\"role\":\"merchant\"}", 400);
    must("POST", "/v1/users/opsA/role", admA, "{\"role\":\"ops\"}", 200);
    /* A new password: the old one and every session end. */
    must("POST", "/v1/users/opsA", admA, "{\"password\":\"short\"}", 400);
    must("POST", "/v1/users/admB", admA, "{\"password\":\"a brand new one\"}", 404);
    http("POST", "/v1/users/opsA", admA, "{\"password\":\"a brand new one\"}", &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(jstr(r.json, "name"), "opsA");
    ck_assert_ptr_null(strstr(r.body, "argon2"));
    resp_release(&r);
    must("GET", "/v1/me", tok_opsA, NULL, 401);
    must("POST", "/v1/login", NULL, "{\"user\":\"opsA\",\"password\":\"" PW "\"}", 401);
    must("POST", "/v1/login", NULL, "{\"user\":\"opsA\",\"password\":\"a brand new one\"}", 200);
    /* Bad bodies (a role or disabling has its own route), and no admin locks
     * itself out. */
    http("POST", "/v1/users/opsA", admA, "{\"colour\":\"red\"}", &r);
    expect_error(&r, 400, "SCHEMA");
    ck_assert_ptr_nonnull(strstr(r.body, "colour"));
    resp_release(&r);
    must("POST", "/v1/users/opsA", admA, "{}", 400);
    must("POST", "/v1/users/opsA", admA, "{\"role\":\"ops\"}", 400);
    must("POST", "/v1/users/opsA", admA, "{\"disabled\":true}", 400);
    must("POST", "/v1/users/admA/disable", admA, NULL, 409);
    must("POST", "/v1/users/admA/role", admA, "{\"role\":\"ops\"}", 409);
    must("POST", "/v1/users/admB/disable", admA, NULL, 404);
    must("POST", "/v1/users/opsA/disable", tok_opsA, NULL, 401);
    /* Each change in the audit with who and from where; never a hash. */
    http("GET", "/v1/audit?target=opsA&limit=100", admA, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_nonnull(strstr(r.body, "\"action\":\"user.disable\""));
    ck_assert_ptr_nonnull(strstr(r.body, "\"action\":\"user.enable\""));
    ck_assert_ptr_nonnull(strstr(r.body, "\"action\":\"user.role\""));
    ck_assert_ptr_nonnull(strstr(r.body, "\"action\":\"user.password\""));
    ck_assert_ptr_nonnull(strstr(r.body, "\"actor\":\"admA\""));
    ck_assert_ptr_nonnull(strstr(r.body, "\"addr\":\"127.0.0.1\""));
    ck_assert_ptr_null(strstr(r.body, "argon2"));
    resp_release(&r);
    free(admA);
}
END_TEST

/* --- the dashboard's counts: fee tables and the online line, per scope --- */

/* A birth of serial with fee table fee: online from recv_ms. */
static void born(struct pfs_store *st, const char *serial, const char *fee, int64_t recv_ms)
{
    struct pf_birth b = {.ts_ms = recv_ms, .fw_slot = PF_SLOT_A};

    snprintf(b.model, sizeof(b.model), "PX-500");
    snprintf(b.hw_rev, sizeof(b.hw_rev), "r1");
    snprintf(b.fw_version, sizeof(b.fw_version), "1.0.0");
    snprintf(b.fee_version, sizeof(b.fee_version), "%s", fee);
    snprintf(b.agent_version, sizeof(b.agent_version), "1.0.0");
    ck_assert_int_eq(pfs_store_birth_put(st, serial, &b, recv_ms), 0);
}

/* fee_tables of GET /v1/summary as "version=n,..." (active ones). */
static void fees_of(const char *token, char *out, size_t size)
{
    struct resp r;
    json_t *fees, *e;
    size_t i, len = 0;

    http("GET", "/v1/summary", token, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    fees = json_object_get(r.json, "fee_tables");
    ck_assert_ptr_nonnull(fees);
    out[0] = '\0';
    json_array_foreach(fees, i, e)
    {
        len += (size_t)snprintf(out + len, size - len, "%s%s=%lld", i ? "," : "",
                                jstr(e, "version"),
                                (long long)json_integer_value(json_object_get(e, "terminals")));
    }
    resp_release(&r);
}

/* The online counts of GET /v1/summary/online as "n,n,...", oldest first. */
static void online_of(const char *token, char *out, size_t size)
{
    struct resp r;
    json_t *samples, *e;
    size_t i, len = 0;

    http("GET", "/v1/summary/online", token, NULL, &r);
    ck_assert_msg(r.status == 200, "%d %s", r.status, r.body);
    ck_assert_int_eq(json_integer_value(json_object_get(r.json, "interval_s")), 300);
    samples = json_object_get(r.json, "samples");
    out[0] = '\0';
    json_array_foreach(samples, i, e)
    {
        len += (size_t)snprintf(out + len, size - len, "%s%lld", i ? "," : "",
                                (long long)json_integer_value(json_array_get(e, 1)));
    }
    resp_release(&r);
}

#define DAY_MS (24 * 3600 * 1000LL)

static int count_sample(void *ctx, int64_t ts_ms, int64_t online)
{
    (void)ts_ms;
    (void)online;
    ++*(int *)ctx;
    return 0;
}

START_TEST(dashboard_counts_in_scope)
{
    struct pfs_store_opts so = {.path = cfg.store_path};
    struct pfs_store *st = NULL;
    struct pf_error err = {0};
    struct pf_state off = {.state = PF_STATE_OFFLINE};
    int64_t now = pf_clock_wall_ms(&pf_clock_system);
    char got[256];
    int n_samples;

    /* Terminals report (as ingest would store it) while posfleetd is down. */
    server_stop();
    ck_assert_msg(pfs_store_open(&so, &st, &err) == 0, "%s", err.msg);
    born(st, "TA1", "fee-A", now - 120000);
    born(st, "TB1", "fee-B", now - 120000);
    born(st, "TH1", "fee-H", now - 120000);
    born(st, "TS", "fee-H", now - 120000);
    ck_assert_int_eq(pfs_store_flush(st, now, NULL), 0);
    ck_assert_msg(pfs_store_online_sample(st, now - DAY_MS - 7200000, 0, &err) == 0, "%s", err.msg);
    ck_assert_msg(pfs_store_online_sample(st, now - 60000, now - DAY_MS - 3600000, &err) == 0, "%s",
                  err.msg);
    off.ts_ms = now - 30000;
    ck_assert_int_eq(pfs_store_state_put(st, "TB1", &off, now - 30000), 0);
    ck_assert_int_eq(pfs_store_flush(st, now, NULL), 0);
    ck_assert_msg(pfs_store_online_sample(st, now - 30000, now - DAY_MS - 3600000, &err) == 0, "%s",
                  err.msg);
    /* The same instant twice is refused; the sample older than the kept day and
     * an hour was deleted by the next one. */
    ck_assert_int_eq(pfs_store_online_sample(st, now - 30000, now - DAY_MS - 3600000, &err),
                     PF_EEXIST);
    n_samples = 0;
    ck_assert_int_eq(pfs_store_online_series(st, NULL, 0, count_sample, &n_samples), 0);
    ck_assert_int_eq(n_samples, 2);
    pfs_store_close(st);
    start_cheap();

    /* Fee tables over every terminal inside the caller's scope. */
    fees_of("tok-ops", got, sizeof(got));
    ck_assert_str_eq(got, "fee-A=1,fee-B=1,fee-H=2");
    fees_of(tok_opsA, got, sizeof(got));
    ck_assert_str_eq(got, "fee-A=1");
    fees_of(tok_admB, got, sizeof(got));
    ck_assert_str_eq(got, "fee-B=1");
    fees_of(tok_merchA, got, sizeof(got));
    ck_assert_str_eq(got, "fee-A=1");
    /* The online line: headquarters all four then three; A its one; B one then
     * none; the merchant user its merchant's terminal. */
    online_of("tok-ops", got, sizeof(got));
    ck_assert_str_eq(got, "4,3");
    online_of(tok_opsA, got, sizeof(got));
    ck_assert_str_eq(got, "1,1");
    online_of(tok_admB, got, sizeof(got));
    ck_assert_str_eq(got, "1,0");
    online_of(tok_merchA, got, sizeof(got));
    ck_assert_str_eq(got, "1,1");
    must("GET", "/v1/summary/online?hours=0", "tok-ops", NULL, 400);
    must("GET", "/v1/summary/online?hours=25", "tok-ops", NULL, 400);
    must("GET", "/v1/summary/online?hours=1", "tok-ops", NULL, 200);
}
END_TEST

/* --- the role x organisation matrix (docs/security.md), one test per cell --- */

struct role_cell {
    const char *role, *org, *merchant;
    /* status of: read own terminal, read other agent's terminal, tag own terminal,
     * list users, approve a rollout (HQ only) */
    int read_own, read_other, tag_own, users, approve;
};

static const struct role_cell role_cells[] = {
        {"admin", "headquarters", NULL, 200, 200, 200, 200, 403},
        {"admin", "agentA", NULL, 200, 404, 200, 200, 403},
        {"ops", "headquarters", NULL, 200, 200, 200, 403, 403},
        {"ops", "agentA", NULL, 200, 404, 200, 403, 403},
        {"approver", "headquarters", NULL, 200, 200, 403, 403, 400},
        {"approver", "agentA", NULL, 200, 404, 403, 403, 400},
        {"support", "headquarters", NULL, 200, 200, 403, 403, 403},
        {"support", "agentA", NULL, 200, 404, 403, 403, 403},
        {"viewer", "headquarters", NULL, 200, 200, 403, 403, 403},
        {"viewer", "agentA", NULL, 200, 404, 403, 403, 403},
        {"merchant", "headquarters", "MH", 200, 404, 403, 403, 403},
        {"merchant", "agentA", "MA", 200, 404, 403, 403, 403},
};

START_TEST(role_by_org)
{
    const struct role_cell *c = &role_cells[_i];
    const char *own = c->merchant && strcmp(c->merchant, "MH") == 0 ? "TH1"
                      : strcmp(c->org, "headquarters") == 0         ? "TH1"
                                                                    : "TA1";
    char name[32], path[64];
    char *tok;

    snprintf(name, sizeof(name), "u-%s-%s", c->role, c->org);
    user(name, c->role, c->org, c->merchant);
    tok = login(name, NULL, 0);
    snprintf(path, sizeof(path), "/v1/devices/%s", own);
    ck_assert_int_eq(status_of("GET", path, tok, NULL), c->read_own);
    ck_assert_int_eq(status_of("GET", "/v1/devices/TB1", tok, NULL), c->read_other);
    snprintf(path, sizeof(path), "/v1/devices/%s/tags", own);
    ck_assert_int_eq(status_of("POST", path, tok, "{\"tags\":[\"t\"]}"), c->tag_own);
    ck_assert_int_eq(status_of("GET", "/v1/users", tok, NULL), c->users);
    /* Rollout 1 is agent A's and no body is sent: an approver of headquarters or of
     * agent A gets as far as the body check (400), every other role is stopped by its
     * role (403). */
    ck_assert_int_eq(status_of("POST", "/v1/rollouts/1/approve", tok, NULL), c->approve);
    free(tok);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("accounts_scope");
    TCase *tc = tcase_create("sessions");
    TCase *tw = tcase_create("scope");

    tcase_set_timeout(tc, 120);
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_add_test(tc, login_session_cookie_csrf);
    tcase_add_test(tc, api_tokens_and_password);
    tcase_add_test(tc, throttle_locks_account_and_address);
    tcase_add_test(tc, admin_changes_role_and_disables);
    suite_add_tcase(s, tc);
    tcase_set_timeout(tw, 120);
    tcase_add_checked_fixture(tw, setup_world, teardown_world);
    tcase_add_test(tw, matrix_covers_every_route);
    tcase_add_test(tw, agent_b_reaches_nothing_of_agent_a);
    tcase_add_test(tw, agent_a_reaches_its_own);
    tcase_add_test(tw, merchant_sees_its_own);
    tcase_add_test(tw, search_filters_stay_in_scope);
    tcase_add_test(tw, admin_changes_users);
    tcase_add_test(tw, dashboard_counts_in_scope);
    tcase_add_loop_test(tw, role_by_org, 0, (int)(sizeof(role_cells) / sizeof(role_cells[0])));
    suite_add_tcase(s, tw);
    return s;
}

int main(void)
{
    return pf_test_run(suite());
}
