/*
 * pg_metrics.h - store_metrics.h on PostgreSQL: the counts /metrics shows.
 */
#ifndef PFS_PG_METRICS_H
#define PFS_PG_METRICS_H

#include "store/postgres/pg_store.h"
#include "store/store_metrics.h"

int pfs_pg_gauges(struct pfs_pg_store *st, pfs_gauge_cb cb, void *ctx) PF_WUR;

#endif
