/*
 * pg_devices.c - the registry and the reads of store.h on PostgreSQL, the
 * twins of the SQLite backend's store_devices.c: the same rows, orders,
 * refusals and audit text (store/record_json.h).
 *
 * The registry's writes run in READ COMMITTED with the row decided inside
 * the transaction: a serial is inserted with ON CONFLICT DO NOTHING (two
 * instances adding it at once: the second waits for the first and inserts
 * nothing, so it answers PF_EEXIST as on SQLite, never a unique-violation
 * error), and a revocation locks the row it changes (FOR UPDATE). The reads
 * run on the store's session, so they see the open ingest batch.
 */
#include "store/postgres/pg_devices.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/postgres/pg_ingest.h"
#include "store/postgres/pg_lifecycle.h"
#include "store/record_json.h"

/* The columns of a device view, in the SQLite backend's order
 * (PFS_SQLITE_DEV_COLS). */
#define DEV_COLS                                                                                   \
    "d.serial, d.model, d.hw_rev,"                                                                 \
    " (SELECT tb.merchant_id FROM terminals tb WHERE tb.serial = d.serial), d.status,"             \
    " d.created_ms, d.revoked_ms,"                                                                 \
    " s.serial IS NOT NULL, s.online, s.last_seen_ms, s.fw_version, s.fw_slot,"                    \
    " s.fee_version, b.ts_ms, b.model, b.hw_rev, b.boot, b.agent_version, b.selftest,"             \
    " h.seq, h.ts_ms, h.battery_pct, h.charging, h.net_type, h.signal_dbm, h.temp_c,"              \
    " h.storage_free_kb, h.mem_free_kb, h.uptime_s, h.paper, h.tamper, h.selftest,"                \
    " h.err_reconnects, h.err_queue_dropped, h.err_reader, h.err_printer, h.txn_count,"            \
    " h.txn_amount_minor, h.currency,"                                                             \
    " (SELECT string_agg(a.kind, ',' ORDER BY a.kind) FROM alerts a WHERE a.serial = d.serial"     \
    " AND a.closed_ms IS NULL),"                                                                   \
    " b.fw_version, b.fw_slot, b.fee_version, h.fw_version, h.fw_slot, h.fee_version,"             \
    " s.fee_pending, s.fee_pending_at"
#define DEV_JOINS                                                                                  \
    " LEFT JOIN device_birth b ON b.serial = d.serial LEFT JOIN health h ON h.id = s.health_id"
#define DEV_FROM " FROM devices d LEFT JOIN device_state s ON s.serial = d.serial" DEV_JOINS

/* The scope rule of store_accounts.h (the SQLite backend's store_scope.h):
 * the terminal whose serial is COL lies under the path bound at P and, for a
 * merchant user, is bound to the merchant at M; NULL path: everything. */
#define SCOPE_TERM(COL, P, M)                                                                      \
    "(" P "::text IS NULL OR EXISTS (SELECT 1 FROM terminals sc_t JOIN merchants sc_m ON"          \
    " sc_m.id = sc_t.merchant_id JOIN orgs sc_o ON sc_o.id = sc_m.org_id WHERE sc_t.serial = " COL \
    " AND substr(sc_o.path, 1, length(" P "::text)) = " P "::text AND (" M "::text IS NULL OR"     \
    " sc_t.merchant_id = " M "::text)))"

/* The scope's two parameters: NULL for headquarters or no scope. */
static void devices__scope(const struct pfs_scope *scope, const char **path, const char **merchant)
{
    *path = NULL;
    *merchant = NULL;
    if (pfs_scope_all(scope))
        return;
    *path = scope->path;
    *merchant = scope->merchant[0] ? scope->merchant : NULL;
}

/* A text column, truncated to size ("" for NULL), as the SQLite reads do. */
static void devices__text(const PGresult *res, int r, int c, char *out, size_t size)
{
    snprintf(out, size, "%s", PQgetisnull(res, r, c) ? "" : PQgetvalue(res, r, c));
}

static bool devices__null(const PGresult *res, int r, int c)
{
    return PQgetisnull(res, r, c) != 0;
}

static void devices__selftest(const PGresult *res, int r, int c, enum pf_check *out)
{
    const char *t = PQgetisnull(res, r, c) ? "" : PQgetvalue(res, r, c);
    size_t len = strlen(t);

    for (size_t i = 0; i < PF_COMP_COUNT; i++) {
        int v = len > i ? t[i] - '0' : PF_CHECK_SKIP;

        out[i] = (v >= PF_CHECK_PASS && v <= PF_CHECK_SKIP) ? (enum pf_check)v : PF_CHECK_SKIP;
    }
}

static enum pf_slot devices__slot(const PGresult *res, int r, int c)
{
    return pfs_pg_col_i64(res, r, c) == PF_SLOT_B ? PF_SLOT_B : PF_SLOT_A;
}

static enum pfs_dev_status devices__status(const PGresult *res, int r, int c)
{
    return !PQgetisnull(res, r, c) && strcmp(PQgetvalue(res, r, c), "revoked") == 0
                   ? PFS_DEV_REVOKED
                   : PFS_DEV_REGISTERED;
}

static void devices__read(const PGresult *res, int r, struct pfs_device *d,
                          struct pfs_dev_state *ds)
{
    if (d) {
        memset(d, 0, sizeof(*d));
        devices__text(res, r, 0, d->serial, sizeof(d->serial));
        devices__text(res, r, 1, d->model, sizeof(d->model));
        devices__text(res, r, 2, d->hw_rev, sizeof(d->hw_rev));
        devices__text(res, r, 3, d->merchant_id, sizeof(d->merchant_id));
        d->status = devices__status(res, r, 4);
        d->created_ms = pfs_pg_col_i64(res, r, 5);
        d->revoked_ms = pfs_pg_col_i64(res, r, 6);
    }
    if (!ds)
        return;
    memset(ds, 0, sizeof(*ds));
    ds->seen = pfs_pg_col_bool(res, r, 7);
    if (!ds->seen)
        return;
    ds->online = pfs_pg_col_bool(res, r, 8);
    ds->last_seen_ms = pfs_pg_col_i64(res, r, 9);
    devices__text(res, r, 10, ds->fw_version, sizeof(ds->fw_version));
    ds->fw_slot = devices__slot(res, r, 11);
    devices__text(res, r, 12, ds->fee_version, sizeof(ds->fee_version));
    if (!devices__null(res, r, 46)) {
        devices__text(res, r, 46, ds->fee_pending.version, sizeof(ds->fee_pending.version));
        ds->fee_pending.effective_at = pfs_pg_col_i64(res, r, 47);
    }
    ds->have_birth = !devices__null(res, r, 13);
    if (ds->have_birth) {
        struct pf_birth *b = &ds->birth;

        b->ts_ms = pfs_pg_col_i64(res, r, 13);
        devices__text(res, r, 14, b->model, sizeof(b->model));
        devices__text(res, r, 15, b->hw_rev, sizeof(b->hw_rev));
        b->boot = (enum pf_boot_outcome)pfs_pg_col_i64(res, r, 16);
        devices__text(res, r, 17, b->agent_version, sizeof(b->agent_version));
        devices__selftest(res, r, 18, b->selftest);
        devices__text(res, r, 40, b->fw_version, sizeof(b->fw_version));
        b->fw_slot = devices__slot(res, r, 41);
        devices__text(res, r, 42, b->fee_version, sizeof(b->fee_version));
    }
    ds->have_health = !devices__null(res, r, 19);
    if (ds->have_health) {
        struct pf_health *h = &ds->health;

        h->seq = (uint32_t)pfs_pg_col_i64(res, r, 19);
        h->ts_ms = pfs_pg_col_i64(res, r, 20);
        h->battery_pct = (int)pfs_pg_col_i64(res, r, 21);
        h->charging = pfs_pg_col_bool(res, r, 22);
        h->net_type = (enum pf_net_type)pfs_pg_col_i64(res, r, 23);
        h->signal_dbm = (int)pfs_pg_col_i64(res, r, 24);
        h->temp_c = (int)pfs_pg_col_i64(res, r, 25);
        h->storage_free_kb = (uint64_t)pfs_pg_col_i64(res, r, 26);
        h->mem_free_kb = (uint64_t)pfs_pg_col_i64(res, r, 27);
        h->uptime_s = (uint64_t)pfs_pg_col_i64(res, r, 28);
        h->paper = (enum pf_paper)pfs_pg_col_i64(res, r, 29);
        h->tamper = pfs_pg_col_bool(res, r, 30);
        devices__selftest(res, r, 31, h->selftest);
        h->err_reconnects = (uint32_t)pfs_pg_col_i64(res, r, 32);
        h->err_queue_dropped = (uint32_t)pfs_pg_col_i64(res, r, 33);
        h->err_reader = (uint32_t)pfs_pg_col_i64(res, r, 34);
        h->err_printer = (uint32_t)pfs_pg_col_i64(res, r, 35);
        h->txn_count = (uint32_t)pfs_pg_col_i64(res, r, 36);
        h->txn_amount_minor = (uint64_t)pfs_pg_col_i64(res, r, 37);
        devices__text(res, r, 38, h->currency, sizeof(h->currency));
        devices__text(res, r, 43, h->fw_version, sizeof(h->fw_version));
        h->fw_slot = devices__slot(res, r, 44);
        devices__text(res, r, 45, h->fee_version, sizeof(h->fee_version));
    }
}

/* device_get on a session (the store's, or a transaction body's). */
static int devices__get(struct pfs_pg *pg, const char *serial, struct pfs_device *d,
                        struct pfs_dev_state *s)
{
    const char *p[1] = {serial};
    PGresult *res = NULL;
    int rc;

    rc = pfs_pg_query(pg, "SELECT " DEV_COLS DEV_FROM " WHERE d.serial = $1", 1, p, &res, NULL);
    if (rc)
        return PF_EIO;
    rc = PQntuples(res) == 1 ? 0 : PF_EUNKNOWN_SERIAL;
    if (rc == 0)
        devices__read(res, 0, d, s);
    PQclear(res);
    return rc;
}

/* --- registry --- */

/* Closes the unknown_serial alert of a serial just registered. */
static int devices__close_unknown(struct pfs_pg *pg, const char *serial, int64_t now_ms,
                                  struct pf_error *err)
{
    char ms[PFS_PG_I64_LEN];
    const char *p[2] = {serial, pfs_pg_i64(ms, now_ms)};

    return pfs_pg_exec(pg,
                       "UPDATE alerts SET closed_ms=$2 WHERE serial=$1 AND kind='unknown_serial'"
                       " AND closed_ms IS NULL",
                       2, p, err);
}

/* Inserts a registry row: 1 inserted, 0 taken already, or an error. */
static int devices__insert(struct pfs_pg *pg, const struct pfs_device *d, int64_t now_ms,
                           struct pf_error *err)
{
    char ms[PFS_PG_I64_LEN];
    const char *p[4] = {d->serial, d->model, d->hw_rev[0] ? d->hw_rev : NULL,
                        pfs_pg_i64(ms, now_ms)};
    PGresult *res = NULL;
    int rc, n;

    rc = pfs_pg_query(pg,
                      "INSERT INTO devices (serial, model, hw_rev, status, created_ms)"
                      " VALUES ($1,$2,$3,'registered',$4) ON CONFLICT (serial) DO NOTHING"
                      " RETURNING 1",
                      4, p, &res, err);
    if (rc)
        return rc;
    n = PQntuples(res);
    PQclear(res);
    return n > 0 ? 1 : 0;
}

struct devices__add {
    const struct pfs_device *d;
    const struct pfs_actor *actor;
    int64_t now_ms;
};

static int devices__add_fn(void *ctx, struct pfs_pg *pg, int attempt, struct pf_error *err)
{
    struct devices__add *x = ctx;
    struct pfs_device cur, rec = *x->d;
    struct pfs_pg_audit a = {0};
    char *after = NULL;
    int rc;

    (void)attempt;
    rc = devices__get(pg, rec.serial, &cur, NULL);
    if (rc == 0)
        return pf_error_set(err, PF_EEXIST, "serial %s: already registered%s", rec.serial,
                            cur.status == PFS_DEV_REVOKED ? " (revoked)" : "");
    if (rc != PF_EUNKNOWN_SERIAL)
        return pf_error_set(err, rc, "store: device add: read failed");
    rec.status = PFS_DEV_REGISTERED;
    rec.created_ms = x->now_ms;
    rec.revoked_ms = 0;
    rc = devices__insert(pg, &rec, x->now_ms, err);
    if (rc == 0) /* another instance registered it meanwhile */
        return pf_error_set(err, PF_EEXIST, "serial %s: already registered", rec.serial);
    if (rc < 0)
        return rc;
    after = pfs_rec_device_text(&rec);
    if (!after)
        return pf_error_set(err, PF_ENOMEM, "store: out of memory");
    a.actor = x->actor;
    a.ts_ms = x->now_ms;
    a.action = "device.add";
    a.target = rec.serial;
    a.after = after;
    rc = pfs_pg_audit_write(pg, &a, err);
    free(after);
    if (!rc)
        rc = devices__close_unknown(pg, rec.serial, x->now_ms, err);
    /* A merchant given at registration is a binding, nothing else. */
    if (!rc && rec.merchant_id[0])
        rc = pfs_pglife_bind_registering(pg, rec.serial, rec.merchant_id, x->actor, x->now_ms, err);
    return rc;
}

int pfs_pg_device_add(struct pfs_pg_store *st, const struct pfs_device *d,
                      const struct pfs_actor *actor, int64_t now_ms, struct pf_error *err)
{
    struct devices__add x = {d, actor, now_ms};

    /* A binding reads and changes the merchant too: serializable, as the
     * lifecycle's own writes (pg_lifecycle.c). */
    return pfs_pg_store_tx(st, d->merchant_id[0] ? PFS_PG_SERIALIZABLE : PFS_PG_READ_COMMITTED,
                           now_ms, devices__add_fn, &x, err);
}

/* The import's input, read whole before the transaction: a transaction body
 * may run again, a callback's input cannot be read twice. */
struct devices__import {
    struct pfs_device *v;
    size_t n, cap;
    const struct pfs_actor *actor;
    int64_t now_ms;
    size_t binds; /* rows naming a merchant */
};

/* A PostgreSQL array literal of text built element by element ("{...}"):
 * each element quoted, '"' and '\\' escaped; NULL for a NULL element. */
struct devices__arr {
    char *buf;
    size_t len, cap;
};

static int devices__arr_add(struct devices__arr *a, const char *v)
{
    size_t need = (v ? 2 * strlen(v) + 2 : 4) + 3;

    if (a->len + need > a->cap) {
        size_t cap = a->cap ? a->cap : 4096;
        char *more;

        while (cap < a->len + need)
            cap *= 2;
        more = realloc(a->buf, cap);
        if (!more)
            return PF_ENOMEM;
        a->buf = more;
        a->cap = cap;
    }
    a->buf[a->len] = a->len == 0 ? '{' : ',';
    a->len++;
    if (!v) {
        memcpy(a->buf + a->len, "NULL", 4);
        a->len += 4;
    } else {
        a->buf[a->len++] = '"';
        for (const char *c = v; *c; c++) {
            if (*c == '"' || *c == '\\')
                a->buf[a->len++] = '\\';
            a->buf[a->len++] = *c;
        }
        a->buf[a->len++] = '"';
    }
    a->buf[a->len] = '\0';
    return 0;
}

/* The closed array's text ("{}" when empty); NULL out of memory. Every
 * element added left room for the closing brace. */
static const char *devices__arr_end(struct devices__arr *a)
{
    if (a->len == 0) {
        free(a->buf);
        a->buf = strdup("{}");
        a->len = a->cap = a->buf ? 2 : 0;
        return a->buf;
    }
    a->buf[a->len++] = '}';
    a->buf[a->len] = '\0';
    return a->buf;
}

static int devices__cmp(const void *x, const void *y)
{
    return strcmp(*(const char *const *)x, *(const char *const *)y);
}

/*
 * The first terminal of the input that was not inserted: taken before, or
 * twice in the input (its second time). inserted holds the serials the
 * insert returned.
 */
static const char *devices__first_taken(const struct pfs_device *v, size_t n, PGresult *inserted)
{
    size_t k = (size_t)PQntuples(inserted);
    const char **got = calloc(k ? k : 1, sizeof(*got));
    bool *used = calloc(k ? k : 1, sizeof(*used));
    const char *taken = NULL;

    if (!got || !used) {
        taken = v[0].serial;
        goto out;
    }
    for (size_t i = 0; i < k; i++)
        got[i] = PQgetvalue(inserted, (int)i, 0);
    qsort(got, k, sizeof(*got), devices__cmp);
    for (size_t i = 0; i < n && !taken; i++) {
        const char *key = v[i].serial;
        const char **hit = bsearch(&key, got, k, sizeof(*got), devices__cmp);

        if (!hit || used[hit - got])
            taken = v[i].serial;
        else
            used[hit - got] = true;
    }
out:
    free(got);
    free(used);
    return taken ? taken : v[0].serial;
}

/* The whole import in three statements (rows, audit rows, alerts), whatever
 * its size: arrays of the input, unnest()ed in input order. */
static int devices__import_fn(void *ctx, struct pfs_pg *pg, int attempt, struct pf_error *err)
{
    struct devices__import *x = ctx;
    struct devices__arr serials = {0}, models = {0}, hws = {0}, afters = {0};
    const struct pfs_actor *actor = x->actor;
    char ms[PFS_PG_I64_LEN];
    PGresult *res = NULL;
    int rc = 0;

    (void)attempt;
    for (size_t i = 0; !rc && i < x->n; i++) {
        char *after = pfs_rec_device_text(&x->v[i]);

        rc = after ? 0 : PF_ENOMEM;
        if (!rc)
            rc = devices__arr_add(&serials, x->v[i].serial);
        if (!rc)
            rc = devices__arr_add(&models, x->v[i].model);
        if (!rc)
            rc = devices__arr_add(&hws, x->v[i].hw_rev[0] ? x->v[i].hw_rev : NULL);
        if (!rc)
            rc = devices__arr_add(&afters, after);
        free(after);
    }
    if (rc || !devices__arr_end(&serials) || !devices__arr_end(&models) ||
        !devices__arr_end(&hws) || !devices__arr_end(&afters)) {
        rc = pf_error_set(err, PF_ENOMEM, "store: out of memory");
        goto out;
    }
    {
        const char *p[4] = {serials.buf, models.buf, hws.buf, pfs_pg_i64(ms, x->now_ms)};

        rc = pfs_pg_query(pg,
                          "INSERT INTO devices (serial, model, hw_rev, status, created_ms)"
                          " SELECT u.s, u.m, u.h, 'registered', $4 FROM unnest($1::text[],"
                          " $2::text[], $3::text[]) WITH ORDINALITY AS u(s, m, h, i) ORDER BY u.i"
                          " ON CONFLICT (serial) DO NOTHING RETURNING serial",
                          4, p, &res, err);
    }
    if (rc)
        goto out;
    if ((size_t)PQntuples(res) != x->n) {
        rc = pf_error_set(err, PF_EEXIST, "serial %s: already registered",
                          devices__first_taken(x->v, x->n, res));
        goto out;
    }
    {
        const char *p[8] = {pfs_pg_i64(ms, x->now_ms),
                            actor && actor->name ? actor->name : "-",
                            actor && actor->role ? actor->role : "-",
                            actor && actor->org && *actor->org ? actor->org : NULL,
                            actor && actor->org_path && *actor->org_path ? actor->org_path : NULL,
                            actor && actor->addr && *actor->addr ? actor->addr : NULL,
                            serials.buf,
                            afters.buf};

        /* pfs_pg_audit_write()'s columns, one row per terminal in input order. */
        rc = pfs_pg_exec(pg,
                         "INSERT INTO audit (ts_ms, actor, role, action, target, before, after,"
                         " org, org_path, addr) SELECT $1, $2, $3, 'device.import', u.s, NULL,"
                         " u.a::json, $4, $5, $6 FROM unnest($7::text[], $8::text[])"
                         " WITH ORDINALITY AS u(s, a, i) ORDER BY u.i",
                         8, p, err);
    }
    if (!rc) {
        const char *p[2] = {serials.buf, ms};

        rc = pfs_pg_exec(pg,
                         "UPDATE alerts SET closed_ms=$2 WHERE serial = ANY($1::text[])"
                         " AND kind='unknown_serial' AND closed_ms IS NULL",
                         2, p, err);
    }
    /* A merchant given at registration is a binding, row by row in input order. */
    for (size_t i = 0; !rc && x->binds && i < x->n; i++) {
        if (x->v[i].merchant_id[0])
            rc = pfs_pglife_bind_registering(pg, x->v[i].serial, x->v[i].merchant_id, actor,
                                             x->now_ms, err);
    }
out:
    PQclear(res);
    free(serials.buf);
    free(models.buf);
    free(hws.buf);
    free(afters.buf);
    return rc;
}

int pfs_pg_device_import(struct pfs_pg_store *st, pfs_device_next_cb next, void *ctx,
                         const struct pfs_actor *actor, int64_t now_ms, int64_t *count,
                         struct pf_error *err)
{
    struct devices__import x = {NULL, 0, 0, actor, now_ms, 0};
    int rc;

    *count = 0;
    for (;;) {
        struct pfs_device d;

        memset(&d, 0, sizeof(d));
        rc = next(ctx, &d, err);
        if (rc <= 0)
            break;
        x.binds += d.merchant_id[0] != 0;
        d.status = PFS_DEV_REGISTERED;
        if (x.n == x.cap) {
            size_t cap = x.cap ? x.cap * 2 : 64;
            struct pfs_device *more = realloc(x.v, cap * sizeof(*more));

            if (!more) {
                rc = pf_error_set(err, PF_ENOMEM, "store: out of memory");
                break;
            }
            x.v = more;
            x.cap = cap;
        }
        x.v[x.n++] = d;
    }
    if (rc == 0)
        rc = pfs_pg_store_tx(st, x.binds ? PFS_PG_SERIALIZABLE : PFS_PG_READ_COMMITTED, now_ms,
                             devices__import_fn, &x, err);
    if (rc == 0)
        *count = (int64_t)x.n;
    free(x.v);
    return rc;
}

struct devices__revoke {
    const char *serial;
    const struct pfs_actor *actor;
    int64_t now_ms;
};

static int devices__revoke_fn(void *ctx, struct pfs_pg *pg, int attempt, struct pf_error *err)
{
    struct devices__revoke *x = ctx;
    struct pfs_device cur, rec;
    struct pfs_pg_audit a = {0};
    char ms[PFS_PG_I64_LEN], *before = NULL, *after = NULL;
    const char *p[2] = {x->serial, pfs_pg_i64(ms, x->now_ms)};
    PGresult *res = NULL;
    int rc;

    (void)attempt;
    /* The row is locked: a concurrent revocation waits, then sees it revoked. */
    rc = pfs_pg_query(pg, "SELECT 1 FROM devices WHERE serial = $1 FOR UPDATE", 1, p, &res, err);
    if (rc)
        return rc;
    PQclear(res);
    rc = devices__get(pg, x->serial, &cur, NULL);
    if (rc == PF_EUNKNOWN_SERIAL)
        return pf_error_set(err, rc, "serial %s: not registered", x->serial);
    if (rc)
        return pf_error_set(err, rc, "store: revoke: read failed");
    if (cur.status == PFS_DEV_REVOKED)
        return pf_error_set(err, PF_ESTATE, "serial %s: already revoked", x->serial);
    rc = pfs_pg_exec(pg, "UPDATE devices SET status='revoked', revoked_ms=$2 WHERE serial=$1", 2, p,
                     err);
    if (rc)
        return rc;
    rec = cur;
    rec.status = PFS_DEV_REVOKED;
    before = pfs_rec_device_text(&cur);
    after = pfs_rec_device_text(&rec);
    if (!before || !after) {
        rc = pf_error_set(err, PF_ENOMEM, "store: out of memory");
        goto out;
    }
    a.actor = x->actor;
    a.ts_ms = x->now_ms;
    a.action = "device.revoke";
    a.target = x->serial;
    a.before = before;
    a.after = after;
    rc = pfs_pg_audit_write(pg, &a, err);
out:
    free(before);
    free(after);
    return rc;
}

int pfs_pg_device_revoke(struct pfs_pg_store *st, const char *serial, const struct pfs_actor *actor,
                         int64_t now_ms, struct pf_error *err)
{
    struct devices__revoke x = {serial, actor, now_ms};

    return pfs_pg_store_tx(st, PFS_PG_READ_COMMITTED, 0, devices__revoke_fn, &x, err);
}

/* --- reads --- */

int pfs_pg_device_get(struct pfs_pg_store *st, const char *serial, struct pfs_device *d,
                      struct pfs_dev_state *s)
{
    return devices__get(st->pg, serial, d, s);
}

int pfs_pg_device_status(struct pfs_pg_store *st, const char *serial, enum pfs_dev_status *status)
{
    const char *p[1] = {serial};
    PGresult *res = NULL;
    int rc;

    if (pfs_pg_query(st->pg, "SELECT status FROM devices WHERE serial = $1", 1, p, &res, NULL))
        return PF_EIO;
    rc = PQntuples(res) == 1 ? 0 : PF_EUNKNOWN_SERIAL;
    if (rc == 0)
        *status = devices__status(res, 0, 0);
    PQclear(res);
    return rc;
}

int pfs_pg_device_list(struct pfs_pg_store *st, const struct pfs_dev_filter *f, pfs_device_cb cb,
                       void *ctx, bool *more)
{
    char sql[4096];
    size_t n;
    const char *binds[8];
    int nb = 0, rc = 0, rows;
    bool seen_only, by_alert;
    const char *key, *from;
    PGresult *res = NULL;

    *more = false;
    /* The SQLite backend's plan: filters that need a latest state start from
     * device_state, an alert filter alone from the open alerts. */
    seen_only = f->conn == PFS_FILTER_ONLINE || f->conn == PFS_FILTER_OFFLINE || f->fw;
    by_alert = !seen_only && f->alert;
    key = seen_only ? "s" : by_alert ? "a" : "d";
    if (seen_only)
        from = " FROM device_state s JOIN devices d ON d.serial = s.serial" DEV_JOINS;
    else if (by_alert)
        from = " FROM alerts a JOIN devices d ON d.serial = a.serial"
               " LEFT JOIN device_state s ON s.serial = d.serial" DEV_JOINS;
    else
        from = DEV_FROM;
    n = (size_t)snprintf(sql, sizeof(sql), "SELECT " DEV_COLS "%s WHERE true", from);
    switch (f->conn) {
    case PFS_FILTER_ONLINE:
        n += (size_t)snprintf(sql + n, sizeof(sql) - n, " AND d.status='registered' AND s.online");
        break;
    case PFS_FILTER_OFFLINE:
        n += (size_t)snprintf(sql + n, sizeof(sql) - n,
                              " AND d.status='registered' AND s.serial IS NOT NULL"
                              " AND NOT s.online");
        break;
    case PFS_FILTER_NEVER:
        n += (size_t)snprintf(sql + n, sizeof(sql) - n,
                              " AND d.status='registered' AND s.serial IS NULL");
        break;
    case PFS_FILTER_REVOKED:
        n += (size_t)snprintf(sql + n, sizeof(sql) - n, " AND d.status='revoked'");
        break;
    case PFS_FILTER_ANY:
        break;
    }
    if (f->model) {
        n += (size_t)snprintf(sql + n, sizeof(sql) - n, " AND d.model = $%d", nb + 1);
        binds[nb++] = f->model;
    }
    if (f->fw) {
        n += (size_t)snprintf(sql + n, sizeof(sql) - n, " AND s.fw_version = $%d", nb + 1);
        binds[nb++] = f->fw;
    }
    if (f->alert && by_alert) {
        n += (size_t)snprintf(sql + n, sizeof(sql) - n, " AND a.kind = $%d AND a.closed_ms IS NULL",
                              nb + 1);
        binds[nb++] = f->alert;
    } else if (f->alert) {
        n += (size_t)snprintf(sql + n, sizeof(sql) - n,
                              " AND EXISTS (SELECT 1 FROM alerts a WHERE a.serial = d.serial"
                              " AND a.kind = $%d AND a.closed_ms IS NULL)",
                              nb + 1);
        binds[nb++] = f->alert;
    }
    if (!pfs_scope_all(f->scope)) {
        n += (size_t)snprintf(sql + n, sizeof(sql) - n,
                              " AND EXISTS (SELECT 1 FROM terminals sc_t JOIN merchants sc_m"
                              " ON sc_m.id = sc_t.merchant_id JOIN orgs sc_o ON sc_o.id ="
                              " sc_m.org_id WHERE sc_t.serial = d.serial AND"
                              " substr(sc_o.path, 1, length($%d::text)) = $%d::text AND"
                              " ($%d::text IS NULL OR sc_t.merchant_id = $%d::text))",
                              nb + 1, nb + 1, nb + 2, nb + 2);
        binds[nb++] = f->scope->path;
        binds[nb++] = f->scope->merchant[0] ? f->scope->merchant : NULL;
    }
    if (f->after) {
        n += (size_t)snprintf(sql + n, sizeof(sql) - n, " AND %s.serial > $%d", key, nb + 1);
        binds[nb++] = f->after;
    }
    snprintf(sql + n, sizeof(sql) - n, " ORDER BY %s.serial LIMIT %d", key, f->limit + 1);
    if (pfs_pg_query(st->pg, sql, nb, binds, &res, NULL))
        return PF_EIO;
    rows = PQntuples(res);
    for (int r = 0; r < rows; r++) {
        struct pfs_device d;
        struct pfs_dev_state ds;

        if (r == f->limit) {
            *more = true;
            break;
        }
        devices__read(res, r, &d, &ds);
        rc = cb(ctx, &d, &ds, PQgetisnull(res, r, 39) ? NULL : PQgetvalue(res, r, 39));
        if (rc)
            break;
    }
    PQclear(res);
    return rc;
}

int pfs_pg_health_recent(struct pfs_pg_store *st, const char *serial, int n, pfs_health_cb cb,
                         void *ctx)
{
    char lim[PFS_PG_I64_LEN];
    const char *p[2] = {serial, pfs_pg_i64(lim, n)};
    PGresult *res = NULL;
    int rc = 0;

    if (pfs_pg_query(st->pg,
                     "SELECT seq, ts_ms, recv_ms, stored_ms, queued, battery_pct, charging,"
                     " net_type, signal_dbm, temp_c, storage_free_kb, mem_free_kb, uptime_s,"
                     " fw_version, fw_slot, fee_version, paper, tamper, selftest, err_reconnects,"
                     " err_queue_dropped, err_reader, err_printer, txn_count, txn_amount_minor,"
                     " currency FROM health WHERE serial = $1 ORDER BY id DESC LIMIT $2",
                     2, p, &res, NULL))
        return PF_EIO;
    for (int r = 0; r < PQntuples(res) && !rc; r++) {
        struct pfs_health_row row;
        struct pf_health *h = &row.h;

        memset(&row, 0, sizeof(row));
        h->seq = (uint32_t)pfs_pg_col_i64(res, r, 0);
        h->ts_ms = pfs_pg_col_i64(res, r, 1);
        row.recv_ms = pfs_pg_col_i64(res, r, 2);
        row.stored_ms = pfs_pg_col_i64(res, r, 3); /* NULL (0) in the open batch */
        h->queued = pfs_pg_col_bool(res, r, 4);
        h->battery_pct = (int)pfs_pg_col_i64(res, r, 5);
        h->charging = pfs_pg_col_bool(res, r, 6);
        h->net_type = (enum pf_net_type)pfs_pg_col_i64(res, r, 7);
        h->signal_dbm = (int)pfs_pg_col_i64(res, r, 8);
        h->temp_c = (int)pfs_pg_col_i64(res, r, 9);
        h->storage_free_kb = (uint64_t)pfs_pg_col_i64(res, r, 10);
        h->mem_free_kb = (uint64_t)pfs_pg_col_i64(res, r, 11);
        h->uptime_s = (uint64_t)pfs_pg_col_i64(res, r, 12);
        devices__text(res, r, 13, h->fw_version, sizeof(h->fw_version));
        h->fw_slot = devices__slot(res, r, 14);
        devices__text(res, r, 15, h->fee_version, sizeof(h->fee_version));
        h->paper = (enum pf_paper)pfs_pg_col_i64(res, r, 16);
        h->tamper = pfs_pg_col_bool(res, r, 17);
        devices__selftest(res, r, 18, h->selftest);
        h->err_reconnects = (uint32_t)pfs_pg_col_i64(res, r, 19);
        h->err_queue_dropped = (uint32_t)pfs_pg_col_i64(res, r, 20);
        h->err_reader = (uint32_t)pfs_pg_col_i64(res, r, 21);
        h->err_printer = (uint32_t)pfs_pg_col_i64(res, r, 22);
        h->txn_count = (uint32_t)pfs_pg_col_i64(res, r, 23);
        h->txn_amount_minor = (uint64_t)pfs_pg_col_i64(res, r, 24);
        devices__text(res, r, 25, h->currency, sizeof(h->currency));
        rc = cb(ctx, &row);
    }
    PQclear(res);
    return rc;
}

int pfs_pg_health_range(struct pfs_pg_store *st, const char *serial, int64_t from_ms, int64_t to_ms,
                        pfs_health_point_cb cb, void *ctx)
{
    char a[PFS_PG_I64_LEN], b[PFS_PG_I64_LEN];
    const char *p[3] = {serial, pfs_pg_i64(a, from_ms), pfs_pg_i64(b, to_ms)};
    PGresult *res = NULL;
    int rc = 0;

    if (pfs_pg_query(st->pg,
                     "SELECT ts_ms, battery_pct, signal_dbm, temp_c, storage_free_kb FROM health"
                     " WHERE serial = $1 AND ts_ms BETWEEN $2 AND $3",
                     3, p, &res, NULL))
        return PF_EIO;
    for (int r = 0; r < PQntuples(res) && !rc; r++) {
        struct pfs_health_point pt = {
                pfs_pg_col_i64(res, r, 0), pfs_pg_col_i64(res, r, 1), pfs_pg_col_i64(res, r, 2),
                pfs_pg_col_i64(res, r, 3), pfs_pg_col_i64(res, r, 4),
        };

        rc = cb(ctx, &pt);
    }
    PQclear(res);
    return rc;
}

int pfs_pg_alerts_in(struct pfs_pg_store *st, const struct pfs_scope *scope, const char *serial,
                     pfs_alert_cb cb, void *ctx)
{
    const char *p[3] = {serial && *serial ? serial : NULL, NULL, NULL};
    PGresult *res = NULL;
    int rc = 0;

    devices__scope(scope, &p[1], &p[2]);
    if (pfs_pg_query(st->pg,
                     "SELECT serial, kind, opened_ms, detail FROM alerts WHERE closed_ms IS NULL"
                     " AND ($1::text IS NULL OR serial = $1) AND " SCOPE_TERM(
                             "alerts.serial", "$2", "$3") " ORDER BY serial, kind",
                     3, p, &res, NULL))
        return PF_EIO;
    for (int r = 0; r < PQntuples(res) && !rc; r++) {
        struct pfs_alert a;

        memset(&a, 0, sizeof(a));
        devices__text(res, r, 0, a.serial, sizeof(a.serial));
        devices__text(res, r, 1, a.kind, sizeof(a.kind));
        a.opened_ms = pfs_pg_col_i64(res, r, 2);
        devices__text(res, r, 3, a.detail, sizeof(a.detail));
        rc = cb(ctx, &a);
    }
    PQclear(res);
    return rc;
}

int pfs_pg_alerts_open(struct pfs_pg_store *st, const char *serial, pfs_alert_cb cb, void *ctx)
{
    return pfs_pg_alerts_in(st, NULL, serial, cb, ctx);
}

/* One group of the summary; the scope binds at $1 and $2. */
static int devices__groups(struct pfs_pg_store *st, const struct pfs_scope *scope,
                           const char *group, const char *sql, int np, pfs_group_cb cb, void *ctx)
{
    const char *p[2];
    PGresult *res = NULL;
    int rc = 0;

    devices__scope(scope, &p[0], &p[1]);
    if (pfs_pg_query(st->pg, sql, np, p, &res, NULL))
        return PF_EIO;
    for (int r = 0; r < PQntuples(res) && !rc; r++)
        rc = cb(ctx, group, PQgetisnull(res, r, 0) ? "" : PQgetvalue(res, r, 0),
                pfs_pg_col_i64(res, r, 1));
    PQclear(res);
    return rc;
}

/* The summary inside a scope: counted row by row, where headquarters' reads
 * the counts kept per model and status. */
static int devices__summary_scoped(struct pfs_pg_store *st, const struct pfs_scope *scope,
                                   struct pfs_summary *sum, pfs_group_cb cb, void *ctx)
{
    const char *p[2];
    PGresult *res = NULL;
    int rc;

    devices__scope(scope, &p[0], &p[1]);
    if (pfs_pg_query(st->pg,
                     "SELECT count(*), count(*) FILTER (WHERE d.status = 'revoked'),"
                     " count(*) FILTER (WHERE d.status = 'registered' AND s.online),"
                     " count(*) FILTER (WHERE d.status = 'registered' AND NOT s.online)"
                     " FROM devices d LEFT JOIN device_state s ON s.serial = d.serial"
                     " WHERE " SCOPE_TERM("d.serial", "$1", "$2"),
                     2, p, &res, NULL))
        return PF_EIO;
    sum->total = pfs_pg_col_i64(res, 0, 0);
    sum->revoked = pfs_pg_col_i64(res, 0, 1);
    sum->online = pfs_pg_col_i64(res, 0, 2);
    sum->offline = pfs_pg_col_i64(res, 0, 3);
    sum->never_seen = sum->total - sum->revoked - sum->online - sum->offline;
    PQclear(res);
    if (!cb)
        return 0;
    rc = devices__groups(
            st, scope, "alerts",
            "SELECT kind, count(*) FROM alerts WHERE closed_ms IS NULL AND " SCOPE_TERM(
                    "alerts.serial", "$1", "$2") " GROUP BY kind ORDER BY kind",
            2, cb, ctx);
    if (!rc)
        rc = devices__groups(st, scope, "models",
                             "SELECT model, count(*) FROM devices d WHERE " SCOPE_TERM(
                                     "d.serial", "$1", "$2") " GROUP BY model ORDER BY model",
                             2, cb, ctx);
    if (!rc)
        rc = devices__groups(st, scope, "firmware",
                             "SELECT s.fw_version, count(*) FROM device_state s JOIN devices d"
                             " ON d.serial = s.serial WHERE s.fw_version IS NOT NULL"
                             " AND d.status = 'registered' AND " SCOPE_TERM(
                                     "d.serial", "$1", "$2") " GROUP BY s.fw_version ORDER BY 1",
                             2, cb, ctx);
    return rc;
}

int pfs_pg_summary(struct pfs_pg_store *st, struct pfs_summary *sum, pfs_group_cb cb, void *ctx)
{
    return pfs_pg_summary_in(st, NULL, sum, cb, ctx);
}

int pfs_pg_summary_in(struct pfs_pg_store *st, const struct pfs_scope *scope,
                      struct pfs_summary *sum, pfs_group_cb cb, void *ctx)
{
    PGresult *res = NULL;
    int rc;

    memset(sum, 0, sizeof(*sum));
    if (!pfs_scope_all(scope))
        return devices__summary_scoped(st, scope, sum, cb, ctx);
    /* Registry counts from the counts the trigger keeps; connection counts
     * from the terminals ever seen. */
    if (pfs_pg_query(st->pg, "SELECT status, sum(n) FROM device_counts GROUP BY status", 0, NULL,
                     &res, NULL))
        return PF_EIO;
    for (int r = 0; r < PQntuples(res); r++) {
        int64_t n = pfs_pg_col_i64(res, r, 1);

        sum->total += n;
        if (devices__status(res, r, 0) == PFS_DEV_REVOKED)
            sum->revoked += n;
    }
    PQclear(res);
    if (pfs_pg_query(st->pg,
                     "SELECT count(*) FILTER (WHERE s.online), count(*) FILTER (WHERE NOT s.online)"
                     " FROM device_state s JOIN devices d ON d.serial = s.serial"
                     " WHERE d.status = 'registered'",
                     0, NULL, &res, NULL))
        return PF_EIO;
    sum->online = pfs_pg_col_i64(res, 0, 0);
    sum->offline = pfs_pg_col_i64(res, 0, 1);
    sum->never_seen = sum->total - sum->revoked - sum->online - sum->offline;
    PQclear(res);
    if (!cb)
        return 0;
    rc = devices__groups(st, NULL, "alerts",
                         "SELECT kind, count(*) FROM alerts WHERE closed_ms IS NULL GROUP BY kind"
                         " ORDER BY kind",
                         0, cb, ctx);
    if (!rc)
        rc = devices__groups(
                st, NULL, "models",
                "SELECT model, sum(n) FROM device_counts GROUP BY model ORDER BY model", 0, cb,
                ctx);
    if (!rc)
        rc = devices__groups(st, NULL, "firmware",
                             "SELECT s.fw_version, count(*) FROM device_state s JOIN devices d"
                             " ON d.serial = s.serial WHERE s.fw_version IS NOT NULL AND"
                             " d.status = 'registered' GROUP BY s.fw_version ORDER BY 1",
                             0, cb, ctx);
    return rc;
}

int pfs_pg_fee_tables_in(struct pfs_pg_store *st, const struct pfs_scope *scope,
                         pfs_fee_group_cb cb, void *ctx)
{
    static const char *const sql[2] = {
            "SELECT s.fee_version, 0, count(*) FROM device_state s JOIN devices d"
            " ON d.serial = s.serial WHERE s.fee_version IS NOT NULL AND s.fee_version != ''"
            " AND d.status = 'registered' AND " SCOPE_TERM("d.serial", "$1",
                                                           "$2") " GROUP BY 1 ORDER BY 1",
            "SELECT s.fee_pending, s.fee_pending_at, count(*) FROM device_state s JOIN"
            " devices d ON d.serial = s.serial WHERE s.fee_pending IS NOT NULL AND"
            " d.status = 'registered' AND " SCOPE_TERM("d.serial", "$1",
                                                       "$2") " GROUP BY 2, 1 ORDER BY 2, 1",
    };
    const char *p[2];
    int rc = 0;

    devices__scope(scope, &p[0], &p[1]);
    for (int pending = 0; pending < 2 && !rc; pending++) {
        PGresult *res = NULL;

        if (pfs_pg_query(st->pg, sql[pending], 2, p, &res, NULL))
            return PF_EIO;
        for (int r = 0; r < PQntuples(res) && !rc; r++)
            rc = cb(ctx, PQgetvalue(res, r, 0), pending != 0, pfs_pg_col_i64(res, r, 1),
                    pfs_pg_col_i64(res, r, 2));
        PQclear(res);
    }
    return rc;
}

int pfs_pg_fee_tables(struct pfs_pg_store *st, pfs_fee_group_cb cb, void *ctx)
{
    return pfs_pg_fee_tables_in(st, NULL, cb, ctx);
}

int pfs_pg_audit_list(struct pfs_pg_store *st, const char *target, int64_t before_id, int limit,
                      pfs_audit_cb cb, void *ctx)
{
    char lim[PFS_PG_I64_LEN], before[PFS_PG_I64_LEN];
    const char *p[3] = {target && *target ? target : NULL, pfs_pg_i64(lim, limit),
                        pfs_pg_i64(before, before_id)};
    PGresult *res = NULL;
    int rc = 0;

    if (pfs_pg_query(st->pg,
                     "SELECT id, ts_ms, actor, role, action, target, before, after FROM audit"
                     " WHERE ($1::text IS NULL OR target = $1) AND ($3::bigint <= 0 OR id < $3)"
                     " ORDER BY id DESC LIMIT $2",
                     3, p, &res, NULL))
        return PF_EIO;
    for (int r = 0; r < PQntuples(res) && !rc; r++) {
        struct pfs_audit a;

        memset(&a, 0, sizeof(a));
        a.id = pfs_pg_col_i64(res, r, 0);
        a.ts_ms = pfs_pg_col_i64(res, r, 1);
        devices__text(res, r, 2, a.actor, sizeof(a.actor));
        devices__text(res, r, 3, a.role, sizeof(a.role));
        devices__text(res, r, 4, a.action, sizeof(a.action));
        devices__text(res, r, 5, a.target, sizeof(a.target));
        a.before = PQgetisnull(res, r, 6) ? NULL : PQgetvalue(res, r, 6);
        a.after = PQgetisnull(res, r, 7) ? NULL : PQgetvalue(res, r, 7);
        rc = cb(ctx, &a);
    }
    PQclear(res);
    return rc;
}

int pfs_pg_seen_each(struct pfs_pg_store *st, pfs_seen_cb cb, void *ctx)
{
    PGresult *res = NULL;
    int rc = 0;

    if (pfs_pg_query(st->pg,
                     "SELECT s.serial, d.status, s.online, s.last_seen_ms, s.health_seq,"
                     " s.health_ts_ms FROM device_state s JOIN devices d ON d.serial = s.serial",
                     0, NULL, &res, NULL))
        return PF_EIO;
    for (int r = 0; r < PQntuples(res) && !rc; r++) {
        struct pfs_seen x;

        memset(&x, 0, sizeof(x));
        x.serial = PQgetvalue(res, r, 0);
        x.status = devices__status(res, r, 1);
        x.online = pfs_pg_col_bool(res, r, 2);
        x.last_seen_ms = pfs_pg_col_i64(res, r, 3);
        x.have_health = !PQgetisnull(res, r, 4);
        x.health_seq = (uint32_t)pfs_pg_col_i64(res, r, 4);
        x.health_ts_ms = pfs_pg_col_i64(res, r, 5);
        rc = cb(ctx, &x);
    }
    PQclear(res);
    return rc;
}

int pfs_pg_health_count(struct pfs_pg_store *st, const char *serial, int64_t *n)
{
    const char *p[1] = {serial};
    PGresult *res = NULL;

    if (pfs_pg_query(st->pg, "SELECT count(*) FROM health WHERE serial = $1", 1, p, &res, NULL))
        return PF_EIO;
    *n = pfs_pg_col_i64(res, 0, 0);
    PQclear(res);
    return 0;
}
