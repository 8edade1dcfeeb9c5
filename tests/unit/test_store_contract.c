/*
 * test_store_contract.c - the store contract: what every backend of store.h,
 * store_lifecycle.h, store_updates.h and store_diag.h must do, written
 * against those headers only (no SQL, no backend type), and run once per
 * backend of contract__backends[] that this build has: SQLite runs every
 * case; PostgreSQL the cases of the concerns its backend implements so far,
 * named in its row (pg__cases; docs/store.md), each on a database of its own.
 *
 * Besides each function's results and refusals it checks the ordering a
 * crash depends on, with a child process that dies (_exit, no close) in the
 * middle: an administrative change or an outcome event is durable when its
 * call returns; an ingest batch that was not flushed is lost whole, and one
 * that was flushed (or closed) is not; a rolled-back transaction leaves
 * nothing.
 *
 * The rollout functions (store_rollouts.h) get their cases in the section
 * "rollouts" at the end, in the same shape; webhook notifications
 * (store_notify.h) and the metric counts (store_metrics.h) theirs in
 * "notify".
 *
 * Over 800 lines on purpose: it is one contract, read top to bottom by
 * whoever writes the next backend, and each case is short.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "rollouts/rollout_def.h"
#include "rollouts/rollout_member.h"
#include "store/record_json.h"
#include "store/store.h"
#include "store/store_accounts.h"
#include "store/store_diag.h"
#include "store/store_lifecycle.h"
#include "store/store_metrics.h"
#include "store/store_notify.h"
#include "store/store_rollouts.h"
#include "store/store_updates.h"
#include "pg_harness.h"
#include "testutil.h"

/* --- backends --- */

/* A place a backend keeps one test case's store, made empty for the case. */
struct contract_backend {
    const char *name; /* as pfs_store_backends and store.backend name it */
    void (*create)(char *where, size_t size);
    void (*destroy)(const char *where);
    int (*open)(const char *where, struct pfs_store **st, struct pf_error *err);
    /* The names of the TCases below this backend runs (NULL: all of them). */
    const char *const *cases;
};

static char contract__dir[256];

/* Whether this posfleetd has the backend (store.backend accepts it). */
static bool contract__built_in(const char *name)
{
    for (int i = 0; pfs_store_backends[i]; i++) {
        if (strcmp(pfs_store_backends[i], name) == 0)
            return true;
    }
    return false;
}

static void sqlite__create(char *where, size_t size)
{
    pf_test_tmpdir(contract__dir, sizeof(contract__dir));
    snprintf(where, size, "%s/store.db", contract__dir);
}

static void sqlite__destroy(const char *where)
{
    (void)where;
    pf_test_rmtree(contract__dir);
}

static int sqlite__open(const char *where, struct pfs_store **st, struct pf_error *err)
{
    struct pfs_store_opts o = {.backend = "sqlite", .path = where};

    return pfs_store_open(&o, st, err);
}

/* PostgreSQL: each case gets a database of its own on the ctest fixture's
 * server (tests/pg/pg_harness.c; PF_PG_DIR), or on a private one started for
 * the case when the fixture is not there. */
static struct pf_pg_server contract__pg;
static int contract__pg_n;

static void pg__create(char *where, size_t size)
{
    char name[64];

    if (!contract__pg.dir[0])
        ck_assert_int_eq(pf_pg_start(&contract__pg, true), 0);
    snprintf(name, sizeof(name), "contract_%d_%d", (int)getpid(), ++contract__pg_n);
    ck_assert_int_eq(pf_pg_createdb(&contract__pg, name, where, size), 0);
}

static void pg__destroy(const char *where)
{
    (void)where;
    if (contract__pg.owned)
        pf_pg_stop(&contract__pg);
}

static int pg__open(const char *where, struct pfs_store **st, struct pf_error *err)
{
    struct pfs_store_opts o = {.backend = "postgres", .dsn = where};

    return pfs_store_open(&o, st, err);
}

/* The contract's cases the PostgreSQL backend implements, by name of their
 * TCase (docs/store.md), never skipped silently: a case added here must pass. */
static const char *const pg__cases[] = {"store", "accounts", "lifecycle", "updates",
                                        "diag",  "notify",   "rollouts",  NULL};

static const struct contract_backend contract__backends[] = {
        {"sqlite", sqlite__create, sqlite__destroy, sqlite__open, NULL},
        {"postgres", pg__create, pg__destroy, pg__open, pg__cases},
};

/* Whether backend b runs the TCase named name. */
static bool contract__runs(const struct contract_backend *b, const char *name)
{
    if (!b->cases)
        return true;
    for (int i = 0; b->cases[i]; i++) {
        if (strcmp(b->cases[i], name) == 0)
            return true;
    }
    return false;
}
#define CONTRACT_BACKENDS (sizeof(contract__backends) / sizeof(contract__backends[0]))

/* The rows of contract__backends[] this build has; loop tests index it. */
static const struct contract_backend *contract__built[CONTRACT_BACKENDS];
static int contract__nbuilt;

static const struct contract_backend *B; /* the backend of the running case */
static char where[300];
static struct pfs_store *st;
static const struct pfs_actor ops = {.name = "olga", .role = "ops"};
static const struct pfs_actor sup = {.name = "sam", .role = "support"};

static void up(int i)
{
    struct pf_error err = {0};

    B = contract__built[i];
    B->create(where, sizeof(where));
    ck_assert_msg(B->open(where, &st, &err) == 0, "%s: %s", B->name, err.msg);
}

static void down(void)
{
    if (!B)
        return;
    pfs_store_close(st);
    st = NULL;
    B->destroy(where);
}

static void reopen(void)
{
    struct pf_error err = {0};

    pfs_store_close(st);
    st = NULL;
    ck_assert_msg(B->open(where, &st, &err) == 0, "%s", err.msg);
}

/*
 * Runs fn in a child with its own store that dies without closing it (as a
 * crash does: no flush, no rollback). The parent's store is closed meanwhile
 * and reopened after, so it sees only what reached the backend.
 */
static void crash_after(void (*fn)(struct pfs_store *))
{
    pid_t pid;
    int status = 0;

    pfs_store_close(st);
    st = NULL;
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        struct pfs_store *c = NULL;
        struct pf_error err = {0};

        if (B->open(where, &c, &err) != 0)
            _exit(2);
        fn(c);
        _exit(0);
    }
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child failed: %d", status);
    reopen();
}

/* --- helpers --- */

static void add(const char *serial, const char *model)
{
    struct pfs_device d;
    struct pf_error err = {0};

    memset(&d, 0, sizeof(d));
    snprintf(d.serial, sizeof(d.serial), "%s", serial);
    snprintf(d.model, sizeof(d.model), "%s", model);
    ck_assert_msg(pfs_store_device_add(st, &d, &ops, 1000, &err) == 0, "%s", err.msg);
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

static void put_health(struct pfs_store *s, const char *serial, uint32_t seq, bool *newer)
{
    struct pf_health h = health(seq, 1000 + seq);

    ck_assert_int_eq(pfs_store_health_put(s, serial, &h, 2000 + seq, newer), 0);
}

static int64_t health_n(const char *serial)
{
    int64_t n = -1;

    ck_assert_int_eq(pfs_store_health_count(st, serial, &n), 0);
    return n;
}

struct audits {
    int n;
    char action[16][32];
    char target[16][64];
    bool before[16], after[16];
    int64_t id[16];
    char before_text[16][4096], after_text[16][4096]; /* "" when NULL */
};

static int audits__cb(void *ctx, const struct pfs_audit *a)
{
    struct audits *x = ctx;

    if (x->n < 16) {
        snprintf(x->action[x->n], sizeof(x->action[0]), "%s", a->action);
        snprintf(x->target[x->n], sizeof(x->target[0]), "%s", a->target);
        x->before[x->n] = a->before != NULL;
        x->after[x->n] = a->after != NULL;
        x->id[x->n] = a->id;
        snprintf(x->before_text[x->n], sizeof(x->before_text[0]), "%s", a->before ? a->before : "");
        snprintf(x->after_text[x->n], sizeof(x->after_text[0]), "%s", a->after ? a->after : "");
    }
    x->n++;
    return 0;
}

static struct audits audit_of(const char *target)
{
    struct audits x;

    memset(&x, 0, sizeof(x));
    ck_assert_int_eq(pfs_store_audit_list(st, target, 0, 16, audits__cb, &x), 0);
    return x;
}

/* Counters for each callback type: ctx is an int. */
static int count__merchant(void *ctx, const struct pfs_merchant *m)
{
    (void)m;
    (*(int *)ctx)++;
    return 0;
}

static int count__repair(void *ctx, const struct pfs_repair_view *v)
{
    (void)v;
    (*(int *)ctx)++;
    return 0;
}

static int count__serial(void *ctx, const char *serial)
{
    (void)serial;
    (*(int *)ctx)++;
    return 0;
}

static int count__bundle(void *ctx, const struct pfs_bundle_rec *b)
{
    (void)b;
    (*(int *)ctx)++;
    return 0;
}

static int count__update(void *ctx, const struct pfs_update_rec *r)
{
    (void)r;
    (*(int *)ctx)++;
    return 0;
}

/*
 * Copies of the records the lifecycle reads hand over (their strings are
 * borrowed for the call). A NULL string is copied as REC_NULL, so a case
 * tells "absent" from "empty"; at most REC_MAX records per read are kept,
 * all are counted.
 */
#define REC_NULL "<null>"
#define REC_MAX  16

static void rec__cp(char *dst, size_t size, const char *src)
{
    snprintf(dst, size, "%s", src ? src : REC_NULL);
}

struct term_rec {
    int n;
    char serial[32], model[32], registry[16], merchant_id[40], fee_plan[256], tz[64];
    char tags[128], lock_cmd[64], lock_reason[64], provision[512];
    enum pfs_term_state state;
    int64_t bound_ms, repair_id, updated_ms;
    bool lock_want, lock_acked;
    char *text; /* record_json.h's text of the record (heap) */
};

static int term__cb(void *ctx, const struct pfs_term_view *v)
{
    struct term_rec *r = ctx;

    r->n++;
    rec__cp(r->serial, sizeof(r->serial), v->serial);
    rec__cp(r->model, sizeof(r->model), v->model);
    rec__cp(r->registry, sizeof(r->registry), v->registry);
    rec__cp(r->merchant_id, sizeof(r->merchant_id), v->merchant_id);
    rec__cp(r->fee_plan, sizeof(r->fee_plan), v->fee_plan);
    rec__cp(r->tz, sizeof(r->tz), v->tz);
    rec__cp(r->tags, sizeof(r->tags), v->tags);
    rec__cp(r->lock_cmd, sizeof(r->lock_cmd), v->lock_cmd);
    rec__cp(r->lock_reason, sizeof(r->lock_reason), v->lock_reason);
    rec__cp(r->provision, sizeof(r->provision), v->provision);
    r->state = v->state;
    r->bound_ms = v->bound_ms;
    r->repair_id = v->repair_id;
    r->updated_ms = v->updated_ms;
    r->lock_want = v->lock_want;
    r->lock_acked = v->lock_acked;
    free(r->text);
    r->text = pfs_rec_term_text(v);
    return 0;
}

/* The terminal's view; rc is what pfs_store_term_view must return. The
 * caller frees .text. */
static struct term_rec term_of(const char *serial, int rc)
{
    struct term_rec r;

    memset(&r, 0, sizeof(r));
    ck_assert_int_eq(pfs_store_term_view(st, serial, term__cb, &r), rc);
    ck_assert_int_eq(r.n, rc ? 0 : 1);
    return r;
}

struct repair_rec {
    int64_t id, opened_ms, received_ms, diagnosed_ms, repaired_ms, closed_ms, updated_ms;
    char serial[32], state[24], source[16], reason[64], merchant_id[40], replaced_by[32];
    char fault_codes[128], parts[128], notes[128], snapshot[2048];
    char *text; /* record_json.h's text of the record (heap) */
};

struct repair_recs {
    int n;
    struct repair_rec r[REC_MAX];
};

static int repair__cb(void *ctx, const struct pfs_repair_view *v)
{
    struct repair_recs *x = ctx;
    struct repair_rec *r = &x->r[x->n < REC_MAX ? x->n : REC_MAX - 1];

    x->n++;
    free(r->text);
    memset(r, 0, sizeof(*r));
    r->id = v->id;
    r->opened_ms = v->opened_ms;
    r->received_ms = v->received_ms;
    r->diagnosed_ms = v->diagnosed_ms;
    r->repaired_ms = v->repaired_ms;
    r->closed_ms = v->closed_ms;
    r->updated_ms = v->updated_ms;
    rec__cp(r->serial, sizeof(r->serial), v->serial);
    rec__cp(r->state, sizeof(r->state), v->state);
    rec__cp(r->source, sizeof(r->source), v->source);
    rec__cp(r->reason, sizeof(r->reason), v->reason);
    rec__cp(r->merchant_id, sizeof(r->merchant_id), v->merchant_id);
    rec__cp(r->replaced_by, sizeof(r->replaced_by), v->replaced_by);
    rec__cp(r->fault_codes, sizeof(r->fault_codes), v->fault_codes);
    rec__cp(r->parts, sizeof(r->parts), v->parts);
    rec__cp(r->notes, sizeof(r->notes), v->notes);
    rec__cp(r->snapshot, sizeof(r->snapshot), v->snapshot);
    r->text = pfs_rec_repair_text(v);
    return 0;
}

static void repairs__free(struct repair_recs *x)
{
    for (int i = 0; i < REC_MAX; i++)
        free(x->r[i].text);
}

/* The repair's record; rc is what pfs_store_repair_view must return. The
 * caller frees .text. */
static struct repair_rec repair_of(int64_t id, int rc)
{
    struct repair_recs x;

    memset(&x, 0, sizeof(x));
    ck_assert_int_eq(pfs_store_repair_view(st, id, repair__cb, &x), rc);
    ck_assert_int_eq(x.n, rc ? 0 : 1);
    return x.r[0];
}

struct event_recs {
    int n;
    struct {
        int64_t id, ts_ms, repair_id;
        char kind[24], from[16], to[16], merchant_id[40], other[32], actor[32], detail[128];
    } e[REC_MAX];
};

static int event__cb(void *ctx, const struct pfs_term_event_view *v)
{
    struct event_recs *x = ctx;

    if (x->n < REC_MAX) {
        x->e[x->n].id = v->id;
        x->e[x->n].ts_ms = v->ts_ms;
        x->e[x->n].repair_id = v->repair_id;
        rec__cp(x->e[x->n].kind, sizeof(x->e[0].kind), v->kind);
        rec__cp(x->e[x->n].from, sizeof(x->e[0].from), v->from);
        rec__cp(x->e[x->n].to, sizeof(x->e[0].to), v->to);
        rec__cp(x->e[x->n].merchant_id, sizeof(x->e[0].merchant_id), v->merchant_id);
        rec__cp(x->e[x->n].other, sizeof(x->e[0].other), v->other);
        rec__cp(x->e[x->n].actor, sizeof(x->e[0].actor), v->actor);
        rec__cp(x->e[x->n].detail, sizeof(x->e[0].detail), v->detail);
    }
    x->n++;
    return 0;
}

static struct event_recs events_of_term(const char *serial, int limit)
{
    struct event_recs x;

    memset(&x, 0, sizeof(x));
    ck_assert_int_eq(pfs_store_term_events(st, serial, limit, event__cb, &x), 0);
    return x;
}

struct update_recs {
    int n;
    struct {
        int64_t ts_ms;
        char offer[32], bundle[80], kind[16], version[16], status[16], reason[32], code[32];
        char message[64];
    } u[REC_MAX];
};

static int update__cb(void *ctx, const struct pfs_update_view *v)
{
    struct update_recs *x = ctx;

    if (x->n < REC_MAX) {
        x->u[x->n].ts_ms = v->ts_ms;
        rec__cp(x->u[x->n].offer, sizeof(x->u[0].offer), v->offer);
        rec__cp(x->u[x->n].bundle, sizeof(x->u[0].bundle), v->bundle);
        rec__cp(x->u[x->n].kind, sizeof(x->u[0].kind), v->kind);
        rec__cp(x->u[x->n].version, sizeof(x->u[0].version), v->version);
        rec__cp(x->u[x->n].status, sizeof(x->u[0].status), v->status);
        rec__cp(x->u[x->n].reason, sizeof(x->u[0].reason), v->reason);
        rec__cp(x->u[x->n].code, sizeof(x->u[0].code), v->code);
        rec__cp(x->u[x->n].message, sizeof(x->u[0].message), v->message);
    }
    x->n++;
    return 0;
}

struct mterm_recs {
    int n;
    struct {
        char serial[32], model[32], state[16];
        int64_t bound_ms;
        bool locked;
    } t[REC_MAX];
};

static int mterm__cb(void *ctx, const struct pfs_merchant_term_view *v)
{
    struct mterm_recs *x = ctx;

    if (x->n < REC_MAX) {
        rec__cp(x->t[x->n].serial, sizeof(x->t[0].serial), v->serial);
        rec__cp(x->t[x->n].model, sizeof(x->t[0].model), v->model);
        rec__cp(x->t[x->n].state, sizeof(x->t[0].state), v->state);
        x->t[x->n].bound_ms = v->bound_ms;
        x->t[x->n].locked = v->locked;
    }
    x->n++;
    return 0;
}

/* A callback that stops a read at its first record with 7 (not a PF_E* code,
 * so a backend that swallowed it or replaced it by its own would show). */
static int stop__term(void *ctx, const struct pfs_term_view *v)
{
    (void)v;
    (*(int *)ctx)++;
    return 7;
}

static int stop__repair(void *ctx, const struct pfs_repair_view *v)
{
    (void)v;
    (*(int *)ctx)++;
    return 7;
}

static int stop__event(void *ctx, const struct pfs_term_event_view *v)
{
    (void)v;
    (*(int *)ctx)++;
    return 7;
}

static int stop__update(void *ctx, const struct pfs_update_view *v)
{
    (void)v;
    (*(int *)ctx)++;
    return 7;
}

static int stop__mterm(void *ctx, const struct pfs_merchant_term_view *v)
{
    (void)v;
    (*(int *)ctx)++;
    return 7;
}

/* --- store.h: open, schema, registry --- */

START_TEST(open_and_schema)
{
    struct pfs_store_opts bad = {.backend = "nosuch", .path = where};
    struct pfs_store_opts nopath = {.backend = NULL, .path = NULL};
    struct pfs_store *other;
    struct pf_error err = {0};
    int v1 = 0, v2 = 0;

    up(_i);
    other = st;
    ck_assert_int_eq(pfs_store_schema_version(st, &v1), 0);
    ck_assert_int_gt(v1, 0);
    reopen();
    ck_assert_int_eq(pfs_store_schema_version(st, &v2), 0);
    ck_assert_int_eq(v1, v2);
    ck_assert_int_eq(pfs_store_open(&bad, &other, &err), PF_EINVAL);
    ck_assert_ptr_null(other);
    ck_assert_ptr_nonnull(strstr(err.msg, "nosuch"));
    ck_assert_int_eq(pfs_store_open(&nopath, &other, &err), PF_EINVAL);
    ck_assert(contract__built_in(B->name));
    pfs_store_close(NULL);
    down();
}
END_TEST

START_TEST(registry)
{
    struct pfs_device d, got;
    struct pfs_dev_state s;
    struct pf_error err = {0};
    enum pfs_dev_status status;
    struct audits a;

    up(_i);
    memset(&d, 0, sizeof(d));
    snprintf(d.serial, sizeof(d.serial), "T1");
    snprintf(d.model, sizeof(d.model), "PX-500");
    snprintf(d.hw_rev, sizeof(d.hw_rev), "B");
    ck_assert_int_eq(pfs_store_device_add(st, &d, &ops, 1000, &err), 0);
    ck_assert_int_eq(pfs_store_device_add(st, &d, &ops, 1001, &err), PF_EEXIST);
    ck_assert_int_eq(pfs_store_device_get(st, "T1", &got, &s), 0);
    ck_assert_str_eq(got.model, "PX-500");
    ck_assert_str_eq(got.hw_rev, "B");
    ck_assert_str_eq(got.merchant_id, "");
    ck_assert_int_eq(got.status, PFS_DEV_REGISTERED);
    ck_assert_int_eq(got.created_ms, 1000);
    ck_assert(!s.seen);
    ck_assert_int_eq(pfs_store_device_get(st, "T1", NULL, NULL), 0);
    ck_assert_int_eq(pfs_store_device_get(st, "NOPE", &got, NULL), PF_EUNKNOWN_SERIAL);
    ck_assert_int_eq(pfs_store_device_status(st, "T1", &status), 0);
    ck_assert_int_eq(status, PFS_DEV_REGISTERED);
    ck_assert_int_eq(pfs_store_device_status(st, "NOPE", &status), PF_EUNKNOWN_SERIAL);

    ck_assert_int_eq(pfs_store_device_revoke(st, "NOPE", &ops, 1100, &err), PF_EUNKNOWN_SERIAL);
    ck_assert_int_eq(pfs_store_device_revoke(st, "T1", &ops, 1100, &err), 0);
    ck_assert_int_eq(pfs_store_device_revoke(st, "T1", &ops, 1101, &err), PF_ESTATE);
    ck_assert_int_eq(pfs_store_device_get(st, "T1", &got, NULL), 0);
    ck_assert_int_eq(got.status, PFS_DEV_REVOKED);
    ck_assert_int_eq(got.revoked_ms, 1100);
    /* a revoked serial stays taken */
    ck_assert_int_eq(pfs_store_device_add(st, &d, &ops, 1200, &err), PF_EEXIST);
    /* audited, newest first, with before and after */
    a = audit_of("T1");
    ck_assert_int_eq(a.n, 2);
    ck_assert_str_eq(a.action[0], "device.revoke");
    ck_assert(a.before[0] && a.after[0]);
    ck_assert_str_eq(a.action[1], "device.add");
    ck_assert(!a.before[1] && a.after[1]);
    ck_assert_int_gt(a.id[0], a.id[1]);
    /* every backend writes the registry entry as record_json.h prints it */
    {
        char *text = pfs_rec_device_text(&got);

        ck_assert_str_eq(a.after_text[0], text);
        free(text);
        got.status = PFS_DEV_REGISTERED;
        text = pfs_rec_device_text(&got);
        ck_assert_str_eq(a.after_text[1], text);
        ck_assert_str_eq(text, "{\"hw_rev\":\"B\",\"merchant_id\":null,\"model\":\"PX-500\","
                               "\"serial\":\"T1\",\"status\":\"registered\"}");
        free(text);
    }
    /* keyset paging backwards */
    {
        struct audits older;

        memset(&older, 0, sizeof(older));
        ck_assert_int_eq(pfs_store_audit_list(st, NULL, a.id[0], 16, audits__cb, &older), 0);
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

START_TEST(import_all_or_nothing)
{
    static const char *const dup[] = {"I1", "I2", "I1", NULL};
    static const char *const ok[] = {"I1", "I2", "I3", NULL};
    struct import_src src = {dup, 0};
    struct pf_error err = {0};
    int64_t count = -1;

    up(_i);
    ck_assert_int_eq(pfs_store_device_import(st, import__next, &src, &ops, 1000, &count, &err),
                     PF_EEXIST);
    ck_assert_int_eq(count, 0);
    ck_assert_int_eq(pfs_store_device_get(st, "I2", NULL, NULL), PF_EUNKNOWN_SERIAL);
    ck_assert_int_eq(audit_of(NULL).n, 0);
    src.serials = ok;
    src.i = 0;
    ck_assert_int_eq(pfs_store_device_import(st, import__next, &src, &ops, 1000, &count, &err), 0);
    ck_assert_int_eq(count, 3);
    ck_assert_int_eq(pfs_store_device_get(st, "I3", NULL, NULL), 0);
    ck_assert_str_eq(audit_of("I2").action[0], "device.import");
    down();
}
END_TEST

static void crash__device_add(struct pfs_store *c)
{
    struct pfs_device d;
    struct pf_error err = {0};

    memset(&d, 0, sizeof(d));
    snprintf(d.serial, sizeof(d.serial), "C1");
    snprintf(d.model, sizeof(d.model), "PX-500");
    if (pfs_store_device_add(c, &d, &ops, 1000, &err) != 0)
        _exit(3);
}

/* An administrative change is durable when the call returns: a crash right
 * after does not lose it (nor its audit row). */
START_TEST(admin_change_survives_crash)
{
    up(_i);
    crash_after(crash__device_add);
    ck_assert_int_eq(pfs_store_device_get(st, "C1", NULL, NULL), 0);
    ck_assert_str_eq(audit_of("C1").action[0], "device.add");
    reopen();
    ck_assert_int_eq(pfs_store_device_get(st, "C1", NULL, NULL), 0);
    down();
}
END_TEST

/* --- store.h: ingest --- */

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

    up(_i);
    add("T1", "PX-500");
    ck_assert_int_eq(pfs_store_batch_pending(st), 0);
    put_health(st, "T1", 5, &newer);
    ck_assert(newer);
    put_health(st, "T1", 3, &newer); /* older: history only */
    ck_assert(!newer);
    put_health(st, "T1", 6, NULL);
    ck_assert_int_eq(pfs_store_batch_pending(st), 3);
    /* reads see the open batch; stored_ms is 0 until it commits */
    memset(&r, 0, sizeof(r));
    ck_assert_int_eq(pfs_store_health_recent(st, "T1", 10, rows__cb, &r), 0);
    ck_assert_int_eq(r.n, 3);
    ck_assert_int_eq(r.seq[0], 6);
    ck_assert_int_eq(r.stored[0], 0);
    ck_assert_int_eq(pfs_store_flush(st, 9000, &n), 0);
    ck_assert_int_eq(n, 3);
    ck_assert_int_eq(pfs_store_batch_pending(st), 0);
    ck_assert_int_eq(pfs_store_flush(st, 9100, &n), 0); /* nothing open: no-op */
    ck_assert_int_eq(n, 0);
    memset(&r, 0, sizeof(r));
    ck_assert_int_eq(pfs_store_health_recent(st, "T1", 2, rows__cb, &r), 0);
    ck_assert_int_eq(r.n, 2);
    ck_assert_int_eq(r.stored[0], 9000);
    ck_assert_int_eq(pfs_store_device_get(st, "T1", NULL, &s), 0);
    ck_assert(s.seen && s.online && s.have_health);
    ck_assert_int_eq(s.health.seq, 6);
    ck_assert_str_eq(s.fw_version, "1.0.0");
    ck_assert_int_eq(s.last_seen_ms, 2006);

    memset(&b, 0, sizeof(b));
    b.ts_ms = 3000;
    snprintf(b.model, sizeof(b.model), "PX-500");
    snprintf(b.fw_version, sizeof(b.fw_version), "2.0.0");
    snprintf(b.agent_version, sizeof(b.agent_version), "0.1");
    ck_assert_int_eq(pfs_store_birth_put(st, "T1", &b, 3000), 0);
    ck_assert_int_eq(pfs_store_device_get(st, "T1", NULL, &s), 0);
    ck_assert(s.have_birth);
    ck_assert_str_eq(s.fw_version, "2.0.0");
    ck_assert_int_eq(pfs_store_state_put(st, "T1", &off, 3100), 0);
    ck_assert_int_eq(pfs_store_device_get(st, "T1", NULL, &s), 0);
    ck_assert(!s.online);
    ck_assert_int_eq(s.last_seen_ms, 3100);
    ck_assert_int_eq(health_n("T1"), 3);
    down();
}
END_TEST

struct seen {
    int n;
    bool online;
    uint32_t seq;
};

static int seen__cb(void *ctx, const struct pfs_seen *s)
{
    struct seen *x = ctx;

    x->n++;
    x->online = s->online;
    x->seq = s->health_seq;
    return 0;
}

static void crash__unflushed(struct pfs_store *c)
{
    put_health(c, "T1", 1, NULL);
    put_health(c, "T1", 2, NULL);
}

static void crash__flushed(struct pfs_store *c)
{
    put_health(c, "T1", 3, NULL);
    if (pfs_store_flush(c, 5000, NULL) != 0)
        _exit(3);
    put_health(c, "T1", 4, NULL); /* a new batch, lost */
}

/* The batch is one transaction: a crash before flush loses all of it (the
 * latest state included), a flush makes it durable, and close flushes. */
START_TEST(ingest_crash_loses_batch_whole)
{
    struct pfs_dev_state s;
    struct seen x = {0};

    up(_i);
    add("T1", "PX-500");
    crash_after(crash__unflushed);
    ck_assert_int_eq(health_n("T1"), 0);
    ck_assert_int_eq(pfs_store_device_get(st, "T1", NULL, &s), 0);
    ck_assert(!s.seen);
    crash_after(crash__flushed);
    ck_assert_int_eq(health_n("T1"), 1);
    ck_assert_int_eq(pfs_store_device_get(st, "T1", NULL, &s), 0);
    ck_assert_int_eq(s.health.seq, 3);
    put_health(st, "T1", 7, NULL);
    reopen(); /* close commits the open batch */
    ck_assert_int_eq(health_n("T1"), 2);
    ck_assert_int_eq(pfs_store_seen_each(st, seen__cb, &x), 0);
    ck_assert_int_eq(x.n, 1);
    ck_assert(x.online);
    ck_assert_int_eq(x.seq, 7);
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
    int64_t alerts_battery, models_px, fw_1;
};

static int groups__cb(void *ctx, const char *group, const char *key, int64_t count)
{
    struct groups *g = ctx;

    if (strcmp(group, "alerts") == 0 && strcmp(key, "battery") == 0)
        g->alerts_battery = count;
    if (strcmp(group, "models") == 0 && strcmp(key, "PX-500") == 0)
        g->models_px = count;
    if (strcmp(group, "firmware") == 0 && strcmp(key, "1.0.0") == 0)
        g->fw_1 = count;
    return 0;
}

START_TEST(alerts_and_summary)
{
    struct alerts x;
    struct pfs_summary sum;
    struct groups g = {0};

    up(_i);
    add("T1", "PX-500");
    add("T2", "PX-500");
    add("T3", "QX-1");
    put_health(st, "T1", 1, NULL);
    ck_assert_int_eq(pfs_store_alert_open(st, "T1", "battery", 100, "12%"), 0);
    ck_assert_int_eq(pfs_store_alert_open(st, "T1", "battery", 101, "11%"), PF_EEXIST);
    ck_assert_int_eq(pfs_store_alert_open(st, "T2", "paper", 100, NULL), 0);
    memset(&x, 0, sizeof(x));
    ck_assert_int_eq(pfs_store_alerts_open(st, NULL, alerts__cb, &x), 0);
    ck_assert_int_eq(x.n, 2);
    memset(&x, 0, sizeof(x));
    ck_assert_int_eq(pfs_store_alerts_open(st, "T1", alerts__cb, &x), 0);
    ck_assert_int_eq(x.n, 1);
    ck_assert_str_eq(x.kind[0], "battery");
    ck_assert_int_eq(pfs_store_device_revoke(st, "T3", &ops, 200, NULL), 0);
    ck_assert_int_eq(pfs_store_summary(st, &sum, groups__cb, &g), 0);
    ck_assert_int_eq(sum.total, 3);
    ck_assert_int_eq(sum.revoked, 1);
    ck_assert_int_eq(sum.online, 1);
    ck_assert_int_eq(sum.never_seen, 1);
    ck_assert_int_eq(g.alerts_battery, 1);
    ck_assert_int_eq(g.models_px, 2);
    ck_assert_int_eq(g.fw_1, 1);
    ck_assert_int_eq(pfs_store_summary(st, &sum, NULL, NULL), 0);
    ck_assert_int_eq(pfs_store_alert_close(st, "T1", "battery", 300), 0);
    ck_assert_int_eq(pfs_store_alert_close(st, "T1", "battery", 301), PF_ENOENT);
    memset(&x, 0, sizeof(x));
    ck_assert_int_eq(pfs_store_alerts_open(st, "T1", alerts__cb, &x), 0);
    ck_assert_int_eq(x.n, 0);
    /* registering a serial closes its unknown_serial alert */
    ck_assert_int_eq(pfs_store_alert_open(st, "NEW", "unknown_serial", 400, NULL), 0);
    add("NEW", "PX-500");
    memset(&x, 0, sizeof(x));
    ck_assert_int_eq(pfs_store_alerts_open(st, "NEW", alerts__cb, &x), 0);
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
    ck_assert_int_eq(pfs_store_health_put(st, serial, &h, 2000 + seq, NULL), 0);
}

/* A terminal's pending fee table, from health and birth, and the fleet's tables by date. */
START_TEST(fee_tables_pending_and_by_date)
{
    struct pfs_dev_state s;
    struct fee_groups g;
    struct pf_birth b;

    up(_i);
    add("T1", "PX-500");
    add("T2", "PX-500");
    add("T3", "PX-500");
    add("T4", "PX-500");
    put_fees("T1", 1, "F1", "F2", 5000);
    put_fees("T2", 1, "F1", "F2", 5000);
    put_fees("T3", 1, "", "F3", 4000);
    put_fees("T4", 1, "F9", "F9", 9000);
    ck_assert_int_eq(pfs_store_device_revoke(st, "T4", &ops, 200, NULL), 0); /* not counted */
    ck_assert_int_eq(pfs_store_device_get(st, "T1", NULL, &s), 0);
    ck_assert_str_eq(s.fee_version, "F1");
    ck_assert_str_eq(s.fee_pending.version, "F2");
    ck_assert_int_eq(s.fee_pending.effective_at, 5000);
    memset(&g, 0, sizeof(g));
    ck_assert_int_eq(pfs_store_fee_tables(st, fee_groups__cb, &g), 0);
    ck_assert_int_eq(g.n, 3);
    ck_assert_str_eq(g.line[0], "F1 active 0 2");
    ck_assert_str_eq(g.line[1], "F3 pending 4000 1");
    ck_assert_str_eq(g.line[2], "F2 pending 5000 2");
    /* The table switched: the next report has it active and nothing pending. */
    put_fees("T1", 2, "F2", "", 0);
    ck_assert_int_eq(pfs_store_device_get(st, "T1", NULL, &s), 0);
    ck_assert_str_eq(s.fee_version, "F2");
    ck_assert_str_eq(s.fee_pending.version, "");
    ck_assert_int_eq(s.fee_pending.effective_at, 0);
    /* A birth carries it too. */
    memset(&b, 0, sizeof(b));
    b.ts_ms = 3000;
    snprintf(b.model, sizeof(b.model), "PX-500");
    snprintf(b.fw_version, sizeof(b.fw_version), "1.0.0");
    snprintf(b.agent_version, sizeof(b.agent_version), "0.1");
    snprintf(b.fee_version, sizeof(b.fee_version), "F2");
    snprintf(b.fee_pending.version, sizeof(b.fee_pending.version), "F3");
    b.fee_pending.effective_at = 4000;
    ck_assert_int_eq(pfs_store_birth_put(st, "T1", &b, 3000), 0);
    memset(&g, 0, sizeof(g));
    ck_assert_int_eq(pfs_store_fee_tables(st, fee_groups__cb, &g), 0);
    ck_assert_int_eq(g.n, 4);
    ck_assert_str_eq(g.line[0], "F1 active 0 1");
    ck_assert_str_eq(g.line[1], "F2 active 0 1");
    ck_assert_str_eq(g.line[2], "F3 pending 4000 2");
    ck_assert_str_eq(g.line[3], "F2 pending 5000 1");
    down();
}
END_TEST

START_TEST(prune_and_expire)
{
    int deleted = -1;

    up(_i);
    add("T1", "PX-500");
    for (uint32_t i = 1; i <= 10; i++)
        put_health(st, "T1", i, NULL);
    ck_assert_int_eq(pfs_store_health_prune(st, "T1", 4), 0);
    ck_assert_int_eq(health_n("T1"), 4);
    ck_assert_int_eq(pfs_store_flush(st, 100, NULL), 0);
    /* received at 2007..2010: before 2009 goes, at most 1 per call */
    ck_assert_int_eq(pfs_store_health_expire(st, 2009, 1, &deleted), 0);
    ck_assert_int_eq(deleted, 1);
    ck_assert_int_eq(pfs_store_health_expire(st, 2009, 100, &deleted), 0);
    ck_assert_int_eq(deleted, 1);
    ck_assert_int_eq(health_n("T1"), 2);
    down();
}
END_TEST

struct devs {
    int n;
    char serial[8][PF_SERIAL_MAX + 1];
};

static int devs__cb(void *ctx, const struct pfs_device *d, const struct pfs_dev_state *s,
                    const char *alerts_csv)
{
    struct devs *x = ctx;

    (void)s;
    (void)alerts_csv;
    if (x->n < 8)
        snprintf(x->serial[x->n], sizeof(x->serial[0]), "%s", d->serial);
    x->n++;
    return 0;
}

static struct devs list(const struct pfs_dev_filter *f, bool *more)
{
    struct devs x;

    memset(&x, 0, sizeof(x));
    ck_assert_int_eq(pfs_store_device_list(st, f, devs__cb, &x, more), 0);
    return x;
}

START_TEST(device_list_filters)
{
    struct pfs_dev_filter f = {.limit = 2};
    struct pf_state off = {PF_STATE_OFFLINE, 0};
    struct devs x;
    bool more = false;

    up(_i);
    add("A1", "PX-500");
    add("A2", "PX-500");
    add("A3", "QX-1");
    add("A4", "QX-1");
    put_health(st, "A1", 1, NULL);
    put_health(st, "A2", 1, NULL);
    ck_assert_int_eq(pfs_store_state_put(st, "A2", &off, 5000), 0);
    ck_assert_int_eq(pfs_store_alert_open(st, "A1", "paper", 1, NULL), 0);
    ck_assert_int_eq(pfs_store_device_revoke(st, "A4", &ops, 1, NULL), 0);
    x = list(&f, &more);
    ck_assert_int_eq(x.n, 2);
    ck_assert(more);
    ck_assert_str_eq(x.serial[1], "A2");
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

/* --- store.h: transactions --- */

START_TEST(transactions)
{
    struct pfs_tx *tx = NULL, *tx2 = NULL;
    struct pfs_device d;
    struct pf_error err = {0};

    up(_i);
    add("T1", "PX-500");
    put_health(st, "T1", 1, NULL);
    /* begin commits the open batch: it stays whatever the transaction does */
    ck_assert_int_eq(pfs_store_tx_begin(st, PFS_DURABILITY_FULL, 100, &tx, &err), 0);
    ck_assert_ptr_nonnull(tx);
    ck_assert_int_eq(pfs_store_batch_pending(st), 0);
    ck_assert_int_eq(pfs_store_tx_begin(st, PFS_DURABILITY_NORMAL, 100, &tx2, &err), PF_ESTATE);
    ck_assert_ptr_null(tx2);
    /* a call that is a transaction of its own refuses while one is open */
    memset(&d, 0, sizeof(d));
    snprintf(d.serial, sizeof(d.serial), "T2");
    snprintf(d.model, sizeof(d.model), "PX-500");
    ck_assert_int_eq(pfs_store_device_add(st, &d, &ops, 100, &err), PF_ESTATE);
    /* so do ingest writes */
    {
        struct pf_health h = health(9, 9);

        ck_assert_int_ne(pfs_store_health_put(st, "T1", &h, 9, NULL), 0);
        ck_assert_int_eq(pfs_store_batch_pending(st), 0);
    }
    pfs_store_tx_rollback(tx);
    pfs_store_tx_rollback(tx); /* closed: no-op */
    pfs_store_tx_rollback(NULL);
    ck_assert_int_eq(pfs_store_tx_commit(tx, &err), PF_ESTATE);
    ck_assert_int_eq(pfs_store_device_get(st, "T2", NULL, NULL), PF_EUNKNOWN_SERIAL);
    ck_assert_int_eq(health_n("T1"), 1);
    /* an empty transaction commits; the store is usable after */
    ck_assert_int_eq(pfs_store_tx_begin(st, PFS_DURABILITY_NORMAL, 100, &tx, &err), 0);
    ck_assert_int_eq(pfs_store_tx_commit(tx, &err), 0);
    ck_assert_int_eq(pfs_store_device_add(st, &d, &ops, 100, &err), 0);
    /* close with a transaction open rolls it back */
    ck_assert_int_eq(pfs_store_tx_begin(st, PFS_DURABILITY_FULL, 100, &tx, &err), 0);
    reopen();
    ck_assert_int_eq(pfs_store_tx_begin(st, PFS_DURABILITY_FULL, 100, &tx, &err), 0);
    pfs_store_tx_rollback(tx);
    reopen();
    ck_assert_int_eq(health_n("T1"), 1);
    down();
}
END_TEST

/* --- store_lifecycle.h: merchants --- */

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
    m.nfees = 1;
    snprintf(m.fee_plan[0], sizeof(m.fee_plan[0]), "fees-2027");
    m.status = PFS_MERCHANT_ACTIVE; /* ignored: a new merchant has applied */
    return m;
}

static int change__status(void *ctx, struct pfs_merchant *m, struct pf_error *err)
{
    (void)err;
    m->status = *(enum pfs_merchant_status *)ctx;
    return 0;
}

static int change__refuse(void *ctx, struct pfs_merchant *m, struct pf_error *err)
{
    (void)ctx;
    snprintf(m->name, sizeof(m->name), "changed");
    return pf_error_set(err, PF_EINVAL, "refused");
}

static void set_status(const char *id, enum pfs_merchant_status s)
{
    struct pf_error err = {0};

    ck_assert_msg(pfs_store_merchant_change(st, id, "test", change__status, &s, &ops, 500, NULL,
                                            &err) == 0,
                  "%s", err.msg);
}

START_TEST(merchants)
{
    struct pfs_merchant m = merchant("M1", "91110000000000001A"), got, out;
    struct pf_error err = {0};
    enum pfs_merchant_status approved = PFS_MERCHANT_APPROVED;
    int n = 0;
    bool more = false;

    up(_i);
    ck_assert_int_eq(pfs_store_merchant_add(st, &m, &ops, 100, &err), 0);
    ck_assert_int_eq(pfs_store_merchant_add(st, &m, &ops, 100, &err), PF_EEXIST);
    m = merchant("M2", "91110000000000001A");
    ck_assert_int_eq(pfs_store_merchant_add(st, &m, &ops, 100, &err), PF_EEXIST);
    ck_assert_ptr_nonnull(strstr(err.msg, "uscc"));
    m = merchant("M2", "91110000000000002B");
    ck_assert_int_eq(pfs_store_merchant_add(st, &m, &ops, 100, &err), 0);
    ck_assert_int_eq(pfs_store_merchant_get(st, "M1", &got), 0);
    ck_assert_int_eq(got.status, PFS_MERCHANT_APPLIED);
    ck_assert_str_eq(got.tz, "Asia/Shanghai");
    ck_assert_int_eq((int)got.nfees, 1);
    ck_assert_str_eq(got.fee_plan[0], "fees-2027");
    ck_assert_int_eq(got.created_ms, 100);
    ck_assert_int_eq(pfs_store_merchant_get(st, "NOPE", &got), PF_ENOENT);
    ck_assert_int_eq(pfs_store_merchant_change(st, "M1", "approve", change__status, &approved, &ops,
                                               200, &out, &err),
                     0);
    ck_assert_int_eq(out.status, PFS_MERCHANT_APPROVED);
    ck_assert_int_eq(out.updated_ms, 200);
    ck_assert_int_eq(pfs_store_merchant_change(st, "NOPE", "approve", change__status, &approved,
                                               &ops, 200, &out, &err),
                     PF_ENOENT);
    /* a refusal changes nothing and writes no audit row */
    ck_assert_int_eq(pfs_store_merchant_change(st, "M1", "rename", change__refuse, NULL, &ops, 300,
                                               NULL, &err),
                     PF_EINVAL);
    ck_assert_int_eq(pfs_store_merchant_get(st, "M1", &got), 0);
    ck_assert_str_eq(got.name, "Shop M1");
    ck_assert_str_eq(audit_of("M1").action[0], "merchant.approve");
    ck_assert_int_eq(
            pfs_store_merchant_list(st, PFS_MERCHANT_APPLIED, NULL, 10, count__merchant, &n, &more),
            0);
    ck_assert_int_eq(n, 1);
    n = 0;
    ck_assert_int_eq(pfs_store_merchant_list(st, -1, NULL, 1, count__merchant, &n, &more), 0);
    ck_assert_int_eq(n, 1);
    ck_assert(more);
    n = 0;
    ck_assert_int_eq(pfs_store_merchant_list(st, -1, "M1", 10, count__merchant, &n, &more), 0);
    ck_assert_int_eq(n, 1);
    ck_assert(!more);
    down();
}
END_TEST

/* A merchant given at registration is the terminal's binding, nothing else:
 * only an existing, active merchant; bound through the "bind" transition with
 * its audit row; unbinding clears it. */
START_TEST(registration_binds)
{
    struct pfs_merchant m = merchant("M1", "91110000000000001A");
    struct pfs_device d, got;
    struct pfs_term t;
    struct pf_error err = {0};
    enum pfs_merchant_status approved = PFS_MERCHANT_APPROVED;
    struct audits a;

    up(_i);
    ck_assert_int_eq(pfs_store_merchant_add(st, &m, &ops, 100, &err), 0);
    memset(&d, 0, sizeof(d));
    snprintf(d.serial, sizeof(d.serial), "T1");
    snprintf(d.model, sizeof(d.model), "PX-500");
    snprintf(d.merchant_id, sizeof(d.merchant_id), "M-NOPE");
    ck_assert_int_eq(pfs_store_device_add(st, &d, &ops, 1000, &err), PF_ENOENT);
    ck_assert_ptr_nonnull(strstr(err.msg, "M-NOPE"));
    ck_assert_int_eq(pfs_store_device_get(st, "T1", NULL, NULL), PF_EUNKNOWN_SERIAL);
    /* applied, then approved: not active, refused too */
    snprintf(d.merchant_id, sizeof(d.merchant_id), "M1");
    ck_assert_int_eq(pfs_store_device_add(st, &d, &ops, 1000, &err), PF_ESTATE);
    ck_assert_ptr_nonnull(strstr(err.msg, "M1"));
    set_status("M1", approved);
    ck_assert_int_eq(pfs_store_device_add(st, &d, &ops, 1000, &err), PF_ESTATE);
    ck_assert_int_eq(pfs_store_device_get(st, "T1", NULL, NULL), PF_EUNKNOWN_SERIAL);
    set_status("M1", PFS_MERCHANT_ACTIVE);
    ck_assert_msg(pfs_store_device_add(st, &d, &ops, 1000, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(pfs_store_device_get(st, "T1", &got, NULL), 0);
    ck_assert_str_eq(got.merchant_id, "M1");
    ck_assert_int_eq(pfs_store_term_get(st, "T1", &t), 0);
    ck_assert_int_eq(t.state, PFS_TERM_INSTALLED);
    ck_assert_str_eq(t.merchant_id, "M1");
    a = audit_of("T1");
    ck_assert_int_eq(a.n, 2);
    ck_assert_str_eq(a.action[0], "terminal.bind");
    ck_assert_str_eq(a.action[1], "device.add");
    /* unbinding clears the one merchant there is */
    ck_assert_int_eq(pfs_store_term_unbind(st, "T1", &ops, 2000, &err), 0);
    ck_assert_int_eq(pfs_store_device_get(st, "T1", &got, NULL), 0);
    ck_assert_str_eq(got.merchant_id, "");
    ck_assert_int_eq(pfs_store_term_bind(st, "T1", "M1", &ops, 3000, &err), 0);
    ck_assert_int_eq(pfs_store_device_get(st, "T1", &got, NULL), 0);
    ck_assert_str_eq(got.merchant_id, "M1");
    down();
}
END_TEST

/* An import row with a merchant binds like add; a row naming a merchant that
 * does not exist refuses the whole file. */
struct import_pairs {
    const char *const *rows; /* serial, merchant ("" none), ..., NULL */
    int i;
};

static int import__pairs_next(void *ctx, struct pfs_device *d, struct pf_error *err)
{
    struct import_pairs *x = ctx;

    (void)err;
    if (!x->rows[x->i])
        return 0;
    snprintf(d->serial, sizeof(d->serial), "%s", x->rows[x->i]);
    snprintf(d->merchant_id, sizeof(d->merchant_id), "%s", x->rows[x->i + 1]);
    snprintf(d->model, sizeof(d->model), "PX-500");
    x->i += 2;
    return 1;
}

START_TEST(import_binds)
{
    static const char *const bad[] = {"I1", "M1", "I2", "M-NOPE", NULL};
    static const char *const ok[] = {"I1", "M1", "I2", "", NULL};
    struct pfs_merchant m = merchant("M1", "91110000000000001A");
    struct import_pairs src = {bad, 0};
    struct pfs_device got;
    struct pf_error err = {0};
    int64_t count = -1;

    up(_i);
    ck_assert_int_eq(pfs_store_merchant_add(st, &m, &ops, 100, &err), 0);
    set_status("M1", PFS_MERCHANT_ACTIVE);
    ck_assert_int_eq(
            pfs_store_device_import(st, import__pairs_next, &src, &ops, 1000, &count, &err),
            PF_ENOENT);
    ck_assert_ptr_nonnull(strstr(err.msg, "M-NOPE"));
    ck_assert_int_eq(count, 0);
    ck_assert_int_eq(pfs_store_device_get(st, "I1", NULL, NULL), PF_EUNKNOWN_SERIAL);
    src.rows = ok;
    src.i = 0;
    ck_assert_int_eq(
            pfs_store_device_import(st, import__pairs_next, &src, &ops, 1000, &count, &err), 0);
    ck_assert_int_eq(count, 2);
    ck_assert_int_eq(pfs_store_device_get(st, "I1", &got, NULL), 0);
    ck_assert_str_eq(got.merchant_id, "M1");
    ck_assert_str_eq(audit_of("I1").action[0], "terminal.bind");
    ck_assert_int_eq(pfs_store_device_get(st, "I2", &got, NULL), 0);
    ck_assert_str_eq(got.merchant_id, "");
    down();
}
END_TEST

/* --- store_lifecycle.h: terminals --- */

static void bound_fleet(void)
{
    struct pfs_merchant m = merchant("M1", "91110000000000001A");
    struct pf_error err = {0};

    add("OLD", "PX-500");
    add("NEW", "PX-700");
    add("ALIEN", "QX-1");
    ck_assert_int_eq(pfs_store_merchant_add(st, &m, &ops, 100, &err), 0);
    set_status("M1", PFS_MERCHANT_APPROVED);
    ck_assert_msg(pfs_store_term_bind(st, "OLD", "M1", &ops, 1000, &err) == 0, "%s", err.msg);
}

START_TEST(terminals)
{
    struct pfs_term t;
    struct pfs_merchant m;
    struct pf_error err = {0};
    char mid[PFS_MERCHANT_ID_MAX + 1], tz[PFS_TZ_MAX + 1], fees[256];
    struct mterm_recs mt;
    struct term_rec v;
    char *unbound;
    struct audits a;
    bool changed = false;
    int n = 0;

    up(_i);
    add("T1", "PX-500");
    ck_assert_int_eq(pfs_store_term_get(st, "T1", &t), 0);
    ck_assert_int_eq(t.state, PFS_TERM_IN_STOCK);
    /* a registered terminal with no lifecycle row yet: in stock, all else absent */
    v = term_of("T1", 0);
    ck_assert_str_eq(v.serial, "T1");
    ck_assert_str_eq(v.model, "PX-500");
    ck_assert_str_eq(v.registry, "registered");
    ck_assert_int_eq(v.state, PFS_TERM_IN_STOCK);
    ck_assert_str_eq(v.merchant_id, REC_NULL);
    ck_assert_str_eq(v.fee_plan, REC_NULL);
    ck_assert_str_eq(v.tz, REC_NULL);
    ck_assert_str_eq(v.tags, "[]");
    ck_assert_str_eq(v.lock_cmd, REC_NULL);
    ck_assert_str_eq(v.provision, REC_NULL);
    ck_assert(v.bound_ms == PFS_VIEW_NULL && v.repair_id == PFS_VIEW_NULL &&
              v.updated_ms == PFS_VIEW_NULL);
    ck_assert(!v.lock_want);
    unbound = v.text; /* the terminal.bind row's before */
    ck_assert_int_eq(pfs_store_term_get(st, "NOPE", &t), PF_EUNKNOWN_SERIAL);
    ck_assert_int_eq(pfs_store_term_binding(st, "T1", mid, tz, fees, sizeof(fees)), 0);
    ck_assert_str_eq(mid, "");
    ck_assert_str_eq(fees, "[]");
    m = merchant("M1", "91110000000000001A");
    ck_assert_int_eq(pfs_store_merchant_add(st, &m, &ops, 100, &err), 0);
    /* an applied merchant gets no terminal; nothing changes */
    ck_assert_int_eq(pfs_store_term_bind(st, "T1", "M1", &ops, 1000, &err), PF_ESTATE);
    ck_assert_int_eq(pfs_store_term_bind(st, "T1", "NOPE", &ops, 1000, &err), PF_ENOENT);
    ck_assert_int_eq(pfs_store_term_get(st, "T1", &t), 0);
    ck_assert_int_eq(t.state, PFS_TERM_IN_STOCK);
    set_status("M1", PFS_MERCHANT_APPROVED);
    ck_assert_int_eq(pfs_store_term_bind(st, "T1", "M1", &ops, 1000, &err), 0);
    ck_assert_int_eq(pfs_store_term_bind(st, "T1", "M1", &ops, 1001, &err), PF_ESTATE);
    ck_assert_int_eq(pfs_store_merchant_get(st, "M1", &m), 0);
    ck_assert_int_eq(m.status, PFS_MERCHANT_ACTIVE); /* its first terminal */
    ck_assert_int_eq(pfs_store_term_get(st, "T1", &t), 0);
    ck_assert_int_eq(t.state, PFS_TERM_INSTALLED);
    ck_assert_str_eq(t.merchant_id, "M1");
    ck_assert_int_eq(pfs_store_term_binding(st, "T1", mid, tz, fees, sizeof(fees)), 0);
    ck_assert_str_eq(mid, "M1");
    ck_assert_str_eq(tz, "Asia/Shanghai");
    ck_assert_ptr_nonnull(strstr(fees, "fees-2027"));
    v = term_of("T1", 0);
    ck_assert_int_eq(v.state, PFS_TERM_INSTALLED);
    ck_assert_str_eq(v.registry, "registered");
    ck_assert_str_eq(v.merchant_id, "M1");
    ck_assert_str_eq(v.tz, "Asia/Shanghai");
    ck_assert_ptr_nonnull(strstr(v.fee_plan, "fees-2027"));
    ck_assert_str_eq(v.tags, "[]");
    ck_assert_int_eq(v.bound_ms, 1000);
    ck_assert_int_eq(v.updated_ms, 1000);
    ck_assert_int_eq(v.repair_id, PFS_VIEW_NULL);
    ck_assert_str_eq(v.provision, REC_NULL);
    /* the audit row keeps the view as record_json.h prints it, as the API shows it */
    a = audit_of("T1");
    ck_assert_str_eq(a.action[0], "terminal.bind");
    ck_assert_ptr_nonnull(v.text);
    ck_assert_ptr_nonnull(unbound);
    ck_assert_str_eq(a.before_text[0], unbound);
    ck_assert_str_eq(a.after_text[0], v.text);
    free(unbound);
    free(v.text);
    memset(&mt, 0, sizeof(mt));
    ck_assert_int_eq(pfs_store_merchant_terminals(st, "M1", mterm__cb, &mt), 0);
    ck_assert_int_eq(mt.n, 1);
    ck_assert_str_eq(mt.t[0].serial, "T1");
    ck_assert_str_eq(mt.t[0].model, "PX-500");
    ck_assert_str_eq(mt.t[0].state, "installed");
    ck_assert_int_eq(mt.t[0].bound_ms, 1000);
    ck_assert(!mt.t[0].locked);
    memset(&mt, 0, sizeof(mt));
    ck_assert_int_eq(pfs_store_merchant_terminals(st, "NOPE", mterm__cb, &mt), 0);
    ck_assert_int_eq(mt.n, 0);
    /* a callback's non-zero return stops the read and is returned */
    n = 0;
    ck_assert_int_eq(pfs_store_merchant_terminals(st, "M1", stop__mterm, &n), 7);
    ck_assert_int_eq(n, 1);
    n = 0;
    ck_assert_int_eq(pfs_store_term_view(st, "T1", stop__term, &n), 7);
    ck_assert_int_eq(n, 1);
    n = 0;
    ck_assert_int_eq(pfs_store_term_installed_each(st, count__serial, &n), 0);
    ck_assert_int_eq(n, 1);
    /* a merchant with a bound terminal cannot close */
    {
        enum pfs_merchant_status closed = PFS_MERCHANT_CLOSED;

        ck_assert_int_eq(pfs_store_merchant_change(st, "M1", "close", change__status, &closed, &ops,
                                                   1100, NULL, &err),
                         PF_ESTATE);
    }
    ck_assert_int_eq(pfs_store_term_activate(st, "T1", 1200, &changed), 0);
    ck_assert(changed);
    ck_assert_int_eq(pfs_store_term_activate(st, "T1", 1201, &changed), 0);
    ck_assert(!changed);
    ck_assert_int_eq(pfs_store_term_tags(st, "T1", "[\"north\"]", &ops, 1300, &err), 0);
    v = term_of("T1", 0);
    ck_assert_str_eq(v.tags, "[\"north\"]");
    ck_assert_int_eq(v.state, PFS_TERM_ACTIVE);
    ck_assert_int_eq(v.updated_ms, 1300);
    free(v.text);
    ck_assert_int_eq(pfs_store_term_retire(st, "T1", &ops, 1400, &err), PF_ESTATE);
    ck_assert_int_eq(pfs_store_term_unbind(st, "T1", &ops, 1500, &err), 0);
    ck_assert_int_eq(pfs_store_term_unbind(st, "T1", &ops, 1501, &err), PF_ESTATE);
    ck_assert_int_eq(pfs_store_term_binding(st, "T1", mid, tz, fees, sizeof(fees)), 0);
    ck_assert_str_eq(mid, "");
    ck_assert_int_eq(pfs_store_term_retire(st, "T1", &ops, 1600, &err), 0);
    ck_assert_int_eq(pfs_store_term_get(st, "T1", &t), 0);
    ck_assert_int_eq(t.state, PFS_TERM_RETIRED);
    ck_assert(t.revoked);
    ck_assert_int_eq(pfs_store_term_tags(st, "T1", "[]", &ops, 1700, &err), PF_ESTATE);
    v = term_of("T1", 0);
    ck_assert_int_eq(v.state, PFS_TERM_RETIRED);
    ck_assert_str_eq(v.registry, "revoked");
    ck_assert_str_eq(v.merchant_id, REC_NULL);
    ck_assert_str_eq(v.fee_plan, REC_NULL);
    free(v.text);
    v = term_of("NOPE", PF_EUNKNOWN_SERIAL);
    free(v.text);
    down();
}
END_TEST

struct hook {
    int calls;
    int rc;
    enum pfs_term_state old_state_seen;
};

static int hook__swap(void *ctx, struct pfs_tx *tx, const char *old_serial, const char *new_serial,
                      struct pf_error *err)
{
    struct hook *h = ctx;
    struct pfs_term t;

    ck_assert_ptr_nonnull(tx);
    ck_assert_str_eq(old_serial, "OLD");
    ck_assert_str_eq(new_serial, "NEW");
    h->calls++;
    /* reads see the open transaction */
    ck_assert_int_eq(pfs_store_term_get(st, "OLD", &t), 0);
    h->old_state_seen = t.state;
    return h->rc ? pf_error_set(err, h->rc, "hook refused") : 0;
}

static int history__cb(void *ctx, const struct pfs_audit *a)
{
    (void)a;
    (*(int *)ctx)++;
    return 0;
}

START_TEST(swap)
{
    struct hook h = {0, PF_EIO, 0};
    struct pfs_term t;
    struct pf_error err = {0};
    int64_t rid = -1;
    int n_audit = 0, n_repairs = 0;
    struct term_rec ov, nv, ov0, nv0;
    struct repair_rec r;
    struct event_recs ev;
    struct audits a;

    up(_i);
    bound_fleet();
    n_audit = audit_of(NULL).n;
    /* the hook refuses: the whole swap is rolled back */
    ck_assert_int_eq(
            pfs_store_term_swap(st, "OLD", "NEW", "broken", hook__swap, &h, &sup, 2000, &rid, &err),
            PF_EIO);
    ck_assert_int_eq(h.calls, 1);
    ck_assert_int_eq(h.old_state_seen, PFS_TERM_IN_REPAIR);
    ck_assert_int_eq(rid, 0);
    ck_assert_int_eq(pfs_store_term_get(st, "OLD", &t), 0);
    ck_assert_int_eq(t.state, PFS_TERM_INSTALLED);
    ck_assert_str_eq(t.merchant_id, "M1");
    ck_assert_int_eq(pfs_store_term_get(st, "NEW", &t), 0);
    ck_assert_int_eq(t.state, PFS_TERM_IN_STOCK);
    ck_assert_int_eq(audit_of(NULL).n, n_audit);
    ck_assert_int_eq(pfs_store_repair_list(st, "OLD", -1, 10, count__repair, &n_repairs), 0);
    ck_assert_int_eq(n_repairs, 0);
    /* refusals: same terminal, another model family */
    ck_assert_int_eq(pfs_store_term_swap(st, "OLD", "OLD", "x", NULL, NULL, &sup, 2100, &rid, &err),
                     PF_EINVAL);
    ck_assert_int_eq(
            pfs_store_term_swap(st, "OLD", "ALIEN", "x", NULL, NULL, &sup, 2100, &rid, &err),
            PF_ESTATE);
    /* the swap */
    ov0 = term_of("OLD", 0);
    nv0 = term_of("NEW", 0);
    h.rc = 0;
    ck_assert_int_eq(
            pfs_store_term_swap(st, "OLD", "NEW", "broken", hook__swap, &h, &sup, 3000, &rid, &err),
            0);
    ck_assert_int_gt(rid, 0);
    ck_assert_int_eq(pfs_store_term_get(st, "OLD", &t), 0);
    ck_assert_int_eq(t.state, PFS_TERM_IN_REPAIR);
    ck_assert_str_eq(t.merchant_id, "");
    ck_assert_int_eq(pfs_store_term_get(st, "NEW", &t), 0);
    ck_assert_int_eq(t.state, PFS_TERM_INSTALLED);
    ck_assert_str_eq(t.merchant_id, "M1");
    /* the records: OLD in repair and unbound, NEW bound with OLD's configuration */
    ov = term_of("OLD", 0);
    nv = term_of("NEW", 0);
    ck_assert_int_eq(ov.state, PFS_TERM_IN_REPAIR);
    ck_assert_str_eq(ov.merchant_id, REC_NULL);
    ck_assert_int_eq(ov.repair_id, rid);
    ck_assert_int_eq(nv.state, PFS_TERM_INSTALLED);
    ck_assert_str_eq(nv.merchant_id, "M1");
    ck_assert_str_eq(nv.tz, "Asia/Shanghai");
    ck_assert_ptr_nonnull(strstr(nv.fee_plan, "fees-2027"));
    ck_assert_int_eq(nv.bound_ms, 3000);
    ck_assert_int_eq(nv.repair_id, PFS_VIEW_NULL);
    ck_assert_str_eq(nv.provision, "{\"from\":\"OLD\",\"fee_plan\":"
                                   "[\"fees-2027\"],\"reason\":\"swap\",\"since_ms\":3000}");
    r = repair_of(rid, 0);
    ck_assert_int_eq(r.id, rid);
    ck_assert_str_eq(r.serial, "OLD");
    ck_assert_str_eq(r.state, "open");
    ck_assert_str_eq(r.source, "swap");
    ck_assert_str_eq(r.reason, "broken");
    ck_assert_str_eq(r.merchant_id, "M1");
    ck_assert_str_eq(r.replaced_by, "NEW");
    ck_assert_str_eq(r.fault_codes, "[]");
    ck_assert_str_eq(r.notes, "");
    ck_assert_int_eq(r.opened_ms, 3000);
    ck_assert_int_eq(r.updated_ms, 3000);
    ck_assert(r.received_ms == PFS_VIEW_NULL && r.closed_ms == PFS_VIEW_NULL);
    /* the swap's audit row holds exactly the records read back, as record_json.h prints them */
    a = audit_of("OLD");
    ck_assert_str_eq(a.action[0], "terminal.swap");
    {
        char *before = pfs_rec_swap_before_text(ov0.text, nv0.text);
        char *after = pfs_rec_swap_after_text(ov.text, nv.text, r.text, "broken");

        ck_assert_ptr_nonnull(before);
        ck_assert_ptr_nonnull(after);
        ck_assert_str_eq(a.before_text[0], before);
        ck_assert_str_eq(a.after_text[0], after);
        free(before);
        free(after);
    }
    free(ov0.text);
    free(nv0.text);
    free(ov.text);
    free(nv.text);
    free(r.text);
    /* the history lines of both terminals */
    ev = events_of_term("OLD", 10);
    ck_assert_int_eq(ev.n, 2);
    ck_assert_str_eq(ev.e[0].kind, "bind");
    ck_assert_str_eq(ev.e[1].kind, "swap_out");
    ck_assert_int_gt(ev.e[1].id, ev.e[0].id);
    ck_assert_int_eq(ev.e[1].ts_ms, 3000);
    ck_assert_str_eq(ev.e[1].from, "installed");
    ck_assert_str_eq(ev.e[1].to, "in_repair");
    ck_assert_str_eq(ev.e[1].merchant_id, "M1");
    ck_assert_str_eq(ev.e[1].other, "NEW");
    ck_assert_int_eq(ev.e[1].repair_id, rid);
    ck_assert_str_eq(ev.e[1].actor, "sam");
    ck_assert_str_eq(ev.e[1].detail, "broken");
    ev = events_of_term("NEW", 10);
    ck_assert_int_eq(ev.n, 1);
    ck_assert_str_eq(ev.e[0].kind, "swap_in");
    ck_assert_str_eq(ev.e[0].from, "in_stock");
    ck_assert_str_eq(ev.e[0].to, "installed");
    ck_assert_str_eq(ev.e[0].other, "OLD");
    ck_assert_int_eq(ev.e[0].repair_id, PFS_VIEW_NULL);
    /* found by either terminal and by the merchant */
    n_audit = 0;
    ck_assert_int_eq(pfs_store_audit_query(st, "NEW", NULL, 0, 0, 10, history__cb, &n_audit), 0);
    ck_assert_int_eq(n_audit, 2); /* device.add, terminal.swap */
    n_audit = 0;
    ck_assert_int_eq(pfs_store_audit_query(st, "NEW", NULL, 2500, 0, 10, history__cb, &n_audit), 0);
    ck_assert_int_eq(n_audit, 1);
    n_audit = 0;
    ck_assert_int_eq(pfs_store_audit_query(st, NULL, "M1", 2500, 0, 10, history__cb, &n_audit), 0);
    ck_assert_int_eq(n_audit, 1);
    reopen();
    ck_assert_int_eq(pfs_store_term_get(st, "NEW", &t), 0);
    ck_assert_int_eq(t.state, PFS_TERM_INSTALLED);
    down();
}
END_TEST

struct pending {
    int n;
    char cmd[64];
    bool lock;
};

static int pending__cb(void *ctx, const struct pfs_lock_pending *p)
{
    struct pending *x = ctx;

    x->n++;
    snprintf(x->cmd, sizeof(x->cmd), "%s", p->cmd_id);
    x->lock = p->lock;
    return 0;
}

START_TEST(tamper_lock_and_repair)
{
    struct pfs_repair_change back = {PFS_REPAIR_RETURNED, NULL, NULL, "fixed", "cmd-2"};
    struct pending p = {0};
    struct pfs_term t;
    struct pf_error err = {0};
    char serial[PF_SERIAL_MAX + 1] = "";
    bool changed = false, matched = true, unlock = false;
    int n = 0;

    up(_i);
    bound_fleet();
    ck_assert_int_eq(pfs_store_term_tamper(st, "OLD", "cmd-1", 2000, &changed, &err), 0);
    ck_assert(changed);
    ck_assert_int_eq(pfs_store_term_tamper(st, "OLD", "cmd-9", 2001, &changed, &err), 0);
    ck_assert(!changed);
    ck_assert_int_eq(pfs_store_term_get(st, "OLD", &t), 0);
    ck_assert_int_eq(t.state, PFS_TERM_LOCKED);
    ck_assert(t.lock_want && !t.lock_acked);
    {
        struct term_rec v = term_of("OLD", 0);
        struct repair_rec r;

        ck_assert_int_eq(v.state, PFS_TERM_LOCKED);
        ck_assert(v.lock_want && !v.lock_acked);
        ck_assert_str_eq(v.lock_cmd, "cmd-1");
        ck_assert_str_eq(v.lock_reason, "tamper");
        ck_assert_int_eq(v.repair_id, 1);
        free(v.text);
        r = repair_of(1, 0);
        ck_assert_str_eq(r.source, "tamper");
        ck_assert_str_eq(r.state, "open");
        ck_assert_str_eq(r.fault_codes, "[\"TAMPER\"]");
        ck_assert_str_eq(r.merchant_id, "M1");
        ck_assert_str_eq(r.replaced_by, REC_NULL);
        ck_assert_str_eq(r.parts, "[]");
        ck_assert_str_eq(r.snapshot,
                         "{\"taken_ms\":2000,\"health\":null,\"alerts\":[],\"diagnostics\":[]}");
        free(r.text);
    }
    ck_assert_int_eq(pfs_store_lock_pending_each(st, pending__cb, &p), 0);
    ck_assert_int_eq(p.n, 1);
    ck_assert_str_eq(p.cmd, "cmd-1");
    ck_assert(p.lock);
    ck_assert_int_eq(pfs_store_term_lock_report(st, "OLD", "cmd-x", true, 2100, &matched), 0);
    ck_assert(!matched);
    ck_assert_int_eq(pfs_store_term_lock_report(st, "OLD", "cmd-1", true, 2100, &matched), 0);
    ck_assert(matched);
    {
        struct term_rec v = term_of("OLD", 0);

        ck_assert(v.lock_want && v.lock_acked);
        free(v.text);
    }
    p.n = 0;
    ck_assert_int_eq(pfs_store_lock_pending_each(st, pending__cb, &p), 0);
    ck_assert_int_eq(p.n, 0);
    /* posfleetd opened the repair; closing it returns the terminal and unlocks it */
    ck_assert_int_eq(pfs_store_repair_list(st, "OLD", -2, 10, count__repair, &n), 0);
    ck_assert_int_eq(n, 1);
    ck_assert_int_eq(pfs_store_repair_change(st, 1, &back, &sup, 3000, &unlock, serial, &err), 0);
    ck_assert(unlock);
    ck_assert_str_eq(serial, "OLD");
    ck_assert_int_eq(pfs_store_term_get(st, "OLD", &t), 0);
    ck_assert_int_eq(t.state, PFS_TERM_IN_STOCK);
    ck_assert_str_eq(t.merchant_id, "");
    p.n = 0;
    ck_assert_int_eq(pfs_store_lock_pending_each(st, pending__cb, &p), 0);
    ck_assert_int_eq(p.n, 1);
    ck_assert(!p.lock);
    ck_assert_str_eq(p.cmd, "cmd-2");
    ck_assert_int_eq(pfs_store_repair_change(st, 1, &back, &sup, 3001, &unlock, NULL, &err),
                     PF_ESTATE);
    n = 0;
    ck_assert_int_eq(pfs_store_repair_list(st, NULL, -2, 10, count__repair, &n), 0);
    ck_assert_int_eq(n, 0);
    down();
}
END_TEST

START_TEST(repairs)
{
    struct pfs_repair_change to_diag = {PFS_REPAIR_DIAGNOSED, "[\"PRINTER\"]", NULL, "jam", NULL};
    struct pfs_repair_change back = {PFS_REPAIR_RECEIVED, NULL, NULL, NULL, NULL};
    struct pfs_repair_change scrap = {PFS_REPAIR_SCRAPPED, NULL, NULL, NULL, NULL};
    struct pfs_repair_change notes = {-1, NULL, "[\"roller\"]", "ordered", NULL};
    struct pfs_term t;
    struct pf_error err = {0};
    enum pfs_dev_status status;
    int64_t id = 0, other = 0;
    bool unlock = true;
    struct repair_recs list;
    struct repair_rec r;
    struct event_recs ev;
    struct audits a;
    int n = 0;

    up(_i);
    add("T1", "PX-500");
    ck_assert_int_eq(
            pfs_store_repair_open(st, "T1", "printer", "[\"PRINTER\"]", &sup, 100, &id, &err), 0);
    ck_assert_int_gt(id, 0);
    ck_assert_int_eq(pfs_store_repair_open(st, "T1", "again", NULL, &sup, 101, &other, &err),
                     PF_EEXIST);
    ck_assert_int_eq(pfs_store_term_get(st, "T1", &t), 0);
    ck_assert_int_eq(t.state, PFS_TERM_IN_REPAIR);
    ck_assert_int_eq(pfs_store_repair_change(st, id, &to_diag, &sup, 200, &unlock, NULL, &err), 0);
    ck_assert(!unlock);
    ck_assert_int_eq(pfs_store_repair_change(st, id, &back, &sup, 300, &unlock, NULL, &err),
                     PF_ESTATE);
    ck_assert_int_eq(pfs_store_repair_change(st, id, &notes, &sup, 310, &unlock, NULL, &err), 0);
    ck_assert_int_eq(pfs_store_repair_change(st, 999, &notes, &sup, 310, &unlock, NULL, &err),
                     PF_ENOENT);
    r = repair_of(id, 0);
    ck_assert_int_eq(r.id, id);
    ck_assert_str_eq(r.serial, "T1");
    ck_assert_str_eq(r.state, "diagnosed");
    ck_assert_str_eq(r.source, "support");
    ck_assert_str_eq(r.reason, "printer");
    ck_assert_str_eq(r.merchant_id, REC_NULL);
    ck_assert_str_eq(r.fault_codes, "[\"PRINTER\"]");
    ck_assert_str_eq(r.parts, "[\"roller\"]");
    ck_assert_str_eq(r.notes, "jam\nordered");
    ck_assert_str_eq(r.snapshot,
                     "{\"taken_ms\":100,\"health\":null,\"alerts\":[],\"diagnostics\":[]}");
    ck_assert_int_eq(r.opened_ms, 100);
    ck_assert_int_eq(r.received_ms, PFS_VIEW_NULL);
    ck_assert_int_eq(r.diagnosed_ms, 200);
    ck_assert_int_eq(r.repaired_ms, PFS_VIEW_NULL);
    ck_assert_int_eq(r.closed_ms, PFS_VIEW_NULL);
    ck_assert_int_eq(r.updated_ms, 310);
    /* the audit row keeps the record as record_json.h prints it */
    a = audit_of("T1");
    ck_assert_str_eq(a.action[0], "repair.update");
    ck_assert_str_eq(a.after_text[0], r.text);
    free(r.text);
    r = repair_of(999, PF_ENOENT);
    free(r.text);
    ck_assert_int_eq(pfs_store_repair_list(st, NULL, PFS_REPAIR_DIAGNOSED, 10, count__repair, &n),
                     0);
    ck_assert_int_eq(n, 1);
    n = 0;
    ck_assert_int_eq(pfs_store_repair_list(st, NULL, PFS_REPAIR_REPAIRED, 10, count__repair, &n),
                     0);
    ck_assert_int_eq(n, 0);
    n = 0;
    ck_assert_int_eq(pfs_store_repair_view(st, id, stop__repair, &n), 7);
    ck_assert_int_eq(n, 1);
    ck_assert_int_eq(pfs_store_repair_change(st, id, &scrap, &sup, 400, &unlock, NULL, &err), 0);
    ck_assert_int_eq(pfs_store_term_get(st, "T1", &t), 0);
    ck_assert_int_eq(t.state, PFS_TERM_RETIRED);
    ck_assert_int_eq(pfs_store_device_status(st, "T1", &status), 0);
    ck_assert_int_eq(status, PFS_DEV_REVOKED);
    /* a second repair after the first closed: lists are newest first */
    ck_assert_int_eq(pfs_store_repair_open(st, "T1", "again", NULL, &sup, 500, &other, &err),
                     PF_ESTATE); /* retired */
    add("T2", "PX-500");
    ck_assert_int_eq(pfs_store_repair_open(st, "T2", "screen", NULL, &sup, 600, &other, &err), 0);
    memset(&list, 0, sizeof(list));
    ck_assert_int_eq(pfs_store_repair_list(st, NULL, -1, 10, repair__cb, &list), 0);
    ck_assert_int_eq(list.n, 2);
    ck_assert_int_eq(list.r[0].id, other);
    ck_assert_str_eq(list.r[0].serial, "T2");
    ck_assert_str_eq(list.r[0].fault_codes, "[]");
    ck_assert_int_eq(list.r[1].id, id);
    ck_assert_str_eq(list.r[1].state, "scrapped");
    ck_assert_int_eq(list.r[1].closed_ms, 400);
    repairs__free(&list);
    memset(&list, 0, sizeof(list));
    ck_assert_int_eq(pfs_store_repair_list(st, NULL, -2, 10, repair__cb, &list), 0);
    ck_assert_int_eq(list.n, 1);
    ck_assert_int_eq(list.r[0].id, other);
    repairs__free(&list);
    memset(&list, 0, sizeof(list));
    ck_assert_int_eq(pfs_store_repair_list(st, "T1", -1, 1, repair__cb, &list), 0);
    ck_assert_int_eq(list.n, 1);
    ck_assert_int_eq(list.r[0].id, id);
    repairs__free(&list);
    n = 0;
    ck_assert_int_eq(pfs_store_repair_list(st, NULL, -1, 10, stop__repair, &n), 7);
    ck_assert_int_eq(n, 1);
    /* T1's history lines: the newest limit, oldest first */
    ev = events_of_term("T1", 20);
    ck_assert_int_eq(ev.n, 4);
    ck_assert_str_eq(ev.e[0].kind, "repair_open");
    ck_assert_str_eq(ev.e[0].from, "in_stock");
    ck_assert_str_eq(ev.e[0].to, "in_repair");
    ck_assert_int_eq(ev.e[0].repair_id, id);
    ck_assert_int_eq(ev.e[0].ts_ms, 100);
    ck_assert_str_eq(ev.e[0].actor, "sam");
    ck_assert_str_eq(ev.e[0].detail, "printer");
    ck_assert_str_eq(ev.e[0].merchant_id, REC_NULL);
    ck_assert_str_eq(ev.e[0].other, REC_NULL);
    ck_assert_str_eq(ev.e[1].kind, "repair_receive");
    ck_assert_str_eq(ev.e[1].from, "in_repair");
    ck_assert_str_eq(ev.e[1].detail, "diagnosed");
    ck_assert_str_eq(ev.e[2].kind, "repair_update");
    ck_assert_str_eq(ev.e[2].from, REC_NULL);
    ck_assert_str_eq(ev.e[2].to, REC_NULL);
    ck_assert_str_eq(ev.e[3].kind, "repair_scrap");
    ck_assert_str_eq(ev.e[3].to, "retired");
    ev = events_of_term("T1", 2);
    ck_assert_int_eq(ev.n, 2);
    ck_assert_str_eq(ev.e[0].kind, "repair_update");
    ck_assert_str_eq(ev.e[1].kind, "repair_scrap");
    ev = events_of_term("NOPE", 20);
    ck_assert_int_eq(ev.n, 0);
    n = 0;
    ck_assert_int_eq(pfs_store_term_events(st, "T1", 20, stop__event, &n), 7);
    ck_assert_int_eq(n, 1);
    down();
}
END_TEST

/* --- store_updates.h --- */

static struct pfs_bundle_rec bundle(const char *id)
{
    struct pfs_bundle_rec b;

    memset(&b, 0, sizeof(b));
    snprintf(b.id, sizeof(b.id), "%s", id);
    b.kind = PF_KIND_FIRMWARE;
    snprintf(b.version, sizeof(b.version), "2.0.0");
    snprintf(b.models, sizeof(b.models), "PX-500");
    b.size = 1234;
    snprintf(b.manifest, sizeof(b.manifest), "%064d", 7);
    b.created_s = 10;
    b.expires_s = 1000000;
    b.uploaded_ms = 100; /* the caller's upload time, kept as given */
    return b;
}

static struct pf_update_event event(const char *id, const char *offer, enum pf_update_status s)
{
    struct pf_update_event e;

    memset(&e, 0, sizeof(e));
    snprintf(e.id, sizeof(e.id), "%s", id);
    snprintf(e.offer, sizeof(e.offer), "%s", offer);
    e.kind = PF_KIND_FIRMWARE;
    snprintf(e.version, sizeof(e.version), "2.0.0");
    e.status = s;
    e.ts_ms = 5000;
    if (s == PF_UPD_FAILED)
        snprintf(e.code, sizeof(e.code), "DIGEST");
    return e;
}

static int64_t events_of(const char *serial, const char *id)
{
    int64_t n = -1;

    ck_assert_int_eq(pfs_store_update_event_count(st, serial, id, &n), 0);
    return n;
}

static void crash__event(struct pfs_store *c)
{
    struct pf_update_event e = event("e-crash", "o1", PF_UPD_DOWNLOADING);
    bool recorded = false;

    e.percent = 50;
    if (pfs_store_update_event_put(c, "T1", &e, 6000, &recorded) != 0 || !recorded)
        _exit(3);
}

struct kinds {
    int64_t failed;
};

static int counts__cb(void *ctx, const char *key, int64_t n)
{
    struct kinds *k = ctx;

    if (strcmp(key, "failed") == 0)
        k->failed = n;
    return 0;
}

START_TEST(updates)
{
    char id[PF_B2_HEX_LEN + 1];
    struct pfs_bundle_rec b, got;
    struct pfs_offer_rec o;
    struct pfs_update_rec cur;
    struct pf_update_event e;
    struct pf_error err = {0};
    struct kinds k = {0};
    bool created = false, recorded = false;
    char *body = NULL;
    int n = 0, before;

    up(_i);
    add("T1", "PX-500");
    snprintf(id, sizeof(id), "%064d", 1);
    b = bundle(id);
    ck_assert_int_eq(pfs_store_bundle_put(st, &b, &ops, 100, &created, &err), 0);
    ck_assert(created);
    before = audit_of(NULL).n;
    ck_assert_int_eq(pfs_store_bundle_put(st, &b, &ops, 101, &created, &err), 0);
    ck_assert(!created);
    ck_assert_int_eq(audit_of(NULL).n, before);
    ck_assert_int_eq(pfs_store_bundle_get(st, id, &got), 0);
    ck_assert_str_eq(got.version, "2.0.0");
    ck_assert_str_eq(got.models, "PX-500");
    ck_assert_int_eq((int)got.size, 1234);
    ck_assert_int_eq(got.uploaded_ms, 100);
    ck_assert_int_eq(pfs_store_bundle_get(st, "nope", &got), PF_ENOENT);
    ck_assert_int_eq(pfs_store_bundle_list(st, 10, count__bundle, &n), 0);
    ck_assert_int_eq(n, 1);

    memset(&o, 0, sizeof(o));
    snprintf(o.id, sizeof(o.id), "o1");
    snprintf(o.serial, sizeof(o.serial), "T1");
    snprintf(o.bundle, sizeof(o.bundle), "%s", id);
    o.created_ms = 1000;
    o.deadline_ms = 9000;
    ck_assert_int_eq(pfs_store_offer_put(st, &o, &b, "{\"offer\":1}", &ops, &err), 0);
    ck_assert_int_eq(pfs_store_offer_put(st, &o, &b, "{\"offer\":1}", &ops, &err), PF_EEXIST);
    ck_assert_str_eq(audit_of("T1").action[0], "device.update");
    /* both audit rows as record_json.h prints them */
    {
        struct audits au = audit_of(id);
        char *text = pfs_rec_bundle_text(&b);

        ck_assert_str_eq(au.action[0], "bundle.upload");
        ck_assert_str_eq(au.after_text[0], text);
        ck_assert_str_eq(text, "{\"kind\":\"firmware\",\"models\":\"PX-500\",\"size\":1234,"
                               "\"version\":\"2.0.0\"}");
        free(text);
        au = audit_of("T1");
        text = pfs_rec_offer_text(&o, &b);
        ck_assert_str_eq(au.after_text[0], text);
        ck_assert_ptr_nonnull(strstr(text, "\"offer\":\"o1\""));
        ck_assert_ptr_nonnull(strstr(text, "\"deadline_ms\":9000"));
        free(text);
    }
    ck_assert_int_eq(pfs_store_offer_pending(st, "T1", 2000, &body), 0);
    ck_assert_str_eq(body, "{\"offer\":1}");
    free(body);
    ck_assert_int_eq(pfs_store_offer_pending(st, "T1", 9001, &body), PF_ENOENT);
    ck_assert_int_eq(pfs_store_update_current(st, "T1", &cur), 0);
    ck_assert_str_eq(cur.status, "offered");
    ck_assert_int_eq(pfs_store_update_current(st, "NOPE", &cur), PF_ENOENT);
    /* once the terminal answered (any event, not only a final one) the offer is not
     * pending any more: the terminal holds it and resends its own events */
    {
        struct pfs_offer_rec o2 = o;

        add("T2", "PX-500");
        snprintf(o2.id, sizeof(o2.id), "o2");
        snprintf(o2.serial, sizeof(o2.serial), "T2");
        ck_assert_int_eq(pfs_store_offer_put(st, &o2, &b, "{\"offer\":2}", &ops, &err), 0);
        ck_assert_int_eq(pfs_store_offer_pending(st, "T2", 2000, &body), 0);
        free(body);
        e = event("e0", "o2", PF_UPD_ACCEPTED);
        ck_assert_int_eq(pfs_store_update_event_put(st, "T2", &e, 4000, &recorded), 0);
        ck_assert_int_eq(pfs_store_offer_pending(st, "T2", 2000, &body), PF_ENOENT);
    }

    /* an event id is recorded once */
    e = event("e1", "o1", PF_UPD_FAILED);
    ck_assert_int_eq(pfs_store_update_event_put(st, "T1", &e, 5000, &recorded), 0);
    ck_assert(recorded);
    ck_assert_int_eq(pfs_store_update_event_put(st, "T1", &e, 5001, &recorded), 0);
    ck_assert(!recorded);
    ck_assert_int_eq(events_of("T1", "e1"), 1);
    /* a final status is never replaced */
    e = event("e2", "o1", PF_UPD_INSTALLING);
    ck_assert_int_eq(pfs_store_update_event_put(st, "T1", &e, 5100, &recorded), 0);
    ck_assert(recorded);
    ck_assert_int_eq(pfs_store_update_current(st, "T1", &cur), 0);
    ck_assert_str_eq(cur.status, "failed");
    ck_assert_str_eq(cur.code, "DIGEST");
    ck_assert_int_eq(pfs_store_offer_pending(st, "T1", 2000, &body), PF_ENOENT);
    /* the outcome lines of a terminal's history: newest first, absent text NULL */
    {
        struct update_recs u;

        memset(&u, 0, sizeof(u));
        ck_assert_int_eq(pfs_store_term_updates(st, "T1", 10, update__cb, &u), 0);
        ck_assert_int_eq(u.n, 2);
        ck_assert_int_eq(u.u[0].ts_ms, 5100);
        ck_assert_str_eq(u.u[0].offer, "o1");
        snprintf(id, sizeof(id), "%064d", 0); /* the events' bundle (zero digest) */
        ck_assert_str_eq(u.u[0].bundle, id);
        ck_assert_str_eq(u.u[0].kind, "firmware");
        ck_assert_str_eq(u.u[0].version, "2.0.0");
        ck_assert_str_eq(u.u[0].status, "installing");
        ck_assert_str_eq(u.u[0].code, REC_NULL);
        ck_assert_str_eq(u.u[0].reason, REC_NULL);
        ck_assert_str_eq(u.u[0].message, REC_NULL);
        ck_assert_int_eq(u.u[1].ts_ms, 5000);
        ck_assert_str_eq(u.u[1].status, "failed");
        ck_assert_str_eq(u.u[1].code, "DIGEST");
        memset(&u, 0, sizeof(u));
        ck_assert_int_eq(pfs_store_term_updates(st, "T1", 1, update__cb, &u), 0);
        ck_assert_int_eq(u.n, 1);
        ck_assert_str_eq(u.u[0].status, "installing");
        memset(&u, 0, sizeof(u));
        ck_assert_int_eq(pfs_store_term_updates(st, "NOPE", 10, update__cb, &u), 0);
        ck_assert_int_eq(u.n, 0);
        n = 0;
        ck_assert_int_eq(pfs_store_term_updates(st, "T1", 10, stop__update, &n), 7);
        ck_assert_int_eq(n, 1);
    }
    n = 0;
    ck_assert_int_eq(pfs_store_update_events(st, "T1", 10, count__update, &n), 0);
    ck_assert_int_eq(n, 2);
    ck_assert_int_eq(pfs_store_update_counts(st, counts__cb, &k), 0);
    ck_assert_int_eq(k.failed, 1);
    /* recorded means durable: a crash right after keeps it */
    crash_after(crash__event);
    ck_assert_int_eq(events_of("T1", "e-crash"), 1);
    ck_assert_int_eq(events_of("T1", "e-none"), 0);
    down();
}
END_TEST

/* --- store_diag.h --- */

struct diags {
    int n;
    char status[PFS_DIAG_STATUS_MAX + 1];
    bool late;
    int64_t size, received;
    int done;
};

static int diags__cb(void *ctx, const struct pfs_diag_rec *r)
{
    struct diags *x = ctx;

    x->n++;
    snprintf(x->status, sizeof(x->status), "%s", r->status);
    x->late = r->late;
    x->size = r->archive_size;
    x->received = r->archive_received;
    x->done = r->archive_done;
    return 0;
}

static struct pfs_diag_rec diag_req(const char *id, int64_t deadline)
{
    struct pfs_diag_rec r;

    memset(&r, 0, sizeof(r));
    snprintf(r.id, sizeof(r.id), "%s", id);
    snprintf(r.serial, sizeof(r.serial), "T1");
    snprintf(r.command, sizeof(r.command), "logs");
    r.args = "{\"lines\":10}";
    r.created_ms = 100;
    r.deadline_ms = deadline;
    return r;
}

static struct pf_diag_resp diag_ok(const char *id)
{
    struct pf_diag_resp a;

    memset(&a, 0, sizeof(a));
    snprintf(a.id, sizeof(a.id), "%s", id);
    snprintf(a.cmd, sizeof(a.cmd), "logs");
    a.status = PF_DIAG_OK;
    a.result = "{\"lines\":[]}";
    return a;
}

START_TEST(diagnostics)
{
    struct pfs_diag_rec r = diag_req("d1", 1000);
    struct pf_diag_resp a = diag_ok("d1");
    struct pf_error err = {0};
    struct diags x;
    int64_t received = -1;
    bool late = true;
    void *buf = NULL;
    size_t len = 0;
    int n = -1;

    up(_i);
    add("T1", "PX-500");
    ck_assert_int_eq(pfs_store_diag_create(st, &r, &sup, 100, &err), 0);
    ck_assert_int_eq(pfs_store_diag_create(st, &r, &sup, 100, &err), PF_EEXIST);
    {
        struct audits au = audit_of("T1");
        char *text = pfs_rec_diag_request_text(&r);

        ck_assert_str_eq(au.action[0], "diag.request");
        ck_assert_ptr_nonnull(text);
        ck_assert_str_eq(au.after_text[0], text);
        ck_assert_str_eq(text, "{\"args\":{\"lines\":10},\"command\":\"logs\","
                               "\"deadline_ms\":1000,\"id\":\"d1\"}");
        free(text);
    }
    memset(&x, 0, sizeof(x));
    ck_assert_int_eq(pfs_store_diag_get(st, "d1", diags__cb, &x), 0);
    ck_assert_str_eq(x.status, "pending");
    ck_assert_int_eq(pfs_store_diag_get(st, "nope", diags__cb, &x), PF_ENOENT);
    ck_assert_int_eq(pfs_store_diag_answer(st, "T2", &a, -1, NULL, 200, &late), PF_ENOENT);
    ck_assert_int_eq(pfs_store_diag_answer(st, "T1", &a, 10, "b2:abc", 200, &late), 0);
    ck_assert(!late);
    ck_assert_int_eq(pfs_store_diag_answer(st, "T1", &a, 10, "b2:abc", 201, &late), PF_EEXIST);
    /* the archive: chunks only in order, then done */
    ck_assert_int_eq(pfs_store_diag_chunk_put(st, "d1", 4, "efgh", 4, 300, &received), PF_ERANGE);
    ck_assert_int_eq(received, 0);
    ck_assert_int_eq(pfs_store_diag_chunk_put(st, "d1", 0, "abcd", 4, 300, &received), 0);
    ck_assert_int_eq(received, 4);
    memset(&x, 0, sizeof(x));
    ck_assert_int_eq(pfs_store_diag_transfers(st, diags__cb, &x), 0);
    ck_assert_int_eq(x.n, 1);
    ck_assert_int_eq(x.size, 10);
    ck_assert_int_eq(pfs_store_diag_chunk_put(st, "d1", 4, "efghijk", 7, 300, &received),
                     PF_ERANGE); /* beyond the announced size */
    ck_assert_int_eq(pfs_store_diag_chunk_put(st, "d1", 4, "efghij", 6, 300, &received), 0);
    ck_assert_int_eq(pfs_store_diag_chunk_put(st, "nope", 0, "a", 1, 300, &received), PF_ENOENT);
    ck_assert_int_eq(pfs_store_diag_archive_done(st, "d1", 1, 400), 0);
    ck_assert_int_eq(pfs_store_diag_archive_read(st, "d1", &buf, &len), 0);
    ck_assert_int_eq((int)len, 10);
    ck_assert_int_eq(memcmp(buf, "abcdefghij", 10), 0);
    free(buf);
    memset(&x, 0, sizeof(x));
    ck_assert_int_eq(pfs_store_diag_transfers(st, diags__cb, &x), 0);
    ck_assert_int_eq(x.n, 0);
    /* expiry, and a late answer stored with its flag */
    r = diag_req("d2", 500);
    ck_assert_int_eq(pfs_store_diag_create(st, &r, &sup, 100, &err), 0);
    memset(&x, 0, sizeof(x));
    ck_assert_int_eq(pfs_store_diag_expire(st, 600, diags__cb, &x, &n), 0);
    ck_assert_int_eq(n, 1);
    ck_assert_int_eq(x.n, 1);
    ck_assert_int_eq(pfs_store_diag_expire(st, 700, NULL, NULL, &n), 0);
    ck_assert_int_eq(n, 0);
    a = diag_ok("d2");
    ck_assert_int_eq(pfs_store_diag_answer(st, "T1", &a, -1, NULL, 800, &late), 0);
    ck_assert(late);
    memset(&x, 0, sizeof(x));
    ck_assert_int_eq(pfs_store_diag_list(st, "T1", 10, diags__cb, &x), 0);
    ck_assert_int_eq(x.n, 2);
    memset(&x, 0, sizeof(x));
    ck_assert_int_eq(pfs_store_diag_get(st, "d2", diags__cb, &x), 0);
    ck_assert_str_eq(x.status, "ok");
    ck_assert(x.late);
    down();
}
END_TEST

/* Copies a diagnostic request (result on the heap; args and message dropped). */
static int diag_copy__cb(void *ctx, const struct pfs_diag_rec *r)
{
    struct pfs_diag_rec *out = ctx;

    *out = *r;
    out->args = NULL;
    out->message = NULL;
    out->result = r->result ? strdup(r->result) : NULL;
    return 0;
}

/* The snapshot a repair keeps: the newest report, the open alerts and the
 * answered requests, read back field for field as record_json.h prints them. */
START_TEST(repair_snapshot)
{
    struct pfs_diag_rec r = diag_req("d1", 5000), pending = diag_req("d2", 5000), got;
    struct pf_diag_resp ans = diag_ok("d1");
    struct pf_health h = health(7, 1007);
    struct pfs_alert al;
    struct pfs_repair_snapshot snap;
    struct repair_rec rep;
    struct pf_error err = {0};
    int64_t id = 0;
    bool newer = false, late = true;
    char *want;

    up(_i);
    add("T1", "PX-500");
    h.charging = true;
    h.signal_dbm = -71;
    h.temp_c = 38;
    h.paper = PF_PAPER_LOW;
    h.tamper = false;
    h.selftest[PF_COMP_PRINTER] = PF_CHECK_FAIL;
    h.err_reader = 3;
    h.err_printer = 4;
    h.uptime_s = 86400;
    ck_assert_int_eq(pfs_store_health_put(st, "T1", &h, 1900, &newer), 0);
    ck_assert(newer);
    ck_assert_int_eq(pfs_store_alert_open(st, "T1", "battery", 1950, "12%"), 0);
    ck_assert_int_eq(pfs_store_diag_create(st, &r, &sup, 1960, &err), 0);
    ck_assert_int_eq(pfs_store_diag_answer(st, "T1", &ans, -1, NULL, 1970, &late), 0);
    ck_assert_int_eq(pfs_store_diag_create(st, &pending, &sup, 1980, &err), 0); /* unanswered */
    memset(&got, 0, sizeof(got));
    ck_assert_int_eq(pfs_store_diag_get(st, "d1", diag_copy__cb, &got), 0);
    ck_assert_int_eq(pfs_store_repair_open(st, "T1", "screen", NULL, &sup, 2000, &id, &err), 0);
    memset(&al, 0, sizeof(al));
    snprintf(al.kind, sizeof(al.kind), "battery");
    al.opened_ms = 1950;
    snprintf(al.detail, sizeof(al.detail), "12%%");
    snap = (struct pfs_repair_snapshot){.taken_ms = 2000,
                                        .health = &h,
                                        .health_recv_ms = 1900,
                                        .alerts = &al,
                                        .nalerts = 1,
                                        .diags = &got,
                                        .ndiags = 1};
    want = pfs_rec_snapshot_text(&snap);
    ck_assert_ptr_nonnull(want);
    rep = repair_of(id, 0);
    ck_assert_str_eq(rep.snapshot, want);
    ck_assert_ptr_nonnull(strstr(want, "\"paper\":\"low\""));
    ck_assert_ptr_nonnull(strstr(want, "\"recv_ms\":1900"));
    ck_assert_ptr_nonnull(strstr(want, "\"answered_ms\":1970"));
    free(want);
    free(rep.text);
    free((char *)got.result);
    down();
}
END_TEST

/* --- notifications (store_notify.h) and metric counts (store_metrics.h) --- */

struct dlvs {
    int n;
    int64_t id[16];
    char event[16][PFS_NOTIFY_ID_LEN + 1];
    char hook[16][PFS_HOOK_NAME_MAX + 1];
    enum pfs_delivery_state state[16];
    int attempts[16];
    char body[16][128];
};

static int dlvs__cb(void *ctx, const struct pfs_delivery *d)
{
    struct dlvs *x = ctx;

    if (x->n < 16) {
        x->id[x->n] = d->id;
        snprintf(x->event[x->n], sizeof(x->event[0]), "%s", d->event);
        snprintf(x->hook[x->n], sizeof(x->hook[0]), "%s", d->hook);
        x->state[x->n] = d->state;
        x->attempts[x->n] = d->attempts;
        snprintf(x->body[x->n], sizeof(x->body[0]), "%s", d->body ? d->body : "");
    }
    x->n++;
    return 0;
}

static const char *const notify__hooks[] = {"ops", "pager"};

static void crash__notify_add(struct pfs_store *c)
{
    struct pfs_notify_event ev = {"eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee", "tamper", "T9",
                                  "{\"id\":\"eeee\"}", 500};
    struct pf_error err = {0};

    if (pfs_store_notify_add(c, &ev, notify__hooks, 2, 500, &err) != 0)
        _exit(3);
}

START_TEST(notify_queue_and_log)
{
    struct pfs_notify_event ev = {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "repair.state", "7",
                                  "{\"id\":\"aaaa\"}", 1000};
    struct pfs_attempt refused = {0, "connection refused", 3};
    struct pfs_attempt ok = {204, "", 5};
    struct pf_error err = {0};
    struct dlvs d = {0};
    int64_t next = 0, counts[PFS_DLV_COUNT];
    bool any = true;

    up(_i);
    ck_assert_int_eq(pfs_store_notify_next(st, &next, &any), 0);
    ck_assert(!any);
    ck_assert_msg(pfs_store_notify_add(st, &ev, notify__hooks, 2, 1000, &err) == 0, "%s", err.msg);
    /* One event id is stored once: a second add changes nothing. */
    ck_assert_int_eq(pfs_store_notify_add(st, &ev, notify__hooks, 1, 1001, &err), PF_EEXIST);
    ck_assert_int_eq(pfs_store_notify_due(st, 999, 10, dlvs__cb, &d), 0);
    ck_assert_int_eq(d.n, 0);
    ck_assert_int_eq(pfs_store_notify_due(st, 1000, 10, dlvs__cb, &d), 0);
    ck_assert_int_eq(d.n, 2);
    ck_assert_str_eq(d.event[0], ev.id);
    ck_assert_str_eq(d.body[0], ev.body);
    ck_assert_str_eq(d.hook[0], "ops");
    ck_assert_str_eq(d.hook[1], "pager");
    /* ops: refused, retried later; pager: delivered at once. */
    ck_assert_int_eq(
            pfs_store_notify_result(st, d.id[0], &refused, PFS_DLV_PENDING, 3000, 1010, &err), 0);
    ck_assert_int_eq(pfs_store_notify_result(st, d.id[1], &ok, PFS_DLV_DELIVERED, 0, 1010, &err),
                     0);
    memset(&d, 0, sizeof(d));
    ck_assert_int_eq(pfs_store_notify_due(st, 2000, 10, dlvs__cb, &d), 0);
    ck_assert_int_eq(d.n, 0);
    ck_assert_int_eq(pfs_store_notify_next(st, &next, &any), 0);
    ck_assert(any);
    ck_assert_int_eq(next, 3000);
    /* Survives a reopen, same id and body, one attempt logged. */
    reopen();
    ck_assert_int_eq(pfs_store_notify_due(st, 3000, 10, dlvs__cb, &d), 0);
    ck_assert_int_eq(d.n, 1);
    ck_assert_str_eq(d.event[0], ev.id);
    ck_assert_str_eq(d.body[0], ev.body);
    ck_assert_int_eq(d.attempts[0], 1);
    ck_assert_int_eq(pfs_store_notify_result(st, d.id[0], &refused, PFS_DLV_FAILED, 0, 3010, &err),
                     0);
    ck_assert_int_eq(pfs_store_notify_counts(st, "ops", counts), 0);
    ck_assert_int_eq(counts[PFS_DLV_FAILED], 1);
    ck_assert_int_eq(counts[PFS_DLV_PENDING], 0);
    ck_assert_int_eq(pfs_store_notify_counts(st, "pager", counts), 0);
    ck_assert_int_eq(counts[PFS_DLV_DELIVERED], 1);
    /* The log: newest first, by hook, paged by id. */
    memset(&d, 0, sizeof(d));
    ck_assert_int_eq(pfs_store_notify_log(st, NULL, 0, 10, dlvs__cb, &d), 0);
    ck_assert_int_eq(d.n, 2);
    ck_assert_int_gt(d.id[0], d.id[1]);
    ck_assert_int_eq(d.state[0], PFS_DLV_DELIVERED);
    ck_assert_int_eq(d.state[1], PFS_DLV_FAILED);
    ck_assert_int_eq(d.attempts[1], 2);
    memset(&d, 0, sizeof(d));
    ck_assert_int_eq(pfs_store_notify_log(st, "ops", 0, 10, dlvs__cb, &d), 0);
    ck_assert_int_eq(d.n, 1);
    memset(&d, 0, sizeof(d));
    ck_assert_int_eq(pfs_store_notify_log(st, NULL, 2, 10, dlvs__cb, &d), 0);
    ck_assert_int_eq(d.n, 1);
    ck_assert_int_eq(d.id[0], 1);
    /* An event stored by a process that then dies is there, deliveries due. */
    crash_after(crash__notify_add);
    memset(&d, 0, sizeof(d));
    ck_assert_int_eq(pfs_store_notify_due(st, 500, 10, dlvs__cb, &d), 0);
    ck_assert_int_eq(d.n, 2);
    ck_assert_str_eq(d.event[0], "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee");
    down();
}
END_TEST

struct gauges {
    int64_t terminals[8];
    int64_t repairs_open;
    int rollout_rows;
};

static int gauges__cb(void *ctx, enum pfs_gauge_family family, int64_t id, const char *label,
                      int64_t n)
{
    struct gauges *g = ctx;

    (void)id;
    if (family == PFS_GAUGE_TERMINALS) {
        for (int i = 0; pfs_term_state_names[i]; i++) {
            if (label && strcmp(label, pfs_term_state_names[i]) == 0)
                g->terminals[i] = n;
        }
    } else if (family == PFS_GAUGE_REPAIRS_OPEN) {
        g->repairs_open = n;
    } else {
        g->rollout_rows++;
    }
    return 0;
}

START_TEST(metric_counts)
{
    struct pf_error err = {0};
    struct gauges g = {0};
    int64_t id = 0;

    up(_i);
    add("G1", "PX-500");
    add("G2", "PX-500");
    add("G3", "PX-500");
    ck_assert_int_eq(pfs_store_device_revoke(st, "G3", &ops, 1100, &err), 0);
    ck_assert_msg(pfs_store_repair_open(st, "G1", "printer", NULL, &sup, 1200, &id, &err) == 0,
                  "%s", err.msg);
    ck_assert_int_eq(pfs_store_gauges(st, gauges__cb, &g), 0);
    /* Registered terminals only; a terminal never bound is in stock. */
    ck_assert_int_eq(g.terminals[PFS_TERM_IN_STOCK] + g.terminals[PFS_TERM_IN_REPAIR], 2);
    ck_assert_int_eq(g.repairs_open, 1);
    ck_assert_int_eq(g.rollout_rows, 0);
    down();
}
END_TEST

/* --- rollouts (store_rollouts.h) ---
 *
 * Their cases come here, in the same shape: a START_TEST that calls up(_i)
 * and down(), added to the "rollouts" case of contract_suite() below. */

/* A rollout's creation and an action on it are audited as record_json.h
 * prints them. */
START_TEST(rollout_audit)
{
    char bid[PF_B2_HEX_LEN + 1], def[256];
    struct pfs_bundle_rec b;
    struct pfs_ro_def d;
    struct pfs_ro_plan_stats stats;
    struct pfs_ro_change abort = {1u << PFS_RO_RUNNING, PFS_RO_ABORTED, -1,  "abort",
                                  "bad batch",          NULL,           NULL};
    struct pfs_rec_count skipped = {"skipped", 3};
    struct pf_error err = {0};
    struct audits a;
    bool created = false;
    size_t targets[1] = {3};
    int64_t id = 0;
    json_t *o;
    char *want, *counts;

    up(_i);
    add("T1", "PX-500");
    add("T2", "PX-500");
    add("T3", "PX-500");
    snprintf(bid, sizeof(bid), "%064d", 1);
    b = bundle(bid);
    snprintf(b.hw_revs, sizeof(b.hw_revs), "A,B");
    ck_assert_int_eq(pfs_store_bundle_put(st, &b, &ops, 100, &created, &err), 0);
    snprintf(def, sizeof(def),
             "{\"name\":\"r1\",\"bundle\":\"%s\",\"stages\":[\"100%%\"],"
             "\"cohort\":{\"serials\":[\"T1\",\"T2\",\"T3\"]}}",
             bid);
    o = json_loads(def, 0, NULL);
    ck_assert_ptr_nonnull(o);
    ck_assert_int_eq(pfs_ro_def_parse(o, 1000, &d, &err), 0);
    json_decref(o);
    ck_assert_msg(pfs_store_rollout_create(st, &d, &b, def, &ops, 2000, &id, &stats, &err) == 0,
                  "%s", err.msg);
    pfs_ro_def_release(&d);
    ck_assert_int_eq(pfs_store_rollout_change(st, id, &abort, &ops, 2100, &err), 0);
    a = audit_of("rollout/1");
    ck_assert_int_eq(a.n, 2);
    ck_assert_str_eq(a.action[0], "rollout.abort");
    ck_assert_str_eq(a.action[1], "rollout.create");
    want = pfs_rec_rollout_create_text(id, "r1", bid, "firmware", "2.0.0", 3, targets, 1);
    ck_assert_ptr_nonnull(want);
    ck_assert_str_eq(a.after_text[1], want);
    free(want);
    counts = pfs_rec_counts_text(&skipped, 1, pfs_ro_member_names, PFS_ROM_COUNT);
    ck_assert_ptr_nonnull(counts);
    want = pfs_rec_rollout_change_text("running", "aborted", "bad batch", NULL, NULL, counts);
    ck_assert_ptr_nonnull(want);
    ck_assert_str_eq(a.after_text[0], want);
    ck_assert_ptr_nonnull(strstr(want, "\"skipped\":3"));
    ck_assert_ptr_nonnull(strstr(want, "\"installed\":0"));
    free(want);
    free(counts);
    down();
}
END_TEST

/*
 * Accounts (store_accounts.h), without merchants: organisations numbered
 * like SQLite's INTEGER PRIMARY KEY (a refused name uses up no id), users in
 * scopes, logins, sessions ended by a new password but the one kept, API
 * tokens, disabling, and the audit rows' JSON.
 */
static int count__org(void *ctx, const struct pfs_org *o)
{
    (void)o;
    (*(int *)ctx)++;
    return 0;
}

static int count__user(void *ctx, const struct pfs_user_rec *u)
{
    ck_assert_str_eq(u->pwhash, ""); /* lists never hand out the hash */
    (*(int *)ctx)++;
    return 0;
}

START_TEST(accounts)
{
    static const struct pfs_scope hq = {"/1/", ""}, north = {"/1/2/", ""};
    struct pfs_user_rec ann = {.name = "ann", .pwhash = "h1", .role = "support", .org_id = 2};
    struct pfs_apitoken_rec t = {.name = "ci",
                                 .user = "ann",
                                 .created_ms = 300,
                                 .expires_ms = 9000},
                            out, used;
    struct pfs_session_rec sess;
    struct pfs_user_rec u;
    struct pf_error err = {0};
    uint8_t h1[PFS_SECRET_HASH], h2[PFS_SECRET_HASH], h3[PFS_SECRET_HASH];
    struct pfs_org o;
    struct audits a;
    int n = 0;

    memset(h1, 1, sizeof(h1));
    memset(h2, 2, sizeof(h2));
    memset(h3, 3, sizeof(h3));
    up(_i);
    ck_assert_msg(pfs_store_org_add(st, &hq, "north", 1, &ops, 100, &o, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(o.id, 2);
    ck_assert_str_eq(o.path, "/1/2/");
    ck_assert_int_eq(pfs_store_org_add(st, &hq, "north", 1, &ops, 101, &o, &err), PF_EEXIST);
    ck_assert_str_eq(err.msg, "organisation north exists");
    ck_assert_int_eq(pfs_store_org_add(st, &north, "sub", 2, &ops, 102, &o, &err), 0);
    ck_assert_int_eq(o.id, 3);
    ck_assert_str_eq(o.path, "/1/2/3/");
    ck_assert_int_eq(pfs_store_org_add(st, &north, "x", 1, &ops, 103, &o, &err), PF_ENOENT);
    ck_assert_int_eq(pfs_store_org_list(st, &north, count__org, &n), 0);
    ck_assert_int_eq(n, 2);
    /* users */
    ck_assert_msg(pfs_store_user_add(st, &north, &ann, &ops, 200, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(pfs_store_user_add(st, &north, &ann, &ops, 201, &err), PF_EEXIST);
    ck_assert_int_eq(pfs_store_user_get(st, &north, "ann", &u), 0);
    ck_assert_str_eq(u.org, "north");
    ck_assert_str_eq(u.pwhash, "h1");
    n = 0;
    ck_assert_int_eq(pfs_store_user_list(st, &hq, count__user, &n), 0);
    ck_assert_int_eq(n, 1);
    ck_assert_int_eq(
            pfs_store_user_login_result(st, "ann", PFS_LOGIN_LOCKED, 5000, &ops, 202, &err), 0);
    ck_assert_int_eq(pfs_store_user_get(st, NULL, "ann", &u), 0);
    ck_assert_int_eq(u.failed, 1);
    ck_assert_int_eq(u.locked_until_ms, 5000);
    ck_assert_int_eq(pfs_store_user_login_result(st, "ann", PFS_LOGIN_OK, 0, &ops, 203, &err), 0);
    /* sessions */
    ck_assert_int_eq(pfs_store_session_add(st, h1, "ann", "c1", 210, 9000, &err), 0);
    ck_assert_int_eq(pfs_store_session_add(st, h2, "ann", "c2", 211, 9000, &err), 0);
    ck_assert_int_eq(pfs_store_session_add(st, h1, "ann", "c3", 212, 9000, &err), PF_EEXIST);
    ck_assert_int_eq(pfs_store_user_set_password(st, "ann", "h2", h1, &ops, 220, &err), 0);
    ck_assert_int_eq(pfs_store_session_get(st, h1, 230, &sess), 0);
    ck_assert_str_eq(sess.csrf, "c1");
    ck_assert_str_eq(sess.user.pwhash, "h2");
    ck_assert_int_eq(pfs_store_session_get(st, h2, 230, &sess), PF_ENOENT);
    ck_assert_int_eq(pfs_store_session_get(st, h1, 9000, &sess), PF_ENOENT); /* expired */
    /* tokens: a refused name uses up no id */
    ck_assert_int_eq(pfs_store_apitoken_add(st, h3, &t, &ops, &out, &err), 0);
    ck_assert_int_eq(out.id, 1);
    ck_assert_int_eq(pfs_store_apitoken_add(st, h2, &t, &ops, &out, &err), PF_EEXIST);
    ck_assert_int_eq(pfs_store_apitoken_use(st, h3, 400, &used, &u), 0);
    ck_assert_int_eq(used.last_used_ms, 400);
    ck_assert_str_eq(u.name, "ann");
    /* disabled: no session, no token */
    ck_assert_int_eq(pfs_store_user_set_disabled(st, &north, "ann", true, &ops, 500, &err), 0);
    ck_assert_int_eq(pfs_store_session_get(st, h1, 501, &sess), PF_ENOENT);
    ck_assert_int_eq(pfs_store_apitoken_use(st, h3, 501, &used, &u), PF_ENOENT);
    ck_assert_int_eq(pfs_store_user_set_disabled(st, &north, "ann", false, &ops, 502, &err), 0);
    ck_assert_int_eq(pfs_store_apitoken_revoke(st, &hq, "ann", 1, &ops, 503, &err), 0);
    ck_assert_int_eq(pfs_store_apitoken_revoke(st, &hq, "ann", 1, &ops, 504, &err), PF_ENOENT);
    ck_assert_int_eq(pfs_store_apitoken_use(st, h3, 505, &used, &u), PF_ENOENT);
    /* the audit rows */
    a = audit_of("north");
    ck_assert_int_eq(a.n, 1);
    ck_assert_str_eq(a.after_text[0],
                     "{\"id\":2,\"name\":\"north\",\"parent\":1,\"path\":\"/1/2/\"}");
    a = audit_of("ann");
    ck_assert_int_eq(a.n, 8);
    ck_assert_str_eq(a.action[0], "token.revoke");
    ck_assert_str_eq(a.after_text[0], "{\"id\":1,\"revoked_ms\":503}");
    ck_assert_str_eq(a.action[1], "user.enable");
    ck_assert_str_eq(a.before_text[1], "{\"disabled_ms\":500}");
    ck_assert_str_eq(a.action[3], "token.create");
    ck_assert_str_eq(a.after_text[3], "{\"expires_ms\":9000,\"id\":1,\"name\":\"ci\"}");
    ck_assert_str_eq(a.action[4], "user.password");
    ck_assert(!a.after[4]);
    ck_assert_str_eq(a.action[6], "login.locked");
    ck_assert_str_eq(a.after_text[6], "{\"locked_until_ms\":5000}");
    ck_assert_str_eq(a.action[7], "user.add");
    ck_assert_str_eq(a.after_text[7],
                     "{\"merchant\":null,\"name\":\"ann\",\"org\":\"north\",\"role\":\"support\"}");
    down();
}
END_TEST

static Suite *contract_suite(void)
{
    Suite *s = suite_create("store_contract");
    struct {
        const char *name;
        const TTest *tests[16];
    } cases[] = {
            {"store",
             {open_and_schema, registry, import_all_or_nothing, admin_change_survives_crash,
              ingest_batch, ingest_crash_loses_batch_whole, alerts_and_summary, prune_and_expire,
              device_list_filters, transactions, fee_tables_pending_and_by_date, NULL}},
            {"lifecycle",
             {merchants, registration_binds, import_binds, terminals, swap, tamper_lock_and_repair,
              repairs, NULL}},
            {"updates", {updates, NULL}},
            {"diag", {diagnostics, repair_snapshot, NULL}},
            {"notify", {notify_queue_and_log, metric_counts, NULL}},
            {"rollouts", {rollout_audit, NULL}},
            {"accounts", {accounts, NULL}},
    };

    for (size_t i = 0; i < CONTRACT_BACKENDS; i++) {
        if (contract__built_in(contract__backends[i].name))
            contract__built[contract__nbuilt++] = &contract__backends[i];
    }
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        TCase *tc = tcase_create(cases[c].name);

        tcase_set_timeout(tc, 30);
        /* One loop index per backend, for the backends that run this case. */
        for (int t = 0; cases[c].tests[t]; t++) {
            for (int b = 0; b < contract__nbuilt; b++) {
                if (contract__runs(contract__built[b], cases[c].name))
                    tcase_add_loop_test(tc, cases[c].tests[t], b, b + 1);
            }
        }
        suite_add_tcase(s, tc);
    }
    return s;
}

int main(void)
{
    Suite *s = contract_suite();

    /* A build whose backend has no row here would pass by running nothing. */
    if (contract__nbuilt == 0) {
        fprintf(stderr, "store contract: no row for a backend built in\n");
        return EXIT_FAILURE;
    }
    return pf_test_run(s);
}
