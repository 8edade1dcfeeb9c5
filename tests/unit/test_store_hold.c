/*
 * test_store_hold.c - a long change off the loop (store.h, "Long changes off
 * the loop"; lifecycle/bulkjob.h): while a sibling connection holds the write
 * lock, the loop's handle keeps ingest writes in memory, refuses transactions
 * at once and still reads; released, it writes them all; one job at a time.
 */
#include <check.h>
#include <stdio.h>
#include <string.h>
#include <uv.h>

#include "lifecycle/bulkjob.h"
#include "store/store.h"
#include "testutil.h"

static char dir[256];
static char dbpath[300];
static const struct pfs_actor ops = {.name = "alice", .role = "ops"};

static void setup(void)
{
    pf_test_tmpdir(dir, sizeof(dir));
    snprintf(dbpath, sizeof(dbpath), "%s/s.db", dir);
}

static void teardown(void)
{
    pf_test_rmtree(dir);
}

static struct pfs_store *open_store(void)
{
    struct pfs_store_opts o = {.path = dbpath};
    struct pfs_store *st = NULL;
    struct pf_error err = {0};

    ck_assert_int_eq(pfs_store_open(&o, &st, &err), 0);
    return st;
}

static struct pfs_store *open_sibling(struct pfs_store *st)
{
    struct pfs_store_opts o;
    struct pfs_store *sib = NULL;
    struct pf_error err = {0};

    ck_assert_int_eq(pfs_store_sibling_opts(st, &o, &err), 0);
    ck_assert_int_eq(pfs_store_open(&o, &sib, &err), 0);
    pfs_store_sibling_opts_release(&o);
    return sib;
}

static void add(struct pfs_store *st, const char *serial)
{
    struct pfs_device d = {0};
    struct pf_error err = {0};

    snprintf(d.serial, sizeof(d.serial), "%s", serial);
    snprintf(d.model, sizeof(d.model), "PX-500");
    ck_assert_int_eq(pfs_store_device_add(st, &d, &ops, 1000, &err), 0);
}

static struct pf_health health(uint32_t seq)
{
    struct pf_health h;

    memset(&h, 0, sizeof(h));
    h.seq = seq;
    h.ts_ms = 1000 + seq;
    h.battery_pct = 50;
    h.net_type = PF_NET_4G;
    h.signal_dbm = -80;
    snprintf(h.fw_version, sizeof(h.fw_version), "1.0.0");
    snprintf(h.currency, sizeof(h.currency), "CNY");
    return h;
}

static int64_t rows(struct pfs_store *st, const char *serial)
{
    int64_t n = -1;

    ck_assert_int_eq(pfs_store_health_count(st, serial, &n), 0);
    return n;
}

START_TEST(held_writes_wait_and_are_written)
{
    struct pfs_store *st = open_store(), *sib;
    struct pf_health h = health(1);
    struct pf_error err = {0};
    struct pfs_tx *tx = NULL, *tx2 = NULL;
    size_t written = 0, dropped = 1;
    bool newer = false;

    add(st, "H1");
    ck_assert_int_eq(pfs_store_health_record(st, "H1", &h, 2000, PFS_HEALTH_RANK_STORE, &newer), 0);
    ck_assert_int_eq(pfs_store_hold(st, 2001, &err), 0); /* commits the batch first */
    ck_assert(pfs_store_is_held(st));
    ck_assert_int_eq(rows(st, "H1"), 1);

    /* The sibling takes the write lock, as a bulk change does for its whole length. */
    sib = open_sibling(st);
    ck_assert_int_eq(pfs_store_tx_begin(sib, PFS_DURABILITY_FULL, 2002, &tx, &err), 0);

    h = health(2);
    ck_assert_int_eq(pfs_store_health_record(st, "H1", &h, 2003, PFS_HEALTH_RANK_STORE, &newer), 0);
    ck_assert(newer);
    ck_assert_int_eq(pfs_store_alert_open(st, "H1", "paper_out", 2003, "paper out"), 0);
    ck_assert_int_eq(pfs_store_batch_pending(st), 0);
    ck_assert_int_eq(pfs_store_flush(st, 2004, NULL), 0);
    /* Reads go on and see the last commit; transactions are refused at once. */
    ck_assert_int_eq(rows(st, "H1"), 1);
    ck_assert_int_eq(pfs_store_device_get(st, "H1", NULL, NULL), 0);
    ck_assert_int_eq(pfs_store_tx_begin(st, PFS_DURABILITY_FULL, 2005, &tx2, &err), PF_ESTATE);
    ck_assert_ptr_nonnull(strstr(err.msg, "bulk change"));
    {
        struct pfs_device d = {.serial = "H2", .model = "PX-500"};

        ck_assert_int_eq(pfs_store_device_add(st, &d, &ops, 2005, &err), PF_ESTATE);
    }

    ck_assert_int_eq(pfs_store_tx_commit(tx, &err), 0);
    pfs_store_close(sib);
    ck_assert_int_eq(pfs_store_release(st, 2006, &written, &dropped), 0);
    ck_assert(!pfs_store_is_held(st));
    ck_assert_uint_eq(written, 2);
    ck_assert_uint_eq(dropped, 0);
    ck_assert_int_eq(rows(st, "H1"), 2);
    ck_assert_int_eq(pfs_store_alert_open(st, "H1", "paper_out", 2007, "again"), PF_EEXIST);
    add(st, "H2"); /* transactions again */
    pfs_store_close(st);
}
END_TEST

START_TEST(held_writes_bounded)
{
    struct pfs_store *st = open_store();
    struct pf_state m = {.state = PF_STATE_ONLINE};
    struct pf_error err = {0};
    size_t written = 0, dropped = 0;

    add(st, "B1");
    ck_assert_int_eq(pfs_store_hold(st, 1, &err), 0);
    for (int i = 0; i < PFS_STORE_HELD_MAX + 5; i++) {
        m.ts_ms = 1000 + i;
        ck_assert_int_eq(pfs_store_state_put(st, "B1", &m, 1000 + i), 0);
    }
    ck_assert_int_eq(pfs_store_release(st, 2, &written, &dropped), 0);
    ck_assert_uint_eq(written, PFS_STORE_HELD_MAX);
    ck_assert_uint_eq(dropped, 5);
    pfs_store_close(st);
}
END_TEST

struct job {
    int ran, done, rc;
};

static void job_work(struct pfs_store *sib, void *arg)
{
    struct job *j = arg;

    add(sib, "J1");
    add(sib, "J2");
    j->ran++;
}

static void job_done(void *arg, int rc, const struct pf_error *err)
{
    struct job *j = arg;

    (void)err;
    j->done++;
    j->rc = rc;
}

START_TEST(bulkjob_runs_on_the_thread_pool)
{
    struct pfs_store *st = open_store();
    struct pfs_log log = {.level = PFS_LOG_ERROR};
    struct pfs_bulkjob b;
    struct pf_error err = {0};
    struct job j = {0};
    uv_loop_t loop;

    ck_assert_int_eq(uv_loop_init(&loop), 0);
    pfs_bulkjob_init(&b, &loop, st, &pf_clock_system, &log);
    ck_assert_int_eq(pfs_bulkjob_start(&b, job_work, job_done, &j, &err), 0);
    ck_assert(b.busy);
    ck_assert(pfs_store_is_held(st));
    ck_assert_int_eq(pfs_bulkjob_start(&b, job_work, job_done, &j, &err), PF_ESTATE);
    ck_assert_int_eq(uv_run(&loop, UV_RUN_DEFAULT), 0);
    ck_assert_int_eq(j.ran, 1);
    ck_assert_int_eq(j.done, 1);
    ck_assert_int_eq(j.rc, 0);
    ck_assert(!b.busy);
    ck_assert(!pfs_store_is_held(st));
    ck_assert_int_eq(pfs_store_device_get(st, "J2", NULL, NULL), 0);
    ck_assert_int_eq(uv_loop_close(&loop), 0);
    pfs_store_close(st);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("store_hold");
    TCase *tc = tcase_create("core");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, held_writes_wait_and_are_written);
    tcase_add_test(tc, held_writes_bounded);
    tcase_add_test(tc, bulkjob_runs_on_the_thread_pool);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return pf_test_run(suite());
}
