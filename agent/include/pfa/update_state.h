/*
 * update_state.h - the update engine's persisted state (STATE_DIR/update/
 * state.json) and its codec. One file holds the phase, the offer, download
 * progress, the slot table, the trusted-version floor and the event outbox,
 * so one pf_file_write_atomic() moves all of them together.
 *
 * struct pfa_update_state is caller-owned; outbox strings are heap and freed
 * by pfa_update_state_release().
 */
#ifndef PFA_UPDATE_STATE_H
#define PFA_UPDATE_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pf/error.h"
#include "pf/msg.h"
#include "pf/msg_update.h"

#define PFA_OUTBOX_MAX 32
#define PFA_STATE_MAX  (64 * 1024)
/* Largest round trip the state file holds: ten times update.resend_s's maximum. */
#define PFA_RTT_MAX_MS ((int64_t)10 * 86400 * 1000)

enum pfa_update_phase {
    PFA_UPD_IDLE,
    PFA_UPD_OFFERED,  /* consent pending (deferred until retry_at) */
    PFA_UPD_META,     /* fetching manifest, keyring and signatures */
    PFA_UPD_DOWNLOAD, /* payload into the target, hashed in the same pass */
    PFA_UPD_SWITCH,   /* slot verified; boot environment switch and reboot next */
    PFA_UPD_TRIAL,    /* rebooting into the new slot; self-test at next boot */
    PFA_UPD_FALLBACK, /* self-test failed; back to the good slot */
    PFA_UPD_PHASES
};
/* "idle", "offered", "meta", "download", "switch", "trial", "fallback", NULL */
extern const char *const pfa_update_phase_names[];

struct pfa_update_slotrec {
    bool known;
    char version[PF_VERSION_MAX + 1];
    uint64_t size;
    uint8_t digest[PF_B2_LEN];
};

struct pfa_update_state {
    enum pfa_update_phase phase;
    uint64_t seq;                        /* state writes so far (diagnostics) */
    struct pf_offer offer;               /* valid unless phase == IDLE */
    int entry;                           /* fetch step: 0..3 metadata, 4 payload */
    uint64_t done;                       /* bytes of that step in place */
    int64_t retry_at;                    /* wall ms: next consent attempt */
    char reason[PF_UPDATE_CODE_MAX + 1]; /* last deferral reason reported */
    int pct;                             /* last download percentage reported */
    enum pf_slot target;
    char code[PF_UPDATE_CODE_MAX + 1]; /* FALLBACK: why */
    struct pfa_update_slotrec slots[2];
    char fw_floor[PF_VERSION_MAX + 1];     /* newest committed firmware: never goes down */
    char last_offer[PF_UPDATE_ID_MAX + 1]; /* last offer that ended */
    /* The acks' smoothed round trip and its variation (ms, RFC 6298), kept across
     * restarts and reboots so that the events after an install's reboot wait the
     * timeout the acks need; both 0 while none was timed (also in a state file
     * written before they existed). */
    int64_t srtt_ms, rttvar_ms;
    size_t nout;
    char *outbox[PFA_OUTBOX_MAX]; /* encoded events, oldest first */
    /* Not persisted: monotonic ms when outbox[i] was last handed to the connection,
     * 0 if never by this process (the engine's resend clock, per event). */
    int64_t sent_ms[PFA_OUTBOX_MAX];
    /* Not persisted: sends of outbox[i] whose ack may still come (an ack of one sent
     * more than once does not time the round trip: Karn's rule). */
    uint16_t sends[PFA_OUTBOX_MAX];
    /* Not persisted: monotonic ms of outbox[i]'s first send on this connection, 0 if
     * it was carried over a reconnect or restart (an ack of it then times nothing). */
    int64_t first_ms[PFA_OUTBOX_MAX];
};

void pfa_update_state_init(struct pfa_update_state *s);
void pfa_update_state_release(struct pfa_update_state *s);
/* Heap JSON (caller frees). */
int pfa_update_state_encode(const struct pfa_update_state *s, char **out, size_t *len) PF_WUR;
int pfa_update_state_decode(const char *buf, size_t len, struct pfa_update_state *s,
                            struct pf_error *err) PF_WUR;

/* Appends an encoded event (takes ownership of ev, its sent_ms 0); drops the oldest
 * non-final one when full. */
void pfa_update_outbox_push(struct pfa_update_state *s, char *ev);
/* Index of the event with this id, or -1. */
int pfa_update_outbox_find(const struct pfa_update_state *s, const char *id);
/* Removes the event with this id; true if found. */
bool pfa_update_outbox_remove(struct pfa_update_state *s, const char *id);

#endif
