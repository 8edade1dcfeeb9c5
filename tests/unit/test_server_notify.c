/*
 * test_server_notify.c - webhooks without a network: the hook.* and notify.*
 * configuration keys, the signature, the backoff, and which events become
 * stored deliveries for which hooks (a real SQLite store, no loop: nothing
 * is sent).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "base/config.h"
#include "notify/notify.h"
#include "pf/fileio.h"
#include "store/store_notify.h"

static int set(struct pfs_config *c, const char *k, const char *v, struct pf_error *err)
{
    return pfs_config_set(c, k, v, err);
}

START_TEST(config_keys)
{
    struct pfs_config c;
    struct pf_error err = {0};

    pfs_config_defaults(&c);
    ck_assert_int_eq(set(&c, "http.tls", "off", &err), 0); /* the hooks are what is checked */
    ck_assert_int_eq(set(&c, "hook.ops.url", "https://hooks.example/posfleet", &err), 0);
    ck_assert_int_eq(set(&c, "hook.ops.secret_file", "/etc/posfleet/ops.secret", &err), 0);
    ck_assert_int_eq(set(&c, "hook.ops.events", "tamper, lock,rollout.expired", &err), 0);
    ck_assert_int_eq(set(&c, "hook.pager-2.url", "http://127.0.0.1:9000/x", &err), 0);
    ck_assert_int_eq(set(&c, "hook.pager-2.events", "*", &err), 0);
    ck_assert_int_eq(set(&c, "notify.retry_min_ms", "250", &err), 0);
    ck_assert_int_eq(c.notify.nhooks, 2);
    ck_assert_str_eq(c.notify.hooks[0].name, "ops");
    ck_assert_uint_eq(c.notify.hooks[0].events,
                      (1u << PFS_EV_TAMPER) | (1u << PFS_EV_LOCK) | (1u << PFS_EV_ROLLOUT_EXPIRED));
    ck_assert_uint_eq(c.notify.hooks[1].events, (1u << PFS_EV_COUNT) - 1);
    ck_assert_int_eq(c.notify.retry_min_ms, 250);
    /* pager-2 has no secret file: the check refuses the configuration. */
    ck_assert_int_eq(pfs_config_check(&c, &err), PF_EINVAL);
    ck_assert_ptr_nonnull(strstr(err.msg, "hook.pager-2"));
    ck_assert_int_eq(set(&c, "hook.pager-2.secret_file", "/s", &err), 0);
    ck_assert_int_eq(pfs_config_check(&c, &err), 0);

    /* Only http(s) URLs given by the operator; names, fields, kinds checked. */
    ck_assert_int_eq(set(&c, "hook.ops.url", "file:///etc/passwd", &err), PF_EINVAL);
    ck_assert_int_eq(set(&c, "hook.ops.url", "ftp://x/", &err), PF_EINVAL);
    ck_assert_int_eq(set(&c, "hook.ops.events", "tamper,coffee", &err), PF_EINVAL);
    ck_assert_ptr_nonnull(strstr(err.msg, "coffee"));
    ck_assert_int_eq(set(&c, "hook.ops.events", "", &err), PF_EINVAL);
    ck_assert_int_eq(set(&c, "hook.ops.colour", "red", &err), PF_EINVAL);
    ck_assert_int_eq(set(&c, "hook.Ops.url", "http://x/", &err), PF_EINVAL);
    ck_assert_int_eq(set(&c, "hook..url", "http://x/", &err), PF_EINVAL);
    ck_assert_int_eq(set(&c, "hook.url", "http://x/", &err), PF_EINVAL);
    ck_assert_int_eq(set(&c, "notify.retry_min_ms", "0", &err), PF_ERANGE);
    ck_assert_int_eq(set(&c, "notify.max_attempts", "12x", &err), PF_EPARSE);
    ck_assert_int_eq(set(&c, "notify.colour", "1", &err), PF_EINVAL);
    for (int i = 2; i < PFS_HOOKS_MAX; i++) {
        char key[64];

        snprintf(key, sizeof(key), "hook.h%d.url", i);
        ck_assert_int_eq(set(&c, key, "http://x/", &err), 0);
    }
    ck_assert_int_eq(set(&c, "hook.onetoomany.url", "http://x/", &err), PF_ELIMIT);
}
END_TEST

START_TEST(signature)
{
    char sig[7 + 64 + 1];

    /* python3: hmac.new(b"k3y-for-tests", b'1796660820.{"id":"x"}', sha256).hexdigest() */
    pfs_notify_sign((const unsigned char *)"k3y-for-tests", 13, INT64_C(1796660820),
                    "{\"id\":\"x\"}", sig);
    ck_assert_str_eq(sig,
                     "sha256=00cfb1b93c4e62fef6b6e4b9ee5aed5933eba2aea76e2f4d1a9f2fe20a4f5f40");
}
END_TEST

START_TEST(backoff_doubles_to_the_cap)
{
    struct pfs_notify n = {.retry_min_ms = 1000, .retry_max_ms = 60000};

    for (int a = 1; a <= 40; a++) {
        int64_t d = 1000;

        for (int i = 1; i < a && d < 60000; i++)
            d *= 2;
        if (d > 60000)
            d = 60000;
        for (int k = 0; k < 20; k++) {
            int64_t b = pfs_notify_backoff_ms(&n, a);

            ck_assert_int_ge(b, d - d / 2);
            ck_assert_int_le(b, d);
        }
    }
}
END_TEST

/* A store and a notify with hooks "sec" (tamper, lock, unlock) and "rel"
 * (rollouts), no loop. */
static char dir[256];
static struct pfs_store *st;
static struct pfs_notify n;

static void setup(void)
{
    struct pfs_store_opts o = {.backend = "sqlite"};
    struct pfs_config c;
    struct pf_error err = {0};
    char path[300], secret[300];

    pf_test_tmpdir(dir, sizeof(dir));
    snprintf(path, sizeof(path), "%s/store.db", dir);
    snprintf(secret, sizeof(secret), "%s/secret", dir);
    ck_assert_int_eq(pf_file_write_atomic(secret, "s3cret\n", 7, 0600), 0);
    o.path = path;
    ck_assert_msg(pfs_store_open(&o, &st, &err) == 0, "%s", err.msg);
    pfs_config_defaults(&c);
    ck_assert_int_eq(set(&c, "hook.sec.url", "https://sec.example/h", &err), 0);
    ck_assert_int_eq(set(&c, "hook.sec.secret_file", secret, &err), 0);
    ck_assert_int_eq(set(&c, "hook.sec.events", "tamper,lock,unlock", &err), 0);
    ck_assert_int_eq(set(&c, "hook.rel.url", "https://rel.example/h?token=abc", &err), 0);
    ck_assert_int_eq(set(&c, "hook.rel.secret_file", secret, &err), 0);
    ck_assert_int_eq(
            set(&c, "hook.rel.events", "rollout.paused,rollout.completed,rollout.expired", &err),
            0);
    ck_assert_msg(pfs_notify_init(&n, NULL, &c.notify, st, &pf_clock_system, NULL, &err) == 0, "%s",
                  err.msg);
    ck_assert_uint_eq(n.hooks[0].secret_len, 6); /* the newline is not part of the key */
}

static void teardown(void)
{
    pfs_notify_release(&n);
    pfs_store_close(st);
    pf_test_rmtree(dir);
}

struct seen {
    int n;
    char hook[8][PFS_HOOK_NAME_MAX + 1];
    char kind[8][32];
    char body[8][512];
};

static int seen_cb(void *ctx, const struct pfs_delivery *d)
{
    struct seen *s = ctx;

    if (s->n < 8) {
        snprintf(s->hook[s->n], sizeof(s->hook[0]), "%s", d->hook);
        snprintf(s->kind[s->n], sizeof(s->kind[0]), "%s", d->kind);
        snprintf(s->body[s->n], sizeof(s->body[0]), "%s", d->body);
    }
    s->n++;
    return 0;
}

START_TEST(events_to_subscribed_hooks)
{
    struct seen s = {0};
    json_t *body;

    pfs_notify_emit(&n, PFS_EV_TAMPER, "PF-1", json_pack("{s:s}", "lock", "lock-1"));
    pfs_notify_emit(&n, PFS_EV_TERMINAL_SILENT, "PF-2", NULL);   /* no hook wants it */
    pfs_notify_emit(NULL, PFS_EV_TAMPER, "PF-3", json_object()); /* notifications off */
    pfs_notify_rollout(&n, 4, "paused", "failure_rate", "3 of 10 failed");
    pfs_notify_rollout(&n, 4, "running", NULL, NULL); /* not notified */
    pfs_notify_rollout(&n, 5, "completed", NULL, NULL);
    pfs_notify_rollout(&n, 6, "expired", "deadline", "members never reached are skipped");
    ck_assert_int_eq(pfs_store_notify_log(st, NULL, 0, 100, seen_cb, &s), 0);
    ck_assert_int_eq(s.n, 4);
    /* newest first */
    ck_assert_str_eq(s.kind[0], "rollout.expired");
    ck_assert_str_eq(s.kind[1], "rollout.completed");
    ck_assert_str_eq(s.kind[2], "rollout.paused");
    ck_assert_str_eq(s.hook[2], "rel");
    ck_assert_str_eq(s.kind[3], "tamper");
    ck_assert_str_eq(s.hook[3], "sec");
    body = json_loads(s.body[3], 0, NULL);
    ck_assert_ptr_nonnull(body);
    ck_assert_str_eq(json_string_value(json_object_get(body, "kind")), "tamper");
    ck_assert_str_eq(json_string_value(json_object_get(body, "subject")), "PF-1");
    ck_assert_uint_eq(strlen(json_string_value(json_object_get(body, "id"))), PFS_NOTIFY_ID_LEN);
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(body, "data"), "lock")),
                     "lock-1");
    ck_assert(json_is_integer(json_object_get(body, "ts_ms")));
    json_decref(body);
    ck_assert_uint_eq(n.stats.events, 4);
}
END_TEST

START_TEST(secret_file_missing_or_empty)
{
    struct pfs_config c;
    struct pfs_notify m;
    struct pf_error err = {0};
    char empty[300];

    pfs_config_defaults(&c);
    ck_assert_int_eq(set(&c, "hook.x.url", "https://x.example/", &err), 0);
    ck_assert_int_eq(set(&c, "hook.x.events", "*", &err), 0);
    ck_assert_int_eq(set(&c, "hook.x.secret_file", "/nonexistent/secret", &err), 0);
    ck_assert_int_eq(pfs_notify_init(&m, NULL, &c.notify, st, &pf_clock_system, NULL, &err),
                     PF_EINVAL);
    ck_assert_ptr_nonnull(strstr(err.msg, "hook.x.secret_file"));
    snprintf(empty, sizeof(empty), "%s/empty", dir);
    ck_assert_int_eq(pf_file_write_atomic(empty, "\n", 1, 0600), 0);
    ck_assert_int_eq(set(&c, "hook.x.secret_file", empty, &err), 0);
    ck_assert_int_eq(pfs_notify_init(&m, NULL, &c.notify, st, &pf_clock_system, NULL, &err),
                     PF_EINVAL);
    ck_assert_ptr_nonnull(strstr(err.msg, "empty"));
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("server_notify");
    TCase *tc = tcase_create("core");
    TCase *ts = tcase_create("store");

    tcase_add_test(tc, config_keys);
    tcase_add_test(tc, signature);
    tcase_add_test(tc, backoff_doubles_to_the_cap);
    suite_add_tcase(s, tc);
    tcase_add_checked_fixture(ts, setup, teardown);
    tcase_add_test(ts, events_to_subscribed_hooks);
    tcase_add_test(ts, secret_file_missing_or_empty);
    suite_add_tcase(s, ts);
    return s;
}

int main(void)
{
    return pf_test_run(suite());
}
