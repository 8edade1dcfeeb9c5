/*
 * test_pg_migrate.c - the PostgreSQL backend's migrations against a real
 * PostgreSQL 15 (tests/pg/pg.sh): applied on an empty database, idempotent,
 * one transaction each, a newer database refused, and a schema equivalent to
 * what the SQLite backend's migrations build (every table, column and index
 * of the SQLite schema exists, with the renames docs/store.md lists), with
 * its triggers and constraints.
 */
#include <check.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pg_harness.h"
#include "store/postgres/pg_conn.h"
#include "store/postgres/pg_migrations.h"
#include "store/store.h"
#include "testutil.h"

static struct pf_pg_server server;
static char dsn[1024];

static void server_up(void)
{
    if (pf_pg_start(&server, true) != 0) {
        fprintf(stderr, "test_pg_migrate: PostgreSQL 15 could not be started (see above)\n");
        exit(EXIT_FAILURE);
    }
}

static void server_down(void)
{
    pf_pg_stop(&server);
}

static struct pfs_pg *fresh_db(const char *name)
{
    struct pfs_pg_opts o = {0};
    struct pfs_pg *pg = NULL;
    struct pf_error err = {0};

    ck_assert_int_eq(pf_pg_createdb(&server, name, dsn, sizeof(dsn)), 0);
    o.dsn = dsn;
    ck_assert_msg(pfs_pg_open(&o, &pg, &err) == 0, "open: %s", err.msg);
    return pg;
}

static int count_migrations(const struct pfs_pg_migration *list)
{
    int n = 0;

    while (list[n].sql)
        n++;
    return n;
}

/* The single text value of a query. */
static char *scalar(struct pfs_pg *pg, const char *sql)
{
    struct pf_error err = {0};
    PGresult *res = NULL;
    char *v;

    ck_assert_msg(pfs_pg_query(pg, sql, 0, NULL, &res, &err) == 0, "%s: %s", sql, err.msg);
    ck_assert_int_eq(PQntuples(res), 1);
    v = strdup(PQgetisnull(res, 0, 0) ? "" : PQgetvalue(res, 0, 0));
    PQclear(res);
    return v;
}

static void expect_scalar(struct pfs_pg *pg, const char *sql, const char *want)
{
    char *v = scalar(pg, sql);

    ck_assert_msg(strcmp(v, want) == 0, "%s: got '%s', want '%s'", sql, v, want);
    free(v);
}

static void must_fail(struct pfs_pg *pg, const char *sql)
{
    struct pf_error err = {0};

    ck_assert_msg(pfs_pg_exec(pg, sql, 0, NULL, &err) != 0, "accepted: %s", sql);
}

static void must_run(struct pfs_pg *pg, const char *sql)
{
    struct pf_error err = {0};

    ck_assert_msg(pfs_pg_exec(pg, sql, 0, NULL, &err) == 0, "%s: %s", sql, err.msg);
}

START_TEST(apply_on_empty_then_idempotent)
{
    struct pfs_pg *pg = fresh_db("mig_empty");
    struct pf_error err = {0};
    int applied = -1, version = -1, n = count_migrations(pfs_pg_migrations);
    char *before, *after;

    ck_assert_int_ge(n, 8);
    ck_assert_msg(pfs_pg_migrate(pg, pfs_pg_migrations, &applied, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(applied, n);
    ck_assert_int_eq(pfs_pg_migrated_version(pg, &version, &err), 0);
    ck_assert_int_eq(version, pfs_pg_migrations[n - 1].version);
    before = scalar(pg, "SELECT string_agg(version || ':' || name || ':' || applied_ms, ',' "
                        "ORDER BY version) FROM schema_migrations");

    /* Again, and from a second session: nothing applied, nothing changed. */
    ck_assert_int_eq(pfs_pg_migrate(pg, pfs_pg_migrations, &applied, &err), 0);
    ck_assert_int_eq(applied, 0);
    pfs_pg_free(pg);
    pg = NULL;
    {
        struct pfs_pg_opts o = {.dsn = dsn};
        ck_assert_int_eq(pfs_pg_open(&o, &pg, &err), 0);
    }
    ck_assert_int_eq(pfs_pg_migrate(pg, pfs_pg_migrations, &applied, &err), 0);
    ck_assert_int_eq(applied, 0);
    after = scalar(pg, "SELECT string_agg(version || ':' || name || ':' || applied_ms, ',' "
                       "ORDER BY version) FROM schema_migrations");
    ck_assert_str_eq(before, after);
    free(before);
    free(after);
    pfs_pg_free(pg);
}
END_TEST

/* Instances starting together: each migration applied once, by one of them. */
START_TEST(concurrent_instances_apply_each_once)
{
    struct pfs_pg *pg = fresh_db("mig_race");
    struct pf_error err = {0};
    int n = count_migrations(pfs_pg_migrations), applied = -1, status = 0, i;
    pid_t kids[3];
    char want[16];

    pfs_pg_free(pg);
    for (i = 0; i < 3; i++) {
        kids[i] = fork();
        ck_assert_int_ge(kids[i], 0);
        if (kids[i] == 0) {
            struct pfs_pg_opts o = {.dsn = dsn};
            struct pfs_pg *mine = NULL;
            int got = -1;

            if (pfs_pg_open(&o, &mine, &err) ||
                pfs_pg_migrate(mine, pfs_pg_migrations, &got, &err)) {
                fprintf(stderr, "instance %d: %s\n", i, err.msg);
                _exit(1);
            }
            pfs_pg_free(mine);
            _exit(0);
        }
    }
    for (i = 0; i < 3; i++) {
        ck_assert_int_eq(waitpid(kids[i], &status, 0), kids[i]);
        ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "instance %d failed", i);
    }
    {
        struct pfs_pg_opts o = {.dsn = dsn};
        ck_assert_int_eq(pfs_pg_open(&o, &pg, &err), 0);
    }
    snprintf(want, sizeof(want), "%d", n);
    expect_scalar(pg, "SELECT count(*) FROM schema_migrations", want);
    ck_assert_int_eq(pfs_pg_migrate(pg, pfs_pg_migrations, &applied, &err), 0);
    ck_assert_int_eq(applied, 0);
    pfs_pg_free(pg);
}
END_TEST

START_TEST(newer_database_refused)
{
    struct pfs_pg *pg = fresh_db("mig_newer");
    struct pf_error err = {0};
    int applied = -1;

    ck_assert_int_eq(pfs_pg_migrate(pg, pfs_pg_migrations, &applied, &err), 0);
    must_run(pg, "INSERT INTO schema_migrations VALUES (999, '999_future', 0)");
    ck_assert_int_eq(pfs_pg_migrate(pg, pfs_pg_migrations, &applied, &err), PF_EVERSION);
    ck_assert_ptr_nonnull(strstr(err.msg, "999"));
    ck_assert_int_eq(applied, 0);
    pfs_pg_free(pg);
}
END_TEST

/* A migration that fails leaves nothing of itself and stops the run. */
START_TEST(failed_migration_rolled_back_whole)
{
    static const struct pfs_pg_migration list[] = {
            {1, "001_one", "CREATE TABLE one (x integer)"},
            {2, "002_broken",
             "CREATE TABLE two (x integer); INSERT INTO two VALUES (1);"
             " SELECT no_such_column FROM two"},
            {3, "003_three", "CREATE TABLE three (x integer)"},
            {0, 0, 0},
    };
    struct pfs_pg *pg = fresh_db("mig_broken");
    struct pf_error err = {0};
    int applied = -1, version = -1;

    ck_assert_int_eq(pfs_pg_migrate(pg, list, &applied, &err), PF_EIO);
    ck_assert_ptr_nonnull(strstr(err.msg, "002_broken"));
    ck_assert_int_eq(pfs_pg_migrated_version(pg, &version, &err), 0);
    ck_assert_int_eq(version, 1);
    expect_scalar(pg, "SELECT count(*) FROM pg_tables WHERE tablename IN ('two', 'three')", "0");
    expect_scalar(pg, "SELECT count(*) FROM pg_tables WHERE tablename = 'one'", "1");
    pfs_pg_free(pg);
}
END_TEST

/* SQLite's names that are reserved words in PostgreSQL (docs/store.md). */
static const char *pg_column(const char *table, const char *column)
{
    if ((strcmp(table, "sessions") == 0 || strcmp(table, "api_tokens") == 0) &&
        strcmp(column, "user") == 0)
        return "user_name";
    if (strcmp(table, "diag_chunks") == 0 && strcmp(column, "offset") == 0)
        return "byte_offset";
    return column;
}

/* SQLite objects with no PostgreSQL counterpart, on purpose (docs/store.md). */
static int sqlite_only(const char *name)
{
    static const char *const names[] = {"search_seq", "merchant_names", "schema_migrations", NULL};
    int i;

    if (strncmp(name, "sqlite_", 7) == 0 || strncmp(name, "merchant_names_", 15) == 0)
        return 1;
    for (i = 0; names[i]; i++)
        if (strcmp(name, names[i]) == 0)
            return 1;
    return 0;
}

/* Every table, column and index the SQLite migrations build exists here. */
START_TEST(schema_matches_sqlite)
{
    struct pfs_pg *pg = fresh_db("mig_equiv");
    struct pfs_store_opts so = {0};
    struct pfs_store *st = NULL;
    struct pf_error err = {0};
    char dir[256], path[300], sql[512];
    sqlite3 *db = NULL;
    sqlite3_stmt *tabs = NULL, *cols = NULL;
    int applied, tables = 0, columns = 0, indexes = 0;

    ck_assert_int_eq(pfs_pg_migrate(pg, pfs_pg_migrations, &applied, &err), 0);
    pf_test_tmpdir(dir, sizeof(dir));
    snprintf(path, sizeof(path), "%s/s.db", dir);
    so.path = path;
    ck_assert_msg(pfs_store_open(&so, &st, &err) == 0, "%s", err.msg);
    pfs_store_close(st);
    ck_assert_int_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);

    ck_assert_int_eq(sqlite3_prepare_v2(db,
                                        "SELECT type, name, tbl_name FROM sqlite_schema"
                                        " WHERE type IN ('table', 'index') ORDER BY type DESC",
                                        -1, &tabs, NULL),
                     SQLITE_OK);
    while (sqlite3_step(tabs) == SQLITE_ROW) {
        const char *type = (const char *)sqlite3_column_text(tabs, 0);
        const char *name = (const char *)sqlite3_column_text(tabs, 1);
        const char *tbl = (const char *)sqlite3_column_text(tabs, 2);

        if (sqlite_only(name) || sqlite_only(tbl))
            continue;
        if (strcmp(type, "index") == 0) {
            snprintf(sql, sizeof(sql),
                     "SELECT count(*) FROM pg_indexes WHERE schemaname = 'public'"
                     " AND indexname = '%s' AND tablename = '%s'",
                     name, tbl);
            expect_scalar(pg, sql, "1");
            indexes++;
            continue;
        }
        snprintf(sql, sizeof(sql), "SELECT count(*) FROM pg_tables WHERE tablename = '%s'", name);
        expect_scalar(pg, sql, "1");
        tables++;
        snprintf(sql, sizeof(sql), "SELECT name, \"notnull\" FROM pragma_table_info('%s')", name);
        ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &cols, NULL), SQLITE_OK);
        while (sqlite3_step(cols) == SQLITE_ROW) {
            const char *col = pg_column(name, (const char *)sqlite3_column_text(cols, 0));
            int notnull = sqlite3_column_int(cols, 1);

            /* Same column, same NOT NULL (primary keys are NOT NULL in both). */
            snprintf(sql, sizeof(sql),
                     "SELECT is_nullable FROM information_schema.columns"
                     " WHERE table_schema = 'public' AND table_name = '%s'"
                     " AND column_name = '%s'",
                     name, col);
            {
                char *nullable = scalar(pg, sql);
                if (notnull)
                    ck_assert_msg(strcmp(nullable, "NO") == 0, "%s.%s: nullable here", name, col);
                free(nullable);
            }
            columns++;
        }
        sqlite3_finalize(cols);
    }
    sqlite3_finalize(tabs);
    sqlite3_close(db);
    pf_test_rmtree(dir);
    ck_assert_int_ge(tables, 30);
    ck_assert_int_ge(columns, 300);
    ck_assert_int_ge(indexes, 40);
    pfs_pg_free(pg);
}
END_TEST

/* The rules the SQLite schema enforces with triggers and constraints hold. */
START_TEST(triggers_and_constraints)
{
    struct pfs_pg *pg = fresh_db("mig_rules");
    struct pf_error err = {0};
    int applied;

    ck_assert_int_eq(pfs_pg_migrate(pg, pfs_pg_migrations, &applied, &err), 0);
    /* Registry counts follow inserts, model/status changes and deletes. */
    must_run(pg, "INSERT INTO devices (serial, model, created_ms) VALUES"
                 " ('S1', 'M1', 1), ('S2', 'M1', 1), ('S3', 'M2', 1)");
    must_run(pg, "UPDATE devices SET status = 'revoked', revoked_ms = 2 WHERE serial = 'S2'");
    must_run(pg, "DELETE FROM devices WHERE serial = 'S3'");
    expect_scalar(pg,
                  "SELECT string_agg(model || '/' || status || '=' || n, ','"
                  " ORDER BY model, status) FROM device_counts",
                  "M1/registered=1,M1/revoked=1");
    must_fail(pg, "INSERT INTO devices (serial, model, status, created_ms)"
                  " VALUES ('S4', 'M1', 'lost', 1)");
    /* The audit log is append-only. */
    must_run(pg, "INSERT INTO audit (ts_ms, actor, role, action, target, after)"
                 " VALUES (1, 'alice', 'ops', 'device.add', 'S1', '{\"b\":1,\"a\":2}')");
    must_fail(pg, "UPDATE audit SET actor = 'mallory'");
    must_fail(pg, "DELETE FROM audit");
    must_fail(pg, "TRUNCATE audit");
    /* json keeps the text as written (key order included). */
    expect_scalar(pg, "SELECT after::text FROM audit", "{\"b\":1,\"a\":2}");
    /* An outcome event is stored once per terminal and id, whichever
     * instance receives the retransmission. */
    must_run(pg, "INSERT INTO update_events (serial, id, offer, bundle, kind, version, status,"
                 " ts_ms, recv_ms) VALUES ('S1', 'e1', 'o1', 'b1', 'firmware', '2', 'ok', 1, 1)");
    must_fail(pg, "INSERT INTO update_events (serial, id, offer, bundle, kind, version, status,"
                  " ts_ms, recv_ms) VALUES ('S1', 'e1', 'o1', 'b1', 'firmware', '2', 'ok', 1, 2)");
    /* One open alert per (serial, kind). */
    must_run(pg, "INSERT INTO alerts (serial, kind, opened_ms) VALUES ('S1', 'tamper', 1)");
    must_fail(pg, "INSERT INTO alerts (serial, kind, opened_ms) VALUES ('S1', 'tamper', 2)");
    /* Rollout counters follow member status changes. */
    must_run(pg, "INSERT INTO rollout_counts VALUES (7, 0, 'pending', 2)");
    must_run(pg, "INSERT INTO rollout_members (rollout, serial, stage, status) VALUES"
                 " (7, 'S1', 0, 'pending'), (7, 'S2', 0, 'pending')");
    must_run(pg, "UPDATE rollout_members SET status = 'offered' WHERE serial = 'S1'");
    must_run(pg, "UPDATE rollout_members SET status = 'offered' WHERE serial = 'S1'");
    expect_scalar(pg,
                  "SELECT string_agg(status || '=' || n, ',' ORDER BY status)"
                  " FROM rollout_counts WHERE rollout = 7",
                  "offered=1,pending=1");
    /* Tags and merchant name grams are kept by triggers. */
    must_run(pg, "INSERT INTO merchants (id, name, uscc, mcc, address, contact_name,"
                 " contact_phone, tz, settlement, fee_plan, status, created_ms, updated_ms)"
                 " VALUES ('m1', '老街面馆', 'U1', '5812', 'a', 'c', 'p', 'Asia/Shanghai',"
                 " 'T1', '[]', 'active', 1, 1)");
    expect_scalar(pg,
                  "SELECT count(*) FROM merchant_grams g JOIN merchant_keys k USING (rid)"
                  " WHERE k.id = 'm1' AND g.gram IN ('面馆', '老', '街面')",
                  "3");
    must_run(pg, "UPDATE merchants SET name = 'Noodle Bar' WHERE id = 'm1'");
    expect_scalar(pg, "SELECT count(*) FROM merchant_grams WHERE gram = '面馆'", "0");
    expect_scalar(pg, "SELECT count(*) FROM merchant_grams WHERE gram = 'no'", "1");
    must_run(pg, "INSERT INTO terminals (serial, state, merchant_id, tags, updated_ms)"
                 " VALUES ('S1', 'installed', 'm1', '[\"north\", 5, \"kiosk\"]', 1)");
    expect_scalar(pg, "SELECT string_agg(tag, ',' ORDER BY tag) FROM terminal_tags", "kiosk,north");
    must_run(pg, "UPDATE terminals SET tags = '[\"south\"]' WHERE serial = 'S1'");
    expect_scalar(pg, "SELECT string_agg(tag, ',' ORDER BY tag) FROM terminal_tags", "south");
    /* A merchant user names its merchant; others do not. */
    must_fail(pg, "INSERT INTO users (name, pwhash, role, org_id, created_ms)"
                  " VALUES ('m', 'h', 'merchant', 1, 1)");
    must_run(pg, "INSERT INTO users (name, pwhash, role, org_id, merchant_id, created_ms)"
                 " VALUES ('m', 'h', 'merchant', 1, 'm1', 1)");
    /* The headquarters row exists and new organisations do not collide with it. */
    must_run(pg, "INSERT INTO orgs (name, kind, parent, path, created_ms)"
                 " VALUES ('agent-a', 'agent', 1, '/1/2/', 1)");
    expect_scalar(pg, "SELECT id FROM orgs WHERE name = 'agent-a'", "2");
    /* The summary's counts follow the first state (an upsert), its changes, alerts and a
     * merchant moved to another organisation, and equal their definition recounted. */
    must_run(pg, "INSERT INTO device_state (serial, online, last_seen_ms, fw_version, fee_version)"
                 " VALUES ('S1', true, 1, '1.0', 'f1') ON CONFLICT (serial) DO UPDATE"
                 " SET online = excluded.online");
    must_run(pg, "UPDATE device_state SET online = false, fw_version = '2.0' WHERE serial = 'S1'");
    must_run(pg, "UPDATE alerts SET closed_ms = 5 WHERE serial = 'S1'");
    must_run(pg, "INSERT INTO alerts (serial, kind, opened_ms) VALUES ('S1', 'silent', 6)");
    must_run(pg, "UPDATE merchants SET org_id = 2 WHERE id = 'm1'");
    expect_scalar(pg,
                  "SELECT string_agg(org_id || '/' || dim || '/' || key || '=' || n, ','"
                  " ORDER BY org_id, dim, key) FROM fleet_counts_org WHERE n != 0",
                  "0/conn/revoked=1,0/model/M1=1,2/alert/silent=1,2/conn/offline=1,"
                  "2/fee/f1=1,2/fw/2.0=1,2/model/M1=1");
    expect_scalar(pg,
                  "SELECT string_agg(merchant_id || '/' || dim || '/' || key || '=' || n, ','"
                  " ORDER BY dim, key) FROM fleet_counts_merchant WHERE n != 0",
                  "m1/alert/silent=1,m1/conn/offline=1,m1/fee/f1=1,m1/fw/2.0=1,m1/model/M1=1");
    expect_scalar(pg,
                  "SELECT count(*) FROM ((SELECT org_id, dim, key, at, n FROM fleet_counts_org"
                  " WHERE n != 0 EXCEPT SELECT coalesce(o.org_id, 0), c.dim, c.key, c.at,"
                  " count(*) FROM fleet_contrib c LEFT JOIN fleet_owner o USING (serial)"
                  " GROUP BY 1, 2, 3, 4) UNION ALL (SELECT coalesce(o.org_id, 0), c.dim, c.key,"
                  " c.at, count(*) FROM fleet_contrib c LEFT JOIN fleet_owner o USING (serial)"
                  " GROUP BY 1, 2, 3, 4 EXCEPT SELECT org_id, dim, key, at, n"
                  " FROM fleet_counts_org)) x",
                  "0");
    pfs_pg_free(pg);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("pg_migrate");
    TCase *tc = tcase_create("core");

    tcase_add_unchecked_fixture(tc, server_up, server_down);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, apply_on_empty_then_idempotent);
    tcase_add_test(tc, concurrent_instances_apply_each_once);
    tcase_add_test(tc, newer_database_refused);
    tcase_add_test(tc, failed_migration_rolled_back_whole);
    tcase_add_test(tc, schema_matches_sqlite);
    tcase_add_test(tc, triggers_and_constraints);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return pf_test_run(suite());
}
