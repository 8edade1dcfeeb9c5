/*
 * rollout.h - posfleetd's rollout scheduler (docs/rollouts.md).
 *
 * A timer on the loop runs pfs_rollouts_tick() every rollout.tick_ms: for each
 * live rollout it applies the time rules, checks the criteria, offers the
 * update (through updates.h, recorded with the member's new status in one
 * transaction) and settles, soaks, gates or promotes stages. Everything it
 * decides is in the store first; what it keeps in memory (scan cursors, the
 * "waiting" text) is rebuilt after a restart.
 *
 * struct pfs_rollouts is caller-owned (init/stop/release); it borrows the
 * config, store, updates module, log and clock. One thread (the loop).
 * Its HTTP endpoints are api/api_rollouts.c's: they call the store and
 * pfs_rollouts_runtime(), and this module knows nothing of HTTP.
 */
#ifndef PFS_ROLLOUT_H
#define PFS_ROLLOUT_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "base/config.h"
#include "base/live.h"
#include "base/log.h"
#include "pf/clock.h"
#include "store/store_rollouts.h"
#include "updates/updates.h"

struct pfs_ro_runtime {
    int64_t id;
    int cur_stage; /* candidate scan cursor */
    char cur_serial[PF_SERIAL_MAX + 1];
    int64_t outside_window;  /* online pending members outside their window (last scan) */
    int64_t window_opens_ms; /* wall: the soonest a window of theirs opens (0: none) */
    int64_t join_at;         /* monotonic: next scan for new registrations */
    int64_t unhealthy_at;    /* monotonic: next unhealthy count */
    int64_t unhealthy;
    char waiting[160];
    bool seen; /* still live at the last tick */
    /* A digest of what its page shows (state, stages, counts, waiting), kept
     * while a console watches it (base/live.h): a tick that finds it
     * different tells the watchers. */
    unsigned char shown[16];
    bool shown_set;
};

struct pfs_rollouts_stats {
    uint64_t ticks, offers, offer_errors, resent, pauses, promotions, timed_out, returned, joined;
    uint64_t deferred_out;
};

struct pfs_notify;

struct pfs_rollouts {
    struct pfs_notify *notify; /* webhooks for paused/completed/expired (notify.h); may be NULL */
    const struct pfs_config *cfg;
    struct pfs_store *store;
    struct pfs_updates *updates;
    const struct pfs_log *log;
    const struct pf_clock *clock;
    uv_timer_t timer;
    bool timer_open;
    struct pfs_ro_runtime *rt;
    size_t nrt, caprt;
    struct pfs_rollouts_stats stats;
    struct pfs_live *live; /* consoles watching rollouts (base/live.h); may be NULL */
};

/* Starts the timer when loop is not NULL (tests may call pfs_rollouts_tick). */
int pfs_rollouts_init(struct pfs_rollouts *ro, uv_loop_t *loop, const struct pfs_config *cfg,
                      struct pfs_store *store, struct pfs_updates *updates,
                      const struct pfs_log *log, const struct pf_clock *clock,
                      struct pf_error *err) PF_WUR;
/* Stops and closes the timer (the loop must run once more). */
void pfs_rollouts_stop(struct pfs_rollouts *ro);
void pfs_rollouts_release(struct pfs_rollouts *ro);

/* One scheduler pass over every live rollout. */
void pfs_rollouts_tick(struct pfs_rollouts *ro);

/* The runtime entry of a rollout (NULL if the scheduler has not seen it). */
const struct pfs_ro_runtime *pfs_rollouts_runtime(const struct pfs_rollouts *ro, int64_t id);

#endif
