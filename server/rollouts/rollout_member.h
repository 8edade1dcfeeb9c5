/*
 * rollout_member.h - the member state machine of a rollout (docs/rollouts.md,
 * "Member statuses"): a table from (status, event) to the next status, and
 * the time rules that decide which members an elapsed time moves.
 *
 * The store only applies what these functions decide: it moves a member with
 * "UPDATE ... WHERE status = <the status the decision started from>", so a
 * member that changed in between is left alone, and keeps the counters exact
 * in the same transaction. Pure functions: no I/O, no state.
 */
#ifndef PFS_ROLLOUT_MEMBER_H
#define PFS_ROLLOUT_MEMBER_H

#include <stdbool.h>
#include <stdint.h>

#include "pf/error.h"
#include "pf/msg_update.h"

enum pfs_ro_member {
    PFS_ROM_PENDING,
    PFS_ROM_OFFERED,
    PFS_ROM_DEFERRED,
    PFS_ROM_DOWNLOADING,
    PFS_ROM_INSTALLING,
    PFS_ROM_INSTALLED,
    PFS_ROM_FAILED,
    PFS_ROM_ROLLED_BACK,
    PFS_ROM_TIMED_OUT,
    PFS_ROM_SKIPPED,
    PFS_ROM_SWAPPED,
    PFS_ROM_REVERT_PENDING,
    PFS_ROM_REVERTING,
    PFS_ROM_REVERTED,
    PFS_ROM_REVERT_FAILED,
    PFS_ROM_ALREADY,      /* the terminal already ran the offered version: a success */
    PFS_ROM_DEFERRED_OUT, /* deferred past the rollout's deferral limit: counted apart */
    PFS_ROM_COUNT
};
extern const char *const pfs_ro_member_names[]; /* NULL-terminated */

/* The status named s, or -1. */
int pfs_ro_member_parse(const char *s);

enum pfs_ro_event {
    /* the scheduler */
    PFS_ROE_OFFER,       /* the update (or, in a rollback, the previous bundle) is offered */
    PFS_ROE_UNOFFERABLE, /* it cannot be offered to this terminal (revoked, unknown model...) */
    PFS_ROE_TIMEOUT,     /* in progress for longer than timeout_s */
    PFS_ROE_EXPIRE,      /* an unanswered or deferred offer is past its deadline */
    /* the terminal's update events (pfs_ro_event_of) */
    PFS_ROE_ACCEPTED,
    PFS_ROE_DEFERRED,
    PFS_ROE_DOWNLOADING, /* downloading or verifying */
    PFS_ROE_INSTALLING,  /* installing or rebooting */
    PFS_ROE_SUCCESS,
    PFS_ROE_FAILED, /* failed or refused */
    PFS_ROE_ROLLED_BACK,
    PFS_ROE_DEADLINE, /* failed DEADLINE: dropped at the offer's deadline */
    /* the rollout and the fleet */
    PFS_ROE_SKIP,   /* the rollout ends (abort, complete, rollback) before the member's turn */
    PFS_ROE_REVERT, /* a rollback starts: an installed member gets its previous bundle back */
    PFS_ROE_SWAP,   /* the terminal left the fleet in a swap */
    PFS_ROE_REJOIN, /* a terminal skipped or swapped out before joins again */
    /* added later: the terminal's answer and the deferral limit */
    PFS_ROE_ALREADY,   /* refused: it already runs the offered version */
    PFS_ROE_DEFER_OUT, /* deferred past the deferral limit (count or time) */
    /* ops, one member at a time (posfleet rollout member ID SERIAL ACTION) */
    PFS_ROE_RETRY,  /* offer it again: back to pending */
    PFS_ROE_DROP,   /* skip: never offer it in this rollout */
    PFS_ROE_CANCEL, /* withdraw an offer not started yet */
    PFS_ROE_COUNT
};
extern const char *const pfs_ro_event_names[]; /* NULL-terminated */

/*
 * The status a member in cur moves to on ev: 0 and *next (which may equal
 * cur: nothing to write), or PF_ESTATE if the event does not apply to cur
 * (an offer to a member already offered, a progress report after the
 * outcome...): the member stays as it is.
 */
int pfs_ro_member_next(enum pfs_ro_member cur, enum pfs_ro_event ev,
                       enum pfs_ro_member *next) PF_WUR;

/* The event a terminal's update status is (code: its failure code, "" if
 * none). "refused ALREADY" is PFS_ROE_ALREADY (docs/protocol.md). */
enum pfs_ro_event pfs_ro_event_of(enum pf_update_status s, const char *code);

/*
 * pfs_ro_event_of for an answer to an offer of offered_version, from a
 * terminal whose last report said it runs reported_version ("" or NULL:
 * unknown): agents older than the ALREADY code refuse the version they run as
 * ROLLBACK, which is also PFS_ROE_ALREADY when the two versions are equal.
 */
enum pfs_ro_event pfs_ro_event_of_answer(enum pf_update_status s, const char *code,
                                         const char *offered_version, const char *reported_version);

/* The ops action named s ("retry", "skip", "cancel"): its event, or -1. */
int pfs_ro_member_action_parse(const char *s);

/*
 * True if ev, reported for an earlier offer of the rollout to the member (it
 * answered slowly and was offered again), still counts: an install is as real
 * as any, so a success or a rollback moves the member; progress does not.
 */
bool pfs_ro_event_late_counts(enum pfs_ro_event ev);

/* True while the terminal works on the update (downloading, installing):
 * moving between these keeps the time the work started (since_ms). */
bool pfs_ro_member_in_progress(enum pfs_ro_member s);
/* True if a member in s holds its terminal: no other live rollout of the
 * same kind may take it (skipped, swapped and already members do not). */
bool pfs_ro_member_holds(enum pfs_ro_member s);
/* True for the statuses that count against max_concurrent. */
bool pfs_ro_member_active(enum pfs_ro_member s);
/* True once the member has an outcome for this rollout (no event moves it). */
bool pfs_ro_member_final(enum pfs_ro_member s);
/* True for an outcome that counts in the failure and rollback rates
 * (installed, failed, rolled back, timed out; not already, not deferred out). */
bool pfs_ro_member_rated(enum pfs_ro_member s);

/* What the time rules need to know about a member. */
struct pfs_ro_member_clock {
    enum pfs_ro_member status;
    int64_t offered_ms;  /* the current offer was made */
    int64_t since_ms;    /* entered its status (an offer: last sent) */
    bool answered;       /* offered: the terminal answered this very offer */
    int64_t deferrals;   /* deferrals reported in this rollout */
    int64_t deferred_ms; /* the first of them (0: none) */
};

/* The rollout's time limits (its definition, in ms; 0: no such limit). */
struct pfs_ro_time_rules {
    int64_t timeout_ms;       /* in progress longer than this: timed out */
    int64_t offer_timeout_ms; /* an offer nobody answered for this long: timed out */
    int64_t max_deferrals;    /* deferred this many times: deferred out */
    int64_t defer_limit_ms;   /* deferring for this long: deferred out */
    int64_t defer_again_ms;   /* deferred out this long ago: offered again */
};

/*
 * The scheduler's expiry rule at now_ms (docs/rollouts.md, step 1): true and
 * *ev if the member is due. In progress (downloading, installing, or offered
 * and accepted) longer than timeout: PFS_ROE_TIMEOUT; reverting with an offer
 * older than that: timeout; an offer nobody answered older than
 * offer_timeout: timeout (code NO_ANSWER); deferred past the deferral limit:
 * PFS_ROE_DEFER_OUT; deferred with an offer past timeout (its deadline):
 * PFS_ROE_EXPIRE (offered anew); deferred out for defer_again: PFS_ROE_EXPIRE
 * (offered again in a later window).
 */
bool pfs_ro_member_expiry(const struct pfs_ro_member_clock *m, int64_t now_ms,
                          const struct pfs_ro_time_rules *t, enum pfs_ro_event *ev);

/* True if an offer nobody answered was last sent before now - retry: the
 * same offer goes out again. */
bool pfs_ro_member_resend_due(const struct pfs_ro_member_clock *m, int64_t now_ms,
                              int64_t retry_ms);

#endif
