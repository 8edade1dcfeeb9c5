/*
 * bulkjob.c - one long administrative change at a time, off the loop
 * (bulkjob.h).
 */
#include "lifecycle/bulkjob.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

struct bulkjob__run {
    uv_work_t work;
    struct pfs_bulkjob *b;
    struct pfs_store_opts opts; /* the sibling's, opened on the thread pool */
    pfs_bulkjob_work fn;
    pfs_bulkjob_done done;
    void *arg;
    int rc; /* opening the sibling */
    struct pf_error err;
    double t_start, t_work; /* monotonic seconds: started, work ended */
    double loop_start_s;    /* the loop's part of the start */
};

static double bulkjob__now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void pfs_bulkjob_init(struct pfs_bulkjob *b, uv_loop_t *loop, struct pfs_store *store,
                      const struct pf_clock *clock, const struct pfs_log *log)
{
    memset(b, 0, sizeof(*b));
    b->loop = loop;
    b->store = store;
    b->clock = clock;
    b->log = log;
}

/* Thread pool: the change on its own connection, which then closes. */
static void bulkjob__work(uv_work_t *w)
{
    struct bulkjob__run *r = w->data;

    struct pfs_store *sibling = NULL;

    r->rc = pfs_store_open(&r->opts, &sibling, &r->err);
    if (!r->rc)
        r->fn(sibling, r->arg);
    pfs_store_close(sibling);
    r->t_work = bulkjob__now();
}

/* Loop: the held ingest writes go in, then the caller hears. */
static void bulkjob__after(uv_work_t *w, int status)
{
    struct bulkjob__run *r = w->data;
    struct pfs_bulkjob *b = r->b;
    size_t written = 0, dropped = 0;
    double t0 = bulkjob__now();

    (void)status; /* never cancelled: uv_cancel is not called on it */
    if (pfs_store_release(b->store, pf_clock_wall_ms(b->clock), &written, &dropped))
        pfs_log_error(b->log, "store: writing the reports held during a bulk change failed");
    b->held += written;
    b->dropped += dropped;
    if (written || dropped)
        pfs_log_info(b->log, "store: %zu writes held during the bulk change written, %zu dropped",
                     written, dropped);
    b->busy = false;
    pfs_store_sibling_opts_release(&r->opts);
    r->done(r->arg, r->rc, &r->err);
    /* What the job cost the loop: its start and its end, against the work itself. */
    pfs_log_info(b->log,
                 "bulk change: loop %.1f ms to start, %.1f ms to finish; work %.0f ms on the "
                 "thread pool",
                 r->loop_start_s * 1000.0, (bulkjob__now() - t0) * 1000.0,
                 (r->t_work - r->t_start) * 1000.0);
    free(r);
}

int pfs_bulkjob_start(struct pfs_bulkjob *b, pfs_bulkjob_work work, pfs_bulkjob_done done,
                      void *arg, struct pf_error *err)
{
    struct bulkjob__run *r;
    int rc;

    if (b->busy)
        return pf_error_set(err, PF_ESTATE,
                            "a bulk change is under way; try again when it has ended");
    r = calloc(1, sizeof(*r));
    if (!r)
        return pf_error_set(err, PF_ENOMEM, "out of memory");
    r->work.data = r;
    r->b = b;
    r->fn = work;
    r->done = done;
    r->arg = arg;
    r->t_start = bulkjob__now();
    rc = pfs_store_sibling_opts(b->store, &r->opts, err);
    if (!rc && (rc = pfs_store_hold(b->store, pf_clock_wall_ms(b->clock), err)) != 0)
        pfs_store_sibling_opts_release(&r->opts);
    if (rc) {
        free(r);
        return rc;
    }
    b->busy = true;
    b->jobs++;
    r->loop_start_s = bulkjob__now() - r->t_start;
    if (!b->loop || uv_queue_work(b->loop, &r->work, bulkjob__work, bulkjob__after) != 0) {
        bulkjob__work(&r->work);
        bulkjob__after(&r->work, 0);
    }
    return 0;
}
