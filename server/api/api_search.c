/*
 * api_search.c - the list routes of the HTTP API and their filters:
 * GET /v1/devices, /v1/merchants, /v1/alerts and /v1/audit answer a page of
 * what store_search.h finds (docs/server.md "Search").
 *
 * Each route names the query parameters it knows; any other is refused with
 * 400 naming it, as is a bad value (the message starts with the parameter).
 * Terminals and merchants page with ?after= (the "next" of the previous
 * page), alerts and audit rows with ?before= (pfs_api_page_args/answer).
 * Every search reads inside the caller's organisation scope (pfs_api_scope,
 * applied by the store in the same statement as the filters).
 */
#include "api/api_handlers.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fleet/alerts.h"
#include "lifecycle/lifecycle.h"
#include "lifecycle/merchant.h"
#include "lifecycle/views.h"
#include "pf/num.h"
#include "pf/text.h"
#include "pf/topic.h"
#include "store/store_search.h"

/* Refuses the first query parameter that is not in known; true if it did. */
static bool search__unknown(const struct pfs_http_req *req, struct pfs_http_resp *resp,
                            const char *const *known)
{
    const char *bad = pfs_http_query_unknown(req, known);
    char list[256];
    size_t n = 0;

    if (!bad)
        return false;
    list[0] = '\0';
    for (size_t i = 0; known[i]; i++) {
        int w = snprintf(list + n, sizeof(list) - n, "%s%s", i ? ", " : "", known[i]);

        if (w < 0 || (size_t)w >= sizeof(list) - n)
            break;
        n += (size_t)w;
    }
    pfs_api_error(resp, PF_EINVAL, "%.64s: unknown parameter (known: %s)", bad, list);
    return true;
}

/* A text parameter of 1..max characters of UTF-8 without control characters,
 * or absent (*out NULL). Answers 400 and returns PF_EINVAL otherwise. */
static int search__text(const struct pfs_http_req *req, struct pfs_http_resp *resp,
                        const char *name, size_t max, const char **out)
{
    struct pf_error err = {0};
    const char *v = pfs_http_query(req, name);

    *out = NULL;
    if (!v)
        return 0;
    if (pf_text_check(name, v, strlen(v), max, 0, NULL, &err)) {
        pfs_api_error(resp, PF_EINVAL, "%s", err.msg);
        return PF_EINVAL;
    }
    *out = v;
    return 0;
}

/* The index of v in names (NULL-terminated), or -1. */
static int search__pick(const char *v, const char *const *names)
{
    for (int i = 0; names[i]; i++) {
        if (!strcmp(names[i], v))
            return i;
    }
    return -1;
}

static int search__limit(const struct pfs_http_req *req, struct pfs_http_resp *resp, int *limit)
{
    const char *v = pfs_http_query(req, "limit");
    int64_t n = PFS_API_LIMIT_DEFAULT;

    if (v && pf_parse_i64(v, 1, PFS_API_LIMIT_MAX, &n)) {
        pfs_api_error(resp, PF_EINVAL, "limit: must be 1..%d", PFS_API_LIMIT_MAX);
        return PF_EINVAL;
    }
    *limit = (int)n;
    return 0;
}

/* A time: ms since the epoch, or UTC "YYYY-MM-DD" / "YYYY-MM-DDTHH:MM[:SS]Z". */
static int search__time(const char *v, int64_t *out)
{
    static const char *const formats[] = {"%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%MZ", "%Y-%m-%d"};
    struct tm tm;
    const char *end;

    if (pf_parse_i64(v, 0, INT64_C(4102444800000), out) == 0)
        return 0;
    for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
        memset(&tm, 0, sizeof(tm));
        end = strptime(v, formats[i], &tm);
        if (end && !*end) {
            *out = (int64_t)timegm(&tm) * 1000;
            return 0;
        }
    }
    return PF_EINVAL;
}

/* A duration: N followed by s, m, h or d ("90m", "2d"), in ms. */
static int search__duration(const char *v, int64_t *ms)
{
    static const struct {
        char unit;
        int64_t ms;
    } units[] = {{'s', 1000}, {'m', 60000}, {'h', 3600000}, {'d', 86400000}};
    char num[24];
    size_t len = strlen(v);
    int64_t n;

    if (len < 2 || len > sizeof(num))
        return PF_EINVAL;
    memcpy(num, v, len - 1);
    num[len - 1] = '\0';
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (v[len - 1] == units[i].unit && pf_parse_i64(num, 0, INT64_MAX / units[i].ms, &n) == 0) {
            *ms = n * units[i].ms;
            return 0;
        }
    }
    return PF_EINVAL;
}

/* --- GET /v1/devices --- */

struct search__terms {
    struct pfs_api *api;
    json_t *arr;
    struct pfs_dev_state *s; /* scratch, heap (large) */
    char last[PF_SERIAL_MAX + 1];
};

static int search__term_cb(void *ctx, const struct pfs_search_terminal *t)
{
    struct search__terms *l = ctx;
    struct pfs_device d;
    json_t *o, *tags;
    int rc = pfs_store_device_get(l->api->store, t->serial, &d, l->s);

    if (rc)
        return rc;
    o = pfs_api_device_json(&d, l->s, t->alerts);
    tags = json_loads(t->tags, 0, NULL);
    if (!o || !tags) {
        json_decref(o);
        json_decref(tags);
        return PF_ENOMEM;
    }
    json_object_set_new(o, "state", json_string(t->state));
    json_object_set_new(o, "merchant_name",
                        t->merchant_name ? json_string(t->merchant_name) : json_null());
    json_object_set_new(o, "region", t->region ? json_string(t->region) : json_null());
    json_object_set_new(o, "tags", tags);
    json_object_set_new(o, "locked", json_boolean(t->lock_wanted));
    json_object_set_new(o, "lock_pending", json_boolean(!t->lock_acked));
    if (json_array_append_new(l->arr, o))
        return PF_ENOMEM;
    snprintf(l->last, sizeof(l->last), "%s", t->serial);
    return 0;
}

int pfs_api_terminal_query(const struct pfs_http_req *req, struct pfs_http_resp *resp,
                           const char *const *known, struct pfs_search_terminals *q)
{
    static const char *const conns[] = {"", "online", "offline", "never", "revoked", NULL};
    static const char *const locks[] = {"", "locked", "unlocked", "pending", NULL};
    const char *v;
    int i;

    if (search__unknown(req, resp, known))
        return PF_EINVAL;
    if ((v = pfs_http_query(req, "status")) != NULL) {
        if ((i = search__pick(v, conns)) < 1) {
            pfs_api_error(resp, PF_EINVAL, "status: must be online, offline, never or revoked");
            return PF_EINVAL;
        }
        q->conn = (enum pfs_conn_filter)i;
    }
    if ((v = pfs_http_query(req, "state")) != NULL) {
        if (pfs_term_state_parse(v) < 0) {
            pfs_api_error(resp, PF_EINVAL,
                          "state: must be in_stock, installed, active, locked, in_repair or "
                          "retired");
            return PF_EINVAL;
        }
        q->state = v;
    }
    if ((v = pfs_http_query(req, "lock")) != NULL) {
        if ((i = search__pick(v, locks)) < 1) {
            pfs_api_error(resp, PF_EINVAL, "lock: must be locked, unlocked or pending");
            return PF_EINVAL;
        }
        q->lock = (enum pfs_search_lock)i;
    }
    if ((v = pfs_http_query(req, "alert")) != NULL) {
        if (pfs_alert_kind(v) < 0) {
            pfs_api_error(resp, PF_EINVAL, "alert: unknown kind '%.32s'", v);
            return PF_EINVAL;
        }
        q->alert = v;
    }
    if ((v = pfs_http_query(req, "after")) != NULL) {
        if (!pf_serial_valid(v)) {
            pfs_api_error(resp, PF_EINVAL, "after: a serial (the \"next\" of a page)");
            return PF_EINVAL;
        }
        q->after = v;
    }
    if (search__text(req, resp, "model", PF_MODEL_MAX, &q->model) ||
        search__text(req, resp, "fw", PF_VERSION_MAX, &q->fw) ||
        search__text(req, resp, "fee", PF_VERSION_MAX, &q->fee) ||
        search__text(req, resp, "merchant", PFS_MERCHANT_ID_MAX, &q->merchant) ||
        search__text(req, resp, "merchant_name", PFS_MERCHANT_NAME_MAX, &q->merchant_name) ||
        search__text(req, resp, "region", PFS_REGION_MAX, &q->region) ||
        search__text(req, resp, "tag", PF_TEXT_TAG_MAX, &q->tag))
        return PF_EINVAL;
    return 0;
}

void pfs_api_search_terminals(struct pfs_api *api, const struct pfs_api_call *call,
                              struct pfs_http_resp *resp)
{
    static const char *const known[] = {
            "status", "model", "fw",    "fee",  "state", "merchant", "merchant_name",
            "region", "tag",   "alert", "lock", "after", "limit",    NULL,
    };
    const struct pfs_http_req *req = call->req;
    struct pfs_search_terminals q = {.scope = pfs_api_scope(call)};
    struct search__terms l = {.api = api};
    bool more = false;
    int rc;

    if (pfs_api_terminal_query(req, resp, known, &q) || search__limit(req, resp, &q.limit))
        return;
    l.arr = json_array();
    l.s = calloc(1, sizeof(*l.s));
    if (!l.arr || !l.s) {
        json_decref(l.arr);
        free(l.s);
        pfs_api_error(resp, PF_ENOMEM, "out of memory");
        return;
    }
    rc = pfs_store_search_terminals(api->store, &q, search__term_cb, &l, &more);
    free(l.s);
    if (rc) {
        json_decref(l.arr);
        pfs_api_error(resp, rc, "listing terminals: %s", pf_strerror(rc));
        return;
    }
    pfs_api_json(resp, 200,
                 json_pack("{s:o, s:o}", "devices", l.arr, "next",
                           more ? json_string(l.last) : json_null()));
}

/* --- GET /v1/merchants --- */

static int search__merchant_cb(void *ctx, const struct pfs_merchant *m)
{
    json_t *o = pfs_merchant_to_json(m);

    if (!o || json_array_append_new(ctx, o))
        return PF_ENOMEM;
    return 0;
}

void pfs_api_search_merchants(struct pfs_api *api, const struct pfs_api_call *call,
                              struct pfs_http_resp *resp)
{
    static const char *const known[] = {
            "name", "uscc", "phone", "contact", "region", "status", "after", "limit", NULL,
    };
    const struct pfs_http_req *req = call->req;
    struct pfs_search_merchants q = {.scope = pfs_api_scope(call), .status = -1};
    json_t *arr, *next;
    const char *v;
    bool more = false;
    size_t n;
    int rc;

    if (search__unknown(req, resp, known))
        return;
    if ((v = pfs_http_query(req, "status")) != NULL &&
        (q.status = search__pick(v, pfs_merchant_status_names)) < 0) {
        pfs_api_error(resp, PF_EINVAL,
                      "status: one of applied, approved, rejected, active, suspended, closed");
        return;
    }
    if ((v = pfs_http_query(req, "uscc")) != NULL && strlen(v) != PFS_USCC_LEN) {
        pfs_api_error(resp, PF_EINVAL, "uscc: %d characters", PFS_USCC_LEN);
        return;
    }
    q.uscc = v;
    if (search__text(req, resp, "name", PFS_MERCHANT_NAME_MAX, &q.name) ||
        search__text(req, resp, "phone", PFS_PHONE_MAX, &q.phone) ||
        search__text(req, resp, "contact", PFS_CONTACT_MAX, &q.contact) ||
        search__text(req, resp, "region", PFS_REGION_MAX, &q.region) ||
        search__text(req, resp, "after", PFS_MERCHANT_ID_MAX, &q.after) ||
        search__limit(req, resp, &q.limit))
        return;
    arr = json_array();
    if (!arr) {
        pfs_api_error(resp, PF_ENOMEM, "out of memory");
        return;
    }
    rc = pfs_store_search_merchants(api->store, &q, search__merchant_cb, arr, &more);
    if (rc) {
        json_decref(arr);
        pfs_api_error(resp, rc, "merchants: %s", pf_strerror(rc));
        return;
    }
    n = json_array_size(arr);
    next = more && n ? json_incref(json_object_get(json_array_get(arr, n - 1), "id")) : json_null();
    pfs_api_json(resp, 200, json_pack("{s:o, s:o}", "merchants", arr, "next", next));
}

/* --- GET /v1/alerts --- */

static int search__alert_cb(void *ctx, const struct pfs_search_alert *r)
{
    const struct pfs_alert *a = r->alert;
    json_t *o = json_pack("{s:I, s:s, s:s, s:I, s:s, s:o}", "id", (json_int_t)r->id, "serial",
                          a->serial, "kind", a->kind, "opened_ms", (json_int_t)a->opened_ms,
                          "detail", a->detail, "merchant_id",
                          r->merchant_id ? json_string(r->merchant_id) : json_null());

    if (!o || json_array_append_new(ctx, o))
        return PF_ENOMEM;
    return 0;
}

void pfs_api_search_alerts(struct pfs_api *api, const struct pfs_api_call *call,
                           struct pfs_http_resp *resp)
{
    static const char *const known[] = {
            "kind", "merchant", "serial", "older_than", "before", "limit", NULL,
    };
    const struct pfs_http_req *req = call->req;
    struct pfs_search_alerts q = {.scope = pfs_api_scope(call)};
    int64_t limit, age;
    json_t *arr;
    const char *v;
    bool more = false;
    int rc;

    if (search__unknown(req, resp, known))
        return;
    if ((v = pfs_http_query(req, "kind")) != NULL && pfs_alert_kind(v) < 0) {
        pfs_api_error(resp, PF_EINVAL, "kind: unknown kind '%.32s'", v);
        return;
    }
    q.kind = v;
    if ((v = pfs_http_query(req, "serial")) != NULL && !pf_serial_valid(v)) {
        pfs_api_error(resp, PF_EINVAL, "serial: 1-%d characters of A-Z a-z 0-9 _ -", PF_SERIAL_MAX);
        return;
    }
    q.serial = v;
    if ((v = pfs_http_query(req, "older_than")) != NULL) {
        if (search__duration(v, &age)) {
            pfs_api_error(resp, PF_EINVAL,
                          "older_than: a number and a unit, s, m, h or d (90m, 2d)");
            return;
        }
        q.opened_before = pf_clock_wall_ms(api->clock) - age;
        if (q.opened_before < 1)
            q.opened_before = 1;
    }
    if (search__text(req, resp, "merchant", PFS_MERCHANT_ID_MAX, &q.merchant) ||
        pfs_api_page_args(req, resp, "an alert id", &limit, &q.before))
        return;
    arr = json_array();
    if (!arr) {
        pfs_api_error(resp, PF_ENOMEM, "out of memory");
        return;
    }
    /* The row past the limit stays in arr: pfs_api_page_answer drops it. */
    q.limit = (int)limit + 1;
    rc = pfs_store_search_alerts(api->store, &q, search__alert_cb, arr, &more);
    if (rc) {
        json_decref(arr);
        pfs_api_error(resp, rc, "alerts: %s", pf_strerror(rc));
        return;
    }
    pfs_api_page_answer(resp, "alerts", arr, limit);
}

/* --- GET /v1/audit --- */

static int search__audit_cb(void *ctx, const struct pfs_audit *a)
{
    json_t *before = a->before ? json_loads(a->before, 0, NULL) : json_null();
    json_t *after = a->after ? json_loads(a->after, 0, NULL) : json_null();
    json_t *o = json_pack("{s:I, s:I, s:s, s:s, s:s?, s:s?, s:s, s:s, s:o*, s:o*}", "id",
                          (json_int_t)a->id, "ts_ms", (json_int_t)a->ts_ms, "actor", a->actor,
                          "role", a->role, "org", a->org[0] ? a->org : NULL, "addr",
                          a->addr[0] ? a->addr : NULL, "action", a->action, "target", a->target,
                          "before", before, "after", after);

    if (!o || json_array_append_new(ctx, o))
        return PF_ENOMEM;
    return 0;
}

void pfs_api_search_audit(struct pfs_api *api, const struct pfs_api_call *call,
                          struct pfs_http_resp *resp)
{
    static const char *const known[] = {
            "actor",    "org",   "addr",  "action", "target", "serial",
            "merchant", "since", "until", "before", "limit",  NULL,
    };
    static const char *const times[] = {"since", "until"};
    const struct pfs_http_req *req = call->req;
    struct pfs_search_audit q = {.scope = pfs_api_scope(call)};
    int64_t limit, *bound[] = {&q.since_ms, &q.until_ms};
    json_t *arr;
    const char *v;
    bool more = false;
    int rc;

    if (search__unknown(req, resp, known))
        return;
    if ((v = pfs_http_query(req, "serial")) != NULL && !pf_serial_valid(v)) {
        pfs_api_error(resp, PF_EINVAL, "serial: 1-%d characters of A-Z a-z 0-9 _ -", PF_SERIAL_MAX);
        return;
    }
    q.serial = v;
    for (size_t i = 0; i < 2; i++) {
        v = pfs_http_query(req, times[i]);
        if (v && search__time(v, bound[i])) {
            pfs_api_error(resp, PF_EINVAL,
                          "%s: ms since the epoch, YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS]Z (UTC)",
                          times[i]);
            return;
        }
    }
    if (search__text(req, resp, "actor", PFS_ACTOR_MAX, &q.actor) ||
        search__text(req, resp, "org", PFS_ORG_NAME_MAX, &q.org) ||
        search__text(req, resp, "addr", 63, &q.addr) ||
        search__text(req, resp, "action", 31, &q.action) ||
        search__text(req, resp, "target", 63, &q.target) ||
        search__text(req, resp, "merchant", PFS_MERCHANT_ID_MAX, &q.merchant) ||
        pfs_api_page_args(req, resp, "an audit id", &limit, &q.before))
        return;
    arr = json_array();
    if (!arr) {
        pfs_api_error(resp, PF_ENOMEM, "out of memory");
        return;
    }
    q.limit = (int)limit + 1;
    rc = pfs_store_search_audit(api->store, &q, search__audit_cb, arr, &more);
    if (rc) {
        json_decref(arr);
        pfs_api_error(resp, rc, "audit: %s", pf_strerror(rc));
        return;
    }
    pfs_api_page_answer(resp, "audit", arr, limit);
}
