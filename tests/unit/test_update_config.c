/*
 * test_update_config.c - the agent's update.* configuration keys: defaults,
 * a full set, and every refusal with its exact code.
 */
#include <stdio.h>
#include <string.h>

#include "pfa/config.h"
#include "testutil.h"

#define BASE                                                                                       \
    "serial = T-1\nmodel = PX-200\nhw_rev = B\nbroker.host = 127.0.0.1\nstate_dir = /tmp/s\n"
#define UPD                                                                                        \
    "update.slot_a = /dev/a\nupdate.slot_b = /dev/b\nupdate.boot_env = /e\n"                       \
    "update.trust_root = /r.pub\nupdate.feetable_dir = /fees\n"

static int parse(const char *text, struct pfa_config *cfg, struct pf_error *err)
{
    pf_error_clear(err);
    return pfa_config_parse(text, strlen(text), "agent.conf", cfg, err);
}

START_TEST(defaults_without_updates)
{
    struct pfa_config cfg;
    struct pf_error err;

    ck_assert_int_eq(parse(BASE, &cfg, &err), 0);
    ck_assert(!pfa_config_updates(&cfg));
    ck_assert_str_eq(cfg.upd_boot, "file");
    ck_assert_int_eq(cfg.upd_battery_min_pct, 30);
    ck_assert_int_eq(cfg.upd_retry_s, 300);
    ck_assert_int_eq(cfg.upd_stall_s, 120);
    ck_assert_int_eq(cfg.upd_boot_tries, 3);
    ck_assert_int_eq(cfg.upd_chunk_kb, 64);
    ck_assert_int_eq(cfg.upd_window, 4);
    ck_assert_int_eq(cfg.upd_persist_kb, 4096);
    ck_assert_int_eq(cfg.upd_exit_on_reboot, 0);
    pfa_config_release(&cfg);
}
END_TEST

START_TEST(full_update_set)
{
    struct pfa_config cfg;
    struct pf_error err;

    ck_assert_int_eq(parse(BASE UPD "update.boot = grub\nupdate.keyring = /k.json\n"
                                    "update.battery_min_pct = 50\nupdate.chunk_kb = 128\n"
                                    "update.exit_on_reboot = 1\nupdate.boot_cmdline = /c\n",
                           &cfg, &err),
                     0);
    ck_assert(pfa_config_updates(&cfg));
    ck_assert_str_eq(cfg.upd_slot_a, "/dev/a");
    ck_assert_str_eq(cfg.upd_slot_b, "/dev/b");
    ck_assert_str_eq(cfg.upd_boot, "grub");
    ck_assert_str_eq(cfg.upd_keyring, "/k.json");
    ck_assert_str_eq(cfg.upd_boot_cmdline, "/c");
    ck_assert_int_eq(cfg.upd_battery_min_pct, 50);
    ck_assert_int_eq(cfg.upd_chunk_kb, 128);
    ck_assert_int_eq(cfg.upd_exit_on_reboot, 1);
    pfa_config_release(&cfg);
    /* uboot may use the tool's default fw_env.config */
    ck_assert_int_eq(parse(BASE "update.slot_a = /a\nupdate.slot_b = /b\nupdate.boot = uboot\n"
                                "update.trust_root = /r\nupdate.feetable_dir = /f\n",
                           &cfg, &err),
                     0);
    pfa_config_release(&cfg);
}
END_TEST

static const struct {
    const char *text;
    int code;
    const char *needle;
} bad[] = {
        {BASE "update.slot_a = /a\n", PF_ESCHEMA, "update.slot_b"},
        {BASE "update.slot_a = /a\nupdate.slot_b = /b\n", PF_ESCHEMA, "update.trust_root"},
        {BASE "update.slot_a = /a\nupdate.slot_b = /b\nupdate.trust_root = /r\n", PF_ESCHEMA,
         "update.feetable_dir"},
        {BASE "update.slot_a = /a\nupdate.slot_b = /b\nupdate.trust_root = /r\n"
              "update.feetable_dir = /f\n",
         PF_ESCHEMA, "update.boot_env"},
        {BASE "update.slot_a = /a\nupdate.slot_b = /a\nupdate.trust_root = /r\n"
              "update.feetable_dir = /f\nupdate.boot_env = /e\n",
         PF_EINVAL, "the same"},
        {BASE UPD "update.boot = lilo\n", PF_EINVAL, "update.boot"},
        {BASE UPD "update.battery_min_pct = 101\n", PF_ERANGE, "update.battery_min_pct"},
        {BASE UPD "update.chunk_kb = 0\n", PF_ERANGE, "update.chunk_kb"},
        {BASE UPD "update.chunk_kb = 257\n", PF_ERANGE, "update.chunk_kb"},
        {BASE UPD "update.window = 65\n", PF_ERANGE, "update.window"},
        {BASE UPD "update.boot_tries = 0\n", PF_ERANGE, "update.boot_tries"},
        {BASE UPD "update.exit_on_reboot = 2\n", PF_ERANGE, "update.exit_on_reboot"},
        {BASE UPD "update.slot_c = /c\n", PF_EINVAL, "update.slot_c"},
        {BASE "update.trust_root = \n", PF_EINVAL, "update.trust_root"},
};

START_TEST(refusals)
{
    struct pfa_config cfg;
    struct pf_error err;
    int rc = parse(bad[_i].text, &cfg, &err);

    ck_assert_msg(rc == bad[_i].code, "case %d: rc %d (%s), want %d", _i, rc, err.msg,
                  bad[_i].code);
    ck_assert_int_eq(err.code, bad[_i].code);
    ck_assert_msg(strstr(err.msg, bad[_i].needle) != NULL, "case %d: %s", _i, err.msg);
    pfa_config_release(&cfg);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("update_config");
    TCase *tc = tcase_create("keys");

    tcase_add_test(tc, defaults_without_updates);
    tcase_add_test(tc, full_update_set);
    tcase_add_loop_test(tc, refusals, 0, (int)(sizeof(bad) / sizeof(bad[0])));
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return pf_test_run(suite());
}
