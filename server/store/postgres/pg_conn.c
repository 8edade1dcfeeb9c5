/*
 * pg_conn.c - libpq sessions, reconnection with backoff, and the retrying
 * transaction helper (pg_conn.h).
 */
#include "store/postgres/pg_conn.h"

#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct pfs_pg {
    char *dsn;
    PGconn *conn;
    int64_t backoff_min_ms, backoff_max_ms, deadline_ms;
    int attempts;
    /* The last statement failed in a way a new attempt may cure. */
    bool last_retryable;
    bool in_tx;
    struct pfs_pg_stats stats;
};

static int64_t pg__now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void pg__sleep_ms(int64_t ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};

    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

bool pfs_pg_retryable(PGconn *conn, const PGresult *res)
{
    const char *state;

    if (!conn || PQstatus(conn) != CONNECTION_OK)
        return true;
    state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    if (!state)
        return false;
    /* 08: connection exception; 57P01-03: the server is shutting down or
     * starting; 40001 serialization failure, 40P01 deadlock victim. */
    return strncmp(state, "08", 2) == 0 || strcmp(state, "57P01") == 0 ||
           strcmp(state, "57P02") == 0 || strcmp(state, "57P03") == 0 ||
           strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0;
}

/* One connection attempt; on failure the session stays closed. */
static int pg__connect_once(struct pfs_pg *pg, struct pf_error *err)
{
    PGresult *res;

    if (pg->conn) {
        PQfinish(pg->conn);
        pg->conn = NULL;
    }
    pg->conn = PQconnectdb(pg->dsn);
    if (!pg->conn)
        return pf_error_set(err, PF_ENOMEM, "postgres: cannot allocate a connection");
    if (PQstatus(pg->conn) != CONNECTION_OK) {
        pf_error_set(err, PF_ECONN, "postgres: connect: %s", PQerrorMessage(pg->conn));
        PQfinish(pg->conn);
        pg->conn = NULL;
        return PF_ECONN;
    }
    /* Times are bigint ms everywhere; the session's zone and encoding only
     * matter to text the server formats, fixed here so every instance agrees. */
    res = PQexec(pg->conn, "SET TIME ZONE 'UTC'; SET client_encoding = 'UTF8';"
                           " SET client_min_messages = warning");
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        pf_error_set(err, PF_ECONN, "postgres: session setup: %s", PQerrorMessage(pg->conn));
        PQclear(res);
        PQfinish(pg->conn);
        pg->conn = NULL;
        return PF_ECONN;
    }
    PQclear(res);
    pg->stats.connects++;
    return 0;
}

int pfs_pg_reconnect(struct pfs_pg *pg, struct pf_error *err)
{
    int64_t start = pg__now_ms();
    int64_t cap = pg->backoff_min_ms;
    int rc;

    for (;;) {
        rc = pg__connect_once(pg, err);
        if (rc == 0 || rc == PF_ENOMEM)
            return rc;
        if (pg__now_ms() - start >= pg->deadline_ms)
            return pf_error_prefix(err, "postgres: no connection after %lld ms",
                                   (long long)pg->deadline_ms);
        /* Full jitter: a fleet of instances does not reconnect in step. */
        pg__sleep_ms(1 + (int64_t)randombytes_uniform((uint32_t)cap));
        cap = cap * 2 > pg->backoff_max_ms ? pg->backoff_max_ms : cap * 2;
    }
}

int pfs_pg_open(const struct pfs_pg_opts *opts, struct pfs_pg **out, struct pf_error *err)
{
    struct pfs_pg *pg;
    int rc;

    *out = NULL;
    if (!opts || !opts->dsn || !opts->dsn[0])
        return pf_error_set(err, PF_EINVAL, "postgres: store.dsn is empty");
    if (sodium_init() < 0)
        return pf_error_set(err, PF_ECRYPTO, "postgres: libsodium failed to initialise");
    pg = calloc(1, sizeof(*pg));
    if (!pg)
        return pf_error_set(err, PF_ENOMEM, "postgres: out of memory");
    pg->dsn = strdup(opts->dsn);
    if (!pg->dsn) {
        rc = pf_error_set(err, PF_ENOMEM, "postgres: out of memory");
        goto out_free;
    }
    pg->backoff_min_ms = opts->reconnect_min_ms > 0 ? opts->reconnect_min_ms : 50;
    pg->backoff_max_ms = opts->reconnect_max_ms > 0 ? opts->reconnect_max_ms : 2000;
    if (pg->backoff_max_ms < pg->backoff_min_ms)
        pg->backoff_max_ms = pg->backoff_min_ms;
    pg->deadline_ms = opts->reconnect_deadline_ms > 0 ? opts->reconnect_deadline_ms : 30000;
    pg->attempts = opts->tx_attempts > 0 ? opts->tx_attempts : 5;
    rc = pg__connect_once(pg, err);
    if (rc)
        goto out_free;
    *out = pg;
    return 0;

out_free:
    pfs_pg_free(pg);
    return rc;
}

void pfs_pg_free(struct pfs_pg *pg)
{
    if (!pg)
        return;
    if (pg->conn)
        PQfinish(pg->conn);
    free(pg->dsn);
    free(pg);
}

int pfs_pg_backend_pid(const struct pfs_pg *pg)
{
    return pg->conn && PQstatus(pg->conn) == CONNECTION_OK ? PQbackendPID(pg->conn) : 0;
}

void pfs_pg_stats_get(const struct pfs_pg *pg, struct pfs_pg_stats *out)
{
    *out = pg->stats;
}

/* Runs a statement; *out gets the result when it has the wanted status. */
static int pg__run(struct pfs_pg *pg, const char *sql, int n, const char *const *params,
                   ExecStatusType want, PGresult **out, struct pf_error *err)
{
    PGresult *res;

    pg->last_retryable = false;
    if (!pg->conn || PQstatus(pg->conn) != CONNECTION_OK) {
        pg->last_retryable = true;
        return pf_error_set(err, PF_ECONN, "postgres: not connected");
    }
    res = n > 0 ? PQexecParams(pg->conn, sql, n, NULL, params, NULL, NULL, 0)
                : PQexec(pg->conn, sql);
    if (PQresultStatus(res) == want) {
        if (out)
            *out = res;
        else
            PQclear(res);
        return 0;
    }
    pg->last_retryable = pfs_pg_retryable(pg->conn, res);
    pf_error_set(err, pg->last_retryable ? PF_ECONN : PF_EIO, "postgres: %s",
                 res ? PQresultErrorMessage(res) : PQerrorMessage(pg->conn));
    PQclear(res);
    return pg->last_retryable ? PF_ECONN : PF_EIO;
}

int pfs_pg_exec(struct pfs_pg *pg, const char *sql, int n, const char *const *params,
                struct pf_error *err)
{
    return pg__run(pg, sql, n, params, PGRES_COMMAND_OK, NULL, err);
}

int pfs_pg_query(struct pfs_pg *pg, const char *sql, int n, const char *const *params,
                 PGresult **out, struct pf_error *err)
{
    *out = NULL;
    return pg__run(pg, sql, n, params, PGRES_TUPLES_OK, out, err);
}

static const char *pg__begin_sql(enum pfs_pg_isolation iso)
{
    switch (iso) {
    case PFS_PG_SERIALIZABLE:
        return "BEGIN ISOLATION LEVEL SERIALIZABLE";
    case PFS_PG_REPEATABLE_READ:
        return "BEGIN ISOLATION LEVEL REPEATABLE READ";
    case PFS_PG_READ_COMMITTED:
    default:
        return "BEGIN ISOLATION LEVEL READ COMMITTED";
    }
}

static void pg__rollback(struct pfs_pg *pg)
{
    PGresult *res;

    if (pg->conn && PQstatus(pg->conn) == CONNECTION_OK &&
        PQtransactionStatus(pg->conn) != PQTRANS_IDLE) {
        res = PQexec(pg->conn, "ROLLBACK");
        PQclear(res);
    }
}

/* What became of transaction xid, asked on a (new) session after its COMMIT
 * was lost in flight: 1 committed, 0 aborted, PF_EIO unknowable. Waits while
 * the server still reports it in progress (the session's backend may not
 * have finished yet). */
static int pg__xact_outcome(struct pfs_pg *pg, const char *xid, struct pf_error *err)
{
    const char *params[1] = {xid};
    int64_t start = pg__now_ms();
    PGresult *res;
    int rc;

    for (;;) {
        if (!pg->conn || PQstatus(pg->conn) != CONNECTION_OK) {
            rc = pfs_pg_reconnect(pg, err);
            if (rc)
                return pf_error_prefix(err, "postgres: commit outcome of xid %s unknown", xid);
        }
        rc = pfs_pg_query(pg, "SELECT pg_xact_status($1::xid8)", 1, params, &res, err);
        if (rc) {
            if (pg->last_retryable && pg__now_ms() - start < pg->deadline_ms)
                continue;
            return pf_error_prefix(err, "postgres: commit outcome of xid %s unknown", xid);
        }
        if (PQgetisnull(res, 0, 0)) {
            PQclear(res);
            return pf_error_set(err, PF_EIO, "postgres: commit outcome of xid %s unknown (too old)",
                                xid);
        }
        if (strcmp(PQgetvalue(res, 0, 0), "committed") == 0) {
            PQclear(res);
            return 1;
        }
        if (strcmp(PQgetvalue(res, 0, 0), "aborted") == 0) {
            PQclear(res);
            return 0;
        }
        PQclear(res);
        if (pg__now_ms() - start >= pg->deadline_ms)
            return pf_error_set(err, PF_EIO, "postgres: xid %s still in progress", xid);
        pg__sleep_ms(20);
    }
}

/* COMMIT: 0 committed, PF_ECONN to be run again, another code to fail. */
static int pg__commit(struct pfs_pg *pg, struct pf_error *err)
{
    char xid[32] = "";
    PGresult *res;
    int rc;

    /* The transaction's id, if it wrote anything: what decides a lost COMMIT. */
    rc = pfs_pg_query(pg, "SELECT pg_current_xact_id_if_assigned()::text", 0, NULL, &res, err);
    if (rc)
        return rc;
    if (!PQgetisnull(res, 0, 0))
        snprintf(xid, sizeof(xid), "%s", PQgetvalue(res, 0, 0));
    PQclear(res);

    res = PQexec(pg->conn, "COMMIT");
    if (PQresultStatus(res) == PGRES_COMMAND_OK) {
        /* A transaction that had failed answers COMMIT with "ROLLBACK". */
        rc = strcmp(PQcmdStatus(res), "COMMIT") == 0
                     ? 0
                     : pf_error_set(err, PF_EIO, "postgres: COMMIT rolled back");
        PQclear(res);
        return rc;
    }
    pg->last_retryable = pfs_pg_retryable(pg->conn, res);
    pf_error_set(err, pg->last_retryable ? PF_ECONN : PF_EIO, "postgres: COMMIT: %s",
                 res ? PQresultErrorMessage(res) : PQerrorMessage(pg->conn));
    PQclear(res);
    if (PQstatus(pg->conn) == CONNECTION_OK)
        return pg->last_retryable ? PF_ECONN : PF_EIO; /* the server answered: not committed */
    if (!xid[0])
        return PF_ECONN; /* wrote nothing: running it again is harmless */
    rc = pg__xact_outcome(pg, xid, err);
    if (rc < 0) {
        /* Never run again what may have committed. */
        pg->last_retryable = false;
        if (err)
            err->code = PF_EIO;
        return PF_EIO;
    }
    pg->stats.commit_unknown_resolved++;
    if (rc == 1)
        return 0;
    pg->last_retryable = true; /* aborted: nothing of it stayed, run it again */
    return PF_ECONN;
}

int pfs_pg_commit(struct pfs_pg *pg, struct pf_error *err)
{
    int rc = pg__commit(pg, err);

    if (rc == 0)
        pg->stats.tx_commits++;
    return rc;
}

int pfs_pg_tx(struct pfs_pg *pg, enum pfs_pg_isolation iso, pfs_pg_tx_fn fn, void *ctx,
              struct pf_error *err)
{
    int attempt, rc = PF_ECONN;

    if (pg->in_tx)
        return pf_error_set(err, PF_ESTATE, "postgres: a transaction is open already");
    pg->in_tx = true;
    for (attempt = 1; attempt <= pg->attempts; attempt++) {
        if (attempt > 1)
            pg->stats.tx_retries++;
        if (!pg->conn || PQstatus(pg->conn) != CONNECTION_OK) {
            rc = pfs_pg_reconnect(pg, err);
            if (rc)
                break;
        }
        rc = pfs_pg_exec(pg, pg__begin_sql(iso), 0, NULL, err);
        if (rc == 0) {
            rc = fn(ctx, pg, attempt, err);
            if (rc == 0)
                rc = pg__commit(pg, err);
            else if (rc != PF_ECONN && pg->last_retryable)
                rc = PF_ECONN; /* the body mapped a lost session to its own code */
        }
        if (rc == 0) {
            pg->stats.tx_commits++;
            break;
        }
        pg__rollback(pg);
        if (rc != PF_ECONN || !pg->last_retryable)
            break;
        /* Lost session or a conflict: run the whole transaction again. */
        if (pg->conn && PQstatus(pg->conn) == CONNECTION_OK)
            pg__sleep_ms(1 + (int64_t)randombytes_uniform((uint32_t)pg->backoff_min_ms));
    }
    pg->in_tx = false;
    if (rc == PF_ECONN && attempt > pg->attempts)
        return pf_error_prefix(err, "postgres: gave up after %d attempts", pg->attempts);
    return rc;
}
