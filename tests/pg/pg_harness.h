/*
 * pg_harness.h - a real PostgreSQL 15 for C tests, through tests/pg/pg.sh.
 *
 * pf_pg_start() uses the server of the ctest fixture when PF_PG_DIR names a
 * running one (shared = true), else starts a private one in a new temporary
 * directory (tests that restart the server always ask for a private one).
 * Each test then works in a database of its own (pf_pg_createdb). A missing
 * PostgreSQL is a failure with the reason, never a skip.
 */
#ifndef PF_PG_HARNESS_H
#define PF_PG_HARNESS_H

#include <stdbool.h>
#include <stddef.h>

struct pf_pg_server {
    char dir[512];
    bool owned; /* started here: stopped and removed by pf_pg_stop */
};

/* 0 or -1 with the reason printed to stderr. */
int pf_pg_start(struct pf_pg_server *s, bool allow_shared);
/* Creates database name (dropped first if it exists) and writes its DSN. */
int pf_pg_createdb(const struct pf_pg_server *s, const char *name, char *dsn, size_t len);
/* pg_ctl restart -m fast. */
int pf_pg_restart(const struct pf_pg_server *s);
void pf_pg_stop(struct pf_pg_server *s);

#endif
