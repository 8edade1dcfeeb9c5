/*
 * sim_faults.c - which simulated terminals get which fault.
 *
 * The count per kind is exact (round(n * pct / 100)), so a test can compare
 * the server's alerts with the sim's own list rather than with a probability.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "pfa/backoff.h"
#include "sim.h"

const char *const sim_fault_names[SIM_FAULT_COUNT] = {
        "battery_low", "paper_out",     "tamper",    "selftest_fail",
        "flaky",       "slow_download", "power_cut", "no_answer",
};

int sim_faults_parse(struct sim_faults *f, const char *spec, struct pf_error *err)
{
    const char *eq = strchr(spec, '=');
    char *end;
    double pct;

    if (!eq)
        return pf_error_set(err, PF_EINVAL, "--fault %s: expected KIND=PERCENT", spec);
    for (int k = 0; k < SIM_FAULT_COUNT; k++) {
        if (strlen(sim_fault_names[k]) != (size_t)(eq - spec) ||
            strncmp(spec, sim_fault_names[k], (size_t)(eq - spec)) != 0)
            continue;
        errno = 0;
        pct = strtod(eq + 1, &end);
        if (errno || end == eq + 1 || *end || !(pct >= 0 && pct <= 100))
            return pf_error_set(err, PF_EINVAL, "--fault %s: percentage must be 0..100", spec);
        f->pct[k] = pct;
        return 0;
    }
    return pf_error_set(err, PF_EINVAL,
                        "--fault %s: unknown kind (battery_low, paper_out, tamper, "
                        "selftest_fail, flaky, slow_download, power_cut)",
                        spec);
}

int sim_faults_assign(struct sim_faults *f, size_t n, uint64_t seed, struct pf_error *err)
{
    uint32_t *perm;
    uint64_t rng = seed ? seed : 1;

    free(f->bits);
    f->n = n;
    f->bits = calloc(n ? n : 1, 1);
    perm = malloc((n ? n : 1) * sizeof(*perm));
    if (!f->bits || !perm) {
        free(perm);
        return pf_error_set(err, PF_ENOMEM, "faults: out of memory");
    }
    for (int k = 0; k < SIM_FAULT_COUNT; k++) {
        size_t want = (size_t)llround((double)n * f->pct[k] / 100.0);

        if (want > n)
            want = n;
        for (size_t i = 0; i < n; i++)
            perm[i] = (uint32_t)i;
        /* Partial Fisher-Yates: the first `want` entries are a uniform sample. */
        for (size_t i = 0; i < want; i++) {
            size_t j = i + (size_t)pfa_rand_range(&rng, 0, (int64_t)(n - i - 1));
            uint32_t t = perm[i];

            perm[i] = perm[j];
            perm[j] = t;
            f->bits[perm[i]] |= (uint8_t)(1u << k);
        }
        f->count[k] = want;
    }
    free(perm);
    return 0;
}

int sim_faults_write(const struct sim_faults *f, const struct sim_fleet *fleet, FILE *out)
{
    for (size_t i = 0; i < f->n && i < fleet->n; i++) {
        for (int k = 0; k < SIM_FAULT_COUNT; k++) {
            if ((f->bits[i] & (1u << k)) &&
                fprintf(out, "%s %s\n", fleet->terms[i].serial, sim_fault_names[k]) < 0)
                return PF_EIO;
        }
    }
    return fflush(out) == 0 && !ferror(out) ? 0 : PF_EIO;
}

int sim_faults_list(struct sim_faults *f, const struct sim_fleet *fleet, const char *spec,
                    struct pf_error *err)
{
    const char *eq = strchr(spec, '=');
    char kind[32], line[256];
    FILE *in;
    int k, rc = 0;
    unsigned lineno = 0;

    if (!eq || (size_t)(eq - spec) >= sizeof(kind))
        return pf_error_set(err, PF_EINVAL, "--fault-list %s: KIND=FILE", spec);
    memcpy(kind, spec, (size_t)(eq - spec));
    kind[eq - spec] = '\0';
    for (k = 0; k < SIM_FAULT_COUNT; k++) {
        if (strcmp(kind, sim_fault_names[k]) == 0)
            break;
    }
    if (k == SIM_FAULT_COUNT)
        return pf_error_set(err, PF_EINVAL, "--fault-list %s: unknown kind", spec);
    in = fopen(eq + 1, "r");
    if (!in)
        return pf_error_set(err, PF_EIO, "--fault-list %s: cannot open", eq + 1);
    while (!rc && fgets(line, sizeof(line), in)) {
        size_t i, n = strcspn(line, "\r\n");

        lineno++;
        line[n] = '\0';
        if (!n)
            continue;
        for (i = 0; i < fleet->n && strcmp(fleet->terms[i].serial, line) != 0; i++)
            ;
        if (i == fleet->n)
            rc = pf_error_set(err, PF_EINVAL, "%s line %u: %s is not in the fleet", eq + 1, lineno,
                              line);
        else if (!(f->bits[i] & (1u << k))) {
            f->bits[i] |= (uint8_t)(1u << k);
            f->count[k]++;
        }
    }
    fclose(in);
    return rc;
}

void sim_faults_release(struct sim_faults *f)
{
    free(f->bits);
    f->bits = NULL;
    f->n = 0;
}
