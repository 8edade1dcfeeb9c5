/*
 * rate_limit.c - per-client token buckets for the broker plugin (rate_limit.h).
 */
#include "rate_limit.h"

#include <stdlib.h>
#include <string.h>

void pfrl_bucket_init(struct pfrl_bucket *b, const struct pfrl_limit *lim, uint64_t now_ms)
{
    b->milli = (uint64_t)lim->burst * 1000u;
    b->last_ms = now_ms;
}

bool pfrl_take(struct pfrl_bucket *b, const struct pfrl_limit *lim, uint64_t now_ms)
{
    uint64_t cap = (uint64_t)lim->burst * 1000u;

    if (lim->rate == 0)
        return true;
    if (now_ms > b->last_ms) {
        uint64_t elapsed = now_ms - b->last_ms;
        /* RATE tokens a second is RATE thousandths a millisecond; past a full
         * bucket's worth of time the bucket is simply full. */
        if (elapsed >= cap / lim->rate + 1)
            b->milli = cap;
        else if (b->milli + elapsed * lim->rate > cap)
            b->milli = cap;
        else
            b->milli += elapsed * lim->rate;
        b->last_ms = now_ms;
    }
    if (b->milli < 1000u)
        return false;
    b->milli -= 1000u;
    return true;
}

bool pfrl_is_chunkreq(const char *topic)
{
    const char *last = strrchr(topic, '/');

    return strcmp(last ? last + 1 : topic, "chunkreq") == 0;
}

/* FNV-1a. */
static size_t pfrl__hash(const char *s)
{
    uint64_t h = 14695981039346656037ull;

    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ull;
    }
    return (size_t)h;
}

static int pfrl__grow(struct pfrl_table *t)
{
    size_t n = t->nslots ? t->nslots * 2 : 64, i;
    struct pfrl_client **slots = calloc(n, sizeof(*slots));

    if (!slots)
        return -1;
    for (i = 0; i < t->nslots; i++) {
        struct pfrl_client *c = t->slots[i], *next;
        for (; c; c = next) {
            size_t at = pfrl__hash(c->id) & (n - 1);
            next = c->next;
            c->next = slots[at];
            slots[at] = c;
        }
    }
    free(t->slots);
    t->slots = slots;
    t->nslots = n;
    return 0;
}

static struct pfrl_client *pfrl__find(const struct pfrl_table *t, const char *id)
{
    struct pfrl_client *c;

    if (!t->nslots)
        return NULL;
    for (c = t->slots[pfrl__hash(id) & (t->nslots - 1)]; c; c = c->next) {
        if (strcmp(c->id, id) == 0)
            return c;
    }
    return NULL;
}

int pfrl_check(struct pfrl_table *t, const char *id, const char *topic, uint64_t now_ms,
               struct pfrl_client **client)
{
    struct pfrl_client *c = pfrl__find(t, id);
    bool chunk = pfrl_is_chunkreq(topic);
    bool ok;

    if (client)
        *client = NULL;
    if (!c) {
        size_t at;
        /* Grow at a load of one client per slot on average. */
        if (t->count >= t->nslots && pfrl__grow(t) != 0)
            return -1;
        c = calloc(1, sizeof(*c));
        if (!c)
            return -1;
        c->id = strdup(id);
        if (!c->id) {
            free(c);
            return -1;
        }
        pfrl_bucket_init(&c->report, &t->report, now_ms);
        pfrl_bucket_init(&c->chunk, &t->chunk, now_ms);
        at = pfrl__hash(id) & (t->nslots - 1);
        c->next = t->slots[at];
        t->slots[at] = c;
        t->count++;
    }
    if (client)
        *client = c;
    ok = chunk ? pfrl_take(&c->chunk, &t->chunk, now_ms)
               : pfrl_take(&c->report, &t->report, now_ms);
    return ok ? 1 : 0;
}

void pfrl_forget(struct pfrl_table *t, const char *id)
{
    struct pfrl_client **pp, *c;

    if (!t->nslots)
        return;
    for (pp = &t->slots[pfrl__hash(id) & (t->nslots - 1)]; (c = *pp); pp = &c->next) {
        if (strcmp(c->id, id) == 0) {
            *pp = c->next;
            free(c->id);
            free(c);
            t->count--;
            return;
        }
    }
}

void pfrl_table_release(struct pfrl_table *t)
{
    size_t i;

    for (i = 0; i < t->nslots; i++) {
        struct pfrl_client *c = t->slots[i], *next;
        for (; c; c = next) {
            next = c->next;
            free(c->id);
            free(c);
        }
    }
    free(t->slots);
    t->slots = NULL;
    t->nslots = 0;
    t->count = 0;
}
