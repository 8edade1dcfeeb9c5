/*
 * rollout_plan.c - cohort selection, hash order and stage split
 * (rollout_plan.h).
 */
#include "rollouts/rollout_plan.h"

#include <inttypes.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pf/bundle.h"
#include "pf/endian.h"
#include "pf/num.h"

/* --- the rule --- */

static int plan__str_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool plan__listed(const struct pfs_ro__values *v, const char *s)
{
    if (!v->set)
        return true;
    if (!s)
        return false;
    return bsearch(&s, v->v, v->n, sizeof(*v->v), plan__str_cmp) != NULL;
}

/* A filter's JSON array text as a sorted array of copies. */
static int plan__values(const char *text, struct pfs_ro__values *out, const char *key,
                        struct pf_error *err)
{
    json_t *a, *e;
    size_t i;

    memset(out, 0, sizeof(*out));
    if (!text)
        return 0;
    a = json_loads(text, 0, NULL);
    if (!json_is_array(a)) {
        json_decref(a);
        return pf_error_set(err, PF_EINVAL, "cohort.%s: not an array", key);
    }
    out->set = true;
    out->v = calloc(json_array_size(a) ? json_array_size(a) : 1, sizeof(*out->v));
    if (!out->v) {
        json_decref(a);
        return pf_error_set(err, PF_ENOMEM, "out of memory");
    }
    json_array_foreach(a, i, e)
    {
        if (!json_is_string(e)) {
            json_decref(a);
            return pf_error_set(err, PF_EINVAL, "cohort.%s[%zu]: not a string", key, i);
        }
        if (!(out->v[out->n] = strdup(json_string_value(e)))) {
            json_decref(a);
            return pf_error_set(err, PF_ENOMEM, "out of memory");
        }
        out->n++;
    }
    json_decref(a);
    qsort(out->v, out->n, sizeof(*out->v), plan__str_cmp);
    return 0;
}

int pfs_ro_cohort_rule_init(struct pfs_ro_cohort_rule *r, const struct pfs_ro_def *d,
                            const struct pfs_ro_target *t, int64_t since_ms, struct pf_error *err)
{
    int rc = 0;

    memset(r, 0, sizeof(*r));
    r->models = pf_target_csv(t->models);
    r->hw_revs = pf_target_csv(t->hw_revs);
    r->kind = t->kind;
    r->version = t->version ? t->version : "";
    r->since_ms = since_ms;
    for (int f = 0; !rc && f < PFS_RO_FILTER_COUNT; f++)
        rc = plan__values(d->filters[f], &r->filters[f], pfs_ro_filter_names[f], err);
    if (rc)
        pfs_ro_cohort_rule_release(r);
    return rc;
}

void pfs_ro_cohort_rule_release(struct pfs_ro_cohort_rule *r)
{
    for (int f = 0; f < PFS_RO_FILTER_COUNT; f++) {
        for (size_t i = 0; i < r->filters[f].n; i++)
            free(r->filters[f].v[i]);
        free(r->filters[f].v);
    }
    memset(r, 0, sizeof(*r));
}

bool pfs_ro_cohort_rule_light(const struct pfs_ro_cohort_rule *r)
{
    return r->since_ms < 0 && !r->filters[PFS_RO_FW_VERSIONS].set &&
           !r->filters[PFS_RO_FEE_VERSIONS].set && !r->filters[PFS_RO_MERCHANTS].set &&
           !r->filters[PFS_RO_MCCS].set && !r->filters[PFS_RO_REGIONS].set &&
           !r->filters[PFS_RO_TAGS].set;
}

/* One of the terminal's tags (a JSON array text) is listed. */
static bool plan__tags(const struct pfs_ro__values *v, const char *tags)
{
    json_t *a, *e;
    size_t i;
    bool hit = false;

    if (!v->set)
        return true;
    a = tags ? json_loads(tags, 0, NULL) : NULL;
    json_array_foreach(a, i, e)
    {
        if (json_is_string(e) && plan__listed(v, json_string_value(e)))
            hit = true;
    }
    json_decref(a);
    return hit;
}

static bool plan__state_may_install(const char *state)
{
    return !state || !*state || strcmp(state, "in_stock") == 0 || strcmp(state, "installed") == 0 ||
           strcmp(state, "active") == 0;
}

static const char *plan__current(const struct pfs_ro_cohort_rule *r,
                                 const struct pfs_ro_candidate *c)
{
    const char *cur = r->kind == PF_KIND_FIRMWARE ? c->fw_version : c->fee_version;

    return cur ? cur : "";
}

bool pfs_ro_cover_mcc(const struct pfs_ro_cover *cov, const char *mcc)
{
    int64_t v;

    if (!cov || !cov->mccs_known)
        return true;
    if (!mcc || strlen(mcc) != 4 || pf_parse_i64(mcc, 0, 9999, &v) != 0)
        return false;
    for (size_t i = 0; i < cov->nmcc; i++) {
        if (cov->mccs[i] == (uint16_t)v)
            return true;
    }
    return false;
}

static bool plan__filtered(const struct pfs_ro_cohort_rule *r)
{
    for (int f = 0; f < PFS_RO_FILTER_COUNT; f++) {
        if (r->filters[f].set)
            return true;
    }
    return false;
}

enum pfs_ro_class pfs_ro_cohort_classify(const struct pfs_ro_cohort_rule *r,
                                         const struct pfs_ro_cover *cov,
                                         const struct pfs_ro_candidate *c)
{
    const struct pfs_ro__values *f = r->filters;

    if (!c->serial || !*c->serial || !c->status || strcmp(c->status, "registered") != 0)
        return PFS_RO_OUT;
    if (r->since_ms >= 0 && c->created_ms <= r->since_ms)
        return PFS_RO_OUT;
    if (!plan__state_may_install(c->state))
        return PFS_RO_OUT;
    if (!plan__listed(&f[PFS_RO_MODELS], c->model) ||
        !plan__listed(&f[PFS_RO_HW_REVS], c->hw_rev) ||
        !plan__listed(&f[PFS_RO_SERIALS], c->serial) ||
        !plan__listed(&f[PFS_RO_FW_VERSIONS], c->fw_version) ||
        !plan__listed(&f[PFS_RO_FEE_VERSIONS], c->fee_version) ||
        !plan__listed(&f[PFS_RO_MERCHANTS], c->merchant) ||
        !plan__listed(&f[PFS_RO_MCCS], c->mcc) || !plan__listed(&f[PFS_RO_REGIONS], c->region) ||
        !plan__tags(&f[PFS_RO_TAGS], c->tags))
        return PFS_RO_OUT;
    if (pf_target_match(&r->models, &r->hw_revs, c->model ? c->model : "",
                        c->hw_rev ? c->hw_rev : "") != 0)
        return plan__filtered(r) ? PFS_RO_UNTARGETED : PFS_RO_OUT;
    if (strcmp(plan__current(r, c), r->version) == 0)
        return PFS_RO_ALREADY;
    if (cov && r->kind == PF_KIND_FEETABLE && c->mcc && *c->mcc && !pfs_ro_cover_mcc(cov, c->mcc))
        return PFS_RO_UNCOVERED;
    return PFS_RO_MEMBER;
}

bool pfs_ro_cohort_match(const struct pfs_ro_cohort_rule *r, const struct pfs_ro_candidate *c)
{
    return pfs_ro_cohort_classify(r, NULL, c) == PFS_RO_MEMBER;
}

bool pfs_ro_cohort_already(const struct pfs_ro_cohort_rule *r, const struct pfs_ro_candidate *c)
{
    return *r->version && pfs_ro_cohort_classify(r, NULL, c) == PFS_RO_ALREADY;
}

/* --- the cohort --- */

#define PLAN__BLOCK    ((size_t)1 << 20)
#define PLAN__VERSIONS 1000

void pfs_ro_cohort_release(struct pfs_ro_cohort *c)
{
    for (size_t i = 0; i < c->nblocks; i++)
        free(c->blocks[i]);
    free(c->blocks);
    free(c->serial);
    free(c->version);
    free(c->stage);
    free(c->versions);
    free(c->already);
    memset(c, 0, sizeof(*c));
}

/* A copy of s in the cohort's blocks (one allocation per MiB, not per terminal). */
static char *plan__strdup(struct pfs_ro_cohort *c, const char *s)
{
    size_t len = strlen(s) + 1;
    char *p;

    if (len > PLAN__BLOCK)
        return NULL;
    if (!c->nblocks || c->used + len > PLAN__BLOCK) {
        char **nb = realloc(c->blocks, (c->nblocks + 1) * sizeof(*nb));

        if (!nb)
            return NULL;
        c->blocks = nb;
        if (!(c->blocks[c->nblocks] = malloc(PLAN__BLOCK)))
            return NULL;
        c->nblocks++;
        c->used = 0;
    }
    p = c->blocks[c->nblocks - 1] + c->used;
    memcpy(p, s, len);
    c->used += len;
    return p;
}

static int plan__version_index(struct pfs_ro_cohort *c, const char *version, uint16_t *out)
{
    size_t i;

    *out = 0;
    if (!version || !*version)
        return 0;
    for (i = 0; i < c->nver; i++) {
        if (strcmp(c->versions[i], version) == 0)
            break;
    }
    if (i == c->nver && c->nver < PLAN__VERSIONS) {
        void *nv = realloc(c->versions, (c->nver + 1) * sizeof(*c->versions));

        if (!nv)
            return PF_ENOMEM;
        c->versions = nv;
        snprintf(c->versions[c->nver++], sizeof(*c->versions), "%s", version);
    }
    if (i < c->nver)
        *out = (uint16_t)(i + 1);
    return 0;
}

int pfs_ro_cohort_consider(struct pfs_ro_cohort *co, const struct pfs_ro_cohort_rule *r,
                           const struct pfs_ro_candidate *c)
{
    uint16_t v;
    int rc;

    if (r->since_ms < 0 && pfs_ro_cohort_already(r, c)) {
        if (co->nalready == co->capalready) {
            size_t cap = co->capalready ? co->capalready * 2 : 64;
            char **a = realloc(co->already, cap * sizeof(*a));

            if (!a)
                return PF_ENOMEM;
            co->already = a;
            co->capalready = cap;
        }
        if (!(co->already[co->nalready] = plan__strdup(co, c->serial)))
            return PF_ENOMEM;
        co->nalready++;
        return 0;
    }
    if (!pfs_ro_cohort_match(r, c))
        return 0;
    if (co->n && strcmp(co->serial[co->n - 1], c->serial) >= 0)
        return PF_EINVAL;
    if (co->n == co->cap) {
        size_t cap = co->cap ? co->cap * 2 : 1024;
        char **s = realloc(co->serial, cap * sizeof(*s));
        uint16_t *p;

        if (!s)
            return PF_ENOMEM;
        co->serial = s;
        if (!(p = realloc(co->version, cap * sizeof(*p))))
            return PF_ENOMEM;
        co->version = p;
        co->cap = cap;
    }
    if ((rc = plan__version_index(co, r->kind == PF_KIND_FIRMWARE ? c->fw_version : c->fee_version,
                                  &v)))
        return rc;
    if (!(co->serial[co->n] = plan__strdup(co, c->serial)))
        return PF_ENOMEM;
    co->version[co->n++] = v;
    return 0;
}

bool pfs_ro_cohort_has(const struct pfs_ro_cohort *c, const char *serial)
{
    size_t lo = 0, hi = c->n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int cmp = strcmp(c->serial[mid], serial);

        if (cmp == 0)
            return true;
        if (cmp < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return false;
}

/* --- order and stages --- */

struct plan__key {
    uint64_t hash;
    uint32_t row; /* index into the serial-ordered arrays */
};

/*
 * Sorts by hash, ties by row: a stable least-significant-digit radix sort,
 * 16 bits a pass, of keys that start in row order (serial order), in linear
 * time.
 */
static int plan__sort(struct plan__key *a, size_t n)
{
    struct plan__key *tmp = malloc((n ? n : 1) * sizeof(*tmp));
    size_t *count = malloc(((size_t)1 << 16) * sizeof(*count));

    if (!tmp || !count) {
        free(tmp);
        free(count);
        return PF_ENOMEM;
    }
    for (int shift = 0; shift < 64; shift += 16) {
        size_t sum = 0;

        memset(count, 0, ((size_t)1 << 16) * sizeof(*count));
        for (size_t i = 0; i < n; i++)
            count[(a[i].hash >> shift) & 0xffff]++;
        for (size_t b = 0; b < ((size_t)1 << 16); b++) {
            size_t c = count[b];

            count[b] = sum;
            sum += c;
        }
        for (size_t i = 0; i < n; i++)
            tmp[count[(a[i].hash >> shift) & 0xffff]++] = a[i];
        memcpy(a, tmp, n * sizeof(*a));
    }
    free(count);
    free(tmp);
    return 0;
}

int pfs_ro_cohort_order(struct pfs_ro_cohort *co, int64_t rollout_id, const size_t *targets,
                        size_t nstages)
{
    struct plan__key *order;
    uint8_t *stage;
    int rc;

    if (co->n > UINT32_MAX || nstages == 0 || nstages > PFS_RO_STAGES_MAX ||
        targets[nstages - 1] != co->n)
        return PF_EINVAL;
    order = malloc((co->n ? co->n : 1) * sizeof(*order));
    stage = malloc(co->n ? co->n : 1);
    if (!order || !stage) {
        free(order);
        free(stage);
        return PF_ENOMEM;
    }
    for (size_t i = 0; i < co->n; i++) {
        order[i].hash = pfs_ro_hash(rollout_id, co->serial[i]);
        order[i].row = (uint32_t)i;
    }
    if ((rc = plan__sort(order, co->n))) {
        free(order);
        free(stage);
        return rc;
    }
    for (size_t i = 0, k = 0; i < co->n; i++) {
        while (i >= targets[k])
            k++;
        stage[order[i].row] = (uint8_t)k;
    }
    free(order);
    free(co->stage);
    co->stage = stage;
    return 0;
}

int pfs_ro_stage_targets(const struct pfs_ro_def *d, size_t n, size_t targets[PFS_RO_STAGES_MAX],
                         struct pf_error *err)
{
    size_t prev = 0;

    if (n == 0)
        return pf_error_set(err, PF_EINVAL,
                            "the cohort is empty: no registered terminal matches the filters and"
                            " the bundle's targets, or all already run its version");
    for (size_t i = 0; i < d->nstages; i++) {
        const struct pfs_ro_stage *s = &d->stages[i];
        size_t t = s->pct ? (size_t)((uint64_t)n * (uint64_t)s->value / 10000)
                          : ((uint64_t)s->value < n ? (size_t)s->value : n);

        if (t <= prev)
            return pf_error_set(err, PF_EINVAL, "stage %zu (%s) rounds to 0 of %zu terminals%s",
                                i + 1, s->size, n,
                                t == n ? ": the stages before it already reach them all" : "");
        targets[i] = prev = t;
    }
    if (!d->nstages || prev != n)
        return pf_error_set(err, PF_EINVAL, "the last stage reaches %zu of %zu terminals", prev, n);
    return 0;
}

uint64_t pfs_ro_hash(int64_t rollout_id, const char *serial)
{
    char key[96];
    unsigned char h[8];
    int n = snprintf(key, sizeof(key), "%" PRId64 "/%s", rollout_id, serial);

    crypto_generichash(h, sizeof(h), (const unsigned char *)key,
                       (size_t)(n < (int)sizeof(key) ? n : (int)sizeof(key) - 1), NULL, 0);
    return pf_load_be64(h);
}
