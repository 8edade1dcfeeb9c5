/*
 * pg_migrate.c - applies the PostgreSQL schema migrations (pg_migrations.h).
 */
#include "store/postgres/pg_migrations.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pf/num.h"

struct migrate__step {
    const struct pfs_pg_migration *m;
    int newest;   /* the newest version compiled in */
    bool applied; /* out: this run applied m */
};

static int migrate__lock(struct pfs_pg *pg, struct pf_error *err)
{
    char key[32];
    const char *params[1] = {key};

    PGresult *res;
    int rc;

    snprintf(key, sizeof(key), "%lld", (long long)PFS_PG_MIGRATE_LOCK_KEY);
    rc = pfs_pg_query(pg, "SELECT pg_advisory_xact_lock($1::bigint)", 1, params, &res, err);
    PQclear(res);
    return rc;
}

/* The version inside the transaction (after the lock). */
static int migrate__version(struct pfs_pg *pg, int *version, struct pf_error *err)
{
    PGresult *res;
    int64_t v = 0;
    int rc;

    rc = pfs_pg_query(pg, "SELECT coalesce(max(version), 0)::text FROM schema_migrations", 0, NULL,
                      &res, err);
    if (rc)
        return rc;
    if (pf_parse_i64(PQgetvalue(res, 0, 0), 0, 1000000, &v))
        rc = pf_error_set(err, PF_EIO, "postgres: schema_migrations: bad version '%s'",
                          PQgetvalue(res, 0, 0));
    PQclear(res);
    *version = (int)v;
    return rc;
}

static int migrate__table(void *ctx, struct pfs_pg *pg, int attempt, struct pf_error *err)
{
    int rc = migrate__lock(pg, err);

    if (rc)
        return rc;
    return pfs_pg_exec(pg,
                       "CREATE TABLE IF NOT EXISTS schema_migrations ("
                       " version integer PRIMARY KEY, name text NOT NULL,"
                       " applied_ms bigint NOT NULL)",
                       0, NULL, err);
}

static int migrate__one(void *ctx, struct pfs_pg *pg, int attempt, struct pf_error *err)
{
    struct migrate__step *st = ctx;
    char version[16], now[32];
    const char *params[3] = {version, st->m->name, now};
    struct timespec ts;
    int have, rc;

    st->applied = false;
    rc = migrate__lock(pg, err);
    if (rc)
        return rc;
    rc = migrate__version(pg, &have, err);
    if (rc)
        return rc;
    if (have > st->newest)
        return pf_error_set(err, PF_EVERSION,
                            "postgres: the database's schema is version %d, newer than this "
                            "posfleetd's %d: run the posfleetd that migrated it",
                            have, st->newest);
    if (have >= st->m->version)
        return 0; /* another instance applied it meanwhile */
    rc = pfs_pg_exec(pg, st->m->sql, 0, NULL, err);
    if (rc)
        return pf_error_prefix(err, "migration %s", st->m->name);
    clock_gettime(CLOCK_REALTIME, &ts);
    snprintf(version, sizeof(version), "%d", st->m->version);
    snprintf(now, sizeof(now), "%lld", (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
    rc = pfs_pg_exec(pg,
                     "INSERT INTO schema_migrations (version, name, applied_ms)"
                     " VALUES ($1::integer, $2, $3::bigint)",
                     3, params, err);
    if (rc == 0)
        st->applied = true;
    return rc;
}

static int migrate__read(void *ctx, struct pfs_pg *pg, int attempt, struct pf_error *err)
{
    return migrate__version(pg, ctx, err);
}

int pfs_pg_migrated_version(struct pfs_pg *pg, int *version, struct pf_error *err)
{
    *version = 0;
    return pfs_pg_tx(pg, PFS_PG_READ_COMMITTED, migrate__read, version, err);
}

int pfs_pg_migrate(struct pfs_pg *pg, const struct pfs_pg_migration *list, int *applied,
                   struct pf_error *err)
{
    struct migrate__step st = {0};
    int newest = 0, have = 0, n = 0, rc, i;

    if (applied)
        *applied = 0;
    for (i = 0; list[i].sql; i++) {
        if (list[i].version <= newest)
            return pf_error_set(err, PF_EINVAL, "postgres: migration %s out of order",
                                list[i].name);
        newest = list[i].version;
    }
    rc = pfs_pg_tx(pg, PFS_PG_READ_COMMITTED, migrate__table, NULL, err);
    if (rc)
        return rc;
    rc = pfs_pg_migrated_version(pg, &have, err);
    if (rc)
        return rc;
    if (have > newest)
        return pf_error_set(err, PF_EVERSION,
                            "postgres: the database's schema is version %d, newer than this "
                            "posfleetd's %d: run the posfleetd that migrated it",
                            have, newest);
    for (i = 0; list[i].sql; i++) {
        if (list[i].version <= have)
            continue;
        st.m = &list[i];
        st.newest = newest;
        rc = pfs_pg_tx(pg, PFS_PG_READ_COMMITTED, migrate__one, &st, err);
        if (rc)
            return rc;
        n += st.applied;
    }
    if (applied)
        *applied = n;
    return 0;
}
