/*
 * pg_accounts.c - the PostgreSQL backend of store_accounts.h: organisations,
 * users, sessions, API tokens, support requests and the scope checks, twins
 * of server/store/sqlite/store_accounts.c (same results, errors and audit
 * rows; the JSON of the audit rows is built the same way, with jansson's
 * sorted compact dump).
 *
 * Writes: each call that is one transaction on SQLite is one pfs_pg_tx() body
 * here, READ COMMITTED. The body decides from what it reads inside the
 * transaction and keeps nothing outside it until pfs_pg_tx() returned 0, so
 * running it again after a lost session is harmless. Where SQLite's single
 * writer made "max(id) + 1" safe (organisations, API tokens and support
 * requests have SQLite's INTEGER PRIMARY KEY ids, which a failed insert does
 * not consume and which the audit rows name), the body first takes the
 * table's SHARE ROW EXCLUSIVE lock: it excludes another such writer (another
 * instance adding at the same moment waits) and not the readers. A
 * sequence would skip numbers after a refused insert, and the ids would then
 * differ from SQLite's.
 *
 * Uniqueness is answered by "ON CONFLICT DO NOTHING RETURNING": no row back
 * is SQLite's SQLITE_CONSTRAINT (PF_EEXIST), without an aborted statement.
 */
#include "store/postgres/pg_accounts.h"

#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lifecycle/merchant.h"
#include "lifecycle/repair.h"

void pfs_pg_scope_params(const struct pfs_scope *scope, const char **path, const char **merchant)
{
    if (pfs_scope_all(scope)) {
        *path = NULL;
        *merchant = NULL;
        return;
    }
    *path = scope->path;
    *merchant = scope->merchant[0] ? scope->merchant : NULL;
}

const char *pfs_pg_hash_param(char buf[PFS_PG_HASH_LEN], const uint8_t hash[PFS_SECRET_HASH])
{
    buf[0] = '\\';
    buf[1] = 'x';
    sodium_bin2hex(buf + 2, PFS_PG_HASH_LEN - 2, hash, PFS_SECRET_HASH);
    return buf;
}

void pfs_pg_acc_text(const PGresult *res, int r, int c, char *buf, size_t len)
{
    snprintf(buf, len, "%s", PQgetisnull(res, r, c) ? "" : PQgetvalue(res, r, c));
}

/* A read on the store's session. Outside a transaction a session found lost
 * is reconnected once and the read run again (a read has no effect to
 * repeat); inside one, the loss is the transaction's to report. */
static int acc__read(struct pfs_pg_store *st, const char *sql, int n, const char *const *p,
                     PGresult **res)
{
    int rc = pfs_pg_query(st->pg, sql, n, p, res, NULL);

    if (rc == PF_ECONN && !st->tx.open && pfs_pg_reconnect(st->pg, NULL) == 0)
        rc = pfs_pg_query(st->pg, sql, n, p, res, NULL);
    return rc;
}

/* One administrative transaction: refused while a transaction of
 * pfs_pg_tx_begin() is open, as pfs_sqlite_begin() refuses it. */
static int acc__tx(struct pfs_pg_store *st, pfs_pg_tx_fn fn, void *ctx, struct pf_error *err)
{
    if (st->tx.open)
        return pf_error_set(err, PF_ESTATE, "store: a transaction is open already");
    return pfs_pg_store_tx(st, PFS_PG_READ_COMMITTED, 0, fn, ctx, err);
}

/* The audit row of a change: SQLite's acc__audit (sorted compact JSON; the
 * references are the merchant's). Consumes before and after. */
static int acc__audit(struct pfs_pg *pg, const struct pfs_actor *actor, int64_t now_ms,
                      const char *action, const char *target, json_t *before, json_t *after,
                      const char *merchant, struct pf_error *err)
{
    char *b = before ? json_dumps(before, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    char *a = after ? json_dumps(after, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    struct pfs_pg_audit row = {actor, now_ms, action, target, b, a, NULL, NULL, merchant};
    int rc = (before && !b) || (after && !a) ? PF_ENOMEM : pfs_pg_audit_write(pg, &row, err);

    free(b);
    free(a);
    json_decref(before);
    json_decref(after);
    return rc;
}

/* A statement whose rows only say whether it did something: *n rows. */
static int acc__rows(struct pfs_pg *pg, const char *sql, int np, const char *const *p, int *n,
                     struct pf_error *err)
{
    PGresult *res = NULL;
    int rc = pfs_pg_query(pg, sql, np, p, &res, err);

    if (rc)
        return rc;
    *n = PQntuples(res);
    PQclear(res);
    return 0;
}

/* Takes a table's lock for a "max(id) + 1" insert (see the top). */
static int acc__lock(struct pfs_pg *pg, const char *table, struct pf_error *err)
{
    char sql[96];

    snprintf(sql, sizeof(sql), "LOCK TABLE %s IN SHARE ROW EXCLUSIVE MODE", table);
    return pfs_pg_exec(pg, sql, 0, NULL, err);
}

/* --- merchants as the lists read them --- */

void pfs_pg_acc_merchant_read(const PGresult *res, int r, struct pfs_merchant *m)
{
    const char *v;

    memset(m, 0, sizeof(*m));
    pfs_pg_acc_text(res, r, 0, m->id, sizeof(m->id));
    pfs_pg_acc_text(res, r, 1, m->name, sizeof(m->name));
    pfs_pg_acc_text(res, r, 2, m->uscc, sizeof(m->uscc));
    pfs_pg_acc_text(res, r, 3, m->mcc, sizeof(m->mcc));
    pfs_pg_acc_text(res, r, 4, m->address, sizeof(m->address));
    pfs_pg_acc_text(res, r, 5, m->contact_name, sizeof(m->contact_name));
    pfs_pg_acc_text(res, r, 6, m->contact_phone, sizeof(m->contact_phone));
    pfs_pg_acc_text(res, r, 7, m->tz, sizeof(m->tz));
    m->settlement = strcmp(PQgetvalue(res, r, 8), "T0") == 0 ? PFS_SETTLE_T0 : PFS_SETTLE_T1;
    if (pfs_merchant_fee_plan_parse(PQgetvalue(res, r, 9), m) != 0)
        m->nfees = 0;
    v = PQgetvalue(res, r, 10);
    for (int i = 0; pfs_merchant_status_names[i]; i++) {
        if (strcmp(v, pfs_merchant_status_names[i]) == 0)
            m->status = (enum pfs_merchant_status)i;
    }
    m->created_ms = pfs_pg_col_i64(res, r, 11);
    m->updated_ms = pfs_pg_col_i64(res, r, 12);
    pfs_pg_acc_text(res, r, 13, m->region, sizeof(m->region));
    pfs_pg_acc_text(res, r, 14, m->review_reason, sizeof(m->review_reason));
}

/* --- organisations --- */

#define ORG_COLS "id, name, kind, coalesce(parent, 0), path, created_ms"

static void acc__org_read(const PGresult *res, int r, struct pfs_org *o)
{
    memset(o, 0, sizeof(*o));
    o->id = pfs_pg_col_i64(res, r, 0);
    pfs_pg_acc_text(res, r, 1, o->name, sizeof(o->name));
    o->kind = strcmp(PQgetvalue(res, r, 2), "agent") == 0 ? PFS_ORG_AGENT : PFS_ORG_HQ;
    o->parent = pfs_pg_col_i64(res, r, 3);
    pfs_pg_acc_text(res, r, 4, o->path, sizeof(o->path));
    o->created_ms = pfs_pg_col_i64(res, r, 5);
}

/* The path parameter of an organisation read: merchant users see none ("-"
 * matches no path), headquarters everything (NULL), others their subtree. */
static const char *acc__org_scope(const struct pfs_scope *scope)
{
    if (scope && scope->merchant[0])
        return "-";
    return pfs_scope_all(scope) ? NULL : scope->path;
}

int pfs_pg_org_get(struct pfs_pg_store *st, const struct pfs_scope *scope, int64_t id,
                   const char *name, struct pfs_org *out)
{
    char b[PFS_PG_I64_LEN];
    const char *p[3] = {pfs_pg_i64(b, id), name ? name : "", acc__org_scope(scope)};
    PGresult *res = NULL;
    int rc;

    rc = acc__read(st,
                   "SELECT " ORG_COLS " FROM orgs WHERE ($1::bigint = 0 OR id = $1::bigint) AND"
                   " ($1::bigint <> 0 OR name = $2) AND " PFS_PG_SCOPE_PATH("path", "$3"),
                   3, p, &res);
    if (rc)
        return rc;
    rc = PQntuples(res) > 0 ? 0 : PF_ENOENT;
    if (!rc)
        acc__org_read(res, 0, out);
    PQclear(res);
    return rc;
}

int pfs_pg_org_list(struct pfs_pg_store *st, const struct pfs_scope *scope, pfs_org_cb cb,
                    void *ctx)
{
    const char *p[1] = {acc__org_scope(scope)};
    PGresult *res = NULL;
    struct pfs_org o;
    int rc;

    rc = acc__read(st,
                   "SELECT " ORG_COLS " FROM orgs WHERE " PFS_PG_SCOPE_PATH(
                           "path", "$1") " ORDER BY path COLLATE \"C\"",
                   1, p, &res);
    if (rc)
        return rc;
    for (int r = 0; r < PQntuples(res) && !rc; r++) {
        acc__org_read(res, r, &o);
        rc = cb(ctx, &o);
    }
    PQclear(res);
    return rc;
}

struct org_add_ctx {
    const char *name;
    const struct pfs_org *parent;
    const struct pfs_actor *actor;
    int64_t now_ms;
    int64_t id; /* out */
};

static int org_add_body(void *vctx, struct pfs_pg *pg, int attempt, struct pf_error *err)
{
    struct org_add_ctx *c = vctx;
    char path[PFS_ORG_PATH_MAX + 1], bi[PFS_PG_I64_LEN], bp[PFS_PG_I64_LEN], bn[PFS_PG_I64_LEN];
    PGresult *res = NULL;
    int rc, n = 0;

    (void)attempt;
    rc = acc__lock(pg, "orgs", err);
    if (!rc)
        rc = pfs_pg_query(pg, "SELECT coalesce(max(id), 0) + 1 FROM orgs", 0, NULL, &res, err);
    if (rc)
        return rc;
    c->id = pfs_pg_col_i64(res, 0, 0);
    PQclear(res);
    if ((size_t)snprintf(path, sizeof(path), "%s%lld/", c->parent->path, (long long)c->id) >=
        sizeof(path))
        return pf_error_set(err, PF_ETOOBIG, "organisation tree too deep");
    {
        const char *p[5] = {pfs_pg_i64(bi, c->id), c->name, pfs_pg_i64(bp, c->parent->id), path,
                            pfs_pg_i64(bn, c->now_ms)};

        rc = acc__rows(pg,
                       "INSERT INTO orgs (id, name, kind, parent, path, created_ms)"
                       " VALUES ($1, $2, 'agent', $3, $4, $5) ON CONFLICT DO NOTHING RETURNING id",
                       5, p, &n, err);
    }
    if (!rc && n == 0)
        rc = pf_error_set(err, PF_EEXIST, "organisation %s exists", c->name);
    if (!rc)
        rc = acc__audit(pg, c->actor, c->now_ms, "org.add", c->name, NULL,
                        json_pack("{s:I, s:s, s:s, s:I}", "id", (json_int_t)c->id, "name", c->name,
                                  "path", path, "parent", (json_int_t)c->parent->id),
                        NULL, err);
    return rc;
}

int pfs_pg_org_add(struct pfs_pg_store *st, const struct pfs_scope *scope, const char *name,
                   int64_t parent, const struct pfs_actor *actor, int64_t now_ms,
                   struct pfs_org *out, struct pf_error *err)
{
    struct pfs_org p;
    struct org_add_ctx c = {name, &p, actor, now_ms, 0};
    int rc;

    rc = pfs_pg_org_get(st, scope, parent, NULL, &p);
    if (rc)
        return pf_error_set(err, rc, "parent organisation %lld %s", (long long)parent,
                            rc == PF_ENOENT ? "does not exist" : "unreadable");
    rc = acc__tx(st, org_add_body, &c, err);
    if (!rc)
        rc = pfs_pg_org_get(st, NULL, c.id, NULL, out);
    return rc;
}

/* --- the scoped lists --- */

int pfs_pg_merchant_list_in(struct pfs_pg_store *st, const struct pfs_scope *scope, int status,
                            const char *after, int limit, pfs_merchant_cb cb, void *ctx, bool *more)
{
    char bl[PFS_PG_I64_LEN];
    const char *p[5] = {status >= 0 ? pfs_merchant_status_names[status] : NULL, after,
                        pfs_pg_i64(bl, (int64_t)limit + 1), NULL, NULL};
    struct pfs_merchant m;
    PGresult *res = NULL;
    int rc;

    *more = false;
    pfs_pg_scope_params(scope, &p[3], &p[4]);
    rc = acc__read(st,
                   "SELECT " PFS_PG_MERCHANT_COLS(
                           "") " FROM merchants WHERE ($1::text IS NULL OR"
                               " status = $1::text) AND ($2::text IS NULL OR id > $2::text) "
                               "AND " PFS_PG_SCOPE_MERCHANT("merchants.id", "$4",
                                                            "$5") " ORDER BY id LIMIT $3::bigint",
                   5, p, &res);
    if (rc)
        return rc;
    for (int r = 0; r < PQntuples(res) && !rc; r++) {
        if (r == limit) {
            *more = true;
            break;
        }
        pfs_pg_acc_merchant_read(res, r, &m);
        rc = cb(ctx, &m);
    }
    PQclear(res);
    return rc;
}

/* A nullable column: NULL for SQL NULL, and an integer PFS_VIEW_NULL. */
static const char *acc__ctext(const PGresult *res, int r, int c)
{
    return PQgetisnull(res, r, c) ? NULL : PQgetvalue(res, r, c);
}

static int64_t acc__cint(const PGresult *res, int r, int c)
{
    return PQgetisnull(res, r, c) ? PFS_VIEW_NULL : pfs_pg_col_i64(res, r, c);
}

/* A jsonb array printed compact, as SQLite keeps what was written (heap;
 * NULL when it cannot be). */
static char *acc__compact(const char *text)
{
    json_t *j = text ? json_loads(text, JSON_DECODE_ANY, NULL) : NULL;
    char *out = j ? json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;

    json_decref(j);
    return out;
}

int pfs_pg_repair_list_in(struct pfs_pg_store *st, const struct pfs_scope *scope,
                          const char *serial, int state, int limit, pfs_repair_view_cb cb,
                          void *ctx)
{
    char bl[PFS_PG_I64_LEN];
    const char *p[6] = {serial,
                        state >= 0 ? pfs_repair_state_names[state] : NULL,
                        state == -2 ? "1" : "0",
                        pfs_pg_i64(bl, limit),
                        NULL,
                        NULL};
    PGresult *res = NULL;
    int rc;

    pfs_pg_scope_params(scope, &p[4], &p[5]);
    /* A repair is its merchant's when it has one (the terminal may have been
     * swapped out and unbound since), else its terminal's. */
    rc = acc__read(st,
                   "SELECT id, serial, state, source, reason, merchant_id, replaced_by,"
                   " fault_codes::text, parts::text, notes, snapshot, opened_ms, received_ms,"
                   " diagnosed_ms, repaired_ms, closed_ms, updated_ms FROM repairs WHERE"
                   " ($1::text IS NULL OR serial = $1::text) AND ($2::text IS NULL OR state ="
                   " $2::text) AND ($3::int = 0 OR closed_ms IS NULL) AND (CASE WHEN merchant_id"
                   " IS NOT NULL THEN " PFS_PG_SCOPE_MERCHANT(
                           "merchant_id", "$5",
                           "$6") " ELSE " PFS_PG_SCOPE_TERM("serial", "$5",
                                                            "$6") " END) ORDER BY id DESC LIMIT"
                                                                  " $4::bigint",
                   6, p, &res);
    if (rc)
        return rc;
    for (int r = 0; r < PQntuples(res) && !rc; r++) {
        char *faults = acc__compact(acc__ctext(res, r, 7));
        char *parts = acc__compact(acc__ctext(res, r, 8));
        struct pfs_repair_view v = {
                .id = pfs_pg_col_i64(res, r, 0),
                .serial = acc__ctext(res, r, 1),
                .state = acc__ctext(res, r, 2),
                .source = acc__ctext(res, r, 3),
                .reason = acc__ctext(res, r, 4),
                .merchant_id = acc__ctext(res, r, 5),
                .replaced_by = acc__ctext(res, r, 6),
                .fault_codes = faults ? faults : acc__ctext(res, r, 7),
                .parts = parts ? parts : acc__ctext(res, r, 8),
                .notes = acc__ctext(res, r, 9),
                .snapshot = acc__ctext(res, r, 10),
                .opened_ms = pfs_pg_col_i64(res, r, 11),
                .received_ms = acc__cint(res, r, 12),
                .diagnosed_ms = acc__cint(res, r, 13),
                .repaired_ms = acc__cint(res, r, 14),
                .closed_ms = acc__cint(res, r, 15),
                .updated_ms = pfs_pg_col_i64(res, r, 16),
        };

        rc = cb(ctx, &v);
        free(faults);
        free(parts);
    }
    PQclear(res);
    return rc;
}

int pfs_pg_merchant_org(struct pfs_pg_store *st, const char *merchant, int64_t *org_id)
{
    const char *p[1] = {merchant};
    PGresult *res = NULL;
    int rc = acc__read(st, "SELECT org_id FROM merchants WHERE id = $1", 1, p, &res);

    if (rc)
        return rc;
    rc = PQntuples(res) > 0 ? 0 : PF_ENOENT;
    if (!rc)
        *org_id = pfs_pg_col_i64(res, 0, 0);
    PQclear(res);
    return rc;
}

struct merchant_org_ctx {
    const char *merchant;
    int64_t from, to;
    const char *org;
    const struct pfs_actor *actor;
    int64_t now_ms;
};

static int merchant_org_body(void *vctx, struct pfs_pg *pg, int attempt, struct pf_error *err)
{
    struct merchant_org_ctx *c = vctx;
    char b[PFS_PG_I64_LEN];
    const char *p[2] = {c->merchant, pfs_pg_i64(b, c->to)};
    int rc;

    (void)attempt;
    rc = pfs_pg_exec(pg, "UPDATE merchants SET org_id = $2 WHERE id = $1", 2, p, err);
    if (!rc)
        rc = acc__audit(pg, c->actor, c->now_ms, "merchant.org", c->merchant,
                        json_pack("{s:I}", "org_id", (json_int_t)c->from),
                        json_pack("{s:I, s:s}", "org_id", (json_int_t)c->to, "org", c->org),
                        c->merchant, err);
    return rc;
}

int pfs_pg_merchant_set_org(struct pfs_pg_store *st, const struct pfs_scope *scope,
                            const char *merchant, int64_t org_id, const struct pfs_actor *actor,
                            int64_t now_ms, struct pf_error *err)
{
    struct pfs_org o;
    struct merchant_org_ctx c = {merchant, 0, org_id, NULL, actor, now_ms};
    int rc;

    if (pfs_pg_scope_merchant(st, scope, merchant) != 0 ||
        pfs_pg_merchant_org(st, merchant, &c.from) != 0)
        return pf_error_set(err, PF_ENOENT, "merchant %s does not exist", merchant);
    rc = pfs_pg_org_get(st, scope, org_id, NULL, &o);
    if (rc)
        return pf_error_set(err, PF_ENOENT, "organisation %lld does not exist", (long long)org_id);
    c.org = o.name;
    return acc__tx(st, merchant_org_body, &c, err);
}

/* --- users --- */

#define USER_COLS                                                                                  \
    "u.name, u.pwhash, u.role, u.org_id, o.name, o.path, coalesce(u.merchant_id, ''), u.failed,"   \
    " u.locked_until_ms, u.created_ms, u.disabled_ms"
#define USER_NCOLS 11
#define USER_FROM  " FROM users u JOIN orgs o ON o.id = u.org_id"
/* A user lies inside a scope when its organisation does (and, for a
 * merchant user's scope, when it is that merchant's user). */
#define USER_IN_SCOPE(P, M)                                                                        \
    " AND " PFS_PG_SCOPE_PATH("o.path", P) " AND (" M "::text IS NULL OR u.merchant_id = " M       \
                                           "::text)"

static void acc__user_read(const PGresult *res, int r, int c, struct pfs_user_rec *u)
{
    memset(u, 0, sizeof(*u));
    pfs_pg_acc_text(res, r, c + 0, u->name, sizeof(u->name));
    pfs_pg_acc_text(res, r, c + 1, u->pwhash, sizeof(u->pwhash));
    pfs_pg_acc_text(res, r, c + 2, u->role, sizeof(u->role));
    u->org_id = pfs_pg_col_i64(res, r, c + 3);
    pfs_pg_acc_text(res, r, c + 4, u->org, sizeof(u->org));
    pfs_pg_acc_text(res, r, c + 5, u->org_path, sizeof(u->org_path));
    pfs_pg_acc_text(res, r, c + 6, u->merchant, sizeof(u->merchant));
    u->failed = pfs_pg_col_i64(res, r, c + 7);
    u->locked_until_ms = pfs_pg_col_i64(res, r, c + 8);
    u->created_ms = pfs_pg_col_i64(res, r, c + 9);
    u->disabled_ms = pfs_pg_col_i64(res, r, c + 10);
}

int pfs_pg_user_get(struct pfs_pg_store *st, const struct pfs_scope *scope, const char *name,
                    struct pfs_user_rec *out)
{
    const char *p[3] = {name, NULL, NULL};
    PGresult *res = NULL;
    int rc;

    pfs_pg_scope_params(scope, &p[1], &p[2]);
    rc = acc__read(st, "SELECT " USER_COLS USER_FROM " WHERE u.name = $1" USER_IN_SCOPE("$2", "$3"),
                   3, p, &res);
    if (rc)
        return rc;
    rc = PQntuples(res) > 0 ? 0 : PF_ENOENT;
    if (!rc)
        acc__user_read(res, 0, 0, out);
    PQclear(res);
    return rc;
}

int pfs_pg_user_list(struct pfs_pg_store *st, const struct pfs_scope *scope, pfs_user_cb cb,
                     void *ctx)
{
    const char *p[2] = {NULL, NULL};
    PGresult *res = NULL;
    struct pfs_user_rec u;
    int rc;

    pfs_pg_scope_params(scope, &p[0], &p[1]);
    rc = acc__read(st,
                   "SELECT " USER_COLS USER_FROM
                   " WHERE true" USER_IN_SCOPE("$1", "$2") " ORDER BY u.name COLLATE \"C\"",
                   2, p, &res);
    if (rc)
        return rc;
    for (int r = 0; r < PQntuples(res) && !rc; r++) {
        acc__user_read(res, r, 0, &u);
        u.pwhash[0] = '\0';
        rc = cb(ctx, &u);
    }
    PQclear(res);
    return rc;
}

struct user_add_ctx {
    const struct pfs_user_rec *u;
    const char *org;
    const struct pfs_actor *actor;
    int64_t now_ms;
};

static int user_add_body(void *vctx, struct pfs_pg *pg, int attempt, struct pf_error *err)
{
    struct user_add_ctx *c = vctx;
    const struct pfs_user_rec *u = c->u;
    const char *merchant = u->merchant[0] ? u->merchant : NULL;
    char bo[PFS_PG_I64_LEN], bn[PFS_PG_I64_LEN];
    const char *p[6] = {u->name,  u->pwhash,
                        u->role,  pfs_pg_i64(bo, u->org_id),
                        merchant, pfs_pg_i64(bn, c->now_ms)};
    int rc, n = 0;

    (void)attempt;
    rc = acc__rows(pg,
                   "INSERT INTO users (name, pwhash, role, org_id, merchant_id, created_ms)"
                   " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING RETURNING 1",
                   6, p, &n, err);
    if (!rc && n == 0)
        rc = pf_error_set(err, PF_EEXIST, "user %s exists", u->name);
    if (!rc)
        rc = acc__audit(pg, c->actor, c->now_ms, "user.add", u->name, NULL,
                        json_pack("{s:s, s:s, s:s, s:s?}", "name", u->name, "role", u->role, "org",
                                  c->org, "merchant", merchant),
                        merchant, err);
    return rc;
}

int pfs_pg_user_add(struct pfs_pg_store *st, const struct pfs_scope *scope,
                    const struct pfs_user_rec *u, const struct pfs_actor *actor, int64_t now_ms,
                    struct pf_error *err)
{
    struct pfs_org o;
    struct user_add_ctx c = {u, NULL, actor, now_ms};

    if (pfs_pg_org_get(st, scope, u->org_id, NULL, &o) != 0)
        return pf_error_set(err, PF_ENOENT, "organisation %lld does not exist",
                            (long long)u->org_id);
    if (u->merchant[0]) {
        int64_t morg = 0;

        if (pfs_pg_scope_merchant(st, scope, u->merchant) != 0 ||
            pfs_pg_merchant_org(st, u->merchant, &morg) != 0)
            return pf_error_set(err, PF_ENOENT, "merchant %s does not exist", u->merchant);
        if (morg != u->org_id)
            return pf_error_set(err, PF_EINVAL,
                                "merchant %s belongs to another organisation than %s", u->merchant,
                                o.name);
    }
    c.org = o.name;
    return acc__tx(st, user_add_body, &c, err);
}

struct login_ctx {
    const char *name;
    enum pfs_login_outcome outcome;
    int64_t locked_until_ms;
    const struct pfs_actor *actor;
    int64_t now_ms;
};

static int login_body(void *vctx, struct pfs_pg *pg, int attempt, struct pf_error *err)
{
    static const char *const actions[] = {"login", "login.failed", "login.locked", "login.refused"};
    struct login_ctx *c = vctx;
    char b[PFS_PG_I64_LEN];
    const char *p[2] = {c->name, pfs_pg_i64(b, c->locked_until_ms)};
    int rc = 0;

    (void)attempt;
    if (c->outcome == PFS_LOGIN_OK)
        rc = pfs_pg_exec(pg, "UPDATE users SET failed = 0, locked_until_ms = 0 WHERE name = $1", 1,
                         p, err);
    else if (c->outcome != PFS_LOGIN_REFUSED)
        rc = pfs_pg_exec(pg,
                         "UPDATE users SET failed = failed + 1, locked_until_ms ="
                         " greatest(locked_until_ms, $2::bigint) WHERE name = $1",
                         2, p, err);
    if (!rc)
        rc = acc__audit(pg, c->actor, c->now_ms, actions[c->outcome], c->name, NULL,
                        c->locked_until_ms > 0 ? json_pack("{s:I}", "locked_until_ms",
                                                           (json_int_t)c->locked_until_ms)
                                               : NULL,
                        NULL, err);
    return rc;
}

int pfs_pg_user_login_result(struct pfs_pg_store *st, const char *name,
                             enum pfs_login_outcome outcome, int64_t locked_until_ms,
                             const struct pfs_actor *actor, int64_t now_ms, struct pf_error *err)
{
    struct login_ctx c = {name, outcome, locked_until_ms, actor, now_ms};

    return acc__tx(st, login_body, &c, err);
}

struct password_ctx {
    const char *name, *pwhash;
    const uint8_t *keep;
    const struct pfs_actor *actor;
    int64_t now_ms;
};

static int password_body(void *vctx, struct pfs_pg *pg, int attempt, struct pf_error *err)
{
    struct password_ctx *c = vctx;
    char h[PFS_PG_HASH_LEN];
    const char *p[2] = {c->name, c->pwhash};
    int rc;

    (void)attempt;
    rc = pfs_pg_exec(pg, "UPDATE users SET pwhash = $2 WHERE name = $1", 2, p, err);
    if (!rc) {
        p[1] = c->keep ? pfs_pg_hash_param(h, c->keep) : NULL;
        rc = pfs_pg_exec(pg,
                         "DELETE FROM sessions WHERE user_name = $1 AND ($2::bytea IS NULL OR"
                         " hash <> $2::bytea)",
                         2, p, err);
    }
    if (!rc)
        rc = acc__audit(pg, c->actor, c->now_ms, "user.password", c->name, NULL, NULL, NULL, err);
    return rc;
}

int pfs_pg_user_set_password(struct pfs_pg_store *st, const char *name, const char *pwhash,
                             const uint8_t *keep, const struct pfs_actor *actor, int64_t now_ms,
                             struct pf_error *err)
{
    struct password_ctx c = {name, pwhash, keep, actor, now_ms};

    return acc__tx(st, password_body, &c, err);
}

struct rehash_ctx {
    const char *name, *old_hash, *new_hash;
};

static int rehash_body(void *vctx, struct pfs_pg *pg, int attempt, struct pf_error *err)
{
    struct rehash_ctx *c = vctx;
    const char *p[3] = {c->name, c->old_hash, c->new_hash};
    int rc;

    (void)attempt;
    rc = pfs_pg_exec(pg, "UPDATE users SET pwhash = $3 WHERE name = $1 AND pwhash = $2", 3, p, err);
    if (rc)
        pf_error_set(err, rc, "store: user %s: rehash: %s", c->name, pf_strerror(rc));
    return rc;
}

int pfs_pg_user_rehash(struct pfs_pg_store *st, const char *name, const char *old_hash,
                       const char *new_hash, int64_t now_ms, struct pf_error *err)
{
    struct rehash_ctx c = {name, old_hash, new_hash};

    (void)now_ms;
    return acc__tx(st, rehash_body, &c, err);
}

struct role_ctx {
    const char *name, *role;
    const struct pfs_user_rec *u;
    const struct pfs_actor *actor;
    int64_t now_ms;
};

static int role_body(void *vctx, struct pfs_pg *pg, int attempt, struct pf_error *err)
{
    struct role_ctx *c = vctx;
    const char *p[2] = {c->name, c->role};
    int rc;

    (void)attempt;
    rc = pfs_pg_exec(pg, "UPDATE users SET role = $2 WHERE name = $1", 2, p, err);
    if (!rc)
        rc = acc__audit(pg, c->actor, c->now_ms, "user.role", c->name,
                        json_pack("{s:s}", "role", c->u->role), json_pack("{s:s}", "role", c->role),
                        c->u->merchant[0] ? c->u->merchant : NULL, err);
    return rc;
}

int pfs_pg_user_set_role(struct pfs_pg_store *st, const struct pfs_scope *scope, const char *name,
                         const char *role, const struct pfs_actor *actor, int64_t now_ms,
                         struct pf_error *err)
{
    struct pfs_user_rec u;
    struct role_ctx c = {name, role, &u, actor, now_ms};
    int rc = pfs_pg_user_get(st, scope, name, &u);

    if (rc)
        return pf_error_set(err, rc, "user %s does not exist", name);
    if ((strcmp(u.role, "merchant") == 0) != (strcmp(role, "merchant") == 0))
        return pf_error_set(err, PF_EINVAL,
                            "role: a merchant user stays a merchant user, and no other user"
                            " becomes one (add a new user)");
    return acc__tx(st, role_body, &c, err);
}

struct disabled_ctx {
    const char *name;
    bool disabled;
    const struct pfs_user_rec *u;
    const struct pfs_actor *actor;
    int64_t now_ms;
};

static int disabled_body(void *vctx, struct pfs_pg *pg, int attempt, struct pf_error *err)
{
    struct disabled_ctx *c = vctx;
    int64_t to = c->disabled ? c->now_ms : 0;
    char b[PFS_PG_I64_LEN];
    const char *p[2] = {c->name, pfs_pg_i64(b, to)};
    int rc;

    (void)attempt;
    rc = pfs_pg_exec(pg, "UPDATE users SET disabled_ms = $2 WHERE name = $1", 2, p, err);
    if (!rc && c->disabled)
        rc = pfs_pg_exec(pg, "DELETE FROM sessions WHERE user_name = $1", 1, p, err);
    if (!rc)
        rc = acc__audit(pg, c->actor, c->now_ms, c->disabled ? "user.disable" : "user.enable",
                        c->name, json_pack("{s:I}", "disabled_ms", (json_int_t)c->u->disabled_ms),
                        json_pack("{s:I}", "disabled_ms", (json_int_t)to),
                        c->u->merchant[0] ? c->u->merchant : NULL, err);
    return rc;
}

int pfs_pg_user_set_disabled(struct pfs_pg_store *st, const struct pfs_scope *scope,
                             const char *name, bool disabled, const struct pfs_actor *actor,
                             int64_t now_ms, struct pf_error *err)
{
    struct pfs_user_rec u;
    struct disabled_ctx c = {name, disabled, &u, actor, now_ms};
    int rc = pfs_pg_user_get(st, scope, name, &u);

    if (rc)
        return pf_error_set(err, rc, "user %s does not exist", name);
    return acc__tx(st, disabled_body, &c, err);
}

/* --- sessions --- */

struct session_add_ctx {
    const uint8_t *hash;
    const char *user, *csrf;
    int64_t now_ms, expires_ms;
};

static int session_add_body(void *vctx, struct pfs_pg *pg, int attempt, struct pf_error *err)
{
    struct session_add_ctx *c = vctx;
    char h[PFS_PG_HASH_LEN], bn[PFS_PG_I64_LEN], be[PFS_PG_I64_LEN];
    const char *p[5] = {pfs_pg_hash_param(h, c->hash), c->user, c->csrf, pfs_pg_i64(bn, c->now_ms),
                        pfs_pg_i64(be, c->expires_ms)};
    int rc, n = 0;

    (void)attempt;
    /* Expired sessions go as new ones come. */
    rc = pfs_pg_exec(pg, "DELETE FROM sessions WHERE expires_ms <= $1", 1, &p[3], err);
    /* A taken hash or an unknown user: SQLite's constraint (PF_EEXIST). */
    if (!rc)
        rc = acc__rows(pg,
                       "INSERT INTO sessions (hash, user_name, csrf, created_ms, expires_ms)"
                       " SELECT $1::bytea, $2::text, $3, $4, $5 WHERE EXISTS (SELECT 1 FROM users"
                       " WHERE name = $2::text) ON CONFLICT DO NOTHING RETURNING 1",
                       5, p, &n, err);
    if (!rc && n == 0)
        rc = PF_EEXIST;
    if (rc)
        pf_error_set(err, rc, "store: session: %s", pf_strerror(rc));
    return rc;
}

int pfs_pg_session_add(struct pfs_pg_store *st, const uint8_t hash[PFS_SECRET_HASH],
                       const char *user, const char *csrf, int64_t now_ms, int64_t expires_ms,
                       struct pf_error *err)
{
    struct session_add_ctx c = {hash, user, csrf, now_ms, expires_ms};

    return acc__tx(st, session_add_body, &c, err);
}

int pfs_pg_session_get(struct pfs_pg_store *st, const uint8_t hash[PFS_SECRET_HASH], int64_t now_ms,
                       struct pfs_session_rec *out)
{
    char h[PFS_PG_HASH_LEN], bn[PFS_PG_I64_LEN];
    const char *p[2] = {pfs_pg_hash_param(h, hash), pfs_pg_i64(bn, now_ms)};
    PGresult *res = NULL;
    int rc;

    rc = acc__read(st,
                   "SELECT " USER_COLS ", x.csrf, x.expires_ms FROM sessions x JOIN users u ON"
                   " u.name = x.user_name JOIN orgs o ON o.id = u.org_id WHERE x.hash = $1::bytea"
                   " AND x.expires_ms > $2 AND u.disabled_ms = 0",
                   2, p, &res);
    if (rc)
        return rc;
    rc = PQntuples(res) > 0 ? 0 : PF_ENOENT;
    if (!rc) {
        acc__user_read(res, 0, 0, &out->user);
        pfs_pg_acc_text(res, 0, USER_NCOLS, out->csrf, sizeof(out->csrf));
        out->expires_ms = pfs_pg_col_i64(res, 0, USER_NCOLS + 1);
    }
    PQclear(res);
    return rc;
}

struct session_end_ctx {
    const uint8_t *hash;
    const struct pfs_actor *actor;
    int64_t now_ms;
};

static int session_end_body(void *vctx, struct pfs_pg *pg, int attempt, struct pf_error *err)
{
    struct session_end_ctx *c = vctx;
    char h[PFS_PG_HASH_LEN];
    const char *p[1] = {pfs_pg_hash_param(h, c->hash)};
    int rc, n = 0;

    (void)attempt;
    rc = acc__rows(pg, "DELETE FROM sessions WHERE hash = $1::bytea RETURNING 1", 1, p, &n, err);
    if (!rc && n == 0)
        rc = PF_ENOENT;
    if (!rc)
        rc = acc__audit(pg, c->actor, c->now_ms, "logout",
                        c->actor && c->actor->name ? c->actor->name : "-", NULL, NULL, NULL, err);
    return rc;
}

int pfs_pg_session_end(struct pfs_pg_store *st, const uint8_t hash[PFS_SECRET_HASH],
                       const struct pfs_actor *actor, int64_t now_ms, struct pf_error *err)
{
    struct session_end_ctx c = {hash, actor, now_ms};

    return acc__tx(st, session_end_body, &c, err);
}

/* --- API tokens --- */

#define TOKEN_COLS                                                                                 \
    "t.id, t.name, t.user_name, t.created_ms, t.expires_ms, coalesce(t.revoked_ms, 0),"            \
    " coalesce(t.last_used_ms, 0)"
#define TOKEN_NCOLS 7

static void acc__token_read(const PGresult *res, int r, struct pfs_apitoken_rec *t)
{
    memset(t, 0, sizeof(*t));
    t->id = pfs_pg_col_i64(res, r, 0);
    pfs_pg_acc_text(res, r, 1, t->name, sizeof(t->name));
    pfs_pg_acc_text(res, r, 2, t->user, sizeof(t->user));
    t->created_ms = pfs_pg_col_i64(res, r, 3);
    t->expires_ms = pfs_pg_col_i64(res, r, 4);
    t->revoked_ms = pfs_pg_col_i64(res, r, 5);
    t->last_used_ms = pfs_pg_col_i64(res, r, 6);
}

struct token_add_ctx {
    const uint8_t *hash;
    const struct pfs_apitoken_rec *t;
    const struct pfs_actor *actor;
    int64_t id; /* out */
};

static int token_add_body(void *vctx, struct pfs_pg *pg, int attempt, struct pf_error *err)
{
    struct token_add_ctx *c = vctx;
    const struct pfs_apitoken_rec *t = c->t;
    char h[PFS_PG_HASH_LEN], bc[PFS_PG_I64_LEN], be[PFS_PG_I64_LEN];
    const char *p[5] = {t->name, t->user, pfs_pg_hash_param(h, c->hash),
                        pfs_pg_i64(bc, t->created_ms), pfs_pg_i64(be, t->expires_ms)};
    PGresult *res = NULL;
    int rc;

    (void)attempt;
    c->id = 0;
    rc = acc__lock(pg, "api_tokens", err);
    if (!rc)
        rc = pfs_pg_query(pg,
                          "INSERT INTO api_tokens (id, name, user_name, hash, created_ms,"
                          " expires_ms) SELECT (SELECT coalesce(max(id), 0) + 1 FROM api_tokens),"
                          " $1, $2::text, $3::bytea, $4, $5 WHERE EXISTS (SELECT 1 FROM users"
                          " WHERE name = $2::text) ON CONFLICT DO NOTHING RETURNING id",
                          5, p, &res, err);
    if (rc)
        return rc;
    if (PQntuples(res) == 0)
        rc = pf_error_set(err, PF_EEXIST, "token %s of %s exists", t->name, t->user);
    else
        c->id = pfs_pg_col_i64(res, 0, 0);
    PQclear(res);
    if (!rc)
        rc = acc__audit(pg, c->actor, t->created_ms, "token.create", t->user, NULL,
                        json_pack("{s:I, s:s, s:I}", "id", (json_int_t)c->id, "name", t->name,
                                  "expires_ms", (json_int_t)t->expires_ms),
                        NULL, err);
    return rc;
}

int pfs_pg_apitoken_add(struct pfs_pg_store *st, const uint8_t hash[PFS_SECRET_HASH],
                        const struct pfs_apitoken_rec *t, const struct pfs_actor *actor,
                        struct pfs_apitoken_rec *out, struct pf_error *err)
{
    struct token_add_ctx c = {hash, t, actor, 0};
    int rc = acc__tx(st, token_add_body, &c, err);

    if (!rc) {
        *out = *t;
        out->id = c.id;
    }
    return rc;
}

int pfs_pg_apitoken_use(struct pfs_pg_store *st, const uint8_t hash[PFS_SECRET_HASH],
                        int64_t now_ms, struct pfs_apitoken_rec *t, struct pfs_user_rec *user)
{
    char h[PFS_PG_HASH_LEN], bn[PFS_PG_I64_LEN], bi[PFS_PG_I64_LEN];
    const char *p[2] = {pfs_pg_hash_param(h, hash), pfs_pg_i64(bn, now_ms)};
    PGresult *res = NULL;
    int rc;

    rc = acc__read(st,
                   "SELECT " TOKEN_COLS ", " USER_COLS " FROM api_tokens t JOIN users u ON"
                   " u.name = t.user_name JOIN orgs o ON o.id = u.org_id WHERE t.hash = $1::bytea"
                   " AND t.revoked_ms IS NULL AND t.expires_ms > $2 AND u.disabled_ms = 0",
                   2, p, &res);
    if (rc)
        return rc;
    rc = PQntuples(res) > 0 ? 0 : PF_ENOENT;
    if (!rc) {
        acc__token_read(res, 0, t);
        acc__user_read(res, 0, TOKEN_NCOLS, user);
    }
    PQclear(res);
    if (rc)
        return rc;
    /* The last use: a statement of its own (inside the caller's transaction
     * when one is open), best effort as on SQLite. */
    p[0] = pfs_pg_i64(bi, t->id);
    if (pfs_pg_exec(st->pg, "UPDATE api_tokens SET last_used_ms = $2 WHERE id = $1", 2, p, NULL) ==
        0)
        t->last_used_ms = now_ms;
    return 0;
}

int pfs_pg_apitoken_list(struct pfs_pg_store *st, const struct pfs_scope *scope, const char *user,
                         pfs_apitoken_cb cb, void *ctx)
{
    const char *p[3] = {user, NULL, NULL};
    PGresult *res = NULL;
    struct pfs_apitoken_rec t;
    int rc;

    pfs_pg_scope_params(scope, &p[1], &p[2]);
    rc = acc__read(st,
                   "SELECT " TOKEN_COLS " FROM api_tokens t JOIN users u ON u.name = t.user_name"
                   " JOIN orgs o ON o.id = u.org_id WHERE ($1::text IS NULL OR t.user_name ="
                   " $1::text)" USER_IN_SCOPE("$2", "$3") " ORDER BY t.id",
                   3, p, &res);
    if (rc)
        return rc;
    for (int r = 0; r < PQntuples(res) && !rc; r++) {
        acc__token_read(res, r, &t);
        rc = cb(ctx, &t);
    }
    PQclear(res);
    return rc;
}

struct token_revoke_ctx {
    int64_t id;
    const char *owner;
    const struct pfs_actor *actor;
    int64_t now_ms;
};

static int token_revoke_body(void *vctx, struct pfs_pg *pg, int attempt, struct pf_error *err)
{
    struct token_revoke_ctx *c = vctx;
    char bi[PFS_PG_I64_LEN], bn[PFS_PG_I64_LEN];
    const char *p[2] = {pfs_pg_i64(bi, c->id), pfs_pg_i64(bn, c->now_ms)};
    int rc;

    (void)attempt;
    rc = pfs_pg_exec(pg, "UPDATE api_tokens SET revoked_ms = $2 WHERE id = $1", 2, p, err);
    if (!rc)
        rc = acc__audit(pg, c->actor, c->now_ms, "token.revoke", c->owner, NULL,
                        json_pack("{s:I, s:I}", "id", (json_int_t)c->id, "revoked_ms",
                                  (json_int_t)c->now_ms),
                        NULL, err);
    return rc;
}

int pfs_pg_apitoken_revoke(struct pfs_pg_store *st, const struct pfs_scope *scope, const char *user,
                           int64_t id, const struct pfs_actor *actor, int64_t now_ms,
                           struct pf_error *err)
{
    char owner[PFS_USER_NAME_MAX + 1] = "", bi[PFS_PG_I64_LEN];
    const char *p[4] = {user, pfs_pg_i64(bi, id), NULL, NULL};
    struct token_revoke_ctx c = {id, owner, actor, now_ms};
    PGresult *res = NULL;
    int rc;

    pfs_pg_scope_params(scope, &p[2], &p[3]);
    rc = acc__read(st,
                   "SELECT t.user_name FROM api_tokens t JOIN users u ON u.name = t.user_name"
                   " JOIN orgs o ON o.id = u.org_id WHERE t.id = $2 AND ($1::text IS NULL OR"
                   " t.user_name = $1::text) AND t.revoked_ms IS NULL" USER_IN_SCOPE("$3", "$4"),
                   4, p, &res);
    if (!rc) {
        if (PQntuples(res) > 0)
            pfs_pg_acc_text(res, 0, 0, owner, sizeof(owner));
        else
            rc = PF_ENOENT;
        PQclear(res);
    }
    if (rc)
        return pf_error_set(err, rc == PF_ENOENT ? PF_ENOENT : PF_EIO,
                            "token %lld: no such live token", (long long)id);
    return acc__tx(st, token_revoke_body, &c, err);
}

/* --- scope checks --- */

static int acc__exists(struct pfs_pg_store *st, const char *sql, const char *key, int64_t id,
                       const struct pfs_scope *scope)
{
    char bi[PFS_PG_I64_LEN];
    const char *p[3] = {key ? key : pfs_pg_i64(bi, id), NULL, NULL};
    PGresult *res = NULL;
    int rc;

    pfs_pg_scope_params(scope, &p[1], &p[2]);
    rc = acc__read(st, sql, 3, p, &res);
    if (rc)
        return rc;
    rc = PQntuples(res) > 0 ? 0 : PF_ENOENT;
    PQclear(res);
    return rc;
}

int pfs_pg_scope_serial(struct pfs_pg_store *st, const struct pfs_scope *scope, const char *serial)
{
    return acc__exists(st,
                       "SELECT 1 FROM devices d WHERE d.serial = $1 AND " PFS_PG_SCOPE_TERM(
                               "d.serial", "$2", "$3"),
                       serial, 0, scope);
}

int pfs_pg_scope_merchant(struct pfs_pg_store *st, const struct pfs_scope *scope,
                          const char *merchant)
{
    return acc__exists(st,
                       "SELECT 1 FROM merchants WHERE id = $1 AND " PFS_PG_SCOPE_MERCHANT(
                               "merchants.id", "$2", "$3"),
                       merchant, 0, scope);
}

int pfs_pg_scope_repair(struct pfs_pg_store *st, const struct pfs_scope *scope, int64_t repair)
{
    return acc__exists(st,
                       "SELECT 1 FROM repairs r WHERE r.id = $1::bigint AND (CASE WHEN"
                       " r.merchant_id IS NOT NULL THEN " PFS_PG_SCOPE_MERCHANT(
                               "r.merchant_id", "$2",
                               "$3") " ELSE " PFS_PG_SCOPE_TERM("r.serial", "$2", "$3") " END)",
                       NULL, repair, scope);
}

int pfs_pg_scope_diag(struct pfs_pg_store *st, const struct pfs_scope *scope, const char *diag)
{
    return acc__exists(st,
                       "SELECT 1 FROM diag_requests g WHERE g.id = $1 AND " PFS_PG_SCOPE_TERM(
                               "g.serial", "$2", "$3"),
                       diag, 0, scope);
}

int pfs_pg_scope_rollout(struct pfs_pg_store *st, const struct pfs_scope *scope, int64_t rollout)
{
    return acc__exists(st,
                       "SELECT 1 FROM rollouts r WHERE r.id = $1::bigint AND ($2::text IS NULL OR"
                       " ($3::text IS NULL AND r.org_path IS NOT NULL AND r.org_path LIKE"
                       " $2::text || '%'))",
                       NULL, rollout, scope);
}

/* --- support requests --- */

struct support_add_ctx {
    const struct pfs_support_req *r;
    const struct pfs_actor *actor;
    int64_t id; /* out */
};

static int support_add_body(void *vctx, struct pfs_pg *pg, int attempt, struct pf_error *err)
{
    struct support_add_ctx *c = vctx;
    const struct pfs_support_req *r = c->r;
    const char *serial = r->serial[0] ? r->serial : NULL;
    char bc[PFS_PG_I64_LEN];
    const char *p[6] = {r->merchant, serial,       r->subject,
                        r->body,     r->opened_by, pfs_pg_i64(bc, r->created_ms)};
    PGresult *res = NULL;
    int rc;

    (void)attempt;
    c->id = 0;
    rc = acc__lock(pg, "support_requests", err);
    /* An unknown merchant is SQLite's foreign key constraint (PF_EEXIST). */
    if (!rc)
        rc = pfs_pg_query(pg,
                          "INSERT INTO support_requests (id, merchant_id, serial, subject, body,"
                          " opened_by, created_ms) SELECT (SELECT coalesce(max(id), 0) + 1 FROM"
                          " support_requests), $1::text, $2, $3, $4, $5, $6 WHERE EXISTS (SELECT 1"
                          " FROM merchants WHERE id = $1::text) RETURNING id",
                          6, p, &res, err);
    if (rc)
        return rc;
    if (PQntuples(res) == 0)
        rc = PF_EEXIST;
    else
        c->id = pfs_pg_col_i64(res, 0, 0);
    PQclear(res);
    if (!rc)
        rc = acc__audit(pg, c->actor, r->created_ms, "support.open", r->merchant, NULL,
                        json_pack("{s:I, s:s, s:s?, s:s}", "id", (json_int_t)c->id, "merchant",
                                  r->merchant, "serial", serial, "subject", r->subject),
                        r->merchant, err);
    return rc;
}

int pfs_pg_support_add(struct pfs_pg_store *st, const struct pfs_support_req *r,
                       const struct pfs_actor *actor, int64_t *id, struct pf_error *err)
{
    struct support_add_ctx c = {r, actor, 0};
    int rc = acc__tx(st, support_add_body, &c, err);

    if (!rc)
        *id = c.id;
    return rc;
}

int pfs_pg_support_list(struct pfs_pg_store *st, const struct pfs_scope *scope, int limit,
                        pfs_support_cb cb, void *ctx)
{
    char bl[PFS_PG_I64_LEN];
    const char *p[3] = {pfs_pg_i64(bl, limit), NULL, NULL};
    PGresult *res = NULL;
    struct pfs_support_req r;
    int rc;

    pfs_pg_scope_params(scope, &p[1], &p[2]);
    rc = acc__read(st,
                   "SELECT id, merchant_id, coalesce(serial, ''), subject, body, opened_by,"
                   " status, created_ms FROM support_requests WHERE " PFS_PG_SCOPE_MERCHANT(
                           "support_requests.merchant_id", "$2",
                           "$3") " ORDER BY id DESC LIMIT $1::bigint",
                   3, p, &res);
    if (rc)
        return rc;
    for (int i = 0; i < PQntuples(res) && !rc; i++) {
        memset(&r, 0, sizeof(r));
        r.id = pfs_pg_col_i64(res, i, 0);
        pfs_pg_acc_text(res, i, 1, r.merchant, sizeof(r.merchant));
        pfs_pg_acc_text(res, i, 2, r.serial, sizeof(r.serial));
        pfs_pg_acc_text(res, i, 3, r.subject, sizeof(r.subject));
        pfs_pg_acc_text(res, i, 4, r.body, sizeof(r.body));
        pfs_pg_acc_text(res, i, 5, r.opened_by, sizeof(r.opened_by));
        pfs_pg_acc_text(res, i, 6, r.status, sizeof(r.status));
        r.created_ms = pfs_pg_col_i64(res, i, 7);
        rc = cb(ctx, &r);
    }
    PQclear(res);
    return rc;
}
