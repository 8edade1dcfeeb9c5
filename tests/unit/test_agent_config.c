/*
 * test_agent_config.c - posfleet-agent's configuration: defaults, every key,
 * and each kind of bad input with its exact code and a message naming
 * FILE:LINE and the key.
 */
#include <stdio.h>
#include <string.h>

#include "pfa/config.h"
#include "pf/fileio.h"
#include "testutil.h"

#define BASE                                                                                       \
    "serial = T-0001\n"                                                                            \
    "model = PX-500\n"                                                                             \
    "hw_rev = r2\n"                                                                                \
    "broker.host = 127.0.0.1\n"                                                                    \
    "state_dir = /var/lib/posfleet\n"

static int parse(const char *text, struct pfa_config *cfg, struct pf_error *err)
{
    pf_error_clear(err);
    return pfa_config_parse(text, strlen(text), "agent.conf", cfg, err);
}

/* Parses BASE + extra and expects code; err.msg must contain every needle. */
static void expect_bad(const char *extra, int code, const char *needle1, const char *needle2)
{
    char text[2048];
    struct pfa_config cfg;
    struct pf_error err;

    snprintf(text, sizeof(text), BASE "%s", extra);
    ck_assert_int_eq(parse(text, &cfg, &err), code);
    ck_assert_int_eq(err.code, code);
    if (needle1)
        ck_assert_msg(strstr(err.msg, needle1), "\"%s\" lacks \"%s\"", err.msg, needle1);
    if (needle2)
        ck_assert_msg(strstr(err.msg, needle2), "\"%s\" lacks \"%s\"", err.msg, needle2);
    pfa_config_release(&cfg);
}

START_TEST(defaults)
{
    struct pfa_config cfg;
    struct pf_error err;

    ck_assert_int_eq(parse(BASE, &cfg, &err), 0);
    ck_assert_str_eq(cfg.serial, "T-0001");
    ck_assert_str_eq(cfg.model, "PX-500");
    ck_assert_str_eq(cfg.hw_rev, "r2");
    ck_assert_str_eq(cfg.broker_host, "127.0.0.1");
    ck_assert_str_eq(cfg.state_dir, "/var/lib/posfleet");
    ck_assert_int_eq(cfg.broker_port, 8883);
    ck_assert_str_eq(cfg.hal, "sim");
    ck_assert_ptr_null(cfg.hal_dir);
    ck_assert_ptr_null(cfg.tls_ca);
    ck_assert(!pfa_config_tls(&cfg));
    ck_assert_int_eq(cfg.health_interval_s, 60);
    ck_assert_int_eq(cfg.health_jitter_pct, 10);
    ck_assert_int_eq(cfg.queue_max, 500);
    ck_assert_int_eq(cfg.backoff_min_ms, 1000);
    ck_assert_int_eq(cfg.backoff_max_ms, 300000);
    ck_assert_int_eq(cfg.keepalive_s, 60);
    ck_assert_int_eq(cfg.session_expiry_s, 3600);
    ck_assert_int_eq(cfg.connect_timeout_s, 30);
    ck_assert_str_eq(cfg.fw_version, "1.0.0");
    ck_assert_int_eq(cfg.fw_slot, PF_SLOT_A);
    ck_assert_str_eq(cfg.fee_version, "");
    ck_assert_int_eq(cfg.log_level, PFA_LOG_INFO);
    pfa_config_release(&cfg);
}
END_TEST

START_TEST(every_key)
{
    static const char text[] = "# a terminal in a shop\n"
                               "serial = T-0001\n"
                               "model = PX-500\n"
                               "hw_rev = r2\n"
                               "broker.host = broker.example\n"
                               "broker.port = 18883\n"
                               "tls.ca = /etc/posfleet/ca.pem\n"
                               "tls.cert = /etc/posfleet/T-0001.pem\n"
                               "tls.key = /etc/posfleet/T-0001.key\n"
                               "\n"
                               "state_dir = /tmp/st\n"
                               "hal = sim\n"
                               "hal.dir = /tmp/hal\n"
                               "health_interval_s = 5\n"
                               "health_jitter_pct = 0\n"
                               "queue_max = 3\n"
                               "backoff_min_ms = 100\n"
                               "backoff_max_ms = 100\n"
                               "keepalive_s = 10\n"
                               "session_expiry_s = 0\n"
                               "connect_timeout_s = 7\n"
                               "fw_version = 1.4.2\n"
                               "fw_slot = b\n"
                               "fee_version = 2026.11.1\n"
                               "log_level = debug\n";
    struct pfa_config cfg;
    struct pf_error err;

    ck_assert_int_eq(parse(text, &cfg, &err), 0);
    ck_assert_str_eq(cfg.broker_host, "broker.example");
    ck_assert_int_eq(cfg.broker_port, 18883);
    ck_assert(pfa_config_tls(&cfg));
    ck_assert_str_eq(cfg.tls_ca, "/etc/posfleet/ca.pem");
    ck_assert_str_eq(cfg.tls_cert, "/etc/posfleet/T-0001.pem");
    ck_assert_str_eq(cfg.tls_key, "/etc/posfleet/T-0001.key");
    ck_assert_str_eq(cfg.state_dir, "/tmp/st");
    ck_assert_str_eq(cfg.hal_dir, "/tmp/hal");
    ck_assert_int_eq(cfg.health_interval_s, 5);
    ck_assert_int_eq(cfg.health_jitter_pct, 0);
    ck_assert_int_eq(cfg.queue_max, 3);
    ck_assert_int_eq(cfg.backoff_min_ms, 100);
    ck_assert_int_eq(cfg.backoff_max_ms, 100);
    ck_assert_int_eq(cfg.keepalive_s, 10);
    ck_assert_int_eq(cfg.session_expiry_s, 0);
    ck_assert_int_eq(cfg.connect_timeout_s, 7);
    ck_assert_str_eq(cfg.fw_version, "1.4.2");
    ck_assert_int_eq(cfg.fw_slot, PF_SLOT_B);
    ck_assert_str_eq(cfg.fee_version, "2026.11.1");
    ck_assert_int_eq(cfg.log_level, PFA_LOG_DEBUG);
    pfa_config_release(&cfg);
}
END_TEST

START_TEST(bad_values)
{
    /* BASE has 5 lines, so the extra line is line 6. */
    expect_bad("colour = blue\n", PF_EINVAL, "agent.conf:6", "colour: unknown key");
    expect_bad("broker.port = 0\n", PF_ERANGE, "agent.conf:6", "broker.port");
    expect_bad("broker.port = 65536\n", PF_ERANGE, "agent.conf:6", "broker.port");
    expect_bad("broker.port = 88x\n", PF_EPARSE, "agent.conf:6", "broker.port: not an integer");
    expect_bad("health_interval_s = 0\n", PF_ERANGE, "agent.conf:6", "health_interval_s");
    expect_bad("health_jitter_pct = 51\n", PF_ERANGE, "agent.conf:6", "health_jitter_pct");
    expect_bad("queue_max = 0\n", PF_ERANGE, "agent.conf:6", "queue_max");
    expect_bad("keepalive_s = 5\n", PF_ERANGE, "agent.conf:6", "keepalive_s");
    expect_bad("keepalive_s = 1201\n", PF_ERANGE, "agent.conf:6", "keepalive_s");
    expect_bad("backoff_min_ms = -1\n", PF_ERANGE, "agent.conf:6", "backoff_min_ms");
    expect_bad("fw_version = 1.x\n", PF_EINVAL, "agent.conf:6", "fw_version");
    expect_bad("fee_version = 1..2\n", PF_EINVAL, "agent.conf:6", "fee_version");
    expect_bad("fw_slot = c\n", PF_EINVAL, "agent.conf:6", "fw_slot");
    expect_bad("log_level = loud\n", PF_EINVAL, "agent.conf:6", "log_level");
    expect_bad("hal = imx8\n", PF_EINVAL, "agent.conf:6", "hal: unknown backend");
    expect_bad("state_dir = /again\n", PF_EEXIST, "agent.conf:6", "state_dir: duplicate key");
    expect_bad("hal.dir =\n", PF_EINVAL, "agent.conf:6", "hal.dir: empty value");
    expect_bad("no equals sign\n", PF_EPARSE, "agent.conf:6", "expected key = value");
    expect_bad("Model = X\n", PF_EPARSE, "agent.conf:6", "bad key name");
}
END_TEST

START_TEST(bad_identity)
{
    struct pfa_config cfg;
    struct pf_error err;

    ck_assert_int_eq(parse("serial = T/1\n", &cfg, &err), PF_EINVAL);
    ck_assert_str_eq(err.msg, "agent.conf:1: serial: must be 1..32 characters of A-Z a-z 0-9 _ -");
    pfa_config_release(&cfg);
    ck_assert_int_eq(parse("serial = 123456789012345678901234567890123\n", &cfg, &err), PF_EINVAL);
    pfa_config_release(&cfg);
    ck_assert_int_eq(parse("model = two words\n", &cfg, &err), PF_EINVAL);
    ck_assert(strstr(err.msg, "agent.conf:1: model:"));
    pfa_config_release(&cfg);
    ck_assert_int_eq(parse("hw_rev = r12345678901234567\n", &cfg, &err), PF_ETOOBIG);
    ck_assert(strstr(err.msg, "agent.conf:1: hw_rev:"));
    pfa_config_release(&cfg);
}
END_TEST

START_TEST(missing_and_inconsistent)
{
    struct pfa_config cfg;
    struct pf_error err;

    ck_assert_int_eq(parse("serial = T1\nmodel = M\nhw_rev = r1\nstate_dir = /x\n", &cfg, &err),
                     PF_ESCHEMA);
    ck_assert_str_eq(err.msg, "agent.conf: broker.host: required key missing");
    pfa_config_release(&cfg);
    ck_assert_int_eq(parse("model = M\n", &cfg, &err), PF_ESCHEMA);
    ck_assert_str_eq(err.msg, "agent.conf: serial: required key missing");
    pfa_config_release(&cfg);
    expect_bad("tls.ca = /ca.pem\n", PF_ESCHEMA, "tls.ca, tls.cert and tls.key go together", NULL);
    expect_bad("tls.ca = /ca.pem\ntls.cert = /c.pem\n", PF_ESCHEMA, "go together", NULL);
    expect_bad("backoff_min_ms = 5000\nbackoff_max_ms = 4000\n", PF_ERANGE,
               "backoff_min_ms: 5000 is above backoff_max_ms 4000", NULL);
}
END_TEST

START_TEST(load_file)
{
    char dir[256], path[300];
    struct pfa_config cfg;
    struct pf_error err;

    pf_test_tmpdir(dir, sizeof(dir));
    snprintf(path, sizeof(path), "%s/agent.conf", dir);
    ck_assert_int_eq(pfa_config_load(path, &cfg, &err), PF_ENOENT);
    ck_assert(strstr(err.msg, path));
    pfa_config_release(&cfg);

    ck_assert_int_eq(pf_file_write_atomic(path, BASE "queue_max = 9\n", strlen(BASE) + 14, 0600),
                     0);
    ck_assert_int_eq(pfa_config_load(path, &cfg, &err), 0);
    ck_assert_int_eq(cfg.queue_max, 9);
    pfa_config_release(&cfg);

    ck_assert_int_eq(pf_file_write_atomic(path, BASE "queue_max = many\n", strlen(BASE) + 17, 0600),
                     0);
    ck_assert_int_eq(pfa_config_load(path, &cfg, &err), PF_EPARSE);
    /* The message names the file and the line, then the key. */
    ck_assert(strstr(err.msg, ":6: queue_max: not an integer"));
    ck_assert(strncmp(err.msg, path, strlen(path)) == 0);
    pfa_config_release(&cfg);
    pf_test_rmtree(dir);
}
END_TEST

static Suite *config_suite(void)
{
    Suite *s = suite_create("agent_config");
    TCase *tc = tcase_create("config");

    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, defaults);
    tcase_add_test(tc, every_key);
    tcase_add_test(tc, bad_values);
    tcase_add_test(tc, bad_identity);
    tcase_add_test(tc, missing_and_inconsistent);
    tcase_add_test(tc, load_file);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return pf_test_run(config_suite());
}
