/*
 * test_pg_lifecycle.c - the PostgreSQL twins of store_lifecycle.h
 * (store/postgres/pg_lifecycle.h) against a real PostgreSQL 15, side by side
 * with the SQLite backend: every step of one fleet's life (merchants and
 * their review, binding, tags, activation, support and tamper locks, a swap,
 * its undo and the swap again, repairs, bulk changes with refusals and a
 * check, retiring) is made on both stores with the same times, each call
 * must answer the same, and then what each store holds must be the same,
 * text for text: terminal views, history lines, repairs, update outcomes
 * (none recorded here: only the empty answer is compared),
 * pending locks and the audit log's before/after (the registry's own rows,
 * made differently on each side here, left out). A swap hook that refuses
 * rolls the whole swap back; a lost session reruns a swap, made once; and
 * pfs_store_NAME reaches the twins through the postgres ops table.
 */
#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg_harness.h"
#include "store/postgres/pg_lifecycle.h"
#include "store/record_json.h"
#include "store/store.h"
#include "store/store_lifecycle.h"
#include "testutil.h"

static struct pf_pg_server server;
static char dsn[1024];
static char sqdir[256];
static struct pfs_store *sq;
static struct pfs_pg_store *pg;

static const struct pfs_actor sup = {
        .name = "lin", .role = "support", .org = "hq", .org_path = "/1/", .addr = "127.0.0.1"};

static void server_up(void)
{
    if (pf_pg_start(&server, true) != 0) {
        fprintf(stderr, "test_pg_lifecycle: PostgreSQL 15 could not be started (see above)\n");
        exit(EXIT_FAILURE);
    }
}

static void server_down(void)
{
    pf_pg_stop(&server);
}

static void pg_run(const char *sql)
{
    struct pf_error err = {0};

    ck_assert_msg(pfs_pg_exec(pg->pg, sql, 0, NULL, &err) == 0, "%s: %s", sql, err.msg);
}

/* A registered terminal on both stores. */
static void device(const char *serial, const char *model)
{
    struct pfs_device d;
    struct pf_error err = {0};
    char sql[256];

    memset(&d, 0, sizeof(d));
    snprintf(d.serial, sizeof(d.serial), "%s", serial);
    snprintf(d.model, sizeof(d.model), "%s", model);
    ck_assert_msg(pfs_store_device_add(sq, &d, &sup, 100, &err) == 0, "%s", err.msg);
    snprintf(sql, sizeof(sql),
             "INSERT INTO devices (serial, model, created_ms) VALUES ('%s', '%s', 100)", serial,
             model);
    pg_run(sql);
}

static void up(const char *db)
{
    struct pfs_store_opts o = {.backend = "sqlite"};
    struct pf_error err = {0};
    char path[300];

    ck_assert_int_eq(pf_pg_createdb(&server, db, dsn, sizeof(dsn)), 0);
    ck_assert_msg(pfs_pg_store_open(dsn, &pg, &err) == 0, "pg open: %s", err.msg);
    pf_test_tmpdir(sqdir, sizeof(sqdir));
    snprintf(path, sizeof(path), "%s/store.db", sqdir);
    o.path = path;
    ck_assert_msg(pfs_store_open(&o, &sq, &err) == 0, "sqlite open: %s", err.msg);
}

static void down(void)
{
    pfs_store_close(sq);
    pfs_pg_store_close(pg);
    pf_test_rmtree(sqdir);
    sq = NULL;
    pg = NULL;
}

/* Both stores answer the same (want); messages too when the call refused. */
#define BOTH(want, sqcall, pgcall)                                                                 \
    do {                                                                                           \
        struct pf_error b__e1 = {0}, b__e2 = {0};                                                  \
        int b__r1, b__r2;                                                                          \
        {                                                                                          \
            struct pf_error *err = &b__e1;                                                         \
            b__r1 = (sqcall);                                                                      \
        }                                                                                          \
        {                                                                                          \
            struct pf_error *err = &b__e2;                                                         \
            b__r2 = (pgcall);                                                                      \
        }                                                                                          \
        ck_assert_msg(b__r1 == (want), "sqlite: %d (%s), want %d", b__r1, b__e1.msg, (want));      \
        ck_assert_msg(b__r2 == (want), "postgres: %d (%s), want %d", b__r2, b__e2.msg, (want));    \
        ck_assert_str_eq(b__e2.msg, b__e1.msg);                                                    \
    } while (0)

static struct pfs_merchant merchant(const char *id, const char *uscc)
{
    struct pfs_merchant m;

    memset(&m, 0, sizeof(m));
    snprintf(m.id, sizeof(m.id), "%s", id);
    snprintf(m.name, sizeof(m.name), "Shop %s", id);
    snprintf(m.uscc, sizeof(m.uscc), "%s", uscc);
    snprintf(m.mcc, sizeof(m.mcc), "5411");
    snprintf(m.address, sizeof(m.address), "1 Road");
    snprintf(m.contact_name, sizeof(m.contact_name), "Li");
    snprintf(m.contact_phone, sizeof(m.contact_phone), "13800000000");
    snprintf(m.tz, sizeof(m.tz), "Asia/Shanghai");
    m.nfees = 2;
    snprintf(m.fee_plan[0], sizeof(m.fee_plan[0]), "fees-2027");
    snprintf(m.fee_plan[1], sizeof(m.fee_plan[1]), "fees-2028");
    return m;
}

static int change__status(void *ctx, struct pfs_merchant *m, struct pf_error *err)
{
    (void)err;
    m->status = *(enum pfs_merchant_status *)ctx;
    return 0;
}

static int change__tz(void *ctx, struct pfs_merchant *m, struct pf_error *err)
{
    (void)err;
    snprintf(m->tz, sizeof(m->tz), "%s", (const char *)ctx);
    m->nfees = 1;
    return 0;
}

static int change__refuse(void *ctx, struct pfs_merchant *m, struct pf_error *err)
{
    (void)ctx;
    snprintf(m->name, sizeof(m->name), "changed");
    return pf_error_set(err, PF_EINVAL, "refused");
}

/* --- what a store holds, as text --- */

struct text {
    char *buf;
    size_t len, cap;
};

static void text_add(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void text_add(struct text *t, const char *fmt, ...)
{
    va_list ap;
    int n;

    for (;;) {
        va_start(ap, fmt);
        n = vsnprintf(t->buf ? t->buf + t->len : NULL, t->buf ? t->cap - t->len : 0, fmt, ap);
        va_end(ap);
        ck_assert_int_ge(n, 0);
        if (t->buf && t->len + (size_t)n < t->cap)
            break;
        t->cap = (t->cap + (size_t)n + 1) * 2;
        t->buf = realloc(t->buf, t->cap);
        ck_assert_ptr_nonnull(t->buf);
        if (t->len == 0)
            t->buf[0] = '\0';
    }
    t->len += (size_t)n;
}

#define S(x) ((x) ? (x) : "(null)")

static int dump__view(void *ctx, const struct pfs_term_view *v)
{
    char *j = pfs_rec_term_text(v);

    text_add(ctx, "view %s\n", S(j));
    free(j);
    return 0;
}

static int count__repair(void *ctx, const struct pfs_repair_view *v)
{
    (void)v;
    (*(int *)ctx)++;
    return 0;
}

static int dump__event(void *ctx, const struct pfs_term_event_view *e)
{
    text_add(ctx, "event %lld %s %s>%s m=%s o=%s r=%lld %s: %s\n", (long long)e->ts_ms, e->kind,
             S(e->from), S(e->to), S(e->merchant_id), S(e->other), (long long)e->repair_id,
             e->actor, e->detail);
    return 0;
}

static int dump__update(void *ctx, const struct pfs_update_view *u)
{
    text_add(ctx, "update %lld %s %s %s\n", (long long)u->ts_ms, S(u->offer), S(u->status),
             S(u->code));
    return 0;
}

static int dump__repair(void *ctx, const struct pfs_repair_view *v)
{
    char *j = pfs_rec_repair_text(v);

    text_add(ctx, "repair %s\n", S(j));
    free(j);
    return 0;
}

static int dump__audit(void *ctx, const struct pfs_audit *a)
{
    if (strncmp(a->action, "device.", 7) == 0)
        return 0; /* the registry's rows were made differently on each side */
    text_add(ctx, "audit %lld %s/%s %s %s\n  before %s\n  after  %s\n", (long long)a->ts_ms,
             a->actor, a->role, a->action, a->target, S(a->before), S(a->after));
    return 0;
}

static int dump__pending(void *ctx, const struct pfs_lock_pending *p)
{
    text_add(ctx, "pending %s %s %d %s\n", p->serial, p->cmd_id, p->lock, p->reason);
    return 0;
}

static int dump__serial(void *ctx, const char *serial)
{
    text_add(ctx, "installed %s\n", serial);
    return 0;
}

static int dump__merchant(void *ctx, const struct pfs_merchant *m)
{
    char *j = pfs_rec_merchant_text(m);

    text_add(ctx, "merchant %s\n", S(j));
    free(j);
    return 0;
}

static int dump__mterm(void *ctx, const struct pfs_merchant_term_view *t)
{
    text_add(ctx, "mterm %s %s %s %lld %d\n", t->serial, t->model, S(t->state),
             (long long)t->bound_ms, t->locked);
    return 0;
}

static const char *const serials[] = {"OLD", "NEW", "T3", "ALIEN", NULL};

static char *dump_sqlite(void)
{
    struct text t = {0};
    bool more = false;

    text_add(&t, "-\n");
    for (int i = 0; serials[i]; i++) {
        char mid[PFS_MERCHANT_ID_MAX + 1], tz[PFS_TZ_MAX + 1], fees[256];

        ck_assert_int_eq(pfs_store_term_view(sq, serials[i], dump__view, &t), 0);
        ck_assert_int_eq(pfs_store_term_binding(sq, serials[i], mid, tz, fees, sizeof(fees)), 0);
        text_add(&t, "binding %s %s %s\n", mid, tz, fees);
        ck_assert_int_eq(pfs_store_term_events(sq, serials[i], -1, dump__event, &t), 0);
        ck_assert_int_eq(pfs_store_term_events(sq, serials[i], 2, dump__event, &t), 0);
        ck_assert_int_eq(pfs_store_repair_list(sq, serials[i], -1, 10, dump__repair, &t), 0);
        ck_assert_int_eq(pfs_store_term_updates(sq, serials[i], 10, dump__update, &t), 0);
        ck_assert_int_eq(pfs_store_audit_query(sq, serials[i], NULL, 0, 0, 100, dump__audit, &t),
                         0);
    }
    ck_assert_int_eq(pfs_store_repair_list(sq, NULL, -2, -1, dump__repair, &t), 0);
    ck_assert_int_eq(pfs_store_audit_query(sq, NULL, "M1", 0, 0, -1, dump__audit, &t), 0);
    ck_assert_int_eq(pfs_store_audit_query(sq, NULL, NULL, 3000, 0, 5, dump__audit, &t), 0);
    ck_assert_int_eq(pfs_store_lock_pending_each(sq, dump__pending, &t), 0);
    ck_assert_int_eq(pfs_store_term_installed_each(sq, dump__serial, &t), 0);
    ck_assert_int_eq(pfs_store_merchant_list(sq, -1, NULL, 10, dump__merchant, &t, &more), 0);
    ck_assert_int_eq(pfs_store_merchant_terminals(sq, "M1", dump__mterm, &t), 0);
    return t.buf;
}

static char *dump_pg(void)
{
    struct text t = {0};
    bool more = false;

    text_add(&t, "-\n");
    for (int i = 0; serials[i]; i++) {
        char mid[PFS_MERCHANT_ID_MAX + 1], tz[PFS_TZ_MAX + 1], fees[256];

        ck_assert_int_eq(pfs_pg_term_view(pg, serials[i], dump__view, &t), 0);
        ck_assert_int_eq(pfs_pg_term_binding(pg, serials[i], mid, tz, fees, sizeof(fees)), 0);
        text_add(&t, "binding %s %s %s\n", mid, tz, fees);
        ck_assert_int_eq(pfs_pg_term_events(pg, serials[i], -1, dump__event, &t), 0);
        ck_assert_int_eq(pfs_pg_term_events(pg, serials[i], 2, dump__event, &t), 0);
        ck_assert_int_eq(pfs_pg_repair_list(pg, serials[i], -1, 10, dump__repair, &t), 0);
        ck_assert_int_eq(pfs_pg_term_updates(pg, serials[i], 10, dump__update, &t), 0);
        ck_assert_int_eq(pfs_pg_audit_query(pg, serials[i], NULL, 0, 0, 100, dump__audit, &t), 0);
    }
    ck_assert_int_eq(pfs_pg_repair_list(pg, NULL, -2, -1, dump__repair, &t), 0);
    ck_assert_int_eq(pfs_pg_audit_query(pg, NULL, "M1", 0, 0, -1, dump__audit, &t), 0);
    ck_assert_int_eq(pfs_pg_audit_query(pg, NULL, NULL, 3000, 0, 5, dump__audit, &t), 0);
    ck_assert_int_eq(pfs_pg_lock_pending_each(pg, dump__pending, &t), 0);
    ck_assert_int_eq(pfs_pg_term_installed_each(pg, dump__serial, &t), 0);
    ck_assert_int_eq(pfs_pg_merchant_list(pg, -1, NULL, 10, dump__merchant, &t, &more), 0);
    ck_assert_int_eq(pfs_pg_merchant_terminals(pg, "M1", dump__mterm, &t), 0);
    return t.buf;
}

/* The two stores hold the same, line for line (the first difference shown). */
static void same_contents(const char *when)
{
    char *a = dump_sqlite(), *b = dump_pg();
    const char *pa = a, *pb = b;
    int line = 1;

    while (*pa && *pb) {
        const char *ea = strchr(pa, '\n'), *eb = strchr(pb, '\n');
        size_t la = ea ? (size_t)(ea - pa) : strlen(pa), lb = eb ? (size_t)(eb - pb) : strlen(pb);

        ck_assert_msg(la == lb && memcmp(pa, pb, la) == 0,
                      "%s: line %d differs:\n sqlite:   %.*s\n postgres: %.*s", when, line, (int)la,
                      pa, (int)lb, pb);
        pa += la + (ea ? 1 : 0);
        pb += lb + (eb ? 1 : 0);
        line++;
    }
    ck_assert_msg(!*pa && !*pb, "%s: one store holds more (line %d)", when, line);
    free(a);
    free(b);
}

/* --- the swap hook --- */

struct hook {
    int calls;
    int fail; /* returned when non-zero */
};

static int hook__swap(void *ctx, struct pfs_tx *tx, const char *o, const char *n,
                      struct pf_error *err)
{
    struct hook *h = ctx;

    (void)tx;
    (void)o;
    (void)n;
    h->calls++;
    return h->fail ? pf_error_set(err, h->fail, "hook refused") : 0;
}

/* --- bulk refusals --- */

struct bads {
    int n;
    char lines[512];
};

static int bad__collect(void *ctx, int line, int code, const char *msg)
{
    struct bads *b = ctx;
    size_t used = strlen(b->lines);

    b->n++;
    snprintf(b->lines + used, sizeof(b->lines) - used, "%d:%d:%s;", line, code, msg);
    return 0;
}

START_TEST(fleet_life_same_as_sqlite)
{
    struct pfs_merchant m1 = merchant("M1", "91110000000000001A"),
                        m2 = merchant("M2", "91110000000000001A"), got, out1, out2;
    enum pfs_merchant_status approved = PFS_MERCHANT_APPROVED;
    struct hook h1 = {0, 0}, h2 = {0, 0};
    struct pfs_term t1, t2;
    int64_t r1 = -1, r2 = -1, alien_rid = 0;
    bool c1 = false, c2 = false, u1 = false, u2 = false;
    char s1[PF_SERIAL_MAX + 1] = "", s2[PF_SERIAL_MAX + 1] = "";

    up("pg_lifecycle_fleet");
    device("OLD", "P10-A");
    device("NEW", "P10-B");
    device("T3", "P10-A");
    device("ALIEN", "X9");
    same_contents("registered");

    /* merchants: added (applied), duplicates refused, reviewed */
    BOTH(0, pfs_store_merchant_add(sq, &m1, &sup, 1000, err),
         pfs_pg_merchant_add(pg, &m1, &sup, 1000, err));
    BOTH(PF_EEXIST, pfs_store_merchant_add(sq, &m1, &sup, 1001, err),
         pfs_pg_merchant_add(pg, &m1, &sup, 1001, err));
    BOTH(PF_EEXIST, pfs_store_merchant_add(sq, &m2, &sup, 1002, err),
         pfs_pg_merchant_add(pg, &m2, &sup, 1002, err));
    snprintf(m2.uscc, sizeof(m2.uscc), "91110000000000002B");
    BOTH(0, pfs_store_merchant_add(sq, &m2, &sup, 1003, err),
         pfs_pg_merchant_add(pg, &m2, &sup, 1003, err));
    ck_assert_int_eq(pfs_pg_merchant_get(pg, "M1", &got), 0);
    ck_assert_int_eq(got.status, PFS_MERCHANT_APPLIED);
    ck_assert_int_eq(got.nfees, 2);
    ck_assert_int_eq(pfs_pg_merchant_get(pg, "M9", &got), PF_ENOENT);
    BOTH(PF_EINVAL,
         pfs_store_merchant_change(sq, "M1", "edit", change__refuse, NULL, &sup, 1010, NULL, err),
         pfs_pg_merchant_change(pg, "M1", "edit", change__refuse, NULL, &sup, 1010, NULL, err));
    BOTH(PF_ENOENT,
         pfs_store_merchant_change(sq, "M9", "approve", change__status, &approved, &sup, 1011, NULL,
                                   err),
         pfs_pg_merchant_change(pg, "M9", "approve", change__status, &approved, &sup, 1011, NULL,
                                err));
    /* binding needs an approved merchant */
    BOTH(PF_ESTATE, pfs_store_term_bind(sq, "OLD", "M1", &sup, 1015, err),
         pfs_pg_term_bind(pg, "OLD", "M1", &sup, 1015, err));
    BOTH(0,
         pfs_store_merchant_change(sq, "M1", "approve", change__status, &approved, &sup, 1020,
                                   &out1, err),
         pfs_pg_merchant_change(pg, "M1", "approve", change__status, &approved, &sup, 1020, &out2,
                                err));
    ck_assert_int_eq(out2.status, PFS_MERCHANT_APPROVED);
    ck_assert_int_eq(out2.updated_ms, 1020);
    {
        struct text one = {0}, applied = {0};
        bool more = false;

        ck_assert_int_eq(pfs_pg_merchant_list(pg, -1, NULL, 1, dump__merchant, &one, &more), 0);
        ck_assert(more);
        ck_assert_ptr_nonnull(strstr(one.buf, "\"id\":\"M1\""));
        ck_assert_int_eq(pfs_pg_merchant_list(pg, PFS_MERCHANT_APPLIED, "M1", 5, dump__merchant,
                                              &applied, &more),
                         0);
        ck_assert(!more);
        ck_assert_ptr_nonnull(strstr(applied.buf, "\"id\":\"M2\""));
        free(one.buf);
        free(applied.buf);
    }

    /* binding: the approved merchant becomes active; unknown ones refused */
    BOTH(0, pfs_store_term_bind(sq, "OLD", "M1", &sup, 1100, err),
         pfs_pg_term_bind(pg, "OLD", "M1", &sup, 1100, err));
    BOTH(0, pfs_store_term_bind(sq, "T3", "M1", &sup, 1110, err),
         pfs_pg_term_bind(pg, "T3", "M1", &sup, 1110, err));
    BOTH(PF_ENOENT, pfs_store_term_bind(sq, "ALIEN", "M9", &sup, 1120, err),
         pfs_pg_term_bind(pg, "ALIEN", "M9", &sup, 1120, err));
    BOTH(PF_EUNKNOWN_SERIAL, pfs_store_term_bind(sq, "NOPE", "M1", &sup, 1120, err),
         pfs_pg_term_bind(pg, "NOPE", "M1", &sup, 1120, err));
    BOTH(PF_ESTATE, pfs_store_term_bind(sq, "OLD", "M1", &sup, 1130, err),
         pfs_pg_term_bind(pg, "OLD", "M1", &sup, 1130, err));
    ck_assert_int_eq(pfs_pg_merchant_get(pg, "M1", &got), 0);
    ck_assert_int_eq(got.status, PFS_MERCHANT_ACTIVE);
    BOTH(0, pfs_store_term_tags(sq, "OLD", "[\"north\",\"kiosk\"]", &sup, 1200, err),
         pfs_pg_term_tags(pg, "OLD", "[\"north\",\"kiosk\"]", &sup, 1200, err));
    same_contents("bound");

    /* posfleetd's own: activation once */
    ck_assert_int_eq(pfs_store_term_activate(sq, "OLD", 1300, &c1), 0);
    ck_assert_int_eq(pfs_pg_term_activate(pg, "OLD", 1300, &c2), 0);
    ck_assert(c1 && c2);
    ck_assert_int_eq(pfs_store_term_activate(sq, "OLD", 1310, &c1), 0);
    ck_assert_int_eq(pfs_pg_term_activate(pg, "OLD", 1310, &c2), 0);
    ck_assert(!c1 && !c2);
    ck_assert_int_eq(pfs_pg_term_activate(pg, "NOPE", 1310, &c2), PF_EUNKNOWN_SERIAL);

    /* support locks T3 by hand, the terminal confirms, support unlocks */
    BOTH(0, pfs_store_term_lock(sq, "T3", true, "c-1", "suspected skimmer", &sup, 1400, err),
         pfs_pg_term_lock(pg, "T3", true, "c-1", "suspected skimmer", &sup, 1400, err));
    same_contents("lock pending");
    ck_assert_int_eq(pfs_store_term_lock_report(sq, "T3", "c-0", true, 1410, &c1), 0);
    ck_assert_int_eq(pfs_pg_term_lock_report(pg, "T3", "c-0", true, 1410, &c2), 0);
    ck_assert(!c1 && !c2);
    ck_assert_int_eq(pfs_store_term_lock_report(sq, "T3", "c-1", true, 1420, &c1), 0);
    ck_assert_int_eq(pfs_pg_term_lock_report(pg, "T3", "c-1", true, 1420, &c2), 0);
    ck_assert(c1 && c2);
    BOTH(0, pfs_store_term_lock(sq, "T3", false, "c-2", "checked", &sup, 1430, err),
         pfs_pg_term_lock(pg, "T3", false, "c-2", "checked", &sup, 1430, err));

    /* tamper on T3: locked, a repair opened; a second report changes nothing */
    ck_assert_int_eq(pfs_store_term_tamper(sq, "T3", "c-3", 1500, &c1, &(struct pf_error){0}), 0);
    ck_assert_int_eq(pfs_pg_term_tamper(pg, "T3", "c-3", 1500, &c2, &(struct pf_error){0}), 0);
    ck_assert(c1 && c2);
    ck_assert_int_eq(pfs_store_term_tamper(sq, "T3", "c-4", 1510, &c1, &(struct pf_error){0}), 0);
    ck_assert_int_eq(pfs_pg_term_tamper(pg, "T3", "c-4", 1510, &c2, &(struct pf_error){0}), 0);
    ck_assert(!c1 && !c2);
    same_contents("tampered");

    /* a support repair on a terminal in stock, then retiring needs it closed */
    BOTH(0,
         pfs_store_repair_open(sq, "ALIEN", "dead battery", "[\"BATTERY\"]", &sup, 2600, &r1, err),
         pfs_pg_repair_open(pg, "ALIEN", "dead battery", "[\"BATTERY\"]", &sup, 2600, &r2, err));
    ck_assert_int_eq(r1, r2);
    alien_rid = r2;
    BOTH(PF_EEXIST, pfs_store_repair_open(sq, "ALIEN", "again", NULL, &sup, 2610, &r1, err),
         pfs_pg_repair_open(pg, "ALIEN", "again", NULL, &sup, 2610, &r2, err));
    BOTH(PF_ESTATE, pfs_store_term_retire(sq, "ALIEN", &sup, 2620, err),
         pfs_pg_term_retire(pg, "ALIEN", &sup, 2620, err));
    {
        struct pfs_repair_change scrap = {.to = PFS_REPAIR_SCRAPPED, .unlock_cmd = "c-10"};
        int64_t id = alien_rid;

        BOTH(0, pfs_store_repair_change(sq, id, &scrap, &sup, 2630, &u1, NULL, err),
             pfs_pg_repair_change(pg, id, &scrap, &sup, 2630, &u2, NULL, err));
    }
    same_contents("scrapped");

    /* the swap: a refusing hook rolls it all back */
    h2.fail = PF_EIO;
    ck_assert_int_eq(pfs_pg_term_swap(pg, "OLD", "NEW", "broken", hook__swap, &h2, &sup, 2000, &r2,
                                      &(struct pf_error){0}),
                     PF_EIO);
    ck_assert_int_eq(h2.calls, 1);
    ck_assert_int_eq(r2, 0);
    ck_assert_int_eq(pfs_pg_term_get(pg, "OLD", &t2), 0);
    ck_assert_int_eq(t2.state, PFS_TERM_ACTIVE);
    h2.fail = 0;
    same_contents("swap refused by its hook");
    BOTH(PF_ESTATE, pfs_store_term_swap(sq, "OLD", "ALIEN", "x", NULL, NULL, &sup, 2050, &r1, err),
         pfs_pg_term_swap(pg, "OLD", "ALIEN", "x", NULL, NULL, &sup, 2050, &r2, err));
    BOTH(PF_ENOENT,
         pfs_store_term_swap_undo(sq, "OLD", "NEW", "x", NULL, NULL, &sup, 2060, &r1, &u1, err),
         pfs_pg_term_swap_undo(pg, "OLD", "NEW", "x", NULL, NULL, &sup, 2060, &r2, &u2, err));
    BOTH(0,
         pfs_store_term_swap(sq, "OLD", "NEW", "screen cracked", hook__swap, &h1, &sup, 2100, &r1,
                             err),
         pfs_pg_term_swap(pg, "OLD", "NEW", "screen cracked", hook__swap, &h2, &sup, 2100, &r2,
                          err));
    ck_assert_int_eq(r1, r2);
    ck_assert_int_gt(r2, 0);
    ck_assert_int_eq(h1.calls, 1);
    ck_assert_int_eq(h2.calls, 2);
    same_contents("swapped");
    BOTH(0,
         pfs_store_term_swap_undo(sq, "OLD", "NEW", "wrong terminal", hook__swap, &h1, &sup, 2200,
                                  &r1, &u1, err),
         pfs_pg_term_swap_undo(pg, "OLD", "NEW", "wrong terminal", hook__swap, &h2, &sup, 2200, &r2,
                               &u2, err));
    ck_assert_int_eq(r1, r2);
    ck_assert(u1 && u2);
    BOTH(PF_ESTATE,
         pfs_store_term_swap_undo(sq, "OLD", "NEW", "again", NULL, NULL, &sup, 2210, &r1, &u1, err),
         pfs_pg_term_swap_undo(pg, "OLD", "NEW", "again", NULL, NULL, &sup, 2210, &r2, &u2, err));
    same_contents("swap undone");
    /* the tampered T3 swapped: its tamper repair records the swap */
    BOTH(0, pfs_store_term_swap(sq, "T3", "NEW", "tampered", NULL, NULL, &sup, 2300, &r1, err),
         pfs_pg_term_swap(pg, "T3", "NEW", "tampered", NULL, NULL, &sup, 2300, &r2, err));
    ck_assert_int_eq(r1, r2);
    same_contents("tampered swapped");

    /* the repair moves; closing returns T3 to stock with an unlock */
    {
        struct pfs_repair_change rc = {.to = PFS_REPAIR_RECEIVED, .notes = "arrived"};
        struct pfs_repair_change rn = {.to = -1,
                                       .faults_json = "[\"TAMPER\",\"SCREEN\"]",
                                       .parts_json = "[\"lcd\"]",
                                       .notes = "screen too"};
        struct pfs_repair_change bad = {.to = PFS_REPAIR_OPEN};
        struct pfs_repair_change done = {.to = PFS_REPAIR_RETURNED, .unlock_cmd = "c-9"};
        int64_t id = r2;

        BOTH(0, pfs_store_repair_change(sq, id, &rc, &sup, 2400, &u1, s1, err),
             pfs_pg_repair_change(pg, id, &rc, &sup, 2400, &u2, s2, err));
        ck_assert_str_eq(s2, "T3");
        BOTH(0, pfs_store_repair_change(sq, id, &rn, &sup, 2410, &u1, NULL, err),
             pfs_pg_repair_change(pg, id, &rn, &sup, 2410, &u2, NULL, err));
        BOTH(PF_ESTATE, pfs_store_repair_change(sq, id, &bad, &sup, 2420, &u1, NULL, err),
             pfs_pg_repair_change(pg, id, &bad, &sup, 2420, &u2, NULL, err));
        BOTH(PF_ENOENT, pfs_store_repair_change(sq, 999, &rc, &sup, 2420, &u1, NULL, err),
             pfs_pg_repair_change(pg, 999, &rc, &sup, 2420, &u2, NULL, err));
        same_contents("repair moved");
        BOTH(0, pfs_store_repair_change(sq, id, &done, &sup, 2500, &u1, NULL, err),
             pfs_pg_repair_change(pg, id, &done, &sup, 2500, &u2, NULL, err));
        ck_assert(u1 && u2);
        ck_assert_int_eq(pfs_pg_repair_view(pg, 999, dump__repair, &(struct text){0}), PF_ENOENT);
    }
    same_contents("repair closed");

    /* bulk: one bad line refuses the file whole; a check changes nothing */
    {
        const struct pfs_bulk_op tags[] = {{2, "OLD", "[\"south\"]"},
                                           {3, "NOPE", "[\"x\"]"},
                                           {4, "NEW", "[\"east\"]"},
                                           {5, "ALIEN", "[\"y\"]"}};
        const struct pfs_bulk_op unb[] = {{2, "OLD", "moved out"}, {3, "NEW", NULL}};
        struct bads b1 = {0}, b2 = {0};
        size_t n1 = 0, n2 = 0;

        BOTH(PF_EUNKNOWN_SERIAL,
             pfs_store_term_bulk(sq, PFS_BULK_TAGS, tags, 4, false, bad__collect, &b1, &sup, 2700,
                                 &n1, err),
             pfs_pg_term_bulk(pg, PFS_BULK_TAGS, tags, 4, false, bad__collect, &b2, &sup, 2700, &n2,
                              err));
        ck_assert_uint_eq(n1, n2);
        ck_assert_int_eq(b2.n, 2);
        ck_assert_str_eq(b2.lines, b1.lines);
        same_contents("bulk refused");
        memset(&b1, 0, sizeof(b1));
        memset(&b2, 0, sizeof(b2));
        BOTH(0,
             pfs_store_term_bulk(sq, PFS_BULK_TAGS, tags, 1, true, bad__collect, &b1, &sup, 2710,
                                 &n1, err),
             pfs_pg_term_bulk(pg, PFS_BULK_TAGS, tags, 1, true, bad__collect, &b2, &sup, 2710, &n2,
                              err));
        ck_assert_uint_eq(n2, 0);
        same_contents("bulk checked");
        BOTH(0,
             pfs_store_term_bulk(sq, PFS_BULK_UNBIND, unb, 1, false, bad__collect, &b1, &sup, 2720,
                                 &n1, err),
             pfs_pg_term_bulk(pg, PFS_BULK_UNBIND, unb, 1, false, bad__collect, &b2, &sup, 2720,
                              &n2, err));
        BOTH(0,
             pfs_store_term_bulk(sq, PFS_BULK_BIND, (const struct pfs_bulk_op[]){{7, "OLD", "M1"}},
                                 1, false, bad__collect, &b1, &sup, 2730, &n1, err),
             pfs_pg_term_bulk(pg, PFS_BULK_BIND, (const struct pfs_bulk_op[]){{7, "OLD", "M1"}}, 1,
                              false, bad__collect, &b2, &sup, 2730, &n2, err));
    }
    same_contents("bulk applied");

    /* a new time zone reaches the bound terminals; closing needs none bound */
    BOTH(0,
         pfs_store_merchant_change(sq, "M1", "edit", change__tz, "Asia/Urumqi", &sup, 3000, NULL,
                                   err),
         pfs_pg_merchant_change(pg, "M1", "edit", change__tz, "Asia/Urumqi", &sup, 3000, NULL,
                                err));
    BOTH(0, pfs_store_term_unbind(sq, "NEW", &sup, 3100, err),
         pfs_pg_term_unbind(pg, "NEW", &sup, 3100, err));
    BOTH(PF_ESTATE, pfs_store_term_unbind(sq, "NEW", &sup, 3110, err),
         pfs_pg_term_unbind(pg, "NEW", &sup, 3110, err));
    BOTH(0, pfs_store_term_retire(sq, "T3", &sup, 3200, err),
         pfs_pg_term_retire(pg, "T3", &sup, 3200, err));
    ck_assert_int_eq(pfs_store_term_get(sq, "T3", &t1), 0);
    ck_assert_int_eq(pfs_pg_term_get(pg, "T3", &t2), 0);
    ck_assert_int_eq(t2.state, PFS_TERM_RETIRED);
    ck_assert(t2.revoked);
    ck_assert_int_eq(pfs_pg_term_get(pg, "NOPE", &t2), PF_EUNKNOWN_SERIAL);
    same_contents("the end");
    down();
}
END_TEST

/* The session is lost in the middle of a swap (the hook has its server
 * process terminated): pfs_pg_tx() runs the swap again from the start on a
 * new session, and it is made once, told once, audited once. */
struct killer {
    struct pfs_pg *other;
    int calls;
};

static int hook__kill(void *ctx, struct pfs_tx *tx, const char *o, const char *n,
                      struct pf_error *err)
{
    struct killer *k = ctx;
    char pid[32];
    const char *p[1] = {pid};
    PGresult *res = NULL;

    (void)tx;
    (void)o;
    (void)n;
    if (k->calls++ > 0)
        return 0;
    snprintf(pid, sizeof(pid), "%d", pfs_pg_backend_pid(pg->pg));
    ck_assert_msg(pfs_pg_query(k->other, "SELECT pg_terminate_backend($1::int)", 1, p, &res, err) ==
                          0,
                  "%s", err->msg);
    PQclear(res);
    return 0;
}

static int count__audit_any(void *ctx, const struct pfs_audit *a)
{
    (void)a;
    (*(int *)ctx)++;
    return 0;
}

static int count__audit(void *ctx, const struct pfs_audit *a)
{
    if (strcmp(a->action, "terminal.swap") == 0)
        (*(int *)ctx)++;
    return 0;
}

START_TEST(swap_runs_again_after_a_lost_session)
{
    struct pfs_merchant m1 = merchant("M1", "91110000000000001A");
    enum pfs_merchant_status approved = PFS_MERCHANT_APPROVED;
    struct pfs_pg_opts o = {0};
    struct killer k = {0};
    struct pf_error err = {0};
    struct pfs_term t;
    int64_t rid = 0;
    int swaps = 0, nrep = 0;

    up("pg_lifecycle_retry");
    device("OLD", "P10-A");
    device("NEW", "P10-B");
    ck_assert_int_eq(pfs_pg_merchant_add(pg, &m1, &sup, 1000, &err), 0);
    ck_assert_int_eq(pfs_pg_merchant_change(pg, "M1", "approve", change__status, &approved, &sup,
                                            1010, NULL, &err),
                     0);
    ck_assert_int_eq(pfs_pg_term_bind(pg, "OLD", "M1", &sup, 1020, &err), 0);
    o.dsn = dsn;
    ck_assert_int_eq(pfs_pg_open(&o, &k.other, &err), 0);
    ck_assert_msg(pfs_pg_term_swap(pg, "OLD", "NEW", "cracked", hook__kill, &k, &sup, 2000, &rid,
                                   &err) == 0,
                  "%s", err.msg);
    ck_assert_int_eq(k.calls, 2);
    ck_assert_int_gt(rid, 0);
    ck_assert_int_eq(pfs_pg_term_get(pg, "NEW", &t), 0);
    ck_assert_int_eq(t.state, PFS_TERM_INSTALLED);
    ck_assert_int_eq(pfs_pg_audit_query(pg, "OLD", NULL, 0, 0, -1, count__audit, &swaps), 0);
    ck_assert_int_eq(swaps, 1);
    ck_assert_int_eq(pfs_pg_repair_list(pg, "OLD", -1, -1, count__repair, &nrep), 0);
    ck_assert_int_eq(nrep, 1);
    ck_assert_int_eq(pfs_pg_repair_view(pg, rid, count__repair, &nrep), 0);
    pfs_pg_free(k.other);
    down();
}
END_TEST

/* store.backend = postgres: pfs_store_NAME reaches these functions through
 * the backend's ops table. */
START_TEST(dispatched_through_the_ops_table)
{
    struct pfs_merchant m1 = merchant("M1", "91110000000000001A"), got;
    struct pfs_store_opts o = {.backend = "postgres"};
    struct pfs_store *st = NULL;
    struct pf_error err = {0};
    int n = 0;

    ck_assert_int_eq(pf_pg_createdb(&server, "pg_lifecycle_ops", dsn, sizeof(dsn)), 0);
    o.dsn = dsn;
    ck_assert_msg(pfs_store_open(&o, &st, &err) == 0, "%s", err.msg);
    ck_assert_msg(pfs_store_merchant_add(st, &m1, &sup, 1000, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(pfs_store_merchant_add(st, &m1, &sup, 1001, &err), PF_EEXIST);
    ck_assert_str_eq(err.msg, "merchant M1: already exists");
    ck_assert_int_eq(pfs_store_merchant_get(st, "M1", &got), 0);
    ck_assert_str_eq(got.uscc, "91110000000000001A");
    ck_assert_int_eq(pfs_store_term_view(st, "NOPE", dump__view, &(struct text){0}),
                     PF_EUNKNOWN_SERIAL);
    ck_assert_int_eq(pfs_store_audit_query(st, NULL, "M1", 0, 0, 10, count__audit_any, &n), 0);
    ck_assert_int_eq(n, 1);
    pfs_store_close(st);
}
END_TEST

/* A change made inside a transaction the caller opened (pfs_store_tx_begin)
 * runs on that transaction: rolled back with it. */
START_TEST(inside_an_open_transaction)
{
    struct pfs_merchant m1 = merchant("M1", "91110000000000001A"), got;
    struct pf_error err = {0};

    up("pg_lifecycle_tx");
    pg_run("BEGIN");
    pg->tx.open = true;
    ck_assert_msg(pfs_pg_merchant_add(pg, &m1, &sup, 1000, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(pfs_pg_merchant_get(pg, "M1", &got), 0);
    pg_run("ROLLBACK");
    pg->tx.open = false;
    ck_assert_int_eq(pfs_pg_merchant_get(pg, "M1", &got), PF_ENOENT);
    down();
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("pg_lifecycle");
    TCase *tc = tcase_create("lifecycle");

    tcase_add_unchecked_fixture(tc, server_up, server_down);
    tcase_set_timeout(tc, 90);
    tcase_add_test(tc, fleet_life_same_as_sqlite);
    tcase_add_test(tc, swap_runs_again_after_a_lost_session);
    tcase_add_test(tc, inside_an_open_transaction);
    tcase_add_test(tc, dispatched_through_the_ops_table);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return pf_test_run(suite());
}
