/*
 * store_bulk.c - bulk bind, unbind and tags of store_lifecycle.h on SQLite:
 * one transaction for the whole file, each terminal changed by the same code
 * as its single call (life__bind, life__unbind, life__tags: rules, history
 * line, audit row), every refusal reported, and nothing kept unless all of
 * them went through.
 */
#include "store/sqlite/store_lifecycle_internal.h"

#include <stdio.h>

#include "store/sqlite/store_sqlite_internal.h"
#include "store/sqlite/store_tx.h"

int pfs_sqlite_term_bulk(struct pfs_sqlite *st, enum pfs_bulk_kind kind,
                         const struct pfs_bulk_op *ops, size_t n, bool check, pfs_bulk_bad_cb bad,
                         void *ctx, const struct pfs_actor *actor, int64_t now_ms, size_t *nbad,
                         struct pf_error *err)
{
    int rc, first = 0;

    *nbad = 0;
    rc = pfs_sqlite_begin(st, now_ms, err);
    if (rc)
        return rc;
    for (size_t i = 0; i < n && !rc; i++) {
        const struct pfs_bulk_op *op = &ops[i];
        struct pf_error rerr = {0};
        int step;

        switch (kind) {
        case PFS_BULK_BIND:
            step = life__bind(st, op->serial, op->arg, false, actor, now_ms, &rerr);
            break;
        case PFS_BULK_UNBIND:
            step = life__unbind(st, op->serial, op->arg, actor, now_ms, &rerr);
            break;
        case PFS_BULK_TAGS:
            step = life__tags(st, op->serial, op->arg, actor, now_ms, &rerr);
            break;
        default:
            step = pf_error_set(&rerr, PF_EINVAL, "unknown bulk change");
            break;
        }
        if (!step)
            continue;
        if (step == PF_ENOMEM) {
            rc = pf_error_set(err, step, "out of memory");
            break;
        }
        if (!first)
            first = step;
        (*nbad)++;
        if (bad && (rc = bad(ctx, op->line, step, rerr.msg)))
            pf_error_set(err, rc, "bulk: %s", pf_strerror(rc));
    }
    if (!rc && first)
        rc = pf_error_set(err, first, "%zu bad line%s (nothing changed)", *nbad,
                          *nbad == 1 ? "" : "s");
    if (!rc && check) {
        pfs_sqlite_tx_rollback(&st->tx);
        return 0;
    }
    return pfs_sqlite_end(st, rc, err);
}
