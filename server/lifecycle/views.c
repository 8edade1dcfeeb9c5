/*
 * views.c - the JSON of lifecycle records (views.h), built with jansson for
 * the API's answers and the audit log's before/after alike. Members keep the
 * order they are set in: that order is what both have always printed.
 */
#include "lifecycle/views.h"

#include <string.h>

/* NULL propagates: json_pack fails on a NULL "o" and the whole view with it. */
static json_t *views__text(const char *s)
{
    return s ? json_string(s) : json_null();
}

static json_t *views__int(int64_t v)
{
    return v == PFS_VIEW_NULL ? json_null() : json_integer((json_int_t)v);
}

static json_t *views__json(const char *text)
{
    return text ? json_loads(text, JSON_DECODE_ANY, NULL) : json_null();
}

json_t *pfs_term_view_json(const struct pfs_term_view *v)
{
    json_t *lock = json_null();

    if (v->lock_cmd) {
        json_decref(lock);
        lock = json_pack("{s:s, s:s, s:b, s:o}", "command", v->lock_cmd, "action",
                         v->lock_want ? "lock" : "unlock", "acknowledged", v->lock_acked, "reason",
                         views__text(v->lock_reason));
    }
    return json_pack("{s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:b, s:o, s:o, s:o, s:o}",
                     "serial", v->serial, "model", v->model, "registry", v->registry, "state",
                     pfs_term_state_names[v->state], "merchant_id", views__text(v->merchant_id),
                     "fee_plan", views__json(v->fee_plan), "tz", views__text(v->tz), "tags",
                     views__json(v->tags), "bound_ms", views__int(v->bound_ms), "locked",
                     v->lock_want, "lock", lock, "provision", views__json(v->provision),
                     "repair_id", views__int(v->repair_id), "updated_ms",
                     views__int(v->updated_ms));
}

json_t *pfs_repair_view_json(const struct pfs_repair_view *v)
{
    return json_pack(
            "{s:I, s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:s, s:o, s:I, s:o, s:o, s:o, "
            "s:o, s:I}",
            "id", (json_int_t)v->id, "serial", v->serial, "state", v->state, "source", v->source,
            "reason", v->reason, "merchant_id", views__text(v->merchant_id), "replaced_by",
            views__text(v->replaced_by), "fault_codes", views__json(v->fault_codes), "parts",
            views__json(v->parts), "notes", v->notes, "snapshot", views__json(v->snapshot),
            "opened_ms", (json_int_t)v->opened_ms, "received_ms", views__int(v->received_ms),
            "diagnosed_ms", views__int(v->diagnosed_ms), "repaired_ms", views__int(v->repaired_ms),
            "closed_ms", views__int(v->closed_ms), "updated_ms", (json_int_t)v->updated_ms);
}

/* The newest report as a snapshot keeps it: what support looks at first. */
static json_t *views__health(const struct pf_health *h, int64_t recv_ms)
{
    char selftest[PF_COMP_COUNT + 1];
    int paper = (int)h->paper;

    for (int i = 0; i < PF_COMP_COUNT; i++)
        selftest[i] = (char)('0' + (int)h->selftest[i]);
    selftest[PF_COMP_COUNT] = '\0';
    return json_pack("{s:I, s:I, s:I, s:i, s:i, s:i, s:i, s:s, s:s, s:s, s:b, s:s, s:I, s:I, "
                     "s:I}",
                     "seq", (json_int_t)h->seq, "ts_ms", (json_int_t)h->ts_ms, "recv_ms",
                     (json_int_t)recv_ms, "battery_pct", h->battery_pct, "charging",
                     h->charging ? 1 : 0, "signal_dbm", h->signal_dbm, "temp_c", h->temp_c,
                     "fw_version", h->fw_version, "fee_version", h->fee_version, "paper",
                     paper >= PF_PAPER_OK && paper < PF_PAPER_NONE ? pf_paper_names[paper]
                                                                   : pf_paper_names[PF_PAPER_NONE],
                     "tamper", h->tamper, "selftest", selftest, "err_reader",
                     (json_int_t)h->err_reader, "err_printer", (json_int_t)h->err_printer,
                     "uptime_s", (json_int_t)h->uptime_s);
}

json_t *pfs_repair_snapshot_json(const struct pfs_repair_snapshot *s)
{
    json_t *alerts = json_array(), *diags = json_array();

    for (size_t i = 0; alerts && i < s->nalerts; i++) {
        const struct pfs_alert *a = &s->alerts[i];

        if (json_array_append_new(alerts,
                                  json_pack("{s:s, s:I, s:s}", "kind", a->kind, "opened_ms",
                                            (json_int_t)a->opened_ms, "detail", a->detail))) {
            json_decref(alerts);
            alerts = NULL;
        }
    }
    for (size_t i = 0; diags && i < s->ndiags; i++) {
        const struct pfs_diag_rec *d = &s->diags[i];

        if (json_array_append_new(diags, json_pack("{s:s, s:s, s:s, s:o, s:I, s:o}", "id", d->id,
                                                   "command", d->command, "status", d->status,
                                                   "code", views__text(d->code[0] ? d->code : NULL),
                                                   "answered_ms", (json_int_t)d->answered_ms,
                                                   "result", views__json(d->result)))) {
            json_decref(diags);
            diags = NULL;
        }
    }
    return json_pack("{s:I, s:o, s:o, s:o}", "taken_ms", (json_int_t)s->taken_ms, "health",
                     s->health ? views__health(s->health, s->health_recv_ms) : json_null(),
                     "alerts", alerts, "diagnostics", diags);
}

json_t *pfs_term_event_json(const struct pfs_term_event_view *e)
{
    return json_pack("{s:I, s:I, s:s, s:o, s:o, s:o, s:o, s:o, s:s, s:s}", "id", (json_int_t)e->id,
                     "ts_ms", (json_int_t)e->ts_ms, "kind", e->kind, "from", views__text(e->from),
                     "to", views__text(e->to), "merchant_id", views__text(e->merchant_id), "other",
                     views__text(e->other), "repair_id", views__int(e->repair_id), "actor",
                     e->actor, "detail", e->detail);
}

json_t *pfs_update_line_json(const struct pfs_update_view *u)
{
    return json_pack("{s:I, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "ts_ms", (json_int_t)u->ts_ms,
                     "offer", views__text(u->offer), "bundle", views__text(u->bundle), "kind",
                     views__text(u->kind), "version", views__text(u->version), "status",
                     views__text(u->status), "reason", views__text(u->reason), "code",
                     views__text(u->code), "message", views__text(u->message));
}

json_t *pfs_merchant_terminal_json(const struct pfs_merchant_term_view *t)
{
    return json_pack("{s:s, s:s, s:o, s:o, s:b}", "serial", t->serial, "model", t->model, "state",
                     views__text(t->state), "bound_ms", views__int(t->bound_ms), "locked",
                     t->locked);
}
