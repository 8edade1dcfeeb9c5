/*
 * store_accounts.c - the SQLite backend of store_accounts.h: organisations,
 * users, sessions, API tokens, support requests, the scope checks and the
 * audit search. The scope's SQL is store_scope.h's, the same text every
 * scoped query of the backend uses.
 */
#include "store/store_accounts.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/sqlite/store_scope.h"
#include "store/sqlite/store_sqlite_internal.h"
#include "store/sqlite/store_tx.h"

const char *const pfs_org_kind_names[] = {"headquarters", "agent", NULL};

void pfs_sqlite_bind_scope(sqlite3_stmt *s, int ip, int im, const struct pfs_scope *scope)
{
    if (pfs_scope_all(scope)) {
        sqlite3_bind_null(s, ip);
        sqlite3_bind_null(s, im);
        return;
    }
    sqlite3_bind_text(s, ip, scope->path, -1, SQLITE_STATIC);
    if (scope->merchant[0])
        sqlite3_bind_text(s, im, scope->merchant, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(s, im);
}

static int acc__prepare(struct pfs_sqlite *st, const char *sql, sqlite3_stmt **s)
{
    return sqlite3_prepare_v2(st->db, sql, -1, s, NULL) == SQLITE_OK ? 0 : PF_EIO;
}

/* Runs s (already bound) to its end and finalizes it: 0, PF_EEXIST on a
 * constraint, else PF_EIO. */
static int acc__done(sqlite3_stmt *s)
{
    int rc = sqlite3_step(s);

    sqlite3_finalize(s);
    if (rc == SQLITE_DONE)
        return 0;
    return rc == SQLITE_CONSTRAINT ? PF_EEXIST : PF_EIO;
}

static int acc__audit(struct pfs_sqlite *st, const struct pfs_actor *actor, int64_t now_ms,
                      const char *action, const char *target, json_t *before, json_t *after,
                      const char *merchant, struct pf_error *err)
{
    char *b = before ? json_dumps(before, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    char *a = after ? json_dumps(after, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    struct pfs_sqlite_audit row = {actor, now_ms, action, target, b, a, NULL, NULL, merchant};
    int rc =
            (before && !b) || (after && !a) ? PF_ENOMEM : pfs_sqlite_audit_write(st->db, &row, err);

    free(b);
    free(a);
    json_decref(before);
    json_decref(after);
    return rc;
}

/* --- organisations --- */

#define ORG_COLS "id, name, kind, coalesce(parent, 0), path, created_ms"

static void acc__org_read(sqlite3_stmt *s, struct pfs_org *o)
{
    memset(o, 0, sizeof(*o));
    o->id = sqlite3_column_int64(s, 0);
    pfs_sqlite_col_text(s, 1, o->name, sizeof(o->name));
    o->kind = strcmp((const char *)sqlite3_column_text(s, 2), "agent") == 0 ? PFS_ORG_AGENT
                                                                            : PFS_ORG_HQ;
    o->parent = sqlite3_column_int64(s, 3);
    pfs_sqlite_col_text(s, 4, o->path, sizeof(o->path));
    o->created_ms = sqlite3_column_int64(s, 5);
}

int pfs_sqlite_org_get(struct pfs_sqlite *st, const struct pfs_scope *scope, int64_t id,
                       const char *name, struct pfs_org *out)
{
    sqlite3_stmt *s;
    int rc;

    if (acc__prepare(st,
                     "SELECT " ORG_COLS " FROM orgs WHERE (?1 = 0 OR id = ?1) AND"
                     " (?1 <> 0 OR name = ?2) AND " PFS_SQLITE_SCOPE_PATH("path", "?3"),
                     &s))
        return PF_EIO;
    sqlite3_bind_int64(s, 1, id);
    sqlite3_bind_text(s, 2, name ? name : "", -1, SQLITE_STATIC);
    /* An organisation is seen by users of its own subtree; merchant users see none. */
    if (scope && scope->merchant[0])
        sqlite3_bind_text(s, 3, "-", -1, SQLITE_STATIC);
    else if (pfs_scope_all(scope))
        sqlite3_bind_null(s, 3);
    else
        sqlite3_bind_text(s, 3, scope->path, -1, SQLITE_STATIC);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        acc__org_read(s, out);
    sqlite3_finalize(s);
    return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? PF_ENOENT : PF_EIO;
}

int pfs_sqlite_org_list(struct pfs_sqlite *st, const struct pfs_scope *scope, pfs_org_cb cb,
                        void *ctx)
{
    sqlite3_stmt *s;
    struct pfs_org o;
    int rc = 0, step;

    if (acc__prepare(st,
                     "SELECT " ORG_COLS
                     " FROM orgs WHERE " PFS_SQLITE_SCOPE_PATH("path", "?1") " ORDER BY path",
                     &s))
        return PF_EIO;
    if (scope && scope->merchant[0])
        sqlite3_bind_text(s, 1, "-", -1, SQLITE_STATIC);
    else if (!pfs_scope_all(scope))
        sqlite3_bind_text(s, 1, scope->path, -1, SQLITE_STATIC);
    while ((step = sqlite3_step(s)) == SQLITE_ROW) {
        acc__org_read(s, &o);
        rc = cb(ctx, &o);
        if (rc)
            break;
    }
    if (!rc && step != SQLITE_DONE)
        rc = PF_EIO;
    sqlite3_finalize(s);
    return rc;
}

int pfs_sqlite_org_add(struct pfs_sqlite *st, const struct pfs_scope *scope, const char *name,
                       int64_t parent, const struct pfs_actor *actor, int64_t now_ms,
                       struct pfs_org *out, struct pf_error *err)
{
    struct pfs_org p;
    char path[PFS_ORG_PATH_MAX + 1];
    int64_t id;
    int rc;

    rc = pfs_sqlite_org_get(st, scope, parent, NULL, &p);
    if (rc)
        return pf_error_set(err, rc, "parent organisation %lld %s", (long long)parent,
                            rc == PF_ENOENT ? "does not exist" : "unreadable");
    rc = pfs_sqlite_begin(st, now_ms, err);
    if (rc)
        return rc;
    rc = pfs_store_sql_int(st->db, "SELECT coalesce(max(id), 0) + 1 FROM orgs", &id, "");
    if (!rc &&
        (size_t)snprintf(path, sizeof(path), "%s%lld/", p.path, (long long)id) >= sizeof(path))
        rc = pf_error_set(err, PF_ETOOBIG, "organisation tree too deep");
    if (!rc) {
        rc = pfs_store_sql_run(st->db,
                               "INSERT INTO orgs (id, name, kind, parent, path, created_ms)"
                               " VALUES (?1, ?2, 'agent', ?3, ?4, ?5)",
                               "iSiSi", id, name, parent, path, now_ms);
        if (rc == PF_EEXIST)
            pf_error_set(err, rc, "organisation %s exists", name);
    }
    if (!rc)
        rc = acc__audit(st, actor, now_ms, "org.add", name, NULL,
                        json_pack("{s:I, s:s, s:s, s:I}", "id", (json_int_t)id, "name", name,
                                  "path", path, "parent", (json_int_t)parent),
                        NULL, err);
    rc = pfs_sqlite_end(st, rc, err);
    if (!rc)
        rc = pfs_sqlite_org_get(st, NULL, id, NULL, out);
    return rc;
}

int pfs_sqlite_merchant_org(struct pfs_sqlite *st, const char *merchant, int64_t *org_id)
{
    sqlite3_stmt *s;
    int rc;

    if (acc__prepare(st, "SELECT org_id FROM merchants WHERE id = ?1", &s))
        return PF_EIO;
    sqlite3_bind_text(s, 1, merchant, -1, SQLITE_STATIC);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        *org_id = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? PF_ENOENT : PF_EIO;
}

int pfs_sqlite_merchant_set_org(struct pfs_sqlite *st, const struct pfs_scope *scope,
                                const char *merchant, int64_t org_id, const struct pfs_actor *actor,
                                int64_t now_ms, struct pf_error *err)
{
    struct pfs_org o;
    int64_t from = 0;
    int rc;

    if (pfs_sqlite_scope_merchant(st, scope, merchant) != 0 ||
        pfs_sqlite_merchant_org(st, merchant, &from) != 0)
        return pf_error_set(err, PF_ENOENT, "merchant %s does not exist", merchant);
    rc = pfs_sqlite_org_get(st, scope, org_id, NULL, &o);
    if (rc)
        return pf_error_set(err, PF_ENOENT, "organisation %lld does not exist", (long long)org_id);
    rc = pfs_sqlite_begin(st, now_ms, err);
    if (rc)
        return rc;
    rc = pfs_store_sql_run(st->db, "UPDATE merchants SET org_id = ?2 WHERE id = ?1", "Si", merchant,
                           org_id);
    if (!rc)
        rc = acc__audit(st, actor, now_ms, "merchant.org", merchant,
                        json_pack("{s:I}", "org_id", (json_int_t)from),
                        json_pack("{s:I, s:s}", "org_id", (json_int_t)org_id, "org", o.name),
                        merchant, err);
    return pfs_sqlite_end(st, rc, err);
}

/* --- users --- */

#define USER_COLS                                                                                  \
    "u.name, u.pwhash, u.role, u.org_id, o.name, o.path, coalesce(u.merchant_id, ''), u.failed,"   \
    " u.locked_until_ms, u.created_ms, u.disabled_ms"
#define USER_FROM " FROM users u JOIN orgs o ON o.id = u.org_id"

static void acc__user_read(sqlite3_stmt *s, int c, struct pfs_user_rec *u)
{
    memset(u, 0, sizeof(*u));
    pfs_sqlite_col_text(s, c + 0, u->name, sizeof(u->name));
    pfs_sqlite_col_text(s, c + 1, u->pwhash, sizeof(u->pwhash));
    pfs_sqlite_col_text(s, c + 2, u->role, sizeof(u->role));
    u->org_id = sqlite3_column_int64(s, c + 3);
    pfs_sqlite_col_text(s, c + 4, u->org, sizeof(u->org));
    pfs_sqlite_col_text(s, c + 5, u->org_path, sizeof(u->org_path));
    pfs_sqlite_col_text(s, c + 6, u->merchant, sizeof(u->merchant));
    u->failed = sqlite3_column_int64(s, c + 7);
    u->locked_until_ms = sqlite3_column_int64(s, c + 8);
    u->created_ms = sqlite3_column_int64(s, c + 9);
    u->disabled_ms = sqlite3_column_int64(s, c + 10);
}

/* A user lies inside a scope when its organisation does (and, for a
 * merchant user's scope, when it is that merchant's user). */
#define USER_IN_SCOPE                                                                              \
    " AND " PFS_SQLITE_SCOPE_PATH("o.path", "?8") " AND (?9 IS NULL OR u.merchant_id = ?9)"

int pfs_sqlite_user_get(struct pfs_sqlite *st, const struct pfs_scope *scope, const char *name,
                        struct pfs_user_rec *out)
{
    sqlite3_stmt *s;
    int rc;

    if (acc__prepare(st, "SELECT " USER_COLS USER_FROM " WHERE u.name = ?1" USER_IN_SCOPE, &s))
        return PF_EIO;
    sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
    pfs_sqlite_bind_scope(s, 8, 9, scope);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        acc__user_read(s, 0, out);
    sqlite3_finalize(s);
    return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? PF_ENOENT : PF_EIO;
}

int pfs_sqlite_user_list(struct pfs_sqlite *st, const struct pfs_scope *scope, pfs_user_cb cb,
                         void *ctx)
{
    sqlite3_stmt *s;
    struct pfs_user_rec u;
    int rc = 0, step;

    if (acc__prepare(st, "SELECT " USER_COLS USER_FROM " WHERE 1" USER_IN_SCOPE " ORDER BY u.name",
                     &s))
        return PF_EIO;
    pfs_sqlite_bind_scope(s, 8, 9, scope);
    while ((step = sqlite3_step(s)) == SQLITE_ROW) {
        acc__user_read(s, 0, &u);
        u.pwhash[0] = '\0';
        rc = cb(ctx, &u);
        if (rc)
            break;
    }
    if (!rc && step != SQLITE_DONE)
        rc = PF_EIO;
    sqlite3_finalize(s);
    return rc;
}

int pfs_sqlite_user_add(struct pfs_sqlite *st, const struct pfs_scope *scope,
                        const struct pfs_user_rec *u, const struct pfs_actor *actor, int64_t now_ms,
                        struct pf_error *err)
{
    struct pfs_org o;
    int rc;

    if (pfs_sqlite_org_get(st, scope, u->org_id, NULL, &o) != 0)
        return pf_error_set(err, PF_ENOENT, "organisation %lld does not exist",
                            (long long)u->org_id);
    if (u->merchant[0]) {
        int64_t morg = 0;

        if (pfs_sqlite_scope_merchant(st, scope, u->merchant) != 0 ||
            pfs_sqlite_merchant_org(st, u->merchant, &morg) != 0)
            return pf_error_set(err, PF_ENOENT, "merchant %s does not exist", u->merchant);
        if (morg != u->org_id)
            return pf_error_set(err, PF_EINVAL,
                                "merchant %s belongs to another organisation than %s", u->merchant,
                                o.name);
    }
    rc = pfs_sqlite_begin(st, now_ms, err);
    if (rc)
        return rc;
    rc = pfs_store_sql_run(st->db,
                           "INSERT INTO users (name, pwhash, role, org_id, merchant_id,"
                           " created_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                           "SSSisi", u->name, u->pwhash, u->role, u->org_id, u->merchant, now_ms);
    if (rc == PF_EEXIST)
        pf_error_set(err, rc, "user %s exists", u->name);
    if (!rc)
        rc = acc__audit(st, actor, now_ms, "user.add", u->name, NULL,
                        json_pack("{s:s, s:s, s:s, s:s?}", "name", u->name, "role", u->role, "org",
                                  o.name, "merchant", u->merchant[0] ? u->merchant : NULL),
                        u->merchant[0] ? u->merchant : NULL, err);
    return pfs_sqlite_end(st, rc, err);
}

int pfs_sqlite_user_login_result(struct pfs_sqlite *st, const char *name,
                                 enum pfs_login_outcome outcome, int64_t locked_until_ms,
                                 const struct pfs_actor *actor, int64_t now_ms,
                                 struct pf_error *err)
{
    static const char *const actions[] = {"login", "login.failed", "login.locked", "login.refused"};
    const char *action = actions[outcome];
    int rc = pfs_sqlite_begin(st, now_ms, err);

    if (rc)
        return rc;
    if (outcome == PFS_LOGIN_REFUSED)
        rc = 0;
    else if (outcome == PFS_LOGIN_OK)
        rc = pfs_store_sql_run(st->db,
                               "UPDATE users SET failed = 0, locked_until_ms = 0 WHERE name = ?1",
                               "S", name);
    else
        rc = pfs_store_sql_run(st->db,
                               "UPDATE users SET failed = failed + 1, locked_until_ms ="
                               " max(locked_until_ms, ?2) WHERE name = ?1",
                               "Si", name, locked_until_ms);
    if (!rc)
        rc = acc__audit(st, actor, now_ms, action, name, NULL,
                        locked_until_ms > 0
                                ? json_pack("{s:I}", "locked_until_ms", (json_int_t)locked_until_ms)
                                : NULL,
                        NULL, err);
    return pfs_sqlite_end(st, rc, err);
}

int pfs_sqlite_user_set_password(struct pfs_sqlite *st, const char *name, const char *pwhash,
                                 const uint8_t *keep, const struct pfs_actor *actor, int64_t now_ms,
                                 struct pf_error *err)
{
    sqlite3_stmt *s = NULL;
    int rc = pfs_sqlite_begin(st, now_ms, err);

    if (rc)
        return rc;
    rc = pfs_store_sql_run(st->db, "UPDATE users SET pwhash = ?2 WHERE name = ?1", "SS", name,
                           pwhash);
    if (!rc &&
        acc__prepare(st, "DELETE FROM sessions WHERE user = ?1 AND (?2 IS NULL OR hash <> ?2)",
                     &s) == 0) {
        sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
        if (keep)
            sqlite3_bind_blob(s, 2, keep, PFS_SECRET_HASH, SQLITE_STATIC);
        rc = acc__done(s);
    } else if (!rc) {
        rc = PF_EIO;
    }
    if (!rc)
        rc = acc__audit(st, actor, now_ms, "user.password", name, NULL, NULL, NULL, err);
    return pfs_sqlite_end(st, rc, err);
}

int pfs_sqlite_user_rehash(struct pfs_sqlite *st, const char *name, const char *old_hash,
                           const char *new_hash, int64_t now_ms, struct pf_error *err)
{
    int rc = pfs_sqlite_begin(st, now_ms, err);

    if (rc)
        return rc;
    rc = pfs_store_sql_run(st->db, "UPDATE users SET pwhash = ?3 WHERE name = ?1 AND pwhash = ?2",
                           "SSS", name, old_hash, new_hash);
    if (rc)
        pf_error_set(err, rc, "store: user %s: rehash: %s", name, pf_strerror(rc));
    return pfs_sqlite_end(st, rc, err);
}

int pfs_sqlite_user_set_role(struct pfs_sqlite *st, const struct pfs_scope *scope, const char *name,
                             const char *role, const struct pfs_actor *actor, int64_t now_ms,
                             struct pf_error *err)
{
    struct pfs_user_rec u;
    int rc = pfs_sqlite_user_get(st, scope, name, &u);

    if (rc)
        return pf_error_set(err, rc, "user %s does not exist", name);
    if ((strcmp(u.role, "merchant") == 0) != (strcmp(role, "merchant") == 0))
        return pf_error_set(err, PF_EINVAL,
                            "role: a merchant user stays a merchant user, and no other user"
                            " becomes one (add a new user)");
    rc = pfs_sqlite_begin(st, now_ms, err);
    if (rc)
        return rc;
    rc = pfs_store_sql_run(st->db, "UPDATE users SET role = ?2 WHERE name = ?1", "SS", name, role);
    if (!rc)
        rc = acc__audit(st, actor, now_ms, "user.role", name, json_pack("{s:s}", "role", u.role),
                        json_pack("{s:s}", "role", role), u.merchant[0] ? u.merchant : NULL, err);
    return pfs_sqlite_end(st, rc, err);
}

int pfs_sqlite_user_set_disabled(struct pfs_sqlite *st, const struct pfs_scope *scope,
                                 const char *name, bool disabled, const struct pfs_actor *actor,
                                 int64_t now_ms, struct pf_error *err)
{
    struct pfs_user_rec u;
    int rc = pfs_sqlite_user_get(st, scope, name, &u);

    if (rc)
        return pf_error_set(err, rc, "user %s does not exist", name);
    rc = pfs_sqlite_begin(st, now_ms, err);
    if (rc)
        return rc;
    rc = pfs_store_sql_run(st->db, "UPDATE users SET disabled_ms = ?2 WHERE name = ?1", "Si", name,
                           disabled ? now_ms : (int64_t)0);
    if (!rc && disabled)
        rc = pfs_store_sql_run(st->db, "DELETE FROM sessions WHERE user = ?1", "S", name);
    if (!rc)
        rc = acc__audit(st, actor, now_ms, disabled ? "user.disable" : "user.enable", name,
                        json_pack("{s:I}", "disabled_ms", (json_int_t)u.disabled_ms),
                        json_pack("{s:I}", "disabled_ms", (json_int_t)(disabled ? now_ms : 0)),
                        u.merchant[0] ? u.merchant : NULL, err);
    return pfs_sqlite_end(st, rc, err);
}

/* --- sessions --- */

int pfs_sqlite_session_add(struct pfs_sqlite *st, const uint8_t hash[PFS_SECRET_HASH],
                           const char *user, const char *csrf, int64_t now_ms, int64_t expires_ms,
                           struct pf_error *err)
{
    sqlite3_stmt *s;
    int rc = pfs_sqlite_begin(st, now_ms, err);

    if (rc)
        return rc;
    /* Expired sessions go as new ones come. */
    rc = pfs_store_sql_run(st->db, "DELETE FROM sessions WHERE expires_ms <= ?1", "i", now_ms);
    if (!rc && acc__prepare(st,
                            "INSERT INTO sessions (hash, user, csrf, created_ms, expires_ms)"
                            " VALUES (?1, ?2, ?3, ?4, ?5)",
                            &s) == 0) {
        sqlite3_bind_blob(s, 1, hash, PFS_SECRET_HASH, SQLITE_STATIC);
        sqlite3_bind_text(s, 2, user, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 3, csrf, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 4, now_ms);
        sqlite3_bind_int64(s, 5, expires_ms);
        rc = acc__done(s);
    } else if (!rc) {
        rc = PF_EIO;
    }
    if (rc)
        pf_error_set(err, rc, "store: session: %s", pf_strerror(rc));
    return pfs_sqlite_end(st, rc, err);
}

int pfs_sqlite_session_get(struct pfs_sqlite *st, const uint8_t hash[PFS_SECRET_HASH],
                           int64_t now_ms, struct pfs_session_rec *out)
{
    sqlite3_stmt *s;
    int rc;

    if (acc__prepare(st,
                     "SELECT " USER_COLS ", x.csrf, x.expires_ms FROM sessions x JOIN users u ON"
                     " u.name = x.user JOIN orgs o ON o.id = u.org_id WHERE x.hash = ?1 AND"
                     " x.expires_ms > ?2 AND u.disabled_ms = 0",
                     &s))
        return PF_EIO;
    sqlite3_bind_blob(s, 1, hash, PFS_SECRET_HASH, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, now_ms);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        acc__user_read(s, 0, &out->user);
        pfs_sqlite_col_text(s, 11, out->csrf, sizeof(out->csrf));
        out->expires_ms = sqlite3_column_int64(s, 12);
    }
    sqlite3_finalize(s);
    return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? PF_ENOENT : PF_EIO;
}

int pfs_sqlite_session_end(struct pfs_sqlite *st, const uint8_t hash[PFS_SECRET_HASH],
                           const struct pfs_actor *actor, int64_t now_ms, struct pf_error *err)
{
    sqlite3_stmt *s;
    int rc = pfs_sqlite_begin(st, now_ms, err);

    if (rc)
        return rc;
    if (acc__prepare(st, "DELETE FROM sessions WHERE hash = ?1", &s) == 0) {
        sqlite3_bind_blob(s, 1, hash, PFS_SECRET_HASH, SQLITE_STATIC);
        rc = acc__done(s);
        if (!rc && sqlite3_changes(st->db) == 0)
            rc = PF_ENOENT;
    } else {
        rc = PF_EIO;
    }
    if (!rc)
        rc = acc__audit(st, actor, now_ms, "logout", actor && actor->name ? actor->name : "-", NULL,
                        NULL, NULL, err);
    return pfs_sqlite_end(st, rc, err);
}

/* --- API tokens --- */

#define TOKEN_COLS                                                                                 \
    "t.id, t.name, t.user, t.created_ms, t.expires_ms, coalesce(t.revoked_ms, 0),"                 \
    " coalesce(t.last_used_ms, 0)"

static void acc__token_read(sqlite3_stmt *s, struct pfs_apitoken_rec *t)
{
    memset(t, 0, sizeof(*t));
    t->id = sqlite3_column_int64(s, 0);
    pfs_sqlite_col_text(s, 1, t->name, sizeof(t->name));
    pfs_sqlite_col_text(s, 2, t->user, sizeof(t->user));
    t->created_ms = sqlite3_column_int64(s, 3);
    t->expires_ms = sqlite3_column_int64(s, 4);
    t->revoked_ms = sqlite3_column_int64(s, 5);
    t->last_used_ms = sqlite3_column_int64(s, 6);
}

int pfs_sqlite_apitoken_add(struct pfs_sqlite *st, const uint8_t hash[PFS_SECRET_HASH],
                            const struct pfs_apitoken_rec *t, const struct pfs_actor *actor,
                            struct pfs_apitoken_rec *out, struct pf_error *err)
{
    sqlite3_stmt *s;
    int64_t id = 0;
    int rc = pfs_sqlite_begin(st, t->created_ms, err);

    if (rc)
        return rc;
    if (acc__prepare(st,
                     "INSERT INTO api_tokens (name, user, hash, created_ms, expires_ms)"
                     " VALUES (?1, ?2, ?3, ?4, ?5)",
                     &s) == 0) {
        sqlite3_bind_text(s, 1, t->name, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 2, t->user, -1, SQLITE_STATIC);
        sqlite3_bind_blob(s, 3, hash, PFS_SECRET_HASH, SQLITE_STATIC);
        sqlite3_bind_int64(s, 4, t->created_ms);
        sqlite3_bind_int64(s, 5, t->expires_ms);
        rc = acc__done(s);
        id = sqlite3_last_insert_rowid(st->db);
    } else {
        rc = PF_EIO;
    }
    if (rc == PF_EEXIST)
        pf_error_set(err, rc, "token %s of %s exists", t->name, t->user);
    if (!rc)
        rc = acc__audit(st, actor, t->created_ms, "token.create", t->user, NULL,
                        json_pack("{s:I, s:s, s:I}", "id", (json_int_t)id, "name", t->name,
                                  "expires_ms", (json_int_t)t->expires_ms),
                        NULL, err);
    rc = pfs_sqlite_end(st, rc, err);
    if (!rc) {
        *out = *t;
        out->id = id;
    }
    return rc;
}

int pfs_sqlite_apitoken_use(struct pfs_sqlite *st, const uint8_t hash[PFS_SECRET_HASH],
                            int64_t now_ms, struct pfs_apitoken_rec *t, struct pfs_user_rec *user)
{
    sqlite3_stmt *s;
    int rc;

    if (acc__prepare(st,
                     "SELECT " TOKEN_COLS ", " USER_COLS " FROM api_tokens t JOIN users u ON"
                     " u.name = t.user JOIN orgs o ON o.id = u.org_id WHERE t.hash = ?1 AND"
                     " t.revoked_ms IS NULL AND t.expires_ms > ?2 AND u.disabled_ms = 0",
                     &s))
        return PF_EIO;
    sqlite3_bind_blob(s, 1, hash, PFS_SECRET_HASH, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, now_ms);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        acc__token_read(s, t);
        acc__user_read(s, 7, user);
    }
    sqlite3_finalize(s);
    if (rc != SQLITE_ROW)
        return rc == SQLITE_DONE ? PF_ENOENT : PF_EIO;
    /* The last use: joins an open ingest batch if there is one. */
    if (pfs_store_sql_run(st->db, "UPDATE api_tokens SET last_used_ms = ?2 WHERE id = ?1", "ii",
                          t->id, now_ms) == 0)
        t->last_used_ms = now_ms;
    return 0;
}

int pfs_sqlite_apitoken_list(struct pfs_sqlite *st, const struct pfs_scope *scope, const char *user,
                             pfs_apitoken_cb cb, void *ctx)
{
    sqlite3_stmt *s;
    struct pfs_apitoken_rec t;
    int rc = 0, step;

    if (acc__prepare(
                st,
                "SELECT " TOKEN_COLS " FROM api_tokens t JOIN users u ON u.name = t.user"
                " JOIN orgs o ON o.id = u.org_id WHERE (?1 IS NULL OR t.user = ?1)" USER_IN_SCOPE
                " ORDER BY t.id",
                &s))
        return PF_EIO;
    pfs_sqlite_bind_text(s, 1, user);
    pfs_sqlite_bind_scope(s, 8, 9, scope);
    while ((step = sqlite3_step(s)) == SQLITE_ROW) {
        acc__token_read(s, &t);
        rc = cb(ctx, &t);
        if (rc)
            break;
    }
    if (!rc && step != SQLITE_DONE)
        rc = PF_EIO;
    sqlite3_finalize(s);
    return rc;
}

int pfs_sqlite_apitoken_revoke(struct pfs_sqlite *st, const struct pfs_scope *scope,
                               const char *user, int64_t id, const struct pfs_actor *actor,
                               int64_t now_ms, struct pf_error *err)
{
    sqlite3_stmt *s;
    char owner[PFS_USER_NAME_MAX + 1] = "";
    int rc;

    if (acc__prepare(st,
                     "SELECT t.user FROM api_tokens t JOIN users u ON u.name = t.user JOIN orgs o"
                     " ON o.id = u.org_id WHERE t.id = ?2 AND (?1 IS NULL OR t.user = ?1) AND"
                     " t.revoked_ms IS NULL" USER_IN_SCOPE,
                     &s))
        return PF_EIO;
    pfs_sqlite_bind_text(s, 1, user);
    sqlite3_bind_int64(s, 2, id);
    pfs_sqlite_bind_scope(s, 8, 9, scope);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        pfs_sqlite_col_text(s, 0, owner, sizeof(owner));
    sqlite3_finalize(s);
    if (rc != SQLITE_ROW)
        return pf_error_set(err, rc == SQLITE_DONE ? PF_ENOENT : PF_EIO,
                            "token %lld: no such live token", (long long)id);
    rc = pfs_sqlite_begin(st, now_ms, err);
    if (rc)
        return rc;
    rc = pfs_store_sql_run(st->db, "UPDATE api_tokens SET revoked_ms = ?2 WHERE id = ?1", "ii", id,
                           now_ms);
    if (!rc)
        rc = acc__audit(
                st, actor, now_ms, "token.revoke", owner, NULL,
                json_pack("{s:I, s:I}", "id", (json_int_t)id, "revoked_ms", (json_int_t)now_ms),
                NULL, err);
    return pfs_sqlite_end(st, rc, err);
}

/* --- scope checks --- */

static int acc__exists(struct pfs_sqlite *st, const char *sql, const char *key, int64_t id,
                       const struct pfs_scope *scope)
{
    sqlite3_stmt *s;
    int rc;

    if (acc__prepare(st, sql, &s))
        return PF_EIO;
    if (key)
        sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
    else
        sqlite3_bind_int64(s, 1, id);
    pfs_sqlite_bind_scope(s, 2, 3, scope);
    rc = sqlite3_step(s);
    sqlite3_finalize(s);
    return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? PF_ENOENT : PF_EIO;
}

int pfs_sqlite_scope_serial(struct pfs_sqlite *st, const struct pfs_scope *scope,
                            const char *serial)
{
    return acc__exists(st,
                       "SELECT 1 FROM devices d WHERE d.serial = ?1 AND " PFS_SQLITE_SCOPE_TERM(
                               "d.serial", "?2", "?3"),
                       serial, 0, scope);
}

int pfs_sqlite_scope_merchant(struct pfs_sqlite *st, const struct pfs_scope *scope,
                              const char *merchant)
{
    return acc__exists(st,
                       "SELECT 1 FROM merchants WHERE id = ?1 AND " PFS_SQLITE_SCOPE_MERCHANT(
                               "merchants.id", "?2", "?3"),
                       merchant, 0, scope);
}

int pfs_sqlite_scope_repair(struct pfs_sqlite *st, const struct pfs_scope *scope, int64_t repair)
{
    return acc__exists(st,
                       "SELECT 1 FROM repairs r WHERE r.id = ?1 AND (CASE WHEN r.merchant_id IS"
                       " NOT NULL THEN " PFS_SQLITE_SCOPE_MERCHANT(
                               "r.merchant_id", "?2",
                               "?3") " ELSE " PFS_SQLITE_SCOPE_TERM("r.serial", "?2", "?3") " END)",
                       NULL, repair, scope);
}

int pfs_sqlite_scope_diag(struct pfs_sqlite *st, const struct pfs_scope *scope, const char *diag)
{
    return acc__exists(st,
                       "SELECT 1 FROM diag_requests g WHERE g.id = ?1 AND " PFS_SQLITE_SCOPE_TERM(
                               "g.serial", "?2", "?3"),
                       diag, 0, scope);
}

int pfs_sqlite_scope_rollout(struct pfs_sqlite *st, const struct pfs_scope *scope, int64_t rollout)
{
    return acc__exists(st,
                       "SELECT 1 FROM rollouts r WHERE r.id = ?1 AND (?2 IS NULL OR (?3 IS NULL"
                       " AND r.org_path IS NOT NULL AND substr(r.org_path, 1, length(?2)) = ?2))",
                       NULL, rollout, scope);
}

/* --- support requests --- */

int pfs_sqlite_support_add(struct pfs_sqlite *st, const struct pfs_support_req *r,
                           const struct pfs_actor *actor, int64_t *id, struct pf_error *err)
{
    int rc = pfs_sqlite_begin(st, r->created_ms, err);

    if (rc)
        return rc;
    rc = pfs_store_sql_run(st->db,
                           "INSERT INTO support_requests (merchant_id, serial, subject, body,"
                           " opened_by, created_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                           "SsSSSi", r->merchant, r->serial, r->subject, r->body, r->opened_by,
                           r->created_ms);
    if (!rc) {
        *id = sqlite3_last_insert_rowid(st->db);
        rc = acc__audit(st, actor, r->created_ms, "support.open", r->merchant, NULL,
                        json_pack("{s:I, s:s, s:s?, s:s}", "id", (json_int_t)*id, "merchant",
                                  r->merchant, "serial", r->serial[0] ? r->serial : NULL, "subject",
                                  r->subject),
                        r->merchant, err);
    }
    return pfs_sqlite_end(st, rc, err);
}

int pfs_sqlite_support_list(struct pfs_sqlite *st, const struct pfs_scope *scope, int limit,
                            pfs_support_cb cb, void *ctx)
{
    sqlite3_stmt *s;
    struct pfs_support_req r;
    int rc = 0, step;

    if (acc__prepare(
                st,
                "SELECT id, merchant_id, coalesce(serial, ''), subject, body, opened_by,"
                " status, created_ms FROM support_requests WHERE " PFS_SQLITE_SCOPE_MERCHANT(
                        "support_requests.merchant_id", "?2", "?3") " ORDER BY id DESC LIMIT ?1",
                &s))
        return PF_EIO;
    sqlite3_bind_int(s, 1, limit);
    pfs_sqlite_bind_scope(s, 2, 3, scope);
    while ((step = sqlite3_step(s)) == SQLITE_ROW) {
        memset(&r, 0, sizeof(r));
        r.id = sqlite3_column_int64(s, 0);
        pfs_sqlite_col_text(s, 1, r.merchant, sizeof(r.merchant));
        pfs_sqlite_col_text(s, 2, r.serial, sizeof(r.serial));
        pfs_sqlite_col_text(s, 3, r.subject, sizeof(r.subject));
        pfs_sqlite_col_text(s, 4, r.body, sizeof(r.body));
        pfs_sqlite_col_text(s, 5, r.opened_by, sizeof(r.opened_by));
        pfs_sqlite_col_text(s, 6, r.status, sizeof(r.status));
        r.created_ms = sqlite3_column_int64(s, 7);
        rc = cb(ctx, &r);
        if (rc)
            break;
    }
    if (!rc && step != SQLITE_DONE)
        rc = PF_EIO;
    sqlite3_finalize(s);
    return rc;
}
