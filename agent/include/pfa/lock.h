/*
 * lock.h - the terminal's payment lock (docs/protocol.md, "Lifecycle").
 *
 * posfleetd locks a terminal that reported tamper and unlocks it only when
 * its repair closes. A lock command (pf/v1/cmd/{serial}/lock) is applied at
 * once and idempotently: the state is persisted in state_dir/lock (atomic
 * write) before payments are switched through the payments hook and before
 * the lock report (pf/v1/dev/{serial}/lock, echoing the command id) goes
 * out, so a restart never forgets a lock. Every copy of a command is
 * answered, because posfleetd retransmits until it hears the report. At
 * start the persisted state is applied to the payments hook again. The agent
 * keeps reporting health while locked.
 *
 * The payments hook is the HAL's switch into the payment application. Until
 * the HAL ops table carries one, io->set_payments NULL means the simulated
 * switch: the file hal_dir/payments holds "enabled" or "disabled".
 *
 * The lock borrows io and log; pfa_lock_free() frees it.
 */
#ifndef PFA_LOCK_H
#define PFA_LOCK_H

#include <stdbool.h>
#include <stddef.h>

#include "pf/error.h"
#include "pf/msg_lifecycle.h"
#include "pfa/log.h"

struct pfa_lock;

struct pfa_lock_io {
    /* Enables or disables payments; NULL: the simulated switch file. */
    int (*set_payments)(void *ctx, bool enabled);
    /* Publishes on pf/v1/dev/{serial}/{leaf}; PF_ECONN when offline. */
    int (*publish)(void *ctx, const char *leaf, const void *buf, size_t len, int qos);
    void *ctx;
};

/* Loads state_dir/lock (absent: unlocked) and applies it to the payments hook. */
int pfa_lock_new(const char *state_dir, const char *hal_dir, const struct pfa_lock_io *io,
                 const struct pfa_log *log, struct pfa_lock **out, struct pf_error *err) PF_WUR;
void pfa_lock_free(struct pfa_lock *l);

/* Handles a command leaf; false if the leaf is not the lock's. */
bool pfa_lock_on_message(struct pfa_lock *l, const char *leaf, const void *payload, size_t len);
/* True while payments are locked. */
bool pfa_lock_locked(const struct pfa_lock *l);

#endif
