/*
 * sim_gate.c - the process-wide connection-attempt rate of posfleet-sim.
 *
 * A token bucket holding at most C = max(1, rate/50) tokens, refilled at
 * rate - C per second (rate when that would be below C): any one-second window
 * then holds at most C + (rate - C) = rate attempts, wherever the window starts
 * (the broker's clock, the sim's). A small C also means attempts that were
 * held back cannot catch up in a burst. Peaks are also counted in fixed
 * one-second buckets from t0, the figure the status file reports.
 */
#include "sim.h"

void sim_gate_init(struct sim_gate *g, uint32_t rate, int64_t now_ms)
{
    g->rate = rate ? rate : 1;
    g->cap = g->rate / 50 > 0 ? g->rate / 50 : 1;
    g->refill = g->rate >= 2 * g->cap ? g->rate - g->cap : g->rate;
    g->tokens = 0;
    g->last = now_ms;
    g->t0 = now_ms;
    g->bucket = 0;
    g->used = 0;
    g->granted = 0;
    g->peak = 0;
}

bool sim_gate_try(struct sim_gate *g, int64_t now_ms)
{
    int64_t bucket;

    if (now_ms > g->last) {
        g->tokens += (double)(now_ms - g->last) * g->refill / 1000.0;
        if (g->tokens > g->cap)
            g->tokens = g->cap;
        g->last = now_ms;
    }
    if (g->tokens < 1.0)
        return false;
    g->tokens -= 1.0;
    bucket = now_ms > g->t0 ? (now_ms - g->t0) / 1000 : 0;
    if (bucket != g->bucket) {
        g->bucket = bucket;
        g->used = 0;
    }
    g->used++;
    g->granted++;
    if (g->used > g->peak)
        g->peak = g->used;
    return true;
}
