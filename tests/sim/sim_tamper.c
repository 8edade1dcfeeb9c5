/*
 * sim_tamper.c - tamper trials (sim_tamper.h).
 */
#include "sim_tamper.h"

#include <stdlib.h>
#include <string.h>

#define SIM_TAMPER_STRIDE 7919 /* a prime: k * stride mod n visits distinct terminals */

int sim_tamper_init(struct sim_tamper *t, size_t want, int64_t every_ms, int64_t after_ms,
                    size_t nterms)
{
    memset(t, 0, sizeof(*t));
    t->next_at = -1;
    if (want > nterms)
        return PF_EINVAL;
    t->want = want;
    t->every_ms = every_ms;
    t->after_ms = after_ms;
    t->nterms = nterms;
    if (want && !(t->trial = calloc(want, sizeof(*t->trial))))
        return PF_ENOMEM;
    return 0;
}

void sim_tamper_release(struct sim_tamper *t)
{
    free(t->trial);
    memset(t, 0, sizeof(*t));
}

void sim_tamper_arm(struct sim_tamper *t, int64_t now)
{
    if (t->want && t->next_at < 0)
        t->next_at = now + t->after_ms;
}

int64_t sim_tamper_deadline(const struct sim_tamper *t)
{
    return t->next_at >= 0 && t->n < t->want ? t->next_at : INT64_MAX;
}

size_t sim_tamper_next(struct sim_tamper *t, int64_t now, size_t *term)
{
    size_t stride = t->nterms % SIM_TAMPER_STRIDE ? SIM_TAMPER_STRIDE : 1;
    struct sim_tamper_trial *tr;

    if (sim_tamper_deadline(t) > now)
        return 0;
    tr = &t->trial[t->n];
    tr->term = (size_t)(((uint64_t)t->n * stride) % t->nterms);
    tr->tripped_at = now;
    tr->locked_at = -1;
    *term = tr->term;
    t->next_at += t->every_ms;
    return ++t->n;
}

void sim_tamper_locked(struct sim_tamper *t, size_t k, int64_t now)
{
    if (k == 0 || k > t->n || t->trial[k - 1].locked_at >= 0)
        return;
    t->trial[k - 1].locked_at = now;
    t->locked++;
}

static int sim_tamper__cmp(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

    return (x > y) - (x < y);
}

/* Nearest rank: the smallest value with at least p % of the sample at or below it. */
static int64_t sim_tamper__rank(const int64_t *v, size_t n, unsigned p)
{
    size_t r = (n * p + 99) / 100;

    return v[r ? r - 1 : 0];
}

json_t *sim_tamper_json(const struct sim_tamper *t)
{
    int64_t *v = malloc((t->locked ? t->locked : 1) * sizeof(*v));
    size_t n = 0;
    json_t *j;

    if (!v)
        return NULL;
    for (size_t k = 0; k < t->n; k++) {
        if (t->trial[k].locked_at >= 0)
            v[n++] = t->trial[k].locked_at - t->trial[k].tripped_at;
    }
    qsort(v, n, sizeof(*v), sim_tamper__cmp);
    j = json_pack("{s:I, s:I, s:o, s:o, s:o}", "tripped", (json_int_t)t->n, "locked", (json_int_t)n,
                  "p50_ms", n ? json_integer(sim_tamper__rank(v, n, 50)) : json_null(), "p99_ms",
                  n ? json_integer(sim_tamper__rank(v, n, 99)) : json_null(), "max_ms",
                  n ? json_integer(v[n - 1]) : json_null());
    free(v);
    return j;
}
