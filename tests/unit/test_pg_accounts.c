/*
 * test_pg_accounts.c - the PostgreSQL twins of store_accounts.h against the
 * SQLite backend: one scenario (organisations, users, logins, passwords,
 * roles, disabling, sessions, API tokens, the scope checks, support
 * requests) runs on both stores holding the same rows, and what each
 * answered - results, error codes and messages, and at the end the audit
 * rows with their before/after JSON - must be the same, byte for byte
 * (pg_twin.h). A few absolute checks keep the scenario honest.
 */
#include <check.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pg_twin.h"
#include "store/postgres/pg_accounts.h"
#include "store/postgres/pg_search.h"
#include "lifecycle/merchant.h"
#include "lifecycle/repair.h"
#include "store/store_accounts.h"
#include "store/store_search.h"

/* The same call on the backend the scenario runs on. */
#define OP(NAME, ...)                                                                              \
    (on_pg ? pfs_pg_##NAME(twin_pg, __VA_ARGS__) : pfs_store_##NAME(twin_sq, __VA_ARGS__))

static const struct pfs_actor root = {"root", "admin", "headquarters", "/1/", "127.0.0.1"};
static const struct pfs_actor eadm = {"ea", "admin", "east", "/1/2/", "::1"};
static const struct pfs_scope hq = {"/1/", ""}, east = {"/1/2/", ""}, east_m = {"/1/2/", "M-SZ-1"},
                              west = {"/1/3/", ""};
static const struct pfs_scope *const scopes[] = {NULL, &hq, &east, &east_m, &west};
static const char *const scope_names[] = {"null", "hq", "east", "east_m", "west"};
#define NSCOPES 5

static void hash_of(uint8_t h[PFS_SECRET_HASH], int seed)
{
    for (int i = 0; i < PFS_SECRET_HASH; i++)
        h[i] = (uint8_t)(seed * 31 + i * 7);
}

/* One line per call: its code, and the message when it failed. */
static void step(struct twin_log *l, const char *what, int rc, struct pf_error *err)
{
    twin_logf(l, "%s: %d %s\n", what, rc, rc ? err->msg : "");
    pf_error_clear(err);
}

static int org_cb(void *ctx, const struct pfs_org *o)
{
    twin_logf(ctx, "  org %lld %s %d %lld %s %lld\n", (long long)o->id, o->name, (int)o->kind,
              (long long)o->parent, o->path, (long long)o->created_ms);
    return 0;
}

static void log_user(struct twin_log *l, const struct pfs_user_rec *u)
{
    twin_logf(l, "  user %s [%s] %s %lld %s %s [%s] %lld %lld %lld %lld\n", u->name, u->pwhash,
              u->role, (long long)u->org_id, u->org, u->org_path, u->merchant, (long long)u->failed,
              (long long)u->locked_until_ms, (long long)u->created_ms, (long long)u->disabled_ms);
}

static int user_cb(void *ctx, const struct pfs_user_rec *u)
{
    log_user(ctx, u);
    return 0;
}

static void log_token(struct twin_log *l, const struct pfs_apitoken_rec *t)
{
    twin_logf(l, "  token %lld %s %s %lld %lld %lld %lld\n", (long long)t->id, t->name, t->user,
              (long long)t->created_ms, (long long)t->expires_ms, (long long)t->revoked_ms,
              (long long)t->last_used_ms);
}

static int token_cb(void *ctx, const struct pfs_apitoken_rec *t)
{
    log_token(ctx, t);
    return 0;
}

static int support_cb(void *ctx, const struct pfs_support_req *r)
{
    twin_logf(ctx, "  support %lld %s [%s] %s %s %s %s %lld\n", (long long)r->id, r->merchant,
              r->serial, r->subject, r->body, r->opened_by, r->status, (long long)r->created_ms);
    return 0;
}

static int audit_cb(void *ctx, const struct pfs_audit *a)
{
    twin_logf(ctx, "  audit %lld %lld %s %s %s %s %s %s [%s] [%s]\n", (long long)a->id,
              (long long)a->ts_ms, a->actor, a->role, a->action, a->target,
              a->before ? a->before : "-", a->after ? a->after : "-", a->org, a->addr);
    return 0;
}

static char last_merchant[128];

static int merchant_cb(void *ctx, const struct pfs_merchant *m)
{
    twin_logf(ctx, "  merchant %s %s %s %d %zu %s %d %lld %lld %s [%s]\n", m->id, m->name, m->uscc,
              (int)m->settlement, m->nfees, m->nfees ? m->fee_plan[0] : "-", (int)m->status,
              (long long)m->created_ms, (long long)m->updated_ms, m->region, m->review_reason);
    snprintf(last_merchant, sizeof(last_merchant), "%s", m->id);
    return 0;
}

static int repair_cb(void *ctx, const struct pfs_repair_view *v)
{
    twin_logf(ctx, "  repair %lld %s %s %s %s %s %s %s %s [%s] %s %lld %lld %lld %lld\n",
              (long long)v->id, v->serial, v->state, v->source, v->reason,
              v->merchant_id ? v->merchant_id : "-", v->replaced_by ? v->replaced_by : "-",
              v->fault_codes, v->parts, v->notes, v->snapshot ? v->snapshot : "-",
              (long long)v->opened_ms, (long long)v->received_ms, (long long)v->closed_ms,
              (long long)v->updated_ms);
    return 0;
}

static void scoped_lists(bool on_pg, struct twin_log *l)
{
    for (int s = 0; s < NSCOPES; s++) {
        for (int status = -1; status <= PFS_MERCHANT_ACTIVE; status += 1 + (status < 0) * 3) {
            char after[128] = "";
            bool more = true;
            int rc = 0;

            twin_logf(l, "merchant_list_in %s status %d\n", scope_names[s], status);
            while (more && rc == 0) {
                last_merchant[0] = '\0';
                rc = OP(merchant_list_in, scopes[s], status, after[0] ? after : NULL, 2,
                        merchant_cb, l, &more);
                twin_logf(l, " page %d more %d\n", rc, more);
                snprintf(after, sizeof(after), "%s", last_merchant);
            }
        }
        twin_logf(l, "repair_list_in %s: %d\n", scope_names[s],
                  OP(repair_list_in, scopes[s], NULL, -1, 10, repair_cb, l));
        twin_logf(l, "repair_list_in %s open: %d\n", scope_names[s],
                  OP(repair_list_in, scopes[s], NULL, -2, 10, repair_cb, l));
        twin_logf(l, "repair_list_in %s T4: %d\n", scope_names[s],
                  OP(repair_list_in, scopes[s], "T4", PFS_REPAIR_OPEN, 10, repair_cb, l));
        twin_logf(l, "repair_list_in %s received: %d\n", scope_names[s],
                  OP(repair_list_in, scopes[s], NULL, PFS_REPAIR_RECEIVED, 10, repair_cb, l));
        twin_logf(l, "repair_list_in %s limit 1: %d\n", scope_names[s],
                  OP(repair_list_in, scopes[s], NULL, -1, 1, repair_cb, l));
    }
}

static int count_cb(void *ctx, const struct pfs_audit *a)
{
    (void)a;
    (*(int *)ctx)++;
    return 0;
}

static void scenario(bool on_pg, struct twin_log *l)
{
    struct pf_error err = {0};
    struct pfs_org o;
    struct pfs_user_rec u;
    struct pfs_session_rec sess;
    struct pfs_apitoken_rec tok, out;
    uint8_t h[8][PFS_SECRET_HASH];
    int64_t id = 0;
    bool more;
    int rc;

    for (int i = 0; i < 8; i++)
        hash_of(h[i], i + 1);

    scoped_lists(on_pg, l);

    /* Organisations: a refused name does not use up an id. */
    rc = OP(org_add, &hq, "north", 1, &root, 1000, &o, &err);
    step(l, "org_add north", rc, &err);
    if (!rc)
        org_cb(l, &o);
    rc = OP(org_add, &east, "east-2", 2, &eadm, 1001, &o, &err);
    step(l, "org_add east-2", rc, &err);
    if (!rc)
        org_cb(l, &o);
    step(l, "org_add under west from east", OP(org_add, &east, "x", 3, &eadm, 1002, &o, &err),
         &err);
    step(l, "org_add taken", OP(org_add, &hq, "north", 1, &root, 1003, &o, &err), &err);
    rc = OP(org_add, &hq, "after", 5, &root, 1004, &o, &err);
    step(l, "org_add after", rc, &err);
    if (!rc)
        org_cb(l, &o);
    for (int s = 0; s < NSCOPES; s++) {
        twin_logf(l, "org_get west by name in %s: %d\n", scope_names[s],
                  OP(org_get, scopes[s], 0, "west", &o));
        twin_logf(l, "org_get 4 in %s: %d\n", scope_names[s], OP(org_get, scopes[s], 4, NULL, &o));
        twin_logf(l, "org_list %s: %d\n", scope_names[s], OP(org_list, scopes[s], org_cb, l));
    }
    step(l, "merchant_set_org M-SZ-2 -> 4",
         OP(merchant_set_org, &east, "M-SZ-2", 4, &eadm, 1100, &err), &err);
    step(l, "merchant_set_org M-XJ-1 from east",
         OP(merchant_set_org, &east, "M-XJ-1", 2, &eadm, 1101, &err), &err);
    step(l, "merchant_set_org to west from east",
         OP(merchant_set_org, &east, "M-SZ-1", 3, &eadm, 1102, &err), &err);
    id = 0;
    twin_logf(l, "merchant_org M-SZ-2: %d", OP(merchant_org, "M-SZ-2", &id));
    twin_logf(l, " %lld; nope: %d\n", (long long)id, OP(merchant_org, "nope", &id));

    /* Users. */
    {
        struct pfs_user_rec add[] = {
                {.name = "alice", .pwhash = "h-alice", .role = "admin", .org_id = 1},
                {.name = "bob", .pwhash = "h-bob", .role = "support", .org_id = 2},
                {.name = "carol",
                 .pwhash = "h-carol",
                 .role = "merchant",
                 .org_id = 2,
                 .merchant = "M-SZ-1"},
                {.name = "dave",
                 .pwhash = "h",
                 .role = "merchant",
                 .org_id = 3,
                 .merchant = "M-SZ-1"},
                {.name = "eve", .pwhash = "h", .role = "viewer", .org_id = 3},
                {.name = "alice", .pwhash = "h", .role = "viewer", .org_id = 1},
                {.name = "fred",
                 .pwhash = "h",
                 .role = "merchant",
                 .org_id = 3,
                 .merchant = "M-XJ-1"},
        };
        const struct pfs_scope *by[] = {&hq, &east, &east, &hq, &east, &hq, &east};

        for (size_t i = 0; i < sizeof(add) / sizeof(add[0]); i++) {
            char what[128];

            snprintf(what, sizeof(what), "user_add %.64s", add[i].name);
            step(l, what, OP(user_add, by[i], &add[i], &root, 1200 + (int64_t)i, &err), &err);
        }
    }
    for (int s = 0; s < NSCOPES; s++) {
        rc = OP(user_get, scopes[s], "bob", &u);
        twin_logf(l, "user_get bob in %s: %d\n", scope_names[s], rc);
        if (!rc)
            log_user(l, &u);
        twin_logf(l, "user_list %s: %d\n", scope_names[s], OP(user_list, scopes[s], user_cb, l));
    }

    /* Logins. */
    step(l, "login failed", OP(user_login_result, "bob", PFS_LOGIN_FAILED, 0, &root, 1300, &err),
         &err);
    step(l, "login locked", OP(user_login_result, "bob", PFS_LOGIN_LOCKED, 5000, &root, 1301, &err),
         &err);
    step(l, "login locked earlier",
         OP(user_login_result, "bob", PFS_LOGIN_LOCKED, 4000, &root, 1302, &err), &err);
    ck_assert_int_eq(OP(user_get, NULL, "bob", &u), 0);
    log_user(l, &u);
    ck_assert_int_eq(u.failed, 3);
    ck_assert_int_eq(u.locked_until_ms, 5000);
    step(l, "login refused", OP(user_login_result, "bob", PFS_LOGIN_REFUSED, 0, &root, 1303, &err),
         &err);
    step(l, "login ok", OP(user_login_result, "bob", PFS_LOGIN_OK, 0, &root, 1304, &err), &err);
    step(l, "login nobody", OP(user_login_result, "nobody", PFS_LOGIN_FAILED, 0, &root, 1305, &err),
         &err);
    ck_assert_int_eq(OP(user_get, NULL, "bob", &u), 0);
    log_user(l, &u);

    /* Sessions and passwords. */
    step(l, "session 1", OP(session_add, h[0], "bob", "csrf-1", 1400, 90000, &err), &err);
    step(l, "session 2", OP(session_add, h[1], "bob", "csrf-2", 1401, 90000, &err), &err);
    step(l, "session 1 again", OP(session_add, h[0], "bob", "csrf-x", 1402, 90000, &err), &err);
    step(l, "session of nobody", OP(session_add, h[2], "ghost", "csrf-3", 1403, 90000, &err), &err);
    step(l, "session short", OP(session_add, h[3], "alice", "csrf-4", 1404, 1500, &err), &err);
    for (int i = 0; i < 4; i++) {
        rc = OP(session_get, h[i], 1450, &sess);
        twin_logf(l, "session_get %d at 1450: %d\n", i, rc);
        if (!rc) {
            log_user(l, &sess.user);
            twin_logf(l, "  csrf %s %lld\n", sess.csrf, (long long)sess.expires_ms);
        }
    }
    twin_logf(l, "session_get 3 at 2000: %d\n", OP(session_get, h[3], 2000, &sess));
    step(l, "set_password keep 1", OP(user_set_password, "bob", "h-bob-2", h[0], &root, 1500, &err),
         &err);
    twin_logf(l, "session_get 0: %d 1: %d\n", OP(session_get, h[0], 1600, &sess),
              OP(session_get, h[1], 1600, &sess));
    ck_assert_int_eq(OP(session_get, h[0], 1600, &sess), 0);
    ck_assert_int_eq(OP(session_get, h[1], 1600, &sess), PF_ENOENT);
    step(l, "rehash", OP(user_rehash, "bob", "h-bob-2", "h-bob-3", 1601, &err), &err);
    step(l, "rehash stale", OP(user_rehash, "bob", "h-bob-2", "h-bob-4", 1602, &err), &err);
    ck_assert_int_eq(OP(user_get, NULL, "bob", &u), 0);
    ck_assert_str_eq(u.pwhash, "h-bob-3");
    step(l, "session_end 0", OP(session_end, h[0], &eadm, 1700, &err), &err);
    step(l, "session_end 0 again", OP(session_end, h[0], &eadm, 1701, &err), &err);
    step(l, "set_password all",
         OP(user_set_password, "alice", "h-alice-2", NULL, &root, 1702, &err), &err);

    /* Roles and disabling. */
    step(l, "role bob ops", OP(user_set_role, &east, "bob", "ops", &eadm, 1800, &err), &err);
    step(l, "role carol admin", OP(user_set_role, &hq, "carol", "admin", &root, 1801, &err), &err);
    step(l, "role bob merchant", OP(user_set_role, &hq, "bob", "merchant", &root, 1802, &err),
         &err);
    step(l, "role bob from west", OP(user_set_role, &west, "bob", "viewer", &root, 1803, &err),
         &err);
    step(l, "session 5", OP(session_add, h[4], "carol", "csrf-5", 1804, 90000, &err), &err);

    /* API tokens: a refused name does not use up an id. */
    {
        struct pfs_apitoken_rec t[] = {
                {.name = "ci", .user = "bob", .created_ms = 1900, .expires_ms = 90000},
                {.name = "ci", .user = "alice", .created_ms = 1901, .expires_ms = 90000},
                {.name = "ci", .user = "bob", .created_ms = 1902, .expires_ms = 90000},
                {.name = "deploy", .user = "bob", .created_ms = 1903, .expires_ms = 1950},
                {.name = "m", .user = "carol", .created_ms = 1904, .expires_ms = 90000},
        };

        for (int i = 0; i < 5; i++) {
            rc = OP(apitoken_add, h[i + 3], &t[i], &eadm, &out, &err);
            step(l, "apitoken_add", rc, &err);
            if (!rc)
                log_token(l, &out);
        }
    }
    for (int i = 3; i < 8; i++) {
        rc = OP(apitoken_use, h[i], 1960, &tok, &u);
        twin_logf(l, "apitoken_use %d: %d\n", i, rc);
        if (!rc) {
            log_token(l, &tok);
            log_user(l, &u);
        }
    }
    for (int s = 0; s < NSCOPES; s++)
        twin_logf(l, "apitoken_list %s: %d\n", scope_names[s],
                  OP(apitoken_list, scopes[s], NULL, token_cb, l));
    twin_logf(l, "apitoken_list alice: %d\n", OP(apitoken_list, &hq, "alice", token_cb, l));
    step(l, "revoke alice's from east", OP(apitoken_revoke, &east, NULL, 2, &eadm, 2000, &err),
         &err);
    step(l, "revoke bob's as alice", OP(apitoken_revoke, &hq, "alice", 1, &root, 2001, &err), &err);
    step(l, "revoke bob's", OP(apitoken_revoke, &east, "bob", 1, &eadm, 2002, &err), &err);
    step(l, "revoke bob's again", OP(apitoken_revoke, &east, "bob", 1, &eadm, 2003, &err), &err);
    twin_logf(l, "apitoken_use revoked: %d\n", OP(apitoken_use, h[3], 2004, &tok, &u));

    /* Disabled users: no session, no token, until enabled again. */
    step(l, "disable carol from west",
         OP(user_set_disabled, &west, "carol", true, &root, 2100, &err), &err);
    step(l, "disable carol", OP(user_set_disabled, &east, "carol", true, &eadm, 2101, &err), &err);
    twin_logf(l, "carol disabled: session %d token %d\n", OP(session_get, h[4], 2102, &sess),
              OP(apitoken_use, h[7], 2102, &tok, &u));
    ck_assert_int_eq(OP(apitoken_use, h[7], 2102, &tok, &u), PF_ENOENT);
    step(l, "enable carol", OP(user_set_disabled, &east, "carol", false, &eadm, 2103, &err), &err);
    twin_logf(l, "carol enabled: session %d token %d\n", OP(session_get, h[4], 2104, &sess),
              OP(apitoken_use, h[7], 2104, &tok, &u));

    /* Scope checks. */
    for (int s = 0; s < NSCOPES; s++) {
        static const char *const serials[] = {"T1", "T2", "T3", "T4", "T5",
                                              "T6", "T7", "T8", "T9", "nope"};
        static const char *const merchants[] = {"M-SZ-1", "M-SZ-2", "M-XJ-1",
                                                "M-EN-1", "M-HQ-1", "nope"};
        static const char *const diags[] = {"d-1", "d-4", "d-6", "nope"};

        twin_logf(l, "scope %s: serial", scope_names[s]);
        for (int i = 0; i < 10; i++)
            twin_logf(l, " %d", OP(scope_serial, scopes[s], serials[i]));
        twin_logf(l, " merchant");
        for (int i = 0; i < 6; i++)
            twin_logf(l, " %d", OP(scope_merchant, scopes[s], merchants[i]));
        twin_logf(l, " repair");
        for (int i = 1; i <= 4; i++)
            twin_logf(l, " %d", OP(scope_repair, scopes[s], i));
        twin_logf(l, " diag");
        for (int i = 0; i < 4; i++)
            twin_logf(l, " %d", OP(scope_diag, scopes[s], diags[i]));
        twin_logf(l, " rollout %d\n", OP(scope_rollout, scopes[s], 1));
    }

    /* Support requests. */
    {
        struct pfs_support_req r[] = {
                {.merchant = "M-SZ-1",
                 .serial = "T1",
                 .subject = "paper",
                 .body = "jams",
                 .opened_by = "carol",
                 .created_ms = 2200},
                {.merchant = "M-XJ-1",
                 .subject = "lock",
                 .body = "locked",
                 .opened_by = "fred",
                 .created_ms = 2201},
                {.merchant = "nope",
                 .subject = "s",
                 .body = "b",
                 .opened_by = "x",
                 .created_ms = 2202},
                {.merchant = "M-EN-1",
                 .subject = "s",
                 .body = "b",
                 .opened_by = "y",
                 .created_ms = 2203},
        };

        for (int i = 0; i < 4; i++) {
            rc = OP(support_add, &r[i], &root, &id, &err);
            twin_logf(l, "support_add %d: %d %lld\n", i, rc, rc ? 0LL : (long long)id);
            pf_error_clear(&err);
        }
    }
    for (int s = 0; s < NSCOPES; s++)
        twin_logf(l, "support_list %s: %d\n", scope_names[s],
                  OP(support_list, scopes[s], 10, support_cb, l));
    twin_logf(l, "support_list 1: %d\n", OP(support_list, NULL, 1, support_cb, l));

    /* The audit rows, all of them, and as each scope sees them. */
    for (int s = 0; s < NSCOPES; s++) {
        struct pfs_search_audit q = {.scope = scopes[s], .limit = 200};

        twin_logf(l, "audit %s: %d\n", scope_names[s], OP(search_audit, &q, audit_cb, l, &more));
    }
}

START_TEST(same_as_sqlite)
{
    static struct twin_log sq, pg;

    twin_up("pg_accounts_twin");
    twin_sql(twin_fleet_sql);
    /* A repair further along, with fault codes and parts. The parts' keys
     * are in the order jsonb keeps (shorter first): a jsonb column does not
     * keep the order a request wrote them in, so {"part":..,"n":..} would come
     * back as {"n":..,"part":..} (docs/store.md, "Schema"). */
    twin_sql("UPDATE repairs SET state = 'received', received_ms = 5, fault_codes ="
             " '[\"E1\",\"E2\"]', parts = '[{\"n\":1,\"part\":\"lcd\"}]', notes = 'n',"
             " snapshot = '{\"taken_ms\": 1,\"alerts\":[]}' WHERE serial = 'T4';"
             "UPDATE repairs SET closed_ms = 9, state = 'scrapped' WHERE serial = 'T3';");
    memset(&sq, 0, sizeof(sq));
    memset(&pg, 0, sizeof(pg));
    scenario(false, &sq);
    scenario(true, &pg);
    twin_compare(&sq, &pg);
    twin_dump(&pg);
    /* The scenario reached what it tests. */
    ck_assert_ptr_nonnull(strstr(pg.text, "org_add taken: -"));
    ck_assert_ptr_nonnull(strstr(pg.text, "[\"E1\",\"E2\"] [{\"n\":1,\"part\":\"lcd\"}]"));
    ck_assert_ptr_nonnull(strstr(pg.text, "merchant_list_in east status -1\n  merchant M-EN-1 "));
    ck_assert_ptr_nonnull(strstr(pg.text, "organisation north exists"));
    ck_assert_ptr_nonnull(strstr(pg.text, "  org 7 after 1 5 /1/5/7/ 1004"));
    ck_assert_ptr_nonnull(strstr(pg.text, "  token 3 deploy bob 1903"));
    ck_assert_ptr_nonnull(strstr(pg.text, "\"org_id\":4"));
    ck_assert_ptr_nonnull(strstr(pg.text, "user.disable carol {\"disabled_ms\":0}"));
    twin_down();
}
END_TEST

/* Two instances adding organisations at the same moment: each add takes
 * the next id under the table's lock, none is refused or doubled. */
START_TEST(concurrent_org_adds)
{
    struct pfs_pg_store *other = NULL;
    struct pf_error err = {0};
    struct pfs_org o;
    const char *dsn = twin__dsn;
    int n = 0;

    twin_up("pg_accounts_race");
    ck_assert_msg(pfs_pg_store_open(dsn, &other, &err) == 0, "%s", err.msg);
    /* other holds the lock in an open transaction; a second session's add
     * must wait for it, then number after it. */
    ck_assert_int_eq(pfs_pg_exec(other->pg, "BEGIN", 0, NULL, &err), 0);
    ck_assert_int_eq(
            pfs_pg_exec(other->pg, "LOCK TABLE orgs IN SHARE ROW EXCLUSIVE MODE", 0, NULL, &err),
            0);
    ck_assert_int_eq(pfs_pg_exec(other->pg,
                                 "INSERT INTO orgs (id, name, kind, parent, path, created_ms)"
                                 " VALUES (2, 'first', 'agent', 1, '/1/2/', 1)",
                                 0, NULL, &err),
                     0);
    {
        pid_t pid = fork();

        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
            struct pfs_pg_store *child = NULL;
            int rc = pfs_pg_store_open(dsn, &child, &err);

            if (!rc)
                rc = pfs_pg_org_add(child, NULL, "second", 1, &root, 2, &o, &err);
            _exit(rc == 0 && o.id == 3 ? 0 : 1);
        }
        /* The child waits on the lock: commit once it does. */
        for (int i = 0; i < 500 && n == 0; i++) {
            PGresult *res = NULL;

            ck_assert_int_eq(pfs_pg_query(twin_pg->pg,
                                          "SELECT count(*) FROM pg_locks WHERE NOT granted"
                                          " AND relation = 'orgs'::regclass",
                                          0, NULL, &res, &err),
                             0);
            n = (int)pfs_pg_col_i64(res, 0, 0);
            PQclear(res);
            if (n == 0)
                usleep(10000);
        }
        ck_assert_int_eq(n, 1);
        ck_assert_int_eq(pfs_pg_exec(other->pg, "COMMIT", 0, NULL, &err), 0);
        {
            int status = 0;

            ck_assert_int_eq(waitpid(pid, &status, 0), pid);
            ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        }
    }
    ck_assert_int_eq(pfs_pg_org_get(twin_pg, NULL, 0, "second", &o), 0);
    ck_assert_int_eq(o.id, 3);
    ck_assert_str_eq(o.path, "/1/3/");
    pfs_pg_store_close(other);
    twin_down();
}
END_TEST

/* A transaction opened by domain code refuses an administrative call, as
 * the SQLite store does. */
START_TEST(refused_inside_open_transaction)
{
    struct pf_error err = {0};
    struct pfs_org o;

    twin_up("pg_accounts_open_tx");
    twin_pg->tx.open = true;
    ck_assert_int_eq(pfs_pg_org_add(twin_pg, NULL, "x", 1, &root, 1, &o, &err), PF_ESTATE);
    twin_pg->tx.open = false;
    ck_assert_int_eq(pfs_pg_org_get(twin_pg, NULL, 0, "x", &o), PF_ENOENT);
    twin_down();
}
END_TEST

/* The store's session ended by the server between two calls (a restart, a
 * failover, an administrator): the next read and the next write reconnect,
 * the write is committed once. */
START_TEST(session_lost_between_calls)
{
    struct pfs_pg_store *admin = NULL;
    struct pf_error err = {0};
    struct pfs_user_rec u = {.name = "zed", .pwhash = "h", .role = "viewer", .org_id = 1};
    struct pfs_org o;
    char pid[16];
    const char *p[1] = {pid};
    PGresult *res = NULL;

    twin_up("pg_accounts_lost");
    ck_assert_msg(pfs_pg_store_open(twin__dsn, &admin, &err) == 0, "%s", err.msg);
    for (int round = 0; round < 2; round++) {
        snprintf(pid, sizeof(pid), "%d", pfs_pg_backend_pid(twin_pg->pg));
        ck_assert_int_eq(
                pfs_pg_query(admin->pg, "SELECT pg_terminate_backend($1::int)", 1, p, &res, &err),
                0);
        PQclear(res);
        if (round == 0) {
            ck_assert_int_eq(pfs_pg_org_get(twin_pg, NULL, 1, NULL, &o), 0);
            ck_assert_str_eq(o.name, "headquarters");
        } else {
            ck_assert_msg(pfs_pg_user_add(twin_pg, NULL, &u, &root, 10, &err) == 0, "%s", err.msg);
        }
        ck_assert_str_ne(pid, "0");
    }
    ck_assert_int_eq(pfs_pg_query(admin->pg,
                                  "SELECT (SELECT count(*) FROM users WHERE name = 'zed'),"
                                  " (SELECT count(*) FROM audit WHERE action = 'user.add')",
                                  0, NULL, &res, &err),
                     0);
    ck_assert_int_eq(pfs_pg_col_i64(res, 0, 0), 1);
    ck_assert_int_eq(pfs_pg_col_i64(res, 0, 1), 1);
    PQclear(res);
    pfs_pg_store_close(admin);
    twin_down();
}
END_TEST

/* store.backend = postgres: store_accounts.h and store_search.h reach these
 * twins through the ops table. */
START_TEST(reached_through_the_store_interface)
{
    struct pfs_store_opts o = {.backend = "postgres"};
    struct pfs_store *st = NULL;
    struct pf_error err = {0};
    struct pfs_search_audit q = {.limit = 10};
    struct pfs_org org;
    bool more = true;
    int n = 0;

    twin_up("pg_accounts_ops");
    o.dsn = twin__dsn;
    ck_assert_msg(pfs_store_open(&o, &st, &err) == 0, "%s", err.msg);
    ck_assert_msg(pfs_store_org_add(st, NULL, "north", 1, &root, 5, &org, &err) == 0, "%s",
                  err.msg);
    ck_assert_int_eq(org.id, 2);
    ck_assert_int_eq(pfs_store_org_get(st, NULL, 0, "north", &org), 0);
    ck_assert_int_eq(pfs_store_scope_merchant(st, NULL, "nope"), PF_ENOENT);
    ck_assert_int_eq(pfs_store_search_audit(st, &q, count_cb, &n, &more), 0);
    ck_assert_int_eq(n, 1);
    ck_assert(!more);
    pfs_store_close(st);
    twin_down();
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("pg_accounts");
    TCase *tc = tcase_create("core");

    tcase_add_unchecked_fixture(tc, twin_server_up, twin_server_down);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, same_as_sqlite);
    tcase_add_test(tc, concurrent_org_adds);
    tcase_add_test(tc, refused_inside_open_transaction);
    tcase_add_test(tc, session_lost_between_calls);
    tcase_add_test(tc, reached_through_the_store_interface);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return pf_test_run(suite());
}
