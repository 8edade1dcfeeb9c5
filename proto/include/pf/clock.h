/*
 * clock.h - time as a value in a context, so tests can move it.
 *
 * Wall time (ms since the Unix epoch) is what messages carry; monotonic time
 * drives intervals and deadlines. The default clock reads the system clocks.
 */
#ifndef PF_CLOCK_H
#define PF_CLOCK_H

#include <stdint.h>

struct pf_clock {
    int64_t (*wall_ms)(void *ctx);
    int64_t (*mono_ms)(void *ctx);
    void *ctx;
};

/* The system clock (CLOCK_REALTIME / CLOCK_MONOTONIC). */
extern const struct pf_clock pf_clock_system;

static inline int64_t pf_clock_wall_ms(const struct pf_clock *c)
{
    return c->wall_ms(c->ctx);
}

static inline int64_t pf_clock_mono_ms(const struct pf_clock *c)
{
    return c->mono_ms(c->ctx);
}

#endif
