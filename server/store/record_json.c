/*
 * record_json.c - the JSON text store backends write (record_json.h), with
 * jansson. Lifecycle records go through lifecycle/views.c so an audit row
 * holds exactly what the API shows; the dump flags are the ones each row has
 * always been written with (views in build order, merchants and registry
 * entries with sorted keys).
 */
#include "store/record_json.h"

#include <jansson.h>

#include "lifecycle/views.h"

/* Dumps o (stolen) as compact JSON text; NULL if o is NULL. */
static char *rec__dump(json_t *o, size_t flags)
{
    char *text = o ? json_dumps(o, JSON_COMPACT | flags) : NULL;

    json_decref(o);
    return text;
}

/* The value of a JSON text; NULL (which fails the enclosing json_pack) if
 * text is NULL or malformed. */
static json_t *rec__load(const char *text)
{
    return text ? json_loads(text, 0, NULL) : NULL;
}

char *pfs_rec_term_text(const struct pfs_term_view *v)
{
    return rec__dump(pfs_term_view_json(v), 0);
}

char *pfs_rec_repair_text(const struct pfs_repair_view *v)
{
    return rec__dump(pfs_repair_view_json(v), 0);
}

char *pfs_rec_snapshot_text(const struct pfs_repair_snapshot *s)
{
    return rec__dump(pfs_repair_snapshot_json(s), 0);
}

char *pfs_rec_merchant_text(const struct pfs_merchant *m)
{
    return rec__dump(pfs_merchant_to_json(m), JSON_SORT_KEYS);
}

char *pfs_rec_device_text(const struct pfs_device *d)
{
    return rec__dump(json_pack("{s:s, s:s, s:s?, s:s?, s:s}", "serial", d->serial, "model",
                               d->model, "hw_rev", *d->hw_rev ? d->hw_rev : NULL, "merchant_id",
                               *d->merchant_id ? d->merchant_id : NULL, "status",
                               pfs_dev_status_names[d->status]),
                     JSON_SORT_KEYS);
}

char *pfs_rec_diag_request_text(const struct pfs_diag_rec *r)
{
    json_t *o = json_pack("{s:s, s:s, s:I}", "id", r->id, "command", r->command, "deadline_ms",
                          (json_int_t)r->deadline_ms);

    if (o && r->args)
        json_object_set_new(o, "args", json_loads(r->args, 0, NULL));
    return rec__dump(o, JSON_SORT_KEYS);
}

char *pfs_rec_bundle_text(const struct pfs_bundle_rec *b)
{
    return rec__dump(json_pack("{s:s, s:s, s:s, s:I}", "kind", pf_bundle_kind_names[b->kind],
                               "version", b->version, "models", b->models, "size",
                               (json_int_t)b->size),
                     JSON_SORT_KEYS);
}

char *pfs_rec_offer_text(const struct pfs_offer_rec *o, const struct pfs_bundle_rec *b)
{
    return rec__dump(json_pack("{s:s, s:s, s:s, s:s, s:I}", "offer", o->id, "bundle", o->bundle,
                               "kind", pf_bundle_kind_names[b->kind], "version", b->version,
                               "deadline_ms", (json_int_t)o->deadline_ms),
                     JSON_SORT_KEYS);
}

char *pfs_rec_swap_before_text(const char *old_term, const char *new_term)
{
    return rec__dump(
            json_pack("{s:o, s:o}", "old", rec__load(old_term), "new", rec__load(new_term)), 0);
}

char *pfs_rec_swap_after_text(const char *old_term, const char *new_term, const char *repair,
                              const char *reason)
{
    return rec__dump(json_pack("{s:o, s:o, s:o, s:s}", "old", rec__load(old_term), "new",
                               rec__load(new_term), "repair", rec__load(repair), "reason", reason),
                     0);
}

char *pfs_rec_swap_provision_text(const char *old_serial, const char *fee_plan, int64_t now_ms)
{
    return rec__dump(json_pack("{s:s, s:o, s:s, s:I}", "from", old_serial, "fee_plan",
                               fee_plan ? json_loads(fee_plan, 0, NULL) : json_array(), "reason",
                               "swap", "since_ms", (json_int_t)now_ms),
                     0);
}

char *pfs_rec_rollout_create_text(int64_t id, const char *name, const char *bundle,
                                  const char *kind, const char *version, int64_t members,
                                  const size_t *targets, size_t ntargets)
{
    json_t *tj = json_array();

    for (size_t k = 0; tj && k < ntargets; k++)
        json_array_append_new(tj, json_integer((json_int_t)targets[k]));
    return rec__dump(json_pack("{s:I, s:s, s:s, s:s, s:s, s:I, s:o}", "id", (json_int_t)id, "name",
                               name, "bundle", bundle, "kind", kind, "version", version, "members",
                               (json_int_t)members, "targets", tj),
                     JSON_SORT_KEYS);
}

char *pfs_rec_counts_text(const struct pfs_rec_count *c, size_t n, const char *const *zero,
                          size_t nzero)
{
    json_t *o = json_object();

    for (size_t i = 0; o && i < n; i++)
        json_object_set_new(o, c[i].status, json_integer((json_int_t)c[i].n));
    for (size_t k = 0; o && k < nzero; k++) {
        if (!json_object_get(o, zero[k]))
            json_object_set_new(o, zero[k], json_integer(0));
    }
    return rec__dump(o, JSON_SORT_KEYS);
}

char *pfs_rec_rollout_change_text(const char *from, const char *to, const char *reason,
                                  const char *detail, const char *bundle, const char *counts)
{
    json_t *o = json_pack("{s:s, s:s, s:s*, s:s*, s:s*}", "from", from, "to", to, "reason", reason,
                          "detail", detail, "bundle", bundle);
    json_t *cj = o && counts ? rec__load(counts) : NULL;

    if (cj)
        json_object_set_new(o, "counts", cj);
    return rec__dump(o, JSON_SORT_KEYS);
}

char *pfs_rec_member_before_text(const char *status)
{
    return rec__dump(json_pack("{s:s}", "status", status), JSON_SORT_KEYS);
}

char *pfs_rec_member_after_text(const char *status, const char *reason)
{
    return rec__dump(json_pack("{s:s, s:s}", "status", status, "reason", reason), JSON_SORT_KEYS);
}
