/*
 * sim_tamper.h - tamper trials of posfleet-sim (--tamper N): once every
 * terminal has connected (and --tamper-after later), the tamper switch of one
 * terminal after another is tripped every --tamper-every ms, and the time
 * from the switch to the moment that terminal's agent has locked payments (on
 * posfleetd's lock command, and answered it) is recorded. The summary gives
 * the count, p50, p99 and the maximum.
 *
 * struct sim_tamper is caller-owned (init/release); it owns its trial array.
 * No I/O: the loop trips switches and reports locks.
 */
#ifndef SIM_TAMPER_H
#define SIM_TAMPER_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pf/error.h"

struct sim_tamper_trial {
    size_t term;
    int64_t tripped_at; /* monotonic ms */
    int64_t locked_at;  /* -1 until the agent locked */
};

struct sim_tamper {
    size_t want;      /* trials to run (0: none) */
    int64_t every_ms; /* between two trips */
    int64_t after_ms; /* after all terminals connected */
    size_t nterms;
    size_t n; /* tripped so far */
    size_t locked;
    int64_t next_at; /* -1 until the fleet has connected */
    struct sim_tamper_trial *trial;
};

/* want trials among nterms terminals; PF_EINVAL if want > nterms. */
int sim_tamper_init(struct sim_tamper *t, size_t want, int64_t every_ms, int64_t after_ms,
                    size_t nterms) PF_WUR;
void sim_tamper_release(struct sim_tamper *t);

/* The fleet connected at now: the first trip is due after_ms later. */
void sim_tamper_arm(struct sim_tamper *t, int64_t now);
/* The next trip's deadline, or INT64_MAX when none is due any more. */
int64_t sim_tamper_deadline(const struct sim_tamper *t);
/*
 * If a trip is due at now: *term is the terminal whose switch to trip (a
 * fixed spread over the fleet, each at most once) and the trial starts;
 * returns its index + 1, else 0.
 */
size_t sim_tamper_next(struct sim_tamper *t, int64_t now, size_t *term);
/* Trial k (index + 1 from sim_tamper_next) saw its agent locked at now. */
void sim_tamper_locked(struct sim_tamper *t, size_t k, int64_t now);
/* {"tripped", "locked", "p50_ms", "p99_ms", "max_ms"} (null percentiles
 * without a lock); NULL on ENOMEM. */
json_t *sim_tamper_json(const struct sim_tamper *t);

#endif
