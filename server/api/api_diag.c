/*
 * api_diag.c - the diagnostics endpoints (docs/server.md, "Diagnostics"):
 * create a request, list a terminal's requests, show one, download its
 * archive. Support or ops only (api.c's table): results may describe a
 * merchant's terminal in detail. A rate-limited request is refused with 429
 * LIMIT.
 */
#include "api/api_handlers.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "diag/diag.h"
#include "pf/num.h"
#include "pf/jsonv.h"
#include "store/store_diag.h"

#define DAPI_LIST_DEFAULT 20
#define DAPI_LIST_MAX     500
#define DAPI_BODY_MAX     4096

static json_t *dapi__loads(const char *s)
{
    json_t *o = s ? json_loads(s, 0, NULL) : NULL;

    return o ? o : json_null();
}

static json_t *dapi__rec(const struct pfs_diag_rec *r)
{
    json_t *o = json_object(), *arc = json_null();

    if (!o)
        return NULL;
    json_object_set_new(o, "id", json_string(r->id));
    json_object_set_new(o, "serial", json_string(r->serial));
    json_object_set_new(o, "command", json_string(r->command));
    json_object_set_new(o, "args", r->args ? dapi__loads(r->args) : json_object());
    json_object_set_new(o, "actor", json_string(r->actor));
    json_object_set_new(o, "role", json_string(r->role));
    json_object_set_new(o, "created_ms", json_integer(r->created_ms));
    json_object_set_new(o, "deadline_ms", json_integer(r->deadline_ms));
    json_object_set_new(o, "status", json_string(r->status));
    json_object_set_new(o, "late", json_boolean(r->late));
    json_object_set_new(o, "code", r->code[0] ? json_string(r->code) : json_null());
    json_object_set_new(o, "message", r->message ? json_string(r->message) : json_null());
    json_object_set_new(o, "result", dapi__loads(r->result));
    json_object_set_new(o, "answered_ms",
                        r->answered_ms ? json_integer(r->answered_ms) : json_null());
    json_object_set_new(o, "repair_id", r->repair_id ? json_integer(r->repair_id) : json_null());
    if (r->archive_size >= 0)
        arc = json_pack("{s:I, s:I, s:s, s:s}", "size", (json_int_t)r->archive_size, "received",
                        (json_int_t)r->archive_received, "digest", r->archive_digest, "state",
                        r->archive_done == 1   ? "complete"
                        : r->archive_done == 2 ? "failed"
                                               : "transferring");
    json_object_set_new(o, "archive", arc ? arc : json_null());
    return o;
}

static int dapi__one_cb(void *ctx, const struct pfs_diag_rec *r)
{
    json_t **out = ctx;

    *out = dapi__rec(r);
    return *out ? 0 : PF_ENOMEM;
}

static int dapi__list_cb(void *ctx, const struct pfs_diag_rec *r)
{
    return json_array_append_new(ctx, dapi__rec(r)) ? PF_ENOMEM : 0;
}

static void dapi__create(struct pfs_api *api, struct pfs_diag *diag, const struct pfs_http_req *req,
                         struct pfs_http_resp *resp, struct pfs_actor actor, const char *serial)
{
    struct pf_error err = {0};
    json_t *body = NULL, *args = NULL;
    char command[PF_DIAG_CMD_MAX + 1], id[PF_DIAG_ID_MAX + 1];
    int64_t deadline_ms = 0;
    int deadline_s = 0, rc;

    (void)api;
    rc = pf_json_parse_object(req->body, req->body_len, DAPI_BODY_MAX, &body, &err);
    if (!rc)
        rc = pf_json_str(body, "command", true, 1, PF_DIAG_CMD_MAX, command, &err);
    if (!rc)
        rc = pf_json_int32(body, "deadline_s", false, 1, PFS_DIAG_DEADLINE_MAX_S, &deadline_s,
                           &err);
    if (!rc)
        rc = pf_json_obj(body, "args", false, &args, &err);
    if (!rc)
        rc = pfs_diag_request(diag, serial, command, args, deadline_s, &actor, id, &deadline_ms,
                              &err);
    json_decref(body);
    if (rc == PF_ELIMIT) {
        /* pfs_diag_request's PF_ELIMIT is its rate limit: worth a retry later. */
        pfs_api_json(resp, 429,
                     json_pack("{s:s, s:s}", "error", pf_errname(rc), "message", err.msg));
        return;
    }
    if (rc) {
        pfs_api_error(resp, rc, "%s", err.msg[0] ? err.msg : pf_strerror(rc));
        return;
    }
    pfs_api_json(resp, 202,
                 json_pack("{s:s, s:s, s:s, s:s, s:I}", "id", id, "serial", serial, "command",
                           command, "status", "pending", "deadline_ms", (json_int_t)deadline_ms));
}

static void dapi__list(struct pfs_api *api, const struct pfs_http_req *req,
                       struct pfs_http_resp *resp, const char *serial)
{
    const char *lim = pfs_http_query(req, "limit");
    long limit = DAPI_LIST_DEFAULT;
    json_t *arr;
    int rc;

    if (lim) {
        int64_t n;

        if (pf_parse_i64(lim, 1, DAPI_LIST_MAX, &n) != 0) {
            pfs_api_error(resp, PF_EINVAL, "limit: 1..%d", DAPI_LIST_MAX);
            return;
        }
        limit = (long)n;
    }
    rc = pfs_store_device_status(api->store, serial, &(enum pfs_dev_status){0});
    if (rc) {
        pfs_api_error(resp, rc, rc == PF_EUNKNOWN_SERIAL ? "unknown serial %s" : "store: %s",
                      rc == PF_EUNKNOWN_SERIAL ? serial : pf_strerror(rc));
        return;
    }
    arr = json_array();
    rc = arr ? pfs_store_diag_list(api->store, serial, (int)limit, dapi__list_cb, arr) : PF_ENOMEM;
    if (rc) {
        json_decref(arr);
        pfs_api_error(resp, rc, "store: %s", pf_strerror(rc));
        return;
    }
    pfs_api_json(resp, 200, json_pack("{s:s, s:o}", "serial", serial, "diag", arr));
}

static void dapi__get(struct pfs_api *api, struct pfs_http_resp *resp, const char *id, bool archive)
{
    json_t *o = NULL;
    void *buf = NULL;
    size_t len = 0;
    int rc;

    if (!pf_diag_id_valid(id)) {
        pfs_api_error(resp, PF_EINVAL, "bad diagnostic id");
        return;
    }
    rc = pfs_store_diag_get(api->store, id, dapi__one_cb, &o);
    if (rc) {
        json_decref(o);
        pfs_api_error(resp, rc, rc == PF_ENOENT ? "no diagnostic request %s" : "store: %s",
                      rc == PF_ENOENT ? id : pf_strerror(rc));
        return;
    }
    if (!archive) {
        pfs_api_json(resp, 200, o);
        return;
    }
    if (strcmp(json_string_value(json_object_get(json_object_get(o, "archive"), "state")) ?: "",
               "complete") != 0) {
        json_decref(o);
        pfs_api_error(resp, PF_ESTATE, "the archive of %s is not complete", id);
        return;
    }
    json_decref(o);
    rc = pfs_store_diag_archive_read(api->store, id, &buf, &len);
    if (rc) {
        pfs_api_error(resp, rc, "store: %s", pf_strerror(rc));
        return;
    }
    resp->status = 200;
    resp->body = buf;
    resp->len = len;
    resp->content_type = "application/gzip";
}

/* Without the diagnostics module there are no diagnostics endpoints. */
static bool dapi__absent(struct pfs_api *api, const struct pfs_api_call *call,
                         struct pfs_http_resp *resp)
{
    if (api->diag)
        return false;
    pfs_api_error(resp, PF_ENOENT, "no such endpoint: %s %.64s", call->req->method,
                  call->req->path);
    return true;
}

void pfs_api_diag_create(struct pfs_api *api, const struct pfs_api_call *call,
                         struct pfs_http_resp *resp)
{
    if (!dapi__absent(api, call, resp))
        dapi__create(api, api->diag, call->req, resp, pfs_api_actor(call), call->params.serial);
}

void pfs_api_diag_list(struct pfs_api *api, const struct pfs_api_call *call,
                       struct pfs_http_resp *resp)
{
    if (!dapi__absent(api, call, resp))
        dapi__list(api, call->req, resp, call->params.serial);
}

void pfs_api_diag_get(struct pfs_api *api, const struct pfs_api_call *call,
                      struct pfs_http_resp *resp)
{
    if (!dapi__absent(api, call, resp))
        dapi__get(api, resp, call->params.diag, call->route->arg == 1);
}
