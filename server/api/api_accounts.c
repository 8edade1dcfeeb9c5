/*
 * api_accounts.c - people in the HTTP API: login (the password checked off
 * the loop), logout, me, password change, API tokens, users,
 * organisations, a merchant's organisation and support requests (the audit
 * search is api_search.c's). docs/server.md is the reference; accounts/accounts.h says how
 * secrets and the throttle work.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "accounts/accounts.h"
#include "api/api_handlers.h"
#include "base/log.h"
#include "pf/jsonv.h"
#include "pf/num.h"
#include "store/store_accounts.h"

#define ACC_BODY_MAX       8192
#define ACC_TOKEN_DAYS_MAX 366

static int64_t acc__now(const struct pfs_api *api)
{
    return pf_clock_wall_ms(api->clock);
}

/* The body as an object; answers and returns NULL on error. */
static json_t *acc__body(const struct pfs_http_req *req, struct pfs_http_resp *resp)
{
    struct pf_error err = {0};
    json_t *body = NULL;
    int rc;

    if (req->body_len == 0)
        return json_object();
    rc = pf_json_parse_object(req->body, req->body_len, ACC_BODY_MAX, &body, &err);
    if (rc) {
        pfs_api_error(resp, rc == PF_ETOOBIG ? rc : PF_EPARSE, "%s", err.msg);
        return NULL;
    }
    return body;
}

/* A string member of 1..max bytes, or NULL (answered 400). */
static const char *acc__str(json_t *o, const char *key, size_t max, bool required,
                            struct pfs_http_resp *resp)
{
    json_t *v = json_object_get(o, key);

    if (!v || json_is_null(v)) {
        if (required)
            pfs_api_error(resp, PF_ESCHEMA, "%s: required", key);
        return NULL;
    }
    if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) > max ||
        strlen(json_string_value(v)) != json_string_length(v)) {
        pfs_api_error(resp, PF_ESCHEMA, "%s: a string of 1 to %zu bytes", key, max);
        return NULL;
    }
    return json_string_value(v);
}

/* A name people type for users, tokens and organisations: A-Z a-z 0-9 . _ - @ */
static bool acc__name_ok(const char *s)
{
    if (!s || !*s || strlen(s) > PFS_USER_NAME_MAX)
        return false;
    for (; *s; s++) {
        char c = *s;

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-' || c == '@'))
            return false;
    }
    return true;
}

static void acc__iso(int64_t ms, char out[32])
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;

    if (!gmtime_r(&t, &tm) || strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(out, 32, "%lld", (long long)ms);
}

static void acc__rate(struct pfs_http_resp *resp, const char *message)
{
    pfs_api_json(resp, 429,
                 json_pack("{s:s, s:s}", "error", pf_errname(PF_ERATE), "message", message));
}

static json_t *acc__who(const struct pfs_principal *p)
{
    return json_pack("{s:s, s:s, s:s, s:s?, s:s}", "name", p->name, "role", pfs_role_names[p->role],
                     "org", p->org, "merchant", p->scope.merchant[0] ? p->scope.merchant : NULL,
                     "via", pfs_auth_via_names[p->via]);
}

/* --- login --- */

struct acc__login {
    struct pfs_api *api;
    struct pfs_http_later *later;
    bool known;
    struct pfs_user_rec u;
    char name[PFS_USER_NAME_MAX + 1];
    char addr[64];
};

static void acc__login_audit(struct pfs_api *api, const struct acc__login *l,
                             enum pfs_login_outcome outcome, int64_t locked_until)
{
    struct pfs_actor actor = {.name = l->name,
                              .role = l->known ? l->u.role : "-",
                              .org = l->known ? l->u.org : NULL,
                              .org_path = l->known ? l->u.org_path : NULL,
                              .addr = l->addr[0] ? l->addr : NULL};
    struct pf_error err = {0};

    if (pfs_store_user_login_result(api->store, l->name, outcome, locked_until, &actor,
                                    acc__now(api), &err) != 0)
        pfs_log_error(api->log, "login: audit of %s: %s", l->name, err.msg);
}

/* A session for l's user: answered 200 with its token, csrf and cookie. */
static void acc__login_session(struct pfs_api *api, struct acc__login *l,
                               struct pfs_http_resp *resp)
{
    char token[PFS_SECRET_TEXT_LEN + 1], csrf[PFS_SECRET_TEXT_LEN + 1], when[32];
    uint8_t h[PFS_SECRET_HASH], hc[PFS_SECRET_HASH];
    struct pf_error err = {0};
    int64_t now = acc__now(api), exp = now + api->accounts->session_ttl_ms;
    struct pfs_principal p;
    char *cookie;
    int rc;

    rc = pfs_accounts_secret(token, h);
    if (!rc)
        rc = pfs_accounts_secret(csrf, hc);
    if (!rc)
        rc = pfs_accounts_principal(&l->u, PFS_VIA_SESSION, &p);
    if (!rc)
        rc = pfs_store_session_add(api->store, h, l->u.name, csrf, now, exp, &err);
    if (rc) {
        pfs_api_error(resp, rc, "login: %s", err.msg[0] ? err.msg : pf_strerror(rc));
        goto out_wipe;
    }
    acc__login_audit(api, l, PFS_LOGIN_OK, 0);
    acc__iso(exp, when);
    cookie = malloc(PFS_SECRET_TEXT_LEN + 96);
    if (cookie)
        snprintf(cookie, PFS_SECRET_TEXT_LEN + 96,
                 PFS_API_SESSION_COOKIE "=%s; HttpOnly; Secure; SameSite=Strict; Path=/", token);
    pfs_api_json(resp, 200,
                 json_pack("{s:s, s:s, s:I, s:s, s:{s:s, s:s, s:s, s:s?}}", "token", token,
                           "expires_at", when, "expires_ms", (json_int_t)exp, "csrf", csrf, "user",
                           "name", l->u.name, "role", l->u.role, "org", l->u.org, "merchant",
                           l->u.merchant[0] ? l->u.merchant : NULL));
    if (resp->status == 200)
        resp->set_cookie = cookie;
    else
        free(cookie);
    pfs_log_info(api->log, "login: %s (%s, %s) from %s", l->u.name, l->u.role, l->u.org,
                 l->addr[0] ? l->addr : "-");
out_wipe:
    sodium_memzero(token, sizeof(token));
    sodium_memzero(csrf, sizeof(csrf));
}

static void acc__login_checked(void *ctx, int rc, bool verified, const char *new_hash)
{
    struct acc__login *l = ctx;
    struct pfs_api *api = l->api;
    struct pfs_http_resp resp = {0};
    int64_t now = acc__now(api);

    if (rc) {
        pfs_api_error(&resp, rc, "login: %s", pf_strerror(rc));
    } else if (verified && l->known && l->u.disabled_ms) {
        acc__login_audit(api, l, PFS_LOGIN_REFUSED, 0);
        pfs_log_warn(api->log, "login: %s is disabled (from %s)", l->name,
                     l->addr[0] ? l->addr : "-");
        pfs_api_error(&resp, PF_EAUTH, "account disabled: ask an administrator");
    } else if (verified && l->known) {
        struct pf_error err = {0};

        /* Made with other Argon2id limits: kept from now on with today's. */
        if (new_hash && new_hash[0] &&
            pfs_store_user_rehash(api->store, l->u.name, l->u.pwhash, new_hash, now, &err) != 0)
            pfs_log_warn(api->log, "login: %s: %s", l->u.name, err.msg);
        acc__login_session(api, l, &resp);
    } else {
        bool addr_lock = pfs_accounts_addr_failed(api->accounts, l->addr, now);
        int64_t until = l->known ? pfs_accounts_lock_until(api->accounts, l->u.failed, now) : 0;

        acc__login_audit(api, l, addr_lock || until ? PFS_LOGIN_LOCKED : PFS_LOGIN_FAILED, until);
        pfs_log_warn(api->log, "login: failed for %s from %s%s", l->name,
                     l->addr[0] ? l->addr : "-", addr_lock || until ? " (locked)" : "");
        pfs_api_error(&resp, PF_EAUTH, "bad user or password");
    }
    pfs_http_answer(l->later, &resp);
    sodium_memzero(l, sizeof(*l));
    free(l);
}

void pfs_api_login(struct pfs_api *api, const struct pfs_api_call *call, struct pfs_http_resp *resp)
{
    json_t *body = acc__body(call->req, resp);
    const char *user, *pw;
    struct acc__login *l = NULL;
    int64_t now = acc__now(api);
    char *raw = NULL;
    size_t rawlen = 0;
    int rc;

    if (!body)
        return;
    if (!api->accounts) {
        pfs_api_error(resp, PF_ESTATE, "user accounts are not enabled");
        goto out_free;
    }
    user = acc__str(body, "user", PFS_USER_NAME_MAX, true, resp);
    if (!user)
        goto out_free;
    pw = acc__str(body, "password", PFS_PASSWORD_MAX, true, resp);
    if (!pw)
        goto out_free;
    if (!acc__name_ok(user)) {
        pfs_api_error(resp, PF_EAUTH, "bad user or password");
        goto out_free;
    }
    l = calloc(1, sizeof(*l));
    if (!l) {
        pfs_api_error(resp, PF_ENOMEM, "out of memory");
        goto out_free;
    }
    l->api = api;
    snprintf(l->name, sizeof(l->name), "%s", user);
    snprintf(l->addr, sizeof(l->addr), "%s", call->addr);
    rc = pfs_store_user_get(api->store, NULL, user, &l->u);
    if (rc && rc != PF_ENOENT) {
        pfs_api_error(resp, rc, "login: %s", pf_strerror(rc));
        goto out_free;
    }
    l->known = rc == 0;
    if (pfs_accounts_addr_locked(api->accounts, l->addr, now)) {
        acc__login_audit(api, l, PFS_LOGIN_REFUSED, 0);
        acc__rate(resp, "too many failed logins from this address: try again later");
        goto out_free;
    }
    if (l->known && l->u.locked_until_ms > now) {
        acc__login_audit(api, l, PFS_LOGIN_REFUSED, 0);
        acc__rate(resp, "account locked after failed logins: try again later");
        goto out_free;
    }
    /* Argon2id takes a while on purpose: off the loop, the answer later. */
    l->later = pfs_http_defer(call->req, &raw, &rawlen);
    if (!l->later) {
        pfs_api_error(resp, PF_ENOMEM, "out of memory");
        goto out_free;
    }
    rc = pfs_accounts_pw(api->accounts, pw, l->known ? l->u.pwhash : "", NULL, acc__login_checked,
                         l);
    sodium_memzero(raw, rawlen);
    free(raw);
    raw = NULL;
    if (rc) {
        struct pfs_http_resp r = {0};

        pfs_api_error(&r, rc, "login: %s", pf_strerror(rc));
        pfs_http_answer(l->later, &r);
        goto out_free;
    }
    l = NULL; /* acc__login_checked frees it */
out_free:
    if (l) {
        sodium_memzero(l, sizeof(*l));
        free(l);
    }
    if (raw) {
        sodium_memzero(raw, rawlen);
        free(raw);
    }
    json_decref(body);
}

void pfs_api_logout(struct pfs_api *api, const struct pfs_api_call *call,
                    struct pfs_http_resp *resp)
{
    struct pfs_actor actor = pfs_api_actor(call);
    struct pf_error err = {0};
    int rc;

    if (call->who.via != PFS_VIA_SESSION) {
        pfs_api_error(resp, PF_ESTATE, "logout ends a session; this request has none (%s)",
                      pfs_auth_via_names[call->who.via]);
        return;
    }
    rc = pfs_store_session_end(api->store, call->who.secret_hash, &actor, acc__now(api), &err);
    if (rc) {
        pfs_api_error(resp, rc, "logout: %s", err.msg[0] ? err.msg : pf_strerror(rc));
        return;
    }
    pfs_api_json(resp, 200, json_pack("{s:b}", "ok", 1));
    resp->set_cookie = strdup(PFS_API_SESSION_COOKIE "=; HttpOnly; Secure; SameSite=Strict;"
                                                     " Path=/; Max-Age=0");
}

void pfs_api_me(struct pfs_api *api, const struct pfs_api_call *call, struct pfs_http_resp *resp)
{
    (void)api;
    pfs_api_json(resp, 200, acc__who(&call->who));
}

/* --- password change --- */

struct acc__pwchange {
    struct pfs_api *api;
    struct pfs_http_later *later;
    char name[PFS_USER_NAME_MAX + 1], role[16], org[PFS_ORG_NAME_MAX + 1];
    char org_path[PFS_ORG_PATH_MAX + 1], addr[64];
    uint8_t keep[PFS_SECRET_HASH];
    bool keep_set;
};

static void acc__pw_changed(void *ctx, int rc, bool verified, const char *new_hash)
{
    struct acc__pwchange *c = ctx;
    struct pfs_http_resp resp = {0};
    struct pfs_actor actor = {.name = c->name,
                              .role = c->role,
                              .org = c->org,
                              .org_path = c->org_path,
                              .addr = c->addr[0] ? c->addr : NULL};
    struct pf_error err = {0};

    if (rc) {
        pfs_api_error(&resp, rc, "password: %s", pf_strerror(rc));
    } else if (!verified) {
        pfs_api_error(&resp, PF_EPERM, "current password is wrong");
    } else {
        rc = pfs_store_user_set_password(c->api->store, c->name, new_hash,
                                         c->keep_set ? c->keep : NULL, &actor,
                                         pf_clock_wall_ms(c->api->clock), &err);
        if (rc)
            pfs_api_error(&resp, rc, "password: %s", err.msg[0] ? err.msg : pf_strerror(rc));
        else
            pfs_api_json(&resp, 200, json_pack("{s:b}", "ok", 1));
    }
    pfs_http_answer(c->later, &resp);
    free(c);
}

void pfs_api_me_password(struct pfs_api *api, const struct pfs_api_call *call,
                         struct pfs_http_resp *resp)
{
    json_t *body = acc__body(call->req, resp);
    struct pfs_user_rec u;
    struct pf_error err = {0};
    struct acc__pwchange *c = NULL;
    const char *cur, *next;
    char *raw = NULL;
    size_t rawlen = 0;
    int rc;

    if (!body)
        return;
    if (call->who.via == PFS_VIA_FILE || !api->accounts) {
        pfs_api_error(resp, PF_ESTATE, "a tokens-file identity has no password");
        goto out_free;
    }
    cur = acc__str(body, "current", PFS_PASSWORD_MAX, true, resp);
    if (!cur)
        goto out_free;
    next = acc__str(body, "new", PFS_PASSWORD_MAX, true, resp);
    if (!next)
        goto out_free;
    if (pfs_accounts_password_ok(next, &err) != 0) {
        pfs_api_error(resp, PF_EINVAL, "new %s", err.msg);
        goto out_free;
    }
    rc = pfs_store_user_get(api->store, NULL, call->who.name, &u);
    if (rc) {
        pfs_api_error(resp, rc, "user %s: %s", call->who.name, pf_strerror(rc));
        goto out_free;
    }
    c = calloc(1, sizeof(*c));
    if (!c) {
        pfs_api_error(resp, PF_ENOMEM, "out of memory");
        goto out_free;
    }
    c->api = api;
    snprintf(c->name, sizeof(c->name), "%s", u.name);
    snprintf(c->role, sizeof(c->role), "%s", u.role);
    snprintf(c->org, sizeof(c->org), "%s", u.org);
    snprintf(c->org_path, sizeof(c->org_path), "%s", u.org_path);
    snprintf(c->addr, sizeof(c->addr), "%s", call->addr);
    /* The session that changes the password stays; every other one ends. */
    c->keep_set = call->who.via == PFS_VIA_SESSION;
    memcpy(c->keep, call->who.secret_hash, sizeof(c->keep));
    c->later = pfs_http_defer(call->req, &raw, &rawlen);
    if (!c->later) {
        pfs_api_error(resp, PF_ENOMEM, "out of memory");
        goto out_free;
    }
    rc = pfs_accounts_pw(api->accounts, cur, u.pwhash, next, acc__pw_changed, c);
    if (rc) {
        struct pfs_http_resp r = {0};

        pfs_api_error(&r, rc, "password: %s", pf_strerror(rc));
        pfs_http_answer(c->later, &r);
        goto out_free;
    }
    c = NULL;
out_free:
    free(c);
    if (raw) {
        sodium_memzero(raw, rawlen);
        free(raw);
    }
    sodium_memzero(&u, sizeof(u));
    json_decref(body);
}

/* --- API tokens --- */

static int acc__token_cb(void *ctx, const struct pfs_apitoken_rec *t)
{
    json_t *o = json_pack("{s:I, s:s, s:s, s:I, s:I, s:o*, s:o*}", "id", (json_int_t)t->id, "name",
                          t->name, "user", t->user, "created_ms", (json_int_t)t->created_ms,
                          "expires_ms", (json_int_t)t->expires_ms, "revoked_ms",
                          t->revoked_ms ? json_integer(t->revoked_ms) : NULL, "last_used_ms",
                          t->last_used_ms ? json_integer(t->last_used_ms) : NULL);

    return o && json_array_append_new(ctx, o) == 0 ? 0 : PF_ENOMEM;
}

void pfs_api_tokens_list(struct pfs_api *api, const struct pfs_api_call *call,
                         struct pfs_http_resp *resp)
{
    json_t *arr = json_array();
    bool admin = call->who.role == PFS_ROLE_ADMIN;
    int rc;

    if (!arr) {
        pfs_api_error(resp, PF_ENOMEM, "out of memory");
        return;
    }
    /* An admin sees the tokens of every user of its organisation's subtree. */
    rc = pfs_store_apitoken_list(api->store, pfs_api_scope(call), admin ? NULL : call->who.name,
                                 acc__token_cb, arr);
    if (rc) {
        json_decref(arr);
        pfs_api_error(resp, rc, "tokens: %s", pf_strerror(rc));
        return;
    }
    pfs_api_json(resp, 200, json_pack("{s:o}", "tokens", arr));
}

void pfs_api_token_create(struct pfs_api *api, const struct pfs_api_call *call,
                          struct pfs_http_resp *resp)
{
    json_t *body = acc__body(call->req, resp), *jd;
    struct pfs_actor actor = pfs_api_actor(call);
    struct pfs_apitoken_rec t = {0}, out;
    char token[PFS_SECRET_TEXT_LEN + 1], when[32];
    uint8_t h[PFS_SECRET_HASH];
    struct pf_error err = {0};
    json_int_t days = 90;
    const char *name;
    int rc;

    if (!body)
        return;
    if (call->who.via == PFS_VIA_FILE) {
        pfs_api_error(resp, PF_ESTATE,
                      "API tokens belong to users: log in as a user to create one");
        goto out_free;
    }
    name = acc__str(body, "name", PFS_USER_NAME_MAX, true, resp);
    if (!name)
        goto out_free;
    if (!acc__name_ok(name)) {
        pfs_api_error(resp, PF_EINVAL, "name: 1-64 characters of A-Z a-z 0-9 . _ - @");
        goto out_free;
    }
    jd = json_object_get(body, "expires_days");
    if (jd && !json_is_null(jd)) {
        days = json_is_integer(jd) ? json_integer_value(jd) : -1;
        if (days < 1 || days > ACC_TOKEN_DAYS_MAX) {
            pfs_api_error(resp, PF_ERANGE, "expires_days: 1..%d", ACC_TOKEN_DAYS_MAX);
            goto out_free;
        }
    }
    snprintf(t.name, sizeof(t.name), "%s", name);
    snprintf(t.user, sizeof(t.user), "%s", call->who.name);
    t.created_ms = acc__now(api);
    t.expires_ms = t.created_ms + (int64_t)days * 86400000LL;
    rc = pfs_accounts_secret(token, h);
    if (!rc)
        rc = pfs_store_apitoken_add(api->store, h, &t, &actor, &out, &err);
    if (rc) {
        pfs_api_error(resp, rc, "token: %s", err.msg[0] ? err.msg : pf_strerror(rc));
        goto out_free;
    }
    acc__iso(out.expires_ms, when);
    /* The only time the token is shown: the store keeps its hash. */
    pfs_api_json(resp, 201,
                 json_pack("{s:I, s:s, s:s, s:s, s:I}", "id", (json_int_t)out.id, "name", out.name,
                           "token", token, "expires_at", when, "expires_ms",
                           (json_int_t)out.expires_ms));
out_free:
    sodium_memzero(token, sizeof(token));
    json_decref(body);
}

void pfs_api_token_revoke(struct pfs_api *api, const struct pfs_api_call *call,
                          struct pfs_http_resp *resp)
{
    struct pfs_actor actor = pfs_api_actor(call);
    struct pf_error err = {0};
    bool admin = call->who.role == PFS_ROLE_ADMIN;
    int rc;

    rc = pfs_store_apitoken_revoke(api->store, pfs_api_scope(call), admin ? NULL : call->who.name,
                                   call->params.id, &actor, acc__now(api), &err);
    if (rc) {
        pfs_api_error(resp, rc, "%s", err.msg[0] ? err.msg : pf_strerror(rc));
        return;
    }
    pfs_api_json(resp, 200,
                 json_pack("{s:I, s:b}", "id", (json_int_t)call->params.id, "revoked", 1));
}

/* --- users and organisations (admin) --- */

static json_t *acc__user_json(const struct pfs_user_rec *u)
{
    return json_pack("{s:s, s:s, s:s, s:I, s:s?, s:I, s:I, s:b, s:I, s:I}", "name", u->name, "role",
                     u->role, "org", u->org, "org_id", (json_int_t)u->org_id, "merchant",
                     u->merchant[0] ? u->merchant : NULL, "failed", (json_int_t)u->failed,
                     "locked_until_ms", (json_int_t)u->locked_until_ms, "disabled",
                     u->disabled_ms != 0, "disabled_ms", (json_int_t)u->disabled_ms, "created_ms",
                     (json_int_t)u->created_ms);
}

static int acc__user_cb(void *ctx, const struct pfs_user_rec *u)
{
    json_t *o = acc__user_json(u);

    return o && json_array_append_new(ctx, o) == 0 ? 0 : PF_ENOMEM;
}

void pfs_api_users_list(struct pfs_api *api, const struct pfs_api_call *call,
                        struct pfs_http_resp *resp)
{
    json_t *arr = json_array();
    int rc = arr ? pfs_store_user_list(api->store, pfs_api_scope(call), acc__user_cb, arr)
                 : PF_ENOMEM;

    if (rc) {
        json_decref(arr);
        pfs_api_error(resp, rc, "users: %s", pf_strerror(rc));
        return;
    }
    pfs_api_json(resp, 200, json_pack("{s:o}", "users", arr));
}

/* The organisation a body names ("org": id or name), inside the caller's scope. */
static int acc__org_arg(struct pfs_api *api, const struct pfs_api_call *call, json_t *body,
                        const char *key, struct pfs_org *o, struct pfs_http_resp *resp)
{
    json_t *v = json_object_get(body, key);
    int rc;

    if (json_is_integer(v))
        rc = pfs_store_org_get(api->store, pfs_api_scope(call), json_integer_value(v), NULL, o);
    else if (json_is_string(v))
        rc = pfs_store_org_get(api->store, pfs_api_scope(call), 0, json_string_value(v), o);
    else {
        pfs_api_error(resp, PF_ESCHEMA, "%s: an organisation id or name", key);
        return PF_ESCHEMA;
    }
    if (rc)
        pfs_api_error(resp, rc, "%s: no such organisation", key);
    return rc;
}

/* State of a user being created while its password is hashed. */
struct acc__useradd {
    struct pfs_api *api;
    struct pfs_http_later *later;
    struct pfs_user_rec u;
    struct pfs_scope scope;
    bool scoped;
    char name[PFS_USER_NAME_MAX + 1], role[16], org[PFS_ORG_NAME_MAX + 1];
    char org_path[PFS_ORG_PATH_MAX + 1], addr[64];
};

static void acc__user_hashed(void *ctx, int rc, bool verified, const char *new_hash)
{
    struct acc__useradd *c = ctx;
    struct pfs_http_resp resp = {0};
    struct pfs_actor actor = {.name = c->name,
                              .role = c->role,
                              .org = c->org,
                              .org_path = c->org_path,
                              .addr = c->addr[0] ? c->addr : NULL};
    struct pf_error err = {0};

    (void)verified;
    if (!rc) {
        snprintf(c->u.pwhash, sizeof(c->u.pwhash), "%s", new_hash);
        rc = pfs_store_user_add(c->api->store, c->scoped ? &c->scope : NULL, &c->u, &actor,
                                pf_clock_wall_ms(c->api->clock), &err);
    }
    /* The user as GET /v1/users/{user} shows it. */
    if (!rc && pfs_store_user_get(c->api->store, NULL, c->u.name, &c->u) != 0)
        rc = PF_EIO;
    if (rc) {
        pfs_api_error(&resp, rc, "user: %s", err.msg[0] ? err.msg : pf_strerror(rc));
    } else {
        sodium_memzero(c->u.pwhash, sizeof(c->u.pwhash));
        pfs_api_json(&resp, 201, acc__user_json(&c->u));
    }
    pfs_http_answer(c->later, &resp);
    sodium_memzero(c, sizeof(*c));
    free(c);
}

void pfs_api_user_add(struct pfs_api *api, const struct pfs_api_call *call,
                      struct pfs_http_resp *resp)
{
    json_t *body = acc__body(call->req, resp);
    struct acc__useradd *c = NULL;
    struct pf_error err = {0};
    const char *name, *role, *pw, *merchant;
    struct pfs_org o;
    char *raw = NULL;
    size_t rawlen = 0;
    int r, rc;

    if (!body)
        return;
    if (!api->accounts) {
        pfs_api_error(resp, PF_ESTATE, "user accounts are not enabled");
        goto out_free;
    }
    if (!(name = acc__str(body, "name", PFS_USER_NAME_MAX, true, resp)) ||
        !(role = acc__str(body, "role", 15, true, resp)) ||
        !(pw = acc__str(body, "password", PFS_PASSWORD_MAX, true, resp)))
        goto out_free;
    merchant = acc__str(body, "merchant", PFS_MERCHANT_MAX, false, resp);
    if (!merchant && resp->status)
        goto out_free;
    if (!acc__name_ok(name)) {
        pfs_api_error(resp, PF_EINVAL, "name: 1-64 characters of A-Z a-z 0-9 . _ - @");
        goto out_free;
    }
    r = pfs_role_parse(role);
    if (r < 0) {
        pfs_api_error(resp, PF_EINVAL, "role: admin, ops, approver, support, viewer or merchant");
        goto out_free;
    }
    if ((r == PFS_ROLE_MERCHANT) != (merchant != NULL)) {
        pfs_api_error(resp, PF_EINVAL, "merchant: given for, and only for, a merchant user");
        goto out_free;
    }
    if (pfs_accounts_password_ok(pw, &err) != 0) {
        pfs_api_error(resp, PF_EINVAL, "%s", err.msg);
        goto out_free;
    }
    if (acc__org_arg(api, call, body, "org", &o, resp))
        goto out_free;
    c = calloc(1, sizeof(*c));
    if (!c) {
        pfs_api_error(resp, PF_ENOMEM, "out of memory");
        goto out_free;
    }
    c->api = api;
    snprintf(c->u.name, sizeof(c->u.name), "%s", name);
    snprintf(c->u.role, sizeof(c->u.role), "%s", pfs_role_names[r]);
    c->u.org_id = o.id;
    snprintf(c->u.merchant, sizeof(c->u.merchant), "%s", merchant ? merchant : "");
    c->scoped = pfs_api_scope(call) != NULL;
    c->scope = call->who.scope;
    snprintf(c->name, sizeof(c->name), "%s", call->name);
    snprintf(c->role, sizeof(c->role), "%s", pfs_role_names[call->role]);
    snprintf(c->org, sizeof(c->org), "%s", call->who.org);
    snprintf(c->org_path, sizeof(c->org_path), "%s", call->who.scope.path);
    snprintf(c->addr, sizeof(c->addr), "%s", call->addr);
    c->later = pfs_http_defer(call->req, &raw, &rawlen);
    if (!c->later) {
        pfs_api_error(resp, PF_ENOMEM, "out of memory");
        goto out_free;
    }
    rc = pfs_accounts_pw(api->accounts, NULL, NULL, pw, acc__user_hashed, c);
    if (rc) {
        struct pfs_http_resp rr = {0};

        pfs_api_error(&rr, rc, "user: %s", pf_strerror(rc));
        pfs_http_answer(c->later, &rr);
        goto out_free;
    }
    c = NULL;
out_free:
    free(c);
    if (raw) {
        sodium_memzero(raw, rawlen);
        free(raw);
    }
    json_decref(body);
}

void pfs_api_user_get(struct pfs_api *api, const struct pfs_api_call *call,
                      struct pfs_http_resp *resp)
{
    struct pfs_user_rec u;

    /* Someone outside the caller's organisation looks absent. */
    if (pfs_store_user_get(api->store, pfs_api_scope(call), call->params.user, &u) != 0) {
        pfs_api_error(resp, PF_ENOENT, "user %.64s: not found", call->params.user);
        return;
    }
    sodium_memzero(u.pwhash, sizeof(u.pwhash));
    pfs_api_json(resp, 200, acc__user_json(&u));
}

/* An admin's new password for a user while it is hashed off the loop. */
struct acc__userpw {
    struct pfs_api *api;
    struct pfs_http_later *later;
    struct pfs_scope scope;
    bool scoped;
    char user[PFS_USER_NAME_MAX + 1];
    char name[PFS_USER_NAME_MAX + 1], role[16], org[PFS_ORG_NAME_MAX + 1];
    char org_path[PFS_ORG_PATH_MAX + 1], addr[64];
};

static void acc__userpw_hashed(void *ctx, int rc, bool verified, const char *new_hash)
{
    struct acc__userpw *c = ctx;
    struct pfs_actor actor = {.name = c->name,
                              .role = c->role,
                              .org = c->org,
                              .org_path = c->org_path,
                              .addr = c->addr[0] ? c->addr : NULL};
    struct pfs_http_resp resp = {0};
    struct pfs_user_rec u;
    struct pf_error err = {0};

    (void)verified;
    if (!rc && (!new_hash || !new_hash[0]))
        rc = PF_ECRYPTO;
    /* Still there and still inside the caller's scope after the slow hash. */
    if (!rc && pfs_store_user_get(c->api->store, c->scoped ? &c->scope : NULL, c->user, &u) != 0)
        rc = pf_error_set(&err, PF_ENOENT, "user %.64s: not found", c->user);
    if (!rc)
        rc = pfs_store_user_set_password(c->api->store, c->user, new_hash, NULL, &actor,
                                         pf_clock_wall_ms(c->api->clock), &err);
    if (!rc && pfs_store_user_get(c->api->store, NULL, c->user, &u) != 0)
        rc = pf_error_set(&err, PF_EIO, "reading user %.64s", c->user);
    if (rc) {
        pfs_api_error(&resp, rc, "password: %s", err.msg[0] ? err.msg : pf_strerror(rc));
    } else {
        sodium_memzero(u.pwhash, sizeof(u.pwhash));
        pfs_api_json(&resp, 200, acc__user_json(&u));
    }
    pfs_http_answer(c->later, &resp);
    sodium_memzero(&u, sizeof(u));
    sodium_memzero(c, sizeof(*c));
    free(c);
}

/* POST /v1/users/{user} {"password": PW}: an admin sets a user's password
 * (every session of the user ends; audited as user.password). Its role and
 * whether it is disabled change through /role, /disable and /enable. */
void pfs_api_user_password(struct pfs_api *api, const struct pfs_api_call *call,
                           struct pfs_http_resp *resp)
{
    json_t *body = acc__body(call->req, resp), *v;
    struct acc__userpw *c = NULL;
    struct pf_error err = {0};
    const char *pw, *key;
    char *raw = NULL;
    size_t rawlen = 0;
    int rc;

    if (!body)
        return;
    json_object_foreach(body, key, v)
    {
        if (strcmp(key, "password") != 0) {
            pfs_api_error(resp, PF_ESCHEMA,
                          "%.64s: unknown field (password; a role or disabling has its own"
                          " route)",
                          key);
            goto out_free;
        }
    }
    if (!(pw = acc__str(body, "password", PFS_PASSWORD_MAX, true, resp)))
        goto out_free;
    if (pfs_accounts_password_ok(pw, &err) != 0) {
        pfs_api_error(resp, PF_EINVAL, "%s", err.msg);
        goto out_free;
    }
    if (!api->accounts) {
        pfs_api_error(resp, PF_ESTATE, "user accounts are not enabled");
        goto out_free;
    }
    /* The user must be there (and in scope) before the slow hash is made. */
    {
        struct pfs_user_rec u;

        rc = pfs_store_user_get(api->store, pfs_api_scope(call), call->params.user, &u);
        sodium_memzero(&u, sizeof(u));
        if (rc != 0) {
            pfs_api_error(resp, PF_ENOENT, "user %.64s: not found", call->params.user);
            goto out_free;
        }
    }
    c = calloc(1, sizeof(*c));
    if (!c) {
        pfs_api_error(resp, PF_ENOMEM, "out of memory");
        goto out_free;
    }
    c->api = api;
    c->scoped = pfs_api_scope(call) != NULL;
    c->scope = call->who.scope;
    snprintf(c->user, sizeof(c->user), "%s", call->params.user);
    snprintf(c->name, sizeof(c->name), "%s", call->name);
    snprintf(c->role, sizeof(c->role), "%s", pfs_role_names[call->role]);
    snprintf(c->org, sizeof(c->org), "%s", call->who.org);
    snprintf(c->org_path, sizeof(c->org_path), "%s", call->who.scope.path);
    snprintf(c->addr, sizeof(c->addr), "%s", call->addr);
    c->later = pfs_http_defer(call->req, &raw, &rawlen);
    if (!c->later) {
        pfs_api_error(resp, PF_ENOMEM, "out of memory");
        goto out_free;
    }
    rc = pfs_accounts_pw(api->accounts, NULL, NULL, pw, acc__userpw_hashed, c);
    if (rc) {
        struct pfs_http_resp rr = {0};

        pfs_api_error(&rr, rc, "password: %s", pf_strerror(rc));
        pfs_http_answer(c->later, &rr);
        goto out_free;
    }
    c = NULL;
out_free:
    if (c) {
        sodium_memzero(c, sizeof(*c));
        free(c);
    }
    if (raw) {
        sodium_memzero(raw, rawlen);
        free(raw);
    }
    json_decref(body);
}

/* The user of the path after a change: 200 with its list form. */
static void acc__user_answer(struct pfs_api *api, const struct pfs_api_call *call,
                             struct pfs_http_resp *resp)
{
    struct pfs_user_rec u;
    json_t *arr = json_array();

    if (arr && pfs_store_user_get(api->store, pfs_api_scope(call), call->params.user, &u) == 0 &&
        acc__user_cb(arr, &u) == 0)
        pfs_api_json(resp, 200, json_incref(json_array_get(arr, 0)));
    else
        pfs_api_error(resp, PF_EIO, "reading user %s", call->params.user);
    json_decref(arr);
}

/* POST /v1/users/{user}/role {"role": ROLE}: never one's own (no admin locks
 * itself out); a merchant user stays one (the store says so). */
void pfs_api_user_role(struct pfs_api *api, const struct pfs_api_call *call,
                       struct pfs_http_resp *resp)
{
    struct pfs_actor actor = pfs_api_actor(call);
    struct pf_error err = {0};
    json_t *body = acc__body(call->req, resp);
    const char *role;
    int rc;

    if (!body)
        return;
    if (!(role = acc__str(body, "role", 15, true, resp)))
        goto out;
    if (pfs_role_parse(role) < 0) {
        pfs_api_error(resp, PF_EINVAL, "role: admin, ops, approver, support, viewer or merchant");
        goto out;
    }
    if (strcmp(call->params.user, call->who.name) == 0) {
        pfs_api_error(resp, PF_ESTATE, "your own role is changed by another administrator");
        goto out;
    }
    rc = pfs_store_user_set_role(api->store, pfs_api_scope(call), call->params.user, role, &actor,
                                 acc__now(api), &err);
    if (rc) {
        pfs_api_error(resp, rc, "%s", err.msg);
        goto out;
    }
    pfs_log_info(api->log, "api: %s (%s) made %s %s", actor.name, actor.role, call->params.user,
                 role);
    acc__user_answer(api, call, resp);
out:
    json_decref(body);
}

/* POST /v1/users/{user}/disable and /enable (route arg 1: disable). */
void pfs_api_user_disable(struct pfs_api *api, const struct pfs_api_call *call,
                          struct pfs_http_resp *resp)
{
    struct pfs_actor actor = pfs_api_actor(call);
    struct pf_error err = {0};
    bool disable = call->route->arg == 1;
    json_t *body = acc__body(call->req, resp);
    int rc;

    if (!body)
        return;
    json_decref(body);
    if (disable && strcmp(call->params.user, call->who.name) == 0) {
        pfs_api_error(resp, PF_ESTATE, "you cannot disable yourself");
        return;
    }
    rc = pfs_store_user_set_disabled(api->store, pfs_api_scope(call), call->params.user, disable,
                                     &actor, acc__now(api), &err);
    if (rc) {
        pfs_api_error(resp, rc, "%s", err.msg);
        return;
    }
    pfs_log_info(api->log, "api: %s (%s) %s %s", actor.name, actor.role,
                 disable ? "disabled" : "enabled", call->params.user);
    acc__user_answer(api, call, resp);
}

static int acc__org_cb(void *ctx, const struct pfs_org *o)
{
    json_t *j = json_pack("{s:I, s:s, s:s, s:o*, s:s}", "id", (json_int_t)o->id, "name", o->name,
                          "kind", pfs_org_kind_names[o->kind], "parent",
                          o->parent ? json_integer(o->parent) : NULL, "path", o->path);

    return j && json_array_append_new(ctx, j) == 0 ? 0 : PF_ENOMEM;
}

void pfs_api_orgs_list(struct pfs_api *api, const struct pfs_api_call *call,
                       struct pfs_http_resp *resp)
{
    json_t *arr = json_array();
    int rc =
            arr ? pfs_store_org_list(api->store, pfs_api_scope(call), acc__org_cb, arr) : PF_ENOMEM;

    if (rc) {
        json_decref(arr);
        pfs_api_error(resp, rc, "organisations: %s", pf_strerror(rc));
        return;
    }
    pfs_api_json(resp, 200, json_pack("{s:o}", "orgs", arr));
}

/* The names of the users of one organisation (ctx: {id, array}). */
struct acc__org_users {
    int64_t id;
    json_t *names;
};

static int acc__org_user_cb(void *ctx, const struct pfs_user_rec *u)
{
    struct acc__org_users *x = ctx;

    if (u->org_id != x->id)
        return 0;
    return json_array_append_new(x->names, json_string(u->name)) == 0 ? 0 : PF_ENOMEM;
}

void pfs_api_org_get(struct pfs_api *api, const struct pfs_api_call *call,
                     struct pfs_http_resp *resp)
{
    struct acc__org_users users = {call->params.id, json_array()};
    json_t *one = json_array(), *o;
    struct pfs_org org;
    int rc;

    if (!users.names || !one) {
        pfs_api_error(resp, PF_ENOMEM, "out of memory");
        goto out_free;
    }
    /* An organisation outside the caller's looks absent. */
    if (pfs_store_org_get(api->store, pfs_api_scope(call), call->params.id, NULL, &org) != 0) {
        pfs_api_error(resp, PF_ENOENT, "organisation %lld: not found", (long long)call->params.id);
        goto out_free;
    }
    rc = acc__org_cb(one, &org);
    if (!rc)
        rc = pfs_store_user_list(api->store, pfs_api_scope(call), acc__org_user_cb, &users);
    o = json_array_get(one, 0);
    if (rc || !o || json_object_set(o, "users", users.names) != 0) {
        pfs_api_error(resp, rc ? rc : PF_ENOMEM, "organisation: %s",
                      pf_strerror(rc ? rc : PF_ENOMEM));
        goto out_free;
    }
    json_object_set_new(o, "created_ms", json_integer(org.created_ms));
    pfs_api_json(resp, 200, json_incref(o));
out_free:
    json_decref(users.names);
    json_decref(one);
}

void pfs_api_org_add(struct pfs_api *api, const struct pfs_api_call *call,
                     struct pfs_http_resp *resp)
{
    json_t *body = acc__body(call->req, resp), *out;
    struct pfs_actor actor = pfs_api_actor(call);
    struct pf_error err = {0};
    struct pfs_org parent, o;
    const char *name;
    int rc;

    if (!body)
        return;
    name = acc__str(body, "name", PFS_ORG_NAME_MAX, true, resp);
    if (!name)
        goto out_free;
    if (!acc__name_ok(name)) {
        pfs_api_error(resp, PF_EINVAL, "name: 1-64 characters of A-Z a-z 0-9 . _ - @");
        goto out_free;
    }
    if (json_object_get(body, "parent")) {
        if (acc__org_arg(api, call, body, "parent", &parent, resp))
            goto out_free;
    } else if (pfs_store_org_get(api->store, NULL, 0, call->who.org, &parent) != 0) {
        pfs_api_error(resp, PF_ENOENT, "parent: your organisation %s is gone", call->who.org);
        goto out_free;
    }
    rc = pfs_store_org_add(api->store, pfs_api_scope(call), name, parent.id, &actor, acc__now(api),
                           &o, &err);
    if (rc) {
        pfs_api_error(resp, rc, "organisation: %s", err.msg[0] ? err.msg : pf_strerror(rc));
        goto out_free;
    }
    out = json_array();
    if (out && acc__org_cb(out, &o) == 0)
        pfs_api_json(resp, 201, json_incref(json_array_get(out, 0)));
    else
        pfs_api_error(resp, PF_ENOMEM, "out of memory");
    json_decref(out);
out_free:
    json_decref(body);
}

void pfs_api_merchant_org(struct pfs_api *api, const struct pfs_api_call *call,
                          struct pfs_http_resp *resp)
{
    json_t *body = acc__body(call->req, resp);
    struct pfs_actor actor = pfs_api_actor(call);
    struct pf_error err = {0};
    struct pfs_org o;
    int rc;

    if (!body)
        return;
    if (acc__org_arg(api, call, body, "org", &o, resp))
        goto out_free;
    rc = pfs_store_merchant_set_org(api->store, pfs_api_scope(call), call->params.merchant, o.id,
                                    &actor, acc__now(api), &err);
    if (rc) {
        pfs_api_error(resp, rc, "%s", err.msg[0] ? err.msg : pf_strerror(rc));
        goto out_free;
    }
    pfs_api_json(resp, 200,
                 json_pack("{s:s, s:I, s:s}", "merchant", call->params.merchant, "org_id",
                           (json_int_t)o.id, "org", o.name));
out_free:
    json_decref(body);
}

/* --- support requests --- */

static int acc__support_cb(void *ctx, const struct pfs_support_req *r)
{
    json_t *o = json_pack("{s:I, s:s, s:s?, s:s, s:s, s:s, s:s, s:I}", "id", (json_int_t)r->id,
                          "merchant", r->merchant, "serial", r->serial[0] ? r->serial : NULL,
                          "subject", r->subject, "body", r->body, "opened_by", r->opened_by,
                          "status", r->status, "created_ms", (json_int_t)r->created_ms);

    return o && json_array_append_new(ctx, o) == 0 ? 0 : PF_ENOMEM;
}

void pfs_api_support_list(struct pfs_api *api, const struct pfs_api_call *call,
                          struct pfs_http_resp *resp)
{
    json_t *arr = json_array();
    int rc = arr ? pfs_store_support_list(api->store, pfs_api_scope(call), PFS_API_LIMIT_MAX,
                                          acc__support_cb, arr)
                 : PF_ENOMEM;

    if (rc) {
        json_decref(arr);
        pfs_api_error(resp, rc, "support requests: %s", pf_strerror(rc));
        return;
    }
    pfs_api_json(resp, 200, json_pack("{s:o}", "support_requests", arr));
}

void pfs_api_support_open(struct pfs_api *api, const struct pfs_api_call *call,
                          struct pfs_http_resp *resp)
{
    json_t *body = acc__body(call->req, resp);
    struct pfs_actor actor = pfs_api_actor(call);
    const struct pfs_scope *scope = pfs_api_scope(call);
    struct pfs_support_req *r = NULL;
    struct pf_error err = {0};
    const char *merchant, *serial, *subject, *text;
    int64_t id = 0;
    int rc;

    if (!body)
        return;
    merchant = acc__str(body, "merchant", PFS_MERCHANT_MAX, false, resp);
    if (resp->status)
        goto out_free;
    if (call->who.scope.merchant[0])
        merchant = call->who.scope.merchant; /* a merchant user: always its own */
    if (!merchant) {
        pfs_api_error(resp, PF_ESCHEMA, "merchant: required");
        goto out_free;
    }
    serial = acc__str(body, "serial", PF_SERIAL_MAX, false, resp);
    if (resp->status)
        goto out_free;
    if (!(subject = acc__str(body, "subject", 200, true, resp)) ||
        !(text = acc__str(body, "body", PFS_SUPPORT_TEXT_MAX, true, resp)))
        goto out_free;
    /* Both must lie inside the scope: someone else's looks absent. */
    if (pfs_store_scope_merchant(api->store, scope, merchant) != 0) {
        pfs_api_error(resp, PF_ENOENT, "merchant %.64s: not found", merchant);
        goto out_free;
    }
    if (serial) {
        struct pfs_scope of = {{0}, {0}};

        /* The terminal must be bound to that merchant. */
        snprintf(of.path, sizeof(of.path), "%s", call->who.scope.path);
        snprintf(of.merchant, sizeof(of.merchant), "%s", merchant);
        if (!pf_serial_valid(serial) || pfs_store_scope_serial(api->store, &of, serial) != 0)
            serial = "";
    }
    if (serial && !*serial) {
        pfs_api_error(resp, PF_ENOENT, "serial %.32s: not found", serial);
        goto out_free;
    }
    r = calloc(1, sizeof(*r));
    if (!r) {
        pfs_api_error(resp, PF_ENOMEM, "out of memory");
        goto out_free;
    }
    snprintf(r->merchant, sizeof(r->merchant), "%s", merchant);
    snprintf(r->serial, sizeof(r->serial), "%s", serial ? serial : "");
    snprintf(r->subject, sizeof(r->subject), "%s", subject);
    snprintf(r->body, sizeof(r->body), "%s", text);
    snprintf(r->opened_by, sizeof(r->opened_by), "%s", call->name);
    r->created_ms = acc__now(api);
    rc = pfs_store_support_add(api->store, r, &actor, &id, &err);
    if (rc) {
        pfs_api_error(resp, rc, "support request: %s", err.msg[0] ? err.msg : pf_strerror(rc));
        goto out_free;
    }
    pfs_api_json(resp, 201,
                 json_pack("{s:I, s:s, s:s}", "id", (json_int_t)id, "merchant", merchant, "status",
                           "open"));
out_free:
    free(r);
    json_decref(body);
}
