/*
 * rollout_time.h - the scheduler's time rules applied to one rollout
 * (docs/rollouts.md, "Rollout states and the scheduler", step 1): the store
 * hands over the clocks of the members an elapsed time may move, the member
 * state machine (rollout_member.h) decides, and the store applies the
 * decisions in one transaction.
 *
 * Borrows the store; one thread (the loop).
 */
#ifndef PFS_ROLLOUT_TIME_H
#define PFS_ROLLOUT_TIME_H

#include <stdint.h>

#include "store/store_rollouts.h"

/*
 * Members in progress since before now - timeout -> timed_out (code TIMEOUT):
 * downloading, installing, and offered ones whose terminal accepted;
 * reverting ones -> revert_failed; unanswered and deferred offers past their
 * deadline (offered_ms + timeout) -> pending, to be offered anew.
 */
int pfs_ro_expire(struct pfs_store *st, int64_t id, int64_t now_ms, int64_t timeout_ms,
                  int64_t *timed_out, int64_t *returned) PF_WUR;

/*
 * Offered members nobody answered for retry_ms (their offer still valid): each
 * is marked as sent again at now_ms and handed to cb, which publishes the same
 * offer again (same id: a terminal that got it just ignores the copy). At most
 * limit per call.
 */
int pfs_ro_resend(struct pfs_store *st, int64_t id, int64_t now_ms, int64_t retry_ms, int limit,
                  pfs_ro_serial_cb cb, void *ctx) PF_WUR;

#endif
