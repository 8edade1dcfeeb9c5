/*
 * test_server_config.c - posfleetd's configuration keys, defaults and checks.
 */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "base/config.h"
#include "pf/manifest.h"
#include "store/store.h"
#include "testutil.h"

static char dir[256];

static void setup(void)
{
    pf_test_tmpdir(dir, sizeof(dir));
}

static void teardown(void)
{
    pf_test_rmtree(dir);
}

/* The file as given. */
static int load_raw(struct pfs_config *c, const char *text, struct pf_error *err)
{
    char path[300];
    FILE *f;

    snprintf(path, sizeof(path), "%s/posfleetd.conf", dir);
    f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
    pfs_config_defaults(c);
    return pfs_config_load(c, path, err);
}

/* The file with the HTTPS certificate and key lines that every valid
 * configuration needs (http.tls is on by default), unless it sets them. */
static int load_text(struct pfs_config *c, const char *text, struct pf_error *err)
{
    char path[300];
    FILE *f;

    snprintf(path, sizeof(path), "%s/posfleetd.conf", dir);
    f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f); /* first, so that line numbers in messages are the text's */
    if (!strstr(text, "http.tls") && !strstr(text, "http.cert"))
        fputs("http.cert = /etc/posfleet/pki/api.crt\nhttp.key = /etc/posfleet/pki/api.key\n", f);
    fclose(f);
    pfs_config_defaults(c);
    return pfs_config_load(c, path, err);
}

START_TEST(defaults)
{
    struct pfs_config c;
    struct pf_error err = {0};

    pfs_config_defaults(&c);
    /* HTTPS by default, and it needs a certificate and key nobody gave yet. */
    ck_assert(c.http_tls);
    ck_assert_int_eq(pfs_config_check(&c, &err), PF_EINVAL);
    ck_assert_msg(strstr(err.msg, "http.cert and http.key: both required") != NULL, "%s", err.msg);
    snprintf(c.http_cert, sizeof(c.http_cert), "/etc/posfleet/pki/api.crt");
    snprintf(c.http_key, sizeof(c.http_key), "/etc/posfleet/pki/api.key");
    ck_assert_int_eq(pfs_config_check(&c, &err), 0);
    ck_assert_str_eq(c.mqtt_host, "127.0.0.1");
    ck_assert_str_eq(c.mqtt_client_id, "posfleetd");
    ck_assert_str_eq(c.http_addr, "127.0.0.1");
    ck_assert_int_eq(c.http_port, 8080);
    ck_assert_int_eq(c.store_health_keep, 1000);
    ck_assert_str_eq(c.store_backend, "sqlite");
    ck_assert_int_eq(c.report_interval_s, 60);
    ck_assert_int_eq(c.silent_after, 3);
    ck_assert_int_eq(c.http_max_conns, 4096);
    ck_assert_int_eq(c.http_max_conns_per_ip, 64);
    ck_assert_int_eq(c.http_head_timeout_ms, 10000);
    ck_assert(!pfs_config_tls(&c));
    ck_assert_int_eq(pfs_config_mqtt_port(&c), 1883);
}
END_TEST

START_TEST(full_file)
{
    struct pfs_config c;
    struct pf_error err = {0};

    ck_assert_int_eq(load_text(&c,
                               "# posfleetd\n"
                               "mqtt.host = broker.example\n"
                               "mqtt.ca = /etc/posfleet/ca.crt\n"
                               "mqtt.cert = /etc/posfleet/posfleetd.crt\n"
                               "mqtt.key = /etc/posfleet/posfleetd.key\n"
                               "mqtt.client_id = posfleetd-2\n"
                               "mqtt.shared_group = posfleetd\n"
                               "store.backend = sqlite\n"
                               "store.path = /var/lib/posfleet/x.db\n"
                               "store.health_keep = 50\n"
                               "store.health_days = 30\n"
                               "http.addr = ::1\n"
                               "http.port = 9000\n"
                               "http.tokens = /etc/posfleet/tokens\n"
                               "report_interval_s = 30\n"
                               "silent_after = 4\n"
                               "log_level = debug\n",
                               &err),
                     0);
    ck_assert(pfs_config_tls(&c));
    ck_assert_int_eq(pfs_config_mqtt_port(&c), 8883);
    ck_assert_str_eq(c.mqtt_shared_group, "posfleetd");
    ck_assert_str_eq(c.store_backend, "sqlite");
    ck_assert_int_eq(c.store_health_keep, 50);
    ck_assert_int_eq(c.store_health_days, 30);
    ck_assert_str_eq(c.http_addr, "::1");
    ck_assert_int_eq(c.http_port, 9000);
    ck_assert_int_eq(c.silent_after, 4);
    ck_assert_int_eq(c.log_level, PFS_LOG_DEBUG);
}
END_TEST

START_TEST(bad_files)
{
    static const struct {
        const char *text;
        int code;
        const char *mentions;
    } cases[] = {
            {"mqtt.hots = x\n", PF_EINVAL, "mqtt.hots: unknown key"},
            {"mqtt.port = 0\n", PF_ERANGE, "mqtt.port"},
            {"mqtt.port = 70000\n", PF_ERANGE, "mqtt.port"},
            {"http.port = abc\n", PF_EPARSE, "http.port"},
            {"log_level = loud\n", PF_ERANGE, "log_level"},
            {"mqtt.ca = /x\n", PF_EINVAL, "give all three or none"},
            {"mqtt.client_id = a/b\n", PF_EINVAL, "mqtt.client_id"},
            {"mqtt.shared_group = g+\n", PF_EINVAL, "mqtt.shared_group"},
            {"store.health_keep = 0\n", PF_ERANGE, "store.health_keep"},
            {"silent_after = 3\nsilent_after = 4\n", PF_EEXIST, ":2:"},
            {"mqtt.reconnect_min_ms = 5000\nmqtt.reconnect_max_ms = 100\n", PF_EINVAL,
             "reconnect_min_ms"},
            {"store.path =\n", PF_EINVAL, "store.path"},
            {"store.backend = oracle\n", PF_EINVAL,
             "store.backend: 'oracle' is not built into this posfleetd (it has: sqlite, "
             "postgres)"},
            {"store.backend = postgres\n", PF_EINVAL,
             "store.dsn: required with store.backend = postgres"},
            {"http.head_timeout_ms = 0\n", PF_ERANGE, "http.head_timeout_ms"},
            {"http.max_conns = 8\n", PF_ERANGE, "http.max_conns"},
            {"http.max_conns_per_ip = 0\n", PF_ERANGE, "http.max_conns_per_ip"},
            {"http.max_conns = 100\nhttp.max_conns_per_ip = 26\n", PF_EINVAL,
             "http.max_conns_per_ip: 26 is more than a quarter of http.max_conns (100)"},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct pfs_config c;
        struct pf_error err = {0};
        int rc = load_text(&c, cases[i].text, &err);

        ck_assert_msg(rc == cases[i].code, "case %zu: %s (%s)", i, pf_errname(rc), err.msg);
        ck_assert_msg(strstr(err.msg, cases[i].mentions), "case %zu: %s", i, err.msg);
    }
}
END_TEST

START_TEST(http_limits)
{
    struct pfs_config c;
    struct pf_error err = {0};

    ck_assert_int_eq(load_text(&c,
                               "http.max_conns = 100\nhttp.max_conns_per_ip = 25\n"
                               "http.head_timeout_ms = 1500\n",
                               &err),
                     0);
    ck_assert_int_eq(c.http_max_conns, 100);
    ck_assert_int_eq(c.http_max_conns_per_ip, 25);
    ck_assert_int_eq(c.http_head_timeout_ms, 1500);
}
END_TEST

/* Plain HTTP only when written down, and only on a loopback address. */
START_TEST(http_tls)
{
    static const char *const loopback[] = {"127.0.0.1", "127.8.9.10", "::1", "::ffff:127.0.0.1"};
    static const char *const other[] = {"0.0.0.0",         "::",      "192.0.2.10", "10.0.0.1",
                                        "::ffff:10.0.0.1", "fe80::1", "128.0.0.1"};
    struct pfs_config c;
    struct pf_error err = {0};
    char text[256];

    ck_assert_int_eq(
            load_raw(&c, "http.addr = 0.0.0.0\nhttp.cert = /a.crt\nhttp.key = /a.key\n", &err), 0);
    ck_assert(c.http_tls);
    ck_assert_str_eq(c.http_cert, "/a.crt");
    ck_assert_str_eq(c.http_key, "/a.key");
    ck_assert_int_eq(load_raw(&c, "http.cert = /a.crt\n", &err), PF_EINVAL);
    ck_assert_msg(strstr(err.msg, "http.cert and http.key: both required") != NULL, "%s", err.msg);
    ck_assert_int_eq(load_raw(&c, "http.tls = yes\n", &err), PF_EINVAL);
    ck_assert_msg(strstr(err.msg, "http.tls: 'yes' is not on or off") != NULL, "%s", err.msg);
    for (size_t i = 0; i < sizeof(loopback) / sizeof(loopback[0]); i++) {
        snprintf(text, sizeof(text), "http.addr = %s\nhttp.tls = off\n", loopback[i]);
        ck_assert_msg(load_raw(&c, text, &err) == 0, "%s: %s", loopback[i], err.msg);
        ck_assert(!c.http_tls);
    }
    for (size_t i = 0; i < sizeof(other) / sizeof(other[0]); i++) {
        snprintf(text, sizeof(text), "http.addr = %s\nhttp.tls = off\n", other[i]);
        ck_assert_int_eq(load_raw(&c, text, &err), PF_EINVAL);
        ck_assert_msg(strstr(err.msg, "plain HTTP only on a loopback address") != NULL, "%s: %s",
                      other[i], err.msg);
    }
}
END_TEST

START_TEST(rollout_approval)
{
    struct pfs_config c;
    struct pf_error err = {0};

    ck_assert_int_eq(load_text(&c, "rollout.tick_ms = 100\n", &err), 0);
    ck_assert_uint_eq(c.rollout_approval, 0); /* none by default */
    ck_assert_int_eq(load_text(&c, "rollout.approval = fee_table\n", &err), 0);
    ck_assert_uint_eq(c.rollout_approval, 1u << PF_KIND_FEETABLE);
    ck_assert_int_eq(load_text(&c, "rollout.approval = firmware\n", &err), 0);
    ck_assert_uint_eq(c.rollout_approval, 1u << PF_KIND_FIRMWARE);
    ck_assert_int_eq(load_text(&c, "rollout.approval = all\n", &err), 0);
    ck_assert_uint_eq(c.rollout_approval, (1u << PF_KIND_FIRMWARE) | (1u << PF_KIND_FEETABLE));
    ck_assert_int_eq(load_text(&c, "rollout.approval = some\n", &err), PF_ERANGE);
    ck_assert_msg(strstr(err.msg, "none, firmware, fee_table or all") != NULL, "%s", err.msg);
}
END_TEST

/* Every backend the store has built in is a value store.backend takes (the
 * store is above base/, so config.c keeps its own list), and no other. */
START_TEST(store_backends)
{
    struct pfs_config c;
    struct pf_error err = {0};
    char text[200];
    int n = 0;

    for (; pfs_store_backends[n]; n++) {
        snprintf(text, sizeof(text), "store.backend = %s\nstore.dsn = dbname=posfleet\n",
                 pfs_store_backends[n]);
        ck_assert_msg(load_text(&c, text, &err) == 0, "%s: %s", pfs_store_backends[n], err.msg);
        ck_assert_str_eq(c.store_backend, pfs_store_backends[n]);
        ck_assert_str_eq(c.store_dsn, "dbname=posfleet");
    }
    ck_assert_int_eq(n, 2);
    ck_assert_int_eq(load_text(&c, "store.backend = SQLite\n", &err), PF_EINVAL);
    ck_assert_ptr_nonnull(strstr(err.msg, "(it has: sqlite, postgres)"));
    /* The SQLite default needs no store.dsn. */
    ck_assert_int_eq(load_text(&c, "store.backend = sqlite\n", &err), 0);
    ck_assert_str_eq(c.store_dsn, "");
}
END_TEST

START_TEST(missing_file)
{
    struct pfs_config c;
    struct pf_error err = {0};

    pfs_config_defaults(&c);
    ck_assert_int_eq(pfs_config_load(&c, "/nonexistent/posfleetd.conf", &err), PF_ENOENT);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("server_config");
    TCase *tc = tcase_create("core");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, defaults);
    tcase_add_test(tc, full_file);
    tcase_add_test(tc, bad_files);
    tcase_add_test(tc, http_limits);
    tcase_add_test(tc, http_tls);
    tcase_add_test(tc, missing_file);
    tcase_add_test(tc, store_backends);
    tcase_add_test(tc, rollout_approval);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return pf_test_run(suite());
}
