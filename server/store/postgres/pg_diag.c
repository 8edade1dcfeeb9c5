/*
 * pg_diag.c - the PostgreSQL backend of store_diag.h (tables of migration
 * 005_diag), the twin of store_diag.c; a request's audit text comes from
 * store/record_json.h.
 *
 * SQLite's single writer made "read the request, then write" safe; here two
 * instances may receive the same answer or chunk (a retransmission through
 * the shared subscription), so each such call is one transaction at READ
 * COMMITTED that reads the request with SELECT ... FOR UPDATE: the second
 * waits for the first, then sees its outcome (answered: PF_EEXIST; the chunk
 * stored: PF_ERANGE) as SQLite's second call would.
 */
#include "store/postgres/pg_diag.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/postgres/onetx.h"
#include "store/record_json.h"

#define DIAG_COLS                                                                                  \
    "id, serial, command, args, actor, role, created_ms, deadline_ms, status, code, message,"      \
    " result, answered_ms, late, repair_id, archive_size, archive_digest, archive_received,"       \
    " archive_done"

static const char *diag__opt(const char *s)
{
    return s && *s ? s : NULL;
}

static void diag__col(const PGresult *res, int r, int c, char *out, size_t size)
{
    snprintf(out, size, "%s", PQgetisnull(res, r, c) ? "" : PQgetvalue(res, r, c));
}

static const char *diag__text(const PGresult *res, int r, int c)
{
    return PQgetisnull(res, r, c) ? NULL : PQgetvalue(res, r, c);
}

static void diag__read(const PGresult *res, int i, struct pfs_diag_rec *r)
{
    memset(r, 0, sizeof(*r));
    diag__col(res, i, 0, r->id, sizeof(r->id));
    diag__col(res, i, 1, r->serial, sizeof(r->serial));
    diag__col(res, i, 2, r->command, sizeof(r->command));
    r->args = diag__text(res, i, 3);
    diag__col(res, i, 4, r->actor, sizeof(r->actor));
    diag__col(res, i, 5, r->role, sizeof(r->role));
    r->created_ms = pfs_pg_col_i64(res, i, 6);
    r->deadline_ms = pfs_pg_col_i64(res, i, 7);
    diag__col(res, i, 8, r->status, sizeof(r->status));
    diag__col(res, i, 9, r->code, sizeof(r->code));
    r->message = diag__text(res, i, 10);
    r->result = diag__text(res, i, 11);
    r->answered_ms = pfs_pg_col_i64(res, i, 12);
    r->late = pfs_pg_col_bool(res, i, 13);
    r->repair_id = pfs_pg_col_i64(res, i, 14);
    r->archive_size = PQgetisnull(res, i, 15) ? -1 : pfs_pg_col_i64(res, i, 15);
    diag__col(res, i, 16, r->archive_digest, sizeof(r->archive_digest));
    r->archive_received = pfs_pg_col_i64(res, i, 17);
    r->archive_done = (int)pfs_pg_col_i64(res, i, 18);
}

/* Hands each row of a SELECT of DIAG_COLS to cb (may be NULL). */
static int diag__each(const PGresult *res, pfs_diag_rec_cb cb, void *ctx)
{
    struct pfs_diag_rec r;
    int rc = 0;

    for (int i = 0; cb && i < PQntuples(res) && rc == 0; i++) {
        diag__read(res, i, &r);
        rc = cb(ctx, &r);
    }
    return rc;
}

/* --- requests --- */

struct diag__create {
    const struct pfs_diag_rec *r;
    const struct pfs_actor *actor;
    int64_t now_ms;
};

static int diag__create_body(void *ctx, struct pfs_pg *pg, int attempt, struct pf_error *err)
{
    struct diag__create *c = ctx;
    const struct pfs_diag_rec *r = c->r;
    const struct pfs_actor *actor = c->actor;
    char cr[PFS_PG_I64_LEN], dl[PFS_PG_I64_LEN];
    const char *p[8] = {r->id,
                        r->serial,
                        r->command,
                        diag__opt(r->args),
                        actor && actor->name ? actor->name : "-",
                        actor && actor->role ? actor->role : "-",
                        pfs_pg_i64(cr, r->created_ms),
                        pfs_pg_i64(dl, r->deadline_ms)};
    PGresult *res = NULL;
    char *after = NULL;
    int rc, n;

    (void)attempt;
    /* The terminal's open repair record (lifecycle), NULL if none. */
    rc = pfs_pg_query(pg,
                      "INSERT INTO diag_requests (id, serial, command, args, actor, role,"
                      " created_ms, deadline_ms, repair_id) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,"
                      " (SELECT id FROM repairs WHERE serial = $2 AND closed_ms IS NULL"
                      " ORDER BY id DESC LIMIT 1)) ON CONFLICT (id) DO NOTHING RETURNING id",
                      8, p, &res, err);
    if (rc) {
        pf_error_prefix(err, "store: diag request");
        return rc;
    }
    n = PQntuples(res);
    PQclear(res);
    if (n != 1)
        return pf_error_set(err, PF_EEXIST,
                            "store: diag request: UNIQUE constraint failed: diag_requests.id");
    after = pfs_rec_diag_request_text(r);
    if (!after)
        return pf_error_set(err, PF_ENOMEM, "store: diag audit: out of memory");
    {
        struct pfs_pg_audit a = {actor, c->now_ms, "diag.request", r->serial, NULL,
                                 after, NULL,      NULL,           NULL};

        rc = pfs_pg_audit_write(pg, &a, err);
    }
    free(after);
    return rc;
}

int pfs_pg_diag_create(struct pfs_pg_store *st, const struct pfs_diag_rec *r,
                       const struct pfs_actor *actor, int64_t now_ms, struct pf_error *err)
{
    struct diag__create c = {r, actor, now_ms};

    return pgb_store_tx(st, PFS_PG_READ_COMMITTED, now_ms, diag__create_body, &c, err);
}

int pfs_pg_diag_get(struct pfs_pg_store *st, const char *id, pfs_diag_rec_cb cb, void *ctx)
{
    const char *p[1] = {id};
    PGresult *res = NULL;
    int rc;

    rc = pgb_read(st, "SELECT " DIAG_COLS " FROM diag_requests WHERE id = $1", 1, p, &res);
    if (rc)
        return rc;
    rc = diag__each(res, cb, ctx);
    if (rc == 0 && PQntuples(res) == 0)
        rc = PF_ENOENT;
    PQclear(res);
    return rc;
}

int pfs_pg_diag_list(struct pfs_pg_store *st, const char *serial, int limit, pfs_diag_rec_cb cb,
                     void *ctx)
{
    char lim[PFS_PG_I64_LEN];
    const char *p[2] = {serial, pfs_pg_i64(lim, limit)};
    PGresult *res = NULL;
    int rc;

    /* seq: SQLite's rowid, the arrival order. */
    rc = pgb_read(st,
                  "SELECT " DIAG_COLS " FROM diag_requests WHERE serial = $1"
                  " ORDER BY created_ms DESC, seq DESC"
                  " LIMIT CASE WHEN $2::bigint < 0 THEN NULL ELSE $2::bigint END",
                  2, p, &res);
    if (rc)
        return rc;
    rc = diag__each(res, cb, ctx);
    PQclear(res);
    return rc;
}

/* --- answers --- */

struct diag__answer {
    const char *serial;
    const struct pf_diag_resp *r;
    int64_t archive_size;
    const char *archive_digest;
    int64_t now_ms;
    bool late;
};

static int diag__answer_body(void *ctx, struct pfs_pg *pg, int attempt, struct pf_error *err)
{
    struct diag__answer *c = ctx;
    const struct pf_diag_resp *r = c->r;
    char now[PFS_PG_I64_LEN], size[PFS_PG_I64_LEN];
    const char *p[2] = {r->id, c->serial};
    const char *u[9] = {r->id,
                        pf_diag_status_names[r->status],
                        diag__opt(r->code),
                        diag__opt(r->message),
                        diag__opt(r->result),
                        pfs_pg_i64(now, c->now_ms),
                        NULL,
                        c->archive_size >= 0 ? pfs_pg_i64(size, c->archive_size) : NULL,
                        diag__opt(c->archive_digest)};
    char status[PFS_DIAG_STATUS_MAX + 1] = "";
    PGresult *res = NULL;
    int rc;

    (void)attempt;
    c->late = false;
    rc = pfs_pg_query(pg,
                      "SELECT status FROM diag_requests WHERE id = $1 AND serial = $2"
                      " FOR UPDATE",
                      2, p, &res, err);
    if (rc)
        return rc;
    if (PQntuples(res) != 1) {
        PQclear(res);
        return PF_ENOENT;
    }
    diag__col(res, 0, 0, status, sizeof(status));
    PQclear(res);
    if (strcmp(status, "pending") != 0 && strcmp(status, "expired") != 0)
        return PF_EEXIST;
    c->late = strcmp(status, "expired") == 0;
    u[6] = c->late ? "true" : "false";
    return pfs_pg_exec(pg,
                       "UPDATE diag_requests SET status=$2, code=$3, message=$4, result=$5,"
                       " answered_ms=$6, late=$7, archive_size=$8, archive_digest=$9"
                       " WHERE id=$1",
                       9, u, err);
}

int pfs_pg_diag_answer(struct pfs_pg_store *st, const char *serial, const struct pf_diag_resp *r,
                       int64_t archive_size, const char *archive_digest, int64_t now_ms, bool *late)
{
    struct diag__answer c = {serial, r, archive_size, archive_digest, now_ms, false};
    int rc;

    *late = false;
    rc = pgb_ingest_tx(st, now_ms, diag__answer_body, &c, NULL);
    if (rc == 0)
        *late = c.late;
    return rc == 0 || rc == PF_ENOENT || rc == PF_EEXIST ? rc : PF_EIO;
}

struct diag__expire {
    int64_t now_ms;
    PGresult *rows; /* the requests as they were before this call expired them */
};

static int diag__expire_body(void *ctx, struct pfs_pg *pg, int attempt, struct pf_error *err)
{
    struct diag__expire *c = ctx;
    char now[PFS_PG_I64_LEN];
    const char *p[1] = {pfs_pg_i64(now, c->now_ms)};

    (void)attempt;
    PQclear(c->rows); /* an earlier attempt's */
    c->rows = NULL;
    return pfs_pg_query(pg,
                        "WITH old AS (SELECT " DIAG_COLS ", seq FROM diag_requests"
                        " WHERE status = 'pending' AND deadline_ms < $1 FOR UPDATE),"
                        " upd AS (UPDATE diag_requests d SET status = 'expired', code = 'TIMEOUT'"
                        " FROM old WHERE d.id = old.id)"
                        " SELECT " DIAG_COLS " FROM old ORDER BY deadline_ms, seq",
                        1, p, &c->rows, err);
}

/* The rows go to cb after the commit (a transaction run again must not show
 * a request twice); SQLite shows them just before its UPDATE. */
int pfs_pg_diag_expire(struct pfs_pg_store *st, int64_t now_ms, pfs_diag_rec_cb cb, void *ctx,
                       int *n)
{
    struct diag__expire c = {now_ms, NULL};
    char now[PFS_PG_I64_LEN];
    const char *p[1] = {pfs_pg_i64(now, now_ms)};
    PGresult *res = NULL;
    int rc, due;

    *n = 0;
    /* As SQLite's: nothing due, nothing written (the ingest batch stays open). */
    rc = pgb_read(
            st, "SELECT count(*) FROM diag_requests WHERE status = 'pending' AND deadline_ms < $1",
            1, p, &res);
    if (rc)
        return rc;
    due = (int)pfs_pg_col_i64(res, 0, 0);
    PQclear(res);
    if (due == 0)
        return 0;
    rc = pgb_ingest_tx(st, now_ms, diag__expire_body, &c, NULL);
    if (rc == 0) {
        *n = PQntuples(c.rows);
        rc = diag__each(c.rows, cb, ctx);
    } else {
        rc = PF_EIO;
    }
    PQclear(c.rows);
    return rc;
}

/* --- archives --- */

struct diag__chunk {
    const char *id;
    int64_t offset;
    const void *data;
    size_t len;
    int64_t have;
};

static int diag__chunk_body(void *ctx, struct pfs_pg *pg, int attempt, struct pf_error *err)
{
    struct diag__chunk *c = ctx;
    char off[PFS_PG_I64_LEN], len[PFS_PG_I64_LEN];
    const char *p[1] = {c->id};
    PGresult *res = NULL;
    int64_t size;
    char *hex = NULL;
    int rc;

    (void)attempt;
    c->have = -1;
    rc = pfs_pg_query(pg,
                      "SELECT archive_received, archive_size FROM diag_requests WHERE id = $1"
                      " FOR UPDATE",
                      1, p, &res, err);
    if (rc)
        return rc;
    if (PQntuples(res) != 1) {
        PQclear(res);
        return PF_ENOENT;
    }
    c->have = pfs_pg_col_i64(res, 0, 0);
    size = PQgetisnull(res, 0, 1) ? -1 : pfs_pg_col_i64(res, 0, 1);
    PQclear(res);
    if (c->offset != c->have || size < 0 || c->offset + (int64_t)c->len > size || c->len == 0)
        return PF_ERANGE;
    /* The ingest path's durability (SQLite's synchronous=NORMAL): a chunk lost
     * to a power cut is asked again. */
    rc = pfs_pg_exec(pg, "SET LOCAL synchronous_commit TO off", 0, NULL, err);
    if (rc)
        return rc;
    /* bytea in its hex text form: "\x" and two digits a byte. */
    hex = malloc(2 * c->len + 3);
    if (!hex)
        return PF_ENOMEM;
    hex[0] = '\\';
    hex[1] = 'x';
    for (size_t i = 0; i < c->len; i++) {
        static const char digits[] = "0123456789abcdef";
        unsigned char b = ((const unsigned char *)c->data)[i];

        hex[2 + 2 * i] = digits[b >> 4];
        hex[3 + 2 * i] = digits[b & 15];
    }
    hex[2 + 2 * c->len] = '\0';
    {
        const char *q[3] = {c->id, pfs_pg_i64(off, c->offset), hex};

        rc = pfs_pg_exec(pg, "INSERT INTO diag_chunks (id, byte_offset, data) VALUES ($1,$2,$3)", 3,
                         q, err);
    }
    free(hex);
    if (rc)
        return rc;
    {
        const char *q[2] = {c->id, pfs_pg_i64(len, (int64_t)c->len)};

        return pfs_pg_exec(pg,
                           "UPDATE diag_requests SET archive_received = archive_received + $2"
                           " WHERE id = $1",
                           2, q, err);
    }
}

int pfs_pg_diag_chunk_put(struct pfs_pg_store *st, const char *id, int64_t offset, const void *data,
                          size_t len, int64_t now_ms, int64_t *received)
{
    struct diag__chunk c = {id, offset, data, len, -1};
    int rc;

    rc = pgb_ingest_tx(st, now_ms, diag__chunk_body, &c, NULL);
    if (rc == PF_ENOENT || rc == PF_ENOMEM)
        return rc;
    if (c.have >= 0)
        *received = c.have;
    if (rc == PF_ERANGE)
        return rc;
    if (rc)
        return PF_EIO;
    *received = c.have + (int64_t)len;
    return 0;
}

struct diag__done {
    const char *id;
    int done;
};

static int diag__done_body(void *ctx, struct pfs_pg *pg, int attempt, struct pf_error *err)
{
    struct diag__done *c = ctx;
    char done[PFS_PG_I64_LEN];
    const char *p[2] = {c->id, pfs_pg_i64(done, c->done)};

    (void)attempt;
    return pfs_pg_exec(pg, "UPDATE diag_requests SET archive_done = $2 WHERE id = $1", 2, p, err);
}

int pfs_pg_diag_archive_done(struct pfs_pg_store *st, const char *id, int done, int64_t now_ms)
{
    struct diag__done c = {id, done};

    return pgb_ingest_tx(st, now_ms, diag__done_body, &c, NULL) ? PF_EIO : 0;
}

int pfs_pg_diag_archive_read(struct pfs_pg_store *st, const char *id, void **buf, size_t *len)
{
    const char *p[1] = {id};
    PGresult *res = NULL;
    char *out = NULL;
    size_t n = 0;
    int rc;

    *buf = NULL;
    *len = 0;
    rc = pgb_read(st, "SELECT data FROM diag_chunks WHERE id = $1 ORDER BY byte_offset", 1, p,
                  &res);
    if (rc)
        return rc;
    for (int i = 0; i < PQntuples(res); i++) {
        size_t l = 0;
        unsigned char *bytes = PQunescapeBytea((const unsigned char *)PQgetvalue(res, i, 0), &l);
        char *t = bytes ? realloc(out, n + l + 1) : NULL;

        if (!t) {
            PQfreemem(bytes);
            free(out);
            PQclear(res);
            return PF_ENOMEM;
        }
        out = t;
        if (l)
            memcpy(out + n, bytes, l);
        n += l;
        PQfreemem(bytes);
    }
    PQclear(res);
    *buf = out;
    *len = n;
    return 0;
}

int pfs_pg_diag_transfers(struct pfs_pg_store *st, pfs_diag_rec_cb cb, void *ctx)
{
    PGresult *res = NULL;
    int rc;

    rc = pgb_read(st,
                  "SELECT " DIAG_COLS " FROM diag_requests WHERE archive_size IS NOT NULL"
                  " AND archive_done = 0 ORDER BY seq",
                  0, NULL, &res);
    if (rc)
        return rc;
    rc = diag__each(res, cb, ctx);
    PQclear(res);
    return rc;
}
