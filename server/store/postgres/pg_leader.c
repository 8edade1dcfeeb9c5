/*
 * pg_leader.c - the scheduler election on a PostgreSQL advisory lock
 * (pg_leader.h).
 */
#include "store/postgres/pg_leader.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct pfs_pg_leader {
    char *dsn;
    char key[24];
    PGconn *conn;
    bool leading;
    pfs_pg_leader_cb cb;
    void *ctx;
};

int pfs_pg_leader_new(const char *dsn, int64_t key, pfs_pg_leader_cb cb, void *ctx,
                      struct pfs_pg_leader **out, struct pf_error *err)
{
    struct pfs_pg_leader *l;

    *out = NULL;
    if (!dsn || !dsn[0])
        return pf_error_set(err, PF_EINVAL, "leader: store.dsn is empty");
    l = calloc(1, sizeof(*l));
    if (!l)
        return pf_error_set(err, PF_ENOMEM, "leader: out of memory");
    l->dsn = strdup(dsn);
    if (!l->dsn) {
        free(l);
        return pf_error_set(err, PF_ENOMEM, "leader: out of memory");
    }
    snprintf(l->key, sizeof(l->key), "%lld", (long long)key);
    l->cb = cb;
    l->ctx = ctx;
    *out = l;
    return 0;
}

/* Ends leadership (reported first) and closes the session. */
static void leader__drop(struct pfs_pg_leader *l)
{
    if (l->leading) {
        l->leading = false;
        if (l->cb)
            l->cb(l->ctx, false);
    }
    if (l->conn) {
        PQfinish(l->conn);
        l->conn = NULL;
    }
}

void pfs_pg_leader_free(struct pfs_pg_leader *l)
{
    if (!l)
        return;
    /* Closing the session releases the lock; say so before. */
    leader__drop(l);
    free(l->dsn);
    free(l);
}

static bool leader__alive(struct pfs_pg_leader *l)
{
    PGresult *res;
    bool ok;

    if (!l->conn || PQstatus(l->conn) != CONNECTION_OK)
        return false;
    /* The lock must still be ours, not only the session alive. */
    res = PQexecParams(l->conn,
                       "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"
                       " AND pid = pg_backend_pid() AND granted"
                       " AND classid = (($1::bigint >> 32) & 4294967295)::oid"
                       " AND objid = ($1::bigint & 4294967295)::oid AND objsubid = 1",
                       1, NULL, (const char *const[]){l->key}, NULL, NULL, 0);
    ok = PQresultStatus(res) == PGRES_TUPLES_OK && strcmp(PQgetvalue(res, 0, 0), "1") == 0;
    PQclear(res);
    return ok;
}

int pfs_pg_leader_step(struct pfs_pg_leader *l, struct pf_error *err)
{
    PGresult *res;
    bool got;

    if (l->leading) {
        if (leader__alive(l))
            return 0;
        leader__drop(l);
        return pf_error_set(err, PF_ECONN, "leader: lost the election session");
    }
    if (l->conn && PQstatus(l->conn) != CONNECTION_OK) {
        PQfinish(l->conn);
        l->conn = NULL;
    }
    if (!l->conn) {
        l->conn = PQconnectdb(l->dsn);
        if (!l->conn)
            return pf_error_set(err, PF_ENOMEM, "leader: cannot allocate a connection");
        if (PQstatus(l->conn) != CONNECTION_OK) {
            pf_error_set(err, PF_ECONN, "leader: connect: %s", PQerrorMessage(l->conn));
            PQfinish(l->conn);
            l->conn = NULL;
            return PF_ECONN;
        }
    }
    res = PQexecParams(l->conn, "SELECT pg_try_advisory_lock($1::bigint)", 1, NULL,
                       (const char *const[]){l->key}, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        pf_error_set(err, PF_ECONN, "leader: try lock: %s", PQerrorMessage(l->conn));
        PQclear(res);
        leader__drop(l);
        return PF_ECONN;
    }
    got = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    PQclear(res);
    if (got) {
        l->leading = true;
        if (l->cb)
            l->cb(l->ctx, true);
    }
    return 0;
}

int pfs_pg_leader_socket(const struct pfs_pg_leader *l)
{
    return l->conn ? PQsocket(l->conn) : -1;
}

void pfs_pg_leader_check(struct pfs_pg_leader *l)
{
    PGnotify *n;

    if (!l->conn)
        return;
    /* EOF or an error on the socket: the server is gone, and the lock with it. */
    if (!PQconsumeInput(l->conn) || PQstatus(l->conn) != CONNECTION_OK) {
        leader__drop(l);
        return;
    }
    while ((n = PQnotifies(l->conn)) != NULL)
        PQfreemem(n);
}

bool pfs_pg_leader_leading(const struct pfs_pg_leader *l)
{
    return l->leading;
}

int pfs_pg_leader_backend_pid(const struct pfs_pg_leader *l)
{
    return l->conn && PQstatus(l->conn) == CONNECTION_OK ? PQbackendPID(l->conn) : 0;
}
