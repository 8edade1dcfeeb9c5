/*
 * api_updates.c - the HTTP endpoints of updates.h (docs/server.md, "Updates"):
 * bundle upload, list and show, offers, a terminal's update history, and the
 * update metrics. The domain takes plain arguments and an actor; the request
 * body is parsed and the answer built here.
 */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_handlers.h"
#include "pf/jsonv.h"
#include "updates/updates.h"

#define API_UPD_LIST_MAX 1000
#define API_UPD_HISTORY  50

static json_t *api_upd__list(const char *csv)
{
    json_t *a = json_array();

    for (const char *p = csv; a && p && *p;) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);

        json_array_append_new(a, json_stringn(p, n));
        p = comma ? comma + 1 : NULL;
    }
    return a;
}

static json_t *api_upd__bundle(const struct pfs_bundle_rec *b)
{
    return json_pack("{s:s, s:s, s:s, s:o, s:o, s:I, s:s, s:I, s:I, s:I}", "id", b->id, "kind",
                     pf_bundle_kind_names[b->kind], "version", b->version, "models",
                     api_upd__list(b->models), "hw_revs", api_upd__list(b->hw_revs), "size",
                     (json_int_t)b->size, "manifest", b->manifest, "created_s",
                     (json_int_t)b->created_s, "expires_s", (json_int_t)b->expires_s, "uploaded_ms",
                     (json_int_t)b->uploaded_ms);
}

static json_t *api_upd__str(const char *s)
{
    return s && *s ? json_string(s) : json_null();
}

static json_t *api_upd__update(const struct pfs_update_rec *r)
{
    json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I}", "offer", r->offer, "bundle", r->bundle,
                          "kind", pf_bundle_kind_names[r->kind], "version", r->version, "status",
                          r->status, "recv_ms", (json_int_t)r->recv_ms);

    if (!o)
        return NULL;
    if (r->id[0]) {
        json_object_set_new(o, "id", json_string(r->id));
        json_object_set_new(o, "ts_ms", json_integer(r->ts_ms));
        json_object_set_new(o, "message", api_upd__str(r->message));
    }
    json_object_set_new(o, "percent", r->percent >= 0 ? json_integer(r->percent) : json_null());
    json_object_set_new(o, "reason", api_upd__str(r->reason));
    json_object_set_new(o, "code", api_upd__str(r->code));
    return o;
}

static int api_upd__bundle_cb(void *ctx, const struct pfs_bundle_rec *b)
{
    json_t *o = api_upd__bundle(b);

    return o && json_array_append_new(ctx, o) == 0 ? 0 : PF_ENOMEM;
}

static int api_upd__update_cb(void *ctx, const struct pfs_update_rec *r)
{
    json_t *o = api_upd__update(r);

    return o && json_array_append_new(ctx, o) == 0 ? 0 : PF_ENOMEM;
}

/* The answer to an upload, once verified and stored or refused. */
static void api_upd__upload_answer(struct pfs_updates *u, struct pfs_http_resp *resp,
                                   const struct pfs_actor *actor, int rc,
                                   const struct pfs_bundle_rec *b, bool created,
                                   const struct pf_error *err)
{
    if (rc) {
        pfs_log_warn(u->log, "api: %s (%s): bundle upload refused: %s: %s", actor->name,
                     actor->role, pf_errname(rc), err->msg);
        /* The verifier's reason as posfleet-pack shows it: "[DIGEST] payload ...". */
        pfs_api_error(resp, rc, "[%s] %s", pf_errname(rc),
                      err->msg[0] ? err->msg : pf_strerror(rc));
    } else {
        json_t *o = api_upd__bundle(b);

        if (o)
            json_object_set_new(o, "created", json_boolean(created));
        if (created)
            pfs_log_info(u->log, "api: %s (%s) uploaded %s %s as %s", actor->name, actor->role,
                         pf_bundle_kind_names[b->kind], b->version, b->id);
        pfs_api_json(resp, created ? 201 : 200, o);
    }
}

/* An upload being verified off the loop: who asked, and where the answer goes. */
struct api_upd__pending {
    struct pfs_updates *u;
    struct pfs_http_later *later;
    char name[PFS_TOKEN_NAME_MAX + 1];
    char role[32];
};

static void api_upd__uploaded(void *ctx, int rc, const struct pfs_bundle_rec *b, bool created,
                              const struct pf_error *err)
{
    struct api_upd__pending *p = ctx;
    struct pfs_actor actor = {.name = p->name, .role = p->role};
    struct pfs_http_resp resp = {0};

    api_upd__upload_answer(p->u, &resp, &actor, rc, b, created, err);
    pfs_http_answer(p->later, &resp);
    free(p);
}

static void api_upd__upload(struct pfs_updates *u, const struct pfs_http_req *req,
                            struct pfs_http_resp *resp, const struct pfs_actor *actor)
{
    struct pf_error err = {0};
    struct api_upd__pending *p = malloc(sizeof(*p));
    struct pfs_bundle_rec *b;
    bool created = false;
    char *body = NULL;
    size_t len = 0;
    int rc;

    /* Verifying a large bundle takes a while: off the loop, the answer later. */
    if (p && (p->later = pfs_http_defer(req, &body, &len)) != NULL) {
        p->u = u;
        snprintf(p->name, sizeof(p->name), "%s", actor->name);
        snprintf(p->role, sizeof(p->role), "%s", actor->role);
        if (pfs_updates_upload_async(u, body, len, actor, api_upd__uploaded, p) == 0)
            return;
        pfs_api_error(resp, PF_ENOMEM, "out of memory");
        pfs_http_answer(p->later, resp);
        free(p);
        return;
    }
    free(p);
    b = malloc(sizeof(*b));
    if (!b) {
        pfs_api_error(resp, PF_ENOMEM, "out of memory");
        return;
    }
    rc = pfs_updates_upload(u, req->body, req->body_len, actor, b, &created, &err);
    api_upd__upload_answer(u, resp, actor, rc, b, created, &err);
    free(b);
}

static void api_upd__bundles(struct pfs_updates *u, struct pfs_http_resp *resp)
{
    json_t *a = json_array();
    int rc = a ? pfs_store_bundle_list(u->store, API_UPD_LIST_MAX, api_upd__bundle_cb, a)
               : PF_ENOMEM;

    if (rc) {
        json_decref(a);
        pfs_api_error(resp, rc, "listing bundles: %s", pf_strerror(rc));
        return;
    }
    pfs_api_json(resp, 200, json_pack("{s:o}", "bundles", a));
}

static void api_upd__bundle_one(struct pfs_updates *u, struct pfs_http_resp *resp, const char *id)
{
    struct pfs_bundle_rec *b = malloc(sizeof(*b));
    int rc = b ? pfs_store_bundle_get(u->store, id, b) : PF_ENOMEM;

    if (rc == PF_ENOENT)
        pfs_api_error(resp, rc, "bundle %.64s is not stored", id);
    else if (rc)
        pfs_api_error(resp, rc, "reading bundle: %s", pf_strerror(rc));
    else
        pfs_api_json(resp, 200, api_upd__bundle(b));
    free(b);
}

static void api_upd__offer(struct pfs_updates *u, const struct pfs_http_req *req,
                           struct pfs_http_resp *resp, const struct pfs_actor *actor,
                           const char *serial)
{
    struct pf_error err = {0};
    struct pfs_offer_rec o;
    json_error_t jerr;
    json_t *body = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &jerr);
    json_t *jb, *jd;
    json_int_t dl = 0;
    int rc;

    if (!body || !json_is_object(body)) {
        pfs_api_error(resp, PF_EPARSE, "body: a JSON object {\"bundle\": ID} expected");
        goto out_free;
    }
    jb = json_object_get(body, "bundle");
    jd = json_object_get(body, "deadline_min");
    if (!json_is_string(jb) || json_string_length(jb) != PF_B2_HEX_LEN) {
        pfs_api_error(resp, PF_ESCHEMA, "bundle: a 64-character bundle id expected");
        goto out_free;
    }
    if (jd && !json_is_null(jd)) {
        dl = json_is_integer(jd) ? json_integer_value(jd) : -1;
        if (dl < 1 || dl > 30 * 24 * 60) {
            pfs_api_error(resp, PF_ERANGE, "deadline_min: 1..43200 minutes");
            goto out_free;
        }
    }
    rc = pfs_updates_offer(u, serial, json_string_value(jb), (int)dl, actor, &o, &err);
    if (rc) {
        pfs_api_error(resp, rc, "[%s] %s", pf_errname(rc), err.msg[0] ? err.msg : pf_strerror(rc));
        goto out_free;
    }
    pfs_api_json(resp, 201,
                 json_pack("{s:s, s:s, s:s, s:I, s:I}", "offer", o.id, "serial", o.serial, "bundle",
                           o.bundle, "created_ms", (json_int_t)o.created_ms, "deadline_ms",
                           (json_int_t)o.deadline_ms));
out_free:
    json_decref(body);
}

int pfs_api_updates_device_json(struct pfs_updates *u, const char *serial, json_t *o)
{
    struct pfs_update_rec cur;
    json_t *hist = json_array();
    int rc;

    if (!hist)
        return PF_ENOMEM;
    rc = pfs_store_update_events(u->store, serial, API_UPD_HISTORY, api_upd__update_cb, hist);
    if (rc) {
        json_decref(hist);
        return rc;
    }
    rc = pfs_store_update_current(u->store, serial, &cur);
    if (rc == PF_ENOENT)
        json_object_set_new(o, "update", json_null());
    else if (rc == 0)
        json_object_set_new(o, "update", api_upd__update(&cur));
    else {
        json_decref(hist);
        return rc;
    }
    json_object_set_new(o, "updates", hist);
    return 0;
}

static void api_upd__history(struct pfs_updates *u, struct pfs_http_resp *resp, const char *serial)
{
    json_t *o;
    int rc = pfs_store_device_get(u->store, serial, NULL, NULL);

    if (rc) {
        pfs_api_error(resp, rc,
                      rc == PF_EUNKNOWN_SERIAL ? "serial %s is not registered"
                                               : "reading %s failed",
                      serial);
        return;
    }
    o = json_pack("{s:s}", "serial", serial);
    rc = o ? pfs_api_updates_device_json(u, serial, o) : PF_ENOMEM;
    if (rc) {
        json_decref(o);
        pfs_api_error(resp, rc, "reading the updates of %s: %s", serial, pf_strerror(rc));
        return;
    }
    pfs_api_json(resp, 200, o);
}

/* Without the updates module there are no update endpoints. */
static struct pfs_updates *api_upd__of(struct pfs_api *api, const struct pfs_api_call *call,
                                       struct pfs_http_resp *resp)
{
    if (!api->updates)
        pfs_api_error(resp, PF_ENOENT, "no such endpoint: %s %.64s", call->req->method,
                      call->req->path);
    return api->updates;
}

void pfs_api_bundle_upload(struct pfs_api *api, const struct pfs_api_call *call,
                           struct pfs_http_resp *resp)
{
    struct pfs_updates *u = api_upd__of(api, call, resp);
    struct pfs_actor actor = pfs_api_actor(call);

    if (u)
        api_upd__upload(u, call->req, resp, &actor);
}

void pfs_api_bundles_list(struct pfs_api *api, const struct pfs_api_call *call,
                          struct pfs_http_resp *resp)
{
    struct pfs_updates *u = api_upd__of(api, call, resp);

    if (u)
        api_upd__bundles(u, resp);
}

void pfs_api_bundle_get(struct pfs_api *api, const struct pfs_api_call *call,
                        struct pfs_http_resp *resp)
{
    struct pfs_updates *u = api_upd__of(api, call, resp);

    if (u)
        api_upd__bundle_one(u, resp, call->params.bundle);
}

void pfs_api_update_offer(struct pfs_api *api, const struct pfs_api_call *call,
                          struct pfs_http_resp *resp)
{
    struct pfs_updates *u = api_upd__of(api, call, resp);
    struct pfs_actor actor = pfs_api_actor(call);

    if (u)
        api_upd__offer(u, call->req, resp, &actor, call->params.serial);
}

void pfs_api_updates_history(struct pfs_api *api, const struct pfs_api_call *call,
                             struct pfs_http_resp *resp)
{
    struct pfs_updates *u = api_upd__of(api, call, resp);

    if (u)
        api_upd__history(u, resp, call->params.serial);
}

struct api_upd__buf {
    char *p;
    size_t len, cap;
    int rc;
};

static void api_upd__printf(struct api_upd__buf *b, const char *fmt, ...) PF_PRINTF(2, 3);

static void api_upd__printf(struct api_upd__buf *b, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (b->rc)
        return;
    for (;;) {
        va_start(ap, fmt);
        n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->rc = PF_EINVAL;
            return;
        }
        if ((size_t)n < b->cap - b->len) {
            b->len += (size_t)n;
            return;
        }
        {
            size_t ncap = (b->cap + (size_t)n + 1) * 2;
            char *np = realloc(b->p, ncap);

            if (!np) {
                b->rc = PF_ENOMEM;
                return;
            }
            b->p = np;
            b->cap = ncap;
        }
    }
}

static int api_upd__count_cb(void *ctx, const char *key, int64_t n)
{
    api_upd__printf(ctx, "posfleet_update_terminals{status=\"%s\"} %" PRId64 "\n", key, n);
    return 0;
}

int pfs_api_updates_metrics(struct pfs_updates *u, char **body, size_t *len)
{
    struct api_upd__buf b = {*body, *len, *len + 1, 0};
    const struct pfs_chunks_stats *cs = &u->chunks.stats;
    int rc;

    api_upd__printf(&b, "# HELP posfleet_update_events_total Update outcome events recorded, by "
                        "status.\n# TYPE posfleet_update_events_total counter\n");
    for (int i = 0; i < PF_UPD_STATUS_COUNT; i++)
        api_upd__printf(&b, "posfleet_update_events_total{status=\"%s\"} %" PRIu64 "\n",
                        pf_update_status_names[i], u->stats.events[i]);
    api_upd__printf(
            &b,
            "# HELP posfleet_update_events_duplicate_total Update outcome events received again "
            "(same id), acknowledged and not recorded twice.\n"
            "# TYPE posfleet_update_events_duplicate_total counter\n"
            "posfleet_update_events_duplicate_total %" PRIu64 "\n"
            "# HELP posfleet_update_events_rejected_total Update outcome events refused as "
            "invalid.\n"
            "# TYPE posfleet_update_events_rejected_total counter\n"
            "posfleet_update_events_rejected_total %" PRIu64 "\n"
            "# HELP posfleet_update_offers_total Update offers made.\n"
            "# TYPE posfleet_update_offers_total counter\n"
            "posfleet_update_offers_total %" PRIu64 "\n"
            "# HELP posfleet_bundle_uploads_total Bundle uploads, by result.\n"
            "# TYPE posfleet_bundle_uploads_total counter\n"
            "posfleet_bundle_uploads_total{result=\"stored\"} %" PRIu64 "\n"
            "posfleet_bundle_uploads_total{result=\"refused\"} %" PRIu64 "\n"
            "# HELP posfleet_bundle_uploads_verifying Uploaded bundles being verified "
            "now, off the event loop.\n"
            "# TYPE posfleet_bundle_uploads_verifying gauge\n"
            "posfleet_bundle_uploads_verifying %" PRIu64 "\n"
            "# HELP posfleet_chunks_sent_total Payload chunks sent to terminals.\n"
            "# TYPE posfleet_chunks_sent_total counter\n"
            "posfleet_chunks_sent_total %" PRIu64 "\n"
            "# HELP posfleet_chunk_bytes_total Payload bytes sent in chunks.\n"
            "# TYPE posfleet_chunk_bytes_total counter\n"
            "posfleet_chunk_bytes_total %" PRIu64 "\n"
            "# HELP posfleet_chunk_errors_total Chunk requests refused, by error.\n"
            "# TYPE posfleet_chunk_errors_total counter\n",
            u->stats.events_duplicate, u->stats.events_bad, u->stats.offers, u->stats.uploads,
            u->stats.uploads_refused, u->stats.uploads_verifying, cs->chunks, cs->bytes);
    for (int i = 0; pf_chunkerr_names[i]; i++)
        api_upd__printf(&b, "posfleet_chunk_errors_total{error=\"%s\"} %" PRIu64 "\n",
                        pf_chunkerr_names[i], cs->errors[i]);
    api_upd__printf(&b, "# HELP posfleet_chunk_refused_total Chunk requests left unanswered: "
                        "bundle not offered to the terminal, or its offer's byte budget spent.\n"
                        "# TYPE posfleet_chunk_refused_total counter\n");
    for (int i = 0; i < PFS_CHUNKS_REFUSALS; i++)
        api_upd__printf(&b, "posfleet_chunk_refused_total{reason=\"%s\"} %" PRIu64 "\n",
                        pfs_chunks_refusal_names[i], cs->refused[i]);
    api_upd__printf(&b,
                    "# HELP posfleet_update_events_not_offered_total Update outcome events "
                    "about an offer the terminal was never made, dropped.\n"
                    "# TYPE posfleet_update_events_not_offered_total counter\n"
                    "posfleet_update_events_not_offered_total %" PRIu64 "\n",
                    u->stats.events_not_offered);
    api_upd__printf(&b, "# HELP posfleet_update_terminals Terminals by the status of their "
                        "current update.\n# TYPE posfleet_update_terminals gauge\n");
    rc = pfs_store_update_counts(u->store, api_upd__count_cb, &b);
    if (!rc)
        rc = b.rc;
    *body = b.p;
    *len = b.len;
    return rc;
}
