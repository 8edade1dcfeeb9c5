/*
 * test_agent_hal_linux.c - the Linux HAL against a fake sysfs/procfs tree and
 * shared directory that each test builds: every value, missing files,
 * garbage, a battery that disappears, tamper and busy toggling, the reboot
 * command, and the configuration keys that choose and place the backend.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pf/fileio.h"
#include "pfa/config.h"
#include "pfa/hal.h"
#include "testutil.h"

static char dir[256], root[300], shared[300];
static struct pfa_hal *hal;

static void setup(void)
{
    struct pfa_hal_linux_opts o;

    pf_test_tmpdir(dir, sizeof(dir));
    snprintf(root, sizeof(root), "%s/root", dir);
    snprintf(shared, sizeof(shared), "%s/run", dir);
    ck_assert_int_eq(pf_mkdir_p(root, 0755), 0);
    ck_assert_int_eq(pf_mkdir_p(shared, 0755), 0);
    o.root = root;
    o.dir = shared;
    o.data_dir = dir;
    o.reboot_cmd = "/nonexistent/reboot";
    ck_assert_int_eq(pfa_hal_linux_new(&o, &hal), 0);
}

static void teardown(void)
{
    pfa_hal_free(hal);
    pf_test_rmtree(dir);
}

/* Writes BASE/rel (creating its directories) with content. */
static void put_in(const char *base, const char *rel, const char *content)
{
    char path[600], *slash;

    snprintf(path, sizeof(path), "%s/%s", base, rel);
    slash = strrchr(path, '/');
    *slash = '\0';
    ck_assert_int_eq(pf_mkdir_p(path, 0755), 0);
    *slash = '/';
    ck_assert_int_eq(pf_file_write_atomic(path, content, strlen(content), 0644), 0);
}

static void sys(const char *rel, const char *content)
{
    put_in(root, rel, content);
}

static void run(const char *name, const char *content)
{
    put_in(shared, name, content);
}

static void rm_in(const char *base, const char *rel)
{
    char path[600];

    snprintf(path, sizeof(path), "%s/%s", base, rel);
    pf_test_rmtree(path);
}

static enum pf_check check(enum pf_component c)
{
    enum pf_check r = PF_CHECK_PASS;

    ck_assert_int_eq(hal->ops->selftest(hal, c, &r), 0);
    return r;
}

static bool tamper(void)
{
    bool b = true;

    ck_assert_int_eq(hal->ops->tamper(hal, &b), 0);
    return b;
}

static bool busy(void)
{
    bool b = true;

    ck_assert_int_eq(hal->ops->busy(hal, &b), 0);
    return b;
}

START_TEST(empty_tree_is_unknown)
{
    struct pfa_hal_txn txn;
    enum pf_net_type net;
    enum pf_paper paper;
    uint64_t kb;
    uint32_t r, p;
    bool b;
    int v, dbm;

    ck_assert_str_eq(hal->ops->name, "linux");
    ck_assert_int_eq(hal->ops->power(hal, &v, &b), PF_ENOENT);
    ck_assert_int_eq(hal->ops->network(hal, &net, &dbm), PF_ENOENT);
    ck_assert_int_eq(hal->ops->temperature(hal, &v), PF_ENOENT);
    ck_assert_int_eq(hal->ops->mem_free(hal, &kb), PF_ENOENT);
    ck_assert_int_eq(hal->ops->uptime(hal, &kb), PF_ENOENT);
    /* statvfs of the data directory is real: the test's own file system. */
    ck_assert_int_eq(hal->ops->storage_free(hal, &kb), 0);
    ck_assert_uint_gt(kb, 0);
    ck_assert(!tamper());
    ck_assert(!busy());
    ck_assert_int_eq(hal->ops->paper(hal, &paper), 0);
    ck_assert_int_eq(paper, PF_PAPER_NONE);
    ck_assert_int_eq(hal->ops->faults(hal, &r, &p), 0);
    ck_assert_uint_eq(r, 0);
    ck_assert_uint_eq(p, 0);
    ck_assert_int_eq(hal->ops->transactions(hal, &txn), 0);
    ck_assert_uint_eq(txn.count, 0);
    ck_assert_str_eq(txn.currency, "XXX");
    for (int c = 0; c < PF_COMP_COUNT; c++)
        ck_assert_int_eq(check((enum pf_component)c), PF_CHECK_SKIP);
}
END_TEST

START_TEST(every_field)
{
    struct pfa_hal_txn txn;
    enum pf_net_type net;
    enum pf_paper paper;
    uint64_t kb;
    uint32_t r, p;
    bool b;
    int v, dbm;

    sys("sys/class/power_supply/BAT0/type", "Battery\n");
    sys("sys/class/power_supply/BAT0/capacity", "57\n");
    sys("sys/class/power_supply/BAT0/status", "Discharging\n");
    sys("sys/class/power_supply/AC/type", "Mains\n");
    sys("sys/class/power_supply/AC/online", "0\n");
    ck_assert_int_eq(hal->ops->power(hal, &v, &b), 0);
    ck_assert_int_eq(v, 57);
    ck_assert(!b);
    sys("sys/class/power_supply/AC/online", "1\n");
    ck_assert_int_eq(hal->ops->power(hal, &v, &b), 0);
    ck_assert(b);
    sys("sys/class/power_supply/AC/online", "0\n");
    sys("sys/class/power_supply/BAT0/status", "Charging\n");
    ck_assert_int_eq(hal->ops->power(hal, &v, &b), 0);
    ck_assert(b);
    /* Two batteries: the lower level counts. */
    sys("sys/class/power_supply/BAT1/type", "Battery\n");
    sys("sys/class/power_supply/BAT1/capacity", "12\n");
    ck_assert_int_eq(hal->ops->power(hal, &v, &b), 0);
    ck_assert_int_eq(v, 12);
    ck_assert_int_eq(check(PF_COMP_POWER), PF_CHECK_PASS);

    /* Network: Wi-Fi carries the default route; Ethernet is down. */
    sys("sys/class/net/lo/operstate", "unknown\n");
    sys("sys/class/net/lo/carrier", "1\n");
    sys("sys/class/net/eth0/operstate", "down\n");
    sys("sys/class/net/wlan0/operstate", "up\n");
    sys("sys/class/net/wlan0/carrier", "1\n");
    sys("proc/net/route", "Iface\tDestination\tGateway \tFlags\n"
                          "wlan0\t0001A8C0\t00000000\t0001\n"
                          "wlan0\t00000000\t0101A8C0\t0003\n");
    sys("proc/net/wireless",
        "Inter-| sta-|   Quality        |   Discarded packets               | Missed | WE\n"
        " face | tus | link level noise |  nwid  crypt   frag  retry   misc | beacon | 22\n"
        "wlan0: 0000   54.  -56.  -256        0      0      0      0     12        0\n");
    ck_assert_int_eq(hal->ops->network(hal, &net, &dbm), 0);
    ck_assert_int_eq(net, PF_NET_WIFI);
    ck_assert_int_eq(dbm, -56);
    ck_assert_int_eq(check(PF_COMP_NETWORK), PF_CHECK_PASS);
    /* Ethernet comes up: the default route still says Wi-Fi. */
    sys("sys/class/net/eth0/operstate", "up\n");
    sys("sys/class/net/eth0/carrier", "1\n");
    ck_assert_int_eq(hal->ops->network(hal, &net, &dbm), 0);
    ck_assert_int_eq(net, PF_NET_WIFI);
    /* No default route: Ethernet is preferred, and a wire has no signal loss. */
    sys("proc/net/route", "Iface\tDestination\tGateway \tFlags\n");
    ck_assert_int_eq(hal->ops->network(hal, &net, &dbm), 0);
    ck_assert_int_eq(net, PF_NET_ETH);
    ck_assert_int_eq(dbm, 0);
    /* Only a modem: cellular, signal unknown without ModemManager. */
    rm_in(root, "sys/class/net/eth0");
    rm_in(root, "sys/class/net/wlan0");
    sys("sys/class/net/wwan0/operstate", "unknown\n");
    sys("sys/class/net/wwan0/carrier", "1\n");
    ck_assert_int_eq(hal->ops->network(hal, &net, &dbm), 0);
    ck_assert_int_eq(net, PF_NET_4G);
    ck_assert_int_eq(dbm, -150);
    /* Every uplink down: no network, and the self-test fails. */
    sys("sys/class/net/wwan0/operstate", "down\n");
    ck_assert_int_eq(hal->ops->network(hal, &net, &dbm), 0);
    ck_assert_int_eq(net, PF_NET_NONE);
    ck_assert_int_eq(check(PF_COMP_NETWORK), PF_CHECK_FAIL);

    /* The hottest zone, rounded to whole degrees; clamped to the protocol's range. */
    sys("sys/class/thermal/thermal_zone0/temp", "38000\n");
    sys("sys/class/thermal/thermal_zone1/temp", "41500\n");
    sys("sys/class/thermal/cooling_device0/cur_state", "900000\n");
    ck_assert_int_eq(hal->ops->temperature(hal, &v), 0);
    ck_assert_int_eq(v, 42);
    sys("sys/class/thermal/thermal_zone1/temp", "131000\n");
    ck_assert_int_eq(hal->ops->temperature(hal, &v), 0);
    ck_assert_int_eq(v, 125);

    sys("proc/meminfo", "MemTotal:        1012345 kB\nMemFree:           20000 kB\n"
                        "MemAvailable:     123456 kB\nBuffers:            1000 kB\n");
    ck_assert_int_eq(hal->ops->mem_free(hal, &kb), 0);
    ck_assert_uint_eq(kb, 123456);
    sys("proc/uptime", "3600.45 7100.12\n");
    ck_assert_int_eq(hal->ops->uptime(hal, &kb), 0);
    ck_assert_uint_eq(kb, 3600);

    run("paper", "low\n");
    ck_assert_int_eq(hal->ops->paper(hal, &paper), 0);
    ck_assert_int_eq(paper, PF_PAPER_LOW);
    run("err_reader", "3\n");
    run("err_printer", "2\n");
    ck_assert_int_eq(hal->ops->faults(hal, &r, &p), 0);
    ck_assert_uint_eq(r, 3);
    ck_assert_uint_eq(p, 2);
    run("txn_count", "12\n");
    run("txn_amount_minor", "45600\n");
    run("txn_currency", "EUR\n");
    ck_assert_int_eq(hal->ops->transactions(hal, &txn), 0);
    ck_assert_uint_eq(txn.count, 12);
    ck_assert_uint_eq(txn.amount_minor, 45600);
    ck_assert_str_eq(txn.currency, "EUR");
    run("screen", "pass\n");
    run("printer", "fail\n");
    run("card_reader", "skip\n");
    ck_assert_int_eq(check(PF_COMP_SCREEN), PF_CHECK_PASS);
    ck_assert_int_eq(check(PF_COMP_PRINTER), PF_CHECK_FAIL);
    ck_assert_int_eq(check(PF_COMP_CARD_READER), PF_CHECK_SKIP);
    /* Secure element: the tamper file read well passes; its own result file wins. */
    run("tamper", "0\n");
    ck_assert_int_eq(check(PF_COMP_SECURE_ELEMENT), PF_CHECK_PASS);
    run("secure_element", "fail\n");
    ck_assert_int_eq(check(PF_COMP_SECURE_ELEMENT), PF_CHECK_FAIL);
}
END_TEST

START_TEST(garbage_is_unknown)
{
    struct pfa_hal_txn txn;
    enum pf_net_type net;
    enum pf_paper paper;
    char big[400];
    uint64_t kb;
    uint32_t r, p;
    bool b;
    int v, dbm;

    sys("sys/class/power_supply/BAT0/type", "Battery\n");
    sys("sys/class/power_supply/BAT0/capacity", "lots\n");
    sys("sys/class/power_supply/AC/type", "Mains\n");
    sys("sys/class/power_supply/AC/online", "1\n");
    /* A battery that cannot be read is not hidden behind the mains supply. */
    ck_assert_int_eq(hal->ops->power(hal, &v, &b), PF_EPARSE);
    ck_assert_int_eq(check(PF_COMP_POWER), PF_CHECK_SKIP);
    sys("sys/class/power_supply/BAT0/capacity", "140\n");
    ck_assert_int_eq(hal->ops->power(hal, &v, &b), PF_EPARSE);
    sys("sys/class/power_supply/BAT0/capacity", "-1\n");
    ck_assert_int_eq(hal->ops->power(hal, &v, &b), PF_EPARSE);

    sys("sys/class/net/wlan0/operstate", "up\n");
    sys("sys/class/net/wlan0/carrier", "yes please\n");
    ck_assert_int_eq(hal->ops->network(hal, &net, &dbm), 0);
    ck_assert_int_eq(net, PF_NET_NONE);
    sys("sys/class/net/wlan0/carrier", "1\n");
    sys("proc/net/route", "\x01\x02garbage with no columns");
    sys("proc/net/wireless", "wlan0: 0000 54. loud -256\n");
    ck_assert_int_eq(hal->ops->network(hal, &net, &dbm), 0);
    ck_assert_int_eq(net, PF_NET_WIFI);
    ck_assert_int_eq(dbm, -150);
    sys("proc/net/wireless", "wlan0: 0000 54. -999. -256\n");
    ck_assert_int_eq(hal->ops->network(hal, &net, &dbm), 0);
    ck_assert_int_eq(dbm, -150);

    sys("sys/class/thermal/thermal_zone0/temp", "hot\n");
    ck_assert_int_eq(hal->ops->temperature(hal, &v), PF_ENOENT);
    sys("sys/class/thermal/thermal_zone1/temp", "36600\n");
    ck_assert_int_eq(hal->ops->temperature(hal, &v), 0);
    ck_assert_int_eq(v, 37);

    sys("proc/meminfo", "MemTotal: 1 kB\nMemAvailable: many kB\n");
    ck_assert_int_eq(hal->ops->mem_free(hal, &kb), PF_EPARSE);
    sys("proc/meminfo", "XMemAvailable: 5 kB\n");
    ck_assert_int_eq(hal->ops->mem_free(hal, &kb), PF_ENOENT);
    sys("proc/uptime", "soon\n");
    ck_assert_int_ne(hal->ops->uptime(hal, &kb), 0);
    sys("proc/uptime", "12.x 3\n");
    ck_assert_int_ne(hal->ops->uptime(hal, &kb), 0);

    run("paper", "plenty\n");
    ck_assert_int_eq(hal->ops->paper(hal, &paper), PF_EPARSE);
    run("err_reader", "-4\n");
    ck_assert_int_ne(hal->ops->faults(hal, &r, &p), 0);
    run("txn_currency", "eur\n");
    ck_assert_int_eq(hal->ops->transactions(hal, &txn), PF_EPARSE);
    run("screen", "fine\n");
    ck_assert_int_eq(check(PF_COMP_SCREEN), PF_CHECK_SKIP);

    /* Garbled tamper and busy files are neither tamper nor busy... */
    run("tamper", "maybe\n");
    run("busy", "1 2 3\n");
    ck_assert(!tamper());
    ck_assert(!busy());
    /* ...but a secure-element driver whose file is garbled fails its self-test. */
    ck_assert_int_eq(check(PF_COMP_SECURE_ELEMENT), PF_CHECK_FAIL);
    memset(big, '1', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    run("tamper", big);
    ck_assert(!tamper());
    run("tamper", "");
    ck_assert(!tamper());
    /* A directory where a file should be. */
    rm_in(shared, "tamper");
    run("tamper/x", "1");
    ck_assert(!tamper());
}
END_TEST

START_TEST(battery_disappears)
{
    bool b;
    int v;

    sys("sys/class/power_supply/BAT0/type", "Battery\n");
    sys("sys/class/power_supply/BAT0/capacity", "80\n");
    sys("sys/class/power_supply/BAT0/status", "Discharging\n");
    ck_assert_int_eq(hal->ops->power(hal, &v, &b), 0);
    ck_assert_int_eq(v, 80);
    ck_assert(!b);
    /* Pulled out (the driver removes the supply): no battery, no known power source. */
    rm_in(root, "sys/class/power_supply/BAT0");
    ck_assert_int_eq(hal->ops->power(hal, &v, &b), PF_ENOENT);
    ck_assert_int_eq(check(PF_COMP_POWER), PF_CHECK_SKIP);
    /* A driver that keeps the node but says present = 0, on mains: a mains-only terminal. */
    sys("sys/class/power_supply/BAT0/type", "Battery\n");
    sys("sys/class/power_supply/BAT0/present", "0\n");
    sys("sys/class/power_supply/BAT0/capacity", "0\n");
    sys("sys/class/power_supply/USB0/type", "USB_PD\n");
    sys("sys/class/power_supply/USB0/online", "1\n");
    ck_assert_int_eq(hal->ops->power(hal, &v, &b), 0);
    ck_assert_int_eq(v, 100);
    ck_assert(b);
    /* Back in. */
    sys("sys/class/power_supply/BAT0/present", "1\n");
    sys("sys/class/power_supply/BAT0/capacity", "31\n");
    ck_assert_int_eq(hal->ops->power(hal, &v, &b), 0);
    ck_assert_int_eq(v, 31);
    ck_assert(b);
    /* The whole class gone. */
    rm_in(root, "sys/class/power_supply");
    ck_assert_int_eq(hal->ops->power(hal, &v, &b), PF_ENOENT);
}
END_TEST

START_TEST(tamper_and_busy_toggle)
{
    ck_assert(!tamper());
    run("tamper", "1\n");
    ck_assert(tamper());
    run("tamper", "0\n");
    ck_assert(!tamper());
    run("tamper", "true");
    ck_assert(tamper());
    rm_in(shared, "tamper");
    ck_assert(!tamper());

    ck_assert(!busy());
    run("busy", "1\n");
    ck_assert(busy());
    run("busy", "0\n");
    ck_assert(!busy());
    run("busy", " yes \n");
    ck_assert(busy());
    rm_in(shared, "busy");
    ck_assert(!busy());
}
END_TEST

START_TEST(reboot_runs_the_command)
{
    struct pfa_hal_linux_opts o = {.root = root, .dir = shared, .data_dir = dir};
    struct pfa_hal *h;
    char script[400], marker[400], body[600];
    struct stat st;

    /* The setup's command does not exist. */
    ck_assert_int_eq(hal->ops->reboot(hal), PF_EIO);

    snprintf(marker, sizeof(marker), "%s/rebooted", dir);
    snprintf(script, sizeof(script), "%s/reboot.sh", dir);
    snprintf(body, sizeof(body), "#!/bin/sh\necho requested >> '%s'\n", marker);
    ck_assert_int_eq(pf_file_write_atomic(script, body, strlen(body), 0755), 0);
    o.reboot_cmd = script;
    ck_assert_int_eq(pfa_hal_linux_new(&o, &h), 0);
    ck_assert_int_eq(h->ops->reboot(h), 0);
    ck_assert_int_eq(stat(marker, &st), 0);
    pfa_hal_free(h);

    o.reboot_cmd = "/bin/false";
    ck_assert_int_eq(pfa_hal_linux_new(&o, &h), 0);
    ck_assert_int_eq(h->ops->reboot(h), PF_EIO);
    pfa_hal_free(h);
}
END_TEST

START_TEST(chosen_by_config)
{
    static const char base[] = "serial = T-1\nmodel = PX\nhw_rev = r1\nbroker.host = h\n"
                               "state_dir = /var/lib/x\n";
    char buf[1024];
    struct pfa_config cfg;
    struct pf_error err = {0};
    struct pfa_hal *h;
    bool b;
    int v;

    /* hal = linux: the shared directory defaults to /run/posfleet (the lock's switch
     * lives there too); hal.root and friends are read. */
    snprintf(buf, sizeof(buf), "%shal = linux\n", base);
    ck_assert_int_eq(pfa_config_parse(buf, strlen(buf), "agent.conf", &cfg, &err), 0);
    ck_assert_str_eq(cfg.hal, "linux");
    ck_assert_str_eq(cfg.hal_dir, "/run/posfleet");
    ck_assert_ptr_null(cfg.hal_root);
    pfa_config_release(&cfg);

    snprintf(buf, sizeof(buf),
             "%shal = linux\nhal.dir = %s\nhal.root = %s\nhal.data_dir = %s\n"
             "hal.reboot_cmd = /bin/true\n",
             base, shared, root, dir);
    ck_assert_int_eq(pfa_config_parse(buf, strlen(buf), "agent.conf", &cfg, &err), 0);
    sys("sys/class/power_supply/BAT0/type", "Battery\n");
    sys("sys/class/power_supply/BAT0/capacity", "44\n");
    ck_assert_int_eq(pfa_hal_open(&cfg, &h, &err), 0);
    ck_assert_str_eq(h->ops->name, "linux");
    ck_assert_int_eq(h->ops->power(h, &v, &b), 0);
    ck_assert_int_eq(v, 44);
    ck_assert_int_eq(h->ops->reboot(h), 0);
    pfa_hal_free(h);
    pfa_config_release(&cfg);

    /* The sim stays the default, and linux-only keys are refused with it. */
    ck_assert_int_eq(pfa_config_parse(base, strlen(base), "agent.conf", &cfg, &err), 0);
    ck_assert_str_eq(cfg.hal, "sim");
    ck_assert_int_eq(pfa_hal_open(&cfg, &h, &err), 0);
    ck_assert_str_eq(h->ops->name, "sim");
    pfa_hal_free(h);
    pfa_config_release(&cfg);
    snprintf(buf, sizeof(buf), "%shal.root = /\n", base);
    ck_assert_int_eq(pfa_config_parse(buf, strlen(buf), "agent.conf", &cfg, &err), PF_EINVAL);
    ck_assert(strstr(err.msg, "only with hal = linux"));
    pfa_config_release(&cfg);
    snprintf(buf, sizeof(buf), "%shal = imx8\n", base);
    ck_assert_int_eq(pfa_config_parse(buf, strlen(buf), "agent.conf", &cfg, &err), PF_EINVAL);
    ck_assert(strstr(err.msg, "known: sim, linux"));
    pfa_config_release(&cfg);
    ck_assert_int_eq(pfa_hal_new("linux", shared, &h, &err), 0);
    ck_assert_str_eq(h->ops->name, "linux");
    pfa_hal_free(h);
}
END_TEST

static Suite *hal_linux_suite(void)
{
    Suite *s = suite_create("agent_hal_linux");
    TCase *tc = tcase_create("linux");

    tcase_set_timeout(tc, 10);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, empty_tree_is_unknown);
    tcase_add_test(tc, every_field);
    tcase_add_test(tc, garbage_is_unknown);
    tcase_add_test(tc, battery_disappears);
    tcase_add_test(tc, tamper_and_busy_toggle);
    tcase_add_test(tc, reboot_runs_the_command);
    tcase_add_test(tc, chosen_by_config);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return pf_test_run(hal_linux_suite());
}
