/*
 * test_accounts.c - accounts/ and store_accounts.h without HTTP: the login
 * throttle, roles, secrets, Argon2id work, sessions and API tokens that
 * expire and are revoked, and the scope of a rollout made by an agent (its
 * cohort, its preview scan, its list, its id) in the real SQLite store.
 */
#include <check.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "accounts/accounts.h"
#include "rollouts/rollout_def.h"
#include "store/store.h"
#include "store/store_accounts.h"
#include "store/store_lifecycle.h"
#include "store/store_rollouts.h"
#include "store/store_updates.h"
#include "testutil.h"

static char dir[256];
static struct pfs_store *st;
static const struct pfs_actor hq = {.name = "ada", .role = "admin", .org_path = "/1/"};

static int64_t fake_now = 1000000;

static int64_t fake_wall(void *ctx)
{
    (void)ctx;
    return fake_now;
}

static const struct pf_clock fake_clock = {fake_wall, fake_wall, NULL};

static void setup(void)
{
    struct pfs_store_opts o = {.path = NULL};
    struct pf_error err = {0};
    char path[300];

    pf_test_tmpdir(dir, sizeof(dir));
    snprintf(path, sizeof(path), "%s/s.db", dir);
    o.path = path;
    ck_assert_msg(pfs_store_open(&o, &st, &err) == 0, "%s", err.msg);
}

static void teardown(void)
{
    pfs_store_close(st);
    st = NULL;
    pf_test_rmtree(dir);
}

START_TEST(throttle_rules)
{
    struct pfs_accounts a;

    pfs_accounts_init(&a, NULL, NULL, &fake_clock);
    /* Account: the fifth failure in a row locks for lock_ms. */
    ck_assert_int_eq(pfs_accounts_lock_until(&a, 3, 100), 0);
    ck_assert_int_eq(pfs_accounts_lock_until(&a, 4, 100), 100 + a.lock_ms);
    /* Address: the twentieth failure within the window locks it, others are unaffected. */
    for (int i = 0; i < 19; i++)
        ck_assert(!pfs_accounts_addr_failed(&a, "10.0.0.1", 1000 + i));
    ck_assert(!pfs_accounts_addr_locked(&a, "10.0.0.1", 2000));
    ck_assert(pfs_accounts_addr_failed(&a, "10.0.0.1", 2000));
    ck_assert(pfs_accounts_addr_locked(&a, "10.0.0.1", 2001));
    ck_assert(!pfs_accounts_addr_locked(&a, "10.0.0.2", 2001));
    ck_assert(!pfs_accounts_addr_locked(&a, "10.0.0.1", 2000 + a.lock_ms));
    /* Failures spread wider than the window never lock. */
    for (int i = 0; i < 40; i++)
        ck_assert(!pfs_accounts_addr_failed(&a, "10.0.0.3", (int64_t)i * (a.lock_ms / 10)));
    pfs_accounts_release(&a);
}
END_TEST

START_TEST(roles)
{
    /* merchant reads like viewer and opens support requests; nothing else. */
    ck_assert(pfs_role_may(PFS_ROLE_MERCHANT, PFS_ROLE_VIEWER));
    ck_assert(!pfs_role_may(PFS_ROLE_MERCHANT, PFS_ROLE_SUPPORT));
    ck_assert(pfs_role_may(PFS_ROLE_MERCHANT, PFS_ROLE_MERCHANT));
    ck_assert(pfs_role_may(PFS_ROLE_SUPPORT, PFS_ROLE_MERCHANT));
    ck_assert(!pfs_role_may(PFS_ROLE_VIEWER, PFS_ROLE_MERCHANT));
    ck_assert(!pfs_role_may(PFS_ROLE_APPROVER, PFS_ROLE_MERCHANT));
    /* admin is above ops, and still no approver. */
    ck_assert(pfs_role_may(PFS_ROLE_ADMIN, PFS_ROLE_OPS));
    ck_assert(pfs_role_may(PFS_ROLE_ADMIN, PFS_ROLE_ADMIN));
    ck_assert(!pfs_role_may(PFS_ROLE_OPS, PFS_ROLE_ADMIN));
    ck_assert(!pfs_role_may(PFS_ROLE_ADMIN, PFS_ROLE_APPROVER));
    ck_assert_int_eq(pfs_role_parse("merchant"), PFS_ROLE_MERCHANT);
    ck_assert_int_eq(pfs_role_parse("root"), -1);
}
END_TEST

static bool pw_called, pw_ok;
static char pw_hash[PFS_PWHASH_MAX + 1];

static void pw_done(void *ctx, int rc, bool verified, const char *new_hash)
{
    (void)ctx;
    ck_assert_int_eq(rc, 0);
    pw_called = true;
    pw_ok = verified;
    snprintf(pw_hash, sizeof(pw_hash), "%s", new_hash);
}

START_TEST(passwords_and_secrets)
{
    struct pfs_accounts a;
    char t1[PFS_SECRET_TEXT_LEN + 1], t2[PFS_SECRET_TEXT_LEN + 1];
    uint8_t h1[PFS_SECRET_HASH], h2[PFS_SECRET_HASH], h3[PFS_SECRET_HASH];
    char hash[PFS_PWHASH_MAX + 1];

    pfs_accounts_init(&a, NULL, NULL, &fake_clock);
    a.opslimit = crypto_pwhash_OPSLIMIT_MIN;
    a.memlimit = crypto_pwhash_MEMLIMIT_MIN;
    ck_assert_int_eq(pfs_accounts_pw(&a, NULL, NULL, "correct horse", pw_done, NULL), 0);
    ck_assert(pw_called);
    ck_assert_ptr_nonnull(strstr(pw_hash, "$argon2id$"));
    ck_assert_ptr_null(strstr(pw_hash, "correct horse"));
    snprintf(hash, sizeof(hash), "%s", pw_hash);
    pw_called = false;
    ck_assert_int_eq(pfs_accounts_pw(&a, "correct horse", hash, NULL, pw_done, NULL), 0);
    ck_assert(pw_called && pw_ok);
    ck_assert_int_eq(pfs_accounts_pw(&a, "wrong horse", hash, NULL, pw_done, NULL), 0);
    ck_assert(!pw_ok);
    /* An unknown user: no hash to check against, never a match. */
    ck_assert_int_eq(pfs_accounts_pw(&a, "correct horse", "", NULL, pw_done, NULL), 0);
    ck_assert(!pw_ok);
    /* Secrets: fresh each time, 43 characters, hashed. */
    ck_assert_int_eq(pfs_accounts_secret(t1, h1), 0);
    ck_assert_int_eq(pfs_accounts_secret(t2, h2), 0);
    ck_assert_uint_eq(strlen(t1), 43);
    ck_assert_str_ne(t1, t2);
    ck_assert_int_eq(pfs_accounts_secret_hash(t1, strlen(t1), h3), 0);
    ck_assert_int_eq(memcmp(h1, h3, sizeof(h1)), 0);
    pfs_accounts_release(&a);
}
END_TEST

static void user(const char *name, const char *role, int64_t org, const char *merchant)
{
    struct pfs_user_rec u = {0};
    struct pf_error err = {0};

    snprintf(u.name, sizeof(u.name), "%s", name);
    snprintf(u.role, sizeof(u.role), "%s", role);
    snprintf(u.pwhash, sizeof(u.pwhash), "$argon2id$v=19$m=8,t=1,p=1$x$y");
    u.org_id = org;
    snprintf(u.merchant, sizeof(u.merchant), "%s", merchant ? merchant : "");
    ck_assert_msg(pfs_store_user_add(st, NULL, &u, &hq, fake_now, &err) == 0, "%s", err.msg);
}

START_TEST(sessions_and_tokens_expire)
{
    struct pfs_accounts a;
    struct pfs_principal p;
    struct pfs_apitoken_rec t = {0}, out;
    struct pf_error err = {0};
    char sess[PFS_SECRET_TEXT_LEN + 1], tok[PFS_SECRET_TEXT_LEN + 1];
    uint8_t hs[PFS_SECRET_HASH], ht[PFS_SECRET_HASH];

    pfs_accounts_init(&a, NULL, st, &fake_clock);
    user("vera", "viewer", PFS_HQ_ORG_ID, NULL);
    ck_assert_int_eq(pfs_accounts_secret(sess, hs), 0);
    ck_assert_int_eq(pfs_store_session_add(st, hs, "vera", "csrf", fake_now, fake_now + 1000, &err),
                     0);
    ck_assert_int_eq(pfs_accounts_authenticate(&a, sess, strlen(sess), &p), 0);
    ck_assert_str_eq(p.name, "vera");
    ck_assert_int_eq(p.via, PFS_VIA_SESSION);
    ck_assert_str_eq(p.scope.path, "/1/");
    ck_assert_str_eq(p.csrf, "csrf");
    /* A token: works, records its use, then expires; another is revoked. */
    ck_assert_int_eq(pfs_accounts_secret(tok, ht), 0);
    snprintf(t.name, sizeof(t.name), "ci");
    snprintf(t.user, sizeof(t.user), "vera");
    t.created_ms = fake_now;
    t.expires_ms = fake_now + 5000;
    ck_assert_int_eq(pfs_store_apitoken_add(st, ht, &t, &hq, &out, &err), 0);
    fake_now += 500;
    ck_assert_int_eq(pfs_accounts_authenticate(&a, tok, strlen(tok), &p), 0);
    ck_assert_int_eq(p.via, PFS_VIA_TOKEN);
    fake_now += 600; /* the session's 1000 ms are over */
    ck_assert_int_eq(pfs_accounts_authenticate(&a, sess, strlen(sess), &p), PF_EAUTH);
    ck_assert_int_eq(pfs_store_apitoken_revoke(st, NULL, "vera", out.id, &hq, fake_now, &err), 0);
    ck_assert_int_eq(pfs_accounts_authenticate(&a, tok, strlen(tok), &p), PF_EAUTH);
    ck_assert_int_eq(pfs_accounts_authenticate(&a, "nonsense", 8, &p), PF_EAUTH);
    pfs_accounts_release(&a);
}
END_TEST

/* A hash made at lower Argon2id limits is made again, with today's, at a login. */
START_TEST(login_rehashes_old_limits)
{
    struct pfs_accounts a;
    struct pfs_user_rec u;
    struct pf_error err = {0};
    char old[PFS_PWHASH_MAX + 1];

    pfs_accounts_init(&a, NULL, st, &fake_clock);
    a.opslimit = crypto_pwhash_OPSLIMIT_MIN;
    a.memlimit = crypto_pwhash_MEMLIMIT_MIN;
    ck_assert_int_eq(crypto_pwhash_str(old, "correct horse", 13, a.opslimit, a.memlimit), 0);
    user("olga", "viewer", PFS_HQ_ORG_ID, NULL);
    ck_assert_int_eq(pfs_store_user_rehash(st, "olga", "$argon2id$v=19$m=8,t=1,p=1$x$y", old,
                                           fake_now, &err),
                     0);
    /* At the same limits: checked, nothing to redo. */
    pw_hash[0] = 'x';
    ck_assert_int_eq(pfs_accounts_pw(&a, "correct horse", old, NULL, pw_done, NULL), 0);
    ck_assert(pw_ok);
    ck_assert_str_eq(pw_hash, "");
    /* The limits went up: the same check hands back a hash made with them. */
    a.opslimit = crypto_pwhash_OPSLIMIT_MIN + 1;
    a.memlimit = 2 * crypto_pwhash_MEMLIMIT_MIN;
    ck_assert_int_ne(crypto_pwhash_str_needs_rehash(old, a.opslimit, a.memlimit), 0);
    ck_assert_int_eq(pfs_accounts_pw(&a, "correct horse", old, NULL, pw_done, NULL), 0);
    ck_assert(pw_ok);
    ck_assert_ptr_nonnull(strstr(pw_hash, "$argon2id$"));
    ck_assert_int_eq(crypto_pwhash_str_needs_rehash(pw_hash, a.opslimit, a.memlimit), 0);
    ck_assert_int_eq(crypto_pwhash_str_verify(pw_hash, "correct horse", 13), 0);
    /* A wrong password never yields one; a password change is not a rehash. */
    ck_assert_int_eq(pfs_accounts_pw(&a, "wrong horse", old, NULL, pw_done, NULL), 0);
    ck_assert(!pw_ok);
    ck_assert_str_eq(pw_hash, "");
    /* The store takes it only over the hash that was checked. */
    ck_assert_int_eq(crypto_pwhash_str(u.pwhash, "correct horse", 13, a.opslimit, a.memlimit), 0);
    ck_assert_int_eq(pfs_store_user_rehash(st, "olga", old, pw_hash, fake_now, &err), 0);
    ck_assert_int_eq(pfs_store_user_get(st, NULL, "olga", &u), 0);
    ck_assert_str_eq(u.pwhash, pw_hash);
    ck_assert_int_eq(pfs_store_user_rehash(st, "olga", old, "$argon2id$stale", fake_now, &err), 0);
    ck_assert_int_eq(pfs_store_user_get(st, NULL, "olga", &u), 0);
    ck_assert_str_eq(u.pwhash, pw_hash);
    pfs_accounts_release(&a);
}
END_TEST

/* --- a rollout of agent A --- */

static int change_status(void *ctx, struct pfs_merchant *m, struct pf_error *err)
{
    (void)err;
    m->status = *(enum pfs_merchant_status *)ctx;
    return 0;
}

static void merchant(const char *id, const char *first17)
{
    struct pfs_merchant m;
    struct pf_error err = {0};
    enum pfs_merchant_status to = PFS_MERCHANT_APPROVED;

    memset(&m, 0, sizeof(m));
    snprintf(m.id, sizeof(m.id), "%s", id);
    snprintf(m.name, sizeof(m.name), "Shop %s", id);
    snprintf(m.uscc, sizeof(m.uscc), "%s%c", first17, pfs_uscc_check_char(first17));
    snprintf(m.mcc, sizeof(m.mcc), "5411");
    snprintf(m.address, sizeof(m.address), "1 Road");
    snprintf(m.contact_name, sizeof(m.contact_name), "Li");
    snprintf(m.contact_phone, sizeof(m.contact_phone), "13800000000");
    snprintf(m.tz, sizeof(m.tz), "Asia/Shanghai");
    ck_assert_msg(pfs_store_merchant_add(st, &m, &hq, fake_now, &err) == 0, "%s", err.msg);
    ck_assert_msg(pfs_store_merchant_change(st, id, "approve", change_status, &to, &hq, fake_now,
                                            &m, &err) == 0,
                  "%s", err.msg);
}

static void terminal(const char *serial, const char *merchant_id)
{
    struct pfs_device d = {0};
    struct pf_error err = {0};

    snprintf(d.serial, sizeof(d.serial), "%s", serial);
    snprintf(d.model, sizeof(d.model), "PX-500");
    ck_assert_int_eq(pfs_store_device_add(st, &d, &hq, fake_now, &err), 0);
    if (merchant_id)
        ck_assert_msg(pfs_store_term_bind(st, serial, merchant_id, &hq, fake_now, &err) == 0, "%s",
                      err.msg);
}

static int scan_cb(void *ctx, const struct pfs_ro_candidate *c)
{
    char *seen = ctx;

    strncat(seen, c->serial, 200);
    strncat(seen, ",", 200);
    return 0;
}

static int list_cb(void *ctx, const struct pfs_rollout_rec *r)
{
    (*(int *)ctx)++;
    (void)r;
    return 0;
}

/* Creates a firmware rollout of bundle bid at 100 %, extra ("KEY:VALUE,")
 * spliced into the definition, as actor; expects rc. */
static void create_def(const char *bid, const char *extra, const struct pfs_actor *actor,
                       int64_t *id, int want, struct pf_error *err)
{
    struct pfs_bundle_rec b;
    struct pfs_ro_plan_stats stats;
    struct pfs_ro_def d;
    char def[512];
    json_t *o;

    ck_assert_int_eq(pfs_store_bundle_get(st, bid, &b), 0);
    snprintf(def, sizeof(def), "{\"name\":\"x\",%s\"bundle\":\"%s\",\"stages\":[\"100%%\"]}", extra,
             bid);
    o = json_loads(def, 0, NULL);
    ck_assert_msg(pfs_ro_def_parse(o, fake_now, &d, err) == 0, "%s", err->msg);
    ck_assert_msg(pfs_store_rollout_create(st, &d, &b, def, actor, fake_now, id, &stats, err) ==
                          want,
                  "%s", err->msg);
    pfs_ro_def_release(&d);
    json_decref(o);
}

START_TEST(agent_rollout_stays_inside)
{
    struct pfs_bundle_rec b = {0};
    struct pfs_ro_def d;
    struct pfs_ro_plan_stats stats;
    struct pfs_org a, bb;
    struct pfs_scope in_a = {"", ""}, in_b = {"", ""};
    struct pfs_actor ops_a = {.name = "opsA", .role = "ops", .org = "agentA"};
    struct pf_error err = {0};
    char seen[256] = "", def[256];
    json_t *o;
    int64_t id_a = 0, id_hq = 0;
    int n = 0;
    bool created;

    ck_assert_int_eq(pfs_store_org_add(st, NULL, "agentA", 1, &hq, fake_now, &a, &err), 0);
    ck_assert_int_eq(pfs_store_org_add(st, NULL, "agentB", 1, &hq, fake_now, &bb, &err), 0);
    snprintf(in_a.path, sizeof(in_a.path), "%s", a.path);
    snprintf(in_b.path, sizeof(in_b.path), "%s", bb.path);
    ops_a.org_path = a.path;
    merchant("MA", "91440300715267001");
    merchant("MB", "91440300715267002");
    ck_assert_int_eq(pfs_store_merchant_set_org(st, NULL, "MA", a.id, &hq, fake_now, &err), 0);
    ck_assert_int_eq(pfs_store_merchant_set_org(st, NULL, "MB", bb.id, &hq, fake_now, &err), 0);
    terminal("TA1", "MA");
    terminal("TA2", "MA");
    terminal("TB1", "MB");
    terminal("TS", NULL);
    snprintf(b.id, sizeof(b.id), "%064d", 7);
    b.kind = PF_KIND_FIRMWARE;
    snprintf(b.version, sizeof(b.version), "2.0.0");
    snprintf(b.models, sizeof(b.models), "PX-500");
    snprintf(b.hw_revs, sizeof(b.hw_revs), "A,B");
    b.size = 4096;
    memset(b.manifest, 'e', PF_B2_HEX_LEN);
    b.expires_s = 4000000000LL;
    ck_assert_int_eq(pfs_store_bundle_put(st, &b, &hq, fake_now, &created, &err), 0);
    /* The preview scan of agent A sees A's terminals only. */
    ck_assert_int_eq(pfs_store_rollout_scan_in(st, a.path, scan_cb, seen), 0);
    ck_assert_str_eq(seen, "TA1,TA2,");
    /* Agent A's ops plans a rollout to "everything": its cohort is A's two terminals. */
    snprintf(def, sizeof(def), "{\"name\":\"a\",\"bundle\":\"%s\",\"stages\":[\"100%%\"]}", b.id);
    o = json_loads(def, 0, NULL);
    ck_assert_msg(pfs_ro_def_parse(o, fake_now, &d, &err) == 0, "%s", err.msg);
    ck_assert_msg(
            pfs_store_rollout_create(st, &d, &b, def, &ops_a, fake_now, &id_a, &stats, &err) == 0,
            "%s", err.msg);
    ck_assert_int_eq(stats.cohort, 2);
    pfs_ro_def_release(&d);
    json_decref(o);
    /* Naming another agent's terminal outright changes nothing. */
    snprintf(def, sizeof(def),
             "{\"name\":\"b\",\"bundle\":\"%s\",\"stages\":[\"100%%\"],\"cohort\":{\"serials\":["
             "\"TB1\"]}}",
             b.id);
    o = json_loads(def, 0, NULL);
    ck_assert_msg(pfs_ro_def_parse(o, fake_now, &d, &err) == 0, "%s", err.msg);
    ck_assert_int_ne(
            pfs_store_rollout_create(st, &d, &b, def, &ops_a, fake_now, &id_hq, &stats, &err), 0);
    ck_assert_int_eq(stats.cohort, 0);
    pfs_ro_def_release(&d);
    json_decref(o);
    /* Headquarters' rollout of the same kind takes the rest (A's are held by A's rollout). */
    ck_assert_int_eq(pfs_store_rollout_scan_in(st, NULL, scan_cb, seen), 0);
    ck_assert_ptr_nonnull(strstr(seen, "TB1"));
    /* The rollout is A's: listed and reachable inside A, absent for B. */
    ck_assert_int_eq(pfs_store_rollout_list_in(st, a.path, false, 10, list_cb, &n), 0);
    ck_assert_int_eq(n, 1);
    n = 0;
    ck_assert_int_eq(pfs_store_rollout_list_in(st, bb.path, false, 10, list_cb, &n), 0);
    ck_assert_int_eq(n, 0);
    ck_assert_int_eq(pfs_store_scope_rollout(st, &in_a, id_a), 0);
    ck_assert_int_eq(pfs_store_scope_rollout(st, &in_b, id_a), PF_ENOENT);
    ck_assert_int_eq(pfs_store_scope_rollout(st, NULL, id_a), 0);
    /* Headquarters takes TB1; agent B's overlapping rollout is refused without
     * learning headquarters' rollout (id or existence beyond "another
     * organisation"), while headquarters' own overlap names agent A's. */
    {
        struct pfs_actor ops_b = {.name = "opsB", .role = "ops", .org = "agentB"};
        char idtext[64];
        int64_t id_b = 0;

        ops_b.org_path = bb.path;
        create_def(b.id, "\"cohort\":{\"serials\":[\"TB1\"]},", &hq, &id_hq, 0, &err);
        create_def(b.id, "", &ops_b, &id_b, PF_EEXIST, &err);
        snprintf(idtext, sizeof(idtext), "rollout %" PRId64, id_hq);
        ck_assert_ptr_null(strstr(err.msg, idtext));
        ck_assert_ptr_nonnull(
                strstr(err.msg, "TB1 is already in a rollout of another organisation"));
        create_def(b.id, "\"cohort\":{\"serials\":[\"TA1\"]},", &hq, &id_b, PF_EEXIST, &err);
        snprintf(idtext, sizeof(idtext), "TA1 is already in rollout %" PRId64 " ", id_a);
        ck_assert_msg(strstr(err.msg, idtext) != NULL, "%s", err.msg);
    }
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("accounts");
    TCase *tc = tcase_create("core");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, throttle_rules);
    tcase_add_test(tc, roles);
    tcase_add_test(tc, passwords_and_secrets);
    tcase_add_test(tc, sessions_and_tokens_expire);
    tcase_add_test(tc, login_rehashes_old_limits);
    tcase_add_test(tc, agent_rollout_stays_inside);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return pf_test_run(suite());
}
