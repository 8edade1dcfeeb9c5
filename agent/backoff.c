/*
 * backoff.c - full-jitter exponential backoff and the agent's random draws.
 */
#include "pfa/backoff.h"

#include <sys/random.h>
#include <time.h>

uint64_t pfa_rand_next(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

int64_t pfa_rand_range(uint64_t *state, int64_t lo, int64_t hi)
{
    uint64_t span;

    if (hi <= lo)
        return lo;
    span = (uint64_t)(hi - lo) + 1;
    return lo + (int64_t)(pfa_rand_next(state) % span);
}

uint64_t pfa_rand_seed(void)
{
    uint64_t seed = 0;
    struct timespec ts;

    if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) == (ssize_t)sizeof(seed) && seed)
        return seed;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    seed = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 32) ^ (uint64_t)(uintptr_t)&seed;
    return seed ? seed : 1;
}

void pfa_backoff_init(struct pfa_backoff *b, int64_t min_ms, int64_t max_ms, uint64_t seed)
{
    b->min_ms = min_ms > 0 ? min_ms : 1;
    b->max_ms = max_ms >= b->min_ms ? max_ms : b->min_ms;
    b->attempt = 0;
    b->rng = seed ? seed : pfa_rand_seed();
}

int64_t pfa_backoff_cap(const struct pfa_backoff *b)
{
    int64_t cap = b->min_ms;

    for (unsigned i = 0; i < b->attempt && cap < b->max_ms; i++)
        cap *= 2;
    return cap < b->max_ms ? cap : b->max_ms;
}

int64_t pfa_backoff_next(struct pfa_backoff *b)
{
    if (b->attempt < 64)
        b->attempt++;
    return pfa_rand_range(&b->rng, b->min_ms, pfa_backoff_cap(b));
}

int64_t pfa_backoff_next_at(struct pfa_backoff *b, const struct pf_clock *clock)
{
    return pf_clock_mono_ms(clock) + pfa_backoff_next(b);
}

void pfa_backoff_reset(struct pfa_backoff *b)
{
    b->attempt = 0;
}
