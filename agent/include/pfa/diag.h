/*
 * diag.h - the agent's remote diagnostics: allowlisted commands from support
 * (docs/protocol.md, "Diagnostics"; docs/agent.md, "Diagnostics").
 *
 * The agent core feeds it the messages of cmd/{serial}/diag and
 * cmd/{serial}/diagchunk with their MQTT v5 correlation data; it answers on
 * dev/{serial}/diag (same correlation data) and dev/{serial}/diagchunk
 * through io->publish. Only the commands of pf_diag_cmd_names run; anything
 * else, a request past its deadline, or a request id already seen is refused
 * and the refusal reported (a repeat is only logged). No command runs a shell
 * or reads a file named by the request.
 *
 * Like the core it never blocks: the net check resolves with getaddrinfo_a()
 * and connects non-blocking, polled from pfa_diag_tick() with a hard time
 * bound. It keeps the last diag.log_lines lines the agent logged (through the
 * log's tap, scrubbed of anything that looks like a card number), and
 * STATE_DIR/diag/ holds the ids of recent requests and the last archive.
 *
 * Ownership: pfa_diag_new() copies what it needs from cfg; hal, clock, log and
 * io are borrowed for the diag's lifetime, and it installs itself as log's
 * tap (pfa_diag_free() removes it).
 */
#ifndef PFA_DIAG_H
#define PFA_DIAG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pfa/config.h"
#include "pfa/hal.h"
#include "pfa/log.h"
#include "pf/clock.h"
#include "pf/error.h"
#include "pf/msg.h"

/* What the versions command reports about the running terminal. */
struct pfa_diag_identity {
    const char *fw_version;
    enum pf_slot fw_slot;
    const char *fee_version;
    enum pf_boot_outcome boot;
    bool update_configured;
    bool update_busy; /* an update is in progress: reboot refused */
};

struct pfa_diag_io {
    /* Publishes on dev/{serial}/{leaf}, QoS 1, with correlation data if corr_len > 0. */
    int (*publish)(void *ctx, const char *leaf, const void *buf, size_t len, const void *corr,
                   size_t corr_len);
    void (*identity)(void *ctx, struct pfa_diag_identity *out);
    /* Optional: after the HAL recorded a reboot request (simulation may exit). */
    void (*reboot)(void *ctx);
    void *ctx;
};

struct pfa_diag;

struct pfa_diag_stats {
    uint32_t requests; /* well-formed requests received */
    uint32_t executed; /* allowlisted commands run */
    uint32_t refused;  /* unknown, expired, busy, bad arguments */
    uint32_t repeats;  /* ids seen before (not run again) */
    uint32_t bad;      /* undecodable messages */
    uint32_t chunks;   /* archive chunks sent */
    uint32_t reboots;  /* reboots requested through the HAL */
};

int pfa_diag_new(const struct pfa_config *cfg, struct pfa_hal *hal, const struct pf_clock *clock,
                 struct pfa_log *log, const struct pfa_diag_io *io, struct pfa_diag **out,
                 struct pf_error *err) PF_WUR;
void pfa_diag_free(struct pfa_diag *d);

/* Handles cmd/{serial}/{leaf} for diag and diagchunk; false if the leaf is not ours. */
bool pfa_diag_on_message(struct pfa_diag *d, const char *leaf, const void *payload, size_t len,
                         const void *corr, size_t corr_len);
void pfa_diag_tick(struct pfa_diag *d);
/* Monotonic ms of the next tick needed (net check, log level revert, reboot), or INT64_MAX. */
int64_t pfa_diag_next_deadline_ms(const struct pfa_diag *d);
void pfa_diag_stats(const struct pfa_diag *d, struct pfa_diag_stats *st);

/* The log level the agent runs at now (a loglevel command changes it for a while). */
enum pfa_log_level pfa_diag_log_level(const struct pfa_diag *d);

/* "<redacted>" for keys that name secrets (password, token, secret, psk, pin,
 * private, credential), else value. tls.key is a path and shown as such. */
const char *pfa_diag_redact(const char *key, const char *value);

/* ---- archive (diag_archive.c) ---------------------------------------------- */

struct pfa_diag_entry {
    const char *name; /* path inside the archive */
    const void *data;
    size_t len;
};

/*
 * Writes entries[0..n) as a gzip-compressed tar (libarchive) into a heap
 * buffer of at most max bytes, leaving out entries from the end until it
 * fits. *included is how many entries went in (the first ones). PF_ELIMIT if
 * not even the first fits. *out is the caller's to free.
 */
int pfa_diag_archive_build(const struct pfa_diag_entry *entries, size_t n, size_t max,
                           int64_t mtime_s, void **out, size_t *outlen, size_t *included) PF_WUR;

#endif
