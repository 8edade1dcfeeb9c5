/*
 * store_sqlite_internal.h - what other SQLite backend files of the store
 * (store_updates_sqlite.c) share with store_sqlite.c: the connection. Not for
 * callers outside server/store/.
 */
#ifndef PFS_STORE_SQLITE_INTERNAL_H
#define PFS_STORE_SQLITE_INTERNAL_H

#include <sqlite3.h>

#include "store/store.h"

/* The store's connection; borrowed, valid until pfs_store_close(). */
sqlite3 *pfs_store_sqlite_db(struct pfs_store *st);

#endif
