/*
 * store_diag.c - the SQLite backend of store_diag.h (tables of migration
 * 006_diag). Shares the connection of store_sqlite.c and the helpers of
 * store_tx.h; a request's audit text comes from store/record_json.h.
 */
#include "store/store_diag.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/record_json.h"
#include "store/sqlite/store_sqlite_internal.h"
#include "store/sqlite/store_tx.h"

#define DIAG_COLS                                                                                  \
    "id, serial, command, args, actor, role, created_ms, deadline_ms, status, code, message,"      \
    " result, answered_ms, late, repair_id, archive_size, archive_digest, archive_received,"       \
    " archive_done"

static void sdiag__text(sqlite3_stmt *s, int i, const char *v)
{
    if (v && *v)
        sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(s, i);
}

static void sdiag__col(sqlite3_stmt *s, int col, char *out, size_t size)
{
    const unsigned char *t = sqlite3_column_text(s, col);

    snprintf(out, size, "%s", t ? (const char *)t : "");
}

static void sdiag__read(sqlite3_stmt *s, struct pfs_diag_rec *r)
{
    memset(r, 0, sizeof(*r));
    sdiag__col(s, 0, r->id, sizeof(r->id));
    sdiag__col(s, 1, r->serial, sizeof(r->serial));
    sdiag__col(s, 2, r->command, sizeof(r->command));
    r->args = (const char *)sqlite3_column_text(s, 3);
    sdiag__col(s, 4, r->actor, sizeof(r->actor));
    sdiag__col(s, 5, r->role, sizeof(r->role));
    r->created_ms = sqlite3_column_int64(s, 6);
    r->deadline_ms = sqlite3_column_int64(s, 7);
    sdiag__col(s, 8, r->status, sizeof(r->status));
    sdiag__col(s, 9, r->code, sizeof(r->code));
    r->message = (const char *)sqlite3_column_text(s, 10);
    r->result = (const char *)sqlite3_column_text(s, 11);
    r->answered_ms = sqlite3_column_int64(s, 12);
    r->late = sqlite3_column_int(s, 13) != 0;
    r->repair_id = sqlite3_column_int64(s, 14);
    r->archive_size = sqlite3_column_type(s, 15) == SQLITE_NULL ? -1 : sqlite3_column_int64(s, 15);
    sdiag__col(s, 16, r->archive_digest, sizeof(r->archive_digest));
    r->archive_received = sqlite3_column_int64(s, 17);
    r->archive_done = sqlite3_column_int(s, 18);
}

/* Runs a SELECT of DIAG_COLS and hands each row to cb. */
static int sdiag__each(sqlite3_stmt *s, pfs_diag_rec_cb cb, void *ctx, int *rows)
{
    struct pfs_diag_rec r;
    int rc = 0, step;

    if (rows)
        *rows = 0;
    while ((step = sqlite3_step(s)) == SQLITE_ROW) {
        if (rows)
            (*rows)++;
        if (!cb)
            continue;
        sdiag__read(s, &r);
        rc = cb(ctx, &r);
        if (rc)
            break;
    }
    if (!rc && step != SQLITE_DONE && step != SQLITE_ROW)
        rc = PF_EIO;
    return rc;
}

/* The terminal's open repair record (lifecycle module), 0 if none or no such table. */
static int64_t sdiag__open_repair(sqlite3 *db, const char *serial)
{
    sqlite3_stmt *s;
    int64_t id = 0;

    if (sqlite3_prepare_v2(db,
                           "SELECT id FROM repairs WHERE serial = ?1 AND closed_ms IS NULL"
                           " ORDER BY id DESC LIMIT 1",
                           -1, &s, NULL) != SQLITE_OK)
        return 0;
    sqlite3_bind_text(s, 1, serial, -1, SQLITE_STATIC);
    if (sqlite3_step(s) == SQLITE_ROW)
        id = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return id;
}

int pfs_sqlite_diag_create(struct pfs_sqlite *st, const struct pfs_diag_rec *r,
                           const struct pfs_actor *actor, int64_t now_ms, struct pf_error *err)
{
    sqlite3 *db = pfs_store_sqlite_db(st);
    sqlite3_stmt *s = NULL;
    char *after_s = NULL;
    int rc;

    rc = pfs_sqlite_begin(st, now_ms, err);
    if (rc)
        return rc;
    if (sqlite3_prepare_v2(
                db,
                "INSERT INTO diag_requests (id, serial, command, args, actor, role,"
                " created_ms, deadline_ms, repair_id) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9)",
                -1, &s, NULL) != SQLITE_OK) {
        rc = pf_error_set(err, PF_EIO, "store: diag: %s", sqlite3_errmsg(db));
        goto out_end;
    }
    sqlite3_bind_text(s, 1, r->id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, r->serial, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, r->command, -1, SQLITE_STATIC);
    sdiag__text(s, 4, r->args);
    sqlite3_bind_text(s, 5, actor && actor->name ? actor->name : "-", -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 6, actor && actor->role ? actor->role : "-", -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 7, r->created_ms);
    sqlite3_bind_int64(s, 8, r->deadline_ms);
    {
        int64_t repair = sdiag__open_repair(db, r->serial);

        if (repair)
            sqlite3_bind_int64(s, 9, repair);
        else
            sqlite3_bind_null(s, 9);
    }
    if (sqlite3_step(s) != SQLITE_DONE) {
        rc = pf_error_set(err,
                          sqlite3_extended_errcode(db) == SQLITE_CONSTRAINT_PRIMARYKEY ? PF_EEXIST
                                                                                       : PF_EIO,
                          "store: diag request: %s", sqlite3_errmsg(db));
        goto out_end;
    }
    after_s = pfs_rec_diag_request_text(r);
    if (!after_s) {
        rc = pf_error_set(err, PF_ENOMEM, "store: diag audit: out of memory");
        goto out_end;
    }
    {
        struct pfs_sqlite_audit a = {actor,   now_ms, "diag.request", r->serial, NULL,
                                     after_s, NULL,   NULL,           NULL};

        rc = pfs_sqlite_audit_write(db, &a, err);
    }
out_end:
    sqlite3_finalize(s);
    free(after_s);
    return pfs_sqlite_end(st, rc, err);
}

int pfs_sqlite_diag_get(struct pfs_sqlite *st, const char *id, pfs_diag_rec_cb cb, void *ctx)
{
    sqlite3_stmt *s;
    int rows = 0, rc;

    if (sqlite3_prepare_v2(pfs_store_sqlite_db(st),
                           "SELECT " DIAG_COLS " FROM diag_requests WHERE id = ?1", -1, &s,
                           NULL) != SQLITE_OK)
        return PF_EIO;
    sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
    rc = sdiag__each(s, cb, ctx, &rows);
    sqlite3_finalize(s);
    return rc ? rc : rows ? 0 : PF_ENOENT;
}

int pfs_sqlite_diag_list(struct pfs_sqlite *st, const char *serial, int limit, pfs_diag_rec_cb cb,
                         void *ctx)
{
    sqlite3_stmt *s;
    int rc;

    if (sqlite3_prepare_v2(pfs_store_sqlite_db(st),
                           "SELECT " DIAG_COLS " FROM diag_requests WHERE serial = ?1"
                           " ORDER BY created_ms DESC, rowid DESC LIMIT ?2",
                           -1, &s, NULL) != SQLITE_OK)
        return PF_EIO;
    sqlite3_bind_text(s, 1, serial, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 2, limit);
    rc = sdiag__each(s, cb, ctx, NULL);
    sqlite3_finalize(s);
    return rc;
}

int pfs_sqlite_diag_answer(struct pfs_sqlite *st, const char *serial, const struct pf_diag_resp *r,
                           int64_t archive_size, const char *archive_digest, int64_t now_ms,
                           bool *late)
{
    sqlite3 *db = pfs_store_sqlite_db(st);
    sqlite3_stmt *s;
    char status[PFS_DIAG_STATUS_MAX + 1] = "";
    int rc;

    *late = false;
    if (pfs_sqlite_flush(st, now_ms, NULL))
        return PF_EIO;
    if (sqlite3_prepare_v2(db, "SELECT status FROM diag_requests WHERE id = ?1 AND serial = ?2", -1,
                           &s, NULL) != SQLITE_OK)
        return PF_EIO;
    sqlite3_bind_text(s, 1, r->id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, serial, -1, SQLITE_STATIC);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        sdiag__col(s, 0, status, sizeof(status));
    sqlite3_finalize(s);
    if (rc != SQLITE_ROW)
        return rc == SQLITE_DONE ? PF_ENOENT : PF_EIO;
    if (strcmp(status, "pending") != 0 && strcmp(status, "expired") != 0)
        return PF_EEXIST;
    *late = strcmp(status, "expired") == 0;
    if (sqlite3_prepare_v2(db,
                           "UPDATE diag_requests SET status=?2, code=?3, message=?4, result=?5,"
                           " answered_ms=?6, late=?7, archive_size=?8, archive_digest=?9"
                           " WHERE id=?1",
                           -1, &s, NULL) != SQLITE_OK)
        return PF_EIO;
    sqlite3_bind_text(s, 1, r->id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, pf_diag_status_names[r->status], -1, SQLITE_STATIC);
    sdiag__text(s, 3, r->code);
    sdiag__text(s, 4, r->message);
    sdiag__text(s, 5, r->result);
    sqlite3_bind_int64(s, 6, now_ms);
    sqlite3_bind_int(s, 7, *late);
    if (archive_size >= 0)
        sqlite3_bind_int64(s, 8, archive_size);
    else
        sqlite3_bind_null(s, 8);
    sdiag__text(s, 9, archive_digest);
    rc = sqlite3_step(s) == SQLITE_DONE ? 0 : PF_EIO;
    sqlite3_finalize(s);
    return rc;
}

int pfs_sqlite_diag_expire(struct pfs_sqlite *st, int64_t now_ms, pfs_diag_rec_cb cb, void *ctx,
                           int *n)
{
    sqlite3 *db = pfs_store_sqlite_db(st);
    sqlite3_stmt *s;
    int rc, rows = 0;

    *n = 0;
    if (sqlite3_prepare_v2(db,
                           "SELECT " DIAG_COLS " FROM diag_requests WHERE status = 'pending'"
                           " AND deadline_ms < ?1",
                           -1, &s, NULL) != SQLITE_OK)
        return PF_EIO;
    sqlite3_bind_int64(s, 1, now_ms);
    rc = sdiag__each(s, cb, ctx, &rows);
    sqlite3_finalize(s);
    if (rc || rows == 0)
        return rc;
    if (pfs_sqlite_flush(st, now_ms, NULL))
        return PF_EIO;
    if (sqlite3_prepare_v2(db,
                           "UPDATE diag_requests SET status = 'expired', code = 'TIMEOUT'"
                           " WHERE status = 'pending' AND deadline_ms < ?1",
                           -1, &s, NULL) != SQLITE_OK)
        return PF_EIO;
    sqlite3_bind_int64(s, 1, now_ms);
    rc = sqlite3_step(s) == SQLITE_DONE ? 0 : PF_EIO;
    if (rc == 0)
        *n = sqlite3_changes(db);
    sqlite3_finalize(s);
    return rc;
}

int pfs_sqlite_diag_chunk_put(struct pfs_sqlite *st, const char *id, int64_t offset,
                              const void *data, size_t len, int64_t now_ms, int64_t *received)
{
    sqlite3 *db = pfs_store_sqlite_db(st);
    struct pfs_sqlite_tx *tx;
    sqlite3_stmt *s;
    int64_t have = -1, size = -1;
    int rc;

    if (pfs_sqlite_flush(st, now_ms, NULL))
        return PF_EIO;
    if (sqlite3_prepare_v2(db,
                           "SELECT archive_received, archive_size FROM diag_requests WHERE id=?1",
                           -1, &s, NULL) != SQLITE_OK)
        return PF_EIO;
    sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
    if (sqlite3_step(s) == SQLITE_ROW) {
        have = sqlite3_column_int64(s, 0);
        size = sqlite3_column_type(s, 1) == SQLITE_NULL ? -1 : sqlite3_column_int64(s, 1);
    }
    sqlite3_finalize(s);
    if (have < 0)
        return PF_ENOENT;
    *received = have;
    if (offset != have || size < 0 || offset + (int64_t)len > size || len == 0)
        return PF_ERANGE;
    /* The ingest path's durability: a chunk lost to a power cut is asked again. */
    if (pfs_sqlite_tx_begin(st, PFS_DURABILITY_NORMAL, now_ms, &tx, NULL))
        return PF_EIO;
    rc = PF_EIO;
    if (sqlite3_prepare_v2(db, "INSERT INTO diag_chunks (id, offset, data) VALUES (?1,?2,?3)", -1,
                           &s, NULL) == SQLITE_OK) {
        sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 2, offset);
        sqlite3_bind_blob(s, 3, data, (int)len, SQLITE_STATIC);
        rc = sqlite3_step(s) == SQLITE_DONE ? 0 : PF_EIO;
        sqlite3_finalize(s);
    }
    if (rc == 0 && sqlite3_prepare_v2(db,
                                      "UPDATE diag_requests SET archive_received ="
                                      " archive_received + ?2 WHERE id=?1",
                                      -1, &s, NULL) == SQLITE_OK) {
        sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 2, (int64_t)len);
        rc = sqlite3_step(s) == SQLITE_DONE ? 0 : PF_EIO;
        sqlite3_finalize(s);
    }
    if (rc) {
        pfs_sqlite_tx_rollback(tx);
        return rc;
    }
    if (pfs_sqlite_tx_commit(tx, NULL))
        return PF_EIO;
    *received = have + (int64_t)len;
    return 0;
}

int pfs_sqlite_diag_archive_done(struct pfs_sqlite *st, const char *id, int done, int64_t now_ms)
{
    sqlite3 *db = pfs_store_sqlite_db(st);
    sqlite3_stmt *s;
    int rc;

    if (pfs_sqlite_flush(st, now_ms, NULL))
        return PF_EIO;
    if (sqlite3_prepare_v2(db, "UPDATE diag_requests SET archive_done=?2 WHERE id=?1", -1, &s,
                           NULL) != SQLITE_OK)
        return PF_EIO;
    sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 2, done);
    rc = sqlite3_step(s) == SQLITE_DONE ? 0 : PF_EIO;
    sqlite3_finalize(s);
    return rc;
}

int pfs_sqlite_diag_archive_read(struct pfs_sqlite *st, const char *id, void **buf, size_t *len)
{
    sqlite3_stmt *s;
    char *out = NULL;
    size_t n = 0;
    int rc = 0, step;

    *buf = NULL;
    *len = 0;
    if (sqlite3_prepare_v2(pfs_store_sqlite_db(st),
                           "SELECT data FROM diag_chunks WHERE id=?1 ORDER BY offset", -1, &s,
                           NULL) != SQLITE_OK)
        return PF_EIO;
    sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
    while ((step = sqlite3_step(s)) == SQLITE_ROW) {
        size_t l = (size_t)sqlite3_column_bytes(s, 0);
        char *t = realloc(out, n + l + 1);

        if (!t) {
            rc = PF_ENOMEM;
            break;
        }
        out = t;
        if (l)
            memcpy(out + n, sqlite3_column_blob(s, 0), l);
        n += l;
    }
    if (!rc && step != SQLITE_DONE)
        rc = PF_EIO;
    sqlite3_finalize(s);
    if (rc) {
        free(out);
        return rc;
    }
    *buf = out;
    *len = n;
    return 0;
}

int pfs_sqlite_diag_transfers(struct pfs_sqlite *st, pfs_diag_rec_cb cb, void *ctx)
{
    sqlite3_stmt *s;
    int rc;

    if (sqlite3_prepare_v2(pfs_store_sqlite_db(st),
                           "SELECT " DIAG_COLS " FROM diag_requests WHERE archive_size IS NOT NULL"
                           " AND archive_done = 0",
                           -1, &s, NULL) != SQLITE_OK)
        return PF_EIO;
    rc = sdiag__each(s, cb, ctx, NULL);
    sqlite3_finalize(s);
    return rc;
}
