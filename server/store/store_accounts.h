/*
 * store_accounts.h - organisations, users, sessions, API tokens, support
 * requests and the scope every read of the fleet is filtered by (the list
 * searches apply it too: store_search.h).
 *
 * Organisations form a tree (headquarters -> agents/resellers); each keeps
 * its path from the root ("/1/", "/1/4/"), so "beneath an organisation" is
 * "path starts with its path". A merchant belongs to one organisation, a
 * terminal to its bound merchant's (an unbound terminal is headquarters'
 * stock). A struct pfs_scope names a subtree (and, for merchant users, one
 * merchant); the store queries that take one return only what lies inside
 * it, so scoping is decided in the query, once, not filtered afterwards.
 * A NULL scope is posfleetd itself (the scheduler, ingest): everything.
 *
 * Secrets: sessions and API tokens are stored as BLAKE2b-256 hashes, users'
 * passwords as crypto_pwhash_str strings; the store never sees a password or
 * a token. Hashing and verifying are accounts/'s (accounts.h).
 *
 * All structs are caller-owned values; strings handed to callbacks are valid
 * during the call only.
 */
#ifndef PFS_STORE_ACCOUNTS_H
#define PFS_STORE_ACCOUNTS_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "pf/error.h"
#include "store/store.h"
#include "store/store_lifecycle.h"

#define PFS_ORG_NAME_MAX     64
#define PFS_ORG_PATH_MAX     128
#define PFS_USER_NAME_MAX    64
#define PFS_PWHASH_MAX       128 /* crypto_pwhash_STRBYTES */
#define PFS_SECRET_HASH      32  /* BLAKE2b-256 of a session or API token */
#define PFS_CSRF_LEN         43  /* base64url of 32 random bytes, no padding */
#define PFS_SUPPORT_TEXT_MAX 2000
#define PFS_HQ_ORG_ID        1
#define PFS_HQ_ORG_PATH      "/1/"

/* What a person may see: an organisation's subtree, and for a merchant user
 * one merchant inside it. */
struct pfs_scope {
    char path[PFS_ORG_PATH_MAX + 1];     /* "/1/" is headquarters: everything */
    char merchant[PFS_MERCHANT_MAX + 1]; /* "" any merchant of the subtree */
};

/* Whether scope filters nothing (NULL, or headquarters without a merchant). */
static inline bool pfs_scope_all(const struct pfs_scope *s)
{
    return !s || (strcmp(s->path, PFS_HQ_ORG_PATH) == 0 && !s->merchant[0]);
}

enum pfs_org_kind { PFS_ORG_HQ, PFS_ORG_AGENT };
extern const char *const pfs_org_kind_names[]; /* "headquarters", "agent", NULL */

struct pfs_org {
    int64_t id;
    char name[PFS_ORG_NAME_MAX + 1];
    enum pfs_org_kind kind;
    int64_t parent; /* 0 for headquarters */
    char path[PFS_ORG_PATH_MAX + 1];
    int64_t created_ms;
};

struct pfs_user_rec {
    char name[PFS_USER_NAME_MAX + 1];
    char pwhash[PFS_PWHASH_MAX + 1];
    char role[16];
    int64_t org_id;
    char org[PFS_ORG_NAME_MAX + 1];      /* read only */
    char org_path[PFS_ORG_PATH_MAX + 1]; /* read only */
    char merchant[PFS_MERCHANT_MAX + 1]; /* merchant users only, else "" */
    int64_t failed;                      /* failed logins since the last success */
    int64_t locked_until_ms;
    int64_t created_ms;
    int64_t disabled_ms; /* when an administrator disabled it; 0: enabled */
};

/* A session as its token's hash finds it, with its user. */
struct pfs_session_rec {
    struct pfs_user_rec user;
    char csrf[PFS_CSRF_LEN + 1];
    int64_t expires_ms;
};

struct pfs_apitoken_rec {
    int64_t id;
    char name[PFS_USER_NAME_MAX + 1];
    char user[PFS_USER_NAME_MAX + 1];
    int64_t created_ms, expires_ms, revoked_ms, last_used_ms; /* 0: not (yet) */
};

struct pfs_support_req {
    int64_t id;
    char merchant[PFS_MERCHANT_MAX + 1];
    char serial[PF_SERIAL_MAX + 1]; /* "" none */
    char subject[201];
    char body[PFS_SUPPORT_TEXT_MAX + 1];
    char opened_by[PFS_USER_NAME_MAX + 1];
    char status[8];
    int64_t created_ms;
};

typedef int (*pfs_org_cb)(void *ctx, const struct pfs_org *o);
typedef int (*pfs_user_cb)(void *ctx, const struct pfs_user_rec *u);
typedef int (*pfs_apitoken_cb)(void *ctx, const struct pfs_apitoken_rec *t);
typedef int (*pfs_support_cb)(void *ctx, const struct pfs_support_req *r);

/* --- organisations (administrative: audited) --- */

/* A new agent under parent (which must be inside scope): PF_EEXIST for a
 * taken name, PF_ENOENT for a parent outside the scope. */
int pfs_store_org_add(struct pfs_store *st, const struct pfs_scope *scope, const char *name,
                      int64_t parent, const struct pfs_actor *actor, int64_t now_ms,
                      struct pfs_org *out, struct pf_error *err) PF_WUR;
/* By id or (id 0) by name, only inside scope (NULL: any): PF_ENOENT. */
int pfs_store_org_get(struct pfs_store *st, const struct pfs_scope *scope, int64_t id,
                      const char *name, struct pfs_org *out) PF_WUR;
int pfs_store_org_list(struct pfs_store *st, const struct pfs_scope *scope, pfs_org_cb cb,
                       void *ctx) PF_WUR;
/* Moves a merchant (inside scope) to an organisation (inside scope). */
int pfs_store_merchant_set_org(struct pfs_store *st, const struct pfs_scope *scope,
                               const char *merchant, int64_t org_id, const struct pfs_actor *actor,
                               int64_t now_ms, struct pf_error *err) PF_WUR;

/* --- users --- */

/* u->name, pwhash, role, org_id (inside scope), merchant (inside scope, for
 * merchant users). PF_EEXIST for a taken name. Audited without the hash. */
int pfs_store_user_add(struct pfs_store *st, const struct pfs_scope *scope,
                       const struct pfs_user_rec *u, const struct pfs_actor *actor, int64_t now_ms,
                       struct pf_error *err) PF_WUR;
/* PF_ENOENT if absent or outside scope (NULL: any). */
int pfs_store_user_get(struct pfs_store *st, const struct pfs_scope *scope, const char *name,
                       struct pfs_user_rec *out) PF_WUR;
int pfs_store_user_list(struct pfs_store *st, const struct pfs_scope *scope, pfs_user_cb cb,
                        void *ctx) PF_WUR;
/* What became of a login attempt. */
enum pfs_login_outcome {
    PFS_LOGIN_OK,      /* "login": failed and the lock reset */
    PFS_LOGIN_FAILED,  /* "login.failed": failed + 1 */
    PFS_LOGIN_LOCKED,  /* "login.locked": failed + 1, and this failure locks (account or address) */
    PFS_LOGIN_REFUSED, /* "login.refused": locked already, the password not even checked */
};
/* Records a login attempt of name (a user or not) with its audit row; never
 * the password. locked_until_ms (> 0) locks the account until then. */
int pfs_store_user_login_result(struct pfs_store *st, const char *name,
                                enum pfs_login_outcome outcome, int64_t locked_until_ms,
                                const struct pfs_actor *actor, int64_t now_ms,
                                struct pf_error *err) PF_WUR;
/* A new password hash; ends every session of the user but keep (a token
 * hash, may be NULL). Audited as user.password. */
int pfs_store_user_set_password(struct pfs_store *st, const char *name, const char *pwhash,
                                const uint8_t *keep, const struct pfs_actor *actor, int64_t now_ms,
                                struct pf_error *err) PF_WUR;

/* The same password hashed again with other Argon2id limits (after a login
 * checked it against old_hash): stored only while old_hash is still the
 * user's, so a password changed meanwhile wins. Sessions stay; not audited
 * (the password is the same; the login's row says who came in). */
int pfs_store_user_rehash(struct pfs_store *st, const char *name, const char *old_hash,
                          const char *new_hash, int64_t now_ms, struct pf_error *err) PF_WUR;
/* A new role for a user inside scope (PF_ENOENT outside); a merchant user's
 * role never changes and no other user becomes one (PF_EINVAL). Audited as
 * user.role with the roles before and after. Sessions and tokens of the user
 * answer with the new role from their next request. */
int pfs_store_user_set_role(struct pfs_store *st, const struct pfs_scope *scope, const char *name,
                            const char *role, const struct pfs_actor *actor, int64_t now_ms,
                            struct pf_error *err) PF_WUR;
/* Disables (disabled_ms = now_ms, every session ended) or enables a user
 * inside scope (PF_ENOENT outside). A disabled user's sessions and API tokens
 * are not found (pfs_store_session_get, pfs_store_apitoken_use) and its login
 * is refused. Audited as user.disable or user.enable. */
int pfs_store_user_set_disabled(struct pfs_store *st, const struct pfs_scope *scope,
                                const char *name, bool disabled, const struct pfs_actor *actor,
                                int64_t now_ms, struct pf_error *err) PF_WUR;

/* --- sessions --- */

int pfs_store_session_add(struct pfs_store *st, const uint8_t hash[PFS_SECRET_HASH],
                          const char *user, const char *csrf, int64_t now_ms, int64_t expires_ms,
                          struct pf_error *err) PF_WUR;
/* A live session (not expired at now_ms, its user not disabled): PF_ENOENT otherwise. */
int pfs_store_session_get(struct pfs_store *st, const uint8_t hash[PFS_SECRET_HASH], int64_t now_ms,
                          struct pfs_session_rec *out) PF_WUR;
/* Ends a session, audited as logout. PF_ENOENT if none. */
int pfs_store_session_end(struct pfs_store *st, const uint8_t hash[PFS_SECRET_HASH],
                          const struct pfs_actor *actor, int64_t now_ms,
                          struct pf_error *err) PF_WUR;

/* --- API tokens --- */

int pfs_store_apitoken_add(struct pfs_store *st, const uint8_t hash[PFS_SECRET_HASH],
                           const struct pfs_apitoken_rec *t, const struct pfs_actor *actor,
                           struct pfs_apitoken_rec *out, struct pf_error *err) PF_WUR;
/* A live token (not revoked, not expired, its user not disabled): its record and its user, and
 * last use set to now_ms. PF_ENOENT otherwise. */
int pfs_store_apitoken_use(struct pfs_store *st, const uint8_t hash[PFS_SECRET_HASH],
                           int64_t now_ms, struct pfs_apitoken_rec *t,
                           struct pfs_user_rec *user) PF_WUR;
/* The tokens of one user (user set) or of every user in scope. */
int pfs_store_apitoken_list(struct pfs_store *st, const struct pfs_scope *scope, const char *user,
                            pfs_apitoken_cb cb, void *ctx) PF_WUR;
/* Revokes a token of user (or, user NULL, of any user in scope). PF_ENOENT. */
int pfs_store_apitoken_revoke(struct pfs_store *st, const struct pfs_scope *scope, const char *user,
                              int64_t id, const struct pfs_actor *actor, int64_t now_ms,
                              struct pf_error *err) PF_WUR;

/* --- scope checks (one per kind of path parameter) --- */

/* 0 if the thing exists inside scope, else PF_ENOENT (outside looks absent). */
int pfs_store_scope_serial(struct pfs_store *st, const struct pfs_scope *scope,
                           const char *serial) PF_WUR;
int pfs_store_scope_merchant(struct pfs_store *st, const struct pfs_scope *scope,
                             const char *merchant) PF_WUR;
int pfs_store_scope_repair(struct pfs_store *st, const struct pfs_scope *scope,
                           int64_t repair) PF_WUR;
int pfs_store_scope_diag(struct pfs_store *st, const struct pfs_scope *scope,
                         const char *diag) PF_WUR;
/* A rollout lies inside a scope when it was made there (never for a merchant's). */
int pfs_store_scope_rollout(struct pfs_store *st, const struct pfs_scope *scope,
                            int64_t rollout) PF_WUR;

/* --- the scoped forms of store.h's and store_lifecycle.h's lists ---
 * The unscoped names are these with a NULL scope. */

int pfs_store_summary_in(struct pfs_store *st, const struct pfs_scope *scope,
                         struct pfs_summary *sum, pfs_group_cb cb, void *ctx) PF_WUR;
/* store.h's pfs_store_fee_tables over the registered terminals inside scope. */
int pfs_store_fee_tables_in(struct pfs_store *st, const struct pfs_scope *scope,
                            pfs_fee_group_cb cb, void *ctx) PF_WUR;
int pfs_store_alerts_in(struct pfs_store *st, const struct pfs_scope *scope, const char *serial,
                        pfs_alert_cb cb, void *ctx) PF_WUR;
int pfs_store_merchant_list_in(struct pfs_store *st, const struct pfs_scope *scope, int status,
                               const char *after, int limit, pfs_merchant_cb cb, void *ctx,
                               bool *more) PF_WUR;
int pfs_store_repair_list_in(struct pfs_store *st, const struct pfs_scope *scope,
                             const char *serial, int state, int limit, pfs_repair_view_cb cb,
                             void *ctx) PF_WUR;
/* The organisation a merchant belongs to (its id), PF_ENOENT. */
int pfs_store_merchant_org(struct pfs_store *st, const char *merchant, int64_t *org_id) PF_WUR;

/* --- support requests --- */

int pfs_store_support_add(struct pfs_store *st, const struct pfs_support_req *r,
                          const struct pfs_actor *actor, int64_t *id, struct pf_error *err) PF_WUR;
/* Newest first, only those of merchants inside scope. */
int pfs_store_support_list(struct pfs_store *st, const struct pfs_scope *scope, int limit,
                           pfs_support_cb cb, void *ctx) PF_WUR;

#endif
