/*
 * test_store_diag.c - diagnostic requests in the SQLite store: created with
 * their audit row, answered once, expired, answered late (stored, flagged),
 * answers only from the terminal asked, archive chunks only in order.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "store/store.h"
#include "store/store_diag.h"
#include "testutil.h"

static char dir[256];
static struct pfs_store *st;

static void setup(void)
{
    struct pfs_store_opts o = {0};
    struct pf_error err = {0};
    char path[300];
    struct pfs_device d;
    struct pfs_actor ops = {.name = "ops", .role = "ops"};

    pf_test_tmpdir(dir, sizeof(dir));
    snprintf(path, sizeof(path), "%s/s.db", dir);
    o.path = path;
    ck_assert_int_eq(pfs_store_open(&o, &st, &err), 0);
    memset(&d, 0, sizeof(d));
    snprintf(d.serial, sizeof(d.serial), "T1");
    snprintf(d.model, sizeof(d.model), "PX");
    ck_assert_int_eq(pfs_store_device_add(st, &d, &ops, 1000, &err), 0);
}

static void teardown(void)
{
    pfs_store_close(st);
    pf_test_rmtree(dir);
}

static void create(const char *id, int64_t deadline)
{
    struct pfs_diag_rec r;
    struct pfs_actor who = {.name = "alice", .role = "support"};
    struct pf_error err = {0};

    memset(&r, 0, sizeof(r));
    snprintf(r.id, sizeof(r.id), "%s", id);
    snprintf(r.serial, sizeof(r.serial), "T1");
    snprintf(r.command, sizeof(r.command), "archive");
    r.args = "{\"max_kb\":8}";
    r.created_ms = 2000;
    r.deadline_ms = deadline;
    ck_assert_int_eq(pfs_store_diag_create(st, &r, &who, 2000, &err), 0);
}

static int copy_cb(void *ctx, const struct pfs_diag_rec *r)
{
    struct pfs_diag_rec *out = ctx;

    *out = *r;
    out->args = out->message = out->result = NULL; /* valid only during the call */
    return 0;
}

static struct pfs_diag_rec get(const char *id)
{
    struct pfs_diag_rec r;

    ck_assert_int_eq(pfs_store_diag_get(st, id, copy_cb, &r), 0);
    return r;
}

static struct pf_diag_resp answer(const char *id)
{
    struct pf_diag_resp a;

    memset(&a, 0, sizeof(a));
    snprintf(a.id, sizeof(a.id), "%s", id);
    snprintf(a.cmd, sizeof(a.cmd), "archive");
    a.status = PF_DIAG_OK;
    a.result = (char *)"{\"size\":10}";
    return a;
}

static int audit_cb(void *ctx, const struct pfs_audit *a)
{
    int *n = ctx;

    if (strcmp(a->action, "diag.request") == 0 && strcmp(a->actor, "alice") == 0)
        (*n)++;
    return 0;
}

START_TEST(test_create_answer_once)
{
    struct pf_diag_resp a = answer("d1");
    struct pfs_diag_rec r;
    bool late = true;
    int audits = 0;

    create("d1", 9000);
    r = get("d1");
    ck_assert_str_eq(r.status, "pending");
    ck_assert_int_eq(r.archive_size, -1);
    ck_assert_int_eq(pfs_store_audit_list(st, "T1", 0, 10, audit_cb, &audits), 0);
    ck_assert_int_eq(audits, 1);
    /* Another terminal cannot answer it; an unknown id is not found. */
    ck_assert_int_eq(pfs_store_diag_answer(st, "T2", &a, 10, "ab", 3000, &late), PF_ENOENT);
    ck_assert_str_eq(get("d1").status, "pending");
    ck_assert_int_eq(pfs_store_diag_answer(st, "T1", &a, 10, "ab", 3000, &late), 0);
    ck_assert(!late);
    r = get("d1");
    ck_assert_str_eq(r.status, "ok");
    ck_assert_int_eq(r.answered_ms, 3000);
    ck_assert_int_eq(r.archive_size, 10);
    /* A second answer changes nothing. */
    a.status = PF_DIAG_FAILED;
    snprintf(a.code, sizeof(a.code), "IO");
    ck_assert_int_eq(pfs_store_diag_answer(st, "T1", &a, -1, NULL, 4000, &late), PF_EEXIST);
    r = get("d1");
    ck_assert_str_eq(r.status, "ok");
    ck_assert_int_eq(r.answered_ms, 3000);
}
END_TEST

START_TEST(test_expire_then_late)
{
    struct pf_diag_resp a = answer("d2");
    bool late = false;
    int n = 0;

    create("d2", 5000);
    create("d3", 50000);
    ck_assert_int_eq(pfs_store_diag_expire(st, 5000, NULL, NULL, &n), 0);
    ck_assert_int_eq(n, 0); /* not past the deadline yet */
    ck_assert_int_eq(pfs_store_diag_expire(st, 5001, NULL, NULL, &n), 0);
    ck_assert_int_eq(n, 1);
    ck_assert_str_eq(get("d2").status, "expired");
    ck_assert_str_eq(get("d2").code, "TIMEOUT");
    ck_assert_str_eq(get("d3").status, "pending");
    a.status = PF_DIAG_REFUSED;
    snprintf(a.code, sizeof(a.code), "EXPIRED");
    a.result = NULL;
    ck_assert_int_eq(pfs_store_diag_answer(st, "T1", &a, -1, NULL, 6000, &late), 0);
    ck_assert(late);
    ck_assert_str_eq(get("d2").status, "refused");
    ck_assert_str_eq(get("d2").code, "EXPIRED");
    ck_assert(get("d2").late);
}
END_TEST

START_TEST(test_chunks_in_order)
{
    struct pf_diag_resp a = answer("d4");
    int64_t received = -1;
    bool late;
    void *buf = NULL;
    size_t len = 0;

    create("d4", 9000);
    ck_assert_int_eq(pfs_store_diag_chunk_put(st, "d4", 0, "abc", 3, 3000, &received), PF_ERANGE);
    ck_assert_int_eq(pfs_store_diag_answer(st, "T1", &a, 10, "ab", 3000, &late), 0);
    ck_assert_int_eq(pfs_store_diag_chunk_put(st, "d4", 4, "efgh", 4, 3000, &received), PF_ERANGE);
    ck_assert_int_eq(received, 0);
    ck_assert_int_eq(pfs_store_diag_chunk_put(st, "d4", 0, "abcd", 4, 3000, &received), 0);
    ck_assert_int_eq(received, 4);
    /* A duplicate of the first chunk, and one past the announced size, are refused. */
    ck_assert_int_eq(pfs_store_diag_chunk_put(st, "d4", 0, "abcd", 4, 3000, &received), PF_ERANGE);
    ck_assert_int_eq(pfs_store_diag_chunk_put(st, "d4", 4, "efghijk", 7, 3000, &received),
                     PF_ERANGE);
    ck_assert_int_eq(received, 4);
    ck_assert_int_eq(pfs_store_diag_chunk_put(st, "d4", 4, "efghij", 6, 3000, &received), 0);
    ck_assert_int_eq(pfs_store_diag_archive_read(st, "d4", &buf, &len), 0);
    ck_assert_uint_eq(len, 10);
    ck_assert_int_eq(memcmp(buf, "abcdefghij", 10), 0);
    free(buf);
    ck_assert_int_eq(pfs_store_diag_archive_done(st, "d4", 1, 3000), 0);
    ck_assert_int_eq(get("d4").archive_done, 1);
    ck_assert_int_eq(pfs_store_diag_chunk_put(st, "nope", 0, "a", 1, 3000, &received), PF_ENOENT);
}
END_TEST

static Suite *store_diag_suite(void)
{
    Suite *s = suite_create("store_diag");
    TCase *tc = tcase_create("store");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_create_answer_once);
    tcase_add_test(tc, test_expire_then_late);
    tcase_add_test(tc, test_chunks_in_order);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return pf_test_run(store_diag_suite());
}
