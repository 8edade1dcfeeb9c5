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

/* The time limits of definition d (docs/rollouts.md, "Definition"). */
void pfs_ro_time_rules_of(const struct pfs_ro_def *d, struct pfs_ro_time_rules *t);

/* What one pfs_ro_expire() pass moved. */
struct pfs_ro_expired {
    int64_t timed_out;    /* in progress too long, or an offer nobody answered */
    int64_t returned;     /* back to pending, to be offered anew */
    int64_t deferred_out; /* past the deferral limit */
};

/*
 * Applies pfs_ro_member_expiry() under rules t to every member it may move:
 * in progress too long -> timed_out (code TIMEOUT); reverting ->
 * revert_failed; offers nobody answered for t->offer_timeout_ms -> timed_out
 * (code NO_ANSWER); deferred past the deferral limit -> deferred_out (code
 * DEFER_LIMIT); deferred offers past their deadline and deferred-out members
 * after t->defer_again_ms -> pending, to be offered anew.
 */
int pfs_ro_expire(struct pfs_store *st, int64_t id, int64_t now_ms,
                  const struct pfs_ro_time_rules *t, struct pfs_ro_expired *out) PF_WUR;

/*
 * Offered members nobody answered for retry_ms (their offer still valid): each
 * is marked as sent again at now_ms and handed to cb, which publishes the same
 * offer again (same id: a terminal that got it just ignores the copy). At most
 * limit per call.
 */
int pfs_ro_resend(struct pfs_store *st, int64_t id, int64_t now_ms, int64_t retry_ms, int limit,
                  pfs_ro_serial_cb cb, void *ctx) PF_WUR;

#endif
