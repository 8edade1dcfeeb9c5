/*
 * test_pg_diag.c - the PostgreSQL twins of store_diag.h (pg_diag.c) against a
 * real PostgreSQL 15 (tests/pg/pg.sh), each case in a database of its own:
 * the store contract's "diagnostics" case called directly until the
 * contract suite runs its postgres row, with what the SQLite schema allowed
 * and a first PostgreSQL schema did not (a failed archive, 2; arguments and
 * results handed back as written); and two instances receiving the same
 * answer or chunk: stored once, the second refused as SQLite's second call.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg_harness.h"
#include "store/postgres/pg_diag.h"
#include "store/record_json.h"
#include "testutil.h"

static struct pf_pg_server server;
static char dsn[1024];
static const struct pfs_actor sup = {.name = "sam", .role = "support"};

static void server_up(void)
{
    if (pf_pg_start(&server, true) != 0) {
        fprintf(stderr, "test_pg_diag: PostgreSQL 15 could not be started (see above)\n");
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

struct diags {
    int n;
    char id[4][PF_DIAG_ID_MAX + 1];
    char status[PFS_DIAG_STATUS_MAX + 1];
    char code[PF_DIAG_CODE_MAX + 1];
    char args[64], result[64];
    bool late;
    int64_t size, received, repair;
    int done;
};

static int diags__cb(void *ctx, const struct pfs_diag_rec *r)
{
    struct diags *x = ctx;

    if (x->n < 4)
        snprintf(x->id[x->n], sizeof(x->id[0]), "%s", r->id);
    x->n++;
    snprintf(x->status, sizeof(x->status), "%s", r->status);
    snprintf(x->code, sizeof(x->code), "%s", r->code);
    snprintf(x->args, sizeof(x->args), "%s", r->args ? r->args : "(null)");
    snprintf(x->result, sizeof(x->result), "%s", r->result ? r->result : "(null)");
    x->late = r->late;
    x->size = r->archive_size;
    x->received = r->archive_received;
    x->done = r->archive_done;
    x->repair = r->repair_id;
    return 0;
}

static struct pfs_diag_rec diag_req(const char *id, int64_t created, int64_t deadline)
{
    struct pfs_diag_rec r;

    memset(&r, 0, sizeof(r));
    snprintf(r.id, sizeof(r.id), "%s", id);
    snprintf(r.serial, sizeof(r.serial), "T1");
    snprintf(r.command, sizeof(r.command), "logs");
    r.args = "{\"lines\":10,\"a\":1}"; /* key order and spacing as written */
    r.created_ms = created;
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
    a.result = "{\"lines\":[],\"b\":2}";
    return a;
}

START_TEST(requests_answers_archives)
{
    struct pfs_pg_store *st = store_on("diag_contract");
    struct pfs_diag_rec r = diag_req("d1", 100, 1000);
    struct pf_diag_resp a = diag_ok("d1");
    struct pf_error err = {0};
    struct diags x;
    int64_t received = -1;
    bool late = true;
    void *buf = NULL;
    size_t len = 0;
    int n = -1;

    ck_assert_msg(pfs_pg_diag_create(st, &r, &sup, 100, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(pfs_pg_diag_create(st, &r, &sup, 100, &err), PF_EEXIST);
    {
        const char *p[1] = {"T1"};
        PGresult *res = NULL;
        char *text = pfs_rec_diag_request_text(&r);

        ck_assert_int_eq(pfs_pg_query(st->pg,
                                      "SELECT action, after::text, actor, role FROM audit"
                                      " WHERE target = $1",
                                      1, p, &res, &err),
                         0);
        ck_assert_int_eq(PQntuples(res), 1);
        ck_assert_str_eq(PQgetvalue(res, 0, 0), "diag.request");
        ck_assert_str_eq(PQgetvalue(res, 0, 1), text);
        ck_assert_str_eq(PQgetvalue(res, 0, 2), "sam");
        ck_assert_str_eq(PQgetvalue(res, 0, 3), "support");
        PQclear(res);
        free(text);
    }
    memset(&x, 0, sizeof(x));
    ck_assert_int_eq(pfs_pg_diag_get(st, "d1", diags__cb, &x), 0);
    ck_assert_str_eq(x.status, "pending");
    ck_assert_str_eq(x.args, "{\"lines\":10,\"a\":1}");
    ck_assert_str_eq(x.result, "(null)");
    ck_assert_int_eq(x.size, -1);
    ck_assert_int_eq(x.repair, 0);
    ck_assert_int_eq(pfs_pg_diag_get(st, "nope", diags__cb, &x), PF_ENOENT);
    ck_assert_int_eq(pfs_pg_diag_answer(st, "T2", &a, -1, NULL, 200, &late), PF_ENOENT);
    ck_assert_int_eq(pfs_pg_diag_answer(st, "T1", &a, 10, "b2:abc", 200, &late), 0);
    ck_assert(!late);
    ck_assert_int_eq(pfs_pg_diag_answer(st, "T1", &a, 10, "b2:abc", 201, &late), PF_EEXIST);
    memset(&x, 0, sizeof(x));
    ck_assert_int_eq(pfs_pg_diag_get(st, "d1", diags__cb, &x), 0);
    ck_assert_str_eq(x.status, "ok");
    ck_assert_str_eq(x.result, "{\"lines\":[],\"b\":2}");
    /* the archive: chunks only in order, then done */
    ck_assert_int_eq(pfs_pg_diag_chunk_put(st, "d1", 4, "efgh", 4, 300, &received), PF_ERANGE);
    ck_assert_int_eq(received, 0);
    ck_assert_int_eq(pfs_pg_diag_chunk_put(st, "d1", 0, "ab\0d", 4, 300, &received), 0);
    ck_assert_int_eq(received, 4);
    memset(&x, 0, sizeof(x));
    ck_assert_int_eq(pfs_pg_diag_transfers(st, diags__cb, &x), 0);
    ck_assert_int_eq(x.n, 1);
    ck_assert_int_eq(x.size, 10);
    ck_assert_int_eq(x.received, 4);
    ck_assert_int_eq(pfs_pg_diag_chunk_put(st, "d1", 4, "efghijk", 7, 300, &received),
                     PF_ERANGE); /* beyond the announced size */
    ck_assert_int_eq(pfs_pg_diag_chunk_put(st, "d1", 4, "", 0, 300, &received), PF_ERANGE);
    ck_assert_int_eq(pfs_pg_diag_chunk_put(st, "d1", 4, "efghi\xff", 6, 300, &received), 0);
    ck_assert_int_eq(received, 10);
    ck_assert_int_eq(pfs_pg_diag_chunk_put(st, "nope", 0, "a", 1, 300, &received), PF_ENOENT);
    ck_assert_int_eq(pfs_pg_diag_archive_done(st, "d1", 1, 400), 0);
    ck_assert_int_eq(pfs_pg_diag_archive_read(st, "d1", &buf, &len), 0);
    ck_assert_int_eq((int)len, 10);
    ck_assert_int_eq(memcmp(buf, "ab\0defghi\xff", 10), 0);
    free(buf);
    ck_assert_int_eq(pfs_pg_diag_archive_read(st, "nope", &buf, &len), 0);
    ck_assert_int_eq((int)len, 0);
    free(buf);
    memset(&x, 0, sizeof(x));
    ck_assert_int_eq(pfs_pg_diag_transfers(st, diags__cb, &x), 0);
    ck_assert_int_eq(x.n, 0);
    /* expiry, and a late answer stored with its flag */
    r = diag_req("d2", 100, 500);
    ck_assert_int_eq(pfs_pg_diag_create(st, &r, &sup, 100, &err), 0);
    memset(&x, 0, sizeof(x));
    ck_assert_int_eq(pfs_pg_diag_expire(st, 600, diags__cb, &x, &n), 0);
    ck_assert_int_eq(n, 1);
    ck_assert_int_eq(x.n, 1);
    ck_assert_str_eq(x.id[0], "d2");
    ck_assert_str_eq(x.status, "pending"); /* as it was before it expired */
    ck_assert_int_eq(pfs_pg_diag_expire(st, 700, NULL, NULL, &n), 0);
    ck_assert_int_eq(n, 0);
    memset(&x, 0, sizeof(x));
    ck_assert_int_eq(pfs_pg_diag_get(st, "d2", diags__cb, &x), 0);
    ck_assert_str_eq(x.status, "expired");
    ck_assert_str_eq(x.code, "TIMEOUT");
    a = diag_ok("d2");
    ck_assert_int_eq(pfs_pg_diag_answer(st, "T1", &a, -1, NULL, 800, &late), 0);
    ck_assert(late);
    memset(&x, 0, sizeof(x));
    ck_assert_int_eq(pfs_pg_diag_get(st, "d2", diags__cb, &x), 0);
    ck_assert_str_eq(x.status, "ok");
    ck_assert(x.late);
    /* newest first; equal times in arrival order, newest first (SQLite's rowid) */
    r = diag_req("d0", 100, 5000);
    ck_assert_int_eq(pfs_pg_diag_create(st, &r, &sup, 100, &err), 0);
    memset(&x, 0, sizeof(x));
    ck_assert_int_eq(pfs_pg_diag_list(st, "T1", 10, diags__cb, &x), 0);
    ck_assert_int_eq(x.n, 3);
    ck_assert_str_eq(x.id[0], "d0");
    ck_assert_str_eq(x.id[1], "d2");
    ck_assert_str_eq(x.id[2], "d1");
    memset(&x, 0, sizeof(x));
    ck_assert_int_eq(pfs_pg_diag_list(st, "T1", 1, diags__cb, &x), 0);
    ck_assert_int_eq(x.n, 1);
    pfs_pg_store_close(st);
}
END_TEST

/* An archive that failed is 2, as on SQLite, and no longer a transfer. */
START_TEST(failed_archive_is_two)
{
    struct pfs_pg_store *st = store_on("diag_failed");
    struct pfs_diag_rec r = diag_req("d1", 100, 1000);
    struct pf_diag_resp a = diag_ok("d1");
    struct pf_error err = {0};
    struct diags x;
    bool late;

    ck_assert_int_eq(pfs_pg_diag_create(st, &r, &sup, 100, &err), 0);
    ck_assert_int_eq(pfs_pg_diag_answer(st, "T1", &a, 10, "b2:abc", 200, &late), 0);
    ck_assert_int_eq(pfs_pg_diag_archive_done(st, "d1", 2, 300), 0);
    memset(&x, 0, sizeof(x));
    ck_assert_int_eq(pfs_pg_diag_get(st, "d1", diags__cb, &x), 0);
    ck_assert_int_eq(x.done, 2);
    memset(&x, 0, sizeof(x));
    ck_assert_int_eq(pfs_pg_diag_transfers(st, diags__cb, &x), 0);
    ck_assert_int_eq(x.n, 0);
    pfs_pg_store_close(st);
}
END_TEST

/* A request made while the terminal has an open repair record refers to it. */
START_TEST(request_refers_to_open_repair)
{
    struct pfs_pg_store *st = store_on("diag_repair");
    struct pfs_diag_rec r = diag_req("d1", 100, 1000);
    struct pf_error err = {0};
    struct diags x;
    PGresult *res = NULL;
    char want[32];

    ck_assert_msg(pfs_pg_query(st->pg,
                               "INSERT INTO repairs (serial, state, source, reason, opened_ms,"
                               " updated_ms) VALUES ('T1', 'open', 'support', 'screen', 50, 50)"
                               " RETURNING id",
                               0, NULL, &res, &err) == 0,
                  "%s", err.msg);
    snprintf(want, sizeof(want), "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    ck_assert_int_eq(pfs_pg_diag_create(st, &r, &sup, 100, &err), 0);
    memset(&x, 0, sizeof(x));
    ck_assert_int_eq(pfs_pg_diag_get(st, "d1", diags__cb, &x), 0);
    ck_assert_int_eq(x.repair, strtoll(want, NULL, 10));
    pfs_pg_store_close(st);
}
END_TEST

/* Two instances receive the same answer and the same chunk (a retransmission
 * through the shared subscription): stored once, the second refused. */
START_TEST(two_instances_answer_and_chunk_once)
{
    struct pfs_pg_store *a = store_on("diag_twice"), *b = store_on(NULL);
    struct pfs_diag_rec r = diag_req("d1", 100, 1000);
    struct pf_diag_resp ans = diag_ok("d1");
    struct pf_error err = {0};
    int64_t received = -1;
    void *buf = NULL;
    size_t len = 0;
    bool late;

    ck_assert_int_eq(pfs_pg_diag_create(a, &r, &sup, 100, &err), 0);
    ck_assert_int_eq(pfs_pg_diag_answer(a, "T1", &ans, 8, "b2:abc", 200, &late), 0);
    ck_assert_int_eq(pfs_pg_diag_answer(b, "T1", &ans, 8, "b2:abc", 201, &late), PF_EEXIST);
    ck_assert_int_eq(pfs_pg_diag_chunk_put(a, "d1", 0, "abcd", 4, 300, &received), 0);
    ck_assert_int_eq(pfs_pg_diag_chunk_put(b, "d1", 0, "abcd", 4, 301, &received), PF_ERANGE);
    ck_assert_int_eq(received, 4);
    ck_assert_int_eq(pfs_pg_diag_chunk_put(b, "d1", 4, "efgh", 4, 302, &received), 0);
    ck_assert_int_eq(received, 8);
    ck_assert_int_eq(pfs_pg_diag_archive_read(a, "d1", &buf, &len), 0);
    ck_assert_int_eq((int)len, 8);
    ck_assert_int_eq(memcmp(buf, "abcdefgh", 8), 0);
    free(buf);
    pfs_pg_store_close(a);
    pfs_pg_store_close(b);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("pg_diag");
    TCase *tc = tcase_create("core");

    tcase_add_unchecked_fixture(tc, server_up, server_down);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, requests_answers_archives);
    tcase_add_test(tc, failed_archive_is_two);
    tcase_add_test(tc, request_refers_to_open_repair);
    tcase_add_test(tc, two_instances_answer_and_chunk_once);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return pf_test_run(suite());
}
