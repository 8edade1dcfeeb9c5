/*
 * rollout.c - the rollout scheduler (rollout.h, docs/rollouts.md "Rollout
 * states and the scheduler"): each tick, for every live rollout, the time
 * rules (rollout_time.h), the pause criteria, offers within the maintenance
 * window (a terminal's local minute from zone.h, cached for the tick) and
 * the concurrency limit, and the stage settling, soaking, gating and
 * promotion. It decides from the counts and members the store hands over
 * and records every decision in the store before acting on it.
 */
#include "rollouts/rollout.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "notify/notify.h"
#include "rollouts/rollout_time.h"

/* Candidates examined per rollout and tick, at least (more when many slots are free). */
#define RO_SCAN_MIN           256
#define RO_UNHEALTHY_EVERY_MS 5000
#define RO_PLAN_ROWS          16384 /* planned members turned into rows per tick */
#define RO_ZONES_MAX          64    /* zones whose local minute a tick remembers */

static const struct pfs_actor ro__system = {.name = "posfleetd", .role = "system"};

struct ro__zone {
    char tz[PFS_TZ_MAX + 1];
    int minute; /* -1: not a zone */
};

struct ro__tick {
    struct pfs_rollouts *ro;
    int64_t now; /* wall */
    struct ro__zone zones[RO_ZONES_MAX];
    size_t nzones;
};

static struct pfs_ro_runtime *ro__rt(struct pfs_rollouts *ro, int64_t id)
{
    for (size_t i = 0; i < ro->nrt; i++) {
        if (ro->rt[i].id == id)
            return &ro->rt[i];
    }
    if (ro->nrt == ro->caprt) {
        size_t cap = ro->caprt ? ro->caprt * 2 : 8;
        struct pfs_ro_runtime *n = realloc(ro->rt, cap * sizeof(*n));

        if (!n)
            return NULL;
        ro->rt = n;
        ro->caprt = cap;
    }
    memset(&ro->rt[ro->nrt], 0, sizeof(ro->rt[0]));
    ro->rt[ro->nrt].id = id;
    return &ro->rt[ro->nrt++];
}

const struct pfs_ro_runtime *pfs_rollouts_runtime(const struct pfs_rollouts *ro, int64_t id)
{
    for (size_t i = 0; i < ro->nrt; i++) {
        if (ro->rt[i].id == id)
            return &ro->rt[i];
    }
    return NULL;
}

/* The local minute in tz (cached for this tick); -1 if tz is not a zone. */
static int ro__minute(struct ro__tick *t, const char *tz)
{
    int minute = -1;

    if (!*tz)
        tz = t->ro->cfg->rollout_default_tz;
    for (size_t i = 0; i < t->nzones; i++) {
        if (strcmp(t->zones[i].tz, tz) == 0)
            return t->zones[i].minute;
    }
    if (pfs_ro_local_minute(tz, t->now, &minute) != 0)
        minute = -1;
    if (t->nzones < RO_ZONES_MAX) {
        snprintf(t->zones[t->nzones].tz, sizeof(t->zones[0].tz), "%s", tz);
        t->zones[t->nzones++].minute = minute;
    }
    return minute;
}

static int ro__change(struct pfs_rollouts *ro, const struct pfs_rollout_rec *r, unsigned from,
                      enum pfs_ro_state to, int stage, const char *action, const char *reason,
                      const char *detail)
{
    struct pfs_ro_change c = {from, to, stage, action, reason, detail, NULL};
    struct pf_error err = {0};
    int rc = pfs_store_rollout_change(ro->store, r->id, &c, &ro__system,
                                      pf_clock_wall_ms(ro->clock), &err);

    if (!rc) {
        pfs_notify_rollout(ro->notify, r->id, pfs_ro_state_names[to], reason, detail);
        pfs_live_note(ro->live, r->id, NULL); /* open pages of it refetch */
    }
    if (rc)
        pfs_log_error(ro->log, "rollout %" PRId64 ": %s: %s", r->id, action, err.msg);
    else
        pfs_log_info(ro->log, "rollout %" PRId64 ": %s -> %s%s%s", r->id,
                     pfs_ro_state_names[r->state], pfs_ro_state_names[to], detail ? ": " : "",
                     detail ? detail : "");
    return rc;
}

/* --- criteria --- */

struct ro__sums {
    int64_t members, outcomes, failed, rolled_back, installed, active, deferred, pending;
    int64_t offered, working; /* active split: offers out, downloading or installing */
};

static void ro__sum(const struct pfs_rollout_rec *r, const struct pfs_ro_stage_rec *st, size_t nst,
                    int max_stage, struct ro__sums *s)
{
    int64_t tot[PFS_ROM_COUNT] = {0};

    memset(s, 0, sizeof(*s));
    for (size_t k = 0; k < nst && (int)k <= max_stage; k++) {
        for (int m = 0; m < PFS_ROM_COUNT; m++) {
            tot[m] += st[k].counts[m];
            /* the sample: members that can have an outcome counted in the rates */
            s->members += m == PFS_ROM_SKIPPED || m == PFS_ROM_SWAPPED || m == PFS_ROM_ALREADY ||
                                          m == PFS_ROM_DEFERRED_OUT
                                  ? 0
                                  : st[k].counts[m];
        }
    }
    s->installed = tot[PFS_ROM_INSTALLED];
    s->failed = tot[PFS_ROM_FAILED] + tot[PFS_ROM_TIMED_OUT] - r->base[PFS_ROM_FAILED] -
                r->base[PFS_ROM_TIMED_OUT];
    s->rolled_back = tot[PFS_ROM_ROLLED_BACK] - r->base[PFS_ROM_ROLLED_BACK];
    s->outcomes = s->failed + s->rolled_back + tot[PFS_ROM_INSTALLED] - r->base[PFS_ROM_INSTALLED];
    s->active = tot[PFS_ROM_OFFERED] + tot[PFS_ROM_DOWNLOADING] + tot[PFS_ROM_INSTALLING] +
                tot[PFS_ROM_REVERTING];
    s->offered = tot[PFS_ROM_OFFERED];
    s->working = s->active - s->offered;
    s->deferred = tot[PFS_ROM_DEFERRED];
    s->pending = tot[PFS_ROM_PENDING] + tot[PFS_ROM_REVERT_PENDING];
    if (s->failed < 0)
        s->failed = 0;
    if (s->rolled_back < 0)
        s->rolled_back = 0;
    if (s->outcomes < 0)
        s->outcomes = 0;
}

/* Fills reason/detail and returns true if a threshold is crossed. */
static bool ro__crossed(const struct pfs_rollout_rec *r, const struct ro__sums *s,
                        int64_t unhealthy, bool settled, char reason[32],
                        char detail[PFS_RO_REASON_MAX + 1])
{
    const struct pfs_ro_def *d = &r->def;
    int64_t sample = d->min_sample < s->members ? d->min_sample : s->members;

    if (s->outcomes > 0 && (s->outcomes >= sample || settled)) {
        double fr = (double)s->failed / (double)s->outcomes;
        double rr = (double)s->rolled_back / (double)s->outcomes;

        if (fr > d->max_failure_rate) {
            snprintf(reason, 32, "failure_rate");
            snprintf(detail, PFS_RO_REASON_MAX + 1,
                     "%" PRId64 " of %" PRId64 " outcomes failed or timed out (%.1f%% > %.1f%%)",
                     s->failed, s->outcomes, fr * 100, d->max_failure_rate * 100);
            return true;
        }
        if (rr > d->max_rollback_rate) {
            snprintf(reason, 32, "rollback_rate");
            snprintf(detail, PFS_RO_REASON_MAX + 1,
                     "%" PRId64 " of %" PRId64 " outcomes rolled back (%.1f%% > %.1f%%)",
                     s->rolled_back, s->outcomes, rr * 100, d->max_rollback_rate * 100);
            return true;
        }
    }
    if (s->installed > 0 && (s->installed >= sample || settled)) {
        double ur = (double)unhealthy / (double)s->installed;

        if (ur > d->max_unhealthy_rate) {
            snprintf(reason, 32, "unhealthy_rate");
            snprintf(detail, PFS_RO_REASON_MAX + 1,
                     "%" PRId64 " of %" PRId64 " installed terminals silent, failing their"
                     " self-test or in a reboot loop (%.1f%% > %.1f%%)",
                     unhealthy, s->installed, ur * 100, d->max_unhealthy_rate * 100);
            return true;
        }
    }
    return false;
}

/* --- offering --- */

struct ro__scan {
    struct ro__tick *t;
    const struct pfs_rollout_rec *r;
    struct pfs_ro_runtime *rt;
    int64_t slots;
    bool revert;      /* rollback: no window, the member's previous bundle */
    bool broker_down; /* stop offering this tick */
    int last_stage;
    char last_serial[PF_SERIAL_MAX + 1];
    int64_t outside;
    int64_t opens; /* wall: the soonest an outside member's window opens */
};

static int ro__candidate(void *ctx, const struct pfs_ro_member_rec *m)
{
    struct ro__scan *sc = ctx;
    struct pfs_rollouts *ro = sc->t->ro;
    struct pfs_offer_rec out;
    struct pf_error err = {0};
    const char *bundle = sc->revert ? m->prev_bundle : sc->r->bundle;
    int rc;

    sc->last_stage = m->stage;
    snprintf(sc->last_serial, sizeof(sc->last_serial), "%s", m->serial);
    if (!m->online || sc->slots <= 0 || sc->broker_down)
        return 0;
    if (!sc->revert) {
        int minute = ro__minute(sc->t, m->tz);

        if (minute < 0 || !pfs_ro_in_window(&sc->r->def, minute)) {
            sc->outside++;
            if (minute >= 0) { /* its window opens at the next local start minute */
                int64_t mins = ((int64_t)sc->r->def.win_start - minute + 1440) % 1440;
                int64_t at = sc->t->now - sc->t->now % 60000 + (mins ? mins : 1440) * 60000;

                if (!sc->opens || at < sc->opens)
                    sc->opens = at;
            }
            return 0;
        }
    }
    rc = pfs_updates_offer_member(ro->updates, sc->r->id, m->serial, bundle,
                                  sc->t->now + sc->r->def.timeout_s * 1000, &out, &err);
    if (rc == 0 || (rc == PF_ECONN && out.id[0])) {
        /* recorded (published, or sent again at the terminal's next birth) */
        sc->slots--;
        ro->stats.offers++;
        return 0;
    }
    ro->stats.offer_errors++;
    if (rc == PF_ECONN) {
        sc->broker_down = true;
        return 0;
    }
    if (rc == PF_ESTATE || rc == PF_EIO || rc == PF_ENOMEM)
        return 0;
    pfs_log_warn(ro->log, "rollout %" PRId64 ": %s cannot be offered %s: %s", sc->r->id, m->serial,
                 bundle, err.msg);
    if (pfs_store_rollout_member_fail(ro->store, sc->r->id, m->serial, pf_errname(rc),
                                      sc->t->now) != 0)
        pfs_log_error(ro->log, "rollout %" PRId64 ": recording %s failed", sc->r->id, m->serial);
    return 0;
}

/* Offers to what the slots allow; returns how many offers were made. */
static int64_t ro__offer(struct ro__tick *t, const struct pfs_rollout_rec *r,
                         struct pfs_ro_runtime *rt, int64_t slots, bool revert)
{
    struct ro__scan sc = {t, r, rt, slots, revert, false, rt->cur_stage, "", 0, 0};
    int max_stage = revert ? PFS_RO_STAGES_MAX : r->stage;
    int limit = RO_SCAN_MIN + (int)(slots > 1000 ? 4000 : slots * 4);
    bool more = false;
    int rc;

    if (slots <= 0)
        return 0;
    snprintf(sc.last_serial, sizeof(sc.last_serial), "%s", rt->cur_serial);
    rc = pfs_store_rollout_candidates(
            t->ro->store, r->id, revert ? PFS_ROM_REVERT_PENDING : PFS_ROM_PENDING, max_stage,
            rt->cur_stage, rt->cur_serial, limit, ro__candidate, &sc, &more);
    if (rc) {
        pfs_log_error(t->ro->log, "rollout %" PRId64 ": reading members: %s", r->id,
                      pf_strerror(rc));
        return 0;
    }
    if (more) {
        rt->cur_stage = sc.last_stage;
        snprintf(rt->cur_serial, sizeof(rt->cur_serial), "%s", sc.last_serial);
        rt->outside_window += sc.outside;
        if (sc.opens && (!rt->window_opens_ms || sc.opens < rt->window_opens_ms))
            rt->window_opens_ms = sc.opens;
    } else { /* the scan reached the end: start over next time */
        rt->cur_stage = -1;
        rt->cur_serial[0] = '\0';
        rt->outside_window = sc.outside;
        rt->window_opens_ms = sc.opens;
    }
    return slots - sc.slots;
}

/* --- one rollout --- */

static void ro__waiting(struct pfs_ro_runtime *rt, const char *fmt, ...) PF_PRINTF(2, 3);
static void ro__waiting(struct pfs_ro_runtime *rt, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(rt->waiting, sizeof(rt->waiting), fmt, ap);
    va_end(ap);
}

/* The deadline passed: the rollout ends expired (not completed), and says how
 * far it got; members never reached are skipped (the store's audit row of the
 * change holds the exact counts per status). */
static void ro__expire(struct pfs_rollouts *ro, const struct pfs_rollout_rec *r)
{
    struct pfs_ro_stage_rec st[PFS_RO_STAGES_MAX];
    int64_t tot[PFS_ROM_COUNT] = {0}, all = 0;
    char detail[PFS_RO_REASON_MAX + 1];
    size_t nst = 0;

    if (pfs_store_rollout_stages(ro->store, r->id, st, &nst) == 0) {
        for (size_t k = 0; k < nst; k++) {
            for (int m = 0; m < PFS_ROM_COUNT; m++) {
                tot[m] += st[k].counts[m];
                all += st[k].counts[m];
            }
        }
    }
    snprintf(detail, sizeof(detail),
             "the deadline passed at stage %d of %zu: %" PRId64 " of %" PRId64
             " installed or already current; %" PRId64 " never reached are skipped",
             r->stage + 1, nst, tot[PFS_ROM_INSTALLED] + tot[PFS_ROM_ALREADY], all,
             tot[PFS_ROM_PENDING] + tot[PFS_ROM_DEFERRED]);
    (void)ro__change(ro, r, 1u << PFS_RO_RUNNING, PFS_RO_EXPIRED, -1, "expire", "deadline", detail);
}

static void ro__step_running(struct ro__tick *t, const struct pfs_rollout_rec *r,
                             struct pfs_ro_runtime *rt)
{
    struct pfs_rollouts *ro = t->ro;
    struct pfs_ro_stage_rec st[PFS_RO_STAGES_MAX];
    size_t nst = 0;
    struct ro__sums s;
    char reason[32], detail[PFS_RO_REASON_MAX + 1];
    int64_t mono = pf_clock_mono_ms(ro->clock), planned = 0;
    const struct pfs_ro_stage_rec *open;
    bool any_online = false, settled;

    if (r->deadline_ms && t->now >= r->deadline_ms) {
        ro__expire(ro, r);
        return;
    }
    if (mono >= rt->join_at) {
        int64_t added = 0;

        rt->join_at = mono + (int64_t)ro->cfg->rollout_join_scan_s * 1000;
        if (pfs_store_rollout_join(ro->store, r, t->now, &added) == 0 && added) {
            ro->stats.joined += (uint64_t)added;
            pfs_log_info(ro->log, "rollout %" PRId64 ": %" PRId64 " new terminals joined stage %d",
                         r->id, added, r->stage + 1);
        }
    }
    if (pfs_store_rollout_plan_open(ro->store, r->id, r->stage, RO_PLAN_ROWS, t->now, &planned)) {
        pfs_log_error(ro->log, "rollout %" PRId64 ": writing the members of stage %d failed", r->id,
                      r->stage + 1);
        return;
    }
    if (pfs_store_rollout_stages(ro->store, r->id, st, &nst) != 0 || nst == 0 ||
        (size_t)r->stage >= nst)
        return;
    open = &st[r->stage];
    ro__sum(r, st, nst, r->stage, &s);
    if (mono >= rt->unhealthy_at) {
        rt->unhealthy_at = mono + RO_UNHEALTHY_EVERY_MS;
        if (pfs_store_rollout_unhealthy(ro->store, r->id, r->stage, &rt->unhealthy) != 0)
            rt->unhealthy = 0;
    }
    settled = open->settled_ms != 0;
    if (ro__crossed(r, &s, rt->unhealthy, settled, reason, detail)) {
        ro->stats.pauses++;
        (void)ro__change(ro, r, 1u << PFS_RO_RUNNING, PFS_RO_PAUSED, -1, "pause", reason, detail);
        return;
    }
    if (ro__offer(t, r, rt, r->def.max_concurrent - s.active, false) > 0) {
        ro__waiting(rt, "stage %d: offering", r->stage + 1);
        return; /* the counts read above are stale now */
    }
    if (planned) {
        ro__waiting(rt, "stage %d: %" PRId64 " members still to be written from the plan",
                    r->stage + 1, planned);
        return;
    }
    /* Settled: nothing in progress, nothing deferred, no pending member online.
     * The words are the card's columns, so the line agrees with the counts. */
    if (s.active || s.deferred) {
        ro__waiting(rt,
                    "stage %d: %" PRId64 " offered, %" PRId64 " downloading or installing, %" PRId64
                    " deferred",
                    r->stage + 1, s.offered, s.working, s.deferred);
        return;
    }
    if (s.pending && pfs_store_rollout_pending_online(ro->store, r->id, r->stage, &any_online))
        return;
    if (any_online) {
        if (rt->outside_window)
            ro__waiting(rt, "outside maintenance window: %" PRId64 " terminal%s",
                        rt->outside_window, rt->outside_window == 1 ? "" : "s");
        else
            ro__waiting(rt, "stage %d: offering", r->stage + 1);
        return;
    }
    if (!settled) {
        if (pfs_store_rollout_settle(ro->store, r->id, r->stage, t->now) == 0)
            pfs_log_info(ro->log,
                         "rollout %" PRId64 ": stage %d settled (%" PRId64 " outcomes, %" PRId64
                         " pending offline); soak %" PRId64 " s",
                         r->id, r->stage + 1, s.outcomes, s.pending, open->soak_s);
        ro__waiting(rt, "soak until stage %d settles", r->stage + 1);
        return;
    }
    if (t->now < open->settled_ms + open->soak_s * 1000) {
        /* When it ends, not how long is left: the text (and the rollout's
         * answer, its ETag) stays the same for the whole soak. */
        time_t end = (time_t)((open->settled_ms + open->soak_s * 1000 + 999) / 1000);
        struct tm tm;
        char when[32] = "";

        if (gmtime_r(&end, &tm))
            strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
        ro__waiting(rt, "soak until %s", when);
        return;
    }
    if ((size_t)r->stage + 1 >= nst) {
        if (s.pending) {
            ro__waiting(rt, "%" PRId64 " terminal%s offline: offered when they connect", s.pending,
                        s.pending == 1 ? "" : "s");
            return;
        }
        (void)ro__change(ro, r, 1u << PFS_RO_RUNNING, PFS_RO_COMPLETED, -1, "complete", NULL, NULL);
        return;
    }
    if (open->gate) {
        (void)ro__change(ro, r, 1u << PFS_RO_RUNNING, PFS_RO_GATED, -1, "gate", NULL,
                         "soak passed: waiting for continue");
        return;
    }
    ro->stats.promotions++;
    (void)ro__change(ro, r, 1u << PFS_RO_RUNNING, PFS_RO_RUNNING, r->stage + 1, "promote", NULL,
                     NULL);
    rt->cur_stage = -1;
    rt->cur_serial[0] = '\0';
}

static void ro__step_rollback(struct ro__tick *t, const struct pfs_rollout_rec *r,
                              struct pfs_ro_runtime *rt)
{
    struct pfs_ro_stage_rec st[PFS_RO_STAGES_MAX];
    size_t nst = 0;
    int64_t active = 0, pending = 0;

    if (pfs_store_rollout_stages(t->ro->store, r->id, st, &nst) != 0)
        return;
    for (size_t k = 0; k < nst; k++) {
        active += st[k].counts[PFS_ROM_REVERTING];
        pending += st[k].counts[PFS_ROM_REVERT_PENDING];
    }
    if (!active && !pending) {
        (void)ro__change(t->ro, r, 1u << PFS_RO_ROLLING_BACK, PFS_RO_ROLLED_BACK, -1, "rolled-back",
                         NULL, NULL);
        return;
    }
    (void)ro__offer(t, r, rt, r->def.max_concurrent - active, true);
    ro__waiting(rt, "rolling back: %" PRId64 " in progress, %" PRId64 " waiting (online only)",
                active, pending);
}

/* An offer nobody answered for retry_s: the same offer again. */
static int ro__resend(void *ctx, const char *serial)
{
    struct pfs_rollouts *ro = ctx;

    if (pfs_updates_resend(ro->updates, serial, "(unanswered)") == 0)
        ro->stats.resent++;
    return 0;
}

/*
 * While a console watches rollout r (base/live.h): a digest of what its page
 * shows — state, stage, stop, waiting, and each stage's times and counters as
 * stored now — compared with the last tick's, and the watchers told when it
 * differs. Member outcomes, offers and the API's changes all end up in these,
 * so one read per watched rollout and tick covers them; unwatched rollouts
 * cost nothing.
 */
static void ro__shown(struct pfs_rollouts *ro, const struct pfs_rollout_rec *r,
                      struct pfs_ro_runtime *rt)
{
    struct pfs_ro_stage_rec st[PFS_RO_STAGES_MAX];
    crypto_generichash_state h;
    unsigned char d[sizeof(rt->shown)];
    int64_t head[4] = {r->state, r->stage, r->updated_ms, r->pause_ms};
    size_t nst = 0;

    if (!pfs_live_watched(ro->live, r->id)) {
        rt->shown_set = false;
        return;
    }
    if (pfs_store_rollout_stages(ro->store, r->id, st, &nst) != 0)
        return;
    crypto_generichash_init(&h, NULL, 0, sizeof(d));
    crypto_generichash_update(&h, (const unsigned char *)head, sizeof(head));
    crypto_generichash_update(&h, (const unsigned char *)rt->waiting, strlen(rt->waiting));
    for (size_t k = 0; k < nst; k++) {
        int64_t row[2] = {st[k].opened_ms, st[k].settled_ms};

        crypto_generichash_update(&h, (const unsigned char *)row, sizeof(row));
        crypto_generichash_update(&h, (const unsigned char *)st[k].counts, sizeof(st[k].counts));
    }
    crypto_generichash_final(&h, d, sizeof(d));
    if (rt->shown_set && memcmp(d, rt->shown, sizeof(d)) != 0)
        pfs_live_note(ro->live, r->id, NULL);
    memcpy(rt->shown, d, sizeof(d));
    rt->shown_set = true;
}

static int ro__step_one(struct ro__tick *t, const struct pfs_rollout_rec *r,
                        struct pfs_ro_runtime *rt);

static int ro__step(void *ctx, const struct pfs_rollout_rec *r)
{
    struct ro__tick *t = ctx;
    struct pfs_ro_runtime *rt = ro__rt(t->ro, r->id);
    int rc;

    if (!rt)
        return 0;
    rc = ro__step_one(t, r, rt);
    ro__shown(t->ro, r, rt);
    return rc;
}

static int ro__step_one(struct ro__tick *t, const struct pfs_rollout_rec *r,
                        struct pfs_ro_runtime *rt)
{
    struct pfs_rollouts *ro = t->ro;
    struct pfs_ro_time_rules rules;
    struct pfs_ro_expired ex;

    rt->seen = true;
    rt->waiting[0] = '\0';
    if (r->state == PFS_RO_SCHEDULED) {
        if (t->now >= r->start_ms)
            (void)ro__change(ro, r, 1u << PFS_RO_SCHEDULED, PFS_RO_RUNNING, -1, "start", NULL,
                             NULL);
        else
            ro__waiting(rt, "before start_at");
        return 0;
    }
    if (r->state == PFS_RO_RUNNING || r->state == PFS_RO_ROLLING_BACK ||
        r->state == PFS_RO_PAUSED || r->state == PFS_RO_GATED)
        if (pfs_ro_resend(ro->store, r->id, t->now, r->def.retry_s * 1000, RO_SCAN_MIN, ro__resend,
                          ro) != 0)
            pfs_log_warn(ro->log, "rollout %" PRId64 ": cannot read unanswered offers", r->id);
    pfs_ro_time_rules_of(&r->def, &rules);
    if (pfs_ro_expire(ro->store, r->id, t->now, &rules, &ex) == 0 &&
        (ex.timed_out || ex.returned || ex.deferred_out)) {
        ro->stats.timed_out += (uint64_t)ex.timed_out;
        ro->stats.returned += (uint64_t)ex.returned;
        ro->stats.deferred_out += (uint64_t)ex.deferred_out;
        pfs_log_info(ro->log,
                     "rollout %" PRId64 ": %" PRId64 " timed out, %" PRId64
                     " deferred out, %" PRId64 " offers to make again",
                     r->id, ex.timed_out, ex.deferred_out, ex.returned);
    }
    switch (r->state) {
    case PFS_RO_RUNNING:
        ro__step_running(t, r, rt);
        break;
    case PFS_RO_ROLLING_BACK:
        ro__step_rollback(t, r, rt);
        break;
    case PFS_RO_PAUSED:
        ro__waiting(rt, "paused: %s", r->pause_reason);
        break;
    case PFS_RO_GATED:
        ro__waiting(rt, "gate: waiting for continue");
        break;
    default:
        break;
    }
    return 0;
}

void pfs_rollouts_tick(struct pfs_rollouts *ro)
{
    struct ro__tick *t = calloc(1, sizeof(*t));
    size_t keep = 0;

    if (!t)
        return;
    t->ro = ro;
    t->now = pf_clock_wall_ms(ro->clock);
    ro->stats.ticks++;
    for (size_t i = 0; i < ro->nrt; i++)
        ro->rt[i].seen = false;
    if (pfs_store_rollout_list(ro->store, true, 1000, ro__step, t) != 0)
        pfs_log_error(ro->log, "rollouts: cannot read the live rollouts");
    for (size_t i = 0; i < ro->nrt; i++) { /* forget the finished */
        if (ro->rt[i].seen)
            ro->rt[keep++] = ro->rt[i];
    }
    ro->nrt = keep;
    free(t);
}

static void ro__on_timer(uv_timer_t *h)
{
    pfs_rollouts_tick(h->data);
}

int pfs_rollouts_init(struct pfs_rollouts *ro, uv_loop_t *loop, const struct pfs_config *cfg,
                      struct pfs_store *store, struct pfs_updates *updates,
                      const struct pfs_log *log, const struct pf_clock *clock, struct pf_error *err)
{
    memset(ro, 0, sizeof(*ro));
    ro->cfg = cfg;
    ro->store = store;
    ro->updates = updates;
    ro->log = log;
    ro->clock = clock;
    if (loop) {
        if (uv_timer_init(loop, &ro->timer) != 0)
            return pf_error_set(err, PF_EIO, "rollouts: cannot create the timer");
        ro->timer.data = ro;
        ro->timer_open = true;
        uv_timer_start(&ro->timer, ro__on_timer, (uint64_t)cfg->rollout_tick_ms,
                       (uint64_t)cfg->rollout_tick_ms);
    }
    return 0;
}

void pfs_rollouts_stop(struct pfs_rollouts *ro)
{
    if (ro->timer_open) {
        uv_timer_stop(&ro->timer);
        uv_close((uv_handle_t *)&ro->timer, NULL);
        ro->timer_open = false;
    }
}

void pfs_rollouts_release(struct pfs_rollouts *ro)
{
    free(ro->rt);
    ro->rt = NULL;
    ro->nrt = ro->caprt = 0;
}
