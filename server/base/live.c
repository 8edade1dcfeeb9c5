/*
 * live.c - watchers of rollouts and terminals for GET /v1/events (live.h).
 */
#include "base/live.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void live__on_timer(uv_timer_t *t)
{
    struct pfs_live *lv = t->data;

    for (struct pfs_live_watch *w = lv->watches; w; w = w->next) {
        w->keepalive = true;
        w->wake(w->wake_ctx);
    }
}

/* The keep-alive timer runs only while someone watches. */
static void live__timer(struct pfs_live *lv)
{
    if (!lv->timer_open)
        return;
    if (lv->nwatch && !lv->timer_on)
        uv_timer_start(&lv->timer, live__on_timer, lv->keepalive_ms, lv->keepalive_ms);
    else if (!lv->nwatch && lv->timer_on)
        uv_timer_stop(&lv->timer);
    lv->timer_on = lv->nwatch > 0;
}

int pfs_live_init(struct pfs_live *lv, uv_loop_t *loop, int per_user, int keepalive_s)
{
    memset(lv, 0, sizeof(*lv));
    lv->per_user = per_user > 0 ? per_user : 8;
    lv->keepalive_ms = (uint64_t)(keepalive_s > 0 ? keepalive_s : 15) * 1000;
    lv->loop = loop;
    if (loop) {
        if (uv_timer_init(loop, &lv->timer) != 0)
            return PF_EIO;
        lv->timer.data = lv;
        lv->timer_open = true;
    }
    return 0;
}

void pfs_live_release(struct pfs_live *lv)
{
    if (lv->timer_open) {
        uv_timer_stop(&lv->timer);
        uv_close((uv_handle_t *)&lv->timer, NULL);
        lv->timer_open = lv->timer_on = false;
    }
    free(lv->later);
    lv->later = NULL;
    lv->nlater = lv->caplater = 0;
}

int pfs_live_watch(struct pfs_live *lv, const char *user, int64_t rollout, const char *serial,
                   void (*wake)(void *ctx), void *wake_ctx, struct pfs_live_watch **out)
{
    struct pfs_live_watch *w;
    int mine = 0;

    *out = NULL;
    for (w = lv->watches; w; w = w->next)
        mine += strcmp(w->user, user) == 0;
    if (mine >= lv->per_user) {
        lv->refused++;
        return PF_ERATE;
    }
    w = calloc(1, sizeof(*w));
    if (!w)
        return PF_ENOMEM;
    w->live = lv;
    snprintf(w->user, sizeof(w->user), "%s", user);
    w->rollout = rollout;
    snprintf(w->serial, sizeof(w->serial), "%s", serial ? serial : "");
    w->hello = true;
    w->wake = wake;
    w->wake_ctx = wake_ctx;
    w->next = lv->watches;
    if (w->next)
        w->next->prev = w;
    lv->watches = w;
    lv->nwatch++;
    live__timer(lv);
    *out = w;
    return 0;
}

void pfs_live_unwatch(struct pfs_live_watch *w)
{
    struct pfs_live *lv;

    if (!w)
        return;
    lv = w->live;
    if (w->prev)
        w->prev->next = w->next;
    else
        lv->watches = w->next;
    if (w->next)
        w->next->prev = w->prev;
    lv->nwatch--;
    live__timer(lv);
    free(w);
}

void pfs_live_note(struct pfs_live *lv, int64_t rollout, const char *serial)
{
    if (!lv || !lv->nwatch)
        return;
    for (struct pfs_live_watch *w = lv->watches; w; w = w->next) {
        bool ro = rollout > 0 && w->rollout == rollout;
        bool te = serial && w->serial[0] && strcmp(w->serial, serial) == 0;

        if (!ro && !te)
            continue;
        w->rollout_changed |= ro;
        w->terminal_changed |= te;
        w->wake(w->wake_ctx);
    }
}

void pfs_live_note_later(struct pfs_live *lv, const char *serial)
{
    struct pfs_live_watch *w;

    if (!lv || !lv->nwatch)
        return;
    for (w = lv->watches; w; w = w->next)
        if (w->serial[0] && strcmp(w->serial, serial) == 0)
            break;
    if (!w)
        return;
    for (size_t i = 0; i < lv->nlater; i++)
        if (strcmp(lv->later[i], serial) == 0)
            return;
    if (lv->nlater == lv->caplater) {
        size_t n = lv->caplater ? lv->caplater * 2 : 16;
        char(*nl)[PF_SERIAL_MAX + 1] = realloc(lv->later, n * sizeof(*nl));

        if (!nl) { /* told now rather than never */
            pfs_live_note(lv, 0, serial);
            return;
        }
        lv->later = nl;
        lv->caplater = n;
    }
    snprintf(lv->later[lv->nlater++], PF_SERIAL_MAX + 1, "%s", serial);
}

void pfs_live_commit(struct pfs_live *lv)
{
    size_t n;

    if (!lv || !lv->nlater)
        return;
    n = lv->nlater;
    lv->nlater = 0;
    for (size_t i = 0; i < n; i++)
        pfs_live_note(lv, 0, lv->later[i]);
}

bool pfs_live_watched(const struct pfs_live *lv, int64_t rollout)
{
    if (!lv || !lv->nwatch)
        return false;
    for (const struct pfs_live_watch *w = lv->watches; w; w = w->next)
        if (w->rollout == rollout)
            return true;
    return false;
}

/* Appends one piece of text if it fits whole. */
static bool live__put(char *buf, size_t max, size_t *len, const char *text, int n)
{
    if (n < 0 || (size_t)n >= max - *len)
        return false;
    memcpy(buf + *len, text, (size_t)n);
    *len += (size_t)n;
    return true;
}

size_t pfs_live_take(struct pfs_live_watch *w, char *buf, size_t max)
{
    char ev[128];
    size_t len = 0;
    int n;

    if (w->hello) {
        /* The first bytes: the client reconnects after 3 s if the stream drops. */
        n = snprintf(ev, sizeof(ev), "retry: 3000\n: watching\n\n");
        if (!live__put(buf, max, &len, ev, n))
            return len;
        w->hello = false;
    }
    if (w->rollout_changed) {
        n = snprintf(ev, sizeof(ev), "event: rollout\ndata: {\"rollout\":%" PRId64 "}\n\n",
                     w->rollout);
        if (!live__put(buf, max, &len, ev, n))
            return len;
        w->rollout_changed = false;
        w->live->events_sent++;
    }
    if (w->terminal_changed) {
        n = snprintf(ev, sizeof(ev), "event: terminal\ndata: {\"serial\":\"%s\"}\n\n", w->serial);
        if (!live__put(buf, max, &len, ev, n))
            return len;
        w->terminal_changed = false;
        w->live->events_sent++;
    }
    if (w->keepalive) {
        n = snprintf(ev, sizeof(ev), ": keep-alive\n\n");
        if (!live__put(buf, max, &len, ev, n))
            return len;
        w->keepalive = false;
    }
    return len;
}
