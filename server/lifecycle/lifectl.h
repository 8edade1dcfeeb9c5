/*
 * lifectl.h - posfleetd's own lifecycle transitions and the lock commands.
 *
 * Hooked into ingest (ingest.h hooks): a health report of an installed
 * terminal makes it active; a newer report with tamper locks the terminal
 * (store: state locked, lock command pending, repair opened) and publishes
 * the lock command on pf/v1/cmd/{serial}/lock. A tamper event on
 * pf/v1/dev/{serial}/tamper (pfs_lifectl_on_tamper) does the same at once:
 * it is not batched with health reports. Lock reports on
 * pf/v1/dev/{serial}/lock, routed here by the inbound dispatch
 * (fleet/inbound.h, pfs_lifectl_on_lock), acknowledge a command when they
 * echo its id with the wanted state. Until then the command is published again when the
 * terminal reports (at most once a second: it is connected and has not
 * answered), and every retry_ms while the broker has not taken a copy
 * (posfleetd offline). A terminal that is away gets the copy its broker
 * session holds, not one per retry. Pending commands live in the store, so
 * a restart of posfleetd resumes them.
 *
 * The API (api_lifecycle.c) calls pfs_lifectl_installed() after binding or
 * swapping a terminal and pfs_lifectl_send() after a repair closes with an
 * unlock. Borrows store, publisher, clock and log; one thread (the loop).
 */
#ifndef PFS_LIFECTL_H
#define PFS_LIFECTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "base/log.h"
#include "base/publisher.h"
#include "pf/clock.h"
#include "pf/msg.h"
#include "pf/msg_lifecycle.h"
#include "store/store.h"
#include "store/store_lifecycle.h"

#define PFS_LIFECTL_RETRY_MS 5000

struct pfs_lifectl_cmd {
    char serial[PF_SERIAL_MAX + 1];
    char id[PF_LOCK_ID_MAX + 1];
    bool lock;
    char reason[PF_LOCK_REASON_MAX + 1];
    int64_t sent_ms;  /* monotonic; 0 = never */
    int64_t heard_ms; /* monotonic: the terminal's last report */
    bool delivered;   /* the broker took the last copy */
    unsigned sends;
};

struct pfs_notify;

struct pfs_lifectl {
    struct pfs_notify *notify; /* webhooks for tamper, lock, unlock (notify.h); may be NULL */
    struct pfs_store *store;
    const struct pfs_publisher *pub; /* NULL: no broker (API-only tests); commands stay pending */
    const struct pf_clock *clock;
    const struct pfs_log *log;
    int64_t retry_ms;
    uv_timer_t timer;
    bool timer_open;
    struct pfs_lifectl_cmd *cmds; /* unacknowledged commands */
    size_t ncmds, capcmds;
    char (*installed)[PF_SERIAL_MAX + 1]; /* bound, waiting for their first report */
    size_t ninst, capinst;
    /* Tampered terminals whose lock a bulk change being written refused
     * (store held): locked by the retry timer once it has ended. */
    char (*tamper_later)[PF_SERIAL_MAX + 1];
    size_t ntamper, captamper;
    uint32_t seq;
    uint64_t published; /* lock commands published (for tests and logs) */
    /* Moves rollout memberships in a swap's transaction; set by the rollout
     * module when it exists (NULL: nothing more to move). */
    pfs_swap_hook swap_hook;
    void *swap_hook_ctx;
};

/* Loads pending commands and installed terminals; starts the retry timer when
 * loop is not NULL. */
int pfs_lifectl_init(struct pfs_lifectl *lc, uv_loop_t *loop, struct pfs_store *store,
                     const struct pfs_publisher *pub, const struct pf_clock *clock,
                     const struct pfs_log *log, int64_t retry_ms, struct pf_error *err) PF_WUR;
/* Stops and closes the retry timer (the loop must run once more). */
void pfs_lifectl_stop(struct pfs_lifectl *lc);
/* Frees memory (and closes the timer if pfs_lifectl_stop was not called). */
void pfs_lifectl_release(struct pfs_lifectl *lc);

/* A fresh command id for serial. */
void pfs_lifectl_new_id(struct pfs_lifectl *lc, bool lock, char out[PF_LOCK_ID_MAX + 1]);
/* Tracks a command (already stored as pending) and publishes it now. */
int pfs_lifectl_send(struct pfs_lifectl *lc, const char *serial, const char *id, bool lock,
                     const char *reason) PF_WUR;
/* A terminal was bound: its next report makes it active. */
int pfs_lifectl_installed(struct pfs_lifectl *lc, const char *serial) PF_WUR;
/* Many may have been bound at once (an import with merchants): tracks every
 * installed terminal of the store. */
int pfs_lifectl_installed_reload(struct pfs_lifectl *lc) PF_WUR;
/* A terminal's pending command is gone (retired, scrapped). */
void pfs_lifectl_forget(struct pfs_lifectl *lc, const char *serial);

/* ingest's health hook (ctx is the struct pfs_lifectl). */
void pfs_lifectl_on_health(void *ctx, const char *serial, const struct pf_health *h, bool newer);
/* Inbound handler for dev/{serial}/lock of a registered terminal: 0, or the rejection
 * reason (a decoder's code, PF_EIO when the store failed), logged here. */
int pfs_lifectl_on_lock(void *ctx, const char *serial, const void *payload, size_t len);
/* Inbound handler for dev/{serial}/tamper: locks the terminal as a tamper in a
 * health report does. 0, or the rejection reason (logged here). */
int pfs_lifectl_on_tamper(void *ctx, const char *serial, const void *payload, size_t len);

#endif
