/*
 * api_rollouts.c - the HTTP endpoints of rollout.h (docs/rollouts.md, "Ops
 * commands and API"): create (and its dry run), list, show, members, one
 * member moved by hand, the state changes (pause, resume, continue, abort,
 * rollback), and four eyes (the stored rollout's preview, its approval). The
 * store and the scheduler's runtime are read through plain functions; the
 * JSON is built here.
 *
 * About 950 lines in one file because create, its dry run, the preview and
 * the approval answer with one JSON shape of a plan and share the reading of
 * a rollout's bundle and cohort; split, those helpers would become a private
 * header for a single resource.
 */
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_handlers.h"
#include "pf/num.h"
#include "pf/jsonv.h"
#include "rollouts/rollout.h"
#include "rollouts/rollout_preview.h"
#include "store/store_accounts.h"

#define API_RO_LIST_MAX    100
#define API_RO_MEMBERS_MAX 1000

static json_t *api_ro__counts(const int64_t c[PFS_ROM_COUNT])
{
    json_t *o = json_object();

    for (int m = 0; o && m < PFS_ROM_COUNT; m++)
        json_object_set_new(o, pfs_ro_member_names[m], json_integer(c[m]));
    return o;
}

static json_t *api_ro__ms(int64_t ms)
{
    return ms ? json_integer(ms) : json_integer(0);
}

static int api_ro__failure_cb(void *ctx, const char *status, const char *code, int64_t n)
{
    return json_array_append_new(ctx, json_pack("{s:s, s:s, s:I}", "status", status, "code", code,
                                                "n", (json_int_t)n))
                   ? PF_ENOMEM
                   : 0;
}

static const char *api_ro__waiting(struct pfs_rollouts *ro, const struct pfs_rollout_rec *r)
{
    const struct pfs_ro_runtime *rt = pfs_rollouts_runtime(ro, r->id);

    if (rt && pfs_ro_state_live(r->state))
        return rt->waiting;
    return "";
}

/* Its state for people: a rollout paused for an approver "awaiting_approval". */
static const char *api_ro__state(const struct pfs_rollout_rec *r)
{
    return pfs_ro_awaits_approval(r->state, r->pause_reason) ? "awaiting_approval"
                                                             : pfs_ro_state_names[r->state];
}

/* The rollout object; full adds definition, stages and failures. */
static json_t *api_ro__json(struct pfs_rollouts *ro, const struct pfs_rollout_rec *r, bool full)
{
    struct pfs_ro_stage_rec st[PFS_RO_STAGES_MAX];
    int64_t tot[PFS_ROM_COUNT] = {0}, members = 0;
    size_t nst = 0;
    json_t *o, *stages = NULL;

    if (pfs_store_rollout_stages(ro->store, r->id, st, &nst) != 0)
        return NULL;
    for (size_t k = 0; k < nst; k++) {
        for (int m = 0; m < PFS_ROM_COUNT; m++) {
            tot[m] += st[k].counts[m];
            members += st[k].counts[m];
        }
    }
    o = json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:I, s:s, s:I, s:I, s:I, s:I, s:i, s:i, s:o,"
                  " s:s}",
                  "id", (json_int_t)r->id, "name", r->name, "state", api_ro__state(r), "bundle",
                  r->bundle, "kind", pf_bundle_kind_names[r->kind], "version", r->version,
                  "created_ms", (json_int_t)r->created_ms, "actor", r->actor, "updated_ms",
                  (json_int_t)r->updated_ms, "start_at_ms", (json_int_t)r->start_ms, "deadline_ms",
                  (json_int_t)r->deadline_ms, "members", (json_int_t)members, "stage", r->stage,
                  "stage_count", (int)nst, "totals", api_ro__counts(tot), "waiting",
                  api_ro__waiting(ro, r));
    if (!o)
        return NULL;
    {
        const struct pfs_ro_runtime *rt = pfs_rollouts_runtime(ro, r->id);

        /* when the soonest maintenance window of a waiting member opens */
        json_object_set_new(o, "window_opens_ms",
                            json_integer(rt && r->state == PFS_RO_RUNNING && rt->outside_window
                                                 ? rt->window_opens_ms
                                                 : 0));
    }
    {
        /* The store keeps the last stop's reason: an abort's or an expiry's
         * is "ended", a pause's (the current one or the last) "pause". */
        bool ended = r->state == PFS_RO_ABORTED || r->state == PFS_RO_EXPIRED;
        json_t *stop = r->pause_reason[0]
                               ? json_pack("{s:s, s:s, s:I, s:s}", "reason", r->pause_reason,
                                           "detail", r->pause_detail, "at_ms",
                                           (json_int_t)r->pause_ms, "by", r->pause_by)
                               : json_null();

        json_object_set_new(o, "pause", ended ? json_null() : stop);
        json_object_set_new(o, "ended", ended ? stop : json_null());
    }
    if (!full)
        return o;
    json_object_set_new(o, "definition", pfs_ro_def_to_json(&r->def));
    stages = json_array();
    for (size_t k = 0; stages && k < nst; k++)
        json_array_append_new(
                stages,
                json_pack("{s:i, s:s, s:I, s:I, s:I, s:b, s:o, s:o, s:o}", "index", st[k].idx,
                          "size", st[k].size, "target", (json_int_t)st[k].target, "members",
                          (json_int_t)(st[k].target - (k ? st[k - 1].target : 0)), "soak_s",
                          (json_int_t)st[k].soak_s, "gate", st[k].gate, "opened_ms",
                          api_ro__ms(st[k].opened_ms), "settled_ms", api_ro__ms(st[k].settled_ms),
                          "counts", api_ro__counts(st[k].counts)));
    json_object_set_new(o, "stages", stages ? stages : json_array());
    {
        json_t *f = json_array();

        if (f && pfs_store_rollout_failures(ro->store, r->id, api_ro__failure_cb, f) != 0) {
            json_decref(f);
            f = NULL;
        }
        json_object_set_new(o, "failures", f ? f : json_array());
    }
    json_object_set_new(
            o, "no_previous",
            json_integer(r->state == PFS_RO_ROLLING_BACK || r->state == PFS_RO_ROLLED_BACK
                                 ? tot[PFS_ROM_INSTALLED]
                                 : 0));
    return o;
}

/* The full object of rollout id, or an error answered (NULL). */
static json_t *api_ro__load(struct pfs_rollouts *ro, struct pfs_http_resp *resp, int64_t id)
{
    struct pfs_rollout_rec r;
    int rc = pfs_store_rollout_get(ro->store, id, &r);
    json_t *o;

    if (rc) {
        pfs_api_error(resp, rc,
                      rc == PF_ENOENT ? "no rollout %" PRId64 : "reading rollout %" PRId64, id);
        return NULL;
    }
    o = api_ro__json(ro, &r, true);
    pfs_rollout_rec_release(&r);
    if (!o)
        pfs_api_error(resp, PF_ENOMEM, "out of memory");
    return o;
}

static void api_ro__one(struct pfs_rollouts *ro, struct pfs_http_resp *resp, int64_t id, int status)
{
    json_t *o = api_ro__load(ro, resp, id);

    if (o)
        pfs_api_json(resp, status, o);
}

/* --- preview, coverage (docs/rollouts.md, "Preview, coverage and approval") --- */

/* {value: n} of dimension dim for stage st (p->nstages: every stage). */
static json_t *api_ro__tally(const struct pfs_ro_preview *p, int dim, size_t st)
{
    json_t *o = json_object();

    for (size_t v = 0; o && v < p->vals[dim].n; v++) {
        int64_t n = p->counts[dim][v * (p->nstages + 1) + st];
        const char *name = p->vals[dim].v[v];

        if (n)
            json_object_set_new(o, *name ? name : "none", json_integer((json_int_t)n));
    }
    return o;
}

static json_t *api_ro__by(const struct pfs_ro_preview *p, size_t st)
{
    json_t *o = json_object();

    for (int dim = 0; o && dim < PFS_RO_DIM_COUNT; dim++)
        json_object_set_new(o, pfs_ro_dim_names[dim], api_ro__tally(p, dim, st));
    return o;
}

static const char *api_ro__class_name(enum pfs_ro_class c)
{
    return c == PFS_RO_ALREADY ? "already" : c == PFS_RO_UNTARGETED ? "not_targeted" : "mcc";
}

/* The preview object (docs/rollouts.md): nothing of it is stored. */
static json_t *api_ro__preview_json(const struct pfs_ro_preview *p, const struct pfs_ro_def *d,
                                    const struct pfs_bundle_rec *b, int64_t id,
                                    const char *default_tz)
{
    json_t *o, *stages = json_array(), *skipped = json_array(), *windows = json_array(),
               *members = json_array();

    for (size_t k = 0; stages && k < p->nstages; k++)
        json_array_append_new(stages,
                              json_pack("{s:i, s:s, s:I, s:o}", "index", (int)k, "size",
                                        d->stages[k].size, "members",
                                        (json_int_t)(p->targets[k] - (k ? p->targets[k - 1] : 0)),
                                        "by", api_ro__by(p, k)));
    for (size_t i = 0; skipped && i < p->nterms; i++)
        json_array_append_new(skipped, json_pack("{s:s, s:s, s:s}", "serial", p->terms[i].serial,
                                                 "class", api_ro__class_name(p->terms[i].cls),
                                                 "why", p->terms[i].why));
    for (size_t z = 0; windows && z < p->vals[PFS_RO_DIM_TZ].n; z++) {
        const char *tz = p->vals[PFS_RO_DIM_TZ].v[z];

        json_array_append_new(
                windows,
                json_pack("{s:s, s:I, s:b, s:o}", "tz", *tz ? tz : default_tz, "terminals",
                          (json_int_t)p->counts[PFS_RO_DIM_TZ][z * (p->nstages + 1) + p->nstages],
                          "open_now", p->tz_open[z], "next_open_ms",
                          p->tz_next[z] >= 0 ? json_integer(p->tz_next[z]) : json_null()));
    }
    for (size_t i = 0; members && i < p->n && i < PFS_RO_PREVIEW_LIST; i++) {
        const uint16_t *a = p->attr[i];
        const char *tz = p->vals[PFS_RO_DIM_TZ].v[a[PFS_RO_DIM_TZ]];

        json_array_append_new(
                members,
                json_pack("{s:s, s:o, s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:b}", "serial",
                          p->serial[i], "stage", p->stage ? json_integer(p->stage[i]) : json_null(),
                          "model", p->vals[PFS_RO_DIM_MODEL].v[a[PFS_RO_DIM_MODEL]], "hw_rev",
                          p->vals[PFS_RO_DIM_HW_REV].v[a[PFS_RO_DIM_HW_REV]], "mcc",
                          p->vals[PFS_RO_DIM_MCC].v[a[PFS_RO_DIM_MCC]], "region",
                          p->vals[PFS_RO_DIM_REGION].v[a[PFS_RO_DIM_REGION]], "version",
                          p->vals[PFS_RO_DIM_VERSION].v[a[PFS_RO_DIM_VERSION]], "tz",
                          *tz ? tz : default_tz, "window_next_ms",
                          p->tz_next[a[PFS_RO_DIM_TZ]] >= 0
                                  ? json_integer(p->tz_next[a[PFS_RO_DIM_TZ]])
                                  : json_null(),
                          "uncovered", p->uncovered[i]));
    }
    o = json_pack(
            "{s:b, s:I, s:s, s:s, s:s, s:s, s:I, s:o, s:o, s:o, s:I, s:I, s:I, s:o, s:o,"
            " s:o, s:b}",
            "dry_run", true, "id", (json_int_t)id, "bundle", b->id, "kind",
            pf_bundle_kind_names[b->kind], "version", b->version, "digest", p->digest, "cohort",
            (json_int_t)p->n, "error", p->plan_error[0] ? json_string(p->plan_error) : json_null(),
            "stages", stages ? stages : json_array(), "by", api_ro__by(p, p->nstages), "already",
            (json_int_t)p->already, "not_targeted", (json_int_t)p->untargeted, "mcc_uncovered",
            (json_int_t)p->uncovered_n, "skipped", skipped ? skipped : json_array(), "windows",
            windows ? windows : json_array(), "members", members ? members : json_array(),
            "members_truncated", p->n > PFS_RO_PREVIEW_LIST);
    return o;
}

static int api_ro__scan_cb(void *ctx, const struct pfs_ro_candidate *c)
{
    return pfs_ro_preview_consider(ctx, c);
}

/*
 * The preview of definition d (def_json: with its defaults) for bundle b as
 * rollout id; a fee table's merchant categories are checked against its
 * table (cover, ft: caller-owned, kept while p is). forced: uncovered
 * terminals count as members, as a forced creation plans them.
 */
static int api_ro__preview(struct pfs_rollouts *ro, const struct pfs_ro_def *d,
                           const struct pfs_bundle_rec *b, const char *def_json, int64_t id,
                           const char *org_path, bool forced, struct pf_feetable *ft,
                           struct pfs_ro_cover *cover, struct pfs_ro_preview *p,
                           struct pf_error *err)
{
    struct pfs_ro_target t = {b->kind, b->version, b->models, b->hw_revs};
    int64_t now = pf_clock_wall_ms(ro->clock);
    int rc;

    if (b->kind == PF_KIND_FEETABLE) {
        if (!ro->updates)
            return pf_error_set(err, PF_ESTATE, "no artifacts store: fee tables cannot be read");
        if ((rc = pfs_ro_feetable_cover(&ro->updates->art, b->id, now / 1000, ft, cover, err)))
            return rc;
    }
    if ((rc = pfs_ro_preview_init(p, d, &t, b->kind == PF_KIND_FEETABLE ? cover : NULL, forced,
                                  err)))
        return rc;
    /* A rollout of an organisation below headquarters sees only its terminals. */
    rc = pfs_store_rollout_scan_in(ro->store, org_path, api_ro__scan_cb, p);
    if (rc)
        return pf_error_set(err, rc, "preview: reading the terminals: %s", pf_strerror(rc));
    return pfs_ro_preview_finish(p, d, id, b->id, def_json, ro->cfg->rollout_default_tz, now, err);
}

/*
 * The preview of stored rollout r now, as its approver sees it (uncovered
 * fee-table members included: the store planned them). ft, cover and p are
 * the caller's; release p.
 */
static int api_ro__stored_preview(struct pfs_rollouts *ro, const struct pfs_rollout_rec *r,
                                  struct pfs_bundle_rec *b, struct pf_feetable *ft,
                                  struct pfs_ro_cover *cover, struct pfs_ro_preview *p,
                                  struct pf_error *err)
{
    json_t *dj;
    char *text;
    int rc;

    if ((rc = pfs_store_bundle_get(ro->store, r->bundle, b)))
        return pf_error_set(err, rc, "bundle %s: %s", r->bundle, pf_strerror(rc));
    dj = pfs_ro_def_to_json(&r->def);
    text = dj ? json_dumps(dj, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(dj);
    if (!text)
        return pf_error_set(err, PF_ENOMEM, "out of memory");
    rc = api_ro__preview(ro, &r->def, b, text, r->id, r->org_path, true, ft, cover, p, err);
    free(text);
    return rc;
}

/* Records the digest of the plan a rollout waiting for approval was created with. */
static void api_ro__record_digest(struct pfs_rollouts *ro, int64_t id)
{
    struct pf_error err = {0};
    struct pfs_rollout_rec r;
    struct pfs_bundle_rec b;
    struct pfs_ro_preview p;
    struct pfs_ro_cover cover = {0};
    struct pf_feetable *ft = malloc(sizeof(*ft));
    int rc = ft ? pfs_store_rollout_get(ro->store, id, &r) : PF_ENOMEM;

    memset(&p, 0, sizeof(p));
    if (!rc) {
        rc = api_ro__stored_preview(ro, &r, &b, ft, &cover, &p, &err);
        if (!rc)
            rc = pfs_store_rollout_approval_digest(ro->store, id, p.digest);
        pfs_rollout_rec_release(&r);
    }
    if (rc) /* it stays waiting, and no approval can match: abort it */
        pfs_log_error(ro->log, "api: rollout %" PRId64 ": recording its plan digest: %s", id,
                      err.msg[0] ? err.msg : pf_strerror(rc));
    pfs_ro_preview_release(&p);
    free(ft);
}

static bool api_ro__filtered(const struct pfs_ro_def *d)
{
    for (int f = 0; f < PFS_RO_FILTER_COUNT; f++) {
        if (d->filters[f])
            return true;
    }
    return false;
}

/* dry_run and force_reason are the request's, not the definition's: taken out of body. */
static int api_ro__create_flags(json_t *body, bool *dry_run, char *force, struct pf_error *err)
{
    int rc;

    *dry_run = false;
    force[0] = 0;
    if ((rc = pf_json_bool(body, "dry_run", false, dry_run, err)) ||
        (rc = pfs_ro_json_text(body, "force_reason", false, PF_TEXT_REASON_MAX, force,
                               PFS_RO_REASON_MAX + 1, err)))
        return rc;
    json_object_del(body, "dry_run");
    json_object_del(body, "force_reason");
    return 0;
}

/* The organisation an actor below headquarters makes its rollouts in (NULL: headquarters). */
static const char *api_ro__org(const struct pfs_actor *a)
{
    return a->org_path && strcmp(a->org_path, PFS_HQ_ORG_PATH) != 0 ? a->org_path : NULL;
}

static void api_ro__create(struct pfs_rollouts *ro, const struct pfs_http_req *req,
                           struct pfs_http_resp *resp, struct pfs_actor actor)
{
    struct pf_error err = {0};
    struct pfs_ro_def d;
    struct pfs_bundle_rec b;
    struct pfs_ro_plan_stats stats;
    struct pfs_ro_preview pv;
    struct pfs_ro_cover cover = {0};
    struct pf_feetable *ft = NULL;
    int64_t now = pf_clock_wall_ms(ro->clock), id = 0;
    json_t *body = NULL, *dj = NULL;
    char *def_json = NULL, force[PFS_RO_REASON_MAX + 1], mismatch[400] = "";
    bool dry_run = false, start_given = false;
    int rc;

    memset(&pv, 0, sizeof(pv));
    rc = pf_json_parse_object(req->body, req->body_len, req->body_len + 1, &body, &err);
    if (!rc && (rc = api_ro__create_flags(body, &dry_run, force, &err)))
        json_decref(body);
    else if (!rc)
        start_given = json_object_get(body, "start_at") != NULL;
    if (rc) {
        pfs_api_error(resp, rc, "body: %s", err.msg);
        return;
    }
    rc = pfs_ro_def_parse(body, now, &d, &err);
    json_decref(body);
    if (rc) {
        pfs_api_error(resp, rc, "%s", err.msg);
        return;
    }
    rc = pfs_store_bundle_get(ro->store, d.bundle, &b);
    if (rc) {
        pfs_api_error(resp, rc, rc == PF_ENOENT ? "bundle %s is not stored" : "reading bundle %s",
                      d.bundle);
        goto out;
    }
    if (b.expires_s && b.expires_s * 1000 <= now) {
        pfs_api_error(resp, PF_EINVAL, "bundle %s expired (its manifest says so): upload a new one",
                      d.bundle);
        goto out;
    }
    dj = pfs_ro_def_to_json(&d);
    def_json = dj ? json_dumps(dj, JSON_COMPACT) : NULL;
    if (!def_json) {
        pfs_api_error(resp, PF_ENOMEM, "out of memory");
        goto out;
    }
    /* Coverage: a fee table against the merchants' categories, firmware against the
     * terminals the filters select. An unfiltered firmware cohort is its targets. */
    if (dry_run || b.kind == PF_KIND_FEETABLE || api_ro__filtered(&d)) {
        if (!(ft = malloc(sizeof(*ft)))) {
            pfs_api_error(resp, PF_ENOMEM, "out of memory");
            goto out;
        }
        /* the digest names the definition as given: "now" is no part of it */
        struct pfs_ro_def dd = d;
        json_t *ddj;
        char *dd_json;

        if (!start_given)
            dd.start_ms = 0;
        ddj = pfs_ro_def_to_json(&dd);
        dd_json = ddj ? json_dumps(ddj, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
        json_decref(ddj);
        if (!dd_json) {
            pfs_api_error(resp, PF_ENOMEM, "out of memory");
            goto out;
        }
        rc = pfs_store_rollout_next_id(ro->store, &id);
        if (!rc)
            rc = api_ro__preview(ro, &d, &b, dd_json, id, api_ro__org(&actor), force[0] != 0, ft,
                                 &cover, &pv, &err);
        free(dd_json);
        if (rc) {
            pfs_api_error(resp, rc, "%s", rc == PF_EIO ? pf_strerror(rc) : err.msg);
            goto out;
        }
        pfs_ro_preview_mismatch(&pv, mismatch, sizeof(mismatch));
    }
    if (dry_run) {
        json_t *o = api_ro__preview_json(&pv, &d, &b, id, ro->cfg->rollout_default_tz);

        if (o && mismatch[0])
            json_object_set_new(o, "refused", json_string(mismatch));
        if (o)
            pfs_api_json(resp, 200, o);
        else
            pfs_api_error(resp, PF_ENOMEM, "out of memory");
        goto out;
    }
    d.awaiting_approval = (ro->cfg->rollout_approval & (1u << b.kind)) != 0;
    if (mismatch[0] && !force[0]) {
        pfs_api_error(resp, PF_EINVAL,
                      "%s; see the preview (dry_run) or force it with a reason (force_reason)",
                      mismatch);
        goto out;
    }
    rc = pfs_store_rollout_create(ro->store, &d, &b, def_json, &actor, now, &id, &stats, &err);
    if (rc) {
        pfs_api_error(resp, rc, "%s", err.msg);
        goto out;
    }
    if (mismatch[0]) {
        json_t *a =
                json_pack("{s:s, s:s, s:s}", "reason", force, "mismatch", mismatch, "bundle", b.id);
        char *text = a ? json_dumps(a, JSON_COMPACT) : NULL;

        if (!text || pfs_store_rollout_audit(ro->store, id, &actor, now, "force", text) != 0)
            pfs_log_error(ro->log,
                          "api: rollout %" PRId64 ": the forced creation's audit row"
                          " was not written",
                          id);
        free(text);
        json_decref(a);
        pfs_log_warn(ro->log, "api: %s (%s) forced rollout %" PRId64 ": %s", actor.name, actor.role,
                     id, mismatch);
    }
    if (d.awaiting_approval)
        api_ro__record_digest(ro, id);
    pfs_log_info(ro->log,
                 "api: %s (%s) created rollout %" PRId64 " of %s %s: %" PRId64
                 " terminals in %zu stages (planned in %.0f ms)",
                 actor.name, actor.role, id, pf_bundle_kind_names[b.kind], b.version, stats.cohort,
                 d.nstages, stats.select_ms + stats.order_ms + stats.insert_ms);
    {
        json_t *o = api_ro__load(ro, resp, id);

        if (o) { /* with what planning cost, for ops and the benchmark */
            json_object_set_new(o, "plan",
                                json_pack("{s:I, s:f, s:f, s:f}", "cohort",
                                          (json_int_t)stats.cohort, "select_ms", stats.select_ms,
                                          "order_ms", stats.order_ms, "insert_ms",
                                          stats.insert_ms));
            if (mismatch[0])
                json_object_set_new(o, "forced",
                                    json_pack("{s:s, s:s}", "reason", force, "mismatch", mismatch));
            pfs_api_json(resp, 201, o);
        }
    }
out:
    pfs_ro_preview_release(&pv);
    free(ft);
    json_decref(dj);
    free(def_json);
    pfs_ro_def_release(&d);
}

static int api_ro__list_cb(void *ctx, const struct pfs_rollout_rec *r)
{
    void **a = ctx;
    json_t *o = api_ro__json(a[0], r, false);

    return o && json_array_append_new(a[1], o) == 0 ? 0 : PF_ENOMEM;
}

static void api_ro__list(struct pfs_rollouts *ro, const struct pfs_scope *scope,
                         struct pfs_http_resp *resp)
{
    json_t *arr = json_array();
    void *ctx[2] = {ro, arr};
    int rc;

    if (scope && scope->merchant[0]) { /* a merchant user makes no rollouts */
        pfs_api_json(resp, 200, json_pack("{s:o}", "rollouts", arr));
        return;
    }
    rc = arr ? pfs_store_rollout_list_in(ro->store, scope ? scope->path : NULL, false,
                                         API_RO_LIST_MAX, api_ro__list_cb, ctx)
             : PF_ENOMEM;

    if (rc) {
        json_decref(arr);
        pfs_api_error(resp, rc, "listing rollouts: %s", pf_strerror(rc));
        return;
    }
    pfs_api_json(resp, 200, json_pack("{s:o}", "rollouts", arr));
}

static int api_ro__member_cb(void *ctx, const struct pfs_ro_member_rec *m)
{
    json_t *o = json_pack("{s:s, s:i, s:s, s:s?, s:I, s:I, s:i, s:s?, s:s?}", "serial", m->serial,
                          "stage", m->stage, "status", pfs_ro_member_names[m->status], "offer",
                          m->offer[0] ? m->offer : NULL, "offered_ms", (json_int_t)m->offered_ms,
                          "since_ms", (json_int_t)m->since_ms, "attempts", m->attempts,
                          "prev_bundle", m->prev_bundle[0] ? m->prev_bundle : NULL, "code",
                          m->code[0] ? m->code : NULL);

    return o && json_array_append_new(ctx, o) == 0 ? 0 : PF_ENOMEM;
}

static void api_ro__members(struct pfs_rollouts *ro, const struct pfs_http_req *req,
                            struct pfs_http_resp *resp, int64_t id)
{
    const char *status = pfs_http_query(req, "status");
    const char *stage = pfs_http_query(req, "stage");
    const char *limit = pfs_http_query(req, "limit");
    const char *after = pfs_http_query(req, "after");
    long st = -1;
    int64_t lim = 100, sg = -1;
    struct pfs_rollout_rec r;
    bool more = false;
    json_t *arr, *last;
    int rc;

    if (status && *status) {
        for (st = 0; pfs_ro_member_names[st]; st++) {
            if (strcmp(status, pfs_ro_member_names[st]) == 0)
                break;
        }
        if (!pfs_ro_member_names[st]) {
            pfs_api_error(resp, PF_EINVAL, "status: not a member status (pending, offered, ...)");
            return;
        }
    }
    if (stage && pf_parse_i64(stage, 1, PFS_RO_STAGES_MAX, &sg) != 0) {
        pfs_api_error(resp, PF_EINVAL, "stage: 1..%d", PFS_RO_STAGES_MAX);
        return;
    }
    if (limit && pf_parse_i64(limit, 1, API_RO_MEMBERS_MAX, &lim) != 0) {
        pfs_api_error(resp, PF_EINVAL, "limit: 1..%d", API_RO_MEMBERS_MAX);
        return;
    }
    rc = pfs_store_rollout_get(ro->store, id, &r);
    if (rc) {
        pfs_api_error(resp, rc, "no rollout %" PRId64, id);
        return;
    }
    pfs_rollout_rec_release(&r);
    arr = json_array();
    rc = arr ? pfs_store_rollout_members(ro->store, id, (int)st, sg > 0 ? (int)sg - 1 : -1, after,
                                         (int)lim, api_ro__member_cb, arr, &more)
             : PF_ENOMEM;
    if (rc) {
        json_decref(arr);
        pfs_api_error(resp, rc, "reading members: %s", pf_strerror(rc));
        return;
    }
    last = json_array_size(arr) ? json_array_get(arr, json_array_size(arr) - 1) : NULL;
    pfs_api_json(
            resp, 200,
            json_pack("{s:o, s:o}", "members", arr, "next",
                      more && last ? json_incref(json_object_get(last, "serial")) : json_null()));
}

#define M(s) (1u << (s))

static void api_ro__action(struct pfs_rollouts *ro, const struct pfs_http_req *req,
                           struct pfs_http_resp *resp, struct pfs_actor actor, int64_t id,
                           const char *action)
{
    struct pfs_ro_change c = {0};
    struct pf_error err = {0};
    struct pfs_rollout_rec r;
    char reason[PFS_RO_REASON_MAX + 1] = "", bundle[PF_B2_HEX_LEN + 1] = "";
    json_t *body = NULL;
    int rc;

    if (req->body_len) {
        rc = pf_json_parse_object(req->body, req->body_len, req->body_len + 1, &body, &err);
        if (!rc)
            rc = pfs_ro_json_text(body, "reason", false, PF_TEXT_REASON_MAX, reason, sizeof(reason),
                                  &err);
        if (!rc)
            rc = pf_json_str(body, "bundle", false, PF_B2_HEX_LEN, PF_B2_HEX_LEN, bundle, &err);
        json_decref(body);
        if (rc) {
            pfs_api_error(resp, rc, "body: %s", err.msg);
            return;
        }
    }
    rc = pfs_store_rollout_get(ro->store, id, &r);
    if (rc) {
        pfs_api_error(resp, rc, "no rollout %" PRId64, id);
        return;
    }
    c.stage = -1;
    c.action = action;
    if (strcmp(action, "pause") == 0) {
        c.from_mask = M(PFS_RO_SCHEDULED) | M(PFS_RO_RUNNING) | M(PFS_RO_GATED);
        c.to = PFS_RO_PAUSED;
        c.reason = "ops";
        c.detail = reason[0] ? reason : "paused by ops";
    } else if (strcmp(action, "resume") == 0) {
        if (pfs_ro_awaits_approval(r.state, r.pause_reason)) {
            pfs_api_error(resp, PF_ESTATE,
                          "rollout %" PRId64 " waits for an approver (posfleet rollout approve)",
                          id);
            goto out;
        }
        c.from_mask = M(PFS_RO_PAUSED);
        /* paused before its start: it waits for start_at again */
        c.to = r.start_ms > pf_clock_wall_ms(ro->clock) ? PFS_RO_SCHEDULED : PFS_RO_RUNNING;
    } else if (strcmp(action, "continue") == 0) {
        c.from_mask = M(PFS_RO_GATED);
        c.to = PFS_RO_RUNNING;
        c.stage = r.stage + 1;
    } else if (strcmp(action, "abort") == 0) {
        c.from_mask = M(PFS_RO_SCHEDULED) | M(PFS_RO_RUNNING) | M(PFS_RO_PAUSED) | M(PFS_RO_GATED);
        c.to = PFS_RO_ABORTED;
        c.reason = "ops";
        c.detail = reason[0] ? reason : "aborted by ops";
    } else if (strcmp(action, "rollback") == 0) {
        struct pfs_bundle_rec b;

        c.from_mask = M(PFS_RO_RUNNING) | M(PFS_RO_PAUSED) | M(PFS_RO_GATED) | M(PFS_RO_COMPLETED) |
                      M(PFS_RO_ABORTED);
        c.to = PFS_RO_ROLLING_BACK;
        c.reason = reason[0] ? reason : NULL;
        if (bundle[0]) {
            rc = pfs_store_bundle_get(ro->store, bundle, &b);
            if (rc || b.kind != r.kind) {
                pfs_api_error(resp, rc ? rc : PF_EINVAL,
                              rc ? "bundle %s is not stored" : "bundle %s is not a %s bundle",
                              bundle, pf_bundle_kind_names[r.kind]);
                goto out;
            }
            c.override_bundle = bundle;
        } else if (r.kind == PF_KIND_FIRMWARE) {
            pfs_api_error(resp, PF_ESTATE,
                          "terminals refuse firmware older than what they run (anti-rollback):"
                          " sign the previous release again with a higher version, upload it"
                          " and pass it as \"bundle\" (posfleet rollout rollback %" PRId64
                          " --bundle ID)",
                          id);
            goto out;
        }
    } else {
        pfs_api_error(resp, PF_ENOENT, "no such endpoint: POST /v1/rollouts/%" PRId64 "/%.32s", id,
                      action);
        goto out;
    }
    if (c.stage >= 0 && (size_t)c.stage >= r.def.nstages) {
        pfs_api_error(resp, PF_ESTATE, "rollout %" PRId64 " has no stage after %d", id,
                      r.stage + 1);
        goto out;
    }
    rc = pfs_store_rollout_change(ro->store, id, &c, &actor, pf_clock_wall_ms(ro->clock), &err);
    if (rc) {
        pfs_api_error(resp, rc, "%s", err.msg);
        goto out;
    }
    pfs_log_info(ro->log, "api: %s (%s) %s rollout %" PRId64, actor.name, actor.role, action, id);
    api_ro__one(ro, resp, id, 200);
out:
    pfs_rollout_rec_release(&r);
}

/* POST /v1/rollouts/{id}/members/{serial} {"action": "retry"|"skip"|"cancel",
 * "reason": TEXT}: one member moved by hand, audited with the reason. */
static void api_ro__member_act(struct pfs_rollouts *ro, const struct pfs_http_req *req,
                               struct pfs_http_resp *resp, struct pfs_actor actor, int64_t id,
                               const char *serial)
{
    struct pf_error err = {0};
    char action[16] = "", reason[PFS_RO_REASON_MAX + 1] = "";
    enum pfs_ro_member from, to;
    struct pfs_rollout_rec r;
    json_t *body = NULL;
    int rc, ev;

    rc = pf_json_parse_object(req->body, req->body_len, req->body_len + 1, &body, &err);
    if (!rc)
        rc = pf_json_str(body, "action", true, 1, sizeof(action) - 1, action, &err);
    if (!rc)
        rc = pfs_ro_json_text(body, "reason", true, PF_TEXT_REASON_MAX, reason, sizeof(reason),
                              &err);
    json_decref(body);
    if (rc) {
        pfs_api_error(resp, rc, "body: %s", err.msg);
        return;
    }
    ev = pfs_ro_member_action_parse(action);
    if (ev < 0) {
        pfs_api_error(resp, PF_EINVAL, "action: retry, skip or cancel");
        return;
    }
    rc = pfs_store_rollout_get(ro->store, id, &r);
    if (rc) {
        pfs_api_error(resp, rc, "no rollout %" PRId64, id);
        return;
    }
    if (!pfs_ro_state_plans(r.state)) {
        pfs_api_error(resp, PF_ESTATE, "rollout %" PRId64 " is %s: its members no longer move", id,
                      pfs_ro_state_names[r.state]);
        goto out;
    }
    rc = pfs_store_rollout_member_act(ro->store, id, serial, (enum pfs_ro_event)ev, action, reason,
                                      &actor, pf_clock_wall_ms(ro->clock), &from, &to, &err);
    if (rc) {
        pfs_api_error(resp, rc, "%s", err.msg);
        goto out;
    }
    pfs_log_info(ro->log, "api: %s (%s) %s member %s of rollout %" PRId64 ": %s -> %s", actor.name,
                 actor.role, action, serial, id, pfs_ro_member_names[from],
                 pfs_ro_member_names[to]);
    {
        struct pfs_ro_member_rec m;
        json_t *arr = json_array();

        if (arr && pfs_store_rollout_member(ro->store, id, serial, &m) == 0 &&
            api_ro__member_cb(arr, &m) == 0 && json_array_size(arr) == 1)
            pfs_api_json(resp, 200, json_incref(json_array_get(arr, 0)));
        else
            pfs_api_error(resp, PF_EIO, "reading member %s", serial);
        json_decref(arr);
    }
out:
    pfs_rollout_rec_release(&r);
}

/* --- four eyes: the preview of a stored rollout and its approval --- */

static void api_ro__preview_get(struct pfs_rollouts *ro, struct pfs_http_resp *resp, int64_t id)
{
    struct pf_error err = {0};
    struct pfs_rollout_rec r;
    struct pfs_bundle_rec b;
    struct pfs_ro_preview p;
    struct pfs_ro_cover cover = {0};
    struct pf_feetable *ft = malloc(sizeof(*ft));
    int rc = ft ? pfs_store_rollout_get(ro->store, id, &r) : PF_ENOMEM;
    json_t *o;

    memset(&p, 0, sizeof(p));
    if (rc) {
        free(ft);
        pfs_api_error(resp, rc, "no rollout %" PRId64, id);
        return;
    }
    rc = api_ro__stored_preview(ro, &r, &b, ft, &cover, &p, &err);
    if (rc) {
        pfs_api_error(resp, rc, "%s", err.msg);
    } else if (!(o = api_ro__preview_json(&p, &r.def, &b, id, ro->cfg->rollout_default_tz))) {
        pfs_api_error(resp, PF_ENOMEM, "out of memory");
    } else {
        json_object_set_new(o, "dry_run", json_false());
        json_object_set_new(o, "state", json_string(api_ro__state(&r)));
        if (pfs_ro_awaits_approval(r.state, r.pause_reason))
            json_object_set_new(o, "recorded_digest",
                                json_string(pfs_ro_approval_recorded(r.pause_detail)));
        pfs_api_json(resp, 200, o);
    }
    pfs_ro_preview_release(&p);
    pfs_rollout_rec_release(&r);
    free(ft);
}

static void api_ro__approve(struct pfs_rollouts *ro, const struct pfs_http_req *req,
                            struct pfs_http_resp *resp, struct pfs_actor actor, int64_t id)
{
    struct pf_error err = {0};
    struct pfs_rollout_rec r;
    struct pfs_bundle_rec b;
    struct pfs_ro_preview p;
    struct pfs_ro_cover cover = {0};
    struct pfs_ro_change c = {0};
    struct pf_feetable *ft = NULL;
    char digest[PF_B2_HEX_LEN + 1] = "", plan[PF_B2_HEX_LEN + 8];
    json_t *body = NULL;
    int64_t now = pf_clock_wall_ms(ro->clock);
    int rc;

    memset(&p, 0, sizeof(p));
    rc = pf_json_parse_object(req->body, req->body_len, req->body_len + 1, &body, &err);
    if (!rc)
        rc = pf_json_str(body, "digest", true, PF_B2_HEX_LEN, PF_B2_HEX_LEN, digest, &err);
    json_decref(body);
    if (rc) {
        pfs_api_error(resp, rc, "body: %s", err.msg);
        return;
    }
    if ((rc = pfs_store_rollout_get(ro->store, id, &r))) {
        pfs_api_error(resp, rc, "no rollout %" PRId64, id);
        return;
    }
    if (!(ft = malloc(sizeof(*ft)))) {
        pfs_api_error(resp, PF_ENOMEM, "out of memory");
        goto out;
    }
    rc = api_ro__stored_preview(ro, &r, &b, ft, &cover, &p, &err);
    if (!rc) {
        struct pfs_ro_approval a = {pfs_ro_awaits_approval(r.state, r.pause_reason), r.actor,
                                    pfs_ro_approval_recorded(r.pause_detail), p.digest};

        rc = pfs_ro_approval_check(&a, actor.name, digest, &err);
    }
    if (rc) {
        pfs_api_error(resp, rc, "rollout %" PRId64 ": %s", id, err.msg);
        goto out;
    }
    c.from_mask = M(PFS_RO_PAUSED);
    c.to = r.start_ms > now ? PFS_RO_SCHEDULED : PFS_RO_RUNNING;
    c.stage = c.to == PFS_RO_RUNNING ? 0 : -1;
    c.action = "approve";
    snprintf(plan, sizeof(plan), "plan %s", digest);
    c.reason = plan; /* the audit row names what was approved */
    rc = pfs_store_rollout_change(ro->store, id, &c, &actor, now, &err);
    if (rc) {
        pfs_api_error(resp, rc, "%s", err.msg);
        goto out;
    }
    pfs_log_info(ro->log, "api: %s (%s) approved rollout %" PRId64 " created by %s (plan %.12s)",
                 actor.name, actor.role, id, r.actor, digest);
    api_ro__one(ro, resp, id, 200);
out:
    pfs_ro_preview_release(&p);
    pfs_rollout_rec_release(&r);
    free(ft);
}

/* Without the rollouts module there are no rollout endpoints. */
static struct pfs_rollouts *api_ro__of(struct pfs_api *api, const struct pfs_api_call *call,
                                       struct pfs_http_resp *resp)
{
    if (!api->rollouts)
        pfs_api_error(resp, PF_ENOENT, "no such endpoint: %s %.64s", call->req->method,
                      call->req->path);
    return api->rollouts;
}

void pfs_api_rollout_create(struct pfs_api *api, const struct pfs_api_call *call,
                            struct pfs_http_resp *resp)
{
    struct pfs_rollouts *ro = api_ro__of(api, call, resp);

    if (ro)
        api_ro__create(ro, call->req, resp, pfs_api_actor(call));
}

void pfs_api_rollouts_list(struct pfs_api *api, const struct pfs_api_call *call,
                           struct pfs_http_resp *resp)
{
    struct pfs_rollouts *ro = api_ro__of(api, call, resp);

    if (ro)
        api_ro__list(ro, pfs_api_scope(call), resp);
}

void pfs_api_rollout_get(struct pfs_api *api, const struct pfs_api_call *call,
                         struct pfs_http_resp *resp)
{
    struct pfs_rollouts *ro = api_ro__of(api, call, resp);

    if (ro) {
        api_ro__one(ro, resp, call->params.id, 200); /* api.c adds the ETag */
    }
}

void pfs_api_rollout_members(struct pfs_api *api, const struct pfs_api_call *call,
                             struct pfs_http_resp *resp)
{
    struct pfs_rollouts *ro = api_ro__of(api, call, resp);

    if (ro)
        api_ro__members(ro, call->req, resp, call->params.id);
}

void pfs_api_rollout_action(struct pfs_api *api, const struct pfs_api_call *call,
                            struct pfs_http_resp *resp)
{
    static const char *const names[] = {"pause", "resume", "continue", "abort", "rollback"};
    struct pfs_rollouts *ro = api_ro__of(api, call, resp);
    int act = call->route->arg;

    if (ro && act >= 0 && act < (int)(sizeof(names) / sizeof(names[0])))
        api_ro__action(ro, call->req, resp, pfs_api_actor(call), call->params.id, names[act]);
    else if (ro)
        pfs_api_error(resp, PF_ENOENT, "no such endpoint: POST %.64s", call->req->path);
}

void pfs_api_rollout_member_action(struct pfs_api *api, const struct pfs_api_call *call,
                                   struct pfs_http_resp *resp)
{
    struct pfs_rollouts *ro = api_ro__of(api, call, resp);

    if (ro)
        api_ro__member_act(ro, call->req, resp, pfs_api_actor(call), call->params.id,
                           call->params.serial);
}

void pfs_api_rollout_preview(struct pfs_api *api, const struct pfs_api_call *call,
                             struct pfs_http_resp *resp)
{
    struct pfs_rollouts *ro = api_ro__of(api, call, resp);

    if (ro)
        api_ro__preview_get(ro, resp, call->params.id);
}

void pfs_api_rollout_approve(struct pfs_api *api, const struct pfs_api_call *call,
                             struct pfs_http_resp *resp)
{
    struct pfs_rollouts *ro = api_ro__of(api, call, resp);

    if (ro)
        api_ro__approve(ro, call->req, resp, pfs_api_actor(call), call->params.id);
}
