/*
 * clock.c - the system clock.
 */
#include "pf/clock.h"

#include <time.h>

static int64_t clock__read(clockid_t id)
{
    struct timespec ts;

    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t clock__wall(void *ctx)
{
    (void)ctx;
    return clock__read(CLOCK_REALTIME);
}

static int64_t clock__mono(void *ctx)
{
    (void)ctx;
    return clock__read(CLOCK_MONOTONIC);
}

const struct pf_clock pf_clock_system = {clock__wall, clock__mono, NULL};
