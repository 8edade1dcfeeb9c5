/*
 * rollout_member.c - the member state machine (rollout_member.h).
 */
#include "rollouts/rollout_member.h"

#include <string.h>

const char *const pfs_ro_member_names[] = {
        "pending",   "offered",        "deferred",    "downloading", "installing",
        "installed", "failed",         "rolled_back", "timed_out",   "skipped",
        "swapped",   "revert_pending", "reverting",   "reverted",    "revert_failed",
        "already",   "deferred_out",   NULL,
};

const char *const pfs_ro_event_names[] = {
        "offer",       "unofferable", "timeout", "expire", "accepted",    "deferred",
        "downloading", "installing",  "success", "failed", "rolled_back", "deadline",
        "skip",        "revert",      "swap",    "rejoin", "already",     "defer_out",
        "retry",       "drop",        "cancel",  NULL,
};

/* Short names for the table. */
#define NO (-1) /* refused: the member stays */
#define PE PFS_ROM_PENDING
#define OF PFS_ROM_OFFERED
#define DE PFS_ROM_DEFERRED
#define DL PFS_ROM_DOWNLOADING
#define IN PFS_ROM_INSTALLING
#define OK PFS_ROM_INSTALLED
#define FA PFS_ROM_FAILED
#define RB PFS_ROM_ROLLED_BACK
#define TO PFS_ROM_TIMED_OUT
#define SK PFS_ROM_SKIPPED
#define SW PFS_ROM_SWAPPED
#define RP PFS_ROM_REVERT_PENDING
#define RV PFS_ROM_REVERTING
#define RD PFS_ROM_REVERTED
#define RF PFS_ROM_REVERT_FAILED
#define AL PFS_ROM_ALREADY
#define DO PFS_ROM_DEFERRED_OUT

/*
 * [status][event] -> next status. Columns in the order of enum pfs_ro_event:
 * offer, unofferable, timeout, expire | accepted, deferred, downloading,
 * installing, success, failed, rolled_back, deadline | skip, revert, swap,
 * rejoin | already, defer_out | retry, drop, cancel.
 *
 * Why some cells are what they are: an outcome (success, failed, rolled
 * back, already) counts from any status short of another outcome, since a
 * terminal may report one for an offer the scheduler already gave up on
 * (timed out, returned to pending and offered anew, deferred out); a
 * timed-out member takes only an outcome; an offer dropped at its deadline
 * before the terminal started it is offered again, not a failure; a rollback
 * member's outcome is a revert outcome; a member with an outcome keeps it
 * through a swap. A deferred-out member does not hold its stage: it is
 * offered again (expire, after defer_again) or by hand (retry), and still
 * takes the terminal's own answers (it retries by itself). Ops retry a member
 * without a success (failed, timed out, deferred out, skipped), skip one not
 * offered (pending, deferred out) and cancel an offer not started (offered,
 * deferred).
 */
// clang-format off
static const signed char member__next[PFS_ROM_COUNT][PFS_ROE_COUNT] = {
        /*      of  un  to  ex  ac  de  dl  in  ok  fa  rb  dd  sk  rv  sw  rj  al  do  rt  dr  cn */
        [PE] = {OF, FA, NO, NO, OF, DE, DL, IN, OK, FA, RB, FA, SK, NO, SW, NO, AL, NO, NO, SK, NO},
        [OF] = {NO, NO, TO, PE, OF, DE, DL, IN, OK, FA, RB, PE, NO, NO, SW, NO, AL, NO, NO, NO, SK},
        [DE] = {NO, NO, NO, PE, OF, DE, DL, IN, OK, FA, RB, PE, NO, NO, SW, NO, AL, DO, NO, NO, SK},
        [DL] = {NO, NO, TO, NO, OF, DE, DL, IN, OK, FA, RB, FA, NO, NO, SW, NO, AL, NO, NO, NO, NO},
        [IN] = {NO, NO, TO, NO, OF, DE, DL, IN, OK, FA, RB, FA, NO, NO, SW, NO, AL, NO, NO, NO, NO},
        [OK] = {NO, NO, NO, NO, NO, NO, NO, NO, NO, NO, NO, NO, NO, RP, NO, NO, NO, NO, NO, NO, NO},
        [FA] = {NO, NO, NO, NO, NO, NO, NO, NO, NO, NO, NO, NO, NO, NO, NO, NO, NO, NO, PE, NO, NO},
        [RB] = {NO, NO, NO, NO, NO, NO, NO, NO, NO, NO, NO, NO, NO, NO, NO, NO, NO, NO, NO, NO, NO},
        [TO] = {NO, NO, NO, NO, NO, NO, NO, NO, OK, FA, RB, FA, NO, NO, NO, NO, AL, NO, PE, NO, NO},
        [SK] = {NO, NO, NO, NO, NO, NO, NO, NO, NO, NO, NO, NO, NO, NO, NO, PE, NO, NO, PE, NO, NO},
        [SW] = {NO, NO, NO, NO, NO, NO, NO, NO, NO, NO, NO, NO, NO, NO, NO, PE, NO, NO, NO, NO, NO},
        [RP] = {RV, RF, NO, NO, NO, NO, NO, NO, RD, RF, RF, RF, NO, NO, SW, NO, NO, NO, NO, NO, NO},
        [RV] = {NO, NO, RF, NO, NO, NO, NO, NO, RD, RF, RF, RF, NO, NO, SW, NO, NO, NO, NO, NO, NO},
        [RD] = {NO, NO, NO, NO, NO, NO, NO, NO, NO, NO, NO, NO, NO, NO, NO, NO, NO, NO, NO, NO, NO},
        [RF] = {NO, NO, NO, NO, NO, NO, NO, NO, NO, NO, NO, NO, NO, NO, NO, NO, NO, NO, NO, NO, NO},
        [AL] = {NO, NO, NO, NO, NO, NO, NO, NO, NO, NO, NO, NO, NO, NO, NO, NO, NO, NO, NO, NO, NO},
        [DO] = {NO, NO, NO, PE, OF, DO, DL, IN, OK, FA, RB, DO, NO, NO, SW, NO, AL, NO, PE, SK, NO},
};
// clang-format on

int pfs_ro_member_next(enum pfs_ro_member cur, enum pfs_ro_event ev, enum pfs_ro_member *next)
{
    int to;

    if ((unsigned)cur >= PFS_ROM_COUNT || (unsigned)ev >= PFS_ROE_COUNT)
        return PF_EINVAL;
    to = member__next[cur][ev];
    if (to < 0)
        return PF_ESTATE;
    *next = (enum pfs_ro_member)to;
    return 0;
}

int pfs_ro_member_parse(const char *s)
{
    for (int i = 0; s && pfs_ro_member_names[i]; i++) {
        if (strcmp(pfs_ro_member_names[i], s) == 0)
            return i;
    }
    return -1;
}

enum pfs_ro_event pfs_ro_event_of(enum pf_update_status s, const char *code)
{
    switch (s) {
    case PF_UPD_ACCEPTED:
        return PFS_ROE_ACCEPTED;
    case PF_UPD_DEFERRED:
        return PFS_ROE_DEFERRED;
    case PF_UPD_DOWNLOADING:
    case PF_UPD_VERIFYING:
        return PFS_ROE_DOWNLOADING;
    case PF_UPD_INSTALLING:
    case PF_UPD_REBOOTING:
        return PFS_ROE_INSTALLING;
    case PF_UPD_SUCCESS:
        return PFS_ROE_SUCCESS;
    case PF_UPD_ROLLED_BACK:
        return PFS_ROE_ROLLED_BACK;
    case PF_UPD_FAILED:
        return code && strcmp(code, "DEADLINE") == 0 ? PFS_ROE_DEADLINE : PFS_ROE_FAILED;
    case PF_UPD_REFUSED:
        return code && strcmp(code, PF_UPDATE_CODE_ALREADY) == 0 ? PFS_ROE_ALREADY : PFS_ROE_FAILED;
    default:
        return PFS_ROE_FAILED;
    }
}

enum pfs_ro_event pfs_ro_event_of_answer(enum pf_update_status s, const char *code,
                                         const char *offered_version, const char *reported_version)
{
    if (s == PF_UPD_REFUSED && code && strcmp(code, "ROLLBACK") == 0 && offered_version &&
        reported_version && *offered_version && strcmp(offered_version, reported_version) == 0)
        return PFS_ROE_ALREADY;
    return pfs_ro_event_of(s, code);
}

int pfs_ro_member_action_parse(const char *s)
{
    if (!s)
        return -1;
    if (strcmp(s, "retry") == 0)
        return PFS_ROE_RETRY;
    if (strcmp(s, "skip") == 0)
        return PFS_ROE_DROP;
    if (strcmp(s, "cancel") == 0)
        return PFS_ROE_CANCEL;
    return -1;
}

bool pfs_ro_event_late_counts(enum pfs_ro_event ev)
{
    return ev == PFS_ROE_SUCCESS || ev == PFS_ROE_ROLLED_BACK || ev == PFS_ROE_ALREADY;
}

bool pfs_ro_member_in_progress(enum pfs_ro_member s)
{
    return s == PFS_ROM_DOWNLOADING || s == PFS_ROM_INSTALLING;
}

bool pfs_ro_member_holds(enum pfs_ro_member s)
{
    return s != PFS_ROM_SKIPPED && s != PFS_ROM_SWAPPED && s != PFS_ROM_ALREADY;
}

bool pfs_ro_member_active(enum pfs_ro_member s)
{
    return s == PFS_ROM_OFFERED || s == PFS_ROM_DOWNLOADING || s == PFS_ROM_INSTALLING ||
           s == PFS_ROM_REVERTING;
}

bool pfs_ro_member_final(enum pfs_ro_member s)
{
    return s == PFS_ROM_INSTALLED || s == PFS_ROM_FAILED || s == PFS_ROM_ROLLED_BACK ||
           s == PFS_ROM_SKIPPED || s == PFS_ROM_SWAPPED || s == PFS_ROM_REVERTED ||
           s == PFS_ROM_REVERT_FAILED || s == PFS_ROM_ALREADY;
}

bool pfs_ro_member_rated(enum pfs_ro_member s)
{
    return s == PFS_ROM_INSTALLED || s == PFS_ROM_FAILED || s == PFS_ROM_ROLLED_BACK ||
           s == PFS_ROM_TIMED_OUT;
}

bool pfs_ro_member_expiry(const struct pfs_ro_member_clock *m, int64_t now_ms,
                          const struct pfs_ro_time_rules *t, enum pfs_ro_event *ev)
{
    int64_t before = now_ms - t->timeout_ms;

    switch (m->status) {
    case PFS_ROM_DOWNLOADING:
    case PFS_ROM_INSTALLING:
        *ev = PFS_ROE_TIMEOUT;
        return m->since_ms < before;
    case PFS_ROM_OFFERED:
        /* Accepted: in progress, it times out like a download and is never
         * offered again. Unanswered: silence times out too (re-offering a
         * terminal that never answers would hold its slot for good); without
         * an offer timeout, past the offer's deadline a new offer is due. */
        if (m->answered) {
            *ev = PFS_ROE_TIMEOUT;
            return m->since_ms < before;
        }
        if (t->offer_timeout_ms > 0) {
            *ev = PFS_ROE_TIMEOUT;
            return m->offered_ms < now_ms - t->offer_timeout_ms;
        }
        *ev = PFS_ROE_EXPIRE;
        return m->offered_ms < before;
    case PFS_ROM_DEFERRED:
        *ev = PFS_ROE_DEFER_OUT;
        if (t->max_deferrals > 0 && m->deferrals >= t->max_deferrals)
            return true;
        if (t->defer_limit_ms > 0 && m->deferred_ms > 0 &&
            m->deferred_ms <= now_ms - t->defer_limit_ms)
            return true;
        *ev = PFS_ROE_EXPIRE;
        return m->offered_ms < before;
    case PFS_ROM_DEFERRED_OUT:
        *ev = PFS_ROE_EXPIRE;
        return t->defer_again_ms > 0 && m->since_ms < now_ms - t->defer_again_ms;
    case PFS_ROM_REVERTING:
        *ev = PFS_ROE_TIMEOUT;
        return m->offered_ms < before;
    default:
        return false;
    }
}

bool pfs_ro_member_resend_due(const struct pfs_ro_member_clock *m, int64_t now_ms, int64_t retry_ms)
{
    return m->status == PFS_ROM_OFFERED && !m->answered && m->since_ms < now_ms - retry_ms;
}
