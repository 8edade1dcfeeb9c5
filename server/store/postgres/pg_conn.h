/*
 * pg_conn.h - the PostgreSQL backend's connection and transaction helper.
 *
 * One struct pfs_pg is one libpq session (store.dsn), used by one thread.
 * When the session is lost (PostgreSQL restarted, the network cut, the
 * backend terminated) the next transaction reconnects with exponential
 * backoff and full jitter, up to a deadline.
 *
 * pfs_pg_tx() runs a caller's function inside BEGIN ... COMMIT and retries
 * the whole transaction, from BEGIN, when it failed because the session was
 * lost (SQLSTATE class 08, 57P01-57P03) or because PostgreSQL chose it as the
 * victim of a serialization failure or a deadlock (40001, 40P01). Any other
 * error rolls back and is returned at once. It returns 0 only after COMMIT
 * itself answered "COMMIT": nothing is acknowledged that was not committed.
 * When the session drops while COMMIT is in flight, the outcome is unknown to
 * the client; the helper then asks the server, on a new session, for the
 * status of the transaction's id (pg_xact_status): committed -> 0, aborted ->
 * retried, unknowable -> PF_EIO (never a guess). A transaction that wrote
 * nothing has no id and is simply retried.
 *
 * The caller's function must therefore be safe to run again from the start:
 * it reads and decides inside the transaction and keeps no effect outside it
 * until pfs_pg_tx() returns 0 (the attempt number is passed so tests can
 * count).
 */
#ifndef PFS_PG_CONN_H
#define PFS_PG_CONN_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#include "pf/error.h"

struct pfs_pg_opts {
    const char *dsn;               /* libpq connection string (store.dsn) */
    int64_t reconnect_min_ms;      /* first backoff cap; 0: 50 */
    int64_t reconnect_max_ms;      /* backoff cap; 0: 2000 */
    int64_t reconnect_deadline_ms; /* give up reconnecting after; 0: 30000 */
    int tx_attempts;               /* attempts per transaction; 0: 5 */
};

enum pfs_pg_isolation { PFS_PG_READ_COMMITTED, PFS_PG_REPEATABLE_READ, PFS_PG_SERIALIZABLE };

/* Counters since pfs_pg_open (for tests and metrics). */
struct pfs_pg_stats {
    int64_t connects;                /* successful connections, the first included */
    int64_t tx_commits;              /* transactions acknowledged */
    int64_t tx_retries;              /* attempts run again */
    int64_t commit_unknown_resolved; /* commits lost in flight and resolved by xid */
};

struct pfs_pg;

/* The caller's transaction body: run statements with pfs_pg_exec/pfs_pg_query
 * on pg; attempt is 1 for the first run. Returns 0 or a PF_E* code. */
typedef int (*pfs_pg_tx_fn)(void *ctx, struct pfs_pg *pg, int attempt, struct pf_error *err);

/* Connects (one attempt: a server that is down at start is an error). On
 * success *out is the caller's, released with pfs_pg_free. */
int pfs_pg_open(const struct pfs_pg_opts *opts, struct pfs_pg **out, struct pf_error *err) PF_WUR;
void pfs_pg_free(struct pfs_pg *pg);

/* Runs fn inside one transaction with the retries described above. */
int pfs_pg_tx(struct pfs_pg *pg, enum pfs_pg_isolation iso, pfs_pg_tx_fn fn, void *ctx,
              struct pf_error *err) PF_WUR;

/* COMMITs a transaction the caller opened itself (BEGIN by pfs_pg_exec),
 * with pfs_pg_tx()'s rule: 0 only when COMMIT answered COMMIT; a COMMIT lost
 * in flight is resolved by the transaction's id on a new session (committed
 * -> 0, aborted -> PF_ECONN, unknowable -> PF_EIO). PF_ECONN: nothing was
 * committed and the session was lost (or the transaction aborted): the
 * caller may run its transaction again. */
int pfs_pg_commit(struct pfs_pg *pg, struct pf_error *err) PF_WUR;

/* A statement without rows (params may be NULL when n is 0; text format). */
int pfs_pg_exec(struct pfs_pg *pg, const char *sql, int n, const char *const *params,
                struct pf_error *err) PF_WUR;
/* A statement with rows: *out (PGRES_TUPLES_OK) is the caller's (PQclear). */
int pfs_pg_query(struct pfs_pg *pg, const char *sql, int n, const char *const *params,
                 PGresult **out, struct pf_error *err) PF_WUR;

/* Reconnects now, with backoff up to the deadline. */
int pfs_pg_reconnect(struct pfs_pg *pg, struct pf_error *err) PF_WUR;

/* The session's server process id (0 when not connected). */
int pfs_pg_backend_pid(const struct pfs_pg *pg);
void pfs_pg_stats_get(const struct pfs_pg *pg, struct pfs_pg_stats *out);

/* Whether an error left by libpq (result may be NULL) means the session is
 * gone or the transaction may simply be run again. */
bool pfs_pg_retryable(PGconn *conn, const PGresult *res);

#endif
