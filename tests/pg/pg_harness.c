/*
 * pg_harness.c - runs tests/pg/pg.sh for C tests (pg_harness.h).
 */
#include "pg_harness.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *harness__script(char *buf, size_t len)
{
    const char *src = getenv("POSFLEET_SRC");

    snprintf(buf, len, "%s/tests/pg/pg.sh", src ? src : PF_PG_SRC_DIR);
    return buf;
}

static int harness__run(const char *cmd, const char *dir)
{
    char script[600], line[1400];
    int rc;

    snprintf(line, sizeof(line), "bash '%s' %s '%s'", harness__script(script, sizeof(script)), cmd,
             dir);
    rc = system(line);
    if (rc != 0) {
        fprintf(stderr, "pg harness: '%s' failed (status %d)\n", line, rc);
        return -1;
    }
    return 0;
}

int pf_pg_start(struct pf_pg_server *s, bool allow_shared)
{
    const char *shared = getenv("PF_PG_DIR");
    const char *tmp = getenv("TMPDIR");
    char pidfile[600], parent[480];
    struct stat sb;

    memset(s, 0, sizeof(*s));
    if (allow_shared && shared && shared[0]) {
        snprintf(pidfile, sizeof(pidfile), "%s/data/postmaster.pid", shared);
        if (stat(pidfile, &sb) == 0) {
            snprintf(s->dir, sizeof(s->dir), "%s", shared);
            return 0;
        }
        fprintf(stderr, "pg harness: PF_PG_DIR=%s has no running server; starting one\n", shared);
    }
    /* A parent the server's account can traverse (pg.sh makes DIR 0700). */
    snprintf(parent, sizeof(parent), "%s/pf-pg.XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
    if (!mkdtemp(parent)) {
        perror("pg harness: mkdtemp");
        return -1;
    }
    chmod(parent, 0755);
    snprintf(s->dir, sizeof(s->dir), "%s/pg", parent);
    s->owned = true;
    if (harness__run("start", s->dir)) {
        pf_pg_stop(s);
        return -1;
    }
    return 0;
}

int pf_pg_createdb(const struct pf_pg_server *s, const char *name, char *dsn, size_t len)
{
    char admin[700], sql[200];
    PGconn *c;
    PGresult *r;
    FILE *f;
    char base[600], path[600];
    int rc = -1;

    snprintf(path, sizeof(path), "%s/dsn", s->dir);
    f = fopen(path, "r");
    if (!f || !fgets(base, sizeof(base), f)) {
        fprintf(stderr, "pg harness: cannot read %s\n", path);
        if (f)
            fclose(f);
        return -1;
    }
    fclose(f);
    base[strcspn(base, "\n")] = 0;
    /* The fixture's DSN names database posfleet; the admin session uses postgres. */
    snprintf(admin, sizeof(admin), "%s dbname=postgres", base);
    c = PQconnectdb(admin);
    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "pg harness: %s", PQerrorMessage(c));
        goto out;
    }
    r = PQexec(c, "SET client_min_messages = warning");
    PQclear(r);
    snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s WITH (FORCE)", name);
    r = PQexec(c, sql);
    PQclear(r);
    snprintf(sql, sizeof(sql), "CREATE DATABASE %s", name);
    r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        fprintf(stderr, "pg harness: %s", PQerrorMessage(c));
    else
        rc = 0;
    PQclear(r);
    snprintf(dsn, len, "%s dbname=%s", base, name);
out:
    PQfinish(c);
    return rc;
}

int pf_pg_restart(const struct pf_pg_server *s)
{
    return harness__run("restart", s->dir);
}

void pf_pg_stop(struct pf_pg_server *s)
{
    char parent[512], *slash;

    if (!s->owned || !s->dir[0])
        return;
    (void)harness__run("stop", s->dir);
    snprintf(parent, sizeof(parent), "%s", s->dir);
    slash = strrchr(parent, '/');
    if (slash) {
        *slash = 0;
        rmdir(parent);
    }
    s->owned = false;
}
