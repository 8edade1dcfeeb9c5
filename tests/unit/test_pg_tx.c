/*
 * test_pg_tx.c - the PostgreSQL backend's transaction helper against a real
 * PostgreSQL 15 of its own (tests/pg/pg.sh), restarted from the test:
 *  - a restart (pg_ctl restart -m fast) in the middle of a transaction: the
 *    helper reconnects, runs the transaction again once, and it is committed
 *    once (no row doubled, none lost);
 *  - a serialization failure is run again; any other error is not, and
 *    leaves nothing;
 *  - the session dies while COMMIT is in flight: the outcome is asked of the
 *    server by transaction id, and the aborted transaction run again once;
 *  - the server stays down: the helper gives up after its deadline and
 *    acknowledges nothing.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg_harness.h"
#include "store/postgres/pg_conn.h"
#include "testutil.h"

static struct pf_pg_server server;
static char dsn[1024];

static void server_up(void)
{
    /* Private: these tests restart and stop the server. */
    if (pf_pg_start(&server, false) != 0) {
        fprintf(stderr, "test_pg_tx: PostgreSQL 15 could not be started (see above)\n");
        exit(EXIT_FAILURE);
    }
}

static void server_down(void)
{
    pf_pg_stop(&server);
}

static struct pfs_pg *fresh_db(const char *name, int64_t deadline_ms)
{
    struct pfs_pg_opts o = {.reconnect_deadline_ms = deadline_ms};
    struct pfs_pg *pg = NULL;
    struct pf_error err = {0};

    ck_assert_int_eq(pf_pg_createdb(&server, name, dsn, sizeof(dsn)), 0);
    o.dsn = dsn;
    ck_assert_msg(pfs_pg_open(&o, &pg, &err) == 0, "open: %s", err.msg);
    ck_assert_int_eq(pfs_pg_exec(pg,
                                 "CREATE TABLE t (id bigint GENERATED ALWAYS AS IDENTITY"
                                 " PRIMARY KEY, v text NOT NULL UNIQUE)",
                                 0, NULL, &err),
                     0);
    return pg;
}

static int64_t count_rows(struct pfs_pg *pg, const char *v)
{
    const char *params[1] = {v};
    struct pf_error err = {0};
    PGresult *res = NULL;
    int64_t n;

    ck_assert_msg(pfs_pg_query(pg, "SELECT count(*) FROM t WHERE v = $1", 1, params, &res, &err) ==
                          0,
                  "%s", err.msg);
    n = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return n;
}

struct body {
    int runs;
    int last_attempt;
    const char *value;
};

/* Inserts a row; on the first attempt PostgreSQL restarts between the insert
 * and the next statement. */
static int body_restart(void *ctx, struct pfs_pg *pg, int attempt, struct pf_error *err)
{
    struct body *b = ctx;
    const char *params[1] = {b->value};
    int rc;

    b->runs++;
    b->last_attempt = attempt;
    rc = pfs_pg_exec(pg, "INSERT INTO t (v) VALUES ($1)", 1, params, err);
    if (rc)
        return rc;
    if (attempt == 1)
        ck_assert_int_eq(pf_pg_restart(&server), 0);
    return pfs_pg_exec(pg, "UPDATE t SET v = v WHERE v = $1", 1, params, err);
}

START_TEST(restart_mid_transaction_retried_once)
{
    struct pfs_pg *pg = fresh_db("tx_restart", 0);
    struct body b = {.value = "paid-1"};
    struct pfs_pg_stats stats;
    struct pf_error err = {0};
    int pid_before = pfs_pg_backend_pid(pg);

    ck_assert_msg(pfs_pg_tx(pg, PFS_PG_READ_COMMITTED, body_restart, &b, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(b.runs, 2);
    ck_assert_int_eq(b.last_attempt, 2);
    pfs_pg_stats_get(pg, &stats);
    ck_assert_int_eq(stats.tx_retries, 1);
    ck_assert_int_eq(stats.tx_commits, 1);
    ck_assert_int_eq(stats.connects, 2);
    ck_assert_int_ne(pfs_pg_backend_pid(pg), pid_before);
    ck_assert_int_eq(count_rows(pg, "paid-1"), 1);
    pfs_pg_free(pg);
}
END_TEST

static int body_conflict(void *ctx, struct pfs_pg *pg, int attempt, struct pf_error *err)
{
    struct body *b = ctx;
    const char *params[1] = {b->value};
    int rc;

    b->runs++;
    rc = pfs_pg_exec(pg, "INSERT INTO t (v) VALUES ($1)", 1, params, err);
    if (rc || attempt > 1)
        return rc;
    /* What PostgreSQL raises for the loser of two serializable transactions. */
    return pfs_pg_exec(pg,
                       "DO $$ BEGIN RAISE EXCEPTION 'conflict' USING ERRCODE = '40001';"
                       " END $$",
                       0, NULL, err);
}

START_TEST(serialization_failure_retried)
{
    struct pfs_pg *pg = fresh_db("tx_conflict", 0);
    struct body b = {.value = "paid-2"};
    struct pf_error err = {0};

    ck_assert_msg(pfs_pg_tx(pg, PFS_PG_SERIALIZABLE, body_conflict, &b, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(b.runs, 2);
    ck_assert_int_eq(count_rows(pg, "paid-2"), 1);
    pfs_pg_free(pg);
}
END_TEST

static int body_dup(void *ctx, struct pfs_pg *pg, int attempt, struct pf_error *err)
{
    struct body *b = ctx;
    const char *params[1] = {b->value};
    int rc;

    b->runs++;
    rc = pfs_pg_exec(pg, "INSERT INTO t (v) VALUES ('side-effect')", 0, NULL, err);
    if (rc)
        return rc;
    return pfs_pg_exec(pg, "INSERT INTO t (v) VALUES ($1)", 1, params, err);
}

START_TEST(other_error_not_retried_nothing_left)
{
    struct pfs_pg *pg = fresh_db("tx_dup", 0);
    struct body b = {.value = "dup"};
    struct pf_error err = {0};

    ck_assert_int_eq(pfs_pg_exec(pg, "INSERT INTO t (v) VALUES ('dup')", 0, NULL, &err), 0);
    ck_assert_int_eq(pfs_pg_tx(pg, PFS_PG_READ_COMMITTED, body_dup, &b, &err), PF_EIO);
    ck_assert_ptr_nonnull(strstr(err.msg, "duplicate key"));
    ck_assert_int_eq(b.runs, 1);
    ck_assert_int_eq(count_rows(pg, "side-effect"), 0);
    ck_assert_int_eq(count_rows(pg, "dup"), 1);
    pfs_pg_free(pg);
}
END_TEST

static int body_die_at_commit(void *ctx, struct pfs_pg *pg, int attempt, struct pf_error *err)
{
    struct body *b = ctx;
    const char *params[1] = {attempt == 1 ? "die" : b->value};

    b->runs++;
    return pfs_pg_exec(pg, "INSERT INTO t (v) VALUES ($1)", 1, params, err);
}

/* A deferred trigger ends the session inside COMMIT: the client never hears
 * the answer and must find out from the transaction id. */
START_TEST(commit_lost_in_flight_resolved_by_xid)
{
    struct pfs_pg *pg = fresh_db("tx_commit_lost", 0);
    struct body b = {.value = "paid-3"};
    struct pfs_pg_stats stats;
    struct pf_error err = {0};

    ck_assert_int_eq(
            pfs_pg_exec(pg,
                        "CREATE FUNCTION die() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
                        " PERFORM pg_terminate_backend(pg_backend_pid());"
                        " PERFORM pg_sleep(5); RETURN NULL; END $$;"
                        "CREATE CONSTRAINT TRIGGER die_at_commit AFTER INSERT ON t"
                        " DEFERRABLE INITIALLY DEFERRED FOR EACH ROW"
                        " WHEN (NEW.v = 'die') EXECUTE FUNCTION die()",
                        0, NULL, &err),
            0);
    ck_assert_msg(pfs_pg_tx(pg, PFS_PG_READ_COMMITTED, body_die_at_commit, &b, &err) == 0, "%s",
                  err.msg);
    ck_assert_int_eq(b.runs, 2);
    pfs_pg_stats_get(pg, &stats);
    ck_assert_int_eq(stats.commit_unknown_resolved, 1);
    ck_assert_int_eq(count_rows(pg, "die"), 0);
    ck_assert_int_eq(count_rows(pg, "paid-3"), 1);
    pfs_pg_free(pg);
}
END_TEST

static int body_plain(void *ctx, struct pfs_pg *pg, int attempt, struct pf_error *err)
{
    struct body *b = ctx;
    const char *params[1] = {b->value};

    b->runs++;
    return pfs_pg_exec(pg, "INSERT INTO t (v) VALUES ($1)", 1, params, err);
}

/* Last: stops the server for good. */
START_TEST(server_gone_gives_up_acknowledges_nothing)
{
    struct pfs_pg *pg = fresh_db("tx_gone", 600);
    struct body b = {.value = "lost"};
    struct pf_error err = {0};
    char cmd[1200];

    snprintf(cmd, sizeof(cmd), "bash '%s/tests/pg/pg.sh' psql '%s' 'SELECT 1' >/dev/null",
             getenv("POSFLEET_SRC") ? getenv("POSFLEET_SRC") : PF_PG_SRC_DIR, server.dir);
    ck_assert_int_eq(system(cmd), 0);
    pf_pg_stop(&server);
    ck_assert_int_ne(pfs_pg_tx(pg, PFS_PG_READ_COMMITTED, body_plain, &b, &err), 0);
    ck_assert_int_eq(err.code, PF_ECONN);
    ck_assert_ptr_nonnull(strstr(err.msg, "no connection"));
    pfs_pg_free(pg);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("pg_tx");
    TCase *tc = tcase_create("core");

    tcase_add_unchecked_fixture(tc, server_up, server_down);
    tcase_set_timeout(tc, 90);
    tcase_add_test(tc, restart_mid_transaction_retried_once);
    tcase_add_test(tc, serialization_failure_retried);
    tcase_add_test(tc, other_error_not_retried_nothing_left);
    tcase_add_test(tc, commit_lost_in_flight_resolved_by_xid);
    tcase_add_test(tc, server_gone_gives_up_acknowledges_nothing);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return pf_test_run(suite());
}
