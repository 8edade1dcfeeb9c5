/*
 * pg_online.h - store_online.h on PostgreSQL: the dashboard's online
 * samples. The "source" a worker thread counts from is the store's DSN: the
 * count runs on a session of its own, in one read-only snapshot.
 */
#ifndef PFS_PG_ONLINE_H
#define PFS_PG_ONLINE_H

#include <stddef.h>
#include <stdint.h>

#include "store/postgres/pg_store.h"
#include "store/store_online.h"

/* The source names the backend, so that the one pfs_store_online_count_file
 * (which has no store to dispatch on) knows whose it is: "postgres:" and the
 * DSN. */
#define PFS_PG_ONLINE_SOURCE_PREFIX "postgres:"

/* "postgres:" and the store's DSN into path (the name is store_online.h's). */
int pfs_pg_online_source(struct pfs_pg_store *st, char *path, size_t size) PF_WUR;
/* Counts on a new session to the DSN in path, with or without the prefix
 * (any thread). */
int pfs_pg_online_count_file(const char *path, struct pfs_online_counts *c,
                             struct pf_error *err) PF_WUR;
int pfs_pg_online_save(struct pfs_pg_store *st, int64_t now_ms, int64_t keep_from_ms,
                       const struct pfs_online_counts *c, struct pf_error *err) PF_WUR;
int pfs_pg_online_sample(struct pfs_pg_store *st, int64_t now_ms, int64_t keep_from_ms,
                         struct pf_error *err) PF_WUR;
int pfs_pg_online_series(struct pfs_pg_store *st, const struct pfs_scope *scope, int64_t since_ms,
                         pfs_online_cb cb, void *ctx) PF_WUR;

#endif
