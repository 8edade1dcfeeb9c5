/*
 * test_pg_rollouts.c - the PostgreSQL twins of store_rollouts.h
 * (server/store/postgres/pg_rollout*.c) against a real PostgreSQL 15, side
 * by side with the SQLite backend: the same fleet is registered in both, the
 * same calls are made on both, and what they answer (members and their
 * stages, counters, errors and their messages, audit rows) must be the
 * same. Until the store's ops table dispatches to PostgreSQL, the twins are
 * called directly; the fleet is written into PostgreSQL with SQL (the
 * registry's twins are another part of the backend).
 */
#include <check.h>
#include <jansson.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "pg_harness.h"
#include "rollouts/rollout_def.h"
#include "rollouts/rollout_member.h"
#include "store/postgres/pg_rollout_members.h"
#include "store/postgres/pg_rollout_plan.h"
#include "store/postgres/pg_rollouts.h"
#include "store/postgres/pg_rollouts_internal.h"
#include "store/postgres/pg_store.h"
#include "store/record_json.h"
#include "store/sqlite/store_rollouts_internal.h"
#include "store/store.h"
#include "store/store_rollouts.h"
#include "store/store_updates.h"
#include "testutil.h"

static struct pf_pg_server server;
static char tmp[256];
static char dbpath[300];
static char pgdsn[1024];
static const struct pfs_actor ops = {.name = "olga", .role = "ops"};
static const char bid[] = "1111111111111111111111111111111111111111111111111111111111111111";
static const char prev_bid[] = "2222222222222222222222222222222222222222222222222222222222222222";

static struct pfs_pg_store *pg; /* the backend under test */
static struct pfs_store *sq;    /* the reference */

static void server_up(void)
{
    if (pf_pg_start(&server, true) != 0) {
        fprintf(stderr, "test_pg_rollouts: PostgreSQL 15 could not be started (see above)\n");
        exit(EXIT_FAILURE);
    }
}

static void server_down(void)
{
    pf_pg_stop(&server);
}

static void sql(const char *text)
{
    struct pf_error err = {0};

    ck_assert_msg(pfs_pg_exec(pg->pg, text, 0, NULL, &err) == 0, "%s: %s", text, err.msg);
}

static struct pfs_bundle_rec bundle(const char *id, const char *version, int64_t uploaded_ms)
{
    struct pfs_bundle_rec b;

    memset(&b, 0, sizeof(b));
    snprintf(b.id, sizeof(b.id), "%s", id);
    b.kind = PF_KIND_FIRMWARE;
    snprintf(b.version, sizeof(b.version), "%s", version);
    snprintf(b.models, sizeof(b.models), "PX-500");
    snprintf(b.hw_revs, sizeof(b.hw_revs), "A,B");
    b.size = 1234;
    snprintf(b.manifest, sizeof(b.manifest), "%064d", 7);
    b.created_s = 10;
    b.expires_s = 1000000;
    b.uploaded_ms = uploaded_ms;
    return b;
}

static void put_bundle(const struct pfs_bundle_rec *b)
{
    struct pf_error err = {0};
    bool created = false;
    char text[4096];

    ck_assert_msg(pfs_store_bundle_put(sq, b, &ops, b->uploaded_ms, &created, &err) == 0, "%s",
                  err.msg);
    snprintf(text, sizeof(text),
             "INSERT INTO bundles (id, kind, version, models, hw_revs, size, manifest, created_s,"
             " expires_s, uploaded_ms) VALUES ('%s','firmware','%s','%s','%s',%llu,'%s',%lld,%lld,"
             "%lld)",
             b->id, b->version, b->models, b->hw_revs, (unsigned long long)b->size, b->manifest,
             (long long)b->created_s, (long long)b->expires_s, (long long)b->uploaded_ms);
    sql(text);
}

/* A statement on the SQLite store's file, on a connection of its own (what
 * the registry's device state would hold after a report). */
static void sqlite_exec(const char *text)
{
    sqlite3 *db = NULL;

    ck_assert_int_eq(sqlite3_open(dbpath, &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    ck_assert_int_eq(sqlite3_exec(db, text, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
}

/* Device SERIAL in both stores, running fw (NULL: never reported). */
static void add(const char *serial, const char *fw, int64_t at_ms)
{
    struct pfs_device d = {0};
    struct pf_error err = {0};
    char text[512];

    snprintf(d.serial, sizeof(d.serial), "%s", serial);
    snprintf(d.model, sizeof(d.model), "PX-500");
    ck_assert_msg(pfs_store_device_add(sq, &d, &ops, at_ms, &err) == 0, "%s", err.msg);
    snprintf(text, sizeof(text),
             "INSERT INTO devices (serial, model, created_ms) VALUES ('%s','PX-500',%lld)", serial,
             (long long)at_ms);
    sql(text);
    if (fw) {
        snprintf(text, sizeof(text),
                 "INSERT INTO device_state (serial, last_seen_ms, fw_version, online)"
                 " VALUES ('%s',%lld,'%s',1)",
                 serial, (long long)at_ms, fw);
        sqlite_exec(text);
        snprintf(text, sizeof(text),
                 "INSERT INTO device_state (serial, last_seen_ms, fw_version, online)"
                 " VALUES ('%s',%lld,'%s',true)",
                 serial, (long long)at_ms, fw);
        sql(text);
    }
}

static void setup(void)
{
    struct pfs_store_opts o = {0};
    struct pf_error err = {0};
    static int n;
    char name[32];

    pf_test_tmpdir(tmp, sizeof(tmp));
    snprintf(dbpath, sizeof(dbpath), "%s/s.db", tmp);
    o.path = dbpath;
    ck_assert_int_eq(pfs_store_open(&o, &sq, &err), 0);
    snprintf(name, sizeof(name), "pg_rollouts_%d", ++n);
    ck_assert_int_eq(pf_pg_createdb(&server, name, pgdsn, sizeof(pgdsn)), 0);
    ck_assert_msg(pfs_pg_store_open(pgdsn, &pg, &err) == 0, "%s", err.msg);
}

static void teardown(void)
{
    pfs_pg_store_close(pg);
    pfs_store_close(sq);
    pf_test_rmtree(tmp);
}

static void def_of(const char *text, struct pfs_ro_def *d)
{
    struct pf_error err = {0};
    json_t *o = json_loads(text, 0, NULL);

    ck_assert_ptr_nonnull(o);
    ck_assert_msg(pfs_ro_def_parse(o, 1000, d, &err) == 0, "%s", err.msg);
    json_decref(o);
}

/* Creates the rollout of definition text in both stores: both answer rc,
 * the same id and the same message. */
static int64_t create_both_as(const char *text, const struct pfs_bundle_rec *b, int64_t now_ms,
                              bool approval, int want_rc, char *msg, size_t len)
{
    struct pfs_ro_def d;
    struct pfs_ro_plan_stats s1, s2;
    struct pf_error e1 = {0}, e2 = {0};
    int64_t id1 = 0, id2 = 0;
    int rc1, rc2;

    def_of(text, &d);
    d.awaiting_approval = approval;
    rc1 = pfs_store_rollout_create(sq, &d, b, text, &ops, now_ms, &id1, &s1, &e1);
    rc2 = pfs_pg_rollout_create(pg, &d, b, text, &ops, now_ms, &id2, &s2, &e2);
    pfs_ro_def_release(&d);
    ck_assert_msg(rc1 == want_rc, "sqlite: %d %s", rc1, e1.msg);
    ck_assert_msg(rc2 == want_rc, "postgres: %d %s", rc2, e2.msg);
    if (rc1) {
        ck_assert_str_eq(e2.msg, e1.msg);
        if (msg)
            snprintf(msg, len, "%s", e2.msg);
        return 0;
    }
    ck_assert_int_eq(id2, id1);
    ck_assert_int_eq(s2.cohort, s1.cohort);
    return id1;
}

static int64_t create_both(const char *text, const struct pfs_bundle_rec *b, int64_t now_ms,
                           int want_rc, char *msg, size_t len)
{
    return create_both_as(text, b, now_ms, false, want_rc, msg, len);
}

/* --- dumps compared between the backends --- */

struct dump {
    char text[8192];
    size_t len;
};

static int dump__member(void *ctx, const struct pfs_ro_member_rec *m)
{
    struct dump *x = ctx;

    x->len += (size_t)snprintf(x->text + x->len, sizeof(x->text) - x->len, "%s:%d:%s:%s:%s:%d;",
                               m->serial, m->stage, pfs_ro_member_names[m->status], m->offer,
                               m->code, m->online);
    return 0;
}

static void members_same(int64_t id, int status, int stage, const char *after, int limit, char *out,
                         size_t len)
{
    struct dump a = {0}, b = {0};
    bool m1 = false, m2 = false;

    ck_assert_int_eq(
            pfs_store_rollout_members(sq, id, status, stage, after, limit, dump__member, &a, &m1),
            0);
    ck_assert_int_eq(
            pfs_pg_rollout_members(pg, id, status, stage, after, limit, dump__member, &b, &m2), 0);
    ck_assert_str_eq(b.text, a.text);
    ck_assert_int_eq(m2, m1);
    if (out)
        snprintf(out, len, "%s", b.text);
}

static void stages_same(int64_t id)
{
    struct pfs_ro_stage_rec a[PFS_RO_STAGES_MAX], b[PFS_RO_STAGES_MAX];
    size_t na = 0, nb = 0;
    bool exact = false;

    ck_assert_int_eq(pfs_store_rollout_stages(sq, id, a, &na), 0);
    ck_assert_int_eq(pfs_pg_rollout_stages(pg, id, b, &nb), 0);
    ck_assert_uint_eq(nb, na);
    for (size_t i = 0; i < na; i++) {
        ck_assert_int_eq(b[i].idx, a[i].idx);
        ck_assert_str_eq(b[i].size, a[i].size);
        ck_assert_int_eq(b[i].target, a[i].target);
        ck_assert_int_eq(b[i].gate, a[i].gate);
        ck_assert_int_eq(b[i].opened_ms, a[i].opened_ms);
        ck_assert_int_eq(b[i].settled_ms, a[i].settled_ms);
        for (int k = 0; k < PFS_ROM_COUNT; k++)
            ck_assert_msg(b[i].counts[k] == a[i].counts[k], "stage %zu %s: %lld, want %lld", i,
                          pfs_ro_member_names[k], (long long)b[i].counts[k],
                          (long long)a[i].counts[k]);
    }
    ck_assert_int_eq(pfs_pg_rollout_check_counts(pg, id, &exact), 0);
    ck_assert(exact);
}

static void rec_same(int64_t id)
{
    struct pfs_rollout_rec a, b;

    ck_assert_int_eq(pfs_store_rollout_get(sq, id, &a), 0);
    ck_assert_int_eq(pfs_pg_rollout_get(pg, id, &b), 0);
    ck_assert_str_eq(b.name, a.name);
    ck_assert_str_eq(b.bundle, a.bundle);
    ck_assert_int_eq(b.state, a.state);
    ck_assert_int_eq(b.stage, a.stage);
    ck_assert_str_eq(b.pause_reason, a.pause_reason);
    ck_assert_str_eq(b.pause_detail, a.pause_detail);
    ck_assert_str_eq(b.pause_by, a.pause_by);
    ck_assert_int_eq(b.pause_ms, a.pause_ms);
    for (int k = 0; k < PFS_ROM_COUNT; k++)
        ck_assert_int_eq(b.base[k], a.base[k]);
    ck_assert_int_eq(b.join_ms, a.join_ms);
    ck_assert_int_eq(b.updated_ms, a.updated_ms);
    ck_assert_str_eq(b.org_path, a.org_path);
    ck_assert_int_eq((int)b.def.nstages, (int)a.def.nstages);
    pfs_rollout_rec_release(&a);
    pfs_rollout_rec_release(&b);
}

/* The after text of the newest audit row of target in PostgreSQL. */
static void last_audit(const char *action, char *after, size_t len)
{
    struct pf_error err = {0};
    const char *p[1] = {action};
    PGresult *res = NULL;

    ck_assert_msg(pfs_pg_query(pg->pg,
                               "SELECT coalesce(after::text,'') FROM audit WHERE action = $1"
                               " ORDER BY id DESC LIMIT 1",
                               1, p, &res, &err) == 0,
                  "%s", err.msg);
    ck_assert_int_eq(PQntuples(res), 1);
    snprintf(after, len, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
}

/* The same from the SQLite store's file. */
static void last_audit_sqlite(const char *action, char *after, size_t len)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *s = NULL;

    ck_assert_int_eq(sqlite3_open(dbpath, &db), SQLITE_OK);
    ck_assert_int_eq(sqlite3_prepare_v2(db,
                                        "SELECT coalesce(after,'') FROM audit WHERE action = ?1"
                                        " ORDER BY id DESC LIMIT 1",
                                        -1, &s, NULL),
                     SQLITE_OK);
    sqlite3_bind_text(s, 1, action, -1, SQLITE_STATIC);
    ck_assert_int_eq(sqlite3_step(s), SQLITE_ROW);
    snprintf(after, len, "%s", (const char *)sqlite3_column_text(s, 0));
    sqlite3_finalize(s);
    sqlite3_close(db);
}

/* The newest audit row of action is the same, byte for byte, in both. */
static void audit_same(const char *action)
{
    char a[1024], b[1024];

    last_audit_sqlite(action, a, sizeof(a));
    last_audit(action, b, sizeof(b));
    ck_assert_str_eq(b, a);
}

#define DEF(name, stages, cohort)                                                                  \
    "{\"name\":\"" name "\",\"bundle\":\"1111111111111111111111111111111111111111111111111111111"  \
    "111111111\",\"stages\":" stages ",\"cohort\":" cohort "}"

/* The SQL lists are the domain's predicates, as in SQLite. */
START_TEST(sql_lists_as_sqlite)
{
    ck_assert_str_eq(PFS_PGRO_LIVE_SQL, PFS_STORE_RO_LIVE_SQL);
    ck_assert_str_eq(PFS_PGRO_PLANNING_SQL, PFS_STORE_RO_PLANNING_SQL);
    ck_assert_str_eq(PFS_PGRO_RELEASED_SQL, PFS_STORE_RO_RELEASED_SQL);
    ck_assert_str_eq(PFS_PGRO_OFFERABLE_SQL, PFS_STORE_RO_OFFERABLE_SQL);
}
END_TEST

/* Planning: the same cohort, the same stage per terminal (first stage as
 * rows, the later ones in the plan), the same counters and audit row; the
 * terminal that runs the version already is `already`; the previous bundle
 * is recorded; opening the plan gives the same rows. */
START_TEST(create_plan_open)
{
    struct pfs_bundle_rec b = bundle(bid, "2.0.0", 100), old = bundle(prev_bid, "1.0.0", 50);
    struct pfs_ro_member_rec m1, m2;
    char serial[16], all[8192];
    int64_t id, left1 = -1, left2 = -1, next = 0;

    put_bundle(&old);
    put_bundle(&b);
    for (int i = 0; i < 40; i++) {
        snprintf(serial, sizeof(serial), "T%03d", i);
        add(serial, i == 7 ? "2.0.0" : i % 2 ? "1.0.0" : NULL, 500);
    }
    ck_assert_int_eq(pfs_pg_rollout_next_id(pg, &next), 0);
    ck_assert_int_eq(next, 1);
    id = create_both(DEF("r1", "[\"10%\",\"50%\",\"100%\"]", "{}"), &b, 2000, 0, NULL, 0);
    ck_assert_int_eq(id, 1);
    ck_assert_int_eq(pfs_pg_rollout_next_id(pg, &next), 0);
    ck_assert_int_eq(next, 2);
    rec_same(id);
    stages_same(id);
    members_same(id, -1, -1, "", 100, all, sizeof(all));
    ck_assert_ptr_nonnull(strstr(all, "T007:0:already:"));
    members_same(id, -1, -1, "", 7, NULL, 0);
    members_same(id, -1, -1, "T010", 9, NULL, 0);
    members_same(id, PFS_ROM_PENDING, 2, "", 100, NULL, 0);
    members_same(id, PFS_ROM_PENDING, 0, "", 100, NULL, 0);
    /* one member of a planned stage, with its previous bundle */
    for (int i = 0; i < 40; i++) {
        snprintf(serial, sizeof(serial), "T%03d", i);
        ck_assert_int_eq(pfs_store_rollout_member(sq, id, serial, &m1), 0);
        ck_assert_int_eq(pfs_pg_rollout_member(pg, id, serial, &m2), 0);
        ck_assert_int_eq(m2.stage, m1.stage);
        ck_assert_int_eq(m2.status, m1.status);
        ck_assert_str_eq(m2.prev_bundle, m1.prev_bundle);
        ck_assert_str_eq(m2.prev_bundle, i % 2 && i != 7 ? prev_bid : "");
    }
    ck_assert_int_eq(pfs_pg_rollout_member(pg, id, "NOPE", &m2), PF_ENOENT);
    /* the audit row, byte for byte */
    audit_same("rollout.create");
    /* opening stages 0..1 in small steps, then everything */
    ck_assert_int_eq(pfs_store_rollout_plan_open(sq, id, 1, 1, 3000, &left1), 0);
    ck_assert_int_eq(pfs_pg_rollout_plan_open(pg, id, 1, 1, 3000, &left2), 0);
    ck_assert_int_eq(left2, left1);
    ck_assert_int_eq(left2, 0);
    members_same(id, -1, -1, "", 100, NULL, 0);
    stages_same(id);
    ck_assert_int_eq(pfs_store_rollout_plan_open(sq, id, 2, 1000, 3000, &left1), 0);
    ck_assert_int_eq(pfs_pg_rollout_plan_open(pg, id, 2, 1000, 3000, &left2), 0);
    ck_assert_int_eq(left2, 0);
    members_same(id, -1, -1, "", 100, NULL, 0);
    stages_same(id);
}
END_TEST

/* A cohort that overlaps a live rollout of the kind is refused with the
 * same message; the listed-serials cohort; an empty cohort. */
START_TEST(overlap_and_errors)
{
    struct pfs_bundle_rec b = bundle(bid, "2.0.0", 100);
    char serial[16], msg1[512], msg2[512];
    int64_t id;

    put_bundle(&b);
    for (int i = 0; i < 30; i++) {
        snprintf(serial, sizeof(serial), "S%03d", i);
        add(serial, NULL, 500);
    }
    id = create_both(DEF("a", "[\"10%\",\"100%\"]", "{}"), &b, 2000, 0, NULL, 0);
    ck_assert_int_eq(id, 1);
    /* S005 is either a row (first stage) or in the plan: both are found */
    create_both(DEF("b", "[\"100%\"]", "{\"serials\":[\"S005\",\"S020\"]}"), &b, 2100, PF_EEXIST,
                msg1, sizeof(msg1));
    ck_assert_ptr_nonnull(strstr(msg1, "which is still live"));
    create_both(DEF("c", "[\"100%\"]", "{\"serials\":[\"S029\"]}"), &b, 2100, PF_EEXIST, msg2,
                sizeof(msg2));
    ck_assert_ptr_nonnull(strstr(msg2, "S029"));
    create_both(DEF("d", "[\"100%\"]", "{\"serials\":[\"NONE\"]}"), &b, 2100, PF_EINVAL, NULL, 0);
    /* after an abort the terminals are free again; ids follow SQLite's */
    {
        struct pfs_ro_change abort = {1u << PFS_RO_RUNNING, PFS_RO_ABORTED, -1,  "abort",
                                      "bad batch",          NULL,           NULL};
        struct pf_error e1 = {0}, e2 = {0};

        ck_assert_int_eq(pfs_store_rollout_change(sq, id, &abort, &ops, 2200, &e1), 0);
        ck_assert_int_eq(pfs_pg_rollout_change(pg, id, &abort, &ops, 2200, &e2), 0);
        ck_assert_int_eq(pfs_pg_rollout_change(pg, id, &abort, &ops, 2200, &e2), PF_ESTATE);
        ck_assert_int_eq(pfs_store_rollout_change(sq, id, &abort, &ops, 2200, &e1), PF_ESTATE);
        ck_assert_str_eq(e2.msg, e1.msg);
        ck_assert_int_eq(pfs_pg_rollout_change(pg, 99, &abort, &ops, 2200, &e2), PF_ENOENT);
        audit_same("rollout.abort");
    }
    stages_same(id);
    members_same(id, -1, -1, "", 100, NULL, 0);
    ck_assert_int_eq(create_both(DEF("e", "[\"100%\"]", "{\"serials\":[\"S005\",\"S020\"]}"), &b,
                                 2300, 0, NULL, 0),
                     2);
    stages_same(2);
}
END_TEST

static int count__cand(void *ctx, const struct pfs_ro_candidate *c)
{
    int *n = ctx;

    ck_assert_ptr_nonnull(c->serial);
    (*n)++;
    return *n == 3 ? 42 : 0;
}

static int count__rollout(void *ctx, const struct pfs_rollout_rec *r)
{
    int *n = ctx;

    (void)r;
    (*n)++;
    return 0;
}

static int dump__clock(void *ctx, const char *serial, const struct pfs_ro_member_clock *c)
{
    struct dump *x = ctx;

    x->len += (size_t)snprintf(x->text + x->len, sizeof(x->text) - x->len, "%s:%s:%lld:%d;", serial,
                               pfs_ro_member_names[c->status], (long long)c->since_ms, c->answered);
    return 0;
}

static int dump__reason(void *ctx, const char *status, const char *code, int64_t n)
{
    struct dump *x = ctx;

    x->len += (size_t)snprintf(x->text + x->len, sizeof(x->text) - x->len, "%s:%s:%lld;", status,
                               code, (long long)n);
    return 0;
}

static struct pf_update_event event(const char *offer, enum pf_update_status s, const char *code)
{
    struct pf_update_event e;

    memset(&e, 0, sizeof(e));
    snprintf(e.id, sizeof(e.id), "ev-%s-%d", offer, (int)s);
    snprintf(e.offer, sizeof(e.offer), "%s", offer);
    e.kind = PF_KIND_FIRMWARE;
    snprintf(e.version, sizeof(e.version), "2.0.0");
    e.status = s;
    snprintf(e.code, sizeof(e.code), "%s", code);
    return e;
}

/* Members moved: offers, outcome events (in a transaction of the caller),
 * the time rules' moves and touches, an operator's retry/skip with its audit
 * row, an unofferable member, pause/resume/rollback; reads of the scheduler. */
START_TEST(members_move)
{
    struct pfs_bundle_rec b = bundle(bid, "2.0.0", 100), old = bundle(prev_bid, "1.0.0", 50);
    struct pfs_ro_change pause = {
            1u << PFS_RO_RUNNING, PFS_RO_PAUSED, -1, "pause", "manual", "look", NULL};
    struct pfs_ro_change resume = {
            1u << PFS_RO_PAUSED, PFS_RO_RUNNING, 1, "resume", NULL, NULL, NULL};
    struct pfs_ro_change back = {
            1u << PFS_RO_RUNNING, PFS_RO_ROLLING_BACK, -1, "rollback", "bad", NULL, NULL};
    struct pf_error e1 = {0}, e2 = {0};
    struct dump d1 = {0}, d2 = {0};
    char serial[16], got[512];
    enum pfs_ro_member f1, t1, f2, t2;
    int64_t id, n1 = 0, n2 = 0, left = 0;
    bool more = false, any = false, exact = false;
    int n = 0;

    put_bundle(&old);
    put_bundle(&b);
    for (int i = 0; i < 6; i++) {
        snprintf(serial, sizeof(serial), "M%03d", i);
        add(serial, "1.0.0", 500);
    }
    id = create_both(DEF("m", "[\"100%\"]", "{}"), &b, 2000, 0, NULL, 0);
    /* offers: M000..M002 */
    for (int i = 0; i < 3; i++) {
        struct pfs_offer_rec o = {0};

        snprintf(o.id, sizeof(o.id), "of-%d", i);
        snprintf(o.serial, sizeof(o.serial), "M%03d", i);
        snprintf(o.bundle, sizeof(o.bundle), "%s", bid);
        o.created_ms = 3000 + i;
        o.deadline_ms = 900000;
        ck_assert_msg(pfs_store_rollout_offer(sq, id, &o, &b, "body", &e1) == 0, "%s", e1.msg);
        ck_assert_msg(pfs_pg_rollout_offer(pg, id, &o, &b, "body", &e2) == 0, "%s", e2.msg);
        ck_assert_int_eq(pfs_store_rollout_offer(sq, id, &o, &b, "body", &e1), PF_ESTATE);
        ck_assert_int_eq(pfs_pg_rollout_offer(pg, id, &o, &b, "body", &e2), PF_ESTATE);
        ck_assert_str_eq(e2.msg, e1.msg);
    }
    members_same(id, -1, -1, "", 100, NULL, 0);
    stages_same(id);
    /* candidates with the cursor, and online joined */
    {
        struct dump a = {0}, c = {0};
        bool m1 = false, m2 = false;

        ck_assert_int_eq(pfs_store_rollout_candidates(sq, id, PFS_ROM_PENDING, 0, 0, "M003", 1,
                                                      dump__member, &a, &m1),
                         0);
        ck_assert_int_eq(pfs_pg_rollout_candidates(pg, id, PFS_ROM_PENDING, 0, 0, "M003", 1,
                                                   dump__member, &c, &m2),
                         0);
        ck_assert_str_eq(c.text, a.text);
        ck_assert_str_eq(c.text, "M004:0:pending:::1;");
        ck_assert(m1 && m2);
    }
    ck_assert_int_eq(pfs_pg_rollout_pending_online(pg, id, 0, &any), 0);
    ck_assert(any);
    /* outcome events in the caller's transaction: M000 installed, M001 failed */
    {
        struct pf_update_event ok = event("of-0", PF_UPD_SUCCESS, "");
        struct pf_update_event bad = event("of-1", PF_UPD_FAILED, "E_FLASH");
        struct pfs_tx *tx = NULL;
        struct pf_error err = {0};

        ck_assert_int_eq(pfs_store_tx_begin(sq, PFS_DURABILITY_FULL, 4000, &tx, &err), 0);
        ck_assert_int_eq(pfs_store_rollout_on_event(tx, "M000", &ok, 4000), 0);
        ck_assert_int_eq(pfs_store_rollout_on_event(tx, "M001", &bad, 4001), 0);
        ck_assert_int_eq(pfs_store_tx_commit(tx, &err), 0);
        sql("BEGIN");
        pg->tx.open = true;
        ck_assert_int_eq(pfs_pg_rollout_on_event(&pg->tx, "M000", &ok, 4000), 0);
        ck_assert_int_eq(pfs_pg_rollout_on_event(&pg->tx, "M001", &bad, 4001), 0);
        sql("COMMIT");
        pg->tx.open = false;
    }
    members_same(id, -1, -1, "", 100, NULL, 0);
    stages_same(id);
    ck_assert_int_eq(pfs_store_rollout_failures(sq, id, dump__reason, &d1), 0);
    ck_assert_int_eq(pfs_pg_rollout_failures(pg, id, dump__reason, &d2), 0);
    ck_assert_str_eq(d2.text, d1.text);
    ck_assert_str_eq(d2.text, "failed:E_FLASH:1;");
    /* clocks, a touch, the time rules' moves (one stale) */
    ck_assert_int_eq(pfs_store_rollout_touch(sq, id, "M002", PFS_ROM_OFFERED, 4500), 0);
    ck_assert_int_eq(pfs_pg_rollout_touch(pg, id, "M002", PFS_ROM_OFFERED, 4500), 0);
    memset(&d1, 0, sizeof(d1));
    memset(&d2, 0, sizeof(d2));
    ck_assert_int_eq(pfs_store_rollout_clocks(sq, id, 1u << PFS_ROM_OFFERED | 1u << PFS_ROM_PENDING,
                                              dump__clock, &d1),
                     0);
    ck_assert_int_eq(pfs_pg_rollout_clocks(pg, id, 1u << PFS_ROM_OFFERED | 1u << PFS_ROM_PENDING,
                                           dump__clock, &d2),
                     0);
    ck_assert_str_eq(d2.text, d1.text);
    {
        struct pfs_ro_move mv1[2] = {{"M002", PFS_ROM_OFFERED, PFS_ROM_TIMED_OUT, "TIMEOUT", false},
                                     {"M003", PFS_ROM_OFFERED, PFS_ROM_TIMED_OUT, NULL, false}};
        struct pfs_ro_move mv2[2] = {{"M002", PFS_ROM_OFFERED, PFS_ROM_TIMED_OUT, "TIMEOUT", false},
                                     {"M003", PFS_ROM_OFFERED, PFS_ROM_TIMED_OUT, NULL, false}};

        ck_assert_int_eq(pfs_store_rollout_moves(sq, id, mv1, 2, 5000, &n1), 0);
        ck_assert_int_eq(pfs_pg_rollout_moves(pg, id, mv2, 2, 5000, &n2), 0);
        ck_assert_int_eq(n2, n1);
        ck_assert_int_eq(n2, 1);
        ck_assert(mv2[0].applied && !mv2[1].applied);
    }
    /* an operator's retry of the timed-out member, and a refused skip */
    ck_assert_int_eq(pfs_store_rollout_member_act(sq, id, "M002", PFS_ROE_RETRY, "retry", "again",
                                                  &ops, 5100, &f1, &t1, &e1),
                     0);
    ck_assert_int_eq(pfs_pg_rollout_member_act(pg, id, "M002", PFS_ROE_RETRY, "retry", "again",
                                               &ops, 5100, &f2, &t2, &e2),
                     0);
    ck_assert_int_eq(f2, f1);
    ck_assert_int_eq(t2, t1);
    audit_same("rollout.member.retry");
    last_audit("rollout.member.retry", got, sizeof(got));
    {
        char *w = pfs_rec_member_after_text(pfs_ro_member_names[t1], "again");

        ck_assert_str_eq(got, w);
        free(w);
    }
    ck_assert_int_eq(pfs_store_rollout_member_act(sq, id, "M000", PFS_ROE_DROP, "skip", "no", &ops,
                                                  5200, &f1, &t1, &e1),
                     PF_ESTATE);
    ck_assert_int_eq(pfs_pg_rollout_member_act(pg, id, "M000", PFS_ROE_DROP, "skip", "no", &ops,
                                               5200, &f2, &t2, &e2),
                     PF_ESTATE);
    ck_assert_str_eq(e2.msg, e1.msg);
    ck_assert_int_eq(pfs_pg_rollout_member_act(pg, id, "ZZZ", PFS_ROE_DROP, "skip", "no", &ops,
                                               5200, &f2, &t2, &e2),
                     PF_ENOENT);
    ck_assert_int_eq(pfs_store_rollout_member_act(sq, id, "ZZZ", PFS_ROE_DROP, "skip", "no", &ops,
                                                  5200, &f1, &t1, &e1),
                     PF_ENOENT);
    ck_assert_str_eq(e2.msg, e1.msg);
    /* an unofferable member */
    ck_assert_int_eq(pfs_store_rollout_member_fail(sq, id, "M005", "NO_MODEL", 5300), 0);
    ck_assert_int_eq(pfs_pg_rollout_member_fail(pg, id, "M005", "NO_MODEL", 5300), 0);
    members_same(id, -1, -1, "", 100, NULL, 0);
    stages_same(id);
    /* pause, resume (base), then roll back */
    ck_assert_int_eq(pfs_store_rollout_change(sq, id, &pause, &ops, 6000, &e1), 0);
    ck_assert_int_eq(pfs_pg_rollout_change(pg, id, &pause, &ops, 6000, &e2), 0);
    rec_same(id);
    ck_assert_int_eq(pfs_store_rollout_change(sq, id, &resume, &ops, 6100, &e1), 0);
    ck_assert_int_eq(pfs_pg_rollout_change(pg, id, &resume, &ops, 6100, &e2), 0);
    rec_same(id);
    ck_assert_int_eq(pfs_store_rollout_change(sq, id, &back, &ops, 6200, &e1), 0);
    ck_assert_int_eq(pfs_pg_rollout_change(pg, id, &back, &ops, 6200, &e2), 0);
    rec_same(id);
    members_same(id, -1, -1, "", 100, NULL, 0);
    stages_same(id);
    audit_same("rollout.rollback");
    audit_same("rollout.pause");
    audit_same("rollout.resume");
    last_audit("rollout.rollback", got, sizeof(got));
    {
        char *w = pfs_rec_rollout_change_text("running", "rolling_back", "bad", NULL, NULL, NULL);

        ck_assert_str_eq(got, w);
        free(w);
    }
    /* reads */
    ck_assert_int_eq(pfs_pg_rollout_unhealthy(pg, id, 0, &n2), 0);
    ck_assert_int_eq(pfs_store_rollout_unhealthy(sq, id, 0, &n1), 0);
    ck_assert_int_eq(n2, n1);
    ck_assert_int_eq(pfs_pg_rollout_settle(pg, id, 0, 7000), 0);
    ck_assert_int_eq(pfs_store_rollout_settle(sq, id, 0, 7000), 0);
    stages_same(id);
    n = 0;
    ck_assert_int_eq(pfs_pg_rollout_list(pg, true, 10, count__rollout, &n), 0);
    ck_assert_int_eq(n, 1);
    n = 0;
    ck_assert_int_eq(pfs_pg_rollout_list_in(pg, "/1/2/", false, 10, count__rollout, &n), 0);
    ck_assert_int_eq(n, 0);
    n = 0;
    ck_assert_int_eq(pfs_pg_rollout_scan(pg, count__cand, &n), 42);
    ck_assert_int_eq(n, 3);
    ck_assert_int_eq(pfs_pg_rollout_plan_open(pg, id, 0, 100, 7000, &left), 0);
    ck_assert_int_eq(left, 0);
    ck_assert_int_eq(pfs_pg_rollout_check_counts(pg, id, &exact), 0);
    ck_assert(exact);
    (void)more;
}
END_TEST

/* Late joiners enter the open stage; a swap hands the membership to the
 * new terminal (inside the swap's transaction); an approval rollout waits
 * and records its digest; the API's audit rows. */
START_TEST(join_swap_approval)
{
    struct pfs_bundle_rec b = bundle(bid, "2.0.0", 100);
    struct pfs_rollout_rec r1, r2;
    struct pf_error err = {0};
    char got[512];
    int64_t id, a1 = 0, a2 = 0;

    put_bundle(&b);
    add("J000", NULL, 500);
    add("J001", NULL, 500);
    id = create_both(DEF("j", "[\"50%\",\"100%\"]", "{}"), &b, 2000, 0, NULL, 0);
    add("J002", NULL, 2500);
    add("J003", NULL, 2600);
    ck_assert_int_eq(pfs_store_rollout_get(sq, id, &r1), 0);
    ck_assert_int_eq(pfs_pg_rollout_get(pg, id, &r2), 0);
    ck_assert_int_eq(pfs_store_rollout_join(sq, &r1, 3000, &a1), 0);
    ck_assert_int_eq(pfs_pg_rollout_join(pg, &r2, 3000, &a2), 0);
    pfs_rollout_rec_release(&r1);
    pfs_rollout_rec_release(&r2);
    ck_assert_int_eq(a2, a1);
    ck_assert_int_eq(a2, 2);
    rec_same(id);
    members_same(id, -1, -1, "", 100, NULL, 0);
    stages_same(id);
    /* swap a member of the planned stage and one with a row */
    add("N000", NULL, 3500);
    add("N001", NULL, 3500);
    {
        struct pfs_tx *tx = NULL;

        ck_assert_int_eq(pfs_store_tx_begin(sq, PFS_DURABILITY_FULL, 4000, &tx, &err), 0);
        ck_assert_int_eq(pfs_store_rollout_swap(NULL, tx, "J000", "N000", &err), 0);
        ck_assert_int_eq(pfs_store_rollout_swap(NULL, tx, "J001", "N001", &err), 0);
        ck_assert_int_eq(pfs_store_tx_commit(tx, &err), 0);
        sql("BEGIN");
        pg->tx.open = true;
        ck_assert_msg(pfs_pg_rollout_swap(NULL, &pg->tx, "J000", "N000", &err) == 0, "%s", err.msg);
        ck_assert_msg(pfs_pg_rollout_swap(NULL, &pg->tx, "J001", "N001", &err) == 0, "%s", err.msg);
        sql("COMMIT");
        pg->tx.open = false;
    }
    members_same(id, -1, -1, "", 100, NULL, 0);
    stages_same(id);
    /* four eyes */
    add("A000", NULL, 500);
    ck_assert_int_eq(create_both_as(DEF("ap", "[\"100%\"]", "{\"serials\":[\"A000\"]}"), &b, 5000,
                                    true, 0, NULL, 0),
                     2);
    ck_assert_int_eq(pfs_store_rollout_approval_digest(sq, 2, "abcd"), 0);
    ck_assert_int_eq(pfs_pg_rollout_approval_digest(pg, 2, "abcd"), 0);
    rec_same(2);
    stages_same(2);
    members_same(2, -1, -1, "", 100, NULL, 0);
    ck_assert_int_eq(pfs_pg_rollout_audit(pg, id, &ops, 9000, "preview", "{\"b\":1, \"a\":2}"), 0);
    last_audit("rollout.preview", got, sizeof(got));
    ck_assert_str_eq(got, "{\"a\":2,\"b\":1}");
    ck_assert_int_eq(pfs_store_rollout_audit(sq, id, &ops, 9000, "preview", "{\"b\":1, \"a\":2}"),
                     0);
    audit_same("rollout.preview");
    ck_assert_int_eq(pfs_pg_rollout_audit(pg, id, &ops, 9000, "preview", "not json"), PF_EINVAL);
}
END_TEST

/* The integer of a query on the store under test. */
static int64_t pg_int(const char *text)
{
    struct pf_error err = {0};
    int64_t v = -1;

    ck_assert_msg(pfs_pgro_int(pg->pg, text, 0, NULL, &v, &err) == 0, "%s: %s", text, err.msg);
    return v;
}

/* Two instances planning over the same terminals at the same moment: they
 * take turns (the advisory lock of the writes that add members), so the
 * second sees the first's members and is refused; without the turns both
 * would decide from the same snapshot. */
START_TEST(instances_plan_in_turn)
{
    struct pfs_bundle_rec b = bundle(bid, "2.0.0", 100);
    struct pf_error err = {0};
    PGresult *res = NULL;
    pid_t kids[2];
    int codes[3] = {0, 0, 0}, status = 0;
    char serial[16];
    struct timespec t0, t;

    put_bundle(&b);
    for (int i = 0; i < 10; i++) {
        snprintf(serial, sizeof(serial), "C%03d", i);
        add(serial, NULL, 500);
    }
    /* hold the lock so both instances queue behind it */
    sql("BEGIN");
    ck_assert_msg(pfs_pg_query(pg->pg, PFS_PGRO_LOCK_SQL, 0, NULL, &res, &err) == 0, "%s", err.msg);
    PQclear(res);
    for (int i = 0; i < 2; i++) {
        kids[i] = fork();
        ck_assert_int_ge(kids[i], 0);
        if (kids[i] == 0) {
            struct pfs_pg_store *mine = NULL;
            struct pfs_ro_def d;
            struct pfs_ro_plan_stats s;
            char text[512];
            int64_t id = 0;
            int rc;

            snprintf(text, sizeof(text), DEF("k%d", "[\"100%%\"]", "{}"), i);
            def_of(text, &d);
            if (pfs_pg_store_open(pgdsn, &mine, &err) != 0)
                _exit(1);
            rc = pfs_pg_rollout_create(mine, &d, &b, text, &ops, 2000, &id, &s, &err);
            pfs_pg_store_close(mine);
            _exit(rc == 0 ? 0 : rc == PF_EEXIST ? 2 : 1);
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        int64_t waiting = pg_int("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"
                                 " AND NOT granted");

        if (waiting == 2)
            break;
        clock_gettime(CLOCK_MONOTONIC, &t);
        ck_assert_msg(t.tv_sec - t0.tv_sec < 30, "the instances never queued (%lld waiting)",
                      (long long)waiting);
        usleep(20000);
    }
    sql("COMMIT");
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(waitpid(kids[i], &status, 0), kids[i]);
        ck_assert(WIFEXITED(status));
        ck_assert_int_le(WEXITSTATUS(status), 2);
        codes[WEXITSTATUS(status)]++;
    }
    ck_assert_int_eq(codes[0], 1);
    ck_assert_int_eq(codes[2], 1);
    ck_assert_int_eq(pg_int("SELECT count(*) FROM rollouts"), 1);
    ck_assert_int_eq(pg_int("SELECT count(*) FROM rollout_members"), 10);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("pg_rollouts");
    TCase *tc = tcase_create("rollouts");

    tcase_add_unchecked_fixture(tc, server_up, server_down);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, sql_lists_as_sqlite);
    tcase_add_test(tc, create_plan_open);
    tcase_add_test(tc, overlap_and_errors);
    tcase_add_test(tc, members_move);
    tcase_add_test(tc, join_swap_approval);
    tcase_add_test(tc, instances_plan_in_turn);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return pf_test_run(suite());
}
