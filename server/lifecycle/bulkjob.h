/*
 * bulkjob.h - one long administrative change at a time, off the loop thread
 * (docs/server.md, "Bulk changes off the loop").
 *
 * A bulk bind of 100,000 terminals is one store transaction of minutes on a
 * loaded machine; run on the loop it would stop ingest, /healthz and the API
 * for as long. pfs_bulkjob_start() holds the loop's handle (pfs_store_hold: ingest
 * writes wait in memory, other administrative transactions are refused at
 * once with PF_ESTATE) and, on libuv's thread pool, opens a second handle
 * on the same storage (pfs_store_sibling_opts) and runs work(sibling, arg),
 * which writes and commits (or rolls back) its one transaction there.
 * Back on the loop the held writes are committed (pfs_store_release) and
 * done(arg) is called. Nothing is answered before the work's transaction has
 * ended, so nothing is acknowledged that is not committed.
 *
 * work() must touch nothing of the loop's: only the sibling store and what
 * arg owns. Borrows loop, store and log; one thread (the loop) calls in.
 */
#ifndef PFS_BULKJOB_H
#define PFS_BULKJOB_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "base/log.h"
#include "pf/clock.h"
#include "pf/error.h"
#include "store/store.h"

/* Runs on the thread pool with the sibling store (closed afterwards). */
typedef void (*pfs_bulkjob_work)(struct pfs_store *sibling, void *arg);
/* Runs on the loop once the work ended and the held writes are committed; rc
 * (err) is not 0 when the sibling could not be opened and work never ran. */
typedef void (*pfs_bulkjob_done)(void *arg, int rc, const struct pf_error *err);

struct pfs_bulkjob {
    uv_loop_t *loop; /* NULL: the work runs inline (unit tests) */
    struct pfs_store *store;
    const struct pf_clock *clock;
    const struct pfs_log *log;
    bool busy;        /* a job is under way */
    uint64_t jobs;    /* jobs run */
    uint64_t held;    /* ingest writes held and written after a job */
    uint64_t dropped; /* ingest writes dropped (PFS_STORE_HELD_MAX) */
};

void pfs_bulkjob_init(struct pfs_bulkjob *b, uv_loop_t *loop, struct pfs_store *store,
                      const struct pf_clock *clock, const struct pfs_log *log);
/* PF_ESTATE while a job is under way; otherwise 0 and done() follows once,
 * on the loop, or a failure to open the sibling or hold the store (nothing
 * started, done() is not called). */
int pfs_bulkjob_start(struct pfs_bulkjob *b, pfs_bulkjob_work work, pfs_bulkjob_done done,
                      void *arg, struct pf_error *err) PF_WUR;

#endif
