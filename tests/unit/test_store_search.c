/*
 * test_store_search.c - store_search.h on the SQLite backend: every filter
 * finds what it should and nothing else (Chinese merchant names included),
 * pages follow one another without a gap or a repeat, the organisation scope
 * limits every search, and every query's first page is read
 * through an index (EXPLAIN QUERY PLAN names the index migration 014 made,
 * so dropping one fails here).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "store/store.h"
#include "store/store_lifecycle.h"
#include "store/store_search.h"
#include "testutil.h"

static char dir[256];
static char path[320];
static struct pfs_store *st;
static const struct pfs_actor ops = {.name = "ops-token", .role = "ops"};

static void up(void)
{
    struct pfs_store_opts o = {.backend = "sqlite", .path = path};
    struct pf_error err = {0};

    pf_test_tmpdir(dir, sizeof(dir));
    snprintf(path, sizeof(path), "%s/store.db", dir);
    ck_assert_msg(pfs_store_open(&o, &st, &err) == 0, "%s", err.msg);
}

static void down(void)
{
    pfs_store_close(st);
    st = NULL;
    pf_test_rmtree(dir);
}

static int set_active(void *ctx, struct pfs_merchant *m, struct pf_error *err)
{
    (void)ctx;
    (void)err;
    m->status = PFS_MERCHANT_ACTIVE;
    return 0;
}

static int set_name(void *ctx, struct pfs_merchant *m, struct pf_error *err)
{
    (void)err;
    snprintf(m->name, sizeof(m->name), "%s", (const char *)ctx);
    return 0;
}

/* An active merchant. n numbers its credit code, phone and contact. */
static void add_merchant(const char *id, const char *name, const char *region, int n)
{
    struct pfs_merchant m;
    struct pf_error err = {0};

    memset(&m, 0, sizeof(m));
    snprintf(m.id, sizeof(m.id), "%s", id);
    snprintf(m.name, sizeof(m.name), "%s", name);
    snprintf(m.uscc, sizeof(m.uscc), "91440300MA5F%05dX", n);
    snprintf(m.mcc, sizeof(m.mcc), "5812");
    snprintf(m.address, sizeof(m.address), "深圳市南山区");
    snprintf(m.contact_name, sizeof(m.contact_name), "联系人%d", n);
    snprintf(m.contact_phone, sizeof(m.contact_phone), "1380000%04d", n);
    snprintf(m.tz, sizeof(m.tz), "Asia/Shanghai");
    snprintf(m.region, sizeof(m.region), "%s", region);
    m.nfees = 1;
    snprintf(m.fee_plan[0], sizeof(m.fee_plan[0]), "fees-2027");
    ck_assert_msg(pfs_store_merchant_add(st, &m, &ops, 100, &err) == 0, "%s", err.msg);
    ck_assert_msg(pfs_store_merchant_change(st, id, "activate", set_active, NULL, &ops, 101, NULL,
                                            &err) == 0,
                  "%s", err.msg);
}

static void add_terminal(const char *serial, const char *model, const char *merchant)
{
    struct pfs_device d;
    struct pf_error err = {0};

    memset(&d, 0, sizeof(d));
    snprintf(d.serial, sizeof(d.serial), "%s", serial);
    snprintf(d.model, sizeof(d.model), "%s", model);
    if (merchant)
        snprintf(d.merchant_id, sizeof(d.merchant_id), "%s", merchant);
    ck_assert_msg(pfs_store_device_add(st, &d, &ops, 200, &err) == 0, "%s: %s", serial, err.msg);
}

static void birth(const char *serial, const char *fw, const char *fee)
{
    struct pf_birth b;

    memset(&b, 0, sizeof(b));
    b.ts_ms = 300;
    snprintf(b.model, sizeof(b.model), "PX-500");
    snprintf(b.fw_version, sizeof(b.fw_version), "%s", fw);
    snprintf(b.fee_version, sizeof(b.fee_version), "%s", fee);
    snprintf(b.agent_version, sizeof(b.agent_version), "0.1");
    ck_assert_int_eq(pfs_store_birth_put(st, serial, &b, 300), 0);
}

static void tags(const char *serial, const char *json)
{
    struct pf_error err = {0};

    ck_assert_msg(pfs_store_term_tags(st, serial, json, &ops, 400, &err) == 0, "%s", err.msg);
}

/* Found records, joined "a,b,c". */
static char found[4096];

static void found_add(const char *s)
{
    size_t n = strlen(found);

    snprintf(found + n, sizeof(found) - n, "%s%s", n ? "," : "", s);
}

static int term_cb(void *ctx, const struct pfs_search_terminal *t)
{
    (void)ctx;
    found_add(t->serial);
    return 0;
}

static int merchant_cb(void *ctx, const struct pfs_merchant *m)
{
    (void)ctx;
    found_add(m->id);
    return 0;
}

static int64_t last_id;

static int alert_cb(void *ctx, const struct pfs_search_alert *a)
{
    char b[128];

    (void)ctx;
    snprintf(b, sizeof(b), "%s/%s", a->alert->serial, a->alert->kind);
    found_add(b);
    last_id = a->id;
    return 0;
}

static int audit_cb(void *ctx, const struct pfs_audit *a)
{
    char b[160];

    (void)ctx;
    snprintf(b, sizeof(b), "%s:%s", a->action, a->target);
    found_add(b);
    last_id = a->id;
    return 0;
}

static const char *terms(struct pfs_search_terminals q)
{
    bool more;

    found[0] = '\0';
    if (!q.limit)
        q.limit = 100;
    ck_assert_int_eq(pfs_store_search_terminals(st, &q, term_cb, NULL, &more), 0);
    return found;
}

static const char *merchants(struct pfs_search_merchants q)
{
    bool more;

    found[0] = '\0';
    if (!q.limit)
        q.limit = 100;
    ck_assert_int_eq(pfs_store_search_merchants(st, &q, merchant_cb, NULL, &more), 0);
    return found;
}

/*
 * The fixture: merchants in Shenzhen and Urumqi with Chinese names, terminals
 * bound to them with tags, firmware and fee tables, one locked by tamper, one
 * in stock, and open alerts.
 */
static void fleet(void)
{
    struct pf_error err = {0};
    bool changed;

    add_merchant("M-SZ-1", "幸运面馆", "south", 1);
    add_merchant("M-SZ-2", "幸福超市", "south", 2);
    add_merchant("M-XJ-1", "天山拉面馆", "west", 3);
    add_merchant("M-EN-1", "Lucky Noodle Bar", "south", 4);
    add_terminal("T1", "PX-500", "M-SZ-1");
    add_terminal("T2", "PX-500", "M-SZ-1");
    add_terminal("T3", "PX-700", "M-SZ-2");
    add_terminal("T4", "PX-700", "M-XJ-1");
    add_terminal("T5", "PX-500", "M-EN-1");
    add_terminal("T6", "PX-500", NULL);
    birth("T1", "2.1.0", "fee-7");
    birth("T2", "2.0.0", "fee-7");
    birth("T3", "2.1.0", "fee-8");
    birth("T4", "2.1.0", "fee-8");
    tags("T1", "[\"vip\",\"北区\"]");
    tags("T3", "[\"vip\"]");
    ck_assert_int_eq(pfs_store_term_activate(st, "T4", 500, &changed), 0);
    ck_assert_msg(pfs_store_term_tamper(st, "T4", "cmd-1", 600, &changed, &err) == 0, "%s",
                  err.msg);
    ck_assert(changed);
    ck_assert_int_eq(pfs_store_alert_open(st, "T4", "tamper", 600, ""), 0);
    ck_assert_int_eq(pfs_store_alert_open(st, "T2", "paper_out", 700, ""), 0);
    ck_assert_int_eq(pfs_store_alert_open(st, "T3", "paper_out", 800, ""), 0);
    ck_assert_int_eq(pfs_store_flush(st, 900, NULL), 0);
}

START_TEST(merchant_filters)
{
    up();
    fleet();
    /* Fragments of one, two and three or more characters, Chinese and ASCII. */
    ck_assert_str_eq(merchants((struct pfs_search_merchants){.name = "面", .status = -1}),
                     "M-SZ-1,M-XJ-1");
    ck_assert_str_eq(merchants((struct pfs_search_merchants){.name = "面馆", .status = -1}),
                     "M-SZ-1,M-XJ-1");
    ck_assert_str_eq(merchants((struct pfs_search_merchants){.name = "拉面馆", .status = -1}),
                     "M-XJ-1");
    ck_assert_str_eq(merchants((struct pfs_search_merchants){.name = "幸", .status = -1}),
                     "M-SZ-1,M-SZ-2");
    ck_assert_str_eq(merchants((struct pfs_search_merchants){.name = "noodle", .status = -1}),
                     "M-EN-1");
    ck_assert_str_eq(merchants((struct pfs_search_merchants){.name = "LU", .status = -1}),
                     "M-EN-1");
    ck_assert_str_eq(merchants((struct pfs_search_merchants){.name = "面包", .status = -1}), "");
    ck_assert_str_eq(merchants((struct pfs_search_merchants){.name = "\"x", .status = -1}), "");
    /* With other filters. */
    ck_assert_str_eq(merchants((struct pfs_search_merchants){
                             .name = "面馆", .region = "west", .status = -1}),
                     "M-XJ-1");
    /* Whole fields. */
    ck_assert_str_eq(
            merchants((struct pfs_search_merchants){.uscc = "91440300ma5f00002x", .status = -1}),
            "M-SZ-2");
    ck_assert_str_eq(merchants((struct pfs_search_merchants){.phone = "13800000003", .status = -1}),
                     "M-XJ-1");
    ck_assert_str_eq(merchants((struct pfs_search_merchants){.contact = "联系人4", .status = -1}),
                     "M-EN-1");
    ck_assert_str_eq(merchants((struct pfs_search_merchants){.contact = "联系人", .status = -1}),
                     "");
    ck_assert_str_eq(merchants((struct pfs_search_merchants){.region = "south", .status = -1}),
                     "M-EN-1,M-SZ-1,M-SZ-2");
    down();
}
END_TEST

START_TEST(merchant_rename_and_pages)
{
    struct pf_error err = {0};
    struct pfs_search_merchants q = {.name = "面", .status = -1, .limit = 1};
    bool more;

    up();
    fleet();
    /* A new name is found at once, the old one no longer. */
    ck_assert_msg(pfs_store_merchant_change(st, "M-SZ-2", "update", set_name, "幸福面包房", &ops,
                                            1000, NULL, &err) == 0,
                  "%s", err.msg);
    ck_assert_str_eq(merchants((struct pfs_search_merchants){.name = "超市", .status = -1}), "");
    ck_assert_str_eq(merchants((struct pfs_search_merchants){.name = "面包房", .status = -1}),
                     "M-SZ-2");
    ck_assert_str_eq(merchants((struct pfs_search_merchants){.name = "面", .status = -1}),
                     "M-SZ-1,M-SZ-2,M-XJ-1");
    /* One a page, each page after the last id of the one before. */
    found[0] = '\0';
    ck_assert_int_eq(pfs_store_search_merchants(st, &q, merchant_cb, NULL, &more), 0);
    ck_assert(more);
    ck_assert_str_eq(found, "M-SZ-1");
    q.after = "M-SZ-1";
    ck_assert_int_eq(pfs_store_search_merchants(st, &q, merchant_cb, NULL, &more), 0);
    ck_assert(more);
    q.after = "M-SZ-2";
    ck_assert_int_eq(pfs_store_search_merchants(st, &q, merchant_cb, NULL, &more), 0);
    ck_assert(!more);
    ck_assert_str_eq(found, "M-SZ-1,M-SZ-2,M-XJ-1");
    /* Three-character fragments page the same way. */
    q.name = "幸运面";
    q.after = NULL;
    found[0] = '\0';
    ck_assert_int_eq(pfs_store_search_merchants(st, &q, merchant_cb, NULL, &more), 0);
    ck_assert(!more);
    ck_assert_str_eq(found, "M-SZ-1");
    down();
}
END_TEST

START_TEST(terminal_filters)
{
    up();
    fleet();
    ck_assert_str_eq(terms((struct pfs_search_terminals){.model = "PX-700"}), "T3,T4");
    ck_assert_str_eq(terms((struct pfs_search_terminals){.fw = "2.1.0"}), "T1,T3,T4");
    ck_assert_str_eq(terms((struct pfs_search_terminals){.fee = "fee-8"}), "T3,T4");
    ck_assert_str_eq(terms((struct pfs_search_terminals){.merchant = "M-SZ-1"}), "T1,T2");
    ck_assert_str_eq(terms((struct pfs_search_terminals){.merchant_name = "面馆"}), "T1,T2,T4");
    ck_assert_str_eq(terms((struct pfs_search_terminals){.merchant_name = "拉面馆"}), "T4");
    ck_assert_str_eq(terms((struct pfs_search_terminals){.merchant_name = "lucky"}), "T5");
    ck_assert_str_eq(terms((struct pfs_search_terminals){.region = "south"}), "T1,T2,T3,T5");
    ck_assert_str_eq(terms((struct pfs_search_terminals){.tag = "vip"}), "T1,T3");
    ck_assert_str_eq(terms((struct pfs_search_terminals){.tag = "北区"}), "T1");
    ck_assert_str_eq(terms((struct pfs_search_terminals){.state = "locked"}), "T4");
    ck_assert_str_eq(terms((struct pfs_search_terminals){.state = "installed"}), "T1,T2,T3,T5");
    ck_assert_str_eq(terms((struct pfs_search_terminals){.state = "in_stock"}), "T6");
    ck_assert_str_eq(terms((struct pfs_search_terminals){.lock = PFS_SEARCH_LOCK_LOCKED}), "T4");
    ck_assert_str_eq(terms((struct pfs_search_terminals){.lock = PFS_SEARCH_LOCK_PENDING}), "T4");
    ck_assert_str_eq(terms((struct pfs_search_terminals){.lock = PFS_SEARCH_LOCK_UNLOCKED}),
                     "T1,T2,T3,T5,T6");
    ck_assert_str_eq(terms((struct pfs_search_terminals){.alert = "paper_out"}), "T2,T3");
    ck_assert_str_eq(terms((struct pfs_search_terminals){.conn = PFS_FILTER_NEVER}), "T5,T6");
    /* Filters together. */
    ck_assert_str_eq(terms((struct pfs_search_terminals){.model = "PX-500", .tag = "vip"}), "T1");
    ck_assert_str_eq(terms((struct pfs_search_terminals){
                             .region = "south", .fw = "2.1.0", .alert = "paper_out"}),
                     "T3");
    /* A tag removed is no longer found. */
    tags("T1", "[]");
    ck_assert_str_eq(terms((struct pfs_search_terminals){.tag = "vip"}), "T3");
    down();
}
END_TEST

START_TEST(terminal_pages)
{
    struct pfs_search_terminals q = {.model = "PX-500", .limit = 2};
    bool more;

    up();
    fleet();
    found[0] = '\0';
    ck_assert_int_eq(pfs_store_search_terminals(st, &q, term_cb, NULL, &more), 0);
    ck_assert(more);
    q.after = "T2";
    ck_assert_int_eq(pfs_store_search_terminals(st, &q, term_cb, NULL, &more), 0);
    ck_assert(!more);
    ck_assert_str_eq(found, "T1,T2,T5,T6");
    down();
}
END_TEST

/* More terminals of one model than an index may drive a page with (10,000):
 * the page is read walking the registry, and finds what the driven read
 * finds. The registry rows are written straight into the database file (a
 * second connection, one transaction): registering 13,000 terminals through
 * the audited store calls takes minutes under the sanitizers. */
static void registry_rows(int n)
{
    sqlite3 *db;
    char sql[512];

    ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
    snprintf(sql, sizeof(sql),
             "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < %d)"
             " INSERT INTO devices (serial, model, status, created_ms)"
             " SELECT printf('W%%05d', i), CASE WHEN i %% 10 THEN 'PX-900' ELSE 'PX-901' END,"
             " 'registered', 1000 FROM n",
             n - 1);
    ck_assert_msg(sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK, "%s", sqlite3_errmsg(db));
    sqlite3_close(db);
}

START_TEST(terminal_dense_walk)
{
    char plan[4096];
    struct pfs_search_terminals q = {.model = "PX-900", .limit = 3};

    up();
    fleet();
    registry_rows(13000);
    tags("W00002", "[\"vip\"]");
    ck_assert_str_eq(terms(q), "W00001,W00002,W00003");
    ck_assert_int_eq(pfs_store_search_explain(st, PFS_SEARCH_TERMINALS, &q, plan, sizeof(plan)), 0);
    /* Walked in serial order: the registry's own order, no index of a filter. */
    ck_assert_msg(strstr(plan, "SEARCH d USING PRIMARY KEY (serial>?)") &&
                          !strstr(plan, "devices_model"),
                  "%s", plan);
    q.after = "W00008";
    ck_assert_str_eq(terms(q), "W00009,W00011,W00012");
    /* A sparse filter beside the dense one drives instead. */
    q.tag = "vip";
    q.after = NULL;
    ck_assert_str_eq(terms(q), "W00002");
    ck_assert_int_eq(pfs_store_search_explain(st, PFS_SEARCH_TERMINALS, &q, plan, sizeof(plan)), 0);
    ck_assert_msg(strstr(plan, "terminal_tags"), "%s", plan);
    down();
}
END_TEST

START_TEST(alerts_and_audit)
{
    struct pfs_search_alerts a = {.limit = 100};
    struct pfs_search_audit u = {.limit = 100};
    bool more;

    up();
    fleet();
    found[0] = '\0';
    ck_assert_int_eq(pfs_store_search_alerts(st, &a, alert_cb, NULL, &more), 0);
    ck_assert_str_eq(found, "T3/paper_out,T2/paper_out,T4/tamper");
    found[0] = '\0';
    a.kind = "paper_out";
    a.merchant = "M-SZ-1";
    ck_assert_int_eq(pfs_store_search_alerts(st, &a, alert_cb, NULL, &more), 0);
    ck_assert_str_eq(found, "T2/paper_out");
    found[0] = '\0';
    a = (struct pfs_search_alerts){.opened_before = 700, .limit = 1};
    ck_assert_int_eq(pfs_store_search_alerts(st, &a, alert_cb, NULL, &more), 0);
    ck_assert(more);
    a.before = last_id;
    ck_assert_int_eq(pfs_store_search_alerts(st, &a, alert_cb, NULL, &more), 0);
    ck_assert(!more);
    ck_assert_str_eq(found, "T2/paper_out,T4/tamper");

    found[0] = '\0';
    u.action = "terminal.tags";
    ck_assert_int_eq(pfs_store_search_audit(st, &u, audit_cb, NULL, &more), 0);
    ck_assert_str_eq(found, "terminal.tags:T3,terminal.tags:T1");
    found[0] = '\0';
    u = (struct pfs_search_audit){.actor = "ops-token", .target = "M-XJ-1", .limit = 100};
    ck_assert_int_eq(pfs_store_search_audit(st, &u, audit_cb, NULL, &more), 0);
    ck_assert_str_eq(found, "merchant.activate:M-XJ-1,merchant.add:M-XJ-1");
    /* Time: [since, until), newest first, a page at a time. */
    found[0] = '\0';
    u = (struct pfs_search_audit){.since_ms = 101, .until_ms = 201, .limit = 2};
    ck_assert_int_eq(pfs_store_search_audit(st, &u, audit_cb, NULL, &more), 0);
    ck_assert(more);
    ck_assert_str_eq(found, "device.add:T6,terminal.bind:T5");
    u.before = last_id;
    found[0] = '\0';
    ck_assert_int_eq(pfs_store_search_audit(st, &u, audit_cb, NULL, &more), 0);
    ck_assert_str_eq(found, "device.add:T5,terminal.bind:T4");
    down();
}
END_TEST

/* The scope rule (store_scope.h) inside each search: an organisation with
 * nothing beneath it finds nothing whatever the filters; a merchant user's
 * scope finds that merchant's only; headquarters' scope finds what NULL does. */
START_TEST(scope_applied)
{
    struct pfs_scope none = {"/1/99/", ""}, shop = {"/1/", "M-SZ-1"}, hq = {"/1/", ""};
    struct pfs_search_alerts a = {.scope = &none, .limit = 100};
    struct pfs_search_audit u = {.scope = &none, .limit = 100};
    char all[4096];
    bool more;

    up();
    fleet();
    ck_assert_str_eq(terms((struct pfs_search_terminals){.scope = &none}), "");
    ck_assert_str_eq(terms((struct pfs_search_terminals){.scope = &none, .model = "PX-500"}), "");
    ck_assert_str_eq(merchants((struct pfs_search_merchants){.scope = &none, .status = -1}), "");
    ck_assert_str_eq(
            merchants((struct pfs_search_merchants){.scope = &none, .name = "面馆", .status = -1}),
            "");
    found[0] = '\0';
    ck_assert_int_eq(pfs_store_search_alerts(st, &a, alert_cb, NULL, &more), 0);
    ck_assert_int_eq(pfs_store_search_audit(st, &u, audit_cb, NULL, &more), 0);
    ck_assert_str_eq(found, "");

    ck_assert_str_eq(terms((struct pfs_search_terminals){.scope = &shop}), "T1,T2");
    ck_assert_str_eq(terms((struct pfs_search_terminals){.scope = &shop, .merchant = "M-SZ-2"}),
                     "");
    ck_assert_str_eq(
            merchants((struct pfs_search_merchants){.scope = &shop, .name = "面馆", .status = -1}),
            "M-SZ-1");
    found[0] = '\0';
    a.scope = &shop;
    ck_assert_int_eq(pfs_store_search_alerts(st, &a, alert_cb, NULL, &more), 0);
    ck_assert_str_eq(found, "T2/paper_out");
    found[0] = '\0';
    u = (struct pfs_search_audit){.scope = &shop, .target = "M-XJ-1", .limit = 100};
    ck_assert_int_eq(pfs_store_search_audit(st, &u, audit_cb, NULL, &more), 0);
    ck_assert_str_eq(found, "");

    snprintf(all, sizeof(all), "%s", terms((struct pfs_search_terminals){0}));
    ck_assert_str_eq(terms((struct pfs_search_terminals){.scope = &hq}), all);
    snprintf(all, sizeof(all), "%s", merchants((struct pfs_search_merchants){.status = -1}));
    ck_assert_str_eq(merchants((struct pfs_search_merchants){.scope = &hq, .status = -1}), all);
    down();
}
END_TEST

/* --- plans: each query type's first page through its index --- */

static void plan_uses(enum pfs_search_kind kind, const void *q, const char *index)
{
    char plan[4096];

    ck_assert_int_eq(pfs_store_search_explain(st, kind, q, plan, sizeof(plan)), 0);
    if (getenv("PF_SEARCH_PLANS"))
        fprintf(stderr, "--- %s\n%s", index, plan);
    ck_assert_msg(strstr(plan, index), "expected %s in the plan:\n%s", index, plan);
}

START_TEST(plans)
{
    up();
    fleet();
#define T(...) (&(struct pfs_search_terminals){.limit = 100, __VA_ARGS__})
    plan_uses(PFS_SEARCH_TERMINALS, T(.model = "PX-700"), "devices_model");
    plan_uses(PFS_SEARCH_TERMINALS, T(.fw = "2.1.0"), "device_state_fw");
    plan_uses(PFS_SEARCH_TERMINALS, T(.fee = "fee-8"), "device_state_fee");
    plan_uses(PFS_SEARCH_TERMINALS, T(.state = "locked"), "terminals_state");
    plan_uses(PFS_SEARCH_TERMINALS, T(.merchant = "M-SZ-1"), "terminals_merchant");
    plan_uses(PFS_SEARCH_TERMINALS, T(.merchant_name = "面馆"), "g USING PRIMARY KEY (gram=?)");
    plan_uses(PFS_SEARCH_TERMINALS, T(.merchant_name = "拉面馆"), "VIRTUAL TABLE INDEX");
    plan_uses(PFS_SEARCH_TERMINALS, T(.region = "west"), "merchants_region");
    plan_uses(PFS_SEARCH_TERMINALS, T(.tag = "vip"),
              "terminal_tags USING PRIMARY KEY (tag=? AND serial>?)");
    plan_uses(PFS_SEARCH_TERMINALS, T(.alert = "tamper"), "alerts_open_kind_serial");
    plan_uses(PFS_SEARCH_TERMINALS, T(.lock = PFS_SEARCH_LOCK_LOCKED), "terminals_locked");
    plan_uses(PFS_SEARCH_TERMINALS, T(.lock = PFS_SEARCH_LOCK_PENDING), "terminals_lock_pending");
    /* A driver whose index ends with the serial streams: nothing sorted before the page. */
    {
        char plan[4096], *records;

        ck_assert_int_eq(pfs_store_search_explain(st, PFS_SEARCH_TERMINALS, T(.state = "locked"),
                                                  plan, sizeof(plan)),
                         0);
        records = strstr(plan, "SCAN p\n");
        ck_assert_ptr_nonnull(records);
        *records = '\0';
        ck_assert_msg(!strstr(plan, "TEMP B-TREE"), "%s", plan);
    }
#undef T
#define M(...) (&(struct pfs_search_merchants){.limit = 100, .status = -1, __VA_ARGS__})
    plan_uses(PFS_SEARCH_MERCHANTS, M(.name = "面馆"), "g USING PRIMARY KEY (gram=?)");
    plan_uses(PFS_SEARCH_MERCHANTS, M(.name = "拉面馆"), "VIRTUAL TABLE INDEX");
    plan_uses(PFS_SEARCH_MERCHANTS, M(.uscc = "91440300MA5F00002X"), "sqlite_autoindex_merchants");
    plan_uses(PFS_SEARCH_MERCHANTS, M(.phone = "13800000003"), "merchants_phone");
    plan_uses(PFS_SEARCH_MERCHANTS, M(.contact = "联系人4"), "merchants_contact");
    plan_uses(PFS_SEARCH_MERCHANTS, M(.region = "west"), "merchants_region");
#undef M
#define A(...) (&(struct pfs_search_alerts){.limit = 100, __VA_ARGS__})
    plan_uses(PFS_SEARCH_ALERTS, A(.kind = "tamper"), "alerts_open_kind");
    plan_uses(PFS_SEARCH_ALERTS, A(.merchant = "M-SZ-1"), "terminals_merchant");
    plan_uses(PFS_SEARCH_ALERTS, A(.opened_before = 700), "alerts_open_newest");
#undef A
#define U(...) (&(struct pfs_search_audit){.limit = 100, __VA_ARGS__})
    plan_uses(PFS_SEARCH_AUDIT, U(.actor = "ops-token"), "audit_actor");
    plan_uses(PFS_SEARCH_AUDIT, U(.action = "terminal.tags"), "audit_action");
    plan_uses(PFS_SEARCH_AUDIT, U(.target = "T1"), "audit_target");
    plan_uses(PFS_SEARCH_AUDIT, U(.since_ms = 100, .until_ms = 300), "audit_ts");
#undef U
    down();
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("store_search");
    TCase *tc = tcase_create("search");

    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, merchant_filters);
    tcase_add_test(tc, merchant_rename_and_pages);
    tcase_add_test(tc, terminal_filters);
    tcase_add_test(tc, terminal_pages);
    tcase_add_test(tc, terminal_dense_walk);
    tcase_add_test(tc, alerts_and_audit);
    tcase_add_test(tc, scope_applied);
    tcase_add_test(tc, plans);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return pf_test_run(suite());
}
