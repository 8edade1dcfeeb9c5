/*
 * sim_gate.c - the process-wide connection-attempt rate of posfleet-sim.
 *
 * Fixed one-second buckets from t0, at most `rate` attempts in each, paced
 * evenly inside the bucket: a bound that the sim's own per-second counts can
 * check exactly, and no burst at the start of a second.
 */
#include "sim.h"

#define GATE_SLACK_MS 20 /* how early inside its bucket an attempt may go */

void sim_gate_init(struct sim_gate *g, uint32_t rate, int64_t now_ms)
{
    g->rate = rate ? rate : 1;
    g->t0 = now_ms;
    g->bucket = 0;
    g->used = 0;
    g->granted = 0;
    g->peak = 0;
}

bool sim_gate_try(struct sim_gate *g, int64_t now_ms)
{
    int64_t elapsed = now_ms - g->t0, bucket, into;

    if (elapsed < 0)
        elapsed = 0;
    bucket = elapsed / 1000;
    into = elapsed % 1000;
    if (bucket != g->bucket) {
        g->bucket = bucket;
        g->used = 0;
    }
    if (g->used >= g->rate)
        return false;
    /* Attempt k of the bucket is due k/rate of a second into it. */
    if ((int64_t)g->used * 1000 / g->rate > into + GATE_SLACK_MS)
        return false;
    g->used++;
    g->granted++;
    if (g->used > g->peak)
        g->peak = g->used;
    return true;
}
