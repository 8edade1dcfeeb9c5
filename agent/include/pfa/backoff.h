/*
 * backoff.h - reconnect delays: exponential growth with full jitter.
 *
 * The n-th retry (n = 1, 2, ...) waits a uniformly random time in
 * [min, min(max, min * 2^n)], so a fleet that lost its broker at the same
 * instant does not come back at the same instant. A struct pfa_backoff is
 * caller-owned (no heap); its random generator is private to it, seeded by
 * the caller, so thousands of agents in one process draw independently and a
 * test can seed it to a known value.
 */
#ifndef PFA_BACKOFF_H
#define PFA_BACKOFF_H

#include <stdint.h>

#include "pf/clock.h"

struct pfa_backoff {
    int64_t min_ms;
    int64_t max_ms;
    unsigned attempt; /* retries since the last success */
    uint64_t rng;
};

/* Seed 0 picks a seed from the system's random source. */
void pfa_backoff_init(struct pfa_backoff *b, int64_t min_ms, int64_t max_ms, uint64_t seed);
/* Delay before the next retry; counts the attempt. */
int64_t pfa_backoff_next(struct pfa_backoff *b);
/* Monotonic time of the next retry on clock: now + pfa_backoff_next(). */
int64_t pfa_backoff_next_at(struct pfa_backoff *b, const struct pf_clock *clock);
/* The connection succeeded: the next retry starts again at the bottom. */
void pfa_backoff_reset(struct pfa_backoff *b);
/* Current upper bound of the delay window (for logs and tests). */
int64_t pfa_backoff_cap(const struct pfa_backoff *b);

/* Uniform 64-bit draw from a caller-held state (splitmix64); shared with health jitter. */
uint64_t pfa_rand_next(uint64_t *state);
/* Uniform integer in [lo, hi] (lo <= hi). */
int64_t pfa_rand_range(uint64_t *state, int64_t lo, int64_t hi);
/* A seed from the system's random source (falls back to time and address). */
uint64_t pfa_rand_seed(void);

#endif
