/*
 * test_store_sqlite.c - the SQLite store: migrations, registry, latest state,
 * retention, alerts, listing and audit.
 */
#include <check.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "store/sqlite/store_migrations.h"
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

static void add(struct pfs_store *st, const char *serial, const char *model)
{
    struct pfs_device d = {0};
    struct pf_error err = {0};

    snprintf(d.serial, sizeof(d.serial), "%s", serial);
    snprintf(d.model, sizeof(d.model), "%s", model);
    ck_assert_int_eq(pfs_store_device_add(st, &d, &ops, 1000, &err), 0);
}

static struct pf_health health(uint32_t seq, int64_t ts)
{
    struct pf_health h;

    memset(&h, 0, sizeof(h));
    h.seq = seq;
    h.ts_ms = ts;
    h.battery_pct = 50 + (int)(seq % 50);
    h.net_type = PF_NET_4G;
    h.signal_dbm = -80;
    h.temp_c = 30;
    snprintf(h.fw_version, sizeof(h.fw_version), "1.%u", seq);
    snprintf(h.fee_version, sizeof(h.fee_version), "2026.1");
    snprintf(h.currency, sizeof(h.currency), "CNY");
    return h;
}

/* Counts rows with a raw connection, independent of the store's own reads. */
static long long count_rows(const char *sql)
{
    sqlite3 *db;
    sqlite3_stmt *s;
    long long n = -1;

    ck_assert_int_eq(sqlite3_open_v2(dbpath, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
    if (sqlite3_step(s) == SQLITE_ROW)
        n = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    sqlite3_close(db);
    return n;
}

START_TEST(migrations_idempotent)
{
    struct pfs_store *st = open_store();
    int v1 = 0, v2 = 0;

    ck_assert_int_eq(pfs_store_schema_version(st, &v1), 0);
    ck_assert_int_ge(v1, 1);
    add(st, "A1", "PX-500");
    pfs_store_close(st);
    st = open_store();
    ck_assert_int_eq(pfs_store_schema_version(st, &v2), 0);
    ck_assert_int_eq(v1, v2);
    ck_assert_int_eq(pfs_store_device_get(st, "A1", NULL, NULL), 0);
    pfs_store_close(st);
    /* Migration numbers are given out per piece of work and may have gaps until the pieces
     * meet: the highest one applied is the version. */
    ck_assert_int_eq(count_rows("SELECT max(version) FROM schema_migrations"), v1);
    ck_assert_int_eq(count_rows("SELECT count(*) FROM devices"), 1);
}
END_TEST

START_TEST(newer_schema_refused)
{
    struct pfs_store *st = open_store();
    struct pfs_store_opts o = {.path = dbpath};
    struct pf_error err = {0};
    sqlite3 *db;

    pfs_store_close(st);
    ck_assert_int_eq(sqlite3_open(dbpath, &db), SQLITE_OK);
    ck_assert_int_eq(sqlite3_exec(db, "INSERT INTO schema_migrations VALUES (999, 'future', 0)",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);
    st = NULL;
    ck_assert_int_eq(pfs_store_open(&o, &st, &err), PF_EVERSION);
    ck_assert_ptr_null(st);
    ck_assert_ptr_nonnull(strstr(err.msg, "999"));
}
END_TEST

/* Migration 012: the registry's own merchant column goes. A terminal in stock
 * whose merchant exists and is active is bound to it (with a history event
 * and an audit row); every other value is cleared. */
START_TEST(migration_merchant_becomes_binding)
{
    struct pfs_store *st;
    struct pfs_device got;
    sqlite3 *db;
    char *msg = NULL;

    ck_assert_int_eq(sqlite3_open(dbpath, &db), SQLITE_OK);
    ck_assert_int_eq(sqlite3_exec(db,
                                  "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY,"
                                  " name TEXT NOT NULL, applied_ms INTEGER NOT NULL)",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    for (const struct pfs_migration *m = pfs_migrations; m->sql && m->version < 12; m++) {
        char rec[256];

        ck_assert_msg(sqlite3_exec(db, m->sql, NULL, NULL, &msg) == SQLITE_OK, "%s", msg);
        snprintf(rec, sizeof(rec), "INSERT INTO schema_migrations VALUES (%d, '%s', 0)", m->version,
                 m->name);
        ck_assert_int_eq(sqlite3_exec(db, rec, NULL, NULL, NULL), SQLITE_OK);
    }
    ck_assert_msg(
            sqlite3_exec(db,
                         "INSERT INTO merchants (id, name, uscc, mcc, address, contact_name,"
                         " contact_phone, tz, settlement, fee_plan, status, created_ms, updated_ms)"
                         " VALUES ('M-ACT', 'a', '91110000000000001A', '5411', 'x', 'y', 'z',"
                         " 'Asia/Shanghai', 'T1', '[\"fees-1\"]', 'active', 1, 1),"
                         " ('M-APP', 'b', '91110000000000002B', '5411', 'x', 'y', 'z',"
                         " 'Asia/Urumqi', 'T1', '[]', 'approved', 1, 1);"
                         "INSERT INTO devices (serial, model, merchant_id, status, created_ms)"
                         " VALUES ('T1', 'PX', 'M-ACT', 'registered', 1),"
                         " ('T2', 'PX', 'M-NOPE', 'registered', 1),"
                         " ('T3', 'PX', 'M-APP', 'registered', 1),"
                         " ('T4', 'PX', 'M-ACT', 'revoked', 1),"
                         " ('T5', 'PX', NULL, 'registered', 1);",
                         NULL, NULL, &msg) == SQLITE_OK,
            "%s", msg);
    sqlite3_close(db);

    st = open_store();
    ck_assert_int_eq(pfs_store_device_get(st, "T1", &got, NULL), 0);
    ck_assert_str_eq(got.merchant_id, "M-ACT");
    ck_assert_int_eq(pfs_store_device_get(st, "T2", &got, NULL), 0);
    ck_assert_str_eq(got.merchant_id, "");
    ck_assert_int_eq(pfs_store_device_get(st, "T3", &got, NULL), 0);
    ck_assert_str_eq(got.merchant_id, "");
    ck_assert_int_eq(pfs_store_device_get(st, "T4", &got, NULL), 0);
    ck_assert_str_eq(got.merchant_id, "");
    ck_assert_int_eq(pfs_store_device_get(st, "T5", &got, NULL), 0);
    ck_assert_str_eq(got.merchant_id, "");
    pfs_store_close(st);
    ck_assert_int_eq(count_rows("SELECT count(*) FROM terminals WHERE serial='T1' AND"
                                " state='installed' AND merchant_id='M-ACT' AND"
                                " tz='Asia/Shanghai' AND fee_plan='[\"fees-1\"]'"),
                     1);
    ck_assert_int_eq(count_rows("SELECT count(*) FROM terminals"), 1);
    ck_assert_int_eq(count_rows("SELECT count(*) FROM terminal_events WHERE serial='T1' AND"
                                " kind='bind' AND merchant_id='M-ACT'"),
                     1);
    ck_assert_int_eq(count_rows("SELECT count(*) FROM audit a JOIN audit_ref r ON"
                                " r.audit_id = a.id WHERE a.action='terminal.bind' AND"
                                " a.target='T1' AND r.merchant_id='M-ACT'"),
                     1);
    ck_assert_int_eq(count_rows("SELECT count(*) FROM pragma_table_info('devices')"
                                " WHERE name='merchant_id'"),
                     0);
}
END_TEST

START_TEST(registry_add_dup_revoke)
{
    struct pfs_store *st = open_store();
    struct pfs_device d = {0}, got;
    struct pf_error err = {0};

    snprintf(d.serial, sizeof(d.serial), "T1");
    snprintf(d.model, sizeof(d.model), "PX-500");
    snprintf(d.hw_rev, sizeof(d.hw_rev), "r2");
    ck_assert_int_eq(pfs_store_device_add(st, &d, &ops, 1000, &err), 0);
    ck_assert_int_eq(pfs_store_device_get(st, "T1", &got, NULL), 0);
    ck_assert_str_eq(got.model, "PX-500");
    ck_assert_str_eq(got.hw_rev, "r2");
    ck_assert_str_eq(got.merchant_id, "");
    ck_assert_int_eq(got.status, PFS_DEV_REGISTERED);
    ck_assert_int_eq(got.created_ms, 1000);

    /* Duplicate: refused, nothing changed, no audit row. */
    snprintf(d.model, sizeof(d.model), "OTHER");
    ck_assert_int_eq(pfs_store_device_add(st, &d, &ops, 2000, &err), PF_EEXIST);
    ck_assert_int_eq(pfs_store_device_get(st, "T1", &got, NULL), 0);
    ck_assert_str_eq(got.model, "PX-500");

    ck_assert_int_eq(pfs_store_device_revoke(st, "T1", &ops, 3000, &err), 0);
    ck_assert_int_eq(pfs_store_device_get(st, "T1", &got, NULL), 0);
    ck_assert_int_eq(got.status, PFS_DEV_REVOKED);
    ck_assert_int_eq(got.revoked_ms, 3000);
    ck_assert_int_eq(pfs_store_device_revoke(st, "T1", &ops, 4000, &err), PF_ESTATE);
    ck_assert_int_eq(pfs_store_device_revoke(st, "NOPE", &ops, 4000, &err), PF_EUNKNOWN_SERIAL);
    ck_assert_int_eq(pfs_store_device_get(st, "NOPE", NULL, NULL), PF_EUNKNOWN_SERIAL);
    /* A revoked serial stays taken. */
    ck_assert_int_eq(pfs_store_device_add(st, &d, &ops, 5000, &err), PF_EEXIST);
    pfs_store_close(st);

    ck_assert_int_eq(count_rows("SELECT count(*) FROM audit"), 2);
    ck_assert_int_eq(count_rows("SELECT count(*) FROM audit WHERE action='device.add' AND"
                                " actor='alice' AND role='ops' AND target='T1' AND before IS"
                                " NULL AND after LIKE '%PX-500%'"),
                     1);
    ck_assert_int_eq(count_rows("SELECT count(*) FROM audit WHERE action='device.revoke' AND"
                                " before LIKE '%\"registered\"%' AND after LIKE"
                                " '%\"revoked\"%' AND ts_ms=3000"),
                     1);
}
END_TEST

START_TEST(audit_append_only)
{
    struct pfs_store *st = open_store();
    sqlite3 *db;

    add(st, "T1", "PX");
    pfs_store_close(st);
    ck_assert_int_eq(sqlite3_open(dbpath, &db), SQLITE_OK);
    ck_assert_int_ne(sqlite3_exec(db, "DELETE FROM audit", NULL, NULL, NULL), SQLITE_OK);
    ck_assert_int_ne(sqlite3_exec(db, "UPDATE audit SET actor='x'", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    ck_assert_int_eq(count_rows("SELECT count(*) FROM audit WHERE actor='alice'"), 1);
}
END_TEST

START_TEST(latest_state_ignores_late_reports)
{
    struct pfs_store *st = open_store();
    struct pfs_dev_state s;
    struct pf_health h;
    bool newer = false;

    add(st, "T1", "PX");
    h = health(10, 100000);
    ck_assert_int_eq(pfs_store_health_put(st, "T1", &h, 5000, &newer), 0);
    ck_assert(newer);
    h = health(11, 160000);
    ck_assert_int_eq(pfs_store_health_put(st, "T1", &h, 6000, &newer), 0);
    ck_assert(newer);
    /* A queued report from before arrives late: history only. */
    h = health(5, 40000);
    h.queued = true;
    ck_assert_int_eq(pfs_store_health_put(st, "T1", &h, 7000, &newer), 0);
    ck_assert(!newer);
    /* The same report again (duplicate delivery). */
    h = health(11, 160000);
    ck_assert_int_eq(pfs_store_health_put(st, "T1", &h, 7500, &newer), 0);
    ck_assert(!newer);
    ck_assert_int_eq(pfs_store_flush(st, 8000, NULL), 0);
    ck_assert_int_eq(pfs_store_device_get(st, "T1", NULL, &s), 0);
    ck_assert(s.seen && s.have_health && s.online);
    ck_assert_uint_eq(s.health.seq, 11);
    ck_assert_int_eq(s.health.ts_ms, 160000);
    ck_assert_str_eq(s.fw_version, "1.11");
    ck_assert_int_eq(s.last_seen_ms, 7500); /* heard from, even by the late one */
    /* A reset terminal: lower seq but a later time counts as newer. */
    h = health(0, 200000);
    ck_assert_int_eq(pfs_store_health_put(st, "T1", &h, 9000, &newer), 0);
    ck_assert(newer);
    ck_assert_int_eq(pfs_store_device_get(st, "T1", NULL, &s), 0);
    ck_assert_uint_eq(s.health.seq, 0);
    pfs_store_close(st);
    ck_assert_int_eq(count_rows("SELECT count(*) FROM health WHERE serial='T1'"), 5);
    ck_assert_int_eq(count_rows("SELECT count(*) FROM health WHERE stored_ms=8000"), 4);
}
END_TEST

START_TEST(birth_and_state)
{
    struct pfs_store *st = open_store();
    struct pfs_dev_state s;
    struct pf_birth b;
    struct pf_state m = {.state = PF_STATE_OFFLINE, .ts_ms = 0};

    memset(&b, 0, sizeof(b));
    add(st, "T1", "PX");
    b.ts_ms = 1000;
    snprintf(b.model, sizeof(b.model), "PX");
    snprintf(b.hw_rev, sizeof(b.hw_rev), "r1");
    snprintf(b.fw_version, sizeof(b.fw_version), "2.0");
    b.fw_slot = PF_SLOT_B;
    b.boot = PF_BOOT_UPDATED;
    b.selftest[PF_COMP_PRINTER] = PF_CHECK_FAIL;
    ck_assert_int_eq(pfs_store_birth_put(st, "T1", &b, 1500), 0);
    ck_assert_int_eq(pfs_store_device_get(st, "T1", NULL, &s), 0);
    ck_assert(s.online && s.have_birth && !s.have_health);
    ck_assert_str_eq(s.fw_version, "2.0");
    ck_assert_int_eq(s.fw_slot, PF_SLOT_B);
    ck_assert_int_eq(s.birth.boot, PF_BOOT_UPDATED);
    ck_assert_int_eq(s.birth.selftest[PF_COMP_PRINTER], PF_CHECK_FAIL);
    ck_assert_int_eq(s.birth.selftest[PF_COMP_POWER], PF_CHECK_PASS);
    ck_assert_int_eq(pfs_store_state_put(st, "T1", &m, 2000), 0);
    ck_assert_int_eq(pfs_store_device_get(st, "T1", NULL, &s), 0);
    ck_assert(!s.online);
    ck_assert_int_eq(s.last_seen_ms, 2000);
    pfs_store_close(st);
}
END_TEST

START_TEST(retention_prune_and_expire)
{
    struct pfs_store *st = open_store();
    int64_t n = 0;
    int del = 0;

    add(st, "T1", "PX");
    add(st, "T2", "PX");
    for (uint32_t i = 1; i <= 30; i++) {
        struct pf_health h = health(i, 1000 * i);

        ck_assert_int_eq(pfs_store_health_put(st, "T1", &h, 1000 * i, NULL), 0);
        ck_assert_int_eq(pfs_store_health_put(st, "T2", &h, 1000 * i, NULL), 0);
    }
    ck_assert_int_eq(pfs_store_health_prune(st, "T1", 10), 0);
    ck_assert_int_eq(pfs_store_health_count(st, "T1", &n), 0);
    ck_assert_int_eq(n, 10);
    ck_assert_int_eq(pfs_store_health_count(st, "T2", &n), 0);
    ck_assert_int_eq(n, 30); /* other terminals untouched */
    ck_assert_int_eq(pfs_store_flush(st, 50000, NULL), 0);
    pfs_store_close(st);
    /* The newest ten are the ones kept. */
    ck_assert_int_eq(count_rows("SELECT min(seq) FROM health WHERE serial='T1'"), 21);

    st = open_store();
    ck_assert_int_eq(pfs_store_health_expire(st, 25001, 1000, &del), 0);
    ck_assert_int_eq(del, 5 + 25); /* T1 21..25, T2 1..25 */
    ck_assert_int_eq(pfs_store_flush(st, 60000, NULL), 0);
    pfs_store_close(st);
    ck_assert_int_eq(count_rows("SELECT count(*) FROM health WHERE recv_ms < 25001"), 0);
    ck_assert_int_eq(count_rows("SELECT count(*) FROM health"), 10);
}
END_TEST

START_TEST(alerts_open_close)
{
    struct pfs_store *st = open_store();

    add(st, "T1", "PX");
    ck_assert_int_eq(pfs_store_alert_open(st, "T1", "tamper", 100, "x"), 0);
    ck_assert_int_eq(pfs_store_alert_open(st, "T1", "tamper", 200, "y"), PF_EEXIST);
    ck_assert_int_eq(pfs_store_alert_open(st, "T1", "paper_out", 200, ""), 0);
    ck_assert_int_eq(pfs_store_alert_close(st, "T1", "tamper", 300), 0);
    ck_assert_int_eq(pfs_store_alert_close(st, "T1", "tamper", 400), PF_ENOENT);
    ck_assert_int_eq(pfs_store_alert_open(st, "T1", "tamper", 500, "again"), 0);
    ck_assert_int_eq(pfs_store_flush(st, 600, NULL), 0);
    pfs_store_close(st);
    ck_assert_int_eq(count_rows("SELECT count(*) FROM alerts WHERE closed_ms IS NULL"), 2);
    ck_assert_int_eq(count_rows("SELECT count(*) FROM alerts WHERE kind='tamper'"), 2);
    ck_assert_int_eq(count_rows("SELECT closed_ms FROM alerts WHERE detail='x'"), 300);
}
END_TEST

START_TEST(unknown_alert_closed_on_register)
{
    struct pfs_store *st = open_store();

    ck_assert_int_eq(pfs_store_alert_open(st, "NEW1", "unknown_serial", 100, ""), 0);
    add(st, "NEW1", "PX");
    pfs_store_close(st);
    ck_assert_int_eq(count_rows("SELECT count(*) FROM alerts WHERE closed_ms IS NULL"), 0);
}
END_TEST

struct collect {
    char serials[16][PF_SERIAL_MAX + 1];
    char alerts[16][64];
    int n;
};

static int collect_cb(void *ctx, const struct pfs_device *d, const struct pfs_dev_state *s,
                      const char *alerts)
{
    struct collect *c = ctx;

    (void)s;
    snprintf(c->serials[c->n], sizeof(c->serials[0]), "%s", d->serial);
    snprintf(c->alerts[c->n], sizeof(c->alerts[0]), "%s", alerts ? alerts : "");
    c->n++;
    return 0;
}

START_TEST(list_filters_and_pages)
{
    struct pfs_store *st = open_store();
    struct pfs_dev_filter f = {.limit = 2};
    struct collect c = {0};
    struct pf_state off = {.state = PF_STATE_OFFLINE};
    struct pf_health h = health(1, 1000);
    struct pfs_summary sum;
    struct pf_error err = {0};
    bool more;

    add(st, "A", "PX");
    add(st, "B", "PX");
    add(st, "C", "QX");
    add(st, "D", "QX");
    add(st, "E", "QX");
    ck_assert_int_eq(pfs_store_health_put(st, "A", &h, 1000, NULL), 0);
    ck_assert_int_eq(pfs_store_health_put(st, "B", &h, 1000, NULL), 0);
    ck_assert_int_eq(pfs_store_state_put(st, "B", &off, 2000), 0);
    ck_assert_int_eq(pfs_store_alert_open(st, "B", "tamper", 1, ""), 0);
    ck_assert_int_eq(pfs_store_alert_open(st, "B", "paper_out", 1, ""), 0);
    ck_assert_int_eq(pfs_store_device_revoke(st, "E", &ops, 5, &err), 0);

    ck_assert_int_eq(pfs_store_device_list(st, &f, collect_cb, &c, &more), 0);
    ck_assert_int_eq(c.n, 2);
    ck_assert(more);
    ck_assert_str_eq(c.serials[1], "B");
    ck_assert_str_eq(c.alerts[1], "paper_out,tamper");
    f.after = "B";
    c.n = 0;
    ck_assert_int_eq(pfs_store_device_list(st, &f, collect_cb, &c, &more), 0);
    ck_assert_int_eq(c.n, 2);
    ck_assert_str_eq(c.serials[0], "C");
    ck_assert(more);
    f.after = "D";
    c.n = 0;
    ck_assert_int_eq(pfs_store_device_list(st, &f, collect_cb, &c, &more), 0);
    ck_assert_int_eq(c.n, 1);
    ck_assert(!more);

    struct {
        enum pfs_conn_filter conn;
        const char *model, *fw, *alert, *first;
        int n;
    } cases[] = {
            {PFS_FILTER_ONLINE, NULL, NULL, NULL, "A", 1},
            {PFS_FILTER_OFFLINE, NULL, NULL, NULL, "B", 1},
            {PFS_FILTER_NEVER, NULL, NULL, NULL, "C", 2},
            {PFS_FILTER_REVOKED, NULL, NULL, NULL, "E", 1},
            {PFS_FILTER_ANY, "QX", NULL, NULL, "C", 3},
            {PFS_FILTER_ANY, NULL, "1.1", NULL, "A", 2},
            {PFS_FILTER_ANY, NULL, NULL, "tamper", "B", 1},
            {PFS_FILTER_ANY, NULL, NULL, "silent", NULL, 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct pfs_dev_filter g = {.conn = cases[i].conn,
                                   .model = cases[i].model,
                                   .fw = cases[i].fw,
                                   .alert = cases[i].alert,
                                   .limit = 100};

        c.n = 0;
        ck_assert_int_eq(pfs_store_device_list(st, &g, collect_cb, &c, &more), 0);
        ck_assert_msg(c.n == cases[i].n, "case %zu: %d rows", i, c.n);
        if (cases[i].first)
            ck_assert_str_eq(c.serials[0], cases[i].first);
    }
    ck_assert_int_eq(pfs_store_summary(st, &sum, NULL, NULL), 0);
    ck_assert_int_eq(sum.total, 5);
    ck_assert_int_eq(sum.online, 1);
    ck_assert_int_eq(sum.offline, 1);
    ck_assert_int_eq(sum.never_seen, 2);
    ck_assert_int_eq(sum.revoked, 1);
    pfs_store_close(st);
}
END_TEST

static int group_cb(void *ctx, const char *group, const char *key, int64_t count)
{
    char *out = ctx;
    size_t n = strlen(out);

    snprintf(out + n, 512 - n, "%s:%s=%lld;", group, key, (long long)count);
    return 0;
}

/* Lists the serials running firmware fw (through the device_state_fw index). */
static int count_fw(struct pfs_store *st, const char *fw)
{
    struct pfs_dev_filter f = {.fw = fw, .limit = 10};
    struct collect c = {0};
    bool more;

    ck_assert_int_eq(pfs_store_device_list(st, &f, collect_cb, &c, &more), 0);
    return c.n;
}

/* A newer report with the versions held moves the latest state without rewriting the
 * versions; one with new versions, or a first report, writes them; a late one neither. */
START_TEST(latest_state_versions)
{
    struct pfs_store *st = open_store();
    struct pf_state on = {.state = PF_STATE_ONLINE, .ts_ms = 1};
    struct pfs_dev_state s;
    struct pf_health h;
    bool newer = false;

    add(st, "T1", "PX");
    add(st, "T2", "PX");
    /* T2 is seen first through a state message: a row without versions. */
    ck_assert_int_eq(pfs_store_state_put(st, "T2", &on, 500), 0);
    h = health(1, 1000);
    snprintf(h.fw_version, sizeof(h.fw_version), "1.0");
    ck_assert_int_eq(pfs_store_health_put(st, "T2", &h, 1000, &newer), 0);
    ck_assert(newer);
    ck_assert_int_eq(pfs_store_health_put(st, "T1", &h, 1000, &newer), 0);
    ck_assert(newer);
    h = health(2, 2000);
    snprintf(h.fw_version, sizeof(h.fw_version), "1.0");
    ck_assert_int_eq(pfs_store_health_put(st, "T1", &h, 2000, &newer), 0);
    ck_assert(newer);
    ck_assert_int_eq(pfs_store_device_get(st, "T1", NULL, &s), 0);
    ck_assert_uint_eq(s.health.seq, 2);
    ck_assert_int_eq(s.health.ts_ms, 2000);
    ck_assert_int_eq(s.last_seen_ms, 2000);
    ck_assert_str_eq(s.fw_version, "1.0");
    ck_assert_int_eq(count_fw(st, "1.0"), 2);
    /* New firmware in the next slot and a new fee table. */
    h = health(3, 3000);
    snprintf(h.fw_version, sizeof(h.fw_version), "2.0");
    snprintf(h.fee_version, sizeof(h.fee_version), "2026.2");
    h.fw_slot = PF_SLOT_B;
    ck_assert_int_eq(pfs_store_health_put(st, "T1", &h, 3000, &newer), 0);
    ck_assert(newer);
    ck_assert_int_eq(pfs_store_device_get(st, "T1", NULL, &s), 0);
    ck_assert_uint_eq(s.health.seq, 3);
    ck_assert_str_eq(s.fw_version, "2.0");
    ck_assert_int_eq(s.fw_slot, PF_SLOT_B);
    ck_assert_str_eq(s.fee_version, "2026.2");
    ck_assert_int_eq(count_fw(st, "1.0"), 1);
    ck_assert_int_eq(count_fw(st, "2.0"), 1);
    /* A late report with other versions: history only, the versions stay. */
    h = health(1, 500);
    snprintf(h.fw_version, sizeof(h.fw_version), "0.9");
    ck_assert_int_eq(pfs_store_health_put(st, "T1", &h, 4000, &newer), 0);
    ck_assert(!newer);
    /* Only the slot changes: that too is written. */
    h = health(4, 4000);
    snprintf(h.fw_version, sizeof(h.fw_version), "2.0");
    snprintf(h.fee_version, sizeof(h.fee_version), "2026.2");
    h.fw_slot = PF_SLOT_A;
    ck_assert_int_eq(pfs_store_health_put(st, "T1", &h, 4500, &newer), 0);
    ck_assert(newer);
    ck_assert_int_eq(pfs_store_flush(st, 5000, NULL), 0);
    ck_assert_int_eq(pfs_store_device_get(st, "T1", NULL, &s), 0);
    ck_assert_uint_eq(s.health.seq, 4);
    ck_assert_str_eq(s.fw_version, "2.0");
    ck_assert_int_eq(s.fw_slot, PF_SLOT_A);
    ck_assert_int_eq(s.last_seen_ms, 4500);
    ck_assert_int_eq(count_fw(st, "0.9"), 0);
    ck_assert_int_eq(count_fw(st, "2.0"), 1);
    ck_assert_int_eq(pfs_store_device_get(st, "T2", NULL, &s), 0);
    ck_assert_str_eq(s.fw_version, "1.0");
    ck_assert(s.have_health && s.online);
    pfs_store_close(st);
}
END_TEST

struct stamps {
    int64_t stored[8];
    int n;
};

static int stamps_cb(void *ctx, const struct pfs_health_row *r)
{
    struct stamps *x = ctx;

    if (x->n < 8)
        x->stored[x->n++] = r->stored_ms;
    return 0;
}

/* stored_ms: 0 while the batch is open, the commit time after, NULL for a batch committed
 * without one (an administrative change); never anything else. */
START_TEST(health_stored_ms)
{
    struct pfs_store *st = open_store();
    struct pf_health h = health(1, 1000);
    struct pf_error err = {0};
    struct pfs_device d = {0};
    struct stamps x = {0};

    add(st, "T1", "PX");
    ck_assert_int_eq(pfs_store_health_put(st, "T1", &h, 1000, NULL), 0);
    ck_assert_int_eq(pfs_store_health_recent(st, "T1", 5, stamps_cb, &x), 0);
    ck_assert_int_eq(x.n, 1);
    ck_assert_int_eq(x.stored[0], 0);
    ck_assert_int_eq(pfs_store_flush(st, 8000, NULL), 0);
    h = health(2, 2000);
    ck_assert_int_eq(pfs_store_health_put(st, "T1", &h, 2000, NULL), 0);
    /* A registration commits the open batch first, without a time. */
    snprintf(d.serial, sizeof(d.serial), "T2");
    snprintf(d.model, sizeof(d.model), "PX");
    ck_assert_int_eq(pfs_store_device_add(st, &d, &ops, 2500, &err), 0);
    h = health(3, 3000);
    ck_assert_int_eq(pfs_store_health_put(st, "T1", &h, 3000, NULL), 0);
    x.n = 0;
    ck_assert_int_eq(pfs_store_health_recent(st, "T1", 5, stamps_cb, &x), 0);
    ck_assert_int_eq(x.n, 3);
    ck_assert_int_eq(x.stored[0], 0);
    ck_assert_int_eq(x.stored[1], 0);
    ck_assert_int_eq(x.stored[2], 8000);
    ck_assert_int_eq(pfs_store_flush(st, 9000, NULL), 0);
    x.n = 0;
    ck_assert_int_eq(pfs_store_health_recent(st, "T1", 5, stamps_cb, &x), 0);
    ck_assert_int_eq(x.stored[0], 9000);
    ck_assert_int_eq(x.stored[1], 0);
    pfs_store_close(st);
    ck_assert_int_eq(count_rows("SELECT count(*) FROM health WHERE stored_ms=8000 AND seq=1"), 1);
    ck_assert_int_eq(count_rows("SELECT count(*) FROM health WHERE stored_ms IS NULL AND seq=2"),
                     1);
    ck_assert_int_eq(count_rows("SELECT count(*) FROM health WHERE stored_ms=9000 AND seq=3"), 1);
    ck_assert_int_eq(count_rows("SELECT count(*) FROM health WHERE stored_ms < 0"), 0);
}
END_TEST

START_TEST(summary_counts_follow_registry)
{
    struct pfs_store *st = open_store();
    struct pfs_summary sum;
    struct pf_error err = {0};
    char groups[512] = "";
    sqlite3 *db;

    add(st, "A", "PX");
    add(st, "B", "PX");
    add(st, "C", "QX");
    ck_assert_int_eq(pfs_store_device_revoke(st, "B", &ops, 5, &err), 0);
    ck_assert_int_eq(pfs_store_summary(st, &sum, group_cb, groups), 0);
    ck_assert_int_eq(sum.total, 3);
    ck_assert_int_eq(sum.revoked, 1);
    ck_assert_int_eq(sum.never_seen, 2);
    ck_assert_ptr_nonnull(strstr(groups, "models:PX=2;models:QX=1;"));
    pfs_store_close(st);

    /* A store from before migration 002: the counts are rebuilt from the registry. */
    ck_assert_int_eq(sqlite3_open(dbpath, &db), SQLITE_OK);
    ck_assert_int_eq(sqlite3_exec(db,
                                  "DROP TABLE device_counts; DROP TRIGGER device_counts_insert;"
                                  " DROP TRIGGER device_counts_update;"
                                  " DROP TRIGGER device_counts_delete;"
                                  " DELETE FROM schema_migrations WHERE version = 2;"
                                  " INSERT INTO devices (serial, model, status, created_ms)"
                                  " VALUES ('D', 'QX', 'registered', 1)",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);
    st = open_store();
    groups[0] = '\0';
    ck_assert_int_eq(pfs_store_summary(st, &sum, group_cb, groups), 0);
    ck_assert_int_eq(sum.total, 4);
    ck_assert_int_eq(sum.revoked, 1);
    ck_assert_ptr_nonnull(strstr(groups, "models:PX=2;models:QX=2;"));
    pfs_store_close(st);
}
END_TEST

START_TEST(open_bad_path)
{
    struct pfs_store_opts o = {.path = "/nonexistent-dir/x/y.db"};
    struct pfs_store *st = NULL;
    struct pf_error err = {0};

    ck_assert_int_eq(pfs_store_open(&o, &st, &err), PF_EIO);
    ck_assert_ptr_null(st);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("store_sqlite");
    TCase *tc = tcase_create("core");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, migrations_idempotent);
    tcase_add_test(tc, newer_schema_refused);
    tcase_add_test(tc, migration_merchant_becomes_binding);
    tcase_add_test(tc, registry_add_dup_revoke);
    tcase_add_test(tc, audit_append_only);
    tcase_add_test(tc, latest_state_ignores_late_reports);
    tcase_add_test(tc, birth_and_state);
    tcase_add_test(tc, retention_prune_and_expire);
    tcase_add_test(tc, alerts_open_close);
    tcase_add_test(tc, unknown_alert_closed_on_register);
    tcase_add_test(tc, list_filters_and_pages);
    tcase_add_test(tc, summary_counts_follow_registry);
    tcase_add_test(tc, latest_state_versions);
    tcase_add_test(tc, health_stored_ms);
    tcase_add_test(tc, open_bad_path);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return pf_test_run(suite());
}
