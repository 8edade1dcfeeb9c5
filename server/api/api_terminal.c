/*
 * api_terminal.c - what the back office's terminal page needs beyond the
 * lifecycle routes (docs/server.md, "Terminals"): the health history over a
 * time range, downsampled for charts (fleet/health_series.h), and support's
 * lock and unlock by hand (lifecycle.h, pfs_life_lock; the command goes out
 * through lifecycle/lifectl.h like a tamper lock's).
 */
#include "api/api_handlers.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "fleet/health_series.h"
#include "lifecycle/lifectl.h"
#include "lifecycle/views.h"
#include "pf/jsonv.h"
#include "pf/num.h"
#include "pf/text.h"
#include "store/store_lifecycle.h"

#define TAPI_BODY_MAX   (16 * 1024)
#define TAPI_DAY_MS     INT64_C(86400000)
#define TAPI_RANGE_MAX  (400 * TAPI_DAY_MS)
#define TAPI_TIME_LIMIT INT64_C(4102444800000) /* 2100-01-01 */

static int tapi__point_add(void *ctx, const struct pfs_health_point *p)
{
    pfs_hseries_add(ctx, p);
    return 0;
}

static int tapi__point_json(void *ctx, const struct pfs_health_point *p)
{
    json_t *row = json_pack("[I, I, I, I, I]", (json_int_t)p->ts_ms, (json_int_t)p->battery_pct,
                            (json_int_t)p->signal_dbm, (json_int_t)p->temp_c,
                            (json_int_t)p->storage_free_kb);

    return row && json_array_append_new(ctx, row) == 0 ? 0 : PF_ENOMEM;
}

void pfs_api_term_health(struct pfs_api *api, const struct pfs_api_call *call,
                         struct pfs_http_resp *resp)
{
    static const char *const known[] = {"from", "to", "points", NULL};
    const struct pfs_http_req *req = call->req;
    const char *serial = call->params.serial, *v;
    int64_t to = pf_clock_wall_ms(api->clock), from, points = PFS_HSERIES_POINTS_MAX;
    enum pfs_dev_status status;
    struct pfs_hseries hs;
    json_t *arr = NULL;
    int rc;

    if ((v = pfs_http_query_unknown(req, known)) != NULL) {
        pfs_api_error(resp, PF_EINVAL, "unknown parameter %s (from, to, points)", v);
        return;
    }
    if ((v = pfs_http_query(req, "to")) && pf_parse_i64(v, 0, TAPI_TIME_LIMIT, &to)) {
        pfs_api_error(resp, PF_EINVAL, "to: ms since the epoch");
        return;
    }
    from = to - TAPI_DAY_MS;
    if ((v = pfs_http_query(req, "from")) && pf_parse_i64(v, 0, TAPI_TIME_LIMIT, &from)) {
        pfs_api_error(resp, PF_EINVAL, "from: ms since the epoch");
        return;
    }
    if (from > to || to - from > TAPI_RANGE_MAX) {
        pfs_api_error(resp, PF_EINVAL, "from..to: from at most to, and at most 400 days apart");
        return;
    }
    if ((v = pfs_http_query(req, "points")) &&
        pf_parse_i64(v, 1, PFS_HSERIES_POINTS_MAX, &points)) {
        pfs_api_error(resp, PF_EINVAL, "points: must be 1..%d", PFS_HSERIES_POINTS_MAX);
        return;
    }
    rc = pfs_store_device_status(api->store, serial, &status);
    if (rc) {
        pfs_api_error(resp, rc,
                      rc == PF_EUNKNOWN_SERIAL ? "serial %s is not registered" : "reading %s",
                      serial);
        return;
    }
    rc = pfs_hseries_init(&hs, from, to, (size_t)points);
    if (rc) {
        pfs_api_error(resp, rc, "health: %s", pf_strerror(rc));
        return;
    }
    rc = pfs_store_health_range(api->store, serial, from, to, tapi__point_add, &hs);
    arr = json_array();
    if (!rc)
        rc = arr ? pfs_hseries_each(&hs, tapi__point_json, arr) : PF_ENOMEM;
    if (rc) {
        pfs_api_error(resp, rc, "reading the health of %s: %s", serial, pf_strerror(rc));
        json_decref(arr);
    } else {
        pfs_api_json(resp, 200,
                     json_pack("{s:s, s:I, s:I, s:I, s:I, s:[s, s, s, s, s], s:o}", "serial",
                               serial, "from_ms", (json_int_t)from, "to_ms", (json_int_t)to,
                               "bucket_ms", (json_int_t)hs.bucket_ms, "reports",
                               (json_int_t)hs.reports, "columns", "ts_ms", "battery_pct",
                               "signal_dbm", "temp_c", "storage_free_kb", "points", arr));
    }
    pfs_hseries_release(&hs);
}

static int tapi__term_cb(void *ctx, const struct pfs_term_view *v)
{
    json_t **o = ctx;

    *o = pfs_term_view_json(v);
    return *o ? 0 : PF_EIO;
}

void pfs_api_term_lock(struct pfs_api *api, const struct pfs_api_call *call,
                       struct pfs_http_resp *resp)
{
    const struct pfs_http_req *req = call->req;
    const char *serial = call->params.serial;
    bool lock = call->route->arg == 1;
    struct pfs_actor actor = pfs_api_actor(call);
    char reason[PF_TEXT_BYTES(PF_TEXT_REASON_MAX)] = "", id[PF_LOCK_ID_MAX + 1];
    struct pf_error err = {0};
    json_t *body = NULL, *o = NULL;
    int rc;

    rc = req->body_len ? pf_json_parse_object(req->body, req->body_len, TAPI_BODY_MAX, &body, &err)
                       : pf_error_set(&err, PF_EINVAL, "reason: required");
    if (!rc)
        rc = pf_json_text(body, "reason", true, PF_TEXT_REASON_MAX, 0, reason, sizeof(reason),
                          &err);
    json_decref(body);
    if (rc) {
        pfs_api_error(resp, rc == PF_ETOOBIG ? rc : PF_EINVAL, "%s", err.msg);
        return;
    }
    if (api->lifectl)
        pfs_lifectl_new_id(api->lifectl, lock, id);
    else
        snprintf(id, sizeof(id), "%s-%llx", lock ? "lock" : "unlock",
                 (unsigned long long)pf_clock_wall_ms(api->clock));
    rc = pfs_store_term_lock(api->store, serial, lock, id, reason, &actor,
                             pf_clock_wall_ms(api->clock), &err);
    if (rc) {
        pfs_api_error(resp, rc, "%s", err.msg);
        return;
    }
    pfs_log_info(api->log, "api: %s (%s) %s %s", actor.name, actor.role,
                 lock ? "locked" : "unlocked", serial);
    if (api->lifectl && pfs_lifectl_send(api->lifectl, serial, id, lock, PFS_LOCK_BY_SUPPORT))
        pfs_log_error(api->log, "api: %s: the %s command waits for the retry", serial,
                      lock ? "lock" : "unlock");
    if (api->changed)
        api->changed(api->changed_ctx);
    rc = pfs_store_term_view(api->store, serial, tapi__term_cb, &o);
    if (rc)
        pfs_api_error(resp, rc, "reading %s back: %s", serial, pf_strerror(rc));
    else
        pfs_api_json(resp, 200, o);
}
