/*
 * update.h - the agent's update engine: offers, consent, chunked download
 * into the target, verification, A/B install with boot counter and
 * self-test, fee-table staging and activation, outcome events retransmitted
 * until acknowledged (docs/update.md).
 *
 * Like the agent core it owns no thread and never blocks on the network: the
 * caller feeds it the messages of its cmd/ subtree (pfa_update_on_message,
 * pfa_update_on_ack), tells it when the session comes up, and calls
 * pfa_update_tick() at pfa_update_next_deadline_ms() (monotonic ms). It sends
 * through io->publish on the terminal's dev/ subtree. Disk writes are
 * synchronous and bounded (one chunk, one small state file at a time).
 *
 * Every step is persisted in STATE_DIR/update/state.json with
 * pf_file_write_atomic() before it takes effect outside, together with the
 * events it produces, so any restart resumes or rolls back and no event is
 * lost or sent under two ids. pfa_update_new() is also "boot": it runs the
 * boot decision (post-update self-test, commit or fallback) before returning.
 *
 * Ownership: the config's strings and hal/clock/io are borrowed for the
 * engine's lifetime; pfa_update_free() releases the engine.
 */
#ifndef PFA_UPDATE_H
#define PFA_UPDATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pfa/hal.h"
#include "pfa/log.h"
#include "pf/clock.h"
#include "pf/error.h"
#include "pf/msg.h"

struct pfa_update_config {
    const char *state_dir; /* engine files in STATE_DIR/update/ */
    const char *slot_a;    /* firmware slot files or devices */
    const char *slot_b;
    const char *boot_backend; /* "file", "uboot", "grub" */
    const char *boot_env;     /* env file (file, grub) or fw_env.config (uboot) */
    const char *boot_cmdline; /* uboot/grub: NULL = /proc/cmdline */
    const char *trust_root;   /* minisign public key the terminal ships with */
    const char *keyring;      /* newest verified keyring (written by the engine) */
    const char *feetable_dir; /* fee tables; active.json is the application's */
    const char *model;
    const char *hw_rev;
    const char *fw_version;    /* version of the initial slot on a fresh terminal */
    enum pf_slot fw_slot;      /* initial slot of a fresh file boot environment */
    int battery_min_pct;       /* consent: battery at least this, or charging */
    int64_t storage_margin_kb; /* consent: free storage >= bundle size + this */
    int retry_s;               /* deferral: try consent again after */
    int stall_s;               /* no download progress while connected: failed TIMEOUT */
    int resend_s;              /* unacknowledged events sent again after */
    int boot_tries;            /* trial boots before the bootloader falls back */
    uint32_t chunk_size;       /* requested chunk size (capped by the offer) */
    int window;                /* chunk requests in flight */
    uint64_t persist_bytes;    /* progress persisted every this many bytes */
};

/* Defaults for every numeric field (strings NULL). */
void pfa_update_config_init(struct pfa_update_config *c);

struct pfa_update_io {
    /* Publishes on pf/v1/dev/{serial}/{leaf}; 0 or PF_ECONN. */
    int (*publish)(void *ctx, const char *leaf, const void *buf, size_t len, int qos);
    /* Called after the reboot was requested through the HAL (may exit the process). */
    void (*reboot)(void *ctx);
    /* Optional: the post-update self-test; NULL = pfa_hal_selftest_all(). */
    void (*selftest)(void *ctx, const char *fw_version, enum pf_check res[PF_COMP_COUNT]);
    /* Firmware and fee-table identity (for birth and health): at boot, and whenever
     * it may have changed (a fee table staged for a later date or made active). */
    void (*identity)(void *ctx, const char *fw_version, enum pf_slot slot, const char *fee_version,
                     const struct pf_fee_pending *fee_pending);
    void *ctx;
};

struct pfa_update;

struct pfa_update_stats {
    uint32_t offers;         /* offers received (valid) */
    uint32_t bad_messages;   /* refused by the codecs */
    uint32_t chunks;         /* chunks written */
    uint32_t chunks_ignored; /* stale, duplicate or foreign chunks */
    uint32_t events_sent;    /* publishes of events, retransmissions included */
    uint32_t events_acked;
    uint32_t stalls;   /* re-requests after no progress */
    size_t outbox;     /* events waiting for an ack */
    long crash_points; /* power-cut test hook: crash points passed (update_fault.h) */
    bool busy;         /* an update is in progress */
};

int pfa_update_new(const struct pfa_update_config *cfg, struct pfa_hal *hal,
                   const struct pf_clock *clock, const struct pfa_update_io *io,
                   struct pfa_log *log, struct pfa_update **out, struct pf_error *err) PF_WUR;
void pfa_update_free(struct pfa_update *u);

/* Handles cmd/{serial}/{leaf}: offer, chunk, chunkerr; false if the leaf is not ours. */
bool pfa_update_on_message(struct pfa_update *u, const char *leaf, const void *payload, size_t len);
/* An application ack (cmd/{serial}/ack) for an event id. */
void pfa_update_on_ack(struct pfa_update *u, const char *id);
/* The session came up / went down. */
void pfa_update_on_connect(struct pfa_update *u);
void pfa_update_on_disconnect(struct pfa_update *u);

void pfa_update_tick(struct pfa_update *u);
int64_t pfa_update_next_deadline_ms(const struct pfa_update *u);

void pfa_update_identity(const struct pfa_update *u, const char **fw_version, enum pf_slot *slot,
                         const char **fee_version);
void pfa_update_stats(const struct pfa_update *u, struct pfa_update_stats *st);
/* What this boot was, for the birth message: updated (a new slot committed),
 * rolled_back (back on the previous slot after a failed trial), or normal. */
enum pf_boot_outcome pfa_update_boot_outcome(const struct pfa_update *u);
/* True once a reboot was requested (simulation: the process should exit). */
bool pfa_update_reboot_pending(const struct pfa_update *u);

#endif
