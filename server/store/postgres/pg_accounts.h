/*
 * pg_accounts.h - the PostgreSQL twins of store_accounts.h: organisations,
 * users, sessions, API tokens, the scope checks, the scoped lists and
 * support requests (pfs_pg_summary_in is pg_devices.h's). Behaviour, errors
 * and audit rows are the SQLite backend's (server/store/sqlite/
 * store_accounts.c).
 *
 * Also the SQL text of the one scope rule for the backend's queries (the
 * twin of sqlite/store_scope.h): a terminal lies inside a scope when its
 * bound merchant's organisation path starts with the scope's path (and, for
 * a merchant user, it is bound to that merchant); a merchant when its own
 * organisation's does. Headquarters' scope passes NULL parameters and filters
 * nothing. Organisation paths hold only digits and '/', so "path LIKE P ||
 * '%'" is a prefix test (orgs_path_prefix answers it).
 */
#ifndef PFS_PG_ACCOUNTS_H
#define PFS_PG_ACCOUNTS_H

#include "store/postgres/pg_store.h"
#include "store/store_accounts.h"

/* True when the terminal whose serial is the SQL expression COL lies inside
 * the scope passed as parameters P (path) and M (merchant), e.g. "$7". */
#define PFS_PG_SCOPE_TERM(COL, P, M)                                                               \
    "(" P "::text IS NULL OR EXISTS (SELECT 1 FROM terminals sc_t JOIN merchants sc_m ON"          \
    " sc_m.id = sc_t.merchant_id JOIN orgs sc_o ON sc_o.id = sc_m.org_id WHERE sc_t.serial = " COL \
    " AND sc_o.path LIKE " P "::text || '%' AND (" M "::text IS NULL OR sc_t.merchant_id = " M     \
    "::text)))"
/* The same for the merchant whose id is the SQL expression COL. */
#define PFS_PG_SCOPE_MERCHANT(COL, P, M)                                                           \
    "(" P "::text IS NULL OR EXISTS (SELECT 1 FROM merchants sc_m JOIN orgs sc_o ON sc_o.id ="     \
    " sc_m.org_id WHERE sc_m.id = " COL " AND sc_o.path LIKE " P "::text || '%' AND (" M           \
    "::text IS NULL OR sc_m.id = " M "::text)))"
/* The same for an organisation path expression COL (no merchant part). */
#define PFS_PG_SCOPE_PATH(COL, P) "(" P "::text IS NULL OR " COL " LIKE " P "::text || '%')"

/* The scope's two parameter values: NULL, NULL for headquarters or a NULL
 * scope; else its path and its merchant (NULL when none). */
void pfs_pg_scope_params(const struct pfs_scope *scope, const char **path, const char **merchant);

/* A secret's hash as a bytea parameter in text form ("\x" and 64 hex digits). */
#define PFS_PG_HASH_LEN (2 + 2 * PFS_SECRET_HASH + 1)
const char *pfs_pg_hash_param(char buf[PFS_PG_HASH_LEN], const uint8_t hash[PFS_SECRET_HASH]);

/* A text column of row r copied into buf (len bytes), cut to fit ("" when
 * NULL): the SQLite backend's column reader does the same. */
void pfs_pg_acc_text(const PGresult *res, int r, int c, char *buf, size_t len);

/* A merchant's columns (of table alias A, e.g. "m.") in the order
 * pfs_pg_acc_merchant_read takes them, and that reader (lifecycle/merchant.h's
 * record; the fee plan read back from its JSON). */
#define PFS_PG_MERCHANT_COLS(A)                                                                    \
    A "id, " A "name, " A "uscc, " A "mcc, " A "address, " A "contact_name, " A                    \
      "contact_phone, " A "tz, " A "settlement, " A "fee_plan::text, " A "status, " A              \
      "created_ms, " A "updated_ms, " A "region, " A "review_reason"
struct pfs_merchant;
void pfs_pg_acc_merchant_read(const PGresult *res, int r, struct pfs_merchant *m);

/* --- organisations --- */

int pfs_pg_org_add(struct pfs_pg_store *st, const struct pfs_scope *scope, const char *name,
                   int64_t parent, const struct pfs_actor *actor, int64_t now_ms,
                   struct pfs_org *out, struct pf_error *err) PF_WUR;
int pfs_pg_org_get(struct pfs_pg_store *st, const struct pfs_scope *scope, int64_t id,
                   const char *name, struct pfs_org *out) PF_WUR;
int pfs_pg_org_list(struct pfs_pg_store *st, const struct pfs_scope *scope, pfs_org_cb cb,
                    void *ctx) PF_WUR;
int pfs_pg_merchant_set_org(struct pfs_pg_store *st, const struct pfs_scope *scope,
                            const char *merchant, int64_t org_id, const struct pfs_actor *actor,
                            int64_t now_ms, struct pf_error *err) PF_WUR;

/* --- users --- */

int pfs_pg_user_add(struct pfs_pg_store *st, const struct pfs_scope *scope,
                    const struct pfs_user_rec *u, const struct pfs_actor *actor, int64_t now_ms,
                    struct pf_error *err) PF_WUR;
int pfs_pg_user_get(struct pfs_pg_store *st, const struct pfs_scope *scope, const char *name,
                    struct pfs_user_rec *out) PF_WUR;
int pfs_pg_user_list(struct pfs_pg_store *st, const struct pfs_scope *scope, pfs_user_cb cb,
                     void *ctx) PF_WUR;
int pfs_pg_user_login_result(struct pfs_pg_store *st, const char *name,
                             enum pfs_login_outcome outcome, int64_t locked_until_ms,
                             const struct pfs_actor *actor, int64_t now_ms,
                             struct pf_error *err) PF_WUR;
int pfs_pg_user_set_password(struct pfs_pg_store *st, const char *name, const char *pwhash,
                             const uint8_t *keep, const struct pfs_actor *actor, int64_t now_ms,
                             struct pf_error *err) PF_WUR;
int pfs_pg_user_rehash(struct pfs_pg_store *st, const char *name, const char *old_hash,
                       const char *new_hash, int64_t now_ms, struct pf_error *err) PF_WUR;
int pfs_pg_user_set_role(struct pfs_pg_store *st, const struct pfs_scope *scope, const char *name,
                         const char *role, const struct pfs_actor *actor, int64_t now_ms,
                         struct pf_error *err) PF_WUR;
int pfs_pg_user_set_disabled(struct pfs_pg_store *st, const struct pfs_scope *scope,
                             const char *name, bool disabled, const struct pfs_actor *actor,
                             int64_t now_ms, struct pf_error *err) PF_WUR;

/* --- sessions --- */

int pfs_pg_session_add(struct pfs_pg_store *st, const uint8_t hash[PFS_SECRET_HASH],
                       const char *user, const char *csrf, int64_t now_ms, int64_t expires_ms,
                       struct pf_error *err) PF_WUR;
int pfs_pg_session_get(struct pfs_pg_store *st, const uint8_t hash[PFS_SECRET_HASH], int64_t now_ms,
                       struct pfs_session_rec *out) PF_WUR;
int pfs_pg_session_end(struct pfs_pg_store *st, const uint8_t hash[PFS_SECRET_HASH],
                       const struct pfs_actor *actor, int64_t now_ms, struct pf_error *err) PF_WUR;

/* --- API tokens --- */

int pfs_pg_apitoken_add(struct pfs_pg_store *st, const uint8_t hash[PFS_SECRET_HASH],
                        const struct pfs_apitoken_rec *t, const struct pfs_actor *actor,
                        struct pfs_apitoken_rec *out, struct pf_error *err) PF_WUR;
int pfs_pg_apitoken_use(struct pfs_pg_store *st, const uint8_t hash[PFS_SECRET_HASH],
                        int64_t now_ms, struct pfs_apitoken_rec *t,
                        struct pfs_user_rec *user) PF_WUR;
int pfs_pg_apitoken_list(struct pfs_pg_store *st, const struct pfs_scope *scope, const char *user,
                         pfs_apitoken_cb cb, void *ctx) PF_WUR;
int pfs_pg_apitoken_revoke(struct pfs_pg_store *st, const struct pfs_scope *scope, const char *user,
                           int64_t id, const struct pfs_actor *actor, int64_t now_ms,
                           struct pf_error *err) PF_WUR;

/* --- scope checks --- */

int pfs_pg_scope_serial(struct pfs_pg_store *st, const struct pfs_scope *scope,
                        const char *serial) PF_WUR;
int pfs_pg_scope_merchant(struct pfs_pg_store *st, const struct pfs_scope *scope,
                          const char *merchant) PF_WUR;
int pfs_pg_scope_repair(struct pfs_pg_store *st, const struct pfs_scope *scope,
                        int64_t repair) PF_WUR;
int pfs_pg_scope_diag(struct pfs_pg_store *st, const struct pfs_scope *scope,
                      const char *diag) PF_WUR;
int pfs_pg_scope_rollout(struct pfs_pg_store *st, const struct pfs_scope *scope,
                         int64_t rollout) PF_WUR;

/* --- the scoped lists --- */

/* pfs_pg_summary_in, pfs_pg_fee_tables_in and pfs_pg_alerts_in are
 * pg_devices.h's, with the unscoped forms they serve. */
int pfs_pg_merchant_list_in(struct pfs_pg_store *st, const struct pfs_scope *scope, int status,
                            const char *after, int limit, pfs_merchant_cb cb, void *ctx,
                            bool *more) PF_WUR;
int pfs_pg_repair_list_in(struct pfs_pg_store *st, const struct pfs_scope *scope,
                          const char *serial, int state, int limit, pfs_repair_view_cb cb,
                          void *ctx) PF_WUR;
int pfs_pg_merchant_org(struct pfs_pg_store *st, const char *merchant, int64_t *org_id) PF_WUR;

/* --- support requests --- */

int pfs_pg_support_add(struct pfs_pg_store *st, const struct pfs_support_req *r,
                       const struct pfs_actor *actor, int64_t *id, struct pf_error *err) PF_WUR;
int pfs_pg_support_list(struct pfs_pg_store *st, const struct pfs_scope *scope, int limit,
                        pfs_support_cb cb, void *ctx) PF_WUR;

#endif
