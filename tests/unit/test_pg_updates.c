/*
 * test_pg_updates.c - the PostgreSQL twins of store_updates.h (pg_updates.c)
 * against a real PostgreSQL 15 (tests/pg/pg.sh), each case in a database of
 * its own: the cases of the store contract's "updates" (and of
 * test_store_updates.c) called directly until the contract suite runs its
 * postgres row, and what only several instances can show: two stores on one
 * database recording the same event write one row, and the second is told
 * it was recorded before, as SQLite's second call is.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pg_harness.h"
#include "store/postgres/pg_updates.h"
#include "store/record_json.h"
#include "testutil.h"

static struct pf_pg_server server;
static char dsn[1024];
static const struct pfs_actor ops = {.name = "olga", .role = "ops"};

static void server_up(void)
{
    if (pf_pg_start(&server, true) != 0) {
        fprintf(stderr, "test_pg_updates: PostgreSQL 15 could not be started (see above)\n");
        exit(EXIT_FAILURE);
    }
}

static void server_down(void)
{
    pf_pg_stop(&server);
}

/* A store on a new, empty database (name), or a second one on dsn's. */
static struct pfs_pg_store *store_on(const char *name)
{
    struct pfs_pg_store *st = NULL;
    struct pf_error err = {0};

    if (name)
        ck_assert_int_eq(pf_pg_createdb(&server, name, dsn, sizeof(dsn)), 0);
    ck_assert_msg(pfs_pg_store_open(dsn, &st, &err) == 0, "open: %s", err.msg);
    return st;
}

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
    b.uploaded_ms = 100;
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

static struct pfs_offer_rec offer(const char *id, const char *serial, const char *bundle_id)
{
    struct pfs_offer_rec o;

    memset(&o, 0, sizeof(o));
    snprintf(o.id, sizeof(o.id), "%s", id);
    snprintf(o.serial, sizeof(o.serial), "%s", serial);
    snprintf(o.bundle, sizeof(o.bundle), "%s", bundle_id);
    o.created_ms = 1000;
    o.deadline_ms = 9000;
    return o;
}

static int64_t events_of(struct pfs_pg_store *st, const char *serial, const char *id)
{
    int64_t n = -1;

    ck_assert_int_eq(pfs_pg_update_event_count(st, serial, id, &n), 0);
    return n;
}

/* The newest audit row about target: its action and after, as stored. */
static void last_audit(struct pfs_pg_store *st, const char *target, char *action, size_t alen,
                       char **after, int *rows)
{
    const char *p[1] = {target};
    struct pf_error err = {0};
    PGresult *res = NULL;

    ck_assert_msg(pfs_pg_query(st->pg,
                               "SELECT action, after::text FROM audit WHERE target = $1"
                               " ORDER BY id DESC",
                               1, p, &res, &err) == 0,
                  "%s", err.msg);
    *rows = PQntuples(res);
    action[0] = '\0';
    if (after)
        *after = NULL;
    if (*rows > 0) {
        snprintf(action, alen, "%s", PQgetvalue(res, 0, 0));
        if (after)
            *after = strdup(PQgetvalue(res, 0, 1));
    }
    PQclear(res);
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

struct kinds {
    int64_t failed, offered, other;
    char order[64];
};

static int counts__cb(void *ctx, const char *key, int64_t n)
{
    struct kinds *k = ctx;

    if (strcmp(key, "failed") == 0)
        k->failed = n;
    else if (strcmp(key, "offered") == 0)
        k->offered = n;
    else
        k->other += n;
    snprintf(k->order + strlen(k->order), sizeof(k->order) - strlen(k->order), "%s,", key);
    return 0;
}

/* The contract's "updates" case, on PostgreSQL. */
START_TEST(bundles_offers_events)
{
    struct pfs_pg_store *st = store_on("upd_contract");
    char id[PF_B2_HEX_LEN + 1], action[64], *after = NULL, *text;
    struct pfs_bundle_rec b, got;
    struct pfs_offer_rec o, o2, cur_o;
    struct pfs_update_rec cur;
    struct pf_update_event e;
    struct pf_error err = {0};
    struct kinds k;
    bool created = false, recorded = false;
    uint64_t size = 0;
    char *body = NULL;
    int n = 0, rows = 0;

    snprintf(id, sizeof(id), "%064d", 1);
    b = bundle(id);
    ck_assert_msg(pfs_pg_bundle_put(st, &b, &ops, 100, &created, &err) == 0, "%s", err.msg);
    ck_assert(created);
    ck_assert_int_eq(pfs_pg_bundle_put(st, &b, &ops, 101, &created, &err), 0);
    ck_assert(!created);
    /* both audit rows as record_json.h prints them; none for the second upload */
    last_audit(st, id, action, sizeof(action), &after, &rows);
    ck_assert_int_eq(rows, 1);
    ck_assert_str_eq(action, "bundle.upload");
    text = pfs_rec_bundle_text(&b);
    ck_assert_str_eq(after, text);
    free(text);
    free(after);
    ck_assert_int_eq(pfs_pg_bundle_get(st, id, &got), 0);
    ck_assert_str_eq(got.version, "2.0.0");
    ck_assert_str_eq(got.models, "PX-500");
    ck_assert_str_eq(got.manifest, b.manifest);
    ck_assert_int_eq((int)got.size, 1234);
    ck_assert_int_eq(got.uploaded_ms, 100);
    ck_assert_int_eq(got.expires_s, 1000000);
    ck_assert_int_eq(pfs_pg_bundle_get(st, "nope", &got), PF_ENOENT);
    ck_assert_int_eq(pfs_pg_bundle_list(st, 10, count__bundle, &n), 0);
    ck_assert_int_eq(n, 1);

    o = offer("o1", "T1", id);
    ck_assert_msg(pfs_pg_offer_put(st, &o, &b, "{\"offer\":1}", &ops, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(pfs_pg_offer_put(st, &o, &b, "{\"offer\":1}", &ops, &err), PF_EEXIST);
    ck_assert_str_eq(err.msg, "store: offer o1: offer id taken");
    last_audit(st, "T1", action, sizeof(action), &after, &rows);
    ck_assert_int_eq(rows, 1);
    ck_assert_str_eq(action, "device.update");
    text = pfs_rec_offer_text(&o, &b);
    ck_assert_str_eq(after, text);
    free(text);
    free(after);
    ck_assert_int_eq(pfs_pg_offer_check(st, "T1", "o1"), 0);
    ck_assert_int_eq(pfs_pg_offer_check(st, "T9", "o1"), PF_ENOENT);
    ck_assert_int_eq(pfs_pg_offer_current(st, "T1", 2000, &cur_o, &size), 0);
    ck_assert_str_eq(cur_o.id, "o1");
    ck_assert_int_eq((int)size, 1234);
    ck_assert_int_eq(cur_o.deadline_ms, 9000);
    ck_assert_int_eq(pfs_pg_offer_current(st, "T1", 9000, &cur_o, &size), PF_ENOENT);
    ck_assert_int_eq(pfs_pg_offer_pending(st, "T1", 2000, &body), 0);
    ck_assert_str_eq(body, "{\"offer\":1}");
    free(body);
    ck_assert_int_eq(pfs_pg_offer_pending(st, "T1", 9001, &body), PF_ENOENT);
    ck_assert_int_eq(pfs_pg_update_current(st, "T1", &cur), 0);
    ck_assert_str_eq(cur.status, "offered");
    ck_assert_int_eq(cur.percent, -1);
    ck_assert_int_eq(pfs_pg_update_current(st, "NOPE", &cur), PF_ENOENT);
    /* once the terminal answered (any event) the offer is not pending any more */
    o2 = offer("o2", "T2", id);
    ck_assert_int_eq(pfs_pg_offer_put(st, &o2, &b, "{\"offer\":2}", &ops, &err), 0);
    ck_assert_int_eq(pfs_pg_offer_pending(st, "T2", 2000, &body), 0);
    free(body);
    e = event("e0", "o2", PF_UPD_ACCEPTED);
    ck_assert_int_eq(pfs_pg_update_event_put(st, "T2", &e, 4000, &recorded), 0);
    ck_assert(recorded);
    ck_assert_int_eq(pfs_pg_offer_pending(st, "T2", 2000, &body), PF_ENOENT);

    /* an event id is recorded once */
    e = event("e1", "o1", PF_UPD_FAILED);
    ck_assert_int_eq(pfs_pg_update_event_put(st, "T1", &e, 5000, &recorded), 0);
    ck_assert(recorded);
    ck_assert_int_eq(pfs_pg_update_event_put(st, "T1", &e, 5001, &recorded), 0);
    ck_assert(!recorded);
    ck_assert_int_eq(events_of(st, "T1", "e1"), 1);
    /* a final status is never replaced; a final offer is not current */
    e = event("e2", "o1", PF_UPD_INSTALLING);
    ck_assert_int_eq(pfs_pg_update_event_put(st, "T1", &e, 5100, &recorded), 0);
    ck_assert(recorded);
    ck_assert_int_eq(pfs_pg_update_current(st, "T1", &cur), 0);
    ck_assert_str_eq(cur.status, "failed");
    ck_assert_str_eq(cur.code, "DIGEST");
    ck_assert_int_eq(pfs_pg_offer_current(st, "T1", 2000, &cur_o, &size), PF_ENOENT);
    /* progress: percent kept only while downloading, absent text empty */
    e = event("e3", "o2", PF_UPD_DOWNLOADING);
    e.percent = 40;
    ck_assert_int_eq(pfs_pg_update_event_put(st, "T2", &e, 5200, &recorded), 0);
    ck_assert_int_eq(pfs_pg_update_current(st, "T2", &cur), 0);
    ck_assert_str_eq(cur.status, "downloading");
    ck_assert_int_eq(cur.percent, 40);
    ck_assert_int_eq(cur.recv_ms, 5200);
    n = 0;
    ck_assert_int_eq(pfs_pg_update_events(st, "T1", 10, count__update, &n), 0);
    ck_assert_int_eq(n, 2);
    n = 0;
    ck_assert_int_eq(pfs_pg_update_events(st, "T1", 1, count__update, &n), 0);
    ck_assert_int_eq(n, 1);
    memset(&k, 0, sizeof(k));
    ck_assert_int_eq(pfs_pg_update_counts(st, counts__cb, &k), 0);
    ck_assert_int_eq(k.failed, 1);
    ck_assert_int_eq(k.other, 1);
    ck_assert_str_eq(k.order, "downloading,failed,");
    pfs_pg_store_close(st);
}
END_TEST

struct recs {
    int n;
    char id[8][PF_UPDATE_ID_MAX + 1];
    int64_t recv[8];
    int percent[8];
    char message[8][PF_UPDATE_TEXT_MAX + 1];
};

static int recs__cb(void *ctx, const struct pfs_update_rec *r)
{
    struct recs *x = ctx;

    if (x->n < 8) {
        snprintf(x->id[x->n], sizeof(x->id[0]), "%s", r->id);
        x->recv[x->n] = r->recv_ms;
        x->percent[x->n] = r->percent;
        snprintf(x->message[x->n], sizeof(x->message[0]), "%s", r->message);
    }
    x->n++;
    return 0;
}

/* test_store_updates.c's history cases: newest first, prune keeps the newest,
 * expiry deletes the oldest received before the cut, at most max a call. */
START_TEST(history_prune_and_expire)
{
    struct pfs_pg_store *st = store_on("upd_history");
    char id[PF_B2_HEX_LEN + 1], eid[16];
    struct pfs_bundle_rec b;
    struct pfs_offer_rec o;
    struct pfs_update_rec cur;
    struct pf_update_event e;
    struct pf_error err = {0};
    struct recs x;
    bool created, recorded;
    int deleted = -1;

    snprintf(id, sizeof(id), "%064d", 2);
    b = bundle(id);
    ck_assert_int_eq(pfs_pg_bundle_put(st, &b, &ops, 100, &created, &err), 0);
    o = offer("o1", "T1", id);
    ck_assert_int_eq(pfs_pg_offer_put(st, &o, &b, NULL, &ops, &err), 0);
    for (int i = 0; i < 6; i++) {
        snprintf(eid, sizeof(eid), "e%d", i);
        e = event(eid, "o1", PF_UPD_DOWNLOADING);
        e.percent = 10 * i;
        snprintf(e.message, sizeof(e.message), "%s", i == 5 ? "almost" : "");
        ck_assert_int_eq(pfs_pg_update_event_put(st, "T1", &e, 1000 + i, &recorded), 0);
        ck_assert(recorded);
    }
    e = event("x0", "o1", PF_UPD_DOWNLOADING);
    ck_assert_int_eq(pfs_pg_update_event_put(st, "T2", &e, 1000, &recorded), 0);
    memset(&x, 0, sizeof(x));
    ck_assert_int_eq(pfs_pg_update_events(st, "T1", 3, recs__cb, &x), 0);
    ck_assert_int_eq(x.n, 3);
    ck_assert_str_eq(x.id[0], "e5");
    ck_assert_str_eq(x.message[0], "almost");
    ck_assert_int_eq(x.percent[0], 50);
    ck_assert_str_eq(x.id[2], "e3");
    /* no offer body: never pending */
    {
        char *body = NULL;

        ck_assert_int_eq(pfs_pg_offer_pending(st, "T1", 2000, &body), PF_ENOENT);
    }
    /* prune keeps the newest 4 of T1, T2 untouched */
    ck_assert_int_eq(pfs_pg_update_prune(st, "T1", 4, 2000, &deleted), 0);
    ck_assert_int_eq(deleted, 2);
    ck_assert_int_eq(events_of(st, "T1", "e1"), 0);
    ck_assert_int_eq(events_of(st, "T1", "e2"), 1);
    ck_assert_int_eq(pfs_pg_update_prune(st, "T1", 4, 2000, &deleted), 0);
    ck_assert_int_eq(deleted, 0);
    /* expire: among the 2 oldest rows those received before 1003: x0 is one of
     * them only once T1's e2 went (seq order) */
    ck_assert_int_eq(pfs_pg_update_expire(st, 1003, 3000, 1, &deleted), 0);
    ck_assert_int_eq(deleted, 1);
    ck_assert_int_eq(events_of(st, "T1", "e2"), 0);
    ck_assert_int_eq(pfs_pg_update_expire(st, 1005, 3000, 10, &deleted), 0);
    ck_assert_int_eq(deleted, 3); /* e3, e4 and x0 */
    ck_assert_int_eq(events_of(st, "T2", "x0"), 0);
    ck_assert_int_eq(events_of(st, "T1", "e5"), 1);
    /* the current update stays */
    ck_assert_int_eq(pfs_pg_update_current(st, "T1", &cur), 0);
    ck_assert_str_eq(cur.status, "downloading");
    ck_assert_int_eq(cur.percent, 50);
    pfs_pg_store_close(st);
}
END_TEST

/* Two instances (two stores on one database) receive the same event: one
 * row, the first is told "recorded", the second "recorded before". */
START_TEST(two_instances_record_an_event_once)
{
    struct pfs_pg_store *a = store_on("upd_twice"), *b = store_on(NULL);
    struct pf_update_event e = event("e1", "o1", PF_UPD_INSTALLING);
    bool ra = false, rb = true;

    ck_assert_int_eq(pfs_pg_update_event_put(a, "T1", &e, 1000, &ra), 0);
    ck_assert_int_eq(pfs_pg_update_event_put(b, "T1", &e, 1001, &rb), 0);
    ck_assert(ra);
    ck_assert(!rb);
    ck_assert_int_eq(events_of(a, "T1", "e1"), 1);
    ck_assert_int_eq(events_of(b, "T1", "e1"), 1);
    pfs_pg_store_close(a);
    pfs_pg_store_close(b);
}
END_TEST

/* The same at once: processes with a store each record the same 200 events
 * concurrently; every event is stored once and reported recorded by exactly
 * one of them (the second insert waits for the first transaction, then
 * inserts nothing). */
#define RACE_PROCS  3
#define RACE_EVENTS 200

START_TEST(instances_racing_record_each_event_once)
{
    struct pfs_pg_store *st = store_on("upd_race");
    int fds[RACE_PROCS][2], total = 0;
    pid_t kids[RACE_PROCS];
    PGresult *res = NULL;
    struct pf_error err = {0};

    pfs_pg_store_close(st);
    for (int k = 0; k < RACE_PROCS; k++) {
        ck_assert_int_eq(pipe(fds[k]), 0);
        kids[k] = fork();
        ck_assert_int_ge(kids[k], 0);
        if (kids[k] == 0) {
            struct pfs_pg_store *c = NULL;
            int mine = 0;

            close(fds[k][0]);
            if (pfs_pg_store_open(dsn, &c, NULL) != 0)
                _exit(2);
            for (int i = 0; i < RACE_EVENTS; i++) {
                char id[16];
                struct pf_update_event e;
                bool rec = false;

                snprintf(id, sizeof(id), "e%d", i);
                e = event(id, "o1", PF_UPD_DOWNLOADING);
                if (pfs_pg_update_event_put(c, "T1", &e, 1000 + i, &rec) != 0)
                    _exit(3);
                mine += rec;
            }
            pfs_pg_store_close(c);
            if (write(fds[k][1], &mine, sizeof(mine)) != (ssize_t)sizeof(mine))
                _exit(4);
            _exit(0);
        }
        close(fds[k][1]);
    }
    for (int k = 0; k < RACE_PROCS; k++) {
        int status = -1, mine = 0;

        ck_assert_int_eq(waitpid(kids[k], &status, 0), kids[k]);
        ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "instance %d: status %d", k,
                      status);
        ck_assert_int_eq(read(fds[k][0], &mine, sizeof(mine)), (ssize_t)sizeof(mine));
        close(fds[k][0]);
        total += mine;
    }
    ck_assert_int_eq(total, RACE_EVENTS);
    st = store_on(NULL);
    ck_assert_int_eq(pfs_pg_query(st->pg, "SELECT count(*), count(DISTINCT id) FROM update_events",
                                  0, NULL, &res, &err),
                     0);
    ck_assert_str_eq(PQgetvalue(res, 0, 0), "200");
    ck_assert_str_eq(PQgetvalue(res, 0, 1), "200");
    PQclear(res);
    pfs_pg_store_close(st);
}
END_TEST

/* Two instances make offers with one id: one wins, the other is told
 * PF_EEXIST with SQLite's message, and only the winner's audit row exists. */
START_TEST(offer_id_taken_across_instances)
{
    struct pfs_pg_store *a = store_on("upd_offer_twice"), *b = store_on(NULL);
    char id[PF_B2_HEX_LEN + 1], action[64];
    struct pfs_bundle_rec bu;
    struct pfs_offer_rec o;
    struct pf_error err = {0};
    bool created = false;
    int rows = 0;

    snprintf(id, sizeof(id), "%064d", 3);
    bu = bundle(id);
    ck_assert_int_eq(pfs_pg_bundle_put(a, &bu, &ops, 100, &created, &err), 0);
    ck_assert(created);
    ck_assert_int_eq(pfs_pg_bundle_put(b, &bu, &ops, 100, &created, &err), 0);
    ck_assert(!created);
    o = offer("o1", "T1", id);
    ck_assert_int_eq(pfs_pg_offer_put(a, &o, &bu, "{}", &ops, &err), 0);
    o.created_ms = 1500;
    ck_assert_int_eq(pfs_pg_offer_put(b, &o, &bu, "{}", &ops, &err), PF_EEXIST);
    ck_assert_str_eq(err.msg, "store: offer o1: offer id taken");
    last_audit(a, "T1", action, sizeof(action), NULL, &rows);
    ck_assert_int_eq(rows, 1);
    last_audit(a, id, action, sizeof(action), NULL, &rows);
    ck_assert_int_eq(rows, 1);
    pfs_pg_store_close(a);
    pfs_pg_store_close(b);
}
END_TEST

/* An event of a rollout's offer (actor "rollout/ID") moves its member in the
 * same transaction (pg_rollout_members.c); another offer's event needs no
 * member. Both are recorded. */
START_TEST(rollout_offer_event_recorded)
{
    struct pfs_pg_store *st = store_on("upd_rollout");
    const struct pfs_actor rollout = {.name = "rollout/1", .role = "ops"};
    char id[PF_B2_HEX_LEN + 1];
    struct pfs_bundle_rec b;
    struct pfs_offer_rec o;
    struct pf_update_event e;
    struct pf_error err = {0};
    bool created, recorded = true;

    snprintf(id, sizeof(id), "%064d", 4);
    b = bundle(id);
    ck_assert_int_eq(pfs_pg_bundle_put(st, &b, &ops, 100, &created, &err), 0);
    o = offer("o1", "T1", id);
    ck_assert_int_eq(pfs_pg_offer_put(st, &o, &b, "{}", &rollout, &err), 0);
    e = event("e1", "o1", PF_UPD_SUCCESS);
    ck_assert_int_eq(pfs_pg_update_event_put(st, "T1", &e, 2000, &recorded), 0);
    ck_assert(recorded);
    ck_assert_int_eq(events_of(st, "T1", "e1"), 1);
    o = offer("o2", "T2", id);
    ck_assert_int_eq(pfs_pg_offer_put(st, &o, &b, "{}", &ops, &err), 0);
    e = event("e2", "o2", PF_UPD_SUCCESS);
    ck_assert_int_eq(pfs_pg_update_event_put(st, "T2", &e, 2000, &recorded), 0);
    ck_assert(recorded);
    pfs_pg_store_close(st);
}
END_TEST

/* PostgreSQL restarted between calls (a private server): the next event is
 * recorded on a new session, and a read after another restart answers
 * instead of failing with the old session's error. */
START_TEST(events_and_reads_survive_a_restart)
{
    struct pf_pg_server own;
    struct pfs_pg_store *st = NULL;
    struct pf_update_event e = event("e1", "o1", PF_UPD_INSTALLING);
    struct pf_error err = {0};
    char own_dsn[1024];
    bool recorded = false;
    int64_t n = -1;

    ck_assert_int_eq(pf_pg_start(&own, false), 0);
    ck_assert_int_eq(pf_pg_createdb(&own, "upd_restart", own_dsn, sizeof(own_dsn)), 0);
    ck_assert_msg(pfs_pg_store_open(own_dsn, &st, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(pfs_pg_update_event_put(st, "T1", &e, 1000, &recorded), 0);
    ck_assert(recorded);
    ck_assert_int_eq(pf_pg_restart(&own), 0);
    e = event("e2", "o1", PF_UPD_SUCCESS);
    ck_assert_int_eq(pfs_pg_update_event_put(st, "T1", &e, 1001, &recorded), 0);
    ck_assert(recorded);
    ck_assert_int_eq(pfs_pg_update_event_put(st, "T1", &e, 1002, &recorded), 0);
    ck_assert(!recorded);
    ck_assert_int_eq(pf_pg_restart(&own), 0);
    ck_assert_int_eq(pfs_pg_update_event_count(st, "T1", "e2", &n), 0);
    ck_assert_int_eq(n, 1);
    pfs_pg_store_close(st);
    pf_pg_stop(&own);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("pg_updates");
    TCase *tc = tcase_create("core");

    tcase_add_unchecked_fixture(tc, server_up, server_down);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, bundles_offers_events);
    tcase_add_test(tc, history_prune_and_expire);
    tcase_add_test(tc, two_instances_record_an_event_once);
    tcase_add_test(tc, instances_racing_record_each_event_once);
    tcase_add_test(tc, offer_id_taken_across_instances);
    tcase_add_test(tc, rollout_offer_event_recorded);
    suite_add_tcase(s, tc);
    tc = tcase_create("restart");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, events_and_reads_survive_a_restart);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return pf_test_run(suite());
}
