/*
 * bench_pg_plan.c - plans a rollout over a fleet of N registered terminals
 * with one store backend and prints the time of each plan (bench_pg_plan.sh
 * runs it for PostgreSQL and, as the baseline, for SQLite, in one run).
 *
 *   bench_pg_plan sqlite PATH N RUNS     a new SQLite store file
 *   bench_pg_plan postgres DSN N RUNS    an empty PostgreSQL database
 *
 * The fleet is written with one statement (SQLite: a recursive CTE;
 * PostgreSQL: generate_series, without the per-row counting trigger), every
 * terminal with a reported version and in service, then RUNS times: a rollout over the whole
 * fleet in three stages (1%, 10%, 100%: the first stage's members as rows,
 * the rest as the plan), timed around the store's create call, then aborted
 * so the next run plans the same terminals again. One line per run on
 * stdout: "wall_ms select_ms order_ms insert_ms cohort".
 */
#include <jansson.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pf/num.h"
#include "rollouts/rollout_def.h"
#include "store/postgres/pg_rollout_plan.h"
#include "store/postgres/pg_rollouts.h"
#include "store/postgres/pg_store.h"
#include "store/store.h"
#include "store/store_rollouts.h"
#include "store/store_updates.h"

static const struct pfs_actor ops = {.name = "bench", .role = "ops"};
static const char bid[] = "1111111111111111111111111111111111111111111111111111111111111111";

static double ms_now(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static int die(const char *what, const char *msg)
{
    fprintf(stderr, "bench_pg_plan: %s: %s\n", what, msg);
    return EXIT_FAILURE;
}

static struct pfs_bundle_rec bundle(void)
{
    struct pfs_bundle_rec b;

    memset(&b, 0, sizeof(b));
    snprintf(b.id, sizeof(b.id), "%s", bid);
    b.kind = PF_KIND_FIRMWARE;
    snprintf(b.version, sizeof(b.version), "2.0.0");
    snprintf(b.models, sizeof(b.models), "PX-500");
    snprintf(b.hw_revs, sizeof(b.hw_revs), "A,B");
    b.size = 1234;
    snprintf(b.manifest, sizeof(b.manifest), "%064d", 7);
    b.created_s = 10;
    b.expires_s = 4000000000;
    b.uploaded_ms = 100;
    return b;
}

static int def_of(int run, struct pfs_ro_def *d, char *text, size_t len)
{
    struct pf_error err = {0};
    json_t *o;
    int rc;

    snprintf(text, len,
             "{\"name\":\"bench%d\",\"bundle\":\"%s\",\"stages\":[\"1%%\",\"10%%\",\"100%%\"]}",
             run, bid);
    o = json_loads(text, 0, NULL);
    if (!o)
        return PF_EPARSE;
    rc = pfs_ro_def_parse(o, 1000, d, &err);
    json_decref(o);
    return rc;
}

static const struct pfs_ro_change abort_it = {
        1u << PFS_RO_RUNNING, PFS_RO_ABORTED, -1, "abort", "bench", NULL, NULL};

/* Every terminal has reported a version and is in service (the tables the
 * cohort's scan joins), in both backends. */
#define FLEET_STATE_SQL                                                                            \
    "INSERT INTO device_state (serial, last_seen_ms, fw_version) SELECT serial, 1000, '1.0.0'"     \
    " FROM devices; INSERT INTO terminals (serial, state, updated_ms) SELECT serial, 'active',"    \
    " 1000 FROM devices"

static int run_sqlite(const char *path, int64_t n, int64_t runs)
{
    struct pfs_store_opts o = {.path = path};
    struct pfs_store *st = NULL;
    struct pfs_bundle_rec b = bundle();
    struct pf_error err = {0};
    sqlite3 *db = NULL;
    char sql[512];
    bool created;

    if (pfs_store_open(&o, &st, &err) != 0)
        return die("open", err.msg);
    if (pfs_store_bundle_put(st, &b, &ops, 100, &created, &err) != 0)
        return die("bundle", err.msg);
    snprintf(sql, sizeof(sql),
             "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < %lld)"
             " INSERT INTO devices (serial, model, status, created_ms)"
             " SELECT printf('PL%%08d', i), 'PX-500', 'registered', 1000 FROM s",
             (long long)n);
    if (sqlite3_open(path, &db) != SQLITE_OK || sqlite3_busy_timeout(db, 60000) != SQLITE_OK ||
        sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_exec(db, FLEET_STATE_SQL, NULL, NULL, NULL) != SQLITE_OK)
        return die("fleet", sqlite3_errmsg(db));
    sqlite3_close(db);
    for (int64_t r = 0; r < runs; r++) {
        struct pfs_ro_def d;
        struct pfs_ro_plan_stats s;
        char text[512];
        int64_t id = 0;
        double t0;

        if (def_of((int)r, &d, text, sizeof(text)) != 0)
            return die("definition", text);
        t0 = ms_now();
        if (pfs_store_rollout_create(st, &d, &b, text, &ops, 2000, &id, &s, &err) != 0)
            return die("plan", err.msg);
        printf("%.1f %.1f %.1f %.1f %lld\n", ms_now() - t0, s.select_ms, s.order_ms, s.insert_ms,
               (long long)s.cohort);
        fflush(stdout);
        pfs_ro_def_release(&d);
        if (pfs_store_rollout_change(st, id, &abort_it, &ops, 3000, &err) != 0)
            return die("abort", err.msg);
    }
    pfs_store_close(st);
    return 0;
}

static int run_postgres(const char *dsn, int64_t n, int64_t runs)
{
    struct pfs_pg_store *st = NULL;
    struct pfs_bundle_rec b = bundle();
    struct pf_error err = {0};
    char sql[512];

    if (pfs_pg_store_open(dsn, &st, &err) != 0)
        return die("open", err.msg);
    snprintf(sql, sizeof(sql),
             "INSERT INTO bundles (id, kind, version, models, hw_revs, size, manifest, created_s,"
             " expires_s, uploaded_ms) VALUES ('%s','firmware','2.0.0','PX-500','A,B',1234,"
             "'%s',10,4000000000,100)",
             b.id, b.manifest);
    if (pfs_pg_exec(st->pg, sql, 0, NULL, &err) != 0)
        return die("bundle", err.msg);
    snprintf(sql, sizeof(sql),
             "INSERT INTO devices (serial, model, status, created_ms)"
             " SELECT 'PL' || lpad(i::text, 8, '0'), 'PX-500', 'registered', 1000"
             " FROM generate_series(1, %lld) AS i",
             (long long)n);
    /* The registry's per-row counting trigger updates one row a million
     * times in one transaction (each update walks the versions before it):
     * the fleet is written without triggers, its counts once after. */
    if (pfs_pg_exec(st->pg, "SET session_replication_role = replica", 0, NULL, &err) != 0 ||
        pfs_pg_exec(st->pg, sql, 0, NULL, &err) != 0 ||
        pfs_pg_exec(st->pg, FLEET_STATE_SQL, 0, NULL, &err) != 0 ||
        pfs_pg_exec(st->pg, "SET session_replication_role = DEFAULT", 0, NULL, &err) != 0 ||
        pfs_pg_exec(st->pg,
                    "INSERT INTO device_counts (model, status, n) SELECT model, status, count(*)"
                    " FROM devices GROUP BY 1, 2",
                    0, NULL, &err) != 0 ||
        pfs_pg_exec(st->pg, "ANALYZE", 0, NULL, &err) != 0)
        return die("fleet", err.msg);
    for (int64_t r = 0; r < runs; r++) {
        struct pfs_ro_def d;
        struct pfs_ro_plan_stats s;
        char text[512];
        int64_t id = 0;
        double t0;

        if (def_of((int)r, &d, text, sizeof(text)) != 0)
            return die("definition", text);
        t0 = ms_now();
        if (pfs_pg_rollout_create(st, &d, &b, text, &ops, 2000, &id, &s, &err) != 0)
            return die("plan", err.msg);
        printf("%.1f %.1f %.1f %.1f %lld\n", ms_now() - t0, s.select_ms, s.order_ms, s.insert_ms,
               (long long)s.cohort);
        fflush(stdout);
        pfs_ro_def_release(&d);
        if (pfs_pg_rollout_change(st, id, &abort_it, &ops, 3000, &err) != 0)
            return die("abort", err.msg);
    }
    pfs_pg_store_close(st);
    return 0;
}

int main(int argc, char **argv)
{
    int64_t n = 0, runs = 0;

    if (argc != 5 || pf_parse_i64(argv[3], 1, 100000000, &n) != 0 ||
        pf_parse_i64(argv[4], 1, 100, &runs) != 0) {
        fprintf(stderr, "usage: bench_pg_plan sqlite PATH|postgres DSN TERMINALS RUNS\n");
        return EXIT_FAILURE;
    }
    if (strcmp(argv[1], "sqlite") == 0)
        return run_sqlite(argv[2], n, runs);
    if (strcmp(argv[1], "postgres") == 0)
        return run_postgres(argv[2], n, runs);
    fprintf(stderr, "bench_pg_plan: unknown backend %s\n", argv[1]);
    return EXIT_FAILURE;
}
