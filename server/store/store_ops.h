/*
 * store_ops.h - what a store backend provides behind store.h.
 *
 * Seen only by store.c (the dispatcher) and the backends under
 * server/store/BACKEND/, never by domain code. A backend's store embeds
 * struct pfs_store as its first member, and its open transactions embed
 * struct pfs_tx likewise, so the dispatcher reaches the backend's table of
 * functions from either handle (docs/store.md, "Choosing the backend at run
 * time"; the pattern is libgit2's git_refdb_backend).
 */
#ifndef PFS_STORE_OPS_H
#define PFS_STORE_OPS_H

#include "store/store.h"

struct pfs_store_ops;

/* The generic part of every backend's store. */
struct pfs_store {
    const struct pfs_store_ops *ops;
};

/* The generic part of every backend's open transaction. */
struct pfs_tx {
    struct pfs_store *st;
};

#endif
