/*
 * store_scope.h - the SQL text of the one scope rule (store_accounts.h) for
 * the SQLite backend's queries: a terminal lies inside a scope when its
 * bound merchant's organisation path starts with the scope's path (and, for
 * a merchant user, it is bound to that merchant); a merchant when its own
 * organisation's does. Headquarters' scope binds NULL and filters nothing
 * (terminals in stock are headquarters'). Only server/store/sqlite/ includes
 * it.
 */
#ifndef PFS_STORE_SCOPE_H
#define PFS_STORE_SCOPE_H

#include <sqlite3.h>

#include "store/sqlite/store_sqlite_api.h"
#include "store/store_accounts.h"

/* True when the terminal whose serial is the SQL expression COL lies inside
 * the scope bound at parameters P (path) and M (merchant), e.g. "?7". */
#define PFS_SQLITE_SCOPE_TERM(COL, P, M)                                                           \
    "(" P " IS NULL OR EXISTS (SELECT 1 FROM terminals sc_t JOIN merchants sc_m ON sc_m.id ="      \
    " sc_t.merchant_id JOIN orgs sc_o ON sc_o.id = sc_m.org_id WHERE sc_t.serial = " COL           \
    " AND substr(sc_o.path, 1, length(" P ")) = " P " AND (" M " IS NULL OR sc_t.merchant_id = " M \
    ")))"
/* The same for the merchant whose id is the SQL expression COL. */
#define PFS_SQLITE_SCOPE_MERCHANT(COL, P, M)                                                       \
    "(" P " IS NULL OR EXISTS (SELECT 1 FROM merchants sc_m JOIN orgs sc_o ON sc_o.id ="           \
    " sc_m.org_id WHERE sc_m.id = " COL " AND substr(sc_o.path, 1, length(" P ")) = " P " AND (" M \
    " IS NULL OR sc_m.id = " M ")))"
/* The same for an organisation path expression COL (no merchant part). */
#define PFS_SQLITE_SCOPE_PATH(COL, P) "(" P " IS NULL OR substr(" COL ", 1, length(" P ")) = " P ")"

/* Binds the scope at parameters ip (path) and im (merchant): NULL for
 * headquarters or a NULL scope. */
void pfs_sqlite_bind_scope(sqlite3_stmt *s, int ip, int im, const struct pfs_scope *scope);

#endif
