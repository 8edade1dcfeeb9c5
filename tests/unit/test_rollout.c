/*
 * test_rollout.c - the rollout rules applied through the SQLite store: planning, overlap refusal,
 * offers and events moving members with exact counters, decided moves applied only from the status
 * they were decided from, the time rules, swaps, abort. The rules alone,
 * without a database: test_rollout_def.c, test_rollout_plan.c,
 * test_rollout_member.c, test_zone.c.
 */
#include <check.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "rollouts/rollout_def.h"
#include "rollouts/rollout_plan.h"
#include "rollouts/rollout_time.h"
#include "store/store.h"
#include "store/store_rollouts.h"
#include "store/sqlite/store_rollouts_internal.h"
#include "store/sqlite/store_sqlite_internal.h"
#include "store/store_updates.h"
#include "testutil.h"

static char dir[256];
static char dbpath[300];
static const struct pfs_actor ops = {.name = "alice", .role = "ops"};
static const char bundle_a[] = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
static const char bundle_f[] = "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff";

static void setup(void)
{
    pf_test_tmpdir(dir, sizeof(dir));
    snprintf(dbpath, sizeof(dbpath), "%s/s.db", dir);
}

static void teardown(void)
{
    pf_test_rmtree(dir);
}

static int parse(const char *text, struct pfs_ro_def *d, struct pf_error *err)
{
    json_t *o = json_loads(text, 0, NULL);
    int rc;

    ck_assert_ptr_nonnull(o);
    rc = pfs_ro_def_parse(o, 1000000, d, err);
    json_decref(o);
    return rc;
}

#define BUNDLE_A "\"bundle\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\""

/* "('a','b')" of the names whose predicate holds. */
static void sql_list(const char *const *names, int n, bool (*pred)(int), char *out, size_t len)
{
    size_t at = (size_t)snprintf(out, len, "(");

    for (int i = 0; i < n; i++) {
        if (pred(i))
            at += (size_t)snprintf(out + at, len - at, "%s'%s'", at > 1 ? "," : "", names[i]);
    }
    snprintf(out + at, len - at, ")");
}

static bool live(int s)
{
    return pfs_ro_state_live((enum pfs_ro_state)s);
}

static bool plans(int s)
{
    return pfs_ro_state_plans((enum pfs_ro_state)s);
}

static bool released(int s)
{
    return !pfs_ro_member_holds((enum pfs_ro_member)s);
}

static bool offerable(int s)
{
    enum pfs_ro_member to;

    return pfs_ro_member_next((enum pfs_ro_member)s, PFS_ROE_OFFER, &to) == 0;
}

/* The store selects by the domain's predicates through fixed SQL lists: they
 * must say exactly what the predicates say. */
START_TEST(sql_lists_follow_the_rules)
{
    char want[256];

    sql_list(pfs_ro_state_names, PFS_RO_STATE_COUNT, live, want, sizeof(want));
    ck_assert_str_eq(PFS_STORE_RO_LIVE_SQL, want);
    sql_list(pfs_ro_state_names, PFS_RO_STATE_COUNT, plans, want, sizeof(want));
    ck_assert_str_eq(PFS_STORE_RO_PLANNING_SQL, want);
    sql_list(pfs_ro_member_names, PFS_ROM_COUNT, released, want, sizeof(want));
    ck_assert_str_eq(PFS_STORE_RO_RELEASED_SQL, want);
    sql_list(pfs_ro_member_names, PFS_ROM_COUNT, offerable, want, sizeof(want));
    ck_assert_str_eq(PFS_STORE_RO_OFFERABLE_SQL, want);
}
END_TEST

/* The time rules without an offer timeout or a deferral limit: an unanswered
 * offer returns to pending at its deadline. */
static int expire_old(struct pfs_store *st, int64_t id, int64_t now_ms, int64_t timeout_ms,
                      int64_t *timed, int64_t *returned)
{
    struct pfs_ro_time_rules t = {timeout_ms, 0, 0, 0, 0};
    struct pfs_ro_expired ex;
    int rc = pfs_ro_expire(st, id, now_ms, &t, &ex);

    *timed = ex.timed_out;
    *returned = ex.returned;
    return rc;
}

/* --- store --- */

static struct pfs_store *open_store(void)
{
    struct pfs_store_opts o = {.path = dbpath};
    struct pfs_store *st = NULL;
    struct pf_error err = {0};

    ck_assert_int_eq(pfs_store_open(&o, &st, &err), 0);
    return st;
}

static void add_devices(struct pfs_store *st, const char *prefix, int n, const char *model)
{
    struct pf_error err = {0};

    for (int i = 0; i < n; i++) {
        struct pfs_device d = {0};

        snprintf(d.serial, sizeof(d.serial), "%s%04d", prefix, i);
        snprintf(d.model, sizeof(d.model), "%s", model);
        ck_assert_int_eq(pfs_store_device_add(st, &d, &ops, 1000, &err), 0);
    }
}

static void put_bundle(struct pfs_store *st, const char *id, int kind, const char *version)
{
    struct pfs_bundle_rec b = {0};
    struct pf_error err = {0};
    bool created;

    snprintf(b.id, sizeof(b.id), "%s", id);
    b.kind = kind;
    snprintf(b.version, sizeof(b.version), "%s", version);
    snprintf(b.models, sizeof(b.models), "PX-500");
    snprintf(b.hw_revs, sizeof(b.hw_revs), "A,B");
    b.size = 4096;
    memset(b.manifest, 'e', PF_B2_HEX_LEN);
    b.expires_s = 4000000000LL;
    ck_assert_int_eq(pfs_store_bundle_put(st, &b, &ops, 1000, &created, &err), 0);
}

static int64_t create(struct pfs_store *st, const char *def, int *rc_out, struct pf_error *err)
{
    struct pfs_ro_def d;
    struct pfs_bundle_rec b;
    struct pfs_ro_plan_stats stats;
    int64_t id = 0;
    json_t *dj;
    char *text;

    ck_assert_int_eq(parse(def, &d, err), 0);
    ck_assert_int_eq(pfs_store_bundle_get(st, d.bundle, &b), 0);
    dj = pfs_ro_def_to_json(&d);
    text = json_dumps(dj, JSON_COMPACT);
    *rc_out = pfs_store_rollout_create(st, &d, &b, text, &ops, 2000000, &id, &stats, err);
    free(text);
    json_decref(dj);
    pfs_ro_def_release(&d);
    return id;
}

static void assert_exact(struct pfs_store *st, int64_t id)
{
    bool exact = false;

    ck_assert_int_eq(pfs_store_rollout_check_counts(st, id, &exact), 0);
    ck_assert_msg(exact, "counters differ from the members of rollout %lld", (long long)id);
}

static int64_t count_of(struct pfs_store *st, int64_t id, int stage, enum pfs_ro_member m)
{
    struct pfs_ro_stage_rec s[PFS_RO_STAGES_MAX];
    size_t n = 0;
    int64_t sum = 0;

    ck_assert_int_eq(pfs_store_rollout_stages(st, id, s, &n), 0);
    for (size_t k = 0; k < n; k++) {
        if (stage < 0 || (int)k == stage)
            sum += s[k].counts[m];
    }
    return sum;
}

START_TEST(plan_stages_overlap)
{
    struct pfs_store *st = open_store();
    struct pf_error err = {0};
    struct pfs_ro_member_rec m;
    int rc;
    int64_t id, id2;

    add_devices(st, "T", 200, "PX-500");
    add_devices(st, "Q", 5, "QX-9"); /* not a target of the bundle */
    put_bundle(st, bundle_a, PF_KIND_FIRMWARE, "2.0.0");
    put_bundle(st, bundle_f, PF_KIND_FEETABLE, "7");
    id = create(st, "{" BUNDLE_A ",\"stages\":[\"10%\",\"50%\",\"100%\"]}", &rc, &err);
    ck_assert_msg(rc == 0, "%s", err.msg);
    ck_assert_int_eq(count_of(st, id, 0, PFS_ROM_PENDING), 20);
    ck_assert_int_eq(count_of(st, id, 1, PFS_ROM_PENDING), 80);
    ck_assert_int_eq(count_of(st, id, 2, PFS_ROM_PENDING), 100);
    assert_exact(st, id);
    ck_assert_int_eq(pfs_store_rollout_member(st, id, "Q0000", &m), PF_ENOENT);
    /* the stage of each member follows from the hash order alone */
    {
        int below = 0;
        uint64_t max0 = 0;

        for (int i = 0; i < 200; i++) {
            char serial[16];

            snprintf(serial, sizeof(serial), "T%04d", i);
            ck_assert_int_eq(pfs_store_rollout_member(st, id, serial, &m), 0);
            if (m.stage == 0 && pfs_ro_hash(id, serial) > max0)
                max0 = pfs_ro_hash(id, serial);
        }
        for (int i = 0; i < 200; i++) {
            char serial[16];

            snprintf(serial, sizeof(serial), "T%04d", i);
            below += pfs_ro_hash(id, serial) <= max0;
        }
        ck_assert_int_eq(below, 20);
    }
    /* another firmware rollout over the same terminals: refused, nothing stored */
    id2 = create(st, "{" BUNDLE_A ",\"stages\":[\"100%\"]}", &rc, &err);
    ck_assert_int_eq(rc, PF_EEXIST);
    ck_assert(strstr(err.msg, "is already in rollout") != NULL);
    {
        struct pfs_rollout_rec r;

        ck_assert_int_eq(pfs_store_rollout_get(st, id + 1, &r), PF_ENOENT);
    }
    /* a fee-table rollout over them is fine; a stage rounding to zero is refused */
    id2 = create(st,
                 "{\"bundle\":\"ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff\","
                 "\"stages\":[\"0.1%\",\"100%\"]}",
                 &rc, &err);
    ck_assert_int_eq(rc, PF_EINVAL);
    ck_assert_str_eq(err.msg, "stage 1 (0.1%) rounds to 0 of 200 terminals");
    id2 = create(st,
                 "{\"bundle\":\"ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff\","
                 "\"stages\":[5,\"100%\"],\"cohort\":{\"serials\":[\"T0001\",\"T0002\",\"T0003\","
                 "\"T0004\",\"T0005\",\"T0006\",\"Q0001\",\"T0002\"]}}",
                 &rc, &err);
    ck_assert_msg(rc == 0, "%s", err.msg);
    ck_assert_int_eq(count_of(st, id2, 0, PFS_ROM_PENDING), 5);
    ck_assert_int_eq(count_of(st, id2, 1, PFS_ROM_PENDING), 1);
    pfs_store_close(st);
}
END_TEST

static void event(struct pfs_store *st, const char *serial, const char *offer, const char *eid,
                  enum pf_update_status status, const char *code)
{
    struct pf_update_event e = {0};
    bool recorded = false;

    snprintf(e.id, sizeof(e.id), "%s", eid);
    snprintf(e.offer, sizeof(e.offer), "%s", offer);
    ck_assert_int_eq(pf_b2_from_hex(bundle_a, e.bundle), 0);
    e.kind = PF_KIND_FIRMWARE;
    snprintf(e.version, sizeof(e.version), "2.0.0");
    e.status = status;
    e.ts_ms = 5;
    if (code)
        snprintf(e.code, sizeof(e.code), "%s", code);
    ck_assert_int_eq(pfs_store_update_event_put(st, serial, &e, 3000000, &recorded), 0);
}

static int count_cb(void *ctx, const char *serial)
{
    (void)serial;
    ++*(int *)ctx;
    return 0;
}

static void offer(struct pfs_store *st, int64_t id, const char *serial, const char *oid,
                  int64_t now)
{
    struct pfs_offer_rec o = {0};
    struct pfs_bundle_rec b;
    struct pf_error err = {0};

    ck_assert_int_eq(pfs_store_bundle_get(st, bundle_a, &b), 0);
    snprintf(o.id, sizeof(o.id), "%s", oid);
    snprintf(o.serial, sizeof(o.serial), "%s", serial);
    snprintf(o.bundle, sizeof(o.bundle), "%s", bundle_a);
    o.created_ms = now;
    o.deadline_ms = now + 1000;
    ck_assert_int_eq(pfs_store_rollout_offer(st, id, &o, &b, "{}", &err), 0);
}

START_TEST(offers_events_and_time_rules)
{
    struct pfs_store *st = open_store();
    struct pf_error err = {0};
    struct pfs_ro_member_rec m;
    struct pfs_offer_rec o = {0};
    struct pfs_bundle_rec b;
    int64_t id, timed, returned;
    int rc;

    add_devices(st, "T", 10, "PX-500");
    put_bundle(st, bundle_a, PF_KIND_FIRMWARE, "2.0.0");
    id = create(st, "{" BUNDLE_A ",\"stages\":[\"100%\"],\"timeout_s\":600}", &rc, &err);
    ck_assert_msg(rc == 0, "%s", err.msg);
    offer(st, id, "T0001", "o1", 2000000);
    offer(st, id, "T0002", "o2", 2000000);
    offer(st, id, "T0003", "o3", 2000000);
    offer(st, id, "T0004", "o4", 2000000);
    /* unanswered for retry_s: sent again (same offer), then not before retry_s again */
    {
        int n = 0;

        ck_assert_int_eq(pfs_ro_resend(st, id, 2000000 + 500, 1000, 100, count_cb, &n), 0);
        ck_assert_int_eq(n, 0);
        ck_assert_int_eq(pfs_ro_resend(st, id, 2000000 + 1001, 1000, 100, count_cb, &n), 0);
        ck_assert_int_eq(n, 4);
        ck_assert_int_eq(pfs_ro_resend(st, id, 2000000 + 1500, 1000, 100, count_cb, &n), 0);
        ck_assert_int_eq(n, 4);
        ck_assert_int_eq(count_of(st, id, 0, PFS_ROM_OFFERED), 4);
    }
    /* a second offer to an offered member is refused and writes nothing */
    ck_assert_int_eq(pfs_store_bundle_get(st, bundle_a, &b), 0);
    snprintf(o.id, sizeof(o.id), "o1b");
    snprintf(o.serial, sizeof(o.serial), "T0001");
    snprintf(o.bundle, sizeof(o.bundle), "%s", bundle_a);
    ck_assert_int_eq(pfs_store_rollout_offer(st, id, &o, &b, "{}", &err), PF_ESTATE);
    ck_assert_int_eq(count_of(st, id, 0, PFS_ROM_OFFERED), 4);
    event(st, "T0001", "o1", "e1", PF_UPD_DOWNLOADING, NULL);
    event(st, "T0001", "o1", "e2", PF_UPD_SUCCESS, NULL);
    event(st, "T0001", "o1", "e3", PF_UPD_DOWNLOADING, NULL); /* after a final: ignored */
    event(st, "T0002", "o2", "e1", PF_UPD_ROLLED_BACK, "SELFTEST");
    event(st, "T0003", "o3", "e1", PF_UPD_DOWNLOADING, NULL);
    ck_assert_int_eq(pfs_store_rollout_member(st, id, "T0001", &m), 0);
    ck_assert_int_eq(m.status, PFS_ROM_INSTALLED);
    ck_assert_int_eq(pfs_store_rollout_member(st, id, "T0002", &m), 0);
    ck_assert_int_eq(m.status, PFS_ROM_ROLLED_BACK);
    ck_assert_str_eq(m.code, "SELFTEST");
    assert_exact(st, id);
    /* T0003 downloading since 3000000 times out; T0004 never answered: offered again */
    ck_assert_int_eq(expire_old(st, id, 3000000 + 600001, 600000, &timed, &returned), 0);
    ck_assert_int_eq(timed, 1);
    ck_assert_int_eq(returned, 1);
    ck_assert_int_eq(pfs_store_rollout_member(st, id, "T0003", &m), 0);
    ck_assert_int_eq(m.status, PFS_ROM_TIMED_OUT);
    ck_assert_int_eq(pfs_store_rollout_member(st, id, "T0004", &m), 0);
    ck_assert_int_eq(m.status, PFS_ROM_PENDING);
    ck_assert_int_eq(m.attempts, 1);
    /* an offer dropped at its deadline before it started is offered again, not a failure */
    offer(st, id, "T0005", "o5", 3000000);
    event(st, "T0005", "o5", "e1", PF_UPD_DEFERRED, NULL);
    event(st, "T0005", "o5", "e2", PF_UPD_FAILED, "DEADLINE");
    ck_assert_int_eq(pfs_store_rollout_member(st, id, "T0005", &m), 0);
    ck_assert_int_eq(m.status, PFS_ROM_PENDING);
    /* offered again (the first offer unanswered for retry_s): the first offer's success
     * still installs the member */
    ck_assert_int_eq(expire_old(st, id, 3000000 + 700000, 600000, &timed, &returned), 0);
    ck_assert_int_eq(pfs_store_rollout_member(st, id, "T0004", &m), 0);
    ck_assert_int_eq(m.status, PFS_ROM_PENDING);
    offer(st, id, "T0004", "o4b", 3000000 + 700001);
    event(st, "T0004", "o4", "e1", PF_UPD_SUCCESS, NULL);
    ck_assert_int_eq(pfs_store_rollout_member(st, id, "T0004", &m), 0);
    ck_assert_int_eq(m.status, PFS_ROM_INSTALLED);
    /* a late outcome replaces the timeout */
    event(st, "T0003", "o3", "e2", PF_UPD_SUCCESS, NULL);
    ck_assert_int_eq(pfs_store_rollout_member(st, id, "T0003", &m), 0);
    ck_assert_int_eq(m.status, PFS_ROM_INSTALLED);
    assert_exact(st, id);
    pfs_store_close(st);
}
END_TEST

struct clocks {
    int n;
    bool answered;
    int64_t offered_ms;
};

static int clocks_cb(void *ctx, const char *serial, const struct pfs_ro_member_clock *c)
{
    struct clocks *k = ctx;

    ck_assert_str_eq(serial, "T0001");
    ck_assert_int_eq(c->status, PFS_ROM_OFFERED);
    k->n++;
    k->answered = c->answered;
    k->offered_ms = c->offered_ms;
    return 0;
}

/* The store applies a decided move only from the status it was decided from,
 * and hands the time rules the clocks they need. */
START_TEST(store_applies_decided_moves)
{
    struct pfs_store *st = open_store();
    struct pf_error err = {0};
    struct pfs_ro_member_rec m;
    struct pfs_ro_move mv[2] = {{"T0001", PFS_ROM_PENDING, PFS_ROM_SKIPPED, NULL, false},
                                {"T0002", PFS_ROM_PENDING, PFS_ROM_SKIPPED, "GONE", false}};
    struct clocks k = {0};
    int64_t id, moved = -1;
    int rc;

    add_devices(st, "T", 4, "PX-500");
    put_bundle(st, bundle_a, PF_KIND_FIRMWARE, "2.0.0");
    id = create(st, "{" BUNDLE_A ",\"stages\":[\"100%\"]}", &rc, &err);
    ck_assert_msg(rc == 0, "%s", err.msg);
    offer(st, id, "T0001", "o1", 2000000);
    ck_assert_int_eq(pfs_store_rollout_moves(st, id, mv, 2, 2000001, &moved), 0);
    ck_assert_int_eq(moved, 1);
    ck_assert(!mv[0].applied && mv[1].applied);
    ck_assert_int_eq(pfs_store_rollout_member(st, id, "T0001", &m), 0);
    ck_assert_int_eq(m.status, PFS_ROM_OFFERED);
    ck_assert_int_eq(pfs_store_rollout_member(st, id, "T0002", &m), 0);
    ck_assert_int_eq(m.status, PFS_ROM_SKIPPED);
    ck_assert_str_eq(m.code, "GONE");
    ck_assert_int_eq(m.since_ms, 2000001);
    assert_exact(st, id);
    /* the state machine refuses an offer to a skipped member: nothing written */
    {
        struct pfs_offer_rec o = {0};
        struct pfs_bundle_rec b;

        ck_assert_int_eq(pfs_store_bundle_get(st, bundle_a, &b), 0);
        snprintf(o.id, sizeof(o.id), "o2");
        snprintf(o.serial, sizeof(o.serial), "T0002");
        snprintf(o.bundle, sizeof(o.bundle), "%s", bundle_a);
        ck_assert_int_eq(pfs_store_rollout_offer(st, id, &o, &b, "{}", &err), PF_ESTATE);
        ck_assert_int_eq(pfs_store_rollout_member(st, id, "T0002", &m), 0);
        ck_assert_int_eq(m.attempts, 0);
    }
    /* a member that cannot be offered fails; one that is not pending is left alone */
    ck_assert_int_eq(pfs_store_rollout_member_fail(st, id, "T0003", "EMODEL", 2000002), 0);
    ck_assert_int_eq(pfs_store_rollout_member(st, id, "T0003", &m), 0);
    ck_assert_int_eq(m.status, PFS_ROM_FAILED);
    ck_assert_int_eq(pfs_store_rollout_member_fail(st, id, "T0001", "EMODEL", 2000002), 0);
    ck_assert_int_eq(pfs_store_rollout_member(st, id, "T0001", &m), 0);
    ck_assert_int_eq(m.status, PFS_ROM_OFFERED);
    /* clocks: unanswered until the terminal accepts this very offer */
    ck_assert_int_eq(pfs_store_rollout_clocks(st, id, 1u << PFS_ROM_OFFERED, clocks_cb, &k), 0);
    ck_assert_int_eq(k.n, 1);
    ck_assert(!k.answered);
    ck_assert_int_eq(k.offered_ms, 2000000);
    event(st, "T0001", "o1", "e1", PF_UPD_ACCEPTED, NULL);
    memset(&k, 0, sizeof(k));
    ck_assert_int_eq(pfs_store_rollout_clocks(st, id, 1u << PFS_ROM_OFFERED, clocks_cb, &k), 0);
    ck_assert_int_eq(k.n, 1);
    ck_assert(k.answered);
    memset(&k, 0, sizeof(k));
    ck_assert_int_eq(pfs_store_rollout_clocks(st, id, 1u << PFS_ROM_DEFERRED, clocks_cb, &k), 0);
    ck_assert_int_eq(k.n, 0);
    /* accepted, then silent past the timeout: timed out, not offered anew */
    {
        int64_t timed = -1, returned = -1;

        ck_assert_int_eq(expire_old(st, id, 2001000, 1000, &timed, &returned), 0);
        ck_assert_int_eq(timed, 0);
        ck_assert_int_eq(expire_old(st, id, 2001001, 1000, &timed, &returned), 0);
        ck_assert_int_eq(timed, 1);
        ck_assert_int_eq(returned, 0);
        ck_assert_int_eq(pfs_store_rollout_member(st, id, "T0001", &m), 0);
        ck_assert_int_eq(m.status, PFS_ROM_TIMED_OUT);
        ck_assert_str_eq(m.code, "TIMEOUT");
    }
    assert_exact(st, id);
    pfs_store_close(st);
}
END_TEST

START_TEST(swap_moves_membership_and_abort_skips)
{
    struct pfs_store *st = open_store();
    struct pf_error err = {0};
    struct pfs_ro_member_rec m;
    struct pfs_ro_change c = {1u << PFS_RO_RUNNING, PFS_RO_ABORTED, -1, "abort", NULL, NULL, NULL};
    struct pfs_tx *tx;
    int64_t id;
    int rc;

    add_devices(st, "T", 10, "PX-500");
    add_devices(st, "N", 1, "PX-500");
    put_bundle(st, bundle_a, PF_KIND_FIRMWARE, "2.0.0");
    id = create(st,
                "{" BUNDLE_A ",\"stages\":[\"100%\"],\"cohort\":{\"serials\":[\"T0000\",\"T0001\","
                "\"T0002\"]}}",
                &rc, &err);
    ck_assert_msg(rc == 0, "%s", err.msg);
    offer(st, id, "T0001", "o1", 2000000);
    ck_assert_int_eq(pfs_store_tx_begin(st, PFS_DURABILITY_FULL, 0, &tx, &err), 0);
    ck_assert_int_eq(pfs_store_rollout_swap(NULL, tx, "T0001", "N0000", &err), 0);
    ck_assert_int_eq(pfs_store_tx_commit(tx, &err), 0);
    ck_assert_int_eq(pfs_store_rollout_member(st, id, "T0001", &m), 0);
    ck_assert_int_eq(m.status, PFS_ROM_SWAPPED);
    ck_assert_int_eq(pfs_store_rollout_member(st, id, "N0000", &m), 0);
    ck_assert_int_eq(m.status, PFS_ROM_PENDING);
    assert_exact(st, id);
    /* a resume of a running rollout is refused, nothing changes */
    {
        struct pfs_ro_change bad = {
                1u << PFS_RO_PAUSED, PFS_RO_RUNNING, -1, "resume", NULL, NULL, NULL};
        struct pfs_rollout_rec r;

        ck_assert_int_eq(pfs_store_rollout_change(st, id, &bad, &ops, 2100000, &err), PF_ESTATE);
        ck_assert_str_eq(err.msg, "rollout 1 is running: cannot resume it");
        ck_assert_int_eq(pfs_store_rollout_get(st, id, &r), 0);
        ck_assert_int_eq(r.state, PFS_RO_RUNNING);
        pfs_rollout_rec_release(&r);
    }
    ck_assert_int_eq(pfs_store_rollout_change(st, id, &c, &ops, 2100000, &err), 0);
    ck_assert_int_eq(count_of(st, id, -1, PFS_ROM_SKIPPED), 3); /* T0000, T0002, N0000 */
    ck_assert_int_eq(count_of(st, id, -1, PFS_ROM_PENDING), 0);
    assert_exact(st, id);
    pfs_store_close(st);
}
END_TEST

static int64_t member_rows(struct pfs_store *st, int64_t id)
{
    sqlite3_stmt *s;
    int64_t n = -1;

    ck_assert_int_eq(sqlite3_prepare_v2(pfs_store_sqlite_db((struct pfs_sqlite *)st),
                                        "SELECT count(*) FROM rollout_members WHERE rollout = ?1",
                                        -1, &s, NULL),
                     SQLITE_OK);
    sqlite3_bind_int64(s, 1, id);
    if (sqlite3_step(s) == SQLITE_ROW)
        n = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return n;
}

struct page {
    int n;
    bool sorted;
    char first[PF_SERIAL_MAX + 1], last[PF_SERIAL_MAX + 1];
};

static int page_cb(void *ctx, const struct pfs_ro_member_rec *m)
{
    struct page *p = ctx;

    if (!p->n) {
        p->sorted = true;
        snprintf(p->first, sizeof(p->first), "%s", m->serial);
    } else if (strcmp(m->serial, p->last) <= 0) {
        p->sorted = false;
    }
    snprintf(p->last, sizeof(p->last), "%s", m->serial);
    p->n++;
    return 0;
}

/* Members of stages not opened yet stay in the plan until their stage opens;
 * they count, overlap, swap and abort like rows. */
START_TEST(plan_opens_with_its_stage)
{
    struct pfs_store *st = open_store();
    struct pf_error err = {0};
    struct pfs_ro_member_rec m;
    struct pfs_ro_change promote = {
            1u << PFS_RO_RUNNING, PFS_RO_RUNNING, 1, "promote", NULL, NULL, NULL};
    struct pfs_ro_change abort = {
            1u << PFS_RO_RUNNING, PFS_RO_ABORTED, -1, "abort", NULL, NULL, NULL};
    char s2[16] = "", s2b[16] = "", def[256];
    struct pfs_tx *tx;
    int64_t id, left = -1;
    int rc;

    add_devices(st, "T", 200, "PX-500");
    put_bundle(st, bundle_a, PF_KIND_FIRMWARE, "2.0.0");
    id = create(st, "{" BUNDLE_A ",\"stages\":[\"10%\",\"50%\",\"100%\"]}", &rc, &err);
    ck_assert_msg(rc == 0, "%s", err.msg);
    add_devices(st, "N", 1, "PX-500"); /* registered after planning: no member */
    ck_assert_int_eq(member_rows(st, id), 20);
    assert_exact(st, id);
    for (int i = 0; i < 200 && !s2b[0]; i++) {
        char serial[16];

        snprintf(serial, sizeof(serial), "T%04d", i);
        ck_assert_int_eq(pfs_store_rollout_member(st, id, serial, &m), 0);
        if (m.stage == 2)
            snprintf(s2[0] ? s2b : s2, sizeof(s2), "%s", serial);
    }
    ck_assert_int_eq(m.status, PFS_ROM_PENDING);
    /* the listing merges rows and planned members in serial order, page by page */
    {
        struct page pg = {0};
        bool more = false;

        ck_assert_int_eq(pfs_store_rollout_members(st, id, -1, -1, "", 1000, page_cb, &pg, &more),
                         0);
        ck_assert_int_eq(pg.n, 200);
        ck_assert(!more && pg.sorted);
        memset(&pg, 0, sizeof(pg));
        ck_assert_int_eq(pfs_store_rollout_members(st, id, PFS_ROM_PENDING, 2, "", 1000, page_cb,
                                                   &pg, &more),
                         0);
        ck_assert_int_eq(pg.n, 100);
        memset(&pg, 0, sizeof(pg));
        ck_assert_int_eq(
                pfs_store_rollout_members(st, id, -1, -1, "T0100", 30, page_cb, &pg, &more), 0);
        ck_assert_int_eq(pg.n, 30);
        ck_assert(more && pg.sorted);
        ck_assert_str_eq(pg.first, "T0101");
        ck_assert_str_eq(pg.last, "T0130");
    }
    /* a planned member overlaps like a row */
    snprintf(def, sizeof(def),
             "{" BUNDLE_A ",\"stages\":[\"100%%\"],\"cohort\":{\"serials\":"
             "[\"%s\"]}}",
             s2);
    create(st, def, &rc, &err);
    ck_assert_int_eq(rc, PF_EEXIST);
    ck_assert_msg(strstr(err.msg, s2) != NULL, "%s", err.msg);
    /* nothing of a stage not open is written */
    ck_assert_int_eq(pfs_store_rollout_plan_open(st, id, 0, 1000, 2000001, &left), 0);
    ck_assert_int_eq(left, 0);
    ck_assert_int_eq(member_rows(st, id), 20);
    /* stage 2 opens: its 80 members become rows, a chunk at a time */
    ck_assert_int_eq(pfs_store_rollout_change(st, id, &promote, NULL, 2000002, &err), 0);
    ck_assert_int_eq(pfs_store_rollout_plan_open(st, id, 1, 1, 2000003, &left), 0);
    ck_assert_int_eq(left, 0);
    ck_assert_int_eq(member_rows(st, id), 100);
    ck_assert_int_eq(count_of(st, id, 1, PFS_ROM_PENDING), 80);
    assert_exact(st, id);
    /* a swap of a member still planned for stage 3: the new terminal joins stage 2 */
    ck_assert_int_eq(pfs_store_tx_begin(st, PFS_DURABILITY_FULL, 0, &tx, &err), 0);
    ck_assert_int_eq(pfs_store_rollout_swap(NULL, tx, s2, "N0000", &err), 0);
    ck_assert_int_eq(pfs_store_tx_commit(tx, &err), 0);
    ck_assert_int_eq(pfs_store_rollout_member(st, id, s2, &m), 0);
    ck_assert_int_eq(m.status, PFS_ROM_SWAPPED);
    ck_assert_int_eq(pfs_store_rollout_member(st, id, "N0000", &m), 0);
    ck_assert_int_eq(m.stage, 1);
    ck_assert_int_eq(m.status, PFS_ROM_PENDING);
    ck_assert_int_eq(pfs_store_rollout_member(st, id, s2b, &m), 0);
    ck_assert_int_eq(m.stage, 2);
    ck_assert_int_eq(count_of(st, id, 2, PFS_ROM_PENDING), 99);
    assert_exact(st, id);
    /* an abort skips the planned members too */
    ck_assert_int_eq(pfs_store_rollout_change(st, id, &abort, &ops, 2000004, &err), 0);
    ck_assert_int_eq(count_of(st, id, -1, PFS_ROM_PENDING), 0);
    ck_assert_int_eq(count_of(st, id, -1, PFS_ROM_SKIPPED), 200);
    ck_assert_int_eq(count_of(st, id, 2, PFS_ROM_SKIPPED), 99);
    assert_exact(st, id);
    ck_assert_int_eq(pfs_store_rollout_member(st, id, s2b, &m), 0);
    ck_assert_int_eq(m.status, PFS_ROM_SKIPPED);
    ck_assert_int_eq(pfs_store_rollout_plan_open(st, id, 2, 1000, 2000005, &left), 0);
    ck_assert_int_eq(left, 0);
    pfs_store_close(st);
}
END_TEST

START_TEST(late_registrations_join_the_open_stage)
{
    struct pfs_store *st = open_store();
    struct pf_error err = {0};
    struct pfs_ro_member_rec m;
    struct pfs_ro_change promote = {
            1u << PFS_RO_RUNNING, PFS_RO_RUNNING, 1, "promote", NULL, NULL, NULL};
    struct pfs_rollout_rec r;
    struct pfs_device d = {0};
    int64_t id, added = -1;
    int rc;

    add_devices(st, "T", 10, "PX-500");
    put_bundle(st, bundle_a, PF_KIND_FIRMWARE, "2.0.0");
    id = create(st, "{" BUNDLE_A ",\"stages\":[\"50%\",\"100%\"]}", &rc, &err);
    ck_assert_msg(rc == 0, "%s", err.msg);
    ck_assert_int_eq(pfs_store_rollout_change(st, id, &promote, NULL, 2000001, &err), 0);
    snprintf(d.serial, sizeof(d.serial), "LATE1");
    snprintf(d.model, sizeof(d.model), "PX-500");
    ck_assert_int_eq(pfs_store_device_add(st, &d, &ops, 2000002, &err), 0);
    snprintf(d.serial, sizeof(d.serial), "LATE2");
    snprintf(d.model, sizeof(d.model), "QX-9"); /* not a target of the bundle */
    ck_assert_int_eq(pfs_store_device_add(st, &d, &ops, 2000002, &err), 0);
    ck_assert_int_eq(pfs_store_rollout_get(st, id, &r), 0);
    ck_assert_int_eq(r.stage, 1);
    ck_assert_int_eq(pfs_store_rollout_join(st, &r, 2000003, &added), 0);
    ck_assert_int_eq(added, 1);
    ck_assert_int_eq(pfs_store_rollout_member(st, id, "LATE1", &m), 0);
    ck_assert_int_eq(m.stage, 1);
    ck_assert_int_eq(m.status, PFS_ROM_PENDING);
    ck_assert_int_eq(pfs_store_rollout_member(st, id, "LATE2", &m), PF_ENOENT);
    pfs_rollout_rec_release(&r);
    /* a second scan finds nobody new */
    ck_assert_int_eq(pfs_store_rollout_get(st, id, &r), 0);
    ck_assert_int_eq(pfs_store_rollout_join(st, &r, 2000004, &added), 0);
    ck_assert_int_eq(added, 0);
    pfs_rollout_rec_release(&r);
    assert_exact(st, id);
    pfs_store_close(st);
}
END_TEST

/* Silence, persistent deferral, "already", ops moving one member and a deadline, as the
 * store applies them (docs/rollouts.md). */
START_TEST(stragglers_ops_and_expiry)
{
    struct pfs_store *st = open_store();
    struct pf_error err = {0};
    struct pfs_ro_member_rec m;
    struct pfs_ro_expired ex;
    struct pfs_rollout_rec r;
    enum pfs_ro_member from, to;
    int64_t id, t = 2000000;
    int rc;

    add_devices(st, "T", 5, "PX-500");
    put_bundle(st, bundle_a, PF_KIND_FIRMWARE, "2.0.0");
    id = create(st, "{" BUNDLE_A ",\"stages\":[\"100%\"],\"timeout_s\":600}", &rc, &err);
    ck_assert_msg(rc == 0, "%s", err.msg);
    offer(st, id, "T0000", "p0", t);
    offer(st, id, "T0001", "p1", t);
    offer(st, id, "T0002", "p2", t);
    /* T0000 defers: one deferral, past the limit of one it is out, counted apart */
    event(st, "T0000", "p0", "d1", PF_UPD_DEFERRED, NULL);
    event(st, "T0000", "p0", "d1", PF_UPD_DEFERRED, NULL); /* the same event again */
    /* T0002 already runs it */
    event(st, "T0002", "p2", "a1", PF_UPD_REFUSED, PF_UPDATE_CODE_ALREADY);
    ck_assert_int_eq(pfs_store_rollout_member(st, id, "T0002", &m), 0);
    ck_assert_int_eq(m.status, PFS_ROM_ALREADY);
    ck_assert_str_eq(m.code, "ALREADY");
    {
        struct pfs_ro_time_rules rules = {600000, 5000, 1, 0, 86400000};

        ck_assert_int_eq(pfs_ro_expire(st, id, t + 5000, &rules, &ex), 0);
        ck_assert_int_eq(ex.deferred_out, 1);
        ck_assert_int_eq(ex.timed_out, 0);
        /* T0001 never answered: timed out after the offer timeout, not offered anew */
        ck_assert_int_eq(pfs_ro_expire(st, id, t + 5001, &rules, &ex), 0);
        ck_assert_int_eq(ex.timed_out, 1);
        ck_assert_int_eq(ex.returned, 0);
        ck_assert_int_eq(pfs_store_rollout_member(st, id, "T0001", &m), 0);
        ck_assert_int_eq(m.status, PFS_ROM_TIMED_OUT);
        ck_assert_str_eq(m.code, "NO_ANSWER");
        ck_assert_int_eq(pfs_store_rollout_member(st, id, "T0000", &m), 0);
        ck_assert_int_eq(m.status, PFS_ROM_DEFERRED_OUT);
        ck_assert_str_eq(m.code, "DEFER_LIMIT");
        /* a day later it is offered again, its deferrals forgotten */
        ck_assert_int_eq(pfs_ro_expire(st, id, t + 5000 + 86400001, &rules, &ex), 0);
        ck_assert_int_eq(ex.returned, 1);
        ck_assert_int_eq(pfs_store_rollout_member(st, id, "T0000", &m), 0);
        ck_assert_int_eq(m.status, PFS_ROM_PENDING);
    }
    assert_exact(st, id);
    /* ops: retry the timed-out one, skip a pending one; clear refusals */
    ck_assert_int_eq(pfs_store_rollout_member_act(st, id, "T0001", PFS_ROE_RETRY, "retry",
                                                  "cabled again", &ops, t + 10, &from, &to, &err),
                     0);
    ck_assert_int_eq(from, PFS_ROM_TIMED_OUT);
    ck_assert_int_eq(to, PFS_ROM_PENDING);
    ck_assert_int_eq(pfs_store_rollout_member_act(st, id, "T0003", PFS_ROE_DROP, "skip", "closed",
                                                  &ops, t + 10, &from, &to, &err),
                     0);
    ck_assert_int_eq(pfs_store_rollout_member(st, id, "T0003", &m), 0);
    ck_assert_int_eq(m.status, PFS_ROM_SKIPPED);
    ck_assert_str_eq(m.code, "SKIPPED");
    ck_assert_int_eq(pfs_store_rollout_member_act(st, id, "T0002", PFS_ROE_RETRY, "retry", "x",
                                                  &ops, t + 10, &from, &to, &err),
                     PF_ESTATE);
    ck_assert_str_eq(err.msg, "member T0002 of rollout 1 is already: cannot retry it");
    ck_assert_int_eq(pfs_store_rollout_member_act(st, id, "T0004", PFS_ROE_CANCEL, "cancel", "x",
                                                  &ops, t + 10, &from, &to, &err),
                     PF_ESTATE);
    ck_assert_int_eq(pfs_store_rollout_member_act(st, id, "NOPE1", PFS_ROE_RETRY, "retry", "x",
                                                  &ops, t + 10, &from, &to, &err),
                     PF_ENOENT);
    ck_assert_str_eq(err.msg, "NOPE1 is not a member of rollout 1");
    assert_exact(st, id);
    /* the deadline: the rollout expires, the members never reached are skipped */
    {
        struct pfs_ro_change c = {1u << PFS_RO_RUNNING | 1u << PFS_RO_SCHEDULED,
                                  PFS_RO_EXPIRED,
                                  -1,
                                  "expire",
                                  "deadline",
                                  "the deadline passed",
                                  NULL};

        ck_assert_int_eq(pfs_store_rollout_change(st, id, &c, &ops, t + 20, &err), 0);
    }
    ck_assert_int_eq(pfs_store_rollout_get(st, id, &r), 0);
    ck_assert_int_eq(r.state, PFS_RO_EXPIRED);
    ck_assert_str_eq(r.pause_reason, "deadline");
    pfs_rollout_rec_release(&r);
    ck_assert_int_eq(count_of(st, id, -1, PFS_ROM_PENDING), 0);
    ck_assert_int_eq(count_of(st, id, -1, PFS_ROM_SKIPPED), 4); /* all but T0002 */
    ck_assert_int_eq(count_of(st, id, -1, PFS_ROM_ALREADY), 1);
    assert_exact(st, id);
    pfs_store_close(st);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("rollout");
    TCase *tc = tcase_create("core");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, sql_lists_follow_the_rules);
    tcase_add_test(tc, plan_stages_overlap);
    tcase_add_test(tc, offers_events_and_time_rules);
    tcase_add_test(tc, store_applies_decided_moves);
    tcase_add_test(tc, swap_moves_membership_and_abort_skips);
    tcase_add_test(tc, late_registrations_join_the_open_stage);
    tcase_add_test(tc, plan_opens_with_its_stage);
    tcase_add_test(tc, stragglers_ops_and_expiry);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return pf_test_run(suite());
}
