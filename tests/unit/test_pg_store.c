/*
 * test_pg_store.c - the PostgreSQL twins of store.h, store_online.h,
 * store_metrics.h and store_backup.h (server/store/postgres/pg_store.c,
 * pg_ingest.c, pg_devices.c, pg_online.c...) against a real PostgreSQL 15,
 * each case in a database of its own.
 *
 * The cases of the store contract (tests/unit/test_store_contract.c) that
 * these functions answer, called directly (pfs_pg_NAME), plus what only this
 * backend has: an ingest batch written once, whole, after its session was
 * terminated (PostgreSQL restarted, the backend killed) between the writes
 * and the flush; a batch lost whole by a crash; two instances registering
 * one serial at once; a domain transaction whose session was lost fails its
 * commit and leaves nothing.
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

START_TEST(registry)
{
    struct pfs_device d, got;
    struct pfs_dev_state s;
    struct pf_error err = {0};
    enum pfs_dev_status status;
    struct audits a;
    int v = 0;
    char *text;

    up();
    ck_assert_int_eq(pfs_pg_schema_version(st, &v), 0);
    ck_assert_int_ge(v, 10);
    memset(&d, 0, sizeof(d));
    snprintf(d.serial, sizeof(d.serial), "T1");
    snprintf(d.model, sizeof(d.model), "PX-500");
    snprintf(d.hw_rev, sizeof(d.hw_rev), "B");
    ck_assert_int_eq(pfs_pg_device_add(st, &d, &ops, 1000, &err), 0);
    ck_assert_int_eq(pfs_pg_device_add(st, &d, &ops, 1001, &err), PF_EEXIST);
    ck_assert_str_eq(err.msg, "serial T1: already registered");
    ck_assert_int_eq(pfs_pg_device_get(st, "T1", &got, &s), 0);
    ck_assert_str_eq(got.model, "PX-500");
    ck_assert_str_eq(got.hw_rev, "B");
    ck_assert_str_eq(got.merchant_id, "");
    ck_assert_int_eq(got.status, PFS_DEV_REGISTERED);
    ck_assert_int_eq(got.created_ms, 1000);
    ck_assert(!s.seen);
    ck_assert_int_eq(pfs_pg_device_get(st, "NOPE", &got, NULL), PF_EUNKNOWN_SERIAL);
    ck_assert_int_eq(pfs_pg_device_status(st, "T1", &status), 0);
    ck_assert_int_eq(status, PFS_DEV_REGISTERED);
    ck_assert_int_eq(pfs_pg_device_status(st, "NOPE", &status), PF_EUNKNOWN_SERIAL);
    ck_assert_int_eq(pfs_pg_device_revoke(st, "NOPE", &ops, 1100, &err), PF_EUNKNOWN_SERIAL);
    ck_assert_int_eq(pfs_pg_device_revoke(st, "T1", &ops, 1100, &err), 0);
    ck_assert_int_eq(pfs_pg_device_revoke(st, "T1", &ops, 1101, &err), PF_ESTATE);
    ck_assert_int_eq(pfs_pg_device_get(st, "T1", &got, NULL), 0);
    ck_assert_int_eq(got.status, PFS_DEV_REVOKED);
    ck_assert_int_eq(got.revoked_ms, 1100);
    ck_assert_int_eq(pfs_pg_device_add(st, &d, &ops, 1200, &err), PF_EEXIST);
    ck_assert_str_eq(err.msg, "serial T1: already registered (revoked)");
    a = audit_of("T1");
    ck_assert_int_eq(a.n, 2);
    ck_assert_str_eq(a.action[0], "device.revoke");
    ck_assert(a.before[0]);
    ck_assert_str_eq(a.action[1], "device.add");
    ck_assert(!a.before[1]);
    ck_assert_int_gt(a.id[0], a.id[1]);
    text = pfs_rec_device_text(&got);
    ck_assert_str_eq(a.after_text[0], text);
    free(text);
    ck_assert_str_eq(a.after_text[1], "{\"hw_rev\":\"B\",\"merchant_id\":null,\"model\":\"PX-500\","
                                      "\"serial\":\"T1\",\"status\":\"registered\"}");
    {
        struct audits older;

        memset(&older, 0, sizeof(older));
        ck_assert_int_eq(pfs_pg_audit_list(st, NULL, a.id[0], 16, audits__cb, &older), 0);
        ck_assert_int_eq(older.n, 1);
        ck_assert_str_eq(older.action[0], "device.add");
    }
    down();
}
END_TEST

struct import_src {
    const char *const *serials;
    int i;
};

static int import__next(void *ctx, struct pfs_device *d, struct pf_error *err)
{
    struct import_src *x = ctx;

    (void)err;
    if (!x->serials[x->i])
        return 0;
    snprintf(d->serial, sizeof(d->serial), "%s", x->serials[x->i++]);
    snprintf(d->model, sizeof(d->model), "PX-500");
    return 1;
}

/* One terminal whose serial, model and hardware revision need escaping. */
static int import__odd_next(void *ctx, struct pfs_device *d, struct pf_error *err)
{
    struct import_src *x = ctx;

    (void)err;
    if (x->i++ > 0)
        return 0;
    snprintf(d->serial, sizeof(d->serial), "Q\\\"1");
    snprintf(d->model, sizeof(d->model), "PX \"5\" \\ {a,b}");
    snprintf(d->hw_rev, sizeof(d->hw_rev), "NULL");
    return 1;
}

START_TEST(import_all_or_nothing)
{
    static const char *const dup[] = {"I1", "I2", "I1", NULL};
    static const char *const ok[] = {"I1", "I2", "I3", NULL};
    struct import_src src = {dup, 0};
    struct pf_error err = {0};
    int64_t count = -1;

    up();
    ck_assert_int_eq(pfs_pg_device_import(st, import__next, &src, &ops, 1000, &count, &err),
                     PF_EEXIST);
    ck_assert_int_eq(count, 0);
    ck_assert_int_eq(pfs_pg_device_get(st, "I2", NULL, NULL), PF_EUNKNOWN_SERIAL);
    ck_assert_int_eq(audit_of(NULL).n, 0);
    src.serials = ok;
    src.i = 0;
    ck_assert_int_eq(pfs_pg_device_import(st, import__next, &src, &ops, 1000, &count, &err), 0);
    ck_assert_int_eq(count, 3);
    ck_assert_int_eq(pfs_pg_device_get(st, "I3", NULL, NULL), 0);
    ck_assert_str_eq(audit_of("I2").action[0], "device.import");
    /* one already registered: named, nothing of the file stays */
    {
        static const char *const again[] = {"I4", "I2", NULL};
        static const char *const none[] = {NULL};

        src.serials = again;
        src.i = 0;
        ck_assert_int_eq(pfs_pg_device_import(st, import__next, &src, &ops, 1000, &count, &err),
                         PF_EEXIST);
        ck_assert_str_eq(err.msg, "serial I2: already registered");
        ck_assert_int_eq(pfs_pg_device_get(st, "I4", NULL, NULL), PF_EUNKNOWN_SERIAL);
        src.serials = none;
        src.i = 0;
        ck_assert_int_eq(pfs_pg_device_import(st, import__next, &src, &ops, 1000, &count, &err), 0);
        ck_assert_int_eq(count, 0);
    }
    /* text that array literals must escape comes back as written, audit included */
    {
        struct pfs_device got;
        struct audits a;
        char *text;

        src.serials = NULL;
        ck_assert_int_eq(pfs_pg_alert_open(st, "Q\\\"1", "unknown_serial", 5, NULL), 0);
        ck_assert_int_eq(pfs_pg_device_import(st, import__odd_next, &src, &ops, 1000, &count, &err),
                         0);
        ck_assert_int_eq(count, 1);
        ck_assert_int_eq(pfs_pg_device_get(st, "Q\\\"1", &got, NULL), 0);
        ck_assert_str_eq(got.model, "PX \"5\" \\ {a,b}");
        ck_assert_str_eq(got.hw_rev, "NULL");
        a = audit_of("Q\\\"1");
        ck_assert_int_eq(a.n, 1);
        text = pfs_rec_device_text(&got);
        ck_assert_str_eq(a.after_text[0], text);
        free(text);
        ck_assert_int_eq(pfs_pg_alert_close(st, "Q\\\"1", "unknown_serial", 6), PF_ENOENT);
    }
    down();
}
END_TEST

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

START_TEST(ingest_batch)
{
    struct pfs_dev_state s;
    struct rows r;
    struct pf_birth b;
    struct pf_state off = {PF_STATE_OFFLINE, 2500};
    bool newer = false;
    int n = -1;

    up();
    add("T1", "PX-500");
    ck_assert_int_eq(pfs_pg_batch_pending(st), 0);
    put_health(st, "T1", 5, &newer);
    ck_assert(newer);
    put_health(st, "T1", 3, &newer);
    ck_assert(!newer);
    put_health(st, "T1", 6, NULL);
    ck_assert_int_eq(pfs_pg_batch_pending(st), 3);
    memset(&r, 0, sizeof(r));
    ck_assert_int_eq(pfs_pg_health_recent(st, "T1", 10, rows__cb, &r), 0);
    ck_assert_int_eq(r.n, 3);
    ck_assert_int_eq(r.seq[0], 6);
    ck_assert_int_eq(r.stored[0], 0);
    ck_assert_int_eq(pfs_pg_flush(st, 9000, &n), 0);
    ck_assert_int_eq(n, 3);
    ck_assert_int_eq(pfs_pg_batch_pending(st), 0);
    ck_assert_int_eq(pfs_pg_flush(st, 9100, &n), 0);
    ck_assert_int_eq(n, 0);
    memset(&r, 0, sizeof(r));
    ck_assert_int_eq(pfs_pg_health_recent(st, "T1", 2, rows__cb, &r), 0);
    ck_assert_int_eq(r.n, 2);
    ck_assert_int_eq(r.stored[0], 9000);
    ck_assert_int_eq(pfs_pg_device_get(st, "T1", NULL, &s), 0);
    ck_assert(s.seen && s.online && s.have_health);
    ck_assert_int_eq(s.health.seq, 6);
    ck_assert_str_eq(s.fw_version, "1.0.0");
    ck_assert_int_eq(s.last_seen_ms, 2006);

    memset(&b, 0, sizeof(b));
    b.ts_ms = 3000;
    snprintf(b.model, sizeof(b.model), "PX-500");
    snprintf(b.fw_version, sizeof(b.fw_version), "2.0.0");
    snprintf(b.agent_version, sizeof(b.agent_version), "0.1");
    ck_assert_int_eq(pfs_pg_birth_put(st, "T1", &b, 3000), 0);
    ck_assert_int_eq(pfs_pg_device_get(st, "T1", NULL, &s), 0);
    ck_assert(s.have_birth);
    ck_assert_str_eq(s.fw_version, "2.0.0");
    ck_assert_int_eq(pfs_pg_state_put(st, "T1", &off, 3100), 0);
    ck_assert_int_eq(pfs_pg_device_get(st, "T1", NULL, &s), 0);
    ck_assert(!s.online);
    ck_assert_int_eq(s.last_seen_ms, 3100);
    ck_assert_int_eq(health_n("T1"), 3);
    down();
}
END_TEST

static void crash__unflushed(void)
{
    struct pfs_pg_store *c = open_store();

    put_health(c, "T1", 1, NULL);
    put_health(c, "T1", 2, NULL);
    _exit(0);
}

static void crash__flushed(void)
{
    struct pfs_pg_store *c = open_store();

    put_health(c, "T1", 3, NULL);
    if (pfs_pg_flush(c, 5000, NULL) != 0)
        _exit(3);
    put_health(c, "T1", 4, NULL);
    _exit(0);
}

static void in_child(void (*fn)(void))
{
    pid_t pid = fork();
    int status = 0;

    ck_assert_int_ge(pid, 0);
    if (pid == 0)
        fn();
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child: %d", status);
}

START_TEST(ingest_crash_loses_batch_whole)
{
    struct pfs_dev_state s;

    up();
    add("T1", "PX-500");
    in_child(crash__unflushed);
    ck_assert_int_eq(health_n("T1"), 0);
    ck_assert_int_eq(pfs_pg_device_get(st, "T1", NULL, &s), 0);
    ck_assert(!s.seen);
    in_child(crash__flushed);
    ck_assert_int_eq(health_n("T1"), 1);
    ck_assert_int_eq(pfs_pg_device_get(st, "T1", NULL, &s), 0);
    ck_assert_int_eq(s.health.seq, 3);
    /* close writes the batch */
    put_health(st, "T1", 7, NULL);
    reopen();
    ck_assert_int_eq(health_n("T1"), 2);
    down();
}
END_TEST

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

struct alerts {
    int n;
    char kind[8][32];
};

static int alerts__cb(void *ctx, const struct pfs_alert *a)
{
    struct alerts *x = ctx;

    if (x->n < 8)
        snprintf(x->kind[x->n], sizeof(x->kind[0]), "%s", a->kind);
    x->n++;
    return 0;
}

struct groups {
    int alerts_battery, models_px, fw_1;
};

static int groups__cb(void *ctx, const char *group, const char *key, int64_t count)
{
    struct groups *g = ctx;

    if (strcmp(group, "alerts") == 0 && strcmp(key, "battery") == 0)
        g->alerts_battery = (int)count;
    if (strcmp(group, "models") == 0 && strcmp(key, "PX-500") == 0)
        g->models_px = (int)count;
    if (strcmp(group, "firmware") == 0 && strcmp(key, "1.0.0") == 0)
        g->fw_1 = (int)count;
    return 0;
}

START_TEST(alerts_and_summary)
{
    struct pfs_summary sum;
    struct groups g = {0};
    struct alerts x;

    up();
    add("T1", "PX-500");
    add("T2", "PX-500");
    add("T3", "QX-1");
    put_health(st, "T1", 1, NULL);
    ck_assert_int_eq(pfs_pg_alert_open(st, "T1", "battery", 100, "low"), 0);
    ck_assert_int_eq(pfs_pg_alert_open(st, "T1", "battery", 101, "low"), PF_EEXIST);
    ck_assert_int_eq(pfs_pg_alert_open(st, "T2", "paper", 100, NULL), 0);
    memset(&x, 0, sizeof(x));
    ck_assert_int_eq(pfs_pg_alerts_open(st, NULL, alerts__cb, &x), 0);
    ck_assert_int_eq(x.n, 2);
    memset(&x, 0, sizeof(x));
    ck_assert_int_eq(pfs_pg_alerts_open(st, "T1", alerts__cb, &x), 0);
    ck_assert_int_eq(x.n, 1);
    ck_assert_str_eq(x.kind[0], "battery");
    ck_assert_int_eq(pfs_pg_device_revoke(st, "T3", &ops, 200, NULL), 0);
    ck_assert_int_eq(pfs_pg_summary(st, &sum, groups__cb, &g), 0);
    ck_assert_int_eq(sum.total, 3);
    ck_assert_int_eq(sum.revoked, 1);
    ck_assert_int_eq(sum.online, 1);
    ck_assert_int_eq(sum.never_seen, 1);
    ck_assert_int_eq(g.alerts_battery, 1);
    ck_assert_int_eq(g.models_px, 2);
    ck_assert_int_eq(g.fw_1, 1);
    ck_assert_int_eq(pfs_pg_alert_close(st, "T1", "battery", 300), 0);
    ck_assert_int_eq(pfs_pg_alert_close(st, "T1", "battery", 301), PF_ENOENT);
    memset(&x, 0, sizeof(x));
    ck_assert_int_eq(pfs_pg_alerts_open(st, "T1", alerts__cb, &x), 0);
    ck_assert_int_eq(x.n, 0);
    /* registering a serial closes its unknown_serial alert */
    ck_assert_int_eq(pfs_pg_alert_open(st, "NEW", "unknown_serial", 400, NULL), 0);
    add("NEW", "PX-500");
    memset(&x, 0, sizeof(x));
    ck_assert_int_eq(pfs_pg_alerts_open(st, "NEW", alerts__cb, &x), 0);
    ck_assert_int_eq(x.n, 0);
    down();
}
END_TEST

struct fee_groups {
    int n;
    char line[8][64];
};

static int fee_groups__cb(void *ctx, const char *version, bool pending, int64_t effective_at,
                          int64_t terminals)
{
    struct fee_groups *g = ctx;

    if (g->n < 8)
        snprintf(g->line[g->n++], sizeof(g->line[0]), "%s %s %lld %lld", version,
                 pending ? "pending" : "active", (long long)effective_at, (long long)terminals);
    return 0;
}

static void put_fees(const char *serial, uint32_t seq, const char *active, const char *pending,
                     int64_t at)
{
    struct pf_health h = health(seq, 1000 + seq);

    snprintf(h.fee_version, sizeof(h.fee_version), "%s", active);
    snprintf(h.fee_pending.version, sizeof(h.fee_pending.version), "%s", pending);
    h.fee_pending.effective_at = at;
    ck_assert_int_eq(pfs_pg_health_put(st, serial, &h, 2000 + seq, NULL), 0);
}

START_TEST(fee_tables_pending_and_by_date)
{
    struct pfs_dev_state s;
    struct fee_groups g;

    up();
    add("T1", "PX-500");
    add("T2", "PX-500");
    add("T3", "PX-500");
    add("T4", "PX-500");
    put_fees("T1", 1, "F1", "F2", 5000);
    put_fees("T2", 1, "F1", "F2", 5000);
    put_fees("T3", 1, "", "F3", 4000);
    put_fees("T4", 1, "F9", "F9", 9000);
    ck_assert_int_eq(pfs_pg_device_revoke(st, "T4", &ops, 200, NULL), 0);
    ck_assert_int_eq(pfs_pg_device_get(st, "T1", NULL, &s), 0);
    ck_assert_str_eq(s.fee_pending.version, "F2");
    ck_assert_int_eq(s.fee_pending.effective_at, 5000);
    memset(&g, 0, sizeof(g));
    ck_assert_int_eq(pfs_pg_fee_tables(st, fee_groups__cb, &g), 0);
    ck_assert_int_eq(g.n, 3);
    ck_assert_str_eq(g.line[0], "F1 active 0 2");
    ck_assert_str_eq(g.line[1], "F3 pending 4000 1");
    ck_assert_str_eq(g.line[2], "F2 pending 5000 2");
    put_fees("T1", 2, "F2", "", 0);
    ck_assert_int_eq(pfs_pg_device_get(st, "T1", NULL, &s), 0);
    ck_assert_str_eq(s.fee_version, "F2");
    ck_assert_str_eq(s.fee_pending.version, "");
    ck_assert_int_eq(s.fee_pending.effective_at, 0);
    down();
}
END_TEST

START_TEST(prune_and_expire)
{
    int deleted = -1;

    up();
    add("T1", "PX-500");
    for (uint32_t i = 1; i <= 10; i++)
        put_health(st, "T1", i, NULL);
    ck_assert_int_eq(pfs_pg_health_prune(st, "T1", 4), 0);
    ck_assert_int_eq(health_n("T1"), 4);
    ck_assert_int_eq(pfs_pg_flush(st, 100, NULL), 0);
    ck_assert_int_eq(pfs_pg_health_expire(st, 2009, 1, &deleted), 0);
    ck_assert_int_eq(deleted, 1);
    ck_assert_int_eq(pfs_pg_health_expire(st, 2009, 100, &deleted), 0);
    ck_assert_int_eq(deleted, 1);
    ck_assert_int_eq(health_n("T1"), 2);
    down();
}
END_TEST

struct devs {
    int n;
    char serial[8][PF_SERIAL_MAX + 1];
    char alerts[8][64];
};

static int devs__cb(void *ctx, const struct pfs_device *d, const struct pfs_dev_state *s,
                    const char *alerts_csv)
{
    struct devs *x = ctx;

    (void)s;
    if (x->n < 8) {
        snprintf(x->serial[x->n], sizeof(x->serial[0]), "%s", d->serial);
        snprintf(x->alerts[x->n], sizeof(x->alerts[0]), "%s", alerts_csv ? alerts_csv : "-");
    }
    x->n++;
    return 0;
}

static struct devs list(const struct pfs_dev_filter *f, bool *more)
{
    struct devs x;

    memset(&x, 0, sizeof(x));
    ck_assert_int_eq(pfs_pg_device_list(st, f, devs__cb, &x, more), 0);
    return x;
}

START_TEST(device_list_filters)
{
    struct pfs_dev_filter f = {.limit = 2};
    struct pf_state off = {PF_STATE_OFFLINE, 0};
    struct devs x;
    bool more = false;

    up();
    add("A1", "PX-500");
    add("A2", "PX-500");
    add("A3", "QX-1");
    add("A4", "QX-1");
    put_health(st, "A1", 1, NULL);
    put_health(st, "A2", 1, NULL);
    ck_assert_int_eq(pfs_pg_state_put(st, "A2", &off, 5000), 0);
    ck_assert_int_eq(pfs_pg_alert_open(st, "A1", "paper", 1, NULL), 0);
    ck_assert_int_eq(pfs_pg_alert_open(st, "A1", "battery", 1, NULL), 0);
    ck_assert_int_eq(pfs_pg_device_revoke(st, "A4", &ops, 1, NULL), 0);
    x = list(&f, &more);
    ck_assert_int_eq(x.n, 2);
    ck_assert(more);
    ck_assert_str_eq(x.serial[1], "A2");
    ck_assert_str_eq(x.alerts[0], "battery,paper");
    ck_assert_str_eq(x.alerts[1], "-");
    f.after = "A2";
    x = list(&f, &more);
    ck_assert_int_eq(x.n, 2);
    ck_assert(!more);
    ck_assert_str_eq(x.serial[0], "A3");
    memset(&f, 0, sizeof(f));
    f.limit = 10;
    f.conn = PFS_FILTER_ONLINE;
    ck_assert_str_eq(list(&f, &more).serial[0], "A1");
    f.conn = PFS_FILTER_OFFLINE;
    ck_assert_str_eq(list(&f, &more).serial[0], "A2");
    f.conn = PFS_FILTER_NEVER;
    x = list(&f, &more);
    ck_assert_int_eq(x.n, 1);
    ck_assert_str_eq(x.serial[0], "A3");
    f.conn = PFS_FILTER_REVOKED;
    ck_assert_str_eq(list(&f, &more).serial[0], "A4");
    memset(&f, 0, sizeof(f));
    f.limit = 10;
    f.model = "QX-1";
    ck_assert_int_eq(list(&f, &more).n, 2);
    f.model = NULL;
    f.alert = "paper";
    ck_assert_int_eq(list(&f, &more).n, 1);
    f.alert = NULL;
    f.fw = "1.0.0";
    ck_assert_int_eq(list(&f, &more).n, 2);
    down();
}
END_TEST

/* --- transactions --- */

START_TEST(transactions)
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
    tcase_add_test(tc, registry);
    tcase_add_test(tc, import_all_or_nothing);
    tcase_add_test(tc, two_instances_one_serial);
    tcase_add_test(tc, ingest_batch);
    tcase_add_test(tc, ingest_crash_loses_batch_whole);
    tcase_add_test(tc, batch_survives_lost_session);
    tcase_add_test(tc, alerts_and_summary);
    tcase_add_test(tc, fee_tables_pending_and_by_date);
    tcase_add_test(tc, prune_and_expire);
    tcase_add_test(tc, device_list_filters);
    tcase_add_test(tc, transactions);
    tcase_add_test(tc, hold_and_release);
    tcase_add_test(tc, online_gauges_backup_sibling);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return pf_test_run(suite());
}
