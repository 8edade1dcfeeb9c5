/*
 * test_fleet_counts.c - the dashboard's counts the SQLite store keeps as
 * terminals change (migration 024): after random ingest, registry, binding,
 * organisation, revoke, retire and alert changes made through the store, every
 * scope's summary and fee tables equal a full recount of the base tables (the
 * scans the summary ran before the counts), and the kept tables equal their
 * definition recounted. A kill -9 with a batch written but not committed, or
 * right after a commit, leaves them exact.
 */
#include <check.h>
#include <signal.h>
#include <stdarg.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "store/sqlite/store_scope.h"
#include "store/store.h"
#include "store/store_accounts.h"
#include "store/store_lifecycle.h"
#include "testutil.h"

#define NTERM     40
#define NMERCHANT 6

static char dir[256];
static char dbpath[300];
static const struct pfs_actor ops = {.name = "alice", .role = "ops"};
static const char *const paths[] = {"/1/", "/1/2/", "/1/2/3/", "/1/4/"};
static const char *const kinds[] = {"battery_low", "offline", "tamper"};
static const char *const fws[] = {"1.0.0", "1.1.0", "2.0.0", ""};
static const char *const fees[] = {"", "fee-2026.10", "fee-2026.11"};

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

    ck_assert_msg(pfs_store_open(&o, &st, &err) == 0, "%s", err.msg);
    return st;
}

static void raw_exec(const char *sql)
{
    sqlite3 *db;
    char *msg = NULL;

    ck_assert_int_eq(sqlite3_open(dbpath, &db), SQLITE_OK);
    ck_assert_msg(sqlite3_exec(db, sql, NULL, NULL, &msg) == SQLITE_OK, "%s", msg);
    sqlite3_close(db);
}

static void add_device(struct pfs_store *st, int i)
{
    struct pfs_device d = {0};
    struct pf_error err = {0};

    snprintf(d.serial, sizeof(d.serial), "T%03d", i);
    snprintf(d.model, sizeof(d.model), "%s", i % 3 ? "PX-500" : "PX-700");
    ck_assert_msg(pfs_store_device_add(st, &d, &ops, 1000, &err) == 0, "%s", err.msg);
}

/* Three agents under headquarters (one nested) and merchants spread over all four. */
static struct pfs_store *fleet(void)
{
    struct pfs_store *st = open_store();
    char sql[4096];
    size_t n = 0;

    raw_exec("INSERT INTO orgs (id, name, kind, parent, path, created_ms) VALUES"
             " (2, 'east', 'agent', 1, '/1/2/', 0), (3, 'east-sub', 'agent', 2, '/1/2/3/', 0),"
             " (4, 'west', 'agent', 1, '/1/4/', 0)");
    n += (size_t)snprintf(sql + n, sizeof(sql) - n,
                          "INSERT INTO merchants (id, name, uscc, mcc, address, contact_name,"
                          " contact_phone, tz, settlement, fee_plan, status, created_ms,"
                          " updated_ms, org_id) VALUES");
    for (int m = 0; m < NMERCHANT; m++)
        n += (size_t)snprintf(sql + n, sizeof(sql) - n,
                              "%s ('M%d', 'm', '9111000000000000%dX', '5411', 'a', 'c', 'p',"
                              " 'Asia/Shanghai', 'T1', '[]', 'approved', 1, 1, %d)",
                              m ? "," : "", m, m, 1 + m % 4);
    raw_exec(sql);
    for (int i = 0; i < NTERM; i++)
        add_device(st, i);
    return st;
}

/* --- the summary as the store reads it --- */

struct text {
    char s[8192];
    size_t n;
};

static void put(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct text *t, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    t->n += (size_t)vsnprintf(t->s + t->n, sizeof(t->s) - t->n, fmt, ap);
    va_end(ap);
    ck_assert_uint_lt(t->n, sizeof(t->s));
}

static int group_cb(void *ctx, const char *group, const char *key, int64_t count)
{
    put(ctx, "%s:%s=%lld;", group, key, (long long)count);
    return 0;
}

static int fee_cb(void *ctx, const char *version, bool pending, int64_t at, int64_t n)
{
    put(ctx, "fee:%s/%d/%lld=%lld;", version, pending, (long long)at, (long long)n);
    return 0;
}

static void store_text(struct pfs_store *st, const struct pfs_scope *scope, struct text *t)
{
    struct pfs_summary sum;

    memset(t, 0, sizeof(*t));
    ck_assert_int_eq(pfs_store_summary_in(st, scope, &sum, group_cb, t), 0);
    put(t, "total=%lld online=%lld offline=%lld never=%lld revoked=%lld;", (long long)sum.total,
        (long long)sum.online, (long long)sum.offline, (long long)sum.never_seen,
        (long long)sum.revoked);
    ck_assert_int_eq(pfs_store_fee_tables_in(st, scope, fee_cb, t), 0);
}

/* --- the same by scanning the base tables (the summary's reads before 024) --- */

static void scan_rows(sqlite3 *db, const struct pfs_scope *scope, const char *sql, const char *fmt,
                      struct text *t)
{
    sqlite3_stmt *s;

    ck_assert_msg(sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK, "%s", sqlite3_errmsg(db));
    pfs_sqlite_bind_scope(s, 1, 2, scope);
    while (sqlite3_step(s) == SQLITE_ROW) {
        const char *k = (const char *)sqlite3_column_text(s, 0);

        if (strcmp(fmt, "fee") == 0)
            put(t, "fee:%s/%d/%lld=%lld;", k, sqlite3_column_int(s, 3),
                (long long)sqlite3_column_int64(s, 1), (long long)sqlite3_column_int64(s, 2));
        else
            put(t, "%s:%s=%lld;", fmt, k ? k : "", (long long)sqlite3_column_int64(s, 1));
    }
    sqlite3_finalize(s);
}

#define SCOPE(col) PFS_SQLITE_SCOPE_TERM(col, "?1", "?2")

static void scan_text(sqlite3 *db, const struct pfs_scope *scope, struct text *t)
{
    sqlite3_stmt *s;
    long long total, revoked, online, offline;

    memset(t, 0, sizeof(*t));
    scan_rows(db, scope,
              "SELECT kind, count(*) FROM alerts WHERE closed_ms IS NULL AND " SCOPE(
                      "alerts.serial") " GROUP BY kind ORDER BY kind",
              "alerts", t);
    scan_rows(db, scope,
              "SELECT model, count(*) FROM devices d WHERE " SCOPE(
                      "d.serial") " GROUP BY model ORDER BY model",
              "models", t);
    scan_rows(db, scope,
              "SELECT s.fw_version, count(*) FROM device_state s JOIN devices d ON d.serial ="
              " s.serial WHERE s.fw_version IS NOT NULL AND d.status = 'registered' AND " SCOPE(
                      "d.serial") " GROUP BY 1 ORDER BY 1",
              "firmware", t);
    ck_assert_int_eq(sqlite3_prepare_v2(db,
                                        "SELECT count(*), coalesce(sum(d.status = 'revoked'), 0),"
                                        " coalesce(sum(d.status = 'registered' AND s.online = 1),"
                                        " 0), coalesce(sum(d.status = 'registered' AND"
                                        " s.online = 0), 0) FROM devices d LEFT JOIN device_state"
                                        " s ON s.serial = d.serial WHERE " SCOPE("d.serial"),
                                        -1, &s, NULL),
                     SQLITE_OK);
    pfs_sqlite_bind_scope(s, 1, 2, scope);
    ck_assert_int_eq(sqlite3_step(s), SQLITE_ROW);
    total = sqlite3_column_int64(s, 0);
    revoked = sqlite3_column_int64(s, 1);
    online = sqlite3_column_int64(s, 2);
    offline = sqlite3_column_int64(s, 3);
    sqlite3_finalize(s);
    put(t, "total=%lld online=%lld offline=%lld never=%lld revoked=%lld;", total, online, offline,
        total - revoked - online - offline, revoked);
    scan_rows(db, scope,
              "SELECT s.fee_version, 0, count(*), 0 FROM device_state s JOIN devices d"
              " ON d.serial = s.serial WHERE s.fee_version IS NOT NULL AND s.fee_version != ''"
              " AND d.status = 'registered' AND " SCOPE("d.serial") " GROUP BY 1 ORDER BY 1",
              "fee", t);
    scan_rows(db, scope,
              "SELECT s.fee_pending, coalesce(s.fee_pending_at, 0), count(*), 1 FROM"
              " device_state s JOIN devices d ON d.serial = s.serial WHERE s.fee_pending IS NOT"
              " NULL AND d.status = 'registered' AND " SCOPE(
                      "d.serial") " GROUP BY 2, 1 ORDER BY 2, 1",
              "fee", t);
}

static char *raw_text(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *s;
    char *out;

    ck_assert_msg(sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK, "%s", sqlite3_errmsg(db));
    ck_assert_int_eq(sqlite3_step(s), SQLITE_ROW);
    out = strdup(sqlite3_column_text(s, 0) ? (const char *)sqlite3_column_text(s, 0) : "");
    sqlite3_finalize(s);
    return out;
}

static void same_text(sqlite3 *db, const char *kept, const char *recount)
{
    char *a = raw_text(db, kept), *b = raw_text(db, recount);

    ck_assert_str_eq(a, b);
    free(a);
    free(b);
}

/* Every scope's summary equals the scan, and the kept rows their recount. */
static void check_exact(struct pfs_store *st)
{
    sqlite3 *db;
    struct text a, b;
    struct pfs_scope scope;
    int scopes = 0;

    ck_assert_int_eq(sqlite3_open_v2(dbpath, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    for (size_t p = 0; p < sizeof(paths) / sizeof(paths[0]); p++)
        for (int m = -1; m < NMERCHANT; m++) {
            memset(&scope, 0, sizeof(scope));
            snprintf(scope.path, sizeof(scope.path), "%s", paths[p]);
            if (m >= 0)
                snprintf(scope.merchant, sizeof(scope.merchant), "M%d", m);
            store_text(st, &scope, &a);
            scan_text(db, &scope, &b);
            ck_assert_msg(strcmp(a.s, b.s) == 0, "scope %s %s:\n kept %s\n scan %s", scope.path,
                          scope.merchant, a.s, b.s);
            scopes++;
        }
    store_text(st, NULL, &a);
    scan_text(db, NULL, &b);
    ck_assert_str_eq(a.s, b.s);
    ck_assert_int_eq(scopes, 4 * (NMERCHANT + 1));
    same_text(db,
              "SELECT group_concat(r, ',') FROM (SELECT org_id || '/' || dim || '/' || key || '/'"
              " || at || '=' || n AS r FROM fleet_counts_org WHERE n != 0"
              " ORDER BY org_id, dim, key, at)",
              "SELECT group_concat(r, ',') FROM (SELECT o || '/' || dim || '/' || key || '/' || at"
              " || '=' || n AS r FROM (SELECT coalesce(o.org_id, 0) AS o, c.dim, c.key, c.at,"
              " count(*) AS n FROM fleet_contrib c LEFT JOIN fleet_owner o ON o.serial = c.serial"
              " GROUP BY 1, 2, 3, 4) ORDER BY o, dim, key, at)");
    same_text(db,
              "SELECT group_concat(r, ',') FROM (SELECT merchant_id || '/' || dim || '/' || key ||"
              " '/' || at || '=' || n AS r FROM fleet_counts_merchant WHERE n != 0"
              " ORDER BY merchant_id, dim, key, at)",
              "SELECT group_concat(r, ',') FROM (SELECT m || '/' || dim || '/' || key || '/' || at"
              " || '=' || n AS r FROM (SELECT o.merchant_id AS m, c.dim, c.key, c.at, count(*) AS"
              " n FROM fleet_contrib c JOIN fleet_owner o ON o.serial = c.serial"
              " GROUP BY 1, 2, 3, 4) ORDER BY m, dim, key, at)");
    {
        char *neg = raw_text(db, "SELECT (SELECT count(*) FROM fleet_counts_org WHERE n < 0) +"
                                 " (SELECT count(*) FROM fleet_counts_merchant WHERE n < 0)");

        ck_assert_str_eq(neg, "0");
        free(neg);
    }
    sqlite3_close(db);
}

/* --- the changes --- */

static void serial_of(int i, char *out, size_t len)
{
    snprintf(out, len, "T%03d", i);
}

static void report(struct pfs_store *st, const char *serial, unsigned *seq, unsigned r)
{
    struct pf_health h;
    int rc;

    memset(&h, 0, sizeof(h));
    h.seq = ++*seq;
    h.ts_ms = 1000 + *seq;
    h.battery_pct = 50;
    h.net_type = PF_NET_4G;
    h.signal_dbm = -80;
    h.temp_c = 30;
    snprintf(h.fw_version, sizeof(h.fw_version), "%s", fws[r % 4]);
    snprintf(h.fee_version, sizeof(h.fee_version), "%s", fees[(r / 4) % 3]);
    if ((r / 12) % 2) {
        snprintf(h.fee_pending.version, sizeof(h.fee_pending.version), "fee-2027.%u", r % 2);
        h.fee_pending.effective_at = 1800000000 + (int64_t)(r % 3) * 86400;
    }
    snprintf(h.currency, sizeof(h.currency), "CNY");
    rc = pfs_store_health_put(st, serial, &h, 2000 + *seq, NULL);
    ck_assert_int_eq(rc, 0);
}

static void step(struct pfs_store *st, unsigned r, unsigned *seq)
{
    struct pf_error err = {0};
    char serial[16], merchant[16];
    unsigned what = r % 13, arg = r / 13;
    int rc = 0;

    serial_of((int)(arg % NTERM), serial, sizeof(serial));
    snprintf(merchant, sizeof(merchant), "M%u", (arg / NTERM) % NMERCHANT);
    if (what >= 6 && pfs_store_flush(st, 5000 + *seq, NULL) != 0)
        ck_abort_msg("flush");
    switch (what) {
    case 0:
    case 1:
    case 2:
        report(st, serial, seq, arg / NTERM);
        break;
    case 3: {
        struct pf_state m = {(arg / NTERM) % 2 ? PF_STATE_OFFLINE : PF_STATE_ONLINE, 0};

        rc = pfs_store_state_put(st, serial, &m, 3000 + *seq);
        break;
    }
    case 4:
        rc = pfs_store_alert_open(st, serial, kinds[(arg / NTERM) % 3], 3000, "x");
        rc = rc == PF_EEXIST ? 0 : rc;
        break;
    case 5:
        rc = pfs_store_alert_close(st, serial, kinds[(arg / NTERM) % 3], 4000);
        rc = rc == PF_ENOENT ? 0 : rc;
        break;
    case 6:
    case 7:
        rc = pfs_store_term_bind(st, serial, merchant, &ops, 4000 + *seq, &err);
        rc = rc == PF_ESTATE ? 0 : rc;
        break;
    case 8:
        rc = pfs_store_term_unbind(st, serial, &ops, 4000 + *seq, &err);
        rc = rc == PF_ESTATE ? 0 : rc;
        break;
    case 9:
        rc = pfs_store_merchant_set_org(st, NULL, merchant, 1 + (int64_t)(arg % 4), &ops, 4000,
                                        &err);
        break;
    case 10:
        if (arg % 5 == 0) {
            rc = pfs_store_device_revoke(st, serial, &ops, 4000, &err);
            rc = rc == PF_ESTATE || rc == PF_EEXIST ? 0 : rc;
        }
        break;
    case 11:
        if (arg % 7 == 0) {
            rc = pfs_store_term_retire(st, serial, &ops, 4000, &err);
            rc = rc == PF_ESTATE ? 0 : rc;
        }
        break;
    default:
        break;
    }
    ck_assert_msg(rc == 0, "step %u (%u): %s %s", what, arg, pf_errname(rc), err.msg);
}

START_TEST(counts_follow_random_changes)
{
    struct pfs_store *st = fleet();
    unsigned seq = 0;

    srand(17);
    check_exact(st);
    for (int i = 1; i <= 1500; i++) {
        step(st, (unsigned)rand(), &seq);
        if (i % 100 == 0) {
            ck_assert_int_eq(pfs_store_flush(st, 9000, NULL), 0);
            check_exact(st);
        }
    }
    {
        struct pfs_summary sum;

        /* The run reached every kind of row the counts keep. */
        ck_assert_int_eq(pfs_store_summary_in(st, NULL, &sum, NULL, NULL), 0);
        ck_assert_int_gt(sum.online, 0);
        ck_assert_int_gt(sum.offline, 0);
        ck_assert_int_gt(sum.revoked, 0);
        ck_assert_int_gt(sum.total - sum.online - sum.offline - sum.revoked, -1);
    }
    pfs_store_close(st);
}
END_TEST

/* The counts migration 024 fills from a store that already holds terminals. */
START_TEST(counts_filled_by_the_migration)
{
    struct pfs_store *st = fleet();
    unsigned seq = 0;

    srand(24);
    for (int i = 0; i < 400; i++)
        step(st, (unsigned)rand(), &seq);
    ck_assert_int_eq(pfs_store_flush(st, 9000, NULL), 0);
    pfs_store_close(st);
    raw_exec("DELETE FROM fleet_counts_org; DELETE FROM fleet_counts_merchant;"
             " INSERT INTO fleet_counts_org (org_id, dim, key, at, n)"
             " SELECT coalesce(o.org_id, 0), c.dim, c.key, c.at, count(*)"
             " FROM fleet_contrib c LEFT JOIN fleet_owner o ON o.serial = c.serial"
             " GROUP BY 1, 2, 3, 4;"
             " INSERT INTO fleet_counts_merchant (merchant_id, dim, key, at, n)"
             " SELECT o.merchant_id, c.dim, c.key, c.at, count(*)"
             " FROM fleet_contrib c JOIN fleet_owner o ON o.serial = c.serial"
             " GROUP BY 1, 2, 3, 4;");
    st = open_store();
    check_exact(st);
    pfs_store_close(st);
}
END_TEST

/* A child writes a batch of ingest changes (and commits it when commit), then is
 * killed with SIGKILL; the parent reopens the store. */
static void crash_child(bool commit)
{
    pid_t pid = fork();
    int status = 0;

    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        struct pfs_store *st = open_store();
        unsigned seq = 1000;
        char serial[16];

        for (int i = 0; i < NTERM; i++) {
            struct pf_state m = {PF_STATE_OFFLINE, 0};

            serial_of(i, serial, sizeof(serial));
            if (i % 2)
                report(st, serial, &seq, (unsigned)i * 7);
            else if (pfs_store_state_put(st, serial, &m, 9500) != 0)
                _exit(3);
            if (i % 3 == 0) {
                int rc = pfs_store_alert_open(st, serial, "tamper", 9500, "x");

                if (rc && rc != PF_EEXIST)
                    _exit(4);
            }
        }
        if (pfs_store_batch_pending(st) <= 0)
            _exit(5);
        if (commit && pfs_store_flush(st, 9600, NULL) != 0)
            _exit(6);
        raise(SIGKILL);
        _exit(7);
    }
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "child status %d", status);
}

START_TEST(counts_exact_after_kill)
{
    struct pfs_store *st = fleet();
    struct pfs_summary before, after;
    struct text t0, t1;
    unsigned seq = 0;

    srand(9);
    for (int i = 0; i < 600; i++)
        step(st, (unsigned)rand(), &seq);
    ck_assert_int_eq(pfs_store_flush(st, 9000, NULL), 0);
    store_text(st, NULL, &t0);
    ck_assert_int_eq(pfs_store_summary_in(st, NULL, &before, NULL, NULL), 0);
    pfs_store_close(st);

    /* Killed between the batch and its commit: nothing of it counts. */
    crash_child(false);
    st = open_store();
    check_exact(st);
    store_text(st, NULL, &t1);
    ck_assert_str_eq(t0.s, t1.s);
    pfs_store_close(st);

    /* Killed after the commit: all of it counts. */
    crash_child(true);
    st = open_store();
    check_exact(st);
    ck_assert_int_eq(pfs_store_summary_in(st, NULL, &after, NULL, NULL), 0);
    ck_assert_int_eq(after.total, before.total);
    ck_assert(after.online != before.online || after.offline != before.offline);
    pfs_store_close(st);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("fleet_counts");
    TCase *tc = tcase_create("core");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, counts_follow_random_changes);
    tcase_add_test(tc, counts_filled_by_the_migration);
    tcase_add_test(tc, counts_exact_after_kill);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
