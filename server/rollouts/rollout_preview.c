/*
 * rollout_preview.c - a rollout's preview, coverage and plan digest
 * (rollout_preview.h).
 */
#include "rollouts/rollout_preview.h"

#include <inttypes.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pf/bundle.h"

const char *const pfs_ro_dim_names[] = {"model", "hw_rev", "mcc", "region", "version", "tz", NULL};

int pfs_ro_preview_init(struct pfs_ro_preview *p, const struct pfs_ro_def *d,
                        const struct pfs_ro_target *t, const struct pfs_ro_cover *cover,
                        bool uncovered_members, struct pf_error *err)
{
    memset(p, 0, sizeof(*p));
    p->cover = cover;
    p->uncovered_members = uncovered_members;
    return pfs_ro_cohort_rule_init(&p->rule, d, t, -1, err);
}

void pfs_ro_preview_release(struct pfs_ro_preview *p)
{
    for (size_t i = 0; i < p->n; i++)
        free(p->serial[i]);
    free(p->serial);
    free(p->attr);
    free(p->stage);
    free(p->uncovered);
    for (int d = 0; d < PFS_RO_DIM_COUNT; d++) {
        for (size_t i = 0; i < p->vals[d].n; i++)
            free(p->vals[d].v[i]);
        free(p->vals[d].v);
        free(p->counts[d]);
    }
    free(p->tz_next);
    free(p->tz_open);
    free(p->terms);
    pfs_ro_cohort_rule_release(&p->rule);
    memset(p, 0, sizeof(*p));
}

/* The index of value s ("" for NULL) in dimension d, added if new. */
static int preview__value(struct pfs_ro_preview *p, int d, const char *s, uint16_t *out)
{
    struct pfs_ro_pv_values *v = &p->vals[d];
    char **nv;

    if (!s)
        s = "";
    for (size_t i = 0; i < v->n; i++) {
        if (strcmp(v->v[i], s) == 0) {
            *out = (uint16_t)i;
            return 0;
        }
    }
    if (v->n >= UINT16_MAX)
        return PF_ETOOBIG;
    if (!(nv = realloc(v->v, (v->n + 1) * sizeof(*nv))))
        return PF_ENOMEM;
    v->v = nv;
    if (!(v->v[v->n] = strdup(s)))
        return PF_ENOMEM;
    *out = (uint16_t)v->n++;
    return 0;
}

static int preview__term(struct pfs_ro_preview *p, const struct pfs_ro_candidate *c,
                         enum pfs_ro_class cls)
{
    struct pfs_ro_pv_term *t;

    if (cls == PFS_RO_ALREADY)
        p->already++;
    else if (cls == PFS_RO_UNTARGETED)
        p->untargeted++;
    else
        p->uncovered_n++;
    if (p->nterms >= PFS_RO_PREVIEW_LIST)
        return 0;
    if (!p->terms && !(p->terms = calloc(PFS_RO_PREVIEW_LIST, sizeof(*p->terms))))
        return PF_ENOMEM;
    t = &p->terms[p->nterms++];
    snprintf(t->serial, sizeof(t->serial), "%s", c->serial);
    t->cls = cls;
    if (cls == PFS_RO_ALREADY)
        snprintf(t->why, sizeof(t->why), "already runs %.32s", p->rule.version);
    else if (cls == PFS_RO_UNTARGETED)
        snprintf(t->why, sizeof(t->why), "model %.24s %.16s is not a target",
                 c->model ? c->model : "", c->hw_rev ? c->hw_rev : "");
    else
        snprintf(t->why, sizeof(t->why), "MCC %.8s is not in the fee table", c->mcc ? c->mcc : "");
    return 0;
}

int pfs_ro_preview_consider(struct pfs_ro_preview *p, const struct pfs_ro_candidate *c)
{
    enum pfs_ro_class cls = pfs_ro_cohort_classify(&p->rule, p->cover, c);
    const char *cur;
    int rc;

    if (cls == PFS_RO_OUT)
        return 0;
    if (cls == PFS_RO_ALREADY || cls == PFS_RO_UNTARGETED)
        return preview__term(p, c, cls);
    if (cls == PFS_RO_UNCOVERED) {
        if ((rc = preview__term(p, c, cls)))
            return rc;
        if (!p->uncovered_members)
            return 0;
    }
    if (p->n && strcmp(p->serial[p->n - 1], c->serial) >= 0)
        return PF_EINVAL;
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 256;
        char **s = realloc(p->serial, cap * sizeof(*s));
        void *a, *u;

        if (!s)
            return PF_ENOMEM;
        p->serial = s;
        if (!(a = realloc(p->attr, cap * sizeof(*p->attr))))
            return PF_ENOMEM;
        p->attr = a;
        if (!(u = realloc(p->uncovered, cap * sizeof(*p->uncovered))))
            return PF_ENOMEM;
        p->uncovered = u;
        p->cap = cap;
    }
    cur = p->rule.kind == PF_KIND_FIRMWARE ? c->fw_version : c->fee_version;
    if ((rc = preview__value(p, PFS_RO_DIM_MODEL, c->model, &p->attr[p->n][PFS_RO_DIM_MODEL])) ||
        (rc = preview__value(p, PFS_RO_DIM_HW_REV, c->hw_rev, &p->attr[p->n][PFS_RO_DIM_HW_REV])) ||
        (rc = preview__value(p, PFS_RO_DIM_MCC, c->mcc, &p->attr[p->n][PFS_RO_DIM_MCC])) ||
        (rc = preview__value(p, PFS_RO_DIM_REGION, c->region, &p->attr[p->n][PFS_RO_DIM_REGION])) ||
        (rc = preview__value(p, PFS_RO_DIM_VERSION, cur, &p->attr[p->n][PFS_RO_DIM_VERSION])) ||
        (rc = preview__value(p, PFS_RO_DIM_TZ, c->tz, &p->attr[p->n][PFS_RO_DIM_TZ])))
        return rc;
    if (!(p->serial[p->n] = strdup(c->serial)))
        return PF_ENOMEM;
    p->uncovered[p->n] = cls == PFS_RO_UNCOVERED;
    p->n++;
    return 0;
}

bool pfs_ro_awaits_approval(enum pfs_ro_state s, const char *pause_reason)
{
    return s == PFS_RO_PAUSED && pause_reason && strcmp(pause_reason, PFS_RO_APPROVAL) == 0;
}

const char *pfs_ro_approval_recorded(const char *pause_detail)
{
    size_t n = pause_detail ? strlen(pause_detail) : 0;
    const char *d;

    if (n < PF_B2_HEX_LEN)
        return "";
    d = pause_detail + n - PF_B2_HEX_LEN;
    for (const char *p = d; *p; p++) {
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
            return "";
    }
    return d;
}

int pfs_ro_approval_check(const struct pfs_ro_approval *a, const char *approver, const char *given,
                          struct pf_error *err)
{
    if (!a->awaiting)
        return pf_error_set(err, PF_ESTATE, "it does not wait for an approval");
    if (!approver || !a->creator || strcmp(approver, a->creator) == 0)
        return pf_error_set(err, PF_EPERM,
                            "%s created it: another identity with the approver role must approve"
                            " it (four eyes)",
                            a->creator ? a->creator : "-");
    if (!given || strlen(given) != PF_B2_HEX_LEN || !*pfs_ro_approval_recorded(given))
        return pf_error_set(err, PF_EINVAL, "digest: the 64 hex digits of the preview approved");
    if (!a->recorded || strcmp(given, a->recorded) != 0)
        return pf_error_set(err, PF_ESTATE,
                            "digest %.12s… is not the plan it was created with: look at its"
                            " preview (posfleet rollout preview) and approve that one",
                            given);
    if (!a->now || strcmp(a->now, a->recorded) != 0)
        return pf_error_set(err, PF_ESTATE,
                            "the cohort changed since it was created (its preview is now %.12s…):"
                            " the approval no longer holds; abort it and create it again",
                            a->now ? a->now : "-");
    return 0;
}

int64_t pfs_ro_window_next_open(const struct pfs_ro_def *d, int minute, int64_t now_ms)
{
    int64_t ahead;

    if (pfs_ro_in_window(d, minute))
        return now_ms;
    ahead = ((int64_t)d->win_start - minute + 1440) % 1440;
    return now_ms - now_ms % 60000 + ahead * 60000;
}

/* BLAKE2b-256 of the bundle, the definition and the plan, hex. */
static void preview__digest(struct pfs_ro_preview *p, const char *bundle_id, const char *def_json)
{
    crypto_generichash_state h;
    unsigned char out[PF_B2_LEN];
    char line[PF_SERIAL_MAX + 48];

    crypto_generichash_init(&h, NULL, 0, sizeof(out));
    crypto_generichash_update(&h, (const unsigned char *)bundle_id, strlen(bundle_id) + 1);
    crypto_generichash_update(&h, (const unsigned char *)def_json, strlen(def_json) + 1);
    for (size_t i = 0; i < p->n; i++) {
        int len = snprintf(line, sizeof(line), "%s %d%s\n", p->serial[i],
                           p->stage ? p->stage[i] : -1, p->uncovered[i] ? " uncovered" : "");

        crypto_generichash_update(&h, (const unsigned char *)line, (size_t)len);
    }
    snprintf(line, sizeof(line), "already %" PRId64 " untargeted %" PRId64 "\n", p->already,
             p->untargeted);
    crypto_generichash_update(&h, (const unsigned char *)line, strlen(line));
    crypto_generichash_final(&h, out, sizeof(out));
    pf_b2_hex(out, p->digest);
}

int pfs_ro_preview_finish(struct pfs_ro_preview *p, const struct pfs_ro_def *d, int64_t rollout_id,
                          const char *bundle_id, const char *def_json, const char *default_tz,
                          int64_t now_ms, struct pf_error *err)
{
    struct pf_error perr = {0};
    size_t ns;
    int rc;

    if (pfs_ro_stage_targets(d, p->n, p->targets, &perr) == 0) {
        struct pfs_ro_cohort co = {.serial = p->serial, .n = p->n, .cap = p->n};

        if ((rc = pfs_ro_cohort_order(&co, rollout_id, p->targets, d->nstages)))
            return pf_error_set(err, rc, "preview: %s", pf_strerror(rc));
        p->stage = co.stage; /* the cohort only borrowed the serials */
        p->nstages = d->nstages;
    } else {
        snprintf(p->plan_error, sizeof(p->plan_error), "%s", perr.msg);
    }
    ns = p->nstages + 1;
    for (int dim = 0; dim < PFS_RO_DIM_COUNT; dim++) {
        p->counts[dim] = calloc(p->vals[dim].n ? p->vals[dim].n * ns : 1, sizeof(int64_t));
        if (!p->counts[dim])
            return pf_error_set(err, PF_ENOMEM, "out of memory");
        for (size_t i = 0; i < p->n; i++) {
            size_t v = p->attr[i][dim];

            if (p->stage)
                p->counts[dim][v * ns + p->stage[i]]++;
            p->counts[dim][v * ns + p->nstages]++;
        }
    }
    p->tz_next = calloc(p->vals[PFS_RO_DIM_TZ].n + 1, sizeof(*p->tz_next));
    p->tz_open = calloc(p->vals[PFS_RO_DIM_TZ].n + 1, sizeof(*p->tz_open));
    if (!p->tz_next || !p->tz_open)
        return pf_error_set(err, PF_ENOMEM, "out of memory");
    for (size_t z = 0; z < p->vals[PFS_RO_DIM_TZ].n; z++) {
        const char *tz = p->vals[PFS_RO_DIM_TZ].v[z];
        int minute;

        if (pfs_ro_local_minute(*tz ? tz : default_tz, now_ms, &minute) != 0) {
            p->tz_next[z] = -1;
            continue;
        }
        p->tz_open[z] = pfs_ro_in_window(d, minute);
        p->tz_next[z] = pfs_ro_window_next_open(d, minute, now_ms);
    }
    preview__digest(p, bundle_id, def_json);
    return 0;
}

bool pfs_ro_preview_mismatch(const struct pfs_ro_preview *p, char *msg, size_t size)
{
    const struct pfs_ro_pv_term *first = NULL;
    int64_t n = p->untargeted + p->uncovered_n;

    for (size_t i = 0; i < p->nterms && !first; i++) {
        if (p->terms[i].cls == PFS_RO_UNTARGETED || p->terms[i].cls == PFS_RO_UNCOVERED)
            first = &p->terms[i];
    }
    if (!first)
        return false;
    snprintf(msg, size,
             "the bundle does not cover %" PRId64 " terminal%s of the cohort (%" PRId64
             " not targeted, %" PRId64
             " with a merchant category the fee table lacks), first %s: %s",
             n, n == 1 ? "" : "s", p->untargeted, p->uncovered_n, first->serial, first->why);
    return true;
}

/* Keeps the fee-table payload as the reader verifies it. */
struct preview__ft {
    char *buf;
    size_t len;
    bool mine;
};

static int preview__ft_begin(void *ctx, const struct pf_manifest_payload *p, struct pf_error *err)
{
    struct preview__ft *f = ctx;

    f->mine = strcmp(p->name, PF_FEETABLE_PAYLOAD) == 0 && !f->buf;
    if (!f->mine)
        return 0;
    if (p->size > PF_FEETABLE_MAX_BYTES)
        return pf_error_set(err, PF_EFEETABLE, "%s: larger than %d bytes", PF_FEETABLE_PAYLOAD,
                            PF_FEETABLE_MAX_BYTES);
    if (!(f->buf = malloc(p->size + 1)))
        return pf_error_set(err, PF_ENOMEM, "out of memory");
    return 0;
}

static int preview__ft_write(void *ctx, const void *buf, size_t len, struct pf_error *err)
{
    struct preview__ft *f = ctx;

    (void)err;
    if (f->mine && f->buf) { /* never more than the declared size */
        memcpy(f->buf + f->len, buf, len);
        f->len += len;
    }
    return 0;
}

static int preview__ft_end(void *ctx, const struct pf_manifest_payload *p, struct pf_error *err)
{
    (void)p;
    (void)err;
    ((struct preview__ft *)ctx)->mine = false;
    return 0;
}

int pfs_ro_feetable_cover(struct pfs_artifacts *a, const char *id, int64_t now_s,
                          struct pf_feetable *ft, struct pfs_ro_cover *cover, struct pf_error *err)
{
    struct pf_policy pol = {.kind = PF_KIND_FEETABLE, .now = now_s};
    struct preview__ft f = {0};
    struct pf_bundle_sink sink = {preview__ft_begin, preview__ft_write, preview__ft_end, &f};
    char path[PATH_MAX];
    int rc;

    memset(cover, 0, sizeof(*cover));
    if ((rc = pfs_artifacts_path(a, id, path, sizeof(path))))
        return pf_error_set(err, rc, "bundle %s: path too long", id);
    rc = pf_bundle_read_file(path, &a->trust, &pol, &sink, NULL, err);
    if (!rc && !f.buf)
        rc = pf_error_set(err, PF_EFEETABLE, "no %s", PF_FEETABLE_PAYLOAD);
    if (!rc)
        rc = pf_feetable_parse(f.buf, f.len, ft, err);
    free(f.buf);
    if (rc)
        return pf_error_prefix(err, "bundle %s: fee table", id);
    cover->mccs_known = true;
    cover->mccs = ft->mcc;
    cover->nmcc = ft->nmcc;
    return 0;
}
