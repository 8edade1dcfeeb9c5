/*
 * pg_twin.h - one scenario, both backends: a SQLite store (store.h) and a
 * PostgreSQL store (store/postgres, on the shared test server) holding the
 * same rows, so a suite runs the same calls on each and compares what they
 * answered, byte for byte (test_pg_accounts.c, test_pg_search.c).
 *
 * The fixture rows are written with SQL both schemas take unchanged
 * (booleans as '0'/'1' text, JSON as text), straight into the tables: the
 * lifecycle calls that would make them belong to another part of the
 * PostgreSQL backend. Triggers fill the derived tables (merchant name
 * indexes, terminal tags, counts) on both sides.
 */
#ifndef PF_PG_TWIN_H
#define PF_PG_TWIN_H

#include <check.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg_harness.h"
#include "store/postgres/pg_store.h"
#include "store/store.h"
#include "testutil.h"

static struct pf_pg_server twin__server;
static char twin__dir[256], twin__db[300], twin__dsn[1024];
static struct pfs_store *twin_sq;
static struct pfs_pg_store *twin_pg;

static void twin_server_up(void)
{
    if (pf_pg_start(&twin__server, true) != 0) {
        fprintf(stderr, "PostgreSQL 15 could not be started (see above)\n");
        exit(EXIT_FAILURE);
    }
}

static void twin_server_down(void)
{
    pf_pg_stop(&twin__server);
}

/* Runs sql (several statements) on both stores' databases. */
static void twin_sql(const char *sql)
{
    sqlite3 *db = NULL;
    char *msg = NULL;
    struct pf_error err = {0};

    ck_assert_int_eq(sqlite3_open_v2(twin__db, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    ck_assert_int_eq(sqlite3_exec(db, "PRAGMA foreign_keys = ON", NULL, NULL, NULL), SQLITE_OK);
    ck_assert_msg(sqlite3_exec(db, sql, NULL, NULL, &msg) == SQLITE_OK, "sqlite: %s", msg);
    sqlite3_close(db);
    ck_assert_msg(pfs_pg_exec(twin_pg->pg, sql, 0, NULL, &err) == 0, "postgres: %s", err.msg);
}

/* Both stores, empty, in a database named name. */
static void twin_up(const char *name)
{
    struct pfs_store_opts o = {0};
    struct pf_error err = {0};

    pf_test_tmpdir(twin__dir, sizeof(twin__dir));
    snprintf(twin__db, sizeof(twin__db), "%s/store.db", twin__dir);
    o.path = twin__db;
    ck_assert_msg(pfs_store_open(&o, &twin_sq, &err) == 0, "sqlite: %s", err.msg);
    ck_assert_int_eq(pf_pg_createdb(&twin__server, name, twin__dsn, sizeof(twin__dsn)), 0);
    ck_assert_msg(pfs_pg_store_open(twin__dsn, &twin_pg, &err) == 0, "postgres: %s", err.msg);
}

static void twin_down(void)
{
    pfs_store_close(twin_sq);
    pfs_pg_store_close(twin_pg);
    twin_sq = NULL;
    twin_pg = NULL;
    pf_test_rmtree(twin__dir);
}

/* What a scenario saw, appended line by line. */
struct twin_log {
    char text[1 << 20];
    size_t n;
};

static void twin_logf(struct twin_log *l, const char *fmt, ...) PF_PRINTF(2, 3);

static void twin_logf(struct twin_log *l, const char *fmt, ...)
{
    va_list ap;
    int w;

    va_start(ap, fmt);
    w = vsnprintf(l->text + l->n, sizeof(l->text) - l->n, fmt, ap);
    va_end(ap);
    ck_assert_msg(w >= 0 && (size_t)w < sizeof(l->text) - l->n, "transcript too long");
    l->n += (size_t)w;
}

/* Where the two transcripts part (for the failure message). */
static void twin_compare(const struct twin_log *sq, const struct twin_log *pg)
{
    size_t i = 0, line = 1;

    while (sq->text[i] && sq->text[i] == pg->text[i]) {
        line += sq->text[i] == '\n';
        i++;
    }
    ck_assert_msg(sq->text[i] == pg->text[i],
                  "the backends part at line %zu:\n--- sqlite:\n%.400s\n--- postgres:\n%.400s",
                  line, sq->text + (i > 80 ? i - 80 : 0), pg->text + (i > 80 ? i - 80 : 0));
}

/* PF_TWIN_DUMP=FILE writes the transcript there (to read what a scenario saw). */
static void twin_dump(const struct twin_log *l)
{
    const char *path = getenv("PF_TWIN_DUMP");
    FILE *f = path ? fopen(path, "w") : NULL;

    if (f) {
        fputs(l->text, f);
        fclose(f);
    }
}

/* The organisations, merchants, terminals and alerts of the scenarios. */
static const char twin_fleet_sql[] =
        "INSERT INTO orgs (id, name, kind, parent, path, created_ms) VALUES"
        " (2, 'east', 'agent', 1, '/1/2/', 1), (3, 'west', 'agent', 1, '/1/3/', 1),"
        " (4, 'east-sub', 'agent', 2, '/1/2/4/', 1);"
        "INSERT INTO merchants (id, name, uscc, mcc, address, contact_name, contact_phone, tz,"
        " settlement, fee_plan, status, created_ms, updated_ms, region, org_id) VALUES"
        " ('M-SZ-1', '幸运面馆', '91440300MA5F00001X', '5812', 'a', '联系人1', '13800000001',"
        "  'Asia/Shanghai', 'T1', '[\"fee-7\"]', 'active', 1, 1, 'south', 2),"
        " ('M-SZ-2', '幸福超市', '91440300MA5F00002X', '5411', 'a', '联系人2', '13800000002',"
        "  'Asia/Shanghai', 'T0', '[]', 'active', 1, 1, 'south', 2),"
        " ('M-XJ-1', '新疆拉面馆', '91650100MA5F00003X', '5812', 'a', '联系人3', '13800000003',"
        "  'Asia/Urumqi', 'T1', '[]', 'suspended', 1, 1, 'west', 3),"
        " ('M-EN-1', 'Lucky Noodle_Bar 100%', '91440300MA5F00004X', '5812', 'a', '联系人4',"
        "  '13800000004', 'Asia/Shanghai', 'T1', '[]', 'active', 1, 1, 'south', 4),"
        " ('M-HQ-1', '总部商户', '91110000MA5F00005X', '5999', 'a', '联系人5', '13800000005',"
        "  'Asia/Shanghai', 'T1', '[]', 'applied', 1, 1, '', 1);"
        "INSERT INTO devices (serial, model, status, created_ms) VALUES"
        " ('T1', 'PX-700', 'registered', 1), ('T2', 'PX-700', 'registered', 1),"
        " ('T3', 'PX-700', 'registered', 1), ('T4', 'PX-700', 'registered', 1),"
        " ('T5', 'PX-500', 'registered', 1), ('T6', 'PX-500', 'registered', 1),"
        " ('T7', 'PX-500', 'revoked', 1), ('T8', 'PX-900', 'registered', 1),"
        " ('T9', 'PX-900', 'registered', 1);"
        "INSERT INTO device_state (serial, online, last_seen_ms, fw_version, fee_version) VALUES"
        " ('T1', '1', 100, '2.1.0', 'fee-7'), ('T2', '0', 100, '2.0.0', 'fee-7'),"
        " ('T3', '1', 100, '2.1.0', 'fee-8'), ('T4', '0', 100, '2.1.0', 'fee-8'),"
        " ('T5', '1', 100, '2.0.0', 'fee-7');"
        "INSERT INTO terminals (serial, state, merchant_id, tags, updated_ms, lock_want,"
        " lock_acked) VALUES"
        " ('T1', 'active', 'M-SZ-1', '[\"vip\",\"北区\"]', 1, '0', '1'),"
        " ('T2', 'installed', 'M-SZ-1', '[]', 1, '0', '1'),"
        " ('T3', 'active', 'M-SZ-2', '[\"vip\"]', 1, '0', '1'),"
        " ('T4', 'locked', 'M-XJ-1', '[]', 1, '1', '0'),"
        " ('T5', 'installed', 'M-EN-1', '[]', 1, '1', '1'),"
        " ('T8', 'in_stock', NULL, '[]', 1, '0', '0'),"
        " ('T9', 'active', 'M-HQ-1', '[]', 1, '0', '1');"
        "INSERT INTO alerts (serial, kind, opened_ms, closed_ms, detail) VALUES"
        " ('T1', 'paper_out', 100, 200, ''), ('T4', 'tamper', 600, NULL, 'case opened'),"
        " ('T2', 'paper_out', 700, NULL, ''), ('T3', 'paper_out', 800, NULL, ''),"
        " ('T4', 'paper_out', 900, NULL, ''), ('T6', 'battery', 950, NULL, '');"
        "INSERT INTO repairs (serial, state, source, reason, merchant_id, opened_ms, updated_ms)"
        " VALUES ('T4', 'open', 'tamper', 'r', 'M-XJ-1', 1, 1), ('T8', 'open', 'support', 'r',"
        " NULL, 1, 1), ('T3', 'open', 'swap', 'r', NULL, 1, 1);"
        "INSERT INTO diag_requests (id, serial, command, actor, role, created_ms, deadline_ms)"
        " VALUES ('d-1', 'T1', 'ping', 'a', 'ops', 1, 2), ('d-4', 'T4', 'ping', 'a', 'ops', 1, 2),"
        " ('d-6', 'T6', 'ping', 'a', 'ops', 1, 2);";

#endif
