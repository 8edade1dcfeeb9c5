/*
 * pg_search.h - the PostgreSQL twins of store_search.h: terminals, merchants,
 * open alerts and audit rows found a page at a time, with the SQLite
 * backend's filters, scope, orders and keyset cursors (server/store/sqlite/
 * store_search.c). The orders compare text bytewise like SQLite's BINARY
 * collation when the database's collation is "C" (docs/store.md).
 */
#ifndef PFS_PG_SEARCH_H
#define PFS_PG_SEARCH_H

#include "store/postgres/pg_store.h"
#include "store/store_search.h"

int pfs_pg_search_terminals(struct pfs_pg_store *st, const struct pfs_search_terminals *q,
                            pfs_search_terminal_cb cb, void *ctx, bool *more) PF_WUR;
int pfs_pg_search_merchants(struct pfs_pg_store *st, const struct pfs_search_merchants *q,
                            pfs_search_merchant_cb cb, void *ctx, bool *more) PF_WUR;
int pfs_pg_search_alerts(struct pfs_pg_store *st, const struct pfs_search_alerts *q,
                         pfs_search_alert_cb cb, void *ctx, bool *more) PF_WUR;
int pfs_pg_search_audit(struct pfs_pg_store *st, const struct pfs_search_audit *q, pfs_audit_cb cb,
                        void *ctx, bool *more) PF_WUR;
/* PostgreSQL's EXPLAIN of the first page's statement, one line per line. */
int pfs_pg_search_explain(struct pfs_pg_store *st, enum pfs_search_kind kind, const void *q,
                          char *buf, size_t size) PF_WUR;

#endif
