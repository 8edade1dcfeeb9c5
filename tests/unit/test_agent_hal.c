/*
 * test_agent_hal.c - the simulated HAL: defaults with no files, files mapped
 * to values, live changes seen at the next probe, overrides, bad contents.
 */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "pf/fileio.h"
#include "pfa/hal.h"
#include "testutil.h"

static char dir[256];
static struct pfa_hal *hal;

static void setup(void)
{
    pf_test_tmpdir(dir, sizeof(dir));
    ck_assert_int_eq(pfa_hal_sim_new(dir, &hal), 0);
}

static void teardown(void)
{
    pfa_hal_free(hal);
    pf_test_rmtree(dir);
}

static void put(const char *name, const char *value)
{
    char path[512];

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    ck_assert_int_eq(pf_file_write_atomic(path, value, strlen(value), 0644), 0);
}

START_TEST(defaults_when_absent)
{
    enum pf_check results[PF_COMP_COUNT];
    struct pfa_hal_txn txn;
    enum pf_net_type net;
    enum pf_paper paper;
    uint64_t kb;
    uint32_t r, p;
    bool b;
    int v, dbm;

    ck_assert_str_eq(hal->ops->name, "sim");
    ck_assert_int_eq(hal->ops->power(hal, &v, &b), 0);
    ck_assert_int_eq(v, 100);
    ck_assert(b);
    ck_assert_int_eq(hal->ops->network(hal, &net, &dbm), 0);
    ck_assert_int_eq(net, PF_NET_ETH);
    ck_assert_int_eq(dbm, -60);
    ck_assert_int_eq(hal->ops->temperature(hal, &v), 0);
    ck_assert_int_eq(v, 35);
    ck_assert_int_eq(hal->ops->storage_free(hal, &kb), 0);
    ck_assert_uint_eq(kb, 1048576);
    ck_assert_int_eq(hal->ops->mem_free(hal, &kb), 0);
    ck_assert_uint_eq(kb, 65536);
    ck_assert_int_eq(hal->ops->paper(hal, &paper), 0);
    ck_assert_int_eq(paper, PF_PAPER_OK);
    ck_assert_int_eq(hal->ops->tamper(hal, &b), 0);
    ck_assert(!b);
    ck_assert_int_eq(hal->ops->busy(hal, &b), 0);
    ck_assert(!b);
    ck_assert_int_eq(hal->ops->faults(hal, &r, &p), 0);
    ck_assert_uint_eq(r + p, 0);
    ck_assert_int_eq(hal->ops->transactions(hal, &txn), 0);
    ck_assert_uint_eq(txn.count, 0);
    ck_assert_uint_eq(txn.amount_minor, 0);
    ck_assert_str_eq(txn.currency, "CNY");
    pfa_hal_selftest_all(hal, results);
    for (int c = 0; c < PF_COMP_COUNT; c++)
        ck_assert_int_eq(results[c], PF_CHECK_PASS);
}
END_TEST

START_TEST(files_to_values)
{
    enum pf_check results[PF_COMP_COUNT];
    struct pfa_hal_txn txn;
    enum pf_net_type net;
    enum pf_paper paper;
    uint64_t kb;
    uint32_t r, p;
    bool b;
    int v, dbm;

    put("battery_pct", "4\n");
    put("charging", "0");
    put("net_type", "4g");
    put("signal_dbm", "-101");
    put("temp_c", "-5");
    put("storage_free_kb", "12");
    put("mem_free_kb", "34");
    put("paper", "low");
    put("tamper", "1");
    put("busy", "true");
    put("err_reader", "3");
    put("err_printer", "5");
    put("txn_count", "12");
    put("txn_amount_minor", "45600");
    put("txn_currency", "EUR");
    put("screen", "fail\n");
    put("printer", "skip");

    ck_assert_int_eq(hal->ops->power(hal, &v, &b), 0);
    ck_assert_int_eq(v, 4);
    ck_assert(!b);
    ck_assert_int_eq(hal->ops->network(hal, &net, &dbm), 0);
    ck_assert_int_eq(net, PF_NET_4G);
    ck_assert_int_eq(dbm, -101);
    ck_assert_int_eq(hal->ops->temperature(hal, &v), 0);
    ck_assert_int_eq(v, -5);
    ck_assert_int_eq(hal->ops->storage_free(hal, &kb), 0);
    ck_assert_uint_eq(kb, 12);
    ck_assert_int_eq(hal->ops->mem_free(hal, &kb), 0);
    ck_assert_uint_eq(kb, 34);
    ck_assert_int_eq(hal->ops->paper(hal, &paper), 0);
    ck_assert_int_eq(paper, PF_PAPER_LOW);
    ck_assert_int_eq(hal->ops->tamper(hal, &b), 0);
    ck_assert(b);
    ck_assert_int_eq(hal->ops->busy(hal, &b), 0);
    ck_assert(b);
    ck_assert_int_eq(hal->ops->faults(hal, &r, &p), 0);
    ck_assert_uint_eq(r, 3);
    ck_assert_uint_eq(p, 5);
    ck_assert_int_eq(hal->ops->transactions(hal, &txn), 0);
    ck_assert_uint_eq(txn.count, 12);
    ck_assert_uint_eq(txn.amount_minor, 45600);
    ck_assert_str_eq(txn.currency, "EUR");
    pfa_hal_selftest_all(hal, results);
    ck_assert_int_eq(results[PF_COMP_SCREEN], PF_CHECK_FAIL);
    ck_assert_int_eq(results[PF_COMP_PRINTER], PF_CHECK_SKIP);
    ck_assert_int_eq(results[PF_COMP_POWER], PF_CHECK_PASS);
    ck_assert_int_eq(results[PF_COMP_SECURE_ELEMENT], PF_CHECK_PASS);
}
END_TEST

START_TEST(live_change)
{
    char path[512];
    bool b;
    int v;

    put("battery_pct", "80");
    ck_assert_int_eq(hal->ops->power(hal, &v, &b), 0);
    ck_assert_int_eq(v, 80);
    put("battery_pct", "4");
    ck_assert_int_eq(hal->ops->power(hal, &v, &b), 0);
    ck_assert_int_eq(v, 4);
    put("tamper", "0");
    ck_assert_int_eq(hal->ops->tamper(hal, &b), 0);
    ck_assert(!b);
    put("tamper", "1");
    ck_assert_int_eq(hal->ops->tamper(hal, &b), 0);
    ck_assert(b);
    /* Removing the file brings the healthy default back. */
    snprintf(path, sizeof(path), "%s/battery_pct", dir);
    ck_assert_int_eq(remove(path), 0);
    ck_assert_int_eq(hal->ops->power(hal, &v, &b), 0);
    ck_assert_int_eq(v, 100);
}
END_TEST

START_TEST(bad_contents)
{
    enum pf_check results[PF_COMP_COUNT];
    struct pfa_hal_txn txn;
    enum pf_net_type net;
    enum pf_paper paper;
    bool b;
    int v, dbm;

    put("battery_pct", "101");
    ck_assert_int_eq(hal->ops->power(hal, &v, &b), PF_ERANGE);
    put("battery_pct", "lots");
    ck_assert_int_eq(hal->ops->power(hal, &v, &b), PF_EPARSE);
    put("signal_dbm", "5");
    ck_assert_int_eq(hal->ops->network(hal, &net, &dbm), PF_ERANGE);
    put("paper", "plenty");
    ck_assert_int_eq(hal->ops->paper(hal, &paper), PF_EPARSE);
    put("tamper", "maybe");
    ck_assert_int_eq(hal->ops->tamper(hal, &b), PF_EPARSE);
    put("txn_currency", "euro");
    ck_assert_int_eq(hal->ops->transactions(hal, &txn), PF_EPARSE);
    /* A self-test result that cannot be read counts as a failure. */
    put("card_reader", "broken");
    pfa_hal_selftest_all(hal, results);
    ck_assert_int_eq(results[PF_COMP_CARD_READER], PF_CHECK_FAIL);
}
END_TEST

START_TEST(overrides_and_reboot)
{
    char path[512];
    struct stat st;
    bool b;
    int v;

    put("battery_pct", "50");
    ck_assert_int_eq(pfa_hal_sim_set(hal, "battery_pct", "7"), 0);
    ck_assert_int_eq(hal->ops->power(hal, &v, &b), 0);
    ck_assert_int_eq(v, 7);
    ck_assert_int_eq(pfa_hal_sim_set(hal, "battery_pct", "9"), 0);
    ck_assert_int_eq(hal->ops->power(hal, &v, &b), 0);
    ck_assert_int_eq(v, 9);
    ck_assert_int_eq(pfa_hal_sim_set(hal, "battery_pct", NULL), 0);
    ck_assert_int_eq(hal->ops->power(hal, &v, &b), 0);
    ck_assert_int_eq(v, 50);
    ck_assert_int_eq(pfa_hal_sim_set(hal, "../x", "1"), PF_EINVAL);

    snprintf(path, sizeof(path), "%s/reboots", dir);
    ck_assert_int_ne(stat(path, &st), 0);
    ck_assert_uint_eq(pfa_hal_sim_reboots(hal), 0);
    ck_assert_int_eq(hal->ops->reboot(hal), 0);
    ck_assert_uint_eq(pfa_hal_sim_reboots(hal), 1);
    ck_assert_int_eq(stat(path, &st), 0);
}
END_TEST

START_TEST(no_directory)
{
    struct pfa_hal *h;
    struct pf_error err;
    bool b;
    int v;

    ck_assert_int_eq(pfa_hal_new("sim", NULL, &h, &err), 0);
    ck_assert_int_eq(h->ops->power(h, &v, &b), 0);
    ck_assert_int_eq(v, 100);
    ck_assert_int_eq(pfa_hal_sim_set(h, "battery_pct", "3"), 0);
    ck_assert_int_eq(h->ops->power(h, &v, &b), 0);
    ck_assert_int_eq(v, 3);
    ck_assert_int_eq(h->ops->reboot(h), 0);
    pfa_hal_free(h);
    ck_assert_int_eq(pfa_hal_new("imx8", NULL, &h, &err), PF_EINVAL);
    ck_assert(strstr(err.msg, "unknown backend"));
}
END_TEST

static Suite *hal_suite(void)
{
    Suite *s = suite_create("agent_hal");
    TCase *tc = tcase_create("sim");

    tcase_set_timeout(tc, 10);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, defaults_when_absent);
    tcase_add_test(tc, files_to_values);
    tcase_add_test(tc, live_change);
    tcase_add_test(tc, bad_contents);
    tcase_add_test(tc, overrides_and_reboot);
    tcase_add_test(tc, no_directory);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return pf_test_run(hal_suite());
}
