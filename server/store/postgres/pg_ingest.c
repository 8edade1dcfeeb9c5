/*
 * pg_ingest.c - the ingest path of store.h on PostgreSQL (pg_ingest.h): the
 * batch kept in memory, applied at once inside an open transaction while the
 * session holds, written again whole in one pfs_pg_tx() when it did not; and
 * the held writes of pfs_pg_hold() (store.h, "Long changes off the loop").
 *
 * The SQL is the SQLite backend's (store_sqlite.c) with PostgreSQL's
 * spellings: booleans, greatest() for max(), IS NOT DISTINCT FROM for IS,
 * RETURNING instead of sqlite3_changes() and last_insert_rowid().
 */
#include "store/postgres/pg_ingest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum ingest__kind {
    OP_HEALTH,
    OP_BIRTH,
    OP_STATE,
    OP_ALERT_OPEN,
    OP_ALERT_CLOSE,
    OP_PRUNE,
    OP_EXPIRE
};

struct ingest__op {
    enum ingest__kind kind;
    char serial[PF_SERIAL_MAX + 1];
    int64_t ms; /* received (expire: before) */
    int arg;    /* health: the rank; prune: how many to keep; expire: at most */
    union {
        struct pf_health h;
        struct pf_birth b;
        struct pf_state s;
        struct {
            char kind[PFS_ALERT_KIND_MAX + 1];
            char detail[PFS_ALERT_DETAIL_MAX + 1];
        } a;
    } u;
};

struct pfs_pg_batch {
    struct ingest__op *ops; /* the batch (or, while held, the held writes) */
    size_t n, cap;
    int rows; /* health writes among them */
    bool held;
    size_t dropped; /* held writes beyond PFS_STORE_HELD_MAX */
    /* The open transaction holding the writes applied so far: open once the
     * first write began it; sound while every write of the batch was applied
     * in it on the session it began on (connects unchanged). */
    bool tx_open, tx_sound;
    int64_t connects;
    int64_t *ids; /* health ids written in it, stamped at flush */
    size_t nids, ids_cap;
};

int pfs_pg_batch_new(struct pfs_pg_store *st)
{
    st->batch = calloc(1, sizeof(*st->batch));
    return st->batch ? 0 : PF_ENOMEM;
}

void pfs_pg_batch_free(struct pfs_pg_store *st)
{
    if (!st->batch)
        return;
    free(st->batch->ops);
    free(st->batch->ids);
    free(st->batch);
    st->batch = NULL;
}

bool pfs_pg_batch_open(const struct pfs_pg_store *st)
{
    return st->batch && st->batch->tx_open;
}

static const char *ingest__bool(bool v)
{
    return v ? "t" : "f";
}

static void ingest__selftest(const enum pf_check *c, char out[PF_COMP_COUNT + 1])
{
    for (int i = 0; i < PF_COMP_COUNT; i++)
        out[i] = (char)('0' + (int)c[i]);
    out[PF_COMP_COUNT] = '\0';
}

/* Runs sql; *n gets the rows it returned (RETURNING), *first the first
 * column of the first one (may be NULL). */
static int ingest__run(struct pfs_pg *pg, const char *sql, int np, const char *const *p, int *n,
                       int64_t *first)
{
    PGresult *res = NULL;
    int rc = pfs_pg_query(pg, sql, np, p, &res, NULL);

    if (rc)
        return rc;
    if (n)
        *n = PQntuples(res);
    if (first)
        *first = PQntuples(res) > 0 ? pfs_pg_col_i64(res, 0, 0) : 0;
    PQclear(res);
    return 0;
}

/* --- one write, on the session, inside the caller's transaction --- */

static const char ingest__health_sql[] =
        "INSERT INTO health (serial, seq, ts_ms, recv_ms, queued, battery_pct, charging,"
        " net_type, signal_dbm, temp_c, storage_free_kb, mem_free_kb, uptime_s, fw_version,"
        " fw_slot, fee_version, paper, tamper, selftest, err_reconnects, err_queue_dropped,"
        " err_reader, err_printer, txn_count, txn_amount_minor, currency, stored_ms) VALUES"
        " ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20,$21,$22,$23,"
        "$24,$25,$26,$27) RETURNING id";
/* The common case: a newer report with the versions held (store_sqlite.c). */
static const char ingest__state_same_sql[] =
        "UPDATE device_state SET online=true, last_seen_ms=greatest(last_seen_ms, $2),"
        " health_id=$6, health_seq=$7, health_ts_ms=$8"
        " WHERE serial=$1 AND fw_version IS NOT DISTINCT FROM $3::text"
        " AND fw_slot IS NOT DISTINCT FROM $4::smallint"
        " AND fee_version IS NOT DISTINCT FROM $5::text"
        " AND fee_pending IS NOT DISTINCT FROM $10::text"
        " AND fee_pending_at IS NOT DISTINCT FROM $11::bigint AND ($9::boolean OR health_seq IS"
        " NULL OR $7 > health_seq OR $8 > health_ts_ms) RETURNING 1";
static const char ingest__state_health_sql[] =
        "INSERT INTO device_state (serial, online, last_seen_ms, fw_version, fw_slot,"
        " fee_version, health_id, health_seq, health_ts_ms, fee_pending, fee_pending_at)"
        " VALUES ($1,true,$2,$3,$4,$5,$6,$7,$8,$10,$11)"
        " ON CONFLICT (serial) DO UPDATE SET online=true,"
        " last_seen_ms=greatest(device_state.last_seen_ms, excluded.last_seen_ms),"
        " fw_version=excluded.fw_version, fw_slot=excluded.fw_slot,"
        " fee_version=excluded.fee_version, fee_pending=excluded.fee_pending,"
        " fee_pending_at=excluded.fee_pending_at, health_id=excluded.health_id,"
        " health_seq=excluded.health_seq, health_ts_ms=excluded.health_ts_ms"
        " WHERE $9::boolean OR device_state.health_seq IS NULL"
        " OR excluded.health_seq > device_state.health_seq"
        " OR excluded.health_ts_ms > device_state.health_ts_ms RETURNING 1";
static const char ingest__touch_sql[] =
        "UPDATE device_state SET online=true, last_seen_ms=greatest(last_seen_ms, $2)"
        " WHERE serial=$1";

/* Writes a health report; stored_ms < 0 leaves it unstamped (the open batch). */
static int ingest__health(struct pfs_pg *pg, const struct ingest__op *o, int64_t stored_ms,
                          int64_t *id, bool *newer)
{
    const struct pf_health *h = &o->u.h;
    enum pfs_health_rank rank = (enum pfs_health_rank)o->arg;
    char selftest[PF_COMP_COUNT + 1];
    char b[20][PFS_PG_I64_LEN], fee_at[PFS_PG_I64_LEN];
    const char *fee = h->fee_pending.version[0] ? h->fee_pending.version : NULL;
    int n = 0, rc;

    ingest__selftest(h->selftest, selftest);
    {
        const char *p[27] = {o->serial,
                             pfs_pg_i64(b[0], h->seq),
                             pfs_pg_i64(b[1], h->ts_ms),
                             pfs_pg_i64(b[2], o->ms),
                             ingest__bool(h->queued),
                             pfs_pg_i64(b[3], h->battery_pct),
                             ingest__bool(h->charging),
                             pfs_pg_i64(b[4], (int64_t)h->net_type),
                             pfs_pg_i64(b[5], h->signal_dbm),
                             pfs_pg_i64(b[6], h->temp_c),
                             pfs_pg_i64(b[7], (int64_t)h->storage_free_kb),
                             pfs_pg_i64(b[8], (int64_t)h->mem_free_kb),
                             pfs_pg_i64(b[9], (int64_t)h->uptime_s),
                             h->fw_version,
                             pfs_pg_i64(b[10], (int64_t)h->fw_slot),
                             h->fee_version,
                             pfs_pg_i64(b[11], (int64_t)h->paper),
                             ingest__bool(h->tamper),
                             selftest,
                             pfs_pg_i64(b[12], h->err_reconnects),
                             pfs_pg_i64(b[13], h->err_queue_dropped),
                             pfs_pg_i64(b[14], h->err_reader),
                             pfs_pg_i64(b[15], h->err_printer),
                             pfs_pg_i64(b[16], h->txn_count),
                             pfs_pg_i64(b[17], (int64_t)h->txn_amount_minor),
                             h->currency,
                             stored_ms > 0 ? pfs_pg_i64(b[18], stored_ms) : NULL};

        rc = ingest__run(pg, ingest__health_sql, 27, p, NULL, id);
    }
    if (rc)
        return rc;
    if (rank != PFS_HEALTH_OLDER) {
        char idt[PFS_PG_I64_LEN];
        const char *p[11] = {o->serial,
                             pfs_pg_i64(b[0], o->ms),
                             h->fw_version,
                             pfs_pg_i64(b[1], (int64_t)h->fw_slot),
                             h->fee_version,
                             pfs_pg_i64(idt, *id),
                             pfs_pg_i64(b[2], h->seq),
                             pfs_pg_i64(b[3], h->ts_ms),
                             ingest__bool(rank == PFS_HEALTH_NEWER),
                             fee,
                             fee ? pfs_pg_i64(fee_at, h->fee_pending.effective_at) : NULL};

        /* First with the versions held, then the upsert that also writes them. */
        rc = ingest__run(pg, ingest__state_same_sql, 11, p, &n, NULL);
        if (!rc && n == 0)
            rc = ingest__run(pg, ingest__state_health_sql, 11, p, &n, NULL);
        if (rc)
            return rc;
        if (n > 0) {
            if (newer)
                *newer = true;
            return 0;
        }
    }
    {
        /* A late report: history only, but the terminal was heard from now. */
        const char *p[2] = {o->serial, pfs_pg_i64(b[0], o->ms)};

        return pfs_pg_exec(pg, ingest__touch_sql, 2, p, NULL);
    }
}

static int ingest__birth(struct pfs_pg *pg, const struct ingest__op *o)
{
    const struct pf_birth *bt = &o->u.b;
    char selftest[PF_COMP_COUNT + 1], b[6][PFS_PG_I64_LEN];
    const char *fee = bt->fee_pending.version[0] ? bt->fee_pending.version : NULL;
    int n = 0, rc;

    ingest__selftest(bt->selftest, selftest);
    {
        const char *p[10] = {o->serial,         pfs_pg_i64(b[0], bt->ts_ms),
                             bt->model,         bt->hw_rev,
                             bt->fw_version,    pfs_pg_i64(b[1], (int64_t)bt->fw_slot),
                             bt->fee_version,   pfs_pg_i64(b[2], (int64_t)bt->boot),
                             bt->agent_version, selftest};

        rc = ingest__run(
                pg,
                "INSERT INTO device_birth (serial, ts_ms, model, hw_rev, fw_version, fw_slot,"
                " fee_version, boot, agent_version, selftest)"
                " VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10)"
                " ON CONFLICT (serial) DO UPDATE SET ts_ms=excluded.ts_ms,"
                " model=excluded.model, hw_rev=excluded.hw_rev, fw_version=excluded.fw_version,"
                " fw_slot=excluded.fw_slot, fee_version=excluded.fee_version,"
                " boot=excluded.boot, agent_version=excluded.agent_version,"
                " selftest=excluded.selftest WHERE excluded.ts_ms >= device_birth.ts_ms"
                " RETURNING 1",
                10, p, &n, NULL);
    }
    if (rc)
        return rc;
    if (n > 0) {
        /* The newest birth: its versions are the running ones. */
        const char *p[7] = {o->serial,
                            pfs_pg_i64(b[3], o->ms),
                            bt->fw_version,
                            pfs_pg_i64(b[4], (int64_t)bt->fw_slot),
                            bt->fee_version,
                            fee,
                            fee ? pfs_pg_i64(b[5], bt->fee_pending.effective_at) : NULL};

        return pfs_pg_exec(
                pg,
                "INSERT INTO device_state (serial, online, last_seen_ms, fw_version, fw_slot,"
                " fee_version, fee_pending, fee_pending_at) VALUES ($1,true,$2,$3,$4,$5,$6,$7)"
                " ON CONFLICT (serial) DO UPDATE SET online=true,"
                " last_seen_ms=greatest(device_state.last_seen_ms, excluded.last_seen_ms),"
                " fw_version=excluded.fw_version, fw_slot=excluded.fw_slot,"
                " fee_version=excluded.fee_version, fee_pending=excluded.fee_pending,"
                " fee_pending_at=excluded.fee_pending_at",
                7, p, NULL);
    }
    {
        const char *p[2] = {o->serial, pfs_pg_i64(b[3], o->ms)};

        return pfs_pg_exec(pg, ingest__touch_sql, 2, p, NULL);
    }
}

static int ingest__state(struct pfs_pg *pg, const struct ingest__op *o)
{
    char b[2][PFS_PG_I64_LEN];
    const char *p[4] = {o->serial, ingest__bool(o->u.s.state == PF_STATE_ONLINE),
                        pfs_pg_i64(b[0], o->ms),
                        o->u.s.ts_ms ? pfs_pg_i64(b[1], o->u.s.ts_ms) : NULL};

    return pfs_pg_exec(pg,
                       "INSERT INTO device_state (serial, online, last_seen_ms, state_ts_ms)"
                       " VALUES ($1,$2,$3,$4) ON CONFLICT (serial) DO UPDATE SET"
                       " online=excluded.online,"
                       " last_seen_ms=greatest(device_state.last_seen_ms, excluded.last_seen_ms),"
                       " state_ts_ms=excluded.state_ts_ms",
                       4, p, NULL);
}

/* Applies one write: 0, PF_EEXIST (alert open already), PF_ENOENT (no such
 * alert open), or the session's error. */
static int ingest__apply(struct pfs_pg *pg, const struct ingest__op *o, int64_t stored_ms,
                         int64_t *id, bool *newer, int *deleted)
{
    char b[2][PFS_PG_I64_LEN];
    int n = 0, rc;

    *id = 0;
    switch (o->kind) {
    case OP_HEALTH:
        return ingest__health(pg, o, stored_ms, id, newer);
    case OP_BIRTH:
        return ingest__birth(pg, o);
    case OP_STATE:
        return ingest__state(pg, o);
    case OP_ALERT_OPEN: {
        const char *p[4] = {o->serial, o->u.a.kind, pfs_pg_i64(b[0], o->ms), o->u.a.detail};

        /* alerts_open (serial, kind) WHERE closed_ms IS NULL is the conflict. */
        rc = ingest__run(pg,
                         "INSERT INTO alerts (serial, kind, opened_ms, detail)"
                         " VALUES ($1,$2,$3,$4) ON CONFLICT DO NOTHING RETURNING 1",
                         4, p, &n, NULL);
        return rc ? rc : n > 0 ? 0 : PF_EEXIST;
    }
    case OP_ALERT_CLOSE: {
        const char *p[3] = {o->serial, o->u.a.kind, pfs_pg_i64(b[0], o->ms)};

        rc = ingest__run(pg,
                         "UPDATE alerts SET closed_ms=$3 WHERE serial=$1 AND kind=$2"
                         " AND closed_ms IS NULL RETURNING 1",
                         3, p, &n, NULL);
        return rc ? rc : n > 0 ? 0 : PF_ENOENT;
    }
    case OP_PRUNE: {
        const char *p[2] = {o->serial, pfs_pg_i64(b[0], o->arg)};

        return pfs_pg_exec(pg,
                           "DELETE FROM health WHERE serial=$1 AND id <= (SELECT id FROM health"
                           " WHERE serial=$1 ORDER BY id DESC LIMIT 1 OFFSET $2)",
                           2, p, NULL);
    }
    case OP_EXPIRE:
    default: {
        const char *p[2] = {pfs_pg_i64(b[0], o->ms), pfs_pg_i64(b[1], o->arg)};

        rc = ingest__run(pg,
                         "DELETE FROM health WHERE id IN (SELECT id FROM health ORDER BY id"
                         " LIMIT $2) AND recv_ms < $1 RETURNING 1",
                         2, p, &n, NULL);
        if (!rc && deleted)
            *deleted = n;
        return rc;
    }
    }
}

/* --- the batch --- */

/* The next slot of the list; NULL when held and full (dropped and counted)
 * or out of memory. */
static struct ingest__op *ingest__push(struct pfs_pg_store *st, enum ingest__kind kind,
                                       const char *serial, int64_t ms)
{
    struct pfs_pg_batch *b = st->batch;
    struct ingest__op *o;

    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 256;
        struct ingest__op *more;

        if (b->held && cap > PFS_STORE_HELD_MAX)
            cap = PFS_STORE_HELD_MAX;
        more = cap > b->cap ? realloc(b->ops, cap * sizeof(*more)) : NULL;
        if (!more) {
            if (b->held)
                b->dropped++;
            return NULL;
        }
        b->ops = more;
        b->cap = cap;
    }
    o = &b->ops[b->n++];
    memset(o, 0, sizeof(*o));
    o->kind = kind;
    snprintf(o->serial, sizeof(o->serial), "%s", serial ? serial : "");
    o->ms = ms;
    return o;
}

static int ingest__id_keep(struct pfs_pg_batch *b, int64_t id)
{
    if (b->nids == b->ids_cap) {
        size_t cap = b->ids_cap ? b->ids_cap * 2 : 256;
        int64_t *more = realloc(b->ids, cap * sizeof(*more));

        if (!more)
            return PF_ENOMEM;
        b->ids = more;
        b->ids_cap = cap;
    }
    b->ids[b->nids++] = id;
    return 0;
}

static int64_t ingest__connects(struct pfs_pg *pg)
{
    struct pfs_pg_stats s;

    pfs_pg_stats_get(pg, &s);
    return s.connects;
}

/* The open transaction is no longer the batch: what it held is gone with
 * the session (or rolled back here); the flush writes the list again. */
static void ingest__unsound(struct pfs_pg_store *st)
{
    struct pfs_pg_batch *b = st->batch;

    if (b->tx_open && ingest__connects(st->pg) == b->connects)
        pfs_pg_exec_quiet(st->pg, "ROLLBACK");
    b->tx_open = false;
    b->tx_sound = false;
    b->nids = 0;
}

/*
 * The write just pushed, applied in the batch's transaction while it is
 * sound (*applied). A write that fails there is left to the flush (the list
 * has it): 0, and the caller answers as for a held write. PF_EEXIST and
 * PF_ENOENT of the alerts are results, not failures.
 */
static int ingest__eager(struct pfs_pg_store *st, struct ingest__op *o, bool *newer, int *deleted,
                         bool *applied)
{
    struct pfs_pg_batch *b = st->batch;
    int64_t id = 0;
    int rc;

    *applied = false;
    if (b->n == 1) {
        b->tx_sound = true;
        b->nids = 0;
    }
    if (!b->tx_sound)
        return 0;
    if (b->tx_open && ingest__connects(st->pg) != b->connects) {
        /* Someone reconnected the session (a read after a loss): the
         * transaction is gone, and a write now would commit on its own. */
        ingest__unsound(st);
        return 0;
    }
    if (!b->tx_open) {
        /* NORMAL durability (store.h): atomic, but a power cut may lose the last
         * batches, as SQLite's synchronous=NORMAL. */
        b->connects = ingest__connects(st->pg);
        if (pfs_pg_exec(st->pg, "BEGIN ISOLATION LEVEL READ COMMITTED", 0, NULL, NULL) ||
            pfs_pg_exec(st->pg, "SET LOCAL synchronous_commit TO off", 0, NULL, NULL)) {
            ingest__unsound(st);
            return 0;
        }
        b->tx_open = true;
    }
    rc = ingest__apply(st->pg, o, -1, &id, newer, deleted);
    if (rc == 0 && o->kind == OP_HEALTH)
        rc = ingest__id_keep(b, id);
    if (rc == PF_EEXIST || rc == PF_ENOENT || rc == 0) {
        *applied = true;
        return rc;
    }
    ingest__unsound(st);
    return 0;
}

/* A write of the ingest path: refused inside a transaction (store.h: PF_EIO),
 * kept while held, else pushed and applied. */
static int ingest__write(struct pfs_pg_store *st, struct ingest__op **out, enum ingest__kind kind,
                         const char *serial, int64_t ms)
{
    *out = NULL;
    if (st->tx.open)
        return PF_EIO;
    *out = ingest__push(st, kind, serial, ms);
    if (!*out && !st->batch->held)
        return PF_ENOMEM;
    return 0;
}

int pfs_pg_batch_pending(struct pfs_pg_store *st)
{
    return st->batch->held ? 0 : (int)st->batch->n;
}

/* Clears the batch once written (or lost). */
static void ingest__clear(struct pfs_pg_batch *b)
{
    b->n = 0;
    b->rows = 0;
    b->nids = 0;
    b->tx_open = false;
    b->tx_sound = false;
}

struct ingest__replay {
    struct pfs_pg_batch *b;
    int64_t stored_ms;
};

/* The whole list in one transaction (pfs_pg_tx may run it again). */
static int ingest__replay_fn(void *ctx, struct pfs_pg *pg, int attempt, struct pf_error *err)
{
    struct ingest__replay *r = ctx;
    int rc;

    (void)attempt;
    rc = pfs_pg_exec(pg, "SET LOCAL synchronous_commit TO off", 0, NULL, err);
    for (size_t i = 0; !rc && i < r->b->n; i++) {
        int64_t id;
        int deleted;

        rc = ingest__apply(pg, &r->b->ops[i], r->stored_ms, &id, NULL, &deleted);
        if (rc == PF_EEXIST || rc == PF_ENOENT)
            rc = 0;
        else if (rc)
            pf_error_set(err, rc, "store: batch: write %zu of %zu failed", i + 1, r->b->n);
    }
    return rc;
}

/*
 * Stamps the health rows of the sound transaction and commits it. A failure
 * before the COMMIT was sent (the transaction aborted by a statement of
 * someone else's, the session lost) committed nothing: PF_ECONN, the flush
 * writes the list again. The statement before the COMMIT (the stamp, or a
 * SELECT 1) proves the transaction sound, so a COMMIT that answers
 * ROLLBACK cannot happen; PF_EIO is left to an outcome nobody can know.
 */
static int ingest__commit(struct pfs_pg_store *st, int64_t stored_ms)
{
    struct pfs_pg_batch *b = st->batch;
    int rc;

    if (b->nids > 0 && stored_ms > 0) {
        size_t len = b->nids * 21 + 3, n = 0;
        char *arr = malloc(len), ms[PFS_PG_I64_LEN];

        if (!arr)
            return PF_ENOMEM;
        arr[n++] = '{';
        for (size_t i = 0; i < b->nids; i++)
            n += (size_t)snprintf(arr + n, len - n, "%s%lld", i ? "," : "", (long long)b->ids[i]);
        snprintf(arr + n, len - n, "}");
        {
            const char *p[2] = {pfs_pg_i64(ms, stored_ms), arr};

            rc = pfs_pg_exec(st->pg, "UPDATE health SET stored_ms=$1 WHERE id = ANY($2::bigint[])",
                             2, p, NULL);
        }
        free(arr);
    } else {
        PGresult *res = NULL;

        rc = pfs_pg_query(st->pg, "SELECT 1", 0, NULL, &res, NULL);
        PQclear(res);
    }
    if (rc) {
        ingest__unsound(st);
        return PF_ECONN;
    }
    return pfs_pg_commit(st->pg, NULL);
}

int pfs_pg_flush(struct pfs_pg_store *st, int64_t stored_ms, int *rows)
{
    struct pfs_pg_batch *b = st->batch;
    struct ingest__replay r = {b, stored_ms};
    int rc = PF_ECONN;

    if (rows)
        *rows = 0;
    if (b->held)
        return 0;
    if (b->n == 0) {
        /* Only writes that changed nothing (an alert open already) ran in it. */
        if (b->tx_open)
            ingest__unsound(st);
        ingest__clear(b);
        return 0;
    }
    if (b->tx_open && b->tx_sound && ingest__connects(st->pg) == b->connects) {
        rc = ingest__commit(st, stored_ms);
        if (rc && rc != PF_ECONN)
            ingest__unsound(st);
    }
    b->tx_open = false;
    /* Not committed and nothing of it stayed (the session lost or the COMMIT
     * aborted): the whole list again, retried across reconnects. */
    if (rc == PF_ECONN)
        rc = pfs_pg_tx(st->pg, PFS_PG_READ_COMMITTED, ingest__replay_fn, &r, NULL);
    if (rc == 0 && rows)
        *rows = b->rows;
    ingest__clear(b);
    return rc ? PF_EIO : 0;
}

/* --- hold --- */

int pfs_pg_hold(struct pfs_pg_store *st, int64_t now_ms, struct pf_error *err)
{
    struct pfs_pg_batch *b = st->batch;

    if (b->held)
        return pf_error_set(err, PF_ESTATE, "store: held already");
    if (st->tx.open)
        return pf_error_set(err, PF_ESTATE, "store: a transaction is open");
    if (pfs_pg_flush(st, now_ms, NULL))
        return pf_error_set(err, PF_EIO, "store: commit batch: the batch could not be written");
    b->held = true;
    b->dropped = 0;
    return 0;
}

bool pfs_pg_is_held(const struct pfs_pg_store *st)
{
    return st->batch->held;
}

int pfs_pg_release(struct pfs_pg_store *st, int64_t now_ms, size_t *written, size_t *dropped)
{
    struct pfs_pg_batch *b = st->batch;
    size_t n = b->n;
    int rc;

    if (written)
        *written = 0;
    if (dropped)
        *dropped = b->held ? b->dropped : 0;
    if (!b->held)
        return 0;
    /* The held writes become the batch, written at once in one transaction. */
    b->held = false;
    b->tx_open = false;
    b->tx_sound = false;
    rc = pfs_pg_flush(st, now_ms, NULL);
    free(b->ops);
    b->ops = NULL;
    b->cap = 0;
    if (written)
        *written = rc ? 0 : n;
    return rc;
}

/* --- the writes --- */

int pfs_pg_health_put(struct pfs_pg_store *st, const char *serial, const struct pf_health *h,
                      int64_t recv_ms, bool *newer)
{
    return pfs_pg_health_record(st, serial, h, recv_ms, PFS_HEALTH_RANK_STORE, newer);
}

int pfs_pg_health_record(struct pfs_pg_store *st, const char *serial, const struct pf_health *h,
                         int64_t recv_ms, enum pfs_health_rank rank, bool *newer)
{
    struct ingest__op *o;
    bool applied = false, nw = false;
    int rc;

    if (newer)
        *newer = false;
    rc = ingest__write(st, &o, OP_HEALTH, serial, recv_ms);
    if (rc)
        return rc;
    if (o) {
        o->arg = (int)rank;
        o->u.h = *h;
        st->batch->rows++;
        if (!st->batch->held)
            rc = ingest__eager(st, o, &nw, NULL, &applied);
    }
    /* Held, or left to the flush: the caller's rank decides (store.h). */
    if (newer)
        *newer = applied ? nw : rank != PFS_HEALTH_OLDER;
    return rc;
}

int pfs_pg_birth_put(struct pfs_pg_store *st, const char *serial, const struct pf_birth *b,
                     int64_t recv_ms)
{
    bool applied;
    struct ingest__op *o;
    int rc = ingest__write(st, &o, OP_BIRTH, serial, recv_ms);

    if (rc || !o)
        return rc;
    o->u.b = *b;
    return st->batch->held ? 0 : ingest__eager(st, o, NULL, NULL, &applied);
}

int pfs_pg_state_put(struct pfs_pg_store *st, const char *serial, const struct pf_state *m,
                     int64_t recv_ms)
{
    bool applied;
    struct ingest__op *o;
    int rc = ingest__write(st, &o, OP_STATE, serial, recv_ms);

    if (rc || !o)
        return rc;
    o->u.s = *m;
    return st->batch->held ? 0 : ingest__eager(st, o, NULL, NULL, &applied);
}

static int ingest__alert(struct pfs_pg_store *st, enum ingest__kind kind, const char *serial,
                         const char *akind, int64_t now_ms, const char *detail)
{
    bool applied;
    struct ingest__op *o;
    int rc = ingest__write(st, &o, kind, serial, now_ms);

    if (rc || !o)
        return rc;
    snprintf(o->u.a.kind, sizeof(o->u.a.kind), "%s", akind);
    snprintf(o->u.a.detail, sizeof(o->u.a.detail), "%s", detail ? detail : "");
    if (st->batch->held)
        return 0;
    rc = ingest__eager(st, o, NULL, NULL, &applied);
    /* Nothing changed: the write is not part of the batch. */
    if ((rc == PF_EEXIST || rc == PF_ENOENT) && st->batch->n > 0 &&
        &st->batch->ops[st->batch->n - 1] == o)
        st->batch->n--;
    return rc;
}

int pfs_pg_alert_open(struct pfs_pg_store *st, const char *serial, const char *kind, int64_t now_ms,
                      const char *detail)
{
    return ingest__alert(st, OP_ALERT_OPEN, serial, kind, now_ms, detail);
}

int pfs_pg_alert_close(struct pfs_pg_store *st, const char *serial, const char *kind,
                       int64_t now_ms)
{
    return ingest__alert(st, OP_ALERT_CLOSE, serial, kind, now_ms, NULL);
}

int pfs_pg_health_prune(struct pfs_pg_store *st, const char *serial, int keep)
{
    bool applied;
    struct ingest__op *o;
    int rc = ingest__write(st, &o, OP_PRUNE, serial, 0);

    if (rc || !o)
        return rc;
    o->arg = keep;
    return st->batch->held ? 0 : ingest__eager(st, o, NULL, NULL, &applied);
}

int pfs_pg_health_expire(struct pfs_pg_store *st, int64_t before_ms, int max, int *deleted)
{
    bool applied;
    struct ingest__op *o;
    int rc;

    *deleted = 0;
    /* Held: deletes nothing (the next retention run does). */
    if (st->batch->held)
        return st->tx.open ? PF_EIO : 0;
    rc = ingest__write(st, &o, OP_EXPIRE, NULL, before_ms);
    if (rc)
        return rc;
    o->arg = max;
    return ingest__eager(st, o, NULL, deleted, &applied);
}
