/*
 * store_tx.c - the SQLite backend's transactions (the handle of store.h),
 * statement helpers and the one audit writer (store_tx.h).
 */
#include "store/sqlite/store_tx.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_updates.h"

/* --- transactions --- */

int pfs_sqlite_tx_begin(struct pfs_sqlite *st, enum pfs_durability durability, int64_t now_ms,
                        struct pfs_sqlite_tx **out, struct pf_error *err)
{
    struct pfs_sqlite_tx *tx = &st->tx;

    *out = NULL;
    if (tx->open)
        return pf_error_set(err, PF_ESTATE, "store: a transaction is open already");
    if (st->held)
        return pf_error_set(err, PF_ESTATE,
                            "store: a bulk change is being written; try again when it has ended");
    if (pfs_sqlite_flush(st, now_ms, NULL))
        return pfs_sqlite_fail(st->db, err, "commit batch");
    if (durability == PFS_DURABILITY_FULL &&
        pfs_sqlite_exec(st->db, "PRAGMA synchronous=FULL", err))
        return PF_EIO;
    if (pfs_sqlite_exec(st->db, "BEGIN IMMEDIATE", err)) {
        if (durability == PFS_DURABILITY_FULL)
            (void)pfs_sqlite_exec(st->db, "PRAGMA synchronous=NORMAL", NULL);
        return PF_EIO;
    }
    tx->st = st;
    tx->db = st->db;
    tx->durability = durability;
    tx->open = true;
    *out = tx;
    return 0;
}

/* Back to the ingest path's durability once a FULL transaction ends. */
static void tx__close(struct pfs_sqlite_tx *tx)
{
    if (tx->durability == PFS_DURABILITY_FULL)
        (void)pfs_sqlite_exec(tx->db, "PRAGMA synchronous=NORMAL", NULL);
    tx->open = false;
}

int pfs_sqlite_tx_commit(struct pfs_sqlite_tx *tx, struct pf_error *err)
{
    int rc = 0;

    if (!tx || !tx->open)
        return pf_error_set(err, PF_ESTATE, "store: no transaction is open");
    if (pfs_sqlite_exec(tx->db, "COMMIT", NULL)) {
        rc = pfs_sqlite_fail(tx->db, err, "commit");
        (void)pfs_sqlite_exec(tx->db, "ROLLBACK", NULL);
    }
    tx__close(tx);
    return rc;
}

void pfs_sqlite_tx_rollback(struct pfs_sqlite_tx *tx)
{
    if (!tx || !tx->open)
        return;
    (void)pfs_sqlite_exec(tx->db, "ROLLBACK", NULL);
    tx__close(tx);
}

sqlite3 *pfs_sqlite_tx_db(struct pfs_sqlite_tx *tx)
{
    return tx->db;
}

int pfs_sqlite_begin(struct pfs_sqlite *st, int64_t now_ms, struct pf_error *err)
{
    struct pfs_sqlite_tx *tx;

    return pfs_sqlite_tx_begin(st, PFS_DURABILITY_FULL, now_ms, &tx, err);
}

int pfs_sqlite_end(struct pfs_sqlite *st, int rc, struct pf_error *err)
{
    if (rc) {
        pfs_sqlite_tx_rollback(&st->tx);
        return rc;
    }
    return pfs_sqlite_tx_commit(&st->tx, err);
}

/* --- statements --- */

/*
 * The cache: a statement prepared persistent with its text behind this mark,
 * so that it is found again among the connection's statements
 * (sqlite3_next_stmt) and never confused with one a caller prepared and
 * finalizes itself.
 */
#define TX_CACHE_MARK "/* cached */ "
#define TX_CACHE_MAX  128 /* beyond: prepared and finalized per use */

int pfs_sqlite_cached(sqlite3 *db, const char *sql, sqlite3_stmt **out)
{
    const size_t mlen = sizeof(TX_CACHE_MARK) - 1;
    size_t n = 0, len;
    char *text;
    int rc;

    *out = NULL;
    for (sqlite3_stmt *p = sqlite3_next_stmt(db, NULL); p; p = sqlite3_next_stmt(db, p)) {
        const char *t = sqlite3_sql(p);

        if (!t || strncmp(t, TX_CACHE_MARK, mlen) != 0)
            continue;
        n++;
        if (!sqlite3_stmt_busy(p) && strcmp(t + mlen, sql) == 0) {
            *out = p;
            return 0;
        }
    }
    if (n >= TX_CACHE_MAX)
        return sqlite3_prepare_v2(db, sql, -1, out, NULL) == SQLITE_OK ? 0 : PF_EIO;
    len = strlen(sql);
    text = malloc(mlen + len + 1);
    if (!text)
        return PF_ENOMEM;
    memcpy(text, TX_CACHE_MARK, mlen);
    memcpy(text + mlen, sql, len + 1);
    rc = sqlite3_prepare_v3(db, text, -1, SQLITE_PREPARE_PERSISTENT, out, NULL);
    free(text);
    if (rc != SQLITE_OK) {
        *out = NULL;
        return PF_EIO;
    }
    return 0;
}

void pfs_sqlite_cached_put(sqlite3_stmt *s)
{
    const char *t;

    if (!s)
        return;
    t = sqlite3_sql(s);
    if (t && strncmp(t, TX_CACHE_MARK, sizeof(TX_CACHE_MARK) - 1) == 0) {
        sqlite3_reset(s);
        sqlite3_clear_bindings(s);
    } else {
        sqlite3_finalize(s);
    }
}

void pfs_sqlite_cache_clear(sqlite3 *db)
{
    sqlite3_stmt *p = sqlite3_next_stmt(db, NULL);

    while (p) {
        sqlite3_stmt *next = sqlite3_next_stmt(db, p);
        const char *t = sqlite3_sql(p);

        if (t && strncmp(t, TX_CACHE_MARK, sizeof(TX_CACHE_MARK) - 1) == 0)
            sqlite3_finalize(p);
        p = next;
    }
}

/* Prepares sql (cached) and binds the arguments fmt describes (pfs_store_sql_run). */
static int tx__prepare_v(sqlite3 *db, const char *sql, sqlite3_stmt **out, const char *fmt,
                         va_list ap)
{
    sqlite3_stmt *s;
    int i = 1;

    if (pfs_sqlite_cached(db, sql, &s))
        return PF_EIO;
    for (const char *f = fmt; *f; f++, i++) {
        if (*f == 's' || *f == 'S') {
            const char *v = va_arg(ap, const char *);

            if (*f == 's' && (!v || !*v))
                sqlite3_bind_null(s, i);
            else
                sqlite3_bind_text(s, i, v ? v : "", -1, SQLITE_TRANSIENT);
        } else {
            int64_t v = va_arg(ap, int64_t);

            if (*f == 'n' && v < 0)
                sqlite3_bind_null(s, i);
            else
                sqlite3_bind_int64(s, i, v);
        }
    }
    *out = s;
    return 0;
}

int pfs_store_sql_run(sqlite3 *db, const char *sql, const char *fmt, ...)
{
    sqlite3_stmt *s;
    va_list ap;
    int rc;

    va_start(ap, fmt);
    rc = tx__prepare_v(db, sql, &s, fmt, ap);
    va_end(ap);
    if (rc)
        return rc;
    rc = sqlite3_step(s);
    pfs_sqlite_cached_put(s);
    if (rc == SQLITE_DONE)
        return 0;
    return rc == SQLITE_CONSTRAINT ? PF_EEXIST : PF_EIO;
}

int pfs_store_sql_int(sqlite3 *db, const char *sql, int64_t *out, const char *fmt, ...)
{
    sqlite3_stmt *s;
    va_list ap;
    int rc;

    *out = 0;
    va_start(ap, fmt);
    rc = tx__prepare_v(db, sql, &s, fmt, ap);
    va_end(ap);
    if (rc)
        return rc;
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        *out = sqlite3_column_int64(s, 0);
    pfs_sqlite_cached_put(s);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : PF_EIO;
}

/* --- audit --- */

static const char tx__audit_sql[] = "INSERT INTO audit (ts_ms, actor, role, action, target, before,"
                                    " after, org, org_path, addr)"
                                    " VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10)";

int pfs_sqlite_audit_write(sqlite3 *db, const struct pfs_sqlite_audit *a, struct pf_error *err)
{
    sqlite3_stmt *s = NULL;
    int rc;

    if (pfs_sqlite_cached(db, tx__audit_sql, &s))
        return pfs_sqlite_fail(db, err, "audit");
    rc = pfs_sqlite_audit_write_cached(db, a, &s, err);
    pfs_sqlite_cached_put(s);
    return rc;
}

int pfs_sqlite_audit_write_cached(sqlite3 *db, const struct pfs_sqlite_audit *a,
                                  sqlite3_stmt **cache, struct pf_error *err)
{
    const struct pfs_actor *actor = a->actor;
    const char *refs[2] = {a->serial, a->serial2};
    sqlite3_stmt *s = *cache;
    int64_t id;
    int rc;

    if (!s &&
        sqlite3_prepare_v3(db, tx__audit_sql, -1, SQLITE_PREPARE_PERSISTENT, &s, NULL) != SQLITE_OK)
        return pfs_sqlite_fail(db, err, "audit");
    *cache = s;
    sqlite3_bind_int64(s, 1, a->ts_ms);
    sqlite3_bind_text(s, 2, actor && actor->name ? actor->name : "-", -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, actor && actor->role ? actor->role : "-", -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 4, a->action, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 5, a->target, -1, SQLITE_STATIC);
    pfs_sqlite_bind_text(s, 6, a->before);
    pfs_sqlite_bind_text(s, 7, a->after);
    pfs_sqlite_bind_text(s, 8, actor ? actor->org : NULL);
    pfs_sqlite_bind_text(s, 9, actor ? actor->org_path : NULL);
    pfs_sqlite_bind_text(s, 10, actor ? actor->addr : NULL);
    if (pfs_sqlite_step_done(s))
        return pfs_sqlite_fail(db, err, "audit");
    if (!a->serial && !a->serial2 && !a->merchant)
        return 0;
    id = sqlite3_last_insert_rowid(db);
    /* The first reference carries the merchant (with or without a terminal). */
    for (int i = 0; i < 2; i++) {
        if (i == 1 && !refs[1])
            break;
        if (i == 0 && !refs[0] && !a->merchant)
            continue;
        rc = pfs_store_sql_run(db,
                               "INSERT INTO audit_ref (audit_id, serial, merchant_id)"
                               " VALUES (?1,?2,?3)",
                               "iss", id, refs[i], a->merchant);
        if (rc)
            return pfs_sqlite_fail(db, err, "audit reference");
    }
    return 0;
}

int pfs_store_audit_row(sqlite3 *db, const struct pfs_actor *actor, int64_t now_ms,
                        const char *action, const char *target, json_t *after)
{
    char *text = after ? json_dumps(after, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    int rc;

    if (after && !text)
        return PF_ENOMEM;
    rc = pfs_store_audit_text(db, actor, now_ms, action, target, text);
    free(text);
    return rc;
}

int pfs_store_audit_text(sqlite3 *db, const struct pfs_actor *actor, int64_t now_ms,
                         const char *action, const char *target, const char *after)
{
    struct pfs_sqlite_audit a = {actor, now_ms, action, target, NULL, after, NULL, NULL, NULL};

    return pfs_sqlite_audit_write(db, &a, NULL);
}

/* --- rows shared by plain and rollout offers --- */

int pfs_store_offer_rows(sqlite3 *db, const struct pfs_offer_rec *o, const struct pfs_bundle_rec *b,
                         const char *body, const char *actor)
{
    int rc;

    rc = pfs_store_sql_run(db,
                           "INSERT INTO update_offers (id, serial, bundle, created_ms, deadline_ms,"
                           " actor, body) VALUES (?1,?2,?3,?4,?5,?6,?7)",
                           "SSSiiSs", o->id, o->serial, o->bundle, o->created_ms, o->deadline_ms,
                           actor, body);
    if (!rc)
        rc = pfs_store_sql_run(
                db,
                "INSERT INTO update_state (serial, offer, bundle, kind, version, status,"
                " percent, reason, code, updated_ms) VALUES (?1,?2,?3,?4,?5,'offered',"
                "NULL,NULL,NULL,?6) ON CONFLICT (serial) DO UPDATE SET"
                " offer=excluded.offer, bundle=excluded.bundle, kind=excluded.kind,"
                " version=excluded.version, status='offered', percent=NULL, reason=NULL,"
                " code=NULL, updated_ms=excluded.updated_ms",
                "SSSSSi", o->serial, o->id, o->bundle, pf_bundle_kind_names[b->kind], b->version,
                o->created_ms);
    return rc;
}
