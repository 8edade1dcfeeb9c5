/*
 * pg_store.h - the PostgreSQL backend's store, shared by its files.
 *
 * One struct pfs_pg_store per pfs_store_open(): one libpq session
 * (pg_conn.h) used by one thread, like the SQLite store. Every function of
 * store.h is pfs_pg_NAME here (store_NAME without "store_"), with the
 * signature of store.h and this struct (or struct pfs_pg_tx for the calls
 * that take a transaction) in place of the generic handle; the backend's ops
 * table (store_ops.h) points at them.
 *
 * Writes: a call that is one transaction runs its body through pfs_pg_tx(),
 * which may run it again from the start after a lost session (the body reads
 * and decides inside the transaction and has no effect outside it). Nothing
 * is acknowledged before COMMIT answered.
 */
#ifndef PFS_PG_STORE_H
#define PFS_PG_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/postgres/pg_conn.h"
#include "store/store.h"
#include "store/store_ops.h"

/* A transaction opened by pfs_store_tx_begin() (domain code composing calls). */
struct pfs_pg_tx {
    struct pfs_tx base; /* first: the generic handle */
    enum pfs_durability durability;
    int64_t now_ms;
    bool open;
};

/* The ingest batch and the held writes (pg_ingest.c). */
struct pfs_pg_batch;

struct pfs_pg_store {
    struct pfs_store base;      /* first: the generic handle */
    struct pfs_pg *pg;          /* the session */
    struct pfs_pg_tx tx;        /* the one transaction open at a time */
    char *dsn;                  /* store.dsn, for a sibling (heap) */
    struct pfs_pg_batch *batch; /* never NULL once open */
};

static inline struct pfs_pg_store *pfs_pg_of(struct pfs_store *st)
{
    return (struct pfs_pg_store *)st;
}

/* One audit row (and its references), inside the caller's transaction:
 * what pfs_sqlite_audit_write() writes, the same columns and rules. */
struct pfs_pg_audit {
    const struct pfs_actor *actor; /* NULL: "-" */
    int64_t ts_ms;
    const char *action;
    const char *target;
    const char *before, *after; /* JSON text or NULL */
    const char *serial, *serial2, *merchant;
};
int pfs_pg_audit_write(struct pfs_pg *pg, const struct pfs_pg_audit *a,
                       struct pf_error *err) PF_WUR;

/* A statement whose failure changes nothing for the caller (a ROLLBACK on a
 * session that may be gone). */
void pfs_pg_exec_quiet(struct pfs_pg *pg, const char *sql);

/* Text for an integer parameter of pfs_pg_query(): written into buf. */
#define PFS_PG_I64_LEN 24
const char *pfs_pg_i64(char buf[PFS_PG_I64_LEN], int64_t v);
/* A column of row r as an integer (0 when NULL), as a bool ("t"), or copied
 * into a buffer of len bytes ("" when NULL; PF_ETOOBIG when it does not fit). */
int64_t pfs_pg_col_i64(const PGresult *res, int r, int c);
bool pfs_pg_col_bool(const PGresult *res, int r, int c);
int pfs_pg_col_text(const PGresult *res, int r, int c, char *buf, size_t len) PF_WUR;

/* Connects to dsn and applies the pending migrations (pg_migrations.h). */
int pfs_pg_store_open(const char *dsn, struct pfs_pg_store **out, struct pf_error *err) PF_WUR;
/* Rolls back an open transaction, writes the pending batch (or the held
 * writes) and closes; NULL is a no-op. */
void pfs_pg_store_close(struct pfs_pg_store *st);

/*
 * A call that is one transaction of its own (an administrative change): what
 * the SQLite backend's pfs_sqlite_begin() does before its BEGIN, then
 * pfs_pg_tx(). Refuses (PF_ESTATE, SQLite's messages) while a transaction of
 * pfs_pg_tx_begin() is open or the store is held, writes the open ingest
 * batch (its health rows stamped now_ms; 0: the system clock), then runs
 * fn in one retried transaction. Every administrative twin goes through it,
 * so that it sees the batch written before it, as on SQLite.
 */
int pfs_pg_store_tx(struct pfs_pg_store *st, enum pfs_pg_isolation iso, int64_t now_ms,
                    pfs_pg_tx_fn fn, void *ctx, struct pf_error *err) PF_WUR;

/* --- the twins of store.h (pg_store.c) --- */

void pfs_pg_close(struct pfs_pg_store *st);
int pfs_pg_schema_version(struct pfs_pg_store *st, int *version) PF_WUR;
/*
 * Domain code composing several calls: BEGIN (READ COMMITTED) on the store's
 * session after writing the open batch. The calls given the handle run their
 * statements on that session inside it. No automatic rerun: the domain code
 * holds the steps, so a session lost inside the transaction fails the
 * commit (PF_ECONN: nothing of it was committed); a COMMIT lost in flight is
 * resolved by the transaction's id (pfs_pg_commit).
 */
int pfs_pg_tx_begin(struct pfs_pg_store *st, enum pfs_durability durability, int64_t now_ms,
                    struct pfs_tx **tx, struct pf_error *err) PF_WUR;
int pfs_pg_tx_commit(struct pfs_pg_tx *tx, struct pf_error *err) PF_WUR;
void pfs_pg_tx_rollback(struct pfs_pg_tx *tx);
/* A sibling's options: backend "postgres" and the same DSN (heap strings). */
int pfs_pg_sibling_opts(struct pfs_pg_store *st, struct pfs_store_opts *opts,
                        struct pf_error *err) PF_WUR;

#endif
