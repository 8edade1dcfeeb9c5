/*
 * test_sim_core.c - posfleet-sim's pure parts: the connect gate never allows
 * more than its rate in any one-second window and cannot catch up in a burst;
 * fault shares are exact and reproducible; the credentials file and the model
 * mix are read strictly, with the line named on error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "pfa/config.h"
#include "pfa/hal.h"
#include "sim.h"
#include "testutil.h"

/* Asks the gate every `step` ms for `ms` ms; records grant times. */
static size_t gate_drive(struct sim_gate *g, int64_t from, int64_t ms, int64_t step, int64_t *at,
                         size_t max)
{
    size_t n = 0;

    for (int64_t t = from; t < from + ms; t += step) {
        /* Many terminals ask at once: keep asking until refused. */
        while (n < max && sim_gate_try(g, t))
            at[n++] = t;
    }
    return n;
}

/* A selftest_fail terminal's screen fails on the new firmware only: it passes after the
 * fallback, as the HAL's own self-test reads the value the sim sets. */
START_TEST(selftest_fail_only_on_new_firmware)
{
    char dir[256];
    struct pfa_hal *hal = NULL;
    enum pf_check res[PF_COMP_COUNT];

    pf_test_tmpdir(dir, sizeof(dir));
    ck_assert_int_eq(pfa_hal_sim_new(dir, &hal), 0);
    for (unsigned r = 1; r <= 4; r++) {
        ck_assert_int_eq(pfa_hal_sim_set(hal, "screen", sim_screen_after_reboot(r)), 0);
        pfa_hal_selftest_all(hal, res);
        ck_assert_msg(res[PF_COMP_SCREEN] == (r % 2 ? PF_CHECK_FAIL : PF_CHECK_PASS),
                      "reboot %u: screen %s", r, pf_check_names[res[PF_COMP_SCREEN]]);
        for (int c = 0; c < PF_COMP_COUNT; c++)
            if (c != PF_COMP_SCREEN)
                ck_assert_int_eq(res[c], PF_CHECK_PASS);
    }
    pfa_hal_free(hal);
    pf_test_rmtree(dir);
}
END_TEST

START_TEST(gate_bound_in_every_window)
{
    static int64_t at[100000];
    uint32_t rates[] = {1, 7, 50, 100, 500, 3000};

    for (size_t r = 0; r < sizeof(rates) / sizeof(rates[0]); r++) {
        struct sim_gate g;
        size_t n, j = 0;

        sim_gate_init(&g, rates[r], 1000);
        n = gate_drive(&g, 1000, 10000, 3, at, sizeof(at) / sizeof(at[0]));
        /* Sliding one-second windows anchored at every grant. */
        for (size_t i = 0; i < n; i++) {
            while (at[j] <= at[i] - 1000)
                j++;
            ck_assert_msg(i - j + 1 <= rates[r] + (rates[r] < 2 ? 1 : 0),
                          "rate %u: %zu attempts in one second", rates[r], i - j + 1);
        }
        ck_assert_uint_le(g.peak, rates[r] + (rates[r] < 2 ? 1 : 0));
        /* And it is not starved: over 10 s at least 80 % of the rate went through. */
        ck_assert_uint_ge(n, (size_t)rates[r] * 8);
        ck_assert_uint_eq(g.granted, n);
    }
}
END_TEST

START_TEST(gate_no_catch_up_after_a_pause)
{
    struct sim_gate g;
    int64_t at[1000];
    size_t n;

    sim_gate_init(&g, 100, 0);
    /* Nobody asks for 5 s (broker down, in-flight cap); then everyone does at once. */
    n = gate_drive(&g, 5000, 1, 1, at, 1000);
    ck_assert_uint_le(n, 2); /* the bucket holds max(1, 100/50) = 2 */
}
END_TEST

START_TEST(faults_exact_and_reproducible)
{
    struct sim_faults a = {0}, b = {0};
    struct pf_error err = {0};
    size_t counted[SIM_FAULT_COUNT] = {0};

    ck_assert_int_eq(sim_faults_parse(&a, "battery_low=5", &err), 0);
    ck_assert_int_eq(sim_faults_parse(&a, "tamper=2.5", &err), 0);
    ck_assert_int_eq(sim_faults_parse(&a, "flaky=100", &err), 0);
    ck_assert_int_eq(sim_faults_parse(&a, "paper_out=0", &err), 0);
    memcpy(b.pct, a.pct, sizeof(a.pct));
    ck_assert_int_eq(sim_faults_assign(&a, 300, 42, &err), 0);
    ck_assert_int_eq(sim_faults_assign(&b, 300, 42, &err), 0);
    ck_assert_uint_eq(a.count[SIM_FAULT_BATTERY_LOW], 15);
    ck_assert_uint_eq(a.count[SIM_FAULT_TAMPER], 8); /* 7.5 rounds up */
    ck_assert_uint_eq(a.count[SIM_FAULT_FLAKY], 300);
    ck_assert_uint_eq(a.count[SIM_FAULT_PAPER_OUT], 0);
    for (size_t i = 0; i < 300; i++) {
        for (int k = 0; k < SIM_FAULT_COUNT; k++)
            counted[k] += (a.bits[i] >> k) & 1;
    }
    for (int k = 0; k < SIM_FAULT_COUNT; k++)
        ck_assert_uint_eq(counted[k], a.count[k]);
    ck_assert_mem_eq(a.bits, b.bits, 300);
    sim_faults_release(&a);
    sim_faults_release(&b);
}
END_TEST

START_TEST(faults_refusals)
{
    struct sim_faults f = {0};
    struct pf_error err = {0};
    const char *bad[] = {"tamper", "tamper=", "tamper=101", "tamper=-1", "tamper=5x", "melt=5"};

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ck_assert_int_eq(sim_faults_parse(&f, bad[i], &err), PF_EINVAL);
        for (int k = 0; k < SIM_FAULT_COUNT; k++)
            ck_assert(f.pct[k] == 0.0);
    }
}
END_TEST

START_TEST(models_mix)
{
    struct sim_model_mix mix[SIM_MODELS_MAX];
    struct sim_fleet f;
    struct pf_error err = {0};
    size_t a = 0;

    ck_assert_int_eq(sim_models_parse("A920:1,PX-500:2", mix, SIM_MODELS_MAX, &err), 2);
    ck_assert_int_eq(sim_fleet_count("T", 1, 7, "/c", mix, 2, 9, &f, &err), 0);
    ck_assert_uint_eq(f.n, 7);
    ck_assert_str_eq(f.terms[0].serial, "T00001");
    ck_assert_str_eq(f.terms[6].cert, "/c/T00007.crt");
    for (size_t i = 0; i < f.n; i++)
        a += strcmp(f.terms[i].model, "A920") == 0;
    ck_assert_uint_eq(a, 2); /* 7/3 = 2.33 -> 2; PX-500 4.67 -> 5 */
    sim_fleet_release(&f);
    ck_assert_int_eq(sim_fleet_count("T", 99999, 2, NULL, NULL, 0, 1, &f, &err), 0);
    ck_assert_str_eq(f.terms[1].serial, "T100000"); /* width grows past 5 digits */
    ck_assert_ptr_null(f.terms[1].cert);
    sim_fleet_release(&f);

    ck_assert_int_eq(sim_models_parse("A:0", mix, SIM_MODELS_MAX, &err), PF_EINVAL);
    ck_assert_int_eq(sim_models_parse("A,", mix, SIM_MODELS_MAX, &err), PF_EINVAL);
    ck_assert_int_eq(sim_models_parse("", mix, SIM_MODELS_MAX, &err), PF_EINVAL);
    ck_assert_int_eq(sim_models_parse("A B", mix, SIM_MODELS_MAX, &err), PF_EINVAL);
}
END_TEST

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    ck_assert_ptr_nonnull(f);
    ck_assert_int_ge(fputs(text, f), 0);
    ck_assert_int_eq(fclose(f), 0);
}

/* The simulated terminals resend unacknowledged update events as a real agent does
 * (update.resend_s 30 s): the 2 s the simulator used to set made every ack slower than
 * that come with a duplicate (docs/benchmarks.md). --resend still sets it. */
START_TEST(update_events_resent_at_the_agent_default)
{
    char dir[256];
    struct sim_opts o = {.update_trust_root = "root.pub"};
    struct pfa_config cfg, agent;

    pf_test_tmpdir(dir, sizeof(dir));
    pfa_config_init(&agent);
    pfa_config_init(&cfg);
    ck_assert_int_eq(sim_update_config(&o, dir, &cfg), 0);
    ck_assert_int_eq(cfg.upd_resend_s, agent.upd_resend_s);
    ck_assert_int_eq(cfg.upd_resend_s, 30);
    pfa_config_release(&cfg);
    o.resend_s = 5;
    pfa_config_init(&cfg);
    ck_assert_int_eq(sim_update_config(&o, dir, &cfg), 0);
    ck_assert_int_eq(cfg.upd_resend_s, 5);
    pfa_config_release(&cfg);
    pfa_config_release(&agent);
    pf_test_rmtree(dir);
}
END_TEST

START_TEST(credentials_file)
{
    char dir[256], path[300];
    struct sim_fleet f;
    struct pf_error err = {0};

    pf_test_tmpdir(dir, sizeof(dir));
    snprintf(path, sizeof(path), "%s/creds", dir);
    write_file(path, "# posfleet credentials v1\n"
                     "serial,model,hw_rev,cert,key\n"
                     "PF1,A920,r2,/abs/PF1.crt,/abs/PF1.key\r\n"
                     "\n"
                     "PF2,PX-500,,certs/PF2.crt,certs/PF2.key\n");
    ck_assert_int_eq(sim_fleet_load(path, &f, &err), 0);
    ck_assert_uint_eq(f.n, 2);
    ck_assert_str_eq(f.terms[0].key, "/abs/PF1.key");
    ck_assert_str_eq(f.terms[1].hw_rev, SIM_DEFAULT_HWREV);
    snprintf(path, sizeof(path), "%s/certs/PF2.crt", dir);
    ck_assert_str_eq(f.terms[1].cert, path);
    sim_fleet_release(&f);

    snprintf(path, sizeof(path), "%s/bad", dir);
    write_file(path, "PF1,A920,r2,a.crt,a.key\nPF 2,A920,r2,b.crt,b.key\n");
    ck_assert_int_eq(sim_fleet_load(path, &f, &err), PF_EINVAL);
    ck_assert_ptr_nonnull(strstr(err.msg, ":2: serial"));
    ck_assert_ptr_null(f.terms);
    ck_assert_uint_eq(f.n, 0);
    write_file(path, "PF1,A920,r2,a.crt\n");
    ck_assert_int_eq(sim_fleet_load(path, &f, &err), PF_EINVAL);
    ck_assert_ptr_nonnull(strstr(err.msg, ":1: expected"));
    write_file(path, "PF1,A920,r2,a.crt,a.key,extra\n");
    ck_assert_int_eq(sim_fleet_load(path, &f, &err), PF_EINVAL);
    write_file(path, "PF1,,r2,a.crt,a.key\n");
    ck_assert_int_eq(sim_fleet_load(path, &f, &err), PF_EINVAL);
    ck_assert_ptr_nonnull(strstr(err.msg, ":1: model"));
    write_file(path, "# nothing\n");
    ck_assert_int_eq(sim_fleet_load(path, &f, &err), PF_EINVAL);
    snprintf(path, sizeof(path), "%s/missing", dir);
    ck_assert_int_eq(sim_fleet_load(path, &f, &err), PF_ENOENT);
    pf_test_rmtree(dir);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("sim_core");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, selftest_fail_only_on_new_firmware);
    tcase_add_test(tc, gate_bound_in_every_window);
    tcase_add_test(tc, gate_no_catch_up_after_a_pause);
    tcase_add_test(tc, faults_exact_and_reproducible);
    tcase_add_test(tc, faults_refusals);
    tcase_add_test(tc, models_mix);
    tcase_add_test(tc, credentials_file);
    tcase_add_test(tc, update_events_resent_at_the_agent_default);
    suite_add_tcase(s, tc);
    return pf_test_run(s);
}
