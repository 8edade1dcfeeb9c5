/*
 * bench_search.c - the first page of every search (store_search.h) in a store
 * of a million registered terminals and a hundred thousand merchants.
 *
 *   bench_search DB [TERMINALS [MERCHANTS [RUNS]]]
 *
 * Fill: DB is created through pfs_store_open (every migration), then filled
 * in one transaction on the store's own connection with the rows the store
 * writes (merchants, registry, lifecycle, latest state, alerts, audit); the
 * triggers of migration 014 build the search tables (name trigrams and grams,
 * tags) as they do in posfleetd. The distribution is in fill() below: Chinese
 * merchant names from cities, brands and trades (a fifth with 有限公司), a
 * tenth ASCII names, 30 regions of unequal size, 8 models and 6 firmware
 * versions of unequal share, 8% of terminals in stock, 1% locked, tags on a
 * tenth, open alerts on 2%, two audit rows per terminal.
 *
 * Timing: each query's first page (limit 100, the API's default) through the
 * store API, RUNS times after one warm-up, median; beside it the same filter
 * answered by a scan without the search indexes (SQL written here with unary
 * + so no index serves the filter; the "linear scan" baseline), median of 3.
 * Prints ROW lines for tests/bench/run.sh and the load average before and
 * after on stderr.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lifecycle/merchant.h"
#include "pf/num.h"
#include "store/sqlite/store_sqlite_internal.h"
#include "store/store.h"
#include "store/store_search.h"

static const char *const cities[] = {"深圳", "广州", "东莞", "佛山",     "上海", "北京", "杭州",
                                     "成都", "重庆", "西安", "乌鲁木齐", "喀什", "昆明", "南宁",
                                     "长沙", "武汉", "郑州", "济南",     "青岛", "厦门"};
static const char *const brands[] = {
        "幸运", "幸福", "王记", "李记", "老张", "天山", "金龙", "福满", "好再来", "大众",
        "阿里", "陈记", "鸿运", "兴隆", "新华", "小杨", "刘家", "丰收", "明珠",   "长城",
        "和平", "东方", "如意", "吉祥", "永安", "顺发", "美佳", "佳佳", "乐购",   "万家"};
static const char *const trades[] = {"面馆",   "超市",   "便利店", "餐厅",   "药房",
                                     "茶餐厅", "火锅店", "烧烤",   "水果店", "书店",
                                     "理发店", "五金店", "烟酒店", "服装店", "手机店",
                                     "拉面馆", "包子铺", "奶茶店", "花店",   "宾馆"};
static const char *const ascii_words[] = {"Lucky", "Golden", "Happy",  "Noodle", "Bar",
                                          "Mart",  "Cafe",   "Dragon", "Star",   "Fresh"};
static const char *const surnames[] = {"王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周",
                                       "徐", "孙", "马", "朱", "胡", "郭", "何", "高", "林", "罗"};
static const char *const given[] = {"伟", "芳", "娜", "敏", "静", "丽", "强", "磊",   "军", "洋",
                                    "勇", "艳", "杰", "娟", "涛", "明", "超", "秀英", "华", "平"};
static const char *const models[] = {"PX-500", "PX-500", "PX-500", "PX-700", "PX-700", "A920",
                                     "A920",   "S90",    "S90",    "N86",    "X990",   "V2PRO"};
static const char *const fws[] = {"2.1.0", "2.1.0", "2.1.0", "2.1.0", "2.1.0", "2.1.0",
                                  "2.0.0", "2.0.0", "2.0.0", "1.9.4", "1.9.3"};
static const char *const fees[] = {"fee-2026.11", "fee-2026.11", "fee-2026.11", "fee-2026.08",
                                   "fee-2026.05"};
static const char *const kinds[] = {"paper_out", "paper_out", "paper_out",      "battery_critical",
                                    "silent",    "silent",    "selftest_failed"};
static const char *const actions[] = {"terminal.tags", "merchant.update", "terminal.unbind",
                                      "terminal.swap", "repair.update"};

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* xorshift64*: the same data every run. */
static uint64_t rng = 0x9E3779B97F4A7C15ull;

static uint32_t rnd(uint32_t n)
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return (uint32_t)((rng * 0x2545F4914F6CDD1Dull) >> 33) % n;
}

/* Skewed pick in 0..n-1: small indexes more often (about 1/(i+1)). */
static uint32_t skew(uint32_t n)
{
    uint32_t a = rnd(n), b = rnd(n);

    return a < b ? a : b;
}

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static sqlite3_stmt *prep(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *s;

    if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK) {
        fprintf(stderr, "prepare: %s: %s\n", sqlite3_errmsg(db), sql);
        exit(1);
    }
    return s;
}

static void done(sqlite3 *db, sqlite3_stmt *s)
{
    if (sqlite3_step(s) != SQLITE_DONE) {
        fprintf(stderr, "step: %s\n", sqlite3_errmsg(db));
        exit(1);
    }
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
}

static void exec(sqlite3 *db, const char *sql)
{
    char *msg = NULL;

    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        fprintf(stderr, "%s: %s\n", sql, msg);
        exit(1);
    }
}

#define T(s, i, v) sqlite3_bind_text(s, i, v, -1, SQLITE_TRANSIENT)
#define I(s, i, v) sqlite3_bind_int64(s, i, v)

static const int64_t T0 = INT64_C(1767225600000); /* 2026-01-01 */

static void fill(sqlite3 *db, int nterm, int nmer)
{
    static const int64_t day = 86400000;
    sqlite3_stmt *m = prep(db, "INSERT INTO merchants (id, name, uscc, mcc, address, contact_name,"
                               " contact_phone, tz, settlement, fee_plan, status, created_ms,"
                               " updated_ms, region) VALUES (?1, ?2, ?3, '5812', ?4, ?5, ?6,"
                               " ?7, 'T1', '[\"fee-2026.11\"]', ?8, ?9, ?9, ?10)");
    sqlite3_stmt *d = prep(db, "INSERT INTO devices (serial, model, hw_rev, status, created_ms,"
                               " revoked_ms) VALUES (?1, ?2, 'B', ?3, ?4, ?5)");
    sqlite3_stmt *t = prep(db, "INSERT INTO terminals (serial, state, merchant_id, fee_plan, tz,"
                               " tags, bound_ms, updated_ms, lock_want, lock_cmd, lock_acked)"
                               " VALUES (?1, ?2, ?3, '[\"fee-2026.11\"]', 'Asia/Shanghai', ?4,"
                               " ?5, ?5, ?6, ?7, ?8)");
    sqlite3_stmt *s = prep(db, "INSERT INTO device_state (serial, online, last_seen_ms,"
                               " fw_version, fw_slot, fee_version) VALUES (?1, ?2, ?3, ?4, 0, ?5)");
    sqlite3_stmt *a = prep(db, "INSERT INTO alerts (serial, kind, opened_ms, closed_ms, detail)"
                               " VALUES (?1, ?2, ?3, ?4, '')");
    sqlite3_stmt *u = prep(db, "INSERT INTO audit (ts_ms, actor, role, action, target, before,"
                               " after) VALUES (?1, ?2, 'ops', ?3, ?4, NULL, '{}')");
    char id[32], name[256], buf[64], serial[32], actor[32];
    double t0 = now_s();

    exec(db, "BEGIN");
    for (int i = 0; i < nmer; i++) {
        int64_t created = T0 + (int64_t)i * (300 * day) / nmer;
        const char *status = rnd(100) < 95 ? "active" : rnd(2) ? "suspended" : "approved";

        snprintf(id, sizeof(id), "M%06d", i);
        if (rnd(10) == 0)
            snprintf(name, sizeof(name), "%s %s %s %d", ascii_words[rnd(N(ascii_words))],
                     ascii_words[rnd(N(ascii_words))], ascii_words[rnd(N(ascii_words))],
                     (int)rnd(1000));
        else
            snprintf(name, sizeof(name), "%s%s%s%s", cities[skew(N(cities))],
                     brands[rnd(N(brands))], trades[skew(N(trades))],
                     rnd(5) == 0 ? "有限公司" : "");
        T(m, 1, id);
        T(m, 2, name);
        snprintf(buf, sizeof(buf), "914403%011dX", i);
        T(m, 3, buf);
        T(m, 4, "深圳市南山区科技园");
        snprintf(buf, sizeof(buf), "%s%s", surnames[skew(N(surnames))], given[rnd(N(given))]);
        T(m, 5, buf);
        snprintf(buf, sizeof(buf), "139%08d", i);
        T(m, 6, buf);
        T(m, 7, rnd(20) == 0 ? "Asia/Urumqi" : "Asia/Shanghai");
        T(m, 8, status);
        I(m, 9, created);
        snprintf(buf, sizeof(buf), "R%02u", skew(30));
        T(m, 10, buf);
        done(db, m);
    }
    fprintf(stderr, "fill: %d merchants in %.1f s\n", nmer, now_s() - t0);
    for (int i = 0; i < nterm; i++) {
        int64_t created = T0 + (int64_t)i * (330 * day) / nterm;
        uint32_t r = rnd(1000);
        const char *state = r < 80    ? NULL
                            : r < 120 ? "installed"
                            : r < 130 ? "locked"
                            : r < 140 ? "in_repair"
                            : r < 150 ? "retired"
                                      : "active";
        int mer = state && strcmp(state, "in_repair") && strcmp(state, "retired")
                          ? (int)(skew((uint32_t)nmer) + rnd((uint32_t)nmer)) % nmer
                          : -1;
        uint32_t tg = rnd(1000);
        const char *tags = tg < 100   ? "[\"vip\"]"
                           : tg < 150 ? "[\"北区\"]"
                           : tg < 170 ? "[\"pilot\",\"vip\"]"
                           : tg < 171 ? "[\"旗舰店\"]"
                                      : "[]";
        bool locked = state && !strcmp(state, "locked");

        snprintf(serial, sizeof(serial), "PF%07d", i);
        T(d, 1, serial);
        T(d, 2, models[skew(N(models))]);
        T(d, 3, state && !strcmp(state, "retired") ? "revoked" : "registered");
        I(d, 4, created);
        if (state && !strcmp(state, "retired"))
            I(d, 5, created + day);
        done(db, d);
        if (state) {
            T(t, 1, serial);
            T(t, 2, state);
            if (mer >= 0) {
                snprintf(id, sizeof(id), "M%06d", mer);
                T(t, 3, id);
            }
            T(t, 4, tags);
            I(t, 5, created + day);
            I(t, 6, locked);
            if (locked)
                T(t, 7, "cmd-1");
            I(t, 8, locked && rnd(20) == 0 ? 0 : 1);
            done(db, t);
        }
        if (rnd(100) < 95) {
            T(s, 1, serial);
            I(s, 2, rnd(10) < 8);
            I(s, 3, created + 30 * day);
            T(s, 4, rnd(2000) == 0 ? "2.2.0-rc1" : fws[skew(N(fws))]);
            T(s, 5, fees[skew(N(fees))]);
            done(db, s);
        }
        if (rnd(100) < 7) { /* alerts: 2% open, 5% closed */
            bool open = rnd(7) < 2;

            T(a, 1, serial);
            T(a, 2, rnd(2000) == 0 ? "tamper" : kinds[rnd(N(kinds))]);
            I(a, 3, T0 + 300 * day + rnd(30) * day);
            if (!open)
                I(a, 4, T0 + 331 * day);
            done(db, a);
        }
        /* Two audit rows: registration, and binding or another change. */
        snprintf(actor, sizeof(actor), "ops-%02u", skew(20));
        I(u, 1, created);
        T(u, 2, actor);
        T(u, 3, "device.add");
        T(u, 4, serial);
        done(db, u);
        I(u, 1, created + 1);
        T(u, 2, actor);
        T(u, 3, mer >= 0 ? "terminal.bind" : actions[skew(N(actions))]);
        T(u, 4, serial);
        done(db, u);
        if (i % 100000 == 99999)
            fprintf(stderr, "fill: %d terminals, %.1f s\n", i + 1, now_s() - t0);
    }
    exec(db, "COMMIT");
    fprintf(stderr, "fill: done in %.1f s\n", now_s() - t0);
    sqlite3_finalize(m);
    sqlite3_finalize(d);
    sqlite3_finalize(t);
    sqlite3_finalize(s);
    sqlite3_finalize(a);
    sqlite3_finalize(u);
}

/* --- queries --- */

struct query {
    const char *name;
    enum pfs_search_kind kind;
    union {
        struct pfs_search_terminals t;
        struct pfs_search_merchants m;
        struct pfs_search_alerts a;
        struct pfs_search_audit u;
    } q;
    const char *scan;  /* the baseline: the filter without the search indexes */
    const char *value; /* bound to the scan's ?1 */
    int rows;          /* found on the last run */
};

static int count_term(void *ctx, const struct pfs_search_terminal *t)
{
    (void)t;
    ++*(int *)ctx;
    return 0;
}

static int count_merchant(void *ctx, const struct pfs_merchant *m)
{
    (void)m;
    ++*(int *)ctx;
    return 0;
}

static int count_alert(void *ctx, const struct pfs_search_alert *a)
{
    (void)a;
    ++*(int *)ctx;
    return 0;
}

static int count_audit(void *ctx, const struct pfs_audit *a)
{
    (void)a;
    ++*(int *)ctx;
    return 0;
}

static double run_once(struct pfs_store *st, struct query *q)
{
    bool more;
    int n = 0, rc = 0;
    double t0 = now_s();

    switch (q->kind) {
    case PFS_SEARCH_TERMINALS:
        rc = pfs_store_search_terminals(st, &q->q.t, count_term, &n, &more);
        break;
    case PFS_SEARCH_MERCHANTS:
        rc = pfs_store_search_merchants(st, &q->q.m, count_merchant, &n, &more);
        break;
    case PFS_SEARCH_ALERTS:
        rc = pfs_store_search_alerts(st, &q->q.a, count_alert, &n, &more);
        break;
    case PFS_SEARCH_AUDIT:
        rc = pfs_store_search_audit(st, &q->q.u, count_audit, &n, &more);
        break;
    }
    if (rc) {
        fprintf(stderr, "%s: search failed: %d\n", q->name, rc);
        exit(1);
    }
    q->rows = n;
    return (now_s() - t0) * 1000.0;
}

static double scan_once(sqlite3 *db, const struct query *q)
{
    sqlite3_stmt *s = prep(db, q->scan);
    double t0 = now_s();

    if (q->value)
        T(s, 1, q->value);
    while (sqlite3_step(s) == SQLITE_ROW)
        ;
    sqlite3_finalize(s);
    return (now_s() - t0) * 1000.0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof(*v), cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

#define TERM_SCAN(where)                                                                           \
    "SELECT d.serial FROM devices d LEFT JOIN terminals t ON t.serial = d.serial"                  \
    " LEFT JOIN merchants m ON m.id = t.merchant_id LEFT JOIN device_state s ON"                   \
    " s.serial = d.serial WHERE " where " ORDER BY d.serial LIMIT 101"
#define MER_SCAN(where) "SELECT m.id FROM merchants m WHERE " where " ORDER BY m.id LIMIT 101"

static void load(const char *when)
{
    double l[3];

    if (getloadavg(l, 3) == 3)
        fprintf(stderr, "load average %s: %.2f %.2f %.2f\n", when, l[0], l[1], l[2]);
}

int main(int argc, char **argv)
{
    const char *path = argc > 1 ? argv[1] : NULL;
    int64_t nterm = 1000000, nmer = 100000, runs = 11;
    struct pfs_store_opts o = {.backend = "sqlite", .path = path};
    struct pf_error err = {0};
    struct pfs_store *st;
    sqlite3 *db;
    double *v;
#define TQ(...) .kind = PFS_SEARCH_TERMINALS, .q.t = {.limit = 100, __VA_ARGS__ }
#define MQ(...) .kind = PFS_SEARCH_MERCHANTS, .q.m = {.limit = 100, .status = -1, __VA_ARGS__}
#define AQ(...) .kind = PFS_SEARCH_ALERTS, .q.a = {.limit = 100, __VA_ARGS__}
#define UQ(...) .kind = PFS_SEARCH_AUDIT, .q.u = {.limit = 100, __VA_ARGS__}
    struct query qs[] = {
            {"merchants: name, 2 characters (面馆)", MQ(.name = "面馆"),
             MER_SCAN("instr(m.name, ?1) > 0"), "面馆"},
            {"merchants: name, 1 character (鸿)", MQ(.name = "鸿"),
             MER_SCAN("instr(m.name, ?1) > 0"), "鸿"},
            {"merchants: name, 4 characters (乌鲁木齐)", MQ(.name = "乌鲁木齐"),
             MER_SCAN("instr(m.name, ?1) > 0"), "乌鲁木齐"},
            {"merchants: name, rare (喀什好再来拉面馆)", MQ(.name = "喀什好再来拉面馆"),
             MER_SCAN("instr(m.name, ?1) > 0"), "喀什好再来拉面馆"},
            {"merchants: name, ASCII (dragon)", MQ(.name = "dragon"),
             MER_SCAN("instr(lower(m.name), ?1) > 0"), "dragon"},
            {"merchants: name, no match (面包房)", MQ(.name = "面包房"),
             MER_SCAN("instr(m.name, ?1) > 0"), "面包房"},
            {"merchants: credit code", MQ(.uscc = "91440300000077777X"), MER_SCAN("+m.uscc = ?1"),
             "91440300000077777X"},
            {"merchants: phone", MQ(.phone = "13900054321"), MER_SCAN("+m.contact_phone = ?1"),
             "13900054321"},
            {"merchants: contact (罗秀英)", MQ(.contact = "罗秀英"),
             MER_SCAN("+m.contact_name = ?1"), "罗秀英"},
            {"terminals: merchant id", TQ(.merchant = "M000042"), TERM_SCAN("+t.merchant_id = ?1"),
             "M000042"},
            {"terminals: merchant name (好再来拉面馆)", TQ(.merchant_name = "好再来拉面馆"),
             TERM_SCAN("instr(m.name, ?1) > 0"), "好再来拉面馆"},
            {"terminals: merchant name, dense (超市)", TQ(.merchant_name = "超市"),
             TERM_SCAN("instr(m.name, ?1) > 0"), "超市"},
            {"terminals: fee table, rare (fee-2026.05)", TQ(.fee = "fee-2026.05"),
             TERM_SCAN("+s.fee_version = ?1"), "fee-2026.05"},
            {"terminals: tag, rare (旗舰店)", TQ(.tag = "旗舰店"),
             TERM_SCAN("t.tags LIKE '%' || ?1 || '%'"), "旗舰店"},
            {"terminals: tag, dense (vip)", TQ(.tag = "vip"),
             TERM_SCAN("t.tags LIKE '%' || ?1 || '%'"), "vip"},
            {"terminals: state locked", TQ(.state = "locked"), TERM_SCAN("+t.state = ?1"),
             "locked"},
            {"terminals: state in_stock", TQ(.state = "in_stock"),
             TERM_SCAN("t.serial IS NULL AND ?1 IS NOT NULL"), "in_stock"},
            {"terminals: lock pending", TQ(.lock = PFS_SEARCH_LOCK_PENDING),
             TERM_SCAN("+t.lock_acked = 0 AND ?1 IS NOT NULL"), "x"},
            {"terminals: region, small (R29)", TQ(.region = "R29"), TERM_SCAN("+m.region = ?1"),
             "R29"},
            {"terminals: region, large (R00)", TQ(.region = "R00"), TERM_SCAN("+m.region = ?1"),
             "R00"},
            {"terminals: model (X990)", TQ(.model = "X990"), TERM_SCAN("+d.model = ?1"), "X990"},
            {"terminals: firmware, rare (2.2.0-rc1)", TQ(.fw = "2.2.0-rc1"),
             TERM_SCAN("+s.fw_version = ?1"), "2.2.0-rc1"},
            {"terminals: alert, rare (tamper)", TQ(.alert = "tamper"),
             TERM_SCAN("EXISTS (SELECT 1 FROM alerts a WHERE a.serial = d.serial AND +a.kind = ?1"
                       " AND a.closed_ms IS NULL)"),
             "tamper"},
            {"terminals: model + region + tag (PX-700, R05, vip)",
             TQ(.model = "PX-700", .region = "R05", .tag = "vip"),
             TERM_SCAN("+d.model = 'PX-700' AND +m.region = 'R05' AND t.tags LIKE '%' || ?1 ||"
                       " '%'"),
             "vip"},
            {"alerts: kind (battery_critical)", AQ(.kind = "battery_critical"),
             "SELECT id FROM alerts WHERE +kind = ?1 AND +closed_ms IS NULL ORDER BY id DESC"
             " LIMIT 101",
             "battery_critical"},
            {"alerts: merchant", AQ(.merchant = "M000001"),
             "SELECT a.id FROM alerts a LEFT JOIN terminals t ON t.serial = a.serial WHERE"
             " +t.merchant_id = ?1 AND +a.closed_ms IS NULL ORDER BY a.id DESC LIMIT 101",
             "M000001"},
            {"alerts: older than 25 days", AQ(.opened_before = T0 + 306 * INT64_C(86400000)),
             "SELECT id FROM alerts WHERE +opened_ms <= 1793664000000 AND +closed_ms IS NULL AND"
             " ?1 IS NOT NULL ORDER BY id DESC LIMIT 101",
             "x"},
            {"audit: actor (ops-19)", UQ(.actor = "ops-19"),
             "SELECT id FROM audit WHERE +actor = ?1 ORDER BY ts_ms DESC, id DESC LIMIT 101",
             "ops-19"},
            {"audit: action (terminal.swap)", UQ(.action = "terminal.swap"),
             "SELECT id FROM audit WHERE +action = ?1 ORDER BY ts_ms DESC, id DESC LIMIT 101",
             "terminal.swap"},
            {"audit: target", UQ(.target = "PF0123456"),
             "SELECT id FROM audit WHERE +target = ?1 ORDER BY ts_ms DESC, id DESC LIMIT 101",
             "PF0123456"},
            {"audit: one day in March",
             UQ(.since_ms = T0 + 70 * INT64_C(86400000), .until_ms = T0 + 71 * INT64_C(86400000)),
             "SELECT id FROM audit WHERE +ts_ms >= 1773273600000 AND +ts_ms < 1773360000000 AND"
             " ?1 IS NOT NULL ORDER BY ts_ms DESC, id DESC LIMIT 101",
             "x"},
    };
    int nq = (int)N(qs);

    if (!path || (argc > 2 && pf_parse_i64(argv[2], 1, 100000000, &nterm)) ||
        (argc > 3 && pf_parse_i64(argv[3], 1, 10000000, &nmer)) ||
        (argc > 4 && pf_parse_i64(argv[4], 1, 1001, &runs))) {
        fprintf(stderr, "usage: bench_search DB [TERMINALS [MERCHANTS [RUNS]]]\n");
        return 2;
    }
    v = calloc((size_t)runs, sizeof(*v));
    load("at the start");
    if (pfs_store_open(&o, &st, &err)) {
        fprintf(stderr, "open: %s\n", err.msg);
        return 1;
    }
    db = pfs_store_sqlite_db((struct pfs_sqlite *)st);
    fill(db, (int)nterm, (int)nmer);
    load("after the fill");
    for (int i = 0; i < nq; i++) {
        double med, base, b[3];
        const char *drv = "";
        char plan[4096];

        run_once(st, &qs[i]); /* warm-up */
        for (int r = 0; r < (int)runs; r++)
            v[r] = run_once(st, &qs[i]);
        med = median(v, (int)runs);
        for (int r = 0; r < 3; r++)
            b[r] = scan_once(db, &qs[i]);
        base = median(b, 3);
        if (pfs_store_search_explain(st, qs[i].kind, &qs[i].q, plan, sizeof(plan)) == 0) {
            /* A terminal page's records are read after "SCAN p"; its rows before. */
            char *records = strstr(plan, "SCAN p\n");

            if (records)
                *records = '\0';
            drv = strstr(plan, "TEMP B-TREE")                    ? "sorted"
                  : strstr(plan, "USING PRIMARY KEY (serial>?)") ? "walk"
                                                                 : "in order";
        }
        fprintf(stderr, "%-48s %8.2f ms (%3d rows, %s)   scan %9.2f ms\n", qs[i].name, med,
                qs[i].rows, drv, base);
        printf("ROW|search first page: %s (median of %d, %d terminals, %d merchants)|%.2f ms|"
               "linear scan: %.2f ms|%.3f|≤ 100 ms|%s\n",
               qs[i].name, (int)runs, (int)nterm, (int)nmer, med, base, base > 0 ? med / base : 0.0,
               med <= 100.0 ? "yes" : "no");
    }
    load("at the end");
    pfs_store_close(st);
    free(v);
    return 0;
}
