/*
 * test_pg_notify.c - the PostgreSQL twins of store_notify.h (pg_notify.c)
 * against a real PostgreSQL 15 (tests/pg/pg.sh), each case in a database of
 * its own: the store contract's "notify" case called directly until the
 * contract suite runs its postgres row, a body kept byte for byte, and an
 * event stored by one instance delivered by another.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg_harness.h"
#include "store/postgres/pg_notify.h"
#include "testutil.h"

static struct pf_pg_server server;
static char dsn[1024];

static void server_up(void)
{
    if (pf_pg_start(&server, true) != 0) {
        fprintf(stderr, "test_pg_notify: PostgreSQL 15 could not be started (see above)\n");
        exit(EXIT_FAILURE);
    }
}

static void server_down(void)
{
    pf_pg_stop(&server);
}

static struct pfs_pg_store *store_on(const char *name)
{
    struct pfs_pg_store *st = NULL;
    struct pf_error err = {0};

    if (name)
        ck_assert_int_eq(pf_pg_createdb(&server, name, dsn, sizeof(dsn)), 0);
    ck_assert_msg(pfs_pg_store_open(dsn, &st, &err) == 0, "open: %s", err.msg);
    return st;
}

struct dlvs {
    int n;
    int64_t id[16];
    char event[16][PFS_NOTIFY_ID_LEN + 1];
    char hook[16][PFS_HOOK_NAME_MAX + 1];
    enum pfs_delivery_state state[16];
    int attempts[16];
    int last_status[16];
    char last_error[16][PFS_NOTIFY_ERR_MAX + 1];
    int64_t done_ms[16];
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
        x->last_status[x->n] = d->last_status;
        snprintf(x->last_error[x->n], sizeof(x->last_error[0]), "%s", d->last_error);
        x->done_ms[x->n] = d->done_ms;
        snprintf(x->body[x->n], sizeof(x->body[0]), "%s", d->body ? d->body : "");
    }
    x->n++;
    return 0;
}

static const char *const hooks[] = {"ops", "pager"};

START_TEST(queue_and_log)
{
    struct pfs_pg_store *st = store_on("ntf_contract");
    /* the body exactly as signed: spacing and key order kept */
    struct pfs_notify_event ev = {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "repair.state", "7",
                                  "{\"id\": \"aaaa\",\"a\":1}", 1000};
    struct pfs_attempt refused = {0, "connection refused", 3};
    struct pfs_attempt ok = {204, "", 5};
    struct pf_error err = {0};
    struct dlvs d = {0};
    int64_t next = 0, counts[PFS_DLV_COUNT];
    bool any = true;

    ck_assert_int_eq(pfs_pg_notify_next(st, &next, &any), 0);
    ck_assert(!any);
    ck_assert_msg(pfs_pg_notify_add(st, &ev, hooks, 2, 1000, &err) == 0, "%s", err.msg);
    /* One event id is stored once: a second add changes nothing. */
    ck_assert_int_eq(pfs_pg_notify_add(st, &ev, hooks, 1, 1001, &err), PF_EEXIST);
    ck_assert_int_eq(pfs_pg_notify_due(st, 999, 10, dlvs__cb, &d), 0);
    ck_assert_int_eq(d.n, 0);
    ck_assert_int_eq(pfs_pg_notify_due(st, 1000, 10, dlvs__cb, &d), 0);
    ck_assert_int_eq(d.n, 2);
    ck_assert_str_eq(d.event[0], ev.id);
    ck_assert_str_eq(d.body[0], ev.body);
    ck_assert_str_eq(d.hook[0], "ops");
    ck_assert_str_eq(d.hook[1], "pager");
    ck_assert_int_eq(d.state[0], PFS_DLV_PENDING);
    memset(&d, 0, sizeof(d));
    ck_assert_int_eq(pfs_pg_notify_due(st, 1000, 1, dlvs__cb, &d), 0);
    ck_assert_int_eq(d.n, 1);
    /* ops: refused, retried later; pager: delivered at once. */
    memset(&d, 0, sizeof(d));
    ck_assert_int_eq(pfs_pg_notify_due(st, 1000, 10, dlvs__cb, &d), 0);
    ck_assert_int_eq(pfs_pg_notify_result(st, d.id[0], &refused, PFS_DLV_PENDING, 3000, 1010, &err),
                     0);
    ck_assert_int_eq(pfs_pg_notify_result(st, d.id[1], &ok, PFS_DLV_DELIVERED, 0, 1010, &err), 0);
    memset(&d, 0, sizeof(d));
    ck_assert_int_eq(pfs_pg_notify_due(st, 2000, 10, dlvs__cb, &d), 0);
    ck_assert_int_eq(d.n, 0);
    ck_assert_int_eq(pfs_pg_notify_next(st, &next, &any), 0);
    ck_assert(any);
    ck_assert_int_eq(next, 3000);
    /* Survives a reopen, same id and body, one attempt logged. */
    pfs_pg_store_close(st);
    st = store_on(NULL);
    ck_assert_int_eq(pfs_pg_notify_due(st, 3000, 10, dlvs__cb, &d), 0);
    ck_assert_int_eq(d.n, 1);
    ck_assert_str_eq(d.event[0], ev.id);
    ck_assert_str_eq(d.body[0], ev.body);
    ck_assert_int_eq(d.attempts[0], 1);
    ck_assert_str_eq(d.last_error[0], "connection refused");
    ck_assert_int_eq(d.done_ms[0], 0);
    ck_assert_int_eq(pfs_pg_notify_result(st, d.id[0], &refused, PFS_DLV_FAILED, 0, 3010, &err), 0);
    ck_assert_int_eq(pfs_pg_notify_counts(st, "ops", counts), 0);
    ck_assert_int_eq(counts[PFS_DLV_FAILED], 1);
    ck_assert_int_eq(counts[PFS_DLV_PENDING], 0);
    ck_assert_int_eq(pfs_pg_notify_counts(st, "pager", counts), 0);
    ck_assert_int_eq(counts[PFS_DLV_DELIVERED], 1);
    ck_assert_int_eq(pfs_pg_notify_counts(st, "nobody", counts), 0);
    ck_assert_int_eq(counts[PFS_DLV_DELIVERED] + counts[PFS_DLV_FAILED] + counts[PFS_DLV_PENDING],
                     0);
    /* The log: newest first, by hook, paged by id. */
    memset(&d, 0, sizeof(d));
    ck_assert_int_eq(pfs_pg_notify_log(st, NULL, 0, 10, dlvs__cb, &d), 0);
    ck_assert_int_eq(d.n, 2);
    ck_assert_int_gt(d.id[0], d.id[1]);
    ck_assert_int_eq(d.state[0], PFS_DLV_DELIVERED);
    ck_assert_int_eq(d.last_status[0], 204);
    ck_assert_int_eq(d.done_ms[0], 1010);
    ck_assert_int_eq(d.state[1], PFS_DLV_FAILED);
    ck_assert_int_eq(d.attempts[1], 2);
    ck_assert_int_eq(d.done_ms[1], 3010);
    memset(&d, 0, sizeof(d));
    ck_assert_int_eq(pfs_pg_notify_log(st, "ops", 0, 10, dlvs__cb, &d), 0);
    ck_assert_int_eq(d.n, 1);
    memset(&d, 0, sizeof(d));
    ck_assert_int_eq(pfs_pg_notify_log(st, NULL, 2, 10, dlvs__cb, &d), 0);
    ck_assert_int_eq(d.n, 1);
    ck_assert_int_eq(d.id[0], 1);
    /* every attempt is logged with its number */
    {
        PGresult *res = NULL;

        ck_assert_int_eq(pfs_pg_query(st->pg,
                                      "SELECT string_agg(delivery || ':' || attempt || ':' ||"
                                      " status || ':' || error, ',' ORDER BY delivery, attempt)"
                                      " FROM notify_attempts",
                                      0, NULL, &res, &err),
                         0);
        ck_assert_str_eq(PQgetvalue(res, 0, 0), "1:1:0:connection refused,1:2:0:connection "
                                                "refused,2:1:204:");
        PQclear(res);
    }
    pfs_pg_store_close(st);
}
END_TEST

/* All or nothing: a hook named twice fails the add, and nothing of the
 * event stays (its id is free again). */
START_TEST(add_all_or_nothing)
{
    struct pfs_pg_store *st = store_on("ntf_atomic");
    static const char *const twice[] = {"ops", "ops"};
    struct pfs_notify_event ev = {"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", "tamper", "T1", "{}", 10};
    struct pf_error err = {0};
    struct dlvs d = {0};

    ck_assert_int_eq(pfs_pg_notify_add(st, &ev, twice, 2, 10, &err), PF_EEXIST);
    ck_assert_ptr_nonnull(strstr(err.msg, ev.id));
    ck_assert_int_eq(pfs_pg_notify_due(st, 10, 10, dlvs__cb, &d), 0);
    ck_assert_int_eq(d.n, 0);
    ck_assert_int_eq(pfs_pg_notify_add(st, &ev, twice, 1, 10, &err), 0);
    pfs_pg_store_close(st);
}
END_TEST

/* One instance stores the event, another delivers it: the same id and body. */
START_TEST(stored_by_one_delivered_by_another)
{
    struct pfs_pg_store *a = store_on("ntf_two"), *b = store_on(NULL);
    struct pfs_notify_event ev = {"cccccccccccccccccccccccccccccccc", "tamper", "T1",
                                  "{\"serial\":\"T1\"}", 10};
    struct pfs_attempt ok = {200, "", 4};
    struct pf_error err = {0};
    struct dlvs d = {0};
    bool any = true;
    int64_t next = 0;

    ck_assert_int_eq(pfs_pg_notify_add(a, &ev, hooks, 1, 10, &err), 0);
    ck_assert_int_eq(pfs_pg_notify_due(b, 10, 10, dlvs__cb, &d), 0);
    ck_assert_int_eq(d.n, 1);
    ck_assert_str_eq(d.body[0], ev.body);
    ck_assert_int_eq(pfs_pg_notify_result(b, d.id[0], &ok, PFS_DLV_DELIVERED, 0, 20, &err), 0);
    ck_assert_int_eq(pfs_pg_notify_next(a, &next, &any), 0);
    ck_assert(!any);
    pfs_pg_store_close(a);
    pfs_pg_store_close(b);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("pg_notify");
    TCase *tc = tcase_create("core");

    tcase_add_unchecked_fixture(tc, server_up, server_down);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, queue_and_log);
    tcase_add_test(tc, add_all_or_nothing);
    tcase_add_test(tc, stored_by_one_delivered_by_another);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return pf_test_run(suite());
}
