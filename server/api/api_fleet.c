/*
 * api_fleet.c - the terminals, fleet summary and metrics of the HTTP API:
 * registration, import, revocation and a terminal's JSON (the lists, alerts
 * and audit log are api_search.c's).
 */
#include "api/api_handlers.h"

#include <limits.h>
#include <jansson.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "fleet/alerts.h"
#include "lifecycle/lifectl.h"
#include "pf/num.h"
#include "pf/jsonv.h"
#include "store/store_accounts.h"
#include "store/store_lifecycle.h"
#include "store/store_online.h"
#include "updates/updates.h"

/* --- JSON of a terminal --- */

static json_t *api__str_or_null(const char *s)
{
    return s && *s ? json_string(s) : json_null();
}

static json_t *api__selftest(const enum pf_check *c)
{
    json_t *o = json_object();

    for (int i = 0; o && i < PF_COMP_COUNT; i++)
        json_object_set_new(o, pf_component_names[i], json_string(pf_check_names[c[i]]));
    return o;
}

static json_t *api__alert_kinds(const char *csv)
{
    json_t *a = json_array();
    const char *p = csv;

    while (a && p && *p) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);

        json_array_append_new(a, json_stringn(p, n));
        p = comma ? comma + 1 : NULL;
    }
    return a;
}

static json_t *api__device(const struct pfs_device *d, const struct pfs_dev_state *s,
                           const char *alerts_csv)
{
    const struct pf_health *h = &s->health;
    bool hh = s->seen && s->have_health;
    json_t *o = json_object();

    if (!o)
        return NULL;
    json_object_set_new(o, "serial", json_string(d->serial));
    json_object_set_new(o, "model", json_string(d->model));
    json_object_set_new(o, "hw_rev", api__str_or_null(d->hw_rev));
    json_object_set_new(o, "merchant_id", api__str_or_null(d->merchant_id));
    json_object_set_new(o, "status", json_string(pfs_dev_status_names[d->status]));
    json_object_set_new(o, "created_ms", json_integer(d->created_ms));
    json_object_set_new(o, "revoked_ms", d->revoked_ms ? json_integer(d->revoked_ms) : json_null());
    json_object_set_new(o, "online",
                        json_boolean(s->seen && s->online && d->status == PFS_DEV_REGISTERED));
    json_object_set_new(o, "last_seen_ms", s->seen ? json_integer(s->last_seen_ms) : json_null());
    json_object_set_new(o, "fw_version", s->seen ? api__str_or_null(s->fw_version) : json_null());
    json_object_set_new(o, "fw_slot",
                        s->seen && s->fw_version[0] ? json_string(pf_slot_names[s->fw_slot])
                                                    : json_null());
    json_object_set_new(o, "fee_version",
                        s->seen && s->fw_version[0] ? json_string(s->fee_version) : json_null());
    /* The table waiting for its effective time on the terminal, as it last said. */
    json_object_set_new(o, "fee_pending",
                        s->seen && s->fee_pending.version[0]
                                ? json_pack("{s:s, s:I}", "version", s->fee_pending.version,
                                            "effective_ms",
                                            (json_int_t)s->fee_pending.effective_at * 1000)
                                : json_null());
    json_object_set_new(o, "battery_pct", hh ? json_integer(h->battery_pct) : json_null());
    json_object_set_new(o, "charging", hh ? json_boolean(h->charging) : json_null());
    json_object_set_new(o, "signal_dbm", hh ? json_integer(h->signal_dbm) : json_null());
    json_object_set_new(o, "net_type",
                        hh ? json_string(pf_net_type_names[h->net_type]) : json_null());
    json_object_set_new(o, "temp_c", hh ? json_integer(h->temp_c) : json_null());
    json_object_set_new(o, "paper", hh ? json_string(pf_paper_names[h->paper]) : json_null());
    json_object_set_new(o, "tamper", hh ? json_boolean(h->tamper) : json_null());
    json_object_set_new(o, "alerts", api__alert_kinds(alerts_csv));
    return o;
}

json_t *pfs_api_device_json(const struct pfs_device *d, const struct pfs_dev_state *s,
                            const char *alerts_csv)
{
    return api__device(d, s, alerts_csv);
}

static json_t *api__health_row(const struct pfs_health_row *r)
{
    const struct pf_health *h = &r->h;

    return json_pack(
            "{s:I, s:I, s:I, s:o, s:b, s:i, s:b, s:s, s:i, s:i, s:I, s:I, s:I, s:s, s:s, s:s, s:s,"
            " s:b, s:o, s:{s:I, s:I, s:I, s:I}, s:{s:I, s:I, s:s}}",
            "seq", (json_int_t)h->seq, "ts_ms", (json_int_t)h->ts_ms, "recv_ms",
            (json_int_t)r->recv_ms, "stored_ms",
            r->stored_ms ? json_integer(r->stored_ms) : json_null(), "queued", h->queued,
            "battery_pct", h->battery_pct, "charging", h->charging, "net_type",
            pf_net_type_names[h->net_type], "signal_dbm", h->signal_dbm, "temp_c", h->temp_c,
            "storage_free_kb", (json_int_t)h->storage_free_kb, "mem_free_kb",
            (json_int_t)h->mem_free_kb, "uptime_s", (json_int_t)h->uptime_s, "fw_version",
            h->fw_version, "fw_slot", pf_slot_names[h->fw_slot], "fee_version", h->fee_version,
            "paper", pf_paper_names[h->paper], "tamper", h->tamper, "selftest",
            api__selftest(h->selftest), "errors", "reconnects", (json_int_t)h->err_reconnects,
            "queue_dropped", (json_int_t)h->err_queue_dropped, "reader", (json_int_t)h->err_reader,
            "printer", (json_int_t)h->err_printer, "txn", "count", (json_int_t)h->txn_count,
            "amount_minor", (json_int_t)h->txn_amount_minor, "currency", h->currency);
}

/* --- handlers --- */

static int api__health_cb(void *ctx, const struct pfs_health_row *r)
{
    json_t *o = api__health_row(r);

    if (!o || json_array_append_new(ctx, o))
        return PF_ENOMEM;
    return 0;
}

static int api__alert_kind_cb(void *ctx, const struct pfs_alert *a)
{
    json_t *o = json_pack("{s:s, s:I, s:s}", "kind", a->kind, "opened_ms", (json_int_t)a->opened_ms,
                          "detail", a->detail);

    if (!o || json_array_append_new(ctx, o))
        return PF_ENOMEM;
    return 0;
}

void pfs_api_device_get(struct pfs_api *api, const struct pfs_api_call *call,
                        struct pfs_http_resp *resp)
{
    const struct pfs_http_req *req = call->req;
    const char *serial = call->params.serial;
    struct pfs_device d;
    struct pfs_dev_state *s = calloc(1, sizeof(*s));
    json_t *o = NULL, *health = NULL, *alerts = NULL;
    const char *v = pfs_http_query(req, "health");
    int64_t n = PFS_API_HEALTH_DEFAULT;
    int rc;

    if (!s) {
        pfs_api_error(resp, PF_ENOMEM, "out of memory");
        return;
    }
    if (v && pf_parse_i64(v, 0, PFS_API_HEALTH_MAX, &n)) {
        pfs_api_error(resp, PF_EINVAL, "health: must be 0..%d", PFS_API_HEALTH_MAX);
        goto out_free;
    }
    rc = pfs_store_device_get(api->store, serial, &d, s);
    if (rc == PF_EUNKNOWN_SERIAL) {
        pfs_api_error(resp, rc, "serial %s is not registered", serial);
        goto out_free;
    }
    if (rc) {
        pfs_api_error(resp, rc, "reading %s: %s", serial, pf_strerror(rc));
        goto out_free;
    }
    o = api__device(&d, s, NULL);
    health = json_array();
    alerts = json_array();
    if (!o || !health || !alerts) {
        pfs_api_error(resp, PF_ENOMEM, "out of memory");
        goto out_free;
    }
    rc = pfs_store_health_recent(api->store, serial, (int)n, api__health_cb, health);
    if (!rc)
        rc = pfs_store_alerts_open(api->store, serial, api__alert_kind_cb, alerts);
    if (rc) {
        pfs_api_error(resp, rc, "reading %s: %s", serial, pf_strerror(rc));
        goto out_free;
    }
    if (s->seen && s->have_birth) {
        const struct pf_birth *b = &s->birth;

        json_object_set_new(o, "birth",
                            json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:o}", "ts_ms",
                                      (json_int_t)b->ts_ms, "model", b->model, "hw_rev", b->hw_rev,
                                      "fw_version", b->fw_version, "fw_slot",
                                      pf_slot_names[b->fw_slot], "fee_version", b->fee_version,
                                      "boot", pf_boot_outcome_names[b->boot], "agent_version",
                                      b->agent_version, "selftest", api__selftest(b->selftest)));
    } else {
        json_object_set_new(o, "birth", json_null());
    }
    if (s->seen && s->have_health) {
        const struct pf_health *h = &s->health;

        json_object_set_new(o, "selftest", api__selftest(h->selftest));
        json_object_set_new(
                o, "counters",
                json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:s, s:I, s:I, s:I, s:I, s:I}",
                          "reconnects", (json_int_t)h->err_reconnects, "queue_dropped",
                          (json_int_t)h->err_queue_dropped, "reader", (json_int_t)h->err_reader,
                          "printer", (json_int_t)h->err_printer, "txn_count",
                          (json_int_t)h->txn_count, "txn_amount_minor",
                          (json_int_t)h->txn_amount_minor, "currency", h->currency,
                          "storage_free_kb", (json_int_t)h->storage_free_kb, "mem_free_kb",
                          (json_int_t)h->mem_free_kb, "uptime_s", (json_int_t)h->uptime_s, "seq",
                          (json_int_t)h->seq, "ts_ms", (json_int_t)h->ts_ms));
    } else {
        json_object_set_new(o, "selftest",
                            s->seen && s->have_birth ? api__selftest(s->birth.selftest)
                                                     : json_null());
        json_object_set_new(o, "counters", json_null());
    }
    json_object_set_new(o, "health", health);
    json_object_set_new(o, "alerts", alerts);
    health = alerts = NULL;
    if (api->updates && (rc = pfs_api_updates_device_json(api->updates, serial, o)) != 0) {
        pfs_api_error(resp, rc, "reading the updates of %s: %s", serial, pf_strerror(rc));
        goto out_free;
    }
    pfs_api_json(resp, 200, o);
    o = NULL;
out_free:
    json_decref(o);
    json_decref(health);
    json_decref(alerts);
    free(s);
}

static bool api__printable(const char *s)
{
    for (; *s; s++) {
        if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
            return false;
    }
    return true;
}

void pfs_api_device_add(struct pfs_api *api, const struct pfs_api_call *call,
                        struct pfs_http_resp *resp)
{
    const struct pfs_http_req *req = call->req;
    struct pfs_actor actor = pfs_api_actor(call);
    struct pfs_device d;
    struct pfs_dev_state s;
    struct pf_error err = {0};
    json_t *body = NULL;
    int rc;

    memset(&d, 0, sizeof(d));
    rc = pf_json_parse_object(req->body, req->body_len, 64 * 1024, &body, &err);
    if (rc) {
        pfs_api_error(resp, rc == PF_ETOOBIG ? rc : PF_EPARSE, "%s", err.msg);
        return;
    }
    rc = pf_json_str(body, "serial", true, 1, PF_SERIAL_MAX, d.serial, &err);
    if (!rc && !pf_serial_valid(d.serial))
        rc = pf_error_set(&err, PF_EINVAL, "serial: 1-%d characters of A-Z a-z 0-9 _ -",
                          PF_SERIAL_MAX);
    if (!rc)
        rc = pf_json_str(body, "model", true, 1, PF_MODEL_MAX, d.model, &err);
    if (!rc && !api__printable(d.model))
        rc = pf_error_set(&err, PF_EINVAL, "model: printable ASCII only");
    if (!rc)
        rc = pf_json_str(body, "hw_rev", false, 1, PF_HWREV_MAX, d.hw_rev, &err);
    if (!rc && !api__printable(d.hw_rev))
        rc = pf_error_set(&err, PF_EINVAL, "hw_rev: printable ASCII only");
    if (!rc)
        rc = pf_json_str(body, "merchant_id", false, 1, PFS_MERCHANT_MAX, d.merchant_id, &err);
    if (!rc && !api__printable(d.merchant_id))
        rc = pf_error_set(&err, PF_EINVAL, "merchant_id: printable ASCII only");
    json_decref(body);
    if (rc) {
        pfs_api_error(resp, PF_EINVAL, "%s", err.msg);
        return;
    }
    rc = pfs_store_device_add(api->store, &d, &actor, pf_clock_wall_ms(api->clock), &err);
    if (rc) {
        pfs_api_error(resp, rc, "%s", err.msg);
        return;
    }
    pfs_log_info(api->log, "api: %s (%s) registered %s model %s%s%s", actor.name, actor.role,
                 d.serial, d.model, d.merchant_id[0] ? " bound to merchant " : "", d.merchant_id);
    if (d.merchant_id[0] && api->lifectl && pfs_lifectl_installed(api->lifectl, d.serial))
        pfs_log_error(api->log, "api: %s: out of memory", d.serial);
    if (pfs_ingest_registered(api->ingest, d.serial))
        pfs_log_error(api->log, "api: %s: cache update failed", d.serial);
    if (api->changed)
        api->changed(api->changed_ctx);
    rc = pfs_store_device_get(api->store, d.serial, &d, &s);
    if (rc) {
        pfs_api_error(resp, rc, "reading %s back: %s", d.serial, pf_strerror(rc));
        return;
    }
    pfs_api_json(resp, 201, api__device(&d, &s, NULL));
}

/* CSV rows "serial,model[,hw_rev[,merchant_id]]" for the bulk import. */
struct api__csv {
    const char *p, *end;
    int line;
};

static int api__csv_field(const char *name, const char *s, size_t n, size_t min, size_t max,
                          char *out, int line, struct pf_error *err)
{
    if (n < min || n > max)
        return pf_error_set(err, PF_EINVAL, "line %d: %s: length %zu out of range %zu..%zu", line,
                            name, n, min, max);
    for (size_t i = 0; i < n; i++) {
        if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
            return pf_error_set(err, PF_EINVAL, "line %d: %s: printable ASCII only", line, name);
    }
    memcpy(out, s, n);
    out[n] = '\0';
    return 0;
}

static int api__csv_next(void *ctx, struct pfs_device *d, struct pf_error *err)
{
    struct api__csv *c = ctx;

    while (c->p < c->end) {
        const char *line = c->p, *nl = memchr(line, '\n', (size_t)(c->end - line));
        const char *e = nl ? nl : c->end, *f[4] = {0};
        size_t fl[4] = {0};
        int nf = 0, rc;

        c->p = nl ? nl + 1 : c->end;
        c->line++;
        if (e > line && e[-1] == '\r')
            e--;
        if (e == line)
            continue;
        if (c->line == 1 && (size_t)(e - line) >= 6 && memcmp(line, "serial", 6) == 0 &&
            (e - line == 6 || line[6] == ','))
            continue; /* header */
        for (const char *q = line; nf < 4;) {
            const char *comma = memchr(q, ',', (size_t)(e - q));

            f[nf] = q;
            fl[nf] = (size_t)((comma ? comma : e) - q);
            nf++;
            if (!comma)
                break;
            q = comma + 1;
            if (nf == 4)
                return pf_error_set(err, PF_EINVAL, "line %d: more than 4 fields", c->line);
        }
        if (nf < 2)
            return pf_error_set(err, PF_EINVAL,
                                "line %d: expected serial,model[,hw_rev"
                                "[,merchant_id]]",
                                c->line);
        rc = api__csv_field("serial", f[0], fl[0], 1, PF_SERIAL_MAX, d->serial, c->line, err);
        if (!rc && !pf_serial_valid(d->serial))
            rc = pf_error_set(err, PF_EINVAL, "line %d: serial: 1-%d characters of A-Z a-z 0-9 _ -",
                              c->line, PF_SERIAL_MAX);
        if (!rc)
            rc = api__csv_field("model", f[1], fl[1], 1, PF_MODEL_MAX, d->model, c->line, err);
        if (!rc && nf > 2)
            rc = api__csv_field("hw_rev", f[2], fl[2], 0, PF_HWREV_MAX, d->hw_rev, c->line, err);
        if (!rc && nf > 3)
            rc = api__csv_field("merchant_id", f[3], fl[3], 0, PFS_MERCHANT_MAX, d->merchant_id,
                                c->line, err);
        return rc ? rc : 1;
    }
    return 0;
}

/* The most bad lines one answer names; the rest are counted. */
#define API__IMPORT_ERRORS_MAX 100

/* A line's refusal: the store's answer for a serial, else what the parser said. */
static int api__import_row_check(struct pfs_api *api, const struct pfs_device *d, json_t *seen,
                                 int line, struct pf_error *err)
{
    json_t *prev = json_object_get(seen, d->serial);
    struct pfs_device cur;
    struct pfs_merchant m;
    int rc;

    if (prev)
        return pf_error_set(err, PF_EEXIST, "line %d: serial %s: duplicate of line %d", line,
                            d->serial, (int)json_integer_value(prev));
    if (json_object_set_new(seen, d->serial, json_integer(line)))
        return pf_error_set(err, PF_ENOMEM, "out of memory");
    rc = pfs_store_device_get(api->store, d->serial, &cur, NULL);
    if (rc == 0)
        return pf_error_set(err, PF_EEXIST, "line %d: serial %s: already registered%s", line,
                            d->serial, cur.status == PFS_DEV_REVOKED ? " (revoked)" : "");
    if (rc != PF_EUNKNOWN_SERIAL)
        return pf_error_set(err, rc, "line %d: store: %s", line, pf_strerror(rc));
    if (!d->merchant_id[0])
        return 0;
    rc = pfs_store_merchant_get(api->store, d->merchant_id, &m);
    if (rc == PF_ENOENT)
        return pf_error_set(err, rc, "line %d: merchant %s: no such merchant", line,
                            d->merchant_id);
    if (rc)
        return pf_error_set(err, rc, "line %d: store: %s", line, pf_strerror(rc));
    if (m.status != PFS_MERCHANT_ACTIVE)
        return pf_error_set(err, PF_ESTATE,
                            "line %d: merchant %s is %s: registration binds only to an active"
                            " merchant",
                            line, d->merchant_id, pfs_merchant_status_names[m.status]);
    return 0;
}

/*
 * Checks every line before anything is written, so one answer names every bad
 * line: *answer is NULL if all are good, else the error object (status in
 * *code: the first bad line's).
 */
static int api__import_check(struct pfs_api *api, const struct pfs_http_req *req, json_t **answer,
                             int *code)
{
    struct api__csv c = {req->body, req->body + req->body_len, 0};
    json_t *seen = json_object(), *lines = json_array();
    size_t nbad = 0;
    int rc = 0;

    *answer = NULL;
    *code = 0;
    if (!seen || !lines) {
        rc = PF_ENOMEM;
        goto out;
    }
    for (;;) {
        struct pfs_device d;
        struct pf_error err = {0};
        int step;

        memset(&d, 0, sizeof(d));
        step = api__csv_next(&c, &d, &err);
        if (step == 0)
            break;
        if (step > 0)
            step = api__import_row_check(api, &d, seen, c.line, &err);
        if (step == PF_ENOMEM) {
            rc = step;
            goto out;
        }
        if (step == 0)
            continue;
        if (!*code)
            *code = step;
        if (nbad++ < API__IMPORT_ERRORS_MAX &&
            json_array_append_new(lines,
                                  json_pack("{s:i, s:s}", "line", c.line, "message", err.msg))) {
            rc = PF_ENOMEM;
            goto out;
        }
    }
    if (nbad) {
        char head[128];

        snprintf(head, sizeof(head), "%zu bad line%s (nothing registered)%s", nbad,
                 nbad == 1 ? "" : "s",
                 nbad > API__IMPORT_ERRORS_MAX ? "; the first 100 are listed" : "");
        *answer = json_pack("{s:s, s:s, s:O}", "error", pf_errname(*code), "message", head, "lines",
                            lines);
        if (!*answer)
            rc = PF_ENOMEM;
    }
out:
    json_decref(seen);
    json_decref(lines);
    return rc;
}

void pfs_api_devices_import(struct pfs_api *api, const struct pfs_api_call *call,
                            struct pfs_http_resp *resp)
{
    const struct pfs_http_req *req = call->req;
    struct pfs_actor actor = pfs_api_actor(call);
    struct api__csv c = {req->body, req->body + req->body_len, 0};
    struct pf_error err = {0};
    int64_t count = 0;
    int rc;

    if (memchr(req->body, '\0', req->body_len)) {
        pfs_api_error(resp, PF_EPARSE, "body contains a NUL byte");
        return;
    }
    {
        json_t *answer = NULL;
        int code = 0;

        rc = api__import_check(api, req, &answer, &code);
        if (rc) {
            pfs_api_error(resp, rc, "import: %s", pf_strerror(rc));
            return;
        }
        if (answer) {
            pfs_api_json(resp, pfs_api_status(code), answer);
            return;
        }
    }
    rc = pfs_store_device_import(api->store, api__csv_next, &c, &actor,
                                 pf_clock_wall_ms(api->clock), &count, &err);
    /* The store's refusals of a row (taken serial, merchant to bind) name no line. */
    if (rc == PF_EEXIST || rc == PF_ENOENT || rc == PF_ESTATE)
        pf_error_prefix(&err, "line %d", c.line);
    if (rc) {
        pfs_api_error(resp, rc, "%s (nothing registered)", err.msg);
        return;
    }
    if (pfs_ingest_registry_refresh(api->ingest))
        pfs_log_error(api->log, "api: import: cache refresh failed");
    if (api->lifectl && pfs_lifectl_installed_reload(api->lifectl))
        pfs_log_error(api->log, "api: import: lifecycle refresh failed");
    pfs_log_info(api->log, "api: %s (%s) imported %lld terminals", actor.name, actor.role,
                 (long long)count);
    pfs_api_json(resp, 200, json_pack("{s:I}", "added", (json_int_t)count));
}

void pfs_api_device_revoke(struct pfs_api *api, const struct pfs_api_call *call,
                           struct pfs_http_resp *resp)
{
    const char *serial = call->params.serial;
    struct pfs_actor actor = pfs_api_actor(call);
    struct pfs_device d;
    struct pfs_dev_state s;
    struct pf_error err = {0};
    int rc;

    rc = pfs_store_device_revoke(api->store, serial, &actor, pf_clock_wall_ms(api->clock), &err);
    if (rc) {
        pfs_api_error(resp, rc, "%s", err.msg);
        return;
    }
    if (pfs_ingest_revoked(api->ingest, serial))
        pfs_log_error(api->log, "api: %s: cache update failed", serial);
    pfs_log_info(api->log, "api: %s (%s) revoked %s", actor.name, actor.role, serial);
    if (api->changed)
        api->changed(api->changed_ctx);
    rc = pfs_store_device_get(api->store, serial, &d, &s);
    if (rc) {
        pfs_api_error(resp, rc, "reading %s back: %s", serial, pf_strerror(rc));
        return;
    }
    pfs_api_json(resp, 200, api__device(&d, &s, NULL));
}

static int api__group_cb(void *ctx, const char *group, const char *key, int64_t count)
{
    json_t *g = json_object_get(ctx, group);

    if (!g || json_object_set_new(g, key, json_integer(count)))
        return PF_ENOMEM;
    return 0;
}

/* One entry of the summary's "fee_tables": active ones, then pending ones by date. */
static int api__fee_cb(void *ctx, const char *version, bool pending, int64_t effective_at,
                       int64_t terminals)
{
    json_t *e = json_pack("{s:s, s:s, s:o, s:I}", "version", version, "state",
                          pending ? "pending" : "active", "effective_ms",
                          pending ? json_integer(effective_at * 1000) : json_null(), "terminals",
                          (json_int_t)terminals);

    return e && json_array_append_new(ctx, e) == 0 ? 0 : PF_ENOMEM;
}

void pfs_api_summary(struct pfs_api *api, const struct pfs_api_call *call,
                     struct pfs_http_resp *resp)
{
    struct pfs_summary sum;
    json_t *o = json_pack("{s:{}, s:{}, s:{}}", "alerts", "models", "firmware");
    int rc;

    if (!o) {
        pfs_api_error(resp, PF_ENOMEM, "out of memory");
        return;
    }
    for (int k = 0; k < PFS_ALERT_COUNT; k++)
        json_object_set_new(json_object_get(o, "alerts"), pfs_alert_names[k], json_integer(0));
    rc = pfs_store_summary_in(api->store, pfs_api_scope(call), &sum, api__group_cb, o);
    /* The fee tables of the terminals inside the caller's scope. */
    if (!rc) {
        json_t *fees = json_array();

        rc = fees ? pfs_store_fee_tables_in(api->store, pfs_api_scope(call), api__fee_cb, fees)
                  : PF_ENOMEM;
        if (fees)
            json_object_set_new(o, "fee_tables", fees);
    }
    if (rc) {
        json_decref(o);
        pfs_api_error(resp, rc, "summary: %s", pf_strerror(rc));
        return;
    }
    json_object_set_new(o, "total", json_integer(sum.total));
    json_object_set_new(o, "online", json_integer(sum.online));
    json_object_set_new(o, "offline", json_integer(sum.offline));
    json_object_set_new(o, "never_seen", json_integer(sum.never_seen));
    json_object_set_new(o, "revoked", json_integer(sum.revoked));
    pfs_api_json(resp, 200, o);
}

static int api__online_cb(void *ctx, int64_t ts_ms, int64_t online)
{
    json_t *e = json_pack("[I, I]", (json_int_t)ts_ms, (json_int_t)online);

    return e && json_array_append_new(ctx, e) == 0 ? 0 : PF_ENOMEM;
}

void pfs_api_summary_online(struct pfs_api *api, const struct pfs_api_call *call,
                            struct pfs_http_resp *resp)
{
    const char *v = pfs_http_query(call->req, "hours");
    int64_t hours = PFS_API_ONLINE_HOURS, since;
    json_t *samples = json_array();
    int rc;

    if (!samples) {
        pfs_api_error(resp, PF_ENOMEM, "out of memory");
        return;
    }
    if (v && pf_parse_i64(v, 1, PFS_API_ONLINE_HOURS, &hours)) {
        json_decref(samples);
        pfs_api_error(resp, PF_EINVAL, "hours: must be 1..%d", PFS_API_ONLINE_HOURS);
        return;
    }
    since = pf_clock_wall_ms(api->clock) - hours * 3600000;
    rc = pfs_store_online_series(api->store, pfs_api_scope(call), since, api__online_cb, samples);
    if (rc) {
        json_decref(samples);
        pfs_api_error(resp, rc, "online samples: %s", pf_strerror(rc));
        return;
    }
    pfs_api_json(resp, 200,
                 json_pack("{s:i, s:I, s:o}", "interval_s", api->online_sample_s, "since_ms",
                           (json_int_t)since, "samples", samples));
}

void pfs_api_metrics(struct pfs_api *api, const struct pfs_api_call *call,
                     struct pfs_http_resp *resp)
{
    struct pfs_gauges g;
    int rc;

    (void)call;
    pfs_ingest_gauges(api->ingest, &g);
    rc = pfs_metrics_render(api->metrics, &g, &resp->body, &resp->len);
    if (rc) {
        pfs_api_error(resp, rc, "metrics: %s", pf_strerror(rc));
        return;
    }
    if (api->updates && pfs_api_updates_metrics(api->updates, &resp->body, &resp->len) != 0)
        pfs_log_warn(api->log, "metrics: update counts unavailable");
    if (pfs_api_obs_metrics(api, &resp->body, &resp->len) != 0)
        pfs_log_warn(api->log, "metrics: lifecycle and rollout counts unavailable");
    resp->status = 200;
    resp->content_type = "text/plain; version=0.0.4";
}
