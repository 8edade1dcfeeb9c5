/*
 * test_rollout_member.c - the member state machine without a database
 * (server/rollouts/rollout_member.h): every (status, event) pair against the
 * list of allowed moves written out here, the events a terminal's update
 * statuses are, and the time rules at their boundaries.
 */
#include <string.h>

#include "rollouts/rollout_member.h"
#include "testutil.h"

struct move {
    enum pfs_ro_member from;
    enum pfs_ro_event ev;
    enum pfs_ro_member to;
};

/* Every allowed move (docs/rollouts.md, "Member statuses"); any other pair is refused. */
static const struct move allowed[] = {
        /* the scheduler offers, or cannot */
        {PFS_ROM_PENDING, PFS_ROE_OFFER, PFS_ROM_OFFERED},
        {PFS_ROM_REVERT_PENDING, PFS_ROE_OFFER, PFS_ROM_REVERTING},
        {PFS_ROM_PENDING, PFS_ROE_UNOFFERABLE, PFS_ROM_FAILED},
        {PFS_ROM_REVERT_PENDING, PFS_ROE_UNOFFERABLE, PFS_ROM_REVERT_FAILED},
        /* time */
        {PFS_ROM_OFFERED, PFS_ROE_TIMEOUT, PFS_ROM_TIMED_OUT},
        {PFS_ROM_DOWNLOADING, PFS_ROE_TIMEOUT, PFS_ROM_TIMED_OUT},
        {PFS_ROM_INSTALLING, PFS_ROE_TIMEOUT, PFS_ROM_TIMED_OUT},
        {PFS_ROM_REVERTING, PFS_ROE_TIMEOUT, PFS_ROM_REVERT_FAILED},
        {PFS_ROM_OFFERED, PFS_ROE_EXPIRE, PFS_ROM_PENDING},
        {PFS_ROM_DEFERRED, PFS_ROE_EXPIRE, PFS_ROM_PENDING},
        /* progress, from before any outcome */
        {PFS_ROM_PENDING, PFS_ROE_ACCEPTED, PFS_ROM_OFFERED},
        {PFS_ROM_OFFERED, PFS_ROE_ACCEPTED, PFS_ROM_OFFERED},
        {PFS_ROM_DEFERRED, PFS_ROE_ACCEPTED, PFS_ROM_OFFERED},
        {PFS_ROM_DOWNLOADING, PFS_ROE_ACCEPTED, PFS_ROM_OFFERED},
        {PFS_ROM_INSTALLING, PFS_ROE_ACCEPTED, PFS_ROM_OFFERED},
        {PFS_ROM_PENDING, PFS_ROE_DEFERRED, PFS_ROM_DEFERRED},
        {PFS_ROM_OFFERED, PFS_ROE_DEFERRED, PFS_ROM_DEFERRED},
        {PFS_ROM_DEFERRED, PFS_ROE_DEFERRED, PFS_ROM_DEFERRED},
        {PFS_ROM_DOWNLOADING, PFS_ROE_DEFERRED, PFS_ROM_DEFERRED},
        {PFS_ROM_INSTALLING, PFS_ROE_DEFERRED, PFS_ROM_DEFERRED},
        {PFS_ROM_PENDING, PFS_ROE_DOWNLOADING, PFS_ROM_DOWNLOADING},
        {PFS_ROM_OFFERED, PFS_ROE_DOWNLOADING, PFS_ROM_DOWNLOADING},
        {PFS_ROM_DEFERRED, PFS_ROE_DOWNLOADING, PFS_ROM_DOWNLOADING},
        {PFS_ROM_DOWNLOADING, PFS_ROE_DOWNLOADING, PFS_ROM_DOWNLOADING},
        {PFS_ROM_INSTALLING, PFS_ROE_DOWNLOADING, PFS_ROM_DOWNLOADING},
        {PFS_ROM_PENDING, PFS_ROE_INSTALLING, PFS_ROM_INSTALLING},
        {PFS_ROM_OFFERED, PFS_ROE_INSTALLING, PFS_ROM_INSTALLING},
        {PFS_ROM_DEFERRED, PFS_ROE_INSTALLING, PFS_ROM_INSTALLING},
        {PFS_ROM_DOWNLOADING, PFS_ROE_INSTALLING, PFS_ROM_INSTALLING},
        {PFS_ROM_INSTALLING, PFS_ROE_INSTALLING, PFS_ROM_INSTALLING},
        /* outcomes: also after a timeout (a late outcome replaces it) */
        {PFS_ROM_PENDING, PFS_ROE_SUCCESS, PFS_ROM_INSTALLED},
        {PFS_ROM_OFFERED, PFS_ROE_SUCCESS, PFS_ROM_INSTALLED},
        {PFS_ROM_DEFERRED, PFS_ROE_SUCCESS, PFS_ROM_INSTALLED},
        {PFS_ROM_DOWNLOADING, PFS_ROE_SUCCESS, PFS_ROM_INSTALLED},
        {PFS_ROM_INSTALLING, PFS_ROE_SUCCESS, PFS_ROM_INSTALLED},
        {PFS_ROM_TIMED_OUT, PFS_ROE_SUCCESS, PFS_ROM_INSTALLED},
        {PFS_ROM_PENDING, PFS_ROE_FAILED, PFS_ROM_FAILED},
        {PFS_ROM_OFFERED, PFS_ROE_FAILED, PFS_ROM_FAILED},
        {PFS_ROM_DEFERRED, PFS_ROE_FAILED, PFS_ROM_FAILED},
        {PFS_ROM_DOWNLOADING, PFS_ROE_FAILED, PFS_ROM_FAILED},
        {PFS_ROM_INSTALLING, PFS_ROE_FAILED, PFS_ROM_FAILED},
        {PFS_ROM_TIMED_OUT, PFS_ROE_FAILED, PFS_ROM_FAILED},
        {PFS_ROM_PENDING, PFS_ROE_ROLLED_BACK, PFS_ROM_ROLLED_BACK},
        {PFS_ROM_OFFERED, PFS_ROE_ROLLED_BACK, PFS_ROM_ROLLED_BACK},
        {PFS_ROM_DEFERRED, PFS_ROE_ROLLED_BACK, PFS_ROM_ROLLED_BACK},
        {PFS_ROM_DOWNLOADING, PFS_ROE_ROLLED_BACK, PFS_ROM_ROLLED_BACK},
        {PFS_ROM_INSTALLING, PFS_ROE_ROLLED_BACK, PFS_ROM_ROLLED_BACK},
        {PFS_ROM_TIMED_OUT, PFS_ROE_ROLLED_BACK, PFS_ROM_ROLLED_BACK},
        /* an offer dropped at its deadline: offered anew unless the work had started */
        {PFS_ROM_OFFERED, PFS_ROE_DEADLINE, PFS_ROM_PENDING},
        {PFS_ROM_DEFERRED, PFS_ROE_DEADLINE, PFS_ROM_PENDING},
        {PFS_ROM_PENDING, PFS_ROE_DEADLINE, PFS_ROM_FAILED},
        {PFS_ROM_DOWNLOADING, PFS_ROE_DEADLINE, PFS_ROM_FAILED},
        {PFS_ROM_INSTALLING, PFS_ROE_DEADLINE, PFS_ROM_FAILED},
        {PFS_ROM_TIMED_OUT, PFS_ROE_DEADLINE, PFS_ROM_FAILED},
        /* rollback */
        {PFS_ROM_INSTALLED, PFS_ROE_REVERT, PFS_ROM_REVERT_PENDING},
        {PFS_ROM_REVERT_PENDING, PFS_ROE_SUCCESS, PFS_ROM_REVERTED},
        {PFS_ROM_REVERTING, PFS_ROE_SUCCESS, PFS_ROM_REVERTED},
        {PFS_ROM_REVERT_PENDING, PFS_ROE_FAILED, PFS_ROM_REVERT_FAILED},
        {PFS_ROM_REVERTING, PFS_ROE_FAILED, PFS_ROM_REVERT_FAILED},
        {PFS_ROM_REVERT_PENDING, PFS_ROE_ROLLED_BACK, PFS_ROM_REVERT_FAILED},
        {PFS_ROM_REVERTING, PFS_ROE_ROLLED_BACK, PFS_ROM_REVERT_FAILED},
        {PFS_ROM_REVERT_PENDING, PFS_ROE_DEADLINE, PFS_ROM_REVERT_FAILED},
        {PFS_ROM_REVERTING, PFS_ROE_DEADLINE, PFS_ROM_REVERT_FAILED},
        /* the rollout ends before the member's turn */
        {PFS_ROM_PENDING, PFS_ROE_SKIP, PFS_ROM_SKIPPED},
        /* swaps: only a member without an outcome leaves */
        {PFS_ROM_PENDING, PFS_ROE_SWAP, PFS_ROM_SWAPPED},
        {PFS_ROM_OFFERED, PFS_ROE_SWAP, PFS_ROM_SWAPPED},
        {PFS_ROM_DEFERRED, PFS_ROE_SWAP, PFS_ROM_SWAPPED},
        {PFS_ROM_DOWNLOADING, PFS_ROE_SWAP, PFS_ROM_SWAPPED},
        {PFS_ROM_INSTALLING, PFS_ROE_SWAP, PFS_ROM_SWAPPED},
        {PFS_ROM_REVERT_PENDING, PFS_ROE_SWAP, PFS_ROM_SWAPPED},
        {PFS_ROM_REVERTING, PFS_ROE_SWAP, PFS_ROM_SWAPPED},
        {PFS_ROM_SKIPPED, PFS_ROE_REJOIN, PFS_ROM_PENDING},
        {PFS_ROM_SWAPPED, PFS_ROE_REJOIN, PFS_ROM_PENDING},
        /* already running the offered version: a success of its own, from before any
         * outcome (also a late answer after a timeout or a deferral limit) */
        {PFS_ROM_PENDING, PFS_ROE_ALREADY, PFS_ROM_ALREADY},
        {PFS_ROM_OFFERED, PFS_ROE_ALREADY, PFS_ROM_ALREADY},
        {PFS_ROM_DEFERRED, PFS_ROE_ALREADY, PFS_ROM_ALREADY},
        {PFS_ROM_DOWNLOADING, PFS_ROE_ALREADY, PFS_ROM_ALREADY},
        {PFS_ROM_INSTALLING, PFS_ROE_ALREADY, PFS_ROM_ALREADY},
        {PFS_ROM_TIMED_OUT, PFS_ROE_ALREADY, PFS_ROM_ALREADY},
        {PFS_ROM_DEFERRED_OUT, PFS_ROE_ALREADY, PFS_ROM_ALREADY},
        /* the deferral limit: out, not holding the stage; the terminal's own answers
         * still count, and it is offered again later (expire) or by hand (retry) */
        {PFS_ROM_DEFERRED, PFS_ROE_DEFER_OUT, PFS_ROM_DEFERRED_OUT},
        {PFS_ROM_DEFERRED_OUT, PFS_ROE_EXPIRE, PFS_ROM_PENDING},
        {PFS_ROM_DEFERRED_OUT, PFS_ROE_ACCEPTED, PFS_ROM_OFFERED},
        {PFS_ROM_DEFERRED_OUT, PFS_ROE_DEFERRED, PFS_ROM_DEFERRED_OUT},
        {PFS_ROM_DEFERRED_OUT, PFS_ROE_DOWNLOADING, PFS_ROM_DOWNLOADING},
        {PFS_ROM_DEFERRED_OUT, PFS_ROE_INSTALLING, PFS_ROM_INSTALLING},
        {PFS_ROM_DEFERRED_OUT, PFS_ROE_SUCCESS, PFS_ROM_INSTALLED},
        {PFS_ROM_DEFERRED_OUT, PFS_ROE_FAILED, PFS_ROM_FAILED},
        {PFS_ROM_DEFERRED_OUT, PFS_ROE_ROLLED_BACK, PFS_ROM_ROLLED_BACK},
        {PFS_ROM_DEFERRED_OUT, PFS_ROE_DEADLINE, PFS_ROM_DEFERRED_OUT},
        {PFS_ROM_DEFERRED_OUT, PFS_ROE_SWAP, PFS_ROM_SWAPPED},
        /* ops, one member at a time */
        {PFS_ROM_FAILED, PFS_ROE_RETRY, PFS_ROM_PENDING},
        {PFS_ROM_TIMED_OUT, PFS_ROE_RETRY, PFS_ROM_PENDING},
        {PFS_ROM_DEFERRED_OUT, PFS_ROE_RETRY, PFS_ROM_PENDING},
        {PFS_ROM_SKIPPED, PFS_ROE_RETRY, PFS_ROM_PENDING},
        {PFS_ROM_PENDING, PFS_ROE_DROP, PFS_ROM_SKIPPED},
        {PFS_ROM_DEFERRED_OUT, PFS_ROE_DROP, PFS_ROM_SKIPPED},
        {PFS_ROM_OFFERED, PFS_ROE_CANCEL, PFS_ROM_SKIPPED},
        {PFS_ROM_DEFERRED, PFS_ROE_CANCEL, PFS_ROM_SKIPPED},
};

START_TEST(every_pair_allowed_or_refused)
{
    size_t seen = 0;

    for (int s = 0; s < PFS_ROM_COUNT; s++) {
        for (int e = 0; e < PFS_ROE_COUNT; e++) {
            const struct move *want = NULL;
            enum pfs_ro_member to = PFS_ROM_COUNT;
            int rc = pfs_ro_member_next((enum pfs_ro_member)s, (enum pfs_ro_event)e, &to);

            for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++) {
                if ((int)allowed[i].from == s && (int)allowed[i].ev == e)
                    want = &allowed[i];
            }
            if (want) {
                ck_assert_msg(rc == 0 && to == want->to, "%s + %s: got %d %s, want %s",
                              pfs_ro_member_names[s], pfs_ro_event_names[e], rc,
                              rc ? "-" : pfs_ro_member_names[to], pfs_ro_member_names[want->to]);
                seen++;
            } else {
                ck_assert_msg(rc == PF_ESTATE, "%s + %s: allowed (-> %s), want refused",
                              pfs_ro_member_names[s], pfs_ro_event_names[e],
                              rc ? "-" : pfs_ro_member_names[to]);
                ck_assert_int_eq(to, PFS_ROM_COUNT); /* untouched when refused */
            }
        }
    }
    ck_assert_int_eq(seen, sizeof(allowed) / sizeof(allowed[0]));
    {
        enum pfs_ro_member to;

        ck_assert_int_eq(pfs_ro_member_next(PFS_ROM_COUNT, PFS_ROE_OFFER, &to), PF_EINVAL);
        ck_assert_int_eq(pfs_ro_member_next(PFS_ROM_PENDING, PFS_ROE_COUNT, &to), PF_EINVAL);
    }
}
END_TEST

START_TEST(outcomes_are_final)
{
    for (int s = 0; s < PFS_ROM_COUNT; s++) {
        bool any = false;

        for (int e = PFS_ROE_ACCEPTED; e <= PFS_ROE_DEADLINE; e++) {
            enum pfs_ro_member to;

            any |= pfs_ro_member_next((enum pfs_ro_member)s, (enum pfs_ro_event)e, &to) == 0;
        }
        /* no update event moves a member with an outcome */
        ck_assert_msg(any != pfs_ro_member_final((enum pfs_ro_member)s), "%s",
                      pfs_ro_member_names[s]);
    }
    ck_assert(pfs_ro_member_active(PFS_ROM_OFFERED) && pfs_ro_member_active(PFS_ROM_REVERTING));
    ck_assert(!pfs_ro_member_active(PFS_ROM_DEFERRED) && !pfs_ro_member_active(PFS_ROM_PENDING));
    ck_assert(pfs_ro_member_in_progress(PFS_ROM_DOWNLOADING));
    ck_assert(pfs_ro_member_in_progress(PFS_ROM_INSTALLING));
    ck_assert(!pfs_ro_member_in_progress(PFS_ROM_OFFERED));
    /* every member holds its terminal against other rollouts, but skipped, swapped and
     * already ones */
    for (int s = 0; s < PFS_ROM_COUNT; s++)
        ck_assert_msg(
                pfs_ro_member_holds((enum pfs_ro_member)s) ==
                        (s != PFS_ROM_SKIPPED && s != PFS_ROM_SWAPPED && s != PFS_ROM_ALREADY),
                "%s", pfs_ro_member_names[s]);
}
END_TEST

START_TEST(update_statuses_as_events)
{
    static const struct {
        enum pf_update_status s;
        const char *code;
        enum pfs_ro_event ev;
    } map[] = {
            {PF_UPD_ACCEPTED, "", PFS_ROE_ACCEPTED},
            {PF_UPD_DEFERRED, "BUSY", PFS_ROE_DEFERRED},
            {PF_UPD_DOWNLOADING, "", PFS_ROE_DOWNLOADING},
            {PF_UPD_VERIFYING, "", PFS_ROE_DOWNLOADING},
            {PF_UPD_INSTALLING, "", PFS_ROE_INSTALLING},
            {PF_UPD_REBOOTING, "", PFS_ROE_INSTALLING},
            {PF_UPD_SUCCESS, "", PFS_ROE_SUCCESS},
            {PF_UPD_FAILED, "EIO", PFS_ROE_FAILED},
            {PF_UPD_FAILED, "DEADLINE", PFS_ROE_DEADLINE},
            {PF_UPD_FAILED, "DEADLINE2", PFS_ROE_FAILED},
            {PF_UPD_ROLLED_BACK, "SELFTEST", PFS_ROE_ROLLED_BACK},
            {PF_UPD_REFUSED, "DEADLINE", PFS_ROE_FAILED},
            {PF_UPD_REFUSED, "ROLLBACK", PFS_ROE_FAILED},
            {PF_UPD_REFUSED, "ALREADY", PFS_ROE_ALREADY},
            {PF_UPD_FAILED, "ALREADY", PFS_ROE_FAILED},
    };

    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        ck_assert_msg(pfs_ro_event_of(map[i].s, map[i].code) == map[i].ev, "%s %s",
                      pf_update_status_names[map[i].s], map[i].code);
    ck_assert(pfs_ro_event_late_counts(PFS_ROE_SUCCESS));
    ck_assert(pfs_ro_event_late_counts(PFS_ROE_ROLLED_BACK));
    ck_assert(pfs_ro_event_late_counts(PFS_ROE_ALREADY));
    /* an old agent's ROLLBACK for the version it reported running is "already" */
    ck_assert_int_eq(pfs_ro_event_of_answer(PF_UPD_REFUSED, "ROLLBACK", "2.1.0", "2.1.0"),
                     PFS_ROE_ALREADY);
    ck_assert_int_eq(pfs_ro_event_of_answer(PF_UPD_REFUSED, "ROLLBACK", "2.1.0", "2.2.0"),
                     PFS_ROE_FAILED);
    ck_assert_int_eq(pfs_ro_event_of_answer(PF_UPD_REFUSED, "ROLLBACK", "2.1.0", ""),
                     PFS_ROE_FAILED);
    ck_assert_int_eq(pfs_ro_event_of_answer(PF_UPD_REFUSED, "ROLLBACK", "", ""), PFS_ROE_FAILED);
    ck_assert_int_eq(pfs_ro_event_of_answer(PF_UPD_FAILED, "ROLLBACK", "2.1.0", "2.1.0"),
                     PFS_ROE_FAILED);
    ck_assert_int_eq(pfs_ro_event_of_answer(PF_UPD_REFUSED, "ALREADY", "2.1.0", NULL),
                     PFS_ROE_ALREADY);
    /* the ops actions by name */
    ck_assert_int_eq(pfs_ro_member_action_parse("retry"), PFS_ROE_RETRY);
    ck_assert_int_eq(pfs_ro_member_action_parse("skip"), PFS_ROE_DROP);
    ck_assert_int_eq(pfs_ro_member_action_parse("cancel"), PFS_ROE_CANCEL);
    ck_assert_int_eq(pfs_ro_member_action_parse("Retry"), -1);
    ck_assert_int_eq(pfs_ro_member_action_parse(NULL), -1);
    /* already and deferred out never count in the rates */
    ck_assert(!pfs_ro_member_rated(PFS_ROM_ALREADY));
    ck_assert(!pfs_ro_member_rated(PFS_ROM_DEFERRED_OUT));
    ck_assert(pfs_ro_member_rated(PFS_ROM_TIMED_OUT));
    ck_assert(pfs_ro_member_final(PFS_ROM_ALREADY));
    ck_assert(!pfs_ro_member_final(PFS_ROM_DEFERRED_OUT));
    ck_assert(!pfs_ro_event_late_counts(PFS_ROE_FAILED));
    ck_assert(!pfs_ro_event_late_counts(PFS_ROE_DOWNLOADING));
    ck_assert_int_eq(pfs_ro_member_parse("revert_failed"), PFS_ROM_REVERT_FAILED);
    ck_assert_int_eq(pfs_ro_member_parse("Pending"), -1);
    ck_assert_int_eq(pfs_ro_member_parse(NULL), -1);
}
END_TEST

/* Expiry at now = 10000 with timeout 1000: due strictly before 9000. */
START_TEST(time_rules_at_their_boundaries)
{
    static const struct {
        struct pfs_ro_member_clock c;
        bool due;
        enum pfs_ro_event ev;
    } cases[] = {
            {{PFS_ROM_DOWNLOADING, 0, 8999, false, 0, 0}, true, PFS_ROE_TIMEOUT},
            {{PFS_ROM_DOWNLOADING, 0, 9000, false, 0, 0}, false, PFS_ROE_TIMEOUT},
            {{PFS_ROM_INSTALLING, 0, 8999, false, 0, 0}, true, PFS_ROE_TIMEOUT},
            /* accepted: times out from since (its last progress), never expires */
            {{PFS_ROM_OFFERED, 0, 8999, true, 0, 0}, true, PFS_ROE_TIMEOUT},
            {{PFS_ROM_OFFERED, 0, 9000, true, 0, 0}, false, PFS_ROE_TIMEOUT},
            /* unanswered: the offer's age, not the last resend, decides */
            {{PFS_ROM_OFFERED, 8999, 9999, false, 0, 0}, true, PFS_ROE_EXPIRE},
            {{PFS_ROM_OFFERED, 9000, 0, false, 0, 0}, false, PFS_ROE_EXPIRE},
            {{PFS_ROM_DEFERRED, 8999, 9999, false, 0, 0}, true, PFS_ROE_EXPIRE},
            {{PFS_ROM_DEFERRED, 9000, 0, false, 0, 0}, false, PFS_ROE_EXPIRE},
            {{PFS_ROM_REVERTING, 8999, 9999, false, 0, 0}, true, PFS_ROE_TIMEOUT},
            {{PFS_ROM_REVERTING, 9000, 0, false, 0, 0}, false, PFS_ROE_TIMEOUT},
            {{PFS_ROM_PENDING, 0, 0, false, 0, 0}, false, PFS_ROE_COUNT},
            {{PFS_ROM_INSTALLED, 0, 0, false, 0, 0}, false, PFS_ROE_COUNT},
            {{PFS_ROM_TIMED_OUT, 0, 0, false, 0, 0}, false, PFS_ROE_COUNT},
            {{PFS_ROM_REVERT_PENDING, 0, 0, false, 0, 0}, false, PFS_ROE_COUNT},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        enum pfs_ro_event ev = PFS_ROE_COUNT;
        enum pfs_ro_member to;
        struct pfs_ro_time_rules t = {1000, 0, 0, 0, 0};
        bool due = pfs_ro_member_expiry(&cases[i].c, 10000, &t, &ev);

        ck_assert_msg(due == cases[i].due, "case %zu (%s)", i,
                      pfs_ro_member_names[cases[i].c.status]);
        if (cases[i].ev != PFS_ROE_COUNT)
            ck_assert_msg(ev == cases[i].ev, "case %zu", i);
        /* whatever is due is a move the state machine allows */
        if (due)
            ck_assert_int_eq(pfs_ro_member_next(cases[i].c.status, ev, &to), 0);
    }
    /* resend: offered, unanswered, last sent before now - retry */
    {
        struct pfs_ro_member_clock c = {PFS_ROM_OFFERED, 0, 8999, false, 0, 0};

        ck_assert(pfs_ro_member_resend_due(&c, 10000, 1000));
        c.since_ms = 9000;
        ck_assert(!pfs_ro_member_resend_due(&c, 10000, 1000));
        c.since_ms = 0;
        c.answered = true;
        ck_assert(!pfs_ro_member_resend_due(&c, 10000, 1000));
        c.answered = false;
        c.status = PFS_ROM_DEFERRED;
        ck_assert(!pfs_ro_member_resend_due(&c, 10000, 1000));
    }
}
END_TEST

/* Silence and persistent deferral at now = 100000: timeout 1000, offer timeout 5000,
 * at most 3 deferrals or 20000 ms of deferring, deferred out offered again after 50000. */
START_TEST(silence_and_deferral_limits)
{
    static const struct {
        struct pfs_ro_member_clock c;
        bool due;
        enum pfs_ro_event ev;
        enum pfs_ro_member to;
    } cases[] = {
            /* unanswered: timed out after the offer timeout, counted, slot freed */
            {{PFS_ROM_OFFERED, 94999, 99999, false, 0, 0},
             true,
             PFS_ROE_TIMEOUT,
             PFS_ROM_TIMED_OUT},
            {{PFS_ROM_OFFERED, 95000, 99999, false, 0, 0}, false, PFS_ROE_COUNT, PFS_ROM_COUNT},
            /* accepted: the in-progress timeout, as before */
            {{PFS_ROM_OFFERED, 0, 98999, true, 0, 0}, true, PFS_ROE_TIMEOUT, PFS_ROM_TIMED_OUT},
            {{PFS_ROM_OFFERED, 0, 99000, true, 0, 0}, false, PFS_ROE_COUNT, PFS_ROM_COUNT},
            /* deferrals: the count, then the time since the first */
            {{PFS_ROM_DEFERRED, 99999, 99999, false, 3, 99000},
             true,
             PFS_ROE_DEFER_OUT,
             PFS_ROM_DEFERRED_OUT},
            {{PFS_ROM_DEFERRED, 99999, 99999, false, 2, 80001},
             false,
             PFS_ROE_COUNT,
             PFS_ROM_COUNT},
            {{PFS_ROM_DEFERRED, 99999, 99999, false, 1, 80000},
             true,
             PFS_ROE_DEFER_OUT,
             PFS_ROM_DEFERRED_OUT},
            /* under the limit past the offer's deadline: offered anew */
            {{PFS_ROM_DEFERRED, 98999, 99999, false, 1, 99000},
             true,
             PFS_ROE_EXPIRE,
             PFS_ROM_PENDING},
            /* deferred out: offered again in a later window */
            {{PFS_ROM_DEFERRED_OUT, 0, 49999, false, 5, 1}, true, PFS_ROE_EXPIRE, PFS_ROM_PENDING},
            {{PFS_ROM_DEFERRED_OUT, 0, 50000, false, 5, 1}, false, PFS_ROE_COUNT, PFS_ROM_COUNT},
    };
    struct pfs_ro_time_rules t = {1000, 5000, 3, 20000, 50000};

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        enum pfs_ro_event ev = PFS_ROE_COUNT;
        enum pfs_ro_member to = PFS_ROM_COUNT;
        bool due = pfs_ro_member_expiry(&cases[i].c, 100000, &t, &ev);

        ck_assert_msg(due == cases[i].due, "case %zu", i);
        if (!due)
            continue;
        ck_assert_msg(ev == cases[i].ev, "case %zu: %s", i, pfs_ro_event_names[ev]);
        ck_assert_int_eq(pfs_ro_member_next(cases[i].c.status, ev, &to), 0);
        ck_assert_msg(to == cases[i].to, "case %zu: %s", i, pfs_ro_member_names[to]);
    }
    /* limits of 0 are no limits */
    {
        struct pfs_ro_time_rules none = {1000, 0, 0, 0, 0};
        struct pfs_ro_member_clock c = {PFS_ROM_DEFERRED, 99999, 99999, false, 1000, 1};
        enum pfs_ro_event ev;

        ck_assert(!pfs_ro_member_expiry(&c, 100000, &none, &ev));
        c.status = PFS_ROM_DEFERRED_OUT;
        ck_assert(!pfs_ro_member_expiry(&c, 100000, &none, &ev));
    }
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("rollout_member");
    TCase *tc = tcase_create("core");

    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, every_pair_allowed_or_refused);
    tcase_add_test(tc, outcomes_are_final);
    tcase_add_test(tc, update_statuses_as_events);
    tcase_add_test(tc, time_rules_at_their_boundaries);
    tcase_add_test(tc, silence_and_deferral_limits);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return pf_test_run(suite());
}
