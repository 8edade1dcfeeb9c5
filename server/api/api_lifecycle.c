/*
 * api_lifecycle.c - checks and JSON of the lifecycle API (docs/server.md,
 * "Lifecycle"): merchants and their review, terminal lifecycle (bind, unbind,
 * retire, tags, history), swaps and repairs (their lists and the audit
 * search are api_search.c's; the repairs list reads with the caller's scope,
 * store_accounts.h). The routes and their roles are rows of api.c's table.
 * The store hands back records (store_lifecycle.h); the answers are built
 * from them with jansson by lifecycle/views.c, the same JSON the audit log
 * keeps. Merchants, terminals and repairs share its body and argument
 * helpers; each can become a file of its own with those helpers in a shared
 * header.
 */
#include "api/api_handlers.h"

#include <jansson.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "lifecycle/lifectl.h"
#include "lifecycle/views.h"
#include "pf/num.h"
#include "pf/jsonv.h"
#include "pf/text.h"
#include "pf/topic.h"
#include "notify/notify.h"
#include "store/store_accounts.h"
#include "store/store_lifecycle.h"

#define LAPI_BODY_MAX (64 * 1024)

/* --- responses and arguments --- */

/*
 * The store's records as JSON. The single-record callbacks leave the view in
 * *(json_t **)ctx (PF_EIO if a stored JSON field does not parse); the list
 * callbacks append to the array ctx.
 */
static int lapi__term_cb(void *ctx, const struct pfs_term_view *v)
{
    json_t **o = ctx;

    *o = pfs_term_view_json(v);
    return *o ? 0 : PF_EIO;
}

static int lapi__repair_cb(void *ctx, const struct pfs_repair_view *v)
{
    json_t **o = ctx;

    *o = pfs_repair_view_json(v);
    return *o ? 0 : PF_EIO;
}

static int lapi__append(json_t *arr, json_t *o)
{
    return o && json_array_append_new(arr, o) == 0 ? 0 : PF_ENOMEM;
}

static int lapi__repair_item_cb(void *ctx, const struct pfs_repair_view *v)
{
    return lapi__append(ctx, pfs_repair_view_json(v));
}

static int lapi__event_item_cb(void *ctx, const struct pfs_term_event_view *e)
{
    return lapi__append(ctx, pfs_term_event_json(e));
}

static int lapi__update_item_cb(void *ctx, const struct pfs_update_view *u)
{
    return lapi__append(ctx, pfs_update_line_json(u));
}

static int lapi__mterm_item_cb(void *ctx, const struct pfs_merchant_term_view *t)
{
    return lapi__append(ctx, pfs_merchant_terminal_json(t));
}

/* The request body as an object ({} when empty); answers and returns NULL on error. */
static json_t *lapi__body(const struct pfs_http_req *req, struct pfs_http_resp *resp)
{
    struct pf_error err = {0};
    json_t *body = NULL;
    int rc;

    if (req->body_len == 0)
        return json_object();
    rc = pf_json_parse_object(req->body, req->body_len, LAPI_BODY_MAX, &body, &err);
    if (rc) {
        pfs_api_error(resp, rc == PF_ETOOBIG ? rc : PF_EPARSE, "%s", err.msg);
        return NULL;
    }
    return body;
}

static int64_t lapi__now(struct pfs_api *api)
{
    return pf_clock_wall_ms(api->clock);
}

static void lapi__changed(struct pfs_api *api)
{
    if (api->changed)
        api->changed(api->changed_ctx);
}

/* --- merchants --- */

static void lapi__merchant_add(struct pfs_api *api, const struct pfs_http_req *req,
                               struct pfs_http_resp *resp, const struct pfs_actor *actor)
{
    struct pfs_merchant m;
    struct pf_error err = {0};
    json_t *body = lapi__body(req, resp);
    int rc;

    if (!body)
        return;
    memset(&m, 0, sizeof(m));
    rc = pfs_merchant_from_json(body, true, &m, &err);
    json_decref(body);
    if (rc) {
        pfs_api_error(resp, PF_EINVAL, "%s", err.msg);
        return;
    }
    rc = pfs_store_merchant_add(api->store, &m, actor, lapi__now(api), &err);
    if (rc) {
        pfs_api_error(resp, rc, "%s", err.msg);
        return;
    }
    pfs_log_info(api->log, "api: %s (%s) added merchant %s", actor->name, actor->role, m.id);
    rc = pfs_store_merchant_get(api->store, m.id, &m);
    if (rc) {
        pfs_api_error(resp, rc, "reading merchant %s back: %s", m.id, pf_strerror(rc));
        return;
    }
    pfs_api_json(resp, 201, pfs_merchant_to_json(&m));
}

static void lapi__merchant_show(struct pfs_api *api, struct pfs_http_resp *resp, const char *id)
{
    struct pfs_merchant m;
    json_t *o, *terms;
    int rc = pfs_store_merchant_get(api->store, id, &m);

    if (rc == PF_ENOENT) {
        pfs_api_error(resp, rc, "merchant %s: no such merchant", id);
        return;
    }
    if (rc) {
        pfs_api_error(resp, rc, "merchant %s: %s", id, pf_strerror(rc));
        return;
    }
    o = pfs_merchant_to_json(&m);
    terms = json_array();
    if (!o || !terms) {
        json_decref(o);
        json_decref(terms);
        pfs_api_error(resp, PF_ENOMEM, "out of memory");
        return;
    }
    rc = pfs_store_merchant_terminals(api->store, id, lapi__mterm_item_cb, terms);
    if (rc) {
        json_decref(o);
        json_decref(terms);
        pfs_api_error(resp, rc, "merchant %s: terminals: %s", id, pf_strerror(rc));
        return;
    }
    json_object_set_new(o, "terminals", terms);
    pfs_api_json(resp, 200, o);
}

struct lapi__mchange {
    json_t *body; /* update: the fields */
    int act;      /* or a review action, -1 for update */
};

static int lapi__mchange_fn(void *ctx, struct pfs_merchant *m, struct pf_error *err)
{
    struct lapi__mchange *c = ctx;
    enum pfs_merchant_status to;
    int rc;

    if (c->act < 0) {
        rc = pfs_merchant_from_json(c->body, false, m, err);
        return rc ? PF_EINVAL : 0;
    }
    /* A review says why: a rejection must, an approval may. The body is
     * checked before the state, so a bad body is 400 whatever the merchant's
     * state (nothing is changed either way). */
    if (c->act == PFS_MACT_REJECT || c->act == PFS_MACT_APPROVE) {
        m->review_reason[0] = '\0';
        rc = pf_json_text(c->body, "reason", c->act == PFS_MACT_REJECT, PF_TEXT_REASON_MAX, 0,
                          m->review_reason, sizeof(m->review_reason), err);
        if (rc)
            return rc;
    }
    rc = pfs_merchant_next(m->status, (enum pfs_merchant_action)c->act, &to, err);
    if (rc)
        return pf_error_prefix(err, "merchant %s", m->id);
    m->status = to;
    return 0;
}

static void lapi__merchant_change(struct pfs_api *api, const struct pfs_http_req *req,
                                  struct pfs_http_resp *resp, const struct pfs_actor *actor,
                                  const char *id, int act)
{
    struct lapi__mchange c = {NULL, act};
    struct pfs_merchant m;
    struct pf_error err = {0};
    int rc;

    c.body = lapi__body(req, resp);
    if (!c.body)
        return;
    rc = pfs_store_merchant_change(api->store, id,
                                   act < 0 ? "update" : pfs_merchant_action_names[act],
                                   lapi__mchange_fn, &c, actor, lapi__now(api), &m, &err);
    json_decref(c.body);
    if (rc) {
        pfs_api_error(resp, rc, "%s", err.msg);
        return;
    }
    pfs_log_info(api->log, "api: %s (%s) merchant %s: %s", actor->name, actor->role, id,
                 act < 0 ? "update" : pfs_merchant_action_names[act]);
    lapi__changed(api);
    pfs_api_json(resp, 200, pfs_merchant_to_json(&m));
}

/* --- terminals --- */

static void lapi__term_view(struct pfs_api *api, struct pfs_http_resp *resp, int status,
                            const char *serial)
{
    json_t *o = NULL;
    int rc = pfs_store_term_view(api->store, serial, lapi__term_cb, &o);

    if (rc == PF_EUNKNOWN_SERIAL) {
        pfs_api_error(resp, rc, "serial %s is not registered", serial);
        return;
    }
    if (rc) {
        pfs_api_error(resp, rc, "reading %s: %s", serial, pf_strerror(rc));
        return;
    }
    pfs_api_json(resp, status, o);
}

static void lapi__history(struct pfs_api *api, const struct pfs_http_req *req,
                          struct pfs_http_resp *resp, const char *serial)
{
    const char *v = pfs_http_query(req, "limit");
    int64_t limit = PFS_API_LIMIT_DEFAULT;
    json_t *term = NULL, *events = NULL, *repairs = NULL, *updates = NULL;
    int rc;

    if (v && pf_parse_i64(v, 1, PFS_API_LIMIT_MAX, &limit)) {
        pfs_api_error(resp, PF_EINVAL, "limit: must be 1..%d", PFS_API_LIMIT_MAX);
        return;
    }
    rc = pfs_store_term_view(api->store, serial, lapi__term_cb, &term);
    if (rc == PF_EUNKNOWN_SERIAL) {
        pfs_api_error(resp, rc, "serial %s is not registered", serial);
        return;
    }
    events = json_array();
    repairs = json_array();
    updates = json_array();
    if (!rc && (!events || !repairs || !updates))
        rc = PF_ENOMEM;
    if (!rc)
        rc = pfs_store_term_events(api->store, serial, (int)limit, lapi__event_item_cb, events);
    if (!rc)
        rc = pfs_store_repair_list(api->store, serial, -1, (int)limit, lapi__repair_item_cb,
                                   repairs);
    if (!rc)
        rc = pfs_store_term_updates(api->store, serial, (int)limit, lapi__update_item_cb, updates);
    if (rc) {
        json_decref(term);
        json_decref(events);
        json_decref(repairs);
        json_decref(updates);
        pfs_api_error(resp, rc, "history of %s: %s", serial, pf_strerror(rc));
        return;
    }
    pfs_api_json(resp, 200,
                 json_pack("{s:s, s:o, s:o, s:o, s:o}", "serial", serial, "terminal", term,
                           "events", events, "repairs", repairs, "updates", updates));
}

static void lapi__bind(struct pfs_api *api, const struct pfs_http_req *req,
                       struct pfs_http_resp *resp, const struct pfs_actor *actor,
                       const char *serial)
{
    char merchant[PFS_MERCHANT_ID_MAX + 1] = "";
    struct pf_error err = {0};
    json_t *body = lapi__body(req, resp);
    int rc;

    if (!body)
        return;
    rc = pf_json_printable(body, "merchant_id", true, 1, PFS_MERCHANT_ID_MAX, merchant, &err);
    json_decref(body);
    if (rc) {
        pfs_api_error(resp, PF_EINVAL, "%s", err.msg);
        return;
    }
    rc = pfs_store_term_bind(api->store, serial, merchant, actor, lapi__now(api), &err);
    if (rc) {
        pfs_api_error(resp, rc, "%s", err.msg);
        return;
    }
    if (api->lifectl && pfs_lifectl_installed(api->lifectl, serial))
        pfs_log_error(api->log, "api: %s: out of memory", serial);
    pfs_log_info(api->log, "api: %s (%s) bound %s to merchant %s", actor->name, actor->role, serial,
                 merchant);
    lapi__changed(api);
    lapi__term_view(api, resp, 200, serial);
}

static void lapi__unbind_retire(struct pfs_api *api, struct pfs_http_resp *resp,
                                const struct pfs_actor *actor, const char *serial, bool retire)
{
    struct pf_error err = {0};
    int rc = retire ? pfs_store_term_retire(api->store, serial, actor, lapi__now(api), &err)
                    : pfs_store_term_unbind(api->store, serial, actor, lapi__now(api), &err);

    if (rc) {
        pfs_api_error(resp, rc, "%s", err.msg);
        return;
    }
    if (retire) {
        if (pfs_ingest_revoked(api->ingest, serial))
            pfs_log_error(api->log, "api: %s: cache update failed", serial);
        if (api->lifectl)
            pfs_lifectl_forget(api->lifectl, serial);
    }
    pfs_log_info(api->log, "api: %s (%s) %s %s", actor->name, actor->role,
                 retire ? "retired" : "unbound", serial);
    lapi__changed(api);
    lapi__term_view(api, resp, 200, serial);
}

int pfs_api_tag_check(json_t *v, const char *field, struct pf_error *err)
{
    const char *s = json_string_value(v);
    int rc;

    if (!s)
        return pf_error_set(err, PF_EINVAL, "%s: must be a string", field);
    if ((rc = pf_text_check(field, s, json_string_length(v), PF_TEXT_TAG_MAX, 0, NULL, err)))
        return rc;
    if (strpbrk(s, " ,"))
        return pf_error_set(err, PF_EINVAL, "%s: no blanks or commas in a tag", field);
    return 0;
}

static void lapi__tags(struct pfs_api *api, const struct pfs_http_req *req,
                       struct pfs_http_resp *resp, const struct pfs_actor *actor,
                       const char *serial)
{
    struct pf_error err = {0};
    json_t *body = lapi__body(req, resp), *tags, *v;
    char *text = NULL;
    size_t i;
    int rc;

    if (!body)
        return;
    tags = json_object_get(body, "tags");
    if (!json_is_array(tags) || json_array_size(tags) > 32) {
        json_decref(body);
        pfs_api_error(resp, PF_EINVAL, "tags: an array of at most 32 tags");
        return;
    }
    json_array_foreach(tags, i, v)
    {
        char field[32];

        snprintf(field, sizeof(field), "tags[%zu]", i);
        if ((rc = pfs_api_tag_check(v, field, &err))) {
            json_decref(body);
            pfs_api_error(resp, PF_EINVAL, "%s", err.msg);
            return;
        }
    }
    text = json_dumps(tags, JSON_COMPACT);
    json_decref(body);
    if (!text) {
        pfs_api_error(resp, PF_ENOMEM, "out of memory");
        return;
    }
    rc = pfs_store_term_tags(api->store, serial, text, actor, lapi__now(api), &err);
    free(text);
    if (rc) {
        pfs_api_error(resp, rc, "%s", err.msg);
        return;
    }
    lapi__term_view(api, resp, 200, serial);
}

static void lapi__swap(struct pfs_api *api, const struct pfs_http_req *req,
                       const struct pfs_scope *scope, struct pfs_http_resp *resp,
                       const struct pfs_actor *actor, const char *old)
{
    char new_serial[PF_SERIAL_MAX + 1] = "", reason[PF_TEXT_BYTES(PFS_REPAIR_REASON_MAX)] = "";
    struct pf_error err = {0};
    json_t *body = lapi__body(req, resp), *ot = NULL, *nt = NULL, *rt = NULL;
    int64_t rid = 0;
    int rc;

    if (!body)
        return;
    rc = pf_json_str(body, "new", true, 1, PF_SERIAL_MAX, new_serial, &err);
    if (!rc && !pf_serial_valid(new_serial))
        rc = pf_error_set(&err, PF_EINVAL, "new: 1-%d characters of A-Z a-z 0-9 _ -",
                          PF_SERIAL_MAX);
    if (!rc)
        rc = pf_json_text(body, "reason", true, PFS_REPAIR_REASON_MAX, 0, reason, sizeof(reason),
                          &err);
    json_decref(body);
    if (rc) {
        pfs_api_error(resp, PF_EINVAL, "%s", err.msg);
        return;
    }
    /* The replacement must lie inside the caller's organisation too. */
    if (scope && pfs_store_scope_serial(api->store, scope, new_serial) != 0) {
        pfs_api_error(resp, PF_ENOENT, "new: %s: not found", new_serial);
        return;
    }
    rc = pfs_store_term_swap(
            api->store, old, new_serial, reason, api->lifectl ? api->lifectl->swap_hook : NULL,
            api->lifectl ? api->lifectl->swap_hook_ctx : NULL, actor, lapi__now(api), &rid, &err);
    if (rc) {
        pfs_api_error(resp, rc, "%s", err.msg);
        return;
    }
    if (api->lifectl && pfs_lifectl_installed(api->lifectl, new_serial))
        pfs_log_error(api->log, "api: %s: out of memory", new_serial);
    pfs_log_info(api->log, "api: %s (%s) swapped %s for %s (repair %lld)", actor->name, actor->role,
                 old, new_serial, (long long)rid);
    lapi__changed(api);
    if (pfs_store_term_view(api->store, old, lapi__term_cb, &ot) ||
        pfs_store_term_view(api->store, new_serial, lapi__term_cb, &nt) ||
        pfs_store_repair_view(api->store, rid, lapi__repair_cb, &rt)) {
        json_decref(ot);
        json_decref(nt);
        json_decref(rt);
        pfs_api_error(resp, PF_EIO, "swap done; reading it back failed");
        return;
    }
    pfs_api_json(resp, 200, json_pack("{s:o, s:o, s:o}", "old", ot, "new", nt, "repair", rt));
}

/* Optional "fault_codes" / "parts" arrays of a body, as JSON text (heap). */
static int lapi__arrays(json_t *body, char **faults, char **parts, struct pf_error *err)
{
    json_t *f = json_object_get(body, "fault_codes"), *p = json_object_get(body, "parts");
    int rc;

    *faults = *parts = NULL;
    if (f && !json_is_null(f)) {
        if ((rc = pfs_repair_faults_check(f, err)))
            return rc;
        *faults = json_dumps(f, JSON_COMPACT);
        if (!*faults)
            return pf_error_set(err, PF_ENOMEM, "out of memory");
    }
    if (p && !json_is_null(p)) {
        if ((rc = pfs_repair_parts_check(p, err)))
            return rc;
        *parts = json_dumps(p, JSON_COMPACT);
        if (!*parts)
            return pf_error_set(err, PF_ENOMEM, "out of memory");
    }
    return 0;
}

static void lapi__repair_open(struct pfs_api *api, const struct pfs_http_req *req,
                              struct pfs_http_resp *resp, const struct pfs_actor *actor,
                              const char *serial)
{
    char reason[PF_TEXT_BYTES(PFS_REPAIR_REASON_MAX)] = "";
    struct pf_error err = {0};
    json_t *body = lapi__body(req, resp);
    char *faults = NULL, *parts = NULL;
    json_t *o = NULL;
    int64_t id = 0;
    int rc;

    if (!body)
        return;
    rc = pf_json_text(body, "reason", true, PFS_REPAIR_REASON_MAX, 0, reason, sizeof(reason), &err);
    if (!rc)
        rc = lapi__arrays(body, &faults, &parts, &err);
    json_decref(body);
    if (rc) {
        pfs_api_error(resp, PF_EINVAL, "%s", err.msg);
        goto out_free;
    }
    rc = pfs_store_repair_open(api->store, serial, reason, faults, actor, lapi__now(api), &id,
                               &err);
    if (rc) {
        pfs_api_error(resp, rc, "%s", err.msg);
        goto out_free;
    }
    pfs_log_info(api->log, "api: %s (%s) opened repair %lld for %s", actor->name, actor->role,
                 (long long)id, serial);
    rc = pfs_store_repair_view(api->store, id, lapi__repair_cb, &o);
    if (rc)
        pfs_api_error(resp, rc, "reading repair %lld back", (long long)id);
    else
        pfs_api_json(resp, 201, o);
out_free:
    free(faults);
    free(parts);
}

static void lapi__repairs(struct pfs_api *api, const struct pfs_http_req *req,
                          const struct pfs_scope *scope, struct pfs_http_resp *resp)
{
    const char *serial = pfs_http_query(req, "serial"), *v = pfs_http_query(req, "state");
    int64_t limit = PFS_API_LIMIT_DEFAULT;
    json_t *arr;
    int state = -2, rc; /* default: open repairs */

    if (serial && !pf_serial_valid(serial)) {
        pfs_api_error(resp, PF_EINVAL, "serial: 1-%d characters of A-Z a-z 0-9 _ -", PF_SERIAL_MAX);
        return;
    }
    /* "open" (the default) means not closed yet, whatever step the repair is at. */
    if (v && strcmp(v, "all") == 0) {
        state = -1;
    } else if (v && strcmp(v, "open") != 0) {
        state = pfs_repair_state_parse(v);
        if (state < 0) {
            pfs_api_error(resp, PF_EINVAL,
                          "state: open (not closed), all, or one of received, diagnosed,"
                          " repaired, returned_to_stock, scrapped");
            return;
        }
    }
    v = pfs_http_query(req, "limit");
    if (v && pf_parse_i64(v, 1, PFS_API_LIMIT_MAX, &limit)) {
        pfs_api_error(resp, PF_EINVAL, "limit: must be 1..%d", PFS_API_LIMIT_MAX);
        return;
    }
    arr = json_array();
    if (!arr) {
        pfs_api_error(resp, PF_ENOMEM, "out of memory");
        return;
    }
    rc = pfs_store_repair_list_in(api->store, scope, serial, state, (int)limit,
                                  lapi__repair_item_cb, arr);
    if (rc) {
        json_decref(arr);
        pfs_api_error(resp, rc, "repairs: %s", pf_strerror(rc));
        return;
    }
    pfs_api_json(resp, 200, json_pack("{s:o}", "repairs", arr));
}

static void lapi__repair_show(struct pfs_api *api, struct pfs_http_resp *resp, int64_t id)
{
    json_t *o = NULL;

    if (pfs_store_repair_view(api->store, id, lapi__repair_cb, &o)) {
        pfs_api_error(resp, PF_ENOENT, "repair %lld: no such repair", (long long)id);
        return;
    }
    pfs_api_json(resp, 200, o);
}

static void lapi__repair_change(struct pfs_api *api, const struct pfs_http_req *req,
                                struct pfs_http_resp *resp, const struct pfs_actor *actor,
                                int64_t id, bool close)
{
    char notes[PF_TEXT_BYTES(PFS_REPAIR_NOTES_MAX)] = "", serial[PF_SERIAL_MAX + 1] = "";
    char state[32] = "", unlock_id[PF_LOCK_ID_MAX + 1] = "";
    struct pfs_repair_change c = {.to = -1};
    struct pf_error err = {0};
    json_t *body = lapi__body(req, resp);
    char *faults = NULL, *parts = NULL;
    json_t *o = NULL;
    bool unlock = false;
    int rc;

    if (!body)
        return;
    rc = pf_json_str(body, close ? "outcome" : "state", close, 1, sizeof(state) - 1, state, &err);
    if (!rc && state[0]) {
        c.to = pfs_repair_state_parse(state);
        if (close && c.to != PFS_REPAIR_RETURNED && c.to != PFS_REPAIR_SCRAPPED)
            rc = pf_error_set(&err, PF_EINVAL, "outcome: returned_to_stock or scrapped");
        else if (c.to < 0 || c.to == PFS_REPAIR_OPEN)
            rc = pf_error_set(&err, PF_EINVAL,
                              "state: one of received, diagnosed, repaired, returned_to_stock,"
                              " scrapped");
    }
    if (!rc)
        rc = pf_json_text(body, "notes", false, PFS_REPAIR_NOTES_MAX, PF_TEXT_LINES, notes,
                          sizeof(notes), &err);
    if (!rc)
        rc = lapi__arrays(body, &faults, &parts, &err);
    json_decref(body);
    if (!rc && c.to < 0 && !faults && !parts && !notes[0])
        rc = pf_error_set(&err, PF_EINVAL,
                          "nothing to change: give state, fault_codes, parts"
                          " or notes");
    if (rc) {
        pfs_api_error(resp, PF_EINVAL, "%s", err.msg);
        goto out_free;
    }
    if (api->lifectl)
        pfs_lifectl_new_id(api->lifectl, false, unlock_id);
    else
        snprintf(unlock_id, sizeof(unlock_id), "unlock-%llx", (unsigned long long)lapi__now(api));
    c.faults_json = faults;
    c.parts_json = parts;
    c.notes = notes[0] ? notes : NULL;
    c.unlock_cmd = unlock_id;
    rc = pfs_store_repair_change(api->store, id, &c, actor, lapi__now(api), &unlock, serial, &err);
    if (rc) {
        pfs_api_error(resp, rc, "%s", err.msg);
        goto out_free;
    }
    pfs_log_info(api->log, "api: %s (%s) repair %lld of %s%s%s", actor->name, actor->role,
                 (long long)id, serial, c.to >= 0 ? " -> " : " updated",
                 c.to >= 0 ? pfs_repair_state_names[c.to] : "");
    if (c.to >= 0)
        pfs_notify_repair(api->notify, id, serial, pfs_repair_state_names[c.to], actor->name);
    if (c.to == PFS_REPAIR_SCRAPPED) {
        if (pfs_ingest_revoked(api->ingest, serial))
            pfs_log_error(api->log, "api: %s: cache update failed", serial);
        if (api->lifectl)
            pfs_lifectl_forget(api->lifectl, serial);
    }
    if (unlock && api->lifectl &&
        pfs_lifectl_send(api->lifectl, serial, unlock_id, false, "repair closed"))
        pfs_log_error(api->log, "api: %s: out of memory", serial);
    lapi__changed(api);
    rc = pfs_store_repair_view(api->store, id, lapi__repair_cb, &o);
    if (rc)
        pfs_api_error(resp, rc, "reading repair %lld back", (long long)id);
    else
        pfs_api_json(resp, 200, o);
out_free:
    free(faults);
    free(parts);
}

/* --- the handlers of the route table (api.c) --- */

void pfs_api_merchant_add(struct pfs_api *api, const struct pfs_api_call *call,
                          struct pfs_http_resp *resp)
{
    struct pfs_actor actor = pfs_api_actor(call);

    lapi__merchant_add(api, call->req, resp, &actor);
}

void pfs_api_merchant_get(struct pfs_api *api, const struct pfs_api_call *call,
                          struct pfs_http_resp *resp)
{
    lapi__merchant_show(api, resp, call->params.merchant);
}

void pfs_api_merchant_change(struct pfs_api *api, const struct pfs_api_call *call,
                             struct pfs_http_resp *resp)
{
    struct pfs_actor actor = pfs_api_actor(call);

    lapi__merchant_change(api, call->req, resp, &actor, call->params.merchant, call->route->arg);
}

void pfs_api_term_lifecycle(struct pfs_api *api, const struct pfs_api_call *call,
                            struct pfs_http_resp *resp)
{
    lapi__term_view(api, resp, 200, call->params.serial);
}

void pfs_api_term_history(struct pfs_api *api, const struct pfs_api_call *call,
                          struct pfs_http_resp *resp)
{
    lapi__history(api, call->req, resp, call->params.serial);
}

void pfs_api_term_bind(struct pfs_api *api, const struct pfs_api_call *call,
                       struct pfs_http_resp *resp)
{
    struct pfs_actor actor = pfs_api_actor(call);

    lapi__bind(api, call->req, resp, &actor, call->params.serial);
}

void pfs_api_term_unbind(struct pfs_api *api, const struct pfs_api_call *call,
                         struct pfs_http_resp *resp)
{
    struct pfs_actor actor = pfs_api_actor(call);

    lapi__unbind_retire(api, resp, &actor, call->params.serial, call->route->arg == 1);
}

void pfs_api_term_tags(struct pfs_api *api, const struct pfs_api_call *call,
                       struct pfs_http_resp *resp)
{
    struct pfs_actor actor = pfs_api_actor(call);

    lapi__tags(api, call->req, resp, &actor, call->params.serial);
}

void pfs_api_term_swap(struct pfs_api *api, const struct pfs_api_call *call,
                       struct pfs_http_resp *resp)
{
    struct pfs_actor actor = pfs_api_actor(call);

    lapi__swap(api, call->req, pfs_api_scope(call), resp, &actor, call->params.serial);
}

void pfs_api_term_repair(struct pfs_api *api, const struct pfs_api_call *call,
                         struct pfs_http_resp *resp)
{
    struct pfs_actor actor = pfs_api_actor(call);

    lapi__repair_open(api, call->req, resp, &actor, call->params.serial);
}

void pfs_api_repairs_list(struct pfs_api *api, const struct pfs_api_call *call,
                          struct pfs_http_resp *resp)
{
    lapi__repairs(api, call->req, pfs_api_scope(call), resp);
}

void pfs_api_repair_get(struct pfs_api *api, const struct pfs_api_call *call,
                        struct pfs_http_resp *resp)
{
    lapi__repair_show(api, resp, call->params.id);
}

void pfs_api_repair_change(struct pfs_api *api, const struct pfs_api_call *call,
                           struct pfs_http_resp *resp)
{
    struct pfs_actor actor = pfs_api_actor(call);

    lapi__repair_change(api, call->req, resp, &actor, call->params.id, call->route->arg == 1);
}
