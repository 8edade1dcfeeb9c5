/*
 * rollout_time.c - the time rules applied (rollout_time.h).
 */
#include "rollouts/rollout_time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rollouts/rollout_member.h"

/* The statuses an elapsed time may move (pfs_ro_member_expiry). */
#define TIME__WATCHED                                                                              \
    (1u << PFS_ROM_OFFERED | 1u << PFS_ROM_DEFERRED | 1u << PFS_ROM_DOWNLOADING |                  \
     1u << PFS_ROM_INSTALLING | 1u << PFS_ROM_REVERTING | 1u << PFS_ROM_DEFERRED_OUT)

/* A deferred-out member is offered again after a day: in the next day's window. */
#define TIME__DEFER_AGAIN_MS (24 * 3600 * 1000LL)

void pfs_ro_time_rules_of(const struct pfs_ro_def *d, struct pfs_ro_time_rules *t)
{
    t->timeout_ms = d->timeout_s * 1000;
    t->offer_timeout_ms = d->offer_timeout_s * 1000;
    t->max_deferrals = d->max_deferrals;
    t->defer_limit_ms = d->defer_limit_s * 1000;
    t->defer_again_ms = TIME__DEFER_AGAIN_MS;
}

struct time__due {
    char (*serial)[PF_SERIAL_MAX + 1];
    struct pfs_ro_move *mv;
    size_t n, cap;
    int64_t now_ms, span_ms;
    const struct pfs_ro_time_rules *rules;
    size_t limit; /* resend: at most this many */
};

static int time__add(struct time__due *d, const char *serial, enum pfs_ro_member from,
                     enum pfs_ro_member to, const char *code)
{
    if (d->n == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 64;
        void *s = realloc(d->serial, cap * sizeof(*d->serial));

        if (!s)
            return PF_ENOMEM;
        d->serial = s;
        if (!(s = realloc(d->mv, cap * sizeof(*d->mv))))
            return PF_ENOMEM;
        d->mv = s;
        d->cap = cap;
    }
    snprintf(d->serial[d->n], sizeof(d->serial[0]), "%s", serial);
    d->mv[d->n] = (struct pfs_ro_move){NULL, from, to, code, false};
    d->n++;
    return 0;
}

static void time__release(struct time__due *d)
{
    free(d->serial);
    free(d->mv);
}

static int time__expiry(void *ctx, const char *serial, const struct pfs_ro_member_clock *c)
{
    struct time__due *d = ctx;
    enum pfs_ro_event ev;
    enum pfs_ro_member to;
    const char *code = NULL;

    if (!pfs_ro_member_expiry(c, d->now_ms, d->rules, &ev) ||
        pfs_ro_member_next(c->status, ev, &to) != 0)
        return 0;
    if (ev == PFS_ROE_TIMEOUT)
        code = c->status == PFS_ROM_OFFERED && !c->answered ? "NO_ANSWER" : "TIMEOUT";
    else if (ev == PFS_ROE_DEFER_OUT)
        code = "DEFER_LIMIT";
    return time__add(d, serial, c->status, to, code);
}

int pfs_ro_expire(struct pfs_store *st, int64_t id, int64_t now_ms,
                  const struct pfs_ro_time_rules *t, struct pfs_ro_expired *out)
{
    struct time__due d = {.now_ms = now_ms, .rules = t};
    int64_t moved = 0;
    int rc;

    memset(out, 0, sizeof(*out));
    rc = pfs_store_rollout_clocks(st, id, TIME__WATCHED, time__expiry, &d);
    for (size_t i = 0; i < d.n; i++)
        d.mv[i].serial = d.serial[i];
    if (!rc)
        rc = pfs_store_rollout_moves(st, id, d.mv, d.n, now_ms, &moved);
    for (size_t i = 0; !rc && i < d.n; i++) { /* a member that moved meanwhile is not counted */
        if (!d.mv[i].applied)
            continue;
        if (d.mv[i].to == PFS_ROM_PENDING)
            out->returned++;
        else if (d.mv[i].to == PFS_ROM_DEFERRED_OUT)
            out->deferred_out++;
        else
            out->timed_out++;
    }
    time__release(&d);
    return rc;
}

static int time__resend(void *ctx, const char *serial, const struct pfs_ro_member_clock *c)
{
    struct time__due *d = ctx;

    if (d->n >= d->limit || !pfs_ro_member_resend_due(c, d->now_ms, d->span_ms))
        return 0;
    return time__add(d, serial, c->status, c->status, NULL);
}

int pfs_ro_resend(struct pfs_store *st, int64_t id, int64_t now_ms, int64_t retry_ms, int limit,
                  pfs_ro_serial_cb cb, void *ctx)
{
    struct time__due d = {.now_ms = now_ms, .span_ms = retry_ms};
    int rc;

    d.limit = limit > 0 ? (size_t)limit : 0;
    rc = pfs_store_rollout_clocks(st, id, 1u << PFS_ROM_OFFERED, time__resend, &d);
    for (size_t i = 0; !rc && i < d.n; i++) {
        rc = pfs_store_rollout_touch(st, id, d.serial[i], d.mv[i].from, now_ms);
        if (!rc)
            rc = cb(ctx, d.serial[i]);
    }
    time__release(&d);
    return rc;
}
