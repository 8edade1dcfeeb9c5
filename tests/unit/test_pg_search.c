/*
 * test_pg_search.c - the PostgreSQL twins of store_search.h against the
 * SQLite backend: every filter of the four searches, alone and together,
 * each scope, and every page walked with small limits, on two stores holding
 * the same rows (pg_twin.h); what each backend found, in its order, with
 * "more" and the records' fields, must be the same byte for byte. Plus the
 * PostgreSQL plans: an ASCII name fragment of three characters or more is
 * answered by the pg_trgm index, a shorter or a Chinese one by
 * merchant_grams.
 */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "lifecycle/merchant.h"
#include "pg_twin.h"
#include "store/postgres/pg_search.h"
#include "store/store_search.h"

#define OP(NAME, ...)                                                                              \
    (on_pg ? pfs_pg_##NAME(twin_pg, __VA_ARGS__) : pfs_store_##NAME(twin_sq, __VA_ARGS__))

static const struct pfs_scope hq = {"/1/", ""}, east = {"/1/2/", ""}, east_m = {"/1/2/", "M-SZ-1"},
                              west = {"/1/3/", ""};
static const struct pfs_scope *const scopes[] = {NULL, &hq, &east, &east_m, &west};
#define NSCOPES 5

/* The last key a page handed out, for the next page's cursor. */
static char last_key[128];
static int64_t last_id;

static int term_cb(void *ctx, const struct pfs_search_terminal *t)
{
    twin_logf(ctx, "  %s %s %s %s %s %s %s %d %d [%s]\n", t->serial, t->model, t->state,
              t->merchant_id ? t->merchant_id : "-", t->merchant_name ? t->merchant_name : "-",
              t->region ? t->region : "-", t->tags, t->lock_wanted, t->lock_acked, t->alerts);
    snprintf(last_key, sizeof(last_key), "%s", t->serial);
    return 0;
}

static int merchant_cb(void *ctx, const struct pfs_merchant *m)
{
    twin_logf(ctx, "  %s %s %s %s %s %s %d %zu %d %lld %s\n", m->id, m->name, m->uscc,
              m->contact_name, m->contact_phone, m->tz, (int)m->settlement, m->nfees,
              (int)m->status, (long long)m->created_ms, m->region);
    snprintf(last_key, sizeof(last_key), "%s", m->id);
    return 0;
}

static int alert_cb(void *ctx, const struct pfs_search_alert *a)
{
    twin_logf(ctx, "  %lld %s %s %lld [%s] %s\n", (long long)a->id, a->alert->serial,
              a->alert->kind, (long long)a->alert->opened_ms, a->alert->detail,
              a->merchant_id ? a->merchant_id : "-");
    last_id = a->id;
    return 0;
}

static int audit_cb(void *ctx, const struct pfs_audit *a)
{
    twin_logf(ctx, "  %lld %lld %s %s %s %s %s %s [%s] [%s]\n", (long long)a->id,
              (long long)a->ts_ms, a->actor, a->role, a->action, a->target,
              a->before ? a->before : "-", a->after ? a->after : "-", a->org, a->addr);
    last_id = a->id;
    return 0;
}

/* Every page of q with limits 1, 2 and 100. */
static void terminals(bool on_pg, struct twin_log *l, const char *what,
                      struct pfs_search_terminals q)
{
    char after[128];

    for (int limit = 1; limit <= 100; limit = limit == 2 ? 100 : limit + 1) {
        bool more = true;
        int rc = 0, pages = 0;

        q.limit = limit;
        q.after = NULL;
        twin_logf(l, "terminals %s limit %d\n", what, limit);
        while (more && rc == 0 && pages++ < 20) {
            last_key[0] = '\0';
            rc = OP(search_terminals, &q, term_cb, l, &more);
            twin_logf(l, " page: %d more %d\n", rc, more);
            snprintf(after, sizeof(after), "%s", last_key);
            q.after = after;
        }
    }
}

static void merchants(bool on_pg, struct twin_log *l, const char *what,
                      struct pfs_search_merchants q)
{
    char after[128];

    for (int limit = 1; limit <= 100; limit = limit == 2 ? 100 : limit + 1) {
        bool more = true;
        int rc = 0, pages = 0;

        q.limit = limit;
        q.after = NULL;
        twin_logf(l, "merchants %s limit %d\n", what, limit);
        while (more && rc == 0 && pages++ < 20) {
            last_key[0] = '\0';
            rc = OP(search_merchants, &q, merchant_cb, l, &more);
            twin_logf(l, " page: %d more %d\n", rc, more);
            snprintf(after, sizeof(after), "%s", last_key);
            q.after = after;
        }
    }
}

static void alerts(bool on_pg, struct twin_log *l, const char *what, struct pfs_search_alerts q)
{
    for (int limit = 1; limit <= 100; limit = limit == 2 ? 100 : limit + 1) {
        bool more = true;
        int rc = 0, pages = 0;

        q.limit = limit;
        q.before = 0;
        twin_logf(l, "alerts %s limit %d\n", what, limit);
        while (more && rc == 0 && pages++ < 20) {
            rc = OP(search_alerts, &q, alert_cb, l, &more);
            twin_logf(l, " page: %d more %d\n", rc, more);
            q.before = last_id;
        }
    }
}

static void audits(bool on_pg, struct twin_log *l, const char *what, struct pfs_search_audit q)
{
    for (int limit = 1; limit <= 100; limit = limit == 2 ? 100 : limit + 1) {
        bool more = true;
        int rc = 0, pages = 0;

        q.limit = limit;
        q.before = 0;
        twin_logf(l, "audit %s limit %d\n", what, limit);
        while (more && rc == 0 && pages++ < 20) {
            rc = OP(search_audit, &q, audit_cb, l, &more);
            twin_logf(l, " page: %d more %d\n", rc, more);
            q.before = last_id;
        }
    }
}

#define T(...) ((struct pfs_search_terminals){__VA_ARGS__})
#define M(...) ((struct pfs_search_merchants){.status = -1, __VA_ARGS__})
#define A(...) ((struct pfs_search_alerts){__VA_ARGS__})
#define U(...) ((struct pfs_search_audit){__VA_ARGS__})

static void scenario(bool on_pg, struct twin_log *l)
{
    char what[16];

    terminals(on_pg, l, "all", T(.conn = PFS_FILTER_ANY));
    for (int c = PFS_FILTER_ONLINE; c <= PFS_FILTER_REVOKED; c++) {
        snprintf(what, sizeof(what), "conn %d", c);
        terminals(on_pg, l, what, T(.conn = (enum pfs_conn_filter)c));
    }
    terminals(on_pg, l, "model", T(.model = "PX-700"));
    terminals(on_pg, l, "fw", T(.fw = "2.1.0"));
    terminals(on_pg, l, "fee", T(.fee = "fee-7"));
    terminals(on_pg, l, "state in_stock", T(.state = "in_stock"));
    terminals(on_pg, l, "state retired", T(.state = "retired"));
    terminals(on_pg, l, "state active", T(.state = "active"));
    terminals(on_pg, l, "merchant", T(.merchant = "M-SZ-1"));
    terminals(on_pg, l, "name 1", T(.merchant_name = "面"));
    terminals(on_pg, l, "name 2", T(.merchant_name = "面馆"));
    terminals(on_pg, l, "name 3", T(.merchant_name = "拉面馆"));
    terminals(on_pg, l, "name ascii", T(.merchant_name = "NOODLE"));
    terminals(on_pg, l, "name percent", T(.merchant_name = "100%"));
    terminals(on_pg, l, "name underscore", T(.merchant_name = "e_b"));
    terminals(on_pg, l, "name like", T(.merchant_name = "L_cky"));
    terminals(on_pg, l, "region", T(.region = "south"));
    terminals(on_pg, l, "tag", T(.tag = "vip"));
    terminals(on_pg, l, "tag cjk", T(.tag = "北区"));
    terminals(on_pg, l, "alert", T(.alert = "paper_out"));
    terminals(on_pg, l, "alert closed", T(.alert = "battery"));
    terminals(on_pg, l, "locked", T(.lock = PFS_SEARCH_LOCK_LOCKED));
    terminals(on_pg, l, "unlocked", T(.lock = PFS_SEARCH_LOCK_UNLOCKED));
    terminals(on_pg, l, "pending", T(.lock = PFS_SEARCH_LOCK_PENDING));
    terminals(on_pg, l, "together",
              T(.model = "PX-700", .fw = "2.1.0", .region = "south", .tag = "vip"));
    terminals(on_pg, l, "nothing", T(.model = "PX-700", .state = "in_stock"));
    for (int s = 0; s < NSCOPES; s++) {
        snprintf(what, sizeof(what), "scope %d", s);
        terminals(on_pg, l, what, T(.scope = scopes[s]));
        terminals(on_pg, l, what, T(.scope = scopes[s], .alert = "paper_out"));
    }
    twin_logf(l, "terminals bad limit: %d\n",
              OP(search_terminals, &T(.limit = 0), term_cb, l, &(bool){false}));
    twin_logf(
            l, "terminals empty name: %d\n",
            OP(search_terminals, &T(.limit = 5, .merchant_name = ""), term_cb, l, &(bool){false}));

    merchants(on_pg, l, "all", M());
    merchants(on_pg, l, "name 1", M(.name = "面"));
    merchants(on_pg, l, "name 2", M(.name = "面馆"));
    merchants(on_pg, l, "name 3", M(.name = "拉面馆"));
    merchants(on_pg, l, "name 1 again", M(.name = "幸"));
    merchants(on_pg, l, "name ascii", M(.name = "noodle"));
    merchants(on_pg, l, "name ascii 2", M(.name = "LU"));
    merchants(on_pg, l, "name none", M(.name = "面包"));
    merchants(on_pg, l, "name quote", M(.name = "\"x"));
    merchants(on_pg, l, "name percent", M(.name = "100%"));
    merchants(on_pg, l, "name like", M(.name = "L_cky"));
    merchants(on_pg, l, "name and region", M(.name = "面馆", .region = "west"));
    merchants(on_pg, l, "uscc", M(.uscc = "91440300ma5f00002x"));
    merchants(on_pg, l, "phone", M(.phone = "13800000003"));
    merchants(on_pg, l, "contact", M(.contact = "联系人4"));
    merchants(on_pg, l, "contact part", M(.contact = "联系人"));
    merchants(on_pg, l, "region", M(.region = "south"));
    merchants(on_pg, l, "status", ((struct pfs_search_merchants){.status = PFS_MERCHANT_ACTIVE}));
    for (int s = 0; s < NSCOPES; s++) {
        snprintf(what, sizeof(what), "scope %d", s);
        merchants(on_pg, l, what, M(.scope = scopes[s]));
        merchants(on_pg, l, what, M(.scope = scopes[s], .name = "面"));
        merchants(on_pg, l, what, M(.scope = scopes[s], .name = "幸运面"));
    }

    alerts(on_pg, l, "all", A());
    alerts(on_pg, l, "kind", A(.kind = "paper_out"));
    alerts(on_pg, l, "merchant", A(.merchant = "M-SZ-1"));
    alerts(on_pg, l, "serial", A(.serial = "T4"));
    alerts(on_pg, l, "old", A(.opened_before = 800));
    for (int s = 0; s < NSCOPES; s++) {
        snprintf(what, sizeof(what), "scope %d", s);
        alerts(on_pg, l, what, A(.scope = scopes[s]));
    }

    audits(on_pg, l, "all", U());
    audits(on_pg, l, "actor", U(.actor = "ea"));
    audits(on_pg, l, "org", U(.org = "west"));
    audits(on_pg, l, "addr", U(.addr = "::1"));
    audits(on_pg, l, "action", U(.action = "terminal.bind"));
    audits(on_pg, l, "target", U(.target = "T1"));
    audits(on_pg, l, "serial", U(.serial = "T2"));
    audits(on_pg, l, "merchant", U(.merchant = "M-XJ-1"));
    audits(on_pg, l, "since", U(.since_ms = 3000));
    audits(on_pg, l, "until", U(.until_ms = 3000));
    audits(on_pg, l, "window", U(.since_ms = 2000, .until_ms = 4000, .actor = "root"));
    for (int s = 0; s < NSCOPES; s++) {
        snprintf(what, sizeof(what), "scope %d", s);
        audits(on_pg, l, what, U(.scope = scopes[s]));
    }
}

/* Audit rows with references, the same ids on both sides; a renamed merchant. */
static const char fleet_more_sql[] =
        "INSERT INTO audit (ts_ms, actor, role, action, target, before, after, org, org_path,"
        " addr) VALUES"
        " (1000, 'root', 'admin', 'terminal.bind', 'T1', NULL, '{\"merchant\":\"M-SZ-1\"}',"
        "  'headquarters', '/1/', '127.0.0.1'),"
        " (2000, 'ea', 'admin', 'terminal.bind', 'T2', NULL, '{\"merchant\": \"M-SZ-1\"}',"
        "  'east', '/1/2/', '::1'),"
        " (2000, 'wa', 'ops', 'terminal.swap', 'T4', '{\"b\":1,\"a\":2}', NULL, 'west', '/1/3/',"
        "  '10.0.0.1'),"
        " (3000, 'root', 'admin', 'merchant.update', 'M-XJ-1', NULL, NULL, 'headquarters',"
        "  '/1/', NULL),"
        " (3500, 'posfleetd', '-', 'rollout.start', '7', NULL, NULL, NULL, NULL, NULL),"
        " (3000, 'root', 'admin', 'terminal.bind', 'T9', NULL, NULL, 'headquarters', '/1/',"
        "  '127.0.0.1');"
        "INSERT INTO audit_ref (audit_id, serial, merchant_id) VALUES (1, 'T1', 'M-SZ-1'),"
        " (2, 'T2', 'M-SZ-1'), (3, 'T4', 'M-XJ-1'), (3, 'T2', NULL), (4, NULL, 'M-XJ-1'),"
        " (6, 'T9', 'M-HQ-1');"
        "UPDATE merchants SET name = '幸运面包房' WHERE id = 'M-SZ-2';"
        "UPDATE merchants SET name = '幸福超市' WHERE id = 'M-SZ-2';";

START_TEST(same_as_sqlite)
{
    static struct twin_log sq, pg;

    twin_up("pg_search_twin");
    twin_sql(twin_fleet_sql);
    twin_sql(fleet_more_sql);
    memset(&sq, 0, sizeof(sq));
    memset(&pg, 0, sizeof(pg));
    scenario(false, &sq);
    scenario(true, &pg);
    twin_compare(&sq, &pg);
    twin_dump(&pg);
    /* The scenario found what it looks for. */
    ck_assert_ptr_nonnull(strstr(pg.text, "  T1 PX-700 active M-SZ-1 幸运面馆 south"
                                          " [\"vip\",\"北区\"] 0 1 []\n"));
    ck_assert_ptr_nonnull(strstr(pg.text, "  T4 PX-700 locked M-XJ-1 新疆拉面馆 west [] 1 0"
                                          " [paper_out,tamper]\n"));
    ck_assert_ptr_nonnull(strstr(pg.text, "merchants name 3 limit 100\n  M-XJ-1 "));
    ck_assert_ptr_nonnull(strstr(pg.text, "merchants name percent limit 100\n  M-EN-1 "));
    ck_assert_ptr_nonnull(strstr(pg.text, "merchants name like limit 100\n page: 0 more 0\n"));
    twin_down();
}
END_TEST

START_TEST(plans_use_the_name_indexes)
{
    struct pfs_search_merchants q3 = {.name = "Noodle", .status = -1, .limit = 10};
    struct pfs_search_merchants qc = {.name = "拉面馆", .status = -1, .limit = 10};
    struct pfs_search_merchants q1 = {.name = "面", .status = -1, .limit = 10};
    struct pfs_search_terminals qt = {.merchant_name = "拉面馆", .limit = 10};
    struct pf_error err = {0};
    char plan[4096];

    twin_up("pg_search_plans");
    twin_sql(twin_fleet_sql);
    /* A handful of rows: forbid the sequential scan that would win here. */
    ck_assert_int_eq(pfs_pg_exec(twin_pg->pg, "SET enable_seqscan = off", 0, NULL, &err), 0);
    ck_assert_int_eq(pfs_pg_search_explain(twin_pg, PFS_SEARCH_MERCHANTS, &q3, plan, sizeof(plan)),
                     0);
    ck_assert_msg(strstr(plan, "merchants_name_trgm"), "%s", plan);
    /* Under LC_CTYPE C a Chinese name has no trigrams: its fragments of any
     * length are driven by merchant_grams. */
    ck_assert_int_eq(pfs_pg_search_explain(twin_pg, PFS_SEARCH_MERCHANTS, &qc, plan, sizeof(plan)),
                     0);
    ck_assert_msg(strstr(plan, "merchant_grams"), "%s", plan);
    ck_assert_msg(!strstr(plan, "merchants_name_trgm"), "%s", plan);
    ck_assert_int_eq(pfs_pg_search_explain(twin_pg, PFS_SEARCH_MERCHANTS, &q1, plan, sizeof(plan)),
                     0);
    ck_assert_msg(strstr(plan, "merchant_grams"), "%s", plan);
    ck_assert_msg(!strstr(plan, "merchants_name_trgm"), "%s", plan);
    ck_assert_int_eq(pfs_pg_search_explain(twin_pg, PFS_SEARCH_TERMINALS, &qt, plan, sizeof(plan)),
                     0);
    ck_assert_msg(strstr(plan, "devices_pkey"), "%s", plan);
    ck_assert_int_eq(pfs_pg_search_explain(twin_pg, 99, &qt, plan, sizeof(plan)), PF_EINVAL);
    twin_down();
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("pg_search");
    TCase *tc = tcase_create("core");

    tcase_add_unchecked_fixture(tc, twin_server_up, twin_server_down);
    tcase_set_timeout(tc, 90);
    tcase_add_test(tc, same_as_sqlite);
    tcase_add_test(tc, plans_use_the_name_indexes);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return pf_test_run(suite());
}
