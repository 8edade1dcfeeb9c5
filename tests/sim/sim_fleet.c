/*
 * sim_fleet.c - the terminals posfleet-sim runs: from a credentials file or a
 * counted range of serials, with a model mix.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "pf/num.h"
#include "pf/fileio.h"
#include "pfa/backoff.h"
#include "sim.h"

#define FLEET_FILE_MAX (512u * 1024 * 1024)

int sim_models_parse(const char *s, struct sim_model_mix *mix, size_t max, struct pf_error *err)
{
    size_t n = 0;
    const char *p = s;

    while (*p) {
        const char *comma = strchr(p, ',');
        const char *end = comma ? comma : p + strlen(p);
        const char *colon = memchr(p, ':', (size_t)(end - p));
        size_t mlen = (size_t)((colon ? colon : end) - p);
        uint64_t w = 1;

        if (n == max)
            return pf_error_set(err, PF_EINVAL, "--models: more than %zu models", max);
        if (mlen == 0 || mlen > PF_MODEL_MAX)
            return pf_error_set(err, PF_EINVAL, "--models: model names are 1..%d characters",
                                PF_MODEL_MAX);
        for (size_t i = 0; i < mlen; i++) {
            if (p[i] <= 0x20 || p[i] > 0x7e)
                return pf_error_set(err, PF_EINVAL,
                                    "--models: printable characters without blanks only");
        }
        if (colon) {
            char num[16];
            size_t nl = (size_t)(end - colon - 1);

            if (nl == 0 || nl >= sizeof(num))
                return pf_error_set(err, PF_EINVAL, "--models: bad weight after %.*s", (int)mlen,
                                    p);
            memcpy(num, colon + 1, nl);
            num[nl] = '\0';
            if (pf_parse_u64(num, 1, 1000000, &w) != 0)
                return pf_error_set(err, PF_EINVAL, "--models: weight of %.*s must be 1..1000000",
                                    (int)mlen, p);
        }
        memcpy(mix[n].model, p, mlen);
        mix[n].model[mlen] = '\0';
        mix[n].weight = (unsigned)w;
        n++;
        p = comma ? comma + 1 : end;
        if (comma && !*p)
            return pf_error_set(err, PF_EINVAL, "--models: trailing comma");
    }
    if (n == 0)
        return pf_error_set(err, PF_EINVAL, "--models: empty");
    return (int)n;
}

void sim_fleet_release(struct sim_fleet *f)
{
    for (size_t i = 0; f->terms && i < f->n; i++) {
        free(f->terms[i].cert);
        free(f->terms[i].key);
    }
    free(f->terms);
    f->terms = NULL;
    f->n = 0;
}

/* Copies a field of length n into out[max + 1]; PF_EINVAL if empty (unless allowed) or long. */
static int fleet__field(const char *s, size_t n, size_t max, char *out)
{
    if (n > max)
        return PF_EINVAL;
    memcpy(out, s, n);
    out[n] = '\0';
    return 0;
}

/* A path from the file, made absolute against dir when relative. */
static char *fleet__path(const char *dir, const char *s, size_t n)
{
    char *p;
    size_t dl = dir ? strlen(dir) : 0;

    if (n == 0)
        return NULL;
    if (s[0] == '/' || !dir) {
        p = malloc(n + 1);
        if (p) {
            memcpy(p, s, n);
            p[n] = '\0';
        }
        return p;
    }
    p = malloc(dl + 1 + n + 1);
    if (p) {
        memcpy(p, dir, dl);
        p[dl] = '/';
        memcpy(p + dl + 1, s, n);
        p[dl + 1 + n] = '\0';
    }
    return p;
}

int sim_fleet_load(const char *path, struct sim_fleet *f, struct pf_error *err)
{
    char *buf = NULL, *dir = NULL, *slash;
    size_t len, cap = 0, lineno = 0;
    bool data_seen = false;
    const char *p, *end;
    int rc = pf_file_read(path, FLEET_FILE_MAX, &buf, &len);

    f->terms = NULL;
    f->n = 0;
    if (rc)
        return pf_error_set(err, rc, "%s: %s", path, pf_strerror(rc));
    slash = strrchr(path, '/');
    dir = slash ? strndup(path, (size_t)(slash - path)) : NULL;
    if (slash && !dir) {
        rc = pf_error_set(err, PF_ENOMEM, "out of memory");
        goto out_buf;
    }
    for (p = buf, end = buf + len; p < end;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *e = nl ? nl : end, *fs[5];
        size_t fl[5];
        int nf = 0;
        struct sim_term_desc *t;

        lineno++;
        if (e > p && e[-1] == '\r')
            e--;
        if (e == p || *p == '#' || (!data_seen && e - p >= 7 && !memcmp(p, "serial,", 7))) {
            p = nl ? nl + 1 : end;
            continue;
        }
        for (const char *q = p;;) {
            const char *c = memchr(q, ',', (size_t)(e - q));

            if (nf == 5) {
                nf = 6;
                break;
            }
            fs[nf] = q;
            fl[nf] = (size_t)((c ? c : e) - q);
            nf++;
            if (!c)
                break;
            q = c + 1;
        }
        data_seen = true;
        if (nf != 5) {
            rc = pf_error_set(err, PF_EINVAL, "%s:%zu: expected serial,model,hw_rev,cert,key", path,
                              lineno);
            goto out_fleet;
        }
        if (f->n == cap) {
            size_t ncap = cap ? cap * 2 : 1024;
            struct sim_term_desc *nt = realloc(f->terms, ncap * sizeof(*nt));

            if (!nt) {
                rc = pf_error_set(err, PF_ENOMEM, "out of memory");
                goto out_fleet;
            }
            f->terms = nt;
            cap = ncap;
        }
        t = &f->terms[f->n];
        memset(t, 0, sizeof(*t));
        f->n++;
        if (fleet__field(fs[0], fl[0], PF_SERIAL_MAX, t->serial) || !pf_serial_valid(t->serial)) {
            rc = pf_error_set(err, PF_EINVAL, "%s:%zu: serial: 1-%d of A-Z a-z 0-9 _ -", path,
                              lineno, PF_SERIAL_MAX);
            goto out_fleet;
        }
        if (fl[1] == 0 || fleet__field(fs[1], fl[1], PF_MODEL_MAX, t->model)) {
            rc = pf_error_set(err, PF_EINVAL, "%s:%zu: model: 1-%d characters", path, lineno,
                              PF_MODEL_MAX);
            goto out_fleet;
        }
        if (fleet__field(fs[2], fl[2], PF_HWREV_MAX, t->hw_rev)) {
            rc = pf_error_set(err, PF_EINVAL, "%s:%zu: hw_rev: at most %d characters", path, lineno,
                              PF_HWREV_MAX);
            goto out_fleet;
        }
        if (!t->hw_rev[0])
            memcpy(t->hw_rev, SIM_DEFAULT_HWREV, sizeof(SIM_DEFAULT_HWREV));
        t->cert = fleet__path(dir, fs[3], fl[3]);
        t->key = fleet__path(dir, fs[4], fl[4]);
        if (!t->cert || !t->key) {
            rc = pf_error_set(err, fl[3] && fl[4] ? PF_ENOMEM : PF_EINVAL,
                              "%s:%zu: cert and key paths are required", path, lineno);
            goto out_fleet;
        }
        p = nl ? nl + 1 : end;
    }
    if (f->n == 0) {
        rc = pf_error_set(err, PF_EINVAL, "%s: no terminals", path);
        goto out_fleet;
    }
    goto out_buf;

out_fleet:
    sim_fleet_release(f);
out_buf:
    free(dir);
    free(buf);
    return rc;
}

int sim_fleet_count(const char *prefix, uint32_t start, size_t count, const char *certs,
                    const struct sim_model_mix *mix, size_t nmix, uint64_t seed,
                    struct sim_fleet *f, struct pf_error *err)
{
    static const struct sim_model_mix dflt = {SIM_DEFAULT_MODEL, 1};
    size_t alloc[SIM_MODELS_MAX] = {0}, given = 0, *order = NULL;
    bool bumped[SIM_MODELS_MAX] = {0};
    uint64_t total = 0, rng = seed ? seed : 1;
    uint64_t last = (uint64_t)start + count - 1;
    int width = 5;
    int rc = 0;

    f->terms = NULL;
    f->n = 0;
    if (!mix || nmix == 0) {
        mix = &dflt;
        nmix = 1;
    }
    if (count == 0)
        return pf_error_set(err, PF_EINVAL, "--count: at least 1");
    if (nmix > SIM_MODELS_MAX)
        return pf_error_set(err, PF_EINVAL, "--models: more than %d models", SIM_MODELS_MAX);
    for (uint64_t v = last; v >= 100000; v /= 10)
        width++;
    if (strlen(prefix) + (size_t)width > PF_SERIAL_MAX)
        return pf_error_set(err, PF_EINVAL, "--prefix %s: serials would exceed %d characters",
                            prefix, PF_SERIAL_MAX);
    /* Exact shares: floor, then the largest remainders get one more. */
    for (size_t m = 0; m < nmix; m++)
        total += mix[m].weight;
    for (size_t m = 0; m < nmix; m++) {
        alloc[m] = (size_t)((uint64_t)count * mix[m].weight / total);
        given += alloc[m];
    }
    while (given < count) {
        size_t best = nmix;
        uint64_t best_rem = 0;

        for (size_t m = 0; m < nmix; m++) {
            uint64_t rem = ((uint64_t)count * mix[m].weight) % total;

            if (!bumped[m] && (best == nmix || rem > best_rem)) {
                best = m;
                best_rem = rem;
            }
        }
        bumped[best] = true;
        alloc[best]++;
        given++;
    }
    f->terms = calloc(count, sizeof(*f->terms));
    order = malloc(count * sizeof(*order));
    if (!f->terms || !order) {
        rc = pf_error_set(err, PF_ENOMEM, "out of memory");
        goto out_fail;
    }
    /* Model index per terminal, then a seeded shuffle so models interleave. */
    for (size_t m = 0, i = 0; m < nmix; m++) {
        for (size_t k = 0; k < alloc[m]; k++)
            order[i++] = m;
    }
    for (size_t i = count - 1; i > 0; i--) {
        size_t j = (size_t)pfa_rand_range(&rng, 0, (int64_t)i), t = order[i];

        order[i] = order[j];
        order[j] = t;
    }
    f->n = count;
    for (size_t i = 0; i < count; i++) {
        struct sim_term_desc *t = &f->terms[i];
        int n = snprintf(t->serial, sizeof(t->serial), "%s%0*llu", prefix, width,
                         (unsigned long long)(start + i));

        if (n < 0 || (size_t)n >= sizeof(t->serial) || !pf_serial_valid(t->serial)) {
            rc = pf_error_set(err, PF_EINVAL, "--prefix %s: not a valid serial prefix", prefix);
            goto out_fail;
        }
        memcpy(t->model, mix[order[i]].model, sizeof(t->model));
        memcpy(t->hw_rev, SIM_DEFAULT_HWREV, sizeof(SIM_DEFAULT_HWREV));
        if (certs) {
            size_t need = strlen(certs) + strlen(t->serial) + 8;

            t->cert = malloc(need);
            t->key = malloc(need);
            if (!t->cert || !t->key) {
                rc = pf_error_set(err, PF_ENOMEM, "out of memory");
                goto out_fail;
            }
            snprintf(t->cert, need, "%s/%s.crt", certs, t->serial);
            snprintf(t->key, need, "%s/%s.key", certs, t->serial);
        }
    }
    free(order);
    return 0;

out_fail:
    free(order);
    sim_fleet_release(f);
    return rc;
}

int sim_fleet_write_csv(const struct sim_fleet *f, FILE *out)
{
    if (fprintf(out, "serial,model,hw_rev\n") < 0)
        return PF_EIO;
    for (size_t i = 0; i < f->n; i++) {
        if (fprintf(out, "%s,%s,%s\n", f->terms[i].serial, f->terms[i].model, f->terms[i].hw_rev) <
            0)
            return PF_EIO;
    }
    return fflush(out) == 0 && !ferror(out) ? 0 : PF_EIO;
}
