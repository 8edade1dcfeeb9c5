/*
 * test_pg_store.c - the PostgreSQL twins of store.h, store_online.h,
 * store_metrics.h and store_backup.h (server/store/postgres/pg_store.c,
 * pg_ingest.c, pg_devices.c, pg_online.c...) against a real PostgreSQL 15,
 * each case in a database of its own.
 *
 * The store contract's cases (tests/unit/test_store_contract.c) run on this
 * backend through its postgres row; here is what only this backend has: an
 * ingest batch written once, whole, after its session was terminated
 * (PostgreSQL restarted, the backend killed) between the writes and the
 * flush; two instances registering one serial at once; a domain transaction
 * whose session was lost fails its commit and leaves nothing; the hold; the
 * online gauges, the backup's refusal and the sibling.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pg_harness.h"
#include "store/postgres/pg_backup.h"
#include "store/postgres/pg_devices.h"
#include "store/postgres/pg_ingest.h"
#include "store/postgres/pg_metrics.h"
#include "store/postgres/pg_online.h"
#include "store/postgres/pg_store.h"
#include "store/record_json.h"
#include "testutil.h"

static struct pf_pg_server server;
static char dsn[1024];
static struct pfs_pg_store *st;
static int dbn;
static const struct pfs_actor ops = {.name = "olga", .role = "ops"};

static void server_up(void)
{
    if (pf_pg_start(&server, true) != 0) {
        fprintf(stderr, "test_pg_store: PostgreSQL 15 could not be started (see above)\n");
        exit(EXIT_FAILURE);
    }
}

static void server_down(void)
{
    pf_pg_stop(&server);
}

static struct pfs_pg_store *open_store(void)
{
    struct pfs_pg_store *s = NULL;
    struct pf_error err = {0};

    ck_assert_msg(pfs_pg_store_open(dsn, &s, &err) == 0, "open: %s", err.msg);
    return s;
}

/* A fresh database and a store on it. */
static void up(void)
{
    char name[64];

    snprintf(name, sizeof(name), "pg_store_%d_%d", (int)getpid(), ++dbn);
    ck_assert_int_eq(pf_pg_createdb(&server, name, dsn, sizeof(dsn)), 0);
    st = open_store();
}

static void down(void)
{
    pfs_pg_store_close(st);
    st = NULL;
}

static void reopen(void)
{
    pfs_pg_store_close(st);
    st = open_store();
}

/* Ends the store's session from another one, as a PostgreSQL restart or a
 * network cut would. */
static void kill_session(struct pfs_pg_store *s)
{
    struct pfs_pg_opts o = {.dsn = dsn};
    struct pfs_pg *admin = NULL;
    struct pf_error err = {0};
    char pid[32];
    const char *p[1] = {pid};
    PGresult *res = NULL;

    snprintf(pid, sizeof(pid), "%d", pfs_pg_backend_pid(s->pg));
    ck_assert_int_eq(pfs_pg_open(&o, &admin, &err), 0);
    ck_assert_msg(pfs_pg_query(admin, "SELECT pg_terminate_backend($1::int)", 1, p, &res, &err) ==
                          0,
                  "%s", err.msg);
    ck_assert_str_eq(PQgetvalue(res, 0, 0), "t");
    PQclear(res);
    pfs_pg_free(admin);
}

static void add(const char *serial, const char *model)
{
    struct pfs_device d;
    struct pf_error err = {0};

    memset(&d, 0, sizeof(d));
    snprintf(d.serial, sizeof(d.serial), "%s", serial);
    snprintf(d.model, sizeof(d.model), "%s", model);
    ck_assert_msg(pfs_pg_device_add(st, &d, &ops, 1000, &err) == 0, "%s", err.msg);
}

static struct pf_health health(uint32_t seq, int64_t ts)
{
    struct pf_health h;

    memset(&h, 0, sizeof(h));
    h.seq = seq;
    h.ts_ms = ts;
    h.battery_pct = 80;
    snprintf(h.fw_version, sizeof(h.fw_version), "1.0.0");
    snprintf(h.fee_version, sizeof(h.fee_version), "F1");
    snprintf(h.currency, sizeof(h.currency), "CNY");
    return h;
}

static void put_health(struct pfs_pg_store *s, const char *serial, uint32_t seq, bool *newer)
{
    struct pf_health h = health(seq, 1000 + seq);

    ck_assert_int_eq(pfs_pg_health_put(s, serial, &h, 2000 + seq, newer), 0);
}

static int64_t health_n(const char *serial)
{
    int64_t n = -1;

    ck_assert_int_eq(pfs_pg_health_count(st, serial, &n), 0);
    return n;
}

struct audits {
    int n;
    char action[16][32];
    int64_t id[16];
    char after_text[16][1024];
    bool before[16];
};

static int audits__cb(void *ctx, const struct pfs_audit *a)
{
    struct audits *x = ctx;

    if (x->n < 16) {
        snprintf(x->action[x->n], sizeof(x->action[0]), "%s", a->action);
        snprintf(x->after_text[x->n], sizeof(x->after_text[0]), "%s", a->after ? a->after : "");
        x->before[x->n] = a->before != NULL;
        x->id[x->n] = a->id;
    }
    x->n++;
    return 0;
}

static struct audits audit_of(const char *target)
{
    struct audits a;

    memset(&a, 0, sizeof(a));
    ck_assert_int_eq(pfs_pg_audit_list(st, target, 0, 16, audits__cb, &a), 0);
    return a;
}

/* --- registry --- */

/* Two instances register one serial at once: one wins, the other is told
 * PF_EEXIST (never a unique-violation error), one row, one audit row. */
START_TEST(two_instances_one_serial)
{
    struct pfs_pg_store *other;
    struct pfs_device d;
    struct pf_error err = {0};
    struct pfs_tx *tx = NULL;

    up();
    other = open_store();
    memset(&d, 0, sizeof(d));
    snprintf(d.serial, sizeof(d.serial), "R1");
    snprintf(d.model, sizeof(d.model), "PX-500");
    /* other inserts inside an open transaction; st's add waits on the row,
     * so it is run in a child while the parent commits. */
    ck_assert_int_eq(pfs_pg_tx_begin(other, PFS_DURABILITY_FULL, 0, &tx, &err), 0);
    ck_assert_int_eq(pfs_pg_exec(other->pg,
                                 "INSERT INTO devices (serial, model, status, created_ms)"
                                 " VALUES ('R1', 'PX-500', 'registered', 1)",
                                 0, NULL, &err),
                     0);
    {
        pid_t pid = fork();
        int status = 0;

        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
            struct pfs_pg_store *c = NULL;
            struct pf_error e = {0};

            if (pfs_pg_store_open(dsn, &c, &e) != 0)
                _exit(2);
            _exit(pfs_pg_device_add(c, &d, &ops, 5, &e) == PF_EEXIST ? 0 : 3);
        }
        /* Commit once the child waits on the row lock. */
        for (int i = 0; i < 500; i++) {
            PGresult *res = NULL;
            bool waiting;

            ck_assert_int_eq(pfs_pg_query(st->pg, "SELECT count(*) FROM pg_locks WHERE NOT granted",
                                          0, NULL, &res, &err),
                             0);
            waiting = strcmp(PQgetvalue(res, 0, 0), "0") != 0;
            PQclear(res);
            if (waiting)
                break;
            usleep(10000);
        }
        ck_assert_int_eq(pfs_pg_tx_commit((struct pfs_pg_tx *)tx, &err), 0);
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child: %d", status);
    }
    ck_assert_int_eq(audit_of("R1").n, 0);
    pfs_pg_store_close(other);
    down();
}
END_TEST

/* --- ingest --- */

struct rows {
    int n;
    uint32_t seq[16];
    int64_t stored[16];
};

static int rows__cb(void *ctx, const struct pfs_health_row *r)
{
    struct rows *x = ctx;

    if (x->n < 16) {
        x->seq[x->n] = r->h.seq;
        x->stored[x->n] = r->stored_ms;
    }
    x->n++;
    return 0;
}

/* The session is terminated between the writes and the flush (PostgreSQL
 * restarted, the backend killed): the flush reconnects and writes the whole
 * batch once; nothing is lost, nothing doubled, the state is the newest. */
START_TEST(batch_survives_lost_session)
{
    struct pfs_dev_state s;
    struct pfs_pg_stats before, after;
    struct rows r;
    int n = -1;

    up();
    add("T1", "PX-500");
    add("T2", "PX-500");
    put_health(st, "T1", 1, NULL);
    put_health(st, "T1", 2, NULL);
    ck_assert_int_eq(pfs_pg_alert_open(st, "T2", "paper", 10, "out"), 0);
    pfs_pg_stats_get(st->pg, &before);
    kill_session(st);
    /* writes after the loss wait in memory for the flush */
    put_health(st, "T2", 1, NULL);
    ck_assert_int_eq(pfs_pg_batch_pending(st), 4);
    ck_assert_int_eq(pfs_pg_flush(st, 7000, &n), 0);
    ck_assert_int_eq(n, 3);
    pfs_pg_stats_get(st->pg, &after);
    ck_assert_int_gt(after.connects, before.connects);
    ck_assert_int_eq(health_n("T1"), 2);
    ck_assert_int_eq(health_n("T2"), 1);
    memset(&r, 0, sizeof(r));
    ck_assert_int_eq(pfs_pg_health_recent(st, "T1", 10, rows__cb, &r), 0);
    ck_assert_int_eq(r.stored[0], 7000);
    ck_assert_int_eq(pfs_pg_device_get(st, "T1", NULL, &s), 0);
    ck_assert_int_eq(s.health.seq, 2);
    ck_assert_int_eq(pfs_pg_alert_open(st, "T2", "paper", 11, "out"), PF_EEXIST);
    /* lost after a sound batch was committed: nothing written twice */
    put_health(st, "T1", 3, NULL);
    ck_assert_int_eq(pfs_pg_flush(st, 7100, NULL), 0);
    kill_session(st);
    put_health(st, "T1", 4, NULL);
    ck_assert_int_eq(pfs_pg_flush(st, 7200, NULL), 0);
    ck_assert_int_eq(health_n("T1"), 4);
    /* a read of another file reconnected the session while the batch was
     * open: the next write must not commit on its own (then twice at flush) */
    put_health(st, "T1", 5, NULL);
    kill_session(st);
    {
        struct pf_error err = {0};

        ck_assert_int_eq(pfs_pg_reconnect(st->pg, &err), 0);
    }
    put_health(st, "T1", 6, NULL);
    ck_assert_int_eq(health_n("T1"), 4); /* nothing written outside the batch */
    ck_assert_int_eq(pfs_pg_flush(st, 7300, NULL), 0);
    ck_assert_int_eq(health_n("T1"), 6);
    down();
}
END_TEST

/* --- transactions --- */

/* A domain transaction (pfs_pg_tx_begin): the refusals while it is open, its
 * rollback, and what only PostgreSQL can do to it: a session lost inside it
 * fails its commit and nothing of it stays; closing the store rolls it back. */
START_TEST(domain_transactions)
{
    struct pfs_tx *tx = NULL, *tx2 = NULL;
    struct pfs_device d;
    struct pf_error err = {0};

    up();
    add("T1", "PX-500");
    put_health(st, "T1", 1, NULL);
    ck_assert_int_eq(pfs_pg_tx_begin(st, PFS_DURABILITY_FULL, 100, &tx, &err), 0);
    ck_assert_ptr_nonnull(tx);
    ck_assert_int_eq(pfs_pg_batch_pending(st), 0);
    ck_assert_int_eq(pfs_pg_tx_begin(st, PFS_DURABILITY_NORMAL, 100, &tx2, &err), PF_ESTATE);
    ck_assert_ptr_null(tx2);
    memset(&d, 0, sizeof(d));
    snprintf(d.serial, sizeof(d.serial), "T2");
    snprintf(d.model, sizeof(d.model), "PX-500");
    ck_assert_int_eq(pfs_pg_device_add(st, &d, &ops, 100, &err), PF_ESTATE);
    {
        struct pf_health h = health(9, 9);

        ck_assert_int_ne(pfs_pg_health_put(st, "T1", &h, 9, NULL), 0);
        ck_assert_int_eq(pfs_pg_batch_pending(st), 0);
    }
    ck_assert_int_eq(pfs_pg_exec(st->pg,
                                 "INSERT INTO devices (serial, model, status, created_ms)"
                                 " VALUES ('T2', 'PX-500', 'registered', 1)",
                                 0, NULL, &err),
                     0);
    pfs_pg_tx_rollback((struct pfs_pg_tx *)tx);
    pfs_pg_tx_rollback((struct pfs_pg_tx *)tx);
    pfs_pg_tx_rollback(NULL);
    ck_assert_int_eq(pfs_pg_tx_commit((struct pfs_pg_tx *)tx, &err), PF_ESTATE);
    ck_assert_int_eq(pfs_pg_device_get(st, "T2", NULL, NULL), PF_EUNKNOWN_SERIAL);
    ck_assert_int_eq(health_n("T1"), 1);
    ck_assert_int_eq(pfs_pg_tx_begin(st, PFS_DURABILITY_NORMAL, 100, &tx, &err), 0);
    ck_assert_int_eq(pfs_pg_tx_commit((struct pfs_pg_tx *)tx, &err), 0);
    ck_assert_int_eq(pfs_pg_device_add(st, &d, &ops, 100, &err), 0);
    /* a session lost inside a domain transaction fails its commit: nothing of
     * it stays, and the store works on after */
    ck_assert_int_eq(pfs_pg_tx_begin(st, PFS_DURABILITY_FULL, 100, &tx, &err), 0);
    ck_assert_int_eq(pfs_pg_exec(st->pg,
                                 "INSERT INTO devices (serial, model, status, created_ms)"
                                 " VALUES ('T3', 'PX-500', 'registered', 1)",
                                 0, NULL, &err),
                     0);
    kill_session(st);
    ck_assert_int_ne(pfs_pg_tx_commit((struct pfs_pg_tx *)tx, &err), 0);
    ck_assert_int_eq(pfs_pg_tx_begin(st, PFS_DURABILITY_FULL, 100, &tx, &err), 0);
    pfs_pg_tx_rollback((struct pfs_pg_tx *)tx);
    ck_assert_int_eq(pfs_pg_device_get(st, "T3", NULL, NULL), PF_EUNKNOWN_SERIAL);
    /* close with a transaction open rolls it back */
    ck_assert_int_eq(pfs_pg_tx_begin(st, PFS_DURABILITY_FULL, 100, &tx, &err), 0);
    reopen();
    ck_assert_int_eq(health_n("T1"), 1);
    down();
}
END_TEST

START_TEST(hold_and_release)
{
    struct pfs_tx *tx = NULL;
    struct pf_error err = {0};
    size_t written = 0, dropped = 9;
    bool newer = false;
    int deleted = -1;

    up();
    add("T1", "PX-500");
    put_health(st, "T1", 1, NULL);
    ck_assert_int_eq(pfs_pg_hold(st, 50, &err), 0);
    ck_assert(pfs_pg_is_held(st));
    ck_assert_int_eq(pfs_pg_hold(st, 50, &err), PF_ESTATE);
    ck_assert_int_eq(health_n("T1"), 1); /* the batch was committed at hold */
    put_health(st, "T1", 2, &newer);
    ck_assert(newer);
    ck_assert_int_eq(pfs_pg_alert_open(st, "T1", "paper", 60, NULL), 0);
    ck_assert_int_eq(pfs_pg_batch_pending(st), 0);
    ck_assert_int_eq(pfs_pg_flush(st, 70, NULL), 0);
    ck_assert_int_eq(pfs_pg_health_expire(st, 1000000, 100, &deleted), 0);
    ck_assert_int_eq(deleted, 0);
    ck_assert_int_eq(health_n("T1"), 1);
    ck_assert_int_eq(pfs_pg_tx_begin(st, PFS_DURABILITY_FULL, 80, &tx, &err), PF_ESTATE);
    ck_assert_ptr_nonnull(strstr(err.msg, "bulk change"));
    ck_assert_int_eq(pfs_pg_release(st, 90, &written, &dropped), 0);
    ck_assert_int_eq(written, 2);
    ck_assert_int_eq(dropped, 0);
    ck_assert(!pfs_pg_is_held(st));
    ck_assert_int_eq(health_n("T1"), 2);
    ck_assert_int_eq(pfs_pg_alert_open(st, "T1", "paper", 95, NULL), PF_EEXIST);
    down();
}
END_TEST

/* --- online samples, gauges, backup, sibling --- */

static int series__cb(void *ctx, int64_t ts_ms, int64_t online)
{
    int64_t *x = ctx;

    (void)ts_ms;
    x[0]++;
    x[1] = online;
    return 0;
}

static int gauges__cb(void *ctx, enum pfs_gauge_family family, int64_t id, const char *label,
                      int64_t n)
{
    int64_t *x = ctx;

    (void)id;
    if (family == PFS_GAUGE_TERMINALS && label && strcmp(label, "in_stock") == 0)
        x[0] = n;
    if (family == PFS_GAUGE_REPAIRS_OPEN)
        x[1] = n;
    return 0;
}

START_TEST(online_gauges_backup_sibling)
{
    struct pfs_online_counts c;
    struct pfs_store_opts o;
    struct pfs_store_backup *b = (struct pfs_store_backup *)&o;
    struct pf_error err = {0};
    char src[1024];
    int64_t x[2] = {0, 0}, g[2] = {-1, -1};

    up();
    add("T1", "PX-500");
    add("T2", "PX-500");
    put_health(st, "T1", 1, NULL);
    put_health(st, "T2", 1, NULL);
    ck_assert_int_eq(pfs_pg_flush(st, 10, NULL), 0);
    ck_assert_int_eq(pfs_pg_online_source(st, src, sizeof(src)), 0);
    ck_assert_int_eq(strncmp(src, "postgres:", 9), 0);
    ck_assert_str_eq(src + 9, dsn);
    ck_assert_msg(pfs_pg_online_count_file(src, &c, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(c.n, 1);
    ck_assert_str_eq(c.v[0].org_path, "/1/");
    ck_assert_int_eq(c.v[0].online, 2);
    ck_assert_int_eq(pfs_pg_online_save(st, 1000, 0, &c, &err), 0);
    ck_assert_int_eq(pfs_pg_online_save(st, 1000, 0, &c, &err), PF_EEXIST);
    pfs_online_counts_release(&c);
    ck_assert_msg(pfs_pg_online_sample(st, 2000, 1500, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(pfs_pg_online_series(st, NULL, 0, series__cb, x), 0);
    ck_assert_int_eq(x[0], 1); /* the sample at 1000 was older than 1500 */
    ck_assert_int_eq(x[1], 2);
    ck_assert_int_eq(pfs_pg_gauges(st, gauges__cb, g), 0);
    ck_assert_int_eq(g[0], 2);
    ck_assert_int_eq(g[1], 0);
    ck_assert_int_eq(pfs_pg_backup_new(st, "/nonexistent/copy", &b, &err), PF_EINVAL);
    ck_assert_ptr_null(b);
    ck_assert_ptr_nonnull(strstr(err.msg, "pg_dump"));
    ck_assert_int_eq(pfs_pg_sibling_opts(st, &o, &err), 0);
    ck_assert_str_eq(o.backend, "postgres");
    ck_assert_str_eq(o.dsn, dsn);
    ck_assert(o.sibling);
    free((char *)o.dsn);
    down();
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("pg_store");
    TCase *tc = tcase_create("core");

    tcase_add_unchecked_fixture(tc, server_up, server_down);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, two_instances_one_serial);
    tcase_add_test(tc, batch_survives_lost_session);
    tcase_add_test(tc, domain_transactions);
    tcase_add_test(tc, hold_and_release);
    tcase_add_test(tc, online_gauges_backup_sibling);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return pf_test_run(suite());
}
